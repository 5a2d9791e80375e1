// The plan's RTO/RPO tables as data (drill/targets.ts) and the overrides that tighten them.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import {
    applyOverrides,
    formatSeconds,
    formatTarget,
    objectiveKeys,
    parseDuration,
    parseTargetFlag,
    parseTargetsFile,
    PLAN_RPO,
    PLAN_RTO,
    planTargets,
    TargetError,
} from "../../drill/targets";

const PLAN = resolve(__dirname, "../../docs/disaster-recovery-plan.md");

/** Rows of the Markdown table that follows `heading` in the plan. */
function planTable(text: string, heading: string): string[][] {
    const start = text.indexOf(heading);
    const lines = text.slice(start).split("\n");
    const first = lines.findIndex((l) => l.startsWith("|"));
    const rows: string[][] = [];
    for (const l of lines.slice(first + 2)) {
        if (!l.startsWith("|")) break;
        rows.push(
            l
                .split("|")
                .slice(1, -1)
                .map((c) => c.trim()),
        );
    }
    return rows;
}

describe("the plan's tables", () => {
    it("PLAN_RTO and PLAN_RPO are the runbook's rows, names and wording", () => {
        const text = readFileSync(PLAN, "utf8");
        expect(PLAN_RTO.map((o) => [o.name, o.planTargetText, o.planMaximumText])).toEqual(
            planTable(text, "### Recovery Time Objective (RTO)"),
        );
        expect(PLAN_RPO.map((o) => [o.name, o.planTargetText, o.planMaximumText])).toEqual(
            planTable(text, "### Recovery Point Objective (RPO)"),
        );
    });

    it("each row's seconds match its wording, and the target is within the maximum", () => {
        for (const o of [...PLAN_RTO, ...PLAN_RPO]) {
            const [target] = o.planTargetText.split(" (");
            expect(parseDuration(target!.replace(/ hours?/, "h").replace(/ minutes?/, "m")), o.name).toBe(
                o.targetSeconds,
            );
            expect(parseDuration(o.planMaximumText.replace(/ hours?/, "h").replace(/ minutes?/, "m")), o.name).toBe(
                o.maximumSeconds,
            );
            expect(o.targetSeconds).toBeLessThanOrEqual(o.maximumSeconds);
        }
    });

    it("keys are unique across both tables, so an unprefixed key is never ambiguous", () => {
        const keys = [...PLAN_RTO, ...PLAN_RPO].map((o) => o.key);
        expect(new Set(keys).size).toBe(keys.length);
        expect(objectiveKeys()).toContain("rto.database");
        expect(objectiveKeys()).toContain("rpo.user-data");
    });
});

describe("parseDuration", () => {
    it.each([
        ["90", 90],
        ["90s", 90],
        ["45m", 2700],
        ["1h", 3600],
        ["1.5h", 5400],
        ["2h30m", 9000],
        ["1d", 86400],
        [" 30M ", 1800],
        ["0", 0],
    ])("%j -> %d", (text, seconds) => {
        expect(parseDuration(text)).toBe(seconds);
    });
    it.each(["", "h", "1x", "-5m", "1h 30m", "abc", "1e3"])("%j is not a duration", (text) => {
        expect(parseDuration(text)).toBeUndefined();
    });
});

describe("formatting", () => {
    it.each([
        [null, "not measured"],
        [0.84, "0.8 s"],
        [42, "42.0 s"],
        [245, "4 min 05 s"],
        [3720, "1 h 02 min"],
        [2 * 86400 + 3 * 3600, "2 d 03 h"],
        [-3, "-3.0 s"],
    ] as [number | null, string][])("formatSeconds(%j) = %j", (s, text) => {
        expect(formatSeconds(s)).toBe(text);
    });
    it.each([
        [3600, "1 hour"],
        [7200, "2 hours"],
        [1800, "30 minutes"],
        [60, "1 minute"],
        [90, "90 seconds"],
        [0, "0"],
    ])("formatTarget(%d) = %j", (s, text) => {
        expect(formatTarget(s)).toBe(text);
    });
});

