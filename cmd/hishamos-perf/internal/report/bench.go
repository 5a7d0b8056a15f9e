package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hishamos/hishamos-perf/bench"
)

// BenchOptions say what bench's output holds besides the report.
type BenchOptions struct {
	// Samples keeps every latency sample in --format json.
	Samples bool
}

// benchCompactLevels are the ways a bench document gets shorter for
// Markdown: 1 leaves out the run table and unchanged statements, 2 also
// every comparison row past the first maxComparisonRows.
const benchCompactLevels = 2

// maxComparisonRows is how many comparison rows the shortest Markdown
// keeps: a hundred statements still read as a table in a comment.
const maxComparisonRows = 100

// Bench lays a bench report out: the migrations --apply ran, the run and
// its requests (left out of a short Markdown once there is a comparison),
// the environment's differences, the comparison, the requests' pairs
// compared and the gate.
func Bench(rep *bench.Report, o BenchOptions) *Doc {
	doc := benchDoc(rep, o, 0)
	doc.benchmarks = func() []benchRecord { return Benchmarks(rep) }
	return doc
}

// benchDoc is the document at one level of compactness.
func benchDoc(rep *bench.Report, o BenchOptions, compact int) *Doc {
	doc := &Doc{JSON: rep}
	if !o.Samples {
		doc.JSON = rep.WithoutSamples()
	}
	if rep.Migrations != nil {
		doc.Blocks = append(doc.Blocks, migrationsTable(rep.Migrations, &rep.Run.Environment))
	}
	if rep.Baseline == nil || compact == 0 {
		doc.Blocks = append(doc.Blocks, runTable(&rep.Run, rep.Baseline != nil))
		if len(rep.Requests) > 0 {
			doc.Blocks = append(doc.Blocks, requestsTable(&rep.Run))
		}
	}
	if len(rep.EnvironmentDiff) > 0 {
		doc.Blocks = append(doc.Blocks, envDiffTable(rep.EnvironmentDiff))
	}
	if rep.Comparison != nil {
		doc.Blocks = append(doc.Blocks, comparisonTable(rep, compact))
	}
	if len(rep.RequestComparison) > 0 {
		doc.Blocks = append(doc.Blocks, requestComparisonTable(rep.RequestComparison))
	}
	if rep.Gate != nil {
		doc.Blocks = append(doc.Blocks, gateTable(rep.Gate))
	}
	if compact < benchCompactLevels {
		doc.Shorter = func() (*Doc, bool) { return benchDoc(rep, o, compact+1), true }
	}
	return doc
}

// ms writes milliseconds as bench's tables do: three decimals.
func ms(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }

// msCell is a latency in milliseconds.
func msCell(v float64) Cell { return Num(v, ms(v)) }

// buffersCell is buffers per call, "-" when unknown.
func buffersCell(v *float64) Cell {
	if v == nil {
		return Dash()
	}
	return Num(*v, strconv.FormatFloat(*v, 'f', 1, 64))
}

// serverCells are a statement's server time: the mean shown, and in CSV
// its deviation, execution and planning means and source; "-" when
// unknown.
func serverCells(st *bench.ServerTime) []Cell {
	if st == nil {
		return []Cell{Dash(), Dash(), Dash(), Dash(), Dash()}
	}
	return []Cell{msCell(st.MeanMs), msCell(st.StddevMs), msCell(st.ExecMeanMs), msCell(st.PlanMeanMs), Str(st.Source)}
}

// optMsCell is a latency in milliseconds, "-" when unknown.
func optMsCell(v *float64) Cell {
	if v == nil {
		return Dash()
	}
	return msCell(*v)
}

// optMs is milliseconds, "-" when unknown.
func optMs(v *float64) string {
	if v == nil {
		return "-"
	}
	return ms(*v)
}

// buffers writes buffers per call, "-" when unknown.
func buffers(v *float64) string { return buffersCell(v).Text }

// signedPct writes a change in percent with its sign.
func signedPct(v float64) string { return fmt.Sprintf("%+.1f%%", v) }

// optNum is v's value, or None.
func optNum(v *float64) any {
	if v == nil {
		return None
	}
	return *v
}

