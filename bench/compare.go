package bench

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
)

// RowsTolerancePct is how far a table's row count may move between two runs
// before their latencies stop being comparable: the 10%, about what
// a day of HishamOS traffic adds to its busiest table.
const RowsTolerancePct = 10.0

// BufferRoundingPct and bufferRoundingAbs say when two buffers-per-call
// figures differ "beyond rounding": by more than 1% and by at least half a
// tenth of a buffer, the precision the report prints. Below that, a mean
// over a few hundred calls moves with a single extra page read.
const (
	BufferRoundingPct = 1.0
	bufferRoundingAbs = 0.05
)

// MinDriftControls is how many statements with an unchanged plan and
// unchanged buffers a comparison needs before their latency changes are
// taken as the machine's drift between the runs: fewer than three say more
// about themselves than about the machine.
const MinDriftControls = 3

// Drift is how the latency of the statements whose plan and buffers did not
// change moved between two runs: the machine's share of every change.
type Drift struct {
	// Controls counts those statements.
	Controls int `json:"controls"`
	// LowPct, MedianPct and HighPct are the smallest, median and largest of
	// their median changes, in percent.
	LowPct    float64 `json:"low_pct"`
	MedianPct float64 `json:"median_pct"`
	HighPct   float64 `json:"high_pct"`
}

// Outcome is what Compare concludes.
type Outcome struct {
	Comparison      []Comparison
	EnvironmentDiff []Difference
	// Drift is nil with fewer than MinDriftControls controls.
	Drift *Drift
	// Weighted is nil unless the statements carry weights.
	Weighted *WeightedChange
}

// WeightedChange is the workload's median latency as the application
// sends it: each statement's median weighted by how often it is sent (a
// .sql file's `-- weight:` comments), before and after.
type WeightedChange struct {
	// Statements counts the weighted statements both runs measured.
	Statements int `json:"statements"`
	// BeforeMs and AfterMs are Σ weight × median latency, in milliseconds
	// per weight unit (per 1,000 requests when the weights count them).
	BeforeMs float64 `json:"before_ms"`
	AfterMs  float64 `json:"after_ms"`
	// ChangePct is AfterMs over BeforeMs, minus one, in percent: negative
	// is faster.
	ChangePct float64 `json:"change_pct"`
}

// weighted sums the weighted medians of the statements both runs
// measured and weigh alike; nil when none carries a weight.
func weighted(cs []Comparison, before, after *Run) *WeightedChange {
	w := &WeightedChange{}
	for _, c := range cs {
		a, b := after.Statement(c.Name), before.Statement(c.Name)
		if a == nil || b == nil || a.Weight <= 0 || a.Weight != b.Weight || a.Calls == 0 || b.Calls == 0 {
			continue
		}
		w.Statements++
		w.BeforeMs += a.Weight * b.P50Ms
		w.AfterMs += a.Weight * a.P50Ms
	}
	if w.Statements == 0 || w.BeforeMs <= 0 {
		return nil
	}
	w.ChangePct = finite(changePct(w.BeforeMs, w.AfterMs))
	return w
}

