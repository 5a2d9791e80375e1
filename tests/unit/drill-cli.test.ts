// The two entry points as a user runs them (node + ts-node, as `npm run drill|rehearse`):
// --help, usage errors, and the drill's up-front check for the pulumi CLI. No services.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT, entryArgs } from "../support/entry-point";

const scratch = mkdtempSync(join(tmpdir(), "drill-cli-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs drill/<entry>.ts with a minimal environment (no pulumi, no credentials). */
function cli(entry: "drill-cli" | "rehearse-cli" | "failback-cli", args: string[], env: Record<string, string> = {}) {
    const r = spawnSync(process.execPath, entryArgs(`drill/${entry}.ts`, args), {
        cwd: ROOT,
        env: { PATH: join(scratch, "no-such-dir"), HOME: scratch, TMPDIR: tmpdir(), ...env },
        encoding: "utf8",
        timeout: 60_000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("npm run drill", () => {
    it("--help prints the usage, the options and the exit codes", () => {
        const r = cli("drill-cli", ["--help"]);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/^Usage: npm run drill -- \[options\]/);
        for (const opt of [
            "--keep",
            "--dr-stack",
            "--org ORG",
            "--admin-cidr",
            "--target KEY=DURATION",
            "--targets FILE",
            "--out DIR",
        ])
            expect(r.stdout).toContain(opt);
        expect(r.stdout).toContain("Exit codes: 0");
    });

    it("fails up front with exit 2 and says how to install pulumi when it is missing", () => {
        const r = cli("drill-cli", ["--out", join(scratch, "reports")], {
            DIGITALOCEAN_TOKEN: "x",
            SPACES_ACCESS_KEY_ID: "x",
            SPACES_SECRET_ACCESS_KEY: "x",
        });
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(
            /^drill: error: the Pulumi CLI \(pulumi\) is not installed or not on PATH: install it .*\n$/,
        );
        expect(r.stdout).toBe("");
    });

    it.each([
        [["--stack", "prod"], /--stack: stack name "prod" is not a drill name/],
        [["--org", "acme/ops"], /--org: "acme\/ops" is not a Pulumi organisation name/],
        [["--admin-cidr", "everyone"], /--admin-cidr everyone: not a CIDR/],
        [
            ["--target", "api=9h"],
            /9 hours is beyond the plan's maximum acceptable for API \(Complete Outage\) \(8 hours\)/,
        ],
        [["--health-timeout", "soon"], /--health-timeout soon: not a duration/],
        [["--backup", "yesterday"], /--backup yesterday: use latest, a backup id/],
        [["--bogus"], /Unknown option '--bogus'/],
        [["extra"], /Unexpected argument 'extra'/],
    ])("%j is a usage error (exit 2, one line, points at --help)", (args, message) => {
        const r = cli("drill-cli", args);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
        expect(r.stderr).toContain("(see drill --help)");
    });
});

describe("npm run drill --org", () => {
    // A stand-in pulumi on PATH records every command the Automation API runs. It lets
    // `stack init` pass and refuses `stack select`, so the drill stops right after creating
    // the stack and removes it; what matters is the stack name each command was given. The
    // drill runs on a copy of the project files, so no stack file lands in the repository.
    const bin = join(scratch, "fake-pulumi-bin");
    const work = join(scratch, "project");
    const log = join(scratch, "pulumi-calls.log");
    mkdirSync(bin, { recursive: true });
    mkdirSync(work, { recursive: true });
    for (const f of ["Pulumi.yaml", "Pulumi.dr.yaml"]) writeFileSync(join(work, f), readFileSync(join(ROOT, f)));
    writeFileSync(
        join(bin, "pulumi"),
        [
            "#!/usr/bin/env bash",
            'printf "%s\\n" "$*" >> "$FAKE_PULUMI_LOG"',
            'case "$1 ${2:-}" in',
            '  "version "*) echo v3.200.0 ;;',
            '  "whoami "*) echo \'{"user":"drill-tester","url":"https://app.example.invalid","organizations":["acme-ops"]}\' ;;',
            '  "stack select") echo "error: refused by the test" >&2; exit 1 ;;',
            "esac",
            "",
        ].join("\n"),
    );
    chmodSync(join(bin, "pulumi"), 0o755);

    function drillWithFakePulumi(args: string[]) {
        rmSync(log, { force: true });
        const out = mkdtempSync(join(scratch, "reports-"));
        const r = cli("drill-cli", ["--stack", "drill-20260301-060000", "--work-dir", work, "--out", out, ...args], {
            PATH: `${bin}:/usr/bin:/bin`,
            FAKE_PULUMI_LOG: log,
            DIGITALOCEAN_TOKEN: "x",
            SPACES_ACCESS_KEY_ID: "x",
            SPACES_SECRET_ACCESS_KEY: "x",
        });
        const calls = readFileSync(log, "utf8").trim().split("\n");
        return { ...r, calls, out };
    }

    it("creates and removes org/drill-… when --org is given, and names the report drill-…", () => {
        const r = drillWithFakePulumi(["--org", "acme-ops"]);
        expect(r.stderr).toContain("stack acme-ops/drill-20260301-060000");
        expect(r.code).toBe(1);
        const stackCalls = r.calls.filter((c) => c.startsWith("stack "));
        expect(stackCalls.some((c) => /^stack init acme-ops\/drill-20260301-060000( |$)/.test(c))).toBe(true);
        expect(stackCalls.some((c) => /^stack rm .*acme-ops\/drill-20260301-060000( |$)/.test(c))).toBe(true);
        expect(stackCalls.every((c) => c.includes("acme-ops/drill-20260301-060000"))).toBe(true);
        // The report file keeps the bare name; the workflow looks for reports/drill-*.json.
        const report = JSON.parse(readFileSync(join(r.out, "drill-20260301-060000.json"), "utf8")) as {
            id: string;
            context: Record<string, string>;
        };
        expect(report.id).toBe("drill-20260301-060000");
        expect(report.context.stack).toBe("acme-ops/drill-20260301-060000");
    });

    it("uses the bare stack name without --org", () => {
        const r = drillWithFakePulumi([]);
        expect(r.code).toBe(1);
        expect(r.calls.some((c) => /^stack init drill-20260301-060000( |$)/.test(c))).toBe(true);
        expect(r.calls.some((c) => /^stack rm .*drill-20260301-060000( |$)/.test(c))).toBe(true);
        expect(r.calls.join("\n")).not.toContain("/drill-");
    });
});

describe("npm run rehearse", () => {
    it("--help prints the usage and the exit codes", () => {
        const r = cli("rehearse-cli", ["-h"]);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/^Usage: npm run rehearse -- \[options\]/);
        for (const opt of [
            "--database-url URL",
            "--dataset D",
            "--disaster-at T",
            "--target KEY=DURATION",
            "--out DIR",
        ])
            expect(r.stdout).toContain(opt);
    });

    it.each([
        [["--scale", "0"], /--scale 0: use a number above 0/],
        [["--dataset", "huge"], /--dataset huge: use one of auto, plan, pagila, both/],
        [["--target", "bogus=1h"], /"bogus" is not an objective of the plan; use one of rto\.api/],
        [["--targets", "/no/such/file.json"], /--targets \/no\/such\/file\.json: cannot read it \(ENOENT\)/],
        [["--disaster-at", "2001-01-01T00:00:00Z"], /is in the past/],
        [
            ["--database-url", "postgresql://x@127.0.0.1/db", "--dataset", "plan"],
            /cannot be combined with --database-url/,
        ],
    ])("%j is a usage error", (args, message) => {
        const r = cli("rehearse-cli", args);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(message);
    });
});

describe("npm run rehearse --scenario failback", () => {
    it("--help describes the scenario and its options", () => {
        const r = cli("rehearse-cli", ["-h"]);
        for (const opt of ["--scenario S", "--stack NAME", "--ttl D", "--dr-writes D"]) expect(r.stdout).toContain(opt);
    });

    it.each([
        [["--scenario", "failover"], /--scenario failover: use default or failback/],
        [
            ["--scenario", "failback", "--database-url", "postgresql://x@127.0.0.1/db"],
            /--database-url is for the default scenario/,
        ],
        [["--scenario", "failback", "--disaster-at", "+5m"], /--disaster-at is for the default scenario/],
        [
            ["--scenario", "failback", "--dataset", "pagila"],
            /--dataset pagila: the failback's simulated app writes to the plan's tables/,
        ],
        [["--scenario", "failback", "--ttl", "soon"], /--ttl soon: not a duration/],
        [["--ttl", "5s"], /--ttl is for --scenario failback/],
        [["--dr-writes", "5s"], /--dr-writes is for --scenario failback/],
    ])("%j is a usage error", (args, message) => {
        const r = cli("rehearse-cli", args);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
    });
});

describe("npm run failback", () => {
    it("--help prints the usage, the steps, the options and the exit codes", () => {
        const r = cli("failback-cli", ["--help"]);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/^Usage: npm run failback -- --yes \[options\]/);
        for (const opt of [
            "--yes",
            "--stack NAME",
            "--dr-stack NAME",
            "--writers A,B",
            "--session-timeout D",
            "--resolve-timeout D",
            "--target KEY=DURATION",
            "--out DIR",
        ])
            expect(r.stdout).toContain(opt);
        expect(r.stdout).toContain("fortress-restore --force");
        expect(r.stdout).toContain("Exit codes: 0");
    });

    it.each([
        [[], /the failback stops the live DR site's writes while it runs: announce the freeze, then run it with --yes/],
        [["--yes", "--writers", ","], /--writers: name at least one compose service/],
        [["--yes", "--writers", "api;reboot"], /"api;reboot" is not a compose service name/],
        [["--yes", "--org", "a/b"], /--org: "a\/b" is not a Pulumi organisation name/],
        [["--yes", "--target", "api=9h"], /beyond the plan's maximum acceptable/],
        [["--yes", "--health-timeout", "later"], /--health-timeout later: not a duration/],
    ])("%j is a usage error (exit 2, nothing touched)", (args, message) => {
        const r = cli("failback-cli", args);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(r.stderr).toContain("(see failback --help)");
        expect(r.stdout).toBe("");
    });

    /** A folder with the project file and these stack files. */
    function stacks(name: string, files: Record<string, string>): string {
        const work = join(scratch, name);
        mkdirSync(work, { recursive: true });
        writeFileSync(join(work, "Pulumi.yaml"), readFileSync(join(ROOT, "Pulumi.yaml"), "utf8"));
        for (const [stack, body] of Object.entries(files))
            writeFileSync(join(work, `Pulumi.${stack}.yaml`), `config:\n${body}`);
        return work;
    }
    const DR_FILE =
        "  income-fortress:role: dr\n  income-fortress:ageRecipients:\n    - age1m329mc5c7rzwq438m0ey0ryzeq8pgxwmenhvpwtxg8qvp5pdaghqzjmsgg\n";

    it.each([
        [
            "the record already points at prod",
            { prod: "  income-fortress:role: primary\n", dr: DR_FILE },
            /^failback: error: Pulumi\.prod\.yaml has activeSite primary: the public record already points at prod, so there is nothing to fail back/,
        ],
        [
            "prod cannot decrypt DR's backups",
            {
                prod: "  income-fortress:activeSite: dr\n  income-fortress:ageRecipients:\n    - age1other\n",
                dr: DR_FILE,
            },
            /^failback: error: dr's backups are encrypted to ageRecipients age1m329mc5c…, none of which is prod's/,
        ],
        [
            "the DR stack's file is missing",
            { prod: "  income-fortress:activeSite: dr\n" },
            /^failback: error: .*Pulumi\.dr\.yaml does not exist: run the failback from the repository that holds the stacks' files, or pass --work-dir/,
        ],
    ])("%s: exit 2 before any CLI or credential is needed", (name, files, message) => {
        const work = stacks(name.replace(/\W+/g, "-"), files);
        const r = cli("failback-cli", ["--yes", "--work-dir", work, "--out", join(work, "reports")]);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(r.stdout).toBe("");
    });

    it("fails up front with exit 2, no report, when the pulumi CLI is missing", () => {
        const out = join(scratch, "failback-reports");
        const work = stacks("ready", {
            prod: "  income-fortress:activeSite: dr\n",
            dr: "  income-fortress:role: dr\n",
        });
        const r = cli("failback-cli", ["--yes", "--work-dir", work, "--out", out], {
            DIGITALOCEAN_TOKEN: "x",
            SPACES_ACCESS_KEY_ID: "x",
            SPACES_SECRET_ACCESS_KEY: "x",
        });
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/^failback: error: the Pulumi CLI \(pulumi\) is not installed or not on PATH/);
        expect(r.stdout).toBe("");
    });
});
