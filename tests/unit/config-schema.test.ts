// Layer 1: the zod schema as a whole (config/schema.ts): defaults, derived values,
// cross-key rules, and that every problem is reported at once with key, value and fix.
import { describe, expect, it } from "vitest";
import { DEPLOYER_KEY, DR, PRIMARY, parsedOk, parsedProblems } from "../support/config-fixtures";
import { type ConfigProblem, formatProblems, withDefaults } from "../../config";

const ok = parsedOk;
const problems = parsedProblems;

const keysOf = (ps: ConfigProblem[]) => ps.map((p) => p.key).sort();

describe("a valid primary config", () => {
    const c = ok(PRIMARY);

    it("takes the documented defaults for keys the stack leaves out", () => {
        expect(c.region).toBe("nyc3");
        expect(c.host).toMatchObject({ size: "s-4vcpu-8gb", image: "ubuntu-24-04-x64", backups: false });
        expect(c.database).toMatchObject({
            version: "17",
            nodeCount: 1,
            maintenanceWindow: { day: "sunday", hour: "08:00" },
        });
        expect(c.dns.ttl).toBe(60);
        expect(c.storage.retentionDays).toBe(7);
        expect(c.network.isolate).toBe(false);
        expect(c.credentialsEpoch).toBe(1);
    });

    it("derives names, the primary region and the object prefixes", () => {
        expect(c.primaryRegion).toBe("nyc3");
        expect(c.storage).toMatchObject({
            backupBucket: "income-fortress-prod-backups",
            vaultBucket: "income-fortress-prod-vault",
            vaultRegion: "sfo3",
            ownsVault: true,
            backupPrefix: "postgresql/prod",
            restorePrefix: "postgresql/prod",
        });
        expect(c.dns.fqdn).toBe("api.incomefortress.com");
    });

    it("normalises bare admin addresses to CIDRs", () => {
        expect(ok({ ...PRIMARY, adminCidrs: '["198.51.100.17","2001:db8::1"]' }).network.adminCidrs).toEqual([
            "198.51.100.17/32",
            "2001:db8::1/128",
        ]);
    });

    it("stack values override defaults", () => {
        const o = ok({ ...PRIMARY, dropletSize: "s-8vcpu-16gb", postgresVersion: "16", isolate: "true", dnsTtl: "30" });
        expect(o.host.size).toBe("s-8vcpu-16gb");
        expect(o.database.version).toBe("16");
        expect(o.network.isolate).toBe(true);
        expect(o.dns.ttl).toBe(30);
    });

    it("withDefaults fills every declared key and keeps stack values", () => {
        const merged = withDefaults({ region: "fra1" });
        expect(merged.region).toBe("fra1");
        expect(merged.dropletSize).toBe("s-4vcpu-8gb");
        expect(merged.ageRecipients).toBe("[]");
        expect(merged.domain).toBeUndefined();
    });
});

