// When the weekly restore test (fortress-verify) runs, derived from the database
// maintenance window. The verify restores the latest backup into a throwaway database on
// the production cluster, beside the live database, so it must not share an hour with the
// window, when DigitalOcean may restart, fail over or upgrade that cluster: a verify that
// fails then says nothing about the backup, and its load lands on a cluster under repair.
// Pure; table-tested in tests/unit/config-verify-schedule.test.ts.
import { WEEKDAYS, type Weekday } from "./rules";

/** systemd's day names (systemd.time(7)), in the order of {@link WEEKDAYS}. */
const SYSTEMD_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] as const;

const MINUTES_PER_WEEK = 7 * 24 * 60;

/**
 * How long before the window's start the verify starts: one day, so it keeps the window's
 * time of day (the quiet hour the operator chose) and ends long before the window opens
 * (the verify unit's timeout is 6 h; DigitalOcean's windows are one hour long:
 * https://docs.digitalocean.com/reference/doctl/reference/databases/maintenance-window/).
 * Before the window rather than after it: a backup proven restorable shortly before
 * DigitalOcean touches the cluster is the one to fall back on if the maintenance goes wrong.
 */
export const VERIFY_LEAD_MINUTES = 24 * 60;

/** Minutes between an hourly backup's start and the verify's: the verify restores the backup that has just finished, and the two do not load the cluster at once. */
export const VERIFY_AFTER_BACKUP_MINUTES = 30;

/**
 * The minute past the hour at which an hourly backup schedule starts: `hourly`, `*:MM`,
 * `*:MM:SS` or `*-*-* *:MM[:SS]`, without a time zone (a zone such as Asia/Kolkata would move
 * the minute). Any other schedule: undefined.
 */
export function hourlyBackupMinute(schedule: string): number | undefined {
    if (schedule === "hourly") return 0;
    const m = /^(?:\*-\*-\* )?\*:([0-5]?\d)(?::00)?$/.exec(schedule);
    return m ? Number(m[1]) : undefined;
}

/** A weekly time in UTC. */
export interface WeeklyTime {
    day: Weekday;
    /** `HH:MM`, 24-hour clock. */
    time: string;
}

/**
 * The verify timer's OnCalendar value for a maintenance window and a backup schedule: one
 * day before the window, in the window's hour, at {@link VERIFY_AFTER_BACKUP_MINUTES} past
 * the hourly backup's minute (past :00 when the backup schedule is not hourly at a fixed
 * minute). So the verify starts between 23 and 25 hours before the window, on the day
 * before (Monday's window: Sunday), and never at a backup's minute.
 */
export function verifySchedule(window: WeeklyTime, backupSchedule: string): string {
    const [hh, mm] = window.time.split(":").map(Number);
    const start = WEEKDAYS.indexOf(window.day) * 24 * 60 + hh * 60 + mm;
    const lead = (start - VERIFY_LEAD_MINUTES + MINUTES_PER_WEEK) % MINUTES_PER_WEEK;
    const minute = ((hourlyBackupMinute(backupSchedule) ?? 0) + VERIFY_AFTER_BACKUP_MINUTES) % 60;
    const at = lead - (lead % 60) + minute;
    const day = SYSTEMD_DAYS[Math.floor(at / (24 * 60))];
    const hour = Math.floor((at % (24 * 60)) / 60);
    return `${day} *-*-* ${String(hour).padStart(2, "0")}:${String(minute).padStart(2, "0")}:00`;
}
