// Pure rules for the Monitoring component: the values DigitalOcean accepts, the
// defaults, and one validator that reports every problem with the arguments at once
// (each value checked by its rule in config/rules.ts). Table-tested in
// tests/unit/monitoring-rules.test.ts.
//
// DigitalOcean's API spells its enum values in snake_case (`down_global`, `greater_than`,
// `us_east`). The @pulumi/digitalocean doc comments show them camel-cased
// (`downGlobal`, `greaterThan`, `usEast`); that is a doc-generator artefact, and the
// API rejects those spellings. The Terraform provider docs show the real ones:
// https://github.com/digitalocean/terraform-provider-digitalocean/blob/main/docs/resources/uptime_alert.md

import { numberDefault, stringDefault } from "../config/keys";
import {
    parseEmail,
    parseOneOf,
    parsePercent,
    parseProbeUrl,
    parseSlackChannel,
    parseSlackWebhookUrl,
    parseTagName,
    parseWholeNumber,
    problemAt,
} from "../config/rules";

/** Windows a droplet MonitorAlert may average over. */
export const MONITOR_WINDOWS = ["5m", "10m", "30m", "1h"] as const;
export type MonitorWindow = (typeof MONITOR_WINDOWS)[number];

/** Periods an uptime alert condition must hold before it fires. */
export const UPTIME_PERIODS = ["2m", "3m", "5m", "10m", "15m", "30m", "1h"] as const;
export type UptimePeriod = (typeof UPTIME_PERIODS)[number];

/**
 * Regions DigitalOcean runs uptime probes from. A check always names its regions: the
 * provider's `regions` is Optional but not Computed and is read back from the API, so a
 * check created without them diffs against what the API chose on every preview (or, on
 * the API's side, probes from nowhere).
 * https://github.com/digitalocean/terraform-provider-digitalocean/blob/main/digitalocean/uptime/resource_uptime_check.go
 */
export const UPTIME_REGIONS = ["us_east", "us_west", "eu_west", "se_asia"] as const;
export type UptimeRegion = (typeof UPTIME_REGIONS)[number];

/** MonitorAlert `type` values for the three droplet metrics we alert on. */
export const DROPLET_METRIC_TYPES = {
    cpu: "v1/insights/droplet/cpu",
    memory: "v1/insights/droplet/memory_utilization_percent",
    disk: "v1/insights/droplet/disk_utilization_percent",
} as const;

/** Percent thresholds for the droplet metric alerts, 1 to 100. */
export interface MonitoringThresholds {
    /** CPU use, percent of all vCPUs, averaged over the window. Default: config alertCpuPercent's. */
    cpuPercent?: number;
    /** Memory use, percent. Default: config alertMemoryPercent's. */
    memoryPercent?: number;
    /** Root disk use, percent. Default: config alertDiskPercent's. */
    diskPercent?: number;
}

/** The config keys' defaults (config/keys.ts), for a Monitoring built without them. */
export const DEFAULT_THRESHOLDS: Readonly<Required<MonitoringThresholds>> = {
    cpuPercent: numberDefault("alertCpuPercent"),
    memoryPercent: numberDefault("alertMemoryPercent"),
    diskPercent: numberDefault("alertDiskPercent"),
};

export const DEFAULT_WINDOW = stringDefault("alertWindow") as MonitorWindow;
export const DEFAULT_DOWN_PERIOD: UptimePeriod = "2m";
export const DEFAULT_LATENCY_MS = 3000;
export const DEFAULT_SSL_EXPIRY_DAYS = 14;

// A latency spike shorter than this is noise for a single-droplet API.
export const LATENCY_PERIOD: UptimePeriod = "5m";
// A stale backup is a slow-moving fact; a few minutes of flapping should not page.
export const BACKUP_STATUS_PERIOD: UptimePeriod = "10m";
// Certificate expiry moves in days; the period only has to be one the API accepts.
export const SSL_EXPIRY_PERIOD: UptimePeriod = "10m";

/**
 * One uptime alert. `period` is required for every type, ssl_expiry included: the API
 * answers 500 to an alert without one, though the provider's schema leaves it optional.
 * https://github.com/digitalocean/openapi/blob/main/specification/resources/uptime/create_alert.yml
 */
export interface UptimeAlertSpec {
    /** The child's role in its name (`<monitoring>-<role>`). */
    role: string;
    /** Alert name shown by DigitalOcean. */
    name: string;
    /** What the alert watches. */
    type: "down" | "down_global" | "latency" | "ssl_expiry";
    /** How long the condition must hold before the alert fires. */
    period: UptimePeriod;
    /** Milliseconds (latency) or days (ssl_expiry); none for the down types. */
    threshold?: number;
    /** How the measurement is compared with the threshold. */
    comparison?: "greater_than" | "less_than";
}

