// The small interfaces the drill orchestration runs against. automation-driver.ts and
// host-probe.ts implement them for real (Pulumi Automation API, HTTPS and SSH); the unit
// tests implement them with fakes.
import type { BackupManifest } from "./manifest";

/** Stack outputs as the Automation API returns them. */
export type StackOutputs = Record<string, { value: unknown; secret: boolean }>;

/** A progress event of an `up` or `destroy`, reduced to what the drill uses. */
export interface DriverEvent {
    kind: "resource-started" | "resource-done" | "resource-failed" | "diagnostic";
    /** When it happened (epoch ms). */
    at: number;
    /** Resource URN and type token (resource events). */
    urn?: string;
    type?: string;
    /** Engine operation: create, update, delete, replace, same, ... */
    op?: string;
    /** Diagnostic text (diagnostic events), or the failure. */
    message?: string;
    severity?: string;
    /** Outputs of a finished resource (secrets masked by the engine). */
    outputs?: Record<string, unknown>;
}

/** Callbacks and cancellation for a long operation. */
export interface OperationHooks {
    onEvent: (e: DriverEvent) => void;
    /** Aborting asks the operation to stop (the Automation API sends SIGINT to pulumi). */
    signal?: AbortSignal;
}

/** Thrown by preflight when a prerequisite is missing: the command exits 2 with the message. */
export class DrillSetupError extends Error {}

/** An ephemeral stack: create it, bring it up, tear it down. */
export interface StackDriver {
    /** The drill stack's name, e.g. `drill-20260301-060000`. */
    readonly stackName: string;
    /**
     * Checks prerequisites (the pulumi CLI, credentials, the DR stack's config) before
     * anything is created. Returns facts for the report. Throws DrillSetupError.
     */
    preflight(): Promise<Record<string, string>>;
    /** Creates the stack and sets its config. Leaves no stack behind when it throws. */
    create(): Promise<void>;
    /** `pulumi up`; resolves with the stack outputs. */
    up(hooks: OperationHooks): Promise<StackOutputs>;
    /** `pulumi destroy`; `refresh` first after a failed or interrupted up. */
    destroy(hooks: OperationHooks & { refresh: boolean }): Promise<void>;
    /** `pulumi stack rm` (after destroy). */
    remove(): Promise<void>;
}

/** A service of `docker compose ps`. */
export interface ComposeService {
    name: string;
    /** running, exited, restarting, ... */
    state: string;
    /** healthy, unhealthy, starting, or "" when the service has no healthcheck. */
    health: string;
    exitCode: number | null;
}

/** Answer of one HTTPS request. */
export interface HttpAnswer {
    /** HTTP status, or null when there was no answer (DNS, TLS, connection). */
    status: number | null;
    /** One line: `HTTP 200`, `certificate has expired`, `getaddrinfo ENOTFOUND …`. */
    detail: string;
}

/** What the drill checks on the recovered platform, through its outputs and SSH. */
export interface HostProbe {
    /** One GET of the URL (no retries: the orchestrator polls). */
    httpsGet(url: string): Promise<HttpAnswer>;
    /** The compose project's services. */
    composeServices(): Promise<ComposeService[]>;
    /** Manifests in the vault the DR stack restores from, newest first. */
    vaultManifests(): Promise<BackupManifest[]>;
    /** Exact row counts of these `schema.table` keys in the app database now. */
    liveCounts(tables: string[]): Promise<Record<string, number>>;
    /** Releases the probe (temporary key files). */
    close(): Promise<void>;
}

/** Makes a probe for a stack that is up. */
export type HostProbeFactory = (outputs: StackOutputs) => Promise<HostProbe>;
