// Pure builders for what the recovery commands run on the droplet: the bash text of each
// step (`create`) and the bytes each step reads on stdin. No Pulumi in here, so every
// builder is table-tested (tests/unit/recovery-scripts.test.ts) and the integration test
// runs the exact texts over a real sshd.
//
// Two rules shape everything below:
// - A command's text never holds a secret. pulumi-command prints the text when a command
//   fails and keeps it in the state, so secrets travel on stdin and the text only says
//   where stdin goes. (`environment` is no way out: it uses SSH setenv, which stock sshd
//   rejects unless AcceptEnv lists the name; pulumi/pulumi-command#48, #584.)
// - Each text is a bash script run by the deployer's login shell (bash, per user-data):
//   `set -euo pipefail`, one `fail` helper, every error one line that says what to do.
import { createHash, createHmac, pbkdf2Sync } from "node:crypto";
import { formatEnvFile } from "../cloud-init/env-file";
import { AGE_IDENTITY_FILE, CREDENTIALS_FILE, DEPLOYER_USER, READY_MARKER, TLS_CHALLENGES, certbotPackages, shQuote, type TlsChallenge } from "../cloud-init/render";

export { AGE_IDENTITY_FILE, CREDENTIALS_FILE, DEPLOYER_USER, READY_MARKER, TLS_CHALLENGES, type TlsChallenge };

/** Words joined into one shell command line, each quoted when it needs to be. */
export function sh(...words: string[]): string {
    return words.map(shQuote).join(" ");
}

/** The common head of every step: strict mode and the one error helper, named after the step. */
function prelude(step: string): string[] {
    return [
        "set -euo pipefail",
        `fail() { printf 'income-fortress ${step}: error: %s\\n' "$*" >&2; exit 1; }`,
        `say() { printf 'income-fortress ${step}: %s\\n' "$*"; }`,
    ];
}

/** The docker compose project directory: the checkout, or a folder inside it. */
export function composeDir(app: { dir: string; composeSubdir: string }): string {
    return app.composeSubdir === "." ? app.dir : `${app.dir}/${app.composeSubdir}`;
}

// ---------------------------------------------------------------- 1. wait for boot

/**
 * Waits for cloud-init, then checks the ready marker that user-data writes last.
 * `cloud-init status --wait` exits 0 when done, 2 when done with recoverable errors
 * ("degraded done", cloud-init 23.4+), 1 on failure. Exit 2 still counts as booted: the
 * marker, written only after every bootstrap step succeeded, is what decides.
 */
