// Layer 1: the plan's people as config (config/contacts.ts): what the `contacts` key takes,
// what it refuses and how it says so, and the contact block a notification ends with.
import { describe, expect, it } from "vitest";
import {
    formatContactBlock,
    NO_CONTACTS,
    parseContacts,
    parsePhone,
    personLine,
    ROLES,
    type Contacts,
} from "../../config/contacts";
import { parseConfig } from "../../config";

const IC = { name: "Alberto D.", email: "alberto@incomefortress.com", availability: "24/7 (on-call rotation)" };
const EVERY_ROLE = {
    incidentCommander: IC,
    technicalLead: { name: "Sam Lee", phone: "+1 (555) 010-0199" },
    databaseAdministrator: { name: "Kim O.", email: "kim@incomefortress.com", phone: "555.010.0123" },
    communicationsLead: { name: "Ana P.", email: "ana@incomefortress.com" },
};
const ESCALATION = [{ title: "CTO", name: "Chris T.", email: "cto@incomefortress.com" }];
const SECURITY = "security@incomefortress.com";

describe("parseContacts: accepted", () => {
    it.each([
        ["nothing set (the key's default)", "{}", NO_CONTACTS],
        [
            "the plan's one named contact",
            JSON.stringify({ incidentCommander: IC }),
            { roles: { incidentCommander: IC }, escalation: [] },
        ],
        [
            "every role, escalation and the security address",
            JSON.stringify({ ...EVERY_ROLE, escalation: ESCALATION, securityEmail: SECURITY }),
            { roles: EVERY_ROLE, escalation: ESCALATION, securityEmail: SECURITY },
        ],
        [
            "spaces around values are trimmed",
            JSON.stringify({ technicalLead: { name: "  Sam Lee ", email: " sam@incomefortress.com " } }),
            { roles: { technicalLead: { name: "Sam Lee", email: "sam@incomefortress.com" } }, escalation: [] },
        ],
        [
            "a YAML block scalar's surrounding whitespace",
            `\n  {"communicationsLead": {"name": "Ana P.", "email": "ana@incomefortress.com"}}\n`,
            { roles: { communicationsLead: { name: "Ana P.", email: "ana@incomefortress.com" } }, escalation: [] },
        ],
    ] as [string, string, Contacts][])("%s", (_what, raw, expected) => {
        expect(parseContacts(raw)).toEqual({ ok: true, value: expected });
    });
});

describe("parseContacts: refused, with what to write instead", () => {
    it.each([
        [
            "not JSON",
            "Alberto D.",
            /^is not JSON; set a JSON object with the plan's roles, such as: pulumi config set contacts '\{"incidentCommander"/,
        ],
        ["a list", "[]", /^is \[\], not a JSON object/],
        [
            "the plan's abbreviation as a key",
            '{"dba": {"name": "Kim", "email": "kim@incomefortress.com"}}',
            /^"dba" is not an entry; did you mean databaseAdministrator\? use incidentCommander, technicalLead/,
        ],
        [
            "a misspelt role",
            '{"incidentComander": {"name": "A", "email": "a@incomefortress.com"}}',
            /^"incidentComander" is not an entry; did you mean incidentCommander\?/,
        ],
        [
            "snake case",
            '{"technical_lead": {"name": "A", "email": "a@incomefortress.com"}}',
            /did you mean technicalLead\?/,
        ],
        [
            "a role as a bare string",
            '{"technicalLead": "Sam"}',
            /^technicalLead is "Sam"; use an object such as \{"name": "Alberto D\.", "email": "alberto@incomefortress\.com"\}/,
        ],
        [
            "no name",
            '{"technicalLead": {"email": "sam@incomefortress.com"}}',
            /^technicalLead\.name is missing; name the person who holds it/,
        ],
        [
            "no way to reach them",
            '{"technicalLead": {"name": "Sam"}}',
            /^technicalLead has neither email nor phone; add one so the reports say how to reach Sam/,
        ],
        [
            "a bad address",
            '{"technicalLead": {"name": "Sam", "email": "sam-at-home"}}',
            /^technicalLead\.email: "sam-at-home" is not an e-mail address/,
        ],
        [
            "a phone number as a number",
            '{"technicalLead": {"name": "Sam", "phone": 5550100}}',
            /^technicalLead\.phone: 5550100 is not a phone number; write it as text/,
        ],
        [
            "letters in a phone number",
            '{"technicalLead": {"name": "Sam", "phone": "call me"}}',
            /^technicalLead\.phone: "call me" is not a phone number; use digits/,
        ],
        [
            "an unknown field",
            '{"technicalLead": {"name": "Sam", "email": "s@incomefortress.com", "mail": "x"}}',
            /^technicalLead\.mail is not a field; did you mean email\? use name, email, phone, availability/,
        ],
        [
            "a name over two lines",
            '{"technicalLead": {"name": "Sam\\nLee", "email": "s@incomefortress.com"}}',
            /^technicalLead\.name is "Sam\\nLee"; use one line of 1 to 100 characters/,
        ],
        ["escalation not a list", '{"escalation": {"title": "CTO"}}', /^escalation is \{"title":"CTO"\}; use a list/],
        [
            "escalation without a title",
            '{"escalation": [{"name": "Chris", "email": "c@incomefortress.com"}]}',
            /^escalation\[0\]\.title is missing; say who they are, such as "CTO"/,
        ],
        [
            "a bad security address",
            '{"securityEmail": "security"}',
            /^securityEmail: "security" is not an e-mail address/,
        ],
    ])("%s", (_what, raw, message) => {
        const r = parseContacts(raw);
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.problem).toMatch(message);
    });

    it("reports every problem at once", () => {
        const r = parseContacts('{"dba": {}, "technicalLead": {"name": "Sam"}, "securityEmail": "x"}');
        expect(r.ok).toBe(false);
        if (!r.ok)
            expect(r.problem.split("; ").filter((p) => /^("dba"|technicalLead|securityEmail)/.test(p))).toHaveLength(3);
    });
});

