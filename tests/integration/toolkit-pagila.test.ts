// Pagila (a public sample nobody here wrote: partitions, triggers, functions, views, a
// materialized view, enums, domains, sequences) through the toolkit: a backup, restored,
// must reproduce the catalog, the data and the sequence values exactly. This file also
// covers the unencrypted (.dump.zst) and single-bucket configurations.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPagila } from "../../harness/datasets";
import { startPostgres, type PostgresCluster } from "../../harness/postgres";
import { startS3Server, type S3Server } from "../../harness/s3";
import {
    databaseChecksums,
    databaseContents,
    type DatabaseContents,
    EXIT,
    exactCounts,
    fillDataOffsetsRun,
    readManifest,
    removeToolkitScratch,
    runToolkit,
    storageSettings,
    toolkitEnv,
} from "../../harness/toolkit";

const PREFIX = "postgresql/pagila";
const BUCKET = "pagila-backups";

/**
 * `pg_dump --schema-only` text, without the random `\restrict` keys that pg_dump 15.14+
 * writes (they differ on every run) and, when asked, without the block pg_dump emits for
 * schema public only when its owner differs from the default (the restore without owners
 * leaves the default).
 */
async function schemaDump(
    pg: PostgresCluster,
    db: string,
    extra: string[] = [],
    dropPublicOwner = false,
): Promise<string> {
    const r = await pg.client("pg_dump", ["--schema-only", ...extra], db);
    let text = r.stdout.replace(/^\\(un)?restrict .*\n/gm, "");
    if (dropPublicOwner) {
        text = text.replace(
            /--\n-- Name: public; Type: SCHEMA;[^\n]*\n--\n\n-- \*not\* creating schema, since initdb creates it\n\n\n(ALTER SCHEMA public OWNER TO [^\n]*\n\n)?/,
            "",
        );
    }
    return text;
}

