// The fortress timers and services: schedules as given, Persistent=true, oneshot
// services that run the toolkit with the settings and (later) the credentials.
import { describe, expect, it } from "vitest";
import { CREDENTIALS_FILE } from "../../cloud-init/host";
import {
    BACKUP_SERVICE,
    BACKUP_TIMER,
    fortressUnits,
    HEARTBEAT_COMMAND,
    onCalendarOf,
    VERIFY_SERVICE,
    VERIFY_TIMER,
} from "../../cloud-init/systemd/units";

/** Parses a unit file into section -> key -> values (keys may repeat). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
    const sections = new Map<string, Map<string, string[]>>();
    let current: Map<string, string[]> | undefined;
    for (const line of text.split("\n")) {
        if (line === "" || line.startsWith("#")) continue;
        const header = /^\[(.+)\]$/.exec(line);
        if (header) {
            current = new Map();
            sections.set(header[1], current);
            continue;
        }
        const eq = line.indexOf("=");
        if (current === undefined || eq < 0) throw new Error(`unexpected unit line: ${line}`);
        const key = line.slice(0, eq);
        current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
    }
    return sections;
}

function unitByName(units: ReturnType<typeof fortressUnits>, name: string) {
    const unit = units.find((u) => u.path === `/etc/systemd/system/${name}`);
    if (unit === undefined) throw new Error(`missing ${name}`);
    return { ...unit, parsed: parseUnit(unit.content) };
}

describe("fortressUnits", () => {
    const schedules: [string, string][] = [
        ["hourly", "weekly"],
        ["*:0/30", "Sun *-*-* 08:00:00 UTC"],
        ["*-*-* 02:00:00 America/New_York", "monthly"],
    ];

    it.each(schedules)("backup %j / verify %j: timers carry the schedule and Persistent=true", (backup, verify) => {
        const units = fortressUnits({ backup, verify });
        expect(units.map((u) => u.path)).toEqual(
            [BACKUP_SERVICE, BACKUP_TIMER, VERIFY_SERVICE, VERIFY_TIMER].map((n) => `/etc/systemd/system/${n}`),
        );
        for (const [timerName, schedule] of [
            [BACKUP_TIMER, backup],
            [VERIFY_TIMER, verify],
        ] as const) {
            const t = unitByName(units, timerName);
            const timer = t.parsed.get("Timer");
            expect(timer?.get("OnCalendar")).toEqual([schedule]);
            expect(timer?.get("Persistent")).toEqual(["true"]);
            expect(timer?.get("RandomizedDelaySec")?.[0]).toMatch(/^\d+min$/);
            expect(t.parsed.get("Install")?.get("WantedBy")).toEqual(["timers.target"]);
            expect(onCalendarOf(t.content)).toBe(schedule);
            expect(t.permissions).toBe("0644");
        }
    });

    it.each([
        [BACKUP_SERVICE, "/usr/local/bin/fortress-backup"],
        [VERIFY_SERVICE, "/usr/local/bin/fortress-verify --jobs 1"],
    ])("%s is a oneshot running %s once the credentials exist", (name, exec) => {
        const s = unitByName(fortressUnits({ backup: "hourly", verify: "weekly" }), name);
        const service = s.parsed.get("Service");
        expect(service?.get("Type")).toEqual(["oneshot"]);
        expect(service?.get("ExecStart")).toEqual([exec]);
        // The toolkit reads the settings files itself; a second parser (systemd's) could disagree.
        expect(service?.get("EnvironmentFile")).toBeUndefined();
        expect(service?.get("TimeoutStartSec")?.[0]).toMatch(/^\d+h$/);
        // Skipped, not failed, until the recovery step has delivered the secrets.
        expect(s.parsed.get("Unit")?.get("ConditionPathExists")).toEqual([CREDENTIALS_FILE]);
        expect(s.parsed.get("Unit")?.get("After")).toEqual(["network-online.target"]);
    });

    it("the verify's load is bounded: one restore job, a low CPU weight beside the app, and a start that stays within half an hour", () => {
        const units = fortressUnits({ backup: "hourly", verify: "Sat *-*-* 08:30:00" });
        const service = unitByName(units, VERIFY_SERVICE).parsed.get("Service");
        expect(service?.get("ExecStart")?.[0]).toMatch(/ --jobs 1$/);
        expect(service?.get("CPUWeight")).toEqual(["20"]);
        expect(service?.get("Nice")).toEqual(["15"]);
        // The backup unit keeps the default weight: it is the RPO.
        expect(unitByName(units, BACKUP_SERVICE).parsed.get("Service")?.get("CPUWeight")).toBeUndefined();
        const delay = unitByName(units, VERIFY_TIMER).parsed.get("Timer")?.get("RandomizedDelaySec")?.[0] ?? "";
        // The schedule is 30 minutes after an hourly backup; the delay must not reach the next one.
        expect(Number(/^(\d+)min$/.exec(delay)?.[1])).toBeLessThan(30);
    });

    it("the backup timer spreads starts by minutes, not by a large part of the RPO hour", () => {
        const t = unitByName(fortressUnits({ backup: "hourly", verify: "weekly" }), BACKUP_TIMER);
        const delay = Number(/^(\d+)min$/.exec(t.parsed.get("Timer")?.get("RandomizedDelaySec")?.[0] ?? "")?.[1]);
        expect(delay).toBeGreaterThan(0);
        expect(delay).toBeLessThanOrEqual(5);
    });
});

describe("the stale-backup heartbeat", () => {
    const units = fortressUnits({ backup: "hourly", verify: "weekly" });

    it("fortress-backup.service reports every run, good or bad, to fortress-heartbeat after it stops", () => {
        const service = unitByName(units, BACKUP_SERVICE).parsed.get("Service");
        // ExecStopPost= runs after success, failure and timeout alike; systemd hands it $SERVICE_RESULT.
        expect(service?.get("ExecStopPost")).toEqual([`-${HEARTBEAT_COMMAND} service-result`]);
        expect(HEARTBEAT_COMMAND).toBe("/usr/local/bin/fortress-heartbeat");
        // The backup itself is still the only ExecStart, and nothing else is chained to it.
        expect(service?.get("ExecStart")).toEqual(["/usr/local/bin/fortress-backup"]);
        expect(service?.get("ExecStartPost")).toBeUndefined();
    });

    it("an unreachable heartbeat service cannot fail the backup unit (the '-' prefix)", () => {
        const line = unitByName(units, BACKUP_SERVICE).parsed.get("Service")?.get("ExecStopPost")?.[0] ?? "";
        expect(line.startsWith("-/")).toBe(true);
    });

    it("fortress-verify.service reports its outcome too, as the verify job, so a failed verify pings <url>/fail", () => {
        const service = unitByName(units, VERIFY_SERVICE).parsed.get("Service");
        expect(service?.get("ExecStopPost")).toEqual([`-${HEARTBEAT_COMMAND} --job verify service-result`]);
        expect(service?.get("ExecStartPost")).toBeUndefined();
        for (const name of [BACKUP_TIMER, VERIFY_TIMER]) {
            expect(unitByName(units, name).content, name).not.toContain("fortress-heartbeat");
        }
    });

    it("still skips (not fails) a run before credentials.env exists, so no ping claims a backup that never ran", () => {
        expect(unitByName(units, BACKUP_SERVICE).parsed.get("Unit")?.get("ConditionPathExists")).toEqual([
            CREDENTIALS_FILE,
        ]);
    });
});
