// Sizes and durations as people type and read them ("1GB", "100MB", "512MiB"; "4m 05s").
// Pure functions, shared by the benchmark and the RTO model.

const SIZE_UNITS: Record<string, number> = {
    "": 1,
    b: 1,
    kb: 1e3,
    mb: 1e6,
    gb: 1e9,
    tb: 1e12,
    kib: 1024,
    mib: 1024 ** 2,
    gib: 1024 ** 3,
    tib: 1024 ** 4,
    k: 1e3,
    m: 1e6,
    g: 1e9,
    t: 1e12,
};

/**
 * Parses a size such as `1GB`, `100MB`, `30mb`, `2.5 GiB` or `1048576` (bytes) into bytes.
 * Decimal units (kB, MB, GB, TB) are powers of 1000, binary ones (KiB, MiB, GiB, TiB) of
 * 1024. Throws with the accepted forms when the text is not a positive size.
 */
export function parseSize(text: string): number {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
    const factor = m ? SIZE_UNITS[m[2].toLowerCase()] : undefined;
    if (!m || factor === undefined) {
        throw new Error(`'${text}' is not a size: write it like 1GB, 100MB, 512MiB or a number of bytes`);
    }
    const bytes = Math.round(Number(m[1]) * factor);
    if (!(bytes > 0)) throw new Error(`'${text}' is not a size above zero`);
    return bytes;
}

/** Bytes as a short decimal string: `1.02 GB`, `98.3 MB`, `512 B`. */
export function formatBytes(bytes: number): string {
    const units = ["B", "kB", "MB", "GB", "TB"];
    let value = bytes;
    let i = 0;
    while (Math.abs(value) >= 1000 && i < units.length - 1) {
        value /= 1000;
        i += 1;
    }
    if (i === 0) return `${Math.round(value)} B`;
    return `${value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)} ${units[i]}`;
}

/** Seconds as `12.3 s`, `4m 05s` or `1h 02m`. */
export function formatSeconds(seconds: number): string {
    if (!Number.isFinite(seconds)) return "n/a";
    if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
    const s = Math.round(seconds);
    if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
    return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
