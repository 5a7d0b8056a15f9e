package bench_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hishamos/hishamos-perf/bench"
	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// TestParamTypesAndRows: arguments of several types reach the server as
// the profile drew them, and rows per call are counted.
func TestParamTypesAndRows(t *testing.T) {
	dsn := sharedDB(t)
	w := profileWorkload(t, `name: types
statements:
  - name: three_rows
    sql: SELECT g FROM generate_series(1, $1::int) g
    params:
      - {kind: int_range, min: 3, max: 3}
  - name: typed
    sql: SELECT 1 WHERE $1::text = 'abc' AND $2::bool AND $3::timestamptz < now() AND $4::uuid IS NOT NULL
    params:
      - {kind: choice, values: [abc]}
      - {kind: const, value: true}
      - {kind: const, value: "2024-05-06T07:08:09Z"}
      - {kind: const, value: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}
  - name: none
    sql: SELECT 1 WHERE $1::int < 0
    params:
      - {kind: choice, values: [1, 2, 3]}
`)
	o := quick()
	o.Clients = 2
	run, err := bench.Measure(t.Context(), connector(dsn), w, o)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{"three_rows": 3, "typed": 1, "none": 0} {
		s := run.Statement(name)
		if s.Calls != o.Iterations || s.Errors != 0 || s.RowsPerCall != want {
			t.Errorf("%s: %d calls, %d errors (%s), %v rows per call; want %d, 0, %v", name, s.Calls, s.Errors, s.FirstError, s.RowsPerCall, o.Iterations, want)
		}
	}
}

// TestTerminatedBackendStopsTheRun: the server ending one client's session
// in the middle of the measured phase stops the run, keeping what was
// measured and saying the connection was lost, whether the clients have a
// thread each or share one (wire.Run).
func TestTerminatedBackendStopsTheRun(t *testing.T) {
	dsn := sharedDB(t)
	for _, tt := range []struct {
		name             string
		clients, threads int
	}{
		{"a thread each", 2, 2},
		{"sharing a thread", 3, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var pids []uint32
			connect := func(ctx context.Context) (bench.Conn, error) {
				c, err := connector(dsn)(ctx)
				if err == nil {
					mu.Lock()
					pids = append(pids, c.PgConn().PID())
					mu.Unlock()
				}
				return c, err
			}
			admin := testdb.Conn(t, dsn)
			o := quick()
			o.Iterations = 1_000_000 // far more than a test waits for: the termination ends it
			o.Clients, o.Threads = tt.clients, tt.threads
			terminated := midRun(&o, 50, func() error {
				mu.Lock()
				pid := pids[len(pids)-1]
				mu.Unlock()
				_, err := admin.Exec(context.Background(), "SELECT pg_terminate_backend($1)", pid)
				return err
			})
			run, err := bench.Measure(t.Context(), connect, sqlWorkload(t, "-- name: one\nSELECT 1;"), o)
			if err := <-terminated; err != nil {
				t.Fatalf("pg_terminate_backend: %v", err)
			}
			stopped := stoppedByLostConnection(t, run, err)
			s := run.Statement("one")
			if s.Calls < 50 || len(s.Samples) != s.Calls || stopped.Calls != s.Calls {
				t.Errorf("%d calls, %d samples, error says %d; want the 50 or more made before", s.Calls, len(s.Samples), stopped.Calls)
			}
		})
	}
}

// TestCancelStopsAWaitingCall: cancelling the run's context stops it at
// once, even while a call waits on the server (here for a lock held
// elsewhere, which it would wait for the whole statement_timeout).
func TestCancelStopsAWaitingCall(t *testing.T) {
	dsn := sharedDB(t)
	const waitFor = 2 * time.Minute
	connect := func(ctx context.Context) (bench.Conn, error) {
		c, err := pg.Connect(ctx, pg.Target{DSN: dsn, Source: pg.SourceFlag}, pg.Session{StatementTimeout: waitFor, ReadOnly: true})
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	admin := testdb.Conn(t, dsn)
	t.Cleanup(func() { admin.Exec(context.Background(), "SELECT pg_advisory_unlock_all()") })
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	o := quick()
	o.Iterations = 1_000_000
	o.Clients = 2
	var cancelled time.Time
	locked := midRun(&o, 20, func() error {
		_, err := admin.Exec(context.Background(), "SELECT pg_advisory_lock(4242)")
		time.AfterFunc(300*time.Millisecond, func() {
			cancelled = time.Now()
			cancel()
		})
		return err
	})
	run, err := bench.Measure(ctx, connect, sqlWorkload(t, "-- name: wait\nSELECT pg_advisory_xact_lock_shared(4242);"), o)
	returned := time.Now()
	if err := <-locked; err != nil {
		t.Fatalf("take the lock: %v", err)
	}
	var stopped *bench.StoppedError
	if !errors.As(err, &stopped) || !errors.Is(err, context.Canceled) || run == nil || run.Stopped != "interrupted" {
		t.Fatalf("err = %v (run %v); want a *StoppedError for the cancellation with the partial run", err, run != nil)
	}
	// Waiting for the lock would take waitFor: returning well before it
	// means the cancellation reached the waiting calls.
	if waited := returned.Sub(cancelled); waited > waitFor/2 {
		t.Errorf("Measure returned %s after the cancellation", waited)
	}
	if s := run.Statement("wait"); s.Calls < 20 || s.Errors != 0 {
		t.Errorf("%d calls, %d errors (%s); want the calls before the lock, no errors", s.Calls, s.Errors, s.FirstError)
	}
}
