// The Monitoring component's pure rules, table-driven: the arguments that pass, those that
// fail, and that a failure names the field and what to use instead. Each value is checked
// by its rule in config/rules.ts (table-tested in config-rules.test.ts); this checks
// that the right rule is applied to each field, and the rules across fields.
import { describe, expect, test } from "vitest";
import { CONFIG_KEYS } from "../../config/keys";
import {
    BACKUP_STATUS_PERIOD,
    DEFAULT_THRESHOLDS,
    DEFAULT_WINDOW,
    LATENCY_PERIOD,
    SSL_EXPIRY_PERIOD,
    backupStatusAlertSpec,
    healthAlertSpecs,
    MONITOR_WINDOWS,
    UPTIME_PERIODS,
    validateMonitoringRules,
    type MonitoringRuleInput,
    type UptimeAlertSpec,
} from "../../components/monitoring-rules";

describe("defaults", () => {
    test("a Monitoring built on its own takes the config keys' defaults, which the key table alone writes", () => {
        const defaultOf = (name: string) => CONFIG_KEYS.find((k) => k.name === name)?.default;
        expect(DEFAULT_THRESHOLDS).toEqual({
            cpuPercent: defaultOf("alertCpuPercent"),
            memoryPercent: defaultOf("alertMemoryPercent"),
            diskPercent: defaultOf("alertDiskPercent"),
        });
        expect(DEFAULT_WINDOW).toBe(defaultOf("alertWindow"));
        expect(MONITOR_WINDOWS).toContain(DEFAULT_WINDOW);
    });
});

