// Table tests for the user-data validators: each bad input must be rejected with a
// message that names the setting and the fix; each good input must pass untouched.
import { describe, expect, it } from "vitest";
import {
    validateAgeRecipients,
    validateAppDir,
    validateBackupPrefix,
    validateBucketName,
    validateComposeSubdir,
    validateEnvironmentName,
    validateGitRef,
    validateOnCalendar,
    validatePostgresMajor,
    validateRepoUrl,
    validateS3Endpoint,
    validateSshPublicKeys,
} from "../../cloud-init/validate";

const ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB5z8mM3x2yJ0n3s3Zp4kq7x9cYvT7dYw0p5d2s9uQ1a ops@example";
const RSA = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDx3Jq0z1Kx";
const AGE = "age1hgud94ghnfv5glfeve6c0jqpqy08djv6chnsmhq7mer5m3vcpusqf7qxgn";

type Case<T> = [label: string, input: T, expected: RegExp | null];

function table<T>(name: string, validate: (v: T) => string[], cases: Case<T>[]) {
    describe(name, () => {
        it.each(cases)("%s", (_label, input, expected) => {
            const problems = validate(input);
            if (expected === null) {
                expect(problems).toEqual([]);
            } else {
                expect(problems.length).toBeGreaterThan(0);
                expect(problems.join("\n")).toMatch(expected);
                for (const p of problems) expect(p).not.toContain("\n");
            }
        });
    });
}

table("validateSshPublicKeys", validateSshPublicKeys, [
    ["one ed25519 key", [ED25519], null],
    ["rsa without comment", [RSA], null],
    ["FIDO key", ["sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t me"], null],
    ["empty list", [], /deployerSshKeys is empty.*public key/],
    ["not an ssh- key", ["ecdh-foo AAAAC3Nz"], /deployerSshKeys\[0\].*key type such as ssh-ed25519/],
    ["fingerprint instead of key", ["SHA256:2dbd6f0b1ad4e0e1bd5e8d1c"], /key type/],
    ["second key bad", [ED25519, "hello"], /deployerSshKeys\[1\]/],
    ["private key pasted", ["-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----"], /PRIVATE key.*\.pub/],
    ["two keys on two lines", [`${ED25519}\n${RSA}`], /several lines/],
    ["type without body", ["ssh-ed25519"], /no base64 key/],
]);

table("validateGitRef", validateGitRef, [
    ["tag", "v1.0.0", null],
    ["full commit id", "3f786850e387550fdab836ed7e6dc881de23001b", null],
    ["release branch path", "release/2026.02", null],
    ["empty", "", /app\.ref is empty/],
    ["shell metacharacters", "v1.0.0;rm -rf /", /characters outside/],
    ["command substitution", "$(reboot)", /characters outside/],
    ["option injection", "--orphan", /must not start with "-"/],
    ["double dot", "v1..v2", /not a valid git ref/],
    ["ends with .lock", "main.lock", /not a valid git ref/],
    ["reflog syntax", "main@{1}", /characters outside/],
    ["space", "v1 .0", /characters outside/],
]);

table("validateRepoUrl", validateRepoUrl, [
    ["https", "https://github.com/AlbertoDBP/Agentic.git", null],
    ["scp-like ssh", "git@github.com:AlbertoDBP/Agentic.git", null],
    ["ssh url", "ssh://git@github.com/AlbertoDBP/Agentic.git", null],
    ["empty", "", /app\.repoUrl is empty/],
    ["plain http", "http://github.com/x/y.git", /http:\/\/.*not allowed/],
    ["git protocol", "git://github.com/x/y.git", /git:\/\/.*not allowed/],
    ["file transport", "file:///etc", /file:\/\/.*not allowed/],
    ["ext transport runs commands", "ext::sh -c reboot", /unexpected characters/],
    ["token in https url", "https://ghp_abc123@github.com/x/y.git", /credentials.*user-data/],
    ["user and password", "https://me:hunter2@github.com/x/y.git", /credentials/],
    ["ssh password", "ssh://me:hunter2@github.com/x/y.git", /password/],
    ["quote injection", "https://github.com/x/y.git' && reboot '", /unexpected characters/],
]);

