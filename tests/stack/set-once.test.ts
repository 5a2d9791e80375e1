// Layer 2: the set-once guard in the real program (index.ts) under mocks. The program reads
// its own previous outputs through a StackReference to itself before it registers anything;
// here the mock answers that read with what an earlier run of the same stack exported. A
// change that would replace a stateful resource (the VPC and with it both database
// clusters, the app database, the app role) stops the run with nothing registered, on a
// protected stack (where Pulumi would refuse late) and an unprotected one (where the new
// database would be empty).
import * as pulumi from "@pulumi/pulumi";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { diffRuns } from "./config-changes";
import { ORGANIZATION, PROJECT, T, loadStackConfig, resolve, runProgram, type ProgramRun } from "./harness";

type Stack = "prod" | "dr";

async function runStack(
    stack: Stack,
    edit: Record<string, string>,
    previous: Record<string, unknown>,
): Promise<ProgramRun> {
    const config = loadStackConfig(stack);
    for (const [k, v] of Object.entries(edit)) config[`${PROJECT}:${k}`] = v;
    return runProgram(stack, config, {
        outputs: (type, _name, inputs) =>
            type === T.stackReference && inputs.name === `${ORGANIZATION}/${PROJECT}/${stack}`
                ? { outputs: previous, secretOutputNames: [] }
                : undefined,
    });
}

const registered = (run: ProgramRun) => run.registrations.filter((r) => r.custom && r.type !== T.stackReference);

const live: Record<Stack, { run: ProgramRun; outputs: Record<string, unknown> }> = {} as never;
beforeAll(async () => {
    for (const stack of ["prod", "dr"] as const) {
        const run = await runStack(stack, {}, {});
        if (run.error) throw run.error;
        const outputs: Record<string, unknown> = {};
        for (const name of ["setOnce", "region", "backupBucket", "vaultBucket"])
            outputs[name] = await resolve(run.outputs![name] as pulumi.Output<unknown>);
        live[stack] = { run, outputs };
    }
});

afterEach(() => {
    vi.restoreAllMocks();
});

describe("the set-once record", () => {
    it("is a plain stack output with the values as the program uses them, the VPC's range as DigitalOcean chose it", async () => {
        expect(await pulumi.isSecret(live.prod.run.outputs!.setOnce as pulumi.Output<unknown>)).toBe(false);
        expect(live.prod.outputs.setOnce).toEqual({
            role: "primary",
            region: "nyc3",
            vpcIpRange: "10.116.0.0/20",
            vaultRegion: "sfo3",
            vaultBucket: "incomefortress-backups-vault",
            backupBucket: "incomefortress-backups",
            domain: "incomefortress.com",
            dbName: "income_platform",
            dbUser: "income_platform",
            pitrSourceCluster: "",
            pitrBackupTime: "",
        });
        // A dr stack only reads the vault: its name and region are free to change.
        expect(Object.keys(live.dr.outputs.setOnce as object)).not.toContain("vaultBucket");
        expect(Object.keys(live.dr.outputs.setOnce as object)).not.toContain("vaultRegion");
    });

    it("an unchanged stack runs as before: same resources, same inputs", async () => {
        const again = await runStack("prod", {}, live.prod.outputs);
        expect(again.error).toBeUndefined();
        expect(diffRuns(live.prod.run, again)).toEqual([]);
    });
});

