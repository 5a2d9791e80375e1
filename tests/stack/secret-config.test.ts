// Layer 2: a credential set without --secret is refused by the real program before any
// resource exists, and the message says to revoke it; set as a secret it passes.
import { describe, expect, it } from "vitest";
import { PROJECT, loadStackConfig, runProgram } from "./harness";

const AGE_IDENTITY = `AGE-SECRET-KEY-1${"Q".repeat(58)}`;

describe("credentials set in plain text", () => {
    it("prod with ageIdentity in plain text: refused, nothing registered, and told to revoke it", async () => {
        const config = { ...loadStackConfig("prod"), [`${PROJECT}:ageIdentity`]: AGE_IDENTITY };
        const run = await runProgram("prod", config, { plaintextKeys: ["ageIdentity"] });
        expect(run.error?.message).toMatch(
            /income-fortress:ageIdentity: holds a credential but was set in plain text, so it is stored unencrypted in Pulumi\.prod\.yaml/,
        );
        expect(run.error?.message).toContain("pulumi config set --secret ageIdentity <new value>");
        expect(run.error?.message).not.toContain(AGE_IDENTITY);
        expect(run.registrations.filter((r) => r.custom)).toEqual([]);
    });

    it("the same identity set with --secret passes", async () => {
        const config = { ...loadStackConfig("prod"), [`${PROJECT}:ageIdentity`]: AGE_IDENTITY };
        const run = await runProgram("prod", config);
        expect(run.error).toBeUndefined();
    });

    it("dr's DNS token in plain text is reported together with any other config problem", async () => {
        const config = { ...loadStackConfig("dr"), [`${PROJECT}:dnsTtl`]: "5" };
        const run = await runProgram("dr", config, { plaintextKeys: ["tlsDnsToken"] });
        expect(run.error?.message).toMatch(/\(2 problems\)/);
        expect(run.error?.message).toContain("income-fortress:tlsDnsToken: holds a credential");
        expect(run.error?.message).toContain("income-fortress:dnsTtl:");
        expect(run.registrations.filter((r) => r.custom)).toEqual([]);
    });
});
