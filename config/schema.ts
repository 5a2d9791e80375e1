// The one zod schema every config value goes through. Input: the raw strings the Pulumi
// CLI hands the program (project defaults from Pulumi.yaml merged under the stack's
// values). Output: the parsed config, which is the Platform's arguments (PlatformArgs)
// with every default and derived value resolved, or the complete list of problems, each
// naming the key, the bad value and what is allowed. Single values are checked by the
// rules in config/rules.ts; the rules across keys are here.
import { z } from "zod";
import { backupPrefix } from "../cloud-init/host";
import type { PlatformArgs } from "../components/platform";
import { GENERATED_APP_ENV, TLS_CHALLENGES } from "../components/recovery/scripts";
import { MONITOR_WINDOWS } from "../components/monitoring-rules";
import { parseContacts } from "./contacts";
import { CONFIG_KEYS, PROJECT, configKey, rawDefault, stringDefault } from "./keys";
import { SPACES_REGIONS, type DropletRegion } from "./regions";
import {
    WEEKDAYS,
    isAnywhere,
    parseAgeIdentity,
    parseAgeRecipient,
    parseAppDir,
    parseAppEnv,
    parseBoolean,
    parseBucketName,
    parseCalendar,
    parseCidr,
    parseClusterName,
    parseCommandLine,
    parseComposeService,
    parseDatabaseSize,
    parseDigitalOceanToken,
    parseDomain,
    parseDropletSize,
    parseEmail,
    parseGitRef,
    parseGitUrl,
    parseHealthPath,
    parseHealthUrl,
    parseHeartbeatUrl,
    parseImage,
    parseInteger,
    parseIsoTime,
    parseMaintenanceHour,
    parseOneOf,
    parseOpenSshPublicKey,
    parsePercent,
    parsePgIdentifier,
    parsePostgresVersion,
    parseProbeUrl,
    parseRecordName,
    parseRegion,
    parseRelativeDir,
    parseRestoreBackup,
    parseSlackChannel,
    parseSlackWebhookUrl,
    parseSpacesRegion,
    parseSshKeyRef,
    parseStackName,
    parseStackReference,
    parseStackRegion,
    parseStringArray,
    parseVpcRange,
    type Check,
} from "./rules";
import { parseSetOnceKey } from "./set-once";
import { verifySchedule } from "./verify-schedule";

/** Raw config as the program receives it: key (without namespace) → string value. */
export type RawConfig = Readonly<Record<string, string | undefined>>;

/** One problem: the full config key (`income-fortress:region`) and a sentence about it. */
export interface ConfigProblem {
    key: string;
    message: string;
}

export const ROLES = ["primary", "dr"] as const;
export type Role = (typeof ROLES)[number];

export const PROJECT_ENVIRONMENTS = ["Development", "Staging", "Production"] as const;
export type ProjectEnvironment = (typeof PROJECT_ENVIRONMENTS)[number];

export const RESTORE_MODES = ["auto", "if-empty", "required", "off"] as const;
export const STANDBY_MODES = ["cold", "warm"] as const;
export type StandbyMode = (typeof STANDBY_MODES)[number];
export const SITES = ["primary", "dr"] as const;
export type Site = (typeof SITES)[number];

const RESERVED_DB_NAMES = ["defaultdb", "postgres", "template0", "template1", "_dodb"];
const RESERVED_DB_USERS = ["doadmin", "postgres", "_dodb", "replicator", "public"];

/**
 * The parsed config: the Platform's arguments (less the toolkit files, which are files,
 * not config), and the two values only the program itself reads.
 */
export interface FortressConfig extends Omit<PlatformArgs, "toolkitFiles" | "isolation"> {
    /** Region of the primary site: `region` for role primary, config primaryRegion for role dr. */
    primaryRegion: DropletRegion;
    /** Set-once keys (config/set-once.ts) whose change this update may carry out (config allowReplace). */
    allowReplace: string[];
}

/** The full name of a stack's record or of another name in its zone. */
export const fqdnOf = (name: string, domain: string): string => `${name}.${domain}`;

/** The public health URL DigitalOcean's uptime probes fetch. */
export const publicHealthUrl = (fqdn: string, healthPath: string): string => `https://${fqdn}${healthPath}`;

