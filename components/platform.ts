// One environment of the Income Fortress platform: network, host, databases, backup
// storage, DNS and a DigitalOcean project, wired together. Everything a later recovery
// step needs (the droplet, its address, database and cache connections, buckets and
// Spaces keys) is a public property.
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { renderUserData, type UserDataArgs } from "../cloud-init/render";
import type { ToolkitFile } from "../cloud-init/toolkit-files";
import { spacesEndpoint } from "../config/regions";
import { Database } from "./database";
import { Dns } from "./dns";
import { Host } from "./host";
import { Network } from "./network";
import { Project } from "./project";
import { Storage } from "./storage";

export interface PlatformArgs {
    /** Environment name (the stack name): `prod`, `dr`, `drill-…`. Used in names, tags and prefixes. */
    environment: string;
    /** `primary` owns the vault bucket; `dr` only reads the primary stack's vault. */
    role: "primary" | "dr";
    /** Region of the droplet, VPC, databases and the stack's backup bucket. Must have Spaces. */
    region: string;
    /** Protect stateful resources (clusters, app database, database firewalls, buckets, reserved IP, DNS record). */
    protect: boolean;
    /** Rotation counter for generated credentials (Spaces key, app secret key). Bump to rotate. */
    credentialsEpoch: number;
    /** DigitalOcean project environment label: `Development`, `Staging` or `Production`. */
    projectLabel: string;
    /** Cloud firewall and VPC. */
    network: {
        /** CIDRs allowed to reach SSH. */
        adminCidrs: string[];
        /** Close inbound 80/443 (breach response). */
        isolate: boolean;
        /** VPC range; undefined lets DigitalOcean choose. */
        vpcIpRange?: string;
    };
    /** The droplet. */
    host: {
        /** Size slug, e.g. `s-4vcpu-8gb`. */
        size: string;
        /** Image slug, e.g. `ubuntu-24-04-x64`. */
        image: string;
        /** DigitalOcean droplet backups. */
        backups: boolean;
        /** Fingerprints or ids of SSH keys in the DigitalOcean account. */
        sshKeys: string[];
    };
    /** Managed PostgreSQL and Valkey. */
    database: {
        /** PostgreSQL major, e.g. `17`. */
        version: string;
        /** PostgreSQL node size slug. */
        size: string;
        /** PostgreSQL node count. */
        nodeCount: number;
        /** Weekly maintenance window. */
        maintenanceWindow: { day: string; hour: string };
        /** Application database name. */
        name: string;
        /** Application user name. */
        user: string;
        /** Valkey node size slug. */
        valkeySize: string;
    };
    /** Backup buckets. */
    storage: {
        /** Name of the stack's backup bucket (in `region`). */
        backupBucket: string;
        /** Name of the offsite vault bucket. */
        vaultBucket: string;
        /** Spaces region of the vault. */
        vaultRegion: string;
        /** Days a backup lives. */
        retentionDays: number;
        /** Days a noncurrent object version lives. */
        noncurrentVersionDays: number;
        /** Prefix this stack's backups are written under, e.g. `postgresql/prod`. */
        backupPrefix: string;
        /** Prefix a restore reads from (own for primary, the primary stack's for dr). */
        restorePrefix: string;
    };
    /** The service record. */
    dns: {
        /** DNS zone in DigitalOcean DNS. */
        domain: string;
        /** Record name this stack owns. */
        hostname: string;
        /** TTL in seconds (>= 30). */
        ttl: number;
    };
    /** What cloud-init sets up on the host (no secrets). */
    bootstrap: {
        /** OpenSSH public keys for the deployer user. */
        deployerPublicKeys: string[];
        /** The application checkout. */
        app: { repoUrl: string; ref: string; dir: string; composeSubdir: string };
        /** OnCalendar of fortress-backup. */
        backupSchedule: string;
        /** OnCalendar of fortress-verify. */
        verifySchedule: string;
        /** age recipients backups are encrypted to; empty means unencrypted. */
        ageRecipients: string[];
        /** The host toolkit files (`loadToolkitFiles()`). */
        toolkitFiles: ToolkitFile[];
    };
}

/**
 * The renderer's input for this environment. Pure, so that index.ts can validate it
 * before any resource exists and tests can render each stack's user-data.
 * A primary stack writes its backups to its own bucket and to the vault; a dr stack
 * writes only to its own bucket (its key may only read the vault).
 */
export function userDataArgsFor(args: PlatformArgs, buckets: { backup: string; vault: string }): UserDataArgs {
    const offsite = args.role === "primary";
    return {
        environment: args.environment,
        deployerSshKeys: args.bootstrap.deployerPublicKeys,
        postgresMajorVersion: args.database.version,
        app: { ...args.bootstrap.app },
        backupSchedule: args.bootstrap.backupSchedule,
        verifySchedule: args.bootstrap.verifySchedule,
        backup: {
            s3Endpoint: spacesEndpoint(args.region),
            bucket: buckets.backup,
            prefix: args.storage.backupPrefix,
            offsiteS3Endpoint: offsite ? spacesEndpoint(args.storage.vaultRegion) : "",
            offsiteBucket: offsite ? buckets.vault : "",
            ageRecipients: args.bootstrap.ageRecipients,
        },
        toolkitFiles: args.bootstrap.toolkitFiles,
    };
}

