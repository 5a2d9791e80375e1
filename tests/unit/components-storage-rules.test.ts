// Layer 1: lifecycle rules and Spaces key grants (components/storage-rules.ts).
import { describe, expect, it } from "vitest";
import { backupPrefix, evidencePrefix } from "../../cloud-init/host";
import { keyGrants, lifecycleRules } from "../../components/storage-rules";

describe("lifecycleRules", () => {
    it.each([
        [7, 7, 1],
        [30, 3, 2],
    ])(
        "expires backups after %i days, old versions after %i, stale uploads after %i; evidence never expires",
        (retentionDays, noncurrentVersionDays, abortMultipartDays) => {
            const [rule, evidence, ...rest] = lifecycleRules({
                retentionDays,
                noncurrentVersionDays,
                abortMultipartDays,
            });
            expect(rest).toEqual([]);
            expect(rule).toEqual({
                id: "expire-backups",
                enabled: true,
                prefix: "postgresql/",
                expiration: { days: retentionDays },
                noncurrentVersionExpiration: { days: noncurrentVersionDays },
                abortIncompleteMultipartUploadDays: abortMultipartDays,
            });
            expect(evidence).toEqual({
                id: "keep-evidence",
                enabled: true,
                prefix: "evidence/",
                abortIncompleteMultipartUploadDays: abortMultipartDays,
            });
        },
    );

    it.each(["prod", "dr", "drill-x1"])("expires %s's backups and never its evidence", (stack) => {
        const [backups, evidence] = lifecycleRules({
            retentionDays: 7,
            noncurrentVersionDays: 7,
            abortMultipartDays: 1,
        });
        expect(`${backupPrefix(stack)}/x.dump.zst.age`.startsWith(backups.prefix)).toBe(true);
        expect(`${evidencePrefix(stack)}/x.tar.zst.age`.startsWith(backups.prefix)).toBe(false);
        expect(`${evidencePrefix(stack)}/x.tar.zst.age`.startsWith(evidence.prefix)).toBe(true);
    });

    it.each([
        [{ retentionDays: 0, noncurrentVersionDays: 7, abortMultipartDays: 1 }, /retentionDays/],
        [{ retentionDays: 7, noncurrentVersionDays: 1.5, abortMultipartDays: 1 }, /noncurrentVersionDays/],
        [{ retentionDays: 7, noncurrentVersionDays: 7, abortMultipartDays: -1 }, /abortMultipartDays/],
    ])("refuses a rule that would delete at once or never (%#)", (opts, msg) => {
        expect(() => lifecycleRules(opts)).toThrow(msg);
    });
});

describe("keyGrants", () => {
    it("gives readwrite on owned buckets and read on restore-only ones, never fullaccess", () => {
        expect(keyGrants({ readwrite: ["incomefortress-dr-backups"], read: ["incomefortress-backups-vault"] })).toEqual(
            [
                { bucket: "incomefortress-dr-backups", permission: "readwrite" },
                { bucket: "incomefortress-backups-vault", permission: "read" },
            ],
        );
        expect(keyGrants({ readwrite: ["a-b", "c-d"] }).map((g) => g.permission)).toEqual(["readwrite", "readwrite"]);
    });

    it("refuses a key with no bucket", () => {
        expect(() => keyGrants({ readwrite: [] })).toThrow(/no buckets/);
    });
});