/** The alerts on the health check: down everywhere, slow, certificate expiring. */
export function healthAlertSpecs(p: {
    environment: string;
    downPeriod: UptimePeriod;
    latencyMs: number;
    sslExpiryDays: number;
}): UptimeAlertSpec[] {
    const env = p.environment;
    return [
        // down_global: every probe region must fail, so one region's network trouble does not page.
        { role: "down", name: `income-fortress ${env}: health URL down`, type: "down_global", period: p.downPeriod },
        {
            role: "latency",
            name: `income-fortress ${env}: health URL slower than ${p.latencyMs} ms`,
            type: "latency",
            threshold: p.latencyMs,
            comparison: "greater_than",
            period: LATENCY_PERIOD,
        },
        {
            role: "ssl-expiry",
            name: `income-fortress ${env}: TLS certificate expires within ${p.sslExpiryDays} days`,
            type: "ssl_expiry",
            threshold: p.sslExpiryDays,
            comparison: "less_than",
            period: SSL_EXPIRY_PERIOD,
        },
    ];
}

/** The alert on the backup-status URL. */
export function backupStatusAlertSpec(environment: string): UptimeAlertSpec {
    return {
        role: "backup-stale",
        name: `income-fortress ${environment}: last good backup is stale`,
        type: "down_global",
        period: BACKUP_STATUS_PERIOD,
    };
}

/** The plain (non-secret) values the validator inspects. */
export interface MonitoringRuleInput {
    healthUrl: string;
    backupStatusUrl?: string;
    thresholds?: MonitoringThresholds;
    window?: string;
    downPeriod?: string;
    latencyMs?: number;
    sslExpiryDays?: number;
    uptimeRegions?: readonly string[];
    emails?: readonly string[];
    /** The Slack webhook URL when it is a plain string; undefined when absent or secret. */
    slackWebhookUrl?: string;
    /** True when a Slack target is configured, whether or not its URL is plain. */
    hasSlack: boolean;
    slackChannel?: string;
    /** Droplet ids when they are a plain array; undefined when they are an Output. */
    dropletIds?: readonly unknown[];
    dropletIdsIsOutput: boolean;
    /** Droplet tags; elements that are not plain strings (Outputs) are not checked. */
    dropletTags?: readonly unknown[];
}

/**
 * Every problem with the monitoring arguments, each naming the field, the bad value
 * and what is allowed. Empty when the arguments are valid.
 */
export function validateMonitoringRules(input: MonitoringRuleInput): string[] {
    const problems: (string | undefined)[] = [];
    problems.push(problemAt("healthUrl", parseProbeUrl(input.healthUrl)));
    if (input.backupStatusUrl !== undefined)
        problems.push(problemAt("backupStatusUrl", parseProbeUrl(input.backupStatusUrl)));

    const t = input.thresholds ?? {};
    for (const key of ["cpuPercent", "memoryPercent", "diskPercent"] as const) {
        if (t[key] !== undefined) problems.push(problemAt(`thresholds.${key}`, parsePercent(t[key])));
    }
    if (input.window !== undefined) problems.push(problemAt("window", parseOneOf(input.window, MONITOR_WINDOWS)));
    if (input.downPeriod !== undefined)
        problems.push(problemAt("downPeriod", parseOneOf(input.downPeriod, UPTIME_PERIODS)));
    if (input.latencyMs !== undefined)
        problems.push(problemAt("latencyMs", parseWholeNumber(input.latencyMs, 100, 60_000, "milliseconds")));
    if (input.sslExpiryDays !== undefined)
        problems.push(problemAt("sslExpiryDays", parseWholeNumber(input.sslExpiryDays, 1, 90, "days")));
    if (input.uptimeRegions !== undefined) {
        if (input.uptimeRegions.length === 0)
            problems.push(
                `uptimeRegions is empty; leave it unset for every region, or list some of: ${UPTIME_REGIONS.join(", ")}`,
            );
        problems.push(
            ...input.uptimeRegions.map((r, i) => problemAt(`uptimeRegions[${i}]`, parseOneOf(r, UPTIME_REGIONS))),
        );
    }

    const emails = input.emails ?? [];
    const receives = "the alerts (DigitalOcean mails only addresses verified on the team)";
    problems.push(...emails.map((e, i) => problemAt(`notifications.emails[${i}]`, parseEmail(e, receives))));
    const duplicates = emails.filter((e, i) => emails.indexOf(e) !== i);
    if (duplicates.length > 0)
        problems.push(`notifications.emails lists ${JSON.stringify(duplicates[0])} twice; list each address once`);
    if (input.hasSlack) {
        if (input.slackWebhookUrl !== undefined)
            problems.push(problemAt("notifications.slack.webhookUrl", parseSlackWebhookUrl(input.slackWebhookUrl)));
        problems.push(problemAt("notifications.slack.channel", parseSlackChannel(input.slackChannel ?? "")));
    }
    if (emails.length === 0 && !input.hasSlack) {
        problems.push(
            "notifications has no target, so alerts would reach nobody; set notifications.emails, notifications.slack, or both",
        );
    }

    const tags = input.dropletTags ?? [];
    tags.forEach((tag, i) => {
        if (typeof tag === "object" && tag !== null) return; // an Output, known later
        problems.push(problemAt(`dropletTags[${i}]`, parseTagName(typeof tag === "string" ? tag : "")));
    });
    const noIds = !input.dropletIdsIsOutput && (input.dropletIds === undefined || input.dropletIds.length === 0);
    if (noIds && tags.length === 0) {
        problems.push(
            "neither dropletIds nor dropletTags is set, so the CPU, memory and disk alerts would watch nothing; pass the droplet id or its tag",
        );
    }
    return problems.filter((p): p is string => p !== undefined);
}
