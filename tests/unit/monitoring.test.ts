// The Monitoring component alone, under pulumi.runtime.setMocks: which resources it
// registers, their thresholds and alert targets, how they are wired to the uptime check,
// and that the Slack webhook (a credential) only ever travels as a secret.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import {
    DEFAULT_DOWN_PERIOD,
    DEFAULT_LATENCY_MS,
    DEFAULT_SSL_EXPIRY_DAYS,
    DEFAULT_THRESHOLDS,
    DEFAULT_WINDOW,
    DROPLET_METRIC_TYPES,
    UPTIME_PERIODS,
    UPTIME_REGIONS,
} from "../../components/monitoring-rules";
import type { Monitoring as MonitoringClass, MonitoringArgs } from "../../components/monitoring";

// The engine's marker for a secret value in serialised properties.
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

interface Registered {
    type: string;
    name: string;
    inputs: Record<string, any>;
}
let registered: Registered[] = [];
let Monitoring: typeof MonitoringClass;

beforeAll(async () => {
    // Mocks first, then the component module, as the program is loaded under test.
    await pulumi.runtime.setMocks(
        {
            newResource: (a) => {
                registered.push({ type: a.type, name: a.name, inputs: a.inputs });
                return { id: `${a.name}-id`, state: a.inputs };
            },
            call: (a) => a.inputs,
        },
        "income-fortress",
        "prod",
        false,
    );
    ({ Monitoring } = await import("../../components/monitoring"));
});
beforeEach(() => {
    registered = [];
});

