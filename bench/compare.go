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

// BusyDriftPct is how far the unchanged statements may move between two
// runs, or spread, before the report says the machine was busy: beyond a
// fifth, the machine's load changed more than most index changes do, and
// verdicts on time lean on the drift guard.
const BusyDriftPct = 20.0

// Busy reports whether the drift says the machine's load changed between
// the runs (BusyDriftPct).
func (d *Drift) Busy() bool {
	return d != nil && (math.Abs(d.MedianPct) > BusyDriftPct || d.HighPct-d.LowPct > BusyDriftPct)
}

// Outcome is what Compare concludes.
type Outcome struct {
	Comparison      []Comparison
	EnvironmentDiff []Difference
	// Drift and ServerDrift are nil with fewer than MinDriftControls
	// controls.
	Drift       *Drift
	ServerDrift *Drift
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
// after run's order, and judges each. listed names, per statement, the
// indexes the caller means to serve it (a profile's, as Targeted finds
// them among the indexes added); expect is the workload's promise, which
// targeted statements are placed against (a statement's own promise,
// StatementRun.Expect, comes first).
//
// Three metrics are evidence, each judged on its own (Movement):
//
//   - latency: the client's median, compared with benchstat's statistics
//     (a Mann–Whitney U test, the medians' 95% intervals);
//   - server: the server's mean time per call, from pg_stat_statements'
//     sums (see ServerTime), compared with Welch's t-test and Fieller's
//     interval on the ratio of the means (compareMeans): with no per-call
//     samples there is no rank test to run;
//   - buffers: shared buffers per call, which do not depend on how busy
//     the machine is, so a difference beyond rounding and the noise is a
//     change without a test.
//
// latency and server move (Down or Up) only with significance (p <
// alpha) and a size (beyond the noise); two guards keep a busy machine
// from passing for a change: a significant change with the same plan and
// the same buffers is Machine (the statement did the same work, so the
// time it took moved with the machine), and so is a change that stays
// within the Drift of the statements whose plan and buffers did not
// change (for server time, their ServerDrift).
//
// A statement's verdict is then reached in this order:
//
//  1. inconclusive when either run has no successful call, the SQL differs,
//     or the environment differs in a way that matters for the statement
//     (the server version or a plan setting; for the tables it reads, rows
//     off by more than RowsTolerancePct);
//  2. mixed when latency and server time moved opposite ways;
//  3. regressed when either went up, whatever buffers did: buffers count
//     pages, not CPU, and a hash, a sort or an aggregate can take longer
//     over fewer pages. What users feel is the time;
//  4. mixed when time went down and buffers went up: faster with the
//     pages cached, but the pages read are what a colder cache or a busier
//     server pays for;
//  5. improved when time went down, and buffers did not go up;
//  6. with time unmoved, buffers decide: up is regressed, down improved,
//     unless a time went up by a change the machine explains (Machine):
//     fewer pages do not show it is not slower, so that is inconclusive;
//  7. otherwise inconclusive when a time metric moved with the machine or
//     had too few samples to ever be significant, else unchanged.
func Compare(before, after *Run, o CompareOptions, listed map[string][]string, expect *ExpectRange) Outcome {
	out := Outcome{EnvironmentDiff: DiffEnvironments(&before.Environment, &after.Environment)}
	type pending struct {
		c       Comparison
		b, a    *StatementRun
		lc      latencyChange
		sc      meanChange
		matters []Difference
	}
	fresh := newIndexes(&before.Environment, &after.Environment)
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
			Metric:      o.metric(),
		}
		target(&p.c, a, fresh, listed[a.Name])
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
		if comparableServer(b.Server, a.Server) {
			p.sc = compareMeans(serverSummary(b.Server), serverSummary(a.Server))
			bm, am := b.Server.MeanMs, a.Server.MeanMs
			p.c.BeforeServerMs, p.c.AfterServerMs = &bm, &am
			if p.sc.detectable {
				ch, pv := p.sc.changePct, p.sc.p
				p.c.ServerChangePct, p.c.ServerPValue = &ch, &pv
				p.c.ServerCILowPct, p.c.ServerCIHighPct = p.sc.lowPct, p.sc.highPct
			}
		}
		all = append(all, p)
	}
	var drift, serverDrift []float64
	for _, p := range all {
		if p.b.Calls > 0 && p.a.Calls > 0 && p.b.SQLHash == p.a.SQLHash && len(p.matters) == 0 &&
			!p.c.PlanChanged && buffersState(&p.c, o.NoisePct) == buffersSame {
			drift = append(drift, p.c.MedianChangePct)
			if p.c.ServerChangePct != nil {
				serverDrift = append(serverDrift, *p.c.ServerChangePct)
			}
		}
	}
	out.Drift, out.ServerDrift = driftOf(drift), driftOf(serverDrift)
	for _, p := range all {
		judge(&p.c, p.b, p.a, p.lc, p.sc, p.matters, out.Drift, out.ServerDrift, o)
		p.c.Promise = p.a.Expect
		if p.c.Promise == nil && p.c.Targeted {
			p.c.Promise = expect
		}
		if pct, _, ok := p.c.Improvement(p.c.Metric); ok {
			p.c.Expectation = p.c.Promise.Place(pct)
		}
		out.Comparison = append(out.Comparison, p.c)
	}
	out.Weighted = weighted(out.Comparison, before, after)
	return out
}

