// Layer 1: the rules for single values in config/rules.ts, table-driven. config/, the
// user-data renderer, the monitoring rules and the recovery step builders all use them.
import { describe, expect, it } from "vitest";
import {
    DROPLET_REGIONS,
    SPACES_REGIONS,
    isAnywhere,
    parseAgeRecipient,
    parseAppDir,
    parseBoolean,
    parseBucketName,
    parseCalendar,
    parseCidr,
    parseDatabaseSize,
    parseDomain,
    parseDropletSize,
    parseEmail,
    parseFileOwner,
    parseFqdn,
    BACKUP_TAG,
    parseGitRef,
    preMigrateTag,
    parseGitUrl,
    parseHostPath,
    parseImage,
    parseInteger,
    parseIpv4,
    parseMaintenanceHour,
    parseObjectPrefix,
    parseOneOf,
    parseOpenSshKeyLine,
    parseOpenSshPublicKey,
    parsePercent,
    parsePgIdentifier,
    parsePostgresVersion,
    parseProbeUrl,
    parseRecordName,
    parseRegion,
    parseConfig,
    parseRelativeDir,
    parseS3Endpoint,
    parseSetOnceKey,
    parseSlackChannel,
    parseSlackWebhookUrl,
    parseSpacesRegion,
    parseSshKeyRef,
    parseStackName,
    parseStackRegion,
    parseStringArray,
    parseTagName,
    parseVpcRange,
    parseWholeNumber,
    problemAt,
    spacesEndpoint,
    type Check,
    type FortressConfig,
} from "../../config";
import {
    SET_ONCE_KEY_NAMES,
    previousRecord,
    setOnceChanges,
    setOnceValues,
    setOnceVerdict,
} from "../../config/set-once";
import { rawStackConfig } from "../stack/harness";

