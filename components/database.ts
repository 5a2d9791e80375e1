// Managed PostgreSQL (the app's database) and managed Valkey (the cache), each behind
// its own database firewall that trusts the droplet tag. A warm dr stack has no cluster of
// its own: its PostgreSQL is a read-only replica of the primary stack's cluster, promoted
// to an independent primary at failover.
import * as command from "@pulumi/command";
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { VALKEY_VERSION, type PostgresVersion } from "../config/regions";
import type { Weekday } from "../config/rules";
import { trustedTagRules } from "./firewall-rules";

/**
 * Valkey eviction policy. The provider's API takes underscores (`allkeys_lru`), not the
 * camelCase its generated docs show; the cache evicts least-recently-used keys when full.
 */
export const VALKEY_EVICTION_POLICY = "allkeys_lru";

/** A libpq connection URL with the credentials percent-encoded; TLS is required by DigitalOcean. */
export function postgresUrl(p: {
    user: string;
    password: string;
    host: string;
    port: number;
    database: string;
}): string {
    const enc = encodeURIComponent;
    return `postgresql://${enc(p.user)}:${enc(p.password)}@${p.host}:${p.port}/${enc(p.database)}?sslmode=require`;
}

export interface DatabaseArgs {
    /** DigitalOcean region slug; the same as the droplet's, so traffic stays in the VPC. */
    region: string;
    /** Environment name, used in cluster names. */
    environment: string;
    /** VPC the clusters join. */
    vpcId: pulumi.Input<string>;
    /** Droplet tag the database firewalls trust (the Host's first tag). */
    trustedTag: pulumi.Input<string>;
    /** Label tags for the clusters (environment). */
    tags: pulumi.Input<string>[];
    /** PostgreSQL major version, one DigitalOcean offers (config postgresVersion). Raising it upgrades the cluster in place. */
    version: PostgresVersion;
    /** PostgreSQL node size slug, such as `db-s-1vcpu-2gb` (config dbSize). A point-in-time fork takes the same size. */
    size: string;
    /** PostgreSQL node count, 1 to 3; more than 1 adds standby nodes (config dbNodeCount). */
    nodeCount: number;
    /** Weekly maintenance window of both clusters. */
    maintenanceWindow: {
        /** Weekday, `monday` to `sunday` (config dbMaintenanceDay). */
        day: Weekday;
        /** Start, `HH:MM` in UTC (config dbMaintenanceHour). */
        hour: string;
    };
    /** Application database name, a plain PostgreSQL identifier (config dbName). */
    name: string;
    /**
     * Application role name, a plain PostgreSQL identifier (config dbUser). DigitalOcean
     * generates a first password; the stack's own password ({@link Database.appPassword})
     * replaces it through the recovery chain's database step (ALTER ROLE), which is how it
     * rotates: the DatabaseUser itself cannot be replaced while the role owns tables.
     */
    user: string;
    /** Valkey (cache) node size slug, such as `db-s-1vcpu-1gb` (config valkeySize). */
    valkeySize: string;
    /**
     * Point-in-time fork for in-region database loss: a second cluster forked from
     * DigitalOcean's own backups of `sourceCluster` (its real name, with the random
     * suffix, not the Pulumi logical name), at `backupTime` (ISO 8601, UTC) or the latest
     * backup (config pitrSourceCluster, pitrBackupTime). The app moves to the fork; the
     * source stays for forensics. Only works in the source's region, and only once the
     * source has backups (not on a new cluster). Undefined: no fork.
     */
    pitr?: {
        /** The real name of the cluster to fork: 3 to 63 lowercase letters, digits and hyphens. */
        sourceCluster: string;
        /** The time to fork at, ISO 8601 in UTC. Undefined: the latest backup. */
        backupTime?: string;
    };
    /**
     * Warm standby: no cluster of its own; a read-only replica of `clusterId` (another
     * stack's cluster) in `region`, of `size`, in the VPC. Undefined: a cluster of its own.
     */
    replicaOf?: {
        /** The id of the cluster to follow: the primary stack's `databaseClusterId` output. */
        clusterId: pulumi.Input<string>;
        /**
         * Promote the replica to an independent primary (config failover), with
         * {@link promoteCommand}, then give it a firewall that trusts the droplet tag.
         */
        promote: boolean;
    };
    /**
     * The local command line that promotes a replica, given the source cluster's id and the
     * replica's name (tools/promote-replica.ts). Only used with `replicaOf.promote`.
     */
    promoteCommand?: (clusterId: string, replicaName: string) => string;
    /** Rotation counter: a new value makes a new app password (config credentialsEpoch). */
    credentialsEpoch: number;
    /**
     * Protect the clusters, the app database and all firewalls (config protect). Deleting a
     * firewall would open its cluster to any source.
     */
    protect: boolean;
}

