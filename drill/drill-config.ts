// The drill stack's configuration: the DR stack's Pulumi.<dr>.yaml plus the drill overrides.
// Pure (the parsed stack files are passed in; tools/stack-files.ts reads them), so the rules
// are unit-tested without a Pulumi CLI.
//
// Overrides, and why:
//   hostname      drill-<timestamp>: the drill owns its own record and never the public one
//                 (config/schema.ts enforces drill-… names for drill-* stacks).
//   protect       false: a protected resource would stop the destroy.
//   backupBucket, drOffsiteBucket  names of its own: Spaces bucket names are global, and
//                 the DR stack's buckets may exist already.
//   dropletBackups false: nothing to keep from an ephemeral droplet.
//   activeSite    removed: it is for the primary stack; a drill always points at itself.
//   monitoring    false: uptime checks and droplet alerts on an ephemeral stack would page
//                 on-call for a drill; the drill validates health itself.
//   backupHeartbeatUrl removed: it is the DR stack's dead-man's switch, and a drill host
//                 pinging it would hide a silent DR backup.
//   adminCidrs    plus --admin-cidr: the machine running the drill must reach SSH for the
//                 recovery chain and the validation.
import { composeDir } from "../cloud-init/compose-dir";
import {
    isSecure,
    PROJECT,
    projectKey as key,
    stackFileName,
    type ConfigEntry,
    type StackConfig,
} from "../tools/stack-files";

/** What the drill changes. */
export interface DrillOverrides {
    /** The drill stack's name: `drill-<UTC timestamp>`. */
    stackName: string;
    /** CIDRs added to adminCidrs (the drill machine's address). */
    extraAdminCidrs: string[];
    /** restoreBackup for the drill (`latest`, an id, or `before:<ISO>`); undefined keeps the DR config's. */
    restoreBackup?: string;
}

/** The drill stack's config: plain values for the stack file, and the keys whose secret values must be copied. */
export interface DrillConfig {
    /** Plain values, typed as in YAML (lists stay lists). */
    plain: StackConfig;
    /** Keys that are `secure:` in the DR file: their decrypted values are set as secrets on the drill stack. */
    secretKeys: string[];
    /** What was changed, one line each, for the report. */
    changes: string[];
}

/** Error in the drill's config; the message says what to fix. */
export class DrillConfigError extends Error {}

/** A valid drill stack name: `drill-` and 2-40 lowercase letters, digits and hyphens in all. */
export function checkDrillStackName(name: string): void {
    if (!/^drill-[a-z0-9-]{1,33}[a-z0-9]$/.test(name)) {
        throw new DrillConfigError(
            `stack name "${name}" is not a drill name: use drill- plus lowercase letters, digits and hyphens (40 characters at most), such as drill-20260301-060000`,
        );
    }
}

/** A Pulumi Cloud organisation name: letters, digits, `-`, `_`, `.`; 100 characters at most. */
export function checkOrgName(org: string): void {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(org)) {
        throw new DrillConfigError(
            `"${org}" is not a Pulumi organisation name: use letters, digits, hyphens, underscores and dots, such as acme-ops`,
        );
    }
}

/**
 * The name the Pulumi CLI is given for a stack: `<org>/<stack>` when an organisation is set,
 * so the stack lands in that organisation rather than the token owner's default one.
 */
export function qualifiedStackName(stack: string, org?: string): string {
    return org ? `${org}/${stack}` : stack;
}

/**
 * Builds the drill stack's config from the DR stack's. Throws DrillConfigError when the base
 * is not a dr stack, or when an override would leave the drill owning a non-drill record.
 */
export function drillConfig(dr: StackConfig, drStackName: string, o: DrillOverrides): DrillConfig {
    checkDrillStackName(o.stackName);
    const role = dr[key("role")];
    if (role !== "dr") {
        throw new DrillConfigError(
            `${stackFileName(drStackName)} has role ${JSON.stringify(role ?? "primary")}; a drill copies the DR stack's config (role dr), never production's. Pass --dr-stack with the DR stack's name`,
        );
    }
    const plain: StackConfig = {};
    const secretKeys: string[] = [];
    for (const [k, v] of Object.entries(dr)) {
        if (isSecure(v)) secretKeys.push(k);
        else plain[k] = v;
    }
    const changes: string[] = [];
    const set = (k: string, v: ConfigEntry, why: string) => {
        const before = dr[key(k)];
        plain[key(k)] = v;
        if (secretKeys.includes(key(k))) secretKeys.splice(secretKeys.indexOf(key(k)), 1);
        changes.push(`${k}: ${JSON.stringify(before ?? null)} -> ${JSON.stringify(v)} (${why})`);
    };
    set("hostname", o.stackName, "the drill owns its own record, never the public one");
    set("protect", false, "the drill must be destroyable");
    set("backupBucket", `${PROJECT}-${o.stackName}-backups`, "Spaces bucket names are global");
    set("drOffsiteBucket", `${PROJECT}-${o.stackName}-offsite`, "Spaces bucket names are global");
    set("dropletBackups", false, "nothing to keep from an ephemeral droplet");
    set("monitoring", false, "a drill must not page on-call");
    if (key("backupHeartbeatUrl") in dr) {
        delete plain[key("backupHeartbeatUrl")];
        if (secretKeys.includes(key("backupHeartbeatUrl")))
            secretKeys.splice(secretKeys.indexOf(key("backupHeartbeatUrl")), 1);
        changes.push("backupHeartbeatUrl: removed (the DR stack's dead-man's switch, not the drill's)");
    }
    if (key("activeSite") in plain) {
        delete plain[key("activeSite")];
        changes.push("activeSite: removed (only the primary stack points the public record elsewhere)");
    }
    if (o.extraAdminCidrs.length > 0) {
        const current = plain[key("adminCidrs")];
        const list = Array.isArray(current) ? current.map(String) : [];
        set(
            "adminCidrs",
            [...list, ...o.extraAdminCidrs.filter((c) => !list.includes(c))],
            "the drill machine must reach SSH",
        );
    }
    if (o.restoreBackup !== undefined) set("restoreBackup", o.restoreBackup, "--backup");
    if (key("isolate") in plain && plain[key("isolate")] === true) {
        throw new DrillConfigError(
            `${stackFileName(drStackName)} sets isolate true: a drill would close 80/443 and fail its health check. Unset isolate on the DR stack first`,
        );
    }
    return { plain, secretKeys, changes };
}

/** A value from the stack config, else the project default. */
export function effective(stack: StackConfig, defaults: StackConfig, k: string): unknown {
    return stack[key(k)] ?? defaults[key(k)];
}

/** The compose project directory on the host, from appDir and appComposeSubdir. */
export function composeDirectory(stack: StackConfig, defaults: StackConfig): string {
    return composeDir({
        dir: String(effective(stack, defaults, "appDir") ?? "/opt/income-fortress/app"),
        composeSubdir: String(effective(stack, defaults, "appComposeSubdir") ?? "."),
    });
}