const ED25519 =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID2gVhTbVzvr8WlcYotifbpmdXFMTZhILeHFLMv/IyRL ops@incomefortress.com";

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
    it.each(["ams3", "atl1", "blr1", "fra1", "lon1", "nyc3", "sfo2", "sfo3", "sgp1", "syd1", "tor1"])(
        "Spaces exists in %s",
        (r) => {
            expect(value(parseSpacesRegion(r))).toBe(r);
        },
    );
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
    it.each(["", "localhost", "Income Fortress.com", "-bad.com", "incomefortress.c0m", "https://incomefortress.com"])(
        "domain %j is not",
        (d) => {
            expect(problem(parseDomain(d))).toMatch(/not a domain name.*incomefortress\.com/);
        },
    );
    it.each(["api", "api-dr", "drill-20260203", "api.eu"])("record name %s is valid", (h) =>
        expect(value(parseRecordName(h))).toBe(h),
    );
    it.each(["", "API", "api_dr", "-api", "api-", "@", "api.incomefortress.com."])("record name %j is not", (h) => {
        expect(problem(parseRecordName(h))).toMatch(
            /is not a record name; use lowercase letters, digits and hyphens, such as api/,
        );
    });
    it.each(["api.incomefortress.com", "private-db-pg-1a2b3c4-do-user-1.db.ondigitalocean.com", "a.io"])(
        "full host name %s is valid",
        (h) => expect(value(parseFqdn(h))).toBe(h),
    );
    it.each([
        "api",
        "localhost",
        "API.incomefortress.com",
        "api incomefortress.com",
        "api.incomefortress.com.",
        "h; rm -rf /",
        "-api.example.com",
        "api.example.c0m",
        "",
        `${"a".repeat(250)}.com`,
    ])("full host name %j is not", (h) =>
        expect(problem(parseFqdn(h))).toMatch(
            /is not a fully qualified host name; use lowercase labels and a top-level domain/,
        ),
    );
    it.each(["incomefortress-backups", "abc", "a1-b2"])("bucket %s is valid", (b) =>
        expect(value(parseBucketName(b))).toBe(b),
    );
    it.each(["ab", "Incomefortress", "income_fortress", "-backups", "backups-", "a".repeat(64), "bucket'x"])(
        "bucket %j is not",
        (b) => {
            expect(problem(parseBucketName(b))).toMatch(
                /is not a Spaces bucket name; use 3 to 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit$/,
            );
        },
    );
    it("a bucket name with a dot is refused, and the message says why (Spaces' certificate does not cover it)", () => {
        expect(problem(parseBucketName("bucket.with.dots"))).toMatch(
            /3 to 63 lowercase.*\(no dots: Spaces' HTTPS certificate does not cover a bucket name with a dot\)/,
        );
    });
    it.each(["prod", "dr", "drill-20260203t1200z"])("stack %s is usable", (s) =>
        expect(value(parseStackName(s))).toBe(s),
    );
    it.each(["Prod", "p", "prod_1", `drill-${"x".repeat(40)}`])("stack %j is not", (s) =>
        expect(parseStackName(s).ok).toBe(false),
    );
    it("PostgreSQL identifiers must be plain and not reserved", () => {
        expect(value(parsePgIdentifier("income_platform", ["doadmin"]))).toBe("income_platform");
        expect(problem(parsePgIdentifier("doadmin", ["doadmin"]))).toMatch(/reserved/);
        expect(problem(parsePgIdentifier("Income", []))).toMatch(/plain PostgreSQL identifier/);
        expect(problem(parsePgIdentifier("1st", []))).toMatch(/plain PostgreSQL identifier/);
        expect(problem(parsePgIdentifier(`a${"b".repeat(63)}`))).toMatch(/plain PostgreSQL identifier/);
        expect(problem(parsePgIdentifier('x"y'))).toMatch(/plain PostgreSQL identifier/);
        expect(value(parsePgIdentifier("_dodb"))).toBe("_dodb");
    });
    it.each(["root:root", "deployer:deployer", "_apt:nogroup"])("file owner %s", (o) =>
        expect(value(parseFileOwner(o))).toBe(o),
    );
    it.each(["root", "root:root; rm", "Root:root", ":root", ""])("file owner %j is not", (o) =>
        expect(problem(parseFileOwner(o))).toMatch(/is not user:group/),
    );
    it.each(["income-fortress-prod-app", "env:prod", "a_b"])("tag %s", (t) => expect(value(parseTagName(t))).toBe(t));
    it.each(["has space", "", "x".repeat(256), "tag/slash"])("tag %j is not", (t) =>
        expect(problem(parseTagName(t))).toMatch(/is not a DigitalOcean tag name/),
    );
    it.each(["#ops-alerts", "ops", "#dr.drills_2025"])("Slack channel %s", (c) =>
        expect(value(parseSlackChannel(c))).toBe(c),
    );
    it.each(["#Ops", "ops alerts", "", "#", `#${"a".repeat(81)}`])("Slack channel %j is not", (c) => {
        expect(problem(parseSlackChannel(c))).toMatch(/^is ".*"; use a Slack channel name such as #ops-alerts/);
    });
});

