// Pure builders for what the recovery commands run on the droplet: the text of each step
// (`create`) and the bytes each step reads on stdin. No Pulumi in here, so every builder
// is table-tested (tests/unit/recovery-scripts.test.ts) and the integration test runs the
// exact texts over a real sshd.
//
// Each step's shell is a file in steps/ (shellchecked with the host toolkit). A step's
// text is one `set -- ARG...` line with its arguments, then steps/lib.sh (strict mode, fail,
// say), then the helper files the step calls (steps/lib-*.sh), then the step's file, run by
// the deployer's login shell (bash, per user-data). So the text changes, and the step runs
// again, exactly when its shell or an argument changes, and never otherwise.
//
// A command's text never holds a secret. pulumi-command prints the text when a command
// fails and keeps it in the state, so secrets travel on stdin and the text only says where
// stdin goes. (`environment` is no way out: it uses SSH setenv, which stock sshd rejects
// unless AcceptEnv lists the name; pulumi/pulumi-command#48, #584.)
import { createHash, createHmac, pbkdf2Sync } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { formatEnvFile } from "../../cloud-init/env-file";
import { DNS_CREDENTIALS_FILE, READY_MARKER, type SettingKey } from "../../cloud-init/host";
import { TLS_CHALLENGES, certbotPackages, type TlsChallenge } from "../../cloud-init/render";
import { sh, shSplit } from "../../cloud-init/shell";
import {
    BACKUP_ID,
    parseAgeIdentity,
    parseBucketName,
    parseCommandLine,
    parseComposeService,
    parseDigitalOceanToken,
    parseEmail,
    parseFileOwner,
    parseFqdn,
    parseHealthUrl,
    parseHostPath,
    parseIpv4,
    parseObjectPrefix,
    parsePgIdentifier,
    parseS3Endpoint,
    parseWholeNumber,
    preMigrateTag,
    type BackupChoice,
} from "../../config/rules";

export { BACKUP_ID, TLS_CHALLENGES, type BackupChoice, type TlsChallenge };

// Arguments are checked with the value rules of config/rules.ts; a builder only words its
// own error, which names the builder.
const whole = (n: number, min: number) => parseWholeNumber(n, min, Number.MAX_SAFE_INTEGER).ok;

export { composeDir } from "../../cloud-init/compose-dir";

// ---------------------------------------------------------------- the step files

/** The shell of each step, by file name in steps/ without `.sh`. */
export const STEP_NAMES = [
    "boot",
    "write-secret-file",
    "database-access",
    "restore",
    "migrate",
    "compose-up",
    "images",
    "health-gate",
    "tls-http-01",
    "tls-dns-01",
    "tls-skipped",
    "evidence",
    "compose-stop",
] as const;
export type StepName = (typeof STEP_NAMES)[number];

/** Where the step files are; for the tests that lint them. */
export const STEPS_DIR = join(__dirname, "steps");

function readShell(file: string): string {
    const text = readFileSync(join(STEPS_DIR, file), "utf8");
    // A checkout with CRLF line endings would change every text and re-run every step.
    if (text.includes("\r"))
        throw new Error(`${file} has CR characters (CRLF line endings?); check it out with LF endings`);
    return text;
}

/** Each step file's content, read once when this module loads. */
export const STEP_SCRIPTS: Readonly<Record<StepName, string>> = Object.fromEntries(
    STEP_NAMES.map((s) => [s, readShell(`${s}.sh`)]),
) as Record<StepName, string>;

/** steps/lib.sh, the prelude of every step: strict mode, fail and say. */
export const STEP_LIB = readShell("lib.sh");

/** The helper files in steps/: functions that some steps share. */
export const HELPER_FILES = ["lib-compose.sh", "lib-certbot.sh"] as const;
export type HelperFile = (typeof HELPER_FILES)[number];

/** Each helper file's content, read once when this module loads. */
export const HELPER_SCRIPTS: Readonly<Record<HelperFile, string>> = Object.fromEntries(
    HELPER_FILES.map((f) => [f, readShell(f)]),
) as Record<HelperFile, string>;

