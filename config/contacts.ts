// The plan's people (Roles & Responsibilities, Contact Information) as config: the key
// `contacts`, a JSON object. Pure: the schema checks the value with parseContacts, the
// drill, rehearsal and failback reports name the people, and formatContactBlock prints the
// block a notification (a breach, a failback's write freeze) ends with.
import { parseEmail, type Check } from "./rules";

/** The four roles of the plan, in its order, with the plan's own wording. */
export const ROLES = [
    { key: "incidentCommander", title: "Incident Commander", holder: "DevOps Lead" },
    { key: "technicalLead", title: "Technical Lead", holder: "Senior Engineer" },
    { key: "databaseAdministrator", title: "Database Administrator", holder: "DBA" },
    { key: "communicationsLead", title: "Communications Lead", holder: "Product Manager" },
] as const;

export type RoleKey = (typeof ROLES)[number]["key"];

/** Someone the plan names, and how to reach them. */
export interface Person {
    name: string;
    email?: string;
    phone?: string;
    /** When they answer, e.g. `24/7 (on-call rotation)`. */
    availability?: string;
}

/** An escalation contact (the plan's CTO and CEO). */
export interface EscalationContact extends Person {
    /** Their title, e.g. `CTO`. */
    title: string;
}

/** The parsed `contacts` key. A role not set is the plan's "[TBD]". */
export interface Contacts {
    roles: Partial<Record<RoleKey, Person>>;
    escalation: EscalationContact[];
    /** Where security incidents are reported (the plan's security@incomefortress.com). */
    securityEmail?: string;
}

export const NO_CONTACTS: Contacts = { roles: {}, escalation: [] };

const q = JSON.stringify;
const ROLE_KEYS: readonly string[] = ROLES.map((r) => r.key);
const TOP_KEYS = [...ROLE_KEYS, "escalation", "securityEmail"];
const PERSON_KEYS = ["name", "email", "phone", "availability"];
export const CONTACTS_EXAMPLE = `pulumi config set contacts '{"incidentCommander": {"name": "Alberto D.", "email": "alberto@incomefortress.com", "availability": "24/7 (on-call rotation)"}}'`;

function distance(a: string, b: string): number {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0]![j] = j;
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++)
            d[i]![j] = Math.min(
                d[i - 1]![j]! + 1,
                d[i]![j - 1]! + 1,
                d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
            );
    }
    return d[a.length]![b.length]!;
}

// The plan's abbreviations.
const ALIASES: Readonly<Record<string, string>> = {
    dba: "databaseAdministrator",
    ic: "incidentCommander",
    tl: "technicalLead",
    cl: "communicationsLead",
};

/** The choice a mistyped name probably meant: the same letters in another case or spelling, a plan abbreviation, or within 3 edits. */
function nearest(word: string, choices: readonly string[]): string | undefined {
    const norm = (s: string) => s.toLowerCase().replace(/[^a-z]/g, "");
    const alias = ALIASES[norm(word)];
    if (alias && choices.includes(alias)) return alias;
    const best = choices.map((c) => [c, distance(norm(c), norm(word))] as const).sort((x, y) => x[1] - y[1])[0];
    return best && best[1] <= 3 ? best[0] : undefined;
}

/** One line of text: printable, no line breaks, 1 to `max` characters. */
function text(value: unknown, where: string, max: number, problems: string[]): string | undefined {
    if (typeof value !== "string") {
        problems.push(`${where} is ${q(value)}; use text in double quotes`);
        return undefined;
    }
    const trimmed = value.trim();
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
    if (trimmed === "" || trimmed.length > max || /[\u0000-\u001f\u007f]/.test(trimmed)) {
        problems.push(`${where} is ${q(value)}; use one line of 1 to ${max} characters`);
        return undefined;
    }
    return trimmed;
}

/** A phone number as people write them: digits, an optional leading +, spaces, dashes, dots, brackets; 6 to 20 digits. */
export function parsePhone(raw: string): Check<string> {
    const digits = raw.replace(/\D/g, "").length;
    if (/^\+?[0-9 ().-]+$/.test(raw.trim()) && digits >= 6 && digits <= 20) return { ok: true, value: raw.trim() };
    return {
        ok: false,
        problem: `${q(raw)} is not a phone number; use digits with an optional leading +, and spaces, dashes, dots or brackets, such as +1 555 010 0199`,
    };
}

