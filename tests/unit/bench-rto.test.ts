// The RTO model (bench/rto.ts) on small hand-made graphs shaped like the DR stack's, the
// durations table and its override, and the command line.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
    type DurationTable,
    type ModelResource,
    PLAN_API_RTO_SECONDS,
    largestDatabaseWithinTarget,
    loadDurations,
    matchRule,
    mergeDurations,
    modelRto,
    parseDurationOverride,
    parseDurationTable,
    parseRtoArgs,
    resourceDuration,
    STANDING_LABEL,
    renderComparison,
    restoreRateFromBench,
    restoreSeconds,
    standingUrns,
    warmTable,
} from "../../bench/rto";

const CMD = "command:remote:Command";
const CLUSTER = "digitalocean:index/databaseCluster:DatabaseCluster";
const DROPLET = "digitalocean:index/droplet:Droplet";

/** A small table: every figure chosen here, so the expected sums are plain arithmetic. */
const TABLE: DurationTable = {
    defaultSeconds: 7,
    restore: { bytesPerSecond: 1e6, fixedSeconds: 10 },
    rules: [
        { label: "pg", type: CLUSTER, inputs: { engine: "pg" }, seconds: 400 },
        { label: "valkey", type: CLUSTER, inputs: { engine: "valkey" }, seconds: 300 },
        { label: "droplet", type: DROPLET, seconds: 60 },
        { label: "boot", type: CMD, nameSuffix: "-boot", seconds: 200 },
        { label: "restore", type: CMD, nameSuffix: "-restore", restore: true },
        { label: "migrate", type: CMD, nameSuffix: "-migrate", seconds: 100 },
        { label: "health", type: CMD, nameSuffix: "-health", seconds: 30 },
    ],
    warmRules: [{ label: "migrate, images cached", type: CMD, nameSuffix: "-migrate", seconds: 20 }],
    outsideGraph: [
        { label: "declare", seconds: 600, when: "before" },
        { label: "dns", seconds: 60, when: "after" },
    ],
};

let n = 0;
function res(
    name: string,
    type: string,
    deps: ModelResource[] = [],
    extra: Partial<ModelResource> = {},
): ModelResource {
    n += 1;
    return {
        type,
        name,
        urn: `urn:${n}:${name}`,
        custom: true,
        parent: "",
        inputs: {},
        dependencies: deps.map((d) => d.urn),
        ...extra,
    };
}

/** The DR shape: cluster and droplet in parallel, boot after the droplet, restore after both, then migrate and health. */
function drGraph(opts: { chain?: boolean } = {}) {
    const pg = res("fortress-db-pg", CLUSTER, [], { inputs: { engine: "pg" } });
    const valkey = res("fortress-db-valkey", CLUSTER, [], { inputs: { engine: "valkey" } });
    const droplet = res("fortress-host-droplet", DROPLET);
    const all = [pg, valkey, droplet];
    if (opts.chain !== false) {
        const boot = res("fortress-recovery-boot", CMD, [droplet]);
        const restore = res("fortress-recovery-restore", CMD, [boot, pg]);
        const migrate = res("fortress-recovery-migrate", CMD, [restore, valkey]);
        const health = res("fortress-recovery-health", CMD, [migrate]);
        all.push(boot, restore, migrate, health);
    }
    return all;
}