/**
 * The helper files in each step's text, after {@link STEP_LIB}: those whose functions the
 * step calls, and no others, so a text holds nothing its step does not run and a changed
 * helper re-runs only the steps that call it.
 */
export const STEP_HELPERS: Readonly<Record<StepName, readonly HelperFile[]>> = {
    boot: [],
    "write-secret-file": [],
    "database-access": [],
    restore: [],
    migrate: ["lib-compose.sh"],
    "compose-up": ["lib-compose.sh"],
    images: ["lib-compose.sh"],
    "health-gate": [],
    "tls-http-01": ["lib-certbot.sh"],
    "tls-dns-01": ["lib-certbot.sh"],
    "tls-skipped": [],
    evidence: [],
    "compose-stop": ["lib-compose.sh"],
};

/**
 * What a step's text holds between its `set --` line and its file: {@link STEP_LIB}, then its
 * helpers, each followed by a blank line, so a text printed on failure shows where each file starts.
 */
export function stepPrelude(step: StepName): string {
    return [STEP_LIB, ...STEP_HELPERS[step].map((f) => HELPER_SCRIPTS[f])].map((text) => `${text}\n`).join("");
}

/** A step's command text: its arguments on one `set --` line, then {@link stepPrelude}, then the step file. */
export function stepText(step: StepName, args: readonly string[]): string {
    if (args.some((a) => a.includes("\0")))
        throw new Error(`${step}: an argument holds a NUL character, which no shell argument can carry`);
    return `${sh("set", "--", ...args)}\n${stepPrelude(step)}${STEP_SCRIPTS[step]}`;
}

/** The step and arguments of a text made by {@link stepText}: the inverse, for tests and reviews. */
export function parseStepText(text: string): { step: StepName; args: string[] } {
    for (const step of STEP_NAMES) {
        const body = `\n${stepPrelude(step)}${STEP_SCRIPTS[step]}`;
        if (!text.endsWith(body)) continue;
        const [set, dashes, ...args] = shSplit(text.slice(0, -body.length));
        if (set === "set" && dashes === "--") return { step, args };
    }
    throw new Error(
        "parseStepText: not a text made by stepText (an argument line, steps/lib.sh and the step's helpers, then one of the step files)",
    );
}

// ---------------------------------------------------------------- 1. wait for boot

export interface BootWait {
    /** The ready marker user-data writes last. Default {@link READY_MARKER}. */
    marker?: string;
}

/** Waits for cloud-init, then checks the ready marker (steps/boot.sh). */
export function waitForBootScript(b: BootWait = {}): string {
    return stepText("boot", [b.marker ?? READY_MARKER]);
}

// ---------------------------------------------------------------- 2. secret files

export interface SecretFileTarget {
    /** Absolute path of the file on the host. */
    path: string;
    /** Owner and group, e.g. `root:root` or `deployer:deployer`. */
    owner: string;
    /** What the file is, for messages. */
    what: string;
}

/** Writes stdin to `path` with mode 600, atomically (steps/write-secret-file.sh). */
export function writeSecretFileScript(target: SecretFileTarget): string {
    if (!parseHostPath(target.path).ok)
        throw new Error(`writeSecretFileScript: ${JSON.stringify(target.path)} is not a plain absolute path`);
    if (!parseFileOwner(target.owner).ok)
        throw new Error(`writeSecretFileScript: owner ${JSON.stringify(target.owner)} is not user:group`);
    return stepText("write-secret-file", [target.path, target.owner, target.what]);
}

/** Names the app's .env may not take from `extra`: the stack generates them. */
export const GENERATED_APP_ENV = [
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "DO_SPACES_KEY",
    "DO_SPACES_SECRET",
] as const;

export interface AppEnvValues {
    databaseUrl: string;
    cacheUrl: string;
    secretKey: string;
    spacesAccessKeyId: string;
    spacesSecretAccessKey: string;
    /** Further entries from config (third-party API keys and the like), added after the generated ones in name order. */
    extra: Readonly<Record<string, string>>;
}

