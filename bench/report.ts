// The benchmark's report: absolute figures per method, the ratios toolkit/plan and
// toolkit/floor, the issue's targets evaluated from those figures, and the machine. Pure:
// everything here is computed from its arguments, so it is tested with tables of figures.
import type { MethodName, MethodResult, ToolkitProfile } from "./methods";
import { formatBytes, formatSeconds } from "./units";

export const BENCH_FORMAT = "income-fortress-bench/1";

/** The machine and software the figures were measured on. */
export interface MachineInfo {
    /** Logical CPUs (os.cpus().length). */
    cores: number;
    cpuModel: string;
    memoryBytes: number;
    os: string;
    node: string;
    /** PostgreSQL server version (SHOW server_version) and client tool versions. */
    postgres: { server: string; pgDump: string };
    /** First line of `<tool> --version` for the tools on the data path. */
    tools: Record<string, string>;
}

/** The dataset the methods ran on. */
export interface DatasetSummary {
    targetBytes: number;
    bytesOnDisk: number;
    rows: Record<string, number>;
    indexes: number;
    foreignKeys: number;
    generationSeconds: number;
}

/** What a bench run measured, before ratios and targets. */
export interface BenchInput {
    startedAt: string;
    finishedAt: string;
    options: { sizeBytes: number; quick: boolean; jobs: number; repeat: number; offsite: boolean; toolkitDir?: string };
    machine: MachineInfo;
    /**
     * 1, 5 and 15 minute load averages when the run started and ended. Anything above zero
     * before the start is other work on the machine competing for the same cores.
     */
    loadAverage: { start: number[]; end: number[] };
    /** Server settings that differ from PostgreSQL's defaults (they apply to every method alike). */
    serverSettings: Record<string, string>;
    dataset: DatasetSummary;
    methods: MethodResult[];
    /** Where the toolkit's time goes (only with --profile). */
    profile?: ToolkitProfile;
}

/** a/b for each figure; null when either side is missing or b is zero. */
export interface Ratios {
    backup: number | null;
    restore: number | null;
    bytes: number | null;
    endToEnd: number | null;
}

/** One of the issue's targets, evaluated. */
export interface TargetResult {
    id: "backup-speedup" | "restore-vs-plan" | "restore-vs-floor" | "bytes-vs-plan";
    description: string;
    /** The measured value the limit applies to (e.g. plan backup / toolkit backup). */
    value: number | null;
    comparison: ">=" | "<=";
    limit: number;
    /** null when a method it needs was not run. */
    met: boolean | null;
}

export interface BenchReport extends BenchInput {
    format: typeof BENCH_FORMAT;
    ratios: { toolkitOverPlan: Ratios; toolkitOverFloor: Ratios };
    targets: TargetResult[];
}

/** The median of a non-empty list (the mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
    if (values.length === 0) throw new Error("median of an empty list");
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Several runs of one method as one result: each figure is the median of the runs (this
 * machine's timings vary by 10-20 % from run to run), the phases and checks are those of
 * the run nearest the median, every run's figures are kept in `runs`, and the result is
 * verified only if every run was.
 */
