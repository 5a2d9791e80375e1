// The failback orchestration (drill/failback.ts) against fake sites, a fake record and a
// clock that only moves when the fakes say so: the order of the steps, the write freeze
// measured, zero data loss proven, the rollback on every failure before the record moves,
// no rollback once it moves, interrupts, exit codes and the report.
import { describe, expect, it } from "vitest";
import type { OperationHooks } from "../../drill/driver";
import {
    FAILBACK_PHASES,
    FailbackSetupError,
    runFailback,
    type AppControl,
    type BackupStorage,
    type FailbackOptions,
    type FailbackPlan,
    type FailbackSite,
    type PublicRecord,
    type SiteToolkit,
} from "../../drill/failback";
import type { Fingerprint } from "../../drill/failback-scripts";
import type { BackupManifest } from "../../drill/manifest";
import { peopleSection } from "../../drill/people";
import { InterruptedError } from "../../drill/phases";
import { EXIT, renderMarkdown, type Report } from "../../drill/report";
import { PLAN_RPO, PLAN_RTO, planTargets } from "../../drill/targets";

const T0 = Date.parse("2026-03-01T06:00:00.000Z");

class FakeClock {
    t = T0;
    now = () => this.t;
    advance(seconds: number) {
        this.t += seconds * 1000;
    }
}

/** Where a fake can be told to fail, or to misbehave. */
interface Faults {
    /** Prod's app was never started after its region came back. */
    prodDown?: boolean;
    prodBackup?: "fail";
    drBackupLockedOnce?: boolean;
    drBackupLockedAlways?: boolean;
    /** The app's sessions never leave DR's database (something else writes). */
    sessionsStay?: boolean;
    /** DR's settings name no offsite bucket. */
    noOffsite?: boolean;
    /** The offsite copy's sha256 differs from the own bucket's. */
    offsiteDiffers?: boolean;
    restore?: "fail" | "wrong-counts";
    /** A write lands on DR after the final backup's snapshot. */
    writeAfterSnapshot?: boolean;
    prodHealth?: "never";
    move?: "fail";
    resolve?: "never";
    publicHealth?: "never";
    drStart?: "fail";
    /** Abort the signal when this step is reached. */
    abortAt?: "final-backup" | "ttl";
}

const manifest = (id: string, rows: number, sha = "ab"): BackupManifest => ({
    format: "income-fortress-backup/1",
    id,
    createdAt: new Date(T0 + 100_000).toISOString(),
    completedAt: new Date(T0 + 110_000).toISOString(),
    tag: null,
    database: "income_platform",
    object: `postgresql/x/${id}.dump.zst.age`,
    bytes: 4096,
    sha256: sha.repeat(32),
    compression: "zstd",
    encryption: "age",
    tables: { "public.users": rows - 10, "public.audit_log": 10 },
});

