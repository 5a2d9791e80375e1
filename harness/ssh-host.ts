// A throwaway "droplet" for the recovery-chain tests: a real OpenSSH sshd on a loopback
// port, inside a private mount namespace whose /etc, /usr/local, /opt, /var/lib, /home
// and /run are overlays on a tmpfs. Everything the chain writes (credentials.env, the
// .env, the deployer account, the toolkit) lands in those overlays and disappears with
// the namespace; the real /etc and /opt of the test machine are never written.
//
// The host is prepared from the program's own user-data: its write_files are installed
// (the toolkit, backup.env, the sshd drop-in, the systemd units), and its users entry
// makes the deployer account with the authorized keys and sudo rule it lists. runcmd is
// not run (it installs packages and clones the app); the test creates what it leaves
// behind (the checkout folder, the ready marker) and puts stand-ins for the commands a
// droplet has and this machine has not (docker, cloud-init) in /usr/local/bin.
//
// Differences from Ubuntu, on purpose: sshd runs with UsePAM no (pam_loginuid needs a
// writable /proc/self/loginuid, which sandboxes and containers deny), so the deployer's
// password field is `*` instead of cloud-init's locked `!` (without PAM, sshd refuses a
// locked account even for keys). Needs root (unshare, mount, useradd), as CI is.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { spawn, type ChildProcess } from "node:child_process";
import { hostname } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { userDataFiles } from "./user-data";
import { cleanEnv, freePort, makeTempDir, run, runOk, waitForPort, type RunResult } from "./process";

/** Folders overlaid in the namespace; all must exist on the test machine. */
export const OVERLAID = ["/etc", "/usr/local", "/opt", "/var/lib", "/home", "/run"] as const;

export interface SshHostOptions {
    /** The rendered `#cloud-config`: its write_files and users are applied. */
    userData: string;
    /** Executables put in /usr/local/bin (ahead of /usr/bin on every PATH): name → script text. */
    stubs?: Record<string, string>;
    /** /etc/hosts entries: name → IPv4 address (loopback only). */
    hosts?: Record<string, string>;
    /** A PEM CA certificate the host trusts (appended to /etc/ssl/certs/ca-certificates.crt). */
    trustCaPem?: string;
    /** Folders runcmd would have made: path, owner (`user:group`), octal mode. */
    dirs?: { path: string; owner: string; mode: string }[];
    /** Files runcmd would have written (the ready marker). */
    files?: { path: string; content: string; owner?: string; mode?: string }[];
}

