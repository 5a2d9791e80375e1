// The breach response's own resources (config isolate), as the runbook orders it: the
// firewalls close first (Network: inbound 80/443; Database: the suspect droplet leaves the
// trusted sources), then the evidence is kept, then the app is stopped. The plan comes
// from components/isolation-rules.ts.
//
// The evidence must survive the rotation that follows (credentialsEpoch replaces the
// droplet). Three things guarantee it with the Pulumi engine:
// - Every resource here is pinned to the suspect droplet of the isolation record, a plain
//   value read from the previous outputs, never to the droplet resource. So nothing here
//   depends on the droplet, and the droplet can depend on all of it: Platform passes
//   `beforeReplacement` to Host as the droplet's dependsOn, so a replacement droplet is only
//   created once the snapshot and the evidence bundle exist (the old droplet is deleted
//   after its replacement exists, later still).
// - ignoreChanges keeps them from running again: a rotation changes the deploy key in
//   `connection`, and pulumi-command runs `create` again on any input change when no
//   `update` is set (components/provider-facts.ts); that would run against the new droplet.
// - The snapshot has retainOnDelete: lifting isolation removes it from the stack, not from
//   DigitalOcean. A droplet's snapshot survives the droplet
//   (https://github.com/digitalocean/terraform-provider-digitalocean/blob/main/digitalocean/snapshot/resource_droplet_snapshot.go).
// The rotation in the same update that starts isolation is refused (planIsolation): its new
// deploy key could not log in to the suspect droplet to take the evidence.
import * as command from "@pulumi/command";
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import { DEPLOYER_USER, evidencePrefix } from "../cloud-init/host";
import type { Contacts } from "../config/contacts";
import { type IsolationPlan, isolationMessage, NOTIFY_COMMAND, slackPayload } from "./isolation-rules";
import { composeStopScript, composeUpScript, evidenceScript } from "./recovery/scripts";

export interface IsolationArgs {
    /** Environment name (`prod`, `dr`, `drill-…`), in the snapshot's name. */
    environment: string;
    /** What this update does about isolation (planIsolation): decides which resources exist. */
    plan: IsolationPlan;
    /** Absolute folder of the app's docker compose project on the host (config appDir, appComposeSubdir). */
    composeDir: string;
    /** OpenSSH private key of the current deploy keypair (secret); the steps log in as `deployer`. */
    privateKey: pulumi.Input<string>;
    /** What changes first: the cloud firewall and the database firewalls. */
    after: pulumi.Input<pulumi.Resource>[];
    /** age recipients the evidence is encrypted to (config ageRecipients); the program refuses isolate without one. */
    ageRecipients: string[];
    /** The plan's people (config contacts), named in the notifications. */
    contacts: Contacts;
    /**
     * Slack incoming-webhook URL (secret; config alertSlackWebhookUrl) told when isolation
     * starts and ends. Undefined: only the `pulumi up` log says so.
     */
    slackWebhookUrl?: pulumi.Input<string>;
}

export class Isolation extends pulumi.ComponentResource {
    /** A snapshot of the suspect droplet, while isolated and there is one. */
    readonly snapshot?: digitalocean.DropletSnapshot;
    /** fortress-evidence on the suspect droplet. */
    readonly evidence?: command.remote.Command;
    /** docker compose stop on the suspect droplet, after the evidence. */
    readonly stopApp?: command.remote.Command;
    /** docker compose up -d at the reserved IP, in the update that lifts isolation. */
    readonly resumeApp?: command.remote.Command;
    /** The Slack post as isolation starts (kept while isolated) or ends (in the update that lifts it). */
    readonly notify?: command.local.Command;
    /** What a replacement droplet must wait for: empty unless isolated. */
    readonly beforeReplacement: pulumi.Resource[];