describe("scalars", () => {
    it.each([
        ["true", true],
        ["false", false],
    ])("boolean %s", (raw, v) => expect(value(parseBoolean(raw))).toBe(v));
    it.each(["yes", "True", "1", ""])("boolean %j is rejected", (raw) =>
        expect(problem(parseBoolean(raw))).toMatch(/use true or false/),
    );
    it("integers are whole and in range, and say why", () => {
        expect(value(parseInteger("60", 30, 86400))).toBe(60);
        expect(problem(parseInteger("10", 30, 86400, "DigitalOcean minimum"))).toBe(
            "10 is out of range; use an integer from 30 to 86400 (DigitalOcean minimum)",
        );
        expect(problem(parseInteger("1.5", 1, 3))).toMatch(/not a whole number/);
        expect(problem(parseInteger("abc", 1, 3))).toMatch(/"abc" is not a whole number/);
    });
    it.each([1, 50, 99.5, 100])("percent %s", (n) => expect(value(parsePercent(n))).toBe(n));
    it.each<[unknown]>([[0], [-5], [100.1], [150], [Number.NaN], [Number.POSITIVE_INFINITY], ["80"], [undefined]])(
        "percent %s is not",
        (n) => {
            expect(problem(parsePercent(n))).toMatch(/^is .*; use a number from 1 to 100 \(percent\)$/);
        },
    );
    it("whole numbers, typed, say the unit", () => {
        expect(value(parseWholeNumber(3000, 100, 60_000, "milliseconds"))).toBe(3000);
        expect(problem(parseWholeNumber(99, 100, 60_000, "milliseconds"))).toBe(
            "99 is out of range; use an integer from 100 to 60000 (milliseconds)",
        );
        expect(problem(parseWholeNumber(1500.5, 100, 60_000))).toBe(
            "1500.5 is not a whole number; use an integer from 100 to 60000",
        );
        expect(problem(parseWholeNumber("3000", 100, 60_000))).toMatch(/^"3000" is not a whole number/);
    });
    it("one of a set: the camel-cased spellings of the SDK's doc comments are not the API's", () => {
        const regions = ["us_east", "us_west", "eu_west", "se_asia"] as const;
        expect(value(parseOneOf("us_east", regions))).toBe("us_east");
        for (const bad of ["usEast", "US_EAST", "", 7])
            expect(problem(parseOneOf(bad, regions))).toBe(
                `is ${JSON.stringify(bad)}; use one of: us_east, us_west, eu_west, se_asia`,
            );
    });
    it("problemAt puts the name of what was checked first, and says nothing of a good value", () => {
        expect(problemAt("window", parseOneOf("2m", ["5m", "10m"]))).toBe('window is "2m"; use one of: 5m, 10m');
        expect(problemAt("backup.bucket", parseBucketName("Bad"))).toMatch(
            /^backup\.bucket "Bad" is not a Spaces bucket name/,
        );
        expect(problemAt("window", parseOneOf("5m", ["5m"]))).toBeUndefined();
    });
    it("lists are JSON arrays of strings", () => {
        expect(value(parseStringArray('["a","b"]'))).toEqual(["a", "b"]);
        expect(problem(parseStringArray("203.0.113.0/24"))).toMatch(/not a list.*--path/);
        expect(problem(parseStringArray("[1,2]"))).toMatch(/not a list of strings/);
        expect(problem(parseStringArray('{"a":"b"}'))).toMatch(/not a list of strings/);
    });
});

describe("host settings", () => {
    it.each(["s-4vcpu-8gb", "c-2", "g-2vcpu-8gb"])("droplet size %s", (s) =>
        expect(value(parseDropletSize(s))).toBe(s),
    );
    it.each(["large", "db-s-1vcpu-2gb", "S-4VCPU-8GB", ""])("droplet size %j is rejected", (s) =>
        expect(parseDropletSize(s).ok).toBe(false),
    );
    it.each(["db-s-1vcpu-2gb", "db-s-2vcpu-4gb", "gd-2vcpu-8gb"])("database size %s", (s) =>
        expect(value(parseDatabaseSize(s))).toBe(s),
    );
    it.each(["s-4vcpu-8gb", "small", ""])("database size %j is rejected", (s) =>
        expect(parseDatabaseSize(s).ok).toBe(false),
    );
    it.each(["ubuntu-24-04-x64", "debian-12-x64", "123456789"])("image %s", (s) =>
        expect(value(parseImage(s))).toBe(s),
    );
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
        [
            "-----BEGIN OPENSSH PRIVATE KEY-----",
            /^is a PRIVATE key, which is not an OpenSSH public key; remove it now \(treat it as leaked\)/,
        ],
        [`${ED25519}\nssh-ed25519 AAAA`, /several lines/],
        ["ssh-ed25519 not*base64", /not base64/],
        ["ssh-ed25519", /the key data is missing/],
    ])("rejects a bad public key (%#)", (raw, msg) => {
        expect(problem(parseOpenSshPublicKey(raw))).toMatch(msg);
    });
    it("the key-line form alone takes a key whose data it does not decode, and refuses the rest alike", () => {
        const truncatedRsa = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDx3Jq0z1Kx";
        expect(value(parseOpenSshKeyLine(truncatedRsa))).toBe(truncatedRsa);
        expect(problem(parseOpenSshPublicKey(truncatedRsa))).toMatch(/truncated/);
        expect(
            problem(
                parseOpenSshKeyLine("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----"),
            ),
        ).toMatch(/PRIVATE key/);
        expect(problem(parseOpenSshKeyLine("ssh-dss AAAAB3NzaC1kc3M="))).toMatch(/type must be one of/);
    });
    it("age recipients are age1 plus 58 bech32 characters", () => {
        const good = "age1m329mc5c7rzwq438m0ey0ryzeq8pgxwmenhvpwtxg8qvp5pdaghqzjmsgg";
        expect(value(parseAgeRecipient(good))).toBe(good);
        expect(problem(parseAgeRecipient("AGE-SECRET-KEY-1ABC"))).toMatch(/not an age recipient/);
        expect(problem(parseAgeRecipient(good.slice(0, -1)))).toMatch(/58 characters/);
        expect(parseAgeRecipient(good.replace("m3", "b3")).ok).toBe(false); // "b" is not in the bech32 set
        expect(value(parseAgeRecipient(` ${good}\n`))).toBe(good);
    });
    it("an age secret key given as a recipient is named as such and never quoted", () => {
        const secret = "AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQS7V2R3Y";
        const p = problem(parseAgeRecipient(secret));
        expect(p).toMatch(/^is an age SECRET key \(an identity\), which is not an age recipient; use the public key/);
        expect(p).not.toContain("QYQSZ");
    });
});

