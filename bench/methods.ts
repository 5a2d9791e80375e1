// The three ways of getting a database out and back in that the benchmark compares, run
// on the same server, the same data and the same storage:
//
//   plan     the runbook's scripts/backup_database.sh and its Phase 3 restore: `pg_dump |
//            gzip` to a local file, upload (rclone rcat to the S3 server, standing in for
//            `aws s3 cp`); download, `gunzip -c | psql`, then the runbook's `SELECT
//            COUNT(*)` checks. Two liberties, both in the plan's favour: the script writes
//            the .sql and gzips it afterwards, and Phase 3 gunzips to disk before psql reads
//            it; we stream both (as the monthly validation script does), which can only be
//            faster. psql runs as the runbook types it (`psql $DATABASE_URL < latest.sql`),
//            so ON_ERROR_STOP is off: psql prints errors, carries on and exits 0. We count
//            its ERROR lines as a check, and the verification below catches lost data.
//   toolkit  fortress-backup / fortress-restore from cloud-init/toolkit, as shipped and as
//            the droplet runs them: age encryption on, the primary and the offsite bucket,
//            restore with its integrity checks (size, sha256, decrypt, archive, row counts
//            against the manifest) and ANALYZE.
//   floor    bare `pg_restore -j N` from an uncompressed custom-format dump on local disk:
//            how fast this server can ingest the data at all. Its "backup" is the
//            `pg_dump -Fc -Z0` to local disk that makes that file.
//
// Every timed step starts after a CHECKPOINT and a sync so one step's dirty pages are not
// written back on another's clock, and every restore goes into a new empty database. Each restore is
// then checked outside the clock (row counts, indexes, foreign keys, sequences against the
// source) so that a method that "restores" fast by losing data cannot win.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import type { PostgresCluster } from "../harness/postgres";
import { cleanEnv, run, type RunResult } from "../harness/process";
import type { S3Server } from "../harness/s3";
import { TOOLKIT_BIN, exactCounts, makeShimPath, sequenceValues } from "../harness/toolkit";

export type MethodName = "plan" | "toolkit" | "floor";
export const METHOD_NAMES: readonly MethodName[] = ["plan", "toolkit", "floor"];

/** One measured step of a method, in the order it ran (or a sub-step read from the tool's log). */
export interface Phase {
    name: string;
    seconds: number;
}

/** An integrity check, as the method itself did it (part of its timed restore). */
export interface MethodCheck {
    name: string;
    ok: boolean;
    detail: string;
}

/** Figures for one method. */
export interface MethodResult {
    method: MethodName;
    /** What was run, in one line. */
    description: string;
    backup: { seconds: number; phases: Phase[] };
    /** Bytes of the stored backup object (one copy). */
    bytes: number;
    /** How many copies the method stores (the toolkit writes the primary and the offsite bucket). */
    copies: number;
    restore: { seconds: number; phases: Phase[]; checks: MethodCheck[] };
    /** Backup plus restore: the whole data path from the live database to a restored one. */
    endToEndSeconds: number;
    /** The benchmark's own check of the restored database (not timed). */
    verified: { ok: boolean; problems: string[] };
    /** With --repeat: every run's figures; the figures above are their medians. */
    runs?: Array<{ backupSeconds: number; restoreSeconds: number; bytes: number; endToEndSeconds: number }>;
}

/** Everything the methods run against. */
export interface BenchRig {
    pg: PostgresCluster;
    /** Source database (the generated dataset). */
    source: string;
    /** Scratch folder for dumps and downloads (removed by the caller). */
    work: string;
    /** The S3 server standing in for the primary region, and its bucket. */
    primary: S3Server;
    primaryBucket: string;
    /** The S3 server standing in for the offsite vault, and its bucket (toolkit only). */
    offsite?: S3Server;
    offsiteBucket?: string;
    /** Object key prefix, e.g. postgresql/bench. */
    prefix: string;
    /** age identity file and its recipient (the toolkit encrypts, as deployed). */
    age: { identityFile: string; recipient: string };
    /** Parallel pg_restore jobs for the toolkit and the floor. */
    jobs: number;
    /** Environment of toolkit runs (from harness/toolkit toolkitEnv). */
    toolkitEnv: NodeJS.ProcessEnv;
    /** Folder of the fortress-* commands (default: this checkout's cloud-init/toolkit/bin). */
    toolkitBin?: string;
    /** Progress messages. */
    log: (message: string) => void;
}

