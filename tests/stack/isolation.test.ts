// Layer 2: the breach sequence on a live stack, under mocks. Each update reads the stack's
// previous outputs (a StackReference to itself), which the mock answers with what the
// update before exported: isolate, rotate while isolated, lift. Asserted: which droplet the
// database firewalls trust, that the snapshot and the evidence are of the droplet serving
// when isolation began and exist before any replacement droplet (the droplet depends on
// them), that nothing of them runs again on a rotation, and the updates refused.
import type * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { composeDir } from "../../cloud-init/compose-dir";
import { composeStopScript, composeUpScript, evidenceScript } from "../../components/recovery/scripts";
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
    type Registration,
} from "./harness";

const SNAPSHOT = "digitalocean:index/dropletSnapshot:DropletSnapshot";
const LOCAL = "command:local:Command";
const SLACK = {
    alertSlackWebhookUrl: "https://hooks.slack.com/services/T0FORTRESS/B0ALERTS/mockSlackWebhookToken42",
    alertSlackChannel: "#ops-alerts",
};
const APP_DIR = composeDir({ dir: "/opt/income-fortress/app", composeSubdir: "income-platform" });

async function update(edit: Record<string, string>, previous: Record<string, unknown>): Promise<ProgramRun> {
    const config = loadStackConfig("prod");
    for (const [k, v] of Object.entries(edit)) config[`${PROJECT}:${k}`] = v;
    return runProgram("prod", config, {
        outputs: (type, _name, inputs) =>
            type === T.stackReference && inputs.name === `${ORGANIZATION}/${PROJECT}/prod`
                ? { outputs: previous, secretOutputNames: [] }
                : undefined,
    });
}

/** What an update exports that the next one reads. */
async function exported(run: ProgramRun): Promise<Record<string, unknown>> {
    if (run.error) throw run.error;
    const out: Record<string, unknown> = {};
    for (const name of [
        "setOnce",
        "region",
        "backupBucket",
        "vaultBucket",
        "isolation",
        "dropletId",
        "publicIp",
        "credentialsEpoch",
    ])
        out[name] = await resolve(run.outputs![name] as pulumi.Output<unknown>);
    return out;
}

const command = (run: ProgramRun, role: string): Registration | undefined =>
    byType(run, T.command).find((r) => r.name === `fortress-isolation-${role}`);
const trusted = (run: ProgramRun) =>
    byType(run, T.dbFirewall).map((f) =>
        (f.inputs.rules as { type: string; value: string }[]).map((r) => `${r.type}:${r.value}`),
    );
const isSecretValue = (v: unknown): v is { value: unknown } =>
    typeof v === "object" &&
    v !== null &&
    (v as Record<string, unknown>)["4dabf18193072939515e22adb298388d"] !== undefined;
const plain = (v: unknown): unknown => (isSecretValue(v) ? plain(v.value) : v);
const connectionOf = (r: Registration) => plain(r.inputs.connection) as Record<string, unknown>;
const urnOf = (run: ProgramRun, type: string, name: string) => one(run, type, name).urn;

let open: ProgramRun;
let live: Record<string, unknown>;
let isolated: ProgramRun;
let rotated: ProgramRun;
let lifted: ProgramRun;
let slackIsolated: ProgramRun;
let slackRotated: ProgramRun;
let slackLifted: ProgramRun;

beforeAll(async () => {
    open = await update({}, {});
    live = await exported(open);
    isolated = await update({ isolate: "true" }, live);
    const afterIsolate = await exported(isolated);
    // The rotation's droplet is a new one: the mock gives every droplet the same id, so the
    // record, not the id, has to tell them apart.
    rotated = await update({ isolate: "true", credentialsEpoch: "2" }, afterIsolate);
    const afterRotation = { ...(await exported(rotated)), dropletId: "515151" };
    lifted = await update({ credentialsEpoch: "2" }, afterRotation);
    if (lifted.error) throw lifted.error;
    slackIsolated = await update({ ...SLACK, isolate: "true" }, live);
    slackRotated = await update({ ...SLACK, isolate: "true", credentialsEpoch: "2" }, afterIsolate);
    slackLifted = await update({ ...SLACK, credentialsEpoch: "2" }, afterRotation);
    if (slackLifted.error) throw slackLifted.error;
});

