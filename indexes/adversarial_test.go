package indexes_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hishamos/hishamos-perf/indexes"
	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// ordersByCustomer is a workload whose one proposal is an index on orders
// led by customer_id.
const ordersByCustomer = `SELECT id, total FROM orders WHERE customer_id = 42 ORDER BY created_at DESC LIMIT 20;`

// TestAdversarialProposalNameTaken: a proposal never takes the name of a
// relation that exists in its schema (an index with another definition, a
// sequence: indexes share the namespace with them), which the plan's
// CREATE INDEX IF NOT EXISTS would skip silently; the name gets the first
// free numbered suffix, the same on every run.
func TestAdversarialProposalNameTaken(t *testing.T) {
	ctx := context.Background()
	conn, _ := shopDB(t)
	w := mustParse(t, ordersByCustomer)
	first, err := indexes.Propose(ctx, conn, w, defaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Proposals) != 1 {
		t.Fatalf("%d proposals, want 1:%s", len(first.Proposals), describe(first))
	}
	name := first.Proposals[0].Name
	// The name taken twice over: by an index of another definition on
	// another table of the schema, and by a sequence for its _2.
	if _, err := conn.Exec(ctx, `CREATE INDEX `+indexdef.QuoteIdent(name)+` ON products (category_id);
CREATE SEQUENCE `+indexdef.QuoteIdent(name+"_2")); err != nil {
		t.Fatal(err)
	}
	for run := 0; run < 2; run++ {
		res, err := indexes.Propose(ctx, conn, w, defaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Proposals) != 1 {
			t.Fatalf("run %d: %d proposals, want 1:%s", run, len(res.Proposals), describe(res))
		}
		p := res.Proposals[0]
		if want := name + "_3"; p.Name != want || p.Index.Name != want {
			t.Errorf("run %d: proposal named %q (index %q), want %q: %s and %s_2 exist", run, p.Name, p.Index.Name, want, name, name)
		}
		if !strings.Contains(p.Definition, indexdef.QuoteIdent(name+"_3")) {
			t.Errorf("run %d: definition %q does not use the proposal's name", run, p.Definition)
		}
	}
}

