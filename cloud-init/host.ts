// The host contract: what the program that builds the droplet (user-data, systemd units,
// recovery steps) and the toolkit on the droplet must agree on: who logs in, where settings,
// secrets and markers live, which settings a file may set, what each exit code means. This
// module is the one source. The TypeScript side imports it; the toolkit's shell reads the
// copy `npm run generate` writes from it (cloud-init/toolkit/lib/income-fortress/contract.sh,
// sourced by common.sh), and a test fails while that copy is out of date.
import { shQuote } from "./shell";

/** The login and deploy user. Root and password logins are disabled. */
export const DEPLOYER_USER = "deployer";

/** The toolkit's settings folder; FORTRESS_CONFIG_DIR names another on the host (tests do). */
export const CONFIG_DIR = "/etc/income-fortress";
/** The non-secret settings file in {@link CONFIG_DIR}, written by cloud-init. */
export const SETTINGS_FILE_NAME = "backup.env";
/** The secret settings file in {@link CONFIG_DIR}, written over SSH. */
export const CREDENTIALS_FILE_NAME = "credentials.env";
/** Where the renderer writes the non-secret settings (docs/host-toolkit.md, "Settings"). */
export const SETTINGS_FILE = `${CONFIG_DIR}/${SETTINGS_FILE_NAME}`;
/** Where the recovery step writes secrets over SSH; never part of user-data. */
export const CREDENTIALS_FILE = `${CONFIG_DIR}/${CREDENTIALS_FILE_NAME}`;
/** Where the recovery step puts the age identity (a secret, never in user-data). */
export const AGE_IDENTITY_FILE = `${CONFIG_DIR}/age-identity.txt`;
/**
 * Where certbot's dns-digitalocean plugin reads its token. certbot stores this path in
 * the renewal config, not the token, so the file must stay for renewals; it sits with
 * the toolkit's other root-only secrets rather than in /etc/letsencrypt, which only
 * exists once certbot is installed.
 */
export const DNS_CREDENTIALS_FILE = `${CONFIG_DIR}/certbot-digitalocean.ini`;

/** The bootstrap's own folder, made by the first runcmd lines. */
export const STATE_DIR = "/var/lib/income-fortress";
/** Written as the last bootstrap step; the recovery step waits for cloud-init, then tests it. */
export const READY_MARKER = `${STATE_DIR}/ready`;
/**
 * When the toolkit does not fit as plain text, it travels as one gzip-compressed tar that
 * write_files puts here (cloud-init decompresses `gz+b64`) and the first runcmd line unpacks.
 */
export const TOOLKIT_BUNDLE = `${STATE_DIR}/toolkit.tar`;

/** Where cloud-init/toolkit/bin is installed: the fortress-* commands. */
export const TOOLKIT_BIN_DIR = "/usr/local/bin";
/** Where cloud-init/toolkit/lib is installed: the library folder income-fortress/. */
export const TOOLKIT_LIB_DIR = "/usr/local/lib";

/** sshd keeps the first value it reads and reads sshd_config.d in name order, so `10-` beats cloud-init's `50-cloud-init.conf`. */
export const SSHD_DROP_IN = "/etc/ssh/sshd_config.d/10-income-fortress.conf";

/** The toolkit's exit codes (docs/host-toolkit.md, "Exit codes"). Tests, systemd units and the restore step rely on them. */
export const EXIT = { ok: 0, failure: 1, usage: 2, integrity: 3, refused: 4 } as const;
export type ExitName = keyof typeof EXIT;

/** What each exit code means: the comments of the generated shell file. */
const EXIT_MEANINGS: Readonly<Record<ExitName, string>> = {
    ok: "done",
    failure: "anything else: server unreachable, no backup found, pg_* failed",
    usage: "bad option, bad or missing setting, missing command",
    integrity: "checksum, size, decrypt or row-count mismatch",
    refused: "target database is not empty and --force was not given",
};

/**
 * The settings a settings file may set (docs/host-toolkit.md, "Settings"). The toolkit
 * ignores any other key in backup.env or credentials.env with a warning (except RCLONE_*
 * tuning variables, which rclone reads itself); the renderer and the recovery chain write
 * only these.
 */
export const SETTING_KEYS = [
    "DATABASE_URL",
    "BACKUP_S3_ENDPOINT",
    "BACKUP_BUCKET",
    "BACKUP_PREFIX",
    "BACKUP_S3_REGION",
    "BACKUP_OFFSITE_S3_ENDPOINT",
    "BACKUP_OFFSITE_BUCKET",
    "BACKUP_OFFSITE_S3_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "BACKUP_OFFSITE_ACCESS_KEY_ID",
    "BACKUP_OFFSITE_SECRET_ACCESS_KEY",
    "BACKUP_AGE_RECIPIENTS",
    "BACKUP_AGE_IDENTITY_FILE",
    "BACKUP_ZSTD_LEVEL",
    "FORTRESS_RESTORE_JOBS",
    "FORTRESS_RESTORE_SPLIT_SIZE",
    "FORTRESS_STATUS_MAX_AGE",
    "FORTRESS_LOCK_TIMEOUT",
    "FORTRESS_S3_TIMEOUT",
    "BACKUP_HEARTBEAT_URL",
] as const;
export type SettingKey = (typeof SETTING_KEYS)[number];