// ---------------------------------------------------------------- field helpers

const missing = (key: string): string => {
    const meta = configKey(key);
    const example = meta?.example
        ? ` ${meta.example.startsWith("[") ? `'${meta.example}'` : meta.example}`
        : " <value>";
    return `is not set; ${meta?.description ?? "it is required"} Set it with: pulumi config set ${key}${example}`;
};

/** A string field validated by a pure check; a missing value is reported as unset. */
function field<T>(check: (raw: string) => Check<T>) {
    return z
        .string({
            error: (iss) => (iss.input === undefined ? "__missing__" : `${JSON.stringify(iss.input)} is not text`),
        })
        .transform((raw, ctx): T => {
            const result = check(raw);
            if (!result.ok) {
                ctx.addIssue({ code: "custom", message: result.problem, input: raw });
                return z.NEVER;
            }
            return result.value;
        });
}

/** An empty string means "not set" for optional text; otherwise the check applies. */
function optional<T>(check: (raw: string) => Check<T>) {
    return field((raw): Check<T | undefined> => (raw === "" ? { ok: true, value: undefined } : check(raw)));
}

/** A JSON list of strings; every bad item is reported, with its position, and with `unique` a repeated one. */
function list<T>(check: (raw: string) => Check<T>, opts: { min: number; what: string; unique?: string }) {
    return field((raw): Check<T[]> => {
        const items = parseStringArray(raw);
        if (!items.ok) return items;
        if (items.value.length < opts.min) {
            return { ok: false, problem: `[] is empty; list at least ${opts.min} ${opts.what}` };
        }
        const problems: string[] = [];
        const values: T[] = [];
        items.value.forEach((item, i) => {
            const r = check(item);
            if (r.ok) values.push(r.value);
            else problems.push(`item ${i}: ${r.problem}`);
        });
        const twice =
            opts.unique !== undefined ? items.value.find((item, i) => items.value.indexOf(item) !== i) : undefined;
        if (twice !== undefined)
            problems.push(`${JSON.stringify(twice)} is listed twice; list each ${opts.unique} once`);
        return problems.length ? { ok: false, problem: problems.join("; ") } : { ok: true, value: values };
    });
}

const bool = () => field(parseBoolean);
const int = (min: number, max: number, why?: string) => field((raw) => parseInteger(raw, min, max, why));

/** A percent threshold of a droplet alert: a whole number, then the percent rule the Monitoring component applies too. */
const percent = () =>
    field((raw): Check<number> => {
        const whole = /^\s*-?\d+\s*$/.test(raw);
        return whole ? parsePercent(Number(raw.trim())) : parseInteger(raw, 1, 100, "percent");
    });

// ---------------------------------------------------------------- the schema

