// The benchmark report (bench/report.ts): ratios and the targets are computed from
// the figures, medians of repeated runs, completeness, and the rendered table.
import { describe, expect, it } from "vitest";
import type { MethodName, MethodResult } from "../../bench/methods";
import {
    type BenchInput,
    buildReport,
    combineRuns,
    computeRatios,
    evaluateTargets,
    median,
    missingFigures,
    renderMarkdown,
    renderTable,
} from "../../bench/report";

function method(
    name: MethodName,
    backup: number,
    restore: number,
    bytes: number,
    extra: Partial<MethodResult> = {},
): MethodResult {
    return {
        method: name,
        description: `${name} method`,
        backup: { seconds: backup, phases: [{ name: "backup", seconds: backup }] },
        bytes,
        copies: name === "toolkit" ? 2 : 1,
        restore: { seconds: restore, phases: [{ name: "restore", seconds: restore }], checks: [] },
        endToEndSeconds: backup + restore,
        verified: { ok: true, problems: [] },
        ...extra,
    };
}

function input(methods: MethodResult[]): BenchInput {
    return {
        startedAt: "2026-11-25T19:00:00.000Z",
        finishedAt: "2026-11-25T19:05:00.000Z",
        options: { sizeBytes: 1e9, quick: false, jobs: 2, repeat: 1, offsite: true },
        machine: {
            cores: 2,
            cpuModel: "Test CPU",
            memoryBytes: 8e9,
            os: "linux",
            node: "v22",
            postgres: { server: "15.18", pgDump: "pg_dump (PostgreSQL) 15.18" },
            tools: {},
        },
        loadAverage: { start: [0.1, 0.2, 0.3], end: [0.4, 0.5, 0.6] },
        serverSettings: {},
        dataset: {
            targetBytes: 1e9,
            bytesOnDisk: 0.97e9,
            rows: { users: 1, portfolios: 2, proposals: 3 },
            indexes: 8,
            foreignKeys: 2,
            generationSeconds: 20,
        },
        methods,
    };
}

describe("targets", () => {
    it.each([
        {
            name: "all met",
            plan: [15, 16, 140],
            toolkit: [5, 14, 130],
            floor: [4, 13, 600],
            want: {
                "backup-speedup": [3, true],
                "restore-vs-plan": [14 / 16, true],
                "restore-vs-floor": [14 / 13, true],
                "bytes-vs-plan": [130 / 140, true],
            },
        },
        {
            name: "all missed",
            plan: [15, 12, 100],
            toolkit: [9, 16, 101],
            floor: [4, 13, 600],
            want: {
                "backup-speedup": [15 / 9, false],
                "restore-vs-plan": [16 / 12, false],
                "restore-vs-floor": [16 / 13, false],
                "bytes-vs-plan": [1.01, false],
            },
        },
        {
            name: "exactly on the limits",
            plan: [12, 10, 100],
            toolkit: [4, 10, 100],
            floor: [1, 10 / 1.15, 600],
            want: {
                "backup-speedup": [3, true],
                "restore-vs-plan": [1, true],
                "restore-vs-floor": [1.15, true],
                "bytes-vs-plan": [1, true],
            },
        },
    ])("$name", ({ plan, toolkit, floor, want }) => {
        const targets = evaluateTargets([
            method("plan", plan[0], plan[1], plan[2]),
            method("toolkit", toolkit[0], toolkit[1], toolkit[2]),
            method("floor", floor[0], floor[1], floor[2]),
        ]);
        for (const [id, [value, met]] of Object.entries(want)) {
            const t = targets.find((x) => x.id === id)!;
            expect(t.value, id).toBeCloseTo(value as number, 10);
            expect(t.met, id).toBe(met);
        }
    });

    it("a target whose method was not run is neither met nor missed", () => {
        const targets = evaluateTargets([method("plan", 10, 10, 10), method("toolkit", 2, 8, 9)]);
        expect(targets.find((t) => t.id === "restore-vs-floor")).toMatchObject({ value: null, met: null });
        expect(targets.find((t) => t.id === "backup-speedup")).toMatchObject({ value: 5, met: true });
    });
});

describe("ratios", () => {
    it("divide each figure of one method by the other's", () => {
        const r = computeRatios(method("toolkit", 5, 14, 130), method("plan", 10, 7, 260));
        expect(r).toEqual({ backup: 0.5, restore: 2, bytes: 0.5, endToEnd: 19 / 17 });
    });

    it("are null when a method is missing or a figure is zero", () => {
        expect(computeRatios(method("toolkit", 5, 14, 130), undefined)).toEqual({
            backup: null,
            restore: null,
            bytes: null,
            endToEnd: null,
        });
        expect(computeRatios(method("toolkit", 5, 14, 130), method("plan", 0, 7, 260)).backup).toBeNull();
    });

    it("in the report come from the figures of the methods it holds", () => {
        const report = buildReport(
            input([method("plan", 12, 16, 140), method("toolkit", 6, 15, 138), method("floor", 5, 12, 600)]),
        );
        expect(report.ratios.toolkitOverPlan.backup).toBe(0.5);
        expect(report.ratios.toolkitOverFloor.restore).toBe(1.25);
        expect(report.ratios.toolkitOverFloor.bytes).toBe(0.23);
        expect(report.targets).toHaveLength(4);
        expect(report.format).toBe("income-fortress-bench/1");
    });
});

