// What the failback runs on a host, as text, and how it reads the answers. Pure. Every
// script reads the toolkit's settings the way the fortress-* commands do (common.sh's
// load_settings: the environment, then backup.env, then credentials.env), so a droplet and
// the rehearsal's local "hosts" (a settings folder of their own) run the same text; the
// rehearsal runs them for real against PostgreSQL and S3.
import { shQuote } from "../cloud-init/shell";
import type { BackupStorage } from "./failback";

/** md5 of every table and materialized view (`unpopulated` for one never refreshed) and every sequence's `last_value,is_called`, keyed `schema.name`. */
export interface Fingerprint {
    relations: Record<string, string>;
    sequences: Record<string, string>;
}

/** Where two fingerprints differ: `differing` and `missing` (in `expected`, not in `actual`) fail a comparison; `extra` does not. */
export interface FingerprintComparison {
    equal: boolean;
    differing: string[];
    missing: string[];
    extra: string[];
}

/**
 * Compares the frozen DR database (`expected`) with prod after the restore (`actual`): every
 * relation and sequence of DR must be on prod with the same md5 or value. Relations only prod
 * has (a newer migration's tables, which `--force` keeps) are reported, not failed.
 */
export function compareFingerprints(expected: Fingerprint, actual: Fingerprint): FingerprintComparison {
    const differing: string[] = [];
    const missing: string[] = [];
    const extra: string[] = [];
    for (const [kind, e, a] of [
        ["", expected.relations, actual.relations],
        ["sequence ", expected.sequences, actual.sequences],
    ] as const) {
        for (const [name, sum] of Object.entries(e)) {
            if (!(name in a)) missing.push(`${kind}${name}`);
            else if (a[name] !== sum) differing.push(`${kind}${name}`);
        }
        for (const name of Object.keys(a)) if (!(name in e)) extra.push(`${kind}${name}`);
    }
    return { equal: differing.length === 0 && missing.length === 0, differing, missing, extra };
}

/**
 * The fingerprint query. Rows are compared as text, so the session fixes every setting that
 * changes how a value prints; each relation's rows are hashed one by one and the sorted
 * hashes hashed again (32 bytes a row in memory, in the C collation so both servers sort
 * alike). query_to_xml runs the per-relation query inside one statement.
 */
export const FINGERPRINT_SQL = `SET datestyle = 'ISO, YMD'; SET timezone = 'UTC'; SET extra_float_digits = 3; SET bytea_output = 'hex'; SET intervalstyle = 'postgres';
SELECT json_build_object(
  'relations', coalesce((SELECT json_object_agg(name, sum ORDER BY name) FROM (
    SELECT format('%I.%I', n.nspname, c.relname) AS name,
           CASE WHEN c.relkind = 'm' AND NOT c.relispopulated THEN 'unpopulated' ELSE
             (xpath('/row/c/text()', query_to_xml(format(
               'SELECT md5(coalesce(string_agg(md5(t::text), '''' ORDER BY md5(t::text) COLLATE "C"), '''')) AS c FROM %I.%I t',
               n.nspname, c.relname), false, true, '')))[1]::text END AS sum
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_') r), '{}'),
  'sequences', coalesce((SELECT json_object_agg(name, v ORDER BY name) FROM (
    SELECT format('%I.%I', schemaname, sequencename) AS name,
           (xpath('/row/c/text()', query_to_xml(format(
             'SELECT last_value::text || '','' || is_called::text AS c FROM %I.%I', schemaname, sequencename), false, true, '')))[1]::text AS v
    FROM pg_sequences) s), '{}'));`;

/**
 * Sessions of the app's database role on its database, other than the toolkit's (their
 * application_name is the command's, fortress-*) and the one asking. After a freeze it must
 * be 0: a session left is a writer the freeze did not stop.
 */
export const APP_SESSIONS_SQL = `SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND usename = current_user AND pid <> pg_backend_pid()
  AND coalesce(application_name, '') NOT LIKE 'fortress-%';`;

