package sandbox_test

import (
	"context"
	"crypto/tls"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/internal/sandbox"
)

// TestStandbyAndTLS: a sandbox's standby is a read-only server that
// replays what the primary commits, and EnableTLS makes the primary
// accept TLS connections without a restart.
func TestStandbyAndTLS(t *testing.T) {
	ctx := context.Background()
	box := newBox(t)
	if _, err := box.Up(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := box.LoadState()
	if err != nil {
		t.Fatal(err)
	}
	primary := func() *pgx.Conn {
		conn, err := pgx.Connect(ctx, box.DSN(st, sandbox.Database))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(ctx) })
		return conn
	}
	if _, err := primary().Exec(ctx, "CREATE TABLE before_standby (n int); INSERT INTO before_standby VALUES (1)"); err != nil {
		t.Fatal(err)
	}

	standby, err := box.Standby(ctx, filepath.Join(filepath.Dir(box.Dir), "standby"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { standby.Destroy(ctx) })
	if st, err = box.LoadState(); err != nil || !st.Replication {
		t.Fatalf("primary state %+v, %v; want replication on", st, err)
	}
	sst, err := standby.LoadState()
	if err != nil || sst.Port == st.Port {
		t.Fatalf("standby state %+v, %v; want a port of its own", sst, err)
	}
	sconn, err := pgx.Connect(ctx, standby.DSN(sst, sandbox.Database))
	if err != nil {
		t.Fatal(err)
	}
	defer sconn.Close(ctx)
	var recovery bool
	var n int
	if err := sconn.QueryRow(ctx, "SELECT pg_is_in_recovery(), (SELECT count(*) FROM before_standby)").Scan(&recovery, &n); err != nil || !recovery || n != 1 {
		t.Fatalf("standby: in recovery %v, %d rows, %v; want a standby holding the primary's row", recovery, n, err)
	}
	if _, err := sconn.Exec(ctx, "INSERT INTO before_standby VALUES (2)"); err == nil || !strings.Contains(err.Error(), "read-only transaction") {
		t.Errorf("insert on the standby: %v; want refused", err)
	}
	if _, err := primary().Exec(ctx, "INSERT INTO before_standby VALUES (3)"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for n != 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		if err := sconn.QueryRow(ctx, "SELECT count(*) FROM before_standby").Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	if n != 2 {
		t.Errorf("the standby holds %d rows, want the primary's 2", n)
	}

	if err := box.EnableTLS(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err = box.LoadState(); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, box.TLSDSN(st, sandbox.Database))
	if err != nil {
		t.Fatalf("TLS: %v", err)
	}
	defer conn.Close(ctx)
	if _, ok := conn.PgConn().Conn().(*tls.Conn); !ok {
		t.Errorf("the connection is a %T, not TLS", conn.PgConn().Conn())
	}
	var ssl bool
	if err := conn.QueryRow(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil || !ssl {
		t.Errorf("pg_stat_ssl says ssl = %v (%v)", ssl, err)
	}
}
