package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/hishamos/hishamos-perf/bench"
	"github.com/hishamos/hishamos-perf/demo"
	"github.com/hishamos/hishamos-perf/indexes"
)

// claimCell is a change's improvement in the verdict's metric; a demo/v1
// document, judged on latency, has it in ImprovementPct.
func claimCell(rep *demo.Report, ch demo.Change) Cell {
	v := ch.ClaimPct
	if rep.Verdict.Metric == "" {
		v = ch.ImprovementPct
	}
	return Num(v, fmt.Sprintf("%.1f%%", v))
}

// Demo lays the demo's report out: analyze's worst findings, what propose
// estimated for the seed's set and the advisor's, then one row per
// statement of what each set measured, and each against the promise with
// the verdict.
func Demo(rep *demo.Report) *Doc {
	doc := &Doc{JSON: rep}
	if len(rep.Findings) > 0 {
		// One line per finding, then what each found.
		ft := &Table{Title: fmt.Sprintf("analyze: the worst %d of %d findings after the workload ran once", len(rep.Findings), rep.FindingsTotal),
			Columns: []Column{{Name: "severity"}, {Name: "rule"}, {Name: "table"}, {Name: "finding", DataOnly: true}}}
		what := &Details{Note: "hishamos-perf analyze shows every finding with its fix"}
		for _, f := range rep.Findings {
			tone := severityTone[f.Severity]
			ft.Rows = append(ft.Rows, Row{Tone: tone, Cells: []Cell{Str(f.Severity.String()), Str(f.Rule), Str(f.Table), Str(f.Message)}})
			what.Entries = append(what.Entries, Entry{Head: fmt.Sprintf("%s %s on %s", strings.ToUpper(f.Severity.String()), f.Rule, findingWhere(f, nil)),
				Tone: tone, Lines: []Line{{Text: f.Message}}})
		}
		doc.Blocks = append(doc.Blocks, ft, what)
	}
	if sc := rep.Advisor.Seed; sc != nil {
		cost := func(v float64) Cell { return Num(v, fmt.Sprintf("%.0f", v)) }
		pct := func(v float64) Cell { return Num(v, fmt.Sprintf("%.1f%%", v)) }
		size := func(b int64) Cell { return Num(b, indexes.FormatBytes(b)) }
		doc.Blocks = append(doc.Blocks, &Table{Title: "indexes propose --compare-seed (planner estimates)",
			Columns: []Column{{Name: "index set"}, {Name: "indexes", Right: true}, {Name: "estimated cost", Right: true},
				{Name: "better", Right: true, CSV: "better %"}, {Name: "size", Right: true, CSV: "size bytes"}},
			Rows: []Row{
				{Cells: []Cell{Str("existing only"), Int(0), cost(sc.Before), Blank(), Blank()}},
				{Cells: []Cell{Str("seed report"), Int(sc.Seed.Indexes), cost(sc.Seed.Cost), pct(sc.Seed.ImprovementPct), size(sc.Seed.Bytes)}},
				{Cells: []Cell{Str("advisor"), Int(sc.Advisor.Indexes), cost(sc.Advisor.Cost), pct(sc.Advisor.ImprovementPct), size(sc.Advisor.Bytes)}},
			}})
	}
	var seedBytes, advBytes int64
	var nSeed, nAdv int
	for _, ix := range rep.Indexes {
		if ix.Set == demo.SetSeed {
			seedBytes += ix.SizeBytes
			nSeed++
		} else {
			advBytes += ix.SizeBytes
			nAdv++
		}
	}
	expect := "promise"
	if rep.Expect != nil {
		expect = fmt.Sprintf("vs %g–%g%%", rep.Expect.MinPct, rep.Expect.MaxPct)
	}
	t := &Table{
		Title: fmt.Sprintf("HishamOS at scale %s: median latency (ms), the server's mean time per call (ms) and shared buffers per call, before / with the seed's %d indexes (%s) / with the advisor's %d (%s)",
			rep.Scale, nSeed, indexes.FormatBytes(seedBytes), nAdv, indexes.FormatBytes(advBytes)),
		Columns: []Column{{Name: "statement"}, {Name: "targeted", DataOnly: true},
			{Name: "before", Right: true, CSV: "before p50 ms"}, {Name: "seed", Right: true, CSV: "seed p50 ms"}, {Name: "advisor", Right: true, CSV: "advisor p50 ms"},
			{Name: "server before", Right: true, CSV: "before server ms"}, {Name: "seed", Right: true, CSV: "seed server ms"}, {Name: "advisor", Right: true, CSV: "advisor server ms"},
			{Name: "buffers before", Right: true}, {Name: "seed", Right: true, CSV: "buffers seed"}, {Name: "advisor", Right: true, CSV: "buffers advisor"}},
	}
	what := "median latency"
	if rep.Verdict.Metric == bench.MetricServer {
		what = "server time"
	}
	v := &Table{
		Title: fmt.Sprintf("Each statement against the promise: drop in %s (the verdict's metric), where it falls, and bench's verdict", what),
		Columns: []Column{{Name: "statement"}, {Name: "targeted", DataOnly: true},
			{Name: "seed better", Right: true, CSV: "seed better %"}, {Name: "seed latency better %", DataOnly: true}, {Name: expect, CSV: "seed vs promise", Whole: true}, {Name: "verdict", CSV: "seed verdict", Whole: true},
			{Name: "advisor better", Right: true, CSV: "advisor better %"}, {Name: "advisor latency better %", DataOnly: true}, {Name: expect, CSV: "advisor vs promise", Whole: true}, {Name: "verdict", CSV: "advisor verdict", Whole: true}},
	}
	for _, s := range rep.Statements {
		name := s.Name
		if s.Targeted {
			name += " *"
		}
		tone := Plain
		if s.Targeted {
			switch s.Seed.Placement {
			case demo.Below:
				tone = Warn
			default:
				tone = Good
			}
		}
		targeted := Cell{Text: fmt.Sprint(s.Targeted), Value: s.Targeted}
		t.Rows = append(t.Rows, Row{Tone: tone, Cells: []Cell{Full(name, s.Name), targeted, msCell(s.BeforeP50Ms), msCell(s.SeedP50Ms), msCell(s.AdvisorP50Ms),
			optMsCell(s.BeforeServerMs), optMsCell(s.SeedServerMs), optMsCell(s.AdvisorServerMs),
			buffersCell(s.BeforeBuffers), buffersCell(s.SeedBuffers), buffersCell(s.AdvisorBuffers)}})
		v.Rows = append(v.Rows, Row{Tone: tone, Cells: []Cell{Full(name, s.Name), targeted,
			claimCell(rep, s.Seed), {Value: s.Seed.ImprovementPct}, Str(s.Seed.Placement), Str(string(s.Seed.Verdict)),
			claimCell(rep, s.Advisor), {Value: s.Advisor.ImprovementPct}, Str(s.Advisor.Placement), Str(string(s.Advisor.Verdict))}})
	}
	var steps []string
	for _, st := range rep.Steps {
		steps = append(steps, fmt.Sprintf("%s %s", st.Name, (time.Duration(st.Ms*float64(time.Millisecond))).Round(100*time.Millisecond)))
	}
	t.Note = "* targeted by the seed's indexes"
	note := fmt.Sprintf("* targeted by the seed's indexes; better: drop in %s; the verdict below takes the machine's drift out\n", what)
	if rep.Verdict.MetricWhy != "" {
		note += "the verdict's metric is " + rep.Verdict.MetricWhy + "\n"
		if rep.Verdict.Targeted > 1 {
			note += fmt.Sprintf("typical: the Hodges–Lehmann estimate over the targeted statements (the median of their pairwise means), which uses every statement and holds stiller from run to run than their median (the seed's %.1f%%, the advisor's %.1f%%)\n",
				rep.Verdict.SeedMedianPct, rep.Verdict.AdvisorMedianPct)
		}
	} else {
		// A demo/v1 document: latency from the samples, as it was judged.
		note = "* targeted by the seed's indexes; better: drop in median latency from the samples; the verdict below takes the machine's drift out\n"
	}
	v.Note = note + "steps: " + strings.Join(steps, ", ") + "\n" +
		"verdict: " + rep.Verdict.Line
	doc.Blocks = append(doc.Blocks, t, v)
	doc.Blocks = append(doc.Blocks, claimBlocks(rep)...)
	return doc
}

