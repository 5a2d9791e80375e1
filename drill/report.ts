// The drill, rehearsal and failback report (docs/drills.md, "Report format"): the JSON object
// and its Markdown rendering. Pure: building and rendering never read the clock, the disk or
// the environment; report-files.ts writes them.
//
// Contract fields: kind, startedAt, finishedAt, phases[{name, seconds, ok}], rto and rpo
// {measuredSeconds, targetSeconds, met}, checks[{name, ok, detail}], backupId, ok. Everything
// else (objectives per row, timeline, backup facts, exitCode) is extra and may grow.
import { EXIT as COMMAND_EXIT } from "../tools/cli";
import { nameOf, type PeopleSection } from "./people";
import { formatSeconds, formatTarget, type Objective, type ObjectiveKind, type Targets } from "./targets";

export type ReportKind = "drill" | "rehearsal" | "failback";

/** What the run is about: a recovery from a disaster, or a failback from the DR site to prod. */
export type ReportFlow = "recovery" | "failback";

/** A failback's write freeze: from the DR site's writers stopping to prod taking writes. */
export interface FreezeWindow {
    /** When the writers on the DR site began to stop (UTC ISO). */
    frozenAt: string;
    /** When writes resumed (UTC ISO): on prod, or on DR after a rollback; null while still frozen when the run ended. */
    resumedAt: string | null;
    /** Where writes resumed: `prod` (done), `dr` (rolled back), null (not resumed). */
    resumedOn: "prod" | "dr" | null;
    /** The window in seconds; null when not resumed. */
    seconds: number | null;
    /** The part of it spent waiting out the record's TTL, in seconds; null when not reached. */
    ttlWaitSeconds: number | null;
}

/** A timed step of the run. */
export interface Phase {
    name: string;
    /** Wall-clock duration in seconds (millisecond precision). */
    seconds: number;
    ok: boolean;
    /** When it started (UTC ISO). */
    startedAt: string;
    /** Why it failed (absent when ok). */
    error?: string;
}

/** A validation of the recovered system. */
export interface Check {
    name: string;
    ok: boolean;
    /** What was compared and what was found, in one line. */
    detail: string;
}

/** A dated event for the post-mortem timeline. */
export interface TimelineEntry {
    /** UTC ISO time. */
    at: string;
    event: string;
}

/** One row of the plan's RTO or RPO table with what was measured. */
export interface ObjectiveResult {
    key: string;
    name: string;
    targetSeconds: number;
    maximumSeconds: number;
    /** The plan's target; differs from targetSeconds when overridden. */
    planTargetSeconds: number;
    overridden: boolean;
    /** Null when this run does not measure the row. */
    measuredSeconds: number | null;
    /** measured <= target; null when not measured. */
    met: boolean | null;
    /** measured <= maximum acceptable; null when not measured. */
    withinMaximum: boolean | null;
    /** How the value was measured (from what to what); null when not measured. */
    how: string | null;
}

/** The contract's `rto` / `rpo` object: the row the run is mainly about. */
export interface HeadlineObjective {
    /** Row key, e.g. `database`. */
    key: string;
    /** Row name, e.g. `Database (Primary Failure)` (the drill workflow prints it). */
    name: string;
    /** Null when the run ended before it could be measured. */
    measuredSeconds: number | null;
    targetSeconds: number;
    maximumSeconds: number;
    /** False when missed or not measured. */
    met: boolean;
}

/** Facts about the backup that was restored (from its manifest). */
export interface BackupFacts {
    id: string;
    /** Snapshot time (manifest createdAt): the RPO is measured from here. */
    createdAt: string;
    completedAt?: string;
    bytes?: number;
    sha256?: string;
    encryption?: string;
    /** Which bucket it was restored from, e.g. `offsite`. */
    source?: string;
    /** Number of tables and total rows in the manifest. */
    tables?: number;
    rows?: number;
}

/** How the run ended. */
export type Outcome = "passed" | "targets-missed" | "checks-failed" | "failed" | "interrupted" | "cleanup-failed";

/**
 * Exit codes of `npm run drill` and `npm run rehearse` (their --help lists them): every
 * command's (tools/cli.ts; `ok`: every phase ran, every check passed, every measured target
 * was met; `failure`: a phase failed, the recovery did not complete), and these.
 */
