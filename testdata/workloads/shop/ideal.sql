-- The hand-written ideal index set for the shop's workload (workload.sql in
-- the proportions of traffic.sql). README.md says why each is here and why
-- nothing else is.
CREATE INDEX ON orders (customer_id, created_at);
CREATE INDEX ON order_items (order_id);
CREATE INDEX ON orders (created_at) WHERE status = 'pending';
CREATE INDEX ON customers (lower(email));
CREATE INDEX ON reviews (product_id) INCLUDE (rating);
CREATE INDEX ON orders (created_at);
CREATE INDEX ON orders (shipping_country, status, created_at);
CREATE INDEX ON payments (created_at) WHERE status = 'failed';
CREATE INDEX ON payments (order_id);
CREATE INDEX ON products (category_id, price);
