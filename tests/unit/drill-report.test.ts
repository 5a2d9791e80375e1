// The report builder and its Markdown (drill/report.ts), and the files (drill/report-files.ts).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
    buildReport,
    EXIT,
    renderMarkdown,
    resultCell,
    runId,
    utcStamp,
    type Phase,
    type ReportInput,
} from "../../drill/report";
import { writeReport } from "../../drill/report-files";
import { applyOverrides, parseTargetFlag, PLAN_RPO, PLAN_RTO, planTargets } from "../../drill/targets";

const T0 = Date.parse("2026-03-01T06:00:00.000Z");
const phase = (name: string, offset: number, seconds: number, ok = true, error?: string): Phase => ({
    name,
    seconds,
    ok,
    startedAt: new Date(T0 + offset * 1000).toISOString(),
    ...(error ? { error } : {}),
});

function input(over: Partial<ReportInput> = {}): ReportInput {
    return {
        kind: "rehearsal",
        id: "rehearsal-20260301-060000",
        scenario: "the production database is lost",
        startedMs: T0,
        finishedMs: T0 + 30_000,
        disasterMs: T0 + 10_000,
        recoveredMs: T0 + 22_500,
        phases: [phase("backup", 0, 8), phase("restore", 10, 12.5), phase("cleanup", 29, 1)],
        checks: [{ name: "restored row counts equal the manifest", ok: true, detail: "4 tables, 95,000 rows" }],
        targets: planTargets(),
        measured: {
            rto: { database: { seconds: 12.5, how: "disaster to verified" } },
            rpo: {
                "user-data": { seconds: 9.4, how: "snapshot to disaster" },
                transactions: { seconds: 9.4, how: "snapshot to disaster" },
            },
        },
        headline: { rto: "database", rpo: "user-data" },
        backup: {
            id: "20260301T060000Z-rehearsal",
            createdAt: "2026-03-01T06:00:00.600Z",
            bytes: 2048,
            encryption: "age",
            source: "offsite",
            tables: 4,
            rows: 95000,
        },
        timeline: [
            { at: "2026-03-01T06:00:10.000Z", event: "disaster declared" },
            { at: "2026-03-01T06:00:00.000Z", event: "backup started" },
        ],
        postMortem: {
            rootCause: "Simulated: lost.",
            resolution: "Restored.",
            usersAffected: "none",
            financialImpact: "none",
        },
        ...over,
    };
}

