// Layer 2: the README's recovery scenarios as config changes on the real stack files,
// under mocks: DNS cutover (activeSite), the point-in-time fork (pitrSourceCluster),
// pinning the restored backup (restoreBackup, restoreMode), and the config errors that
// keep a drill or a dr stack off the public record.
import type * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { parseStepText } from "../../components/recovery/scripts";
import { diffRuns } from "./config-changes";
import {
    ORGANIZATION,
    PROJECT,
    T,
    byType,
    loadStackConfig,
    one,
    resolve,
    runProgram,
    type ProgramRun,
} from "./harness";

const DR_IP = "198.51.100.77";
/** The names the real dr stack's certificate covers: its `certificateNames` output under mocks. */
let drCertificateNames: unknown;

/** Stack names the last run read through a StackReference. */
let stackReads: string[] = [];

async function runStack(
    stack: string,
    from: "prod" | "dr",
    edit: Record<string, string> = {},
    drOutputs?: Record<string, unknown>,
    /** The stack's own outputs from its last update; none: a new stack. */
    previous: Record<string, unknown> = {},
): Promise<ProgramRun> {
    const config = loadStackConfig(from);
    for (const [k, v] of Object.entries(edit)) config[`${PROJECT}:${k}`] = v;
    stackReads = [];
    // The DR stack's outputs, as a StackReference reads them from the backend; the program's
    // read of its own previous outputs is answered with `previous`.
    return runProgram(stack, config, {
        outputs: (type, _name, inputs) => {
            if (type !== T.stackReference) return undefined;
            if (inputs.name === `${ORGANIZATION}/${PROJECT}/${stack}`)
                return { name: inputs.name, outputs: previous, secretOutputNames: [] };
            stackReads.push(String(inputs.name));
            return {
                name: inputs.name,
                outputs: drOutputs ?? { publicIp: DR_IP, certificateNames: drCertificateNames },
                secretOutputNames: [],
            };
        },
    });
}

/** What a completed update leaves for the next one to read: its setOnce output. */
async function recorded(run: ProgramRun): Promise<Record<string, unknown>> {
    return { setOnce: await resolve(run.outputs!.setOnce as pulumi.Output<unknown>) };
}

const ok = (run: ProgramRun): ProgramRun => {
    if (run.error) throw run.error;
    return run;
};

beforeAll(async () => {
    const dr = ok(await runStack("dr", "dr"));
    drCertificateNames = await resolve(dr.outputs!.certificateNames as pulumi.Output<unknown>);
});

