// Pure validators for everything the user-data renderer puts on the droplet.
// Each returns a list of problems (empty when valid); every message names the
// setting, says what is wrong and what to do. User-data is visible to anyone who can
// read the droplet's metadata, so several checks exist only to keep secrets out of it.
import { envValueProblem } from "./env-file";

/** Key types OpenSSH accepts in authorized_keys (the `sk-` ones are FIDO keys). */
export const SSH_KEY_TYPES = [
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/** Validates the `deployer` user's OpenSSH public keys. */
export function validateSshPublicKeys(keys: readonly string[]): string[] {
    if (keys.length === 0) {
        return ["deployerSshKeys is empty: add at least one OpenSSH public key (the contents of ~/.ssh/id_ed25519.pub), or nobody can log in"];
    }
    const problems: string[] = [];
    keys.forEach((key, i) => {
        const where = `deployerSshKeys[${i}]`;
        if (/PRIVATE KEY/.test(key)) {
            problems.push(`${where} is a PRIVATE key: remove it now and pass the .pub file's contents instead`);
            return;
        }
        if (/[\r\n]/.test(key)) {
            problems.push(`${where} spans several lines: give one key per entry, on one line`);
            return;
        }
        const [type, body] = key.split(" ");
        if (!SSH_KEY_TYPES.includes(type ?? "")) {
            problems.push(`${where} does not start with a key type such as ssh-ed25519 or ssh-rsa: pass an OpenSSH public key ("ssh-ed25519 AAAA… comment")`);
            return;
        }
        if (!/^AAAA[A-Za-z0-9+/]+={0,3}$/.test(body ?? "")) {
            problems.push(`${where} has no base64 key after "${type}": copy the whole line from the .pub file`);
        }
    });
    return problems;
}

/** Validates the pinned git ref: a tag, branch or commit id that is safe on a command line. */
export function validateGitRef(ref: string): string[] {
    const hint = "use a tag such as v1.0.0 or a full commit id";
    if (ref === "") return [`app.ref is empty: ${hint}`];
    if (!/^[A-Za-z0-9._/-]+$/.test(ref)) {
        return [`app.ref ${JSON.stringify(ref)} has characters outside A-Z a-z 0-9 . _ / -: ${hint}`];
    }
    if (ref.startsWith("-") || ref.startsWith("/") || ref.startsWith(".")) {
        return [`app.ref ${JSON.stringify(ref)} must not start with "-", "/" or ".": ${hint}`];
    }
    if (ref.includes("..") || ref.includes("//") || ref.endsWith("/") || ref.endsWith(".") || ref.endsWith(".lock")) {
        return [`app.ref ${JSON.stringify(ref)} is not a valid git ref name (see git check-ref-format): ${hint}`];
    }
    return [];
}

/**
 * Validates the application repository URL. Only https and ssh transports: plain http
 * and git:// can be tampered with in transit, and `ext::`/`file://` run or read local
 * things. A URL with credentials would put a token into user-data.
 */
export function validateRepoUrl(url: string): string[] {
    if (url === "") return ["app.repoUrl is empty: give the application's git URL, e.g. https://github.com/owner/repo.git"];
    if (!/^[A-Za-z0-9@:/._~+-]+$/.test(url)) {
        return [`app.repoUrl ${JSON.stringify(url)} has spaces, quotes or other unexpected characters: give a plain https:// or ssh git URL`];
    }
    const scpLike = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[A-Za-z0-9._~/+-]+$/.test(url);
    if (scpLike) return [];
    let parsed: URL;
    try {
        parsed = new URL(url);
    } catch {
        return [`app.repoUrl ${JSON.stringify(url)} is not a URL: use https://host/owner/repo.git or git@host:owner/repo.git`];
    }
    if (parsed.protocol !== "https:" && parsed.protocol !== "ssh:") {
        return [`app.repoUrl uses ${parsed.protocol.replace(/:$/, "")}://, which is not allowed: use https:// (public repo) or ssh:// / git@host:path`];
    }
    if (parsed.protocol === "https:" && (parsed.username !== "" || parsed.password !== "")) {
        return ["app.repoUrl contains credentials, which would be stored in user-data: remove them and use a public URL or an SSH deploy key"];
    }
    if (parsed.password !== "") {
        return ["app.repoUrl contains a password, which would be stored in user-data: remove it and use an SSH deploy key"];
    }
    return [];
}

/** Top-level directories the application must never be checked out into. */
const SYSTEM_DIRS = ["/bin", "/boot", "/dev", "/etc", "/lib", "/lib64", "/proc", "/root", "/run", "/sbin", "/sys", "/tmp", "/usr", "/var/tmp", "/var/lib/income-fortress"];

/** Validates an absolute host path the renderer creates (the application checkout). */
export function validateAppDir(dir: string): string[] {
    const hint = "use an absolute path such as /opt/income-platform or /home/deployer/app";
    if (!dir.startsWith("/")) return [`app.dir ${JSON.stringify(dir)} is relative: ${hint}`];
    if (!/^[A-Za-z0-9._/-]+$/.test(dir)) return [`app.dir ${JSON.stringify(dir)} has characters outside A-Z a-z 0-9 . _ / -: ${hint}`];
    const parts = dir.split("/").slice(1);
    if (parts.some((p) => p === "" || p === "." || p === "..")) {
        return [`app.dir ${JSON.stringify(dir)} is not a normalised path (empty, "." or ".." parts, or a trailing slash): ${hint}`];
    }
    if (parts.length < 2) return [`app.dir ${JSON.stringify(dir)} is a top-level directory: ${hint}`];
    const system = SYSTEM_DIRS.find((s) => dir === s || dir.startsWith(`${s}/`));
    if (system !== undefined) return [`app.dir ${JSON.stringify(dir)} is inside the system directory ${system}: ${hint}`];
    return [];
}

/** Validates the compose project's directory inside the checkout (relative, no `..`). */
export function validateComposeSubdir(subdir: string): string[] {
    if (subdir === ".") return [];
    const hint = 'use "." or a path inside the repository such as income-platform';
    if (!/^[A-Za-z0-9._/-]+$/.test(subdir)) return [`app.composeSubdir ${JSON.stringify(subdir)} has unexpected characters: ${hint}`];
    const parts = subdir.split("/");
    if (subdir.startsWith("/") || parts.some((p) => p === "" || p === "." || p === "..")) {
        return [`app.composeSubdir ${JSON.stringify(subdir)} must be a relative path without "." or ".." parts: ${hint}`];
    }
    return [];
}

/** Validates the PostgreSQL major version (a whole number since PostgreSQL 10). */
export function validatePostgresMajor(major: string): string[] {
    if (!/^[0-9]+$/.test(major)) {
        return [`postgresMajorVersion ${JSON.stringify(major)} is not a whole major version: use the managed server's major, e.g. "16" (not "16.4" or "v16")`];
    }
    const n = Number(major);
    if (n < 10 || n > 99) {
        return [`postgresMajorVersion ${major} is out of range: PGDG publishes postgresql-client-<major> for majors 10 and later; use the managed server's major`];
    }
    return [];
}

/** Validates the environment name (`prod`, `dr`, `drill-20260203t1000z`, …). */
export function validateEnvironmentName(name: string): string[] {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) {
        return [`environment ${JSON.stringify(name)} must be 1-63 characters of A-Z a-z 0-9 . _ - starting with a letter or digit, e.g. prod, dr or drill-20260203`];
    }
    return [];
}

