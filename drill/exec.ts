// Small process helpers for the drill commands: find a command on PATH, run one with a
// complete environment and optional stdin.
import { spawn } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";

/** Full path of an executable `name` in the PATH-style folder list, or undefined. */
export function findExecutable(name: string, path: string = process.env.PATH ?? ""): string | undefined {
    for (const dir of path.split(delimiter)) {
        if (!dir) continue;
        const candidate = join(dir, name);
        try {
            if (!statSync(candidate).isFile()) continue;
            accessSync(candidate, constants.X_OK);
            return candidate;
        } catch {
            // not here
        }
    }
    return undefined;
}

/** Result of {@link runCommand}. */
export interface CommandResult {
    code: number | null;
    stdout: string;
    stderr: string;
}

/** Runs a command without a shell; resolves on exit (never rejects on a non-zero exit). */
export function runCommand(
    cmd: string,
    args: readonly string[],
    opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(cmd, [...args], { env: opts.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
        child.stdout.on("data", (b: Buffer) => out.push(b));
        child.stderr.on("data", (b: Buffer) => err.push(b));
        child.on("error", (e) => {
            clearTimeout(timer);
            reject(e);
        });
        child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
        });
        child.stdin.on("error", () => undefined);
        child.stdin.end(opts.input ?? "");
    });
}
