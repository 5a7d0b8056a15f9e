package demo

// The seed report claims more than its indexes do: its "Query
// Optimization" adds select_related, only() and pagination to the
// command list ("Impact: Reduced database queries and memory usage"), and
// its "Expected Improvements" list memory and caching beside the indexes'
// 40–60%. This file measures the first two as requests (the profile's
// before/after pairs, bench.CompareRequests) and says why the cache's
// are outside what a database tool can see.

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/hishamos/hishamos-perf/bench"
)

// The kinds of claim the seed report makes about the database, in the
// order the report's verdict lists them.
const (
	// ClaimIndexes is "Query Performance: 40–60% faster (indexes)".
	ClaimIndexes = "indexes"
	// ClaimQueries is "Impact: Reduced database queries" of the Query
	// Optimization section (select_related against N+1).
	ClaimQueries = "queries"
	// ClaimMemory is "Memory Usage: 30–40% reduction (field limiting)".
	ClaimMemory = "memory"
	// ClaimCache is the two cache claims, which the demo cannot measure.
	ClaimCache = "cache"
)

// MemoryPromise is the seed report's "Memory Usage: 30–40% reduction
// (field limiting)", judged on the bytes received per request.
var MemoryPromise = bench.ExpectRange{MinPct: 30, MaxPct: 40,
	Source: `seed report, "Expected Improvements": Memory Usage: 30-40% reduction (field limiting)`}

// QueriesPromise is the Query Optimization section's own words: it
// promises fewer queries, with no figure.
const QueriesPromise = `seed report, "Query Optimization": Impact: Reduced database queries and memory usage`

// BytesWhy says in one line why bytes received stand for memory.
const BytesWhy = "bytes received from the server are the closest figure the database side has to the application's memory: they are the rows Django builds its objects from, and only() and pagination are what cut them"

// CacheWhy says in one line why the cache claims are not measured.
const CacheWhy = "not measured: the cache claims (API Response Time 50–70% faster for cached endpoints, Database Load 60–80% lower for frequently accessed data) are about Redis answering in the database's place; a cached request sends the database nothing, so a database tool sees only its absence, and how often a request is cached depends on the application's traffic, TTLs and invalidations, which the database never sees"

// Requests are the profile's before/after pairs measured as requests on
// the tables as they are (no new index), their halves interleaved in one
// run: what the rewrite changed, apart from what an index changes.
type Requests struct {
	// Run is the run that measured them, with every request's samples.
	Run *bench.Run `json:"run"`
	// Pairs compare each pair's halves.
	Pairs []RequestResult `json:"pairs"`
}

// RequestResult is one pair's before and after half compared as
// requests, with the improvements the claims are judged on.
type RequestResult struct {
	bench.RequestComparison
	// QueriesReductionPct is the drop in queries per request, in percent.
	QueriesReductionPct float64 `json:"queries_reduction_pct"`
	// LatencyImprovementPct is the drop in the requests' median latency,
	// in percent, from the samples (bench's verdict is Verdict).
	LatencyImprovementPct float64 `json:"latency_improvement_pct"`
	// BeforeServerMs and AfterServerMs are the server's time per request
	// (bench.RequestRun.ServerMs); nil where a statement has none.
	BeforeServerMs *float64 `json:"before_server_ms,omitempty"`
	AfterServerMs  *float64 `json:"after_server_ms,omitempty"`
	// BytesReductionPct is the drop in bytes received per request, in
	// percent, and BytesPlacement where it falls against MemoryPromise;
	// nil and empty when the connection did not count bytes.
	BytesReductionPct *float64 `json:"bytes_reduction_pct,omitempty"`
	BytesPlacement    string   `json:"bytes_placement,omitempty"`
}

// Claim is one of the seed report's database claims beside what the run
// measured.
type Claim struct {
	// Kind is ClaimIndexes, ClaimQueries, ClaimMemory or ClaimCache.
	Kind string `json:"kind"`
	// Promise is what the report says, Expect its range where it gives
	// one.
	Promise string             `json:"promise"`
	Expect  *bench.ExpectRange `json:"expect,omitempty"`
	// MeasuredPct is the improvement judged, and Placement where it falls
	// against Expect; nil for a claim not measured.
	MeasuredPct *float64 `json:"measured_pct,omitempty"`
	Placement   string   `json:"placement,omitempty"`
	// Holds is nil for a claim the demo cannot measure.
	Holds *bool `json:"holds,omitempty"`
	// Line says it all in one sentence.
	Line string `json:"line"`
}

// requests measures the profile's before/after pairs as requests, on the
// tables as they are, with the demo's bench options: each pair's two
// halves in one run, their rounds interleaved.
func (d *demoRun) requests(ctx context.Context) error {
	w, err := bench.PairsFromProfile(d.cfg.Profile)
	if err != nil {
		// A profile without a pair has no request claim to check.
		return nil
	}
	d.say("demo: measuring the %s profile's before/after pairs as requests (the N+1 and field-limiting rewrite), on the tables without new indexes", d.cfg.Profile.Name)
	run, err := d.measureAsIs(ctx, w, d.cfg.Bench, "requests")
	if err != nil {
		return err
	}
	d.rep.Requests = RequestsOf(run, d.cfg.Compare)
	return nil
}

