// Pure validators for single config values. Each takes the raw string the Pulumi CLI
// hands the program and returns either the typed value or one problem sentence. The
// sentence quotes the bad value and says what is allowed; the caller prefixes the
// config key. Table-tested in tests/unit/config-validators.test.ts.
import { isIPv4, isIPv6 } from "node:net";
import { SSH_KEY_TYPES } from "../cloud-init/validate";
import type { BackupChoice } from "../components/recovery/scripts";
import { SET_ONCE_KEY_NAMES } from "./set-once";
import {
    DROPLET_REGIONS,
    POSTGRES_VERSIONS,
    RETIRED_REGIONS,
    SPACES_REGIONS,
    isDropletRegion,
    isSpacesRegion,
    type DropletRegion,
    type PostgresVersion,
    type SpacesRegion,
} from "./regions";

export type Check<T> = { ok: true; value: T } | { ok: false; problem: string };

const ok = <T>(value: T): Check<T> => ({ ok: true, value });
const fail = <T = never>(problem: string): Check<T> => ({ ok: false, problem });
const q = (s: string): string => JSON.stringify(s);

// ---------------------------------------------------------------- scalars

/** `true` or `false`, as `pulumi config set` stores booleans. */
export function parseBoolean(raw: string): Check<boolean> {
    if (raw === "true") return ok(true);
    if (raw === "false") return ok(false);
    return fail(`${q(raw)} is not a boolean; use true or false`);
}

/** A whole number within [min, max]; `why` explains the bound. */
export function parseInteger(raw: string, min: number, max: number, why = ""): Check<number> {
    if (!/^-?\d+$/.test(raw.trim())) {
        return fail(`${q(raw)} is not a whole number; use an integer from ${min} to ${max}`);
    }
    const n = Number(raw.trim());
    if (n < min || n > max) {
        return fail(`${n} is out of range; use an integer from ${min} to ${max}${why ? ` (${why})` : ""}`);
    }
    return ok(n);
}

/** One of a fixed set of values. */
export function parseOneOf<T extends string>(raw: string, allowed: readonly T[]): Check<T> {
    if ((allowed as readonly string[]).includes(raw)) return ok(raw as T);
    return fail(`${q(raw)} is not allowed; use one of: ${allowed.join(", ")}`);
}

/**
 * A JSON array of strings, as the CLI passes `type: array` config
 * (`pulumi config set --path 'key[0]' value` builds one).
 */
export function parseStringArray(raw: string): Check<string[]> {
    let parsed: unknown;
    try {
        parsed = JSON.parse(raw);
    } catch {
        return fail(
            `${q(raw)} is not a list; set list items with pulumi config set --path '<key>[0]' <value>, or write a YAML list in the stack file`,
        );
    }
    if (!Array.isArray(parsed) || parsed.some((x) => typeof x !== "string")) {
        return fail(`${q(raw)} is not a list of strings; write a YAML list of quoted strings in the stack file`);
    }
    return ok(parsed as string[]);
}

// ---------------------------------------------------------------- DigitalOcean

/** A region that accepts new droplets, VPCs and databases. */
export function parseRegion(raw: string): Check<DropletRegion> {
    if (isDropletRegion(raw)) return ok(raw);
    const retired = RETIRED_REGIONS[raw];
    if (retired) return fail(`${q(raw)} is a retired DigitalOcean region that takes no new resources; use ${retired}`);
    return fail(`${q(raw)} is not a DigitalOcean region; use one of: ${DROPLET_REGIONS.join(", ")}`);
}

/** A region where Spaces (object storage) exists. */
export function parseSpacesRegion(raw: string): Check<SpacesRegion> {
    if (isSpacesRegion(raw)) return ok(raw);
    const known = isDropletRegion(raw) || raw in RETIRED_REGIONS;
    return fail(
        `${q(raw)} ${known ? "has no Spaces object storage" : "is not a DigitalOcean region"}; ` +
            `buckets can live only in: ${SPACES_REGIONS.join(", ")}`,
    );
}

