// The toolkit's command-line contract, without services: shellcheck, --help, and usage and
// settings errors (exit 2, one line that says what to fix) caught before anything is read.
import { accessSync, constants, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, run } from "../../harness/process";
import {
    errorLines,
    EXIT,
    lastLine,
    removeToolkitScratch,
    runToolkit,
    TOOLKIT_BIN,
    TOOLKIT_COMMANDS,
    toolkitEnv,
    type ToolkitSettings,
} from "../../harness/toolkit";

const LIBRARY = resolve(TOOLKIT_BIN, "../lib/income-fortress/common.sh");

/** Settings that pass validation (nothing listens there; validation fails first). */
const VALID: ToolkitSettings = {
    DATABASE_URL: "postgresql://app:secret@127.0.0.1:1/app",
    BACKUP_S3_ENDPOINT: "http://127.0.0.1:1",
    BACKUP_BUCKET: "primary-bucket",
    BACKUP_PREFIX: "postgresql/test",
    AWS_ACCESS_KEY_ID: "key",
    AWS_SECRET_ACCESS_KEY: "secret",
};

describe("toolkit command-line contract", () => {
    let work: string;
    beforeAll(() => {
        work = makeTempDir("fortress-cli");
    });
    afterAll(() => {
        rmSync(work, { recursive: true, force: true });
        removeToolkitScratch();
    });

    it("is clean under shellcheck -x (commands and library)", async () => {
        const files = [...TOOLKIT_COMMANDS.map((c) => join(TOOLKIT_BIN, c)), LIBRARY];
        const r = await run("shellcheck", ["-x", ...files]);
        expect(r.stdout + r.stderr).toBe("");
        expect(r.code).toBe(0);
    });

    it.each(TOOLKIT_COMMANDS)(
        "%s is an executable bash script in strict mode that sources the library by relative path",
        (cmd) => {
            const file = join(TOOLKIT_BIN, cmd);
            accessSync(file, constants.X_OK);
            const text = readFileSync(file, "utf8");
            expect(text.startsWith("#!/usr/bin/env bash\n")).toBe(true);
            expect(text).toMatch(new RegExp(`^# Usage: ${cmd}`, "m"));
            expect(text).toContain("\nset -euo pipefail\n");
            expect(text).toContain("\numask 077\n");
            expect(text).toContain(
                'source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib/income-fortress/common.sh"',
            );
        },
    );

    it.each(TOOLKIT_COMMANDS)("%s --help prints its usage, settings and exit codes", async (cmd) => {
        const r = await runToolkit(cmd, ["--help"], toolkitEnv({}));
        expect(r.code, r.stderr).toBe(EXIT.ok);
        expect(r.stdout.startsWith(`Usage: ${cmd}`)).toBe(true);
        expect(r.stdout).toMatch(/Exit codes: 0 /);
        expect(r.stdout).not.toMatch(/^#/m);
    });

    it.each(TOOLKIT_COMMANDS)("%s rejects an unknown option with exit 2 and one error line", async (cmd) => {
        const r = await runToolkit(cmd, ["--frobnicate"], toolkitEnv(VALID));
        expect(r.code).toBe(EXIT.usage);
        expect(errorLines(r.stderr)).toEqual([`${cmd}: error: unknown argument '--frobnicate' (see ${cmd} --help)`]);
    });

    // [command, args, settings, expected error pattern]
    const usageCases: [string, (typeof TOOLKIT_COMMANDS)[number], string[], ToolkitSettings, RegExp][] = [
        [
            "no DATABASE_URL",
            "fortress-backup",
            [],
            { ...VALID, DATABASE_URL: undefined },
            /DATABASE_URL is not set: set it in the environment or in .*backup\.env/,
        ],
        [
            "no bucket at all",
            "fortress-backups",
            [],
            { ...VALID, BACKUP_BUCKET: undefined },
            /no backup bucket configured: set BACKUP_BUCKET/,
        ],
        [
            "an endpoint that is not a URL",
            "fortress-status",
            [],
            { ...VALID, BACKUP_S3_ENDPOINT: "nyc3.digitaloceanspaces.com" },
            /BACKUP_S3_ENDPOINT 'nyc3\.digitaloceanspaces\.com' is not an endpoint URL/,
        ],
        [
            "a bad bucket name",
            "fortress-backups",
            [],
            { ...VALID, BACKUP_BUCKET: "Bad_Bucket" },
            /BACKUP_BUCKET 'Bad_Bucket' is not a valid bucket name/,
        ],
        [
            "a bad prefix",
            "fortress-backups",
            [],
            { ...VALID, BACKUP_PREFIX: "a b" },
            /BACKUP_PREFIX 'a b' may hold only/,
        ],
        [
            "missing keys",
            "fortress-backups",
            [],
            { ...VALID, AWS_SECRET_ACCESS_KEY: undefined },
            /AWS_SECRET_ACCESS_KEY is not set/,
        ],
        [
            "a bad age recipient",
            "fortress-backup",
            [],
            { ...VALID, BACKUP_AGE_RECIPIENTS: "age1notakey" },
            /BACKUP_AGE_RECIPIENTS entry 'age1notakey\.\.\.' is not an age public key/,
        ],
        [
            "a bad zstd level",
            "fortress-backup",
            [],
            { ...VALID, BACKUP_ZSTD_LEVEL: "42" },
            /BACKUP_ZSTD_LEVEL must be 1-19/,
        ],
        ["an unsafe tag", "fortress-backup", ["--tag", "../x"], VALID, /--tag '\.\.\/x' may hold only/],
        ["--tag without a value", "fortress-backup", ["--tag"], VALID, /--tag needs a value/],
        [
            "a malformed backup id",
            "fortress-restore",
            ["--backup", "yesterday"],
            VALID,
            /--backup 'yesterday' is not a backup id/,
        ],
        ["--into with --tables", "fortress-restore", ["--into", "x", "--tables", "a"], VALID, /use one/],
        ["a bad --jobs", "fortress-restore", ["--jobs", "0"], VALID, /--jobs must be a positive number/],
        [
            "a bad split size",
            "fortress-restore",
            [],
            { ...VALID, FORTRESS_RESTORE_SPLIT_SIZE: "64MB" },
            /FORTRESS_RESTORE_SPLIT_SIZE must be a size such as 64M, 512k or 0 \(never split\), not '64MB'/,
        ],
        [
            "a split size too big to count",
            "fortress-verify",
            [],
            { ...VALID, FORTRESS_RESTORE_SPLIT_SIZE: "1234567890G" },
            /FORTRESS_RESTORE_SPLIT_SIZE must be a size/,
        ],
        ["a bad --source", "fortress-verify", ["--source", "mars"], VALID, /--source must be primary, offsite or auto/],
        [
            "--source offsite without an offsite bucket",
            "fortress-backups",
            ["--source", "offsite"],
            VALID,
            /--source offsite needs BACKUP_OFFSITE_BUCKET/,
        ],
        ["a bad --max-age", "fortress-status", ["--max-age", "soon"], VALID, /--max-age 'soon' is not a duration/],
        [
            "a bad --limit",
            "fortress-backups",
            ["--limit", "-1"],
            VALID,
            /--limit needs a value|--limit must be a number/,
        ],
    ];
    it.each(usageCases)("exit 2 with one line for %s", async (_name, cmd, args, settings, pattern) => {
        const r = await runToolkit(cmd, args, toolkitEnv(settings));
        expect(r.code, r.stderr).toBe(EXIT.usage);
        const errors = errorLines(r.stderr);
        expect(errors).toHaveLength(1);
        expect(lastLine(r.stderr)).toBe(errors[0]);
        expect(errors[0]).toMatch(pattern);
        expect(r.stdout).toBe("");
        expect(r.stderr).not.toContain("secret"); // no password or key in messages
    });

    it("reads KEY=value files without executing them, and rejects a malformed line by number", async () => {
        const dir = join(work, "conf");
        mkdirSync(dir);
        const marker = join(work, "executed");
        writeFileSync(
            join(dir, "backup.env"),
            [
                "# comment",
                `BACKUP_S3_ENDPOINT=http://127.0.0.1:1`,
                `BACKUP_BUCKET=$(touch ${marker})`, // data, never run
                "SOMETHING_ELSE=1",
                "this line is wrong",
            ].join("\n"),
        );
        const r = await runToolkit("fortress-backups", [], toolkitEnv({ FORTRESS_CONFIG_DIR: dir }));
        expect(r.code).toBe(EXIT.usage);
        expect(r.stderr).toMatch(/warning: ignoring unknown setting SOMETHING_ELSE/);
        expect(errorLines(r.stderr)).toEqual([
            `fortress-backups: error: ${dir}/backup.env line 5 is not KEY=value: fix or remove that line`,
        ]);
        expect(() => accessSync(marker)).toThrow();
    });
});
