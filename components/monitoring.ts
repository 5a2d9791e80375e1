import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import { parseSlackWebhookUrl, problemAt } from "../config/rules";
import {
    DEFAULT_DOWN_PERIOD,
    DEFAULT_LATENCY_MS,
    DEFAULT_SSL_EXPIRY_DAYS,
    DEFAULT_THRESHOLDS,
    DEFAULT_WINDOW,
    DROPLET_METRIC_TYPES,
    UPTIME_REGIONS,
    backupStatusAlertSpec,
    healthAlertSpecs,
    validateMonitoringRules,
    type MonitorWindow,
    type MonitoringThresholds,
    type UptimeAlertSpec,
    type UptimePeriod,
    type UptimeRegion,
} from "./monitoring-rules";

/** A Slack channel that receives alerts through an incoming webhook. */
export interface MonitoringSlackTarget {
    /**
     * The incoming-webhook URL, `https://hooks.slack.com/services/…`. Anyone holding it
     * can post to the channel, so pass it as a secret (`config.requireSecret`); the
     * component keeps it secret in state either way.
     */
    webhookUrl: pulumi.Input<string>;
    /** The channel the webhook posts to, e.g. `#ops-alerts`. Lower case, no spaces. */
    channel: string;
}

/** Who is told when an alert fires. At least one target is required. */
export interface MonitoringNotifications {
    /**
     * E-mail addresses. DigitalOcean only delivers to addresses verified on the team
     * that owns the droplet, so use team members' addresses (or a verified alias).
     */
    emails?: string[];
    /** A Slack channel. */
    slack?: MonitoringSlackTarget;
}

/**
 * Arguments for {@link Monitoring}. Plain values (URLs, thresholds, targets) are checked
 * when the component is constructed, and every problem is reported at once.
 */
export interface MonitoringArgs {
    /** The environment name (`prod`, `dr`, `drill-…`). It labels every check and alert. */
    environment: string;
    /**
     * Droplet ids the CPU, memory and disk alerts watch. Either this or
     * {@link dropletTags} (or both) must be set.
     */
    dropletIds?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * Droplet tags the CPU, memory and disk alerts watch. A replacement droplet that
     * carries the tag is covered without any change to the alerts. Passing the Tag
     * resource's `name` output also orders the alerts after the tag exists.
     */
    dropletTags?: pulumi.Input<string>[];
    /**
     * The public health URL DigitalOcean's uptime probes fetch, e.g.
     * `https://api.incomefortress.com/health`. Must be https; an alert also fires
     * before its certificate expires.
     */
    healthUrl: string;
    /**
     * Optional: a URL that answers 2xx while the last good backup is fresh and an error
     * once it is stale (for example one the host serves from `fortress-status`). When
     * set, a second uptime check alerts when it fails. Leave unset when the stale-backup
     * alert is a heartbeat (dead-man's switch) service instead.
     */
    backupStatusUrl?: string;
    /** Percent thresholds for the droplet alerts, 1 to 100. Defaults: the config keys alertCpuPercent, alertMemoryPercent and alertDiskPercent. */
    thresholds?: MonitoringThresholds;
    /** How long a droplet metric must stay above its threshold: `5m`, `10m`, `30m` or `1h`. Default: the config key alertWindow's. */
    window?: MonitorWindow;
    /** How long the health URL must fail from every probe region before the alert fires. Default `2m`. */
    downPeriod?: UptimePeriod;
    /** Response time, in milliseconds, above which the latency alert fires (100–60000). Default 3000. */
    latencyMs?: number;
    /** Days before certificate expiry at which the TLS alert fires (1–90). Default 14. */
    sslExpiryDays?: number;
    /** Probe regions (`us_east`, `us_west`, `eu_west`, `se_asia`). Default: all of them, named explicitly. */
    uptimeRegions?: UptimeRegion[];
    /** Who is told. At least one e-mail address or a Slack channel. */
    notifications: MonitoringNotifications;
}

/**
 * Monitoring for one environment: a DigitalOcean uptime check on the public health URL
 * with down, latency and certificate alerts; droplet CPU, memory and disk alerts; and,
 * optionally, an uptime check that turns a stale backup into an alert.
 */
export class Monitoring extends pulumi.ComponentResource {
    /** The uptime check on the health URL. */
    public readonly uptimeCheck: digitalocean.UptimeCheck;
    /** Alerts on the health check: down everywhere, slow, certificate expiring. */
    public readonly uptimeAlerts: digitalocean.UptimeAlert[];
    /** The droplet metric alerts. */
    public readonly dropletAlerts: {
        cpu: digitalocean.MonitorAlert;
        memory: digitalocean.MonitorAlert;
        disk: digitalocean.MonitorAlert;
    };
    /** The uptime check on `backupStatusUrl`, when it is set. */
    public readonly backupStatusCheck?: digitalocean.UptimeCheck;
    /** The alert on `backupStatusUrl`, when it is set. */
    public readonly backupStatusAlert?: digitalocean.UptimeAlert;

    constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
        // Validate before super(): a bad argument must not leave a half-registered component.
        const slack = args.notifications.slack;
        const plainSlackUrl = typeof slack?.webhookUrl === "string" ? slack.webhookUrl : undefined;
        const dropletIdsIsOutput = args.dropletIds !== undefined && !Array.isArray(args.dropletIds);
        const problems = validateMonitoringRules({
            healthUrl: args.healthUrl,
            backupStatusUrl: args.backupStatusUrl,
            thresholds: args.thresholds,
            window: args.window,
            downPeriod: args.downPeriod,
            latencyMs: args.latencyMs,
            sslExpiryDays: args.sslExpiryDays,
            uptimeRegions: args.uptimeRegions,
            emails: args.notifications.emails,
            hasSlack: slack !== undefined,
            slackWebhookUrl: plainSlackUrl,
            slackChannel: slack?.channel,
            dropletIds: Array.isArray(args.dropletIds) ? args.dropletIds : undefined,
            dropletIdsIsOutput,
            dropletTags: args.dropletTags,
        });
        if (problems.length > 0) {
            throw new Error(
                `Monitoring ${JSON.stringify(name)} has invalid arguments:\n  - ${problems.join("\n  - ")}`,
            );
        }
        super("income-fortress:monitoring:Monitoring", name, {}, opts);

        // Defaults, resolved once.
        const env = args.environment;
        const thresholds = { ...DEFAULT_THRESHOLDS, ...args.thresholds };
        const window = args.window ?? DEFAULT_WINDOW;
        const downPeriod = args.downPeriod ?? DEFAULT_DOWN_PERIOD;
        const latencyMs = args.latencyMs ?? DEFAULT_LATENCY_MS;
        const sslExpiryDays = args.sslExpiryDays ?? DEFAULT_SSL_EXPIRY_DAYS;
        const emails =
            args.notifications.emails && args.notifications.emails.length > 0 ? args.notifications.emails : undefined;

        // The webhook URL is a credential. A secret Output cannot be checked until it
        // resolves, so it is checked then; the message never repeats the URL.
        const slackUrl =
            slack === undefined
                ? undefined
                : pulumi.secret(
                      pulumi.output(slack.webhookUrl).apply((url) => {
                          const problem = problemAt("notifications.slack.webhookUrl", parseSlackWebhookUrl(url));
                          if (problem) throw new Error(`Monitoring ${JSON.stringify(name)}: ${problem}`);
                          return url;
                      }),
                  );
        const slacks = slack && slackUrl ? [{ channel: slack.channel, url: slackUrl }] : undefined;
        // Outputs that echo the webhook URL stay encrypted in state whatever the provider marks.
        const uptimeAlertOpts = { parent: this, ...(slacks ? { additionalSecretOutputs: ["notifications"] } : {}) };
        const monitorAlertOpts = { parent: this, ...(slacks ? { additionalSecretOutputs: ["alerts"] } : {}) };
        const notifications = [{ emails, slacks }];

        const regions = [...(args.uptimeRegions ?? UPTIME_REGIONS)];
        const alert = (spec: UptimeAlertSpec, checkId: pulumi.Input<string>) =>
            new digitalocean.UptimeAlert(
                `${name}-${spec.role}`,
                {
                    name: spec.name,
                    checkId,
                    type: spec.type,
                    period: spec.period,
                    ...(spec.threshold !== undefined ? { threshold: spec.threshold, comparison: spec.comparison } : {}),
                    notifications,
                },
                uptimeAlertOpts,
            );

        this.uptimeCheck = new digitalocean.UptimeCheck(
            `${name}-health`,
            { name: `income-fortress-${env}-health`, target: args.healthUrl, type: "https", regions, enabled: true },
            { parent: this },
        );
        this.uptimeAlerts = healthAlertSpecs({ environment: env, downPeriod, latencyMs, sslExpiryDays }).map((spec) =>
            alert(spec, this.uptimeCheck.id),
        );

        const alerts = { emails, slacks };
        const metricAlert = (
            role: "cpu" | "memory" | "disk",
            label: string,
            value: number,
        ): digitalocean.MonitorAlert =>
            new digitalocean.MonitorAlert(
                `${name}-${role}`,
                {
                    description: `income-fortress ${env}: ${label} above ${value}% for ${window}`,
                    type: DROPLET_METRIC_TYPES[role],
                    compare: "GreaterThan",
                    value,
                    window,
                    entities: args.dropletIds,
                    tags: args.dropletTags,
                    enabled: true,
                    alerts,
                },
                monitorAlertOpts,
            );
        this.dropletAlerts = {
            cpu: metricAlert("cpu", "CPU", thresholds.cpuPercent),
            memory: metricAlert("memory", "memory", thresholds.memoryPercent),
            disk: metricAlert("disk", "disk", thresholds.diskPercent),
        };

        if (args.backupStatusUrl !== undefined) {
            this.backupStatusCheck = new digitalocean.UptimeCheck(
                `${name}-backup-status`,
                {
                    name: `income-fortress-${env}-backup-status`,
                    target: args.backupStatusUrl,
                    type: "https",
                    regions,
                    enabled: true,
                },
                { parent: this },
            );
            this.backupStatusAlert = alert(backupStatusAlertSpec(env), this.backupStatusCheck.id);
        }

        this.registerOutputs({
            uptimeCheckId: this.uptimeCheck.id,
            uptimeAlertIds: this.uptimeAlerts.map((a) => a.id),
            dropletAlertIds: [this.dropletAlerts.cpu.id, this.dropletAlerts.memory.id, this.dropletAlerts.disk.id],
            backupStatusCheckId: this.backupStatusCheck?.id,
        });
    }
}
