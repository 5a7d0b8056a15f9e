-- The events application's traffic: workload.sql's statements sent as
-- top-level statements with other values, in the application's proportions.
--
--   psql -v scale=1 -v requests=1000 -f traffic.sql
--
-- requests is how many application requests to send (1,000 by default).

\set ON_ERROR_STOP on
\if :{?scale}
\else
  \set scale 1
\endif
\if :{?requests}
\else
  \set requests 1000
\endif
\set accounts (20000 * :scale)
\set events (600000 * :scale)

SELECT setseed(0.61) AS seeded \gset
\pset tuples_only on
\o /dev/null

SELECT format('SELECT id, kind, status, created_at FROM events WHERE tenant_id = %s AND created_at >= timestamptz %L ORDER BY created_at DESC LIMIT 20',
              1 + floor(200 * power(random(), 2))::int, (date '2026-11-01' + floor(random() * 25)::int)::text)
FROM generate_series(1, :requests * 300 / 1000) \gexec

SELECT format('SELECT id, tenant_id, kind, payload FROM events WHERE id = %s AND created_at = timestamptz %L',
              id, created_at)
FROM events WHERE id IN (SELECT 1 + floor(:events * random())::bigint FROM generate_series(1, :requests * 300 / 1000)) \gexec

SELECT format('SELECT id, region, plan FROM accounts WHERE email = %L', 'acct' || (1 + floor(:accounts * random())::int) || '@example.com')
FROM generate_series(1, :requests * 200 / 1000) \gexec

SELECT format('SELECT id, kind, created_at FROM events WHERE account_id = %s ORDER BY created_at DESC LIMIT 50', 1 + floor(:accounts * random())::bigint)
FROM generate_series(1, :requests * 100 / 1000) \gexec

SELECT format('SELECT id, email, plan FROM accounts WHERE region = %L AND tenant_id = %s',
              (ARRAY['eu', 'us', 'apac'])[1 + floor(random() * 3)::int], 1 + floor(200 * power(random(), 2))::int)
FROM generate_series(1, :requests * 50 / 1000) \gexec

SELECT format('SELECT id, tenant_id, payload FROM events WHERE status = ''failed'' AND created_at >= timestamptz %L ORDER BY created_at DESC',
              (date '2026-11-20' + floor(random() * 10)::int)::text)
FROM generate_series(1, :requests * 20 / 1000) \gexec

SELECT format('SELECT count(*) FROM events WHERE created_at::date = date %L', (date '2026-06-01' + floor(random() * 180)::int)::text)
FROM generate_series(1, :requests * 5 / 1000) \gexec

SELECT format('SELECT date_trunc(''day'', created_at) AS day, count(*) FROM events WHERE created_at >= timestamptz %L AND created_at < timestamptz %L GROUP BY 1 ORDER BY 1',
              m::text, (m + interval '1 month')::date::text)
FROM (SELECT date '2026-06-01' + (floor(random() * 6)::int * interval '1 month') AS m FROM generate_series(1, :requests * 5 / 1000)) s \gexec

\o