describe("DNS cutover: one config change and one pulumi up on the primary stack", () => {
    it("the dr stack's certificate already covers prod's public name (DNS-01), so the cutover needs nothing on the DR host", async () => {
        const prod = ok(await runStack("prod", "prod"));
        const publicName = await resolve(prod.outputs!.hostname as pulumi.Output<string>);
        expect(publicName).toBe("api.incomefortress.com");
        expect(drCertificateNames).toEqual(["api-dr.incomefortress.com", publicName]);
        expect(await resolve(prod.outputs!.certificateNames as pulumi.Output<unknown>)).toEqual([publicName]);
    });

    it("a primary that leaves TLS to the app (no tlsEmail) does not ask the DR site for a certificate", async () => {
        const run = ok(
            await runStack(
                "prod",
                "prod",
                { activeSite: "dr", tlsEmail: "", monitoring: "false" },
                { publicIp: DR_IP },
            ),
        );
        expect(one(run, T.record).inputs.value).toBe(DR_IP);
    });

    it("activeSite dr points prod's own record at the DR stack's publicIp; nothing else in prod changes", async () => {
        const before = ok(await runStack("prod", "prod"));
        const after = ok(await runStack("prod", "prod", { activeSite: "dr" }));
        const record = one(after, T.record);
        expect(record.inputs).toEqual({ ...one(before, T.record).inputs, value: DR_IP });
        expect(record.inputs.name).toBe("api");
        // Read through a StackReference to the configured DR stack, not by writing the DR stack's records.
        expect(stackReads).toEqual(["dr"]);
        expect(byType(after, T.record)).toHaveLength(1);
        const changed = after.registrations
            .filter((r) => r.custom && r.type !== T.record)
            .filter((r) => {
                const was = before.registrations.find((b) => b.type === r.type && b.name === r.name);
                return JSON.stringify(was?.inputs) !== JSON.stringify(r.inputs);
            });
        // Only the certificate step: prod's host can no longer answer HTTP-01 for the name, and says so.
        expect(changed.map((r) => r.name)).toEqual(["fortress-recovery-tls"]);
        expect(String(changed[0].inputs.create)).toMatch(
            /points at the DR site \(activeSite dr\), so this host cannot answer its HTTP-01 challenge/,
        );
        expect(await resolve(after.outputs!.activeSite as string)).toBe("dr");
    });

    it("switching back (activeSite primary) points it at prod's reserved IP again", async () => {
        const back = ok(await runStack("prod", "prod", { activeSite: "primary" }));
        expect(one(back, T.record).inputs.value).toBe(one(back, T.reservedIp).state?.ipAddress);
        expect(stackReads).toEqual([]);
        const other = ok(await runStack("prod", "prod", { activeSite: "dr", drStack: "acme/income-fortress/dr-tor1" }));
        expect(stackReads).toEqual(["acme/income-fortress/dr-tor1"]);
        expect(one(other, T.record).inputs.value).toBe(DR_IP);
    });

    it("the dr stack and drills never point anywhere but at themselves: activeSite dr is a config error there", async () => {
        for (const [stack, edit] of [
            ["dr", { activeSite: "dr" }],
            ["drill-20260203t1000z", { hostname: "drill-20260203t1000z", activeSite: "dr" }],
        ] as const) {
            const run = await runStack(stack, "dr", edit);
            expect(run.registrations).toEqual([]);
            expect(run.error?.message).toMatch(/income-fortress:activeSite: "dr" is for the primary stack/);
        }
        const self = await runStack("prod", "prod", { activeSite: "dr", drStack: "prod" });
        expect(self.error?.message).toMatch(/income-fortress:drStack: "prod" is this stack/);
    });

    it("a drill stack owns only its drill record", async () => {
        const drill = ok(await runStack("drill-20260203t1000z", "dr", { hostname: "drill-20260203t1000z" }));
        expect(byType(drill, T.record).map((r) => r.inputs.name)).toEqual(["drill-20260203t1000z"]);
        expect(stackReads).toEqual([]);
    });
});

