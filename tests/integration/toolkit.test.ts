// The host toolkit against real services: a throwaway PostgreSQL cluster, two s3rver
// instances standing in for the primary region and the offsite vault, and the real
// pg_dump/pg_restore/rclone/age/zstd. One cluster and one pair of servers for the file.
import { createHash } from "node:crypto";
import { chmodSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PLAN_ROWS_PER_SCALE } from "../../harness/datasets";
import { cleanEnv, run, runOk, sleep } from "../../harness/process";
import type { S3Server } from "../../harness/s3";
import {
    databaseChecksums,
    databaseContents,
    type DatabaseContents,
    errorLines,
    EXIT,
    exactCounts,
    type Manifest,
    readManifest,
    runToolkit,
    tableChecksum,
    toolkitEnv,
} from "../../harness/toolkit";
import { startToolkitRig, stopToolkitRig, type ToolkitRig } from "../support/toolkit-rig";

const PREFIX = "postgresql/test";
const PRIMARY_BUCKET = "fortress-primary";
const OFFSITE_BUCKET = "fortress-vault";

describe("fortress toolkit on real PostgreSQL, S3 (two regions), rclone, age and zstd", () => {
    let rig: ToolkitRig;
    /** A backup of `app` taken while nothing writes, with the checksums it must restore to. */
    let quiet: DatabaseContents & { id: string };

    const backup = async (...args: string[]) => {
        const r = await runToolkit("fortress-backup", args, rig.env);
        expect(r.stderr, r.stderr).not.toMatch(/error:/);
        expect(r.code).toBe(EXIT.ok);
        return r.stdout.trim();
    };
    const manifestIn = (server: S3Server, bucket: string, key: string) =>
        readManifest(server, bucket, `${PREFIX}/${key}`);

    beforeAll(async () => {
        rig = await startToolkitRig({
            prefix: PREFIX,
            primaryBucket: PRIMARY_BUCKET,
            offsiteBucket: OFFSITE_BUCKET,
            work: "fortress-toolkit-test",
        });
    });

    afterAll(() => stopToolkitRig(rig));

    it("backs up a consistent snapshot while writes go on, to both regions, with exact counts", async () => {
        const before = await exactCounts(rig.pg, "app");
        // A writer commits one proposal every few milliseconds during the whole backup.
        const writer = run(
            join(rig.pg.binDir, "psql"),
            [
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                `
            DO $$ BEGIN FOR i IN 1..400 LOOP
              INSERT INTO proposals (portfolio_id, ticker, action, quantity, score, payload, created_at)
              VALUES (1 + i % 100, 'LIVE', 'buy', i, NULL, '{}'::jsonb, now());
              COMMIT; PERFORM pg_sleep(0.005);
            END LOOP; END $$;`,
            ],
            { env: cleanEnv(rig.pg.clientEnv("app")) },
        );
        await sleep(300);
        const r = await runToolkit("fortress-backup", [], rig.env);
        const written = await writer;
        expect(written.code, written.stderr).toBe(0);
        expect(r.code, r.stderr).toBe(EXIT.ok);
        expect(r.stdout).toMatch(/^\d{8}T\d{6}Z\n$/); // only the id on stdout
        const id = r.stdout.trim();

        for (const [server, bucket] of rig.regions) {
            expect(await server.listKeys(bucket, PREFIX)).toEqual(
                [`${PREFIX}/${id}.dump.zst.age`, `${PREFIX}/${id}.manifest.json`, `${PREFIX}/latest.json`].sort(),
            );
        }
        const m = await manifestIn(rig.primary, PRIMARY_BUCKET, `${id}.manifest.json`);
        expect(await manifestIn(rig.offsite, OFFSITE_BUCKET, `${id}.manifest.json`)).toEqual(m);
        expect(await manifestIn(rig.primary, PRIMARY_BUCKET, "latest.json")).toEqual(m);
        expect(await manifestIn(rig.offsite, OFFSITE_BUCKET, "latest.json")).toEqual(m);
        expect(m).toMatchObject({
            format: "income-fortress-backup/1",
            id,
            tag: null,
            database: "app",
            object: `${PREFIX}/${id}.dump.zst.age`,
            compression: "zstd",
            encryption: "age",
        });
        expect(m.serverVersion).toMatch(/^\d+\.\d+/);
        expect(m.pgDumpVersion).toMatch(/^\d+\.\d+/);
        expect(Date.parse(m.createdAt)).toBeLessThanOrEqual(Date.parse(m.completedAt));
        expect(Object.keys(m.tables).sort()).toEqual([
            "public.audit_log",
            "public.portfolios",
            "public.proposals",
            "public.users",
        ]);
        expect(m.tables["public.users"]).toBe(before["public.users"]);
        // The writer was still committing after the snapshot: the backup holds fewer proposals
        // than the database does now, and more than before the writer started.
        const after = await exactCounts(rig.pg, "app");
        expect(m.tables["public.proposals"]).toBeGreaterThan(before["public.proposals"]!);
        expect(m.tables["public.proposals"]).toBeLessThan(after["public.proposals"]!);

        // Stored bytes: what the manifest says, age-encrypted zstd of a pg_dump custom archive.
        const object = (await rig.primary.getObject(PRIMARY_BUCKET, `${PREFIX}/${id}.dump.zst.age`))!;
        expect(object.length).toBe(m.bytes);
        expect(createHash("sha256").update(object).digest("hex")).toBe(m.sha256);
        expect(object.subarray(0, 21).toString("latin1")).toBe("age-encryption.org/v1");
        const zst = await runOk("age", ["--decrypt", "-i", rig.age.identityFile], { input: object });
        expect(zst.stdoutBytes.subarray(0, 4).toString("hex")).toBe("28b52ffd");
        const dump = await runOk("zstd", ["-d", "-q", "-c"], { input: zst.stdoutBytes });
        expect(dump.stdoutBytes.subarray(0, 5).toString("latin1")).toBe("PGDMP");

        // Restoring proves the counts came from the dump's own snapshot: restore compares them,
        // and the writer's rows are gap-free up to the snapshot.
        await rig.pg.createDatabase("restored_live");
        const restored = await runToolkit(
            "fortress-restore",
            ["--backup", id, "--target", rig.pg.url("restored_live")],
            rig.env,
        );
        expect(restored.code, restored.stderr).toBe(EXIT.ok);
        expect(await exactCounts(rig.pg, "restored_live")).toEqual(m.tables);
        expect(await rig.pg.psql("SELECT max(id) = count(*) FROM proposals;", "restored_live")).toBe("t");
    });

    it("round trip: restores into an empty database with equal counts, contents and sequences", async () => {
        const contents = await databaseContents(rig.pg, "app");
        const id = await backup();
        quiet = { id, ...contents };
        await rig.pg.createDatabase("restored");
        const r = await runToolkit("fortress-restore", ["--target", rig.pg.url("restored")], rig.env);
        expect(r.code, r.stderr).toBe(EXIT.ok);
        expect(r.stdout).toMatch(
            new RegExp(`^restored ${id} into restored: 4 tables, \\d+ rows, counts match the manifest\\n$`),
        );
        expect(await databaseContents(rig.pg, "restored")).toEqual(contents);
        expect(await exactCounts(rig.pg, "restored")).toEqual(await exactCounts(rig.pg, "app"));
        // The view, index, enum, trigger and deferrable foreign keys came back too.
        expect(await rig.pg.psql("SELECT count(*) FROM portfolio_totals;", "restored")).toBe(
            String(PLAN_ROWS_PER_SCALE.users),
        );
        expect(
            await rig.pg.psql(
                "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND condeferrable AND condeferred;",
                "restored",
            ),
        ).toBe("2");
        expect(
            await rig.pg.psql("SELECT count(*) FROM pg_trigger WHERE tgname = 'portfolios_touch';", "restored"),
        ).toBe("1");
    });

    it("tags backups and --before picks the newest backup created before a time", async () => {
        const bad = await runToolkit("fortress-backup", ["--tag", "no spaces!"], rig.env);
        expect(bad.code).toBe(EXIT.usage);
        expect(errorLines(bad.stderr)).toHaveLength(1);

        // --unless-empty: a database with tables is backed up; one without is not (nothing
        // stored: the listing below still holds three backups).
        const tagged = await backup("--tag", "pre-v1.1.0-deployment", "--unless-empty");
        expect(tagged).toMatch(/^\d{8}T\d{6}Z-pre-v1\.1\.0-deployment$/);
        await rig.pg.createDatabase("no_tables");
        const skipped = await runToolkit("fortress-backup", ["--tag", "pre-v1.1.0-deployment", "--unless-empty"], {
            ...rig.env,
            DATABASE_URL: rig.pg.url("no_tables"),
        });
        expect(skipped.code, skipped.stderr).toBe(EXIT.ok);
        expect(skipped.stdout).toBe("");
        expect(skipped.stderr).toMatch(
            /^fortress-backup: .*\/no_tables has no tables: no backup taken \(--unless-empty\)\n$/,
        );
        const m = await manifestIn(rig.primary, PRIMARY_BUCKET, `${tagged}.manifest.json`);
        expect(m.tag).toBe("pre-v1.1.0-deployment");
        const quietManifest = await manifestIn(rig.primary, PRIMARY_BUCKET, `${quiet.id}.manifest.json`);

        // Just after the quiet backup's snapshot and before the tagged one: the quiet backup.
        const between = new Date(Date.parse(quietManifest.createdAt) + 1).toISOString();
        expect(Date.parse(between)).toBeLessThan(Date.parse(m.createdAt));
        await rig.pg.createDatabase("restored_before");
        const r = await runToolkit(
            "fortress-restore",
            ["--before", between, "--target", rig.pg.url("restored_before")],
            rig.env,
        );
        expect(r.code, r.stderr).toBe(EXIT.ok);
        expect(r.stdout).toContain(`restored ${quiet.id} into restored_before`);

        const tooEarly = await runToolkit("fortress-verify", ["--before", "2001-01-01T00:00:00Z"], rig.env);
        expect(tooEarly.code).toBe(EXIT.failure);
        expect(errorLines(tooEarly.stderr)[0]).toMatch(/no backup created before 2001-01-01T00:00:00Z in s3:\/\//);
    });

    it("lists backups newest first with the latest marked, as text and JSON", async () => {
        const text = await runToolkit("fortress-backups", [], rig.env);
        expect(text.code, text.stderr).toBe(EXIT.ok);
        const lines = text.stdout.trim().split("\n");
        expect(lines[0]).toMatch(/ID\s+CREATED_UTC\s+TAG\s+SIZE\s+TABLES\s+ROWS/);
        const ids = lines.slice(1).map((l) => l.slice(2).split(/\s+/)[0]);
        expect(ids).toHaveLength(3); // the concurrent, the quiet and the tagged backup
        expect([...ids].sort().reverse()).toEqual(ids);
        const latest = await manifestIn(rig.primary, PRIMARY_BUCKET, "latest.json");
        expect(lines[1]).toMatch(new RegExp(`^\\* ${latest.id}\\s`));
        expect(lines.filter((l) => l.startsWith("* "))).toHaveLength(1);

        const json = await runToolkit("fortress-backups", ["--json", "--source", "offsite", "--limit", "2"], rig.env);
        expect(json.code, json.stderr).toBe(EXIT.ok);
        const list = JSON.parse(json.stdout) as Manifest[];
        expect(list.map((x) => x.id)).toEqual(ids.slice(0, 2));
        expect(list[0]).toEqual(latest);
    });

    it("verify restores the latest backup into a throwaway database and always drops it", async () => {
        const latest = await manifestIn(rig.primary, PRIMARY_BUCKET, "latest.json");
        const r = await runToolkit("fortress-verify", [], rig.env);
        expect(r.code, r.stderr).toBe(EXIT.ok);
        expect(r.stdout).toMatch(
            new RegExp(
                `^verified ${latest.id}: 4 tables, \\d+ rows, counts match the manifest \\(restore took \\d+s\\)\\n$`,
            ),
        );
        expect(r.stderr).toMatch(/created database fortress_verify_\d{14}_[0-9a-f]{8}/);
        expect(await rig.pg.psql("SELECT count(*) FROM pg_database WHERE datname LIKE 'fortress_verify_%';")).toBe("0");
    });

    it("--into restores a backup beside the live database so deleted rows can be copied back (scenario 5)", async () => {
        // Accidental deletion of one user's portfolios (and their proposals).
        await rig.pg.psql(
            "DELETE FROM proposals WHERE portfolio_id IN (SELECT id FROM portfolios WHERE user_id = 42); DELETE FROM portfolios WHERE user_id = 42;",
            "app",
        );
        const liveAfterDeletion = await databaseChecksums(rig.pg, "app");
        const r = await runToolkit("fortress-restore", ["--backup", quiet.id, "--into", "recovered"], rig.env);
        expect(r.code, r.stderr).toBe(EXIT.ok);
        expect(r.stdout).toContain(`restored ${quiet.id} into recovered`);
        expect(await databaseChecksums(rig.pg, "app")).toEqual(liveAfterDeletion); // live untouched
        expect(await databaseChecksums(rig.pg, "recovered")).toEqual(quiet.sums);

        // Copy the rows back as the plan does (CSV out of the copy, into the live database).
        const csv = join(rig.work, "deleted-portfolios.csv");
        const psql = join(rig.pg.binDir, "psql");
        await runOk(
            psql,
            ["-X", "-q", "-c", `\\copy (SELECT * FROM portfolios WHERE user_id = 42) TO '${csv}' CSV HEADER`],
            { env: cleanEnv(rig.pg.clientEnv("recovered")) },
        );
        await rig.pg.psql("ALTER TABLE portfolios DISABLE TRIGGER portfolios_touch;", "app");
        await runOk(psql, ["-X", "-q", "-c", `\\copy portfolios FROM '${csv}' CSV HEADER`], {
            env: cleanEnv(rig.pg.clientEnv("app")),
        });
        await rig.pg.psql("ALTER TABLE portfolios ENABLE TRIGGER portfolios_touch;", "app");
        expect(await tableChecksum(rig.pg, "app", "portfolios")).toBe(quiet.sums["public.portfolios"]);

        const again = await runToolkit("fortress-restore", ["--backup", quiet.id, "--into", "recovered"], rig.env);
        expect(again.code).toBe(EXIT.refused);
        expect(errorLines(again.stderr)[0]).toMatch(/recovered already has 4 tables.*--force/);
        const badName = await runToolkit("fortress-restore", ["--into", "Bad-Name"], rig.env);
        expect(badName.code).toBe(EXIT.usage);
    });

    it("--tables restores only the named tables over a corrupted live database, in one transaction (scenario 3)", async () => {
        // Bring the live database back to the quiet backup, then corrupt it as a bad deploy would.
        const full = await runToolkit("fortress-restore", ["--backup", quiet.id, "--force"], rig.env);
        expect(full.code, full.stderr).toBe(EXIT.ok);
        expect(await databaseChecksums(rig.pg, "app")).toEqual(quiet.sums);
        await rig.pg.psql(
            `
            UPDATE portfolios SET value = -value WHERE id % 10 = 0;
            DELETE FROM proposals WHERE id % 5 = 0;
            INSERT INTO users (email, display_name, created_at) VALUES ('signed-up-after-backup@example.com', 'New', now());
        `,
            "app",
        );
        const corrupted = await databaseChecksums(rig.pg, "app");

        const refused = await runToolkit(
            "fortress-restore",
            ["--backup", quiet.id, "--tables", "portfolios,proposals"],
            rig.env,
        );
        expect(refused.code).toBe(EXIT.refused);
        expect(errorLines(refused.stderr)).toHaveLength(1);
        expect(errorLines(refused.stderr)[0]).toMatch(/public\.portfolios \(\d+ rows\).*--force/);
        expect(await databaseChecksums(rig.pg, "app")).toEqual(corrupted);

        // users is referenced by portfolios: TRUNCATE without CASCADE fails and nothing changes.
        const fk = await runToolkit(
            "fortress-restore",
            ["--backup", quiet.id, "--tables", "users", "--force"],
            rig.env,
        );
        expect(fk.code).toBe(EXIT.failure);
        expect(errorLines(fk.stderr)[0]).toMatch(/rolled back, nothing changed.*referenc/);
        expect(await databaseChecksums(rig.pg, "app")).toEqual(corrupted);

        const unknown = await runToolkit(
            "fortress-restore",
            ["--backup", quiet.id, "--tables", "nosuch", "--force"],
            rig.env,
        );
        expect(unknown.code).toBe(EXIT.usage);

        const r = await runToolkit(
            "fortress-restore",
            ["--backup", quiet.id, "--tables", "portfolios,public.proposals", "--force"],
            rig.env,
        );
        expect(r.code, r.stderr).toBe(EXIT.ok);
        expect(r.stdout).toContain(`restored ${quiet.id} into app: 2 tables`);
        const now = await databaseChecksums(rig.pg, "app");
        // Rows exactly as backed up (the updated_at trigger was off while loading)...
        expect(now["public.portfolios"]).toBe(quiet.sums["public.portfolios"]);
        expect(now["public.proposals"]).toBe(quiet.sums["public.proposals"]);
        // ...other tables keep their newer data, and the trigger is on again.
        expect(now["public.users"]).toBe(corrupted["public.users"]);
        expect(
            await rig.pg.psql("SELECT count(*) FROM users WHERE email = 'signed-up-after-backup@example.com';", "app"),
        ).toBe("1");
        expect(await rig.pg.psql("SELECT tgenabled FROM pg_trigger WHERE tgname = 'portfolios_touch';", "app")).toBe(
            "O",
        );
        expect(await rig.pg.psql("SELECT count(*) FROM portfolios WHERE value < 0;", "app")).toBe("0");
    });

    it("reads settings from backup.env and credentials.env, and the environment wins over them", async () => {
        const dir = join(rig.work, "etc-income-fortress");
        mkdirSync(dir);
        writeFileSync(
            join(dir, "backup.env"),
            [
                "# written by cloud-init: no secrets here",
                `BACKUP_S3_ENDPOINT=${rig.primary.endpoint}`,
                `BACKUP_BUCKET="does-not-exist"`,
                `export BACKUP_PREFIX='${PREFIX}'`,
                `BACKUP_OFFSITE_S3_ENDPOINT=${rig.offsite.endpoint}`,
                `BACKUP_OFFSITE_BUCKET=${OFFSITE_BUCKET}`,
                `BACKUP_AGE_RECIPIENTS=${rig.age.recipient}`,
                "",
            ].join("\n"),
        );
        writeFileSync(
            join(dir, "credentials.env"),
            [
                `AWS_ACCESS_KEY_ID=S3RVER`,
                `AWS_SECRET_ACCESS_KEY=S3RVER`,
                `DATABASE_URL=${rig.pg.url("app")}`,
                `BACKUP_AGE_IDENTITY_FILE=${rig.age.identityFile}`,
            ].join("\n"),
            { mode: 0o600 },
        );
        chmodSync(join(dir, "credentials.env"), 0o600);

        // From the files alone: the file's (wrong) primary bucket is used.
        const filesOnly = toolkitEnv({ FORTRESS_CONFIG_DIR: dir });
        const wrong = await runToolkit("fortress-backups", [], filesOnly);
        expect(wrong.code).toBe(EXIT.failure);
        expect(errorLines(wrong.stderr)[0]).toMatch(/s3:\/\/does-not-exist\/postgresql\/test/);
        const offsiteList = await runToolkit("fortress-backups", ["--source", "offsite", "--json"], filesOnly);
        expect(offsiteList.code, offsiteList.stderr).toBe(EXIT.ok);
        expect((JSON.parse(offsiteList.stdout) as Manifest[]).length).toBeGreaterThan(0);

        // The environment wins: the right bucket, and a full verify with secrets from the file.
        const envWins = toolkitEnv({ FORTRESS_CONFIG_DIR: dir, BACKUP_BUCKET: PRIMARY_BUCKET });
        const verified = await runToolkit("fortress-verify", [], envWins);
        expect(verified.code, verified.stderr).toBe(EXIT.ok);

        // A readable-by-others credentials file still works but is called out.
        chmodSync(join(dir, "credentials.env"), 0o644);
        const loose = await runToolkit("fortress-status", [], envWins);
        expect(loose.stderr).toMatch(/credentials\.env has mode 644.*chmod 600/);
    });

    it("status prints each bucket's latest backup age and fails when it is older than --max-age", async () => {
        const latest = await manifestIn(rig.primary, PRIMARY_BUCKET, "latest.json");
        const ok = await runToolkit("fortress-status", ["--max-age", "1h"], rig.env);
        expect(ok.code, ok.stderr).toBe(EXIT.ok);
        const lines = ok.stdout.trim().split("\n");
        expect(lines).toHaveLength(2);
        expect(lines[0]).toMatch(new RegExp(`^primary s3://${PRIMARY_BUCKET}/${PREFIX}: OK latest ${latest.id} `));
        expect(lines[1]).toMatch(new RegExp(`^offsite s3://${OFFSITE_BUCKET}/${PREFIX}: OK latest ${latest.id} `));

        const ageMs = Date.now() - Date.parse(latest.createdAt);
        if (ageMs < 2_000) await sleep(2_000 - ageMs);
        const stale = await runToolkit("fortress-status", ["--max-age", "1s"], rig.env);
        expect(stale.code).toBe(EXIT.failure);
        expect(stale.stdout).toMatch(/STALE latest/);
        expect(errorLines(stale.stderr)).toHaveLength(1);

        const bad = await runToolkit("fortress-status", ["--max-age", "two hours"], rig.env);
        expect(bad.code).toBe(EXIT.usage);
    });
});
