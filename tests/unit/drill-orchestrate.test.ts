// The drill orchestration (drill/orchestrate.ts) against a fake stack driver and host probe,
// with a clock that only moves when the fakes say so: phase timing, RTO/RPO measurement,
// always-destroy on failure and on interrupt, --keep, exit codes, and the report files.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
    DrillSetupError,
    type ComposeService,
    type DriverEvent,
    type HostProbe,
    type OperationHooks,
    type StackDriver,
    type StackOutputs,
} from "../../drill/driver";
import type { BackupManifest } from "../../drill/manifest";
import { composeVerdict, pickManifest, runDrill, type DrillOptions } from "../../drill/orchestrate";
import { InterruptedError } from "../../drill/phases";
import { EXIT, type Report } from "../../drill/report";
import { writeReport } from "../../drill/report-files";
import { applyOverrides, parseTargetFlag, planTargets } from "../../drill/targets";

const T0 = Date.parse("2026-03-01T06:00:00.000Z");
const SNAPSHOT = "2026-03-01T05:20:00.000Z"; // 40 min before the drill starts

/** A clock that moves only when told to. */
class FakeClock {
    t = T0;
    now = () => this.t;
    advance(seconds: number) {
        this.t += seconds * 1000;
    }
}

const manifest: BackupManifest = {
    format: "income-fortress-backup/1",
    id: "20260301T052000Z",
    createdAt: SNAPSHOT,
    completedAt: "2026-03-01T05:21:10.000Z",
    tag: null,
    database: "income_platform",
    object: "postgresql/prod/20260301T052000Z.dump.zst.age",
    bytes: 1234,
    sha256: "ab".repeat(32),
    compression: "zstd",
    encryption: "age",
    tables: { "public.users": 5000, "public.portfolios": 20000 },
};

const outputs: StackOutputs = {
    hostname: { value: "drill-20260301-060000.incomefortress.com", secret: false },
    publicIp: { value: "192.0.2.10", secret: false },
};

interface Calls {
    log: string[];
    destroyRefresh?: boolean;
}

/** A stack driver whose up takes simulated time and emits the events a real up would. */
function fakeDriver(
    clock: FakeClock,
    calls: Calls,
    behaviour: {
        preflight?: () => never;
        create?: "fail";
        up?: "fail" | "hang";
        destroy?: "fail";
        restoreStdout?: string;
    } = {},
): StackDriver {
    return {
        stackName: "drill-20260301-060000",
        preflight: async () => {
            calls.log.push("preflight");
            behaviour.preflight?.();
            return { "pulumi CLI": "fake" };
        },
        create: async () => {
            calls.log.push("create");
            clock.advance(5);
            if (behaviour.create === "fail") throw new Error("stack init failed");
        },
        up: async (hooks: OperationHooks) => {
            calls.log.push("up");
            const ev = (e: Omit<DriverEvent, "at">) => hooks.onEvent({ ...e, at: clock.now() });
            ev({
                kind: "resource-started",
                urn: "urn:pulumi:d::income-fortress::digitalocean:index/databaseCluster:DatabaseCluster::fortress-db-valkey",
                type: "digitalocean:index/databaseCluster:DatabaseCluster",
                op: "create",
            });
            clock.advance(600);
            ev({
                kind: "resource-done",
                urn: "urn:pulumi:d::income-fortress::digitalocean:index/databaseCluster:DatabaseCluster::fortress-db-valkey",
                type: "digitalocean:index/databaseCluster:DatabaseCluster",
                op: "create",
            });
            if (behaviour.up === "fail") {
                clock.advance(10);
                ev({
                    kind: "resource-failed",
                    urn: "urn:pulumi:d::income-fortress::command:remote:Command::fortress-recovery-restore",
                    type: "command:remote:Command",
                    op: "create",
                });
                throw new Error("update failed: fortress-recovery-restore exited 1");
            }
            if (behaviour.up === "hang") {
                // Like the Automation API: the abort makes pulumi stop and the call reject.
                await new Promise<void>((_, reject) =>
                    hooks.signal?.addEventListener("abort", () => reject(new Error("pulumi was interrupted")), {
                        once: true,
                    }),
                );
            }
            clock.advance(900);
            ev({
                kind: "resource-done",
                urn: "urn:pulumi:d::income-fortress::income-fortress:recovery:Recovery$command:remote:Command::fortress-recovery-restore",
                type: "command:remote:Command",
                op: "create",
                outputs: {
                    stdout:
                        behaviour.restoreStdout ??
                        "restored 20260301T052000Z into income_platform: 2 tables, 25000 rows, counts match the manifest\nincome-fortress restore: restored the database\n",
                },
            });
            clock.advance(300);
            return outputs;
        },
        destroy: async (hooks) => {
            calls.log.push("destroy");
            calls.destroyRefresh = hooks.refresh;
            clock.advance(420);
            if (behaviour.destroy === "fail") throw new Error("deleting fortress-db-pg: 409 conflict");
        },
        remove: async () => {
            calls.log.push("remove");
        },
    };
}

