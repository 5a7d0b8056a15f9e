-- The shop application's statements, one example of each with the values
-- an ordinary request would send, and its weight: how many times in 1,000
-- requests the application sends it. traffic.sql runs the same statements
-- in those proportions with other values, so that pg_stat_statements holds
-- what a real database would hold.

-- name: recent_orders_of_customer
-- weight: 170
SELECT id, status, total, created_at FROM orders
WHERE customer_id = 4242 ORDER BY created_at DESC LIMIT 20;

-- name: items_of_order
-- weight: 170
SELECT oi.product_id, p.name, oi.quantity, oi.unit_price
FROM order_items oi JOIN products p ON p.id = oi.product_id
WHERE oi.order_id = 73311;

-- name: pending_orders
-- weight: 8
SELECT id, customer_id, total, created_at FROM orders
WHERE status = 'pending' ORDER BY created_at LIMIT 50;

-- name: login
-- weight: 250
SELECT id, name, tier FROM customers WHERE lower(email) = lower('User1236@Shop.test');

-- name: reviews_of_products
-- weight: 25
SELECT product_id, rating, created_at FROM reviews
WHERE product_id IN (12, 345, 678, 901, 1234) ORDER BY created_at DESC LIMIT 50;

-- name: product_rating
-- weight: 80
SELECT avg(rating)::numeric(3, 2) AS rating, count(*) AS reviews FROM reviews WHERE product_id = 345;

-- name: category_sales_of_week
-- weight: 10
SELECT p.category_id, sum(oi.quantity * oi.unit_price) AS revenue
FROM orders o
JOIN order_items oi ON oi.order_id = o.id
JOIN products p ON p.id = oi.product_id
WHERE o.created_at >= timestamptz '2026-06-01' AND o.created_at < timestamptz '2026-06-08'
GROUP BY p.category_id ORDER BY revenue DESC;

-- name: shipped_to_country
-- weight: 40
SELECT id, total, created_at FROM orders
WHERE shipping_country = 'NL' AND status = 'shipped' AND created_at >= timestamptz '2026-11-01'
ORDER BY created_at DESC LIMIT 100;

-- name: failed_payments
-- weight: 10
SELECT id, order_id, amount, created_at FROM payments
WHERE status = 'failed' AND created_at >= date '2026-11-24' ORDER BY created_at DESC;

-- name: refund_payment
-- weight: 20
UPDATE payments SET status = 'refunded' WHERE order_id = 81234 AND status = 'captured';

-- name: ship_order
-- weight: 20
UPDATE orders SET status = 'shipped' WHERE id = 99017 AND status = 'processing';

-- name: category_page
-- weight: 120
SELECT id, name, price FROM products
WHERE category_id = 17 AND status = 'active' ORDER BY price LIMIT 24;

-- name: order_by_id
-- weight: 120
SELECT id, customer_id, status, total, created_at FROM orders WHERE id = 42424;

-- name: category_tree
-- weight: 40
SELECT id, name, parent_id FROM categories ORDER BY name;
