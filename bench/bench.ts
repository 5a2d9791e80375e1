// `npm run bench`: the backup/restore data path of the plan, of our toolkit, and of the
// server's ingest floor, measured side by side on one throwaway PostgreSQL cluster and one
// loopback S3 server, on the same generated dataset. Prints a table and writes
// reports/bench-<timestamp>.json (and .md). See bench/methods.ts for what each method runs.
import { cpus, loadavg, totalmem, release, platform } from "node:os";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { startPostgres, type PostgresCluster } from "../harness/postgres";
import { makeTempDir, run, usePostgres } from "../harness/process";
import { startS3Server, type S3Server } from "../harness/s3";
import { createAgeIdentity, removeToolkitScratch, storageSettings, toolkitEnv } from "../harness/toolkit";
import {
    EXIT,
    eachFlag,
    onInterrupt,
    parseCommandLine,
    printHelp,
    runMain,
    signalExitCode,
    stderrSink,
} from "../tools/cli";
import { generateDataset } from "./dataset";
import { type BenchRig, METHOD_NAMES, type MethodName, type MethodResult, profileToolkit, runMethod } from "./methods";
import { type BenchInput, type MachineInfo, buildReport, combineRuns, renderMarkdown, renderTable } from "./report";
import { formatBytes, parseSize } from "./units";

const PROG = "bench";

export const USAGE = `Usage: npm run bench -- [--quick] [--size SIZE] [--jobs N] [--out FILE]
                        [--repeat N] [--methods plan,toolkit,floor] [--no-offsite] [--profile]
                        [--toolkit-dir DIR] [--pg MAJOR]

Measures backup time, stored bytes, restore time (integrity checks included) and end-to-end
time of three methods on a generated dataset, on a throwaway PostgreSQL cluster and a
loopback S3 server:
  plan     the runbook: pg_dump | gzip, upload; download, gunzip -c | psql, SELECT COUNT(*)
  toolkit  fortress-backup / fortress-restore as shipped (age, two buckets, all checks)
  floor    pg_restore -j N from an uncompressed custom dump on local disk (ingest limit)

Options:
  --size SIZE        dataset size on disk, e.g. 1GB, 300MB, 512MiB (default 1GB)
  --quick            a 100 MB dataset (CI); --size still wins if given
  --jobs N           pg_restore jobs for the toolkit and the floor (default: CPU count)
  --out FILE         JSON report path (default reports/bench-<timestamp>.json); the
                     Markdown table is written beside it with the extension .md
  --repeat N         run every method N times, in rounds, and report the medians (default 1;
                     timings on a shared VM vary by 10-20 %, so use 3 or more for figures
                     you quote)
  --methods LIST     run only these methods (default plan,toolkit,floor)
  --no-offsite       toolkit writes the primary bucket only (default: primary and offsite,
                     as the droplet does)
  --profile          also run each toolkit stage alone, to show where the time goes
  --toolkit-dir DIR  run the fortress-* commands from DIR (a bin/ folder beside its
                     lib/income-fortress/), e.g. another checkout's, to compare a change
  --pg MAJOR         PostgreSQL major of the server and of every client tool, e.g. 17
                     (production's) or 15 (default: FORTRESS_TEST_PG, else the newest
                     installed: 17 once bash tools/setup has built it)
  -h, --help         show this help

Needs PostgreSQL server and client binaries, rclone, age, zstd, gzip and jq (bash tools/setup
installs them, PostgreSQL 17 included). Runs as root too: Debian's server then runs as nobody,
17's chrooted in .tools/pg17-root. Disk: about 3x the dataset size in TMPDIR.`;

/** Parsed command line of `npm run bench`. */
export interface BenchOptions {
    sizeBytes: number;
    quick: boolean;
    jobs: number;
    repeat: number;
    out?: string;
    methods: MethodName[];
    offsite: boolean;
    profile: boolean;
    toolkitDir?: string;
    /** PostgreSQL major to run (server and clients); undefined: the harness's selected one. */
    pg?: string;
    help: boolean;
}

export const DEFAULT_SIZE = "1GB";
export const QUICK_SIZE = "100MB";