// TestAdversarialProposalNameLong: a name that must take a suffix at the
// length PostgreSQL keeps stays within it and still differs.
func TestAdversarialProposalNameLong(t *testing.T) {
	ctx := context.Background()
	conn, _ := shopDB(t)
	long := strings.Repeat("t", 55)
	if _, err := conn.Exec(ctx, `CREATE TABLE `+long+` (customer_reference bigint, created_moment timestamptz, total numeric);
INSERT INTO `+long+` SELECT i % 5000, timestamptz '2025-01-01' + i * interval '1 minute', i FROM generate_series(1, 100000) i;
ANALYZE `+long); err != nil {
		t.Fatal(err)
	}
	w := mustParse(t, `SELECT total FROM `+long+` WHERE customer_reference = 42 ORDER BY created_moment DESC LIMIT 20;`)
	first, err := indexes.Propose(ctx, conn, w, defaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Proposals) != 1 {
		t.Fatalf("%d proposals, want 1:%s", len(first.Proposals), describe(first))
	}
	name := first.Proposals[0].Name
	if _, err := conn.Exec(ctx, `CREATE SEQUENCE `+indexdef.QuoteIdent(name)); err != nil {
		t.Fatal(err)
	}
	res, err := indexes.Propose(ctx, conn, w, defaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	got := res.Proposals[0].Name
	if got == name || len(got) > indexdef.MaxIdentifierLength {
		t.Errorf("proposal named %q (%d bytes) beside the sequence %q: want another name of at most %d bytes", got, len(got), name, indexdef.MaxIdentifierLength)
	}
}

// TestAdversarialUnusedDropNeedsOldStatistics: an index with no scans is
// not listed as an unused drop while the statistics are younger than
// MinStatsAge (analyze's week by default); one note says how old they are
// and when the check means something. A duplicate, which rests on no
// scan, is listed at any age. With MinStatsAge judged at any age
// (negative: the command's --min-stats-age 0s) the unused drop appears.
func TestAdversarialUnusedDropNeedsOldStatistics(t *testing.T) {
	ctx := context.Background()
	conn, _ := shopDB(t)
	if _, err := conn.Exec(ctx, `CREATE INDEX orders_total_idx ON orders (total);
CREATE INDEX orders_status_idx ON orders (status);
CREATE INDEX orders_status_again ON orders (status);
SELECT pg_stat_reset();`); err != nil {
		t.Fatal(err)
	}
	w := mustParse(t, ordersByCustomer)
	kinds := func(res *indexes.Result) map[string]string {
		out := map[string]string{}
		for _, d := range res.Drops {
			out[d.Index] = d.Kind
		}
		return out
	}

	fresh, err := indexes.Propose(ctx, conn, w, defaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	got := kinds(fresh)
	for name, kind := range got {
		if kind == "unused" {
			t.Errorf("%s listed as unused on statistics %.0f s old", name, fresh.Statistics.AgeSeconds)
		}
	}
	if got["orders_status_again"] != "duplicate" && got["orders_status_idx"] != "duplicate" {
		t.Errorf("the duplicate is not listed on fresh statistics: %v", got)
	}
	if fresh.Statistics == nil || fresh.Statistics.IndexUsageJudged {
		t.Errorf("statistics %+v, want not judged", fresh.Statistics)
	}
	var notes []string
	for _, n := range fresh.Notes {
		if strings.HasPrefix(n, "unused indexes not listed as drops: the statistics are ") {
			notes = append(notes, n)
		}
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "needs 7 days of them; propose again after ") || !strings.HasSuffix(notes[0], "or lower MinStatsAge") {
		t.Errorf("want one note saying how old the statistics are and when the check means something, got %q", fresh.Notes)
	}

	opts := defaultOptions()
	opts.MinStatsAge = -1
	anyAge, err := indexes.Propose(ctx, conn, w, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := kinds(anyAge); got["orders_total_idx"] != "unused" {
		t.Errorf("orders_total_idx: %q, want unused with statistics judged at any age (%v)", got["products_price_idx"], got)
	}
	for _, n := range anyAge.Notes {
		if strings.HasPrefix(n, "unused indexes not listed") {
			t.Errorf("note %q with statistics judged at any age", n)
		}
	}
}

// TestAdversarialIncludeBesideSameKeysPartitioned is the trial's case on a
// table partitioned by month: round one's (customer_id, paid_at DESC)
// applied under its stable name, round two proposes the same keys with
// INCLUDE, which IndexName names alike: it must be named apart.
func TestAdversarialIncludeBesideSameKeysPartitioned(t *testing.T) {
	ctx := context.Background()
	conn, _ := newDB(t)
	if _, err := conn.Exec(ctx, `
CREATE TABLE payment (payment_id bigint NOT NULL, customer_id int NOT NULL, rental_id int NOT NULL, amount numeric(5,2) NOT NULL,
	paid_at timestamptz NOT NULL, note text NOT NULL) PARTITION BY RANGE (paid_at);
CREATE TABLE payment_p2022_01 PARTITION OF payment FOR VALUES FROM ('2022-01-01') TO ('2022-02-01');
CREATE TABLE payment_p2022_02 PARTITION OF payment FOR VALUES FROM ('2022-02-01') TO ('2022-03-01');
CREATE TABLE payment_p2022_03 PARTITION OF payment FOR VALUES FROM ('2022-03-01') TO ('2022-04-01');
INSERT INTO payment SELECT i, 1 + i % 600, i, (i % 1000) / 100.0, timestamptz '2022-01-01' + (i % 7776) * interval '15 minutes',
	repeat(md5(i::text), 8) FROM generate_series(1, 200000) i;
CREATE INDEX payment_customer_id_paid_at_idx ON payment (customer_id, paid_at DESC);
SET default_statistics_target = 10000;`); err != nil {
		t.Fatal(err)
	}
	// All-visible pages, as a table at rest has: an index-only scan pays.
	testdb.VacuumAllVisible(t, conn, "payment", "payment_p2022_%")
	w := mustParse(t, `SELECT payment_id, rental_id, amount FROM payment WHERE customer_id = $1 ORDER BY paid_at DESC;`)
	res, err := indexes.Propose(ctx, conn, w, defaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	p := proposalOn(res, "payment", "customer_id", "paid_at DESC")
	if p == nil || len(p.Include) == 0 {
		t.Fatalf("no proposal of the same keys with INCLUDE:%s", describe(res))
	}
	if want := "payment_customer_id_paid_at_idx_2"; p.Name != want || p.Index.Name != want {
		t.Errorf("proposal %s named %q, want %q: the existing index of another definition holds the stable name", p.Definition, p.Name, want)
	}
}
