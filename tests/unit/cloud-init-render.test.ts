// The rendered #cloud-config, parsed back with the yaml package and checked for what
// the host needs (docs/host-toolkit.md; runbook phases 1-2) and what it must never
// contain (secrets). Schema validity against real cloud-init is in tests/integration.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { AGE_IDENTITY_FILE, READY_MARKER, SETTINGS_FILE, SSHD_DROP_IN, TOOLKIT_BUNDLE } from "../../cloud-init/host";
import {
    backupSettingsFile,
    bootstrapCommands,
    DOCKER_APT_KEY_FINGERPRINT,
    PGDG_APT_KEY_FINGERPRINT,
    renderUserData,
    USER_DATA_LIMIT_BYTES,
    type UserDataArgs,
} from "../../cloud-init/render";
import { shQuote } from "../../cloud-init/shell";
import { loadToolkitFiles, type ToolkitFile } from "../../cloud-init/toolkit-files";
import { userDataFiles } from "../../harness/user-data";
import {
    AGE_RECIPIENT as AGE_A,
    ED25519_KEY as KEY_A,
    FAKE_TOOLKIT,
    OTHER_AGE_RECIPIENT as AGE_B,
    prodLikeArgs,
    RSA_KEY,
} from "../support/user-data-args";

const KEY_B = `${RSA_KEY} oncall@example`;

/** Two operators' keys and two age recipients, so lists are rendered as lists. */
function prodArgs(overrides: Partial<UserDataArgs> = {}): UserDataArgs {
    return prodLikeArgs({
        deployerSshKeys: [KEY_A, KEY_B],
        backup: { ...prodLikeArgs().backup, ageRecipients: [AGE_A, AGE_B] },
        ...overrides,
    });
}

interface WriteFileEntry {
    path: string;
    content: string;
    permissions: string;
    owner: string;
    encoding?: string;
    defer?: boolean;
}

function parsed(args: UserDataArgs) {
    const text = renderUserData(args);
    return {
        text,
        doc: parse(text) as Record<string, unknown> & {
            write_files: WriteFileEntry[];
            runcmd: string[];
            packages: string[];
        },
    };
}

function fileAt(doc: { write_files: WriteFileEntry[] }, path: string): WriteFileEntry {
    const f = doc.write_files.find((w) => w.path === path);
    if (f === undefined) throw new Error(`user-data does not write ${path}`);
    return f;
}

function decoded(entry: WriteFileEntry): string {
    if (entry.encoding === undefined) return entry.content;
    expect(entry.encoding).toBe("gz+b64");
    return gunzipSync(Buffer.from(entry.content, "base64")).toString("utf8");
}

/** The toolkit as the host ends up with it (path -> content and octal mode). */
function installedToolkit(text: string, paths: readonly string[]): Map<string, { content: string; mode: string }> {
    const files = userDataFiles(text);
    return new Map(
        paths.map((p) => [
            p,
            { content: files.get(p)?.content.toString("utf8") ?? "(missing)", mode: files.get(p)?.mode ?? "(missing)" },
        ]),
    );
}

/** Reads KEY='value' lines (the only form formatEnvFile writes). */
function envEntries(text: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const line of text.split("\n")) {
        const m = /^([A-Z_][A-Z0-9_]*)='([^']*)'$/.exec(line);
        if (m) out[m[1]] = m[2];
        else expect(line === "" || line.startsWith("#"), `unexpected settings line ${line}`).toBe(true);
    }
    return out;
}

