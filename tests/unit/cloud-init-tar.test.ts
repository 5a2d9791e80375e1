// Layer 1: the toolkit bundle's tar writer. GNU tar is the reader on the droplet, so it
// is the judge here: it must list and unpack exactly the bytes and modes written.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ustar, type TarEntry } from "../../cloud-init/tar";

const dirs: string[] = [];
afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function unpack(archive: Uint8Array): string {
    const dir = mkdtempSync(join(tmpdir(), "fortress-tar-"));
    dirs.push(dir);
    const r = spawnSync("tar", ["-x", "-C", dir, "--no-same-owner"], { input: archive });
    expect(r.status, r.stderr.toString()).toBe(0);
    return dir;
}

const entry = (path: string, content: string | Buffer, mode = "0644"): TarEntry => ({
    path,
    content: Buffer.from(content),
    mode,
});

describe("ustar", () => {
    it("GNU tar unpacks every file with its bytes and mode, and lists them owned by root at the epoch", () => {
        const files = [
            entry("usr/local/bin/fortress-backup", "#!/usr/bin/env bash\necho hi\n", "0755"),
            entry("usr/local/lib/income-fortress/common.sh", "x".repeat(512), "0644"),
            entry("usr/local/lib/income-fortress/empty", ""),
            entry("usr/local/lib/income-fortress/binary", Buffer.from([0, 1, 2, 255, 254, 10])),
        ];
        const archive = ustar(files);
        expect(archive.length % 512).toBe(0);
        const dir = unpack(archive);
        for (const f of files) {
            expect(readFileSync(join(dir, f.path)).equals(Buffer.from(f.content)), f.path).toBe(true);
            expect((statSync(join(dir, f.path)).mode & 0o777).toString(8), f.path).toBe(f.mode.replace(/^0/, ""));
        }
        const list = spawnSync("tar", ["-tv", "--numeric-owner", "--full-time"], {
            input: archive,
            encoding: "buffer",
        }).stdout.toString();
        expect(list).toMatch(/^-rwxr-xr-x 0\/0 +\d+ 1970-01-01 00:00:00 usr\/local\/bin\/fortress-backup$/m);
    });

    it("puts a path longer than 100 bytes in the prefix field, and tar reads it back whole", () => {
        const long = `${"d".repeat(60)}/${"e".repeat(60)}/file-with-a-long-name.sh`;
        const dir = unpack(ustar([entry(long, "long\n")]));
        expect(readFileSync(join(dir, long), "utf8")).toBe("long\n");
    });

    it("is deterministic: the same files, the same bytes", () => {
        const files = [entry("a/b", "one"), entry("a/c", "two", "0600")];
        expect(Buffer.from(ustar(files)).equals(Buffer.from(ustar(files)))).toBe(true);
        expect(
            Buffer.from(ustar(files)).equals(Buffer.from(ustar([entry("a/b", "one"), entry("a/c", "tw0", "0600")]))),
        ).toBe(false);
    });

    it.each([
        ["an absolute path", entry("/etc/passwd", "x"), /not a plain relative path/],
        ["a path that climbs", entry("usr/../etc/passwd", "x"), /not a plain relative path/],
        ["a mode that is not octal", entry("a", "x", "0999"), /not octal permission bits/],
    ])("refuses %s", (_what, bad, message) => {
        expect(() => ustar([bad])).toThrow(message);
    });
});