describe("the parsed shape is the platform's arguments", () => {
    const c = ok(PRIMARY);

    it("under the names the components take", () => {
        expect(c.environment).toBe("prod");
        expect(c.projectEnvironment).toBe("Production");
        expect(c.host.sshKeyFingerprints).toEqual(["88:8e:c5:eb:a4:9a:d2:1c:c4:ab:8d:43:f2:83:8e:a9"]);
        expect(c.host.deployerPublicKeys).toEqual([DEPLOYER_KEY]);
        expect(c.backup).toEqual({
            schedule: "hourly",
            // Derived: the day before the default window (sunday 08:00), 30 minutes after the hourly backup.
            verifySchedule: "Sat *-*-* 08:30:00",
            ageRecipients: [],
            heartbeatUrl: "",
        });
        expect(c.app).toEqual({
            repoUrl: "https://github.com/AlbertoDBP/Agentic.git",
            ref: "v1.0.0",
            dir: "/opt/income-fortress/app",
            composeSubdir: "income-platform",
        });
        expect(c.cutover).toEqual({ activeSite: "primary", drStack: "dr" });
        expect(c.pitr).toBeUndefined();
    });

    it("derives the verify schedule from the maintenance window and the backup schedule, unless verifySchedule is set", () => {
        const derived = (edit: Record<string, string>) => ok({ ...PRIMARY, ...edit }).backup.verifySchedule;
        expect(derived({ dbMaintenanceDay: "monday", dbMaintenanceHour: "02:00" })).toBe("Sun *-*-* 02:30:00");
        expect(derived({ dbMaintenanceDay: "monday", dbMaintenanceHour: "02:00", backupSchedule: "*:45" })).toBe(
            "Sun *-*-* 02:15:00",
        );
        expect(derived({ verifySchedule: "Wed *-*-* 12:00:00" })).toBe("Wed *-*-* 12:00:00");
    });

    it("builds the public health URL once, from the record and healthPath", () => {
        expect(c.monitoring).toMatchObject({
            enabled: true,
            healthPath: "/health",
            healthUrl: "https://api.incomefortress.com/health",
        });
        expect(ok({ ...PRIMARY, hostname: "status", healthPath: "/healthz?full=1" }).monitoring.healthUrl).toBe(
            "https://status.incomefortress.com/healthz?full=1",
        );
    });

    it("resolves the point-in-time fork only when a cluster is named", () => {
        expect(
            ok({ ...PRIMARY, pitrSourceCluster: "fortress-db-pg-abc1234", pitrBackupTime: "2026-02-03T11:00:00+01:00" })
                .pitr,
        ).toEqual({ sourceCluster: "fortress-db-pg-abc1234", backupTime: "2026-02-03T10:00:00Z" });
        expect(ok({ ...PRIMARY, pitrSourceCluster: "fortress-db-pg-abc1234" }).pitr).toEqual({
            sourceCluster: "fortress-db-pg-abc1234",
        });
    });
});

describe("values the renderer would refuse are config problems, keyed to the key", () => {
    it.each<[string, Record<string, string>, RegExp]>([
        [
            "appDir",
            { appDir: "/etc/income-platform" },
            /^"\/etc\/income-platform" is inside the system directory \/etc;/,
        ],
        ["appDir", { appDir: "/opt" }, /is a top-level directory/],
        ["backupSchedule", { backupSchedule: " hourly" }, /has leading or trailing spaces; remove them/],
        ["verifySchedule", { verifySchedule: "0 8 * * 0" }, /looks like a cron expression/],
        ["backupBucket", { backupBucket: "incomefortress.backups" }, /no dots/],
        ["appRef", { appRef: "release/.hidden" }, /git check-ref-format refuses it/],
        ["appRepoUrl", { appRepoUrl: "git@github.com/x/y.git" }, /is not a git URL the host can clone/],
        [
            "tlsEmail",
            { tlsEmail: "o'ps@incomefortress.com" },
            /is not an e-mail address; use one that receives certificate expiry notices/,
        ],
    ])("%s %j", (key, edit, message) => {
        const ps = problems({ ...PRIMARY, ...edit });
        expect(keysOf(ps)).toEqual([`income-fortress:${key}`]);
        expect(ps[0].message).toMatch(message);
    });

    it("takes a schedule in a time zone whose name has an underscore or a plus", () => {
        expect(
            ok({
                ...PRIMARY,
                backupSchedule: "*-*-* 02:00:00 America/Port_of_Spain",
                verifySchedule: "Sun *-*-* 08:00:00 Etc/GMT+5",
            }).backup.schedule,
        ).toBe("*-*-* 02:00:00 America/Port_of_Spain");
    });

    it("checks each alert address with the e-mail rule, and each once", () => {
        const [p] = problems({
            ...PRIMARY,
            alertEmails: '["oncall@incomefortress.com","pagerduty","oncall@incomefortress.com"]',
        });
        expect(p.key).toBe("income-fortress:alertEmails");
        expect(p.message).toBe(
            'item 1: "pagerduty" is not an e-mail address; use one that receives the alerts (DigitalOcean mails only addresses verified on the team), such as ops@incomefortress.com; "oncall@incomefortress.com" is listed twice; list each address once',
        );
    });
});