describe("a change that replaces a stateful resource stops the run before anything is registered", () => {
    it.each([
        [
            "prod",
            "vpcIpRange",
            "10.120.0.0/20",
            /was "10\.116\.0\.0\/20" .*It replaces the VPC, and with it both database clusters/,
        ],
        ["dr", "vpcIpRange", "10.120.0.0/20", /It replaces the VPC, and with it both database clusters/],
        ["prod", "region", "ams3", /was "nyc3" .*Nothing moves between regions/],
        ["dr", "region", "ams3", /was "sfo3" .*bring up the dr stack/],
        ["prod", "dbName", "income_platform_b", /It replaces the app database: a new, empty database/],
        ["dr", "dbName", "income_platform_b", /The recovery chain does not restore into it/],
        ["prod", "dbUser", "income_app", /It replaces the app role/],
        ["dr", "dbUser", "income_app", /It replaces the app role/],
    ] as const)("%s %s", async (stack, key, value, consequence) => {
        const run = await runStack(stack, { [key]: value }, live[stack].outputs);
        expect(registered(run)).toEqual([]);
        const message = run.error?.message ?? "";
        expect(message).toMatch(
            new RegExp(`^Invalid configuration for stack "${stack}" \\(1 problem\\); nothing was created or changed:`),
        );
        expect(message).toContain(`income-fortress:${key}: was `);
        expect(message).toMatch(consequence);
        expect(message).toContain(
            `If you mean it, allow it for one update: pulumi config set --path 'allowReplace[0]' ${key}`,
        );
        // On a protected stack Pulumi would refuse later, after other resources changed: say what else is needed.
        expect(message.includes("pulumi state unprotect")).toBe(stack === "prod");
    });

    it("several at once are all reported", async () => {
        const run = await runStack("prod", { dbName: "a_b", dbUser: "c_d", region: "ams3" }, live.prod.outputs);
        expect(run.error?.message).toMatch(/\(3 problems\)/);
        expect(registered(run)).toEqual([]);
    });

    it("a stack last updated before the record existed is checked against the outputs it had", async () => {
        const legacy = {
            region: "nyc3",
            backupBucket: "incomefortress-backups",
            vaultBucket: "incomefortress-backups-vault",
        };
        const run = await runStack("prod", { region: "ams3" }, legacy);
        expect(run.error?.message).toContain(`income-fortress:region: was "nyc3"`);
        // What it cannot know yet (dbName here) is free this once, and recorded from now on.
        const other = await runStack("prod", { dbName: "income_platform_b" }, legacy);
        expect(other.error).toBeUndefined();
        expect(await resolve(other.outputs!.setOnce as pulumi.Output<Record<string, string>>)).toMatchObject({
            dbName: "income_platform_b",
        });
    });
});

describe("what stays free", () => {
    it("a new stack (no previous outputs) takes any value", async () => {
        const run = await runStack("prod", { region: "ams3", dbName: "x_y", vpcIpRange: "10.120.0.0/20" }, {});
        expect(run.error).toBeUndefined();
    });

    it("vpcIpRange set to the range DigitalOcean chose, or left unset, is no change", async () => {
        for (const value of ["10.116.0.0/20", ""]) {
            const run = await runStack("prod", { vpcIpRange: value }, live.prod.outputs);
            expect(run.error, value).toBeUndefined();
            expect(diffRuns(live.prod.run, run), value).toEqual([]);
        }
    });

    it("the first point-in-time fork is free; so are changes that replace nothing stateful", async () => {
        const edits: Record<string, string>[] = [
            { pitrSourceCluster: "fortress-db-pg-abc1234" },
            { dbSize: "db-s-4vcpu-8gb" },
            { credentialsEpoch: "2" },
            { hostname: "api2" },
        ];
        for (const edit of edits) {
            const run = await runStack("prod", edit, live.prod.outputs);
            expect(run.error, JSON.stringify(edit)).toBeUndefined();
        }
    });
});

describe("allowReplace", () => {
    it("lets the listed change through, says what it does, and asks to remove keys that did not change", async () => {
        const warn = vi.spyOn(pulumi.log, "warn");
        const run = await runStack(
            "dr",
            { dbName: "income_platform_b", allowReplace: '["dbName","region"]' },
            live.dr.outputs,
        );
        expect(run.error).toBeUndefined();
        expect(diffRuns(live.dr.run, run).find((c) => c.name === "db-app-db")).toMatchObject({
            effect: "replace",
            inputs: ["name"],
        });
        const said = warn.mock.calls.map((c) => String(c[0]));
        expect(said).toContainEqual(
            expect.stringMatching(
                /^allowReplace: dbName changes from "income_platform" to "income_platform_b"\. It replaces the app database/,
            ),
        );
        expect(said).toContainEqual(
            expect.stringMatching(
                /^allowReplace lists region, which did not change: remove it \(pulumi config rm allowReplace\)/,
            ),
        );
    });

    it("takes only set-once keys", async () => {
        const run = await runStack("prod", { allowReplace: '["dbSize"]' }, live.prod.outputs);
        expect(run.error?.message).toMatch(
            /income-fortress:allowReplace: item 0: "dbSize" is not a key whose change is refused; allowReplace takes: role, region, vpcIpRange/,
        );
        expect(run.registrations).toEqual([]);
    });
});
