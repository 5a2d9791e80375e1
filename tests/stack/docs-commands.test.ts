// Layer 2: every `pulumi config set`, `pulumi config rm` and `pulumi stack output` line a
// user is told to type (README, docs/, the comments of the stack files) names a key the
// program reads and an output the program exports, and a secret key is always set with
// --secret. A quick start that names a key the program does not have fails the first
// preview; this fails first.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { CONFIG_KEYS } from "../../config";
import { ROOT, loadStackConfig, runProgram } from "./harness";

/** The documents a user reads commands from. */
function documents(): Array<{ file: string; text: string }> {
    const docs = readdirSync(join(ROOT, "docs"))
        .filter((f) => f.endsWith(".md") && f !== "disaster-recovery-plan.md")
        .map((f) => `docs/${f}`);
    return ["README.md", ...docs, "Pulumi.prod.yaml", "Pulumi.dr.yaml"].map((file) => ({
        file,
        text: readFileSync(join(ROOT, file), "utf8"),
    }));
}

interface Command {
    file: string;
    verb: "config set" | "config rm" | "stack output";
    /** The words after the verb, up to the end of the shell command. */
    words: string[];
}

/** Every command of the three kinds, its words cut at the end of the shell command or the code span. */
function commandsIn(file: string, text: string): Command[] {
    const found: Command[] = [];
    // Words stop at a newline, the end of a code span, a shell operator, a comment, or a
    // nested $(…), whose own command is matched separately.
    for (const m of text.matchAll(/pulumi (config set|config rm|stack output)\b((?:(?!\$\()[^\n`|;&)#])*)/g)) {
        const words = (m[2] ?? "")
            .trim()
            .split(/\s+/)
            .filter((w) => w !== "");
        found.push({ file, verb: m[1] as Command["verb"], words });
    }
    return found;
}

/** Flags of these commands that take a value. */
const FLAG_WITH_VALUE = new Set(["--stack", "-s", "--config-file"]);

/** The first word that is not a flag (or a flag's value): the key or the output name. */
function subject(words: readonly string[]): string | undefined {
    for (let i = 0; i < words.length; i++) {
        const w = words[i]!;
        if (FLAG_WITH_VALUE.has(w)) {
            i++;
            continue;
        }
        if (w.startsWith("-")) continue;
        // --path 'alertEmails[0]': the key is the name before the path.
        return w.replace(/^['"]|['"]$/g, "").split(/[[.]/)[0];
    }
    return undefined;
}

const KEYS = new Map(CONFIG_KEYS.map((k) => [k.name, k]));
const commands = documents().flatMap((d) => commandsIn(d.file, d.text));

describe("the commands the docs tell users to type", () => {
    it("there are some of each kind, so an extraction that finds nothing fails here", () => {
        expect(commands.filter((c) => c.verb === "config set").length).toBeGreaterThan(10);
        expect(commands.filter((c) => c.verb === "stack output").length).toBeGreaterThan(0);
    });

    it.each(
        commands
            .filter((c) => c.verb !== "stack output")
            .map((c) => [`${c.file}: pulumi ${c.verb} ${c.words.join(" ")}`, c] as const),
    )("%s names a config key of the program", (_line, c) => {
        const key = subject(c.words);
        expect(key, "no key in the command").toBeDefined();
        expect(KEYS.has(key!), `${key} is not a config key (config/keys.ts)`).toBe(true);
    });

    it.each(
        commands
            .filter((c) => c.verb === "config set")
            .map((c) => [`${c.file}: pulumi config set ${c.words.join(" ")}`, c] as const),
    )("%s uses --secret exactly when the key is a credential", (_line, c) => {
        const key = KEYS.get(subject(c.words) ?? "");
        expect(c.words.includes("--secret"), `${key?.name} is ${key?.secret ? "secret" : "not secret"}`).toBe(
            key?.secret === true,
        );
    });

    describe("stack outputs", () => {
        const outputsOf: Record<string, string[]> = {};
        beforeAll(async () => {
            for (const stack of ["prod", "dr"]) {
                const run = await runProgram(stack, loadStackConfig(stack));
                if (run.error) throw run.error;
                outputsOf[stack] = Object.keys(run.outputs ?? {});
            }
        });

        it.each(
            commands
                .filter((c) => c.verb === "stack output")
                .map((c) => [`${c.file}: pulumi stack output ${c.words.join(" ")}`, c] as const),
        )("%s names an output the program exports", (_line, c) => {
            const name = subject(c.words);
            expect(name, "no output name").toBeDefined();
            expect(outputsOf.prod, `${name} is not an output of index.ts`).toContain(name);
            expect(outputsOf.dr).toContain(name);
        });
    });
});

describe("the extraction itself", () => {
    it("finds the key after flags and their values, and the name inside a --path", () => {
        expect(subject(["--stack", "dr", "--secret", "tlsDnsToken", "dop_v1_x"])).toBe("tlsDnsToken");
        expect(subject(["--path", "'alertEmails[0]'", "a@b.c"])).toBe("alertEmails");
        expect(subject(["--show-secrets", "deployPrivateKey"])).toBe("deployPrivateKey");
        expect(subject(["--secret"])).toBeUndefined();
    });

    it("reads commands in code spans, inside $(…), and stops at the end of the shell command", () => {
        const text =
            "run `pulumi config set isolate true --stack prod && pulumi up` and\n" +
            'pulumi config set pitrSourceCluster "$(pulumi stack output databaseClusterName --stack prod)"';
        expect(commandsIn("x", text).map((c) => [c.verb, subject(c.words)])).toEqual([
            ["config set", "isolate"],
            ["config set", "pitrSourceCluster"],
            ["stack output", "databaseClusterName"],
        ]);
    });

    it("the old quick start's key would have been caught", () => {
        const [c] = commandsIn("README.md", "pulumi config set --secret appSecretKey …");
        expect(KEYS.has(subject(c!.words)!)).toBe(false);
    });
});
