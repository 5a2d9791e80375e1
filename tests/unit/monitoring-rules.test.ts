// The Monitoring component's pure validators, table-driven: values that pass, values
// that fail, and that a failure names the field and what to use instead.
import { describe, expect, test } from "vitest";
import {
    BACKUP_STATUS_PERIOD,
    LATENCY_PERIOD,
    SSL_EXPIRY_PERIOD,
    backupStatusAlertSpec,
    checkEmail,
    checkOneOf,
    checkPercent,
    checkProbeUrl,
    checkSlackChannel,
    checkSlackWebhookUrl,
    checkWholeNumber,
    healthAlertSpecs,
    MONITOR_WINDOWS,
    UPTIME_PERIODS,
    UPTIME_REGIONS,
    validateMonitoringRules,
    type MonitoringRuleInput,
    type UptimeAlertSpec,
} from "../../components/monitoring-rules";

describe("checkPercent", () => {
    test.each([1, 50, 80, 99.5, 100])("accepts %s", (v) => expect(checkPercent("t", v)).toBeUndefined());
    test.each<[unknown]>([[0], [-5], [100.1], [150], [Number.NaN], [Number.POSITIVE_INFINITY], ["80"], [undefined]])("rejects %s", (v) => {
        expect(checkPercent("thresholds.cpuPercent", v)).toMatch(/^thresholds\.cpuPercent is .*; use a number from 1 to 100/);
    });
});

describe("checkWholeNumber", () => {
    test.each([100, 3000, 60000])("accepts %s ms", (v) => expect(checkWholeNumber("latencyMs", v, 100, 60000, "milliseconds")).toBeUndefined());
    test.each<[unknown]>([[99], [60001], [1500.5], ["3000"]])("rejects %s", (v) => {
        expect(checkWholeNumber("latencyMs", v, 100, 60000, "milliseconds")).toContain("whole number of milliseconds from 100 to 60000");
    });
});

describe("checkOneOf", () => {
    test.each(MONITOR_WINDOWS.map((w) => [w]))("window %s is allowed", (w) => expect(checkOneOf("window", w, MONITOR_WINDOWS)).toBeUndefined());
    test.each(UPTIME_PERIODS.map((p) => [p]))("period %s is allowed", (p) => expect(checkOneOf("downPeriod", p, UPTIME_PERIODS)).toBeUndefined());
    // The camel-cased spellings from the SDK's doc comments are what the API rejects.
    test.each([["usEast"], ["US_EAST"], ["nyc3"], [""]])("region %s is rejected and the allowed ones listed", (r) => {
        const problem = checkOneOf("uptimeRegions[0]", r, UPTIME_REGIONS);
        expect(problem).toContain("us_east, us_west, eu_west, se_asia");
    });
    test("window 2m is rejected (only uptime alerts have it)", () => {
        expect(checkOneOf("window", "2m", MONITOR_WINDOWS)).toContain("use one of: 5m, 10m, 30m, 1h");
    });
});

describe("checkEmail", () => {
    test.each([["ops@incomefortress.com"], ["on-call+dr@ops.example.co.uk"], ["a@b.io"]])("accepts %s", (e) => expect(checkEmail("e", e)).toBeUndefined());
    test.each<[unknown]>([["ops"], ["ops@"], ["@example.com"], ["ops@example"], ["ops @example.com"], ["ops@exa_mple.com"], ["a,b@example.com"], [42]])("rejects %s", (e) => {
        expect(checkEmail("notifications.emails[0]", e)).toMatch(/^notifications\.emails\[0\] is .*; use an e-mail address/);
    });
});

describe("checkSlackWebhookUrl", () => {
    test("accepts an incoming-webhook URL", () => {
        expect(checkSlackWebhookUrl("w", "https://hooks.slack.com/services/T000/B000/XXXX")).toBeUndefined();
    });
    test.each<[string, unknown, string]>([
        ["plain http", "http://hooks.slack.com/services/T000/B000/XXXX", "uses http, not https"],
        ["another host", "https://hooks.example.com/services/T000/B000/XXXX", "not hooks.slack.com"],
        ["a look-alike host", "https://hooks.slack.com.evil.example/services/T/B/X", "not hooks.slack.com"],
        ["no path", "https://hooks.slack.com/", "no webhook path"],
        ["not a URL", "hooks.slack.com/services/T/B/X", "not a URL"],
        ["not a string", 12, "https://hooks.slack.com/services/"],
    ])("rejects %s", (_, url, fragment) => {
        const problem = checkSlackWebhookUrl("notifications.slack.webhookUrl", url);
        expect(problem).toContain(fragment);
    });
    test("never repeats the webhook path (it is a credential)", () => {
        expect(checkSlackWebhookUrl("w", "http://hooks.slack.com/services/T000/B000/SECRETPART")).not.toContain("SECRETPART");
    });
});