/** Upload part size for every method: the toolkit's shipped default, so the transport is equal. */
export const S3_CHUNK_SIZE = "16M";

const seconds = (ms: number) => Math.round(ms) / 1000;
/** A sum of timings, kept to the millisecond (no 14.149000000000001 in the report). */
const add = (...s: number[]) => Math.round(s.reduce((a, b) => a + b, 0) * 1000) / 1000;

/** Runs a bash script (errexit, pipefail) and throws with its stderr unless it exits 0. */
async function bash(
    script: string,
    env: NodeJS.ProcessEnv,
    what: string,
    timeoutMs = 6 * 3600_000,
): Promise<RunResult> {
    const r = await run("bash", ["-c", `set -euo pipefail\n${script}`], { env, timeoutMs });
    if (r.code !== 0)
        throw new Error(
            `${what} failed (exit ${r.code ?? r.signal}): ${r.stderr.trim().split("\n").slice(-5).join(" | ")}`,
        );
    return r;
}

/** Environment for the plan's and the floor's shell steps: libpq and an rclone remote `s3:`. */
function shellEnv(rig: BenchRig): NodeJS.ProcessEnv {
    return cleanEnv({
        ...rig.pg.clientEnv(rig.source),
        ...rig.primary.rcloneEnv("s3"),
        RCLONE_CONFIG_S3_CHUNK_SIZE: S3_CHUNK_SIZE,
        DUMP_DIR: rig.work,
    });
}

/**
 * Before every timed step: CHECKPOINT, then sync, so that neither the server's dirty
 * buffers nor the page cache's dirty files (the previous step's dump, the S3 server's
 * objects) are written back on the next step's clock.
 */
async function checkpoint(rig: BenchRig): Promise<void> {
    await rig.pg.psql("CHECKPOINT;");
    await run("sync", []);
}

/** Times one step; the result is in seconds. */
async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
    const t0 = performance.now();
    const value = await fn();
    return { value, seconds: seconds(performance.now() - t0) };
}

async function freshDatabase(rig: BenchRig, name: string): Promise<void> {
    await rig.pg.dropDatabase(name);
    await rig.pg.createDatabase(name);
}

/** Catalog facts compared between the source and a restore. */
async function catalogFacts(pg: PostgresCluster, database: string): Promise<Record<string, string>> {
    const out = await pg.psql(
        `SELECT 'indexes=' || (SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public')
         || E'\\nforeign keys=' || (SELECT count(*) FROM pg_constraint WHERE contype = 'f')
         || E'\\nvalid indexes=' || (SELECT count(*) FROM pg_index WHERE indisvalid)
         || E'\\ntypes=' || (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'public' AND t.typtype = 'e');`,
        database,
    );
    return Object.fromEntries(out.split("\n").map((l) => l.split("=") as [string, string]));
}

/** Compares a restored database with the source: counts, catalog, sequences. Not timed. */
export async function verifyRestore(
    pg: PostgresCluster,
    source: string,
    restored: string,
): Promise<{ ok: boolean; problems: string[] }> {
    const problems: string[] = [];
    const [wantCounts, gotCounts, wantCat, gotCat, wantSeq, gotSeq] = await Promise.all([
        exactCounts(pg, source),
        exactCounts(pg, restored),
        catalogFacts(pg, source),
        catalogFacts(pg, restored),
        sequenceValues(pg, source),
        sequenceValues(pg, restored),
    ]);
    for (const [table, n] of Object.entries(wantCounts)) {
        if (gotCounts[table] !== n) problems.push(`${table}: ${gotCounts[table] ?? "missing"} rows, source has ${n}`);
    }
    for (const [fact, v] of Object.entries(wantCat)) {
        if (gotCat[fact] !== v) problems.push(`${fact}: ${gotCat[fact] ?? "missing"}, source has ${v}`);
    }
    for (const [seq, v] of Object.entries(wantSeq)) {
        if (gotSeq[seq] !== v) problems.push(`sequence ${seq}: ${gotSeq[seq] ?? "missing"}, source has ${v}`);
    }
    return { ok: problems.length === 0, problems };
}

