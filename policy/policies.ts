// The Income Fortress policy pack: every policy, and the pure check behind each one.
//
// policy/index.ts only constructs the PolicyPack (constructing one starts the gRPC
// server the Pulumi CLI talks to), so tests import this module and call the checks
// directly on plain resources. Each check returns violation messages and never
// throws on a well-formed resource.
//
// What the policy engine hands a policy (@pulumi/policy 1.21, server.js):
// - Secret values arrive already decrypted: validation deserialises properties without
//   the secret marker, so a policy cannot ask "is this secret?". The command checks
//   therefore look at the text itself (patterns) and compare it with the values of
//   properties we know to be secrets (stack policy).
// - During `pulumi preview`, values that depend on resources not yet created are
//   unknown, and reading one throws UnknownValueError. `known()` turns that into
//   `undefined` so a check skips what it cannot see yet; `pulumi up` runs the resource
//   policies again with every input resolved, before the resource is touched.
// - Stack policies get outputs, URNs and, per property, the URNs it depends on. They do
//   not get resource ids reliably, so a DatabaseFirewall is matched to its cluster
//   through the dependency of its `clusterId` property first, and through the id value
//   (the `id` output, or the uuid at the end of `clusterUrn`) second.
import type {
    EnforcementLevel,
    Policies,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { UnknownValueError } from "@pulumi/policy";
import * as fs from "node:fs";
import { isIPv4, isIPv6 } from "node:net";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";

// ---------------------------------------------------------------- types and helpers

/** Pulumi type tokens the policies look at. */
export const TYPES = {
    firewall: "digitalocean:index/firewall:Firewall",
    databaseCluster: "digitalocean:index/databaseCluster:DatabaseCluster",
    databaseFirewall: "digitalocean:index/databaseFirewall:DatabaseFirewall",
    databaseUser: "digitalocean:index/databaseUser:DatabaseUser",
    databaseConnectionPool: "digitalocean:index/databaseConnectionPool:DatabaseConnectionPool",
    spacesBucket: "digitalocean:index/spacesBucket:SpacesBucket",
    spacesBucketPolicy: "digitalocean:index/spacesBucketPolicy:SpacesBucketPolicy",
    spacesKey: "digitalocean:index/spacesKey:SpacesKey",
    droplet: "digitalocean:index/droplet:Droplet",
    dnsRecord: "digitalocean:index/dnsRecord:DnsRecord",
    remoteCommand: "command:remote:Command",
    localCommand: "command:local:Command",
    randomPassword: "random:index/randomPassword:RandomPassword",
} as const;

/** Resource properties as a policy sees them: plain JSON, possibly behind the unknown-checking proxy. */
// biome-ignore lint/suspicious/noExplicitAny: a policy reads any provider's properties
export type Props = Record<string, any>;

/** A resource in a stack, reduced to what the stack checks need. */
export interface StackResource {
    type: string;
    urn: string;
    name: string;
    /** Outputs (during preview: inputs, with unknowns for what is not computed yet). */
    props: Props;
    /** For each property, the URNs of the resources its value came from. */
    propertyDependencies?: Record<string, string[]>;
}

/** A violation of a stack policy; `urn` names the offending resource. */
export interface Violation {
    message: string;
    urn?: string;
}

/** Stands for a value that is unknown during preview. */
export const UNKNOWN: unique symbol = Symbol("unknown during preview");

/** Reads a value that may be unknown during preview; UNKNOWN when it is. */
export function peek<T>(read: () => T): T | typeof UNKNOWN {
    try {
        return read();
    } catch (e) {
        if (e instanceof UnknownValueError) return UNKNOWN;
        throw e;
    }
}

/** Reads a value that may be unknown during preview; undefined when it is (or when it is unset). */
export function known<T>(read: () => T): T | undefined {
    const value = peek(read);
    return value === UNKNOWN ? undefined : value;
}

/** The stack name inside a URN (`urn:pulumi:<stack>::<project>::<type>::<name>`). */
export function stackFromUrn(urn: string): string | undefined {
    return /^urn:pulumi:([^:]+)::/.exec(urn)?.[1];
}

/** Adapts what the policy engine passes a stack policy to {@link StackResource}. */
export function toStackResource(r: PolicyResource): StackResource {
    const propertyDependencies: Record<string, string[]> = {};
    for (const [key, deps] of Object.entries(r.propertyDependencies ?? {})) {
        propertyDependencies[key] = deps.map((d) => d.urn);
    }
    return { type: r.type, urn: r.urn, name: r.name, props: r.props, propertyDependencies };
}

const q = (v: unknown): string => JSON.stringify(v);

// ---------------------------------------------------------------- defaults and config

/** Values the policies fall back to when the policy pack config does not set them. */
export interface PolicyDefaults {
    /** Region of the production stack; DR and drill stacks must not use it. */
    prodRegion: string;
    /** Stacks that count as production (droplet backups required). A regular expression. */
    prodStackPattern: string;
    /** Stacks that count as DR or drill stacks (region must differ from prod). A regular expression. */
    drStackPattern: string;
    /** The plan's droplet size. */
    dropletSize: string;
    /** Largest DNS TTL, in seconds, that still allows a fast cutover. */
    maxDnsTtl: number;
}

export const DEFAULTS: Readonly<PolicyDefaults> = {
    prodRegion: "nyc3",
    prodStackPattern: "^prod$",
    drStackPattern: "^(dr|drill-.+)$",
    dropletSize: "s-4vcpu-8gb",
    maxDnsTtl: 300,
};

/**
 * The prod region as Pulumi.prod.yaml declares it (`income-fortress:region`), so the DR
 * policy follows the stack file instead of a second copy of the value. Falls back to
 * the project default in Pulumi.yaml, then to nyc3 (the plan's region).
 */
export function prodRegionFromProject(projectDir: string, fallback = DEFAULTS.prodRegion): string {
    const read = (file: string): unknown => {
        try {
            return parseYaml(fs.readFileSync(path.join(projectDir, file), "utf8"));
        } catch {
            return undefined;
        }
    };
    const stack = read("Pulumi.prod.yaml") as { config?: Record<string, unknown> } | undefined;
    const fromStack = stack?.config?.["income-fortress:region"];
    if (typeof fromStack === "string" && fromStack !== "") return fromStack;
    const project = read("Pulumi.yaml") as { config?: Record<string, { default?: unknown }> } | undefined;
    const fromProject = project?.config?.region?.default;
    if (typeof fromProject === "string" && fromProject !== "") return fromProject;
    return fallback;
}

function regex(pattern: string, what: string): RegExp {
    try {
        return new RegExp(pattern);
    } catch {
        throw new Error(
            `policy config ${what} is ${q(pattern)}, which is not a regular expression; fix it in the policy pack config`,
        );
    }
}

// ---------------------------------------------------------------- 1. SSH from anywhere

/** True when a port range string (`22`, `20-30`, `1-65535`, `all`) includes `port`. */
export function portRangeIncludes(range: string | undefined, port: number): boolean {
    // An unset or unparseable range on a tcp rule is treated as "all ports": a policy
    // that guards SSH must not be bypassed by a spelling it does not understand.
    if (range === undefined || range === "" || range === "all" || range === "0") return true;
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(range);
    if (!m) return true;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    return lo <= port && port <= hi;
}

/** True for a CIDR that matches every address of its family: 0.0.0.0/0, ::/0 (any address with /0). */
export function isWorldCidr(source: string): boolean {
    const [addr, prefix, extra] = source.trim().split("/");
    if (prefix === undefined || extra !== undefined || !/^\d+$/.test(prefix)) return false;
    return (isIPv4(addr) || isIPv6(addr)) && Number(prefix) === 0;
}

/** Inbound rules of a cloud firewall that open tcp/22 to 0.0.0.0/0 or ::/0. */
export function checkFirewallSsh(props: Props): string[] {
    const rules = known(() => props.inboundRules);
    if (!Array.isArray(rules)) return [];
    const problems: string[] = [];
    rules.forEach((rule: Props, i: number) => {
        const protocol = known(() => rule.protocol);
        if (typeof protocol !== "string" || protocol.toLowerCase() !== "tcp") return;
        if (known(() => rule.action) === "deny") return;
        const ports = peek(() => rule.portRange) as string | undefined | typeof UNKNOWN;
        if (ports === UNKNOWN || !portRangeIncludes(ports, 22)) return;
        const sources = known(() => rule.sourceAddresses);
        if (!Array.isArray(sources)) return;
        for (const source of sources) {
            const text = known(() => source);
            if (typeof text === "string" && isWorldCidr(text)) {
                problems.push(
                    `inbound rule ${i} opens tcp ${ports ?? "(all ports)"}, which includes SSH (22), to ${text}. ` +
                        "Allow SSH only from the admin CIDRs (config adminCidrs), never from the whole internet.",
                );
            }
        }
    });
    return problems;
}

// ---------------------------------------------------------------- 2. database firewalls

/** Every value that identifies a database cluster: its URN, its id, the uuid in its clusterUrn. */
function clusterIdentities(cluster: StackResource): Set<string> {
    const ids = new Set<string>([cluster.urn]);
    const id = known(() => cluster.props.id);
    if (typeof id === "string" && id !== "") ids.add(id);
    const clusterUrn = known(() => cluster.props.clusterUrn);
    // clusterUrn is "do:dbaas:<uuid>", and the uuid is the cluster id.
    if (typeof clusterUrn === "string" && clusterUrn.startsWith("do:dbaas:"))
        ids.add(clusterUrn.slice("do:dbaas:".length));
    return ids;
}

/** What a DatabaseFirewall points at: the URNs its clusterId came from, and the clusterId value. */
function firewallTargets(firewall: StackResource): string[] {
    const targets = [...(firewall.propertyDependencies?.clusterId ?? [])];
    const clusterId = known(() => firewall.props.clusterId);
    if (typeof clusterId === "string" && clusterId !== "") targets.push(clusterId);
    return targets;
}

/** Problems with the rules of one DatabaseFirewall: empty, or trusting the whole internet. */
export function checkDatabaseFirewallRules(props: Props): string[] {
    const rules = known(() => props.rules);
    if (rules === undefined) return []; // unknown during preview
    if (!Array.isArray(rules) || rules.length === 0) {
        return [
            "has no rules; an empty DatabaseFirewall trusts nobody but is one edit away from being deleted, which opens the cluster. Add a rule of type tag with the droplet's tag",
        ];
    }
    const problems: string[] = [];
    rules.forEach((rule: Props, i: number) => {
        const type = known(() => rule.type);
        const value = known(() => rule.value);
        if ((type === "ip_addr" || type === "ipAddr") && typeof value === "string" && isWorldCidr(value)) {
            problems.push(
                `rule ${i} trusts ${value}, the whole internet; trust the droplet tag (type tag) or the VPC range instead`,
            );
        }
    });
    return problems;
}

/**
 * Every managed database cluster (PostgreSQL, Valkey, any engine) must have a
 * DatabaseFirewall in the same stack that points at it, with at least one rule and none
 * open to the whole internet. Without one, DigitalOcean accepts connections from any
 * address that has the password.
 */
export function checkDatabaseFirewalls(resources: readonly StackResource[]): Violation[] {
    const clusters = resources.filter((r) => r.type === TYPES.databaseCluster);
    const firewalls = resources.filter((r) => r.type === TYPES.databaseFirewall);
    const violations: Violation[] = [];
    for (const cluster of clusters) {
        const ids = clusterIdentities(cluster);
        const engine = known(() => cluster.props.engine) ?? "unknown engine";
        const guarding = firewalls.filter((fw) => firewallTargets(fw).some((t) => ids.has(t)));
        if (guarding.length === 0) {
            violations.push({
                urn: cluster.urn,
                message:
                    `database cluster ${q(cluster.name)} (${engine}) has no DatabaseFirewall, so it accepts connections from any address. ` +
                    "Add a digitalocean.DatabaseFirewall with clusterId set to this cluster's id and a tag rule for the droplet.",
            });
            continue;
        }
        for (const fw of guarding) {
            for (const problem of checkDatabaseFirewallRules(fw.props)) {
                violations.push({
                    urn: fw.urn,
                    message: `DatabaseFirewall ${q(fw.name)} for cluster ${q(cluster.name)} ${problem}`,
                });
            }
        }
    }
    return violations;
}

// ---------------------------------------------------------------- 3. Spaces buckets

/** A Spaces bucket must be private, versioned, and expire current and noncurrent objects. */
export function checkSpacesBucket(props: Props): string[] {
    const problems: string[] = [];
    const acl = peek(() => props.acl);
    // Unset means private: that is the provider's default.
    if (acl !== UNKNOWN && acl !== undefined && acl !== "private") {
        problems.push(`acl is ${q(acl)}; set acl "private": the buckets hold full database backups`);
    }
    const versioned = peek(() => props.versioning?.enabled);
    if (versioned !== UNKNOWN && versioned !== true) {
        problems.push(
            "versioning is not enabled; set versioning: { enabled: true } so an overwritten or deleted backup can be recovered",
        );
    }
    const rules = peek(() => props.lifecycleRules);
    if (rules === UNKNOWN) return problems;
    const enabled = (Array.isArray(rules) ? (rules as Props[]) : []).filter((r) => known(() => r.enabled) === true);
    const expires = enabled.some((r) => {
        const days = known(() => r.expiration?.days);
        const date = known(() => r.expiration?.date);
        return (typeof days === "number" && days > 0) || (typeof date === "string" && date !== "");
    });
    const expiresNoncurrent = enabled.some((r) => {
        const days = known(() => r.noncurrentVersionExpiration?.days);
        return typeof days === "number" && days > 0;
    });
    if (!expires) {
        problems.push(
            "no enabled lifecycle rule expires objects; add one with expiration.days set to the backup retention (config backupRetentionDays)",
        );
    }
    if (!expiresNoncurrent) {
        problems.push(
            "no enabled lifecycle rule expires noncurrent versions; on a versioned bucket expired backups otherwise stay forever as old versions. " +
                "Add noncurrentVersionExpiration.days (config noncurrentVersionDays)",
        );
    }
    return problems;
}

/** A Spaces bucket policy must not grant anything to everyone (`Principal: "*"`). */
export function checkSpacesBucketPolicy(props: Props): string[] {
    const text = known(() => props.policy);
    if (typeof text !== "string") return [];
    let doc: { Statement?: unknown };
    try {
        doc = JSON.parse(text) as { Statement?: unknown };
    } catch {
        return ["policy is not valid JSON; write it with JSON.stringify"];
    }
    const statements = Array.isArray(doc.Statement) ? doc.Statement : doc.Statement ? [doc.Statement] : [];
    const everyone = (p: unknown): boolean => {
        if (p === "*") return true;
        if (p && typeof p === "object") {
            const aws = (p as { AWS?: unknown }).AWS;
            return aws === "*" || (Array.isArray(aws) && aws.includes("*"));
        }
        return false;
    };
    const problems: string[] = [];
    statements.forEach((s: { Effect?: unknown; Principal?: unknown }, i: number) => {
        if (s.Effect === "Allow" && everyone(s.Principal)) {
            problems.push(
                `statement ${i} allows everyone (Principal "*"); backup buckets must stay private. Grant access with scoped Spaces keys instead`,
            );
        }
    });
    return problems;
}

// ---------------------------------------------------------------- 4. prod droplet backups

/** In a production stack a droplet must have DigitalOcean backups on. */
export function checkDropletBackups(
    props: Props,
    stack: string,
    prodStackPattern = DEFAULTS.prodStackPattern,
): string[] {
    if (!regex(prodStackPattern, "prodStackPattern").test(stack)) return [];
    const backups = peek(() => props.backups);
    if (backups === true || backups === UNKNOWN) return [];
    return [
        `backups are ${backups === undefined ? "not set" : q(backups)} on a droplet in production stack ${q(stack)}; ` +
            "set config dropletBackups true. The droplet image backup is the fast path back when only the host is lost.",
    ];
}

// ---------------------------------------------------------------- 5. DR region

/**
 * In a DR or drill stack, no DigitalOcean resource may live in prod's region: the DR
 * stack exists for the day that region is gone, and anything it creates there would
 * fail exactly then.
 */
export function checkRegionSeparation(
    type: string,
    props: Props,
    stack: string,
    opts: { prodRegion?: string; drStackPattern?: string } = {},
): string[] {
    const prodRegion = (opts.prodRegion ?? DEFAULTS.prodRegion).toLowerCase();
    if (!regex(opts.drStackPattern ?? DEFAULTS.drStackPattern, "drStackPattern").test(stack)) return [];
    if (!type.startsWith("digitalocean:")) return [];
    const region = known(() => props.region);
    if (typeof region !== "string" || region.toLowerCase() !== prodRegion) return [];
    return [
        `${type.split(":").pop()} is in ${region}, the prod region, but ${q(stack)} is a DR/drill stack. ` +
            "Set the stack's region config to another region (see Pulumi.dr.yaml); a DR stack must not depend on the region it replaces.",
    ];
}

// ---------------------------------------------------------------- 6. secrets in command text

const COMMAND_FIELDS = ["create", "update", "delete"] as const;

// A value that is a shell reference ($VAR, ${VAR}, "$(cat file)") is not a secret.
const REF = String.raw`["']?\$`;

// Variable names that announce a secret, and suffixes that announce a reference to one
// (PGPASSFILE, PASSWORD_FILE, TOKEN_PATH) rather than the secret itself.
const SECRET_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY)/i;
const REFERENCE_NAME = /(FILE|_PATH|_DIR|_NAME|_ID|_URL)$/i;
const ASSIGNMENT = /(?:^|[\s;&|('"])(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=([^\s;&|]*)/g;

/** True when the text assigns a literal value to a variable whose name says it is a secret. */
function hasSecretAssignment(text: string): boolean {
    for (const m of text.matchAll(ASSIGNMENT)) {
        const [, name, value] = m;
        if (!SECRET_NAME.test(name) || REFERENCE_NAME.test(name)) continue;
        if (value === "" || value === '""' || value === "''" || /^["']?\$/.test(value)) continue;
        return true;
    }
    return false;
}

const re =
    (r: RegExp) =>
    (text: string): boolean =>
        r.test(text);

/** Patterns that look like a secret written into a command line. Names only: matches are never echoed. */
export const SECRET_PATTERNS: ReadonlyArray<{ name: string; test: (text: string) => boolean }> = [
    {
        name: "a URL with a password (scheme://user:password@host)",
        test: re(new RegExp(String.raw`[a-z][a-z0-9+.-]*://[^\s:/@'"]*:(?!${REF})[^\s@/'"]+@`, "i")),
    },
    { name: "a secret assignment (PASSWORD=…, *_SECRET=…, *_TOKEN=…, *_KEY=…)", test: hasSecretAssignment },
    {
        name: "a password or token flag (--password …, --token=…)",
        test: re(
            new RegExp(String.raw`--(?:password|passwd|token|secret|api-key|access-key)(?:=|\s+)(?!${REF}|-)\S`, "i"),
        ),
    },
    { name: "an AWS-style access key id (AKIA…)", test: re(/\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/) },
    { name: "a DigitalOcean API token (dop_v1_…)", test: re(/\bdo[por]_v1_[a-f0-9]{64}\b/) },
    { name: "a DigitalOcean Spaces access key (DO00…)", test: re(/\bDO[0-9A-Z]{18}\b/) },
    { name: "a private key block", test: re(/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/) },
    { name: "an age identity (AGE-SECRET-KEY-1…)", test: re(/AGE-SECRET-KEY-1[0-9A-Z]{20,}/) },
    { name: "a GitHub token", test: re(/\bgh[pousr]_[A-Za-z0-9]{36,}\b/) },
    { name: "a Slack webhook URL", test: re(/https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9/]+/) },
];

/** The names of the secret patterns found in a command line. */
export function findSecretPatterns(text: string): string[] {
    return SECRET_PATTERNS.filter((p) => p.test(text)).map((p) => p.name);
}

/** A `command:remote:Command` (or local) whose create/update/delete text looks like it holds a secret. */
export function checkCommandText(props: Props): string[] {
    const problems: string[] = [];
    for (const field of COMMAND_FIELDS) {
        const text = known(() => props[field]);
        if (typeof text !== "string") continue;
        for (const name of findSecretPatterns(text)) {
            problems.push(
                `${field} contains ${name}. Command text is printed when the command fails and stored in the state; ` +
                    "pass the secret on stdin (or in a file written from stdin) and refer to it from the script",
            );
        }
    }
    return problems;
}

/**
 * Properties known to hold secrets, by resource type (`*` applies to every type).
 * Short values are ignored so that a substring match means something.
 */
export const SECRET_PROPERTIES: Readonly<Record<string, readonly string[]>> = {
    "*": ["password", "privateUri", "secretKey", "privateKeyPem", "privateKeyOpenssh"],
    [TYPES.databaseCluster]: ["uri"],
    [TYPES.databaseConnectionPool]: ["uri"],
    [TYPES.randomPassword]: ["result", "bcryptHash"],
};
const MIN_SECRET_LENGTH = 8;

/**
 * No command's create/update/delete text may contain the value of a property that is a
 * secret elsewhere in the stack (a database password, a Spaces secret key, a generated
 * password). This catches what patterns cannot: a bare secret interpolated anywhere.
 */
export function checkCommandSecretValues(resources: readonly StackResource[]): Violation[] {
    const secrets: { value: string; from: string }[] = [];
    for (const r of resources) {
        for (const prop of [...(SECRET_PROPERTIES["*"] ?? []), ...(SECRET_PROPERTIES[r.type] ?? [])]) {
            const value = known(() => r.props[prop]);
            if (typeof value === "string" && value.length >= MIN_SECRET_LENGTH)
                secrets.push({ value, from: `${r.name}.${prop}` });
        }
    }
    const violations: Violation[] = [];
    for (const r of resources) {
        if (r.type !== TYPES.remoteCommand && r.type !== TYPES.localCommand) continue;
        for (const field of COMMAND_FIELDS) {
            const text = known(() => r.props[field]);
            if (typeof text !== "string") continue;
            for (const s of secrets.filter((s) => text.includes(s.value))) {
                violations.push({
                    urn: r.urn,
                    message:
                        `command ${q(r.name)} has the value of ${s.from} (a secret) in its ${field} text. ` +
                        "Command text is printed on failure and kept in the state; pass the secret on stdin instead.",
                });
            }
        }
    }
    return violations;
}

// ---------------------------------------------------------------- advisory

/** The droplet should be the plan's size (4 vCPU / 8 GB). */
export function checkDropletSize(props: Props, expected = DEFAULTS.dropletSize): string[] {
    const size = known(() => props.size);
    if (size === undefined || size === expected) return [];
    return [
        `droplet size is ${q(size)}, not the plan's ${expected} (4 vCPU / 8 GB); make sure the compose stack and the RTO still fit, or update the plan`,
    ];
}

/** A DNS record should have a TTL short enough for a fast cutover. */
export function checkDnsTtl(props: Props, maxTtl = DEFAULTS.maxDnsTtl): string[] {
    const ttl = peek(() => props.ttl);
    if (ttl === UNKNOWN) return [];
    if (ttl === undefined) {
        return [
            `ttl is not set, so DigitalOcean uses 1800 s; set config dnsTtl to at most ${maxTtl} s so a DR cutover propagates quickly`,
        ];
    }
    if (typeof ttl === "number" && ttl > maxTtl) {
        return [
            `ttl is ${ttl} s; use at most ${maxTtl} s (config dnsTtl) so a DR cutover reaches clients within minutes, not hours`,
        ];
    }
    return [];
}

// ---------------------------------------------------------------- the policies

interface PolicyConfig {
    prodRegion?: string;
    prodStackPattern?: string;
    drStackPattern?: string;
    size?: string;
    maxTtl?: number;
}

const stringSetting = (description: string, value: string): PolicyConfigSchema["properties"][string] => ({
    type: "string",
    default: value,
    description,
});

function forType(type: string | readonly string[], check: (args: ResourceValidationArgs) => string[]) {
    const types: readonly string[] = typeof type === "string" ? [type] : type;
    return (args: ResourceValidationArgs, report: ReportViolation): void => {
        if (!types.includes(args.type)) return;
        for (const message of check(args)) report(message);
    };
}

function forStack(check: (resources: StackResource[], args: StackValidationArgs) => Violation[]) {
    return (args: StackValidationArgs, report: ReportViolation): void => {
        for (const v of check(args.resources.map(toStackResource), args)) report(v.message, v.urn);
    };
}

const stackOf = (args: ResourceValidationArgs): string => stackFromUrn(args.urn) ?? "";

/** Policy names, as they appear in `pulumi preview` output and in policy pack config. */
export const POLICY_NAMES = {
    sshFromAnywhere: "no-ssh-from-anywhere",
    databaseFirewalls: "databases-have-firewalls",
    spacesBuckets: "spaces-buckets-private-versioned-expiring",
    prodDropletBackups: "prod-droplets-have-backups",
    drRegion: "dr-region-differs-from-prod",
    commandSecretPatterns: "no-secrets-in-command-text",
    commandSecretValues: "no-secret-values-in-command-text",
    dropletSize: "droplet-size-matches-plan",
    dnsTtl: "dns-ttl-at-most-300",
} as const;

/** Builds the policy list; `defaults` fill what the policy pack config leaves unset. */
export function createPolicies(overrides: Partial<PolicyDefaults> = {}): Policies {
    const d: PolicyDefaults = { ...DEFAULTS, ...overrides };
    const mandatory: EnforcementLevel = "mandatory";
    const advisory: EnforcementLevel = "advisory";
    // What `pulumi preview` shows of a policy, on one line, then what it checks.
    const policy = <
        C extends
            | Pick<ResourceValidationPolicy, "validateResource" | "configSchema">
            | Pick<StackValidationPolicy, "validateStack">,
    >(
        name: string,
        enforcementLevel: EnforcementLevel,
        severity: Severity,
        description: string,
        checks: C,
    ) => ({ name, description, enforcementLevel, severity, ...checks });

    const ssh = policy(
        POLICY_NAMES.sshFromAnywhere,
        mandatory,
        "critical",
        "No cloud firewall opens SSH (tcp/22) to 0.0.0.0/0 or ::/0.",
        {
            validateResource: forType(TYPES.firewall, (a) => checkFirewallSsh(a.props)),
        },
    );
    const dbFirewalls = policy(
        POLICY_NAMES.databaseFirewalls,
        mandatory,
        "critical",
        "Every managed database cluster (PostgreSQL, Valkey) has a DatabaseFirewall restricting who may connect.",
        { validateStack: forStack((resources) => checkDatabaseFirewalls(resources)) },
    );
    const buckets = policy(
        POLICY_NAMES.spacesBuckets,
        mandatory,
        "high",
        "Spaces buckets are private and versioned, with lifecycle rules expiring objects and noncurrent versions.",
        {
            validateResource: [
                forType(TYPES.spacesBucket, (a) => checkSpacesBucket(a.props)),
                forType(TYPES.spacesBucketPolicy, (a) => checkSpacesBucketPolicy(a.props)),
            ],
        },
    );
    const backups = policy(
        POLICY_NAMES.prodDropletBackups,
        mandatory,
        "high",
        "Droplets in production stacks have DigitalOcean backups enabled.",
        {
            configSchema: {
                properties: {
                    prodStackPattern: stringSetting(
                        "Regular expression matching production stack names.",
                        d.prodStackPattern,
                    ),
                },
            },
            validateResource: forType(TYPES.droplet, (a) =>
                checkDropletBackups(
                    a.props,
                    stackOf(a),
                    a.getConfig<PolicyConfig>().prodStackPattern ?? d.prodStackPattern,
                ),
            ),
        },
    );
    const region = policy(
        POLICY_NAMES.drRegion,
        mandatory,
        "high",
        "DR and drill stacks create nothing in the production region.",
        {
            configSchema: {
                properties: {
                    prodRegion: stringSetting(
                        "Region of the production stack (default: income-fortress:region in Pulumi.prod.yaml).",
                        d.prodRegion,
                    ),
                    drStackPattern: stringSetting(
                        "Regular expression matching DR and drill stack names.",
                        d.drStackPattern,
                    ),
                },
            },
            validateResource: (args, report) => {
                const c = args.getConfig<PolicyConfig>();
                const opts = {
                    prodRegion: c.prodRegion ?? d.prodRegion,
                    drStackPattern: c.drStackPattern ?? d.drStackPattern,
                };
                for (const m of checkRegionSeparation(args.type, args.props, stackOf(args), opts)) report(m);
            },
        },
    );
    const commandPatterns = policy(
        POLICY_NAMES.commandSecretPatterns,
        mandatory,
        "critical",
        "No command's create/update/delete text contains something that looks like a secret.",
        { validateResource: forType([TYPES.remoteCommand, TYPES.localCommand], (a) => checkCommandText(a.props)) },
    );
    const commandValues = policy(
        POLICY_NAMES.commandSecretValues,
        mandatory,
        "critical",
        "No command's create/update/delete text contains the value of a secret from elsewhere in the stack.",
        { validateStack: forStack((resources) => checkCommandSecretValues(resources)) },
    );
    const size = policy(
        POLICY_NAMES.dropletSize,
        advisory,
        "low",
        "Droplets match the plan's size, s-4vcpu-8gb (4 vCPU / 8 GB).",
        {
            configSchema: { properties: { size: stringSetting("Expected droplet size slug.", d.dropletSize) } },
            validateResource: forType(TYPES.droplet, (a) =>
                checkDropletSize(a.props, a.getConfig<PolicyConfig>().size ?? d.dropletSize),
            ),
        },
    );
    const ttl = policy(
        POLICY_NAMES.dnsTtl,
        advisory,
        "low",
        "DNS records have a TTL of at most 300 s, so a DR cutover propagates quickly.",
        {
            configSchema: {
                properties: {
                    maxTtl: {
                        type: "integer",
                        default: d.maxDnsTtl,
                        minimum: 30,
                        description: "Largest allowed TTL in seconds.",
                    },
                },
            },
            validateResource: forType(TYPES.dnsRecord, (a) =>
                checkDnsTtl(a.props, a.getConfig<PolicyConfig>().maxTtl ?? d.maxDnsTtl),
            ),
        },
    );
    return [ssh, dbFirewalls, buckets, backups, region, commandPatterns, commandValues, size, ttl];
}

/** The policies with built-in defaults (prod region nyc3). policy/index.ts reads the real prod region. */
export const policies: Policies = createPolicies();

/** Names of the mandatory policies. */
export const MANDATORY_POLICY_NAMES: readonly string[] = policies
    .filter((p) => p.enforcementLevel === "mandatory")
    .map((p) => p.name);
