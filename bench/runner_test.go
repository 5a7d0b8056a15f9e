package bench_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hishamos/hishamos-perf/bench"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// TestMeasureHishamOS runs the built-in profile and checks that every
// statement got its calls, its statistics, its buffers from
// pg_stat_statements and a plan, and that the environment was read.
func TestMeasureHishamOS(t *testing.T) {
	dsn := sharedDB(t)
	w := hishamos(t)
	o := quick()
	run, err := bench.Measure(t.Context(), connector(dsn), w, o)
	if err != nil {
		t.Fatal(err)
	}
	if run.Schema != bench.Schema || !run.Complete || run.Workload.Name != "hishamos" {
		t.Fatalf("run header = %q complete=%v workload=%+v", run.Schema, run.Complete, run.Workload)
	}
	if len(run.Statements) != len(w.Statements) {
		t.Fatalf("%d statement runs for %d statements", len(run.Statements), len(w.Statements))
	}
	for _, s := range run.Statements {
		t.Run(s.Name, func(t *testing.T) {
			if s.Calls != o.Iterations || s.Errors != 0 || len(s.Samples) != s.Calls {
				t.Errorf("calls=%d errors=%d samples=%d, want %d, 0, %d (first error: %s)", s.Calls, s.Errors, len(s.Samples), o.Iterations, o.Iterations, s.FirstError)
			}
			q := []float64{s.MinMs, s.P50Ms, s.P90Ms, s.P95Ms, s.P99Ms, s.MaxMs}
			if !slices.IsSorted(q) || s.MinMs <= 0 || s.MeanMs < s.MinMs || s.MeanMs > s.MaxMs {
				t.Errorf("min/p50/p90/p95/p99/max = %v, mean %v: not ordered", q, s.MeanMs)
			}
			if s.BuffersPerCall == nil || *s.BuffersPerCall <= 0 || s.BuffersSource != bench.BuffersFromStatements {
				t.Errorf("buffers = %v from %q (%s); want > 0 from pg_stat_statements", s.BuffersPerCall, s.BuffersSource, s.BuffersNote)
			}
			if len(s.PlanHash) != 16 || len(s.Plans) == 0 || s.QueryID == "" || len(s.Relations) == 0 {
				t.Errorf("plan hash %q, %d plans, queryid %q, relations %v", s.PlanHash, len(s.Plans), s.QueryID, s.Relations)
			}
			st := s.Server
			if st == nil || st.Source != bench.BuffersFromStatements || st.Calls != s.Calls || st.ExecMeanMs <= 0 ||
				st.MeanMs != st.ExecMeanMs+st.PlanMeanMs || st.Planning != run.Environment.TrackPlanning || !st.Planning && st.PlanMeanMs != 0 {
				t.Errorf("server time %+v (%s); want pg_stat_statements' over the %d calls, planning counted as the server says (%v)", st, s.ServerNote, s.Calls, run.Environment.TrackPlanning)
			}
		})
	}
	env := run.Environment
	if env.ServerVersionNum < 140000 || env.PgStatStatements == "" {
		t.Errorf("server %d, pg_stat_statements %q", env.ServerVersionNum, env.PgStatStatements)
	}
	for _, k := range bench.PlanSettings {
		if env.Settings[k] == "" {
			t.Errorf("setting %s not recorded", k)
		}
	}
	for _, table := range w.Profile.Tables {
		ti := env.Table(table)
		if ti == nil || ti.Rows <= 0 || ti.SizeBytes <= 0 || ti.LastAnalyzed == nil {
			t.Errorf("table %s: %+v; want rows, size and last ANALYZE", table, ti)
		}
	}
	if env.Index("agents_agent_pkey") == nil || !slices.Equal(env.Index("agents_agent_pkey").Columns, []string{"id"}) {
		t.Errorf("indexes = %+v; want agents_agent_pkey on (id)", env.Indexes)
	}
	if s := run.Statement("command_templates_count"); s == nil || !s.FollowUp {
		t.Errorf("the follow-up of command_templates_list_after was not measured as one: %+v", s)
	}
}

