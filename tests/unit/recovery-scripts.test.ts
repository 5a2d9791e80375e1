// Layer 1: the pure builders of the recovery chain (components/recovery-scripts.ts): the
// bash text of every step and the stdin payloads. The texts are checked the way the
// droplet will meet them: bash parses them, shellcheck finds nothing, and the policy
// pack's secret patterns find nothing. What they do on a real shell is proven in
// tests/integration/recovery-ssh.test.ts.
import { spawnSync } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
    BACKUP_ID,
    GENERATED_APP_ENV,
    ageIdentityFile,
    appEnvFile,
    composeDir,
    composeUpScript,
    credentialsFile,
    databaseAccessScript,
    databaseAccessSql,
    databaseAccessStdin,
    healthGateScript,
    migrateScript,
    restoreScript,
    scramSha256Verifier,
    DNS_CREDENTIALS_FILE,
    dnsCredentialsFile,
    tlsScript,
    waitForBootScript,
    writeSecretFileScript,
    type RestoreOptions,
} from "../../components/recovery-scripts";
import { findSecretPatterns } from "../../policy/policies";

const ADMIN = { host: "private-db-pg-1a2b3c4-do-user-1.db.ondigitalocean.com", port: 25060, user: "doadmin", database: "defaultdb" };
const VAULT = { endpoint: "https://sfo3.digitaloceanspaces.com", bucket: "incomefortress-backups-vault", prefix: "postgresql/prod" };
const AGE_KEY = "AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQS7V2R3Y";

/** Every script a stack can produce, by name. */
const SCRIPTS: Record<string, string> = {
    boot: waitForBootScript(),
    "secret .env": writeSecretFileScript({ path: "/opt/income-fortress/app/income-platform/.env", owner: "deployer:deployer", what: "the app's .env" }),
    "secret credentials": writeSecretFileScript({ path: "/etc/income-fortress/credentials.env", owner: "root:root", what: "credentials.env" }),
    database: databaseAccessScript(ADMIN),
    "restore if-empty": restoreScript({ mode: "if-empty", backup: { id: "latest" } }),
    "restore required from the vault": restoreScript({ mode: "required", backup: { id: "latest" }, source: VAULT }),
    "restore pinned id": restoreScript({ mode: "required", backup: { id: "20260203T100000Z-pre-v1.1.0" }, source: VAULT }),
    "restore before a time": restoreScript({ mode: "if-empty", backup: { before: "2026-02-03T10:00:00Z" } }),
    "restore off": restoreScript({ mode: "off", backup: { id: "latest" } }),
    migrate: migrateScript("/opt/income-fortress/app/income-platform", "docker compose run --rm api python manage.py migrate"),
    compose: composeUpScript("/opt/income-fortress/app/income-platform"),
    health: healthGateScript({ url: "http://localhost:8000/health", timeoutSeconds: 600, dir: "/opt/income-fortress/app/income-platform" }),
    tls: tlsScript({ fqdn: "api.incomefortress.com", address: "192.0.2.200", email: "ops@incomefortress.com", dir: "/opt/income-fortress/app/income-platform", proxyService: "nginx" }),
    "tls while isolated": tlsScript({ fqdn: "api.incomefortress.com", address: "192.0.2.200", email: "ops@incomefortress.com", dir: "/srv/app", proxyService: "nginx" }, "isolated"),
    "tls after a cutover": tlsScript({ fqdn: "api.incomefortress.com", address: "192.0.2.200", email: "ops@incomefortress.com", dir: "/srv/app", proxyService: "nginx" }, "served-by-dr"),
    "tls dns-01 with the public name": tlsScript({
        fqdn: "api-dr.incomefortress.com",
        address: "192.0.2.201",
        email: "ops@incomefortress.com",
        dir: "/opt/income-fortress/app/income-platform",
        proxyService: "nginx",
        challenge: "dns-01",
        alsoFor: ["api.incomefortress.com"],
    }),
    "secret dns token": writeSecretFileScript({ path: DNS_CREDENTIALS_FILE, owner: "root:root", what: "certbot's DigitalOcean token" }),
};