describe("isolate on a live stack", () => {
    it("records the serving droplet as the suspect, with the epoch it was built with", async () => {
        expect(live.dropletId).toBe("424242");
        expect(live.isolation).toBeUndefined();
        expect(live.credentialsEpoch).toBe(1);
        expect((await exported(isolated)).isolation).toEqual({
            epoch: 1,
            dropletId: "424242",
            publicIp: "192.0.2.200",
        });
    });

    it("takes the droplet out of both database firewalls' trusted sources; the suspect droplet itself is untouched", () => {
        expect(trusted(open)).toEqual([["tag:income-fortress-prod-app"], ["tag:income-fortress-prod-app"]]);
        expect(trusted(isolated)).toEqual([["tag:income-fortress-prod-rebuilt"], ["tag:income-fortress-prod-rebuilt"]]);
        expect(one(isolated, T.tag, "rebuilt-tag").inputs.name).toBe("income-fortress-prod-rebuilt");
        expect(one(isolated, T.droplet).inputs).toEqual(one(open, T.droplet).inputs);
        const droplet = diffRuns(open, isolated).filter((c) => c.type === T.droplet);
        expect(droplet).toEqual([]);
    });

    it("keeps a snapshot of the suspect droplet that survives the stack, once the firewalls are closed", () => {
        const snapshot = one(isolated, SNAPSHOT);
        expect(snapshot.inputs).toEqual({ dropletId: "424242", name: "income-fortress-prod-evidence-424242" });
        expect(snapshot.retainOnDelete).toBe(true);
        expect(snapshot.ignoreChanges.sort()).toEqual(["dropletId", "name"]);
        for (const firewall of [one(isolated, T.firewall), ...byType(isolated, T.dbFirewall)])
            expect(snapshot.dependencies).toContain(firewall.urn);
    });

    it("takes the evidence over SSH at the reserved IP, then stops the app, pinned to that droplet", () => {
        const evidence = command(isolated, "evidence")!;
        const stop = command(isolated, "stop-app")!;
        const recipients = JSON.parse(loadStackConfig("prod")[`${PROJECT}:ageRecipients`]) as string[];
        expect(recipients.length).toBeGreaterThan(0);
        expect(evidence.inputs.create).toBe(evidenceScript({ dir: APP_DIR, label: "isolate-d424242", recipients }));
        expect(stop.inputs.create).toBe(composeStopScript({ dir: APP_DIR }));
        for (const step of [evidence, stop]) {
            expect(connectionOf(step)).toMatchObject({ host: "192.0.2.200", user: "deployer", port: 22 });
            expect(step.ignoreChanges.sort()).toEqual(["connection", "create"]);
        }
        expect(stop.dependencies).toContain(evidence.urn);
        for (const firewall of [one(isolated, T.firewall), ...byType(isolated, T.dbFirewall)])
            expect(evidence.dependencies).toContain(firewall.urn);
        expect(command(isolated, "resume-app")).toBeUndefined();
    });

    it("makes the droplet wait for the snapshot and the evidence, so no replacement exists before them", () => {
        const droplet = one(isolated, T.droplet);
        for (const r of [one(isolated, SNAPSHOT), command(isolated, "evidence")!, command(isolated, "stop-app")!])
            expect(droplet.dependencies).toContain(r.urn);
        expect(one(open, T.droplet).dependencies).not.toContain(urnOf(isolated, SNAPSHOT, ""));
    });
});

describe("rotation while isolated", () => {
    it("replaces the droplet with one that may reach the data again", () => {
        const changes = diffRuns(isolated, rotated);
        expect(changes.find((c) => c.type === T.droplet)).toMatchObject({ effect: "replace", inputs: ["userData"] });
        expect(one(rotated, T.droplet).inputs.tags).toEqual([
            "income-fortress-prod-app",
            "income-fortress-prod-rebuilt",
            "env:prod",
        ]);
        expect(trusted(rotated)).toEqual(trusted(isolated));
        expect(one(rotated, T.droplet).dependencies).toContain(urnOf(rotated, SNAPSHOT, ""));
    });

    it("leaves the snapshot and the evidence steps as they are: nothing runs again on the new droplet", () => {
        const changes = diffRuns(isolated, rotated);
        for (const name of ["isolation-snapshot", "isolation-evidence", "isolation-stop-app"])
            expect(
                changes.filter((c) => c.name === name),
                name,
            ).toEqual([]);
        // The new deploy key is in connection, which the engine ignores for them.
        expect(command(rotated, "evidence")!.inputs.connection).not.toEqual(
            command(isolated, "evidence")!.inputs.connection,
        );
    });

    it("refuses a rotation in the update that starts isolation, before registering anything", async () => {
        const r = await update({ isolate: "true", credentialsEpoch: "2" }, live);
        expect(r.error?.message).toMatch(
            /income-fortress:isolate: credentialsEpoch changes from 1 to 2 in the update that sets isolate true/,
        );
        expect(r.registrations.filter((x) => x.custom && x.type !== T.stackReference)).toEqual([]);
    });
});

