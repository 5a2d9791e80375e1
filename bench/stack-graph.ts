// The resource graph of a stack, taken by running the real program (index.ts) under
// pulumi.runtime.setMocks, outside vitest. Config and mock outputs come from the same mock
// cloud the mocked-stack tests use (harness/mock-cloud.ts); the runner itself is
// separate because tests/stack/harness.ts needs vitest (vi.resetModules), which a plain
// Node process cannot load. It records each RegisterResource request's type, name,
// parent, inputs and dependency list as the engine would receive them.
import { join, resolve } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { PROJECT, fakeOutputs, loadStackConfig, runEntrypoint, secretConfigKeys } from "../harness/mock-cloud";

export const ROOT = resolve(__dirname, "..");

/** One registered resource (custom or component). */
export interface GraphResource {
    type: string;
    /** Logical name, e.g. fortress-recovery-restore. */
    name: string;
    urn: string;
    custom: boolean;
    /** URN of the parent ("" for the stack's direct children). */
    parent: string;
    inputs: Record<string, unknown>;
    /** URNs this resource waits for (property dependencies and dependsOn). */
    dependencies: string[];
}

/**
 * Runs index.ts for `stack` under mocks and returns every registered resource. Call it
 * once per process: the program module is loaded (and cached) by the first call.
 */
export async function stackGraph(stack: string, root = ROOT): Promise<GraphResource[]> {
    const resources: GraphResource[] = [];
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => (args.custom ? fakeOutputs(args.type, args.name, args.inputs, undefined) : { id: undefined, state: {} }),
            call: (args) => args.inputs,
        },
        PROJECT,
        stack,
        false,
    );
    // Read the requests on their way into the mock monitor (as the engine would get them).
    const monitor = pulumi.runtime.getMonitor() as any;
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: any) => {
        const resource: GraphResource = {
            type: req.getType(),
            name: req.getName(),
            urn: "",
            custom: req.getCustom(),
            parent: req.getParent(),
            inputs: pulumi.runtime.deserializeProperties(req.getObject()),
            dependencies: req.getDependenciesList(),
        };
        resources.push(resource);
        return register(req, (err: unknown, resp: any) => {
            if (resp) resource.urn = resp.getUrn();
            callback(err, resp);
        });
    };
    const config = loadStackConfig(stack, root);
    pulumi.runtime.setAllConfig(config, secretConfigKeys(config));
    // The program's log lines (warnings about config) would interleave with our output.
    const quiet = pulumi.log.warn;
    (pulumi.log as { warn: unknown }).warn = () => Promise.resolve();
    try {
        await runEntrypoint(await import(join(root, "index")));
    } catch (e) {
        throw new Error(`the program failed for stack ${stack} under mocks: ${(e as Error).message}`);
    } finally {
        (pulumi.log as { warn: unknown }).warn = quiet;
    }
    await pulumi.runtime.disconnect();
    return resources;
}
