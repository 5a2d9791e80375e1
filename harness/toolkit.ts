// Helpers to run the host toolkit (cloud-init/toolkit/bin/fortress-*) from tests, exactly as
// the droplet runs it: real bash, real pg_dump/rclone/age/zstd, settings from the
// environment (or from a settings folder), and a clean environment without AWS_CA_BUNDLE.
import {
    chmodSync,
    existsSync,
    mkdirSync,
    mkdtempSync,
    readdirSync,
    readFileSync,
    rmSync,
    statSync,
    symlinkSync,
    writeFileSync,
} from "node:fs";
import { delimiter, join, resolve } from "node:path";
import type { SettingKey } from "../cloud-init/host";
import type { BackupManifest } from "../drill/manifest";
import { cleanEnv, makeTempDir, run, type RunOptions, type RunResult, runOk } from "./process";
import type { PostgresCluster } from "./postgres";
import { type S3Server, S3RVER_CREDENTIALS } from "./s3";

/**
 * Folder holding the fortress-* commands: this repository's, or $FORTRESS_TOOLKIT_BIN (to run
 * the same tests against another copy of the toolkit, e.g. an older one).
 */
export const TOOLKIT_BIN = process.env.FORTRESS_TOOLKIT_BIN ?? resolve(__dirname, "../cloud-init/toolkit/bin");

/** The toolkit's commands. */
export type ToolkitCommand =
    | "fortress-backup"
    | "fortress-restore"
    | "fortress-verify"
    | "fortress-backups"
    | "fortress-status"
    | "fortress-evidence";

/** Every toolkit command, for table-driven tests. */
export const TOOLKIT_COMMANDS: readonly ToolkitCommand[] = [
    "fortress-backup",
    "fortress-restore",
    "fortress-verify",
    "fortress-backups",
    "fortress-status",
    "fortress-evidence",
];

/** Exit codes of the toolkit (docs/host-toolkit.md, "Exit codes"), from the host contract. */
export { EXIT } from "../cloud-init/host";

/** Toolkit settings (docs/host-toolkit.md, "Settings"): DATABASE_URL, BACKUP_*, AWS_*, FORTRESS_*, RCLONE_*. */
export type ToolkitSettings = Record<string, string | undefined>;

/**
 * Settings for a primary bucket on one server and an offsite bucket on another (or the same)
 * server, with s3rver's credentials and a key prefix.
 */
export function storageSettings(args: {
    /** Server of the primary bucket. */
    primary: S3Server;
    /** Primary bucket name. */
    bucket: string;
    /** Server of the offsite bucket (omit for no offsite bucket). */
    offsite?: S3Server;
    /** Offsite bucket name (required with `offsite`). */
    offsiteBucket?: string;
    /** Object key prefix, e.g. `postgresql/test`. */
    prefix: string;
}): ToolkitSettings {
    const s: Partial<Record<SettingKey, string>> = {
        BACKUP_S3_ENDPOINT: args.primary.endpoint,
        BACKUP_BUCKET: args.bucket,
        BACKUP_PREFIX: args.prefix,
        AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    };
    if (args.offsite) {
        s.BACKUP_OFFSITE_S3_ENDPOINT = args.offsite.endpoint;
        s.BACKUP_OFFSITE_BUCKET = args.offsiteBucket;
    }
    return s;
}

let scratch: string | undefined;
/**
 * A folder for this test process's helper files (empty settings folder, backup locks, PATH
 * shims). Call {@link removeToolkitScratch} in afterAll: test workers may end without
 * Node's exit event.
 */
function scratchDir(sub: string): string {
    if (!scratch) {
        const dir = makeTempDir("fortress-harness");
        scratch = dir;
        process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    }
    const path = join(scratch, sub);
    mkdirSync(path, { recursive: true });
    return path;
}

/** Removes the helper files made by {@link toolkitEnv} and {@link makeShimPath} so far. */
export function removeToolkitScratch(): void {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    scratch = undefined;
}

