// Prints one plain closing line, "N passed, N failed, N skipped", after vitest's own
// summary, so CI logs can be read by tools that do not parse vitest's output.
import type { Reporter, TestModule } from "vitest/node";

export default class SummaryReporter implements Reporter {
    onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
        let passed = 0;
        let failed = 0;
        let skipped = 0;
        for (const mod of testModules) {
            let failedHere = 0;
            for (const test of mod.children.allTests()) {
                const state = test.result().state;
                if (state === "passed") passed += 1;
                else if (state === "failed") failedHere += 1;
                else skipped += 1;
            }
            // A file that failed to load, or whose beforeAll threw, fails with its tests
            // skipped or never collected: count the file itself as one failure.
            if (mod.state() === "failed" && failedHere === 0) failedHere = 1;
            failed += failedHere;
        }
        failed += unhandledErrors.length;
        process.stdout.write(`\nvitest: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
    }
}
