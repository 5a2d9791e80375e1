// Shell quoting for every text this project hands to a shell: the droplet's runcmd
// (render.ts), the recovery steps' argument lines (components/recovery) and the drill's
// SSH commands (drill/). One rule everywhere, so a word means the same in each.

/** What a word may hold and still be written bare; anything else is quoted, which is never wrong, only longer. */
const BARE_WORD = /^[A-Za-z0-9_./:=@%+-]+$/;

/** One word for a POSIX shell: bare when that is plainly safe, else single-quoted. */
export function shQuote(word: string): string {
    return BARE_WORD.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Words joined into one command line, each quoted when it needs to be. */
export function sh(...words: string[]): string {
    return words.map(shQuote).join(" ");
}

/**
 * The words of a line made by {@link sh}: the inverse, so tests and reviews can read the
 * arguments back. Accepts only what {@link shQuote} writes (bare words, '…' and \'
 * joined without spaces, one space between words) and throws on anything else.
 */
export function shSplit(line: string): string[] {
    const words: string[] = [];
    let i = 0;
    while (i < line.length) {
        let word = "";
        const start = i;
        while (i < line.length && line[i] !== " ") {
            const ch = line[i];
            if (ch === "'") {
                const end = line.indexOf("'", i + 1);
                if (end < 0) throw new Error(`shSplit: unterminated quote at ${i}`);
                word += line.slice(i + 1, end);
                i = end + 1;
            } else if (ch === "\\" && line[i + 1] === "'") {
                word += "'";
                i += 2;
            } else if (BARE_WORD.test(ch)) {
                word += ch;
                i += 1;
            } else {
                throw new Error(`shSplit: ${JSON.stringify(ch)} at ${i} is not something shQuote writes`);
            }
        }
        if (i === start) throw new Error(`shSplit: an empty word at ${i} (two spaces, or a space at an end)`);
        words.push(word);
        if (i < line.length) {
            i += 1;
            if (i === line.length) throw new Error("shSplit: a space at the end");
        }
    }
    return words;
}