const fields = {
    role: field((raw) => parseOneOf(raw, ROLES)),
    region: field(parseStackRegion),
    primaryRegion: optional(parseRegion),
    vaultRegion: field(parseSpacesRegion),
    vaultBucket: optional(parseBucketName),
    backupBucket: optional(parseBucketName),
    primaryStack: field(parseStackName),
    drOffsiteRegion: field(parseSpacesRegion),
    drOffsiteBucket: optional(parseBucketName),
    standby: field((raw) => parseOneOf(raw, STANDBY_MODES)),
    failover: bool(),
    backupRetentionDays: int(1, 3650),
    noncurrentVersionDays: int(1, 3650),
    backupSchedule: field(parseCalendar),
    verifySchedule: optional(parseCalendar),
    ageRecipients: list(parseAgeRecipient, { min: 0, what: "age recipients" }),
    protect: bool(),
    domain: field(parseDomain),
    hostname: field(parseRecordName),
    dnsTtl: int(30, 86400, "DigitalOcean rejects DNS TTLs under 30 seconds"),
    adminCidrs: list(parseCidr, { min: 1, what: "admin CIDR, or nobody can reach SSH" }),
    allowSshFromAnywhere: bool(),
    isolate: bool(),
    vpcIpRange: optional(parseVpcRange),
    dropletSize: field(parseDropletSize),
    dropletImage: field(parseImage),
    dropletBackups: bool(),
    sshKeyFingerprints: list(parseSshKeyRef, { min: 1, what: "SSH key already in the DigitalOcean account" }),
    deployerPublicKeys: list(parseOpenSshPublicKey, { min: 1, what: "OpenSSH public key for the deployer user" }),
    postgresVersion: field(parsePostgresVersion),
    dbSize: field(parseDatabaseSize),
    dbNodeCount: int(1, 3, "DigitalOcean PostgreSQL clusters have 1 to 3 nodes"),
    dbMaintenanceDay: field((raw) => parseOneOf(raw, WEEKDAYS)),
    dbMaintenanceHour: field(parseMaintenanceHour),
    dbName: field((raw) => parsePgIdentifier(raw, RESERVED_DB_NAMES)),
    dbUser: field((raw) => parsePgIdentifier(raw, RESERVED_DB_USERS)),
    valkeySize: field(parseDatabaseSize),
    appRepoUrl: field(parseGitUrl),
    appRef: field(parseGitRef),
    appDir: field(parseAppDir),
    appComposeSubdir: field(parseRelativeDir),
    credentialsEpoch: int(1, 1_000_000),
    projectEnvironment: field((raw) => parseOneOf(raw, PROJECT_ENVIRONMENTS)),
    restoreMode: field((raw) => parseOneOf(raw, RESTORE_MODES)),
    restoreBackup: field(parseRestoreBackup),
    migrateCommand: field(parseCommandLine),
    healthUrl: field(parseHealthUrl),
    healthTimeoutSeconds: int(10, 3600),
    bootTimeoutMinutes: int(5, 240),
    ageIdentity: field(parseAgeIdentity),
    appEnv: field((raw) => parseAppEnv(raw, GENERATED_APP_ENV)),
    pitrSourceCluster: optional(parseClusterName),
    pitrBackupTime: optional(parseIsoTime),
    activeSite: field((raw) => parseOneOf(raw, SITES)),
    drStack: field(parseStackReference),
    tlsEmail: field((raw) => (raw === "" ? { ok: true as const, value: "" } : parseEmail(raw))),
    tlsChallenge: field((raw) => parseOneOf(raw, TLS_CHALLENGES)),
    // Secret: parseDigitalOceanToken never repeats the token in its message.
    tlsDnsToken: optional(parseDigitalOceanToken),
    publicHostname: optional(parseRecordName),
    tlsProxyService: field(parseComposeService),
    monitoring: bool(),
    alertEmails: list((raw) => parseEmail(raw, "the alerts (DigitalOcean mails only addresses verified on the team)"), {
        min: 0,
        what: "addresses",
        unique: "address",
    }),
    // Secret: parseSlackWebhookUrl never repeats the URL in its message.
    alertSlackWebhookUrl: optional(parseSlackWebhookUrl),
    alertSlackChannel: optional(parseSlackChannel),
    alertCpuPercent: percent(),
    alertMemoryPercent: percent(),
    alertDiskPercent: percent(),
    alertWindow: field((raw) => parseOneOf(raw, MONITOR_WINDOWS)),
    healthPath: field(parseHealthPath),
    backupHeartbeatUrl: field(parseHeartbeatUrl),
    // Validated here so preview refuses a bad value; the reports read it (drill/people.ts), no resource does.
    contacts: field(parseContacts),
    // Absent is the key's default, none.
    allowReplace: list(parseSetOnceKey, { min: 0, what: "keys" }),
};

type Fields = z.output<z.ZodObject<typeof fields>>;
type FieldName = keyof typeof fields;

export const SCHEMA_KEYS = Object.keys(fields) as FieldName[];

/**
 * A rule across several keys. It runs whenever its own keys parsed cleanly, even if
 * other keys failed, so one run reports every problem there is.
 */
interface CrossRule {
    keys: FieldName[];
    check: (v: Fields, add: (key: FieldName, message: string) => void, stack: string) => void;
}

const derivedBackupBucket = (stack: string) => `${PROJECT}-${stack}-backups`;
const derivedVaultBucket = (stack: string) => `${PROJECT}-${stack}-vault`;
const derivedOffsiteBucket = (stack: string) => `${PROJECT}-${stack}-offsite`;