const resolve = <T>(o: pulumi.Output<T>): Promise<T> => new Promise((r) => o.apply(r));
const isSecretWrapped = (v: unknown): boolean =>
    typeof v === "object" && v !== null && (v as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG;
const unwrap = (v: unknown) => (isSecretWrapped(v) ? (v as { value: unknown }).value : v);

const baseArgs: MonitoringArgs = {
    environment: "prod",
    dropletIds: ["4242"],
    healthUrl: "https://api.incomefortress.com/health",
    notifications: { emails: ["ops@incomefortress.com"] },
};

/** Builds the component and waits until every child is registered. */
async function build(
    name: string,
    args: MonitoringArgs,
): Promise<{ m: MonitoringClass; byName: (n: string) => Registered; ofType: (t: string) => Registered[] }> {
    const m = new Monitoring(name, args);
    const children = [
        m.uptimeCheck,
        ...m.uptimeAlerts,
        m.dropletAlerts.cpu,
        m.dropletAlerts.memory,
        m.dropletAlerts.disk,
        m.backupStatusCheck,
        m.backupStatusAlert,
    ];
    await resolve(pulumi.all(children.filter((c) => c !== undefined).map((c) => c!.id)));
    const mine = registered.filter((r) => r.name === name || r.name.startsWith(`${name}-`));
    return {
        m,
        byName: (n) => {
            const r = mine.find((x) => x.name === `${name}-${n}`);
            if (!r) throw new Error(`no resource ${name}-${n}; have ${mine.map((x) => x.name).join(", ")}`);
            return r;
        },
        ofType: (t) => mine.filter((r) => r.type === t),
    };
}

describe("Monitoring with defaults", () => {
    test("registers one https uptime check on the health URL, and down, latency and TLS alerts on it", async () => {
        const { byName, ofType } = await build("mon", baseArgs);
        expect(ofType("income-fortress:monitoring:Monitoring")).toHaveLength(1);
        const checks = ofType("digitalocean:index/uptimeCheck:UptimeCheck");
        expect(checks).toHaveLength(1);
        expect(checks[0].inputs).toMatchObject({ target: baseArgs.healthUrl, type: "https", enabled: true });

        const alerts = ofType("digitalocean:index/uptimeAlert:UptimeAlert");
        expect(alerts.map((a) => a.inputs.type).sort()).toEqual(["down_global", "latency", "ssl_expiry"]);
        // Every alert points at the check's id: the mock gives it "<name>-id".
        for (const a of alerts) expect(a.inputs.checkId).toBe(`${checks[0].name}-id`);
        expect(byName("down").inputs.period).toBe(DEFAULT_DOWN_PERIOD);
        expect(byName("latency").inputs).toMatchObject({ threshold: DEFAULT_LATENCY_MS, comparison: "greater_than" });
        expect(byName("ssl-expiry").inputs).toMatchObject({
            threshold: DEFAULT_SSL_EXPIRY_DAYS,
            comparison: "less_than",
        });
        for (const a of alerts) expect(a.inputs.notifications).toEqual([{ emails: ["ops@incomefortress.com"] }]);
    });

    test("every uptime alert has a period, and every check names its probe regions", async () => {
        const { ofType } = await build("periods", {
            ...baseArgs,
            backupStatusUrl: "https://api.incomefortress.com/backup-status",
        });
        const alerts = ofType("digitalocean:index/uptimeAlert:UptimeAlert");
        expect(alerts).toHaveLength(4);
        for (const a of alerts) expect(UPTIME_PERIODS, a.name).toContain(a.inputs.period);
        for (const c of ofType("digitalocean:index/uptimeCheck:UptimeCheck"))
            expect(c.inputs.regions, c.name).toEqual([...UPTIME_REGIONS]);
    });

    test("registers CPU, memory and disk alerts on the droplet with the default thresholds", async () => {
        const { byName, ofType } = await build("mon", baseArgs);
        expect(ofType("digitalocean:index/monitorAlert:MonitorAlert")).toHaveLength(3);
        for (const [role, key] of [
            ["cpu", "cpuPercent"],
            ["memory", "memoryPercent"],
            ["disk", "diskPercent"],
        ] as const) {
            expect(byName(role).inputs).toMatchObject({
                type: DROPLET_METRIC_TYPES[role],
                compare: "GreaterThan",
                value: DEFAULT_THRESHOLDS[key],
                window: DEFAULT_WINDOW,
                entities: ["4242"],
                enabled: true,
                alerts: { emails: ["ops@incomefortress.com"] },
            });
            expect(byName(role).inputs.description).toContain(`${DEFAULT_THRESHOLDS[key]}%`);
        }
    });

    test("parents every child to the component and registers no backup-status check", async () => {
        const { m, ofType } = await build("mon", baseArgs);
        for (const child of [m.uptimeCheck, ...m.uptimeAlerts, m.dropletAlerts.cpu]) {
            expect(await resolve(child.urn)).toContain("income-fortress:monitoring:Monitoring$");
        }
        expect(ofType("digitalocean:index/uptimeCheck:UptimeCheck")).toHaveLength(1);
        expect(m.backupStatusCheck).toBeUndefined();
    });
});

describe("Monitoring with arguments", () => {
    test("thresholds, window and uptime settings flow into the alerts", async () => {
        const { byName } = await build("tuned", {
            ...baseArgs,
            thresholds: { cpuPercent: 70, memoryPercent: 92, diskPercent: 65 },
            window: "30m",
            downPeriod: "5m",
            latencyMs: 1500,
            sslExpiryDays: 21,
            uptimeRegions: ["us_east", "eu_west"],
        });
        expect(byName("cpu").inputs).toMatchObject({ value: 70, window: "30m" });
        expect(byName("memory").inputs).toMatchObject({ value: 92, window: "30m" });
        expect(byName("disk").inputs).toMatchObject({ value: 65, window: "30m" });
        expect(byName("down").inputs.period).toBe("5m");
        expect(byName("latency").inputs.threshold).toBe(1500);
        expect(byName("ssl-expiry").inputs.threshold).toBe(21);
        expect(byName("health").inputs.regions).toEqual(["us_east", "eu_west"]);
    });

    test("a partial threshold override keeps the other defaults", async () => {
        const { byName } = await build("partial", { ...baseArgs, thresholds: { diskPercent: 90 } });
        expect(byName("disk").inputs.value).toBe(90);
        expect(byName("cpu").inputs.value).toBe(DEFAULT_THRESHOLDS.cpuPercent);
    });

    test("droplet tags instead of ids", async () => {
        const { byName } = await build("tagged", {
            ...baseArgs,
            dropletIds: undefined,
            dropletTags: ["income-fortress-prod"],
        });
        expect(byName("cpu").inputs.tags).toEqual(["income-fortress-prod"]);
        expect(byName("cpu").inputs.entities).toBeUndefined();
    });

    test("a droplet tag from a Tag resource's Output", async () => {
        const { byName } = await build("tagoutput", {
            ...baseArgs,
            dropletIds: undefined,
            dropletTags: [pulumi.output("income-fortress-prod-app")],
        });
        expect(byName("disk").inputs.tags).toEqual(["income-fortress-prod-app"]);
    });

    test("droplet ids from another resource's Output", async () => {
        const { byName } = await build("fromoutput", { ...baseArgs, dropletIds: pulumi.output(["777"]) });
        expect(byName("memory").inputs.entities).toEqual(["777"]);
    });

    test("Slack: the webhook reaches every alert, and only as a secret", async () => {
        const url = "https://hooks.slack.com/services/T000/B000/XXXXXXXX";
        const { ofType } = await build("slack", {
            ...baseArgs,
            notifications: { slack: { webhookUrl: url, channel: "#ops-alerts" } },
        });
        const metric = ofType("digitalocean:index/monitorAlert:MonitorAlert");
        const uptime = ofType("digitalocean:index/uptimeAlert:UptimeAlert");
        expect(metric.length + uptime.length).toBe(6);
        for (const a of metric) {
            expect(isSecretWrapped(a.inputs.alerts)).toBe(true);
            expect(unwrap(a.inputs.alerts)).toEqual({ slacks: [{ channel: "#ops-alerts", url }] });
        }
        for (const a of uptime) {
            expect(isSecretWrapped(a.inputs.notifications)).toBe(true);
            expect(unwrap(a.inputs.notifications)).toEqual([{ slacks: [{ channel: "#ops-alerts", url }] }]);
        }
    });

    test("Slack webhook passed as a secret Output, together with e-mail", async () => {
        const url = "https://hooks.slack.com/services/T1/B1/YYYY";
        const { byName } = await build("slacksecret", {
            ...baseArgs,
            notifications: {
                emails: ["ops@incomefortress.com"],
                slack: { webhookUrl: pulumi.secret(url), channel: "ops" },
            },
        });
        expect(unwrap(byName("cpu").inputs.alerts)).toEqual({
            emails: ["ops@incomefortress.com"],
            slacks: [{ channel: "ops", url }],
        });
    });

    test("e-mail only: nothing is marked secret", async () => {
        const { byName } = await build("plain", baseArgs);
        expect(isSecretWrapped(byName("cpu").inputs.alerts)).toBe(false);
        expect(isSecretWrapped(byName("down").inputs.notifications)).toBe(false);
    });

    test("backupStatusUrl adds a second uptime check and a stale-backup alert on it", async () => {
        const { m, byName, ofType } = await build("withbackup", {
            ...baseArgs,
            backupStatusUrl: "https://api.incomefortress.com/backup-status",
        });
        expect(ofType("digitalocean:index/uptimeCheck:UptimeCheck")).toHaveLength(2);
        expect(byName("backup-status").inputs).toMatchObject({
            target: "https://api.incomefortress.com/backup-status",
            type: "https",
        });
        expect(byName("backup-stale").inputs).toMatchObject({
            type: "down_global",
            checkId: "withbackup-backup-status-id",
        });
        expect(m.backupStatusAlert).toBeDefined();
    });
});

describe("Monitoring rejects bad arguments before registering anything", () => {
    test.each<[string, Partial<MonitoringArgs>, string[]]>([
        ["threshold over 100", { thresholds: { cpuPercent: 150 } }, ["thresholds.cpuPercent is 150"]],
        ["no notification target", { notifications: {} }, ["notifications has no target"]],
        ["plain http health URL", { healthUrl: "http://api.incomefortress.com/health" }, ["healthUrl"]],
        ["no droplet to watch", { dropletIds: [] }, ["neither dropletIds nor dropletTags"]],
        [
            "bad Slack webhook host",
            { notifications: { slack: { webhookUrl: "https://example.com/hook", channel: "#ops" } } },
            ["hooks.slack.com"],
        ],
        [
            "several problems at once",
            {
                thresholds: { memoryPercent: 0, diskPercent: 101 },
                window: "2m" as never,
                notifications: { emails: ["not-an-email"] },
            },
            [
                "thresholds.memoryPercent is 0",
                "thresholds.diskPercent is 101",
                'window is "2m"',
                "notifications.emails[0]",
            ],
        ],
    ])("%s", async (_, override, fragments) => {
        let message = "";
        try {
            new Monitoring("bad", { ...baseArgs, ...override });
        } catch (e) {
            message = (e as Error).message;
        }
        for (const f of fragments) expect(message).toContain(f);
        // Registration is asynchronous: give it a chance to happen before checking it did not.
        await new Promise((r) => setTimeout(r, 50));
        expect(registered.filter((r) => r.name === "bad" || r.name.startsWith("bad-"))).toEqual([]);
    });
});