// driftOf is the Drift of the controls' changes; nil with fewer than
// MinDriftControls.
func driftOf(changes []float64) *Drift {
	if len(changes) < MinDriftControls {
		return nil
	}
	slices.Sort(changes)
	return &Drift{Controls: len(changes), LowPct: changes[0], HighPct: changes[len(changes)-1], MedianPct: Median(changes)}
}

// comparableServer reports whether two runs' server times can be
// compared: both measured, from one source, counting planning alike.
func comparableServer(b, a *ServerTime) bool {
	return b != nil && a != nil && b.Source == a.Source && b.Planning == a.Planning
}

// target marks a comparison targeted: its after plan uses an index added
// between the runs (fresh, by name as the environment lists it), or the
// caller listed indexes for it. Where a listed index was added and the
// plan does not use it, TargetCheck says so.
func target(c *Comparison, after *StatementRun, fresh map[string]*IndexInfo, listed []string) {
	for _, used := range after.IndexesUsed {
		if ix := lookupIndex(fresh, used); ix != nil {
			c.TargetedBy = append(c.TargetedBy, used)
		}
	}
	c.Targeted = len(c.TargetedBy) > 0 || len(listed) > 0
	var unused []string
	for _, name := range listed {
		if lookupIndex(fresh, name) != nil && !slices.ContainsFunc(after.IndexesUsed, func(u string) bool { return sameIndexName(u, name) }) {
			unused = append(unused, name)
		}
	}
	if len(unused) == 0 {
		return
	}
	uses := "no index"
	if len(after.IndexesUsed) > 0 {
		uses = strings.Join(after.IndexesUsed, ", ")
	}
	c.TargetCheck = fmt.Sprintf("the profile expects %s to serve this statement; the plan uses %s", strings.Join(unused, ", "), uses)
}

// lookupIndex finds an index by name in a set keyed by the environment's
// names (regclass text, schema-qualified off the search_path).
func lookupIndex(set map[string]*IndexInfo, name string) *IndexInfo {
	if ix, ok := set[name]; ok {
		return ix
	}
	for k, ix := range set {
		if sameIndexName(k, name) {
			return ix
		}
	}
	return nil
}

// sameIndexName compares two index names of which either may be
// schema-qualified (EXPLAIN names an index without its schema).
func sameIndexName(a, b string) bool {
	return a == b || strings.HasSuffix(a, "."+b) || strings.HasSuffix(b, "."+a)
}

// newIndexes are the valid indexes of the after environment that no
// valid index of the before one defines: compared as index definitions
// (internal/indexdef, read from pg_get_indexdef) without their names, so
// an index dropped and built again under another name is not new, and
// one redefined under its old name is.
func newIndexes(before, after *Environment) map[string]*IndexInfo {
	had := map[string]bool{}
	for _, ix := range before.Indexes {
		if ix.Valid {
			had[defKey(ix)] = true
		}
	}
	out := map[string]*IndexInfo{}
	for i, ix := range after.Indexes {
		if ix.Valid && !had[defKey(ix)] {
			out[ix.Name] = &after.Indexes[i]
		}
	}
	return out
}

