// The policy pack as `pulumi policy publish` ships it: the policy/ folder alone, with the
// packages its package.json declares, and nothing from the project around it. There is no
// Pulumi CLI here, so the test checks what publishing relies on: every import is declared,
// no import or tsconfig leaves the folder, and the pack starts from a copy of the folder
// that can resolve only the declared packages.
import * as grpc from "@grpc/grpc-js";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import type * as apb from "@pulumi/pulumi/proto/analyzer_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import { builtinModules } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import * as ts from "typescript";
import { afterAll, describe, expect, test } from "vitest";
import { parse as parseYaml } from "yaml";
import { DEFAULTS, POLICY_NAMES } from "../../policy/policies";

const root = path.resolve(__dirname, "../..");
const packDir = path.join(root, "policy");
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, any>;
const packJson = readJson(path.join(packDir, "package.json"));
const rootJson = readJson(path.join(root, "package.json"));
const declared: Record<string, string> = packJson.dependencies ?? {};
const sources = fs.readdirSync(packDir).filter((f) => f.endsWith(".ts"));

/** Every module specifier a file imports, exports from or requires, type-only imports included. */
function specifiers(file: string): string[] {
    const info = ts.preProcessFile(fs.readFileSync(file, "utf8"), true, true);
    return info.importedFiles.map((f) => f.fileName);
}

/** The npm package a bare specifier loads: `@scope/name` or `name`. */
const packageOf = (spec: string) =>
    spec
        .split("/")
        .slice(0, spec.startsWith("@") ? 2 : 1)
        .join("/");
const isBuiltin = (spec: string) => spec.startsWith("node:") || builtinModules.includes(packageOf(spec));
const isRelative = (spec: string) => spec.startsWith(".") || path.isAbsolute(spec);

describe("policy/package.json declares what the pack needs", () => {
    test("the pack has TypeScript sources to check", () => {
        expect(sources).toEqual(expect.arrayContaining(["index.ts", "policies.ts"]));
    });

    test.each(sources)("%s: every package it imports is a dependency of the pack", (file) => {
        const bare = specifiers(path.join(packDir, file)).filter((s) => !isRelative(s) && !isBuiltin(s));
        expect(bare.length).toBeGreaterThan(0);
        for (const spec of bare) expect(Object.keys(declared), `${file} imports ${spec}`).toContain(packageOf(spec));
    });

    test.each(sources)("%s: no relative import leaves policy/", (file) => {
        for (const spec of specifiers(path.join(packDir, file)).filter(isRelative)) {
            const target = path.resolve(packDir, spec);
            expect(path.relative(packDir, target).startsWith(".."), `${file} imports ${spec}`).toBe(false);
        }
    });

    test("the runner and its TypeScript toolchain are dependencies: the CLI compiles index.ts with ts-node, type-checking it", () => {
        for (const name of ["@pulumi/pulumi", "@pulumi/policy", "typescript", "ts-node", "@types/node"])
            expect(declared, name).toHaveProperty(name);
        expect(packJson.main).toBe("index.ts");
        expect(parseYaml(fs.readFileSync(path.join(packDir, "PulumiPolicy.yaml"), "utf8")).runtime).toBe("nodejs");
    });

    test("each dependency is pinned to the version the project installs, so a local --policy-pack run uses what a published pack gets", () => {
        const projectVersions: Record<string, string> = { ...rootJson.dependencies, ...rootJson.devDependencies };
        for (const [name, version] of Object.entries(declared)) {
            expect(version, name).toMatch(/^\d+\.\d+\.\d+$/);
            expect(projectVersions[name], `${name} is not a project dependency`).toBe(version);
        }
    });

    test("tsconfig.json stands alone: no extends, and the settings the pack compiles with", () => {
        const { config, error } = ts.readConfigFile(path.join(packDir, "tsconfig.json"), ts.sys.readFile);
        expect(error).toBeUndefined();
        expect(config.extends).toBeUndefined();
        expect(config.compilerOptions).toMatchObject({
            module: "commonjs",
            moduleResolution: "node",
            strict: true,
            types: ["node"],
        });
    });

    test("the default prod region, which a published pack falls back to, is Pulumi.prod.yaml's", () => {
        // A published pack has no project beside it to read the region from.
        const prod = parseYaml(fs.readFileSync(path.join(root, "Pulumi.prod.yaml"), "utf8")) as {
            config: Record<string, unknown>;
        };
        expect(DEFAULTS.prodRegion).toBe(prod.config["income-fortress:region"]);
    });
});

describe("the pack starts from a copy of policy/ alone", () => {
    // The copy sits outside the repository and gets a node_modules holding links to the
    // declared packages only, so an undeclared import, or a tsconfig that reaches for
    // ../tsconfig.json, fails here as it would in a published pack.
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), "policy-pack-alone-"));
    let pack: ChildProcess | undefined;
    afterAll(() => {
        if (pack && pack.exitCode === null) pack.kill("SIGTERM");
        fs.rmSync(copy, { recursive: true, force: true });
    });

    test("no node_modules above the copy could stand in for an undeclared package", () => {
        for (let dir = path.dirname(copy); ; dir = path.dirname(dir)) {
            expect(fs.existsSync(path.join(dir, "node_modules")), dir).toBe(false);
            if (path.dirname(dir) === dir) break;
        }
    });

    test("serves the policies, with the prod region falling back to the default", async () => {
        for (const f of fs.readdirSync(packDir)) fs.copyFileSync(path.join(packDir, f), path.join(copy, f));
        for (const name of Object.keys(declared)) {
            const link = path.join(copy, "node_modules", name);
            fs.mkdirSync(path.dirname(link), { recursive: true });
            fs.symlinkSync(path.join(root, "node_modules", name), link, "dir");
        }
        // As the CLI does: resolve the runner from the pack folder and run it there.
        const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [copy] });
        expect(fs.realpathSync(runner)).toBe(
            fs.realpathSync(path.join(root, "node_modules/@pulumi/pulumi/cmd/run-policy-pack/index.js")),
        );
        let stderr = "";
        pack = spawn(process.execPath, [runner, "127.0.0.1:1", "."], { cwd: copy, stdio: ["ignore", "pipe", "pipe"] });
        pack.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
        const port = await new Promise<string>((resolve, reject) => {
            let out = "";
            pack!.stdout?.on("data", (d: Buffer) => {
                out += d.toString();
                const m = /^(\d+)\s*$/m.exec(out);
                if (m) resolve(m[1]);
            });
            pack!.on("exit", (code) =>
                reject(new Error(`the copied pack exited with ${code} before serving:\n${stderr}${out}`)),
            );
        });
        const client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
        try {
            const info = await new Promise<apb.AnalyzerInfo>((res, rej) =>
                client.getAnalyzerInfo(new Empty(), (err, r) => (err ? rej(err) : res(r))),
            );
            expect(info.getName()).toBe("income-fortress");
            const region = info.getPoliciesList().find((p) => p.getName() === POLICY_NAMES.drRegion);
            const schema = region?.getConfigschema()?.getProperties()?.toJavaScript() as Record<
                string,
                { default?: unknown }
            >;
            expect(schema.prodRegion.default).toBe(DEFAULTS.prodRegion);
        } finally {
            client.close();
        }
    }, 120_000);
});
