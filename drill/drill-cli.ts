// `npm run drill`: the quarterly DR drill on an ephemeral stack. See HELP below and
// drill/orchestrate.ts. Needs the pulumi CLI and DigitalOcean credentials.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { parseCommandLine, printHelp, runMain, stderrSink, UsageError } from "../tools/cli";
import { projectDefaults, readProjectFile, readStackFile, stackFileName } from "../tools/stack-files";
import { durationFlag, loadTargets, REPORT_FLAGS, runReported } from "./cli-common";
import {
    checkDrillStackName,
    checkOrgName,
    composeDirectory,
    DrillConfigError,
    effective,
    qualifiedStackName,
} from "./drill-config";
import { sshHostProbe } from "./host-probe";
import { peopleFromStackFile } from "./people";
import { runDrill } from "./orchestrate";
import { abortableSleep, systemClock } from "./phases";
import { utcStamp } from "./report";
import { writeReport } from "./report-files";
import { objectiveKeys } from "./targets";

const PROG = "drill";

export const HELP = `Usage: npm run drill -- [options]
Summary: Rebuild the platform on an ephemeral stack, measure RTO and RPO, validate, destroy.

Creates the stack drill-<UTC time> with the Pulumi Automation API from the DR stack's config
(Pulumi.dr.yaml) plus drill overrides: its own drill-… hostname (never the public record),
protect false, its own backup bucket. Runs pulumi up with live progress (each resource and
its time), then validates: the health URL answers 200 over HTTPS, the compose services are
healthy, the restored row counts equal the backup's manifest, the age of the backup used.
RTO runs from the start to a healthy service; RPO is the restored backup's age at the start.
The stack is always destroyed and removed, after a failure and after Ctrl-C too, unless --keep.

Options:
  --dr-stack NAME        stack whose config the drill copies (default dr)
  --stack NAME           drill stack name (default drill-<UTC yyyymmdd-hhmmss>)
  --org ORG              Pulumi Cloud organisation of the DR and drill stacks: the CLI is
                         given ORG/dr and ORG/<stack> (default: the backend's default org)
  --keep                 keep the stack afterwards (destroy it yourself; the report says how)
  --admin-cidr CIDR      also allow SSH from CIDR, e.g. this runner's 203.0.113.7/32
                         (repeatable; the recovery chain and the validation use SSH)
  --backup ID            restore this backup instead of the DR config's restoreBackup
  --health-path PATH     health endpoint on the drill hostname (default /health)
  --health-timeout D     how long to wait for a 200 after pulumi up (default 15m)
  --compose-timeout D    how long to wait for healthy compose services (default 10m)
  --target KEY=DURATION  tighten a target, e.g. api=2h, database=30m (repeatable; keys:
                         ${objectiveKeys().join(", ")})
  --targets FILE         JSON overrides: {"rto": {"api": "2h"}, "rpo": {"user-data": "30m"}}
  --out DIR              report folder (default reports)
  --work-dir DIR         folder with Pulumi.yaml (default: this repository)
  --verbose              also print pulumi's own output
  -h, --help             show this help

Needs: the pulumi CLI on PATH, a state backend it is logged in to (PULUMI_ACCESS_TOKEN), and
DIGITALOCEAN_TOKEN, SPACES_ACCESS_KEY_ID, SPACES_SECRET_ACCESS_KEY. Secrets of the DR stack
are decrypted and set again on the drill stack.

Exit codes: 0 every phase ok, every check passed, every measured target met; 1 a phase
failed; 2 usage error or missing pulumi/credentials (nothing created); 3 a check failed or a
target was missed; 5 the stack could not be destroyed (the report says how to remove it);
130/143 interrupted (after destroying the stack).
`;

/** Runs a check of a flag's value; what it refuses is a usage error naming the flag. */
function checkFlag(flag: string, check: () => void): void {
    try {
        check();
    } catch (e) {
        if (e instanceof DrillConfigError) throw new UsageError(`${flag}: ${e.message}`);
        throw e;
    }
}

const CIDR = /^(\d{1,3}(\.\d{1,3}){3}\/\d{1,2}|[0-9a-fA-F:]+\/\d{1,3})$/;

