// The real FailbackDriver: the Pulumi Automation API over this project's prod and DR stacks,
// SSH to both droplets, and DigitalOcean DNS's own nameservers for the record. It needs the
// pulumi CLI, a logged-in backend, DigitalOcean credentials and SSH access (adminCidrs), none
// of which exist on the machines that build this project: the pure checks below are
// unit-tested, the orchestration runs against fakes and, in the rehearsal, against local
// services; this file itself has never run against DigitalOcean.
import { Resolver } from "node:dns/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { OpMap } from "@pulumi/pulumi/automation";
import { errorMessage } from "../tools/cli";
import { projectDefaults, readProjectFile, readStackFile, stackFileName, type StackConfig } from "../tools/stack-files";
import { locatePulumi, missingCredentials, toDriverEvent, withForwardedInterrupt } from "./automation-driver";
import { composeDirectory, effective, qualifiedStackName } from "./drill-config";
import {
    FailbackSetupError,
    type FailbackDriver,
    type FailbackPlan,
    type FailbackSite,
    type PublicRecord,
} from "./failback";
import { composeApp, shellToolkit, sshShell } from "./failback-sites";
import { httpsGet } from "./host-probe";
import { systemClock, type Clock } from "./phases";
import { openSsh, type SshSession } from "./ssh";

/** Options of {@link AutomationFailbackDriver}. */
export interface FailbackDriverOptions {
    /** Folder with Pulumi.yaml and the stack files (the repository root). */
    workDir: string;
    /** The primary stack, whose record moves back (default prod). */
    prodStack: string;
    /** The DR stack; default: the primary stack's drStack. */
    drStack?: string;
    /** Pulumi Cloud organisation of both stacks. */
    org?: string;
    /** The compose services that write, when not every running service but the TLS proxy. */
    writers?: string[];
    env?: NodeJS.ProcessEnv;
    clock?: Clock;
    /** Raw CLI output, for --verbose. */
    onOutput?: (text: string) => void;
}

/** A stack's output as the Automation API returns it. */
type Outputs = Record<string, { value: unknown; secret: boolean }>;

/**
 * What the primary stack's config must say for a failback: role primary and activeSite dr.
 * Returns the DR stack the record follows (drStack), or throws FailbackSetupError.
 */
export function checkFailbackConfig(
    prod: StackConfig,
    defaults: StackConfig,
    prodStack: string,
    drStackFlag?: string,
): { drStack: string } {
    const file = stackFileName(prodStack);
    const role = String(effective(prod, defaults, "role") ?? "primary");
    if (role !== "primary")
        throw new FailbackSetupError(
            `${file} has role ${role}: the failback moves the record of the primary stack; pass --stack with its name`,
        );
    const site = String(effective(prod, defaults, "activeSite") ?? "primary");
    if (site !== "dr") {
        throw new FailbackSetupError(
            `${file} has activeSite ${site}: the public record already points at ${prodStack}, so there is nothing to fail back (the cutover is pulumi config set activeSite dr --stack ${prodStack} && pulumi up --stack ${prodStack})`,
        );
    }
    const drStack = String(effective(prod, defaults, "drStack") ?? "dr");
    if (drStackFlag !== undefined && drStackFlag !== drStack && drStackFlag !== drStack.split("/").pop()) {
        throw new FailbackSetupError(
            `--dr-stack ${drStackFlag}, but ${file} points the record at ${drStack} (drStack): the failback brings back the writes of the site that serves; drop --dr-stack or fix drStack`,
        );
    }
    return { drStack };
}

/**
 * Whether prod can decrypt the DR site's backups: prod's identity is the secret half of one
 * of prod's ageRecipients, so one of them must be among DR's. Undefined when it can.
 */
export function ageProblem(
    prodRecipients: readonly string[],
    drRecipients: readonly string[],
    prodStack: string,
    drStack: string,
): string | undefined {
    if (drRecipients.length === 0) return undefined;
    if (prodRecipients.some((r) => drRecipients.includes(r))) return undefined;
    return (
        `${drStack}'s backups are encrypted to ageRecipients ${drRecipients.map((r) => `${r.slice(0, 12)}…`).join(", ")}, none of which is ${prodStack}'s, so ${prodStack}'s ageIdentity cannot decrypt the final backup. ` +
        `Add ${prodStack}'s recipient to ${drStack}'s ageRecipients and run pulumi up --stack ${drStack} first`
    );
}

