-- The events application's statements over partitioned tables, one example
-- of each, with its weight (times per 1,000 requests); traffic.sql sends
-- them in those proportions with other values.

-- name: tenant_recent
-- weight: 300
-- a tenant's latest events: pruned to the November partitions
SELECT id, kind, status, created_at FROM events
WHERE tenant_id = 7 AND created_at >= timestamptz '2026-11-01' ORDER BY created_at DESC LIMIT 20;

-- name: account_history
-- weight: 100
-- no partition key: every partition is read
SELECT id, kind, created_at FROM events WHERE account_id = 4242 ORDER BY created_at DESC LIMIT 50;

-- name: failed_recent
-- weight: 20
SELECT id, tenant_id, payload FROM events
WHERE status = 'failed' AND created_at >= timestamptz '2026-11-25' ORDER BY created_at DESC;

-- name: account_by_email
-- weight: 200
SELECT id, region, plan FROM accounts WHERE email = 'acct4242@example.com';

-- name: accounts_of_tenant_in_region
-- weight: 50
SELECT id, email, plan FROM accounts WHERE region = 'eu' AND tenant_id = 12;

-- name: events_of_day
-- weight: 5
-- a cast on the partition key: no partition can be pruned
SELECT count(*) FROM events WHERE created_at::date = date '2026-11-15';

-- name: daily_counts
-- weight: 5
SELECT date_trunc('day', created_at) AS day, count(*) FROM events
WHERE created_at >= timestamptz '2026-11-01' AND created_at < timestamptz '2026-12-01'
GROUP BY 1 ORDER BY 1;

-- name: event_by_id
-- weight: 300
SELECT id, tenant_id, kind, payload FROM events WHERE id = 424242 AND created_at = timestamptz '2026-09-12 10:00:00+00';