export class Platform extends pulumi.ComponentResource {
    readonly network: Network;
    readonly host: Host;
    readonly database: Database;
    readonly storage: Storage;
    readonly dns: Dns;
    readonly project: Project;
    /** The tag that marks this environment's app droplets; both database firewalls trust it. */
    readonly hostTag: digitalocean.Tag;
    /** Django SECRET_KEY for the app's .env (secret); rotates with credentialsEpoch. */
    readonly appSecretKey: pulumi.Output<string>;

    readonly environment: string;
    readonly role: PlatformArgs["role"];
    readonly region: string;
    /** The application checkout on the host (repo, pinned ref, directory, compose subdirectory). */
    readonly app: PlatformArgs["bootstrap"]["app"];
    readonly droplet: digitalocean.Droplet;
    readonly dropletId: pulumi.Output<string>;
    /** The reserved IPv4 address: what DNS points at and what recovery commands SSH to. */
    readonly publicIp: pulumi.Output<string>;
    readonly fqdn: pulumi.Output<string>;
    readonly postgresCluster: digitalocean.DatabaseCluster;
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

    constructor(name: string, args: PlatformArgs, opts?: pulumi.ComponentResourceOptions) {
        super("income-fortress:platform:Platform", name, {}, opts);
        const env = args.environment;
        const protect = args.protect;
        const ownsVault = args.role === "primary";
        const labels = [`env:${env}`];
        this.environment = env;
        this.role = args.role;
        this.region = args.region;
        this.app = { ...args.bootstrap.app };

        // An explicit tag resource, so the firewalls that trust it are created after it
        // exists, and so the trust survives any number of droplet replacements.
        this.hostTag = new digitalocean.Tag(`${name}-host-tag`, { name: `income-fortress-${env}-app` }, { parent: this });

        this.network = new Network(
            `${name}-network`,
            {
                region: args.region,
                environment: env,
                adminCidrs: args.network.adminCidrs,
                isolate: args.network.isolate,
                hostTag: this.hostTag.name,
                ...(args.network.vpcIpRange ? { ipRange: args.network.vpcIpRange } : {}),
            },
            { parent: this },
        );

        this.storage = new Storage(
            `${name}-storage`,
            {
                environment: env,
                backup: { name: args.storage.backupBucket, region: args.region },
                vault: { name: args.storage.vaultBucket, region: args.storage.vaultRegion, owned: ownsVault },
                retentionDays: args.storage.retentionDays,
                noncurrentVersionDays: args.storage.noncurrentVersionDays,
                protect,
                credentialsEpoch: args.credentialsEpoch,
            },
            { parent: this },
        );

        // Rendered from the bucket outputs, so the droplet is created only once the
        // buckets its timers write to exist.
        const userData = pulumi
            .all([this.storage.backupBucketName, this.storage.vaultBucketName])
            .apply(([backup, vault]) => renderUserData(userDataArgsFor(args, { backup, vault })));

        this.host = new Host(
            `${name}-host`,
            {
                region: args.region,
                environment: env,
                size: args.host.size,
                image: args.host.image,
                vpcId: this.network.vpcId,
                tags: [this.hostTag.name, ...labels],
                sshKeys: args.host.sshKeys,
                backups: args.host.backups,
                userData,
                protectIp: protect,
            },
            { parent: this },
        );

        this.database = new Database(
            `${name}-db`,
            {
                region: args.region,
                environment: env,
                vpcId: this.network.vpcId,
                trustedTag: this.hostTag.name,
                tags: labels,
                postgres: {
                    version: args.database.version,
                    size: args.database.size,
                    nodeCount: args.database.nodeCount,
                    maintenanceWindow: args.database.maintenanceWindow,
                },
                databaseName: args.database.name,
                userName: args.database.user,
                valkey: { size: args.database.valkeySize },
                protect,
            },
            { parent: this },
        );

        this.dns = new Dns(
            `${name}-dns`,
            { domain: args.dns.domain, hostname: args.dns.hostname, ttl: args.dns.ttl, ipAddress: this.host.publicIp, protect },
            { parent: this },
        );

        this.project = new Project(
            `${name}-project`,
            {
                environment: env,
                label: args.projectLabel,
                resources: [
                    this.host.droplet.dropletUrn,
                    this.host.reservedIp.reservedIpUrn,
                    this.database.postgres.clusterUrn,
                    this.database.valkey.clusterUrn,
                    this.storage.backupBucket.bucketUrn,
                    ...(this.storage.vaultBucket ? [this.storage.vaultBucket.bucketUrn] : []),
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

        this.droplet = this.host.droplet;
        this.dropletId = this.host.dropletId;
        this.publicIp = this.host.publicIp;
        this.fqdn = this.dns.fqdn;
        this.postgresCluster = this.database.postgres;
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
