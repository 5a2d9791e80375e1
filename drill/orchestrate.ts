// The quarterly drill (`npm run drill`) against the StackDriver and HostProbe
// interfaces: create an ephemeral drill-<timestamp> stack from the DR config, bring it up
// with live progress, validate it, measure RTO and RPO, write the report, and always destroy
// the stack (after a failure and after Ctrl-C too) unless --keep.
//
// Time zero is the declared disaster: the moment the drill starts building (RTO runs from
// there to a healthy service; RPO is the age of the restored backup's snapshot at that moment).
import { errorMessage } from "../tools/cli";
import type { ComposeService, DriverEvent, HostProbe, HostProbeFactory, StackDriver, StackOutputs } from "./driver";
import { DrillSetupError } from "./driver";
import type { PeopleSection } from "./people";
import {
    backupFacts,
    countDifferences,
    manifestTotals,
    parseRestoreOutput,
    type BackupManifest,
    type RestoreOutcome,
} from "./manifest";
import {
    InterruptedError,
    interruptedBy,
    PhaseRecorder,
    type RunDeps,
    type RunResult,
    round,
    throwIfInterrupted,
} from "./phases";
import { buildReport, EXIT, type Check, type Measurement } from "./report";
import { formatSeconds, formatTarget, type Targets } from "./targets";

/** What `npm run drill` was asked to do. */
export interface DrillOptions {
    /** Targets after overrides. */
    targets: Targets;
    /** Keep the stack afterwards (no destroy). */
    keep: boolean;
    /** Path of the health endpoint on the drill hostname. Default `/health`. */
    healthPath: string;
    /** How long to poll the health URL after `up` (ms). */
    healthTimeoutMs: number;
    /** How long to wait for every compose service to be healthy (ms). */
    composeTimeoutMs: number;
    /** Delay between polls (ms). */
    pollIntervalMs: number;
    /** The backup the drill restores: `latest` or an id (used to find its manifest). */
    restoreBackup: string;
    /** Facts for the report's Set-up section. */
    context: Record<string, string>;
    /** Who does what (the DR stack's contacts). */
    people?: PeopleSection;
}

/** Everything the drill touches, injectable. */
export interface DrillDeps extends RunDeps {
    driver: StackDriver;
    probe: HostProbeFactory;
    /** Waits, or rejects with InterruptedError when the signal aborts. */
    sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Result of a drill run. `report` is absent when preflight stopped it (exit 2). */
export type DrillResult = RunResult;

/** How often the drill prints what `pulumi up` is still waiting on. */
const HEARTBEAT_MS = 60_000;

/** A resource whose completion marks an RTO row (matched by type and the URN's name). */
interface Milestone {
    key: "database" | "cache";
    how: string;
    match: (type: string, name: string) => boolean;
}

/** The last `::`-separated part of a URN: the resource's logical name. */
export function urnName(urn: string): string {
    return urn.slice(urn.lastIndexOf("::") + 2);
}

// Resource names come from components/recovery.ts (`<recovery>-restore`) and
// components/database.ts (`<db>-valkey`).
export const MILESTONES: readonly Milestone[] = [
    {
        key: "database",
        how: "from the start of the drill until the recovery chain's restore step finished (fortress-restore from the vault, counts checked against the manifest)",
        match: (type, name) => type === "command:remote:Command" && /-restore$/.test(name),
    },
    {
        key: "cache",
        how: "from the start of the drill until the managed Valkey cluster was created",
        match: (type, name) => type === "digitalocean:index/databaseCluster:DatabaseCluster" && /-valkey$/.test(name),
    },
];

/** Whether compose services are all up: running (and healthy when they have a healthcheck), or exited 0. */
export function composeVerdict(services: ComposeService[]): { ok: boolean; detail: string; celery: string[] } {
    if (services.length === 0) return { ok: false, detail: "docker compose ps lists no services", celery: [] };
    const bad = services.filter(
        (s) =>
            !(s.state === "running" && (s.health === "" || s.health === "healthy")) &&
            !(s.state === "exited" && s.exitCode === 0),
    );
    const celery = services.filter((s) => /celery/i.test(s.name)).map((s) => s.name);
    const describe = (s: ComposeService) =>
        `${s.name} ${s.state}${s.health ? ` (${s.health})` : ""}${s.state === "exited" ? ` exit ${s.exitCode}` : ""}`;
    return bad.length === 0
        ? { ok: true, detail: `${services.length} services up: ${services.map((s) => s.name).join(", ")}`, celery }
        : {
              ok: false,
              detail: `${bad.length} of ${services.length} not healthy: ${bad.map(describe).join("; ")}`,
              celery,
          };
}

/** A string output, or an error naming the output. */
export function outputString(outputs: StackOutputs, name: string): string {
    const v = outputs[name]?.value;
    if (typeof v !== "string" || v === "")
        throw new Error(`the stack has no "${name}" output; is index.ts exporting it?`);
    return v;
}

/** The manifest of the backup the restore used: by id when known, else the newest finished before the restore did. */
export function pickManifest(
    manifests: BackupManifest[],
    restore: RestoreOutcome | undefined,
    restoreBackup: string,
    restoreDoneMs: number | undefined,
): BackupManifest | undefined {
    if (restore?.restored) return manifests.find((m) => m.id === restore.backupId);
    if (restoreBackup !== "latest" && !restoreBackup.startsWith("before:"))
        return manifests.find((m) => m.id === restoreBackup);
    const limit = restoreDoneMs ?? Number.POSITIVE_INFINITY;
    return [...manifests]
        .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))
        .find((m) => Date.parse(m.completedAt || m.createdAt) <= limit);
}

