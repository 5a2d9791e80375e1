// split-copy.pl, the helper through which fortress-restore loads one big table over several
// psql COPY sessions: it reads one `pg_restore --data-only --file=-` TABLE DATA entry on stdin
// and spreads whole rows, about 1 MiB at a time, over its outputs (FIFOs that psql reads).
// A row lost, repeated, cut in two or reordered here is a silently wrong restore, so every
// test checks each output byte for byte: the header through the COPY line, whole input rows
// in input order, the end marker, and (first output only) pg_restore's closing lines.
// Real perl processes throughout, writing regular files or FIFOs drained by real readers of
// different speeds; the input generator covers the COPY text escapes that look like the end
// marker, multi-byte characters, an empty line and a row longer than the 1 MiB block.
import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, makeTempDir, run, type RunResult, runOk, sleep } from "../../harness/process";
import { TOOLKIT_BIN } from "../../harness/toolkit";

const SPLIT_COPY = resolve(TOOLKIT_BIN, "../lib/income-fortress/split-copy.pl");

/** split-copy.pl's block size: it reads stdin in reads of exactly this many bytes. */
const BLOCK = 1 << 20;
/** COPY text format's end-of-data line. */
const END = "\\.\n";
const KEY = "Zq3vX0kR8sLwT2mYpN6bC9dF4gH7jK1a";

// All expected text is kept as "binary" strings (one char per byte, latin1), so that outputs
// are compared byte for byte and a block cut inside a UTF-8 character cannot hide.
const bin = (s: string): string => Buffer.from(s, "utf8").toString("latin1");

/** What pg_restore 17 writes before the rows of one TABLE DATA entry. */
const HEADER = bin(
    [
        "--",
        "-- PostgreSQL database dump",
        "--",
        "",
        `\\restrict ${KEY}`,
        "",
        "-- Dumped from database version 17.6",
        "-- Dumped by pg_dump version 17.6",
        "",
        "SET statement_timeout = 0;",
        "SET lock_timeout = 0;",
        "SET idle_in_transaction_session_timeout = 0;",
        "SET client_encoding = 'UTF8';",
        "SET standard_conforming_strings = on;",
        "SELECT pg_catalog.set_config('search_path', '', false);",
        "SET check_function_bodies = false;",
        "SET xmloption = content;",
        "SET client_min_messages = warning;",
        "SET row_security = off;",
        "",
        "--",
        "-- Data for Name: ledger; Type: TABLE DATA; Schema: public; Owner: app",
        "--",
        "",
        "COPY public.ledger (id, note) FROM stdin;",
        "",
    ].join("\n"),
);

/** What pg_restore writes after the end marker. */
const TRAILER = bin(
    ["", "", "--", "-- PostgreSQL database dump complete", "--", "", `\\unrestrict ${KEY}`, "", ""].join("\n"),
);

/** One table's data as split-copy.pl reads it, with the rows it holds. */
interface CopyInput {
    header: string;
    /** Row lines without their newline, as binary strings; all distinct. */
    rows: string[];
    trailer: string;
    bytes: Buffer;
}

function copyInput(rows: string[], trailer = TRAILER): CopyInput {
    const text = HEADER + rows.map((row) => `${row}\n`).join("") + END + trailer;
    return { header: HEADER, rows, trailer, bytes: Buffer.from(text, "latin1") };
}

/** Small deterministic PRNG (mulberry32), so a failure reproduces. */
function prng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

// Pieces of values as COPY text format writes them: escaped backslash, newline, tab and CR,
// a backslash before a dot (the end marker's look-alike), NULL spelled as a string, and
// multi-byte characters.
const PIECES = [
    "plain",
    " ",
    "0123456789",
    "\\\\",
    "\\n",
    "\\t",
    "\\r",
    "\\\\.",
    "\\\\\\\\",
    ".",
    "é",
    "€ 12,50",
    "🙂",
    "日本語",
    "'",
    '"',
    "NULL",
    "\\\\N",
];

/**
 * More than `minBytes` of distinct two-column rows (id, note) with notes from 0 bytes to
 * 70 kB, plus the awkward ones: a first row whose whole line is `\\.`, an empty line, a line
 * that is `\N`, a row of more than 1.5 MiB and a last row ending in an escaped backslash.
 */
