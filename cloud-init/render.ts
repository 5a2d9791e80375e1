// Renders the droplet's #cloud-config user-data. Pure: same input, same output.
// That matters: a changed userData replaces the droplet, so nothing here may depend
// on time, randomness, the environment or object iteration order of the caller.
//
// What the host gets (docs/host-toolkit.md; runbook phases 1-2):
//   users/ssh   `deployer` (docker, sudo) with SSH keys; no root or password logins
//   apt         Docker's and PGDG's repositories, pinned by signing-key fingerprint
//   packages    Docker Engine + compose, postgresql-client-<major>, rclone, age, zstd,
//               jq, git, curl, unattended-upgrades (security updates on), and certbot
//               (plus its DigitalOcean DNS plugin for dns-01) when the stack has TLS
//   toolkit     /usr/local/{bin,lib} from cloud-init/toolkit, backup.env, systemd timers
//   app         the repository at a pinned ref, images pre-pulled
//   marker      READY_MARKER, written last, only if every earlier step succeeded
// No secret is ever rendered: DATABASE_URL, Spaces keys and the age identity reach the
// host over SSH afterwards (credentials.env, age-identity.txt).
import { stringify } from "yaml";
import { formatEnvFile } from "./env-file";
import { gzipDeterministic } from "./gzip";
import { composeDir } from "./compose-dir";
import { ustar } from "./tar";
import { sh, shQuote } from "./shell";
import {
    AGE_IDENTITY_FILE,
    CREDENTIALS_FILE,
    DEPLOYER_USER,
    READY_MARKER,
    SETTINGS_FILE,
    SSHD_DROP_IN,
    STATE_DIR,
    TOOLKIT_BIN_DIR,
    TOOLKIT_BUNDLE,
    type SettingKey,
} from "./host";
import { DEFAULT_BACKUP_SCHEDULE, DEFAULT_VERIFY_SCHEDULE, fortressUnits } from "./systemd/units";
import type { ToolkitFile } from "./toolkit-files";
import {
    parseAgeRecipient,
    parseAppDir,
    parseBucketName,
    parseCalendar,
    parseGitRef,
    parseGitUrl,
    parseHostPath,
    parseObjectPrefix,
    parseOpenSshKeyLine,
    parsePostgresVersion,
    parseRelativeDir,
    parseS3Endpoint,
    parseStackName,
    problemAt,
    type Check,
} from "../config/rules";

// The settings path, for callers that read the rendered file back with the renderer.
export { SETTINGS_FILE } from "./host";
export type { ToolkitFile } from "./toolkit-files";

/** Non-secret settings the host toolkit needs; secrets arrive later over SSH. */
export interface BackupSettings {
    /** S3 endpoint of the primary backup bucket, e.g. `https://nyc3.digitaloceanspaces.com`. */
    s3Endpoint: string;
    /** Primary (in-region) backup bucket name. */
    bucket: string;
    /** Object key prefix, e.g. `postgresql/prod`. No leading or trailing slash. */
    prefix: string;
    /** S3 endpoint of the offsite vault bucket (the DR region). Empty (with `offsiteBucket`) when there is none. */
    offsiteS3Endpoint: string;
    /** Offsite vault bucket name. Empty (with `offsiteS3Endpoint`) when there is none. */
    offsiteBucket: string;
    /** age recipients (public keys, `age1…`) backups are encrypted to. Empty disables encryption. */
    ageRecipients: string[];
}

export interface UserDataArgs {
    /** Environment name (`prod`, `dr`, `drill-…`); written into the host's settings and marker. */
    environment: string;
    /** OpenSSH public keys authorised for the `deployer` user. At least one. */
    deployerSshKeys: string[];
    /** Major version of the managed PostgreSQL server (e.g. `"16"`); `postgresql-client-<major>` is installed from PGDG. */
    postgresMajorVersion: string;
    /** The application to check out and run with docker compose. */
    app: {
        /** Git URL of the application repository (https:// or ssh; no credentials in it). */
        repoUrl: string;
        /** Pinned git ref to check out detached: a tag (`v1.0.0`) or a full commit id. */
        ref: string;
        /** Absolute directory on the host the repository is checked out into, owned by `deployer`. */
        dir: string;
        /** Directory of the compose project inside the checkout (the plan's repo keeps it in `income-platform`). Default `.`. */
        composeSubdir?: string;
    };
    /** systemd OnCalendar expression for `fortress-backup`. Default `hourly` (the plan's 1 h RPO). */
    backupSchedule?: string;
    /** systemd OnCalendar expression for `fortress-verify`. Default `weekly`. */
    verifySchedule?: string;
    /** Non-secret backup settings, written to {@link SETTINGS_FILE}. */
    backup: BackupSettings;
    /** Files to install (scripts and libraries); pass `loadToolkitFiles()`. */
    toolkitFiles: ToolkitFile[];
    /**
     * How the host's Let's Encrypt certificate is checked: {@link certbotPackages} are
     * installed at boot. Undefined: no certificate, no certbot.
     */
    tlsChallenge?: TlsChallenge;
}