export const EXIT = {
    ...COMMAND_EXIT,
    /** The recovery completed but a check failed or a target was missed. */
    missed: 3,
    /** Cleanup failed: a stack or local services may be left behind (the message says which). */
    cleanup: 5,
} as const;

export interface Report {
    kind: ReportKind;
    /** `failback` for a failback or its rehearsal, `recovery` otherwise. */
    flow: ReportFlow;
    /** Run id, e.g. `drill-20260301-060000`; also the report's file name. */
    id: string;
    /** The simulated disaster, in one line. */
    scenario: string;
    startedAt: string;
    finishedAt: string;
    /** When the disaster was declared (RTO starts, RPO ends). */
    disasterAt: string | null;
    /** When the recovered system was verified (RTO ends). */
    recoveredAt: string | null;
    phases: Phase[];
    rto: HeadlineObjective;
    rpo: HeadlineObjective;
    checks: Check[];
    backupId: string | null;
    ok: boolean;
    outcome: Outcome;
    exitCode: number;
    /** Every row of the plan's two tables, measured or not. */
    objectives: { rto: ObjectiveResult[]; rpo: ObjectiveResult[] };
    backup: BackupFacts | null;
    timeline: TimelineEntry[];
    /** Facts about the run's set-up (dataset, stack name, endpoints). */
    context: Record<string, string>;
    notes: string[];
    /** The error that ended the run early, if any. */
    error: string | null;
    /** Post-mortem prose the run knows (what was simulated and how it was resolved). */
    postMortem: PostMortemFacts;
    /** The write freeze of a failback flow; null for a recovery. */
    freezeWindow: FreezeWindow | null;
    /** Who does what (the stack's `contacts`); null when the run was not told. */
    people: PeopleSection | null;
}

/** The post-mortem fields a run can fill in itself. */
export interface PostMortemFacts {
    rootCause: string;
    resolution: string;
    usersAffected: string;
    financialImpact: string;
    /** The Severity line; default: a P0 simulated in this kind of run. */
    severity?: string;
}

/** A measured objective: seconds plus how it was measured. */
export interface Measurement {
    seconds: number;
    how: string;
}

/** Everything buildReport needs; times are epoch milliseconds. */
export interface ReportInput {
    kind: ReportKind;
    id: string;
    scenario: string;
    startedMs: number;
    finishedMs: number;
    disasterMs?: number;
    recoveredMs?: number;
    phases: Phase[];
    checks: Check[];
    targets: Targets;
    /** Measured rows, by kind and key. */
    measured: { rto: Partial<Record<string, Measurement>>; rpo: Partial<Record<string, Measurement>> };
    /** Keys of the rows that become the contract's `rto` and `rpo`. */
    headline: { rto: string; rpo: string };
    backup?: BackupFacts;
    timeline: TimelineEntry[];
    context?: Record<string, string>;
    notes?: string[];
    /** Set when a signal interrupted the run. */
    interrupted?: NodeJS.Signals;
    /** Set when cleanup failed: what is left behind and how to remove it. */
    cleanupFailed?: string;
    /** The error that ended the run early. */
    error?: string;
    /** Post-mortem prose: what was simulated, and how it was resolved. */
    postMortem: PostMortemFacts;
    /** `failback` for a failback or its rehearsal; default `recovery`. */
    flow?: ReportFlow;
    /** A failback flow's write freeze, epoch ms: frozen, resumed (unset: not reached) and the TTL wait in it. */
    freeze?: { frozenMs: number; resumedMs?: number; resumedOn?: "prod" | "dr"; ttlWaitSeconds?: number };
    /** Who does what in this run. */
    people?: PeopleSection;
}

const iso = (ms: number) => new Date(ms).toISOString();

function results(
    kind: ObjectiveKind,
    objectives: readonly Objective[],
    measured: ReportInput["measured"],
): ObjectiveResult[] {
    return objectives.map((o) => {
        const m = measured[kind][o.key];
        return {
            key: o.key,
            name: o.name,
            targetSeconds: o.targetSeconds,
            maximumSeconds: o.maximumSeconds,
            planTargetSeconds: o.planTargetSeconds,
            overridden: o.targetSeconds !== o.planTargetSeconds,
            measuredSeconds: m ? m.seconds : null,
            met: m ? m.seconds <= o.targetSeconds : null,
            withinMaximum: m ? m.seconds <= o.maximumSeconds : null,
            how: m ? m.how : null,
        };
    });
}

