// The policy pack over both mocked stacks. The real program (index.ts) runs for prod and
// for dr under mocks (tests/stack/harness.ts), and every policy of the pack runs over
// what it registered, the way the policy server would call it:
// - resource policies get each custom resource's inputs, with secrets already decrypted
//   and unknowns behind @pulumi/policy's own unknown-checking proxy;
// - stack policies get every resource with its URN and per-property dependencies, which
//   the harness reads from the RegisterResource requests.
// Every mandatory policy must pass on both stacks. A negative control breaks a copy of
// the prod registrations and shows the same runner catching each break.
import type {
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
} from "@pulumi/policy";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, test } from "vitest";
import {
    MANDATORY_POLICY_NAMES,
    POLICY_NAMES,
    TYPES,
    createPolicies,
    prodRegionFromProject,
} from "../../policy/policies";
import { ORGANIZATION, PROJECT, ROOT, T, loadStackConfig, runProgram, type Registration } from "./harness";

const { unknownCheckingProxy } = require("@pulumi/policy/proxy") as { unknownCheckingProxy: <T>(o: T) => T };

// The SDK's marker for a secret value in serialised properties.
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** Strips secret markers the way the policy server's deserialisation does: a policy sees plaintext. */
function decrypt(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(decrypt);
    if (value && typeof value === "object") {
        const o = value as Record<string, unknown>;
        if (o[SECRET_SIG_KEY] === SECRET_SIG) return decrypt(o.value);
        return Object.fromEntries(
            Object.entries(o)
                .filter(([, v]) => v !== undefined)
                .map(([k, v]) => [k, decrypt(v)]),
        );
    }
    return value;
}

interface Finding {
    policy: string;
    urn: string;
    message: string;
}

const policies = createPolicies({ prodRegion: prodRegionFromProject(ROOT) });
const resourcePolicies = policies.filter((p): p is ResourceValidationPolicy => "validateResource" in p);
const stackPolicies = policies.filter((p): p is StackValidationPolicy => "validateStack" in p);

/** Runs every policy of the pack over the registrations, as the policy server would. */
/** A resource's options as the policy engine hands them over: only `protect` is in the mock's registration. */
function resourceOptions(r: Registration) {
    return {
        protect: r.protect,
        ignoreChanges: [],
        aliases: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: [],
    };
}

async function runPolicies(
    registrations: Registration[],
): Promise<{ findings: Finding[]; applicable: Map<string, number> }> {
    const custom = registrations.filter((r) => r.custom);
    const findings: Finding[] = [];
    const applicable = new Map<string, number>();
    const notApplicable = (): never => {
        throw new Error("notApplicable is not used by these policies");
    };

    for (const policy of resourcePolicies) {
        const validations = [policy.validateResource ?? []].flat();
        for (const r of custom) {
            const props = unknownCheckingProxy(decrypt(r.inputs) as Record<string, unknown>);
            const args = {
                type: r.type,
                props,
                urn: r.urn,
                name: r.name,
                opts: resourceOptions(r),
                stackTags: new Map<string, string>(),
                isType: () => false,
                asType: () => undefined,
                getConfig: <T extends object>() => ({}) as T,
                notApplicable,
            } as unknown as ResourceValidationArgs;
            let reported = 0;
            const report: ReportViolation = (message) => {
                reported++;
                findings.push({ policy: policy.name, urn: r.urn, message });
            };
            for (const validate of validations) await validate(args, report);
            // A policy "applies" to a resource whose type it checks; count them so a pass is not vacuous.
            if (reported > 0 || appliesTo(policy.name, r.type))
                applicable.set(policy.name, (applicable.get(policy.name) ?? 0) + 1);
        }
    }

    const byUrn = new Map<string, PolicyResource>();
    const resources: PolicyResource[] = custom.map((r) => {
        const resource = {
            type: r.type,
            props: unknownCheckingProxy(decrypt(r.inputs) as Record<string, unknown>),
            urn: r.urn,
            name: r.name,
            opts: resourceOptions(r),
            dependencies: [],
            propertyDependencies: {},
            isType: () => false,
            asType: () => undefined,
        } as unknown as PolicyResource;
        byUrn.set(r.urn, resource);
        return resource;
    });
    custom.forEach((r, i) => {
        for (const [key, urns] of Object.entries(r.propertyDependencies)) {
            resources[i].propertyDependencies[key] = urns.flatMap((u) => (byUrn.has(u) ? [byUrn.get(u)!] : []));
        }
    });
    for (const policy of stackPolicies) {
        const report: ReportViolation = (message, urn) =>
            findings.push({ policy: policy.name, urn: urn ?? "", message });
        await policy.validateStack(
            { resources, stackTags: new Map(), getConfig: <T extends object>() => ({}) as T, notApplicable } as never,
            report,
        );
        applicable.set(policy.name, resources.filter((r) => appliesTo(policy.name, r.type)).length);
    }
    return { findings, applicable };
}

