// Layer 2: monitoring and the stale-backup heartbeat in the real program (index.ts) under
// mocks, from the real stack files (and edits of them). Expectations come from each stack's
// parsed config, so a value that is wired to the wrong place, or not at all, shows up as a
// mismatch. The heartbeat script itself runs for real in tests/integration/heartbeat.test.ts.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { userDataFiles } from "../../harness/user-data";
import { parseConfig, type FortressConfig } from "../../config";
import {
    DEFAULT_THRESHOLDS,
    DEFAULT_WINDOW,
    DROPLET_METRIC_TYPES,
    UPTIME_PERIODS,
    UPTIME_REGIONS,
} from "../../components/monitoring-rules";
import {
    PROJECT,
    T,
    byType,
    loadStackConfig,
    one,
    resolve,
    runProgram,
    type ProgramRun,
    type Registration,
} from "./harness";

const M = {
    component: "income-fortress:monitoring:Monitoring",
    uptimeCheck: "digitalocean:index/uptimeCheck:UptimeCheck",
    uptimeAlert: "digitalocean:index/uptimeAlert:UptimeAlert",
    monitorAlert: "digitalocean:index/monitorAlert:MonitorAlert",
} as const;
const MONITORING_TYPES: string[] = Object.values(M);

// The SDK's marker of a secret value in serialised properties.
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const isSecretValue = (v: unknown): v is { value: unknown } =>
    !!v && typeof v === "object" && (v as Record<string, unknown>)[SECRET_SIG_KEY] !== undefined;
const unwrap = (v: unknown): unknown => (isSecretValue(v) ? unwrap(v.value) : v);
/** A value with every secret part left out: what would be stored and shown in the clear. */
function clearText(v: unknown): string {
    const strip = (x: unknown): unknown =>
        isSecretValue(x)
            ? "[secret]"
            : Array.isArray(x)
              ? x.map(strip)
              : x && typeof x === "object"
                ? Object.fromEntries(Object.entries(x).map(([k, y]) => [k, strip(y)]))
                : x;
    return JSON.stringify(strip(v)) ?? "";
}

const SLACK_URL = "https://hooks.slack.com/services/T0FORTRESS/B0ALERTS/mockSlackWebhookToken42";
const HEARTBEAT_URL = "https://hc-ping.com/0f3c1d52-5b8e-4d7a-9c51-2f6a0b7e9d41";

function edited(from: "prod" | "dr", edit: Record<string, string>): Record<string, string> {
    const config = loadStackConfig(from);
    for (const [k, v] of Object.entries(edit)) config[`${PROJECT}:${k}`] = v;
    return config;
}

async function runStack(
    stack: string,
    from: "prod" | "dr",
    edit: Record<string, string> = {},
): Promise<{ run: ProgramRun; cfg: FortressConfig }> {
    const config = edited(from, edit);
    const parsed = parseConfig(
        Object.fromEntries(Object.entries(config).map(([k, v]) => [k.slice(PROJECT.length + 1), v])),
        stack,
    );
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const run = await runProgram(stack, config);
    if (run.error) throw run.error;
    return { run, cfg: parsed.config };
}

const byName = (run: ProgramRun, type: string, suffix: string): Registration => {
    const found = byType(run, type).filter((r) => r.name.endsWith(suffix));
    if (found.length !== 1)
        throw new Error(
            `expected one ${type} named *${suffix}, found ${found.map((r) => r.name).join(", ") || "none"}`,
        );
    return found[0];
};

