// Pure builders for bucket lifecycle rules and Spaces key grants, table-tested apart
// from the Storage component that applies them.
import type * as pulumi from "@pulumi/pulumi";
import { BACKUP_PREFIX_ROOT, EVIDENCE_PREFIX_ROOT } from "../cloud-init/host";

export interface LifecycleOptions {
    /** Days a current backup object lives before it expires (plan: 7). */
    retentionDays: number;
    /** Days an overwritten or expired (noncurrent) version lives. */
    noncurrentVersionDays: number;
    /** Days before an unfinished multipart upload is aborted (a killed upload leaves parts that cost money). */
    abortMultipartDays: number;
}

export interface LifecycleRule {
    id: string;
    enabled: boolean;
    prefix: string;
    abortIncompleteMultipartUploadDays: number;
    expiration?: { days: number };
    noncurrentVersionExpiration?: { days: number };
}

/**
 * The backups' rule, for their prefix only. On a versioned bucket, expiry only adds a
 * delete marker; the noncurrent-version expiry is what frees the space, so both are set.
 * Retention is enforced here and nowhere else: nothing deletes backups by hand.
 * Breach evidence (fortress-evidence) gets a rule that only aborts stale uploads: it never
 * expires, and a deleted evidence object (the host's key may write the bucket) stays as a
 * noncurrent version until a person removes it.
 */
export function lifecycleRules(opts: LifecycleOptions): LifecycleRule[] {
    for (const [name, value] of Object.entries(opts)) {
        if (!Number.isInteger(value) || value < 1)
            throw new Error(`lifecycleRules: ${name} must be a whole number of days >= 1, got ${value}`);
    }
    return [
        {
            id: "expire-backups",
            enabled: true,
            prefix: `${BACKUP_PREFIX_ROOT}/`,
            abortIncompleteMultipartUploadDays: opts.abortMultipartDays,
            expiration: { days: opts.retentionDays },
            noncurrentVersionExpiration: { days: opts.noncurrentVersionDays },
        },
        {
            id: "keep-evidence",
            enabled: true,
            prefix: `${EVIDENCE_PREFIX_ROOT}/`,
            abortIncompleteMultipartUploadDays: opts.abortMultipartDays,
        },
    ];
}

export type Permission = "read" | "readwrite";

export interface Grant {
    bucket: pulumi.Input<string>;
    permission: Permission;
}

/**
 * Grants for a host's Spaces key: readwrite on the buckets the stack owns, read on the
 * buckets it may only restore from. Never `fullaccess`, which would cover every bucket
 * in the account.
 */
export function keyGrants(buckets: { readwrite: pulumi.Input<string>[]; read?: pulumi.Input<string>[] }): Grant[] {
    if (buckets.readwrite.length === 0 && (buckets.read ?? []).length === 0) {
        throw new Error("keyGrants: no buckets; a key without grants would get no access at all");
    }
    return [
        ...buckets.readwrite.map((bucket) => ({ bucket, permission: "readwrite" as const })),
        ...(buckets.read ?? []).map((bucket) => ({ bucket, permission: "read" as const })),
    ];
}
