// Layer 1: the breach response's plan (components/isolation-rules.ts): which droplet is under
// suspicion, whether the running one is a rebuild, and the updates that are refused.
import { describe, expect, it } from "vitest";
import {
    evidenceRecipientsProblem,
    isolationMessage,
    isolationOutput,
    parseIsolationRecord,
    planIsolation,
    slackPayload,
} from "../../components/isolation-rules";
import { NO_CONTACTS, parseContacts } from "../../config/contacts";

const LIVE = { dropletId: "424242", publicIp: "192.0.2.200", credentialsEpoch: 3 };
const RECORD = { epoch: 3, dropletId: "424242", publicIp: "192.0.2.200" };

describe("planIsolation", () => {
    it.each([
        ["a stack never isolated stays open", false, 3, LIVE, { state: "open" }],
        [
            "isolate on: the serving droplet is the suspect, with the epoch it was built with",
            true,
            3,
            LIVE,
            { state: "isolated", record: RECORD, rebuilt: false, starting: true },
        ],
        [
            "isolate on, a stack from before the epoch was recorded",
            true,
            3,
            { dropletId: "424242", publicIp: "192.0.2.200" },
            { state: "isolated", record: RECORD, rebuilt: false, starting: true },
        ],
        [
            "isolated from its first update: no suspect, the first droplet may reach the data",
            true,
            1,
            {},
            { state: "isolated", record: { epoch: 1, dropletId: "", publicIp: "" }, rebuilt: true, starting: true },
        ],
        [
            "still isolated: the record holds, the suspect stays",
            true,
            3,
            { ...LIVE, isolation: RECORD },
            { state: "isolated", record: RECORD, rebuilt: false, starting: false },
        ],
        [
            "rotated while isolated: the new droplet is a rebuild, the suspect is still the old one",
            true,
            4,
            { ...LIVE, isolation: RECORD },
            { state: "isolated", record: RECORD, rebuilt: true, starting: false },
        ],
        [
            "after the rotation the record still names the first droplet",
            true,
            4,
            { dropletId: "515151", publicIp: "192.0.2.200", credentialsEpoch: 4, isolation: RECORD },
            { state: "isolated", record: RECORD, rebuilt: true, starting: false },
        ],
        [
            "lifting: the app starts again at the reserved IP",
            false,
            4,
            { dropletId: "515151", publicIp: "192.0.2.200", credentialsEpoch: 4, isolation: RECORD },
            { state: "lifting", publicIp: "192.0.2.200" },
        ],
    ] as const)("%s", (_name, isolate, epoch, previous, plan) => {
        expect(planIsolation(isolate, epoch, previous)).toEqual({ ok: true, plan });
    });

    it("refuses a rotation in the update that starts isolation, and says how to do it in two", () => {
        const r = planIsolation(true, 4, LIVE);
        expect(r.ok).toBe(false);
        if (!r.ok)
            expect(r.problem).toBe(
                "credentialsEpoch changes from 3 to 4 in the update that sets isolate true. The rotation replaces droplet 424242, whose evidence (a snapshot, and logs taken over SSH with the current deploy key) must be kept first. " +
                    "Set credentialsEpoch back to 3 (pulumi config set credentialsEpoch 3), run pulumi up with isolate true, then bump credentialsEpoch in a second update",
            );
    });

    it("refuses a rotation in the update that lifts isolation", () => {
        const r = planIsolation(false, 5, { ...LIVE, credentialsEpoch: 4, isolation: RECORD });
        expect(r.ok).toBe(false);
        if (!r.ok)
            expect(r.problem).toMatch(/^credentialsEpoch changes from 4 to 5 in the update that sets isolate false/);
    });

    it("a rotation with no isolation involved is no business of this plan", () => {
        expect(planIsolation(false, 4, LIVE)).toEqual({ ok: true, plan: { state: "open" } });
    });

    it.each([null, "x", { epoch: "3", dropletId: "1", publicIp: "" }, { epoch: 3, dropletId: 1, publicIp: "" }, {}])(
        "ignores a malformed record %j",
        (value) => {
            expect(parseIsolationRecord(value)).toBeUndefined();
        },
    );

    it("the output records the plan only while isolated", () => {
        expect(isolationOutput({ state: "isolated", record: RECORD, rebuilt: false, starting: true })).toEqual(RECORD);
        expect(isolationOutput({ state: "lifting", publicIp: "192.0.2.200" })).toBeUndefined();
        expect(isolationOutput({ state: "open" })).toBeUndefined();
    });
});

describe("isolationMessage", () => {
    const contacts = parseContacts(
        JSON.stringify({
            incidentCommander: { name: "Alberto D.", email: "alberto@incomefortress.com" },
            securityEmail: "security@incomefortress.com",
        }),
    );
    if (!contacts.ok) throw new Error("contacts");

    it("as isolation starts: the suspect droplet, what is kept, the next command, and the people", () => {
        const text = isolationMessage(
            { state: "isolated", record: RECORD, rebuilt: false, starting: true },
            "prod",
            contacts.value,
            "evidence/prod",
        );
        expect(text).toContain("income-fortress prod: security isolation STARTED (config isolate true)");
        expect(text).toContain(
            "Droplet 424242 is cut off from the data; its snapshot (income-fortress-prod-evidence-424242) and an encrypted evidence bundle (evidence/prod/) are kept",
        );
        expect(text).toContain("pulumi config set credentialsEpoch 4 and pulumi up");
        expect(text).toContain("Incident Commander (DevOps Lead): Alberto D., alberto@incomefortress.com");
        expect(text).toContain("Security incident response: security@incomefortress.com");
    });

    it("as isolation ends; and nothing when there is no isolation", () => {
        const text = isolationMessage(
            { state: "lifting", publicIp: "192.0.2.200" },
            "prod",
            NO_CONTACTS,
            "evidence/prod",
        );
        expect(text).toMatch(
            /^income-fortress prod: isolation ENDED \(config isolate false\)\. .* app is started at 192\.0\.2\.200\./,
        );
        expect(text).toContain("Incident Commander (DevOps Lead): not set (config contacts)");
        expect(isolationMessage({ state: "open" }, "prod", NO_CONTACTS, "evidence/prod")).toBeUndefined();
    });

    it("goes to Slack as the text of a JSON body", () => {
        expect(JSON.parse(slackPayload('a "quoted"\nline'))).toEqual({ text: 'a "quoted"\nline' });
    });
});

describe("evidenceRecipientsProblem", () => {
    it("asks for a recipient only when isolating without one", () => {
        expect(evidenceRecipientsProblem(false, [])).toBeUndefined();
        expect(evidenceRecipientsProblem(true, ["age1x"])).toBeUndefined();
        expect(evidenceRecipientsProblem(true, [])).toMatch(
            /^isolate keeps an evidence bundle encrypted to ageRecipients, which is empty/,
        );
    });
});
