// One environment of the Income Fortress platform: network, host, databases, backup
// storage, DNS and a DigitalOcean project, wired together. Everything a later recovery
// step needs (the droplet, its address, database and cache connections, buckets and
// Spaces keys) is a public property.
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { composeDir } from "../cloud-init/compose-dir";
import { renderUserData, type UserDataArgs } from "../cloud-init/render";
import type { ToolkitFile } from "../cloud-init/toolkit-files";
import type { Contacts } from "../config/contacts";
import { spacesEndpoint, type DropletRegion, type SpacesRegion } from "../config/regions";
import { parseIpv4 } from "../config/rules";
import type { ProjectEnvironment, Role, Site } from "../config/schema";
import { promoteCommandLine } from "../tools/promote-replica";
import { Database, type ActivePostgres, type DatabaseArgs } from "./database";
import { Dns, type DnsArgs } from "./dns";
import { Host, type HostArgs } from "./host";
import { Isolation } from "./isolation";
import type { IsolationPlan } from "./isolation-rules";
import { Monitoring } from "./monitoring";
import type { MonitorWindow, MonitoringThresholds } from "./monitoring-rules";
import { Network, type NetworkArgs } from "./network";
import { Project, reservedIpProjectUrn } from "./project";
import { Recovery } from "./recovery";
import type { BackupChoice, RestoreMode, TlsChallenge } from "./recovery/scripts";
import { Storage, type StorageArgs } from "./storage";

/** A warm standby (config standby warm, role dr). */
export interface StandbyWarm {
    mode: "warm";
    /** False: the replica follows the primary and the services are stopped. True: promote it and serve (config failover). */
    failover: boolean;
    /** The stack whose `databaseClusterId` output the replica follows (config primaryStack). */
    primaryStack: string;
}

/**
 * The platform's arguments: the parsed config (config/schema.ts builds exactly this,
 * less the toolkit files), handed down to the components under the same names. Defaults
 * are the config keys' (config/keys.ts), resolved there; none is applied here.
 */