describe("repeated runs", () => {
    it.each([
        [[3], 3],
        [[5, 1, 3], 3],
        [[4, 1, 3, 2], 2.5],
    ])("median of %j is %d", (values, want) => {
        expect(median(values)).toBe(want);
    });

    it("combine into medians, keep every run, and are verified only if every run was", () => {
        const runs = [
            method("toolkit", 10, 20, 100),
            method("toolkit", 6, 30, 102, { verified: { ok: false, problems: ["users: 1 rows, source has 2"] } }),
            method("toolkit", 8, 25, 101),
        ];
        const c = combineRuns(runs);
        expect(c.backup.seconds).toBe(8);
        expect(c.restore.seconds).toBe(25);
        expect(c.bytes).toBe(101);
        expect(c.endToEndSeconds).toBe(33);
        expect(c.restore.phases).toEqual([{ name: "restore", seconds: 25 }]);
        expect(c.runs).toHaveLength(3);
        expect(c.verified).toEqual({ ok: false, problems: ["run 2: users: 1 rows, source has 2"] });
    });

    it("refuse to mix methods", () => {
        expect(() => combineRuns([method("plan", 1, 1, 1), method("floor", 1, 1, 1)])).toThrow(/different methods/);
    });
});

describe("completeness", () => {
    it("a full report lacks nothing", () => {
        expect(
            missingFigures(
                buildReport(
                    input([method("plan", 12, 16, 140), method("toolkit", 6, 15, 138), method("floor", 5, 12, 600)]),
                ),
            ),
        ).toEqual([]);
    });

    it("names every missing figure", () => {
        const report = buildReport(
            input([
                method("plan", 12, 0, 140),
                method("toolkit", 6, 15, 138, { verified: { ok: false, problems: ["lost rows"] } }),
            ]),
        );
        report.machine.postgres.server = "";
        expect(missingFigures(report)).toEqual([
            "plan restore seconds",
            "toolkit verified restore (lost rows)",
            "method floor",
            "ratio toolkitOverPlan.restore",
            "ratio toolkitOverFloor.backup",
            "ratio toolkitOverFloor.restore",
            "ratio toolkitOverFloor.bytes",
            "ratio toolkitOverFloor.endToEnd",
            "PostgreSQL server version",
        ]);
        // Asked only about the methods that ran, the floor's absence is not a gap.
        expect(missingFigures(report, ["plan", "toolkit"])).not.toContain("method floor");
    });
});

describe("rendering", () => {
    const report = buildReport(
        input([method("plan", 12, 16, 140e6), method("toolkit", 6, 15, 138e6), method("floor", 5, 12, 600e6)]),
    );

    it("the table shows each method's figures, the ratios and each target's verdict", () => {
        const text = renderTable(report);
        expect(text).toMatch(/^plan\s+12\.0 s\s+140 MB\s+16\.0 s\s+28\.0 s\s+yes$/m);
        expect(text).toMatch(/^toolkit\s+6\.00 s\s+138 MB x2\s+15\.0 s/m);
        expect(text).toMatch(/^toolkit\/plan\s+0\.50\s+0\.99\s+0\.94/m);
        expect(text).toMatch(/\[MISSED\] toolkit backup at least 3x faster .*: 2\.000 \(target >= 3\)/);
        expect(text).toMatch(/\[met \] toolkit restore, checks included, no slower than the plan's .*: 0\.938/);
        expect(text).toMatch(/2 cores \(Test CPU\), PostgreSQL 15\.18/);
        expect(text).toMatch(/2026-11-25/);
    });

    it("Markdown carries the same table", () => {
        const md = renderMarkdown(report);
        expect(md).toMatch(/^\| floor \| 5\.00 s \| 600 MB \| 12\.0 s \| 17\.0 s \| yes \|$/m);
        expect(md).toMatch(/\*\*missed\*\*: toolkit backup at least 3x faster/);
    });

    it("warns when the machine was busy at the start", () => {
        const busy = buildReport({ ...input(report.methods), loadAverage: { start: [3.5, 3, 2], end: [1, 1, 1] } });
        expect(renderTable(busy)).toMatch(/other work was running on these cores/);
        expect(renderTable(report)).not.toMatch(/other work was running/);
    });
});
