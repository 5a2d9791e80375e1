// What a config change does to a live stack, derived from the program: render the stack
// under mocks before and after the change, pair the resources by URN, and decide for each
// what the engine would plan, with the providers' force-new inputs from
// components/provider-facts.ts. The engine is modelled as a Pulumi CLI before 3.208 would
// run it: the replacementTrigger option is ignored. A preview marks an input unknown when a
// resource it comes from is being replaced, so a replacement carries over to the inputs
// that depend on it (a new VPC replaces the clusters whose private network it is).
// tests/stack/config-changes.test.ts renders docs/config-changes.md from this.
import { factsFor, ignoredInputs, replacingInputs } from "../../components/provider-facts";
import type { ProgramRun, Registration } from "./harness";

export type Effect = "create" | "update" | "replace" | "delete";

export interface ResourceChange {
    type: string;
    /** Logical name without the platform's prefix, e.g. `db-pg`. */
    name: string;
    effect: Effect;
    /** The inputs that changed (for a replacement, those that force it). */
    inputs: string[];
    stateful: boolean;
    /** Changed inputs the provider's update would drop without a word. */
    ignored: string[];
    /** What the provider does for this update, when it is worth knowing (provider-facts updateNotes). */
    notes: string[];
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const shortName = (name: string) => name.replace(/^fortress-/, "");

/** Every custom resource the engine would create, update, replace or delete going from `before` to `after`. */
export function diffRuns(before: ProgramRun, after: ProgramRun): ResourceChange[] {
    const managed = (run: ProgramRun) =>
        new Map(run.registrations.filter((r) => r.custom && !factsFor(r.type).read).map((r) => [r.urn, r]));
    const was = managed(before);
    const now = managed(after);
    // URNs whose outputs are unknown in the preview: new resources and replaced ones.
    const unknown = new Set([...now.keys()].filter((urn) => !was.has(urn)));
    // An input set now but not before is compared with the state, as the provider does: an
    // Optional+Computed input (a VPC's ipRange) set to the value it already has is no change.
    const prior = (old: Registration, k: string) => (k in old.inputs ? old.inputs[k] : old.state?.[k]);
    const changedInputs = (r: Registration, old: Registration) =>
        [...new Set([...Object.keys(old.inputs), ...Object.keys(r.inputs)])]
            .filter(
                (k) =>
                    !same(r.inputs[k], prior(old, k)) || (r.propertyDependencies[k] ?? []).some((d) => unknown.has(d)),
            )
            // The engine diffs an ignored input against its old value: no change.
            .filter((k) => !r.ignoreChanges.includes(k))
            .sort();
    // Replacements make more inputs unknown; repeat until nothing more is replaced.
    for (let grew = true; grew; ) {
        grew = false;
        for (const [urn, r] of now) {
            const old = was.get(urn);
            if (!old || unknown.has(urn)) continue;
            if (replacingInputs(r.type, changedInputs(r, old), r.replaceOnChanges).length > 0) {
                unknown.add(urn);
                grew = true;
            }
        }
    }
    const changes: ResourceChange[] = [];
    const of = (
        r: Registration,
        effect: Effect,
        inputs: string[],
        ignored: string[] = [],
        notes: string[] = [],
    ): ResourceChange => ({
        type: r.type,
        name: shortName(r.name),
        effect,
        inputs,
        stateful: factsFor(r.type).stateful === true,
        ignored,
        notes,
    });
    for (const [urn, r] of now) {
        const old = was.get(urn);
        if (!old) {
            changes.push(of(r, "create", []));
            continue;
        }
        const changed = changedInputs(r, old);
        if (changed.length === 0) continue;
        const replacing = replacingInputs(r.type, changed, r.replaceOnChanges);
        if (replacing.length > 0) {
            changes.push(of(r, "replace", replacing));
        } else {
            const notes = changed
                .map((k) => factsFor(r.type).updateNotes?.[k])
                .filter((n): n is string => n !== undefined);
            changes.push(of(r, "update", changed, ignoredInputs(r.type, changed, r.replaceOnChanges), notes));
        }
    }
    for (const [urn, r] of was) if (!now.has(urn)) changes.push(of(r, "delete", []));
    return changes;
}

/** How bad a change is, worst first. */
export type Category = "invalid" | "stateful" | "droplet" | "update" | "none";

export interface Outcome {
    category: Category;
    /** One table cell. */
    text: string;
}

const DROPLET = "digitalocean:index/droplet:Droplet";
const COMMAND = "command:remote:Command";

/** The category and table cell for a set of changes. */
export function outcome(changes: readonly ResourceChange[]): Outcome {
    const list = (cs: readonly ResourceChange[], withInputs = true) =>
        cs.map((c) => (withInputs && c.inputs.length > 0 ? `${c.name} (${c.inputs.join(", ")})` : c.name)).join(", ");
    const steps = (cs: readonly ResourceChange[]) =>
        cs.filter((c) => c.type === COMMAND).map((c) => c.name.replace(/^recovery-/, ""));
    const lost = changes.filter((c) => c.stateful && (c.effect === "replace" || c.effect === "delete"));
    const dropletReplaced = changes.some((c) => c.type === DROPLET && c.effect === "replace");
    const category: Category =
        lost.length > 0 ? "stateful" : dropletReplaced ? "droplet" : changes.length > 0 ? "update" : "none";
    if (category === "none") return { category, text: "nothing on the cloud" };

    const parts: string[] = [];
    if (lost.length > 0) {
        const replaced = lost.filter((c) => c.effect === "replace");
        const deleted = lost.filter((c) => c.effect === "delete");
        parts.push(
            `**replaces stateful resources**: ${[...(replaced.length ? [list(replaced)] : []), ...(deleted.length ? [`deletes ${list(deleted, false)}`] : [])].join("; ")}`,
        );
    }
    const rest = changes.filter((c) => !lost.includes(c) && c.type !== COMMAND);
    if (dropletReplaced)
        parts.push(
            `replaces the droplet (${changes.find((c) => c.type === DROPLET)!.inputs.join(", ")}); the recovery chain re-runs`,
        );
    const other = rest.filter((c) => c.type !== DROPLET);
    const group = (effect: Effect, label: string) => {
        const cs = other.filter((c) => c.effect === effect);
        if (cs.length > 0) parts.push(`${label}: ${list(cs, effect !== "create" && effect !== "delete")}`);
    };
    group("replace", "replaces");
    group("create", "creates");
    group("delete", "deletes");
    group("update", "in place");
    const updateDroplet = rest.find((c) => c.type === DROPLET && c.effect === "update");
    if (updateDroplet) parts.push(`droplet in place (${updateDroplet.inputs.join(", ")})`);
    const notes = [...new Set(changes.flatMap((c) => c.notes))];
    if (notes.length > 0) parts.push(`(${notes.join("; ")})`);
    if (!dropletReplaced) {
        const rerun = steps(changes);
        if (rerun.length > 0) parts.push(`re-runs: ${rerun.join(", ")}`);
    }
    return { category, text: parts.join("; ") };
}
