-- Two tables for the advisor's quality check (see ../../quality_test.go):
-- deterministic data, skewed where real data is skewed (order status), with
-- created_at and ts following id as append-only tables do.
CREATE TABLE orders (
    id          bigint PRIMARY KEY,
    org_id      integer NOT NULL,
    customer_id integer NOT NULL,
    status      text NOT NULL,
    amount      numeric(10, 2) NOT NULL,
    created_at  timestamptz NOT NULL,
    note        text NOT NULL
);
INSERT INTO orders
SELECT i,
       1 + (i * 7919) % 1000,
       1 + (i * 104729) % 30000,
       CASE WHEN (i * 31) % 100 < 60 THEN 'delivered'
            WHEN (i * 31) % 100 < 80 THEN 'shipped'
            WHEN (i * 31) % 100 < 92 THEN 'pending'
            WHEN (i * 31) % 100 < 98 THEN 'cancelled'
            ELSE 'refunded' END,
       ((i * 48271) % 100000) / 100.0,
       timestamptz '2024-01-01 00:00:00+00' + i * interval '1 minute',
       md5(i::text)
FROM generate_series(1::bigint, 300000) AS i;

CREATE TABLE events (
    id         bigint PRIMARY KEY,
    account_id integer NOT NULL,
    kind       text NOT NULL,
    severity   integer NOT NULL,
    ts         timestamptz NOT NULL,
    payload    text NOT NULL
);
INSERT INTO events
SELECT i,
       1 + (i * 7907) % 2000,
       (ARRAY['login', 'logout', 'view', 'click', 'error', 'purchase', 'search', 'share'])[1 + (i * 13) % 8],
       1 + (i * 17) % 5,
       timestamptz '2024-01-01 00:00:00+00' + i * interval '30 seconds',
       repeat(md5(i::text), 2)
FROM generate_series(1::bigint, 300000) AS i;

ANALYZE orders;
ANALYZE events;
