// The plan's Recovery Objectives (seed/disaster-recovery-plan.md, "Recovery Time Objective"
// and "Recovery Point Objective") as data, and the overrides that let a team tighten them
// (`--target database=30m`, `--targets file.json`). Pure: no I/O.

/** Which table of the plan an objective comes from. */
export type ObjectiveKind = "rto" | "rpo";

/** One row of the plan's RTO or RPO table. */
export interface Objective {
    /** The table the row is in. */
    kind: ObjectiveKind;
    /** Short key used by overrides and in the JSON report, e.g. `database`. */
    key: string;
    /** The row's name exactly as the plan prints it, e.g. `Database (Primary Failure)`. */
    name: string;
    /** Target in seconds (the plan's value unless overridden). */
    targetSeconds: number;
    /** The plan's "Maximum Acceptable" in seconds. Overrides may not go past it. */
    maximumSeconds: number;
    /** The plan's own target in seconds, kept so the report can say what was overridden. */
    planTargetSeconds: number;
    /** The plan's wording of the target, e.g. `4 hours` or `0 (immediate backup)`. */
    planTargetText: string;
    /** The plan's wording of the maximum, e.g. `8 hours`. */
    planMaximumText: string;
}

/** The objectives of both tables. */
export interface Targets {
    rto: Objective[];
    rpo: Objective[];
}

const HOUR = 3600;
const MINUTE = 60;

function row(
    kind: ObjectiveKind,
    key: string,
    name: string,
    target: number,
    targetText: string,
    maximum: number,
    maximumText: string,
): Objective {
    return {
        kind,
        key,
        name,
        targetSeconds: target,
        maximumSeconds: maximum,
        planTargetSeconds: target,
        planTargetText: targetText,
        planMaximumText: maximumText,
    };
}

/** The plan's RTO table, in the plan's order. */
export const PLAN_RTO: readonly Objective[] = Object.freeze([
    row("rto", "api", "API (Complete Outage)", 4 * HOUR, "4 hours", 8 * HOUR, "8 hours"),
    row("rto", "database", "Database (Primary Failure)", 1 * HOUR, "1 hour", 2 * HOUR, "2 hours"),
    row("rto", "cache", "Cache (Redis Failure)", 30 * MINUTE, "30 minutes", 1 * HOUR, "1 hour"),
    row("rto", "celery", "Celery Workers", 1 * HOUR, "1 hour", 2 * HOUR, "2 hours"),
    row("rto", "background-jobs", "Background Jobs", 2 * HOUR, "2 hours", 4 * HOUR, "4 hours"),
]);

/** The plan's RPO table, in the plan's order. */
export const PLAN_RPO: readonly Objective[] = Object.freeze([
    row("rpo", "user-data", "User Data (Portfolios, Proposals)", 1 * HOUR, "1 hour", 4 * HOUR, "4 hours"),
    row("rpo", "transactions", "Transaction History", 1 * HOUR, "1 hour", 4 * HOUR, "4 hours"),
    row("rpo", "market-data", "Market Data (Cache)", 24 * HOUR, "24 hours", 48 * HOUR, "48 hours"),
    row("rpo", "system-logs", "System Logs", 24 * HOUR, "24 hours", 72 * HOUR, "72 hours"),
    row("rpo", "configuration", "Configuration Changes", 0, "0 (immediate backup)", 1 * HOUR, "1 hour"),
]);

/** A fresh, mutable copy of the plan's targets. */
export function planTargets(): Targets {
    return { rto: PLAN_RTO.map((o) => ({ ...o })), rpo: PLAN_RPO.map((o) => ({ ...o })) };
}

/** Every valid override key, `rto.<key>` and `rpo.<key>`, for error messages and --help. */
export function objectiveKeys(): string[] {
    return [...PLAN_RTO.map((o) => `rto.${o.key}`), ...PLAN_RPO.map((o) => `rpo.${o.key}`)];
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: MINUTE, h: HOUR, d: 24 * HOUR };

/**
 * Parses a duration: whole seconds (`90`), or one or more number+unit parts with units
 * s, m, h, d (`90s`, `45m`, `1.5h`, `2h30m`, `1d`). Returns undefined when it is not one.
 */
export function parseDuration(text: string): number | undefined {
    const t = text.trim().toLowerCase();
    if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
    if (!/^(\d+(\.\d+)?[smhd])+$/.test(t)) return undefined;
    let total = 0;
    for (const m of t.matchAll(/(\d+(?:\.\d+)?)([smhd])/g)) total += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
    return total;
}

/**
 * A short human duration for measured values: `0.8 s`, `42.0 s`, `4 min 05 s`, `1 h 02 min`,
 * `2 d 03 h`. Null (not measured) prints as `not measured`.
 */
export function formatSeconds(seconds: number | null): string {
    if (seconds === null || !Number.isFinite(seconds)) return "not measured";
    const sign = seconds < 0 ? "-" : "";
    const s = Math.abs(seconds);
    if (s < 60) return `${sign}${s.toFixed(1)} s`;
    const whole = Math.round(s);
    if (whole < HOUR) return `${sign}${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, "0")} s`;
    if (whole < 24 * HOUR)
        return `${sign}${Math.floor(whole / HOUR)} h ${String(Math.floor((whole % HOUR) / 60)).padStart(2, "0")} min`;
    return `${sign}${Math.floor(whole / (24 * HOUR))} d ${String(Math.floor((whole % (24 * HOUR)) / HOUR)).padStart(2, "0")} h`;
}