interface CloudUser {
    name: string;
    groups?: string[] | string;
    shell?: string;
    sudo?: string;
    ssh_authorized_keys?: string[];
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Throws with what to install or how to run when the machine cannot host the test droplet. */
export function checkSshHostPrerequisites(): void {
    if (typeof process.getuid !== "function" || process.getuid() !== 0) {
        throw new Error(
            "the SSH test host needs root (unshare -m, mount, useradd); CI runs as root, run the test as root",
        );
    }
    const tools = [
        "/usr/sbin/sshd",
        "/usr/bin/ssh",
        "/usr/bin/ssh-keygen",
        "/usr/bin/unshare",
        "/usr/bin/nsenter",
        "/usr/bin/sudo",
        "/usr/bin/curl",
        "/usr/bin/openssl",
    ];
    const missing = tools.filter((t) => !existsSync(t));
    if (missing.length)
        throw new Error(
            `missing on this machine: ${missing.join(", ")}: apt-get install openssh-server openssh-client util-linux sudo curl openssl`,
        );
    const absent = OVERLAID.filter((d) => !existsSync(d));
    if (absent.length) throw new Error(`the SSH test host overlays ${absent.join(", ")}, which do not exist here`);
}

/** The bash script that builds the host inside the new mount namespace, then becomes sshd. */
function setupScript(
    base: string,
    files: { stage: string; path: string; owner: string; mode: string }[],
    users: CloudUser[],
    opts: SshHostOptions,
): string {
    const lines = [
        "set -euo pipefail",
        `base=${q(base)}`,
        // The overlays' upper layers live on a tmpfs that only this namespace sees.
        'mount -t tmpfs -o mode=0700 fortress-host "$base/ns"',
        `for d in ${OVERLAID.join(" ")}; do`,
        "  n=${d//\\//_}",
        '  mkdir -p "$base/ns/$n/up" "$base/ns/$n/work"',
        '  mount -t overlay overlay -o "lowerdir=$d,upperdir=$base/ns/$n/up,workdir=$base/ns/$n/work" "$d"',
        "done",
        "install -d -m 0755 /run/sshd",
    ];
    const hosts = [
        "127.0.0.1 localhost",
        "::1 localhost",
        `127.0.1.1 ${hostname()}`,
        ...Object.entries(opts.hosts ?? {}).map(([name, ip]) => `${ip} ${name}`),
    ];
    lines.push(`printf '%s\\n' ${hosts.map(q).join(" ")} > /etc/hosts`);
    if (opts.trustCaPem) {
        writeFileSync(join(base, "ca.pem"), opts.trustCaPem);
        lines.push("install -d -m 0755 /etc/ssl/certs", 'cat "$base/ca.pem" >> /etc/ssl/certs/ca-certificates.crt');
    }
    for (const u of users) {
        const groups = (Array.isArray(u.groups) ? u.groups : (u.groups ?? "").split(","))
            .map((g) => g.trim())
            .filter(Boolean);
        for (const g of groups) lines.push(`getent group ${q(g)} >/dev/null || groupadd ${q(g)}`);
        lines.push(
            `useradd -m -s ${q(u.shell ?? "/bin/bash")}${groups.length ? ` -G ${q(groups.join(","))}` : ""} ${q(u.name)}`,
        );
        lines.push(`usermod -p '*' ${q(u.name)}`);
        const keys = u.ssh_authorized_keys ?? [];
        writeFileSync(join(base, `keys-${u.name}`), keys.map((k) => `${k}\n`).join(""));
        lines.push(`install -d -m 0700 -o ${q(u.name)} -g ${q(u.name)} /home/${u.name}/.ssh`);
        lines.push(
            `install -m 0600 -o ${q(u.name)} -g ${q(u.name)} "$base/keys-${u.name}" /home/${u.name}/.ssh/authorized_keys`,
        );
        if (u.sudo) {
            lines.push(
                `printf '%s %s\\n' ${q(u.name)} ${q(u.sudo)} >> /etc/sudoers.d/90-cloud-init-users`,
                "chmod 0440 /etc/sudoers.d/90-cloud-init-users",
            );
        }
    }
    for (const f of files) {
        const [user, group] = f.owner.split(":");
        lines.push(
            `install -D -m ${q(f.mode)} -o ${q(user)} -g ${q(group ?? user)} "$base/stage/${f.stage}" ${q(f.path)}`,
        );
    }
    for (const d of opts.dirs ?? []) {
        const [user, group] = d.owner.split(":");
        lines.push(`install -d -m ${q(d.mode)} -o ${q(user)} -g ${q(group ?? user)} ${q(d.path)}`);
    }
    lines.push('exec /usr/sbin/sshd -D -e -f "$base/sshd_config"');
    return `${lines.join("\n")}\n`;
}

export class SshHost {
    private stopped = false;
    private readonly exitHook = () => this.child.kill("SIGKILL");
    /** sshd's log (stderr), for failure messages. */
    log = "";

    constructor(
        /** The sshd process (pid 1 of nothing: the first process of the mount namespace). */
        private readonly child: ChildProcess,
        /** Loopback port sshd listens on. */
        readonly port: number,
        /** known_hosts file pinning the host key. */
        readonly knownHosts: string,
        /** Private working folder (host key, setup, namespace tmpfs mount point). */
        readonly base: string,
        /** A world-writable folder outside the namespace's overlays, shared with the stand-ins (logs, switches). */
        readonly controlDir: string,
    ) {
        process.once("exit", this.exitHook);
    }

    get pid(): number {
        return this.child.pid!;
    }

