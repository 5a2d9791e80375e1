// The failback (`npm run failback`, and `npm run rehearse -- --scenario failback`): after a
// DNS cutover to the DR site, bring the writes made there back to prod and point the public
// record at prod again, with no write lost. It runs against the interfaces below:
// failback-driver.ts implements them with the Pulumi Automation API and SSH to the droplets,
// rehearse-failback.ts with local PostgreSQL, S3 and the real toolkit, and the unit tests
// with fakes.
//
//   stop prod's writers, back prod's old database up (kept, never lost)
//   FREEZE: stop the DR site's writers; no session of the app is left on its database
//   final tagged backup on DR, written to its own bucket and its offsite bucket (a third region)
//   fortress-restore --force of that backup into prod, from DR's buckets
//   prod equals the frozen DR database: md5 of every table and sequence
//   start prod's writers, health on the host
//   activeSite primary + pulumi up --stack prod; the record answers prod; wait out the TTL
//   RESUME: the public health URL answers from prod. DR stays frozen: its standby.
//
// Zero data loss is by construction: nothing writes on DR once the freeze is checked, and
// the record moves only after prod is proven equal to the frozen database. A failure before
// the record moves is rolled back (DR's writers start again, DR serves as before); once it
// moves nothing is rolled back: DR keeps its writers stopped, so no write lands on a site
// that is not the one the record will end on, and the report says how to finish or go back.
import { errorMessage } from "../tools/cli";
import type { HttpAnswer, OperationHooks } from "./driver";
import { compareFingerprints, type Fingerprint } from "./failback-scripts";
import { backupFacts, manifestTotals, type BackupManifest, type RestoreOutcome } from "./manifest";
import type { PeopleSection } from "./people";
import {
    type Clock,
    InterruptedError,
    interruptedBy,
    PhaseRecorder,
    type RunDeps,
    type RunResult,
    round,
    throwIfInterrupted,
} from "./phases";
import { buildReport, EXIT, runId, type Check, type Measurement, type ReportInput } from "./report";
import { formatSeconds, type Targets } from "./targets";

/** Thrown by a preflight when a prerequisite is missing or the stacks are not in a failback's state: exit 2, nothing touched. */
export class FailbackSetupError extends Error {}

/** Where a site's backups are, and a key that reads them. */
export interface BackupStorage {
    /** Object prefix of the site's backups, `postgresql/<stack>`. */
    prefix: string;
    /** The site's own bucket. */
    primary: { endpoint: string; bucket: string };
    /** The site's offsite bucket, with its own key when it has one; undefined when its settings name none. */
    offsite?: { endpoint: string; bucket: string; accessKeyId?: string; secretAccessKey?: string };
    /** Spaces key that reads both (secrets: never printed, never in a report). */
    accessKeyId: string;
    secretAccessKey: string;
}

/** A site's backup toolkit (fortress-*), on its host. */
export interface SiteToolkit {
    /** Sessions of the app's database role on its database, besides the toolkit's own and the one asking. */
    appSessions(): Promise<number>;
    /** `fortress-backup --tag TAG`; resolves with the backup id. */
    backup(tag: string): Promise<string>;
    /** The manifests in one of the site's buckets, newest first. */
    manifests(source: "primary" | "offsite"): Promise<BackupManifest[]>;
    /** Where the site's backups are, as its host's settings say, with its key. */
    storage(): Promise<BackupStorage>;
    /** `fortress-restore --force` of `backupId` from `from`, replacing the site's database. */
    restoreReplacing(from: BackupStorage, backupId: string): Promise<RestoreOutcome>;
    /** md5 of every table and materialized view, and every sequence's value, of the app database. */
    fingerprint(): Promise<Fingerprint>;
}

/** A site's application: the services that write, and its health on the host. */
export interface AppControl {
    /** The services that write to the database (the app and its workers; not the proxy). */
    writers(): Promise<string[]>;
    stop(services: string[]): Promise<void>;
    start(services: string[]): Promise<void>;
    /** Brings the whole app up (`docker compose up -d`), for a site where nothing ran. */
    up(): Promise<void>;
    /** One request to the app's health URL on the host itself. */
    health(): Promise<HttpAnswer>;
    /** The command an operator runs to start `services` by hand. */
    startHint(services: string[]): string;
}

