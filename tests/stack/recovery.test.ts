// Layer 2: the recovery chain in the real program (index.ts) under mocks, from the real
// stack files. Dependencies come from the RegisterResource requests, secrets from the
// mock provider's states, so a wrong wiring or a leaked value shows up here. The texts
// and payloads checked here are run for real in tests/integration/recovery-ssh.test.ts.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
    PROJECT,
    T,
    byType,
    loadStackConfig,
    one,
    resolve,
    runProgram,
    type ProgramRun,
    type Registration,
} from "./harness";
import { OPERATOR_SECRETS } from "../../harness/mock-cloud";
import { parseStepText } from "../../components/recovery/scripts";

// The SDK's marker of a secret value in serialised properties.
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const isSecretValue = (v: unknown): v is { value: unknown } =>
    !!v && typeof v === "object" && (v as Record<string, unknown>)[SECRET_SIG_KEY] !== undefined;
const plain = (v: unknown): unknown => (isSecretValue(v) ? plain(v.value) : v);

const AGE_IDENTITY = "AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQS7V2R3Y";

async function runStack(stack: string, from: "prod" | "dr", edit: Record<string, string> = {}): Promise<ProgramRun> {
    const config = loadStackConfig(from);
    for (const [k, v] of Object.entries(edit)) config[`${PROJECT}:${k}`] = v;
    const run = await runProgram(stack, config);
    if (run.error) throw run.error;
    return run;
}

/** The chain's step by role (`fortress-recovery-<role>`). */
const stepOf = (run: ProgramRun, role: string): Registration => one(run, T.command, `recovery-${role}`);

/** Every URN `r` depends on, directly or through others. */
function closure(run: ProgramRun, r: Registration): Set<string> {
    const byUrn = new Map(run.registrations.map((x) => [x.urn, x]));
    const seen = new Set<string>();
    const stack = [...r.dependencies];
    while (stack.length) {
        const urn = stack.pop()!;
        if (seen.has(urn)) continue;
        seen.add(urn);
        stack.push(...(byUrn.get(urn)?.dependencies ?? []));
    }
    return seen;
}

/** Properties that hold secrets in provider states (the mock cloud's passwords, keys and URLs). */
const SECRET_STATE_FIELDS = [
    "password",
    "uri",
    "privateUri",
    "secretKey",
    "accessKey",
    "result",
    "privateKeyOpenssh",
    "privateKeyPem",
];

/** Every secret value of the stack: provider states, plus the secret stack outputs (URLs built from them). */
async function secretValues(run: ProgramRun, extra: string[] = []): Promise<string[]> {
    const values = new Set<string>(extra);
    for (const r of run.registrations) {
        for (const f of SECRET_STATE_FIELDS) {
            const v = r.state?.[f];
            if (typeof v === "string" && v.length >= 8) values.add(v);
        }
    }
    for (const value of Object.values(run.outputs ?? {})) {
        if (pulumi.Output.isInstance(value) && (await pulumi.isSecret(value))) {
            const v = await resolve(value as pulumi.Output<unknown>);
            if (typeof v === "string" && v.length >= 8) values.add(v);
        }
    }
    return [...values];
}