describe("a valid dr config", () => {
    const c = ok(DR, "dr");
    it("reads the primary's vault and restores the primary stack's prefix", () => {
        expect(c.role).toBe("dr");
        expect(c.primaryRegion).toBe("nyc3");
        expect(c.storage).toMatchObject({
            ownsVault: false,
            vaultBucket: "incomefortress-backups-vault",
            backupBucket: "income-fortress-dr-backups",
            backupPrefix: "postgresql/dr",
            restorePrefix: "postgresql/prod",
        });
    });
});

describe("problems", () => {
    it("reports every problem at once, each naming the full key", () => {
        const ps = problems({
            ...PRIMARY,
            region: "nyc4",
            dnsTtl: "10",
            postgresVersion: "12",
            adminCidrs: '["0.0.0.0/0"]',
            dbMaintenanceDay: "funday",
        });
        expect(keysOf(ps)).toEqual(
            ["adminCidrs", "dbMaintenanceDay", "dnsTtl", "postgresVersion", "region"].map(
                (k) => `income-fortress:${k}`,
            ),
        );
    });

    it("quotes the bad value and says what is allowed", () => {
        const [p] = problems({ ...PRIMARY, vaultRegion: "nyc1" });
        expect(p.key).toBe("income-fortress:vaultRegion");
        expect(p.message).toContain('"nyc1"');
        expect(p.message).toContain("sfo3");
    });

    it("runs a cross-key rule even when unrelated keys are bad", () => {
        const ps = problems({ ...PRIMARY, dnsTtl: "5", adminCidrs: '["::/0"]' });
        expect(keysOf(ps)).toEqual(["income-fortress:adminCidrs", "income-fortress:dnsTtl"]);
        expect(ps.find((p) => p.key.endsWith("adminCidrs"))!.message).toMatch(
            /"::\/0" opens SSH.*allowSshFromAnywhere true/,
        );
    });

    it("skips a cross-key rule whose own keys are already bad, so one mistake gives one message", () => {
        // Both regions are retired; comparing them would add a bogus "same region" problem.
        const ps = problems({ ...DR, region: "nyc2", primaryRegion: "nyc2" }, "dr");
        expect(keysOf(ps)).toEqual(["income-fortress:primaryRegion", "income-fortress:region"]);
        expect(ps.every((p) => /retired/.test(p.message))).toBe(true);
        // A list that failed to parse never reaches the SSH rule as a raw string.
        const [cidr] = problems({ ...PRIMARY, adminCidrs: '["::/0","office"]' });
        expect(cidr.message).toMatch(/^item 1: "office"/);
    });

    it("accepts SSH from anywhere only with the explicit opt-in", () => {
        expect(problems({ ...PRIMARY, adminCidrs: '["0.0.0.0/0","::/0"]' })[0].message).toMatch(
            /"0\.0\.0\.0\/0", "::\/0" opens SSH/,
        );
        expect(
            ok({ ...PRIMARY, adminCidrs: '["0.0.0.0/0"]', allowSshFromAnywhere: "true" }).network.adminCidrs,
        ).toEqual(["0.0.0.0/0"]);
    });

    it("reports a bad item of a list with its position", () => {
        const [p] = problems({ ...PRIMARY, adminCidrs: '["203.0.113.0/24","203.0.113.0/33"]' });
        expect(p.message).toMatch(/^item 1: "203\.0\.113\.0\/33" has prefix \/33/);
    });

    it("names missing required keys and the command that sets them", () => {
        const { domain: _d, adminCidrs: _a, ...rest } = PRIMARY;
        const ps = problems(rest);
        expect(keysOf(ps)).toEqual(["income-fortress:adminCidrs", "income-fortress:domain"]);
        expect(ps.find((p) => p.key.endsWith("domain"))!.message).toMatch(
            /is not set;.*pulumi config set domain incomefortress\.com/,
        );
        expect(ps.find((p) => p.key.endsWith("adminCidrs"))!.message).toContain(
            `pulumi config set adminCidrs '["203.0.113.0/24"]'`,
        );
    });

    it("flags an unknown key and suggests the closest real one", () => {
        const [p] = problems({ ...PRIMARY, adminCidr: '["203.0.113.0/24"]' });
        expect(p.key).toBe("income-fortress:adminCidr");
        expect(p.message).toMatch(/not a config key.*did you mean adminCidrs\?/);
    });

    it("rejects a dr stack in the primary region, and one without a primary region", () => {
        expect(problems({ ...DR, region: "nyc3", vaultRegion: "sfo3" }, "dr")[0]).toMatchObject({
            key: "income-fortress:region",
            message: expect.stringMatching(/"nyc3" is the primary region too.*different region/),
        });
        expect(problems({ ...DR, primaryRegion: "" }, "dr")[0]).toMatchObject({ key: "income-fortress:primaryRegion" });
    });

    it("keeps the vault out of the primary region, for both roles", () => {
        expect(problems({ ...PRIMARY, vaultRegion: "nyc3" })[0].message).toMatch(/survives losing nyc3/);
        expect(problems({ ...DR, vaultRegion: "nyc3" }, "dr")[0].key).toBe("income-fortress:vaultRegion");
    });

    it("makes a dr stack name the vault it reads, and not restore from itself", () => {
        expect(problems({ ...DR, vaultBucket: "" }, "dr")[0].key).toBe("income-fortress:vaultBucket");
        expect(problems({ ...DR, primaryStack: "dr" }, "dr")[0].key).toBe("income-fortress:primaryStack");
    });

    it("rejects a primaryRegion that contradicts a primary stack's region", () => {
        expect(problems({ ...PRIMARY, primaryRegion: "sfo3" })[0].key).toBe("income-fortress:primaryRegion");
        expect(ok({ ...PRIMARY, primaryRegion: "nyc3" }).primaryRegion).toBe("nyc3");
    });

    it("refuses the same bucket for backups and vault", () => {
        expect(problems({ ...PRIMARY, backupBucket: "shared", vaultBucket: "shared" })[0].message).toMatch(
            /also the backup bucket/,
        );
    });

    it("keeps drill stacks off public records and destroyable", () => {
        const drill = { ...DR, hostname: "api-dr" };
        const ps = problems({ ...drill, protect: "true" }, "drill-20260203");
        expect(keysOf(ps)).toEqual(["income-fortress:hostname", "income-fortress:protect"]);
        expect(ok({ ...drill, hostname: "drill-20260203" }, "drill-20260203").dns.fqdn).toBe(
            "drill-20260203.incomefortress.com",
        );
    });

    it("rejects a stack name that cannot be used in resource names", () => {
        expect(problems(PRIMARY, "Prod_1")[0]).toMatchObject({
            key: "stack",
            message: expect.stringContaining('"Prod_1"'),
        });
    });
});

