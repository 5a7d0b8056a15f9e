package bench_test

import (
	"context"
	"crypto/tls"
	"path/filepath"
	"testing"

	"github.com/hishamos/hishamos-perf/bench"
	"github.com/hishamos/hishamos-perf/bench/internal/wire"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// TestTLSRunComparesWithTheDirectPath: a run over TLS (sslmode=require,
// the portable pgconn path every managed PostgreSQL user takes) is
// measured and compared like any other. The same workload, seed and
// options measured over the sandbox's socket (the direct path) and over
// TLS give two complete runs with the same statements, calls, rows, plans
// and buffers per call; the direct run, saved and read back as a baseline,
// is accepted for the TLS run, and Compare judges every statement on its
// merits (no statement inconclusive for its SQL, its calls or the
// environment, no plan change, buffers from the same source and equal).
func TestTLSRunComparesWithTheDirectPath(t *testing.T) {
	dsn := sharedDB(t)
	w := hishamos(t)
	o := quick()
	o.Clients, o.Warmup = 2, bench.DefaultWarmup
	measure := func(path, pathDSN string, wantTLS bool) *bench.Run {
		t.Helper()
		var tlsSeen []bool
		connect := func(ctx context.Context) (bench.Conn, error) {
			conn, err := connector(pathDSN)(ctx)
			if err == nil {
				_, onTLS := conn.PgConn().Conn().(*tls.Conn)
				tlsSeen = append(tlsSeen, onTLS)
			}
			return conn, err
		}
		run, err := bench.Measure(t.Context(), connect, w, o)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(tlsSeen) != o.Clients {
			t.Fatalf("%s: %d connections, want %d", path, len(tlsSeen), o.Clients)
		}
		for _, seen := range tlsSeen {
			if seen != wantTLS {
				t.Fatalf("%s: a connection with TLS %v", path, seen)
			}
		}
		if !run.Complete || run.Stopped != "" {
			t.Fatalf("%s: the run is not complete (%s)", path, run.Stopped)
		}
		return run
	}
	direct := measure("direct", dsn, false)
	overTLS := measure("TLS", testdb.TLSDSN(t, dsn), true)
	if !wire.HasDirect {
		t.Log("this system has no direct path: both runs went through pgconn")
	}

	if len(direct.Statements) != len(overTLS.Statements) {
		t.Fatalf("%d statements on the direct path, %d over TLS", len(direct.Statements), len(overTLS.Statements))
	}
	if direct.Settings != overTLS.Settings {
		t.Errorf("settings %+v on the direct path, %+v over TLS", direct.Settings, overTLS.Settings)
	}
	for i, d := range direct.Statements {
		s := overTLS.Statements[i]
		switch {
		case d.Name != s.Name || d.SQLHash != s.SQLHash:
			t.Errorf("statement %d: %s (%s) on the direct path, %s (%s) over TLS", i, d.Name, d.SQLHash, s.Name, s.SQLHash)
		case d.Errors != 0 || s.Errors != 0:
			t.Errorf("%s: %d errors on the direct path, %d over TLS (%s%s)", d.Name, d.Errors, s.Errors, d.FirstError, s.FirstError)
		case d.Calls == 0 || d.Calls != s.Calls || len(s.Samples) != s.Calls || (!d.FollowUp && d.Calls != o.Iterations):
			t.Errorf("%s: %d calls on the direct path, %d over TLS (%d samples); want %d each", d.Name, d.Calls, s.Calls, len(s.Samples), o.Iterations)
		case d.RowsPerCall != s.RowsPerCall:
			t.Errorf("%s: %v rows per call on the direct path, %v over TLS", d.Name, d.RowsPerCall, s.RowsPerCall)
		case d.PlanHash == "" || d.PlanHash != s.PlanHash:
			t.Errorf("%s: plan %q on the direct path, %q over TLS", d.Name, d.PlanHash, s.PlanHash)
		case d.BuffersPerCall == nil || s.BuffersPerCall == nil || *d.BuffersPerCall != *s.BuffersPerCall || d.BuffersSource != s.BuffersSource:
			t.Errorf("%s: buffers per call %v (%s, %s) on the direct path, %v (%s, %s) over TLS", d.Name,
				d.BuffersPerCall, d.BuffersSource, d.BuffersNote, s.BuffersPerCall, s.BuffersSource, s.BuffersNote)
		}
	}

	path := filepath.Join(t.TempDir(), "direct.json")
	if err := bench.Save(path, &bench.Report{Run: *direct}); err != nil {
		t.Fatal(err)
	}
	base, err := bench.LoadBaseline(path, w)
	if err != nil {
		t.Fatalf("the direct run as a baseline for the TLS run: %v", err)
	}
	out := bench.Compare(base, overTLS, bench.CompareOptions{Alpha: bench.DefaultAlpha, NoisePct: bench.DefaultNoisePct}, nil, nil)
	for _, d := range out.EnvironmentDiff {
		if d.Matters {
			t.Errorf("the environments differ in what matters: %+v", d)
		}
	}
	if len(out.Comparison) != len(overTLS.Statements) {
		t.Errorf("%d statements compared, want all %d", len(out.Comparison), len(overTLS.Statements))
	}
	for _, c := range out.Comparison {
		switch {
		case c.DecidedBy == "errors" || c.DecidedBy == "sql" || c.DecidedBy == "environment":
			t.Errorf("%s: %s (%s): the two runs do not compare", c.Name, c.Verdict, c.Reason)
		case c.PlanChanged:
			t.Errorf("%s: the plan changed between the paths", c.Name)
		case c.BuffersChangePct == nil || *c.BuffersChangePct != 0:
			t.Errorf("%s: buffers change %v between the paths; want 0", c.Name, c.BuffersChangePct)
		}
	}
}
