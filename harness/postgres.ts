// A throwaway PostgreSQL cluster for real-service tests: a temp data directory, TCP on
// 127.0.0.1 only (no Unix socket), SCRAM password auth, and settings that trade durability
// for speed. The version is the harness's selected one (FORTRESS_TEST_PG, see
// harness/process.ts selectedPostgres) unless asked for: Debian's own server binaries, or
// PostgreSQL 17 (production's major) from the Debian 13 root that tools/setup builds in
// .tools/pg17-root. PostgreSQL refuses to run as root and CI runs as root, so when we are
// root Debian's server runs as `nobody` (see unprivilegedIdentity); a root's server runs
// chrooted in it as that root's own `postgres` user, with its data directory in the root's
// /tmp, since it cannot see anything outside.
import { spawnSync } from "node:child_process";
import {
    chmodSync,
    chownSync,
    copyFileSync,
    existsSync,
    mkdirSync,
    mkdtempSync,
    readFileSync,
    rmSync,
    statSync,
    writeFileSync,
} from "node:fs";
import { randomBytes } from "node:crypto";
import { basename, join } from "node:path";
import {
    choosePostgres,
    cleanEnv,
    freePort,
    makeTempDir,
    postgresInstalls,
    type PostgresInstall,
    run,
    type RunOptions,
    runOk,
    selectedPostgres,
    unprivilegedIdentity,
    type UnixIdentity,
    waitForPort,
} from "./process";

/** Options for {@link startPostgres}. */
export interface PostgresOptions {
    /** Major version to use, e.g. "17" or "15" (default: the harness's selected one). */
    version?: string;
    /** Superuser name created by initdb (default `postgres`). */
    superuser?: string;
    /**
     * Extra `postgresql.conf` settings, e.g. `{ max_connections: "50" }`. A setting that
     * names a file on this machine (ssl_cert_file, ssl_key_file, ...) may do so for a
     * chrooted server too: the file is copied into the cluster's folder, owned by its user.
     */
    settings?: Record<string, string>;
}

/**
 * The client tools' folder of a major (default: the selected one): Debian's server folder,
 * which has both, or a root's wrappers. Throws with an install hint if there is none.
 */
export function findPostgresBinDir(version?: string): string {
    return (version ? choosePostgres(postgresInstalls(), version) : selectedPostgres()).clientDir;
}

/** Where `chroot` is (Debian keeps it in /usr/sbin, which a non-login PATH may lack). */
function chrootCommand(): string {
    const found = ["/usr/sbin/chroot", "/sbin/chroot", "/usr/bin/chroot"].find((p) => existsSync(p));
    if (!found) throw new Error("chroot not found: apt-get install coreutils");
    return found;
}

/** uid and gid of `postgres` in a root's own /etc/passwd. */
function rootPostgresUser(root: string): UnixIdentity {
    const line = readFileSync(join(root, "etc/passwd"), "utf8")
        .split("\n")
        .find((l) => l.startsWith("postgres:"));
    const [, , uid, gid] = line?.split(":") ?? [];
    if (!uid || !gid)
        throw new Error(`${root} has no postgres user: run bash tools/setup again (remove ${root} first)`);
    return { uid: Number(uid), gid: Number(gid) };
}

/**
 * How to run a server binary (initdb, pg_ctl) of an install as its server user: directly as
 * `identity` for Debian's, through chroot into the root for a root's.
 */
class ServerRunner {
    readonly identity: UnixIdentity | undefined;

    constructor(readonly install: PostgresInstall) {
        this.identity = install.root ? rootPostgresUser(install.root) : unprivilegedIdentity();
    }

    /** Temp folder for a cluster: the system's, or the root's /tmp, which the server can see. */
    makeBaseDir(): string {
        const dir = this.install.root
            ? mkdtempSync(join(this.install.root, "tmp", "fortress-pg-"))
            : makeTempDir("fortress-pg");
        if (this.identity) chownSync(dir, this.identity.uid, this.identity.gid);
        return dir;
    }

    /** A path on this machine as the server sees it. */
    serverPath(path: string): string {
        const root = this.install.root;
        if (!root) return path;
        if (!path.startsWith(`${root}/`)) throw new Error(`${path} is outside ${root}, where the server cannot see it`);
        return path.slice(root.length);
    }

    /** Command, arguments and run options for `tool args...`, with paths as the server sees them. */
    command(tool: string, args: readonly string[], cwd: string): [string, string[], RunOptions] {
        const bin = join(this.install.serverBinDir, tool);
        if (!this.install.root)
            return [bin, [...args], { env: cleanEnv(), uid: this.identity?.uid, gid: this.identity?.gid, cwd }];
        const { uid, gid } = this.identity!;
        // chroot itself runs as root and changes to the user; --groups so that no supplementary
        // group of whichever host account has that uid comes along.
        return [
            chrootCommand(),
            [`--userspec=${uid}:${gid}`, `--groups=${gid}`, this.install.root, bin, ...args],
            { env: cleanEnv({ PATH: "/usr/bin:/bin", HOME: "/var/lib/postgresql", TMPDIR: undefined }) },
        ];
    }

