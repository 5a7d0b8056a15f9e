package bench_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hishamos/hishamos-perf/bench"
)

// report is a comparison of two synthetic runs of workload w.
func report(w string) *bench.Report {
	before := runOf(env(), stmt("a", 1, 2, 100, "p1"), stmt("b", 2, 1, 10, "p1"))
	after := runOf(env(), stmt("a", 3, 1, 40, "p2"), stmt("b", 4, 1, 10, "p1"))
	before.Workload = bench.WorkloadInfo{Name: w, Kind: "profile"}
	after.Workload = before.Workload
	m := 10.0
	out := bench.Compare(before, after, defaults, map[string][]string{"a": {"a_idx"}}, nil)
	return &bench.Report{Run: *after, Baseline: before, Comparison: out.Comparison,
		Gate: bench.Evaluate(out.Comparison, bench.GateOptions{MaxRegressionPct: &m}, defaults.Alpha)}
}

func TestSaveDecodeRoundTrip(t *testing.T) {
	rep := report("hishamos")
	path := filepath.Join(t.TempDir(), "run.json")
	if err := bench.Save(path, rep); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := bench.Decode(data, path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rep, got); diff != "" {
		t.Errorf("round trip (-saved +read):\n%s", diff)
	}
	if stripped := rep.WithoutSamples(); stripped.Statements[0].Samples != nil || stripped.Baseline.Statements[0].Samples != nil || rep.Statements[0].Samples == nil {
		t.Error("WithoutSamples kept samples or took them from the original")
	}
}

func TestLoadBaselineRefuses(t *testing.T) {
	w := hishamos(t)
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := report("hishamos")
	goodPath := filepath.Join(dir, "good.json")
	if err := bench.Save(goodPath, good); err != nil {
		t.Fatal(err)
	}
	other := report("shop")
	otherPath := filepath.Join(dir, "other.json")
	if err := bench.Save(otherPath, other); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"not JSON", write("garbage.json", "BenchmarkQuery/a 1 100 ns/op\n"), "is not JSON"},
		{"truncated", write("trunc.json", `{"schema": "hishamos-perf/bench/v1", "runs": [`), "is not JSON"},
		{"no schema", write("noschema.json", `{"runs": []}`), `no "schema" field`},
		{"newer schema", write("v3.json", `{"schema": "hishamos-perf/bench/v3"}`), "schema hishamos-perf/bench/v3, and this hishamos-perf reads hishamos-perf/bench/v2"},
		{"another tool's file", write("seed.json", `{"schema": "hishamos-perf/seed/v1"}`), "not a bench run"},
		{"another profile", otherPath, "measured profile shop, and this run measures profile hishamos"},
		{"missing", filepath.Join(dir, "nope.json"), "no such file"},
		{"wrong type", write("type.json", `{"schema": "hishamos-perf/bench/v1", "runs": "x"}`), "holds a JSON string where"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := bench.LoadBaseline(tt.path, w)
			if !errors.Is(err, bench.ErrBaseline) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v; want ErrBaseline saying %q", err, tt.want)
			}
		})
	}
	if base, err := bench.LoadBaseline(goodPath, w); err != nil || base.Statement("a") == nil {
		t.Errorf("good baseline: %v", err)
	}
	// A run saved as bench/v1, before server time, is still a baseline.
	v1 := report("hishamos")
	v1.Schema, v1.Baseline = bench.SchemaV1, nil
	v1Path := filepath.Join(dir, "v1.json")
	if err := bench.Save(v1Path, v1); err != nil {
		t.Fatal(err)
	}
	if base, err := bench.LoadBaseline(v1Path, w); err != nil || base.Schema != bench.SchemaV1 || base.Statement("a").Server != nil {
		t.Errorf("v1 baseline: %v", err)
	}
	noSamples := good.WithoutSamples()
	nsPath := filepath.Join(dir, "nosamples.json")
	if err := bench.Save(nsPath, noSamples); err != nil {
		t.Fatal(err)
	}
	if _, err := bench.LoadBaseline(nsPath, w); !errors.Is(err, bench.ErrBaseline) || !strings.Contains(err.Error(), "no latency samples") {
		t.Errorf("baseline without samples: %v", err)
	}
	// A run of a hishamos-perf that timed calls outside a transaction.
	earlier := report("hishamos")
	earlier.Settings.Transaction = ""
	earlierPath := filepath.Join(dir, "earlier.json")
	if err := bench.Save(earlierPath, earlier); err != nil {
		t.Fatal(err)
	}
	if _, err := bench.LoadBaseline(earlierPath, w); !errors.Is(err, bench.ErrBaseline) || !strings.Contains(err.Error(), "measure the baseline again") {
		t.Errorf("baseline of an earlier hishamos-perf: %v", err)
	}
}

