// Writes KEY='value' settings files (/etc/income-fortress/backup.env, and the same
// format suits credentials.env) that several readers must agree on: the toolkit's own
// parser (strips one pair of quotes, no escapes, no expansion), an operator's
// `source` in bash, and systemd's EnvironmentFile=. Their rules differ once escapes
// are involved (bash's '\'' idiom means nothing to the others), so instead of escaping
// we only accept values that read the same everywhere when single-quoted: printable
// ASCII without `'` or `\`. Anything else is rejected with a clear message.

/** Variable names both readers accept (and that look like settings, not shell noise). */
const ENV_KEY = /^[A-Z_][A-Z0-9_]*$/;

/**
 * Explains why `value` cannot be written into a settings file, or returns undefined
 * when it can. Pure; used by the validators and by {@link formatEnvFile}.
 */
export function envValueProblem(value: string): string | undefined {
    for (const ch of value) {
        const code = ch.codePointAt(0) ?? 0;
        if (ch === "'" || ch === "\\") {
            return `contains ${JSON.stringify(ch)}, which bash and systemd quote differently; remove it`;
        }
        if (code < 0x20 || code > 0x7e) {
            return `contains the non-printable or non-ASCII character U+${code.toString(16).toUpperCase().padStart(4, "0")}; use plain ASCII on one line`;
        }
    }
    return undefined;
}

/** Quotes one value as `'value'`. Throws (naming the key) if the value is unsafe. */
export function quoteEnvValue(key: string, value: string): string {
    if (!ENV_KEY.test(key)) {
        throw new Error(`settings key ${JSON.stringify(key)} is not a valid variable name: use A-Z, 0-9 and _`);
    }
    const problem = envValueProblem(value);
    if (problem !== undefined) {
        throw new Error(`setting ${key} ${problem}`);
    }
    return `${key}='${value}'`;
}

/**
 * Renders an ordered list of settings as a file readable by both `source` and
 * systemd `EnvironmentFile=`. `header` lines become `# ` comments. Output ends with
 * a newline and keeps the given order, so it is deterministic.
 */
export function formatEnvFile(
    entries: ReadonlyArray<readonly [string, string]>,
    header: readonly string[] = [],
): string {
    const seen = new Set<string>();
    const lines = header.map((line) => (line === "" ? "#" : `# ${line}`));
    for (const [key, value] of entries) {
        if (seen.has(key)) {
            throw new Error(`setting ${key} is given twice; keep one`);
        }
        seen.add(key);
        lines.push(quoteEnvValue(key, value));
    }
    return `${lines.join("\n")}\n`;
}
