package demo

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/hishamos/hishamos-perf/bench"
)

var promise = &bench.ExpectRange{MinPct: 40, MaxPct: 60}

func TestNetOfDrift(t *testing.T) {
	tests := []struct {
		pct  float64
		d    *bench.Drift
		want float64
	}{{50, nil, 50}, {50, &bench.Drift{MedianPct: 0}, 50}, {60, &bench.Drift{MedianPct: -50}, 20}, {0, &bench.Drift{MedianPct: 25}, 20}}
	for _, tt := range tests {
		if got := NetOfDrift(tt.pct, tt.d); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("NetOfDrift(%v, %+v) = %v, want %v", tt.pct, tt.d, got, tt.want)
		}
	}
}

func TestJudge(t *testing.T) {
	stmt := func(targeted bool, seed, adv float64) StatementResult {
		return StatementResult{Targeted: targeted,
			Seed:    Change{ImprovementPct: seed, ClaimPct: seed, Verdict: bench.Improved},
			Advisor: Change{ImprovementPct: adv, ClaimPct: adv, Verdict: bench.Unchanged}}
	}
	tests := []struct {
		name        string
		stmts       []StatementResult
		drift       *bench.Drift
		holds       bool
		seed, adv   float64
		seedPlace   string
		advisorText string
	}{
		{"holds", []StatementResult{stmt(true, 45, 70), stmt(true, 55, 80), stmt(false, 99, 99)}, nil, true, 50, 75, Within, "by 75.0% (no drift measured): above"},
		// Typical is the median of the pairwise means: 10, 15, 20, 50, 55,
		// 90 for the seed (35; the median of the three is 20).
		{"short of the promise", []StatementResult{stmt(true, 10, 30), stmt(true, 20, 50), stmt(true, 90, 90)}, nil, false, 35, 55, Below, "by a typical 35.0% (no drift measured): below"},
		{"nothing targeted", []StatementResult{stmt(false, 80, 80)}, nil, false, 0, 0, Below, "by 0.0%"},
		// The machine made everything twice as fast: 60% is 20% net.
		{"drift", []StatementResult{stmt(true, 60, 60)}, &bench.Drift{Controls: 4, MedianPct: -50}, false, 60, 60, Below, "by 60.0%, 20.0% net of the machine's drift (-50.0% over 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Judge(tt.stmts, promise, 11, 9, tt.drift, tt.drift, bench.MetricLatency)
			if v.ClaimHolds != tt.holds || v.SeedTypicalPct != tt.seed || v.AdvisorTypicalPct != tt.adv || v.SeedPlacement != tt.seedPlace {
				t.Errorf("got holds=%v seed=%v adv=%v place=%q", v.ClaimHolds, v.SeedTypicalPct, v.AdvisorTypicalPct, v.SeedPlacement)
			}
			if !strings.Contains(v.Line, tt.advisorText) {
				t.Errorf("line %q does not say %q", v.Line, tt.advisorText)
			}
			if tt.holds != strings.HasPrefix(v.Line, "the claim holds") {
				t.Errorf("line %q disagrees with claim_holds %v", v.Line, tt.holds)
			}
		})
	}
}

// TestJudgeOnServerTime: judged on server time, the medians and the
// placement are the server's, the latency medians are kept beside them,
// and the line says which metric the verdict used.
func TestJudgeOnServerTime(t *testing.T) {
	stmt := func(latency, server float64) StatementResult {
		return StatementResult{Targeted: true, Seed: Change{ImprovementPct: latency, ClaimPct: server, Verdict: bench.Improved},
			Advisor: Change{ImprovementPct: latency, ClaimPct: server, Verdict: bench.Improved}}
	}
	v := Judge([]StatementResult{stmt(20, 50), stmt(25, 55), stmt(30, 45)}, promise, 11, 9, nil, nil, bench.MetricServer)
	if v.Metric != bench.MetricServer || v.SeedTypicalPct != 50 || v.SeedMedianPct != 50 || v.SeedLatencyMedianPct != 25 || v.SeedPlacement != Within || !v.ClaimHolds {
		t.Errorf("verdict %+v; want 50%% on server time (25%% latency), within, holding", v)
	}
	if !strings.Contains(v.Line, "cut the server's time per call by a typical 50.0%") {
		t.Errorf("line %q does not name server time", v.Line)
	}
}