export interface PlatformArgs {
    /** Environment name: the stack name (`prod`, `dr`, `drill-…`), 2 to 40 lowercase letters, digits and hyphens. Used in names, tags and prefixes. */
    environment: string;
    /** `primary` owns the vault bucket; `dr` rebuilds the platform in another region and only reads the primary stack's vault (config role). */
    role: Role;
    /** Region of the droplet, VPC, databases and the stack's backup bucket: a droplet region that has Spaces (config region). */
    region: DropletRegion & SpacesRegion;
    /** Protect stateful resources (clusters, app database, database firewalls, buckets, reserved IP, DNS record) from deletion (config protect). */
    protect: boolean;
    /**
     * Rotation counter for generated credentials, 1 to 1000000 (config credentialsEpoch):
     * the app database role's password, the Spaces key, the deploy SSH keypair (its public
     * key is in user-data, so the droplet is rebuilt) and the app secret key. Bump it to
     * rotate them all in one `pulumi up`.
     */
    credentialsEpoch: number;
    /** Label of the DigitalOcean project: `Development`, `Staging` or `Production` (config projectEnvironment). */
    projectEnvironment: ProjectEnvironment;
    /** Cloud firewall and VPC. */
    network: Pick<NetworkArgs, "adminCidrs" | "isolate" | "vpcIpRange">;
    /** The droplet, and who logs in to it. */
    host: Pick<HostArgs, "size" | "image" | "backups" | "sshKeyFingerprints"> & {
        /** OpenSSH public keys authorised for the deployer user, at least one (config deployerPublicKeys); user-data adds the stack's deploy key. */
        deployerPublicKeys: string[];
    };
    /** Managed PostgreSQL and Valkey. */
    database: Pick<
        DatabaseArgs,
        "version" | "size" | "nodeCount" | "maintenanceWindow" | "name" | "user" | "valkeySize"
    >;
    /**
     * How a dr stack stands by (config standby, failover). `cold`: nothing runs until the
     * disaster; `pulumi up` builds the site and restores the latest backup. `warm`: the
     * database is a read-only replica of the primary stack's cluster (its `databaseClusterId`
     * output), with the droplet, network and cache up and the images pulled; `failover`
     * true promotes the replica and starts the services.
     */
    standby: { mode: "cold" } | StandbyWarm;
    /** The point-in-time fork the app moves to after in-region database loss (see DatabaseArgs). Undefined: none. */
    pitr?: DatabaseArgs["pitr"];
    /** Backup buckets and object prefixes. */
    storage: Pick<
        StorageArgs,
        | "backupBucket"
        | "vaultBucket"
        | "vaultRegion"
        | "ownsVault"
        | "drOffsite"
        | "retentionDays"
        | "noncurrentVersionDays"
    > & {
        /** Prefix this stack's backups are written under: `postgresql/<environment>`. */
        backupPrefix: string;
        /** Prefix a restore reads from: the stack's own (primary), or `postgresql/<primaryStack>` (dr; config primaryStack). */
        restorePrefix: string;
    };
    /** The service record this stack owns. */
    dns: Pick<DnsArgs, "domain" | "hostname" | "ttl"> & {
        /** The record's full name, `<hostname>.<domain>`; it also names the host's certificate. */
        fqdn: string;
    };
    /** Where the public record points: the DNS cutover. */
    cutover: {
        /** `primary`: this stack's reserved IP; `dr`: the `publicIp` output of `drStack`, for role primary only (config activeSite). */
        activeSite: Site;
        /** The DR stack the record follows when `activeSite` is `dr`: a stack name, or org/project/stack (config drStack). */
        drStack: string;
    };
    /** The host's backups: its timers and encryption. */
    backup: {
        /** systemd OnCalendar expression of fortress-backup (config backupSchedule). */
        schedule: string;
        /** systemd OnCalendar expression of fortress-verify (config verifySchedule). */
        verifySchedule: string;
        /** age X25519 recipients the backups are encrypted to; empty stores them unencrypted (config ageRecipients). */
        ageRecipients: string[];
        /**
         * Dead-man's-switch ping URL (secret) that fortress-heartbeat calls after each backup,
         * delivered in credentials.env over SSH; empty: no heartbeat (config backupHeartbeatUrl).
         */
        heartbeatUrl: string;
    };
    /** The application checkout. */
    app: {
        /** Git URL the host clones: https://, ssh:// or user@host:path, no credentials in it (config appRepoUrl). */
        repoUrl: string;
        /** Pinned git tag or commit (config appRef). */
        ref: string;
        /** Absolute directory on the host the application is checked out into (config appDir). */
        dir: string;
        /** Directory of the docker compose project inside the checkout, `.` for the top (config appComposeSubdir). */
        composeSubdir: string;
    };
    /** The recovery chain run on the droplet after every (re)build. */
    recovery: {
        /** if-empty, required or off; config restoreMode's auto is resolved by role (if-empty for primary, required for dr). */
        restoreMode: RestoreMode;
        /** Which backup: `{ id: "latest" }`, a backup id, or `{ before: ISO time }` (config restoreBackup). */
        restoreBackup: BackupChoice;
        /** The app's migration command, one printable line (config migrateCommand). */
        migrateCommand: string;
        /** The health gate the chain ends with. */
        health: {
            /** URL polled on the host itself until it answers 200, http(s) without credentials (config healthUrl). */
            url: string;
            /** Seconds to wait for a 200 before `pulumi up` fails, 10 to 3600 (config healthTimeoutSeconds). */
            timeoutSeconds: number;
        };
        /** Minutes a new droplet may take to accept SSH and finish cloud-init (config bootTimeoutMinutes). */
        bootTimeoutMinutes: number;
        /** age identity (secret) restores decrypt with; empty: none (config ageIdentity). */
        ageIdentity: string;
        /** Extra .env entries for the app, NAME to value (secret values; config appEnv). */
        appEnv: Record<string, string>;
        /** Let's Encrypt for the stack's record. */
        tls: {
            /** ACME account e-mail; empty: no certificate (config tlsEmail). */
            email: string;
            /** http-01 (certbot standalone on port 80) or dns-01 (TXT records through DigitalOcean DNS) (config tlsChallenge). */
            challenge: TlsChallenge;
            /** dns-01: DigitalOcean API token for certbot (secret); empty otherwise (config tlsDnsToken). */
            dnsToken: string;
            /** dns-01: more full names on the certificate, the primary's public name on a dr stack (config publicHostname); empty: none. */
            extraNames: string[];
            /** The compose service that serves the certificate (config tlsProxyService). */
            proxyService: string;
        };
    };
    /**
     * DigitalOcean monitoring: an uptime check on the public health URL and CPU, memory and
     * disk alerts on the droplets carrying the host tag.
     */
    monitoring: {
        /** Whether the monitoring resources exist at all (config monitoring). */
        enabled: boolean;
        /** Path of the public health endpoint, such as `/health` (config healthPath). */
        healthPath: string;
        /** The public URL the uptime probes fetch, `https://<fqdn><healthPath>` (not `recovery.health.url`, which the host polls itself). */
        healthUrl: string;
        /** E-mail addresses told when an alert fires, verified on the DigitalOcean team (config alertEmails). */
        emails: string[];
        /** Where Slack alerts go. Undefined: no Slack. */
        slack?: {
            /** Incoming-webhook URL on hooks.slack.com (secret; config alertSlackWebhookUrl). */
            webhookUrl: string;
            /** The channel the webhook posts to, such as `#ops-alerts` (config alertSlackChannel). */
            channel: string;
        };
        /** Percent thresholds of the droplet alerts, 1 to 100 (config alertCpuPercent, alertMemoryPercent, alertDiskPercent). */
        thresholds: Required<MonitoringThresholds>;
        /** How long a droplet metric must stay above its threshold: `5m`, `10m`, `30m` or `1h` (config alertWindow). */
        window: MonitorWindow;
    };
    /** The plan's people (config contacts): named in the breach notifications. */
    contacts: Contacts;
    /** The host toolkit files (`loadToolkitFiles()`): files, not config. */
    toolkitFiles: ToolkitFile[];
    /**
     * What this update does about isolation (components/isolation-rules.ts planIsolation, from
     * config isolate and the stack's previous outputs): not config alone, so index.ts adds it.
     */
    isolation: IsolationPlan;
}

