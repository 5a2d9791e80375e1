// Pure rules of the breach response (config isolate), table-tested apart from the
// Isolation component. The program reads its own previous outputs before it registers
// anything (index.ts); from them and the config, planIsolation decides which droplet is
// under suspicion, whether the droplet about to run is a rebuild with new credentials,
// and which updates it refuses.
//
// Why the record: a breach is answered in several `pulumi up`s (isolate, then rotate with
// credentialsEpoch, then lift), and each must know the droplet that was serving when
// isolation began. The output `isolation` carries it from one update to the next.
import { type Contacts, formatContactBlock } from "../config/contacts";

/** The stack output that records an isolation in progress. */
export const ISOLATION_OUTPUT = "isolation";

/** What the stack records while isolated. */
export interface IsolationRecord {
    /** credentialsEpoch when isolation began: the credentials the suspect droplet holds. */
    epoch: number;
    /** The droplet that was serving when isolation began; "" for a stack isolated before it had one. */
    dropletId: string;
    /** Its address (the reserved IP) for the steps that reach it over SSH; "" when unknown. */
    publicIp: string;
}

/** What one update does about isolation. */
export type IsolationPlan =
    /** Not isolated, and not at the last update either. */
    | { state: "open" }
    /** isolate was true at the last update and is false now: the app starts again at `publicIp`. */
    | { state: "lifting"; publicIp: string }
    /**
     * Isolated. `rebuilt`: the droplet this update runs is not the suspect (a credentialsEpoch
     * above the record's rebuilt it, or there was none), so it may reach the databases.
     * `starting`: this is the update that sets isolate true (no record before it).
     */
    | { state: "isolated"; record: IsolationRecord; rebuilt: boolean; starting: boolean };

/** This stack's previous outputs that the plan reads; any may be missing (a new or older stack). */
export interface PreviousForIsolation {
    isolation?: unknown;
    dropletId?: unknown;
    publicIp?: unknown;
    credentialsEpoch?: unknown;
}

/** A record as the previous update wrote it, or undefined when there is none or it is malformed. */
export function parseIsolationRecord(value: unknown): IsolationRecord | undefined {
    if (typeof value !== "object" || value === null) return undefined;
    const r = value as Record<string, unknown>;
    if (!Number.isInteger(r.epoch) || typeof r.dropletId !== "string" || typeof r.publicIp !== "string")
        return undefined;
    return { epoch: r.epoch as number, dropletId: r.dropletId, publicIp: r.publicIp };
}

const text = (v: unknown): string => (typeof v === "string" ? v : "");

/**
 * The plan for this update, or the reason it is refused. Refused: a credentialsEpoch change
 * in the update that sets isolate true (the rotation would replace the suspect droplet with
 * a deploy key that cannot log in to it, so its evidence could not be taken over SSH), and
 * in the update that sets it false (the rebuilt droplet would open to the internet without
 * having been checked while isolated).
 */
export function planIsolation(
    isolate: boolean,
    credentialsEpoch: number,
    previous: PreviousForIsolation,
): { ok: true; plan: IsolationPlan } | { ok: false; problem: string } {
    const record = parseIsolationRecord(previous.isolation);
    const before = Number.isInteger(previous.credentialsEpoch) ? (previous.credentialsEpoch as number) : undefined;
    const bumped = before !== undefined && before !== credentialsEpoch;
    if (isolate && record) {
        return {
            ok: true,
            plan: {
                state: "isolated",
                record,
                rebuilt: record.dropletId === "" || credentialsEpoch > record.epoch,
                starting: false,
            },
        };
    }
    if (isolate) {
        const dropletId = text(previous.dropletId);
        if (bumped)
            return {
                ok: false,
                problem:
                    `credentialsEpoch changes from ${before} to ${credentialsEpoch} in the update that sets isolate true. ` +
                    `The rotation replaces droplet ${dropletId || "(unknown)"}, whose evidence (a snapshot, and logs taken over SSH with the current deploy key) must be kept first. ` +
                    `Set credentialsEpoch back to ${before} (pulumi config set credentialsEpoch ${before}), run pulumi up with isolate true, then bump credentialsEpoch in a second update`,
            };
        return {
            ok: true,
            plan: {
                state: "isolated",
                record: { epoch: credentialsEpoch, dropletId, publicIp: text(previous.publicIp) },
                rebuilt: dropletId === "",
                starting: true,
            },
        };
    }
    if (record) {
        if (bumped)
            return {
                ok: false,
                problem:
                    `credentialsEpoch changes from ${before} to ${credentialsEpoch} in the update that sets isolate false: the rebuilt droplet would open to the internet before anyone checked it. ` +
                    `Rotate while isolated (pulumi config set isolate true, then pulumi up), check the new droplet, then set isolate false`,
            };
        return { ok: true, plan: { state: "lifting", publicIp: text(previous.publicIp) || record.publicIp } };
    }
    return { ok: true, plan: { state: "open" } };
}