function world(f: Faults = {}) {
    const clock = new FakeClock();
    const log: string[] = [];
    const controller = new AbortController();
    const state = {
        drRows: 500,
        drRunning: true,
        prodRunning: !f.prodDown,
        prodRows: 480,
        prodSum: "old",
        drSum: "v500",
        backups: new Map<string, number>(),
        record: "dr" as "dr" | "prod",
        drLocked: f.drBackupLockedOnce ?? false,
    };
    const sum = (rows: number) => `v${rows}`;

    const app = (site: "prod" | "dr"): AppControl => ({
        writers: async () =>
            site === "dr"
                ? ["api", "celery_default"]
                : state.prodRunning
                  ? ["api", "celery_default", "celery_beat"]
                  : [],
        stop: async (s) => {
            log.push(`${site}: stop ${s.join(",")}`);
            clock.advance(5);
            if (site === "dr") state.drRunning = false;
            else state.prodRunning = false;
        },
        start: async (s) => {
            log.push(`${site}: start ${s.join(",")}`);
            if (s.length === 0) return;
            if (site === "dr" && f.drStart === "fail") throw new Error("docker compose start exited 1");
            clock.advance(5);
            if (site === "dr") state.drRunning = true;
            else state.prodRunning = true;
        },
        up: async () => {
            log.push(`${site}: up`);
            clock.advance(30);
            if (site === "dr") state.drRunning = true;
            else state.prodRunning = true;
        },
        health: async () =>
            site === "prod" && state.prodRunning && f.prodHealth !== "never"
                ? { status: 200, detail: "HTTP 200" }
                : { status: 502, detail: "HTTP 502" },
        startHint: (s) => `ssh deployer@${site} 'docker compose start ${s.join(" ")}'`,
    });

    const storage = (site: "prod" | "dr"): BackupStorage => ({
        prefix: `postgresql/${site}`,
        primary: { endpoint: "https://sfo3.example", bucket: `${site}-backups` },
        ...(f.noOffsite && site === "dr"
            ? {}
            : { offsite: { endpoint: "https://atl1.example", bucket: `${site}-offsite` } }),
        accessKeyId: "KEY",
        secretAccessKey: "SECRET",
    });

    const toolkit = (site: "prod" | "dr"): SiteToolkit => ({
        appSessions: async () => {
            clock.advance(1);
            return site === "dr" && (state.drRunning || f.sessionsStay) ? 2 : 0;
        },
        backup: async (tag) => {
            log.push(`${site}: backup ${tag}`);
            clock.advance(40);
            if (site === "prod" && f.prodBackup === "fail")
                throw new Error("fortress-backup exited 1: fortress-backup: error: storage unreachable");
            if (site === "dr" && (state.drLocked || f.drBackupLockedAlways)) {
                state.drLocked = false;
                throw new Error(
                    "fortress-backup exited 1: fortress-backup: error: another fortress-backup is running for this database (lock /run/lock/x): wait for it to finish, then retry",
                );
            }
            const id = `20260301T0600${String(state.backups.size).padStart(2, "0")}Z-${tag}`;
            state.backups.set(id, site === "dr" ? state.drRows : state.prodRows);
            if (site === "dr" && f.writeAfterSnapshot) {
                state.drRows += 1;
                state.drSum = sum(state.drRows);
            }
            return id;
        },
        manifests: async (source) =>
            [...state.backups]
                .filter(([id]) => (site === "prod") === id.includes("pre-failback"))
                .map(([id, rows]) => manifest(id, rows, source === "offsite" && f.offsiteDiffers ? "cd" : "ab")),
        storage: async () => storage(site),
        restoreReplacing: async (from, id) => {
            log.push(
                `${site}: restore --force ${id} from ${from.primary.bucket}${from.offsite ? ` and ${from.offsite.bucket}` : ""}`,
            );
            clock.advance(120);
            if (f.restore === "fail")
                throw new Error("fortress-restore --force exited 1: fortress-restore: error: pg_restore failed");
            const rows = state.backups.get(id)!;
            state.prodRows = rows;
            state.prodSum = sum(rows);
            return {
                restored: true,
                backupId: id,
                database: "income_platform",
                tables: 2,
                rows: f.restore === "wrong-counts" ? rows - 1 : rows,
            };
        },
        fingerprint: async (): Promise<Fingerprint> => {
            clock.advance(3);
            return {
                relations: { "public.users": site === "dr" ? state.drSum : state.prodSum, "public.audit_log": "same" },
                sequences: { "public.users_id_seq": "500,t" },
            };
        },
    });

    const site = (name: "prod" | "dr"): FailbackSite => ({
        name,
        label: `${name} (test)`,
        app: app(name),
        toolkit: toolkit(name),
        close: async () => void log.push(`${name}: close`),
    });
    const record: PublicRecord = {
        fqdn: "api.incomefortress.com",
        ttlSeconds: 60,
        primaryAddress: "192.0.2.10",
        moveToPrimary: async (hooks: OperationHooks) => {
            log.push("record: activeSite primary, pulumi up");
            clock.advance(90);
            hooks.onEvent({
                kind: "resource-done",
                at: clock.now(),
                op: "update",
                type: "digitalocean:index/dnsRecord:DnsRecord",
                urn: "urn:pulumi:prod::income-fortress::digitalocean:index/dnsRecord:DnsRecord::fortress-dns-record",
            });
            if (f.move === "fail") throw new Error("update failed: fortress-recovery-tls exited 1");
            state.record = "prod";
        },
        resolve: async () => (state.record === "prod" && f.resolve !== "never" ? "192.0.2.10" : "198.51.100.77"),
        publicHealth: async () =>
            state.record === "prod" && state.prodRunning && f.publicHealth !== "never"
                ? { status: 200, detail: "HTTP 200" }
                : { status: null, detail: "certificate not yet valid" },
        manualSteps: (w) => `finish with pulumi up --stack prod, or go back: start ${w} on dr`,
    };
    const plan: FailbackPlan = { facts: { stacks: "prod, dr" }, prod: site("prod"), dr: site("dr"), record };
    const sleep = async (ms: number, signal?: AbortSignal) => {
        if (f.abortAt === "ttl" && ms === 60_000) controller.abort("SIGINT");
        if (signal?.aborted) throw new InterruptedError("SIGINT");
        clock.advance(ms / 1000);
    };
    if (f.abortAt === "final-backup") {
        const backup = plan.dr.toolkit.backup;
        plan.dr.toolkit.backup = async (tag) => {
            const id = await backup(tag);
            controller.abort("SIGINT");
            return id;
        };
    }
    return { clock, log, state, plan, controller, sleep };
}

