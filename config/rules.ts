// The rules for single values: one function per kind of value, used by everything that
// checks one (config/schema.ts, the user-data renderer, the monitoring rules and the
// recovery step builders), so a value means the same everywhere. Each rule returns the
// value (normalised where its comment says so) or one problem.
//
// A problem reads after the name of what was checked, which the caller supplies
// ("income-fortress:backupBucket: …" in config, "backup.bucket …" in the renderer). It
// quotes the bad value, except for secrets, and says what to use instead.
//
// Pure, and imports nothing of this project but the region tables, so any layer may use it.
// Table-tested in tests/unit/config-rules.test.ts.
import { createHash } from "node:crypto";
import { isIPv4, isIPv6 } from "node:net";
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
const q = (v: unknown): string => JSON.stringify(v) ?? String(v);

/** `where`, then the problem; undefined when the value passed. How the renderer and the monitoring rules report one. */
export function problemAt(where: string, check: Check<unknown>): string | undefined {
    return check.ok ? undefined : `${where} ${check.problem}`;
}

// ---------------------------------------------------------------- scalars

/** `true` or `false`, as `pulumi config set` stores booleans. */
export function parseBoolean(raw: string): Check<boolean> {
    if (raw === "true") return ok(true);
    if (raw === "false") return ok(false);
    return fail(`${q(raw)} is not a boolean; use true or false`);
}

const range = (min: number, max: number, why: string) =>
    `use an integer from ${min} to ${max}${why ? ` (${why})` : ""}`;

/** A whole number within [min, max]; `why` explains the bound. */
export function parseWholeNumber(value: unknown, min: number, max: number, why = ""): Check<number> {
    if (typeof value !== "number" || !Number.isInteger(value))
        return fail(`${q(value)} is not a whole number; ${range(min, max, why)}`);
    if (value < min || value > max) return fail(`${value} is out of range; ${range(min, max, why)}`);
    return ok(value);
}

/** A whole number written as text (config values arrive as strings), within [min, max]. */
export function parseInteger(raw: string, min: number, max: number, why = ""): Check<number> {
    if (!/^-?\d+$/.test(raw.trim())) return fail(`${q(raw)} is not a whole number; ${range(min, max, why)}`);
    return parseWholeNumber(Number(raw.trim()), min, max, why);
}

/** A percentage threshold: a number from 1 to 100. */
export function parsePercent(value: unknown): Check<number> {
    if (typeof value !== "number" || !Number.isFinite(value) || value < 1 || value > 100)
        return fail(`is ${q(value)}; use a number from 1 to 100 (percent)`);
    return ok(value);
}

/** One of a fixed set of values. */
export function parseOneOf<T extends string>(value: unknown, allowed: readonly T[]): Check<T> {
    if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return ok(value as T);
    return fail(`is ${q(value)}; use one of: ${allowed.join(", ")}`);
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
        `${q(raw)} ${known ? "has no Spaces object storage" : "is not a DigitalOcean region"}; buckets can live only in: ${SPACES_REGIONS.join(", ")}`,
    );
}

/** A droplet region that also has Spaces, since the stack's backup bucket sits beside the droplet. */
export function parseStackRegion(raw: string): Check<DropletRegion & SpacesRegion> {
    const region = parseRegion(raw);
    if (!region.ok) return region;
    if (!isSpacesRegion(raw)) {
        return fail(
            `${q(raw)} has no Spaces object storage, and the stack's backup bucket lives in its own region; use one of: ${DROPLET_REGIONS.filter(isSpacesRegion).join(", ")}`,
        );
    }
    return ok(raw);
}

/**
 * A PostgreSQL major that DigitalOcean offers for new managed clusters. The host's
 * postgresql-client follows the same major, so the renderer takes no other.
 */
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
    return fail(
        `${q(raw)} is not a database size slug; use one like db-s-1vcpu-2gb (doctl databases options slugs --engine pg)`,
    );
}

/** An image slug (`ubuntu-24-04-x64`) or a numeric image id (snapshots, custom images). */
export function parseImage(raw: string): Check<string> {
    if (/^[a-z0-9][a-z0-9.-]*$/.test(raw) || /^\d+$/.test(raw)) return ok(raw);
    return fail(
        `${q(raw)} is not an image slug or id; use one like ubuntu-24-04-x64 (doctl compute image list-distribution)`,
    );
}