/** systemd's named calendar shorthands (systemd.time(7)). */
const CALENDAR_SHORTHANDS = ["minutely", "hourly", "daily", "weekly", "monthly", "yearly", "annually", "quarterly", "semiannually"];

/**
 * Minimal OnCalendar check: one line, a safe character set, and a hint for the
 * commonest mistake (a cron expression). The full grammar is systemd's; the
 * integration test feeds the rendered timers to `systemd-analyze calendar`.
 */
export function validateOnCalendar(field: string, spec: string): string[] {
    const hint = 'use a systemd calendar expression such as "hourly", "weekly" or "Sun *-*-* 08:00:00 UTC" (see systemd.time(7))';
    if (spec.trim() === "") return [`${field} is empty: ${hint}`];
    if (spec !== spec.trim()) return [`${field} ${JSON.stringify(spec)} has leading or trailing spaces: remove them`];
    if (CALENDAR_SHORTHANDS.includes(spec)) return [];
    if (spec.length > 128 || !/^[A-Za-z0-9 ,:*./~+_-]+$/.test(spec)) {
        return [`${field} ${JSON.stringify(spec)} has characters a calendar expression never uses: ${hint}`];
    }
    if (/^[0-9*/,-]+( [0-9*/,-]+){4}$/.test(spec)) {
        return [`${field} ${JSON.stringify(spec)} looks like a cron expression, which systemd does not read: ${hint}`];
    }
    if (!/[0-9*]/.test(spec)) {
        return [`${field} ${JSON.stringify(spec)} is neither a shorthand nor a date/time pattern: ${hint}`];
    }
    return [];
}

