// The benchmark's pure helpers: sizes, dataset sizing, command line, and the phases read
// from the toolkit's log lines; and `npm run bench` and `npm run rto` refusing a bad
// command line as a user runs them.
import { describe, expect, it } from "vitest";
import {
    DEFAULT_SIZE,
    QUICK_SIZE,
    USAGE as BENCH_USAGE,
    defaultOutPath,
    parseBenchArgs,
    roundOrder,
} from "../../bench/bench";
import { datasetRows, loadSql, scaleForTarget, splitRange } from "../../bench/dataset";
import { phasesFromLog } from "../../bench/methods";
import { USAGE as RTO_USAGE } from "../../bench/rto";
import { formatBytes, formatSeconds, parseSize } from "../../bench/units";
import { runEntry } from "../support/entry-point";

describe("sizes", () => {
    it.each([
        ["1GB", 1e9],
        ["100MB", 1e8],
        ["30mb", 3e7],
        ["2.5 GB", 2.5e9],
        ["512MiB", 512 * 1024 ** 2],
        ["1048576", 1048576],
        ["1k", 1000],
    ])("%s is %d bytes", (text, bytes) => {
        expect(parseSize(text)).toBe(bytes);
    });

    it.each(["", "GB", "1 parsec", "-1GB", "0", "1.2.3MB"])("refuses %j", (text) => {
        expect(() => parseSize(text)).toThrow(/is not a size/);
    });

    it.each([
        [512, "bytes", "512 B", formatBytes],
        [1_500, "bytes", "1.50 kB", formatBytes],
        [98_300_000, "bytes", "98.3 MB", formatBytes],
        [1_020_000_000, "bytes", "1.02 GB", formatBytes],
        [2.345, "seconds", "2.35 s", formatSeconds],
        [14.72, "seconds", "14.7 s", formatSeconds],
        [245, "seconds", "4m 05s", formatSeconds],
        [3720, "seconds", "1h 02m", formatSeconds],
    ] as const)("formats %d %s as %s", (value, _unit, text, format) => {
        expect(format(value)).toBe(text);
    });
});

describe("dataset sizing", () => {
    it("scales the rows of every table with the scale", () => {
        expect(datasetRows(1)).toEqual({ users: 1000, portfolios: 4000, proposals: 40000 });
        expect(datasetRows(2.5)).toEqual({ users: 2500, portfolios: 10000, proposals: 100000 });
        expect(datasetRows(0.0001).users).toBe(1);
    });

    it.each([
        { target: 1e9, empty: 7.5e6, perUnit: 22e6, scale: (1e9 - 7.5e6) / 22e6 },
        { target: 1e8, empty: 7.5e6, perUnit: 22e6, scale: (1e8 - 7.5e6) / 22e6 },
    ])("a $target-byte target at $perUnit bytes per unit", ({ target, empty, perUnit, scale }) => {
        expect(scaleForTarget(target, empty, perUnit)).toBeCloseTo(scale, 10);
    });

    it("refuses a target no bigger than an empty database", () => {
        expect(() => scaleForTarget(5e6, 7.5e6, 22e6)).toThrow(
            /too small: an empty database already takes 8 MB; ask for at least 10 MB/,
        );
    });

    it.each([
        [
            10,
            2,
            [
                [1, 5],
                [6, 10],
            ],
        ],
        [
            11,
            2,
            [
                [1, 5],
                [6, 11],
            ],
        ],
        [
            3,
            4,
            [
                [1, 1],
                [2, 2],
                [3, 3],
            ],
        ],
        [5, 1, [[1, 5]]],
    ])("splits 1..%d into %d ranges", (total, parts, ranges) => {
        expect(splitRange(total, parts)).toEqual(ranges);
    });

    it("loads exactly the asked rows, with foreign keys inside the parent's range", () => {
        const rows = datasetRows(3);
        const sql = loadSql("proposals", 11, 20, rows);
        expect(sql).toMatch(/generate_series\(11, 20\)/);
        expect(sql).toContain(`% ${rows.portfolios}`);
        expect(loadSql("portfolios", 1, rows.portfolios, rows)).toContain(`% ${rows.users}`);
    });
});