/** Runs the drill; never throws (every failure ends up in the report and the exit code). */
export async function runDrill(opts: DrillOptions, deps: DrillDeps): Promise<DrillResult> {
    const { driver, clock, signal } = deps;
    const rec = new PhaseRecorder(clock, deps.progress);
    const name = driver.stackName;

    // Preflight creates nothing: when it fails there is no report, just one line and exit 2.
    let facts: Record<string, string>;
    const preflightStart = clock.now();
    try {
        facts = await driver.preflight();
    } catch (e) {
        deps.progress(`drill: error: ${errorMessage(e)}`);
        return { exitCode: e instanceof DrillSetupError ? EXIT.usage : EXIT.failure };
    }
    rec.record("preflight", preflightStart, true);

    const checks: Check[] = [];
    const measured: { rto: Record<string, Measurement>; rpo: Record<string, Measurement> } = { rto: {}, rpo: {} };
    const notes: string[] = [];
    const started = new Map<string, number>();
    const finished = new Set<string>();
    const milestones = new Map<string, { at: number; outputs?: Record<string, unknown> }>();
    let created = false;
    let interrupted: NodeJS.Signals | undefined;
    let error: string | undefined;
    let cleanupFailed: string | undefined;
    let recoveredMs: number | undefined;
    let manifest: BackupManifest | undefined;

    const disasterMs = clock.now();
    rec.event(`disaster declared: the drill rebuilds the platform from the DR config as stack ${name}`, disasterMs);

    const onEvent = (e: DriverEvent) => {
        if (e.kind === "diagnostic") {
            if (e.severity === "error" || e.severity === "warning")
                rec.say(`  ${e.severity}: ${(e.message ?? "").trim()}`);
            return;
        }
        if (!e.urn || !e.type) return;
        const label = `${e.type} ${urnName(e.urn)}`;
        if (e.kind === "resource-started") {
            started.set(e.urn, e.at);
            return;
        }
        finished.add(e.urn);
        if (e.op === "same" || e.type === "pulumi:pulumi:Stack") return;
        const took = started.has(e.urn) ? ` (${formatSeconds((e.at - started.get(e.urn)!) / 1000)})` : "";
        if (e.kind === "resource-failed") {
            rec.say(`  ! ${label} ${e.op ?? ""} failed${took}`);
            return;
        }
        rec.say(`  ${e.op === "delete" ? "-" : "+"} ${label} ${e.op ?? ""}${took}`);
        const name = urnName(e.urn);
        for (const m of MILESTONES) {
            if (e.op !== "delete" && !milestones.has(m.key) && m.match(e.type, name)) {
                milestones.set(m.key, { at: e.at, outputs: e.outputs });
                rec.event(`${m.key === "database" ? "database restored" : "cache ready"} (${label})`, e.at);
            }
        }
    };

    try {
        throwIfInterrupted(signal);
        await rec.run("create-stack", () => driver.create());
        created = true;
        throwIfInterrupted(signal);
        // A database cluster takes minutes without an event: say what is still in flight.
        const heartbeat = setInterval(() => {
            const now = clock.now();
            const inFlight = [...started.entries()]
                .filter(([urn]) => !finished.has(urn))
                .map(([urn, at]) => `${urnName(urn)} (${formatSeconds((now - at) / 1000)})`);
            if (inFlight.length > 0)
                rec.say(
                    `  ... waiting on ${inFlight.slice(0, 4).join(", ")}${inFlight.length > 4 ? ` and ${inFlight.length - 4} more` : ""}`,
                );
        }, HEARTBEAT_MS);
        heartbeat.unref();
        const outputs = await rec
            .run("pulumi-up", () => driver.up({ onEvent, signal }))
            .finally(() => clearInterval(heartbeat));
        throwIfInterrupted(signal);
        for (const m of MILESTONES) {
            const hit = milestones.get(m.key);
            if (hit) measured.rto[m.key] = { seconds: round((hit.at - disasterMs) / 1000), how: m.how };
        }
        await rec.run("validate", async () => {
            const probe = await deps.probe(outputs);
            try {
                const v = await validate(opts, deps, rec, probe, outputs, disasterMs, milestones, checks, measured);
                recoveredMs = v.recoveredMs;
                manifest = v.manifest;
            } finally {
                await probe.close();
            }
        });
    } catch (e) {
        if (e instanceof InterruptedError) interrupted = e.signal;
        else if (signal.aborted) interrupted = interruptedBy(signal).signal;
        else error = errorMessage(e);
    }

    if (interrupted) rec.event(`interrupted by ${interrupted}`);
    if (created && opts.keep) {
        notes.push(
            `--keep: stack ${name} was kept. Destroy it when done: pulumi destroy --stack ${name} --yes && pulumi stack rm ${name} --yes`,
        );
        rec.event(`stack ${name} kept (--keep)`);
    } else if (created) {
        try {
            await rec.run("destroy", async () => {
                await driver.destroy({ onEvent, refresh: error !== undefined || interrupted !== undefined });
                await driver.remove();
            });
        } catch (e) {
            cleanupFailed = `Cleanup failed: stack ${name} may still hold resources (${errorMessage(e)}). Destroy it by hand: pulumi destroy --stack ${name} --yes && pulumi stack rm ${name} --yes`;
            notes.push(cleanupFailed);
        }
    }

    const report = buildReport({
        kind: "drill",
        id: name,
        scenario:
            "the primary region is lost; the whole platform is rebuilt from the DR stack's config in the DR region, with the latest backup restored from the offsite vault",
        startedMs: rec.startedMs,
        finishedMs: clock.now(),
        disasterMs,
        ...(recoveredMs !== undefined ? { recoveredMs } : {}),
        phases: rec.phases,
        checks,
        targets: opts.targets,
        measured,
        headline: { rto: "api", rpo: "user-data" },
        ...(manifest ? { backup: backupFacts(manifest, "offsite vault") } : {}),
        timeline: rec.timeline,
        context: { stack: name, ...facts, ...opts.context },
        notes,
        ...(interrupted ? { interrupted } : {}),
        ...(cleanupFailed ? { cleanupFailed } : {}),
        ...(error ? { error } : {}),
        ...(opts.people ? { people: opts.people } : {}),
        postMortem: {
            rootCause:
                "Simulated: the primary region (droplet, managed PostgreSQL and Valkey) was declared lost at the start of the drill. Nothing in production was touched.",
            resolution: `\`pulumi up\` of the ephemeral stack ${name} (the DR config on the drill hostname): network, droplet, managed PostgreSQL and Valkey, the recovery chain (restore from the vault, migrate, compose up, health gate), then validation over HTTPS and SSH, then \`pulumi destroy\`.`,
            usersAffected: "none (drill on an ephemeral stack; the public record was not touched)",
            financialImpact: `the drill stack's resources for ${formatSeconds((clock.now() - rec.startedMs) / 1000)}`,
        },
    });
    const files = deps.writeReport(report);
    deps.progress(`drill: ${report.ok ? "PASSED" : `FAILED (${report.outcome})`}; report: ${files.markdown}`);
    return { exitCode: report.exitCode, report, files };
}

