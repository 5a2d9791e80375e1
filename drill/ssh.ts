// SSH (OpenSSH's client) to a droplet as the recovery chain logs in: `deployer`, the
// stack's generated deploy key (output deployPrivateKey), the reserved IP (output
// publicIp). The drill's probe and the failback's sites run their commands through it.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCommand } from "./exec";

/** An open SSH connection's runner. */
export interface SshSession {
    /** The address logged in to. */
    readonly host: string;
    /** Runs `command` in the login shell; resolves with stdout, rejects with `what`, the exit code and the last stderr line. */
    run(command: string, opts?: { input?: string; what?: string; timeoutMs?: number }): Promise<string>;
    /** Removes the temporary key file. */
    close(): Promise<void>;
}

export interface SshOptions {
    host: string;
    /** OpenSSH private key text (a secret: written to a mode-600 file, removed by close). */
    privateKey: string;
    /** Login user (`deployer`). */
    user: string;
    /** ssh binary (default `ssh` on PATH). */
    ssh?: string;
}

/** The ssh arguments for one command (pure). */
export function sshArgs(
    o: { keyFile: string; knownHosts: string; user: string; host: string },
    command: string,
): string[] {
    return [
        "-i",
        o.keyFile,
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=20",
        // A fresh droplet's host key is new by definition; it is pinned for this session only.
        "-o",
        "StrictHostKeyChecking=accept-new",
        "-o",
        `UserKnownHostsFile=${o.knownHosts}`,
        `${o.user}@${o.host}`,
        "--",
        command,
    ];
}

/** Opens a session: the key goes into a private temporary folder. */
export function openSsh(o: SshOptions): SshSession {
    const dir = mkdtempSync(join(tmpdir(), "fortress-ssh-"));
    const keyFile = join(dir, "id");
    writeFileSync(keyFile, o.privateKey.endsWith("\n") ? o.privateKey : `${o.privateKey}\n`, { mode: 0o600 });
    const where = { keyFile, knownHosts: join(dir, "known_hosts"), user: o.user, host: o.host };
    return {
        host: o.host,
        async run(command, opts = {}) {
            const r = await runCommand(o.ssh ?? "ssh", sshArgs(where, command), {
                ...(opts.input !== undefined ? { input: opts.input } : {}),
                timeoutMs: opts.timeoutMs ?? 300_000,
            });
            if (r.code !== 0) {
                const lines = r.stderr.trim().split("\n");
                const last = lines.filter((l) => l.includes(": error: ")).pop() ?? lines.pop() ?? "";
                throw new Error(`${opts.what ?? command} on ${o.host} exited ${r.code}: ${last.trim()}`);
            }
            return r.stdout;
        },
        async close() {
            rmSync(dir, { recursive: true, force: true });
        },
    };
}
