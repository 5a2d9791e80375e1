// The README and docs/ are the user's reference: every `npm run X` they tell people to type
// must exist, and the README names the test command CI runs.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(__dirname, "..", "..");
const readme = readFileSync(join(ROOT, "README.md"), "utf8");
const docs = readdirSync(join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md") && f !== "disaster-recovery-plan.md")
    .map((f) => readFileSync(join(ROOT, "docs", f), "utf8"));
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };

describe("README and docs", () => {
    it("only names npm scripts that exist", () => {
        const named = [readme, ...docs].flatMap((text) => [...text.matchAll(/npm run ([a-z:-]+)/g)].map((m) => m[1]));
        expect(named.length).toBeGreaterThan(0);
        for (const script of new Set(named)) expect(pkg.scripts, `npm run ${script}`).toHaveProperty(script);
    });

    it("names the test command that .ci/run calls", () => {
        const ci = readFileSync(join(ROOT, ".ci", "run"), "utf8");
        expect(ci).toMatch(/^exec bash tools\/setup npm test$/m);
        expect(readme).toContain("The test command is **`npm test`**");
        expect(readme).toContain("bash tools/setup npm test");
    });
});

describe("the repository stands alone", () => {
    it("no tracked file reads or links anything beside the clone", () => {
        // Built from parts so that this file does not match itself.
        const outside = new RegExp(["\\.\\./", "shared", "|", "shared/", "(datasets|seed)"].join(""));
        const files = execFileSync("git", ["ls-files", "-z"], { cwd: ROOT, encoding: "utf8" })
            .split("\0")
            .filter((f) => f && !f.endsWith(".sql"));
        expect(files.length).toBeGreaterThan(100);
        const hits = files.filter((f) => {
            try {
                return outside.test(readFileSync(join(ROOT, f), "utf8"));
            } catch {
                return false;
            }
        });
        expect(hits).toEqual([]);
    });
});
