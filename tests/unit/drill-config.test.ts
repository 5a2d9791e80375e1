// The drill's pure pieces around the real driver and probe: the drill stack's config from
// the real Pulumi.dr.yaml, engine-event mapping, CLI detection, the parsers of what the host
// prints, the rehearsal's package check and its argument parsers.
import { spawnSync } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { afterAll, describe, expect, it } from "vitest";
import { locatePulumi, missingCredentials, shouldForwardInterrupt, toDriverEvent } from "../../drill/automation-driver";
import {
    checkDrillStackName,
    checkOrgName,
    composeDirectory,
    drillConfig,
    DrillConfigError,
    qualifiedStackName,
} from "../../drill/drill-config";
import { DrillSetupError } from "../../drill/driver";
import { findExecutable } from "../../drill/exec";
import { httpsGet, liveCountsScript, parseComposePs, vaultListCommand } from "../../drill/host-probe";
import { missingPackages, missingPackagesMessage, REHEARSAL_REQUIREMENTS } from "../../drill/local-services";
import { countDifferences, manifestTotals, parseManifest, parseRestoreOutput } from "../../drill/manifest";
import { urnName } from "../../drill/orchestrate";
import { libpqTarget, parseDisasterAt } from "../../drill/rehearse";
import { parseDuration } from "../../drill/targets";
import { projectDefaults, readProjectFile, readStackFile } from "../../tools/stack-files";

const ROOT = resolve(__dirname, "../..");
const P = "income-fortress:";

