// `npm run rehearse -- --scenario failback` end to end on real services: the entry point as
// a child process, as the npm script runs it, with real PostgreSQL clusters, s3rver, the
// toolkit, and the failback's own scripts (the freeze's session check, the backup settings,
// the restore from DR's buckets with fortress-restore --force, the md5 of every table). Its
// JSON report is checked, so are the people read from the rehearsed stack's file, the
// rollback when the restore into prod fails, Ctrl-C during the freeze, and the cleanup.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FAILBACK_PHASES } from "../../drill/failback";
import { cleanEnv } from "../../harness/process";
import { removeToolkitScratch, TOOLKIT_BIN } from "../../harness/toolkit";
import { ROOT } from "../support/entry-point";
import {
    listening,
    type RehearseOptions,
    rehearse as rehearseRun,
    reportOf,
    type Run,
    servicePorts,
} from "../support/rehearse-run";

const out = mkdtempSync(join(tmpdir(), "rehearse-failback-test-"));
afterAll(() => {
    removeToolkitScratch();
    rmSync(out, { recursive: true, force: true });
});

/** The failback starts two clusters and waits out a TTL: a longer bound than the default. */
const rehearse = (args: string[], opts: RehearseOptions = {}) => rehearseRun(args, { timeoutMs: 150_000, ...opts });

async function nothingLeft(r: Run): Promise<void> {
    const ports = servicePorts(r.stderr);
    expect(ports).toHaveLength(3); // prod, s3rver, DR
    for (const port of ports) expect(await listening(port), `port ${port}`).toBe(false);
}

/** A stack folder with Pulumi.yaml and a stack file `staging` naming people, with a short TTL. */
function stackFolder(): string {
    const work = join(out, "stacks");
    mkdirSync(work, { recursive: true });
    writeFileSync(join(work, "Pulumi.yaml"), readFileSync(join(ROOT, "Pulumi.yaml"), "utf8"));
    writeFileSync(
        join(work, "Pulumi.staging.yaml"),
        [
            "config:",
            "  income-fortress:domain: incomefortress.com",
            "  income-fortress:hostname: api-staging",
            "  income-fortress:dnsTtl: 2",
            "  income-fortress:contacts: |",
            '    {"incidentCommander": {"name": "Alberto D.", "email": "alberto@incomefortress.com"},',
            '     "databaseAdministrator": {"name": "Kim O.", "phone": "+1 555 010 0123"}}',
            "",
        ].join("\n"),
    );
    return work;
}

const SMALL = ["--dataset", "plan", "--scale", "0.2", "--dr-writes", "2s"];

