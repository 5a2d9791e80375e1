// Layer 3: fortress-evidence, the breach's evidence bundle, run for real (bash, tar, zstd,
// age, rclone, ps, ss) against two s3rver buckets: the bundle is downloaded from each,
// decrypted with the age identity and unpacked, and must hold every item. docker and
// journalctl are recording stand-ins (neither runs on the build machines); the auth logs
// come from a folder of this test's own.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evidencePrefix } from "../../cloud-init/host";
import { makeTempDir, runOk } from "../../harness/process";
import { S3RVER_CREDENTIALS, startS3Server, type S3Server } from "../../harness/s3";
import {
    type AgeIdentity,
    createAgeIdentity,
    errorLines,
    EXIT,
    makeShimPath,
    removeToolkitScratch,
    runToolkit,
    storageSettings,
    toolkitEnv,
} from "../../harness/toolkit";

const ITEMS = [
    "index.txt",
    "compose-logs.txt",
    "journal.txt",
    "auth-logs.txt",
    "processes.txt",
    "sockets-listening.txt",
    "sockets-connected.txt",
];

let primary: S3Server;
let offsite: S3Server;
let work: string;
let age: AgeIdentity;
let composeDir: string;
let logDir: string;
let calls: string;
let path: string;

/** The toolkit's environment: both buckets under postgresql/prod, the age recipient, the stand-ins first on PATH. */
function env(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
    return toolkitEnv({
        ...storageSettings({
            primary,
            bucket: "ev-primary",
            offsite,
            offsiteBucket: "ev-vault",
            prefix: "postgresql/prod",
        }),
        BACKUP_AGE_RECIPIENTS: age.recipient,
        FORTRESS_LOG_DIR: logDir,
        CALLS: calls,
        PATH: path,
        ...extra,
    });
}

