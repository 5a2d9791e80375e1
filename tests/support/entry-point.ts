// How the tests start a command as its npm script does (package.json: `ts-node
// --transpile-only <file>`): node with ts-node's transpile-only hook, in a child process.
import { join, resolve } from "node:path";
import { cleanEnv, run, type RunResult } from "../../harness/process";

export const ROOT = resolve(__dirname, "../..");

/** Node's arguments that run `file` (relative to the repository) with `args`. */
export function entryArgs(file: string, args: readonly string[] = []): string[] {
    return ["-r", "ts-node/register/transpile-only", join(ROOT, file), ...args];
}

/** Runs `file` with `args` from the repository root, in a clean environment, to its end. */
export function runEntry(file: string, args: readonly string[], timeoutMs: number): Promise<RunResult> {
    return run(process.execPath, entryArgs(file, args), { cwd: ROOT, env: cleanEnv(), timeoutMs });
}