async function main(argv: string[]): Promise<number> {
    const { values } = parseCommandLine(() =>
        parseArgs({
            args: argv,
            options: {
                "dr-stack": { type: "string", default: "dr" },
                stack: { type: "string" },
                org: { type: "string" },
                keep: { type: "boolean", default: false },
                "admin-cidr": { type: "string", multiple: true, default: [] },
                backup: { type: "string" },
                "health-path": { type: "string", default: "/health" },
                "health-timeout": { type: "string" },
                "compose-timeout": { type: "string" },
                verbose: { type: "boolean", default: false },
                ...REPORT_FLAGS,
            },
            strict: true,
            allowPositionals: false,
        }),
    );
    if (values.help) return printHelp(HELP);
    const stackName = values.stack ?? `drill-${utcStamp(Date.now())}`;
    checkFlag("--stack", () => checkDrillStackName(stackName));
    const org = values.org;
    if (org !== undefined) checkFlag("--org", () => checkOrgName(org));
    const cliStackName = qualifiedStackName(stackName, org);
    for (const c of values["admin-cidr"])
        if (!CIDR.test(c))
            throw new UsageError(`--admin-cidr ${c}: not a CIDR such as 203.0.113.7/32 or 2001:db8::/48`);
    if (!values["health-path"].startsWith("/"))
        throw new UsageError(`--health-path ${values["health-path"]}: must start with /`);
    if (values.backup !== undefined && !/^(latest|\d{8}T\d{6}Z(-[A-Za-z0-9._-]+)?|before:.+)$/.test(values.backup)) {
        throw new UsageError(
            `--backup ${values.backup}: use latest, a backup id such as 20261125T174500Z, or before:<ISO time>`,
        );
    }
    const targets = loadTargets(values.target, values.targets);
    const healthTimeoutMs = durationFlag("health-timeout", values["health-timeout"], 15 * 60);
    const composeTimeoutMs = durationFlag("compose-timeout", values["compose-timeout"], 10 * 60);
    const workDir = resolve(values["work-dir"]);

    // The compose folder and the restore choice come from the DR config over Pulumi.yaml's
    // defaults; preflight reports a missing or unreadable file properly, so fall back here.
    let composeDir = "/opt/income-fortress/app/income-platform";
    let restoreBackup = values.backup ?? "latest";
    try {
        const defaults = projectDefaults(readProjectFile(workDir));
        const dr = existsSync(join(workDir, stackFileName(values["dr-stack"])))
            ? readStackFile(workDir, values["dr-stack"])
            : {};
        composeDir = composeDirectory(dr, defaults);
        restoreBackup = values.backup ?? String(effective(dr, defaults, "restoreBackup") ?? "latest");
    } catch {
        // preflight names the problem
    }

    // Loaded only now: the Automation API is heavy, and --help or a usage error should be quick.
    const { AutomationStackDriver } = await import("./automation-driver");
    const driver = new AutomationStackDriver({
        workDir,
        drStack: values["dr-stack"],
        ...(values.org !== undefined ? { org: values.org } : {}),
        overrides: {
            stackName,
            extraAdminCidrs: values["admin-cidr"],
            ...(values.backup !== undefined ? { restoreBackup: values.backup } : {}),
        },
        ...(values.verbose ? { onOutput: (t: string) => process.stderr.write(t) } : {}),
    });
    return runReported(
        PROG,
        () =>
            `the stack ${cliStackName}: destroy it with pulumi destroy --stack ${cliStackName} --yes && pulumi stack rm ${cliStackName} --yes`,
        (signal) =>
            runDrill(
                {
                    targets,
                    keep: values.keep,
                    healthPath: values["health-path"],
                    healthTimeoutMs,
                    composeTimeoutMs,
                    pollIntervalMs: 10_000,
                    restoreBackup,
                    context: { "compose project": composeDir, restore: restoreBackup },
                    people: peopleFromStackFile(workDir, values["dr-stack"], "drill"),
                },
                {
                    driver,
                    probe: sshHostProbe({ user: "deployer", composeDir }),
                    clock: systemClock,
                    sleep: abortableSleep,
                    progress: stderrSink,
                    signal,
                    // The report is a file named after its id: keep it the bare drill-<time>, never org/…
                    // (the report's context still names the stack as the CLI knows it).
                    writeReport: (r) => writeReport(values.out, { ...r, id: stackName }),
                },
            ),
    );
}

if (require.main === module) runMain(PROG, () => main(process.argv.slice(2)));