    /**
     * Runs `command` over SSH as `user` with the private key in `keyFile`, exactly as
     * pulumi-command does: the text is the remote command, `stdin` is written and closed.
     */
    ssh(user: string, keyFile: string, command: string, stdin?: string, timeoutMs = 120_000): Promise<RunResult> {
        return run(
            "ssh",
            [
                "-F",
                "/dev/null",
                "-T",
                "-o",
                "BatchMode=yes",
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                `UserKnownHostsFile=${this.knownHosts}`,
                "-o",
                "LogLevel=ERROR",
                "-o",
                "ConnectTimeout=10",
                "-i",
                keyFile,
                "-p",
                String(this.port),
                `${user}@127.0.0.1`,
                "--",
                command,
            ],
            { env: cleanEnv(), input: stdin ?? "", timeoutMs },
        );
    }

    /** Runs a command as root inside the host's mount namespace (for the test's own checks). */
    root(args: readonly string[], input?: string): Promise<RunResult> {
        return run("nsenter", ["-t", String(this.pid), "-m", "--", ...args], {
            env: cleanEnv(),
            ...(input !== undefined ? { input } : {}),
        });
    }

    /** A file's content as the host sees it. */
    async read(path: string): Promise<string> {
        const r = await this.root(["cat", "--", path]);
        if (r.code !== 0) throw new Error(`cannot read ${path} on the test host: ${r.stderr}`);
        return r.stdout;
    }

    /** `mode owner:group` of a path as the host sees it (e.g. `600 root:root`), or undefined when absent. */
    async stat(path: string): Promise<string | undefined> {
        const r = await this.root(["stat", "-c", "%a %U:%G", "--", path]);
        return r.code === 0 ? r.stdout.trim() : undefined;
    }

    /** Stops sshd (the namespace, its overlays and everything in them go with it) and removes the folders. */
    async stop(): Promise<void> {
        if (this.stopped) return;
        this.stopped = true;
        process.removeListener("exit", this.exitHook);
        if (this.child.exitCode === null && this.child.signalCode === null) {
            const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
            this.child.kill("SIGTERM");
            await exited;
        }
        rmSync(this.base, { recursive: true, force: true });
        rmSync(this.controlDir, { recursive: true, force: true });
    }
}

/** Starts the test host and waits until sshd accepts connections. */
export async function startSshHost(opts: SshHostOptions): Promise<SshHost> {
    checkSshHostPrerequisites();
    const base = makeTempDir("fortress-sshhost");
    const controlDir = makeTempDir("fortress-sshhost-control");
    chmodSync(controlDir, 0o1777);
    mkdirSync(join(base, "ns"));
    mkdirSync(join(base, "stage"));

    const doc = parse(opts.userData) as { users?: (CloudUser | string)[] };
    const staged: { stage: string; path: string; owner: string; mode: string }[] = [];
    const stage = (path: string, content: Buffer | string, owner: string, mode: string) => {
        const name = String(staged.length);
        writeFileSync(join(base, "stage", name), content);
        staged.push({ stage: name, path, owner, mode });
    };
    for (const [path, f] of userDataFiles(opts.userData)) stage(path, f.content, f.owner, f.mode);
    for (const [name, script] of Object.entries(opts.stubs ?? {}))
        stage(`/usr/local/bin/${name}`, script, "root:root", "0755");
    for (const f of opts.files ?? []) stage(f.path, f.content, f.owner ?? "root:root", f.mode ?? "0644");
    const users = (doc.users ?? []).filter((u): u is CloudUser => typeof u === "object" && u !== null && "name" in u);

    await runOk("ssh-keygen", [
        "-q",
        "-t",
        "ed25519",
        "-N",
        "",
        "-C",
        "fortress-test-host",
        "-f",
        join(base, "ssh_host_ed25519_key"),
    ]);
    const port = await freePort();
    writeFileSync(
        join(base, "sshd_config"),
        [
            // The user-data's drop-in first: sshd keeps the first value of each setting.
            "Include /etc/ssh/sshd_config.d/*.conf",
            `Port ${port}`,
            "ListenAddress 127.0.0.1",
            `HostKey ${join(base, "ssh_host_ed25519_key")}`,
            "PidFile none",
            "UsePAM no",
            "StrictModes yes",
            "AuthorizedKeysFile .ssh/authorized_keys",
            "PermitRootLogin no",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "",
        ].join("\n"),
    );
    const hostKey = readFileSync(join(base, "ssh_host_ed25519_key.pub"), "utf8")
        .trim()
        .split(/\s+/)
        .slice(0, 2)
        .join(" ");
    const knownHosts = join(base, "known_hosts");
    writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostKey}\n`);
    writeFileSync(join(base, "setup.sh"), setupScript(base, staged, users, opts));

    const child = spawn("unshare", ["--mount", "--propagation", "private", "--", "bash", join(base, "setup.sh")], {
        env: cleanEnv(),
        stdio: ["ignore", "ignore", "pipe"],
    });
    const host = new SshHost(child, port, knownHosts, base, controlDir);
    child.stderr?.on("data", (b: Buffer) => (host.log += b.toString("utf8")));
    try {
        await Promise.race([
            waitForPort(port, "127.0.0.1", 20_000),
            new Promise((_, reject) =>
                child.once("exit", (code) => reject(new Error(`the test host's setup exited ${code}`))),
            ),
        ]);
    } catch (e) {
        await host.stop().catch(() => undefined);
        throw new Error(`${(e as Error).message}: ${host.log.trim()}`);
    }
    return host;
}

