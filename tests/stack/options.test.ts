// Layer 2: the breach and drill switches, under mocks, starting from the real stack
// files: `isolate` closes 80/443, `credentialsEpoch` rotates generated credentials, and
// a drill stack made from the dr config stays off public records and stays destroyable.
import { describe, expect, it } from "vitest";
import { diffRuns } from "./config-changes";
import { PROJECT, T, byType, loadStackConfig, one, runProgram, type ProgramRun } from "./harness";

async function run(stack: string, from: "prod" | "dr", edit: Record<string, string>): Promise<ProgramRun> {
    const config = loadStackConfig(from);
    for (const [k, v] of Object.entries(edit)) config[`${PROJECT}:${k}`] = v;
    const result = await runProgram(stack, config);
    if (result.error) throw result.error;
    return result;
}

type Inbound = { protocol: string; portRange?: string; sourceAddresses: string[] };

describe("switches", () => {
    it("isolate closes 80/443 and keeps admin SSH open", async () => {
        const open = await run("prod", "prod", {});
        const isolated = await run("prod", "prod", { isolate: "true" });
        const ports = (r: ProgramRun) =>
            (one(r, T.firewall).inputs.inboundRules as Inbound[]).map((x) => `${x.protocol}/${x.portRange ?? "*"}`);
        expect(ports(open)).toEqual(expect.arrayContaining(["tcp/80", "tcp/443", "tcp/22"]));
        expect(ports(isolated)).toEqual(["tcp/22", "icmp/*"]);
        const ssh = (one(isolated, T.firewall).inputs.inboundRules as Inbound[])[0];
        expect(ssh.sourceAddresses).toEqual(["203.0.113.0/24", "198.51.100.17/32", "2001:db8:4f10::/48"]);
        // A stack isolated from its first update has no suspect droplet, so its droplet may reach
        // the data (the rebuilt tag); a live stack's suspect is in tests/stack/isolation.test.ts.
        const { tags: isolatedTags, ...isolatedDroplet } = one(isolated, T.droplet).inputs;
        const { tags: openTags, ...openDroplet } = one(open, T.droplet).inputs;
        expect(isolatedDroplet).toEqual(openDroplet);
        expect(isolatedTags).toEqual([openTags[0], "income-fortress-prod-rebuilt", ...openTags.slice(1)]);
    });

    it("bumping credentialsEpoch rotates every generated credential with any Pulumi CLI, rebuilds the droplet for the new deploy key, and changes nothing stateful", async () => {
        const before = await run("prod", "prod", {});
        const after = await run("prod", "prod", { credentialsEpoch: "2" });
        // What the engine plans, with the replacementTrigger option ignored as CLIs before 3.208 ignore it.
        const changes = diffRuns(before, after);
        const renewed = (type: string) =>
            changes
                .filter((c) => c.type === type && (c.effect === "replace" || c.effect === "create"))
                .map((c) => c.name);
        expect(renewed(T.password).sort()).toEqual(["app-secret-key", "db-app-password"]);
        expect(renewed(T.spacesKey)).toEqual(["storage-host-key"]);
        expect(renewed(T.privateKey)).toEqual(["deploy-key-e2"]);
        expect(changes.filter((c) => c.type === T.privateKey && c.effect === "delete").map((c) => c.name)).toEqual([
            "deploy-key-e1",
        ]);
        expect(changes.filter((c) => c.stateful && c.effect !== "update")).toEqual([]);
        for (const r of [...before.registrations, ...after.registrations])
            expect(r.replacementTrigger, `${r.type} ${r.name}`).toBeUndefined();
        // A stack at epoch 1 keeps the key it had before the epoch was in the key's name.
        expect(one(before, T.privateKey).aliasNames).toEqual(["fortress-deploy-key"]);
        expect(one(after, T.privateKey).aliasNames).toEqual([]);
        expect(one(before, T.spacesKey).inputs.name).toBe("income-fortress-prod-host-e1");
        expect(one(after, T.spacesKey).inputs.name).toBe("income-fortress-prod-host-e2");
        for (const name of ["app-secret-key", "db-app-password"]) {
            expect(one(before, T.password, name).inputs.keepers).toEqual({ credentialsEpoch: "1" });
            expect(one(after, T.password, name).inputs.keepers).toEqual({ credentialsEpoch: "2" });
        }
        // The droplet differs only in its user-data, and there only in the deploy key line.
        const { userData: udBefore, ...restBefore } = one(before, T.droplet).inputs;
        const { userData: udAfter, ...restAfter } = one(after, T.droplet).inputs;
        expect(restAfter).toEqual(restBefore);
        const changed = (udAfter as string)
            .split("\n")
            .filter((line: string) => !(udBefore as string).split("\n").includes(line));
        expect(changed).toHaveLength(1);
        expect(changed[0]).toMatch(/^\s+- ssh-ed25519 AAAA\S+ income-fortress-deploy@prod-e2$/);
        expect(changed[0]).not.toContain(String(one(before, T.privateKey).state?.publicKeyOpenssh).split(" ")[1]);
        for (const type of [T.cluster, T.bucket, T.record, T.dbUser, T.db]) {
            expect(byType(after, type).map((r) => r.inputs)).toEqual(byType(before, type).map((r) => r.inputs));
        }
    });

    it("vpcIpRange reaches the VPC when set, and is left to DigitalOcean when empty", async () => {
        expect(one(await run("dr", "dr", {}), T.vpc).inputs.ipRange).toBeUndefined();
        expect(one(await run("dr", "dr", { vpcIpRange: "10.120.0.0/20" }), T.vpc).inputs.ipRange).toBe("10.120.0.0/20");
    });

    it("a drill stack from the dr config owns only its drill record, protects nothing and can be destroyed", async () => {
        const stack = "drill-20260203t1000z";
        const drill = await run(stack, "dr", { hostname: stack });
        expect(one(drill, T.record).inputs).toMatchObject({ name: stack, domain: "incomefortress.com" });
        expect(drill.registrations.filter((r) => r.protect)).toEqual([]);
        const bucket = one(drill, T.bucket, "backups");
        expect(bucket.inputs).toMatchObject({ name: "incomefortress-dr-backups", forceDestroy: true });
        expect(one(drill, T.spacesKey).inputs.grants).toContainEqual({
            bucket: "incomefortress-backups-vault",
            permission: "read",
        });
        expect(one(drill, T.project).inputs.name).toBe(`income-fortress-${stack}`);
    });
});
