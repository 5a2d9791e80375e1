// The resource graph of a stack for the RTO model: the real program (index.ts) run under
// mocks by the runner the mocked-stack tests use (harness/program-runner.ts), with the
// config the Pulumi CLI would build from Pulumi.yaml and Pulumi.<stack>.yaml.
import * as pulumi from "@pulumi/pulumi";
import { ROOT, loadStackConfig } from "../harness/mock-cloud";
import { runProgram, type Registration, type RunOptions } from "../harness/program-runner";

/**
 * Runs index.ts for `stack` under mocks and returns every registered resource, with
 * `config` set over the stack file's and `outputs` over the mock's. index.ts exports a
 * function, so each call runs the program again on the cached module.
 */
export async function stackGraph(
    stack: string,
    root = ROOT,
    opts: { config?: Record<string, string>; outputs?: RunOptions["outputs"] } = {},
): Promise<Registration[]> {
    const config = { ...loadStackConfig(stack, root), ...opts.config };
    // The program's log lines (warnings about config) would interleave with our output.
    const quiet = pulumi.log.warn;
    (pulumi.log as { warn: unknown }).warn = () => Promise.resolve();
    try {
        const run = await runProgram(stack, config, { root, ...(opts.outputs ? { outputs: opts.outputs } : {}) });
        if (run.error) throw new Error(`the program failed for stack ${stack} under mocks: ${run.error.message}`);
        return run.registrations;
    } finally {
        (pulumi.log as { warn: unknown }).warn = quiet;
    }
}

/** A placeholder for the primary's cluster id, which a warm standby reads from its state. */
const PRIMARY_CLUSTER_ID = "00000000-0000-4000-8000-000000000000";

/**
 * A warm standby's two graphs: standing by (standby warm), and at failover (failover true),
 * the update `pulumi up` runs when the disaster is declared.
 */
export async function warmGraphs(
    stack: string,
    root = ROOT,
): Promise<{ standing: Registration[]; serving: Registration[] }> {
    const outputs: RunOptions["outputs"] = (type, _name, inputs) =>
        type === "pulumi:pulumi:StackReference"
            ? { name: inputs.name, outputs: { databaseClusterId: PRIMARY_CLUSTER_ID }, secretOutputNames: [] }
            : undefined;
    const warm = { "income-fortress:standby": "warm" };
    const standing = await stackGraph(stack, root, { config: warm, outputs });
    const serving = await stackGraph(stack, root, {
        config: { ...warm, "income-fortress:failover": "true" },
        outputs,
    });
    return { standing, serving };
}
