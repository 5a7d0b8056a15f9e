-- events: partitioned tables, where big data lives and where an advisor
-- blind to partitions misleads. Not HishamOS.
--
--   psql -v scale=1 -f schema.sql
--
-- events is RANGE-partitioned by month on created_at: six monthly
-- partitions from 2026-06 to 2026-11 and a DEFAULT partition; the November
-- partition is itself LIST-partitioned by kind (two levels). accounts is
-- LIST-partitioned by region. scale 1: 600,000 events over 200 tenants,
-- 20,000 accounts. Deterministic (setseed). As PostgreSQL leaves a
-- partitioned table, only the primary keys (which must hold the partition
-- key) are indexed.

\set ON_ERROR_STOP on
\if :{?scale}
\else
  \set scale 1
\endif
SET client_min_messages = warning;

DROP TABLE IF EXISTS events, accounts CASCADE;

CREATE TABLE accounts (
    id         bigint NOT NULL,
    region     text NOT NULL,
    tenant_id  int NOT NULL,
    email      text NOT NULL,
    plan       text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (id, region)
) PARTITION BY LIST (region);
CREATE TABLE accounts_eu PARTITION OF accounts FOR VALUES IN ('eu');
CREATE TABLE accounts_us PARTITION OF accounts FOR VALUES IN ('us');
CREATE TABLE accounts_apac PARTITION OF accounts FOR VALUES IN ('apac');
CREATE TABLE accounts_other PARTITION OF accounts DEFAULT;

CREATE TABLE events (
    id          bigint NOT NULL,
    tenant_id   int NOT NULL,
    account_id  bigint NOT NULL,
    kind        text NOT NULL,
    status      text NOT NULL,
    payload     jsonb NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (id, created_at, kind)
) PARTITION BY RANGE (created_at);
CREATE TABLE events_2026_06 PARTITION OF events FOR VALUES FROM ('2026-06-01') TO ('2026-07-01');
CREATE TABLE events_2026_07 PARTITION OF events FOR VALUES FROM ('2026-07-01') TO ('2026-08-01');
CREATE TABLE events_2026_08 PARTITION OF events FOR VALUES FROM ('2026-08-01') TO ('2026-09-01');
CREATE TABLE events_2026_09 PARTITION OF events FOR VALUES FROM ('2026-09-01') TO ('2026-10-01');
CREATE TABLE events_2026_10 PARTITION OF events FOR VALUES FROM ('2026-10-01') TO ('2026-11-01');
CREATE TABLE events_2026_11 PARTITION OF events FOR VALUES FROM ('2026-11-01') TO ('2026-12-01')
    PARTITION BY LIST (kind);
CREATE TABLE events_2026_11_click PARTITION OF events_2026_11 FOR VALUES IN ('click');
CREATE TABLE events_2026_11_other PARTITION OF events_2026_11 DEFAULT;
CREATE TABLE events_default PARTITION OF events DEFAULT;

SELECT setseed(0.577) AS seeded \gset
\set accounts (20000 * :scale)
\set events (600000 * :scale)

INSERT INTO accounts (id, region, tenant_id, email, plan, created_at)
SELECT g, (ARRAY['eu', 'eu', 'us', 'us', 'us', 'apac', 'latam'])[1 + g % 7],
       1 + floor(200 * power(random(), 2))::int,
       'acct' || g || '@example.com',
       (ARRAY['free', 'free', 'free', 'pro', 'enterprise'])[1 + floor(random() * 5)::int],
       timestamptz '2025-01-01' + random() * interval '500 days'
FROM generate_series(1, :accounts) g;

-- Events evenly over six months; 2% 'failed'; tenants skewed; a few land in
-- December, in the DEFAULT partition.
INSERT INTO events (id, tenant_id, account_id, kind, status, payload, created_at)
SELECT g,
       1 + floor(200 * power(random(), 2))::int,
       1 + floor(:accounts * random())::bigint,
       (ARRAY['click', 'click', 'click', 'view', 'view', 'signup', 'purchase'])[1 + floor(random() * 7)::int],
       CASE WHEN random() < 0.02 THEN 'failed' ELSE 'ok' END,
       jsonb_build_object('v', g % 100),
       CASE WHEN g % 1000 = 0 THEN timestamptz '2026-12-01' + random() * interval '5 days'
            ELSE timestamptz '2026-06-01' + (g::float8 / :events) * interval '183 days' END
FROM generate_series(1, :events) g;

VACUUM ANALYZE;