function headline(rows: ObjectiveResult[], key: string, kind: ObjectiveKind): HeadlineObjective {
    const r = rows.find((x) => x.key === key);
    if (!r) throw new Error(`report: ${kind} headline "${key}" is not a row of the plan's ${kind.toUpperCase()} table`);
    return {
        key: r.key,
        name: r.name,
        measuredSeconds: r.measuredSeconds,
        targetSeconds: r.targetSeconds,
        maximumSeconds: r.maximumSeconds,
        met: r.met === true,
    };
}

/** The outcome and exit code, most serious first: what is left behind matters most. */
export function outcomeOf(
    input: Pick<ReportInput, "interrupted" | "cleanupFailed" | "error" | "phases" | "checks">,
    rows: ObjectiveResult[],
    heads: HeadlineObjective[],
): { outcome: Outcome; exitCode: number } {
    if (input.cleanupFailed) return { outcome: "cleanup-failed", exitCode: EXIT.cleanup };
    if (input.interrupted)
        return { outcome: "interrupted", exitCode: input.interrupted === "SIGTERM" ? EXIT.sigterm : EXIT.sigint };
    if (input.error || input.phases.some((p) => !p.ok)) return { outcome: "failed", exitCode: EXIT.failure };
    if (input.checks.some((c) => !c.ok)) return { outcome: "checks-failed", exitCode: EXIT.missed };
    if (rows.some((r) => r.met === false) || heads.some((h) => !h.met))
        return { outcome: "targets-missed", exitCode: EXIT.missed };
    return { outcome: "passed", exitCode: EXIT.ok };
}

/** Builds the report object. Throws only on a programming error (unknown headline key). */
export function buildReport(input: ReportInput): Report {
    const rto = results("rto", input.targets.rto, input.measured);
    const rpo = results("rpo", input.targets.rpo, input.measured);
    const heads = [headline(rto, input.headline.rto, "rto"), headline(rpo, input.headline.rpo, "rpo")] as const;
    const { outcome, exitCode } = outcomeOf(input, [...rto, ...rpo], [...heads]);
    const f = input.freeze;
    return {
        kind: input.kind,
        flow: input.flow ?? "recovery",
        id: input.id,
        scenario: input.scenario,
        startedAt: iso(input.startedMs),
        finishedAt: iso(input.finishedMs),
        disasterAt: input.disasterMs !== undefined ? iso(input.disasterMs) : null,
        recoveredAt: input.recoveredMs !== undefined ? iso(input.recoveredMs) : null,
        phases: input.phases,
        rto: heads[0],
        rpo: heads[1],
        checks: input.checks,
        backupId: input.backup?.id ?? null,
        ok: exitCode === EXIT.ok,
        outcome,
        exitCode,
        objectives: { rto, rpo },
        backup: input.backup ?? null,
        timeline: [...input.timeline].sort((a, b) => a.at.localeCompare(b.at)),
        context: input.context ?? {},
        notes: input.notes ?? [],
        error: input.error ?? null,
        postMortem: input.postMortem,
        freezeWindow: f
            ? {
                  frozenAt: iso(f.frozenMs),
                  resumedAt: f.resumedMs !== undefined ? iso(f.resumedMs) : null,
                  resumedOn: f.resumedMs !== undefined ? (f.resumedOn ?? "prod") : null,
                  seconds: f.resumedMs !== undefined ? round3((f.resumedMs - f.frozenMs) / 1000) : null,
                  ttlWaitSeconds: f.ttlWaitSeconds ?? null,
              }
            : null,
        people: input.people ?? null,
    };
}

const round3 = (seconds: number) => Math.round(seconds * 1000) / 1000;

/** The report's title: what kind of run it is. */
export function reportTitle(r: Pick<Report, "kind" | "flow">): string {
    if (r.kind === "drill") return "DR drill";
    if (r.kind === "failback") return "Failback";
    return r.flow === "failback" ? "Failback rehearsal" : "Backup rehearsal";
}

// ---------------------------------------------------------------- Markdown

const esc = (s: string) => s.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
const hms = (isoTime: string) => `${isoTime.slice(11, 19)}Z`;

