package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hishamos/hishamos-perf/bench/internal/wire"
	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// sessionChangers are functions that try to turn the session read-write
// for good: set_config through a function, SET inside plpgsql, a SET
// clause (which PostgreSQL undoes at the function's exit anyway), and
// set_config followed by an error.
const sessionChangers = `CREATE TABLE victim (id int PRIMARY KEY, note text NOT NULL);
INSERT INTO victim SELECT g, 'row ' || g FROM generate_series(1, 10) g;
CREATE FUNCTION flip_read_only() RETURNS text LANGUAGE sql VOLATILE
	AS $$ SELECT set_config('default_transaction_read_only', 'off', false) $$;
CREATE FUNCTION set_read_write() RETURNS text LANGUAGE plpgsql VOLATILE
	AS $$ BEGIN SET default_transaction_read_only = off; RETURN current_setting('default_transaction_read_only'); END $$;
CREATE FUNCTION set_clause() RETURNS text LANGUAGE sql VOLATILE SET default_transaction_read_only = off
	AS $$ SELECT current_setting('default_transaction_read_only') $$;
CREATE FUNCTION flip_then_fail() RETURNS int LANGUAGE plpgsql VOLATILE
	AS $$ BEGIN PERFORM set_config('default_transaction_read_only', 'off', false); RAISE EXCEPTION 'after the flip'; END $$;`

