// Layer 3: fortress-heartbeat, the stale-backup dead-man's switch, run for real (bash, curl)
// against an HTTP server on 127.0.0.1 in this process: what it requests for success and
// failure, how systemd's ExecStopPost= line drives it, that the secret URL never shows up in
// its output or its argv, and how it fails when the service is unreachable or refuses.
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BACKUP_SERVICE, fortressUnits, HEARTBEAT_COMMAND, VERIFY_SERVICE } from "../../cloud-init/systemd/units";
import { credentialsFile } from "../../components/recovery/scripts";
import { cleanEnv, freePort, makeTempDir, run, type RunResult } from "../../harness/process";

const SCRIPT = resolve(__dirname, "../../cloud-init/toolkit/bin/fortress-heartbeat");
// The check id is the secret part of a healthchecks-style URL.
const CHECK_ID = "0f3c1d52-5b8e-4d7a-9c51-2f6a0b7e9d41";

interface Seen {
    method: string;
    path: string;
    body: string;
    userAgent: string;
    /** Processes whose command line held the check id while this request was open. */
    argvLeaks: string[];
}

/** Command lines of every process (other than this one) that contain `needle`. */
function processesMentioning(needle: string): string[] {
    const found: string[] = [];
    for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)) {
        try {
            const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
            if (argv.includes(needle)) found.push(`${pid}: ${argv}`);
        } catch {
            // the process has gone
        }
    }
    return found;
}

let server: Server;
let port: number;
let seen: Seen[] = [];
/** Status the server answers with; tests change it. */
let answer = 200;
let configDir: string;
let emptyConfigDir: string;

beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            // curl is waiting for this answer, so its command line is still there to inspect.
            seen.push({
                method: req.method ?? "",
                path: req.url ?? "",
                body: Buffer.concat(chunks).toString("utf8"),
                userAgent: String(req.headers["user-agent"] ?? ""),
                argvLeaks: processesMentioning(CHECK_ID),
            });
            res.statusCode = answer;
            res.end(answer === 200 ? "OK" : "not found");
        });
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    port = (server.address() as AddressInfo).port;
    configDir = makeTempDir("heartbeat-config");
    emptyConfigDir = makeTempDir("heartbeat-empty");
});

afterAll(async () => {
    await new Promise((ok) => server.close(ok));
    rmSync(configDir, { recursive: true, force: true });
    rmSync(emptyConfigDir, { recursive: true, force: true });
});

beforeEach(() => {
    seen = [];
    answer = 200;
});

const urlFor = (p: number) => `http://127.0.0.1:${p}/ping/${CHECK_ID}`;

/**
 * Runs the script with a clean environment (no AWS_CA_BUNDLE, no proxies, nothing from this
 * shell), settings from an empty folder unless another is given, plus `extra`.
 */
function heartbeat(args: string[], extra: Record<string, string | undefined> = {}): Promise<RunResult> {
    return run(SCRIPT, args, { env: cleanEnv({ FORTRESS_CONFIG_DIR: emptyConfigDir, ...extra }), timeoutMs: 60_000 });
}

/** The URL, its check id, and nothing else secret, must never be printed. */
function expectNoLeak(r: RunResult): void {
    for (const text of [r.stdout, r.stderr]) {
        expect(text).not.toContain(CHECK_ID);
        expect(text).not.toContain("/ping/");
    }
}

describe("fortress-heartbeat pings the check", () => {
    it("success: one POST to the check's URL, and the URL is neither printed nor in any argv", async () => {
        const r = await heartbeat(["success"], { BACKUP_HEARTBEAT_URL: urlFor(port) });
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(r.stdout).toBe(`heartbeat success sent to 127.0.0.1:${port}\n`);
        expect(seen.map((s) => [s.method, s.path])).toEqual([["POST", `/ping/${CHECK_ID}`]]);
        expect(seen[0].body).toMatch(/^fortress-backup success on \S+$/);
        expect(seen[0].userAgent).toBe("fortress-heartbeat");
        expect(seen[0].argvLeaks).toEqual([]);
        expectNoLeak(r);
    });

    it("fail: one POST to <url>/fail", async () => {
        const r = await heartbeat(["fail"], { BACKUP_HEARTBEAT_URL: urlFor(port) });
        expect(r.code).toBe(0);
        expect(seen.map((s) => [s.method, s.path])).toEqual([["POST", `/ping/${CHECK_ID}/fail`]]);
        expect(seen[0].body).toMatch(/^fortress-backup fail on /);
        expectNoLeak(r);
    });

    it("fail keeps a query string after the /fail suffix, and a trailing slash does not double", async () => {
        await heartbeat(["fail"], { BACKUP_HEARTBEAT_URL: `${urlFor(port)}/?rid=42` });
        expect(seen.map((s) => s.path)).toEqual([`/ping/${CHECK_ID}/fail?rid=42`]);
    });

    it("reads the URL from credentials.env as the recovery chain writes it, and the environment wins over the file", async () => {
        const file = join(configDir, "credentials.env");
        writeFileSync(
            file,
            credentialsFile({
                databaseUrl: "postgresql://u:pw@h:5432/db",
                spacesAccessKeyId: "DO00KEY",
                spacesSecretAccessKey: "secret",
                backupHeartbeatUrl: urlFor(port),
            }),
            {
                mode: 0o600,
            },
        );
        const fromFile = await heartbeat(["success"], { FORTRESS_CONFIG_DIR: configDir });
        expect(fromFile.stderr).toBe("");
        expect(fromFile.code).toBe(0);
        expect(seen.map((s) => s.path)).toEqual([`/ping/${CHECK_ID}`]);
        expectNoLeak(fromFile);

        seen = [];
        const other = `http://127.0.0.1:${port}/ping/env-${CHECK_ID}`;
        expect(
            (await heartbeat(["success"], { FORTRESS_CONFIG_DIR: configDir, BACKUP_HEARTBEAT_URL: other })).code,
        ).toBe(0);
        expect(seen.map((s) => s.path)).toEqual([`/ping/env-${CHECK_ID}`]);
    });
});

