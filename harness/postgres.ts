// A throwaway PostgreSQL cluster for real-service tests: Debian's server binaries, a temp
// data directory, TCP on 127.0.0.1 only (no Unix socket), SCRAM password auth, and settings
// that trade durability for speed. PostgreSQL refuses to run as root and CI runs as root, so
// when we are root the server runs as `nobody` (see unprivilegedIdentity).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, rmSync, writeFileSync, chownSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { cleanEnv, freePort, makeTempDir, run, runOk, unprivilegedIdentity, waitForPort } from "./process";

/** Options for {@link startPostgres}. */
export interface PostgresOptions {
    /** Major version to use (default: the newest under /usr/lib/postgresql, or $PG_BIN_DIR). */
    version?: string;
    /** Superuser name created by initdb (default `postgres`). */
    superuser?: string;
    /** Extra `postgresql.conf` settings, e.g. `{ max_connections: "50" }`. */
    settings?: Record<string, string>;
}

/**
 * Finds the server binaries: $PG_BIN_DIR if set, else the newest
 * /usr/lib/postgresql/<major>/bin (or the given major). Throws with an install hint if none.
 */
export function findPostgresBinDir(version?: string): string {
    if (process.env.PG_BIN_DIR) return process.env.PG_BIN_DIR;
    const root = "/usr/lib/postgresql";
    const versions = existsSync(root)
        ? readdirSync(root)
              .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, "bin", "initdb")))
              .sort((a, b) => Number(b) - Number(a))
        : [];
    const chosen = version ?? versions[0];
    if (!chosen || !versions.includes(chosen)) {
        throw new Error(`no PostgreSQL ${version ?? ""} server binaries under ${root}: apt-get install postgresql`);
    }
    return join(root, chosen, "bin");
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
        /** Directory of the server and client binaries used. */
        readonly binDir: string,
        /** Temp directory holding the data directory and the server log. */
        readonly baseDir: string,
        private readonly identity: { uid: number; gid: number } | undefined,
    ) {
        process.once("exit", this.exitHook);
    }

    /** Data directory of the cluster. */
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

    async createDatabase(name: string): Promise<void> {
        await this.psql(`CREATE DATABASE "${name}";`);
    }

    async dropDatabase(name: string): Promise<void> {
        await this.psql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE);`);
    }

    async databaseExists(name: string): Promise<boolean> {
        return (await this.psql(`SELECT count(*) FROM pg_database WHERE datname = '${name.replace(/'/g, "''")}';`)) === "1";
    }

    /** Stops the server (fast shutdown) and deletes its files. Safe to call twice. */
    async stop(): Promise<void> {
        if (this.stopped) return;
        this.stopped = true;
        process.removeListener("exit", this.exitHook);
        await run(join(this.binDir, "pg_ctl"), ["-D", this.dataDir, "-m", "fast", "-w", "stop"], {
            env: cleanEnv(),
            uid: this.identity?.uid,
            gid: this.identity?.gid,
            cwd: this.baseDir,
        });
        rmSync(this.baseDir, { recursive: true, force: true });
    }

    /** Last resort when the test process exits without afterAll: immediate shutdown. */
    private stopSync(): void {
        if (this.stopped) return;
        this.stopped = true;
        spawnSync(join(this.binDir, "pg_ctl"), ["-D", this.dataDir, "-m", "immediate", "-w", "stop"], {
            uid: this.identity?.uid,
            gid: this.identity?.gid,
            cwd: this.baseDir,
            stdio: "ignore",
        });
        rmSync(this.baseDir, { recursive: true, force: true });
    }
}

/**
 * Creates and starts a throwaway cluster on a free loopback port. About one second.
 * When the caller is root the cluster runs as `nobody`, whose temp directory it owns.
 */
export async function startPostgres(opts: PostgresOptions = {}): Promise<PostgresCluster> {
    const binDir = findPostgresBinDir(opts.version);
    const superuser = opts.superuser ?? "postgres";
    const password = randomBytes(12).toString("hex");
    const identity = unprivilegedIdentity();
    const baseDir = makeTempDir("fortress-pg");
    const pwFile = join(baseDir, "pwfile");
    writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
    if (identity) {
        chownSync(baseDir, identity.uid, identity.gid);
        chownSync(pwFile, identity.uid, identity.gid);
    }
    const asServer = { env: cleanEnv(), uid: identity?.uid, gid: identity?.gid, cwd: baseDir };
    await runOk(
        join(binDir, "initdb"),
        ["-D", join(baseDir, "data"), "-U", superuser, "--auth=scram-sha-256", `--pwfile=${pwFile}`,
            "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
        asServer,
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
        ...opts.settings,
    };
    // Retry on the rare race where another process takes the port between probe and bind.
    for (let attempt = 1; ; attempt++) {
        const port = await freePort();
        const options = [`-p ${port}`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)].join(" ");
        const started = await run(
            join(binDir, "pg_ctl"),
            ["-D", join(baseDir, "data"), "-l", join(baseDir, "server.log"), "-o", options, "-w", "-t", "30", "start"],
            asServer,
        );
        if (started.code === 0) {
            await waitForPort(port);
            return new PostgresCluster(port, superuser, password, binDir, baseDir, identity);
        }
        if (attempt >= 3) {
            throw new Error(`PostgreSQL did not start: ${started.stderr || started.stdout}`);
        }
    }
}
