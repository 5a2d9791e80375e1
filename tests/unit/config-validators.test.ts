// Layer 1: the pure single-value validators in config/validators.ts, table-driven.
import { describe, expect, it } from "vitest";
import {
    DROPLET_REGIONS,
    SPACES_REGIONS,
    isAnywhere,
    parseAgeRecipient,
    parseBoolean,
    parseBucketName,
    parseCalendar,
    parseCidr,
    parseDatabaseSize,
    parseDomain,
    parseDropletSize,
    parseGitRef,
    parseGitUrl,
    parseHostPath,
    parseHostname,
    parseImage,
    parseInteger,
    parseMaintenanceHour,
    parseOpenSshPublicKey,
    parsePgIdentifier,
    parsePostgresVersion,
    parseRegion,
    parseConfig,
    parseRelativeDir,
    parseSetOnceKey,
    parseSpacesRegion,
    parseSshKeyRef,
    parseStackName,
    parseStackRegion,
    parseStringArray,
    parseVpcRange,
    spacesEndpoint,
    type Check,
    type FortressConfig,
} from "../../config";
import { SET_ONCE_KEY_NAMES, previousRecord, setOnceChanges, setOnceValues, setOnceVerdict } from "../../config/set-once";
import { rawStackConfig } from "../stack/harness";

const ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID2gVhTbVzvr8WlcYotifbpmdXFMTZhILeHFLMv/IyRL ops@incomefortress.com";

function value<T>(c: Check<T>): T {
    if (!c.ok) throw new Error(`expected ok, got problem: ${c.problem}`);
    return c.value;
}
function problem<T>(c: Check<T>): string {
    if (c.ok) throw new Error(`expected a problem, got ${JSON.stringify(c.value)}`);
    return c.problem;
}

describe("region tables", () => {
    it("every Spaces region except none is also a droplet region, and nyc1 has droplets but no Spaces", () => {
        expect(SPACES_REGIONS.filter((r) => !(DROPLET_REGIONS as readonly string[]).includes(r))).toEqual([]);
        expect(DROPLET_REGIONS).toContain("nyc1");
        expect(SPACES_REGIONS).not.toContain("nyc1");
    });
    it("builds the Spaces endpoint from the region", () => {
        expect(spacesEndpoint("sfo3")).toBe("https://sfo3.digitaloceanspaces.com");
    });
});

describe("parseRegion / parseSpacesRegion / parseStackRegion", () => {
    it.each(["nyc3", "sfo3", "tor1", "nyc1", "atl1"])("accepts droplet region %s", (r) => {
        expect(value(parseRegion(r))).toBe(r);
    });
    it.each([
        ["nyc4", /not a DigitalOcean region.*nyc3/],
        ["NYC3", /not a DigitalOcean region/],
        ["", /not a DigitalOcean region/],
        ["nyc2", /retired.*use nyc3/],
        ["sfo1", /retired.*use sfo3/],
    ])("rejects region %j", (r, msg) => {
        expect(problem(parseRegion(r))).toMatch(msg);
    });
    it.each(["ams3", "atl1", "blr1", "fra1", "lon1", "nyc3", "sfo2", "sfo3", "sgp1", "syd1", "tor1"])("Spaces exists in %s", (r) => {
        expect(value(parseSpacesRegion(r))).toBe(r);
    });
    it("names the Spaces regions when a droplet region has none", () => {
        const p = problem(parseSpacesRegion("nyc1"));
        expect(p).toContain('"nyc1" has no Spaces');
        expect(p).toContain("ams3, atl1, blr1, fra1, lon1, nyc3, sfo2, sfo3, sgp1, syd1, tor1");
    });
    it("says an unknown bucket region is not a region at all", () => {
        expect(problem(parseSpacesRegion("mars1"))).toContain("not a DigitalOcean region");
    });
    it("a stack region needs droplets and Spaces", () => {
        expect(value(parseStackRegion("nyc3"))).toBe("nyc3");
        expect(problem(parseStackRegion("nyc1"))).toMatch(/no Spaces.*backup bucket/);
        expect(problem(parseStackRegion("nyc2"))).toMatch(/retired/);
    });
});

describe("parsePostgresVersion", () => {
    it.each(["14", "15", "16", "17"])("accepts %s", (v) => expect(value(parsePostgresVersion(v))).toBe(v));
    it.each(["12", "13", "9.6", "17.2", "v17", "latest", ""])("rejects %j and lists the offered majors", (v) => {
        expect(problem(parsePostgresVersion(v))).toMatch(/not offered by DigitalOcean.*14, 15, 16, 17/);
    });
});