function fakeProbe(
    clock: FakeClock,
    calls: Calls,
    o: {
        healthyAfterPolls?: number;
        compose?: ComposeService[];
        manifests?: BackupManifest[];
        live?: Record<string, number>;
    } = {},
) {
    let polls = 0;
    return async (_outputs: StackOutputs): Promise<HostProbe> => ({
        httpsGet: async (url) => {
            calls.log.push(`GET ${url}`);
            polls++;
            clock.advance(1);
            return polls > (o.healthyAfterPolls ?? 0)
                ? { status: 200, detail: "HTTP 200" }
                : { status: null, detail: "getaddrinfo ENOTFOUND" };
        },
        composeServices: async () =>
            o.compose ?? [
                { name: "api", state: "running", health: "healthy", exitCode: 0 },
                { name: "celery_default", state: "running", health: "", exitCode: 0 },
                { name: "nginx", state: "running", health: "healthy", exitCode: 0 },
            ],
        vaultManifests: async () => o.manifests ?? [manifest],
        liveCounts: async () => o.live ?? { "public.users": 5000, "public.portfolios": 20003 },
        close: async () => {
            calls.log.push("probe closed");
        },
    });
}

let outDir: string | undefined;
afterEach(() => {
    if (outDir) rmSync(outDir, { recursive: true, force: true });
    outDir = undefined;
});

function setup(
    opts: Partial<DrillOptions> = {},
    driverBehaviour: Parameters<typeof fakeDriver>[2] = {},
    probeOptions: Parameters<typeof fakeProbe>[2] = {},
) {
    const clock = new FakeClock();
    const calls: Calls = { log: [] };
    const controller = new AbortController();
    const lines: string[] = [];
    outDir = mkdtempSync(join(tmpdir(), "drill-test-"));
    const dir = outDir;
    const written: Report[] = [];
    const run = () =>
        runDrill(
            {
                targets: planTargets(),
                keep: false,
                healthPath: "/health",
                healthTimeoutMs: 120_000,
                composeTimeoutMs: 60_000,
                pollIntervalMs: 10_000,
                restoreBackup: "latest",
                context: {},
                ...opts,
            },
            {
                driver: fakeDriver(clock, calls, driverBehaviour),
                probe: fakeProbe(clock, calls, probeOptions),
                clock,
                sleep: async (ms, signal) => {
                    // Yield like a real timer, so an interrupt can arrive between polls.
                    await new Promise((r) => setImmediate(r));
                    if (signal?.aborted) throw new InterruptedError("SIGINT");
                    clock.advance(ms / 1000);
                },
                progress: (l) => lines.push(l),
                signal: controller.signal,
                writeReport: (r) => {
                    written.push(r);
                    return writeReport(dir, r);
                },
            },
        );
    return { clock, calls, controller, lines, run, written, dir };
}