/** How Let's Encrypt checks a host's names (the recovery chain's tls step). */
export const TLS_CHALLENGES = ["http-01", "dns-01"] as const;
export type TlsChallenge = (typeof TLS_CHALLENGES)[number];

/** certbot, and for dns-01 its DigitalOcean DNS plugin. certbot.timer comes with the package. */
export function certbotPackages(challenge: TlsChallenge): string[] {
    return challenge === "dns-01" ? ["certbot", "python3-certbot-dns-digitalocean"] : ["certbot"];
}

/** Options that only tests and tooling need. */
export interface RenderOptions {
    /** Size budget in bytes. Default {@link USER_DATA_LIMIT_BYTES}. */
    limitBytes?: number;
}

/** DigitalOcean rejects user_data above 64 KiB. */
export const USER_DATA_LIMIT_BYTES = 64 * 1024;

/**
 * Signing keys of the two third-party apt repositories, by full fingerprint.
 * cloud-init fetches each from the keyserver and gpg refuses a key whose fingerprint
 * differs, so the fingerprint is the trust anchor. Docker's is the one its install
 * docs print; PGDG's matches /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc.
 */
export const DOCKER_APT_KEY_FINGERPRINT = "9DC858229FC7DD38854AE2D88D81803C0EBFCD88";
export const PGDG_APT_KEY_FINGERPRINT = "B97B0AFCAA1A47F044F244A07FCC7D46ACCC4CF8";
/**
 * hkps (port 443) rather than cloud-init's default hkp (port 11371): the droplet's
 * cloud firewall has explicit outbound rules, and 443 is open for apt and Spaces anyway.
 */
export const APT_KEYSERVER = "hkps://keyserver.ubuntu.com";

/** Commands the timers run; the toolkit must provide them. */
const REQUIRED_TOOLKIT_PATHS = ["fortress-backup", "fortress-verify", "fortress-heartbeat"].map(
    (command) => `${TOOLKIT_BIN_DIR}/${command}`,
);

/** Checks the toolkit file list: safe absolute paths, octal modes, no duplicates, the timer targets present. */
export function validateToolkitFiles(files: readonly ToolkitFile[]): string[] {
    const problems: string[] = [];
    const seen = new Set<string>();
    files.forEach((f, i) => {
        const where = `toolkitFiles[${i}] (${f.path})`;
        if (!parseHostPath(f.path).ok) {
            problems.push(`${where}: path must be absolute and normalised, of A-Z a-z 0-9 . _ -`);
        }
        if (!/^0[0-7]{3}$/.test(f.permissions)) {
            problems.push(
                `${where}: permissions ${JSON.stringify(f.permissions)} must be an octal string such as 0755`,
            );
        }
        if (seen.has(f.path)) problems.push(`${where}: the same path is listed twice`);
        seen.add(f.path);
    });
    for (const required of REQUIRED_TOOLKIT_PATHS) {
        if (!seen.has(required)) {
            problems.push(
                `toolkitFiles lacks ${required}, which the systemd timers run: pass loadToolkitFiles() and check cloud-init/toolkit/bin`,
            );
        }
    }
    return problems;
}

/**
 * Every problem with `args`, each naming the setting and the fix. Empty when valid. Each
 * value is checked by its rule in config/rules.ts. Deployer keys are checked for their
 * form (one line, a key type, base64, never a private key): what user-data may hold.
 * config/ also decodes the operators' keys (parseOpenSshPublicKey); the generated deploy
 * key is well formed by construction.
 */