/**
 * The complete environment for a toolkit run: {@link cleanEnv} (so no AWS_CA_BUNDLE), an
 * empty settings folder unless FORTRESS_CONFIG_DIR is given (so /etc/income-fortress on the
 * test machine is never read), backup locks in a private folder rather than /run/lock, and
 * the settings. A setting of undefined is left out.
 */
export function toolkitEnv(settings: ToolkitSettings): NodeJS.ProcessEnv {
    return cleanEnv({
        FORTRESS_CONFIG_DIR: scratchDir("empty-config"),
        FORTRESS_LOCK_DIR: scratchDir("locks"),
        ...settings,
    });
}

/** Runs a toolkit command with exactly this environment (see {@link toolkitEnv}). */
export function runToolkit(
    command: ToolkitCommand,
    args: readonly string[],
    env: NodeJS.ProcessEnv,
    opts: Omit<RunOptions, "env"> = {},
): Promise<RunResult> {
    return run(join(TOOLKIT_BIN, command), args, { timeoutMs: 180_000, ...opts, env });
}

/** A manifest as the toolkit writes it: the drill's fields and the versions that made the dump. */
export type Manifest = BackupManifest & { serverVersion: string; pgDumpVersion: string };

/** The manifest stored at `key` (`<prefix>/<id>.manifest.json`, `<prefix>/latest.json`); throws when there is none. */
export async function readManifest(server: S3Server, bucket: string, key: string): Promise<Manifest> {
    const body = await server.getObject(bucket, key);
    if (body === undefined) throw new Error(`no object ${key} in bucket ${bucket}`);
    return JSON.parse(body.toString("utf8")) as Manifest;
}

/** The toolkit's error lines (`fortress-x: error: ...`) in a stderr text. */
export function errorLines(stderr: string): string[] {
    return stderr.split("\n").filter((l) => /^fortress-[a-z]+: error: /.test(l));
}

/** The last non-empty line of a text. */
export function lastLine(text: string): string {
    const lines = text.split("\n").filter((l) => l.trim() !== "");
    return lines[lines.length - 1] ?? "";
}

/** An age identity file and its public recipient, made with the real age-keygen. */
export interface AgeIdentity {
    /** Path of the identity (secret key) file, mode 600. */
    identityFile: string;
    /** Public key (age1...). */
    recipient: string;
}

/** Creates an age identity in `dir` under `name`. */
export async function createAgeIdentity(dir: string, name = "identity.txt"): Promise<AgeIdentity> {
    const identityFile = join(dir, name);
    await runOk("age-keygen", ["-o", identityFile]);
    chmodSync(identityFile, 0o600);
    const r = await runOk("age-keygen", ["-y", identityFile]);
    return { identityFile, recipient: r.stdout.trim() };
}

/**
 * A PATH for fault injection: a folder with a symlink to every command found on `basePath`,
 * except those in `hide`, plus executable scripts from `wrappers` (name -> script text) that
 * shadow the real commands. Returns the new PATH value (the folder alone).
 */
export function makeShimPath(args: {
    /** Commands left out, e.g. ["zstd"] for a "missing dependency" fault. */
    hide?: readonly string[];
    /** Scripts that replace commands, e.g. a pg_dump that gets killed mid-stream. */
    wrappers?: Record<string, string>;
    /** PATH to mirror (default: the test runner's PATH). */
    basePath?: string;
}): string {
    const bin = mkdtempSync(join(scratchDir("shims"), "bin-"));
    const hide = new Set(args.hide ?? []);
    const wrappers = args.wrappers ?? {};
    const seen = new Set<string>();
    for (const folder of (args.basePath ?? process.env.PATH ?? "").split(delimiter)) {
        if (!folder || !existsSync(folder)) continue;
        for (const name of readdirSync(folder)) {
            if (seen.has(name) || hide.has(name) || name in wrappers) continue;
            const target = join(folder, name);
            try {
                if (!statSync(target).isFile()) continue;
            } catch {
                continue;
            }
            seen.add(name);
            symlinkSync(target, join(bin, name));
        }
    }
    for (const [name, script] of Object.entries(wrappers)) {
        writeFileSync(join(bin, name), script, { mode: 0o755 });
    }
    return bin;
}