describe("Pagila backup and restore reproduce the database exactly", () => {
    let pg: PostgresCluster;
    let s3: S3Server;
    let env: NodeJS.ProcessEnv;
    let id: string;
    let source: DatabaseContents;

    beforeAll(async () => {
        [pg, s3] = await Promise.all([startPostgres(), startS3Server({ buckets: [BUCKET] })]);
        await pg.createDatabase("pagila");
        await loadPagila(pg, "pagila"); // as-is: its objects belong to `postgres`, our superuser
        // Pagila creates rental_by_category WITH NO DATA; a live database would have it filled,
        // and a restore must bring the rows back (pg_dump records a REFRESH for it).
        await pg.psql("REFRESH MATERIALIZED VIEW rental_by_category;", "pagila");
        env = toolkitEnv({
            DATABASE_URL: pg.url("pagila"),
            ...storageSettings({ primary: s3, bucket: BUCKET, prefix: PREFIX }),
        });
        source = await databaseContents(pg, "pagila");
    });

    afterAll(async () => {
        await Promise.all([pg?.stop(), s3?.stop()]);
        removeToolkitScratch();
    });

    it("backs up unencrypted to a single bucket, counting partitions and their parent", async () => {
        const r = await runToolkit("fortress-backup", [], env);
        expect(r.code, r.stderr).toBe(EXIT.ok);
        expect(r.stderr).toMatch(/BACKUP_AGE_RECIPIENTS is empty: this backup is NOT encrypted/);
        id = r.stdout.trim();
        expect(await s3.listKeys(BUCKET, PREFIX)).toEqual(
            [`${PREFIX}/${id}.dump.zst`, `${PREFIX}/${id}.manifest.json`, `${PREFIX}/latest.json`].sort(),
        );
        const m = await readManifest(s3, BUCKET, `${PREFIX}/latest.json`);
        expect(m).toMatchObject({ id, encryption: "none", compression: "zstd", object: `${PREFIX}/${id}.dump.zst` });
        expect(m.tables).toEqual(await exactCounts(pg, "pagila"));
        const partitions = Object.keys(m.tables).filter((k) => k.startsWith("public.payment_p2022_"));
        expect(partitions.length).toBeGreaterThan(1);
        const sum = partitions.reduce((a, k) => a + (m.tables[k] as number), 0);
        expect(m.tables["public.payment"]).toBe(sum);
        expect(sum).toBeGreaterThan(10_000);
    });

    it("with --with-privileges: identical catalog (owners and grants too), data and sequences", async () => {
        const r = await runToolkit(
            "fortress-restore",
            ["--backup", id, "--into", "pagila_exact", "--with-privileges"],
            env,
        );
        expect(r.code, r.stderr).toBe(EXIT.ok);
        const restored = await schemaDump(pg, "pagila_exact");
        expect(restored).toContain("CREATE MATERIALIZED VIEW public.rental_by_category");
        expect(source.sums["public.rental_by_category"]).not.toBe("unpopulated");
        expect(restored).toEqual(await schemaDump(pg, "pagila"));
        expect(await databaseContents(pg, "pagila_exact")).toEqual(source);
    });

    it("loading the big tables' rows in several COPY sessions each: identical catalog, data and sequences", async () => {
        // 140k puts rental (1.4 MB, more than one 1 MiB block), film, staff (bytea photos),
        // film_actor, inventory and the payment partitions through split-copy.pl.
        const r = await runToolkit(
            "fortress-restore",
            ["--backup", id, "--into", "pagila_split", "--with-privileges", "--jobs", "3"],
            { ...env, FORTRESS_RESTORE_SPLIT_SIZE: "140k" },
        );
        expect(r.code, r.stderr).toBe(EXIT.ok);
        const split = r.stderr.match(/with 3 parallel jobs; (.*) with 3 COPY sessions each/);
        expect(split, r.stderr).not.toBeNull();
        expect(split![1]).toMatch(/^public\.rental \(1\.\d\d MiB\) /);
        expect(split![1]).toContain("public.staff (");
        expect(split![1]).toContain("public.payment_p2022_03 (");
        expect(await schemaDump(pg, "pagila_split")).toEqual(await schemaDump(pg, "pagila"));
        expect(await databaseContents(pg, "pagila_split")).toEqual(source);

        // The default size (64M) splits none of Pagila's tables: one pg_restore does it all.
        const plain = await runToolkit("fortress-restore", ["--backup", id, "--into", "pagila_unsplit"], env);
        expect(plain.code, plain.stderr).toBe(EXIT.ok);
        expect(plain.stderr).not.toMatch(/COPY sessions/);
    });

    it("by default (no owners, no ACLs): identical catalog apart from those, data and sequences", async () => {
        await pg.createDatabase("pagila_default");
        const r = await runToolkit("fortress-restore", ["--target", pg.url("pagila_default")], env);
        expect(r.code, r.stderr).toBe(EXIT.ok);
        const flags = ["--no-owner", "--no-acl"];
        expect(await schemaDump(pg, "pagila_default", flags, true)).toEqual(
            await schemaDump(pg, "pagila", flags, true),
        );
        expect(await databaseContents(pg, "pagila_default")).toEqual(source);
    });

    it("--tables restores a partitioned table and a table with triggers to exactly the backed-up rows", async () => {
        await pg.psql(
            `
            DELETE FROM payment WHERE payment_id % 3 = 0;
            UPDATE payment SET amount = amount + 1 WHERE payment_id % 7 = 0;
            UPDATE film_actor SET actor_id = actor_id WHERE film_id < 100; -- its trigger rewrites last_update
        `,
            "pagila_exact",
        );
        const corrupted = await databaseChecksums(pg, "pagila_exact");
        expect(corrupted["public.film_actor"]).not.toBe(source.sums["public.film_actor"]);
        expect(corrupted["public.payment_p2022_02"]).not.toBe(source.sums["public.payment_p2022_02"]);

        const r = await runToolkit(
            "fortress-restore",
            ["--backup", id, "--target", pg.url("pagila_exact"), "--tables", "payment,film_actor", "--force"],
            env,
        );
        expect(r.code, r.stderr).toBe(EXIT.ok);
        expect(await databaseChecksums(pg, "pagila_exact")).toEqual(source.sums);
        expect(
            await pg.psql(
                "SELECT string_agg(DISTINCT tgenabled::text, '') FROM pg_trigger WHERE tgrelid = 'film_actor'::regclass AND NOT tgisinternal;",
                "pagila_exact",
            ),
        ).toBe("O");
    });

    it("gives a streamed archive the data offsets pg_dump --file writes, byte for byte", async () => {
        // Magic, version, sizes, compression and the creation time (archive format 1.14):
        // the two dumps below may be made in different seconds.
        const header = 51;
        const run = await fillDataOffsetsRun(pg, "pagila");
        expect(run.streamed.length).toBe(run.file.length);
        expect(run.streamed.subarray(header).equals(run.file.subarray(header))).toBe(false); // no offsets yet
        expect(run.filled.subarray(header).equals(run.file.subarray(header))).toBe(true);
        // An archive that already has them is left as it is.
        expect(run.refilled.equals(run.file)).toBe(true);
    });

    it("verify proves the latest pagila backup and leaves no database behind", async () => {
        const r = await runToolkit("fortress-verify", [], env);
        expect(r.code, r.stderr).toBe(EXIT.ok);
        expect(r.stdout).toMatch(new RegExp(`^verified ${id}: \\d+ tables, \\d+ rows, counts match the manifest`));
        expect(await pg.psql("SELECT count(*) FROM pg_database WHERE datname LIKE 'fortress_verify_%';")).toBe("0");
    });
});
