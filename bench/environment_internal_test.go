package bench

import (
	"testing"
	"time"

	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// TestEnvironmentRowsAfterStatsReset: after pg_stat_reset() a table's
// n_live_tup counts only the rows written since (here 300 of 20,300), so
// the environment takes the last ANALYZE's count while the table has not
// been analyzed or vacuumed since: otherwise the run before an apply saw
// a table of 300 rows, the run after (bench's own ANALYZE) one of 20,300,
// and every statement on it came out inconclusive.
func TestEnvironmentRowsAfterStatsReset(t *testing.T) {
	ctx := t.Context()
	dsn := testdb.NewDatabase(t)
	conn := testdb.Conn(t, dsn)
	// exec runs on a session of its own, closed after: a backend hands
	// its table counts to the statistics when it ends at the latest.
	exec := func(sqls ...string) {
		c := testdb.Conn(t, dsn)
		defer c.Close(ctx)
		for _, sql := range sqls {
			if _, err := c.Exec(ctx, sql); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The counts reach the statistics a moment after each statement
	// (before 15, through the collector): wait until they show want.
	waitFor := func(want int64, analyzed bool) {
		deadline := time.Now().Add(15 * time.Second)
		for {
			var live int64
			var was bool
			if err := conn.QueryRow(ctx, `SELECT n_live_tup, last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'rentals'`).Scan(&live, &was); err != nil {
				t.Fatal(err)
			}
			if live == want && was == analyzed {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the statistics did not show %d rows (analyzed %v) within 15s: n_live_tup %d, analyzed %v", want, analyzed, live, was)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	exec(`CREATE TABLE rentals (id int PRIMARY KEY, customer int)`,
		`INSERT INTO rentals SELECT i, i % 700 FROM generate_series(1, 20000) i`)
	waitFor(20000, false)
	exec(`ANALYZE rentals`)
	waitFor(20000, true)
	exec(`SELECT pg_stat_reset()`)
	waitFor(0, false)
	exec(`INSERT INTO rentals SELECT i, i % 700 FROM generate_series(20001, 20300) i`)
	waitFor(300, false)
	env, _, err := readEnvironment(ctx, conn, []string{"rentals"})
	if err != nil {
		t.Fatal(err)
	}
	tbl := env.Table("rentals")
	if tbl == nil {
		t.Fatalf("no rentals in %+v", env.Tables)
	}
	if tbl.Rows < 20000 {
		t.Errorf("rentals has %d rows after the reset, want the 20,000 the last ANALYZE counted at least", tbl.Rows)
	}
}

// TestFoldPartitions: an index built on a partitioned table is one
// difference that counts its partitions' indexes (two levels here), not
// one difference per partition; a partition's index whose parent did not
// change the same way stays on its own.
func TestFoldPartitions(t *testing.T) {
	made := func(name string) Difference {
		return Difference{Kind: "index", Name: name, Before: "missing", After: "CREATE INDEX " + name}
	}
	ds := []Difference{made("ev_idx"), made("ev_2026_idx"), made("ev_2026_a_idx"), made("ev_2027_idx"), made("other_idx"),
		{Kind: "index", Name: "old_2025_idx", Before: "CREATE INDEX old_2025_idx", After: "dropped"}}
	parent := map[string]string{"ev_2026_idx": "ev_idx", "ev_2026_a_idx": "ev_2026_idx", "ev_2027_idx": "ev_idx", "old_2025_idx": "ev_idx"}
	got := foldPartitions(ds, parent)
	var names []string
	for _, d := range got {
		names = append(names, d.Name)
	}
	if len(got) != 3 || got[0].Name != "ev_idx" || got[0].Partitions != 3 || got[1].Name != "other_idx" || got[2].Name != "old_2025_idx" {
		t.Errorf("folded to %v (ev_idx counts %d); want ev_idx with its 3 partitions' indexes, other_idx, old_2025_idx", names, got[0].Partitions)
	}
}

// TestFoldIndexes: the indexes an apply built are named once per
// partitioned index, its partitions' (two levels) counted on it; an index
// whose partitioned index was not built by the apply keeps its name.
func TestFoldIndexes(t *testing.T) {
	env := &Environment{Indexes: []IndexInfo{
		{Name: "ev_idx"}, {Name: "ev_2026_idx", Parent: "ev_idx"}, {Name: "ev_2026_a_idx", Parent: "ev_2026_idx"},
		{Name: "ev_2027_idx", Parent: "ev_idx"}, {Name: "old_2025_idx", Parent: "old_idx"}, {Name: "plain_idx"}}}
	names, parts := env.FoldIndexes([]string{"ev_idx", "ev_2026_idx", "ev_2026_a_idx", "ev_2027_idx", "old_2025_idx", "plain_idx"})
	if len(names) != 3 || names[0] != "ev_idx" || names[1] != "old_2025_idx" || names[2] != "plain_idx" || parts["ev_idx"] != 3 || len(parts) != 1 {
		t.Errorf("folded to %v, %v; want ev_idx counting 3 partitions' indexes, old_2025_idx and plain_idx", names, parts)
	}
}