describe("point-in-time fork for in-region database loss", () => {
    const SOURCE = "fortress-db-pg-abc1234"; // the mock cluster's real name (logical name + suffix)

    it("forks the named cluster at the given time into a new cluster, behind its own firewall, and moves the app to it", async () => {
        const before = ok(await runStack("prod", "prod"));
        const run = ok(
            await runStack("prod", "prod", { pitrSourceCluster: SOURCE, pitrBackupTime: "2026-02-03T10:00:00Z" }),
        );
        const pgs = byType(run, T.cluster).filter((c) => c.inputs.engine === "pg");
        expect(pgs).toHaveLength(2);
        const fork = pgs.find((c) => c.inputs.backupRestore)!;
        const original = pgs.find((c) => !c.inputs.backupRestore)!;
        expect(fork.inputs.backupRestore).toEqual({ databaseName: SOURCE, backupCreatedAt: "2026-02-03T10:00:00Z" });
        expect(fork.inputs).toMatchObject({
            region: original.inputs.region,
            size: original.inputs.size,
            version: original.inputs.version,
        });
        expect(fork.customTimeouts?.create).toBe("4h");
        expect(fork.protect).toBe(true);
        // The damaged cluster is left exactly as it was (for forensics), app database and role included.
        expect(original.inputs).toEqual(byType(before, T.cluster).find((c) => c.inputs.engine === "pg")!.inputs);
        for (const type of [T.db, T.dbUser])
            expect(byType(run, type).map((r) => r.inputs)).toEqual(byType(before, type).map((r) => r.inputs));
        // The fork has its own firewall trusting the droplet tag; every cluster is covered.
        const fw = byType(run, T.dbFirewall).find((f) => f.propertyDependencies.clusterId?.includes(fork.urn));
        expect(fw?.inputs.rules).toEqual([{ type: "tag", value: one(run, T.tag).inputs.name }]);
        expect(fw?.deleteBeforeReplace).toBe(true);
        // The app and the chain use the fork: URL, admin connection, and re-run triggers.
        const url = String(await resolve(run.outputs!.databaseUrl as pulumi.Output<string>));
        expect(url).toContain(`@private-${String(fork.state?.name)}-do-user-1.db.ondigitalocean.com:`);
        expect(await resolve(run.outputs!.databaseClusterName as pulumi.Output<string>)).toBe(fork.state?.name);
        const access = one(run, T.command, "database-access");
        expect(parseStepText(String(access.inputs.create)).args[0]).toMatch(
            new RegExp(`^private-${String(fork.state?.name)}-do-user-1\\.`),
        );
        for (const role of ["database-access", "restore"])
            expect(one(run, T.command, role).propertyDependencies.triggers).toContain(fork.urn);
        expect(access.dependencies).toContain(fw!.urn);
        // A fork is not empty: prod's if-empty restore leaves it untouched (exit 4).
        expect(parseStepText(String(one(run, T.command, "restore").inputs.create)).args).toEqual([
            "if-empty",
            "--backup",
            "latest",
        ]);
        expect(one(run, T.project).propertyDependencies.resources).toContain(fork.urn);
    });

    it("a new fork time makes a new fork, and the chain moves to it (the provider reads backupRestore only when it creates a cluster)", async () => {
        const first = ok(
            await runStack("prod", "prod", { pitrSourceCluster: SOURCE, pitrBackupTime: "2026-02-03T10:00:00Z" }),
        );
        const second = ok(
            await runStack("prod", "prod", { pitrSourceCluster: SOURCE, pitrBackupTime: "2026-02-03T09:00:00Z" }),
        );
        const changes = diffRuns(first, second);
        expect(changes.find((c) => c.name === "db-pg-pitr")).toMatchObject({
            effect: "replace",
            inputs: ["backupRestore"],
            ignored: [],
        });
        expect(changes.find((c) => c.name === "db-pg-pitr-firewall")).toMatchObject({
            effect: "replace",
            inputs: ["clusterId"],
        });
        for (const step of ["recovery-database-access", "recovery-restore"])
            expect(changes.find((c) => c.name === step)?.effect, step).toBe("replace");
        // The original cluster, its database and role are left alone.
        expect(changes.filter((c) => ["db-pg", "db-app-db", "db-app-user"].includes(c.name))).toEqual([]);
    });

    it("once a fork is the database, a new one (which deletes it) must be asked for with allowReplace", async () => {
        const first = ok(
            await runStack("prod", "prod", { pitrSourceCluster: SOURCE, pitrBackupTime: "2026-02-03T10:00:00Z" }),
        );
        const edit = { pitrSourceCluster: SOURCE, pitrBackupTime: "2026-02-03T09:00:00Z" };
        const refused = await runStack("prod", "prod", edit, undefined, await recorded(first));
        expect(refused.error?.message).toMatch(
            /income-fortress:pitrBackupTime: was "2026-02-03T10:00:00Z" .*a new value makes a new fork, moves the app to it and deletes the current one/,
        );
        expect(refused.registrations.filter((r) => r.custom && r.type !== T.stackReference)).toEqual([]);
        const allowed = ok(
            await runStack(
                "prod",
                "prod",
                { ...edit, allowReplace: '["pitrBackupTime"]' },
                undefined,
                await recorded(first),
            ),
        );
        expect(diffRuns(first, allowed).find((c) => c.name === "db-pg-pitr")?.effect).toBe("replace");
    });

    it("without a time it forks the most recent backup; a time without a cluster is an error", async () => {
        const latest = ok(await runStack("prod", "prod", { pitrSourceCluster: SOURCE }));
        expect(byType(latest, T.cluster).find((c) => c.inputs.backupRestore)!.inputs.backupRestore).toEqual({
            databaseName: SOURCE,
        });
        const bad = await runStack("prod", "prod", { pitrBackupTime: "2026-02-03T10:00:00Z" });
        expect(bad.registrations).toEqual([]);
        expect(bad.error?.message).toMatch(/pitrBackupTime: is set but pitrSourceCluster is not/);
        const logical = await runStack("prod", "prod", { pitrSourceCluster: "Fortress_DB" });
        expect(logical.error?.message).toMatch(
            /pitrSourceCluster: "Fortress_DB" is not a database cluster name; use the real name/,
        );
    });
});

