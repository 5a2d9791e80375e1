// The real HostProbe: HTTPS from this machine to the drill hostname, and SSH (OpenSSH's
// client) to the droplet as `deployer` with the stack's generated deploy key, running the
// host toolkit that cloud-init installed. Needs a drill stack that is up; the parsers and
// the script texts are pure and unit-tested, and the count script is run for real by the
// rehearsal's integration test against local PostgreSQL.
import { request } from "node:https";
import type { ComposeService, HostProbe, HostProbeFactory, HttpAnswer, StackOutputs } from "./driver";
import { shQuote } from "../cloud-init/shell";
import { HOST_TOOLKIT_LIB } from "./failback-sites";
import { parseManifest, type BackupManifest } from "./manifest";
import { outputString } from "./orchestrate";
import { openSsh } from "./ssh";

/** Where the toolkit's shared library is installed on the host. */
export { HOST_TOOLKIT_LIB };

/**
 * Parses `docker compose ps --all --format json`: a JSON array (Compose < 2.21) or one JSON
 * object per line (newer). Unknown fields are ignored.
 */
export function parseComposePs(text: string): ComposeService[] {
    const trimmed = text.trim();
    if (trimmed === "") return [];
    const rows: unknown[] = trimmed.startsWith("[")
        ? (JSON.parse(trimmed) as unknown[])
        : trimmed
              .split("\n")
              .filter((l) => l.trim())
              .map((l) => JSON.parse(l) as unknown);
    return rows.map((r) => {
        const o = r as Record<string, unknown>;
        const code = o.ExitCode;
        return {
            name: String(o.Service ?? o.Name ?? "?"),
            state: String(o.State ?? "").toLowerCase(),
            health: String(o.Health ?? "").toLowerCase(),
            exitCode:
                typeof code === "number"
                    ? code
                    : code === undefined || code === null || code === ""
                      ? null
                      : Number(code),
        };
    });
}

/**
 * Bash that prints `{"schema.table": exact count}` of the app database, with the toolkit's
 * own counting SQL (the one the manifest's counts come from), reading DATABASE_URL from the
 * toolkit's settings. Run as `bash -s -- '<json array of keys>'` with this on stdin.
 */
export function liveCountsScript(lib: string = HOST_TOOLKIT_LIB): string {
    return [
        "set -euo pipefail",
        "PROG=fortress-drill",
        `source ${shQuote(lib)}`,
        "load_settings",
        "require_setting DATABASE_URL",
        "init_workdir",
        'use_database_url "$DATABASE_URL"',
        'table_counts "$DB_URL" "$1"',
        "",
    ].join("\n");
}

/**
 * The command that lists the vault's manifests on a DR host, pointed at the vault the way the
 * recovery chain's restore is (outputs vaultEndpoint, vaultBucket, restorePrefix).
 */
export function vaultListCommand(vault: { endpoint: string; bucket: string; prefix: string }): string {
    return [
        "sudo",
        `BACKUP_OFFSITE_S3_ENDPOINT=${shQuote(vault.endpoint)}`,
        `BACKUP_OFFSITE_BUCKET=${shQuote(vault.bucket)}`,
        `BACKUP_PREFIX=${shQuote(vault.prefix)}`,
        "fortress-backups --source offsite --json --limit 0",
    ].join(" ");
}

/** One HTTPS GET with certificate checks; never rejects. */
export function httpsGet(url: string, timeoutMs = 10_000): Promise<HttpAnswer> {
    return new Promise((resolve) => {
        let done = false;
        const finish = (a: HttpAnswer) => {
            if (!done) {
                done = true;
                resolve(a);
            }
        };
        try {
            const req = request(url, { method: "GET", timeout: timeoutMs }, (res) => {
                res.resume();
                finish({ status: res.statusCode ?? null, detail: `HTTP ${res.statusCode}` });
            });
            req.on("timeout", () => {
                req.destroy();
                finish({ status: null, detail: `no answer within ${timeoutMs / 1000}s` });
            });
            req.on("error", (e: NodeJS.ErrnoException) =>
                finish({ status: null, detail: `${e.code ? `${e.code}: ` : ""}${e.message}` }),
            );
            req.end();
        } catch (e) {
            finish({ status: null, detail: (e as Error).message });
        }
    });
}

/** Options of {@link sshHostProbe}. */
export interface SshProbeOptions {
    /** Login user (`deployer`). */
    user: string;
    /** Compose project directory on the host. */
    composeDir: string;
    /** ssh binary (default `ssh` on PATH). */
    ssh?: string;
}

/** A probe for a drill stack that is up: SSH to outputs.publicIp with outputs.deployPrivateKey. */
export function sshHostProbe(o: SshProbeOptions): HostProbeFactory {
    return async (outputs: StackOutputs): Promise<HostProbe> => {
        const host = outputString(outputs, "publicIp");
        const key = outputString(outputs, "deployPrivateKey");
        const vault = {
            endpoint: outputString(outputs, "vaultEndpoint"),
            bucket: outputString(outputs, "vaultBucket"),
            prefix: outputString(outputs, "restorePrefix"),
        };
        const session = openSsh({ host, privateKey: key, user: o.user, ...(o.ssh ? { ssh: o.ssh } : {}) });
        const ssh = (command: string, input?: string, what = command): Promise<string> =>
            session.run(command, { ...(input !== undefined ? { input } : {}), what });
        return {
            httpsGet: (url) => httpsGet(url),
            composeServices: async () =>
                parseComposePs(
                    await ssh(
                        `cd ${shQuote(o.composeDir)} && docker compose ps --all --format json`,
                        undefined,
                        "docker compose ps",
                    ),
                ),
            vaultManifests: async () => {
                const list = JSON.parse(await ssh(vaultListCommand(vault), undefined, "fortress-backups")) as unknown[];
                return list.map((m, i): BackupManifest => parseManifest(m, `vault manifest #${i + 1}`));
            },
            liveCounts: async (tables) =>
                JSON.parse(
                    await ssh(
                        `sudo bash -s -- ${shQuote(JSON.stringify(tables))}`,
                        liveCountsScript(),
                        "counting rows",
                    ),
                ) as Record<string, number>,
            close: () => session.close(),
        };
    };
}
