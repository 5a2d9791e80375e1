// Datasets for real-service tests: a synthetic database shaped like the plan's application
// (users, portfolios, proposals, an audit log; Django-style deferrable foreign keys, indexes,
// JSON, Unicode, NULLs), and the third-party Pagila sample in tests/fixtures/pagila.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { PostgresCluster } from "./postgres";

/** Row counts of {@link seedPlanDatabase} at scale 1. */
export const PLAN_ROWS_PER_SCALE = { users: 5_000, portfolios: 20_000, proposals: 60_000, audit_log: 10_000 } as const;

/**
 * Creates the plan-shaped schema in `database` (which must exist) and fills it with
 * deterministic rows: `scale` times {@link PLAN_ROWS_PER_SCALE}. Foreign keys are
 * DEFERRABLE INITIALLY DEFERRED as Django creates them; `updated_at` is kept by a trigger.
 */
export async function seedPlanDatabase(pg: PostgresCluster, database: string, scale = 1): Promise<void> {
    const n = (k: keyof typeof PLAN_ROWS_PER_SCALE) => Math.round(PLAN_ROWS_PER_SCALE[k] * scale);
    await pg.psql(
        `
CREATE TYPE proposal_action AS ENUM ('buy', 'sell', 'hold');
CREATE TABLE users (
    id bigserial PRIMARY KEY,
    email text NOT NULL UNIQUE,
    display_name text,
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL
);
CREATE TABLE portfolios (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users(id) DEFERRABLE INITIALLY DEFERRED,
    name text NOT NULL,
    value numeric(16, 2) NOT NULL,
    currency char(3) NOT NULL DEFAULT 'USD',
    updated_at timestamptz NOT NULL
);
CREATE INDEX portfolios_user_id_idx ON portfolios (user_id);
CREATE TABLE proposals (
    id bigserial PRIMARY KEY,
    portfolio_id bigint NOT NULL REFERENCES portfolios(id) DEFERRABLE INITIALLY DEFERRED,
    ticker text NOT NULL,
    action proposal_action NOT NULL,
    quantity numeric(12, 4) NOT NULL,
    score double precision,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX proposals_portfolio_created_idx ON proposals (portfolio_id, created_at);
CREATE TABLE audit_log (
    id bigserial PRIMARY KEY,
    action text NOT NULL,
    table_name text NOT NULL,
    row_id bigint NOT NULL,
    at timestamptz NOT NULL
);
CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
CREATE TRIGGER portfolios_touch BEFORE INSERT OR UPDATE ON portfolios
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE VIEW portfolio_totals AS
    SELECT u.id AS user_id, count(p.id) AS portfolios, coalesce(sum(p.value), 0) AS total
    FROM users u LEFT JOIN portfolios p ON p.user_id = u.id GROUP BY u.id;

INSERT INTO users (email, display_name, is_active, created_at)
SELECT 'user' || g || '@example.com',
       CASE WHEN g % 7 = 0 THEN NULL WHEN g % 11 = 0 THEN 'Zoë Ünïcødé ' || g ELSE 'User ' || g END,
       g % 13 <> 0,
       timestamptz '2025-01-01 00:00:00+00' + make_interval(mins => g)
FROM generate_series(1, ${n("users")}) g;

ALTER TABLE portfolios DISABLE TRIGGER portfolios_touch;
INSERT INTO portfolios (user_id, name, value, currency, updated_at)
SELECT 1 + (g % ${n("users")}), 'Portfolio ' || md5(g::text),
       round((g * 37.5) % 1000000, 2), (ARRAY['USD','EUR','GBP'])[1 + g % 3],
       timestamptz '2025-06-01 00:00:00+00' + make_interval(secs => g)
FROM generate_series(1, ${n("portfolios")}) g;
ALTER TABLE portfolios ENABLE TRIGGER portfolios_touch;

INSERT INTO proposals (portfolio_id, ticker, action, quantity, score, payload, created_at)
SELECT 1 + (g % ${n("portfolios")}), (ARRAY['VYM','SCHD','JEPI','O','MAIN'])[1 + g % 5],
       (ARRAY['buy','sell','hold']::proposal_action[])[1 + g % 3], (g % 997) / 7.0,
       CASE WHEN g % 17 = 0 THEN NULL ELSE (g % 1000) / 10.0 END,
       jsonb_build_object('reason', 'rule-' || (g % 23), 'weights', jsonb_build_array(g % 5, g % 7), 'note', md5(g::text)),
       timestamptz '2025-09-01 00:00:00+00' + make_interval(secs => g * 3)
FROM generate_series(1, ${n("proposals")}) g;

INSERT INTO audit_log (action, table_name, row_id, at)
SELECT (ARRAY['INSERT','UPDATE','DELETE'])[1 + g % 3], (ARRAY['users','portfolios','proposals'])[1 + g % 3], g,
       timestamptz '2025-10-01 00:00:00+00' + make_interval(secs => g)
FROM generate_series(1, ${n("audit_log")}) g;
ANALYZE;
`,
        database,
    );
}

/** The Pagila sample shipped with the tests (tests/fixtures/pagila, with its licence). */
export const PAGILA_FIXTURE_DIR = resolve(__dirname, "../tests/fixtures/pagila");

/** Folder of the Pagila sample: $PAGILA_DIR when set, else the fixture; undefined when neither has it. */
export function pagilaDir(): string | undefined {
    const candidates = [process.env.PAGILA_DIR, PAGILA_FIXTURE_DIR].filter((d): d is string => !!d);
    return candidates.find((d) => existsSync(join(d, "pagila-schema.sql")) && existsSync(join(d, "pagila-data.sql")));
}

/**
 * Loads Pagila into `database` (which must exist) as its README says: schema, then data.
 * Its objects belong to `postgres`, the harness's default superuser, so it loads as-is.
 */
export async function loadPagila(pg: PostgresCluster, database: string): Promise<void> {
    const dir = pagilaDir();
    if (!dir)
        throw new Error(
            `the Pagila sample is not in ${PAGILA_FIXTURE_DIR}: restore it from git, or set PAGILA_DIR to a folder with pagila-schema.sql`,
        );
    await pg.psqlFile(join(dir, "pagila-schema.sql"), database);
    await pg.psqlFile(join(dir, "pagila-data.sql"), database);
}