/** Which resource types each policy looks at (for the non-vacuity check). */
function appliesTo(policy: string, type: string): boolean {
    switch (policy) {
        case POLICY_NAMES.sshFromAnywhere:
            return type === TYPES.firewall;
        case POLICY_NAMES.databaseFirewalls:
            return type === TYPES.databaseCluster;
        case POLICY_NAMES.spacesBuckets:
            return type === TYPES.spacesBucket || type === TYPES.spacesBucketPolicy;
        case POLICY_NAMES.prodDropletBackups:
        case POLICY_NAMES.dropletSize:
            return type === TYPES.droplet;
        case POLICY_NAMES.drRegion:
            return type.startsWith("digitalocean:");
        case POLICY_NAMES.commandSecretPatterns:
        case POLICY_NAMES.commandSecretValues:
            return type === TYPES.remoteCommand || type === TYPES.localCommand;
        case POLICY_NAMES.dnsTtl:
            return type === TYPES.dnsRecord;
        default:
            return false;
    }
}

const runs: Record<string, Registration[]> = {};
const secretOutputs: Record<string, string[]> = {};

beforeAll(async () => {
    for (const stack of ["prod", "dr"]) {
        const run = await runProgram(stack, loadStackConfig(stack));
        if (run.error) throw run.error;
        runs[stack] = run.registrations;
        // Stack outputs marked secret: their values must not show up in any command text either.
        const values: string[] = [];
        for (const value of Object.values(run.outputs ?? {})) {
            if (pulumi.Output.isInstance(value) && (await pulumi.isSecret(value))) {
                const v = await new Promise<unknown>((res) => value.apply(res));
                if (typeof v === "string") values.push(v);
            }
        }
        secretOutputs[stack] = values;
    }
}, 120_000);

describe.each(["prod", "dr"])("the %s stack under mocks", (stack) => {
    test("passes every mandatory policy", async () => {
        const { findings } = await runPolicies(runs[stack]);
        const mandatory = findings.filter((f) => MANDATORY_POLICY_NAMES.includes(f.policy));
        expect(mandatory).toEqual([]);
    });

    test("the pass is not vacuous: the firewall, clusters, buckets and droplet were all checked", async () => {
        const { applicable } = await runPolicies(runs[stack]);
        expect(applicable.get(POLICY_NAMES.sshFromAnywhere)).toBeGreaterThanOrEqual(1);
        expect(applicable.get(POLICY_NAMES.databaseFirewalls)).toBe(2); // PostgreSQL and Valkey
        expect(applicable.get(POLICY_NAMES.spacesBuckets)).toBeGreaterThanOrEqual(1);
        expect(applicable.get(POLICY_NAMES.prodDropletBackups)).toBe(1);
        expect(applicable.get(POLICY_NAMES.drRegion)).toBeGreaterThan(5);
    });

    test("no secret stack output appears in any command's text", () => {
        const commands = runs[stack].filter((r) => r.type === TYPES.remoteCommand || r.type === TYPES.localCommand);
        for (const c of commands) {
            const text = ["create", "update", "delete"]
                .map((k) => decrypt(c.inputs[k]))
                .filter((t): t is string => typeof t === "string")
                .join("\n");
            for (const secret of secretOutputs[stack].filter((s) => s.length >= 8))
                expect(text.includes(secret), `${c.name} carries a secret output`).toBe(false);
        }
    });
});