describe("parseCidr", () => {
    it.each([
        ["203.0.113.0/24", 4, 24, "203.0.113.0/24"],
        ["198.51.100.17", 4, 32, "198.51.100.17/32"],
        ["0.0.0.0/0", 4, 0, "0.0.0.0/0"],
        ["2001:db8:4f10::/48", 6, 48, "2001:db8:4f10::/48"],
        ["::/0", 6, 0, "::/0"],
        ["2001:db8::1", 6, 128, "2001:db8::1/128"],
        ["::ffff:192.0.2.0/120", 6, 120, "::ffff:192.0.2.0/120"],
    ])("accepts %s", (raw, family, prefix, text) => {
        expect(value(parseCidr(raw))).toEqual({ family, prefix, text });
    });
    it.each([
        ["203.0.113.0/33", /prefix \/33.*\/0 to \/32/],
        ["2001:db8::/129", /prefix \/129.*\/0 to \/128/],
        ["203.0.113.256/24", /not an IP address or CIDR/],
        ["203.0.113/24", /not an IP address or CIDR/],
        ["office", /not an IP address or CIDR/],
        ["203.0.113.0/24/1", /not an IP address or CIDR/],
        ["203.0.113.0/x", /not an IP address or CIDR/],
        ["", /not an IP address or CIDR/],
    ])("rejects %j", (raw, msg) => {
        expect(problem(parseCidr(raw))).toMatch(msg);
    });
    it.each([
        ["203.0.113.7/24", "203.0.113.0/24"],
        ["10.1.2.3/8", "10.0.0.0/8"],
        ["2001:db8:4f10::1/48", "2001:db8:4f10::/48"],
        ["2001:db8:0:0:1::/32", "2001:db8::/32"],
    ])("rejects %s with host bits and suggests %s", (raw, suggestion) => {
        expect(problem(parseCidr(raw))).toContain(`did you mean ${suggestion}?`);
    });
    it("isAnywhere is true only for /0", () => {
        expect(isAnywhere(value(parseCidr("0.0.0.0/0")))).toBe(true);
        expect(isAnywhere(value(parseCidr("::/0")))).toBe(true);
        expect(isAnywhere(value(parseCidr("0.0.0.0/1")))).toBe(false);
        expect(isAnywhere(value(parseCidr("203.0.113.0/24")))).toBe(false);
    });
});

describe("parseVpcRange", () => {
    it.each(["10.110.0.0/20", "172.16.0.0/16", "192.168.10.0/24", "10.0.0.0/28"])("accepts %s", (r) => {
        expect(value(parseVpcRange(r))).toBe(r);
    });
    it.each(["8.8.8.0/24", "10.0.0.0/8", "10.0.0.0/29", "10.0.0.1", "fd00::/48", "10.0.0.5/24"])("rejects %s", (r) => {
        expect(parseVpcRange(r).ok).toBe(false);
    });
});

describe("names", () => {
    it.each(["incomefortress.com", "example.co.uk", "incomefortress.com."])("domain %s is valid", (d) => {
        expect(value(parseDomain(d))).toBe(d.replace(/\.$/, ""));
    });
    it.each(["", "localhost", "Income Fortress.com", "-bad.com", "incomefortress.c0m", "https://incomefortress.com"])("domain %j is not", (d) => {
        expect(problem(parseDomain(d))).toMatch(/not a domain name.*incomefortress\.com/);
    });
    it.each(["api", "api-dr", "drill-20260203", "api.eu"])("hostname %s is valid", (h) => expect(value(parseHostname(h))).toBe(h));
    it.each(["", "API", "api_dr", "-api", "api-", "@", "api.incomefortress.com."])("hostname %j is not", (h) => {
        expect(parseHostname(h).ok).toBe(false);
    });
    it.each(["incomefortress-backups", "abc", "a1-b2"])("bucket %s is valid", (b) => expect(value(parseBucketName(b))).toBe(b));
    it.each(["ab", "Incomefortress", "income_fortress", "-backups", "backups-", "a".repeat(64), "bucket.with.dots"])("bucket %j is not", (b) => {
        expect(problem(parseBucketName(b))).toMatch(/3 to 63 lowercase/);
    });
    it.each(["prod", "dr", "drill-20260203t1200z"])("stack %s is usable", (s) => expect(value(parseStackName(s))).toBe(s));
    it.each(["Prod", "p", "prod_1", `drill-${"x".repeat(40)}`])("stack %j is not", (s) => expect(parseStackName(s).ok).toBe(false));
    it("PostgreSQL identifiers must be plain and not reserved", () => {
        expect(value(parsePgIdentifier("income_platform", ["doadmin"]))).toBe("income_platform");
        expect(problem(parsePgIdentifier("doadmin", ["doadmin"]))).toMatch(/reserved/);
        expect(problem(parsePgIdentifier("Income", []))).toMatch(/plain PostgreSQL identifier/);
        expect(problem(parsePgIdentifier("1st", []))).toMatch(/plain PostgreSQL identifier/);
    });
});

