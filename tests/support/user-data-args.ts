// renderUserData arguments shaped like the two stacks', for the renderer's and the
// validator's unit tests and the cloud-init schema test: each changes what it tests.
import type { UserDataArgs } from "../../cloud-init/render";
import type { ToolkitFile } from "../../cloud-init/toolkit-files";

export const ED25519_KEY =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB5z8mM3x2yJ0n3s3Zp4kq7x9cYvT7dYw0p5d2s9uQ1a ops@example";
/** An RSA public key without a comment. */
export const RSA_KEY = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDx3Jq0z1Kx";
export const AGE_RECIPIENT = "age1hgud94ghnfv5glfeve6c0jqpqy08djv6chnsmhq7mer5m3vcpusqf7qxgn";
export const OTHER_AGE_RECIPIENT = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";

/** Small stand-ins for the toolkit; tests of size or of the host's behaviour use the real files. */
export const FAKE_TOOLKIT: ToolkitFile[] = [
    {
        path: "/usr/local/bin/fortress-backup",
        content: "#!/usr/bin/env bash\nset -euo pipefail\necho backup\n",
        permissions: "0755",
    },
    {
        path: "/usr/local/bin/fortress-verify",
        content: "#!/usr/bin/env bash\nset -euo pipefail\necho verify\n",
        permissions: "0755",
    },
    {
        path: "/usr/local/bin/fortress-heartbeat",
        content: "#!/usr/bin/env bash\nset -euo pipefail\necho heartbeat\n",
        permissions: "0755",
    },
    {
        path: "/usr/local/lib/fortress/common.sh",
        content: '# shellcheck shell=bash\ndie() { echo "$*" >&2; exit 1; }\n',
        permissions: "0644",
    },
];

/** A production stack's: two regions (backup bucket and offsite vault), encrypted, hourly. */
export function prodLikeArgs(overrides: Partial<UserDataArgs> = {}): UserDataArgs {
    return {
        environment: "prod",
        deployerSshKeys: [ED25519_KEY],
        postgresMajorVersion: "16",
        app: {
            repoUrl: "https://github.com/AlbertoDBP/Agentic.git",
            ref: "v1.0.0",
            dir: "/opt/income-platform",
            composeSubdir: "income-platform",
        },
        backupSchedule: "hourly",
        verifySchedule: "Sun *-*-* 08:00:00 UTC",
        backup: {
            s3Endpoint: "https://nyc3.digitaloceanspaces.com",
            bucket: "income-fortress-backups-prod",
            prefix: "postgresql/prod",
            offsiteS3Endpoint: "https://sfo3.digitaloceanspaces.com",
            offsiteBucket: "income-fortress-vault",
            ageRecipients: [AGE_RECIPIENT],
        },
        toolkitFiles: FAKE_TOOLKIT,
        ...overrides,
    };
}

/** A DR stack's: its own region's bucket only, another PostgreSQL major and other schedules. */
export function drLikeArgs(overrides: Partial<UserDataArgs> = {}): UserDataArgs {
    return prodLikeArgs({
        environment: "dr",
        postgresMajorVersion: "17",
        backupSchedule: "*:0/30",
        verifySchedule: "weekly",
        backup: {
            s3Endpoint: "https://sfo3.digitaloceanspaces.com",
            bucket: "income-fortress-backups-dr",
            prefix: "postgresql/dr",
            offsiteS3Endpoint: "",
            offsiteBucket: "",
            ageRecipients: [AGE_RECIPIENT],
        },
        ...overrides,
    });
}
