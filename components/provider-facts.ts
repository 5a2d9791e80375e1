// What each provider does with a changed input, for every resource type this program
// registers: which inputs force a replacement, which an update silently drops, and which
// types hold state. Read from the providers' sources, cited per type (paths in
// github.com/digitalocean/terraform-provider-digitalocean unless another repository is
// named; pulumi-digitalocean's schema.json marks the same inputs `willReplaceOnChanges`).
// tests/stack/config-changes.test.ts classifies what each config key's change does with
// this table, and docs/config-changes.md is generated from that.

/** What a provider does with one resource type's inputs (Pulumi property names). */
export interface ResourceFacts {
    /** Inputs whose change replaces the resource; `*` for every input. */
    forceNew: readonly string[];
    /** Inputs the provider's Update never reads: a change lands in state and nowhere else. */
    ignoredByUpdate?: readonly string[];
    /** In-place updates worth knowing before an `up`: input → what the provider does. */
    updateNotes?: Readonly<Record<string, string>>;
    /** Holds data, or an address or rule others rely on; the platform protects it when `protect` is true. */
    stateful?: true;
    /** A read of existing state (StackReference), never created, changed or deleted. */
    read?: true;
    /** Where this was read. */
    source: string;
}

const DO = "digitalocean/";

export const RESOURCE_FACTS: Readonly<Record<string, ResourceFacts>> = {
    "digitalocean:index/tag:Tag": { forceNew: ["name"], source: `${DO}tag/resource_tag.go` },
    // name is auto-named by Pulumi and kept across updates.
    "digitalocean:index/vpc:Vpc": { forceNew: ["region", "ipRange"], source: `${DO}vpc/resource_vpc.go` },
    "digitalocean:index/firewall:Firewall": { forceNew: [], source: `${DO}firewall/firewalls.go (firewallSchema)` },
    "digitalocean:index/droplet:Droplet": {
        // Also ipv6 true to false (CustomizeDiff); the platform keeps ipv6 on.
        forceNew: [
            "image",
            "region",
            "sshKeys",
            "userData",
            "monitoring",
            "vpcUuid",
            "dropletAgent",
            "publicNetworking",
        ],
        updateNotes: { size: "powers the droplet off, resizes it (disk too) and powers it on" },
        source: `${DO}droplet/resource_droplet.go`,
    },
    // No Update at all. Read takes droplet_id from the snapshot's resource_id, which DigitalOcean
    // keeps after the droplet is deleted: a snapshot outlives its droplet. Not `stateful`
    // here: the platform keeps it with retainOnDelete, so leaving the program never deletes it.
    "digitalocean:index/dropletSnapshot:DropletSnapshot": {
        forceNew: ["name", "dropletId"],
        source: `${DO}snapshot/resource_droplet_snapshot.go`,
    },
    "digitalocean:index/reservedIp:ReservedIp": {
        forceNew: ["region"],
        stateful: true,
        source: `${DO}reservedip/resource_reserved_ip.go`,
    },
    "digitalocean:index/reservedIpAssignment:ReservedIpAssignment": {
        forceNew: ["ipAddress", "dropletId"],
        source: `${DO}reservedip/resource_reserved_ip_assignment.go`,
    },
    "digitalocean:index/databaseCluster:DatabaseCluster": {
        forceNew: ["name", "engine", "privateNetworkUuid", "projectId"],
        // Only read on create; Read does not set it either.
        ignoredByUpdate: ["backupRestore"],
        updateNotes: {
            region: "migrates the cluster to the region",
            version: "upgrades the major version (the API refuses a downgrade)",
            size: "resizes the nodes",
            nodeCount: "adds or removes standby nodes",
        },
        stateful: true,
        source: `${DO}database/resource_database_cluster.go`,
    },
    "digitalocean:index/databaseReplica:DatabaseReplica": {
        // uuid is computed. Read drops the replica from state on a 404, which is what a promoted
        // replica answers; Delete does not tolerate that 404 (docs/warm-standby.md).
        forceNew: ["name", "clusterId", "region", "privateNetworkUuid", "tags"],
        updateNotes: { size: "resizes the replica's single node" },
        stateful: true,
        source: `${DO}database/resource_database_replica.go`,
    },
    "digitalocean:index/databaseDb:DatabaseDb": {
        forceNew: ["clusterId", "name"],
        stateful: true,
        source: `${DO}database/resource_database_db.go`,
    },
    "digitalocean:index/databaseUser:DatabaseUser": {
        forceNew: ["clusterId", "name"],
        stateful: true,
        source: `${DO}database/resource_database_user.go`,
    },
    "digitalocean:index/databaseFirewall:DatabaseFirewall": {
        forceNew: ["clusterId"],
        stateful: true,
        source: `${DO}database/resource_database_firewall.go`,
    },
    "digitalocean:index/spacesBucket:SpacesBucket": {
        forceNew: ["region"],
        // Update reads acl, cors, versioning and lifecycle rules only; the id stays the old name.
        ignoredByUpdate: ["name"],
        stateful: true,
        source: `${DO}spaces/resource_spaces_bucket.go`,
    },
    "digitalocean:index/spacesKey:SpacesKey": {
        forceNew: [],
        updateNotes: { name: "renames the key; its credentials stay", grants: "changes what the key may reach" },
        source: `${DO}spaces/spaces_entities.go (spacesKeyResourceSchema), spaces/resource_spaces_key.go`,
    },
    // name is not ForceNew: a new hostname renames the record in place.
    "digitalocean:index/dnsRecord:DnsRecord": {
        forceNew: ["domain", "type"],
        stateful: true,
        source: `${DO}domain/resource_record.go`,
    },
    "digitalocean:index/project:Project": { forceNew: [], source: `${DO}project/resource_project.go` },
    "digitalocean:index/uptimeCheck:UptimeCheck": { forceNew: [], source: `${DO}uptime/resource_uptime_check.go` },
    "digitalocean:index/uptimeAlert:UptimeAlert": { forceNew: [], source: `${DO}uptime/resource_uptime_alert.go` },
    "digitalocean:index/monitorAlert:MonitorAlert": {
        forceNew: [],
        source: `${DO}monitoring/resource_monitor_alert.go`,
    },
    "random:index/randomPassword:RandomPassword": {
        forceNew: ["*"],
        source: "github.com/hashicorp/terraform-provider-random internal/provider/resource_password.go (every attribute RequiresReplace)",
    },
    "tls:index/privateKey:PrivateKey": {
        forceNew: ["*"],
        source: "github.com/hashicorp/terraform-provider-tls internal/provider/resource_private_key.go (every attribute RequiresReplace)",
    },
    // Any other change is an update, which runs `create` again (no `update` command is set).
    "command:remote:Command": {
        forceNew: ["triggers"],
        source: "github.com/pulumi/pulumi-command provider/pkg/provider/common/inputs.go (triggers: replaceOnChanges), provider/pkg/provider/remote/commandController.go (Update)",
    },
    // The same Command, run on the machine running pulumi up.
    "command:local:Command": {
        forceNew: ["triggers"],
        source: "github.com/pulumi/pulumi-command provider/pkg/provider/common/inputs.go (triggers: replaceOnChanges), provider/pkg/provider/local/commandController.go (Update)",
    },
    "pulumi:pulumi:StackReference": {
        forceNew: [],
        read: true,
        source: "github.com/pulumi/pulumi pkg/resource/deploy/builtins.go (readStackReference)",
    },
};

/** The facts for a type; throws for a type nobody has read the provider of yet. */
export function factsFor(type: string): ResourceFacts {
    const facts = RESOURCE_FACTS[type];
    if (!facts)
        throw new Error(
            `no provider facts for ${type}: read its provider's source and add it to components/provider-facts.ts`,
        );
    return facts;
}

/** The inputs among `changed` that replace a resource of `type`, given its replaceOnChanges option. */
export function replacingInputs(
    type: string,
    changed: readonly string[],
    replaceOnChanges: readonly string[] = [],
): string[] {
    const force = [...factsFor(type).forceNew, ...replaceOnChanges];
    return force.includes("*") ? [...changed] : changed.filter((p) => force.includes(p));
}

/** The inputs among `changed` that the provider would drop without a word (none replaced by replaceOnChanges). */
export function ignoredInputs(
    type: string,
    changed: readonly string[],
    replaceOnChanges: readonly string[] = [],
): string[] {
    return changed.filter((p) => (factsFor(type).ignoredByUpdate ?? []).includes(p) && !replaceOnChanges.includes(p));
}
