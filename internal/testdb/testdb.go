// Package testdb gives every test package a real PostgreSQL: one sandbox
// started in TestMain, or the server named by HISHAMOS_PERF_TEST_DSN.
package testdb

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/internal/sandbox"
)

// EnvDSN names a server to test against instead of a sandbox. Its role needs
// CREATEDB: every test database is created and dropped on it.
const EnvDSN = "HISHAMOS_PERF_TEST_DSN"

var (
	adminDSN string
	counter  atomic.Int64
	// Box is the package's sandbox, nil when EnvDSN is used.
	Box *sandbox.Sandbox
)

// Main starts the package's server, runs its tests and stops the server.
// Call it from TestMain: `func TestMain(m *testing.M) { testdb.Main(m) }`.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if fuzzOnly() {
		// A fuzz run's targets are pure parsers; starting a server in the
		// coordinator and again in every worker process would only burn
		// CPU. DSN panics if a test asks for one anyway.
		return m.Run()
	}
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		adminDSN = dsn
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "hishamos-perf-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "testdb:", err)
		return 3
	}
	Box = &sandbox.Sandbox{Dir: dir}
	defer func() {
		if err := Box.Destroy(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "testdb: destroy sandbox:", err)
		}
	}()
	if _, err := Box.Up(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "testdb: start sandbox:", err)
		return 3
	}
	st, err := Box.LoadState()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testdb:", err)
		return 3
	}
	adminDSN = Box.DSN(st, sandbox.Database)
	return m.Run()
}

// fuzzOnly reports whether this process runs fuzz targets and no tests:
// a fuzz worker, or `go test -run '^$' -fuzz X`.
func fuzzOnly() bool {
	if !flag.Parsed() {
		flag.Parse()
	}
	value := func(name string) string {
		if f := flag.Lookup(name); f != nil {
			return f.Value.String()
		}
		return ""
	}
	if value("test.fuzzworker") == "true" {
		return true
	}
	return value("test.fuzz") != "" && value("test.run") == "^$"
}

// DSN is the connection string of the package's server (its hishamos
// database on a sandbox).
func DSN() string {
	if adminDSN == "" {
		panic("testdb: call testdb.Main from TestMain first")
	}
	return adminDSN
}

// Conn opens a connection to dsn, closed when the test ends.
func Conn(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatalf("testdb: connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// NewDatabase creates an empty database with the sandbox's extensions and
// returns its DSN; the database is dropped when the test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("test_%d_%d", os.Getpid(), counter.Add(1))
	admin := Conn(t, DSN())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("testdb: create database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, DSN())
		if err != nil {
			t.Errorf("testdb: drop database: %v", err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("testdb: drop database: %v", err)
		}
	})
	dsn := WithDatabase(t, DSN(), name)
	if err := sandbox.CreateExtensions(ctx, dsn); err != nil {
		t.Fatalf("testdb: %v", err)
	}
	return dsn
}

// WithDatabase returns dsn pointed at another database; in keyword form the
// last dbname wins.
func WithDatabase(t testing.TB, dsn, database string) string {
	t.Helper()
	if !strings.Contains(dsn, "://") {
		return dsn + " dbname=" + database
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("testdb: parse DSN: %v", err)
	}
	u.Path = "/" + database
	return u.String()
}