/** A Spaces region for a dr stack's offsite bucket that is neither of `taken`, for messages. */
function thirdRegion(...taken: (string | undefined)[]): string {
    const preferred = ["atl1", "tor1", "ams3", "fra1", "lon1", ...SPACES_REGIONS];
    return preferred.find((r) => !taken.includes(r)) ?? "atl1";
}

const CROSS_RULES: CrossRule[] = [
    {
        keys: ["role", "region", "primaryRegion"],
        check: (v, add) => {
            if (v.role === "dr" && v.primaryRegion === undefined) {
                add(
                    "primaryRegion",
                    `is not set; role dr needs the primary site's region to stay out of it. Set it with: pulumi config set primaryRegion nyc3`,
                );
            } else if (v.role === "dr" && v.primaryRegion === v.region) {
                add(
                    "region",
                    `"${v.region}" is the primary region too (primaryRegion); a dr stack must run in a different region, such as ${v.region === "sfo3" ? "tor1" : "sfo3"}`,
                );
            } else if (v.role === "primary" && v.primaryRegion !== undefined && v.primaryRegion !== v.region) {
                add(
                    "primaryRegion",
                    `"${v.primaryRegion}" differs from region "${v.region}"; for role primary leave primaryRegion empty (it is region)`,
                );
            }
        },
    },
    {
        keys: ["role", "region", "primaryRegion", "vaultRegion"],
        check: (v, add) => {
            const primary = v.role === "primary" ? v.region : v.primaryRegion;
            if (primary !== undefined && v.vaultRegion === primary) {
                add(
                    "vaultRegion",
                    `"${v.vaultRegion}" is the primary region; the offsite vault must be in another Spaces region so it survives losing ${primary}`,
                );
            }
        },
    },
    {
        keys: ["role", "region", "primaryRegion", "drOffsiteRegion", "drOffsiteBucket"],
        check: (v, add) => {
            if (v.role !== "dr") {
                const why = `is for a dr stack, whose own backups need a bucket outside its region; a primary's offsite copy is its vault (vaultBucket, vaultRegion)`;
                if (v.drOffsiteBucket !== undefined)
                    add("drOffsiteBucket", `${why}. Remove it with pulumi config rm drOffsiteBucket`);
                if (v.drOffsiteRegion !== stringDefault("drOffsiteRegion"))
                    add("drOffsiteRegion", `${why}. Remove it with pulumi config rm drOffsiteRegion`);
                return;
            }
            const other = thirdRegion(v.region, v.primaryRegion);
            if (v.drOffsiteRegion === v.region) {
                add(
                    "drOffsiteRegion",
                    `"${v.drOffsiteRegion}" is this dr stack's own region; its offsite copies must survive losing it. Pick another Spaces region: pulumi config set drOffsiteRegion ${other}`,
                );
            } else if (v.drOffsiteRegion === v.primaryRegion) {
                add(
                    "drOffsiteRegion",
                    `"${v.drOffsiteRegion}" is the primary region, the one the dr stack stands in for: while it is lost every dr backup would fail (fortress-backup fails when any bucket does). Pick a third Spaces region: pulumi config set drOffsiteRegion ${other}`,
                );
            }
        },
    },
    {
        keys: ["role", "backupBucket", "vaultBucket", "drOffsiteBucket"],
        check: (v, add, stack) => {
            if (v.role !== "dr") return;
            const offsite = v.drOffsiteBucket ?? derivedOffsiteBucket(stack);
            if (offsite === (v.backupBucket ?? derivedBackupBucket(stack))) {
                add(
                    "drOffsiteBucket",
                    `"${offsite}" is also the backup bucket; the offsite copy must be a separate bucket in drOffsiteRegion`,
                );
            } else if (offsite === v.vaultBucket) {
                add(
                    "drOffsiteBucket",
                    `"${offsite}" is the primary's vault, which a dr stack only reads; name a bucket of the dr stack's own, such as ${derivedOffsiteBucket(stack)}`,
                );
            }
        },
    },
    {
        keys: ["adminCidrs", "allowSshFromAnywhere"],
        check: (v, add) => {
            const open = v.adminCidrs.filter(isAnywhere).map((c) => c.text);
            if (open.length && !v.allowSshFromAnywhere) {
                add(
                    "adminCidrs",
                    `${open.map((c) => `"${c}"`).join(", ")} opens SSH to the whole internet; list your office/VPN CIDRs instead, or set allowSshFromAnywhere true to accept that risk explicitly`,
                );
            }
        },
    },
    {
        keys: ["role", "vaultBucket"],
        check: (v, add) => {
            if (v.role === "dr" && v.vaultBucket === undefined) {
                add(
                    "vaultBucket",
                    `is not set; a dr stack reads the primary stack's vault and must name it. Set it with: pulumi config set vaultBucket incomefortress-backups-vault`,
                );
            }
        },
    },
    {
        keys: ["backupBucket", "vaultBucket"],
        check: (v, add, stack) => {
            const backup = v.backupBucket ?? derivedBackupBucket(stack);
            const vault = v.vaultBucket ?? derivedVaultBucket(stack);
            if (backup === vault) {
                add(
                    "vaultBucket",
                    `"${vault}" is also the backup bucket; the vault must be a separate bucket in another region`,
                );
            }
        },
    },
    {
        keys: ["role", "primaryStack"],
        check: (v, add, stack) => {
            if (v.role === "dr" && v.primaryStack === stack) {
                add(
                    "primaryStack",
                    `"${v.primaryStack}" is this stack; a dr stack restores the primary stack's backups, such as prod`,
                );
            }
        },
    },
    {
        keys: ["hostname", "protect"],
        check: (v, add, stack) => {
            // Drills are throwaway copies of dr: they must never claim a public record,
            // and they must stay destroyable.
            if (!stack.startsWith("drill-")) return;
            if (!v.hostname.startsWith("drill-")) {
                add(
                    "hostname",
                    `"${v.hostname}" is not a drill name; drill stacks may only own records named drill-…, such as ${stack}`,
                );
            }
            if (v.protect)
                add("protect", `true would stop the drill from being destroyed; drill stacks must set protect false`);
        },
    },
    {
        keys: ["role", "standby", "failover", "pitrSourceCluster", "restoreMode"],
        check: (v, add) => {
            if (v.standby === "warm" && v.role !== "dr") {
                add(
                    "standby",
                    `"warm" is for a dr stack, which keeps a replica of the primary's database in its own region; a primary stack is the site the replica follows. Remove it with pulumi config rm standby`,
                );
                return;
            }
            if (v.failover && v.standby !== "warm") {
                add(
                    "failover",
                    `true promotes the warm site's replica, but standby is ${v.standby}: a cold dr stack fails over by pulumi up alone. Remove it with pulumi config rm failover`,
                );
            }
            if (v.standby !== "warm") return;
            if (v.pitrSourceCluster !== undefined) {
                add(
                    "pitrSourceCluster",
                    `is set, but a warm dr stack has no cluster of its own to fork: its database is the replica (after failover, the promoted replica). Remove it with pulumi config rm pitrSourceCluster`,
                );
            }
            if (v.restoreMode === "required" || v.restoreMode === "if-empty") {
                add(
                    "restoreMode",
                    `"${v.restoreMode}" would restore a dump over the promoted replica, which already holds the primary's data up to the replica lag; a warm stack never restores. Remove it with pulumi config rm restoreMode`,
                );
            }
        },
    },
    {
        keys: ["pitrSourceCluster", "pitrBackupTime"],
        check: (v, add) => {
            if (v.pitrBackupTime !== undefined && v.pitrSourceCluster === undefined) {
                add(
                    "pitrBackupTime",
                    `is set but pitrSourceCluster is not; name the cluster to fork: pulumi config set pitrSourceCluster "$(pulumi stack output databaseClusterName)"`,
                );
            }
        },
    },
    {
        keys: ["monitoring", "alertEmails", "alertSlackWebhookUrl"],
        check: (v, add) => {
            if (v.monitoring && v.alertEmails.length === 0 && v.alertSlackWebhookUrl === undefined) {
                add(
                    "alertEmails",
                    `is empty and alertSlackWebhookUrl is not set, so monitoring's alerts would reach nobody; run pulumi config set --path 'alertEmails[0]' oncall@incomefortress.com, ` +
                        `or pulumi config set --secret alertSlackWebhookUrl https://hooks.slack.com/services/… with alertSlackChannel, or set monitoring false`,
                );
            }
        },
    },
    {
        keys: ["alertSlackWebhookUrl", "alertSlackChannel"],
        check: (v, add) => {
            if (v.alertSlackWebhookUrl !== undefined && v.alertSlackChannel === undefined) {
                add(
                    "alertSlackChannel",
                    `is not set, but alertSlackWebhookUrl is; name the channel the webhook posts to: pulumi config set alertSlackChannel '#ops-alerts'`,
                );
            } else if (v.alertSlackWebhookUrl === undefined && v.alertSlackChannel !== undefined) {
                add(
                    "alertSlackWebhookUrl",
                    `is not set, but alertSlackChannel is; set the channel's incoming webhook: pulumi config set --secret alertSlackWebhookUrl https://hooks.slack.com/services/…`,
                );
            }
        },
    },
    {
        keys: ["hostname", "domain", "healthPath"],
        check: (v, add) => {
            // The rule the Monitoring component applies to the URL its uptime check fetches.
            const url = parseProbeUrl(publicHealthUrl(fqdnOf(v.hostname, v.domain), v.healthPath));
            if (!url.ok) add("healthPath", url.problem);
        },
    },
    {
        keys: ["role", "hostname", "tlsEmail", "tlsChallenge", "tlsDnsToken", "publicHostname"],
        check: (v, add) => {
            const dns01 = v.tlsChallenge === "dns-01";
            if (dns01 && v.tlsDnsToken === undefined) {
                add(
                    "tlsDnsToken",
                    `is not set, but tlsChallenge is dns-01; certbot needs a DigitalOcean token to write the _acme-challenge TXT records. Create one with the custom scopes domain:read, domain:create, domain:update and domain:delete, then run pulumi config set --secret tlsDnsToken dop_v1_…, or set tlsChallenge http-01`,
                );
            }
            if (!dns01 && v.tlsDnsToken !== undefined) {
                add(
                    "tlsDnsToken",
                    `is set, but tlsChallenge is ${v.tlsChallenge}, which does not use it; set tlsChallenge dns-01, or remove the token with pulumi config rm tlsDnsToken so no unused DNS credential sits on the host`,
                );
            }
            if (dns01 && v.tlsEmail === "") {
                add(
                    "tlsChallenge",
                    `is dns-01, but tlsEmail is empty, so no certificate is requested at all; set the ACME e-mail with pulumi config set tlsEmail ops@incomefortress.com, or set tlsChallenge http-01`,
                );
            }
            if (v.publicHostname === undefined) return;
            if (v.role !== "dr") {
                add(
                    "publicHostname",
                    `is for a dr stack, which takes over the primary's public name at a cutover; this primary stack's own record (hostname ${v.hostname}) already is the public name. Remove it with pulumi config rm publicHostname`,
                );
            } else if (v.publicHostname === v.hostname) {
                add(
                    "publicHostname",
                    `"${v.publicHostname}" is this stack's own record; name the primary's public record, such as api, and keep hostname a name of dr's own, such as api-dr`,
                );
            } else if (!dns01) {
                add(
                    "publicHostname",
                    `needs tlsChallenge dns-01: "${v.publicHostname}" points at the primary site until a cutover, so an HTTP-01 challenge for it can never reach this host. Run pulumi config set tlsChallenge dns-01 and pulumi config set --secret tlsDnsToken dop_v1_…, or remove publicHostname`,
                );
            }
        },
    },
    {
        keys: ["role", "activeSite", "drStack"],
        check: (v, add, stack) => {
            if (v.role === "dr" && v.activeSite === "dr") {
                add(
                    "activeSite",
                    `"dr" is for the primary stack, which owns the public record; a dr or drill stack always points at itself. Set activeSite dr on the primary stack instead`,
                );
            }
            if (v.activeSite === "dr" && v.drStack.split("/").pop() === stack) {
                add(
                    "drStack",
                    `"${v.drStack}" is this stack; name the DR stack whose publicIp the public record should follow, such as dr`,
                );
            }
        },
    },
];