describe("schedules and the app", () => {
    it.each(["08:00", "00:30", "23:59"])("maintenance hour %s", (h) => expect(value(parseMaintenanceHour(h))).toBe(h));
    it.each(["8:00", "24:00", "08:60", "8am", ""])("maintenance hour %j is rejected", (h) => {
        expect(problem(parseMaintenanceHour(h))).toMatch(/HH:MM in UTC/);
    });
    it.each([
        "hourly",
        "weekly",
        "Sun *-*-* 08:00:00",
        "*-*-* *:00:00",
        "Mon..Fri 02:00",
        "*-*-* 02:00:00 America/Port_of_Spain",
        "*-*-* 02:00:00 Etc/GMT+5",
    ])("calendar %j", (c) => expect(value(parseCalendar(c))).toBe(c));
    it.each([
        ["", /^is empty; use hourly, daily/],
        ["every hour", /is neither a shorthand nor a date\/time pattern/],
        ["0 * * * *; rm -rf /", /has characters a calendar expression never uses/],
        ["$(reboot)", /has characters a calendar expression never uses/],
        ["0 * * * *", /looks like a cron expression, which systemd does not read/],
        [" hourly", /has leading or trailing spaces; remove them/],
        [`*-*-* ${"0".repeat(100)}`, /has characters a calendar expression never uses/],
    ])("calendar %j is rejected", (c, msg) => expect(problem(parseCalendar(c))).toMatch(msg));
    it.each([
        "https://github.com/AlbertoDBP/Agentic.git",
        "git@github.com:AlbertoDBP/Agentic.git",
        "ssh://git@github.com/AlbertoDBP/Agentic.git",
        "ssh://git@git.example.com:2222/team/app.git",
        "https://git.example.com:8443/team/app.git",
    ])("git URL %s", (u) => expect(value(parseGitUrl(u))).toBe(u));
    it.each([
        ["http://github.com/x/y.git", /^uses http:\/\/, which is not allowed; use https:\/\/host\/owner\/repo\.git/],
        ["file:///srv/repo", /^uses file:\/\/, which is not allowed/],
        [
            "https://user:token@github.com/x/y.git",
            /^contains credentials, which would be stored in user-data(?!.*token)/,
        ],
        ["ssh://user:hunter2@github.com/x/y.git", /^contains a password(?!.*hunter2)/],
        ["github.com/x/y", /^"github\.com\/x\/y" is not a git URL the host can clone/],
        ["git@github.com/x/y.git", /is not a git URL the host can clone/],
        ["ssh://git@github.com:owner/repo.git", /is not a git URL the host can clone/],
        ["https://github.com/", /is not a git URL the host can clone/],
        ["-oProxyCommand@github.com:x/y.git", /is not a git URL the host can clone/],
        ["https://github.com/x/y+z.git", /is not a git URL the host can clone/],
        ["", /^is empty/],
    ])("git URL %j is rejected", (u, msg) => expect(problem(parseGitUrl(u))).toMatch(msg));
    it.each(["v1.0.0", "release/2026-02", "3f2a9c1e0b7d4f6a8c5e2d1b0a9f8e7d6c5b4a3f", "_build"])("git ref %s", (r) =>
        expect(value(parseGitRef(r))).toBe(r),
    );
    it.each([
        ["-c core.sshCommand=x", /characters outside/],
        ["--orphan", /starts with "-", which git would read as an option/],
        ["main..evil", /git check-ref-format refuses it/],
        ["v1 0", /characters outside/],
        ["", /it is empty/],
        ["v1.lock", /git check-ref-format refuses it/],
        ["release.lock/v1", /git check-ref-format refuses it/],
        [".hidden", /git check-ref-format refuses it/],
        ["release/.hidden", /git check-ref-format refuses it/],
        ["release//v1", /git check-ref-format refuses it/],
        ["release/", /git check-ref-format refuses it/],
        ["/release", /git check-ref-format refuses it/],
        ["v1.", /git check-ref-format refuses it/],
        ["main@{1}", /characters outside/],
        ["v".repeat(201), /characters outside .* or more than 200/],
    ])("git ref %j is rejected", (r, msg) => {
        const p = problem(parseGitRef(r));
        expect(p).toMatch(/ is not a usable git ref \(.*\); use a tag such as v1\.0\.0 or a commit hash$/);
        expect(p).toMatch(msg);
    });
    it.each([
        ["v1.0.0", "pre-migrate-v1.0.0"],
        ["release/2026-02", "pre-migrate-release-2026-02"],
        ["feature/a/b_c", "pre-migrate-feature-a-b_c"],
        ["3f2a9c1e0b7d4f6a8c5e2d1b0a9f8e7d6c5b4a3f", "pre-migrate-3f2a9c1e0b7d4f6a8c5e2d1b0a9f8e7d6c5b4a3f"],
        ["_build", "pre-migrate-_build"],
        ["x".repeat(52), `pre-migrate-${"x".repeat(52)}`],
    ])("pre-migration backup tag of ref %j is %j", (ref, tag) => {
        expect(value(preMigrateTag(ref))).toBe(tag);
        expect(tag).toMatch(BACKUP_TAG);
    });
    it("a ref too long for the tag keeps its start and ends in a hash of the whole ref, so long refs stay apart", () => {
        const a = value(preMigrateTag(`feature/${"y".repeat(60)}-one`));
        const b = value(preMigrateTag(`feature/${"y".repeat(60)}-two`));
        const c = value(preMigrateTag("z".repeat(53)));
        for (const tag of [a, b, c]) {
            expect(tag).toMatch(BACKUP_TAG);
            expect(tag).toHaveLength(64);
            expect(tag).toMatch(/-[0-9a-f]{8}$/);
        }
        expect(a.startsWith(`pre-migrate-feature-${"y".repeat(30)}`)).toBe(true);
        expect(a).not.toBe(b);
    });
    it.each(["", "main..evil", "--orphan", "v1 0"])("no pre-migration tag for the bad ref %j", (ref) =>
        expect(problem(preMigrateTag(ref))).toMatch(/ is not a usable git ref/),
    );
    it.each(["/opt/income-fortress/app", "/srv/app", "/etc/income-fortress/credentials.env", "/opt/app/.env"])(
        "host path %s",
        (p) => expect(value(parseHostPath(p))).toBe(p),
    );
    it.each(["opt/app", "/opt/../etc", "/opt/app/", "/opt/my app", "/", "/etc/x'y", "//etc", "/opt/./app"])(
        "host path %j is rejected",
        (p) => {
            expect(problem(parseHostPath(p))).toMatch(
                /is not a plain absolute path; use one like \/opt\/income-fortress\/app/,
            );
        },
    );
    it.each(["/opt/income-fortress/app", "/home/deployer/app", "/srv/app"])("app dir %s", (p) =>
        expect(value(parseAppDir(p))).toBe(p),
    );
    it.each([
        ["/opt", /is a top-level directory/],
        ["/etc/app", /is inside the system directory \/etc;/],
        ["/usr/local/app", /is inside the system directory \/usr;/],
        ["/var/lib/income-fortress/app", /is inside the system directory \/var\/lib\/income-fortress;/],
        ["/var/tmp", /is inside the system directory \/var\/tmp;/],
        ["opt/app", /is not a plain absolute path/],
    ])("app dir %j is rejected", (p, msg) => expect(problem(parseAppDir(p))).toMatch(msg));
    it.each(["income-platform", ".", "services/api"])("compose dir %s", (p) =>
        expect(value(parseRelativeDir(p))).toBe(p),
    );
    it.each(["/income-platform", "../x", "a/../b", "", "a b", "a/"])("compose dir %j is rejected", (p) =>
        expect(parseRelativeDir(p).ok).toBe(false),
    );
    it.each(["postgresql/prod", "postgresql", "a.b/c_d-e"])("object prefix %s", (p) =>
        expect(value(parseObjectPrefix(p))).toBe(p),
    );
    it.each(["/postgresql/prod", "postgresql/prod/", "postgresql/../x", "", "postgresql/my env", "."])(
        "object prefix %j is rejected",
        (p) => {
            expect(problem(parseObjectPrefix(p))).toMatch(
                /is not an object prefix; .*without a leading or trailing slash/,
            );
        },
    );
});

