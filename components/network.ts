// The VPC and the cloud firewall in front of the droplet.
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import { inboundRules, outboundRules } from "./firewall-rules";

export interface NetworkArgs {
    /** DigitalOcean region slug of the VPC, e.g. `nyc3`. */
    region: string;
    /** Environment name (`prod`, `dr`, `drill-…`), used in descriptions. */
    environment: string;
    /** Private IPv4 CIDR of the VPC, /16 to /28 (config vpcIpRange). Undefined: DigitalOcean picks a free range. */
    vpcIpRange?: string;
    /** IPv4/IPv6 CIDRs allowed to reach SSH (22) and ICMP (config adminCidrs); at least one. */
    adminCidrs: string[];
    /** Close inbound 80/443 (breach response); admin SSH stays open (config isolate). */
    isolate: boolean;
    /**
     * Droplet tag the firewall applies to. Attaching by tag, not droplet id, means a
     * replacement droplet is covered the moment it boots, with no firewall update.
     */
    hostTag: pulumi.Input<string>;
}

export class Network extends pulumi.ComponentResource {
    /** The VPC the droplet and the managed databases join. */
    readonly vpc: digitalocean.Vpc;
    /** The cloud firewall in front of every droplet with the host tag. */
    readonly firewall: digitalocean.Firewall;
    /** The VPC id, for droplets and database clusters. */
    readonly vpcId: pulumi.Output<string>;

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("income-fortress:network:Network", name, {}, opts);

        this.vpc = new digitalocean.Vpc(
            `${name}-vpc`,
            {
                region: args.region,
                ...(args.vpcIpRange ? { ipRange: args.vpcIpRange } : {}),
                description: `Income Fortress ${args.environment} network`,
            },
            { parent: this },
        );

        this.firewall = new digitalocean.Firewall(
            `${name}-firewall`,
            {
                tags: [args.hostTag],
                inboundRules: inboundRules({ adminCidrs: args.adminCidrs, isolate: args.isolate }),
                outboundRules: outboundRules(),
            },
            { parent: this },
        );

        this.vpcId = this.vpc.id;
        this.registerOutputs({ vpcId: this.vpcId, firewallId: this.firewall.id });
    }
}
