package bench_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/bench"
	"github.com/hishamos/hishamos-perf/internal/dataset"
	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/testdb"
	"github.com/hishamos/hishamos-perf/profiles"
)

func TestMain(m *testing.M) { testdb.Main(m) }

var (
	sharedOnce sync.Once
	sharedDSN  string
	sharedErr  error
)

// sharedDB is one database with the HishamOS data at scale small, loaded
// once for the tests that only read it.
func sharedDB(t *testing.T) string {
	t.Helper()
	sharedOnce.Do(func() {
		sharedDSN = testdb.DSN()
		sharedErr = loadData(sharedDSN)
	})
	if sharedErr != nil {
		t.Fatalf("load the HishamOS data: %v", sharedErr)
	}
	return sharedDSN
}

// ownDB is a database of the test's own with the HishamOS data, for tests
// that change its indexes.
func ownDB(t *testing.T) string {
	t.Helper()
	dsn := testdb.NewDatabase(t)
	if err := loadData(dsn); err != nil {
		t.Fatalf("load the HishamOS data: %v", err)
	}
	return dsn
}

func loadData(dsn string) error {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	scale, err := dataset.ParseScale("small")
	if err != nil {
		return err
	}
	_, err = dataset.Load(ctx, conn, dataset.Options{Scale: scale, Seed: 1, Replace: true})
	return err
}

// connector opens sessions as the CLI does: pg.DefaultSession.
func connector(dsn string) bench.Connector {
	return func(ctx context.Context) (bench.Conn, error) {
		conn, err := pg.Connect(ctx, pg.Target{DSN: dsn, Source: pg.SourceFlag}, pg.DefaultSession)
		if err != nil {
			return nil, err
		}
		return conn, nil
	}
}

// quick are options for a short run: a test asserts what was measured,
// never how fast.
func quick() bench.Options {
	return bench.Options{Clients: 1, Warmup: 1, Iterations: 8, Seed: 1}
}

func hishamos(t *testing.T) *bench.Workload {
	t.Helper()
	p, err := profiles.Load("hishamos")
	if err != nil {
		t.Fatal(err)
	}
	w, err := bench.FromProfile(p, profiles.After)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// profileWorkload parses a profile given as YAML text.
func profileWorkload(t *testing.T, yaml string) *bench.Workload {
	t.Helper()
	path := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := profiles.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := bench.FromProfile(p, profiles.After)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func sqlWorkload(t *testing.T, text string) *bench.Workload {
	t.Helper()
	w, err := bench.FromSQL("test.sql", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func exec(t *testing.T, dsn string, sql string) {
	t.Helper()
	conn := testdb.Conn(t, dsn)
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
