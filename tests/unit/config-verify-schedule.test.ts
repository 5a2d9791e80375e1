// Layer 1: when the weekly fortress-verify runs, from the maintenance window and the backup
// schedule (config/verify-schedule.ts).
import { describe, expect, it } from "vitest";
import { parseCalendar, WEEKDAYS } from "../../config/rules";
import { hourlyBackupMinute, verifySchedule } from "../../config/verify-schedule";

const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/** Minutes from Monday 00:00 of a `Day *-*-* HH:MM:00` value. */
function minuteOfWeek(onCalendar: string): number {
    const m = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \*-\*-\* ([01]\d|2[0-3]):([0-5]\d):00$/.exec(onCalendar);
    if (!m) throw new Error(`not a weekly OnCalendar value: ${onCalendar}`);
    return DAYS.indexOf(m[1]) * 1440 + Number(m[2]) * 60 + Number(m[3]);
}

describe("hourlyBackupMinute", () => {
    it.each([
        ["hourly", 0],
        ["*:00", 0],
        ["*:30", 30],
        ["*:5", 5],
        ["*:45:00", 45],
        ["*-*-* *:30:00", 30],
        ["*-*-* *:07", 7],
        ["daily", undefined],
        ["*:0/15", undefined],
        ["*-*-* 02:00:00", undefined],
        ["*-*-* *:30:00 Asia/Kolkata", undefined],
        ["*:60", undefined],
        ["*:30:15", undefined],
    ])("%j starts at minute %j", (schedule, minute) => expect(hourlyBackupMinute(schedule)).toBe(minute));
});

describe("verifySchedule", () => {
    it.each([
        // The plan's default window (Sunday 03:00 EST) and hourly backups at :00.
        ["sunday", "08:00", "hourly", "Sat *-*-* 08:30:00"],
        // The day before Monday is Sunday: the week wraps backwards.
        ["monday", "00:00", "hourly", "Sun *-*-* 00:30:00"],
        ["monday", "00:59", "hourly", "Sun *-*-* 00:30:00"],
        ["tuesday", "23:30", "hourly", "Mon *-*-* 23:30:00"],
        // Backups at :45 put the verify at :15, in the window's hour.
        ["wednesday", "16:00", "*:45", "Tue *-*-* 16:15:00"],
        ["saturday", "03:00", "*-*-* *:30:00", "Fri *-*-* 03:00:00"],
        // Not hourly at a fixed minute: the verify goes to :30.
        ["friday", "12:00", "daily", "Thu *-*-* 12:30:00"],
        ["sunday", "08:00", "*:0/15", "Sat *-*-* 08:30:00"],
    ])("window %s %s with backups %j: %s", (day, time, backups, expected) => {
        const got = verifySchedule({ day: day as (typeof WEEKDAYS)[number], time }, backups);
        expect(got).toBe(expected);
        expect(parseCalendar(got).ok).toBe(true);
    });

    // Every window minute of the week, with backups at each of a few minutes.
    const windows = WEEKDAYS.flatMap((day) =>
        Array.from({ length: 24 * 60 }, (_, i) => ({
            day,
            time: `${String(Math.floor(i / 60)).padStart(2, "0")}:${String(i % 60).padStart(2, "0")}`,
            start: WEEKDAYS.indexOf(day) * 1440 + i,
        })),
    );
    it.each([
        ["hourly", 0],
        ["*:15", 15],
        ["*:30", 30],
        ["*:59", 59],
    ])(
        "for every window of the week, with backups at %j: 23 to 25 hours before it, 30 minutes after a backup",
        (backups, backupMinute) => {
            for (const w of windows) {
                const at = minuteOfWeek(verifySchedule({ day: w.day, time: w.time }, backups));
                // Forward from the verify to the window, around the end of the week.
                const ahead = (w.start - at + 10080) % 10080;
                expect(ahead, `${w.day} ${w.time}`).toBeGreaterThan(23 * 60);
                expect(ahead, `${w.day} ${w.time}`).toBeLessThanOrEqual(25 * 60);
                // So the verify (6 h at most, plus its 10 minutes of random delay) ends at least
                // 16 hours before the window.
                expect(ahead - 6 * 60 - 10, `${w.day} ${w.time}`).toBeGreaterThanOrEqual(16 * 60);
                expect((at - backupMinute + 60) % 60, `${w.day} ${w.time}`).toBe(30);
            }
        },
    );
});
