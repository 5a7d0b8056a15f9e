package pg_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/sandbox"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

func TestConnectSessionSettings(t *testing.T) {
	ctx := context.Background()
	conn, err := pg.Connect(ctx, pg.Target{DSN: testdb.DSN(), Source: pg.SourceFlag}, pg.DefaultSession)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var ro, st, app string
	if err := conn.QueryRow(ctx, "SELECT current_setting('transaction_read_only'), current_setting('statement_timeout'), current_setting('application_name')").Scan(&ro, &st, &app); err != nil {
		t.Fatal(err)
	}
	if ro != "on" || st != "30s" || app != pg.ApplicationName {
		t.Errorf("session = read_only %s, statement_timeout %s, application_name %s; want on, 30s, %s", ro, st, app, pg.ApplicationName)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE must_not_exist (id int)"); err == nil {
		t.Error("a read-only session created a table")
	}
}

func TestConnectWrongPassword(t *testing.T) {
	if testdb.Box == nil {
		t.Skip("needs the sandbox's loopback password")
	}
	st, err := testdb.Box.LoadState()
	if err != nil {
		t.Fatal(err)
	}
	good := testdb.Box.TCPDSN(st, sandbox.Database)
	const wrong = "not-the-password-42"
	bad := strings.Replace(good, st.Password, wrong, 1)
	_, err = pg.Connect(context.Background(), pg.Target{DSN: bad, Source: pg.SourceFlag}, pg.Session{})
	if !errors.Is(err, pg.ErrConnect) {
		t.Fatalf("err = %v, want ErrConnect", err)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Errorf("error echoes the password: %v", err)
	}
	if !strings.Contains(err.Error(), "password authentication failed") {
		t.Errorf("error does not say why: %v", err)
	}
	// The right password works, so the failure above was the password's.
	conn, err := pg.Connect(context.Background(), pg.Target{DSN: good, Source: pg.SourceFlag}, pg.Session{})
	if err != nil {
		t.Fatalf("right password: %v", err)
	}
	conn.Close(context.Background())
}

func TestConnectUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dsn := "postgres://app:pw-secret-1@127.0.0.1:" + strconv.Itoa(port) + "/app?connect_timeout=3"
	_, err = pg.Connect(ctx, pg.Target{DSN: dsn, Source: pg.SourceFlag}, pg.Session{})
	if !errors.Is(err, pg.ErrConnect) {
		t.Fatalf("err = %v, want ErrConnect", err)
	}
	if strings.Contains(err.Error(), "pw-secret-1") {
		t.Errorf("error leaks the password: %v", err)
	}
	if !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error does not say the connection was refused: %v", err)
	}
}

// TestCancelledStatementStopsOnTheServer: a statement whose context ends
// (Ctrl-C, SIGTERM) is cancelled on the server before the call returns, so
// a process on its way out leaves nothing running, and its session survives
// the cancel to roll back and clean up.
func TestCancelledStatementStopsOnTheServer(t *testing.T) {
	conn, err := pg.Connect(context.Background(), pg.Target{DSN: testdb.DSN(), Source: pg.SourceFlag}, pg.DefaultSession)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	pid := conn.PgConn().PID()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := conn.Exec(ctx, "SELECT count(*) FROM generate_series(1, 10000000000)"); err == nil {
		t.Fatal("a count over 10^10 rows ended without error under a 300 ms context")
	}
	admin := testdb.Conn(t, testdb.DSN())
	var running bool
	if err := admin.QueryRow(context.Background(),
		"SELECT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $1 AND state = 'active')", pid).Scan(&running); err != nil {
		t.Fatal(err)
	}
	if running {
		t.Errorf("the cancelled statement still runs on the server (pid %d)", pid)
	}
	var one int
	if err := conn.QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Errorf("the session did not survive the cancel: %v", err)
	}
}
