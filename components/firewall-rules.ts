// Pure builders for firewall rule sets, so that the rules a stack would apply can be
// table-tested without Pulumi. Plain strings in, plain objects out; the tag name may be
// an Output, which the builders only place, never inspect.
import type * as pulumi from "@pulumi/pulumi";

/** Matches every IPv4 and IPv6 address. */
export const ANYWHERE = ["0.0.0.0/0", "::/0"];

export interface InboundRule {
    protocol: "tcp" | "udp" | "icmp";
    portRange?: string;
    sourceAddresses: string[];
}

export interface OutboundRule {
    protocol: "tcp" | "udp" | "icmp";
    portRange?: string;
    destinationAddresses: string[];
}

export interface InboundOptions {
    /** CIDRs that may reach SSH and ping the host. Must not be empty. */
    adminCidrs: readonly string[];
    /** Close 80/443 (breach response). Admin SSH stays open so the host can be examined. */
    isolate: boolean;
}

/**
 * Inbound: SSH and ICMP only from the admin CIDRs; HTTP and HTTPS from anywhere unless
 * isolated. Nothing else is open: a DigitalOcean cloud firewall denies what no rule allows.
 */
export function inboundRules(opts: InboundOptions): InboundRule[] {
    if (opts.adminCidrs.length === 0) {
        throw new Error("inboundRules: adminCidrs is empty; at least one admin CIDR must reach SSH");
    }
    const admin = [...opts.adminCidrs];
    const rules: InboundRule[] = [
        { protocol: "tcp", portRange: "22", sourceAddresses: admin },
        { protocol: "icmp", sourceAddresses: admin },
    ];
    if (!opts.isolate) {
        rules.push(
            { protocol: "tcp", portRange: "80", sourceAddresses: [...ANYWHERE] },
            { protocol: "tcp", portRange: "443", sourceAddresses: [...ANYWHERE] },
        );
    }
    return rules;
}

/**
 * Outbound: explicit tcp, udp and icmp to anywhere. The host must reach apt mirrors,
 * Docker registries, git, Spaces and the managed databases; a cloud firewall with no
 * outbound rules would block all of that.
 */
export function outboundRules(): OutboundRule[] {
    return [
        { protocol: "tcp", portRange: "1-65535", destinationAddresses: [...ANYWHERE] },
        { protocol: "udp", portRange: "1-65535", destinationAddresses: [...ANYWHERE] },
        { protocol: "icmp", destinationAddresses: [...ANYWHERE] },
    ];
}

export interface TrustRule {
    type: "tag";
    value: pulumi.Input<string>;
}

/**
 * Managed-database firewall rules that trust droplets by tag. A tag, unlike a droplet
 * id, survives the droplet being replaced, so a rebuild causes no firewall churn.
 * A DatabaseFirewall replaces the cluster's whole rule set, so this is the complete list.
 */
export function trustedTagRules(tag: pulumi.Input<string>): TrustRule[] {
    return [{ type: "tag", value: tag }];
}

/** Ports an inbound rule set opens to the whole internet (for tests and policy checks). */
export function portsOpenToAnywhere(rules: readonly InboundRule[]): string[] {
    return rules
        .filter((r) => r.sourceAddresses.some((a) => ANYWHERE.includes(a) || /\/0$/.test(a)))
        .map((r) => `${r.protocol}/${r.portRange ?? "*"}`);
}