/** The preview's pending changes other than the record's, as one line; undefined when there are none. */
export function pendingChanges(summary: OpMap | undefined): string | undefined {
    const changed = Object.entries(summary ?? {}).filter(([op, n]) => op !== "same" && op !== "read" && (n ?? 0) > 0);
    return changed.length > 0 ? changed.map(([op, n]) => `${n} ${op}`).join(", ") : undefined;
}

/** A string output, or a setup error naming it. */
function output(o: Outputs, name: string, stack: string): string {
    const v = o[name]?.value;
    if (typeof v !== "string" || v === "")
        throw new FailbackSetupError(
            `the ${stack} stack has no ${name} output: run pulumi up --stack ${stack} with this version first`,
        );
    return v;
}

/** The first IPv4 address the zone's own nameservers give for `fqdn` (no resolver cache in between). */
export async function authoritativeAddress(fqdn: string, zone: string): Promise<string | undefined> {
    const r = new Resolver({ timeout: 5000, tries: 2 });
    const servers = new Resolver({ timeout: 5000, tries: 2 });
    const names = await servers.resolveNs(zone);
    const addresses = (await Promise.all(names.map((n) => servers.resolve4(n).catch(() => [] as string[])))).flat();
    if (addresses.length === 0) return undefined;
    r.setServers(addresses);
    try {
        return (await r.resolve4(fqdn))[0];
    } catch {
        return undefined;
    }
}

export class AutomationFailbackDriver implements FailbackDriver {
    private readonly clock: Clock;
    private readonly env: NodeJS.ProcessEnv;

    constructor(private readonly opts: FailbackDriverOptions) {
        this.clock = opts.clock ?? systemClock;
        this.env = opts.env ?? process.env;
    }

