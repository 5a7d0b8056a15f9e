package bench_test

import (
	"strings"
	"testing"

	"github.com/hishamos/hishamos-perf/bench"
)

// movement is how a change in percent moves beyond a 5% noise.
func movement(change float64) bench.Movement {
	switch {
	case change > bench.DefaultNoisePct:
		return bench.Up
	case change < -bench.DefaultNoisePct:
		return bench.Down
	}
	return bench.Steady
}

func cmpOf(name string, verdict bench.Verdict, change, ciLow, ciHigh float64, buffers *float64, targeted bool) bench.Comparison {
	c := bench.Comparison{Name: name, Verdict: verdict, DecidedBy: "latency", MedianChangePct: change,
		CILowPct: ptr(ciLow), CIHighPct: ptr(ciHigh), PValue: 1e-9, Targeted: targeted,
		BeforeP50Ms: 1, AfterP50Ms: 1 + change/100, Latency: movement(change), Server: bench.Unknown, Buffers: bench.Unknown}
	if verdict == bench.Inconclusive {
		c.Latency = bench.Machine
	}
	if buffers != nil {
		c.BuffersChangePct = buffers
		c.BeforeBuffers, c.AfterBuffers = ptr(100), ptr(100+*buffers)
		c.DecidedBy = "buffers"
		c.Buffers = movement(*buffers)
	}
	return c
}

// withServerChange gives a comparison a server time change with its
// interval, significant.
func withServerChange(c bench.Comparison, change, ciLow, ciHigh float64) bench.Comparison {
	c.BeforeServerMs, c.AfterServerMs = ptr(0.1), ptr(0.1*(1+change/100))
	c.ServerChangePct, c.ServerCILowPct, c.ServerCIHighPct, c.ServerPValue = ptr(change), ptr(ciLow), ptr(ciHigh), ptr(1e-9)
	c.Server = movement(change)
	return c
}

func TestGateExpect(t *testing.T) {
	e := 40.0
	tests := []struct {
		name   string
		metric bench.Metric
		cmp    bench.Comparison
		fail   string // "" to pass
	}{
		{"well beyond", "", cmpOf("a", bench.Improved, -60, -65, -55, ptr(-70), true), ""},
		{"median enough, CI bound not", "", cmpOf("a", bench.Improved, -45, -55, -35, ptr(-70), true), "median 45.0% faster, at worst 35.0% faster"},
		{"latency enough, buffers not: latency is the metric", "", cmpOf("a", bench.Improved, -60, -65, -55, ptr(-20), true), ""},
		{"latency enough, buffers not: buffers are the metric", bench.MetricBuffers, cmpOf("a", bench.Improved, -60, -65, -55, ptr(-20), true), "20% fewer"},
		{"slower", "", cmpOf("a", bench.Regressed, 20, 10, 30, nil, true), "20.0% slower"},
		{"inconclusive", "", cmpOf("a", bench.Inconclusive, -60, -65, -55, nil, true), "inconclusive, not improved"},
		{"mixed", "", cmpOf("a", bench.Mixed, -60, -65, -55, ptr(30), true), "mixed, not improved"},
		{"not targeted is not held to it", "", cmpOf("a", bench.Regressed, 20, 10, 30, nil, false), "no statement is targeted"},
		{"server time enough where latency is not", bench.MetricServer,
			withServerChange(cmpOf("a", bench.Improved, -10, -15, -5, nil, true), -60, -66, -52), ""},
		{"server time short at its worst bound", bench.MetricServer,
			withServerChange(cmpOf("a", bench.Improved, -60, -65, -55, nil, true), -45, -60, -30), "server time 45.0% faster, at worst 30.0% faster"},
		{"no server time to hold", bench.MetricServer, cmpOf("a", bench.Improved, -60, -65, -55, nil, true), "no server time to compare"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := bench.GateOptions{ExpectPct: &e, Metric: tt.metric}
			g := bench.Evaluate([]bench.Comparison{tt.cmp}, o, bench.DefaultAlpha)
			if tt.fail == "" {
				if !g.Passed {
					t.Errorf("failed: %+v", g.Failures)
				}
				return
			}
			if g.Passed || len(g.Failures) != 1 || !strings.Contains(g.Failures[0].Message, tt.fail) || g.Failures[0].Gate != bench.GateExpect {
				t.Errorf("gate = %+v; want one --expect failure saying %q", g, tt.fail)
			}
		})
	}
}