describe("every step's text", () => {
    it.each(Object.entries(SCRIPTS))("%s: strict bash that parses", (_name, text) => {
        expect(text.split("\n")[0]).toBe("set -euo pipefail");
        const r = spawnSync("bash", ["-n"], { input: text, encoding: "utf8" });
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
    });

    it.each(Object.entries(SCRIPTS))("%s: clean under shellcheck", (_name, text) => {
        const r = spawnSync("shellcheck", ["-s", "bash", "-f", "gcc", "-"], { input: text, encoding: "utf8" });
        expect(r.error, "shellcheck must be installed (apt-get install shellcheck)").toBeUndefined();
        expect(r.stdout).toBe("");
        expect(r.status).toBe(0);
    });

    it.each(Object.entries(SCRIPTS))("%s: nothing the policy pack would call a secret", (_name, text) => {
        expect(findSecretPatterns(text)).toEqual([]);
    });

    it("the policy check is not blind: a password in a text is found", () => {
        expect(findSecretPatterns(`${SCRIPTS.database}\nPGPASSWORD=hunter2hunter2 psql`)).not.toEqual([]);
    });
});

describe("wait for boot", () => {
    it("treats cloud-init exit 2 (degraded done) like 0 and lets the marker decide", () => {
        const text = waitForBootScript("/var/lib/x/ready");
        expect(text).toMatch(/case "\$rc" in\n {2}0\) ;;\n {2}2\) say /);
        expect(text).toContain("test -f /var/lib/x/ready || fail");
    });
});

describe("secret files", () => {
    it("copies stdin with tee into a mode-600 temp file, then renames it over the target", () => {
        const text = writeSecretFileScript({ path: "/etc/income-fortress/credentials.env", owner: "root:root", what: "credentials" });
        const order = ["sudo mktemp /etc/income-fortress/credentials.env.XXXXXX", 'sudo tee -- "$tmp"', 'sudo test -s "$tmp"', "sudo chown root:root", "sudo chmod 0600", 'sudo mv -f -- "$tmp" /etc/income-fortress/credentials.env'];
        const at = order.map((s) => text.indexOf(s));
        expect(at.every((i) => i >= 0)).toBe(true);
        expect([...at].sort((a, b) => a - b)).toEqual(at);
    });

    it.each([
        ["relative path", { path: "etc/x", owner: "root:root" }],
        ["path with a space", { path: "/etc/income fortress/x", owner: "root:root" }],
        ["path with a quote", { path: "/etc/x'y", owner: "root:root" }],
        ["owner without group", { path: "/etc/x", owner: "root" }],
        ["owner with a space", { path: "/etc/x", owner: "root:root; rm" }],
    ])("refuses a %s", (_name, t) => {
        expect(() => writeSecretFileScript({ ...t, what: "x" })).toThrow(/writeSecretFileScript/);
    });
});

