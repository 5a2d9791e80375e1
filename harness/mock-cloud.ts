// The mock cloud shared by the mocked-stack tests (tests/stack/harness.ts) and the RTO
// model (bench/stack-graph.ts), both through harness/program-runner.ts: stack config loaded
// the way the Pulumi CLI loads it, and plausible provider outputs. Free of vitest, so a
// plain Node process can import it.
import { createHash } from "node:crypto";
import { join } from "node:path";
import { CONFIG_KEYS, PROJECT } from "../config/keys";
import { isSecure, readProjectFile, readStackFile, stackFileName } from "../tools/stack-files";

export { PROJECT };
export const ROOT = join(__dirname, "..");
/** The organization the mocks run in (the DIY backend's name for it). */
export const ORGANIZATION = "organization";

// ---------------------------------------------------------------- config, as the CLI loads it

type Declared = { type: "string" | "integer" | "boolean" | "array"; default?: unknown; items?: { type: string } };

/** The project file's `config:` declarations. */
export function projectDeclarations(root = ROOT): Record<string, Declared> {
    const project = readProjectFile(root);
    if (project.name !== PROJECT) throw new Error(`Pulumi.yaml names project ${project.name}, expected ${PROJECT}`);
    return project.config as Record<string, Declared>;
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
    const stackConfig = readStackFile(root, stack);
    const problems: string[] = [];
    const values: Record<string, unknown> = {};
    for (const [key, decl] of Object.entries(declared)) {
        if (decl.default !== undefined) {
            const p = typeProblem(`Pulumi.yaml default of ${key}`, decl, decl.default);
            if (p) problems.push(p);
            values[key] = decl.default;
        }
    }
    for (const [fullKey, value] of Object.entries(stackConfig)) {
        const [namespace, key] = fullKey.includes(":") ? fullKey.split(/:(.*)/s) : [PROJECT, fullKey];
        if (namespace !== PROJECT) continue; // provider config (digitalocean:…) is not ours to check
        const decl = declared[key];
        if (!decl) {
            problems.push(`${stackFileName(stack)} sets ${fullKey}, which Pulumi.yaml does not declare`);
            continue;
        }
        // The CLI decrypts `secure:` values; under mocks there is no key, so a secret set
        // with `pulumi config set --secret` becomes a recognisable placeholder.
        if (isSecure(value)) {
            values[key] = `mock-secret-for-${key}`;
            continue;
        }
        const p = typeProblem(fullKey, decl, value);
        if (p) problems.push(`${stackFileName(stack)}: ${p}`);
        values[key] = value;
    }
    for (const [key, value] of Object.entries(OPERATOR_SECRETS[stack] ?? {})) {
        if (!Object.keys(stackConfig).some((k) => k === key || k === `${PROJECT}:${key}`)) values[key] = value;
    }
    for (const key of Object.keys(declared)) {
        if (!(key in values)) problems.push(`Stack ${stack} is missing configuration value ${PROJECT}:${key}`);
    }
    if (problems.length)
        throw new Error(`config for stack ${stack} would be rejected by the Pulumi CLI:\n${problems.join("\n")}`);
    return Object.fromEntries(Object.entries(values).map(([k, v]) => [`${PROJECT}:${k}`, asRuntimeString(v)]));
}

/**
 * Secrets the operator sets with `pulumi config set --secret` before the first `up`
 * (README, "Quick start"). The stack files here cannot carry them: a `secure:` value is
 * ciphertext under that stack's own key. Loading a stack sets them as the operator
 * would, with mock values of the right shape, unless the file sets them itself.
 */
export const OPERATOR_SECRETS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
    dr: { tlsDnsToken: `dop_v1_${"0a1b2c3d4e5f6a7b".repeat(4)}` },
};

/**
 * The full names of the keys in `config` that hold credentials (config/keys.ts): what the
 * CLI would list as secret had the operator set them with --secret, as they must be.
 */
export function secretConfigKeys(config: Readonly<Record<string, string>>): string[] {
    const secret = new Set(CONFIG_KEYS.filter((k) => k.secret).map((k) => `${PROJECT}:${k.name}`));
    return Object.keys(config).filter((k) => secret.has(k));
}

/**
 * Runs the program module as the Pulumi runtime does: an exported function (index.ts's
 * `export = main`) is called and awaited, and its result is the stack outputs.
 */
export async function runEntrypoint(mod: unknown): Promise<Record<string, unknown>> {
    const main = (mod as { default?: unknown }).default ?? mod;
    if (typeof main !== "function") return { ...(mod as Record<string, unknown>) };
    return { ...((await main()) as Record<string, unknown>) };
}