func runTable(run *bench.Run, after bool) *Table {
	title := fmt.Sprintf("bench %s", run.Workload.Name)
	if after {
		title += " (after)"
	}
	per := fmt.Sprintf("%d calls each", run.Settings.Iterations)
	if run.Settings.DurationMs > 0 {
		per = (time.Duration(run.Settings.DurationMs) * time.Millisecond).String()
	}
	clients := fmt.Sprintf("%d client(s)", run.Settings.Clients)
	if th := run.Settings.Threads; th > 0 && th != run.Settings.Clients {
		clients += fmt.Sprintf(" on %d thread(s)", th)
	}
	title += fmt.Sprintf(": %d statements, %s, %s, seed %d", len(run.Statements), per, clients, run.Settings.Seed)
	t := &Table{
		Title: title,
		Columns: []Column{{Name: "statement"}, {Name: "calls", Right: true}, {Name: "failed calls", DataOnly: true},
			{Name: "p50 ms", Right: true}, {Name: "p95 ms", Right: true}, {Name: "p99 ms", Right: true, Optional: true}, {Name: "mean ms", Right: true, Optional: true},
			{Name: "server ms", Right: true}, {Name: "server sd ms", DataOnly: true}, {Name: "exec ms", DataOnly: true}, {Name: "plan ms", DataOnly: true},
			{Name: "server from", DataOnly: true},
			{Name: "rows/call", Right: true}, {Name: "buffers/call", Right: true}, {Name: "buffers from", DataOnly: true},
			{Name: "plan", Optional: true}, {Name: "follow-up", DataOnly: true}},
	}
	sources, servers := map[string]int{}, map[string]int{}
	planning := false
	var noServer []string
	for _, s := range run.Statements {
		name := s.Name
		if s.FollowUp {
			name = "↳ " + name
		}
		calls := Int(s.Calls)
		tone := Plain
		if s.Errors > 0 {
			calls.Text = fmt.Sprintf("%d (+%d failed)", s.Calls, s.Errors)
			tone = Warn
		}
		if s.Calls == 0 && s.Errors > 0 {
			tone = Bad
		}
		cells := []Cell{Full(name, s.Name), calls, Int(s.Errors), msCell(s.P50Ms), msCell(s.P95Ms), msCell(s.P99Ms), msCell(s.MeanMs)}
		cells = append(cells, serverCells(s.Server)...)
		cells = append(cells, Num(s.RowsPerCall, strconv.FormatFloat(s.RowsPerCall, 'f', 1, 64)), buffersCell(s.BuffersPerCall), Str(s.BuffersSource),
			Str(s.PlanHash), Cell{Text: strconv.FormatBool(s.FollowUp), Value: s.FollowUp})
		t.Rows = append(t.Rows, Row{Tone: tone, Cells: cells})
		if s.BuffersSource != "" {
			sources[s.BuffersSource]++
		}
		if s.Server != nil {
			servers[s.Server.Source]++
			planning = planning || s.Server.Planning
		} else if s.Calls > 0 {
			noServer = append(noServer, s.Name)
		}
	}
	env := run.Environment
	notes := []string{fmt.Sprintf("PostgreSQL %s; %s; %.0f calls/s over %s",
		env.ServerVersion, settingsLine(env.Settings), run.CallsPerSecond, (time.Duration(run.ElapsedMs) * time.Millisecond).Round(time.Millisecond))}
	var src []string
	for _, k := range []string{bench.BuffersFromStatements, bench.BuffersFromExplain} {
		if sources[k] > 0 {
			src = append(src, fmt.Sprintf("%s (%d)", k, sources[k]))
		}
	}
	if len(src) > 0 {
		notes = append(notes, "buffers from "+strings.Join(src, ", "))
	}
	var srv []string
	for _, k := range []string{bench.BuffersFromStatements, bench.BuffersFromExplain} {
		if servers[k] > 0 {
			srv = append(srv, fmt.Sprintf("%s (%d)", k, servers[k]))
		}
	}
	if len(srv) > 0 {
		what := "execution only: pg_stat_statements.track_planning is off"
		if planning {
			what = "execution and planning"
		}
		notes = append(notes, fmt.Sprintf("server ms: the server's mean time per call (%s), from %s", what, strings.Join(srv, ", ")))
	}
	switch {
	case run.Schema == bench.SchemaV1:
		notes = append(notes, "no server time: a "+bench.SchemaV1+" run, from before it was recorded")
	case len(noServer) > 0:
		notes = append(notes, "no server time for "+strings.Join(noServer, ", "))
	}
	for _, s := range run.Statements {
		if s.Errors > 0 {
			notes = append(notes, fmt.Sprintf("%s: %d of %d calls failed: %s", s.Name, s.Errors, s.Errors+s.Calls, s.FirstError))
		}
	}
	if !run.Complete {
		notes = append(notes, "PARTIAL RUN: "+run.Stopped)
	}
	t.Note = strings.Join(notes, "\n")
	return t
}