/** The app's `.env` (docker compose reads it from the project directory). */
export function appEnvFile(v: AppEnvValues): string {
    const clash = Object.keys(v.extra).filter((k) => (GENERATED_APP_ENV as readonly string[]).includes(k));
    if (clash.length)
        throw new Error(`appEnvFile: ${clash.join(", ")} are generated by the stack; remove them from appEnv`);
    return formatEnvFile(
        [
            ["DATABASE_URL", v.databaseUrl],
            ["REDIS_URL", v.cacheUrl],
            ["SECRET_KEY", v.secretKey],
            ["DO_SPACES_KEY", v.spacesAccessKeyId],
            ["DO_SPACES_SECRET", v.spacesSecretAccessKey],
            ...Object.keys(v.extra)
                .sort()
                .map((k) => [k, v.extra[k]] as const),
        ],
        [
            "Written by pulumi (income-fortress recovery). Rotated with credentialsEpoch; edits are lost on the next rebuild.",
        ],
    );
}

export interface CredentialsValues {
    databaseUrl: string;
    spacesAccessKeyId: string;
    spacesSecretAccessKey: string;
    /**
     * Dead-man's-switch ping URL for fortress-heartbeat (a secret: whoever holds it can
     * report a good backup). Empty or undefined: no BACKUP_HEARTBEAT_URL line.
     */
    backupHeartbeatUrl?: string;
}

/** The toolkit's secret settings (host.ts CREDENTIALS_FILE); backup.env holds the rest. */
export function credentialsFile(v: CredentialsValues): string {
    const settings: ReadonlyArray<readonly [SettingKey, string]> = [
        ["DATABASE_URL", v.databaseUrl],
        ["AWS_ACCESS_KEY_ID", v.spacesAccessKeyId],
        ["AWS_SECRET_ACCESS_KEY", v.spacesSecretAccessKey],
        ...(v.backupHeartbeatUrl ? [["BACKUP_HEARTBEAT_URL", v.backupHeartbeatUrl] as const] : []),
    ];
    return formatEnvFile(settings, [
        "Written by pulumi (income-fortress recovery) for the fortress-* commands. Secrets: mode 600, root only.",
    ]);
}

/** The age identity file: the key as given, one trailing newline. */
export function ageIdentityFile(identity: string): string {
    const key = parseAgeIdentity(identity);
    if (!key.ok || key.value === "")
        throw new Error("ageIdentityFile: not an age identity (AGE-SECRET-KEY-1 followed by 58 characters)");
    return `${key.value}\n`;
}

/** The plugin's INI file (https://certbot-dns-digitalocean.readthedocs.io/): one line. */
export function dnsCredentialsFile(token: string): string {
    // An INI line: a newline would end it early and anything after it would be a new key.
    const value = parseDigitalOceanToken(token);
    if (!value.ok)
        throw new Error("dnsCredentialsFile: not a DigitalOcean API token (dop_v1_ followed by 64 hex digits)");
    return `# Written by pulumi (income-fortress recovery) for certbot's dns-digitalocean plugin. Mode 600, root only.\ndns_digitalocean_token = ${value.value}\n`;
}

// ---------------------------------------------------------------- 3. database access

/**
 * A PostgreSQL SCRAM-SHA-256 verifier (RFC 7677, as PostgreSQL stores it in pg_authid).
 * Sending this instead of the password keeps the plaintext out of the server's logs and
 * pg_stat_statements. The salt is derived from the password, so the same password always
 * gives the same verifier and the step's stdin does not change between runs; the password
 * is 32 random characters, so a derived salt costs nothing against guessing.
 */
export function scramSha256Verifier(password: string, salt?: Buffer, iterations = 4096): string {
    if (!/^[\x21-\x7e]+$/.test(password))
        throw new Error("scramSha256Verifier: the password must be printable ASCII (no SASLprep needed)");
    salt ??= createHmac("sha256", password).update("income-fortress scram salt").digest().subarray(0, 16);
    const salted = pbkdf2Sync(password, salt, iterations, 32, "sha256");
    const clientKey = createHmac("sha256", salted).update("Client Key").digest();
    const storedKey = createHash("sha256").update(clientKey).digest();
    const serverKey = createHmac("sha256", salted).update("Server Key").digest();
    return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}

