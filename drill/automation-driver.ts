// The real StackDriver: Pulumi's Automation API (LocalWorkspace) over this project's
// program (index.ts, through Pulumi.yaml). It needs the pulumi CLI, a logged-in backend and
// DigitalOcean credentials, none of which exist on the machines that build this project, so
// this file is type-checked there but runs only where a drill really runs (.github/workflows/drill.yml).
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { LocalWorkspace, PulumiCommand, Stack, type ConfigMap, type EngineEvent } from "@pulumi/pulumi/automation";
import { errorMessage } from "../tools/cli";
import { parseStackFile } from "../tools/stack-files";
import { drillConfig, qualifiedStackName, type DrillConfig, type DrillOverrides } from "./drill-config";
import { DrillSetupError, type DriverEvent, type OperationHooks, type StackDriver, type StackOutputs } from "./driver";
import { findExecutable } from "./exec";
import { systemClock, type Clock } from "./phases";

/** Options of {@link AutomationStackDriver}. */
export interface AutomationDriverOptions {
    /** Folder with Pulumi.yaml (the repository root). */
    workDir: string;
    /** The DR stack whose config the drill copies (default `dr`). */
    drStack: string;
    /** Stack name and overrides. */
    overrides: DrillOverrides;
    /** Pulumi Cloud organisation of the DR and drill stacks (unset: the backend's default). */
    org?: string;
    /** Environment to check for credentials (default process.env). */
    env?: NodeJS.ProcessEnv;
    /** Clock for event times (default the system clock). */
    clock?: Clock;
    /** Raw CLI output lines, for --verbose. */
    onOutput?: (text: string) => void;
}

/** Maps an engine event to the drill's reduced event (undefined for events it does not use). */
export function toDriverEvent(e: EngineEvent, at: number): DriverEvent | undefined {
    if (e.resourcePreEvent) {
        const m = e.resourcePreEvent.metadata;
        return { kind: "resource-started", at, urn: m.urn, type: m.type, op: m.op };
    }
    if (e.resOutputsEvent) {
        const m = e.resOutputsEvent.metadata;
        return {
            kind: "resource-done",
            at,
            urn: m.urn,
            type: m.type,
            op: m.op,
            ...(m.new?.outputs ? { outputs: m.new.outputs } : {}),
        };
    }
    if (e.resOpFailedEvent) {
        const m = e.resOpFailedEvent.metadata;
        return { kind: "resource-failed", at, urn: m.urn, type: m.type, op: m.op };
    }
    if (e.diagnosticEvent) {
        return {
            kind: "diagnostic",
            at,
            message: e.diagnosticEvent.message,
            severity: e.diagnosticEvent.severity,
            ...(e.diagnosticEvent.urn ? { urn: e.diagnosticEvent.urn } : {}),
        };
    }
    return undefined;
}

/**
 * Whether to pass an interrupt on to the pulumi child (the Automation API sends it SIGINT).
 * A Ctrl-C typed in a terminal reaches the whole foreground process group, pulumi included,
 * and a second SIGINT makes pulumi exit at once, leaving pending operations in the state
 * (pulumi/pulumi#6334, #9103). So a terminal's SIGINT is not sent again; SIGTERM (CI
 * cancelling, `kill`) and a SIGINT without a terminal reach only this process and are.
 */
export function shouldForwardInterrupt(reason: unknown, interactive: boolean): boolean {
    return !(reason === "SIGINT" && interactive);
}

/**
 * Runs `fn` with a signal that follows `signal` when {@link shouldForwardInterrupt} says the
 * pulumi child must hear of the interrupt.
 */
