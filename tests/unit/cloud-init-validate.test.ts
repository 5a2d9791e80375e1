// Table tests for the user-data validation (validateUserDataArgs): one setting changed at
// a time on valid arguments. A bad value must be reported on one line that names the
// setting and the fix; a good one must pass. The rules themselves are table-tested in
// config-rules.test.ts; this checks that the renderer applies the right rule to each
// setting, and its own rules across settings.
import { describe, expect, it } from "vitest";
import { validateUserDataArgs, type UserDataArgs } from "../../cloud-init/render";
import { AGE_RECIPIENT as AGE, ED25519_KEY as ED25519, prodLikeArgs, RSA_KEY as RSA } from "../support/user-data-args";

const VALID = prodLikeArgs();

const app = (a: Partial<UserDataArgs["app"]>): UserDataArgs => ({ ...VALID, app: { ...VALID.app, ...a } });
const backup = (b: Partial<UserDataArgs["backup"]>): UserDataArgs => ({ ...VALID, backup: { ...VALID.backup, ...b } });

function table(name: string, cases: [label: string, args: UserDataArgs, expected: RegExp | null][]) {
    describe(name, () => {
        it.each(cases)("%s", (_label, args, expected) => {
            const problems = validateUserDataArgs(args);
            if (expected === null) {
                expect(problems).toEqual([]);
            } else {
                expect(problems).toHaveLength(1);
                expect(problems[0]).toMatch(expected);
                expect(problems[0]).not.toContain("\n");
            }
        });
    });
}

it("the valid arguments pass", () => expect(validateUserDataArgs(VALID)).toEqual([]));

table("environment", [
    ["drill", { ...VALID, environment: "drill-20260203t100000z" }, null],
    [
        "empty",
        { ...VALID, environment: "" },
        /^environment stack name "" cannot be used in resource names; use 2 to 40 lowercase/,
    ],
    ["space", { ...VALID, environment: "prod env" }, /^environment stack name "prod env"/],
    ["quote", { ...VALID, environment: "prod'" }, /^environment stack name "prod'"/],
    ["capitals, which no bucket or tag takes", { ...VALID, environment: "Prod" }, /^environment stack name "Prod"/],
]);

