// What the failback runs on a host and how it reads the answers (drill/failback-scripts.ts),
// and the real driver's pure checks (drill/failback-driver.ts). The scripts run for real
// against PostgreSQL and S3 in tests/integration/rehearse-failback.test.ts.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ageProblem, checkFailbackConfig, pendingChanges } from "../../drill/failback-driver";
import {
    appSessionsScript,
    checkServiceName,
    compareFingerprints,
    fingerprintScript,
    healthCommand,
    parseBackupId,
    parseFingerprint,
    parseStorage,
    restoreScript,
    storageScript,
    writerServices,
    type Fingerprint,
} from "../../drill/failback-scripts";
import { FailbackSetupError, type BackupStorage } from "../../drill/failback";
import { sshArgs } from "../../drill/ssh";

const fp = (relations: Record<string, string>, sequences: Record<string, string> = {}): Fingerprint => ({
    relations,
    sequences,
});

describe("compareFingerprints: DR's frozen database against prod after the restore", () => {
    it.each([
        [
            "equal",
            fp({ "public.users": "a" }, { "public.users_id_seq": "5,t" }),
            fp({ "public.users": "a" }, { "public.users_id_seq": "5,t" }),
            { equal: true, differing: [], missing: [], extra: [] },
        ],
        [
            "a table differs",
            fp({ "public.users": "a", "public.x": "b" }),
            fp({ "public.users": "z", "public.x": "b" }),
            { equal: false, differing: ["public.users"], missing: [], extra: [] },
        ],
        [
            "a sequence differs",
            fp({}, { "public.s": "5,t" }),
            fp({}, { "public.s": "4,t" }),
            { equal: false, differing: ["sequence public.s"], missing: [], extra: [] },
        ],
        [
            "a table is missing on prod",
            fp({ "public.users": "a" }),
            fp({}),
            { equal: false, differing: [], missing: ["public.users"], extra: [] },
        ],
        [
            "prod has a table DR has not (kept by --force): reported, not failed",
            fp({ "public.users": "a" }),
            fp({ "public.users": "a", "public.newer": "n" }),
            { equal: true, differing: [], missing: [], extra: ["public.newer"] },
        ],
        [
            "an unrefreshed materialized view on one side",
            fp({ "public.mv": "unpopulated" }),
            fp({ "public.mv": "c" }),
            { equal: false, differing: ["public.mv"], missing: [], extra: [] },
        ],
    ])("%s", (_what, dr, prod, expected) => expect(compareFingerprints(dr, prod)).toEqual(expected));
});

const STORAGE: BackupStorage = {
    prefix: "postgresql/dr",
    primary: { endpoint: "https://sfo3.digitaloceanspaces.com", bucket: "incomefortress-dr-backups" },
    offsite: { endpoint: "https://atl1.digitaloceanspaces.com", bucket: "incomefortress-dr-offsite" },
    accessKeyId: "DO00KEY",
    secretAccessKey: "it's/secret",
};

