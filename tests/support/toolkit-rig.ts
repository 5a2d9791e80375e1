// What the toolkit suites run against, started the same way for each: a PostgreSQL
// cluster with the plan's `app` database, one s3rver for the primary region and one for
// the offsite vault, an age identity, and the toolkit's environment for all of it; and the
// checks on a toolkit run that the suites share.
import { rmSync } from "node:fs";
import { expect } from "vitest";
import { seedPlanDatabase } from "../../harness/datasets";
import { startPostgres, type PostgresCluster } from "../../harness/postgres";
import { makeTempDir, type RunResult } from "../../harness/process";
import { startS3Server, type S3Server } from "../../harness/s3";
import {
    type AgeIdentity,
    createAgeIdentity,
    errorLines,
    EXIT,
    lastLine,
    removeToolkitScratch,
    runToolkit,
    storageSettings,
    toolkitEnv,
} from "../../harness/toolkit";

export interface ToolkitRig {
    pg: PostgresCluster;
    /** The primary region's server, holding the primary bucket. */
    primary: S3Server;
    /** The offsite vault's server, holding the offsite bucket. */
    offsite: S3Server;
    /** Each region's server and bucket, primary first. */
    regions: readonly (readonly [S3Server, string])[];
    /** A private folder for the suite's files; the age identity is in it. */
    work: string;
    age: AgeIdentity;
    /** The toolkit's environment: DATABASE_URL of `app`, both buckets under the prefix, the age pair. */
    env: NodeJS.ProcessEnv;
}

export interface ToolkitRigOptions {
    prefix: string;
    primaryBucket: string;
    offsiteBucket: string;
    /** More buckets on the primary server, outside the environment. */
    otherBuckets?: string[];
    /** Name of the work folder (a unique suffix is added). */
    work: string;
}

/** Starts the services and seeds `app`; a failure after they started stops them again. */
export async function startToolkitRig(o: ToolkitRigOptions): Promise<ToolkitRig> {
    const [pg, primary, offsite] = await Promise.all([
        startPostgres(),
        startS3Server({ buckets: [o.primaryBucket, ...(o.otherBuckets ?? [])] }),
        startS3Server({ buckets: [o.offsiteBucket] }),
    ]);
    const work = makeTempDir(o.work);
    try {
        const age = await createAgeIdentity(work);
        await pg.createDatabase("app");
        await seedPlanDatabase(pg, "app");
        const env = toolkitEnv({
            DATABASE_URL: pg.url("app"),
            ...storageSettings({
                primary,
                bucket: o.primaryBucket,
                offsite,
                offsiteBucket: o.offsiteBucket,
                prefix: o.prefix,
            }),
            BACKUP_AGE_RECIPIENTS: age.recipient,
            BACKUP_AGE_IDENTITY_FILE: age.identityFile,
        });
        return {
            pg,
            primary,
            offsite,
            regions: [
                [primary, o.primaryBucket],
                [offsite, o.offsiteBucket],
            ],
            work,
            age,
            env,
        };
    } catch (e) {
        await stopAll(pg, primary, offsite, work);
        throw e;
    }
}

/** Stops the services and removes the work folder and the toolkit's helper files. */
export function stopToolkitRig(rig: ToolkitRig | undefined): Promise<void> {
    return stopAll(rig?.pg, rig?.primary, rig?.offsite, rig?.work);
}

async function stopAll(pg?: PostgresCluster, primary?: S3Server, offsite?: S3Server, work?: string): Promise<void> {
    await Promise.all([pg?.stop(), primary?.stop(), offsite?.stop()]);
    if (work) rmSync(work, { recursive: true, force: true });
    removeToolkitScratch();
}

/** Runs fortress-backup, expects exit 0, and returns the new backup's id. */
export async function backupOk(env: NodeJS.ProcessEnv, args: string[] = []): Promise<string> {
    const r = await runToolkit("fortress-backup", args, env);
    expect(r.code, r.stderr).toBe(EXIT.ok);
    return r.stdout.trim();
}

/** Runs fortress-verify with `args`, expects it to verify backup `id`, and returns the run. */
export async function expectVerified(env: NodeJS.ProcessEnv, id: string, args: string[] = []): Promise<RunResult> {
    const r = await runToolkit("fortress-verify", args, env);
    expect(r.code, `${id}: ${r.stderr}`).toBe(EXIT.ok);
    expect(r.stdout).toMatch(new RegExp(`^verified ${id}: `));
    return r;
}

/** Exactly one error line, last on stderr, matching `pattern`; nothing on stdout. */
export function expectOneLineError(r: RunResult, code: number, pattern: RegExp): void {
    const errors = errorLines(r.stderr);
    expect(errors, r.stderr).toHaveLength(1);
    expect(lastLine(r.stderr)).toBe(errors[0]);
    expect(errors[0]).toMatch(pattern);
    expect(r.code, r.stderr).toBe(code);
    expect(r.stdout).toBe("");
}