/** The MD5 fingerprint (`aa:bb:…`, 16 bytes) or numeric id of an SSH key already in the DigitalOcean account. Normalised to lower case without `MD5:`. */
export function parseSshKeyRef(raw: string): Check<string> {
    const s = raw.trim().replace(/^MD5:/i, "").toLowerCase();
    if (/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/.test(s) || /^\d+$/.test(s)) return ok(s);
    return fail(
        `${q(raw)} is not a DigitalOcean SSH key reference; use the key's MD5 fingerprint (aa:bb:…, 16 pairs) or numeric id from doctl compute ssh-key list`,
    );
}

/** A DigitalOcean database cluster's real name (not the Pulumi logical name): 3 to 63 lowercase letters, digits, hyphens. */
export function parseClusterName(raw: string): Check<string> {
    if (/^[a-z][a-z0-9-]{1,61}[a-z0-9]$/.test(raw)) return ok(raw);
    return fail(
        `${q(raw)} is not a database cluster name; use the real name with its random suffix, as printed by pulumi stack output databaseClusterName or doctl databases list`,
    );
}

/** A DigitalOcean tag name (droplets are watched and trusted by tag). */
export function parseTagName(raw: string): Check<string> {
    if (/^[A-Za-z0-9:_-]{1,255}$/.test(raw)) return ok(raw);
    return fail(
        `${q(raw)} is not a DigitalOcean tag name; use 1 to 255 letters, digits, colons, dashes and underscores`,
    );
}

/**
 * A Spaces bucket name: 3 to 63 lowercase letters, digits and hyphens, starting and ending
 * with a letter or digit. S3 also allows dots, but Spaces' wildcard certificate
 * (*.<region>.digitaloceanspaces.com) does not cover a name with a dot, so HTTPS to such a
 * bucket by its own host name fails (docs.digitalocean.com/products/spaces/details/limits).
 */
export function parseBucketName(raw: string): Check<string> {
    if (/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(raw)) return ok(raw);
    const dots = raw.includes(".")
        ? " (no dots: Spaces' HTTPS certificate does not cover a bucket name with a dot)"
        : "";
    return fail(
        `${q(raw)} is not a Spaces bucket name; use 3 to 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit${dots}`,
    );
}

const S3_ENDPOINT_HINT = "use the bare endpoint, such as https://nyc3.digitaloceanspaces.com";

/**
 * An S3 endpoint: https (plain http only on loopback, for test servers), nothing but the
 * scheme, host and port. Credentials in it would end up in user-data and the step texts.
 */
export function parseS3Endpoint(raw: string): Check<string> {
    let url: URL;
    try {
        url = new URL(raw);
    } catch {
        return fail(`${q(raw)} is not a URL; ${S3_ENDPOINT_HINT}`);
    }
    const loopback = url.hostname === "localhost" || url.hostname === "[::1]" || /^127\./.test(url.hostname);
    if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
        return fail(`must use https:// (plain http is accepted only for loopback test servers); ${S3_ENDPOINT_HINT}`);
    }
    if (url.username !== "" || url.password !== "")
        return fail(
            `contains credentials, which would be stored in user-data: remove them (keys go to credentials.env over SSH)`,
        );
    if (url.pathname !== "/" || url.search !== "" || url.hash !== "" || raw.endsWith("/"))
        return fail(`${q(raw)} has a path, query or trailing slash; ${S3_ENDPOINT_HINT}`);
    // The parser accepts and rewrites what no endpoint holds (upper case, quotes, spaces).
    if (raw !== url.origin) return fail(`${q(raw)} is not a plain scheme://host[:port]; ${S3_ENDPOINT_HINT}`);
    return ok(raw);
}

/**
 * A DigitalOcean API token (certbot's dns-digitalocean plugin). A credential: no message
 * repeats it. Personal access tokens are `dop_v1_` plus 64 hex digits; older ones are the
 * 64 hex digits alone. Surrounding white space is dropped.
 */