describe("payloads", () => {
    const values = {
        databaseUrl: "postgresql://income_platform:pw@h:25060/income_platform?sslmode=require",
        cacheUrl: "rediss://default:pw2@h:25061",
        secretKey: "k".repeat(64),
        spacesAccessKeyId: "DO00ABCDEFGHIJKLMNOP",
        spacesSecretAccessKey: "s3cr3t/with+chars=",
    };

    it("the .env holds the generated entries first, then the extras by name, single-quoted", () => {
        const text = appEnvFile({ ...values, extra: { ZZ_LAST: "z", ANTHROPIC_API_KEY: "sk-ant-1" } });
        const keys = text.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split("=")[0]);
        expect(keys).toEqual([...GENERATED_APP_ENV, "ANTHROPIC_API_KEY", "ZZ_LAST"]);
        expect(text).toContain(`DATABASE_URL='${values.databaseUrl}'\n`);
        expect(text).toContain("DO_SPACES_SECRET='s3cr3t/with+chars='\n");
        expect(text.endsWith("\n")).toBe(true);
    });

    it("refuses extras that would replace a generated entry, or values the quoting cannot carry", () => {
        expect(() => appEnvFile({ ...values, extra: { DATABASE_URL: "x" } })).toThrow(/generated by the stack/);
        expect(() => appEnvFile({ ...values, extra: { A: "it's" } })).toThrow(/'/);
    });

    it("credentials.env carries exactly the toolkit's secret settings", () => {
        const text = credentialsFile(values);
        const keys = text.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split("=")[0]);
        expect(keys).toEqual(["DATABASE_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]);
    });

    it("the age identity file is the key and a newline, and only a key passes", () => {
        expect(ageIdentityFile(`  ${AGE_KEY}\n`)).toBe(`${AGE_KEY}\n`);
        expect(() => ageIdentityFile("age1m329mc5c7rzwq438m0ey0ryzeq8pgxwmenhvpwtxg8qvp5pdaghqzjmsgg")).toThrow(/not an age identity/);
    });
});

describe("SCRAM-SHA-256 verifier", () => {
    // RFC 7677, section 3: user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations.
    const salt = Buffer.from("W22ZaJ0SNY7soEsUEjb6gQ==", "base64");
    const authMessage =
        "n=user,r=rOprNGfwEbeRWgbNEkqO," +
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096," +
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";

    it("matches the RFC 7677 example: the server signature and the client proof check out", () => {
        const v = scramSha256Verifier("pencil", salt);
        const m = /^SCRAM-SHA-256\$4096:([^$]+)\$([^:]+):(.+)$/.exec(v);
        expect(m).not.toBeNull();
        expect(m![1]).toBe("W22ZaJ0SNY7soEsUEjb6gQ==");
        const storedKey = Buffer.from(m![2], "base64");
        const serverKey = Buffer.from(m![3], "base64");
        expect(createHmac("sha256", serverKey).update(authMessage).digest("base64")).toBe("6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
        const proof = Buffer.from("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", "base64");
        const signature = createHmac("sha256", storedKey).update(authMessage).digest();
        const clientKey = Buffer.from(proof.map((b, i) => b ^ signature[i]));
        expect(createHash("sha256").update(clientKey).digest().equals(storedKey)).toBe(true);
    });

    it("is deterministic per password (stable stdin, so a second up changes nothing) and differs between passwords", () => {
        expect(scramSha256Verifier("a".repeat(32))).toBe(scramSha256Verifier("a".repeat(32)));
        expect(scramSha256Verifier("a".repeat(32))).not.toBe(scramSha256Verifier("b".repeat(32)));
    });

    it("refuses passwords that would need SASLprep", () => {
        expect(() => scramSha256Verifier("pässwörd")).toThrow(/printable ASCII/);
        expect(() => scramSha256Verifier("with space")).toThrow(/printable ASCII/);
    });
});

describe("database access", () => {
    const access = { role: "income_platform", database: "income_platform", password: "Zx9".repeat(10) + "ab" };

    it("sends a verifier, never the password, and grants what a restore and migrations need", () => {
        const sql = databaseAccessSql(access);
        expect(sql).not.toContain(access.password);
        expect(sql).toContain(`ALTER ROLE "income_platform" WITH LOGIN CREATEDB PASSWORD '${scramSha256Verifier(access.password)}';`);
        expect(sql).toContain('GRANT ALL PRIVILEGES ON DATABASE "income_platform" TO "income_platform";');
        expect(sql.indexOf('\\connect "income_platform"')).toBeLessThan(sql.indexOf("GRANT ALL ON SCHEMA public"));
    });

    it("puts the admin password alone on the first stdin line, and only in stdin", () => {
        const stdin = databaseAccessStdin("AVNS_admin-pw", access);
        expect(stdin.split("\n")[0]).toBe("AVNS_admin-pw");
        expect(stdin.slice("AVNS_admin-pw\n".length)).toBe(databaseAccessSql(access));
        expect(databaseAccessScript(ADMIN)).not.toContain("AVNS_admin-pw");
        expect(() => databaseAccessStdin("two\nlines", access)).toThrow(/one non-empty line/);
    });

    it("names the host, port, user and database in the text, and checks them", () => {
        const text = databaseAccessScript(ADMIN);
        expect(text).toContain(`psql 'host=${ADMIN.host} port=25060 user=doadmin dbname=defaultdb sslmode=require connect_timeout=20'`);
        expect(() => databaseAccessScript({ ...ADMIN, host: "h; rm -rf /" })).toThrow(/host name/);
        expect(() => databaseAccessScript({ ...ADMIN, user: "Robert'); DROP" })).toThrow(/identifiers/);
        expect(() => databaseAccessSql({ ...access, role: 'x"y' })).toThrow(/identifiers/);
    });
});

describe("restore", () => {
    const cases: [string, RestoreOptions, RegExp[], RegExp[]][] = [
        [
            "primary: if-empty, from the host's own buckets, first deploy tolerated",
            { mode: "if-empty", backup: { id: "latest" } },
            [/sudo fortress-backups --source auto --json --limit 1 \| jq length/, /sudo fortress-restore --source auto --backup latest \|\| rc=\$\?/, /4\) say .*left untouched/],
            [/BACKUP_OFFSITE/],
        ],
        [
            "dr: required, from the primary's prefix in the vault",
            { mode: "required", backup: { id: "latest" }, source: VAULT },
            [/sudo BACKUP_OFFSITE_S3_ENDPOINT=https:\/\/sfo3\.digitaloceanspaces\.com BACKUP_OFFSITE_BUCKET=incomefortress-backups-vault BACKUP_PREFIX=postgresql\/prod fortress-restore --source offsite --backup latest/],
            [/fortress-backups --/],
        ],
        ["pinned to an id", { mode: "required", backup: { id: "20260203T100000Z" } }, [/fortress-restore --source auto --backup 20260203T100000Z /], []],
        ["newest before a time", { mode: "if-empty", backup: { before: "2026-02-03T10:00:00Z" } }, [/fortress-restore --source auto --before 2026-02-03T10:00:00Z /], [/--backup/]],
        ["off", { mode: "off", backup: { id: "latest" } }, [/restore is off/], [/fortress-restore --/, /fortress-backups --/]],
    ];

    it.each(cases)("%s", (_name, options, present, absent) => {
        const text = restoreScript(options);
        for (const p of present) expect(text).toMatch(p);
        for (const a of absent) expect(text).not.toMatch(a);
    });

    it("maps exit 4 (refused: not empty) to success and every other failure to a failure", () => {
        const text = restoreScript({ mode: "required", backup: { id: "latest" } });
        expect(text).toMatch(/case "\$rc" in\n {2}0\) say [^\n]+\n {2}4\) say [^\n]+\n {2}\*\) fail /);
    });

    it("refuses a malformed backup id or source", () => {
        expect(() => restoreScript({ mode: "required", backup: { id: "yesterday" } })).toThrow(/not a backup id/);
        expect(() => restoreScript({ mode: "required", backup: { id: "latest" }, source: { ...VAULT, bucket: "Bad Bucket" } })).toThrow(/restore source/);
        expect(BACKUP_ID.test("20261125T174500Z-pre-v1.1.0")).toBe(true);
    });
});