describe("addresses and URLs", () => {
    it.each(["ops@incomefortress.com", "on-call+dr@ops.example.co.uk", "a@b.io", "first.last@Example.COM"])(
        "e-mail %s",
        (e) => expect(value(parseEmail(e))).toBe(e),
    );
    it.each([
        "ops",
        "ops@",
        "@example.com",
        "ops@example",
        "ops @example.com",
        "ops@exa_mple.com",
        "a,b@example.com",
        "o'ps@x.com",
        "a..b@example.com",
        ".a@example.com",
        " ops@example.com",
        "ops@@example.com",
    ])("e-mail %j is not", (e) =>
        expect(problem(parseEmail(e))).toBe(
            `${JSON.stringify(e)} is not an e-mail address; use one that receives certificate expiry notices, such as ops@incomefortress.com`,
        ),
    );
    it("an e-mail's message says what the address receives", () => {
        expect(problem(parseEmail("pagerduty", "the alerts"))).toMatch(/use one that receives the alerts, such as/);
    });
    it.each(["192.0.2.200", "10.0.0.1"])("IPv4 %s", (a) => expect(value(parseIpv4(a))).toBe(a));
    it.each(["2001:db8::1", "999.1.1.1", "192.0.2", "not-an-ip", ""])("IPv4 %j is not", (a) =>
        expect(problem(parseIpv4(a))).toMatch(/is not an IPv4 address/),
    );
    it.each([
        "https://nyc3.digitaloceanspaces.com",
        "http://127.0.0.1:4569",
        "http://localhost:9000",
        "https://s3.example.com:8443",
    ])("S3 endpoint %s", (e) => {
        expect(value(parseS3Endpoint(e))).toBe(e);
    });
    it.each([
        ["nyc3.digitaloceanspaces.com", /is not a URL; use the bare endpoint/],
        [
            "http://nyc3.digitaloceanspaces.com",
            /^must use https:\/\/ \(plain http is accepted only for loopback test servers\)/,
        ],
        [
            "https://KEY:secret@nyc3.digitaloceanspaces.com",
            /^contains credentials, which would be stored in user-data(?!.*secret)/,
        ],
        ["https://nyc3.digitaloceanspaces.com/bucket", /has a path, query or trailing slash/],
        ["https://nyc3.digitaloceanspaces.com/", /has a path, query or trailing slash/],
        ["https://nyc3.digitaloceanspaces.com?x=1", /has a path, query or trailing slash/],
        ["https://NYC3.digitaloceanspaces.com", /is not a plain scheme:\/\/host\[:port\]/],
    ])("S3 endpoint %j is not", (e, msg) => expect(problem(parseS3Endpoint(e))).toMatch(msg));
    it.each(["https://api.incomefortress.com/health", "https://api-dr.incomefortress.com:8443/healthz?full=1"])(
        "probe URL %s",
        (u) => expect(value(parseProbeUrl(u))).toBe(u),
    );
    it.each([
        ["http://api.incomefortress.com/health", /absolute https URL/],
        ["/health", /which is not a URL/],
        ["https://localhost/health", /^has host "localhost"/],
        ["https://user:hunter2@api.incomefortress.com/health", /^carries credentials(?!.*hunter2)/],
    ])("probe URL %j is not", (u, msg) => expect(problem(parseProbeUrl(u))).toMatch(msg));
    it("a Slack incoming-webhook URL", () => {
        expect(value(parseSlackWebhookUrl("https://hooks.slack.com/services/T000/B000/XXXX"))).toBe(
            "https://hooks.slack.com/services/T000/B000/XXXX",
        );
    });
    it.each([
        ["plain http", "http://hooks.slack.com/services/T000/B000/SECRETPART", "uses http, not https"],
        [
            "another host",
            "https://hooks.example.com/services/T000/B000/SECRETPART",
            'points at "hooks.example.com", not hooks.slack.com',
        ],
        ["a look-alike host", "https://hooks.slack.com.evil.example/services/T/B/SECRETPART", "not hooks.slack.com"],
        ["no path", "https://hooks.slack.com/", "no webhook path"],
        ["not a URL", "hooks.slack.com/services/T/B/SECRETPART", "is not a URL"],
    ])("a Slack webhook URL with %s is refused, and never repeated (it is a credential)", (_what, url, fragment) => {
        const p = problem(parseSlackWebhookUrl(url));
        expect(p).toContain(fragment);
        expect(p).toContain("use the https://hooks.slack.com/services/… URL of a Slack incoming webhook");
        expect(p).not.toContain("SECRETPART");
    });
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
        expect(problem(parseSetOnceKey(k))).toMatch(
            /is not a key whose change is refused; allowReplace takes: role, region, vpcIpRange, /,
        );
    });

    it("records the values as the program uses them; a dr stack does not record the vault it only reads", () => {
        expect(setOnceValues(prod(), "10.116.0.0/20")).toMatchObject({
            region: "nyc3",
            vpcIpRange: "10.116.0.0/20",
            vaultBucket: "incomefortress-backups-vault",
            backupBucket: "incomefortress-backups",
        });
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
        [
            "a fork at another time",
            { ...recorded, pitrSourceCluster: "fortress-db-pg-abc1234" },
            { pitrSourceCluster: "fortress-db-pg-abc1234", pitrBackupTime: "2026-02-03T10:00:00Z" },
            ["pitrBackupTime"],
        ],
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
        expect(previousRecord({ setOnce: { region: "nyc3", dbName: "x" }, region: "sfo3" }, "primary")).toEqual({
            region: "nyc3",
            dbName: "x",
        });
    });

    it("the verdict refuses what allowReplace does not list, says how to undo and how to go ahead, and flags stale opt-ins", () => {
        const changes = setOnceChanges(recorded, prod({ region: "ams3", dbName: "a_b" }));
        const verdict = setOnceVerdict(changes, ["dbName", "backupBucket"], true);
        expect(verdict.problems.map((p) => p.key)).toEqual(["region"]);
        expect(verdict.problems[0].message).toMatch(
            /^was "nyc3" when this stack was last updated and is now "ams3", which this stack cannot take in place\. Nothing moves between regions/,
        );
        expect(verdict.problems[0].message).toContain("To keep the stack as it is: pulumi config set region nyc3.");
        expect(verdict.problems[0].message).toContain("pulumi config set --path 'allowReplace[0]' region");
        expect(verdict.problems[0].message).toContain("pulumi state unprotect");
        expect(setOnceVerdict(changes, [], false).problems[0].message).not.toContain("unprotect");
        expect(verdict.unusedAllows).toEqual(["backupBucket"]);
    });
});