// RequestsOf compares run's before/after pairs (bench.CompareRequests)
// and works out what the claims are judged on.
func RequestsOf(run *bench.Run, o bench.CompareOptions) *Requests {
	rq := &Requests{Run: run}
	for _, rc := range bench.CompareRequests(run, run, o) {
		r := RequestResult{RequestComparison: rc, LatencyImprovementPct: rc.ImprovementPct()}
		if rc.BeforeQueries > 0 {
			r.QueriesReductionPct = (1 - rc.AfterQueries/rc.BeforeQueries) * 100
		}
		if rc.BytesChangePct != nil {
			v := -*rc.BytesChangePct
			r.BytesReductionPct, r.BytesPlacement = &v, MemoryPromise.Place(v)
		}
		if b := run.Request(rc.Before); b != nil {
			r.BeforeServerMs = b.ServerMs
		}
		if a := run.Request(rc.After); a != nil {
			r.AfterServerMs = a.ServerMs
		}
		rq.Pairs = append(rq.Pairs, r)
	}
	return rq
}

// Claims lists the seed report's database claims with what rep measured:
// the indexes' (the verdict), the rewrite's fewer queries and less memory
// (each pair's requests; the claim holds when every pair does), and the
// cache's, which the demo cannot measure.
func Claims(rep *Report) []Claim {
	v := rep.Verdict
	net := v.SeedNetPct
	holds := v.ClaimHolds
	ix := Claim{Kind: ClaimIndexes, Promise: "Query Performance: 40–60% faster (indexes)", Expect: rep.Expect,
		MeasuredPct: &net, Placement: v.SeedPlacement, Holds: &holds, Line: v.Line}
	if rep.Expect != nil && rep.Expect.Source != "" {
		ix.Promise = rep.Expect.Source
	}
	out := []Claim{ix}
	if rep.Requests != nil && len(rep.Requests.Pairs) > 0 {
		out = append(out, queriesClaim(rep.Requests.Pairs), memoryClaim(rep.Requests.Pairs))
	}
	return append(out, Claim{Kind: ClaimCache, Promise: `seed report, "Expected Improvements": API Response Time 50-70% faster for cached endpoints; Database Load 60-80% reduction`,
		Line: CacheWhy})
}

// queriesClaim judges "reduced database queries": it holds when every
// pair's after half runs fewer queries per request than its before half.
// MeasuredPct is the smallest reduction.
func queriesClaim(pairs []RequestResult) Claim {
	c := Claim{Kind: ClaimQueries, Promise: QueriesPromise}
	holds := true
	var least float64
	var words []string
	for i, p := range pairs {
		if i == 0 || p.QueriesReductionPct < least {
			least = p.QueriesReductionPct
		}
		holds = holds && p.AfterQueries < p.BeforeQueries
		words = append(words, fmt.Sprintf("%s cut queries per request from %s to %s (%.1f%% fewer) and its median time from %s to %s ms (%.1f%% faster, %s)",
			p.Name, queries(p.BeforeQueries), queries(p.AfterQueries), p.QueriesReductionPct,
			msWords(p.BeforeP50Ms), msWords(p.AfterP50Ms), p.LatencyImprovementPct, p.Verdict))
	}
	c.MeasuredPct, c.Holds = &least, &holds
	c.Line = fmt.Sprintf("%s: %s", holdsWords(holds), strings.Join(words, "; "))
	return c
}

// memoryClaim judges "Memory Usage: 30–40% reduction" on the bytes
// received per request: it holds when every pair's reduction reaches the
// promised minimum. MeasuredPct is the smallest reduction; nil (and no
// verdict) when no pair counted its bytes.
func memoryClaim(pairs []RequestResult) Claim {
	promise := MemoryPromise
	c := Claim{Kind: ClaimMemory, Promise: promise.Source, Expect: &promise}
	var least *float64
	holds := true
	var words []string
	for _, p := range pairs {
		if p.BytesReductionPct == nil || p.BeforeBytes == nil || p.AfterBytes == nil {
			holds = false
			words = append(words, p.Name+" counted no bytes")
			continue
		}
		if least == nil || *p.BytesReductionPct < *least {
			v := *p.BytesReductionPct
			least = &v
		}
		holds = holds && *p.BytesReductionPct >= promise.MinPct
		words = append(words, fmt.Sprintf("%s cut the bytes received per request from %s to %s (%.1f%% less: %s the promised %g–%g%%)",
			p.Name, byteWords(*p.BeforeBytes), byteWords(*p.AfterBytes), *p.BytesReductionPct,
			p.BytesPlacement, promise.MinPct, promise.MaxPct))
	}
	if least == nil {
		c.Line = "not measured: " + strings.Join(words, "; ")
		return c
	}
	c.MeasuredPct, c.Holds, c.Placement = least, &holds, promise.Place(*least)
	c.Line = fmt.Sprintf("%s: %s; %s", holdsWords(holds), strings.Join(words, "; "), BytesWhy)
	return c
}

func holdsWords(holds bool) string {
	if holds {
		return "the claim holds"
	}
	return "the claim does not hold"
}

func queries(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func msWords(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// byteWords writes bytes counted on the wire as bench's requests tables
// do: B, kB or MB, in 1000s.
func byteWords(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2f MB", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1f kB", v/1e3)
	}
	return fmt.Sprintf("%.0f B", v)
}
