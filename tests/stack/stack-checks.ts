// Layer 2 checks shared by the per-stack test files. Each stack file runs the real
// program once, under mocks, with the config the CLI would build from Pulumi.yaml and
// Pulumi.<stack>.yaml, then calls these. Expectations come from the stack's own parsed
// config, never from the program's output, so a wrong wiring shows up as a mismatch.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { RESOURCE_FACTS } from "../../components/provider-facts";
import { parseConfig, type FortressConfig } from "../../config";
import {
    T,
    byType,
    loadStackConfig,
    one,
    rawStackConfig,
    resolve,
    runProgram,
    type ProgramRun,
    type Registration,
} from "./harness";

const ANYWHERE = new Set(["0.0.0.0/0", "::/0"]);

/** Does a firewall port range ("22", "1-65535", "all", undefined for icmp) include `port`? */
export function coversPort(range: string | undefined, port: number): boolean {
    if (range === undefined || range === "all") return true;
    const [lo, hi] = range.split("-").map(Number);
    return port >= lo && port <= (hi ?? lo);
}

/** A Go duration as Pulumi's customTimeouts take it ("10m", "1h30m"), in minutes; NaN when empty. */
export function minutes(duration: string): number {
    const parts = [...duration.matchAll(/(\d+(?:\.\d+)?)(h|m|s)/g)];
    if (parts.length === 0) return NaN;
    return parts.reduce((sum, [, n, unit]) => sum + Number(n) * (unit === "h" ? 60 : unit === "m" ? 1 : 1 / 60), 0);
}

/** Mock values the provider would only ever return as secrets; none may leak into user-data or plain outputs. */
const MOCK_SECRETS = [
    "mock-user-password",
    "mock-admin-password",
    "mock-spaces-secret",
    "DO00MOCKACCESSKEY",
    "mock-random-secret-key",
    "mock-deploy-private",
];

export interface StackExpectations {
    /** Stateful resources are protected (prod) or not (dr). */
    protected: boolean;
    /** Droplet backups on (prod) or off. */
    dropletBackups: boolean;
}