describe("drill stack config from the real Pulumi.dr.yaml", () => {
    const dr = readStackFile(ROOT, "dr");
    const cfg = drillConfig(dr, "dr", { stackName: "drill-20260301-060000", extraAdminCidrs: ["192.0.2.7/32"] });

    it("owns a drill-… record, never the public or the DR record", () => {
        expect(cfg.plain[`${P}hostname`]).toBe("drill-20260301-060000");
        expect(cfg.plain[`${P}hostname`]).not.toBe(dr[`${P}hostname`]);
        expect(cfg.plain[`${P}hostname`]).not.toBe(readStackFile(ROOT, "prod")[`${P}hostname`]);
        expect(cfg.plain[`${P}domain`]).toBe(dr[`${P}domain`]);
        expect(cfg.plain).not.toHaveProperty(`${P}activeSite`);
    });

    it("is destroyable and does not collide with the DR stack's bucket", () => {
        expect(cfg.plain[`${P}protect`]).toBe(false);
        expect(cfg.plain[`${P}dropletBackups`]).toBe(false);
        expect(cfg.plain[`${P}backupBucket`]).toBe("income-fortress-drill-20260301-060000-backups");
        expect(cfg.plain[`${P}backupBucket`]).not.toBe(dr[`${P}backupBucket`]);
        expect(String(cfg.plain[`${P}backupBucket`]).length).toBeLessThanOrEqual(63);
    });

    it("has an offsite bucket of its own, not the DR stack's", () => {
        expect(dr[`${P}drOffsiteBucket`]).toBe("incomefortress-dr-offsite");
        expect(cfg.plain[`${P}drOffsiteBucket`]).toBe("income-fortress-drill-20260301-060000-offsite");
        expect(String(cfg.plain[`${P}drOffsiteBucket`]).length).toBeLessThanOrEqual(63);
        expect(cfg.changes).toContain(
            `drOffsiteBucket: "incomefortress-dr-offsite" -> "income-fortress-drill-20260301-060000-offsite" (Spaces bucket names are global)`,
        );
    });

    it("keeps the rest of the DR config typed as it was (lists stay lists), and reads the same vault", () => {
        for (const k of [
            "role",
            "region",
            "primaryRegion",
            "vaultBucket",
            "vaultRegion",
            "primaryStack",
            "sshKeyFingerprints",
            "deployerPublicKeys",
            "ageRecipients",
            "dbSize",
        ]) {
            expect(cfg.plain[`${P}${k}`], k).toEqual(dr[`${P}${k}`]);
        }
        expect(cfg.plain[`${P}adminCidrs`]).toEqual([...(dr[`${P}adminCidrs`] as string[]), "192.0.2.7/32"]);
        expect(cfg.changes.some((c) => c.startsWith('hostname: "api-dr" -> "drill-20260301-060000"'))).toBe(true);
    });

    it("never pages on-call and never pings the DR stack's backup heartbeat", () => {
        expect(cfg.plain[`${P}monitoring`]).toBe(false);
        const withHeartbeat = { ...dr, [`${P}backupHeartbeatUrl`]: { secure: "v1:hb" } };
        const c = drillConfig(withHeartbeat, "dr", { stackName: "drill-x2", extraAdminCidrs: [] });
        expect(c.secretKeys).not.toContain(`${P}backupHeartbeatUrl`);
        expect(c.plain).not.toHaveProperty(`${P}backupHeartbeatUrl`);
    });

    it("collects secure values to copy as secrets instead of copying ciphertext", () => {
        const withSecret = { ...dr, [`${P}ageIdentity`]: { secure: "v1:abc" }, [`${P}hostname`]: { secure: "v1:x" } };
        const c = drillConfig(withSecret, "dr", {
            stackName: "drill-x1",
            extraAdminCidrs: [],
            restoreBackup: "20260301T052000Z",
        });
        expect(c.secretKeys).toEqual([`${P}ageIdentity`]);
        expect(c.plain).not.toHaveProperty(`${P}ageIdentity`);
        expect(c.plain[`${P}hostname`]).toBe("drill-x1");
        expect(c.plain[`${P}restoreBackup`]).toBe("20260301T052000Z");
    });

    it("refuses production's config, an isolated DR config, and non-drill stack names", () => {
        const prod = readStackFile(ROOT, "prod");
        expect(() => drillConfig(prod, "prod", { stackName: "drill-x1", extraAdminCidrs: [] })).toThrow(
            /Pulumi\.prod\.yaml has role "primary"; a drill copies the DR stack's config/,
        );
        expect(() =>
            drillConfig({ ...dr, [`${P}isolate`]: true }, "dr", { stackName: "drill-x1", extraAdminCidrs: [] }),
        ).toThrow(/isolate true/);
        expect(() => drillConfig(dr, "dr", { stackName: "dr", extraAdminCidrs: [] })).toThrow(DrillConfigError);
    });

    it.each([
        ["drill-20260301-060000", true],
        ["drill-q1", true],
        ["drill-", false],
        ["drill-UPPER", false],
        ["prod", false],
        [`drill-${"a".repeat(34)}`, true],
        [`drill-${"a".repeat(35)}`, false],
        ["drill-x-", false],
    ])("stack name %s valid: %s", (name, ok) => {
        if (ok) expect(() => checkDrillStackName(name)).not.toThrow();
        else expect(() => checkDrillStackName(name)).toThrow(/is not a drill name/);
    });

    it("qualifies a stack name with the Pulumi organisation when one is given", () => {
        expect(qualifiedStackName("drill-20260301-060000")).toBe("drill-20260301-060000");
        expect(qualifiedStackName("drill-20260301-060000", "")).toBe("drill-20260301-060000");
        expect(qualifiedStackName("drill-20260301-060000", "acme-ops")).toBe("acme-ops/drill-20260301-060000");
        expect(qualifiedStackName("dr", "acme-ops")).toBe("acme-ops/dr");
    });

    it.each([
        ["acme", true],
        ["acme-ops_2", true],
        ["Acme.Corp", true],
        ["", false],
        ["acme/ops", false],
        ["-acme", false],
        ["acme ops", false],
        ["a".repeat(101), false],
    ])("organisation %j valid: %s", (org, ok) => {
        if (ok) expect(() => checkOrgName(org)).not.toThrow();
        else expect(() => checkOrgName(org)).toThrow(DrillConfigError);
    });

    it("finds the compose folder from Pulumi.yaml's defaults", () => {
        const defaults = projectDefaults(readProjectFile(ROOT));
        expect(defaults[`${P}appDir`]).toBe("/opt/income-fortress/app");
        expect(composeDirectory(dr, defaults)).toBe("/opt/income-fortress/app/income-platform");
        // The recovery steps' rule (cloud-init/compose-dir.ts): "." is the checkout itself.
        expect(composeDirectory({ [`${P}appDir`]: "/srv/app", [`${P}appComposeSubdir`]: "." }, defaults)).toBe(
            "/srv/app",
        );
        expect(composeDirectory({ [`${P}appComposeSubdir`]: "deploy/compose" }, defaults)).toBe(
            "/opt/income-fortress/app/deploy/compose",
        );
    });
});