/** A droplet region that also has Spaces, since the stack's backup bucket sits beside the droplet. */
export function parseStackRegion(raw: string): Check<DropletRegion & SpacesRegion> {
    const region = parseRegion(raw);
    if (!region.ok) return region;
    if (!isSpacesRegion(raw)) {
        return fail(
            `${q(raw)} has no Spaces object storage, and the stack's backup bucket lives in its own region; ` +
                `use one of: ${DROPLET_REGIONS.filter(isSpacesRegion).join(", ")}`,
        );
    }
    return ok(raw);
}

/** A PostgreSQL major that DigitalOcean offers for new clusters. */
export function parsePostgresVersion(raw: string): Check<PostgresVersion> {
    if ((POSTGRES_VERSIONS as readonly string[]).includes(raw)) return ok(raw as PostgresVersion);
    return fail(
        `PostgreSQL ${q(raw)} is not offered by DigitalOcean managed databases; use one of: ${POSTGRES_VERSIONS.join(", ")}`,
    );
}

/** A droplet size slug such as `s-4vcpu-8gb`. */
export function parseDropletSize(raw: string): Check<string> {
    if (/^[a-z0-9]+(-[a-z0-9]+)+$/.test(raw) && !raw.startsWith("db-")) return ok(raw);
    return fail(`${q(raw)} is not a droplet size slug; use one like s-4vcpu-8gb (doctl compute size list)`);
}

/** A managed database size slug such as `db-s-1vcpu-2gb`. */
export function parseDatabaseSize(raw: string): Check<string> {
    if (/^(db|gd|so1_5|m)-[a-z0-9-]+$/.test(raw)) return ok(raw);
    return fail(`${q(raw)} is not a database size slug; use one like db-s-1vcpu-2gb (doctl databases options slugs --engine pg)`);
}

/** An image slug (`ubuntu-24-04-x64`) or a numeric image id (snapshots, custom images). */
export function parseImage(raw: string): Check<string> {
    if (/^[a-z0-9][a-z0-9.-]*$/.test(raw) || /^\d+$/.test(raw)) return ok(raw);
    return fail(`${q(raw)} is not an image slug or id; use one like ubuntu-24-04-x64 (doctl compute image list-distribution)`);
}

/** The MD5 fingerprint (`aa:bb:…`, 16 bytes) or numeric id of an SSH key already in the DigitalOcean account. */
export function parseSshKeyRef(raw: string): Check<string> {
    const s = raw.trim().replace(/^MD5:/i, "").toLowerCase();
    if (/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/.test(s) || /^\d+$/.test(s)) return ok(s);
    return fail(
        `${q(raw)} is not a DigitalOcean SSH key reference; use the key's MD5 fingerprint (aa:bb:…, 16 pairs) or numeric id from doctl compute ssh-key list`,
    );
}

/** One OpenSSH public key line (`ssh-ed25519 AAAA… comment`); the blob must decode and name its own type. */
export function parseOpenSshPublicKey(raw: string): Check<string> {
    const line = raw.trim();
    const bad = (why: string): Check<string> =>
        fail(`${q(line.length > 40 ? `${line.slice(0, 37)}...` : line)} is not an OpenSSH public key (${why}); paste one line of a .pub file`);
    if (/[\r\n]/.test(line)) return bad("it spans several lines");
    const [type, blob] = line.split(/\s+/);
    if (!type || !SSH_KEY_TYPES.includes(type)) return bad(`type must be one of ${SSH_KEY_TYPES.join(", ")}`);
    if (!blob || !/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) return bad("the key data is not base64");
    // The blob is a sequence of length-prefixed fields, the first a copy of the type.
    // A truncated paste leaves the last field short; another key's blob names another type.
    const bytes = Buffer.from(blob, "base64");
    const fields: Buffer[] = [];
    let pos = 0;
    while (pos + 4 <= bytes.length) {
        const len = bytes.readUInt32BE(pos);
        if (pos + 4 + len > bytes.length) break;
        fields.push(bytes.subarray(pos + 4, pos + 4 + len));
        pos += 4 + len;
    }
    if (pos !== bytes.length || fields.length < 2 || fields[0].toString("latin1") !== type) {
        return bad("the key data is truncated or belongs to another key type");
    }
    return ok(line);
}