    constructor(name: string, args: IsolationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("income-fortress:isolation:Isolation", name, {}, opts);
        const plan = args.plan;
        const step = (role: string, host: string, create: string, o: pulumi.CustomResourceOptions) =>
            new command.remote.Command(
                `${name}-${role}`,
                {
                    connection: { host, port: 22, user: DEPLOYER_USER, privateKey: pulumi.secret(args.privateKey) },
                    create,
                    addPreviousOutputInEnv: false,
                },
                { parent: this, additionalSecretOutputs: ["connection"], ...o },
            );

        if (plan.state === "isolated" && plan.record.dropletId !== "") {
            const { dropletId, publicIp } = plan.record;
            // Needs no SSH: kept even when the host no longer lets anyone in.
            this.snapshot = new digitalocean.DropletSnapshot(
                `${name}-snapshot`,
                { dropletId, name: `income-fortress-${args.environment}-evidence-${dropletId}` },
                { parent: this, dependsOn: args.after, retainOnDelete: true, ignoreChanges: ["dropletId", "name"] },
            );
            const pinned = ["connection", "create"];
            if (publicIp !== "") {
                this.evidence = step(
                    "evidence",
                    publicIp,
                    evidenceScript({
                        dir: args.composeDir,
                        label: `isolate-d${dropletId}`,
                        recipients: args.ageRecipients,
                    }),
                    { dependsOn: args.after, ignoreChanges: pinned, customTimeouts: { create: "30m" } },
                );
                this.stopApp = step("stop-app", publicIp, composeStopScript({ dir: args.composeDir }), {
                    dependsOn: [this.evidence],
                    ignoreChanges: pinned,
                    customTimeouts: { create: "10m" },
                });
            } else {
                pulumi.log.warn(
                    `isolate: the address of droplet ${dropletId} is not in this stack's previous outputs, so no evidence bundle is taken and the app is not stopped; only the snapshot is kept. Run sudo fortress-evidence and docker compose stop on the host by hand`,
                    this,
                );
            }
        }
        if (plan.state === "lifting" && plan.publicIp !== "") {
            // Starts what stop-app stopped; on a droplet rebuilt while isolated the app already runs.
            this.resumeApp = step("resume-app", plan.publicIp, composeUpScript({ dir: args.composeDir }), {
                dependsOn: args.after,
                customTimeouts: { create: "60m" },
            });
        }
        // Tell the people. DigitalOcean has no API that sends a message (its alert policies
        // only mail about metrics), so the post comes from the machine running pulumi up.
        const message = isolationMessage(plan, args.environment, args.contacts, evidencePrefix(args.environment));
        const announce =
            message !== undefined && (plan.state === "lifting" || (plan.state === "isolated" && plan.starting));
        if (announce) pulumi.log.warn(message, this);
        // The start post exists for as long as isolation lasts (created, so posted, once); the
        // end post exists in the update that lifts it.
        if (message !== undefined && args.slackWebhookUrl !== undefined) {
            this.notify = new command.local.Command(
                `${name}-notify-${plan.state === "lifting" ? "end" : "start"}`,
                {
                    create: NOTIFY_COMMAND,
                    interpreter: ["/bin/bash", "-c"],
                    stdin: slackPayload(message),
                    environment: { FORTRESS_NOTIFY_URL: pulumi.secret(args.slackWebhookUrl) },
                    addPreviousOutputInEnv: false,
                },
                {
                    parent: this,
                    dependsOn: [...args.after, ...(this.resumeApp ? [this.resumeApp] : [])],
                    additionalSecretOutputs: ["environment"],
                    // Posted once: a later update while isolated (a rotation, new contacts) does not post again.
                    ignoreChanges: ["create", "stdin", "environment"],
                },
            );
        }
        this.beforeReplacement = [
            ...(this.snapshot ? [this.snapshot] : []),
            ...(this.evidence ? [this.evidence] : []),
            ...(this.stopApp ? [this.stopApp] : []),
        ];
        this.registerOutputs({ snapshotId: this.snapshot?.id });
    }
}
