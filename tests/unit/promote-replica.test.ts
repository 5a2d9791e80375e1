// Layer 1: the promotion of a warm standby's replica (tools/promote-replica.ts) against a
// local HTTP server standing in for the DigitalOcean API: the exact requests, an already
// promoted replica, a missing one, a refused token, and an API that is down or silent, each
// ending within the timeouts.
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { shSplit } from "../../cloud-init/shell";
import { PromoteError, promoteCommandLine, promoteReplica } from "../../tools/promote-replica";

const CLUSTER = "9cc10173-e9ea-4176-9dbc-a4cee4c4ff30";
const REPLICA = "fortress-db-pg-replica-1a2b3c4";
const REPLICA_ID = "d8f1a3c2-0000-4b7e-9e5a-1c2d3e4f5a6b";
const TOKEN = `dop_v1_${"ab".repeat(32)}`;

interface Seen {
    method: string;
    url: string;
    headers: IncomingMessage["headers"];
    body: string;
}

type Handler = (req: Seen, res: ServerResponse) => void;

let server: Server | undefined;
afterEach(async () => {
    if (server) await new Promise((r) => server!.close(r));
    server = undefined;
});

/** Starts the stand-in on loopback; returns its base URL and the requests it saw. */
async function api(handler: Handler): Promise<{ base: string; seen: Seen[] }> {
    const seen: Seen[] = [];
    server = createServer((req, res) => {
        let body = "";
        req.on("data", (c) => {
            body += c;
        });
        req.on("end", () => {
            const s = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body };
            seen.push(s);
            handler(s, res);
        });
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    return { base: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, seen };
}

const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
};

const REPLICA_PATH = `/v2/databases/${CLUSTER}/replicas/${REPLICA}`;

/** A well-behaved API: the replica exists; promote answers 204; the cluster is `statuses` in turn. */
function healthy(statuses = ["online"]): Handler {
    let polls = 0;
    return (req, res) => {
        if (req.method === "GET" && req.url === REPLICA_PATH)
            return json(res, 200, { replica: { id: REPLICA_ID, name: REPLICA, status: "online" } });
        if (req.method === "PUT" && req.url === `${REPLICA_PATH}/promote`) {
            res.writeHead(204);
            return res.end();
        }
        if (req.method === "GET" && req.url === `/v2/databases/${REPLICA_ID}`)
            return json(res, 200, {
                database: { id: REPLICA_ID, status: statuses[Math.min(polls++, statuses.length - 1)] },
            });
        json(res, 404, { id: "not_found", message: "The resource you were accessing could not be found." });
    };
}

const fast = { retryDelayMs: 10, requestTimeoutMs: 500 };

