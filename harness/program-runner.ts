// Runs the real program (index.ts) under pulumi.runtime.setMocks and records what it
// registers: the one runner behind the mocked-stack tests (tests/stack/harness.ts) and the
// RTO model (bench/stack-graph.ts). Free of vitest, so a plain Node process can run it.
//
// Config is what harness/mock-cloud.ts loadStackConfig builds (the way the Pulumi CLI
// builds it) or what a test hands over, passed to the runtime as the language host
// receives it in PULUMI_CONFIG. Dependencies are read from the RegisterResource requests
// the program sends to the (mock) resource monitor: the same requests the engine would
// receive, carrying the dependency lists, property dependencies and options such as
// `protect`.
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { ORGANIZATION, PROJECT, ROOT, fakeOutputs, runEntrypoint, secretConfigKeys } from "./mock-cloud";

export interface Registration {
    type: string;
    name: string;
    urn: string;
    custom: boolean;
    /** URN of the parent ("" for the stack's direct children). */
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
    /** The ignoreChanges option: input properties whose change the engine ignores. */
    ignoreChanges: string[];
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

export interface RunOptions {
    preview?: boolean;
    /**
     * Credentials (config/keys.ts) the operator set without --secret. Every other
     * credential in `config` is handed over as a secret, as `pulumi config set --secret` would.
     */
    plaintextKeys?: string[];
    /** Replaces or adds mock outputs of a custom resource (merged over harness/mock-cloud.ts fakeOutputs). */
    outputs?: (type: string, name: string, inputs: Record<string, any>) => Record<string, unknown> | undefined;
    /** The folder whose index.ts is run (default: this repository). */
    root?: string;
}

/**
 * Runs `<root>/index.ts` for `stack` with the given runtime config under mocks. The module
 * is loaded through the caller's module system: a plain Node process loads it once and
 * caches it, so a second run there sees no new registrations; under vitest,
 * vi.resetModules before each run evaluates it afresh (tests/stack/harness.ts). The
 * Pulumi SDK keeps its state between runs, and setMocks resets it.
 */
export async function runProgram(
    stack: string,
    config: Record<string, string>,
    opts: RunOptions = {},
): Promise<ProgramRun> {
    const registrations: Registration[] = [];
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                if (!args.custom) return { id: undefined, state: {} };
                const registration = [...registrations]
                    .reverse()
                    .find((r) => r.type === args.type && r.name === args.name);
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
            ignoreChanges: req.getIgnorechangesList(),
            aliasNames: req
                .getAliasesList()
                .map((a: any) => a.getSpec?.()?.getName?.() ?? "")
                .filter((n: string) => n !== ""),
            ...(timeouts
                ? {
                      customTimeouts: {
                          create: timeouts.getCreate(),
                          update: timeouts.getUpdate(),
                          delete: timeouts.getDelete(),
                      },
                  }
                : {}),
        };
        registrations.push(registration);
        // The URN is the monitor's to assign; dependency lists refer to it.
        return register(req, (err: unknown, resp: any) => {
            if (resp) registration.urn = resp.getUrn();
            callback(err, resp);
        });
    };
    const plaintext = new Set((opts.plaintextKeys ?? []).map((k) => `${PROJECT}:${k}`));
    pulumi.runtime.setAllConfig(
        config,
        secretConfigKeys(config).filter((k) => !plaintext.has(k)),
    );

    let outputs: Record<string, unknown> | undefined;
    let error: Error | undefined;
    try {
        outputs = await runEntrypoint(await import(join(opts.root ?? ROOT, "index")));
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
    return pulumi.Output.isInstance(value)
        ? (value as unknown as { promise(): Promise<unknown> }).promise()
        : Promise.resolve(value);
}