func settingsLine(s map[string]string) string {
	parts := make([]string, 0, len(bench.PlanSettings))
	for _, k := range bench.PlanSettings {
		if v, ok := s[k]; ok {
			parts = append(parts, k+"="+v)
		}
	}
	return strings.Join(parts, " ")
}

func comparisonTable(rep *bench.Report, compact int) *Table {
	anyTargeted, promised := false, false
	metric := bench.MetricLatency
	for _, c := range rep.Comparison {
		anyTargeted = anyTargeted || c.Targeted
		promised = promised || c.Promise != nil || c.Expectation != ""
		if c.Metric != "" {
			metric = c.Metric
		}
	}
	cols := []Column{{Name: "statement"}, {Name: "targeted", DataOnly: true},
		{Name: "before p50", Right: true, CSV: "before p50 ms"}, {Name: "after p50", Right: true, CSV: "after p50 ms"},
		{Name: "change", Right: true, CSV: "change %"},
		{Name: "95% CI", TextOnly: true, Whole: true, Optional: true}, {Name: "ci low %", DataOnly: true}, {Name: "ci high %", DataOnly: true},
		{Name: "p", Right: true, Optional: true},
		{Name: "server ms", TextOnly: true, Whole: true}, {Name: "before server ms", DataOnly: true}, {Name: "after server ms", DataOnly: true},
		{Name: "server change %", DataOnly: true}, {Name: "server ci low %", DataOnly: true}, {Name: "server ci high %", DataOnly: true},
		{Name: "server p", DataOnly: true},
		{Name: "buffers/call", TextOnly: true, Whole: true, Optional: true}, {Name: "before buffers/call", DataOnly: true}, {Name: "after buffers/call", DataOnly: true},
		{Name: "buffers change %", DataOnly: true},
		{Name: "plan", Whole: true}, {Name: "latency moved", DataOnly: true}, {Name: "server moved", DataOnly: true}, {Name: "buffers moved", DataOnly: true},
		{Name: "verdict", Whole: true}, {Name: "decided by", DataOnly: true}}
	if promised {
		head := "vs promise"
		if e := rep.Workload.Expect; e != nil {
			head = "vs promised " + promiseWords(e)
		}
		cols = append(cols, Column{Name: head, TextOnly: true, Whole: true}, Column{Name: "vs promise", DataOnly: true})
	}
	t := &Table{Title: "Comparison (before → after)", Columns: cols}
	left := 0
	for _, c := range rep.Comparison {
		if compact > 0 && c.Verdict == bench.Unchanged {
			left++
			continue
		}
		if compact > 1 && len(t.Rows) >= maxComparisonRows {
			left++
			continue
		}
		ci := "∞"
		if c.CILowPct != nil && c.CIHighPct != nil {
			ci = fmt.Sprintf("%s to %s", signedPct(*c.CILowPct), signedPct(*c.CIHighPct))
		}
		srv := "-"
		if c.BeforeServerMs != nil && c.AfterServerMs != nil {
			srv = fmt.Sprintf("%s → %s", ms(*c.BeforeServerMs), ms(*c.AfterServerMs))
			if c.ServerChangePct != nil {
				srv += fmt.Sprintf(" (%+.0f%%)", *c.ServerChangePct)
			}
		}
		buf := "-"
		if c.BeforeBuffers != nil && c.AfterBuffers != nil {
			buf = fmt.Sprintf("%s → %s", buffers(c.BeforeBuffers), buffers(c.AfterBuffers))
			if c.BuffersChangePct != nil {
				buf += fmt.Sprintf(" (%+.0f%%)", *c.BuffersChangePct)
			}
		}
		plan := "same"
		if c.PlanChanged {
			plan = "changed"
		}
		name := c.Name
		if c.Targeted {
			name += " *"
		}
		row := []Cell{Full(name, c.Name), {Text: strconv.FormatBool(c.Targeted), Value: c.Targeted},
			msCell(c.BeforeP50Ms), msCell(c.AfterP50Ms), Num(c.MedianChangePct, signedPct(c.MedianChangePct)),
			Str(ci), {Value: optNum(c.CILowPct)}, {Value: optNum(c.CIHighPct)},
			Num(c.PValue, pValue(c.PValue)),
			Str(srv), {Value: optNum(c.BeforeServerMs)}, {Value: optNum(c.AfterServerMs)}, {Value: optNum(c.ServerChangePct)},
			{Value: optNum(c.ServerCILowPct)}, {Value: optNum(c.ServerCIHighPct)}, {Value: optNum(c.ServerPValue)},
			Str(buf), {Value: optNum(c.BeforeBuffers)}, {Value: optNum(c.AfterBuffers)}, {Value: optNum(c.BuffersChangePct)},
			Str(plan), Str(string(c.Latency)), Str(string(c.Server)), Str(string(c.Buffers)),
			Str(string(c.Verdict)), Str(c.DecidedBy)}
		if promised {
			row = append(row, Str(expectationCell(&c)), Str(c.Expectation))
		}
		t.Rows = append(t.Rows, Row{Cells: row, Tone: verdictTone(c.Verdict)})
	}
	notes := []string{"change: after's median over before's, with its 95% confidence interval; p: Mann-Whitney U; " +
		"server ms: the server's mean time per call, compared by Welch's t-test; buffers decide only where time did not move, and a slower statement is regressed whatever its buffers"}
	if anyTargeted {
		notes[0] += "; * targeted: its plan uses an index added between the runs, or the profile lists one"
	}
	if promised {
		notes = append(notes, fmt.Sprintf("vs promise: the drop in %s against each statement's promise", metricWords(metric)))
	}
	if d := rep.Drift; d != nil {
		notes = append(notes, fmt.Sprintf("drift: the %d statements whose plan and buffers did not change moved %+.1f%% to %+.1f%% (median %+.1f%%): the machine's share of every change",
			d.Controls, d.LowPct, d.HighPct, d.MedianPct))
	}
	if d := rep.ServerDrift; d != nil {
		notes = append(notes, fmt.Sprintf("server drift: their server time moved %+.1f%% to %+.1f%% (median %+.1f%%)", d.LowPct, d.HighPct, d.MedianPct))
	}
	if rep.Drift.Busy() || rep.ServerDrift.Busy() {
		notes = append(notes, "the machine's load changed between the runs: a change in time within that drift is put down to the machine (inconclusive); measure again on a quieter machine to tell")
	}
	if w := rep.Weighted; w != nil {
		notes = append(notes, fmt.Sprintf("weighted: the %d statements' medians summed by their -- weight: %.2f ms -> %.2f ms (%+.1f%%), the workload as the application sends it",
			w.Statements, w.BeforeMs, w.AfterMs, w.ChangePct))
	}
	for _, c := range rep.Comparison {
		if c.Verdict == bench.Inconclusive || c.Verdict == bench.Regressed || c.Verdict == bench.Mixed {
			notes = append(notes, fmt.Sprintf("%s: %s: %s", c.Name, c.Verdict, c.Reason))
		}
		if c.TargetCheck != "" {
			notes = append(notes, fmt.Sprintf("%s: %s", c.Name, c.TargetCheck))
		}
	}
	if left > 0 {
		notes = append(notes, fmt.Sprintf("%d statements left out to keep this under %d KB; --format json has them all", left, MarkdownLimitKB))
	}
	t.Note = strings.Join(notes, "\n")
	return t
}