describe("scalars", () => {
    it.each([
        ["true", true],
        ["false", false],
    ])("boolean %s", (raw, v) => expect(value(parseBoolean(raw))).toBe(v));
    it.each(["yes", "True", "1", ""])("boolean %j is rejected", (raw) => expect(problem(parseBoolean(raw))).toMatch(/use true or false/));
    it("integers are whole and in range, and say why", () => {
        expect(value(parseInteger("60", 30, 86400))).toBe(60);
        expect(problem(parseInteger("10", 30, 86400, "DigitalOcean minimum"))).toBe("10 is out of range; use an integer from 30 to 86400 (DigitalOcean minimum)");
        expect(problem(parseInteger("1.5", 1, 3))).toMatch(/not a whole number/);
        expect(problem(parseInteger("abc", 1, 3))).toMatch(/"abc" is not a whole number/);
    });
    it("lists are JSON arrays of strings", () => {
        expect(value(parseStringArray('["a","b"]'))).toEqual(["a", "b"]);
        expect(problem(parseStringArray("203.0.113.0/24"))).toMatch(/not a list.*--path/);
        expect(problem(parseStringArray("[1,2]"))).toMatch(/not a list of strings/);
        expect(problem(parseStringArray('{"a":"b"}'))).toMatch(/not a list of strings/);
    });
});

describe("host settings", () => {
    it.each(["s-4vcpu-8gb", "c-2", "g-2vcpu-8gb"])("droplet size %s", (s) => expect(value(parseDropletSize(s))).toBe(s));
    it.each(["large", "db-s-1vcpu-2gb", "S-4VCPU-8GB", ""])("droplet size %j is rejected", (s) => expect(parseDropletSize(s).ok).toBe(false));
    it.each(["db-s-1vcpu-2gb", "db-s-2vcpu-4gb", "gd-2vcpu-8gb"])("database size %s", (s) => expect(value(parseDatabaseSize(s))).toBe(s));
    it.each(["s-4vcpu-8gb", "small", ""])("database size %j is rejected", (s) => expect(parseDatabaseSize(s).ok).toBe(false));
    it.each(["ubuntu-24-04-x64", "debian-12-x64", "123456789"])("image %s", (s) => expect(value(parseImage(s))).toBe(s));
    it.each(["Ubuntu 24.04", "", "ubuntu/24.04"])("image %j is rejected", (s) => expect(parseImage(s).ok).toBe(false));
    it.each([
        ["88:8e:c5:eb:a4:9a:d2:1c:c4:ab:8d:43:f2:83:8e:a9", "88:8e:c5:eb:a4:9a:d2:1c:c4:ab:8d:43:f2:83:8e:a9"],
        ["MD5:88:8E:C5:EB:A4:9A:D2:1C:C4:AB:8D:43:F2:83:8E:A9", "88:8e:c5:eb:a4:9a:d2:1c:c4:ab:8d:43:f2:83:8e:a9"],
        ["512190", "512190"],
    ])("SSH key reference %s", (raw, v) => expect(value(parseSshKeyRef(raw))).toBe(v));
    it.each(["SHA256:abc", "88:8e:c5", ED25519])("SSH key reference %j is rejected", (raw) => {
        expect(problem(parseSshKeyRef(raw))).toMatch(/MD5 fingerprint/);
    });
    it("accepts a real OpenSSH public key line", () => expect(value(parseOpenSshPublicKey(ED25519))).toBe(ED25519));
    it.each([
        [ED25519.slice(0, 60), /truncated/],
        [ED25519.replace("ssh-ed25519", "ssh-rsa"), /truncated or belongs to another key type/],
        ["ssh-dss AAAAB3NzaC1kc3M=", /type must be one of/],
        ["-----BEGIN OPENSSH PRIVATE KEY-----", /type must be one of/],
        [`${ED25519}\nssh-ed25519 AAAA`, /several lines/],
        ["ssh-ed25519 not*base64", /not base64/],
    ])("rejects a bad public key (%#)", (raw, msg) => {
        expect(problem(parseOpenSshPublicKey(raw))).toMatch(msg);
    });
    it("age recipients are age1 plus 58 bech32 characters", () => {
        const good = "age1m329mc5c7rzwq438m0ey0ryzeq8pgxwmenhvpwtxg8qvp5pdaghqzjmsgg";
        expect(value(parseAgeRecipient(good))).toBe(good);
        expect(problem(parseAgeRecipient("AGE-SECRET-KEY-1ABC"))).toMatch(/not an age recipient/);
        expect(problem(parseAgeRecipient(good.slice(0, -1)))).toMatch(/58 characters/);
        expect(parseAgeRecipient(good.replace("m3", "b3")).ok).toBe(false); // "b" is not in the bech32 set
    });
});

