package indexes_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/indexes"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// newDB creates a database with HypoPG, runs the SQL files in it and
// returns a connection to it.
func newDB(t testing.TB, files ...string) (*pgx.Conn, string) {
	t.Helper()
	dsn := testdb.NewDatabase(t)
	conn := testdb.Conn(t, dsn)
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(context.Background(), string(b)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	return conn, dsn
}

// readWorkload parses a workload file from testdata.
func readWorkload(t testing.TB, file string) *indexes.Workload {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	w, err := indexes.ParseSQL(file, string(b))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// defaultOptions are the command's defaults, with real indexes built in a
// rolled-back transaction where the server has no HypoPG (the npm builds
// of 14, 16, 17 and 18), as the sandbox does.
func defaultOptions() indexes.Options {
	return indexes.Options{MinImprovement: indexes.DefaultMinImprovement, Seed: 1, AllowBuild: !testdb.Available("hypopg")}
}
