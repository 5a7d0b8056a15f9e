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

// meanSummary is a mean with its variance over n calls: what
// pg_stat_statements' sums give for the measured calls. It is a
// go-moremath TTestSample.
type meanSummary struct {
	n, mean, variance float64
}

func (m meanSummary) Weight() float64   { return m.n }
func (m meanSummary) Mean() float64     { return m.mean }
func (m meanSummary) Variance() float64 { return m.variance }

// serverSummary is a statement's server time as a meanSummary: the
// variance is StddevMs squared, the upper bound ServerTime keeps, which
// only makes the test and the interval more cautious.
func serverSummary(s *ServerTime) meanSummary {
	return meanSummary{n: float64(s.Calls), mean: s.MeanMs, variance: s.StddevMs * s.StddevMs}
}

// meanChange is the statistics of one statement's two server times.
type meanChange struct {
	// changePct is after's mean over before's minus one, in percent;
	// lowPct and highPct bound it (nil: unbounded).
	changePct       float64
	lowPct, highPct *float64
	p               float64
	// detectable is false when either side has fewer than two calls.
	detectable bool
}

// compareMeans compares two means known only by their count, mean and
// variance, as pg_stat_statements gives them. There are no per-call
// samples, so no rank test: with the hundreds of calls a run makes, each
// mean is close to normal (the central limit theorem), and Welch's t-test
// (unequal variances, Welch–Satterthwaite degrees of freedom; go-moremath's
// TwoSampleWelchTTest) gives the p-value. The interval on the ratio of
// the means is Fieller's at Confidence with the same t quantile: it holds
// 1 (no change) exactly when the two-sided test at 1 − Confidence does
// not reject, and it is unbounded when the before mean is not itself
// significantly above zero.
func compareMeans(before, after meanSummary) meanChange {
	var mc meanChange
	if before.n < 2 || after.n < 2 || before.mean <= 0 {
		return mc
	}
	mc.detectable = true
	mc.changePct = (after.mean/before.mean - 1) * 100
	vb, va := before.variance/before.n, after.variance/after.n
	if vb+va == 0 {
		// Identical calls, every one: the means are exact.
		mc.p = 1
		if after.mean != before.mean {
			mc.p = 0
		}
		lo, hi := mc.changePct, mc.changePct
		mc.lowPct, mc.highPct = &lo, &hi
		return mc
	}
	res, err := stats.TwoSampleWelchTTest(after, before, stats.LocationDiffers)
	if err != nil {
		mc.detectable = false
		return mc
	}
	mc.p = res.P
	tq := stats.InvCDF(stats.TDist{V: res.DoF})(1 - (1-Confidence)/2)
	// (a − ρb)² ≤ t²(va + ρ²vb), a quadratic in the ratio ρ.
	a, b, t2 := after.mean, before.mean, tq*tq
	qa, qb, qc := b*b-t2*vb, a*b, a*a-t2*va
	disc := qb*qb - qa*qc
	if qa > 0 && disc >= 0 {
		lo := ((qb-math.Sqrt(disc))/qa - 1) * 100
		hi := ((qb+math.Sqrt(disc))/qa - 1) * 100
		mc.lowPct, mc.highPct = &lo, &hi
	}
	return mc
}