/** An age X25519 recipient (`age1…`, 62 characters of bech32). */
export function parseAgeRecipient(raw: string): Check<string> {
    if (/^age1[02-9ac-hj-np-z]{58}$/.test(raw.trim())) return ok(raw.trim());
    return fail(`${q(raw)} is not an age recipient; use the public key printed by age-keygen (age1 followed by 58 characters)`);
}

// ---------------------------------------------------------------- networks

export interface Cidr {
    family: 4 | 6;
    /** Normalised text, always with a prefix length (`/32` or `/128` for a bare address). */
    text: string;
    prefix: number;
}

function ipv4ToBigInt(addr: string): bigint {
    return addr.split(".").reduce((acc, part) => (acc << 8n) + BigInt(Number(part)), 0n);
}

function ipv6ToBigInt(addr: string): bigint {
    let text = addr;
    // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two hextets.
    const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
    if (v4) {
        const n = ipv4ToBigInt(v4[1]);
        text = `${text.slice(0, -v4[1].length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
    }
    const [head, tail] = text.split("::");
    const h = head ? head.split(":") : [];
    const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
    const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
    return groups.reduce((acc, g) => (acc << 16n) + BigInt(parseInt(g, 16)), 0n);
}

function bigIntToIpv4(n: bigint): string {
    return [24n, 16n, 8n, 0n].map((s) => ((n >> s) & 0xffn).toString()).join(".");
}

function bigIntToIpv6(n: bigint): string {
    const groups = [];
    for (let i = 7; i >= 0; i--) groups.push(((n >> BigInt(i * 16)) & 0xffffn).toString(16));
    // Compress the longest run of zero groups, as RFC 5952 does.
    let best = [-1, 0];
    for (let i = 0; i < 8; ) {
        if (groups[i] !== "0") {
            i++;
            continue;
        }
        let j = i;
        while (j < 8 && groups[j] === "0") j++;
        if (j - i > best[1] && j - i > 1) best = [i, j - i];
        i = j;
    }
    if (best[0] < 0) return groups.join(":");
    return `${groups.slice(0, best[0]).join(":")}::${groups.slice(best[0] + best[1]).join(":")}`;
}

/**
 * An IPv4 or IPv6 CIDR, or a bare address (taken as /32 or /128). Host bits must be
 * zero, so a typo such as `203.0.113.7/24` is caught rather than silently widened.
 */
export function parseCidr(raw: string): Check<Cidr> {
    const text = raw.trim();
    const [addr, prefixText, extra] = text.split("/");
    const family = isIPv4(addr ?? "") ? 4 : isIPv6(addr ?? "") ? 6 : 0;
    const bits = family === 4 ? 32 : 128;
    if (family === 0 || extra !== undefined || (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText))) {
        return fail(`${q(raw)} is not an IP address or CIDR; use a form like 203.0.113.0/24 or 2001:db8::/48`);
    }
    const prefix = prefixText === undefined ? bits : Number(prefixText);
    if (prefix > bits) {
        return fail(`${q(raw)} has prefix /${prefix}, but IPv${family} allows /0 to /${bits}`);
    }
    const value = family === 4 ? ipv4ToBigInt(addr) : ipv6ToBigInt(addr);
    const hostMask = (1n << BigInt(bits - prefix)) - 1n;
    if ((value & hostMask) !== 0n) {
        const network = value & ~hostMask & ((1n << BigInt(bits)) - 1n);
        const suggestion = `${family === 4 ? bigIntToIpv4(network) : bigIntToIpv6(network)}/${prefix}`;
        return fail(`${q(raw)} has host bits set; did you mean ${suggestion}?`);
    }
    return ok({ family, prefix, text: `${addr}/${prefix}` });
}

/** True when the CIDR matches every address of its family (0.0.0.0/0 or ::/0). */
export function isAnywhere(cidr: Cidr): boolean {
    return cidr.prefix === 0;
}

const PRIVATE_V4: ReadonlyArray<[string, number]> = [
    ["10.0.0.0", 8],
    ["172.16.0.0", 12],
    ["192.168.0.0", 16],
];

/** A VPC range: a private (RFC 1918) IPv4 CIDR from /16 to /28, as DigitalOcean requires. */
export function parseVpcRange(raw: string): Check<string> {
    const cidr = parseCidr(raw);
    if (!cidr.ok) return cidr;
    const { family, prefix, text } = cidr.value;
    const value = family === 4 ? ipv4ToBigInt(text.split("/")[0]) : 0n;
    const isPrivate = PRIVATE_V4.some(([net, len]) => value >> BigInt(32 - len) === ipv4ToBigInt(net) >> BigInt(32 - len));
    if (family !== 4 || !raw.includes("/") || !isPrivate || prefix < 16 || prefix > 28) {
        return fail(`${q(raw)} is not a usable VPC range; use a private IPv4 CIDR from /16 to /28 inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16`);
    }
    return ok(text);
}

// ---------------------------------------------------------------- names

const LABEL = "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?";

/** A DNS zone such as `incomefortress.com`: lowercase labels, a dot, an alphabetic TLD. */
export function parseDomain(raw: string): Check<string> {
    const s = raw.trim().replace(/\.$/, "");
    if (s.length <= 253 && new RegExp(`^(${LABEL}\\.)+[a-z]{2,63}$`).test(s)) return ok(s);
    return fail(`${q(raw)} is not a domain name; use a lowercase zone managed in DigitalOcean DNS, such as incomefortress.com`);
}

/** A record name inside the zone, such as `api` or `api-dr` (not the apex, not a full name). */
export function parseHostname(raw: string): Check<string> {
    if (new RegExp(`^${LABEL}(\\.${LABEL})*$`).test(raw)) return ok(raw);
    return fail(`${q(raw)} is not a record name; use lowercase letters, digits and hyphens, such as api or api-dr (without the domain)`);
}

/** A Spaces bucket name: 3–63 lowercase letters, digits and hyphens, starting and ending alphanumerically. */
export function parseBucketName(raw: string): Check<string> {
    if (/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(raw)) return ok(raw);
    return fail(`${q(raw)} is not a Spaces bucket name; use 3 to 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit`);
}

/** A Pulumi stack name this project can use in tags, bucket and project names. */
export function parseStackName(raw: string): Check<string> {
    if (/^[a-z][a-z0-9-]{0,38}[a-z0-9]$/.test(raw)) return ok(raw);
    return fail(`stack name ${q(raw)} cannot be used in resource names; use 2 to 40 lowercase letters, digits and hyphens, such as prod, dr or drill-20260203`);
}

/** A PostgreSQL identifier for the app database or user, not one DigitalOcean reserves. */
export function parsePgIdentifier(raw: string, reserved: readonly string[]): Check<string> {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(raw)) {
        return fail(`${q(raw)} is not a plain PostgreSQL identifier; use lowercase letters, digits and underscores, starting with a letter`);
    }
    if (reserved.includes(raw)) return fail(`${q(raw)} is reserved by DigitalOcean or PostgreSQL; pick another name, such as income_platform`);
    return ok(raw);
}

// ---------------------------------------------------------------- schedules and the app

export const WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] as const;

/** A maintenance start time, `HH:MM` in UTC on the hour or half hour (`08:00`). */
export function parseMaintenanceHour(raw: string): Check<string> {
    if (/^([01]\d|2[0-3]):[0-5]\d$/.test(raw)) return ok(raw);
    return fail(`${q(raw)} is not a time of day; use HH:MM in UTC, 24-hour clock, such as 08:00`);
}

const CALENDAR_SHORTHANDS = ["minutely", "hourly", "daily", "weekly", "monthly", "quarterly", "semiannually", "yearly", "annually"];

/** A systemd OnCalendar expression: a shorthand (`hourly`) or a calendar spec (`Sun *-*-* 08:00:00`). */
export function parseCalendar(raw: string): Check<string> {
    const s = raw.trim();
    if (CALENDAR_SHORTHANDS.includes(s)) return ok(s);
    if (/^[A-Za-z0-9*,:/.~ -]+$/.test(s) && /\d|\*/.test(s) && s.length <= 100) return ok(s);
    return fail(`${q(raw)} is not a systemd OnCalendar expression; use hourly, daily, or a spec such as "Sun *-*-* 08:00:00" (check with systemd-analyze calendar)`);
}

/** A git URL the host can clone without a secret: https://, ssh:// or scp-like git@host:path. */
export function parseGitUrl(raw: string): Check<string> {
    if (/^https:\/\/[A-Za-z0-9.-]+(:\d+)?\/[A-Za-z0-9._~/-]+$/.test(raw) && !raw.includes("@")) return ok(raw);
    if (/^(ssh:\/\/)?[A-Za-z0-9._-]+@[A-Za-z0-9.-]+[:/][A-Za-z0-9._~/-]+$/.test(raw)) return ok(raw);
    return fail(`${q(raw)} is not a git URL the host can clone; use https://host/owner/repo.git (no credentials in the URL) or git@host:owner/repo.git`);
}

/** A pinned git ref (tag or commit); no leading dash and no `..`, so it cannot turn into a git option or a range. */
export function parseGitRef(raw: string): Check<string> {
    if (/^[A-Za-z0-9_][A-Za-z0-9._/-]*$/.test(raw) && !raw.includes("..") && !raw.endsWith(".lock") && raw.length <= 200) return ok(raw);
    return fail(`${q(raw)} is not a usable git ref; use a tag such as v1.0.0 or a commit hash`);
}

/** An absolute, plain directory path on the host. */
export function parseHostPath(raw: string): Check<string> {
    if (/^(\/[A-Za-z0-9._-]+)+$/.test(raw) && !raw.split("/").some((p) => p === ".." || p === ".")) return ok(raw);
    return fail(`${q(raw)} is not an absolute directory path; use one like /opt/income-fortress/app`);
}

/** A relative directory inside a checkout (`income-platform`, or `.` for the root). */
export function parseRelativeDir(raw: string): Check<string> {
    if (raw === ".") return ok(raw);
    if (/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(raw) && !raw.split("/").some((p) => p === ".." || p === ".")) return ok(raw);
    return fail(`${q(raw)} is not a relative directory inside the repository; use one like income-platform, or . for the top`);
}

// ---------------------------------------------------------------- recovery
// Validators of secret keys (ageIdentity, appEnv) never quote the value: messages end up
// in terminals and CI logs.

/** A DigitalOcean database cluster's real name (not the Pulumi logical name): 3 to 63 lowercase letters, digits, hyphens. */
export function parseClusterName(raw: string): Check<string> {
    if (/^[a-z][a-z0-9-]{1,61}[a-z0-9]$/.test(raw)) return ok(raw);
    return fail(
        `${q(raw)} is not a database cluster name; use the real name with its random suffix, as printed by pulumi stack output databaseClusterName or doctl databases list`,
    );
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** An ISO 8601 time with a zone, such as 2026-02-03T10:00:00Z. Normalised to UTC (`...Z`, whole seconds). */
export function parseIsoTime(raw: string): Check<string> {
    const m = ISO_TIME.exec(raw.trim());
    const t = m ? Date.parse(raw.trim()) : NaN;
    // Date.parse rolls 2026-02-30 over to March; a round trip of the date fields catches it.
    const sameDay = m && !Number.isNaN(t) && new Date(`${m[1]}-${m[2]}-${m[3]}T00:00:00Z`).toISOString().slice(0, 10) === `${m[1]}-${m[2]}-${m[3]}`;
    if (!m || Number.isNaN(t) || !sameDay || Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6] ?? 0) > 59) {
        return fail(`${q(raw)} is not an ISO time with a zone; use one like 2026-02-03T10:00:00Z`);
    }
    return ok(new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z"));
}

/** Which backup a restore takes: `latest`, a backup id (`20261125T174500Z[-tag]`), or `before:<ISO time>`. */
export function parseRestoreBackup(raw: string): Check<BackupChoice> {
    const s = raw.trim();
    if (s === "latest" || /^[0-9]{8}T[0-9]{6}Z(-[A-Za-z0-9._-]+)?$/.test(s)) return ok({ id: s });
    if (s.startsWith("before:")) {
        const t = parseIsoTime(s.slice("before:".length));
        return t.ok ? ok({ before: t.value }) : fail(`${q(raw)}: the time ${t.problem.replace(/^"[^"]*" is /, "is ")}`);
    }
    return fail(`${q(raw)} is not a backup choice; use latest, a backup id such as 20261125T174500Z (fortress-backups lists them), or before:2026-02-03T10:00:00Z`);
}

/** A URL the host polls for health: http(s), no credentials, no quotes or spaces. */
export function parseHealthUrl(raw: string): Check<string> {
    let url: URL | undefined;
    try {
        url = new URL(raw);
    } catch {
        url = undefined;
    }
    if (!url || !/^https?:$/.test(url.protocol) || url.username || url.password || !/^https?:\/\/[^\s'"\\@]+$/.test(raw)) {
        return fail(`${q(raw)} is not a health URL; use http(s)://host[:port]/path without credentials, such as http://localhost:8000/health`);
    }
    return ok(raw);
}

/** One shell command line run in the compose project (the migration command). */
export function parseCommandLine(raw: string): Check<string> {
    const s = raw.trim();
    if (s === "" || /[\r\n\0]/.test(raw) || s.length > 500 || /[^\x20-\x7e]/.test(s)) {
        return fail(`${q(raw)} is not one printable command line; use a command such as docker compose run --rm api python manage.py migrate`);
    }
    return ok(s);
}

/** An age identity (`AGE-SECRET-KEY-1…`), or empty. Secret: the value is never quoted. */
export function parseAgeIdentity(raw: string): Check<string> {
    const s = raw.trim();
    if (s === "" || /^AGE-SECRET-KEY-1[0-9A-Z]{58}$/.test(s)) return ok(s);
    if (/^age1/.test(s)) return fail("holds an age recipient (public key); give the identity (the AGE-SECRET-KEY-1… line of the age-keygen file) with pulumi config set --secret ageIdentity");
    return fail("is not an age identity (AGE-SECRET-KEY-1 followed by 58 characters); set it with pulumi config set --secret ageIdentity \"$(grep AGE-SECRET-KEY key.txt)\"");
}

/**
 * Extra entries for the app's .env: a JSON object of NAME → value. Names as in a shell
 * (A-Z, 0-9, _); values printable ASCII without ' or \ (they are single-quoted in the
 * file). Secret: values are never quoted; names are.
 */
export function parseAppEnv(raw: string, generated: readonly string[]): Check<Record<string, string>> {
    let parsed: unknown;
    try {
        parsed = JSON.parse(raw);
    } catch {
        return fail("is not JSON; set a JSON object of NAME: value, e.g. pulumi config set --secret appEnv '{\"ANTHROPIC_API_KEY\":\"…\"}'");
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
        return fail("is not a JSON object; set a JSON object of NAME: value");
    }
    const problems: string[] = [];
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
        if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) problems.push(`${q(name)} is not a variable name (use A-Z, 0-9 and _)`);
        else if (generated.includes(name)) problems.push(`${name} is generated by the stack; remove it`);
        else if (typeof value !== "string") problems.push(`the value of ${name} is not a string`);
        else if (value === "" || /['\\]/.test(value) || /[^\x20-\x7e]/.test(value)) problems.push(`the value of ${name} is empty or has ', \\ or a non-printable character`);
        else out[name] = value;
    }
    return problems.length ? fail(problems.join("; ")) : ok(out);
}

/** A stack to reference: `dr`, or fully qualified `org/project/stack` (Pulumi Cloud and DIY backends). */
export function parseStackReference(raw: string): Check<string> {
    const parts = raw.split("/");
    const names = /^[A-Za-z0-9_.-]{1,100}$/;
    if ((parts.length === 1 || parts.length === 3) && parts.every((p) => names.test(p))) return ok(raw);
    return fail(`${q(raw)} is not a stack reference; use the stack name (dr) or organization/project/stack (acme/income-fortress/dr)`);
}

/** An e-mail address for the ACME account (Let's Encrypt's expiry notices). */
export function parseEmail(raw: string): Check<string> {
    if (/^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,63}$/.test(raw.trim())) return ok(raw.trim());
    return fail(`${q(raw)} is not an e-mail address; use one that receives certificate expiry notices, such as ops@incomefortress.com`);
}

/**
 * A DigitalOcean API token for certbot's dns-digitalocean plugin. It is a credential,
 * so no message repeats it. Personal access tokens are `dop_v1_` plus 64 hex digits;
 * older ones are the 64 hex digits alone.
 */
export function parseDigitalOceanToken(raw: string): Check<string> {
    const value = raw.trim();
    const hint = "create a token with the custom scopes domain:read, domain:create, domain:update and domain:delete (API > Tokens in the DigitalOcean control panel) and set it with pulumi config set --secret tlsDnsToken";
    if (/^(dop_v1_)?[0-9a-f]{64}$/.test(value)) return ok(value);
    if (/\s/.test(value)) return fail(`the value has white space inside it, so it is not one DigitalOcean API token; ${hint}`);
    return fail(`the value is not a DigitalOcean API token (dop_v1_ followed by 64 hex digits); ${hint}`);
}

/** A docker compose service name, such as nginx. */
export function parseComposeService(raw: string): Check<string> {
    if (/^[a-z0-9][a-z0-9_.-]{0,62}$/.test(raw)) return ok(raw);
    return fail(`${q(raw)} is not a compose service name; use the name of the service that serves HTTPS (it listens on port 80 and 443) in docker-compose.yml, such as nginx`);
}

// ---------------------------------------------------------------- monitoring

/**
 * The path of the public health endpoint, appended to https://<hostname>.<domain>: a
 * leading `/`, then printable ASCII without spaces, quotes, `\` or a `#` fragment.
 */
export function parseHealthPath(raw: string): Check<string> {
    if (/^\/[\x21-\x7e]{0,511}$/.test(raw) && !/["'\\#<>`]/.test(raw)) return ok(raw);
    return fail(`${q(raw)} is not a URL path; use a path that starts with /, without spaces, quotes or #, such as /health`);
}

/**
 * The ping URL of a dead-man's-switch check (healthchecks.io, Cronitor, Dead Man's
 * Snitch…), or empty. Secret: anyone holding it can report a good backup, so the value is
 * never quoted back. https only (it must not travel in clear), no user:password@ part, no
 * `#` fragment, and nothing the credentials file or curl's config syntax would read
 * differently (quotes, `\`, spaces, non-ASCII).
 */
export function parseHeartbeatUrl(raw: string): Check<string> {
    if (raw === "") return ok("");
    const hint = "use the https ping URL of your heartbeat check, such as https://hc-ping.com/<uuid>, and set it with pulumi config set --secret backupHeartbeatUrl";
    let url: URL | undefined;
    try {
        url = new URL(raw);
    } catch {
        url = undefined;
    }
    if (!url) return fail(`is not a URL; ${hint}`);
    if (url.protocol !== "https:") return fail(`uses ${url.protocol.replace(":", "")}, not https, so the secret ping URL would travel in clear; ${hint}`);
    if (url.username || url.password) return fail(`carries a user:password@ part; ${hint}`);
    if (!url.hostname.includes(".")) return fail(`has no fully qualified host name; ${hint}`);
    if (url.pathname.length <= 1 && url.search === "") return fail(`has no check id in its path; ${hint}`);
    if (raw.length > 1000 || !/^[\x21-\x7e]+$/.test(raw) || /["'\\#`]/.test(raw)) {
        return fail(`has spaces, quotes, a backslash, a # fragment or non-ASCII characters; ${hint}`);
    }
    return ok(raw);
}

/** A key allowReplace may list: one whose change on a live stack is refused (config/set-once.ts). */
export function parseSetOnceKey(raw: string): Check<string> {
    if (SET_ONCE_KEY_NAMES.includes(raw)) return ok(raw);
    return fail(`${q(raw)} is not a key whose change is refused; allowReplace takes: ${SET_ONCE_KEY_NAMES.join(", ")}`);
}