export interface AdminConnection {
    /** Private host of the cluster (the droplet reaches it over the VPC). */
    host: string;
    port: number;
    /** The cluster's admin user (`doadmin`). */
    user: string;
    /** The cluster's default database (`defaultdb`). */
    database: string;
}

/**
 * Runs SQL as the cluster's admin (steps/database-access.sh). stdin: the admin password on
 * the first line, then the SQL ({@link databaseAccessStdin}). Only the host, port, user and
 * database name are in the text.
 */
export function databaseAccessScript(admin: AdminConnection): string {
    if (!parseFqdn(admin.host).ok)
        throw new Error(`databaseAccessScript: ${JSON.stringify(admin.host)} is not a host name`);
    if (!parseWholeNumber(admin.port, 1, 65535).ok)
        throw new Error(`databaseAccessScript: port ${admin.port} is out of range`);
    if (!parsePgIdentifier(admin.user).ok || !parsePgIdentifier(admin.database).ok)
        throw new Error("databaseAccessScript: admin user and database must be plain identifiers");
    return stepText("database-access", [admin.host, String(admin.port), admin.user, admin.database]);
}

export interface DatabaseAccess {
    /** The app's role. */
    role: string;
    /** The app's database. */
    database: string;
    /** The role's new password (stored as a SCRAM verifier). */
    password: string;
}

/**
 * SQL the admin runs: set the app role's password (rotation without replacing the
 * DatabaseUser, which cannot be dropped while it owns tables), and give it the rights a
 * restore, the weekly fortress-verify and the app's migrations need. Since PostgreSQL 15 only the database owner
 * may create in schema public, and DigitalOcean creates the database as the admin.
 */
export function databaseAccessSql(a: DatabaseAccess): string {
    if (!parsePgIdentifier(a.role).ok || !parsePgIdentifier(a.database).ok)
        throw new Error("databaseAccessSql: role and database must be plain identifiers");
    return [
        // CREATEDB: fortress-verify (the weekly restore test) restores into a throwaway database it creates and drops.
        `ALTER ROLE "${a.role}" WITH LOGIN CREATEDB PASSWORD '${scramSha256Verifier(a.password)}';`,
        `GRANT ALL PRIVILEGES ON DATABASE "${a.database}" TO "${a.role}";`,
        `\\connect "${a.database}"`,
        `GRANT ALL ON SCHEMA public TO "${a.role}";`,
        "",
    ].join("\n");
}

/** stdin of the database step: admin password, newline, SQL. */
export function databaseAccessStdin(adminPassword: string, access: DatabaseAccess): string {
    if (/[\r\n]/.test(adminPassword) || adminPassword === "")
        throw new Error("databaseAccessStdin: the admin password must be one non-empty line");
    return `${adminPassword}\n${databaseAccessSql(access)}`;
}

// ---------------------------------------------------------------- 4. restore

/**
 * - `if-empty` (a primary stack): restore only into an empty database. A database with
 *   tables is left untouched (fortress-restore exit 4), so a rebuilt droplet never
 *   overwrites live data. No backup at all means a first deploy: nothing to restore.
 * - `required` (a dr stack): a backup must exist and be restored; a database that already
 *   has tables (a second run after a droplet replacement) is left untouched.
 * - `off`: the step only reports (for example while a point-in-time fork is the database).
 */
export type RestoreMode = "if-empty" | "required" | "off";

export interface RestoreSource {
    /** S3 endpoint of the bucket, e.g. `https://sfo3.digitaloceanspaces.com`. */
    endpoint: string;
    /** Bucket name. */
    bucket: string;
    /** Object prefix, e.g. `postgresql/prod`. */
    prefix: string;
}

export interface RestoreOptions {
    mode: RestoreMode;
    backup: BackupChoice;
    /**
     * Read from this bucket (a dr stack: the primary stack's vault) instead of the buckets
     * in the host's backup.env. Passed as the offsite settings in the environment, which
     * wins over backup.env; none of them is a secret.
     */
    source?: RestoreSource;
}

