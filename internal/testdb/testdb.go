// Package testdb gives every test package a real PostgreSQL: one sandbox
// started in TestMain, or the server named by HISHAMOS_PERF_TEST_DSN. With
// HISHAMOS_PERF_TEST_PG the sandbox runs that major version (make
// test-versions runs the packages on each supported one).
package testdb

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/internal/sandbox"
)

// EnvDSN names a server to test against instead of a sandbox. Its role needs
// CREATEDB: every test database is created and dropped on it.
const EnvDSN = "HISHAMOS_PERF_TEST_DSN"

// EnvPG names the PostgreSQL major version (14 to 18) of the sandboxes the
// tests make: the package's, and those the tests make through NewSandbox
// or the CLI. Unset, they run the newest installed version.
const EnvPG = "HISHAMOS_PERF_TEST_PG"

// envBinDir names server binaries for every sandbox, as for the CLI.
const envBinDir = "HISHAMOS_PERF_PG_BINDIR"

// envCLIPG is the CLI's own version variable: set to EnvPG's value, the
// sandboxes the CLI makes in a test run the same version.
const envCLIPG = "HISHAMOS_PERF_PG"

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
	if Box, err = NewSandbox(dir); err != nil {
		os.RemoveAll(dir)
		fmt.Fprintln(os.Stderr, "testdb:", err)
		return 2
	}
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
	if Box.Major != 0 {
		// make test-versions reads this line to show the version that ran.
		fmt.Fprintf(os.Stderr, "testdb: PostgreSQL %s (%s)\n", st.Binaries.Version, st.Binaries.Origin())
	}
	return m.Run()
}

// Major is the PostgreSQL major version EnvPG asks for, 0 when unset.
func Major() (int, error) {
	v := os.Getenv(EnvPG)
	if v == "" {
		return 0, nil
	}
	major, err := sandbox.ParseMajor(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", EnvPG, err)
	}
	return major, nil
}

// NewSandbox is a sandbox in dir (not created yet) of the version EnvPG
// asks for, from the binaries HISHAMOS_PERF_PG_BINDIR names if set. With
// EnvPG set it also sets the CLI's HISHAMOS_PERF_PG for the process, so the
// sandboxes the CLI makes in the tests run the same version.
func NewSandbox(dir string) (*sandbox.Sandbox, error) {
	major, err := Major()
	if err != nil {
		return nil, err
	}
	if major != 0 {
		if err := os.Setenv(envCLIPG, strconv.Itoa(major)); err != nil {
			return nil, err
		}
	}
	return &sandbox.Sandbox{Dir: dir, BinDir: os.Getenv(envBinDir), Major: major}, nil
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
	return NewDatabaseWith(t, "")
}

// NewDatabaseWith is NewDatabase with CREATE DATABASE's options as the
// test writes them: "TEMPLATE template0 LC_COLLATE 'C.UTF-8' LC_CTYPE
// 'C.UTF-8'" for a database whose collation is not C.
func NewDatabaseWith(t testing.TB, options string) string {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("test_%d_%d", os.Getpid(), counter.Add(1))
	admin := Conn(t, DSN())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" "+options); err != nil {
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

var available sync.Map // extension name -> bool

// Available reports whether the package's server can create the extension
// (HypoPG and pg_qualstats are in Debian's 15 here, not in the npm builds),
// for tests that take another path without it. Like DSN it panics when
// there is no server to ask.
func Available(extension string) bool {
	if v, ok := available.Load(extension); ok {
		return v.(bool)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, DSN())
	if err != nil {
		panic(fmt.Sprintf("testdb: look up extension %s: %v", extension, err))
	}
	defer conn.Close(ctx)
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = $1)", extension).Scan(&ok); err != nil {
		panic(fmt.Sprintf("testdb: look up extension %s: %v", extension, err))
	}
	available.Store(extension, ok)
	return ok
}

// NeedExtension skips the test, saying why, when the package's server
// cannot create the extension.
func NeedExtension(t testing.TB, extension string) {
	t.Helper()
	if !Available(extension) {
		var v string
		if err := Conn(t, DSN()).QueryRow(context.Background(), "SHOW server_version").Scan(&v); err != nil {
			t.Fatalf("testdb: server version: %v", err)
		}
		t.Skipf("PostgreSQL %s here has no %s (the npm builds ship without it), which this test needs", v, extension)
	}
}