func pValue(p float64) string {
	if p < 0.001 {
		return "<0.001"
	}
	return strconv.FormatFloat(p, 'f', 3, 64)
}

func expectationCell(c *bench.Comparison) string {
	if c.Expectation == "" {
		return "-"
	}
	pct, _, _ := c.Improvement(c.Metric)
	less, more := "faster", "slower"
	if c.Metric == bench.MetricBuffers {
		less, more = "fewer", "more"
	}
	cell := fmt.Sprintf("%.0f%% %s: %s", pct, less, c.Expectation)
	if pct < 0 {
		cell = fmt.Sprintf("%.0f%% %s: %s", -pct, more, c.Expectation)
	}
	if rep := c.Promise; rep != nil && rep.Source != "" {
		cell += " " + promiseWords(rep)
	}
	return cell
}

// promiseWords writes a promise: "40–60%", or "≥40%" for one figure.
func promiseWords(e *bench.ExpectRange) string {
	if e.MaxPct >= bench.MaxExpectPct {
		return fmt.Sprintf("≥%g%%", e.MinPct)
	}
	return fmt.Sprintf("%g–%g%%", e.MinPct, e.MaxPct)
}

// metricWords names a metric in notes.
func metricWords(m bench.Metric) string {
	switch m {
	case bench.MetricServer:
		return "server time"
	case bench.MetricBuffers:
		return "buffers per call"
	}
	return "median latency"
}