const OPTS: FailbackOptions = {
    stamp: "20260301-060000",
    freezeRow: "api",
    sessionTimeoutMs: 30_000,
    healthTimeoutMs: 60_000,
    resolveTimeoutMs: 120_000,
    pollIntervalMs: 10_000,
    lockRetryMs: 30_000,
    targets: planTargets(),
    context: { operator: "test" },
    people: peopleSection(
        {
            roles: {
                incidentCommander: { name: "Alberto D.", email: "alberto@incomefortress.com" },
                technicalLead: { name: "Sam Lee", phone: "+1 555 010 0199" },
            },
            escalation: [],
        },
        "failback",
        "Pulumi.prod.yaml (contacts)",
    ),
};

async function failback(f: Faults = {}, preflight?: () => Promise<FailbackPlan>) {
    const w = world(f);
    const written: Report[] = [];
    const progress: string[] = [];
    const r = await runFailback(OPTS, {
        driver: { preflight: preflight ?? (async () => w.plan) },
        clock: w.clock,
        sleep: w.sleep,
        progress: (l) => progress.push(l),
        signal: w.controller.signal,
        writeReport: (report) => {
            written.push(report);
            return { json: "/r/failback.json", markdown: "/r/failback.md" };
        },
    });
    return { ...w, r, written, progress, report: r.report! };
}

const check = (report: Report, name: RegExp) => report.checks.find((c) => name.test(c.name));