/** Splits a tool's timestamped stderr lines into phases: each line starts one, the exit ends the last. */
export function phasesFromLog(lines: Array<{ at: number; text: string }>, startedAt: number, endedAt: number): Phase[] {
    const phases: Phase[] = [];
    let name = "start";
    let since = startedAt;
    for (const line of lines) {
        const text = line.text.replace(/^fortress-[a-z]+: /, "").trim();
        if (!text) continue;
        phases.push({ name, seconds: seconds(line.at - since) });
        name = text.length > 90 ? `${text.slice(0, 87)}...` : text;
        since = line.at;
    }
    phases.push({ name, seconds: seconds(endedAt - since) });
    return phases.filter((p, i) => i > 0 || p.seconds > 0);
}

/** Runs a toolkit command, timing it and stamping each stderr line as it arrives. */
async function timedToolkit(rig: BenchRig, command: "fortress-backup" | "fortress-restore", args: string[]) {
    const lines: Array<{ at: number; text: string }> = [];
    let partial = "";
    const started = performance.now();
    const r = await run(join(rig.toolkitBin ?? TOOLKIT_BIN, command), args, {
        env: rig.toolkitEnv,
        timeoutMs: 6 * 3600_000,
        onStderr: (chunk) => {
            const at = performance.now();
            partial += chunk;
            const parts = partial.split("\n");
            partial = parts.pop() ?? "";
            for (const text of parts) lines.push({ at, text });
        },
    });
    const ended = performance.now();
    if (r.code !== 0)
        throw new Error(
            `${command} ${args.join(" ")} exited ${r.code}: ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`,
        );
    return { result: r, seconds: seconds(ended - started), phases: phasesFromLog(lines, started, ended) };
}

// ---------------------------------------------------------------------------------- plan

/** Tables the runbook counts after a restore (Database Recovery, option B, step 5). */
export const PLAN_COUNT_TABLES = ["users", "portfolios", "proposals"] as const;

async function runPlan(rig: BenchRig): Promise<MethodResult> {
    const env = shellEnv(rig);
    const key = `${rig.prefix}/income-platform-bench.sql.gz`;
    const local = join(rig.work, "plan-backup.sql.gz");
    const target = "bench_restore_plan";

    // Backup: scripts/backup_database.sh, streamed (pg_dump | gzip) and then uploaded.
    rig.log("plan: pg_dump | gzip, then upload");
    await checkpoint(rig);
    const dump = await timed(() =>
        bash(
            `pg_dump --no-password "$PGDATABASE" | gzip > "$DUMP_DIR/plan-backup.sql.gz"`,
            env,
            "plan backup (pg_dump | gzip)",
        ),
    );
    const upload = await timed(() =>
        bash(
            `rclone --config /dev/null rcat "s3:${rig.primaryBucket}/${key}" < "$DUMP_DIR/plan-backup.sql.gz"`,
            env,
            "plan upload",
        ),
    );
    const bytes = statSync(local).size;
    rmSync(local);

    // Restore: Phase 3 of Complete Infrastructure Recovery into an empty database.
    rig.log("plan: download, gunzip -c | psql, SELECT COUNT(*)");
    await freshDatabase(rig, target);
    await checkpoint(rig);
    const targetEnv = cleanEnv({ ...env, PGDATABASE: target });
    const download = await timed(() =>
        bash(
            `rclone --config /dev/null copyto "s3:${rig.primaryBucket}/${key}" "$DUMP_DIR/latest.sql.gz"`,
            targetEnv,
            "plan download",
        ),
    );
    // The runbook runs `psql $DATABASE_URL < latest.sql`: ON_ERROR_STOP is off, so psql reports
    // errors and carries on, and exits 0. We run it the same way and count the ERROR lines.
    const load = await timed(() =>
        run(
            "bash",
            [
                "-c",
                `set -o pipefail; gunzip -c "$DUMP_DIR/latest.sql.gz" | psql -X --no-password -d "$PGDATABASE" >/dev/null`,
            ],
            { env: targetEnv, timeoutMs: 6 * 3600_000 },
        ),
    );
    if (load.value.code !== 0)
        throw new Error(
            `plan restore (gunzip -c | psql) exited ${load.value.code}: ${load.value.stderr.trim().slice(-400)}`,
        );
    const errors = load.value.stderr.split("\n").filter((l) => /\bERROR:/.test(l));
    const checks: MethodCheck[] = [];
    const counts = await timed(async () => {
        for (const table of PLAN_COUNT_TABLES) {
            const r = await run(
                "psql",
                ["-X", "-A", "-t", "--no-password", "-d", target, "-c", `SELECT COUNT(*) FROM ${table};`],
                { env: targetEnv },
            );
            checks.push({
                name: `SELECT COUNT(*) FROM ${table}`,
                ok: r.code === 0,
                detail:
                    r.code === 0 ? `${r.stdout.trim()} rows (printed, not compared with anything)` : r.stderr.trim(),
            });
        }
    });
    checks.unshift({
        name: "psql reported no errors",
        ok: errors.length === 0,
        detail: errors.length ? `${errors.length} ERROR line(s), e.g. ${errors[0]}` : "none",
    });
    rmSync(join(rig.work, "latest.sql.gz"), { force: true });

    const verified = await verifyRestore(rig.pg, rig.source, target);
    await rig.pg.dropDatabase(target);
    const backupSeconds = add(dump.seconds, upload.seconds);
    const restoreSeconds = add(download.seconds, load.seconds, counts.seconds);
    return {
        method: "plan",
        description:
            "pg_dump | gzip (level 6) > file; rclone rcat upload | rclone copyto download; gunzip -c | psql (ON_ERROR_STOP off); SELECT COUNT(*) x3",
        backup: {
            seconds: backupSeconds,
            phases: [
                { name: "pg_dump | gzip", seconds: dump.seconds },
                { name: "upload", seconds: upload.seconds },
            ],
        },
        bytes,
        copies: 1,
        restore: {
            seconds: restoreSeconds,
            phases: [
                { name: "download", seconds: download.seconds },
                { name: "gunzip -c | psql", seconds: load.seconds },
                { name: "SELECT COUNT(*) x3", seconds: counts.seconds },
            ],
            checks,
        },
        endToEndSeconds: add(backupSeconds, restoreSeconds),
        verified,
    };
}