describe("durations table", () => {
    it("the shipped bench/durations.json is a valid table with a restore rule and a health gate rule", () => {
        const t = loadDurations();
        expect(t.rules.some((r) => r.restore === true && r.nameSuffix === "-restore")).toBe(true);
        expect(
            matchRule({ type: CMD, name: "fortress-recovery-health", inputs: {} }, t.rules)?.seconds,
        ).toBeGreaterThan(0);
        expect(matchRule({ type: CLUSTER, name: "x", inputs: { engine: "pg" } }, t.rules)?.label).not.toBe(
            matchRule({ type: CLUSTER, name: "x", inputs: { engine: "valkey" } }, t.rules)?.label,
        );
    });

    it.each([
        {
            what: "a type and matching inputs",
            r: { type: CLUSTER, name: "db", inputs: { engine: "valkey" } },
            label: "valkey",
        },
        { what: "the type alone", r: { type: DROPLET, name: "anything", inputs: {} }, label: "droplet" },
        {
            what: "a logical-name suffix",
            r: { type: CMD, name: "fortress-recovery-migrate", inputs: {} },
            label: "migrate",
        },
        {
            what: "nothing (falls to the default)",
            r: { type: CMD, name: "fortress-recovery-other", inputs: {} },
            label: undefined,
        },
        { what: "inputs that differ", r: { type: CLUSTER, name: "db", inputs: { engine: "mysql" } }, label: undefined },
    ])("matches by $what", ({ r, label }) => {
        expect(matchRule(r, TABLE.rules)?.label).toBe(label);
    });

    it("gives the default to unmatched resources and zero to components", () => {
        expect(resourceDuration(res("x", "digitalocean:index/vpc:Vpc"), TABLE, 0)).toEqual({
            seconds: 7,
            label: "default (digitalocean:index/vpc:Vpc)",
        });
        expect(resourceDuration(res("c", "income-fortress:x:X", [], { custom: false }), TABLE, 0).seconds).toBe(0);
    });

    it("times the restore from the database size and the rate", () => {
        expect(restoreSeconds(5e6, TABLE.restore)).toBe(15);
        expect(resourceDuration(res("fortress-recovery-restore", CMD), TABLE, 2e6).seconds).toBe(12);
    });

    it("an override's rules win for what they match; the rest keeps the defaults", () => {
        const merged = mergeDurations(
            TABLE,
            parseDurationOverride({
                defaultSeconds: 1,
                restore: { bytesPerSecond: 2e6 },
                rules: [{ label: "my drill's migrate", type: CMD, nameSuffix: "-migrate", seconds: 900 }],
            }),
        );
        expect(matchRule({ type: CMD, name: "a-migrate", inputs: {} }, merged.rules)?.seconds).toBe(900);
        expect(matchRule({ type: CMD, name: "a-boot", inputs: {} }, merged.rules)?.seconds).toBe(200);
        expect(merged.defaultSeconds).toBe(1);
        expect(merged.restore).toEqual({ bytesPerSecond: 2e6, fixedSeconds: 10 });
        expect(merged.outsideGraph).toEqual(TABLE.outsideGraph);
    });

    it("an override changes the modeled RTO by exactly what it changes on the path", () => {
        const graph = drGraph();
        const base = modelRto(graph, TABLE, 1e6);
        const slower = modelRto(
            graph,
            mergeDurations(TABLE, {
                rules: [{ label: "slow migrate", type: CMD, nameSuffix: "-migrate", seconds: 400 }],
            }),
            1e6,
        );
        expect(slower.totalSeconds - base.totalSeconds).toBe(300);
        const offPath = modelRto(
            graph,
            mergeDurations(TABLE, {
                rules: [{ label: "valkey", type: CLUSTER, inputs: { engine: "valkey" }, seconds: 10 }],
            }),
            1e6,
        );
        expect(offPath.totalSeconds).toBe(base.totalSeconds);
    });

    it.each([
        {
            what: "a negative duration",
            json: { rules: [{ label: "x", type: DROPLET, seconds: -5 }] },
            error: /rules\.0\.seconds/,
        },
        {
            what: "seconds and restore together",
            json: { rules: [{ label: "x", type: CMD, seconds: 5, restore: true }] },
            error: /either seconds or "restore": true/,
        },
        {
            what: "a rule that matches nothing",
            json: { rules: [{ label: "x", seconds: 5 }] },
            error: /needs a type or a nameSuffix/,
        },
        { what: "an unknown key", json: { rulez: [] }, error: /rulez|Unrecognized/i },
        { what: "a zero restore rate", json: { restore: { bytesPerSecond: 0 } }, error: /restore\.bytesPerSecond/ },
    ])("refuses an override with $what, naming the field", ({ json, error }) => {
        expect(() => parseDurationOverride(json, "my.json")).toThrow(/my\.json is not a valid durations table/);
        expect(() => parseDurationOverride(json, "my.json")).toThrow(error);
    });

    it("refuses a complete table that lacks a part", () => {
        expect(() => parseDurationTable({ defaultSeconds: 1, rules: [], outsideGraph: [] })).toThrow(/restore/);
    });
});