// Compare puts every statement the two runs share beside itself, in the
// after run's order, and judges each. targeted names the statements meant
// to be served by the indexes added between the runs; expect is the
// profile's promise they are placed against.
//
// A statement's verdict is reached in this order:
//
//  1. inconclusive when either run has no successful call, the SQL differs,
//     or the environment differs in a way that matters for the statement
//     (the server version or a plan setting; for the tables it reads, rows
//     off by more than RowsTolerancePct);
//  2. buffers decide when both runs have them from the same source and they
//     differ beyond rounding and by more than the noise: fewer is improved,
//     more is regressed. Buffers do not depend on how busy the machine is;
//  3. otherwise latency decides, and needs both significance (p < alpha)
//     and a size (a median change above the noise), else unchanged
//     (inconclusive when the samples are too few for the test to ever reach
//     alpha). Two guards keep a busy machine from passing for a change: a
//     significant change with the same plan and the same buffers is
//     inconclusive (the statement did the same work, so the time it took
//     moved with the machine), and so is a change of a statement whose plan
//     changed that stays within the Drift of those unchanged statements.
func Compare(before, after *Run, o CompareOptions, targeted map[string]bool, expect *ExpectRange) Outcome {
	out := Outcome{EnvironmentDiff: DiffEnvironments(&before.Environment, &after.Environment)}
	type pending struct {
		c       Comparison
		b, a    *StatementRun
		lc      latencyChange
		matters []Difference
	}
	var all []*pending
	for i := range after.Statements {
		a := &after.Statements[i]
		b := before.Statement(a.Name)
		if b == nil {
			continue
		}
		p := &pending{b: b, a: a, matters: mattersFor(out.EnvironmentDiff, b, a)}
		p.c = Comparison{
			Name: a.Name, BeforeP50Ms: b.P50Ms, AfterP50Ms: a.P50Ms,
			BeforeBuffers: b.BuffersPerCall, AfterBuffers: a.BuffersPerCall,
			PlanChanged: b.PlanHash != a.PlanHash,
			Targeted:    targeted[a.Name],
		}
		if len(b.Samples) > 0 && len(a.Samples) > 0 {
			p.lc = compareLatency(b.Samples, a.Samples, o.Alpha)
			p.c.MedianChangePct = finite(p.lc.changePct)
			p.c.CILowPct, p.c.CIHighPct = p.lc.lowPct, p.lc.highPct
			p.c.PValue = p.lc.p
			p.c.Warnings = p.lc.warnings
		}
		if b.BuffersPerCall != nil && a.BuffersPerCall != nil && b.BuffersSource == a.BuffersSource {
			v := changePct(*b.BuffersPerCall, *a.BuffersPerCall)
			if !math.IsInf(v, 0) {
				p.c.BuffersChangePct = &v
			}
		}
		all = append(all, p)
	}
	var drift []float64
	for _, p := range all {
		if p.b.Calls > 0 && p.a.Calls > 0 && p.b.SQLHash == p.a.SQLHash && len(p.matters) == 0 &&
			!p.c.PlanChanged && buffersState(&p.c, o.NoisePct) == buffersSame {
			drift = append(drift, p.c.MedianChangePct)
		}
	}
	if len(drift) >= MinDriftControls {
		slices.Sort(drift)
		out.Drift = &Drift{Controls: len(drift), LowPct: drift[0], HighPct: drift[len(drift)-1], MedianPct: Median(drift)}
	}
	for _, p := range all {
		judge(&p.c, p.b, p.a, p.lc, p.matters, out.Drift, o)
		if p.c.Targeted && expect != nil {
			p.c.Expectation = expect.Place(p.c.ImprovementPct())
		}
		out.Comparison = append(out.Comparison, p.c)
	}
	out.Weighted = weighted(out.Comparison, before, after)
	return out
}

// Median is the middle of vs (the mean of the two middles for an even
// count); 0 for none. vs is left as it is.
func Median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// How two runs' buffers per call compare.
const (
	buffersUnknown = iota // either run lacks them, or they come from different sources
	buffersSame           // within rounding
	buffersClose          // beyond rounding, within the noise
	buffersMoved          // beyond rounding and the noise
)

func buffersState(c *Comparison, noisePct float64) int {
	if c.BuffersChangePct == nil {
		return buffersUnknown
	}
	d, pct := math.Abs(*c.BeforeBuffers-*c.AfterBuffers), math.Abs(*c.BuffersChangePct)
	switch {
	case d < bufferRoundingAbs || pct <= BufferRoundingPct:
		return buffersSame
	case pct <= noisePct:
		return buffersClose
	}
	return buffersMoved
}

// Where an improvement falls against a promised range.
const (
	Below  = "below"
	Within = "within"
	Above  = "above"
)

// Place says where an improvement in percent falls against the promised
// range: Below, Within or Above; empty when nothing was promised.
func (r *ExpectRange) Place(pct float64) string {
	switch {
	case r == nil:
		return ""
	case pct < r.MinPct:
		return Below
	case pct > r.MaxPct:
		return Above
	}
	return Within
}

