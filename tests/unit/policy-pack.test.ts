// The policy pack as the Pulumi CLI runs it. There is no Pulumi CLI here, so the test
// plays the CLI's part. For `--policy-pack policy` the CLI starts Pulumi's nodejs
// analyzer shim with its working directory set to the pack and the arguments
// `<engine address> .`; the shim resolves @pulumi/pulumi/cmd/run-policy-pack from that
// directory with Node's require.resolve and runs it, and the runner compiles
// policy/index.ts with ts-node and prints the port it serves on
// (pulumi/pulumi sdk/go/common/resource/plugin/analyzer_plugin.go, NewPolicyAnalyzer).
// The test does the same, then talks to the pack over the Analyzer gRPC protocol:
// GetAnalyzerInfo, Configure, Analyze and AnalyzeStack.
import * as grpc from "@grpc/grpc-js";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as apb from "@pulumi/pulumi/proto/analyzer_pb";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parse as parseYaml } from "yaml";
import { POLICY_NAMES, TYPES } from "../../policy/policies";

const root = path.resolve(__dirname, "../..");
const packDir = path.join(root, "policy");
// The engine's wire markers for a secret and for a string unknown during preview.
const SECRET_SIG = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270" };
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

let pack: ChildProcess;
let client: AnalyzerClient;
let stderr = "";

test("the pack's runner resolves from the pack directory (policy/ has no node_modules of its own)", () => {
    expect(fs.existsSync(path.join(packDir, "node_modules"))).toBe(false);
    expect(resolveRunner()).toBe(path.join(root, "node_modules/@pulumi/pulumi/cmd/run-policy-pack/index.js"));
});

/** What the analyzer shim does: resolve the runner with Node, from the pack directory. */
function resolveRunner(): string {
    const r = spawnSync(
        process.execPath,
        ["-e", "console.log(require.resolve('@pulumi/pulumi/cmd/run-policy-pack'))"],
        { cwd: packDir, encoding: "utf8" },
    );
    if (r.status !== 0) throw new Error(`cannot resolve the policy-pack runner from ${packDir}: ${r.stderr}`);
    return r.stdout.trim();
}

beforeAll(async () => {
    // The engine address is only used to report errors back; nothing listens there.
    pack = spawn(process.execPath, [resolveRunner(), "127.0.0.1:1", "."], {
        cwd: packDir,
        stdio: ["ignore", "pipe", "pipe"],
    });
    pack.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const port = await new Promise<string>((resolve, reject) => {
        let out = "";
        pack.stdout?.on("data", (d: Buffer) => {
            out += d.toString();
            const m = /^(\d+)\s*$/m.exec(out);
            if (m) resolve(m[1]);
        });
        pack.on("exit", (code) => reject(new Error(`policy pack exited with ${code} before serving:\n${stderr}`)));
    });
    client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}, 120_000);

afterAll(() => {
    client?.close();
    if (pack && pack.exitCode === null) pack.kill("SIGTERM");
});

// Promise wrappers around the callback-style client (its methods are overloaded, so
// one generic wrapper cannot infer the types).
const done =
    <T>(resolve: (v: T) => void, reject: (e: Error) => void) =>
    (err: grpc.ServiceError | null, res: T) =>
        err ? reject(err) : resolve(res);
const getAnalyzerInfo = () =>
    new Promise<apb.AnalyzerInfo>((res, rej) => client.getAnalyzerInfo(new Empty(), done(res, rej)));
const configure = (req: apb.ConfigureAnalyzerRequest) =>
    new Promise<Empty>((res, rej) => client.configure(req, done(res, rej)));
const analyze = (req: apb.AnalyzeRequest) =>
    new Promise<apb.AnalyzeResponse>((res, rej) => client.analyze(req, done(res, rej))).then((r) =>
        r.getDiagnosticsList(),
    );
const analyzeStack = (resources: apb.AnalyzerResource[]) =>
    new Promise<apb.AnalyzeResponse>((res, rej) =>
        client.analyzeStack(new apb.AnalyzeStackRequest().setResourcesList(resources), done(res, rej)),
    ).then((r) => r.getDiagnosticsList());

const urnOf = (stack: string, type: string, name: string) => `urn:pulumi:${stack}::income-fortress::${type}::${name}`;

function analyzeRequest(stack: string, type: string, name: string, props: Record<string, unknown>): apb.AnalyzeRequest {
    return new apb.AnalyzeRequest()
        .setType(type)
        .setName(name)
        .setUrn(urnOf(stack, type, name))
        .setProperties(Struct.fromJavaScript(props as never))
        .setOptions(new apb.AnalyzerResourceOptions());
}

function stackResource(
    stack: string,
    type: string,
    name: string,
    props: Record<string, unknown>,
    propertyDeps: Record<string, string[]> = {},
): apb.AnalyzerResource {
    const r = new apb.AnalyzerResource()
        .setType(type)
        .setName(name)
        .setUrn(urnOf(stack, type, name))
        .setProperties(Struct.fromJavaScript(props as never))
        .setOptions(new apb.AnalyzerResourceOptions());
    for (const [key, urns] of Object.entries(propertyDeps)) {
        r.getPropertydependenciesMap().set(key, new apb.AnalyzerPropertyDependencies().setUrnsList(urns));
    }
    return r;
}

const byPolicy = (ds: apb.AnalyzeDiagnostic[], name: string) => ds.filter((d) => d.getPolicyname() === name);

