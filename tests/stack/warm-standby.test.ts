// Layer 2: the warm standby (standby warm on the dr stack). Standing by, the dr stack keeps a
// read-only replica of prod's active cluster in its own region, its droplet, network and
// cache up and the images pulled, and runs no service. At failover (failover true) a local
// command promotes the replica, the promoted cluster gets the droplet tag's firewall, and the
// recovery chain runs on it with no restore. A cold dr stack (the default) is unchanged.
import { beforeAll, describe, expect, it } from "vitest";
import { promoteCommandLine } from "../../tools/promote-replica";
import {
    ORGANIZATION,
    PROJECT,
    T,
    byType,
    loadStackConfig,
    one,
    resolve,
    runProgram,
    type ProgramRun,
    type Registration,
} from "./harness";

const PROD_CLUSTER = "9cc10173-e9ea-4176-9dbc-a4cee4c4ff30";
const REPLICA = "digitalocean:index/databaseReplica:DatabaseReplica";
const LOCAL = "command:local:Command";

async function run(edit: Record<string, string>, prodOutputs: Record<string, unknown> = {}): Promise<ProgramRun> {
    const config = loadStackConfig("dr");
    for (const [k, v] of Object.entries(edit)) config[`${PROJECT}:${k}`] = v;
    return runProgram("dr", config, {
        outputs: (type, _name, inputs) =>
            type === T.stackReference
                ? {
                      name: inputs.name,
                      outputs:
                          inputs.name === `${ORGANIZATION}/${PROJECT}/dr`
                              ? {}
                              : { databaseClusterId: PROD_CLUSTER, ...prodOutputs },
                      secretOutputNames: [],
                  }
                : undefined,
    });
}

const isSecretValue = (v: unknown): v is { value: unknown } =>
    typeof v === "object" && v !== null && "4dabf18193072939515e22adb298388d" in v;
const unwrap = (v: unknown): unknown => (isSecretValue(v) ? unwrap(v.value) : v);

const ok = (r: ProgramRun): ProgramRun => {
    if (r.error) throw r.error;
    return r;
};

const steps = (r: ProgramRun) =>
    byType(r, T.command)
        .map((c) => c.name.replace(/^fortress-recovery-/, ""))
        .sort();

const pgClusters = (r: ProgramRun) => byType(r, T.cluster).filter((c) => c.inputs.engine === "pg");

/** Every URN `r` waits for, directly or through others. */
function upstream(run: ProgramRun, r: Registration): Set<string> {
    const byUrn = new Map(run.registrations.map((x) => [x.urn, x]));
    const seen = new Set<string>();
    const todo = [...r.dependencies];
    while (todo.length) {
        const urn = todo.pop()!;
        if (seen.has(urn)) continue;
        seen.add(urn);
        todo.push(...(byUrn.get(urn)?.dependencies ?? []));
    }
    return seen;
}

describe("a warm standby, standing by", () => {
    let r: ProgramRun;
    beforeAll(async () => {
        r = ok(await run({ standby: "warm" }));
    });

    it("has no cluster of its own: a replica of prod's active cluster, in dr's region and VPC, of dbSize", () => {
        expect(pgClusters(r)).toEqual([]);
        expect(byType(r, T.db)).toEqual([]);
        expect(byType(r, T.dbUser)).toEqual([]);
        const replica = one(r, REPLICA);
        expect(replica.inputs).toMatchObject({
            clusterId: PROD_CLUSTER,
            region: "sfo3",
            size: "db-s-2vcpu-4gb",
            tags: ["env:dr"],
        });
        expect(replica.propertyDependencies.privateNetworkUuid).toEqual([one(r, T.vpc).urn]);
        // The id is prod's databaseClusterId output (the mock gives it only to a reference to another stack).
    });

    it("keeps the droplet, the network and the cache up, pulls the images, and runs no service", () => {
        expect(byType(r, T.droplet)).toHaveLength(1);
        expect(byType(r, T.cluster).map((c) => c.inputs.engine)).toEqual(["valkey"]);
        expect(steps(r)).toEqual(
            ["boot", "images", "secret-app-env", "secret-credentials", "secret-dns-token", "tls"].sort(),
        );
        const images = one(r, T.command, "-images");
        expect(images.dependencies).toContain(one(r, T.command, "secret-app-env").urn);
        expect(byType(r, LOCAL)).toEqual([]);
        expect(byType(r, "digitalocean:index/uptimeCheck:UptimeCheck")).toEqual([]);
    });

    it("points the app's .env at the replica, so the failover does not rewrite it", async () => {
        const stdin = String(unwrap(one(r, T.command, "secret-app-env").inputs.stdin));
        expect(stdin).toContain("@private-fortress-db-pg-replica-abc1234-do-user-1.db.ondigitalocean.com:25060/");
        expect(await resolve(r.outputs!.recoveryReport as never)).toBe("standing by: the services start at failover");
    });
});

