// The local rehearsal (`npm run rehearse`): the drill's backup → offsite → restore
// → verify path on this machine, with the real toolkit, and the same report.
//
//   production PostgreSQL (throwaway, seeded; or --database-url) ── fortress-backup ──┐
//   S3 server on loopback: primary bucket + offsite bucket  <── age-encrypted ────────┘
//   disaster declared (the throwaway production cluster is stopped)
//   fresh "DR" PostgreSQL <── fortress-restore --source offsite ── fortress-verify
//
// RTO: from the declared disaster to the restored database verified (DR PostgreSQL started,
// restore from the offsite bucket, fortress-verify, counts against the manifest).
// RPO: from the backup's snapshot (manifest createdAt) to the disaster.
import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { loadPagila, pagilaDir, seedPlanDatabase } from "../harness/datasets";
import { startPostgres, type PostgresCluster } from "../harness/postgres";
import { cleanEnv, lineSplitter, makeTempDir, runOk } from "../harness/process";
import { startS3Server, S3RVER_CREDENTIALS, type S3Server } from "../harness/s3";
import {
    createAgeIdentity,
    databaseChecksums,
    exactCounts,
    removeToolkitScratch,
    runToolkit,
    sequenceValues,
    toolkitEnv,
    type ToolkitCommand,
} from "../harness/toolkit";
import { errorMessage } from "../tools/cli";
import { prepareRehearsalMachine } from "./local-services";
import { backupFacts, countDifferences, manifestTotals, parseManifest, type BackupManifest } from "./manifest";
import {
    InterruptedError,
    interruptedBy,
    PhaseRecorder,
    type RunDeps,
    type RunResult,
    round,
    throwIfInterrupted,
} from "./phases";
import { buildReport, EXIT, runId, type Check, type Measurement } from "./report";
import type { PeopleSection } from "./people";
import { formatSeconds, type Targets } from "./targets";

/** Sample data for the throwaway production database. */
export type Dataset = "auto" | "plan" | "pagila" | "both";

/** When the simulated disaster strikes, for the RPO. */
export type DisasterAt = { kind: "at"; ms: number } | { kind: "after-snapshot"; seconds: number };

export interface RehearsalOptions {
    /** Back up this existing database instead of a throwaway one (it is only read, never stopped). */
    databaseUrl?: string;
    /** Which sample data to load (throwaway production only). auto: the plan's schema, plus Pagila when it is found. */
    dataset: Dataset;
    /** Size of the plan-shaped dataset: 1 = 95,000 rows. */
    scale: number;
    /** The disaster's time for the RPO (default: declared right after the backup). */
    disasterAt?: DisasterAt;
    targets: Targets;
    /** Who does what, for the report (the rehearsed stack's contacts). */
    people?: PeopleSection;
}

export type RehearsalDeps = RunDeps;
export type RehearsalResult = RunResult;

/** Database name of the app (config dbName default). */
export const APP_DATABASE = "income_platform";
const PRIMARY_BUCKET = "fortress-primary";
const OFFSITE_BUCKET = "fortress-offsite";
const PREFIX = "postgresql/rehearsal";

/** Parses --disaster-at: an ISO time, or `+DURATION` after the backup's snapshot. */
export function parseDisasterAt(
    text: string,
    nowMs: number,
    parseDuration: (t: string) => number | undefined,
): DisasterAt {
    if (text.startsWith("+")) {
        const seconds = parseDuration(text.slice(1));
        if (seconds === undefined)
            throw new Error(
                `--disaster-at ${text}: "${text.slice(1)}" is not a duration; use +45m, +2h or an ISO time`,
            );
        return { kind: "after-snapshot", seconds };
    }
    const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`);
    if (Number.isNaN(ms))
        throw new Error(
            `--disaster-at ${text}: not an ISO time such as 2026-03-01T06:45:00Z, nor +DURATION such as +45m`,
        );
    if (ms < nowMs)
        throw new Error(
            `--disaster-at ${text} is in the past, before the rehearsal takes its backup; use a later time, or +DURATION to place it after the backup's snapshot`,
        );
    return { kind: "at", ms };
}

