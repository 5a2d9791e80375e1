// The command-line plumbing every command shares (tools/cli.ts): flags with values,
// which errors are usage errors, and the signals that stop a run.
import { parseArgs } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import {
    EXIT,
    UsageError,
    eachFlag,
    errorMessage,
    onInterrupt,
    parseCommandLine,
    signalExitCode,
} from "../../tools/cli";

/** The flags eachFlag hands over, as [flag, value] pairs; `--n` takes a value, `--b` does not. */
function walk(argv: string[]): [string, string | undefined][] {
    const seen: [string, string | undefined][] = [];
    eachFlag(argv, (flag, value) => {
        if (flag === "--n") seen.push([flag, value()]);
        else if (flag === "--b") seen.push([flag, undefined]);
        else return false;
        return true;
    });
    return seen;
}

describe("eachFlag", () => {
    it("takes a value after the flag or after =, and leaves flags without one alone", () => {
        expect(walk(["--n", "1", "--b", "--n=a=b", "--b=ignored"])).toEqual([
            ["--n", "1"],
            ["--b", undefined],
            ["--n", "a=b"],
            ["--b", undefined],
        ]);
        expect(walk(["--n", "-1"])).toEqual([["--n", "-1"]]);
    });

    it("answers -h and --help itself, anywhere on the line", () => {
        const take = (flag: string) => flag === "--b";
        expect(eachFlag(["--b"], take)).toEqual({ help: false });
        expect(eachFlag(["--b", "-h"], take)).toEqual({ help: true });
        expect(eachFlag(["--help", "--b"], take)).toEqual({ help: true });
    });

    it.each([
        [["--n"], "--n needs a value"],
        [["--n", "--b"], "--n needs a value"],
        [["--x"], "unknown argument '--x'"],
        [["--x=1"], "unknown argument '--x=1'"],
        [["plain"], "unknown argument 'plain'"],
    ])("%j is a usage error: %s", (argv, message) => {
        expect(() => walk(argv)).toThrow(UsageError);
        expect(() => walk(argv)).toThrow(message);
    });
});

describe("parseCommandLine", () => {
    it("turns whatever the parser throws into a usage error of one line", () => {
        let thrown: unknown;
        try {
            parseCommandLine(() => {
                throw new Error("'big' is not\n  a size");
            });
        } catch (e) {
            thrown = e;
        }
        expect(thrown).toBeInstanceOf(UsageError);
        expect((thrown as Error).message).toBe("'big' is not a size");
    });

    it("drops node:util parseArgs's advice on positional arguments", () => {
        expect(() =>
            parseCommandLine(() => parseArgs({ args: ["extra"], options: {}, strict: true, allowPositionals: false })),
        ).toThrow(/^Unexpected argument 'extra'\. This command does not take positional arguments$/);
    });

    it("returns what the parser returns", () => {
        expect(parseCommandLine(() => 42)).toBe(42);
    });
});

describe("errors and exit codes", () => {
    it("a message of one line, whatever was thrown", () => {
        expect(errorMessage(new Error(" a\n  b \t c\n"))).toBe("a b c");
        expect(errorMessage("plain")).toBe("plain");
    });

    it("the shell's codes for the two signals", () => {
        expect(signalExitCode("SIGINT")).toBe(EXIT.sigint);
        expect(signalExitCode("SIGTERM")).toBe(EXIT.sigterm);
        expect([EXIT.sigint, EXIT.sigterm]).toEqual([130, 143]);
    });
});

describe("onInterrupt", () => {
    const unhooks: (() => void)[] = [];
    afterEach(() => {
        for (const u of unhooks.splice(0)) u();
    });

    it("calls the handler on every SIGINT and SIGTERM until removed", () => {
        const seen: string[] = [];
        const unhook = onInterrupt((sig) => seen.push(sig));
        unhooks.push(unhook);
        process.emit("SIGINT", "SIGINT");
        process.emit("SIGINT", "SIGINT");
        process.emit("SIGTERM", "SIGTERM");
        unhook();
        process.emit("SIGTERM", "SIGTERM");
        expect(seen).toEqual(["SIGINT", "SIGINT", "SIGTERM"]);
    });

    it("with once, on the first of each signal only", () => {
        const seen: string[] = [];
        const before = process.listenerCount("SIGINT");
        unhooks.push(onInterrupt((sig) => seen.push(sig), { once: true }));
        process.emit("SIGINT", "SIGINT");
        expect(process.listenerCount("SIGINT")).toBe(before);
        process.emit("SIGTERM", "SIGTERM");
        expect(seen).toEqual(["SIGINT", "SIGTERM"]);
    });
});
