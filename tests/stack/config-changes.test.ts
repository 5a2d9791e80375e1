// Layer 2: what changing each config key does to a live stack, derived from the program.
// Each row renders prod and dr under mocks before and after one change and classifies
// every resource that differs (tests/stack/config-changes.ts, with the providers' facts in
// components/provider-facts.ts). The test fails when docs/config-changes.md differs from
// what it derives, when a key has no row, when a change would reach an input the provider
// drops, or when the set-once guard (config/set-once.ts) and the derivation disagree: a
// change that replaces or deletes a stateful resource must be refused, and only such a change.
//
// WRITE_CONFIG_CHANGES=1 npx vitest run tests/stack/config-changes.test.ts rewrites the table.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { CONFIG_KEYS, SCHEMA_KEYS, parseConfig } from "../../config";
import { previousRecord, setOnceChanges } from "../../config/set-once";
import { diffRuns, outcome, type Outcome, type ResourceChange } from "./config-changes";
import { ORGANIZATION, PROJECT, ROOT, T, loadStackConfig, resolve, runProgram, type ProgramRun } from "./harness";

type Stack = "prod" | "dr";
const STACKS: readonly Stack[] = ["prod", "dr"];
type Edit = Record<string, string>;

interface Row {
    key: string;
    /** The change, as the doc shows it. */
    change: string;
    /** Config set before the change (default: the stack file as it is); per stack where one value cannot suit both. */
    from?: Edit | Record<Stack, Edit>;
    /** The change; per stack where one value cannot suit both. */
    to: Edit | Record<Stack, Edit>;
    /** Why the set-once guard refuses this change on a stack where no resource of its own is lost. */
    alsoRefused?: Partial<Record<Stack, string>>;
}

const SLACK = "https://hooks.slack.com/services/T0FORTRESS/B0ALERTS/mockSlackWebhookToken42";
const TOKEN = `dop_v1_${"0a1b2c3d4e5f6a7b".repeat(4)}`;
const SOURCE = "fortress-db-pg-abc1234";