describe("fortress-heartbeat as fortress-backup.service runs it", () => {
    // The command line of the rendered unit, pointed at this repository's copy of the script.
    const line = fortressUnits({ backup: "hourly", verify: "weekly" })
        .find((u) => u.path.endsWith(`/${BACKUP_SERVICE}`))!
        .content.split("\n")
        .find((l) => l.startsWith("ExecStopPost="))!;
    const [command, ...args] = line.slice("ExecStopPost=".length).replace(/^-/, "").split(" ");

    it.each([
        ["success", "success", `/ping/${CHECK_ID}`],
        ["exit-code", "fail", `/ping/${CHECK_ID}/fail`],
        ["timeout", "fail", `/ping/${CHECK_ID}/fail`],
        ["signal", "fail", `/ping/${CHECK_ID}/fail`],
    ])("SERVICE_RESULT=%s pings %s", async (result, status, path) => {
        expect(command).toBe(HEARTBEAT_COMMAND);
        const r = await heartbeat(args, {
            BACKUP_HEARTBEAT_URL: urlFor(port),
            SERVICE_RESULT: result,
            EXIT_CODE: "exited",
            EXIT_STATUS: result === "success" ? "0" : "3",
        });
        expect(r.code).toBe(0);
        expect(r.stdout).toBe(`heartbeat ${status} sent to 127.0.0.1:${port}\n`);
        expect(seen.map((s) => [s.method, s.path])).toEqual([["POST", path]]);
        // The service's event log shows what systemd reported.
        expect(seen[0].body).toContain(`(systemd: ${result}, exited `);
        expectNoLeak(r);
    });

    it("without $SERVICE_RESULT (run by hand) it refuses, exit 2, and pings nothing", async () => {
        const r = await heartbeat(args, { BACKUP_HEARTBEAT_URL: urlFor(port) });
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(
            /^fortress-heartbeat: error: service-result needs \$SERVICE_RESULT.*run fortress-heartbeat success or fail/,
        );
        expect(seen).toEqual([]);
    });
});

describe("fortress-heartbeat as fortress-verify.service runs it", () => {
    const line = fortressUnits({ backup: "hourly", verify: "Sat *-*-* 08:30:00" })
        .find((u) => u.path.endsWith(`/${VERIFY_SERVICE}`))!
        .content.split("\n")
        .find((l) => l.startsWith("ExecStopPost="))!;
    const [command, ...args] = line.slice("ExecStopPost=".length).replace(/^-/, "").split(" ");

    it.each(["exit-code", "timeout", "signal", "core-dump"])(
        "SERVICE_RESULT=%s: a fail ping to the backup check, saying it was the verify",
        async (result) => {
            expect(command).toBe(HEARTBEAT_COMMAND);
            const r = await heartbeat(args, {
                BACKUP_HEARTBEAT_URL: urlFor(port),
                SERVICE_RESULT: result,
                EXIT_CODE: "exited",
                EXIT_STATUS: "3",
            });
            expect(r.code, r.stderr).toBe(0);
            expect(r.stdout).toBe(`heartbeat fail sent to 127.0.0.1:${port}\n`);
            expect(seen.map((s) => [s.method, s.path])).toEqual([["POST", `/ping/${CHECK_ID}/fail`]]);
            expect(seen[0].body).toMatch(new RegExp(`^fortress-verify fail on .+ \\(systemd: ${result}, exited 3\\)$`));
            expectNoLeak(r);
        },
    );

    it("a failed fortress-verify, then the unit's ExecStopPost= as systemd runs it: the check hears of it", async () => {
        // A real verify that fails: no database is configured here (exit 2, settings error).
        const toolkit = resolve(__dirname, "../../cloud-init/toolkit/bin/fortress-verify");
        const verify = await run(toolkit, ["--jobs", "1"], {
            env: cleanEnv({ FORTRESS_CONFIG_DIR: emptyConfigDir }),
            timeoutMs: 60_000,
        });
        expect(verify.code).toBe(2);
        const r = await heartbeat(args, {
            BACKUP_HEARTBEAT_URL: urlFor(port),
            SERVICE_RESULT: "exit-code",
            EXIT_CODE: "exited",
            EXIT_STATUS: String(verify.code),
        });
        expect(r.code, r.stderr).toBe(0);
        expect(seen.map((s) => s.path)).toEqual([`/ping/${CHECK_ID}/fail`]);
        expect(seen[0].body).toContain("fortress-verify fail on ");
        expect(seen[0].body).toContain("(systemd: exit-code, exited 2)");
    });

    it("SERVICE_RESULT=success: no ping at all (a verify is no backup), exit 0, says why", async () => {
        const r = await heartbeat(args, { BACKUP_HEARTBEAT_URL: urlFor(port), SERVICE_RESULT: "success" });
        expect(r.code).toBe(0);
        expect(r.stdout).toBe("");
        expect(r.stderr).toBe(
            "fortress-heartbeat: the verify succeeded: nothing to send (the heartbeat check counts success pings as backups)\n",
        );
        expect(seen).toEqual([]);
    });

    it("unreachable: exit 1, and the error says the failed verify reached nobody", async () => {
        const closed = await freePort();
        const r = await heartbeat(args, {
            BACKUP_HEARTBEAT_URL: urlFor(closed),
            SERVICE_RESULT: "exit-code",
        });
        expect(r.code).toBe(1);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
        expect(r.stderr).toMatch(
            /could not send the fail ping .*; nobody is told of this failed verify: read journalctl -u fortress-verify\n$/,
        );
        expectNoLeak(r);
    }, 60_000);

    it("--job takes only backup or verify", async () => {
        const r = await heartbeat(["--job", "restore", "fail"], { BACKUP_HEARTBEAT_URL: urlFor(port) });
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/^fortress-heartbeat: error: --job must be backup or verify, not 'restore'/);
        expect(seen).toEqual([]);
    });
});