describe.each([
    ["prod", "prod"],
    ["dr", "dr"],
] as const)("stack %s: monitoring from Pulumi.%s.yaml", (stack, from) => {
    let run: ProgramRun;
    let cfg: FortressConfig;
    beforeAll(async () => {
        ({ run, cfg } = await runStack(stack, from));
    });

    it("creates one Monitoring component inside the platform", () => {
        const component = one(run, M.component);
        expect(component.name).toBe("fortress-monitoring");
        expect(component.parent).toBe(one(run, "income-fortress:platform:Platform").urn);
        for (const r of run.registrations.filter((x) => x.custom && MONITORING_TYPES.includes(x.type))) {
            expect(r.parent, `${r.type} ${r.name}`).toBe(component.urn);
        }
    });

    it("checks https://<hostname>.<domain><healthPath> over https, the record this stack owns", () => {
        const check = one(run, M.uptimeCheck);
        expect(cfg.monitoring.enabled).toBe(true);
        expect(check.inputs).toMatchObject({
            target: `https://${cfg.dns.fqdn}${cfg.monitoring.healthPath}`,
            type: "https",
            enabled: true,
        });
        expect(check.inputs.target).toBe(
            stack === "prod" ? "https://api.incomefortress.com/health" : "https://api-dr.incomefortress.com/health",
        );
        // The public check is not the host-local URL the recovery gate polls.
        expect(check.inputs.target).not.toBe(cfg.recovery.health.url);
    });

    it("alerts when the health URL is down, slow, or its certificate is about to expire, all on that check", () => {
        const check = one(run, M.uptimeCheck);
        const alerts = byType(run, M.uptimeAlert);
        expect(alerts.map((a) => a.inputs.type).sort()).toEqual(["down_global", "latency", "ssl_expiry"]);
        for (const a of alerts) {
            expect(a.inputs.checkId).toBe(`${check.name}-id`);
            expect(a.propertyDependencies.checkId).toEqual([check.urn]);
            expect(a.inputs.notifications).toEqual([{ emails: cfg.monitoring.emails }]);
        }
    });

    it("gives every uptime alert a period (the API answers 500 without one)", () => {
        const alerts = byType(run, M.uptimeAlert);
        expect(alerts).toHaveLength(3);
        for (const a of alerts)
            expect(UPTIME_PERIODS, `${a.name} period ${a.inputs.period}`).toContain(a.inputs.period);
    });

    it("names the probe regions explicitly, all of them (the provider does not read them back as computed)", () => {
        for (const check of byType(run, M.uptimeCheck))
            expect([...check.inputs.regions].sort()).toEqual([...UPTIME_REGIONS].sort());
    });

    it("alerts on CPU, memory and disk with the thresholds and window from the stack's config", () => {
        const alerts = byType(run, M.monitorAlert);
        expect(alerts).toHaveLength(3);
        const thresholds = {
            cpu: cfg.monitoring.thresholds.cpuPercent,
            memory: cfg.monitoring.thresholds.memoryPercent,
            disk: cfg.monitoring.thresholds.diskPercent,
        };
        for (const role of ["cpu", "memory", "disk"] as const) {
            expect(byName(run, M.monitorAlert, `-${role}`).inputs, role).toMatchObject({
                type: DROPLET_METRIC_TYPES[role],
                compare: "GreaterThan",
                value: thresholds[role],
                window: cfg.monitoring.window,
                enabled: true,
                alerts: { emails: cfg.monitoring.emails },
            });
        }
    });

    it("the stack files' own values arrive, not the defaults (prod's disk 75, dr's 5m window)", () => {
        if (stack === "prod") {
            expect(byName(run, M.monitorAlert, "-disk").inputs.value).toBe(75);
            expect(DEFAULT_THRESHOLDS.diskPercent).not.toBe(75);
            expect(byName(run, M.monitorAlert, "-disk").inputs.alerts.emails).toEqual([
                "oncall@incomefortress.com",
                "ops@incomefortress.com",
            ]);
        } else {
            expect(byName(run, M.monitorAlert, "-cpu").inputs.window).toBe("5m");
            expect(DEFAULT_WINDOW).not.toBe("5m");
            expect(byName(run, M.monitorAlert, "-cpu").inputs.alerts.emails).toEqual(["oncall@incomefortress.com"]);
        }
    });

    it("watches the droplet through its host tag, so a replacement droplet is covered unchanged", () => {
        const tag = one(run, T.tag);
        expect(one(run, T.droplet).inputs.tags).toContain(tag.inputs.name);
        for (const a of byType(run, M.monitorAlert)) {
            expect(a.inputs.tags).toEqual([tag.inputs.name]);
            expect(a.inputs.entities).toBeUndefined();
            expect(a.propertyDependencies.tags).toEqual([tag.urn]);
        }
    });

    it("starts checking only after the recovery chain's health gate has passed, so a first deploy pages nobody", () => {
        const gate = one(run, T.command, "recovery-health");
        const children = run.registrations.filter((r) => r.custom && MONITORING_TYPES.includes(r.type));
        expect(children).toHaveLength(7);
        for (const r of children) expect(r.dependencies, `${r.type} ${r.name}`).toContain(gate.urn);
    });

    it("marks nothing secret when there is no Slack webhook", () => {
        for (const r of [...byType(run, M.uptimeAlert), ...byType(run, M.monitorAlert)]) {
            expect(isSecretValue(r.inputs.notifications ?? r.inputs.alerts)).toBe(false);
        }
    });
});

