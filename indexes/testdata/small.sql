-- A small table for the bad-input tests, and one whose names need quoting.
CREATE TABLE items (
    id         bigint PRIMARY KEY,
    account_id integer NOT NULL,
    state      text NOT NULL,
    created_at timestamptz NOT NULL,
    body       text NOT NULL
);
INSERT INTO items
SELECT i, 1 + (i * 7919) % 500,
       (ARRAY['new', 'open', 'open', 'open', 'closed', 'closed', 'closed', 'closed'])[1 + (i * 13) % 8],
       timestamptz '2024-01-01 00:00:00+00' + i * interval '1 minute',
       md5(i::text)
FROM generate_series(1::bigint, 40000) AS i;

CREATE TABLE "Order Items" (
    "OrderID"    bigint PRIMARY KEY,
    "CustomerID" integer NOT NULL,
    "Status"     text NOT NULL,
    "createdAt"  timestamptz NOT NULL,
    "Total"      numeric(10, 2) NOT NULL
);
INSERT INTO "Order Items"
SELECT i, 1 + (i * 104729) % 2000, (ARRAY['open', 'paid', 'shipped'])[1 + i % 3],
       timestamptz '2024-01-01 00:00:00+00' + i * interval '1 minute', (i % 10000) / 100.0
FROM generate_series(1::bigint, 40000) AS i;

ANALYZE items;
ANALYZE "Order Items";
