// The settings file must mean the same to bash (`source`) as to systemd
// (EnvironmentFile=). Accepted values are proven by sourcing them in a real bash.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { envValueProblem, formatEnvFile, quoteEnvValue } from "../../cloud-init/env-file";

const dir = mkdtempSync(join(tmpdir(), "cloud-init-env-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

/** Sources `content` in a clean bash and returns the value of `key` exactly as bash sees it. */
function sourceInBash(content: string, key: string): string {
    const file = join(dir, `settings-${++files}.env`);
    writeFileSync(file, content);
    // --norc: bash reads ~/.bashrc when stdin is a socket (it assumes sshd), and Node's pipes are sockets.
    const r = spawnSync(
        "bash",
        ["--norc", "--noprofile", "-c", 'set -eu; source "$1"; printf "%s" "${!2}"', "bash", file, key],
        {
            encoding: "utf8",
            env: {},
            stdio: ["ignore", "pipe", "pipe"],
        },
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    return r.stdout;
}

describe("quoteEnvValue accepts values that bash reads back verbatim", () => {
    const accepted: [string, string][] = [
        ["url", "https://nyc3.digitaloceanspaces.com"],
        ["empty", ""],
        ["spaces", "age1aaa age1bbb"],
        ["dollar (no expansion)", "$HOME ${PATH} $(reboot)"],
        ["backtick", "`reboot`"],
        ["double quote", 'say "hi"'],
        ["hash and semicolon", "a#b; c && d | e > f"],
        ["glob", "*.zst ?"],
    ];
    it.each(accepted)("%s", (_label, value) => {
        const line = quoteEnvValue("SETTING", value);
        expect(line).toBe(`SETTING='${value}'`);
        expect(sourceInBash(`${line}\n`, "SETTING")).toBe(value);
    });
});

describe("quoteEnvValue rejects values bash and systemd would read differently", () => {
    const rejected: [string, string, RegExp][] = [
        ["single quote", "it's", /contains "'"/],
        ["backslash", "a\\nb", /contains "\\\\"/],
        ["newline", "a\nOTHER=x", /U\+000A/],
        ["carriage return", "a\r", /U\+000D/],
        ["tab", "a\tb", /U\+0009/],
        ["non-ASCII", "café", /U\+00E9/],
        ["NUL", "a\u0000", /U\+0000/],
    ];
    it.each(rejected)("%s", (_label, value, message) => {
        expect(envValueProblem(value)).toMatch(message);
        expect(() => quoteEnvValue("SETTING", value)).toThrow(/^setting SETTING contains/);
    });

    it.each(["lower", "1ABC", "A-B", "A B", ""])("rejects the key %j", (key) => {
        expect(() => quoteEnvValue(key, "x")).toThrow(/not a valid variable name/);
    });
});

describe("formatEnvFile", () => {
    it("keeps order, comments the header, ends with a newline, and sources cleanly", () => {
        const text = formatEnvFile(
            [
                ["B_SECOND", "2"],
                ["A_FIRST", "one two"],
            ],
            ["Header line", ""],
        );
        expect(text).toBe("# Header line\n#\nB_SECOND='2'\nA_FIRST='one two'\n");
        expect(sourceInBash(text, "A_FIRST")).toBe("one two");
        expect(sourceInBash(text, "B_SECOND")).toBe("2");
    });

    it("refuses a key given twice", () => {
        expect(() =>
            formatEnvFile([
                ["X", "1"],
                ["X", "2"],
            ]),
        ).toThrow(/X is given twice/);
    });
});