/** The same map without the namespace, as config/parseConfig takes it. */
export function rawStackConfig(stack: string, root = ROOT): Record<string, string> {
    return Object.fromEntries(
        Object.entries(loadStackConfig(stack, root)).map(([k, v]) => [k.slice(PROJECT.length + 1), v]),
    );
}

/** An OpenSSH ed25519 public key line whose key bytes are derived from `seed` (valid format, no private half). */
export function mockEd25519PublicKey(seed: string): string {
    const field = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
    const blob = Buffer.concat([field(Buffer.from("ssh-ed25519")), field(createHash("sha256").update(seed).digest())]);
    return `ssh-ed25519 ${blob.toString("base64")}\n`;
}

/**
 * Plausible provider outputs for the resources the program creates (mock cloud). Generated
 * credentials follow the resource's name and inputs, as a replacement's would: a rotated key
 * is a new resource (a new name), so it gets new values. The last argument is ignored.
 */
export function fakeOutputs(
    type: string,
    name: string,
    inputs: Record<string, any>,
    _replacementTrigger?: unknown,
): { id: string; state: Record<string, unknown> } {
    const id = `${name}-id`;
    const state: Record<string, unknown> = { ...inputs };
    switch (type) {
        case "digitalocean:index/droplet:Droplet":
            Object.assign(state, {
                ipv4Address: "192.0.2.10",
                ipv6Address: "2001:db8::10",
                dropletUrn: `do:droplet:${id}`,
            });
            return { id: "424242", state };
        case "digitalocean:index/reservedIp:ReservedIp":
            // The provider's urn is godo's ReservedIP.URN(), do:reservedip:<ip>; the Projects API
            // lists the same address as do:floatingip:<ip> (components/project.ts).
            Object.assign(state, { ipAddress: "192.0.2.200", reservedIpUrn: "do:reservedip:192.0.2.200" });
            return { id: "192.0.2.200", state };
        case "digitalocean:index/vpc:Vpc":
            // ipRange is Optional+Computed: DigitalOcean picks one when the program sets none.
            Object.assign(state, { ipRange: inputs.ipRange ?? "10.116.0.0/20", vpcUrn: `do:vpc:${id}` });
            return { id, state };
        case "pulumi:pulumi:StackReference":
            // A stack with no outputs yet: a new stack, or one never updated by this program.
            Object.assign(state, { name: inputs.name, outputs: {}, secretOutputNames: [] });
            return { id: String(inputs.name), state };
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
        case "digitalocean:index/databaseReplica:DatabaseReplica": {
            // The provider's id is <cluster id>/replicas/<name>; the replica's own id is `uuid`.
            const replicaName = inputs.name ?? `${name}-abc1234`;
            const host = `${replicaName}-do-user-1.db.ondigitalocean.com`;
            Object.assign(state, {
                name: replicaName,
                uuid: `mock-replica-uuid-${replicaName}`,
                host,
                privateHost: `private-${host}`,
                port: 25060,
                user: "doadmin",
                password: "mock-admin-password",
                database: "defaultdb",
            });
            return { id: `${inputs.clusterId}/replicas/${replicaName}`, state };
        }
        case "digitalocean:index/databaseUser:DatabaseUser":
            Object.assign(state, { password: "mock-user-password" });
            return { id, state };
        case "digitalocean:index/spacesBucket:SpacesBucket":
            Object.assign(state, {
                bucketUrn: `do:space:${inputs.name}`,
                bucketDomainName: `${inputs.name}.${inputs.region}.digitaloceanspaces.com`,
            });
            return { id: inputs.name, state };
        case "digitalocean:index/spacesKey:SpacesKey": {
            // A key with a new name is a new key (replaceOnChanges), with new credentials.
            const tag = createHash("sha256").update(String(inputs.name)).digest("hex").slice(0, 8).toUpperCase();
            Object.assign(state, {
                accessKey: `DO00MOCKACCESSKEY${tag}`,
                secretKey: `mock-spaces-secret-${tag.toLowerCase()}`,
            });
            return { id, state };
        }
        case "random:index/randomPassword:RandomPassword":
            // One value per password and rotation, so a test can see every password change.
            Object.assign(state, {
                result: `mock-random-secret-key-${name}-e${inputs.keepers?.credentialsEpoch ?? 0}`,
            });
            return { id, state };
        case "tls:index/privateKey:PrivateKey": {
            // The logical name carries the rotation (components/platform.ts, deployKeyName).
            const seed = name;
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