// ---------------------------------------------------------------------------------- toolkit

interface ToolkitManifest {
    id: string;
    bytes: number;
    tables: Record<string, number>;
}

async function runToolkitMethod(rig: BenchRig): Promise<MethodResult> {
    const target = "bench_restore_toolkit";
    rig.log(`toolkit: fortress-backup (age, ${rig.offsite ? "primary + offsite buckets" : "primary bucket"})`);
    await checkpoint(rig);
    const backup = await timedToolkit(rig, "fortress-backup", ["--tag", "bench"]);
    const id = backup.result.stdout.trim();
    const manifestBody = await rig.primary.getObject(rig.primaryBucket, `${rig.prefix}/${id}.manifest.json`);
    if (!manifestBody)
        throw new Error(`fortress-backup printed ${id} but ${rig.prefix}/${id}.manifest.json is not in the bucket`);
    const manifest = JSON.parse(manifestBody.toString("utf8")) as ToolkitManifest;

    rig.log(`toolkit: fortress-restore --jobs ${rig.jobs} (download, sha256, decrypt, pg_restore, ANALYZE, counts)`);
    await freshDatabase(rig, target);
    await checkpoint(rig);
    const restore = await timedToolkit(rig, "fortress-restore", [
        "--backup",
        id,
        "--target",
        rig.pg.url(target),
        "--jobs",
        String(rig.jobs),
    ]);
    const summary = restore.result.stdout.trim();
    const checks: MethodCheck[] = [
        {
            name: "size and sha256 against the manifest, before the target is touched",
            ok: true,
            detail: "passed (fortress-restore exits 3 otherwise)",
        },
        {
            name: "decrypt and decompress completely, archive readable",
            ok: true,
            detail: "passed (fortress-restore exits 3 otherwise)",
        },
        {
            name: "exact row count of every table against the manifest",
            ok: /counts match the manifest/.test(summary),
            detail: summary,
        },
    ];
    const verified = await verifyRestore(rig.pg, rig.source, target);
    await rig.pg.dropDatabase(target);
    return {
        method: "toolkit",
        description: `fortress-backup (pg_dump -Fc | zstd -T0 | age | ${rig.offsite ? "2 buckets" : "1 bucket"}, counts in the snapshot); fortress-restore --jobs ${rig.jobs} (checks, pg_restore, ANALYZE, counts)`,
        backup: { seconds: backup.seconds, phases: backup.phases },
        bytes: manifest.bytes,
        copies: rig.offsite ? 2 : 1,
        restore: { seconds: restore.seconds, phases: restore.phases, checks },
        endToEndSeconds: add(backup.seconds, restore.seconds),
        verified,
    };
}

