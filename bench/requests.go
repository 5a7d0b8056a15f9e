package bench

import (
	"math"
	"strings"
)

// RequestComparison is one before/after pair measured as requests: the
// before half's requests against the after half's, judged by Compare's
// rules on their latencies (the embedded Comparison, named after the
// pair), with what the rewrite changed in queries, rows and bytes per
// request beside it. Those three are counts, the same in every request
// of a half unless the data moves, so they take no test: the figures are
// the samples' means.
type RequestComparison struct {
	Comparison
	// Before and After name the two halves' leading statements.
	Before string `json:"before"`
	After  string `json:"after"`
	// Queries, rows and bytes per request in each half (means of the
	// samples); BytesChangePct is after's bytes over before's minus one,
	// in percent, nil when either half did not count them.
	BeforeQueries  float64  `json:"before_queries_per_request"`
	AfterQueries   float64  `json:"after_queries_per_request"`
	BeforeRows     float64  `json:"before_rows_per_request"`
	AfterRows      float64  `json:"after_rows_per_request"`
	BeforeBytes    *float64 `json:"before_bytes_per_request"`
	AfterBytes     *float64 `json:"after_bytes_per_request"`
	BytesChangePct *float64 `json:"bytes_change_pct"`
}

// CompareRequests pairs the after halves of after's requests with their
// before halves in before (the same run when it measured Both) and
// judges each pair with Compare, reused whole: each half becomes a
// statement whose samples are the requests' latencies, under the pair's
// name, with a plan that changed (the request runs other queries). They
// have no buffers and no server samples, so latency alone decides.
func CompareRequests(before, after *Run, o CompareOptions) []RequestComparison {
	var bs, as []StatementRun
	var pairs []RequestComparison
	for i := range after.Requests {
		a := &after.Requests[i]
		if a.Pair == "" || a.Variant != "after" {
			continue
		}
		b := before.Request(a.Pair)
		if b == nil || b.Variant != "before" {
			continue
		}
		name := pairName(b.Name, a.Name)
		bs = append(bs, b.asStatement(name))
		as = append(as, a.asStatement(name))
		rc := RequestComparison{
			Before: b.Name, After: a.Name,
			BeforeQueries: b.QueriesPerRequest, AfterQueries: a.QueriesPerRequest,
			BeforeRows: b.RowsPerRequest, AfterRows: a.RowsPerRequest,
			BeforeBytes: b.BytesPerRequest, AfterBytes: a.BytesPerRequest,
		}
		if b.BytesPerRequest != nil && a.BytesPerRequest != nil {
			if v := changePct(*b.BytesPerRequest, *a.BytesPerRequest); !math.IsInf(v, 0) && !math.IsNaN(v) {
				rc.BytesChangePct = &v
			}
		}
		pairs = append(pairs, rc)
	}
	if len(pairs) == 0 {
		return nil
	}
	out := Compare(&Run{Environment: before.Environment, Statements: bs}, &Run{Environment: after.Environment, Statements: as}, o, nil, nil)
	for i := range pairs {
		pairs[i].Comparison = out.Comparison[i]
	}
	return pairs
}

// pairName names a pair by its halves' common stem (command_list for
// command_list_before and command_list_after), else by both.
func pairName(before, after string) string {
	b, okb := strings.CutSuffix(before, "_before")
	a, oka := strings.CutSuffix(after, "_after")
	if okb && oka && a == b {
		return b
	}
	return before + " → " + after
}

// asStatement is the request as Compare sees a statement: its latency
// samples under name, its own leader as its plan.
func (r *RequestRun) asStatement(name string) StatementRun {
	return StatementRun{
		Name: name, SQLHash: name, PlanHash: r.Name, Calls: r.Calls, Errors: r.Errors,
		P50Ms: r.P50Ms, P90Ms: r.P90Ms, P99Ms: r.P99Ms, MeanMs: r.MeanMs, StddevMs: r.StddevMs,
		Samples: r.Samples,
	}
}
