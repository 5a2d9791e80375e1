// Keys that are set once, when a stack is created: on a live stack a new value replaces
// or deletes a stateful resource (a database, a bucket of backups, the reserved IP's
// region, the DNS record), which `protect` would refuse only late in an `up`, after other
// resources have changed, and an unprotected stack would carry out, empty. The program
// records these values in the stack output `setOnce`, reads its own previous outputs
// before it registers anything, and refuses a change unless the key is listed in
// `allowReplace`. tests/stack/config-changes.test.ts checks this list against what each
// key's change does to the resources (docs/config-changes.md).
import type { Check } from "./rules";
import type { FortressConfig } from "./schema";

/** The stack output the values are recorded in. */
export const SET_ONCE_OUTPUT = "setOnce";

/** Recorded values, key → value; a key absent was not recorded (an older stack, or not applicable to its role). */
export type SetOnceRecord = Readonly<Record<string, string>>;

interface SetOnceKey {
    /** The config key, without the namespace. */
    key: string;
    /** The value as the program uses it (derived names resolved); undefined: not applicable, or left to DigitalOcean. */
    value: (cfg: FortressConfig) => string | undefined;
    /** Whether going from `from` to `to` is the refused change; default: any difference. */
    refused?: (from: string, to: string, previous: SetOnceRecord) => boolean;
    /** What the change would do, for the refusal message. */
    consequence: (from: string, to: string) => string;
}

const q = JSON.stringify;
const copyFirst = (what: string) =>
    `A Spaces bucket cannot be renamed or moved: the new value creates a new, empty bucket and deletes the old one with every ${what} in it. Copy them first (rclone copy) if they must survive`;
// A fork is the database the app runs on; only the first one (from no fork) is free.
const forkRefused = (_from: string, _to: string, previous: SetOnceRecord) => (previous.pitrSourceCluster ?? "") !== "";
const newFork = () =>
    `The app runs on the current point-in-time fork; a new value makes a new fork, moves the app to it and deletes the current one`;

export const SET_ONCE_KEYS: readonly SetOnceKey[] = [
    {
        key: "role",
        value: (c) => c.role,
        consequence: (from) =>
            from === "primary"
                ? `A primary owns the offsite vault; as dr the stack deletes it with every offsite backup. Create a separate dr stack instead`
                : `As primary the stack would create the vault its vaultBucket names, which on a dr stack is the primary's vault, and take it over (a destroy would delete it). Create a separate primary stack instead`,
    },
    {
        key: "region",
        value: (c) => c.region,
        consequence: () =>
            `Nothing moves between regions: the VPC, the droplet, the reserved IP (a new address), both database clusters with the app database, and the backup bucket are replaced, new and empty. To run in another region, bring up the dr stack (docs/scenarios.md)`,
    },
    {
        key: "vpcIpRange",
        // Unset leaves the range DigitalOcean chose, which the record holds.
        value: (c) => c.network.vpcIpRange,
        consequence: () =>
            `It replaces the VPC, and with it both database clusters (a cluster's private network cannot change) with the app database, and the droplet`,
    },
    {
        key: "vaultRegion",
        value: (c) => (c.storage.ownsVault ? c.storage.vaultRegion : undefined),
        consequence: () => copyFirst("offsite backup"),
    },
    {
        key: "vaultBucket",
        value: (c) => (c.storage.ownsVault ? c.storage.vaultBucket : undefined),
        consequence: () => copyFirst("offsite backup"),
    },
    {
        key: "backupBucket",
        value: (c) => c.storage.backupBucket,
        consequence: () => copyFirst("backup"),
    },
    {
        key: "drOffsiteRegion",
        value: (c) => c.storage.drOffsite?.region,
        consequence: () => copyFirst("offsite copy of this dr stack's backups"),
    },
    {
        key: "drOffsiteBucket",
        value: (c) => c.storage.drOffsite?.bucket,
        consequence: () => copyFirst("offsite copy of this dr stack's backups"),
    },
    {
        key: "domain",
        value: (c) => c.dns.domain,
        consequence: () =>
            `A DNS record cannot change zone: the stack's record is replaced in the new zone and deleted from the old one`,
    },
    {
        key: "dbName",
        value: (c) => c.database.name,
        consequence: () =>
            `It replaces the app database: a new, empty database, and the old one with its data is deleted. The recovery chain does not restore into it (it restores when the cluster is new)`,
    },
    {
        key: "dbUser",
        value: (c) => c.database.user,
        consequence: () =>
            `It replaces the app role, which owns the app's tables: a new role, and the old one is dropped`,
    },
    {
        key: "pitrSourceCluster",
        value: (c) => c.pitr?.sourceCluster ?? "",
        refused: forkRefused,
        consequence: (_from, to) =>
            to === ""
                ? `The app runs on the point-in-time fork; without it the app moves back to the cluster it was forked from and the fork is deleted. Keep it set for as long as the fork is the database`
                : newFork(),
    },
    {
        key: "standby",
        value: (c) => (c.role === "dr" ? c.standby.mode : undefined),
        consequence: (from) =>
            from === "cold"
                ? `A warm standby has no cluster of its own: the dr stack's PostgreSQL cluster, its app database and role are deleted and a replica of the primary's cluster takes their place. Destroy the dr stack (pulumi destroy --stack dr) and bring it up again warm`
                : `A cold dr stack has its own cluster: the replica (or, after a failover, the promoted cluster the app runs on) is deleted and a new, empty cluster is created`,
    },
    {
        key: "failover",
        value: (c) => (c.standby.mode === "warm" ? String(c.standby.failover) : undefined),
        // Only going back: the promotion cannot be undone.
        refused: (from, to) => from === "true" && to === "false",
        consequence: () =>
            `The replica was promoted and the app runs on it; false would delete the promoted cluster's firewall and leave the app running unmanaged. A promotion cannot be undone: keep failover true until the failback, then re-seed a replica (docs/warm-standby.md)`,
    },
    // Empty forks the most recent backup.
    {
        key: "pitrBackupTime",
        value: (c) => (c.pitr ? (c.pitr.backupTime ?? "") : ""),
        refused: forkRefused,
        consequence: newFork,
    },
];