// judge sets a comparison's verdict, what decided it and why, by the rules
// Compare lists.
func judge(c *Comparison, before, after *StatementRun, lc latencyChange, matters []Difference, drift *Drift, o CompareOptions) {
	set := func(v Verdict, by, reason string) { c.Verdict, c.DecidedBy, c.Reason = v, by, reason }
	switch {
	case before.Calls == 0 || after.Calls == 0:
		which := "after"
		if before.Calls == 0 {
			which = "before"
		}
		set(Inconclusive, "errors", "no successful call in the "+which+" run")
		return
	case before.SQLHash != after.SQLHash:
		set(Inconclusive, "sql", "the two runs ran different SQL under this name")
		return
	case len(matters) > 0:
		set(Inconclusive, "environment", describeDiffs(matters))
		return
	}
	noise := o.NoisePct
	latency := fmt.Sprintf("latency %+.1f%% (p=%.3g)", c.MedianChangePct, lc.p)
	bs := buffersState(c, noise)
	if bs == buffersMoved {
		v := Improved
		if *c.BuffersChangePct > 0 {
			v = Regressed
		}
		reason := fmt.Sprintf("buffers per call %.1f → %.1f (%+.0f%%)", *c.BeforeBuffers, *c.AfterBuffers, *c.BuffersChangePct)
		if lc.p < o.Alpha && math.Abs(c.MedianChangePct) > noise && (c.MedianChangePct < 0) != (v == Improved) {
			reason += "; " + latency + " the other way"
		}
		set(v, "buffers", reason)
		return
	}
	switch {
	case !lc.detectable:
		set(Inconclusive, "latency", "too few samples for the U test to reach alpha "+trimFloat(o.Alpha)+": raise "+optionName(o.OptionName)(OptIterations))
	case lc.p >= o.Alpha:
		set(Unchanged, "latency", fmt.Sprintf("no significant change in latency (p=%.3g)", lc.p))
	case math.Abs(c.MedianChangePct) <= noise:
		set(Unchanged, "latency", fmt.Sprintf("%s, within the %s%% noise", latency, trimFloat(noise)))
	case !c.PlanChanged && bs != buffersUnknown:
		set(Inconclusive, "latency", latency+" with the same plan and buffers within the noise: the machine's load moved, not the statement's work")
	case drift != nil && !beyondDrift(c.MedianChangePct, drift, noise):
		set(Inconclusive, "latency", fmt.Sprintf("%s, within the drift of the %d statements whose plan and buffers did not change (%+.1f%% to %+.1f%%) and the %s%% noise",
			latency, drift.Controls, drift.LowPct, drift.HighPct, trimFloat(noise)))
	default:
		v := Improved
		if c.MedianChangePct > 0 {
			v = Regressed
		}
		why := "the plan changed"
		if !c.PlanChanged {
			why = "buffers not comparable"
		}
		if drift != nil {
			why += fmt.Sprintf(", beyond the drift of unchanged statements (%+.1f%% to %+.1f%%)", drift.LowPct, drift.HighPct)
		}
		set(v, "latency", latency+"; "+why)
	}
}

// beyondDrift reports whether a change in latency leaves the drift's range
// by more than the noise: slower than its slowest control, or faster than
// its fastest, by noisePct more. A statement drawn from the controls' own
// spread lands outside the range of n of them with probability 2/(n+1), so
// the range alone would not do.
func beyondDrift(changePct float64, d *Drift, noisePct float64) bool {
	ratio := 1 + changePct/100
	return ratio > (1+d.HighPct/100)*(1+noisePct/100) || ratio < (1+d.LowPct/100)*(1-noisePct/100)
}

func trimFloat(v float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.4f", v), "0"), ".")
}