export function combineRuns(runs: readonly MethodResult[]): MethodResult {
    if (runs.length === 0) throw new Error("no runs to combine");
    if (new Set(runs.map((r) => r.method)).size !== 1) throw new Error("runs of different methods cannot be combined");
    const nearest = <T>(pick: (r: MethodResult) => number, take: (r: MethodResult) => T): T => {
        const m = median(runs.map(pick));
        return take([...runs].sort((a, b) => Math.abs(pick(a) - m) - Math.abs(pick(b) - m))[0]);
    };
    const ms = (v: number) => Math.round(v * 1000) / 1000;
    const backupSeconds = median(runs.map((r) => r.backup.seconds));
    const restoreSeconds = ms(median(runs.map((r) => r.restore.seconds)));
    const problems = runs.flatMap((r, i) =>
        r.verified.problems.map((p) => (runs.length > 1 ? `run ${i + 1}: ${p}` : p)),
    );
    return {
        ...runs[0],
        backup: {
            seconds: ms(backupSeconds),
            phases: nearest(
                (r) => r.backup.seconds,
                (r) => r.backup.phases,
            ),
        },
        bytes: median(runs.map((r) => r.bytes)),
        restore: {
            seconds: restoreSeconds,
            phases: nearest(
                (r) => r.restore.seconds,
                (r) => r.restore.phases,
            ),
            checks: nearest(
                (r) => r.restore.seconds,
                (r) => r.restore.checks,
            ),
        },
        endToEndSeconds: ms(median(runs.map((r) => r.endToEndSeconds))),
        verified: { ok: runs.every((r) => r.verified.ok), problems },
        ...(runs.length > 1
            ? {
                  runs: runs.map((r) => ({
                      backupSeconds: r.backup.seconds,
                      restoreSeconds: r.restore.seconds,
                      bytes: r.bytes,
                      endToEndSeconds: r.endToEndSeconds,
                  })),
              }
            : {}),
    };
}

const ratio = (a: number | undefined, b: number | undefined): number | null =>
    a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? null : a / b;

/** Figures of method `a` divided by those of method `b`. */
export function computeRatios(a: MethodResult | undefined, b: MethodResult | undefined): Ratios {
    return {
        backup: ratio(a?.backup.seconds, b?.backup.seconds),
        restore: ratio(a?.restore.seconds, b?.restore.seconds),
        bytes: ratio(a?.bytes, b?.bytes),
        endToEnd: ratio(a?.endToEndSeconds, b?.endToEndSeconds),
    };
}

/** The issue's targets, from the methods' figures. */
export function evaluateTargets(methods: readonly MethodResult[]): TargetResult[] {
    const get = (m: MethodName) => methods.find((r) => r.method === m);
    const plan = get("plan");
    const toolkit = get("toolkit");
    const floor = get("floor");
    const target = (
        id: TargetResult["id"],
        description: string,
        value: number | null,
        comparison: ">=" | "<=",
        limit: number,
    ): TargetResult => ({
        id,
        description,
        value,
        comparison,
        limit,
        met: value === null ? null : comparison === ">=" ? value >= limit : value <= limit,
    });
    return [
        target(
            "backup-speedup",
            "toolkit backup at least 3x faster than the plan's (plan time / toolkit time)",
            ratio(plan?.backup.seconds, toolkit?.backup.seconds),
            ">=",
            3,
        ),
        target(
            "restore-vs-plan",
            "toolkit restore, checks included, no slower than the plan's (toolkit time / plan time)",
            ratio(toolkit?.restore.seconds, plan?.restore.seconds),
            "<=",
            1,
        ),
        target(
            "restore-vs-floor",
            "toolkit restore, checks included, within 1.15x of the floor (toolkit time / floor time)",
            ratio(toolkit?.restore.seconds, floor?.restore.seconds),
            "<=",
            1.15,
        ),
        target(
            "bytes-vs-plan",
            "toolkit stored bytes no more than the plan's (toolkit bytes / plan bytes, one copy each)",
            ratio(toolkit?.bytes, plan?.bytes),
            "<=",
            1,
        ),
    ];
}

/** The full report: the input plus ratios and targets. */
export function buildReport(input: BenchInput): BenchReport {
    const get = (m: MethodName) => input.methods.find((r) => r.method === m);
    return {
        format: BENCH_FORMAT,
        ...input,
        ratios: {
            toolkitOverPlan: computeRatios(get("toolkit"), get("plan")),
            toolkitOverFloor: computeRatios(get("toolkit"), get("floor")),
        },
        targets: evaluateTargets(input.methods),
    };
}

/**
 * What a complete report lacks: for every method of `expected`, positive backup, restore,
 * bytes and end-to-end figures and a passed verification; all ratios; cores; the
 * PostgreSQL version. Empty when complete.
 */
