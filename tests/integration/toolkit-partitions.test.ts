// fortress-restore --force over live databases with partitioned tables (the failback and
// `--before ... --force` path): pg_restore --clean drops a partition's inherited constraints
// before its parent's, which PostgreSQL refuses. The replacing restore must still end with
// exactly the backup (catalog, rows, sequences) in one transaction, keep what is not in the
// backup, and leave the target exactly as it was when it fails half way.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPagila } from "../../harness/datasets";
import { startPostgres, type PostgresCluster } from "../../harness/postgres";
import { cleanEnv, runOk, sleep } from "../../harness/process";
import { expectOneLineError } from "../support/toolkit-rig";
import { startS3Server, type S3Server } from "../../harness/s3";
import {
    databaseChecksums,
    EXIT,
    removeToolkitScratch,
    runToolkit,
    sequenceValues,
    storageSettings,
    toolkitEnv,
} from "../../harness/toolkit";

const BUCKET = "partition-backups";

/** `pg_dump --schema-only` text, without owners and grants (the restore leaves them out) nor the random `\restrict` keys. */
async function schemaDump(pg: PostgresCluster, db: string, extra: string[] = []): Promise<string> {
    const r = await pg.client("pg_dump", ["--schema-only", "--no-owner", "--no-acl", ...extra], db);
    return r.stdout.replace(/^\\(un)?restrict .*\n/gm, "");
}

/** Everything a restore may change: the schema (without `exclude`), every table's rows, every sequence. */
async function snapshot(pg: PostgresCluster, db: string, exclude: string[] = []) {
    return {
        schema: await schemaDump(
            pg,
            db,
            exclude.flatMap((t) => ["-T", t]),
        ),
        sums: await databaseChecksums(pg, db),
        sequences: await sequenceValues(pg, db),
    };
}

interface Manifest {
    id: string;
    object: string;
    bytes: number;
    sha256: string;
    [k: string]: unknown;
}