// claimShort names each claim kind in a table cell: the promise in the
// report's own figures.
var claimShort = map[string]string{
	demo.ClaimIndexes: "indexes: queries 40–60% faster",
	demo.ClaimQueries: "select_related: fewer queries",
	demo.ClaimMemory:  "only(), pagination: memory 30–40% less",
	demo.ClaimCache:   "cache: 50–70% faster, 60–80% less load",
}

// claimBlocks are the requests the rewrite changed, compared, and every
// database claim of the seed report with its verdict: a table of one
// line per claim, and each claim's sentence under it.
func claimBlocks(rep *demo.Report) []Block {
	var out []Block
	if rq := rep.Requests; rq != nil && len(rq.Pairs) > 0 {
		cs := make([]bench.RequestComparison, len(rq.Pairs))
		for i, p := range rq.Pairs {
			cs[i] = p.RequestComparison
		}
		rt := requestComparisonTable(cs)
		rt.Title = fmt.Sprintf("The seed report's query optimization (select_related, only(), pagination) at scale %s, measured as requests on the tables without new indexes, both halves interleaved", rep.Scale)
		out = append(out, rt)
	}
	if len(rep.Claims) == 0 {
		return out
	}
	t := &Table{Title: "The seed report's database claims",
		Columns: []Column{{Name: "kind", DataOnly: true}, {Name: "claim", Whole: true}, {Name: "promise source", DataOnly: true},
			{Name: "measured", Right: true, CSV: "measured %"}, {Name: "vs promise", Whole: true}, {Name: "verdict", Whole: true}}}
	d := &Details{}
	for _, c := range rep.Claims {
		measured, place, verdict, tone := Dash(), Dash(), Str("not measured"), Dim
		if c.MeasuredPct != nil {
			measured = Num(*c.MeasuredPct, fmt.Sprintf("%.1f%%", *c.MeasuredPct))
		}
		if c.Placement != "" {
			place = Str(c.Placement)
		}
		if c.Holds != nil {
			verdict, tone = Str("does not hold"), Warn
			if *c.Holds {
				verdict, tone = Str("holds"), Good
			}
		}
		t.Rows = append(t.Rows, Row{Tone: tone, Cells: []Cell{Str(c.Kind), Str(claimShort[c.Kind]), Str(c.Promise), measured, place, verdict}})
		line := c.Line
		if c.Kind == demo.ClaimIndexes {
			line = "the verdict above"
			if c.MeasuredPct != nil {
				line = fmt.Sprintf("%s (the verdict above): the seed's indexes cut the targeted statements' %s by %.1f%%, typically (Hodges–Lehmann) and net of the machine's drift",
					holdsText(c.Holds), metricWords(rep.Verdict.Metric), *c.MeasuredPct)
			}
		}
		d.Entries = append(d.Entries, Entry{Head: claimShort[c.Kind], Tone: tone, Lines: []Line{{Text: line}}})
	}
	t.Note = "measured: for the indexes, the seed's typical drop in the verdict's metric, net of the machine's drift; for select_related, the drop in queries per request; for only() and pagination, in bytes received per request"
	out = append(out, t, d)
	if bars := claimBars(rep); len(bars) > 0 {
		out = append(out, claimBarsTable(bars))
	}
	return out
}