describe("buildReport", () => {
    it("has every field of the report contract (docs/drills.md) with the right types", () => {
        const r = buildReport(input());
        expect(r.kind).toBe("rehearsal");
        expect(r.startedAt).toBe("2026-03-01T06:00:00.000Z");
        expect(r.finishedAt).toBe("2026-03-01T06:00:30.000Z");
        for (const p of r.phases) {
            expect(typeof p.name).toBe("string");
            expect(typeof p.seconds).toBe("number");
            expect(typeof p.ok).toBe("boolean");
        }
        expect(r.rto).toMatchObject({ measuredSeconds: 12.5, targetSeconds: 3600, met: true });
        expect(r.rpo).toMatchObject({ measuredSeconds: 9.4, targetSeconds: 3600, met: true });
        for (const c of r.checks) expect(Object.keys(c).sort()).toEqual(["detail", "name", "ok"]);
        expect(r.backupId).toBe("20260301T060000Z-rehearsal");
        expect(r.ok).toBe(true);
        expect(r.exitCode).toBe(0);
        // Survives JSON unchanged (no Dates, no undefined).
        expect(JSON.parse(JSON.stringify(r))).toEqual(r);
        // The timeline is in time order.
        expect(r.timeline.map((t) => t.event)).toEqual(["backup started", "disaster declared"]);
    });

    it("marks unmeasured rows as null, never as met", () => {
        const r = buildReport(input());
        const api = r.objectives.rto.find((o) => o.key === "api")!;
        expect(api).toMatchObject({ measuredSeconds: null, met: null, withinMaximum: null, how: null });
        expect(resultCell(api)).toBe("not measured");
    });

    it.each([
        ["passed", {}, "passed", EXIT.ok],
        [
            "a failed check",
            { checks: [{ name: "sha256", ok: false, detail: "differs" }] },
            "checks-failed",
            EXIT.missed,
        ],
        [
            "a missed target",
            { targets: applyOverrides(planTargets(), [parseTargetFlag("database=10s")]) },
            "targets-missed",
            EXIT.missed,
        ],
        [
            "a missed secondary row",
            { targets: applyOverrides(planTargets(), [parseTargetFlag("transactions=5s")]) },
            "targets-missed",
            EXIT.missed,
        ],
        [
            "a headline never measured",
            { measured: { rto: {}, rpo: { "user-data": { seconds: 1, how: "" } } } },
            "targets-missed",
            EXIT.missed,
        ],
        [
            "a failed phase",
            { phases: [phase("restore", 10, 3, false, "fortress-restore exited 3")] },
            "failed",
            EXIT.failure,
        ],
        ["an error", { error: "boom" }, "failed", EXIT.failure],
        [
            "SIGINT",
            { interrupted: "SIGINT" as const, phases: [phase("restore", 10, 3, false, "interrupted")] },
            "interrupted",
            EXIT.sigint,
        ],
        ["SIGTERM", { interrupted: "SIGTERM" as const }, "interrupted", EXIT.sigterm],
        [
            "cleanup failure, which wins over everything",
            { interrupted: "SIGINT" as const, cleanupFailed: "stack left", error: "boom" },
            "cleanup-failed",
            EXIT.cleanup,
        ],
    ] as [string, Partial<ReportInput>, string, number][])("%s -> %s, exit %i", (_what, over, outcome, code) => {
        const r = buildReport(input(over));
        expect(r.outcome).toBe(outcome);
        expect(r.exitCode).toBe(code);
        expect(r.ok).toBe(code === 0);
    });

    it("headline met is false when missed, with the override recorded", () => {
        const r = buildReport(input({ targets: applyOverrides(planTargets(), [parseTargetFlag("database=10s")]) }));
        expect(r.rto).toMatchObject({ measuredSeconds: 12.5, targetSeconds: 10, met: false });
        expect(r.objectives.rto.find((o) => o.key === "database")).toMatchObject({
            overridden: true,
            planTargetSeconds: 3600,
            withinMaximum: true,
        });
    });

    it("throws on a headline key that is not a row of the plan", () => {
        expect(() => buildReport(input({ headline: { rto: "nope", rpo: "user-data" } }))).toThrow(
            /"nope" is not a row of the plan's RTO table/,
        );
    });
});