describe("restoreScript: prod reads DR's buckets with DR's key, fortress-restore --force", () => {
    it("exports DR's settings, which win over the host's own, and falls back to the offsite copy", () => {
        const text = restoreScript(STORAGE, "20260301T060000Z-failback-20260301-060000");
        expect(text.split("\n")).toEqual([
            "set -euo pipefail",
            "export BACKUP_S3_ENDPOINT=https://sfo3.digitaloceanspaces.com",
            "export BACKUP_BUCKET=incomefortress-dr-backups",
            "export BACKUP_PREFIX=postgresql/dr",
            "export AWS_ACCESS_KEY_ID=DO00KEY",
            `export AWS_SECRET_ACCESS_KEY='it'\\''s/secret'`,
            "export BACKUP_OFFSITE_S3_ENDPOINT=https://atl1.digitaloceanspaces.com",
            "export BACKUP_OFFSITE_BUCKET=incomefortress-dr-offsite",
            "export BACKUP_OFFSITE_ACCESS_KEY_ID=DO00KEY",
            `export BACKUP_OFFSITE_SECRET_ACCESS_KEY='it'\\''s/secret'`,
            "exec fortress-restore --force --source auto --backup 20260301T060000Z-failback-20260301-060000",
            "",
        ]);
    });

    it("reads only the own bucket when DR has no offsite one: an empty setting would not hide prod's vault", () => {
        const { offsite: _none, ...own } = STORAGE;
        const text = restoreScript(own, "20260301T060000Z");
        expect(text).not.toContain("BACKUP_OFFSITE");
        expect(text).toContain("exec fortress-restore --force --source primary --backup 20260301T060000Z\n");
    });

    it("uses the offsite bucket's own key when it has one", () => {
        const text = restoreScript(
            { ...STORAGE, offsite: { ...STORAGE.offsite!, accessKeyId: "OFFKEY", secretAccessKey: "offsecret" } },
            "20260301T060000Z",
        );
        expect(text).toContain("export BACKUP_OFFSITE_ACCESS_KEY_ID=OFFKEY\n");
        expect(text).toContain("export BACKUP_OFFSITE_SECRET_ACCESS_KEY=offsecret\n");
    });

    it.each([
        ["restore", restoreScript(STORAGE, "x")],
        ["fingerprint", fingerprintScript("/lib/common.sh")],
        ["sessions", appSessionsScript("/lib/common.sh")],
        ["storage", storageScript("/lib/common.sh")],
    ])("the %s script is valid bash", (_what, text) => {
        const r = spawnSync("bash", ["-n"], { input: text, encoding: "utf8" });
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
    });

    it("the storage script passes the keys to jq in its environment, never as arguments", () => {
        const text = storageScript("/usr/local/lib/income-fortress/common.sh");
        expect(text).toContain("source /usr/local/lib/income-fortress/common.sh\nload_settings\n");
        expect(text).not.toMatch(/--arg/);
        expect(text).toContain("$ENV.AWS_SECRET_ACCESS_KEY");
    });
});

describe("parsing what the host prints", () => {
    it("parseStorage reads the settings and names what is missing, never a key's value", () => {
        expect(
            parseStorage(
                JSON.stringify({ ...STORAGE, offsite: { ...STORAGE.offsite, accessKeyId: "", secretAccessKey: "" } }),
                "dr",
            ),
        ).toEqual(STORAGE);
        expect(parseStorage(JSON.stringify({ ...STORAGE, offsite: null }), "dr").offsite).toBeUndefined();
        expect(() =>
            parseStorage(JSON.stringify({ ...STORAGE, accessKeyId: "", primary: { endpoint: "", bucket: "b" } }), "dr"),
        ).toThrow(/^dr: the backup settings lack BACKUP_S3_ENDPOINT, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY$/);
        expect(() => parseStorage("secret text", "dr")).toThrow(/^dr: the backup settings are not JSON$/);
    });

    it("parseFingerprint reads the query's JSON", () => {
        expect(
            parseFingerprint('{"relations": {"public.users": "abc"}, "sequences": {"public.s": "5,t"}}\n', "dr"),
        ).toEqual(fp({ "public.users": "abc" }, { "public.s": "5,t" }));
        expect(parseFingerprint('{"relations": {}, "sequences": {}}', "dr")).toEqual(fp({}));
        expect(() => parseFingerprint("ERROR: permission denied", "dr")).toThrow(
            /dr: the fingerprint is not JSON: ERROR: permission denied/,
        );
    });

    it.each([
        ["20260301T060000Z\n", "20260301T060000Z"],
        [
            "fortress-backup: note\n20260301T060000Z-failback-20260301-060000\n",
            "20260301T060000Z-failback-20260301-060000",
        ],
    ])("parseBackupId(%j)", (out, id) => expect(parseBackupId(out, "dr")).toBe(id));

    it("parseBackupId refuses anything else", () =>
        expect(() => parseBackupId("done\n", "dr")).toThrow(/fortress-backup printed "done", not a backup id/));
});