func TestFromSQL(t *testing.T) {
	w := sqlWorkload(t, `-- the first one has no name
SELECT 1;
-- name: by id
-- weight: 170
SELECT name FROM agents_agent WHERE id = 3;
INSERT INTO agents_agent (name) VALUES ('x');
`)
	var names []string
	for _, s := range w.Statements {
		names = append(names, s.Name)
	}
	if diff := cmp.Diff([]string{"q1", "by_id", "q3"}, names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"q3"}, w.Writes()); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
	if got := []float64{w.Statements[0].Weight, w.Statements[1].Weight}; got[0] != 0 || got[1] != 170 {
		t.Errorf("weights %v, want [0 170] (none given, then -- weight: 170)", got)
	}
	for text, want := range map[string]string{
		"SELECT $1;":            "uses $1",
		"SET work_mem = '1GB';": "only queries and DML",
		"-- name: a\nSELECT 1;\n-- name: a\nSELECT 2;": "already called a",
		"-- nothing\n":               "holds no SQL statement",
		"SELECT 'unterminated;":      "unterminated",
		"-- weight: lots\nSELECT 1;": "x.sql:2: -- weight: \"lots\" is not a number",
	} {
		if _, err := bench.FromSQL("x.sql", []byte(text)); !errors.Is(err, bench.ErrWorkload) || !strings.Contains(err.Error(), want) {
			t.Errorf("FromSQL(%q) = %v; want ErrWorkload saying %q", text, err, want)
		}
	}
}

// TestSQLExpectComments: a .sql file states its promise in `-- expect:`
// comments: in the comment lines that open the file (a blank line after
// them) for the whole file, in the lines above a statement for it; a value
// that is not a percentage or a range is refused with its line.
func TestSQLExpectComments(t *testing.T) {
	w := sqlWorkload(t, `-- the workload of the listing page
-- expect: 30%

-- name: first
-- expect: 40-60%
SELECT 1;

SELECT 2;
-- a note
-- expect: 75 %

-- name: third
SELECT 3;
`)
	if e := w.Info.Expect; e == nil || e.MinPct != 30 || e.MaxPct != bench.MaxExpectPct || e.Source != "test.sql:2" {
		t.Errorf("file's promise = %+v; want 30%% from test.sql:2", e)
	}
	want := map[string]*bench.ExpectRange{
		"first": {MinPct: 40, MaxPct: 60, Source: "test.sql:5"},
		"q2":    nil,
		"third": {MinPct: 75, MaxPct: bench.MaxExpectPct, Source: "test.sql:10"},
	}
	for _, s := range w.Statements {
		if diff := cmp.Diff(want[s.Name], s.Expect); diff != "" {
			t.Errorf("%s's promise (-want +got):\n%s", s.Name, diff)
		}
	}
	// A comment block that runs into the first statement is its own.
	if w := sqlWorkload(t, "-- expect: 20%\nSELECT 1;"); w.Info.Expect != nil || w.Statements[0].Expect == nil || w.Statements[0].Expect.MinPct != 20 {
		t.Errorf("file %+v, statement %+v; want the statement's own 20%%", w.Info.Expect, w.Statements[0].Expect)
	}
	for text, want := range map[string]string{
		"-- expect: a lot\nSELECT 1;":             `x.sql:1: -- expect: "a lot" is not a percentage`,
		"SELECT 1;\n-- expect: 60-40%\nSELECT 2;": `x.sql:2: -- expect: "60-40%" must be above 0% and at most 100%`,
		"-- expect: 0%\n\nSELECT 1;":              `x.sql:1: -- expect: "0%" must be above 0%`,
	} {
		if _, err := bench.FromSQL("x.sql", []byte(text)); !errors.Is(err, bench.ErrWorkload) || !strings.Contains(err.Error(), want) {
			t.Errorf("FromSQL(%q) = %v; want ErrWorkload saying %q", text, err, want)
		}
	}
}

