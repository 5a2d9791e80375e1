// Layer 1: Pulumi.yaml's project-level config block, config/keys.ts and the zod schema
// describe the same keys with the same types and defaults. A key added to one and not
// the others, or a default changed in one place only, fails here.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CONFIG_KEYS, PROJECT, SCHEMA_KEYS, parseConfig, rawDefault } from "../../config";

const ROOT = join(__dirname, "..", "..");
const project = parse(readFileSync(join(ROOT, "Pulumi.yaml"), "utf8"));
const declared: Record<string, { type: string; default?: unknown; description?: string; items?: { type: string } }> = project.config;

describe("Pulumi.yaml", () => {
    it("is the income-fortress project on the nodejs runtime with TypeScript", () => {
        expect(project.name).toBe(PROJECT);
        expect(project.runtime).toEqual({ name: "nodejs", options: { typescript: true } });
    });

    it("declares exactly the keys config/keys.ts lists, in the same order", () => {
        expect(Object.keys(declared)).toEqual(CONFIG_KEYS.map((k) => k.name));
    });

    it.each(CONFIG_KEYS.map((k) => [k.name, k] as const))("declares %s with the same type, default and description", (name, key) => {
        const d = declared[name];
        expect(d.type).toBe(key.type);
        expect(d.default).toEqual(key.default);
        expect(d.description).toBe(key.description);
        if (key.type === "array") expect(d.items).toEqual({ type: "string" });
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
        expect(required.sort()).toEqual(["adminCidrs", "deployerPublicKeys", "domain", "hostname", "sshKeyFingerprints"]);
        const r = parseConfig(
            {
                domain: "incomefortress.com",
                hostname: "api",
                adminCidrs: '["203.0.113.0/24"]',
                sshKeyFingerprints: '["1234"]',
                deployerPublicKeys: JSON.stringify(["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID2gVhTbVzvr8WlcYotifbpmdXFMTZhILeHFLMv/IyRL a@b"]),
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
