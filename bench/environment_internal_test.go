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