describe("modelRto", () => {
    it("follows the graph to the health gate and adds the steps outside it", () => {
        const m = modelRto(drGraph(), TABLE, 5e6);
        // droplet 60 + boot 200 = 260 < pg 400: the cluster is on the path.
        expect(m.path.map((p) => p.name)).toEqual([
            "fortress-db-pg",
            "fortress-recovery-restore",
            "fortress-recovery-migrate",
            "fortress-recovery-health",
        ]);
        expect(m.target).toEqual({ name: "fortress-recovery-health", kind: "health gate" });
        expect(m.graphSeconds).toBe(400 + 15 + 100 + 30);
        expect(m.totalSeconds).toBe(m.graphSeconds + 600 + 60);
        expect(m.met).toBe(true);
        expect(m.hasRestore).toBe(true);
        for (let i = 1; i < m.path.length; i++) expect(m.path[i].startSeconds).toBe(m.path[i - 1].finishSeconds);
    });

    it("a bigger database lengthens the RTO by its restore time once the restore is on the path", () => {
        const small = modelRto(drGraph(), TABLE, 1e6);
        const big = modelRto(drGraph(), TABLE, 101e6);
        expect(big.totalSeconds - small.totalSeconds).toBe(100);
    });

    it("a slow boot moves the path from the cluster to the droplet", () => {
        const t = mergeDurations(TABLE, {
            rules: [{ label: "slow boot", type: CMD, nameSuffix: "-boot", seconds: 1000 }],
        });
        expect(modelRto(drGraph(), t, 0).path.map((p) => p.label)).toEqual([
            "droplet",
            "slow boot",
            "restore",
            "migrate",
            "health",
        ]);
    });

    it("misses the target when the restore is too long, and finds the largest database that meets it", () => {
        const graph = drGraph();
        const limit = largestDatabaseWithinTarget(graph, TABLE) as number;
        expect(limit).toBeGreaterThan(0);
        expect(modelRto(graph, TABLE, limit).met).toBe(true);
        expect(modelRto(graph, TABLE, limit + 2e6).met).toBe(false);
        expect(Math.abs(modelRto(graph, TABLE, limit).totalSeconds - PLAN_API_RTO_SECONDS)).toBeLessThan(2);
    });

    it("still works without the recovery chain: the path ends at the last resource and the size does not matter", () => {
        const m = modelRto(drGraph({ chain: false }), TABLE, 5e9);
        expect(m.target).toEqual({ name: "fortress-db-pg", kind: "last resource" });
        expect(m.hasRestore).toBe(false);
        expect(m.graphSeconds).toBe(400);
        expect(largestDatabaseWithinTarget(drGraph({ chain: false }), TABLE)).toBeNull();
    });

    it("a dependency on a component waits for all of its children", () => {
        const comp = res("fortress-db", "income-fortress:database:Database", [], { custom: false });
        const pg = res("fortress-db-pg", CLUSTER, [], { inputs: { engine: "pg" }, parent: comp.urn });
        const valkey = res("fortress-db-valkey", CLUSTER, [], { inputs: { engine: "valkey" }, parent: comp.urn });
        const gate = res("app-health", CMD, [comp]);
        const m = modelRto([comp, pg, valkey, gate], TABLE, 0);
        expect(m.path.map((p) => p.name)).toEqual(["fortress-db-pg", "app-health"]);
        expect(m.graphSeconds).toBe(430);
    });

    it("takes the restore rate from a bench report", () => {
        const rate = restoreRateFromBench({
            startedAt: "2026-11-25T00:00:00Z",
            machine: { cores: 2 },
            dataset: { bytesOnDisk: 1e9 },
            methods: [{ method: "toolkit", restore: { seconds: 20 } }],
        });
        expect(rate.bytesPerSecond).toBe(5e7);
        expect(() => restoreRateFromBench({ methods: [] }, "r.json")).toThrow(/r\.json has no toolkit restore figure/);
    });
});