/** The Result cell of a table row: pass, FAIL, or "not measured" (never a pass by default). */
export function resultCell(r: ObjectiveResult): string {
    if (r.met === null) return "not measured";
    if (r.met) return "pass";
    return r.withinMaximum ? "FAIL (target missed, within maximum)" : "FAIL (beyond maximum acceptable)";
}

function targetCell(r: ObjectiveResult, planText: string): string {
    return r.overridden ? `${formatTarget(r.targetSeconds)} (overridden; plan: ${planText})` : planText;
}

function objectiveTable(
    title: string,
    first: string,
    rows: ObjectiveResult[],
    plan: readonly Objective[],
    targetHeader: string,
): string[] {
    const lines = [
        `## ${title}`,
        "",
        `| ${first} | ${targetHeader} | Maximum Acceptable | Measured | Result |`,
        "|---|---|---|---|---|",
    ];
    for (const r of rows) {
        const p = plan.find((o) => o.key === r.key);
        lines.push(
            `| ${esc(r.name)} | ${esc(targetCell(r, p?.planTargetText ?? formatTarget(r.planTargetSeconds)))} | ${esc(p?.planMaximumText ?? formatTarget(r.maximumSeconds))} | ${formatSeconds(r.measuredSeconds)} | ${resultCell(r)} |`,
        );
    }
    const how = rows.filter((r) => r.how);
    if (how.length > 0) {
        lines.push("", ...how.map((r) => `- ${esc(r.name)}: ${r.how}`));
    }
    return lines;
}

const OUTCOME_TEXT: Record<Outcome, string> = {
    passed: "PASS: every phase ran, every check passed, every measured target was met",
    "targets-missed": "FAIL: a target was missed",
    "checks-failed": "FAIL: a check failed",
    failed: "FAIL: the recovery did not complete",
    interrupted: "INTERRUPTED: the run was stopped before it finished",
    "cleanup-failed": "FAIL: cleanup failed; something is left behind",
};

/**
 * Renders the report as Markdown: result, the plan's RTO and RPO tables with a measured
 * column, the checks, the phases, and the plan's post-mortem template with the facts in.
 */
