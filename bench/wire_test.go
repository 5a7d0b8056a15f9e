package bench

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// openWire connects to dsn, prepares each of sqls as s0, s1, … and the
// statements of the calls' transactions, and hands the connection to a
// wire. It also returns the backend's pid.
func openWire(t *testing.T, dsn string, sqls ...string) (*wire, uint32) {
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
	for _, ts := range txStatements {
		prepare(ts.name, ts.sql)
	}
	pid := conn.PgConn().PID()
	w, err := hijack(ctx, conn.PgConn())
	if err != nil || w == nil {
		conn.Close(ctx)
		t.Fatalf("hijack = %v, %v; want a wire on the test server's socket", w, err)
	}
	t.Cleanup(w.close)
	if err := w.useTransactions(beginReadOnlyName, beginReadWriteName, rollbackName); err != nil {
		t.Fatal(err)
	}
	return w, pid
}

// call is a call as the runner makes it: execInTx, then settle.
func (w *wire) call(readWrite bool, name string, params [][]byte) (int64, error) {
	rows, err := w.execInTx(readWrite, name, params)
	if serr := w.settle(); serr != nil {
		return 0, serr
	}
	return rows, err
}

func params(vs ...string) [][]byte {
	out := make([][]byte, len(vs))
	for i, v := range vs {
		if v != "\x00null" {
			out[i] = []byte(v)
		}
	}
	return out
}

const null = "\x00null"

// TestWireExec runs calls of every shape one after another on one wire:
// each must count its rows or report its error, and leave the stream where
// the next call can start and the session idle.
func TestWireExec(t *testing.T) {
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
	w, _ := openWire(t, dsn, sqls...)
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
		rows, err := w.call(false, tc.stmt, tc.params)
		var pgErr *pgconn.PgError
		switch {
		case w.status != 'I':
			t.Errorf("%s: transaction status %q after the call, want idle", tc.name, w.status)
		case tc.code == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.code != "" && (!errors.As(err, &pgErr) || pgErr.Code != tc.code):
			t.Errorf("%s: err = %v; want SQLSTATE %s", tc.name, err, tc.code)
		case errors.Is(err, errLost):
			t.Errorf("%s: %v lost the connection", tc.name, err)
		case rows != tc.rows:
			t.Errorf("%s: %d rows, want %d", tc.name, rows, tc.rows)
		}
	}
}

// TestWireWriteRollsBack: a write runs in a READ WRITE transaction that
// is rolled back; in a READ ONLY one, or outside any on the wire of a
// read-only session, it is refused.
func TestWireWriteRollsBack(t *testing.T) {
	dsn := testdb.NewDatabase(t)
	c := testdb.Conn(t, dsn)
	if _, err := c.Exec(t.Context(), "CREATE TABLE t (n int); ALTER DATABASE "+pgx.Identifier{c.Config().Database}.Sanitize()+" SET default_transaction_read_only = on"); err != nil {
		t.Fatal(err)
	}
	w, _ := openWire(t, dsn, `INSERT INTO t VALUES ($1::int)`)
	if err := w.query("INSERT INTO t VALUES (1)"); err == nil || !strings.Contains(err.Error(), "read-only transaction") {
		t.Fatalf("insert outside a transaction: %v; want refused in a read-only transaction", err)
	}
	if _, err := w.call(false, "s0", params("1")); err == nil || !strings.Contains(err.Error(), "read-only transaction") {
		t.Fatalf("insert in a READ ONLY transaction: %v; want refused", err)
	}
	for range 3 {
		if _, err := w.call(true, "s0", params("1")); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := c.QueryRow(t.Context(), "SELECT count(*) FROM t").Scan(&n); err != nil || n != 0 {
		t.Errorf("count = %d, %v; want 0 rows after the rollbacks", n, err)
	}
}

// TestWireShutdownWakesACall: a call waiting for a slow statement returns
// as soon as the wire is shut down, the connection lost.
func TestWireShutdownWakesACall(t *testing.T) {
	w, _ := openWire(t, testdb.DSN(), `SELECT pg_sleep($1::float8)`)
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := w.call(false, "s0", params("60"))
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	w.shutdown()
	select {
	case err := <-done:
		if !errors.Is(err, errLost) {
			t.Errorf("err = %v; want the connection lost", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the call still waits %s after the shutdown", time.Since(start))
	}
}

// TestWireTerminatedBackend: the server ending the session (here
// pg_terminate_backend) loses the wire with the server's reason, and every
// later call says so without touching the socket.
func TestWireTerminatedBackend(t *testing.T) {
	dsn := testdb.DSN()
	w, pid := openWire(t, dsn, `SELECT 1`)
	if _, err := w.call(false, "s0", nil); err != nil {
		t.Fatal(err)
	}
	c := testdb.Conn(t, dsn)
	var ok bool
	if err := c.QueryRow(t.Context(), "SELECT pg_terminate_backend($1, 10000)", pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend = %v, %v", ok, err)
	}
	_, err := w.call(false, "s0", nil)
	if !errors.Is(err, errLost) {
		t.Fatalf("err = %v; want the connection lost", err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code != "57P01" {
		t.Errorf("the server's error is %s, want 57P01 (admin_shutdown)", pgErr.Code)
	}
	if _, again := w.call(false, "s0", nil); again != err {
		t.Errorf("the next call: %v; want the same error", again)
	}
	if !(&client{wire: w}).lost(err) {
		t.Error("the client does not see the connection as lost")
	}
}
