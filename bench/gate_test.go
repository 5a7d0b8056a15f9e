package bench_test

import (
	"strings"
	"testing"

	"github.com/hishamos/hishamos-perf/bench"
)

func cmpOf(name string, verdict bench.Verdict, change, ciLow, ciHigh float64, buffers *float64, targeted bool) bench.Comparison {
	c := bench.Comparison{Name: name, Verdict: verdict, DecidedBy: "latency", MedianChangePct: change,
		CILowPct: ptr(ciLow), CIHighPct: ptr(ciHigh), PValue: 1e-9, Targeted: targeted,
		BeforeP50Ms: 1, AfterP50Ms: 1 + change/100}
	if buffers != nil {
		c.BuffersChangePct = buffers
		c.BeforeBuffers, c.AfterBuffers = ptr(100), ptr(100+*buffers)
		c.DecidedBy = "buffers"
	}
	return c
}

func TestGateExpect(t *testing.T) {
	e := 40.0
	o := bench.GateOptions{ExpectPct: &e}
	tests := []struct {
		name string
		cmp  bench.Comparison
		fail string // "" to pass
	}{
		{"well beyond", cmpOf("a", bench.Improved, -60, -65, -55, ptr(-70), true), ""},
		{"median enough, CI bound not", cmpOf("a", bench.Improved, -45, -55, -35, ptr(-70), true), "at worst 35.0% faster"},
		{"latency enough, buffers not", cmpOf("a", bench.Improved, -60, -65, -55, ptr(-20), true), "20% fewer"},
		{"slower", cmpOf("a", bench.Regressed, 20, 10, 30, nil, true), "20.0% slower"},
		{"inconclusive", cmpOf("a", bench.Inconclusive, -60, -65, -55, nil, true), "inconclusive, not improved"},
		{"not targeted is not held to it", cmpOf("a", bench.Regressed, 20, 10, 30, nil, false), "no statement is targeted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
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
	o := bench.GateOptions{MaxRegressionPct: &m}
	tests := []struct {
		name string
		cmp  bench.Comparison
		fail string
	}{
		{"regressed on latency beyond", cmpOf("a", bench.Regressed, 25, 15, 35, nil, false), "median latency +25.0%"},
		{"regressed on latency within", cmpOf("a", bench.Regressed, 8, 6, 10, nil, false), ""},
		{"regressed on buffers beyond", cmpOf("a", bench.Regressed, 2, -1, 5, ptr(40), false), "buffers per call +40%"},
		{"the machine, not the statement", cmpOf("a", bench.Inconclusive, 60, 50, 70, nil, false), ""},
		{"improved", cmpOf("a", bench.Improved, -60, -65, -55, ptr(-50), false), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
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
