// The Income Fortress program. This file is the only reader of Pulumi config: it reads
// the raw values, validates all of them at once (config/), and only then builds the
// platform. Bad config stops the run before a single resource is registered.
import * as pulumi from "@pulumi/pulumi";
import { validateUserDataArgs } from "./cloud-init/render";
import { loadToolkitFiles } from "./cloud-init/toolkit-files";
import { PROJECT, SCHEMA_KEYS, collectRawConfig, formatProblems, parseConfig, projectKeys, toPlatformArgs } from "./config";
import { Platform, userDataArgsFor } from "./components/platform";

const stack = pulumi.getStack();
const config = new pulumi.Config(PROJECT);

// Every key the schema knows, plus every key the stack sets, so a typo'd key is
// reported instead of silently ignored.
const raw = collectRawConfig([...SCHEMA_KEYS, ...projectKeys(Object.keys(pulumi.runtime.allConfig()))], (key) => config.get(key));
const parsed = parseConfig(raw, stack);
if (!parsed.ok) {
    // RunError prints the message alone, without a stack trace of this file.
    throw new pulumi.RunError(formatProblems(stack, parsed.problems));
}
const cfg = parsed.config;
const args = toPlatformArgs(cfg, loadToolkitFiles());

// The renderer checks its own input too, but inside an apply, when resources already
// exist; checking here keeps "nothing is created from bad input" true.
const userDataProblems = validateUserDataArgs(
    userDataArgsFor(args, { backup: cfg.storage.backupBucket, vault: cfg.storage.vaultBucket }),
);
if (userDataProblems.length > 0) {
    throw new pulumi.RunError(
        [`The host user-data for stack "${stack}" cannot be rendered; nothing was created or changed:`, ...userDataProblems.map((p) => `  - ${p}`)].join("\n"),
    );
}

if (cfg.backup.ageRecipients.length > 0 && cfg.recovery.ageIdentity === "") {
    pulumi.log.warn(
        `ageRecipients encrypts the backups, but ageIdentity is not set: the host cannot decrypt them, so restores and fortress-verify fail. ` +
            `Set it with: pulumi config set --secret ageIdentity "$(grep AGE-SECRET-KEY key.txt)"`,
    );
}

if (cfg.monitoring.enabled && cfg.recovery.tls.email === "") {
    pulumi.log.warn(
        `monitoring checks https://${cfg.dns.fqdn}${cfg.monitoring.healthPath}, but tlsEmail is not set, so this stack requests no certificate: ` +
            `unless the app serves its own, the uptime check fails and pages. Set it with: pulumi config set tlsEmail ops@incomefortress.com`,
    );
}
if (cfg.backup.heartbeatUrl === "") {
    pulumi.log.warn(
        `backupHeartbeatUrl is not set, so nobody is told when backups stop (DigitalOcean has no dead-man's switch). ` +
            `Create a check at a heartbeat service whose period is the backup schedule (${cfg.backup.schedule}) plus one more period of grace, then set: pulumi config set --secret backupHeartbeatUrl https://hc-ping.com/<uuid>`,
    );
}

const platform = new Platform("fortress", args);

export const environment = cfg.stack;
export const region = cfg.region;
export const publicIp = platform.publicIp;
export const hostname = platform.fqdn;
/** What the host's certificate covers; prod's cutover checks that dr's covers the public name. */
export const certificateNames = platform.certificateNames;
export const dropletId = platform.dropletId;
export const backupBucket = platform.backupBucketName;
export const backupEndpoint = platform.backupEndpoint;
export const vaultBucket = platform.vaultBucketName;
export const vaultEndpoint = platform.vaultEndpoint;
export const restorePrefix = platform.restorePrefix;
export const databaseHost = platform.databaseHost;
export const databasePrivateHost = platform.databasePrivateHost;
// The cluster the app uses (the point-in-time fork once there is one): the name to give
// pitrSourceCluster for a fork.
export const databaseClusterName = platform.activePostgresCluster.name;
// Where the public record points (the DNS cutover), and the health gate's last report.
export const activeSite = cfg.cutover.activeSite;
export const recoveryReport = platform.recovery.healthReport;
// Connection strings and keys are secrets: encrypted in state, masked in output.
export const databaseUrl = pulumi.secret(platform.databaseUrl);
export const cacheUrl = pulumi.secret(platform.cacheUrl);
export const spacesAccessKeyId = pulumi.secret(platform.spacesAccessKeyId);
export const spacesSecretAccessKey = pulumi.secret(platform.spacesSecretAccessKey);
export const appSecretKey = pulumi.secret(platform.appSecretKey);
// The deploy key the recovery chain logs in with (pulumi stack output --show-secrets deployPrivateKey).
export const deployPrivateKey = pulumi.secret(platform.deployPrivateKey);
