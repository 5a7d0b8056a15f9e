package testdb

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// VacuumAllVisible runs VACUUM ANALYZE on table until every ordinary
// table whose name is LIKE like has all its pages all-visible, as a table
// at rest has them: an index-only scan, and so an INCLUDE, pays only then.
// A VACUUM that ran while another session's snapshot was open leaves
// pages unmarked, so it runs again, 50 times at most.
func VacuumAllVisible(t testing.TB, conn *pgx.Conn, table, like string) {
	t.Helper()
	ctx := context.Background()
	for i := 0; ; i++ {
		if _, err := conn.Exec(ctx, "VACUUM ANALYZE "+pgx.Identifier{table}.Sanitize()); err != nil {
			t.Fatal(err)
		}
		var visible bool
		if err := conn.QueryRow(ctx, `SELECT bool_and(relallvisible >= relpages) FROM pg_class WHERE relname LIKE $1 AND relkind = 'r'`, like).Scan(&visible); err != nil {
			t.Fatal(err)
		}
		if visible {
			return
		}
		if i == 50 {
			t.Fatalf("testdb: the pages of %s are not all-visible after 50 VACUUMs", like)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