/** Restores the database as the mode says (steps/restore.sh, whose header explains the modes). */
export function restoreScript(o: RestoreOptions): string {
    if ("id" in o.backup && o.backup.id !== "latest" && !BACKUP_ID.test(o.backup.id))
        throw new Error(`restoreScript: ${JSON.stringify(o.backup.id)} is not a backup id`);
    if (
        o.source &&
        (!parseS3Endpoint(o.source.endpoint).ok ||
            !parseBucketName(o.source.bucket).ok ||
            !parseObjectPrefix(o.source.prefix).ok)
    ) {
        throw new Error(
            "restoreScript: the restore source needs an http(s) endpoint, a bucket name and a plain prefix",
        );
    }
    const which = "id" in o.backup ? ["--backup", o.backup.id] : ["--before", o.backup.before];
    const source = o.source ? [o.source.endpoint, o.source.bucket, o.source.prefix] : [];
    return stepText("restore", [o.mode, ...which, ...source]);
}

// ---------------------------------------------------------------- 5. migrate and start

export interface MigrateStep {
    /** The compose project. */
    dir: string;
    /** The migration command line (config migrateCommand). */
    command: string;
    /** The app's pinned git ref (config appRef): the backup before the migrations is tagged pre-migrate-<ref>. */
    appRef: string;
}

/**
 * Backs up a database that has tables, tagged pre-migrate-<appRef> (config/rules.ts
 * preMigrateTag), then runs the app's migrations in the compose project (steps/migrate.sh).
 */
export function migrateScript(m: MigrateStep): string {
    if (!parseCommandLine(m.command).ok)
        throw new Error("migrateScript: the migrate command must be one non-empty line");
    const tag = preMigrateTag(m.appRef);
    if (!tag.ok) throw new Error(`migrateScript: appRef ${tag.problem}`);
    return stepText("migrate", [m.dir, m.command, tag.value]);
}

export interface ComposeStep {
    /** The compose project. */
    dir: string;
}

/** `docker compose up -d` in the pinned checkout, then the service states (steps/compose-up.sh). */
export function composeUpScript(c: ComposeStep): string {
    return stepText("compose-up", [c.dir]);
}

/** A warm standby's images, pulled and built ahead of the failover, nothing started (steps/images.sh). */
export function imagesScript(c: ComposeStep): string {
    return stepText("images", [c.dir]);
}

// ---------------------------------------------------------------- breach (config isolate)

export interface EvidenceStep {
    /** The compose project whose logs are kept. */
    dir: string;
    /** The word at the end of the evidence object's name: letters, digits, `.`, `_`, `-`, up to 32. */
    label: string;
    /** age recipients the bundle is encrypted to (config ageRecipients); at least one. */
    recipients: string[];
}

/** fortress-evidence on the host under suspicion (steps/evidence.sh). */
export function evidenceScript(e: EvidenceStep): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/.test(e.label))
        throw new Error(
            `evidenceScript: label ${JSON.stringify(e.label)} is not 1 to 32 letters, digits, '.', '_' or '-'`,
        );
    if (e.recipients.length === 0 || e.recipients.some((r) => !/^age1[02-9ac-hj-np-z]{58}$/.test(r)))
        throw new Error("evidenceScript: recipients must be one or more age public keys (age1...)");
    return stepText("evidence", [e.dir, e.label, ...e.recipients]);
}

/** `docker compose stop` in the checkout, keeping the containers (steps/compose-stop.sh). */
export function composeStopScript(c: ComposeStep): string {
    return stepText("compose-stop", [c.dir]);
}

// ---------------------------------------------------------------- 6. health gate

export interface HealthGate {
    /** URL polled on the host, e.g. `http://localhost:8000/health`. */
    url: string;
    /** Give up after this many seconds. */
    timeoutSeconds: number;
    /** Seconds between attempts. Default 5. */
    intervalSeconds?: number;
    /** The compose project, named in the failure message. */
    dir: string;
}

