// Which PostgreSQL the harness runs (harness/process.ts choosePostgres) and the bench's
// --pg option: pure choices over a list of installs, no server started.
import { describe, expect, it } from "vitest";
import { parseBenchArgs } from "../../bench/bench";
import { choosePostgres, type PostgresInstall } from "../../harness/process";

const host = (major: number): PostgresInstall => ({
    major,
    source: "host",
    clientDir: `/usr/lib/postgresql/${major}/bin`,
    serverBinDir: `/usr/lib/postgresql/${major}/bin`,
});
const root = (major: number): PostgresInstall => ({
    major,
    source: "root",
    clientDir: `/repo/.tools/pg${major}-bin`,
    serverBinDir: `/usr/lib/postgresql/${major}/bin`,
    root: `/repo/.tools/pg${major}-root`,
});
const pgBinDir = (major: number): PostgresInstall => ({
    major,
    source: "PG_BIN_DIR",
    clientDir: "/opt/pg/bin",
    serverBinDir: "/opt/pg/bin",
});

describe("choosePostgres", () => {
    it("takes the newest major by default: 17 from the root over Debian 12's 15", () => {
        expect(choosePostgres([host(15), root(17)])).toEqual(root(17));
        expect(choosePostgres([host(15)])).toEqual(host(15));
    });

    it("of one major, prefers PG_BIN_DIR's, then a root's, then Debian's", () => {
        expect(choosePostgres([host(17), root(17)])).toEqual(root(17));
        expect(choosePostgres([host(17), root(17), pgBinDir(17)])).toEqual(pgBinDir(17));
        // PG_BIN_DIR adds a candidate; it does not pull the default back to an older major.
        expect(choosePostgres([pgBinDir(15), root(17)])).toEqual(root(17));
    });

    it("takes the asked major (FORTRESS_TEST_PG) even when a newer one is there", () => {
        expect(choosePostgres([host(15), root(17)], "15")).toEqual(host(15));
        expect(choosePostgres([host(15), root(17)], "17")).toEqual(root(17));
        expect(choosePostgres([host(15), root(17)], "")).toEqual(root(17));
    });

    it("names what to install when the asked major is not there, and refuses a non-number", () => {
        expect(() => choosePostgres([host(15)], "17")).toThrow(
            /PostgreSQL 17 is not installed here \(available: 15\): bash tools\/setup builds PostgreSQL 17/,
        );
        expect(() => choosePostgres([host(15)], "16")).toThrow(/apt-get install postgresql-16/);
        expect(() => choosePostgres([], undefined)).toThrow(/no PostgreSQL server binaries/);
        expect(() => choosePostgres([host(15)], "seventeen")).toThrow(/'seventeen' is not a number/);
    });
});

describe("npm run bench -- --pg", () => {
    it("takes a major version, and none by default", () => {
        expect(parseBenchArgs(["--pg", "17"], 2).pg).toBe("17");
        expect(parseBenchArgs(["--pg=15", "--quick"], 2)).toMatchObject({ pg: "15", quick: true });
        expect(parseBenchArgs([], 2).pg).toBeUndefined();
    });

    it.each(["17.2", "x", "0"])("refuses --pg %s", (v) => {
        expect(() => parseBenchArgs(["--pg", v], 2)).toThrow(/--pg takes a PostgreSQL major version such as 17/);
    });
});
