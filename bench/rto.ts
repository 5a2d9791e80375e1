// `npm run rto`: the modeled recovery time of the DR stack. The real program runs under
// mocks (bench/stack-graph.ts) to get the resources `pulumi up --stack dr` would create and
// what each waits for; a table of typical durations (bench/durations.json, overridable)
// gives each resource a time; the restore step takes the benchmark's measured rate times
// the database size. The critical path to the health gate is the modeled RTO, printed with
// the steps outside the graph (detection, DNS cutover) and the plan's 4 h target beside it.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { z } from "zod";
import type { Registration } from "../harness/program-runner";
import { eachFlag, EXIT, parseCommandLine, printHelp, runMain } from "../tools/cli";
import { type PathNode, schedule } from "./critical-path";
import { formatBytes, parseSize } from "./units";

/** The plan's RTO for the API, complete outage (Recovery Objectives table). */
export const PLAN_API_RTO_SECONDS = 4 * 3600;
/** The plan's RPO for the database (Recovery Objectives table). */
export const PLAN_DB_RPO = "1 h";
export const DEFAULT_DURATIONS_FILE = resolve(__dirname, "durations.json");
const COMMAND_TYPE = "command:remote:Command";

// ---------------------------------------------------------------------------------- table

const RuleSchema = z
    .object({
        label: z.string().min(1),
        type: z.string().min(1).optional(),
        nameSuffix: z.string().min(1).optional(),
        inputs: z.record(z.string(), z.unknown()).optional(),
        seconds: z.number().min(0).optional(),
        restore: z.literal(true).optional(),
        source: z.string().optional(),
    })
    .strict()
    .refine((r) => r.type !== undefined || r.nameSuffix !== undefined, {
        message: "a rule needs a type or a nameSuffix to match",
    })
    .refine((r) => (r.seconds !== undefined) !== (r.restore === true), {
        message: 'a rule needs either seconds or "restore": true',
    });

const RestoreSchema = z
    .object({
        description: z.string().optional(),
        bytesPerSecond: z.number().positive(),
        fixedSeconds: z.number().min(0),
        source: z.string().optional(),
    })
    .strict();

const OutsideSchema = z
    .object({ label: z.string().min(1), seconds: z.number().min(0), when: z.enum(["before", "after"]) })
    .strict();

const TableSchema = z
    .object({
        description: z.string().optional(),
        defaultSeconds: z.number().min(0),
        restore: RestoreSchema,
        rules: z.array(RuleSchema),
        /** Rules tried first for a warm standby's failover, where the images are already pulled. */
        warmRules: z.array(RuleSchema).default([]),
        outsideGraph: z.array(OutsideSchema),
    })
    .strict();

/** An override file: every part optional; `restore` may set only some fields. */
const OverrideSchema = z
    .object({
        description: z.string().optional(),
        defaultSeconds: z.number().min(0).optional(),
        restore: RestoreSchema.partial().optional(),
        rules: z.array(RuleSchema).optional(),
        warmRules: z.array(RuleSchema).optional(),
        outsideGraph: z.array(OutsideSchema).optional(),
    })
    .strict();

export type DurationRule = z.infer<typeof RuleSchema>;
export type DurationTable = z.infer<typeof TableSchema>;
export type DurationOverride = z.infer<typeof OverrideSchema>;

/** One line naming every bad field, e.g. "x.json is not a valid durations table: rules.0.seconds: …". */
function problems(error: z.ZodError, what: string): Error {
    const issues = error.issues.map((i) => `${i.path.length ? i.path.join(".") : "(top)"}: ${i.message}`);
    return new Error(
        `${what} is not a valid durations table: ${issues.join("; ")}; see bench/durations.json for the shape`,
    );
}

/** Validates a complete durations table (the shape of bench/durations.json). */
export function parseDurationTable(json: unknown, what = "durations table"): DurationTable {
    const r = TableSchema.safeParse(json);
    if (!r.success) throw problems(r.error, what);
    return r.data;
}

/** Validates an override (--durations FILE): any subset of the table's parts. */
export function parseDurationOverride(json: unknown, what = "durations override"): DurationOverride {
    const r = OverrideSchema.safeParse(json);
    if (!r.success) throw problems(r.error, what);
    return r.data;
}

/**
 * The table with an override applied: the override's rules are tried first (so they win
 * over the defaults for whatever they match), its defaultSeconds and outsideGraph replace
 * the defaults', and its restore fields replace the matching default fields. Its warmRules
 * are tried before the defaults' warmRules.
 */
