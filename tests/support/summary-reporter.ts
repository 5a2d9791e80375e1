// Prints one plain closing line, "N passed, N failed, N skipped", after vitest's own
// summary, so CI logs can be read by tools that do not parse vitest's output.
import type { Reporter, TestModule } from "vitest/node";

export default class SummaryReporter implements Reporter {
    onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
        let passed = 0;
        let failed = 0;
        let skipped = 0;
        for (const mod of testModules) {
            for (const test of mod.children.allTests()) {
                const state = test.result().state;
                if (state === "passed") passed += 1;
                else if (state === "failed") failed += 1;
                else skipped += 1;
            }
            // A file that failed to load has no tests; count it as a failure.
            if (mod.state() === "failed" && [...mod.children.allTests()].length === 0) failed += 1;
        }
        failed += unhandledErrors.length;
        process.stdout.write(`\nvitest: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
    }
}
