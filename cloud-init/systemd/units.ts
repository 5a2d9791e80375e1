// Builds the systemd units that run the toolkit on a schedule. Pure: the renderer
// writes what these return into /etc/systemd/system and enables the timers.
import { CREDENTIALS_FILE, TOOLKIT_BIN_DIR } from "../host";
import type { ToolkitFile } from "../toolkit-files";

export const BACKUP_SERVICE = "fortress-backup.service";
export const BACKUP_TIMER = "fortress-backup.timer";
export const VERIFY_SERVICE = "fortress-verify.service";
export const VERIFY_TIMER = "fortress-verify.timer";

/** The command that reports each backup run to the stale-backup heartbeat (a dead-man's switch). */
export const HEARTBEAT_COMMAND = `${TOOLKIT_BIN_DIR}/fortress-heartbeat`;

/** Default backup schedule: hourly, the plan's RPO target for user data. */
export const DEFAULT_BACKUP_SCHEDULE = "hourly";
/** Default verify schedule: weekly, as the plan's restore test. */
export const DEFAULT_VERIFY_SCHEDULE = "weekly";

const UNIT_DIR = "/etc/systemd/system";
const HEADER = "# Written by cloud-init (income-fortress). Local edits are lost when the droplet is rebuilt.";

interface ServiceSpec {
    description: string;
    execStart: string;
    /** Upper bound for one run, so a hung pg_dump or upload cannot block the next one forever. */
    timeoutStartSec: string;
    nice: number;
    /** Run after the service stops, whatever the outcome (systemd sets $SERVICE_RESULT for it). */
    execStopPost?: string;
    /** More [Service] lines, e.g. resource controls. */
    extra?: string[];
}

/** A unit file: the header, a [Unit] section with its description, then `lines`. */
function unitFile(description: string, lines: string[]): string {
    return [HEADER, "[Unit]", `Description=${description}`, ...lines, ""].join("\n");
}

function service(spec: ServiceSpec): string {
    return unitFile(spec.description, [
        "Wants=network-online.target",
        "After=network-online.target",
        // Secrets arrive over SSH after boot. Until they do there is nothing to run
        // with, so a due run is skipped (not failed) and cloud-init stays clean.
        `ConditionPathExists=${CREDENTIALS_FILE}`,
        "",
        "[Service]",
        "Type=oneshot",
        // No EnvironmentFile=: the toolkit reads backup.env and credentials.env itself
        // (environment first, then the files), so one parser decides what a line means.
        `ExecStart=${spec.execStart}`,
        ...(spec.execStopPost ? [`ExecStopPost=${spec.execStopPost}`] : []),
        `TimeoutStartSec=${spec.timeoutStartSec}`,
        `Nice=${spec.nice}`,
        "IOSchedulingClass=best-effort",
        "IOSchedulingPriority=7",
        "UMask=0077",
        "PrivateTmp=true",
        "ProtectSystem=full",
        // read-only, not true: tools may read ~/.config (rclone) and must not fail on it.
        "ProtectHome=read-only",
        "NoNewPrivileges=true",
        ...(spec.extra ?? []),
    ]);
}

interface TimerSpec {
    description: string;
    onCalendar: string;
    /** Spreads the start a little so many hosts do not hit Spaces at the same second. */
    randomizedDelaySec: string;
}

function timer(spec: TimerSpec): string {
    return unitFile(spec.description, [
        "",
        "[Timer]",
        `OnCalendar=${spec.onCalendar}`,
        // Catch up a run that was due while the droplet was off or being rebuilt.
        "Persistent=true",
        `RandomizedDelaySec=${spec.randomizedDelaySec}`,
        "AccuracySec=1min",
        "",
        "[Install]",
        "WantedBy=timers.target",
    ]);
}

/** Schedules for the fortress timers (systemd OnCalendar expressions). */
export interface FortressSchedules {
    /** When `fortress-backup` runs. Default {@link DEFAULT_BACKUP_SCHEDULE}. */
    backup: string;
    /** When `fortress-verify` runs. Default {@link DEFAULT_VERIFY_SCHEDULE}. */
    verify: string;
}

/** The four unit files (two services, two timers), in a fixed order. */
export function fortressUnits(schedules: FortressSchedules): ToolkitFile[] {
    const unit = (name: string, content: string): ToolkitFile => ({
        path: `${UNIT_DIR}/${name}`,
        content,
        permissions: "0644",
    });
    return [
        unit(
            BACKUP_SERVICE,
            service({
                description: "Income Fortress: back up PostgreSQL to the backup and offsite buckets",
                execStart: `${TOOLKIT_BIN_DIR}/fortress-backup`,
                timeoutStartSec: "2h",
                nice: 10,
                // Every run, good or bad, is reported to the heartbeat: success pings keep the
                // check up, anything else (failed, timed out, killed) pings <url>/fail. No
                // ping at all (droplet gone, timer broken) is what the service alerts on.
                // ExecStopPost= rather than ExecStartPost= plus an OnFailure= unit: it runs
                // after failures and timeouts too, and one line covers both outcomes.
                // The leading "-": an unreachable heartbeat service must not turn a good
                // backup into a failed unit; the missing ping raises the alert instead.
                execStopPost: `-${HEARTBEAT_COMMAND} service-result`,
            }),
        ),
        unit(
            BACKUP_TIMER,
            timer({
                description: "Income Fortress: scheduled PostgreSQL backup",
                onCalendar: schedules.backup,
                randomizedDelaySec: "3min",
            }),
        ),
        unit(
            VERIFY_SERVICE,
            service({
                description:
                    "Income Fortress: restore the latest backup into a throwaway database and compare row counts",
                // One pg_restore job and no parallel COPY sessions: the throwaway database
                // is on the production cluster, beside the live one, and one session is the
                // most the test takes from it (the restore is slower, and the test is weekly).
                execStart: `${TOOLKIT_BIN_DIR}/fortress-verify --jobs 1`,
                timeoutStartSec: "6h",
                nice: 15,
                // A failed, timed-out or killed verify pings the backup heartbeat's /fail URL,
                // so the check's alert reaches whoever it alerts; a good one pings nothing (it
                // is no backup). The leading "-" as for the backup.
                execStopPost: `-${HEARTBEAT_COMMAND} --job verify service-result`,
                extra: [
                    // Under cgroup v2, Nice= only ranks processes inside this unit; the app's
                    // containers are other cgroups, and the CPU weight (default 100) is what
                    // gives them the CPU first when both want it.
                    "CPUWeight=20",
                ],
            }),
        ),
        unit(
            VERIFY_TIMER,
            timer({
                description: "Income Fortress: scheduled backup verification",
                onCalendar: schedules.verify,
                // Short: the schedule puts the verify 30 minutes after an hourly backup's start
                // (config/verify-schedule.ts), and it must not drift into the next one.
                randomizedDelaySec: "10min",
            }),
        ),
    ];
}

/** Reads the OnCalendar= value back out of a rendered timer (for tests and tooling). */
export function onCalendarOf(timerContent: string): string | undefined {
    return /^OnCalendar=(.*)$/m.exec(timerContent)?.[1];
}