describe("renaming a bucket on a live stack", () => {
    const CASES = [
        ["prod", "backupBucket", "incomefortress-backups", "storage-backups"],
        ["prod", "vaultBucket", "incomefortress-backups-vault", "storage-vault"],
        ["dr", "backupBucket", "incomefortress-dr-backups", "storage-backups"],
        ["dr", "drOffsiteBucket", "incomefortress-dr-offsite", "storage-offsite"],
    ] as const;

    it.each(CASES)(
        "%s %s: a new name is a new bucket, never a new name in state over the old bucket",
        async (stack, key, _was, resource) => {
            const live = ok(await runStack(stack, stack));
            const renamed = ok(await runStack(stack, stack, { [key]: "incomefortress-renamed" }));
            expect(diffRuns(live, renamed).find((c) => c.name === resource)).toMatchObject({
                effect: "replace",
                inputs: ["name"],
                ignored: [],
            });
        },
    );

    it.each(CASES)("%s %s: refused on a live stack, with the reason and the fix", async (stack, key, was) => {
        const live = ok(await runStack(stack, stack));
        const edit = { [key]: "incomefortress-renamed" };
        const refused = await runStack(stack, stack, edit, undefined, await recorded(live));
        expect(refused.error?.message).toContain(
            `income-fortress:${key}: was "${was}" when this stack was last updated and is now "incomefortress-renamed"`,
        );
        expect(refused.error?.message).toMatch(
            /A Spaces bucket cannot be renamed or moved: the new value creates a new, empty bucket and deletes the old one .* Copy them first/,
        );
        expect(refused.error?.message).toContain(`pulumi config set ${key} ${was}`);
        expect(refused.registrations.filter((r) => r.custom && r.type !== T.stackReference)).toEqual([]);
        ok(
            await runStack(
                stack,
                stack,
                { ...edit, allowReplace: JSON.stringify([key]) },
                undefined,
                await recorded(live),
            ),
        );
    });

    it("a dr stack may point at another vault: it only reads it", async () => {
        const live = ok(await runStack("dr", "dr"));
        const other = ok(
            await runStack("dr", "dr", { vaultBucket: "incomefortress-vault-b" }, undefined, await recorded(live)),
        );
        expect(diffRuns(live, other).filter((c) => c.type === T.bucket)).toEqual([]);
    });
});

describe("what the restore step restores", () => {
    // The step's arguments: mode, backup choice, and (dr) the primary's prefix in the vault.
    // What restore.sh does with each is tested in tests/unit/recovery-scripts.test.ts.
    const restoreArgs = async (stack: "prod" | "dr", edit: Record<string, string>) =>
        parseStepText(String(one(ok(await runStack(stack, stack, edit)), T.command, "restore").inputs.create)).args;
    const VAULT = ["https://sfo3.digitaloceanspaces.com", "incomefortress-backups-vault", "postgresql/prod"];

    it.each([
        ["prod", {}, ["if-empty", "--backup", "latest"]],
        [
            "prod",
            { restoreBackup: "20260203T090000Z-pre-v1.1.0" },
            ["if-empty", "--backup", "20260203T090000Z-pre-v1.1.0"],
        ],
        [
            "prod",
            { restoreBackup: "before:2026-02-03T10:00:00+01:00" },
            ["if-empty", "--before", "2026-02-03T09:00:00Z"],
        ],
        ["prod", { restoreMode: "required" }, ["required", "--backup", "latest"]],
        ["prod", { restoreMode: "off" }, ["off", "--backup", "latest"]],
        ["dr", {}, ["required", "--backup", "latest", ...VAULT]],
        [
            "dr",
            { restoreBackup: "before:2026-02-03T10:00:00Z" },
            ["required", "--before", "2026-02-03T10:00:00Z", ...VAULT],
        ],
        ["dr", { restoreMode: "if-empty" }, ["if-empty", "--backup", "latest", ...VAULT]],
    ] as const)("%s with %j", async (stack, edit, args) => {
        expect(await restoreArgs(stack, edit)).toEqual(args);
    });

    it("rejects a backup choice that is neither latest, an id nor before:<time>", async () => {
        const run = await runStack("prod", "prod", { restoreBackup: "yesterday" });
        expect(run.error?.message).toMatch(
            /restoreBackup: "yesterday" is not a backup choice; use latest, a backup id/,
        );
    });
});

describe("secret config never shows up in an error", () => {
    it.each([
        ["ageIdentity", "AGE-SECRET-KEY-1TOOSHORTBUTSECRETISH"],
        ["appEnv", '{"API_KEY": "it\'s-a-secret-value"}'],
        ["appEnv", "{not json but sekrit-value"],
    ])("%s: the message names the key, never the value", async (key, value) => {
        const run = await runStack("prod", "prod", { [key]: value });
        expect(run.registrations).toEqual([]);
        expect(run.error?.message).toContain(`income-fortress:${key}:`);
        for (const fragment of ["TOOSHORTBUTSECRETISH", "secret-value", "sekrit-value"])
            expect(run.error?.message).not.toContain(fragment);
    });
});