describe("npm run rehearse -- --scenario failback on real services", () => {
    it("brings every write made on DR back to prod, moves the record, measures the write freeze, and cleans up", async () => {
        const work = stackFolder();
        const r = await rehearse([
            "--scenario",
            "failback",
            "--stack",
            "staging",
            "--work-dir",
            work,
            "--out",
            join(out, "ok"),
            ...SMALL,
        ]);
        expect(r.code, r.stderr).toBe(0);
        const { report, markdown } = reportOf(r);

        expect(report).toMatchObject({ kind: "rehearsal", flow: "failback", ok: true, outcome: "passed" });
        const names = report.phases.map((p) => p.name);
        expect(names).toEqual([
            "start-production-database",
            "load-dataset",
            "start-storage",
            "backup-production",
            "production-writes-after-backup",
            "cutover-to-dr",
            "restore-on-dr",
            "dr-takes-writes",
            ...FAILBACK_PHASES,
            "checks",
            "cleanup",
        ]);
        for (const c of report.checks) expect(c, JSON.stringify(c)).toMatchObject({ ok: true });
        const check = (name: string) => report.checks.find((c) => c.name === name);
        expect(check("the freeze's session check sees the app while it writes")?.detail).toMatch(
            /^[1-9]\d* session\(s\) of the app/,
        );
        expect(check("no session of the app is left on the DR database")).toBeDefined();
        expect(check("the final backup has a copy outside the DR region")?.detail).toMatch(
            /in s3:\/\/fortress-dr-offsite\/postgresql\/dr .*as in the own bucket$/,
        );
        expect(check("prod holds every row written on DR: md5 of every table and sequence equal")?.detail).toMatch(
            /^4 tables and materialized views, 4 sequences of the frozen DR database equal on prod$/,
        );
        expect(
            check("restored data and sequences on prod identical to the frozen DR database (the harness's own md5)"),
        ).toBeDefined();
        const writes = /^(\d+) transactions sent to DR before the freeze; (\d+) on DR, (\d+) on prod$/.exec(
            check("every transaction the app wrote on DR is on prod")!.detail,
        );
        expect(writes).not.toBeNull();
        expect(Number(writes![1])).toBeGreaterThan(10);
        expect(
            check("prod's writes that never reached DR are replaced on prod and kept in its saved backup")?.detail,
        ).toMatch(/; 0 of prod's own rows are left after the restore; .*pre-failback-/);

        // The write freeze: measured, the TTL of the rehearsed stack's file waited out within it.
        const fw = report.freezeWindow!;
        expect(fw).toMatchObject({ resumedOn: "prod", ttlWaitSeconds: expect.closeTo(2, 0) });
        expect(fw.seconds!).toBeCloseTo((Date.parse(fw.resumedAt!) - Date.parse(fw.frozenAt)) / 1000, 2);
        expect(fw.seconds!).toBeGreaterThan(fw.ttlWaitSeconds!);
        expect(report.rto).toMatchObject({ key: "database", measuredSeconds: fw.seconds, met: true });
        expect(report.rpo).toMatchObject({ key: "user-data", measuredSeconds: 0, met: true });
        expect(report.backupId).toMatch(/^\d{8}T\d{6}Z-failback-\d{8}-\d{6}$/);
        expect(report.backup).toMatchObject({ id: report.backupId, source: "DR site's own", encryption: "age" });

        // People from the rehearsed stack's file, in the table and the post-mortem.
        expect(report.people?.source).toBe("Pulumi.staging.yaml (contacts)");
        expect(markdown).toMatch(/^# Failback rehearsal report: rehearsal-/);
        expect(markdown).toContain("| Database Administrator (DBA) | Kim O. | +1 555 010 0123 |");
        expect(markdown).toContain(
            "**People:** Incident Commander Alberto D. · Technical Lead [Name] · Database Administrator Kim O. · Communications Lead [Name]",
        );
        expect(markdown).toContain("public record: api-staging.incomefortress.com, simulated, TTL 2.0 s");

        expect(r.stderr).toMatch(/write freeze begins: stopping app on dr \(local\)/);
        expect(r.stderr).toMatch(/\] {3}prod: restored \S+-failback-\S+ into income_platform: 4 tables, /);
        await nothingLeft(r);
    });

    it("when the restore into prod fails, rolls back: DR's writers start again and the record stays on DR (exit 1)", async () => {
        // The toolkit, with a fortress-restore that refuses --force (the restore into prod) and runs otherwise.
        const bin = join(out, "toolkit-bin");
        mkdirSync(bin, { recursive: true });
        for (const name of readdirSync(TOOLKIT_BIN))
            if (name !== "fortress-restore") symlinkSync(join(TOOLKIT_BIN, name), join(bin, name));
        writeFileSync(
            join(bin, "fortress-restore"),
            `#!/usr/bin/env bash\nfor a in "$@"; do [[ $a == --force ]] && { echo "fortress-restore: error: the target refused the restore (injected)" >&2; exit 1; }; done\nexec ${join(TOOLKIT_BIN, "fortress-restore")} "$@"\n`,
            { mode: 0o755 },
        );
        const r = await rehearse(["--scenario", "failback", "--ttl", "1s", "--out", join(out, "rollback"), ...SMALL], {
            env: cleanEnv({ FORTRESS_TOOLKIT_BIN: bin }),
        });
        expect(r.code, r.stderr).toBe(1);
        const { report, markdown } = reportOf(r);
        expect(report.outcome).toBe("failed");
        expect(report.phases.find((p) => p.name === "restore-into-prod")).toMatchObject({
            ok: false,
            error: expect.stringMatching(/the target refused the restore \(injected\)/),
        });
        expect(report.phases.map((p) => p.name)).not.toContain("move-record-to-prod");
        expect(report.phases.slice(-2)).toMatchObject([
            { name: "rollback", ok: true },
            { name: "cleanup", ok: true },
        ]);
        expect(report.freezeWindow).toMatchObject({ resumedOn: "dr" });
        expect(report.notes.join("\n")).toContain(
            "Rolled back: dr takes writes again and the public record still points at it",
        );
        expect(markdown).toContain("**Writes resumed on DR (rolled back):**");
        expect(r.stderr).toMatch(/rolled back: app started again on dr/);
        await nothingLeft(r);
    });

    it("on Ctrl-C during the final backup stops it, rolls back, cleans up and exits 130", async () => {
        const r = await rehearse(
            ["--scenario", "failback", "--ttl", "1s", "--out", join(out, "interrupted"), ...SMALL],
            {
                onLine: (line) => (/ > final-backup$/.test(line) ? "SIGINT" : undefined),
            },
        );
        expect(r.code, r.stderr).toBe(130);
        const { report } = reportOf(r);
        expect(report.outcome).toBe("interrupted");
        expect(report.phases.find((p) => p.name === "final-backup")?.ok).toBe(false);
        expect(report.phases.slice(-2)).toMatchObject([
            { name: "rollback", ok: true },
            { name: "cleanup", ok: true },
        ]);
        await nothingLeft(r);
    });
});
