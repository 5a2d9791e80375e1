// The service record a stack owns. Exactly one stack owns a given name: prod owns
// `api`, dr owns `api-dr`, drills own `drill-…`; none of them ever writes another's.
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";

/** DigitalOcean rejects TTLs below 30 seconds. */
export const MIN_TTL = 30;

export interface DnsArgs {
    /** DNS zone, already managed in DigitalOcean DNS, such as `incomefortress.com` (config domain). */
    domain: string;
    /** Record name inside the zone, such as `api` (config hostname). */
    hostname: string;
    /**
     * TTL in seconds, 30 to 86400 (config dnsTtl). Low, so a cutover propagates quickly.
     * Records that share a name must share a TTL, so this stack's record is the only one
     * with its name.
     */
    ttl: number;
    /** IPv4 address the record points at (the reserved IP). */
    ipAddress: pulumi.Input<string>;
    /** Protect the record from deletion (config protect). */
    protect: boolean;
}

export class Dns extends pulumi.ComponentResource {
    readonly record: digitalocean.DnsRecord;
    /** The fully qualified name, e.g. `api.incomefortress.com`. */
    readonly fqdn: pulumi.Output<string>;

    constructor(name: string, args: DnsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("income-fortress:dns:Dns", name, {}, opts);
        if (!Number.isInteger(args.ttl) || args.ttl < MIN_TTL) {
            throw new Error(`Dns ${name}: ttl ${args.ttl} is below DigitalOcean's minimum of ${MIN_TTL} seconds`);
        }
        this.record = new digitalocean.DnsRecord(
            `${name}-a`,
            { domain: args.domain, name: args.hostname, type: "A", value: args.ipAddress, ttl: args.ttl },
            { parent: this, protect: args.protect },
        );
        this.fqdn = pulumi.output(`${args.hostname}.${args.domain}`);
        this.registerOutputs({ fqdn: this.fqdn });
    }
}
