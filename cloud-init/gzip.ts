// gzip for write_files `encoding: gz+b64`, through fflate (pure JavaScript, pinned in
// package-lock.json).
//
// Why not node:zlib: the droplet's userData must be byte-identical for the same input,
// or Pulumi replaces the droplet. Node bundles Chromium's zlib fork, whose output has
// changed between Node releases (https://github.com/nodejs/node/issues/33610), so the
// same toolkit could render differently after a Node update. fflate's output depends
// only on its own (pinned) version; `mtime: 0` keeps the clock out of the header.
import { gzipSync } from "fflate";

/** Compresses `data` to a gzip stream whose bytes depend only on `data`. */
export function gzipDeterministic(data: Uint8Array): Uint8Array {
    return gzipSync(data, { level: 9, mem: 8, mtime: 0 });
}