function generateRows(minBytes: number, seed: number): string[] {
    const random = prng(seed);
    const value = (target: number): string => {
        let v = "";
        while (v.length < target) v += PIECES[Math.floor(random() * PIECES.length)];
        return v;
    };
    const rows: string[] = [];
    let bytes = 0;
    for (let id = 1; bytes < minBytes; id++) {
        const p = random();
        const target = p < 0.7 ? random() * 200 : p < 0.95 ? 200 + random() * 4_000 : 4_000 + random() * 66_000;
        const note = id % 97 === 0 ? "\\N" : value(Math.floor(target));
        const row = bin(`${id}\t${note}`);
        rows.push(row);
        bytes += row.length + 1;
    }
    const huge = bin(`0\t${value(BLOCK + BLOCK / 2)}`);
    expect(huge.length).toBeGreaterThan(BLOCK + BLOCK / 2);
    rows.splice(Math.floor(rows.length * 0.8), 0, huge);
    rows.splice(Math.floor(rows.length / 2), 0, "", "\\N");
    rows.unshift("\\\\.");
    rows.push(bin("-1\tlast note ends in a backslash \\\\"));
    return rows;
}

/**
 * Checks each output against `input`: the header, then whole input rows in input order, then
 * the end marker, and for output 0 the trailer; and that together the outputs hold every row
 * exactly once. Returns the bytes of rows each output got.
 */
function expectSplit(outs: Buffer[], input: CopyInput): number[] {
    const position = new Map(input.rows.map((row, i) => [row, i]));
    const taken: (number | undefined)[] = new Array(input.rows.length);
    const problems: string[] = [];
    const rowBytes = outs.map((out, o) => {
        const text = out.toString("latin1");
        const tail = END + (o === 0 ? input.trailer : "");
        if (!text.startsWith(input.header)) problems.push(`output ${o} does not start with the header`);
        if (!text.endsWith(tail))
            problems.push(`output ${o} does not end with ${o === 0 ? "the end marker and trailer" : "the end marker"}`);
        if (problems.length) return 0;
        const body = text.slice(input.header.length, text.length - tail.length);
        if (body !== "" && !body.endsWith("\n")) problems.push(`output ${o} ends inside a row`);
        let last = -1;
        for (const line of body === "" ? [] : body.slice(0, -1).split("\n")) {
            const at = position.get(line);
            if (at === undefined) {
                problems.push(
                    `output ${o} holds a line that is no input row: ${JSON.stringify(line.slice(0, 60))} (${line.length} bytes)`,
                );
            } else if (taken[at] !== undefined) {
                problems.push(`row ${at} is in output ${taken[at]} and again in output ${o}`);
            } else if (at < last) {
                problems.push(`output ${o} has row ${at} after row ${last}`);
            } else {
                taken[at] = o;
                last = at;
            }
            if (problems.length > 10) break;
        }
        return body.length;
    });
    const missing = [...taken.keys()].filter((i) => taken[i] === undefined);
    if (missing.length) problems.push(`${missing.length} rows in no output, first ${missing.slice(0, 5).join(", ")}`);
    expect(problems).toEqual([]);
    return rowBytes;
}

function expectClean(r: RunResult): void {
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
}

function expectDamaged(r: RunResult): void {
    expect(r.signal).toBeNull();
    expect(r.code).not.toBe(0);
    const lines = r.stderr.split("\n").filter((l) => l !== "");
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/end marker/);
}