describe("formatProblems", () => {
    it("prints one line per problem under a header that says nothing changed", () => {
        const text = formatProblems("dr", [
            { key: "income-fortress:region", message: '"x" is bad' },
            { key: "income-fortress:dnsTtl", message: "10 is out of range" },
        ]);
        const lines = text.split("\n");
        expect(lines[0]).toBe('Invalid configuration for stack "dr" (2 problems); nothing was created or changed:');
        expect(lines.slice(1, 3)).toEqual([
            '  - income-fortress:region: "x" is bad',
            "  - income-fortress:dnsTtl: 10 is out of range",
        ]);
        expect(lines[3]).toMatch(/Pulumi\.dr\.yaml/);
    });
});

describe("allowReplace", () => {
    it.each<[string, Record<string, string>, string[]]>([
        ["absent: none", {}, []],
        ["empty", { allowReplace: "[]" }, []],
        ["set-once keys", { allowReplace: '["region","dbName"]' }, ["region", "dbName"]],
    ])("%s", (_what, edit, expected) => {
        expect(ok({ ...PRIMARY, ...edit }).allowReplace).toEqual(expected);
    });

    it.each([
        ['["dbSize"]', /item 0: "dbSize" is not a key whose change is refused; allowReplace takes: role, region, /],
        ["region", /"region" is not a list/],
    ])("%s is refused", (value, message) => {
        const ps = problems({ ...PRIMARY, allowReplace: value });
        expect(keysOf(ps)).toEqual(["income-fortress:allowReplace"]);
        expect(ps[0].message).toMatch(message);
    });
});
