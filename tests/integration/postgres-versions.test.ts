// Production runs managed PostgreSQL 17; Debian 12, which CI runs on, ships 15. tools/setup
// builds 17 (harness/process.ts, selectedPostgres) and the tests run on it by default: the
// first test fails if a default run is on anything else, so a run cannot drop back to 15
// unnoticed. 15 stays where it proves something about versions meeting: an older pg_dump
// against a newer server, a 15 backup restored into 17 (the upgrade), an older pg_restore
// and a newer archive, and fill_data_offsets on both archive formats (1.14 and 1.16).
import { delimiter } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPagila } from "../../harness/datasets";
import { startPostgres, type PostgresCluster } from "../../harness/postgres";
import { cleanEnv, run, type RunResult, runOk } from "../../harness/process";
import { startS3Server, type S3Server } from "../../harness/s3";
import {
    databaseContents,
    errorLines,
    EXIT,
    fillDataOffsetsRun,
    makeShimPath,
    readManifest,
    removeToolkitScratch,
    runToolkit,
    storageSettings,
    toolkitEnv,
    userTables,
} from "../../harness/toolkit";
import { backupOk } from "../support/toolkit-rig";

/** Production's major (DigitalOcean managed PostgreSQL). */
const PRODUCTION_MAJOR = 17;
/** The major a run must be on: production's, unless FORTRESS_TEST_PG asks for another on purpose. */
const EXPECTED_MAJOR = Number(process.env.FORTRESS_TEST_PG || PRODUCTION_MAJOR);
const BUCKET = "versions-backups";