describe("a warm standby at failover", () => {
    let standing: ProgramRun;
    let r: ProgramRun;
    beforeAll(async () => {
        standing = ok(await run({ standby: "warm" }));
        r = ok(await run({ standby: "warm", failover: "true" }));
    });

    it("promotes the replica with the exact local command, after the replica exists", async () => {
        const promote = one(r, LOCAL);
        const replica = one(r, REPLICA);
        expect(await resolve(promote.inputs.create)).toBe(
            promoteCommandLine(PROD_CLUSTER, "fortress-db-pg-replica-abc1234"),
        );
        expect(promote.dependencies).toContain(replica.urn);
        expect(promote.customTimeouts?.create).toBe("20m");
    });

    it("gives the promoted cluster the droplet tag's firewall, after the promotion", () => {
        const fw = one(r, T.dbFirewall, "pg-replica");
        expect(fw.dependencies).toContain(one(r, LOCAL).urn);
        expect(fw.propertyDependencies.clusterId).toEqual([one(r, REPLICA).urn]);
        expect(fw.inputs.rules).toEqual(one(r, T.dbFirewall, "valkey").inputs.rules);
        expect(fw.deleteBeforeReplace).toBe(true);
    });

    it("runs the chain on the promoted replica: no restore, migrations after the images, the health gate last", () => {
        expect(steps(r)).toEqual(
            [...steps(standing), "database-access", "restore", "migrate", "compose", "health"].sort(),
        );
        const access = one(r, T.command, "database-access");
        expect(upstream(r, access)).toContain(one(r, T.dbFirewall, "pg-replica").urn);
        expect(upstream(r, access)).toContain(one(r, LOCAL).urn);
        expect(String(one(r, T.command, "-restore").inputs.create)).toMatch(/^set -- off /);
        expect(one(r, T.command, "-migrate").dependencies).toContain(one(r, T.command, "-images").urn);
        expect(byType(r, "digitalocean:index/uptimeCheck:UptimeCheck")).toHaveLength(1);
    });

    it("changes nothing that stood by: the replica, droplet, cache and the secrets keep their inputs", () => {
        const same = (type: string, name = "") =>
            expect(JSON.stringify(one(r, type, name).inputs)).toBe(JSON.stringify(one(standing, type, name).inputs));
        same(REPLICA);
        same(T.droplet);
        same(T.cluster, "valkey");
        for (const s of ["secret-app-env", "secret-credentials", "images", "tls"]) same(T.command, s);
    });
});

describe("a cold dr stack (the default) and prod", () => {
    it("dr keeps its own cluster and no replica; prod publishes the id a warm standby follows", async () => {
        const dr = ok(await run({}));
        expect(pgClusters(dr)).toHaveLength(1);
        expect(byType(dr, REPLICA)).toEqual([]);
        expect(byType(dr, LOCAL)).toEqual([]);
        expect(steps(dr)).not.toContain("images");
        const prod = ok(await runProgram("prod", loadStackConfig("prod")));
        // The app database's clusterId is the cluster's id as the provider returned it.
        const id = one(prod, T.db).inputs.clusterId;
        expect(typeof id === "string" && id !== "").toBe(true);
        expect(await resolve(prod.outputs!.databaseClusterId as never)).toBe(id);
    });
});
