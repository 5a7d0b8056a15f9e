package analyze

import (
	"context"
	"strings"
	"testing"

	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// TestExplainWithQualStatsSampled: a generic plan of a statement whose
// parameter selects partitions shows every partition the parameter could
// select, as EXPLAIN (GENERIC_PLAN) does, on the prepared path of 15 and
// before too (it executed the plan with NULLs, which pruned every
// partition: an Append of nothing to judge). And with pg_qualstats
// sampling every statement, the tool's EXPLAINs leave the server up:
// pg_qualstats 2.0.4 crashed the backend, and every session with it, when
// it sampled that EXPLAIN EXECUTE.
func TestExplainWithQualStatsSampled(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	conn := testdb.Conn(t, dsn)
	if _, err := conn.Exec(ctx, `
CREATE TABLE pay (id bigint, staff int, at timestamptz, amount numeric) PARTITION BY RANGE (at);
CREATE TABLE pay_1 PARTITION OF pay FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
CREATE TABLE pay_2 PARTITION OF pay FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
CREATE TABLE pay_3 PARTITION OF pay FOR VALUES FROM ('2026-03-01') TO ('2026-04-01');
CREATE TABLE staff (id int PRIMARY KEY);
INSERT INTO staff VALUES (1), (2);
INSERT INTO pay SELECT i, 1 + i % 2, timestamptz '2026-01-01' + (i % 89) * interval '1 day', i % 50 FROM generate_series(1, 3000) i;
ANALYZE pay, staff;`); err != nil {
		t.Fatal(err)
	}
	if testdb.Available("pg_qualstats") {
		// Every statement sampled (the default samples one in
		// max_connections): a placeholder where the library is not loaded.
		if _, err := conn.Exec(ctx, `SET pg_qualstats.sample_rate = 1`); err != nil {
			t.Fatal(err)
		}
	}
	var version int
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		t.Fatal(err)
	}
	sql := `SELECT p.amount FROM pay p JOIN staff s ON s.id = p.staff WHERE p.at >= $1::timestamptz`
	for _, v := range []int{150000, version} {
		ex := &Explainer{Q: conn, VersionNum: v}
		x, err := ex.Explain(ctx, Source{SQL: sql}, false)
		if err != nil {
			t.Fatalf("version path %d: %v", v, err)
		}
		var scanned []string
		x.Plan.Walk(func(n *Node) bool {
			if strings.HasPrefix(n.RelationName, "pay_") {
				scanned = append(scanned, n.RelationName)
			}
			return true
		})
		if len(scanned) != 3 {
			t.Errorf("version path %d: generic plan reads partitions %v, want all 3", v, scanned)
		}
	}
	var alive int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&alive); err != nil {
		t.Fatalf("the session did not survive: %v", err)
	}
}