/**
 * The DR stack's `publicIp` output, checked: the cutover must never write a record from
 * a DR stack that is not up yet (or an output that is not an address).
 */
export function drSiteAddress(ip: unknown, drStack: string): string {
    if (typeof ip !== "string" || !parseIpv4(ip).ok) {
        throw new Error(
            `the DR stack ${drStack} has no IPv4 publicIp output (got ${JSON.stringify(ip) ?? "nothing"}): run pulumi up --stack ${drStack} first, then set activeSite dr`,
        );
    }
    return ip;
}

/**
 * The primary stack's `databaseClusterId` output, checked: a warm standby cannot follow a
 * cluster it cannot name.
 */
export function primaryClusterId(id: unknown, primaryStack: string): string {
    if (typeof id !== "string" || id === "") {
        throw new Error(
            `the primary stack ${primaryStack} has no databaseClusterId output (got ${JSON.stringify(id) ?? "nothing"}): run pulumi up --stack ${primaryStack} with this version of the program first, then bring up the warm standby`,
        );
    }
    return id;
}

/**
 * The names the DR stack's certificate covers (its `certificateNames` output), checked
 * before the cutover writes the record: pointing the public name at a site that cannot
 * serve HTTPS for it would swap a dead site for a certificate error on every request.
 */
export function drSiteCovers(names: unknown, fqdn: string, drStack: string): void {
    const list = Array.isArray(names) ? names.filter((n): n is string => typeof n === "string") : undefined;
    if (list?.includes(fqdn)) return;
    const has =
        list === undefined
            ? "has no certificateNames output (a stack built before it existed, or not up yet)"
            : list.length === 0
              ? "requests no certificate"
              : `has a certificate for ${list.join(", ")} only`;
    const base = fqdn.split(".")[0];
    throw new Error(
        `the DR stack ${drStack} ${has}, so after the cutover ${fqdn} would fail TLS there: on ${drStack}, set tlsEmail, tlsChallenge dns-01, publicHostname ${base} and the secret tlsDnsToken, run pulumi up --stack ${drStack}, then set activeSite dr again`,
    );
}