/** Patterns of real credentials; user-data is readable from droplet metadata. */
const SECRET_PATTERNS: [string, RegExp][] = [
    ["age identity", /AGE-SECRET-KEY-1[0-9A-Z]{20,}/],
    ["private key block", /-----BEGIN [A-Z ]*PRIVATE KEY-----/],
    ["URL with a password", /[a-z][a-z0-9+.-]*:\/\/[^\s:@/'"]+:[^\s@/'"$]+@/i],
    ["AWS-style access key id", /\b(AKIA|ASIA)[0-9A-Z]{16}\b/],
    ["DigitalOcean token", /\bdo[opr]_v1_[0-9a-f]{64}\b/],
    ["GitHub token", /\bgh[pousr]_[A-Za-z0-9]{30,}\b/],
    ["secret assigned a literal", /\b[A-Z_]*(SECRET|PASSWORD|TOKEN|DATABASE_URL)[A-Z_]*=['"]?[^\s'"$]{8,}/],
];

/** Documentation placeholders (`postgresql://user:password@host/db` in --help) are not secrets. */
const PLACEHOLDER = /:(password|pass|secret|changeme|x+|\*+|<[^>]*>)@/gi;

function secretsIn(text: string): string[] {
    const scrubbed = text.replace(PLACEHOLDER, "@");
    return SECRET_PATTERNS.filter(([, re]) => re.test(scrubbed)).map(([name]) => name);
}

describe("renderUserData: document shape", () => {
    it("starts with exactly #cloud-config on the first line", () => {
        const { text } = parsed(prodArgs());
        expect(text.split("\n")[0]).toBe("#cloud-config");
        expect(text.startsWith("#cloud-config\n")).toBe(true);
    });

    it("is deterministic: same input, byte-identical output, whatever the key order or object identity", () => {
        const a = renderUserData(prodArgs());
        const shuffled = JSON.parse(JSON.stringify(prodArgs())) as UserDataArgs;
        const reordered: UserDataArgs = {
            toolkitFiles: shuffled.toolkitFiles.map((f) => ({
                permissions: f.permissions,
                content: f.content,
                path: f.path,
            })),
            backup: { ...shuffled.backup },
            app: {
                dir: shuffled.app.dir,
                composeSubdir: shuffled.app.composeSubdir,
                ref: shuffled.app.ref,
                repoUrl: shuffled.app.repoUrl,
            },
            verifySchedule: shuffled.verifySchedule,
            backupSchedule: shuffled.backupSchedule,
            postgresMajorVersion: shuffled.postgresMajorVersion,
            deployerSshKeys: shuffled.deployerSshKeys,
            environment: shuffled.environment,
        };
        expect(renderUserData(reordered)).toBe(a);
        expect(renderUserData(prodArgs({ environment: "dr" }))).not.toBe(a);
    });
});

describe("renderUserData: users and SSH", () => {
    it("creates deployer in docker and sudo with exactly the given keys, and no other account", () => {
        const { doc } = parsed(prodArgs());
        const users = doc.users as Record<string, unknown>[];
        expect(users).toHaveLength(1);
        const [deployer] = users;
        expect(deployer.name).toBe("deployer");
        expect(deployer.groups).toEqual(expect.arrayContaining(["docker", "sudo"]));
        expect(deployer.ssh_authorized_keys).toEqual([KEY_A, KEY_B]);
        expect(deployer.lock_passwd).toBe(true);
        expect(deployer.shell).toBe("/bin/bash");
    });

    it("disables password and root logins in cloud-init and in an sshd drop-in", () => {
        const { doc } = parsed(prodArgs());
        expect(doc.ssh_pwauth).toBe(false);
        expect(doc.disable_root).toBe(true);
        const dropIn = fileAt(doc, SSHD_DROP_IN);
        const lines = dropIn.content.split("\n");
        expect(lines).toContain("PermitRootLogin no");
        expect(lines).toContain("PasswordAuthentication no");
        expect(lines).toContain("KbdInteractiveAuthentication no");
        expect(doc.runcmd).toContain("systemctl try-reload-or-restart ssh.service");
    });

    it("turns on unattended security upgrades after the packages are installed", () => {
        const { doc } = parsed(prodArgs());
        expect(doc.packages).toContain("unattended-upgrades");
        const periodic = fileAt(doc, "/etc/apt/apt.conf.d/20auto-upgrades");
        expect(periodic.defer).toBe(true);
        expect(periodic.content).toContain('APT::Periodic::Update-Package-Lists "1";');
        expect(periodic.content).toContain('APT::Periodic::Unattended-Upgrade "1";');
    });
});

describe("renderUserData: packages", () => {
    it.each(["15", "16", "17"])(
        "PostgreSQL %s: installs postgresql-client-%s from PGDG and checks its pg_dump",
        (major) => {
            const { doc } = parsed(prodArgs({ postgresMajorVersion: major }));
            const clients = doc.packages.filter((p) => p.startsWith("postgresql-client"));
            expect(clients).toEqual([`postgresql-client-${major}`]);
            expect(doc.runcmd).toContain(`/usr/lib/postgresql/${major}/bin/pg_dump --version`);
        },
    );

    it("installs Docker with compose and the toolkit's tools", () => {
        const { doc } = parsed(prodArgs());
        expect(doc.packages).toEqual(
            expect.arrayContaining([
                "docker-ce",
                "docker-ce-cli",
                "containerd.io",
                "docker-compose-plugin",
                "rclone",
                "age",
                "zstd",
                "jq",
                "git",
                "curl",
            ]),
        );
        expect(doc.package_update).toBe(true);
    });

    it("adds Docker's and PGDG's repositories signed by pinned key fingerprints", () => {
        const { doc } = parsed(prodArgs());
        const sources = (doc.apt as { sources: Record<string, { source: string; keyid: string; keyserver: string }> })
            .sources;
        expect(Object.keys(sources).sort()).toEqual(["docker", "pgdg"]);
        expect(sources.docker.source).toMatch(
            /^deb \[signed-by=\$KEY_FILE\] https:\/\/download\.docker\.com\/linux\/ubuntu \$RELEASE stable$/,
        );
        expect(sources.pgdg.source).toMatch(
            /^deb \[signed-by=\$KEY_FILE\] https:\/\/apt\.postgresql\.org\/pub\/repos\/apt \$RELEASE-pgdg main$/,
        );
        expect(sources.docker.keyid).toBe(DOCKER_APT_KEY_FINGERPRINT);
        expect(sources.pgdg.keyid).toBe(PGDG_APT_KEY_FINGERPRINT);
        for (const s of Object.values(sources)) {
            // A full 40-hex fingerprint, never a short id that another key can collide with.
            expect(s.keyid).toMatch(/^[0-9A-F]{40}$/);
            expect(s.keyserver).toMatch(/^hkps:\/\//);
        }
    });
});

describe("renderUserData: toolkit, settings, timers", () => {
    it("writes every toolkit file with its content and mode", () => {
        const { doc } = parsed(prodArgs());
        for (const f of FAKE_TOOLKIT) {
            const w = fileAt(doc, f.path);
            expect(decoded(w)).toBe(f.content);
            expect(w.permissions).toBe(f.permissions);
            expect(w.owner).toBe("root:root");
        }
    });

    it("writes the non-secret settings file from args.backup", () => {
        const args = prodArgs();
        const { doc } = parsed(args);
        const settings = fileAt(doc, SETTINGS_FILE);
        expect(settings.permissions).toMatch(/^06[04]0$|^0644$/);
        expect(settings.content).toContain("for the prod environment");
        expect(envEntries(settings.content)).toEqual({
            BACKUP_S3_ENDPOINT: args.backup.s3Endpoint,
            BACKUP_BUCKET: args.backup.bucket,
            BACKUP_PREFIX: args.backup.prefix,
            BACKUP_OFFSITE_S3_ENDPOINT: args.backup.offsiteS3Endpoint,
            BACKUP_OFFSITE_BUCKET: args.backup.offsiteBucket,
            BACKUP_AGE_RECIPIENTS: `${AGE_A} ${AGE_B}`,
            BACKUP_AGE_IDENTITY_FILE: AGE_IDENTITY_FILE,
        });
    });

    it("leaves the offsite settings empty when there is no vault", () => {
        const base = prodArgs();
        const text = backupSettingsFile("dr", {
            ...base.backup,
            offsiteBucket: "",
            offsiteS3Endpoint: "",
            ageRecipients: [],
        });
        const env = envEntries(text);
        expect(env.BACKUP_OFFSITE_BUCKET).toBe("");
        expect(env.BACKUP_OFFSITE_S3_ENDPOINT).toBe("");
        expect(env.BACKUP_AGE_RECIPIENTS).toBe("");
    });

    it.each([
        ["hourly", "weekly"],
        ["*:0/30", "Sun *-*-* 08:00:00 UTC"],
    ])("installs timers for backup %j and verify %j, both Persistent", (backupSchedule, verifySchedule) => {
        const { doc } = parsed(prodArgs({ backupSchedule, verifySchedule }));
        const backupTimer = fileAt(doc, "/etc/systemd/system/fortress-backup.timer").content;
        const verifyTimer = fileAt(doc, "/etc/systemd/system/fortress-verify.timer").content;
        expect(backupTimer.split("\n")).toEqual(
            expect.arrayContaining([`OnCalendar=${backupSchedule}`, "Persistent=true"]),
        );
        expect(verifyTimer.split("\n")).toEqual(
            expect.arrayContaining([`OnCalendar=${verifySchedule}`, "Persistent=true"]),
        );
        expect(fileAt(doc, "/etc/systemd/system/fortress-backup.service").content).toContain(
            "ExecStart=/usr/local/bin/fortress-backup",
        );
        expect(fileAt(doc, "/etc/systemd/system/fortress-verify.service").content).toContain(
            "ExecStart=/usr/local/bin/fortress-verify",
        );
    });

    it("defaults to an hourly backup and a weekly verify", () => {
        const { doc } = parsed(prodArgs({ backupSchedule: undefined, verifySchedule: undefined }));
        expect(fileAt(doc, "/etc/systemd/system/fortress-backup.timer").content).toContain("OnCalendar=hourly\n");
        expect(fileAt(doc, "/etc/systemd/system/fortress-verify.timer").content).toContain("OnCalendar=weekly\n");
    });
});

describe("renderUserData: runcmd", () => {
    const { doc } = parsed(prodArgs());
    const cmds = doc.runcmd;
    const at = (pattern: RegExp) => {
        const i = cmds.findIndex((c) => pattern.test(c));
        expect(i, `no runcmd line matches ${pattern}`).toBeGreaterThanOrEqual(0);
        return i;
    };

    it("stops at the first failure, so a failed step never leaves a ready marker", () => {
        expect(cmds[0]).toBe("set -eu");
    });

    it("enables both timers after a daemon-reload", () => {
        expect(at(/^systemctl daemon-reload$/)).toBeLessThan(
            at(/^systemctl enable --now fortress-backup\.timer fortress-verify\.timer$/),
        );
    });

    it("clones as deployer into app.dir, then checks out the pinned ref detached", () => {
        const mkdir = at(/^install -d -o deployer -g deployer -m 0750 \/opt\/income-platform$/);
        const clone = at(
            /^runuser -u deployer -- git clone .*-- https:\/\/github\.com\/AlbertoDBP\/Agentic\.git \/opt\/income-platform$/,
        );
        const checkout = at(
            /^runuser -u deployer -- git -C \/opt\/income-platform .*checkout --quiet --detach v1\.0\.0$/,
        );
        expect(mkdir).toBeLessThan(clone);
        expect(clone).toBeLessThan(checkout);
    });

    it("pre-pulls images in the compose directory without failing the boot when the pull fails", () => {
        const pull = cmds[at(/docker compose pull/)];
        expect(pull).toContain("/opt/income-platform/income-platform");
        expect(pull).toMatch(/ \|\| echo .*>&2$/);
        expect(at(/docker compose pull/)).toBeGreaterThan(at(/checkout --quiet --detach/));
    });

    it("writes the ready marker as the very last step, and nowhere earlier", () => {
        expect(cmds[cmds.length - 1]).toBe(`mv -f ${READY_MARKER}.tmp ${READY_MARKER}`);
        const mentions = cmds.map((c, i) => (c.includes(READY_MARKER) ? i : -1)).filter((i) => i >= 0);
        expect(mentions).toEqual([cmds.length - 2, cmds.length - 1]);
    });

    it("is one valid POSIX sh script, as cloud-init runs it", () => {
        const script = `#!/bin/sh\n${bootstrapCommands(prodArgs()).join("\n")}\n`;
        const r = spawnSync("sh", ["-n"], { input: script, encoding: "utf8" });
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        const broken = spawnSync("sh", ["-n"], { input: `${script}if then\n`, encoding: "utf8" });
        expect(broken.status).not.toBe(0);
    });
});

describe("shQuote", () => {
    it.each(["plain-word_1.2/x", "two words", "it's", "$(reboot)", "`x`", 'a"b', ""])(
        "round-trips %j through sh",
        (word) => {
            const r = spawnSync("sh", ["-c", `printf %s ${shQuote(word)}`], { encoding: "utf8" });
            expect(r.stdout).toBe(word);
        },
    );
});

describe("renderUserData: secrets never enter user-data", () => {
    it("the detector finds each kind of planted secret (so the scan can fail)", () => {
        const clean = renderUserData(prodArgs());
        const planted: [string, string][] = [
            ["age identity", "AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSQ4W2JQ"],
            ["private key block", "-----BEGIN OPENSSH PRIVATE KEY-----"],
            ["URL with a password", "DB=postgresql://doadmin:s3cr3tpassw0rd@db.example.com:25060/app"],
            ["AWS-style access key id", "AKIAIOSFODNN7EXAMPLE"],
            ["secret assigned a literal", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"],
        ];
        for (const [name, secret] of planted) {
            expect(secretsIn(`${clean}\n${secret}\n`)).toContain(name);
        }
        expect(secretsIn("# DATABASE_URL  postgresql://user:password@host:port/db")).toEqual([]);
    });

    it("the rendered document, with the real toolkit decoded, has none", () => {
        const text = renderUserData(prodArgs({ toolkitFiles: loadToolkitFiles() }));
        const doc = parse(text) as { write_files: WriteFileEntry[] };
        expect(secretsIn(text)).toEqual([]);
        for (const f of doc.write_files) {
            expect(secretsIn(decoded(f)), f.path).toEqual([]);
        }
    });

    it.each<[string, Partial<UserDataArgs>, RegExp]>([
        [
            "a token in the repo URL",
            {
                app: {
                    ...prodArgs().app,
                    repoUrl: "https://ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/x/y.git",
                },
            },
            /app\.repoUrl contains credentials/,
        ],
        [
            "keys in the endpoint",
            { backup: { ...prodArgs().backup, s3Endpoint: "https://DO00ABC:secret@nyc3.digitaloceanspaces.com" } },
            /backup\.s3Endpoint contains credentials/,
        ],
        [
            "the age identity as a recipient",
            { backup: { ...prodArgs().backup, ageRecipients: ["AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQ"] } },
            /SECRET key/,
        ],
        ["a private SSH key", { deployerSshKeys: ["-----BEGIN OPENSSH PRIVATE KEY-----"] }, /PRIVATE key/],
    ])("refuses %s", (_label, overrides, message) => {
        expect(() => renderUserData(prodArgs(overrides))).toThrow(message);
    });
});

describe("renderUserData: input validation", () => {
    it("reports every problem at once, on one line", () => {
        let message = "";
        try {
            renderUserData(
                prodArgs({
                    deployerSshKeys: [],
                    postgresMajorVersion: "16.2",
                    app: { repoUrl: "https://github.com/x/y.git", ref: "v1;reboot", dir: "opt/app" },
                }),
            );
        } catch (e) {
            message = (e as Error).message;
        }
        expect(message).toMatch(/^invalid user-data settings: /);
        expect(message).not.toContain("\n");
        for (const fragment of ["deployerSshKeys is empty", "postgresMajorVersion", "app.ref", "app.dir"]) {
            expect(message).toContain(fragment);
        }
    });

    it("requires the commands the timers run", () => {
        expect(() => renderUserData(prodArgs({ toolkitFiles: [] }))).toThrow(
            /toolkitFiles lacks \/usr\/local\/bin\/fortress-backup.*loadToolkitFiles/,
        );
    });

    it("requires the offsite bucket and endpoint together", () => {
        expect(() => renderUserData(prodArgs({ backup: { ...prodArgs().backup, offsiteBucket: "" } }))).toThrow(
            /offsiteBucket and backup\.offsiteS3Endpoint must both be set or both be empty/,
        );
    });

    it("refuses a toolkit file that would overwrite one the renderer writes", () => {
        const clash = { path: SETTINGS_FILE, content: "X='1'\n", permissions: "0644" };
        expect(() => renderUserData(prodArgs({ toolkitFiles: [...FAKE_TOOLKIT, clash] }))).toThrow(
            /backup\.env, which the renderer writes itself/,
        );
    });

    it("refuses unsafe toolkit paths and modes", () => {
        const bad = [...FAKE_TOOLKIT, { path: "/usr/local/bin/../../etc/passwd", content: "", permissions: "755" }];
        expect(() => renderUserData(prodArgs({ toolkitFiles: bad }))).toThrow(
            /absolute and normalised.*permissions "755"/,
        );
    });
});

describe("renderUserData: size", () => {
    it("fits DigitalOcean's 64 KiB limit with the real toolkit files, all of them intact", () => {
        const toolkit = loadToolkitFiles();
        const commands = [
            "fortress-backup",
            "fortress-restore",
            "fortress-verify",
            "fortress-backups",
            "fortress-status",
        ].map((c) => `/usr/local/bin/${c}`);
        expect(toolkit.map((f) => f.path)).toEqual(expect.arrayContaining(commands));
        const text = renderUserData(prodArgs({ toolkitFiles: toolkit }));
        expect(Buffer.byteLength(text, "utf8")).toBeLessThanOrEqual(USER_DATA_LIMIT_BYTES);
        const installed = installedToolkit(
            text,
            toolkit.map((f) => f.path),
        );
        for (const f of toolkit)
            expect(installed.get(f.path), f.path).toEqual({ content: f.content, mode: f.permissions });
    });

    it("falls back to one gzip-compressed tar only when plain text would not fit: GNU tar unpacks every file with its mode, first thing in runcmd", () => {
        const line = 'log "fortress: step $i of the backup pipeline finished"\n';
        const big: ToolkitFile = {
            path: "/usr/local/lib/fortress/big.sh",
            content: line.repeat(Math.ceil(80_000 / line.length)),
            permissions: "0644",
        };
        const toolkit = [...FAKE_TOOLKIT, big];
        const text = renderUserData(prodArgs({ toolkitFiles: toolkit }));
        expect(Buffer.byteLength(text, "utf8")).toBeLessThanOrEqual(USER_DATA_LIMIT_BYTES);
        const doc = parse(text) as { write_files: WriteFileEntry[]; runcmd: string[] };
        for (const f of toolkit)
            expect(
                doc.write_files.some((w) => w.path === f.path),
                f.path,
            ).toBe(false);
        expect(fileAt(doc, TOOLKIT_BUNDLE)).toMatchObject({
            owner: "root:root",
            permissions: "0600",
            encoding: "gz+b64",
        });
        const installed = installedToolkit(
            text,
            toolkit.map((f) => f.path),
        );
        for (const f of toolkit)
            expect(installed.get(f.path), f.path).toEqual({ content: f.content, mode: f.permissions });
        expect(doc.runcmd.slice(0, 3)).toEqual([
            "set -eu",
            `tar -x -f ${TOOLKIT_BUNDLE} -C / --no-same-owner`,
            `rm -f -- ${TOOLKIT_BUNDLE}`,
        ]);
        // Files the renderer generates stay readable text.
        expect(fileAt(doc, SETTINGS_FILE).encoding).toBeUndefined();
        // Small input keeps everything plain, so user-data does not depend on compressed bytes.
        const small = parsed(prodArgs()).doc;
        expect(small.write_files.every((w) => w.encoding === undefined)).toBe(true);
        expect(small.runcmd.some((c) => c.includes(TOOLKIT_BUNDLE))).toBe(false);
    });

    it("the bundle's bytes depend only on the files", () => {
        const line = 'log "fortress: same input, same bytes"\n';
        const big: ToolkitFile = {
            path: "/usr/local/lib/fortress/big.sh",
            content: line.repeat(Math.ceil(80_000 / line.length)),
            permissions: "0644",
        };
        expect(renderUserData(prodArgs({ toolkitFiles: [...FAKE_TOOLKIT, big] }))).toBe(
            renderUserData(prodArgs({ toolkitFiles: [...FAKE_TOOLKIT, big] })),
        );
    });

    it("fails with a clear message when even compression cannot make it fit", () => {
        const noise: ToolkitFile = {
            path: "/usr/local/lib/fortress/noise",
            content: randomBytes(60_000).toString("base64"),
            permissions: "0644",
        };
        expect(() => renderUserData(prodArgs({ toolkitFiles: [...FAKE_TOOLKIT, noise] }))).toThrow(
            /even with the toolkit as one gzip-compressed tar, above the 65536-byte limit/,
        );
    });
});

describe("renderUserData: the stale-backup heartbeat", () => {
    it("installs fortress-heartbeat as an executable beside the toolkit, and the backup unit runs it", () => {
        const toolkit = loadToolkitFiles();
        const heartbeat = toolkit.find((f) => f.path === "/usr/local/bin/fortress-heartbeat");
        expect(heartbeat?.permissions).toBe("0755");
        expect(heartbeat?.content.startsWith("#!/usr/bin/env bash\n")).toBe(true);
        expect(heartbeat?.content).toMatch(/^# Usage: fortress-heartbeat /m);
        expect(heartbeat?.content).toContain("set -euo pipefail");
        const text = renderUserData(prodArgs({ toolkitFiles: toolkit }));
        expect(Buffer.byteLength(text, "utf8")).toBeLessThan(USER_DATA_LIMIT_BYTES);
        const doc = parse(text) as { write_files: WriteFileEntry[] };
        expect(
            installedToolkit(text, ["/usr/local/bin/fortress-heartbeat"]).get("/usr/local/bin/fortress-heartbeat"),
        ).toEqual({ content: heartbeat?.content, mode: "0755" });
        expect(fileAt(doc, "/etc/systemd/system/fortress-backup.service").content).toMatch(
            /^ExecStopPost=-\/usr\/local\/bin\/fortress-heartbeat service-result$/m,
        );
    });
});