export function mergeDurations(base: DurationTable, override: DurationOverride): DurationTable {
    return {
        description: base.description,
        defaultSeconds: override.defaultSeconds ?? base.defaultSeconds,
        restore: { ...base.restore, ...override.restore },
        rules: [...(override.rules ?? []), ...base.rules],
        warmRules: [...(override.warmRules ?? []), ...base.warmRules],
        outsideGraph: override.outsideGraph ?? base.outsideGraph,
    };
}

/** Reads a JSON file, with the file named in the error. */
function readJson(file: string): unknown {
    try {
        return JSON.parse(readFileSync(file, "utf8"));
    } catch (e) {
        throw new Error(`cannot read ${file}: ${(e as Error).message}`);
    }
}

/** bench/durations.json, with `overrideFile` applied when given. */
export function loadDurations(overrideFile?: string): DurationTable {
    const base = parseDurationTable(readJson(DEFAULT_DURATIONS_FILE), DEFAULT_DURATIONS_FILE);
    return overrideFile ? mergeDurations(base, parseDurationOverride(readJson(overrideFile), overrideFile)) : base;
}

// ---------------------------------------------------------------------------------- matching

/** What the model needs of a resource the program registers (bench/stack-graph.ts). */
export type ModelResource = Pick<
    Registration,
    "type" | "name" | "urn" | "custom" | "parent" | "inputs" | "dependencies"
>;

/** The first rule that matches the resource's type, logical-name suffix and inputs. */
export function matchRule(
    resource: Pick<ModelResource, "type" | "name" | "inputs">,
    rules: readonly DurationRule[],
): DurationRule | undefined {
    return rules.find(
        (r) =>
            (r.type === undefined || r.type === resource.type) &&
            (r.nameSuffix === undefined || resource.name.endsWith(r.nameSuffix)) &&
            Object.entries(r.inputs ?? {}).every(([k, v]) => JSON.stringify(resource.inputs[k]) === JSON.stringify(v)),
    );
}

/** Seconds fortress-restore takes for a database of `dbBytes` at the table's rate. */
export function restoreSeconds(dbBytes: number, restore: DurationTable["restore"]): number {
    return restore.fixedSeconds + dbBytes / restore.bytesPerSecond;
}

/** The label of a resource a warm standby already runs: it takes no time at failover. */
export const STANDING_LABEL = "already standing by (warm)";

/** A resource's modeled duration and the label of the rule that gave it; `standing` ones take none. */
export function resourceDuration(
    resource: ModelResource,
    table: DurationTable,
    dbBytes: number,
    standing: ReadonlySet<string> = new Set(),
): { seconds: number; label: string } {
    if (!resource.custom) return { seconds: 0, label: "component" };
    if (standing.has(resource.urn)) return { seconds: 0, label: STANDING_LABEL };
    const rule = matchRule(resource, table.rules);
    if (!rule) return { seconds: table.defaultSeconds, label: `default (${resource.type})` };
    return { seconds: rule.restore ? restoreSeconds(dbBytes, table.restore) : rule.seconds!, label: rule.label };
}

// ---------------------------------------------------------------------------------- model

/** One step of the critical path. */
export interface RtoStep {
    name: string;
    type: string;
    label: string;
    startSeconds: number;
    seconds: number;
    finishSeconds: number;
}

export interface RtoModel {
    dbBytes: number;
    restore: DurationTable["restore"];
    /** The node the path ends at: the health gate if the graph has one. */
    target: { name: string; kind: "health gate" | "last resource" } | undefined;
    path: RtoStep[];
    graphSeconds: number;
    outsideGraph: DurationTable["outsideGraph"];
    totalSeconds: number;
    targetSeconds: number;
    met: boolean;
    /** Whether a restore step is in the graph (the recovery chain present). */
    hasRestore: boolean;
    /** Long resources that are not on the path, with their finish times. */
    offPath: Array<{ name: string; label: string; finishSeconds: number }>;
}

