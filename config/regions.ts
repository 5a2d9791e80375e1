// Facts about DigitalOcean that the config validation checks against. They change
// rarely; when DigitalOcean opens a region or a PostgreSQL major, add it here (the
// tables are the only place) and the rules (config/rules.ts) and tests follow.

/**
 * Regions that accept new droplets, VPCs and managed databases
 * (`doctl compute region list`, the `available` column).
 */
export const DROPLET_REGIONS = [
    "ams3",
    "atl1",
    "blr1",
    "fra1",
    "lon1",
    "nyc1",
    "nyc3",
    "sfo2",
    "sfo3",
    "sgp1",
    "syd1",
    "tor1",
] as const;

/** Retired regions (no new resources) and the region DigitalOcean suggests instead. */
export const RETIRED_REGIONS: Readonly<Record<string, string>> = {
    ams2: "ams3",
    nyc2: "nyc3",
    sfo1: "sfo3",
};

/**
 * Droplet regions without Spaces object storage. Spaces is not offered everywhere droplets
 * are, so a bucket region is checked against {@link SPACES_REGIONS}.
 */
const WITHOUT_SPACES = ["nyc1"] as const;

/** Regions with Spaces object storage: the droplet regions but those without it. */
export const SPACES_REGIONS: readonly SpacesRegion[] = DROPLET_REGIONS.filter(
    (r): r is SpacesRegion => !(WITHOUT_SPACES as readonly string[]).includes(r),
);

/**
 * PostgreSQL majors DigitalOcean offers for new managed clusters
 * (`doctl databases options versions pg`). 13 and older are end-of-life there.
 */
export const POSTGRES_VERSIONS = ["14", "15", "16", "17"] as const;

/** Valkey major used for the managed cache (DigitalOcean's only offered major). */
export const VALKEY_VERSION = "8";

export type DropletRegion = (typeof DROPLET_REGIONS)[number];
export type SpacesRegion = Exclude<DropletRegion, (typeof WITHOUT_SPACES)[number]>;
export type PostgresVersion = (typeof POSTGRES_VERSIONS)[number];

export function isDropletRegion(region: string): region is DropletRegion {
    return (DROPLET_REGIONS as readonly string[]).includes(region);
}

export function isSpacesRegion(region: string): region is SpacesRegion {
    return (SPACES_REGIONS as readonly string[]).includes(region);
}

/** The S3-compatible endpoint of a Spaces region, e.g. `https://nyc3.digitaloceanspaces.com`. */
export function spacesEndpoint(region: string): string {
    return `https://${region}.digitaloceanspaces.com`;
}