describe("Automation API glue", () => {
    it("maps engine events to driver events", () => {
        const meta = { op: "create", urn: "urn:pulumi:s::p::t::n", type: "t", provider: "" } as const;
        expect(
            toDriverEvent({ sequence: 1, timestamp: 1, resourcePreEvent: { metadata: meta } } as EngineEvent, 5),
        ).toEqual({ kind: "resource-started", at: 5, urn: meta.urn, type: "t", op: "create" });
        expect(
            toDriverEvent(
                {
                    sequence: 2,
                    timestamp: 1,
                    resOutputsEvent: {
                        metadata: {
                            ...meta,
                            new: {
                                type: "t",
                                urn: meta.urn,
                                id: "i",
                                parent: "",
                                inputs: {},
                                outputs: { stdout: "x" },
                                provider: "",
                            },
                        },
                    },
                } as unknown as EngineEvent,
                6,
            ),
        ).toMatchObject({ kind: "resource-done", outputs: { stdout: "x" } });
        expect(
            toDriverEvent(
                { sequence: 3, timestamp: 1, resOpFailedEvent: { metadata: meta, status: 1, steps: 1 } } as EngineEvent,
                7,
            ),
        ).toMatchObject({ kind: "resource-failed" });
        expect(
            toDriverEvent(
                {
                    sequence: 4,
                    timestamp: 1,
                    diagnosticEvent: { message: "m", severity: "error", color: "never" },
                } as EngineEvent,
                8,
            ),
        ).toMatchObject({ kind: "diagnostic", severity: "error", message: "m" });
        expect(
            toDriverEvent(
                { sequence: 5, timestamp: 1, stdoutEvent: { message: "x", color: "never" } } as EngineEvent,
                9,
            ),
        ).toBeUndefined();
        expect(urnName("urn:pulumi:s::p::a$b::fortress-recovery-restore")).toBe("fortress-recovery-restore");
    });

    it.each([
        ["SIGINT", true, false],
        ["SIGINT", false, true],
        ["SIGTERM", true, true],
        ["SIGTERM", false, true],
    ])("an interrupt %s (terminal %s) is passed on to pulumi: %s", (reason, interactive, forward) => {
        expect(shouldForwardInterrupt(reason, interactive)).toBe(forward);
    });

    const scratch = mkdtempSync(join(tmpdir(), "drill-config-test-"));
    afterAll(() => rmSync(scratch, { recursive: true, force: true }));

    it("detects a missing pulumi CLI up front, with how to install it", () => {
        expect(() => locatePulumi({ PATH: join(scratch, "empty"), HOME: scratch })).toThrow(DrillSetupError);
        expect(() => locatePulumi({ PATH: "", HOME: scratch })).toThrow(
            /the Pulumi CLI \(pulumi\) is not installed or not on PATH: install it .*get\.pulumi\.com/,
        );
    });

    it("finds pulumi on PATH or in ~/.pulumi/bin", () => {
        const bin = join(scratch, "home", ".pulumi", "bin");
        mkdirSync(bin, { recursive: true });
        writeFileSync(join(bin, "pulumi"), "#!/bin/sh\n", { mode: 0o755 });
        expect(locatePulumi({ PATH: "", HOME: join(scratch, "home") })).toEqual({
            root: join(scratch, "home", ".pulumi"),
            path: join(bin, "pulumi"),
        });
        expect(locatePulumi({ PATH: bin, HOME: scratch })).toEqual({ path: join(bin, "pulumi") });
        writeFileSync(join(scratch, "pulumi"), "not executable", { mode: 0o644 });
        expect(findExecutable("pulumi", scratch)).toBeUndefined();
    });

    it("names missing DigitalOcean credentials", () => {
        expect(missingCredentials({})).toMatch(
            /set DIGITALOCEAN_TOKEN .* and SPACES_ACCESS_KEY_ID and SPACES_SECRET_ACCESS_KEY/,
        );
        expect(missingCredentials({ DIGITALOCEAN_TOKEN: "t", SPACES_ACCESS_KEY_ID: "k" })).toMatch(
            /SPACES_SECRET_ACCESS_KEY/,
        );
        expect(
            missingCredentials({
                DIGITALOCEAN_ACCESS_TOKEN: "t",
                SPACES_ACCESS_KEY_ID: "k",
                SPACES_SECRET_ACCESS_KEY: "s",
            }),
        ).toBeUndefined();
    });
});

