// `npm run rehearse` as a child process, as the npm script runs it, and what its output says.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { Socket } from "node:net";
import { expect } from "vitest";
import type { Report } from "../../drill/report";
import { cleanEnv, lineSplitter } from "../../harness/process";
import { entryArgs, ROOT } from "./entry-point";

export interface Run {
    code: number | null;
    stdout: string;
    stderr: string;
}

export interface RehearseOptions {
    /** The child's environment; default the test runner's minus AWS_CA_BUNDLE (cleanEnv). */
    env?: NodeJS.ProcessEnv;
    /** Sees each stderr line; may return a signal to send to the rehearsal (sent once). */
    onLine?: (line: string) => NodeJS.Signals | undefined;
    /** SIGKILL after this long; default 90 s. */
    timeoutMs?: number;
}

/** Runs `npm run rehearse -- <args>` as the script does (node + ts-node) and collects its output. */
export function rehearse(args: string[], opts: RehearseOptions = {}): Promise<Run> {
    return new Promise((done, fail) => {
        const child = spawn(process.execPath, entryArgs("drill/rehearse-cli.ts", args), {
            cwd: ROOT,
            env: opts.env ?? cleanEnv(),
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        let signalled = false;
        const lines = lineSplitter((line) => {
            const sig = opts.onLine?.(line);
            if (sig && !signalled) {
                signalled = true;
                child.kill(sig);
            }
        });
        child.stdout.on("data", (b: Buffer) => {
            stdout += b.toString();
        });
        child.stderr.on("data", (b: Buffer) => {
            stderr += b.toString();
            lines.push(b.toString());
        });
        const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 90_000);
        child.on("error", fail);
        child.on("close", (code) => {
            clearTimeout(timer);
            lines.flush();
            done({ code, stdout, stderr });
        });
    });
}

/** The report a successful or failed rehearsal wrote: its JSON and Markdown paths are its stdout. */
export function reportOf(r: Run): { report: Report; markdown: string } {
    const [json, md] = r.stdout.trim().split("\n");
    expect(json, r.stderr).toMatch(/rehearsal-\d{8}-\d{6}(-\d+)?\.json$/);
    expect(md).toMatch(/\.md$/);
    return { report: JSON.parse(readFileSync(json!, "utf8")) as Report, markdown: readFileSync(md!, "utf8") };
}

/** Loopback ports of the PostgreSQL clusters and s3rver the rehearsal said it started. */
export function servicePorts(stderr: string): number[] {
    return [...stderr.matchAll(/(?:PostgreSQL[^\n]* on 127\.0\.0\.1:|s3rver\) on http:\/\/127\.0\.0\.1:)(\d+)/g)].map(
        (m) => Number(m[1]),
    );
}

/** Whether something accepts connections on a loopback port. */
export function listening(port: number): Promise<boolean> {
    return new Promise((ok) => {
        const s = new Socket();
        const answer = (open: boolean) => {
            s.destroy();
            ok(open);
        };
        s.once("connect", () => answer(true));
        s.once("error", () => answer(false));
        s.connect(port, "127.0.0.1");
    });
}
