// Layer 1: the seam between the runtime and the parser: which keys are read, and the
// refusal of a credential set in plain text.
import { describe, expect, it } from "vitest";
import { CONFIG_KEYS, collectRawConfig, plaintextSecretProblems, projectKeys } from "../../config";

const SECRETS = CONFIG_KEYS.filter((k) => k.secret).map((k) => k.name);

describe("plaintextSecretProblems", () => {
    it("the table marks the five credentials secret", () => {
        expect(SECRETS).toEqual(["ageIdentity", "appEnv", "tlsDnsToken", "alertSlackWebhookUrl", "backupHeartbeatUrl"]);
    });

    it.each(SECRETS)(
        "%s set in plain text is refused, and the message says to rotate it and how to set it again",
        (key) => {
            const problems = plaintextSecretProblems(["region", key], () => false, "prod");
            expect(problems).toEqual([
                {
                    key: `income-fortress:${key}`,
                    message: expect.stringContaining(`pulumi config set --secret ${key} <new value>`),
                },
            ]);
            expect(problems[0]!.message).toMatch(
                /stored unencrypted in Pulumi\.prod\.yaml.*Treat it as leaked: revoke it/,
            );
        },
    );

    it("a secret set with --secret, a key left to its default, and non-secret keys pass", () => {
        const secretOnes = new Set(["income-fortress:ageIdentity"]);
        expect(plaintextSecretProblems(["ageIdentity", "region", "protect"], (k) => secretOnes.has(k), "dr")).toEqual(
            [],
        );
        expect(plaintextSecretProblems([], () => false, "dr")).toEqual([]);
    });

    it("asks about the full, namespaced key, and reports a key once", () => {
        const asked: string[] = [];
        const problems = plaintextSecretProblems(
            ["tlsDnsToken", "tlsDnsToken"],
            (k) => {
                asked.push(k);
                return false;
            },
            "dr",
        );
        expect(asked).toEqual(["income-fortress:tlsDnsToken"]);
        expect(problems).toHaveLength(1);
    });
});

describe("projectKeys and collectRawConfig", () => {
    it("keeps this project's keys without the namespace and ignores the provider's", () => {
        expect(projectKeys(["income-fortress:region", "digitalocean:token", "income-fortress:hostname"])).toEqual([
            "region",
            "hostname",
        ]);
    });

    it("reads each key once and leaves unset keys out", () => {
        const reads: string[] = [];
        const raw = collectRawConfig(["region", "region", "hostname"], (k) => {
            reads.push(k);
            return k === "region" ? "nyc3" : undefined;
        });
        expect(raw).toEqual({ region: "nyc3" });
        expect(reads).toEqual(["region", "hostname"]);
    });
});