describe("runFailback: the whole sequence", () => {
    it("freezes DR, backs up, restores into prod, proves them equal, moves the record, waits out the TTL, and measures the freeze", async () => {
        const { r, log, report, state } = await failback();
        expect(r.exitCode).toBe(EXIT.ok);
        expect(report.ok).toBe(true);
        expect(log).toEqual([
            "prod: stop api,celery_default,celery_beat",
            "prod: backup pre-failback-20260301-060000",
            "dr: stop api,celery_default",
            "dr: backup failback-20260301-060000",
            "prod: restore --force 20260301T060001Z-failback-20260301-060000 from dr-backups and dr-offsite",
            "prod: start api,celery_default,celery_beat",
            "record: activeSite primary, pulumi up",
            "prod: close",
            "dr: close",
        ]);
        expect(report.phases.map((p) => p.name)).toEqual(["preflight", ...FAILBACK_PHASES]);
        for (const c of report.checks) expect(c, JSON.stringify(c)).toMatchObject({ ok: true });
        expect(check(report, /copy outside the DR region/)?.detail).toContain(
            "s3://dr-offsite/postgresql/dr (https://atl1.example)",
        );
        // DR keeps its writers stopped: the standby.
        expect(state.drRunning).toBe(false);
        expect(state.record).toBe("prod");
    });

    it("measures the write freeze from DR's writers stopping to the public health answering from prod, TTL included", async () => {
        const { report } = await failback();
        // Before the freeze: prod's stop 5 s and backup 40 s. In it: DR's stop 5, the session check 1,
        // the backup 40, the restore 120, two fingerprints 3 + 3, prod's start 5, pulumi up 90, the TTL 60.
        expect(report.freezeWindow).toEqual({
            frozenAt: "2026-03-01T06:00:45.000Z",
            resumedAt: "2026-03-01T06:06:12.000Z",
            resumedOn: "prod",
            seconds: 327,
            ttlWaitSeconds: 60,
        });
        expect(report.flow).toBe("failback");
        expect(report.rto).toMatchObject({ key: "api", measuredSeconds: 327, met: true });
        expect(report.objectives.rto.find((o) => o.key === "api")!.how).toMatch(
            /^the write freeze: from stopping the writers on dr/,
        );
        // Zero data loss, proven by the comparison.
        expect(report.rpo).toMatchObject({ key: "user-data", measuredSeconds: 0, met: true });
        expect(report.disasterAt).toBe(report.freezeWindow!.frozenAt);
        expect(report.recoveredAt).toBe(report.freezeWindow!.resumedAt);
    });

    it("writes a failback report: kind, id, backup, people, and the post-mortem with their names", async () => {
        const { report } = await failback();
        expect(report.kind).toBe("failback");
        expect(report.id).toBe("failback-20260301-060000");
        expect(report.backupId).toBe("20260301T060001Z-failback-20260301-060000");
        expect(report.context).toMatchObject({
            stacks: "prod, dr",
            operator: "test",
            "prod's database before the failback":
                "backup 20260301T060000Z-pre-failback-20260301-060000 in prod's buckets",
        });
        const md = renderMarkdown(report, { rto: PLAN_RTO, rpo: PLAN_RPO });
        expect(md).toMatch(/^# Failback report: failback-20260301-060000\n/);
        expect(md).toContain(
            "**Writes frozen:** 2026-03-01T06:00:45.000Z · **Writes resumed on prod:** 2026-03-01T06:06:12.000Z",
        );
        expect(md).toContain("**Write freeze:** 5 min 27 s (of which 1 min 00 s waiting out the record's TTL)");
        expect(md).toContain(
            "| Incident Commander (DevOps Lead) | Alberto D. | alberto@incomefortress.com | chooses the failback time, approves the write freeze",
        );
        expect(md).toContain("| Database Administrator (DBA) | not set |");
        expect(md).toContain(
            "**People:** Incident Commander Alberto D. · Technical Lead Sam Lee · Database Administrator [Name] · Communications Lead [Name]",
        );
        expect(md).toContain("**Severity:** [P0/P1/P2] (a planned write freeze that closes an incident)");
        expect(md).toContain(
            "- Data loss: none: writes were frozen before the final backup, and prod equals the frozen DR database table by table",
        );
        expect(md).toContain("- [ ] [Action] - Owner: Alberto D. - Due: [Date]");
    });

    it("brings prod's whole app up when nothing ran there, and rolls back to nothing running", async () => {
        const done = await failback({ prodDown: true });
        expect(done.r.exitCode).toBe(EXIT.ok);
        expect(done.log.slice(0, 2)).toEqual(["prod: stop ", "prod: backup pre-failback-20260301-060000"]);
        expect(done.log).toContain("prod: up");
        expect(
            done.report.checks.find((c) => c.name === "prod's app answers its health URL on the host")?.detail,
        ).toMatch(/^api, celery_default, celery_beat started; HTTP 200$/);
        const failed = await failback({ prodDown: true, restore: "fail" });
        expect(failed.log).not.toContain("prod: up");
        expect(failed.state.prodRunning).toBe(false);
    });

    it("waits for the scheduled backup that holds the lock, then takes the final one", async () => {
        const { r, log, progress } = await failback({ drBackupLockedOnce: true });
        expect(r.exitCode).toBe(EXIT.ok);
        expect(log.filter((l) => l === "dr: backup failback-20260301-060000")).toHaveLength(2);
        expect(progress.some((l) => /a scheduled backup is running; trying again in 30\.0 s/.test(l))).toBe(true);
    });

    it("gives up after ten tries when the lock stays held, and rolls back", async () => {
        const { r, log, report, state } = await failback({ drBackupLockedAlways: true });
        expect(r.exitCode).toBe(EXIT.failure);
        expect(log.filter((l) => l === "dr: backup failback-20260301-060000")).toHaveLength(10);
        expect(report.phases.find((p) => p.name === "final-backup")).toMatchObject({
            ok: false,
            error: expect.stringMatching(/another fortress-backup is running/),
        });
        expect(state.drRunning).toBe(true);
    });

    it("stops with exit 2 and no report when the preflight finds the stacks not in a failback's state", async () => {
        const { r, written, progress } = await failback({}, async () => {
            throw new FailbackSetupError(
                "Pulumi.prod.yaml has activeSite primary: the public record already points at prod",
            );
        });
        expect(r).toEqual({ exitCode: EXIT.usage });
        expect(written).toEqual([]);
        expect(progress).toEqual([
            "failback: error: Pulumi.prod.yaml has activeSite primary: the public record already points at prod",
        ]);
    });

    it("exits 1 with no report when the preflight fails otherwise", async () => {
        const { r, written } = await failback({}, async () => {
            throw new Error("ssh: connect to host 192.0.2.10 port 22: Connection timed out");
        });
        expect(r.exitCode).toBe(EXIT.failure);
        expect(written).toEqual([]);
    });
});

describe("runFailback: a failure before the record moves is rolled back", () => {
    it.each([
        [
            "prod's old database cannot be saved",
            { prodBackup: "fail" } as Faults,
            "save-prod-database",
            undefined,
            false,
            false,
        ],
        [
            "the app's sessions stay on DR",
            { sessionsStay: true } as Faults,
            "freeze-dr-writes",
            /no session of the app is left/,
            true,
            false,
        ],
        [
            "DR has no offsite bucket",
            { noOffsite: true } as Faults,
            "offsite-copy",
            /copy outside the DR region/,
            true,
            false,
        ],
        [
            "the offsite copy differs",
            { offsiteDiffers: true } as Faults,
            "offsite-copy",
            /copy outside the DR region/,
            true,
            false,
        ],
        ["the restore into prod fails", { restore: "fail" } as Faults, "restore-into-prod", undefined, true, false],
        [
            "the restore's counts differ from the manifest",
            { restore: "wrong-counts" } as Faults,
            "restore-into-prod",
            /replaced by the final backup/,
            true,
            false,
        ],
        [
            "a write landed on DR after the snapshot",
            { writeAfterSnapshot: true } as Faults,
            "compare-prod-with-dr",
            /prod holds every row written on DR/,
            true,
            false,
        ],
        [
            "prod's app is not healthy",
            { prodHealth: "never" } as Faults,
            "start-prod-writers",
            /health URL on the host/,
            true,
            true,
        ],
    ])(
        "%s: phase %s fails, DR's writers start again, the record stays, exit 1",
        async (_what, faults, phase, failedCheck, frozen, proven) => {
            const { r, report, log, state } = await failback(faults);
            expect(r.exitCode).toBe(EXIT.failure);
            expect(report.outcome).toBe("failed");
            expect(report.phases.find((p) => p.name === phase)).toMatchObject({ ok: false });
            expect(report.phases.map((p) => p.name)).not.toContain("move-record-to-prod");
            expect(report.phases.at(-1)).toMatchObject({ name: "rollback", ok: true });
            if (failedCheck) expect(check(report, failedCheck)?.ok).toBe(false);
            expect(log).not.toContain("record: activeSite primary, pulumi up");
            expect(state.record).toBe("dr");
            // Prod runs as before; DR serves again.
            expect(state.prodRunning).toBe(true);
            expect(state.drRunning).toBe(true);
            expect(log.filter((l) => l.startsWith("dr: start"))).toHaveLength(frozen ? 1 : 0);
            expect(report.freezeWindow?.resumedOn ?? null).toBe(frozen ? "dr" : null);
            // No write is lost either way: DR keeps its database. Only a passed comparison proves prod's copy whole.
            expect(report.rpo.measuredSeconds).toBe(proven ? 0 : null);
            const md = renderMarkdown(report, { rto: PLAN_RTO, rpo: PLAN_RPO });
            expect(md).toContain(
                "**Result:** FAIL: the failback did not complete (the notes say what state it left) (exit 1)",
            );
            expect(md).toContain(
                frozen
                    ? "Rolled back: dr takes writes again and the public record still points at it"
                    : "- Downtime: none: the run stopped before writes were frozen",
            );
            if (frozen) expect(md).toMatch(/\*\*Writes resumed on DR \(rolled back\):\*\* /);
        },
    );

    it("names the rollback's failure and how to start DR's writers by hand (exit 5)", async () => {
        const { r, report } = await failback({ restore: "fail", drStart: "fail" });
        expect(r.exitCode).toBe(EXIT.cleanup);
        expect(report.outcome).toBe("cleanup-failed");
        expect(report.notes.join("\n")).toContain(
            "dr's writers may still be stopped, so the public site takes no writes: ssh deployer@dr 'docker compose start api celery_default'",
        );
    });

    it("on Ctrl-C during the final backup stops, rolls back and exits 130", async () => {
        const { r, report, state } = await failback({ abortAt: "final-backup" });
        expect(r.exitCode).toBe(EXIT.sigint);
        expect(report.outcome).toBe("interrupted");
        expect(report.phases.at(-1)).toMatchObject({ name: "rollback", ok: true });
        expect(state.drRunning).toBe(true);
        expect(state.record).toBe("dr");
    });
});

describe("runFailback: once the record moves, nothing is rolled back", () => {
    it.each([
        ["pulumi up fails", { move: "fail" } as Faults, "move-record-to-prod"],
        ["the zone never answers prod's address", { resolve: "never" } as Faults, "wait-out-ttl"],
        ["the public health URL never answers from prod", { publicHealth: "never" } as Faults, "resume-writes"],
    ])("%s: DR stays frozen, the report says how to finish or go back, exit 5", async (_what, faults, phase) => {
        const { r, report, state, log } = await failback(faults);
        expect(r.exitCode).toBe(EXIT.cleanup);
        expect(report.phases.find((p) => p.name === phase)).toMatchObject({ ok: false });
        expect(report.phases.map((p) => p.name)).not.toContain("rollback");
        expect(log.filter((l) => l.startsWith("dr: start"))).toEqual([]);
        expect(state.drRunning).toBe(false);
        expect(report.notes.join("\n")).toMatch(
            /^Cleanup failed: the run stopped while the public record was moving to prod\..*finish with pulumi up --stack prod, or go back: start api celery_default on dr/m,
        );
        expect(report.freezeWindow).toMatchObject({ resumedAt: null, resumedOn: null, seconds: null });
    });

    it("on Ctrl-C while waiting out the TTL, leaves DR frozen and says so (exit 5)", async () => {
        const { r, report, state } = await failback({ abortAt: "ttl" });
        expect(r.exitCode).toBe(EXIT.cleanup);
        expect(state.record).toBe("prod");
        expect(state.drRunning).toBe(false);
        expect(report.timeline.some((t) => t.event === "interrupted by SIGINT")).toBe(true);
    });
});