    run(tool: string, args: readonly string[], cwd: string) {
        const [cmd, argv, opts] = this.command(tool, args, cwd);
        return run(cmd, argv, opts);
    }

    runSync(tool: string, args: readonly string[], cwd: string): void {
        const [cmd, argv, opts] = this.command(tool, args, cwd);
        spawnSync(cmd, argv, { ...opts, stdio: "ignore" });
    }
}

/** A running throwaway cluster. Always call {@link PostgresCluster.stop} (e.g. in afterAll). */
export class PostgresCluster {
    /** Always 127.0.0.1. */
    readonly host = "127.0.0.1";
    private stopped = false;
    private readonly exitHook = () => this.stopSync();

    constructor(
        /** TCP port the server listens on. */
        readonly port: number,
        /** Superuser name. */
        readonly superuser: string,
        /** Superuser password (SCRAM). */
        readonly password: string,
        /** Temp directory holding the data directory and the server log (inside the root for a root's server). */
        readonly baseDir: string,
        /** The PostgreSQL this cluster runs, and where its tools are. */
        readonly install: PostgresInstall,
        /** The server's `server_version`, e.g. `17.12 (Debian 17.12-0+deb13u1)`. */
        readonly serverVersion: string,
        /** The server's `server_version_num`, e.g. 170012. */
        readonly serverVersionNum: number,
        private readonly server: ServerRunner,
    ) {
        process.once("exit", this.exitHook);
    }

    /** Major version of the running server, e.g. 17. */
    get major(): number {
        return Math.floor(this.serverVersionNum / 10000);
    }

    /** Folder of the client tools (psql, pg_dump, pg_restore) of the server's version. */
    get binDir(): string {
        return this.install.clientDir;
    }

    /** Data directory of the cluster (a path on this machine). */
    get dataDir(): string {
        return join(this.baseDir, "data");
    }

    /** Server log file. */
    get logFile(): string {
        return join(this.baseDir, "server.log");
    }

    /** Connection URL for a database, with the password unless `withPassword` is false. */
    url(database = "postgres", withPassword = true): string {
        const auth = withPassword ? `${this.superuser}:${encodeURIComponent(this.password)}` : this.superuser;
        return `postgresql://${auth}@${this.host}:${this.port}/${database}`;
    }

    /** Environment for libpq clients pointing at this cluster (PGHOST, PGPORT, PGUSER, PGPASSWORD). */
    clientEnv(database = "postgres"): Record<string, string> {
        return {
            PGHOST: this.host,
            PGPORT: String(this.port),
            PGUSER: this.superuser,
            PGPASSWORD: this.password,
            PGDATABASE: database,
        };
    }

    /** Runs SQL with psql (ON_ERROR_STOP, unaligned, tuples only) and returns stdout without the final newline. */
    async psql(sql: string, database = "postgres"): Promise<string> {
        const r = await runOk(join(this.binDir, "psql"), ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"], {
            env: cleanEnv(this.clientEnv(database)),
            input: sql,
        });
        return r.stdout.replace(/\n$/, "");
    }

    /** Runs an SQL file with psql (ON_ERROR_STOP). */
    async psqlFile(file: string, database: string): Promise<void> {
        await runOk(join(this.binDir, "psql"), ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", file], {
            env: cleanEnv(this.clientEnv(database)),
        });
    }

    /** Runs a client binary of this version (pg_dump, pg_restore, ...) against the cluster. */
    client(tool: string, args: readonly string[], database = "postgres") {
        return runOk(join(this.binDir, tool), args, { env: cleanEnv(this.clientEnv(database)) });
    }

    /**
     * Scripts named psql, pg_dump and pg_restore that run this version's, for a PATH the
     * harness does not build (the SSH test host's /usr/local/bin, see SshHostOptions.stubs),
     * as the droplet has the client of the managed server's major.
     */
    clientStubs(): Record<string, string> {
        const tools = ["psql", "pg_dump", "pg_restore"];
        return Object.fromEntries(
            tools.map((t) => [
                t,
                `#!/bin/sh\n# PostgreSQL ${this.major}'s ${t}, as the test cluster's.\nexec '${join(this.binDir, t)}' "$@"\n`,
            ]),
        );
    }

    async createDatabase(name: string): Promise<void> {
        await this.psql(`CREATE DATABASE "${name}";`);
    }

    async dropDatabase(name: string): Promise<void> {
        await this.psql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE);`);
    }

    async databaseExists(name: string): Promise<boolean> {
        return (
            (await this.psql(`SELECT count(*) FROM pg_database WHERE datname = '${name.replace(/'/g, "''")}';`)) === "1"
        );
    }

    /** Stops the server (fast shutdown) and deletes its files. Safe to call twice. */
    async stop(): Promise<void> {
        if (this.stopped) return;
        this.stopped = true;
        process.removeListener("exit", this.exitHook);
        await this.server.run(
            "pg_ctl",
            ["-D", this.server.serverPath(this.dataDir), "-m", "fast", "-w", "stop"],
            this.baseDir,
        );
        rmSync(this.baseDir, { recursive: true, force: true });
    }

    /** Last resort when the test process exits without afterAll: immediate shutdown. */
    private stopSync(): void {
        if (this.stopped) return;
        this.stopped = true;
        this.server.runSync(
            "pg_ctl",
            ["-D", this.server.serverPath(this.dataDir), "-m", "immediate", "-w", "stop"],
            this.baseDir,
        );
        rmSync(this.baseDir, { recursive: true, force: true });
    }
}

