// Layer 2: while the DR site serves, its backups also leave its region. The dr stack owns
// a bucket in a third region (drOffsiteRegion, drOffsiteBucket), its host's key may write
// it, and the host's backup.env names it as the offsite bucket, so every fortress-backup on
// DR writes there too. Prod is unchanged. And the plan's people (contacts) are config that
// preview checks but no resource carries.
import type * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { userDataFiles } from "../../harness/user-data";
import { drillConfig } from "../../drill/drill-config";
import { readStackFile } from "../../tools/stack-files";
import {
    ORGANIZATION,
    PROJECT,
    ROOT,
    T,
    byType,
    loadStackConfig,
    one,
    resolve,
    runProgram,
    type ProgramRun,
} from "./harness";

async function run(
    stack: string,
    from: "prod" | "dr",
    edit: Record<string, string | null> = {},
    previous: Record<string, unknown> = {},
): Promise<ProgramRun> {
    const config = loadStackConfig(from);
    for (const [k, v] of Object.entries(edit)) {
        if (v === null) delete config[`${PROJECT}:${k}`];
        else config[`${PROJECT}:${k}`] = v;
    }
    return runProgram(stack, config, {
        outputs: (type, _name, inputs) =>
            type === T.stackReference
                ? {
                      name: inputs.name,
                      outputs:
                          inputs.name === `${ORGANIZATION}/${PROJECT}/${stack}`
                              ? previous
                              : { publicIp: "198.51.100.77" },
                      secretOutputNames: [],
                  }
                : undefined,
    });
}

const ok = (r: ProgramRun): ProgramRun => {
    if (r.error) throw r.error;
    return r;
};

/** The host's non-secret toolkit settings, as the droplet gets them from user-data. */
function backupEnv(r: ProgramRun): Record<string, string> {
    const file = userDataFiles(one(r, T.droplet).inputs.userData as string).get("/etc/income-fortress/backup.env");
    if (!file) throw new Error("user-data has no /etc/income-fortress/backup.env");
    return Object.fromEntries(
        file.content
            .toString("utf8")
            .split("\n")
            .filter((l) => /^[A-Z][A-Z0-9_]*=/.test(l))
            .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1).replace(/^'(.*)'$/, "$1")]),
    );
}

describe("the dr stack's own offsite bucket", () => {
    let dr: ProgramRun;
    let prod: ProgramRun;
    beforeAll(async () => {
        dr = ok(await run("dr", "dr"));
        prod = ok(await run("prod", "prod"));
    });

    it("is a third bucket in drOffsiteRegion, neither dr's region nor prod's", () => {
        const offsite = one(dr, T.bucket, "offsite");
        expect(offsite.inputs).toMatchObject({
            name: "incomefortress-dr-offsite",
            region: "atl1",
            acl: "private",
            versioning: { enabled: true },
        });
        expect(offsite.inputs.region).not.toBe(one(dr, T.bucket, "backups").inputs.region);
        expect(offsite.inputs.region).not.toBe("nyc3");
        expect(offsite.parent).toMatch(/income-fortress:storage:Storage::fortress-storage$/);
        expect(offsite.name).toBe("fortress-storage-offsite");
    });

    it("is written by dr's host: its key may write it, and backup.env names it as the offsite bucket", () => {
        expect(one(dr, T.spacesKey).inputs.grants).toContainEqual({
            bucket: "incomefortress-dr-offsite",
            permission: "readwrite",
        });
        expect(backupEnv(dr)).toMatchObject({
            BACKUP_BUCKET: "incomefortress-dr-backups",
            BACKUP_S3_ENDPOINT: "https://sfo3.digitaloceanspaces.com",
            BACKUP_OFFSITE_BUCKET: "incomefortress-dr-offsite",
            BACKUP_OFFSITE_S3_ENDPOINT: "https://atl1.digitaloceanspaces.com",
            BACKUP_PREFIX: "postgresql/dr",
        });
        // The droplet is rendered once the bucket exists.
        expect(one(dr, T.droplet).propertyDependencies.userData).toContain(one(dr, T.bucket, "offsite").urn);
    });

    it("still only reads prod's vault, and the restore step still reads it from there", () => {
        expect(one(dr, T.spacesKey).inputs.grants).toContainEqual({
            bucket: "incomefortress-backups-vault",
            permission: "read",
        });
        expect(byType(dr, T.bucket).map((b) => b.inputs.name)).not.toContain("incomefortress-backups-vault");
    });

    it("leaves prod as it was: two buckets, the vault as its offsite copy", () => {
        expect(
            byType(prod, T.bucket)
                .map((b) => b.name)
                .sort(),
        ).toEqual(["fortress-storage-backups", "fortress-storage-vault"]);
        expect(backupEnv(prod)).toMatchObject({
            BACKUP_OFFSITE_BUCKET: "incomefortress-backups-vault",
            BACKUP_OFFSITE_S3_ENDPOINT: "https://sfo3.digitaloceanspaces.com",
        });
    });

    it("derives its name from the stack when drOffsiteBucket is not set", async () => {
        const r = ok(await run("dr", "dr", { drOffsiteBucket: null }));
        expect(one(r, T.bucket, "offsite").inputs.name).toBe("income-fortress-dr-offsite");
        expect(backupEnv(r).BACKUP_OFFSITE_BUCKET).toBe("income-fortress-dr-offsite");
    });

    it("a drill stack gets one of its own (bucket names are global), created and destroyed with it", async () => {
        const cfg = drillConfig(readStackFile(ROOT, "dr"), "dr", {
            stackName: "drill-20260301-060000",
            extraAdminCidrs: [],
        });
        const edit = Object.fromEntries(
            ["hostname", "protect", "backupBucket", "drOffsiteBucket", "dropletBackups", "monitoring"].map((k) => [
                k,
                String(cfg.plain[`${PROJECT}:${k}`]),
            ]),
        );
        const drill = ok(await run("drill-20260301-060000", "dr", edit));
        expect(one(drill, T.bucket, "offsite").inputs).toMatchObject({
            name: "income-fortress-drill-20260301-060000-offsite",
            region: "atl1",
            forceDestroy: true,
        });
        expect(one(drill, T.bucket, "offsite").protect).toBe(false);
    });

    it("is refused on a live dr stack when its region changes, as a rename is", async () => {
        const live = ok(await run("dr", "dr"));
        const previous = { setOnce: await resolve(live.outputs!.setOnce as pulumi.Output<unknown>) };
        const refused = await run("dr", "dr", { drOffsiteRegion: "tor1" }, previous);
        expect(refused.error?.message).toContain(
            `income-fortress:drOffsiteRegion: was "atl1" when this stack was last updated and is now "tor1"`,
        );
        expect(refused.error?.message).toMatch(/A Spaces bucket cannot be renamed or moved/);
        expect(refused.registrations.filter((r) => r.custom && r.type !== T.stackReference)).toEqual([]);
    });
});

