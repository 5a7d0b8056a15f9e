package bench

import (
	"math"
	"slices"

	"github.com/aclements/go-moremath/stats"
	"golang.org/x/perf/benchmath"
)

// Confidence is the level of the confidence interval on a change in median
// latency.
const Confidence = 0.95

// medianConfidence is the level of each run's own median interval. The
// change's interval divides one run's bounds by the other's; it holds when
// both hold, which for independent runs happens with probability
// medianConfidence², so each is taken at √Confidence.
var medianConfidence = math.Sqrt(Confidence)

// summarize fills a statement's quantiles, mean and deviation from its
// samples (go-moremath's estimators; benchstat's own dependency).
func summarize(sr *StatementRun) {
	if len(sr.Samples) == 0 {
		return
	}
	s := stats.Sample{Xs: slices.Sorted(slices.Values(sr.Samples)), Sorted: true}
	sr.P50Ms = finite(s.Quantile(0.50))
	sr.P90Ms = finite(s.Quantile(0.90))
	sr.P95Ms = finite(s.Quantile(0.95))
	sr.P99Ms = finite(s.Quantile(0.99))
	sr.MeanMs = finite(s.Mean())
	sr.StddevMs = finite(s.StdDev())
	sr.MinMs, sr.MaxMs = s.Bounds()
}

// finite turns NaN and ±Inf, which JSON cannot hold, into 0.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// latencyChange is the statistics of one statement's two sample sets.
type latencyChange struct {
	before, after benchmath.Summary
	// changePct is after's median over before's minus one, in percent;
	// lowPct and highPct bound it (nil: unbounded with these few samples).
	changePct       float64
	lowPct, highPct *float64
	p               float64
	// detectable is false when the samples are too few for the U test to
	// ever reach alpha, however different they are.
	detectable bool
	warnings   []string
}

// compareLatency runs benchstat's non-parametric comparison: the medians
// with their confidence intervals (benchmath.AssumeNothing.Summary) and the
// Mann–Whitney U test (AssumeNothing.Compare).
func compareLatency(before, after []float64, alpha float64) latencyChange {
	th := &benchmath.Thresholds{CompareAlpha: alpha}
	// NewSample sorts in place: give it copies.
	b := benchmath.NewSample(slices.Clone(before), th)
	a := benchmath.NewSample(slices.Clone(after), th)
	var lc latencyChange
	lc.before = benchmath.AssumeNothing.Summary(b, medianConfidence)
	lc.after = benchmath.AssumeNothing.Summary(a, medianConfidence)
	cmp := benchmath.AssumeNothing.Compare(b, a)
	lc.p = cmp.P
	lc.detectable = true
	for _, w := range slices.Concat(lc.before.Warnings, lc.after.Warnings, cmp.Warnings) {
		lc.warnings = append(lc.warnings, w.Error())
	}
	if len(cmp.Warnings) > 0 && cmp.P > alpha {
		// benchmath warns only when the samples cannot reach alpha.
		lc.detectable = false
	}
	if lc.before.Center > 0 {
		lc.changePct = (lc.after.Center/lc.before.Center - 1) * 100
		if lc.before.Hi > 0 && lc.before.Lo > 0 && !math.IsInf(lc.before.Hi, 0) && !math.IsInf(lc.after.Hi, 0) &&
			!math.IsInf(lc.before.Lo, 0) && !math.IsInf(lc.after.Lo, 0) {
			lo := (lc.after.Lo/lc.before.Hi - 1) * 100
			hi := (lc.after.Hi/lc.before.Lo - 1) * 100
			lc.lowPct, lc.highPct = &lo, &hi
		}
	}
	return lc
}

// changePct is after over before minus one, in percent.
func changePct(before, after float64) float64 {
	if before == 0 {
		if after == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return (after/before - 1) * 100
}
