// What `npm run drill` and `npm run rehearse` share beyond every command's plumbing
// (tools/cli.ts): target and duration flags, and a run that Ctrl-C aborts while it still
// cleans up and writes its report.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { errorMessage, onInterrupt, signalExitCode, stderrSink, UsageError } from "../tools/cli";
import type { WrittenReport } from "./report-files";
import {
    applyOverrides,
    parseDuration,
    parseTargetFlag,
    parseTargetsFile,
    planTargets,
    TargetError,
    type Targets,
} from "./targets";

/**
 * The flags every reported run (drill, failback, rehearsal) takes: the targets it is measured
 * against, where its report goes, the folder of the stack files, and help.
 */
export const REPORT_FLAGS = {
    target: { type: "string", multiple: true, default: [] as string[] },
    targets: { type: "string" },
    out: { type: "string", default: "reports" },
    "work-dir": { type: "string", default: resolve(__dirname, "..") },
    help: { type: "boolean", short: "h", default: false },
} as const;

/** The plan's targets with `--target` flags and a `--targets` file applied (file first, flags win). */
export function loadTargets(flags: readonly string[], file: string | undefined): Targets {
    try {
        const fromFile = file === undefined ? [] : parseTargetsFile(readText(file, "--targets"), file);
        return applyOverrides(planTargets(), [...fromFile, ...flags.map(parseTargetFlag)]);
    } catch (e) {
        if (e instanceof TargetError) throw new UsageError(e.message);
        throw e;
    }
}

function readText(path: string, flag: string): string {
    try {
        return readFileSync(path, "utf8");
    } catch (e) {
        throw new UsageError(
            `${flag} ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? errorMessage(e)})`,
        );
    }
}

/** A duration flag in milliseconds. */
export function durationFlag(name: string, value: string | undefined, fallbackSeconds: number): number {
    if (value === undefined) return fallbackSeconds * 1000;
    const s = parseDuration(value);
    if (s === undefined || s <= 0)
        throw new UsageError(`--${name} ${value}: not a duration; use seconds or 90s, 15m, 1h`);
    return s * 1000;
}

/**
 * SIGINT/SIGTERM: the first aborts the run, which then cleans up and writes its report; the
 * second says cleanup is still going on; the third exits at once and says what may be left.
 * Returns a function that removes the handlers.
 */
export function handleInterrupts(prog: string, controller: AbortController, leftBehind: () => string): () => void {
    let count = 0;
    return onInterrupt((sig) => {
        count++;
        if (count === 1) {
            stderrSink(
                `${prog}: ${sig}: stopping and cleaning up; the report is still written (press Ctrl-C twice more to exit at once)`,
            );
            controller.abort(sig);
        } else if (count === 2) {
            stderrSink(`${prog}: still cleaning up; press Ctrl-C once more to exit now and leave ${leftBehind()}`);
        } else {
            stderrSink(`${prog}: exiting without finishing cleanup: ${leftBehind()}`);
            process.exit(signalExitCode(sig));
        }
    });
}

/**
 * Runs a drill or a rehearsal with {@link handleInterrupts} around it and prints the paths of
 * its report on stdout (progress went to stderr). Returns the exit code.
 */
export async function runReported(
    prog: string,
    leftBehind: () => string,
    run: (signal: AbortSignal) => Promise<{ exitCode: number; files?: WrittenReport }>,
): Promise<number> {
    const controller = new AbortController();
    const unhook = handleInterrupts(prog, controller, leftBehind);
    try {
        const result = await run(controller.signal);
        if (result.files) process.stdout.write(`${result.files.json}\n${result.files.markdown}\n`);
        return result.exitCode;
    } finally {
        unhook();
    }
}