/** The graph's nodes: custom resources with their durations; components as zero-time joins of their children. */
export function rtoNodes(
    resources: readonly ModelResource[],
    table: DurationTable,
    dbBytes: number,
    standing: ReadonlySet<string> = new Set(),
): PathNode[] {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const children = new Map<string, string[]>();
    for (const r of resources) {
        if (r.parent) children.set(r.parent, [...(children.get(r.parent) ?? []), r.urn]);
    }
    const ancestors = (r: ModelResource): Set<string> => {
        const seen = new Set<string>();
        for (let p = r.parent; p && !seen.has(p); p = byUrn.get(p)?.parent ?? "") seen.add(p);
        return seen;
    };
    return resources.map((r) => {
        const up = ancestors(r);
        // A dependency on one's own ancestor component would be a cycle (the component
        // completes when its children do); the engine never waits for that either.
        const deps = r.dependencies.filter((d) => d !== r.urn && byUrn.has(d) && !up.has(d));
        if (!r.custom) {
            for (const c of children.get(r.urn) ?? []) {
                if (!byUrn.get(c)!.dependencies.includes(r.urn)) deps.push(c);
            }
        }
        return { id: r.urn, seconds: resourceDuration(r, table, dbBytes, standing).seconds, dependsOn: deps };
    });
}

/** The health gate of the recovery chain, if the graph has one. */
export function healthGate(resources: readonly ModelResource[]): ModelResource | undefined {
    return resources.find((r) => r.custom && r.type === COMMAND_TYPE && r.name.endsWith("-health"));
}

/**
 * The resources of a warm standby's failover graph that already stand by: registered with
 * the same type and inputs in the standing graph, so the failover's update leaves them be.
 */
export function standingUrns(standing: readonly ModelResource[], serving: readonly ModelResource[]): Set<string> {
    const before = new Map(standing.filter((r) => r.custom).map((r) => [r.urn, r]));
    return new Set(
        serving
            .filter((r) => {
                const b = before.get(r.urn);
                return (
                    r.custom &&
                    b !== undefined &&
                    b.type === r.type &&
                    JSON.stringify(b.inputs) === JSON.stringify(r.inputs)
                );
            })
            .map((r) => r.urn),
    );
}

/** A table for a warm standby's failover: its warmRules first. */
export function warmTable(table: DurationTable): DurationTable {
    return { ...table, rules: [...table.warmRules, ...table.rules] };
}

/** The modeled RTO for a database of `dbBytes`; `standing` resources (a warm standby's) take no time. */
export function modelRto(
    resources: readonly ModelResource[],
    table: DurationTable,
    dbBytes: number,
    targetSeconds = PLAN_API_RTO_SECONDS,
    standing: ReadonlySet<string> = new Set(),
): RtoModel {
    const usable = resources.filter((r) => r.urn !== "");
    const nodes = rtoNodes(usable, table, dbBytes, standing);
    const s = schedule(nodes);
    const gate = healthGate(usable);
    let end = gate?.urn;
    if (end === undefined) {
        for (const n of nodes) if (end === undefined || s.finish.get(n.id)! > s.finish.get(end)!) end = n.id;
    }
    const byUrn = new Map(usable.map((r) => [r.urn, r]));
    const path: RtoStep[] = [];
    for (let id = end; id !== undefined; id = s.via.get(id)) {
        const r = byUrn.get(id)!;
        const d = resourceDuration(r, table, dbBytes, standing);
        if (!r.custom) continue; // components take no time; their children are on the path
        path.unshift({
            name: r.name,
            type: r.type,
            label: d.label,
            startSeconds: s.start.get(id)!,
            seconds: d.seconds,
            finishSeconds: s.finish.get(id)!,
        });
    }
    const graphSeconds = end === undefined ? 0 : s.finish.get(end)!;
    const outside = table.outsideGraph.reduce((sum, o) => sum + o.seconds, 0);
    const onPath = new Set(path.map((p) => p.name));
    const offPath = usable
        .filter((r) => r.custom && !onPath.has(r.name))
        .map((r) => ({
            name: r.name,
            label: resourceDuration(r, table, dbBytes, standing).label,
            seconds: resourceDuration(r, table, dbBytes, standing).seconds,
            finishSeconds: s.finish.get(r.urn)!,
        }))
        .filter((r) => r.seconds >= 60)
        .sort((a, b) => b.finishSeconds - a.finishSeconds)
        .map(({ name, label, finishSeconds }) => ({ name, label, finishSeconds }));
    const endResource = end === undefined ? undefined : byUrn.get(end);
    return {
        dbBytes,
        restore: table.restore,
        target: endResource ? { name: endResource.name, kind: gate ? "health gate" : "last resource" } : undefined,
        path,
        graphSeconds,
        outsideGraph: table.outsideGraph,
        totalSeconds: graphSeconds + outside,
        targetSeconds,
        met: graphSeconds + outside <= targetSeconds,
        hasRestore: usable.some((r) => r.custom && !standing.has(r.urn) && matchRule(r, table.rules)?.restore === true),
        offPath,
    };
}