describe("the compose services that write", () => {
    it.each([
        [["api", "celery_default", "celery_beat", "nginx", ""], "nginx", ["api", "celery_default", "celery_beat"]],
        [["api", "proxy"], "proxy", ["api"]],
        [["nginx"], "nginx", []],
    ])("%j less the proxy %s", (services, proxy, writers) => expect(writerServices(services, proxy)).toEqual(writers));

    it("only takes names compose allows, so they can go into a command line", () => {
        expect(checkServiceName("celery_default")).toBe("celery_default");
        expect(() => checkServiceName("api; rm -rf /")).toThrow(/"api; rm -rf \/" is not a compose service name/);
    });

    it("asks the health URL with curl, which prints 000 when nothing answers", () => {
        expect(healthCommand("http://localhost:8000/health")).toBe(
            "curl -s -o /dev/null -w '%{http_code}' --max-time 10 http://localhost:8000/health || true",
        );
    });
});

describe("the real driver's checks before anything is touched", () => {
    const P = (k: string) => `income-fortress:${k}`;

    it.each([
        [{ [P("activeSite")]: "dr" }, undefined, "dr"],
        [
            { [P("activeSite")]: "dr", [P("drStack")]: "acme/income-fortress/dr-b" },
            undefined,
            "acme/income-fortress/dr-b",
        ],
        [{ [P("activeSite")]: "dr", [P("drStack")]: "acme/income-fortress/dr-b" }, "dr-b", "acme/income-fortress/dr-b"],
    ])("checkFailbackConfig(%j, --dr-stack %s) -> %s", (prod, flag, drStack) =>
        expect(checkFailbackConfig(prod, {}, "prod", flag)).toEqual({ drStack }),
    );

    it.each([
        [
            {},
            undefined,
            /Pulumi\.prod\.yaml has activeSite primary: the public record already points at prod, so there is nothing to fail back/,
        ],
        [
            { [P("activeSite")]: "dr", [P("role")]: "dr" },
            undefined,
            /Pulumi\.prod\.yaml has role dr: the failback moves the record of the primary stack; pass --stack/,
        ],
        [
            { [P("activeSite")]: "dr" },
            "dr-b",
            /--dr-stack dr-b, but Pulumi\.prod\.yaml points the record at dr \(drStack\)/,
        ],
    ])("checkFailbackConfig(%j, --dr-stack %s) refuses", (prod, flag, message) => {
        expect(() => checkFailbackConfig(prod, {}, "prod", flag)).toThrow(FailbackSetupError);
        expect(() => checkFailbackConfig(prod, {}, "prod", flag)).toThrow(message);
    });

    it.each([
        [["age1prod"], [], undefined],
        [["age1prod"], ["age1other", "age1prod"], undefined],
        [
            ["age1prod"],
            ["age1other"],
            /dr's backups are encrypted to ageRecipients age1other…, none of which is prod's, so prod's ageIdentity cannot decrypt the final backup\. Add prod's recipient to dr's ageRecipients/,
        ],
        [[], ["age1other"], /none of which is prod's/],
    ])("ageProblem(%j, %j)", (prod, dr, message) => {
        const problem = ageProblem(prod, dr, "prod", "dr");
        if (message === undefined) expect(problem).toBeUndefined();
        else expect(problem).toMatch(message);
    });

    it.each([
        [{ same: 40 }, undefined],
        [{ same: 40, read: 2 }, undefined],
        [{ same: 38, update: 1, replace: 1 }, "1 update, 1 replace"],
        [undefined, undefined],
    ])("pendingChanges(%j) -> %s", (summary, text) => expect(pendingChanges(summary)).toBe(text));
});

describe("ssh", () => {
    it("logs in as the recovery chain does, pinning a new host key for this session only", () => {
        const args = sshArgs({ keyFile: "/t/id", knownHosts: "/t/kh", user: "deployer", host: "192.0.2.10" }, "true");
        const options = Object.fromEntries(
            args.flatMap((a, i) => (args[i - 1] === "-o" ? [a.split("=") as [string, string]] : [])),
        );
        expect(options).toEqual({
            IdentitiesOnly: "yes",
            BatchMode: "yes",
            ConnectTimeout: expect.stringMatching(/^\d+$/),
            StrictHostKeyChecking: "accept-new",
            UserKnownHostsFile: "/t/kh",
        });
        expect(args[args.indexOf("-i") + 1]).toBe("/t/id");
        // The destination, then the command alone after "--", so no word of it is read as an option.
        expect(args.slice(-3)).toEqual(["deployer@192.0.2.10", "--", "true"]);
    });
});