export function parseDigitalOceanToken(raw: string): Check<string> {
    const value = raw.trim();
    const hint =
        "create a token with the custom scopes domain:read, domain:create, domain:update and domain:delete (API > Tokens in the DigitalOcean control panel) and set it with pulumi config set --secret tlsDnsToken";
    if (/^(dop_v1_)?[0-9a-f]{64}$/.test(value)) return ok(value);
    if (/\s/.test(value))
        return fail(`the value has white space inside it, so it is not one DigitalOcean API token; ${hint}`);
    return fail(`the value is not a DigitalOcean API token (dop_v1_ followed by 64 hex digits); ${hint}`);
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

/** An IPv4 address in dotted-decimal form. */
export function parseIpv4(raw: string): Check<string> {
    if (isIPv4(raw)) return ok(raw);
    return fail(`${q(raw)} is not an IPv4 address; use a dotted address such as 192.0.2.10`);
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
    if (prefix > bits) return fail(`${q(raw)} has prefix /${prefix}, but IPv${family} allows /0 to /${bits}`);
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
    const isPrivate = PRIVATE_V4.some(
        ([net, len]) => value >> BigInt(32 - len) === ipv4ToBigInt(net) >> BigInt(32 - len),
    );
    if (family !== 4 || !raw.includes("/") || !isPrivate || prefix < 16 || prefix > 28) {
        return fail(
            `${q(raw)} is not a usable VPC range; use a private IPv4 CIDR from /16 to /28 inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16`,
        );
    }
    return ok(text);
}

// ---------------------------------------------------------------- names

const LABEL = "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?";
const FQDN = new RegExp(`^(${LABEL}\\.)+[a-z]{2,63}$`);
const RECORD_NAME = new RegExp(`^${LABEL}(\\.${LABEL})*$`);

/** A fully qualified host name such as `api.incomefortress.com`: lowercase labels, a dot, an alphabetic top-level domain. */
export function parseFqdn(raw: string): Check<string> {
    if (raw.length <= 253 && FQDN.test(raw)) return ok(raw);
    return fail(
        `${q(raw)} is not a fully qualified host name; use lowercase labels and a top-level domain, such as api.incomefortress.com`,
    );
}

/** A DNS zone such as `incomefortress.com` (a fully qualified name; a trailing dot is dropped). */
export function parseDomain(raw: string): Check<string> {
    const s = raw.trim().replace(/\.$/, "");
    if (parseFqdn(s).ok) return ok(s);
    return fail(
        `${q(raw)} is not a domain name; use a lowercase zone managed in DigitalOcean DNS, such as incomefortress.com`,
    );
}

/** A record name inside the zone, such as `api` or `api-dr` (not the apex, not a full name). */
export function parseRecordName(raw: string): Check<string> {
    if (RECORD_NAME.test(raw)) return ok(raw);
    return fail(
        `${q(raw)} is not a record name; use lowercase letters, digits and hyphens, such as api or api-dr (without the domain)`,
    );
}

/** A Pulumi stack name, which is also the environment name in tags, bucket, droplet and project names. */
export function parseStackName(raw: string): Check<string> {
    if (/^[a-z][a-z0-9-]{0,38}[a-z0-9]$/.test(raw)) return ok(raw);
    return fail(
        `stack name ${q(raw)} cannot be used in resource names; use 2 to 40 lowercase letters, digits and hyphens, such as prod, dr or drill-20260203`,
    );
}

/** A stack to reference: `dr`, or fully qualified `org/project/stack` (Pulumi Cloud and DIY backends). */
export function parseStackReference(raw: string): Check<string> {
    const parts = raw.split("/");
    const names = /^[A-Za-z0-9_.-]{1,100}$/;
    if ((parts.length === 1 || parts.length === 3) && parts.every((p) => names.test(p))) return ok(raw);
    return fail(
        `${q(raw)} is not a stack reference; use the stack name (dr) or organization/project/stack (acme/income-fortress/dr)`,
    );
}

/** A plain PostgreSQL identifier (no quoting needed), not one of `reserved`. */
export function parsePgIdentifier(raw: string, reserved: readonly string[] = []): Check<string> {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(raw)) {
        return fail(
            `${q(raw)} is not a plain PostgreSQL identifier; use up to 63 lowercase letters, digits and underscores, starting with a letter or underscore`,
        );
    }
    if (reserved.includes(raw))
        return fail(`${q(raw)} is reserved by DigitalOcean or PostgreSQL; pick another name, such as income_platform`);
    return ok(raw);
}