describe("monitoring from edited config", () => {
    it("thresholds, window and health path all flow from config into the resources", async () => {
        const { run } = await runStack("prod", "prod", {
            alertCpuPercent: "65",
            alertMemoryPercent: "93",
            alertDiskPercent: "71",
            alertWindow: "30m",
            healthPath: "/api/v1/health?deep=1",
        });
        expect(one(run, M.uptimeCheck).inputs.target).toBe("https://api.incomefortress.com/api/v1/health?deep=1");
        expect(byName(run, M.monitorAlert, "-cpu").inputs).toMatchObject({ value: 65, window: "30m" });
        expect(byName(run, M.monitorAlert, "-memory").inputs).toMatchObject({ value: 93, window: "30m" });
        expect(byName(run, M.monitorAlert, "-disk").inputs).toMatchObject({ value: 71, window: "30m" });
        expect(byName(run, M.monitorAlert, "-disk").inputs.description).toContain("71%");
    });

    it("a Slack webhook reaches every alert beside the e-mails, and only ever as a secret", async () => {
        const { run } = await runStack("prod", "prod", {
            alertSlackWebhookUrl: SLACK_URL,
            alertSlackChannel: "#ops-alerts",
        });
        const uptime = byType(run, M.uptimeAlert);
        const metric = byType(run, M.monitorAlert);
        expect(uptime.length + metric.length).toBe(6);
        const target = {
            emails: ["oncall@incomefortress.com", "ops@incomefortress.com"],
            slacks: [{ channel: "#ops-alerts", url: SLACK_URL }],
        };
        for (const a of uptime) {
            expect(isSecretValue(a.inputs.notifications), a.name).toBe(true);
            expect(unwrap(a.inputs.notifications)).toEqual([target]);
            expect(a.additionalSecretOutputs).toContain("notifications");
        }
        for (const a of metric) {
            expect(isSecretValue(a.inputs.alerts), a.name).toBe(true);
            expect(unwrap(a.inputs.alerts)).toEqual(target);
            expect(a.additionalSecretOutputs).toContain("alerts");
        }
        // Nowhere in the clear: no resource input, no user-data, no stack output.
        const token = "mockSlackWebhookToken42";
        for (const r of run.registrations) expect(clearText(r.inputs), `${r.type} ${r.name}`).not.toContain(token);
        for (const [name, value] of Object.entries(run.outputs ?? {})) {
            if (pulumi.Output.isInstance(value) && (await pulumi.isSecret(value))) continue;
            expect(JSON.stringify(await resolve(value as pulumi.Input<unknown>)) ?? "", name).not.toContain(token);
        }
    });

    it("Slack alone is a valid target: no e-mails, monitoring still on", async () => {
        const { run } = await runStack("dr", "dr", {
            alertEmails: "[]",
            alertSlackWebhookUrl: SLACK_URL,
            alertSlackChannel: "ops-alerts",
        });
        expect(unwrap(byName(run, M.monitorAlert, "-memory").inputs.alerts)).toEqual({
            slacks: [{ channel: "ops-alerts", url: SLACK_URL }],
        });
        expect(unwrap(byName(run, M.uptimeAlert, "-down").inputs.notifications)).toEqual([
            { slacks: [{ channel: "ops-alerts", url: SLACK_URL }] },
        ]);
    });

    it.each([
        ["prod", "prod"],
        ["dr", "dr"],
    ] as const)(
        "monitoring false on %s creates no monitoring resource at all, and needs no target",
        async (stack, from) => {
            const { run } = await runStack(stack, from, { monitoring: "false", alertEmails: "[]" });
            expect(run.registrations.filter((r) => MONITORING_TYPES.includes(r.type))).toEqual([]);
            // The rest of the platform is all there.
            expect(byType(run, T.droplet)).toHaveLength(1);
            expect(one(run, T.command, "recovery-health")).toBeDefined();
        },
    );
});