/**
 * The largest database (bytes) whose modeled RTO still meets the target, or null when
 * the restore is not in the graph (the size does not matter) and undefined when even an
 * empty database misses it. Binary search: the RTO never falls as the database grows.
 */
export function largestDatabaseWithinTarget(
    resources: readonly ModelResource[],
    table: DurationTable,
    targetSeconds = PLAN_API_RTO_SECONDS,
    standing: ReadonlySet<string> = new Set(),
): number | null | undefined {
    const total = (bytes: number) => modelRto(resources, table, bytes, targetSeconds, standing).totalSeconds;
    if (!modelRto(resources, table, 0, targetSeconds, standing).hasRestore) return null;
    if (total(0) > targetSeconds) return undefined;
    let lo = 0;
    let hi = 1e12;
    while (total(hi) <= targetSeconds && hi < 1e18) hi *= 10;
    for (let i = 0; i < 100 && hi - lo > 1e6; i++) {
        const mid = (lo + hi) / 2;
        if (total(mid) <= targetSeconds) lo = mid;
        else hi = mid;
    }
    return lo;
}

/** A restore rate from a bench report: the toolkit's database bytes restored per second. */
export function restoreRateFromBench(
    report: unknown,
    file = "bench report",
): { bytesPerSecond: number; source: string } {
    const r = report as {
        startedAt?: string;
        machine?: { cores?: number };
        dataset?: { bytesOnDisk?: number };
        methods?: Array<{ method: string; restore?: { seconds?: number } }>;
    };
    const toolkit = r.methods?.find((m) => m.method === "toolkit");
    const bytes = r.dataset?.bytesOnDisk;
    const seconds = toolkit?.restore?.seconds;
    if (!(typeof bytes === "number" && bytes > 0 && typeof seconds === "number" && seconds > 0)) {
        throw new Error(
            `${file} has no toolkit restore figure (dataset.bytesOnDisk, methods[toolkit].restore.seconds): pass a report written by npm run bench`,
        );
    }
    return {
        bytesPerSecond: bytes / seconds,
        source: `${file}: toolkit restored ${formatBytes(bytes)} in ${seconds.toFixed(1)} s (${r.startedAt?.slice(0, 10) ?? "undated"}, ${r.machine?.cores ?? "?"} cores)`,
    };
}

// ---------------------------------------------------------------------------------- text

