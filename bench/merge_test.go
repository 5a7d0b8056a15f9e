package bench_test

import (
	"math"
	"slices"
	"testing"

	"github.com/aclements/go-moremath/stats"

	"github.com/hishamos/hishamos-perf/bench"
)

// TestMergePoolsParts: a run measured in two parts merges into the run of
// all their calls: the samples joined, the quantiles of them all, buffers
// averaged over the calls, and the server time's mean and deviation those
// of every call together, as pooling the sums gives them.
func TestMergePoolsParts(t *testing.T) {
	calls := func(seed uint64, n int, center float64) ([]float64, *bench.ServerTime) {
		xs := samples(seed, n, center)
		s := stats.Sample{Xs: xs}
		return xs, &bench.ServerTime{MeanMs: s.Mean(), StddevMs: s.StdDev(), ExecMeanMs: s.Mean(), ExecStddevMs: s.StdDev(),
			Calls: n, Source: bench.BuffersFromStatements}
	}
	x1, s1 := calls(1, 60, 0.2)
	x2, s2 := calls(2, 140, 0.3)
	a := stmt("a", 3, 1, 10, "p1")
	a.Calls, a.Server = 60, s1
	b := stmt("a", 4, 1.2, 20, "p1")
	b.Calls, b.Server, b.Samples = 140, s2, samples(4, 140, 1.2)
	a.Samples = a.Samples[:60]
	p1, p2 := runOf(env(), a), runOf(env(), b)
	p1.ElapsedMs, p2.ElapsedMs = 100, 300
	m := bench.Merge(p1, p2)
	got := m.Statement("a")
	if got.Calls != 200 || !slices.Equal(got.Samples, append(slices.Clone(a.Samples), b.Samples...)) {
		t.Fatalf("calls %d, %d samples; want 200, both parts' in order", got.Calls, len(got.Samples))
	}
	joined := stats.Sample{Xs: slices.Sorted(slices.Values(got.Samples)), Sorted: true}
	if want := joined.Quantile(0.5); math.Abs(got.P50Ms-want) > 1e-12 {
		t.Errorf("p50 %v; the joined samples' is %v", got.P50Ms, want)
	}
	if want := (10.0*60 + 20*140) / 200; got.BuffersPerCall == nil || math.Abs(*got.BuffersPerCall-want) > 1e-9 {
		t.Errorf("buffers per call %v; want %v, averaged over the calls", got.BuffersPerCall, want)
	}
	all := stats.Sample{Xs: append(slices.Clone(x1), x2...)}
	if st := got.Server; st == nil || st.Calls != 200 || math.Abs(st.MeanMs-all.Mean()) > 1e-9 || math.Abs(st.StddevMs-all.StdDev()) > 1e-9 {
		t.Errorf("server %+v; want mean %v, sd %v over 200 calls", st, all.Mean(), all.StdDev())
	}
	if m.ElapsedMs != 400 || bench.Merge(p1) != p1 || bench.Merge() != nil {
		t.Errorf("elapsed %v; Merge of one part must be that part, of none nil", m.ElapsedMs)
	}
	b.Server.Source = bench.BuffersFromExplain
	if got := bench.Merge(p1, runOf(env(), b)).Statement("a"); got.Server != nil || got.ServerNote == "" {
		t.Errorf("server times from two sources pooled: %+v", got.Server)
	}
}
