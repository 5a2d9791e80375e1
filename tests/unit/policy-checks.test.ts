// Each policy's pure check, table-driven on resources that pass and resources that
// fail. Preview unknowns are simulated with @pulumi/policy's own unknown-checking proxy,
// the one the policy server wraps around properties.
import * as digitalocean from "@pulumi/digitalocean";
import * as command from "@pulumi/command";
import * as random from "@pulumi/random";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import {
    MANDATORY_POLICY_NAMES,
    POLICY_NAMES,
    TYPES,
    checkCommandSecretValues,
    checkCommandText,
    checkDatabaseFirewalls,
    checkDnsTtl,
    checkDropletBackups,
    checkDropletSize,
    checkFirewallSsh,
    checkRegionSeparation,
    checkSpacesBucket,
    checkSpacesBucketPolicy,
    createPolicies,
    findSecretPatterns,
    isWorldCidr,
    policies,
    portRangeIncludes,
    prodRegionFromProject,
    stackFromUrn,
    type Props,
    type StackResource,
} from "../../policy/policies";

// The sentinels and proxy the policy server uses for values unknown during preview.
const proxy = require("@pulumi/policy/proxy") as {
    unknownCheckingProxy: <T>(o: T) => T;
    unknownStringValue: string;
    unknownArrayValue: string;
};
const preview = <T extends object>(o: T): T => proxy.unknownCheckingProxy(o);

const urn = (stack: string, type: string, name: string) => `urn:pulumi:${stack}::income-fortress::${type}::${name}`;

describe("type tokens match the provider SDKs", () => {
    const token = (cls: unknown) => (cls as { __pulumiType: string }).__pulumiType;
    test.each([
        ["firewall", digitalocean.Firewall],
        ["databaseCluster", digitalocean.DatabaseCluster],
        ["databaseFirewall", digitalocean.DatabaseFirewall],
        ["databaseUser", digitalocean.DatabaseUser],
        ["databaseConnectionPool", digitalocean.DatabaseConnectionPool],
        ["spacesBucket", digitalocean.SpacesBucket],
        ["spacesBucketPolicy", digitalocean.SpacesBucketPolicy],
        ["spacesKey", digitalocean.SpacesKey],
        ["droplet", digitalocean.Droplet],
        ["dnsRecord", digitalocean.DnsRecord],
        ["remoteCommand", command.remote.Command],
        ["localCommand", command.local.Command],
        ["randomPassword", random.RandomPassword],
    ] as const)("%s", (key, cls) => {
        expect(TYPES[key]).toBe(token(cls));
    });
});

describe("the policy list", () => {
    test("has unique names, the mandatory ones mandatory and the size/TTL ones advisory", () => {
        const names = policies.map((p) => p.name);
        expect(new Set(names).size).toBe(names.length);
        expect(new Set(MANDATORY_POLICY_NAMES)).toEqual(
            new Set([
                POLICY_NAMES.sshFromAnywhere,
                POLICY_NAMES.databaseFirewalls,
                POLICY_NAMES.spacesBuckets,
                POLICY_NAMES.prodDropletBackups,
                POLICY_NAMES.drRegion,
                POLICY_NAMES.commandSecretPatterns,
                POLICY_NAMES.commandSecretValues,
            ]),
        );
        const advisory = policies.filter((p) => p.enforcementLevel === "advisory").map((p) => p.name);
        expect(new Set(advisory)).toEqual(new Set([POLICY_NAMES.dropletSize, POLICY_NAMES.dnsTtl]));
    });

    test("createPolicies puts the prod region into the DR policy's config schema", () => {
        const region = createPolicies({ prodRegion: "fra1" }).find((p) => p.name === POLICY_NAMES.drRegion);
        expect(region?.configSchema?.properties.prodRegion.default).toBe("fra1");
    });
});

