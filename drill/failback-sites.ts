// The failback's sites over a shell on their host: the toolkit half (fortress-* and the
// scripts of failback-scripts.ts) for any shell, the app half for a docker compose project,
// and the two shells: SSH to a droplet, and bash on this machine for the rehearsal, whose
// "hosts" are settings folders beside local PostgreSQL and S3.
import { spawn } from "node:child_process";
import { shQuote } from "../cloud-init/shell";
import type { HttpAnswer } from "./driver";
import type { AppControl, BackupStorage, SiteToolkit } from "./failback";
import {
    appSessionsScript,
    checkServiceName,
    fingerprintScript,
    healthCommand,
    parseBackupId,
    parseFingerprint,
    parseStorage,
    restoreScript,
    storageScript,
    writerServices,
} from "./failback-scripts";
import { parseManifest, parseRestoreOutput, type BackupManifest } from "./manifest";
import type { SshSession } from "./ssh";

/** A shell on a site's host. */
export interface HostShell {
    /** For messages: the host's address or what stands for it. */
    readonly host: string;
    /** Runs a command line; resolves with stdout; rejects with `what`, the exit code and the error line. */
    run(command: string, opts?: { input?: string; what?: string; timeoutMs?: number }): Promise<string>;
    /** What runs a command as root: `sudo ` on a droplet (the deployer may), empty where the shell already may. */
    readonly root: string;
    /** The toolkit's shared library (common.sh) where the shell runs. */
    readonly toolkitLib: string;
    /** How an operator would run `command` there by hand. */
    manual(command: string): string;
}

/** Where the toolkit's shared library is installed on a droplet (cloud-init/toolkit-files.ts). */
export const HOST_TOOLKIT_LIB = "/usr/local/lib/income-fortress/common.sh";

/** A shell on a droplet over SSH, as `deployer`, who may sudo. */
export function sshShell(session: SshSession, user = "deployer"): HostShell {
    return {
        host: session.host,
        run: (command, opts) => session.run(command, opts),
        root: "sudo ",
        toolkitLib: HOST_TOOLKIT_LIB,
        manual: (command) => `ssh ${user}@${session.host} ${shQuote(command)}`,
    };
}

/**
 * bash on this machine with exactly `env` (the rehearsal gives it the toolkit on PATH and
 * FORTRESS_CONFIG_DIR, the site's settings folder). Each command leads its own process
 * group, which `signal` (Ctrl-C) ends with SIGTERM: the toolkit's traps then clean up.
 */
export function localShell(label: string, env: NodeJS.ProcessEnv, toolkitLib: string, signal?: AbortSignal): HostShell {
    return {
        host: label,
        toolkitLib,
        root: "",
        manual: (command) => command,
        run: (command, opts = {}) =>
            new Promise((resolve, reject) => {
                const child = spawn("bash", ["-c", command], { env, stdio: ["pipe", "pipe", "pipe"], detached: true });
                const out: Buffer[] = [];
                const err: Buffer[] = [];
                const group = (sig: NodeJS.Signals) => {
                    try {
                        if (child.pid !== undefined) process.kill(-child.pid, sig);
                    } catch {
                        // already gone
                    }
                };
                const onAbort = () => group("SIGTERM");
                signal?.addEventListener("abort", onAbort, { once: true });
                if (signal?.aborted) onAbort();
                const timer = setTimeout(() => group("SIGKILL"), opts.timeoutMs ?? 600_000);
                child.stdout.on("data", (b: Buffer) => out.push(b));
                child.stderr.on("data", (b: Buffer) => err.push(b));
                child.on("error", (e) => {
                    clearTimeout(timer);
                    signal?.removeEventListener("abort", onAbort);
                    reject(e);
                });
                child.on("close", (code) => {
                    clearTimeout(timer);
                    signal?.removeEventListener("abort", onAbort);
                    if (code === 0) return resolve(Buffer.concat(out).toString("utf8"));
                    const lines = Buffer.concat(err).toString("utf8").trim().split("\n");
                    const last = lines.filter((l) => l.includes(": error: ")).pop() ?? lines.pop() ?? "";
                    reject(new Error(`${opts.what ?? command} on ${label} exited ${code}: ${last.trim()}`));
                });
                child.stdin.on("error", () => undefined);
                child.stdin.end(opts.input ?? "");
            }),
    };
}

