// The raw config of a minimal primary and dr stack, as `pulumi config` hands it to the
// program, and the parser's two outcomes, for the config tests.
import { type ConfigProblem, type FortressConfig, formatProblems, parseConfig } from "../../config";

/** A deployer's public key line. */
export const DEPLOYER_KEY =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID2gVhTbVzvr8WlcYotifbpmdXFMTZhILeHFLMv/IyRL ops@incomefortress.com";

/** The minimum a primary stack must set (with monitoring on by default, an alert target); everything else comes from the defaults. */
export const PRIMARY: Readonly<Record<string, string>> = {
    domain: "incomefortress.com",
    hostname: "api",
    adminCidrs: '["203.0.113.0/24"]',
    sshKeyFingerprints: '["88:8e:c5:eb:a4:9a:d2:1c:c4:ab:8d:43:f2:83:8e:a9"]',
    deployerPublicKeys: JSON.stringify([DEPLOYER_KEY]),
    alertEmails: '["oncall@incomefortress.com"]',
};

/** The minimum a dr stack must set. */
export const DR: Readonly<Record<string, string>> = {
    ...PRIMARY,
    role: "dr",
    region: "sfo3",
    primaryRegion: "nyc3",
    vaultRegion: "sfo3",
    vaultBucket: "incomefortress-backups-vault",
    hostname: "api-dr",
};

/** The parsed config; throws with the formatted problems when it does not parse. */
export function parsedOk(raw: Record<string, string>, stack = "prod"): FortressConfig {
    const r = parseConfig(raw, stack);
    if (!r.ok) throw new Error(formatProblems(stack, r.problems));
    return r.config;
}

/** The problems of a config that must not parse; throws when it parses. */
export function parsedProblems(raw: Record<string, string>, stack = "prod"): ConfigProblem[] {
    const r = parseConfig(raw, stack);
    if (r.ok) throw new Error(`expected problems, config parsed: ${JSON.stringify(r.config)}`);
    return r.problems;
}