export function renderMarkdown(report: Report, plan: { rto: readonly Objective[]; rpo: readonly Objective[] }): string {
    const title = reportTitle(report);
    const L: string[] = [];
    L.push(`# ${title} report: ${report.id}`, "");
    const outcome =
        report.flow === "failback" && report.outcome === "failed"
            ? "FAIL: the failback did not complete (the notes say what state it left)"
            : OUTCOME_TEXT[report.outcome];
    L.push(`**Result:** ${outcome} (exit ${report.exitCode})  `);
    L.push(`**Scenario:** ${esc(report.scenario)}  `);
    L.push(`**Started:** ${report.startedAt} · **Finished:** ${report.finishedAt}  `);
    const fw = report.freezeWindow;
    if (fw) {
        const resumed =
            fw.resumedOn === "prod"
                ? ` · **Writes resumed on prod:** ${fw.resumedAt}`
                : fw.resumedOn === "dr"
                  ? ` · **Writes resumed on DR (rolled back):** ${fw.resumedAt}`
                  : " · writes not resumed when the run ended";
        L.push(`**Writes frozen:** ${fw.frozenAt}${resumed}  `);
        L.push(
            `**Write freeze:** ${fw.seconds !== null ? `${formatSeconds(fw.seconds)}${fw.ttlWaitSeconds !== null ? ` (of which ${formatSeconds(fw.ttlWaitSeconds)} waiting out the record's TTL)` : ""}` : "not over when the run ended"}  `,
        );
    } else if (report.disasterAt) {
        L.push(
            `**Disaster declared:** ${report.disasterAt}${report.recoveredAt ? ` · **Recovered and verified:** ${report.recoveredAt}` : ""}  `,
        );
    }
    if (report.backup) {
        const b = report.backup;
        const extra = [
            b.source ? `from the ${b.source} bucket` : "",
            b.tables !== undefined ? `${b.tables} tables` : "",
            b.rows !== undefined ? `${b.rows.toLocaleString("en-US")} rows` : "",
            b.bytes !== undefined ? `${b.bytes.toLocaleString("en-US")} bytes` : "",
            b.encryption ? `encryption ${b.encryption}` : "",
        ].filter(Boolean);
        L.push(`**Backup:** \`${b.id}\`, snapshot ${b.createdAt}${extra.length ? ` (${extra.join(", ")})` : ""}  `);
    }
    L.push(
        `**RTO (${esc(report.rto.name)}):** ${formatSeconds(report.rto.measuredSeconds)} against ${formatTarget(report.rto.targetSeconds)}: ${report.rto.met ? "met" : "NOT met"}  `,
    );
    L.push(
        `**RPO (${esc(report.rpo.name)}):** ${formatSeconds(report.rpo.measuredSeconds)} against ${formatTarget(report.rpo.targetSeconds)}: ${report.rpo.met ? "met" : "NOT met"}`,
    );
    if (report.error) L.push("", `**Error:** ${esc(report.error)}`);
    L.push("");

    if (report.people) L.push(...peopleTable(report.people), "");

    L.push(
        ...objectiveTable("Recovery Time Objective (RTO)", "Service", report.objectives.rto, plan.rto, "RTO Target"),
        "",
    );
    L.push(
        ...objectiveTable("Recovery Point Objective (RPO)", "Data Type", report.objectives.rpo, plan.rpo, "RPO Target"),
        "",
    );

    L.push("## Checks", "");
    if (report.checks.length === 0) {
        L.push("No checks ran (the run ended before validation).");
    } else {
        L.push("| Check | Result | Detail |", "|---|---|---|");
        for (const c of report.checks) L.push(`| ${esc(c.name)} | ${c.ok ? "pass" : "FAIL"} | ${esc(c.detail)} |`);
    }
    L.push("");

    L.push("## Phases", "", "| Phase | Started | Duration | Result |", "|---|---|---|---|");
    for (const p of report.phases)
        L.push(
            `| ${esc(p.name)} | ${hms(p.startedAt)} | ${formatSeconds(p.seconds)} | ${p.ok ? "ok" : `FAILED: ${esc(p.error ?? "")}`} |`,
        );
    L.push("");

    if (Object.keys(report.context).length > 0) {
        L.push("## Set-up", "");
        for (const [k, v] of Object.entries(report.context)) L.push(`- ${esc(k)}: ${esc(v)}`);
        L.push("");
    }
    if (report.notes.length > 0) {
        L.push("## Notes", "", ...report.notes.map((n) => `- ${esc(n)}`), "");
    }

    L.push(...postMortem(report, title, report.postMortem));
    return `${L.join("\n")}\n`;
}

/** "Who does what": the plan's roles, who holds each, how to reach them, their part in this run. */
function peopleTable(p: PeopleSection): string[] {
    const reach = (x: { email?: string; phone?: string; availability?: string }) =>
        [x.email, x.phone, x.availability ? `(${x.availability})` : undefined]
            .filter((v): v is string => !!v)
            .join(", ");
    const L = ["## Who does what", "", `From ${p.source}; the roles are the plan's (Roles & Responsibilities).`, ""];
    L.push("| Role | Who | Reach | In this run |", "|---|---|---|---|");
    for (const r of p.roles)
        L.push(
            `| ${esc(r.title)} (${esc(r.holder)}) | ${r.person ? esc(r.person.name) : "not set"} | ${r.person ? esc(reach(r.person)) : ""} | ${esc(r.duty)} |`,
        );
    const extra = [
        ...p.escalation.map(
            (e) => `- Escalation, ${esc(e.title)}: ${esc(e.name)}${reach(e) ? `, ${esc(reach(e))}` : ""}`,
        ),
        ...(p.securityEmail ? [`- Security incident response: ${esc(p.securityEmail)}`] : []),
        ...(p.note ? [`- ${esc(p.note)}`] : []),
    ];
    if (extra.length > 0) L.push("", ...extra);
    return L;
}

/** A failback's downtime: its write freeze, however it ended. */
function freezeDowntime(fw: FreezeWindow | null, untilEnd: string): string {
    if (!fw) return "none: the run stopped before writes were frozen";
    if (fw.resumedOn === "dr")
        return `${formatSeconds(fw.seconds)} of frozen writes (from the DR site's writers stopping to their start again at the rollback)`;
    if (fw.resumedOn === "prod") {
        const ttl =
            fw.ttlWaitSeconds !== null
                ? `; ${formatSeconds(fw.ttlWaitSeconds)} of it waiting out the record's TTL`
                : "";
        return `${formatSeconds(fw.seconds)} of frozen writes (from the DR site's writers stopping to prod taking writes${ttl})`;
    }
    return `not over: the failback did not finish (${untilEnd} of frozen writes until the run ended; see the notes for the state it left)`;
}