func verdictTone(v bench.Verdict) Tone {
	switch v {
	case bench.Improved:
		return Good
	case bench.Regressed:
		return Bad
	case bench.Inconclusive, bench.Mixed:
		return Warn
	}
	return Plain
}

func envDiffTable(ds []bench.Difference) *Table {
	t := &Table{Title: "Environment differences",
		Columns: []Column{{Name: "what"}, {Name: "name"}, {Name: "before", Wrap: true}, {Name: "after", Wrap: true}, {Name: "makes inconclusive", Whole: true}}}
	for _, d := range ds {
		m := "no"
		tone := Dim
		if d.Matters {
			m, tone = "yes", Warn
		}
		after := d.After
		if d.Partitions > 0 {
			after += fmt.Sprintf("; and its %d partitions' indexes", d.Partitions)
		}
		t.Rows = append(t.Rows, Row{Tone: tone, Cells: []Cell{Str(d.Kind), Str(d.Name), Str(d.Before), Str(after), Str(m)}})
	}
	return t
}

// gateFlag is how the gate table names a gate: by the flag that set it
// (bench.GateExpect is --expect).
func gateFlag(gate string) string { return "--" + gate }

func gateTable(g *bench.Gate) *Table {
	state := "passed"
	if !g.Passed {
		state = "FAILED"
	}
	on := metricWords(g.Metric)
	if g.Metric != bench.MetricBuffers {
		on += " and buffers per call"
	}
	t := &Table{Title: fmt.Sprintf("Gate: %s (on %s)", state, on), Columns: []Column{{Name: "gate"}, {Name: "statement"}, {Name: "result", Wrap: true}}}
	type check struct {
		name    string
		limit   *float64
		checked int
	}
	for _, c := range []check{{bench.GateExpect, g.ExpectPct, g.ExpectChecked}, {bench.GateMaxRegression, g.MaxRegressionPct, g.RegressionChecked}} {
		if c.limit == nil {
			continue
		}
		label := fmt.Sprintf("%s %g%%", gateFlag(c.name), *c.limit)
		failed := 0
		for _, f := range g.Failures {
			if f.Gate != c.name {
				continue
			}
			failed++
			// The statement has a column of its own.
			t.Rows = append(t.Rows, Row{Tone: Bad, Cells: []Cell{Str(label), orDash(f.Statement), Str(strings.TrimPrefix(f.Message, f.Statement+": "))}})
		}
		if failed == 0 {
			t.Rows = append(t.Rows, Row{Tone: Good, Cells: []Cell{Str(label), Dash(), Str(fmt.Sprintf("passed (%d statements checked)", c.checked))}})
		}
	}
	return t
}