describe("refusals", () => {
    it("refuses isolate without an age recipient: the evidence is never stored in the clear", async () => {
        const r = await update({ isolate: "true", ageRecipients: "[]" }, live);
        expect(r.error?.message).toMatch(
            /income-fortress:isolate: isolate keeps an evidence bundle encrypted to ageRecipients, which is empty/,
        );
        expect(r.registrations.filter((x) => x.custom && x.type !== T.stackReference)).toEqual([]);
    });
});

describe("lifting isolation", () => {
    it("trusts the host tag again, drops the rebuilt tag, and starts the app at the reserved IP", async () => {
        expect(trusted(lifted)).toEqual(trusted(open));
        expect(byType(lifted, T.tag).map((t) => t.inputs.name)).toEqual(["income-fortress-prod-app"]);
        expect(one(lifted, T.droplet).inputs.tags).toEqual(one(open, T.droplet).inputs.tags);
        const resume = command(lifted, "resume-app")!;
        expect(resume.inputs.create).toBe(composeUpScript({ dir: APP_DIR }));
        expect(connectionOf(resume)).toMatchObject({ host: "192.0.2.200" });
        expect(plain(connectionOf(resume).privateKey)).toBe(
            plain(connectionOf(command(rotated, "evidence")!).privateKey),
        );
        for (const firewall of [one(lifted, T.firewall), ...byType(lifted, T.dbFirewall)])
            expect(resume.dependencies).toContain(firewall.urn);
        expect(byType(lifted, SNAPSHOT)).toEqual([]);
        expect(lifted.outputs!.isolation).toBeUndefined();
    });

    it("deletes the snapshot from the stack only: retainOnDelete keeps it in DigitalOcean", () => {
        const deleted = diffRuns(rotated, lifted).filter((c) => c.effect === "delete");
        expect(deleted.map((c) => c.name).sort()).toEqual([
            "isolation-evidence",
            "isolation-snapshot",
            "isolation-stop-app",
            "rebuilt-tag",
        ]);
        expect(one(rotated, SNAPSHOT).retainOnDelete).toBe(true);
    });

    it("the next update has nothing to start", async () => {
        const after = await update({ credentialsEpoch: "2" }, { ...(await exported(lifted)), dropletId: "515151" });
        expect(after.error).toBeUndefined();
        expect(command(after, "resume-app")).toBeUndefined();
    });

    it("refuses a rotation in the update that lifts isolation", async () => {
        const r = await update({ credentialsEpoch: "3" }, { ...(await exported(rotated)) });
        expect(r.error?.message).toMatch(/credentialsEpoch changes from 2 to 3 in the update that sets isolate false/);
    });
});

describe("notifying the people", () => {
    const post = (run: ProgramRun) => byType(run, LOCAL);
    const text = (r: Registration) => (JSON.parse(String(plain(r.inputs.stdin))) as { text: string }).text;

    it("posts to the Slack webhook as isolation starts, once the firewalls are closed, naming the suspect and the people", () => {
        const [start] = post(slackIsolated);
        expect(post(slackIsolated)).toHaveLength(1);
        expect(start.name).toBe("fortress-isolation-notify-start");
        expect(text(start)).toMatch(/^income-fortress prod: security isolation STARTED \(config isolate true\)\./);
        expect(text(start)).toContain("Droplet 424242 is cut off from the data");
        expect(text(start)).toContain("Incident Commander (DevOps Lead): ");
        const env = plain(start.inputs.environment) as Record<string, unknown>;
        expect(plain(env.FORTRESS_NOTIFY_URL)).toBe(SLACK.alertSlackWebhookUrl);
        expect(isSecretValue(start.inputs.environment) || isSecretValue(env.FORTRESS_NOTIFY_URL)).toBe(true);
        expect(start.inputs.interpreter).toEqual(["/bin/bash", "-c"]);
        expect(start.ignoreChanges.sort()).toEqual(["create", "environment", "stdin"]);
        for (const firewall of [one(slackIsolated, T.firewall), ...byType(slackIsolated, T.dbFirewall)])
            expect(start.dependencies).toContain(firewall.urn);
    });

    it("does not post again on a rotation while isolated", () => {
        const changes = diffRuns(slackIsolated, slackRotated).filter((c) => c.type === LOCAL);
        expect(changes).toEqual([]);
    });

    it("posts as isolation ends, after the app is started", () => {
        const [end] = post(slackLifted);
        expect(post(slackLifted)).toHaveLength(1);
        expect(end.name).toBe("fortress-isolation-notify-end");
        expect(text(end)).toMatch(/^income-fortress prod: isolation ENDED \(config isolate false\)\./);
        expect(end.dependencies).toContain(command(slackLifted, "resume-app")!.urn);
    });

    it("posts nothing without a webhook, or without isolation", () => {
        expect(post(isolated)).toEqual([]);
        expect(post(open)).toEqual([]);
    });
});