describe("checkSlackChannel", () => {
    test.each([["#ops-alerts"], ["ops"], ["#dr.drills_2025"]])("accepts %s", (c) => expect(checkSlackChannel("c", c)).toBeUndefined());
    test.each<[unknown]>([["#Ops"], ["ops alerts"], [""], ["#"], [`#${"a".repeat(81)}`], [undefined]])("rejects %s", (c) => {
        expect(checkSlackChannel("notifications.slack.channel", c)).toContain("use a Slack channel name");
    });
});

describe("checkProbeUrl", () => {
    test.each([["https://api.incomefortress.com/health"], ["https://api-dr.incomefortress.com:8443/healthz?full=1"]])("accepts %s", (u) => {
        expect(checkProbeUrl("healthUrl", u)).toBeUndefined();
    });
    test.each<[string, unknown, string]>([
        ["http", "http://api.incomefortress.com/health", "absolute https URL"],
        ["a relative path", "/health", "not a URL"],
        ["a bare host name", "https://localhost/health", "has host"],
        ["credentials in the URL", "https://user:pw@api.incomefortress.com/health", "carries credentials"],
        ["not a string", undefined, "absolute https URL"],
    ])("rejects %s", (_, u, fragment) => {
        expect(checkProbeUrl("healthUrl", u)).toContain(fragment);
    });
    test("does not echo credentials", () => {
        expect(checkProbeUrl("healthUrl", "https://user:hunter2@api.example.com/")).not.toContain("hunter2");
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
        ["Slack only, with a plain URL", { emails: [], hasSlack: true, slackWebhookUrl: "https://hooks.slack.com/services/T/B/X", slackChannel: "#ops" }],
        ["Slack with a secret URL (checked later)", { emails: undefined, hasSlack: true, slackChannel: "ops" }],
        ["droplet ids from an Output", { dropletIds: undefined, dropletIdsIsOutput: true }],
        ["droplet tags only", { dropletIds: undefined, dropletTags: ["income-fortress-prod"] }],
        ["every optional setting", { thresholds: { cpuPercent: 90, memoryPercent: 90, diskPercent: 90 }, window: "1h", downPeriod: "3m", latencyMs: 800, sslExpiryDays: 30, uptimeRegions: ["se_asia"], backupStatusUrl: "https://api.incomefortress.com/backup-status" }],
    ])("valid: %s", (_, override) => {
        expect(validateMonitoringRules({ ...valid, ...override })).toEqual([]);
    });

    test.each<[string, Partial<MonitoringRuleInput>, string[]]>([
        ["no target at all", { emails: [] }, ["notifications has no target"]],
        ["Slack without a channel", { hasSlack: true, slackWebhookUrl: "https://hooks.slack.com/services/T/B/X" }, ["notifications.slack.channel"]],
        ["a duplicated e-mail", { emails: ["ops@incomefortress.com", "ops@incomefortress.com"] }, ["twice"]],
        ["nothing to watch", { dropletIds: [], dropletTags: [] }, ["neither dropletIds nor dropletTags"]],
        ["an invalid tag", { dropletTags: ["has space"] }, ["dropletTags[0]"]],
        ["empty uptime regions", { uptimeRegions: [] }, ["uptimeRegions is empty"]],
        ["a bad backup status URL", { backupStatusUrl: "ftp://x.example.com/status" }, ["backupStatusUrl"]],
        [
            "every problem is reported at once",
            { healthUrl: "http://x.example.com", thresholds: { cpuPercent: 0, memoryPercent: 200 }, window: "7m", latencyMs: 5, sslExpiryDays: 365, emails: ["nope"] },
            ["healthUrl", "thresholds.cpuPercent", "thresholds.memoryPercent", "window", "latencyMs", "sslExpiryDays", "notifications.emails[0]"],
        ],
    ])("invalid: %s", (_, override, fields) => {
        const problems = validateMonitoringRules({ ...valid, ...override });
        expect(problems).toHaveLength(fields.length);
        fields.forEach((f, i) => expect(problems[i]).toContain(f));
    });
});

describe("uptime alert specs", () => {
    const health = healthAlertSpecs({ environment: "prod", downPeriod: "3m", latencyMs: 1500, sslExpiryDays: 21 });

    test.each([...health, backupStatusAlertSpec("prod")].map((s) => [s.role, s] as const))("%s has a period the API accepts (it answers 500 without one)", (_role, spec) => {
        expect(UPTIME_PERIODS).toContain(spec.period);
    });

    test.each<[string, Partial<UptimeAlertSpec>]>([
        ["down", { type: "down_global", period: "3m" }],
        ["latency", { type: "latency", period: LATENCY_PERIOD, threshold: 1500, comparison: "greater_than" }],
        ["ssl-expiry", { type: "ssl_expiry", period: SSL_EXPIRY_PERIOD, threshold: 21, comparison: "less_than" }],
    ])("%s", (role, expected) => {
        expect(health.find((s) => s.role === role)).toMatchObject(expected);
    });

    test("the stale-backup alert fires when the status URL is down everywhere", () => {
        expect(backupStatusAlertSpec("dr")).toEqual({ role: "backup-stale", name: "income-fortress dr: last good backup is stale", type: "down_global", period: BACKUP_STATUS_PERIOD });
    });
});
