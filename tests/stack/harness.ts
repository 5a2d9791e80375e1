// Runs the real program (index.ts) under pulumi.runtime.setMocks and records what it
// registers. Config is loaded the way the Pulumi CLI loads it: the project-level
// defaults declared in Pulumi.yaml, overlaid with the values in Pulumi.<stack>.yaml,
// type-checked against the declarations, and handed to the runtime as strings (lists
// as JSON), exactly as the language host receives them in PULUMI_CONFIG.
//
// Dependencies are read from the RegisterResource requests the program sends to the
// (mock) resource monitor: the same requests the engine would receive, carrying the
// dependency lists, property dependencies and options such as `protect`.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { vi } from "vitest";
import { parse } from "yaml";

export const ROOT = join(__dirname, "..", "..");
export const PROJECT = "income-fortress";

// ---------------------------------------------------------------- config, as the CLI loads it

type Declared = { type: "string" | "integer" | "boolean" | "array"; default?: unknown; items?: { type: string } };

/** The project file's `config:` declarations. */
export function projectDeclarations(root = ROOT): Record<string, Declared> {
    const project = parse(readFileSync(join(root, "Pulumi.yaml"), "utf8")) as { name: string; config?: Record<string, Declared> };
    if (project.name !== PROJECT) throw new Error(`Pulumi.yaml names project ${project.name}, expected ${PROJECT}`);
    return project.config ?? {};
}

function typeProblem(key: string, decl: Declared, value: unknown): string | undefined {
    const fits =
        decl.type === "string"
            ? typeof value === "string"
            : decl.type === "integer"
              ? Number.isInteger(value)
              : decl.type === "boolean"
                ? typeof value === "boolean"
                : Array.isArray(value) && value.every((v) => decl.items?.type !== "string" || typeof v === "string");
    return fits ? undefined : `${key}: value ${JSON.stringify(value)} does not match declared type ${decl.type}`;
}