// TestDrawsAreDeterministic: the same seed asks the same questions whatever
// the number of clients, which pg_stat_statements' buffer counts show; another
// seed asks others.
func TestDrawsAreDeterministic(t *testing.T) {
	dsn := sharedDB(t)
	w := hishamos(t)
	measure := func(seed uint64, clients int) *bench.Run {
		o := quick()
		// The default warm-up takes every connection past the five
		// executions after which a prepared statement may go generic.
		o.Seed, o.Clients, o.Warmup = seed, clients, bench.DefaultWarmup
		run, err := bench.Measure(t.Context(), connector(dsn), w, o)
		if err != nil {
			t.Fatal(err)
		}
		return run
	}
	costs := func(r *bench.Run) map[string][2]float64 {
		out := map[string][2]float64{}
		for _, s := range r.Statements {
			if s.BuffersSource != bench.BuffersFromStatements {
				t.Fatalf("%s: buffers from %q (%s)", s.Name, s.BuffersSource, s.BuffersNote)
			}
			out[s.Name] = [2]float64{*s.BuffersPerCall, s.RowsPerCall}
		}
		return out
	}
	one, three, other := costs(measure(7, 1)), costs(measure(7, 3)), costs(measure(8, 1))
	for name, c := range one {
		if three[name] != c {
			t.Errorf("%s: buffers and rows per call %v with 1 client, %v with 3: the draws depend on the clients", name, c, three[name])
		}
	}
	differ := 0
	for name, c := range one {
		if other[name] != c {
			differ++
		}
	}
	if differ == 0 {
		t.Error("seed 8 gave every statement the same buffers and rows as seed 7: the seed is not used")
	}
}

