// `npm run rehearse -- --scenario failback`: the failback (drill/failback.ts) on this
// machine, the same sequence as `npm run failback` on the same interfaces, with the real
// toolkit and the failback's own scripts run for real. What stands for what:
//
//   a site's host        a settings folder (backup.env rendered by cloud-init's renderer,
//                        credentials.env) and bash with the toolkit on PATH
//   a site's database    a throwaway PostgreSQL cluster
//   Spaces               one S3 server with four buckets: prod's own and its vault, DR's own
//                        and its offsite bucket (drOffsiteBucket)
//   the app's writers    a psql session that writes transactions (users, portfolios,
//                        proposals, audit_log) until it is stopped, application_name set
//   the public record    a variable, its TTL slept out (prod's dnsTtl unless --ttl)
//
// Before the failback: prod is seeded and backed up; writes prod takes after that backup
// never reach DR (the cutover's data loss); at the cutover DR restores prod's latest backup
// from the vault, as the dr stack's recovery chain does, and takes writes; then prod comes
// back and its writers run again on its old database. The report adds checks of its own:
// the harness's md5 of every table, and every transaction written on DR found on prod.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { delimiter, join, resolve as resolvePath } from "node:path";
import { formatEnvFile } from "../cloud-init/env-file";
import { backupSettingsFile } from "../cloud-init/render";
import { shQuote } from "../cloud-init/shell";
import { startPostgres, type PostgresCluster } from "../harness/postgres";
import { cleanEnv, makeTempDir } from "../harness/process";
import { startS3Server, S3RVER_CREDENTIALS, type S3Server } from "../harness/s3";
import {
    createAgeIdentity,
    databaseChecksums,
    removeToolkitScratch,
    sequenceValues,
    TOOLKIT_BIN,
} from "../harness/toolkit";
import { errorMessage } from "../tools/cli";
import type { HttpAnswer } from "./driver";
import {
    failbackSequence,
    freezeOf,
    type AppControl,
    type FailbackPlan,
    type FailbackSite,
    type PublicRecord,
    type SequenceContext,
    type SequenceOptions,
} from "./failback";
import { localShell, shellToolkit } from "./failback-sites";
import { prepareRehearsalMachine } from "./local-services";
import { backupFacts, type BackupManifest } from "./manifest";
import type { PeopleSection } from "./people";
import { abortableSleep, InterruptedError, interruptedBy, PhaseRecorder } from "./phases";
import { APP_DATABASE, loadSampleData, type Dataset, type RehearsalDeps, type RehearsalResult } from "./rehearse";
import { buildReport, EXIT, runId, utcStamp, type Check } from "./report";
import { formatSeconds, type Targets } from "./targets";

export interface FailbackRehearsalOptions {
    /**
     * Sample data for prod: the plan's schema, which the simulated app writes to, and with
     * `both` Pagila too (whose partitioned tables fortress-restore --force cannot replace yet).
     */
    dataset: Extract<Dataset, "plan" | "both">;
    scale: number;
    targets: Targets;
    /** The record's TTL to wait out (seconds). */
    ttlSeconds: number;
    /** How long DR takes writes before the failback starts (seconds). */
    drWritesSeconds: number;
    /** The public name, for the report (`<hostname>.<domain>` of the rehearsed stack). */
    publicName: string;
    /** Who does what (the rehearsed stack's contacts). */
    people?: PeopleSection;
}

const BUCKETS = {
    prod: "fortress-prod",
    vault: "fortress-vault",
    dr: "fortress-dr",
    drOffsite: "fortress-dr-offsite",
} as const;
/** What the simulated app calls itself in pg_stat_activity; the freeze check counts such sessions. */
export const APP_NAME = "income-platform-app";
const TOOLKIT_LIB = resolvePath(__dirname, "../cloud-init/toolkit/lib/income-fortress/common.sh");

/** One transaction of the simulated app on `site`: a user, a portfolio, an update, a delete, an audit row. */
export function appTransaction(site: string, n: number): string {
    return [
        "BEGIN;",
        `INSERT INTO users (email, display_name, created_at) VALUES ('${site}-write-${n}@example.com', 'Written on ${site} #${n}', now());`,
        `INSERT INTO portfolios (user_id, name, value, updated_at) VALUES (currval('users_id_seq'), '${site} portfolio ${n}', ${n}.25, now());`,
        `UPDATE portfolios SET value = value + 1 WHERE id = ${(n % 997) + 1};`,
        "DELETE FROM proposals WHERE id = (SELECT min(id) FROM proposals);",
        `INSERT INTO audit_log (action, table_name, row_id, at) VALUES ('INSERT', 'users', currval('users_id_seq'), now());`,
        "COMMIT;",
        "",
    ].join("\n");
}

