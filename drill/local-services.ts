// What the local rehearsal needs from the machine, and the message when something is
// missing. The services themselves come from the test harness (harness/*.ts), which
// has no test-runner imports and is plain TypeScript: the rehearsal uses the same
// PostgreSQL, s3rver and toolkit helpers as the integration tests, so what CI proves is what
// a newcomer runs.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { findExecutable } from "./exec";

/** A command the rehearsal runs, and the Debian package that provides it. */
export interface Requirement {
    command: string;
    pkg: string;
    /** `path`: looked up on PATH; `postgres-bin`: in the PostgreSQL server folder (not on PATH in Debian). */
    where: "path" | "postgres-bin";
}

export const REHEARSAL_REQUIREMENTS: readonly Requirement[] = [
    { command: "initdb", pkg: "postgresql", where: "postgres-bin" },
    { command: "pg_ctl", pkg: "postgresql", where: "postgres-bin" },
    { command: "psql", pkg: "postgresql-client", where: "path" },
    { command: "pg_dump", pkg: "postgresql-client", where: "path" },
    { command: "pg_restore", pkg: "postgresql-client", where: "path" },
    { command: "rclone", pkg: "rclone", where: "path" },
    { command: "age", pkg: "age", where: "path" },
    { command: "age-keygen", pkg: "age", where: "path" },
    { command: "zstd", pkg: "zstd", where: "path" },
    { command: "jq", pkg: "jq", where: "path" },
    { command: "flock", pkg: "util-linux", where: "path" },
    { command: "sha256sum", pkg: "coreutils", where: "path" },
    { command: "bash", pkg: "bash", where: "path" },
];

/** Missing packages, each with the commands it would provide, in requirement order. */
export function missingPackages(
    has: (r: Requirement) => boolean,
    requirements: readonly Requirement[] = REHEARSAL_REQUIREMENTS,
): { pkg: string; commands: string[] }[] {
    const out = new Map<string, string[]>();
    for (const r of requirements) {
        if (has(r)) continue;
        out.set(r.pkg, [...(out.get(r.pkg) ?? []), r.command]);
    }
    return [...out.entries()].map(([pkg, commands]) => ({ pkg, commands }));
}

/** One line naming every missing package and the command that installs them. */
export function missingPackagesMessage(missing: { pkg: string; commands: string[] }[]): string {
    const list = missing.map((m) => `${m.pkg} (${m.commands.join(", ")})`).join(", ");
    const pkgs = missing.map((m) => m.pkg).join(" ");
    return `missing system packages: ${list}. Install them (Debian/Ubuntu): sudo apt-get install -y ${pkgs}; for PostgreSQL server binaries elsewhere set PG_BIN_DIR`;
}

/**
 * The newest PostgreSQL server folder: $PG_BIN_DIR, else /usr/lib/postgresql/<major>/bin
 * (Debian keeps initdb and pg_ctl there, off PATH), else the folder of an initdb on PATH.
 */
export function postgresBinDir(env: NodeJS.ProcessEnv = process.env, root = "/usr/lib/postgresql"): string | undefined {
    if (env.PG_BIN_DIR) return existsSync(join(env.PG_BIN_DIR, "initdb")) ? env.PG_BIN_DIR : undefined;
    if (existsSync(root)) {
        const versions = readdirSync(root)
            .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, "bin", "initdb")))
            .sort((a, b) => Number(b) - Number(a));
        if (versions[0]) return join(root, versions[0], "bin");
    }
    const initdb = findExecutable("initdb", env.PATH ?? "");
    return initdb ? initdb.slice(0, initdb.lastIndexOf("/")) : undefined;
}

/**
 * Gets the machine ready for a rehearsal: true, with PG_BIN_DIR set (the harness finds the
 * server binaries through it first), or false after printing the one-line problem.
 */
export function prepareRehearsalMachine(progress: (line: string) => void): boolean {
    const machine = checkRehearsalMachine();
    if (!machine.ok) {
        progress(`rehearse: error: ${machine.message}`);
        return false;
    }
    process.env.PG_BIN_DIR ??= machine.pgBinDir;
    return true;
}

/** Checks the machine; returns the PostgreSQL folder, or the one-line problem. */
export function checkRehearsalMachine(
    env: NodeJS.ProcessEnv = process.env,
): { ok: true; pgBinDir: string } | { ok: false; message: string } {
    const pgBinDir = postgresBinDir(env);
    const missing = missingPackages((r) =>
        r.where === "postgres-bin"
            ? pgBinDir !== undefined && existsSync(join(pgBinDir, r.command))
            : findExecutable(r.command, env.PATH ?? "") !== undefined,
    );
    const problems: string[] = [];
    if (missing.length > 0) problems.push(missingPackagesMessage(missing));
    try {
        require.resolve("s3rver/bin/s3rver.js");
    } catch {
        problems.push(
            "the npm package s3rver (the local S3 server) is not installed: run npm ci (it is a devDependency)",
        );
    }
    if (problems.length > 0 || pgBinDir === undefined) return { ok: false, message: problems.join("; ") };
    return { ok: true, pgBinDir };
}
