// The longest path through a dependency graph whose nodes take time: the critical path.
// Pure; the RTO model feeds it the DR stack's resources and their typical durations.
//
// A node can start once every node it depends on has finished (Pulumi creates resources
// as soon as their dependencies are created, in parallel otherwise), so the earliest
// finish of a node is its own duration plus the latest finish among its dependencies, and
// the time to reach a node is the length of the longest chain of dependencies leading to it.

/** A node of the graph: an id, how long it takes, and the ids it must wait for. */
export interface PathNode {
    id: string;
    seconds: number;
    dependsOn: readonly string[];
}

/** The earliest start and finish of every node, and the longest chain into each. */
export interface Schedule {
    /** Earliest finish (seconds from the start) per node id. */
    finish: Map<string, number>;
    /** Earliest start per node id. */
    start: Map<string, number>;
    /** The dependency that finishes last, per node (undefined for a node with none). */
    via: Map<string, string | undefined>;
}

/** The critical path to a node (or to the graph's last-finishing node). */
export interface CriticalPath {
    /** Node ids from the first to the last, each waiting for the one before. */
    path: string[];
    /** Finish time of the last node: the sum of the durations along the path. */
    seconds: number;
}

/**
 * Computes the earliest schedule of a DAG. Throws when a node depends on an unknown id
 * (unless `ignoreUnknown`, which drops such edges) or when the graph has a cycle, naming it.
 */
export function schedule(nodes: readonly PathNode[], opts: { ignoreUnknown?: boolean } = {}): Schedule {
    const byId = new Map<string, PathNode>();
    for (const n of nodes) {
        if (byId.has(n.id)) throw new Error(`node ${n.id} appears twice`);
        if (!(n.seconds >= 0) || !Number.isFinite(n.seconds))
            throw new Error(`node ${n.id} has duration ${n.seconds}; durations must be finite and not negative`);
        byId.set(n.id, n);
    }
    const deps = (n: PathNode) =>
        [...new Set(n.dependsOn)].filter((d) => {
            if (byId.has(d)) return true;
            if (opts.ignoreUnknown) return false;
            throw new Error(`node ${n.id} depends on ${d}, which is not in the graph`);
        });

    const finish = new Map<string, number>();
    const start = new Map<string, number>();
    const via = new Map<string, string | undefined>();
    const state = new Map<string, "visiting" | "done">();
    // Iterative depth-first search, so long chains cannot overflow the stack.
    for (const root of nodes) {
        if (state.get(root.id) === "done") continue;
        const stack: Array<{ node: PathNode; next: number; deps: string[] }> = [
            { node: root, next: 0, deps: deps(root) },
        ];
        state.set(root.id, "visiting");
        while (stack.length > 0) {
            const top = stack[stack.length - 1];
            if (top.next < top.deps.length) {
                const d = top.deps[top.next++];
                const s = state.get(d);
                if (s === "done") continue;
                if (s === "visiting") {
                    const cycle = [...stack.slice(stack.findIndex((f) => f.node.id === d)).map((f) => f.node.id), d];
                    throw new Error(`dependency cycle: ${cycle.join(" -> ")}`);
                }
                const child = byId.get(d)!;
                state.set(d, "visiting");
                stack.push({ node: child, next: 0, deps: deps(child) });
                continue;
            }
            let begin = 0;
            let last: string | undefined;
            for (const d of top.deps) {
                const f = finish.get(d)!;
                // Ties go to the first dependency listed, so the path is deterministic.
                if (last === undefined || f > begin) {
                    begin = f;
                    last = d;
                }
            }
            start.set(top.node.id, begin);
            finish.set(top.node.id, begin + top.node.seconds);
            via.set(top.node.id, last);
            state.set(top.node.id, "done");
            stack.pop();
        }
    }
    return { finish, start, via };
}

/**
 * The critical path to `target` (a node id), or, without a target, to the node that
 * finishes last (ties: the first in input order).
 */
export function criticalPath(
    nodes: readonly PathNode[],
    target?: string,
    opts: { ignoreUnknown?: boolean } = {},
): CriticalPath {
    if (nodes.length === 0) return { path: [], seconds: 0 };
    const s = schedule(nodes, opts);
    let end = target;
    if (end === undefined) {
        for (const n of nodes) {
            if (end === undefined || s.finish.get(n.id)! > s.finish.get(end)!) end = n.id;
        }
    } else if (!s.finish.has(end)) {
        throw new Error(`target ${end} is not in the graph`);
    }
    const path: string[] = [];
    for (let id: string | undefined = end; id !== undefined; id = s.via.get(id)) path.unshift(id);
    return { path, seconds: s.finish.get(end!)! };
}
