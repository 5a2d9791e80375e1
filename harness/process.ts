// Process helpers shared by the real-service tests: run a child asynchronously (so servers
// that live in child processes keep being served while we wait), build a clean environment,
// find free loopback ports, and pick an unprivileged user when the tests run as root.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Outcome of a finished child process. */
export interface RunResult {
    /** Exit code, or null when the process was ended by a signal. */
    code: number | null;
    /** Signal that ended the process, if any. */
    signal: NodeJS.Signals | null;
    /** Standard output decoded as UTF-8. */
    stdout: string;
    /** Standard output as raw bytes (for binary objects). */
    stdoutBytes: Buffer;
    /** Standard error decoded as UTF-8. */
    stderr: string;
    /** Wall-clock duration in milliseconds. */
    ms: number;
}

/** Options for {@link run}. */
export interface RunOptions {
    /** Complete environment of the child (default: {@link cleanEnv}()). Never merged with process.env. */
    env?: NodeJS.ProcessEnv;
    /** Bytes written to the child's stdin, which is then closed (default: stdin closed at once). */
    input?: string | Buffer;
    /** Working directory (default: the current one). */
    cwd?: string;
    /** Kill the child with SIGKILL after this many milliseconds (default 120 s). */
    timeoutMs?: number;
    /** Run as this uid (needs root). */
    uid?: number;
    /** Run as this gid (needs root). */
    gid?: number;
    /** Called with each stderr chunk as it arrives, e.g. to act on progress lines. */
    onStderr?: (chunk: string) => void;
    /** Called once the child has been spawned, with its pid. */
    onSpawn?: (pid: number) => void;
}

/** Runs a command without a shell and resolves when it exits; never rejects on a non-zero exit. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
        const child = spawn(cmd, [...args], {
            env: opts.env ?? cleanEnv(),
            cwd: opts.cwd,
            uid: opts.uid,
            gid: opts.gid,
            stdio: ["pipe", "pipe", "pipe"],
        });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
        child.stdout.on("data", (b: Buffer) => out.push(b));
        child.stderr.on("data", (b: Buffer) => {
            err.push(b);
            opts.onStderr?.(b.toString("utf8"));
        });
        child.on("error", (e) => {
            clearTimeout(timer);
            reject(e);
        });
        child.on("spawn", () => {
            if (child.pid !== undefined) opts.onSpawn?.(child.pid);
        });
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            const stdoutBytes = Buffer.concat(out);
            resolve({
                code,
                signal,
                stdout: stdoutBytes.toString("utf8"),
                stdoutBytes,
                stderr: Buffer.concat(err).toString("utf8"),
                ms: Date.now() - started,
            });
        });
        child.stdin.on("error", () => undefined); // the child may exit without reading stdin
        child.stdin.end(opts.input ?? "");
    });
}

/** Like {@link run} but throws (with the command's stderr) unless it exits 0. */
export async function runOk(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const r = await run(cmd, args, opts);
    if (r.code !== 0) {
        throw new Error(`${cmd} ${args.join(" ")} exited ${r.code ?? r.signal}: ${r.stderr.trim()}`);
    }
    return r;
}

/**
 * A minimal environment for child processes, built from scratch: PATH, HOME, TMPDIR, a
 * UTF-8 locale and UTC, plus `extra`. Nothing else from the test runner leaks in: in
 * particular not AWS_CA_BUNDLE (with it set, rclone's S3 backend fails on plain-HTTP loopback
 * endpoints), nor PG*, AWS_*, RCLONE_*, BACKUP_* or FORTRESS_* settings of the developer's
 * shell. A value of undefined in `extra` removes that variable.
 */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
        HOME: process.env.HOME ?? "/root",
        LANG: "C.UTF-8",
        LC_ALL: "C.UTF-8",
        TZ: "UTC",
    };
    if (process.env.TMPDIR) env.TMPDIR = process.env.TMPDIR;
    for (const [key, value] of Object.entries(extra)) {
        if (value === undefined) delete env[key];
        else env[key] = value;
    }
    return env;
}

/** Asks the kernel for a free TCP port on 127.0.0.1 (closed again before returning). */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = createServer();
        srv.unref();
        srv.on("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const addr = srv.address();
            srv.close(() => {
                if (addr && typeof addr === "object") resolve(addr.port);
                else reject(new Error("no port"));
            });
        });
    });
}

/** Resolves once something accepts TCP connections on host:port; rejects after timeoutMs. */
export async function waitForPort(port: number, host = "127.0.0.1", timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const ok = await new Promise<boolean>((resolve) => {
            const s = new Socket();
            s.once("connect", () => {
                s.destroy();
                resolve(true);
            });
            s.once("error", () => {
                s.destroy();
                resolve(false);
            });
            s.connect(port, host);
        });
        if (ok) return;
        if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
        await sleep(50);
    }
}

export function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A uid/gid pair to run a service as. */
export interface UnixIdentity {
    uid: number;
    gid: number;
}

/**
 * The identity to run services that refuse root (PostgreSQL) as: `nobody`/its group when
 * this process is root (CI runs as root), otherwise undefined (run as the current user).
 */
export function unprivilegedIdentity(): UnixIdentity | undefined {
    if (typeof process.getuid !== "function" || process.getuid() !== 0) return undefined;
    const uid = Number(execFileSync("id", ["-u", "nobody"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "nobody"], { encoding: "utf8" }).trim());
    return { uid, gid };
}

/** Creates a fresh private directory under the system temp dir. */
export function makeTempDir(prefix: string): string {
    return mkdtempSync(join(tmpdir(), `${prefix}-`));
}