export function validateUserDataArgs(args: UserDataArgs): string[] {
    const b = args.backup;
    const problems: (string | undefined)[] = [];
    const check = (where: string, result: Check<unknown>) => problems.push(problemAt(where, result));
    check("environment", parseStackName(args.environment));
    if (args.deployerSshKeys.length === 0) {
        problems.push(
            "deployerSshKeys is empty: add at least one OpenSSH public key (the contents of ~/.ssh/id_ed25519.pub), or nobody can log in",
        );
    }
    args.deployerSshKeys.forEach((key, i) => {
        check(`deployerSshKeys[${i}]`, parseOpenSshKeyLine(key));
    });
    check("postgresMajorVersion", parsePostgresVersion(args.postgresMajorVersion));
    check("app.repoUrl", parseGitUrl(args.app.repoUrl));
    check("app.ref", parseGitRef(args.app.ref));
    check("app.dir", parseAppDir(args.app.dir));
    check("app.composeSubdir", parseRelativeDir(args.app.composeSubdir ?? "."));
    check("backupSchedule", parseCalendar(args.backupSchedule ?? DEFAULT_BACKUP_SCHEDULE));
    check("verifySchedule", parseCalendar(args.verifySchedule ?? DEFAULT_VERIFY_SCHEDULE));
    check("backup.s3Endpoint", parseS3Endpoint(b.s3Endpoint));
    check("backup.bucket", parseBucketName(b.bucket));
    check("backup.prefix", parseObjectPrefix(b.prefix));
    if ((b.offsiteBucket === "") !== (b.offsiteS3Endpoint === "")) {
        problems.push("backup.offsiteBucket and backup.offsiteS3Endpoint must both be set or both be empty");
    } else if (b.offsiteBucket !== "") {
        check("backup.offsiteS3Endpoint", parseS3Endpoint(b.offsiteS3Endpoint));
        check("backup.offsiteBucket", parseBucketName(b.offsiteBucket));
    }
    // Public keys only: the identity is a secret and reaches the host over SSH.
    b.ageRecipients.forEach((r, i) => {
        check(`backup.ageRecipients[${i}]`, parseAgeRecipient(r));
    });
    problems.push(...validateToolkitFiles(args.toolkitFiles));
    return problems.filter((p): p is string => p !== undefined);
}

/**
 * The non-secret settings file: only setting keys of the host contract (host.ts SETTING_KEYS;
 * the toolkit warns about any other key), as KEY='value' lines (env-file.ts).
 */
export function backupSettingsFile(environment: string, backup: BackupSettings): string {
    const settings: ReadonlyArray<readonly [SettingKey, string]> = [
        ["BACKUP_S3_ENDPOINT", backup.s3Endpoint],
        ["BACKUP_BUCKET", backup.bucket],
        ["BACKUP_PREFIX", backup.prefix],
        ["BACKUP_OFFSITE_S3_ENDPOINT", backup.offsiteS3Endpoint],
        ["BACKUP_OFFSITE_BUCKET", backup.offsiteBucket],
        ["BACKUP_AGE_RECIPIENTS", backup.ageRecipients.join(" ")],
        ["BACKUP_AGE_IDENTITY_FILE", AGE_IDENTITY_FILE],
    ];
    return formatEnvFile(settings, [
        `Written by cloud-init (income-fortress) for the ${environment} environment.`,
        "Non-secret settings for the fortress-* commands; the environment overrides them.",
        `Secrets (DATABASE_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) live in ${CREDENTIALS_FILE},`,
        "which the recovery step writes over SSH. Never add them here.",
    ]);
}

/** Packages the host needs, in install order. */
export function hostPackages(postgresMajorVersion: string, tlsChallenge?: TlsChallenge): string[] {
    return [
        // Docker Engine and the compose plugin, from Docker's repository (the plan's get-docker.sh, without curl | sh).
        "docker-ce",
        "docker-ce-cli",
        "containerd.io",
        "docker-buildx-plugin",
        "docker-compose-plugin",
        // pg_dump must not be older than the server, so the client follows the managed server's major.
        `postgresql-client-${postgresMajorVersion}`,
        // The toolkit's own dependencies.
        "rclone",
        "age",
        "zstd",
        "jq",
        "curl",
        "git",
        "ca-certificates",
        "unattended-upgrades",
        // Let's Encrypt: the recovery chain's tls step runs certbot; certbot.timer renews.
        ...(tlsChallenge ? certbotPackages(tlsChallenge) : []),
    ];
}

/**
 * The runcmd lines. cloud-init writes them into one /bin/sh script; without `set -e`
 * a failed step would not stop the script and the ready marker would lie, so that
 * comes first. Exported for the syntax check in the integration test.
 */
