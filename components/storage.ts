// Backup buckets in Spaces (the stack's own bucket, the offsite vault a primary owns, and
// the offsite bucket a dr stack owns) and the scoped Spaces key the host uses to reach them.
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import { spacesEndpoint } from "../config/regions";
import { keyGrants, lifecycleRules } from "./storage-rules";

export interface StorageArgs {
    /** Environment name, used in the key's name. */
    environment: string;
    /** Spaces region of the stack's own backup bucket: the stack's region, beside the droplet. */
    region: string;
    /**
     * Name of the stack's backup bucket (config backupBucket): 3 to 63 lowercase letters,
     * digits and hyphens. Explicit, so runbooks and the dr stack can name it.
     */
    backupBucket: string;
    /** Name of the offsite vault bucket (config vaultBucket). */
    vaultBucket: string;
    /** Spaces region of the vault, another one than the primary site's (config vaultRegion). */
    vaultRegion: string;
    /**
     * True: this stack creates the vault and may write it (role primary).
     * False: the vault belongs to the primary stack; this stack's key may only read it (role dr).
     */
    ownsVault: boolean;
    /**
     * Role dr only: the bucket this stack copies its own backups to while it serves, in a
     * third region (neither its own nor the lost primary's), which it owns and may write
     * (config drOffsiteBucket, drOffsiteRegion). Undefined for a primary: its vault is its offsite copy.
     */
    drOffsite?: {
        /** Bucket name, 3 to 63 lowercase letters, digits and hyphens. */
        bucket: string;
        /** Spaces region of the bucket. */
        region: string;
    };
    /** Days a backup lives before lifecycle expiry, 1 to 3650 (config backupRetentionDays). */
    retentionDays: number;
    /** Days an overwritten or expired object version lives, 1 to 3650 (config noncurrentVersionDays). */
    noncurrentVersionDays: number;
    /** Days before an unfinished multipart upload is aborted. Default 1. */
    abortMultipartDays?: number;
    /** Protect the buckets from deletion, and refuse to empty them on destroy (config protect). */
    protect: boolean;
    /** Rotation counter: a new value replaces the Spaces key (its name carries the counter), which issues new credentials (config credentialsEpoch). */
    credentialsEpoch: number;
}

export class Storage extends pulumi.ComponentResource {
    readonly backupBucket: digitalocean.SpacesBucket;
    /** The vault, when this stack owns it; undefined for a dr stack. */
    readonly vaultBucket?: digitalocean.SpacesBucket;
    /** A dr stack's own offsite bucket; undefined for a primary. */
    readonly drOffsiteBucket?: digitalocean.SpacesBucket;
    /** The host's key: readwrite on the owned buckets, read on a vault it does not own. */
    readonly hostKey: digitalocean.SpacesKey;
    readonly backupBucketName: pulumi.Output<string>;
    readonly vaultBucketName: pulumi.Output<string>;
    readonly backupEndpoint: string;
    readonly vaultEndpoint: string;
    /** Name and endpoint of the dr stack's offsite bucket; undefined for a primary. */
    readonly drOffsiteBucketName?: pulumi.Output<string>;
    readonly drOffsiteEndpoint?: string;
    /** Spaces access key id of the host key (secret). */
    readonly accessKeyId: pulumi.Output<string>;
    /** Spaces secret key of the host key (secret). */
    readonly secretAccessKey: pulumi.Output<string>;

    constructor(name: string, args: StorageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("income-fortress:storage:Storage", name, {}, opts);
        const protect = args.protect;
        const rules = lifecycleRules({
            retentionDays: args.retentionDays,
            noncurrentVersionDays: args.noncurrentVersionDays,
            abortMultipartDays: args.abortMultipartDays ?? 1,
        });
        const bucket = (role: string, bucketName: string, region: string) =>
            new digitalocean.SpacesBucket(
                `${name}-${role}`,
                {
                    name: bucketName,
                    region,
                    acl: "private",
                    // Versioning can be suspended but never removed once on; the
                    // noncurrent-version expiry above keeps old versions from piling up.
                    versioning: { enabled: true },
                    lifecycleRules: rules,
                    // A protected bucket must never be emptied by a destroy; an unprotected
                    // (dr, drill) one must be, or its destroy fails on the first object.
                    forceDestroy: !protect,
                },
                // The provider "renames" a bucket by writing the new name into state and
                // nothing else: the bucket keeps its old name, and state points at one that
                // does not exist (no ForceNew, Update never reads `name`;
                // https://github.com/digitalocean/terraform-provider-digitalocean/blob/main/digitalocean/spaces/resource_spaces_bucket.go).
                // A new name is a new bucket; config/set-once.ts refuses the change unless allowed.
                { parent: this, protect, replaceOnChanges: ["name"] },
            );

        this.backupBucket = bucket("backups", args.backupBucket, args.region);
        if (args.ownsVault) this.vaultBucket = bucket("vault", args.vaultBucket, args.vaultRegion);
        if (args.drOffsite) {
            if (args.ownsVault)
                throw new Error(`Storage ${name}: drOffsite is for a dr stack; a primary's offsite copy is its vault`);
            // The region is always given: the provider's default is nyc3 (the plan's primary
            // region), and the region is ForceNew, so a region set later would replace the
            // bucket (resource_spaces_bucket.go, linked in bucket() above).
            this.drOffsiteBucket = bucket("offsite", args.drOffsite.bucket, args.drOffsite.region);
            this.drOffsiteBucketName = this.drOffsiteBucket.name;
            this.drOffsiteEndpoint = spacesEndpoint(args.drOffsite.region);
        }

        this.backupBucketName = this.backupBucket.name;
        this.vaultBucketName = this.vaultBucket ? this.vaultBucket.name : pulumi.output(args.vaultBucket);
        this.backupEndpoint = spacesEndpoint(args.region);
        this.vaultEndpoint = spacesEndpoint(args.vaultRegion);

        const grants = args.ownsVault
            ? keyGrants({ readwrite: [this.backupBucketName, this.vaultBucketName] })
            : keyGrants({
                  readwrite: [this.backupBucketName, ...(this.drOffsiteBucketName ? [this.drOffsiteBucketName] : [])],
                  read: [this.vaultBucketName],
              });
        this.hostKey = new digitalocean.SpacesKey(
            `${name}-host-key`,
            { name: `income-fortress-${args.environment}-host-e${args.credentialsEpoch}`, grants },
            {
                parent: this,
                additionalSecretOutputs: ["accessKey", "secretKey"],
                // Bumping credentialsEpoch renames the key, and a new name replaces it: new
                // credentials, the old ones revoked once the new key exists. The provider
                // itself renames a key in place and keeps its credentials
                // (https://github.com/digitalocean/terraform-provider-digitalocean/blob/main/digitalocean/spaces/resource_spaces_key.go),
                // and replaceOnChanges works with every Pulumi CLI this program supports.
                replaceOnChanges: ["name"],
            },
        );
        this.accessKeyId = pulumi.secret(this.hostKey.accessKey);
        this.secretAccessKey = pulumi.secret(this.hostKey.secretKey);

        this.registerOutputs({
            backupBucketName: this.backupBucketName,
            vaultBucketName: this.vaultBucketName,
            ...(this.drOffsiteBucketName ? { drOffsiteBucketName: this.drOffsiteBucketName } : {}),
            accessKeyId: this.accessKeyId,
            secretAccessKey: this.secretAccessKey,
        });
    }
}
