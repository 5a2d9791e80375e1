// Layer 1: the config keys of the recovery chain, DNS cutover and point-in-time fork, and
// the small pure helpers the platform uses for them. Secret keys (ageIdentity, appEnv)
// must never have their value quoted back in an error.
import { describe, expect, it } from "vitest";
import { deployKeyLine, drSiteAddress, drSiteCovers } from "../../components/platform";
import { GENERATED_APP_ENV } from "../../components/recovery/scripts";
import {
    parseAgeIdentity,
    parseAppEnv,
    parseClusterName,
    parseCommandLine,
    parseComposeService,
    parseConfig,
    parseDigitalOceanToken,
    parseEmail,
    parseHealthUrl,
    parseIsoTime,
    parseRestoreBackup,
    parseStackReference,
    type Check,
} from "../../config";
import { rawStackConfig } from "../stack/harness";
import { OPERATOR_SECRETS } from "../../harness/mock-cloud";

const AGE_KEY = "AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQS7V2R3Y";

const value = <T>(c: Check<T>): T => {
    if (!c.ok) throw new Error(c.problem);
    return c.value;
};
const problem = <T>(c: Check<T>): string => (c.ok ? "" : c.problem);

describe("recovery validators", () => {
    it.each([
        [parseClusterName, "income-fortress-prod-db-pg-1a2b3c4", "income-fortress-prod-db-pg-1a2b3c4"],
        [parseIsoTime, "2026-02-03T10:00:00Z", "2026-02-03T10:00:00Z"],
        [parseIsoTime, "2026-02-03T10:00:00+01:00", "2026-02-03T09:00:00Z"],
        [parseIsoTime, "2026-02-03T10:00Z", "2026-02-03T10:00:00Z"],
        [parseIsoTime, "2026-02-03T10:00:00.250Z", "2026-02-03T10:00:00Z"],
        [parseHealthUrl, "http://localhost:8000/health", "http://localhost:8000/health"],
        [parseHealthUrl, "https://127.0.0.1/health/detailed?x=1", "https://127.0.0.1/health/detailed?x=1"],
        [
            parseCommandLine,
            "  docker compose run --rm api python manage.py migrate ",
            "docker compose run --rm api python manage.py migrate",
        ],
        [parseStackReference, "dr", "dr"],
        [parseStackReference, "acme/income-fortress/dr", "acme/income-fortress/dr"],
        [parseAgeIdentity, "", ""],
        [parseAgeIdentity, ` ${AGE_KEY}\n`, AGE_KEY],
        [parseEmail, "ops@incomefortress.com", "ops@incomefortress.com"],
        [parseComposeService, "nginx", "nginx"],
        [parseComposeService, "web_proxy-1", "web_proxy-1"],
    ] as [(raw: string) => Check<unknown>, string, unknown][])("%o accepts %j", (parse, raw, expected) => {
        expect(value(parse(raw))).toEqual(expected);
    });

    it.each([
        [parseClusterName, "Fortress_DB", /is not a database cluster name; use the real name with its random suffix/],
        [parseClusterName, "ab", /is not a database cluster name/],
        [parseIsoTime, "2026-02-30T10:00:00Z", /is not an ISO time with a zone/],
        [parseIsoTime, "2026-02-03 10:00:00", /is not an ISO time with a zone/],
        [parseIsoTime, "2026-02-03T10:00:00", /is not an ISO time with a zone/],
        [parseIsoTime, "2026-02-03T24:00:00Z", /is not an ISO time with a zone/],
        [parseHealthUrl, "ftp://localhost/health", /is not a health URL/],
        [
            parseHealthUrl,
            "http://admin:pw@localhost/health",
            /is not a health URL; use http\(s\):\/\/host\[:port\]\/path without credentials/,
        ],
        [parseHealthUrl, "http://localhost/he'alth", /is not a health URL/],
        [parseCommandLine, "manage.py migrate\nrm -rf /", /is not one printable command line/],
        [parseCommandLine, "   ", /is not one printable command line/],
        [parseStackReference, "org/dr", /is not a stack reference/],
        [parseStackReference, "d r", /is not a stack reference/],
        [
            parseEmail,
            "ops at incomefortress.com",
            /is not an e-mail address; use one that receives certificate expiry notices/,
        ],
        [parseComposeService, "Nginx", /is not a compose service name/],
        [parseComposeService, "nginx; rm -rf /", /is not a compose service name/],
    ] as [(raw: string) => Check<unknown>, string, RegExp][])("%o rejects %j", (parse, raw, pattern) => {
        expect(problem(parse(raw))).toMatch(pattern);
    });

    it.each([
        ["latest", { id: "latest" }],
        ["20261125T174500Z", { id: "20261125T174500Z" }],
        ["20261125T174500Z-pre-v1.1.0", { id: "20261125T174500Z-pre-v1.1.0" }],
        ["before:2026-02-03T10:00:00Z", { before: "2026-02-03T10:00:00Z" }],
        ["before:2026-02-03T11:30:00+01:30", { before: "2026-02-03T10:00:00Z" }],
    ])("restoreBackup %j", (raw, expected) => {
        expect(value(parseRestoreBackup(raw))).toEqual(expected);
    });

    it.each([
        [
            "yesterday",
            /"yesterday" is not a backup choice; use latest, a backup id such as 20261125T174500Z \(fortress-backups lists them\), or before:/,
        ],
        ["before:2026-13-01T00:00:00Z", /"before:2026-13-01T00:00:00Z": the time is not an ISO time/],
        ["2026-02-03T10:00:00Z", /is not a backup choice/],
    ])("restoreBackup rejects %j", (raw, pattern) => {
        expect(problem(parseRestoreBackup(raw))).toMatch(pattern);
    });
});

