// The files generated from the key table (config/keys.ts): Pulumi.yaml's project-level
// `config:` block and the configuration table in docs/configuration.md. Pure: each render
// takes the file's current text and returns the new text; tools/generate.ts writes them.
import { stringify } from "yaml";
import { CONFIG_KEYS, type ConfigKey } from "./keys";

/**
 * The Pulumi CLI versions the program runs on: typed project-level `config:` arrived in
 * 3.44.0, and every resource option the program uses is older. CLIs from 3.219.0 refuse
 * an older one through `requiredPulumiVersion`; before that the field is ignored.
 */
export const REQUIRED_PULUMI_VERSION = ">=3.44.0";

/** First line of the generated part of Pulumi.yaml; everything below it is generated. */
export const PROJECT_FILE_MARKER =
    "# ---- Generated from config/keys.ts by `npm run generate`: edit the table there, not below. ----";

/** Lines around the generated table in docs/configuration.md. */
export const DOC_TABLE_START = "<!-- generated from config/keys.ts by `npm run generate`: edit the table there -->";
export const DOC_TABLE_END = "<!-- end of generated table -->";

/** The `config:` declaration of one key, as Pulumi's project file schema takes it. */
function declaration(key: ConfigKey): Record<string, unknown> {
    return {
        type: key.type,
        ...(key.type === "array" ? { items: { type: "string" } } : {}),
        ...(key.default !== undefined ? { default: key.default } : {}),
        description: key.description,
    };
}

/**
 * The generated tail of Pulumi.yaml. Secret keys carry no `secret: true` here: the CLI
 * refuses every `up` of a stack that leaves such a key to its default
 * (https://github.com/pulumi/pulumi/issues/21865, since 3.202), and without a default the
 * key would be required on every stack. index.ts refuses a plain-text value instead.
 */
export function renderProjectConfig(keys: readonly ConfigKey[] = CONFIG_KEYS): string {
    const config = Object.fromEntries(keys.map((k) => [k.name, declaration(k)]));
    const secrets = keys.filter((k) => k.secret).map((k) => k.name);
    return [
        PROJECT_FILE_MARKER,
        `# Secret keys (set them with pulumi config set --secret; a plain-text value is refused): ${secrets.join(", ")}.`,
        stringify({ requiredPulumiVersion: REQUIRED_PULUMI_VERSION, config }, { lineWidth: 0 }).trimEnd(),
        "",
    ].join("\n");
}

/** Pulumi.yaml with its generated part replaced (or appended, the first time). */
export function renderProjectFile(current: string, keys: readonly ConfigKey[] = CONFIG_KEYS): string {
    const at = current.indexOf(PROJECT_FILE_MARKER);
    const head = (at >= 0 ? current.slice(0, at) : `${current.trimEnd()}\n`).trimEnd();
    return `${head}\n${renderProjectConfig(keys)}`;
}

/** A default as the table shows it: JSON, so an empty string reads `""`. */
function shownDefault(key: ConfigKey): string {
    return key.default === undefined ? "**required**" : `\`${JSON.stringify(key.default)}\``;
}

/** The Markdown table of every key. Pipes inside a description are escaped. */
export function renderConfigTable(keys: readonly ConfigKey[] = CONFIG_KEYS): string {
    const type = (k: ConfigKey) =>
        `${k.type === "array" ? "array of string" : k.type}${k.secret ? ", **secret**" : ""}`;
    return [
        "| Key | Type | Default | Meaning |",
        "|---|---|---|---|",
        ...keys.map(
            (k) => `| \`${k.name}\` | ${type(k)} | ${shownDefault(k)} | ${k.description.replace(/\|/g, "\\|")} |`,
        ),
    ].join("\n");
}

/** docs/configuration.md with the text between the markers replaced by the table. */
export function renderConfigurationDoc(current: string, keys: readonly ConfigKey[] = CONFIG_KEYS): string {
    const start = current.indexOf(DOC_TABLE_START);
    const end = current.indexOf(DOC_TABLE_END);
    if (start < 0 || end < start) {
        throw new Error(
            `docs/configuration.md lacks the lines ${DOC_TABLE_START} and ${DOC_TABLE_END}: put them where the table goes`,
        );
    }
    return `${current.slice(0, start)}${DOC_TABLE_START}\n${renderConfigTable(keys)}\n${current.slice(end)}`;
}
