// Writes a report as reports/<kind>-<timestamp>.json and .md (docs/drills.md, "Report format"). The only part of
// the report code that touches the disk.
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { renderMarkdown, type Report } from "./report";
import { PLAN_RPO, PLAN_RTO } from "./targets";

/** Paths of a written report. */
export interface WrittenReport {
    json: string;
    markdown: string;
}

/**
 * Writes `<dir>/<report.id>.json` and `.md`, creating the folder. If a report of that id
 * exists (two runs in the same second), `-2`, `-3`, ... is appended rather than overwriting.
 * Each file is written to a temporary name and renamed, so a reader never sees half a report.
 */
export function writeReport(dir: string, report: Report): WrittenReport {
    const folder = resolve(dir);
    mkdirSync(folder, { recursive: true });
    let stem = report.id;
    for (let n = 2; existsSync(join(folder, `${stem}.json`)) || existsSync(join(folder, `${stem}.md`)); n++)
        stem = `${report.id}-${n}`;
    const json = join(folder, `${stem}.json`);
    const markdown = join(folder, `${stem}.md`);
    const put = (path: string, text: string) => {
        const tmp = `${path}.tmp-${process.pid}`;
        writeFileSync(tmp, text, { mode: 0o644 });
        renameSync(tmp, path);
    };
    put(json, `${JSON.stringify(report, null, 2)}\n`);
    put(markdown, renderMarkdown(report, { rto: PLAN_RTO, rpo: PLAN_RPO }));
    return { json, markdown };
}