func TestWritesNeedAllowWritesAndRollBack(t *testing.T) {
	dsn := sharedDB(t)
	w := sqlWorkload(t, `-- name: bump
UPDATE agents_agent SET total_invocations = total_invocations + 1 WHERE id = 1;
-- name: read_back
SELECT total_invocations FROM agents_agent WHERE id = 1;`)
	if got := w.Writes(); !slices.Equal(got, []string{"bump"}) {
		t.Fatalf("writes = %v, want [bump]", got)
	}
	conn := testdb.Conn(t, dsn)
	count := func() int64 {
		var n int64
		if err := conn.QueryRow(t.Context(), "SELECT total_invocations FROM agents_agent WHERE id = 1").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	run, err := bench.Measure(t.Context(), connector(dsn), w, quick())
	if !errors.Is(err, bench.ErrWrites) || run != nil {
		t.Fatalf("without AllowWrites: run %v, err %v; want ErrWrites and no run", run != nil, err)
	}
	o := quick()
	o.AllowWrites = true
	run, err = bench.Measure(t.Context(), connector(dsn), w, o)
	if err != nil {
		t.Fatal(err)
	}
	if s := run.Statement("bump"); s.Calls != o.Iterations || !s.Write {
		t.Errorf("bump: %d calls, write=%v", s.Calls, s.Write)
	}
	if after := count(); after != before {
		t.Errorf("total_invocations went from %d to %d: the writes were not rolled back", before, after)
	}
}

// TestSessionsAreReadOnly: a statement that writes without looking like a
// write fails in the read-only session, every time, which fails the run;
// and it changed nothing.
func TestSessionsAreReadOnly(t *testing.T) {
	dsn := sharedDB(t)
	conn := testdb.Conn(t, dsn)
	var seq string
	if err := conn.QueryRow(t.Context(), "SELECT pg_get_serial_sequence('agents_agent', 'id')").Scan(&seq); err != nil {
		t.Fatal(err)
	}
	last := func() int64 {
		var n int64
		if err := conn.QueryRow(t.Context(), "SELECT last_value FROM "+seq).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := last()
	w := sqlWorkload(t, "-- name: sneaky\nSELECT nextval(pg_get_serial_sequence('agents_agent', 'id'));\n-- name: fine\nSELECT 1;")
	run, err := bench.Measure(t.Context(), connector(dsn), w, quick())
	if !errors.Is(err, bench.ErrStatementFailed) || run == nil {
		t.Fatalf("err = %v; want ErrStatementFailed with the run", err)
	}
	s := run.Statement("sneaky")
	if s.Calls != 0 || s.Errors != quick().Iterations || !strings.Contains(s.FirstError, "read-only transaction") {
		t.Errorf("sneaky: %d calls, %d errors, first %q; want every call refused as a write in a read-only transaction", s.Calls, s.Errors, s.FirstError)
	}
	if !strings.Contains(err.Error(), "sneaky failed all") {
		t.Errorf("the error does not name the statement: %v", err)
	}
	if after := last(); after != before {
		t.Errorf("the sequence moved from %d to %d", before, after)
	}
}

// TestSomeCallsFail: a statement that fails for some of its arguments is
// counted and reported, and the run goes on.
func TestSomeCallsFail(t *testing.T) {
	dsn := sharedDB(t)
	w := profileWorkload(t, `name: flaky
statements:
  - name: divide
    sql: SELECT 10 / ($1::int - 3)
    params:
      - {kind: int_range, min: 1, max: 5}
  - name: steady
    sql: SELECT 1
`)
	o := quick()
	o.Iterations = 40
	run, err := bench.Measure(t.Context(), connector(dsn), w, o)
	if err != nil {
		t.Fatal(err)
	}
	s := run.Statement("divide")
	if s.Errors == 0 || s.Calls == 0 || s.Calls+s.Errors != o.Iterations || !strings.Contains(s.FirstError, "division by zero") {
		t.Errorf("divide: %d calls, %d errors, first %q; want some of each adding to %d, the error saying division by zero",
			s.Calls, s.Errors, s.FirstError, o.Iterations)
	}
	if st := run.Statement("steady"); st.Calls != o.Iterations || st.Errors != 0 {
		t.Errorf("steady: %d calls, %d errors", st.Calls, st.Errors)
	}
}

func TestStatementFailingEveryCallFailsTheRun(t *testing.T) {
	dsn := sharedDB(t)
	run, err := bench.Measure(t.Context(), connector(dsn), sqlWorkload(t, "-- name: boom\nSELECT 1/0;\nSELECT 1;"), quick())
	if !errors.Is(err, bench.ErrStatementFailed) || run == nil || run.Statement("boom").Errors != quick().Iterations {
		t.Fatalf("err = %v; want ErrStatementFailed and the run with boom's errors", err)
	}
}

func TestBadStatementIsBadInput(t *testing.T) {
	dsn := sharedDB(t)
	_, err := bench.Measure(t.Context(), connector(dsn), sqlWorkload(t, "SELECT no_such_column FROM agents_agent;"), quick())
	if !errors.Is(err, bench.ErrWorkload) || !strings.Contains(err.Error(), "q1 does not prepare") {
		t.Fatalf("err = %v; want ErrWorkload naming q1", err)
	}
}

// TestServerRestartStopsTheRun restarts the server in the middle of the
// measured phase: the run stops, keeps what it measured, and says so.
func TestServerRestartStopsTheRun(t *testing.T) {
	if testdb.Box == nil {
		t.Skip("needs the package's sandbox to restart it")
	}
	dsn := sharedDB(t)
	w := sqlWorkload(t, "-- name: one\nSELECT 1;\n-- name: agent\nSELECT name FROM agents_agent WHERE id = 1;")
	o := quick()
	o.Iterations = 1_000_000 // far more than a test waits for: the restart ends it
	o.Clients = 2
	restartErr := midRun(&o, 50, func() error {
		_, err := testdb.Box.Down(context.Background())
		return err
	})
	t.Cleanup(func() {
		if _, err := testdb.Box.Up(context.Background()); err != nil {
			t.Fatalf("start the sandbox again: %v", err)
		}
	})
	run, err := bench.Measure(t.Context(), connector(dsn), w, o)
	if err := <-restartErr; err != nil {
		t.Fatalf("stop the server: %v", err)
	}
	stopped := stoppedByLostConnection(t, run, err)
	total := 0
	for _, s := range run.Statements {
		total += s.Calls
		if len(s.Samples) != s.Calls {
			t.Errorf("%s: %d samples for %d calls", s.Name, len(s.Samples), s.Calls)
		}
	}
	if total < 50 || stopped.Calls != total {
		t.Errorf("%d calls kept, error says %d; want at least the 50 made before the restart", total, stopped.Calls)
	}

	// What was measured can be saved, and is refused as a baseline.
	path := filepath.Join(t.TempDir(), "partial.json")
	if err := bench.Save(path, &bench.Report{Run: *run}); err != nil {
		t.Fatal(err)
	}
	if _, err := bench.LoadBaseline(path, w); !errors.Is(err, bench.ErrBaseline) || !strings.Contains(err.Error(), "partial run") {
		t.Errorf("LoadBaseline(partial) = %v; want ErrBaseline saying it is a partial run", err)
	}
}

// TestServerTimeFromPgStatStatements: the server time pg_stat_statements'
// sums give is over exactly the measured calls, and it is what the server
// spent inside each call: a statement that sleeps 2 ms spends at least
// that much per call there, and no call spends more on the server than
// the client waited for it, so neither mean can be above the client's.
func TestServerTimeFromPgStatStatements(t *testing.T) {
	dsn := sharedDB(t)
	o := quick()
	o.Iterations = 20
	run, err := bench.Measure(t.Context(), connector(dsn), sqlWorkload(t, "-- name: sleep\nSELECT pg_sleep(0.002);\n-- name: count\nSELECT count(*) FROM agents_agent;"), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range run.Statements {
		st := s.Server
		if st == nil || st.Source != bench.BuffersFromStatements || st.Calls != o.Iterations {
			t.Fatalf("%s: server time %+v (%s); want pg_stat_statements' over %d calls", s.Name, st, s.ServerNote, o.Iterations)
		}
		if st.MeanMs > s.MeanMs || st.ExecStddevMs < 0 || st.StddevMs < st.ExecStddevMs {
			t.Errorf("%s: server mean %.4f ms (sd %.4f) above the client's mean %.4f ms, or a negative deviation", s.Name, st.MeanMs, st.StddevMs, s.MeanMs)
		}
	}
	if st := run.Statement("sleep").Server; st.ExecMeanMs < 2 {
		t.Errorf("pg_sleep(0.002) executed in %.4f ms a call on the server", st.ExecMeanMs)
	}
}

// TestBuffersWithoutPgStatStatements: where the extension is missing the
// buffers and the server time come from the EXPLAIN sample, and the run
// says why.
func TestBuffersWithoutPgStatStatements(t *testing.T) {
	dsn := testdb.NewDatabase(t)
	exec(t, dsn, `DROP EXTENSION IF EXISTS pg_stat_statements;
		CREATE TABLE t (id int PRIMARY KEY, v text);
		INSERT INTO t SELECT i, repeat('x', 50) FROM generate_series(1, 5000) i;
		ANALYZE t`)
	run, err := bench.Measure(t.Context(), connector(dsn), sqlWorkload(t, "-- name: lookup\nSELECT v FROM t WHERE id = 42;"), quick())
	if err != nil {
		t.Fatal(err)
	}
	s := run.Statement("lookup")
	if s.BuffersSource != bench.BuffersFromExplain || s.BuffersPerCall == nil || *s.BuffersPerCall < 2 || !strings.Contains(s.BuffersNote, "not installed") {
		t.Errorf("buffers %v from %q (%s); want EXPLAIN's, saying pg_stat_statements is not installed", s.BuffersPerCall, s.BuffersSource, s.BuffersNote)
	}
	if st := s.Server; st == nil || st.Source != bench.BuffersFromExplain || st.Calls != bench.ExplainSamples || !st.Planning ||
		st.ExecMeanMs <= 0 || !strings.Contains(s.ServerNote, "not installed") {
		t.Errorf("server time %+v (%s); want EXPLAIN's %d samples, planning counted, saying pg_stat_statements is not installed", st, s.ServerNote, bench.ExplainSamples)
	}
	if run.Environment.PgStatStatements != "" || !slices.Contains(s.IndexesUsed, "t_pkey") {
		t.Errorf("pg_stat_statements %q, indexes used %v", run.Environment.PgStatStatements, s.IndexesUsed)
	}
}

// midRun makes o run fault once, when the measured phase has made calls
// calls, and returns a channel that receives fault's error.
func midRun(o *bench.Options, calls int64, fault func() error) <-chan error {
	var once sync.Once
	done := make(chan error, 1)
	o.Progress = func(p bench.Progress) {
		if p.Phase != bench.PhaseMeasure || p.Done < calls {
			return
		}
		once.Do(func() { done <- fault() })
	}
	return done
}

// stoppedByLostConnection checks that Measure returned a *StoppedError
// with the partial run, stopped because the connection was lost, and
// returns the error.
func stoppedByLostConnection(t *testing.T, run *bench.Run, err error) *bench.StoppedError {
	t.Helper()
	var stopped *bench.StoppedError
	if !errors.As(err, &stopped) || run == nil {
		t.Fatalf("err = %v; want a *StoppedError with the partial run", err)
	}
	if run.Complete || !strings.Contains(run.Stopped, "connection to the server was lost") {
		t.Errorf("complete=%v stopped=%q", run.Complete, run.Stopped)
	}
	return stopped
}