describe("secret keys: helpful errors that never echo the value", () => {
    it.each([
        [
            "age1m329mc5c7rzwq438m0ey0ryzeq8pgxwmenhvpwtxg8qvp5pdaghqzjmsgg",
            /holds an age recipient \(public key\); give the identity/,
        ],
        ["AGE-SECRET-KEY-1SHORT", /is not an age identity \(AGE-SECRET-KEY-1 followed by 58 characters\)/],
    ])("ageIdentity %#", (raw, pattern) => {
        const p = problem(parseAgeIdentity(raw));
        expect(p).toMatch(pattern);
        expect(p).not.toContain(raw);
    });

    it("appEnv takes a JSON object of NAME: value", () => {
        expect(
            value(parseAppEnv('{"ANTHROPIC_API_KEY":"sk-ant-1","MARKET_DATA_KEY":"md 2 $x"}', GENERATED_APP_ENV)),
        ).toEqual({ ANTHROPIC_API_KEY: "sk-ant-1", MARKET_DATA_KEY: "md 2 $x" });
        expect(value(parseAppEnv("{}", GENERATED_APP_ENV))).toEqual({});
    });

    it.each([
        ["{not json sekrit-one", /is not JSON/],
        ['["sekrit-two"]', /is not a JSON object/],
        ['{"lower":"sekrit-three"}', /"lower" is not a variable name/],
        ['{"DATABASE_URL":"postgresql://u:sekrit-four@h/db"}', /DATABASE_URL is generated by the stack; remove it/],
        ['{"A":7}', /the value of A is not a string/],
        ['{"B":"sekrit\'five"}', /the value of B is empty or has ', \\ or a non-printable character/],
        ['{"C":"sekrit\\\\six"}', /the value of C is empty/],
    ])("appEnv rejects %#", (raw, pattern) => {
        const p = problem(parseAppEnv(raw, GENERATED_APP_ENV));
        expect(p).toMatch(pattern);
        expect(p).not.toMatch(/sekrit/);
    });
});

describe("certbot's DigitalOcean token", () => {
    const token = `dop_v1_${"0123456789abcdef".repeat(4)}`;

    it.each([
        ["a personal access token", token, token],
        ["an older token: 64 hex digits", "f".repeat(64), "f".repeat(64)],
        ["surrounding white space", ` ${token}\n`, token],
    ])("takes %s", (_name, raw, expected) => {
        expect(value(parseDigitalOceanToken(raw))).toBe(expected);
    });

    it.each([
        [
            "too short",
            "dop_v1_abc123",
            /is not a DigitalOcean API token \(dop_v1_ followed by 64 hex digits\); create a token with the custom scopes domain:read/,
        ],
        ["a Spaces key pasted instead", "DO00ABCDEFGHIJKLMNOP", /is not a DigitalOcean API token/],
        ["two tokens", `${token} ${token}`, /has white space inside it/],
        ["upper-case hex", `dop_v1_${"A".repeat(64)}`, /is not a DigitalOcean API token/],
    ])("refuses %s, and never repeats the value", (_name, raw, pattern) => {
        const p = problem(parseDigitalOceanToken(raw));
        expect(p).toMatch(pattern);
        expect(p).toContain("pulumi config set --secret tlsDnsToken");
        expect(p).not.toContain(raw.trim().slice(7, 20));
    });
});

describe("resolved recovery config", () => {
    it("restoreMode auto becomes if-empty for prod and required for dr; the rest takes the plan's defaults", () => {
        for (const [stack, mode] of [
            ["prod", "if-empty"],
            ["dr", "required"],
        ] as const) {
            const r = parseConfig(rawStackConfig(stack), stack);
            expect(r.ok ? [] : r.problems).toEqual([]);
            if (!r.ok) return;
            expect(r.config.recovery).toEqual({
                restoreMode: mode,
                restoreBackup: { id: "latest" },
                migrateCommand: "docker compose run --rm api python manage.py migrate",
                health: { url: "http://localhost:8000/health", timeoutSeconds: 600 },
                bootTimeoutMinutes: 45,
                ageIdentity: "",
                appEnv: {},
                tls:
                    stack === "prod"
                        ? {
                              email: "ops@incomefortress.com",
                              challenge: "http-01",
                              dnsToken: "",
                              extraNames: [],
                              proxyService: "nginx",
                          }
                        : // dr holds prod's public name too, proved over DNS-01 with the operator's token.
                          {
                              email: "ops@incomefortress.com",
                              challenge: "dns-01",
                              dnsToken: OPERATOR_SECRETS.dr.tlsDnsToken,
                              extraNames: ["api.incomefortress.com"],
                              proxyService: "nginx",
                          },
            });
            expect(r.config.cutover).toEqual({ activeSite: "primary", drStack: "dr" });
            expect(r.config.pitr).toBeUndefined();
        }
    });
});

describe("platform helpers", () => {
    // The program calls this inside the cutover's StackReference apply, before the record
    // is written; an error there fails the update with this message.
    it.each([
        [
            "covers only its own name",
            ["api-dr.incomefortress.com"],
            /has a certificate for api-dr\.incomefortress\.com only, so after the cutover api\.incomefortress\.com would fail TLS there: on dr, set tlsEmail, tlsChallenge dns-01, publicHostname api and the secret tlsDnsToken, run pulumi up --stack dr, then set activeSite dr again/,
        ],
        ["requests no certificate", [], /requests no certificate, so after the cutover/],
        ["predates the output", undefined, /has no certificateNames output/],
        ["has a garbled output", "api.incomefortress.com", /has no certificateNames output/],
    ])("the cutover refuses a DR site whose certificate %s", (_what, names, pattern) => {
        expect(() => drSiteCovers(names, "api.incomefortress.com", "dr")).toThrow(pattern);
    });

    it("the cutover takes a DR site whose certificate covers the public name", () => {
        expect(() =>
            drSiteCovers(["api-dr.incomefortress.com", "api.incomefortress.com"], "api.incomefortress.com", "dr"),
        ).not.toThrow();
    });

    it("the deploy key line carries the stack and the rotation in its comment", () => {
        expect(deployKeyLine("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOmock\n", "prod", 3)).toBe(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOmock income-fortress-deploy@prod-e3",
        );
        expect(() => deployKeyLine("ssh-rsa AAAAB3Nza", "prod", 1)).toThrow(/expected an ssh-ed25519 public key/);
    });

    it("the cutover only takes an IPv4 address from the DR stack, and says what to do otherwise", () => {
        expect(drSiteAddress("198.51.100.77", "dr")).toBe("198.51.100.77");
        for (const bad of [undefined, "", "2001:db8::1", "not-an-ip", 42]) {
            expect(() => drSiteAddress(bad, "dr")).toThrow(
                /the DR stack dr has no IPv4 publicIp output .*run pulumi up --stack dr first, then set activeSite dr/,
            );
        }
    });
});
