// Process helpers shared by the real-service tests: run a child asynchronously (so servers
// that live in child processes keep being served while we wait), build a clean environment,
// find free loopback ports, and pick an unprivileged user when the tests run as root.
//
// It also picks the PostgreSQL major the tests, the rehearsal and the bench use (see
// selectedPostgres) and puts that version's client tools first on PATH: on the PATH of
// every child (cleanEnv), and on this process's own, which PATH mirrors such as
// harness/toolkit.ts's makeShimPath copy. So the toolkit's `pg_dump`, `pg_restore` and
// `psql` are always those of the server the harness starts.
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";

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
 * A minimal environment for child processes, built from scratch: PATH (with the selected
 * PostgreSQL's client tools first), HOME, TMPDIR, a UTF-8 locale and UTC, and
 * FORTRESS_TEST_PG set to the selected major so that a child that starts clusters itself
 * (the rehearsal, the bench) picks the same one; plus `extra`. Nothing else from the test
 * runner leaks in: in particular not AWS_CA_BUNDLE (with it set, rclone's S3 backend fails
 * on plain-HTTP loopback endpoints), nor PG*, AWS_*, RCLONE_*, BACKUP_* or other FORTRESS_*
 * settings of the developer's shell. A value of undefined in `extra` removes that variable.
 */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
        PATH: pathWithPostgresClients(process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin"),
        HOME: process.env.HOME ?? "/root",
        LANG: "C.UTF-8",
        LC_ALL: "C.UTF-8",
        TZ: "UTC",
    };
    if (process.env.TMPDIR) env.TMPDIR = process.env.TMPDIR;
    const pg = trySelectedPostgres();
    if (pg) env.FORTRESS_TEST_PG = String(pg.major);
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

/** Whether this process runs as root. */
export function isRoot(): boolean {
    return typeof process.getuid === "function" && process.getuid() === 0;
}

/** The repository's .tools folder: tools/setup builds PostgreSQL roots there. */
export const TOOLS_DIR = resolve(__dirname, "../.tools");
/** Where Debian installs each PostgreSQL major on this machine (<major>/bin). */
export const HOST_POSTGRES_DIR = "/usr/lib/postgresql";
/** The file tools/setup writes last into a root it built: a root without it is unfinished. */
export const ROOT_READY_FILE = ".income-fortress-ready";

/** A PostgreSQL major this machine can run. */
export interface PostgresInstall {
    /** Major version, e.g. 17. */
    major: number;
    /**
     * `host`: Debian's packages on this machine (/usr/lib/postgresql/<major>); `root`: a
     * Debian root built by tools/setup (.tools/pg<major>-root), whose server runs chrooted
     * and whose client tools run through wrappers (.tools/pg<major>-bin); `PG_BIN_DIR`: the
     * folder that variable names.
     */
    source: "host" | "root" | "PG_BIN_DIR";
    /** Folder of its client tools (psql, pg_dump, pg_restore), runnable on this machine. */
    clientDir: string;
    /** Folder of its server binaries (initdb, pg_ctl): a path inside `root` for a root. */
    serverBinDir: string;
    /** The root the server runs chrooted in (source `root` only). */
    root?: string;
}

const pgBinDirMajors = new Map<string, number | undefined>();
/** Major version of the server binaries in a folder (`initdb --version`), or undefined. */
function majorOfBinDir(dir: string): number | undefined {
    if (!pgBinDirMajors.has(dir)) {
        let major: number | undefined;
        try {
            const out = execFileSync(join(dir, "initdb"), ["--version"], {
                encoding: "utf8",
                stdio: ["ignore", "pipe", "ignore"],
            });
            const m = /\(PostgreSQL\) (\d+)/.exec(out);
            if (m) major = Number(m[1]);
        } catch {
            major = undefined;
        }
        pgBinDirMajors.set(dir, major);
    }
    return pgBinDirMajors.get(dir);
}

/**
 * Every PostgreSQL this process can run: $PG_BIN_DIR's (when it holds initdb), the roots
 * tools/setup finished (only when root: the server runs chrooted), and Debian's.
 */
export function postgresInstalls(
    env: NodeJS.ProcessEnv = process.env,
    toolsDir = TOOLS_DIR,
    hostDir = HOST_POSTGRES_DIR,
): PostgresInstall[] {
    const found: PostgresInstall[] = [];
    if (env.PG_BIN_DIR) {
        const major = majorOfBinDir(env.PG_BIN_DIR);
        if (major !== undefined)
            found.push({ major, source: "PG_BIN_DIR", clientDir: env.PG_BIN_DIR, serverBinDir: env.PG_BIN_DIR });
    }
    if (isRoot() && existsSync(toolsDir)) {
        for (const name of readdirSync(toolsDir)) {
            const m = /^pg(\d+)-root$/.exec(name);
            if (!m) continue;
            const root = join(toolsDir, name);
            const serverBinDir = `/usr/lib/postgresql/${m[1]}/bin`;
            const clientDir = join(toolsDir, `pg${m[1]}-bin`);
            if (
                existsSync(join(root, ROOT_READY_FILE)) &&
                existsSync(join(root, serverBinDir, "initdb")) &&
                existsSync(join(clientDir, "pg_dump"))
            ) {
                found.push({ major: Number(m[1]), source: "root", clientDir, serverBinDir, root });
            }
        }
    }
    if (existsSync(hostDir)) {
        for (const v of readdirSync(hostDir)) {
            const bin = join(hostDir, v, "bin");
            if (/^\d+$/.test(v) && existsSync(join(bin, "initdb")))
                found.push({ major: Number(v), source: "host", clientDir: bin, serverBinDir: bin });
        }
    }
    return found;
}

const SOURCE_ORDER: Record<PostgresInstall["source"], number> = { PG_BIN_DIR: 0, root: 1, host: 2 };

/**
 * Picks the PostgreSQL to run: `major` (FORTRESS_TEST_PG, or startPostgres's `version`), else
 * the newest. Of one major, $PG_BIN_DIR's comes first, then a root's, then Debian's. Throws
 * naming what to install.
 */
export function choosePostgres(installs: readonly PostgresInstall[], major?: string): PostgresInstall {
    const ordered = [...installs].sort((a, b) => b.major - a.major || SOURCE_ORDER[a.source] - SOURCE_ORDER[b.source]);
    if (major !== undefined && major !== "") {
        if (!/^\d+$/.test(major))
            throw new Error(`PostgreSQL major '${major}' is not a number (FORTRESS_TEST_PG=17, 15, ...)`);
        const chosen = ordered.find((i) => i.major === Number(major));
        if (chosen) return chosen;
        const have = [...new Set(ordered.map((i) => i.major))].join(", ") || "none";
        throw new Error(
            `PostgreSQL ${major} is not installed here (available: ${have}): ` +
                `bash tools/setup builds PostgreSQL 17 into .tools/pg17-root (its server runs chrooted, which needs root); ` +
                `other majors: apt-get install postgresql-${major}`,
        );
    }
    const chosen = ordered[0];
    if (!chosen)
        throw new Error(
            `no PostgreSQL server binaries under ${HOST_POSTGRES_DIR} nor in .tools: apt-get install postgresql, or bash tools/setup`,
        );
    return chosen;
}

/**
 * The PostgreSQL the harness starts by default and whose client tools go first on PATH:
 * FORTRESS_TEST_PG=<major> to choose (17, 15, ...), else the newest, which is 17 once
 * tools/setup has built its root. $PG_BIN_DIR adds a folder of server binaries (for a
 * build Debian does not have) and comes first among those of its major.
 */
export function selectedPostgres(env: NodeJS.ProcessEnv = process.env): PostgresInstall {
    return choosePostgres(postgresInstalls(env), env.FORTRESS_TEST_PG);
}

/** {@link selectedPostgres}, or undefined when there is none (a machine without PostgreSQL). */
function trySelectedPostgres(): PostgresInstall | undefined {
    try {
        return selectedPostgres();
    } catch {
        return undefined;
    }
}

/**
 * `path` with the selected PostgreSQL's client folder first, and no other PostgreSQL
 * client folder this harness knows of; unchanged when no PostgreSQL is found.
 */
export function pathWithPostgresClients(path: string): string {
    const installs = postgresInstalls();
    let chosen: PostgresInstall;
    try {
        chosen = choosePostgres(installs, process.env.FORTRESS_TEST_PG);
    } catch {
        return path;
    }
    const known = new Set(installs.map((i) => i.clientDir));
    return [chosen.clientDir, ...path.split(delimiter).filter((p) => p !== "" && !known.has(p))].join(delimiter);
}

/**
 * Makes `major` the PostgreSQL of this process and of its children (FORTRESS_TEST_PG, and
 * its client tools first on this process's PATH). Throws when that major is not installed.
 */
export function usePostgres(major: string): PostgresInstall {
    const chosen = choosePostgres(postgresInstalls(), major);
    process.env.FORTRESS_TEST_PG = major;
    process.env.PATH = pathWithPostgresClients(process.env.PATH ?? "");
    return chosen;
}

// This process's own PATH too: makeShimPath mirrors it, and a shim PATH must find the same
// pg_dump as a clean one.
process.env.PATH = pathWithPostgresClients(process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin");

/** Splits a stream of chunks into whole lines. */
export function lineSplitter(onLine: (line: string) => void): { push: (chunk: string) => void; flush: () => void } {
    let buffer = "";
    return {
        push(chunk) {
            buffer += chunk;
            for (let i = buffer.indexOf("\n"); i >= 0; i = buffer.indexOf("\n")) {
                onLine(buffer.slice(0, i));
                buffer = buffer.slice(i + 1);
            }
        },
        flush() {
            if (buffer) onLine(buffer);
            buffer = "";
        },
    };
}