const KNOWN_KEYS = new Set<string>(SCHEMA_KEYS);

function editDistance(a: string, b: string): number {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
    }
    return d[a.length][b.length];
}

/** Builds the schema for one stack; the stack name feeds derived names and drill rules. */
export function configSchema(stack: string) {
    let schema = z.looseObject(fields).superRefine(
        (value, ctx) => {
            // A typo'd key would otherwise be ignored silently while its default applies.
            for (const key of Object.keys(value)) {
                if (KNOWN_KEYS.has(key)) continue;
                const near = SCHEMA_KEYS.map(
                    (k) => [k, editDistance(k.toLowerCase(), key.toLowerCase())] as const,
                ).sort((a, b) => a[1] - b[1])[0];
                const hint = near && near[1] <= 3 ? `did you mean ${near[0]}?` : `known keys are listed in Pulumi.yaml`;
                ctx.addIssue({ code: "custom", path: [key], message: `is not a config key of this project; ${hint}` });
            }
        },
        { when: () => true },
    );
    for (const rule of CROSS_RULES) {
        schema = schema.superRefine(
            (value, ctx) =>
                rule.check(
                    value as Fields,
                    (key, message) => ctx.addIssue({ code: "custom", path: [key], message }),
                    stack,
                ),
            { when: (payload) => !payload.issues.some((i) => rule.keys.includes(i.path?.[0] as FieldName)) },
        );
    }
    return schema.transform((v): FortressConfig => resolve(v as Fields, stack));
}