// migrationsTable is what --apply did. Its note names the indexes built,
// a partition's index counted on its partitioned table's index (the run
// after the apply knows which are attached to which) rather than named.
func migrationsTable(m *bench.Migrations, after *bench.Environment) *Table {
	t := &Table{Title: "Migrations applied from " + m.Dir, Columns: []Column{{Name: "file"}, {Name: "state", Wrap: true}}}
	state := "applied"
	if m.Reverted {
		state = "applied, then reverted"
	}
	for _, f := range m.Applied {
		t.Rows = append(t.Rows, Row{Cells: []Cell{Str(f), Str(state)}})
	}
	if len(m.Applied) == 0 {
		t.Rows = append(t.Rows, Row{Cells: []Cell{Dash(), Str("nothing was pending")}})
	}
	if m.Error != "" {
		t.Rows = append(t.Rows, Row{Tone: Bad, Cells: []Cell{Dash(), Str("FAILED: " + m.Error)}})
	}
	if len(m.Indexes) > 0 {
		names, parts := after.FoldIndexes(m.Indexes)
		for i, name := range names {
			if n := parts[name]; n > 0 {
				names[i] = fmt.Sprintf("%s (and its %d partitions' indexes)", name, n)
			}
		}
		t.Note = "indexes: " + strings.Join(names, ", ")
	}
	return t
}

// orDash is a cell of s, or "-" (no value) when s is empty.
func orDash(s string) Cell {
	if s == "" {
		return Dash()
	}
	return Str(s)
}

// byteCount writes bytes as the requests tables do: B, kB or MB (1000s,
// as the wire is counted).
func byteCount(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 2, 64) + " MB"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', 1, 64) + " kB"
	}
	return strconv.FormatFloat(v, 'f', 0, 64) + " B"
}

// bytesCell is bytes per request, "-" when not counted.
func bytesCell(v *float64) Cell {
	if v == nil {
		return Dash()
	}
	return Num(*v, byteCount(*v))
}