/** One row per key (more for keys whose first value and later changes differ). */
const ROWS: Row[] = [
    {
        key: "role",
        change: "primary ↔ dr",
        to: {
            prod: { role: "dr", primaryRegion: "sfo3", primaryStack: "prod-b", vaultRegion: "ams3" },
            dr: { role: "primary", primaryRegion: "", vaultRegion: "ams3", publicHostname: "", drOffsiteBucket: "" },
        },
        alsoRefused: { dr: "a dr stack's vaultBucket names the primary's vault, which it would take over" },
    },
    { key: "region", change: "ams3", to: { region: "ams3" } },
    {
        key: "primaryRegion",
        change: "prod: nyc3 (its own region); dr: ams3",
        to: { prod: { primaryRegion: "nyc3" }, dr: { primaryRegion: "ams3" } },
    },
    { key: "vaultRegion", change: "ams3", to: { vaultRegion: "ams3" } },
    { key: "vaultBucket", change: "another name", to: { vaultBucket: "incomefortress-vault-b" } },
    { key: "backupBucket", change: "another name", to: { backupBucket: "incomefortress-backups-b" } },
    { key: "primaryStack", change: "prod-b", to: { primaryStack: "prod-b" } },
    { key: "drOffsiteRegion", change: "tor1", to: { drOffsiteRegion: "tor1" } },
    { key: "drOffsiteBucket", change: "another name", to: { drOffsiteBucket: "incomefortress-dr-offsite-b" } },
    { key: "backupRetentionDays", change: "14", to: { backupRetentionDays: "14" } },
    { key: "noncurrentVersionDays", change: "14", to: { noncurrentVersionDays: "14" } },
    { key: "backupSchedule", change: "*-*-* *:30:00", to: { backupSchedule: "*-*-* *:30:00" } },
    { key: "verifySchedule", change: "Sat *-*-* 08:00:00", to: { verifySchedule: "Sat *-*-* 08:00:00" } },
    { key: "ageRecipients", change: "[] (stop encrypting)", to: { ageRecipients: "[]" } },
    { key: "protect", change: "prod: false; dr: true", to: { prod: { protect: "false" }, dr: { protect: "true" } } },
    { key: "domain", change: "incomefortress.net", to: { domain: "incomefortress.net" } },
    {
        key: "hostname",
        change: "prod: api2; dr: api-dr2",
        to: { prod: { hostname: "api2" }, dr: { hostname: "api-dr2" } },
    },
    { key: "dnsTtl", change: "120", to: { dnsTtl: "120" } },
    { key: "adminCidrs", change: "one CIDR fewer", to: { adminCidrs: '["203.0.113.0/24","198.51.100.17/32"]' } },
    { key: "allowSshFromAnywhere", change: "true", to: { allowSshFromAnywhere: "true" } },
    { key: "isolate", change: "true", to: { isolate: "true" } },
    { key: "vpcIpRange", change: "10.120.0.0/20 (from DigitalOcean's choice)", to: { vpcIpRange: "10.120.0.0/20" } },
    { key: "dropletSize", change: "s-8vcpu-16gb", to: { dropletSize: "s-8vcpu-16gb" } },
    { key: "dropletImage", change: "ubuntu-22-04-x64", to: { dropletImage: "ubuntu-22-04-x64" } },
    {
        key: "dropletBackups",
        change: "prod: false; dr: true",
        to: { prod: { dropletBackups: "false" }, dr: { dropletBackups: "true" } },
    },
    {
        key: "sshKeyFingerprints",
        change: "one key fewer",
        to: { sshKeyFingerprints: '["88:8e:c5:eb:a4:9a:d2:1c:c4:ab:8d:43:f2:83:8e:a9"]' },
    },
    {
        key: "deployerPublicKeys",
        change: "one key fewer",
        to: {
            deployerPublicKeys:
                '["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID2gVhTbVzvr8WlcYotifbpmdXFMTZhILeHFLMv/IyRL ops@incomefortress.com"]',
        },
    },
    { key: "postgresVersion", change: "16", to: { postgresVersion: "16" } },
    { key: "dbSize", change: "db-s-4vcpu-8gb", to: { dbSize: "db-s-4vcpu-8gb" } },
    { key: "dbNodeCount", change: "3", to: { dbNodeCount: "3" } },
    { key: "dbMaintenanceDay", change: "saturday", to: { dbMaintenanceDay: "saturday" } },
    { key: "dbMaintenanceHour", change: "03:00", to: { dbMaintenanceHour: "03:00" } },
    { key: "dbName", change: "income_platform_b", to: { dbName: "income_platform_b" } },
    { key: "dbUser", change: "income_app", to: { dbUser: "income_app" } },
    { key: "valkeySize", change: "db-s-2vcpu-4gb", to: { valkeySize: "db-s-2vcpu-4gb" } },
    {
        key: "appRepoUrl",
        change: "another repository",
        to: { appRepoUrl: "https://github.com/AlbertoDBP/Agentic-fork.git" },
    },
    { key: "appRef", change: "v1.0.1", to: { appRef: "v1.0.1" } },
    { key: "appDir", change: "/opt/income-fortress/app2", to: { appDir: "/opt/income-fortress/app2" } },
    { key: "appComposeSubdir", change: ".", to: { appComposeSubdir: "." } },
    { key: "credentialsEpoch", change: "2", to: { credentialsEpoch: "2" } },
    { key: "projectEnvironment", change: "Staging", to: { projectEnvironment: "Staging" } },
    {
        key: "restoreMode",
        change: "prod: required; dr: if-empty",
        to: { prod: { restoreMode: "required" }, dr: { restoreMode: "if-empty" } },
    },
    {
        key: "restoreBackup",
        change: "before:2026-02-03T10:00:00Z",
        to: { restoreBackup: "before:2026-02-03T10:00:00Z" },
    },
    {
        key: "migrateCommand",
        change: "another command",
        to: { migrateCommand: "docker compose run --rm api python manage.py migrate --noinput" },
    },
    { key: "healthUrl", change: "http://localhost:8000/healthz", to: { healthUrl: "http://localhost:8000/healthz" } },
    { key: "healthTimeoutSeconds", change: "900", to: { healthTimeoutSeconds: "900" } },
    { key: "bootTimeoutMinutes", change: "60", to: { bootTimeoutMinutes: "60" } },
    {
        key: "ageIdentity",
        change: "set",
        to: { ageIdentity: "AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQS7V2R3Y" },
    },
    { key: "appEnv", change: "one more entry", to: { appEnv: '{"MARKET_DATA_KEY":"mock-market-data-key"}' } },
    { key: "pitrSourceCluster", change: "set (the first fork)", to: { pitrSourceCluster: SOURCE } },
    {
        key: "pitrSourceCluster",
        change: "unset while a fork is the database",
        from: { pitrSourceCluster: SOURCE },
        to: { pitrSourceCluster: "" },
    },
    {
        key: "pitrBackupTime",
        change: "another time while a fork is the database",
        from: { pitrSourceCluster: SOURCE, pitrBackupTime: "2026-02-03T10:00:00Z" },
        to: { pitrBackupTime: "2026-02-03T09:00:00Z" },
    },
    { key: "standby", change: "warm", to: { standby: "warm" } },
    {
        key: "failover",
        change: "true on a warm standby (the failover)",
        from: { prod: {}, dr: { standby: "warm" } },
        to: { failover: "true" },
    },
    {
        key: "failover",
        change: "back to false after a failover",
        from: { prod: {}, dr: { standby: "warm", failover: "true" } },
        to: { failover: "false" },
    },
    { key: "activeSite", change: "dr (the cutover)", to: { activeSite: "dr" } },
    { key: "drStack", change: "dr-b", to: { drStack: "dr-b" } },
    { key: "tlsEmail", change: "another address", to: { tlsEmail: "security@incomefortress.com" } },
    {
        key: "tlsChallenge",
        change: "prod: dns-01 (with a token); dr: http-01",
        to: {
            prod: { tlsChallenge: "dns-01", tlsDnsToken: TOKEN },
            dr: { tlsChallenge: "http-01", tlsDnsToken: "", publicHostname: "" },
        },
    },
    { key: "tlsDnsToken", change: "a new token", to: { tlsDnsToken: `dop_v1_${"9f8e7d6c5b4a3f2e".repeat(4)}` } },
    { key: "publicHostname", change: "api2", to: { publicHostname: "api2" } },
    { key: "tlsProxyService", change: "proxy", to: { tlsProxyService: "proxy" } },
    { key: "monitoring", change: "false", to: { monitoring: "false" } },
    { key: "alertEmails", change: "another list", to: { alertEmails: '["pager@incomefortress.com"]' } },
    {
        key: "alertSlackWebhookUrl",
        change: "set, with alertSlackChannel",
        to: { alertSlackWebhookUrl: SLACK, alertSlackChannel: "#ops-alerts" },
    },
    {
        key: "alertSlackChannel",
        change: "another channel",
        from: { alertSlackWebhookUrl: SLACK, alertSlackChannel: "#ops" },
        to: { alertSlackChannel: "#ops-alerts" },
    },
    { key: "alertCpuPercent", change: "70", to: { alertCpuPercent: "70" } },
    { key: "alertMemoryPercent", change: "90", to: { alertMemoryPercent: "90" } },
    { key: "alertDiskPercent", change: "70", to: { alertDiskPercent: "70" } },
    { key: "alertWindow", change: "30m", to: { alertWindow: "30m" } },
    { key: "healthPath", change: "/healthz", to: { healthPath: "/healthz" } },
    {
        key: "backupHeartbeatUrl",
        change: "set",
        to: { backupHeartbeatUrl: "https://hc-ping.com/0f3c1d52-5b8e-4d7a-9c51-2f6a0b7e9d41" },
    },
    {
        key: "contacts",
        change: "another person",
        to: { contacts: '{"technicalLead":{"name":"Jo Doe","email":"jo@incomefortress.com"}}' },
    },
    { key: "allowReplace", change: "[region]", to: { allowReplace: '["region"]' } },
];

