// Usage: npm run generate [-- --check]
//
// Writes the files generated from one source: from config/keys.ts the generated part of
// Pulumi.yaml and the table in docs/configuration.md; from cloud-init/host.ts the toolkit's
// contract.sh. With --check it writes nothing, names the files that differ and exits 1.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CONTRACT_SHELL_PATH, renderContractShell } from "../cloud-init/host";
import { renderConfigurationDoc, renderProjectFile } from "../config/project-file";

const ROOT = join(__dirname, "..");

/** Each generated file and how to render it from its current text. */
export const GENERATED: ReadonlyArray<{ path: string; render: (current: string) => string }> = [
    { path: "Pulumi.yaml", render: renderProjectFile },
    { path: "docs/configuration.md", render: renderConfigurationDoc },
    { path: CONTRACT_SHELL_PATH, render: () => renderContractShell() },
];

function main(argv: string[]): number {
    const check = argv.includes("--check");
    const stale: string[] = [];
    for (const file of GENERATED) {
        const path = join(ROOT, file.path);
        // A file generated whole may not exist yet.
        const current = existsSync(path) ? readFileSync(path, "utf8") : "";
        const next = file.render(current);
        if (next === current) continue;
        stale.push(file.path);
        if (!check) writeFileSync(path, next);
    }
    if (check && stale.length > 0) {
        process.stderr.write(
            `generate: out of date: ${stale.join(", ")}; run npm run generate and commit the result\n`,
        );
        return 1;
    }
    process.stderr.write(stale.length > 0 ? `generate: wrote ${stale.join(", ")}\n` : "generate: up to date\n");
    return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