describe("the stale-backup heartbeat", () => {
    const credentialsStep = (run: ProgramRun) => one(run, T.command, "recovery-secret-credentials");

    it("delivers backupHeartbeatUrl to the host in credentials.env, on stdin, as a secret", async () => {
        const { run } = await runStack("prod", "prod", { backupHeartbeatUrl: HEARTBEAT_URL });
        const step = credentialsStep(run);
        expect(isSecretValue(step.inputs.stdin)).toBe(true);
        expect(String(unwrap(step.inputs.stdin))).toContain(`\nBACKUP_HEARTBEAT_URL='${HEARTBEAT_URL}'\n`);
        expect(step.additionalSecretOutputs).toEqual(expect.arrayContaining(["stdin", "stdout", "stderr"]));
        // Never in a command text, in user-data, or in any other clear value.
        const id = "0f3c1d52-5b8e-4d7a-9c51-2f6a0b7e9d41";
        for (const r of run.registrations) expect(clearText(r.inputs), `${r.type} ${r.name}`).not.toContain(id);
        // Only the toolkit's credentials carry it, not the app's .env.
        expect(String(unwrap(one(run, T.command, "recovery-secret-app-env").inputs.stdin))).not.toContain(id);
    });

    it("without backupHeartbeatUrl, credentials.env has no BACKUP_HEARTBEAT_URL line", async () => {
        const { run, cfg } = await runStack("prod", "prod");
        expect(cfg.backup.heartbeatUrl).toBe("");
        const stdin = String(unwrap(credentialsStep(run).inputs.stdin));
        expect(stdin).toContain("DATABASE_URL=");
        expect(stdin).not.toContain("BACKUP_HEARTBEAT_URL");
    });

    it("the backup timer's unit on the droplet reports each run to fortress-heartbeat", async () => {
        const { run } = await runStack("dr", "dr", { backupHeartbeatUrl: HEARTBEAT_URL });
        const userData: string = one(run, T.droplet).inputs.userData;
        expect(userData).toMatch(/ExecStopPost=-\/usr\/local\/bin\/fortress-heartbeat service-result/);
        expect(userDataFiles(userData).get("/usr/local/bin/fortress-heartbeat")?.mode).toBe("0755");
        expect(userData).not.toContain("0f3c1d52");
    });

    it("the verify timer on the droplet runs the day before the stack's maintenance window, and its unit reports a failure", async () => {
        const timerOf = (run: ProgramRun) => {
            const files = userDataFiles(one(run, T.droplet).inputs.userData);
            return {
                timer: String(files.get("/etc/systemd/system/fortress-verify.timer")?.content),
                service: String(files.get("/etc/systemd/system/fortress-verify.service")?.content),
            };
        };
        // Pulumi.prod.yaml: sunday 08:00 UTC, hourly backups.
        const prod = timerOf((await runStack("prod", "prod")).run);
        expect(prod.timer).toMatch(/^OnCalendar=Sat \*-\*-\* 08:30:00$/m);
        expect(prod.service).toMatch(/^ExecStart=\/usr\/local\/bin\/fortress-verify --jobs 1$/m);
        expect(prod.service).toMatch(
            /^ExecStopPost=-\/usr\/local\/bin\/fortress-heartbeat --job verify service-result$/m,
        );
        const moved = timerOf(
            (await runStack("prod", "prod", { dbMaintenanceDay: "monday", dbMaintenanceHour: "03:00" })).run,
        );
        expect(moved.timer).toMatch(/^OnCalendar=Sun \*-\*-\* 03:30:00$/m);
        const pinned = timerOf((await runStack("prod", "prod", { verifySchedule: "Wed *-*-* 12:00:00" })).run);
        expect(pinned.timer).toMatch(/^OnCalendar=Wed \*-\*-\* 12:00:00$/m);
    });
});