// openClient opens one client of a run of a one-statement workload and
// takes it over (takeOver): on the direct path where the connection
// allows it, else on pgconn, and reports which.
func openClient(t *testing.T, dsn, sql string, write bool) (*client, bool) {
	t.Helper()
	ctx := t.Context()
	w := &Workload{Statements: []Statement{{Name: "s", SQL: sql, Write: write, Leader: true}}}
	r := &runner{w: w, o: Options{Clients: 1, Iterations: 1, AllowWrites: write}, seeds: []uint64{1}}
	connect := func(ctx context.Context) (Conn, error) {
		c, err := pg.Connect(ctx, pg.Target{DSN: dsn, Source: pg.SourceFlag}, pg.DefaultSession)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	c, err := r.open(ctx, connect, true)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	_, onTLS := c.conn.PgConn().Conn().(*tls.Conn)
	if err := c.takeOver(ctx); err != nil {
		t.Fatalf("take over: %v", err)
	}
	t.Cleanup(func() {
		c.session.Close(context.Background())
		c.conn.Close(context.Background())
	})
	if direct := wire.IsDirect(c.session); direct != (!onTLS && wire.HasDirect) {
		t.Fatalf("TLS %v, direct %v: want the direct path exactly off TLS", onTLS, direct)
	}
	return c, wire.IsDirect(c.session)
}

// sessionState reads the transaction status the call left, then, outside
// any transaction, default_transaction_read_only and what an INSERT in an
// implicit transaction says: what a call left behind.
func sessionState(t *testing.T, c *client) (setting string, status byte, insertErr error) {
	t.Helper()
	status = c.session.TxStatus()
	rows, err := c.session.Query(t.Context(), "SHOW default_transaction_read_only")
	if err != nil || len(rows) != 1 {
		t.Fatalf("SHOW: %v, %v", rows, err)
	}
	_, insertErr = c.session.Query(t.Context(), "INSERT INTO victim VALUES (-1, 'committed')")
	return rows[0][0], status, insertErr
}

// TestAdversarialSessionSettingsAreRolledBack: a call that turns the
// session read-write (set_config, directly or through a function, SET
// inside plpgsql, a function's SET clause) runs inside a transaction that
// is rolled back, which undoes the change: after it the session is idle,
// still read-only, and refuses a write even outside any transaction. On
// the direct path and on pgconn (TLS), for reads and for writes under
// AllowWrites (READ WRITE transactions).
func TestAdversarialSessionSettingsAreRolledBack(t *testing.T) {
	dsn := testdb.NewDatabase(t)
	admin := testdb.Conn(t, dsn)
	if _, err := admin.Exec(t.Context(), sessionChangers); err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{"wire": dsn, "pgconn (TLS)": testdb.TLSDSN(t, dsn)}
	for path, pathDSN := range paths {
		for _, write := range []bool{false, true} {
			for _, sql := range []string{
				"SELECT set_config('default_transaction_read_only', 'off', false)",
				"SELECT flip_read_only()",
				"SELECT set_read_write()",
				"SELECT set_clause()",
			} {
				name := path + ", " + sql
				if write {
					name += ", as a write"
				}
				t.Run(name, func(t *testing.T) {
					c, onWire := openClient(t, pathDSN, sql, write)
					if onWire != (path == "wire" && wire.HasDirect) {
						t.Fatalf("on the wire: %v", onWire)
					}
					for range 3 {
						if _, _, _, err := c.call(context.WithoutCancel(t.Context()), 0, nil); err != nil {
							t.Fatalf("call: %v", err)
						}
					}
					setting, status, insertErr := sessionState(t, c)
					if setting != "on" || status != 'I' {
						t.Errorf("after the calls: default_transaction_read_only = %s, transaction status %q; want on, idle", setting, status)
					}
					if insertErr == nil || !strings.Contains(insertErr.Error(), "read-only transaction") {
						t.Errorf("an INSERT after the calls: %v; want refused in a read-only transaction", insertErr)
					}
				})
			}
		}
	}
	var n int
	if err := admin.QueryRow(t.Context(), "SELECT count(*) FROM victim").Scan(&n); err != nil || n != 10 {
		t.Errorf("victim holds %d rows (%v), want its 10", n, err)
	}
}

// TestAdversarialCallLeavesTheSessionIdle: a statement that fails skips
// the ROLLBACK sent with it and leaves its transaction failed; one that is
// itself transaction control ends or nests the block. After each call the
// session is idle, and the next call runs in a transaction of its own.
func TestAdversarialCallLeavesTheSessionIdle(t *testing.T) {
	dsn := testdb.NewDatabase(t)
	admin := testdb.Conn(t, dsn)
	if _, err := admin.Exec(t.Context(), sessionChangers); err != nil {
		t.Fatal(err)
	}
	for path, pathDSN := range map[string]string{"wire": dsn, "pgconn (TLS)": testdb.TLSDSN(t, dsn)} {
		for _, tc := range []struct {
			sql  string
			code string // the call's SQLSTATE; "" for none
		}{
			{"SELECT 1 / 0", "22012"},
			{"SELECT flip_then_fail()", "P0001"},
			{"COMMIT", ""},
			{"ROLLBACK", ""},
			{"BEGIN", ""},
			{"SAVEPOINT s", ""},
			{"COMMIT AND CHAIN", ""},
			{"SET TRANSACTION READ WRITE", ""},
			{"SET SESSION default_transaction_read_only = off", ""},
			{"DISCARD ALL", "25001"},
			{"INSERT INTO victim VALUES (-2, 'committed')", "25006"},
		} {
			t.Run(path+", "+tc.sql, func(t *testing.T) {
				c, _ := openClient(t, pathDSN, tc.sql, false)
				for range 2 {
					_, _, _, err := c.call(context.WithoutCancel(t.Context()), 0, nil)
					var pgErr *pgconn.PgError
					switch {
					case errors.Is(err, wire.ErrLost):
						t.Fatalf("the call lost the session: %v", err)
					case tc.code == "" && err != nil:
						t.Fatalf("call: %v", err)
					case tc.code != "" && (!errors.As(err, &pgErr) || pgErr.Code != tc.code):
						t.Fatalf("call: %v; want SQLSTATE %s", err, tc.code)
					}
					setting, status, insertErr := sessionState(t, c)
					if setting != "on" || status != 'I' || insertErr == nil {
						t.Errorf("after the call: default_transaction_read_only = %s, status %q, INSERT %v; want on, idle, refused", setting, status, insertErr)
					}
				}
			})
		}
	}
	var n int
	if err := admin.QueryRow(t.Context(), "SELECT count(*) FROM victim").Scan(&n); err != nil || n != 10 {
		t.Errorf("victim holds %d rows (%v), want its 10", n, err)
	}
}

// TestTerminatedBackendIsLostToTheClient: a call on a session whose
// backend the server ended is, to the runner (client.lost), a lost
// connection that stops the run, not a statement's error to count. On the
// direct path and on pgconn (TLS).
func TestTerminatedBackendIsLostToTheClient(t *testing.T) {
	dsn := testdb.NewDatabase(t)
	admin := testdb.Conn(t, dsn)
	for path, pathDSN := range map[string]string{"wire": dsn, "pgconn (TLS)": testdb.TLSDSN(t, dsn)} {
		t.Run(path, func(t *testing.T) {
			c, _ := openClient(t, pathDSN, "SELECT 1", false)
			ctx := context.WithoutCancel(t.Context())
			if _, _, _, err := c.call(ctx, 0, nil); err != nil {
				t.Fatal(err)
			}
			var ok bool
			if err := admin.QueryRow(t.Context(), "SELECT pg_terminate_backend($1, 10000)", c.conn.PgConn().PID()).Scan(&ok); err != nil || !ok {
				t.Fatalf("pg_terminate_backend = %v, %v", ok, err)
			}
			if _, _, _, err := c.call(ctx, 0, nil); err == nil || !c.lost(err) {
				t.Errorf("a call after the termination: %v; want the connection lost", err)
			}
			if _, err := c.one(ctx, 0, nil, false, nil, nil); err == nil {
				t.Error("one counted the call as the statement's error instead of stopping the run")
			}
		})
	}
}