describe("bad dr offsite and contacts config stops the program before any resource", () => {
    it.each([
        [
            "dr",
            "dr",
            { drOffsiteRegion: "sfo3" },
            "drOffsiteRegion",
            /"sfo3" is this dr stack's own region; its offsite copies must survive losing it\. .*pulumi config set drOffsiteRegion atl1/,
        ],
        [
            "dr",
            "dr",
            { drOffsiteRegion: "nyc3" },
            "drOffsiteRegion",
            /"nyc3" is the primary region, .*every dr backup would fail \(fortress-backup fails when any bucket does\)/,
        ],
        ["dr", "dr", { drOffsiteRegion: "nyc1" }, "drOffsiteRegion", /"nyc1" has no Spaces object storage/],
        [
            "dr",
            "dr",
            { drOffsiteBucket: "incomefortress-dr-backups" },
            "drOffsiteBucket",
            /"incomefortress-dr-backups" is also the backup bucket/,
        ],
        [
            "dr",
            "dr",
            { drOffsiteBucket: "incomefortress-backups-vault" },
            "drOffsiteBucket",
            /"incomefortress-backups-vault" is the primary's vault, which a dr stack only reads/,
        ],
        [
            "prod",
            "prod",
            { drOffsiteBucket: "incomefortress-prod-offsite" },
            "drOffsiteBucket",
            /is for a dr stack.*pulumi config rm drOffsiteBucket/,
        ],
        [
            "prod",
            "prod",
            { contacts: '{"dba": {"name": "Sam"}}' },
            "contacts",
            /"dba" is not an entry; did you mean databaseAdministrator\?/,
        ],
        ["prod", "prod", { contacts: "Alberto" }, "contacts", /is not JSON; set a JSON object with the plan's roles/],
    ] as const)("%s with %j: %s", async (stack, from, edit, key, message) => {
        const r = await run(stack, from, edit);
        expect(r.error?.message).toMatch(new RegExp(`income-fortress:${key}: ${message.source}`));
        expect(r.registrations.filter((x) => x.custom)).toEqual([]);
    });

    it("valid contacts change no resource", async () => {
        const contacts = JSON.stringify({
            incidentCommander: { name: "Alberto D.", email: "alberto@incomefortress.com" },
            technicalLead: { name: "Sam Lee", phone: "+1 555 010 0199" },
        });
        const [a, b] = [ok(await run("prod", "prod")), ok(await run("prod", "prod", { contacts }))];
        expect(b.registrations.map((r) => [r.urn, r.inputs])).toEqual(a.registrations.map((r) => [r.urn, r.inputs]));
        expect(JSON.stringify(b.registrations.map((r) => r.inputs))).not.toContain("Sam Lee");
    });
});