describe("a live prod stack while isolated (config isolate, with a Slack webhook)", () => {
    test("passes every mandatory policy, its breach steps and notice included", async () => {
        const config = loadStackConfig("prod");
        config[`${PROJECT}:isolate`] = "true";
        config[`${PROJECT}:alertSlackWebhookUrl`] =
            "https://hooks.slack.com/services/T0FORTRESS/B0ALERTS/mockSlackWebhookToken42";
        config[`${PROJECT}:alertSlackChannel`] = "#ops-alerts";
        const run = await runProgram("prod", config, {
            outputs: (type, _name, inputs) =>
                type === T.stackReference && inputs.name === `${ORGANIZATION}/${PROJECT}/prod`
                    ? {
                          outputs: { dropletId: "424242", publicIp: "192.0.2.200", credentialsEpoch: 1 },
                          secretOutputNames: [],
                      }
                    : undefined,
        });
        if (run.error) throw run.error;
        const names = run.registrations.map((r) => r.name);
        expect(names).toEqual(
            expect.arrayContaining([
                "fortress-isolation-evidence",
                "fortress-isolation-stop-app",
                "fortress-isolation-notify-start",
            ]),
        );
        const { findings, applicable } = await runPolicies(run.registrations);
        expect(findings.filter((f) => MANDATORY_POLICY_NAMES.includes(f.policy))).toEqual([]);
        expect(applicable.get(POLICY_NAMES.databaseFirewalls)).toBe(2);
    });
});

describe("negative control: the same runner catches a broken prod stack", () => {
    const clone = (): Registration[] => JSON.parse(JSON.stringify(runs.prod)) as Registration[];

    test.each<[string, (regs: Registration[]) => Registration[], string]>([
        [
            "SSH opened to the world",
            (regs) => {
                const fw = regs.find((r) => r.type === TYPES.firewall)!;
                fw.inputs.inboundRules.push({ protocol: "tcp", portRange: "22", sourceAddresses: ["0.0.0.0/0"] });
                return regs;
            },
            POLICY_NAMES.sshFromAnywhere,
        ],
        [
            "the Valkey firewall deleted",
            (regs) => regs.filter((r) => !(r.type === TYPES.databaseFirewall && /valkey|cache/i.test(r.name))),
            POLICY_NAMES.databaseFirewalls,
        ],
        [
            "a bucket made public",
            (regs) => {
                regs.find((r) => r.type === TYPES.spacesBucket)!.inputs.acl = "public-read";
                return regs;
            },
            POLICY_NAMES.spacesBuckets,
        ],
        [
            "droplet backups turned off",
            (regs) => {
                regs.find((r) => r.type === TYPES.droplet)!.inputs.backups = false;
                return regs;
            },
            POLICY_NAMES.prodDropletBackups,
        ],
        [
            "a command with a password in its text",
            (regs) => [
                ...regs,
                {
                    ...regs.find((r) => r.type === TYPES.droplet)!,
                    type: TYPES.remoteCommand,
                    name: "leaky",
                    urn: "urn:pulumi:prod::income-fortress::command:remote:Command::leaky",
                    inputs: { create: "PGPASSWORD=hunter2hunter2 psql -c 'select 1'" },
                    propertyDependencies: {},
                },
            ],
            POLICY_NAMES.commandSecretPatterns,
        ],
    ])("%s", async (_, breakIt, policy) => {
        const { findings } = await runPolicies(breakIt(clone()));
        expect(findings.filter((f) => f.policy === policy).length).toBeGreaterThan(0);
    });

    test("the dr stack's resources moved to prod's region", async () => {
        const regs = JSON.parse(JSON.stringify(runs.dr)) as Registration[];
        const prodRegion = prodRegionFromProject(ROOT);
        for (const r of regs) if (typeof r.inputs.region === "string") r.inputs.region = prodRegion;
        const { findings } = await runPolicies(regs);
        expect(findings.filter((f) => f.policy === POLICY_NAMES.drRegion).length).toBeGreaterThan(0);
    });
});
