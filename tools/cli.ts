// The command-line plumbing of `npm run drill`, `rehearse`, `bench` and `rto`: how a bad
// command line is reported, the exit codes they share, --help, progress on stderr and the
// signals that stop a run. A command's main returns its exit code and runMain reports
// what it throws, so every command fails the same way.

/** Exit codes every command shares; the drill and the rehearsal add theirs (drill/report.ts). */
export const EXIT = {
    /** The command did what it was asked. */
    ok: 0,
    /** It failed on the way. */
    failure: 1,
    /** Usage, settings, or a missing tool/package; nothing was started. */
    usage: 2,
    /** Interrupted by SIGINT (after cleaning up). */
    sigint: 130,
    /** Interrupted by SIGTERM (after cleaning up). */
    sigterm: 143,
} as const;

/** Bad command-line input: printed as one line with a pointer to --help, exit 2. */
export class UsageError extends Error {}

/** A one-line message of any thrown value. */
export function errorMessage(e: unknown): string {
    const text = e instanceof Error ? e.message : String(e);
    return text.replace(/\s+/g, " ").trim();
}

/** Progress goes to stderr; stdout carries only what the command produces. */
export const stderrSink = (line: string): void => {
    process.stderr.write(`${line}\n`);
};

/** Prints a command's help on stdout; returns the exit code for it. */
export function printHelp(text: string): number {
    process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
    return EXIT.ok;
}

/**
 * Parses the command line; whatever the parser throws is a usage error. node:util
 * parseArgs's advice on positional arguments is dropped: no command takes any.
 */
export function parseCommandLine<T>(parse: () => T): T {
    try {
        return parse();
    } catch (e) {
        if (e instanceof UsageError) throw e;
        throw new UsageError(errorMessage(e).replace(/\. To specify a positional argument.*$/, ""));
    }
}

/**
 * Walks `--flag`, `--flag value` and `--flag=value` arguments. `take` handles one flag and
 * returns false for a flag it does not know; `value()` reads the flag's value, which may
 * not start with `--`. `-h` and `--help` are every command's: the result says whether
 * one was given.
 */
export function eachFlag(
    argv: readonly string[],
    take: (flag: string, value: () => string) => boolean,
): { help: boolean } {
    let help = false;
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const eq = arg.indexOf("=");
        const flag = eq > 0 ? arg.slice(0, eq) : arg;
        const value = (): string => {
            if (eq > 0) return arg.slice(eq + 1);
            const v = argv[i + 1];
            if (v === undefined || v.startsWith("--")) throw new UsageError(`${flag} needs a value`);
            i += 1;
            return v;
        };
        if (flag === "-h" || flag === "--help") help = true;
        else if (!take(flag, value)) throw new UsageError(`unknown argument '${arg}'`);
    }
    return { help };
}

/** The exit code of a run stopped by `signal`. */
export function signalExitCode(signal: NodeJS.Signals): number {
    return signal === "SIGTERM" ? EXIT.sigterm : EXIT.sigint;
}

/**
 * Calls `handler` on SIGINT and SIGTERM: on every one, or with `once` on the first of
 * each (a repeated signal then ends the process as Node does by default). Returns what
 * removes the handler.
 */
export function onInterrupt(handler: (signal: NodeJS.Signals) => void, opts: { once?: boolean } = {}): () => void {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
        if (opts.once) process.once(signal, handler);
        else process.on(signal, handler);
    }
    return () => {
        process.removeListener("SIGINT", handler);
        process.removeListener("SIGTERM", handler);
    };
}

/**
 * Runs a command's main: a usage error prints one line and exits 2; anything else prints
 * its message, line breaks kept (it may list several problems, one a line), and exits 1.
 */
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
                stderrSink(`${prog}: error: ${e instanceof Error ? e.message : String(e)}`);
                process.exitCode = EXIT.failure;
            }
        },
    );
}
