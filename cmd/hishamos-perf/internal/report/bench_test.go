package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"

	"github.com/hishamos/hishamos-perf/bench"
)

// compareOptions are bench's defaults.
var compareOptions = bench.CompareOptions{Alpha: bench.DefaultAlpha, NoisePct: bench.DefaultNoisePct}

// samples are n latencies around center, with a few slow ones.
func samples(seed uint64, n int, center float64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 99))
	out := make([]float64, n)
	for i := range out {
		out[i] = center * (1 + 0.03*rng.NormFloat64())
		if rng.IntN(20) == 0 {
			out[i] *= 1.5 + rng.Float64()
		}
	}
	return out
}

// statementRun is a statement measured 100 times around center.
func statementRun(name string, seed uint64, center, buffers float64, plan string) bench.StatementRun {
	return bench.StatementRun{Name: name, SQLHash: "h-" + name, PlanHash: plan, Calls: 100, P50Ms: center,
		Samples: samples(seed, 100, center), BuffersPerCall: &buffers, BuffersSource: bench.BuffersFromStatements}
}

// comparedReport is a synthetic run of statements a and b compared with a
// baseline: a got faster with a new plan and fewer buffers (targeted), b
// did not move; the gate holds b to regressions of at most maxRegression%.
func comparedReport(maxRegression float64) *bench.Report {
	env := bench.Environment{ServerVersion: "15.1", Settings: map[string]string{"work_mem": "4MB"}}
	run := func(stmts ...bench.StatementRun) *bench.Run {
		return &bench.Run{Schema: bench.Schema, Complete: true, Environment: env, Statements: stmts,
			Workload: bench.WorkloadInfo{Name: "hishamos", Kind: "profile"},
			Settings: bench.Settings{Clients: 1, Seed: 1, Iterations: 100, Transaction: bench.TransactionPerCall}}
	}
	before := run(statementRun("a", 1, 2, 100, "p1"), statementRun("b", 2, 1, 10, "p1"))
	after := run(statementRun("a", 3, 1, 40, "p2"), statementRun("b", 4, 1, 10, "p1"))
	out := bench.Compare(before, after, compareOptions, map[string]bool{"a": true}, nil)
	return &bench.Report{Run: *after, Baseline: before, Comparison: out.Comparison,
		Gate: bench.Evaluate(out.Comparison, bench.GateOptions{MaxRegressionPct: &maxRegression}, compareOptions.Alpha)}
}

// TestBenchmarksReadBack writes the benchmark lines, reads them back with
// benchfmt's reader, and finds every sample, and the same U test p-value
// bench computed.
func TestBenchmarksReadBack(t *testing.T) {
	rep := comparedReport(10)
	var buf bytes.Buffer
	if err := (&Writer{Out: &buf, Format: Benchstat}).Write(Bench(rep, BenchOptions{})); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "Unit buffers/op assume=exact\n") || !strings.Contains(buf.String(), "\nrun: after\n") {
		t.Fatalf("no unit metadata or run label:\n%.300s", buf.String())
	}
	values := map[string][]float64{} // run/name → ms
	rd := benchfmt.NewReader(&buf, "bench.txt")
	for rd.Scan() {
		res, ok := rd.Result().(*benchfmt.Result)
		if !ok {
			continue
		}
		secs, _ := res.Value("sec/op")
		bufs, ok := res.Value("buffers/op")
		if !ok || bufs <= 0 || res.Iters != 1 || res.GetConfig("workload") != "hishamos" {
			t.Fatalf("line %s: buffers/op %v, iters %d, workload %q", res.Name, bufs, res.Iters, res.GetConfig("workload"))
		}
		key := res.GetConfig("run") + "/" + res.Name.String()
		values[key] = append(values[key], secs*1e3)
	}
	if err := rd.Err(); err != nil {
		t.Fatal(err)
	}
	if n := len(values["before/Query/a"]); n != len(rep.Baseline.Statement("a").Samples) {
		t.Fatalf("read back %d before samples of a, want %d", n, len(rep.Baseline.Statement("a").Samples))
	}
	th := &benchmath.Thresholds{CompareAlpha: compareOptions.Alpha}
	p := benchmath.AssumeNothing.Compare(benchmath.NewSample(values["before/Query/a"], th), benchmath.NewSample(values["after/Query/a"], th)).P
	if want := rep.Comparison[0].PValue; p != want {
		t.Errorf("benchstat's p from the lines = %g, bench's = %g", p, want)
	}
}

// TestBenchstatOnlyForBench: benchstat lines of anything but a bench run
// are refused as a bad --format.
func TestBenchstatOnlyForBench(t *testing.T) {
	err := (&Writer{Out: &bytes.Buffer{}, Format: Benchstat}).Write(&Doc{JSON: map[string]int{}})
	if !errors.Is(err, ErrUnsupported) || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "format benchstat is only for bench") {
		t.Errorf("err = %v; want ErrUnsupported, also ErrFormat", err)
	}
}

// TestJUnit: a test case per statement and per gate, failed where the gate
// failed on them.
func TestJUnit(t *testing.T) {
	rep := comparedReport(10)
	m := 1.0
	regressed := bench.Comparison{Name: "b", Verdict: bench.Regressed, MedianChangePct: 30, PValue: 1e-9}
	rep.Gate = bench.Evaluate([]bench.Comparison{regressed}, bench.GateOptions{MaxRegressionPct: &m}, compareOptions.Alpha)
	var b bytes.Buffer
	if err := JUnit(&b, rep); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Cases []struct {
				Name      string `xml:"name,attr"`
				Classname string `xml:"classname,attr"`
				Failure   *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	var got []string
	for _, c := range doc.Suites[0].Cases {
		s := c.Classname + ":" + c.Name
		if c.Failure != nil {
			s += " FAILED"
		}
		got = append(got, s)
	}
	want := []string{"bench.statement:a", "bench.statement:b FAILED", "bench.gate:max-regression 1% FAILED"}
	if diff := cmp.Diff(want, got); diff != "" || doc.Tests != 3 || doc.Failures != 2 {
		t.Errorf("test cases (-want +got):\n%s\ntests=%d failures=%d", diff, doc.Tests, doc.Failures)
	}
}