/** The plan's "Post-Mortem Template", with every fact the run knows filled in. */
function postMortem(r: Report, title: string, pm: PostMortemFacts): string[] {
    const start = r.disasterAt ?? r.startedAt;
    const end = r.recoveredAt ?? r.finishedAt;
    const failedPhases = r.phases.filter((p) => !p.ok);
    const failedChecks = r.checks.filter((c) => !c.ok);
    const missed = [...r.objectives.rto, ...r.objectives.rpo].filter((o) => o.met === false);
    const met = [...r.objectives.rto, ...r.objectives.rpo].filter((o) => o.met === true);
    const recovered = r.recoveredAt !== null;
    const fw = r.freezeWindow;
    const failback = r.flow === "failback";
    const simulated = r.kind !== "failback";
    const why = failedPhases[0]
        ? `${failedPhases[0].name} failed: ${failedPhases[0].error ?? "see the phases"}`
        : (r.error ?? r.outcome);

    const summary: string[] = [];
    summary.push(`${title} ${r.id}${simulated ? ", simulated" : ""}: ${r.scenario}.`);
    if (fw && recovered) {
        summary.push(
            `Writes were frozen on the DR site at ${fw.frozenAt}; ${r.backupId ? `its final backup ${r.backupId} was restored into prod and compared with it table by table; ` : ""}` +
                `prod took writes again at ${fw.resumedAt}. The write freeze lasted ${formatSeconds(fw.seconds)} against a ${formatTarget(r.rto.targetSeconds)} target (${r.rto.met ? "met" : "missed"}).`,
        );
    } else if (failback) {
        summary.push(`The failback did not complete (${why}).`);
    } else if (recovered) {
        summary.push(
            `${r.backupId ? `Backup ${r.backupId} (snapshot ${r.backup?.createdAt ?? "unknown"}) was restored${r.backup?.source ? ` from the ${r.backup.source} bucket` : ""} and verified. ` : ""}` +
                `Recovery took ${formatSeconds(r.rto.measuredSeconds)} against a ${formatTarget(r.rto.targetSeconds)} target (${r.rto.met ? "met" : "missed"}); ` +
                `the data-loss window was ${formatSeconds(r.rpo.measuredSeconds)} against ${formatTarget(r.rpo.targetSeconds)} (${r.rpo.met ? "met" : "missed"}).`,
        );
    } else {
        summary.push(`The recovery did not complete (${why}).`);
    }

    const untilEnd = formatSeconds((Date.parse(r.finishedAt) - Date.parse(start)) / 1000);
    const downtime = failback
        ? freezeDowntime(fw, untilEnd)
        : recovered
          ? `${formatSeconds(r.rto.measuredSeconds)} (from the declared disaster to the verified recovery)`
          : `not measured: the recovery did not finish (${untilEnd} until the run ended)`;
    const dataLoss = failback
        ? r.rpo.measuredSeconds === 0
            ? "none: writes were frozen before the final backup, and prod equals the frozen DR database table by table (md5 of every table and sequence)"
            : !fw
              ? "none: the run stopped before writes were frozen, and the DR site kept its database and its writers"
              : "none known: the run only read the DR site's database (its backup), but prod was not proven equal to it, so the DR site's database stays the one to serve from (see the notes)"
        : r.rpo.measuredSeconds !== null
          ? `every write after the snapshot ${r.backup?.createdAt ?? ""} up to the disaster ${r.disasterAt ?? ""}: ${formatSeconds(r.rpo.measuredSeconds)} of writes (RPO ${r.rpo.met ? "met" : "missed"})`
          : "not measured: no backup was restored";

    const wentWell = [
        ...(recovered
            ? [
                  fw
                      ? `The failback completed with a ${formatSeconds(fw.seconds)} write freeze.`
                      : `The recovery completed in ${formatSeconds(r.rto.measuredSeconds)}.`,
              ]
            : []),
        ...(r.checks.length > 0 && failedChecks.length === 0 ? [`All ${r.checks.length} checks passed.`] : []),
        ...met.map((o) => `${o.name}: ${formatSeconds(o.measuredSeconds)} within ${formatTarget(o.targetSeconds)}.`),
    ];
    // Who follows up what: the Technical Lead a failed phase, the DBA a failed check of the data,
    // the Incident Commander a missed target and the rest (the plan's Roles & Responsibilities).
    const tech = nameOf(r.people, "technicalLead");
    const dba = nameOf(r.people, "databaseAdministrator");
    const ic = nameOf(r.people, "incidentCommander");
    const wentBadly: { text: string; owner: string }[] = [
        ...failedPhases.map((p) => ({ text: `Phase ${p.name} failed: ${p.error ?? ""}`, owner: tech })),
        ...failedChecks.map((c) => ({ text: `Check failed: ${c.name} (${c.detail})`, owner: dba })),
        ...missed.map((o) => ({
            text: `${o.name}: ${formatSeconds(o.measuredSeconds)} missed the ${formatTarget(o.targetSeconds)} target.`,
            owner: ic,
        })),
        ...(r.outcome === "interrupted" ? [{ text: "The run was interrupted before it finished.", owner: ic }] : []),
        ...(r.outcome === "cleanup-failed"
            ? [
                  {
                      text: `Cleanup failed: ${r.notes.find((n) => n.startsWith("Cleanup")) ?? "see the notes"}`,
                      owner: tech,
                  },
              ]
            : []),
    ];
    const actions = wentBadly.map((w) => `- [ ] Follow up: ${w.text} - Owner: ${w.owner} - Due: [Date]`);
    const people = r.people
        ? [`**People:** ${r.people.roles.map((x) => `${x.title} ${x.person?.name ?? "[Name]"}`).join(" · ")}  `]
        : [];
    const severity =
        pm.severity ??
        `P0 (simulated in a ${r.flow === "failback" ? "failback rehearsal" : r.kind}; no users affected)`;

    return [
        "## Post-mortem",
        "",
        "The plan's template (Post-Recovery → Post-Mortem Template), with the facts this run measured and the people of its stack filled in. Bracketed fields are for people.",
        "",
        "```markdown",
        `# Incident Post-Mortem: ${title} ${r.id}`,
        "",
        `**Date:** ${start.slice(0, 10)}  `,
        `**Duration:** ${start} - ${end} (${formatSeconds((Date.parse(end) - Date.parse(start)) / 1000)})  `,
        ...people,
        `**Severity:** ${severity}`,
        "",
        "## Summary",
        summary.join(" "),
        "",
        "## Timeline",
        ...r.timeline.map((t) => `- ${t.at}: ${t.event}`),
        "",
        "## Impact",
        `- Users affected: ${pm.usersAffected}`,
        `- Downtime: ${downtime}`,
        `- Data loss: ${dataLoss}`,
        `- Financial impact: ${pm.financialImpact}`,
        "",
        "## Root Cause",
        pm.rootCause,
        "",
        "## Resolution",
        pm.resolution,
        "",
        "## Lessons Learned",
        "**What went well:**",
        ...(wentWell.length ? wentWell.map((w) => `- ${w}`) : ["- [Item]"]),
        "",
        "**What didn't go well:**",
        ...(wentBadly.length ? wentBadly.map((w) => `- ${w.text}`) : ["- [Item]"]),
        "",
        "**Where we got lucky:**",
        "- [Item]",
        "",
        "## Action Items",
        ...actions,
        `- [ ] [Action] - Owner: ${ic} - Due: [Date]`,
        "",
        "## Prevention",
        "[How we'll prevent this from happening again]",
        "```",
    ];
}

/** `20260301-060000`: a UTC timestamp usable in stack, host and bucket names (lowercase, no colons). */
export function utcStamp(ms: number): string {
    const d = new Date(ms).toISOString(); // 2026-03-01T06:00:00.000Z
    return `${d.slice(0, 4)}${d.slice(5, 7)}${d.slice(8, 10)}-${d.slice(11, 13)}${d.slice(14, 16)}${d.slice(17, 19)}`;
}

/** The run id and report file name stem: `<kind>-<UTC timestamp>`, e.g. `rehearsal-20260301-060000`. */
export function runId(kind: ReportKind, ms: number): string {
    return `${kind}-${utcStamp(ms)}`;
}
