// The mocked-stack tests' view of the program: harness/program-runner.ts runs index.ts
// under pulumi.runtime.setMocks and records what it registers, with config loaded the way
// the Pulumi CLI loads it (harness/mock-cloud.ts). What is vitest's stays here: each run
// starts from a fresh module registry.
import * as pulumi from "@pulumi/pulumi";
import { vi } from "vitest";
import {
    runProgram as runUnderMocks,
    type ProgramRun,
    type Registration,
    type RunOptions,
} from "../../harness/program-runner";

export {
    ORGANIZATION,
    PROJECT,
    ROOT,
    loadStackConfig,
    mockEd25519PublicKey,
    projectDeclarations,
    rawStackConfig,
} from "../../harness/mock-cloud";
export type { ProgramRun, Registration, RunOptions };

/**
 * Runs index.ts for `stack` with the given runtime config under mocks. Each call resets
 * vitest's module registry first, so the program module is evaluated afresh; the
 * Pulumi SDK itself is an external module and keeps its state, which setMocks resets.
 */
export function runProgram(stack: string, config: Record<string, string>, opts: RunOptions = {}): Promise<ProgramRun> {
    vi.resetModules();
    return runUnderMocks(stack, config, opts);
}

// ---------------------------------------------------------------- reading results

/** Resolves an Output (or plain value) from the program's exports. */
export function resolve<T>(value: pulumi.Input<T> | undefined): Promise<T | undefined> {
    return new Promise((res) => pulumi.output(value).apply((v) => res(v as T)));
}

export const byType = (run: ProgramRun, type: string): Registration[] =>
    run.registrations.filter((r) => r.type === type);

export function one(run: ProgramRun, type: string, nameIncludes = ""): Registration {
    const found = byType(run, type).filter((r) => r.name.includes(nameIncludes));
    if (found.length !== 1)
        throw new Error(
            `expected one ${type} named *${nameIncludes}*, found ${found.map((r) => r.name).join(", ") || "none"}`,
        );
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