function person(
    value: unknown,
    where: string,
    problems: string[],
    extra: readonly string[] = [],
): (Person & { title?: string }) | undefined {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
        problems.push(
            `${where} is ${q(value)}; use an object such as {"name": "Alberto D.", "email": "alberto@incomefortress.com"}`,
        );
        return undefined;
    }
    const allowed = [...extra, ...PERSON_KEYS];
    const o = value as Record<string, unknown>;
    const before = problems.length;
    for (const k of Object.keys(o)) {
        if (!allowed.includes(k)) {
            const near = nearest(k, allowed);
            problems.push(
                `${where}.${k} is not a field; ${near ? `did you mean ${near}? ` : ""}use ${allowed.join(", ")}`,
            );
        }
    }
    const out: Person & { title?: string } = { name: "" };
    if (extra.includes("title")) {
        if (o.title === undefined) problems.push(`${where}.title is missing; say who they are, such as "CTO"`);
        else out.title = text(o.title, `${where}.title`, 40, problems);
    }
    if (o.name === undefined) problems.push(`${where}.name is missing; name the person who holds it`);
    else out.name = text(o.name, `${where}.name`, 100, problems) ?? "";
    if (o.email !== undefined) {
        const email =
            typeof o.email === "string"
                ? parseEmail(o.email.trim(), "incident calls and mail")
                : { ok: false as const, problem: `${q(o.email)} is not an e-mail address` };
        if (email.ok) out.email = email.value;
        else problems.push(`${where}.email: ${email.problem}`);
    }
    if (o.phone !== undefined) {
        const phone =
            typeof o.phone === "string"
                ? parsePhone(o.phone)
                : {
                      ok: false as const,
                      problem: `${q(o.phone)} is not a phone number; write it as text, such as "+1 555 010 0199"`,
                  };
        if (phone.ok) out.phone = phone.value;
        else problems.push(`${where}.phone: ${phone.problem}`);
    }
    if (o.availability !== undefined) {
        const availability = text(o.availability, `${where}.availability`, 100, problems);
        if (availability !== undefined) out.availability = availability;
    }
    if (o.email === undefined && o.phone === undefined)
        problems.push(
            `${where} has neither email nor phone; add one so the reports say how to reach ${out.name || "them"}`,
        );
    return problems.length === before ? out : undefined;
}

/**
 * Parses the `contacts` key: every problem at once, each naming the field, the bad value
 * and what to write instead.
 */
export function parseContacts(raw: string): Check<Contacts> {
    let doc: unknown;
    try {
        doc = JSON.parse(raw);
    } catch {
        return {
            ok: false,
            problem: `is not JSON; set a JSON object with the plan's roles, such as: ${CONTACTS_EXAMPLE}`,
        };
    }
    if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
        return {
            ok: false,
            problem: `is ${q(doc)}, not a JSON object; set one with the plan's roles, such as: ${CONTACTS_EXAMPLE}`,
        };
    }
    const o = doc as Record<string, unknown>;
    const problems: string[] = [];
    const contacts: Contacts = { roles: {}, escalation: [] };
    for (const k of Object.keys(o)) {
        if (TOP_KEYS.includes(k)) continue;
        const near = nearest(k, TOP_KEYS);
        problems.push(`${q(k)} is not an entry; ${near ? `did you mean ${near}? ` : ""}use ${TOP_KEYS.join(", ")}`);
    }
    for (const role of ROLES) {
        if (o[role.key] === undefined) continue;
        const p = person(o[role.key], role.key, problems);
        if (p) contacts.roles[role.key] = p;
    }
    if (o.escalation !== undefined) {
        if (!Array.isArray(o.escalation)) {
            problems.push(
                `escalation is ${q(o.escalation)}; use a list such as [{"title": "CTO", "name": "…", "email": "…"}]`,
            );
        } else {
            o.escalation.forEach((e, i) => {
                const p = person(e, `escalation[${i}]`, problems, ["title"]);
                if (p?.title !== undefined) contacts.escalation.push({ ...p, title: p.title });
            });
        }
    }
    if (o.securityEmail !== undefined) {
        const email =
            typeof o.securityEmail === "string"
                ? parseEmail(o.securityEmail.trim(), "security incident reports")
                : { ok: false as const, problem: `${q(o.securityEmail)} is not an e-mail address` };
        if (email.ok) contacts.securityEmail = email.value;
        else problems.push(`securityEmail: ${email.problem}`);
    }
    return problems.length ? { ok: false, problem: problems.join("; ") } : { ok: true, value: contacts };
}

/** `Alberto D., alberto@incomefortress.com, +1 555 010 0199 (24/7 (on-call rotation))`. */
export function personLine(p: Person): string {
    const reach = [p.email, p.phone].filter((x): x is string => !!x);
    return `${p.name}${reach.length ? `, ${reach.join(", ")}` : ""}${p.availability ? ` (${p.availability})` : ""}`;
}

/**
 * The contact block, in the plan's order (its "Contact Information" section): every role,
 * "not set" for one nobody holds yet, the escalation contacts and where security incidents
 * go. Plain text, one line each, for the end of a notification.
 */
export function formatContactBlock(contacts: Contacts): string {
    const lines = ROLES.map((r) => {
        const p = contacts.roles[r.key];
        return `${r.title} (${r.holder}): ${p ? personLine(p) : "not set (config contacts)"}`;
    });
    for (const e of contacts.escalation) lines.push(`Escalation, ${e.title}: ${personLine(e)}`);
    lines.push(`Security incident response: ${contacts.securityEmail ?? "not set (config contacts, securityEmail)"}`);
    return `${lines.join("\n")}\n`;
}