/** The names `allowReplace` may list. */
export const SET_ONCE_KEY_NAMES: readonly string[] = SET_ONCE_KEYS.map((k) => k.key);

/** A key allowReplace may list: one whose change on a live stack is refused. */
export function parseSetOnceKey(raw: string): Check<string> {
    if (SET_ONCE_KEY_NAMES.includes(raw)) return { ok: true, value: raw };
    return {
        ok: false,
        problem: `${JSON.stringify(raw)} is not a key whose change is refused; allowReplace takes: ${SET_ONCE_KEY_NAMES.join(", ")}`,
    };
}

/** The values to record for this config. `actualVpcIpRange` is the VPC's range once known, which an unset vpcIpRange leaves to DigitalOcean. */
export function setOnceValues(cfg: FortressConfig, actualVpcIpRange?: string): Record<string, string> {
    const values: Record<string, string> = {};
    for (const k of SET_ONCE_KEYS) {
        const v = k.key === "vpcIpRange" ? (cfg.network.vpcIpRange ?? actualVpcIpRange) : k.value(cfg);
        if (v !== undefined) values[k.key] = v;
    }
    return values;
}

/**
 * The record from a stack's previous outputs: its `setOnce` output, or for a stack last
 * updated before that output existed, the outputs it already had (region and bucket names).
 * Undefined for a stack with no outputs: a new stack, whose values are all free.
 */
export function previousRecord(
    outputs: { setOnce?: unknown; region?: unknown; backupBucket?: unknown; vaultBucket?: unknown },
    role: FortressConfig["role"],
): SetOnceRecord | undefined {
    const strings = (o: Record<string, unknown>) =>
        Object.fromEntries(Object.entries(o).filter((e): e is [string, string] => typeof e[1] === "string"));
    if (outputs.setOnce !== null && typeof outputs.setOnce === "object")
        return strings(outputs.setOnce as Record<string, unknown>);
    const legacy = strings({
        region: outputs.region,
        backupBucket: outputs.backupBucket,
        ...(role === "primary" ? { vaultBucket: outputs.vaultBucket } : {}),
    });
    return Object.keys(legacy).length > 0 ? legacy : undefined;
}

export interface SetOnceChange {
    /** The config key. */
    key: string;
    /** The recorded value. */
    from: string;
    /** The value now. */
    to: string;
    /** What carrying the change out would do. */
    consequence: string;
}

/** The refused changes from `previous` to `cfg`: keys recorded with another value. */
export function setOnceChanges(previous: SetOnceRecord | undefined, cfg: FortressConfig): SetOnceChange[] {
    if (previous === undefined) return [];
    const changes: SetOnceChange[] = [];
    for (const k of SET_ONCE_KEYS) {
        const from = previous[k.key];
        const to = k.value(cfg);
        // Not recorded, not applicable, or left to DigitalOcean: nothing to compare.
        if (from === undefined || to === undefined || from === to) continue;
        if (k.refused && !k.refused(from, to, previous)) continue;
        changes.push({ key: k.key, from, to, consequence: k.consequence(from, to) });
    }
    return changes;
}

export interface SetOnceVerdict {
    /** One sentence per refused change, for formatProblems: the key (without namespace) and what to do. */
    problems: { key: string; message: string }[];
    /** Keys allowReplace lists that did not change this time: the opt-in should go. */
    unusedAllows: string[];
}

/** What the program does with the changes: refuse those allowReplace does not list. */
export function setOnceVerdict(
    changes: readonly SetOnceChange[],
    allowReplace: readonly string[],
    protect: boolean,
): SetOnceVerdict {
    const changed = new Set(changes.map((c) => c.key));
    const problems = changes
        .filter((c) => !allowReplace.includes(c.key))
        .map((c) => ({
            key: c.key,
            message:
                `was ${q(c.from)} when this stack was last updated and is now ${q(c.to || "")}, which this stack cannot take in place. ${c.consequence}. ` +
                `To keep the stack as it is: pulumi config set ${c.key} ${c.from === "" ? "''" : c.from}. ` +
                `If you mean it, allow it for one update: pulumi config set --path 'allowReplace[0]' ${c.key}` +
                (protect
                    ? `, and unprotect what it replaces first (pulumi state unprotect <urn>; protect is true)`
                    : ``),
        }));
    return { problems, unusedAllows: allowReplace.filter((k) => !changed.has(k)) };
}