table("deployerSshKeys: the form of each key, never a private one", [
    ["rsa without comment", { ...VALID, deployerSshKeys: [RSA] }, null],
    [
        "FIDO key",
        { ...VALID, deployerSshKeys: ["sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t me"] },
        null,
    ],
    ["empty list", { ...VALID, deployerSshKeys: [] }, /^deployerSshKeys is empty: add at least one OpenSSH public key/],
    [
        "unknown type",
        { ...VALID, deployerSshKeys: ["ecdh-foo AAAAC3Nz"] },
        /^deployerSshKeys\[0\] "ecdh-foo AAAAC3Nz" is not an OpenSSH public key \(type must be one of ssh-ed25519/,
    ],
    [
        "fingerprint instead of key",
        { ...VALID, deployerSshKeys: ["SHA256:2dbd6f0b1ad4e0e1bd5e8d1c"] },
        /type must be one of/,
    ],
    [
        "second key bad",
        { ...VALID, deployerSshKeys: [ED25519, "hello"] },
        /^deployerSshKeys\[1\] "hello" is not an OpenSSH public key/,
    ],
    [
        "private key pasted",
        {
            ...VALID,
            deployerSshKeys: ["-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----"],
        },
        /^deployerSshKeys\[0\] is a PRIVATE key.*\.pub/,
    ],
    [
        "two keys on two lines",
        { ...VALID, deployerSshKeys: [`${ED25519}\n${RSA}`] },
        /^deployerSshKeys\[0\] .*\(it spans several lines\)/,
    ],
    ["type without body", { ...VALID, deployerSshKeys: ["ssh-ed25519"] }, /the key data is missing or not base64/],
]);

table("postgresMajorVersion: a major DigitalOcean offers", [
    ["15", { ...VALID, postgresMajorVersion: "15" }, null],
    [
        "minor version",
        { ...VALID, postgresMajorVersion: "16.4" },
        /^postgresMajorVersion PostgreSQL "16\.4" is not offered by DigitalOcean managed databases; use one of: 14, 15, 16, 17$/,
    ],
    ["v prefix", { ...VALID, postgresMajorVersion: "v16" }, /"v16" is not offered/],
    ["empty", { ...VALID, postgresMajorVersion: "" }, /"" is not offered/],
    ["a major DigitalOcean no longer offers", { ...VALID, postgresMajorVersion: "13" }, /"13" is not offered/],
]);

table("app.repoUrl", [
    ["scp-like ssh", app({ repoUrl: "git@github.com:AlbertoDBP/Agentic.git" }), null],
    ["ssh url", app({ repoUrl: "ssh://git@github.com/AlbertoDBP/Agentic.git" }), null],
    ["empty", app({ repoUrl: "" }), /^app\.repoUrl is empty; use https:\/\/host\/owner\/repo\.git/],
    ["plain http", app({ repoUrl: "http://github.com/x/y.git" }), /^app\.repoUrl uses http:\/\/, which is not allowed/],
    ["git protocol", app({ repoUrl: "git://github.com/x/y.git" }), /uses git:\/\/, which is not allowed/],
    ["file transport", app({ repoUrl: "file:///etc" }), /uses file:\/\/, which is not allowed/],
    [
        "ext transport runs commands",
        app({ repoUrl: "ext::sh -c reboot" }),
        /^app\.repoUrl "ext::sh -c reboot" is not a git URL the host can clone/,
    ],
    [
        "token in https url",
        app({ repoUrl: "https://ghp_abc123@github.com/x/y.git" }),
        /^app\.repoUrl contains credentials, which would be stored in user-data/,
    ],
    [
        "user and password",
        app({ repoUrl: "https://me:hunter2@github.com/x/y.git" }),
        /^app\.repoUrl contains credentials(?!.*hunter2)/,
    ],
    [
        "ssh password",
        app({ repoUrl: "ssh://me:hunter2@github.com/x/y.git" }),
        /^app\.repoUrl contains a password(?!.*hunter2)/,
    ],
    [
        "quote injection",
        app({ repoUrl: "https://github.com/x/y.git' && reboot '" }),
        /is not a git URL the host can clone/,
    ],
    [
        "scp-like without a colon is a local path to git",
        app({ repoUrl: "git@github.com/x/y.git" }),
        /is not a git URL the host can clone/,
    ],
    [
        "a user that ssh would read as an option",
        app({ repoUrl: "-oProxyCommand@github.com:x/y.git" }),
        /is not a git URL the host can clone/,
    ],
]);

table("app.ref: a ref git check-ref-format takes, never an option", [
    ["full commit id", app({ ref: "3f786850e387550fdab836ed7e6dc881de23001b" }), null],
    ["release branch path", app({ ref: "release/2026.02" }), null],
    ["empty", app({ ref: "" }), /^app\.ref "" is not a usable git ref \(it is empty\); use a tag such as v1\.0\.0/],
    ["shell metacharacters", app({ ref: "v1.0.0;rm -rf /" }), /\(it has characters outside A-Z a-z 0-9/],
    ["command substitution", app({ ref: "$(reboot)" }), /characters outside/],
    ["option injection", app({ ref: "--orphan" }), /starts with "-"/],
    ["double dot", app({ ref: "v1..v2" }), /git check-ref-format refuses it/],
    ["ends with .lock", app({ ref: "main.lock" }), /git check-ref-format refuses it/],
    ["a component that is hidden", app({ ref: "release/.next" }), /git check-ref-format refuses it/],
    ["reflog syntax", app({ ref: "main@{1}" }), /characters outside/],
    ["space", app({ ref: "v1 .0" }), /characters outside/],
]);

table("app.dir: an absolute checkout directory outside the system's", [
    ["deployer home", app({ dir: "/home/deployer/Agentic" }), null],
    [
        "relative",
        app({ dir: "Agentic/income-platform" }),
        /^app\.dir "Agentic\/income-platform" is not a plain absolute path; use one like/,
    ],
    ["root", app({ dir: "/" }), /is not a plain absolute path/],
    ["top level", app({ dir: "/opt" }), /^app\.dir "\/opt" is a top-level directory/],
    ["trailing slash", app({ dir: "/opt/app/" }), /not a plain absolute path/],
    ["dot dot", app({ dir: "/opt/../etc/app" }), /not a plain absolute path/],
    ["system dir", app({ dir: "/etc/income-platform" }), /is inside the system directory \/etc/],
    ["usr", app({ dir: "/usr/local/app" }), /system directory \/usr;/],
    [
        "the toolkit's state",
        app({ dir: "/var/lib/income-fortress/app" }),
        /system directory \/var\/lib\/income-fortress/,
    ],
    ["space", app({ dir: "/opt/income platform" }), /not a plain absolute path/],
]);

table("app.composeSubdir", [
    ["repo root", app({ composeSubdir: "." }), null],
    ["nested", app({ composeSubdir: "deploy/prod" }), null],
    ["absent means the root", app({ composeSubdir: undefined }), null],
    [
        "absolute",
        app({ composeSubdir: "/income-platform" }),
        /^app\.composeSubdir "\/income-platform" is not a relative directory inside the repository/,
    ],
    ["escapes checkout", app({ composeSubdir: "../other" }), /not a relative directory/],
    ["space", app({ composeSubdir: "a b" }), /not a relative directory/],
]);

table("backupSchedule and verifySchedule: systemd OnCalendar", [
    ["weekly", { ...VALID, backupSchedule: "weekly" }, null],
    [
        "with a time zone that has an underscore",
        { ...VALID, backupSchedule: "*-*-* 02:00:00 America/Port_of_Spain" },
        null,
    ],
    ["with an Etc zone that has a plus", { ...VALID, backupSchedule: "*-*-* 02:00:00 Etc/GMT+5" }, null],
    ["every 15 minutes", { ...VALID, backupSchedule: "*:0/15" }, null],
    ["absent: the renderer's defaults", { ...VALID, backupSchedule: undefined, verifySchedule: undefined }, null],
    ["empty", { ...VALID, backupSchedule: "" }, /^backupSchedule is empty; use hourly/],
    ["cron", { ...VALID, backupSchedule: "0 * * * *" }, /^backupSchedule "0 \* \* \* \*" looks like a cron expression/],
    [
        "newline injection",
        { ...VALID, verifySchedule: "hourly\nExecStart=/bin/sh" },
        /^verifySchedule .* has characters a calendar expression never uses/,
    ],
    [
        "word",
        { ...VALID, verifySchedule: "sometimes" },
        /^verifySchedule "sometimes" is neither a shorthand nor a date\/time pattern/,
    ],
    [
        "padded",
        { ...VALID, backupSchedule: " hourly" },
        /^backupSchedule " hourly" has leading or trailing spaces; remove them/,
    ],
]);

table("backup.s3Endpoint and backup.offsiteS3Endpoint", [
    ["loopback http, for test servers", backup({ s3Endpoint: "http://127.0.0.1:4569" }), null],
    [
        "not a url",
        backup({ s3Endpoint: "nyc3.digitaloceanspaces.com" }),
        /^backup\.s3Endpoint "nyc3\.digitaloceanspaces\.com" is not a URL; use the bare endpoint/,
    ],
    [
        "plain http remote",
        backup({ s3Endpoint: "http://nyc3.digitaloceanspaces.com" }),
        /^backup\.s3Endpoint must use https:\/\//,
    ],
    [
        "credentials",
        backup({ s3Endpoint: "https://AKIAXXXX:secret@nyc3.digitaloceanspaces.com" }),
        /^backup\.s3Endpoint contains credentials(?!.*secret@)/,
    ],
    [
        "bucket path",
        backup({ s3Endpoint: "https://nyc3.digitaloceanspaces.com/bucket" }),
        /has a path, query or trailing slash/,
    ],
    [
        "trailing slash",
        backup({ offsiteS3Endpoint: "https://sfo3.digitaloceanspaces.com/" }),
        /^backup\.offsiteS3Endpoint .*trailing slash/,
    ],
    [
        "upper case the parser would rewrite",
        backup({ s3Endpoint: "https://NYC3.digitaloceanspaces.com" }),
        /is not a plain scheme:\/\/host\[:port\]/,
    ],
]);

table("backup.bucket and backup.offsiteBucket: Spaces bucket names", [
    [
        "uppercase",
        backup({ bucket: "Backups" }),
        /^backup\.bucket "Backups" is not a Spaces bucket name; use 3 to 63 lowercase letters/,
    ],
    ["too short", backup({ bucket: "ab" }), /not a Spaces bucket name/],
    ["underscore", backup({ bucket: "my_bucket" }), /not a Spaces bucket name/],
    ["quote", backup({ offsiteBucket: "bucket'x" }), /^backup\.offsiteBucket "bucket'x" is not a Spaces bucket name/],
    ["dots, which Spaces' certificate does not cover", backup({ bucket: "my.backups" }), /no dots/],
]);

table("backup.prefix", [
    ["one part", backup({ prefix: "postgresql" }), null],
    [
        "leading slash",
        backup({ prefix: "/postgresql/prod" }),
        /^backup\.prefix "\/postgresql\/prod" is not an object prefix; .*without a leading or trailing slash/,
    ],
    ["trailing slash", backup({ prefix: "postgresql/prod/" }), /without a leading or trailing slash/],
    ["dot dot", backup({ prefix: "postgresql/../x" }), /not an object prefix/],
    ["empty", backup({ prefix: "" }), /not an object prefix/],
    ["space", backup({ prefix: "postgresql/my env" }), /not an object prefix/],
]);

table("the offsite bucket and endpoint go together", [
    ["neither: a dr stack", backup({ offsiteBucket: "", offsiteS3Endpoint: "" }), null],
    [
        "bucket only",
        backup({ offsiteS3Endpoint: "" }),
        /^backup\.offsiteBucket and backup\.offsiteS3Endpoint must both be set or both be empty$/,
    ],
    ["endpoint only", backup({ offsiteBucket: "" }), /must both be set or both be empty/],
]);

table("backup.ageRecipients: public keys only", [
    ["none (encryption off)", backup({ ageRecipients: [] }), null],
    ["two", backup({ ageRecipients: [AGE, AGE.replace("qxgn", "qxgm")] }), null],
    [
        "secret key",
        backup({ ageRecipients: ["AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"] }),
        /^backup\.ageRecipients\[0\] is an age SECRET key.*age-keygen -y(?!.*QQQQ)/,
    ],
    ["ssh key", backup({ ageRecipients: [ED25519] }), /^backup\.ageRecipients\[0\] ".*" is not an age recipient/],
    ["space-joined list in one entry", backup({ ageRecipients: [`${AGE} ${AGE}`] }), /is not an age recipient/],
]);
