// Layer 2 (no program run): the stack files themselves. They load the way the CLI
// loads them, parse cleanly, and agree with each other: dr runs elsewhere than prod,
// reads the vault prod writes, and never claims prod's record.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig, type FortressConfig } from "../../config";
import { ROOT, loadStackConfig, rawStackConfig } from "./harness";

function parsed(stack: string): FortressConfig {
    const r = parseConfig(rawStackConfig(stack), stack);
    if (!r.ok) throw new Error(JSON.stringify(r.problems, null, 2));
    return r.config;
}

/** A scratch project: the real Pulumi.yaml plus a stack file written by the test. */
function scratchProject(stackYaml: string): string {
    const dir = mkdtempSync(join(tmpdir(), "fortress-stackfile-"));
    writeFileSync(join(dir, "Pulumi.yaml"), readFileSync(join(ROOT, "Pulumi.yaml")));
    writeFileSync(join(dir, "Pulumi.test.yaml"), stackYaml);
    return dir;
}

describe("loading a stack the way the CLI does", () => {
    it("puts stack values over project defaults and passes everything as strings", () => {
        const c = loadStackConfig("prod");
        expect(c["income-fortress:region"]).toBe("nyc3"); // stack value
        expect(c["income-fortress:dropletSize"]).toBe("s-4vcpu-8gb"); // project default
        expect(c["income-fortress:dnsTtl"]).toBe("60");
        expect(c["income-fortress:protect"]).toBe("true");
        expect(JSON.parse(c["income-fortress:adminCidrs"])).toEqual([
            "203.0.113.0/24",
            "198.51.100.17/32",
            "2001:db8:4f10::/48",
        ]);
        expect(Object.values(c).every((v) => typeof v === "string")).toBe(true);
    });

    it.each([
        [
            "an undeclared key",
            "config:\n  income-fortress:colour: blue\n",
            /sets income-fortress:colour, which Pulumi\.yaml does not declare/,
        ],
        [
            "a value of the wrong type",
            "config:\n  income-fortress:dnsTtl: sixty\n",
            /income-fortress:dnsTtl: value "sixty" does not match declared type integer/,
        ],
        [
            "an unquoted version number",
            "config:\n  income-fortress:postgresVersion: 17\n",
            /postgresVersion: value 17 does not match declared type string/,
        ],
        [
            "a required key left unset",
            "config:\n  income-fortress:hostname: api\n",
            /missing configuration value income-fortress:domain/,
        ],
    ])("rejects %s, as the CLI would", (_what, yaml, message) => {
        expect(() => loadStackConfig("test", scratchProject(yaml))).toThrow(message);
    });

    it("ignores provider namespaces, which belong to the provider", () => {
        const yaml = readFileSync(join(ROOT, "Pulumi.dr.yaml"), "utf8").replace(
            "config:\n",
            "config:\n  digitalocean:token:\n    secure: AAABAKx\n",
        );
        expect(() => loadStackConfig("test", scratchProject(yaml))).not.toThrow();
    });
});

describe("prod and dr stack files", () => {
    const prod = parsed("prod");
    const dr = parsed("dr");

    it("both parse with no problem", () => {
        expect(prod.role).toBe("primary");
        expect(dr.role).toBe("dr");
    });

    it("prod runs in nyc3 and dr in a different Spaces region", () => {
        expect(prod.region).toBe("nyc3");
        expect(dr.region).not.toBe(prod.region);
        expect(dr.primaryRegion).toBe(prod.region);
    });

    it("dr reads the very vault prod writes, under prod's prefix", () => {
        expect(dr.storage.vaultBucket).toBe(prod.storage.vaultBucket);
        expect(dr.storage.vaultRegion).toBe(prod.storage.vaultRegion);
        expect(dr.storage.restorePrefix).toBe(prod.storage.backupPrefix);
        expect(prod.storage.ownsVault && !dr.storage.ownsVault).toBe(true);
    });

    it("the vault sits outside prod's region", () => {
        expect(prod.storage.vaultRegion).not.toBe(prod.region);
    });

    it("each stack owns a different record in the same zone, and separate buckets", () => {
        expect(prod.dns.domain).toBe("incomefortress.com");
        expect(dr.dns.domain).toBe(prod.dns.domain);
        expect(prod.dns.hostname).toBe("api");
        expect(dr.dns.hostname).not.toBe(prod.dns.hostname);
        expect(dr.storage.backupBucket).not.toBe(prod.storage.backupBucket);
    });

    it("prod protects its state and keeps droplet backups; dr stays destroyable", () => {
        expect(prod.protect).toBe(true);
        expect(prod.host.backups).toBe(true);
        expect(dr.protect).toBe(false);
    });

    it("both run the same PostgreSQL major, so a prod dump restores into dr", () => {
        expect(dr.database.version).toBe(prod.database.version);
    });
});
