// Promotes a warm standby's read-only replica to an independent primary through the
// DigitalOcean API: the failover step of `standby warm` (components/database.ts runs it as a
// local command, with the token of the machine running `pulumi up`).
//
// The API, as digitalocean/openapi specification/resources/databases/ says it:
//   GET /v2/databases/{cluster}/replicas/{name}            the replica (databases_get_replica.yml)
//   PUT /v2/databases/{cluster}/replicas/{name}/promote    204, no body; 401, 404, 429, 500
//                                                          (databases_promote_replica.yml)
//   GET /v2/databases/{id}                                 a cluster and its status (databases_get_cluster.yml)
// The spec says nothing about promoting twice. A promoted replica is no longer a replica of
// the source (doctl: "Promoted replicas no longer stay in sync with primary cluster"), so the
// replica path answers 404; the client then looks for the replica's id as a cluster of its own,
// and finding it is success: the promotion already happened. That reading is unverified
// against the real API.
import { sh } from "../cloud-init/shell";
import { parseClusterName } from "../config/rules";
import { EXIT, errorMessage, printHelp, runMain, UsageError } from "./cli";

export const DIGITALOCEAN_API = "https://api.digitalocean.com";

export interface PromoteOptions {
    /** API base URL, without a trailing slash. Default {@link DIGITALOCEAN_API}; tests point it at a local server. */
    apiBase?: string;
    /** DigitalOcean API token with database:read and database:update. */
    token: string;
    /** The source cluster's id (the primary stack's databaseClusterId output). */
    clusterId: string;
    /** The replica's name. */
    replicaName: string;
    /** Milliseconds one request may take before it is abandoned. Default 15000. */
    requestTimeoutMs?: number;
    /** Attempts per request when the API cannot be reached, answers 429 or 5xx. Default 3. */
    attempts?: number;
    /** Milliseconds between those attempts and between status polls. Default 5000. */
    retryDelayMs?: number;
    /** Milliseconds to wait for the promoted cluster to report `online`. Default 900000 (15 min). */
    onlineTimeoutMs?: number;
    /** Progress lines. Default none. */
    log?: (line: string) => void;
}

export interface PromoteResult {
    /** `promoted`: this call promoted it; `already-promoted`: an earlier one did. */
    outcome: "promoted" | "already-promoted";
    /** The promoted cluster's id (the replica's id, kept). */
    clusterId: string;
    /** Its status when the call returned: `online`. */
    status: string;
}

/** Why a promotion did not happen; `status` is the API's HTTP status when there was an answer. */
export class PromoteError extends Error {
    constructor(
        message: string,
        readonly status?: number,
    ) {
        super(message);
        this.name = "PromoteError";
    }
}