describe("a warm standby's failover", () => {
    /** The warm shape: a replica, droplet and boot standing by; promote, then the chain at failover. */
    function warm() {
        const replica = res("fortress-db-pg-replica", "digitalocean:index/databaseReplica:DatabaseReplica", [], {
            inputs: { region: "sfo3" },
        });
        const droplet = res("fortress-host-droplet", DROPLET);
        const boot = res("fortress-recovery-boot", CMD, [droplet]);
        const promote = res("fortress-db-pg-promote", "command:local:Command", [replica]);
        const restore = res("fortress-recovery-restore", CMD, [boot, promote]);
        const migrate = res("fortress-recovery-migrate", CMD, [restore]);
        const health = res("fortress-recovery-health", CMD, [migrate]);
        return {
            standing: [replica, droplet, boot],
            serving: [replica, droplet, boot, promote, restore, migrate, health],
        };
    }

    it("resources standing by with the same inputs take no time; new or changed ones take theirs", () => {
        const { standing, serving } = warm();
        const changed = { ...serving[1], inputs: { size: "bigger" } };
        const urns = standingUrns(standing, [serving[0], changed, ...serving.slice(2)]);
        expect([...urns].sort()).toEqual([serving[0].urn, serving[2].urn].sort());
        expect(resourceDuration(serving[0], TABLE, 0, urns)).toEqual({ seconds: 0, label: STANDING_LABEL });
        expect(resourceDuration(changed, TABLE, 0, urns).seconds).toBe(60);
    });

    it("the model counts the promotion and the chain, with the warm rules first and no restore time", () => {
        const { standing, serving } = warm();
        const t = warmTable(TABLE);
        const m = modelRto(serving, t, 5e9, PLAN_API_RTO_SECONDS, standingUrns(standing, serving));
        // promote: the default 7 s (no rule); restore: its rule still matches, so it counts…
        expect(m.path.map((p) => p.name)).toEqual([
            "fortress-db-pg-replica",
            "fortress-db-pg-promote",
            "fortress-recovery-restore",
            "fortress-recovery-migrate",
            "fortress-recovery-health",
        ]);
        expect(m.path[0]).toMatchObject({ seconds: 0, label: STANDING_LABEL });
        expect(m.graphSeconds).toBe(7 + (10 + 5e9 / 1e6) + 20 + 30);
        expect(m.path.find((p) => p.name.endsWith("-migrate"))).toMatchObject({
            seconds: 20,
            label: "migrate, images cached",
        });
        // …unless a warm rule says what the step does when the restore is off.
        const off = warmTable({
            ...TABLE,
            warmRules: [{ label: "restore off", type: CMD, nameSuffix: "-restore", seconds: 2 }, ...TABLE.warmRules],
        });
        const m2 = modelRto(serving, off, 5e9, PLAN_API_RTO_SECONDS, standingUrns(standing, serving));
        expect(m2.graphSeconds).toBe(7 + 2 + 20 + 30);
        expect(m2.hasRestore).toBe(false);
        expect(
            largestDatabaseWithinTarget(serving, off, PLAN_API_RTO_SECONDS, standingUrns(standing, serving)),
        ).toBeNull();
    });

    it("the shipped table has a warm rule for the restore step and the promotion, with sources", () => {
        const t = loadDurations();
        expect(t.warmRules.map((r) => r.nameSuffix)).toEqual(expect.arrayContaining(["-restore", "-migrate"]));
        for (const r of t.warmRules) expect(r.source, r.label).toBeTruthy();
        expect(
            matchRule({ type: "command:local:Command", name: "fortress-db-pg-promote", inputs: {} }, t.rules)?.source,
        ).toMatch(/unmeasured/);
    });
});

describe("the modes side by side", () => {
    it("shows each mode's graph, after the decision (less detection), with detection, and the plan's targets", () => {
        const cold = modelRto(drGraph(), TABLE, 5e6);
        const text = renderComparison([
            { mode: "cold", model: cold, rpo: "hourly backups" },
            { mode: "warm", model: { ...cold, graphSeconds: 100, totalSeconds: 760 }, rpo: "replica lag" },
        ]);
        const [, head, c, w] = text.split("\n");
        expect(head).toMatch(
            /^ {2}standby +pulumi up to health gate +after the decision +with detection +plan RTO +database RPO +plan RPO$/,
        );
        // Only a step labelled "detect…" is detection; TABLE's "declare" stays in the figure after the decision.
        expect(c.split(/ {2,}/).slice(1)).toEqual([
            "cold",
            "9m 05s",
            "20m 05s",
            "20m 05s",
            "4h 00m 00s",
            "hourly backups",
            "1 h",
        ]);
        expect(w.split(/ {2,}/).slice(1)).toEqual([
            "warm",
            "1m 40s",
            "12m 40s",
            "12m 40s",
            "4h 00m 00s",
            "replica lag",
            "1 h",
        ]);
    });

    it("subtracts the plan's detection trigger for the figure after the decision", () => {
        const m = modelRto(
            drGraph(),
            { ...TABLE, outsideGraph: [{ label: "detect it", seconds: 1800, when: "before" }] },
            5e6,
        );
        const row = renderComparison([{ mode: "cold", model: m, rpo: "x" }]).split("\n")[2];
        expect(row.split(/ {2,}/).slice(1, 5)).toEqual(["cold", "9m 05s", "9m 05s", "39m 05s"]);
    });
});

describe("npm run rto arguments", () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-rto-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("parses sizes and files, and defaults to the dr stack and 1 GB", () => {
        expect(parseRtoArgs([])).toMatchObject({ dbBytes: 1e9, stack: "dr", json: false, standby: "both" });
        expect(parseRtoArgs(["--standby", "warm"]).standby).toBe("warm");
        const file = join(dir, "d.json");
        writeFileSync(file, "{}");
        expect(parseRtoArgs(["--db-size", "40GB", "--durations", file, "--json", "--stack=drill-1"])).toMatchObject({
            dbBytes: 40e9,
            durations: file,
            json: true,
            stack: "drill-1",
        });
    });

    it.each([
        [["--db-size", "lots"], /'lots' is not a size/],
        [["--db-size"], /--db-size needs a value/],
        [["--stack", "a b"], /not a stack name/],
        [["--frobnicate"], /unknown argument '--frobnicate'/],
        [["--standby", "hot"], /--standby 'hot' is not one of cold, warm, both/],
    ])("refuses %j", (argv, error) => {
        expect(() => parseRtoArgs(argv)).toThrow(error);
    });
});