/** A docker compose service name, such as nginx. */
export function parseComposeService(raw: string): Check<string> {
    if (/^[a-z0-9][a-z0-9_.-]{0,62}$/.test(raw)) return ok(raw);
    return fail(
        `${q(raw)} is not a compose service name; use the name of the service that serves HTTPS (it listens on port 80 and 443) in docker-compose.yml, such as nginx`,
    );
}

/** A file owner as chown takes it: `user:group`, both plain names. */
export function parseFileOwner(raw: string): Check<string> {
    if (/^[a-z_][a-z0-9_-]*:[a-z_][a-z0-9_-]*$/.test(raw)) return ok(raw);
    return fail(`${q(raw)} is not user:group; use plain lowercase names, such as root:root or deployer:deployer`);
}

/**
 * An e-mail address: a dot-atom local part of letters, digits and `. _ % + -`, then a
 * fully qualified domain. DigitalOcean (alerts) and Let's Encrypt (expiry notices) both
 * mail it, so it must be a real address; the narrower local part keeps quoting out of it.
 * `receives` says what the address is for, in the message.
 */
export function parseEmail(raw: string, receives = "certificate expiry notices"): Check<string> {
    const at = raw.lastIndexOf("@");
    const local = raw.slice(0, Math.max(at, 0));
    const domain = raw.slice(at + 1).toLowerCase();
    if (
        at > 0 &&
        raw.length <= 254 &&
        local.length <= 64 &&
        /^[A-Za-z0-9_%+-]+(\.[A-Za-z0-9_%+-]+)*$/.test(local) &&
        parseFqdn(domain).ok
    )
        return ok(raw);
    return fail(
        `${q(raw)} is not an e-mail address; use one that receives ${receives}, such as ops@incomefortress.com`,
    );
}