/** One site: the DR site (a dr stack) or prod. */
export interface FailbackSite {
    /** The stack, e.g. `dr`. */
    name: string;
    /** For progress and the report, e.g. `dr (sfo3, 203.0.113.9)`. */
    label: string;
    app: AppControl;
    toolkit: SiteToolkit;
    /** Releases the site (temporary key files). */
    close(): Promise<void>;
}

/** The public record the cutover moved to the DR site. */
export interface PublicRecord {
    /** The public name, e.g. `api.incomefortress.com`. */
    fqdn: string;
    /** The record's TTL: resolvers may answer the old address this long after it moves. */
    ttlSeconds: number;
    /** Prod's address, which the record answers once it has moved. */
    primaryAddress: string;
    /** Points the record at prod again: activeSite primary, then pulumi up of the primary stack. */
    moveToPrimary(hooks: OperationHooks): Promise<void>;
    /** What the zone's own nameservers answer for the name now (undefined: nothing). */
    resolve(): Promise<string | undefined>;
    /** One request to the public health URL. */
    publicHealth(): Promise<HttpAnswer>;
    /** What an operator does when the run stopped while the record was moving. */
    manualSteps(drWriters: string): string;
}

/** What a preflight found: the two sites and the record, ready to use. */
export interface FailbackPlan {
    /** Facts for the report's Set-up section. */
    facts: Record<string, string>;
    prod: FailbackSite;
    dr: FailbackSite;
    record: PublicRecord;
}

/** Timing of the sequence. */
export interface SequenceOptions {
    /** Stamp in the backups' tags, `20260301-060000`. */
    stamp: string;
    /** The RTO row the write freeze is measured as: `api` on DigitalOcean, `database` in the rehearsal. */
    freezeRow: "api" | "database";
    /** How long the app's sessions may take to leave the DR database after its writers stop (ms). */
    sessionTimeoutMs: number;
    /** How long prod's app may take to answer its health URL, on the host and then publicly (ms). */
    healthTimeoutMs: number;
    /** How long the record may take to answer prod's address at the zone's nameservers (ms). */
    resolveTimeoutMs: number;
    /** Delay between polls (ms). */
    pollIntervalMs: number;
    /** Delay before a backup that found another fortress-backup running is tried again (ms). */
    lockRetryMs: number;
}

/** What the sequence shares with the run around it. */
export interface SequenceContext {
    rec: PhaseRecorder;
    clock: Clock;
    sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
    signal: AbortSignal;
    checks: Check[];
    notes: string[];
    measured: { rto: Record<string, Measurement>; rpo: Record<string, Measurement> };
    /** Called when the final backup's manifest is known (for the report's backup facts). */
    onBackup?: (m: BackupManifest) => void;
    /** Called right after prod's database was replaced, before anything writes to it. */
    onRestored?: () => Promise<void>;
}

/** Where the sequence stopped. */
export type SequenceState =
    /** Nothing was frozen (a failure before the freeze; prod's app was started again if it was stopped). */
    | "not-frozen"
    /** Frozen, then rolled back: DR's writers started again, DR serves as before. */
    | "rolled-back"
    /** Frozen, and the rollback failed: DR's writers may be stopped; the notes say how to start them. */
    | "rollback-failed"
    /** Stopped once the record began to move: DR's writers stay stopped; the notes say how to finish or go back. */
    | "record-moving"
    /** Done: prod takes writes on the public name, DR is frozen (standby). */
    | "done";

export interface SequenceResult {
    state: SequenceState;
    frozenMs?: number;
    /** When prod took writes on the public name. */
    resumedMs?: number;
    /** When DR's writers started again at a rollback. */
    rolledBackMs?: number;
    ttlWaitSeconds?: number;
    manifest?: BackupManifest;
    /** The backup of prod's database as it was before the failback. */
    savedProdBackup?: string;
    error?: string;
    interrupted?: NodeJS.Signals;
    /** Set when the rollback failed: what is left and how to fix it. */
    cleanupFailed?: string;
}

