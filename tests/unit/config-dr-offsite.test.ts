// Layer 1: where a dr stack's own backups go while it serves (drOffsiteRegion,
// drOffsiteBucket): the schema's rules and derived name, and the set-once guard that keeps a
// live stack from renaming or moving the bucket.
import { describe, expect, it } from "vitest";
import { DR, PRIMARY, parsedOk } from "../support/config-fixtures";
import { parseConfig } from "../../config";
import { setOnceChanges, setOnceValues } from "../../config/set-once";

const ok = parsedOk;

describe("a dr stack's offsite bucket", () => {
    it("defaults to a derived name in atl1, a third region", () => {
        expect(ok(DR, "dr").storage.drOffsite).toEqual({ bucket: "income-fortress-dr-offsite", region: "atl1" });
    });

    it("takes the configured name and region", () => {
        expect(
            ok({ ...DR, drOffsiteBucket: "incomefortress-dr-offsite", drOffsiteRegion: "tor1" }, "dr").storage
                .drOffsite,
        ).toEqual({ bucket: "incomefortress-dr-offsite", region: "tor1" });
    });

    it("does not exist for a primary, whose offsite copy is its vault", () => {
        expect(ok(PRIMARY, "prod").storage.drOffsite).toBeUndefined();
    });

    it.each([
        [
            "its own region",
            { ...DR, drOffsiteRegion: "sfo3" },
            "dr",
            "drOffsiteRegion",
            /^"sfo3" is this dr stack's own region; .*pulumi config set drOffsiteRegion atl1$/,
        ],
        [
            "the primary's region",
            { ...DR, drOffsiteRegion: "nyc3" },
            "dr",
            "drOffsiteRegion",
            /^"nyc3" is the primary region, .*fortress-backup fails when any bucket does.*pulumi config set drOffsiteRegion atl1$/,
        ],
        [
            "a suggestion that is neither, when atl1 is taken",
            { ...DR, region: "atl1", drOffsiteRegion: "atl1" },
            "dr",
            "drOffsiteRegion",
            /pulumi config set drOffsiteRegion tor1$/,
        ],
        [
            "a region without Spaces",
            { ...DR, drOffsiteRegion: "nyc1" },
            "dr",
            "drOffsiteRegion",
            /"nyc1" has no Spaces object storage/,
        ],
        [
            "the backup bucket's name",
            { ...DR, backupBucket: "b-one", drOffsiteBucket: "b-one" },
            "dr",
            "drOffsiteBucket",
            /^"b-one" is also the backup bucket/,
        ],
        [
            "the derived backup bucket's name",
            { ...DR, drOffsiteBucket: "income-fortress-dr-backups" },
            "dr",
            "drOffsiteBucket",
            /is also the backup bucket/,
        ],
        [
            "the primary's vault",
            { ...DR, drOffsiteBucket: "incomefortress-backups-vault" },
            "dr",
            "drOffsiteBucket",
            /is the primary's vault, which a dr stack only reads; name a bucket of the dr stack's own, such as income-fortress-dr-offsite$/,
        ],
        [
            "a bucket name on a primary",
            { ...PRIMARY, drOffsiteBucket: "x-offsite" },
            "prod",
            "drOffsiteBucket",
            /^is for a dr stack.*pulumi config rm drOffsiteBucket$/,
        ],
        [
            "a region on a primary",
            { ...PRIMARY, drOffsiteRegion: "tor1" },
            "prod",
            "drOffsiteRegion",
            /^is for a dr stack.*pulumi config rm drOffsiteRegion$/,
        ],
    ])("refuses %s", (_what, raw, stack, key, message) => {
        const r = parseConfig(raw, stack);
        expect(r.ok).toBe(false);
        if (!r.ok)
            expect(r.problems).toEqual([{ key: `income-fortress:${key}`, message: expect.stringMatching(message) }]);
    });
});

describe("set once: the offsite bucket is neither renamed nor moved on a live dr stack", () => {
    const live = ok({ ...DR, drOffsiteBucket: "incomefortress-dr-offsite" }, "dr");
    const recorded = setOnceValues(live, "10.10.0.0/20");

    it("records its name and region for role dr only", () => {
        expect(recorded).toMatchObject({ drOffsiteBucket: "incomefortress-dr-offsite", drOffsiteRegion: "atl1" });
        expect(Object.keys(setOnceValues(ok(PRIMARY, "prod"), "10.10.0.0/20"))).not.toContain("drOffsiteBucket");
    });

    it.each([
        ["drOffsiteBucket", { drOffsiteBucket: "incomefortress-dr-offsite-b" }, "incomefortress-dr-offsite-b"],
        ["drOffsiteRegion", { drOffsiteRegion: "tor1" }, "tor1"],
    ])("refuses a new %s, saying the backups in it would be lost", (key, edit, to) => {
        const changes = setOnceChanges(
            recorded,
            ok({ ...DR, drOffsiteBucket: "incomefortress-dr-offsite", ...edit }, "dr"),
        );
        expect(changes).toEqual([
            expect.objectContaining({
                key,
                to,
                consequence: expect.stringMatching(
                    /A Spaces bucket cannot be renamed or moved.*every offsite copy of this dr stack's backups in it/,
                ),
            }),
        ]);
    });

    it("lets everything else through", () => {
        expect(
            setOnceChanges(recorded, ok({ ...DR, drOffsiteBucket: "incomefortress-dr-offsite", dnsTtl: "120" }, "dr")),
        ).toEqual([]);
    });
});
