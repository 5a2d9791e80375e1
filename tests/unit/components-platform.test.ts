// Layer 1: the pure helpers beside the components: the user-data arguments each stack
// renders, and the PostgreSQL URL builder.
import { describe, expect, it } from "vitest";
import { renderUserData, validateUserDataArgs } from "../../cloud-init/render";
import { postgresUrl } from "../../components/database";
import { deployKeyName, userDataArgsFor, type PlatformArgs } from "../../components/platform";
import { parseConfig } from "../../config";
import { rawStackConfig } from "../stack/harness";

const TOOLKIT = [
    { path: "/usr/local/bin/fortress-backup", content: "#!/usr/bin/env bash\n", permissions: "0755" },
    { path: "/usr/local/bin/fortress-verify", content: "#!/usr/bin/env bash\n", permissions: "0755" },
    { path: "/usr/local/bin/fortress-heartbeat", content: "#!/usr/bin/env bash\n", permissions: "0755" },
];

/** What index.ts hands the platform: the parsed config, the toolkit's files, and no isolation. */
function platformArgs(stack: string): PlatformArgs {
    const r = parseConfig(rawStackConfig(stack), stack);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    return { ...r.config, toolkitFiles: TOOLKIT, isolation: { state: "open" } };
}

describe("userDataArgsFor", () => {
    const VAULT = "incomefortress-backups-vault";
    /** The operators' age recipient, the same in both stack files. */
    const RECIPIENT = "age1m329mc5c7rzwq438m0ey0ryzeq8pgxwmenhvpwtxg8qvp5pdaghqzjmsgg";
    const stacks = {
        prod: { args: platformArgs("prod"), bucket: "incomefortress-backups" },
        dr: { args: platformArgs("dr"), bucket: "incomefortress-dr-backups" },
    };
    const userData = (stack: keyof typeof stacks) =>
        userDataArgsFor(stacks[stack].args, { backup: stacks[stack].bucket, vault: VAULT });

    it.each([
        [
            "a primary stack backs up to its bucket and to the vault in the other region",
            "prod",
            {
                s3Endpoint: "https://nyc3.digitaloceanspaces.com",
                prefix: "postgresql/prod",
                offsiteS3Endpoint: "https://sfo3.digitaloceanspaces.com",
                offsiteBucket: VAULT,
            },
        ],
        [
            "a dr stack writes its own bucket and its offsite bucket in a third region, never the vault it may only read",
            "dr",
            {
                s3Endpoint: "https://sfo3.digitaloceanspaces.com",
                prefix: "postgresql/dr",
                offsiteS3Endpoint: "https://atl1.digitaloceanspaces.com",
                offsiteBucket: "incomefortress-dr-offsite",
            },
        ],
    ] as const)("%s", (_what, stack, backup) => {
        expect(userData(stack).backup).toEqual({ ...backup, bucket: stacks[stack].bucket, ageRecipients: [RECIPIENT] });
    });

    it("a primary stack renders its environment, PostgreSQL major and app checkout", () => {
        const args = userData("prod");
        expect(args.environment).toBe("prod");
        expect(args.postgresMajorVersion).toBe("17");
        expect(args.app).toEqual({
            repoUrl: "https://github.com/AlbertoDBP/Agentic.git",
            ref: "v1.0.0",
            dir: "/opt/income-fortress/app",
            composeSubdir: "income-platform",
        });
    });

    it.each(["prod", "dr"] as const)("%s renders valid #cloud-config with no secret in it", (stack) => {
        const udArgs = userData(stack);
        expect(validateUserDataArgs(udArgs)).toEqual([]);
        const text = renderUserData(udArgs);
        expect(text.split("\n")[0]).toBe("#cloud-config");
        expect(text).not.toMatch(/AWS_SECRET_ACCESS_KEY=\S|DATABASE_URL=\S|postgresql:\/\/|AGE-SECRET-KEY|PRIVATE KEY/);
    });
});

describe("postgresUrl", () => {
    it.each([
        [
            {
                user: "income_platform",
                password: "AVNS_abc123",
                host: "private-db.example",
                port: 25060,
                database: "income_platform",
            },
            "postgresql://income_platform:AVNS_abc123@private-db.example:25060/income_platform?sslmode=require",
        ],
        [
            { user: "app", password: "p@ss:w/rd?#", host: "h", port: 1, database: "db" },
            "postgresql://app:p%40ss%3Aw%2Frd%3F%23@h:1/db?sslmode=require",
        ],
    ])("builds a TLS URL with encoded credentials (%#)", (parts, url) => {
        expect(postgresUrl(parts)).toBe(url);
    });
});

describe("deployKeyName", () => {
    it.each([
        ["fortress", 1, "fortress-deploy-key-e1"],
        ["fortress", 2, "fortress-deploy-key-e2"],
        ["fortress", 17, "fortress-deploy-key-e17"],
    ] as const)("%s at epoch %i is %s: a new epoch is a new resource, with any Pulumi CLI", (platform, epoch, name) => {
        expect(deployKeyName(platform, epoch)).toBe(name);
    });
});