/** A phase's polling: call `probe` until `done`, or until `timeoutMs` has passed. */
async function poll<T>(
    ctx: SequenceContext,
    timeoutMs: number,
    intervalMs: number,
    probe: () => Promise<T>,
    done: (v: T) => boolean,
): Promise<{ value: T; ok: boolean }> {
    const deadline = ctx.clock.now() + timeoutMs;
    for (;;) {
        const value = await probe();
        if (done(value)) return { value, ok: true };
        if (ctx.clock.now() >= deadline) return { value, ok: false };
        await ctx.sleep(intervalMs, ctx.signal);
    }
}

const LOCKED = /another fortress-backup is running/;

/** How often a backup that finds the host's own timer holding the backup lock is tried. */
const LOCK_ATTEMPTS = 10;

/** `fortress-backup`, tried again while the host's own timer holds the backup lock. */
async function backupWithRetry(
    ctx: SequenceContext,
    o: SequenceOptions,
    site: FailbackSite,
    tag: string,
): Promise<string> {
    for (let attempt = 1; ; attempt++) {
        try {
            return await site.toolkit.backup(tag);
        } catch (e) {
            if (attempt >= LOCK_ATTEMPTS || !LOCKED.test(errorMessage(e))) throw e;
            ctx.rec.say(
                `  ${site.name}: a scheduled backup is running; trying again in ${formatSeconds(o.lockRetryMs / 1000)}`,
            );
            await ctx.sleep(o.lockRetryMs, ctx.signal);
        }
    }
}

/** The sequence's phases in order: a failback that succeeds records each of them once. */
export const FAILBACK_PHASES = [
    "stop-prod-writers",
    "save-prod-database",
    "freeze-dr-writes",
    "final-backup",
    "offsite-copy",
    "restore-into-prod",
    "compare-prod-with-dr",
    "start-prod-writers",
    "move-record-to-prod",
    "wait-out-ttl",
    "resume-writes",
] as const;

/**
 * The failback itself, from prod's writers stopping to writes resuming on prod. Records its
 * phases and checks in the context; never throws: how it ended is in the result.
 */