interface Answer {
    status: number;
    body: unknown;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The API's own error message ({"id": …, "message": …}), if the body has one. */
function apiMessage(body: unknown): string {
    const m = (body as { message?: unknown } | null)?.message;
    return typeof m === "string" && m !== "" ? `: ${m}` : "";
}

/**
 * Promotes the replica and waits until the promoted cluster is online. Idempotent: a
 * replica promoted before is reported as `already-promoted`. Every failure is a
 * {@link PromoteError} that says what to do; none takes longer than the timeouts allow.
 */
export async function promoteReplica(o: PromoteOptions): Promise<PromoteResult> {
    const base = (o.apiBase ?? DIGITALOCEAN_API).replace(/\/+$/, "");
    const timeout = o.requestTimeoutMs ?? 15_000;
    const attempts = Math.max(1, o.attempts ?? 3);
    const delay = o.retryDelayMs ?? 5_000;
    const log = o.log ?? (() => {});
    if (o.token === "") throw new PromoteError("no DigitalOcean API token: export DIGITALOCEAN_TOKEN");
    const cluster = encodeURIComponent(o.clusterId);
    const replica = encodeURIComponent(o.replicaName);
    const what = `replica ${o.replicaName} of cluster ${o.clusterId}`;

    const request = async (method: "GET" | "PUT", path: string): Promise<Answer> => {
        let last = "";
        for (let i = 1; i <= attempts; i++) {
            try {
                const res = await fetch(`${base}${path}`, {
                    method,
                    headers: { Authorization: `Bearer ${o.token}`, Accept: "application/json" },
                    signal: AbortSignal.timeout(timeout),
                });
                const text = await res.text();
                let body: unknown = null;
                try {
                    body = text === "" ? null : JSON.parse(text);
                } catch {
                    body = null;
                }
                if (res.status !== 429 && res.status < 500) return { status: res.status, body };
                last = `HTTP ${res.status}${apiMessage(body)}`;
            } catch (e) {
                last = (e as Error).name === "TimeoutError" ? `no answer within ${timeout} ms` : errorMessage(e);
            }
            if (i < attempts) await sleep(delay);
        }
        throw new PromoteError(
            `${method} ${path} failed ${attempts} time(s), last: ${last}. The DigitalOcean API (${base}) is down or unreachable from here: retry pulumi up when https://status.digitalocean.com clears, or promote from the control panel`,
        );
    };

    const fail = (a: Answer, doing: string) =>
        new PromoteError(
            a.status === 401 || a.status === 403
                ? `${doing}: HTTP ${a.status}${apiMessage(a.body)}; the token needs the database:read and database:update scopes`
                : `${doing}: HTTP ${a.status}${apiMessage(a.body)}`,
            a.status,
        );

    // The replica's id: it stays the promoted cluster's id.
    const found = await request("GET", `/v2/databases/${cluster}/replicas/${replica}`);
    let id: string;
    let outcome: PromoteResult["outcome"];
    if (found.status === 200) {
        const r = (found.body as { replica?: { id?: unknown } } | null)?.replica;
        if (typeof r?.id !== "string" || r.id === "")
            throw new PromoteError(`reading ${what}: the answer has no replica.id`, 200);
        id = r.id;
        const put = await request("PUT", `/v2/databases/${cluster}/replicas/${replica}/promote`);
        if (put.status !== 204 && put.status !== 200 && put.status !== 202) throw fail(put, `promoting ${what}`);
        log(`promote accepted for ${what} (HTTP ${put.status})`);
        outcome = "promoted";
    } else if (found.status === 404) {
        id = await alreadyPromoted(request, o.replicaName, what);
        log(`${what} was promoted before: cluster ${id}`);
        outcome = "already-promoted";
    } else {
        throw fail(found, `reading ${what}`);
    }

    // Wait for the promoted cluster to take writes.
    const deadline = Date.now() + (o.onlineTimeoutMs ?? 900_000);
    let status = "";
    for (;;) {
        const c = await request("GET", `/v2/databases/${encodeURIComponent(id)}`);
        if (c.status !== 200) throw fail(c, `reading the promoted cluster ${id}`);
        status = String((c.body as { database?: { status?: unknown } } | null)?.database?.status ?? "");
        if (status === "online") return { outcome, clusterId: id, status };
        if (Date.now() >= deadline)
            throw new PromoteError(
                `the promoted cluster ${id} is still "${status}" after ${Math.round((o.onlineTimeoutMs ?? 900_000) / 1000)} s: watch it with doctl databases get ${id}, then run pulumi up again`,
            );
        log(`cluster ${id} is ${status}; waiting for online`);
        await sleep(delay);
    }
}

/**
 * After a 404 for the replica: the id of the cluster it became, found by name among the
 * account's clusters, or a PromoteError saying it does not exist.
 */
async function alreadyPromoted(
    request: (method: "GET", path: string) => Promise<Answer>,
    name: string,
    what: string,
): Promise<string> {
    const list = await request("GET", "/v2/databases");
    if (list.status !== 200)
        throw new PromoteError(`listing clusters to look for ${name}: HTTP ${list.status}${apiMessage(list.body)}`);
    const dbs = (list.body as { databases?: Array<{ id?: unknown; name?: unknown }> } | null)?.databases ?? [];
    const promoted = dbs.find((d) => d.name === name && typeof d.id === "string");
    if (promoted) return promoted.id as string;
    throw new PromoteError(
        `${what} does not exist (HTTP 404), and no cluster of that name does either: the warm standby has no replica to promote. ` +
            `Check pulumi stack output databaseClusterName on the dr stack and doctl databases replica list <prod cluster id>; with no replica left, fail over cold: pulumi config set standby cold`,
        404,
    );
}

// ---------------------------------------------------------------------------------- CLI

const PROG = "promote-replica";

export const USAGE = `Usage: ts-node tools/promote-replica.ts CLUSTER_ID REPLICA_NAME

Promotes the read-only replica REPLICA_NAME of the cluster CLUSTER_ID to an independent
primary and waits until it is online. Reads the token from DIGITALOCEAN_TOKEN (or
DIGITALOCEAN_ACCESS_TOKEN), the API base from DIGITALOCEAN_API_URL (default
${DIGITALOCEAN_API}). Exit 0 when promoted, or when it was promoted before.`;

/** The local command line that promotes a replica, run from the project directory (components/database.ts). */
export function promoteCommandLine(clusterId: string, replicaName: string): string {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(clusterId))
        throw new Error(`promoteCommandLine: ${JSON.stringify(clusterId)} is not a cluster id`);
    if (!parseClusterName(replicaName).ok)
        throw new Error(`promoteCommandLine: ${JSON.stringify(replicaName)} is not a replica name`);
    return sh("node_modules/.bin/ts-node", "--transpile-only", "tools/promote-replica.ts", clusterId, replicaName);
}

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
    if (argv.includes("-h") || argv.includes("--help")) return printHelp(USAGE);
    if (argv.length !== 2) throw new UsageError(`expected CLUSTER_ID REPLICA_NAME, got ${argv.length} argument(s)`);
    const [clusterId, replicaName] = argv;
    const r = await promoteReplica({
        apiBase: env.DIGITALOCEAN_API_URL || DIGITALOCEAN_API,
        token: env.DIGITALOCEAN_TOKEN || env.DIGITALOCEAN_ACCESS_TOKEN || "",
        clusterId,
        replicaName,
        log: (line) => process.stderr.write(`${PROG}: ${line}\n`),
    });
    process.stdout.write(`${r.outcome}: cluster ${r.clusterId} is ${r.status}\n`);
    return EXIT.ok;
}

if (require.main === module) runMain(PROG, () => main(process.argv.slice(2), process.env));