export function missingFigures(
    report: BenchReport,
    expected: readonly MethodName[] = ["plan", "toolkit", "floor"],
): string[] {
    const missing: string[] = [];
    const positive = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v > 0;
    for (const name of expected) {
        const m = report.methods.find((r) => r.method === name);
        if (!m) {
            missing.push(`method ${name}`);
            continue;
        }
        if (!positive(m.backup?.seconds)) missing.push(`${name} backup seconds`);
        if (!positive(m.restore?.seconds)) missing.push(`${name} restore seconds`);
        if (!positive(m.bytes)) missing.push(`${name} bytes`);
        if (!positive(m.endToEndSeconds)) missing.push(`${name} end-to-end seconds`);
        if (m.verified?.ok !== true)
            missing.push(`${name} verified restore (${m.verified?.problems?.join("; ") ?? "not checked"})`);
    }
    const needs = (a: MethodName, b: MethodName) => expected.includes(a) && expected.includes(b);
    for (const [group, pair] of [
        ["toolkitOverPlan", ["toolkit", "plan"]],
        ["toolkitOverFloor", ["toolkit", "floor"]],
    ] as const) {
        if (!needs(pair[0], pair[1])) continue;
        for (const [k, v] of Object.entries(report.ratios?.[group] ?? {})) {
            if (!positive(v)) missing.push(`ratio ${group}.${k}`);
        }
    }
    if (!(Number.isInteger(report.machine?.cores) && report.machine.cores > 0)) missing.push("machine cores");
    if (!/^\d+(\.\d+)?/.test(report.machine?.postgres?.server ?? "")) missing.push("PostgreSQL server version");
    return missing;
}

// ---------------------------------------------------------------------------------- text

const fmtRatio = (v: number | null, digits = 2) => (v === null ? "n/a" : v.toFixed(digits));
const verdict = (met: boolean | null) => (met === null ? "n/a " : met ? "met " : "MISSED");

function pad(rows: string[][]): string[] {
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    return rows.map((r) =>
        r
            .map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
            .join("  ")
            .trimEnd(),
    );
}

function headline(r: BenchReport): string {
    const rows = Object.values(r.dataset.rows).reduce((a, b) => a + b, 0);
    return (
        `${r.startedAt.slice(0, 10)}, ${r.machine.cores} cores (${r.machine.cpuModel}), PostgreSQL ${r.machine.postgres.server}, ` +
        `dataset ${formatBytes(r.dataset.bytesOnDisk)} on disk (${rows.toLocaleString("en-US")} rows, ${r.dataset.indexes} indexes, ${r.dataset.foreignKeys} foreign keys), pg_restore jobs ${r.options.jobs}` +
        (r.options.repeat > 1 ? `, median of ${r.options.repeat} runs` : "")
    );
}

function loadLine(r: BenchReport): string {
    const [start] = r.loadAverage.start;
    const busy = start > 0.5 * r.machine.cores;
    return (
        `Load average at start ${r.loadAverage.start.map((l) => l.toFixed(2)).join(" ")}, at end ${r.loadAverage.end.map((l) => l.toFixed(2)).join(" ")}` +
        (busy ? ": other work was running on these cores; expect noisy figures" : "")
    );
}

function methodRows(r: BenchReport): string[][] {
    return [
        ["method", "backup", "stored", "restore (checks incl.)", "end-to-end", "verified"],
        ...r.methods.map((m) => [
            m.method,
            formatSeconds(m.backup.seconds),
            `${formatBytes(m.bytes)}${m.copies > 1 ? ` x${m.copies}` : ""}`,
            formatSeconds(m.restore.seconds),
            formatSeconds(m.endToEndSeconds),
            m.verified.ok ? "yes" : "NO",
        ]),
    ];
}

function targetLines(r: BenchReport): string[] {
    return r.targets.map(
        (t) => `[${verdict(t.met)}] ${t.description}: ${fmtRatio(t.value, 3)} (target ${t.comparison} ${t.limit})`,
    );
}