/** A live stack's droplet and reserved IP, as its previous outputs name them (the mock's). */
const LIVE_DROPLET = { dropletId: "424242", publicIp: "192.0.2.200" };

/** The other stack's outputs: the DR stack's for a primary that points its record at it, the primary's cluster for a warm standby. */
const DR_SITE = {
    databaseClusterId: "9cc10173-e9ea-4176-9dbc-a4cee4c4ff30",
    publicIp: "198.51.100.77",
    certificateNames: ["api-dr.incomefortress.com", "api.incomefortress.com"],
};

async function render(stack: Stack, edit: Edit): Promise<{ run: ProgramRun; raw: Record<string, string> }> {
    const config = loadStackConfig(stack);
    for (const [k, v] of Object.entries(edit)) config[`${PROJECT}:${k}`] = v;
    const self = `${ORGANIZATION}/${PROJECT}/${stack}`;
    const run = await runProgram(stack, config, {
        // The stack's own previous outputs: no set-once record, so the set-once guard lets
        // every change through here (it is checked against the derivation below); the droplet
        // the mock makes is the live one, the one isolate takes the evidence of.
        outputs: (type, _name, inputs) =>
            type === T.stackReference
                ? { outputs: inputs.name === self ? LIVE_DROPLET : DR_SITE, secretOutputNames: [] }
                : undefined,
    });
    return { run, raw: Object.fromEntries(Object.entries(config).map(([k, v]) => [k.slice(PROJECT.length + 1), v])) };
}

