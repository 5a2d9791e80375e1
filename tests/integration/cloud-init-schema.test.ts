// The rendered user-data, checked by the real tools the droplet's own software uses:
// `cloud-init schema` (Debian's cloud-init) on prod-like and DR-like documents built
// from the real toolkit, and systemd's own parsers on the rendered timers and units.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { formatEnvFile } from "../../cloud-init/env-file";
import { renderUserData, SETTINGS_FILE, type UserDataArgs } from "../../cloud-init/render";
import { onCalendarOf } from "../../cloud-init/systemd/units";
import { loadToolkitFiles } from "../../cloud-init/toolkit-files";
import { suiteTempDir } from "../support/temp-dir";
import { drLikeArgs, prodLikeArgs } from "../support/user-data-args";

const work = suiteTempDir("cloud-init-schema");

const toolkitFiles = loadToolkitFiles();
const prodLike = prodLikeArgs({ toolkitFiles });
const drLike = drLikeArgs({ toolkitFiles });

function write(name: string, text: string): string {
    const file = join(work, name);
    writeFileSync(file, text);
    return file;
}

function schema(file: string) {
    return spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
}

function has(command: string): boolean {
    return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

type WriteFile = { path: string; content: string };

describe("cloud-init schema accepts the rendered user-data", () => {
    it.each([
        ["prod-like", prodLike],
        ["dr-like", drLike],
    ])("%s", (name, args) => {
        const r = schema(write(`${name}.yaml`, renderUserData(args)));
        expect(r.stderr).not.toMatch(/schema errors/i);
        expect(r.stdout).toMatch(/Valid cloud-config/);
        expect(r.status).toBe(0);
    });

    it("also when the toolkit has grown past the limit and travels as one gzip-compressed tar", () => {
        const line = 'log "fortress: one more line of a toolkit that has grown too big for plain user-data"\n';
        const grown = {
            path: "/usr/local/lib/fortress/grown.sh",
            content: line.repeat(Math.ceil(70_000 / line.length)),
            permissions: "0644",
        };
        const packed = renderUserData({ ...prodLike, toolkitFiles: [...toolkitFiles, grown] });
        expect(packed).toContain("encoding: gz+b64");
        const r = schema(write("packed.yaml", packed));
        expect(r.stderr).not.toMatch(/schema errors/i);
        expect(r.status).toBe(0);
    });
});

describe("cloud-init schema rejects broken documents (so the checks above can fail)", () => {
    it("a mistyped module value", () => {
        const doc = parse(renderUserData(prodLike)) as { write_files: Record<string, unknown>[] };
        doc.write_files[0].defer = "sometimes";
        const r = schema(write("bad-type.yaml", `#cloud-config\n${stringify(doc)}`));
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/write_files\.0\.defer/);
    });

    it("a header that is not the first line (a template literal starting with a newline)", () => {
        const r = schema(write("bad-header.yaml", `\n${renderUserData(prodLike)}`));
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/#cloud-config/);
    });
});

describe.skipIf(!has("systemd-analyze"))("systemd reads the rendered units", () => {
    const units = (args: UserDataArgs) =>
        (parse(renderUserData(args)) as { write_files: WriteFile[] }).write_files.filter((f) =>
            f.path.startsWith("/etc/systemd/system/"),
        );

    it.each([
        ["prod-like", prodLike],
        ["dr-like", drLike],
    ])("%s: every OnCalendar= parses with systemd-analyze calendar", (_name, args) => {
        const schedules = units(args)
            .filter((u) => u.path.endsWith(".timer"))
            .map((u) => onCalendarOf(u.content));
        expect(schedules).toEqual([args.backupSchedule, args.verifySchedule]);
        for (const s of schedules) {
            const r = spawnSync("systemd-analyze", ["calendar", s ?? ""], { encoding: "utf8" });
            expect(r.stderr, `systemd-analyze calendar ${s}`).toBe("");
            expect(r.status).toBe(0);
        }
        expect(spawnSync("systemd-analyze", ["calendar", "every hour"], { encoding: "utf8" }).status).not.toBe(0);
    });

    // `verify` checks that ExecStart= exists on this machine, so the copies point at
    // /bin/true; everything else is the rendered text.
    function verify(dir: string, files: WriteFile[]) {
        mkdirSync(dir, { recursive: true });
        const paths = files.map((u) => {
            const file = join(dir, basename(u.path));
            writeFileSync(file, u.content.replace(/^ExecStart=.*$/m, "ExecStart=/bin/true"));
            return file;
        });
        return spawnSync("systemd-analyze", ["verify", ...paths], { encoding: "utf8" });
    }

    it("systemd-analyze verify finds no unknown or invalid settings", () => {
        const rendered = units(prodLike);
        expect(rendered.map((u) => basename(u.path))).toEqual([
            "fortress-backup.service",
            "fortress-backup.timer",
            "fortress-verify.service",
            "fortress-verify.timer",
        ]);
        const r = verify(join(work, "units-ok"), rendered);
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);

        const typo = rendered.map((u) => ({ ...u, content: u.content.replace("Persistent=true", "Persistant=true") }));
        expect(verify(join(work, "units-typo"), typo).stderr).toMatch(/Unknown key 'Persistant'/);
    });
});

