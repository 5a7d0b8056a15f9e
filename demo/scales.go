package demo

// The seed report speaks of production, where tables are larger than any
// one scale, and an index's gain grows with the rows it saves reading.
// RunScales runs the whole demo at each scale asked for, one after the
// other on the same server, and Trend says how each improvement moved
// with the data's size.

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/hishamos/hishamos-perf/bench"
	"github.com/hishamos/hishamos-perf/internal/dataset"
)

// ScalesSchema names the JSON layout of `demo --scale a,b,...` with more
// than one scale: each scale's Report whole, and the trend across them.
const ScalesSchema = "hishamos-perf/demo-scales/v1"

// Trend kinds: what a TrendLine follows across the scales.
const (
	// TrendStatement is a statement's improvement with the seed's set, in
	// the verdict's metric.
	TrendStatement = "statement"
	// TrendVerdict is the seed's typical improvement over the targeted
	// statements (Verdict.SeedNetPct: Hodges–Lehmann, net of the machine's
	// drift): the indexes' claim.
	TrendVerdict = "verdict"
	// TrendRequestTime, TrendRequestQueries and TrendRequestBytes are a
	// before/after pair's drop in median time, queries and bytes received
	// per request.
	TrendRequestTime    = "request time"
	TrendRequestQueries = "request queries"
	TrendRequestBytes   = "request bytes"
)

// ScalesReport is the demo run at several scales.
type ScalesReport struct {
	Schema string `json:"schema"`
	// Reports are each scale's demo, in the order run (smallest first).
	Reports []*Report `json:"reports"`
	// Trend follows each improvement across the scales.
	Trend     []TrendLine `json:"trend"`
	ElapsedMs float64     `json:"elapsed_ms"`
}

// TrendLine is one improvement at each scale.
type TrendLine struct {
	// Name is the statement's or the pair's; Kind one of the Trend kinds.
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Targeted marks a statement the seed's indexes are meant to serve.
	Targeted bool `json:"targeted,omitempty"`
	// Expect is the promise the improvement is placed against, if any.
	Expect *bench.ExpectRange `json:"expect,omitempty"`
	// Points are the improvement at each scale, in the reports' order.
	Points []TrendPoint `json:"points"`
	// ChangePts is the last scale's improvement minus the first's, in
	// percentage points: how the gain moved as the data grew.
	ChangePts float64 `json:"change_points"`
}

// TrendPoint is an improvement at one scale.
type TrendPoint struct {
	Scale string `json:"scale"`
	// Rows are the rows the scale loaded.
	Rows           int64   `json:"rows"`
	ImprovementPct float64 `json:"improvement_pct"`
	Placement      string  `json:"placement,omitempty"`
}

// ScaleConfig is what changes from one scale to the next: the data and
// how long each run measures.
type ScaleConfig struct {
	Scale dataset.Scale
	Bench bench.Options
	// MigrationsDir receives this scale's migration directories.
	MigrationsDir string
}

// RunScales runs the demo at each scale in turn, with cfg for everything
// but what ScaleConfig sets, and sums the trend up. On failure it returns
// the scales done so far with the error.
func RunScales(ctx context.Context, cfg Config, scales []ScaleConfig) (*ScalesReport, error) {
	start := time.Now()
	out := &ScalesReport{Schema: ScalesSchema}
	defer func() { out.ElapsedMs = ms(time.Since(start)) }()
	say := cfg.Say
	if say == nil {
		say = func(string, ...any) {}
	}
	for i, sc := range scales {
		c := cfg
		c.Scale, c.Bench, c.MigrationsDir = sc.Scale, sc.Bench, sc.MigrationsDir
		// Only the last scale's indexes can be kept: the next load
		// replaces the tables.
		c.KeepIndexes = cfg.KeepIndexes && i == len(scales)-1
		say("demo: scale %s (%d of %d)", sc.Scale.Name, i+1, len(scales))
		rep, err := Run(ctx, c)
		if rep != nil {
			out.Reports = append(out.Reports, rep)
		}
		if err != nil {
			return out, fmt.Errorf("demo: scale %s: %w", sc.Scale.Name, err)
		}
	}
	out.Trend = Trend(out.Reports)
	return out, nil
}

// Trend follows every improvement across reps, ordered by the rows each
// scale loaded: the seed's net typical improvement (the indexes' claim), each
// statement's improvement with the seed's set in the verdict's metric,
// and each request pair's drops in time, queries and bytes. A line is
// left out where a report lacks its figure.
func Trend(reps []*Report) []TrendLine {
	if len(reps) == 0 {
		return nil
	}
	reps = slices.Clone(reps)
	slices.SortStableFunc(reps, func(a, b *Report) int { return cmp.Compare(a.Load.TotalRows, b.Load.TotalRows) })
	point := func(r *Report, v float64, e *bench.ExpectRange) TrendPoint {
		return TrendPoint{Scale: r.Scale, Rows: r.Load.TotalRows, ImprovementPct: round1(v), Placement: e.Place(v)}
	}
	var out []TrendLine
	add := func(l TrendLine) {
		if len(l.Points) != len(reps) {
			return
		}
		l.ChangePts = round1(l.Points[len(l.Points)-1].ImprovementPct - l.Points[0].ImprovementPct)
		out = append(out, l)
	}
	first := reps[0]
	v := TrendLine{Name: "seed's net typical", Kind: TrendVerdict, Expect: first.Expect}
	for _, r := range reps {
		v.Points = append(v.Points, point(r, r.Verdict.SeedNetPct, r.Expect))
	}
	add(v)
	for _, s := range first.Statements {
		l := TrendLine{Name: s.Name, Kind: TrendStatement, Targeted: s.Targeted, Expect: first.Expect}
		for _, r := range reps {
			if rs := r.statement(s.Name); rs != nil {
				l.Points = append(l.Points, point(r, rs.Seed.ClaimPct, r.Expect))
			}
		}
		add(l)
	}
	if first.Requests == nil {
		return out
	}
	memory := MemoryPromise
	for _, p := range first.Requests.Pairs {
		lines := []TrendLine{{Name: p.Name, Kind: TrendRequestTime}, {Name: p.Name, Kind: TrendRequestQueries}, {Name: p.Name, Kind: TrendRequestBytes, Expect: &memory}}
		for _, r := range reps {
			rp := r.pair(p.Name)
			if rp == nil {
				continue
			}
			lines[0].Points = append(lines[0].Points, point(r, rp.LatencyImprovementPct, nil))
			lines[1].Points = append(lines[1].Points, point(r, rp.QueriesReductionPct, nil))
			if rp.BytesReductionPct != nil {
				lines[2].Points = append(lines[2].Points, point(r, *rp.BytesReductionPct, &memory))
			}
		}
		for _, l := range lines {
			add(l)
		}
	}
	return out
}

// statement returns the report's row of the statement called name.
func (r *Report) statement(name string) *StatementResult {
	for i := range r.Statements {
		if r.Statements[i].Name == name {
			return &r.Statements[i]
		}
	}
	return nil
}

// pair returns the report's request pair called name.
func (r *Report) pair(name string) *RequestResult {
	if r.Requests == nil {
		return nil
	}
	for i := range r.Requests.Pairs {
		if r.Requests.Pairs[i].Name == name {
			return &r.Requests.Pairs[i]
		}
	}
	return nil
}