describe("what the host prints", () => {
    it("parses docker compose ps JSON in both formats", () => {
        const ndjson = [
            '{"Service":"api","State":"running","Health":"healthy","ExitCode":0}',
            '{"Service":"migrate","State":"exited","Health":"","ExitCode":1}',
        ].join("\n");
        expect(parseComposePs(ndjson)).toEqual([
            { name: "api", state: "running", health: "healthy", exitCode: 0 },
            { name: "migrate", state: "exited", health: "", exitCode: 1 },
        ]);
        expect(
            parseComposePs('[{"Name":"x-nginx-1","Service":"nginx","State":"Running","Health":"Starting"}]'),
        ).toEqual([{ name: "nginx", state: "running", health: "starting", exitCode: null }]);
        expect(parseComposePs("\n")).toEqual([]);
    });

    it.each([
        [
            "restored 20260301T052000Z-pre into income_platform: 4 tables, 95000 rows, counts match the manifest\n",
            { restored: true, backupId: "20260301T052000Z-pre", database: "income_platform", tables: 4, rows: 95000 },
        ],
        [
            "income-fortress restore: the database already has tables, so it was left untouched (…)\n",
            { restored: false, reason: expect.stringContaining("left it untouched") },
        ],
        [
            "income-fortress restore: no backup exists in s3://v/p yet (a first deploy): nothing to restore.\n",
            { restored: false, reason: expect.stringContaining("nothing was restored") },
        ],
        ["", { restored: false, reason: "the restore step printed nothing" }],
    ])("reads the restore step's output %#", (stdout, outcome) => {
        expect(parseRestoreOutput(stdout)).toEqual(outcome);
    });

    it("quotes the vault listing command", () => {
        expect(
            vaultListCommand({
                endpoint: "https://sfo3.digitaloceanspaces.com",
                bucket: "incomefortress-backups-vault",
                prefix: "postgresql/prod",
            }),
        ).toBe(
            "sudo BACKUP_OFFSITE_S3_ENDPOINT=https://sfo3.digitaloceanspaces.com BACKUP_OFFSITE_BUCKET=incomefortress-backups-vault BACKUP_PREFIX=postgresql/prod fortress-backups --source offsite --json --limit 0",
        );
        expect(vaultListCommand({ endpoint: "x", bucket: "b", prefix: "a b;rm" })).toContain("BACKUP_PREFIX='a b;rm'");
    });

    it("an HTTPS probe never throws: no listener, or plain HTTP where TLS was expected, is 'no answer'", async () => {
        const server = createServer((_req, res) => res.end("ok"));
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        const port = (server.address() as AddressInfo).port;
        try {
            const plain = await httpsGet(`https://127.0.0.1:${port}/health`, 5000);
            expect(plain.status).toBeNull();
            expect(plain.detail).toMatch(/EPROTO|SSL|TLS|wrong version/i);
        } finally {
            await new Promise((r) => server.close(r));
        }
        const closed = await httpsGet(`https://127.0.0.1:${port}/health`, 5000);
        expect(closed).toMatchObject({ status: null, detail: expect.stringContaining("ECONNREFUSED") });
        expect((await httpsGet("not a url")).status).toBeNull();
    });

    it("the live-count script is valid bash", () => {
        const r = spawnSync("bash", ["-n"], { input: liveCountsScript() });
        expect(r.status, r.stderr.toString()).toBe(0);
        expect(liveCountsScript()).toContain("source /usr/local/lib/income-fortress/common.sh");
    });

    it("parses manifests and totals them", () => {
        const m = parseManifest(
            JSON.stringify({
                format: "income-fortress-backup/1",
                id: "i",
                createdAt: "2026-03-01T00:00:00Z",
                completedAt: "x",
                object: "o",
                bytes: 1,
                sha256: "s",
                encryption: "age",
                tables: { a: 2, b: 3 },
            }),
            "m",
        );
        expect(manifestTotals(m)).toEqual({ tables: 2, rows: 5 });
        expect(() => parseManifest({ format: "other", tables: { a: "x" } }, "latest.json")).toThrow(
            /latest\.json: malformed manifest: format is "other".*id is missing.*tables is not/,
        );
        expect(countDifferences({ a: 2, b: 3 }, { a: 2, b: 4 })).toEqual(["b: expected 3, got 4"]);
        expect(countDifferences({ a: 2 }, {})).toEqual(["a: expected 2, got no table"]);
    });
});