/** What the app and the recovery chain need of its PostgreSQL: a cluster, a fork, or a (promoted) replica. */
export interface ActivePostgres {
    /** The cluster's id (a replica's `uuid`, which it keeps as a promoted cluster). */
    id: pulumi.Output<string>;
    /** The real name, with DigitalOcean's or Pulumi's suffix. */
    name: pulumi.Output<string>;
    host: pulumi.Output<string>;
    privateHost: pulumi.Output<string>;
    port: pulumi.Output<number>;
    user: pulumi.Output<string>;
    /** Admin password (secret). */
    password: pulumi.Output<string>;
    database: pulumi.Output<string>;
}

const clusterAsActive = (c: digitalocean.DatabaseCluster): ActivePostgres => ({
    id: c.id,
    name: c.name,
    host: c.host,
    privateHost: c.privateHost,
    port: c.port,
    user: c.user,
    password: c.password,
    database: c.database,
});

export class Database extends pulumi.ComponentResource {
    /** The stack's own cluster, its app database, role and firewall; undefined on a warm standby. */
    readonly postgres?: digitalocean.DatabaseCluster;
    readonly appDatabase?: digitalocean.DatabaseDb;
    readonly appUser?: digitalocean.DatabaseUser;
    readonly postgresFirewall?: digitalocean.DatabaseFirewall;
    /** Warm standby: the replica of the primary's cluster. */
    readonly replica?: digitalocean.DatabaseReplica;
    /** Warm standby at failover: the promotion (a local command) and the promoted cluster's firewall. */
    readonly promote?: command.local.Command;
    readonly replicaFirewall?: digitalocean.DatabaseFirewall;
    /** What must exist before the recovery chain touches the app's database. */
    readonly ready: pulumi.Resource[];
    readonly valkey: digitalocean.DatabaseCluster;
    readonly valkeyFirewall: digitalocean.DatabaseFirewall;
    /** The point-in-time fork and its firewall, when `pitr` is set. */
    readonly pitrFork?: digitalocean.DatabaseCluster;
    readonly pitrFirewall?: digitalocean.DatabaseFirewall;
    /** The cluster the app uses: the fork when there is one, the replica on a warm standby, else the cluster. */
    readonly activePostgres: ActivePostgres;
    /** The app role's password (secret), generated by the stack and set by the recovery chain. */
    readonly appPassword: pulumi.Output<string>;
    /** Admin connection of the active cluster, for the recovery chain's database step. */
    readonly admin: {
        user: pulumi.Output<string>;
        /** Secret. */
        password: pulumi.Output<string>;
        database: pulumi.Output<string>;
        privateHost: pulumi.Output<string>;
        port: pulumi.Output<number>;
    };
    /** Public host name of the PostgreSQL cluster (for operators; the app uses the private host). */
    readonly host: pulumi.Output<string>;
    /** VPC-private host name of the PostgreSQL cluster. */
    readonly privateHost: pulumi.Output<string>;
    readonly port: pulumi.Output<number>;
    /** The app's connection string over the VPC (secret). */
    readonly databaseUrl: pulumi.Output<string>;
    /** The cache's connection string over the VPC (secret). */
    readonly cacheUrl: pulumi.Output<string>;

    constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("income-fortress:database:Database", name, {}, opts);
        const protect = args.protect;
        const tags = args.tags;

        // The cluster and its point-in-time fork differ only in the fork's source and options.
        const postgresCluster = (
            suffix: string,
            extra: Partial<digitalocean.DatabaseClusterArgs> = {},
            extraOpts: pulumi.CustomResourceOptions = {},
        ) =>
            new digitalocean.DatabaseCluster(
                `${name}-${suffix}`,
                {
                    engine: "pg",
                    version: args.version,
                    size: args.size,
                    nodeCount: args.nodeCount,
                    region: args.region,
                    privateNetworkUuid: args.vpcId,
                    maintenanceWindows: [args.maintenanceWindow],
                    tags,
                    ...extra,
                },
                { parent: this, protect, ...extraOpts },
            );
        // deleteBeforeReplace: a firewall owns the cluster's whole rule set, so deleting
        // the old one after creating its replacement would wipe the new rules and leave
        // the cluster open to any source.
        const firewall = (suffix: string, cluster: digitalocean.DatabaseCluster) =>
            new digitalocean.DatabaseFirewall(
                `${name}-${suffix}-firewall`,
                { clusterId: cluster.id, rules: trustedTagRules(args.trustedTag) },
                { parent: this, protect, deleteBeforeReplace: true },
            );