describe("runDrill", () => {
    it("times each phase with the clock, measures RTO and RPO, validates, destroys, and writes both report files", async () => {
        const { calls, run, lines } = setup();
        const result = await run();
        const r = result.report!;

        expect(result.exitCode).toBe(EXIT.ok);
        expect(r.ok).toBe(true);
        expect(calls.log.filter((c) => !c.startsWith("GET"))).toEqual([
            "preflight",
            "create",
            "up",
            "probe closed",
            "destroy",
            "remove",
        ]);
        expect(calls.destroyRefresh).toBe(false);
        expect(r.phases.map((p) => [p.name, p.seconds, p.ok])).toEqual([
            ["preflight", 0, true],
            ["create-stack", 5, true],
            ["pulumi-up", 1800, true],
            ["validate", 1, true],
            ["destroy", 420, true],
        ]);
        // Disaster at T0 (after preflight); valkey after 5+600 s, restore after 5+600+900 s,
        // first 200 after the 1800 s up plus one 1 s request.
        expect(r.disasterAt).toBe(new Date(T0).toISOString());
        expect(r.rto).toMatchObject({ key: "api", measuredSeconds: 1806, targetSeconds: 4 * 3600, met: true });
        const rto = Object.fromEntries(r.objectives.rto.map((o) => [o.key, o.measuredSeconds]));
        expect(rto).toEqual({ api: 1806, database: 1505, cache: 605, celery: 1806, "background-jobs": null });
        // RPO: snapshot 05:20, drill start 06:00.
        expect(r.rpo).toMatchObject({ key: "user-data", measuredSeconds: 2400, targetSeconds: 3600, met: true });
        expect(r.backupId).toBe(manifest.id);
        expect(r.backup).toEqual({
            id: manifest.id,
            createdAt: SNAPSHOT,
            completedAt: manifest.completedAt,
            bytes: 1234,
            sha256: manifest.sha256,
            encryption: "age",
            source: "offsite vault",
            tables: 2,
            rows: 25000,
        });
        expect(r.checks.map((c) => [c.name, c.ok])).toEqual([
            ["health URL answers 200 over HTTPS", true],
            ["compose services healthy", true],
            ["restore step restored a backup", true],
            ["age of the backup used", true],
            ["restored row counts equal the manifest", true],
            ["live tables hold at least the backup's rows", true],
        ]);
        expect(calls.log).toContain("GET https://drill-20260301-060000.incomefortress.com/health");
        // Live progress: phase lines with elapsed time, and resource lines as they finish.
        expect(lines).toContain("[ 1805.0s] ok pulumi-up (1800.0s)");
        expect(
            lines.some((l) =>
                /\+ digitalocean:index\/databaseCluster:DatabaseCluster fortress-db-valkey create \(10 min 00 s\)/.test(
                    l,
                ),
            ),
        ).toBe(true);

        const json = JSON.parse(readFileSync(result.files!.json, "utf8")) as Report;
        expect(json.kind).toBe("drill");
        expect(json.id).toBe("drill-20260301-060000");
        expect(result.files!.json.endsWith("drill-20260301-060000.json")).toBe(true);
        const md = readFileSync(result.files!.markdown, "utf8");
        expect(md).toContain("| API (Complete Outage) | 4 hours | 8 hours | 30 min 06 s | pass |");
        expect(md).toContain("| Background Jobs | 2 hours | 4 hours | not measured | not measured |");
    });

    it("destroys (with a refresh) and removes the stack when up fails, and exits 1", async () => {
        const { calls, run } = setup({}, { up: "fail" });
        const result = await run();
        expect(result.exitCode).toBe(EXIT.failure);
        expect(calls.log).toEqual(["preflight", "create", "up", "destroy", "remove"]);
        expect(calls.destroyRefresh).toBe(true);
        const r = result.report!;
        expect(r.outcome).toBe("failed");
        expect(r.phases.find((p) => p.name === "pulumi-up")).toMatchObject({
            ok: false,
            error: "update failed: fortress-recovery-restore exited 1",
        });
        expect(r.phases.find((p) => p.name === "destroy")?.ok).toBe(true);
        expect(r.rto.measuredSeconds).toBeNull();
        expect(r.rto.met).toBe(false);
        expect(existsSync(result.files!.markdown)).toBe(true);
    });

    it.each([
        ["SIGINT", EXIT.sigint],
        ["SIGTERM", EXIT.sigterm],
    ] as const)(
        "on %s during up it stops, destroys and removes the stack, writes the report, and exits %i",
        async (sig, code) => {
            const { calls, run, controller, clock } = setup({}, { up: "hang" });
            const pending = run();
            // Let the drill reach the hanging up, then interrupt it.
            while (!calls.log.includes("up")) await new Promise((r) => setImmediate(r));
            clock.advance(30);
            controller.abort(sig);
            const result = await pending;
            expect(result.exitCode).toBe(code);
            expect(calls.log).toEqual(["preflight", "create", "up", "destroy", "remove"]);
            expect(calls.destroyRefresh).toBe(true);
            expect(result.report!.outcome).toBe("interrupted");
            expect(result.report!.timeline.some((t) => t.event === `interrupted by ${sig}`)).toBe(true);
            expect(existsSync(result.files!.json)).toBe(true);
        },
    );

    it("an interrupt while validating still destroys the stack", async () => {
        const { calls, run, controller } = setup({}, {}, { healthyAfterPolls: 1_000_000 });
        const pending = run();
        while (!calls.log.some((c) => c.startsWith("GET"))) await new Promise((r) => setImmediate(r));
        controller.abort("SIGINT");
        const result = await pending;
        expect(result.exitCode).toBe(EXIT.sigint);
        expect(calls.log.slice(-3)).toEqual(["probe closed", "destroy", "remove"]);
    });

    it("--keep leaves the stack, says how to destroy it, and still reports", async () => {
        const { calls, run } = setup({ keep: true });
        const result = await run();
        expect(calls.log).not.toContain("destroy");
        expect(calls.log).not.toContain("remove");
        expect(result.exitCode).toBe(EXIT.ok);
        expect(result.report!.notes.join("\n")).toContain(
            "pulumi destroy --stack drill-20260301-060000 --yes && pulumi stack rm drill-20260301-060000 --yes",
        );
        expect(result.report!.phases.map((p) => p.name)).not.toContain("destroy");
    });

    it("--keep after a failure keeps the stack too (for inspection)", async () => {
        const { calls, run } = setup({ keep: true }, { up: "fail" });
        const result = await run();
        expect(calls.log).not.toContain("destroy");
        expect(result.exitCode).toBe(EXIT.failure);
    });

    it("exits 5 and names the stack when destroy fails, even after a successful drill", async () => {
        const { run } = setup({}, { destroy: "fail" });
        const result = await run();
        expect(result.exitCode).toBe(EXIT.cleanup);
        expect(result.report!.outcome).toBe("cleanup-failed");
        expect(result.report!.notes.join("\n")).toMatch(
            /stack drill-20260301-060000 may still hold resources \(deleting fortress-db-pg: 409 conflict\).*pulumi destroy --stack drill-20260301-060000/,
        );
    });

    it("exits 2 without creating anything when preflight finds no pulumi CLI", async () => {
        const { calls, run, lines, written } = setup(
            {},
            {
                preflight: () => {
                    throw new DrillSetupError("the Pulumi CLI (pulumi) is not installed or not on PATH: install it");
                },
            },
        );
        const result = await run();
        expect(result.exitCode).toBe(EXIT.usage);
        expect(calls.log).toEqual(["preflight"]);
        expect(written).toHaveLength(0);
        expect(lines).toEqual(["drill: error: the Pulumi CLI (pulumi) is not installed or not on PATH: install it"]);
    });

    it("does not destroy a stack that was never created", async () => {
        const { calls, run } = setup({}, { create: "fail" });
        const result = await run();
        expect(result.exitCode).toBe(EXIT.failure);
        expect(calls.log).toEqual(["preflight", "create"]);
    });

    it("fails the health check after the timeout, polling at the interval, and exits 3", async () => {
        const { calls, run } = setup(
            { healthTimeoutMs: 60_000, pollIntervalMs: 10_000 },
            {},
            { healthyAfterPolls: 1_000 },
        );
        const result = await run();
        const r = result.report!;
        expect(result.exitCode).toBe(EXIT.missed);
        expect(r.outcome).toBe("checks-failed");
        // 1 s per request, 10 s between: requests at 0, 11, 22, 33, 44, 55, 66 s (the last after the deadline).
        expect(calls.log.filter((c) => c.startsWith("GET"))).toHaveLength(7);
        expect(r.checks[0]).toMatchObject({ name: "health URL answers 200 over HTTPS", ok: false });
        expect(r.checks[0]!.detail).toContain("last: getaddrinfo ENOTFOUND");
        expect(r.rto.measuredSeconds).toBeNull();
        expect(calls.log).toContain("destroy");
    });

    it("exits 3 when a tightened target is missed, and the Markdown says FAIL for that row", async () => {
        const targets = applyOverrides(planTargets(), [parseTargetFlag("api=30m")]);
        const { run } = setup({ targets });
        const result = await run();
        expect(result.exitCode).toBe(EXIT.missed);
        expect(result.report!.outcome).toBe("targets-missed");
        expect(result.report!.rto).toMatchObject({ measuredSeconds: 1806, targetSeconds: 1800, met: false });
        expect(readFileSync(result.files!.markdown, "utf8")).toContain(
            "| API (Complete Outage) | 30 minutes (overridden; plan: 4 hours) | 8 hours | 30 min 06 s | FAIL (target missed, within maximum) |",
        );
    });

    it("fails the backup-age check and the RPO when the restored backup is older than the target", async () => {
        const old = { ...manifest, createdAt: "2026-03-01T04:00:00.000Z" };
        const { run } = setup({}, {}, { manifests: [old] });
        const result = await run();
        expect(result.exitCode).toBe(EXIT.missed);
        expect(result.report!.rpo).toMatchObject({ measuredSeconds: 7200, met: false });
        expect(result.report!.checks.find((c) => c.name === "age of the backup used")).toMatchObject({ ok: false });
    });

    it("fails checks when the restore left the database alone, compose is unhealthy, or rows are missing", async () => {
        const { run } = setup(
            { composeTimeoutMs: 20_000 },
            { restoreStdout: "income-fortress restore: the database already has tables, so it was left untouched\n" },
            {
                compose: [{ name: "celery_default", state: "restarting", health: "", exitCode: 1 }],
                live: { "public.users": 4999 },
            },
        );
        const result = await run();
        const byName = Object.fromEntries(result.report!.checks.map((c) => [c.name, c]));
        expect(result.exitCode).toBe(EXIT.missed);
        expect(byName["restore step restored a backup"]).toMatchObject({
            ok: false,
            detail: expect.stringContaining("left it untouched"),
        });
        expect(byName["compose services healthy"]).toMatchObject({
            ok: false,
            detail: "1 of 1 not healthy: celery_default restarting",
        });
        expect(byName["live tables hold at least the backup's rows"]!.ok).toBe(false);
        expect(byName["live tables hold at least the backup's rows"]!.detail).toContain("public.users 4999 < 5000");
        expect(byName["live tables hold at least the backup's rows"]!.detail).toContain(
            "public.portfolios missing < 20000",
        );
        // Without a restore line the manifest is the newest finished before the restore step.
        expect(result.report!.backupId).toBe(manifest.id);
        expect(result.report!.objectives.rto.find((o) => o.key === "celery")!.measuredSeconds).toBeNull();
    });
});