describe("migrate, compose and health", () => {
    it("runs the configured migration in the compose project after checking the .env is there", () => {
        const text = migrateScript("/srv/app", "./manage.sh migrate --noinput");
        expect(text.indexOf("cd /srv/app")).toBeLessThan(text.indexOf("test -f .env"));
        expect(text.indexOf("test -f .env")).toBeLessThan(text.indexOf("./manage.sh migrate --noinput\n"));
        expect(() => migrateScript("/srv/app", "a\nb")).toThrow(/one non-empty line/);
        expect(() => migrateScript("/srv/app", "  ")).toThrow(/one non-empty line/);
    });

    it("starts the services detached in the compose project", () => {
        expect(composeUpScript("/srv/app")).toMatch(/cd \/srv\/app [^\n]+\n[^\n]+\n[^\n]+\ndocker compose up -d --build --remove-orphans\n/);
        expect(composeDir({ dir: "/opt/a", composeSubdir: "." })).toBe("/opt/a");
        expect(composeDir({ dir: "/opt/a", composeSubdir: "income-platform" })).toBe("/opt/a/income-platform");
    });

    it("polls until 200 with the configured timeout, and refuses URLs with credentials or quotes", () => {
        const text = healthGateScript({ url: "https://localhost/health", timeoutSeconds: 42, intervalSeconds: 3, dir: "/srv/app" });
        expect(text).toContain("deadline=$((SECONDS + 42))");
        expect(text).toContain("sleep 3");
        expect(() => healthGateScript({ url: "http://user:pw@localhost/", timeoutSeconds: 5, dir: "/a" })).toThrow(/without credentials/);
        expect(() => healthGateScript({ url: "http://localhost/'x", timeoutSeconds: 5, dir: "/a" })).toThrow(/without credentials/);
        expect(() => healthGateScript({ url: "http://localhost/", timeoutSeconds: 0, dir: "/a" })).toThrow(/whole seconds/);
    });
});

