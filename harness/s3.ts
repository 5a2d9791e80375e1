// An S3-compatible server on loopback for real-service tests: the `s3rver` npm package, run
// in its own Node process (so tests may block or kill it without touching the test runner)
// with a temp directory, path-style buckets and its fixed S3RVER/S3RVER credentials. It can
// be killed mid-request and started again on the same port and directory, which is how the
// "storage went away mid-upload" faults are made. Object access for assertions goes through
// the real rclone, configured only through environment variables.
import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { cleanEnv, freePort, makeTempDir, run, type RunResult, waitForPort } from "./process";

/** Options for {@link startS3Server}. */
export interface S3ServerOptions {
    /** Buckets to create at startup (and again on every restart; existing ones are kept). */
    buckets: string[];
    /** Port to listen on (default: a free one). */
    port?: number;
}

/** Credentials s3rver accepts (it checks signatures against these fixed values). */
export const S3RVER_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

/** A running (or deliberately stopped) s3rver instance. Call {@link S3Server.stop} in afterAll. */
export class S3Server {
    private child: ChildProcess | undefined;
    private disposed = false;
    private readonly exitHook = () => this.child?.kill("SIGKILL");

    constructor(
        /** TCP port on 127.0.0.1. */
        readonly port: number,
        /** Directory holding the buckets' files. */
        readonly directory: string,
        /** Buckets created at startup. */
        readonly buckets: readonly string[],
    ) {
        process.once("exit", this.exitHook);
    }

    /** Endpoint URL, e.g. `http://127.0.0.1:41234`. */
    get endpoint(): string {
        return `http://127.0.0.1:${this.port}`;
    }

    /** Whether the server process is currently up. */
    get running(): boolean {
        return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
    }

    /** Starts the server process (again) and waits until it accepts connections. */
    async start(): Promise<void> {
        if (this.running) return;
        const bin = require.resolve("s3rver/bin/s3rver.js");
        const args = [
            bin,
            "--directory",
            this.directory,
            "--address",
            "127.0.0.1",
            "--port",
            String(this.port),
            "--silent",
            "--no-vhost-buckets",
        ];
        for (const b of this.buckets) args.push("--configure-bucket", b);
        const child = spawn(process.execPath, args, { env: cleanEnv(), stdio: ["ignore", "ignore", "pipe"] });
        let stderr = "";
        child.stderr?.on("data", (b: Buffer) => (stderr += b.toString("utf8")));
        this.child = child;
        try {
            await waitForPort(this.port, "127.0.0.1", 15_000);
        } catch (e) {
            child.kill("SIGKILL");
            throw new Error(`s3rver did not start on ${this.port}: ${stderr || String(e)}`);
        }
    }

    /** Ends the server abruptly (SIGKILL), as a crash or a network cut would. Files are kept. */
    async kill(): Promise<void> {
        const child = this.child;
        if (!child || !this.running) return;
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        child.kill("SIGKILL");
        await exited;
    }

    /** Stops the server and deletes its files. Safe to call twice. */
    async stop(): Promise<void> {
        if (this.disposed) return;
        this.disposed = true;
        await this.kill();
        process.removeListener("exit", this.exitHook);
        rmSync(this.directory, { recursive: true, force: true });
    }

    /**
     * Environment that defines an rclone S3 remote named `remote` for this server
     * (RCLONE_CONFIG_<REMOTE>_*), path-style, with s3rver's credentials.
     */
    rcloneEnv(remote = "s3"): Record<string, string> {
        const p = `RCLONE_CONFIG_${remote.toUpperCase()}_`;
        return {
            [`${p}TYPE`]: "s3",
            [`${p}PROVIDER`]: "Other",
            [`${p}ENDPOINT`]: this.endpoint,
            [`${p}ACCESS_KEY_ID`]: S3RVER_CREDENTIALS.accessKeyId,
            [`${p}SECRET_ACCESS_KEY`]: S3RVER_CREDENTIALS.secretAccessKey,
            [`${p}REGION`]: "us-east-1",
            [`${p}FORCE_PATH_STYLE`]: "true",
            [`${p}ENV_AUTH`]: "false",
            [`${p}NO_CHECK_BUCKET`]: "true",
        };
    }

