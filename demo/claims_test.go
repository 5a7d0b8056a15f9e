package demo

import (
	"strings"
	"testing"

	"github.com/hishamos/hishamos-perf/bench"
)

// TestClaimsJudgeEachPromise: each claim follows from its own figures:
// fewer queries holds only when the after half runs fewer, the memory
// claim against 30–40% on bytes, not measured (no verdict) when no byte
// was counted; the cache's is never measured.
func TestClaimsJudgeEachPromise(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	pair := func(bq, aq float64, bb, ab *float64) RequestResult {
		r := RequestResult{RequestComparison: bench.RequestComparison{Comparison: bench.Comparison{Name: "list", Verdict: bench.Improved},
			BeforeQueries: bq, AfterQueries: aq, BeforeBytes: bb, AfterBytes: ab}}
		r.QueriesReductionPct = (1 - aq/bq) * 100
		if bb != nil && ab != nil {
			r.BytesReductionPct = f((1 - *ab / *bb) * 100)
			r.BytesPlacement = MemoryPromise.Place(*r.BytesReductionPct)
		}
		return r
	}
	tests := []struct {
		name                 string
		p                    RequestResult
		queries              bool
		memory               *bool
		memoryPlace, mention string
	}{
		{"rewrite", pair(766, 2, f(1e6), f(7e3)), true, f2(true), Above, "above the promised 30–40%"},
		{"a third fewer bytes", pair(10, 10, f(1000), f(650)), false, f2(true), Within, "35.0% less"},
		{"a tenth fewer bytes", pair(10, 3, f(1000), f(900)), true, f2(false), Below, "below the promised"},
		{"no bytes counted", pair(10, 3, nil, nil), true, nil, "", "counted no bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := &Report{Expect: &bench.ExpectRange{MinPct: 40, MaxPct: 60}, Requests: &Requests{Pairs: []RequestResult{tt.p}}}
			cs := Claims(rep)
			if len(cs) != 4 || cs[0].Kind != ClaimIndexes || cs[1].Kind != ClaimQueries || cs[2].Kind != ClaimMemory || cs[3].Kind != ClaimCache {
				t.Fatalf("claims %+v: want indexes, queries, memory, cache", cs)
			}
			if q := cs[1]; q.Holds == nil || *q.Holds != tt.queries {
				t.Errorf("queries claim %+v: want holds %v", q, tt.queries)
			}
			m := cs[2]
			if (m.Holds == nil) != (tt.memory == nil) || (m.Holds != nil && *m.Holds != *tt.memory) || m.Placement != tt.memoryPlace {
				t.Errorf("memory claim %+v: want holds %v, placed %q", m, tt.memory, tt.memoryPlace)
			}
			if !strings.Contains(m.Line, tt.mention) {
				t.Errorf("memory claim line %q does not say %q", m.Line, tt.mention)
			}
			if c := cs[3]; c.Holds != nil || c.MeasuredPct != nil || c.Line != CacheWhy {
				t.Errorf("cache claim %+v: want it not measured", c)
			}
		})
	}
}

func f2(b bool) *bool { return &b }
