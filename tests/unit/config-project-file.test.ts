// Layer 1: the key table (config/keys.ts) is the one source of Pulumi.yaml's config block
// and of the table in docs/configuration.md. The committed files must be what
// `npm run generate` writes, and a key added to the table must reach both.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CONFIG_KEYS, PROJECT, SCHEMA_KEYS, parseConfig, rawDefault, type ConfigKey } from "../../config";
import {
    DOC_TABLE_END,
    DOC_TABLE_START,
    PROJECT_FILE_MARKER,
    REQUIRED_PULUMI_VERSION,
    renderConfigTable,
    renderConfigurationDoc,
    renderProjectFile,
} from "../../config/project-file";
import { GENERATED } from "../../tools/generate";

const ROOT = join(__dirname, "..", "..");
const projectText = readFileSync(join(ROOT, "Pulumi.yaml"), "utf8");
const project = parse(projectText);
type Declared = { type: string; default?: unknown; description?: string; items?: { type: string }; secret?: boolean };
const declared: Record<string, Declared> = project.config;

describe("Pulumi.yaml", () => {
    it("is the income-fortress project on the nodejs runtime with TypeScript", () => {
        expect(project.name).toBe(PROJECT);
        expect(project.runtime).toEqual({ name: "nodejs", options: { typescript: true } });
    });

    it("declares exactly the keys config/keys.ts lists, in the same order", () => {
        expect(Object.keys(declared)).toEqual(CONFIG_KEYS.map((k) => k.name));
    });

    it("asks for the Pulumi CLI the program needs", () => {
        expect(project.requiredPulumiVersion).toBe(REQUIRED_PULUMI_VERSION);
    });

    it("never marks a key secret that has a default: the CLI then refuses every up that leaves it unset (pulumi/pulumi#21865)", () => {
        for (const [name, d] of Object.entries(declared)) expect(d.secret && d.default !== undefined, name).toBeFalsy();
    });

    it("uses only the types Pulumi project config allows", () => {
        for (const d of Object.values(declared)) expect(["string", "integer", "boolean", "array"]).toContain(d.type);
    });
});

describe("config/keys.ts and the schema", () => {
    it("cover the same keys", () => {
        expect([...SCHEMA_KEYS].sort()).toEqual(CONFIG_KEYS.map((k) => k.name).sort());
    });

    it("every default passes the schema's own validation", () => {
        // Only the required keys get values here, plus the one alert target that monitoring
        // (on by default) needs; every other key runs on its default.
        const required = CONFIG_KEYS.filter((k) => k.default === undefined).map((k) => k.name);
        expect(required.sort()).toEqual([
            "adminCidrs",
            "deployerPublicKeys",
            "domain",
            "hostname",
            "sshKeyFingerprints",
        ]);
        const r = parseConfig(
            {
                domain: "incomefortress.com",
                hostname: "api",
                adminCidrs: '["203.0.113.0/24"]',
                sshKeyFingerprints: '["1234"]',
                deployerPublicKeys: JSON.stringify([
                    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID2gVhTbVzvr8WlcYotifbpmdXFMTZhILeHFLMv/IyRL a@b",
                ]),
                alertEmails: '["oncall@incomefortress.com"]',
            },
            "prod",
        );
        expect(r.ok ? [] : r.problems).toEqual([]);
    });

    it("hands defaults to the program as the CLI does: strings, lists as JSON", () => {
        expect(rawDefault(CONFIG_KEYS.find((k) => k.name === "dnsTtl")!)).toBe("60");
        expect(rawDefault(CONFIG_KEYS.find((k) => k.name === "protect")!)).toBe("false");
        expect(rawDefault(CONFIG_KEYS.find((k) => k.name === "ageRecipients")!)).toBe("[]");
        expect(rawDefault(CONFIG_KEYS.find((k) => k.name === "domain")!)).toBeUndefined();
    });
});

describe("generated files", () => {
    it.each(GENERATED.map((f) => [f.path, f] as const))("%s is what npm run generate writes", (path, file) => {
        const current = readFileSync(join(ROOT, path), "utf8");
        expect(file.render(current) === current, `${path} is out of date: run npm run generate`).toBe(true);
    });

    it("a key added to the table reaches Pulumi.yaml and the docs table, and the rest of both files stays", () => {
        const added: ConfigKey = {
            name: "exampleWidgets",
            type: "array",
            default: ["a|b"],
            description: "Widgets | for the example.",
            secret: true,
        };
        const keys = [...CONFIG_KEYS, added];
        const doc = readFileSync(join(ROOT, "docs", "configuration.md"), "utf8");

        const nextProject = renderProjectFile(projectText, keys);
        expect(nextProject.slice(0, nextProject.indexOf(PROJECT_FILE_MARKER))).toBe(
            projectText.slice(0, projectText.indexOf(PROJECT_FILE_MARKER)),
        );
        expect(parse(nextProject).config.exampleWidgets).toEqual({
            type: "array",
            items: { type: "string" },
            default: ["a|b"],
            description: "Widgets | for the example.",
        });
        expect(nextProject).toMatch(/^# Secret keys .*backupHeartbeatUrl, exampleWidgets\.$/m);

        const nextDoc = renderConfigurationDoc(doc, keys);
        expect(nextDoc).toContain(
            '| `exampleWidgets` | array of string, **secret** | `["a|b"]` | Widgets \\| for the example. |',
        );
        expect(nextDoc.split(DOC_TABLE_START)[0]).toBe(doc.split(DOC_TABLE_START)[0]);
        expect(nextDoc.split(DOC_TABLE_END)[1]).toBe(doc.split(DOC_TABLE_END)[1]);
        // Rendering twice changes nothing.
        expect(renderProjectFile(nextProject, keys)).toBe(nextProject);
        expect(renderConfigurationDoc(nextDoc, keys)).toBe(nextDoc);
    });

    it("the docs table has one row per key, required keys marked", () => {
        const rows = renderConfigTable().split("\n").slice(2);
        expect(rows).toHaveLength(CONFIG_KEYS.length);
        expect(rows.filter((r) => r.includes("**required**")).map((r) => r.split("`")[1])).toEqual(
            CONFIG_KEYS.filter((k) => k.default === undefined).map((k) => k.name),
        );
    });

    it("a docs page without the markers is an error that says where the table goes", () => {
        expect(() => renderConfigurationDoc("# Configuration\n")).toThrow(/put them where the table goes/);
    });
});