interface Derived {
    outcome: Outcome;
    changes: ResourceChange[];
    /** The set-once guard's verdict with the before-run's record as the previous outputs. */
    refusedKeys: string[];
}

const perStack = (e: Edit | Record<Stack, Edit> | undefined, stack: Stack): Edit =>
    e === undefined ? {} : "prod" in e && "dr" in e ? (e as Record<Stack, Edit>)[stack] : (e as Edit);

const edits = (row: Row, stack: Stack): { from: Edit; to: Edit } => ({
    from: perStack(row.from, stack),
    to: { ...perStack(row.from, stack), ...perStack(row.to, stack) },
});

const problemKeys = (message: string) => [...message.matchAll(/^ {2}- income-fortress:(\w+):/gm)].map((m) => m[1]);

const derived = new Map<string, Derived>();
const rowId = (row: Row, stack: Stack) => `${row.key}|${row.change}|${stack}`;

beforeAll(async () => {
    const baselines = new Map<string, { run: ProgramRun; record: unknown }>();
    for (const stack of STACKS) {
        for (const row of ROWS) {
            const { from, to } = edits(row, stack);
            const baseKey = `${stack}|${JSON.stringify(from)}`;
            if (!baselines.has(baseKey)) {
                const { run } = await render(stack, from);
                if (run.error) throw new Error(`baseline ${baseKey}: ${run.error.message}`);
                baselines.set(baseKey, { run, record: await resolve(run.outputs!.setOnce as pulumi.Output<unknown>) });
            }
            const before = baselines.get(baseKey)!;
            const { run: after, raw } = await render(stack, to);
            if (after.error) {
                const keys = problemKeys(after.error.message);
                expect(keys.length, `${rowId(row, stack)}: ${after.error.message}`).toBeGreaterThan(0);
                derived.set(rowId(row, stack), {
                    outcome: { category: "invalid", text: `rejected by config validation (${keys.join(", ")})` },
                    changes: [],
                    refusedKeys: [],
                });
                continue;
            }
            const parsed = parseConfig(raw, stack);
            if (!parsed.ok) throw new Error(`${rowId(row, stack)} ran but does not parse`);
            const changes = diffRuns(before.run, after);
            const refusedKeys = setOnceChanges(
                previousRecord({ setOnce: before.record }, parsed.config.role),
                parsed.config,
            ).map((c) => c.key);
            derived.set(rowId(row, stack), { outcome: outcome(changes), changes, refusedKeys });
        }
    }
}, 600_000);