table("validateAppDir", validateAppDir, [
    ["opt", "/opt/income-platform", null],
    ["deployer home", "/home/deployer/Agentic", null],
    ["relative", "Agentic/income-platform", /relative.*absolute path/],
    ["root", "/", /not a normalised path|top-level/],
    ["top level", "/opt", /top-level/],
    ["trailing slash", "/opt/app/", /normalised/],
    ["dot dot", "/opt/../etc/app", /normalised/],
    ["system dir", "/etc/income-platform", /system directory \/etc/],
    ["usr", "/usr/local/app", /system directory \/usr/],
    ["marker dir", "/var/lib/income-fortress/app", /system directory/],
    ["space", "/opt/income platform", /characters outside/],
]);

table("validateComposeSubdir", validateComposeSubdir, [
    ["repo root", ".", null],
    ["plan's subdir", "income-platform", null],
    ["nested", "deploy/prod", null],
    ["absolute", "/income-platform", /relative path/],
    ["escapes checkout", "../other", /relative path/],
    ["space", "a b", /unexpected characters/],
]);

table("validatePostgresMajor", validatePostgresMajor, [
    ["15", "15", null],
    ["16", "16", null],
    ["17", "17", null],
    ["minor version", "16.4", /not a whole major version.*"16"/],
    ["v prefix", "v16", /not a whole major version/],
    ["empty", "", /not a whole major version/],
    ["too old scheme", "9", /out of range/],
]);

table("validateEnvironmentName", validateEnvironmentName, [
    ["prod", "prod", null],
    ["drill", "drill-20260203t100000z", null],
    ["empty", "", /environment "" must be/],
    ["space", "prod env", /must be 1-63/],
    ["quote", "prod'", /must be 1-63/],
]);

table("validateOnCalendar", (s: string) => validateOnCalendar("backupSchedule", s), [
    ["hourly", "hourly", null],
    ["weekly", "weekly", null],
    ["full expression", "Sun *-*-* 08:00:00 UTC", null],
    ["with zone", "*-*-* 02:00:00 America/New_York", null],
    ["every 15 minutes", "*:0/15", null],
    ["empty", "", /backupSchedule is empty/],
    ["cron", "0 * * * *", /cron expression/],
    ["newline injection", "hourly\nExecStart=/bin/sh", /characters a calendar expression never uses/],
    ["word", "sometimes", /neither a shorthand/],
    ["padded", " hourly", /leading or trailing spaces/],
]);

table("validateS3Endpoint", (s: string) => validateS3Endpoint("backup.s3Endpoint", s), [
    ["spaces", "https://nyc3.digitaloceanspaces.com", null],
    ["loopback http", "http://127.0.0.1:4569", null],
    ["not a url", "nyc3.digitaloceanspaces.com", /not a URL/],
    ["plain http remote", "http://nyc3.digitaloceanspaces.com", /must use https/],
    ["credentials", "https://AKIAXXXX:secret@nyc3.digitaloceanspaces.com", /credentials/],
    ["bucket path", "https://nyc3.digitaloceanspaces.com/bucket", /path, query or trailing slash/],
    ["trailing slash", "https://nyc3.digitaloceanspaces.com/", /trailing slash/],
]);

table("validateBucketName", (s: string) => validateBucketName("backup.bucket", s), [
    ["simple", "income-fortress-backups-prod", null],
    ["uppercase", "Backups", /not a valid bucket name/],
    ["too short", "ab", /not a valid bucket name/],
    ["underscore", "my_bucket", /not a valid bucket name/],
    ["quote", "bucket'x", /not a valid bucket name/],
]);

table("validateBackupPrefix", validateBackupPrefix, [
    ["two parts", "postgresql/prod", null],
    ["one part", "postgresql", null],
    ["leading slash", "/postgresql/prod", /without a leading or trailing slash/],
    ["trailing slash", "postgresql/prod/", /without a leading or trailing slash/],
    ["dot dot", "postgresql/../x", /must be path segments/],
    ["empty", "", /must be path segments/],
    ["space", "postgresql/my env", /must be path segments/],
]);

table("validateAgeRecipients", validateAgeRecipients, [
    ["none (encryption off)", [], null],
    ["one", [AGE], null],
    ["two", [AGE, AGE.replace("qxgn", "qxgm")], null],
    ["secret key", ["AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"], /SECRET key.*age-keygen -y/],
    ["ssh key", [ED25519], /not an age public key/],
    ["space-joined list in one entry", [`${AGE} ${AGE}`], /not an age public key/],
]);