describe.each(["prod", "dr"] as const)("the %s recovery chain under mocks", (stack) => {
    let run: ProgramRun;
    const step = (role: string) => stepOf(run, role);

    beforeAll(async () => {
        run = await runStack(stack, stack, {
            ageIdentity: AGE_IDENTITY,
            appEnv: JSON.stringify({ ANTHROPIC_API_KEY: "sk-ant-mock-third-party-key" }),
        });
    });

    it("runs boot, the secret files, database access, restore, migrate, tls, compose and health, and nothing else", () => {
        // dr proves its names over DNS-01 (Pulumi.dr.yaml), so certbot's token is one more secret file.
        const secretFiles = [
            "secret-app-env",
            "secret-credentials",
            "secret-age-identity",
            ...(stack === "dr" ? ["secret-dns-token"] : []),
        ];
        expect(
            byType(run, T.command)
                .map((c) => c.name)
                .sort(),
        ).toEqual(
            ["boot", ...secretFiles, "database-access", "restore", "migrate", "tls", "compose", "health"]
                .map((r) => `fortress-recovery-${r}`)
                .sort(),
        );
        for (const c of byType(run, T.command))
            expect(c.parent).toBe(one(run, "income-fortress:recovery:Recovery").urn);
    });

    it("restore depends, through the chain, on the droplet, the database cluster and every secrets step", () => {
        const deps = closure(run, step("restore"));
        const pg = byType(run, T.cluster).find((r) => r.inputs.engine === "pg")!;
        for (const r of [
            one(run, T.droplet),
            pg,
            one(run, T.ipAssignment),
            step("boot"),
            step("secret-credentials"),
            step("secret-age-identity"),
            step("database-access"),
        ]) {
            expect(deps.has(r.urn), `restore does not depend on ${r.name}`).toBe(true);
        }
    });

    it("database access waits for the app database, the role and the database firewall that lets the droplet in", () => {
        const deps = step("database-access").dependencies;
        const pgFirewall = byType(run, T.dbFirewall).find((f) => f.name.endsWith("pg-firewall"))!;
        for (const r of [one(run, T.db), one(run, T.dbUser), pgFirewall, step("boot")])
            expect(deps, r.name).toContain(r.urn);
    });

    it("compose depends on restore and migrate, migrate on restore and the .env, health on compose", () => {
        expect(step("compose").dependencies).toEqual(
            expect.arrayContaining([step("restore").urn, step("migrate").urn, step("secret-app-env").urn]),
        );
        expect(step("migrate").dependencies).toEqual(
            expect.arrayContaining([step("restore").urn, step("secret-app-env").urn]),
        );
        expect(step("health").dependencies).toContain(step("compose").urn);
        expect(closure(run, step("boot")).has(step("restore").urn)).toBe(false);
    });

    it("gets the certificate after the DNS record exists and before compose starts the proxy", () => {
        const tls = step("tls");
        const record = one(run, T.record);
        expect(tls.dependencies).toEqual(expect.arrayContaining([record.urn, step("boot").urn]));
        expect(step("compose").dependencies).toContain(tls.urn);
        const fqdn = `${record.inputs.name}.${record.inputs.domain}`;
        const text = String(tls.inputs.create);
        expect(text).toContain("sudo systemctl enable --now certbot.timer");
        const packages = (parse(one(run, T.droplet).inputs.userData as string) as { packages: string[] }).packages;
        expect(packages).toContain("certbot");
        if (stack === "prod") {
            // HTTP-01: Let's Encrypt must find this host behind the name, so the step waits for it.
            expect(parseStepText(text)).toEqual({
                step: "tls-http-01",
                args: [
                    fqdn,
                    String(one(run, T.reservedIp).state?.ipAddress),
                    "ops@incomefortress.com",
                    "/opt/income-fortress/app/income-platform",
                    "nginx",
                    "600",
                    "certbot",
                ],
            });
            expect(packages).not.toContain("python3-certbot-dns-digitalocean");
            expect(byType(run, T.command).some((c) => c.name.endsWith("secret-dns-token"))).toBe(false);
        } else {
            // DNS-01 for dr's own name and prod's public one, after the token is on the host:
            // the public name still points at prod, and needs no waiting for.
            expect(fqdn).toBe("api-dr.incomefortress.com");
            expect(tls.dependencies).toContain(step("secret-dns-token").urn);
            expect(tls.inputs.triggers).toContain(`${step("secret-dns-token").name}-id`);
            expect(text).not.toContain("getent");
            expect(parseStepText(text)).toEqual({
                step: "tls-dns-01",
                args: [
                    "ops@incomefortress.com",
                    "/opt/income-fortress/app/income-platform",
                    "nginx",
                    "/etc/income-fortress/certbot-digitalocean.ini",
                    "60",
                    "certbot python3-certbot-dns-digitalocean",
                    "api-dr.incomefortress.com",
                    "api.incomefortress.com",
                ],
            });
            expect(packages).toContain("python3-certbot-dns-digitalocean");
        }
    });

    it("every step re-runs on a new droplet: the droplet id is its first trigger", () => {
        const dropletId = "424242"; // the mock droplet's id
        for (const c of byType(run, T.command)) {
            expect(c.inputs.triggers[0], c.name).toBe(dropletId);
            expect(c.propertyDependencies.triggers, c.name).toContain(one(run, T.droplet).urn);
        }
        // A new cluster (dr rebuild, point-in-time fork) re-runs the password and the restore.
        const pgId = byType(run, T.cluster).find((r) => r.inputs.engine === "pg")!.urn;
        for (const role of ["database-access", "restore"])
            expect(step(role).propertyDependencies.triggers).toContain(pgId);
        // A new .env restarts the services.
        expect(step("compose").inputs.triggers).toContain(`${step("secret-app-env").name}-id`);
    });

    it("logs in as deployer at the reserved IP with the generated deploy key; only the first step dials forever", () => {
        const key = one(run, T.privateKey);
        const ip = one(run, T.reservedIp);
        for (const c of byType(run, T.command)) {
            // The whole connection travels as a secret, because the key inside it is one.
            expect(
                isSecretValue(c.inputs.connection) ||
                    isSecretValue((c.inputs.connection as Record<string, unknown>).privateKey),
                `${c.name}: the key must be secret`,
            ).toBe(true);
            const conn = plain(c.inputs.connection) as Record<string, unknown>;
            expect(plain(conn.host), c.name).toBe(ip.state?.ipAddress);
            expect(conn.user).toBe("deployer");
            expect(plain(conn.privateKey)).toBe(key.state?.privateKeyOpenssh);
            expect(c.propertyDependencies.connection).toEqual(expect.arrayContaining([ip.urn, key.urn]));
            // The SDK fills in the provider default (10) for the rest.
            expect(conn.dialErrorLimit).toBe(c.name.endsWith("-boot") ? -1 : 10);
            expect(c.inputs.environment, `${c.name} must not use SSH setenv`).toBeUndefined();
            expect(c.inputs.addPreviousOutputInEnv).toBe(false);
            expect(c.inputs.delete).toBeUndefined();
            expect(c.deleteBeforeReplace).toBe(true);
            expect(c.additionalSecretOutputs).toContain("connection");
        }
        expect(step("boot").dependencies).toContain(one(run, T.ipAssignment).urn);
        expect(step("boot").customTimeouts?.create).toBe("45m");
        expect(key.inputs.algorithm).toBe("ED25519");
    });

    it("puts the deploy key's public half among the deployer's keys in user-data, after the operators' keys", () => {
        const doc = parse(one(run, T.droplet).inputs.userData as string) as {
            users: { name: string; ssh_authorized_keys: string[] }[];
        };
        const keys = doc.users.find((u) => u.name === "deployer")!.ssh_authorized_keys;
        const cfgKeys = JSON.parse(loadStackConfig(stack)[`${PROJECT}:deployerPublicKeys`]) as string[];
        const pub = String(one(run, T.privateKey).state?.publicKeyOpenssh).trim();
        expect(keys).toEqual([...cfgKeys, `${pub} income-fortress-deploy@${stack}-e1`]);
    });

    it("passes every secret on stdin, marked secret in the request and in the outputs", () => {
        for (const role of [
            "secret-app-env",
            "secret-credentials",
            "secret-age-identity",
            "database-access",
            ...(stack === "dr" ? ["secret-dns-token"] : []),
        ]) {
            const c = step(role);
            expect(isSecretValue(c.inputs.stdin), `${role} stdin`).toBe(true);
            expect(c.additionalSecretOutputs).toEqual(expect.arrayContaining(["stdin", "stdout", "stderr"]));
        }
        for (const role of ["boot", "restore", "migrate", "compose", "health"])
            expect(step(role).inputs.stdin, role).toBeUndefined();
    });

    it("no command text and no user-data holds any secret value of the stack", async () => {
        const operatorSecrets = Object.values(OPERATOR_SECRETS[stack] ?? {});
        expect(operatorSecrets.length).toBe(stack === "dr" ? 1 : 0);
        const secrets = await secretValues(run, [AGE_IDENTITY, "sk-ant-mock-third-party-key", ...operatorSecrets]);
        // Not vacuous: the mock cloud's DB passwords, URLs, Spaces keys, generated passwords and the private key.
        expect(secrets.length).toBeGreaterThanOrEqual(10);
        const texts = [
            ...byType(run, T.command).map((c) => [c.name, String(plain(c.inputs.create))] as const),
            ["userData", String(one(run, T.droplet).inputs.userData)] as const,
        ];
        for (const [name, text] of texts) {
            for (const s of secrets) expect(text.includes(s), `${name} holds a secret value`).toBe(false);
        }
        // ... while the payloads do carry them: the secrets reach the host, on stdin.
        const stdin = byType(run, T.command)
            .map((c) => String(plain(c.inputs.stdin ?? "")))
            .join("\n");
        const databaseUrl = String(await resolve(run.outputs!.databaseUrl as pulumi.Output<string>));
        for (const s of [
            databaseUrl,
            AGE_IDENTITY,
            "sk-ant-mock-third-party-key",
            String(one(run, T.spacesKey).state?.secretKey),
            ...operatorSecrets,
        ])
            expect(stdin).toContain(s);
    });

    it("restores the way the role needs: prod only into an empty database from its own buckets, dr from the primary's prefix in the vault", () => {
        expect(parseStepText(String(step("restore").inputs.create))).toEqual({
            step: "restore",
            args:
                stack === "prod"
                    ? ["if-empty", "--backup", "latest"]
                    : [
                          "required",
                          "--backup",
                          "latest",
                          "https://sfo3.digitaloceanspaces.com",
                          "incomefortress-backups-vault",
                          "postgresql/prod",
                      ],
        });
    });

    it("a second run of the same program produces the same steps, so a second pulumi up changes nothing", async () => {
        const again = await runStack(stack, stack, {
            ageIdentity: AGE_IDENTITY,
            appEnv: JSON.stringify({ ANTHROPIC_API_KEY: "sk-ant-mock-third-party-key" }),
        });
        const view = (r: ProgramRun) =>
            byType(r, T.command).map((c) => ({
                name: c.name,
                create: c.inputs.create,
                stdin: plain(c.inputs.stdin),
                triggers: c.inputs.triggers,
            }));
        expect(view(again)).toEqual(view(run));
        expect(one(again, T.droplet).inputs.userData).toBe(one(run, T.droplet).inputs.userData);
    });
});

