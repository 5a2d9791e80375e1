// A DigitalOcean project per environment, so the console, billing and access show one
// environment's resources together.
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";

export interface ProjectArgs {
    /** Environment name; the project is called `income-fortress-<environment>`. */
    environment: string;
    /** DigitalOcean's environment label: `Development`, `Staging` or `Production`. */
    label: string;
    /**
     * URNs (`do:droplet:…`, `do:dbaas:…`, `do:space:…`, `do:floatingip:…`) of the
     * resources to group. VPCs, firewalls and DNS records cannot join a project.
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
                environment: args.label,
                resources: args.resources,
            },
            { parent: this },
        );
        this.registerOutputs({ projectId: this.project.id });
    }
}