describe("overrides", () => {
    it.each([
        ["database=30m", "rto", "database", 1800],
        ["rto.database=30m", "rto", "database", 1800],
        ["RPO.User-Data=15m", "rpo", "user-data", 900],
        ["api=2h", "rto", "api", 7200],
        ["configuration=0", "rpo", "configuration", 0],
    ])("--target %s", (flag, kind, key, seconds) => {
        expect(parseTargetFlag(flag)).toMatchObject({ kind, key, seconds });
    });

    it.each([
        ["database", /expected KEY=DURATION/],
        ["=30m", /expected KEY=DURATION/],
        ["databse=30m", /"databse" is not an objective of the plan; use one of rto\.api, rto\.database/],
        ["rpo.database=30m", /"rpo\.database" is not an objective/],
        ["database=soon", /"soon" is not a duration/],
    ])("--target %s is rejected with a clear message", (flag, message) => {
        expect(() => parseTargetFlag(flag)).toThrow(TargetError);
        expect(() => parseTargetFlag(flag)).toThrow(message);
    });

    it("applies overrides to a copy: tightening works, the plan's data is untouched", () => {
        const t = applyOverrides(planTargets(), [parseTargetFlag("database=30m"), parseTargetFlag("user-data=15m")]);
        expect(t.rto.find((o) => o.key === "database")).toMatchObject({ targetSeconds: 1800, planTargetSeconds: 3600 });
        expect(t.rpo.find((o) => o.key === "user-data")).toMatchObject({ targetSeconds: 900, planTargetSeconds: 3600 });
        expect(PLAN_RTO.find((o) => o.key === "database")!.targetSeconds).toBe(3600);
        expect(planTargets().rto.find((o) => o.key === "database")!.targetSeconds).toBe(3600);
    });

    it("allows loosening up to the maximum acceptable but not past it", () => {
        expect(
            applyOverrides(planTargets(), [parseTargetFlag("database=2h")]).rto.find((o) => o.key === "database")!
                .targetSeconds,
        ).toBe(7200);
        expect(() => applyOverrides(planTargets(), [parseTargetFlag("database=3h")])).toThrow(
            /3 hours is beyond the plan's maximum acceptable for Database \(Primary Failure\) \(2 hours\)/,
        );
    });

    it("reads a nested or flat targets file; the later override wins", () => {
        const nested = parseTargetsFile(
            JSON.stringify({ rto: { database: "30m", api: 7200 }, rpo: { "user-data": "15m" } }),
            "t.json",
        );
        expect(nested.map((o) => [o.kind, o.key, o.seconds])).toEqual([
            ["rto", "database", 1800],
            ["rto", "api", 7200],
            ["rpo", "user-data", 900],
        ]);
        const flat = parseTargetsFile(JSON.stringify({ database: "20m", "rpo.transactions": "10m" }), "t.json");
        const t = applyOverrides(planTargets(), [...nested, ...flat]);
        expect(t.rto.find((o) => o.key === "database")!.targetSeconds).toBe(1200);
        expect(t.rpo.find((o) => o.key === "transactions")!.targetSeconds).toBe(600);
    });

    it.each([
        ["{", /t\.json: not valid JSON/],
        ["[]", /expected a JSON object/],
        [JSON.stringify({ rto: { database: "later" } }), /t\.json: rto\.database: "later" is not a duration/],
        [JSON.stringify({ rto: { database: -5 } }), /is not a duration/],
        [JSON.stringify({ rto: { nope: "1h" } }), /"rto\.nope" is not an objective/],
    ])("rejects a bad targets file %s", (text, message) => {
        expect(() => parseTargetsFile(text, "t.json")).toThrow(message);
    });
});