func TestGateMaxRegression(t *testing.T) {
	m := 10.0
	tests := []struct {
		name   string
		metric bench.Metric
		cmp    bench.Comparison
		fail   string
	}{
		{"regressed on latency beyond", "", cmpOf("a", bench.Regressed, 25, 15, 35, nil, false), "median latency +25.0%"},
		{"regressed on latency within", "", cmpOf("a", bench.Regressed, 8, 6, 10, nil, false), ""},
		{"regressed on buffers beyond", "", cmpOf("a", bench.Regressed, 2, -1, 5, ptr(40), false), "buffers per call +40%"},
		{"slower over fewer buffers names latency", "", cmpOf("a", bench.Regressed, 105, 65, 139, ptr(-87), false), "median latency +105.0% (1.000 → 2.050 ms"},
		{"faster over more buffers names buffers", "", cmpOf("a", bench.Mixed, -30, -35, -25, ptr(60), false), "buffers per call +60%"},
		{"latency and buffers both, each named", "", cmpOf("a", bench.Regressed, 25, 15, 35, ptr(40), false), "median latency +25.0% (1.000 → 1.250 ms, p<0.001) and buffers per call +40%"},
		{"server time is the metric", bench.MetricServer,
			withServerChange(cmpOf("a", bench.Regressed, 3, 1, 5, nil, false), 80, 60, 100), "server time +80.0% (mean 0.100 → 0.180 ms"},
		{"latency is not held with server time the metric", bench.MetricServer, cmpOf("a", bench.Regressed, 25, 15, 35, nil, false), ""},
		{"server time stands in for latency the machine hides", "",
			withServerChange(func() bench.Comparison {
				c := cmpOf("a", bench.Regressed, 150, 140, 175, ptr(-37), false)
				c.Latency = bench.Machine
				return c
			}(), 182, 160, 200),
			"server time +182.0% (mean 0.100 → 0.282 ms, p<0.001), where latency cannot tell (machine)"},
		{"server time does not stand in for a steady latency", "",
			withServerChange(func() bench.Comparison {
				c := cmpOf("a", bench.Regressed, 1, -1, 3, nil, false)
				c.Latency = bench.Steady
				return c
			}(), 40, 30, 50), ""},
		{"buffers alone", bench.MetricBuffers, cmpOf("a", bench.Regressed, 25, 15, 35, ptr(-40), false), ""},
		{"the machine, not the statement", "", cmpOf("a", bench.Inconclusive, 60, 50, 70, nil, false), ""},
		{"improved", "", cmpOf("a", bench.Improved, -60, -65, -55, ptr(-50), false), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := bench.GateOptions{MaxRegressionPct: &m, Metric: tt.metric}
			g := bench.Evaluate([]bench.Comparison{tt.cmp}, o, bench.DefaultAlpha)
			if g.RegressionChecked != 1 {
				t.Errorf("checked %d", g.RegressionChecked)
			}
			if tt.fail == "" {
				if !g.Passed {
					t.Errorf("failed: %+v", g.Failures)
				}
				return
			}
			if g.Passed || len(g.Failures) != 1 || !strings.Contains(g.Failures[0].Message, tt.fail) || g.Failures[0].Statement != "a" {
				t.Errorf("gate = %+v; want one failure for a saying %q", g, tt.fail)
			}
		})
	}
}

// TestGateExpectStated: --expect workload holds each statement to its own
// promise, the targeted ones to the workload's, and nothing else.
func TestGateExpectStated(t *testing.T) {
	own := cmpOf("own", bench.Improved, -50, -55, -45, nil, false)
	own.Promise = &bench.ExpectRange{MinPct: 60, MaxPct: 100}
	targeted := cmpOf("targeted", bench.Improved, -50, -55, -45, nil, true)
	targeted.Promise = &bench.ExpectRange{MinPct: 40, MaxPct: 60}
	free := cmpOf("free", bench.Regressed, 50, 45, 55, nil, false)
	g := bench.Evaluate([]bench.Comparison{own, targeted, free}, bench.GateOptions{ExpectStated: true}, bench.DefaultAlpha)
	if g.ExpectChecked != 2 || len(g.Failures) != 1 || g.Failures[0].Statement != "own" || !strings.Contains(g.Failures[0].Message, "expected at least 60% faster") {
		t.Errorf("gate = %+v; want 2 checked, own failing its 60%%", g)
	}
}
