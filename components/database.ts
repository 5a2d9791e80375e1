// Managed PostgreSQL (the app's database) and managed Valkey (the cache), each behind
// its own database firewall that trusts the droplet tag.
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import { VALKEY_VERSION } from "../config/regions";
import { trustedTagRules } from "./firewall-rules";

/**
 * Valkey eviction policy. The provider's API takes underscores (`allkeys_lru`), not the
 * camelCase its generated docs show; the cache evicts least-recently-used keys when full.
 */
export const VALKEY_EVICTION_POLICY = "allkeys_lru";

/** A libpq connection URL with the credentials percent-encoded; TLS is required by DigitalOcean. */
export function postgresUrl(p: { user: string; password: string; host: string; port: number; database: string }): string {
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
    tags?: pulumi.Input<string>[];
    /** PostgreSQL cluster settings. */
    postgres: {
        /** Major version; `17` by default. Validated against DigitalOcean's offer in config/. */
        version?: string;
        /** Node size slug, e.g. `db-s-1vcpu-2gb`. */
        size: string;
        /** Node count, 1 to 3. Default 1. */
        nodeCount?: number;
        /** Weekly maintenance window: weekday (`sunday`) and start `HH:MM` UTC. */
        maintenanceWindow: { day: string; hour: string };
    };
    /** Application database name. */
    databaseName: string;
    /** Application user name (DigitalOcean generates its password). */
    userName: string;
    /** Valkey cluster settings. */
    valkey: {
        /** Node size slug, e.g. `db-s-1vcpu-1gb`. */
        size: string;
        /** Major version. Default `8`. */
        version?: string;
    };
    /**
     * Protect the clusters, the app database and both firewalls. Deleting a firewall
     * would open its cluster to any source. Default false.
     */
    protect?: boolean;
}

export class Database extends pulumi.ComponentResource {
    readonly postgres: digitalocean.DatabaseCluster;
    readonly appDatabase: digitalocean.DatabaseDb;
    readonly appUser: digitalocean.DatabaseUser;
    readonly postgresFirewall: digitalocean.DatabaseFirewall;
    readonly valkey: digitalocean.DatabaseCluster;
    readonly valkeyFirewall: digitalocean.DatabaseFirewall;
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
        const protect = args.protect ?? false;
        const tags = args.tags ?? [];

        this.postgres = new digitalocean.DatabaseCluster(
            `${name}-pg`,
            {
                engine: "pg",
                version: args.postgres.version ?? "17",
                size: args.postgres.size,
                nodeCount: args.postgres.nodeCount ?? 1,
                region: args.region,
                privateNetworkUuid: args.vpcId,
                maintenanceWindows: [args.postgres.maintenanceWindow],
                tags,
            },
            { parent: this, protect },
        );

        this.appDatabase = new digitalocean.DatabaseDb(
            `${name}-app-db`,
            { clusterId: this.postgres.id, name: args.databaseName },
            { parent: this, protect },
        );

        this.appUser = new digitalocean.DatabaseUser(
            `${name}-app-user`,
            { clusterId: this.postgres.id, name: args.userName },
            { parent: this, protect, additionalSecretOutputs: ["password"] },
        );

        // deleteBeforeReplace: a firewall owns the cluster's whole rule set, so deleting
        // the old one after creating its replacement would wipe the new rules and leave
        // the cluster open to any source.
        this.postgresFirewall = new digitalocean.DatabaseFirewall(
            `${name}-pg-firewall`,
            { clusterId: this.postgres.id, rules: trustedTagRules(args.trustedTag) },
            { parent: this, protect, deleteBeforeReplace: true },
        );

        this.valkey = new digitalocean.DatabaseCluster(
            `${name}-valkey`,
            {
                engine: "valkey",
                version: args.valkey.version ?? VALKEY_VERSION,
                size: args.valkey.size,
                nodeCount: 1,
                region: args.region,
                privateNetworkUuid: args.vpcId,
                evictionPolicy: VALKEY_EVICTION_POLICY,
                maintenanceWindows: [args.postgres.maintenanceWindow],
                tags,
            },
            { parent: this, protect },
        );

        this.valkeyFirewall = new digitalocean.DatabaseFirewall(
            `${name}-valkey-firewall`,
            { clusterId: this.valkey.id, rules: trustedTagRules(args.trustedTag) },
            { parent: this, protect, deleteBeforeReplace: true },
        );

        this.host = this.postgres.host;
        this.privateHost = this.postgres.privateHost;
        this.port = this.postgres.port;
        this.databaseUrl = pulumi.secret(
            pulumi
                .all([this.appUser.name, this.appUser.password, this.postgres.privateHost, this.postgres.port, this.appDatabase.name])
                .apply(([user, password, host, port, db]) => postgresUrl({ user, password, host, port, database: db })),
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