// ---------------------------------------------------------------------------------- floor

async function runFloor(rig: BenchRig): Promise<MethodResult> {
    const env = shellEnv(rig);
    const target = "bench_restore_floor";
    const file = join(rig.work, "floor.dump");
    rig.log("floor: pg_dump -Fc -Z0 to local disk");
    await checkpoint(rig);
    const dump = await timed(() =>
        bash(
            `pg_dump --no-password --format=custom --compress=0 --file="$DUMP_DIR/floor.dump" "$PGDATABASE"`,
            env,
            "floor pg_dump",
        ),
    );
    const bytes = statSync(file).size;

    rig.log(`floor: pg_restore -j ${rig.jobs}`);
    await freshDatabase(rig, target);
    await checkpoint(rig);
    const restore = await timed(() =>
        bash(
            `pg_restore --no-password --jobs=${rig.jobs} --dbname="${target}" "$DUMP_DIR/floor.dump"`,
            env,
            "floor pg_restore",
        ),
    );
    rmSync(file);
    const verified = await verifyRestore(rig.pg, rig.source, target);
    await rig.pg.dropDatabase(target);
    return {
        method: "floor",
        description: `pg_dump -Fc -Z0 to local disk; pg_restore -j ${rig.jobs} from it (no transfer, no checks)`,
        backup: { seconds: dump.seconds, phases: [{ name: "pg_dump -Fc -Z0 > file", seconds: dump.seconds }] },
        bytes,
        copies: 1,
        restore: {
            seconds: restore.seconds,
            phases: [{ name: `pg_restore -j ${rig.jobs}`, seconds: restore.seconds }],
            checks: [],
        },
        endToEndSeconds: add(dump.seconds, restore.seconds),
        verified,
    };
}

/** Runs one method end to end: backup, restore into a new database, verification (not timed). */
export function runMethod(rig: BenchRig, method: MethodName): Promise<MethodResult> {
    switch (method) {
        case "plan":
            return runPlan(rig);
        case "toolkit":
            return runToolkitMethod(rig);
        case "floor":
            return runFloor(rig);
    }
}

// ---------------------------------------------------------------------------------- profile

/** CPU-seconds spent during one toolkit command, by process, against what the cores offered. */
export interface CpuProfile {
    command: string;
    wallSeconds: number;
    /** CPU-seconds the whole machine was busy (every process, ours or not) during the run. */
    machineCpuSeconds: number;
    /** Cores times wall time: what was there to spend. */
    availableCpuSeconds: number;
    /** CPU-seconds by process: each data-path tool, the PostgreSQL backends, each S3 server. */
    byProcess: Record<string, number>;
}

/** What `--profile` adds to the report. */
export interface ToolkitProfile {
    /** Each stage run alone, on the same data, with the toolkit's own settings. */
    backup: Phase[];
    restore: Phase[];
    /** One more fortress-backup and fortress-restore with every tool's CPU time recorded. */
    cpu: CpuProfile[];
}

/** The tools on the data path whose CPU time the profile records. */
const PROFILED_TOOLS = [
    "pg_dump",
    "pg_restore",
    "psql",
    "zstd",
    "age",
    "rclone",
    "tee",
    "sha256sum",
    "openssl",
    "wc",
] as const;

/** utime+stime (+ reaped children's with `children`) of a process, in seconds; 0 if it is gone. */
function processCpu(pid: number, children: boolean): number {
    try {
        const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
        const ticks = Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0);
        return ticks / 100; // USER_HZ is 100 on Linux
    } catch {
        return 0;
    }
}

/** The process whose command line holds `arg` as one argument (the S3 server of a directory), or 0. */
function pidWithArgument(arg: string): number {
    for (const entry of readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            if (readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").includes(arg)) return Number(entry);
        } catch {
            // the process ended meanwhile
        }
    }
    return 0;
}

/** CPU-seconds the machine has been busy since boot (all but idle and iowait). */
function machineCpu(): number {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / 100;
}

/**
 * Runs fortress-backup and fortress-restore once more with each data-path tool wrapped so
 * that its CPU time is logged (bash `times` after the real command), and reads the CPU the
 * PostgreSQL backends (reaped by the postmaster) and the S3 servers spent meanwhile. In a
 * pipeline the stages overlap, so this, not the stages run alone, says what the cores did.
 */