describe("breach response under mocks", () => {
    let before: ProgramRun;
    let after: ProgramRun;
    beforeAll(async () => {
        before = await runStack("prod", "prod");
        after = await runStack("prod", "prod", { credentialsEpoch: "2" });
    });

    it("bumping credentialsEpoch changes every generated secret, and the chain delivers the new ones", async () => {
        const generated = (run: ProgramRun) => ({
            appDbPassword: String(one(run, T.password, "db-app-password").state?.result),
            appSecretKey: String(one(run, T.password, "app-secret-key").state?.result),
            spacesAccessKey: String(one(run, T.spacesKey).state?.accessKey),
            spacesSecretKey: String(one(run, T.spacesKey).state?.secretKey),
            deployPrivateKey: String(one(run, T.privateKey).state?.privateKeyOpenssh),
            deployPublicKey: String(one(run, T.privateKey).state?.publicKeyOpenssh),
        });
        const b = generated(before);
        const a = generated(after);
        for (const k of Object.keys(b) as (keyof typeof b)[]) expect(a[k], k).not.toBe(b[k]);
        // Each new value reaches the host through the chain; none of the old ones does.
        const stdin = (run: ProgramRun) =>
            byType(run, T.command)
                .map((c) => String(plain(c.inputs.stdin ?? "")))
                .join("\n");
        for (const k of ["appDbPassword", "appSecretKey", "spacesAccessKey", "spacesSecretKey"] as const) {
            expect(stdin(after)).toContain(a[k]);
            expect(stdin(after)).not.toContain(b[k]);
        }
        // The role's password goes to PostgreSQL as a new SCRAM verifier.
        expect(plain(stepOf(after, "database-access").inputs.stdin)).not.toEqual(
            plain(stepOf(before, "database-access").inputs.stdin),
        );
        expect(String(one(after, T.droplet).inputs.userData)).toContain(a.deployPublicKey.trim());
        expect(String(one(after, T.droplet).inputs.userData)).not.toContain(b.deployPublicKey.trim());
        expect(plain((plain(stepOf(after, "boot").inputs.connection) as Record<string, unknown>).privateKey)).toBe(
            a.deployPrivateKey,
        );
    });

    it("each generator carries the epoch where every Pulumi CLI replaces it: keepers, a replaceOnChanges input, or the logical name", () => {
        for (const p of byType(after, T.password)) expect(p.inputs.keepers, p.name).toEqual({ credentialsEpoch: "2" });
        expect(one(after, T.spacesKey)).toMatchObject({
            inputs: { name: "income-fortress-prod-host-e2" },
            replaceOnChanges: ["name"],
        });
        expect(one(before, T.privateKey).name).toBe("fortress-deploy-key-e1");
        expect(one(after, T.privateKey).name).toBe("fortress-deploy-key-e2");
        for (const r of [...before.registrations, ...after.registrations])
            expect(r.replacementTrigger, `${r.type} ${r.name}`).toBeUndefined();
    });

    it("what DigitalOcean generates stays put (rotated by hand: doadmin, the Valkey password), and the data stays", () => {
        for (const type of [T.cluster, T.db, T.dbUser, T.bucket, T.record, T.reservedIp]) {
            expect(
                byType(after, type).map((r) => r.inputs),
                type,
            ).toEqual(byType(before, type).map((r) => r.inputs));
        }
    });

    it("isolate removes inbound 80/443 and leaves the chain as it is (it only needs admin SSH)", async () => {
        const isolated = await runStack("prod", "prod", { isolate: "true" });
        type Rule = { protocol: string; portRange?: string; sourceAddresses: string[] };
        const open = (r: ProgramRun) =>
            (one(r, T.firewall).inputs.inboundRules as Rule[]).map((x) => `${x.protocol}/${x.portRange ?? "*"}`);
        expect(open(before)).toEqual(expect.arrayContaining(["tcp/80", "tcp/443"]));
        expect(open(isolated)).toEqual(["tcp/22", "icmp/*"]);
        // HTTP-01 cannot reach an isolated host: the certificate step says so instead of failing; the rest is unchanged.
        const view = (r: ProgramRun) =>
            byType(r, T.command)
                .filter((c) => !c.name.endsWith("-tls"))
                .map((c) => [c.name, c.inputs.create, plain(c.inputs.stdin)]);
        expect(view(isolated)).toEqual(view(before));
        expect(String(stepOf(isolated, "tls").inputs.create)).toMatch(
            /the firewall is isolated .* the certificate on the host is kept and renews once isolate is false again/,
        );
        expect(String(stepOf(isolated, "tls").inputs.create)).not.toContain("certbot certonly");
    });
});
