// Layer 1: the pure firewall rule builders (components/firewall-rules.ts).
import { describe, expect, it } from "vitest";
import {
    ANYWHERE,
    inboundRules,
    outboundRules,
    portsOpenToAnywhere,
    trustedTagRules,
} from "../../components/firewall-rules";

const ADMIN = ["203.0.113.0/24", "2001:db8:4f10::/48"];

describe("inboundRules", () => {
    it.each([
        [false, ["tcp/22", "icmp/*", "tcp/80", "tcp/443"]],
        [true, ["tcp/22", "icmp/*"]],
    ])("isolate=%s opens exactly %j", (isolate, ports) => {
        expect(inboundRules({ adminCidrs: ADMIN, isolate }).map((r) => `${r.protocol}/${r.portRange ?? "*"}`)).toEqual(
            ports,
        );
    });

    it.each([false, true])("SSH comes only from the admin CIDRs (isolate=%s)", (isolate) => {
        const ssh = inboundRules({ adminCidrs: ADMIN, isolate }).filter((r) => r.portRange === "22");
        expect(ssh).toEqual([{ protocol: "tcp", portRange: "22", sourceAddresses: ADMIN }]);
    });

    it("only 80 and 443 are open to the internet, and nothing when isolated", () => {
        expect(portsOpenToAnywhere(inboundRules({ adminCidrs: ADMIN, isolate: false }))).toEqual(["tcp/80", "tcp/443"]);
        expect(portsOpenToAnywhere(inboundRules({ adminCidrs: ADMIN, isolate: true }))).toEqual([]);
    });

    it("does not share the caller's array (a later mutation cannot widen SSH)", () => {
        const admin = ["203.0.113.0/24"];
        const rules = inboundRules({ adminCidrs: admin, isolate: false });
        admin.push("0.0.0.0/0");
        expect(rules[0].sourceAddresses).toEqual(["203.0.113.0/24"]);
    });

    it("refuses an empty admin list", () => {
        expect(() => inboundRules({ adminCidrs: [], isolate: false })).toThrow(/adminCidrs is empty/);
    });
});

describe("portsOpenToAnywhere", () => {
    it.each([
        [[{ protocol: "tcp" as const, portRange: "22", sourceAddresses: ["0.0.0.0/0"] }], ["tcp/22"]],
        [[{ protocol: "tcp" as const, portRange: "22", sourceAddresses: ["::/0"] }], ["tcp/22"]],
        [[{ protocol: "tcp" as const, portRange: "22", sourceAddresses: ["2001:db8::/0"] }], ["tcp/22"]],
        [[{ protocol: "tcp" as const, portRange: "22", sourceAddresses: ["203.0.113.0/24"] }], []],
    ])("detects rules open to everyone (%#)", (rules, open) => {
        expect(portsOpenToAnywhere(rules)).toEqual(open);
    });
});

describe("outboundRules", () => {
    it("allows tcp, udp and icmp to anywhere, explicitly", () => {
        expect(outboundRules()).toEqual([
            { protocol: "tcp", portRange: "1-65535", destinationAddresses: ANYWHERE },
            { protocol: "udp", portRange: "1-65535", destinationAddresses: ANYWHERE },
            { protocol: "icmp", destinationAddresses: ANYWHERE },
        ]);
    });
});

describe("trustedTagRules", () => {
    it("trusts exactly one tag and nothing else", () => {
        expect(trustedTagRules("income-fortress-prod-app")).toEqual([
            { type: "tag", value: "income-fortress-prod-app" },
        ]);
    });
});