export async function failbackSequence(
    plan: FailbackPlan,
    o: SequenceOptions,
    ctx: SequenceContext,
): Promise<SequenceResult> {
    const { rec, clock, signal, checks } = ctx;
    const { prod, dr, record } = plan;
    const result: SequenceResult = { state: "not-frozen" };
    let prodWriters: string[] = [];
    let prodStopped = false;
    let prodStarted = false;
    let drWriters: string[] = [];
    let frozen = false;
    let moving = false;
    const step: <T>(name: (typeof FAILBACK_PHASES)[number], fn: () => Promise<T>) => Promise<T> = rec.stepper(signal);

    try {
        // Prod is not public yet: its writers (workers, schedulers) stop before its old database is saved.
        await step("stop-prod-writers", async () => {
            prodWriters = await prod.app.writers();
            prodStopped = true;
            await prod.app.stop(prodWriters);
            rec.say(`  stopped on ${prod.label}: ${prodWriters.join(", ") || "nothing was running"}`);
        });
        result.savedProdBackup = await step("save-prod-database", async () => {
            const id = await backupWithRetry(ctx, o, prod, `pre-failback-${o.stamp}`);
            const kept = (await prod.toolkit.manifests("primary")).find((m) => m.id === id);
            checks.push({
                name: "prod's database before the failback is kept as a backup",
                ok: kept !== undefined,
                detail: kept
                    ? `${id} in prod's bucket (${manifestTotals(kept).rows.toLocaleString("en-US")} rows): what prod held before it is replaced, with any write it took before the cutover that never reached DR`
                    : `${id} is not listed in prod's bucket after fortress-backup printed it`,
            });
            if (!kept) throw new Error(`prod's old database is not safely kept`);
            return id;
        });

        // ------------------------------------------------------------ the freeze
        await step("freeze-dr-writes", async () => {
            drWriters = await dr.app.writers();
            if (drWriters.length === 0)
                throw new Error(
                    `${dr.label} lists no service that writes: nothing to stop, so writes cannot be frozen; check the compose project`,
                );
            result.frozenMs = clock.now();
            frozen = true;
            rec.event(`write freeze begins: stopping ${drWriters.join(", ")} on ${dr.label}`, result.frozenMs);
            await dr.app.stop(drWriters);
            const left = await poll(
                ctx,
                o.sessionTimeoutMs,
                o.pollIntervalMs,
                () => dr.toolkit.appSessions(),
                (n) => n === 0,
            );
            checks.push({
                name: "no session of the app is left on the DR database",
                ok: left.ok,
                detail: left.ok
                    ? `${drWriters.join(", ")} stopped; no session of the app's role but the toolkit's`
                    : `${left.value} session(s) of the app's role still connected ${formatSeconds(o.sessionTimeoutMs / 1000)} after the writers stopped: something else writes (see pg_stat_activity)`,
            });
            if (!left.ok) throw new Error(`the app's sessions did not leave the DR database`);
        });

        const backupId = await step("final-backup", () => backupWithRetry(ctx, o, dr, `failback-${o.stamp}`));
        rec.event(`final backup ${backupId} taken on ${dr.name}`);

        const drStorage = await step("offsite-copy", async () => {
            const storage = await dr.toolkit.storage();
            const own = (await dr.toolkit.manifests("primary")).find((m) => m.id === backupId);
            checks.push({
                name: "the final backup is in the DR site's own bucket",
                ok: own !== undefined,
                detail: `${backupId} ${own ? "listed" : "missing"} in s3://${storage.primary.bucket}/${storage.prefix} (${storage.primary.endpoint})`,
            });
            if (!storage.offsite) {
                checks.push({
                    name: "the final backup has a copy outside the DR region",
                    ok: false,
                    detail: `${dr.name}'s backup settings name no offsite bucket: run pulumi up --stack ${dr.name} with this version (drOffsiteBucket, drOffsiteRegion), then the failback again`,
                });
                throw new Error(`${dr.name} has no offsite bucket`);
            }
            const copy = (await dr.toolkit.manifests("offsite")).find((m) => m.id === backupId);
            const same =
                copy !== undefined && own !== undefined && copy.sha256 === own.sha256 && copy.bytes === own.bytes;
            checks.push({
                name: "the final backup has a copy outside the DR region",
                ok: same,
                detail: copy
                    ? `${backupId} in s3://${storage.offsite.bucket}/${storage.prefix} (${storage.offsite.endpoint}), ${copy.bytes.toLocaleString("en-US")} bytes, sha256 ${copy.sha256.slice(0, 16)}…${same ? ", as in the own bucket" : ", NOT as in the own bucket"}`
                    : `${backupId} is missing from s3://${storage.offsite.bucket}/${storage.prefix} (${storage.offsite.endpoint})`,
            });
            if (!same || !copy) throw new Error(`the final backup has no good offsite copy`);
            result.manifest = copy;
            ctx.onBackup?.(copy);
            return storage;
        });
        const manifest = result.manifest!;
        const totals = manifestTotals(manifest);

        await step("restore-into-prod", async () => {
            const outcome = await prod.toolkit.restoreReplacing(drStorage, backupId);
            rec.say(
                `  ${prod.name}: ${outcome.restored ? `restored ${outcome.backupId} into ${outcome.database}: ${outcome.tables} tables, ${outcome.rows.toLocaleString("en-US")} rows` : outcome.reason}`,
            );
            const ok =
                outcome.restored &&
                outcome.backupId === backupId &&
                outcome.tables === totals.tables &&
                outcome.rows === totals.rows;
            checks.push({
                name: "prod's database is replaced by the final backup, counts as in the manifest",
                ok,
                detail: outcome.restored
                    ? `fortress-restore --force restored ${outcome.backupId} into ${outcome.database}: ${outcome.tables} tables, ${outcome.rows.toLocaleString("en-US")} rows (manifest: ${totals.tables}, ${totals.rows.toLocaleString("en-US")})`
                    : outcome.reason,
            });
            if (!ok) throw new Error(`the restore into prod did not give the backup's counts`);
            await ctx.onRestored?.();
        });

        await step("compare-prod-with-dr", async () => {
            const [frozenDr, replacedProd] = await Promise.all([dr.toolkit.fingerprint(), prod.toolkit.fingerprint()]);
            const c = compareFingerprints(frozenDr, replacedProd);
            const n = Object.keys(frozenDr.relations).length;
            const s = Object.keys(frozenDr.sequences).length;
            checks.push({
                name: "prod holds every row written on DR: md5 of every table and sequence equal",
                ok: c.equal,
                detail: c.equal
                    ? `${n} tables and materialized views, ${s} sequences of the frozen DR database equal on prod`
                    : `differ: ${[...c.differing, ...c.missing.map((m) => `${m} (not on prod)`)].slice(0, 6).join(", ")}`,
            });
            if (c.extra.length > 0)
                ctx.notes.push(
                    `prod has ${c.extra.length} relation(s) DR does not (kept by fortress-restore --force, which drops only what the backup holds): ${c.extra.slice(0, 6).join(", ")}`,
                );
            if (!c.equal) throw new Error(`prod differs from the frozen DR database`);
            const how = `writes were frozen on ${dr.name} before the final backup's snapshot (${manifest.createdAt}), and prod equals the frozen database table by table: no write made on DR is lost`;
            for (const key of ["user-data", "transactions"]) ctx.measured.rpo[key] = { seconds: 0, how };
        });

        await step("start-prod-writers", async () => {
            prodStarted = true;
            if (prodWriters.length > 0) await prod.app.start(prodWriters);
            else {
                // Nothing ran on prod (its app was never started after the region came back).
                await prod.app.up();
                prodWriters = await prod.app.writers();
            }
            const h = await poll(
                ctx,
                o.healthTimeoutMs,
                o.pollIntervalMs,
                () => prod.app.health(),
                (a) => a.status === 200,
            );
            checks.push({
                name: "prod's app answers its health URL on the host",
                ok: h.ok,
                detail: h.ok
                    ? `${prodWriters.join(", ")} started; ${h.value.detail}`
                    : `no 200 within ${formatSeconds(o.healthTimeoutMs / 1000)} (last: ${h.value.detail})`,
            });
            if (!h.ok) throw new Error(`prod's app is not healthy`);
        });

        // ------------------------------------------------------------ the record
        throwIfInterrupted(signal);
        moving = true;
        await rec.run("move-record-to-prod" satisfies (typeof FAILBACK_PHASES)[number], () =>
            record.moveToPrimary({
                onEvent: (e) => {
                    if (e.kind === "diagnostic" && (e.severity === "error" || e.severity === "warning"))
                        rec.say(`  ${e.severity}: ${(e.message ?? "").trim()}`);
                    else if (
                        e.kind === "resource-done" &&
                        e.op &&
                        e.op !== "same" &&
                        e.type &&
                        e.type !== "pulumi:pulumi:Stack"
                    )
                        rec.say(`  ${e.op} ${e.type} ${e.urn?.slice(e.urn.lastIndexOf("::") + 2) ?? ""}`);
                },
                signal,
            }),
        );
        rec.event(`the public record ${record.fqdn} is set to prod (${record.primaryAddress})`);

        await step("wait-out-ttl", async () => {
            const r = await poll(
                ctx,
                o.resolveTimeoutMs,
                o.pollIntervalMs,
                () => record.resolve(),
                (a) => a === record.primaryAddress,
            );
            checks.push({
                name: "the public record answers prod's address",
                ok: r.ok,
                detail: r.ok
                    ? `${record.fqdn} -> ${r.value} at the zone's nameservers`
                    : `${record.fqdn} still answers ${r.value ?? "nothing"} after ${formatSeconds(o.resolveTimeoutMs / 1000)}, not ${record.primaryAddress}`,
            });
            if (!r.ok) throw new Error(`the record does not answer prod's address`);
            const ttlStart = clock.now();
            rec.say(
                `  waiting out the TTL (${formatSeconds(record.ttlSeconds)}): resolvers may still answer the DR site, which takes no writes`,
            );
            await ctx.sleep(record.ttlSeconds * 1000, signal);
            result.ttlWaitSeconds = round((clock.now() - ttlStart) / 1000);
        });

        await step("resume-writes", async () => {
            const h = await poll(
                ctx,
                o.healthTimeoutMs,
                o.pollIntervalMs,
                () => record.publicHealth(),
                (a) => a.status === 200,
            );
            checks.push({
                name: "the public health URL answers from prod",
                ok: h.ok,
                detail: h.ok
                    ? h.value.detail
                    : `no 200 within ${formatSeconds(o.healthTimeoutMs / 1000)} (last: ${h.value.detail})`,
            });
            if (!h.ok) throw new Error(`the public health URL does not answer from prod`);
            result.resumedMs = clock.now();
        });
        const window = round((result.resumedMs! - result.frozenMs!) / 1000);
        ctx.measured.rto[o.freezeRow] = {
            seconds: window,
            how: `the write freeze: from stopping the writers on ${dr.name} to prod answering on the public name after the record's TTL`,
        };
        rec.event(
            `writes resume on prod after a ${formatSeconds(window)} freeze; ${dr.name} keeps its writers stopped (standby)`,
            result.resumedMs,
        );
        ctx.notes.push(
            `${dr.label} keeps its writers (${drWriters.join(", ")}) stopped: its database now trails prod, and a client that still resolves the old address cannot write there. ` +
                `Before the next cutover, restore prod's latest backup on it (fortress-restore --force --source offsite with the vault's settings), or destroy it and let pulumi up --stack ${dr.name} restore from the vault.`,
        );
        result.state = "done";
        return result;
    } catch (e) {
        if (e instanceof InterruptedError) result.interrupted = e.signal;
        else if (signal.aborted) result.interrupted = interruptedBy(signal).signal;
        else result.error = errorMessage(e);
    }

    if (result.interrupted) rec.event(`interrupted by ${result.interrupted}`);
    if (moving) {
        result.state = "record-moving";
        result.cleanupFailed =
            `Cleanup failed: the run stopped while the public record was moving to prod. Prod holds the final backup and its writers run; ${dr.name} keeps its writers stopped, so no write is lost meanwhile. ` +
            record.manualSteps(drWriters.join(" "));
        ctx.notes.push(result.cleanupFailed);
        return result;
    }
    if (!frozen && !prodStopped) return result;
    // Roll back: prod's writers as they were, then DR's, which serves as before.
    try {
        await rec.run("rollback", async () => {
            if (prodStopped && !prodStarted) await prod.app.start(prodWriters);
            if (frozen) await dr.app.start(drWriters);
        });
        if (frozen) {
            result.state = "rolled-back";
            result.rolledBackMs = clock.now();
            rec.event(
                `rolled back: ${drWriters.join(", ")} started again on ${dr.name}, which serves as before; the public record was not touched`,
            );
            ctx.notes.push(
                `Rolled back: ${dr.name} takes writes again and the public record still points at it. Fix what failed, then run the failback again.`,
            );
        }
    } catch (e) {
        result.state = frozen ? "rollback-failed" : "not-frozen";
        result.cleanupFailed =
            `Cleanup failed: the rollback did not finish (${errorMessage(e)}). ` +
            (frozen
                ? `${dr.name}'s writers may still be stopped, so the public site takes no writes: ${dr.app.startHint(drWriters)}. `
                : "") +
            (prodStopped && !prodStarted ? `Prod's writers may be stopped: ${prod.app.startHint(prodWriters)}.` : "");
        ctx.notes.push(result.cleanupFailed);
    }
    return result;
}