/** The preamble of every script: the toolkit's settings and its database URL handling (the password kept out of argv). */
function preamble(lib: string, database: boolean): string[] {
    return [
        "set -euo pipefail",
        "PROG=fortress-failback",
        `source ${shQuote(lib)}`,
        "load_settings",
        ...(database ? ["require_setting DATABASE_URL", "init_workdir", 'use_database_url "$DATABASE_URL"'] : []),
    ];
}

/** Bash that prints the app database's {@link Fingerprint} as JSON. Run as `bash -s` with this on stdin. */
export function fingerprintScript(lib: string): string {
    return [
        ...preamble(lib, true),
        `psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB_URL" <<'SQL'`,
        FINGERPRINT_SQL,
        "SQL",
        "",
    ].join("\n");
}

/** Bash that prints the number of the app's sessions on its database (see {@link APP_SESSIONS_SQL}). */
export function appSessionsScript(lib: string): string {
    return [
        ...preamble(lib, true),
        `psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB_URL" <<'SQL'`,
        APP_SESSIONS_SQL,
        "SQL",
        "",
    ].join("\n");
}

/**
 * Bash that prints where the host's backups go, with its keys, as the toolkit reads its
 * settings: the JSON of a {@link BackupStorage}. The keys reach jq through its environment,
 * never its arguments.
 */
export function storageScript(lib: string): string {
    return [
        ...preamble(lib, false),
        "require_setting BACKUP_BUCKET",
        "export BACKUP_PREFIX BACKUP_S3_ENDPOINT BACKUP_BUCKET BACKUP_OFFSITE_S3_ENDPOINT BACKUP_OFFSITE_BUCKET AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY BACKUP_OFFSITE_ACCESS_KEY_ID BACKUP_OFFSITE_SECRET_ACCESS_KEY",
        `jq -n '{prefix: $ENV.BACKUP_PREFIX, primary: {endpoint: $ENV.BACKUP_S3_ENDPOINT, bucket: $ENV.BACKUP_BUCKET},`,
        `  offsite: (if $ENV.BACKUP_OFFSITE_BUCKET == "" then null else {endpoint: (if $ENV.BACKUP_OFFSITE_S3_ENDPOINT == "" then $ENV.BACKUP_S3_ENDPOINT else $ENV.BACKUP_OFFSITE_S3_ENDPOINT end), bucket: $ENV.BACKUP_OFFSITE_BUCKET,`,
        `    accessKeyId: $ENV.BACKUP_OFFSITE_ACCESS_KEY_ID, secretAccessKey: $ENV.BACKUP_OFFSITE_SECRET_ACCESS_KEY} end),`,
        `  accessKeyId: $ENV.AWS_ACCESS_KEY_ID, secretAccessKey: $ENV.AWS_SECRET_ACCESS_KEY}'`,
        "",
    ].join("\n");
}

/** Reads {@link storageScript}'s output; throws naming what is missing (never a key's value). */
export function parseStorage(text: string, where: string): BackupStorage {
    let o: Record<string, unknown>;
    try {
        o = JSON.parse(text) as Record<string, unknown>;
    } catch {
        throw new Error(`${where}: the backup settings are not JSON`);
    }
    const str = (v: unknown) => (typeof v === "string" ? v : "");
    const primary = (o.primary ?? {}) as Record<string, unknown>;
    const offsite = o.offsite as Record<string, unknown> | null | undefined;
    const s: BackupStorage = {
        prefix: str(o.prefix),
        primary: { endpoint: str(primary.endpoint), bucket: str(primary.bucket) },
        accessKeyId: str(o.accessKeyId),
        secretAccessKey: str(o.secretAccessKey),
        ...(offsite
            ? {
                  offsite: {
                      endpoint: str(offsite.endpoint),
                      bucket: str(offsite.bucket),
                      ...(str(offsite.accessKeyId)
                          ? { accessKeyId: str(offsite.accessKeyId), secretAccessKey: str(offsite.secretAccessKey) }
                          : {}),
                  },
              }
            : {}),
    };
    const missing = [
        ...(s.prefix ? [] : ["BACKUP_PREFIX"]),
        ...(s.primary.endpoint ? [] : ["BACKUP_S3_ENDPOINT"]),
        ...(s.primary.bucket ? [] : ["BACKUP_BUCKET"]),
        ...(s.accessKeyId && s.secretAccessKey ? [] : ["AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"]),
    ];
    if (missing.length > 0) throw new Error(`${where}: the backup settings lack ${missing.join(", ")}`);
    return s;
}

