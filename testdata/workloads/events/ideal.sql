-- The hand-written ideal index set for the events workload (workload.sql in
-- the proportions of traffic.sql). Each is an index on the partitioned
-- parent, which PostgreSQL builds on every partition. README.md says why.
CREATE INDEX ON events (tenant_id, created_at);
CREATE INDEX ON events (account_id, created_at);
CREATE INDEX ON events (created_at) WHERE status = 'failed';
CREATE INDEX ON accounts (email);
