// The resource graph of a stack for the RTO model: the real program (index.ts) run under
// mocks by the runner the mocked-stack tests use (harness/program-runner.ts), with the
// config the Pulumi CLI would build from Pulumi.yaml and Pulumi.<stack>.yaml.
import * as pulumi from "@pulumi/pulumi";
import { ROOT, loadStackConfig } from "../harness/mock-cloud";
import { runProgram, type Registration } from "../harness/program-runner";

/**
 * Runs index.ts for `stack` under mocks and returns every registered resource. Call it
 * once per process: the program module is loaded (and cached) by the first call.
 */
export async function stackGraph(stack: string, root = ROOT): Promise<Registration[]> {
    const config = loadStackConfig(stack, root);
    // The program's log lines (warnings about config) would interleave with our output.
    const quiet = pulumi.log.warn;
    (pulumi.log as { warn: unknown }).warn = () => Promise.resolve();
    try {
        const run = await runProgram(stack, config, { root });
        if (run.error) throw new Error(`the program failed for stack ${stack} under mocks: ${run.error.message}`);
        return run.registrations;
    } finally {
        (pulumi.log as { warn: unknown }).warn = quiet;
    }
}