// DiffEnvironments lists how two environments differ: server version,
// plan settings, tables' row counts (by more than RowsTolerancePct) and
// presence, and indexes added, dropped or redefined.
func DiffEnvironments(before, after *Environment) []Difference {
	var out []Difference
	if before.ServerVersion != after.ServerVersion {
		out = append(out, Difference{Kind: "server_version", Before: before.ServerVersion, After: after.ServerVersion, Matters: true})
	}
	names := make([]string, 0, len(before.Settings)+len(after.Settings))
	for n := range before.Settings {
		names = append(names, n)
	}
	for n := range after.Settings {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range slices.Compact(names) {
		if before.Settings[n] != after.Settings[n] {
			out = append(out, Difference{Kind: "setting", Name: n, Before: before.Settings[n], After: after.Settings[n], Matters: true})
		}
	}
	for _, t := range before.Tables {
		at := after.Table(t.Name)
		if at == nil {
			out = append(out, Difference{Kind: "table", Name: t.Name, Before: fmt.Sprintf("%d rows", t.Rows), After: "missing", Matters: true})
			continue
		}
		if pct := changePct(float64(t.Rows), float64(at.Rows)); math.Abs(pct) > RowsTolerancePct {
			out = append(out, Difference{Kind: "rows", Name: t.Name, Before: fmt.Sprint(t.Rows), After: fmt.Sprint(at.Rows), Matters: true})
		}
	}
	for _, t := range after.Tables {
		if before.Table(t.Name) == nil {
			out = append(out, Difference{Kind: "table", Name: t.Name, Before: "missing", After: fmt.Sprintf("%d rows", t.Rows), Matters: true})
		}
	}
	for _, ix := range before.Indexes {
		ai := after.Index(ix.Name)
		switch {
		case ai == nil:
			out = append(out, Difference{Kind: "index", Name: ix.Name, Before: ix.Definition, After: "dropped"})
		case ai.Definition != ix.Definition || ai.Valid != ix.Valid:
			out = append(out, Difference{Kind: "index", Name: ix.Name, Before: indexState(ix), After: indexState(*ai)})
		}
	}
	for _, ix := range after.Indexes {
		if before.Index(ix.Name) == nil {
			out = append(out, Difference{Kind: "index", Name: ix.Name, Before: "missing", After: indexState(ix)})
		}
	}
	return out
}

func indexState(ix IndexInfo) string {
	if !ix.Valid {
		return ix.Definition + " (INVALID)"
	}
	return ix.Definition
}

// mattersFor returns the differences that make a statement's latencies
// incomparable: every version or setting difference, and the table
// differences of the tables it reads.
func mattersFor(diffs []Difference, stmts ...*StatementRun) []Difference {
	var out []Difference
	for _, d := range diffs {
		if !d.Matters {
			continue
		}
		if d.Kind != "rows" && d.Kind != "table" {
			out = append(out, d)
			continue
		}
		for _, s := range stmts {
			if slices.Contains(s.Relations, d.Name) {
				out = append(out, d)
				break
			}
		}
	}
	return out
}

func describeDiffs(ds []Difference) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		switch d.Kind {
		case "server_version":
			parts[i] = fmt.Sprintf("server version %s → %s", d.Before, d.After)
		case "rows":
			parts[i] = fmt.Sprintf("%s rows %s → %s", d.Name, d.Before, d.After)
		default:
			parts[i] = fmt.Sprintf("%s %s → %s", d.Name, d.Before, d.After)
		}
	}
	return "the environment differs: " + strings.Join(parts, "; ")
}

// AddedIndexes returns the valid indexes the after environment has and the
// before one has not (or had invalid, or defined otherwise).
func AddedIndexes(before, after *Environment) []IndexInfo {
	var out []IndexInfo
	for _, ix := range after.Indexes {
		b := before.Index(ix.Name)
		if ix.Valid && (b == nil || !b.Valid || b.Definition != ix.Definition) {
			out = append(out, ix)
		}
	}
	return out
}

// Targeted names the workload's statements meant to be served by the given
// indexes: a statement whose profile lists an index with the same name, or
// one on the same table with the same keys (a migration may name it
// otherwise). The keys compared are index definitions, the profile's
// columns and the catalog's pg_get_indexdef each read by internal/sqlscan,
// so "created_at DESC" is the catalog's created_at DESC.
func Targeted(w *Workload, added []IndexInfo) map[string]bool {
	out := map[string]bool{}
	if w == nil || w.Profile == nil {
		return out
	}
	defs := make([]*indexdef.Def, len(added))
	for i, ix := range added {
		defs[i] = ix.Def()
	}
	for _, s := range w.Statements {
		for _, name := range s.Indexes {
			var want *indexdef.Def
			if pi := w.Profile.Index(name); pi != nil {
				if d, err := pi.Def(); err == nil {
					want = &d
				}
			}
			for i, ix := range added {
				if ix.Name == name || want != nil && defs[i] != nil && sameTable(ix.Table, want.Table) && indexdef.SameKeys(defs[i].Keys, want.Keys) {
					out[s.Name] = true
				}
			}
		}
	}
	return out
}

// sameTable compares a regclass name (maybe schema-qualified) with a
// profile's table name.
func sameTable(regclass, table string) bool {
	return regclass == table || strings.HasSuffix(regclass, "."+table) || strings.HasSuffix(table, "."+regclass)
}