/** A target in the plan's words when it is a whole number of hours or minutes (`30 minutes`, `1 hour`). */
export function formatTarget(seconds: number): string {
    if (seconds === 0) return "0";
    if (seconds % HOUR === 0) return `${seconds / HOUR} hour${seconds === HOUR ? "" : "s"}`;
    if (seconds % MINUTE === 0) return `${seconds / MINUTE} minute${seconds === MINUTE ? "" : "s"}`;
    return `${seconds} seconds`;
}

/** One requested change of a target. */
export interface TargetOverride {
    kind: ObjectiveKind;
    key: string;
    seconds: number;
    /** Where it came from, for error messages: `--target database=30m` or the file name. */
    source: string;
}

/** Error in a target override; the message says what is wrong and how to fix it. */
export class TargetError extends Error {}

function findObjective(name: string, source: string): { kind: ObjectiveKind; key: string } {
    const lower = name.trim().toLowerCase();
    const dot = lower.indexOf(".");
    const kinds: ObjectiveKind[] =
        dot > 0 && (lower.slice(0, dot) === "rto" || lower.slice(0, dot) === "rpo")
            ? [lower.slice(0, dot) as ObjectiveKind]
            : ["rto", "rpo"];
    const key = kinds.length === 1 ? lower.slice(dot + 1) : lower;
    const matches = kinds.flatMap((kind) =>
        (kind === "rto" ? PLAN_RTO : PLAN_RPO).filter((o) => o.key === key).map((o) => ({ kind, key: o.key })),
    );
    if (matches.length === 0) {
        throw new TargetError(
            `${source}: "${name}" is not an objective of the plan; use one of ${objectiveKeys().join(", ")} (the rto./rpo. prefix is optional)`,
        );
    }
    return matches[0]!;
}

/** Parses one `--target KEY=DURATION` flag, e.g. `database=30m` or `rpo.user-data=15m`. */
export function parseTargetFlag(flag: string): TargetOverride {
    const source = `--target ${flag}`;
    const eq = flag.indexOf("=");
    if (eq <= 0) throw new TargetError(`${source}: expected KEY=DURATION, such as database=30m or rpo.user-data=15m`);
    const { kind, key } = findObjective(flag.slice(0, eq), source);
    const seconds = parseDuration(flag.slice(eq + 1));
    if (seconds === undefined)
        throw new TargetError(
            `${source}: "${flag.slice(eq + 1)}" is not a duration; use seconds or 90s, 45m, 1h, 2h30m, 1d`,
        );
    return { kind, key, seconds, source };
}

/**
 * Parses a targets file: `{"rto": {"database": "30m"}, "rpo": {"user-data": 900}}`, or a flat
 * `{"database": "30m", "rpo.user-data": "15m"}`. Values are durations or seconds.
 */
export function parseTargetsFile(text: string, fileName: string): TargetOverride[] {
    let data: unknown;
    try {
        data = JSON.parse(text);
    } catch (e) {
        throw new TargetError(
            `${fileName}: not valid JSON (${(e as Error).message}); write {"rto": {"database": "30m"}, "rpo": {"user-data": "15m"}}`,
        );
    }
    if (typeof data !== "object" || data === null || Array.isArray(data)) {
        throw new TargetError(`${fileName}: expected a JSON object such as {"rto": {"database": "30m"}}`);
    }
    const out: TargetOverride[] = [];
    const add = (name: string, value: unknown) => {
        const source = `${fileName}: ${name}`;
        const seconds =
            typeof value === "number" ? value : typeof value === "string" ? parseDuration(value) : undefined;
        if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) {
            throw new TargetError(
                `${source}: ${JSON.stringify(value)} is not a duration; use seconds or a string such as "45m"`,
            );
        }
        const { kind, key } = findObjective(name, source);
        out.push({ kind, key, seconds, source });
    };
    for (const [name, value] of Object.entries(data as Record<string, unknown>)) {
        if (
            (name === "rto" || name === "rpo") &&
            typeof value === "object" &&
            value !== null &&
            !Array.isArray(value)
        ) {
            for (const [k, v] of Object.entries(value as Record<string, unknown>)) add(`${name}.${k}`, v);
        } else {
            add(name, value);
        }
    }
    return out;
}

/**
 * Applies overrides to a copy of `base`. A target may be tightened freely, and loosened up
 * to the plan's "Maximum Acceptable" but not past it: the maximum is the plan's limit.
 */
export function applyOverrides(base: Targets, overrides: readonly TargetOverride[]): Targets {
    const next: Targets = { rto: base.rto.map((o) => ({ ...o })), rpo: base.rpo.map((o) => ({ ...o })) };
    for (const o of overrides) {
        const objective = next[o.kind].find((x) => x.key === o.key);
        if (!objective) throw new TargetError(`${o.source}: no objective ${o.kind}.${o.key}`);
        if (o.seconds > objective.maximumSeconds) {
            throw new TargetError(
                `${o.source}: ${formatTarget(o.seconds)} is beyond the plan's maximum acceptable for ${objective.name} (${objective.planMaximumText}); targets can be tightened, or loosened up to that maximum`,
            );
        }
        objective.targetSeconds = o.seconds;
    }
    return next;
}