function resolve(v: Fields, stack: string): FortressConfig {
    const ownsVault = v.role === "primary";
    const fqdn = fqdnOf(v.hostname, v.domain);
    return {
        environment: stack,
        role: v.role,
        region: v.region,
        primaryRegion: v.role === "primary" ? v.region : (v.primaryRegion as DropletRegion),
        protect: v.protect,
        credentialsEpoch: v.credentialsEpoch,
        projectEnvironment: v.projectEnvironment,
        dns: { domain: v.domain, hostname: v.hostname, ttl: v.dnsTtl, fqdn },
        network: {
            adminCidrs: v.adminCidrs.map((c) => c.text),
            isolate: v.isolate,
            ...(v.vpcIpRange !== undefined ? { vpcIpRange: v.vpcIpRange } : {}),
        },
        host: {
            size: v.dropletSize,
            image: v.dropletImage,
            backups: v.dropletBackups,
            sshKeyFingerprints: v.sshKeyFingerprints,
            deployerPublicKeys: v.deployerPublicKeys,
        },
        database: {
            version: v.postgresVersion,
            size: v.dbSize,
            nodeCount: v.dbNodeCount,
            maintenanceWindow: { day: v.dbMaintenanceDay, hour: v.dbMaintenanceHour },
            name: v.dbName,
            user: v.dbUser,
            valkeySize: v.valkeySize,
        },
        standby:
            v.standby === "warm"
                ? { mode: "warm", failover: v.failover, primaryStack: v.primaryStack }
                : { mode: "cold" },
        ...(v.pitrSourceCluster !== undefined
            ? {
                  pitr: {
                      sourceCluster: v.pitrSourceCluster,
                      ...(v.pitrBackupTime !== undefined ? { backupTime: v.pitrBackupTime } : {}),
                  },
              }
            : {}),
        storage: {
            backupBucket: v.backupBucket ?? derivedBackupBucket(stack),
            vaultBucket: v.vaultBucket ?? derivedVaultBucket(stack),
            vaultRegion: v.vaultRegion,
            ownsVault,
            ...(ownsVault
                ? {}
                : {
                      drOffsite: {
                          bucket: v.drOffsiteBucket ?? derivedOffsiteBucket(stack),
                          region: v.drOffsiteRegion,
                      },
                  }),
            retentionDays: v.backupRetentionDays,
            noncurrentVersionDays: v.noncurrentVersionDays,
            backupPrefix: backupPrefix(stack),
            restorePrefix: backupPrefix(ownsVault ? stack : v.primaryStack),
        },
        backup: {
            schedule: v.backupSchedule,
            verifySchedule:
                v.verifySchedule ??
                verifySchedule({ day: v.dbMaintenanceDay, time: v.dbMaintenanceHour }, v.backupSchedule),
            ageRecipients: v.ageRecipients,
            heartbeatUrl: v.backupHeartbeatUrl,
        },
        monitoring: {
            enabled: v.monitoring,
            healthPath: v.healthPath,
            healthUrl: publicHealthUrl(fqdn, v.healthPath),
            emails: v.alertEmails,
            ...(v.alertSlackWebhookUrl !== undefined && v.alertSlackChannel !== undefined
                ? { slack: { webhookUrl: v.alertSlackWebhookUrl, channel: v.alertSlackChannel } }
                : {}),
            thresholds: {
                cpuPercent: v.alertCpuPercent,
                memoryPercent: v.alertMemoryPercent,
                diskPercent: v.alertDiskPercent,
            },
            window: v.alertWindow,
        },
        contacts: v.contacts,
        app: { repoUrl: v.appRepoUrl, ref: v.appRef, dir: v.appDir, composeSubdir: v.appComposeSubdir },
        recovery: {
            // A warm site's database is the promoted replica: nothing to restore.
            restoreMode:
                v.standby === "warm"
                    ? "off"
                    : v.restoreMode === "auto"
                      ? ownsVault
                          ? "if-empty"
                          : "required"
                      : v.restoreMode,
            restoreBackup: v.restoreBackup,
            migrateCommand: v.migrateCommand,
            health: { url: v.healthUrl, timeoutSeconds: v.healthTimeoutSeconds },
            bootTimeoutMinutes: v.bootTimeoutMinutes,
            ageIdentity: v.ageIdentity,
            appEnv: v.appEnv,
            tls: {
                email: v.tlsEmail,
                challenge: v.tlsChallenge,
                dnsToken: v.tlsDnsToken ?? "",
                extraNames: v.publicHostname !== undefined ? [fqdnOf(v.publicHostname, v.domain)] : [],
                proxyService: v.tlsProxyService,
            },
        },
        cutover: { activeSite: v.activeSite, drStack: v.drStack },
        allowReplace: v.allowReplace,
    };
}