/** Validates an S3 endpoint URL: https (http only on loopback, for tests), no credentials, no path. */
export function validateS3Endpoint(field: string, endpoint: string): string[] {
    const hint = "use the bare endpoint, e.g. https://nyc3.digitaloceanspaces.com";
    let parsed: URL;
    try {
        parsed = new URL(endpoint);
    } catch {
        return [`${field} ${JSON.stringify(endpoint)} is not a URL: ${hint}`];
    }
    const loopback = parsed.hostname === "localhost" || parsed.hostname === "[::1]" || /^127\./.test(parsed.hostname);
    if (parsed.protocol !== "https:" && !(parsed.protocol === "http:" && loopback)) {
        return [`${field} must use https:// (plain http is accepted only for loopback test servers): ${hint}`];
    }
    if (parsed.username !== "" || parsed.password !== "") {
        return [`${field} contains credentials, which would be stored in user-data: remove them (keys go to credentials.env over SSH)`];
    }
    if ((parsed.pathname !== "/" && parsed.pathname !== "") || parsed.search !== "" || parsed.hash !== "" || endpoint.endsWith("/")) {
        return [`${field} ${JSON.stringify(endpoint)} has a path, query or trailing slash: ${hint}`];
    }
    const unsafe = envValueProblem(endpoint);
    return unsafe === undefined ? [] : [`${field} ${unsafe}`];
}

/** Validates an S3/Spaces bucket name (3-63 lowercase letters, digits, dots, hyphens). */
export function validateBucketName(field: string, bucket: string): string[] {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes("..")) {
        return [`${field} ${JSON.stringify(bucket)} is not a valid bucket name: use 3-63 lowercase letters, digits, "." or "-", starting and ending with a letter or digit`];
    }
    return [];
}

/** Validates an object key prefix such as `postgresql/prod` (no leading or trailing slash). */
export function validateBackupPrefix(prefix: string): string[] {
    const parts = prefix.split("/");
    if (prefix === "" || parts.some((p) => !/^[A-Za-z0-9._-]+$/.test(p) || p === "." || p === "..")) {
        return [`backup.prefix ${JSON.stringify(prefix)} must be path segments of A-Z a-z 0-9 . _ - joined by "/", without a leading or trailing slash, e.g. postgresql/prod`];
    }
    return [];
}

/** Validates age recipients: public keys only (the identity is a secret and arrives over SSH). */
export function validateAgeRecipients(recipients: readonly string[]): string[] {
    const problems: string[] = [];
    recipients.forEach((r, i) => {
        const where = `backup.ageRecipients[${i}]`;
        if (/^AGE-SECRET-KEY-/i.test(r)) {
            problems.push(`${where} is an age SECRET key: never put it in user-data; pass its public key (age-keygen -y identity.txt) instead`);
        } else if (!/^age1[0-9a-z]{50,}$/.test(r)) {
            problems.push(`${where} ${JSON.stringify(r)} is not an age public key: use the "age1…" line printed by age-keygen -y`);
        }
    });
    return problems;
}
