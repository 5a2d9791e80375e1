// The README is the user's reference: every config key the project declares must be in
// its config table, and every `npm run X` it tells people to type must exist.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";

const ROOT = join(__dirname, "..", "..");
const readme = readFileSync(join(ROOT, "README.md"), "utf8");
const project = parse(readFileSync(join(ROOT, "Pulumi.yaml"), "utf8")) as { config: Record<string, unknown> };
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };

/** The rows of the "Config reference" table: first-column keys in backticks. */
function configTableKeys(): string[] {
    const section = readme.split(/^## Config reference$/m)[1]?.split(/^## /m)[0] ?? "";
    return [...section.matchAll(/^\| `([A-Za-z0-9]+)` \|/gm)].map((m) => m[1]);
}

describe("README", () => {
    it("has a config reference row for every key declared in Pulumi.yaml, and no others", () => {
        expect(configTableKeys().sort()).toEqual(Object.keys(project.config).sort());
    });

    it("only names npm scripts that exist", () => {
        const named = [...readme.matchAll(/npm run ([a-z:-]+)/g)].map((m) => m[1]);
        expect(named.length).toBeGreaterThan(0);
        for (const script of new Set(named)) expect(pkg.scripts, `npm run ${script}`).toHaveProperty(script);
    });

    it("names the test command that .ci/run calls", () => {
        const ci = readFileSync(join(ROOT, ".ci", "run"), "utf8");
        expect(ci).toMatch(/^\s*npm test$/m);
        expect(readme).toContain("The test command is **`npm test`**");
    });
});