/** The toolkit half of a site: fortress-* and the failback's scripts, run as root through `shell`. */
export function shellToolkit(shell: HostShell): SiteToolkit {
    const root = (command: string) => `${shell.root}${command}`;
    const script = (text: string, what: string) => shell.run(root("bash -s"), { input: text, what });
    return {
        appSessions: async () => {
            const out = (await script(appSessionsScript(shell.toolkitLib), "counting the app's sessions")).trim();
            if (!/^\d+$/.test(out))
                throw new Error(
                    `counting the app's sessions on ${shell.host} printed ${JSON.stringify(out.slice(0, 60))}`,
                );
            return Number(out);
        },
        backup: async (tag) =>
            parseBackupId(
                await shell.run(root(`fortress-backup --tag ${shQuote(tag)}`), {
                    what: "fortress-backup",
                    timeoutMs: 3_600_000,
                }),
                `fortress-backup on ${shell.host}`,
            ),
        manifests: async (source) => {
            const list = JSON.parse(
                await shell.run(root(`fortress-backups --source ${source} --json --limit 0`), {
                    what: `fortress-backups --source ${source}`,
                }),
            ) as unknown[];
            return list.map(
                (m, i): BackupManifest => parseManifest(m, `${source} manifest #${i + 1} on ${shell.host}`),
            );
        },
        storage: async () =>
            parseStorage(
                await script(storageScript(shell.toolkitLib), "reading the backup settings"),
                `the backup settings on ${shell.host}`,
            ),
        restoreReplacing: async (from: BackupStorage, backupId) =>
            parseRestoreOutput(
                await shell.run(root("bash -s"), {
                    input: restoreScript(from, backupId),
                    what: "fortress-restore --force",
                    timeoutMs: 6 * 3_600_000,
                }),
            ),
        fingerprint: async () =>
            parseFingerprint(
                await script(fingerprintScript(shell.toolkitLib), "the md5 of every table"),
                `the fingerprint on ${shell.host}`,
            ),
    };
}

/** Options of {@link composeApp}. */
export interface ComposeAppOptions {
    /** The compose project directory on the host. */
    composeDir: string;
    /** The service that serves TLS (config tlsProxyService): it holds no data and keeps answering. */
    proxyService: string;
    /** The services that write, when not every running service but the proxy. */
    writers?: string[];
    /** The app's health URL on the host itself (config healthUrl). */
    healthUrl: string;
}

/**
 * The app half of a droplet's site: `docker compose stop` and `start` of the services that
 * write. Stopping them, not a maintenance mode, is the freeze: it needs nothing from the
 * application, and a stopped process cannot write.
 */
export function composeApp(shell: HostShell, o: ComposeAppOptions): AppControl {
    const inDir = (command: string) => `cd ${shQuote(o.composeDir)} && ${command}`;
    const services = (list: string[]) => list.map(checkServiceName).join(" ");
    return {
        // The running ones only: starting them again after a rollback must not run a one-off service.
        writers: async () =>
            o.writers
                ? o.writers.map(checkServiceName)
                : writerServices(
                      (
                          await shell.run(inDir("docker compose ps --services --status running"), {
                              what: "docker compose ps",
                          })
                      ).split("\n"),
                      o.proxyService,
                  ),
        stop: async (list) => {
            if (list.length > 0)
                await shell.run(inDir(`docker compose stop ${services(list)}`), {
                    what: "docker compose stop",
                    timeoutMs: 600_000,
                });
        },
        start: async (list) => {
            if (list.length > 0)
                await shell.run(inDir(`docker compose start ${services(list)}`), {
                    what: "docker compose start",
                    timeoutMs: 600_000,
                });
        },
        up: async () =>
            void (await shell.run(inDir("docker compose up -d"), {
                what: "docker compose up -d",
                timeoutMs: 1_800_000,
            })),
        health: async (): Promise<HttpAnswer> => {
            try {
                const code = (await shell.run(healthCommand(o.healthUrl), { what: "curl" })).trim();
                return /^[1-5]\d\d$/.test(code)
                    ? { status: Number(code), detail: `HTTP ${code} from ${o.healthUrl}` }
                    : { status: null, detail: `no answer from ${o.healthUrl}` };
            } catch (e) {
                return { status: null, detail: (e as Error).message };
            }
        },
        startHint: (list) => shell.manual(inDir(`docker compose start ${list.join(" ")}`)),
    };
}
