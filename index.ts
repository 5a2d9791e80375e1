// The Income Fortress program. This file is the only reader of Pulumi config: it reads
// the raw values, validates all of them at once (config/), compares the set-once keys
// with the values this stack recorded on its last update, and only then builds the
// platform. Bad config, or a refused change, stops the run before a single resource is
// registered. The program is one async function (Pulumi awaits an exported function and
// takes its result as the stack outputs), so a refusal found after the read of the
// previous outputs is reported once, as the run's error.
import * as pulumi from "@pulumi/pulumi";
import { validateUserDataArgs } from "./cloud-init/render";
import { loadToolkitFiles } from "./cloud-init/toolkit-files";
import {
    PROJECT,
    SCHEMA_KEYS,
    collectRawConfig,
    formatProblems,
    parseConfig,
    plaintextSecretProblems,
    projectKeys,
} from "./config";
import { SET_ONCE_OUTPUT, previousRecord, setOnceChanges, setOnceValues, setOnceVerdict } from "./config/set-once";
import {
    ISOLATION_OUTPUT,
    evidenceRecipientsProblem,
    isolationOutput,
    planIsolation,
} from "./components/isolation-rules";
import { Platform, userDataArgsFor, type PlatformArgs } from "./components/platform";

/**
 * This stack's own outputs from its last update (a StackReference to itself reads what the
 * backend holds, which an update in progress has not replaced yet). Empty for a new stack.
 */
async function previousOutputs(stack: string): Promise<Record<string, unknown>> {
    // The engine always passes the organization; only a mock without one lacks it.
    let organization = "organization";
    try {
        organization = pulumi.getOrganization();
    } catch {}
    const self = new pulumi.StackReference(`${PROJECT}-previous-outputs`, {
        name: `${organization}/${pulumi.getProject()}/${stack}`,
    });
    const names = [
        SET_ONCE_OUTPUT,
        "region",
        "backupBucket",
        "vaultBucket",
        ISOLATION_OUTPUT,
        "dropletId",
        "publicIp",
        "credentialsEpoch",
    ];
    const details = await Promise.all(names.map((n) => self.getOutputDetails(n)));
    return Object.fromEntries(names.map((n, i) => [n, details[i].value]));
}