export function stackSuite(stack: string, expectations: StackExpectations): void {
    let run: ProgramRun;
    let cfg: FortressConfig;
    const urnOf = (r: Registration) => r.urn;

    beforeAll(async () => {
        const parsed = parseConfig(rawStackConfig(stack), stack);
        if (!parsed.ok) throw new Error(`Pulumi.${stack}.yaml does not parse: ${JSON.stringify(parsed.problems)}`);
        cfg = parsed.config;
        run = await runProgram(stack, loadStackConfig(stack));
        if (run.error) throw run.error;
    });

    describe(`stack ${stack}: structure`, () => {
        it("registers every resource once, each custom resource inside a component", () => {
            const urns = run.registrations.map(urnOf);
            expect(new Set(urns).size).toBe(urns.length);
            for (const r of run.registrations.filter((x) => x.custom)) {
                expect(r.parent, `${r.type} ${r.name} has no parent`).toMatch(/income-fortress:/);
            }
        });

        it("uses income-fortress:<module>:<Name> component types", () => {
            const components = run.registrations
                .filter((r) => !r.custom)
                .map((r) => r.type)
                .sort();
            expect(components).toEqual(
                [
                    "income-fortress:database:Database",
                    "income-fortress:dns:Dns",
                    "income-fortress:host:Host",
                    "income-fortress:isolation:Isolation",
                    "income-fortress:monitoring:Monitoring",
                    "income-fortress:network:Network",
                    "income-fortress:platform:Platform",
                    "income-fortress:project:Project",
                    "income-fortress:recovery:Recovery",
                    "income-fortress:storage:Storage",
                ].sort(),
            );
        });
    });

    describe(`stack ${stack}: host`, () => {
        it("runs one droplet of the configured size and image, in the VPC, with monitoring and IPv6", () => {
            const droplet = one(run, T.droplet);
            const vpc = one(run, T.vpc);
            expect(droplet.inputs).toMatchObject({
                size: cfg.host.size,
                image: cfg.host.image,
                region: cfg.region,
                ipv6: true,
                monitoring: true,
                backups: expectations.dropletBackups,
                sshKeys: cfg.host.sshKeyFingerprints,
                vpcUuid: `${vpc.name}-id`,
            });
            expect(droplet.inputs.size).toBe("s-4vcpu-8gb");
            expect(droplet.inputs.image).toBe("ubuntu-24-04-x64");
            expect(droplet.propertyDependencies.vpcUuid).toEqual([vpc.urn]);
        });

        it("tags the droplet with the host tag and the environment", () => {
            const droplet = one(run, T.droplet);
            const tag = one(run, T.tag);
            expect(droplet.inputs.tags).toEqual([tag.inputs.name, `env:${stack}`]);
            expect(tag.inputs.name).toBe(`income-fortress-${stack}-app`);
            expect(droplet.propertyDependencies.tags).toContain(tag.urn);
        });

        it("boots from #cloud-config user-data that holds no secret", () => {
            const userData: string = one(run, T.droplet).inputs.userData;
            expect(userData.startsWith("#cloud-config\n")).toBe(true);
            for (const secret of MOCK_SECRETS) expect(userData).not.toContain(secret);
            expect(userData).toContain(cfg.storage.backupBucket);
        });

        it("renders user-data only after the buckets and the deploy key exist (userData depends on them)", () => {
            const buckets = byType(run, T.bucket).map(urnOf);
            expect(buckets.length).toBeGreaterThan(0);
            expect(one(run, T.droplet).propertyDependencies.userData.sort()).toEqual(
                [...buckets, one(run, T.privateKey).urn].sort(),
            );
        });

        it("gives the droplet's graceful shutdown time to stop compose before the delete gives up", () => {
            const droplet = one(run, T.droplet);
            expect(droplet.inputs.gracefulShutdown).toBe(true);
            // The provider's own delete timeout is 60 s, and it errors (never powers off) when the
            // droplet is not off by then.
            expect(minutes(droplet.customTimeouts?.delete ?? "")).toBeGreaterThanOrEqual(10);
        });

        it("assigns a reserved IP in the same region to the droplet, old assignment first", () => {
            const ip = one(run, T.reservedIp);
            const assignment = one(run, T.ipAssignment);
            expect(ip.inputs.region).toBe(cfg.region);
            expect(assignment.inputs).toEqual({ ipAddress: "192.0.2.200", dropletId: 424242 });
            expect(assignment.propertyDependencies.ipAddress).toEqual([ip.urn]);
            expect(assignment.propertyDependencies.dropletId).toEqual([one(run, T.droplet).urn]);
            expect(assignment.deleteBeforeReplace).toBe(true);
        });
    });

    describe(`stack ${stack}: network`, () => {
        it("never opens SSH (22) to 0.0.0.0/0 or ::/0; it opens it to the admin CIDRs", () => {
            const fw = one(run, T.firewall);
            const inbound: { protocol: string; portRange?: string; sourceAddresses?: string[] }[] =
                fw.inputs.inboundRules;
            const reachingSsh = inbound.filter((r) => r.protocol === "tcp" && coversPort(r.portRange, 22));
            expect(reachingSsh.length).toBeGreaterThan(0);
            for (const r of reachingSsh) {
                expect(r.sourceAddresses!.filter((a) => ANYWHERE.has(a) || a.endsWith("/0"))).toEqual([]);
                expect(r.sourceAddresses).toEqual(cfg.network.adminCidrs);
            }
        });

        it("opens 80 and 443 to everyone and nothing else beyond SSH and ping", () => {
            const inbound: { protocol: string; portRange?: string; sourceAddresses: string[] }[] = one(run, T.firewall)
                .inputs.inboundRules;
            const open = inbound
                .filter((r) => r.sourceAddresses.some((a) => ANYWHERE.has(a)))
                .map((r) => `${r.protocol}/${r.portRange}`);
            expect(open.sort()).toEqual(["tcp/443", "tcp/80"]);
        });

        it("has explicit outbound tcp, udp and icmp rules", () => {
            const outbound: { protocol: string }[] = one(run, T.firewall).inputs.outboundRules;
            expect(outbound.map((r) => r.protocol).sort()).toEqual(["icmp", "tcp", "udp"]);
        });

        it("applies the firewall by tag, not by droplet id, so a new droplet is covered with no churn", () => {
            const fw = one(run, T.firewall);
            const tag = one(run, T.tag);
            expect(fw.inputs.tags).toEqual([tag.inputs.name]);
            expect(fw.inputs.dropletIds).toBeUndefined();
            expect(fw.dependencies).toContain(tag.urn);
            expect(fw.dependencies).not.toContain(one(run, T.droplet).urn);
        });

        it("puts the VPC in the stack's region", () => {
            expect(one(run, T.vpc).inputs.region).toBe(cfg.region);
        });
    });

    describe(`stack ${stack}: databases`, () => {
        it("runs managed PostgreSQL with the configured version, size, nodes and window, in the VPC", () => {
            const pg = byType(run, T.cluster).find((r) => r.inputs.engine === "pg")!;
            expect(pg.inputs).toMatchObject({
                engine: "pg",
                version: cfg.database.version,
                size: cfg.database.size,
                nodeCount: cfg.database.nodeCount,
                region: cfg.region,
                maintenanceWindows: [cfg.database.maintenanceWindow],
            });
            expect(pg.propertyDependencies.privateNetworkUuid).toEqual([one(run, T.vpc).urn]);
        });

        it("creates the app database and user in that cluster", () => {
            const pg = byType(run, T.cluster).find((r) => r.inputs.engine === "pg")!;
            expect(one(run, T.db).inputs.name).toBe(cfg.database.name);
            expect(one(run, T.dbUser).inputs.name).toBe(cfg.database.user);
            expect(one(run, T.db).propertyDependencies.clusterId).toEqual([pg.urn]);
            expect(one(run, T.dbUser).propertyDependencies.clusterId).toEqual([pg.urn]);
        });

        it("runs managed Valkey with eviction policy allkeys_lru", () => {
            const valkey = byType(run, T.cluster).find((r) => r.inputs.engine === "valkey")!;
            expect(valkey.inputs).toMatchObject({
                engine: "valkey",
                evictionPolicy: "allkeys_lru",
                region: cfg.region,
            });
        });

        it("gives each cluster its own firewall that trusts only the droplet tag", () => {
            const tag = one(run, T.tag);
            const firewalls = byType(run, T.dbFirewall);
            const clusters = byType(run, T.cluster);
            expect(firewalls).toHaveLength(2);
            expect(firewalls.map((f) => f.propertyDependencies.clusterId[0]).sort()).toEqual(
                clusters.map(urnOf).sort(),
            );
            for (const f of firewalls) {
                expect(f.inputs.rules).toEqual([{ type: "tag", value: tag.inputs.name }]);
                expect(f.dependencies).toContain(tag.urn);
                // Trusting the tag, not the droplet: replacing the droplet must not touch the firewall.
                expect(f.dependencies).not.toContain(one(run, T.droplet).urn);
                // A DatabaseFirewall owns the whole rule set; the old one must go before its replacement.
                expect(f.deleteBeforeReplace).toBe(true);
            }
        });
    });

    describe(`stack ${stack}: storage`, () => {
        it("makes every bucket private and versioned, with expiry, noncurrent expiry and multipart abort", () => {
            for (const b of byType(run, T.bucket)) {
                expect(b.inputs.acl).toBe("private");
                expect(b.inputs.versioning).toEqual({ enabled: true });
                const [rule] = b.inputs.lifecycleRules;
                expect(rule).toMatchObject({
                    enabled: true,
                    expiration: { days: cfg.storage.retentionDays },
                    noncurrentVersionExpiration: { days: cfg.storage.noncurrentVersionDays },
                    abortIncompleteMultipartUploadDays: 1,
                });
                expect(b.inputs.forceDestroy).toBe(!expectations.protected);
                // The provider would write a new name into state and keep the old bucket.
                expect(b.replaceOnChanges).toEqual(["name"]);
            }
        });

        it("keeps the backup bucket in the stack's region and the vault elsewhere", () => {
            const backup = one(run, T.bucket, "backups");
            expect(backup.inputs).toMatchObject({ name: cfg.storage.backupBucket, region: cfg.region });
            if (cfg.storage.ownsVault) {
                const vault = one(run, T.bucket, "vault");
                expect(vault.inputs).toMatchObject({ name: cfg.storage.vaultBucket, region: cfg.storage.vaultRegion });
                expect(vault.inputs.region).not.toBe(cfg.primaryRegion);
            } else {
                // A dr stack's own offsite copy: a third region, neither its own nor the primary's.
                const offsite = one(run, T.bucket, "offsite");
                expect(offsite.inputs).toMatchObject({
                    name: cfg.storage.drOffsite!.bucket,
                    region: cfg.storage.drOffsite!.region,
                });
                expect([cfg.region, cfg.primaryRegion]).not.toContain(offsite.inputs.region);
                expect(byType(run, T.bucket)).toHaveLength(2);
            }
        });

        it("scopes the host's Spaces key to this stack's buckets: readwrite own, read-only vault it does not own", () => {
            const key = one(run, T.spacesKey);
            const expected = cfg.storage.ownsVault
                ? [
                      { bucket: cfg.storage.backupBucket, permission: "readwrite" },
                      { bucket: cfg.storage.vaultBucket, permission: "readwrite" },
                  ]
                : [
                      { bucket: cfg.storage.backupBucket, permission: "readwrite" },
                      { bucket: cfg.storage.drOffsite!.bucket, permission: "readwrite" },
                      { bucket: cfg.storage.vaultBucket, permission: "read" },
                  ];
            expect(key.inputs.grants).toEqual(expected);
            expect(key.propertyDependencies.grants.sort()).toEqual(byType(run, T.bucket).map(urnOf).sort());
            // The epoch is in the name, and a new name replaces the key (any Pulumi CLI).
            expect(key.inputs.name).toBe(`income-fortress-${stack}-host-e${cfg.credentialsEpoch}`);
            expect(key.replaceOnChanges).toEqual(["name"]);
            expect(key.replacementTrigger).toBeUndefined();
        });
    });

    describe(`stack ${stack}: dns and project`, () => {
        it("owns one A record, its hostname, with the configured low TTL, pointing at the reserved IP", () => {
            const record = one(run, T.record);
            const ip = one(run, T.reservedIp);
            expect(record.inputs).toEqual({
                domain: cfg.dns.domain,
                name: cfg.dns.hostname,
                type: "A",
                ttl: cfg.dns.ttl,
                value: "192.0.2.200",
            });
            expect(record.inputs.ttl).toBeGreaterThanOrEqual(30);
            expect(record.propertyDependencies.value).toEqual([ip.urn]);
        });

        it("groups the droplet, reserved IP, clusters and buckets in the environment's project", () => {
            const project = one(run, T.project);
            expect(project.inputs.name).toBe(`income-fortress-${stack}`);
            expect(project.inputs.environment).toBe(cfg.projectEnvironment);
            const grouped = [
                one(run, T.droplet),
                one(run, T.reservedIp),
                ...byType(run, T.cluster),
                ...byType(run, T.bucket),
            ];
            expect(project.propertyDependencies.resources.sort()).toEqual(grouped.map(urnOf).sort());
            expect(project.inputs.resources).toHaveLength(grouped.length);
        });

        it("names the reserved IP in the project as the Projects API lists it (do:floatingip:<ip>), so a second up has no diff", () => {
            const project = one(run, T.project);
            const ip = one(run, T.reservedIp);
            expect(ip.state?.reservedIpUrn).toBe("do:reservedip:192.0.2.200");
            expect(project.inputs.resources).toContain("do:floatingip:192.0.2.200");
            expect((project.inputs.resources as string[]).filter((u) => u.startsWith("do:reservedip:"))).toEqual([]);
        });
    });

    describe(`stack ${stack}: protection`, () => {
        it(`${expectations.protected ? "protects" : "does not protect"} the stateful resources`, () => {
            const stateful = run.registrations.filter((r) => r.custom && RESOURCE_FACTS[r.type]?.stateful);
            expect(stateful.length).toBeGreaterThanOrEqual(9);
            for (const r of stateful) expect(r.protect, `${r.type} ${r.name}`).toBe(expectations.protected);
        });

        it("never protects what must be replaceable (droplet, its IP assignment, keys, firewall)", () => {
            for (const type of [
                T.droplet,
                T.ipAssignment,
                T.spacesKey,
                T.firewall,
                T.vpc,
                T.password,
                T.privateKey,
                T.command,
            ]) {
                const found = byType(run, type);
                expect(found.length, type).toBeGreaterThan(0);
                for (const r of found) expect(r.protect, `${type} ${r.name}`).toBe(false);
            }
        });
    });

    describe(`stack ${stack}: outputs`, () => {
        it("exports the public IP, hostname, droplet id, bucket names and database host in the clear", async () => {
            const o = run.outputs!;
            expect(await resolve(o.publicIp as pulumi.Output<string>)).toBe("192.0.2.200");
            expect(await resolve(o.hostname as pulumi.Output<string>)).toBe(cfg.dns.fqdn);
            expect(await resolve(o.dropletId as pulumi.Output<string>)).toBe("424242");
            expect(await resolve(o.backupBucket as pulumi.Output<string>)).toBe(cfg.storage.backupBucket);
            expect(await resolve(o.vaultBucket as pulumi.Output<string>)).toBe(cfg.storage.vaultBucket);
            expect(await resolve(o.databaseHost as pulumi.Output<string>)).toMatch(/\.db\.ondigitalocean\.com$/);
            for (const name of ["publicIp", "hostname", "dropletId", "backupBucket", "vaultBucket", "databaseHost"]) {
                expect(await pulumi.isSecret(o[name] as pulumi.Output<unknown>), name).toBe(false);
            }
        });

        it("marks every connection string and key as secret", async () => {
            const o = run.outputs!;
            const secrets = ["databaseUrl", "cacheUrl", "spacesAccessKeyId", "spacesSecretAccessKey", "appSecretKey"];
            for (const name of secrets) {
                expect(pulumi.Output.isInstance(o[name]), name).toBe(true);
                expect(await pulumi.isSecret(o[name] as pulumi.Output<unknown>), name).toBe(true);
            }
            // The app role's password is the stack's own (rotated with credentialsEpoch), not DigitalOcean's first one.
            const password = String(one(run, T.password, "db-app-password").state?.result);
            expect(password).toMatch(/^mock-random-secret-key-/);
            expect(await resolve(o.databaseUrl as pulumi.Output<string>)).toBe(
                `postgresql://${cfg.database.user}:${password}@private-${String(byType(run, T.cluster).find((r) => r.inputs.engine === "pg")!.state?.name)}-do-user-1.db.ondigitalocean.com:25060/${cfg.database.name}?sslmode=require`,
            );
            expect(await resolve(o.cacheUrl as pulumi.Output<string>)).toMatch(/^rediss:\/\/.*@private-/);
        });

        it("leaks no secret value into a plain output", async () => {
            const o = run.outputs!;
            for (const [name, value] of Object.entries(o)) {
                if (pulumi.Output.isInstance(value) && (await pulumi.isSecret(value))) continue;
                const text = JSON.stringify(await resolve(value as pulumi.Input<unknown>));
                for (const secret of MOCK_SECRETS) expect(text, name).not.toContain(secret);
            }
        });
    });
}
