package testdb

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hishamos/hishamos-perf/internal/sandbox"
)

// catchUpWait bounds Standby.CatchUp: a standby on the same machine
// replays a test's few changes in milliseconds.
const catchUpWait = 30 * time.Second

// Standby is a streaming hot standby of the package's sandbox: a real
// read-only server, for tests of what the tool does against one.
type Standby struct {
	box *sandbox.Sandbox
	st  sandbox.State
}

// StartStandby makes a hot standby of the package's sandbox (a copy of its
// data directory taken while it is stopped, in a temporary folder, started
// on a free port, as the postgres account when the tests run as root) and
// stops and removes it when the test ends. Every call restarts the
// package's sandbox (the first with the WAL a standby needs), which closes
// the sessions open on it: call it before opening any. What the test wrote on the primary before the
// call is on the standby; CatchUp waits for what it writes after. It
// skips the test on the server of HISHAMOS_PERF_TEST_DSN.
func StartStandby(t testing.TB) *Standby {
	t.Helper()
	if Box == nil {
		t.Skip("testdb: a standby is made of the package's sandbox, and the tests run on " + EnvDSN)
	}
	parent, err := os.MkdirTemp("", "hishamos-perf-standby-")
	if err != nil {
		t.Fatalf("testdb: standby: %v", err)
	}
	// The postgres account that runs the server as root must enter it.
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatalf("testdb: standby: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	box, err := Box.Standby(ctx, filepath.Join(parent, "standby"))
	t.Cleanup(func() {
		if box != nil {
			if err := box.Destroy(context.Background()); err != nil {
				t.Errorf("testdb: destroy the standby: %v", err)
			}
		}
		os.RemoveAll(parent)
	})
	if err != nil {
		t.Fatalf("testdb: start a standby: %v", err)
	}
	st, err := box.LoadState()
	if err != nil {
		t.Fatalf("testdb: standby: %v", err)
	}
	return &Standby{box: box, st: st}
}

// DSN is the standby's connection string for the database that dsn, a
// connection string of the package's server, names.
func (s *Standby) DSN(t testing.TB, dsn string) string {
	t.Helper()
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("testdb: parse DSN: %v", err)
	}
	return s.box.DSN(s.st, cfg.Database)
}

// CatchUp waits until the standby has replayed everything the primary had
// written when it was called. It waits for the primary's insert position,
// not pg_current_wal_lsn: the sandbox commits asynchronously
// (synchronous_commit off), so a commit record can sit past the written
// position for a WAL writer round, and on 17 a standby caught up to the
// written position did not yet show a table committed just before.
func (s *Standby) CatchUp(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	var lsn string
	if err := Conn(t, DSN()).QueryRow(ctx, "SELECT pg_current_wal_insert_lsn()::text").Scan(&lsn); err != nil {
		t.Fatalf("testdb: read the primary's WAL position: %v", err)
	}
	standby := Conn(t, s.box.DSN(s.st, "postgres"))
	deadline := time.Now().Add(catchUpWait)
	for {
		var done bool
		if err := standby.QueryRow(ctx, "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", lsn).Scan(&done); err != nil {
			t.Fatalf("testdb: read the standby's replay position: %v", err)
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testdb: the standby has not replayed %s after %s", lsn, catchUpWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
