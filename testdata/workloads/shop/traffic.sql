-- The shop's traffic: the statements of workload.sql, each sent many times
-- as top-level statements with other values, in the proportions the
-- application sends them (per 1,000 requests: 250 logins, 170 order lists,
-- ..., one weekly report). Run it with psql after schema.sql:
--
--   psql -v scale=1 -v requests=1000 -f traffic.sql
--
-- requests is how many application requests to send, one statement each
-- (1,000 by default). Afterwards
-- pg_stat_statements holds the workload normalized, as users have it.
-- The values are drawn with a fixed seed; the UPDATEs change data.

\set ON_ERROR_STOP on
\if :{?scale}
\else
  \set scale 1
\endif
\if :{?requests}
\else
  \set requests 1000
\endif
\set customers (10000 * :scale)
\set products (5000 * :scale)
\set orders (100000 * :scale)

SELECT setseed(0.17) AS seeded \gset
\pset tuples_only on
\o /dev/null

-- Each block builds its statements with format() and runs each with \gexec.
SELECT format('SELECT id, name, tier FROM customers WHERE lower(email) = lower(%L)', email)
FROM customers WHERE id IN (SELECT 1 + floor(:customers * random())::bigint FROM generate_series(1, :requests * 250 / 1000)) \gexec

SELECT format('SELECT id, status, total, created_at FROM orders WHERE customer_id = %s ORDER BY created_at DESC LIMIT 20', 1 + floor(:customers * power(random(), 3))::bigint)
FROM generate_series(1, :requests * 170 / 1000) \gexec

SELECT format('SELECT oi.product_id, p.name, oi.quantity, oi.unit_price FROM order_items oi JOIN products p ON p.id = oi.product_id WHERE oi.order_id = %s', 1 + floor(:orders * random())::bigint)
FROM generate_series(1, :requests * 170 / 1000) \gexec

SELECT format('SELECT id, customer_id, status, total, created_at FROM orders WHERE id = %s', 1 + floor(:orders * random())::bigint)
FROM generate_series(1, :requests * 120 / 1000) \gexec

SELECT format('SELECT id, name, price FROM products WHERE category_id = %s AND status = ''active'' ORDER BY price LIMIT 24', 1 + floor(100 * power(random(), 2))::int)
FROM generate_series(1, :requests * 120 / 1000) \gexec

SELECT format('SELECT avg(rating)::numeric(3, 2) AS rating, count(*) AS reviews FROM reviews WHERE product_id = %s', 1 + floor(:products * power(random(), 2))::bigint)
FROM generate_series(1, :requests * 80 / 1000) \gexec

SELECT 'SELECT id, name, parent_id FROM categories ORDER BY name'
FROM generate_series(1, :requests * 40 / 1000) \gexec

SELECT format('SELECT product_id, rating, created_at FROM reviews WHERE product_id IN (%s) ORDER BY created_at DESC LIMIT 50',
              (SELECT string_agg((1 + floor(:products * power(random(), 2))::bigint)::text, ', ') FROM generate_series(1, 5 + g % 3)))
FROM generate_series(1, :requests * 25 / 1000) g \gexec

SELECT format('UPDATE orders SET status = ''shipped'' WHERE id = %s AND status = ''processing''', 1 + floor(:orders * random())::bigint)
FROM generate_series(1, :requests * 20 / 1000) \gexec

SELECT format('SELECT id, customer_id, total, created_at FROM orders WHERE status = ''pending'' ORDER BY created_at LIMIT %s', 50)
FROM generate_series(1, :requests * 8 / 1000) \gexec

SELECT format('UPDATE payments SET status = ''refunded'' WHERE order_id = %s AND status = ''captured''', 1 + floor(:orders * random())::bigint)
FROM generate_series(1, :requests * 20 / 1000) \gexec

SELECT format('SELECT id, total, created_at FROM orders WHERE shipping_country = %L AND status = ''shipped'' AND created_at >= timestamptz %L ORDER BY created_at DESC LIMIT 100',
              (ARRAY['DE','FR','GB','US','NL','IT'])[1 + floor(random() * 6)::int], (date '2026-11-01' + floor(random() * 20)::int)::text)
FROM generate_series(1, :requests * 40 / 1000) \gexec

SELECT format('SELECT id, order_id, amount, created_at FROM payments WHERE status = ''failed'' AND created_at >= date %L ORDER BY created_at DESC',
              (date '2026-11-20' + floor(random() * 10)::int)::text)
FROM generate_series(1, :requests * 10 / 1000) \gexec

SELECT format('SELECT p.category_id, sum(oi.quantity * oi.unit_price) AS revenue FROM orders o JOIN order_items oi ON oi.order_id = o.id JOIN products p ON p.id = oi.product_id WHERE o.created_at >= timestamptz %L AND o.created_at < timestamptz %L GROUP BY p.category_id ORDER BY revenue DESC',
              d::text, (d + 7)::text)
FROM (SELECT date '2026-01-05' + 7 * floor(random() * 40)::int AS d FROM generate_series(1, :requests * 10 / 1000)) w \gexec

\o