/** The simulated app of one site: a psql session fed transactions until it is stopped. */
class SimulatedApp implements AppControl {
    private child?: ChildProcess;
    private timer?: NodeJS.Timeout;
    private stderr = "";
    private exited?: Promise<number | null>;
    /** Transactions sent since the app last started, and in all. */
    sinceStart = 0;
    total = 0;

    constructor(
        private readonly site: string,
        private readonly pg: () => PostgresCluster,
        private readonly intervalMs = 25,
    ) {}

    get running(): boolean {
        return this.child !== undefined;
    }

    async writers(): Promise<string[]> {
        return this.running ? ["app"] : [];
    }

    async start(services: string[]): Promise<void> {
        if (services.length === 0 || this.running) return;
        const pg = this.pg();
        const child = spawn(join(pg.binDir, "psql"), ["-X", "-q", "-v", "ON_ERROR_STOP=1"], {
            env: cleanEnv({ ...pg.clientEnv(APP_DATABASE), PGAPPNAME: APP_NAME }),
            stdio: ["pipe", "ignore", "pipe"],
        });
        this.child = child;
        this.stderr = "";
        this.sinceStart = 0;
        child.stderr!.on("data", (b: Buffer) => (this.stderr += b.toString()));
        child.stdin!.on("error", () => undefined);
        this.exited = new Promise((done) => child.on("close", (code) => done(code)));
        this.timer = setInterval(() => {
            this.total += 1;
            this.sinceStart += 1;
            child.stdin!.write(appTransaction(this.site, this.total));
        }, this.intervalMs);
    }

    async up(): Promise<void> {
        await this.start(["app"]);
    }

    /** Stops feeding it; psql runs what it was sent, then ends (as `docker compose stop` lets the app finish). */
    async stop(services: string[]): Promise<void> {
        if (services.length === 0 || !this.child) return;
        clearInterval(this.timer);
        this.child.stdin!.end();
        const code = await this.exited;
        this.child = undefined;
        if (code !== 0)
            throw new Error(
                `the simulated app on ${this.site} failed (psql exit ${code}): ${this.stderr.trim().split("\n").pop() ?? ""}`,
            );
    }

    async health(): Promise<HttpAnswer> {
        if (!this.running) return { status: 503, detail: `the simulated app on ${this.site} is stopped` };
        try {
            await this.pg().psql("SELECT 1;", APP_DATABASE);
            return {
                status: 200,
                detail: `the simulated app on ${this.site} writes (${this.sinceStart} transactions since it started)`,
            };
        } catch (e) {
            return { status: null, detail: errorMessage(e) };
        }
    }

    startHint(): string {
        return "nothing to start by hand: the rehearsal's services are removed when it ends";
    }

    /** Ends it at once (cleanup). */
    kill(): void {
        clearInterval(this.timer);
        this.child?.kill("SIGKILL");
        this.child = undefined;
    }
}

/** Rows the simulated app of `site` wrote that `pg` holds. */
async function writtenBy(pg: PostgresCluster, site: string): Promise<number> {
    return Number(await pg.psql(`SELECT count(*) FROM users WHERE email LIKE '${site}-write-%';`, APP_DATABASE));
}

