// The plan's people in the drill, rehearsal and failback reports: who holds each role (the
// stack's `contacts` key, config/contacts.ts) and what each does in this kind of run. The
// names come from the stack file of the stack the run is about (tools/stack-files.ts reads
// it): the DR stack for a drill, prod for a failback and, unless told otherwise, for a
// rehearsal. Pure but for the read in peopleFromStackFile.
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
    CONTACTS_EXAMPLE,
    NO_CONTACTS,
    parseContacts,
    ROLES,
    type Contacts,
    type EscalationContact,
    type Person,
    type RoleKey,
} from "../config/contacts";
import { stringDefault } from "../config/keys";
import { errorMessage } from "../tools/cli";
import {
    isSecure,
    projectDefaults,
    projectKey,
    readProjectFile,
    readStackFile,
    stackFileName,
    type StackConfig,
} from "../tools/stack-files";

/** The kinds of run whose reports name the people. */
export type PeopleRun = "drill" | "rehearsal" | "failback-rehearsal" | "failback";

/** One role in a report: the plan's title, who holds it (null: not set), and their part in this run. */
export interface RoleInRun {
    key: RoleKey;
    title: string;
    /** The plan's holder of the role, e.g. `DevOps Lead`. */
    holder: string;
    person: Person | null;
    duty: string;
}

/** The report's `people`: who does what in this run, and whom to escalate to. */
export interface PeopleSection {
    /** Where the names come from, e.g. `Pulumi.prod.yaml (contacts)`. */
    source: string;
    roles: RoleInRun[];
    escalation: EscalationContact[];
    securityEmail: string | null;
    /** Why no names are shown, and how to set them; absent when the key was read. */
    note?: string;
}

/** Each role's part in each kind of run, from the plan's "Roles & Responsibilities". */
export const DUTIES: Readonly<Record<PeopleRun, Readonly<Record<RoleKey, string>>>> = {
    drill: {
        incidentCommander:
            "schedules the drill two weeks ahead, declares the simulated disaster, decides what the findings change in the plan",
        technicalLead:
            "runs npm run drill, watches the phases, checks health and the compose services, documents the technical findings",
        databaseAdministrator:
            "checks the restored row counts against the manifest and the age of the backup used (RPO)",
        communicationsLead: "tells the team the drill is on, writes the post-mortem within 48 hours",
    },
    rehearsal: {
        incidentCommander: "decides when the rehearsal runs and what its result changes in the plan",
        technicalLead: "runs npm run rehearse and follows up a failed phase",
        databaseAdministrator:
            "reviews the checks: counts against the manifest, sha256, encryption, md5 of every table",
        communicationsLead: "files the report and the post-mortem",
    },
    "failback-rehearsal": {
        incidentCommander:
            "decides when the failback is rehearsed and whether the measured write freeze is acceptable for the real one",
        technicalLead: "runs npm run rehearse -- --scenario failback and follows up a failed phase",
        databaseAdministrator: "reviews the table-by-table comparison of prod with the frozen DR database",
        communicationsLead: "drafts the status-page notice of the write freeze from the measured window",
    },
    failback: {
        incidentCommander:
            "chooses the failback time, approves the write freeze, decides on a rollback if a phase fails",
        technicalLead: "runs npm run failback, watches the phases, is on the hosts if one fails",
        databaseAdministrator:
            "checks the final backup, the restore into prod and the table-by-table comparison with DR",
        communicationsLead:
            "announces the write freeze on the status page before it starts and its end after, writes the post-mortem",
    },
};

/** The report's people section for `contacts` read from `source`. */
export function peopleSection(contacts: Contacts, run: PeopleRun, source: string, note?: string): PeopleSection {
    return {
        source,
        roles: ROLES.map((r) => ({
            key: r.key,
            title: r.title,
            holder: r.holder,
            person: contacts.roles[r.key] ?? null,
            duty: DUTIES[run][r.key],
        })),
        escalation: contacts.escalation,
        securityEmail: contacts.securityEmail ?? null,
        ...(note !== undefined ? { note } : {}),
    };
}

/**
 * The contacts in a stack's config (`contacts` over Pulumi.yaml's default). A value that
 * cannot be read is a problem to report, never a reason to stop a run: `problem` says what
 * to fix and `contacts` is then empty.
 */
export function contactsFromStack(
    stack: StackConfig,
    defaults: StackConfig,
    fileName: string,
): { contacts: Contacts; set: boolean; problem?: string } {
    const value = stack[projectKey("contacts")] ?? defaults[projectKey("contacts")] ?? stringDefault("contacts");
    const set = projectKey("contacts") in stack;
    if (isSecure(value))
        return {
            contacts: NO_CONTACTS,
            set,
            problem: `contacts in ${fileName} is a secret, which a report does not decrypt; set it in plain text (it is not a credential)`,
        };
    // `pulumi config set --path contacts.…` writes a YAML map rather than a JSON string.
    const raw = typeof value === "string" ? value : JSON.stringify(value);
    const parsed = parseContacts(raw);
    if (!parsed.ok) return { contacts: NO_CONTACTS, set, problem: `contacts in ${fileName} ${parsed.problem}` };
    return { contacts: parsed.value, set };
}

/**
 * The people section for a run about `stack`, from `<root>/Pulumi.<stack>.yaml`. A missing
 * file or key still gives a section, with a note on how to fill it.
 */
export function peopleFromStackFile(root: string, stack: string, run: PeopleRun): PeopleSection {
    const fileName = stackFileName(stack);
    const source = `${fileName} (contacts)`;
    const howTo = `set the plan's people with ${CONTACTS_EXAMPLE} --stack ${stack}`;
    if (!existsSync(join(root, fileName)))
        return peopleSection(NO_CONTACTS, run, source, `${fileName} does not exist here; ${howTo}`);
    let defaults: StackConfig = {};
    try {
        defaults = projectDefaults(readProjectFile(root));
    } catch {
        // the key's own default applies
    }
    let found: ReturnType<typeof contactsFromStack>;
    try {
        found = contactsFromStack(readStackFile(root, stack), defaults, fileName);
    } catch (e) {
        return peopleSection(NO_CONTACTS, run, source, `${errorMessage(e)}; the names could not be read`);
    }
    if (found.problem) return peopleSection(NO_CONTACTS, run, source, found.problem);
    const anyone = Object.keys(found.contacts.roles).length > 0;
    return peopleSection(found.contacts, run, source, anyone ? undefined : `no role is set in ${fileName}; ${howTo}`);
}

/** The name of a role's holder, or the template's placeholder. */
export function nameOf(people: PeopleSection | null | undefined, role: RoleKey): string {
    return people?.roles.find((r) => r.key === role)?.person?.name ?? "[Name]";
}
