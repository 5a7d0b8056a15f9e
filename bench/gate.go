package bench

import (
	"fmt"
	"math"
	"strings"
)

// Evaluate holds a comparison to the gate's limits; alpha is the
// significance level the comparison was judged at.
//
// --expect E: every targeted statement must be improved, its median latency
// must drop by at least E% even at the confidence interval's least
// favourable bound, and where buffers are comparable they must drop by at
// least E% too. A comparison with no targeted statement fails: an --expect
// that nothing is held to would pass a migration that built nothing.
//
// --max-regression M: no statement may be regressed with its median latency
// significantly more than M% slower, or its buffers per call more than M%
// higher. Only a regressed verdict counts, so a latency swing the same plan
// and buffers put down to the machine (inconclusive) does not fail the gate.
func Evaluate(cmps []Comparison, o GateOptions, alpha float64) *Gate {
	g := &Gate{ExpectPct: o.ExpectPct, MaxRegressionPct: o.MaxRegressionPct, Failures: []GateFailure{}}
	fail := func(gate, stmt, msg string) {
		g.Failures = append(g.Failures, GateFailure{Gate: gate, Statement: stmt, Message: msg})
	}
	if o.ExpectPct != nil {
		e := *o.ExpectPct
		for i := range cmps {
			c := &cmps[i]
			if !c.Targeted {
				continue
			}
			g.ExpectChecked++
			if msg := expectShortfall(c, e); msg != "" {
				fail(GateExpect, c.Name, msg)
			}
		}
		if g.ExpectChecked == 0 {
			fail(GateExpect, "", "no statement is targeted by an index added between the runs, so nothing can be held to "+optionName(o.OptionName)(OptExpect)+": check that the migrations built the profile's indexes")
		}
	}
	if o.MaxRegressionPct != nil {
		m := *o.MaxRegressionPct
		for i := range cmps {
			c := &cmps[i]
			g.RegressionChecked++
			if c.Verdict != Regressed {
				continue
			}
			var over []string
			if c.PValue < alpha && c.MedianChangePct > m {
				over = append(over, fmt.Sprintf("median latency %+.1f%% (%.3f → %.3f ms, p=%.3g)", c.MedianChangePct, c.BeforeP50Ms, c.AfterP50Ms, c.PValue))
			}
			if c.BuffersChangePct != nil && *c.BuffersChangePct > m {
				over = append(over, fmt.Sprintf("buffers per call %+.0f%% (%.1f → %.1f)", *c.BuffersChangePct, *c.BeforeBuffers, *c.AfterBuffers))
			}
			if len(over) > 0 {
				fail(GateMaxRegression, c.Name, fmt.Sprintf("%s: %s, above the %s%% allowed", c.Name, strings.Join(over, " and "), trimFloat(m)))
			}
		}
	}
	g.Passed = len(g.Failures) == 0
	return g
}

// expectShortfall says how a targeted statement falls short of e% better,
// or "" when it does not.
func expectShortfall(c *Comparison, e float64) string {
	var short []string
	if c.Verdict != Improved {
		short = append(short, fmt.Sprintf("%s, not improved", c.Verdict))
	}
	switch {
	case c.CIHighPct == nil:
		short = append(short, fmt.Sprintf("median %s, with too few samples for a confidence interval", fasterSlower(c.MedianChangePct)))
	case -*c.CIHighPct < e:
		short = append(short, fmt.Sprintf("median %s, at worst %s at 95%% confidence", fasterSlower(c.MedianChangePct), fasterSlower(*c.CIHighPct)))
	}
	if c.BuffersChangePct != nil && -*c.BuffersChangePct < e {
		short = append(short, fmt.Sprintf("buffers per call %s (%.1f → %.1f)", fewerMore(*c.BuffersChangePct), *c.BeforeBuffers, *c.AfterBuffers))
	}
	if len(short) == 0 {
		return ""
	}
	return fmt.Sprintf("%s: %s; expected at least %s%% faster", c.Name, strings.Join(short, "; "), trimFloat(e))
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
