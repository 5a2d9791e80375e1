// Faults the toolkit must survive, each made for real: two backups at once under different
// lock keys, SIGTERM and SIGKILL to the main process only (as `timeout` and `kill PID`
// send), locks held by a migration or an idle transaction, a storage endpoint that accepts
// connections and never answers, a scratch disk too small, an archive cut short behind a
// manifest that matches it, dangerous --into names, failures after the rows are in, quoted
// --tables names, a mangled primary object, an unreadable manifest and a clock in the
// future. Each ends in one clear error line with the documented exit code, nothing lost,
// nothing half-done left behind, and a bounded wait.
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, run, type RunResult, runOk, sleep } from "../../harness/process";
import { startSilentEndpoint, type S3Server } from "../../harness/s3";
import {
    commandPath,
    databaseChecksums,
    descendants,
    errorLines,
    EXIT,
    lastLine,
    makeShimPath,
    type Manifest,
    mountSmallDisk,
    readManifest,
    runToolkit,
    stillRunning,
    type ToolkitCommand,
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

const PREFIX = "postgresql/adversarial";
const PRIMARY_BUCKET = "adv-primary";
const OFFSITE_BUCKET = "adv-vault";

/** A toolkit run signalled once `on` shows up on its stderr (plus `afterMs`), at its main pid only. */
interface Signalled {
    r: RunResult;
    /** The run's processes just before the signal. */
    tree: number[];
    /** From the signal until every process holding the run's stdout/stderr had ended. */
    stopMs: number;
}

describe("fortress toolkit under adversarial faults", () => {
    let rig: ToolkitRig;
    let base: Manifest;
    let realPsql: string;
    let realPgDump: string;

    const manifestOf = (server: S3Server, bucket: string, id: string) =>
        readManifest(server, bucket, `${PREFIX}/${id}.manifest.json`);
    const verify = (id: string) => expectVerified(rig.env, id, ["--backup", id]);
    /** Every stored object of a backup has its manifest, and no claim marker is left over. */
    const expectNoOrphans = async () => {
        for (const [server, bucket] of rig.regions) {
            const keys = await server.listKeys(bucket, PREFIX);
            const objects = keys.filter((k) => /\.dump\.zst(\.age)?$/.test(k));
            for (const o of objects)
                expect(keys, `${bucket}: ${o} has no manifest`).toContain(
                    o.replace(/\.dump\.zst(\.age)?$/, ".manifest.json"),
                );
            expect(
                keys.filter((k) => /claim/.test(k)),
                bucket,
            ).toEqual([]);
        }
    };
    const waitForLock = async (database: string, table: string) => {
        for (let i = 0; i < 100; i++) {
            const n = await rig.pg.psql(
                `SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                WHERE c.relname = '${table}' AND l.granted AND l.pid <> pg_backend_pid();`,
                database,
            );
            if (n !== "0") return;
            await sleep(50);
        }
        throw new Error(`no session took a lock on ${table}`);
    };
    /**
     * Runs `command` with a 2 s FORTRESS_LOCK_TIMEOUT while a session of psql holds locks on
     * `database`'s proposals: `sql` runs in it and its transaction stays open, active in
     * pg_sleep or idle, until the run is over (its statements come through a pipe that stays
     * open). The run must end well within the lock timeout's bound.
     */
    const runWhileLocked = async (
        database: string,
        sql: string,
        command: ToolkitCommand,
        args: string[],
    ): Promise<RunResult> => {
        const holder = spawn(join(rig.pg.binDir, "psql"), ["-X", "-q", "-v", "ON_ERROR_STOP=1"], {
            env: cleanEnv({ ...rig.pg.clientEnv(database), PGAPPNAME: "lock-holder" }),
            stdio: ["pipe", "ignore", "ignore"],
        });
        holder.stdin.write(sql);
        try {
            await waitForLock(database, "proposals");
            const r = await runToolkit(
                command,
                args,
                { ...rig.env, FORTRESS_LOCK_TIMEOUT: "2s" },
                { timeoutMs: 45_000 },
            );
            expect(r.ms).toBeLessThan(20_000);
            return r;
        } finally {
            // Ended server-side: a killed client leaves a backend in pg_sleep holding its locks.
            await rig.pg.psql(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'lock-holder';",
            );
            holder.kill("SIGKILL");
        }
    };
    /** The processes of `pids` still running after up to `ms` (one that is exiting gets that long). */
    const survivors = async (pids: number[], ms = 2_000): Promise<string[]> => {
        const deadline = Date.now() + ms;
        while (stillRunning(pids).length > 0 && Date.now() < deadline) await sleep(100);
        return stillRunning(pids);
    };
    const runAndSignal = async (
        command: ToolkitCommand,
        args: string[],
        e: NodeJS.ProcessEnv,
        opts: { on: RegExp; afterMs?: number; signal: NodeJS.Signals; timeoutMs?: number },
    ): Promise<Signalled> => {
        let pid = 0;
        let seen = "";
        let fired: Promise<void> | undefined;
        let tree: number[] = [];
        let signalledAt = 0;
        const r = await runToolkit(command, args, e, {
            timeoutMs: opts.timeoutMs ?? 90_000,
            onSpawn: (p) => (pid = p),
            onStderr: (chunk) => {
                seen += chunk;
                if (!fired && opts.on.test(seen)) {
                    fired = sleep(opts.afterMs ?? 0).then(() => {
                        tree = descendants(pid);
                        signalledAt = Date.now();
                        process.kill(pid, opts.signal);
                    });
                }
            },
        });
        const closedAt = Date.now();
        expect(fired, `never saw ${opts.on} in: ${r.stderr}`).toBeDefined();
        await fired;
        return { r, tree, stopMs: closedAt - signalledAt };
    };

    beforeAll(async () => {
        rig = await startToolkitRig({
            prefix: PREFIX,
            primaryBucket: PRIMARY_BUCKET,
            offsiteBucket: OFFSITE_BUCKET,
            work: "fortress-adversarial",
        });
        base = await manifestOf(rig.primary, PRIMARY_BUCKET, await backupOk(rig.env));
        realPsql = await commandPath("psql");
        realPgDump = await commandPath("pg_dump");
    });

    afterAll(() => stopToolkitRig(rig));

    describe("two backups at once", () => {
        /** Resolves just after a second starts, so runs started now pick their id in the same second. */
        const startOfSecond = async () => {
            const ms = Date.now() % 1000;
            if (ms > 50) await sleep(1005 - ms);
        };
        /** Another host: its own lock folder, and the same database spelled differently. */
        const otherHost = (n: number): NodeJS.ProcessEnv => {
            const locks = join(rig.work, `locks-host-${n}`);
            mkdirSync(locks, { recursive: true });
            return {
                ...rig.env,
                FORTRESS_LOCK_DIR: locks,
                DATABASE_URL: `${rig.pg.url("app")}?application_name=host${n}`,
            };
        };

        it("never share an id, and every backup that exits 0 restores", async () => {
            await startOfSecond();
            const runs = await Promise.all(
                [0, 1, 2, 3].map((n) => runToolkit("fortress-backup", ["--tag", "twin"], otherHost(n))),
            );
            const ok = runs.filter((r) => r.code === EXIT.ok);
            for (const r of runs) if (r.code !== EXIT.ok) expect(errorLines(r.stderr), r.stderr).toHaveLength(1);
            expect(ok.length, runs.map((r) => r.stderr).join("\n")).toBeGreaterThanOrEqual(2);
            const ids = ok.map((r) => r.stdout.trim());
            expect(new Set(ids).size, ids.join(" ")).toBe(ids.length);
            for (const id of ids) expect(id).toMatch(/^\d{8}T\d{6}Z-twin$/); // the documented format
            for (const id of ids) await verify(id);
            await expectNoOrphans();
        }, 180_000);

        it("a run that fails deletes only what it wrote itself, never the other run's backup", async () => {
            // The second run's pg_dump streams the whole database, then fails: its upload
            // completes and its cleanup runs after the first run has published.
            const failing = makeShimPath({
                wrappers: {
                    pg_dump: `#!/usr/bin/env bash\n[[ $1 == --version ]] && exec "${realPgDump}" "$@"\n"${realPgDump}" "$@"\nsleep 2\necho "pg_dump: error: injected failure" >&2\nexit 1\n`,
                },
            });
            await startOfSecond();
            const [good, bad] = await Promise.all([
                runToolkit("fortress-backup", ["--tag", "shared"], otherHost(10)),
                runToolkit("fortress-backup", ["--tag", "shared"], { ...otherHost(11), PATH: failing }),
            ]);
            expect(good.code, good.stderr).toBe(EXIT.ok);
            expectOneLineError(bad, EXIT.failure, /pg_dump failed \(exit 1\).*latest\.json was not changed/);
            await verify(good.stdout.trim());
            await expectNoOrphans();
        }, 120_000);
    });

    it("a second backup on one host gives up at once while the first holds the lock; with --wait-lock it waits its turn", async () => {
        const locks = join(rig.work, "locks-wait");
        mkdirSync(locks);
        const env = { ...rig.env, FORTRESS_LOCK_DIR: locks };
        await backupOk(env); // makes the lock file
        const [name] = readdirSync(locks).filter((f) => /^fortress-backup\.[0-9a-f]{16}\.lock$/.test(f));
        const lockFile = join(locks, name);
        // The first backup, as far as the lock goes: flock holds it for 4 s.
        const holder = run("flock", [lockFile, "sleep", "4"]);
        while ((await run("flock", ["-n", lockFile, "true"])).code === 0) await sleep(50);
        const held = Date.now();

        const gaveUp = await runToolkit("fortress-backup", [], env);
        expectOneLineError(
            gaveUp,
            EXIT.failure,
            /another fortress-backup is running for this database \(lock .*; waited 0s\)/,
        );
        expect(Date.now() - held).toBeLessThan(3_000);

        const waited = await runToolkit("fortress-backup", ["--tag", "waited", "--wait-lock", "60"], env);
        expect(waited.code, waited.stderr).toBe(EXIT.ok);
        expect((await holder).code).toBe(0);
        expect(Date.now() - held).toBeGreaterThanOrEqual(4_000);
        await verify(waited.stdout.trim());

        const badWait = await runToolkit("fortress-backup", ["--wait-lock", "soon"], env);
        expectOneLineError(badWait, EXIT.usage, /--wait-lock takes whole seconds \(0 to 99999\), not 'soon'/);
    }, 60_000);

    describe("signals to the main process only", () => {
        it("SIGKILL to fortress-backup mid-upload: its children stop at once, no object without a manifest, the lock is free", async () => {
            const before = await rig.primary.listKeys(PRIMARY_BUCKET, PREFIX);
            // 100 kB/s: the ~3 MB upload would take half a minute.
            const s = await runAndSignal(
                "fortress-backup",
                [],
                { ...rig.env, RCLONE_BWLIMIT: "100k" },
                { on: /streaming pg_dump/, afterMs: 1_000, signal: "SIGKILL" },
            );
            expect(s.r.signal).toBe("SIGKILL");
            expect(s.tree.length).toBeGreaterThan(3); // pg_dump, zstd, age, tee, rclone...
            expect(s.stopMs, s.r.stderr).toBeLessThan(15_000);
            expect(await survivors(s.tree)).toEqual([]);
            expect(s.r.stderr).toMatch(/fortress-backup: error: stopped by signal .*latest\.json was not changed/);
            expect(await rig.primary.listKeys(PRIMARY_BUCKET, PREFIX)).toEqual(before);
            await expectNoOrphans();
            // The lock died with the run: the next backup starts at once.
            const next = await runToolkit("fortress-backup", [], rig.env);
            expect(next.code, next.stderr).toBe(EXIT.ok);
        }, 120_000);

        it("SIGTERM to fortress-backup mid-upload: exit 143 within seconds, one error line, nothing left", async () => {
            const before = await rig.offsite.listKeys(OFFSITE_BUCKET, PREFIX);
            const s = await runAndSignal(
                "fortress-backup",
                [],
                { ...rig.env, RCLONE_BWLIMIT: "100k" },
                { on: /streaming pg_dump/, afterMs: 1_000, signal: "SIGTERM" },
            );
            expect(s.stopMs, s.r.stderr).toBeLessThan(15_000);
            expectOneLineError(s.r, 143, /stopped by signal TERM.*latest\.json was not changed/);
            expect(await survivors(s.tree)).toEqual([]);
            expect(await rig.offsite.listKeys(OFFSITE_BUCKET, PREFIX)).toEqual(before);
            await expectNoOrphans();
        }, 120_000);

        it("SIGKILL to fortress-restore mid-download: children stop, its scratch files and --into database are gone", async () => {
            const scratch = join(rig.work, "restore-scratch");
            mkdirSync(scratch, { recursive: true });
            const s = await runAndSignal(
                "fortress-restore",
                ["--backup", base.id, "--into", "killed_download"],
                { ...rig.env, RCLONE_BWLIMIT: "100k", TMPDIR: scratch },
                { on: /downloading s3:/, afterMs: 1_000, signal: "SIGKILL" },
            );
            expect(s.stopMs, s.r.stderr).toBeLessThan(15_000);
            expect(await survivors(s.tree)).toEqual([]);
            expect(readdirSync(scratch)).toEqual([]);
            expect(await rig.pg.databaseExists("killed_download")).toBe(false);
        }, 120_000);

        it("SIGTERM half-way through a restore: stops within seconds saying so; a rerun with --force completes it", async () => {
            await rig.pg.createDatabase("halfway");
            // The split table's COPY sessions take their time, so the signal lands mid-data.
            const slow = makeShimPath({
                wrappers: {
                    psql: `#!/usr/bin/env bash\nif [[ $(readlink /proc/$$/fd/0) == */split-* ]]; then sleep 60; fi\nexec "${realPsql}" "$@"\n`,
                },
            });
            const s = await runAndSignal(
                "fortress-restore",
                ["--backup", base.id, "--target", rig.pg.url("halfway"), "--jobs", "2"],
                { ...rig.env, PATH: slow, FORTRESS_RESTORE_SPLIT_SIZE: "1" },
                { on: /COPY sessions each/, afterMs: 1_500, signal: "SIGTERM" },
            );
            expect(s.stopMs, s.r.stderr).toBeLessThan(15_000);
            expectOneLineError(s.r, 143, /stopped by signal TERM: .*halfway may be partly restored.*--force/);
            expect(await survivors(s.tree)).toEqual([]);
            expect(await rig.pg.psql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'halfway';")).toBe("0");
            expect((await userTables(rig.pg, "halfway")).length).toBeGreaterThan(0);

            const refused = await runToolkit(
                "fortress-restore",
                ["--backup", base.id, "--target", rig.pg.url("halfway")],
                rig.env,
            );
            expectOneLineError(refused, EXIT.refused, /halfway already has \d+ tables.*--force/);
            const rerun = await runToolkit(
                "fortress-restore",
                ["--backup", base.id, "--target", rig.pg.url("halfway"), "--force"],
                rig.env,
            );
            expect(rerun.code, rerun.stderr).toBe(EXIT.ok);
            expect(await databaseChecksums(rig.pg, "halfway")).toEqual(await databaseChecksums(rig.pg, "app"));
        }, 120_000);
    });

    describe("bounded waits", () => {
        const MIGRATION_LOCK = "BEGIN; LOCK TABLE proposals IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(300);\n";
        const forceIntoLocked = () => ["--backup", base.id, "--target", rig.pg.url("locked"), "--force"];

        it("a migration holding ACCESS EXCLUSIVE during a backup: exit 1 within the lock timeout, nothing published", async () => {
            const latest = (await rig.primary.getObject(PRIMARY_BUCKET, `${PREFIX}/latest.json`))!.toString();
            const r = await runWhileLocked("app", MIGRATION_LOCK, "fortress-backup", []);
            expectOneLineError(
                r,
                EXIT.failure,
                /pg_dump failed.*lock.*FORTRESS_LOCK_TIMEOUT \(2s\).*latest\.json was not changed/,
            );
            expect((await rig.primary.getObject(PRIMARY_BUCKET, `${PREFIX}/latest.json`))!.toString()).toBe(latest);
            await expectNoOrphans();
        }, 60_000);

        it("a migration's lock during a --force restore: exit 1 within the lock timeout, rolled back, the holder named", async () => {
            await rig.pg.createDatabase("locked");
            const first = await runToolkit(
                "fortress-restore",
                ["--backup", base.id, "--target", rig.pg.url("locked")],
                rig.env,
            );
            expect(first.code, first.stderr).toBe(EXIT.ok);
            await rig.pg.psql("DELETE FROM audit_log WHERE id % 2 = 0;", "locked");
            const sums = await databaseChecksums(rig.pg, "locked");
            const r = await runWhileLocked("locked", MIGRATION_LOCK, "fortress-restore", forceIntoLocked());
            expectOneLineError(
                r,
                EXIT.failure,
                /lock.*FORTRESS_LOCK_TIMEOUT \(2s\).*pid \d+.*the transaction rolled back, locked is unchanged/,
            );
            expect(await databaseChecksums(rig.pg, "locked")).toEqual(sums);
        }, 60_000);

        it("an idle-in-transaction session in the way of --force: exit 1 within the lock timeout, naming it", async () => {
            const sums = await databaseChecksums(rig.pg, "locked");
            const r = await runWhileLocked(
                "locked",
                "BEGIN; SELECT count(*) FROM proposals;\n",
                "fortress-restore",
                forceIntoLocked(),
            );
            expectOneLineError(r, EXIT.failure, /lock.*pid \d+ \([^)]*idle in transaction\).*locked is unchanged/);
            expect(await databaseChecksums(rig.pg, "locked")).toEqual(sums);
        }, 60_000);

        it("a storage endpoint that accepts connections and never answers: each command ends within FORTRESS_S3_TIMEOUT", async () => {
            const silent = await startSilentEndpoint();
            try {
                const hung = { ...rig.env, BACKUP_S3_ENDPOINT: silent.endpoint, FORTRESS_S3_TIMEOUT: "3s" };
                const b = await runToolkit("fortress-backup", [], hung, { timeoutMs: 60_000 });
                expect(b.ms).toBeLessThan(20_000);
                expectOneLineError(
                    b,
                    EXIT.failure,
                    new RegExp(`s3://${PRIMARY_BUCKET}/${PREFIX}.*did not answer within 3s`),
                );
                expect(silent.connections).toBeGreaterThan(0);

                // A restore falls back to the offsite copy after one bounded wait.
                const r = await runToolkit("fortress-restore", ["--backup", base.id, "--into", "from_vault"], hung, {
                    timeoutMs: 60_000,
                });
                expect(r.code, r.stderr).toBe(EXIT.ok);
                expect(r.ms).toBeLessThan(25_000);
                expect(r.stderr).toMatch(
                    /warning: cannot read s3:\/\/adv-primary.*did not answer within 3s.*using the offsite copy/,
                );

                const st = await runToolkit("fortress-status", [], hung, { timeoutMs: 60_000 });
                expect(st.ms).toBeLessThan(20_000);
                expect(st.code).toBe(EXIT.failure);
                expect(st.stdout).toMatch(/^primary .*FAIL cannot read \(storage did not answer within 3s/m);
                expect(st.stdout).toMatch(/^offsite .*OK latest/m);
                const list = await runToolkit("fortress-backups", [], hung, { timeoutMs: 60_000 });
                expect(list.ms).toBeLessThan(20_000);
                expectOneLineError(list, EXIT.failure, /cannot list s3:\/\/adv-primary.*did not answer within 3s/);
            } finally {
                await silent.close();
            }
        }, 120_000);
    });

    describe("a scratch disk that is too small", () => {
        let dumpBytes: number;
        beforeAll(async () => {
            const object = (await rig.primary.getObject(PRIMARY_BUCKET, base.object))!;
            const zst = await runOk("age", ["--decrypt", "-i", rig.age.identityFile], { input: object });
            dumpBytes = (await runOk("zstd", ["-d", "-q", "-c"], { input: zst.stdoutBytes })).stdoutBytes.length;
        });

        it.each([
            ["smaller than the download", () => Math.floor(base.bytes / 4)],
            ["filling up while the dump is decompressed", () => Math.floor((base.bytes + dumpBytes) / 2)],
        ])(
            "%s: exit 1 naming the folder and the space needed, never 'corrupt' (exit 3)",
            async (_name, size) => {
                const disk = await mountSmallDisk(size());
                try {
                    const r = await runToolkit("fortress-restore", ["--backup", base.id, "--into", "no_room"], {
                        ...rig.env,
                        TMPDIR: disk.dir,
                    });
                    expectOneLineError(
                        r,
                        EXIT.failure,
                        new RegExp(
                            `not enough space in ${disk.dir}.*needs [\\d.]+ [KMG]iB \\(${dumpBytes} bytes\\).*TMPDIR`,
                        ),
                    );
                    expect(readdirSync(disk.dir)).toEqual([]);
                    expect(await rig.pg.databaseExists("no_room")).toBe(false);
                } finally {
                    await disk.unmount();
                }
            },
            60_000,
        );
    });

    describe("an archive cut short behind a manifest that matches it", () => {
        /** Uploads `base`'s archive cut to `keep(size)` bytes as a new backup whose manifest matches the new object. */
        const cutBackup = async (suffix: string, keep: (size: number) => number): Promise<string> => {
            const object = (await rig.primary.getObject(PRIMARY_BUCKET, base.object))!;
            const zst = await runOk("age", ["--decrypt", "-i", rig.age.identityFile], { input: object });
            const dump = (await runOk("zstd", ["-d", "-q", "-c"], { input: zst.stdoutBytes })).stdoutBytes;
            const cut = dump.subarray(0, keep(dump.length));
            const rezst = await runOk("zstd", ["-q", "-c"], { input: cut });
            const sealed = (await runOk("age", ["--encrypt", "-r", rig.age.recipient], { input: rezst.stdoutBytes }))
                .stdoutBytes;
            const sha = (await runOk("sha256sum", [], { input: sealed })).stdout.split(" ")[0]!;
            const id = `${base.id}-${suffix}`;
            const key = `${PREFIX}/${id}.dump.zst.age`;
            const manifest = { ...base, id, object: key, bytes: sealed.length, sha256: sha };
            for (const [server, bucket] of rig.regions) {
                await server.putObject(bucket, key, sealed);
                await server.putObject(bucket, `${PREFIX}/${id}.manifest.json`, JSON.stringify(manifest));
            }
            return id;
        };

        it.each([
            ["whole tables missing", "cut60", (n: number) => Math.floor(n * 0.6)],
            ["the last table's data ending early", "cutend", (n: number) => n - 3],
        ])(
            "%s: exit 3 before the target is touched",
            async (_name, suffix, keep) => {
                const id = await cutBackup(suffix, keep);
                await rig.pg.createDatabase(`cut_${suffix}`);
                const r = await runToolkit(
                    "fortress-restore",
                    ["--backup", id, "--target", rig.pg.url(`cut_${suffix}`)],
                    rig.env,
                );
                expectOneLineError(r, EXIT.integrity, /is not a complete pg_dump archive.*restore another backup/);
                expect(await userTables(rig.pg, `cut_${suffix}`)).toEqual([]);
                const into = await runToolkit(
                    "fortress-restore",
                    ["--backup", id, "--into", `cut_into_${suffix}`],
                    rig.env,
                );
                expectOneLineError(into, EXIT.integrity, /is not a complete pg_dump archive/);
                expect(await rig.pg.databaseExists(`cut_into_${suffix}`)).toBe(false);
                for (const [server, bucket] of rig.regions) {
                    await server.deleteObject(bucket, `${PREFIX}/${id}.manifest.json`);
                    await server.deleteObject(bucket, `${PREFIX}/${id}.dump.zst.age`);
                }
            },
            60_000,
        );
    });

    describe("targets", () => {
        it.each(["postgres", "template1", "template0", "app"])(
            "--into %s is refused with exit 2 and nothing is touched",
            async (name) => {
                const before = await userTables(rig.pg, name === "template0" ? "postgres" : name);
                const r = await runToolkit(
                    "fortress-restore",
                    ["--backup", base.id, "--into", name, "--force"],
                    rig.env,
                );
                expectOneLineError(r, EXIT.usage, new RegExp(`--into ${name}: .*a new database name`));
                expect(await userTables(rig.pg, name === "template0" ? "postgres" : name)).toEqual(before);
            },
        );

        it("--into the backup's own database name on another server setting is refused too", async () => {
            // DATABASE_URL points elsewhere, but the backup came from `app`.
            const r = await runToolkit("fortress-restore", ["--backup", base.id, "--into", base.database], {
                ...rig.env,
                DATABASE_URL: rig.pg.url("postgres"),
            });
            expectOneLineError(r, EXIT.usage, /--into app: .*the database this backup was taken from/);
        });

        it("a target with schemas, types and functions but no tables: refused without --force, restored with it", async () => {
            await rig.pg.createDatabase("typed");
            await rig.pg.psql(
                `
                CREATE SCHEMA reporting;
                CREATE TYPE proposal_action AS ENUM ('buy', 'sell', 'hold');
                CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
                CREATE FUNCTION reporting.answer() RETURNS int LANGUAGE sql AS 'SELECT 42';`,
                "typed",
            );
            const refused = await runToolkit(
                "fortress-restore",
                ["--backup", base.id, "--target", rig.pg.url("typed")],
                rig.env,
            );
            expectOneLineError(refused, EXIT.refused, /typed is not empty: no tables but \d+ other objects.*--force/);
            expect(await rig.pg.psql("SELECT reporting.answer();", "typed")).toBe("42");
            const forced = await runToolkit(
                "fortress-restore",
                ["--backup", base.id, "--target", rig.pg.url("typed"), "--force"],
                rig.env,
            );
            expect(forced.code, forced.stderr).toBe(EXIT.ok);
            expect(await databaseChecksums(rig.pg, "typed")).toEqual(await databaseChecksums(rig.pg, "app"));
            expect(await rig.pg.psql("SELECT reporting.answer();", "typed")).toBe("42"); // not in the backup: kept
        }, 60_000);
    });

    describe("failures after the rows are in", () => {
        it("ANALYZE fails: exit 1 saying the rows are restored and counted; the --into database is kept", async () => {
            const path = makeShimPath({
                wrappers: {
                    psql: `#!/usr/bin/env bash\nargs=()\nfor a in "$@"; do [[ $a == "ANALYZE;" ]] && a="ANALYZE no_such_table;"; args+=("$a"); done\nexec "${realPsql}" "\${args[@]}"\n`,
                },
            });
            const r = await runToolkit("fortress-restore", ["--backup", base.id, "--into", "analyze_failed"], {
                ...rig.env,
                PATH: path,
            });
            expectOneLineError(
                r,
                EXIT.failure,
                new RegExp(
                    `ANALYZE failed: .*no_such_table.*${base.id} is restored into analyze_failed and its row counts match the manifest.*kept.*ANALYZE`,
                ),
            );
            expect(await rig.pg.databaseExists("analyze_failed")).toBe(true);
            expect(await databaseChecksums(rig.pg, "analyze_failed")).toEqual(await databaseChecksums(rig.pg, "app"));
        }, 60_000);

        it("counting fails after the restore: exit 1 saying the rows are in but unverified; the database is kept", async () => {
            // The server ends the counting session (as a restart would).
            const path = makeShimPath({
                wrappers: {
                    psql: `#!/usr/bin/env bash\nsql=$(cat)\nif [[ $sql == *query_to_xml* ]]; then sql="SELECT pg_terminate_backend(pg_backend_pid());"; fi\nexec "${realPsql}" "$@" <<<"$sql"\n`,
                },
            });
            const r = await runToolkit(
                "fortress-restore",
                ["--backup", base.id, "--into", "count_failed", "--no-analyze"],
                { ...rig.env, PATH: path },
            );
            expectOneLineError(
                r,
                EXIT.failure,
                /counting rows failed: .*terminat.*restored into count_failed but not verified.*kept/,
            );
            expect(await rig.pg.databaseExists("count_failed")).toBe(true);
            expect(await databaseChecksums(rig.pg, "count_failed")).toEqual(await databaseChecksums(rig.pg, "app"));
        }, 60_000);
    });

    describe("selection", () => {
        it("--tables takes quoted names with spaces and quotes, and schema-qualified names", async () => {
            await rig.pg.createDatabase("names");
            const ddl = `
                CREATE SCHEMA audit;
                CREATE TABLE "Event Log" (id int PRIMARY KEY, note text);
                CREATE TABLE audit."Login ""Attempts""" (id int PRIMARY KEY, event_id int REFERENCES "Event Log"(id), at text);
                CREATE TABLE audit.plain (id int);`;
            await rig.pg.psql(
                `${ddl}
                INSERT INTO "Event Log" SELECT g, 'event ' || g FROM generate_series(1, 500) g;
                INSERT INTO audit."Login ""Attempts""" SELECT g, 1 + g % 500, 'at ' || g FROM generate_series(1, 800) g;
                INSERT INTO audit.plain SELECT generate_series(1, 10);`,
                "names",
            );
            const sums = await databaseChecksums(rig.pg, "names");
            const namesEnv = { ...rig.env, DATABASE_URL: rig.pg.url("names") };
            const id = await backupOk(namesEnv, ["--tag", "names"]);
            await rig.pg.psql(
                `DELETE FROM audit."Login ""Attempts""" WHERE id % 3 = 0; DELETE FROM "Event Log" WHERE id > 400 AND id NOT IN (SELECT event_id FROM audit."Login ""Attempts""");
                UPDATE "Event Log" SET note = 'corrupted'; DELETE FROM audit.plain;`,
                "names",
            );
            const r = await runToolkit(
                "fortress-restore",
                ["--backup", id, "--tables", ` "Event Log" , audit."Login ""Attempts""" `, "--force"],
                namesEnv,
            );
            expect(r.code, r.stderr).toBe(EXIT.ok);
            expect(r.stdout).toContain(`restored ${id} into names: 2 tables`);
            const now = await databaseChecksums(rig.pg, "names");
            expect(now['public."Event Log"']).toBe(sums['public."Event Log"']);
            expect(now['audit."Login ""Attempts"""']).toBe(sums['audit."Login ""Attempts"""']);
            expect(now["audit.plain"]).not.toBe(sums["audit.plain"]); // not selected: left as it is

            const unclosed = await runToolkit(
                "fortress-restore",
                ["--backup", id, "--tables", '"Event Log', "--force"],
                namesEnv,
            );
            expectOneLineError(unclosed, EXIT.usage, /--tables/);
        }, 60_000);

        it.each([
            [
                "missing",
                async (key: string) => rig.primary.deleteObject(PRIMARY_BUCKET, key),
                /backup object .* is missing/,
            ],
            [
                "mangled",
                async (key: string) => {
                    const body = Buffer.from((await rig.primary.getObject(PRIMARY_BUCKET, key))!);
                    body[body.length >> 1] ^= 0xff;
                    await rig.primary.putObject(PRIMARY_BUCKET, key, body);
                },
                /sha256 of .* but its manifest says/,
            ],
        ])(
            "--source auto falls back to the offsite copy when the primary's object is %s",
            async (_name, damage, reason) => {
                const id = await backupOk(rig.env, ["--tag", `fallback-${_name}`]);
                const m = await manifestOf(rig.primary, PRIMARY_BUCKET, id);
                await damage(m.object);
                const r = await runToolkit(
                    "fortress-restore",
                    ["--backup", id, "--into", `fallback_${_name}`],
                    rig.env,
                );
                expect(r.code, r.stderr).toBe(EXIT.ok);
                expect(r.stderr).toMatch(new RegExp(`warning: .*${reason.source}.*; using the offsite copy`));
                expect(r.stdout).toContain(`restored ${id} into fallback_${_name}`);
                const primaryOnly = await runToolkit(
                    "fortress-restore",
                    ["--backup", id, "--into", `fallback_p_${_name}`, "--source", "primary"],
                    rig.env,
                );
                expectOneLineError(primaryOnly, EXIT.integrity, reason);
            },
            60_000,
        );
    });

    describe("listing and status", () => {
        it("an unreadable manifest is reported beside the others, which are all still listed", async () => {
            const before = await runToolkit("fortress-backups", ["--json", "--limit", "0"], rig.env);
            expect(before.code, before.stderr).toBe(EXIT.ok);
            const readable = (JSON.parse(before.stdout) as Manifest[]).map((m) => m.id);
            const badId = "20991231T235959Z-garbled";
            await rig.primary.putObject(
                PRIMARY_BUCKET,
                `${PREFIX}/${badId}.manifest.json`,
                '{"format": "income-fortress-backup/1", "id": ',
            );
            try {
                const text = await runToolkit("fortress-backups", ["--limit", "0"], rig.env);
                expect(text.code, text.stderr).toBe(EXIT.ok);
                const lines = text.stdout.trim().split("\n").slice(1);
                expect(lines[0]).toMatch(new RegExp(`^  ${badId}\\s+UNREADABLE`));
                expect(lines.slice(1).map((l) => l.slice(2).split(/\s+/)[0])).toEqual(readable);
                expect(text.stderr).toMatch(
                    new RegExp(
                        `warning: ${badId}\\.manifest\\.json in s3://${PRIMARY_BUCKET}/${PREFIX} is not a readable manifest`,
                    ),
                );
                const json = await runToolkit("fortress-backups", ["--json", "--limit", "0"], rig.env);
                expect(json.code, json.stderr).toBe(EXIT.ok);
                expect((JSON.parse(json.stdout) as Manifest[]).map((m) => m.id)).toEqual(readable);
                expect(json.stderr).toMatch(/is not a readable manifest/);
                // --limit counts readable manifests: the newest good one is still there.
                const one = await runToolkit("fortress-backups", ["--json", "--limit", "1"], rig.env);
                expect((JSON.parse(one.stdout) as Manifest[]).map((m) => m.id)).toEqual(readable.slice(0, 1));
            } finally {
                await rig.primary.deleteObject(PRIMARY_BUCKET, `${PREFIX}/${badId}.manifest.json`);
            }
        });

        it("fortress-status treats a backup dated in the future as a problem, not as fresh", async () => {
            const saved = (await rig.primary.getObject(PRIMARY_BUCKET, `${PREFIX}/latest.json`))!;
            const latest = JSON.parse(saved.toString()) as Manifest;
            const future = new Date(Date.now() + 86_400_000).toISOString();
            await rig.primary.putObject(
                PRIMARY_BUCKET,
                `${PREFIX}/latest.json`,
                JSON.stringify({ ...latest, createdAt: future }),
            );
            try {
                const r = await runToolkit("fortress-status", [], rig.env);
                expect(r.code).toBe(EXIT.failure);
                expect(r.stdout).toMatch(
                    new RegExp(`^primary .*FAIL latest ${latest.id} is dated ${future}, in the future`, "m"),
                );
                expect(r.stdout).toMatch(/^offsite .*OK latest/m);
                expect(errorLines(r.stderr)).toHaveLength(1);
                expect(lastLine(r.stderr)).toMatch(/in the future.*clock/);
            } finally {
                await rig.primary.putObject(PRIMARY_BUCKET, `${PREFIX}/latest.json`, saved);
            }
        });
    });
});
