-- Single-table statements: equality, range and ORDER BY ... LIMIT, with $n
-- parameters (planned with values drawn from pg_stats) and literals.

-- 1. A page of an organisation's orders with one status, newest first.
SELECT id, amount, created_at FROM orders
WHERE org_id = $1 AND status = $2
ORDER BY created_at DESC LIMIT 50;

-- 2. A customer's recent orders.
SELECT id, amount FROM orders WHERE customer_id = $1 AND created_at >= $2;

-- 3. The largest pending orders.
SELECT id, org_id, amount FROM orders WHERE status = 'pending' ORDER BY amount DESC LIMIT 10;

-- 4. How many orders an organisation had in a period.
SELECT count(*) FROM orders WHERE org_id = $1 AND created_at BETWEEN $2 AND $3;

-- 5. An account's latest events of one kind.
SELECT id, ts, severity FROM events
WHERE account_id = $1 AND kind = $2
ORDER BY ts DESC LIMIT 20;

-- 6. The latest serious errors.
SELECT id, payload FROM events WHERE kind = 'error' AND severity >= 4 ORDER BY ts DESC LIMIT 100;

-- 7. One account's events in one week.
SELECT id FROM events WHERE account_id = 42 AND ts >= '2024-01-20' AND ts < '2024-01-27';