/** Seconds as a clock-like duration: `7m 05s`, `1h 02m 03s`. */
export function clock(seconds: number): string {
    const s = Math.round(seconds);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = s % 60;
    if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m ${String(sec).padStart(2, "0")}s`;
    return `${m}m ${String(sec).padStart(2, "0")}s`;
}

export function renderRto(
    m: RtoModel,
    stack: string,
    limitBytes: number | null | undefined,
    durationsSource: string,
): string {
    const out: string[] = [];
    out.push(
        `RTO model for stack ${stack}: database ${formatBytes(m.dbBytes)}, restore at ${formatBytes(m.restore.bytesPerSecond)}/s + ${m.restore.fixedSeconds} s`,
    );
    out.push(`  durations: ${durationsSource}`);
    out.push(`  restore rate: ${m.restore.source ?? "durations table"}`);
    out.push("");
    if (!m.target) {
        out.push("The graph is empty: nothing to model.");
        return out.join("\n");
    }
    out.push(
        m.target.kind === "health gate"
            ? `Critical path to a healthy service (${m.target.name}):`
            : `Critical path to the last resource (${m.target.name}); the graph has no health gate, so the recovery chain (restore, migrate, compose, health) is not modeled:`,
    );
    const w = Math.max(...m.path.map((p) => p.label.length), 10);
    out.push(`  ${"starts".padStart(11)}  ${"takes".padStart(11)}  ${"step".padEnd(w)}  resource`);
    for (const p of m.path)
        out.push(
            `  ${clock(p.startSeconds).padStart(11)}  ${clock(p.seconds).padStart(11)}  ${p.label.padEnd(w)}  ${p.name}`,
        );
    out.push(`  ${"".padStart(11)}  ${clock(m.graphSeconds).padStart(11)}  pulumi up, to ${m.target.kind}`);
    if (m.outsideGraph.length) {
        out.push("");
        out.push("Outside the graph:");
        for (const o of m.outsideGraph) out.push(`  ${o.when.padEnd(6)} ${clock(o.seconds).padStart(11)}  ${o.label}`);
    }
    out.push("");
    const margin = m.targetSeconds - m.totalSeconds;
    out.push(
        `Modeled RTO: ${clock(m.totalSeconds)}   plan target (API, complete outage): ${clock(m.targetSeconds)}   ${m.met ? `met, ${clock(margin)} to spare` : `MISSED by ${clock(-margin)}`}`,
    );
    if (limitBytes === null)
        out.push("The restore is not in the graph, so the database size does not change this figure.");
    else if (limitBytes === undefined) out.push("Even an empty database misses the target with these durations.");
    else
        out.push(
            `Largest database that still meets ${clock(m.targetSeconds)} at this restore rate: ${formatBytes(limitBytes)} (a straight-line extrapolation; measure big sizes with npm run bench -- --size)`,
        );
    if (m.offPath.length) {
        out.push("");
        out.push("Long steps off the critical path (they finish earlier):");
        const shown = m.offPath.slice(0, 6);
        const lw = Math.max(...shown.map((o) => o.label.length));
        for (const o of shown) out.push(`  ${clock(o.finishSeconds).padStart(11)}  ${o.label.padEnd(lw)}  ${o.name}`);
    }
    return out.join("\n");
}

export const STANDBY_CHOICES = ["cold", "warm", "both"] as const;
export type StandbyChoice = (typeof STANDBY_CHOICES)[number];

/** One mode's line of the side-by-side table. */
export interface ModeFigures {
    mode: "cold" | "warm";
    model: RtoModel;
    /** The database RPO of the mode, in words. */
    rpo: string;
}

/**
 * The modes side by side: `pulumi up` to the health gate, the same after the decision (with
 * the steps outside the graph that come after it is taken), and with the plan's detection,
 * beside the plan's 4 h RTO and 1 h RPO.
 */
export function renderComparison(rows: readonly ModeFigures[]): string {
    const detect = (m: RtoModel) =>
        m.outsideGraph
            .filter((o) => o.when === "before" && o.label.startsWith("detect"))
            .reduce((a, o) => a + o.seconds, 0);
    const head = [
        "standby",
        "pulumi up to health gate",
        "after the decision",
        "with detection",
        "plan RTO",
        "database RPO",
        "plan RPO",
    ];
    const body = rows.map((r) => [
        r.mode,
        clock(r.model.graphSeconds),
        clock(r.model.totalSeconds - detect(r.model)),
        clock(r.model.totalSeconds),
        clock(r.model.targetSeconds),
        r.rpo,
        PLAN_DB_RPO,
    ]);
    const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
    const line = (cells: string[]) => `  ${cells.map((c, i) => c.padEnd(w[i])).join("  ")}`.trimEnd();
    return [
        "Modeled recovery by standby mode (the same durations table; warm from the standby's two graphs):",
        line(head),
        ...body.map(line),
        '  "after the decision": pulumi up starting, its graph, the DNS cutover; "with detection" adds the plan\'s 30 min trigger.',
    ].join("\n");
}

// ---------------------------------------------------------------------------------- CLI

const PROG = "rto";

export const USAGE = `Usage: npm run rto -- [--db-size SIZE] [--durations FILE] [--bench FILE|latest] [--stack NAME] [--standby cold|warm|both] [--json]

Models the recovery time of \`pulumi up --stack dr\`: the critical path through the stack's
resources (the real program under mocks) with typical durations per resource, the restore
at the benchmark's measured rate, plus the steps outside the graph; the plan's 4 h target
beside it. A warm standby (standby warm) is modeled from its two graphs: the failover's
update (failover true), where what already stands by with unchanged inputs takes no time.

Options:
  --db-size SIZE     database size on disk, e.g. 1GB, 40GB (default 1GB)
  --durations FILE   a JSON override of bench/durations.json: its rules are tried first, its
                     defaultSeconds, restore and outsideGraph replace the defaults
  --bench FILE       take the restore rate from a bench report (reports/bench-*.json);
                     'latest' picks the newest in reports/
  --stack NAME       stack whose Pulumi.<NAME>.yaml is modeled (default dr)
  --standby MODE     cold, warm, or both side by side (default both)
  --json             print the model as JSON
  -h, --help         show this help`;

export interface RtoOptions {
    dbBytes: number;
    durations?: string;
    bench?: string;
    stack: string;
    standby: StandbyChoice;
    json: boolean;
    help: boolean;
}

export function parseRtoArgs(argv: readonly string[]): RtoOptions {
    const o: RtoOptions = { dbBytes: parseSize("1GB"), stack: "dr", standby: "both", json: false, help: false };
    o.help = eachFlag(argv, (flag, take) => {
        switch (flag) {
            case "--db-size":
                o.dbBytes = parseSize(take());
                break;
            case "--durations":
                o.durations = take();
                break;
            case "--bench":
                o.bench = take();
                break;
            case "--stack": {
                const v = take();
                if (!/^[A-Za-z0-9._-]+$/.test(v)) throw new Error(`--stack '${v}' is not a stack name`);
                o.stack = v;
                break;
            }
            case "--standby": {
                const v = take();
                if (!(STANDBY_CHOICES as readonly string[]).includes(v))
                    throw new Error(`--standby '${v}' is not one of ${STANDBY_CHOICES.join(", ")}`);
                o.standby = v as StandbyChoice;
                break;
            }
            case "--json":
                o.json = true;
                break;
            default:
                return false;
        }
        return true;
    }).help;
    return o;
}

/** The newest reports/bench-*.json, or an error saying how to make one. */
export function latestBenchReport(dir = resolve(__dirname, "..", "reports")): string {
    const files = existsSync(dir)
        ? readdirSync(dir)
              .filter((f) => /^bench-.*\.json$/.test(f))
              .sort()
        : [];
    if (files.length === 0) throw new Error(`no bench report in ${dir}: run npm run bench first, or leave out --bench`);
    return join(dir, files[files.length - 1]);
}

async function main(argv: string[]): Promise<number> {
    const o = parseCommandLine(() => parseRtoArgs(argv));
    if (o.help) return printHelp(USAGE);
    let table = loadDurations(o.durations);
    if (o.bench) {
        const file = o.bench === "latest" ? latestBenchReport() : resolve(o.bench);
        const rate = restoreRateFromBench(readJson(file), file);
        table = { ...table, restore: { ...table.restore, bytesPerSecond: rate.bytesPerSecond, source: rate.source } };
    }
    // Loaded here, not at the top: it pulls in the Pulumi SDK and the program.
    const { stackGraph, warmGraphs } = await import("./stack-graph");
    const source = o.durations ? `${DEFAULT_DURATIONS_FILE} with ${o.durations}` : DEFAULT_DURATIONS_FILE;
    const rows: Array<ModeFigures & { limit: number | null | undefined }> = [];
    if (o.standby !== "warm") {
        const resources = await stackGraph(o.stack);
        rows.push({
            mode: "cold",
            model: modelRto(resources, table, o.dbBytes),
            limit: largestDatabaseWithinTarget(resources, table),
            rpo: "the backup schedule (backupSchedule; hourly by default)",
        });
    }
    if (o.standby !== "cold") {
        const { standing, serving } = await warmGraphs(o.stack);
        const urns = standingUrns(standing, serving);
        const t = warmTable(table);
        rows.push({
            mode: "warm",
            model: modelRto(serving, t, o.dbBytes, PLAN_API_RTO_SECONDS, urns),
            limit: largestDatabaseWithinTarget(serving, t, PLAN_API_RTO_SECONDS, urns),
            rpo: "the replica lag (not monitored yet)",
        });
    }
    if (o.json) {
        const largest = (limit: number | null | undefined) =>
            limit === null
                ? { bytes: null, note: "the restore is not in the graph" }
                : limit === undefined
                  ? { bytes: 0, note: "even an empty database misses the target" }
                  : { bytes: limit };
        const modes = rows.map((r) => ({
            standby: r.mode,
            rpo: r.rpo,
            ...r.model,
            largestDatabaseWithinTarget: largest(r.limit),
        }));
        // The first mode at the top, as before warm existed; with both, warm under "warm".
        const [first, second] = modes;
        process.stdout.write(
            `${JSON.stringify({ stack: o.stack, ...first, ...(second ? { warm: second } : {}) }, null, 2)}\n`,
        );
    } else {
        const parts = rows.map((r) =>
            renderRto(r.model, r.mode === "warm" ? `${o.stack} (warm standby, failover)` : o.stack, r.limit, source),
        );
        if (rows.length > 1) parts.push(renderComparison(rows));
        process.stdout.write(`${parts.join("\n\n")}\n`);
    }
    return EXIT.ok;
}

if (require.main === module) runMain(PROG, () => main(process.argv.slice(2)));