/**
 * The deploy key's logical name. It carries the epoch, so a new epoch is a new key with
 * every Pulumi CLI: tls.PrivateKey has no input to carry it, and the replacementTrigger
 * option is ignored by CLIs before 3.208. Pulumi creates the new key and deletes the old one.
 */
export function deployKeyName(platform: string, epoch: number): string {
    return `${platform}-deploy-key-e${epoch}`;
}

/** The deploy key's authorized_keys line: the generated key, with a comment naming the stack and rotation. */
export function deployKeyLine(publicKeyOpenssh: string, environment: string, epoch: number): string {
    const [type, body] = publicKeyOpenssh.trim().split(/\s+/);
    if (type !== "ssh-ed25519" || !body)
        throw new Error(
            `deployKeyLine: expected an ssh-ed25519 public key, got ${JSON.stringify(publicKeyOpenssh.slice(0, 20))}`,
        );
    return `${type} ${body} income-fortress-deploy@${environment}-e${epoch}`;
}

/**
 * The renderer's input for this environment. Pure, so that index.ts can validate it
 * before any resource exists and tests can render each stack's user-data. The renderer
 * stands on its own (its tests build UserDataArgs directly), so its names are mapped here.
 * A primary stack writes its backups to its own bucket and to the vault; a dr stack
 * writes to its own bucket and to its offsite bucket in a third region (its key may only
 * read the vault, and the primary's region is the one that is lost while dr serves).
 */
export function userDataArgsFor(
    args: Omit<PlatformArgs, "isolation">,
    buckets: { backup: string; vault: string; drOffsite?: string },
    deployKeys: string[] = [],
): UserDataArgs {
    const s = args.storage;
    const offsite = s.ownsVault
        ? { endpoint: spacesEndpoint(s.vaultRegion), bucket: buckets.vault }
        : s.drOffsite
          ? { endpoint: spacesEndpoint(s.drOffsite.region), bucket: buckets.drOffsite ?? s.drOffsite.bucket }
          : { endpoint: "", bucket: "" };
    return {
        environment: args.environment,
        // The operators' keys, then the stack's generated deploy key that the recovery chain logs in with.
        deployerSshKeys: [...args.host.deployerPublicKeys, ...deployKeys],
        postgresMajorVersion: args.database.version,
        app: { ...args.app },
        backupSchedule: args.backup.schedule,
        verifySchedule: args.backup.verifySchedule,
        backup: {
            s3Endpoint: spacesEndpoint(args.region),
            bucket: buckets.backup,
            prefix: args.storage.backupPrefix,
            offsiteS3Endpoint: offsite.endpoint,
            offsiteBucket: offsite.bucket,
            ageRecipients: args.backup.ageRecipients,
        },
        toolkitFiles: args.toolkitFiles,
        ...(args.recovery.tls.email ? { tlsChallenge: args.recovery.tls.challenge } : {}),
    };
}

export class Platform extends pulumi.ComponentResource {
    readonly network: Network;
    readonly host: Host;
    readonly database: Database;
    readonly storage: Storage;
    readonly dns: Dns;
    readonly project: Project;
    /** The recovery chain: boot, secrets, database access, restore, migrate, compose, health. */
    readonly recovery: Recovery;
    /** Uptime check and droplet alerts; undefined when monitoring is off. */
    readonly monitoring?: Monitoring;
    /** The generated keypair the recovery chain logs in with; rotates with credentialsEpoch. */
    readonly deployKey: tls.PrivateKey;
    /** The cluster the app uses (the point-in-time fork when there is one, the replica on a warm standby). */
    readonly activePostgres: ActivePostgres;
    /** The tag that marks this environment's app droplets; the cloud firewall applies to it, and the database firewalls trust it unless isolated. */
    readonly hostTag: digitalocean.Tag;
    /**
     * While isolated: the tag of a droplet rebuilt with new credentials, the only one the
     * database firewalls trust then. Undefined when not isolated.
     */
    readonly rebuiltTag?: digitalocean.Tag;
    /** The breach response's snapshot, evidence and app stop (or, as isolation ends, the app's start). */
    readonly isolation: Isolation;
    /** Django SECRET_KEY for the app's .env (secret); rotates with credentialsEpoch. */
    readonly appSecretKey: pulumi.Output<string>;