/** Parses the command line; throws a one-line error naming the bad argument. */
export function parseBenchArgs(argv: readonly string[], cores = cpus().length): BenchOptions {
    const o: BenchOptions = {
        sizeBytes: 0,
        quick: false,
        jobs: cores,
        repeat: 1,
        methods: [...METHOD_NAMES],
        offsite: true,
        profile: false,
        help: false,
    };
    let size: string | undefined;
    o.help = eachFlag(argv, (flag, take) => {
        switch (flag) {
            case "--quick":
                o.quick = true;
                break;
            case "--size":
                size = take();
                break;
            case "--jobs": {
                const v = take();
                if (!/^[1-9]\d{0,3}$/.test(v)) throw new Error(`--jobs must be a positive whole number, not '${v}'`);
                o.jobs = Number(v);
                break;
            }
            case "--repeat": {
                const v = take();
                if (!/^[1-9]\d?$/.test(v)) throw new Error(`--repeat must be a whole number from 1 to 99, not '${v}'`);
                o.repeat = Number(v);
                break;
            }
            case "--out":
                o.out = take();
                break;
            case "--methods": {
                const list = take()
                    .split(",")
                    .map((s) => s.trim())
                    .filter(Boolean);
                const bad = list.filter((m) => !METHOD_NAMES.includes(m as MethodName));
                if (bad.length || list.length === 0)
                    throw new Error(
                        `--methods takes a comma list of ${METHOD_NAMES.join(", ")}; '${bad.join(",") || "(empty)"}' is not one`,
                    );
                o.methods = METHOD_NAMES.filter((m) => list.includes(m));
                break;
            }
            case "--toolkit-dir":
                o.toolkitDir = resolve(take());
                if (!existsSync(join(o.toolkitDir, "fortress-backup")))
                    throw new Error(`--toolkit-dir ${o.toolkitDir} holds no fortress-backup`);
                break;
            case "--pg": {
                const v = take();
                if (!/^[1-9]\d?$/.test(v))
                    throw new Error(`--pg takes a PostgreSQL major version such as 17, not '${v}'`);
                o.pg = v;
                break;
            }
            case "--no-offsite":
                o.offsite = false;
                break;
            case "--profile":
                o.profile = true;
                break;
            default:
                return false;
        }
        return true;
    }).help;
    o.sizeBytes = parseSize(size ?? (o.quick ? QUICK_SIZE : DEFAULT_SIZE));
    return o;
}

/** The methods in the order round `round` (from 1) runs them: rotated by one each round. */
export function roundOrder<T>(methods: readonly T[], round: number): T[] {
    const k = (round - 1) % Math.max(1, methods.length);
    return [...methods.slice(k), ...methods.slice(0, k)];
}

/** `reports/bench-<UTC timestamp>.json` under the repository. */
export function defaultOutPath(startedAt: Date, root = resolve(__dirname, "..")): string {
    return join(
        root,
        "reports",
        `bench-${startedAt
            .toISOString()
            .replace(/[-:]/g, "")
            .replace(/\.\d+Z$/, "Z")}.json`,
    );
}

/**
 * PostgreSQL settings of the bench cluster beyond the harness's (which turns fsync,
 * synchronous_commit and full_page_writes off; that speeds every method alike and leaves
 * the client side of the data path more visible, not less). shared_buffers as a managed
 * cluster of this size would have it; a larger max_wal_size so that checkpoints forced by
 * one method's writes do not land on another's clock. Everything else is stock.
 */
export const BENCH_SERVER_SETTINGS: Record<string, string> = {
    shared_buffers: "256MB",
    max_wal_size: "2GB",
};

async function firstLine(cmd: string, args: string[]): Promise<string> {
    try {
        const r = await run(cmd, args);
        return (r.stdout || r.stderr).split("\n")[0].trim();
    } catch {
        return "not found";
    }
}

async function machineInfo(pg: PostgresCluster): Promise<MachineInfo> {
    const cpu = cpus();
    return {
        cores: cpu.length,
        cpuModel: cpu[0]?.model.trim() ?? "unknown",
        memoryBytes: totalmem(),
        os: `${platform()} ${release()}`,
        node: process.version,
        postgres: {
            server: await pg.psql("SHOW server_version;"),
            pgDump: await firstLine(join(pg.binDir, "pg_dump"), ["--version"]),
        },
        tools: {
            zstd: await firstLine("zstd", ["--version"]),
            age: await firstLine("age", ["--version"]),
            rclone: await firstLine("rclone", ["--version"]),
            gzip: await firstLine("gzip", ["--version"]),
        },
    };
}