/** How the CLI hands a value to the program: strings as they are, anything else as JSON. */
function asRuntimeString(value: unknown): string {
    return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * Merges Pulumi.<stack>.yaml over the Pulumi.yaml defaults and returns the runtime
 * config map (`income-fortress:key` → string). Throws, like the CLI, on a stack value
 * for an undeclared project key, a value of the wrong type, or a required key unset.
 */
export function loadStackConfig(stack: string, root = ROOT): Record<string, string> {
    const declared = projectDeclarations(root);
    const stackFile = parse(readFileSync(join(root, `Pulumi.${stack}.yaml`), "utf8")) as { config?: Record<string, unknown> };
    const problems: string[] = [];
    const values: Record<string, unknown> = {};
    for (const [key, decl] of Object.entries(declared)) {
        if (decl.default !== undefined) {
            const p = typeProblem(`Pulumi.yaml default of ${key}`, decl, decl.default);
            if (p) problems.push(p);
            values[key] = decl.default;
        }
    }
    for (const [fullKey, value] of Object.entries(stackFile.config ?? {})) {
        const [namespace, key] = fullKey.includes(":") ? fullKey.split(/:(.*)/s) : [PROJECT, fullKey];
        if (namespace !== PROJECT) continue; // provider config (digitalocean:…) is not ours to check
        const decl = declared[key];
        if (!decl) {
            problems.push(`Pulumi.${stack}.yaml sets ${fullKey}, which Pulumi.yaml does not declare`);
            continue;
        }
        const p = typeProblem(fullKey, decl, value);
        if (p) problems.push(`Pulumi.${stack}.yaml: ${p}`);
        values[key] = value;
    }
    for (const key of Object.keys(declared)) {
        if (!(key in values)) problems.push(`Stack ${stack} is missing configuration value ${PROJECT}:${key}`);
    }
    if (problems.length) throw new Error(`config for stack ${stack} would be rejected by the Pulumi CLI:\n${problems.join("\n")}`);
    return Object.fromEntries(Object.entries(values).map(([k, v]) => [`${PROJECT}:${k}`, asRuntimeString(v)]));
}

/** The same map without the namespace, as config/parseConfig takes it. */
export function rawStackConfig(stack: string, root = ROOT): Record<string, string> {
    return Object.fromEntries(Object.entries(loadStackConfig(stack, root)).map(([k, v]) => [k.slice(PROJECT.length + 1), v]));
}

// ---------------------------------------------------------------- running the program under mocks

export interface Registration {
    type: string;
    name: string;
    urn: string;
    custom: boolean;
    parent: string;
    inputs: Record<string, any>;
    protect: boolean;
    deleteBeforeReplace: boolean;
    /** URNs of every resource this one depends on (all properties and dependsOn). */
    dependencies: string[];
    /** Per input property, the URNs its value came from. */
    propertyDependencies: Record<string, string[]>;
    additionalSecretOutputs: string[];
    /** The replacementTrigger option, as sent (undefined when unset). */
    replacementTrigger: unknown;
    /** Custom timeouts as sent (create/update/delete; empty strings when unset). */
    customTimeouts?: { create: string; update: string; delete: string };
    /** The mock provider's state for a custom resource (its outputs), once registered. */
    state?: Record<string, unknown>;
}

/** An OpenSSH ed25519 public key line whose key bytes are derived from `seed` (valid format, no private half). */
export function mockEd25519PublicKey(seed: string): string {
    const field = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
    const blob = Buffer.concat([field(Buffer.from("ssh-ed25519")), field(createHash("sha256").update(seed).digest())]);
    return `ssh-ed25519 ${blob.toString("base64")}\n`;
}

/** Plausible provider outputs for the resources the program creates (mock cloud). */
function fakeOutputs(type: string, name: string, inputs: Record<string, any>, rotation: unknown): { id: string; state: Record<string, unknown> } {
    const id = `${name}-id`;
    const state: Record<string, unknown> = { ...inputs };
    switch (type) {
        case "digitalocean:index/droplet:Droplet":
            Object.assign(state, { ipv4Address: "192.0.2.10", ipv6Address: "2001:db8::10", dropletUrn: `do:droplet:${id}` });
            return { id: "424242", state };
        case "digitalocean:index/reservedIp:ReservedIp":
            Object.assign(state, { ipAddress: "192.0.2.200", reservedIpUrn: "do:floatingip:192.0.2.200" });
            return { id: "192.0.2.200", state };
        case "digitalocean:index/databaseCluster:DatabaseCluster": {
            const clusterName = inputs.name ?? `${name}-abc1234`;
            const host = `${clusterName}-do-user-1.db.ondigitalocean.com`;
            const scheme = inputs.engine === "valkey" ? "rediss" : "postgresql";
            const port = inputs.engine === "valkey" ? 25061 : 25060;
            Object.assign(state, {
                name: clusterName,
                host,
                privateHost: `private-${host}`,
                port,
                user: "doadmin",
                password: "mock-admin-password",
                database: "defaultdb",
                uri: `${scheme}://doadmin:mock-admin-password@${host}:${port}`,
                privateUri: `${scheme}://doadmin:mock-admin-password@private-${host}:${port}`,
                clusterUrn: `do:dbaas:${id}`,
            });
            return { id, state };
        }
        case "digitalocean:index/databaseUser:DatabaseUser":
            Object.assign(state, { password: "mock-user-password" });
            return { id, state };
        case "digitalocean:index/spacesBucket:SpacesBucket":
            Object.assign(state, { bucketUrn: `do:space:${inputs.name}`, bucketDomainName: `${inputs.name}.${inputs.region}.digitaloceanspaces.com` });
            return { id: inputs.name, state };
        case "digitalocean:index/spacesKey:SpacesKey":
            // A replaced key (replacementTrigger) has new credentials, as DigitalOcean would issue.
            Object.assign(state, { accessKey: `DO00MOCKACCESSKEY${String(rotation ?? "")}`, secretKey: `mock-spaces-secret-e${String(rotation ?? 0)}` });
            return { id, state };
        case "random:index/randomPassword:RandomPassword":
            // One value per password and rotation, so a test can see every password change.
            Object.assign(state, { result: `mock-random-secret-key-${name}-e${inputs.keepers?.credentialsEpoch ?? 0}` });
            return { id, state };
        case "tls:index/privateKey:PrivateKey": {
            const seed = `${name}-e${String(rotation ?? 0)}`;
            Object.assign(state, {
                publicKeyOpenssh: mockEd25519PublicKey(seed),
                privateKeyOpenssh: `-----BEGIN OPENSSH PRIVATE KEY-----\nmock-deploy-private-key-${seed}\n-----END OPENSSH PRIVATE KEY-----\n`,
                privateKeyPem: `-----BEGIN PRIVATE KEY-----\nmock-deploy-private-pem-${seed}\n-----END PRIVATE KEY-----\n`,
            });
            return { id, state };
        }
        case "command:remote:Command":
            Object.assign(state, { stdout: "", stderr: "" });
            return { id, state };
        case "digitalocean:index/tag:Tag":
            return { id: inputs.name, state };
        default:
            return { id, state };
    }
}

export interface ProgramRun {
    /** Every RegisterResource request, in order (components and custom resources). */
    registrations: Registration[];
    /** The module's exports (stack outputs), or undefined when the program threw. */
    outputs?: Record<string, unknown>;
    /** What the program threw, if anything. */
    error?: Error;
}

/**
 * Runs index.ts for `stack` with the given runtime config under mocks. Each call resets
 * vitest's module registry first, so the program module is evaluated afresh; the
 * Pulumi SDK itself is an external module and keeps its state, which setMocks resets.
 */
export async function runProgram(
    stack: string,
    config: Record<string, string>,
    opts: {
        preview?: boolean;
        /** Replaces or adds mock outputs of a custom resource (merged over the defaults above). */
        outputs?: (type: string, name: string, inputs: Record<string, any>) => Record<string, unknown> | undefined;
    } = {},
): Promise<ProgramRun> {
    vi.resetModules();
    const registrations: Registration[] = [];
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                if (!args.custom) return { id: undefined, state: {} };
                const registration = [...registrations].reverse().find((r) => r.type === args.type && r.name === args.name);
                const fake = fakeOutputs(args.type, args.name, args.inputs, registration?.replacementTrigger);
                Object.assign(fake.state, opts.outputs?.(args.type, args.name, args.inputs) ?? {});
                if (registration) registration.state = fake.state;
                return fake;
            },
            call: (args) => args.inputs,
        },
        PROJECT,
        stack,
        opts.preview ?? false,
    );
    // Observe the requests on their way into the mock monitor.
    const monitor = pulumi.runtime.getMonitor() as any;
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: any) => {
        const propertyDependencies: Record<string, string[]> = {};
        req.getPropertydependenciesMap().forEach((deps: any, key: string) => {
            propertyDependencies[key] = deps.getUrnsList();
        });
        const trigger = req.getReplacementTrigger?.();
        const timeouts = req.getCustomtimeouts?.();
        const registration: Registration = {
            type: req.getType(),
            name: req.getName(),
            urn: "", // filled from the monitor's response below
            custom: req.getCustom(),
            parent: req.getParent(),
            inputs: pulumi.runtime.deserializeProperties(req.getObject()),
            protect: req.getProtect() === true,
            deleteBeforeReplace: req.getDeletebeforereplace(),
            dependencies: req.getDependenciesList(),
            propertyDependencies,
            additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
            replacementTrigger: trigger ? trigger.toJavaScript() : undefined,
            ...(timeouts ? { customTimeouts: { create: timeouts.getCreate(), update: timeouts.getUpdate(), delete: timeouts.getDelete() } } : {}),
        };
        registrations.push(registration);
        // The URN is the monitor's to assign; dependency lists refer to it.
        return register(req, (err: unknown, resp: any) => {
            if (resp) registration.urn = resp.getUrn();
            callback(err, resp);
        });
    };
    pulumi.runtime.setAllConfig(config);

    let outputs: Record<string, unknown> | undefined;
    let error: Error | undefined;
    try {
        outputs = { ...(await import("../../index")) };
    } catch (e) {
        error = e as Error;
    }
    // Let every pending registration reach the monitor before anyone counts them.
    await pulumi.runtime.disconnect();
    return { registrations, outputs, error };
}

