// The seam between the Pulumi runtime and the pure parser: index.ts hands in a getter
// (pulumi.Config.get) and the names of the keys the stack actually sets, and gets back
// the plain record parseConfig takes. Kept tiny so the parser stays runtime-free.
import { PROJECT } from "./keys";
import type { RawConfig } from "./schema";

/** Reads one raw value; `undefined` when the key is not set. */
export type RawGetter = (key: string) => string | undefined;

/**
 * Strips the project namespace from the full config keys the runtime lists
 * (`income-fortress:region` → `region`) and ignores other namespaces
 * (`digitalocean:token` belongs to the provider).
 */
export function projectKeys(allKeys: readonly string[], project: string = PROJECT): string[] {
    const prefix = `${project}:`;
    return allKeys.filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
}

/** Collects the raw values of the given keys (deduplicated) through `get`. */
export function collectRawConfig(keys: readonly string[], get: RawGetter): RawConfig {
    const raw: Record<string, string | undefined> = {};
    for (const key of new Set(keys)) {
        const value = get(key);
        if (value !== undefined) raw[key] = value;
    }
    return raw;
}
