// Runs the real program (index.ts) under pulumi.runtime.setMocks and records what it
// registers. Config is loaded the way the Pulumi CLI loads it: the project-level
// defaults declared in Pulumi.yaml, overlaid with the values in Pulumi.<stack>.yaml,
// type-checked against the declarations, and handed to the runtime as strings (lists
// as JSON), exactly as the language host receives them in PULUMI_CONFIG.
//
// Dependencies are read from the RegisterResource requests the program sends to the
// (mock) resource monitor: the same requests the engine would receive, carrying the
// dependency lists, property dependencies and options such as `protect`.
import * as pulumi from "@pulumi/pulumi";
import { vi } from "vitest";
import { ORGANIZATION, PROJECT, fakeOutputs, runEntrypoint, secretConfigKeys } from "../../harness/mock-cloud";

export { ORGANIZATION, PROJECT, ROOT, loadStackConfig, mockEd25519PublicKey, projectDeclarations, rawStackConfig } from "../../harness/mock-cloud";

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
    /** The replaceOnChanges option: input properties whose change replaces the resource. */
    replaceOnChanges: string[];
    /** The retainOnDelete option. */
    retainOnDelete: boolean;
    /** Aliases, as the names the resource was known by before (alias specs with a name). */
    aliasNames: string[];
    /** Custom timeouts as sent (create/update/delete; empty strings when unset). */
    customTimeouts?: { create: string; update: string; delete: string };
    /** The mock provider's state for a custom resource (its outputs), once registered. */
    state?: Record<string, unknown>;
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
        /**
         * Credentials (config/keys.ts) the operator set without --secret. Every other
         * credential in `config` is handed over as a secret, as `pulumi config set --secret` would.
         */
        plaintextKeys?: string[];
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
                const fake = fakeOutputs(args.type, args.name, args.inputs);
                Object.assign(fake.state, opts.outputs?.(args.type, args.name, args.inputs) ?? {});
                if (registration) registration.state = fake.state;
                return fake;
            },
            call: (args) => args.inputs,
        },
        PROJECT,
        stack,
        opts.preview ?? false,
        ORGANIZATION,
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
            replaceOnChanges: req.getReplaceonchangesList(),
            retainOnDelete: req.getRetainondelete() === true,
            aliasNames: req.getAliasesList().map((a: any) => a.getSpec?.()?.getName?.() ?? "").filter((n: string) => n !== ""),
            ...(timeouts ? { customTimeouts: { create: timeouts.getCreate(), update: timeouts.getUpdate(), delete: timeouts.getDelete() } } : {}),
        };
        registrations.push(registration);
        // The URN is the monitor's to assign; dependency lists refer to it.
        return register(req, (err: unknown, resp: any) => {
            if (resp) registration.urn = resp.getUrn();
            callback(err, resp);
        });
    };
    const plaintext = new Set((opts.plaintextKeys ?? []).map((k) => `${PROJECT}:${k}`));
    pulumi.runtime.setAllConfig(config, secretConfigKeys(config).filter((k) => !plaintext.has(k)));

    let outputs: Record<string, unknown> | undefined;
    let error: Error | undefined;
    try {
        outputs = await runEntrypoint(await import("../../index"));
        // The platform is built once the program has read its own previous outputs, so a
        // refusal arrives through the stack outputs, as the engine would see it.
        await Promise.all(Object.values(outputs).map(settle));
    } catch (e) {
        error = e as Error;
    }
    // Let every pending registration reach the monitor before anyone counts them.
    await pulumi.runtime.disconnect();
    return { registrations, outputs, error };
}

/** Waits for a stack output and rethrows what it failed with (an Output's own promise; apply would swallow it). */
function settle(value: unknown): Promise<unknown> {
    return pulumi.Output.isInstance(value) ? (value as unknown as { promise(): Promise<unknown> }).promise() : Promise.resolve(value);
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
