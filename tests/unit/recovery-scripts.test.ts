// Layer 1: the recovery chain's steps (components/recovery/): each step's shell in
// steps/*.sh, the pure builders that turn typed arguments into a step's text (a `set --`
// line, steps/lib.sh and the step's helper files, then the file) and the stdin payloads. The files are checked as the toolkit's
// are (bash -n, shellcheck -x, the house style), the texts as the droplet meets them
// (bash parses them, the policy pack finds no secret), and every script runs here against
// recording stand-ins for what it calls (sudo, certbot, docker, psql, …). What they do on
// a real host over a real sshd is proven in tests/integration/recovery-ssh.test.ts.
import { spawnSync } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import {
    mkdirSync,
    mkdtempSync,
    readFileSync,
    readdirSync,
    rmSync,
    statSync,
    symlinkSync,
    writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DNS_CREDENTIALS_FILE, EXIT, READY_MARKER } from "../../cloud-init/host";
import { shQuote, shSplit } from "../../cloud-init/shell";
import {
    BACKUP_ID,
    GENERATED_APP_ENV,
    HELPER_FILES,
    HELPER_SCRIPTS,
    STEP_HELPERS,
    STEP_LIB,
    STEP_NAMES,
    STEP_SCRIPTS,
    STEPS_DIR,
    ageIdentityFile,
    appEnvFile,
    composeDir,
    composeStopScript,
    composeUpScript,
    evidenceScript,
    imagesScript,
    credentialsFile,
    databaseAccessScript,
    databaseAccessSql,
    databaseAccessStdin,
    dnsCredentialsFile,
    healthGateScript,
    migrateScript,
    parseStepText,
    restoreScript,
    scramSha256Verifier,
    stepText,
    tlsScript,
    waitForBootScript,
    writeSecretFileScript,
    type RestoreOptions,
    type StepName,
} from "../../components/recovery/scripts";
import { findSecretPatterns } from "../../policy/policies";

const ROOT = resolve(__dirname, "../..");
const ADMIN = {
    host: "private-db-pg-1a2b3c4-do-user-1.db.ondigitalocean.com",
    port: 25060,
    user: "doadmin",
    database: "defaultdb",
};
const VAULT = {
    endpoint: "https://sfo3.digitaloceanspaces.com",
    bucket: "incomefortress-backups-vault",
    prefix: "postgresql/prod",
};
const AGE_KEY = "AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQS7V2R3Y";
const APP = "/opt/income-fortress/app/income-platform";
const TLS = {
    fqdn: "api.incomefortress.com",
    address: "192.0.2.200",
    email: "ops@incomefortress.com",
    dir: APP,
    proxyService: "nginx",
};
const TLS_DR = {
    ...TLS,
    fqdn: "api-dr.incomefortress.com",
    address: "192.0.2.201",
    challenge: "dns-01" as const,
    alsoFor: ["api.incomefortress.com"],
};

/** An age public key, for the evidence step. */
const RECIPIENT = "age1m329mc5c7rzwq438m0ey0ryzeq8pgxwmenhvpwtxg8qvp5pdaghqzjmsgg";

/** Every text a stack can produce, by name. */
const SCRIPTS: Record<string, string> = {
    boot: waitForBootScript(),
    "secret .env": writeSecretFileScript({ path: `${APP}/.env`, owner: "deployer:deployer", what: "the app's .env" }),
    "secret credentials": writeSecretFileScript({
        path: "/etc/income-fortress/credentials.env",
        owner: "root:root",
        what: "credentials.env",
    }),
    "secret dns token": writeSecretFileScript({
        path: DNS_CREDENTIALS_FILE,
        owner: "root:root",
        what: "certbot's DigitalOcean token",
    }),
    database: databaseAccessScript(ADMIN),
    "restore if-empty": restoreScript({ mode: "if-empty", backup: { id: "latest" } }),
    "restore required from the vault": restoreScript({ mode: "required", backup: { id: "latest" }, source: VAULT }),
    "restore pinned id": restoreScript({
        mode: "required",
        backup: { id: "20260203T100000Z-pre-v1.1.0" },
        source: VAULT,
    }),
    "restore before a time": restoreScript({ mode: "if-empty", backup: { before: "2026-02-03T10:00:00Z" } }),
    "restore off": restoreScript({ mode: "off", backup: { id: "latest" } }),
    migrate: migrateScript({
        dir: APP,
        command: "docker compose run --rm api python manage.py migrate",
        appRef: "v1.0.0",
    }),
    compose: composeUpScript({ dir: APP }),
    images: imagesScript({ dir: APP }),
    health: healthGateScript({ url: "http://localhost:8000/health", timeoutSeconds: 600, dir: APP }),
    tls: tlsScript(TLS),
    "tls while isolated": tlsScript({ ...TLS, skip: "isolated" }),
    "tls after a cutover": tlsScript({ ...TLS, skip: "served-by-dr" }),
    "tls dns-01 with the public name": tlsScript(TLS_DR),
    evidence: evidenceScript({ dir: APP, label: "isolate-d424242", recipients: [RECIPIENT] }),
    "stop the app": composeStopScript({ dir: APP }),
};

// ---------------------------------------------------------------- running bash here

