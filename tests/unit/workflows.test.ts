// The GitHub workflows cannot run here, so they are checked three ways:
// 1. the real action-validator (wasm build, no network) validates every workflow file,
//    and is shown to reject a broken one;
// 2. their structure is read back and checked against what the README promises
//    (PR preview of prod and dr with the policy pack, quarterly drill, secrets only from
//    `secrets.*`, actions pinned to a major version, Node from .nvmrc);
// 3. the drill's report check, an inline script, is extracted and run for real on
//    passing and failing reports.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { parse as parseYaml } from "yaml";
import { findSecretPatterns } from "../../policy/policies";

const root = path.resolve(__dirname, "../..");
const workflowDir = path.join(root, ".github/workflows");
const validatorCli = path.join(root, "node_modules/@action-validator/cli/cli.mjs");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "workflows-test-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const workflowFiles = fs
    .readdirSync(workflowDir)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => path.join(workflowDir, f));

function actionValidator(file: string) {
    const r = spawnSync(process.execPath, [validatorCli, file], { encoding: "utf8", timeout: 60_000 });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

type Workflow = Record<string, any>;
const load = (name: string): Workflow => parseYaml(fs.readFileSync(path.join(workflowDir, name), "utf8")) as Workflow;
const allSteps = (wf: Workflow): Record<string, any>[] => Object.values(wf.jobs).flatMap((job: any) => job.steps ?? []);

describe("action-validator", () => {
    test("finds the two workflows", () => {
        expect(workflowFiles.map((f) => path.basename(f)).sort()).toEqual(["drill.yml", "pull-request.yml"]);
    });

    test.each(workflowFiles.map((f) => [path.basename(f), f]))("%s is valid", (_, file) => {
        const r = actionValidator(file);
        expect(r.output).toBe("");
        expect(r.status).toBe(0);
    });

    test("rejects a broken workflow (it can fail)", () => {
        const broken = path.join(tmp, "broken.yml");
        const good = fs.readFileSync(path.join(workflowDir, "pull-request.yml"), "utf8");
        // A misspelt key inside a job: the schema allows no `step`, only `steps`.
        fs.writeFileSync(broken, good.replace(/^(\s+)steps:/m, "$1step:"));
        const r = actionValidator(broken);
        expect(r.status).toBe(1);
        expect(r.output).toContain("step");
        expect(JSON.parse(r.output).errors.length).toBeGreaterThan(0);
    });
});

describe("every workflow", () => {
    test.each(workflowFiles.map((f) => [path.basename(f), f]))("%s: actions pinned to a major version or a commit", (_, file) => {
        const uses = allSteps(parseYaml(fs.readFileSync(file, "utf8"))).flatMap((s) => (s.uses ? [s.uses as string] : []));
        expect(uses.length).toBeGreaterThan(0);
        for (const u of uses) expect(u).toMatch(/^[\w.-]+\/[\w.-]+(\/[\w./-]+)?@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/);
    });

    test.each(workflowFiles.map((f) => [path.basename(f), f]))("%s: secrets come only from `secrets.*`, and no secret is written in the file", (_, file) => {
        const text = fs.readFileSync(file, "utf8");
        expect(findSecretPatterns(text)).toEqual([]);
        const env = Object.values(parseYaml(text).jobs).flatMap((job: any) => Object.entries<string>(job.env ?? {}));
        for (const [key, value] of env.filter(([k]) => /TOKEN|SECRET|KEY/.test(k))) {
            expect(value, key).toMatch(/^\$\{\{ (secrets\.[A-Z_]+|github\.token) \}\}$/);
        }
    });

    test.each(workflowFiles.map((f) => [path.basename(f), f]))("%s: Node comes from .nvmrc", (_, file) => {
        const setups = allSteps(parseYaml(fs.readFileSync(file, "utf8"))).filter((s) => String(s.uses).startsWith("actions/setup-node@"));
        expect(setups.length).toBeGreaterThan(0);
        for (const s of setups) expect(s.with["node-version-file"]).toBe(".nvmrc");
        expect(fs.readFileSync(path.join(root, ".nvmrc"), "utf8").trim()).toMatch(/^22/);
    });
});

describe("pull-request.yml", () => {
    const wf = load("pull-request.yml");

    test("runs on pull requests, tests first, then previews prod and dr with the policy pack", () => {
        expect(wf.on).toHaveProperty("pull_request");
        const testJob = wf.jobs.test;
        expect(testJob.steps.some((s: { run?: string }) => s.run?.includes(".ci/run"))).toBe(true);

        const preview = wf.jobs.preview;
        expect(preview.needs).toBe("test");
        expect([...preview.strategy.matrix.stack].sort()).toEqual(["dr", "prod"]);
        const pulumi = preview.steps.find((s: { uses?: string }) => s.uses?.startsWith("pulumi/actions@"));
        expect(pulumi.with).toMatchObject({ command: "preview", policyPacks: "policy", "comment-on-pr": true });
        expect(pulumi.with["stack-name"]).toContain("matrix.stack");
        // The pack's PulumiPolicy.yaml is where --policy-pack points.
        expect(fs.existsSync(path.join(root, pulumi.with.policyPacks, "PulumiPolicy.yaml"))).toBe(true);
        // Dependencies are installed before the preview (the action does not install them).
        const npmCi = preview.steps.findIndex((s: { run?: string }) => s.run?.startsWith("npm ci"));
        expect(npmCi).toBeGreaterThanOrEqual(0);
        expect(npmCi).toBeLessThan(preview.steps.indexOf(pulumi));
    });

    test("may comment on the pull request, and nothing more", () => {
        expect(wf.permissions).toEqual({ contents: "read" });
        expect(wf.jobs.preview.permissions).toEqual({ contents: "read", "pull-requests": "write" });
    });

    test("the preview job gets the DigitalOcean and Pulumi credentials", () => {
        const env = wf.jobs.preview.env;
        for (const name of ["PULUMI_ACCESS_TOKEN", "DIGITALOCEAN_TOKEN", "SPACES_ACCESS_KEY_ID", "SPACES_SECRET_ACCESS_KEY"]) {
            expect(env[name]).toBe(`\${{ secrets.${name} }}`);
        }
    });
});

describe("drill.yml", () => {
    const wf = load("drill.yml");
    const steps = wf.jobs.drill.steps as { id?: string; name?: string; run?: string; uses?: string; if?: string; with?: Record<string, unknown> }[];

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
        const drill = steps.findIndex((s) => s.run?.includes("npm run drill"));
        const cli = steps.findIndex((s) => s.uses?.startsWith("pulumi/actions@"));
        expect(cli).toBeGreaterThanOrEqual(0);
        expect(steps[cli].with?.command).toBeUndefined();
        expect(cli).toBeLessThan(drill);
        const upload = steps.find((s) => s.uses?.startsWith("actions/upload-artifact@"));
        expect(upload?.if).toBe("always()");
        expect(upload?.with?.path).toBe("reports/");
    });

    test("opens SSH to the runner's address, and passes --keep only when asked", () => {
        const run = steps.find((s) => s.run?.includes("npm run drill"))!.run!;
        // curl is a shell function here: the test never leaves the machine.
        const stubCurl = "curl() { echo 203.0.113.7; }\n";
        const argsFor = (keep: string) => {
            const r = spawnSync("bash", ["-c", stubCurl + run.replace("npm run drill --", "printf '<%s>' ")], { env: { ...process.env, KEEP: keep }, encoding: "utf8" });
            return r.stdout;
        };
        expect(argsFor("true")).toBe("<--admin-cidr><203.0.113.7/32><--keep>");
        expect(argsFor("false")).toBe("<--admin-cidr><203.0.113.7/32>");
        expect(argsFor("")).toBe("<--admin-cidr><203.0.113.7/32>");
    });

    describe("the report check", () => {
        const verdict = steps.find((s) => s.id === "verdict")!;
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
                fs.writeFileSync(path.join(dir, "reports", name), typeof body === "string" ? body : JSON.stringify(body));
            }
            const summary = path.join(dir, "summary.md");
            const r = spawnSync("bash", ["-c", verdict.run!], {
                cwd: dir,
                encoding: "utf8",
                env: { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`, GITHUB_STEP_SUMMARY: summary },
            });
            return { status: r.status, out: `${r.stdout}${r.stderr}`, summary: fs.existsSync(summary) ? fs.readFileSync(summary, "utf8") : "" };
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
            ["a missed RTO", { "drill-1.json": report({ ok: false, rto: { measuredSeconds: 20000, targetSeconds: 14400, met: false } }) }, "RTO missed: measured 20000 s, target 14400 s"],
            ["a missed RPO", { "drill-1.json": report({ ok: false, rpo: { measuredSeconds: 7200, targetSeconds: 3600, met: false } }) }, "RPO missed"],
            ["a failed check", { "drill-1.json": report({ ok: false, checks: [{ name: "row counts", ok: false, detail: "orders 10 != 12" }] }) }, "check failed: row counts (orders 10 != 12)"],
            ["a failed phase", { "drill-1.json": report({ ok: false, phases: [{ name: "restore", seconds: 10, ok: false }] }) }, "phase failed: restore"],
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
        expect(wf.permissions.issues).toBe("write");
    });
});
