// The files a droplet ends up with from its rendered user-data: the write_files entries,
// with the toolkit bundle unpacked by GNU tar as the first runcmd lines do on the droplet.
// Shared by the SSH test host and the tests that look inside user-data.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { parse } from "yaml";
import { TOOLKIT_BUNDLE } from "../cloud-init/host";

/** A file as the host has it after cloud-init. */
export interface HostFile {
    content: Buffer;
    /** Octal permission bits, e.g. `0755`. */
    mode: string;
    /** `user:group`. */
    owner: string;
}

interface WriteFile {
    path: string;
    content: string;
    encoding?: string;
    owner?: string;
    permissions?: string;
}

/** Every regular file below `dir`, as paths relative to it. */
function listFiles(dir: string, rel = ""): string[] {
    return readdirSync(join(dir, rel), { withFileTypes: true }).flatMap((e) => {
        const path = rel ? `${rel}/${e.name}` : e.name;
        return e.isDirectory() ? listFiles(dir, path) : e.isFile() ? [path] : [];
    });
}

/** What GNU tar unpacks from a tar archive: absolute path -> file (owned by root, as with --no-same-owner). */
function unpack(tar: Buffer): Map<string, HostFile> {
    const dir = mkdtempSync(join(tmpdir(), "fortress-user-data-"));
    try {
        const r = spawnSync("tar", ["-x", "-C", dir, "--no-same-owner"], { input: tar });
        if (r.status !== 0) throw new Error(`tar could not unpack the toolkit bundle: ${r.stderr.toString().trim()}`);
        return new Map(
            listFiles(dir).map((rel) => [
                `/${rel}`,
                {
                    content: readFileSync(join(dir, rel)),
                    mode: `0${(statSync(join(dir, rel)).mode & 0o777).toString(8)}`,
                    owner: "root:root",
                },
            ]),
        );
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

/** The files the user-data installs, by absolute path, in the order cloud-init writes them. */
export function userDataFiles(userData: string): Map<string, HostFile> {
    const doc = parse(userData) as { write_files?: WriteFile[] };
    const files = new Map<string, HostFile>();
    for (const f of doc.write_files ?? []) {
        const content =
            f.encoding === "gz+b64" ? gunzipSync(Buffer.from(f.content, "base64")) : Buffer.from(f.content, "utf8");
        if (f.path === TOOLKIT_BUNDLE) {
            for (const [path, file] of unpack(content)) files.set(path, file);
        } else {
            files.set(f.path, { content, mode: f.permissions ?? "0644", owner: f.owner ?? "root:root" });
        }
    }
    return files;
}
