// The gzip wrapper must produce streams that standard inflaters read back exactly:
// Node's zlib, the gzip CLI, and Python's gzip module (what cloud-init uses for
// `encoding: gz+b64`), and the same bytes for the same input.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { gzipDeterministic } from "../../cloud-init/gzip";
import { loadToolkitFiles } from "../../cloud-init/toolkit-files";

/** Bytes from a seeded xorshift, so "random" cases are the same every run. */
function pseudoRandom(n: number, seed: number): Buffer {
    const out = Buffer.alloc(n);
    let x = seed >>> 0 || 1;
    for (let i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        out[i] = x & 0xff;
    }
    return out;
}

const script =
    "#!/usr/bin/env bash\nset -euo pipefail\n" +
    Array.from(
        { length: 400 },
        (_, i) => `log "step ${i}: upload part ${i % 7} to \${BACKUP_BUCKET}/\${BACKUP_PREFIX}"\n`,
    ).join("");

const cases: [string, Buffer][] = [
    ["empty", Buffer.alloc(0)],
    ["one byte", Buffer.from("x")],
    ["two bytes (shorter than a match)", Buffer.from("ab")],
    ["a long run (distance 1, lengths up to 258)", Buffer.alloc(10_000, "a")],
    ["every byte value", Buffer.from(Array.from({ length: 256 * 4 }, (_, i) => i & 0xff))],
    ["incompressible", pseudoRandom(50_000, 42)],
    ["a script", Buffer.from(script)],
    // A repeat just inside the 32 KiB window and one just outside it.
    [
        "far repeats",
        Buffer.concat([
            pseudoRandom(1000, 7),
            pseudoRandom(31_700, 8),
            pseudoRandom(1000, 7),
            pseudoRandom(33_000, 9),
            pseudoRandom(1000, 7),
        ]),
    ],
    ["UTF-8 text", Buffer.from("Résumé — naïve café ✓ ".repeat(500))],
];

describe("gzipDeterministic", () => {
    it.each(cases)("%s: Node's gunzip returns the input", (_label, input) => {
        const gz = Buffer.from(gzipDeterministic(input));
        expect(gunzipSync(gz).equals(input)).toBe(true);
        // gzip header: magic, deflate, no flags, mtime 0 (no clock in the bytes).
        expect([...gz.subarray(0, 8)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
    });

    it.each(cases)("%s: same input, same bytes", (_label, input) => {
        expect(Buffer.from(gzipDeterministic(input)).equals(Buffer.from(gzipDeterministic(Buffer.from(input))))).toBe(
            true,
        );
    });

    it("compresses repetitive text well and bounds incompressible growth", () => {
        expect(gzipDeterministic(Buffer.from(script)).length).toBeLessThan(script.length / 4);
        const noise = pseudoRandom(50_000, 1);
        // Incompressible input falls back to stored blocks: only framing is added.
        expect(gzipDeterministic(noise).length).toBeLessThan(noise.length + 64);
    });
});

describe("gzipDeterministic output read by the host's decoders", () => {
    const inputs: [string, Buffer][] = [
        ...cases.filter(([label]) => label !== "empty"),
        ...loadToolkitFiles().map((f): [string, Buffer] => [f.path, Buffer.from(f.content, "utf8")]),
    ];

    it.each(inputs)("%s: gzip -dc and Python's gzip module", (_label, input) => {
        const gz = Buffer.from(gzipDeterministic(input));
        const sha = createHash("sha256").update(input).digest("hex");
        const cli = spawnSync("gzip", ["-dc"], { input: gz });
        expect(cli.status).toBe(0);
        expect(createHash("sha256").update(cli.stdout).digest("hex")).toBe(sha);
        const py = spawnSync(
            "python3",
            [
                "-c",
                "import gzip, hashlib, sys; print(hashlib.sha256(gzip.decompress(sys.stdin.buffer.read())).hexdigest())",
            ],
            {
                input: gz,
                encoding: "buffer",
            },
        );
        expect(py.stderr.toString()).toBe("");
        expect(py.stdout.toString().trim()).toBe(sha);
    });
});
