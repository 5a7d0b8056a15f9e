package analyze

import (
	"context"
	"flag"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// update rewrites the golden files under testdata/ from a real server.
var update = flag.Bool("update", false, "capture golden plans and findings from the test server")

func TestMain(m *testing.M) { testdb.Main(m) }

// safeConn opens a connection the way the commands do: read-only, with
// statement and lock timeouts.
func safeConn(t testing.TB, dsn string, timeout time.Duration) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pg.Connect(ctx, pg.Target{DSN: dsn, Source: pg.SourceFlag},
		pg.Session{StatementTimeout: timeout, LockTimeout: 5 * time.Second, ReadOnly: true})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// mustExec runs statements on an admin connection, failing the test on the
// first error.
func mustExec(t testing.TB, conn *pgx.Conn, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := conn.Exec(context.Background(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}