/** The plain-text table printed at the end of a run. */
export function renderTable(r: BenchReport): string {
    const out: string[] = [];
    out.push(`Backup/restore benchmark: ${headline(r)}`);
    out.push(loadLine(r));
    out.push("");
    out.push(...pad(methodRows(r)));
    out.push("");
    const ratioRows = [
        ["ratio", "backup", "bytes", "restore", "end-to-end"],
        ...(
            [
                ["toolkit/plan", r.ratios.toolkitOverPlan],
                ["toolkit/floor", r.ratios.toolkitOverFloor],
            ] as const
        ).map(([n, x]) => [n, fmtRatio(x.backup), fmtRatio(x.bytes), fmtRatio(x.restore), fmtRatio(x.endToEnd)]),
    ];
    out.push(...pad(ratioRows));
    out.push("");
    out.push("Targets (reported, not asserted):");
    out.push(...targetLines(r).map((l) => `  ${l}`));
    for (const m of r.methods) {
        out.push("");
        out.push(`${m.method}: ${m.description}`);
        out.push(`  backup:  ${m.backup.phases.map((p) => `${p.name} ${formatSeconds(p.seconds)}`).join("; ")}`);
        out.push(`  restore: ${m.restore.phases.map((p) => `${p.name} ${formatSeconds(p.seconds)}`).join("; ")}`);
        for (const c of m.restore.checks) out.push(`  check:   [${c.ok ? "ok" : "FAILED"}] ${c.name}: ${c.detail}`);
        if (!m.verified.ok) out.push(`  NOT VERIFIED: ${m.verified.problems.join("; ")}`);
    }
    if (r.profile) {
        out.push("");
        out.push("Toolkit stages run alone (--profile):");
        out.push(`  backup:  ${r.profile.backup.map((p) => `${p.name} ${formatSeconds(p.seconds)}`).join("; ")}`);
        out.push(`  restore: ${r.profile.restore.map((p) => `${p.name} ${formatSeconds(p.seconds)}`).join("; ")}`);
        for (const c of r.profile.cpu) {
            const top = Object.entries(c.byProcess)
                .sort((a, b) => b[1] - a[1])
                .filter(([, v]) => v >= 0.05);
            out.push(
                `  ${c.command}: ${formatSeconds(c.wallSeconds)} wall, machine busy ${c.machineCpuSeconds.toFixed(1)} of ${c.availableCpuSeconds.toFixed(1)} CPU-s; ` +
                    top.map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", "),
            );
        }
    }
    return out.join("\n");
}

/** The same as Markdown (for the README and the .md beside the JSON). */
export function renderMarkdown(r: BenchReport): string {
    const table = (rows: string[][]) =>
        [
            `| ${rows[0].join(" | ")} |`,
            `|${rows[0].map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
            ...rows.slice(1).map((row) => `| ${row.join(" | ")} |`),
        ].join("\n");
    const ratioRows = [
        ["ratio", "backup", "bytes", "restore", "end-to-end"],
        ...(
            [
                ["toolkit / plan", r.ratios.toolkitOverPlan],
                ["toolkit / floor", r.ratios.toolkitOverFloor],
            ] as const
        ).map(([n, x]) => [n, fmtRatio(x.backup), fmtRatio(x.bytes), fmtRatio(x.restore), fmtRatio(x.endToEnd)]),
    ];
    return [
        `Measured ${headline(r)}.`,
        `${loadLine(r)}.`,
        "",
        table(methodRows(r)),
        "",
        table(ratioRows),
        "",
        ...r.targets.map(
            (t) =>
                `- ${t.met === null ? "n/a" : t.met ? "met" : "**missed**"}: ${t.description}: ${fmtRatio(t.value, 3)} (target ${t.comparison} ${t.limit})`,
        ),
        "",
    ].join("\n");
}
