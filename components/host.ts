// The application droplet, its reserved IP and the IP's assignment.
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";

/** How long deleting a droplet may take, graceful shutdown included. */
export const DROPLET_DELETE_TIMEOUT = "10m";

export interface HostArgs {
    /** DigitalOcean region slug; must match the VPC's region. */
    region: string;
    /** Environment name (`prod`, `dr`, `drill-…`), used in the droplet name. */
    environment: string;
    /** Droplet size slug, such as `s-4vcpu-8gb` (config dropletSize). Changing it resizes the droplet in place. */
    size: string;
    /** Image slug or numeric id, such as `ubuntu-24-04-x64` (config dropletImage). Changing it replaces the droplet. */
    image: string;
    /** VPC the droplet joins (private traffic to the managed databases). */
    vpcId: pulumi.Input<string>;
    /**
     * Tags for the droplet. The first is the host tag that the cloud firewall and the
     * database firewalls trust; the rest are labels (environment).
     */
    tags: pulumi.Input<string>[];
    /**
     * MD5 fingerprints or numeric ids of SSH keys already in the DigitalOcean account
     * (config sshKeyFingerprints); at least one. Changing them replaces the droplet
     * (DigitalOcean installs keys only at creation).
     */
    sshKeyFingerprints: string[];
    /** DigitalOcean's weekly droplet backups (config dropletBackups). */
    backups: boolean;
    /**
     * Rendered `#cloud-config` user-data. It must contain no secret. Any change to it
     * replaces the droplet: DigitalOcean runs user-data only on first boot.
     */
    userData: pulumi.Input<string>;
    /** Protect the reserved IP (the address DNS and allowlists point at) from deletion (config protect). */
    protect: boolean;
    /**
     * What the droplet waits for: while isolated, the suspect droplet's snapshot and evidence
     * (components/isolation.ts), so that a replacement droplet is created only after them.
     * Default none.
     */
    after?: pulumi.Input<pulumi.Resource>[];
}

export class Host extends pulumi.ComponentResource {
    readonly droplet: digitalocean.Droplet;
    readonly reservedIp: digitalocean.ReservedIp;
    readonly ipAssignment: digitalocean.ReservedIpAssignment;
    /** The stable public IPv4 address (the reserved IP), for DNS and SSH. */
    readonly publicIp: pulumi.Output<string>;
    /** The droplet id; recovery commands use it as their re-run trigger. */
    readonly dropletId: pulumi.Output<string>;

    constructor(name: string, args: HostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("income-fortress:host:Host", name, {}, opts);
        if (args.sshKeyFingerprints.length === 0)
            throw new Error(`Host ${name}: sshKeyFingerprints is empty; the droplet would have no way in`);

        this.droplet = new digitalocean.Droplet(
            `${name}-droplet`,
            {
                name: `income-fortress-${args.environment}`,
                region: args.region,
                size: args.size,
                image: args.image,
                vpcUuid: args.vpcId,
                ipv6: true,
                monitoring: true,
                backups: args.backups,
                sshKeys: args.sshKeyFingerprints,
                tags: args.tags,
                userData: args.userData,
                // Let the OS stop docker and flush PostgreSQL clients before power-off.
                gracefulShutdown: true,
            },
            // Every replacement deletes the old droplet while compose still runs on it. The
            // provider waits for "off" within the delete timeout (60 s by default), then fails
            // the delete, leaving the old droplet up and in state, instead of powering it off
            // (resourceDigitalOceanDropletDelete in
            // https://github.com/digitalocean/terraform-provider-digitalocean/blob/main/digitalocean/droplet/resource_droplet.go).
            // systemd gives each unit 90 s to stop; compose's containers get 10 s each.
            { parent: this, customTimeouts: { delete: DROPLET_DELETE_TIMEOUT }, dependsOn: args.after ?? [] },
        );

        // The reserved IP outlives droplets: a rebuilt droplet takes over the same
        // address, so DNS and client allowlists do not change.
        this.reservedIp = new digitalocean.ReservedIp(
            `${name}-ip`,
            { region: args.region },
            { parent: this, protect: args.protect },
        );

        this.ipAssignment = new digitalocean.ReservedIpAssignment(
            `${name}-ip-assignment`,
            {
                ipAddress: this.reservedIp.ipAddress,
                dropletId: this.droplet.id.apply((id) => Number(id)),
            },
            // The old assignment must go before the new one: an address is assigned to
            // one droplet at a time.
            { parent: this, deleteBeforeReplace: true },
        );

        this.publicIp = this.reservedIp.ipAddress;
        this.dropletId = this.droplet.id;
        this.registerOutputs({ publicIp: this.publicIp, dropletId: this.dropletId });
    }
}