describe("validateMonitoringRules", () => {
    const valid: MonitoringRuleInput = {
        healthUrl: "https://api.incomefortress.com/health",
        emails: ["ops@incomefortress.com"],
        hasSlack: false,
        dropletIds: ["1"],
        dropletIdsIsOutput: false,
    };

    test.each<[string, Partial<MonitoringRuleInput>]>([
        ["e-mail only", {}],
        [
            "Slack only, with a plain URL",
            {
                emails: [],
                hasSlack: true,
                slackWebhookUrl: "https://hooks.slack.com/services/T/B/X",
                slackChannel: "#ops",
            },
        ],
        ["Slack with a secret URL (checked later)", { emails: undefined, hasSlack: true, slackChannel: "ops" }],
        ["droplet ids from an Output", { dropletIds: undefined, dropletIdsIsOutput: true }],
        ["droplet tags only", { dropletIds: undefined, dropletTags: ["income-fortress-prod"] }],
        [
            "every optional setting",
            {
                thresholds: { cpuPercent: 90, memoryPercent: 90, diskPercent: 90 },
                window: "1h",
                downPeriod: "3m",
                latencyMs: 800,
                sslExpiryDays: 30,
                uptimeRegions: ["se_asia"],
                backupStatusUrl: "https://api.incomefortress.com/backup-status",
            },
        ],
    ])("valid: %s", (_, override) => {
        expect(validateMonitoringRules({ ...valid, ...override })).toEqual([]);
    });

    test.each<[string, Partial<MonitoringRuleInput>, string[]]>([
        ["no target at all", { emails: [] }, ["notifications has no target"]],
        [
            "Slack without a channel",
            { hasSlack: true, slackWebhookUrl: "https://hooks.slack.com/services/T/B/X" },
            ["notifications.slack.channel"],
        ],
        ["a duplicated e-mail", { emails: ["ops@incomefortress.com", "ops@incomefortress.com"] }, ["twice"]],
        ["nothing to watch", { dropletIds: [], dropletTags: [] }, ["neither dropletIds nor dropletTags"]],
        ["an invalid tag", { dropletTags: ["has space"] }, ["dropletTags[0]"]],
        ["empty uptime regions", { uptimeRegions: [] }, ["uptimeRegions is empty"]],
        [
            "a bad backup status URL",
            { backupStatusUrl: "ftp://x.example.com/status" },
            ['backupStatusUrl is "ftp://x.example.com/status"; use an absolute https URL'],
        ],
        [
            "a plain-http health URL",
            { healthUrl: "http://api.incomefortress.com/health" },
            ['healthUrl is "http://api.incomefortress.com/health"; use an absolute https URL'],
        ],
        [
            "a threshold over 100",
            { thresholds: { cpuPercent: 150 } },
            ["thresholds.cpuPercent is 150; use a number from 1 to 100 (percent)"],
        ],
        ["a window only uptime alerts have", { window: "2m" }, ['window is "2m"; use one of: 5m, 10m, 30m, 1h']],
        ["a period the API does not take", { downPeriod: "4m" }, ['downPeriod is "4m"; use one of: 2m, 3m']],
        [
            "a latency under 100 ms",
            { latencyMs: 99 },
            ["latencyMs 99 is out of range; use an integer from 100 to 60000 (milliseconds)"],
        ],
        [
            "a fractional expiry",
            { sslExpiryDays: 14.5 },
            ["sslExpiryDays 14.5 is not a whole number; use an integer from 1 to 90 (days)"],
        ],
        [
            "a camel-cased region from the SDK's docs",
            { uptimeRegions: ["usEast"] },
            ['uptimeRegions[0] is "usEast"; use one of: us_east, us_west, eu_west, se_asia'],
        ],
        [
            "an address that is not one",
            { emails: ["pagerduty"] },
            ['notifications.emails[0] "pagerduty" is not an e-mail address; use one that receives the alerts'],
        ],
        [
            "a Slack webhook on another host",
            { hasSlack: true, slackWebhookUrl: "https://example.com/hook", slackChannel: "#ops" },
            ['notifications.slack.webhookUrl points at "example.com", not hooks.slack.com'],
        ],
        [
            "a Slack channel with a space",
            { hasSlack: true, slackChannel: "ops alerts" },
            ['notifications.slack.channel is "ops alerts"; use a Slack channel name'],
        ],
        [
            "every problem is reported at once",
            {
                healthUrl: "http://x.example.com",
                thresholds: { cpuPercent: 0, memoryPercent: 200 },
                window: "7m",
                latencyMs: 5,
                sslExpiryDays: 365,
                emails: ["nope"],
            },
            [
                "healthUrl",
                "thresholds.cpuPercent",
                "thresholds.memoryPercent",
                "window",
                "latencyMs",
                "sslExpiryDays",
                "notifications.emails[0]",
            ],
        ],
    ])("invalid: %s", (_, override, fields) => {
        const problems = validateMonitoringRules({ ...valid, ...override });
        expect(problems).toHaveLength(fields.length);
        fields.forEach((f, i) => {
            expect(problems[i]).toContain(f);
        });
    });
});

describe("uptime alert specs", () => {
    const health = healthAlertSpecs({ environment: "prod", downPeriod: "3m", latencyMs: 1500, sslExpiryDays: 21 });

    test.each([...health, backupStatusAlertSpec("prod")].map((s) => [s.role, s] as const))(
        "%s has a period the API accepts (it answers 500 without one)",
        (_role, spec) => {
            expect(UPTIME_PERIODS).toContain(spec.period);
        },
    );

    test.each<[string, Partial<UptimeAlertSpec>]>([
        ["down", { type: "down_global", period: "3m" }],
        ["latency", { type: "latency", period: LATENCY_PERIOD, threshold: 1500, comparison: "greater_than" }],
        ["ssl-expiry", { type: "ssl_expiry", period: SSL_EXPIRY_PERIOD, threshold: 21, comparison: "less_than" }],
    ])("%s", (role, expected) => {
        expect(health.find((s) => s.role === role)).toMatchObject(expected);
    });

    test("the stale-backup alert fires when the status URL is down everywhere", () => {
        expect(backupStatusAlertSpec("dr")).toEqual({
            role: "backup-stale",
            name: "income-fortress dr: last good backup is stale",
            type: "down_global",
            period: BACKUP_STATUS_PERIOD,
        });
    });
});
