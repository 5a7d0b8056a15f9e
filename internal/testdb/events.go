package testdb

import (
	"context"
	"fmt"
	"testing"
)

// EventsLeaves are the partitions of the events table that hold rows
// (LoadEvents): six months, November's two LIST partitions in place of
// November, and the DEFAULT partition.
var EventsLeaves = []string{"events_2026_06", "events_2026_07", "events_2026_08", "events_2026_09", "events_2026_10",
	"events_2026_11_click", "events_2026_11_other", "events_default"}

// AccountsLeaves are the partitions of the accounts table (LoadEvents):
// three regions and the DEFAULT partition.
var AccountsLeaves = []string{"accounts_apac", "accounts_eu", "accounts_other", "accounts_us"}

// eventsSchema is testdata/workloads/events/schema.sql without psql's
// variables: events RANGE-partitioned by month with November LIST-
// partitioned by kind (two levels) and a DEFAULT partition, accounts
// LIST-partitioned by region with a DEFAULT. %[1]d is the number of
// events, %[2]d of accounts.
const eventsSchema = `
SET client_min_messages = warning;
DROP TABLE IF EXISTS public.events, public.accounts CASCADE;
CREATE TABLE public.accounts (
    id         bigint NOT NULL,
    region     text NOT NULL,
    tenant_id  int NOT NULL,
    email      text NOT NULL,
    plan       text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (id, region)
) PARTITION BY LIST (region);
CREATE TABLE public.accounts_eu PARTITION OF public.accounts FOR VALUES IN ('eu');
CREATE TABLE public.accounts_us PARTITION OF public.accounts FOR VALUES IN ('us');
CREATE TABLE public.accounts_apac PARTITION OF public.accounts FOR VALUES IN ('apac');
CREATE TABLE public.accounts_other PARTITION OF public.accounts DEFAULT;
CREATE TABLE public.events (
    id          bigint NOT NULL,
    tenant_id   int NOT NULL,
    account_id  bigint NOT NULL,
    kind        text NOT NULL,
    status      text NOT NULL,
    payload     jsonb NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (id, created_at, kind)
) PARTITION BY RANGE (created_at);
CREATE TABLE public.events_2026_06 PARTITION OF public.events FOR VALUES FROM ('2026-06-01') TO ('2026-07-01');
CREATE TABLE public.events_2026_07 PARTITION OF public.events FOR VALUES FROM ('2026-07-01') TO ('2026-08-01');
CREATE TABLE public.events_2026_08 PARTITION OF public.events FOR VALUES FROM ('2026-08-01') TO ('2026-09-01');
CREATE TABLE public.events_2026_09 PARTITION OF public.events FOR VALUES FROM ('2026-09-01') TO ('2026-10-01');
CREATE TABLE public.events_2026_10 PARTITION OF public.events FOR VALUES FROM ('2026-10-01') TO ('2026-11-01');
CREATE TABLE public.events_2026_11 PARTITION OF public.events FOR VALUES FROM ('2026-11-01') TO ('2026-12-01')
    PARTITION BY LIST (kind);
CREATE TABLE public.events_2026_11_click PARTITION OF public.events_2026_11 FOR VALUES IN ('click');
CREATE TABLE public.events_2026_11_other PARTITION OF public.events_2026_11 DEFAULT;
CREATE TABLE public.events_default PARTITION OF public.events DEFAULT;
SELECT setseed(0.577);
INSERT INTO public.accounts (id, region, tenant_id, email, plan, created_at)
SELECT g, (ARRAY['eu', 'eu', 'us', 'us', 'us', 'apac', 'latam'])[1 + g %% 7],
       1 + floor(200 * power(random(), 2))::int,
       'acct' || g || '@example.com',
       (ARRAY['free', 'free', 'free', 'pro', 'enterprise'])[1 + floor(random() * 5)::int],
       timestamptz '2025-01-01' + random() * interval '500 days'
FROM generate_series(1, %[2]d) g;
INSERT INTO public.events (id, tenant_id, account_id, kind, status, payload, created_at)
SELECT g,
       1 + floor(200 * power(random(), 2))::int,
       1 + floor(%[2]d * random())::bigint,
       (ARRAY['click', 'click', 'click', 'view', 'view', 'signup', 'purchase'])[1 + floor(random() * 7)::int],
       CASE WHEN random() < 0.02 THEN 'failed' ELSE 'ok' END,
       jsonb_build_object('v', g %% 100),
       CASE WHEN g %% 1000 = 0 THEN timestamptz '2026-12-01' + random() * interval '5 days'
            ELSE timestamptz '2026-06-01' + (g::float8 / %[1]d) * interval '183 days' END
FROM generate_series(1, %[1]d) g;
ANALYZE public.events, public.accounts;
`

// LoadEvents creates the events workload's partitioned tables in the
// database dsn names (testdata/workloads/events, as its schema.sql makes
// them) with the given numbers of events and accounts (schema.sql's scale
// 1 is 600,000 and 20,000; tests take a few thousand).
func LoadEvents(t testing.TB, dsn string, events, accounts int) {
	t.Helper()
	conn := Conn(t, dsn)
	if _, err := conn.Exec(context.Background(), fmt.Sprintf(eventsSchema, events, accounts)); err != nil {
		t.Fatalf("testdb: load the events tables: %v", err)
	}
}