/** The generated table of docs/config-changes.md. */
function table(): string {
    const cell = (row: Row, stack: Stack) => {
        const d = derived.get(rowId(row, stack))!;
        const why = row.alsoRefused?.[stack];
        const refused = d.refusedKeys.includes(row.key)
            ? `**refused** unless allowReplace lists ${row.key}${why ? ` (${why})` : ""}; it `
            : "";
        return `${refused}${d.outcome.text}`.replace(/\|/g, "\\|");
    };
    const lines = ["| Key | Change | prod (primary, protected) | dr |", "|---|---|---|---|"];
    for (const row of ROWS)
        lines.push(
            `| \`${row.key}\` | ${row.change.replace(/\|/g, "\\|")} | ${cell(row, "prod")} | ${cell(row, "dr")} |`,
        );
    return lines.join("\n");
}

const DOC = join(ROOT, "docs", "config-changes.md");
const BEGIN =
    "<!-- generated by tests/stack/config-changes.test.ts: WRITE_CONFIG_CHANGES=1 npx vitest run tests/stack/config-changes.test.ts -->";
const END = "<!-- end of generated table -->";

describe("what changing each config key does to a live stack", () => {
    it("has a row for every config key, and only for keys the program reads", () => {
        const rowKeys = new Set(ROWS.map((r) => r.key));
        for (const k of CONFIG_KEYS) expect(rowKeys.has(k.name), `${k.name} has no row`).toBe(true);
        for (const k of rowKeys) expect(SCHEMA_KEYS as readonly string[], k).toContain(k);
    });

    it.each(ROWS.flatMap((row) => STACKS.map((stack) => [rowId(row, stack), row, stack] as const)))(
        "%s: no change reaches an input the provider would drop",
        (id) => {
            const ignored = derived
                .get(id)!
                .changes.filter((c) => c.ignored.length > 0)
                .map((c) => `${c.name}: ${c.ignored.join(", ")}`);
            expect(ignored).toEqual([]);
        },
    );

    it.each(ROWS.flatMap((row) => STACKS.map((stack) => [rowId(row, stack), row, stack] as const)))(
        "%s: the set-once guard refuses it exactly when it replaces or deletes a stateful resource",
        (id, row, stack) => {
            const d = derived.get(id)!;
            if (d.outcome.category === "invalid") return;
            const lost = d.changes
                .filter((c) => c.stateful && (c.effect === "replace" || c.effect === "delete"))
                .map((c) => `${c.effect} ${c.name}`);
            if (lost.length > 0 || row.alsoRefused?.[stack])
                expect(d.refusedKeys, `${lost.join(", ")}`).toEqual([row.key]);
            else expect(d.refusedKeys, "refused, but nothing stateful is lost").toEqual([]);
        },
    );

    it("docs/config-changes.md holds the table derived here", () => {
        const doc = readFileSync(DOC, "utf8");
        const start = doc.indexOf(BEGIN);
        const end = doc.indexOf(END);
        const expected = table();
        if (process.env.WRITE_CONFIG_CHANGES === "1" && start >= 0 && end > start) {
            writeFileSync(DOC, `${doc.slice(0, start + BEGIN.length)}\n${expected}\n${doc.slice(end)}`);
            return;
        }
        expect(start, `docs/config-changes.md has no line ${BEGIN}`).toBeGreaterThanOrEqual(0);
        expect(
            doc.slice(start + BEGIN.length, end).trim(),
            "run WRITE_CONFIG_CHANGES=1 npx vitest run tests/stack/config-changes.test.ts",
        ).toBe(expected);
    });
});