        if (args.replicaOf) {
            if (args.pitr) throw new Error(`Database ${name}: a replica has no backups of its own to fork (pitr)`);
            const promote = args.replicaOf.promote;
            // region, privateNetworkUuid, name and tags are ForceNew; size resizes in place
            // (terraform-provider-digitalocean digitalocean/database/resource_database_replica.go).
            // Autonamed: the promotion reads the real name from the output.
            this.replica = new digitalocean.DatabaseReplica(
                `${name}-pg-replica`,
                {
                    clusterId: args.replicaOf.clusterId,
                    region: args.region,
                    size: args.size,
                    privateNetworkUuid: args.vpcId,
                    tags,
                },
                // Once promoted, the source cluster no longer lists it: the provider's Read
                // drops it from state on a refresh (404) and its Delete fails (404 is not
                // tolerated), so docs/warm-standby.md says how to adopt or remove it.
                { parent: this, protect },
            );
            const replica = this.replica;
            this.activePostgres = {
                id: replica.uuid,
                name: replica.name,
                host: replica.host,
                privateHost: replica.privateHost,
                port: replica.port,
                user: replica.user,
                password: replica.password,
                database: replica.database,
            };
            this.ready = [];
            if (promote) {
                if (!args.promoteCommand) throw new Error(`Database ${name}: replicaOf.promote needs promoteCommand`);
                const line = args.promoteCommand;
                // A local command: the DigitalOcean API is reached from where pulumi runs, with
                // its DIGITALOCEAN_TOKEN. It is idempotent (an already promoted replica is success),
                // so running it again on another machine changes nothing.
                this.promote = new command.local.Command(
                    `${name}-pg-promote`,
                    {
                        create: pulumi
                            .all([args.replicaOf.clusterId, replica.name])
                            .apply(([clusterId, replicaName]) => line(clusterId, replicaName)),
                    },
                    { parent: this, dependsOn: [replica], customTimeouts: { create: "20m" } },
                );
                // The promoted cluster is new to trusted sources: it gets the same firewall as a cluster.
                this.replicaFirewall = new digitalocean.DatabaseFirewall(
                    `${name}-pg-replica-firewall`,
                    { clusterId: replica.uuid, rules: trustedTagRules(args.trustedTag) },
                    { parent: this, protect, deleteBeforeReplace: true, dependsOn: [this.promote] },
                );
                this.ready = [this.promote, this.replicaFirewall];
            }
        } else {
            this.postgres = postgresCluster("pg");

            this.appDatabase = new digitalocean.DatabaseDb(
                `${name}-app-db`,
                { clusterId: this.postgres.id, name: args.name },
                { parent: this, protect },
            );

            this.appUser = new digitalocean.DatabaseUser(
                `${name}-app-user`,
                { clusterId: this.postgres.id, name: args.user },
                { parent: this, protect, additionalSecretOutputs: ["password"] },
            );

            this.postgresFirewall = firewall("pg", this.postgres);

            if (args.pitr) {
                // The source's size, as postgresCluster gives it: DigitalOcean refuses a smaller fork.
                this.pitrFork = postgresCluster(
                    "pg-pitr",
                    {
                        backupRestore: {
                            databaseName: args.pitr.sourceCluster,
                            ...(args.pitr.backupTime ? { backupCreatedAt: args.pitr.backupTime } : {}),
                        },
                    },
                    {
                        // Forking copies the whole cluster; large ones take hours, not the 30-minute default.
                        customTimeouts: { create: "4h", delete: "1h" },
                        // The provider reads backupRestore only when it creates a cluster, so a new
                        // source or time would change state and leave the app on the old fork
                        // (https://github.com/digitalocean/terraform-provider-digitalocean/blob/main/digitalocean/database/resource_database_cluster.go,
                        // Update). A new one is a new fork, and the chain follows its id.
                        replaceOnChanges: ["backupRestore"],
                    },
                );
                this.pitrFirewall = firewall("pg-pitr", this.pitrFork);
            }
            this.activePostgres = clusterAsActive(this.pitrFork ?? this.postgres);
            this.ready = [this.appDatabase!, this.appUser!, this.pitrFirewall ?? this.postgresFirewall!];
        }

        const password = new random.RandomPassword(
            `${name}-app-password`,
            // Letters and digits only: the password goes into URLs, .env files and a SCRAM verifier.
            { length: 32, special: false, keepers: { credentialsEpoch: String(args.credentialsEpoch) } },
            { parent: this },
        );
        this.appPassword = pulumi.secret(password.result);

        this.valkey = new digitalocean.DatabaseCluster(
            `${name}-valkey`,
            {
                engine: "valkey",
                version: VALKEY_VERSION,
                size: args.valkeySize,
                nodeCount: 1,
                region: args.region,
                privateNetworkUuid: args.vpcId,
                evictionPolicy: VALKEY_EVICTION_POLICY,
                maintenanceWindows: [args.maintenanceWindow],
                tags,
            },
            { parent: this, protect },
        );

        this.valkeyFirewall = firewall("valkey", this.valkey);

        const active = this.activePostgres;
        this.host = active.host;
        this.privateHost = active.privateHost;
        this.port = active.port;
        this.admin = {
            user: active.user,
            password: pulumi.secret(active.password),
            database: active.database,
            privateHost: active.privateHost,
            port: active.port,
        };
        this.databaseUrl = pulumi.secret(
            pulumi
                .all([
                    this.appUser?.name ?? args.user,
                    this.appPassword,
                    active.privateHost,
                    active.port,
                    this.appDatabase?.name ?? args.name,
                ])
                .apply(([user, pw, host, port, db]) => postgresUrl({ user, password: pw, host, port, database: db })),
        );
        this.cacheUrl = pulumi.secret(this.valkey.privateUri);
        this.registerOutputs({
            host: this.host,
            privateHost: this.privateHost,
            port: this.port,
            databaseUrl: this.databaseUrl,
            cacheUrl: this.cacheUrl,
        });
    }
}
