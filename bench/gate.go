package bench

import (
	"fmt"
	"math"
	"strings"
)

// Evaluate holds a comparison to the gate's limits; alpha is the
// significance level the comparison was judged at. The gate's Metric
// (latency unless set) is the time it holds statements to: the client's
// median, or the server's mean time per call; MetricBuffers holds them to
// buffers alone.
//
// --expect E: every held statement must be improved (so no metric went
// the wrong way: see Compare) and its metric must drop by at least E% even
// at the 95% confidence interval's least favourable bound (buffers, which
// have none, by the drop itself). The held statements are the targeted
// ones and those with a promise of their own; with ExpectStated each is
// held to its own promise's minimum instead, and only those with a
// promise are held. A comparison with no held statement fails: an
// --expect that nothing is held to would pass a migration that built
// nothing.
//
// --max-regression M: no statement judged regressed or mixed may have its
// metric significantly more than M% up, or its buffers per call more than
// M% up; each that is, is named with its figure. Where the metric is
// latency and the machine's noise hides it (a change within the drift, or
// too few samples: Machine, Unknown), server time stands in: a statement
// whose server time went up by more than M% fails. Only those verdicts
// count, so a latency swing the same plan and buffers put down to the
// machine (inconclusive) does not fail the gate.
func Evaluate(cmps []Comparison, o GateOptions, alpha float64) *Gate {
	m := orLatency(o.Metric)
	g := &Gate{Metric: m, ExpectPct: o.ExpectPct, ExpectStated: o.ExpectStated, MaxRegressionPct: o.MaxRegressionPct, Failures: []GateFailure{}}
	fail := func(gate, stmt, msg string) {
		g.Failures = append(g.Failures, GateFailure{Gate: gate, Statement: stmt, Message: msg})
	}
	if o.ExpectPct != nil || o.ExpectStated {
		for i := range cmps {
			c := &cmps[i]
			var e float64
			switch {
			case o.ExpectPct != nil && (c.Targeted || c.Promise != nil):
				e = *o.ExpectPct
			case o.ExpectPct == nil && c.Promise != nil:
				e = c.Promise.MinPct
			default:
				continue
			}
			g.ExpectChecked++
			if msg := expectShortfall(c, e, m); msg != "" {
				fail(GateExpect, c.Name, msg)
			}
		}
		if g.ExpectChecked == 0 {
			what := "is targeted by an index added between the runs"
			if o.ExpectStated {
				what += " with a promise, nor promises anything of its own"
			}
			fail(GateExpect, "", "no statement "+what+", so nothing can be held to "+optionName(o.OptionName)(OptExpect)+": check that the migrations built indexes the statements' plans use")
		}
	}
	if o.MaxRegressionPct != nil {
		limit := *o.MaxRegressionPct
		for i := range cmps {
			c := &cmps[i]
			g.RegressionChecked++
			if c.Verdict != Regressed && c.Verdict != Mixed {
				continue
			}
			var over []string
			latencyOver := c.Latency == Up && c.PValue < alpha && c.MedianChangePct > limit
			serverOver := c.Server == Up && *c.ServerPValue < alpha && *c.ServerChangePct > limit
			// Server time stands in for a latency the machine's noise
			// hides (moved within the drift, or too few samples).
			standIn := m == MetricLatency && (c.Latency == Machine || c.Latency == Unknown)
			if m == MetricLatency && latencyOver {
				over = append(over, fmt.Sprintf("median latency %+.1f%% (%.3f → %.3f ms, %s)", c.MedianChangePct, c.BeforeP50Ms, c.AfterP50Ms, pWords(c.PValue)))
			}
			if serverOver && (m == MetricServer || standIn) {
				msg := fmt.Sprintf("server time %+.1f%% (mean %.3f → %.3f ms, %s)", *c.ServerChangePct, *c.BeforeServerMs, *c.AfterServerMs, pWords(*c.ServerPValue))
				if standIn {
					msg += fmt.Sprintf(", where latency cannot tell (%s)", c.Latency)
				}
				over = append(over, msg)
			}
			if c.Buffers == Up && *c.BuffersChangePct > limit {
				over = append(over, fmt.Sprintf("buffers per call %+.0f%% (%.1f → %.1f)", *c.BuffersChangePct, *c.BeforeBuffers, *c.AfterBuffers))
			}
			if len(over) > 0 {
				fail(GateMaxRegression, c.Name, fmt.Sprintf("%s: %s, above the %s%% allowed", c.Name, strings.Join(over, " and "), trimFloat(limit)))
			}
		}
	}
	g.Passed = len(g.Failures) == 0
	return g
}

// expectShortfall says how a held statement falls short of e% better in
// metric m, or "" when it does not.
func expectShortfall(c *Comparison, e float64, m Metric) string {
	var short []string
	if c.Verdict != Improved {
		short = append(short, fmt.Sprintf("%s, not improved", c.Verdict))
	}
	pct, worst, ok := c.Improvement(m)
	switch {
	case !ok:
		short = append(short, fmt.Sprintf("no %s to compare in both runs", metricWords(m)))
	case m == MetricBuffers:
		if pct < e {
			short = append(short, fmt.Sprintf("buffers per call %s (%.1f → %.1f)", fewerMore(-pct), *c.BeforeBuffers, *c.AfterBuffers))
		}
	case worst == nil:
		short = append(short, fmt.Sprintf("%s %s, with too few samples for a confidence interval", metricWords(m), fasterSlower(-pct)))
	case *worst < e:
		short = append(short, fmt.Sprintf("%s %s, at worst %s at 95%% confidence", metricWords(m), fasterSlower(-pct), fasterSlower(-*worst)))
	}
	if len(short) == 0 {
		return ""
	}
	return fmt.Sprintf("%s: %s; expected at least %s%% %s", c.Name, strings.Join(short, "; "), trimFloat(e), lessWords(m))
}

// metricWords names a metric in the gate's messages.
func metricWords(m Metric) string {
	switch m {
	case MetricServer:
		return "server time"
	case MetricBuffers:
		return "buffers per call"
	}
	return "median"
}

// lessWords says "less" of a metric: faster for a time, fewer buffers.
func lessWords(m Metric) string {
	if m == MetricBuffers {
		return "fewer buffers"
	}
	return "faster"
}

// fasterSlower says a change in latency in words: -40 is "40.0% faster".
func fasterSlower(changePct float64) string {
	if changePct <= 0 {
		return fmt.Sprintf("%.1f%% faster", -changePct)
	}
	return fmt.Sprintf("%.1f%% slower", changePct)
}

// fewerMore says a change in buffers in words: -40 is "40% fewer".
func fewerMore(changePct float64) string {
	switch {
	case math.Round(changePct) == 0:
		return "unchanged"
	case changePct < 0:
		return fmt.Sprintf("%.0f%% fewer", -changePct)
	}
	return fmt.Sprintf("%.0f%% more", changePct)
}