/**
 * Bash, run as root on prod's host, that replaces prod's database with `backupId` read from
 * another site's buckets: that site's bucket, prefix and key in the environment (which wins
 * over the host's own backup.env and credentials.env), `fortress-restore --force` with prod's
 * DATABASE_URL and age identity. With an offsite bucket the restore falls back to it (`--source
 * auto`); without one it reads only the own bucket, since an empty setting does not hide the
 * host's own offsite vault. Secrets are in the text: send it on stdin, never as an argument.
 */
export function restoreScript(from: BackupStorage, backupId: string): string {
    const exp = (k: string, v: string) => `export ${k}=${shQuote(v)}`;
    const o = from.offsite;
    return [
        "set -euo pipefail",
        exp("BACKUP_S3_ENDPOINT", from.primary.endpoint),
        exp("BACKUP_BUCKET", from.primary.bucket),
        exp("BACKUP_PREFIX", from.prefix),
        exp("AWS_ACCESS_KEY_ID", from.accessKeyId),
        exp("AWS_SECRET_ACCESS_KEY", from.secretAccessKey),
        ...(o
            ? [
                  exp("BACKUP_OFFSITE_S3_ENDPOINT", o.endpoint),
                  exp("BACKUP_OFFSITE_BUCKET", o.bucket),
                  exp("BACKUP_OFFSITE_ACCESS_KEY_ID", o.accessKeyId ?? from.accessKeyId),
                  exp("BACKUP_OFFSITE_SECRET_ACCESS_KEY", o.secretAccessKey ?? from.secretAccessKey),
              ]
            : []),
        `exec fortress-restore --force --source ${o ? "auto" : "primary"} --backup ${shQuote(backupId)}`,
        "",
    ].join("\n");
}

/** Reads {@link fingerprintScript}'s output. */
export function parseFingerprint(text: string, where: string): Fingerprint {
    let o: { relations?: unknown; sequences?: unknown };
    try {
        o = JSON.parse(text.trim()) as typeof o;
    } catch {
        throw new Error(`${where}: the fingerprint is not JSON: ${text.trim().slice(0, 80)}`);
    }
    const map = (v: unknown): Record<string, string> =>
        v && typeof v === "object" && !Array.isArray(v)
            ? Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, String(x)]))
            : {};
    return { relations: map(o.relations), sequences: map(o.sequences) };
}

/** A backup id as fortress-backup prints it: `20261125T174500Z` or `20261125T174500Z-<tag>`. */
export function parseBackupId(stdout: string, where: string): string {
    const id = stdout.trim().split("\n").pop()?.trim() ?? "";
    if (!/^\d{8}T\d{6}Z(-[A-Za-z0-9._-]+)?$/.test(id))
        throw new Error(`${where}: fortress-backup printed ${JSON.stringify(id.slice(0, 60))}, not a backup id`);
    return id;
}

/** A compose service name (the characters compose allows), so it can go into a command line. */
export function checkServiceName(name: string): string {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name))
        throw new Error(`${JSON.stringify(name)} is not a compose service name`);
    return name;
}

/** The compose services that write: every running service of the project but the TLS proxy, which holds no data. */
export function writerServices(services: readonly string[], proxy: string): string[] {
    return services.map((s) => s.trim()).filter((s) => s !== "" && s !== proxy);
}

/** `curl` that prints only the HTTP status of one GET (000 when there was no answer). */
export function healthCommand(url: string): string {
    return `curl -s -o /dev/null -w '%{http_code}' --max-time 10 ${shQuote(url)} || true`;
}
