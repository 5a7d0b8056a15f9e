package demo

import (
	"math"
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
			Seed:    Change{ImprovementPct: seed, Verdict: bench.Improved},
			Advisor: Change{ImprovementPct: adv, Verdict: bench.Unchanged}}
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
		{"short of the promise", []StatementResult{stmt(true, 10, 30), stmt(true, 20, 50), stmt(true, 90, 90)}, nil, false, 20, 50, Below, "by 50.0% (no drift measured): within"},
		{"nothing targeted", []StatementResult{stmt(false, 80, 80)}, nil, false, 0, 0, Below, "by 0.0%"},
		// The machine made everything twice as fast: 60% is 20% net.
		{"drift", []StatementResult{stmt(true, 60, 60)}, &bench.Drift{Controls: 4, MedianPct: -50}, false, 60, 60, Below, "by 60.0%, 20.0% net of the machine's drift (-50.0% over 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Judge(tt.stmts, promise, 11, 9, tt.drift, tt.drift)
			if v.ClaimHolds != tt.holds || v.SeedMedianPct != tt.seed || v.AdvisorMedianPct != tt.adv || v.SeedPlacement != tt.seedPlace {
				t.Errorf("got holds=%v seed=%v adv=%v place=%q", v.ClaimHolds, v.SeedMedianPct, v.AdvisorMedianPct, v.SeedPlacement)
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