export function bootstrapCommands(args: UserDataArgs, options: { toolkitBundle?: boolean } = {}): string[] {
    const { app } = args;
    const projectDir = composeDir({ dir: app.dir, composeSubdir: app.composeSubdir ?? "." });
    const asDeployer = (...words: string[]) => sh("runuser", "-u", DEPLOYER_USER, "--", ...words);
    const markerTmp = `${READY_MARKER}.tmp`;
    return [
        "set -eu",
        ...(options.toolkitBundle ? unpackToolkit() : []),
        // The drop-in was written before sshd started on most images; reload in case it was already running.
        sh("systemctl", "try-reload-or-restart", "ssh.service"),
        sh("install", "-d", "-m", "0755", STATE_DIR),
        sh("systemctl", "daemon-reload"),
        sh("systemctl", "enable", "--now", "fortress-backup.timer", "fortress-verify.timer"),
        // Fail the boot (no marker) when a package did not install: the package module's
        // failure alone does not stop runcmd.
        sh(`/usr/lib/postgresql/${args.postgresMajorVersion}/bin/pg_dump`, "--version"),
        sh("docker", "compose", "version"),
        'for tool in rclone age zstd jq git curl; do command -v "$tool" >/dev/null || { echo "income-fortress: $tool is missing after package install" >&2; exit 1; }; done',
        // Runbook phase 2: clone, then check out the pinned ref detached, as deployer.
        sh("install", "-d", "-o", DEPLOYER_USER, "-g", DEPLOYER_USER, "-m", "0750", app.dir),
        asDeployer("git", "clone", "--quiet", "--no-checkout", "--", app.repoUrl, app.dir),
        asDeployer("git", "-C", app.dir, "-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", app.ref),
        // Pre-pulling only saves time at `compose up`. It may fail for reasons that are
        // fine at this point: the compose file can need the .env that arrives over SSH
        // later, or the registry can be briefly down. `compose up` in the recovery step
        // pulls whatever is missing and fails loudly there, so a failed pull must not
        // hold back the ready marker.
        `${asDeployer("sh", "-c", 'cd "$1" && exec docker compose pull --ignore-buildable --quiet', "fortress-prepull", projectDir)} || echo "income-fortress: image pre-pull failed; the recovery step's docker compose up will pull" >&2`,
        // An assignment (unlike a command argument) stops `set -e` when the substitution fails.
        `app_commit="$(${asDeployer("git", "-C", app.dir, "rev-parse", "HEAD")})"`,
        // Last: the marker, written atomically, naming what was checked out.
        `printf 'environment=%s\\napp_ref=%s\\napp_commit=%s\\n' ${sh(args.environment, app.ref)} "$app_commit" > ${shQuote(markerTmp)}`,
        sh("mv", "-f", markerTmp, READY_MARKER),
    ];
}

type WriteFile = {
    path: string;
    content: string;
    owner: string;
    permissions: string;
    encoding?: "gz+b64";
    defer?: boolean;
};

function writeFile(file: ToolkitFile, options: { defer?: boolean } = {}): WriteFile {
    const entry: WriteFile = {
        path: file.path,
        content: file.content,
        owner: "root:root",
        permissions: file.permissions,
    };
    if (options.defer) entry.defer = true;
    return entry;
}

/**
 * The toolkit as one write_files entry: a tar of every file, gzip-compressed with our own
 * encoder, not node:zlib, whose bytes change with Node's zlib (see gzip.ts).
 */