describe("promoteReplica", () => {
    it("sends exactly GET replica, PUT …/promote with no body, then polls the cluster until online", async () => {
        const { base, seen } = await api(healthy(["forking", "online"]));
        const r = await promoteReplica({
            apiBase: base,
            token: TOKEN,
            clusterId: CLUSTER,
            replicaName: REPLICA,
            ...fast,
        });
        expect(r).toEqual({ outcome: "promoted", clusterId: REPLICA_ID, status: "online" });
        expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
            `GET ${REPLICA_PATH}`,
            `PUT ${REPLICA_PATH}/promote`,
            `GET /v2/databases/${REPLICA_ID}`,
            `GET /v2/databases/${REPLICA_ID}`,
        ]);
        for (const s of seen) {
            expect(s.headers.authorization).toBe(`Bearer ${TOKEN}`);
            expect(s.headers.accept).toBe("application/json");
            expect(s.body).toBe("");
        }
    });

    it("an already promoted replica (404 as a replica, present as a cluster) is success, with no second promote", async () => {
        const { base, seen } = await api((req, res) => {
            if (req.url === "/v2/databases")
                return json(res, 200, {
                    databases: [
                        { id: "other", name: "x" },
                        { id: REPLICA_ID, name: REPLICA },
                    ],
                });
            if (req.url === `/v2/databases/${REPLICA_ID}`) return json(res, 200, { database: { status: "online" } });
            json(res, 404, { id: "not_found", message: "replica not found" });
        });
        const r = await promoteReplica({
            apiBase: base,
            token: TOKEN,
            clusterId: CLUSTER,
            replicaName: REPLICA,
            ...fast,
        });
        expect(r).toEqual({ outcome: "already-promoted", clusterId: REPLICA_ID, status: "online" });
        expect(seen.some((s) => s.method === "PUT")).toBe(false);
    });

    it("a missing replica fails with a 404 PromoteError that says how to fail over instead", async () => {
        const { base, seen } = await api((req, res) =>
            req.url === "/v2/databases" ? json(res, 200, { databases: [] }) : json(res, 404, { message: "nope" }),
        );
        const err = await promoteReplica({
            apiBase: base,
            token: TOKEN,
            clusterId: CLUSTER,
            replicaName: REPLICA,
            ...fast,
        }).catch((e) => e);
        expect(err).toBeInstanceOf(PromoteError);
        expect(err.status).toBe(404);
        expect(err.message).toMatch(
            new RegExp(
                `^replica ${REPLICA} of cluster ${CLUSTER} does not exist \\(HTTP 404\\).*pulumi config set standby cold$`,
            ),
        );
        expect(seen.some((s) => s.method === "PUT")).toBe(false);
    });

    it("a refused promote names the status and the API's message", async () => {
        const { base } = await api((req, res) =>
            req.method === "PUT"
                ? json(res, 422, { id: "unprocessable_entity", message: "replica is not ready" })
                : healthy()(req, res),
        );
        await expect(
            promoteReplica({ apiBase: base, token: TOKEN, clusterId: CLUSTER, replicaName: REPLICA, ...fast }),
        ).rejects.toThrow(`promoting replica ${REPLICA} of cluster ${CLUSTER}: HTTP 422: replica is not ready`);
    });

    it("a token without the scopes says which scopes it needs", async () => {
        const { base } = await api((_req, res) =>
            json(res, 401, { id: "unauthorized", message: "Unable to authenticate you" }),
        );
        await expect(
            promoteReplica({ apiBase: base, token: TOKEN, clusterId: CLUSTER, replicaName: REPLICA, ...fast }),
        ).rejects.toThrow(
            /HTTP 401: Unable to authenticate you; the token needs the database:read and database:update scopes$/,
        );
    });

    it("no token: refuses before any request", async () => {
        const { base, seen } = await api(healthy());
        await expect(
            promoteReplica({ apiBase: base, token: "", clusterId: CLUSTER, replicaName: REPLICA, ...fast }),
        ).rejects.toThrow("no DigitalOcean API token: export DIGITALOCEAN_TOKEN");
        expect(seen).toEqual([]);
    });

    it("an API that answers 5xx is retried a bounded number of times, then fails with what to do", async () => {
        const { base, seen } = await api((_req, res) => json(res, 503, { message: "maintenance" }));
        const started = Date.now();
        await expect(
            promoteReplica({
                apiBase: base,
                token: TOKEN,
                clusterId: CLUSTER,
                replicaName: REPLICA,
                attempts: 3,
                ...fast,
            }),
        ).rejects.toThrow(
            /^GET \/v2\/databases\/.* failed 3 time\(s\), last: HTTP 503: maintenance\. The DigitalOcean API .* is down/,
        );
        expect(seen).toHaveLength(3);
        expect(Date.now() - started).toBeLessThan(2_000);
    });

    it("a silent API times out per request instead of hanging", async () => {
        const { base, seen } = await api(() => {
            /* never answers */
        });
        const started = Date.now();
        await expect(
            promoteReplica({
                apiBase: base,
                token: TOKEN,
                clusterId: CLUSTER,
                replicaName: REPLICA,
                attempts: 2,
                retryDelayMs: 10,
                requestTimeoutMs: 200,
            }),
        ).rejects.toThrow(/failed 2 time\(s\), last: no answer within 200 ms/);
        expect(seen).toHaveLength(2);
        expect(Date.now() - started).toBeLessThan(2_000);
    });

    it("an API that is not there at all (connection refused) fails, bounded", async () => {
        const { base } = await api(healthy());
        await new Promise((r) => server!.close(r));
        server = undefined;
        await expect(
            promoteReplica({
                apiBase: base,
                token: TOKEN,
                clusterId: CLUSTER,
                replicaName: REPLICA,
                attempts: 2,
                ...fast,
            }),
        ).rejects.toThrow(/failed 2 time\(s\), last: .*unreachable from here/);
    });

    it("a promoted cluster that never comes online fails after onlineTimeoutMs with the command to watch it", async () => {
        const { base } = await api(healthy(["forking"]));
        await expect(
            promoteReplica({
                apiBase: base,
                token: TOKEN,
                clusterId: CLUSTER,
                replicaName: REPLICA,
                onlineTimeoutMs: 100,
                ...fast,
            }),
        ).rejects.toThrow(
            `the promoted cluster ${REPLICA_ID} is still "forking" after 0 s: watch it with doctl databases get ${REPLICA_ID}`,
        );
    });
});

describe("promoteCommandLine", () => {
    it("runs the client from the project with the cluster id and replica name as words", () => {
        expect(shSplit(promoteCommandLine(CLUSTER, REPLICA))).toEqual([
            "node_modules/.bin/ts-node",
            "--transpile-only",
            "tools/promote-replica.ts",
            CLUSTER,
            REPLICA,
        ]);
    });

    it.each([
        ["a cluster id with a quote", "x'; rm -rf /", REPLICA],
        ["an empty id", "", REPLICA],
        ["a replica name with a space", CLUSTER, "a b"],
    ])("refuses %s", (_what, id, name) => {
        expect(() => promoteCommandLine(id, name)).toThrow(/^promoteCommandLine: /);
    });
});