/**
 * For a chrooted server: each setting that names a file outside the root (quoted, as
 * postgresql.conf values are) is pointed at a copy in `dir`, owned by the server's user
 * with the original's mode (a key file must stay 0600).
 */
function settingsWithFilesInRoot(
    settings: Record<string, string>,
    server: ServerRunner,
    dir: string,
): Record<string, string> {
    const root = server.install.root;
    if (!root) return settings;
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(settings)) {
        const path = /^'(\/[^']+)'$/.exec(value)?.[1];
        if (
            !name.endsWith("_file") ||
            !path ||
            path.startsWith(`${root}/`) ||
            !existsSync(path) ||
            !statSync(path).isFile()
        ) {
            out[name] = value;
            continue;
        }
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        const copy = join(dir, `${name}-${basename(path)}`);
        copyFileSync(path, copy);
        chmodSync(copy, statSync(path).mode & 0o777);
        if (server.identity) {
            chownSync(dir, server.identity.uid, server.identity.gid);
            chownSync(copy, server.identity.uid, server.identity.gid);
        }
        out[name] = `'${server.serverPath(copy)}'`;
    }
    return out;
}

/**
 * Creates and starts a throwaway cluster on a free loopback port. About one second.
 * When the caller is root Debian's server runs as `nobody`, whose temp directory it owns,
 * and a root's runs chrooted as that root's `postgres`.
 */
export async function startPostgres(opts: PostgresOptions = {}): Promise<PostgresCluster> {
    const install = opts.version ? choosePostgres(postgresInstalls(), opts.version) : selectedPostgres();
    const server = new ServerRunner(install);
    const superuser = opts.superuser ?? "postgres";
    const password = randomBytes(12).toString("hex");
    const baseDir = server.makeBaseDir();
    const pwFile = join(baseDir, "pwfile");
    writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
    if (server.identity) chownSync(pwFile, server.identity.uid, server.identity.gid);
    const dataDir = server.serverPath(join(baseDir, "data"));
    const logFile = server.serverPath(join(baseDir, "server.log"));
    try {
        await runServerTool(
            server,
            "initdb",
            [
                "-D",
                dataDir,
                "-U",
                superuser,
                "--auth=scram-sha-256",
                `--pwfile=${server.serverPath(pwFile)}`,
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            baseDir,
        );
        rmSync(pwFile);

        const settings: Record<string, string> = {
            listen_addresses: "'127.0.0.1'",
            unix_socket_directories: "''",
            fsync: "off",
            synchronous_commit: "off",
            full_page_writes: "off",
            max_connections: "60",
            shared_buffers: "64MB",
            ...settingsWithFilesInRoot(opts.settings ?? {}, server, join(baseDir, "files")),
        };
        // Retry on the rare race where another process takes the port between probe and bind.
        for (let attempt = 1; ; attempt++) {
            const port = await freePort();
            const options = [`-p ${port}`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)].join(" ");
            const started = await server.run(
                "pg_ctl",
                ["-D", dataDir, "-l", logFile, "-o", options, "-w", "-t", "30", "start"],
                baseDir,
            );
            if (started.code === 0) {
                await waitForPort(port);
                const env = cleanEnv({
                    PGHOST: "127.0.0.1",
                    PGPORT: String(port),
                    PGUSER: superuser,
                    PGPASSWORD: password,
                    PGDATABASE: "postgres",
                });
                const r = await runOk(
                    join(install.clientDir, "psql"),
                    [
                        "-X",
                        "-A",
                        "-t",
                        "-c",
                        "SELECT current_setting('server_version') || '|' || current_setting('server_version_num');",
                    ],
                    { env },
                );
                const [version, num] = r.stdout.trim().split("|");
                return new PostgresCluster(port, superuser, password, baseDir, install, version, Number(num), server);
            }
            if (attempt >= 3) {
                throw new Error(`PostgreSQL ${install.major} did not start: ${started.stderr || started.stdout}`);
            }
        }
    } catch (e) {
        // Leave no data directory behind (a root's /tmp is not cleaned by anything else).
        await server.run("pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"], baseDir).catch(() => undefined);
        rmSync(baseDir, { recursive: true, force: true });
        throw e;
    }
}

/** Runs initdb (or another server tool) as the server's user; throws with its stderr. */
async function runServerTool(server: ServerRunner, tool: string, args: readonly string[], cwd: string): Promise<void> {
    const r = await server.run(tool, args, cwd);
    if (r.code !== 0)
        throw new Error(
            `${tool} (PostgreSQL ${server.install.major}) exited ${r.code ?? r.signal}: ${(r.stderr || r.stdout).trim()}`,
        );
}