describe("split-copy.pl", () => {
    let work: string;
    let big: CopyInput;
    let count = 0;
    /** Fresh output paths under the scratch folder. */
    const paths = (n: number): string[] => Array.from({ length: n }, (_, i) => join(work, `out-${++count}.${i}`));
    /** Runs split-copy.pl with `n` regular files as outputs; returns their contents. */
    async function splitToFiles(input: Buffer, n: number): Promise<{ r: RunResult; outs: Buffer[] }> {
        const outs = paths(n);
        const r = await run("perl", [SPLIT_COPY, ...outs], { input, timeoutMs: 30_000 });
        return { r, outs: outs.map((p) => readFileSync(p)) };
    }

    beforeAll(() => {
        work = makeTempDir("split-copy");
        big = copyInput(generateRows(5.5 * BLOCK, 20240611));
        expect(big.bytes.length).toBeGreaterThan(5.5 * BLOCK);
    });
    afterAll(() => {
        rmSync(work, { recursive: true, force: true });
    });

    it.each([2, 3])(
        "over %i files: each output is header, whole rows in order, end marker; together every row once; each gets rows",
        async (n) => {
            const { r, outs } = await splitToFiles(big.bytes, n);
            expectClean(r);
            const rowBytes = expectSplit(outs, big);
            expect(
                rowBytes.every((b) => b > 0),
                `row bytes per output: ${rowBytes.join(", ")}`,
            ).toBe(true);
        },
    );

    it("over one file: the output is the input byte for byte", async () => {
        const { r, outs } = await splitToFiles(big.bytes, 1);
        expectClean(r);
        expect(outs[0].equals(big.bytes)).toBe(true);
    });

    // Readers of FIFOs, as psql sessions would be: cat drains at once; the slow one reads 4 KiB
    // every 2 ms, so it needs half a second or more per 1 MiB block.
    const SLOW_READER = [
        "open(my $f, '<:raw', $ARGV[0]) or die \"$ARGV[0]: $!\\n\"; binmode STDOUT; my $buf;",
        "while (sysread($f, $buf, 4096)) { select(undef, undef, undef, 0.002); print $buf }",
    ].join(" ");
    it.each([[["fast", "fast"]], [["slow", "fast"]], [["fast", "slow", "fast"]]])(
        "over FIFOs read by %j readers: nothing lost or repeated, a slow reader gets fewer rows",
        async (speeds) => {
            const fifos = paths(speeds.length);
            for (const fifo of fifos) await runOk("mkfifo", [fifo]);
            const readers = fifos.map((fifo, i) =>
                speeds[i] === "slow"
                    ? run("perl", ["-e", SLOW_READER, fifo], { timeoutMs: 30_000 })
                    : run("cat", [fifo], { timeoutMs: 30_000 }),
            );
            const [r, ...read] = await Promise.all([
                run("perl", [SPLIT_COPY, ...fifos], { input: big.bytes, timeoutMs: 30_000 }),
                ...readers,
            ]);
            expectClean(r);
            for (const reader of read) expectClean(reader);
            const rowBytes = expectSplit(
                read.map((x) => x.stdoutBytes),
                big,
            );
            const slow = rowBytes.filter((_, i) => speeds[i] === "slow");
            const fast = rowBytes.filter((_, i) => speeds[i] === "fast");
            const fastAverage = fast.reduce((a, b) => a + b, 0) / fast.length;
            for (const b of slow) expect(b, `row bytes per output: ${rowBytes.join(", ")}`).toBeLessThan(fastAverage);
            expect(
                rowBytes.filter((b) => b > 0).length,
                `row bytes per output: ${rowBytes.join(", ")}`,
            ).toBeGreaterThan(1);
        },
    );

    it.each([
        [1, "with", TRAILER],
        [2, "with", TRAILER],
        [3, "with", TRAILER],
        [2, "without", ""],
    ])(
        "an empty table over %i outputs, %s a trailer: each gets the header and the end marker, the first the trailer",
        async (n, _with, trailer) => {
            const input = copyInput([], trailer);
            const { r, outs } = await splitToFiles(input.bytes, n);
            expectClean(r);
            expectSplit(outs, input);
            expect(outs.map((o) => o.toString("latin1"))).toEqual(
                outs.map((_, i) => HEADER + END + (i === 0 ? trailer : "")),
            );
        },
    );

    const INSERTS = bin(
        [
            "SET client_encoding = 'UTF8';",
            "",
            "INSERT INTO public.ledger (id, note) VALUES (1, 'COPY public.ledger (id, note) FROM stdin;');",
            "INSERT INTO public.ledger (id, note) VALUES (2, E'\\\\.\\n€');",
            "",
        ].join("\n"),
    );
    it.each([
        ["INSERT statements", INSERTS],
        ["INSERT statements, no final newline", INSERTS.slice(0, -1)],
        [
            "a COPY from a file",
            bin("SET client_encoding = 'UTF8';\nCOPY public.ledger (id, note) FROM '/tmp/x';\n1\ta\n\\.\n"),
        ],
        [
            "a COPY line without its newline",
            bin("SET row_security = off;\n\nCOPY public.ledger (id, note) FROM stdin;"),
        ],
        ["nothing", ""],
    ])("input that is not one COPY (%s) goes to the first output whole, nothing to the others", async (_name, text) => {
        const input = Buffer.from(text, "latin1");
        const { r, outs } = await splitToFiles(input, 3);
        expectClean(r);
        expect(outs[0].toString("latin1")).toBe(text);
        expect(outs.slice(1).map((o) => o.length)).toEqual([0, 0]);
    });

    it.each([
        ["the COPY line, then nothing", () => HEADER],
        ["a few rows and no end marker", () => `${HEADER}1\ta\n2\tb\n`],
        ["rows, the last one cut", () => `${HEADER}1\ta\n2\tb`],
        ["a half end marker", () => `${HEADER}1\ta\n\\`],
        [
            "more than two blocks of rows and no end marker",
            () => big.bytes.subarray(0, big.bytes.length - END.length - TRAILER.length).toString("latin1"),
        ],
    ])("input that ends inside the data (%s) fails with one line about the end marker", async (_name, text) => {
        const { r } = await splitToFiles(Buffer.from(text(), "latin1"), 2);
        expectDamaged(r);
    });

    // stdin is read in reads of exactly one block; put the end marker (or the newline before
    // it) across the boundary between two reads, after one and after two full blocks.
    it.each([1, 2].flatMap((blocks) => [-4, -3, -2, -1, 0, 1].map((shift) => [blocks, shift])))(
        "an end marker across the %i MiB read boundary (at %i) ends the data there",
        async (blocks, shift) => {
            const want = blocks * BLOCK + shift; // row bytes before the marker
            const rows: string[] = [];
            let bytes = 0;
            for (let id = 1; want - bytes > 3_000; id++) {
                const row = `${id}\t${"x".repeat(990)}\\\\`;
                rows.push(row);
                bytes += row.length + 1;
            }
            const prefix = `${rows.length + 1}\t`;
            rows.push(prefix + "y".repeat(want - bytes - prefix.length - 1));
            const input = copyInput(rows);
            expect(input.bytes.indexOf("\n\\.\n") + 1 - HEADER.length).toBe(blocks * BLOCK + shift);
            const { r, outs } = await splitToFiles(input.bytes, 2);
            expectClean(r);
            expectSplit(outs, input);
        },
    );

    it("input that arrives in small pieces, the COPY line and the end marker cut, still splits right", async () => {
        const rows = ["\\\\.", "1\tone", "", "2\ttwo \\\\", "3\t€ drei"].map(bin);
        const input = copyInput(rows);
        const text = input.bytes.toString("latin1");
        const copyAt = HEADER.lastIndexOf("COPY ");
        const endAt = text.indexOf("\n\\.\n") + 1;
        const cuts = [
            copyAt + 5,
            HEADER.length - 1,
            HEADER.length,
            HEADER.length + 3,
            endAt - 1,
            endAt,
            endAt + 1,
            endAt + 2,
            endAt + 5,
        ];
        const pieces = [0, ...cuts].map((from, i) => input.bytes.subarray(from, [...cuts, text.length][i]));
        expect(Buffer.concat(pieces).equals(input.bytes)).toBe(true);

        const outs = paths(2);
        const child = spawn("perl", [SPLIT_COPY, ...outs], { env: cleanEnv(), stdio: ["pipe", "pipe", "pipe"] });
        let stderr = "";
        child.stdout.resume();
        child.stderr.on("data", (b: Buffer) => (stderr += b.toString("utf8")));
        const closed = new Promise<number | null>((done) => child.on("close", (code) => done(code)));
        for (const piece of pieces) {
            await new Promise<void>((done, fail) => child.stdin.write(piece, (e) => (e ? fail(e) : done())));
            await sleep(25);
        }
        child.stdin.end();
        const code = await closed;
        expect(stderr).toBe("");
        expect(code).toBe(0);
        expectSplit(
            outs.map((p) => readFileSync(p)),
            input,
        );
    });
});