/** Makes the plan: checks the stacks and reaches both hosts. Throws FailbackSetupError when it cannot. */
export interface FailbackDriver {
    preflight(): Promise<FailbackPlan>;
}

/** What `npm run failback` was asked to do. */
export interface FailbackOptions extends SequenceOptions {
    targets: Targets;
    /** Who does what (prod's contacts). */
    people?: PeopleSection;
    /** Facts for the report's Set-up section. */
    context: Record<string, string>;
}

export interface FailbackDeps extends RunDeps {
    driver: FailbackDriver;
    /** Waits, or rejects with InterruptedError when the signal aborts. */
    sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Result of a failback. `report` is absent when the preflight stopped it (nothing was touched). */
export type FailbackResult = RunResult;

/** `npm run failback`: preflight, the sequence, the report. Never throws. */
export async function runFailback(opts: FailbackOptions, deps: FailbackDeps): Promise<FailbackResult> {
    const { clock } = deps;
    const rec = new PhaseRecorder(clock, deps.progress);
    const t0 = clock.now();
    let plan: FailbackPlan;
    try {
        plan = await deps.driver.preflight();
    } catch (e) {
        deps.progress(`failback: error: ${errorMessage(e)}`);
        return { exitCode: e instanceof FailbackSetupError ? EXIT.usage : EXIT.failure };
    }
    rec.record("preflight", t0, true);

    const checks: Check[] = [];
    const notes: string[] = [];
    const measured: SequenceContext["measured"] = { rto: {}, rpo: {} };
    const r = await failbackSequence(plan, opts, {
        rec,
        clock,
        sleep: deps.sleep,
        signal: deps.signal,
        checks,
        notes,
        measured,
    });
    await Promise.allSettled([plan.prod.close(), plan.dr.close()]);

    const { prod, dr, record } = plan;
    const report = buildReport({
        kind: "failback",
        flow: "failback",
        id: runId("failback", rec.startedMs),
        scenario: `after a cutover the public record ${record.fqdn} points at the DR site, ${dr.label}; its writes are brought back to prod, ${prod.label}, and the record moves back`,
        startedMs: rec.startedMs,
        finishedMs: clock.now(),
        ...(r.frozenMs !== undefined ? { disasterMs: r.frozenMs } : {}),
        ...(r.resumedMs !== undefined ? { recoveredMs: r.resumedMs } : {}),
        phases: rec.phases,
        checks,
        targets: opts.targets,
        measured,
        headline: { rto: opts.freezeRow, rpo: "user-data" },
        ...(r.manifest ? { backup: backupFacts(r.manifest, `${dr.name} site's own`) } : {}),
        timeline: rec.timeline,
        context: {
            ...plan.facts,
            ...opts.context,
            ...(r.savedProdBackup
                ? { "prod's database before the failback": `backup ${r.savedProdBackup} in prod's buckets` }
                : {}),
        },
        notes,
        ...(r.interrupted ? { interrupted: r.interrupted } : {}),
        ...(r.cleanupFailed ? { cleanupFailed: r.cleanupFailed } : {}),
        ...(r.error ? { error: r.error } : {}),
        ...(r.frozenMs !== undefined ? { freeze: freezeOf(r, r.frozenMs) } : {}),
        ...(opts.people ? { people: opts.people } : {}),
        postMortem: {
            rootCause: `Planned: the service ran on the DR site after a cutover (activeSite dr on ${prod.name}) and returns to the primary site. The incident that led to the cutover: [root cause, from its own post-mortem].`,
            resolution:
                `npm run failback: ${prod.name}'s writers stopped and its old database saved; writes frozen on ${dr.name} (its writers stopped, no app session left); a final tagged backup on ${dr.name}, in its own bucket and its offsite bucket; ` +
                `fortress-restore --force of that backup into ${prod.name}, compared table by table with the frozen database; ${prod.name}'s writers started; activeSite primary and pulumi up --stack ${prod.name}; the TTL waited out; ${dr.name} left frozen as the standby.`,
            usersAffected:
                "[Number/percentage]: every user during the write freeze (the API's writers are stopped on the DR site until prod answers)",
            financialImpact: "[Estimate]",
            severity: "[P0/P1/P2] (a planned write freeze that closes an incident)",
        },
    });
    const files = deps.writeReport(report);
    const fw = report.freezeWindow;
    deps.progress(
        `failback: ${report.ok ? "DONE" : `FAILED (${report.outcome})`}: write freeze ${fw?.seconds != null ? formatSeconds(fw.seconds) : "not over"}; report: ${files.markdown}`,
    );
    return { exitCode: report.exitCode, report, files };
}

/** The report's freeze: frozen, resumed on prod (done) or on DR (rolled back), the TTL wait. */
export function freezeOf(r: SequenceResult, frozenMs: number): NonNullable<ReportInput["freeze"]> {
    const resumed =
        r.resumedMs !== undefined
            ? { resumedMs: r.resumedMs, resumedOn: "prod" as const }
            : r.rolledBackMs !== undefined
              ? { resumedMs: r.rolledBackMs, resumedOn: "dr" as const }
              : {};
    return { frozenMs, ...resumed, ...(r.ttlWaitSeconds !== undefined ? { ttlWaitSeconds: r.ttlWaitSeconds } : {}) };
}