/**
 * isolate needs an age recipient: the evidence holds logins and logs and is never stored in
 * the clear, and a missing recipient would fail the evidence step after the firewalls closed.
 */
export function evidenceRecipientsProblem(isolate: boolean, ageRecipients: readonly string[]): string | undefined {
    if (!isolate || ageRecipients.length > 0) return undefined;
    return (
        "isolate keeps an evidence bundle encrypted to ageRecipients, which is empty. " +
        `Set it in the same update (pulumi config set ageRecipients '["age1..."]'; age-keygen -y key.txt prints one): the evidence step passes it to the host itself`
    );
}

/** The record the stack outputs for the next update: present only while isolated. */
export function isolationOutput(plan: IsolationPlan): IsolationRecord | undefined {
    return plan.state === "isolated" ? { ...plan.record } : undefined;
}

/** What the people are told as isolation starts and ends (Slack and the `pulumi up` log). */
export function isolationMessage(
    plan: IsolationPlan,
    environment: string,
    contacts: Contacts,
    evidencePrefix: string,
): string | undefined {
    if (plan.state === "open") return undefined;
    const who = `\nWho does what:\n${formatContactBlock(contacts)}`;
    if (plan.state === "lifting")
        return (
            `income-fortress ${environment}: isolation ENDED (config isolate false). Inbound 80/443 are open again, ` +
            `the database firewalls trust the app droplets again, and the app is started at ${plan.publicIp || "the reserved IP"}. ` +
            `The evidence snapshot and the bundles under ${evidencePrefix}/ are kept.${who}`
        );
    const { dropletId, epoch } = plan.record;
    const suspect =
        dropletId === ""
            ? "This stack had no droplet yet, so there is no evidence to keep."
            : `Droplet ${dropletId} is cut off from the data; its snapshot (income-fortress-${environment}-evidence-${dropletId}) and an encrypted evidence bundle (${evidencePrefix}/) are kept, then its app is stopped.`;
    return (
        `income-fortress ${environment}: security isolation STARTED (config isolate true). Inbound 80/443 are closed; admin SSH stays. ${suspect} ` +
        `Next: rotate with pulumi config set credentialsEpoch ${epoch + 1} and pulumi up (the droplet is rebuilt from the pinned appRef), check it, then set isolate false.${who}`
    );
}

/** A Slack incoming webhook's body: the text alone (the webhook fixes the channel). */
export function slackPayload(text: string): string {
    return JSON.stringify({ text });
}

/**
 * The local command that posts stdin to the URL in $FORTRESS_NOTIFY_URL (bash, curl on the
 * machine running pulumi up). The URL is a secret: it reaches curl as a config file on a
 * file descriptor, never in argv.
 */
export const NOTIFY_COMMAND = [
    "set -euo pipefail",
    "curl --fail --silent --show-error --output /dev/null --max-time 15 --retry 3 --retry-connrefused \\",
    "    --header 'Content-Type: application/json' --data-binary @- --config /dev/fd/3 \\",
    '    3<<<"url = \\"$FORTRESS_NOTIFY_URL\\""',
    "",
].join("\n");