/** Runs the program; the object it returns is the stack's outputs. */
async function main() {
    const stack = pulumi.getStack();
    const config = new pulumi.Config(PROJECT);

    // Every key the schema knows, plus every key the stack sets, so a typo'd key is
    // reported instead of silently ignored.
    const setKeys = projectKeys(Object.keys(pulumi.runtime.allConfig()));
    const raw = collectRawConfig([...SCHEMA_KEYS, ...setKeys], (key) => config.get(key));
    const parsed = parseConfig(raw, stack);
    // A credential set without --secret sits in plain text in Pulumi.<stack>.yaml. Pulumi.yaml
    // cannot demand --secret for keys with a default (config/project-file.ts), so the program
    // does. isConfigSecret is what Config itself consults (@internal in the SDK's typings).
    const isConfigSecret = (pulumi.runtime as unknown as { isConfigSecret: (key: string) => boolean }).isConfigSecret;
    const problems = [
        ...plaintextSecretProblems(setKeys, isConfigSecret, stack),
        ...(parsed.ok ? [] : parsed.problems),
    ];
    if (!parsed.ok || problems.length > 0) {
        // RunError prints the message alone, without a stack trace of this file.
        throw new pulumi.RunError(formatProblems(stack, problems));
    }
    const cfg = parsed.config;
    // The parsed config is the platform's arguments; the toolkit's files are added, and
    // the isolation plan once the previous outputs are read.
    const { primaryRegion: _primaryRegion, allowReplace, ...platformConfig } = cfg;
    const args: Omit<PlatformArgs, "isolation"> = { ...platformConfig, toolkitFiles: loadToolkitFiles() };

    // The renderer checks its own input too, but inside an apply, when resources already
    // exist; checking here keeps "nothing is created from bad input" true.
    const userDataProblems = validateUserDataArgs(
        userDataArgsFor(args, { backup: cfg.storage.backupBucket, vault: cfg.storage.vaultBucket }),
    );
    if (userDataProblems.length > 0) {
        throw new pulumi.RunError(
            [
                `The host user-data for stack "${stack}" cannot be rendered; nothing was created or changed:`,
                ...userDataProblems.map((p) => `  - ${p}`),
            ].join("\n"),
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
            `monitoring checks ${cfg.monitoring.healthUrl}, but tlsEmail is not set, so this stack requests no certificate: ` +
                `unless the app serves its own, the uptime check fails and pages. Set it with: pulumi config set tlsEmail ops@incomefortress.com`,
        );
    }
    if (cfg.backup.heartbeatUrl === "") {
        pulumi.log.warn(
            `backupHeartbeatUrl is not set, so nobody is told when backups stop or the weekly restore test fails (DigitalOcean has no dead-man's switch). ` +
                `Create a check at a heartbeat service whose period is the backup schedule (${cfg.backup.schedule}) plus one more period of grace, then set: pulumi config set --secret backupHeartbeatUrl https://hc-ping.com/<uuid>`,
        );
    }

    const previous = await previousOutputs(stack);
    const changes = setOnceChanges(previousRecord(previous, cfg.role), cfg);
    const verdict = setOnceVerdict(changes, allowReplace, cfg.protect);
    if (verdict.problems.length > 0) {
        throw new pulumi.RunError(
            formatProblems(
                stack,
                verdict.problems.map((p) => ({ key: `${PROJECT}:${p.key}`, message: p.message })),
            ),
        );
    }
    for (const c of changes) {
        pulumi.log.warn(
            `allowReplace: ${c.key} changes from ${JSON.stringify(c.from)} to ${JSON.stringify(c.to)}. ${c.consequence}.`,
        );
    }
    if (verdict.unusedAllows.length > 0) {
        pulumi.log.warn(
            `allowReplace lists ${verdict.unusedAllows.join(", ")}, which did not change: remove it (pulumi config rm allowReplace) so that a later change is refused again.`,
        );
    }

    const isolation = planIsolation(cfg.network.isolate, cfg.credentialsEpoch, previous);
    const isolationProblem = isolation.ok
        ? evidenceRecipientsProblem(cfg.network.isolate, cfg.backup.ageRecipients)
        : isolation.problem;
    if (!isolation.ok || isolationProblem !== undefined) {
        throw new pulumi.RunError(
            formatProblems(stack, [{ key: `${PROJECT}:isolate`, message: String(isolationProblem) }]),
        );
    }

    const platform = new Platform("fortress", { ...args, isolation: isolation.plan });
    const isolationRecord = isolationOutput(isolation.plan);
    return {
        environment: cfg.environment,
        region: cfg.region,
        publicIp: platform.publicIp,
        hostname: platform.fqdn,
        /** What the host's certificate covers; prod's cutover checks that dr's covers the public name. */
        certificateNames: platform.certificateNames,
        dropletId: platform.dropletId,
        backupBucket: platform.backupBucketName,
        backupEndpoint: platform.backupEndpoint,
        vaultBucket: platform.vaultBucketName,
        vaultEndpoint: platform.vaultEndpoint,
        restorePrefix: platform.restorePrefix,
        databaseHost: platform.databaseHost,
        databasePrivateHost: platform.databasePrivateHost,
        // The cluster the app uses (the point-in-time fork once there is one): the name to give
        // pitrSourceCluster for a fork.
        databaseClusterName: platform.activePostgres.name,
        // Its id: what a warm standby's replica follows (standby warm on the dr stack).
        databaseClusterId: platform.activePostgres.id,
        // Where the public record points (the DNS cutover), and the health gate's last report.
        activeSite: cfg.cutover.activeSite,
        recoveryReport: platform.recovery.healthReport,
        // The set-once values (config/set-once.ts) the next update compares its config with; the
        // VPC's range is the one DigitalOcean chose when vpcIpRange is unset.
        // The next update compares its epoch with this one, and reads the isolation in
        // progress (the suspect droplet) from the record (components/isolation-rules.ts).
        credentialsEpoch: cfg.credentialsEpoch,
        ...(isolationRecord ? { [ISOLATION_OUTPUT]: isolationRecord } : {}),
        [SET_ONCE_OUTPUT]: platform.network.vpc.ipRange.apply((range) => setOnceValues(cfg, range)),
        // Connection strings and keys are secrets: encrypted in state, masked in output.
        databaseUrl: pulumi.secret(platform.databaseUrl),
        cacheUrl: pulumi.secret(platform.cacheUrl),
        spacesAccessKeyId: pulumi.secret(platform.spacesAccessKeyId),
        spacesSecretAccessKey: pulumi.secret(platform.spacesSecretAccessKey),
        appSecretKey: pulumi.secret(platform.appSecretKey),
        // The deploy key the recovery chain logs in with (pulumi stack output --show-secrets deployPrivateKey).
        deployPrivateKey: pulumi.secret(platform.deployPrivateKey),
    };
}

export = main;
