// `npm run rehearse` end to end on real services: the entry point is run as a child process
// exactly as the npm script runs it (node + ts-node), with real PostgreSQL clusters, s3rver,
// the toolkit, rclone, age and zstd. Its JSON report is checked, and so is its cleanup
// (after success and after Ctrl-C) and its message about missing packages.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findExecutable } from "../../drill/exec";
import { liveCountsScript } from "../../drill/host-probe";
import { seedPlanDatabase } from "../../harness/datasets";
import { startPostgres, type PostgresCluster } from "../../harness/postgres";
import { cleanEnv, run } from "../../harness/process";
import { exactCounts, makeShimPath, removeToolkitScratch } from "../../harness/toolkit";
import { ROOT } from "../support/entry-point";
import { listening, rehearse, reportOf, servicePorts } from "../support/rehearse-run";

const out = mkdtempSync(join(tmpdir(), "rehearse-test-"));
let external: PostgresCluster | undefined;
afterAll(async () => {
    await external?.stop();
    removeToolkitScratch();
    rmSync(out, { recursive: true, force: true });
});

describe("npm run rehearse on real services", () => {
    it("backs up, restores from the offsite bucket, verifies, reports RTO and RPO, and cleans up", async () => {
        const r = await rehearse(["--out", join(out, "default")]);
        expect(r.code, r.stderr).toBe(0);
        const { report, markdown } = reportOf(r);

        expect(report.kind).toBe("rehearsal");
        expect(report.ok).toBe(true);
        expect(report.phases.length).toBeGreaterThanOrEqual(9);
        for (const p of report.phases)
            expect(p, JSON.stringify(p)).toMatchObject({ ok: true, seconds: expect.any(Number) });
        expect(report.phases.map((p) => p.name)).toEqual(
            expect.arrayContaining([
                "start-production-database",
                "load-dataset",
                "start-storage",
                "backup",
                "lose-production",
                "provision-dr-database",
                "restore",
                "verify",
                "checks",
                "cleanup",
            ]),
        );
        for (const c of report.checks) expect(c, JSON.stringify(c)).toMatchObject({ ok: true });
        const counts = report.checks.find((c) => c.name === "restored row counts equal the manifest");
        expect(counts?.ok).toBe(true);
        expect(
            report.checks.find((c) => c.name === "restored data and sequences identical to production at the snapshot")
                ?.ok,
        ).toBe(true);
        expect(report.checks.find((c) => c.name === "offsite object's size and sha256 equal the manifest")?.ok).toBe(
            true,
        );
        expect(report.backupId).toMatch(/^\d{8}T\d{6}Z-rehearsal$/);
        expect(report.backup).toMatchObject({ id: report.backupId, source: "offsite", encryption: "age" });
        expect(report.backup!.rows).toBeGreaterThanOrEqual(95_000);

        // RTO: disaster -> verified, and it fits in the run; RPO: snapshot -> disaster.
        expect(report.rto).toMatchObject({ key: "database", targetSeconds: 3600, met: true });
        expect(report.rto.measuredSeconds).toBeGreaterThan(0);
        expect(report.rto.measuredSeconds!).toBeCloseTo(
            (Date.parse(report.recoveredAt!) - Date.parse(report.disasterAt!)) / 1000,
            2,
        );
        expect(report.rpo).toMatchObject({ key: "user-data", targetSeconds: 3600, met: true });
        expect(report.rpo.measuredSeconds!).toBeCloseTo(
            (Date.parse(report.disasterAt!) - Date.parse(report.backup!.createdAt)) / 1000,
            2,
        );
        expect(report.rpo.measuredSeconds!).toBeGreaterThan(0);
        expect(Date.parse(report.startedAt)).toBeLessThan(Date.parse(report.disasterAt!));
        expect(Date.parse(report.recoveredAt!)).toBeLessThan(Date.parse(report.finishedAt));

        expect(markdown).toMatch(/\| Database \(Primary Failure\) \| 1 hour \| 2 hours \| [\d.]+ s \| pass \|/);
        expect(markdown).toContain("| API (Complete Outage) | 4 hours | 8 hours | not measured | not measured |");
        expect(markdown).toContain("# Incident Post-Mortem: Backup rehearsal");

        // Live progress on stderr, and nothing left running.
        expect(r.stderr).toMatch(/\[\s+[\d.]+s\] > restore\n/);
        expect(r.stderr).toMatch(/fortress-restore: downloading s3:\/\/fortress-offsite\//);
        const ports = servicePorts(r.stderr);
        expect(ports).toHaveLength(3);
        for (const port of ports) expect(await listening(port), `port ${port}`).toBe(false);
    });

    it("on Ctrl-C stops the running toolkit command, cleans up, writes an interrupted report, and exits 130", async () => {
        const r = await rehearse(["--out", join(out, "interrupted"), "--dataset", "plan", "--scale", "0.2"], {
            onLine: (line) => (/ > restore$/.test(line) ? "SIGINT" : undefined),
        });
        expect(r.code, r.stderr).toBe(130);
        expect(r.stderr).toContain("rehearse: SIGINT: stopping and cleaning up");
        const { report } = reportOf(r);
        expect(report.ok).toBe(false);
        expect(report.outcome).toBe("interrupted");
        expect(report.exitCode).toBe(130);
        expect(report.phases.find((p) => p.name === "restore")?.ok).toBe(false);
        expect(report.phases.map((p) => p.name)).not.toContain("verify");
        expect(report.phases.at(-1)).toMatchObject({ name: "cleanup", ok: true });
        expect(report.rto.measuredSeconds).toBeNull();
        // The data loss is known from the moment of the disaster, recovered or not.
        expect(report.rpo.measuredSeconds).toBeGreaterThan(0);
        const ports = servicePorts(r.stderr);
        expect(ports).toHaveLength(3); // production (already lost), s3rver, and the DR cluster
        for (const port of ports) expect(await listening(port), `port ${port}`).toBe(false);
    });

    it("with --database-url backs up an existing database without stopping or changing it", async () => {
        external = await startPostgres();
        await external.createDatabase("shop");
        await seedPlanDatabase(external, "shop", 0.2);
        const before = await exactCounts(external, "shop");

        const r = await rehearse([
            "--out",
            join(out, "external"),
            "--database-url",
            external.url("shop"),
            "--disaster-at",
            "+25m",
            "--target",
            "user-data=30m",
        ]);
        expect(r.code, r.stderr).toBe(0);
        const { report } = reportOf(r);
        expect(report.phases.map((p) => p.name)).toContain("connect-production-database");
        expect(report.phases.map((p) => p.name)).not.toContain("lose-production");
        expect(report.context["production database"]).not.toContain(external.password);
        expect(r.stderr).not.toContain(external.password);
        // --disaster-at +25m: the RPO is exactly 25 minutes, within the tightened 30 m target.
        expect(report.rpo).toMatchObject({ measuredSeconds: 1500, targetSeconds: 1800, met: true });
        expect(report.backup!.rows).toBe(Object.values(before).reduce((a, b) => a + b, 0));
        expect(await exactCounts(external, "shop")).toEqual(before);

        // The drill's live-count script (run over SSH on a droplet) with the repo's toolkit
        // library against this database gives the manifest's counts.
        const counted = await run("bash", ["-s", "--", JSON.stringify(Object.keys(before))], {
            input: liveCountsScript(join(ROOT, "cloud-init/toolkit/lib/income-fortress/common.sh")),
            env: cleanEnv({ DATABASE_URL: external.url("shop"), FORTRESS_CONFIG_DIR: join(out, "no-config") }),
        });
        expect(counted.code, counted.stderr).toBe(0);
        expect(JSON.parse(counted.stdout)).toEqual(before);
    });

    it("when the restore fails (the age identity does not decrypt) it still cleans up, reports the failed phase, and exits 1", async () => {
        const realAge = findExecutable("age")!;
        const path = makeShimPath({
            wrappers: {
                age: `#!/usr/bin/env bash\nfor a in "$@"; do [[ $a == --decrypt ]] && { echo "age: error: no identity matched any of the recipients" >&2; exit 1; }; done\nexec ${realAge} "$@"\n`,
            },
        });
        const r = await rehearse(["--out", join(out, "broken"), "--dataset", "plan", "--scale", "0.2"], {
            env: cleanEnv({ PATH: path }),
        });
        expect(r.code, r.stderr).toBe(1);
        const { report, markdown } = reportOf(r);
        expect(report.outcome).toBe("failed");
        expect(report.phases.find((p) => p.name === "backup")?.ok).toBe(true);
        expect(report.phases.find((p) => p.name === "restore")).toMatchObject({
            ok: false,
            error: expect.stringMatching(
                /^fortress-restore exited 3: fortress-restore: error: cannot decrypt .*no identity matched/,
            ),
        });
        expect(report.phases.at(-1)).toMatchObject({ name: "cleanup", ok: true });
        expect(report.rto).toMatchObject({ measuredSeconds: null, met: false });
        expect(report.rpo.met).toBe(true);
        expect(markdown).toContain("- Phase restore failed: fortress-restore exited 3");
        for (const port of servicePorts(r.stderr)) expect(await listening(port), `port ${port}`).toBe(false);
    });

    it("names every missing system package and exits 2 before starting anything", async () => {
        const path = makeShimPath({ hide: ["rclone", "jq", "zstd"] });
        const r = await rehearse(["--out", join(out, "missing")], {
            env: cleanEnv({ PATH: path, PG_BIN_DIR: join(out, "no-postgres") }),
        });
        expect(r.code).toBe(2);
        expect(r.stderr).toContain(
            "rehearse: error: missing system packages: postgresql (initdb, pg_ctl), rclone (rclone), zstd (zstd), jq (jq)",
        );
        expect(r.stderr).toContain("sudo apt-get install -y postgresql rclone zstd jq");
        expect(r.stdout).toBe("");
    });
});