describe("PostgreSQL versions: production's 17 by default, 15 where versions meet", () => {
    let pg17: PostgresCluster;
    let pg15: PostgresCluster;
    let s3: S3Server;

    /**
     * Toolkit settings for a cluster's pagila, under its own prefix, with the client tools of
     * `clients` first on PATH (none: the selected version's, as every other test has them).
     */
    const envFor = (pg: PostgresCluster, prefix: string, clients?: PostgresCluster): NodeJS.ProcessEnv => {
        const env = toolkitEnv({
            DATABASE_URL: pg.url("pagila"),
            ...storageSettings({ primary: s3, bucket: BUCKET, prefix }),
        });
        return clients ? { ...env, PATH: [clients.binDir, env.PATH].join(delimiter) } : env;
    };
    const manifest = (prefix: string) => readManifest(s3, BUCKET, `${prefix}/latest.json`);

    beforeAll(async () => {
        [pg17, pg15, s3] = await Promise.all([
            startPostgres({ version: "17" }),
            startPostgres({ version: "15" }),
            startS3Server({ buckets: [BUCKET] }),
        ]);
        for (const pg of [pg17, pg15]) {
            await pg.createDatabase("pagila");
            await loadPagila(pg, "pagila");
        }
    });

    afterAll(async () => {
        await Promise.all([pg17?.stop(), pg15?.stop(), s3?.stop()]);
        removeToolkitScratch();
    });

    it(`a default run is on PostgreSQL ${EXPECTED_MAJOR}: the server, the client tools on a clean and on a shim PATH, and what the toolkit records`, async () => {
        expect(pg17.major).toBe(17);
        expect(pg15.major).toBe(15);
        const pg = await startPostgres();
        try {
            expect(
                pg.major,
                "PostgreSQL 17 comes from bash tools/setup (run as root); FORTRESS_TEST_PG=15 runs on 15 on purpose",
            ).toBe(EXPECTED_MAJOR);
            expect(pg.serverVersion).toMatch(new RegExp(`^${EXPECTED_MAJOR}\\.\\d+`));
            expect(await pg.psql("SHOW server_version_num;")).toBe(String(pg.serverVersionNum));
            const versions = "for t in pg_dump pg_restore psql; do $t --version; done";
            const clean = await runOk("bash", ["-c", versions], { env: cleanEnv() });
            const shim = await runOk("bash", ["-c", versions], { env: cleanEnv({ PATH: makeShimPath({}) }) });
            for (const out of [clean.stdout, shim.stdout]) {
                expect(
                    out
                        .trim()
                        .split("\n")
                        .map((l) => /\(PostgreSQL\) (\d+)\./.exec(l)?.[1]),
                ).toEqual(Array(3).fill(String(EXPECTED_MAJOR)));
            }
            await pg.createDatabase("pagila");
            await pg.psql("CREATE TABLE t AS SELECT generate_series(1, 10) AS n;", "pagila");
            await backupOk(envFor(pg, "default"));
            const m = await manifest("default");
            expect(m.serverVersion).toMatch(new RegExp(`^${EXPECTED_MAJOR}\\.`));
            expect(m.pgDumpVersion).toMatch(new RegExp(`^${EXPECTED_MAJOR}\\.`));
        } finally {
            await pg.stop();
        }
    });

    it("pg_dump 15 refuses a PostgreSQL 17 server: fortress-backup exits 2 asking for postgresql-client-17 and stores nothing", async () => {
        const r = await runToolkit("fortress-backup", [], envFor(pg17, "refused", pg15));
        expect(r.code, r.stderr).toBe(EXIT.usage);
        expect(errorLines(r.stderr)).toEqual([
            "fortress-backup: error: pg_dump 15 cannot dump PostgreSQL 17: install postgresql-client-17",
        ]);
        expect(await s3.listKeys(BUCKET, "refused/")).toEqual([]);
    });

    it("a backup of PostgreSQL 15 by pg_dump 15 restores into 17 with 17's clients (the upgrade) to identical data and sequences", async () => {
        const id = await backupOk(envFor(pg15, "from15", pg15));
        const m = await manifest("from15");
        expect(m.id).toBe(id);
        expect([m.serverVersion, m.pgDumpVersion].map((v) => v.split(".")[0])).toEqual(["15", "15"]);
        await pg17.createDatabase("from15");
        const r = await runToolkit(
            "fortress-restore",
            ["--backup", id, "--target", pg17.url("from15")],
            envFor(pg17, "from15", pg17),
        );
        expect(r.code, r.stderr).toBe(EXIT.ok);
        expect(await databaseContents(pg17, "from15")).toEqual(await databaseContents(pg15, "pagila"));
    });

    describe("pg_restore 15 and a backup made by pg_dump 17", () => {
        let restore: RunResult;

        beforeAll(async () => {
            const id = await backupOk(envFor(pg17, "v17", pg17));
            expect((await manifest("v17")).pgDumpVersion).toMatch(/^17\./);
            await pg17.createDatabase("by15");
            restore = await runToolkit(
                "fortress-restore",
                ["--backup", id, "--target", pg17.url("by15")],
                envFor(pg17, "v17", pg15),
            );
        });

        it("fails in one error line and leaves the target untouched", async () => {
            expect(restore.code).not.toBe(EXIT.ok);
            expect(errorLines(restore.stderr)).toHaveLength(1);
            expect(errorLines(restore.stderr)[0]).toMatch(/unsupported version \(1\.16\)|postgresql-client-17/);
            expect(await userTables(pg17, "by15")).toEqual([]);
        });

        // Not exit 3 and "restore another backup": every backup would answer the same way.
        it("exits 2 asking for postgresql-client-17, as fortress-backup does for pg_dump", () => {
            expect(restore.code).toBe(EXIT.usage);
            expect(errorLines(restore.stderr)[0]).toMatch(/install postgresql-client-17/);
        });
    });

    // The streamed archive differs from pg_dump --file's only in the TOC's data offsets,
    // which pg_dump cannot seek back to write into a pipe, and in the creation time.
    it.each([
        { major: 15, format: 14 },
        { major: 17, format: 16 },
    ])(
        "fill_data_offsets gives pg_dump $major's streamed archive (format 1.$format) the offsets pg_dump --file writes, byte for byte",
        async ({ major, format }) => {
            const pg = major === 17 ? pg17 : pg15;
            const run = await fillDataOffsetsRun(pg, "pagila");
            const { file, streamed } = run;
            expect([file.subarray(0, 5).toString(), file[5], file[6]]).toEqual(["PGDMP", 1, format]);
            // Magic to the compression setting, then seven ints of creation time: the
            // compression setting is one int (5 bytes) before format 1.15 and one byte since.
            const fixed = format >= 15 ? 12 : 16;
            const header = fixed + 7 * 5;
            expect(streamed.subarray(0, fixed).equals(file.subarray(0, fixed))).toBe(true);
            expect(streamed.length).toBe(file.length);
            expect(streamed.subarray(header).equals(file.subarray(header))).toBe(false);

            expect(run.filled.subarray(header).equals(file.subarray(header))).toBe(true);
            // It reports one offset per data block: every TABLE DATA entry of the archive.
            expect(run.tableData).toBeGreaterThan(20);
            expect(run.printed).toHaveLength(run.tableData);
            // An archive that already has them is left as it is.
            expect(run.refilled.equals(file)).toBe(true);
        },
    );

    it("every client tool the harness puts on PATH for 17 runs, pg_dumpall's pg_dump included", async () => {
        const r = await run("bash", ["-c", "pg_dumpall --schema-only | grep -c '^-- PostgreSQL database dump$'"], {
            env: cleanEnv({ ...pg17.clientEnv(), PATH: [pg17.binDir, cleanEnv().PATH].join(delimiter) }),
        });
        expect(r.code, r.stderr).toBe(0);
        // pg_dumpall runs pg_dump once per database it dumps: all but template0.
        expect(r.stdout.trim()).toBe(await pg17.psql("SELECT count(*) FROM pg_database WHERE datname <> 'template0';"));
    });
});