export function waitForBootScript(marker: string = READY_MARKER): string {
    return [
        ...prelude("boot"),
        "rc=0",
        "cloud-init status --wait >/dev/null 2>&1 || rc=$?",
        'case "$rc" in',
        "  0) ;;",
        '  2) say "cloud-init finished with recoverable errors (exit 2, degraded done); the ready marker decides" ;;',
        '  *) fail "cloud-init failed (cloud-init status --wait exited $rc): read /var/log/cloud-init-output.log on the droplet, fix the user-data and replace the droplet" ;;',
        "esac",
        `test -f ${shQuote(marker)} || fail ${shQuote(`cloud-init is done but ${marker} is missing, so a bootstrap step failed: read /var/log/cloud-init-output.log on the droplet`)}`,
        `say "booted: $(tr '\\n' ' ' < ${shQuote(marker)})"`,
    ].join("\n");
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

/**
 * Writes stdin to `path` with mode 600, atomically (temp file in the same folder, then
 * rename), so a reader never sees half a file and a failed write leaves the old one. The
 * folder must exist already (user-data makes it), and an empty stdin is refused: a file
 * emptied by mistake would look like "no credentials" to every reader.
 */
export function writeSecretFileScript(target: SecretFileTarget): string {
    if (!/^(\/[A-Za-z0-9._-]+)+$/.test(target.path)) throw new Error(`writeSecretFileScript: ${JSON.stringify(target.path)} is not a plain absolute path`);
    if (!/^[a-z_][a-z0-9_-]*:[a-z_][a-z0-9_-]*$/.test(target.owner)) throw new Error(`writeSecretFileScript: owner ${JSON.stringify(target.owner)} is not user:group`);
    const dir = target.path.slice(0, target.path.lastIndexOf("/")) || "/";
    const path = shQuote(target.path);
    return [
        ...prelude("secrets"),
        "umask 077",
        `sudo test -d ${shQuote(dir)} || fail ${shQuote(`${dir} does not exist, so user-data did not finish; replace the droplet`)}`,
        // mktemp makes the file 0600; tee copies stdin without the bytes ever being an argument.
        `tmp=$(sudo mktemp ${shQuote(`${target.path}.XXXXXX`)})`,
        `trap 'sudo rm -f -- "$tmp"' EXIT`,
        'sudo tee -- "$tmp" >/dev/null',
        `sudo test -s "$tmp" || fail ${shQuote(`nothing arrived on stdin for ${target.what}; no file was written`)}`,
        `sudo chown ${shQuote(target.owner)} -- "$tmp"`,
        'sudo chmod 0600 -- "$tmp"',
        `sudo mv -f -- "$tmp" ${path}`,
        "trap - EXIT",
        `say "wrote ${target.what}: $(sudo stat -c '%n, mode %a, %U:%G, %s bytes' -- ${path})"`,
    ].join("\n");
}

/** Names the app's .env may not take from `extra`: the stack generates them. */
export const GENERATED_APP_ENV = ["DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DO_SPACES_KEY", "DO_SPACES_SECRET"] as const;

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
    if (clash.length) throw new Error(`appEnvFile: ${clash.join(", ")} are generated by the stack; remove them from appEnv`);
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
        ["Written by pulumi (income-fortress recovery). Rotated with credentialsEpoch; edits are lost on the next rebuild."],
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

/** The toolkit's secret settings ({@link CREDENTIALS_FILE}); backup.env holds the rest. */
export function credentialsFile(v: CredentialsValues): string {
    return formatEnvFile(
        [
            ["DATABASE_URL", v.databaseUrl],
            ["AWS_ACCESS_KEY_ID", v.spacesAccessKeyId],
            ["AWS_SECRET_ACCESS_KEY", v.spacesSecretAccessKey],
            ...(v.backupHeartbeatUrl ? [["BACKUP_HEARTBEAT_URL", v.backupHeartbeatUrl] as const] : []),
        ],
        ["Written by pulumi (income-fortress recovery) for the fortress-* commands. Secrets: mode 600, root only."],
    );
}

/** The age identity file: the key as given, one trailing newline. */
export function ageIdentityFile(identity: string): string {
    const key = identity.trim();
    if (!/^AGE-SECRET-KEY-1[0-9A-Z]{58}$/.test(key)) throw new Error("ageIdentityFile: not an age identity (AGE-SECRET-KEY-1 followed by 58 characters)");
    return `${key}\n`;
}

/**
 * Where certbot's dns-digitalocean plugin reads its token. certbot stores this path in
 * the renewal config, not the token, so the file must stay for renewals; it sits with
 * the toolkit's other root-only secrets rather than in /etc/letsencrypt, which only
 * exists once certbot is installed.
 */
export const DNS_CREDENTIALS_FILE = "/etc/income-fortress/certbot-digitalocean.ini";

/** The plugin's INI file (https://certbot-dns-digitalocean.readthedocs.io/): one line. */
export function dnsCredentialsFile(token: string): string {
    const value = token.trim();
    // An INI line: a newline would end it early and anything after it would be a new key.
    if (!/^[A-Za-z0-9_]+$/.test(value)) throw new Error("dnsCredentialsFile: not a DigitalOcean API token (letters, digits and underscores)");
    return `# Written by pulumi (income-fortress recovery) for certbot's dns-digitalocean plugin. Mode 600, root only.\ndns_digitalocean_token = ${value}\n`;
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
    if (!/^[\x21-\x7e]+$/.test(password)) throw new Error("scramSha256Verifier: the password must be printable ASCII (no SASLprep needed)");
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

const PG_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Runs SQL as the cluster's admin. stdin: the admin password on the first line, then the
 * SQL ({@link databaseAccessSql}). Only the host, port, user and database name are in the
 * text. Terse errors without statement context, so a failure cannot print the SQL.
 */
export function databaseAccessScript(admin: AdminConnection): string {
    if (!/^[A-Za-z0-9.-]+$/.test(admin.host)) throw new Error(`databaseAccessScript: ${JSON.stringify(admin.host)} is not a host name`);
    if (!Number.isInteger(admin.port) || admin.port < 1 || admin.port > 65535) throw new Error(`databaseAccessScript: port ${admin.port} is out of range`);
    if (!PG_IDENTIFIER.test(admin.user) || !PG_IDENTIFIER.test(admin.database)) throw new Error("databaseAccessScript: admin user and database must be plain identifiers");
    const conninfo = `host=${admin.host} port=${admin.port} user=${admin.user} dbname=${admin.database} sslmode=require connect_timeout=20`;
    return [
        ...prelude("database"),
        "command -v psql >/dev/null || fail 'psql is missing: user-data installs postgresql-client; replace the droplet'",
        // bash reads a pipe byte by byte, so `read` takes exactly the first line and psql the rest.
        "IFS= read -r PGPASSWORD || fail 'no admin password arrived on stdin'",
        "export PGPASSWORD",
        `psql ${shQuote(conninfo)} -X -q -v ON_ERROR_STOP=1 -v VERBOSITY=terse -v SHOW_CONTEXT=never -f - || fail ${shQuote(`the admin SQL failed on ${admin.host}:${admin.port}; check that the database firewall trusts this droplet's tag and that the admin password in the state is current (pulumi refresh)`)}`,
        `say ${shQuote("app role password and privileges are in place")}`,
    ].join("\n");
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
    if (!PG_IDENTIFIER.test(a.role) || !PG_IDENTIFIER.test(a.database)) throw new Error("databaseAccessSql: role and database must be plain identifiers");
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
    if (/[\r\n]/.test(adminPassword) || adminPassword === "") throw new Error("databaseAccessStdin: the admin password must be one non-empty line");
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

/** Which backup: `latest`, a backup id, or the newest one before a time. */
export type BackupChoice = { id: string } | { before: string };

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

export const BACKUP_ID = /^[0-9]{8}T[0-9]{6}Z(-[A-Za-z0-9._-]+)?$/;

/** The fortress-restore (or fortress-backups) command line for the options. */
function toolkitCommand(tool: "fortress-restore" | "fortress-backups", o: RestoreOptions, extra: string[]): string {
    const env = o.source
        ? [`BACKUP_OFFSITE_S3_ENDPOINT=${o.source.endpoint}`, `BACKUP_OFFSITE_BUCKET=${o.source.bucket}`, `BACKUP_PREFIX=${o.source.prefix}`]
        : [];
    const source = ["--source", o.source ? "offsite" : "auto"];
    return sh("sudo", ...env, tool, ...source, ...extra);
}

export function restoreScript(o: RestoreOptions): string {
    if ("id" in o.backup && o.backup.id !== "latest" && !BACKUP_ID.test(o.backup.id)) throw new Error(`restoreScript: ${JSON.stringify(o.backup.id)} is not a backup id`);
    if (o.source && (!/^https?:\/\/[A-Za-z0-9.:-]+$/.test(o.source.endpoint) || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(o.source.bucket) || !/^[A-Za-z0-9._/-]+$/.test(o.source.prefix))) {
        throw new Error("restoreScript: the restore source needs an http(s) endpoint, a bucket name and a plain prefix");
    }
    const which = "id" in o.backup ? ["--backup", o.backup.id] : ["--before", o.backup.before];
    const from = o.source ? `s3://${o.source.bucket}/${o.source.prefix}` : "the buckets in /etc/income-fortress/backup.env";
    const lines = [...prelude("restore")];
    if (o.mode === "off") {
        lines.push(`say ${shQuote("restore is off for this stack (config restoreMode off); the database is left as it is")}`);
        return lines.join("\n");
    }
    if (o.mode === "if-empty") {
        lines.push(
            // A first deploy has no backup yet and must not fail; say so loudly, because the
            // same state after losing the database means the backups are gone too.
            `count=$(${toolkitCommand("fortress-backups", o, ["--json", "--limit", "1"])} | jq length) || fail ${shQuote(`cannot list the backups in ${from}; see the error above`)}`,
            'if [ "$count" = 0 ]; then',
            `  say ${shQuote(`no backup exists in ${from} yet (a first deploy): nothing to restore. If this database was lost, stop here and restore by hand from another copy.`)}`,
            "  exit 0",
            "fi",
        );
    }
    lines.push(
        "rc=0",
        `${toolkitCommand("fortress-restore", o, which)} || rc=$?`,
        'case "$rc" in',
        `  0) say ${shQuote(`restored the database from ${from}`)} ;;`,
        `  4) say ${shQuote("the database already has tables, so it was left untouched (a restore only fills an empty database; to replace data run fortress-restore --force on the host)")} ;;`,
        `  *) fail "fortress-restore exited $rc (2 settings, 3 integrity, 1 other; see its error above); nothing after the restore ran" ;;`,
        "esac",
    );
    return lines.join("\n");
}

// ---------------------------------------------------------------- 5. migrate and start

/** Runs the app's migrations (a command from config) in the compose project. */
export function migrateScript(dir: string, command: string): string {
    if (/[\r\n\0]/.test(command) || command.trim() === "") throw new Error("migrateScript: the migrate command must be one non-empty line");
    return [
        ...prelude("migrate"),
        `cd ${shQuote(dir)} || fail ${shQuote(`${dir} does not exist: user-data did not check out the app; replace the droplet`)}`,
        `test -f .env || fail ${shQuote(`${dir}/.env is missing: the secrets step must run first`)}`,
        command,
        `say ${shQuote(`migrations done: ${command}`)}`,
    ].join("\n");
}

/** `docker compose up -d` in the pinned checkout (user-data checked out the ref); prints the service states. */
export function composeUpScript(dir: string): string {
    return [
        ...prelude("compose"),
        `cd ${shQuote(dir)} || fail ${shQuote(`${dir} does not exist: user-data did not check out the app; replace the droplet`)}`,
        `test -f .env || fail ${shQuote(`${dir}/.env is missing: the secrets step must run first`)}`,
        `say "starting $(git -C ${shQuote(dir)} describe --tags --always 2>/dev/null || echo 'the checkout')"`,
        "docker compose up -d --build --remove-orphans",
        "docker compose ps",
    ].join("\n");
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

/** Polls the URL until it answers 200; on timeout, fails with the last answer and where to look. */
export function healthGateScript(h: HealthGate): string {
    if (!/^https?:\/\/[^\s'"\\@]+$/.test(h.url)) throw new Error(`healthGateScript: ${JSON.stringify(h.url)} is not an http(s) URL without credentials`);
    const interval = h.intervalSeconds ?? 5;
    if (!Number.isInteger(h.timeoutSeconds) || h.timeoutSeconds < 1 || !Number.isInteger(interval) || interval < 1) throw new Error("healthGateScript: timeout and interval are whole seconds >= 1");
    const url = shQuote(h.url);
    return [
        ...prelude("health"),
        `deadline=$((SECONDS + ${h.timeoutSeconds}))`,
        "last='no answer yet'",
        "while :; do",
        `  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -- ${url}) || true`,
        `  if [ "$code" = 200 ]; then say ${shQuote(`${h.url} answered 200`)}" after \${SECONDS}s"; exit 0; fi`,
        '  if [ -z "$code" ] || [ "$code" = 000 ]; then last="no answer (connection failed)"; else last="HTTP $code"; fi',
        `  if [ "$SECONDS" -ge "$deadline" ]; then fail ${shQuote(`${h.url} did not answer 200 within ${h.timeoutSeconds}s`)}" (last: $last); check docker compose ps and docker compose logs --tail=100 in "${shQuote(h.dir)}; fi`,
        `  sleep ${interval}`,
        "done",
    ].join("\n");
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
}

/** Why a stack gets no certificate this time (http-01 only); undefined when it does. */
export type TlsSkip = undefined | "isolated" | "served-by-dr";

const HOST_NAME = /^[a-z0-9.-]+\.[a-z]{2,63}$/;

/**
 * A Let's Encrypt certificate from certbot, renewed by certbot.timer, in one of two ways.
 *
 * http-01 (certbot's standalone server) needs no credential, but Let's Encrypt must reach
 * this host behind the name: the step runs after the DNS record exists, waits until the
 * name resolves here, and runs before `docker compose up`, while port 80 is still free.
 * The pre/post hooks are stored in the renewal config, so renewals stop the proxy for
 * the seconds the challenge takes.
 *
 * dns-01 (certbot's dns-digitalocean plugin) proves the names with TXT records through
 * DigitalOcean DNS, so it works for a name that points elsewhere: a dr host holds a
 * certificate for the public name before the cutover, and keeps renewing it after a
 * failback; it also works while isolated. The deploy hook restarts a running proxy after
 * a renewal so it loads the new files.
 *
 * --cert-name keeps one lineage per host; a changed name list replaces that lineage's
 * certificate, and an unchanged valid one is kept (--keep-until-expiring), so a re-run
 * changes nothing.
 */
export function tlsScript(t: TlsCertificate, skip: TlsSkip = undefined): string {
    const challenge = t.challenge ?? "http-01";
    const names = [t.fqdn, ...(t.alsoFor ?? [])];
    const lines = [...prelude("tls")];
    if (challenge === "http-01" && skip === "isolated") {
        lines.push(`say ${shQuote(`the firewall is isolated (inbound 80/443 closed), so no HTTP-01 challenge can reach ${t.fqdn}; the certificate on the host is kept and renews once isolate is false again`)}`);
        return lines.join("\n");
    }
    if (challenge === "http-01" && skip === "served-by-dr") {
        lines.push(`say ${shQuote(`${t.fqdn} points at the DR site (activeSite dr), so this host cannot answer its HTTP-01 challenge; no certificate is requested here`)}`);
        return lines.join("\n");
    }
    for (const n of names) if (!HOST_NAME.test(n)) throw new Error(`tlsScript: ${JSON.stringify(n)} is not a host name`);
    if (new Set(names).size !== names.length) throw new Error(`tlsScript: ${names.join(", ")} names one host twice`);
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(t.address)) throw new Error(`tlsScript: ${JSON.stringify(t.address)} is not an IPv4 address`);
    if (!/^[^\s'"\\@]+@[^\s'"\\@]+\.[a-z]{2,}$/i.test(t.email)) throw new Error(`tlsScript: ${JSON.stringify(t.email)} is not an e-mail address`);
    if (!/^[a-z0-9][a-z0-9_.-]*$/.test(t.proxyService)) throw new Error(`tlsScript: ${JSON.stringify(t.proxyService)} is not a compose service name`);
    if (challenge === "http-01" && names.length > 1) {
        throw new Error(`tlsScript: http-01 cannot prove ${names.slice(1).join(", ")}, which do not point at this host; use dns-01 for more names`);
    }
    const compose = (verb: string) => `cd ${shQuote(t.dir)} && docker compose ${verb} ${t.proxyService}`;
    const packages = certbotPackages(challenge);
    const common = ["--non-interactive", "--agree-tos", "--no-eff-email", "--keep-until-expiring", "--cert-name", t.fqdn, "-m", t.email, ...names.flatMap((n) => ["-d", n])];
    // user-data installs these at boot; this covers a host built before the challenge was chosen.
    lines.push(
        "if ! command -v certbot >/dev/null; then",
        `  sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q ${packages.join(" ")} >/dev/null || fail ${shQuote(`cannot install ${packages.join(" ")} (apt-get install); check the droplet's outbound access and run pulumi up again`)}`,
        "fi",
    );
    if (challenge === "http-01") {
        const timeout = t.resolveTimeoutSeconds ?? 600;
        lines.push(
            // The record was just created or changed; Let's Encrypt must see this host behind the name.
            `deadline=$((SECONDS + ${timeout}))`,
            `until [ "$(getent ahostsv4 ${shQuote(t.fqdn)} | awk 'NR == 1 { print $1 }')" = ${shQuote(t.address)} ]; do`,
            `  if [ "$SECONDS" -ge "$deadline" ]; then fail ${shQuote(`${t.fqdn} does not resolve to ${t.address} after ${timeout}s; check the DNS record (pulumi stack output hostname), then run pulumi up again`)}; fi`,
            "  sleep 10",
            "done",
            sh("sudo", "certbot", "certonly", "--standalone", ...common, "--pre-hook", compose("stop"), "--post-hook", compose("start")) +
                ` || fail ${shQuote(`certbot could not get a certificate for ${t.fqdn}; read /var/log/letsencrypt/letsencrypt.log on the droplet (port 80 must be open to the internet)`)}`,
        );
    } else {
        const credentials = t.credentialsFile ?? DNS_CREDENTIALS_FILE;
        const propagation = t.propagationSeconds ?? 60;
        if (!Number.isInteger(propagation) || propagation < 10) throw new Error("tlsScript: propagationSeconds is a whole number of seconds >= 10");
        // Restart only a proxy that runs: the first certificate comes before compose up.
        const deployHook = `cd ${shQuote(t.dir)} && if [ -n "$(docker compose ps -q ${t.proxyService})" ]; then docker compose restart ${t.proxyService}; fi`;
        lines.push(
            `sudo test -s ${shQuote(credentials)} || fail ${shQuote(`${credentials} is missing, so certbot has no DigitalOcean token; the secret-dns-token step writes it: run pulumi up again`)}`,
            sh(
                "sudo", "certbot", "certonly", "--dns-digitalocean", "--dns-digitalocean-credentials", credentials,
                "--dns-digitalocean-propagation-seconds", String(propagation), ...common, "--deploy-hook", deployHook,
            ) + ` || fail ${shQuote(`certbot could not get a certificate for ${names.join(", ")} over DNS-01; read /var/log/letsencrypt/letsencrypt.log on the droplet (the token needs the domain read and write scopes, and the zone must be in DigitalOcean DNS)`)}`,
        );
    }
    lines.push(
        // Debian's and Ubuntu's certbot package ships certbot.timer (twice a day); make sure it runs.
        "sudo systemctl enable --now certbot.timer >/dev/null",
        `say ${shQuote(`certificate for ${names.join(", ")} (${challenge}) in /etc/letsencrypt/live/${t.fqdn}/ (fullchain.pem, privkey.pem), renewed by certbot.timer`)}`,
    );
    return lines.join("\n");
}