    readonly environment: string;
    readonly role: PlatformArgs["role"];
    readonly region: string;
    /** The application checkout on the host (repo, pinned ref, directory, compose subdirectory). */
    readonly app: PlatformArgs["app"];
    readonly droplet: digitalocean.Droplet;
    readonly dropletId: pulumi.Output<string>;
    /** The reserved IPv4 address: what DNS points at and what recovery commands SSH to. */
    readonly publicIp: pulumi.Output<string>;
    readonly fqdn: pulumi.Output<string>;
    /** The names the host's Let's Encrypt certificate covers, own record first; empty without tlsEmail. */
    readonly certificateNames: string[];
    readonly postgresCluster?: digitalocean.DatabaseCluster;
    readonly valkeyCluster: digitalocean.DatabaseCluster;
    readonly databaseHost: pulumi.Output<string>;
    readonly databasePrivateHost: pulumi.Output<string>;
    /** App connection string over the VPC (secret). */
    readonly databaseUrl: pulumi.Output<string>;
    /** Cache connection string over the VPC (secret). */
    readonly cacheUrl: pulumi.Output<string>;
    readonly backupBucketName: pulumi.Output<string>;
    readonly vaultBucketName: pulumi.Output<string>;
    readonly backupEndpoint: string;
    readonly vaultEndpoint: string;
    readonly backupPrefix: string;
    readonly restorePrefix: string;
    /** Host Spaces key (secrets). */
    readonly spacesAccessKeyId: pulumi.Output<string>;
    readonly spacesSecretAccessKey: pulumi.Output<string>;
    /** Private half of the deploy key (secret): `ssh -i` for operators who need to log in as the chain does. */
    readonly deployPrivateKey: pulumi.Output<string>;

