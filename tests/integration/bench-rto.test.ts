// `npm run rto` on the real DR stack (index.ts under mocks, in a child process, as the
// npm script runs it): the path follows the stack's dependencies, a bigger database or a
// slower step in an override file moves the total by exactly its share, and a bad
// override is refused with the field named.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { RtoModel } from "../../bench/rto";
import { runEntry } from "../support/entry-point";
import { suiteTempDir } from "../support/temp-dir";

type ModeJson = RtoModel & { standby: "cold" | "warm"; largestDatabaseWithinTarget: { bytes: number | null } };
type RtoJson = ModeJson & { stack: string; warm?: ModeJson };

async function rto(...args: string[]) {
    const r = await runEntry("bench/rto.ts", args, 90_000);
    return { ...r, json: r.code === 0 && args.includes("--json") ? (JSON.parse(r.stdout) as RtoJson) : undefined };
}

describe("npm run rto on the dr stack", () => {
    const dir = suiteTempDir("bench-rto-test");
    let small: RtoJson;
    let big: RtoJson;

    beforeAll(async () => {
        const [a, b] = await Promise.all([rto("--json", "--db-size", "1GB"), rto("--json", "--db-size", "200GB")]);
        expect(a.code, a.stderr).toBe(0);
        expect(b.code, b.stderr).toBe(0);
        small = a.json!;
        big = b.json!;
    }, 120_000);

    it("ends at the health gate when the recovery chain is there, each step starting as the one before ends", () => {
        expect(small.stack).toBe("dr");
        expect(small.path.length).toBeGreaterThan(1);
        if (small.target?.kind === "health gate") {
            expect(small.path[small.path.length - 1].name).toMatch(/-health$/);
            expect(small.hasRestore).toBe(true);
        }
        for (let i = 1; i < small.path.length; i++)
            expect(small.path[i].startSeconds).toBeCloseTo(small.path[i - 1].finishSeconds, 6);
        expect(small.totalSeconds).toBeCloseTo(
            small.graphSeconds + small.outsideGraph.reduce((s, o) => s + o.seconds, 0),
            6,
        );
        expect(small.targetSeconds).toBe(4 * 3600);
    });

    it("models a warm standby's failover beside cold: the promotion on the path, no restore, the size irrelevant", () => {
        expect(small.standby).toBe("cold");
        const warm = small.warm!;
        expect(warm.standby).toBe("warm");
        const names = warm.path.map((p) => p.name);
        expect(names).toContainEqual(expect.stringMatching(/-pg-promote$/));
        expect(names[names.length - 1]).toMatch(/-health$/);
        // What stood by takes no time: no cluster creation, no boot on the path.
        expect(warm.path.filter((p) => p.seconds > 0).map((p) => p.name)).not.toContainEqual(
            expect.stringMatching(/-(boot|pg|replica|droplet)$/),
        );
        expect(warm.hasRestore).toBe(false);
        expect(warm.largestDatabaseWithinTarget.bytes).toBeNull();
        expect(big.warm!.totalSeconds).toBeCloseTo(warm.totalSeconds, 6);
        expect(warm.graphSeconds).toBeLessThan(small.graphSeconds);
    });

    it("a 200 GB database puts the restore on the path and adds its restore time", () => {
        if (!big.hasRestore) return; // without the recovery chain the size cannot matter
        expect(big.path.map((p) => p.name)).toContainEqual(expect.stringMatching(/-restore$/));
        const restoreOf = (m: RtoJson) => m.dbBytes / m.restore.bytesPerSecond;
        const onPathSmall = small.path.some((p) => p.name.endsWith("-restore"));
        if (onPathSmall)
            expect(big.totalSeconds - small.totalSeconds).toBeCloseTo(restoreOf(big) - restoreOf(small), 3);
        else expect(big.totalSeconds).toBeGreaterThan(small.totalSeconds);
        expect(big.met).toBe(big.totalSeconds <= big.targetSeconds);
    });

    it("an override file slows a step on the path and the total grows by exactly that much", async () => {
        const step = small.path[small.path.length - 1];
        const file = join(dir, "slower.json");
        writeFileSync(
            file,
            JSON.stringify({
                rules: [
                    {
                        label: "my drill's figure",
                        type: step.type,
                        nameSuffix: step.name.slice(step.name.lastIndexOf("-")),
                        seconds: step.seconds + 600,
                    },
                ],
            }),
        );
        const r = await rto("--json", "--db-size", "1GB", "--durations", file);
        expect(r.code, r.stderr).toBe(0);
        expect(r.json!.totalSeconds - small.totalSeconds).toBeCloseTo(600, 6);
        expect(r.json!.path[r.json!.path.length - 1].label).toBe("my drill's figure");
    }, 60_000);

    it("prints the path, the total and the plan's 4 h target", async () => {
        const r = await rto("--db-size", "5GB");
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toMatch(/Critical path to/);
        expect(r.stdout).toMatch(/Modeled RTO: .*plan target \(API, complete outage\): 4h 00m 00s/);
    }, 60_000);

    it("refuses a bad override file with one line naming the field", async () => {
        const file = join(dir, "bad.json");
        writeFileSync(file, JSON.stringify({ rules: [{ label: "x", type: "t", seconds: -1 }] }));
        const r = await rto("--durations", file);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/bad\.json is not a valid durations table/);
        expect(r.stderr).toMatch(/rules\.0\.seconds/);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }, 60_000);
});