/** The effective non-default server settings, as the report records them. */
async function serverSettings(pg: PostgresCluster): Promise<Record<string, string>> {
    const names = [
        "fsync",
        "synchronous_commit",
        "full_page_writes",
        "wal_level",
        ...Object.keys(BENCH_SERVER_SETTINGS),
        "max_parallel_workers_per_gather",
    ];
    const out = await pg.psql(
        `SELECT string_agg(name || '=' || current_setting(name), E'\\n' ORDER BY name) FROM pg_settings WHERE name = ANY('{${names.join(",")}}');`,
    );
    return Object.fromEntries(out.split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
}

/** Runs the whole benchmark and returns the report path. */
export async function runBench(
    o: BenchOptions,
    log: (m: string) => void = (m) => stderrSink(`${PROG}: ${m}`),
): Promise<string> {
    const started = new Date();
    const loadAtStart = loadavg();
    const out = resolve(o.out ?? defaultOutPath(started));
    let pg: PostgresCluster | undefined;
    const servers: S3Server[] = [];
    const work = makeTempDir("fortress-bench");
    let cleaned: Promise<void> | undefined;
    const cleanUp = () =>
        (cleaned ??= (async () => {
            await pg?.stop();
            await Promise.all(servers.map((s) => s.stop()));
            rmSync(work, { recursive: true, force: true });
            removeToolkitScratch();
        })());
    // Ctrl-C or a kill mid-run: stop the cluster and the S3 servers and delete their files
    // (the harness's exit hooks alone would stop the processes but leave the files).
    const unhook = onInterrupt((sig) => void cleanUp().finally(() => process.exit(signalExitCode(sig))), {
        once: true,
    });
    try {
        // Before anything builds an environment: the server, the toolkit's PATH and the
        // profile's PATH mirror all follow it.
        if (o.pg) usePostgres(o.pg);
        log(`starting PostgreSQL and S3 (${o.offsite ? "primary + offsite" : "primary"})`);
        const primaryBucket = "bench-primary";
        const offsiteBucket = "bench-vault";
        const [cluster, primary, offsite] = await Promise.all([
            startPostgres({ settings: BENCH_SERVER_SETTINGS }),
            startS3Server({ buckets: [primaryBucket] }),
            o.offsite ? startS3Server({ buckets: [offsiteBucket] }) : Promise.resolve(undefined),
        ]);
        pg = cluster;
        servers.push(primary, ...(offsite ? [offsite] : []));
        log(`PostgreSQL ${pg.serverVersion}, client tools from ${pg.binDir}`);

        log(`generating a ${formatBytes(o.sizeBytes)} dataset`);
        const dataset = await generateDataset(pg, "app", o.sizeBytes, { parallel: Math.max(1, cpus().length) });
        log(
            `dataset: ${formatBytes(dataset.bytesOnDisk)} on disk in ${dataset.seconds.toFixed(1)} s (${JSON.stringify(dataset.rows)})`,
        );

        const age = await createAgeIdentity(work, "bench-age.txt");
        const prefix = "postgresql/bench";
        const toolkitWork = join(work, "toolkit-tmp");
        mkdirSync(toolkitWork, { recursive: true });
        const rig: BenchRig = {
            pg,
            source: "app",
            work,
            primary,
            primaryBucket,
            offsite,
            offsiteBucket: offsite ? offsiteBucket : undefined,
            prefix,
            age,
            jobs: o.jobs,
            toolkitBin: o.toolkitDir,
            toolkitEnv: toolkitEnv({
                DATABASE_URL: pg.url("app"),
                ...storageSettings({
                    primary,
                    bucket: primaryBucket,
                    offsite,
                    offsiteBucket: offsite ? offsiteBucket : undefined,
                    prefix,
                }),
                BACKUP_AGE_RECIPIENTS: age.recipient,
                BACKUP_AGE_IDENTITY_FILE: age.identityFile,
                TMPDIR: toolkitWork,
            }),
            log,
        };

        // Rounds rather than one method N times in a row, and each round starts one method
        // further on, so drift on the machine and whatever one method leaves behind (dirty
        // pages, a busy S3 server) fall on every method alike.
        const runs = new Map<MethodName, MethodResult[]>(o.methods.map((m) => [m, []]));
        for (let round = 1; round <= o.repeat; round++) {
            if (o.repeat > 1) log(`round ${round} of ${o.repeat}`);
            for (const m of roundOrder(o.methods, round)) {
                const result = await runMethod(rig, m);
                log(
                    `${m}: backup ${result.backup.seconds.toFixed(2)} s, ${formatBytes(result.bytes)}, restore ${result.restore.seconds.toFixed(2)} s${result.verified.ok ? "" : `, NOT VERIFIED: ${result.verified.problems.join("; ")}`}`,
                );
                runs.get(m)!.push(result);
            }
        }
        const methods = o.methods.map((m) => combineRuns(runs.get(m)!));
        const profile = o.profile ? await profileToolkit(rig) : undefined;

        const input: BenchInput = {
            startedAt: started.toISOString(),
            finishedAt: new Date().toISOString(),
            options: {
                sizeBytes: o.sizeBytes,
                quick: o.quick,
                jobs: o.jobs,
                repeat: o.repeat,
                offsite: o.offsite,
                ...(o.toolkitDir ? { toolkitDir: o.toolkitDir } : {}),
            },
            machine: await machineInfo(pg),
            loadAverage: { start: loadAtStart, end: loadavg() },
            serverSettings: await serverSettings(pg),
            dataset: {
                targetBytes: dataset.targetBytes,
                bytesOnDisk: dataset.bytesOnDisk,
                rows: dataset.rows,
                indexes: dataset.indexes,
                foreignKeys: dataset.foreignKeys,
                generationSeconds: dataset.seconds,
            },
            methods,
            ...(profile ? { profile } : {}),
        };
        const report = buildReport(input);
        mkdirSync(dirname(out), { recursive: true });
        writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
        writeFileSync(`${out.replace(/\.json$/, "")}.md`, renderMarkdown(report));
        process.stdout.write(`${renderTable(report)}\n\nreport: ${out}\n`);
        return out;
    } finally {
        unhook();
        await cleanUp();
    }
}

async function main(argv: string[]): Promise<number> {
    const o = parseCommandLine(() => parseBenchArgs(argv));
    if (o.help) return printHelp(USAGE);
    await runBench(o);
    return EXIT.ok;
}

if (require.main === module) runMain(PROG, () => main(process.argv.slice(2)));
