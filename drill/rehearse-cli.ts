// `npm run rehearse`: the backup → offsite → restore → verify path on this machine, measured
// against the plan's targets. See HELP below and drill/rehearse.ts.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { parseCommandLine, printHelp, runMain, stderrSink, UsageError } from "../tools/cli";
import { projectDefaults, readProjectFile, readStackFile, stackFileName, type StackConfig } from "../tools/stack-files";
import { durationFlag, loadTargets, REPORT_FLAGS, runReported } from "./cli-common";
import { effective } from "./drill-config";
import { peopleFromStackFile } from "./people";
import { systemClock } from "./phases";
import { writeReport } from "./report-files";
import { parseDisasterAt, runRehearsal, type Dataset } from "./rehearse";
import { runFailbackRehearsal } from "./rehearse-failback";
import { objectiveKeys, parseDuration } from "./targets";

const PROG = "rehearse";

export const HELP = `Usage: npm run rehearse -- [options]
Summary: Rehearse a database disaster on this machine and measure RTO and RPO.

Starts a throwaway "production" PostgreSQL with sample data (or uses --database-url), a
local S3 server with a primary and an offsite bucket, and runs the real host toolkit:
fortress-backup (age-encrypted with a generated identity), then declares the disaster,
stops production, starts a fresh "DR" PostgreSQL, fortress-restore from the OFFSITE bucket
only, and fortress-verify. Every phase is timed; the report compares RTO and RPO with the
plan's targets and records the checks (counts equal the manifest, sha256, encryption,
contents identical to production). Everything it started is removed afterwards, also after
Ctrl-C. Needs no cloud account.

With --scenario failback it rehearses npm run failback instead: prod is backed up, the
cutover restores it on a "DR" PostgreSQL, which takes writes from a simulated app; then the
failback freezes DR's writes, takes a final backup into DR's own and offsite buckets, restores
it into prod with fortress-restore --force, compares every table and sequence, moves a
simulated public record back and waits out its TTL. The report measures the write freeze.

Options:
  --scenario S           default (the database is lost and restored) or failback
  --stack NAME           the stack rehearsed: its contacts name the people in the report, and
                         for failback its dnsTtl and public name are used (default prod)
  --work-dir DIR         folder with Pulumi.yaml and the stack files (default: this repository)
  --ttl D                failback: the record's TTL to wait out (default: the stack's dnsTtl)
  --dr-writes D          failback: how long DR takes writes before the failback (default 3s);
                         its dataset is plan unless --dataset both
  --database-url URL     back up this existing database instead (read only, never stopped)
  --dataset D            sample data for the throwaway production database: plan (the plan's
                         users/portfolios/proposals/audit_log), pagila, both, or auto (default:
                         plan, plus Pagila: tests/fixtures/pagila, or PAGILA_DIR)
  --scale N              size of the plan dataset; 1 = 95,000 rows (default 1)
  --disaster-at T        when the disaster strikes, for the RPO: an ISO time, or +DURATION
                         after the backup's snapshot (+45m). Default: right after the backup
  --target KEY=DURATION  tighten a target, e.g. database=30m, rpo.user-data=15m (repeatable;
                         keys: ${objectiveKeys().join(", ")})
  --targets FILE         JSON overrides: {"rto": {"database": "30m"}, "rpo": {"user-data": "15m"}}
  --out DIR              report folder (default reports)
  -h, --help             show this help

Output: progress on stderr; the paths of reports/rehearsal-<UTC time>.json and .md on stdout.
Needs: postgresql, postgresql-client, rclone, age, zstd, jq (Debian names), npm ci.

Exit codes: 0 every phase ok, every check passed, every measured target met; 1 a phase
failed; 2 usage error or a missing package; 3 a check failed or a target was missed;
5 cleanup failed (leftover processes or folders); 130/143 interrupted (after cleanup).
`;