/** A PostgreSQL URL's password moved to PGPASSWORD, so it never appears in a process list. */
export function libpqTarget(url: string): { url: string; env: Record<string, string>; database: string } {
    let u: URL;
    try {
        u = new URL(url);
    } catch {
        throw new Error(`--database-url is not a URL such as postgresql://user:password@host:5432/dbname`);
    }
    if (u.protocol !== "postgresql:" && u.protocol !== "postgres:")
        throw new Error(`--database-url must start with postgresql://, not ${u.protocol}//`);
    const env: Record<string, string> = {};
    if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
    u.password = "";
    const database = decodeURIComponent(u.pathname.replace(/^\//, "")) || "postgres";
    return { url: u.toString(), env, database };
}

/** Loads the sample data into the app database of `pg`; returns what was loaded, in one line. */
export async function loadSampleData(pg: PostgresCluster, dataset: Dataset, scale: number): Promise<string> {
    const sets: string[] = [];
    const wantPagila = dataset === "pagila" || dataset === "both" || (dataset === "auto" && pagilaDir() !== undefined);
    if (dataset !== "pagila") {
        await seedPlanDatabase(pg, APP_DATABASE, scale);
        sets.push(`the plan's schema (users, portfolios, proposals, audit_log) at scale ${scale}`);
    }
    if (wantPagila) {
        if (!pagilaDir())
            throw new Error(
                "the Pagila sample was not found: set PAGILA_DIR to the folder with pagila-schema.sql and pagila-data.sql, or use --dataset plan",
            );
        await loadPagila(pg, APP_DATABASE);
        sets.push("Pagila (partitions, triggers, views, a materialized view, enums, sequences)");
    }
    const totals = manifestTotals({ tables: await exactCounts(pg, APP_DATABASE) });
    return `${sets.join(" + ")}: ${totals.tables} tables, ${totals.rows.toLocaleString("en-US")} rows`;
}

/** Runs the rehearsal; never throws (failures end up in the report and the exit code). */
export async function runRehearsal(opts: RehearsalOptions, deps: RehearsalDeps): Promise<RehearsalResult> {
    const { clock, signal } = deps;
    const rec = new PhaseRecorder(clock, deps.progress);

    if (!prepareRehearsalMachine(deps.progress)) return { exitCode: EXIT.usage };

    const checks: Check[] = [];
    const measured: { rto: Record<string, Measurement>; rpo: Record<string, Measurement> } = { rto: {}, rpo: {} };
    const context: Record<string, string> = {};
    const notes: string[] = [];
    const services: { production?: PostgresCluster; dr?: PostgresCluster; s3?: S3Server } = {};
    let work: string | undefined;
    let manifest: BackupManifest | undefined;
    let disasterMs: number | undefined;
    let recoveredMs: number | undefined;
    let interrupted: NodeJS.Signals | undefined;
    let error: string | undefined;
    let cleanupFailed: string | undefined;
    let toolkitPid: number | undefined;

    // Ctrl-C: end the toolkit command that is running (its own trap cleans up after it).
    const onAbort = () => {
        if (toolkitPid !== undefined) {
            try {
                process.kill(toolkitPid, "SIGTERM");
            } catch {
                // already gone
            }
        }
    };
    signal.addEventListener("abort", onAbort);

    const toolkit = async (command: ToolkitCommand, args: string[], env: NodeJS.ProcessEnv): Promise<string> => {
        const lines = lineSplitter((l) => l.trim() && rec.say(`    ${l}`));
        const r = await runToolkit(command, args, env, {
            timeoutMs: 600_000,
            onSpawn: (pid) => {
                toolkitPid = pid;
                if (signal.aborted) onAbort(); // interrupted while it was being started
            },
            onStderr: (chunk) => lines.push(chunk),
        });
        toolkitPid = undefined;
        lines.flush();
        throwIfInterrupted(signal);
        if (r.code !== 0) {
            const last =
                r.stderr
                    .split("\n")
                    .filter((l) => l.includes(": error: "))
                    .pop() ??
                r.stderr.trim().split("\n").pop() ??
                "";
            throw new Error(`${command} exited ${r.code}: ${last.trim()}`);
        }
        return r.stdout.trim();
    };

    try {
        work = makeTempDir("fortress-rehearsal");
        const step = rec.stepper(signal);

        // ------------------------------------------------------------ production
        let production: { url: string; env: Record<string, string>; database: string; label: string };
        if (opts.databaseUrl) {
            const target = libpqTarget(opts.databaseUrl);
            production = await step("connect-production-database", async () => {
                const r = await runOk(
                    "psql",
                    ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", target.url, "-c", "SHOW server_version;"],
                    { env: cleanEnv(target.env), timeoutMs: 30_000 },
                );
                return {
                    ...target,
                    url: opts.databaseUrl!,
                    label: `${target.url} (PostgreSQL ${r.stdout.trim()}; read only, never stopped)`,
                };
            });
            context["production database"] = production.label;
        } else {
            const pg = await step("start-production-database", async () => {
                const pg = await startPostgres();
                services.production = pg;
                await pg.createDatabase(APP_DATABASE);
                return pg;
            });
            const version = await pg.psql("SHOW server_version;");
            rec.say(`  production PostgreSQL ${version} on ${pg.host}:${pg.port}`);
            const loaded = await step("load-dataset", () => loadSampleData(pg, opts.dataset, opts.scale));
            rec.say(`  loaded ${loaded}`);
            production = {
                url: pg.url(APP_DATABASE),
                env: {},
                database: APP_DATABASE,
                label: `throwaway PostgreSQL ${version} on ${pg.host}:${pg.port}`,
            };
            context["production database"] = production.label;
            context.dataset = loaded;
        }

        // ------------------------------------------------------------ storage
        const s3 = await step("start-storage", async () => {
            const s3 = await startS3Server({ buckets: [PRIMARY_BUCKET, OFFSITE_BUCKET] });
            services.s3 = s3;
            return s3;
        });
        rec.say(`  S3 (s3rver) on ${s3.endpoint}: buckets ${PRIMARY_BUCKET} (primary) and ${OFFSITE_BUCKET} (offsite)`);
        context.storage = `s3rver on ${s3.endpoint}: ${PRIMARY_BUCKET} (primary), ${OFFSITE_BUCKET} (offsite), prefix ${PREFIX}`;
        const age = await createAgeIdentity(work);
        const storage = {
            BACKUP_S3_ENDPOINT: s3.endpoint,
            BACKUP_BUCKET: PRIMARY_BUCKET,
            BACKUP_OFFSITE_S3_ENDPOINT: s3.endpoint,
            BACKUP_OFFSITE_BUCKET: OFFSITE_BUCKET,
            BACKUP_PREFIX: PREFIX,
            AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
            AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
        };

        // The restored copy must equal production as it was at the snapshot. Nothing writes to a
        // throwaway production, so its state before the backup is the snapshot's (taken first so
        // that it does not widen the gap between the snapshot and the disaster).
        let fingerprint: { sums: Record<string, string>; sequences: Record<string, string> } | undefined;
        if (services.production) {
            const pg = services.production;
            fingerprint = await step("fingerprint-production", async () => ({
                sums: await databaseChecksums(pg, APP_DATABASE),
                sequences: await sequenceValues(pg, APP_DATABASE),
            }));
        }

        // ------------------------------------------------------------ backup
        const backupId = await step("backup", () =>
            toolkit(
                "fortress-backup",
                ["--tag", "rehearsal"],
                toolkitEnv({ ...storage, DATABASE_URL: production.url, BACKUP_AGE_RECIPIENTS: age.recipient }),
            ),
        );
        const readManifest = async (bucket: string, key: string): Promise<BackupManifest> => {
            const body = await s3.getObject(bucket, `${PREFIX}/${key}`);
            if (!body) throw new Error(`${bucket}/${PREFIX}/${key} does not exist after the backup`);
            return parseManifest(body.toString("utf8"), `${bucket}/${PREFIX}/${key}`);
        };
        manifest = await readManifest(OFFSITE_BUCKET, `${backupId}.manifest.json`);
        const totals = manifestTotals(manifest);
        rec.event(
            `backup ${backupId} written to both buckets (snapshot ${manifest.createdAt}, ${totals.tables} tables, ${totals.rows.toLocaleString("en-US")} rows, ${manifest.bytes.toLocaleString("en-US")} bytes)`,
        );

        // ------------------------------------------------------------ disaster
        throwIfInterrupted(signal);
        disasterMs = clock.now();
        rec.event(
            services.production
                ? "disaster declared: the production database is lost (its cluster is stopped now)"
                : "disaster declared: production is treated as lost (the --database-url database is left running)",
            disasterMs,
        );
        // RPO: the snapshot to the disaster (known now, whatever happens to the recovery).
        const snapshotMs = Date.parse(manifest.createdAt);
        const rpoDisasterMs =
            opts.disasterAt === undefined
                ? disasterMs
                : opts.disasterAt.kind === "at"
                  ? opts.disasterAt.ms
                  : snapshotMs + opts.disasterAt.seconds * 1000;
        const rpoHow =
            opts.disasterAt === undefined
                ? `from the snapshot of ${backupId} (${manifest.createdAt}) to the declared disaster, right after the backup`
                : `from the snapshot of ${backupId} (${manifest.createdAt}) to the simulated disaster at ${new Date(rpoDisasterMs).toISOString()} (--disaster-at)`;
        if (opts.disasterAt !== undefined) {
            context["simulated disaster (RPO)"] = new Date(rpoDisasterMs).toISOString();
            checks.push({
                name: "the simulated disaster comes after the backup's snapshot",
                ok: rpoDisasterMs >= snapshotMs,
                detail: `snapshot ${manifest.createdAt}, disaster ${new Date(rpoDisasterMs).toISOString()}`,
            });
        }
        if (rpoDisasterMs >= snapshotMs) {
            for (const key of ["user-data", "transactions"])
                measured.rpo[key] = { seconds: round((rpoDisasterMs - snapshotMs) / 1000), how: rpoHow };
        }

        if (services.production) {
            const pg = services.production;
            await step("lose-production", async () => {
                await pg.stop();
                services.production = undefined;
            });
        }

        // ------------------------------------------------------------ recovery
        const dr = await step("provision-dr-database", async () => {
            const dr = await startPostgres();
            services.dr = dr;
            await dr.createDatabase(APP_DATABASE);
            return dr;
        });
        rec.say(`  DR PostgreSQL on ${dr.host}:${dr.port}`);
        // The DR side knows only the offsite bucket, as the DR region does.
        const drEnv = toolkitEnv({
            DATABASE_URL: dr.url(APP_DATABASE),
            BACKUP_OFFSITE_S3_ENDPOINT: s3.endpoint,
            BACKUP_OFFSITE_BUCKET: OFFSITE_BUCKET,
            BACKUP_PREFIX: PREFIX,
            AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
            AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
            BACKUP_AGE_IDENTITY_FILE: age.identityFile,
        });
        const restored = await step("restore", () =>
            toolkit("fortress-restore", ["--source", "offsite", "--backup", backupId], drEnv),
        );
        rec.say(`  ${restored}`);

        const m = manifest;
        await step("verify", async () => {
            const verified = await toolkit("fortress-verify", ["--source", "offsite", "--backup", backupId], drEnv);
            checks.push({
                name: "fortress-verify passes on the DR server (restore into a throwaway database, counts)",
                ok: true,
                detail: verified,
            });
            const counts = await exactCounts(dr, APP_DATABASE);
            const diff = countDifferences(m.tables, counts);
            const extra = Object.keys(counts).filter((t) => !(t in m.tables));
            const ok = diff.length === 0 && extra.length === 0;
            checks.push({
                name: "restored row counts equal the manifest",
                ok,
                detail: ok
                    ? `${totals.tables} tables, ${totals.rows.toLocaleString("en-US")} rows, counted again in the DR database`
                    : [...diff.slice(0, 5), ...extra.slice(0, 3).map((t) => `${t}: not in the backup`)].join("; "),
            });
            if (!ok) throw new Error("the restored database's row counts differ from the manifest");
        });
        recoveredMs = clock.now();
        rec.event("recovered: the DR database is restored and verified", recoveredMs);
        measured.rto.database = {
            seconds: round((recoveredMs - disasterMs) / 1000),
            how: "from the declared disaster through a fresh DR PostgreSQL, fortress-restore from the offsite bucket and fortress-verify, to the counts checked",
        };

        // ------------------------------------------------------------ independent checks
        await step("checks", async () => {
            const object = await s3.getObject(OFFSITE_BUCKET, m.object);
            const sha = object ? createHash("sha256").update(object).digest("hex") : "";
            checks.push({
                name: "offsite object's size and sha256 equal the manifest",
                ok: !!object && object.length === m.bytes && sha === m.sha256,
                detail: object
                    ? `${OFFSITE_BUCKET}/${m.object}: ${object.length.toLocaleString("en-US")} bytes, sha256 ${sha.slice(0, 16)}… (manifest ${m.bytes.toLocaleString("en-US")} bytes, ${m.sha256.slice(0, 16)}…)`
                    : `${OFFSITE_BUCKET}/${m.object} is missing`,
            });
            const header = object ? object.subarray(0, 21).toString("latin1") : "";
            checks.push({
                name: "backup is age-encrypted at rest",
                ok: m.encryption === "age" && m.object.endsWith(".age") && header === "age-encryption.org/v1",
                detail: `manifest encryption ${m.encryption}, object ${m.object.split("/").pop()}, header ${JSON.stringify(header)}`,
            });
            const primary = await readManifest(PRIMARY_BUCKET, `${backupId}.manifest.json`);
            const latest = [
                await readManifest(PRIMARY_BUCKET, "latest.json"),
                await readManifest(OFFSITE_BUCKET, "latest.json"),
            ];
            const same = JSON.stringify(primary) === JSON.stringify(m) && latest.every((l) => l.id === backupId);
            checks.push({
                name: "both buckets hold the same manifest, and latest.json names this backup",
                ok: same,
                detail: same
                    ? `${PRIMARY_BUCKET} and ${OFFSITE_BUCKET}: ${backupId}`
                    : `primary ${primary.id}, latest.json ${latest.map((l) => l.id).join(" / ")}`,
            });
            if (fingerprint) {
                const sums = await databaseChecksums(dr, APP_DATABASE);
                const sequences = await sequenceValues(dr, APP_DATABASE);
                const differing = Object.keys({ ...fingerprint.sums, ...sums }).filter(
                    (t) => fingerprint!.sums[t] !== sums[t],
                );
                const seqDiffering = Object.keys({ ...fingerprint.sequences, ...sequences }).filter(
                    (s) => fingerprint!.sequences[s] !== sequences[s],
                );
                checks.push({
                    name: "restored data and sequences identical to production at the snapshot",
                    ok: differing.length === 0 && seqDiffering.length === 0,
                    detail:
                        differing.length + seqDiffering.length === 0
                            ? `md5 of every row of ${Object.keys(sums).length} tables and materialized views, and ${Object.keys(sequences).length} sequence values, match`
                            : `differ: ${[...differing, ...seqDiffering].slice(0, 5).join(", ")}`,
                });
            } else {
                notes.push(
                    "--database-url: production may be written during the rehearsal, so the restored copy was compared with the manifest's counts only, not with production's contents.",
                );
            }
        });
    } catch (e) {
        if (e instanceof InterruptedError) interrupted = e.signal;
        else if (signal.aborted) interrupted = interruptedBy(signal).signal;
        else error = errorMessage(e);
    }
    if (interrupted) rec.event(`interrupted by ${interrupted}`);

    // ------------------------------------------------------------ cleanup, always
    try {
        await rec.run("cleanup", async () => {
            const results = await Promise.allSettled([
                services.production?.stop(),
                services.dr?.stop(),
                services.s3?.stop(),
            ]);
            removeToolkitScratch();
            if (work) rmSync(work, { recursive: true, force: true });
            const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
            if (failed.length > 0) throw new Error(failed.map((f) => errorMessage(f.reason)).join("; "));
        });
    } catch (e) {
        cleanupFailed = `Cleanup failed: ${errorMessage(e)}. Look for leftover PostgreSQL or s3rver processes and fortress-* folders under ${process.env.TMPDIR ?? "/tmp"}`;
        notes.push(cleanupFailed);
    }
    signal.removeEventListener("abort", onAbort);

    const report = buildReport({
        kind: "rehearsal",
        id: runId("rehearsal", rec.startedMs),
        scenario:
            "the production database is lost; the latest backup is restored from the offsite bucket into a fresh PostgreSQL on this machine",
        startedMs: rec.startedMs,
        finishedMs: clock.now(),
        ...(disasterMs !== undefined ? { disasterMs } : {}),
        ...(recoveredMs !== undefined ? { recoveredMs } : {}),
        phases: rec.phases,
        checks,
        targets: opts.targets,
        measured,
        headline: { rto: "database", rpo: "user-data" },
        ...(manifest ? { backup: backupFacts(manifest, "offsite") } : {}),
        timeline: rec.timeline,
        context,
        notes,
        ...(interrupted ? { interrupted } : {}),
        ...(cleanupFailed ? { cleanupFailed } : {}),
        ...(error ? { error } : {}),
        ...(opts.people ? { people: opts.people } : {}),
        postMortem: {
            rootCause: !opts.databaseUrl
                ? "Simulated: the production database was lost (the throwaway production cluster was stopped and deleted right after the backup)."
                : "Simulated: the production database was declared lost right after the backup.",
            resolution:
                "A fresh PostgreSQL was provisioned, fortress-restore restored the backup from the offsite bucket only (size and sha256 checked, age-decrypted, row counts compared with the manifest), and fortress-verify proved it restores again.",
            usersAffected: "none (rehearsal on throwaway local services)",
            financialImpact: "none (rehearsal)",
        },
    });
    const files = deps.writeReport(report);
    deps.progress(
        `rehearse: ${report.ok ? "PASSED" : `FAILED (${report.outcome})`}: RTO ${formatSeconds(report.rto.measuredSeconds)}, RPO ${formatSeconds(report.rpo.measuredSeconds)}; report: ${files.markdown}`,
    );
    return { exitCode: report.exitCode, report, files };
}
