// The benchmark's reference dataset: the plan's tables (users, portfolios, proposals) with
// primary keys, a unique email, secondary indexes, Django-style deferrable foreign keys,
// an enum, numerics, timestamps, free text and JSON, sized by bytes on disk.
//
// Rows are made on the server with generate_series, so a gigabyte takes seconds rather
// than the minutes that client-side INSERTs would. Tables are filled first and indexed and
// constrained afterwards, as pg_restore does. Values are a deterministic function of the
// row number (hashint8, not random()), so two runs of the same size hold the same data and
// compress alike. The text and JSON are repetitive the way application data is, so
// compression ratios are plausible rather than best or worst case.
import type { PostgresCluster } from "../harness/postgres";

/** Rows per table for one scale unit. Proposals dominate, as they would in the app. */
export const DATASET_UNIT = { users: 1_000, portfolios: 4_000, proposals: 40_000 } as const;

export type DatasetTable = keyof typeof DATASET_UNIT;
export const DATASET_TABLES = Object.keys(DATASET_UNIT) as DatasetTable[];

/** Row counts at a (possibly fractional) scale; at least one row per table. */
export function datasetRows(scale: number): Record<DatasetTable, number> {
    return {
        users: Math.max(1, Math.round(DATASET_UNIT.users * scale)),
        portfolios: Math.max(1, Math.round(DATASET_UNIT.portfolios * scale)),
        proposals: Math.max(1, Math.round(DATASET_UNIT.proposals * scale)),
    };
}

/**
 * The scale whose database size is about `targetBytes`, given the size of an empty
 * database and the bytes one scale unit adds (both measured by calibration). Throws when
 * the target is not above the empty database's size.
 */
export function scaleForTarget(targetBytes: number, emptyBytes: number, bytesPerUnit: number): number {
    if (!(bytesPerUnit > 0)) throw new Error(`bytes per scale unit must be positive, got ${bytesPerUnit}`);
    const room = targetBytes - emptyBytes;
    if (room <= bytesPerUnit / 100) {
        throw new Error(
            `a ${Math.round(targetBytes / 1e6)} MB dataset is too small: an empty database already takes ${Math.round(emptyBytes / 1e6)} MB; ask for at least ${Math.ceil((emptyBytes + bytesPerUnit / 10) / 1e6)} MB`,
        );
    }
    return room / bytesPerUnit;
}

/** Splits 1..total into `parts` contiguous ranges (for parallel loading); empty ranges are dropped. */
export function splitRange(total: number, parts: number): Array<[number, number]> {
    const n = Math.max(1, Math.min(parts, total));
    const ranges: Array<[number, number]> = [];
    for (let i = 0; i < n; i++) {
        const from = Math.floor((total * i) / n) + 1;
        const to = Math.floor((total * (i + 1)) / n);
        if (to >= from) ranges.push([from, to]);
    }
    return ranges;
}

/** The tables, without indexes or foreign keys (added after the load). */
export const SCHEMA_SQL = `
CREATE TYPE proposal_action AS ENUM ('buy', 'sell', 'hold', 'rebalance');
CREATE TABLE users (
    id bigserial PRIMARY KEY,
    email text NOT NULL,
    display_name text,
    is_active boolean NOT NULL,
    created_at timestamptz NOT NULL,
    last_login_at timestamptz
);
CREATE TABLE portfolios (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL,
    name text NOT NULL,
    strategy text NOT NULL,
    value numeric(16, 2) NOT NULL,
    currency char(3) NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE TABLE proposals (
    id bigserial PRIMARY KEY,
    portfolio_id bigint NOT NULL,
    ticker text NOT NULL,
    action proposal_action NOT NULL,
    quantity numeric(14, 4) NOT NULL,
    limit_price numeric(12, 4),
    score double precision,
    status text NOT NULL,
    rationale text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL
);
`;