/** Downloads `key` from a bucket, decrypts and unpacks it, and returns its files' texts. */
async function openBundle(server: S3Server, bucket: string, key: string): Promise<Record<string, string>> {
    const body = await server.getObject(bucket, key);
    if (body === undefined) throw new Error(`no ${key} in ${bucket}`);
    const dir = makeTempDir("evidence-open");
    try {
        writeFileSync(join(dir, "bundle.age"), body);
        await runOk("bash", [
            "-c",
            'set -euo pipefail; age -d -i "$1" "$2/bundle.age" | zstd -d -q -c | tar -C "$2" -xf -',
            "open",
            age.identityFile,
            dir,
        ]);
        return Object.fromEntries(ITEMS.map((i) => [i, readFileSync(join(dir, "evidence", i), "utf8")]));
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

beforeAll(async () => {
    [primary, offsite] = await Promise.all([
        startS3Server({ buckets: ["ev-primary"] }),
        startS3Server({ buckets: ["ev-vault"] }),
    ]);
    work = makeTempDir("fortress-evidence");
    age = await createAgeIdentity(work);
    composeDir = join(work, "app");
    logDir = join(work, "log");
    calls = join(work, "calls");
    mkdirSync(composeDir);
    mkdirSync(logDir);
    writeFileSync(join(logDir, "auth.log"), "Dec  6 06:01:02 host sshd[42]: Accepted publickey for deployer\n");
    writeFileSync(
        join(logDir, "auth.log.2.gz"),
        gzipSync("Dec  1 03:04:05 host sshd[7]: Failed password for root from 203.0.113.9\n"),
    );
    // The stand-ins record where and how they were called, and print a line to find.
    path = makeShimPath({
        wrappers: {
            docker: '#!/bin/bash\nprintf "%s|%s\\n" "$PWD" "$*" >>"$CALLS"\necho "api-1  | 2026-12-06T06:00:00Z GET /admin 200"\n',
            journalctl:
                '#!/bin/bash\nprintf "journalctl|%s\\n" "$*" >>"$CALLS"\necho "Dec 06 06:00:00 host kernel: journal line"\n',
        },
    });
});

afterAll(async () => {
    await Promise.all([primary?.stop(), offsite?.stop()]);
    if (work) rmSync(work, { recursive: true, force: true });
    removeToolkitScratch();
});

describe("fortress-evidence", () => {
    it("stores one encrypted bundle with every item in each bucket, under the evidence prefix", async () => {
        const r = await runToolkit("fortress-evidence", ["--compose-dir", composeDir, "--label", "isolate"], env());
        expect(r.code, r.stderr).toBe(EXIT.ok);
        const lines = r.stdout.trim().split("\n");
        expect(lines).toHaveLength(2);
        const prefix = evidencePrefix("prod");
        expect(prefix).toBe("evidence/prod");
        const keys = lines.map((l) => {
            const m = l.match(
                /^evidence s3:\/\/(ev-primary|ev-vault)\/(evidence\/prod\/\d{8}T\d{6}Z-.+-isolate\.tar\.zst\.age) sha256 ([0-9a-f]{64})$/,
            );
            expect(m, l).not.toBeNull();
            return { bucket: m?.[1] ?? "", key: m?.[2] ?? "", sha: m?.[3] ?? "" };
        });
        expect(keys.map((k) => k.bucket)).toEqual(["ev-primary", "ev-vault"]);
        expect(keys[0].key).toBe(keys[1].key);
        // Nothing under the backups' prefix, whose objects the lifecycle rule expires.
        expect(await primary.listKeys("ev-primary", "postgresql/")).toEqual([]);

        for (const [server, k] of [
            [primary, keys[0]],
            [offsite, keys[1]],
        ] as const) {
            const body = await server.getObject(k.bucket, k.key);
            // Encrypted: an age file, and the printed hash is the stored object's.
            expect(body?.subarray(0, 21).toString("utf8")).toBe("age-encryption.org/v1");
            expect(
                createHash("sha256")
                    .update(body ?? "")
                    .digest("hex"),
            ).toBe(k.sha);
            const files = await openBundle(server, k.bucket, k.key);
            expect(files["compose-logs.txt"]).toContain("GET /admin 200");
            expect(files["journal.txt"]).toContain("journal line");
            expect(files["auth-logs.txt"]).toContain("Accepted publickey for deployer");
            expect(files["auth-logs.txt"]).toContain("Failed password for root from 203.0.113.9");
            // Real ps and ss: this test's own process, and the s3rver listening on loopback.
            expect(files["processes.txt"]).toMatch(/^USER\s+PID/);
            expect(files["processes.txt"]).toContain("s3rver");
            expect(files["sockets-listening.txt"]).toContain(`127.0.0.1:${primary.port}`);
            expect(files["sockets-connected.txt"]).toMatch(/^Netid/);
            for (const item of ITEMS.filter((i) => i !== "index.txt"))
                expect(files["index.txt"]).toMatch(new RegExp(`^${item.replace(".", "\\.")}\\texit 0\\t`, "m"));
        }
        // docker compose logs ran in the compose folder; the journal was read whole, in UTC.
        const recorded = readFileSync(calls, "utf8");
        expect(recorded).toContain(`${composeDir}|compose logs --no-color --timestamps`);
        expect(recorded).toContain("journalctl|--no-pager --utc -o short-iso-precise");
    });

    it("keeps going when a source fails, and says so in index.txt", async () => {
        const noDocker = makeShimPath({ hide: ["docker"], basePath: path });
        const r = await runToolkit(
            "fortress-evidence",
            ["--compose-dir", composeDir],
            env({ PATH: noDocker, FORTRESS_LOG_DIR: join(work, "no-such-log-dir") }),
        );
        expect(r.code, r.stderr).toBe(EXIT.ok);
        expect(r.stderr).toMatch(/warning: compose-logs\.txt: .* exited 127/);
        expect(r.stderr).toMatch(/warning: auth-logs\.txt: .* exited 1/);
        const key = r.stdout.split("\n")[0].split(" ")[1].replace("s3://ev-primary/", "");
        expect(key).toMatch(/-manual\.tar\.zst\.age$/);
        const files = await openBundle(primary, "ev-primary", key);
        expect(files["index.txt"]).toMatch(/^compose-logs\.txt\texit 127\t/m);
        expect(files["index.txt"]).toMatch(/^auth-logs\.txt\texit 1\t/m);
        expect(files["index.txt"]).toMatch(/^processes\.txt\texit 0\t/m);
    });

    it("without a backup prefix, writes straight under evidence/", async () => {
        const r = await runToolkit("fortress-evidence", ["--compose-dir", composeDir], env({ BACKUP_PREFIX: "" }));
        expect(r.code, r.stderr).toBe(EXIT.ok);
        expect(r.stdout.split("\n")[0]).toMatch(
            /^evidence s3:\/\/ev-primary\/evidence\/\d{8}T\d{6}Z-[^/]+-manual\.tar\.zst\.age sha256 /,
        );
    });

    it("refuses to store evidence unencrypted", async () => {
        const before = await offsite.listKeys("ev-vault", "evidence/");
        const r = await runToolkit(
            "fortress-evidence",
            ["--compose-dir", composeDir],
            env({ BACKUP_AGE_RECIPIENTS: "" }),
        );
        expect(r.code).toBe(EXIT.usage);
        expect(errorLines(r.stderr)).toEqual([
            "fortress-evidence: error: BACKUP_AGE_RECIPIENTS is empty, and evidence is never stored unencrypted: set ageRecipients on the stack and run pulumi up",
        ]);
        expect(await offsite.listKeys("ev-vault", "evidence/")).toEqual(before);
    });

    it("fails with exit 1, naming the bucket, when one bucket cannot take it", async () => {
        const r = await runToolkit(
            "fortress-evidence",
            ["--compose-dir", composeDir],
            env({ BACKUP_OFFSITE_BUCKET: "ev-missing", AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey }),
        );
        expect(r.code, r.stderr).toBe(EXIT.failure);
        expect(r.stdout).toMatch(/^evidence s3:\/\/ev-primary\/evidence\/prod\//);
        expect(errorLines(r.stderr)).toHaveLength(1);
        expect(errorLines(r.stderr)[0]).toMatch(/could not store the evidence in s3:\/\/ev-missing\/evidence\/prod \(/);
    });
});