describe("tls", () => {
    const t = { fqdn: "api.incomefortress.com", address: "192.0.2.200", email: "ops@incomefortress.com", dir: "/srv/app", proxyService: "nginx", resolveTimeoutSeconds: 30 };

    it("waits for the name to resolve to the host, then asks certbot (standalone) with renewal hooks that free port 80", () => {
        const text = tlsScript(t);
        expect(text).toContain("deadline=$((SECONDS + 30))");
        expect(text.indexOf("getent ahostsv4 api.incomefortress.com")).toBeLessThan(text.indexOf("sudo certbot certonly"));
        expect(text).toContain(
            "--keep-until-expiring --cert-name api.incomefortress.com -m ops@incomefortress.com -d api.incomefortress.com --pre-hook 'cd /srv/app && docker compose stop nginx' --post-hook 'cd /srv/app && docker compose start nginx'",
        );
        expect(text).toContain("sudo systemctl enable --now certbot.timer");
        expect(text).not.toContain("dns-digitalocean");
    });

    describe("dns-01", () => {
        const d = { ...t, fqdn: "api-dr.incomefortress.com", challenge: "dns-01" as const, alsoFor: ["api.incomefortress.com"] };

        it("proves every name through DigitalOcean DNS, without waiting for a name to point here, under one lineage named after the host's own record", () => {
            const text = tlsScript(d);
            expect(text).not.toContain("getent");
            expect(text).not.toContain("--standalone");
            expect(text.indexOf(`sudo test -s ${DNS_CREDENTIALS_FILE}`)).toBeLessThan(text.indexOf("sudo certbot certonly"));
            expect(text).toContain(
                `sudo certbot certonly --dns-digitalocean --dns-digitalocean-credentials ${DNS_CREDENTIALS_FILE} --dns-digitalocean-propagation-seconds 60 --non-interactive --agree-tos --no-eff-email --keep-until-expiring ` +
                    "--cert-name api-dr.incomefortress.com -m ops@incomefortress.com -d api-dr.incomefortress.com -d api.incomefortress.com " +
                    `--deploy-hook 'cd /srv/app && if [ -n "$(docker compose ps -q nginx)" ]; then docker compose restart nginx; fi'`,
            );
            expect(text).toContain("python3-certbot-dns-digitalocean");
            expect(tlsScript({ ...d, propagationSeconds: 120 })).toContain("--dns-digitalocean-propagation-seconds 120");
        });

        it.each(["isolated", "served-by-dr"] as const)("still asks for the certificate when %s: DNS-01 needs neither port 80 nor the name", (skip) => {
            expect(tlsScript(d, skip)).toContain("sudo certbot certonly --dns-digitalocean");
        });

        it.each([
            ["a public name twice", { alsoFor: ["api-dr.incomefortress.com"] }, /names one host twice/],
            ["a public name with a space", { alsoFor: ["api incomefortress.com"] }, /not a host name/],
            ["a propagation wait under 10 s", { propagationSeconds: 5 }, /propagationSeconds/],
        ])("refuses %s", (_name, bad, pattern) => {
            expect(() => tlsScript({ ...d, ...bad })).toThrow(pattern);
        });

        it("http-01 refuses more names: their challenges could never reach this host", () => {
            expect(() => tlsScript({ ...t, alsoFor: ["api-dr.incomefortress.com"] })).toThrow(/http-01 cannot prove api-dr\.incomefortress\.com/);
        });

        it("writes the token as the plugin's one-line INI file, and refuses anything that would break the line", () => {
            const token = `dop_v1_${"ab".repeat(32)}`;
            expect(dnsCredentialsFile(` ${token}\n`)).toMatch(new RegExp(`^# [^\n]+\ndns_digitalocean_token = ${token}\n$`));
            for (const bad of ["", "abc def", "abc\nextra = 1", "tok'en"]) expect(() => dnsCredentialsFile(bad), JSON.stringify(bad)).toThrow(/not a DigitalOcean API token/);
        });
    });

    it.each([
        ["isolated", /isolated \(inbound 80\/443 closed\)/],
        ["served-by-dr", /points at the DR site/],
    ] as const)("when %s it only explains why there is no challenge", (skip, pattern) => {
        const text = tlsScript(t, skip);
        expect(text).toMatch(pattern);
        expect(text).not.toContain("certbot");
    });

    it.each([
        ["a host name with a space", { fqdn: "api incomefortress.com" }, /not a host name/],
        ["an IPv6 address", { address: "2001:db8::1" }, /not an IPv4 address/],
        ["an e-mail with a quote", { email: "o'ps@x.com" }, /not an e-mail address/],
        ["a service with a semicolon", { proxyService: "nginx;rm" }, /not a compose service name/],
    ])("refuses %s", (_name, bad, pattern) => {
        expect(() => tlsScript({ ...t, ...bad })).toThrow(pattern);
    });
});