function toolkitBundle(files: readonly ToolkitFile[]): WriteFile {
    const tar = ustar(
        files.map((f) => ({
            path: f.path.replace(/^\//, ""),
            content: Buffer.from(f.content, "utf8"),
            mode: f.permissions,
        })),
    );
    return {
        path: TOOLKIT_BUNDLE,
        encoding: "gz+b64",
        content: Buffer.from(gzipDeterministic(tar)).toString("base64"),
        owner: "root:root",
        permissions: "0600",
    };
}

/** Unpacks the bundle first thing in runcmd, so the timers and checks below find the toolkit. */
function unpackToolkit(): string[] {
    return [sh("tar", "-x", "-f", TOOLKIT_BUNDLE, "-C", "/", "--no-same-owner"), sh("rm", "-f", "--", TOOLKIT_BUNDLE)];
}

function renderDocument(args: UserDataArgs, bundleToolkit: boolean): string {
    const settings: ToolkitFile = {
        path: SETTINGS_FILE,
        content: backupSettingsFile(args.environment, args.backup),
        permissions: "0644",
    };
    const sshd: ToolkitFile = {
        path: SSHD_DROP_IN,
        content:
            "# Written by cloud-init (income-fortress): keys only, never root.\nPermitRootLogin no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n",
        permissions: "0644",
    };
    // Written after the packages (defer), so installing unattended-upgrades cannot replace it.
    const autoUpgrades: ToolkitFile = {
        path: "/etc/apt/apt.conf.d/20auto-upgrades",
        content: 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n',
        permissions: "0644",
    };
    const units = fortressUnits({
        backup: args.backupSchedule ?? DEFAULT_BACKUP_SCHEDULE,
        verify: args.verifySchedule ?? DEFAULT_VERIFY_SCHEDULE,
    });
    const files: WriteFile[] = [
        writeFile(sshd),
        writeFile(settings),
        ...(bundleToolkit ? [toolkitBundle(args.toolkitFiles)] : args.toolkitFiles.map((f) => writeFile(f))),
        ...units.map((f) => writeFile(f)),
        writeFile(autoUpgrades, { defer: true }),
    ];
    const clash = files.map((f) => f.path).find((p, i, all) => all.indexOf(p) !== i);
    if (clash !== undefined) {
        throw new Error(
            `toolkitFiles contains ${clash}, which the renderer writes itself: remove it from cloud-init/toolkit`,
        );
    }

    const doc = {
        // No "default" entry: the image's default login (ubuntu) is not needed, and one
        // account with keys is easier to audit.
        users: [
            {
                name: DEPLOYER_USER,
                gecos: "Income Fortress deployer",
                // cloud-init creates a missing group; docker's postinst then reuses it.
                groups: ["docker", "sudo"],
                shell: "/bin/bash",
                lock_passwd: true,
                // The account has no password, so sudo cannot ask for one.
                sudo: "ALL=(ALL) NOPASSWD:ALL",
                ssh_authorized_keys: args.deployerSshKeys,
            },
        ],
        disable_root: true,
        ssh_pwauth: false,
        // Timer schedules without a zone are read in local time; make that UTC everywhere.
        timezone: "Etc/UTC",
        apt: {
            sources: {
                docker: {
                    source: "deb [signed-by=$KEY_FILE] https://download.docker.com/linux/ubuntu $RELEASE stable",
                    keyid: DOCKER_APT_KEY_FINGERPRINT,
                    keyserver: APT_KEYSERVER,
                },
                pgdg: {
                    source: "deb [signed-by=$KEY_FILE] https://apt.postgresql.org/pub/repos/apt $RELEASE-pgdg main",
                    keyid: PGDG_APT_KEY_FINGERPRINT,
                    keyserver: APT_KEYSERVER,
                },
            },
        },
        package_update: true,
        // A rebuilt host (possibly after a breach) starts patched; costs a minute or two of RTO.
        package_upgrade: true,
        packages: hostPackages(args.postgresMajorVersion, args.tlsChallenge),
        write_files: files,
        runcmd: bootstrapCommands(args, { toolkitBundle: bundleToolkit }),
    };
    const header = [
        "#cloud-config",
        `# income-fortress host bootstrap (${args.environment}), rendered by cloud-init/render.ts.`,
        "# Contains no secrets: they arrive over SSH after boot.",
    ].join("\n");
    return `${header}\n${stringify(doc, { lineWidth: 0 })}`;
}

/**
 * Renders `#cloud-config` YAML. The header is the very first line. Throws one line
 * listing every invalid setting, or when the result does not fit DigitalOcean's limit.
 * Toolkit files are embedded as plain text (readable in the droplet's metadata) when
 * that fits, else as one gzip-compressed tar ({@link TOOLKIT_BUNDLE}).
 */
export function renderUserData(args: UserDataArgs, options: RenderOptions = {}): string {
    const problems = validateUserDataArgs(args);
    if (problems.length > 0) {
        throw new Error(`invalid user-data settings: ${problems.join("; ")}`);
    }
    const limit = options.limitBytes ?? USER_DATA_LIMIT_BYTES;
    const plain = renderDocument(args, false);
    if (Buffer.byteLength(plain, "utf8") <= limit) return plain;
    const packed = renderDocument(args, true);
    const size = Buffer.byteLength(packed, "utf8");
    if (size <= limit) return packed;
    throw new Error(
        `rendered user-data is ${size} bytes even with the toolkit as one gzip-compressed tar, above the ${limit}-byte limit: shrink cloud-init/toolkit`,
    );
}
