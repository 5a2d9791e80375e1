// Layer 2/3: bad config. Each case edits a real stack's config (as the CLI would load
// it), then (a) parses it with the pure parser and (b) runs the real program under
// mocks. The program must stop with a message that names the key, quotes the bad value
// and says what is allowed, and must not have registered a single resource.
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../config";
import { PROJECT, loadStackConfig, runProgram } from "./harness";

interface BadCase {
    name: string;
    /** Stack name the program runs as. */
    stack: string;
    /** Stack file the config comes from. */
    from: "prod" | "dr";
    /** Keys to set (string) or remove (null), without the namespace. */
    edit: Record<string, string | null>;
    /** Every key that must be reported, and a pattern its message must match. */
    expect: Record<string, RegExp>;
}

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID2gVhTbVzvr8WlcYotifbpmdXFMTZhILeHFLMv/IyRL ops@incomefortress.com";

const CASES: BadCase[] = [
    {
        name: "unknown region",
        stack: "prod",
        from: "prod",
        edit: { region: "nyc4" },
        expect: { region: /"nyc4" is not a DigitalOcean region; use one of: .*nyc3/ },
    },
    {
        name: "retired region",
        stack: "prod",
        from: "prod",
        edit: { region: "sfo1" },
        expect: { region: /"sfo1" is a retired .* use sfo3/ },
    },
    {
        name: "stack region without Spaces",
        stack: "prod",
        from: "prod",
        edit: { region: "nyc1" },
        expect: { region: /"nyc1" has no Spaces .* use one of: .*nyc3/ },
    },
    {
        name: "vault region without Spaces",
        stack: "prod",
        from: "prod",
        edit: { vaultRegion: "nyc1" },
        expect: { vaultRegion: /"nyc1" has no Spaces .*buckets can live only in: ams3, .*tor1/ },
    },
    {
        name: "dr region equal to the primary region",
        stack: "dr",
        from: "dr",
        edit: { region: "nyc3" },
        expect: { region: /"nyc3" is the primary region too.*different region/ },
    },
    {
        name: "vault in the primary region",
        stack: "prod",
        from: "prod",
        edit: { vaultRegion: "nyc3" },
        expect: { vaultRegion: /"nyc3" is the primary region.*survives losing nyc3/ },
    },
    {
        name: "dr without a primary region",
        stack: "dr",
        from: "dr",
        edit: { primaryRegion: null },
        expect: { primaryRegion: /is not set.*pulumi config set primaryRegion nyc3/ },
    },
    {
        name: "SSH from 0.0.0.0/0 without opt-in",
        stack: "prod",
        from: "prod",
        edit: { adminCidrs: '["0.0.0.0/0"]' },
        expect: { adminCidrs: /"0\.0\.0\.0\/0" opens SSH to the whole internet.*allowSshFromAnywhere true/ },
    },
    {
        name: "SSH from ::/0 hidden among good CIDRs",
        stack: "dr",
        from: "dr",
        edit: { adminCidrs: '["203.0.113.0/24","::/0"]' },
        expect: { adminCidrs: /"::\/0" opens SSH/ },
    },
    {
        name: "CIDR prefix too long",
        stack: "prod",
        from: "prod",
        edit: { adminCidrs: '["203.0.113.0/33"]' },
        expect: { adminCidrs: /item 0: "203\.0\.113\.0\/33" has prefix \/33, but IPv4 allows \/0 to \/32/ },
    },
    {
        name: "CIDR with host bits set",
        stack: "prod",
        from: "prod",
        edit: { adminCidrs: '["203.0.113.7/24"]' },
        expect: { adminCidrs: /"203\.0\.113\.7\/24" has host bits set; did you mean 203\.0\.113\.0\/24\?/ },
    },
    {
        name: "not a CIDR at all",
        stack: "prod",
        from: "prod",
        edit: { adminCidrs: '["office-vpn"]' },
        expect: { adminCidrs: /"office-vpn" is not an IP address or CIDR/ },
    },
    {
        name: "empty admin CIDR list",
        stack: "prod",
        from: "prod",
        edit: { adminCidrs: "[]" },
        expect: { adminCidrs: /\[\] is empty; list at least 1 admin CIDR/ },
    },
    {
        name: "admin CIDRs not a list",
        stack: "prod",
        from: "prod",
        edit: { adminCidrs: "203.0.113.0/24" },
        expect: { adminCidrs: /"203\.0\.113\.0\/24" is not a list.*--path/ },
    },
    {
        name: "TTL under 30",
        stack: "prod",
        from: "prod",
        edit: { dnsTtl: "10" },
        expect: {
            dnsTtl: /10 is out of range; use an integer from 30 to 86400 \(DigitalOcean rejects DNS TTLs under 30 seconds\)/,
        },
    },
    {
        name: "TTL not a number",
        stack: "prod",
        from: "prod",
        edit: { dnsTtl: "sixty" },
        expect: { dnsTtl: /"sixty" is not a whole number/ },
    },
    {
        name: "missing domain",
        stack: "prod",
        from: "prod",
        edit: { domain: null },
        expect: { domain: /is not set; DNS zone.*pulumi config set domain incomefortress\.com/ },
    },
    {
        name: "domain without a TLD",
        stack: "prod",
        from: "prod",
        edit: { domain: "incomefortress" },
        expect: { domain: /"incomefortress" is not a domain name/ },
    },
    {
        name: "PostgreSQL version DigitalOcean does not offer",
        stack: "prod",
        from: "prod",
        edit: { postgresVersion: "12" },
        expect: { postgresVersion: /PostgreSQL "12" is not offered by DigitalOcean.*14, 15, 16, 17/ },
    },
    {
        name: "PostgreSQL minor version",
        stack: "dr",
        from: "dr",
        edit: { postgresVersion: "17.2" },
        expect: { postgresVersion: /"17\.2" is not offered/ },
    },
    {
        name: "hostname with capitals",
        stack: "prod",
        from: "prod",
        edit: { hostname: "API" },
        expect: { hostname: /"API" is not a record name/ },
    },
    {
        name: "drill stack claiming the public record",
        stack: "drill-20260203",
        from: "dr",
        edit: { hostname: "api" },
        expect: { hostname: /"api" is not a drill name; .*drill-20260203/ },
    },
    {
        name: "protected drill stack",
        stack: "drill-20260203",
        from: "dr",
        edit: { hostname: "drill-20260203", protect: "true" },
        expect: { protect: /drill stacks must set protect false/ },
    },
    {
        name: "dr stack without the vault's name",
        stack: "dr",
        from: "dr",
        edit: { vaultBucket: null },
        expect: { vaultBucket: /is not set; a dr stack reads the primary stack's vault/ },
    },
    {
        name: "unknown role",
        stack: "prod",
        from: "prod",
        edit: { role: "secondary" },
        expect: { role: /is "secondary"; use one of: primary, dr/ },
    },
    {
        name: "boolean written as yes",
        stack: "prod",
        from: "prod",
        edit: { isolate: "yes" },
        expect: { isolate: /"yes" is not a boolean; use true or false/ },
    },
    {
        name: "SSH key fingerprint in SHA256 form",
        stack: "prod",
        from: "prod",
        edit: { sshKeyFingerprints: '["SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"]' },
        expect: { sshKeyFingerprints: /not a DigitalOcean SSH key reference; use the key's MD5 fingerprint/ },
    },
    {
        name: "private key pasted as a public key",
        stack: "prod",
        from: "prod",
        edit: { deployerPublicKeys: JSON.stringify([KEY, "-----BEGIN OPENSSH PRIVATE KEY-----"]) },
        expect: { deployerPublicKeys: /item 1: .* is not an OpenSSH public key/ },
    },
    {
        name: "age secret key instead of recipient",
        stack: "prod",
        from: "prod",
        edit: { ageRecipients: '["AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"]' },
        expect: { ageRecipients: /is not an age recipient; use the public key/ },
    },
    {
        name: "too many database nodes",
        stack: "prod",
        from: "prod",
        edit: { dbNodeCount: "4" },
        expect: { dbNodeCount: /4 is out of range; use an integer from 1 to 3/ },
    },
    {
        name: "maintenance hour out of range",
        stack: "prod",
        from: "prod",
        edit: { dbMaintenanceHour: "25:00" },
        expect: { dbMaintenanceHour: /"25:00" is not a time of day; use HH:MM in UTC/ },
    },
    {
        name: "reserved database user",
        stack: "prod",
        from: "prod",
        edit: { dbUser: "doadmin" },
        expect: { dbUser: /"doadmin" is reserved/ },
    },
    {
        name: "invalid bucket name",
        stack: "prod",
        from: "prod",
        edit: { backupBucket: "Income_Backups" },
        expect: { backupBucket: /"Income_Backups" is not a Spaces bucket name/ },
    },
    {
        name: "vault and backups in one bucket",
        stack: "prod",
        from: "prod",
        edit: { vaultBucket: "incomefortress-backups" },
        expect: { vaultBucket: /"incomefortress-backups" is also the backup bucket/ },
    },
    {
        name: "typo in a key name",
        stack: "prod",
        from: "prod",
        edit: { adminCidr: '["203.0.113.0/24"]' },
        expect: { adminCidr: /is not a config key of this project; did you mean adminCidrs\?/ },
    },
    {
        name: "git ref that would become an option",
        stack: "prod",
        from: "prod",
        edit: { appRef: "--upload-pack=touch" },
        expect: { appRef: /"--upload-pack=touch" is not a usable git ref/ },
    },
    {
        name: "zero-day retention",
        stack: "prod",
        from: "prod",
        edit: { backupRetentionDays: "0" },
        expect: { backupRetentionDays: /0 is out of range; use an integer from 1 to 3650/ },
    },
    {
        name: "several problems at once",
        stack: "prod",
        from: "prod",
        edit: { region: "nyc4", dnsTtl: "5", postgresVersion: "11", adminCidrs: '["::/0"]' },
        expect: { region: /"nyc4"/, dnsTtl: /5 is out of range/, postgresVersion: /"11"/, adminCidrs: /"::\/0"/ },
    },
    // Monitoring and the stale-backup heartbeat. Secret values (Slack webhook, heartbeat URL)
    // must never be quoted back: the (?!…) lookaheads fail if the message contains them.
    {
        name: "monitoring on with no alert target",
        stack: "prod",
        from: "prod",
        edit: { alertEmails: "[]" },
        expect: {
            alertEmails:
                /is empty and alertSlackWebhookUrl is not set, so monitoring's alerts would reach nobody; run pulumi config set --path 'alertEmails\[0\]' oncall@incomefortress\.com, or pulumi config set --secret alertSlackWebhookUrl .* with alertSlackChannel, or set monitoring false/,
        },
    },
    {
        name: "alert threshold over 100 percent",
        stack: "prod",
        from: "prod",
        edit: { alertCpuPercent: "150" },
        expect: { alertCpuPercent: /is 150; use a number from 1 to 100 \(percent\)/ },
    },
    {
        name: "alert threshold of zero",
        stack: "dr",
        from: "dr",
        edit: { alertMemoryPercent: "0" },
        expect: { alertMemoryPercent: /is 0; use a number from 1 to 100/ },
    },
    {
        name: "alert threshold not a number",
        stack: "prod",
        from: "prod",
        edit: { alertDiskPercent: "eighty" },
        expect: { alertDiskPercent: /"eighty" is not a whole number; use an integer from 1 to 100/ },
    },
    {
        name: "alert window DigitalOcean does not offer",
        stack: "dr",
        from: "dr",
        edit: { alertWindow: "2m" },
        expect: { alertWindow: /is "2m"; use one of: 5m, 10m, 30m, 1h/ },
    },
    {
        name: "alert e-mail that is not an address",
        stack: "prod",
        from: "prod",
        edit: { alertEmails: '["oncall@incomefortress.com","pagerduty"]' },
        expect: { alertEmails: /item 1: "pagerduty" is not an e-mail address; use one that receives the alerts/ },
    },
    {
        name: "the same alert e-mail twice",
        stack: "prod",
        from: "prod",
        edit: { alertEmails: '["oncall@incomefortress.com","oncall@incomefortress.com"]' },
        expect: { alertEmails: /"oncall@incomefortress\.com" is listed twice; list each address once/ },
    },
    {
        name: "Slack webhook on another host",
        stack: "prod",
        from: "prod",
        edit: {
            alertSlackWebhookUrl: "https://hooks.example.com/services/T0X/B0X/leakedtoken",
            alertSlackChannel: "#ops-alerts",
        },
        expect: {
            alertSlackWebhookUrl:
                /^(?!.*leakedtoken).*points at "hooks\.example\.com", not hooks\.slack\.com; use the https:\/\/hooks\.slack\.com\/services\/… URL/,
        },
    },
    {
        name: "Slack webhook over plain http",
        stack: "prod",
        from: "prod",
        edit: {
            alertSlackWebhookUrl: "http://hooks.slack.com/services/T0X/B0X/leakedtoken",
            alertSlackChannel: "#ops-alerts",
        },
        expect: { alertSlackWebhookUrl: /^(?!.*leakedtoken).*uses http, not https/ },
    },
    {
        name: "Slack webhook without a channel",
        stack: "dr",
        from: "dr",
        edit: { alertSlackWebhookUrl: "https://hooks.slack.com/services/T0X/B0X/leakedtoken" },
        expect: {
            alertSlackChannel:
                /^(?!.*leakedtoken).*is not set, but alertSlackWebhookUrl is; .*pulumi config set alertSlackChannel '#ops-alerts'/,
        },
    },
    {
        name: "Slack channel without a webhook",
        stack: "prod",
        from: "prod",
        edit: { alertSlackChannel: "#ops-alerts" },
        expect: {
            alertSlackWebhookUrl:
                /is not set, but alertSlackChannel is; .*pulumi config set --secret alertSlackWebhookUrl/,
        },
    },
    {
        name: "Slack channel with a space",
        stack: "prod",
        from: "prod",
        edit: {
            alertSlackWebhookUrl: "https://hooks.slack.com/services/T0X/B0X/leakedtoken",
            alertSlackChannel: "ops alerts",
        },
        expect: { alertSlackChannel: /is "ops alerts"; use a Slack channel name such as #ops-alerts/ },
    },
    {
        name: "health path without a leading slash",
        stack: "prod",
        from: "prod",
        edit: { healthPath: "health" },
        expect: { healthPath: /"health" is not a URL path; use a path that starts with \/.*such as \/health/ },
    },
    {
        name: "health path with a space",
        stack: "dr",
        from: "dr",
        edit: { healthPath: "/health check" },
        expect: { healthPath: /"\/health check" is not a URL path/ },
    },
    {
        name: "heartbeat URL over plain http",
        stack: "prod",
        from: "prod",
        edit: { backupHeartbeatUrl: "http://hc-ping.com/0f3c1d52-5b8e-4d7a-9c51-2f6a0b7e9d41" },
        expect: {
            backupHeartbeatUrl:
                /^(?!.*0f3c1d52).*uses http, not https, so the secret ping URL would travel in clear; .*pulumi config set --secret backupHeartbeatUrl/,
        },
    },
    {
        name: "heartbeat URL without a check id",
        stack: "dr",
        from: "dr",
        edit: { backupHeartbeatUrl: "https://hc-ping.com/" },
        expect: { backupHeartbeatUrl: /has no check id in its path; use the https ping URL of your heartbeat check/ },
    },
    {
        name: "heartbeat URL with a quote the credentials file cannot carry",
        stack: "prod",
        from: "prod",
        edit: { backupHeartbeatUrl: "https://hc-ping.com/0f3c1d52-5b8e'x" },
        expect: { backupHeartbeatUrl: /^(?!.*0f3c1d52).*has spaces, quotes, a backslash/ },
    },
    // TLS: DNS-01 needs its token, and only a dr stack takes over a public name.
    {
        name: "dns-01 without its token",
        stack: "dr",
        from: "dr",
        edit: { tlsDnsToken: null },
        expect: {
            tlsDnsToken:
                /is not set, but tlsChallenge is dns-01; .*pulumi config set --secret tlsDnsToken dop_v1_…, or set tlsChallenge http-01/,
        },
    },
    {
        name: "a DNS token that is not one",
        stack: "dr",
        from: "dr",
        edit: { tlsDnsToken: "dop_v1_leakedbutshort" },
        expect: {
            tlsDnsToken: /^(?!.*leakedbutshort).*is not a DigitalOcean API token \(dop_v1_ followed by 64 hex digits\)/,
        },
    },
    {
        name: "a DNS token left behind with http-01",
        stack: "prod",
        from: "prod",
        edit: { tlsDnsToken: `dop_v1_${"0123456789abcdef".repeat(4)}` },
        expect: {
            tlsDnsToken: /is set, but tlsChallenge is http-01, which does not use it; .*pulumi config rm tlsDnsToken/,
        },
    },
    {
        name: "dns-01 with no ACME e-mail",
        stack: "prod",
        from: "prod",
        edit: { tlsChallenge: "dns-01", tlsDnsToken: `dop_v1_${"0123456789abcdef".repeat(4)}`, tlsEmail: "" },
        expect: { tlsChallenge: /is dns-01, but tlsEmail is empty, so no certificate is requested at all/ },
    },
    {
        name: "a challenge Let's Encrypt does not offer here",
        stack: "prod",
        from: "prod",
        edit: { tlsChallenge: "tls-alpn-01" },
        expect: { tlsChallenge: /"tls-alpn-01".*http-01, dns-01/ },
    },
    {
        name: "a public name on the primary",
        stack: "prod",
        from: "prod",
        edit: { publicHostname: "www" },
        expect: { publicHostname: /is for a dr stack, .*pulumi config rm publicHostname/ },
    },
    {
        name: "a public name that is dr's own record",
        stack: "dr",
        from: "dr",
        edit: { publicHostname: "api-dr" },
        expect: {
            publicHostname: /"api-dr" is this stack's own record; name the primary's public record, such as api/,
        },
    },
    {
        name: "a public name over http-01",
        stack: "dr",
        from: "dr",
        edit: { tlsChallenge: "http-01", tlsDnsToken: null },
        expect: {
            publicHostname:
                /needs tlsChallenge dns-01: "api" points at the primary site until a cutover, so an HTTP-01 challenge for it can never reach this host/,
        },
    },
];

function editedConfig(c: BadCase): Record<string, string> {
    const config = loadStackConfig(c.from);
    for (const [key, value] of Object.entries(c.edit)) {
        if (value === null) delete config[`${PROJECT}:${key}`];
        else config[`${PROJECT}:${key}`] = value;
    }
    return config;
}

const raw = (config: Record<string, string>) =>
    Object.fromEntries(Object.entries(config).map(([k, v]) => [k.slice(PROJECT.length + 1), v]));

describe("bad config", () => {
    it("has at least 20 distinct cases", () => {
        expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
        expect(CASES.length).toBeGreaterThanOrEqual(20);
    });

    it("control: the unedited prod config registers resources in this same harness", async () => {
        const run = await runProgram("prod", loadStackConfig("prod"));
        expect(run.error).toBeUndefined();
        expect(run.registrations.length).toBeGreaterThan(20);
    });

    it.each(CASES.map((c) => [c.name, c] as const))(
        "%s: the parser names the key, the value and what is allowed",
        (_name, c) => {
            const result = parseConfig(raw(editedConfig(c)), c.stack);
            expect(result.ok).toBe(false);
            if (result.ok) return;
            expect(result.problems.map((p) => p.key).sort()).toEqual(
                Object.keys(c.expect)
                    .map((k) => `${PROJECT}:${k}`)
                    .sort(),
            );
            for (const [key, pattern] of Object.entries(c.expect)) {
                expect(result.problems.find((p) => p.key === `${PROJECT}:${key}`)!.message).toMatch(pattern);
            }
        },
    );

    it.each(CASES.map((c) => [c.name, c] as const))(
        "%s: the program stops before registering any resource",
        async (_name, c) => {
            const run = await runProgram(c.stack, editedConfig(c));
            expect(run.registrations).toEqual([]);
            expect(run.outputs).toBeUndefined();
            expect(pulumi.RunError.isInstance(run.error)).toBe(true);
            const message = run.error!.message;
            expect(message).toMatch(
                new RegExp(
                    `^Invalid configuration for stack "${c.stack}" \\(${Object.keys(c.expect).length} problems?\\)`,
                ),
            );
            for (const [key, pattern] of Object.entries(c.expect)) {
                const line = message.split("\n").find((l) => l.startsWith(`  - ${PROJECT}:${key}: `));
                expect(line, `no line for ${key} in:\n${message}`).toBeDefined();
                expect(line).toMatch(pattern);
            }
        },
    );

    it("control: after all the failures, a good config still registers resources", async () => {
        const run = await runProgram("dr", loadStackConfig("dr"));
        expect(run.error).toBeUndefined();
        expect(run.registrations.length).toBeGreaterThan(20);
    });
});