/** INSERT … SELECT generate_series for rows `from`..`to` of a table at the given row counts. */
export function loadSql(table: DatasetTable, from: number, to: number, rows: Record<DatasetTable, number>): string {
    // h(k): a deterministic non-negative pseudo-random int from the row number g.
    const h = (k: number, mask: number) => `(hashint8(g * ${k}) & ${mask})`;
    switch (table) {
        case "users":
            return `INSERT INTO users (id, email, display_name, is_active, created_at, last_login_at)
SELECT g, 'user' || g || '@example.com',
       CASE WHEN g % 9 = 0 THEN NULL ELSE 'User ' || g END,
       g % 13 <> 0,
       timestamptz '2024-01-01 00:00:00+00' + make_interval(secs => g * 7),
       CASE WHEN g % 5 = 0 THEN NULL ELSE timestamptz '2025-06-01 00:00:00+00' + make_interval(secs => ${h(1, 16777215)}) END
FROM generate_series(${from}, ${to}) g;`;
        case "portfolios":
            return `INSERT INTO portfolios (id, user_id, name, strategy, value, currency, updated_at)
SELECT g, 1 + ${h(1, 2147483647)} % ${rows.users},
       (ARRAY['Retirement','Income','Growth','Dividend','Bonds','Speculative'])[1 + g % 6] || ' ' || (g % 97),
       (ARRAY['dividend-growth','high-yield','covered-call','balanced'])[1 + g % 4],
       round((${h(3, 1073741823)} / 1000.0)::numeric, 2),
       (ARRAY['USD','EUR','GBP','CAD'])[1 + g % 4],
       timestamptz '2025-01-01 00:00:00+00' + make_interval(secs => g * 13)
FROM generate_series(${from}, ${to}) g;`;
        case "proposals":
            return `INSERT INTO proposals (id, portfolio_id, ticker, action, quantity, limit_price, score, status, rationale, payload, created_at)
SELECT g, 1 + ${h(1, 2147483647)} % ${rows.portfolios},
       (ARRAY['VYM','SCHD','JEPI','O','MAIN','ARCC','JEPQ','DGRO','HDV','SPYD','VIG','QYLD','STAG','ABBV','PEP','KO'])[1 + ${h(5, 15)}],
       (ARRAY['buy','sell','hold','rebalance']::proposal_action[])[1 + g % 4],
       (${h(7, 1048575)} / 100.0)::numeric(14, 4),
       CASE WHEN g % 3 = 0 THEN NULL ELSE (${h(11, 262143)} / 1000.0)::numeric(12, 4) END,
       CASE WHEN g % 17 = 0 THEN NULL ELSE round((${h(13, 65535)} / 655.35)::numeric, 3)::float8 END,
       (ARRAY['pending','accepted','rejected','executed','expired'])[1 + ${h(17, 3)} + (g % 2)],
       format('%s %s: %s yield %s%%, payout ratio %s%%, %s',
              (ARRAY['Buy','Sell','Hold','Rebalance'])[1 + g % 4],
              (ARRAY['VYM','SCHD','JEPI','O','MAIN','ARCC'])[1 + g % 6],
              (ARRAY['dividend growth above peers;','covered-call income with capped upside;',
                     'monthly payer with rising distributions;','yield trap risk flagged;'])[1 + ${h(19, 3)}],
              round((${h(23, 1023)} / 100.0)::numeric, 2), ${h(29, 127)},
              (ARRAY['score above threshold','sector overweight','tax-loss harvest candidate',
                     'rebalance to target weights'])[1 + ${h(31, 3)}]),
       jsonb_build_object(
           'model', 'scorer-v' || (1 + g % 3),
           'weights', jsonb_build_array(round((${h(2, 255)} / 255.0)::numeric, 4), round((${h(3, 255)} / 255.0)::numeric, 4), round((${h(4, 255)} / 255.0)::numeric, 4)),
           'signals', jsonb_build_object('yield', round((${h(37, 1023)} / 100.0)::numeric, 2), 'growth', round((${h(41, 1023)} / 100.0)::numeric, 2), 'risk', ${h(43, 15)}),
           'ref', md5(g::text)),
       timestamptz '2025-03-01 00:00:00+00' + make_interval(secs => g * 2)
FROM generate_series(${from}, ${to}) g;`;
    }
}