describe("parsePhone", () => {
    it.each([
        ["+1 555 010 0199", true],
        ["1-888-890-6714", true],
        ["(555) 010.0123", true],
        ["12345", false],
        ["+1 555 010 0199 ext 2", false],
        ["123456789012345678901", false],
    ])("%s -> %s", (raw, ok) => expect(parsePhone(raw).ok).toBe(ok));
});

describe("formatContactBlock: the block a notification ends with", () => {
    it("lists the plan's four roles in its order, not set ones too, then escalation and security", () => {
        const block = formatContactBlock({
            roles: { incidentCommander: IC, databaseAdministrator: { name: "Kim O.", phone: "+1 555 010 0123" } },
            escalation: [{ title: "CTO", name: "Chris T.", email: "cto@incomefortress.com" }],
            securityEmail: "security@incomefortress.com",
        });
        expect(block).toBe(
            [
                "Incident Commander (DevOps Lead): Alberto D., alberto@incomefortress.com (24/7 (on-call rotation))",
                "Technical Lead (Senior Engineer): not set (config contacts)",
                "Database Administrator (DBA): Kim O., +1 555 010 0123",
                "Communications Lead (Product Manager): not set (config contacts)",
                "Escalation, CTO: Chris T., cto@incomefortress.com",
                "Security incident response: security@incomefortress.com",
                "",
            ].join("\n"),
        );
    });

    it("says where security incidents go when nobody is set", () => {
        const block = formatContactBlock(NO_CONTACTS);
        expect(block.split("\n").filter(Boolean)).toHaveLength(ROLES.length + 1);
        expect(block).toContain("Security incident response: not set (config contacts, securityEmail)");
    });

    it("personLine shows name, address, phone and availability", () => {
        expect(personLine({ name: "Sam", email: "s@incomefortress.com", phone: "+1 555 010 0199" })).toBe(
            "Sam, s@incomefortress.com, +1 555 010 0199",
        );
        expect(personLine({ name: "Sam", phone: "+1 555 010 0199", availability: "office hours" })).toBe(
            "Sam, +1 555 010 0199 (office hours)",
        );
    });
});

describe("the contacts key in the config schema", () => {
    const BASE = {
        domain: "incomefortress.com",
        hostname: "api",
        adminCidrs: '["203.0.113.0/24"]',
        sshKeyFingerprints: '["88:8e:c5:eb:a4:9a:d2:1c:c4:ab:8d:43:f2:83:8e:a9"]',
        deployerPublicKeys: JSON.stringify([
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID2gVhTbVzvr8WlcYotifbpmdXFMTZhILeHFLMv/IyRL ops@incomefortress.com",
        ]),
        alertEmails: '["oncall@incomefortress.com"]',
    };

    it("is optional and reported under its full key when wrong", () => {
        expect(parseConfig(BASE, "prod").ok).toBe(true);
        expect(parseConfig({ ...BASE, contacts: JSON.stringify({ incidentCommander: IC }) }, "prod").ok).toBe(true);
        const bad = parseConfig({ ...BASE, contacts: '{"technicalLead": {"name": "Sam"}}' }, "prod");
        expect(bad.ok).toBe(false);
        if (!bad.ok)
            expect(bad.problems).toEqual([
                {
                    key: "income-fortress:contacts",
                    message: expect.stringMatching(/^technicalLead has neither email nor phone/),
                },
            ]);
    });
});
