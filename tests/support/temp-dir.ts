// A temporary folder that lives as long as the test file or describe block that asks for it.
import { rmSync } from "node:fs";
import { afterAll } from "vitest";
import { makeTempDir } from "../../harness/process";

/** Creates a private folder now and removes it after the enclosing file or describe block. */
export function suiteTempDir(prefix: string): string {
    const dir = makeTempDir(prefix);
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
}