// ---------------------------------------------------------------- TLS for the Spaces endpoints

export interface TestCa {
    /** PEM of the CA certificate (give it to the host's trust store). */
    caPem: string;
    /** Leaf key and certificate for the given names, signed by the CA. */
    keyPem: string;
    certPem: string;
}

/** A P-256 key and a self-signed certificate for `/CN=<cn>`, valid two days, with openssl req's `extra` arguments. */
export async function selfSignedCertificate(cn: string, keyFile: string, certFile: string, extra: string[] = []) {
    const key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    await runOk("openssl", [
        "req",
        "-x509",
        ...key,
        "-days",
        "2",
        "-subj",
        `/CN=${cn}`,
        "-keyout",
        keyFile,
        "-out",
        certFile,
        ...extra,
    ]);
}

/** A throwaway CA and one leaf certificate for `names` (wildcards allowed), made with openssl. */
export async function makeTestCa(names: string[]): Promise<TestCa> {
    const dir = makeTempDir("fortress-ca");
    try {
        const p = (f: string) => join(dir, f);
        await selfSignedCertificate("income-fortress test CA", p("ca.key"), p("ca.pem"), [
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        await runOk("openssl", [
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            `/CN=${names[0]}`,
            "-keyout",
            p("leaf.key"),
            "-out",
            p("leaf.csr"),
        ]);
        writeFileSync(
            p("leaf.ext"),
            `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`,
        );
        await runOk("openssl", [
            "x509",
            "-req",
            "-in",
            p("leaf.csr"),
            "-CA",
            p("ca.pem"),
            "-CAkey",
            p("ca.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            p("leaf.ext"),
            "-out",
            p("leaf.pem"),
        ]);
        return {
            caPem: readFileSync(p("ca.pem"), "utf8"),
            keyPem: readFileSync(p("leaf.key"), "utf8"),
            certPem: readFileSync(p("leaf.pem"), "utf8"),
        };
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

/**
 * A TLS front for plain-HTTP test servers: listens on `address:443` with the test
 * certificate and pipes each connection to the loopback port `route` picks for the SNI
 * name. With /etc/hosts on the test host pointing `nyc3.digitaloceanspaces.com` here, the
 * toolkit reaches s3rver through the exact https:// endpoint user-data configures.
 */
export async function startTlsFront(opts: {
    address: string;
    ca: TestCa;
    route: (servername: string) => number | undefined;
}): Promise<{ close: () => Promise<void> }> {
    const tls = await import("node:tls");
    const net = await import("node:net");
    const sockets = new Set<import("node:net").Socket>();
    const server = tls.createServer({ key: opts.ca.keyPem, cert: opts.ca.certPem }, (client) => {
        const port = opts.route(client.servername || "");
        if (port === undefined) {
            client.destroy();
            return;
        }
        const upstream = net.connect(port, "127.0.0.1");
        sockets.add(client);
        sockets.add(upstream);
        client.on("close", () => sockets.delete(client));
        upstream.on("close", () => sockets.delete(upstream));
        client.on("error", () => upstream.destroy());
        upstream.on("error", () => client.destroy());
        client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(443, opts.address, () => resolve());
    });
    return {
        close: () =>
            new Promise<void>((resolve) => {
                for (const s of sockets) s.destroy();
                server.close(() => resolve());
            }),
    };
}
