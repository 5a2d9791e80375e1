// The backup manifest (docs/host-toolkit.md, "Object layout") as the drill and the rehearsal read it,
// and the parsers for what the toolkit prints. Pure.
import type { BackupFacts } from "./report";

/** `<id>.manifest.json` / `latest.json`, format income-fortress-backup/1. */
export interface BackupManifest {
    format: string;
    id: string;
    /** Snapshot time (UTC ISO): what the RPO is measured from. */
    createdAt: string;
    completedAt: string;
    tag: string | null;
    database: string;
    object: string;
    bytes: number;
    sha256: string;
    compression: string;
    encryption: string;
    /** `{"schema.table": exact row count}` in the dump's snapshot. */
    tables: Record<string, number>;
}

export const MANIFEST_FORMAT = "income-fortress-backup/1";

/** Parses and checks a manifest; throws with what is wrong. */
export function parseManifest(value: unknown, where: string): BackupManifest {
    const m = (typeof value === "string" ? JSON.parse(value) : value) as Partial<BackupManifest> | null;
    const problems: string[] = [];
    if (!m || typeof m !== "object") throw new Error(`${where}: not a JSON object`);
    if (m.format !== MANIFEST_FORMAT) problems.push(`format is ${JSON.stringify(m.format)}, not ${MANIFEST_FORMAT}`);
    for (const k of ["id", "createdAt", "object", "sha256", "encryption"] as const)
        if (typeof m[k] !== "string" || m[k] === "") problems.push(`${k} is missing`);
    if (typeof m.createdAt === "string" && Number.isNaN(Date.parse(m.createdAt)))
        problems.push(`createdAt ${JSON.stringify(m.createdAt)} is not a time`);
    if (typeof m.bytes !== "number") problems.push("bytes is missing");
    if (!m.tables || typeof m.tables !== "object" || Object.values(m.tables).some((n) => typeof n !== "number"))
        problems.push("tables is not {table: count}");
    if (problems.length) throw new Error(`${where}: malformed manifest: ${problems.join("; ")}`);
    return m as BackupManifest;
}

/** Number of tables and total rows of a manifest. */
export function manifestTotals(m: Pick<BackupManifest, "tables">): { tables: number; rows: number } {
    const counts = Object.values(m.tables);
    return { tables: counts.length, rows: counts.reduce((a, b) => a + b, 0) };
}

/** The report's facts about a restored backup, from its manifest; `source` says where it came from. */
export function backupFacts(m: BackupManifest, source: string): BackupFacts {
    return {
        id: m.id,
        createdAt: m.createdAt,
        completedAt: m.completedAt,
        bytes: m.bytes,
        sha256: m.sha256,
        encryption: m.encryption,
        source,
        ...manifestTotals(m),
    };
}

/** One `table: expected X, got Y` line per difference (tables of `expected` only). */
export function countDifferences(expected: Record<string, number>, actual: Record<string, number>): string[] {
    return Object.entries(expected)
        .filter(([t, n]) => actual[t] !== n)
        .map(([t, n]) => `${t}: expected ${n}, got ${actual[t] ?? "no table"}`)
        .sort();
}

/** What fortress-restore's result line says (`restored <id> into <db>: N tables, M rows, counts match the manifest`). */
export type RestoreOutcome =
    | { restored: true; backupId: string; database: string; tables: number; rows: number }
    | { restored: false; reason: string };

/**
 * Reads the restore step's stdout (fortress-restore's result line, and the recovery
 * script's own messages). A restore that left an existing database alone, or printed
 * nothing we know, is `restored: false` with the reason.
 */
export function parseRestoreOutput(stdout: string): RestoreOutcome {
    const m = /restored (\S+) into (\S+): (\d+) tables, (\d+) rows, counts match the manifest/.exec(stdout);
    if (m) return { restored: true, backupId: m[1]!, database: m[2]!, tables: Number(m[3]), rows: Number(m[4]) };
    if (/left untouched/.test(stdout))
        return { restored: false, reason: "the database already had tables, so the restore step left it untouched" };
    if (/nothing to restore/.test(stdout))
        return { restored: false, reason: "no backup existed in the vault, so nothing was restored" };
    if (/restore is off/.test(stdout)) return { restored: false, reason: "restoreMode is off for this stack" };
    return {
        restored: false,
        reason:
            stdout.trim() === ""
                ? "the restore step printed nothing"
                : `unrecognised restore output: ${stdout.trim().split("\n").pop()}`,
    };
}