// The settings file is written by this renderer and parsed by the toolkit's own
// reader; these run the real toolkit on the real rendered file.
describe("the toolkit reads the rendered settings file", () => {
    const toolkit = resolve(__dirname, "../../cloud-init/toolkit");
    const keys = [
        "BACKUP_S3_ENDPOINT",
        "BACKUP_BUCKET",
        "BACKUP_PREFIX",
        "BACKUP_OFFSITE_S3_ENDPOINT",
        "BACKUP_OFFSITE_BUCKET",
        "BACKUP_AGE_RECIPIENTS",
        "BACKUP_AGE_IDENTITY_FILE",
    ];

    function configDir(name: string, args: UserDataArgs, credentials?: string): string {
        const doc = parse(renderUserData(args)) as { write_files: WriteFile[] };
        const settings = doc.write_files.find((f) => f.path === SETTINGS_FILE);
        const dir = join(work, name);
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, "backup.env"), settings?.content ?? "");
        if (credentials !== undefined) writeFileSync(join(dir, "credentials.env"), credentials, { mode: 0o600 });
        return dir;
    }

    function bash(script: string, dir: string) {
        // --norc: bash reads ~/.bashrc when stdin is a socket, and Node's pipes are sockets.
        return spawnSync("bash", ["--norc", "--noprofile", "-c", script, "bash", toolkit], {
            encoding: "utf8",
            env: { PATH: process.env.PATH ?? "/usr/bin:/bin", FORTRESS_CONFIG_DIR: dir },
            stdio: ["ignore", "pipe", "pipe"],
        });
    }

    it.each([
        ["prod-like", prodLike],
        ["dr-like", drLike],
    ])("%s: load_settings sees every value exactly, with no warnings", (name, args) => {
        // A credentials.env in the same KEY='value' format, as the recovery step may write it.
        const credentials = formatEnvFile([["DATABASE_URL", "postgresql://app@127.0.0.1:5432/app"]]);
        const r = bash(
            `set -euo pipefail; source "$1/lib/income-fortress/common.sh"; load_settings; for k in ${keys.join(" ")} DATABASE_URL; do printf '%s=%s\\n' "$k" "\${!k}"; done`,
            configDir(`settings-${name}`, args, credentials),
        );
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        const seen = Object.fromEntries(
            r.stdout
                .trim()
                .split("\n")
                .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
        );
        expect(seen).toEqual({
            BACKUP_S3_ENDPOINT: args.backup.s3Endpoint,
            BACKUP_BUCKET: args.backup.bucket,
            BACKUP_PREFIX: args.backup.prefix,
            BACKUP_OFFSITE_S3_ENDPOINT: args.backup.offsiteS3Endpoint,
            BACKUP_OFFSITE_BUCKET: args.backup.offsiteBucket,
            BACKUP_AGE_RECIPIENTS: args.backup.ageRecipients.join(" "),
            BACKUP_AGE_IDENTITY_FILE: "/etc/income-fortress/age-identity.txt",
            DATABASE_URL: "postgresql://app@127.0.0.1:5432/app",
        });
    });

    it("fortress-backup with only the rendered settings stops with exit 2 and asks for DATABASE_URL", () => {
        const r = bash('exec "$1/bin/fortress-backup"', configDir("settings-only", prodLike));
        expect(r.stderr).not.toMatch(/unknown setting/);
        expect(r.stderr).toMatch(/DATABASE_URL is not set/);
        expect(r.status).toBe(2);
    });
});
