package bench_test

import (
	"context"
	"testing"
	"time"

	"github.com/hishamos/hishamos-perf/bench"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// TestThreadsRunEveryClient: clients sharing a thread (wire.Run) make the
// same calls with the same draws as clients with a thread each: every
// statement gets its calls, rows and buffers per call are the same, and
// the run records the threads it used.
func TestThreadsRunEveryClient(t *testing.T) {
	dsn := sharedDB(t)
	w := hishamos(t)
	costs := map[int]map[string][2]float64{}
	for _, threads := range []int{1, 2, 4} {
		o := quick()
		o.Clients, o.Threads, o.Warmup = 4, threads, bench.DefaultWarmup
		run, err := bench.Measure(t.Context(), connector(dsn), w, o)
		if err != nil {
			t.Fatalf("%d threads: %v", threads, err)
		}
		if run.Settings.Threads != threads {
			t.Errorf("%d threads: the run says %d", threads, run.Settings.Threads)
		}
		costs[threads] = map[string][2]float64{}
		for _, s := range run.Statements {
			if s.Errors != 0 || (!s.FollowUp && s.Calls != o.Iterations) || len(s.Samples) != s.Calls {
				t.Errorf("%d threads, %s: %d calls, %d samples, %d errors (%s); want %d calls, no errors", threads, s.Name, s.Calls, len(s.Samples), s.Errors, s.FirstError, o.Iterations)
			}
			if s.BuffersPerCall == nil {
				t.Fatalf("%d threads, %s: no buffers (%s)", threads, s.Name, s.BuffersNote)
			}
			costs[threads][s.Name] = [2]float64{*s.BuffersPerCall, s.RowsPerCall}
		}
	}
	for name, c := range costs[4] {
		for _, threads := range []int{1, 2} {
			if costs[threads][name] != c {
				t.Errorf("%s: buffers and rows per call %v on %d threads, %v on 4", name, costs[threads][name], threads, c)
			}
		}
	}
}

// TestThreadSharedByClientsWaitsForAll: clients sharing a thread wait for
// the server at once: with a lock held elsewhere, both clients of one
// thread are seen waiting for it together.
func TestThreadSharedByClientsWaitsForAll(t *testing.T) {
	dsn := sharedDB(t)
	admin := testdb.Conn(t, dsn)
	ctx := context.Background()
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock(4343)"); err != nil {
		t.Fatal(err)
	}
	unlocked := false
	unlock := func() {
		if !unlocked {
			unlocked = true
			admin.Exec(ctx, "SELECT pg_advisory_unlock(4343)")
		}
	}
	defer unlock()
	o := quick()
	o.Clients, o.Threads, o.Warmup, o.Iterations = 2, 1, 0, 2 // one call each
	type result struct {
		run *bench.Run
		err error
	}
	done := make(chan result, 1)
	go func() {
		run, err := bench.Measure(t.Context(), connector(dsn), sqlWorkload(t, "-- name: wait\nSELECT pg_advisory_xact_lock_shared(4343);"), o)
		done <- result{run, err}
	}()
	deadline := time.Now().Add(time.Minute)
	for waiting := 0; waiting < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("%d session(s) waiting for the lock after a minute; want both clients of the thread", waiting)
		}
		time.Sleep(20 * time.Millisecond)
		if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND query LIKE '%pg_advisory_xact_lock_shared(4343)%' AND pid <> pg_backend_pid()`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
	}
	unlock()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if s := r.run.Statement("wait"); s.Calls != 2 || s.Errors != 0 {
		t.Errorf("%d calls, %d errors (%s); want 2 calls, no errors", s.Calls, s.Errors, s.FirstError)
	}
}