export async function withForwardedInterrupt<T>(
    signal: AbortSignal | undefined,
    fn: (forward: AbortSignal) => Promise<T>,
): Promise<T> {
    const forward = new AbortController();
    const onAbort = () => {
        if (shouldForwardInterrupt(signal?.reason, process.stdin.isTTY === true)) forward.abort(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
        return await fn(forward.signal);
    } finally {
        signal?.removeEventListener("abort", onAbort);
    }
}

/**
 * Where the pulumi CLI is: on PATH, else the installer's default ~/.pulumi/bin. Returns the
 * PulumiCommand root option (undefined: use PATH), or throws DrillSetupError.
 */
export function locatePulumi(env: NodeJS.ProcessEnv): { root?: string; path: string } {
    const onPath = findExecutable("pulumi", env.PATH ?? "");
    if (onPath) return { path: onPath };
    const home = join(env.PULUMI_HOME ?? join(env.HOME ?? homedir(), ".pulumi"));
    const installed = join(home, "bin", "pulumi");
    if (findExecutable("pulumi", join(home, "bin"))) return { root: home, path: installed };
    throw new DrillSetupError(
        "the Pulumi CLI (pulumi) is not installed or not on PATH: install it (curl -fsSL https://get.pulumi.com | sh, or see https://www.pulumi.com/docs/install/) and run again; `npm run rehearse` needs no cloud account",
    );
}

/** Missing DigitalOcean credentials, as one message, or undefined when they are there. */
export function missingCredentials(env: NodeJS.ProcessEnv): string | undefined {
    const missing: string[] = [];
    if (!env.DIGITALOCEAN_TOKEN && !env.DIGITALOCEAN_ACCESS_TOKEN)
        missing.push("DIGITALOCEAN_TOKEN (a write-scoped API token)");
    if (!env.SPACES_ACCESS_KEY_ID || !env.SPACES_SECRET_ACCESS_KEY)
        missing.push("SPACES_ACCESS_KEY_ID and SPACES_SECRET_ACCESS_KEY (the provider needs them for the buckets)");
    return missing.length ? `DigitalOcean credentials are missing: set ${missing.join(", and ")}` : undefined;
}

export class AutomationStackDriver implements StackDriver {
    /** The drill stack as the CLI is given it: `<org>/drill-…` with an organisation. */
    readonly stackName: string;
    private readonly drStack: string;
    private readonly clock: Clock;
    private readonly env: NodeJS.ProcessEnv;
    private pulumi?: PulumiCommand;
    private workspace?: LocalWorkspace;
    private stack?: Stack;
    private config?: DrillConfig;
    private secrets: ConfigMap = {};

    constructor(private readonly opts: AutomationDriverOptions) {
        this.stackName = qualifiedStackName(opts.overrides.stackName, opts.org);
        this.drStack = qualifiedStackName(opts.drStack, opts.org);
        this.clock = opts.clock ?? systemClock;
        this.env = opts.env ?? process.env;
    }

    async preflight(): Promise<Record<string, string>> {
        const where = locatePulumi(this.env);
        const credentials = missingCredentials(this.env);
        if (credentials) throw new DrillSetupError(credentials);
        const stackFile = join(this.opts.workDir, `Pulumi.${this.opts.drStack}.yaml`);
        if (!existsSync(stackFile))
            throw new DrillSetupError(
                `${stackFile} does not exist: pass --dr-stack with the name of the DR stack whose config the drill copies`,
            );
        try {
            this.config = drillConfig(
                parseStackFile(readFileSync(stackFile, "utf8"), stackFile),
                this.opts.drStack,
                this.opts.overrides,
            );
        } catch (e) {
            throw new DrillSetupError(errorMessage(e));
        }
        try {
            this.pulumi = await PulumiCommand.get(where.root ? { root: where.root } : {});
        } catch (e) {
            throw new DrillSetupError(
                `the Pulumi CLI at ${where.path} cannot be used: ${errorMessage(e)}; install a current version (https://www.pulumi.com/docs/install/)`,
            );
        }
        this.workspace = await LocalWorkspace.create({ workDir: this.opts.workDir, pulumiCommand: this.pulumi });
        let user: string;
        try {
            user = (await this.workspace.whoAmI()).user;
        } catch (e) {
            throw new DrillSetupError(
                `pulumi is not logged in to a state backend (${errorMessage(e)}): run pulumi login (Pulumi Cloud, or a Spaces bucket in the DR region) or set PULUMI_ACCESS_TOKEN`,
            );
        }
        if (this.config.secretKeys.length > 0) {
            // Ciphertexts are per stack: decrypt the DR stack's secrets and set them again on the drill stack.
            let all: ConfigMap;
            try {
                all = await this.workspace.getAllConfig(this.drStack);
            } catch (e) {
                throw new DrillSetupError(
                    `Pulumi.${this.opts.drStack}.yaml holds secrets (${this.config.secretKeys.join(", ")}) and the ${this.drStack} stack cannot decrypt them here (${errorMessage(e)}): check PULUMI_CONFIG_PASSPHRASE or your access to the stack`,
                );
            }
            for (const k of this.config.secretKeys) {
                const v = all[k];
                if (!v) throw new DrillSetupError(`secret ${k} of the ${this.drStack} stack could not be read`);
                this.secrets[k] = { value: v.value, secret: true };
            }
        }
        return {
            "pulumi CLI": `${where.path}${this.pulumi.version ? ` ${this.pulumi.version.version}` : ""}`,
            "backend user": user,
            "base config": `Pulumi.${this.opts.drStack}.yaml`,
            "drill overrides": this.config.changes.join("; "),
        };
    }

    async create(): Promise<void> {
        const ws = this.requireWorkspace();
        await ws.createStack(this.stackName);
        try {
            // Typed values go straight into the stack file (lists stay lists, as Pulumi.yaml's
            // declared types require); secrets go through the CLI so they are encrypted for
            // this stack.
            let settings = {};
            try {
                settings = await ws.stackSettings(this.stackName);
            } catch {
                // `stack init` may not have written a file (Pulumi Cloud without a salt).
            }
            await ws.saveStackSettings(this.stackName, { ...settings, config: { ...this.config!.plain } });
            if (Object.keys(this.secrets).length > 0) await ws.setAllConfig(this.stackName, this.secrets);
            this.stack = await Stack.select(this.stackName, ws);
        } catch (e) {
            // An empty stack is all there is: remove it so no stack is left behind.
            await ws.removeStack(this.stackName).catch(() => undefined);
            throw e;
        }
    }

    async up(hooks: OperationHooks): Promise<StackOutputs> {
        return withForwardedInterrupt(hooks.signal, (signal) => this.runUp(hooks, signal));
    }

    private async runUp(hooks: OperationHooks, signal: AbortSignal): Promise<StackOutputs> {
        const result = await this.requireStack().up({
            color: "never",
            onEvent: (e) => {
                const d = toDriverEvent(e, this.clock.now());
                if (d) hooks.onEvent(d);
            },
            ...(this.opts.onOutput ? { onOutput: this.opts.onOutput } : {}),
            signal,
        });
        return result.outputs as StackOutputs;
    }

    async destroy(hooks: OperationHooks & { refresh: boolean }): Promise<void> {
        await this.requireStack().destroy({
            color: "never",
            refresh: hooks.refresh,
            onEvent: (e) => {
                const d = toDriverEvent(e, this.clock.now());
                if (d) hooks.onEvent(d);
            },
            ...(this.opts.onOutput ? { onOutput: this.opts.onOutput } : {}),
        });
    }

    async remove(): Promise<void> {
        await this.requireWorkspace().removeStack(this.stackName);
    }

    private requireWorkspace(): LocalWorkspace {
        if (!this.workspace || !this.config) throw new Error("preflight must run first");
        return this.workspace;
    }

    private requireStack(): Stack {
        if (!this.stack) throw new Error("create must run first");
        return this.stack;
    }
}
