// The project's Pulumi.yaml and Pulumi.<stack>.yaml, read as the Pulumi CLI lays them out.
// The one reader for the mock cloud (harness/mock-cloud.ts: the mocked-stack tests and
// `npm run rto`) and the drill (drill/). Pure but for the file reads.
//
// The policy pack reads Pulumi.prod.yaml on its own (policy/policies.ts,
// prodRegionFromProject) on purpose: `pulumi policy publish` ships the policy/ folder
// alone, so the pack may import nothing from the rest of the repository.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { PROJECT } from "../config/keys";

export { PROJECT };

/** A stack config value: plain (string, number, boolean, list, object) or `{secure: ciphertext}`. */
export type ConfigEntry = unknown;

/** Config of a stack file, keyed `income-fortress:<key>` (or another namespace). */
export type StackConfig = Record<string, ConfigEntry>;

/** The project's own namespace on a key: `income-fortress:<key>`. */
export function projectKey(key: string): string {
    return `${PROJECT}:${key}`;
}

/** Whether a config value is an encrypted `{secure: …}` entry (set with `pulumi config set --secret`). */
export function isSecure(v: ConfigEntry): v is { secure: string } {
    return (
        typeof v === "object" &&
        v !== null &&
        !Array.isArray(v) &&
        typeof (v as { secure?: unknown }).secure === "string"
    );
}

function parseDocument(text: string, fileName: string): Record<string, unknown> {
    let doc: unknown;
    try {
        doc = parseYaml(text);
    } catch (e) {
        throw new Error(`${fileName} is not valid YAML: ${(e as Error).message}`);
    }
    return (doc ?? {}) as Record<string, unknown>;
}

/** A document's `config:` block; absent or empty is an empty map. */
function configBlock(doc: Record<string, unknown>, fileName: string): Record<string, unknown> {
    const config = doc.config;
    if (config === undefined || config === null) return {};
    if (typeof config !== "object" || Array.isArray(config))
        throw new Error(`${fileName}: "config" must be a map of key: value`);
    return config as Record<string, unknown>;
}

// ---------------------------------------------------------------- Pulumi.<stack>.yaml

export function stackFileName(stack: string): string {
    return `Pulumi.${stack}.yaml`;
}

/** Parses a `Pulumi.<stack>.yaml` text and returns its `config` map. */
export function parseStackFile(text: string, fileName: string): StackConfig {
    return configBlock(parseDocument(text, fileName), fileName);
}

/** The `config` map of `<root>/Pulumi.<stack>.yaml`. */
export function readStackFile(root: string, stack: string): StackConfig {
    const file = join(root, stackFileName(stack));
    return parseStackFile(readFileSync(file, "utf8"), file);
}

// ---------------------------------------------------------------- Pulumi.yaml

/** What the project file says about config: its name and its `config:` declarations. */
export interface ProjectFile {
    name?: string;
    /** Per key: a declaration (`{type, default, …}`), or a bare value, which is the default alone. */
    config: Record<string, unknown>;
}

/** Parses a `Pulumi.yaml` text. */
export function parseProjectFile(text: string, fileName = "Pulumi.yaml"): ProjectFile {
    const doc = parseDocument(text, fileName);
    return { ...(typeof doc.name === "string" ? { name: doc.name } : {}), config: configBlock(doc, fileName) };
}

/** `<root>/Pulumi.yaml`. */
export function readProjectFile(root: string): ProjectFile {
    const file = join(root, "Pulumi.yaml");
    return parseProjectFile(readFileSync(file, "utf8"), file);
}

/** The project's defaults, keyed `income-fortress:<key>` as a stack file keys its values. */
export function projectDefaults(project: ProjectFile): StackConfig {
    const out: StackConfig = {};
    for (const [k, decl] of Object.entries(project.config)) {
        const full = k.includes(":") ? k : projectKey(k);
        if (decl && typeof decl === "object" && !Array.isArray(decl) && "default" in decl)
            out[full] = (decl as { default: unknown }).default;
        else if (decl === null || typeof decl !== "object") out[full] = decl;
    }
    return out;
}