    async preflight(): Promise<FailbackPlan> {
        const o = this.opts;
        // The stacks' files first: "nothing to fail back" needs no CLI and no credentials.
        const defaults = projectDefaults(readProjectFile(o.workDir));
        const prodConfig = this.stackFile(o.prodStack);
        const { drStack } = checkFailbackConfig(prodConfig, defaults, o.prodStack, o.drStack);
        const drShort = drStack.split("/").pop()!;
        const drConfig = this.stackFile(drShort);
        const list = (c: StackConfig, k: string) =>
            Array.isArray(effective(c, defaults, k)) ? (effective(c, defaults, k) as unknown[]).map(String) : [];
        const age = ageProblem(
            list(prodConfig, "ageRecipients"),
            list(drConfig, "ageRecipients"),
            o.prodStack,
            drShort,
        );
        if (age) throw new FailbackSetupError(age);

        let where: ReturnType<typeof locatePulumi>;
        try {
            where = locatePulumi(this.env);
        } catch (e) {
            throw new FailbackSetupError(errorMessage(e));
        }
        const credentials = missingCredentials(this.env);
        if (credentials) throw new FailbackSetupError(credentials);

        const { LocalWorkspace, PulumiCommand, Stack } = await import("@pulumi/pulumi/automation");
        let pulumi: Awaited<ReturnType<typeof PulumiCommand.get>>;
        try {
            pulumi = await PulumiCommand.get(where.root ? { root: where.root } : {});
        } catch (e) {
            throw new FailbackSetupError(
                `the Pulumi CLI at ${where.path} cannot be used: ${errorMessage(e)}; install a current version (https://www.pulumi.com/docs/install/)`,
            );
        }
        const ws = await LocalWorkspace.create({ workDir: o.workDir, pulumiCommand: pulumi });
        try {
            await ws.whoAmI();
        } catch (e) {
            throw new FailbackSetupError(
                `pulumi is not logged in to a state backend (${errorMessage(e)}): run pulumi login or set PULUMI_ACCESS_TOKEN`,
            );
        }
        const prodName = qualifiedStackName(o.prodStack, o.org);
        const drName = drStack.includes("/") ? drStack : qualifiedStackName(drStack, o.org);
        const prod = await Stack.select(prodName, ws);
        const dr = await Stack.select(drName, ws);
        const [po, dro] = (await Promise.all([prod.outputs(), dr.outputs()])) as [Outputs, Outputs];
        if (po.activeSite?.value !== "dr") {
            throw new FailbackSetupError(
                `the ${o.prodStack} stack's last update left the record on ${String(po.activeSite?.value ?? "primary")}: run pulumi up --stack ${o.prodStack} (activeSite dr) or there is nothing to fail back`,
            );
        }
        // The failback's own update must change the record and nothing else.
        const preview = await prod.preview({ color: "never" });
        const pending = pendingChanges(preview.changeSummary);
        if (pending)
            throw new FailbackSetupError(
                `${o.prodStack} has pending changes (${pending}) that the failback's pulumi up would carry out with the record: run pulumi up --stack ${o.prodStack} first, then the failback`,
            );

        const fqdn = output(po, "hostname", o.prodStack);
        const domain = String(effective(prodConfig, defaults, "domain"));
        const ttl = Number(effective(prodConfig, defaults, "dnsTtl") ?? 60);
        const healthPath = String(effective(prodConfig, defaults, "healthPath") ?? "/health");
        const sessions: SshSession[] = [];
        const site = async (name: string, config: StackConfig, out: Outputs): Promise<FailbackSite> => {
            const host = output(out, "publicIp", name);
            const session = openSsh({ host, privateKey: output(out, "deployPrivateKey", name), user: "deployer" });
            sessions.push(session);
            try {
                await session.run("true", { what: "ssh", timeoutMs: 60_000 });
            } catch (e) {
                throw new FailbackSetupError(
                    `cannot reach ${name}'s host ${host} over SSH as deployer (${errorMessage(e)}): is this machine's address in ${name}'s adminCidrs?`,
                );
            }
            const shell = sshShell(session);
            return {
                name,
                label: `${name} (${String(effective(config, defaults, "region"))}, ${host})`,
                toolkit: shellToolkit(shell),
                app: composeApp(shell, {
                    composeDir: composeDirectory(config, defaults),
                    proxyService: String(effective(config, defaults, "tlsProxyService") ?? "nginx"),
                    healthUrl: String(effective(config, defaults, "healthUrl") ?? "http://localhost:8000/health"),
                    ...(o.writers ? { writers: o.writers } : {}),
                }),
                close: () => session.close(),
            };
        };
        let prodSite: FailbackSite;
        let drSite: FailbackSite;
        try {
            prodSite = await site(o.prodStack, prodConfig, po);
            drSite = await site(drShort, drConfig, dro);
        } catch (e) {
            await Promise.allSettled(sessions.map((s) => s.close()));
            throw e;
        }
        const primaryAddress = output(po, "publicIp", o.prodStack);
        const clock = this.clock;
        const record: PublicRecord = {
            fqdn,
            ttlSeconds: ttl,
            primaryAddress,
            moveToPrimary: async (hooks) => {
                await prod.setConfig("income-fortress:activeSite", { value: "primary" });
                await withForwardedInterrupt(hooks.signal, (signal) =>
                    prod.up({
                        color: "never",
                        onEvent: (e) => {
                            const d = toDriverEvent(e, clock.now());
                            if (d) hooks.onEvent(d);
                        },
                        ...(o.onOutput ? { onOutput: o.onOutput } : {}),
                        signal,
                    }),
                );
            },
            resolve: () => authoritativeAddress(fqdn, domain),
            publicHealth: () => httpsGet(`https://${fqdn}${healthPath}`),
            manualSteps: (writers) =>
                `To finish: pulumi config get activeSite --stack ${o.prodStack} must say primary; run pulumi up --stack ${o.prodStack}, wait ${ttl} s and check https://${fqdn}${healthPath}. ` +
                `To go back to ${drShort} instead: pulumi config set activeSite dr --stack ${o.prodStack} && pulumi up --stack ${o.prodStack}, then start its writers: ${drSite.app.startHint(writers.split(" ").filter(Boolean))}`,
        };
        return {
            facts: {
                "pulumi CLI": `${where.path}${pulumi.version ? ` ${pulumi.version.version}` : ""}`,
                stacks: `${prodName} (primary), ${drName} (DR)`,
                "public record": `${fqdn} (TTL ${ttl} s): ${String(dro.publicIp?.value ?? "?")} now, ${primaryAddress} after the failback`,
                "freeze method":
                    "docker compose stop of the services that write (every running service but the TLS proxy, unless --writers)",
            },
            prod: prodSite,
            dr: drSite,
            record,
        };
    }

    private stackFile(stack: string): StackConfig {
        const file = join(this.opts.workDir, stackFileName(stack));
        if (!existsSync(file))
            throw new FailbackSetupError(
                `${file} does not exist: run the failback from the repository that holds the stacks' files, or pass --work-dir`,
            );
        try {
            return readStackFile(this.opts.workDir, stack);
        } catch (e) {
            throw new FailbackSetupError(errorMessage(e));
        }
    }
}
