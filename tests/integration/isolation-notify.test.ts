// Layer 3: the breach notification's command (components/isolation-rules.ts NOTIFY_COMMAND),
// run as pulumi-command's local.Command runs it (bash -c, the payload on stdin, the webhook
// URL in the environment) with the real curl, against an HTTP server on 127.0.0.1 standing
// in for Slack's incoming webhook: the request, that the URL never reaches argv, and the
// failure when the webhook refuses.
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NOTIFY_COMMAND, isolationMessage, slackPayload } from "../../components/isolation-rules";
import { NO_CONTACTS } from "../../config/contacts";
import { cleanEnv, run } from "../../harness/process";

const SECRET_PATH = "/services/T0001/B0002/x9SecretWebhookToken";

interface Seen {
    method: string;
    path: string;
    type: string;
    body: string;
    argvLeaks: string[];
}

let server: Server;
let port: number;
let seen: Seen[] = [];
let answer = 200;

/** Command lines of other processes holding `needle`, while the request is open. */
function processesMentioning(needle: string): string[] {
    const found: string[] = [];
    for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)) {
        try {
            const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
            if (argv.includes(needle)) found.push(`${pid}: ${argv}`);
        } catch {
            // gone
        }
    }
    return found;
}

beforeAll(async () => {
    server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            seen.push({
                method: req.method ?? "",
                path: req.url ?? "",
                type: String(req.headers["content-type"] ?? ""),
                body: Buffer.concat(chunks).toString("utf8"),
                argvLeaks: processesMentioning("x9SecretWebhookToken"),
            });
            res.writeHead(answer, { "Content-Type": "text/plain" });
            res.end(answer === 200 ? "ok" : "invalid_token");
        });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

const post = (payload: string) =>
    run("/bin/bash", ["-c", NOTIFY_COMMAND], {
        env: cleanEnv({ FORTRESS_NOTIFY_URL: `http://127.0.0.1:${port}${SECRET_PATH}` }),
        input: payload,
        timeoutMs: 60_000,
    });

describe("the isolation notification", () => {
    it("posts the message as Slack's JSON to the webhook, the URL kept out of argv", async () => {
        seen = [];
        answer = 200;
        const text = isolationMessage(
            { state: "lifting", publicIp: "192.0.2.200" },
            "prod",
            NO_CONTACTS,
            "evidence/prod",
        )!;
        const r = await post(slackPayload(text));
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout + r.stderr).toBe("");
        expect(seen).toHaveLength(1);
        expect(seen[0]).toMatchObject({ method: "POST", path: SECRET_PATH, type: "application/json" });
        expect(JSON.parse(seen[0].body)).toEqual({ text });
        expect(seen[0].argvLeaks).toEqual([]);
    });

    it("fails, without printing the URL, when the webhook refuses", async () => {
        seen = [];
        answer = 404;
        const r = await post(slackPayload("x"));
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(/404/);
        expect(r.stderr).not.toContain("x9SecretWebhookToken");
        expect(seen.length).toBeGreaterThanOrEqual(1);
    });
});
