// `npm run failback`: bring the writes made on the DR site back to prod and move the public
// record back, with no write lost. See HELP below and drill/failback.ts. Needs the pulumi
// CLI, DigitalOcean credentials and SSH to both droplets.
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { parseCommandLine, printHelp, runMain, stderrSink, UsageError } from "../tools/cli";
import { durationFlag, loadTargets, REPORT_FLAGS, runReported } from "./cli-common";
import { checkOrgName, DrillConfigError } from "./drill-config";
import { runFailback } from "./failback";
import { checkServiceName } from "./failback-scripts";
import { peopleFromStackFile } from "./people";
import { abortableSleep, systemClock } from "./phases";
import { utcStamp } from "./report";
import { writeReport } from "./report-files";
import { objectiveKeys } from "./targets";

const PROG = "failback";

export const HELP = `Usage: npm run failback -- --yes [options]
Summary: Bring the DR site's writes back to prod and point the public record at prod again.

After a DNS cutover (pulumi config set activeSite dr --stack prod && pulumi up --stack prod)
the DR site takes the writes. This command returns them to prod with no write lost:
  1. stops prod's writers and backs up prod's old database (kept, tagged pre-failback-<time>);
  2. freezes writes on the DR site: docker compose stop of the services that write (every
     running service of the compose project but the TLS proxy), over SSH, and checks that no
     session of the app is left on its database;
  3. takes a final backup on DR (fortress-backup --tag failback-<time>) and checks its copy in
     DR's offsite bucket (drOffsiteBucket, a third region);
  4. restores it into prod with fortress-restore --force, reading DR's buckets, and compares
     prod with the frozen DR database: md5 of every table and sequence;
  5. starts prod's writers, sets activeSite primary, runs pulumi up --stack prod, waits until
     the zone answers prod's address and then the record's TTL, and checks the public health
     URL. The DR site keeps its writers stopped: it is the standby again.
A failure before the record moves is rolled back (DR's writers start again). Progress goes to
stderr; the report to reports/failback-<UTC time>.json and .md.

Options:
  --yes                  run it: the failback stops the live site's writes while it runs
  --stack NAME           the primary stack whose record moves back (default prod)
  --dr-stack NAME        the DR stack (default: the primary stack's drStack)
  --org ORG              Pulumi Cloud organisation of both stacks
  --writers A,B          the compose services that write, on both sites (default: every
                         running service of the compose project but tlsProxyService)
  --session-timeout D    how long the app's sessions may take to leave DR's database (default 2m)
  --health-timeout D     how long prod's app may take to answer health, on the host and then
                         publicly (default 10m)
  --resolve-timeout D    how long the record may take to answer prod's address (default 15m)
  --target KEY=DURATION  tighten a target, e.g. api=10m for the write freeze (repeatable;
                         keys: ${objectiveKeys().join(", ")})
  --targets FILE         JSON overrides, as npm run drill takes them
  --out DIR              report folder (default reports)
  --work-dir DIR         folder with Pulumi.yaml and the stack files (default: this repository)
  --verbose              also print pulumi's own output
  -h, --help             show this help

Needs: the pulumi CLI, its backend (PULUMI_ACCESS_TOKEN), DIGITALOCEAN_TOKEN,
SPACES_ACCESS_KEY_ID, SPACES_SECRET_ACCESS_KEY, and SSH to both droplets from this machine
(its address in both stacks' adminCidrs). Writes activeSite primary into Pulumi.<stack>.yaml.

Exit codes: 0 done (prod takes writes, every check passed, the freeze within its target);
1 a phase failed and was rolled back (DR serves as before); 2 usage error, or the stacks are
not in a failback's state (nothing touched); 3 a target was missed; 5 the rollback failed or
the run stopped while the record moved (the report says what to do); 130/143 interrupted.
`;

async function main(argv: string[]): Promise<number> {
    const { values } = parseCommandLine(() =>
        parseArgs({
            args: argv,
            options: {
                yes: { type: "boolean", default: false },
                stack: { type: "string", default: "prod" },
                "dr-stack": { type: "string" },
                org: { type: "string" },
                writers: { type: "string" },
                "session-timeout": { type: "string" },
                "health-timeout": { type: "string" },
                "resolve-timeout": { type: "string" },
                verbose: { type: "boolean", default: false },
                ...REPORT_FLAGS,
            },
            strict: true,
            allowPositionals: false,
        }),
    );
    if (values.help) return printHelp(HELP);
    if (!values.yes)
        throw new UsageError(
            "the failback stops the live DR site's writes while it runs: announce the freeze, then run it with --yes",
        );
    const org = values.org;
    if (org !== undefined) {
        try {
            checkOrgName(org);
        } catch (e) {
            if (e instanceof DrillConfigError) throw new UsageError(`--org: ${e.message}`);
            throw e;
        }
    }
    let writers: string[] | undefined;
    if (values.writers !== undefined) {
        writers = values.writers
            .split(",")
            .map((w) => w.trim())
            .filter(Boolean);
        if (writers.length === 0)
            throw new UsageError("--writers: name at least one compose service, such as api,celery_default");
        for (const w of writers) parseCommandLine(() => checkServiceName(w));
    }
    const targets = loadTargets(values.target, values.targets);
    const workDir = resolve(values["work-dir"]);
    const stamp = utcStamp(Date.now());

    const { AutomationFailbackDriver } = await import("./failback-driver");
    const driver = new AutomationFailbackDriver({
        workDir,
        prodStack: values.stack,
        ...(values["dr-stack"] !== undefined ? { drStack: values["dr-stack"] } : {}),
        ...(org !== undefined ? { org } : {}),
        ...(writers ? { writers } : {}),
        ...(values.verbose ? { onOutput: (t: string) => process.stderr.write(t) } : {}),
    });
    return runReported(
        PROG,
        () => `the DR site's writers possibly stopped: the report, once written, says how to start them`,
        (signal) =>
            runFailback(
                {
                    stamp,
                    freezeRow: "api",
                    sessionTimeoutMs: durationFlag("session-timeout", values["session-timeout"], 120),
                    healthTimeoutMs: durationFlag("health-timeout", values["health-timeout"], 600),
                    resolveTimeoutMs: durationFlag("resolve-timeout", values["resolve-timeout"], 900),
                    pollIntervalMs: 5_000,
                    lockRetryMs: 30_000,
                    targets,
                    people: peopleFromStackFile(workDir, values.stack, "failback"),
                    context: {},
                },
                {
                    driver,
                    clock: systemClock,
                    sleep: abortableSleep,
                    progress: stderrSink,
                    signal,
                    writeReport: (r) => writeReport(values.out, r),
                },
            ),
    );
}

if (require.main === module) runMain(PROG, () => main(process.argv.slice(2)));