// ---------------------------------------------------------------- reading results

/** Resolves an Output (or plain value) from the program's exports. */
export function resolve<T>(value: pulumi.Input<T> | undefined): Promise<T | undefined> {
    return new Promise((res) => pulumi.output(value).apply((v) => res(v as T)));
}

export const byType = (run: ProgramRun, type: string): Registration[] => run.registrations.filter((r) => r.type === type);

export function one(run: ProgramRun, type: string, nameIncludes = ""): Registration {
    const found = byType(run, type).filter((r) => r.name.includes(nameIncludes));
    if (found.length !== 1) throw new Error(`expected one ${type} named *${nameIncludes}*, found ${found.map((r) => r.name).join(", ") || "none"}`);
    return found[0];
}

export const T = {
    droplet: "digitalocean:index/droplet:Droplet",
    reservedIp: "digitalocean:index/reservedIp:ReservedIp",
    ipAssignment: "digitalocean:index/reservedIpAssignment:ReservedIpAssignment",
    vpc: "digitalocean:index/vpc:Vpc",
    firewall: "digitalocean:index/firewall:Firewall",
    tag: "digitalocean:index/tag:Tag",
    cluster: "digitalocean:index/databaseCluster:DatabaseCluster",
    dbFirewall: "digitalocean:index/databaseFirewall:DatabaseFirewall",
    db: "digitalocean:index/databaseDb:DatabaseDb",
    dbUser: "digitalocean:index/databaseUser:DatabaseUser",
    bucket: "digitalocean:index/spacesBucket:SpacesBucket",
    spacesKey: "digitalocean:index/spacesKey:SpacesKey",
    record: "digitalocean:index/dnsRecord:DnsRecord",
    project: "digitalocean:index/project:Project",
    password: "random:index/randomPassword:RandomPassword",
    privateKey: "tls:index/privateKey:PrivateKey",
    command: "command:remote:Command",
    stackReference: "pulumi:pulumi:StackReference",
} as const;
