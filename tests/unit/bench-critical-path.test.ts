// The longest path through a DAG of timed nodes (bench/critical-path.ts), which the RTO
// model runs over the DR stack's resources.
import { describe, expect, it } from "vitest";
import { type PathNode, criticalPath, schedule } from "../../bench/critical-path";

const node = (id: string, seconds: number, ...dependsOn: string[]): PathNode => ({ id, seconds, dependsOn });

describe("criticalPath", () => {
    it.each([
        { name: "one node", nodes: [node("a", 5)], target: undefined, path: ["a"], seconds: 5 },
        {
            name: "a chain adds up",
            nodes: [node("a", 5), node("b", 3, "a"), node("c", 2, "b")],
            target: undefined,
            path: ["a", "b", "c"],
            seconds: 10,
        },
        {
            name: "parallel branches: the longer one",
            nodes: [node("a", 5), node("b", 9), node("c", 1, "a", "b")],
            target: undefined,
            path: ["b", "c"],
            seconds: 10,
        },
        {
            name: "a diamond",
            nodes: [node("s", 1), node("l", 4, "s"), node("r", 6, "s"), node("e", 2, "l", "r")],
            target: undefined,
            path: ["s", "r", "e"],
            seconds: 9,
        },
        {
            name: "to a given target, not the longest overall",
            nodes: [node("a", 5), node("b", 3, "a"), node("z", 100)],
            target: "b",
            path: ["a", "b"],
            seconds: 8,
        },
        {
            name: "zero-time nodes pass the time through",
            nodes: [node("a", 5), node("join", 0, "a"), node("b", 1, "join")],
            target: undefined,
            path: ["a", "join", "b"],
            seconds: 6,
        },
        {
            name: "ties go to the first dependency listed",
            nodes: [node("a", 5), node("b", 5), node("c", 1, "a", "b")],
            target: undefined,
            path: ["a", "c"],
            seconds: 6,
        },
        { name: "an empty graph", nodes: [], target: undefined, path: [], seconds: 0 },
    ])("$name", ({ nodes, target, path, seconds }) => {
        const cp = criticalPath(nodes, target);
        expect(cp.path).toEqual(path);
        expect(cp.seconds).toBe(seconds);
    });

    it("adding a dependency lengthens the path through it", () => {
        const graph = [
            node("db", 480),
            node("droplet", 60),
            node("boot", 300, "droplet"),
            node("restore", 30, "boot"),
            node("health", 60, "restore"),
        ];
        const before = criticalPath(graph, "health");
        expect(before.path).toEqual(["droplet", "boot", "restore", "health"]);
        expect(before.seconds).toBe(450);
        // The restore now also waits for the database cluster.
        const withDb = graph.map((n) => (n.id === "restore" ? node("restore", 30, "boot", "db") : n));
        const after = criticalPath(withDb, "health");
        expect(after.path).toEqual(["db", "restore", "health"]);
        expect(after.seconds).toBe(570);
        expect(after.seconds).toBeGreaterThan(before.seconds);
    });

    it("a dependency on a node that finishes earlier does not lengthen it", () => {
        const graph = [node("a", 10), node("b", 2), node("c", 1, "a")];
        const linked = [node("a", 10), node("b", 2), node("c", 1, "a", "b")];
        expect(criticalPath(linked, "c").seconds).toBe(criticalPath(graph, "c").seconds);
    });

    it("every node starts when its last dependency finishes", () => {
        const nodes = [node("a", 3), node("b", 7), node("c", 2, "a"), node("d", 4, "b", "c")];
        const s = schedule(nodes);
        for (const n of nodes) {
            const ready = Math.max(0, ...n.dependsOn.map((d) => s.finish.get(d)!));
            expect(s.start.get(n.id), n.id).toBe(ready);
            expect(s.finish.get(n.id), n.id).toBe(ready + n.seconds);
        }
    });

    it("follows a long chain without running out of stack", () => {
        const nodes = Array.from({ length: 20_000 }, (_, i) => node(`n${i}`, 1, ...(i ? [`n${i - 1}`] : [])));
        const cp = criticalPath(nodes);
        expect(cp.seconds).toBe(20_000);
        expect(cp.path).toHaveLength(20_000);
    });

    it.each([
        {
            name: "a cycle, named",
            nodes: [node("a", 1, "c"), node("b", 1, "a"), node("c", 1, "b")],
            error: /dependency cycle: a -> c -> b -> a/,
        },
        { name: "a self-loop", nodes: [node("a", 1, "a")], error: /dependency cycle: a -> a/ },
        {
            name: "an unknown dependency",
            nodes: [node("a", 1, "ghost")],
            error: /a depends on ghost, which is not in the graph/,
        },
        { name: "a negative duration", nodes: [node("a", -1)], error: /a has duration -1/ },
        { name: "a duplicate id", nodes: [node("a", 1), node("a", 2)], error: /a appears twice/ },
    ])("refuses $name", ({ nodes, error }) => {
        expect(() => criticalPath(nodes)).toThrow(error);
    });

    it("drops unknown dependencies when asked to", () => {
        expect(criticalPath([node("a", 2, "ghost"), node("b", 3, "a")], undefined, { ignoreUnknown: true })).toEqual({
            path: ["a", "b"],
            seconds: 5,
        });
    });

    it("refuses a target that is not in the graph", () => {
        expect(() => criticalPath([node("a", 1)], "b")).toThrow(/target b is not in the graph/);
    });
});