// TestClaimMetric: the claim is judged on server time when every targeted
// statement has it in all three runs from one source, saying the round
// trip's share of their latency; else on latency, saying why.
func TestClaimMetric(t *testing.T) {
	w := &bench.Workload{Statements: []bench.Statement{{Name: "t", Indexes: []string{"i"}}, {Name: "u"}}}
	run := func(server *bench.ServerTime) *bench.Run {
		return &bench.Run{Statements: []bench.StatementRun{{Name: "t", MeanMs: 0.4, Server: server}, {Name: "u", MeanMs: 1}}}
	}
	st := &bench.ServerTime{MeanMs: 0.1, Source: bench.BuffersFromStatements}
	m, why, rt := ClaimMetric(w, Runs{Before: run(st), Seed: run(st), Advisor: run(st)})
	if m != bench.MetricServer || rt == nil || *rt != 75 || !strings.Contains(why, "was 75% of these statements' latency before (most of it") {
		t.Errorf("ClaimMetric = %s, %q, %v; want server time, the round trip 75%%", m, why, rt)
	}
	explain := &bench.ServerTime{MeanMs: 0.1, Source: bench.BuffersFromExplain}
	for name, runs := range map[string]Runs{
		"missing after": {Before: run(st), Seed: run(nil), Advisor: run(st)},
		"two sources":   {Before: run(st), Seed: run(explain), Advisor: run(st)},
	} {
		if m, why, rt := ClaimMetric(w, runs); m != bench.MetricLatency || rt != nil || !strings.Contains(why, "not known for every targeted statement") {
			t.Errorf("%s: ClaimMetric = %s, %q, %v; want latency", name, m, why, rt)
		}
	}
}

// TestHodgesLehmann: the median of the pairwise means, each value with
// itself included; where the median of a split dozen jumps from one group
// to the other when one figure moves, the estimate moves a little.
func TestHodgesLehmann(t *testing.T) {
	for _, tt := range []struct {
		vs   []float64
		want float64
	}{{nil, 0}, {[]float64{7}, 7}, {[]float64{10, 20, 90}, 35}, {[]float64{1, 2, 3, 4}, 2.5}} {
		if got := HodgesLehmann(tt.vs); got != tt.want {
			t.Errorf("HodgesLehmann(%v) = %v, want %v", tt.vs, got, tt.want)
		}
	}
	split := []float64{-10, 0, 5, 10, 15, 20, 30, 80, 85, 90, 95, 97, 99}
	moved := slices.Clone(split)
	moved[6] = 60 // one statement of the middle moves, 30% → 60%
	dMedian := bench.Median(moved) - bench.Median(split)
	dHL := HodgesLehmann(moved) - HodgesLehmann(split)
	if dHL <= 0 || dHL >= dMedian/2 {
		t.Errorf("one statement 30%% → 60%%: the median moved %.1f points, the estimate %.1f (want under half as far)", dMedian, dHL)
	}
}

// TestJudgeAtTheEdge: a net improvement within EdgePoints of a bound is
// placed as it falls and said to be at the edge; one clear of both is not.
func TestJudgeAtTheEdge(t *testing.T) {
	stmt := func(v float64) StatementResult {
		return StatementResult{Targeted: true, Seed: Change{ImprovementPct: v, ClaimPct: v}, Advisor: Change{ImprovementPct: v, ClaimPct: v}}
	}
	for _, tt := range []struct {
		pct   float64
		place string
		edge  bool
	}{{38, Below, true}, {41, Within, true}, {50, Within, false}, {20, Below, false}, {63, Above, true}} {
		v := Judge([]StatementResult{stmt(tt.pct)}, promise, 11, 9, nil, nil, bench.MetricServer)
		if v.SeedPlacement != tt.place || v.SeedAtEdge != tt.edge || strings.Contains(v.Line, "at its edge") != tt.edge {
			t.Errorf("%.0f%%: placed %q, at the edge %v, line %q; want %q, %v", tt.pct, v.SeedPlacement, v.SeedAtEdge, v.Line, tt.place, tt.edge)
		}
	}
}
