// The recovery chain, executed for real. The program (index.ts) runs under mocks for prod
// and dr; the exact `create` texts and `stdin` payloads of its command resources are then
// run over SSH, in dependency order, against a throwaway OpenSSH sshd on a loopback port
// (harness/ssh-host.ts): a private mount namespace prepared from the program's own
// user-data, with the real toolkit, a real PostgreSQL (TLS, SCRAM) and two s3rver
// instances standing in for Spaces in nyc3 and sfo3.
//
// Real here: bash, sshd (stock config plus the user-data drop-in: no AcceptEnv, no root,
// keys only), the deploy key the program passes to the connection, sudo with the rule
// user-data writes, the toolkit, pg_restore, rclone, age, zstd, curl, PostgreSQL, and the
// https:// Spaces endpoints of backup.env (the host's /etc/hosts points them at a local TLS
// front signed by a CA the host trusts, in front of s3rver).
// Stand-ins, because this machine cannot run them: `docker` (Docker cannot run here; the
// stand-in records each call, its folder and the .env's mode), and `cloud-init` (only
// `status --wait`, exiting with a code the test chooses: 2 proves the "degraded done"
// path). The ready marker is written by the test, as user-data's runcmd would.
// Mock values (the cloud's outputs) are chosen so they work here: the database host name
// resolves to loopback, the admin password is the test cluster's, the Spaces key is
// s3rver's, and the deploy key is a real one.
import { chownSync, chmodSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { composeDir, scramSha256Verifier } from "../../components/recovery/scripts";
import { seedPlanDatabase } from "../../harness/datasets";
import { startPostgres, type PostgresCluster } from "../../harness/postgres";
import {
    cleanEnv,
    freePort,
    makeTempDir,
    run,
    runOk,
    unprivilegedIdentity,
    type RunResult,
} from "../../harness/process";
import { S3RVER_CREDENTIALS, startS3Server, type S3Server } from "../../harness/s3";
import {
    checkSshHostPrerequisites,
    makeTestCa,
    startSshHost,
    startTlsFront,
    selfSignedCertificate,
    type SshHost,
    type TestCa,
} from "../../harness/ssh-host";
import {
    createAgeIdentity,
    exactCounts,
    removeToolkitScratch,
    runToolkit,
    toolkitEnv,
    type AgeIdentity,
} from "../../harness/toolkit";
import { PROJECT, T, byType, loadStackConfig, one, runProgram, type ProgramRun } from "../stack/harness";
import { OPERATOR_SECRETS } from "../../harness/mock-cloud";

const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const plain = (v: unknown): unknown =>
    v && typeof v === "object" && SECRET_SIG_KEY in (v as object) ? plain((v as { value: unknown }).value) : v;

const PG_HOST = "private-fortress-db-pg-abc1234-do-user-1.db.ondigitalocean.com"; // the mock cluster's private host
const ADMIN_PASSWORD = "mock-admin-password"; // the mock cluster's admin password
const APP_PASSWORD = "mock-random-secret-key-fortress-db-app-password-e1"; // the mock generated password (epoch 1)
const FRONT = "127.0.0.2"; // where the host's /etc/hosts sends the Spaces endpoints
const MOCK_RESERVED_IP = "192.0.2.200"; // the mock reserved IP (tests/stack/harness.ts)
// A value with everything a shell would expand or split: it must arrive byte for byte.
const TRICKY = 'p@ss w0rd $HOME `id` $(id) "q" ;&|<>*?~#%{}[]!';

/** One step of the chain as the program registered it. */
interface Step {
    role: string;
    urn: string;
    create: string;
    stdin?: string;
    /** URNs of the other steps it depends on. */
    after: string[];
}

interface Chain {
    run: ProgramRun;
    steps: Step[];
    userData: string;
    user: string;
    privateKey: string;
}

/** The chain's steps from a mocked run, in an order that respects every dependency (registration order breaks ties). */
function chainOf(run: ProgramRun): Chain {
    const commands = byType(run, T.command);
    const urns = new Set(commands.map((c) => c.urn));
    const steps: Step[] = commands.map((c) => ({
        role: c.name.replace(/^fortress-recovery-/, ""),
        urn: c.urn,
        create: String(plain(c.inputs.create)),
        ...(c.inputs.stdin !== undefined ? { stdin: String(plain(c.inputs.stdin)) } : {}),
        after: c.dependencies.filter((d) => urns.has(d)),
    }));
    const ordered: Step[] = [];
    const done = new Set<string>();
    while (ordered.length < steps.length) {
        const next = steps.find((s) => !done.has(s.urn) && s.after.every((d) => done.has(d)));
        if (!next) throw new Error("the chain's dependencies have a cycle");
        ordered.push(next);
        done.add(next.urn);
    }
    const connection = plain(commands[0].inputs.connection) as { user: string; privateKey: unknown };
    return {
        run,
        steps: ordered,
        userData: String(one(run, T.droplet).inputs.userData),
        user: connection.user,
        privateKey: String(plain(connection.privateKey)),
    };
}

describe("the recovery chain over a real sshd (loopback), with the real toolkit, PostgreSQL and S3", () => {
    let work: string;
    let pg: PostgresCluster;
    let nyc3: S3Server;
    let sfo3: S3Server;
    /** dr's offsite region (Pulumi.dr.yaml drOffsiteRegion): dr's own backups, such as the one before its migrations, go there too. */
    let atl1: S3Server;
    let ca: TestCa;
    let front: { close: () => Promise<void> };
    let health: Server;
    let healthPort: number;
    let age: AgeIdentity;
    let deployKey: { private: string; public: string };
    let prod: Chain;
    let prodHealthDown: Chain;
    let dr: Chain;
    let host: SshHost | undefined;
    let drHost: SshHost | undefined;
    let keyFile: string;
    /** The docker stand-in's log that the health endpoint watches. */
    let dockerLog = "";

    const stepOf = (chain: Chain, role: string): Step => {
        const s = chain.steps.find((x) => x.role === role);
        if (!s) throw new Error(`no step ${role}`);
        return s;
    };
    const exec = (h: SshHost, chain: Chain, role: string, stdin?: string): Promise<RunResult> => {
        const s = stepOf(chain, role);
        return h.ssh(chain.user, keyFile, s.create, stdin ?? s.stdin);
    };
    const ok = (r: RunResult, what: string) => expect(r.code, `${what} failed:\n${r.stdout}\n${r.stderr}`).toBe(0);
    const asRole = (user: string, password: string, database: string, sql: string) =>
        run(join(pg.binDir, "psql"), ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"], {
            env: cleanEnv({
                PGHOST: "127.0.0.1",
                PGPORT: String(pg.port),
                PGUSER: user,
                PGPASSWORD: password,
                PGDATABASE: database,
                PGSSLMODE: "require",
            }),
            input: sql,
        });

    /** Runs the program under mocks whose cloud answers with values that work on this machine. */
    async function program(
        stack: "prod" | "dr",
        edit: Record<string, string>,
        previous?: Record<string, unknown>,
    ): Promise<Chain> {
        const config = loadStackConfig(stack);
        const base: Record<string, string> = {
            ageRecipients: JSON.stringify([age.recipient]),
            ageIdentity: readFileSync(age.identityFile, "utf8")
                .split("\n")
                .find((l) => l.startsWith("AGE-SECRET-KEY-"))!,
            healthUrl: `http://127.0.0.1:${healthPort}/health`,
            healthTimeoutSeconds: "30",
            appEnv: JSON.stringify({ THIRD_PARTY_TOKEN: TRICKY }),
        };
        for (const [k, v] of Object.entries({ ...base, ...edit })) config[`${PROJECT}:${k}`] = v;
        const run = await runProgram(stack, config, {
            outputs: (type, _name, inputs) => {
                if (type === T.cluster && inputs.engine === "pg") return { port: pg.port };
                if (type === T.spacesKey)
                    return { accessKey: S3RVER_CREDENTIALS.accessKeyId, secretKey: S3RVER_CREDENTIALS.secretAccessKey };
                if (type === T.privateKey)
                    return { privateKeyOpenssh: deployKey.private, publicKeyOpenssh: deployKey.public };
                if (previous && type === T.stackReference && String(inputs.name).endsWith(`/${stack}`))
                    return { outputs: previous, secretOutputNames: [] };
                return undefined;
            },
        });
        if (run.error) throw run.error;
        return chainOf(run);
    }

    /** A fresh test host for a chain: user-data applied, stand-ins in place, the checkout and the ready marker as runcmd leaves them. */
    async function hostFor(chain: Chain, environment: string): Promise<SshHost> {
        const app = { dir: "/opt/income-fortress/app", composeSubdir: "income-platform" };
        const h = await startSshHost({
            userData: chain.userData,
            // The Spaces endpoints lead to the TLS front, the database host to the test cluster,
            // and the stack's record to the mock reserved IP (what the tls step waits for).
            hosts: {
                "nyc3.digitaloceanspaces.com": FRONT,
                "sfo3.digitaloceanspaces.com": FRONT,
                "atl1.digitaloceanspaces.com": FRONT,
                [PG_HOST]: "127.0.0.1",
                [`${environment === "dr" ? "api-dr" : "api"}.incomefortress.com`]: MOCK_RESERVED_IP,
            },
            trustCaPem: ca.caPem,
            stubs: {
                // The droplet installs the client of the managed server's major; so does this host.
                ...pg.clientStubs(),
                docker: [
                    "#!/usr/bin/env bash",
                    "# Stand-in for docker on the test host (Docker cannot run here): records who ran what, where, and the .env's mode.",
                    "set -euo pipefail",
                    'env_state=$(stat -c "%a %U" .env 2>/dev/null || echo missing)',
                    `printf '%s\\t%s\\t%s\\t%s\\n' "$(id -un)" "$PWD" "$env_state" "$*" >> CONTROL/docker.log`,
                    "# `compose ps -q SERVICE` names a container once `compose up -d` has run, as docker would.",
                    'if [ "${1:-}" = compose ] && [ "${2:-}" = ps ] && [ "${3:-}" = -q ] && grep -q "compose up -d" CONTROL/docker.log; then echo 0123456789ab; fi',
                    "",
                ].join("\n"),
                // Stand-in for certbot (no ACME server here): records its arguments, then runs the
                // hooks the way certbot does around an issuance (pre, deploy, post; with /bin/sh).
                certbot: [
                    "#!/bin/sh",
                    `printf '%s\\n' "$*" >> CONTROL/certbot.log`,
                    "pre='' deploy='' post=''",
                    "while [ $# -gt 0 ]; do",
                    '  case "$1" in --pre-hook) pre=$2; shift ;; --deploy-hook) deploy=$2; shift ;; --post-hook) post=$2; shift ;; esac',
                    "  shift",
                    "done",
                    'for hook in "$pre" "$deploy" "$post"; do [ -z "$hook" ] || sh -c "$hook" || exit 1; done',
                    "",
                ].join("\n"),
                // Stand-in for systemctl (no systemd in the namespace): records its arguments.
                systemctl: ["#!/bin/sh", `printf '%s\\n' "$*" >> CONTROL/systemctl.log`, ""].join("\n"),
                "cloud-init": [
                    "#!/bin/sh",
                    "# Stand-in for cloud-init on the test host: only `status --wait`, exiting with the code in CONTROL/cloud-init-exit.",
                    '[ "$1" = status ] && [ "$2" = --wait ] || { echo "cloud-init stand-in: only status --wait" >&2; exit 64; }',
                    "code=$(cat CONTROL/cloud-init-exit)",
                    'case "$code" in 0) echo "status: done" ;; 2) echo "status: degraded done" ;; *) echo "status: error" ;; esac',
                    'exit "$code"',
                    "",
                ].join("\n"),
            },
            dirs: [
                { path: "/opt/income-fortress", owner: "root:root", mode: "0755" },
                { path: app.dir, owner: "deployer:deployer", mode: "0750" },
                { path: composeDir(app), owner: "deployer:deployer", mode: "0755" },
                { path: "/var/lib/income-fortress", owner: "root:root", mode: "0755" },
            ],
            files: [
                {
                    path: "/var/lib/income-fortress/ready",
                    content: `environment=${environment}\napp_ref=v1.0.0\napp_commit=0123456789abcdef\n`,
                },
            ],
        });
        // The stand-ins read and write the host's control folder; bake its path in.
        for (const name of ["docker", "cloud-init", "certbot", "systemctl"]) {
            const r = await h.root(["sed", "-i", `s#CONTROL/#${h.controlDir}/#g`, `/usr/local/bin/${name}`]);
            expect(r.code, r.stderr).toBe(0);
        }
        writeFileSync(join(h.controlDir, "cloud-init-exit"), "2\n");
        writeFileSync(join(h.controlDir, "docker.log"), "");
        chmodSync(join(h.controlDir, "docker.log"), 0o666);
        dockerLog = join(h.controlDir, "docker.log");
        return h;
    }

    /** The backups fortress-backups lists on a host (newest first), as root reads them. */
    async function backupsOnHost(
        h: SshHost,
        source: "primary" | "offsite" = "primary",
    ): Promise<{ id: string; tag: string | null; tables: Record<string, number> }[]> {
        const r = await h.ssh(prod.user, keyFile, `sudo fortress-backups --json --limit 0 --source ${source}`);
        ok(r, "fortress-backups");
        return JSON.parse(r.stdout);
    }
    /** What the docker stand-in was asked, one entry per call. */
    const dockerLines = (): string[] =>
        readFileSync(dockerLog, "utf8")
            .split("\n")
            .filter(Boolean)
            .map((l) => l.split("\t")[3]);

    beforeAll(async () => {
        checkSshHostPrerequisites();
        work = makeTempDir("fortress-recovery-ssh");
        chmodSync(work, 0o755);
        // PostgreSQL with TLS, because DATABASE_URL says sslmode=require as DigitalOcean's does.
        await selfSignedCertificate("localhost", join(work, "pg.key"), join(work, "pg.crt"));
        const nobody = unprivilegedIdentity();
        if (nobody) for (const f of ["pg.key", "pg.crt"]) chownSync(join(work, f), nobody.uid, nobody.gid);
        chmodSync(join(work, "pg.key"), 0o600);
        [pg, nyc3, sfo3, atl1, ca] = await Promise.all([
            startPostgres({
                settings: {
                    ssl: "on",
                    ssl_cert_file: `'${join(work, "pg.crt")}'`,
                    ssl_key_file: `'${join(work, "pg.key")}'`,
                },
            }),
            startS3Server({ buckets: ["incomefortress-backups"] }),
            startS3Server({ buckets: ["incomefortress-backups-vault", "incomefortress-dr-backups"] }),
            startS3Server({ buckets: ["incomefortress-dr-offsite"] }),
            makeTestCa(["*.digitaloceanspaces.com"]),
        ]);
        front = await startTlsFront({
            address: FRONT,
            ca,
            route: (name) => ({ nyc3, sfo3, atl1 })[/^(\w+)\.digitaloceanspaces\.com$/.exec(name)?.[1] ?? ""]?.port,
        });
        // The app's health endpoint: 200 once the docker stand-in recorded `compose up -d`; /down never is.
        healthPort = await freePort();
        health = createServer((req, res) => {
            const up =
                req.url === "/health" && dockerLog !== "" && /\tcompose up -d/.test(readFileSync(dockerLog, "utf8"));
            res.writeHead(up ? 200 : 503).end(up ? "ok" : "starting");
        });
        await new Promise<void>((resolve) => health.listen(healthPort, "127.0.0.1", resolve));

        age = await createAgeIdentity(work);
        await runOk("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", join(work, "deploy")]);
        deployKey = {
            private: readFileSync(join(work, "deploy"), "utf8"),
            public: `${readFileSync(join(work, "deploy.pub"), "utf8").trim().split(/\s+/).slice(0, 2).join(" ")}\n`,
        };

        // The managed cluster as DigitalOcean hands it over: an admin, defaultdb, the app
        // database created by the admin, and the app role with DigitalOcean's first password.
        await pg.psql(
            `CREATE ROLE doadmin LOGIN CREATEROLE CREATEDB PASSWORD '${ADMIN_PASSWORD}'; CREATE DATABASE defaultdb OWNER doadmin; CREATE DATABASE income_source;`,
        );
        const admin = await asRole(
            "doadmin",
            ADMIN_PASSWORD,
            "defaultdb",
            "CREATE ROLE income_platform LOGIN PASSWORD 'do-first-password'; CREATE DATABASE income_platform;",
        );
        expect(admin.code, admin.stderr).toBe(0);
        await seedPlanDatabase(pg, "income_source", 0.02);

        prod = await program("prod", {});
        prodHealthDown = await program("prod", {
            healthUrl: `http://127.0.0.1:${healthPort}/down`,
            healthTimeoutSeconds: "10",
        });
        dr = await program("dr", {});
        keyFile = join(work, "connection-key");
        writeFileSync(keyFile, prod.privateKey, { mode: 0o600 });
        host = await hostFor(prod, "prod");
    });

    afterAll(async () => {
        await Promise.all([host?.stop(), drHost?.stop()]);
        await front?.close();
        await new Promise<void>((resolve) => (health ? health.close(() => resolve()) : resolve()));
        await Promise.all([pg?.stop(), nyc3?.stop(), sfo3?.stop(), atl1?.stop()]);
        if (work) rmSync(work, { recursive: true, force: true });
        removeToolkitScratch();
    });

    it("orders the steps as the program's dependencies say: boot, secrets and database access, restore, migrate, tls, compose, health", () => {
        const order = prod.steps.map((s) => s.role);
        const at = (role: string) => order.indexOf(role);
        expect(order).toHaveLength(10);
        expect(order[0]).toBe("boot");
        expect(order.slice(-2)).toEqual(["compose", "health"]);
        for (const before of ["secret-credentials", "secret-age-identity", "database-access"])
            expect(at(before), before).toBeLessThan(at("restore"));
        for (const before of ["restore", "secret-app-env"]) expect(at(before), before).toBeLessThan(at("migrate"));
        for (const before of ["migrate", "tls"]) expect(at(before), before).toBeLessThan(at("compose"));
        // The connection logs in as deployer with the key whose public half user-data authorises.
        const doc = parse(prod.userData) as { users: { name: string; ssh_authorized_keys: string[] }[] };
        expect(prod.user).toBe("deployer");
        expect(doc.users[0].ssh_authorized_keys.at(-1)).toBe(
            `${deployKey.public.trim()} income-fortress-deploy@prod-e1`,
        );
    });

    it("boot: cloud-init's exit 2 (degraded done) counts as booted once the ready marker is there; failures say what to do", async () => {
        const h = host!;
        const booted = await exec(h, prod, "boot");
        ok(booted, "boot");
        expect(booted.stdout).toContain("degraded done");
        expect(booted.stdout).toContain("booted: environment=prod app_ref=v1.0.0");

        writeFileSync(join(h.controlDir, "cloud-init-exit"), "1\n");
        const failed = await exec(h, prod, "boot");
        expect(failed.code).toBe(1);
        expect(failed.stderr).toMatch(
            /^income-fortress boot: error: cloud-init failed \(cloud-init status --wait exited 1\): read \/var\/log\/cloud-init-output\.log/m,
        );

        writeFileSync(join(h.controlDir, "cloud-init-exit"), "0\n");
        await h.root(["mv", "/var/lib/income-fortress/ready", "/var/lib/income-fortress/ready.aside"]);
        const noMarker = await exec(h, prod, "boot");
        expect(noMarker.code).toBe(1);
        expect(noMarker.stderr).toContain("cloud-init is done but /var/lib/income-fortress/ready is missing");
        await h.root(["mv", "/var/lib/income-fortress/ready.aside", "/var/lib/income-fortress/ready"]);
        ok(await exec(h, prod, "boot"), "boot with exit 0");
    });

    it("delivers every secret file from stdin: the exact bytes, mode 600, the right owner, nothing echoed", async () => {
        const h = host!;
        const files: [string, string, string][] = [
            [
                "secret-app-env",
                `${composeDir({ dir: "/opt/income-fortress/app", composeSubdir: "income-platform" })}/.env`,
                "600 deployer:deployer",
            ],
            ["secret-credentials", "/etc/income-fortress/credentials.env", "600 root:root"],
            ["secret-age-identity", "/etc/income-fortress/age-identity.txt", "600 root:root"],
        ];
        for (const [role, path, mode] of files) {
            const step = stepOf(prod, role);
            expect(step.stdin, role).toBeTruthy();
            const r = await exec(h, prod, role);
            ok(r, role);
            expect(await h.read(path), path).toBe(step.stdin);
            expect(await h.stat(path), path).toBe(mode);
            // What the step prints names the file, never its content.
            for (const line of step.stdin!.split("\n").filter((l) => l.includes("=")))
                expect(r.stdout + r.stderr).not.toContain(line.split("=").slice(1).join("="));
        }
        // Quoting: shell metacharacters in a secret reach the file untouched.
        expect(await h.read(files[0][1])).toContain(`THIRD_PARTY_TOKEN='${TRICKY}'\n`);
        // No temp files left beside them.
        expect(
            (
                await h.root([
                    "find",
                    "/etc/income-fortress",
                    "/opt/income-fortress/app/income-platform",
                    "-name",
                    "*.??????",
                ])
            ).stdout,
        ).toBe("");
        // The toolkit reads what was written: DATABASE_URL and the keys, from the root-only file.
        const settings = await h.ssh(
            prod.user,
            keyFile,
            'sudo bash -c \'source /usr/local/lib/income-fortress/common.sh && load_settings && echo "${DATABASE_URL%%@*}" && echo "$AWS_ACCESS_KEY_ID"\'',
        );
        ok(settings, "load_settings");
        expect(settings.stdout).toBe(`postgresql://income_platform:${APP_PASSWORD}\nS3RVER\n`);

        // An empty stdin is refused and the file already there stays as it was.
        const before = await h.read("/etc/income-fortress/credentials.env");
        const empty = await exec(h, prod, "secret-credentials", "");
        expect(empty.code).toBe(1);
        expect(empty.stderr).toContain(
            "nothing arrived on stdin for the toolkit's credentials.env; no file was written",
        );
        expect(await h.read("/etc/income-fortress/credentials.env")).toBe(before);
    });

    it("database access: the admin sets the app role's generated password (as a SCRAM verifier) and its rights", async () => {
        const r = await exec(host!, prod, "database-access");
        ok(r, "database-access");
        const login = await asRole(
            "income_platform",
            APP_PASSWORD,
            "income_platform",
            "SELECT current_user, has_schema_privilege('public', 'CREATE');",
        );
        expect(login.code, login.stderr).toBe(0);
        expect(login.stdout.trim()).toBe("income_platform|t");
        expect(await pg.psql("SELECT rolpassword FROM pg_authid WHERE rolname = 'income_platform';")).toBe(
            scramSha256Verifier(APP_PASSWORD),
        );
        expect((await asRole("income_platform", "do-first-password", "income_platform", "SELECT 1")).code).not.toBe(0);
        // Run again: same password, same rights; nothing breaks.
        ok(await exec(host!, prod, "database-access"), "database-access again");

        // A wrong admin password fails with one clear line, and no SQL or verifier is echoed.
        const payload = stepOf(prod, "database-access").stdin!;
        const wrong = await exec(host!, prod, "database-access", payload.replace(/^[^\n]*/, "not-the-admin-password"));
        expect(wrong.code).toBe(1);
        expect(wrong.stderr).toContain("income-fortress database: error: the admin SQL failed on");
        expect(wrong.stderr).not.toMatch(/SCRAM|ALTER ROLE|mock-admin-password/);
    });

    it("restore on a first deploy: no backup exists yet, so nothing is restored and the chain goes on", async () => {
        const r = await exec(host!, prod, "restore");
        ok(r, "restore");
        expect(r.stdout).toContain(
            "no backup exists in the buckets in /etc/income-fortress/backup.env yet (a first deploy)",
        );
        expect(await exactCounts(pg, "income_platform")).toEqual({});
    });

    it("migrate, tls, compose and health run in order, as deployer, in the compose project, with the .env in place", async () => {
        const h = host!;
        const outputs: Record<string, RunResult> = {};
        for (const role of ["migrate", "tls", "compose", "health"]) {
            outputs[role] = await exec(h, prod, role);
            ok(outputs[role], role);
        }
        // Nothing was restored (a first deploy), so the database has no tables and no backup is taken.
        expect(outputs.migrate.stdout).toContain(
            "no backup before the migrations: the database has no tables yet (a first deploy with no backup to restore)",
        );
        expect(await backupsOnHost(h)).toEqual([]);
        // certbot (a stand-in) was asked once the record resolved to the host, with hooks that free port 80 on renewals.
        expect(readFileSync(join(h.controlDir, "certbot.log"), "utf8")).toBe(
            "certonly --standalone --non-interactive --agree-tos --no-eff-email --keep-until-expiring --cert-name api.incomefortress.com -m ops@incomefortress.com -d api.incomefortress.com " +
                "--pre-hook cd /opt/income-fortress/app/income-platform && docker compose stop nginx --post-hook cd /opt/income-fortress/app/income-platform && docker compose start nginx\n",
        );
        expect(readFileSync(join(h.controlDir, "systemctl.log"), "utf8")).toBe("enable --now certbot.timer\n");
        const calls = readFileSync(join(h.controlDir, "docker.log"), "utf8")
            .trim()
            .split("\n")
            .map((l) => l.split("\t"));
        const dir = "/opt/income-fortress/app/income-platform";
        expect(calls).toEqual([
            ["deployer", dir, "600 deployer", "compose run --rm api python manage.py migrate"],
            // certbot's (root's) standalone hooks: free port 80 for the challenge, then take it back.
            ["root", dir, "600 deployer", "compose stop nginx"],
            ["root", dir, "600 deployer", "compose start nginx"],
            ["deployer", dir, "600 deployer", "compose up -d --build --remove-orphans"],
            ["deployer", dir, "600 deployer", "compose ps"],
        ]);
        const healthRun = await exec(h, prod, "health");
        expect(healthRun.stdout).toMatch(/answered 200 after \d+s/);
    });

    it("the health gate fails clearly when the app never answers 200", async () => {
        const r = await exec(host!, prodHealthDown, "health");
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(
            /did not answer 200 within 10s \(last: HTTP 503\); check docker compose ps and docker compose logs --tail=100 in \/opt\/income-fortress\/app\/income-platform/,
        );
    }, 60_000);

    it("an empty database is restored from the latest backup, and a database with tables is left untouched", async () => {
        const backup = await runToolkit(
            "fortress-backup",
            ["--tag", "recovery-test"],
            toolkitEnv({
                DATABASE_URL: pg.url("income_source"),
                BACKUP_S3_ENDPOINT: nyc3.endpoint,
                BACKUP_BUCKET: "incomefortress-backups",
                BACKUP_PREFIX: "postgresql/prod",
                BACKUP_OFFSITE_S3_ENDPOINT: sfo3.endpoint,
                BACKUP_OFFSITE_BUCKET: "incomefortress-backups-vault",
                AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
                AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
                BACKUP_AGE_RECIPIENTS: age.recipient,
            }),
        );
        expect(backup.code, backup.stderr).toBe(0);
        const source = await exactCounts(pg, "income_source");
        expect(source["public.proposals"]).toBeGreaterThan(0);

        const restored = await exec(host!, prod, "restore");
        ok(restored, "restore");
        expect(restored.stdout).toContain("restored the database from the buckets in /etc/income-fortress/backup.env");
        expect(await exactCounts(pg, "income_platform")).toEqual(source);
        // Restored as the app role, which owns what it restored.
        expect(
            await pg.psql("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public';", "income_platform"),
        ).toBe("income_platform");
        // The weekly restore test works with what the chain wrote (credentials, identity, the role's CREATEDB).
        const verify = await host!.ssh(prod.user, keyFile, "sudo fortress-verify");
        ok(verify, "fortress-verify on the host");
        expect(verify.stdout).toMatch(/recovery-test/);

        // A rebuilt droplet migrates a database with tables only after a backup tagged with the app's ref.
        const lines = dockerLines();
        const migrated = await exec(host!, prod, "migrate");
        ok(migrated, "migrate on a database with tables");
        const [taken] = (await backupsOnHost(host!)).filter((b) => b.tag === "pre-migrate-v1.0.0");
        expect(taken?.id).toMatch(/^\d{8}T\d{6}Z-pre-migrate-v1\.0\.0$/);
        expect(taken.tables).toEqual(source);
        expect(migrated.stdout).toContain(
            `income-fortress migrate: backup ${taken.id} taken before the migrations; to undo them: sudo fortress-restore --backup ${taken.id} --force\n`,
        );
        expect(dockerLines().slice(lines.length)).toEqual(["compose run --rm api python manage.py migrate"]);
        const restorable = await host!.ssh(prod.user, keyFile, `sudo fortress-verify --backup ${taken.id}`);
        ok(restorable, "fortress-verify of the pre-migration backup");
        expect(restorable.stdout).toMatch(new RegExp(`^verified ${taken.id}: `));

        // Live data since: a rebuilt droplet must not overwrite it.
        await asRole(
            "income_platform",
            APP_PASSWORD,
            "income_platform",
            "INSERT INTO audit_log (action, table_name, row_id, at) VALUES ('live', 'users', 1, now());",
        );
        const live = await exactCounts(pg, "income_platform");
        const again = await exec(host!, prod, "restore");
        ok(again, "restore on a non-empty database");
        expect(again.stdout).toContain("the database already has tables, so it was left untouched");
        expect(await exactCounts(pg, "income_platform")).toEqual(live);
        expect(live["public.audit_log"]).toBe(source["public.audit_log"]! + 1);
    });

    it("migrate runs no migration when the backup before it fails, and the step fails saying so", async () => {
        const h = host!;
        const settings = "/etc/income-fortress/backup.env";
        const before = await h.read(settings);
        // Storage that refuses the backup: the bucket is not there.
        ok(
            await h.root(["sed", "-i", "s/^BACKUP_BUCKET=.*/BACKUP_BUCKET='incomefortress-no-such-bucket'/", settings]),
            "point backup.env at a missing bucket",
        );
        const lines = dockerLines();
        const listed = (await backupsOnHost(h, "offsite")).length;
        try {
            const r = await exec(h, prod, "migrate");
            expect(r.code).toBe(1);
            expect(r.stderr).toMatch(
                /^fortress-backup: error: cannot claim a backup id in .*incomefortress-no-such-bucket/m,
            );
            expect(r.stderr).toMatch(
                /\nincome-fortress migrate: error: the backup before the migrations failed \(fortress-backup exited 1; its error is above\), so the migrations did not run: fix the backup, then run pulumi up again\n$/,
            );
            expect(r.stdout).not.toContain("migrations done");
            expect(dockerLines().slice(lines.length)).toEqual([]);
            expect(await backupsOnHost(h, "offsite")).toHaveLength(listed);
        } finally {
            await h.root(["sh", "-c", `cat > ${settings}`], before);
        }
    });

    it("isolate: the evidence and stop-app steps the program registers keep an encrypted bundle in both buckets, then stop the app; lifting starts it", async () => {
        if (!host) throw new Error("the prod host did not start");
        // The live prod stack of the earlier tests, now isolated: the suspect is the droplet
        // its previous outputs name, reached at the reserved IP (this host).
        const live = { dropletId: "424242", publicIp: MOCK_RESERVED_IP, credentialsEpoch: 1 };
        const isolated = await program("prod", { isolate: "true" }, live);
        const record = { epoch: 1, dropletId: "424242", publicIp: MOCK_RESERVED_IP };
        const lifted = await program("prod", {}, { ...live, isolation: record });
        const log = join(host.controlDir, "docker.log");
        const before = await nyc3.listKeys("incomefortress-backups", "evidence/");
        const evidence = await exec(host, isolated, "fortress-isolation-evidence");
        ok(evidence, "evidence");
        expect(evidence.stdout).toContain("income-fortress evidence: evidence kept");
        const keys = (await nyc3.listKeys("incomefortress-backups", "evidence/prod/")).filter(
            (k) => !before.includes(k),
        );
        expect(keys).toHaveLength(1);
        expect(keys[0]).toMatch(/^evidence\/prod\/\d{8}T\d{6}Z-.+-isolate-d424242\.tar\.zst\.age$/);
        expect(await sfo3.listKeys("incomefortress-backups-vault", "evidence/prod/")).toContain(keys[0]);
        const bundle = join(work, "evidence.age");
        writeFileSync(bundle, (await nyc3.getObject("incomefortress-backups", keys[0]))!);
        const listing = await runOk("bash", [
            "-c",
            'set -euo pipefail; age -d -i "$1" "$2" | zstd -d -q -c | tar -tf -',
            "open",
            age.identityFile,
            bundle,
        ]);
        expect(listing.stdout.split("\n").filter(Boolean).sort()).toEqual(
            [
                "evidence/",
                "evidence/auth-logs.txt",
                "evidence/compose-logs.txt",
                "evidence/index.txt",
                "evidence/journal.txt",
                "evidence/processes.txt",
                "evidence/sockets-connected.txt",
                "evidence/sockets-listening.txt",
            ].sort(),
        );
        const calls = () =>
            readFileSync(log, "utf8")
                .trim()
                .split("\n")
                .map((l) => l.split("\t"));
        // docker compose logs ran as root (sudo) in the compose project.
        expect(calls().at(-1)).toEqual([
            "root",
            composeDir({ dir: "/opt/income-fortress/app", composeSubdir: "income-platform" }),
            expect.any(String),
            "compose logs --no-color --timestamps",
        ]);
        ok(await exec(host, isolated, "fortress-isolation-stop-app"), "stop-app");
        expect(
            calls()
                .slice(-2)
                .map((c) => [c[0], c[3]]),
        ).toEqual([
            ["deployer", "compose stop"],
            ["deployer", "compose ps --all"],
        ]);
        ok(await exec(host, lifted, "fortress-isolation-resume-app"), "resume-app");
        expect(calls().map((c) => c[3])).toContain("compose up -d --build --remove-orphans");
        expect(calls().at(-1)?.[3]).toBe("compose ps");
    }, 180_000);

    it("dr: with nyc3 gone, a fresh dr host runs the whole chain and restores prod's latest backup from the vault in sfo3", async () => {
        await host!.stop();
        host = undefined;
        await nyc3.kill(); // the primary region's storage is unreachable from here on
        await pg.dropDatabase("income_platform");
        const admin = await asRole("doadmin", ADMIN_PASSWORD, "defaultdb", "CREATE DATABASE income_platform;");
        expect(admin.code, admin.stderr).toBe(0);

        drHost = await hostFor(dr, "dr");
        writeFileSync(keyFile, dr.privateKey, { mode: 0o600 });
        const outputs: Record<string, RunResult> = {};
        for (const step of dr.steps) {
            outputs[step.role] = await exec(drHost, dr, step.role);
            ok(outputs[step.role], `dr ${step.role}`);
        }
        expect(outputs.restore.stdout).toContain(
            "restored the database from s3://incomefortress-backups-vault/postgresql/prod",
        );
        expect(await exactCounts(pg, "income_platform")).toEqual(await exactCounts(pg, "income_source"));
        // dr's own settings point at its own bucket; the vault came only from the restore step's environment.
        expect(await drHost.read("/etc/income-fortress/backup.env")).toContain(
            "BACKUP_BUCKET='incomefortress-dr-backups'",
        );
        expect(await drHost.read("/etc/income-fortress/backup.env")).toContain(
            "BACKUP_OFFSITE_BUCKET='incomefortress-dr-offsite'",
        );
        // The restored database has tables, so dr backed it up into its own buckets before migrating.
        expect(outputs.migrate.stdout).toMatch(
            /income-fortress migrate: backup \d{8}T\d{6}Z-pre-migrate-v1\.0\.0 taken before the migrations/,
        );
        expect(outputs.health.stdout).toMatch(/answered 200/);
        // TLS over DNS-01 (Pulumi.dr.yaml): certbot's token arrived on stdin into a root-only
        // file, before certbot (a stand-in) was asked for dr's own name and prod's public one.
        const tokenFile = "/etc/income-fortress/certbot-digitalocean.ini";
        expect(await drHost.read(tokenFile)).toBe(stepOf(dr, "secret-dns-token").stdin);
        expect(await drHost.read(tokenFile)).toContain(`dns_digitalocean_token = ${OPERATOR_SECRETS.dr.tlsDnsToken}\n`);
        expect(await drHost.stat(tokenFile)).toBe("600 root:root");
        for (const role of ["secret-dns-token", "tls"])
            expect(outputs[role].stdout + outputs[role].stderr, role).not.toContain(OPERATOR_SECRETS.dr.tlsDnsToken);
        const order = dr.steps.map((s) => s.role);
        expect(order.indexOf("secret-dns-token")).toBeLessThan(order.indexOf("tls"));
        expect(readFileSync(join(drHost.controlDir, "certbot.log"), "utf8")).toBe(
            `certonly --dns-digitalocean --dns-digitalocean-credentials ${tokenFile} --dns-digitalocean-propagation-seconds 60 --non-interactive --agree-tos --no-eff-email --keep-until-expiring ` +
                "--cert-name api-dr.incomefortress.com -m ops@incomefortress.com -d api-dr.incomefortress.com -d api.incomefortress.com " +
                '--deploy-hook cd /opt/income-fortress/app/income-platform && if [ -n "$(docker compose ps -q nginx)" ]; then docker compose restart nginx; fi\n',
        );
        expect(outputs.tls.stdout).toContain(
            "certificate for api-dr.incomefortress.com, api.incomefortress.com (dns-01)",
        );
        // The deploy hook, run by certbot as root: at the first issuance no proxy runs yet, so
        // nothing restarts; on a renewal (here: the same hook once compose is up) it restarts the proxy.
        const dockerCalls = () =>
            readFileSync(dockerLog, "utf8")
                .trim()
                .split("\n")
                .map((l) => l.split("\t")[3]);
        const atIssue = dockerCalls();
        expect(atIssue.indexOf("compose ps -q nginx")).toBeGreaterThanOrEqual(0);
        expect(atIssue.indexOf("compose ps -q nginx")).toBeLessThan(
            atIssue.indexOf("compose up -d --build --remove-orphans"),
        );
        expect(atIssue).not.toContain("compose restart nginx");
        const hook = readFileSync(join(drHost.controlDir, "certbot.log"), "utf8").split("--deploy-hook ")[1].trim();
        ok(await drHost.root(["sh", "-c", hook]), "deploy hook on a renewal");
        expect(dockerCalls().slice(-2)).toEqual(["compose ps -q nginx", "compose restart nginx"]);
    }, 180_000);
});
