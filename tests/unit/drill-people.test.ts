// The plan's people in the reports (drill/people.ts and the report's Markdown): read from the
// stack file of the stack a run is about, each role's part in each kind of run, the "Who does
// what" table, and the post-mortem template with the names filled in.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROLES } from "../../config/contacts";
import {
    contactsFromStack,
    DUTIES,
    nameOf,
    peopleFromStackFile,
    peopleSection,
    type PeopleRun,
} from "../../drill/people";
import { buildReport, renderMarkdown, type Phase, type ReportInput } from "../../drill/report";
import { PLAN_RPO, PLAN_RTO, planTargets } from "../../drill/targets";
import { ROOT } from "../support/entry-point";

const dir = mkdtempSync(join(tmpdir(), "people-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(
    join(dir, "Pulumi.yaml"),
    "name: income-fortress\nruntime: nodejs\nconfig:\n  contacts:\n    type: string\n    default: '{}'\n",
);

function stackFile(stack: string, body: string): void {
    writeFileSync(join(dir, `Pulumi.${stack}.yaml`), `config:\n${body}`);
}

describe("contactsFromStack: the key as a stack file holds it", () => {
    const K = "income-fortress:contacts";
    it.each([
        [
            "a JSON string",
            { [K]: '{"technicalLead": {"name": "Sam Lee", "email": "sam@incomefortress.com"}}' },
            { technicalLead: { name: "Sam Lee", email: "sam@incomefortress.com" } },
            true,
        ],
        [
            "a YAML map (pulumi config set --path)",
            { [K]: { technicalLead: { name: "Sam Lee", phone: "+1 555 010 0199" } } },
            { technicalLead: { name: "Sam Lee", phone: "+1 555 010 0199" } },
            true,
        ],
        ["not set: the project default", {}, {}, false],
    ])("%s", (_what, stack, roles, set) => {
        expect(contactsFromStack(stack, {}, "Pulumi.prod.yaml")).toEqual({ contacts: { roles, escalation: [] }, set });
    });

    it.each([
        [
            "a secret",
            { [K]: { secure: "v1:abc" } },
            /^contacts in Pulumi\.prod\.yaml is a secret, which a report does not decrypt; set it in plain text/,
        ],
        [
            "a bad value",
            { [K]: '{"technicalLead": {"name": "Sam"}}' },
            /^contacts in Pulumi\.prod\.yaml technicalLead has neither email nor phone/,
        ],
    ])("%s is a problem to report, with no names", (_what, stack, problem) => {
        const r = contactsFromStack(stack, {}, "Pulumi.prod.yaml");
        expect(r.contacts).toEqual({ roles: {}, escalation: [] });
        expect(r.problem).toMatch(problem);
    });
});

describe("peopleFromStackFile", () => {
    it("reads the names and gives each role its part in the run", () => {
        stackFile(
            "prod",
            `  income-fortress:contacts: |\n    {"incidentCommander": {"name": "Alberto D.", "email": "alberto@incomefortress.com"}, "securityEmail": "security@incomefortress.com"}\n`,
        );
        const p = peopleFromStackFile(dir, "prod", "failback");
        expect(p.source).toBe("Pulumi.prod.yaml (contacts)");
        expect(p.note).toBeUndefined();
        expect(p.roles.map((r) => [r.title, r.person?.name ?? null])).toEqual([
            ["Incident Commander", "Alberto D."],
            ["Technical Lead", null],
            ["Database Administrator", null],
            ["Communications Lead", null],
        ]);
        expect(p.roles[0]!.duty).toBe(DUTIES.failback.incidentCommander);
        expect(p.securityEmail).toBe("security@incomefortress.com");
    });

    it.each([
        [
            "no such file",
            "nope",
            undefined,
            /^Pulumi\.nope\.yaml does not exist here; set the plan's people with pulumi config set contacts '.*' --stack nope$/,
        ],
        [
            "no role set",
            "empty",
            "  income-fortress:region: nyc3\n",
            /^no role is set in Pulumi\.empty\.yaml; set the plan's people with pulumi config set contacts/,
        ],
        ["a bad value", "bad", "  income-fortress:contacts: 'Alberto'\n", /^contacts in Pulumi\.bad\.yaml is not JSON/],
        [
            "a file that is not YAML",
            "broken",
            "  income-fortress:contacts: [\n",
            /is not valid YAML.*the names could not be read$/,
        ],
    ])("%s: a section with nobody in it and a note saying how to fill it", (_what, stack, body, note) => {
        if (body !== undefined) stackFile(stack, body);
        const p = peopleFromStackFile(dir, stack, "rehearsal");
        expect(p.roles.every((r) => r.person === null)).toBe(true);
        expect(p.note).toMatch(note);
    });

    it("the real dr stack names the plan's Incident Commander, so the drill report does", () => {
        const p = peopleFromStackFile(ROOT, "dr", "drill");
        expect(p.note).toBeUndefined();
        expect(nameOf(p, "incidentCommander")).toBe("Alberto D.");
        expect(nameOf(p, "technicalLead")).toBe("[Name]");
    });

    it("has a part for every role in every kind of run", () => {
        for (const run of Object.keys(DUTIES) as PeopleRun[])
            for (const r of ROLES) expect(DUTIES[run][r.key], `${run} ${r.key}`).toMatch(/^[a-z].{20,}[^.]$/);
    });
});

describe("the report with people", () => {
    const T0 = Date.parse("2026-03-01T06:00:00.000Z");
    const phase = (name: string, ok = true, error?: string): Phase => ({
        name,
        seconds: 5,
        ok,
        startedAt: new Date(T0).toISOString(),
        ...(error ? { error } : {}),
    });
    const people = peopleSection(
        {
            roles: {
                incidentCommander: { name: "Alberto D.", email: "alberto@incomefortress.com", availability: "24/7" },
                technicalLead: { name: "Sam | Lee", phone: "+1 555 010 0199" },
                databaseAdministrator: { name: "Kim O.", email: "kim@incomefortress.com" },
            },
            escalation: [{ title: "CTO", name: "Chris T.", email: "cto@incomefortress.com" }],
            securityEmail: "security@incomefortress.com",
        },
        "drill",
        "Pulumi.dr.yaml (contacts)",
    );
    const input = (over: Partial<ReportInput> = {}): ReportInput => ({
        kind: "drill",
        id: "drill-20260301-060000",
        scenario: "the primary region is lost",
        startedMs: T0,
        finishedMs: T0 + 60_000,
        disasterMs: T0,
        recoveredMs: T0 + 50_000,
        phases: [phase("pulumi-up")],
        checks: [{ name: "restored row counts equal the manifest", ok: true, detail: "ok" }],
        targets: planTargets(),
        measured: { rto: { api: { seconds: 50, how: "x" } }, rpo: { "user-data": { seconds: 10, how: "y" } } },
        headline: { rto: "api", rpo: "user-data" },
        timeline: [],
        postMortem: { rootCause: "Simulated.", resolution: "Rebuilt.", usersAffected: "none", financialImpact: "none" },
        people,
        ...over,
    });
    const md = (over: Partial<ReportInput> = {}) =>
        renderMarkdown(buildReport(input(over)), { rto: PLAN_RTO, rpo: PLAN_RPO });

    it("keeps the people in the JSON", () => {
        const r = buildReport(input());
        expect(r.people).toEqual(people);
        expect(JSON.parse(JSON.stringify(r))).toEqual(r);
        expect(buildReport(input({ people: undefined })).people).toBeNull();
    });

    it("shows who does what, how to reach them, escalation and the security address", () => {
        const text = md();
        expect(text).toContain(
            "## Who does what\n\nFrom Pulumi.dr.yaml (contacts); the roles are the plan's (Roles & Responsibilities).",
        );
        expect(text).toContain(
            `| Incident Commander (DevOps Lead) | Alberto D. | alberto@incomefortress.com, (24/7) | ${DUTIES.drill.incidentCommander} |`,
        );
        expect(text).toContain("| Technical Lead (Senior Engineer) | Sam \\| Lee | +1 555 010 0199 |");
        expect(text).toContain(
            `| Communications Lead (Product Manager) | not set |  | ${DUTIES.drill.communicationsLead} |`,
        );
        expect(text).toContain("- Escalation, CTO: Chris T., cto@incomefortress.com");
        expect(text).toContain("- Security incident response: security@incomefortress.com");
        expect(text.indexOf("## Who does what")).toBeLessThan(text.indexOf("## Recovery Time Objective (RTO)"));
    });

    it("fills the post-mortem with the names: the people line, and each follow-up's owner by role", () => {
        const text = md({
            phases: [phase("pulumi-up", false, "update failed")],
            checks: [{ name: "restored row counts equal the manifest", ok: false, detail: "differ" }],
            recoveredMs: undefined,
        });
        const pm = text.slice(text.indexOf("```markdown"));
        expect(pm).toContain(
            "**People:** Incident Commander Alberto D. · Technical Lead Sam | Lee · Database Administrator Kim O. · Communications Lead [Name]  \n**Severity:**",
        );
        expect(pm).toContain("- [ ] Follow up: Phase pulumi-up failed: update failed - Owner: Sam | Lee - Due: [Date]");
        expect(pm).toContain(
            "- [ ] Follow up: Check failed: restored row counts equal the manifest (differ) - Owner: Kim O. - Due: [Date]",
        );
        expect(pm).toContain("- [ ] [Action] - Owner: Alberto D. - Due: [Date]");
    });

    it("without people, leaves the section out and the template's placeholders in", () => {
        const text = md({
            people: undefined,
            phases: [phase("pulumi-up", false, "update failed")],
            recoveredMs: undefined,
        });
        expect(text).not.toContain("## Who does what");
        expect(text).not.toContain("**People:**");
        expect(text).toContain("- [ ] Follow up: Phase pulumi-up failed: update failed - Owner: [Name] - Due: [Date]");
    });
});