describe("schedules and the app", () => {
    it.each(["08:00", "00:30", "23:59"])("maintenance hour %s", (h) => expect(value(parseMaintenanceHour(h))).toBe(h));
    it.each(["8:00", "24:00", "08:60", "8am", ""])("maintenance hour %j is rejected", (h) => {
        expect(problem(parseMaintenanceHour(h))).toMatch(/HH:MM in UTC/);
    });
    it.each(["hourly", "weekly", "Sun *-*-* 08:00:00", "*-*-* *:00:00", "Mon..Fri 02:00"])("calendar %j", (c) => expect(value(parseCalendar(c))).toBe(c));
    it.each(["", "every hour", "0 * * * *; rm -rf /", "$(reboot)"])("calendar %j is rejected", (c) => {
        expect(parseCalendar(c).ok).toBe(false);
    });
    it.each(["https://github.com/AlbertoDBP/Agentic.git", "git@github.com:AlbertoDBP/Agentic.git", "ssh://git@github.com/AlbertoDBP/Agentic.git"])("git URL %s", (u) => {
        expect(value(parseGitUrl(u))).toBe(u);
    });
    it.each(["http://github.com/x/y.git", "https://user:token@github.com/x/y.git", "github.com/x/y", "file:///srv/repo"])("git URL %s is rejected", (u) => {
        expect(problem(parseGitUrl(u))).toMatch(/not a git URL/);
    });
    it.each(["v1.0.0", "release/2026-02", "3f2a9c1e0b7d4f6a8c5e2d1b0a9f8e7d6c5b4a3f"])("git ref %s", (r) => expect(value(parseGitRef(r))).toBe(r));
    it.each(["-c core.sshCommand=x", "main..evil", "v1 0", "", "v1.lock"])("git ref %j is rejected", (r) => expect(parseGitRef(r).ok).toBe(false));
    it.each(["/opt/income-fortress/app", "/srv/app"])("host path %s", (p) => expect(value(parseHostPath(p))).toBe(p));
    it.each(["opt/app", "/opt/../etc", "/opt/app/", "/opt/my app"])("host path %j is rejected", (p) => expect(parseHostPath(p).ok).toBe(false));
    it.each(["income-platform", ".", "services/api"])("compose dir %s", (p) => expect(value(parseRelativeDir(p))).toBe(p));
    it.each(["/income-platform", "../x", "a/../b", ""])("compose dir %j is rejected", (p) => expect(parseRelativeDir(p).ok).toBe(false));
});

