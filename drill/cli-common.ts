// What `npm run drill` and `npm run rehearse` share: usage errors, target flags, progress on
// stderr, and Ctrl-C handling that cleans up before exiting.
import { readFileSync } from "node:fs";
import { EXIT } from "./report";
import { applyOverrides, parseDuration, parseTargetFlag, parseTargetsFile, planTargets, TargetError, type Targets } from "./targets";
import { errorMessage } from "./phases";

/** Bad command-line input: printed as one line with a pointer to --help, exit 2. */
export class UsageError extends Error {}

/** Progress goes to stderr; stdout carries only the report paths. */
export const stderrSink = (line: string): void => {
    process.stderr.write(`${line}\n`);
};

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
        throw new UsageError(`${flag} ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? errorMessage(e)})`);
    }
}

/** A duration flag in milliseconds. */
export function durationFlag(name: string, value: string | undefined, fallbackSeconds: number): number {
    if (value === undefined) return fallbackSeconds * 1000;
    const s = parseDuration(value);
    if (s === undefined || s <= 0) throw new UsageError(`--${name} ${value}: not a duration; use seconds or 90s, 15m, 1h`);
    return s * 1000;
}

/**
 * SIGINT/SIGTERM: the first aborts the run, which then cleans up and writes its report; the
 * second says cleanup is still going on; the third exits at once and says what may be left.
 * Returns a function that removes the handlers.
 */
export function handleInterrupts(prog: string, controller: AbortController, leftBehind: () => string): () => void {
    let count = 0;
    const handler = (sig: NodeJS.Signals) => {
        count++;
        if (count === 1) {
            stderrSink(`${prog}: ${sig}: stopping and cleaning up; the report is still written (press Ctrl-C twice more to exit at once)`);
            controller.abort(sig);
        } else if (count === 2) {
            stderrSink(`${prog}: still cleaning up; press Ctrl-C once more to exit now and leave ${leftBehind()}`);
        } else {
            stderrSink(`${prog}: exiting without finishing cleanup: ${leftBehind()}`);
            process.exit(sig === "SIGTERM" ? EXIT.sigterm : EXIT.sigint);
        }
    };
    process.on("SIGINT", handler);
    process.on("SIGTERM", handler);
    return () => {
        process.removeListener("SIGINT", handler);
        process.removeListener("SIGTERM", handler);
    };
}

/** Runs a command's main: usage errors print one line and exit 2; anything unexpected exits 1. */
export function runMain(prog: string, main: () => Promise<number>): void {
    main().then(
        (code) => {
            process.exitCode = code;
        },
        (e: unknown) => {
            if (e instanceof UsageError) {
                stderrSink(`${prog}: error: ${e.message} (see ${prog} --help)`);
                process.exitCode = EXIT.usage;
            } else {
                stderrSink(`${prog}: error: ${errorMessage(e)}`);
                process.exitCode = EXIT.failure;
            }
        },
    );
}

/** node:util parseArgs errors, reworded as usage errors. */
export function parseArgsError(e: unknown): UsageError {
    return new UsageError(errorMessage(e).replace(/\. To specify a positional argument.*$/, ""));
}