describe("credentials.env: the stale-backup heartbeat", () => {
    const base = { databaseUrl: "postgresql://u:pw@h:25060/db?sslmode=require", spacesAccessKeyId: "DO00ABCDEFGHIJKLMNOP", spacesSecretAccessKey: "s3cr3t/with+chars=" };
    const keysOf = (text: string) => text.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split("=")[0]);

    it("adds BACKUP_HEARTBEAT_URL last, single-quoted, when a heartbeat URL is set", () => {
        const url = "https://hc-ping.com/0f3c1d52-5b8e-4d7a-9c51-2f6a0b7e9d41";
        const text = credentialsFile({ ...base, backupHeartbeatUrl: url });
        expect(keysOf(text)).toEqual(["DATABASE_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "BACKUP_HEARTBEAT_URL"]);
        expect(text).toContain(`\nBACKUP_HEARTBEAT_URL='${url}'\n`);
    });

    it.each([["undefined", undefined], ["empty", ""]])("writes no BACKUP_HEARTBEAT_URL line when it is %s", (_what, url) => {
        expect(keysOf(credentialsFile({ ...base, backupHeartbeatUrl: url }))).toEqual(["DATABASE_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]);
    });

    it("refuses a URL the single quotes cannot carry, rather than write a file the toolkit would misread", () => {
        expect(() => credentialsFile({ ...base, backupHeartbeatUrl: "https://hc-ping.com/it's" })).toThrow(/BACKUP_HEARTBEAT_URL/);
    });
});