describe("composeVerdict", () => {
    it.each([
        [[{ name: "api", state: "running", health: "healthy", exitCode: 0 }], true],
        [[{ name: "api", state: "running", health: "", exitCode: 0 }], true],
        [[{ name: "migrate", state: "exited", health: "", exitCode: 0 }], true],
        [[{ name: "migrate", state: "exited", health: "", exitCode: 2 }], false],
        [[{ name: "api", state: "running", health: "starting", exitCode: 0 }], false],
        [[{ name: "api", state: "running", health: "unhealthy", exitCode: 0 }], false],
        [[], false],
    ] as [ComposeService[], boolean][])("%j -> %s", (services, ok) => {
        expect(composeVerdict(services).ok).toBe(ok);
    });
});

describe("pickManifest", () => {
    const a = {
        ...manifest,
        id: "20260301T040000Z",
        createdAt: "2026-03-01T04:00:00Z",
        completedAt: "2026-03-01T04:01:00Z",
    };
    const b = {
        ...manifest,
        id: "20260301T050000Z",
        createdAt: "2026-03-01T05:00:00Z",
        completedAt: "2026-03-01T05:01:00Z",
    };
    const c = {
        ...manifest,
        id: "20260301T060000Z",
        createdAt: "2026-03-01T06:00:00Z",
        completedAt: "2026-03-01T06:01:00Z",
    };
    it("uses the id the restore printed", () => {
        expect(
            pickManifest(
                [c, b, a],
                { restored: true, backupId: a.id, database: "x", tables: 1, rows: 1 },
                "latest",
                undefined,
            )?.id,
        ).toBe(a.id);
    });
    it("uses a configured id", () => {
        expect(pickManifest([c, b, a], undefined, b.id, undefined)?.id).toBe(b.id);
    });
    it("else the newest that had finished when the restore finished", () => {
        expect(pickManifest([a, c, b], undefined, "latest", Date.parse("2026-03-01T05:30:00Z"))?.id).toBe(b.id);
    });
});