describe("fortress-heartbeat with nothing to do or bad input", () => {
    it("no URL configured: exit 0, says so on stderr, sends nothing", async () => {
        const r = await heartbeat(["success"]);
        expect(r.code).toBe(0);
        expect(r.stdout).toBe("");
        expect(r.stderr).toMatch(
            /^fortress-heartbeat: BACKUP_HEARTBEAT_URL is not set, so there is no heartbeat to ping; set backupHeartbeatUrl/,
        );
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
        expect(seen).toEqual([]);
    });

    it.each([
        ["no argument", []],
        ["an unknown argument", ["ok"]],
        ["two arguments", ["success", "fail"]],
    ])("%s: exit 2 with a usage error, nothing sent", async (_what, args) => {
        const r = await heartbeat(args, { BACKUP_HEARTBEAT_URL: urlFor(port) });
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/^fortress-heartbeat: error: .*\(see fortress-heartbeat --help\)\n$/);
        expect(seen).toEqual([]);
        expectNoLeak(r);
    });

    it.each([
        ["a quote", `http://127.0.0.1:${1}/ping/${CHECK_ID}"x`],
        ["a space", `http://127.0.0.1:1/ping/${CHECK_ID} x`],
        ["no scheme", `127.0.0.1/ping/${CHECK_ID}`],
    ])("a URL with %s: exit 2, and the message does not repeat the URL", async (_what, url) => {
        const r = await heartbeat(["success"], { BACKUP_HEARTBEAT_URL: url });
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/^fortress-heartbeat: error: BACKUP_HEARTBEAT_URL is not an http\(s\) URL.*not shown/);
        expectNoLeak(r);
    });

    it("--help prints the usage header", async () => {
        const r = await heartbeat(["--help"]);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/^Usage: fortress-heartbeat \[--job backup\|verify\] success\|fail\|service-result\n/);
    });
});

describe("fortress-heartbeat when the heartbeat service cannot take the ping", () => {
    it("unreachable: exit 1 after its retries, one error line naming the host only", async () => {
        const closed = await freePort(); // nothing listens there
        const r = await heartbeat(["success"], { BACKUP_HEARTBEAT_URL: urlFor(closed) });
        expect(r.code).toBe(1);
        expect(r.stdout).toBe("");
        const lines = r.stderr.trim().split("\n");
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(
            new RegExp(
                `^fortress-heartbeat: error: could not send the success ping to the heartbeat service at 127\\.0\\.0\\.1:${closed} \\(.+\\): check the droplet's outbound HTTPS`,
            ),
        );
        // It did retry (3 retries, 2 s apart), but gave up within a bounded time.
        expect(r.ms).toBeGreaterThan(3_000);
        expect(r.ms).toBeLessThan(40_000);
        expectNoLeak(r);
    }, 60_000);

    it("refused (HTTP 404, an unknown check): exit 1 at once, the status in the one error line, no leak", async () => {
        answer = 404;
        const r = await heartbeat(["fail"], { BACKUP_HEARTBEAT_URL: urlFor(port) });
        expect(r.code).toBe(1);
        expect(seen).toHaveLength(1); // a 404 is not retried
        const lines = r.stderr.trim().split("\n");
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/^fortress-heartbeat: error: could not send the fail ping .*404/);
        expectNoLeak(r);
    });
});
