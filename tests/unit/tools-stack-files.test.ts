// The one reader of Pulumi.yaml and Pulumi.<stack>.yaml (tools/stack-files.ts), on the real
// files and on broken ones.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import {
    isSecure,
    parseProjectFile,
    parseStackFile,
    projectDefaults,
    readProjectFile,
    readStackFile,
} from "../../tools/stack-files";

const ROOT = resolve(__dirname, "../..");
const P = "income-fortress:";

describe("stack files", () => {
    it("reads the config map of the real dr stack as written, lists as lists", () => {
        const dr = readStackFile(ROOT, "dr");
        expect(dr).toEqual(parseStackFile(readFileSync(join(ROOT, "Pulumi.dr.yaml"), "utf8"), "Pulumi.dr.yaml"));
        expect(dr[`${P}role`]).toBe("dr");
        expect(Array.isArray(dr[`${P}adminCidrs`])).toBe(true);
    });

    it.each([
        ["no config block", "encryptionsalt: v1:abc\n", {}],
        ["an empty config block", "config:\n", {}],
        ["an empty file", "", {}],
        [
            "a secret",
            "config:\n  income-fortress:tlsDnsToken:\n    secure: v1:abc\n",
            { [`${P}tlsDnsToken`]: { secure: "v1:abc" } },
        ],
    ])("%s", (_what, text, config) => {
        expect(parseStackFile(text, "Pulumi.x.yaml")).toEqual(config);
    });

    it.each([
        ["YAML that does not parse", "config: [unclosed", /^Pulumi\.x\.yaml is not valid YAML: /],
        ["a config that is not a map", "config:\n  - a\n", /^Pulumi\.x\.yaml: "config" must be a map of key: value$/],
    ])("refuses %s, naming the file", (_what, text, message) => {
        expect(() => parseStackFile(text, "Pulumi.x.yaml")).toThrow(message);
    });

    it("tells a secure entry from a plain value", () => {
        expect(isSecure({ secure: "v1:abc" })).toBe(true);
        for (const v of ["v1:abc", { secure: 1 }, ["secure"], null, { other: "x" }])
            expect(isSecure(v), JSON.stringify(v)).toBe(false);
    });
});

describe("the project file", () => {
    it("names the project and declares defaults, keyed as a stack file keys its values", () => {
        const project = readProjectFile(ROOT);
        expect(project.name).toBe("income-fortress");
        const defaults = projectDefaults(project);
        expect(defaults[`${P}region`]).toBe("nyc3");
        expect(defaults[`${P}appComposeSubdir`]).toBe("income-platform");
    });

    it("takes a bare value as the default, keeps other namespaces, and skips a declaration without a default", () => {
        const project = parseProjectFile(
            "name: p\nconfig:\n  a: 1\n  b:\n    type: string\n    default: x\n  c:\n    type: string\n  digitalocean:region: nyc3\n",
        );
        expect(projectDefaults(project)).toEqual({ [`${P}a`]: 1, [`${P}b`]: "x", "digitalocean:region": "nyc3" });
    });
});