/** Polls the URL until it answers 200; on timeout, fails with the last answer and where to look (steps/health-gate.sh). */
export function healthGateScript(h: HealthGate): string {
    if (!parseHealthUrl(h.url).ok)
        throw new Error(`healthGateScript: ${JSON.stringify(h.url)} is not an http(s) URL without credentials`);
    const interval = h.intervalSeconds ?? 5;
    if (!whole(h.timeoutSeconds, 1) || !whole(interval, 1))
        throw new Error("healthGateScript: timeout and interval are whole seconds >= 1");
    return stepText("health-gate", [h.url, String(h.timeoutSeconds), String(interval), h.dir]);
}

// ---------------------------------------------------------------- TLS

export interface TlsCertificate {
    /** The stack's own record, e.g. api.incomefortress.com; it also names the certificate (/etc/letsencrypt/live/<fqdn>/). */
    fqdn: string;
    /** The address the name must resolve to first (the reserved IP); http-01 waits for it. */
    address: string;
    /** ACME account e-mail (expiry notices). */
    email: string;
    /** The compose project, and the service that serves the certificate. */
    dir: string;
    proxyService: string;
    /** How Let's Encrypt checks the names. Default http-01. */
    challenge?: TlsChallenge;
    /**
     * dns-01 only: more names on the same certificate, such as the primary's public name
     * on a dr stack. http-01 cannot prove a name that points elsewhere, so it takes none.
     */
    alsoFor?: string[];
    /** dns-01: the plugin's credentials file. Default {@link DNS_CREDENTIALS_FILE}. */
    credentialsFile?: string;
    /** dns-01: seconds certbot waits after writing the TXT records before Let's Encrypt looks. Default 60. */
    propagationSeconds?: number;
    /** http-01: seconds to wait for the name to resolve to `address`. Default 600. */
    resolveTimeoutSeconds?: number;
    /** http-01: why no certificate is requested this time. Default: one is. */
    skip?: TlsSkip;
}

/** Why a stack gets no certificate this time (http-01 only); undefined when it does. */
export type TlsSkip = undefined | "isolated" | "served-by-dr";

/**
 * A Let's Encrypt certificate from certbot, renewed by certbot.timer: over HTTP-01
 * (steps/tls-http-01.sh) or DNS-01 (steps/tls-dns-01.sh); their headers say when each
 * fits. An http-01 stack that cannot answer the challenge this time says why instead
 * (steps/tls-skipped.sh).
 */
export function tlsScript(t: TlsCertificate): string {
    const challenge = t.challenge ?? "http-01";
    const names = [t.fqdn, ...(t.alsoFor ?? [])];
    if (challenge === "http-01" && t.skip !== undefined) return stepText("tls-skipped", [t.skip, t.fqdn]);
    for (const n of names) if (!parseFqdn(n).ok) throw new Error(`tlsScript: ${JSON.stringify(n)} is not a host name`);
    if (new Set(names).size !== names.length) throw new Error(`tlsScript: ${names.join(", ")} names one host twice`);
    if (!parseIpv4(t.address).ok) throw new Error(`tlsScript: ${JSON.stringify(t.address)} is not an IPv4 address`);
    if (!parseEmail(t.email).ok) throw new Error(`tlsScript: ${JSON.stringify(t.email)} is not an e-mail address`);
    if (!parseComposeService(t.proxyService).ok)
        throw new Error(`tlsScript: ${JSON.stringify(t.proxyService)} is not a compose service name`);
    if (challenge === "http-01" && names.length > 1) {
        throw new Error(
            `tlsScript: http-01 cannot prove ${names.slice(1).join(", ")}, which do not point at this host; use dns-01 for more names`,
        );
    }
    const packages = certbotPackages(challenge).join(" ");
    if (challenge === "http-01") {
        return stepText("tls-http-01", [
            t.fqdn,
            t.address,
            t.email,
            t.dir,
            t.proxyService,
            String(t.resolveTimeoutSeconds ?? 600),
            packages,
        ]);
    }
    const propagation = t.propagationSeconds ?? 60;
    if (!whole(propagation, 10)) throw new Error("tlsScript: propagationSeconds is a whole number of seconds >= 10");
    return stepText("tls-dns-01", [
        t.email,
        t.dir,
        t.proxyService,
        t.credentialsFile ?? DNS_CREDENTIALS_FILE,
        String(propagation),
        packages,
        ...names,
    ]);
}
