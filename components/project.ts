// A DigitalOcean project per environment, so the console, billing and access show one
// environment's resources together.
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import type { ProjectEnvironment } from "../config/schema";

/**
 * The URN a project lists a reserved IP under. The provider's `reservedIpUrn` is godo's
 * `do:reservedip:<ip>`, but the Projects API reports the address back as
 * `do:floatingip:<ip>`, and the provider stores and diffs the list as the API returns it
 * (digitalocean/project/resource_project.go, Read; vendor/github.com/digitalocean/godo/reserved_ips.go,
 * URN). Sending the provider's form would show a diff on every later `up`, whose update
 * moves the address to the default project, which the API refuses (412) while a droplet
 * holds it.
 * https://github.com/digitalocean/terraform-provider-digitalocean/blob/main/digitalocean/project/resource_project.go
 */
export function reservedIpProjectUrn(ipAddress: string): string {
    return `do:floatingip:${ipAddress}`;
}

export interface ProjectArgs {
    /** Environment name; the project is called `income-fortress-<environment>`. */
    environment: string;
    /** DigitalOcean's environment label of the project: `Development`, `Staging` or `Production` (config projectEnvironment). */
    projectEnvironment: ProjectEnvironment;
    /**
     * URNs (`do:droplet:…`, `do:dbaas:…`, `do:space:…`) of the resources to group, each as
     * the Projects API lists it: a reserved IP through {@link reservedIpProjectUrn}. VPCs,
     * firewalls and DNS records cannot join a project.
     */
    resources: pulumi.Input<string>[];
}

export class Project extends pulumi.ComponentResource {
    readonly project: digitalocean.Project;

    constructor(name: string, args: ProjectArgs, opts?: pulumi.ComponentResourceOptions) {
        super("income-fortress:project:Project", name, {}, opts);
        this.project = new digitalocean.Project(
            `${name}-project`,
            {
                name: `income-fortress-${args.environment}`,
                description: `Income Fortress platform, ${args.environment} environment (managed by Pulumi)`,
                purpose: "Web Application",
                environment: args.projectEnvironment,
                resources: args.resources,
            },
            { parent: this },
        );
        this.registerOutputs({ projectId: this.project.id });
    }
}