describe("fortress-restore --force over live databases with partitioned tables", () => {
    let pg: PostgresCluster;
    let s3: S3Server;

    beforeAll(async () => {
        [pg, s3] = await Promise.all([startPostgres(), startS3Server({ buckets: [BUCKET] })]);
    });

    afterAll(async () => {
        await Promise.all([pg?.stop(), s3?.stop()]);
        removeToolkitScratch();
    });

    /** The settings of a database backed up under its own prefix. */
    const envFor = (db: string) =>
        toolkitEnv({
            DATABASE_URL: pg.url(db),
            ...storageSettings({ primary: s3, bucket: BUCKET, prefix: `postgresql/${db}` }),
        });
    const backup = async (db: string): Promise<Manifest> => {
        const r = await runToolkit("fortress-backup", [], envFor(db));
        expect(r.code, r.stderr).toBe(EXIT.ok);
        const id = r.stdout.trim();
        return JSON.parse(
            (await s3.getObject(BUCKET, `postgresql/${db}/${id}.manifest.json`))!.toString("utf8"),
        ) as Manifest;
    };
    const forceRestore = (id: string, db: string, target: string, extra: NodeJS.ProcessEnv = {}) =>
        runToolkit(
            "fortress-restore",
            ["--backup", id, "--target", pg.url(target), "--force"],
            { ...envFor(db), ...extra },
            { timeoutMs: 60_000 },
        );

    describe("Pagila", () => {
        let base: Manifest;
        let source: Awaited<ReturnType<typeof snapshot>>;

        beforeAll(async () => {
            await pg.createDatabase("pagila");
            await loadPagila(pg, "pagila");
            await pg.psql("REFRESH MATERIALIZED VIEW rental_by_category;", "pagila");
            base = await backup("pagila");
            source = await snapshot(pg, "pagila");
        });

        /**
         * A copy of Pagila that went on living after the backup: rows changed in and across
         * partitions, sequences advanced, a partitioned index, a new partition and a table of
         * a newer migration.
         */
        const liveCopy = async (name: string) => {
            await pg.psql(`CREATE DATABASE ${name} TEMPLATE pagila;`);
            await pg.psql(
                `
                DELETE FROM payment WHERE payment_id % 5 = 0;
                UPDATE payment SET amount = amount + 1 WHERE payment_id % 7 = 0;
                INSERT INTO payment (customer_id, staff_id, rental_id, amount, payment_date)
                    SELECT customer_id, staff_id, rental_id, amount, payment_date + interval '1 hour'
                    FROM payment WHERE payment_id % 11 = 0 AND payment_date < '2022-07-01';
                UPDATE customer SET email = lower(email) WHERE customer_id % 3 = 0;
                SELECT nextval('actor_actor_id_seq') FROM generate_series(1, 5);
                CREATE INDEX payment_amount_idx ON payment (amount);
                CREATE TABLE payment_p2022_08 PARTITION OF payment FOR VALUES FROM ('2022-08-01') TO ('2022-09-01');
                INSERT INTO payment (customer_id, staff_id, rental_id, amount, payment_date)
                    SELECT customer_id, staff_id, rental_id, amount, payment_date + interval '31 days'
                    FROM payment WHERE payment_date >= '2022-07-01' LIMIT 20;
                CREATE TABLE kept_after_backup (id int PRIMARY KEY, note text);
                INSERT INTO kept_after_backup SELECT g, 'row ' || g FROM generate_series(1, 50) g;
                REFRESH MATERIALIZED VIEW rental_by_category;
            `,
                name,
            );
        };

        it("replaces a live Pagila exactly: catalog, rows and sequences of the backup; a newer table is kept", async () => {
            await liveCopy("live");
            const before = await snapshot(pg, "live", ["public.kept_after_backup"]);
            expect(before.schema).not.toEqual(source.schema);
            expect(before.sums).not.toEqual(source.sums);
            expect(before.sequences).not.toEqual(source.sequences);
            const kept = before.sums["public.kept_after_backup"];
            expect(kept).toBeDefined();

            const r = await forceRestore(base.id, "pagila", "live");
            expect(r.code, r.stderr).toBe(EXIT.ok);
            expect(r.stderr).toMatch(/restoring \S+ over live in one transaction \(--force\)/);
            expect(r.stdout).toMatch(
                new RegExp(`^restored ${base.id} into live: \\d+ tables, \\d+ rows, counts match the manifest`),
            );

            const after = await snapshot(pg, "live", ["public.kept_after_backup"]);
            expect(after.schema).toContain("ATTACH PARTITION public.payment_p2022_07");
            expect(after.schema).toEqual(source.schema);
            // The partition added after the backup went with its parent, the newer table stayed.
            const { "public.kept_after_backup": keptAfter, ...restored } = after.sums;
            expect(restored).toEqual(source.sums);
            expect(keptAfter).toBe(kept);
            expect(after.sequences).toEqual(source.sequences);
        }, 120_000);

        describe("a --force restore that fails half way leaves the target exactly as it was", () => {
            let before: Awaited<ReturnType<typeof snapshot>>;

            beforeAll(async () => {
                await liveCopy("live_failed");
                before = await snapshot(pg, "live_failed");
            });

            /** `base`'s archive, decompressed: pg_dump -Fc without its own compression. */
            const archive = async (): Promise<Buffer> =>
                (await runOk("zstd", ["-d", "-q", "-c"], { input: (await s3.getObject(BUCKET, base.object))! }))
                    .stdoutBytes;
            /** Uploads a changed archive (same length: it still reads as whole) as a new backup whose manifest matches it. */
            const damagedBackup = async (suffix: string, dump: Buffer): Promise<string> => {
                const sealed = (await runOk("zstd", ["-q", "-c"], { input: dump })).stdoutBytes;
                const sha256 = (await runOk("sha256sum", [], { input: sealed })).stdout.split(" ")[0]!;
                const id = `${base.id}-${suffix}`;
                const key = `postgresql/pagila/${id}.dump.zst`;
                await s3.putObject(BUCKET, key, sealed);
                await s3.putObject(
                    BUCKET,
                    `postgresql/pagila/${id}.manifest.json`,
                    JSON.stringify({ ...base, id, object: key, bytes: sealed.length, sha256 }),
                );
                return id;
            };
            /** Where one rental row's COPY line is in the archive (pg_dump writes it as COPY TO STDOUT does). */
            const rentalRow = async (dump: Buffer, rentalId: number) => {
                const line = await pg.psql(
                    `COPY (SELECT * FROM rental WHERE rental_id = ${rentalId}) TO STDOUT;`,
                    "pagila",
                );
                expect(line).toMatch(new RegExp(`^${rentalId}\t`));
                const at = dump.indexOf(`${line}\n`);
                expect(at, line).toBeGreaterThan(0);
                expect(dump.indexOf(`${line}\n`, at + 1)).toBe(-1);
                return { at, length: line.length + 1 };
            };

            // rental's rows come after every payment partition's: by then the partitions
            // were dropped, recreated and filled again.
            it("a row the server rejects, late in the data: exit 1, rolled back", async () => {
                const dump = await archive();
                dump.write("x", (await rentalRow(dump, 15000)).at); // rental_id 15000 -> x5000
                const r = await forceRestore(await damagedBackup("badrow", dump), "pagila", "live_failed");
                expectOneLineError(
                    r,
                    EXIT.failure,
                    /invalid input syntax for type integer: "x5000".*the transaction rolled back, live_failed is unchanged/,
                );
                expect(await snapshot(pg, "live_failed")).toEqual(before);
            }, 120_000);

            it("pg_restore failing mid-stream (a data chunk whose length runs past the end): no COMMIT reaches the server", async () => {
                const dump = await archive();
                const row = await rentalRow(dump, 12000);
                // Each COPY line is one chunk: a sign byte and a little-endian length before it.
                expect(dump[row.at - 5]).toBe(0);
                expect(dump.readUInt32LE(row.at - 4)).toBe(row.length);
                dump[row.at - 1] = 0x01; // + 16 MiB: past the end of the archive
                const r = await forceRestore(await damagedBackup("badchunk", dump), "pagila", "live_failed");
                expectOneLineError(
                    r,
                    EXIT.failure,
                    /pg_restore failed: .*(could not read|end of file|out of memory).*the transaction rolled back, live_failed is unchanged/,
                );
                expect(await snapshot(pg, "live_failed")).toEqual(before);
            }, 120_000);

            it("a lock on a partition held past FORTRESS_LOCK_TIMEOUT: exit 1 naming the holder, rolled back", async () => {
                const holder = spawn(join(pg.binDir, "psql"), ["-X", "-q", "-v", "ON_ERROR_STOP=1"], {
                    env: cleanEnv({ ...pg.clientEnv("live_failed"), PGAPPNAME: "lock-holder" }),
                    stdio: ["pipe", "ignore", "ignore"],
                });
                holder.stdin.write("BEGIN; SELECT count(*) FROM payment_p2022_03;\n");
                try {
                    for (let i = 0; i < 100; i++) {
                        const n = await pg.psql(
                            `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'lock-holder' AND state = 'idle in transaction';`,
                        );
                        if (n !== "0") break;
                        await sleep(50);
                    }
                    const r = await forceRestore(base.id, "pagila", "live_failed", { FORTRESS_LOCK_TIMEOUT: "2s" });
                    expect(r.ms).toBeLessThan(20_000);
                    expectOneLineError(
                        r,
                        EXIT.failure,
                        /lock.*FORTRESS_LOCK_TIMEOUT \(2s\) by pid \d+ \(lock-holder, idle in transaction\).*the transaction rolled back, live_failed is unchanged/,
                    );
                } finally {
                    await pg.psql(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'lock-holder';",
                    );
                    holder.kill("SIGKILL");
                }
                expect(await snapshot(pg, "live_failed")).toEqual(before);
            }, 60_000);
        });
    });

    describe("a partitioned table two levels deep, referenced by a foreign key", () => {
        let base: Manifest;
        let source: Awaited<ReturnType<typeof snapshot>>;

        beforeAll(async () => {
            await pg.createDatabase("events");
            await pg.psql(
                `
                CREATE TABLE event (id bigint, at date, kind text, body text, PRIMARY KEY (id, at, kind)) PARTITION BY RANGE (at);
                CREATE TABLE event_2026_01 PARTITION OF event FOR VALUES FROM ('2026-01-01') TO ('2026-02-01') PARTITION BY LIST (kind);
                CREATE TABLE event_2026_01_a PARTITION OF event_2026_01 FOR VALUES IN ('a');
                CREATE TABLE event_2026_01_other PARTITION OF event_2026_01 DEFAULT;
                CREATE TABLE event_2026_02 PARTITION OF event FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
                CREATE INDEX event_kind_idx ON event (kind);
                CREATE TABLE note (id serial PRIMARY KEY, event_id bigint, event_at date, event_kind text,
                    FOREIGN KEY (event_id, event_at, event_kind) REFERENCES event);
                CREATE VIEW event_counts AS SELECT kind, count(*) AS n FROM event GROUP BY kind;
                INSERT INTO event SELECT g, date '2026-01-01' + (g % 59), (ARRAY['a', 'b', 'c'])[1 + g % 3], md5(g::text)
                    FROM generate_series(1, 3000) g;
                INSERT INTO note (event_id, event_at, event_kind) SELECT id, at, kind FROM event WHERE id % 4 = 0;
            `,
                "events",
            );
            base = await backup("events");
            source = await snapshot(pg, "events");
        });

        it("replaces it exactly; a newer table's foreign key into it fails the restore rather than being dropped", async () => {
            await pg.psql(
                `
                DELETE FROM note WHERE id % 2 = 0;
                UPDATE event SET body = 'changed' WHERE id % 5 = 0;
                CREATE TABLE event_2026_03 PARTITION OF event FOR VALUES FROM ('2026-03-01') TO ('2026-04-01');
                INSERT INTO event VALUES (9001, '2026-03-02', 'a', 'after the backup');
                INSERT INTO note (event_id, event_at, event_kind) VALUES (9001, '2026-03-02', 'a');
            `,
                "events",
            );
            const r = await forceRestore(base.id, "events", "events");
            expect(r.code, r.stderr).toBe(EXIT.ok);
            expect(await snapshot(pg, "events")).toEqual(source);

            // Not in the backup, so not the restore's to drop: as for an ordinary table.
            await pg.psql(
                `CREATE TABLE late_note (event_id bigint, event_at date, event_kind text,
                FOREIGN KEY (event_id, event_at, event_kind) REFERENCES event);
                INSERT INTO late_note VALUES (3, '2026-01-04', 'a');`,
                "events",
            );
            const before = await snapshot(pg, "events");
            const refused = await forceRestore(base.id, "events", "events");
            expectOneLineError(
                refused,
                EXIT.failure,
                /depend on.*constraint late_note_\w+_fkey on table public\.late_note depends on.*the transaction rolled back, events is unchanged: objects not in the backup .*--into NAME/,
            );
            expect(await snapshot(pg, "events")).toEqual(before);
        }, 120_000);
    });
});