async function main(argv: string[]): Promise<number> {
    const { values } = parseCommandLine(() =>
        parseArgs({
            args: argv,
            options: {
                scenario: { type: "string", default: "default" },
                stack: { type: "string", default: "prod" },
                ttl: { type: "string" },
                "dr-writes": { type: "string" },
                "database-url": { type: "string" },
                dataset: { type: "string", default: "auto" },
                scale: { type: "string", default: "1" },
                "disaster-at": { type: "string" },
                ...REPORT_FLAGS,
            },
            strict: true,
            allowPositionals: false,
        }),
    );
    if (values.help) return printHelp(HELP);
    const datasets: Dataset[] = ["auto", "plan", "pagila", "both"];
    if (!datasets.includes(values.dataset as Dataset))
        throw new UsageError(`--dataset ${values.dataset}: use one of ${datasets.join(", ")}`);
    const scale = Number(values.scale);
    if (!Number.isFinite(scale) || scale <= 0 || scale > 200)
        throw new UsageError(`--scale ${values.scale}: use a number above 0 and up to 200 (1 = 95,000 rows)`);
    if (values["database-url"] !== undefined && values.dataset !== "auto")
        throw new UsageError(
            "--dataset loads a throwaway production database; it cannot be combined with --database-url",
        );
    const targets = loadTargets(values.target, values.targets);
    if (values.scenario !== "default" && values.scenario !== "failback")
        throw new UsageError(`--scenario ${values.scenario}: use default or failback`);
    const workDir = resolve(values["work-dir"]);
    if (values.scenario === "failback") {
        for (const flag of ["database-url", "disaster-at"] as const)
            if (values[flag] !== undefined)
                throw new UsageError(
                    `--${flag} is for the default scenario; the failback rehearsal runs its own prod and DR databases`,
                );
        if (values.dataset === "pagila")
            throw new UsageError(
                "--dataset pagila: the failback's simulated app writes to the plan's tables; use plan (the default) or both",
            );
        const stack = stackOf(workDir, values.stack);
        const ttlSeconds =
            durationFlag("ttl", values.ttl, Number(effective(stack.config, stack.defaults, "dnsTtl") ?? 60)) / 1000;
        const drWritesSeconds = durationFlag("dr-writes", values["dr-writes"], 3) / 1000;
        const host = effective(stack.config, stack.defaults, "hostname");
        const domain = effective(stack.config, stack.defaults, "domain");
        return runReported(
            PROG,
            () => "throwaway PostgreSQL clusters, psql and s3rver running, and fortress-* folders in the temp folder",
            (signal) =>
                runFailbackRehearsal(
                    {
                        // Pagila's partitioned tables are left out unless asked for: fortress-restore --force
                        // cannot replace them yet (docs/drills.md).
                        dataset: values.dataset === "both" ? "both" : "plan",
                        scale,
                        targets,
                        ttlSeconds,
                        drWritesSeconds,
                        publicName: host && domain ? `${String(host)}.${String(domain)}` : "the public record",
                        people: peopleFromStackFile(workDir, values.stack, "failback-rehearsal"),
                    },
                    {
                        clock: systemClock,
                        progress: stderrSink,
                        signal,
                        writeReport: (r) => writeReport(values.out, r),
                    },
                ),
        );
    }
    for (const flag of ["ttl", "dr-writes"] as const)
        if (values[flag] !== undefined) throw new UsageError(`--${flag} is for --scenario failback`);
    const disasterAtFlag = values["disaster-at"];
    const disasterAt =
        disasterAtFlag === undefined
            ? undefined
            : parseCommandLine(() => parseDisasterAt(disasterAtFlag, Date.now(), parseDuration));

    return runReported(
        PROG,
        () => "throwaway PostgreSQL clusters and s3rver running, and fortress-* folders in the temp folder",
        (signal) =>
            runRehearsal(
                {
                    ...(values["database-url"] !== undefined ? { databaseUrl: values["database-url"] } : {}),
                    dataset: values.dataset as Dataset,
                    scale,
                    ...(disasterAt ? { disasterAt } : {}),
                    targets,
                    people: peopleFromStackFile(workDir, values.stack, "rehearsal"),
                },
                { clock: systemClock, progress: stderrSink, signal, writeReport: (r) => writeReport(values.out, r) },
            ),
    );
}

/** The rehearsed stack's config over the project defaults; empty when its file is not there. */
function stackOf(workDir: string, stack: string): { config: StackConfig; defaults: StackConfig } {
    try {
        const defaults = projectDefaults(readProjectFile(workDir));
        return {
            config: existsSync(join(workDir, stackFileName(stack))) ? readStackFile(workDir, stack) : {},
            defaults,
        };
    } catch (e) {
        throw new UsageError(`--stack ${stack}: ${(e as Error).message}`);
    }
}

if (require.main === module) runMain(PROG, () => main(process.argv.slice(2)));
