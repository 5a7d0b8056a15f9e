-- shop: an e-commerce database that is not HishamOS, for judging the advisor,
-- analyze and bench on a schema and data nobody here tuned them for.
--
-- Load with psql, choosing the size with the scale variable (1 by default:
-- 10,000 customers, 100,000 orders, about 300,000 order items; scale 10 is
-- the 3 million order items of the trial in issue 16):
--
--   psql -v scale=1 -f schema.sql
--
-- The data is deterministic (setseed) and skewed like a real shop's: a few
-- customers and products account for much of the traffic, most orders are
-- delivered and few are pending, most payments are captured and few fail.
-- Only the indexes PostgreSQL makes for keys exist: primary keys and the
-- two UNIQUE constraints. Foreign keys have no index, as PostgreSQL leaves
-- them.

\set ON_ERROR_STOP on
\if :{?scale}
\else
  \set scale 1
\endif

SET client_min_messages = warning;
DROP TABLE IF EXISTS reviews, payments, order_items, orders, products, categories, customers CASCADE;

CREATE TABLE customers (
    id          bigint PRIMARY KEY,
    email       text NOT NULL UNIQUE,
    name        text NOT NULL,
    country     char(2) NOT NULL,
    tier        text NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE TABLE categories (
    id          int PRIMARY KEY,
    name        text NOT NULL,
    parent_id   int REFERENCES categories (id)
);

CREATE TABLE products (
    id          bigint PRIMARY KEY,
    sku         text NOT NULL UNIQUE,
    name        text NOT NULL,
    category_id int NOT NULL REFERENCES categories (id),
    price       numeric(10, 2) NOT NULL,
    status      text NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE TABLE orders (
    id               bigint PRIMARY KEY,
    customer_id      bigint NOT NULL REFERENCES customers (id),
    status           text NOT NULL,
    shipping_country char(2) NOT NULL,
    total            numeric(12, 2) NOT NULL,
    created_at       timestamptz NOT NULL,
    note             text
);

CREATE TABLE order_items (
    id          bigint PRIMARY KEY,
    order_id    bigint NOT NULL REFERENCES orders (id),
    product_id  bigint NOT NULL REFERENCES products (id),
    quantity    int NOT NULL,
    unit_price  numeric(10, 2) NOT NULL
);

CREATE TABLE payments (
    id          bigint PRIMARY KEY,
    order_id    bigint NOT NULL REFERENCES orders (id),
    method      text NOT NULL,
    status      text NOT NULL,
    amount      numeric(12, 2) NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE TABLE reviews (
    id          bigint PRIMARY KEY,
    product_id  bigint NOT NULL REFERENCES products (id),
    customer_id bigint NOT NULL REFERENCES customers (id),
    rating      smallint NOT NULL,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL
);

SELECT setseed(0.4242) AS seeded \gset

-- Sizes: customers, products, orders, reviews grow with the scale.
\set customers (10000 * :scale)
\set products (5000 * :scale)
\set orders (100000 * :scale)
\set reviews (20000 * :scale)

INSERT INTO categories (id, name, parent_id)
SELECT g, 'category ' || g, CASE WHEN g > 10 THEN 1 + (g % 10) END
FROM generate_series(1, 100) g;

-- Emails mix upper and lower case, as people type them: a login must
-- compare lower(email).
INSERT INTO customers (id, email, name, country, tier, created_at)
SELECT g,
       (CASE WHEN g % 3 = 0 THEN 'User' ELSE 'user' END) || g || '@' ||
           (ARRAY['Example.com', 'mail.example.org', 'Shop.test', 'example.net'])[1 + g % 4],
       'Customer ' || g,
       (ARRAY['DE','DE','DE','FR','FR','GB','GB','US','US','US','US','NL','IT','ES','SE','PL','AT','CH','BE','DK'])[1 + floor(random() * 20)::int],
       (ARRAY['basic','basic','basic','basic','silver','silver','gold'])[1 + floor(random() * 7)::int],
       timestamptz '2024-12-01' + random() * interval '730 days'
FROM generate_series(1, :customers) g;

-- 90% active, 5% draft, 5% discontinued; categories skewed to the low ids.
INSERT INTO products (id, sku, name, category_id, price, status, created_at)
SELECT g, 'SKU-' || lpad(g::text, 8, '0'), 'Product ' || g,
       1 + floor(100 * power(random(), 2))::int,
       round((1 + random() * 300)::numeric, 2),
       CASE WHEN r < 0.90 THEN 'active' WHEN r < 0.95 THEN 'draft' ELSE 'discontinued' END,
       timestamptz '2024-12-01' + random() * interval '730 days'
FROM (SELECT g, random() AS r FROM generate_series(1, :products) g) s;

-- Orders over two years up to 2026-12-01. Statuses: 80% delivered, 10%
-- shipped, 4% processing, 5% cancelled, 1% pending (the pending ones are
-- recent). Customers: a power law, a few order a lot.
INSERT INTO orders (id, customer_id, status, shipping_country, total, created_at, note)
SELECT g,
       1 + floor(:customers * power(random(), 3))::bigint,
       CASE WHEN r < 0.80 THEN 'delivered' WHEN r < 0.90 THEN 'shipped' WHEN r < 0.94 THEN 'processing'
            WHEN r < 0.99 THEN 'cancelled' ELSE 'pending' END,
       (ARRAY['DE','DE','DE','FR','FR','GB','GB','US','US','US','US','NL','IT','ES','SE','PL','AT','CH','BE','DK'])[1 + floor(random() * 20)::int],
       round((5 + random() * 500)::numeric, 2),
       CASE WHEN r >= 0.99 THEN timestamptz '2026-12-01' - random() * interval '10 days'
            ELSE timestamptz '2024-12-01' + (g::float8 / :orders) * interval '730 days' END,
       CASE WHEN random() < 0.1 THEN 'leave at the door' END
FROM (SELECT g, random() AS r FROM generate_series(1, :orders) g) s;

-- One to five items an order (three on average); products skewed.
INSERT INTO order_items (id, order_id, product_id, quantity, unit_price)
SELECT row_number() OVER (), o.id,
       1 + floor(:products * power(random(), 2))::bigint,
       1 + floor(random() * 3)::int,
       round((1 + random() * 300)::numeric, 2)
FROM orders o, generate_series(1, 1 + (o.id % 5)) k;

-- One payment an order: 70% card, 20% paypal, 10% bank; 97% captured, 2%
-- failed, 1% refunded.
INSERT INTO payments (id, order_id, method, status, amount, created_at)
SELECT o.id, o.id,
       CASE WHEN m < 0.7 THEN 'card' WHEN m < 0.9 THEN 'paypal' ELSE 'bank' END,
       CASE WHEN s < 0.97 THEN 'captured' WHEN s < 0.99 THEN 'failed' ELSE 'refunded' END,
       o.total, o.created_at + interval '2 minutes'
FROM (SELECT o.*, random() AS m, random() AS s FROM orders o) o;

INSERT INTO reviews (id, product_id, customer_id, rating, body, created_at)
SELECT g,
       1 + floor(:products * power(random(), 2))::bigint,
       1 + floor(:customers * random())::bigint,
       1 + floor(random() * 5)::int,
       repeat('fine product ', 1 + (g % 8)),
       timestamptz '2024-12-01' + random() * interval '730 days'
FROM generate_series(1, :reviews) g;

VACUUM ANALYZE;
