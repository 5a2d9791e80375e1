// `npm run bench -- --quick` end to end, as CI runs it: a real throwaway PostgreSQL, two
// s3rver instances, the plan's pipeline, the toolkit and the floor on a 100 MB dataset, in
// a child process. The JSON report must be complete and its derived figures must follow
// from its measured ones. Speed targets are reported by the bench, not asserted here.
import { existsSync, readFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { BenchReport } from "../../bench/report";
import { missingFigures } from "../../bench/report";
import type { RunResult } from "../../harness/process";
import { runEntry } from "../support/entry-point";
import { suiteTempDir } from "../support/temp-dir";

describe("npm run bench -- --quick", () => {
    const dir = suiteTempDir("bench-quick-test");
    let result: RunResult;
    let report: BenchReport;

    beforeAll(async () => {
        // The same entry as `npm run bench`: ts-node on bench/bench.ts.
        result = await runEntry("bench/bench.ts", ["--quick", "--out", join(dir, "bench.json")], 280_000);
        if (result.code === 0) report = JSON.parse(readFileSync(join(dir, "bench.json"), "utf8")) as BenchReport;
    }, 300_000);

    it("exits 0 and writes the JSON report and the Markdown table beside it", () => {
        expect(result.code, result.stderr).toBe(0);
        expect(existsSync(join(dir, "bench.md"))).toBe(true);
        expect(result.stdout).toMatch(
            new RegExp(`report: ${join(dir, "bench.json").replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`),
        );
    });

    it("has backup, restore, bytes and end-to-end figures for every method, each restore verified", () => {
        expect(missingFigures(report)).toEqual([]);
        expect(report.methods.map((m) => m.method)).toEqual(["plan", "toolkit", "floor"]);
        for (const m of report.methods) {
            expect(m.endToEndSeconds, m.method).toBeCloseTo(m.backup.seconds + m.restore.seconds, 6);
            expect(m.backup.phases.length, m.method).toBeGreaterThan(0);
            expect(m.restore.phases.length, m.method).toBeGreaterThan(0);
        }
        // The toolkit's own integrity checks ran and passed: its row counts matched the manifest.
        const toolkit = report.methods.find((m) => m.method === "toolkit")!;
        expect(toolkit.restore.checks.every((c) => c.ok)).toBe(true);
        expect(toolkit.restore.checks.map((c) => c.detail).join(" ")).toMatch(/counts match the manifest/);
        // The floor stores the uncompressed dump; both compressed methods store far less.
        const floor = report.methods.find((m) => m.method === "floor")!;
        for (const m of report.methods.filter((x) => x.method !== "floor"))
            expect(m.bytes, m.method).toBeLessThan(floor.bytes / 2);
    });

    it("derives every ratio and target from the figures it reports", () => {
        const get = (name: string) => report.methods.find((m) => m.method === name)!;
        const [plan, toolkit, floor] = [get("plan"), get("toolkit"), get("floor")];
        expect(report.ratios.toolkitOverPlan.backup).toBeCloseTo(toolkit.backup.seconds / plan.backup.seconds, 10);
        expect(report.ratios.toolkitOverPlan.bytes).toBeCloseTo(toolkit.bytes / plan.bytes, 10);
        expect(report.ratios.toolkitOverFloor.restore).toBeCloseTo(toolkit.restore.seconds / floor.restore.seconds, 10);
        const byId = Object.fromEntries(report.targets.map((t) => [t.id, t]));
        expect(byId["backup-speedup"].value).toBeCloseTo(plan.backup.seconds / toolkit.backup.seconds, 10);
        expect(byId["restore-vs-floor"].met).toBe(toolkit.restore.seconds / floor.restore.seconds <= 1.15);
        expect(byId["bytes-vs-plan"].met).toBe(toolkit.bytes <= plan.bytes);
    });

    it("records the machine, the PostgreSQL version, the date and a dataset of about 100 MB", () => {
        expect(report.machine.cores).toBe(cpus().length);
        expect(report.machine.postgres.server).toMatch(/^\d+(\.\d+)?/);
        expect(report.machine.postgres.pgDump).toMatch(/pg_dump \(PostgreSQL\) \d+/);
        expect(Date.parse(report.startedAt)).toBeLessThanOrEqual(Date.parse(report.finishedAt));
        expect(report.options).toMatchObject({ quick: true, sizeBytes: 100e6 });
        expect(report.dataset.bytesOnDisk).toBeGreaterThan(70e6);
        expect(report.dataset.bytesOnDisk).toBeLessThan(130e6);
        expect(report.dataset.indexes).toBeGreaterThanOrEqual(8);
        expect(report.dataset.foreignKeys).toBe(2);
    });

    it("prints the table with the date and the core count", () => {
        expect(result.stdout).toMatch(new RegExp(`${report.startedAt.slice(0, 10)}, ${cpus().length} cores`));
        expect(result.stdout).toMatch(/^plan\s+/m);
        expect(result.stdout).toMatch(/^toolkit\/floor\s+/m);
    });
});