describe("prodRegionFromProject", () => {
    const project = (files: Record<string, string>): string => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prod-region-"));
        for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
        return dir;
    };
    const projectFile = "name: income-fortress\nconfig:\n  region:\n    type: string\n    default: ams3\n";
    test.each<[string, Record<string, string>, string]>([
        [
            "the prod stack's region",
            { "Pulumi.yaml": projectFile, "Pulumi.prod.yaml": "config:\n  income-fortress:region: fra1\n" },
            "fra1",
        ],
        [
            "the project default when prod does not set it",
            { "Pulumi.yaml": projectFile, "Pulumi.prod.yaml": "config:\n  income-fortress:hostname: api\n" },
            "ams3",
        ],
        ["the project default when there is no prod stack file", { "Pulumi.yaml": projectFile }, "ams3"],
        ["nyc3 when neither file says", {}, "nyc3"],
        ["nyc3 when the stack file is not YAML", { "Pulumi.prod.yaml": "config: [unclosed" }, "nyc3"],
    ])("%s", (_, files, expected) => {
        const dir = project(files);
        try {
            expect(prodRegionFromProject(dir)).toBe(expected);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("helpers", () => {
    test.each([
        ["22", 22, true],
        ["20-30", 22, true],
        ["1-65535", 22, true],
        ["all", 22, true],
        [undefined, 22, true],
        ["23-80", 22, false],
        ["443", 22, false],
        ["80", 80, true],
        ["2222", 22, false],
    ] as const)("portRangeIncludes(%s, %s) is %s", (range, port, expected) => {
        expect(portRangeIncludes(range, port)).toBe(expected);
    });

    test.each([
        ["0.0.0.0/0", true],
        ["::/0", true],
        ["10.1.2.3/0", true],
        ["0.0.0.0/1", false],
        ["203.0.113.0/24", false],
        ["2001:db8::/48", false],
        ["0.0.0.0", false],
        ["not-a-cidr/0", false],
    ] as const)("isWorldCidr(%s) is %s", (cidr, expected) => {
        expect(isWorldCidr(cidr)).toBe(expected);
    });

    test.each([
        ["urn:pulumi:prod::income-fortress::digitalocean:index/droplet:Droplet::host", "prod"],
        [
            "urn:pulumi:drill-20250101T000000Z::income-fortress::income-fortress:host:Host$digitalocean:index/droplet:Droplet::h",
            "drill-20250101T000000Z",
        ],
        ["not a urn", undefined],
    ] as const)("stackFromUrn(%s)", (u, expected) => {
        expect(stackFromUrn(u)).toBe(expected);
    });
});

describe(POLICY_NAMES.sshFromAnywhere, () => {
    const rule = (r: Props) => ({ inboundRules: [r] });
    test.each<[string, Props]>([
        [
            "SSH from admin CIDRs",
            rule({ protocol: "tcp", portRange: "22", sourceAddresses: ["203.0.113.0/24", "2001:db8::/48"] }),
        ],
        ["HTTPS from anywhere", rule({ protocol: "tcp", portRange: "443", sourceAddresses: ["0.0.0.0/0", "::/0"] })],
        [
            "a deny rule from anywhere",
            rule({ protocol: "tcp", portRange: "22", sourceAddresses: ["0.0.0.0/0"], action: "deny" }),
        ],
        ["udp 22 from anywhere (not SSH)", rule({ protocol: "udp", portRange: "22", sourceAddresses: ["0.0.0.0/0"] })],
        ["icmp from anywhere", rule({ protocol: "icmp", sourceAddresses: ["0.0.0.0/0", "::/0"] })],
        ["SSH from a droplet tag", rule({ protocol: "tcp", portRange: "22", sourceTags: ["bastion"] })],
        ["no inbound rules", {}],
        [
            "sources unknown during preview",
            preview(rule({ protocol: "tcp", portRange: "22", sourceAddresses: proxy.unknownArrayValue })),
        ],
    ])("passes: %s", (_, props) => {
        expect(checkFirewallSsh(props)).toEqual([]);
    });

    test.each<[string, Props, string]>([
        ["22 to 0.0.0.0/0", rule({ protocol: "tcp", portRange: "22", sourceAddresses: ["0.0.0.0/0"] }), "0.0.0.0/0"],
        ["22 to ::/0", rule({ protocol: "tcp", portRange: "22", sourceAddresses: ["2001:db8::/48", "::/0"] }), "::/0"],
        [
            "a range covering 22",
            rule({ protocol: "tcp", portRange: "1-1024", sourceAddresses: ["0.0.0.0/0"] }),
            "1-1024",
        ],
        ["all tcp ports", rule({ protocol: "tcp", portRange: "1-65535", sourceAddresses: ["::/0"] }), "includes SSH"],
        [
            "TCP spelled in capitals",
            rule({ protocol: "TCP", portRange: "22", sourceAddresses: ["0.0.0.0/0"] }),
            "0.0.0.0/0",
        ],
        [
            "behind the preview proxy",
            preview(rule({ protocol: "tcp", portRange: "22", sourceAddresses: ["0.0.0.0/0"] })),
            "0.0.0.0/0",
        ],
    ])("fails: %s", (_, props, fragment) => {
        const problems = checkFirewallSsh(props);
        expect(problems).toHaveLength(1);
        expect(problems[0]).toContain(fragment);
        expect(problems[0]).toContain("adminCidrs");
    });
});

describe(POLICY_NAMES.databaseFirewalls, () => {
    const cluster = (name: string, extra: Props = {}): StackResource => ({
        type: TYPES.databaseCluster,
        urn: urn("prod", TYPES.databaseCluster, name),
        name,
        props: { engine: name.includes("valkey") ? "valkey" : "pg", ...extra },
    });
    const firewall = (name: string, props: Props, dependsOn: string[] = []): StackResource => ({
        type: TYPES.databaseFirewall,
        urn: urn("prod", TYPES.databaseFirewall, name),
        name,
        props,
        propertyDependencies: { clusterId: dependsOn },
    });
    const pg = cluster("pg", { id: "pg-id" });
    const valkey = cluster("valkey", { id: "valkey-id" });
    const tagRule = [{ type: "tag", value: "income-fortress-prod" }];

    test.each<[string, StackResource[]]>([
        [
            "both clusters matched by property dependency",
            [
                pg,
                valkey,
                firewall("pg-fw", { rules: tagRule }, [pg.urn]),
                firewall("valkey-fw", { rules: tagRule }, [valkey.urn]),
            ],
        ],
        [
            "matched by clusterId value (mock ids)",
            [
                pg,
                valkey,
                firewall("a", { clusterId: "pg-id", rules: tagRule }),
                firewall("b", { clusterId: "valkey-id", rules: tagRule }),
            ],
        ],
        [
            "matched by the uuid in clusterUrn",
            [
                cluster("pg", { clusterUrn: "do:dbaas:4f1c-uuid" }),
                firewall("a", { clusterId: "4f1c-uuid", rules: [{ type: "ip_addr", value: "10.10.0.0/16" }] }),
            ],
        ],
        [
            "clusterId unknown during preview, matched by dependency",
            [pg, firewall("a", preview({ clusterId: proxy.unknownStringValue, rules: tagRule }), [pg.urn])],
        ],
        ["rules unknown during preview", [pg, firewall("a", preview({ rules: proxy.unknownArrayValue }), [pg.urn])]],
        ["no clusters at all", [firewall("stray", { clusterId: "elsewhere", rules: tagRule })]],
    ])("passes: %s", (_, resources) => {
        expect(checkDatabaseFirewalls(resources)).toEqual([]);
    });

    test.each<[string, StackResource[], string[]]>([
        ["no firewall for either cluster", [pg, valkey], [pg.urn, valkey.urn]],
        ["valkey has none", [pg, valkey, firewall("pg-fw", { rules: tagRule }, [pg.urn])], [valkey.urn]],
        [
            "a firewall pointing at another cluster",
            [pg, firewall("x", { clusterId: "other-id", rules: tagRule }, ["urn:pulumi:prod::p::t::other"])],
            [pg.urn],
        ],
        [
            "an empty rule set",
            [pg, firewall("pg-fw", { rules: [] }, [pg.urn])],
            [urn("prod", TYPES.databaseFirewall, "pg-fw")],
        ],
        [
            "a rule trusting 0.0.0.0/0",
            [pg, firewall("pg-fw", { rules: [...tagRule, { type: "ip_addr", value: "0.0.0.0/0" }] }, [pg.urn])],
            [urn("prod", TYPES.databaseFirewall, "pg-fw")],
        ],
    ])("fails: %s", (_, resources, offenders) => {
        const violations = checkDatabaseFirewalls(resources);
        expect(violations.map((v) => v.urn).sort()).toEqual([...offenders].sort());
        for (const v of violations) expect(v.message.length).toBeGreaterThan(20);
    });

    test("the message names the engine and how to fix it", () => {
        const [v] = checkDatabaseFirewalls([valkey]);
        expect(v.message).toContain("valkey");
        expect(v.message).toContain("DatabaseFirewall");
    });
});

describe(POLICY_NAMES.spacesBuckets, () => {
    const good: Props = {
        acl: "private",
        versioning: { enabled: true },
        lifecycleRules: [
            {
                enabled: true,
                prefix: "postgresql/",
                expiration: { days: 7 },
                noncurrentVersionExpiration: { days: 7 },
                abortIncompleteMultipartUploadDays: 1,
            },
        ],
    };
    test.each<[string, Props]>([
        ["private, versioned, expiring", good],
        ["acl unset (provider default private)", { ...good, acl: undefined }],
        [
            "expiry and noncurrent expiry in separate rules",
            {
                ...good,
                lifecycleRules: [
                    { enabled: true, expiration: { date: "2030-01-01" } },
                    { enabled: true, noncurrentVersionExpiration: { days: 3 } },
                ],
            },
        ],
        ["lifecycle unknown during preview", preview({ ...good, lifecycleRules: proxy.unknownArrayValue })],
    ])("passes: %s", (_, props) => {
        expect(checkSpacesBucket(props)).toEqual([]);
    });

    test.each<[string, Props, string[]]>([
        ["public-read", { ...good, acl: "public-read" }, ["acl"]],
        ["versioning off", { ...good, versioning: { enabled: false } }, ["versioning"]],
        ["versioning unset", { ...good, versioning: undefined }, ["versioning"]],
        ["no lifecycle rules", { ...good, lifecycleRules: undefined }, ["expires objects", "noncurrent"]],
        [
            "expiry rule disabled",
            { ...good, lifecycleRules: [{ ...good.lifecycleRules[0], enabled: false }] },
            ["expires objects", "noncurrent"],
        ],
        [
            "no noncurrent expiry",
            { ...good, lifecycleRules: [{ enabled: true, expiration: { days: 7 } }] },
            ["noncurrent"],
        ],
        [
            "expiration of 0 days",
            {
                ...good,
                lifecycleRules: [{ enabled: true, expiration: { days: 0 }, noncurrentVersionExpiration: { days: 7 } }],
            },
            ["expires objects"],
        ],
        ["public and unversioned", { acl: "public-read", lifecycleRules: good.lifecycleRules }, ["acl", "versioning"]],
    ])("fails: %s", (_, props, fragments) => {
        const problems = checkSpacesBucket(props);
        expect(problems).toHaveLength(fragments.length);
        fragments.forEach((f, i) => {
            expect(problems[i]).toContain(f);
        });
    });

    const policyDoc = (statement: unknown) => ({
        policy: JSON.stringify({ Version: "2012-10-17", Statement: statement }),
    });
    test.each<[string, Props, number]>([
        [
            "scoped to a key",
            policyDoc([{ Effect: "Allow", Principal: { AWS: ["arn:aws:iam::123:user/x"] }, Action: "s3:GetObject" }]),
            0,
        ],
        ["deny to everyone", policyDoc([{ Effect: "Deny", Principal: "*", Action: "s3:*" }]), 0],
        ["allow to everyone", policyDoc([{ Effect: "Allow", Principal: "*", Action: "s3:GetObject" }]), 1],
        ["allow to AWS *", policyDoc({ Effect: "Allow", Principal: { AWS: "*" }, Action: "s3:GetObject" }), 1],
        ["not JSON", { policy: "{nope" }, 1],
    ])("bucket policy: %s", (_, props, count) => {
        expect(checkSpacesBucketPolicy(props)).toHaveLength(count);
    });
});

describe(POLICY_NAMES.prodDropletBackups, () => {
    test.each<[string, Props, string]>([
        ["prod with backups", { backups: true }, "prod"],
        ["dr without backups", { backups: false }, "dr"],
        ["drill without backups", {}, "drill-20250101T000000Z"],
        ["prod with backups unknown during preview", preview({ backups: proxy.unknownStringValue }), "prod"],
        ["production-like name that is not prod", { backups: false }, "prod-copy"],
    ])("passes: %s", (_, props, stack) => {
        expect(checkDropletBackups(props, stack)).toEqual([]);
    });

    test.each<[string, Props, string, string | undefined]>([
        ["prod with backups off", { backups: false }, "prod", undefined],
        ["prod with backups unset", {}, "prod", undefined],
        ["a custom production pattern", { backups: false }, "production", "^prod(uction)?$"],
    ])("fails: %s", (_, props, stack, pattern) => {
        const problems = checkDropletBackups(props, stack, pattern);
        expect(problems).toHaveLength(1);
        expect(problems[0]).toContain("dropletBackups");
        expect(problems[0]).toContain(stack);
    });

    test("a broken stack pattern is a clear error", () => {
        expect(() => checkDropletBackups({}, "prod", "(")).toThrow(/prodStackPattern.*not a regular expression/);
    });
});

describe(POLICY_NAMES.drRegion, () => {
    test.each<[string, string, Props, string]>([
        ["dr droplet in sfo3", TYPES.droplet, { region: "sfo3" }, "dr"],
        ["drill cluster in sfo3", TYPES.databaseCluster, { region: "sfo3" }, "drill-20250101T000000Z"],
        ["prod droplet in nyc3 (prod may)", TYPES.droplet, { region: "nyc3" }, "prod"],
        ["dr resource without a region", TYPES.dnsRecord, { name: "api-dr" }, "dr"],
        ["a non-DigitalOcean type with a region field", "random:index/randomPet:RandomPet", { region: "nyc3" }, "dr"],
        ["a stack named like dr but not dr", TYPES.droplet, { region: "nyc3" }, "dry-run"],
    ])("passes: %s", (_, type, props, stack) => {
        expect(checkRegionSeparation(type, props, stack)).toEqual([]);
    });

    test.each<[string, string, Props, string, { prodRegion?: string; drStackPattern?: string }]>([
        ["dr droplet in nyc3", TYPES.droplet, { region: "nyc3" }, "dr", {}],
        ["drill bucket in nyc3", TYPES.spacesBucket, { region: "nyc3" }, "drill-20250101T000000Z", {}],
        ["dr VPC in NYC3 (case)", "digitalocean:index/vpc:Vpc", { region: "NYC3" }, "dr", {}],
        ["prod region from config", TYPES.databaseCluster, { region: "fra1" }, "dr", { prodRegion: "fra1" }],
        ["custom DR pattern", TYPES.droplet, { region: "nyc3" }, "standby", { drStackPattern: "^standby$" }],
    ])("fails: %s", (_, type, props, stack, opts) => {
        const problems = checkRegionSeparation(type, props, stack, opts);
        expect(problems).toHaveLength(1);
        expect(problems[0]).toContain("prod region");
    });
});

describe(POLICY_NAMES.commandSecretPatterns, () => {
    test.each<[string, string]>([
        ["the .env written from stdin", "sudo install -m 600 -o root /dev/stdin /etc/income-fortress/app.env"],
        [
            "a URL built from variables",
            'psql "postgres://${DB_USER}:${DB_PASSWORD}@${DB_HOST}:25060/app?sslmode=require" -c "select 1"',
        ],
        ["an assignment from a variable", 'PGPASSWORD="$DB_PASSWORD" psql -h db -U app -c "select 1"'],
        ["an assignment from a command", "export API_TOKEN=$(cat /run/secrets/token)"],
        ["a password file reference", "PGPASSFILE=/root/.pgpass PASSWORD_FILE=/run/pw psql"],
        ["docker login with --password-stdin", "docker login registry.digitalocean.com -u x --password-stdin"],
        ["a health check", "curl -fsS --retry 30 https://api.incomefortress.com/health"],
        ["cloud-init wait", "cloud-init status --wait || [ $? -eq 2 ]"],
        ["a git URL with a port-like path", "git clone https://github.com/AlbertoDBP/Agentic.git /opt/app"],
        ["an image digest", "docker pull postgres:17@sha256:0123456789abcdef"],
    ])("passes: %s", (_, text) => {
        expect(findSecretPatterns(text)).toEqual([]);
        expect(checkCommandText({ create: text, update: text, delete: text })).toEqual([]);
    });

    test.each<[string, string, string]>([
        [
            "a postgres URL with a password",
            "pg_dump postgres://doadmin:AVNS_s3cr3tP4ss@db.ondigitalocean.com:25060/app",
            "URL with a password",
        ],
        [
            "a valkey URL with an empty user",
            "redis-cli -u rediss://:hunter2hunter2@cache:25061 ping",
            "URL with a password",
        ],
        ["PASSWORD= literal", "PGPASSWORD=hunter2 psql -h db", "secret assignment"],
        [
            "export of a secret key",
            "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",
            "secret assignment",
        ],
        ["a lowercase libpq password", "psql 'host=db user=app password=hunter2hunter2'", "secret assignment"],
        ["a --password flag", "mysql --password=hunter2 -e 'select 1'", "password or token flag"],
        ["an AWS key id", "aws configure set aws_access_key_id AKIAIOSFODNN7EXAMPLE", "AWS-style"],
        ["a DO token", `doctl auth init -t dop_v1_${"a1".repeat(32)}`, "DigitalOcean API token"],
        ["a Spaces key id", "rclone config create s3 s3 access_key_id DO00ABCDEFGHIJKLMNOP", "Spaces access key"],
        ["a private key", "echo '-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl...' > ~/.ssh/id", "private key block"],
        ["an age identity", "echo AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ > id.txt", "age identity"],
        ["a Slack webhook", "curl -X POST https://hooks.slack.com/services/T000/B000/XXXX -d '{}'", "Slack webhook"],
    ])("fails: %s", (_, text, name) => {
        const found = findSecretPatterns(text);
        expect(found.some((f) => f.includes(name))).toBe(true);
        const problems = checkCommandText({ create: "true", delete: text });
        expect(problems.length).toBeGreaterThan(0);
        expect(problems[0]).toMatch(/^delete contains/);
        expect(problems[0]).toContain("stdin");
    });

    test("the message never repeats the secret", () => {
        const problems = checkCommandText({ create: "PGPASSWORD=hunter2hunter2 psql" });
        expect(problems.join(" ")).not.toContain("hunter2");
    });

    test("command text unknown during preview is skipped, not failed", () => {
        expect(checkCommandText(preview({ create: proxy.unknownStringValue }))).toEqual([]);
    });
});

describe(POLICY_NAMES.commandSecretValues, () => {
    const res = (type: string, name: string, props: Props): StackResource => ({
        type,
        name,
        urn: urn("prod", type, name),
        props,
    });
    const secretsInStack = [
        res(TYPES.databaseCluster, "pg", {
            password: "AVNS_clusterAdminPw1",
            uri: "postgresql://doadmin:AVNS_clusterAdminPw1@h:25060/db",
            host: "pg.db.ondigitalocean.com",
        }),
        res(TYPES.databaseUser, "app", { password: "AppUserPassw0rd" }),
        res(TYPES.spacesKey, "key", { accessKey: "DO-not-secret-id", secretKey: "SpacesSecretKeyValue123" }),
        res(TYPES.randomPassword, "django", { result: "djangoSecretKeyValue!" }),
        res(TYPES.droplet, "host", { ipv4Address: "203.0.113.10" }),
    ];
    const cmd = (create: string, type: string = TYPES.remoteCommand) =>
        res(type, "cmd", { create, stdin: "DB_PASSWORD=AppUserPassw0rd\n" });

    test.each<[string, StackResource[]]>([
        ["secrets only on stdin", [...secretsInStack, cmd("sudo install -m 600 /dev/stdin /etc/app.env")]],
        [
            "the droplet IP and DB host in the text (not secrets)",
            [...secretsInStack, cmd("ssh 203.0.113.10 pg_isready -h pg.db.ondigitalocean.com")],
        ],
        ["short values are ignored", [res(TYPES.databaseUser, "u", { password: "abc" }), cmd("echo abc")]],
        [
            "command text unknown during preview",
            [...secretsInStack, res(TYPES.remoteCommand, "cmd", preview({ create: proxy.unknownStringValue }))],
        ],
        [
            "secret unknown during preview",
            [res(TYPES.databaseUser, "u", preview({ password: proxy.unknownStringValue })), cmd("echo hello")],
        ],
    ])("passes: %s", (_, resources) => {
        expect(checkCommandSecretValues(resources)).toEqual([]);
    });

    test.each<[string, StackResource[], string]>([
        [
            "the app user's password",
            [...secretsInStack, cmd("psql -c \"alter user app password 'AppUserPassw0rd'\"")],
            "app.password",
        ],
        [
            "the Spaces secret key",
            [...secretsInStack, cmd("rclone --s3-secret-access-key SpacesSecretKeyValue123 ls x:")],
            "key.secretKey",
        ],
        [
            "the cluster URI",
            [...secretsInStack, cmd("pg_dump 'postgresql://doadmin:AVNS_clusterAdminPw1@h:25060/db'")],
            "pg.",
        ],
        [
            "a generated password in a local command",
            [...secretsInStack, cmd("echo djangoSecretKeyValue! > x", TYPES.localCommand)],
            "django.result",
        ],
    ])("fails: %s", (_, resources, from) => {
        const violations = checkCommandSecretValues(resources);
        expect(violations.length).toBeGreaterThan(0);
        for (const v of violations) expect(v.urn).toMatch(/::cmd$/);
        expect(violations.map((v) => v.message).join(" ")).toContain(from);
        for (const v of violations)
            expect(v.message).not.toMatch(
                /AppUserPassw0rd|SpacesSecretKeyValue123|AVNS_clusterAdminPw1|djangoSecretKeyValue/,
            );
    });
});

describe("advisory policies", () => {
    test.each<[string, Props, string | undefined, number]>([
        ["the plan's size", { size: "s-4vcpu-8gb" }, undefined, 0],
        ["a smaller size", { size: "s-2vcpu-4gb" }, undefined, 1],
        ["a size the config expects", { size: "s-8vcpu-16gb" }, "s-8vcpu-16gb", 0],
        ["size unknown during preview", preview({ size: proxy.unknownStringValue }), undefined, 0],
    ])(`${POLICY_NAMES.dropletSize}: %s`, (_, props, expected, count) => {
        expect(checkDropletSize(props, expected)).toHaveLength(count);
    });

    test.each<[string, Props, number | undefined, number]>([
        ["60 s", { ttl: 60 }, undefined, 0],
        ["300 s", { ttl: 300 }, undefined, 0],
        ["301 s", { ttl: 301 }, undefined, 1],
        ["3600 s", { ttl: 3600 }, undefined, 1],
        ["unset (DigitalOcean uses 1800 s)", {}, undefined, 1],
        ["600 s with max 900", { ttl: 600 }, 900, 0],
        ["unknown during preview", preview({ ttl: proxy.unknownStringValue }), undefined, 0],
    ])(`${POLICY_NAMES.dnsTtl}: %s`, (_, props, max, count) => {
        expect(checkDnsTtl(props, max)).toHaveLength(count);
    });
});