    constructor(name: string, args: PlatformArgs, opts?: pulumi.ComponentResourceOptions) {
        super("income-fortress:platform:Platform", name, {}, opts);
        const env = args.environment;
        const protect = args.protect;
        const labels = [`env:${env}`];
        const fqdn = args.dns.fqdn;
        const tlsArgs = args.recovery.tls;
        // Own record first: it names the certificate's lineage on the host.
        this.certificateNames = tlsArgs.email
            ? [fqdn, ...(tlsArgs.challenge === "dns-01" ? tlsArgs.extraNames : [])]
            : [];
        this.environment = env;
        this.role = args.role;
        this.region = args.region;
        this.app = { ...args.app };

        // An explicit tag resource, so the firewalls that trust it are created after it
        // exists, and so the trust survives any number of droplet replacements.
        this.hostTag = new digitalocean.Tag(
            `${name}-host-tag`,
            { name: `income-fortress-${env}-app` },
            { parent: this },
        );
        const isolation = args.isolation;
        const rebuilt = isolation.state === "isolated" && isolation.rebuilt;
        if (isolation.state === "isolated") {
            this.rebuiltTag = new digitalocean.Tag(
                `${name}-rebuilt-tag`,
                { name: `income-fortress-${env}-rebuilt` },
                { parent: this },
            );
        }

        this.network = new Network(
            `${name}-network`,
            { ...args.network, region: args.region, environment: env, hostTag: this.hostTag.name },
            { parent: this },
        );

        this.storage = new Storage(
            `${name}-storage`,
            {
                environment: env,
                region: args.region,
                backupBucket: args.storage.backupBucket,
                vaultBucket: args.storage.vaultBucket,
                vaultRegion: args.storage.vaultRegion,
                ownsVault: args.storage.ownsVault,
                ...(args.storage.drOffsite ? { drOffsite: { ...args.storage.drOffsite } } : {}),
                retentionDays: args.storage.retentionDays,
                noncurrentVersionDays: args.storage.noncurrentVersionDays,
                protect,
                credentialsEpoch: args.credentialsEpoch,
            },
            { parent: this },
        );

        // The deploy keypair. Its public key joins the deployer's keys in user-data, so a new
        // key (credentialsEpoch) rebuilds the droplet: the runbook's "rebuild from a
        // known-good state" after a breach, with the reserved IP, DNS and data unchanged.
        this.deployKey = new tls.PrivateKey(
            deployKeyName(name, args.credentialsEpoch),
            { algorithm: "ED25519" },
            {
                parent: this,
                additionalSecretOutputs: ["privateKeyOpenssh", "privateKeyPem", "privateKeyPemPkcs8"],
                // Epoch 1 is the key stacks had before the epoch was in the name.
                aliases: args.credentialsEpoch === 1 ? [{ name: `${name}-deploy-key` }] : [],
            },
        );

        // Rendered from the bucket outputs, so the droplet is created only once the
        // buckets its timers write to exist.
        const userData = pulumi
            .all([
                this.storage.backupBucketName,
                this.storage.vaultBucketName,
                this.storage.drOffsiteBucketName ?? "",
                this.deployKey.publicKeyOpenssh,
            ])
            .apply(([backup, vault, drOffsite, deployKey]) =>
                renderUserData(
                    userDataArgsFor(args, { backup, vault, ...(drOffsite ? { drOffsite } : {}) }, [
                        deployKeyLine(deployKey, env, args.credentialsEpoch),
                    ]),
                ),
            );

        // A warm standby follows the primary stack's active cluster, read from its state (the
        // backend is outside the primary's region, so the id is there when the region is not).
        const warm = args.standby.mode === "warm" ? args.standby : undefined;
        let replicaOf: DatabaseArgs["replicaOf"];
        if (warm) {
            const primary = new pulumi.StackReference(
                `${name}-primary-site`,
                { name: warm.primaryStack },
                { parent: this },
            );
            replicaOf = {
                clusterId: primary
                    .getOutput("databaseClusterId")
                    .apply((id) => primaryClusterId(id, warm.primaryStack)),
                promote: warm.failover,
            };
        }
        this.database = new Database(
            `${name}-db`,
            {
                ...args.database,
                ...(args.pitr ? { pitr: args.pitr } : {}),
                ...(replicaOf ? { replicaOf, promoteCommand: promoteCommandLine } : {}),
                region: args.region,
                environment: env,
                vpcId: this.network.vpcId,
                trustedTag: (this.rebuiltTag ?? this.hostTag).name,
                tags: labels,
                credentialsEpoch: args.credentialsEpoch,
                protect,
            },
            { parent: this },
        );
        this.activePostgres = this.database.activePostgres;

        // The breach response (config isolate): the snapshot and evidence of the suspect
        // droplet, and its app stopped, all before any replacement droplet exists.
        this.isolation = new Isolation(
            `${name}-isolation`,
            {
                environment: env,
                plan: args.isolation,
                composeDir: composeDir(args.app),
                privateKey: this.deployKey.privateKeyOpenssh,
                contacts: args.contacts,
                ageRecipients: args.backup.ageRecipients,
                ...(args.monitoring.slack ? { slackWebhookUrl: pulumi.secret(args.monitoring.slack.webhookUrl) } : {}),
                after: [
                    this.network.firewall,
                    ...(this.database.postgresFirewall ? [this.database.postgresFirewall] : []),
                    ...(this.database.replicaFirewall ? [this.database.replicaFirewall] : []),
                    this.database.valkeyFirewall,
                    ...(this.database.pitrFirewall ? [this.database.pitrFirewall] : []),
                ],
            },
            { parent: this },
        );

        this.host = new Host(
            `${name}-host`,
            {
                region: args.region,
                environment: env,
                size: args.host.size,
                image: args.host.image,
                vpcId: this.network.vpcId,
                // While isolated, only a droplet rebuilt with new credentials carries the tag the
                // database firewalls trust; the suspect droplet keeps the host tag (and so the
                // cloud firewall) but loses the data.
                tags: [this.hostTag.name, ...(this.rebuiltTag && rebuilt ? [this.rebuiltTag.name] : []), ...labels],
                sshKeyFingerprints: args.host.sshKeyFingerprints,
                backups: args.host.backups,
                userData,
                protect,
                after: this.isolation.beforeReplacement,
            },
            { parent: this },
        );

        // The DNS cutover: with activeSite dr, the record this stack owns follows the DR
        // stack's reserved IP. The record stays this stack's; the DR stack never writes it.
        let recordIp: pulumi.Input<string> = this.host.publicIp;
        if (args.cutover.activeSite === "dr") {
            if (args.role !== "primary")
                throw new Error(
                    `Platform ${name}: activeSite dr is for the primary stack, which owns the public record`,
                );
            const drStack = args.cutover.drStack;
            const dr = new pulumi.StackReference(`${name}-dr-site`, { name: drStack }, { parent: this });
            const managesTls = this.certificateNames.length > 0;
            recordIp = pulumi.all([dr.getOutput("publicIp"), dr.getOutput("certificateNames")]).apply(([ip, names]) => {
                const address = drSiteAddress(ip, drStack);
                // A stack that leaves TLS to the app (no tlsEmail) has nothing to compare.
                if (managesTls) drSiteCovers(names, fqdn, drStack);
                return address;
            });
        }
        this.dns = new Dns(
            `${name}-dns`,
            { domain: args.dns.domain, hostname: args.dns.hostname, ttl: args.dns.ttl, ipAddress: recordIp, protect },
            { parent: this },
        );

        this.project = new Project(
            `${name}-project`,
            {
                environment: env,
                projectEnvironment: args.projectEnvironment,
                resources: [
                    this.host.droplet.dropletUrn,
                    this.host.reservedIp.ipAddress.apply(reservedIpProjectUrn),
                    // A replica is not a cluster the Projects API lists until it is promoted.
                    ...(this.database.postgres ? [this.database.postgres.clusterUrn] : []),
                    this.database.valkey.clusterUrn,
                    ...(this.database.pitrFork ? [this.database.pitrFork.clusterUrn] : []),
                    this.storage.backupBucket.bucketUrn,
                    ...(this.storage.vaultBucket ? [this.storage.vaultBucket.bucketUrn] : []),
                    ...(this.storage.drOffsiteBucket ? [this.storage.drOffsiteBucket.bucketUrn] : []),
                ],
            },
            { parent: this },
        );

        const secretKey = new random.RandomPassword(
            `${name}-app-secret-key`,
            { length: 64, special: false, keepers: { credentialsEpoch: String(args.credentialsEpoch) } },
            { parent: this },
        );
        this.appSecretKey = pulumi.secret(secretKey.result);

        // A primary stack restores from the buckets in its own backup.env (its bucket,
        // then the vault); a dr stack reads the primary stack's prefix in the vault.
        const restoreSource = !args.storage.ownsVault
            ? {
                  endpoint: this.storage.vaultEndpoint,
                  bucket: args.storage.vaultBucket,
                  prefix: args.storage.restorePrefix,
              }
            : undefined;
        this.recovery = new Recovery(
            `${name}-recovery`,
            {
                connection: { host: this.host.publicIp, privateKey: this.deployKey.privateKeyOpenssh },
                dropletId: this.host.dropletId,
                // The reserved IP leads to this droplet only once it is assigned.
                bootDependsOn: [this.host.droplet, this.host.ipAssignment],
                bootTimeoutMinutes: args.recovery.bootTimeoutMinutes,
                app: {
                    dir: args.app.dir,
                    composeSubdir: args.app.composeSubdir,
                    ref: args.app.ref,
                    secretKey: this.appSecretKey,
                    cacheUrl: this.database.cacheUrl,
                },
                migrateCommand: args.recovery.migrateCommand,
                appEnv: pulumi.secret(args.recovery.appEnv),
                credentials: {
                    databaseUrl: this.database.databaseUrl,
                    spacesAccessKeyId: this.storage.accessKeyId,
                    spacesSecretAccessKey: this.storage.secretAccessKey,
                    ...(args.backup.heartbeatUrl
                        ? { backupHeartbeatUrl: pulumi.secret(args.backup.heartbeatUrl) }
                        : {}),
                },
                ...(args.recovery.ageIdentity ? { ageIdentity: pulumi.secret(args.recovery.ageIdentity) } : {}),
                database: {
                    clusterId: this.database.activePostgres.id,
                    name: args.database.name,
                    user: args.database.user,
                    password: this.database.appPassword,
                    admin: this.database.admin,
                    ready: this.database.ready,
                },
                restoreMode: args.recovery.restoreMode,
                restoreBackup: args.recovery.restoreBackup,
                ...(warm ? { warm: { serving: warm.failover } } : {}),
                ...(restoreSource ? { restoreSource } : {}),
                health: { url: args.recovery.health.url, timeoutSeconds: args.recovery.health.timeoutSeconds },
                ...(this.certificateNames.length > 0
                    ? {
                          tls: {
                              fqdn,
                              address: this.host.publicIp,
                              email: tlsArgs.email,
                              proxyService: tlsArgs.proxyService,
                              challenge: tlsArgs.challenge,
                              ...(tlsArgs.challenge === "dns-01"
                                  ? {
                                        extraNames: this.certificateNames.slice(1),
                                        dnsToken: pulumi.secret(tlsArgs.dnsToken),
                                    }
                                  : // http-01 needs Let's Encrypt to reach this host behind the name.
                                    {
                                        skip: args.network.isolate
                                            ? ("isolated" as const)
                                            : args.cutover.activeSite === "dr"
                                              ? ("served-by-dr" as const)
                                              : undefined,
                                    }),
                              dependsOn: [this.dns.record],
                          },
                      }
                    : {}),
            },
            { parent: this },
        );

        // A warm standby that does not serve would fail its uptime check all day; it is watched from failover on.
        const healthGate = this.recovery.steps.health;
        if (args.monitoring.enabled && healthGate) {
            const m = args.monitoring;
            // The checks start once the health gate has passed for the first time, so a
            // first deploy (or a drill) does not page anyone while the droplet boots and
            // restores. dependsOn on a component is not passed on to its children, but a
            // transformation is: it adds the dependency to every resource inside.
            const afterHealthGate: pulumi.ResourceTransformation = (t) => ({
                props: t.props,
                opts: pulumi.mergeOptions(t.opts, { dependsOn: [healthGate] }),
            });
            this.monitoring = new Monitoring(
                `${name}-monitoring`,
                {
                    environment: env,
                    // The tag, not the droplet id: a replacement droplet is watched with no change here.
                    dropletTags: [this.hostTag.name],
                    healthUrl: m.healthUrl,
                    thresholds: { ...m.thresholds },
                    window: m.window,
                    notifications: {
                        emails: [...m.emails],
                        ...(m.slack
                            ? { slack: { webhookUrl: pulumi.secret(m.slack.webhookUrl), channel: m.slack.channel } }
                            : {}),
                    },
                },
                { parent: this, transformations: [afterHealthGate] },
            );
        }

        this.droplet = this.host.droplet;
        this.dropletId = this.host.dropletId;
        this.publicIp = this.host.publicIp;
        this.fqdn = this.dns.fqdn;
        this.postgresCluster = this.database.postgres;
        this.deployPrivateKey = pulumi.secret(this.deployKey.privateKeyOpenssh);
        this.valkeyCluster = this.database.valkey;
        this.databaseHost = this.database.host;
        this.databasePrivateHost = this.database.privateHost;
        this.databaseUrl = this.database.databaseUrl;
        this.cacheUrl = this.database.cacheUrl;
        this.backupBucketName = this.storage.backupBucketName;
        this.vaultBucketName = this.storage.vaultBucketName;
        this.backupEndpoint = this.storage.backupEndpoint;
        this.vaultEndpoint = this.storage.vaultEndpoint;
        this.backupPrefix = args.storage.backupPrefix;
        this.restorePrefix = args.storage.restorePrefix;
        this.spacesAccessKeyId = this.storage.accessKeyId;
        this.spacesSecretAccessKey = this.storage.secretAccessKey;

        this.registerOutputs({
            publicIp: this.publicIp,
            fqdn: this.fqdn,
            certificateNames: this.certificateNames,
            dropletId: this.dropletId,
            databaseHost: this.databaseHost,
            backupBucketName: this.backupBucketName,
            vaultBucketName: this.vaultBucketName,
            databaseUrl: this.databaseUrl,
            cacheUrl: this.cacheUrl,
            spacesAccessKeyId: this.spacesAccessKeyId,
            spacesSecretAccessKey: this.spacesSecretAccessKey,
            appSecretKey: this.appSecretKey,
        });
    }
}