    /** Runs `rclone <args>` with remote `s3:` pointing at this server (no config file). */
    rclone(args: readonly string[], input?: Buffer | string): Promise<RunResult> {
        return run(
            "rclone",
            ["--config", "/dev/null", "--log-level", "ERROR", "--low-level-retries", "1", "--retries", "1", ...args],
            {
                env: cleanEnv(this.rcloneEnv("s3")),
                input,
            },
        );
    }

    /** Object keys under `prefix` in `bucket` (recursive, sorted). */
    async listKeys(bucket: string, prefix = ""): Promise<string[]> {
        const path = prefix ? `s3:${bucket}/${prefix.replace(/\/$/, "")}` : `s3:${bucket}`;
        const r = await this.rclone(["lsf", "-R", "--files-only", path]);
        if (r.code !== 0) throw new Error(`listing ${path} failed: ${r.stderr}`);
        return r.stdout
            .split("\n")
            .filter(Boolean)
            .map((k) => (prefix ? `${prefix.replace(/\/$/, "")}/${k}` : k))
            .sort();
    }

    /** The bytes of an object, or undefined if it does not exist. */
    async getObject(bucket: string, key: string): Promise<Buffer | undefined> {
        const keys = await this.listKeys(bucket, key.includes("/") ? key.slice(0, key.lastIndexOf("/")) : "");
        if (!keys.includes(key)) return undefined;
        const r = await this.rclone(["cat", `s3:${bucket}/${key}`]);
        if (r.code !== 0) throw new Error(`reading ${bucket}/${key} failed: ${r.stderr}`);
        return r.stdoutBytes;
    }

    /** Writes (or overwrites) an object. */
    async putObject(bucket: string, key: string, body: Buffer | string): Promise<void> {
        const r = await this.rclone(["rcat", `s3:${bucket}/${key}`], body);
        if (r.code !== 0) throw new Error(`writing ${bucket}/${key} failed: ${r.stderr}`);
    }

    /** Deletes an object (no error if it is absent). */
    async deleteObject(bucket: string, key: string): Promise<void> {
        const r = await this.rclone(["deletefile", `s3:${bucket}/${key}`]);
        if (r.code !== 0 && !/not found/i.test(r.stderr))
            throw new Error(`deleting ${bucket}/${key} failed: ${r.stderr}`);
    }
}

/** Starts s3rver on loopback with the given buckets. About half a second. */
export async function startS3Server(opts: S3ServerOptions): Promise<S3Server> {
    const server = new S3Server(opts.port ?? (await freePort()), makeTempDir("fortress-s3"), opts.buckets);
    await server.start();
    return server;
}

/** A loopback endpoint that accepts TCP connections and never answers (a hung storage server). */
export interface SilentEndpoint {
    /** Endpoint URL, e.g. `http://127.0.0.1:41234`. */
    endpoint: string;
    /** Connections accepted so far. */
    readonly connections: number;
    /** Closes the listener and every connection. */
    close(): Promise<void>;
}

/** Starts a {@link SilentEndpoint} on a free loopback port, in this process. */
export function startSilentEndpoint(): Promise<SilentEndpoint> {
    const sockets = new Set<Socket>();
    let connections = 0;
    const server = createServer((s) => {
        connections++;
        sockets.add(s);
        s.on("error", () => undefined);
        s.on("close", () => sockets.delete(s));
        // Read and drop whatever arrives; never write a byte back.
        s.resume();
    });
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const addr = server.address();
            if (!addr || typeof addr !== "object") return reject(new Error("no port"));
            resolve({
                endpoint: `http://127.0.0.1:${addr.port}`,
                get connections() {
                    return connections;
                },
                close: () =>
                    new Promise<void>((done) => {
                        for (const s of sockets) s.destroy();
                        server.close(() => done());
                    }),
            });
        });
    });
}