// perRequest writes a count per request: whole when it is one.
func perRequest(v float64) string {
	if v == float64(int64(v)) {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// requestsTable is the run's requests, each measured whole: its queries,
// latency, server time, rows and bytes per request.
func requestsTable(run *bench.Run) *Table {
	t := &Table{
		Title: "Requests (a leading statement and its follow-ups, measured whole)",
		Columns: []Column{{Name: "request"}, {Name: "variant", DataOnly: true}, {Name: "requests", Right: true}, {Name: "failed requests", DataOnly: true},
			{Name: "queries/req", Right: true}, {Name: "p50 ms", Right: true}, {Name: "p90 ms", Right: true, Optional: true}, {Name: "mean ms", Right: true, Optional: true},
			{Name: "server ms", Right: true}, {Name: "rows/req", Right: true}, {Name: "bytes/req", Right: true, CSV: "bytes/req"},
			{Name: "statements", Wrap: true, Optional: true}},
	}
	for _, r := range run.Requests {
		calls := Int(r.Calls)
		tone := Plain
		if r.Errors > 0 {
			calls.Text, tone = fmt.Sprintf("%d (+%d failed)", r.Calls, r.Errors), Warn
		}
		var parts []string
		for _, s := range r.Statements[1:] {
			parts = append(parts, fmt.Sprintf("%s×%s", perRequest(s.PerRequest), s.Name))
		}
		follow := "-"
		if len(parts) > 0 {
			follow = "+ " + strings.Join(parts, ", ")
		}
		t.Rows = append(t.Rows, Row{Tone: tone, Cells: []Cell{Full(r.Name, r.Name), Str(r.Variant), calls, Int(r.Errors),
			Num(r.QueriesPerRequest, perRequest(r.QueriesPerRequest)), msCell(r.P50Ms), msCell(r.P90Ms), msCell(r.MeanMs),
			optMsCell(r.ServerMs), Num(r.RowsPerRequest, perRequest(r.RowsPerRequest)), bytesCell(r.BytesPerRequest), Str(follow)}})
	}
	t.Note = "a request: the leading statement, then its follow-ups on the same connection (a per-row one once per row returned, with that row's values; none for a NULL key); " +
		"ms: from sending the leader to the last reply; server ms: the statements' mean server time times their runs per request; " +
		"bytes/req: read from the server on the socket, each call's BEGIN and ROLLBACK replies included"
	return t
}

// requestComparisonTable sets each pair's before half against its after
// half, as requests: queries, latency (judged as a statement's is), rows
// and bytes per request.
func requestComparisonTable(cs []bench.RequestComparison) *Table {
	t := &Table{
		Title: "Requests compared (before → after)",
		Columns: []Column{{Name: "request"}, {Name: "before", DataOnly: true}, {Name: "after", DataOnly: true},
			{Name: "queries/req", TextOnly: true, Whole: true}, {Name: "before queries/req", DataOnly: true}, {Name: "after queries/req", DataOnly: true},
			{Name: "before p50", Right: true, CSV: "before p50 ms"}, {Name: "after p50", Right: true, CSV: "after p50 ms"},
			{Name: "change", Right: true, CSV: "change %"},
			{Name: "95% CI", TextOnly: true, Whole: true, Optional: true}, {Name: "ci low %", DataOnly: true}, {Name: "ci high %", DataOnly: true},
			{Name: "p", Right: true, Optional: true},
			{Name: "bytes/req", TextOnly: true, Whole: true}, {Name: "before bytes/req", DataOnly: true}, {Name: "after bytes/req", DataOnly: true},
			{Name: "bytes change %", DataOnly: true},
			{Name: "rows/req", TextOnly: true, Whole: true, Optional: true}, {Name: "before rows/req", DataOnly: true}, {Name: "after rows/req", DataOnly: true},
			{Name: "verdict", Whole: true}, {Name: "decided by", DataOnly: true}},
	}
	var notes []string
	for _, c := range cs {
		ci := "∞"
		if c.CILowPct != nil && c.CIHighPct != nil {
			ci = fmt.Sprintf("%s to %s", signedPct(*c.CILowPct), signedPct(*c.CIHighPct))
		}
		byts := "-"
		if c.BeforeBytes != nil && c.AfterBytes != nil {
			byts = fmt.Sprintf("%s → %s", byteCount(*c.BeforeBytes), byteCount(*c.AfterBytes))
			if c.BytesChangePct != nil {
				byts += fmt.Sprintf(" (%+.0f%%)", *c.BytesChangePct)
			}
		}
		t.Rows = append(t.Rows, Row{Tone: verdictTone(c.Verdict), Cells: []Cell{Full(c.Name, c.Name), Str(c.Before), Str(c.After),
			Str(perRequest(c.BeforeQueries) + " → " + perRequest(c.AfterQueries)), {Value: c.BeforeQueries}, {Value: c.AfterQueries},
			msCell(c.BeforeP50Ms), msCell(c.AfterP50Ms), Num(c.MedianChangePct, signedPct(c.MedianChangePct)),
			Str(ci), {Value: optNum(c.CILowPct)}, {Value: optNum(c.CIHighPct)}, Num(c.PValue, pValue(c.PValue)),
			Str(byts), {Value: optNum(c.BeforeBytes)}, {Value: optNum(c.AfterBytes)}, {Value: optNum(c.BytesChangePct)},
			Str(perRequest(c.BeforeRows) + " → " + perRequest(c.AfterRows)), {Value: c.BeforeRows}, {Value: c.AfterRows},
			Str(string(c.Verdict)), Str(c.DecidedBy)}})
		if c.Verdict == bench.Inconclusive || c.Verdict == bench.Regressed || c.Verdict == bench.Mixed {
			notes = append(notes, fmt.Sprintf("%s: %s: %s", c.Name, c.Verdict, c.Reason))
		}
	}
	t.Note = strings.Join(append([]string{"change: the after half's median request over the before half's, judged as a statement's latency is (95% CI, Mann-Whitney U); " +
		"queries, rows and bytes per request: the means of every request's own counts"}, notes...), "\n")
	return t
}