describe("rehearsal helpers", () => {
    it("names every missing package once, with its commands, and how to install", () => {
        const missing = missingPackages((r) => !["initdb", "pg_ctl", "rclone", "jq"].includes(r.command));
        expect(missing).toEqual([
            { pkg: "postgresql", commands: ["initdb", "pg_ctl"] },
            { pkg: "rclone", commands: ["rclone"] },
            { pkg: "jq", commands: ["jq"] },
        ]);
        expect(missingPackagesMessage(missing)).toBe(
            "missing system packages: postgresql (initdb, pg_ctl), rclone (rclone), jq (jq). Install them (Debian/Ubuntu): sudo apt-get install -y postgresql rclone jq; for PostgreSQL server binaries elsewhere set PG_BIN_DIR",
        );
        expect(missingPackages(() => true)).toEqual([]);
        for (const pkg of ["postgresql", "rclone", "age", "zstd", "jq"])
            expect(REHEARSAL_REQUIREMENTS.some((r) => r.pkg === pkg)).toBe(true);
    });

    const now = Date.parse("2026-03-01T06:00:00Z");
    it.each([
        ["+45m", { kind: "after-snapshot", seconds: 2700 }],
        ["2026-03-01T07:00:00Z", { kind: "at", ms: Date.parse("2026-03-01T07:00:00Z") }],
        ["2026-03-01T07:00:00", { kind: "at", ms: Date.parse("2026-03-01T07:00:00Z") }],
        ["2026-03-01T08:00:00+01:00", { kind: "at", ms: Date.parse("2026-03-01T07:00:00Z") }],
    ])("--disaster-at %s", (text, parsed) => {
        expect(parseDisasterAt(text, now, parseDuration)).toEqual(parsed);
    });
    it.each([
        ["+soon", /"soon" is not a duration/],
        ["yesterday", /not an ISO time/],
        ["2026-03-01T05:00:00Z", /is in the past/],
    ])("--disaster-at %s is rejected", (text, message) => {
        expect(() => parseDisasterAt(text, now, parseDuration)).toThrow(message);
    });

    it("keeps a --database-url password out of argv", () => {
        expect(libpqTarget("postgresql://app:p%40ss@db.example:5432/income_platform?sslmode=require")).toEqual({
            url: "postgresql://app@db.example:5432/income_platform?sslmode=require",
            env: { PGPASSWORD: "p@ss" },
            database: "income_platform",
        });
        expect(() => libpqTarget("mysql://x")).toThrow(/must start with postgresql:\/\//);
        expect(() => libpqTarget("not a url")).toThrow(/not a URL/);
    });
});
