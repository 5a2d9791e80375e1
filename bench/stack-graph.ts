// The resource graph of a stack, taken by running the real program (index.ts) under
// pulumi.runtime.setMocks, outside vitest. tests/stack/harness.ts does the same for the
// tests, but it imports vitest (vi.resetModules), which cannot be loaded from a plain
// Node process, so this is the minimal runner `npm run rto` needs: config merged the way
// the Pulumi CLI merges it (Pulumi.yaml defaults, then Pulumi.<stack>.yaml), plausible mock
// outputs, and each RegisterResource request's type, name, parent, inputs and dependency
// list as the engine would receive them.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";

export const ROOT = resolve(__dirname, "..");
const PROJECT = "income-fortress";

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
 * The runtime config of a stack as the CLI hands it to the program: project defaults
 * from Pulumi.yaml overlaid with Pulumi.<stack>.yaml, keys namespaced, non-strings as JSON.
 * Provider keys (digitalocean:…) are passed through; secure values are not decrypted (a
 * stack file with `secure:` values gets a placeholder, which the graph does not depend on).
 */
export function stackRuntimeConfig(stack: string, root = ROOT): Record<string, string> {
    const project = parse(readFileSync(join(root, "Pulumi.yaml"), "utf8")) as { config?: Record<string, { default?: unknown }> };
    const stackFile = parse(readFileSync(join(root, `Pulumi.${stack}.yaml`), "utf8")) as { config?: Record<string, unknown> } | null;
    const values: Record<string, unknown> = {};
    for (const [key, decl] of Object.entries(project.config ?? {})) {
        if (decl && typeof decl === "object" && decl.default !== undefined) values[`${PROJECT}:${key}`] = decl.default;
    }
    for (const [key, value] of Object.entries(stackFile?.config ?? {})) {
        const full = key.includes(":") ? key : `${PROJECT}:${key}`;
        const isSecure = value !== null && typeof value === "object" && !Array.isArray(value) && "secure" in (value as object);
        values[full] = isSecure ? `mock-secret-for-${key}` : value;
    }
    return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

/** An OpenSSH ed25519 public key line of the right shape (the program parses the deploy key). */
function mockEd25519(seed: string): string {
    const field = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
    const blob = Buffer.concat([field(Buffer.from("ssh-ed25519")), field(createHash("sha256").update(seed).digest())]);
    return `ssh-ed25519 ${blob.toString("base64")}\n`;
}

/** Plausible provider outputs, enough for the program's applies to run. */
function mockOutputs(type: string, name: string, inputs: Record<string, any>): { id: string; state: Record<string, unknown> } {
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
            const host = `${clusterName}.db.example.invalid`;
            const valkey = inputs.engine === "valkey";
            const port = valkey ? 25061 : 25060;
            const scheme = valkey ? "rediss" : "postgresql";
            Object.assign(state, {
                name: clusterName, host, privateHost: `private-${host}`, port, user: "doadmin", password: "mock", database: "defaultdb",
                uri: `${scheme}://doadmin:mock@${host}:${port}`, privateUri: `${scheme}://doadmin:mock@private-${host}:${port}`, clusterUrn: `do:dbaas:${id}`,
            });
            return { id, state };
        }
        case "digitalocean:index/databaseUser:DatabaseUser":
            return { id, state: { ...state, password: "mock" } };
        case "digitalocean:index/spacesBucket:SpacesBucket":
            return { id: String(inputs.name ?? id), state: { ...state, bucketUrn: `do:space:${inputs.name}`, bucketDomainName: `${inputs.name}.${inputs.region}.digitaloceanspaces.com` } };
        case "digitalocean:index/spacesKey:SpacesKey":
            return { id, state: { ...state, accessKey: "DO00MOCK", secretKey: "mock" } };
        case "random:index/randomPassword:RandomPassword":
            return { id, state: { ...state, result: `mock-${name}` } };
        case "tls:index/privateKey:PrivateKey":
            return { id, state: { ...state, publicKeyOpenssh: mockEd25519(name), privateKeyOpenssh: "-----BEGIN OPENSSH PRIVATE KEY-----\nmock\n-----END OPENSSH PRIVATE KEY-----\n", privateKeyPem: "mock" } };
        case "command:remote:Command":
            return { id, state: { ...state, stdout: "", stderr: "" } };
        default:
            return { id: inputs.name !== undefined && type === "digitalocean:index/tag:Tag" ? String(inputs.name) : id, state };
    }
}

/**
 * Runs index.ts for `stack` under mocks and returns every registered resource. Call it
 * once per process: the program module is loaded (and cached) by the first call.
 */
export async function stackGraph(stack: string, root = ROOT): Promise<GraphResource[]> {
    const resources: GraphResource[] = [];
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => (args.custom ? mockOutputs(args.type, args.name, args.inputs) : { id: undefined, state: {} }),
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
    pulumi.runtime.setAllConfig(stackRuntimeConfig(stack, root));
    // The program's log lines (warnings about config) would interleave with our output.
    const quiet = pulumi.log.warn;
    (pulumi.log as { warn: unknown }).warn = () => Promise.resolve();
    try {
        await import(join(root, "index"));
    } catch (e) {
        throw new Error(`the program failed for stack ${stack} under mocks: ${(e as Error).message}`);
    } finally {
        (pulumi.log as { warn: unknown }).warn = quiet;
    }
    await pulumi.runtime.disconnect();
    return resources;
}
