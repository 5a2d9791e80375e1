// Every config key of the `income-fortress` project: type, default, meaning and whether it
// holds a secret. This table is the one source: `npm run generate` writes Pulumi.yaml's
// project-level `config:` block and the table in docs/configuration.md from it, and a test
// fails when the committed files differ from what it generates.

/** Pulumi project-config types (https://www.pulumi.com/docs/iac/concepts/projects/project-file/). */
export type ConfigType = "string" | "integer" | "boolean" | "array";

export type ConfigDefault = string | number | boolean | string[];

export interface ConfigKey {
    /** Key without the project namespace, e.g. `region` for `income-fortress:region`. */
    name: string;
    /** Declared type; arrays are arrays of strings. */
    type: ConfigType;
    /** Default applied when a stack does not set the key; absent means required. */
    default?: ConfigDefault;
    /** One line for Pulumi.yaml and the README. */
    description: string;
    /** An example value for error messages about a missing key. */
    example?: string;
    /**
     * The value is a credential: it must be set with `pulumi config set --secret`, and the
     * program refuses a plain-text value (see {@link secretKeys}).
     */
    secret?: true;
}

export const PROJECT = "income-fortress";

export const CONFIG_KEYS: readonly ConfigKey[] = [
    {
        name: "role",
        type: "string",
        default: "primary",
        description:
            "primary: the stack owns its vault bucket. dr: the stack rebuilds the platform in another region and only reads the primary stack's vault.",
    },
    {
        name: "region",
        type: "string",
        default: "nyc3",
        description: "DigitalOcean region of the droplet, VPC, databases and backup bucket. Must have Spaces.",
    },
    {
        name: "primaryRegion",
        type: "string",
        default: "",
        description:
            "Region of the primary site. Empty for role primary (it is `region`); required for role dr and must differ from `region`.",
        example: "nyc3",
    },
    {
        name: "vaultRegion",
        type: "string",
        default: "sfo3",
        description:
            "Spaces region of the offsite vault bucket. Must differ from the primary region so the vault survives losing it.",
    },
    {
        name: "vaultBucket",
        type: "string",
        default: "",
        description:
            "Name of the offsite vault bucket. Empty derives income-fortress-<stack>-vault (role primary); role dr must name the primary stack's vault.",
        example: "incomefortress-backups-vault",
    },
    {
        name: "backupBucket",
        type: "string",
        default: "",
        description: "Name of this stack's backup bucket in `region`. Empty derives income-fortress-<stack>-backups.",
    },
    {
        name: "primaryStack",
        type: "string",
        default: "prod",
        description:
            "Role dr: the stack whose backups are restored from the vault (object prefix postgresql/<primaryStack>).",
    },
    {
        name: "drOffsiteRegion",
        type: "string",
        default: "atl1",
        description:
            "Role dr: Spaces region of drOffsiteBucket, where the dr stack copies its own backups while it serves, so they leave its region. Must differ from `region` and from `primaryRegion`: fortress-backup fails when any bucket fails, so a bucket in the lost primary region would fail every backup.",
        example: "atl1",
    },
    {
        name: "drOffsiteBucket",
        type: "string",
        default: "",
        description:
            "Role dr: name of the bucket in drOffsiteRegion that the dr stack owns and writes its offsite copies to. Empty derives income-fortress-<stack>-offsite.",
        example: "incomefortress-dr-offsite",
    },
    {
        name: "standby",
        type: "string",
        default: "cold",
        description:
            "Role dr: cold (nothing runs until the disaster; pulumi up builds the site and restores the latest backup) or warm (a read-only replica of the primary's PostgreSQL cluster in this region, with the droplet, network and cache up and the app images pulled; the failover promotes the replica). See docs/warm-standby.md.",
    },
    {
        name: "failover",
        type: "boolean",
        default: false,
        description:
            "Role dr with standby warm: true promotes the replica to an independent primary through the DigitalOcean API (needs DIGITALOCEAN_TOKEN where pulumi runs), points the app at it and starts the services. Cannot be undone: the replica stops following the primary.",
    },
    {
        name: "backupRetentionDays",
        type: "integer",
        default: 7,
        description:
            "Days a backup object is kept in each bucket before lifecycle expiry (the plan's 7-day rolling retention).",
    },
    {
        name: "noncurrentVersionDays",
        type: "integer",
        default: 7,
        description:
            "Days an overwritten or deleted object version is kept (buckets are versioned; versioning can only be suspended).",
    },
    {
        name: "backupSchedule",
        type: "string",
        default: "hourly",
        description: "systemd OnCalendar schedule of fortress-backup on the host (hourly meets the plan's 1 h RPO).",
    },
    {
        name: "verifySchedule",
        type: "string",
        default: "",
        description:
            "systemd OnCalendar schedule of fortress-verify, the weekly restore test. Empty: the day before the database maintenance window, in its hour, 30 minutes after the hourly backup (Sat *-*-* 08:30:00 for the default window), so the test never meets the window (docs/host-toolkit.md, Schedules).",
    },
    {
        name: "ageRecipients",
        type: "array",
        default: [],
        description: "age public keys backups are encrypted to. Empty stores backups unencrypted.",
    },
    {
        name: "protect",
        type: "boolean",
        default: false,
        description:
            "Protect stateful resources (database clusters, app database, firewalls, buckets, reserved IP, DNS record) from deletion.",
    },
    {
        name: "allowReplace",
        type: "array",
        default: [],
        description:
            "Set-once keys (the refused rows of docs/config-changes.md) whose change this one update may carry out although it replaces or deletes a stateful resource. Without it the program stops such a change before touching anything. Remove it after the update.",
        example: '["vpcIpRange"]',
    },
    {
        name: "domain",
        type: "string",
        description: "DNS zone, already managed in DigitalOcean DNS, that holds the service record.",
        example: "incomefortress.com",
    },
    {
        name: "hostname",
        type: "string",
        description:
            "Record name inside `domain` that this stack owns (api for prod, api-dr for dr; drill stacks use drill-…).",
        example: "api",
    },
    {
        name: "dnsTtl",
        type: "integer",
        default: 60,
        description: "TTL of the service record in seconds (DigitalOcean's minimum is 30).",
    },
    {
        name: "adminCidrs",
        type: "array",
        description: "IPv4/IPv6 CIDRs allowed to reach SSH (port 22).",
        example: '["203.0.113.0/24"]',
    },
    {
        name: "allowSshFromAnywhere",
        type: "boolean",
        default: false,
        description: "Explicit opt-in to let adminCidrs contain 0.0.0.0/0 or ::/0.",
    },
    {
        name: "isolate",
        type: "boolean",
        default: false,
        description:
            "Breach response: close inbound 80/443 (admin SSH stays), take the droplet out of the database firewalls, keep a snapshot and an encrypted evidence bundle of it, stop its app, and post to Slack. Set false again to start the app (docs/scenarios.md, Breach).",
    },
    {
        name: "vpcIpRange",
        type: "string",
        default: "",
        description: "Private IPv4 CIDR (/16 to /28) of the VPC. Empty lets DigitalOcean choose.",
    },
    {
        name: "dropletSize",
        type: "string",
        default: "s-4vcpu-8gb",
        description: "Droplet size slug (the plan's 4 vCPU / 8 GB).",
    },
    {
        name: "dropletImage",
        type: "string",
        default: "ubuntu-24-04-x64",
        description: "Droplet image slug or id (Ubuntu 24.04 LTS).",
    },
    {
        name: "dropletBackups",
        type: "boolean",
        default: false,
        description: "Enable DigitalOcean's weekly droplet backups.",
    },
    {
        name: "sshKeyFingerprints",
        type: "array",
        description:
            "MD5 fingerprints (or ids) of SSH keys already in the DigitalOcean account. DigitalOcean installs them for root at creation; cloud-init then disables root SSH login.",
        example: '["3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa"]',
    },
    {
        name: "deployerPublicKeys",
        type: "array",
        description: "OpenSSH public keys authorised for the deployer user (the user recovery commands log in as).",
        example: '["ssh-ed25519 AAAA... ops@example.com"]',
    },
    {
        name: "postgresVersion",
        type: "string",
        default: "17",
        description: "Managed PostgreSQL major version.",
    },
    {
        name: "dbSize",
        type: "string",
        default: "db-s-1vcpu-2gb",
        description: "Managed PostgreSQL node size slug.",
    },
    {
        name: "dbNodeCount",
        type: "integer",
        default: 1,
        description: "Managed PostgreSQL node count (1 to 3; more than 1 adds standby nodes).",
    },
    {
        name: "dbMaintenanceDay",
        type: "string",
        default: "sunday",
        description: "Weekday of the database maintenance window.",
    },
    {
        name: "dbMaintenanceHour",
        type: "string",
        default: "08:00",
        description: "Start of the database maintenance window, HH:MM UTC.",
    },
    {
        name: "dbName",
        type: "string",
        default: "income_platform",
        description: "Application database name.",
    },
    {
        name: "dbUser",
        type: "string",
        default: "income_platform",
        description: "Application database user.",
    },
    {
        name: "valkeySize",
        type: "string",
        default: "db-s-1vcpu-1gb",
        description: "Managed Valkey (cache) node size slug.",
    },
    {
        name: "appRepoUrl",
        type: "string",
        default: "https://github.com/AlbertoDBP/Agentic.git",
        description: "Git URL of the application the host checks out.",
    },
    {
        name: "appRef",
        type: "string",
        default: "v1.0.0",
        description: "Pinned git tag or commit of the application.",
    },
    {
        name: "appDir",
        type: "string",
        default: "/opt/income-fortress/app",
        description: "Directory on the host the application is checked out into.",
    },
    {
        name: "appComposeSubdir",
        type: "string",
        default: "income-platform",
        description:
            "Directory of the docker compose project inside the checkout (the plan's Agentic/income-platform).",
    },
    {
        name: "credentialsEpoch",
        type: "integer",
        default: 1,
        description:
            "Bump to rotate every generated credential in one pulumi up: the app database role's password, the host's Spaces key, the deploy SSH key (which rebuilds the droplet) and the app secret key.",
    },
    {
        name: "projectEnvironment",
        type: "string",
        default: "Production",
        description: "Environment label of the DigitalOcean project (Development, Staging or Production).",
    },
    {
        name: "restoreMode",
        type: "string",
        default: "auto",
        description:
            "When the recovery chain restores a backup: if-empty (only into an empty database; no backup yet is a first deploy), required (a backup must be restored; a database with tables is left untouched), off, or auto (if-empty for role primary, required for role dr).",
    },
    {
        name: "restoreBackup",
        type: "string",
        default: "latest",
        description:
            "Backup the recovery chain restores: latest, a backup id from fortress-backups (20261125T174500Z), or before:<ISO time> for the newest backup taken before that time.",
    },
    {
        name: "migrateCommand",
        type: "string",
        default: "docker compose run --rm api python manage.py migrate",
        description:
            "The application's migration command, run in the compose project after the restore and before docker compose up -d.",
    },
    {
        name: "healthUrl",
        type: "string",
        default: "http://localhost:8000/health",
        description:
            "URL the recovery chain's health gate polls on the host itself after docker compose up -d, until it answers 200 (pulumi up fails otherwise). Not the public check: see healthPath.",
    },
    {
        name: "healthTimeoutSeconds",
        type: "integer",
        default: 600,
        description: "Seconds the health gate waits for a 200 before pulumi up fails.",
    },
    {
        name: "bootTimeoutMinutes",
        type: "integer",
        default: 45,
        description: "Minutes the first recovery step waits for a new droplet to accept SSH and finish cloud-init.",
    },
    {
        name: "ageIdentity",
        type: "string",
        default: "",
        description:
            "The age identity (AGE-SECRET-KEY-1...) matching ageRecipients, written to the host over SSH so restores and fortress-verify can decrypt. Empty: encrypted backups cannot be restored on the host.",
        secret: true,
    },
    {
        name: "appEnv",
        type: "string",
        default: "{}",
        description:
            "JSON object of extra entries for the app's .env, such as third-party API keys. DATABASE_URL, REDIS_URL, SECRET_KEY, DO_SPACES_KEY and DO_SPACES_SECRET are generated.",
        secret: true,
    },
    {
        name: "pitrSourceCluster",
        type: "string",
        default: "",
        description:
            "Point-in-time fork for in-region database loss: the real name of the cluster to fork (pulumi stack output databaseClusterName). Set, the app moves to a new cluster forked from DigitalOcean's own backups of it, in the same region.",
        example: "income-fortress-prod-db-pg-1a2b3c4",
    },
    {
        name: "pitrBackupTime",
        type: "string",
        default: "",
        description:
            "With pitrSourceCluster: the ISO time to fork at, such as 2026-02-03T10:00:00Z. Empty forks the most recent backup.",
    },
    {
        name: "activeSite",
        type: "string",
        default: "primary",
        description:
            "Role primary only: which site the public record points at. primary (this stack's reserved IP) or dr (the publicIp output of drStack): the DNS cutover.",
    },
    {
        name: "drStack",
        type: "string",
        default: "dr",
        description:
            "The DR stack whose publicIp the public record follows when activeSite is dr (a stack name, or org/project/stack).",
    },
    {
        name: "tlsEmail",
        type: "string",
        default: "",
        description:
            "ACME account e-mail for the Let's Encrypt certificate of the stack's record (certbot on the host, renewed by certbot.timer). Empty: no certificate is requested.",
        example: "ops@incomefortress.com",
    },
    {
        name: "tlsChallenge",
        type: "string",
        default: "http-01",
        description:
            "How Let's Encrypt checks the names: http-01 (certbot's standalone server on port 80; needs no credential, but only works for a name that points at this host) or dns-01 (a TXT record through DigitalOcean DNS, with tlsDnsToken; works before a name points here, while isolated, and for publicHostname).",
        example: "dns-01",
    },
    {
        name: "tlsDnsToken",
        type: "string",
        default: "",
        description:
            "With tlsChallenge dns-01, a DigitalOcean API token that may read and write the domain's records (custom scopes domain:read, domain:create, domain:update, domain:delete), written to the host for certbot's dns-digitalocean plugin. Not rotated by credentialsEpoch.",
        secret: true,
        example: "dop_v1_…",
    },
    {
        name: "publicHostname",
        type: "string",
        default: "",
        description:
            "Role dr: the primary stack's public record name (api), which points at this site after a DNS cutover. The certificate covers it too, so the site serves HTTPS on it the moment the cutover lands; needs tlsChallenge dns-01. Empty: the certificate covers only this stack's own record.",
        example: "api",
    },
    {
        name: "tlsProxyService",
        type: "string",
        default: "nginx",
        description:
            "The docker compose service that serves the certificate: with http-01 it holds port 80 and renewals stop it for the seconds a challenge takes; with dns-01 it is restarted after a renewal so it loads the new certificate.",
    },
    // Monitoring and alerts (components/monitoring.ts). alertSlackWebhookUrl and
    // backupHeartbeatUrl are secrets: set them with --secret.
    {
        name: "monitoring",
        type: "boolean",
        default: true,
        description:
            "Create DigitalOcean monitoring: an uptime check on https://<hostname>.<domain><healthPath> (down, latency and certificate alerts) and droplet CPU, memory and disk alerts. True needs alertEmails or alertSlackWebhookUrl.",
    },
    {
        name: "alertEmails",
        type: "array",
        default: [],
        description:
            "E-mail addresses the alerts go to. DigitalOcean only mails addresses verified on the team that owns the droplet.",
        example: '["oncall@incomefortress.com"]',
    },
    {
        name: "alertSlackWebhookUrl",
        type: "string",
        default: "",
        description:
            "Slack incoming-webhook URL (https://hooks.slack.com/services/…) the alerts are posted to; needs alertSlackChannel. Empty: no Slack.",
        secret: true,
    },
    {
        name: "alertSlackChannel",
        type: "string",
        default: "",
        description: "Slack channel alertSlackWebhookUrl posts to, such as #ops-alerts. Set both or neither.",
        example: "'#ops-alerts'",
    },
    {
        name: "alertCpuPercent",
        type: "integer",
        default: 80,
        description:
            "CPU use (percent of all vCPUs) above which the droplet CPU alert fires, once it lasts alertWindow.",
    },
    {
        name: "alertMemoryPercent",
        type: "integer",
        default: 85,
        description: "Memory use (percent) above which the droplet memory alert fires, once it lasts alertWindow.",
    },
    {
        name: "alertDiskPercent",
        type: "integer",
        default: 80,
        description: "Root disk use (percent) above which the droplet disk alert fires, once it lasts alertWindow.",
    },
    {
        name: "alertWindow",
        type: "string",
        default: "10m",
        description:
            "How long a droplet metric must stay above its threshold before the alert fires: 5m, 10m, 30m or 1h.",
    },
    {
        name: "healthPath",
        type: "string",
        default: "/health",
        description:
            "Path of the app's public health endpoint. DigitalOcean's uptime probes fetch https://<hostname>.<domain><healthPath> from outside; healthUrl is what the recovery gate polls on the host itself.",
    },
    {
        name: "backupHeartbeatUrl",
        type: "string",
        default: "",
        description:
            "Ping URL of a dead-man's-switch check (healthchecks.io style, such as https://hc-ping.com/<uuid>); the host pings it after every good backup and <url>/fail after a failed backup or weekly verify, and the service alerts when pings stop. One check per stack. Empty: no heartbeat.",
        secret: true,
    },
    // People (config/contacts.ts): not used by any resource; the drill, rehearsal and
    // failback reports name them, and a breach notification can print them.
    {
        name: "contacts",
        type: "string",
        default: "{}",
        description:
            "The plan's people (Roles & Responsibilities, Contact Information) as a JSON object: incidentCommander, technicalLead, databaseAdministrator and communicationsLead, each {name, email, phone, availability} with email or phone; escalation, a list of {title, name, email, phone}; securityEmail. The drill, rehearsal and failback reports say who does what. Not a secret: leave phone numbers out of a stack file others can read.",
        example: `'{"incidentCommander": {"name": "Alberto D.", "email": "alberto@incomefortress.com"}}'`,
    },
];

/** Looks a key up by name. */
export function configKey(name: string): ConfigKey | undefined {
    return CONFIG_KEYS.find((k) => k.name === name);
}

/**
 * A key's default, for a component that also runs without config (a Monitoring built on
 * its own): the table stays the one place the value is written.
 */
export function numberDefault(name: string): number {
    const value = configKey(name)?.default;
    if (typeof value !== "number") throw new Error(`config key ${name} has no number default`);
    return value;
}

/** A key's string default; see {@link numberDefault}. */
export function stringDefault(name: string): string {
    const value = configKey(name)?.default;
    if (typeof value !== "string") throw new Error(`config key ${name} has no string default`);
    return value;
}

/** The default as the CLI would hand it to the program (strings; arrays as JSON). */
export function rawDefault(key: ConfigKey): string | undefined {
    if (key.default === undefined) return undefined;
    return typeof key.default === "string" ? key.default : JSON.stringify(key.default);
}