const scratch = mkdtempSync(join(tmpdir(), "fortress-steps-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A fresh folder under the scratch folder. */
const freshDir = (): string => mkdtempSync(join(scratch, "d-"));

/**
 * The real commands a step may use besides its stand-ins, linked into one folder that is
 * the whole PATH after the stand-ins: a command this machine happens to have (certbot,
 * docker) can never answer in a stand-in's place.
 */
const TOOLS = (() => {
    const dir = join(scratch, "tools");
    mkdirSync(dir);
    for (const name of [
        "bash",
        "sh",
        "env",
        "awk",
        "jq",
        "tr",
        "cat",
        "mktemp",
        "tee",
        "mv",
        "stat",
        "chmod",
        "rm",
        "ls",
        "sleep",
        "printf",
        "test",
    ]) {
        const found = spawnSync("bash", ["-c", `type -P ${name}`], { encoding: "utf8" }).stdout.trim();
        if (found.startsWith("/")) symlinkSync(found, join(dir, name));
    }
    return dir;
})();

/** Stand-in head: records the command's name and each argument in [] as one line, then runs the body. */
const RECORD = `{ printf '%s' "\${0##*/}"; printf ' [%s]' "$@"; printf '\\n'; } >>"$STEP_CALLS"`;

interface Ran {
    code: number | null;
    /** The stand-ins' folder, where a stand-in may leave what it saw. */
    bin: string;
    stdout: string;
    stderr: string;
    /** One line per stand-in call: `name [arg] [arg]`. */
    calls: string[];
}

/**
 * Runs a step's text with `bash -c`, as sshd runs it for the deployer's login shell. Every
 * command named in `stubs` is a recording stand-in with that body; `sudo` runs its
 * command as this user (after recording it) unless a test replaces it.
 */
function runStep(text: string, o: { stubs?: Record<string, string>; stdin?: string; dir?: string } = {}): Ran {
    const dir = o.dir ?? freshDir();
    const bin = mkdtempSync(join(scratch, "bin-"));
    const calls = join(bin, "calls");
    writeFileSync(calls, "");
    for (const [name, body] of Object.entries({ sudo: 'exec env -- "$@"', ...o.stubs })) {
        writeFileSync(join(bin, name), `#!${TOOLS}/bash\n${RECORD}\n${body}\n`, { mode: 0o755 });
    }
    const r = spawnSync(`${TOOLS}/bash`, ["-c", text], {
        cwd: dir,
        input: o.stdin ?? "",
        encoding: "utf8",
        timeout: 30_000,
        env: { PATH: `${bin}:${TOOLS}`, HOME: dir, LANG: "C.UTF-8", STEP_CALLS: calls },
    });
    return {
        code: r.status,
        bin,
        stdout: r.stdout,
        stderr: r.stderr,
        calls: readFileSync(calls, "utf8").split("\n").filter(Boolean),
    };
}

/** The words bash puts in "$@" after a text's `set --` line. */
function argsSeenByBash(text: string, step: StepName): string[] {
    const preamble = text.slice(0, text.length - STEP_SCRIPTS[step].length);
    const r = spawnSync("bash", ["-c", `${preamble}for a in "$@"; do printf '%s\\0' "$a"; done`], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    return r.stdout.split("\0").slice(0, -1);
}

const fileOf = (step: StepName) => join(STEPS_DIR, `${step}.sh`);

/** Every file in steps/: the steps, the prelude and the helper files. */
const FILES = [...STEP_NAMES.map((s) => `${s}.sh`), "lib.sh", ...HELPER_FILES];

/** The name each step's messages carry (`income-fortress NAME: …`); the integration test and the operators' logs read them. */
const MESSAGE_NAMES: Record<StepName, string> = {
    boot: "boot",
    "write-secret-file": "secrets",
    "database-access": "database",
    restore: "restore",
    migrate: "migrate",
    "compose-up": "compose",
    images: "images",
    "health-gate": "health",
    "tls-http-01": "tls",
    "tls-dns-01": "tls",
    "tls-skipped": "tls",
    evidence: "evidence",
    "compose-stop": "isolate",
};

/** The names of the functions a shell file defines. */
const functionsOf = (text: string): string[] => [...text.matchAll(/^([a-z_]+)\(\) \{$/gm)].map((m) => m[1]);

/** Whether a shell file's code (comments aside) names the function `fn`. */
const calls = (text: string, fn: string): boolean =>
    text
        .split("\n")
        .filter((l) => !l.trimStart().startsWith("#"))
        .some((l) => new RegExp(`(^|[^a-z_])${fn}([^a-z_(]|$)`).test(l));

// ---------------------------------------------------------------- the files

describe("the step files", () => {
    it("are exactly the steps the builders know and the files they share, and live beside them", () => {
        expect(readdirSync(STEPS_DIR).sort()).toEqual([...FILES].sort());
        expect(STEPS_DIR).toBe(join(ROOT, "components", "recovery", "steps"));
        expect(STEP_LIB).toBe(readFileSync(join(STEPS_DIR, "lib.sh"), "utf8"));
        for (const f of HELPER_FILES) expect(HELPER_SCRIPTS[f]).toBe(readFileSync(join(STEPS_DIR, f), "utf8"));
    });

    it.each(FILES)("%s: bash parses it", (file) => {
        const r = spawnSync("bash", ["-n", join(STEPS_DIR, file)], { encoding: "utf8" });
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
    });

    it.each(FILES)("%s: clean under shellcheck -x, as npm run shellcheck runs it", (file) => {
        const r = spawnSync("shellcheck", ["-x", "-f", "gcc", join(STEPS_DIR, file)], { encoding: "utf8", cwd: ROOT });
        expect(r.error, "shellcheck must be installed (apt-get install shellcheck)").toBeUndefined();
        expect(r.stdout).toBe("");
        expect(r.status).toBe(0);
    });

    it("the checks are not blind: bash -n and shellcheck reject a broken or sloppy script", () => {
        expect(
            spawnSync("bash", ["-n"], { input: `${STEP_SCRIPTS.boot}\nif then\n`, encoding: "utf8" }).status,
        ).not.toBe(0);
        const sloppy = spawnSync("shellcheck", ["-s", "bash", "-f", "gcc", "-"], {
            input: `${STEP_SCRIPTS.boot}\ncd $1\n`,
            encoding: "utf8",
        });
        expect(sloppy.stdout).toMatch(/SC2086/);
        expect(sloppy.status).not.toBe(0);
    });

    it("lib.sh: strict mode first, then fail and say, which name the step", () => {
        const lines = STEP_LIB.split("\n");
        expect(lines[0]).toBe("# shellcheck shell=bash");
        expect(lines.find((l) => l.trim() !== "" && !l.startsWith("#"))).toBe("set -euo pipefail");
        expect(functionsOf(STEP_LIB)).toEqual(["fail", "say"]);
        expect(STEP_LIB).toContain(
            `fail() {\n    printf 'income-fortress %s: error: %s\\n' "$STEP_NAME" "$*" >&2\n    exit 1\n}`,
        );
        expect(STEP_LIB).toContain(`say() {\n    printf 'income-fortress %s: %s\\n' "$STEP_NAME" "$*"\n}`);
    });

    it.each(["lib.sh", ...HELPER_FILES])("%s: only commented functions, no tabs or CRs", (file) => {
        const text = readFileSync(join(STEPS_DIR, file), "utf8");
        const lines = text.split("\n");
        expect(lines[0]).toBe("# shellcheck shell=bash");
        lines.forEach((l, i) => {
            if (/^[a-z_]+\(\) \{$/.test(l))
                expect(lines[i - 1], `${file}: ${l} needs a comment saying what it does`).toMatch(/^# /);
        });
        // Definitions only (lib.sh also sets strict mode): nothing runs before the step's main.
        const code = lines.filter(
            (l) => l !== "" && !l.startsWith("#") && !l.startsWith(" ") && !/^[a-z_]+\(\) \{$|^\}$/.test(l),
        );
        expect(code).toEqual(file === "lib.sh" ? ["set -euo pipefail"] : []);
        expect(text).not.toMatch(/\r|\t/);
    });

    it("a text holds a helper file exactly when its step calls the helpers in it, and no step redefines one", () => {
        for (const file of HELPER_FILES) {
            const helpers = functionsOf(HELPER_SCRIPTS[file]);
            expect(helpers.length, file).toBeGreaterThan(0);
            for (const step of STEP_NAMES) {
                for (const fn of helpers) {
                    expect(calls(STEP_SCRIPTS[step], fn), `${step}.sh and ${fn} (${file})`).toBe(
                        STEP_HELPERS[step].includes(file),
                    );
                    expect(functionsOf(STEP_SCRIPTS[step]), `${step}.sh redefines ${fn}`).not.toContain(fn);
                }
            }
        }
        for (const step of STEP_NAMES)
            for (const fn of functionsOf(STEP_LIB))
                expect(functionsOf(STEP_SCRIPTS[step]), `${step}.sh redefines ${fn}`).not.toContain(fn);
    });

    it("the helper check is not blind: it sees a call, and not a mention in a comment", () => {
        expect(calls('main() {\n    enter_project "$dir"\n}', "enter_project")).toBe(true);
        expect(calls("# enter_project DIR: cd into it\nmain() {\n    :\n}", "enter_project")).toBe(false);
        expect(calls("install_certbot_twice x", "install_certbot")).toBe(false);
    });

    it.each(STEP_NAMES)(
        "%s.sh: house style: Usage header, its message name first, commented functions, main last",
        (step) => {
            const text = STEP_SCRIPTS[step];
            const lines = text.split("\n");
            expect(lines[0]).toBe("# shellcheck shell=bash");
            expect(lines[1]).toMatch(new RegExp(`^# Usage: ${step}\\.sh( |$)`));
            // Strict mode, fail and say come from lib.sh; the step only names itself.
            expect(lines.find((l) => l.trim() !== "" && !l.startsWith("#"))).toBe(
                `readonly STEP_NAME=${MESSAGE_NAMES[step]}`,
            );
            expect(text).not.toMatch(/^set -/m);
            lines.forEach((l, i) => {
                if (/^[a-z_]+\(\) \{$/.test(l) && l !== "main() {")
                    expect(lines[i - 1], `${step}.sh: ${l} needs a comment saying what it does`).toMatch(/^# /);
            });
            expect(text.endsWith('\nmain "$@"\n')).toBe(true);
            expect(text).not.toMatch(/\r|\t/);
        },
    );

    it.each(STEP_NAMES)("%s.sh: every error says what to do: a usage line when the arguments are wrong", (step) => {
        const r = spawnSync("bash", ["-c", stepText(step, [])], { encoding: "utf8", input: "" });
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(
            new RegExp(
                `^income-fortress ${MESSAGE_NAMES[step]}: error: usage: ${step}\\.sh [^\\n]*, got 0 arguments: build the step with components/recovery/scripts\\.ts\\n$`,
            ),
        );
    });

    it.each(FILES)("%s: nothing the policy pack would call a secret", (file) => {
        expect(findSecretPatterns(readFileSync(join(STEPS_DIR, file), "utf8"))).toEqual([]);
    });
});

// ---------------------------------------------------------------- the texts

describe("every step's text", () => {
    it.each(Object.entries(SCRIPTS))(
        "%s: the arguments on one set -- line, then lib.sh, the step's helper files and the step file, unchanged",
        (_name, text) => {
            const { step, args } = parseStepText(text);
            const shared = ["lib.sh", ...STEP_HELPERS[step]]
                .map((f) => `${readFileSync(join(STEPS_DIR, f), "utf8")}\n`)
                .join("");
            expect(text).toBe(`set -- ${args.map(shQuote).join(" ")}\n${shared}${readFileSync(fileOf(step), "utf8")}`);
            expect(argsSeenByBash(text, step)).toEqual(args);
        },
    );

    it.each(Object.entries(SCRIPTS))("%s: bash parses it and shellcheck finds nothing", (_name, text) => {
        const n = spawnSync("bash", ["-n"], { input: text, encoding: "utf8" });
        expect(n.stderr).toBe("");
        expect(n.status).toBe(0);
        const r = spawnSync("shellcheck", ["-s", "bash", "-f", "gcc", "-"], { input: text, encoding: "utf8" });
        expect(r.stdout).toBe("");
        expect(r.status).toBe(0);
    });

    it.each(Object.entries(SCRIPTS))("%s: nothing the policy pack would call a secret", (_name, text) => {
        expect(findSecretPatterns(text)).toEqual([]);
    });

    it("the policy check is not blind: a password in a text is found", () => {
        expect(findSecretPatterns(`${SCRIPTS.database}\nPGPASSWORD=hunter2hunter2 psql`)).not.toEqual([]);
        expect(
            findSecretPatterns(stepText("boot", ["postgresql://doadmin:s3cr3tpassw0rd@db.example.com:25060/app"])),
        ).not.toEqual([]);
    });

    it("is byte-stable: the same arguments give the same text, with nothing of this machine in it", () => {
        expect(tlsScript(TLS_DR)).toBe(SCRIPTS["tls dns-01 with the public name"]);
        expect(restoreScript({ mode: "required", backup: { id: "latest" }, source: { ...VAULT } })).toBe(
            SCRIPTS["restore required from the vault"],
        );
        for (const [name, text] of Object.entries(SCRIPTS)) {
            for (const local of [ROOT, STEPS_DIR, tmpdir(), process.cwd()])
                expect(text.includes(local), `${name} holds ${local}`).toBe(false);
        }
    });

    it("changes with every argument, so a changed argument re-runs the step", () => {
        expect(waitForBootScript({ marker: "/var/lib/a" })).not.toBe(waitForBootScript({ marker: "/var/lib/b" }));
        expect(healthGateScript({ url: "http://localhost/h", timeoutSeconds: 60, dir: "/a" })).not.toBe(
            healthGateScript({ url: "http://localhost/h", timeoutSeconds: 61, dir: "/a" }),
        );
        expect(tlsScript({ ...TLS_DR, alsoFor: [] })).not.toBe(tlsScript(TLS_DR));
    });
});

describe("argument quoting", () => {
    const TRICKY = [
        "plain",
        "",
        "two words",
        "it's",
        "'",
        "''",
        '"q"',
        "$HOME",
        "${PATH}",
        "`id`",
        "$(id)",
        "a\nb",
        "\n",
        "trailing\n",
        "tab\there",
        "back\\slash",
        "*",
        "?",
        "[a]",
        "~",
        "~root",
        "!",
        "!!",
        "#not-a-comment",
        "-n",
        "--",
        "-e",
        "a;b",
        "a|b",
        "a&b",
        "<>",
        "{a,b}",
        "a,b",
        "é ü 漢",
        "\u00a0",
        "x=y",
        "%s",
        "\u0001ctl",
        'p@ss w0rd $HOME `id` $(id) "q" ;&|<>*?~#%{}[]!',
    ];

    it("round-trips arbitrary strings through bash's set -- byte for byte, and parseStepText reads them back", () => {
        const text = stepText("boot", TRICKY);
        expect(argsSeenByBash(text, "boot")).toEqual(TRICKY);
        expect(parseStepText(text)).toEqual({ step: "boot", args: TRICKY });
    });

    it("round-trips random strings of shell metacharacters", () => {
        // A fixed seed: the same strings every run.
        let seed = 20260203;
        const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
        const alphabet = "ab '\"\\$`!*?[]{}()<>|&;#~=%,.\n\t-";
        const words = Array.from({ length: 300 }, () =>
            Array.from({ length: next() % 12 }, () => alphabet[next() % alphabet.length]).join(""),
        );
        const text = stepText("restore", words);
        expect(argsSeenByBash(text, "restore")).toEqual(words);
        expect(parseStepText(text).args).toEqual(words);
    });

    it("writes plain words bare and quotes the rest, a comma too", () => {
        expect(stepText("boot", ["/var/lib/income-fortress/ready", "a,b", "it's"]).split("\n")[0]).toBe(
            `set -- /var/lib/income-fortress/ready 'a,b' 'it'\\''s'`,
        );
    });

    it("refuses a NUL, which no argument can carry", () => {
        expect(() => stepText("boot", ["a\0b"])).toThrow(/NUL/);
    });

    it("parseStepText reads only what stepText writes", () => {
        expect(() => parseStepText(`set -- a\n${STEP_SCRIPTS.boot}x`)).toThrow(/not a text made by stepText/);
        expect(() => parseStepText(`echo a\n${STEP_SCRIPTS.boot}`)).toThrow(/not a text made by stepText/);
        for (const bad of ["set -- a  b", "set -- 'open", 'set -- "dq"', "set -- a "])
            expect(() => shSplit(bad), bad).toThrow(/shSplit/);
    });
});

// ---------------------------------------------------------------- 1. boot

describe("boot", () => {
    const cloudInit = (code: number) => ({ "cloud-init": `exit ${code}` });

    it("passes the marker, the ready marker by default", () => {
        expect(parseStepText(waitForBootScript())).toEqual({ step: "boot", args: [READY_MARKER] });
        expect(parseStepText(waitForBootScript({ marker: "/var/lib/x/ready" })).args).toEqual(["/var/lib/x/ready"]);
    });

    it("treats cloud-init exit 2 (degraded done) like 0 and lets the marker decide", () => {
        const dir = freshDir();
        writeFileSync(join(dir, "ready"), "environment=prod\napp_ref=v1.0.0\n");
        const r = runStep(waitForBootScript({ marker: join(dir, "ready") }), { stubs: cloudInit(2) });
        expect(r.code, r.stderr).toBe(0);
        expect(r.calls).toEqual(["cloud-init [status] [--wait]"]);
        expect(r.stdout).toBe(
            "income-fortress boot: cloud-init finished with recoverable errors (exit 2, degraded done); the ready marker decides\n" +
                "income-fortress boot: booted: environment=prod app_ref=v1.0.0 \n",
        );
    });

    it("fails on any other cloud-init exit, and on a missing marker, with one line that says what to do", () => {
        const failed = runStep(waitForBootScript({ marker: "/nonexistent/ready" }), { stubs: cloudInit(1) });
        expect(failed.code).toBe(1);
        expect(failed.stderr).toBe(
            "income-fortress boot: error: cloud-init failed (cloud-init status --wait exited 1): read /var/log/cloud-init-output.log on the droplet, fix the user-data and replace the droplet\n",
        );
        const noMarker = runStep(waitForBootScript({ marker: "/nonexistent/ready" }), { stubs: cloudInit(0) });
        expect(noMarker.code).toBe(1);
        expect(noMarker.stderr).toBe(
            "income-fortress boot: error: cloud-init is done but /nonexistent/ready is missing, so a bootstrap step failed: read /var/log/cloud-init-output.log on the droplet\n",
        );
    });
});

// ---------------------------------------------------------------- 2. secret files

describe("secret files", () => {
    it("passes the path, the owner and what the file is", () => {
        expect(parseStepText(SCRIPTS["secret .env"])).toEqual({
            step: "write-secret-file",
            args: [`${APP}/.env`, "deployer:deployer", "the app's .env"],
        });
    });

    it("copies stdin into a mode-600 temp file beside the target, owned as asked, then renames it over the target", () => {
        const dir = freshDir();
        const path = join(dir, "credentials.env");
        writeFileSync(path, "OLD=1\n");
        const payload = "DATABASE_URL='postgresql://u:p@h/db'\nTRICKY='$HOME `id` \"q\"'\n";
        const r = runStep(writeSecretFileScript({ path, owner: "root:root", what: "the toolkit's credentials.env" }), {
            stdin: payload,
            stubs: { chown: "" },
        });
        expect(r.code, r.stderr).toBe(0);
        expect(readFileSync(path, "utf8")).toBe(payload);
        expect(statSync(path).mode & 0o777).toBe(0o600);
        expect(readdirSync(dir)).toEqual(["credentials.env"]);
        const tmp = /^chown \[root:root\] \[--\] \[(.+)\]$/.exec(r.calls.find((c) => c.startsWith("chown")) ?? "")?.[1];
        expect(tmp).toMatch(new RegExp(`^${path}\\.[A-Za-z0-9]{6}$`));
        expect(r.calls.map((c) => c.replaceAll(tmp!, "TMP"))).toEqual([
            `sudo [test] [-d] [${dir}]`,
            `sudo [mktemp] [${path}.XXXXXX]`,
            "sudo [tee] [--] [TMP]",
            "sudo [test] [-s] [TMP]",
            "sudo [chown] [root:root] [--] [TMP]",
            "chown [root:root] [--] [TMP]",
            "sudo [chmod] [0600] [--] [TMP]",
            `sudo [mv] [-f] [--] [TMP] [${path}]`,
            `sudo [stat] [-c] [%n, mode %a, %U:%G, %s bytes] [--] [${path}]`,
        ]);
        expect(r.stdout).toMatch(
            new RegExp(
                `^income-fortress secrets: wrote the toolkit's credentials.env: ${path}, mode 600, [^ ]+, ${payload.length} bytes\\n$`,
            ),
        );
        expect(r.stdout + r.stderr).not.toContain("postgresql://");
    });

    it("refuses an empty stdin and leaves the file as it was, with no temp file behind", () => {
        const dir = freshDir();
        const path = join(dir, "credentials.env");
        writeFileSync(path, "OLD=1\n");
        const r = runStep(writeSecretFileScript({ path, owner: "root:root", what: "the toolkit's credentials.env" }), {
            stdin: "",
            stubs: { chown: "" },
        });
        expect(r.code).toBe(1);
        expect(r.stderr).toBe(
            "income-fortress secrets: error: nothing arrived on stdin for the toolkit's credentials.env; no file was written\n",
        );
        expect(readFileSync(path, "utf8")).toBe("OLD=1\n");
        expect(readdirSync(dir)).toEqual(["credentials.env"]);
    });

    it("fails when user-data did not make the folder", () => {
        const r = runStep(
            writeSecretFileScript({ path: "/nonexistent/income-fortress/x.env", owner: "root:root", what: "x" }),
            { stdin: "A=1\n" },
        );
        expect(r.code).toBe(1);
        expect(r.stderr).toBe(
            "income-fortress secrets: error: /nonexistent/income-fortress does not exist, so user-data did not finish; replace the droplet\n",
        );
    });

    it.each([
        ["relative path", { path: "etc/x", owner: "root:root" }, /is not a plain absolute path/],
        ["path with a space", { path: "/etc/income fortress/x", owner: "root:root" }, /is not a plain absolute path/],
        ["path with a quote", { path: "/etc/x'y", owner: "root:root" }, /is not a plain absolute path/],
        ["owner without group", { path: "/etc/x", owner: "root" }, /is not user:group/],
        ["owner with a space", { path: "/etc/x", owner: "root:root; rm" }, /is not user:group/],
    ])("refuses a %s", (_name, t, pattern) => {
        expect(() => writeSecretFileScript({ ...t, what: "x" })).toThrow(/^writeSecretFileScript: /);
        expect(() => writeSecretFileScript({ ...t, what: "x" })).toThrow(pattern);
    });
});

describe("payloads", () => {
    const values = {
        databaseUrl: "postgresql://income_platform:pw@h:25060/income_platform?sslmode=require",
        cacheUrl: "rediss://default:pw2@h:25061",
        secretKey: "k".repeat(64),
        spacesAccessKeyId: "DO00ABCDEFGHIJKLMNOP",
        spacesSecretAccessKey: "s3cr3t/with+chars=",
    };

    it("the .env holds the generated entries first, then the extras by name, single-quoted", () => {
        const text = appEnvFile({ ...values, extra: { ZZ_LAST: "z", ANTHROPIC_API_KEY: "sk-ant-1" } });
        const keys = text
            .split("\n")
            .filter((l) => l && !l.startsWith("#"))
            .map((l) => l.split("=")[0]);
        expect(keys).toEqual([...GENERATED_APP_ENV, "ANTHROPIC_API_KEY", "ZZ_LAST"]);
        expect(text).toContain(`DATABASE_URL='${values.databaseUrl}'\n`);
        expect(text).toContain("DO_SPACES_SECRET='s3cr3t/with+chars='\n");
        expect(text.endsWith("\n")).toBe(true);
    });

    it("refuses extras that would replace a generated entry, or values the quoting cannot carry", () => {
        expect(() => appEnvFile({ ...values, extra: { DATABASE_URL: "x" } })).toThrow(/generated by the stack/);
        expect(() => appEnvFile({ ...values, extra: { A: "it's" } })).toThrow(/'/);
    });

    it("credentials.env carries exactly the toolkit's secret settings", () => {
        const text = credentialsFile(values);
        const keys = text
            .split("\n")
            .filter((l) => l && !l.startsWith("#"))
            .map((l) => l.split("=")[0]);
        expect(keys).toEqual(["DATABASE_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]);
    });

    it("the age identity file is the key and a newline, and only a key passes", () => {
        expect(ageIdentityFile(`  ${AGE_KEY}\n`)).toBe(`${AGE_KEY}\n`);
        expect(() => ageIdentityFile("age1m329mc5c7rzwq438m0ey0ryzeq8pgxwmenhvpwtxg8qvp5pdaghqzjmsgg")).toThrow(
            /not an age identity/,
        );
    });
});

// ---------------------------------------------------------------- 3. database access

describe("SCRAM-SHA-256 verifier", () => {
    // RFC 7677, section 3: user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations.
    const salt = Buffer.from("W22ZaJ0SNY7soEsUEjb6gQ==", "base64");
    const authMessage =
        "n=user,r=rOprNGfwEbeRWgbNEkqO," +
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096," +
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";

    it("matches the RFC 7677 example: the server signature and the client proof check out", () => {
        const v = scramSha256Verifier("pencil", salt);
        const m = /^SCRAM-SHA-256\$4096:([^$]+)\$([^:]+):(.+)$/.exec(v);
        expect(m).not.toBeNull();
        expect(m![1]).toBe("W22ZaJ0SNY7soEsUEjb6gQ==");
        const storedKey = Buffer.from(m![2], "base64");
        const serverKey = Buffer.from(m![3], "base64");
        expect(createHmac("sha256", serverKey).update(authMessage).digest("base64")).toBe(
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
        );
        const proof = Buffer.from("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", "base64");
        const signature = createHmac("sha256", storedKey).update(authMessage).digest();
        const clientKey = Buffer.from(proof.map((b, i) => b ^ signature[i]));
        expect(createHash("sha256").update(clientKey).digest().equals(storedKey)).toBe(true);
    });

    it("is deterministic per password (stable stdin, so a second up changes nothing) and differs between passwords", () => {
        expect(scramSha256Verifier("a".repeat(32))).toBe(scramSha256Verifier("a".repeat(32)));
        expect(scramSha256Verifier("a".repeat(32))).not.toBe(scramSha256Verifier("b".repeat(32)));
    });

    it("refuses passwords that would need SASLprep", () => {
        expect(() => scramSha256Verifier("pässwörd")).toThrow(/printable ASCII/);
        expect(() => scramSha256Verifier("with space")).toThrow(/printable ASCII/);
    });
});

describe("database access", () => {
    const access = { role: "income_platform", database: "income_platform", password: `${"Zx9".repeat(10)}ab` };
    // Records what psql got: its password variable, then its stdin.
    const psql = `{ printf '%s\\n' "$PGPASSWORD"; cat; } >"\${STEP_CALLS%/*}/psql.in"`;

    it("sends a verifier, never the password, and grants what a restore and migrations need", () => {
        const sql = databaseAccessSql(access);
        expect(sql).not.toContain(access.password);
        expect(sql).toContain(
            `ALTER ROLE "income_platform" WITH LOGIN CREATEDB PASSWORD '${scramSha256Verifier(access.password)}';`,
        );
        expect(sql).toContain('GRANT ALL PRIVILEGES ON DATABASE "income_platform" TO "income_platform";');
        expect(sql.indexOf('\\connect "income_platform"')).toBeLessThan(sql.indexOf("GRANT ALL ON SCHEMA public"));
    });

    it("passes only where to connect, and checks it", () => {
        expect(parseStepText(databaseAccessScript(ADMIN))).toEqual({
            step: "database-access",
            args: [ADMIN.host, "25060", "doadmin", "defaultdb"],
        });
        expect(() => databaseAccessScript({ ...ADMIN, host: "h; rm -rf /" })).toThrow(
            /^databaseAccessScript: "h; rm -rf \/" is not a host name$/,
        );
        expect(() => databaseAccessScript({ ...ADMIN, port: 0 })).toThrow(/port 0 is out of range/);
        expect(() => databaseAccessScript({ ...ADMIN, user: "Robert'); DROP" })).toThrow(/identifiers/);
        expect(() => databaseAccessSql({ ...access, role: 'x"y' })).toThrow(/identifiers/);
    });

    it("gives psql the admin password from the first stdin line and the SQL from the rest, none of it in its arguments", () => {
        const stdin = databaseAccessStdin("AVNS_admin-pw", access);
        expect(stdin.split("\n")[0]).toBe("AVNS_admin-pw");
        expect(stdin.slice("AVNS_admin-pw\n".length)).toBe(databaseAccessSql(access));
        expect(() => databaseAccessStdin("two\nlines", access)).toThrow(/one non-empty line/);

        const r = runStep(databaseAccessScript(ADMIN), { stdin, stubs: { psql } });
        expect(r.code, r.stderr).toBe(0);
        expect(r.calls).toEqual([
            `psql [host=${ADMIN.host} port=25060 user=doadmin dbname=defaultdb sslmode=require connect_timeout=20] [-X] [-q] [-v] [ON_ERROR_STOP=1] [-v] [VERBOSITY=terse] [-v] [SHOW_CONTEXT=never] [-f] [-]`,
        ]);
        expect(readFileSync(join(r.bin, "psql.in"), "utf8")).toBe(stdin);
        expect(r.stdout).toBe("income-fortress database: app role password and privileges are in place\n");
        expect(databaseAccessScript(ADMIN)).not.toContain("AVNS_admin-pw");
    });

    it("fails with one clear line when the SQL fails or no password arrives, echoing neither", () => {
        const failed = runStep(databaseAccessScript(ADMIN), {
            stdin: databaseAccessStdin("AVNS_admin-pw", access),
            stubs: { psql: "cat >/dev/null; exit 2" },
        });
        expect(failed.code).toBe(1);
        expect(failed.stderr).toBe(
            `income-fortress database: error: the admin SQL failed on ${ADMIN.host}:25060; check that the database firewall trusts this droplet's tag and that the admin password in the state is current (pulumi refresh)\n`,
        );
        expect(failed.stdout + failed.stderr).not.toMatch(/AVNS_admin-pw|SCRAM|ALTER ROLE/);
        const empty = runStep(databaseAccessScript(ADMIN), { stdin: "", stubs: { psql: "" } });
        expect(empty.stderr).toBe("income-fortress database: error: no admin password arrived on stdin\n");
        expect(empty.calls).toEqual([]);
    });
});

// ---------------------------------------------------------------- 4. restore

describe("restore", () => {
    // The toolkit's stand-ins: the backup list it prints, and what fortress-restore saw in its
    // environment (the vault's settings win over backup.env) before exiting as told.
    const run = (o: RestoreOptions, backups = '[{"id":"x"}]', restoreExit = 0) =>
        runStep(restoreScript(o), {
            stubs: {
                "fortress-backups": `printf '%s\\n' '${backups}'`,
                "fortress-restore": `printf 'env [%s] [%s] [%s]\\n' "\${BACKUP_OFFSITE_S3_ENDPOINT:-}" "\${BACKUP_OFFSITE_BUCKET:-}" "\${BACKUP_PREFIX:-}" >>"$STEP_CALLS"; exit ${restoreExit}`,
            },
        });
    const HOST = "the buckets in /etc/income-fortress/backup.env";

    it.each<[string, RestoreOptions, string[]]>([
        [
            "primary: if-empty, latest",
            { mode: "if-empty", backup: { id: "latest" } },
            ["if-empty", "--backup", "latest"],
        ],
        [
            "dr: required, from the vault",
            { mode: "required", backup: { id: "latest" }, source: VAULT },
            ["required", "--backup", "latest", VAULT.endpoint, VAULT.bucket, VAULT.prefix],
        ],
        [
            "pinned to an id",
            { mode: "required", backup: { id: "20260203T100000Z" } },
            ["required", "--backup", "20260203T100000Z"],
        ],
        [
            "newest before a time",
            { mode: "if-empty", backup: { before: "2026-02-03T10:00:00Z" } },
            ["if-empty", "--before", "2026-02-03T10:00:00Z"],
        ],
        ["off", { mode: "off", backup: { id: "latest" } }, ["off", "--backup", "latest"]],
    ])("%s: passes the mode, the choice and the source", (_name, options, args) => {
        expect(parseStepText(restoreScript(options))).toEqual({ step: "restore", args });
    });

    it("primary, first deploy: lists the host's buckets, finds no backup, restores nothing and goes on", () => {
        const r = run({ mode: "if-empty", backup: { id: "latest" } }, "[]");
        expect(r.code, r.stderr).toBe(0);
        expect(r.calls).toEqual([
            "sudo [fortress-backups] [--source] [auto] [--json] [--limit] [1]",
            "fortress-backups [--source] [auto] [--json] [--limit] [1]",
        ]);
        expect(r.stdout).toBe(
            `income-fortress restore: no backup exists in ${HOST} yet (a first deploy): nothing to restore. If this database was lost, stop here and restore by hand from another copy.\n`,
        );
    });

    it("primary with a backup: restores the chosen one from the host's buckets", () => {
        const r = run({ mode: "if-empty", backup: { before: "2026-02-03T10:00:00Z" } });
        expect(r.code, r.stderr).toBe(0);
        expect(r.calls.slice(2)).toEqual([
            "sudo [fortress-restore] [--source] [auto] [--before] [2026-02-03T10:00:00Z]",
            "fortress-restore [--source] [auto] [--before] [2026-02-03T10:00:00Z]",
            "env [] [] []",
        ]);
        expect(r.stdout).toBe(`income-fortress restore: restored the database from ${HOST}\n`);
    });

    it("dr: restores from the primary's prefix in the vault, given in the environment, without listing first", () => {
        const r = run({ mode: "required", backup: { id: "latest" }, source: VAULT });
        expect(r.code, r.stderr).toBe(0);
        expect(r.calls).toEqual([
            `sudo [BACKUP_OFFSITE_S3_ENDPOINT=${VAULT.endpoint}] [BACKUP_OFFSITE_BUCKET=${VAULT.bucket}] [BACKUP_PREFIX=${VAULT.prefix}] [fortress-restore] [--source] [offsite] [--backup] [latest]`,
            "fortress-restore [--source] [offsite] [--backup] [latest]",
            `env [${VAULT.endpoint}] [${VAULT.bucket}] [${VAULT.prefix}]`,
        ]);
        expect(r.stdout).toBe(
            `income-fortress restore: restored the database from s3://${VAULT.bucket}/${VAULT.prefix}\n`,
        );
    });

    // The codes come from the host contract, so a changed code there fails here until restore.sh follows.
    it("maps exit 4 (refused: not empty) to success and every other failure to a failure", () => {
        const kept = run({ mode: "required", backup: { id: "latest" } }, "[]", EXIT.refused);
        expect(kept.code).toBe(0);
        expect(kept.stdout).toBe(
            "income-fortress restore: the database already has tables, so it was left untouched (a restore only fills an empty database; to replace data run fortress-restore --force on the host)\n",
        );
        const broken = run({ mode: "required", backup: { id: "latest" } }, "[]", EXIT.integrity);
        expect(broken.code).toBe(1);
        expect(broken.stderr).toBe(
            `income-fortress restore: error: fortress-restore exited ${EXIT.integrity} (${EXIT.usage} settings, ${EXIT.integrity} integrity, ${EXIT.failure} other; see its error above); nothing after the restore ran\n`,
        );
    });

    it("fails when the backups cannot be listed, naming where it looked", () => {
        const r = runStep(restoreScript({ mode: "if-empty", backup: { id: "latest" }, source: VAULT }), {
            stubs: { "fortress-backups": "exit 1", "fortress-restore": "" },
        });
        expect(r.code).toBe(1);
        expect(r.stderr).toBe(
            `income-fortress restore: error: cannot list the backups in s3://${VAULT.bucket}/${VAULT.prefix}; see the error above\n`,
        );
        expect(r.calls.some((c) => c.startsWith("fortress-restore"))).toBe(false);
    });

    it("off: only says so", () => {
        const r = run({ mode: "off", backup: { id: "latest" } });
        expect(r.code).toBe(0);
        expect(r.calls).toEqual([]);
        expect(r.stdout).toBe(
            "income-fortress restore: restore is off for this stack (config restoreMode off); the database is left as it is\n",
        );
    });

    it("refuses a malformed backup id or source", () => {
        expect(() => restoreScript({ mode: "required", backup: { id: "yesterday" } })).toThrow(
            /^restoreScript: "yesterday" is not a backup id$/,
        );
        expect(() =>
            restoreScript({ mode: "required", backup: { id: "latest" }, source: { ...VAULT, bucket: "Bad Bucket" } }),
        ).toThrow(/^restoreScript: the restore source needs an http\(s\) endpoint, a bucket name and a plain prefix$/);
        expect(BACKUP_ID.test("20261125T174500Z-pre-v1.1.0")).toBe(true);
    });
});

// ---------------------------------------------------------------- 5. migrate, compose, health

describe("migrate, compose and health", () => {
    /** A compose project folder; with the .env the secrets step writes, unless told otherwise. */
    const project = (withEnv = true): string => {
        const dir = join(freshDir(), "my project");
        mkdirSync(dir);
        if (withEnv) writeFileSync(join(dir, ".env"), "A=1\n", { mode: 0o600 });
        return dir;
    };

    it("migrate passes the folder, the command and the backup's tag, and refuses a command that is not one line", () => {
        expect(
            parseStepText(
                migrateScript({ dir: "/srv/app", command: "./manage.sh migrate --noinput", appRef: "release/2026-02" }),
            ),
        ).toEqual({
            step: "migrate",
            args: ["/srv/app", "./manage.sh migrate --noinput", "pre-migrate-release-2026-02"],
        });
        expect(() => migrateScript({ dir: "/srv/app", command: "a\nb", appRef: "v1" })).toThrow(
            /^migrateScript: the migrate command must be one non-empty line$/,
        );
        expect(() => migrateScript({ dir: "/srv/app", command: "  ", appRef: "v1" })).toThrow(/one non-empty line/);
        expect(() => migrateScript({ dir: "/srv/app", command: "./migrate", appRef: "main..x" })).toThrow(
            /^migrateScript: appRef "main\.\.x" is not a usable git ref/,
        );
    });

    /** fortress-backup stand-ins: what the toolkit prints on stdout for a database with tables, without, or when it fails. */
    const BACKED_UP = "echo 20260203T100000Z-pre-migrate-v1.0.0";
    const NO_TABLES = "echo 'fortress-backup: no tables: no backup taken (--unless-empty)' >&2";
    const BACKUP_FAILS = "echo 'fortress-backup: error: upload failed' >&2; exit 1";

    it("migrate backs the database up first, tagged pre-migrate-<ref>, names the backup, then runs the command line as shell", () => {
        const dir = project();
        const r = runStep(
            migrateScript({
                dir,
                command: 'docker compose run --rm api python manage.py migrate && echo "in $PWD" > ran',
                appRef: "v1.0.0",
            }),
            { stubs: { docker: "", "fortress-backup": BACKED_UP } },
        );
        expect(r.code, r.stderr).toBe(0);
        expect(r.calls).toEqual([
            "sudo [fortress-backup] [--tag] [pre-migrate-v1.0.0] [--unless-empty] [--wait-lock] [1800]",
            "fortress-backup [--tag] [pre-migrate-v1.0.0] [--unless-empty] [--wait-lock] [1800]",
            "docker [compose] [run] [--rm] [api] [python] [manage.py] [migrate]",
        ]);
        expect(readFileSync(join(dir, "ran"), "utf8")).toBe(`in ${dir}\n`);
        expect(r.stdout).toBe(
            "income-fortress migrate: backup 20260203T100000Z-pre-migrate-v1.0.0 taken before the migrations; to undo them: sudo fortress-restore --backup 20260203T100000Z-pre-migrate-v1.0.0 --force\n" +
                `income-fortress migrate: migrations done: docker compose run --rm api python manage.py migrate && echo "in $PWD" > ran\n`,
        );
        const failed = runStep(migrateScript({ dir, command: "docker compose run --rm api false", appRef: "v1.0.0" }), {
            stubs: { docker: "exit 3", "fortress-backup": BACKED_UP },
        });
        expect(failed.code).toBe(3);
        expect(failed.stdout).not.toContain("migrations done");
    });

    it("migrate says why no backup was taken when the database has no tables, then migrates", () => {
        const r = runStep(
            migrateScript({ dir: project(), command: "docker compose run --rm api migrate", appRef: "v1" }),
            {
                stubs: { docker: "", "fortress-backup": NO_TABLES },
            },
        );
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toBe(
            "income-fortress migrate: no backup before the migrations: the database has no tables yet (a first deploy with no backup to restore), so a migration cannot lose data\n" +
                "income-fortress migrate: migrations done: docker compose run --rm api migrate\n",
        );
        expect(r.calls.at(-1)).toBe("docker [compose] [run] [--rm] [api] [migrate]");
    });

    it("migrate runs no migration when the backup fails, and says so", () => {
        const r = runStep(
            migrateScript({ dir: project(), command: "docker compose run --rm api migrate", appRef: "v1" }),
            {
                stubs: { docker: "", "fortress-backup": BACKUP_FAILS },
            },
        );
        expect(r.code).toBe(1);
        expect(r.stdout).toBe("");
        expect(r.stderr).toBe(
            "fortress-backup: error: upload failed\n" +
                "income-fortress migrate: error: the backup before the migrations failed (fortress-backup exited 1; its error is above), so the migrations did not run: fix the backup, then run pulumi up again\n",
        );
        expect(r.calls.filter((c) => c.startsWith("docker"))).toEqual([]);
    });

    it.each([
        [
            "migrate",
            (dir: string) => migrateScript({ dir, command: "docker compose run --rm api migrate", appRef: "v1" }),
        ],
        ["compose", (dir: string) => composeUpScript({ dir })],
        ["images", (dir: string) => imagesScript({ dir })],
    ])("%s refuses to run without the checkout or the .env", (step, text) => {
        const noEnv = project(false);
        const r = runStep(text(noEnv), { stubs: { docker: "", git: "" } });
        expect(r.code).toBe(1);
        expect(r.stderr).toBe(
            `income-fortress ${step}: error: ${noEnv}/.env is missing: the secrets step must run first\n`,
        );
        const gone = runStep(text("/nonexistent/app"), { stubs: { docker: "", git: "" } });
        expect(gone.code).toBe(1);
        expect(gone.stderr).toMatch(
            new RegExp(
                `\\nincome-fortress ${step}: error: /nonexistent/app does not exist: user-data did not check out the app; replace the droplet\\n$`,
            ),
        );
        expect(r.calls.concat(gone.calls).filter((c) => c.startsWith("docker"))).toEqual([]);
    });

    it("images pulls and builds in the compose project and starts nothing; a failed pull of a built service is no failure, a failed build is", () => {
        expect(parseStepText(imagesScript({ dir: "/srv/app" }))).toEqual({ step: "images", args: ["/srv/app"] });
        const dir = project();
        const r = runStep(imagesScript({ dir }), { stubs: { docker: "", git: "echo v1.0.0" } });
        expect(r.code, r.stderr).toBe(0);
        expect(r.calls).toEqual([
            "docker [compose] [pull] [--ignore-pull-failures]",
            "docker [compose] [build] [--pull]",
            `git [-C] [${dir}] [describe] [--tags] [--always]`,
        ]);
        expect(r.calls.some((c) => c.includes("[up]"))).toBe(false);
        expect(r.stdout).toBe("income-fortress images: images ready for v1.0.0\n");
        const failed = runStep(imagesScript({ dir }), {
            stubs: { docker: '[[ "$2" == build ]] && exit 17; exit 0', git: "echo v1.0.0" },
        });
        expect(failed.code).toBe(17);
        expect(failed.stdout).toBe("");
    });

    it("compose starts the services detached in the compose project, then shows them", () => {
        expect(parseStepText(composeUpScript({ dir: "/srv/app" }))).toEqual({ step: "compose-up", args: ["/srv/app"] });
        const dir = project();
        const r = runStep(composeUpScript({ dir }), { stubs: { docker: "", git: "echo v1.0.0" } });
        expect(r.code, r.stderr).toBe(0);
        expect(r.calls).toEqual([
            `git [-C] [${dir}] [describe] [--tags] [--always]`,
            "docker [compose] [up] [-d] [--build] [--remove-orphans]",
            "docker [compose] [ps]",
        ]);
        expect(r.stdout).toBe("income-fortress compose: starting v1.0.0\n");
        expect(composeDir({ dir: "/opt/a", composeSubdir: "." })).toBe("/opt/a");
        expect(composeDir({ dir: "/opt/a", composeSubdir: "income-platform" })).toBe("/opt/a/income-platform");
    });

    it("stop-app stops the containers in the compose project and keeps them; a second run does the same", () => {
        const dir = project();
        for (let i = 0; i < 2; i++) {
            const r = runStep(composeStopScript({ dir }), { stubs: { docker: "" } });
            expect(r.code, r.stderr).toBe(0);
            expect(r.calls).toEqual(["docker [compose] [stop]", "docker [compose] [ps] [--all]"]);
            expect(r.stdout).toBe(
                "income-fortress isolate: the app's containers are stopped and kept; they start again when isolate is false\n",
            );
        }
        const failed = runStep(composeStopScript({ dir }), { stubs: { docker: "exit 1" } });
        expect(failed.code).toBe(1);
    });

    it("evidence runs fortress-evidence as root with the compose folder and label, and fails the step when it fails", () => {
        const dir = project();
        const other = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
        const text = evidenceScript({ dir, label: "isolate-d424242", recipients: [RECIPIENT, other] });
        expect(parseStepText(text)).toEqual({ step: "evidence", args: [dir, "isolate-d424242", RECIPIENT, other] });
        const ok = runStep(text, { stubs: { sudo: "", "fortress-evidence": "" } });
        expect(ok.code, ok.stderr).toBe(0);
        expect(ok.calls).toEqual([
            `sudo [BACKUP_AGE_RECIPIENTS=${RECIPIENT} ${other}] [fortress-evidence] [--compose-dir] [${dir}] [--label] [isolate-d424242]`,
        ]);
        const failed = runStep(text, { stubs: { sudo: "exit 1", "fortress-evidence": "" } });
        expect(failed.code).toBe(1);
        expect(failed.stderr).toMatch(
            /^income-fortress evidence: error: fortress-evidence failed \(see above\): fix the cause and run pulumi up again; nothing is replaced before the evidence is kept\n$/,
        );
        expect(() => evidenceScript({ dir, label: "bad label", recipients: [RECIPIENT] })).toThrow(
            /evidenceScript: label "bad label"/,
        );
        expect(() => evidenceScript({ dir, label: "x", recipients: [] })).toThrow(/one or more age public keys/);
        // A droplet from before the command: the step says what is lost and lets the rotation go on.
        const old = runStep(text, { stubs: { sudo: "exit 1" } });
        expect(old.code, old.stderr).toBe(0);
        expect(old.calls).toEqual([]);
        expect(old.stdout).toMatch(
            /^income-fortress evidence: WARNING: this droplet predates fortress-evidence, so no bundle is taken/,
        );
    });

    it("health passes the URL, timeout, interval (default 5) and folder, and refuses URLs with credentials or quotes", () => {
        expect(
            parseStepText(
                healthGateScript({
                    url: "https://localhost/health",
                    timeoutSeconds: 42,
                    intervalSeconds: 3,
                    dir: "/srv/app",
                }),
            ).args,
        ).toEqual(["https://localhost/health", "42", "3", "/srv/app"]);
        expect(
            parseStepText(healthGateScript({ url: "https://localhost/health", timeoutSeconds: 42, dir: "/srv/app" }))
                .args[2],
        ).toBe("5");
        expect(() => healthGateScript({ url: "http://user:pw@localhost/", timeoutSeconds: 5, dir: "/a" })).toThrow(
            /^healthGateScript: "http:\/\/user:pw@localhost\/" is not an http\(s\) URL without credentials$/,
        );
        expect(() => healthGateScript({ url: "http://localhost/'x", timeoutSeconds: 5, dir: "/a" })).toThrow(
            /without credentials/,
        );
        expect(() => healthGateScript({ url: "http://localhost/", timeoutSeconds: 0, dir: "/a" })).toThrow(
            /^healthGateScript: timeout and interval are whole seconds >= 1$/,
        );
    });

    it("health polls until 200", () => {
        const r = runStep(
            healthGateScript({
                url: "http://localhost:8000/health",
                timeoutSeconds: 5,
                intervalSeconds: 1,
                dir: "/srv/app",
            }),
            { stubs: { curl: "printf 200" } },
        );
        expect(r.code, r.stderr).toBe(0);
        expect(r.calls).toEqual([
            "curl [-s] [-o] [/dev/null] [-w] [%{http_code}] [--max-time] [5] [--] [http://localhost:8000/health]",
        ]);
        expect(r.stdout).toMatch(/^income-fortress health: http:\/\/localhost:8000\/health answered 200 after \d+s\n$/);
    });

    it.each([
        ["an error status", "printf 503", "HTTP 503"],
        ["no connection", "printf 000; exit 7", "no answer (connection failed)"],
    ])("health gives up after the timeout on %s, with the last answer and where to look", (_name, curl, last) => {
        const r = runStep(
            healthGateScript({
                url: "http://localhost:8000/health",
                timeoutSeconds: 1,
                intervalSeconds: 1,
                dir: "/srv/app",
            }),
            { stubs: { curl } },
        );
        expect(r.code).toBe(1);
        expect(r.calls.length).toBeGreaterThanOrEqual(2);
        expect(r.stderr).toBe(
            `income-fortress health: error: http://localhost:8000/health did not answer 200 within 1s (last: ${last}); check docker compose ps and docker compose logs --tail=100 in /srv/app\n`,
        );
    });
});

// ---------------------------------------------------------------- TLS

describe("tls", () => {
    const resolvesTo = (address: string) => ({
        getent: `printf '%s STREAM api.incomefortress.com\\n%s DGRAM\\n' ${address} ${address}`,
    });
    const recorders = { certbot: "", systemctl: "" };

    it("http-01 passes the name, the address it waits for, the account, the proxy, the wait and the packages", () => {
        expect(parseStepText(tlsScript({ ...TLS, resolveTimeoutSeconds: 30 }))).toEqual({
            step: "tls-http-01",
            args: ["api.incomefortress.com", "192.0.2.200", "ops@incomefortress.com", APP, "nginx", "30", "certbot"],
        });
        expect(parseStepText(tlsScript(TLS)).args[5]).toBe("600");
    });

    it("http-01 waits for the name to resolve to the host, then asks certbot (standalone) with renewal hooks that free port 80", () => {
        const dir = join(freshDir(), "my project");
        mkdirSync(dir);
        const r = runStep(tlsScript({ ...TLS, dir }), {
            stubs: { ...resolvesTo("192.0.2.200"), ...recorders, docker: "" },
        });
        expect(r.code, r.stderr).toBe(0);
        const quoted = dir.replace(/ /g, "\\ ");
        expect(r.calls).toEqual([
            "getent [ahostsv4] [api.incomefortress.com]",
            `sudo [certbot] [certonly] [--standalone] [--non-interactive] [--agree-tos] [--no-eff-email] [--keep-until-expiring] [--cert-name] [api.incomefortress.com] [-m] [ops@incomefortress.com] [-d] [api.incomefortress.com] [--pre-hook] [cd ${quoted} && docker compose stop nginx] [--post-hook] [cd ${quoted} && docker compose start nginx]`,
            `certbot [certonly] [--standalone] [--non-interactive] [--agree-tos] [--no-eff-email] [--keep-until-expiring] [--cert-name] [api.incomefortress.com] [-m] [ops@incomefortress.com] [-d] [api.incomefortress.com] [--pre-hook] [cd ${quoted} && docker compose stop nginx] [--post-hook] [cd ${quoted} && docker compose start nginx]`,
            "sudo [systemctl] [enable] [--now] [certbot.timer]",
            "systemctl [enable] [--now] [certbot.timer]",
        ]);
        expect(r.stdout).toBe(
            "income-fortress tls: certificate for api.incomefortress.com (http-01) in /etc/letsencrypt/live/api.incomefortress.com/ (fullchain.pem, privkey.pem), renewed by certbot.timer\n",
        );
        // certbot runs the hooks with /bin/sh: they reach the project, a space in its name and all.
        const preHook = /\[--pre-hook\] \[([^\]]+)\]/.exec(r.calls[1])![1];
        const hook = runStep(`sh -c ${shQuote(preHook)}`, {
            stubs: { docker: 'printf "%s\\n" "$PWD" >>"$STEP_CALLS"' },
        });
        expect(hook.calls).toEqual(["docker [compose] [stop] [nginx]", dir]);
    });

    it("installs certbot (and the DNS plugin) first on a host built before the challenge was chosen", () => {
        const installs = {
            "apt-get": `printf '#!/bin/sh\\nexit 0\\n' >"\${0%/*}/certbot" && chmod +x "\${0%/*}/certbot"`,
            systemctl: "",
        };
        const r = runStep(tlsScript(TLS_DR), { stubs: { ...installs } });
        expect(r.calls.slice(0, 2)).toEqual([
            "sudo [env] [DEBIAN_FRONTEND=noninteractive] [apt-get] [install] [-y] [-q] [certbot] [python3-certbot-dns-digitalocean]",
            "apt-get [install] [-y] [-q] [certbot] [python3-certbot-dns-digitalocean]",
        ]);
        const failed = runStep(tlsScript(TLS), { stubs: { "apt-get": "exit 100" } });
        expect(failed.code).toBe(1);
        expect(failed.stderr).toBe(
            "income-fortress tls: error: cannot install certbot (apt-get install); check the droplet's outbound access and run pulumi up again\n",
        );
    });

    it("http-01 gives up when the name never resolves to the host, before asking certbot", () => {
        const r = runStep(tlsScript({ ...TLS, resolveTimeoutSeconds: 0 }), {
            stubs: { ...resolvesTo("192.0.2.99"), ...recorders },
        });
        expect(r.code).toBe(1);
        expect(r.stderr).toBe(
            "income-fortress tls: error: api.incomefortress.com does not resolve to 192.0.2.200 after 0s; check the DNS record (pulumi stack output hostname), then run pulumi up again\n",
        );
        expect(r.calls.filter((c) => c.includes("certbot"))).toEqual([]);
    });

    describe("dns-01", () => {
        it("passes the account, the proxy, the token file, the wait, the packages and every name, the host's own first", () => {
            expect(parseStepText(tlsScript(TLS_DR))).toEqual({
                step: "tls-dns-01",
                args: [
                    "ops@incomefortress.com",
                    APP,
                    "nginx",
                    DNS_CREDENTIALS_FILE,
                    "60",
                    "certbot python3-certbot-dns-digitalocean",
                    "api-dr.incomefortress.com",
                    "api.incomefortress.com",
                ],
            });
            expect(
                parseStepText(
                    tlsScript({ ...TLS_DR, propagationSeconds: 120, credentialsFile: "/etc/x.ini" }),
                ).args.slice(3, 5),
            ).toEqual(["/etc/x.ini", "120"]);
        });

        it("proves every name through DigitalOcean DNS once the token is there, under one lineage named after the host's own record", () => {
            const dir = freshDir();
            const token = join(dir, "certbot-digitalocean.ini");
            writeFileSync(token, "dns_digitalocean_token = x\n");
            const r = runStep(tlsScript({ ...TLS_DR, credentialsFile: token }), { stubs: recorders });
            expect(r.code, r.stderr).toBe(0);
            const args =
                `[certonly] [--dns-digitalocean] [--dns-digitalocean-credentials] [${token}] [--dns-digitalocean-propagation-seconds] [60] [--non-interactive] [--agree-tos] [--no-eff-email] [--keep-until-expiring] ` +
                "[--cert-name] [api-dr.incomefortress.com] [-m] [ops@incomefortress.com] [-d] [api-dr.incomefortress.com] [-d] [api.incomefortress.com] " +
                `[--deploy-hook] [cd ${APP} && if [ -n "$(docker compose ps -q nginx)" ]; then docker compose restart nginx; fi]`;
            expect(r.calls).toEqual([
                `sudo [test] [-s] [${token}]`,
                `sudo [certbot] ${args}`,
                `certbot ${args}`,
                "sudo [systemctl] [enable] [--now] [certbot.timer]",
                "systemctl [enable] [--now] [certbot.timer]",
            ]);
            expect(r.stdout).toBe(
                "income-fortress tls: certificate for api-dr.incomefortress.com, api.incomefortress.com (dns-01) in /etc/letsencrypt/live/api-dr.incomefortress.com/ (fullchain.pem, privkey.pem), renewed by certbot.timer\n",
            );
        });

        it("fails before certbot when the token file is missing, and says which step writes it", () => {
            const r = runStep(tlsScript({ ...TLS_DR, credentialsFile: "/nonexistent/certbot.ini" }), {
                stubs: recorders,
            });
            expect(r.code).toBe(1);
            expect(r.stderr).toBe(
                "income-fortress tls: error: /nonexistent/certbot.ini is missing, so certbot has no DigitalOcean token; the secret-dns-token step writes it: run pulumi up again\n",
            );
            expect(r.calls.some((c) => c.startsWith("certbot"))).toBe(false);
        });

        it.each(["isolated", "served-by-dr"] as const)(
            "still asks for the certificate when %s: DNS-01 needs neither port 80 nor the name",
            (skip) => {
                expect(parseStepText(tlsScript({ ...TLS_DR, skip })).step).toBe("tls-dns-01");
            },
        );

        it.each([
            [
                "a public name twice",
                { alsoFor: ["api-dr.incomefortress.com"] },
                /^tlsScript: api-dr\.incomefortress\.com, api-dr\.incomefortress\.com names one host twice$/,
            ],
            ["a public name with a space", { alsoFor: ["api incomefortress.com"] }, /not a host name/],
            [
                "a propagation wait under 10 s",
                { propagationSeconds: 5 },
                /^tlsScript: propagationSeconds is a whole number of seconds >= 10$/,
            ],
        ])("refuses %s", (_name, bad, pattern) => {
            expect(() => tlsScript({ ...TLS_DR, ...bad })).toThrow(pattern);
        });

        it("http-01 refuses more names: their challenges could never reach this host", () => {
            expect(() => tlsScript({ ...TLS, alsoFor: ["api-dr.incomefortress.com"] })).toThrow(
                /http-01 cannot prove api-dr\.incomefortress\.com/,
            );
        });

        it("writes the token as the plugin's one-line INI file, and refuses anything that would break the line", () => {
            const token = `dop_v1_${"ab".repeat(32)}`;
            expect(dnsCredentialsFile(` ${token}\n`)).toMatch(
                new RegExp(`^# [^\n]+\ndns_digitalocean_token = ${token}\n$`),
            );
            for (const bad of ["", "abc def", "abc\nextra = 1", "tok'en"])
                expect(() => dnsCredentialsFile(bad), JSON.stringify(bad)).toThrow(/not a DigitalOcean API token/);
        });
    });

    it.each([
        [
            "isolated",
            "the firewall is isolated (inbound 80/443 closed), so no HTTP-01 challenge can reach api.incomefortress.com; the certificate on the host is kept and renews once isolate is false again",
        ],
        [
            "served-by-dr",
            "api.incomefortress.com points at the DR site (activeSite dr), so this host cannot answer its HTTP-01 challenge; no certificate is requested here",
        ],
    ] as const)("http-01 when %s only explains why there is no challenge", (skip, message) => {
        const text = tlsScript({ ...TLS, skip });
        expect(parseStepText(text)).toEqual({ step: "tls-skipped", args: [skip, "api.incomefortress.com"] });
        expect(text).not.toContain("certbot");
        const r = runStep(text, { stubs: recorders });
        expect(r.code).toBe(0);
        expect(r.calls).toEqual([]);
        expect(r.stdout).toBe(`income-fortress tls: ${message}\n`);
    });

    it.each([
        [
            "a host name with a space",
            { fqdn: "api incomefortress.com" },
            /^tlsScript: "api incomefortress.com" is not a host name$/,
        ],
        ["an IPv6 address", { address: "2001:db8::1" }, /^tlsScript: "2001:db8::1" is not an IPv4 address$/],
        ["an e-mail with a quote", { email: "o'ps@x.com" }, /^tlsScript: "o'ps@x.com" is not an e-mail address$/],
        [
            "a service with a semicolon",
            { proxyService: "nginx;rm" },
            /^tlsScript: "nginx;rm" is not a compose service name$/,
        ],
    ])("refuses %s", (_name, bad, pattern) => {
        expect(() => tlsScript({ ...TLS, ...bad })).toThrow(pattern);
    });
});

describe("credentials.env: the stale-backup heartbeat", () => {
    const base = {
        databaseUrl: "postgresql://u:pw@h:25060/db?sslmode=require",
        spacesAccessKeyId: "DO00ABCDEFGHIJKLMNOP",
        spacesSecretAccessKey: "s3cr3t/with+chars=",
    };
    const keysOf = (text: string) =>
        text
            .split("\n")
            .filter((l) => l && !l.startsWith("#"))
            .map((l) => l.split("=")[0]);

    it("adds BACKUP_HEARTBEAT_URL last, single-quoted, when a heartbeat URL is set", () => {
        const url = "https://hc-ping.com/0f3c1d52-5b8e-4d7a-9c51-2f6a0b7e9d41";
        const text = credentialsFile({ ...base, backupHeartbeatUrl: url });
        expect(keysOf(text)).toEqual([
            "DATABASE_URL",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "BACKUP_HEARTBEAT_URL",
        ]);
        expect(text).toContain(`\nBACKUP_HEARTBEAT_URL='${url}'\n`);
    });

    it.each([
        ["undefined", undefined],
        ["empty", ""],
    ])("writes no BACKUP_HEARTBEAT_URL line when it is %s", (_what, url) => {
        expect(keysOf(credentialsFile({ ...base, backupHeartbeatUrl: url }))).toEqual([
            "DATABASE_URL",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
        ]);
    });

    it("refuses a URL the single quotes cannot carry, rather than write a file the toolkit would misread", () => {
        expect(() => credentialsFile({ ...base, backupHeartbeatUrl: "https://hc-ping.com/it's" })).toThrow(
            /BACKUP_HEARTBEAT_URL/,
        );
    });
});