// DemoScales lays the demo at several scales out: each scale's document
// whole, one after the other, then how each improvement changed with the
// data's size.
func DemoScales(rep *demo.ScalesReport) *Doc {
	doc := &Doc{JSON: rep}
	for _, r := range rep.Reports {
		doc.Blocks = append(doc.Blocks, &Para{Text: fmt.Sprintf("== scale %s: %s rows ==", r.Scale, rowsWords(r.Load.TotalRows))})
		doc.Blocks = append(doc.Blocks, Demo(r).Blocks...)
	}
	if len(rep.Trend) == 0 || len(rep.Reports) == 0 {
		return doc
	}
	pts := rep.Trend[0].Points
	t := &Table{Title: "How each improvement changes with the data's size: the seed's indexes per statement (in the verdict's metric) and their net typical improvement, the rewrite per request",
		Columns: []Column{{Name: "improvement"}, {Name: "kind", DataOnly: true}}}
	for _, p := range pts {
		t.Columns = append(t.Columns, Column{Name: fmt.Sprintf("%s %s", p.Scale, rowsWords(p.Rows)), Right: true, CSV: p.Scale + " %"})
	}
	t.Columns = append(t.Columns, Column{Name: "change", Right: true, CSV: "change points"}, Column{Name: "vs promise", Whole: true})
	for _, l := range rep.Trend {
		cells := []Cell{Full(trendName(l), l.Name), Str(l.Kind)}
		for _, p := range l.Points {
			cells = append(cells, Num(p.ImprovementPct, fmt.Sprintf("%.1f%%", p.ImprovementPct)))
		}
		var places []string
		for _, p := range l.Points {
			if p.Placement != "" {
				places = append(places, p.Placement)
			}
		}
		tone := Plain
		if l.Kind == demo.TrendVerdict {
			tone = Bold
		}
		cells = append(cells, Num(l.ChangePts, fmt.Sprintf("%+.1f pts", l.ChangePts)), orDash(strings.Join(places, " → ")))
		t.Rows = append(t.Rows, Row{Tone: tone, Cells: cells})
	}
	var rows []string
	for _, p := range pts {
		rows = append(rows, fmt.Sprintf("%s %d", p.Scale, p.Rows))
	}
	t.Note = "* targeted by the seed's indexes; change: the last scale's improvement minus the first's, in points; rows loaded: " + strings.Join(rows, ", ")
	doc.Blocks = append(doc.Blocks, t)
	return doc
}

func holdsText(h *bool) string {
	switch {
	case h == nil:
		return "not measured"
	case *h:
		return "the claim holds"
	}
	return "the claim does not hold"
}
