package wire_test

import (
	"context"
	"crypto/tls"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hishamos/hishamos-perf/bench/internal/wire"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// txStatements are the statements of a call's transaction, as bench
// prepares them.
var txStatements = wire.TxStatements{BeginReadOnly: "tx_begin_ro", BeginReadWrite: "tx_begin_rw", Rollback: "tx_rollback"}

// paths are the two ways a session can run, each with the DSN that takes
// it: the database dsn names over the package sandbox's socket (the
// direct path where the system has it), and over TLS (pgconn).
func paths(t *testing.T, dsn string) map[string]string {
	return map[string]string{"direct": dsn, "pgconn (TLS)": testdb.TLSDSN(t, dsn)}
}

// openSession connects to dsn, prepares each of sqls as s0, s1, … and the
// statements of the calls' transactions, and opens a session on the
// connection, checking that it took the path path names. It also returns
// the backend's pid.
func openSession(t *testing.T, path, dsn string, sqls ...string) (wire.Session, uint32) {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	prepare := func(name, sql string) {
		if _, err := conn.Prepare(ctx, name, sql); err != nil {
			conn.Close(ctx)
			t.Fatalf("prepare %s: %v", sql, err)
		}
	}
	for i, sql := range sqls {
		prepare("s"+strconv.Itoa(i), sql)
	}
	prepare(txStatements.BeginReadOnly, "BEGIN READ ONLY")
	prepare(txStatements.BeginReadWrite, "BEGIN READ WRITE")
	prepare(txStatements.Rollback, "ROLLBACK")
	_, onTLS := conn.PgConn().Conn().(*tls.Conn)
	pid := conn.PgConn().PID()
	s, err := wire.Open(ctx, conn.PgConn(), txStatements)
	if err != nil {
		conn.Close(ctx)
		t.Fatalf("open a session: %v", err)
	}
	t.Cleanup(func() {
		s.Close(context.Background())
		conn.Close(context.Background())
	})
	if want := path == "direct" && wire.HasDirect; wire.IsDirect(s) != want || onTLS == (path == "direct") {
		t.Fatalf("%s: TLS %v, on the direct path %v", path, onTLS, wire.IsDirect(s))
	}
	return s, pid
}

// call is a call without its timing.
func call(s wire.Session, readWrite bool, name string, params [][]byte) (int64, error) {
	rows, _, _, err := s.Call(context.Background(), readWrite, name, params)
	return rows, err
}

func params(vs ...string) [][]byte {
	out := make([][]byte, len(vs))
	for i, v := range vs {
		if v != null {
			out[i] = []byte(v)
		}
	}
	return out
}

const null = "\x00null"

// TestCallShapes runs calls of every shape one after another on one
// session, on both paths: each must count its rows or report its error,
// and leave the stream where the next call can start and the session
// idle.
func TestCallShapes(t *testing.T) {
	dsn := testdb.NewDatabase(t)
	sqls := []string{
		`SELECT g FROM generate_series(1, $1::int) g`,
		`SELECT 1 WHERE $1::int IS NULL`,
		`SELECT $1::text WHERE $1::text = 'héllo, wörld'`,
		`SELECT $1::timestamptz WHERE $1::timestamptz = '2026-01-02 03:04:05+00'`,
		`SELECT 1 WHERE $1::bool`,
		`SELECT $1::uuid`,
		`SELECT g, $2::text, $3::bool FROM generate_series(1, $1::int) g WHERE $4::timestamptz IS NOT NULL`,
		`SELECT repeat('x', $1::int) FROM generate_series(1, 4)`,
		`SELECT 1 / $1::int`,
		`SELECT 1 / (3 - g) FROM generate_series(1, $1::int) g`,
		`SELECT 1 WHERE false`,
	}
	for path, pathDSN := range paths(t, dsn) {
		t.Run(path, func(t *testing.T) {
			s, _ := openSession(t, path, pathDSN, sqls...)
			for _, tc := range []struct {
				name   string
				stmt   string
				params [][]byte
				rows   int64
				code   string // SQLSTATE of the error the call must return
			}{
				{"int", "s0", params("3"), 3, ""},
				{"many rows", "s0", params("20000"), 20000, ""},
				{"null", "s1", params(null), 1, ""},
				{"not null", "s1", params("7"), 0, ""},
				{"text", "s2", params("héllo, wörld"), 1, ""},
				{"timestamptz", "s3", params("2026-01-02 05:04:05+02"), 1, ""},
				{"bool true", "s4", params("true"), 1, ""},
				{"bool false", "s4", params("f"), 0, ""},
				{"uuid", "s5", params("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), 1, ""},
				{"bad uuid", "s5", params("not-a-uuid"), 0, "22P02"},
				{"several types", "s6", params("5", "x", "true", "2026-01-01T00:00:00Z"), 5, ""},
				{"rows larger than the buffer", "s7", params("100000"), 4, ""},
				{"division by zero", "s8", params("0"), 0, "22012"},
				{"fine again", "s8", params("1"), 1, ""},
				{"error after rows", "s9", params("5"), 0, "22012"},
				{"no error before it", "s9", params("2"), 2, ""},
				{"no rows", "s10", nil, 0, ""},
				{"no such statement", "nope", nil, 0, "26000"},
				{"wrong parameter count", "s0", params("1", "2"), 0, "08P01"},
				{"still in step", "s0", params("2"), 2, ""},
			} {
				rows, err := call(s, false, tc.stmt, tc.params)
				var pgErr *pgconn.PgError
				switch {
				case s.TxStatus() != 'I':
					t.Errorf("%s: transaction status %q after the call, want idle", tc.name, s.TxStatus())
				case tc.code == "" && err != nil:
					t.Errorf("%s: %v", tc.name, err)
				case tc.code != "" && (!errors.As(err, &pgErr) || pgErr.Code != tc.code):
					t.Errorf("%s: err = %v; want SQLSTATE %s", tc.name, err, tc.code)
				case errors.Is(err, wire.ErrLost):
					t.Errorf("%s: %v lost the connection", tc.name, err)
				case rows != tc.rows:
					t.Errorf("%s: %d rows, want %d", tc.name, rows, tc.rows)
				}
			}
		})
	}
}

// TestWriteRollsBack: a write runs in a READ WRITE transaction that is
// rolled back; in a READ ONLY one, or outside any on a read-only session,
// it is refused. On both paths.
func TestWriteRollsBack(t *testing.T) {
	dsn := testdb.NewDatabase(t)
	c := testdb.Conn(t, dsn)
	if _, err := c.Exec(t.Context(), "CREATE TABLE t (n int); ALTER DATABASE "+pgx.Identifier{c.Config().Database}.Sanitize()+" SET default_transaction_read_only = on"); err != nil {
		t.Fatal(err)
	}
	for path, pathDSN := range paths(t, dsn) {
		t.Run(path, func(t *testing.T) {
			s, _ := openSession(t, path, pathDSN, `INSERT INTO t VALUES ($1::int)`)
			if _, err := s.Query(t.Context(), "INSERT INTO t VALUES (1)"); err == nil || !strings.Contains(err.Error(), "read-only transaction") {
				t.Fatalf("insert outside a transaction: %v; want refused in a read-only transaction", err)
			}
			if _, err := call(s, false, "s0", params("1")); err == nil || !strings.Contains(err.Error(), "read-only transaction") {
				t.Fatalf("insert in a READ ONLY transaction: %v; want refused", err)
			}
			for range 3 {
				if _, err := call(s, true, "s0", params("1")); err != nil {
					t.Fatal(err)
				}
			}
			var n int
			if err := c.QueryRow(t.Context(), "SELECT count(*) FROM t").Scan(&n); err != nil || n != 0 {
				t.Errorf("count = %d, %v; want 0 rows after the rollbacks", n, err)
			}
		})
	}
}

// TestShutdownWakesACall: a call waiting for a slow statement returns as
// soon as the session is shut down, the connection lost. On both paths.
func TestShutdownWakesACall(t *testing.T) {
	for path, pathDSN := range paths(t, testdb.DSN()) {
		t.Run(path, func(t *testing.T) {
			s, _ := openSession(t, path, pathDSN, `SELECT pg_sleep($1::float8)`)
			done := make(chan error, 1)
			start := time.Now()
			go func() {
				_, err := call(s, false, "s0", params("60"))
				done <- err
			}()
			time.Sleep(200 * time.Millisecond)
			s.Shutdown()
			select {
			case err := <-done:
				if !errors.Is(err, wire.ErrLost) {
					t.Errorf("err = %v; want the connection lost", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("the call still waits %s after the shutdown", time.Since(start))
			}
		})
	}
}

// TestTerminatedBackendLosesTheSession: the server ending the session
// (here pg_terminate_backend) loses it with the server's reason, and every
// later call says so without touching the connection. On both paths.
func TestTerminatedBackendLosesTheSession(t *testing.T) {
	dsn := testdb.DSN()
	c := testdb.Conn(t, dsn)
	for path, pathDSN := range paths(t, dsn) {
		t.Run(path, func(t *testing.T) {
			s, pid := openSession(t, path, pathDSN, `SELECT 1`)
			if _, err := call(s, false, "s0", nil); err != nil {
				t.Fatal(err)
			}
			var ok bool
			if err := c.QueryRow(t.Context(), "SELECT pg_terminate_backend($1, 10000)", pid).Scan(&ok); err != nil || !ok {
				t.Fatalf("pg_terminate_backend = %v, %v", ok, err)
			}
			_, err := call(s, false, "s0", nil)
			if !errors.Is(err, wire.ErrLost) {
				t.Fatalf("err = %v; want the connection lost", err)
			}
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code != "57P01" {
				t.Errorf("the server's error is %s, want 57P01 (admin_shutdown)", pgErr.Code)
			}
			if _, again := call(s, false, "s0", nil); again != err {
				t.Errorf("the next call: %v; want the same error", again)
			}
		})
	}
}