// defKey is an index's definition without its name: its CREATE INDEX as
// internal/indexdef writes it, or the catalog's text with the name taken
// out when it does not read as one.
func defKey(ix IndexInfo) string {
	d := ix.Def()
	if d == nil {
		return strings.Replace(ix.Definition, " "+ix.Name+" ", " ", 1)
	}
	nd := *d
	nd.Name, nd.Comment = "", ""
	return nd.CreateSQL(false, false)
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

// timeChange is what judge needs of one time metric's comparison.
type timeChange struct {
	metric     Metric
	changePct  float64
	p          float64
	detectable bool
	drift      *Drift
}

// words names a time metric in reasons.
func (t timeChange) words() string {
	if t.metric == MetricServer {
		return "server time"
	}
	return "latency"
}

// moved says how a time metric moved, its figure and why the figure
// does or does not count: the guards of Compare (significance, the noise,
// the same plan and buffers, the drift) in order.
func (t timeChange) moved(planChanged bool, bs int, noise, alpha float64) (m Movement, fig, why string) {
	fig = fmt.Sprintf("%s %+.1f%% (%s)", t.words(), t.changePct, pWords(t.p))
	switch {
	case !t.detectable:
		return Unknown, "", ""
	case t.p >= alpha:
		return Steady, fmt.Sprintf("no significant change in %s (%s)", t.words(), pWords(t.p)), ""
	case math.Abs(t.changePct) <= noise:
		return Steady, fig, fmt.Sprintf("within the %s%% noise", trimFloat(noise))
	case !planChanged && bs != buffersUnknown && bs != buffersMoved:
		return Machine, fig, "with the same plan and buffers within the noise: the machine's load moved, not the statement's work"
	case t.drift != nil && !beyondDrift(t.changePct, t.drift, noise):
		return Machine, fig, fmt.Sprintf("within the drift of the %d statements whose plan and buffers did not change (%+.1f%% to %+.1f%%) and the %s%% noise",
			t.drift.Controls, t.drift.LowPct, t.drift.HighPct, trimFloat(noise))
	case t.changePct < 0:
		return Down, fig, ""
	}
	return Up, fig, ""
}

// pWords writes a p-value as reasons show it: p<0.001, p=0.0123.
func pWords(p float64) string {
	if p < 0.001 {
		return "p<0.001"
	}
	return fmt.Sprintf("p=%.3g", p)
}

// evidence is one metric's say in a verdict.
type evidence struct {
	moved    Movement
	fig, why string
}

// sayAll words the evidence of the given movements, in Metrics' order:
// figures that share a why are joined and said once ("latency +40% (…)
// and server time +80% (…) with the same plan …"). It also returns the
// metrics' names joined by "+".
func sayAll(ev map[Metric]evidence, ms ...Movement) (names, words string) {
	var ns, parts []string
	var figs []string
	why := ""
	flush := func() {
		if len(figs) == 0 {
			return
		}
		p := strings.Join(figs, " and ")
		if why != "" {
			p += " " + why
			if strings.HasPrefix(why, "within") {
				p = strings.Join(figs, " and ") + ", " + why
			}
		}
		parts, figs = append(parts, p), nil
	}
	for _, m := range Metrics {
		e := ev[m]
		if !slices.Contains(ms, e.moved) || e.fig == "" {
			continue
		}
		ns = append(ns, string(m))
		if e.why != why {
			flush()
			why = e.why
		}
		figs = append(figs, e.fig)
	}
	flush()
	return strings.Join(ns, "+"), strings.Join(parts, "; ")
}

// judge sets a comparison's movements, verdict, what decided it and why,
// by the rules Compare lists.
func judge(c *Comparison, before, after *StatementRun, lc latencyChange, sc meanChange, matters []Difference, drift, serverDrift *Drift, o CompareOptions) {
	set := func(v Verdict, by, reason string) { c.Verdict, c.DecidedBy, c.Reason = v, by, reason }
	c.Latency, c.Server, c.Buffers = Unknown, Unknown, Unknown
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
	bs := buffersState(c, noise)
	ev := map[Metric]evidence{MetricLatency: {moved: Unknown}, MetricServer: {moved: Unknown}, MetricBuffers: {moved: Unknown}}
	switch bs {
	case buffersMoved:
		m := Down
		if *c.BuffersChangePct > 0 {
			m = Up
		}
		ev[MetricBuffers] = evidence{moved: m, fig: fmt.Sprintf("buffers per call %.1f → %.1f (%+.0f%%)", *c.BeforeBuffers, *c.AfterBuffers, *c.BuffersChangePct)}
	case buffersSame, buffersClose:
		ev[MetricBuffers] = evidence{moved: Steady}
	}
	var e evidence
	e.moved, e.fig, e.why = timeChange{MetricLatency, c.MedianChangePct, lc.p, lc.detectable, drift}.moved(c.PlanChanged, bs, noise, o.Alpha)
	ev[MetricLatency] = e
	if c.ServerChangePct != nil {
		e.moved, e.fig, e.why = timeChange{MetricServer, *c.ServerChangePct, *c.ServerPValue, sc.detectable, serverDrift}.moved(c.PlanChanged, bs, noise, o.Alpha)
		ev[MetricServer] = e
	}
	c.Latency, c.Server, c.Buffers = ev[MetricLatency].moved, ev[MetricServer].moved, ev[MetricBuffers].moved
	bufWords := ev[MetricBuffers].fig
	// aside is what the time metrics said when buffers decided.
	aside := func() string {
		_, w := sayAll(map[Metric]evidence{MetricLatency: ev[MetricLatency], MetricServer: ev[MetricServer]}, Steady, Machine)
		if w == "" {
			return ""
		}
		return "; " + w
	}
	timeUp := c.Latency == Up || c.Server == Up
	timeDown := c.Latency == Down || c.Server == Down
	switch {
	case timeUp && timeDown:
		names, words := sayAll(ev, Up, Down)
		set(Mixed, names, words+": client latency and server time moved opposite ways")
	case timeUp && c.Buffers == Down:
		names, words := sayAll(ev, Up)
		set(Regressed, names, words+" although "+bufWords+": fewer pages, more work on them (a hash, a sort or an aggregate costs CPU that buffers do not count)")
	case timeUp:
		names, words := sayAll(ev, Up)
		set(Regressed, names, words+planWords(c, drift))
	case timeDown && c.Buffers == Up:
		names, words := sayAll(ev, Up, Down)
		set(Mixed, names, words+": faster with the pages cached, but reading more of them, which a colder cache or a busier server pays for")
	case timeDown:
		names, words := sayAll(ev, Down)
		set(Improved, names, words+planWords(c, drift))
	case c.Buffers == Up:
		set(Regressed, "buffers", bufWords+aside())
	case c.Buffers == Down && (c.Latency == Machine && c.MedianChangePct > 0 || c.Server == Machine && *c.ServerChangePct > 0):
		_, words := sayAll(ev, Machine)
		set(Inconclusive, "buffers", bufWords+", but "+words+": it may be slower over fewer pages, and the machine's noise hides whether it is")
	case c.Buffers == Down:
		set(Improved, "buffers", bufWords+aside())
	case c.Latency == Machine || c.Server == Machine:
		names, words := sayAll(ev, Machine)
		set(Inconclusive, names, words)
	case c.Latency == Unknown && c.Server != Steady:
		set(Inconclusive, "latency", "too few samples for the U test to reach alpha "+trimFloat(o.Alpha)+": raise "+optionName(o.OptionName)(OptIterations))
	default:
		_, words := sayAll(ev, Steady)
		set(Unchanged, "latency", words)
	}
}

// planWords says, after a time metric's figures, what stands behind a
// change: a new plan, or buffers that cannot be compared, beyond the
// drift of the unchanged statements when there is one.
func planWords(c *Comparison, drift *Drift) string {
	why := "the plan changed"
	switch {
	case c.Buffers == Up || c.Buffers == Down:
		why = ""
	case !c.PlanChanged:
		why = "buffers not comparable"
	}
	if drift != nil {
		if why != "" {
			why += ", "
		}
		why += fmt.Sprintf("beyond the drift of unchanged statements (%+.1f%% to %+.1f%%)", drift.LowPct, drift.HighPct)
	}
	if why == "" {
		return ""
	}
	return "; " + why
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
	var ixs []Difference
	parent := map[string]string{}
	for _, ix := range before.Indexes {
		ai := after.Index(ix.Name)
		switch {
		case ai == nil:
			ixs = append(ixs, Difference{Kind: "index", Name: ix.Name, Before: ix.Definition, After: "dropped"})
			parent[ix.Name] = ix.Parent
		case ai.Definition != ix.Definition || ai.Valid != ix.Valid:
			ixs = append(ixs, Difference{Kind: "index", Name: ix.Name, Before: indexState(ix), After: indexState(*ai)})
			parent[ix.Name] = ai.Parent
		}
	}
	for _, ix := range after.Indexes {
		if before.Index(ix.Name) == nil {
			ixs = append(ixs, Difference{Kind: "index", Name: ix.Name, Before: "missing", After: indexState(ix)})
			parent[ix.Name] = ix.Parent
		}
	}
	return append(out, foldPartitions(ixs, parent)...)
}

// partitionTop is the topmost index above name in its partition tree
// whose every level up from name is in (parent gives each index's
// partitioned index, "" at the top), or "" when name's own parent is not.
func partitionTop(name string, parent func(string) string, in func(string) bool) string {
	top := ""
	for p := parent(name); p != "" && in(p); p = parent(p) {
		top = p
	}
	return top
}

// FoldIndexes names indexes (what --apply built) with each partition's
// index counted on the topmost of its partitioned indexes that is among
// them, as the environment e (read after the apply) attaches them: the
// names kept, in order, and how many partitions' indexes each counts.
func (e *Environment) FoldIndexes(indexes []string) ([]string, map[string]int) {
	built := map[string]bool{}
	for _, n := range indexes {
		built[n] = true
	}
	parent := func(n string) string {
		if ix := e.Index(n); ix != nil {
			return ix.Parent
		}
		return ""
	}
	parts := map[string]int{}
	var names []string
	for _, n := range indexes {
		if top := partitionTop(n, parent, func(p string) bool { return built[p] }); top != "" {
			parts[top]++
			continue
		}
		names = append(names, n)
	}
	return names, parts
}

// foldPartitions counts a partition's index difference on its
// partitioned index's when that index changed the same way (both made,
// both dropped): an index applied to a table of 55 partitions is one
// difference, not 56.
func foldPartitions(ds []Difference, parent map[string]string) []Difference {
	at := map[string]int{}
	for i, d := range ds {
		at[d.Name] = i
	}
	same := func(a, b Difference) bool {
		return (a.Before == "missing") == (b.Before == "missing") && (a.After == "dropped") == (b.After == "dropped")
	}
	folded := make([]bool, len(ds))
	for i, d := range ds {
		// Up the tree while the level above changed the same way: a
		// sub-partition's index counts on the top index.
		top := partitionTop(d.Name, func(n string) string { return parent[n] }, func(n string) bool {
			j, ok := at[n]
			return ok && same(ds[j], d)
		})
		if top != "" {
			ds[at[top]].Partitions++
			folded[i] = true
		}
	}
	var out []Difference
	for i, d := range ds {
		if !folded[i] {
			out = append(out, d)
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
// before one has not: defined otherwise, or invalid before (see
// newIndexes), in the after environment's order.
func AddedIndexes(before, after *Environment) []IndexInfo {
	fresh := newIndexes(before, after)
	var out []IndexInfo
	for _, ix := range after.Indexes {
		if fresh[ix.Name] != nil {
			out = append(out, ix)
		}
	}
	return out
}

// Targeted lists, per statement of a profile's workload, the indexes of
// added that the profile means to serve it: an index the statement's
// profile lists by the same name, or one on the same table with the same
// keys (a migration may name it otherwise). The keys compared are index
// definitions, the profile's columns and the catalog's pg_get_indexdef
// each read by internal/sqlscan, so "created_at DESC" is the catalog's
// created_at DESC. A .sql workload lists none: its statements are
// targeted by their plans alone (see Compare).
func Targeted(w *Workload, added []IndexInfo) map[string][]string {
	out := map[string][]string{}
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
				if (sameIndexName(ix.Name, name) || want != nil && defs[i] != nil && sameTable(ix.Table, want.Table) && indexdef.SameKeys(defs[i].Keys, want.Keys)) &&
					!slices.Contains(out[s.Name], ix.Name) {
					out[s.Name] = append(out[s.Name], ix.Name)
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