/** Indexes, foreign keys and sequence positions, after the load (as pg_restore orders them). */
export const FINISH_SQL = `
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE INDEX portfolios_user_id_idx ON portfolios (user_id);
CREATE INDEX proposals_portfolio_created_idx ON proposals (portfolio_id, created_at);
CREATE INDEX proposals_ticker_created_idx ON proposals (ticker, created_at);
CREATE INDEX proposals_pending_idx ON proposals (created_at) WHERE status = 'pending';
ALTER TABLE portfolios ADD CONSTRAINT portfolios_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE proposals ADD CONSTRAINT proposals_portfolio_id_fkey
    FOREIGN KEY (portfolio_id) REFERENCES portfolios (id) DEFERRABLE INITIALLY DEFERRED;
SELECT setval('users_id_seq', (SELECT max(id) FROM users)),
       setval('portfolios_id_seq', (SELECT max(id) FROM portfolios)),
       setval('proposals_id_seq', (SELECT max(id) FROM proposals));
VACUUM (ANALYZE);
`;

/** What {@link generateDataset} made. */
export interface DatasetInfo {
    /** Database name. */
    database: string;
    /** Size asked for, in bytes. */
    targetBytes: number;
    /** pg_database_size after generation. */
    bytesOnDisk: number;
    /** Scale used (one unit = {@link DATASET_UNIT} rows). */
    scale: number;
    /** Exact row counts per table. */
    rows: Record<DatasetTable, number>;
    /** Number of indexes (primary keys included) and foreign keys. */
    indexes: number;
    foreignKeys: number;
    /** Wall-clock seconds of the generation, calibration included. */
    seconds: number;
}

async function databaseSize(pg: PostgresCluster, database: string): Promise<number> {
    return Number(await pg.psql(`SELECT pg_database_size(current_database());`, database));
}

/** Creates the schema in `database` (which must exist and be empty) and fills it at `scale`. */
async function fill(
    pg: PostgresCluster,
    database: string,
    scale: number,
    parallel: number,
): Promise<Record<DatasetTable, number>> {
    const rows = datasetRows(scale);
    await pg.psql(SCHEMA_SQL, database);
    // users and portfolios are small; proposals is split across `parallel` sessions.
    await Promise.all([
        pg.psql(loadSql("users", 1, rows.users, rows) + loadSql("portfolios", 1, rows.portfolios, rows), database),
        ...splitRange(rows.proposals, parallel).map(([from, to]) =>
            pg.psql(loadSql("proposals", from, to, rows), database),
        ),
    ]);
    await pg.psql(FINISH_SQL, database);
    return rows;
}

/**
 * Creates `database` and fills it with about `targetBytes` on disk (pg_database_size).
 * A small calibration run (one scale unit in a scratch database) measures the bytes per
 * unit on this server first, so the result lands within a few percent of the target.
 */
export async function generateDataset(
    pg: PostgresCluster,
    database: string,
    targetBytes: number,
    opts: { parallel?: number } = {},
): Promise<DatasetInfo> {
    const started = Date.now();
    const parallel = opts.parallel ?? 2;
    const calibration = `${database}_calibrate`;
    await pg.dropDatabase(calibration);
    await pg.createDatabase(calibration);
    const emptyBytes = await databaseSize(pg, calibration);
    await fill(pg, calibration, 1, parallel);
    const bytesPerUnit = (await databaseSize(pg, calibration)) - emptyBytes;
    await pg.dropDatabase(calibration);

    const scale = scaleForTarget(targetBytes, emptyBytes, bytesPerUnit);
    await pg.dropDatabase(database);
    await pg.createDatabase(database);
    const rows = await fill(pg, database, scale, parallel);
    const [indexes, foreignKeys] = (
        await pg.psql(
            `SELECT (SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public')
             || '|' || (SELECT count(*) FROM pg_constraint WHERE contype = 'f');`,
            database,
        )
    )
        .split("|")
        .map(Number);
    return {
        database,
        targetBytes,
        bytesOnDisk: await databaseSize(pg, database),
        scale,
        rows,
        indexes,
        foreignKeys,
        seconds: (Date.now() - started) / 1000,
    };
}