/** Where `command` is on this process's PATH, for a shim that wraps the real one. */
export async function commandPath(command: string): Promise<string> {
    return (await runOk("bash", ["-c", `command -v ${command}`])).stdout.trim();
}

/** What {@link fillDataOffsetsRun} saw. */
export interface FillDataOffsetsRun {
    /** The archive pg_dump wrote with --file. */
    file: Buffer;
    /** The archive pg_dump streamed into a pipe, as it came (no data offsets). */
    streamed: Buffer;
    /** The streamed archive once fill_data_offsets has run on it. */
    filled: Buffer;
    /** What fill_data_offsets printed for it, a line per data block. */
    printed: string[];
    /** The --file archive once fill_data_offsets has run on it too (it had its offsets already). */
    refilled: Buffer;
    /** The TABLE DATA entries in the archive's TOC (pg_restore --list). */
    tableData: number;
}

/**
 * Dumps `database` uncompressed with the cluster's own pg_dump twice, with --file and
 * through a pipe, and runs the toolkit's fill_data_offsets (common.sh) on both archives.
 */
export async function fillDataOffsetsRun(pg: PostgresCluster, database: string): Promise<FillDataOffsetsRun> {
    const dir = makeTempDir("fortress-offsets");
    try {
        const env = cleanEnv({
            ...pg.clientEnv(database),
            DIR: dir,
            PGBIN: pg.binDir,
            LIB: join(TOOLKIT_BIN, "../lib/income-fortress/common.sh"),
        });
        const sh = (script: string) => runOk("bash", ["-c", `set -euo pipefail\n${script}`], { env });
        const read = (name: string) => readFileSync(join(dir, name));
        await sh(`"$PGBIN/pg_dump" -Fc -Z0 -f "$DIR/file.dump"; "$PGBIN/pg_dump" -Fc -Z0 | cat > "$DIR/streamed.dump"`);
        const [file, streamed] = [read("file.dump"), read("streamed.dump")];
        const printed = (await sh(`PROG=test; source "$LIB"; fill_data_offsets "$DIR/streamed.dump"`)).stdout
            .trim()
            .split("\n");
        const list = (await sh(`"$PGBIN/pg_restore" --list "$DIR/file.dump"`)).stdout;
        await sh(`PROG=test; source "$LIB"; fill_data_offsets "$DIR/file.dump"`);
        return {
            file,
            streamed,
            filled: read("streamed.dump"),
            printed,
            refilled: read("file.dump"),
            tableData: list.split("\n").filter((l) => / TABLE DATA /.test(l)).length,
        };
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

/** md5 of a table's rows in a stable order: equal checksums mean equal contents. */
export async function tableChecksum(pg: PostgresCluster, database: string, table: string): Promise<string> {
    return pg.psql(`SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM ${table} t;`, database);
}

/** User tables (`schema.table`, quoted for SQL) of a database, ordinary and partitioned. */
export async function userTables(pg: PostgresCluster, database: string): Promise<string[]> {
    const out = await pg.psql(
        `SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r','p') AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname !~ '^pg_'
         ORDER BY 1;`,
        database,
    );
    return out.split("\n").filter(Boolean);
}

/**
 * Checksums of every user table and materialized view of a database, keyed by name. A
 * materialized view that was never refreshed (WITH NO DATA) is recorded as "unpopulated".
 */
export async function databaseChecksums(pg: PostgresCluster, database: string): Promise<Record<string, string>> {
    const rels = (
        await pg.psql(
            `SELECT format('%I.%I', n.nspname, c.relname) || '|' || (c.relkind <> 'm' OR c.relispopulated)
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r','p','m') AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname !~ '^pg_'
         ORDER BY 1;`,
            database,
        )
    )
        .split("\n")
        .filter(Boolean);
    const sums: Record<string, string> = {};
    for (const line of rels) {
        const [rel, readable] = line.split("|") as [string, string];
        sums[rel] = readable === "true" ? await tableChecksum(pg, database, rel) : "unpopulated";
    }
    return sums;
}

/** Every sequence's `last_value,is_called`, read from the sequence itself, keyed by name. */
export async function sequenceValues(pg: PostgresCluster, database: string): Promise<Record<string, string>> {
    const names = (
        await pg.psql(`SELECT format('%I.%I', schemaname, sequencename) FROM pg_sequences ORDER BY 1;`, database)
    )
        .split("\n")
        .filter(Boolean);
    const values: Record<string, string> = {};
    for (const name of names) {
        values[name] = await pg.psql(`SELECT last_value || ',' || is_called FROM ${name};`, database);
    }
    return values;
}

/** What a restore must reproduce exactly. */
export interface DatabaseContents {
    /** {@link databaseChecksums} */
    sums: Record<string, string>;
    /** {@link sequenceValues} */
    sequences: Record<string, string>;
}

export async function databaseContents(pg: PostgresCluster, database: string): Promise<DatabaseContents> {
    return { sums: await databaseChecksums(pg, database), sequences: await sequenceValues(pg, database) };
}

/** Exact row counts keyed as the manifest keys them (`schema.table`, unquoted). */
export async function exactCounts(pg: PostgresCluster, database: string): Promise<Record<string, number>> {
    const out = await pg.psql(
        `SELECT format('%s.%s', n.nspname, c.relname) || '=' ||
                (xpath('/row/c/text()', query_to_xml(format(
                   CASE WHEN c.relkind = 'p' THEN 'SELECT count(*) AS c FROM %I.%I' ELSE 'SELECT count(*) AS c FROM ONLY %I.%I' END,
                   n.nspname, c.relname), false, true, '')))[1]::text
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r','p') AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname !~ '^pg_'
         ORDER BY 1;`,
        database,
    );
    return Object.fromEntries(
        out
            .split("\n")
            .filter(Boolean)
            .map((l) => {
                const i = l.lastIndexOf("=");
                return [l.slice(0, i), Number(l.slice(i + 1))];
            }),
    );
}

/** Pids of every live process below `pid` (children, their children, ...), from /proc. */
export function descendants(pid: number): number[] {
    const parent = new Map<number, number>();
    for (const name of readdirSync("/proc")) {
        if (!/^\d+$/.test(name)) continue;
        try {
            // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            const stat = readFileSync(`/proc/${name}/stat`, "utf8");
            parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
        } catch {
            // the process ended while we looked
        }
    }
    const found: number[] = [];
    const walk = (p: number) => {
        for (const [child, ppid] of parent) {
            if (ppid === p) {
                found.push(child);
                walk(child);
            }
        }
    };
    walk(pid);
    return found;
}

/** Those of `pids` that are still running (zombies count as gone), as "pid name: command line". */
export function stillRunning(pids: readonly number[]): string[] {
    const alive: string[] = [];
    for (const pid of pids) {
        try {
            const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
            const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
            if (state !== "Z") {
                const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
                alive.push(`${pid} ${stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"))}: ${cmdline}`);
            }
        } catch {
            // gone
        }
    }
    return alive;
}

/** A small filesystem of its own (tmpfs), for "disk full" faults. Needs root; {@link unmount} it. */
export interface SmallDisk {
    /** Mount point. */
    dir: string;
    /** Unmounts it and removes the mount point. */
    unmount(): Promise<void>;
}

/** Mounts a tmpfs of `bytes` (rounded up to whole pages) on a new folder. */
export async function mountSmallDisk(bytes: number): Promise<SmallDisk> {
    const dir = mkdtempSync(join(scratchDir("disks"), "disk-"));
    await runOk("mount", ["-t", "tmpfs", "-o", `size=${Math.ceil(bytes / 4096) * 4096},mode=0700`, "tmpfs", dir]);
    return {
        dir,
        async unmount() {
            await run("umount", [dir]);
            rmSync(dir, { recursive: true, force: true });
        },
    };
}