describe("set-once keys (config/set-once.ts)", () => {
    const prod = (edit: Record<string, string> = {}): FortressConfig => {
        const r = parseConfig({ ...rawStackConfig("prod"), ...edit }, "prod");
        if (!r.ok) throw new Error(JSON.stringify(r.problems));
        return r.config;
    };
    const dr = (edit: Record<string, string> = {}): FortressConfig => {
        const r = parseConfig({ ...rawStackConfig("dr"), ...edit }, "dr");
        if (!r.ok) throw new Error(JSON.stringify(r.problems));
        return r.config;
    };

    it.each(SET_ONCE_KEY_NAMES)("allowReplace takes %s", (k) => expect(value(parseSetOnceKey(k))).toBe(k));
    it.each(["dbSize", "Region", "", "credentialsEpoch"])("allowReplace refuses %j and lists what it takes", (k) => {
        expect(problem(parseSetOnceKey(k))).toMatch(/is not a key whose change is refused; allowReplace takes: role, region, vpcIpRange, /);
    });

    it("records the values as the program uses them; a dr stack does not record the vault it only reads", () => {
        expect(setOnceValues(prod(), "10.116.0.0/20")).toMatchObject({ region: "nyc3", vpcIpRange: "10.116.0.0/20", vaultBucket: "incomefortress-backups-vault", backupBucket: "incomefortress-backups" });
        expect(setOnceValues(prod({ vpcIpRange: "10.120.0.0/20" }), "10.116.0.0/20").vpcIpRange).toBe("10.120.0.0/20");
        expect(Object.keys(setOnceValues(dr()))).not.toEqual(expect.arrayContaining(["vaultBucket"]));
        expect(Object.keys(setOnceValues(dr()))).not.toContain("vaultRegion");
    });

    const recorded = { ...setOnceValues(prod(), "10.116.0.0/20") };
    it.each<[string, Record<string, string>, Record<string, string>, string[]]>([
        ["nothing changed", recorded, {}, []],
        ["region", recorded, { region: "ams3" }, ["region"]],
        ["derived bucket name differs from the recorded one", recorded, { backupBucket: "" }, ["backupBucket"]],
        ["vpcIpRange unset keeps DigitalOcean's range", recorded, { vpcIpRange: "" }, []],
        ["vpcIpRange set to DigitalOcean's range", recorded, { vpcIpRange: "10.116.0.0/20" }, []],
        ["vpcIpRange set to another range", recorded, { vpcIpRange: "10.120.0.0/20" }, ["vpcIpRange"]],
        ["the first fork", recorded, { pitrSourceCluster: "fortress-db-pg-abc1234" }, []],
        ["a fork at another time", { ...recorded, pitrSourceCluster: "fortress-db-pg-abc1234" }, { pitrSourceCluster: "fortress-db-pg-abc1234", pitrBackupTime: "2026-02-03T10:00:00Z" }, ["pitrBackupTime"]],
        ["the fork removed", { ...recorded, pitrSourceCluster: "fortress-db-pg-abc1234" }, {}, ["pitrSourceCluster"]],
        ["a key the record lacks (an older stack)", { region: "nyc3" }, { dbName: "other_db" }, []],
        ["several", recorded, { dbName: "a_b", dbUser: "c_d" }, ["dbName", "dbUser"]],
    ])("%s", (_what, previous, edit, refused) => {
        expect(setOnceChanges(previous, prod(edit)).map((c) => c.key)).toEqual(refused);
    });

    it("a new stack has no record, so nothing is refused", () => {
        expect(previousRecord({}, "primary")).toBeUndefined();
        expect(setOnceChanges(undefined, prod({ region: "ams3" }))).toEqual([]);
    });

    it("a stack from before the record is read from the outputs it had; a dr stack's vault is not its own", () => {
        const outputs = { region: "nyc3", backupBucket: "b", vaultBucket: "v" };
        expect(previousRecord(outputs, "primary")).toEqual(outputs);
        expect(previousRecord(outputs, "dr")).toEqual({ region: "nyc3", backupBucket: "b" });
        expect(previousRecord({ setOnce: { region: "nyc3", dbName: "x" }, region: "sfo3" }, "primary")).toEqual({ region: "nyc3", dbName: "x" });
    });

    it("the verdict refuses what allowReplace does not list, says how to undo and how to go ahead, and flags stale opt-ins", () => {
        const changes = setOnceChanges(recorded, prod({ region: "ams3", dbName: "a_b" }));
        const verdict = setOnceVerdict(changes, ["dbName", "backupBucket"], true);
        expect(verdict.problems.map((p) => p.key)).toEqual(["region"]);
        expect(verdict.problems[0].message).toMatch(/^was "nyc3" when this stack was last updated and is now "ams3", which this stack cannot take in place\. Nothing moves between regions/);
        expect(verdict.problems[0].message).toContain("To keep the stack as it is: pulumi config set region nyc3.");
        expect(verdict.problems[0].message).toContain("pulumi config set --path 'allowReplace[0]' region");
        expect(verdict.problems[0].message).toContain("pulumi state unprotect");
        expect(setOnceVerdict(changes, [], false).problems[0].message).not.toContain("unprotect");
        expect(verdict.unusedAllows).toEqual(["backupBucket"]);
    });
});