/** A Slack channel name, with or without the leading #. */
export function parseSlackChannel(raw: string): Check<string> {
    if (/^#?[a-z0-9][a-z0-9._-]{0,79}$/.test(raw)) return ok(raw);
    return fail(
        `is ${q(raw)}; use a Slack channel name such as #ops-alerts (lower case, no spaces, at most 80 characters)`,
    );
}

// ---------------------------------------------------------------- paths on the host

const PATH_SEGMENT = /^[A-Za-z0-9._-]+$/;
const plainSegments = (parts: string[]) => parts.every((p) => PATH_SEGMENT.test(p) && p !== "." && p !== "..");

/** An absolute, normalised path on the host: segments of A-Z a-z 0-9 . _ -, no `.` or `..`, no trailing slash. */
export function parseHostPath(raw: string): Check<string> {
    if (raw.startsWith("/") && plainSegments(raw.slice(1).split("/"))) return ok(raw);
    return fail(
        `${q(raw)} is not a plain absolute path; use one like /opt/income-fortress/app (A-Z a-z 0-9 . _ - between the slashes, no . or .. parts, no trailing slash)`,
    );
}

/** Top-level directories an application checkout must never go into. */
const SYSTEM_DIRS = [
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib64",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/sys",
    "/tmp",
    "/usr",
    "/var/tmp",
    "/var/lib/income-fortress",
];

/** The application checkout directory: a plain absolute path below a top-level directory, outside the system's and the toolkit's. */
export function parseAppDir(raw: string): Check<string> {
    const path = parseHostPath(raw);
    if (!path.ok) return path;
    const hint = "use one such as /opt/income-fortress/app or /home/deployer/app";
    if (raw.split("/").length < 3) return fail(`${q(raw)} is a top-level directory; ${hint}`);
    const system = SYSTEM_DIRS.find((s) => raw === s || raw.startsWith(`${s}/`));
    if (system !== undefined) return fail(`${q(raw)} is inside the system directory ${system}; ${hint}`);
    return ok(raw);
}

/** A relative directory inside a checkout (`income-platform`, or `.` for the top). */
export function parseRelativeDir(raw: string): Check<string> {
    if (raw === "." || plainSegments(raw.split("/"))) return ok(raw);
    return fail(
        `${q(raw)} is not a relative directory inside the repository; use one like income-platform, or . for the top`,
    );
}

/** An object key prefix such as `postgresql/prod`: plain segments, no leading or trailing slash. */
export function parseObjectPrefix(raw: string): Check<string> {
    if (plainSegments(raw.split("/"))) return ok(raw);
    return fail(
        `${q(raw)} is not an object prefix; use path segments of A-Z a-z 0-9 . _ - joined by "/", without a leading or trailing slash, such as postgresql/prod`,
    );
}

// ---------------------------------------------------------------- schedules and times

export const WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** A maintenance start time, `HH:MM` in UTC (`08:00`). */
export function parseMaintenanceHour(raw: string): Check<string> {
    if (/^([01]\d|2[0-3]):[0-5]\d$/.test(raw)) return ok(raw);
    return fail(`${q(raw)} is not a time of day; use HH:MM in UTC, 24-hour clock, such as 08:00`);
}

/** systemd's named calendar shorthands (systemd.time(7)). */
const CALENDAR_SHORTHANDS = [
    "minutely",
    "hourly",
    "daily",
    "weekly",
    "monthly",
    "quarterly",
    "semiannually",
    "yearly",
    "annually",
];

/**
 * A systemd OnCalendar expression: a shorthand (`hourly`) or a calendar spec
 * (`Sun *-*-* 08:00:00`, with an optional time zone such as America/Port_of_Spain or
 * Etc/GMT+5). Checked for one line, a safe character set and the commonest mistake (a cron
 * expression); the full grammar is systemd's, and the integration tests feed rendered
 * timers to `systemd-analyze calendar`.
 */
export function parseCalendar(raw: string): Check<string> {
    const hint =
        'use hourly, daily, or a spec such as "Sun *-*-* 08:00:00" (see systemd.time(7); check with systemd-analyze calendar)';
    if (raw.trim() === "") return fail(`is empty; ${hint}`);
    if (raw !== raw.trim()) return fail(`${q(raw)} has leading or trailing spaces; remove them`);
    if (CALENDAR_SHORTHANDS.includes(raw)) return ok(raw);
    if (raw.length > 100 || !/^[A-Za-z0-9 ,:*./~+_-]+$/.test(raw))
        return fail(`${q(raw)} has characters a calendar expression never uses; ${hint}`);
    if (/^[0-9*/,-]+( [0-9*/,-]+){4}$/.test(raw))
        return fail(`${q(raw)} looks like a cron expression, which systemd does not read; ${hint}`);
    if (!/[0-9*]/.test(raw)) return fail(`${q(raw)} is neither a shorthand nor a date/time pattern; ${hint}`);
    return ok(raw);
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** An ISO 8601 time with a zone, such as 2026-02-03T10:00:00Z. Normalised to UTC (`...Z`, whole seconds). */
export function parseIsoTime(raw: string): Check<string> {
    const m = ISO_TIME.exec(raw.trim());
    const t = m ? Date.parse(raw.trim()) : NaN;
    // Date.parse rolls 2026-02-30 over to March; a round trip of the date fields catches it.
    const sameDay =
        m &&
        !Number.isNaN(t) &&
        new Date(`${m[1]}-${m[2]}-${m[3]}T00:00:00Z`).toISOString().slice(0, 10) === `${m[1]}-${m[2]}-${m[3]}`;
    if (!m || Number.isNaN(t) || !sameDay || Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6] ?? 0) > 59) {
        return fail(`${q(raw)} is not an ISO time with a zone; use one like 2026-02-03T10:00:00Z`);
    }
    return ok(new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z"));
}

/** A backup id as fortress-backups lists them: `20261125T174500Z`, optionally with a `-tag`. */
export const BACKUP_ID = /^[0-9]{8}T[0-9]{6}Z(-[A-Za-z0-9._-]+)?$/;

/** A tag fortress-backup's `--tag` accepts (cloud-init/toolkit/bin/fortress-backup, parse_args). */
export const BACKUP_TAG = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * The tag of the backup the migrate step takes before the migrations of `ref` (a
 * {@link parseGitRef} value): `pre-migrate-<ref>`, each `/` of a branch name as `-`. A ref
 * too long for the tag's 64 characters keeps its start and ends in 8 hex digits of its
 * sha256, so two long refs with one start still get two tags.
 */
export function preMigrateTag(ref: string): Check<string> {
    const gitRef = parseGitRef(ref);
    if (!gitRef.ok) return gitRef;
    const prefix = "pre-migrate-";
    const room = 64 - prefix.length;
    let part = gitRef.value.replaceAll("/", "-");
    if (part.length > room) {
        const hash = createHash("sha256").update(gitRef.value).digest("hex").slice(0, 8);
        part = `${part.slice(0, room - hash.length - 1)}-${hash}`;
    }
    return ok(`${prefix}${part}`);
}

/** Which backup a restore takes: `latest` or a backup id, or the newest one before a time. */
export type BackupChoice = { id: string } | { before: string };

/** Which backup a restore takes: `latest`, a backup id (`20261125T174500Z[-tag]`), or `before:<ISO time>`. */
export function parseRestoreBackup(raw: string): Check<BackupChoice> {
    const s = raw.trim();
    if (s === "latest" || BACKUP_ID.test(s)) return ok({ id: s });
    if (s.startsWith("before:")) {
        const t = parseIsoTime(s.slice("before:".length));
        return t.ok ? ok({ before: t.value }) : fail(`${q(raw)}: the time ${t.problem.replace(/^"[^"]*" is /, "is ")}`);
    }
    return fail(
        `${q(raw)} is not a backup choice; use latest, a backup id such as 20261125T174500Z (fortress-backups lists them), or before:2026-02-03T10:00:00Z`,
    );
}

// ---------------------------------------------------------------- the application

const GIT_URL_HINT = "use https://host/owner/repo.git (no credentials in the URL) or git@host:owner/repo.git";
const HOST = "[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?";
const REPO_PATH = "[A-Za-z0-9._~/-]+";

/**
 * A git URL the host can clone without a secret in it: https://host[:port]/path,
 * ssh://user@host[:port]/path, or scp-like user@host:path. Plain http and git:// can be
 * tampered with in transit, and file:// and ext:: read or run local things. User and host
 * start with a letter or digit, so neither can become an ssh option.
 */
export function parseGitUrl(raw: string): Check<string> {
    if (raw === "") return fail(`is empty; ${GIT_URL_HINT}`);
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(raw)?.[1];
    // Checked before anything quotes the value: a token in the URL must not reach a log.
    if ((scheme === "https" || scheme === "http") && /^[a-z]+:\/\/[^/]*@/i.test(raw)) {
        return fail(
            "contains credentials, which would be stored in user-data: remove them and use a public URL or an SSH deploy key",
        );
    }
    if (scheme === "ssh" && /^ssh:\/\/[^/@]*:[^/@]*@/.test(raw))
        return fail("contains a password, which would be stored in user-data: remove it and use an SSH deploy key");
    if (scheme !== undefined && scheme !== "https" && scheme !== "ssh")
        return fail(`uses ${scheme}://, which is not allowed; ${GIT_URL_HINT}`);
    const forms = [
        new RegExp(`^https://${HOST}(:\\d+)?/${REPO_PATH}$`),
        new RegExp(`^ssh://[A-Za-z0-9][A-Za-z0-9._-]*@${HOST}(:\\d+)?/${REPO_PATH}$`),
        new RegExp(`^[A-Za-z0-9][A-Za-z0-9._-]*@${HOST}:${REPO_PATH}$`),
    ];
    if (forms.some((f) => f.test(raw))) return ok(raw);
    return fail(`${q(raw)} is not a git URL the host can clone; ${GIT_URL_HINT}`);
}

/**
 * A pinned git ref (tag, branch or commit id) as git check-ref-format allows it, in a
 * narrower character set: no `-` first (it would become a git option), no component that
 * starts with `.` or ends with `.lock`, no `..` or `//`, and no `/` or `.` at either end.
 */
export function parseGitRef(raw: string): Check<string> {
    const bad = (why: string) =>
        fail<string>(`${q(raw)} is not a usable git ref (${why}); use a tag such as v1.0.0 or a commit hash`);
    if (raw === "") return bad("it is empty");
    if (raw.length > 200 || !/^[A-Za-z0-9._/-]+$/.test(raw))
        return bad("it has characters outside A-Z a-z 0-9 . _ / -, or more than 200");
    if (raw.startsWith("-")) return bad('it starts with "-", which git would read as an option');
    const parts = raw.split("/");
    if (
        raw.includes("..") ||
        parts.some((p) => p === "" || p.startsWith(".") || p.endsWith(".lock")) ||
        raw.endsWith(".")
    ) {
        return bad("git check-ref-format refuses it");
    }
    return ok(raw);
}

/** One printable command line (the migration command). Surrounding white space is dropped. */
export function parseCommandLine(raw: string): Check<string> {
    const s = raw.trim();
    if (s === "" || /[\r\n\0]/.test(raw) || s.length > 500 || /[^\x20-\x7e]/.test(s)) {
        return fail(
            `${q(raw)} is not one printable command line; use a command such as docker compose run --rm api python manage.py migrate`,
        );
    }
    return ok(s);
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
        return fail(
            'is not JSON; set a JSON object of NAME: value, e.g. pulumi config set --secret appEnv \'{"ANTHROPIC_API_KEY":"…"}\'',
        );
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
        return fail("is not a JSON object; set a JSON object of NAME: value");
    const problems: string[] = [];
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
        if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) problems.push(`${q(name)} is not a variable name (use A-Z, 0-9 and _)`);
        else if (generated.includes(name)) problems.push(`${name} is generated by the stack; remove it`);
        else if (typeof value !== "string") problems.push(`the value of ${name} is not a string`);
        else if (value === "" || /['\\]/.test(value) || /[^\x20-\x7e]/.test(value))
            problems.push(`the value of ${name} is empty or has ', \\ or a non-printable character`);
        else out[name] = value;
    }
    return problems.length ? fail(problems.join("; ")) : ok(out);
}

// ---------------------------------------------------------------- URLs

function parseUrl(raw: string): URL | undefined {
    try {
        return new URL(raw);
    } catch {
        return undefined;
    }
}

/** A URL the host polls for health: http(s), no credentials, no quotes, spaces or backslashes. */
export function parseHealthUrl(raw: string): Check<string> {
    const url = parseUrl(raw);
    if (
        !url ||
        !/^https?:$/.test(url.protocol) ||
        url.username ||
        url.password ||
        !/^https?:\/\/[^\s'"\\@]+$/.test(raw)
    ) {
        return fail(
            `${q(raw)} is not a health URL; use http(s)://host[:port]/path without credentials, such as http://localhost:8000/health`,
        );
    }
    return ok(raw);
}

/**
 * A URL DigitalOcean's uptime probes fetch: absolute https, with a fully qualified host,
 * and without credentials (the check's target is visible to everyone on the team).
 */
export function parseProbeUrl(raw: string): Check<string> {
    const hint = "use an absolute https URL such as https://api.example.com/health";
    const url = parseUrl(raw);
    if (!url) return fail(`is ${q(raw)}, which is not a URL; ${hint}`);
    if (url.username || url.password)
        return fail(
            "carries credentials, which every team member could read on the check; remove the user:password@ part",
        );
    if (url.protocol !== "https:")
        return fail(`is ${q(raw)}; ${hint} (the check also alerts before the certificate expires)`);
    if (!url.hostname.includes(".")) return fail(`has host ${q(url.hostname)}; ${hint}`);
    return ok(raw);
}

/**
 * The path of the public health endpoint, appended to https://<hostname>.<domain>: a
 * leading `/`, then printable ASCII without spaces, quotes, `\` or a `#` fragment.
 */
export function parseHealthPath(raw: string): Check<string> {
    if (/^\/[\x21-\x7e]{0,511}$/.test(raw) && !/["'\\#<>`]/.test(raw)) return ok(raw);
    return fail(
        `${q(raw)} is not a URL path; use a path that starts with /, without spaces, quotes or #, such as /health`,
    );
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
    const hint =
        "use the https ping URL of your heartbeat check, such as https://hc-ping.com/<uuid>, and set it with pulumi config set --secret backupHeartbeatUrl";
    const url = parseUrl(raw);
    if (!url) return fail(`is not a URL; ${hint}`);
    if (url.protocol !== "https:")
        return fail(
            `uses ${url.protocol.replace(":", "")}, not https, so the secret ping URL would travel in clear; ${hint}`,
        );
    if (url.username || url.password) return fail(`carries a user:password@ part; ${hint}`);
    if (!url.hostname.includes(".")) return fail(`has no fully qualified host name; ${hint}`);
    if (url.pathname.length <= 1 && url.search === "") return fail(`has no check id in its path; ${hint}`);
    if (raw.length > 1000 || !/^[\x21-\x7e]+$/.test(raw) || /["'\\#`]/.test(raw))
        return fail(`has spaces, quotes, a backslash, a # fragment or non-ASCII characters; ${hint}`);
    return ok(raw);
}

/**
 * A Slack incoming-webhook URL. It must be https on hooks.slack.com: any other host
 * would receive the alert text, and plain http would send it in clear. A credential: the
 * message never repeats it.
 */
export function parseSlackWebhookUrl(raw: string): Check<string> {
    const hint = "use the https://hooks.slack.com/services/… URL of a Slack incoming webhook";
    const url = parseUrl(raw);
    if (!url) return fail(`is not a URL; ${hint}`);
    if (url.protocol !== "https:") return fail(`uses ${url.protocol.replace(":", "")}, not https; ${hint}`);
    if (url.hostname !== "hooks.slack.com") return fail(`points at ${q(url.hostname)}, not hooks.slack.com; ${hint}`);
    if (url.pathname.length <= 1) return fail(`has no webhook path; ${hint}`);
    return ok(raw);
}

// ---------------------------------------------------------------- keys

/** Key types OpenSSH accepts in authorized_keys (the `sk-` ones are FIDO keys). */
export const SSH_KEY_TYPES = [
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

const notAKey = (line: string, why: string) =>
    fail<string>(
        `${q(line.length > 40 ? `${line.slice(0, 37)}...` : line)} is not an OpenSSH public key (${why}); paste one line of a .pub file`,
    );

/**
 * The form of an OpenSSH public key line (`ssh-ed25519 AAAA… comment`): one line, a key
 * type OpenSSH accepts, base64 key data, and never a private key. What an authorized_keys
 * line must look like; {@link parseOpenSshPublicKey} also checks the key data itself.
 * Surrounding white space is dropped.
 */
export function parseOpenSshKeyLine(raw: string): Check<string> {
    const line = raw.trim();
    if (/PRIVATE KEY/.test(line)) {
        return fail(
            "is a PRIVATE key, which is not an OpenSSH public key; remove it now (treat it as leaked) and paste the one line of the .pub file instead",
        );
    }
    if (/[\r\n]/.test(line)) return notAKey(line, "it spans several lines");
    const [type, blob] = line.split(/\s+/);
    if (!type || !SSH_KEY_TYPES.includes(type)) return notAKey(line, `type must be one of ${SSH_KEY_TYPES.join(", ")}`);
    // Every blob starts with the 4-byte length of the type name, which base64 writes as AAAA.
    if (!blob || !/^AAAA[A-Za-z0-9+/]+={0,2}$/.test(blob))
        return notAKey(line, "the key data is missing or not base64");
    return ok(line);
}

/** One OpenSSH public key line whose key data decodes and names its own type. Surrounding white space is dropped. */
export function parseOpenSshPublicKey(raw: string): Check<string> {
    const form = parseOpenSshKeyLine(raw);
    if (!form.ok) return form;
    const line = form.value;
    const [type, blob] = line.split(/\s+/);
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
        return notAKey(line, "the key data is truncated or belongs to another key type");
    }
    return ok(line);
}

/**
 * An age X25519 recipient (`age1` and 58 characters of bech32). The host has no age
 * plugins, so plugin and SSH recipients are refused. Surrounding white space is dropped.
 */
export function parseAgeRecipient(raw: string): Check<string> {
    const s = raw.trim();
    if (/^age1[02-9ac-hj-np-z]{58}$/.test(s)) return ok(s);
    if (/^AGE-SECRET-KEY-/i.test(s)) {
        return fail(
            "is an age SECRET key (an identity), which is not an age recipient; use the public key that age-keygen -y prints, and never put the identity here",
        );
    }
    return fail(
        `${q(raw)} is not an age recipient; use the public key printed by age-keygen (age1 followed by 58 characters)`,
    );
}

/** An age identity (`AGE-SECRET-KEY-1` and 58 characters of bech32), or empty for none. Secret: never quoted. Surrounding white space is dropped. */
export function parseAgeIdentity(raw: string): Check<string> {
    const s = raw.trim();
    if (s === "" || /^AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}$/.test(s)) return ok(s);
    if (/^age1/.test(s))
        return fail(
            "holds an age recipient (public key); give the identity (the AGE-SECRET-KEY-1… line of the age-keygen file) with pulumi config set --secret ageIdentity",
        );
    return fail(
        'is not an age identity (AGE-SECRET-KEY-1 followed by 58 characters); set it with pulumi config set --secret ageIdentity "$(grep AGE-SECRET-KEY key.txt)"',
    );
}
