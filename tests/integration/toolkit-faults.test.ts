// Faults, each injected into real services or real binaries: every one must end with one
// clear error line, the documented exit code, an untouched target (the buckets' latest.json
// for a backup, the database for a restore), and a previous backup that still verifies.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunResult } from "../../harness/process";
import type { S3Server } from "../../harness/s3";
import {
    commandPath,
    createAgeIdentity,
    databaseChecksums,
    errorLines,
    EXIT,
    makeShimPath,
    runToolkit,
    storageSettings,
    toolkitEnv,
    userTables,
} from "../../harness/toolkit";
import {
    backupOk,
    expectOneLineError,
    expectVerified,
    startToolkitRig,
    stopToolkitRig,
    type ToolkitRig,
} from "../support/toolkit-rig";

const PREFIX = "postgresql/faults";
const PRIMARY_BUCKET = "faults-primary";
const OFFSITE_BUCKET = "faults-vault";
const EMPTY_BUCKET = "faults-empty";

describe("fortress toolkit faults", () => {
    let rig: ToolkitRig;
    /** The good backup every backup fault must leave as latest. */
    let good: { id: string; latest: string };
    let keysBefore: { primary: string[]; offsite: string[] };
    let realPgDump: string;
    let realPsql: string;

    const latestOf = async (server: S3Server, bucket: string) =>
        (await server.getObject(bucket, `${PREFIX}/latest.json`))?.toString("utf8");
    const objectKey = (id: string) => `${PREFIX}/${id}.dump.zst.age`;

    /** Keys that are not an id's claim marker (a run's, while it runs; see claimMarkers). */
    const backupKeys = (keys: string[]) => keys.filter((k) => !k.includes(".claim-"));
    const claimMarkers = async () =>
        (await rig.primary.listKeys(PRIMARY_BUCKET, PREFIX)).filter((k) => k.includes(".claim-"));
    /**
     * A failed backup leaves latest.json and every object exactly as they were. A run that lost
     * its storage may leave the marker that claimed its id (not a backup, never listed); the
     * next backup on this host removes it.
     */
    const expectNoTrace = async () => {
        expect(await latestOf(rig.primary, PRIMARY_BUCKET)).toBe(good.latest);
        expect(await latestOf(rig.offsite, OFFSITE_BUCKET)).toBe(good.latest);
        expect(backupKeys(await rig.primary.listKeys(PRIMARY_BUCKET, PREFIX))).toEqual(keysBefore.primary);
        expect(await rig.offsite.listKeys(OFFSITE_BUCKET, PREFIX)).toEqual(keysBefore.offsite);
    };
    const expectTargetEmpty = async () => {
        expect(await userTables(rig.pg, "target")).toEqual([]);
    };
    const restoreToTarget = (args: string[], e = rig.env) =>
        runToolkit("fortress-restore", [...args, "--target", rig.pg.url("target")], e);

    beforeAll(async () => {
        rig = await startToolkitRig({
            prefix: PREFIX,
            primaryBucket: PRIMARY_BUCKET,
            offsiteBucket: OFFSITE_BUCKET,
            otherBuckets: [EMPTY_BUCKET],
            work: "fortress-faults",
        });
        await rig.pg.createDatabase("target");
        good = { id: await backupOk(rig.env), latest: (await latestOf(rig.primary, PRIMARY_BUCKET))! };
        keysBefore = {
            primary: await rig.primary.listKeys(PRIMARY_BUCKET, PREFIX),
            offsite: await rig.offsite.listKeys(OFFSITE_BUCKET, PREFIX),
        };
        realPgDump = await commandPath("pg_dump");
        realPsql = await commandPath("psql");
    });

    afterAll(() => stopToolkitRig(rig));

    describe("during a backup", () => {
        it("pg_dump killed mid-stream: exit 1, latest.json unchanged, no partial objects left", async () => {
            // The real pg_dump, SIGKILLed once it has streamed 64 KiB (its reader stays open, so
            // it dies of the KILL, not of a broken pipe).
            const path = makeShimPath({
                wrappers: {
                    pg_dump: `#!/usr/bin/env bash
set -u
dir=$(mktemp -d)
mkfifo "$dir/out"
"${realPgDump}" "$@" >"$dir/out" &
pid=$!
exec 3<"$dir/out"
head -c 65536 <&3
kill -KILL "$pid" 2>/dev/null
wait "$pid"
status=$?
exec 3<&-
rm -rf "$dir"
exit "$status"
`,
                },
            });
            const r = await runToolkit("fortress-backup", [], { ...rig.env, PATH: path });
            expectOneLineError(
                r,
                EXIT.failure,
                /pg_dump was killed by signal 9 mid-stream.*latest\.json was not changed/,
            );
            await expectNoTrace();
            await expectVerified(rig.env, good.id);
        });

        it("the primary S3 server stopped mid-upload: exit 1, latest.json unchanged in both regions", async () => {
            // Throttled so the ~3 MB upload takes seconds; the server is killed while it runs.
            let killed: Promise<void> | undefined;
            let r: RunResult;
            try {
                r = await runToolkit(
                    "fortress-backup",
                    [],
                    { ...rig.env, RCLONE_BWLIMIT: "1M" },
                    {
                        onStderr: (chunk) => {
                            if (!killed && chunk.includes("streaming pg_dump")) {
                                killed = new Promise((resolve) =>
                                    setTimeout(() => void rig.primary.kill().then(resolve), 1_500),
                                );
                            }
                        },
                    },
                );
                expect(killed).toBeDefined();
                await killed;
            } finally {
                await killed;
                await rig.primary.start();
            }
            expectOneLineError(
                r,
                EXIT.failure,
                new RegExp(`upload to s3://${PRIMARY_BUCKET}/${PREFIX} failed .*latest\\.json was not changed`),
            );
            expect(r.stderr).toMatch(/could not delete the partial object/); // primary was down
            // ...and so was the marker that claimed the id: it stays until the next backup.
            expect(r.stderr).toMatch(
                /could not delete the claim marker s3:\/\/faults-primary\/.*the next backup on this host removes it/,
            );
            expect(await claimMarkers()).toHaveLength(1);
            await expectNoTrace(); // the offsite copy of the stream was removed again
            await expectVerified(rig.env, good.id);
        });

        it("a missing command on PATH: exit 2 naming the command and its Debian package", async () => {
            const noZstd = { ...rig.env, PATH: makeShimPath({ hide: ["zstd"] }) };
            const backup = await runToolkit("fortress-backup", [], noZstd);
            expectOneLineError(
                backup,
                EXIT.usage,
                /missing command\(s\) on PATH: zstd: install the Debian package\(s\) zstd/,
            );
            const restore = await restoreToTarget([], noZstd);
            expectOneLineError(restore, EXIT.usage, /zstd.*apt-get install zstd/);
            const noAge = await runToolkit("fortress-backup", [], {
                ...rig.env,
                PATH: makeShimPath({ hide: ["age"] }),
            });
            expectOneLineError(noAge, EXIT.usage, /missing command\(s\) on PATH: age: .*apt-get install age/);
            const noPg = await runToolkit("fortress-backup", [], {
                ...rig.env,
                PATH: makeShimPath({ hide: ["pg_dump", "psql"] }),
            });
            expectOneLineError(
                noPg,
                EXIT.usage,
                /pg_dump psql: install the Debian package\(s\) postgresql-client \(apt-get install postgresql-client\)/,
            );
            await expectNoTrace();
            await expectTargetEmpty();
        });
    });

    describe("during a restore (the target database must stay untouched)", () => {
        let second: { id: string; object: Buffer };

        beforeAll(async () => {
            const id = await backupOk(rig.env);
            second = { id, object: (await rig.primary.getObject(PRIMARY_BUCKET, objectKey(id)))! };
            expect(await claimMarkers()).toEqual([]); // the stopped upload's marker is swept
        });

        it("a truncated object: exit 3 before the target is touched; the offsite copy still verifies", async () => {
            await rig.primary.putObject(
                PRIMARY_BUCKET,
                objectKey(second.id),
                second.object.subarray(0, second.object.length >> 1),
            );
            const r = await restoreToTarget(["--backup", second.id, "--source", "primary"]);
            expectOneLineError(
                r,
                EXIT.integrity,
                /is \d+ bytes but its manifest says \d+: the object is truncated.*--source offsite/,
            );
            await expectTargetEmpty();
            await expectVerified(rig.env, second.id, ["--backup", second.id, "--source", "offsite"]);
            await expectVerified(rig.env, good.id, ["--backup", good.id]);
            await rig.primary.putObject(PRIMARY_BUCKET, objectKey(second.id), second.object);
        });

        it("a flipped byte: exit 3 on the sha256 mismatch before the target is touched; auto uses the offsite copy", async () => {
            const flipped = Buffer.from(second.object);
            const at = flipped.length >> 1;
            flipped[at] = flipped[at]! ^ 0x01;
            await rig.primary.putObject(PRIMARY_BUCKET, objectKey(second.id), flipped);
            const r = await restoreToTarget(["--backup", second.id, "--source", "primary"]);
            expectOneLineError(
                r,
                EXIT.integrity,
                /sha256 of .* is [0-9a-f]{64} but its manifest says [0-9a-f]{64}: the object is corrupt/,
            );
            await expectTargetEmpty();
            const v = await expectVerified(rig.env, second.id, ["--backup", second.id]);
            expect(v.stderr).toMatch(
                /warning: sha256 of s3:\/\/faults-primary\/.* the object is corrupt; using the offsite copy/,
            );
            await rig.primary.putObject(PRIMARY_BUCKET, objectKey(second.id), second.object);
            await expectVerified(rig.env, second.id, ["--backup", second.id, "--source", "primary"]);
        });

        it("the wrong age identity: exit 3 (decrypt) before the target is touched", async () => {
            const other = await createAgeIdentity(rig.work, "other-identity.txt");
            const r = await restoreToTarget([], { ...rig.env, BACKUP_AGE_IDENTITY_FILE: other.identityFile });
            expectOneLineError(r, EXIT.integrity, /cannot decrypt .*no identity matched.*BACKUP_AGE_IDENTITY_FILE/);
            const missing = await restoreToTarget([], { ...rig.env, BACKUP_AGE_IDENTITY_FILE: `${rig.work}/nope.txt` });
            expectOneLineError(missing, EXIT.usage, /cannot read BACKUP_AGE_IDENTITY_FILE/);
            await expectTargetEmpty();
        });

        it("a missing latest.json: exit 1 from that bucket; auto falls back to the offsite copy", async () => {
            const saved = (await latestOf(rig.primary, PRIMARY_BUCKET))!;
            await rig.primary.deleteObject(PRIMARY_BUCKET, `${PREFIX}/latest.json`);
            const r = await restoreToTarget(["--source", "primary"]);
            expectOneLineError(
                r,
                EXIT.failure,
                new RegExp(`no latest\\.json in s3://${PRIMARY_BUCKET}/${PREFIX}: run fortress-backup first`),
            );
            await expectTargetEmpty();
            const v = await expectVerified(rig.env, second.id);
            expect(v.stderr).toMatch(
                new RegExp(`warning: no latest\\.json in s3://${PRIMARY_BUCKET}/${PREFIX}; using the offsite copy`),
            );
            await rig.primary.putObject(PRIMARY_BUCKET, `${PREFIX}/latest.json`, saved);
        });

        it("an empty bucket: restore exits 1, the list is empty, status fails", async () => {
            const emptyEnv = toolkitEnv({
                DATABASE_URL: rig.pg.url("app"),
                ...storageSettings({ primary: rig.primary, bucket: EMPTY_BUCKET, prefix: PREFIX }),
                BACKUP_AGE_IDENTITY_FILE: rig.age.identityFile,
            });
            const r = await restoreToTarget([], emptyEnv);
            expectOneLineError(
                r,
                EXIT.failure,
                /no latest\.json in s3:\/\/faults-empty\/postgresql\/faults: run fortress-backup first/,
            );
            const before = await restoreToTarget(["--before", "2030-01-01T00:00:00Z"], emptyEnv);
            expectOneLineError(
                before,
                EXIT.failure,
                /no backup created before 2030-01-01T00:00:00Z in s3:\/\/faults-empty/,
            );
            const list = await runToolkit("fortress-backups", ["--json"], emptyEnv);
            expect(list.code, list.stderr).toBe(EXIT.ok);
            expect(JSON.parse(list.stdout)).toEqual([]);
            const status = await runToolkit("fortress-status", [], emptyEnv);
            expect(status.code).toBe(EXIT.failure);
            expect(status.stdout).toMatch(/FAIL no latest\.json/);
            expect(errorLines(status.stderr)).toHaveLength(1);
            await expectTargetEmpty();
        });

        it("a non-empty target without --force: exit 4 and the target keeps its data", async () => {
            await rig.pg.createDatabase("occupied");
            await rig.pg.psql(
                "CREATE TABLE keep_me (id int PRIMARY KEY, note text); INSERT INTO keep_me SELECT g, 'row ' || g FROM generate_series(1, 100) g;",
                "occupied",
            );
            const sums = await databaseChecksums(rig.pg, "occupied");
            const r = await runToolkit("fortress-restore", ["--target", rig.pg.url("occupied")], rig.env);
            expectOneLineError(
                r,
                EXIT.refused,
                /target database occupied already has 1 tables: .*--into NAME.*--force/,
            );
            expect(await databaseChecksums(rig.pg, "occupied")).toEqual(sums);
        });

        it("a bad --before time: exit 2 before anything is read", async () => {
            for (const bad of ["yesterday", "2026-13-45T00:00:00Z", "2026-02-03 25:00", "1700000000"]) {
                const r = await restoreToTarget(["--before", bad]);
                expectOneLineError(r, EXIT.usage, /--before '.*' is not an ISO time like 2026-02-03T10:00:00Z/);
            }
            const both = await restoreToTarget(["--before", "2026-02-03T10:00:00Z", "--backup", good.id]);
            expectOneLineError(both, EXIT.usage, /either --backup or --before/);
            await expectTargetEmpty();
        });

        it("the primary region unreachable: auto restores from offsite; --source primary fails clearly", async () => {
            await rig.primary.kill();
            // Fewer rclone retries than the toolkit's defaults, through the RCLONE_* passthrough.
            const fast = { ...rig.env, RCLONE_LOW_LEVEL_RETRIES: "1", RCLONE_RETRIES: "1" };
            try {
                const v = await expectVerified(fast, second.id);
                expect(v.stderr).toMatch(
                    /warning: cannot read s3:\/\/faults-primary\/postgresql\/faults .*using the offsite copy/,
                );
                const r = await restoreToTarget(["--source", "primary"], fast);
                expectOneLineError(
                    r,
                    EXIT.failure,
                    /cannot read s3:\/\/faults-primary\/postgresql\/faults .*check that storage is reachable.*--source offsite/,
                );
                const status = await runToolkit("fortress-status", [], fast);
                expect(status.code).toBe(EXIT.failure);
                expect(status.stdout).toMatch(/^primary .*FAIL cannot read/m);
                expect(status.stdout).toMatch(/^offsite .*OK latest/m);
                await expectTargetEmpty();
            } finally {
                await rig.primary.start();
            }
        });

        it("a COPY session of a split table that cannot connect: exit 1 naming it, no hang, the --into database dropped", async () => {
            // psql refuses the connection only for the sessions that split-copy.pl feeds (their
            // stdin is a FIFO named split-*); FORTRESS_RESTORE_SPLIT_SIZE=1 splits every table.
            const path = makeShimPath({
                wrappers: {
                    psql: `#!/usr/bin/env bash
if [[ $(readlink /proc/$$/fd/0) == */split-* ]]; then
    echo "psql: error: connection to server failed: FATAL:  sorry, too many clients already" >&2
    exit 2
fi
exec "${realPsql}" "$@"
`,
                },
            });
            const r = await runToolkit("fortress-restore", ["--into", "split_fault", "--jobs", "2"], {
                ...rig.env,
                PATH: path,
                FORTRESS_RESTORE_SPLIT_SIZE: "1",
            });
            expectOneLineError(
                r,
                EXIT.failure,
                /psql \(COPY session 1 of 2\) loading public\.\w+ failed: .*too many clients already: database split_fault is dropped again/,
            );
            expect(await rig.pg.databaseExists("split_fault")).toBe(false);
        });

        it("after every fault the latest backup still restores, into the untouched target", async () => {
            const r = await restoreToTarget([]);
            expect(r.code, r.stderr).toBe(EXIT.ok);
            expect(r.stdout).toContain(`restored ${second.id} into target`);
            expect(await databaseChecksums(rig.pg, "target")).toEqual(await databaseChecksums(rig.pg, "app"));
        });
    });
});
