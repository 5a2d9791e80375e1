// A POSIX ustar archive of the toolkit, so user-data can carry it as one gzip stream:
// compressing the files together is about an eighth smaller than one by one, and
// DigitalOcean caps user-data at 64 KiB. Deterministic: the bytes depend only on the
// files (no clock, no uid of the build machine), because a changed userData replaces the
// droplet. https://pubs.opengroup.org/onlinepubs/9799919799/utilities/pax.html (ustar)

/** One regular file: its path inside the archive (relative, no `..`), bytes and mode. */
export interface TarEntry {
    path: string;
    content: Uint8Array;
    /** Octal permission bits, e.g. `0755`. */
    mode: string;
}

const BLOCK = 512;

/** Writes `value` as a NUL-terminated octal field of `width` bytes at `offset`. */
function octal(header: Uint8Array, offset: number, width: number, value: number): void {
    const text = value.toString(8).padStart(width - 1, "0");
    if (text.length > width - 1) throw new Error(`tar: ${value} does not fit a ${width}-byte field`);
    header.set(Buffer.from(`${text}\0`, "ascii"), offset);
}

function text(header: Uint8Array, offset: number, width: number, value: string): void {
    const bytes = Buffer.from(value, "utf8");
    if (bytes.length > width) throw new Error(`tar: "${value}" is longer than ${width} bytes`);
    header.set(bytes, offset);
}

/** The 512-byte ustar header of a regular file owned by root. */
function header(entry: TarEntry): Uint8Array {
    if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(entry.path) || entry.path.split("/").includes("..")) {
        throw new Error(`tar: ${JSON.stringify(entry.path)} is not a plain relative path`);
    }
    if (!/^0?[0-7]{3}$/.test(entry.mode))
        throw new Error(`tar: mode ${JSON.stringify(entry.mode)} is not octal permission bits`);
    const h = new Uint8Array(BLOCK);
    // Paths over 100 bytes go in the prefix field, split at a slash.
    let name = entry.path;
    let prefix = "";
    if (Buffer.byteLength(name) > 100) {
        const cut = name.lastIndexOf("/", 155);
        if (cut < 0 || Buffer.byteLength(name.slice(cut + 1)) > 100)
            throw new Error(`tar: ${entry.path} is too long for ustar`);
        prefix = name.slice(0, cut);
        name = name.slice(cut + 1);
    }
    text(h, 0, 100, name);
    octal(h, 100, 8, parseInt(entry.mode, 8));
    octal(h, 108, 8, 0); // uid
    octal(h, 116, 8, 0); // gid
    octal(h, 124, 12, entry.content.length);
    octal(h, 136, 12, 0); // mtime: the epoch, so the clock never reaches the bytes
    h.fill(0x20, 148, 156); // the checksum is computed with its own field as spaces
    h[156] = 0x30; // '0': a regular file
    text(h, 257, 6, "ustar");
    text(h, 263, 2, "00");
    text(h, 265, 32, "root");
    text(h, 297, 32, "root");
    text(h, 345, 155, prefix);
    const sum = h.reduce((a, b) => a + b, 0);
    octal(h, 148, 7, sum);
    h[155] = 0x20;
    return h;
}

/** The archive: each file's header and content padded to 512 bytes, then two zero blocks. */
export function ustar(entries: readonly TarEntry[]): Uint8Array {
    const parts: Uint8Array[] = [];
    for (const e of entries) {
        parts.push(header(e), e.content, new Uint8Array((BLOCK - (e.content.length % BLOCK)) % BLOCK));
    }
    parts.push(new Uint8Array(2 * BLOCK));
    return Buffer.concat(parts);
}