// TestOptionsValidate: each check refuses with an *OptionError (ErrOptions)
// naming the option, the value given and its limits, or the options it
// goes with, and words it without a flag: only the command names flags.
func TestOptionsValidate(t *testing.T) {
	pct := func(v float64) *float64 { return &v }
	for _, tt := range []struct {
		name string
		err  error
		want bench.OptionError
		text string
	}{
		{"iterations 0", (&bench.Options{Clients: 1, Iterations: 0}).Validate(),
			bench.OptionError{Option: bench.OptIterations, Value: 0, Min: 1}, "iterations must be at least 1, not 0 (a statement needs samples to be measured)"},
		{"clients 0", (&bench.Options{Clients: 0, Iterations: 10}).Validate(),
			bench.OptionError{Option: bench.OptClients, Value: 0, Min: 1, Max: bench.MaxClients}, "clients must be between 1 and 64, not 0"},
		{"warmup -1", (&bench.Options{Clients: 1, Iterations: 10, Warmup: -1}).Validate(),
			bench.OptionError{Option: bench.OptWarmup, Value: -1, Min: 0}, "warmup must be 0 or more, not -1"},
		{"duration -1ns", (&bench.Options{Clients: 1, Duration: -1}).Validate(),
			bench.OptionError{Option: bench.OptDuration, Value: time.Duration(-1), Min: time.Duration(0)}, "duration must be positive, not -1ns"},
		{"threads above clients", (&bench.Options{Clients: 2, Threads: 3, Iterations: 10}).Validate(),
			bench.OptionError{Option: bench.OptThreads, Value: 3, Min: 1, Max: 2, With: []bench.Option{bench.OptClients}}, "threads must be between 1 and clients (2), not 3"},
		{"threads -1", (&bench.Options{Clients: 2, Threads: -1, Iterations: 10}).Validate(),
			bench.OptionError{Option: bench.OptThreads, Value: -1, Min: 1, Max: 2, With: []bench.Option{bench.OptClients}}, "threads must be between 1 and clients (2), not -1"},
		{"alpha 0", (&bench.CompareOptions{Alpha: 0, NoisePct: 5}).Validate(),
			bench.OptionError{Option: bench.OptAlpha, Value: 0.0, Min: 0.0, Max: 1.0}, "alpha must be between 0 and 1, not 0"},
		{"noise 100%", (&bench.CompareOptions{Alpha: 0.01, NoisePct: 100}).Validate(),
			bench.OptionError{Option: bench.OptNoise, Value: 100.0, Min: 0.0, Max: 100.0}, "noise must be from 0% to below 100%, not 100%"},
		{"expect 0%", (&bench.GateOptions{ExpectPct: pct(0)}).Validate(),
			bench.OptionError{Option: bench.OptExpect, Value: 0.0, Min: 0.0, Max: 100.0}, "expect must be above 0% and below 100%, not 0%"},
		{"max regression -1%", (&bench.GateOptions{MaxRegressionPct: pct(-1)}).Validate(),
			bench.OptionError{Option: bench.OptMaxRegression, Value: -1.0, Min: 0.0}, "max regression must be 0% or more, not -1%"},
		{"metric cpu", (&bench.GateOptions{Metric: "cpu"}).Validate(),
			bench.OptionError{Option: bench.OptMetric, Value: bench.Metric("cpu")}, `metric must be latency, server or buffers, not "cpu"`},
		{"baseline and migrations", bench.CheckBeforeRun(true, true, false, false),
			bench.OptionError{Option: bench.OptBaseline, With: []bench.Option{bench.OptMigrator}}, "baseline and migrator are two ways to get a before run: give one"},
		{"revert without migrations", bench.CheckBeforeRun(true, false, true, false),
			bench.OptionError{Option: bench.OptRevert, With: []bench.Option{bench.OptMigrator}}, "revert only goes with migrator"},
		{"expect without a before run", bench.CheckBeforeRun(false, false, false, true),
			bench.OptionError{Option: bench.OptExpect, With: []bench.Option{bench.OptBaseline, bench.OptMigrator}}, "expect needs a before run to compare with: add baseline or migrator"},
	} {
		var oe *bench.OptionError
		if !errors.Is(tt.err, bench.ErrOptions) || !errors.As(tt.err, &oe) {
			t.Errorf("%s: %v; want an *OptionError", tt.name, tt.err)
			continue
		}
		if !reflect.DeepEqual(*oe, tt.want) {
			t.Errorf("%s: %#v; want %#v", tt.name, *oe, tt.want)
		}
		if want := "bench: bad options: " + tt.text; tt.err.Error() != want {
			t.Errorf("%s: %q; want %q", tt.name, tt.err.Error(), want)
		}
		if strings.Contains(tt.err.Error(), "--") {
			t.Errorf("%s: %q names a flag", tt.name, tt.err.Error())
		}
	}
	if err := (&bench.Options{Clients: 1, Duration: 1}).Validate(); err != nil {
		t.Errorf("a duration without iterations: %v", err)
	}
	for _, ok := range [][4]bool{{}, {true, false, false, true}, {false, true, true, true}} {
		if err := bench.CheckBeforeRun(ok[0], ok[1], ok[2], ok[3]); err != nil {
			t.Errorf("CheckBeforeRun%v: %v", ok, err)
		}
	}
	w := sqlWorkload(t, "-- name: w\nDELETE FROM t;\n-- name: r\nSELECT 1;")
	var we *bench.WritesError
	if err := bench.CheckWrites(w, false); !errors.Is(err, bench.ErrWrites) || !errors.As(err, &we) || !slices.Equal(we.Statements, []string{"w"}) || strings.Contains(err.Error(), "--") {
		t.Errorf("a write without AllowWrites: %v; want a *WritesError naming w and no flag", err)
	}
	if err := bench.CheckWrites(w, true); err != nil {
		t.Errorf("a write with AllowWrites: %v", err)
	}
}

// TestMeasureRefusesBadOptionsFirst: --iterations 0 is refused before any
// connection is made.
func TestMeasureRefusesBadOptionsFirst(t *testing.T) {
	called := false
	_, err := bench.Measure(t.Context(), func(context.Context) (bench.Conn, error) { called = true; return nil, errors.New("x") }, hishamos(t), bench.Options{Clients: 1})
	if !errors.Is(err, bench.ErrOptions) || called {
		t.Errorf("err = %v, connected = %v", err, called)
	}
}