describe("npm run bench arguments", () => {
    it("defaults to 1 GB, all three methods, the CPU count and both buckets", () => {
        expect(parseBenchArgs([], 4)).toMatchObject({
            sizeBytes: parseSize(DEFAULT_SIZE),
            quick: false,
            jobs: 4,
            repeat: 1,
            methods: ["plan", "toolkit", "floor"],
            offsite: true,
            profile: false,
        });
    });

    it("--quick is 100 MB unless --size says otherwise", () => {
        expect(parseBenchArgs(["--quick"]).sizeBytes).toBe(parseSize(QUICK_SIZE));
        expect(parseBenchArgs(["--quick", "--size", "30MB"]).sizeBytes).toBe(3e7);
        expect(parseBenchArgs(["--size=2GB", "--quick"]).sizeBytes).toBe(2e9);
    });

    it("takes jobs, repeat, out, methods, profile and --no-offsite", () => {
        expect(
            parseBenchArgs([
                "--jobs",
                "3",
                "--repeat=5",
                "--out",
                "x.json",
                "--methods",
                "floor,plan",
                "--profile",
                "--no-offsite",
            ]),
        ).toMatchObject({
            jobs: 3,
            repeat: 5,
            out: "x.json",
            methods: ["plan", "floor"],
            profile: true,
            offsite: false,
        });
    });

    it.each([
        [["--jobs", "0"], /--jobs must be a positive whole number, not '0'/],
        [["--jobs"], /--jobs needs a value/],
        [["--repeat", "many"], /--repeat must be a whole number/],
        [["--methods", "plan,tape"], /'tape' is not one/],
        [["--size", "big"], /'big' is not a size/],
        [["--toolkit-dir", "/nonexistent"], /holds no fortress-backup/],
        [["--fast"], /unknown argument '--fast'/],
    ])("refuses %j", (argv, error) => {
        expect(() => parseBenchArgs(argv)).toThrow(error);
    });

    it.each([
        [1, ["plan", "toolkit", "floor"]],
        [2, ["toolkit", "floor", "plan"]],
        [3, ["floor", "plan", "toolkit"]],
        [4, ["plan", "toolkit", "floor"]],
    ])("round %d runs the methods in the order %j", (round, order) => {
        expect(roundOrder(["plan", "toolkit", "floor"], round)).toEqual(order);
    });

    it("names the default report after the start time, under reports/", () => {
        expect(defaultOutPath(new Date("2026-11-25T19:04:05.678Z"), "/repo")).toBe(
            "/repo/reports/bench-20261125T190405Z.json",
        );
    });
});

describe("phases from the toolkit's log", () => {
    it("each line starts a phase; the exit ends the last", () => {
        const phases = phasesFromLog(
            [
                { at: 1_100, text: "fortress-restore: downloading s3://b/x (1 MiB)" },
                { at: 3_100, text: "fortress-restore: restoring x into db with 2 parallel jobs" },
                { at: 3_100, text: "" },
            ],
            1_000,
            13_100,
        );
        expect(phases).toEqual([
            { name: "start", seconds: 0.1 },
            { name: "downloading s3://b/x (1 MiB)", seconds: 2 },
            { name: "restoring x into db with 2 parallel jobs", seconds: 10 },
        ]);
    });

    it("a silent run is one phase", () => {
        expect(phasesFromLog([], 0, 2_500)).toEqual([{ name: "start", seconds: 2.5 }]);
    });
});

describe("npm run bench and npm run rto as a user runs them", () => {
    it.each([
        [
            "bench/bench.ts",
            ["--jobs", "0"],
            /^bench: error: --jobs must be a positive whole number, not '0' \(see bench --help\)\n$/,
        ],
        ["bench/bench.ts", ["--size"], /^bench: error: --size needs a value \(see bench --help\)\n$/],
        ["bench/rto.ts", ["--db-size", "lots"], /^rto: error: 'lots' is not a size: .* \(see rto --help\)\n$/],
        ["bench/rto.ts", ["--frobnicate"], /^rto: error: unknown argument '--frobnicate' \(see rto --help\)\n$/],
    ])("%s %j is a usage error: exit 2, one line, nothing started", async (file, args, message) => {
        const r = await runEntry(file, args, 60_000);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(r.stdout).toBe("");
    });

    it.each([
        ["bench/bench.ts", ["--help"], BENCH_USAGE],
        ["bench/rto.ts", ["-h"], RTO_USAGE],
    ])("%s %j prints the usage and exits 0", async (file, args, usage) => {
        const r = await runEntry(file, args, 60_000);
        expect(r.code).toBe(0);
        expect(r.stdout).toBe(`${usage}\n`);
        expect(r.stderr).toBe("");
    });
});