describe("renderMarkdown", () => {
    const md = (over: Partial<ReportInput> = {}) =>
        renderMarkdown(buildReport(input(over)), { rto: PLAN_RTO, rpo: PLAN_RPO });

    it("shows the plan's RTO and RPO tables with a measured column and a result per row", () => {
        const text = md();
        expect(text).toContain("| Service | RTO Target | Maximum Acceptable | Measured | Result |");
        expect(text).toContain("| Database (Primary Failure) | 1 hour | 2 hours | 12.5 s | pass |");
        expect(text).toContain("| API (Complete Outage) | 4 hours | 8 hours | not measured | not measured |");
        expect(text).toContain("| Data Type | RPO Target | Maximum Acceptable | Measured | Result |");
        expect(text).toContain("| User Data (Portfolios, Proposals) | 1 hour | 4 hours | 9.4 s | pass |");
        expect(text).toContain(
            "| Configuration Changes | 0 (immediate backup) | 1 hour | not measured | not measured |",
        );
        // One row per plan row, in the plan's order.
        for (const o of [...PLAN_RTO, ...PLAN_RPO]) expect(text).toContain(`| ${o.name} |`);
        expect(text.indexOf("API (Complete Outage)")).toBeLessThan(text.indexOf("Background Jobs"));
    });

    it("says FAIL and which limit was crossed", () => {
        const missed = md({ targets: applyOverrides(planTargets(), [parseTargetFlag("database=10s")]) });
        expect(missed).toContain(
            "| Database (Primary Failure) | 10 seconds (overridden; plan: 1 hour) | 2 hours | 12.5 s | FAIL (target missed, within maximum) |",
        );
        const beyond = md({
            measured: {
                rto: { database: { seconds: 3 * 3600, how: "x" } },
                rpo: { "user-data": { seconds: 1, how: "" } },
            },
        });
        expect(beyond).toContain(
            "| Database (Primary Failure) | 1 hour | 2 hours | 3 h 00 min | FAIL (beyond maximum acceptable) |",
        );
        expect(beyond).toContain("**Result:** FAIL: a target was missed (exit 3)");
    });

    it("lists the checks and the phases with durations", () => {
        const text = md({ checks: [{ name: "sha256 | size", ok: false, detail: "a|b" }] });
        expect(text).toContain("| sha256 \\| size | FAIL | a\\|b |");
        expect(text).toContain("| restore | 06:00:10Z | 12.5 s | ok |");
        expect(md({ phases: [phase("restore", 10, 3, false, "fortress-restore exited 3")] })).toContain(
            "| restore | 06:00:10Z | 3.0 s | FAILED: fortress-restore exited 3 |",
        );
    });

    it("fills the plan's post-mortem template: title, duration, timeline, data loss", () => {
        const text = md();
        const pm = text.slice(text.indexOf("```markdown"));
        expect(pm).toContain("# Incident Post-Mortem: Backup rehearsal rehearsal-20260301-060000");
        expect(pm).toContain("**Date:** 2026-03-01");
        expect(pm).toContain("**Duration:** 2026-03-01T06:00:10.000Z - 2026-03-01T06:00:22.500Z (12.5 s)");
        expect(pm).toContain("- 2026-03-01T06:00:10.000Z: disaster declared");
        expect(pm).toContain("- Downtime: 12.5 s (from the declared disaster to the verified recovery)");
        expect(pm).toContain(
            "- Data loss: every write after the snapshot 2026-03-01T06:00:00.600Z up to the disaster 2026-03-01T06:00:10.000Z: 9.4 s of writes (RPO met)",
        );
        expect(pm).toContain("## Root Cause\nSimulated: lost.");
        expect(pm).toContain("## Resolution\nRestored.");
        // The template's headings, in its order.
        const headings = [
            "## Summary",
            "## Timeline",
            "## Impact",
            "## Root Cause",
            "## Resolution",
            "## Lessons Learned",
            "## Action Items",
            "## Prevention",
        ];
        const at = headings.map((h) => pm.indexOf(h));
        expect(at.every((i) => i > 0)).toBe(true);
        expect([...at].sort((a, b) => a - b)).toEqual(at);
    });

    it("turns failures into 'what didn't go well' and action items", () => {
        const text = md({
            phases: [phase("restore", 10, 3, false, "fortress-restore exited 3")],
            recoveredMs: undefined,
            measured: { rto: {}, rpo: {} },
        });
        expect(text).toContain("- Phase restore failed: fortress-restore exited 3");
        expect(text).toContain(
            "- [ ] Follow up: Phase restore failed: fortress-restore exited 3 - Owner: [Name] - Due: [Date]",
        );
        expect(text).toContain("- Downtime: not measured: the recovery did not finish");
        expect(text).toContain("The recovery did not complete (restore failed: fortress-restore exited 3).");
    });
});

describe("report files", () => {
    let dir: string | undefined;
    afterEach(() => {
        if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("names runs by kind and UTC time", () => {
        expect(utcStamp(Date.parse("2026-03-01T06:07:08.999Z"))).toBe("20260301-060708");
        expect(runId("drill", Date.parse("2026-12-31T23:59:59Z"))).toBe("drill-20261231-235959");
    });

    it("writes <id>.json and <id>.md, creating the folder, and never overwrites an earlier report", () => {
        dir = mkdtempSync(join(tmpdir(), "report-test-"));
        const out = join(dir, "nested", "reports");
        const report = buildReport(input());
        const first = writeReport(out, report);
        const second = writeReport(out, report);
        expect(first.json).toBe(join(out, "rehearsal-20260301-060000.json"));
        expect(second.json).toBe(join(out, "rehearsal-20260301-060000-2.json"));
        expect(readdirSync(out).sort()).toEqual([
            "rehearsal-20260301-060000-2.json",
            "rehearsal-20260301-060000-2.md",
            "rehearsal-20260301-060000.json",
            "rehearsal-20260301-060000.md",
        ]);
        expect(JSON.parse(readFileSync(first.json, "utf8"))).toEqual(report);
        expect(readFileSync(first.markdown, "utf8")).toBe(renderMarkdown(report, { rto: PLAN_RTO, rpo: PLAN_RPO }));
    });
});
