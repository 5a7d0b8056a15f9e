package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/hishamos/hishamos-perf/analyze"
	"github.com/hishamos/hishamos-perf/demo"
	"github.com/hishamos/hishamos-perf/indexes"
)

// Demo lays the demo's report out: analyze's worst findings, what propose
// estimated for the seed's set and the advisor's, then one row per
// statement of what each set measured, and each against the promise with
// the verdict.
func Demo(rep *demo.Report) *Doc {
	doc := &Doc{JSON: rep}
	if len(rep.Findings) > 0 {
		ft := &Table{Title: fmt.Sprintf("analyze: the worst %d of %d findings after the workload ran once", len(rep.Findings), rep.FindingsTotal),
			Columns: []Column{{Name: "severity"}, {Name: "rule"}, {Name: "table"}, {Name: "finding"}}, Note: "hishamos-perf analyze shows every finding with its fix"}
		for _, f := range rep.Findings {
			tone := Plain
			if f.Severity >= analyze.Critical {
				tone = Bad
			} else if f.Severity >= analyze.Warning {
				tone = Warn
			}
			ft.Rows = append(ft.Rows, Row{Tone: tone, Cells: []Cell{Str(f.Severity.String()), Str(f.Rule), Str(f.Table), Str(f.Message)}})
		}
		doc.Blocks = append(doc.Blocks, ft)
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
		Title: fmt.Sprintf("HishamOS at scale %s: median latency (ms) and shared buffers per call, before / with the seed's %d indexes (%s) / with the advisor's %d (%s)",
			rep.Scale, nSeed, indexes.FormatBytes(seedBytes), nAdv, indexes.FormatBytes(advBytes)),
		Columns: []Column{{Name: "statement"}, {Name: "targeted", DataOnly: true},
			{Name: "before", Right: true, CSV: "before p50 ms"}, {Name: "seed", Right: true, CSV: "seed p50 ms"}, {Name: "advisor", Right: true, CSV: "advisor p50 ms"},
			{Name: "buffers before", Right: true}, {Name: "seed", Right: true, CSV: "buffers seed"}, {Name: "advisor", Right: true, CSV: "buffers advisor"}},
	}
	v := &Table{
		Title: "Each statement against the promise: drop in median latency, where it falls, and bench's verdict",
		Columns: []Column{{Name: "statement"}, {Name: "targeted", DataOnly: true},
			{Name: "seed better", Right: true, CSV: "seed better %"}, {Name: expect, CSV: "seed vs promise"}, {Name: "verdict", CSV: "seed verdict"},
			{Name: "advisor better", Right: true, CSV: "advisor better %"}, {Name: expect, CSV: "advisor vs promise"}, {Name: "verdict", CSV: "advisor verdict"}},
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
			buffersCell(s.BeforeBuffers), buffersCell(s.SeedBuffers), buffersCell(s.AdvisorBuffers)}})
		v.Rows = append(v.Rows, Row{Tone: tone, Cells: []Cell{Full(name, s.Name), targeted,
			Num(s.Seed.ImprovementPct, fmt.Sprintf("%.1f%%", s.Seed.ImprovementPct)), Str(s.Seed.Placement), Str(string(s.Seed.Verdict)),
			Num(s.Advisor.ImprovementPct, fmt.Sprintf("%.1f%%", s.Advisor.ImprovementPct)), Str(s.Advisor.Placement), Str(string(s.Advisor.Verdict))}})
	}
	var steps []string
	for _, st := range rep.Steps {
		steps = append(steps, fmt.Sprintf("%s %s", st.Name, (time.Duration(st.Ms*float64(time.Millisecond))).Round(100*time.Millisecond)))
	}
	t.Note = "* targeted by the seed's indexes"
	v.Note = "* targeted by the seed's indexes; better: drop in median latency from the samples; the verdict below takes the machine's drift out\n" +
		"steps: " + strings.Join(steps, ", ") + "\n" +
		"verdict: " + rep.Verdict.Line
	doc.Blocks = append(doc.Blocks, t, v)
	return doc
}