/** Fills keys the stack does not set from the project defaults, as the Pulumi CLI does. */
export function withDefaults(raw: RawConfig): Record<string, string | undefined> {
    const merged: Record<string, string | undefined> = {};
    for (const key of CONFIG_KEYS) merged[key.name] = rawDefault(key);
    for (const [k, v] of Object.entries(raw)) if (v !== undefined) merged[k] = v;
    return merged;
}

export type ParseResult = { ok: true; config: FortressConfig } | { ok: false; problems: ConfigProblem[] };

/**
 * Parses raw config for a stack. Pure: no Pulumi runtime, no environment.
 * Every problem is returned at once; nothing is partially applied.
 */
export function parseConfig(raw: RawConfig, stack: string): ParseResult {
    const problems: ConfigProblem[] = [];
    const stackName = parseStackName(stack);
    if (!stackName.ok) problems.push({ key: "stack", message: stackName.problem });
    const result = configSchema(stack).safeParse(withDefaults(raw));
    if (!result.success) {
        for (const issue of result.error.issues) {
            const key = String(issue.path[0] ?? "");
            problems.push({
                key: `${PROJECT}:${key}`,
                message: issue.message === "__missing__" ? missing(key) : issue.message,
            });
        }
    }
    if (problems.length || !result.success) return { ok: false, problems };
    return { ok: true, config: result.data };
}

/** One readable block listing every problem; what the program prints when config is bad. */
export function formatProblems(stack: string, problems: readonly ConfigProblem[]): string {
    const n = problems.length;
    const lines = problems.map((p) => `  - ${p.key}: ${p.message}`);
    return [
        `Invalid configuration for stack "${stack}" (${n} problem${n === 1 ? "" : "s"}); nothing was created or changed:`,
        ...lines,
        `Fix the values with pulumi config set, or edit Pulumi.${stack}.yaml, then run the command again.`,
    ].join("\n");
}

/** Thrown by parseOrThrow; `problems` carries the structured list. */
export class ConfigError extends Error {
    constructor(
        readonly stack: string,
        readonly problems: readonly ConfigProblem[],
    ) {
        super(formatProblems(stack, problems));
        this.name = "ConfigError";
    }
}