describe("the policy pack served by Pulumi's policy-pack runner", () => {
    test("describes every policy with its enforcement level, and the prod region from Pulumi.prod.yaml", async () => {
        const info = await getAnalyzerInfo();
        expect(info.getName()).toBe("income-fortress");
        const levels = Object.fromEntries(info.getPoliciesList().map((p) => [p.getName(), p.getEnforcementlevel()]));
        for (const name of Object.values(POLICY_NAMES)) expect(levels).toHaveProperty(name);
        expect(levels[POLICY_NAMES.sshFromAnywhere]).toBe(apb.EnforcementLevel.MANDATORY);
        expect(levels[POLICY_NAMES.databaseFirewalls]).toBe(apb.EnforcementLevel.MANDATORY);
        expect(levels[POLICY_NAMES.dropletSize]).toBe(apb.EnforcementLevel.ADVISORY);
        expect(levels[POLICY_NAMES.dnsTtl]).toBe(apb.EnforcementLevel.ADVISORY);

        const prodStack = parseYaml(fs.readFileSync(path.join(root, "Pulumi.prod.yaml"), "utf8")) as {
            config: Record<string, unknown>;
        };
        const region = info.getPoliciesList().find((p) => p.getName() === POLICY_NAMES.drRegion);
        const schema = region?.getConfigschema()?.getProperties()?.toJavaScript() as Record<
            string,
            { default?: unknown }
        >;
        expect(schema.prodRegion.default).toBe(prodStack.config["income-fortress:region"]);
    });

    test("blocks a firewall that opens SSH to the world and passes one that does not", async () => {
        const open = await analyze(
            analyzeRequest("prod", TYPES.firewall, "fw", {
                inboundRules: [{ protocol: "tcp", portRange: "22", sourceAddresses: ["0.0.0.0/0"] }],
            }),
        );
        const ssh = byPolicy(open, POLICY_NAMES.sshFromAnywhere);
        expect(ssh).toHaveLength(1);
        expect(ssh[0].getEnforcementlevel()).toBe(apb.EnforcementLevel.MANDATORY);
        expect(ssh[0].getMessage()).toContain("0.0.0.0/0");

        const closed = await analyze(
            analyzeRequest("prod", TYPES.firewall, "fw", {
                inboundRules: [{ protocol: "tcp", portRange: "22", sourceAddresses: ["203.0.113.0/24"] }],
            }),
        );
        expect(closed).toEqual([]);
    });

    test("sees a secret's plaintext in command text, and skips text unknown during preview", async () => {
        const secret = await analyze(
            analyzeRequest("prod", TYPES.remoteCommand, "cmd", {
                create: { ...SECRET_SIG, value: "PGPASSWORD=hunter2hunter2 psql -h db" },
            }),
        );
        expect(byPolicy(secret, POLICY_NAMES.commandSecretPatterns)).toHaveLength(1);

        const unknown = await analyze(analyzeRequest("prod", TYPES.remoteCommand, "cmd", { create: UNKNOWN }));
        expect(unknown).toEqual([]);
    });

    test("reports a cluster without a DatabaseFirewall at the cluster's URN", async () => {
        const pg = stackResource("prod", TYPES.databaseCluster, "pg", { engine: "pg" });
        const valkey = stackResource("prod", TYPES.databaseCluster, "valkey", { engine: "valkey" });
        // During preview the firewall's clusterId is unknown; its property dependency is not.
        const pgFirewall = stackResource(
            "prod",
            TYPES.databaseFirewall,
            "pg-fw",
            { clusterId: UNKNOWN, rules: [{ type: "tag", value: "prod" }] },
            { clusterId: [pg.getUrn()] },
        );

        const ds = byPolicy(await analyzeStack([pg, valkey, pgFirewall]), POLICY_NAMES.databaseFirewalls);
        expect(ds.map((d) => d.getUrn())).toEqual([valkey.getUrn()]);
        expect(ds[0].getEnforcementlevel()).toBe(apb.EnforcementLevel.MANDATORY);
    });

    test("takes the stack from the URN and prodRegion from the policy config", async () => {
        const droplet = (stack: string, region: string) =>
            analyzeRequest(stack, TYPES.droplet, "host", { region, size: "s-4vcpu-8gb", backups: true });
        expect(byPolicy(await analyze(droplet("dr", "nyc3")), POLICY_NAMES.drRegion)).toHaveLength(1);
        expect(byPolicy(await analyze(droplet("dr", "sfo3")), POLICY_NAMES.drRegion)).toHaveLength(0);
        expect(byPolicy(await analyze(droplet("prod", "nyc3")), POLICY_NAMES.drRegion)).toHaveLength(0);

        const request = new apb.ConfigureAnalyzerRequest();
        request
            .getPolicyconfigMap()
            .set(
                POLICY_NAMES.drRegion,
                new apb.PolicyConfig()
                    .setEnforcementlevel(apb.EnforcementLevel.MANDATORY)
                    .setProperties(Struct.fromJavaScript({ prodRegion: "sfo3" })),
            );
        await configure(request);
        try {
            expect(byPolicy(await analyze(droplet("dr", "sfo3")), POLICY_NAMES.drRegion)).toHaveLength(1);
            expect(byPolicy(await analyze(droplet("dr", "nyc3")), POLICY_NAMES.drRegion)).toHaveLength(0);
        } finally {
            await configure(new apb.ConfigureAnalyzerRequest());
        }
    });

    test("requires backups on prod droplets only", async () => {
        const droplet = (stack: string) =>
            analyzeRequest(stack, TYPES.droplet, "host", { region: "sfo3", size: "s-4vcpu-8gb", backups: false });
        expect(byPolicy(await analyze(droplet("prod")), POLICY_NAMES.prodDropletBackups)).toHaveLength(1);
        expect(byPolicy(await analyze(droplet("dr")), POLICY_NAMES.prodDropletBackups)).toHaveLength(0);
    });
});
