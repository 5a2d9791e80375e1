// Layer 1: components/provider-facts.ts, the table the config-change derivation reads:
// how a changed input is classified, and that every resource type the program registers
// has been looked up in its provider.
import { beforeAll, describe, expect, it } from "vitest";
import { RESOURCE_FACTS, factsFor, ignoredInputs, replacingInputs } from "../../components/provider-facts";
import { loadStackConfig, runProgram } from "../stack/harness";

describe("replacingInputs and ignoredInputs", () => {
    it.each<[string, string[], string[], string[]]>([
        ["digitalocean:index/vpc:Vpc", ["ipRange", "description"], [], ["ipRange"]],
        [
            "digitalocean:index/databaseCluster:DatabaseCluster",
            ["privateNetworkUuid", "size"],
            [],
            ["privateNetworkUuid"],
        ],
        ["digitalocean:index/databaseCluster:DatabaseCluster", ["region", "version"], [], []],
        ["digitalocean:index/databaseCluster:DatabaseCluster", ["backupRestore"], ["backupRestore"], ["backupRestore"]],
        ["digitalocean:index/spacesBucket:SpacesBucket", ["name"], [], []],
        ["digitalocean:index/spacesBucket:SpacesBucket", ["name"], ["name"], ["name"]],
        ["digitalocean:index/dnsRecord:DnsRecord", ["name", "ttl"], [], []],
        ["digitalocean:index/dnsRecord:DnsRecord", ["domain"], [], ["domain"]],
        ["tls:index/privateKey:PrivateKey", ["algorithm"], [], ["algorithm"]],
        ["random:index/randomPassword:RandomPassword", ["keepers", "length"], [], ["keepers", "length"]],
        ["command:remote:Command", ["create", "stdin"], [], []],
        ["command:remote:Command", ["create", "triggers"], [], ["triggers"]],
    ])("%s: %j (replaceOnChanges %j) replaces on %j", (type, changed, roc, expected) => {
        expect(replacingInputs(type, changed, roc)).toEqual(expected);
    });

    it("names what the provider drops: a bucket's name and a fork's backupRestore, unless replaceOnChanges covers them", () => {
        expect(ignoredInputs("digitalocean:index/spacesBucket:SpacesBucket", ["name", "acl"])).toEqual(["name"]);
        expect(ignoredInputs("digitalocean:index/spacesBucket:SpacesBucket", ["name"], ["name"])).toEqual([]);
        expect(ignoredInputs("digitalocean:index/databaseCluster:DatabaseCluster", ["backupRestore", "size"])).toEqual([
            "backupRestore",
        ]);
    });

    it("refuses a type nobody has read the provider of", () => {
        expect(() => factsFor("digitalocean:index/volume:Volume")).toThrow(
            /no provider facts for digitalocean:index\/volume:Volume: read its provider's source/,
        );
    });
});

describe("coverage", () => {
    const types = new Set<string>();
    const protectedInProd = new Set<string>();
    beforeAll(async () => {
        for (const stack of ["prod", "dr"]) {
            // The full program with every optional resource: a fork, monitoring, a certificate.
            const config = { ...loadStackConfig(stack), "income-fortress:pitrSourceCluster": "fortress-db-pg-abc1234" };
            const run = await runProgram(stack, config);
            if (run.error) throw run.error;
            for (const r of run.registrations) if (r.custom) types.add(r.type);
            if (stack === "prod") for (const r of run.registrations) if (r.protect) protectedInProd.add(r.type);
        }
        // A warm standby after its failover, protected as a dr stack serving real traffic is:
        // the replica, the promotion and the promoted cluster's firewall.
        const warm = await runProgram(
            "dr",
            {
                ...loadStackConfig("dr"),
                "income-fortress:standby": "warm",
                "income-fortress:failover": "true",
                "income-fortress:protect": "true",
            },
            {
                outputs: (type, _name, inputs) =>
                    type === "pulumi:pulumi:StackReference"
                        ? { name: inputs.name, outputs: { databaseClusterId: "9cc10173" }, secretOutputNames: [] }
                        : undefined,
            },
        );
        if (warm.error) throw warm.error;
        for (const r of warm.registrations) if (r.custom) types.add(r.type);
        for (const r of warm.registrations) if (r.protect) protectedInProd.add(r.type);
    });

    it("every custom resource type the program registers has provider facts with a source", () => {
        expect(types.size).toBeGreaterThan(15);
        for (const type of types) expect(RESOURCE_FACTS[type]?.source, type).toBeTruthy();
    });

    it("the stateful types are the ones the platform protects when protect is true", () => {
        const stateful = Object.entries(RESOURCE_FACTS)
            .filter(([, f]) => f.stateful)
            .map(([t]) => t);
        expect(stateful.sort()).toEqual([...protectedInProd].sort());
    });
});
