// Layer 1: how a dr stack stands by (standby, failover): the schema's rules, what the parsed
// config hands the platform, the set-once guard that refuses a change that would delete the
// database the app runs on, and the check of the primary's databaseClusterId output.
import { describe, expect, it } from "vitest";
import { primaryClusterId } from "../../components/platform";
import { formatProblems, parseConfig, type FortressConfig } from "../../config";
import { setOnceChanges, setOnceValues } from "../../config/set-once";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID2gVhTbVzvr8WlcYotifbpmdXFMTZhILeHFLMv/IyRL ops@incomefortress.com";
const PRIMARY: Record<string, string> = {
    domain: "incomefortress.com",
    hostname: "api",
    adminCidrs: '["203.0.113.0/24"]',
    sshKeyFingerprints: '["88:8e:c5:eb:a4:9a:d2:1c:c4:ab:8d:43:f2:83:8e:a9"]',
    deployerPublicKeys: JSON.stringify([KEY]),
    alertEmails: '["oncall@incomefortress.com"]',
};
const DR: Record<string, string> = {
    ...PRIMARY,
    role: "dr",
    region: "sfo3",
    primaryRegion: "nyc3",
    vaultRegion: "sfo3",
    vaultBucket: "incomefortress-backups-vault",
    hostname: "api-dr",
};

function ok(raw: Record<string, string>, stack: string): FortressConfig {
    const r = parseConfig(raw, stack);
    if (!r.ok) throw new Error(formatProblems(stack, r.problems));
    return r.config;
}

describe("standby and failover", () => {
    it("default to cold, which restores the latest backup as before", () => {
        const c = ok(DR, "dr");
        expect(c.standby).toEqual({ mode: "cold" });
        expect(c.recovery.restoreMode).toBe("required");
        expect(ok(PRIMARY, "prod").standby).toEqual({ mode: "cold" });
    });

    it("warm follows primaryStack, stands by until failover, and never restores", () => {
        expect(ok({ ...DR, standby: "warm" }, "dr").standby).toEqual({
            mode: "warm",
            failover: false,
            primaryStack: "prod",
        });
        const serving = ok({ ...DR, standby: "warm", failover: "true", primaryStack: "prod-b" }, "dr");
        expect(serving.standby).toEqual({ mode: "warm", failover: true, primaryStack: "prod-b" });
        expect(serving.recovery.restoreMode).toBe("off");
    });

    it.each([
        ["an unknown mode", { ...DR, standby: "hot" }, "dr", "standby", /"hot".*cold, warm/],
        [
            "warm on a primary",
            { ...PRIMARY, standby: "warm" },
            "prod",
            "standby",
            /^"warm" is for a dr stack.*pulumi config rm standby$/,
        ],
        [
            "failover on a cold stack",
            { ...DR, failover: "true" },
            "dr",
            "failover",
            /^true promotes .*standby is cold.*pulumi config rm failover$/,
        ],
        ["failover on a primary", { ...PRIMARY, failover: "true" }, "prod", "failover", /standby is cold/],
        [
            "a fork on a warm stack",
            { ...DR, standby: "warm", pitrSourceCluster: "income-fortress-dr-db-pg-abc" },
            "dr",
            "pitrSourceCluster",
            /no cluster of its own to fork/,
        ],
        [
            "a restore on a warm stack",
            { ...DR, standby: "warm", restoreMode: "required" },
            "dr",
            "restoreMode",
            /^"required" would restore a dump over the promoted replica/,
        ],
    ])("refuses %s, naming the key and what to do", (_what, raw, stack, key, message) => {
        const r = parseConfig(raw, stack);
        expect(r.ok).toBe(false);
        if (r.ok) return;
        const p = r.problems.filter((x) => x.key === `income-fortress:${key}`);
        expect(p, formatProblems(stack, r.problems)).toHaveLength(1);
        expect(p[0].message).toMatch(message);
    });

    it("accepts restoreMode off or auto on a warm stack", () => {
        expect(ok({ ...DR, standby: "warm", restoreMode: "off" }, "dr").recovery.restoreMode).toBe("off");
    });
});

describe("the set-once guard", () => {
    const recorded = (raw: Record<string, string>) => setOnceValues(ok(raw, "dr"), "10.116.0.0/20");

    it("records standby and, on a warm stack, failover; a primary records neither", () => {
        expect(recorded(DR)).toMatchObject({ standby: "cold" });
        expect(recorded(DR)).not.toHaveProperty("failover");
        expect(recorded({ ...DR, standby: "warm" })).toMatchObject({ standby: "warm", failover: "false" });
        const prod = setOnceValues(ok(PRIMARY, "prod"), "10.116.0.0/20");
        expect(prod).not.toHaveProperty("standby");
        expect(prod).not.toHaveProperty("failover");
    });

    it.each([
        ["cold to warm", DR, { ...DR, standby: "warm" }, ["standby"], /its app database and role are deleted/],
        ["warm to cold", { ...DR, standby: "warm" }, DR, ["standby"], /new, empty cluster/],
        [
            "failover back to false",
            { ...DR, standby: "warm", failover: "true" },
            { ...DR, standby: "warm" },
            ["failover"],
            /cannot be undone/,
        ],
    ])("refuses %s", (_what, before, after, keys, consequence) => {
        const changes = setOnceChanges(recorded(before), ok(after, "dr"));
        expect(changes.map((c) => c.key)).toEqual(keys);
        expect(changes[0].consequence).toMatch(consequence);
    });

    it("lets the failover itself through", () => {
        expect(
            setOnceChanges(
                recorded({ ...DR, standby: "warm" }),
                ok({ ...DR, standby: "warm", failover: "true" }, "dr"),
            ),
        ).toEqual([]);
    });
});

describe("primaryClusterId", () => {
    it("passes an id through", () => {
        expect(primaryClusterId("9cc10173-e9ea-4176-9dbc-a4cee4c4ff30", "prod")).toBe(
            "9cc10173-e9ea-4176-9dbc-a4cee4c4ff30",
        );
    });

    it.each([undefined, "", 42, null])("refuses %j with what to run first", (id) => {
        expect(() => primaryClusterId(id, "prod")).toThrow(
            /^the primary stack prod has no databaseClusterId output \(got .*\): run pulumi up --stack prod with this version of the program first, then bring up the warm standby$/,
        );
    });
});
