// The seam between the Pulumi runtime and the pure parser: index.ts hands in a getter
// (pulumi.Config.get) and the names of the keys the stack actually sets, and gets back
// the plain record parseConfig takes. Kept tiny so the parser stays runtime-free.
import { CONFIG_KEYS, PROJECT } from "./keys";
import type { ConfigProblem, RawConfig } from "./schema";

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

/**
 * The secret keys (config/keys.ts) that the stack set in plain text. `isSecret` is the
 * runtime's answer for a full key (`income-fortress:ageIdentity`). A plain-text credential
 * already sits unencrypted in Pulumi.<stack>.yaml, so the message says to rotate it, not
 * only to set it again.
 */
export function plaintextSecretProblems(
    setKeys: readonly string[],
    isSecret: (fullKey: string) => boolean,
    stack: string,
): ConfigProblem[] {
    const secrets = new Set(CONFIG_KEYS.filter((k) => k.secret).map((k) => k.name));
    return [...new Set(setKeys)]
        .filter((key) => secrets.has(key) && !isSecret(`${PROJECT}:${key}`))
        .map((key) => ({
            key: `${PROJECT}:${key}`,
            message:
                `holds a credential but was set in plain text, so it is stored unencrypted in Pulumi.${stack}.yaml (and in git, if that file is committed). ` +
                `Treat it as leaked: revoke it, then run pulumi config set --secret ${key} <new value>`,
        }));
}