async function cpuProfile(rig: BenchRig): Promise<CpuProfile[]> {
    const log = join(rig.work, "cpu.log");
    const wrappers: Record<string, string> = {};
    for (const tool of PROFILED_TOOLS) {
        const real = (await run("bash", ["-c", `command -v ${tool} || true`])).stdout.trim();
        if (!real) continue;
        // bash's `time` keyword writes one line (one append) to the log; the tool keeps the
        // real stderr on fd 3. The wrapper exits with the tool's status.
        wrappers[tool] =
            `#!/usr/bin/env bash\nexec 3>&2\nTIMEFORMAT='${tool} %U %S'\n{ time "${real}" "$@" 2>&3 3>&- ; } 2>>"${log}"\n`;
    }
    const env = { ...rig.toolkitEnv, PATH: makeShimPath({ wrappers }) };
    const postmaster = Number(readFileSync(join(rig.pg.dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
    const servers = [rig.primary, ...(rig.offsite ? [rig.offsite] : [])];
    const serverPids = servers.map((srv) => pidWithArgument(srv.directory));
    const target = "bench_profile_cpu";
    const out: CpuProfile[] = [];
    let id = "";
    for (const command of ["fortress-backup", "fortress-restore"] as const) {
        if (command === "fortress-restore") await freshDatabase(rig, target);
        await checkpoint(rig);
        writeFileSync(log, "");
        const pg0 = processCpu(postmaster, true);
        const s30 = serverPids.map((p) => processCpu(p, false));
        const m0 = machineCpu();
        const t0 = performance.now();
        const args =
            command === "fortress-backup"
                ? ["--tag", "cpu"]
                : ["--backup", id, "--target", rig.pg.url(target), "--jobs", String(rig.jobs)];
        const r = await run(join(rig.toolkitBin ?? TOOLKIT_BIN, command), args, { env, timeoutMs: 6 * 3600_000 });
        const wall = (performance.now() - t0) / 1000;
        if (r.code !== 0) throw new Error(`profile: ${command} exited ${r.code}: ${r.stderr.trim().split("\n").pop()}`);
        if (command === "fortress-backup") id = r.stdout.trim();
        const byProcess: Record<string, number> = { "postgres backends": processCpu(postmaster, true) - pg0 };
        servers.forEach((srv, i) => {
            byProcess[`s3 server (${srv === rig.primary ? "primary" : "offsite"})`] =
                processCpu(serverPids[i], false) - s30[i];
        });
        for (const line of readFileSync(log, "utf8").split("\n").filter(Boolean)) {
            const [tool, user, sys] = line.split(" ");
            if (Number.isFinite(Number(user)) && Number.isFinite(Number(sys)))
                byProcess[tool] = (byProcess[tool] ?? 0) + Number(user) + Number(sys);
        }
        for (const k of Object.keys(byProcess)) byProcess[k] = Math.round(byProcess[k] * 100) / 100;
        out.push({
            command,
            wallSeconds: Math.round(wall * 100) / 100,
            machineCpuSeconds: Math.round((machineCpu() - m0) * 100) / 100,
            availableCpuSeconds: Math.round(wall * cpus().length * 100) / 100,
            byProcess,
        });
        rig.log(`profile: ${command} CPU: ${JSON.stringify(out[out.length - 1])}`);
    }
    await rig.pg.dropDatabase(target);
    return out;
}

/**
 * Where the toolkit's time goes: each stage of its data path run alone, one after the
 * other, with the toolkit's own settings (its default zstd level, its sha256 helper, its
 * row-count SQL), then one backup and restore with the CPU time of every process recorded.
 */
export async function profileToolkit(rig: BenchRig): Promise<ToolkitProfile> {
    const dir = join(rig.work, "profile");
    mkdirSync(dir, { recursive: true });
    const bin = rig.toolkitBin ?? TOOLKIT_BIN;
    const env = cleanEnv({
        ...shellEnv(rig),
        P: dir,
        AGE_RECIPIENT: rig.age.recipient,
        AGE_IDENTITY: rig.age.identityFile,
        TOOLKIT_LIB: join(bin, "../lib/income-fortress/common.sh"),
        SOURCE_URL: rig.pg.url(rig.source, false),
        JOBS: String(rig.jobs),
    });
    // fortress-backup's default zstd level, read from the script so the profile follows it.
    const level = /BACKUP_ZSTD_LEVEL:-(\d+)/.exec(readFileSync(join(bin, "fortress-backup"), "utf8"))?.[1] ?? "3";
    const stage = async (name: string, script: string): Promise<Phase> => {
        await checkpoint(rig);
        const t = await timed(() => bash(script, env, `profile: ${name}`));
        rig.log(`profile: ${name}: ${t.seconds.toFixed(2)} s`);
        return { name, seconds: t.seconds };
    };
    // The toolkit's own helpers from common.sh: its row-count SQL and its sha256 command.
    const lib = `PROG=bench WORK_DIR="$P"; source "$TOOLKIT_LIB"`;
    const counts = (url: string) => `${lib}; use_database_url "${url}"; table_counts "$DB_URL" >/dev/null`;
    const sha = (file: string) =>
        `${lib}; if declare -F sha256_stdin >/dev/null; then sha256_stdin < "${file}"; else sha256sum < "${file}"; fi >/dev/null`;
    const key = `${rig.prefix}/profile.dump.zst.age`;
    const backup = [
        await stage(
            "pg_dump -Fc -Z0 > file",
            `pg_dump --no-password --format=custom --compress=0 --file="$P/dump" "$PGDATABASE"`,
        ),
        await stage("row counts (toolkit SQL)", counts("$SOURCE_URL")),
        await stage(`zstd -T0 -${level}`, `zstd -q -T0 -${level} -c "$P/dump" > "$P/dump.zst"`),
        await stage("age --encrypt", `age --encrypt -r "$AGE_RECIPIENT" < "$P/dump.zst" > "$P/dump.zst.age"`),
        await stage("sha256 (toolkit helper)", sha("$P/dump.zst.age")),
        await stage(
            "upload (rclone rcat --ignore-checksum, 1 bucket)",
            `rclone --config /dev/null --ignore-checksum rcat "s3:${rig.primaryBucket}/${key}" < "$P/dump.zst.age"`,
        ),
    ];
    rmSync(join(dir, "dump.zst"));
    const target = "bench_profile_restore";
    await freshDatabase(rig, target);
    const targetUrl = rig.pg.url(target, false);
    const restoreArgs = (db: string) =>
        `--no-password --exit-on-error --no-owner --no-acl --jobs="$JOBS" --dbname="${db}"`;
    // The toolkit's archive went through a pipe, so pg_dump could not go back and write the
    // data offsets into its TOC; the floor's (pg_dump --file) has them. Without them,
    // pg_restore -j has no sizes to schedule the largest table first and seeks its way
    // through the data block by block (one block per row with -Z0). Both are timed here on
    // the same data.
    const offsetsTarget = "bench_profile_offsets";
    await freshDatabase(rig, offsetsTarget);
    const restore = [
        await stage(
            `pg_restore -j ${rig.jobs} of the same data written by pg_dump --file (with data offsets, as the floor's)`,
            `pg_restore ${restoreArgs(offsetsTarget)} "$P/dump"`,
        ),
        await stage(
            "download (rclone cat)",
            `rclone --config /dev/null cat "s3:${rig.primaryBucket}/${key}" > "$P/object"`,
        ),
        await stage("sha256 (toolkit helper)", sha("$P/object")),
        await stage("age --decrypt", `age --decrypt -i "$AGE_IDENTITY" < "$P/object" > "$P/object.zst"`),
        await stage("zstd -d > file", `zstd -q -d -c "$P/object.zst" > "$P/restored.dump"`),
        await stage("pg_restore --list", `pg_restore --list "$P/restored.dump" >/dev/null`),
        await stage(
            `pg_restore -j ${rig.jobs} --no-owner --no-acl (streamed archive, no data offsets)`,
            `pg_restore ${restoreArgs(target)} "$P/restored.dump"`,
        ),
        // As fortress-restore runs them: ANALYZE beside the counts, which run without
        // parallel workers then.
        await stage(
            "ANALYZE beside row counts (toolkit SQL, no parallel workers)",
            `psql -X -q --no-password -d "${target}" -c 'ANALYZE;' & (export PGOPTIONS="-c max_parallel_workers_per_gather=0"; ${counts(targetUrl)}); wait $!`,
        ),
    ];
    await rig.pg.dropDatabase(target);
    await rig.pg.dropDatabase(offsetsTarget);
    await rig.primary.deleteObject(rig.primaryBucket, key);
    rmSync(dir, { recursive: true, force: true });
    return { backup, restore, cpu: await cpuProfile(rig) };
}
