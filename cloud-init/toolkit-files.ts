// Reads the host toolkit (scripts, library, systemd units) from this repository so the
// renderer can embed it in user-data. Kept apart from render.ts so the renderer stays pure.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { TOOLKIT_BIN_DIR, TOOLKIT_LIB_DIR } from "./host";

/** One file cloud-init writes onto the host. */
export interface ToolkitFile {
    /** Absolute path on the host, e.g. `/usr/local/bin/fortress-backup`. */
    path: string;
    /** File content (UTF-8 text). */
    content: string;
    /** Octal permission string, e.g. `0755`. */
    permissions: string;
}

const TOOLKIT_ROOT = join(__dirname, "toolkit");

/** Host locations for each folder under `cloud-init/toolkit/`. */
const INSTALL_DIRS: Record<string, { dir: string; permissions: string }> = {
    bin: { dir: TOOLKIT_BIN_DIR, permissions: "0755" },
    lib: { dir: TOOLKIT_LIB_DIR, permissions: "0644" },
};

/** Every regular file under `dir`, skipping dotfiles (.gitkeep, editor swap files). */
function walk(dir: string): string[] {
    return readdirSync(dir)
        .filter((entry) => !entry.startsWith("."))
        .flatMap((entry) => {
            const full = join(dir, entry);
            return statSync(full).isDirectory() ? walk(full) : [full];
        });
}

/**
 * Lists every toolkit file with its host path, sorted so the output is stable
 * (user-data that changes replaces the droplet). Zero-arg for the stack; tests may
 * pass another root.
 */
export function loadToolkitFiles(root: string = TOOLKIT_ROOT): ToolkitFile[] {
    const files: ToolkitFile[] = [];
    for (const [folder, target] of Object.entries(INSTALL_DIRS)) {
        const dir = join(root, folder);
        if (!existsSync(dir)) continue;
        const found = walk(dir);
        for (const file of found.sort()) {
            files.push({
                path: `${target.dir}/${relative(dir, file)}`,
                content: readFileSync(file, "utf8"),
                permissions: target.permissions,
            });
        }
    }
    return files;
}