/** The validation phase: health over HTTPS, compose services, the backup used and its counts. */
async function validate(
    opts: DrillOptions,
    deps: DrillDeps,
    rec: PhaseRecorder,
    probe: HostProbe,
    outputs: StackOutputs,
    disasterMs: number,
    milestones: Map<string, { at: number; outputs?: Record<string, unknown> }>,
    checks: Check[],
    measured: { rto: Record<string, Measurement>; rpo: Record<string, Measurement> },
): Promise<{ recoveredMs?: number; manifest?: BackupManifest }> {
    const { clock, signal } = deps;
    const since = (at: number) => round((at - disasterMs) / 1000);

    // 1. The health URL over HTTPS, polled: DNS and the certificate may lag behind `up`.
    const url = `https://${outputString(outputs, "hostname")}${opts.healthPath}`;
    let healthyAt: number | undefined;
    let last = "no answer yet";
    for (const deadline = clock.now() + opts.healthTimeoutMs; ; ) {
        const answer = await probe.httpsGet(url);
        if (answer.status === 200) {
            healthyAt = clock.now();
            break;
        }
        last = answer.detail;
        if (clock.now() >= deadline) break;
        await deps.sleep(opts.pollIntervalMs, signal);
    }
    checks.push({
        name: "health URL answers 200 over HTTPS",
        ok: healthyAt !== undefined,
        detail:
            healthyAt !== undefined
                ? `${url} answered 200, ${formatSeconds(since(healthyAt))} after the disaster`
                : `${url} did not answer 200 within ${formatSeconds(opts.healthTimeoutMs / 1000)} (last: ${last})`,
    });
    if (healthyAt !== undefined) {
        measured.rto.api = {
            seconds: since(healthyAt),
            how: `from the start of the drill to the first 200 from ${url}`,
        };
        rec.event(`service healthy: ${url} answered 200`, healthyAt);
    }

    // 2. Compose services healthy (healthchecks may still be starting).
    let verdict = composeVerdict([]);
    let composeAt: number | undefined;
    for (const deadline = clock.now() + opts.composeTimeoutMs; ; ) {
        verdict = composeVerdict(await probe.composeServices());
        if (verdict.ok) {
            composeAt = clock.now();
            break;
        }
        if (clock.now() >= deadline) break;
        await deps.sleep(opts.pollIntervalMs, signal);
    }
    checks.push({ name: "compose services healthy", ok: verdict.ok, detail: verdict.detail });
    if (composeAt !== undefined && verdict.celery.length > 0) {
        measured.rto.celery = {
            seconds: since(composeAt),
            how: `from the start of the drill until every compose service, including ${verdict.celery.join(", ")}, was running and healthy`,
        };
    }

    // 3. The backup the restore used, and its age when the disaster was declared (the RPO).
    const restoreHit = milestones.get("database");
    const stdout = restoreHit?.outputs?.stdout;
    const restore = typeof stdout === "string" ? parseRestoreOutput(stdout) : undefined;
    checks.push({
        name: "restore step restored a backup",
        ok: restore?.restored === true,
        detail:
            restore === undefined
                ? "no output of the restore step was seen during pulumi up"
                : restore.restored
                  ? `restored ${restore.backupId} into ${restore.database}`
                  : restore.reason,
    });
    const manifests = await probe.vaultManifests();
    const manifest = pickManifest(manifests, restore, opts.restoreBackup, restoreHit?.at);
    if (!manifest) {
        checks.push({
            name: "age of the backup used",
            ok: false,
            detail: `its manifest was not found among the ${manifests.length} in the vault`,
        });
        return { ...(healthyAt !== undefined ? { recoveredMs: Math.max(healthyAt, composeAt ?? healthyAt) } : {}) };
    }
    const age = round((disasterMs - Date.parse(manifest.createdAt)) / 1000);
    const rpoTarget = opts.targets.rpo.find((o) => o.key === "user-data")!.targetSeconds;
    for (const key of ["user-data", "transactions"]) {
        measured.rpo[key] = {
            seconds: age,
            how: `from the snapshot of backup ${manifest.id} (${manifest.createdAt}) to the start of the drill`,
        };
    }
    checks.push({
        name: "age of the backup used",
        ok: age >= 0 && age <= rpoTarget,
        detail: `backup ${manifest.id}, snapshot ${manifest.createdAt}, was ${formatSeconds(age)} old when the drill started (RPO target ${formatTarget(rpoTarget)})`,
    });

    // 4. Row counts: fortress-restore compared them with the manifest at restore time; the
    //    live database is compared again now (the running app may only have added rows).
    const totals = manifestTotals(manifest);
    if (restore?.restored) {
        const same =
            restore.backupId === manifest.id && restore.tables === totals.tables && restore.rows === totals.rows;
        checks.push({
            name: "restored row counts equal the manifest",
            ok: same,
            detail: same
                ? `${totals.tables} tables, ${totals.rows.toLocaleString("en-US")} rows, as in the manifest (checked by fortress-restore before migrations ran)`
                : `restore reported ${restore.tables} tables / ${restore.rows} rows of ${restore.backupId}; the manifest of ${manifest.id} has ${totals.tables} / ${totals.rows}`,
        });
    }
    const live = await probe.liveCounts(Object.keys(manifest.tables));
    const lost = Object.entries(manifest.tables).filter(([t, n]) => !(t in live) || live[t]! < n);
    const differences = countDifferences(manifest.tables, live);
    checks.push({
        name: "live tables hold at least the backup's rows",
        ok: lost.length === 0,
        detail:
            lost.length > 0
                ? `fewer rows than the backup: ${lost
                      .map(([t, n]) => `${t} ${live[t] ?? "missing"} < ${n}`)
                      .slice(0, 5)
                      .join("; ")}`
                : differences.length === 0
                  ? `all ${totals.tables} tables equal the manifest`
                  : `all ${totals.tables} tables present; ${differences.length} grew since the restore (the app is writing): ${differences.slice(0, 3).join("; ")}`,
    });

    const recoveredMs = healthyAt !== undefined ? Math.max(healthyAt, composeAt ?? healthyAt) : undefined;
    return { ...(recoveredMs !== undefined ? { recoveredMs } : {}), manifest };
}