/** Runs the failback rehearsal; never throws (failures end up in the report and the exit code). */
export async function runFailbackRehearsal(
    opts: FailbackRehearsalOptions,
    deps: RehearsalDeps,
): Promise<RehearsalResult> {
    const { clock, signal } = deps;
    const rec = new PhaseRecorder(clock, deps.progress);
    if (!prepareRehearsalMachine(deps.progress)) return { exitCode: EXIT.usage };

    const checks: Check[] = [];
    const notes: string[] = [];
    const context: Record<string, string> = {};
    const measured: SequenceContext["measured"] = { rto: {}, rpo: {} };
    const services: { prod?: PostgresCluster; dr?: PostgresCluster; s3?: S3Server } = {};
    const apps = {
        prod: new SimulatedApp("prod", () => services.prod!),
        dr: new SimulatedApp("dr", () => services.dr!),
    };
    let work: string | undefined;
    let manifest: BackupManifest | undefined;
    let sequence: Awaited<ReturnType<typeof failbackSequence>> | undefined;
    let interrupted: NodeJS.Signals | undefined;
    let error: string | undefined;
    let cleanupFailed: string | undefined;
    const step = rec.stepper(signal);

    try {
        work = makeTempDir("fortress-failback");
        const prod = await step("start-production-database", async () => {
            const pg = await startPostgres();
            services.prod = pg;
            await pg.createDatabase(APP_DATABASE);
            return pg;
        });
        rec.say(`  production PostgreSQL on ${prod.host}:${prod.port}`);
        const loaded = await step("load-dataset", () => loadSampleData(prod, opts.dataset, opts.scale));
        context.dataset = loaded;
        const s3 = await step("start-storage", async () => {
            const s3 = await startS3Server({ buckets: Object.values(BUCKETS) });
            services.s3 = s3;
            return s3;
        });
        rec.say(
            `  S3 (s3rver) on ${s3.endpoint}: prod's ${BUCKETS.prod} and vault ${BUCKETS.vault}; DR's ${BUCKETS.dr} and offsite ${BUCKETS.drOffsite}`,
        );
        context.storage = `s3rver on ${s3.endpoint}: ${BUCKETS.prod} and ${BUCKETS.vault} (prod's own and its vault), ${BUCKETS.dr} and ${BUCKETS.drOffsite} (DR's own and its offsite bucket)`;

        // Each site's "host": its settings folder, as cloud-init and the recovery chain write it.
        const age = await createAgeIdentity(work);
        const lockDir = join(work, "locks");
        mkdirSync(lockDir);
        const host = (name: "prod" | "dr", bucket: string, offsite: string, databaseUrl: string) => {
            const dir = join(work!, `${name}-host`);
            mkdirSync(dir);
            writeFileSync(
                join(dir, "backup.env"),
                backupSettingsFile(name, {
                    s3Endpoint: s3.endpoint,
                    bucket,
                    prefix: `postgresql/${name}`,
                    offsiteS3Endpoint: s3.endpoint,
                    offsiteBucket: offsite,
                    ageRecipients: [age.recipient],
                }),
            );
            writeFileSync(
                join(dir, "credentials.env"),
                formatEnvFile([
                    ["DATABASE_URL", databaseUrl],
                    ["AWS_ACCESS_KEY_ID", S3RVER_CREDENTIALS.accessKeyId],
                    ["AWS_SECRET_ACCESS_KEY", S3RVER_CREDENTIALS.secretAccessKey],
                ]),
                { mode: 0o600 },
            );
            const env = cleanEnv({
                PATH: `${TOOLKIT_BIN}${delimiter}${cleanEnv().PATH}`,
                FORTRESS_CONFIG_DIR: dir,
                FORTRESS_LOCK_DIR: lockDir,
                // The host's identity path from backup.env is a droplet's; the environment wins.
                BACKUP_AGE_IDENTITY_FILE: age.identityFile,
            });
            return localShell(`the ${name} host (local)`, env, TOOLKIT_LIB, signal);
        };
        const prodShell = host("prod", BUCKETS.prod, BUCKETS.vault, prod.url(APP_DATABASE));

        // ------------------------------------------------------------ before the cutover
        const lastProdBackup = await step("backup-production", () =>
            prodShell.run(`fortress-backup --tag rehearsal`, { what: "fortress-backup" }).then((o) => o.trim()),
        );
        rec.event(`prod's last backup before the disaster: ${lastProdBackup}`);
        await step("production-writes-after-backup", async () => {
            await apps.prod.start(["app"]);
            await abortableSleep(1000, signal);
            await apps.prod.stop(["app"]);
        });
        const lostAtCutover = await writtenBy(prod, "prod");
        rec.event(
            `the primary region is lost: prod took ${lostAtCutover} transactions after its last backup, which DR will not have`,
        );

        // ------------------------------------------------------------ cutover and DR in service
        const dr = await step("cutover-to-dr", async () => {
            const pg = await startPostgres();
            services.dr = pg;
            await pg.createDatabase(APP_DATABASE);
            return pg;
        });
        rec.say(`  DR PostgreSQL on ${dr.host}:${dr.port}`);
        const drShell = host("dr", BUCKETS.dr, BUCKETS.drOffsite, dr.url(APP_DATABASE));
        // As the dr stack's recovery chain restores: prod's prefix in the vault, as the offsite source.
        const vault = [
            `BACKUP_OFFSITE_S3_ENDPOINT=${shQuote(s3.endpoint)}`,
            `BACKUP_OFFSITE_BUCKET=${BUCKETS.vault}`,
            `BACKUP_PREFIX=postgresql/prod`,
        ].join(" ");
        await step("restore-on-dr", async () =>
            rec.say(
                `  ${(await drShell.run(`${vault} fortress-restore --source offsite --backup latest`, { what: "fortress-restore" })).trim()}`,
            ),
        );
        rec.event(`cutover: the public record ${opts.publicName} points at DR, which takes the writes`);
        const drToolkit = shellToolkit(drShell);
        await step("dr-takes-writes", async () => {
            await apps.dr.start(["app"]);
            await abortableSleep(opts.drWritesSeconds * 1000, signal);
            // The freeze's check must see the app: here, before the freeze, it counts its session.
            const seen = await drToolkit.appSessions();
            checks.push({
                name: "the freeze's session check sees the app while it writes",
                ok: seen >= 1,
                detail: `${seen} session(s) of the app on the DR database before the freeze`,
            });
            // The primary region is back: prod's writers run again, on its old database.
            await apps.prod.start(["app"]);
            await abortableSleep(500, signal);
        });
        rec.event(
            `the primary region is back; DR has taken ${apps.dr.total} transactions so far, and keeps writing until the freeze`,
        );

        // ------------------------------------------------------------ the failback
        let pointsAt: "dr" | "prod" = "dr";
        const site = (
            name: "prod" | "dr",
            app: SimulatedApp,
            toolkit: ReturnType<typeof shellToolkit>,
        ): FailbackSite => ({ name, label: `${name} (local)`, app, toolkit, close: async () => undefined });
        const record: PublicRecord = {
            fqdn: `${opts.publicName} (simulated)`,
            ttlSeconds: opts.ttlSeconds,
            primaryAddress: "prod",
            moveToPrimary: async () => {
                pointsAt = "prod";
            },
            resolve: async () => pointsAt,
            publicHealth: async () =>
                pointsAt === "prod"
                    ? apps.prod.health()
                    : { status: 503, detail: "the record points at DR, whose writers are stopped" },
            manualSteps: () => "Nothing to do by hand: the rehearsal removes what it started.",
        };
        const plan: FailbackPlan = {
            facts: {},
            prod: site("prod", apps.prod, shellToolkit(prodShell)),
            dr: site("dr", apps.dr, drToolkit),
            record,
        };
        let afterRestore: { prod: Record<string, string>; dr: Record<string, string>; prodOwnRows: number } | undefined;
        const sequenceOptions: SequenceOptions = {
            stamp: utcStamp(clock.now()),
            freezeRow: "database",
            sessionTimeoutMs: 30_000,
            healthTimeoutMs: 30_000,
            resolveTimeoutMs: 10_000,
            pollIntervalMs: 200,
            lockRetryMs: 2_000,
        };
        sequence = await failbackSequence(plan, sequenceOptions, {
            rec,
            clock,
            sleep: abortableSleep,
            signal,
            checks,
            notes,
            measured,
            onBackup: (m) => (manifest = m),
            // Prod's data is compared again here, with the harness's own md5, before its writers start.
            onRestored: async () => {
                const fp = async (pg: PostgresCluster) => {
                    const sums = await databaseChecksums(pg, APP_DATABASE);
                    const seqs = await sequenceValues(pg, APP_DATABASE);
                    return {
                        ...sums,
                        ...Object.fromEntries(Object.entries(seqs).map(([k, v]) => [`sequence ${k}`, v])),
                    };
                };
                afterRestore = { prod: await fp(prod), dr: await fp(dr), prodOwnRows: await writtenBy(prod, "prod") };
            },
        });
        if (sequence.error) throw new Error(sequence.error);
        if (sequence.interrupted) throw new InterruptedError(sequence.interrupted);

        await step("checks", async () => {
            if (afterRestore) {
                const a = afterRestore;
                const differ = Object.keys(a.dr).filter((k) => a.prod[k] !== a.dr[k]);
                checks.push({
                    name: "restored data and sequences on prod identical to the frozen DR database (the harness's own md5)",
                    ok: differ.length === 0,
                    detail:
                        differ.length === 0
                            ? `${Object.keys(a.dr).length} tables, materialized views and sequences compared right after the restore`
                            : `differ: ${differ.slice(0, 5).join(", ")}`,
                });
            }
            const onDr = await writtenBy(dr, "dr");
            const onProd = await writtenBy(prod, "dr");
            checks.push({
                name: "every transaction the app wrote on DR is on prod",
                ok: onDr === apps.dr.total && onProd === onDr && onDr > 0,
                detail: `${apps.dr.total} transactions sent to DR before the freeze; ${onDr} on DR, ${onProd} on prod`,
            });
            const replaced = afterRestore?.prodOwnRows;
            checks.push({
                name: "prod's writes that never reached DR are replaced on prod and kept in its saved backup",
                ok: lostAtCutover > 0 && replaced === 0 && sequence?.savedProdBackup !== undefined,
                detail: `${lostAtCutover} transactions prod took after ${lastProdBackup} never reached DR (the cutover's data loss); ${replaced ?? "?"} of prod's own rows are left after the restore; prod's database before the failback is backup ${sequence?.savedProdBackup ?? "(not saved)"}`,
            });
            const prodAfter = apps.prod.sinceStart;
            checks.push({
                name: "prod's app writes again after the failback",
                ok: prodAfter > 0,
                detail: `${prodAfter} transactions on prod since its writers started again`,
            });
            checks.push({
                name: "DR stays frozen (its writers stopped) as the standby",
                ok: !apps.dr.running,
                detail: apps.dr.running
                    ? "DR's simulated app runs"
                    : "DR's simulated app is stopped; its database took no write after the freeze",
            });
        });
    } catch (e) {
        if (e instanceof InterruptedError) interrupted = e.signal;
        else if (signal.aborted) interrupted = interruptedBy(signal).signal;
        else if (!sequence?.error) error = errorMessage(e);
    }
    if (interrupted && !sequence?.interrupted) rec.event(`interrupted by ${interrupted}`);

    try {
        await rec.run("cleanup", async () => {
            apps.prod.kill();
            apps.dr.kill();
            const results = await Promise.allSettled([services.prod?.stop(), services.dr?.stop(), services.s3?.stop()]);
            removeToolkitScratch();
            if (work) rmSync(work, { recursive: true, force: true });
            const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
            if (failed.length > 0) throw new Error(failed.map((f) => errorMessage(f.reason)).join("; "));
        });
    } catch (e) {
        cleanupFailed = `Cleanup failed: ${errorMessage(e)}. Look for leftover PostgreSQL, psql or s3rver processes and fortress-* folders under ${process.env.TMPDIR ?? "/tmp"}`;
        notes.push(cleanupFailed);
    }

    const s = sequence;
    const report = buildReport({
        kind: "rehearsal",
        flow: "failback",
        id: runId("rehearsal", rec.startedMs),
        scenario: `after a cutover the DR site takes the writes; they are brought back to prod (writes frozen on DR, a final backup in DR's own and offsite buckets, fortress-restore --force into prod) and the public record moves back, on this machine`,
        startedMs: rec.startedMs,
        finishedMs: clock.now(),
        ...(s?.frozenMs !== undefined ? { disasterMs: s.frozenMs } : {}),
        ...(s?.resumedMs !== undefined ? { recoveredMs: s.resumedMs } : {}),
        phases: rec.phases,
        checks,
        targets: opts.targets,
        measured,
        headline: { rto: "database", rpo: "user-data" },
        ...(manifest ? { backup: backupFacts(manifest, "DR site's own") } : {}),
        timeline: rec.timeline,
        context: {
            ...context,
            "public record": `${opts.publicName}, simulated, TTL ${formatSeconds(opts.ttlSeconds)}`,
            "freeze method": "the simulated app's writer stopped (docker compose stop on a droplet)",
        },
        notes,
        ...((interrupted ?? s?.interrupted) ? { interrupted: (interrupted ?? s?.interrupted)! } : {}),
        ...((cleanupFailed ?? s?.cleanupFailed) ? { cleanupFailed: (cleanupFailed ?? s?.cleanupFailed)! } : {}),
        ...((error ?? s?.error) ? { error: (error ?? s?.error)! } : {}),
        ...(s?.frozenMs !== undefined ? { freeze: freezeOf(s, s.frozenMs) } : {}),
        ...(opts.people ? { people: opts.people } : {}),
        postMortem: {
            rootCause:
                "Simulated: the primary region was lost, the public record was cut over to the DR site, and the DR site took writes; then the primary region came back.",
            resolution:
                "The failback sequence of npm run failback on local services: prod's writers stopped and its old database saved; DR's writers stopped and no app session left; a final tagged backup on DR in its own and its offsite bucket; " +
                "fortress-restore --force into prod from DR's buckets; md5 of every table and sequence compared; prod's writers started; the record moved and its TTL waited out.",
            usersAffected: "none (rehearsal on throwaway local services)",
            financialImpact: "none (rehearsal)",
        },
    });
    const files = deps.writeReport(report);
    const fw = report.freezeWindow;
    deps.progress(
        `rehearse: ${report.ok ? "PASSED" : `FAILED (${report.outcome})`}: write freeze ${fw?.seconds != null ? formatSeconds(fw.seconds) : "not over"}; report: ${files.markdown}`,
    );
    return { exitCode: report.exitCode, report, files };
}