/** The `format` of every manifest fortress-backup writes; the restore commands refuse any other. */
export const BACKUP_FORMAT = "income-fortress-backup/1";

/** First segment of every backup prefix (`postgresql/<stack>`); the buckets' expiry rule covers only it. */
export const BACKUP_PREFIX_ROOT = "postgresql";
/**
 * First segment of the prefix fortress-evidence writes a breach's evidence under
 * (`evidence/<stack>`): outside {@link BACKUP_PREFIX_ROOT}, so no lifecycle rule expires it.
 */
export const EVIDENCE_PREFIX_ROOT = "evidence";

/** The object prefix of a stack's backups. */
export function backupPrefix(stack: string): string {
    return `${BACKUP_PREFIX_ROOT}/${stack}`;
}

/** The object prefix of a stack's breach evidence; the toolkit derives it from BACKUP_PREFIX's last segment. */
export function evidencePrefix(stack: string): string {
    return `${EVIDENCE_PREFIX_ROOT}/${stack}`;
}

// ---------------------------------------------------------------- the shell copy

/** What the toolkit reads from the contract; a parameter so a test can render another. */
export interface ShellContract {
    exit: Readonly<Record<ExitName, number>>;
    configDir: string;
    settingsFileName: string;
    credentialsFileName: string;
    settingKeys: readonly string[];
    backupFormat: string;
    evidenceRoot: string;
}

export const SHELL_CONTRACT: ShellContract = {
    exit: EXIT,
    configDir: CONFIG_DIR,
    settingsFileName: SETTINGS_FILE_NAME,
    credentialsFileName: CREDENTIALS_FILE_NAME,
    settingKeys: SETTING_KEYS,
    backupFormat: BACKUP_FORMAT,
    evidenceRoot: EVIDENCE_PREFIX_ROOT,
};

/** Where the generated copy lives in this repository. */
export const CONTRACT_SHELL_PATH = "cloud-init/toolkit/lib/income-fortress/contract.sh";

/**
 * The toolkit's contract.sh: bash `readonly` assignments, one per line. Throws when a value
 * would not mean the same in bash (a key that is no variable name, an exit code bash
 * reserves, two names for one code), so a slip here fails `npm run generate`, not the host.
 */
export function renderContractShell(c: ShellContract = SHELL_CONTRACT): string {
    const codes = Object.values(c.exit);
    // 126 and up are the shell's own (not executable, not found, killed by a signal).
    if (codes.some((code) => !Number.isInteger(code) || code < 0 || code > 125))
        throw new Error("renderContractShell: exit codes are whole numbers from 0 to 125");
    if (new Set(codes).size !== codes.length) throw new Error("renderContractShell: two exit names share one code");
    const badKey = c.settingKeys.find((k) => !/^[A-Z_][A-Z0-9_]*$/.test(k) || k.startsWith("RCLONE_"));
    if (badKey !== undefined)
        throw new Error(
            `renderContractShell: setting key ${JSON.stringify(badKey)} is not an upper-case variable name outside RCLONE_*`,
        );
    if (new Set(c.settingKeys).size !== c.settingKeys.length)
        throw new Error("renderContractShell: a setting key is listed twice");
    for (const name of [c.settingsFileName, c.credentialsFileName]) {
        if (!/^[a-z0-9._-]+$/.test(name))
            throw new Error(`renderContractShell: ${JSON.stringify(name)} is not a plain file name`);
    }
    const exitNames = Object.keys(c.exit) as ExitName[];
    return [
        "# Generated by npm run generate from cloud-init/host.ts; edit there.",
        "# shellcheck shell=bash",
        "# shellcheck disable=SC2034 # read by common.sh and the fortress-* commands that source it",
        "#",
        "# The host contract: what the toolkit shares with the program that installs it.",
        "",
        '# Exit codes (docs/host-toolkit.md, "Exit codes"). Tests and systemd units rely on them.',
        ...exitNames.map((name) => `readonly EX_${name.toUpperCase()}=${c.exit[name]} # ${EXIT_MEANINGS[name]}`),
        "",
        "# The settings folder unless FORTRESS_CONFIG_DIR names another, and its two files.",
        `readonly FORTRESS_DEFAULT_CONFIG_DIR=${shQuote(c.configDir)}`,
        `readonly FORTRESS_SETTINGS_NAME=${shQuote(c.settingsFileName)}`,
        `readonly FORTRESS_CREDENTIALS_NAME=${shQuote(c.credentialsFileName)}`,
        "",
        "# The manifest format fortress-backup writes and the restore commands accept.",
        `readonly BACKUP_FORMAT=${shQuote(c.backupFormat)}`,
        "",
        "# First segment of the prefix fortress-evidence writes under, in place of the backup prefix's.",
        `readonly FORTRESS_EVIDENCE_ROOT=${shQuote(c.evidenceRoot)}`,
        "",
        "# Settings a file may set. Anything else in the settings files is ignored with a warning",
        "# (except RCLONE_* tuning variables, which rclone reads itself).",
        "readonly FORTRESS_SETTING_KEYS=(",
        ...c.settingKeys.map((key) => `    ${key}`),
        ")",
        "",
    ].join("\n");
}
