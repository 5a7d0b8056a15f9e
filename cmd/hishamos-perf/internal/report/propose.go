package report

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hishamos/hishamos-perf/indexes"
	"github.com/hishamos/hishamos-perf/internal/render"
)

// Propose lays indexes propose's result out: the workload's summary, the
// proposed indexes with their own saving (the workload without each, the
// others in place), their definitions and the statements they help (the
// statement's cost before, without the index, with every proposal),
// the existing indexes worth dropping, the hand-picked set beside the
// advisor's (--compare-seed), the skipped statements and, verbose, the
// rejected candidates.
func Propose(res *indexes.Result, verbose bool) *Doc {
	cost := func(v float64) Cell { return Num(v, strconv.FormatFloat(v, 'f', 2, 64)) }
	pctText := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + "%" }
	pct := func(v float64) Cell { return Num(v, pctText(v)) }
	size := func(b int64) Cell { return Num(b, indexes.FormatBytes(b)) }
	weight := func(v float64) Cell { return Num(v, strconv.FormatFloat(v, 'g', 4, 64)) }
	ws := res.Workload
	budget := fmt.Sprintf("%s in %d indexes, budget %s", indexes.FormatBytes(ws.IndexBytes), len(res.Proposals), ws.Budget)
	if ws.BudgetBytes > 0 {
		budget += " (" + indexes.FormatBytes(ws.BudgetBytes) + ")"
	}
	summary := &KV{Title: "Workload", Items: []Item{
		{Key: "source", Value: Str(ws.Source + " " + ws.Name), Data: []Field{{"source", ws.Source}, {"name", ws.Name}}},
		{Key: "statements", Value: Str(fmt.Sprintf("%d costed, %d skipped (weighted by %s)", ws.Statements, ws.Skipped, ws.WeightedBy)),
			Data: []Field{{"statements", ws.Statements}, {"skipped", ws.Skipped}, {"weighted by", ws.WeightedBy}}},
		{Key: "costing", Value: Str(res.Costing)},
		{Key: "total cost", Value: Str(fmt.Sprintf("%s → %s (%s lower)", cost(ws.CostBefore).Text, cost(ws.CostAfter).Text, pctText(ws.ImprovementPct))),
			Data: []Field{{"cost before", ws.CostBefore}, {"cost after", ws.CostAfter}, {"improvement %", ws.ImprovementPct}}},
		{Key: "index size", Value: Str(budget),
			Data: []Field{{"index bytes", ws.IndexBytes}, {"indexes", len(res.Proposals)}, {"budget", ws.Budget}, {"budget bytes", ws.BudgetBytes}}},
	}, Note: strings.Join(res.Notes, "\n")}
	doc := &Doc{JSON: res, Blocks: []Block{summary}}

	// One line per proposal (the index, its size and what it costs and
	// saves), then each proposal's whole definition and reason below.
	props := &Table{Title: "Proposed indexes", Columns: []Column{{Name: "#", Right: true, CSV: "proposal"}, {Name: "index"}, {Name: "size", Right: true, CSV: "size bytes"},
		{Name: "writes/s", Right: true, CSV: "index writes/s"}, {Name: "ends HOT", DataOnly: true}, {Name: "statements", Right: true},
		{Name: "own saving", Right: true, CSV: "own saving %"}, {Name: "own saving cost", DataOnly: true}, {Name: "best", Right: true, CSV: "best %"},
		{Name: "reason", DataOnly: true}, {Name: "name", DataOnly: true}, {Name: "definition", DataOnly: true}}}
	defs := &Table{Title: "Definitions", Columns: []Column{{Name: "#", Right: true, CSV: "proposal"}, {Name: "CREATE INDEX"}}}
	details := &Details{Data: defs}
	helped := &Table{Title: "Statements helped", Columns: []Column{{Name: "#", Right: true, CSV: "proposal"}, {Name: "statement"}, {Name: "weight", Right: true},
		{Name: "cost before", Right: true}, {Name: "without it", Right: true, CSV: "cost without it"}, {Name: "cost after", Right: true},
		{Name: "better", Right: true, CSV: "better %"}, {Name: "its own", Right: true, CSV: "its own %"}, {Name: "fingerprint", DataOnly: true}}}
	for i, p := range res.Proposals {
		n := Int(i + 1)
		desc := p.Table + " (" + strings.Join(p.Columns, ", ") + ")"
		if len(p.Include) > 0 {
			desc += " INCLUDE (" + strings.Join(p.Include, ", ") + ")"
		}
		if p.Where != "" {
			desc += " WHERE " + p.Where
		}
		best := Blank()
		if len(p.Statements) > 0 {
			best = pct(p.Statements[0].MarginalPct)
		}
		writes := Num(p.WriteOverhead.IndexWritesPerSec, strconv.FormatFloat(p.WriteOverhead.IndexWritesPerSec, 'f', 2, 64))
		tone := Plain
		if p.WriteOverhead.EndsHOT {
			tone = Warn
		}
		props.Rows = append(props.Rows, Row{Tone: tone, Cells: []Cell{n, Str(desc), size(p.SizeBytes), writes,
			{Text: strconv.FormatBool(p.WriteOverhead.EndsHOT), Value: p.WriteOverhead.EndsHOT}, Int(len(p.Statements)),
			Num(p.Marginal.WorkloadPct, strconv.FormatFloat(p.Marginal.WorkloadPct, 'f', 2, 64)+"%"), Num(p.Marginal.Cost, ""), best, Str(p.Reason),
			Str(p.Name), Str(p.Definition)}})
		defs.Rows = append(defs.Rows, Row{Cells: []Cell{n, Full(p.Definition+";", p.Definition)}})
		details.Entries = append(details.Entries, Entry{Head: fmt.Sprintf("#%d %s", i+1, p.Name), Tone: Bold,
			Lines: []Line{{Text: p.Definition + ";"}, {Text: p.Reason, Tone: Dim}}})
		for _, s := range p.Statements {
			helped.Rows = append(helped.Rows, Row{Cells: []Cell{n, Str(s.Name), weight(s.Weight), cost(s.CostBefore), cost(s.CostWithout), cost(s.CostAfter),
				pct(s.ImprovementPct), pct(s.MarginalPct), Str(s.Fingerprint)}})
		}
	}
	if len(res.Proposals) == 0 {
		props.Note = "nothing to propose: no candidate saves enough of any statement's cost"
	}
	doc.Blocks = append(doc.Blocks, props)
	if len(res.Proposals) > 0 {
		doc.Blocks = append(doc.Blocks, details, helped)
	}

	if len(res.Drops) > 0 {
		drops := &Table{Title: "Existing indexes to consider dropping (never dropped for you)", Columns: []Column{{Name: "index"}, {Name: "table"},
			{Name: "kind"}, {Name: "size", Right: true, CSV: "size bytes"}, {Name: "scans", Right: true}, {Name: "reason", DataOnly: true}, {Name: "definition", DataOnly: true}}}
		why := &Details{}
		for _, d := range res.Drops {
			drops.Rows = append(drops.Rows, Row{Cells: []Cell{Str(d.Index), Str(d.Table), Str(d.Kind), size(d.SizeBytes), Int(d.Scans), Str(d.Reason), Str(d.Definition)}})
			why.Entries = append(why.Entries, Entry{Head: d.Index + " (" + d.Kind + ")", Lines: []Line{{Text: d.Reason}, {Label: "definition", Text: d.Definition, Tone: Dim}}})
		}
		doc.Blocks = append(doc.Blocks, drops, why)
	}

	if sc := res.Seed; sc != nil {
		cmp := &Table{Title: "Hand-picked set (" + sc.Profile + ") and advisor, same workload and statistics",
			Columns: []Column{{Name: "index set"}, {Name: "indexes", Right: true}, {Name: "total cost", Right: true}, {Name: "better", Right: true, CSV: "better %"},
				{Name: "index size", Right: true, CSV: "index bytes"}}}
		cmp.Rows = []Row{
			{Cells: []Cell{Str("existing only"), Int(0), cost(sc.Before), Blank(), Blank()}},
			{Cells: []Cell{Str("hand-picked (" + sc.Profile + ")"), Int(sc.Seed.Indexes), cost(sc.Seed.Cost), pct(sc.Seed.ImprovementPct), size(sc.Seed.Bytes)}},
			{Cells: []Cell{Str("advisor"), Int(sc.Advisor.Indexes), cost(sc.Advisor.Cost), pct(sc.Advisor.ImprovementPct), size(sc.Advisor.Bytes)}},
		}
		seedIx := &Table{Title: "Hand-picked indexes", Columns: []Column{{Name: "index"}, {Name: "table"}, {Name: "columns"},
			{Name: "size", Right: true, CSV: "size bytes"}, {Name: "used by"}, {Name: "verdict"}, {Name: "reason", DataOnly: true}}}
		seedWhy := &Details{}
		for _, ix := range sc.Indexes {
			verdict, tone := "used", Plain
			switch {
			case ix.Redundant:
				verdict, tone = "redundant", Warn
			case ix.Unused:
				verdict, tone = "unused", Warn
			}
			seedIx.Rows = append(seedIx.Rows, Row{Tone: tone, Cells: []Cell{Str(ix.Name), Str(ix.Table), Str(strings.Join(ix.Columns, ", ")),
				size(ix.SizeBytes), Str(strings.Join(ix.UsedBy, ", ")), Str(verdict), Str(ix.Reason)}})
			if ix.Redundant || ix.Unused {
				seedWhy.Entries = append(seedWhy.Entries, Entry{Head: ix.Name + " (" + verdict + ")", Tone: Warn, Lines: []Line{{Text: ix.Reason}}})
			}
		}
		perStmt := &Table{Title: "Statement costs by index set", Columns: []Column{{Name: "statement"}, {Name: "weight", Right: true},
			{Name: "existing", Right: true}, {Name: "hand-picked", Right: true}, {Name: "advisor", Right: true}}}
		for _, s := range sc.Statements {
			perStmt.Rows = append(perStmt.Rows, Row{Cells: []Cell{Str(s.Name), weight(s.Weight), cost(s.Before), cost(s.Seed), cost(s.Advisor)}})
		}
		doc.Blocks = append(doc.Blocks, cmp, seedIx)
		if len(seedWhy.Entries) > 0 {
			doc.Blocks = append(doc.Blocks, seedWhy)
		}
		doc.Blocks = append(doc.Blocks, perStmt)
	}

	if len(res.Skipped) > 0 {
		sk := &Table{Title: "Skipped statements", Columns: []Column{{Name: "statement"}, {Name: "from"}, {Name: "reason"}}}
		d := &Details{Title: "Skipped statements", Data: sk}
		for _, s := range res.Skipped {
			sk.Rows = append(sk.Rows, Row{Cells: []Cell{Str(s.Text), Str(s.Origin), Str(s.Reason)}})
			d.Entries = append(d.Entries, Entry{Head: s.Origin, Lines: []Line{{Text: s.Text}, {Text: s.Reason, Tone: Dim}}})
		}
		doc.Blocks = append(doc.Blocks, d)
	}
	if verbose && len(res.Rejected) > 0 {
		rj := &Table{Title: "Rejected candidates", Columns: []Column{{Name: "candidate"}, {Name: "why"}, {Name: "table", DataOnly: true}, {Name: "definition", DataOnly: true}}}
		d := &Details{Title: "Rejected candidates", Data: rj}
		for _, r := range res.Rejected {
			rj.Rows = append(rj.Rows, Row{Cells: []Cell{Str(r.Index), Str(r.Reason), Str(r.Table), Str(r.Definition)}})
			d.Entries = append(d.Entries, Entry{Head: r.Index, Lines: []Line{{Text: r.Reason}}})
		}
		d.Note = fmt.Sprintf("%d candidates, %d moves costed, %d plans made, %d served from the cache, %d selection rounds",
			res.Stats.Candidates, res.Stats.Moves, res.Stats.Explains, res.Stats.CacheHits, res.Stats.Rounds)
		rj.Note = d.Note
		doc.Blocks = append(doc.Blocks, d)
	}
	return doc
}

// ProposalChecklist is the checklist indexes propose --interactive shows:
// one line per proposal, numbered as the table numbers them, with its
// size and best improvement, its reason under the cursor; every one
// ticked to start with.
func ProposalChecklist(res *indexes.Result) *render.Checklist {
	cl := &render.Checklist{Title: fmt.Sprintf("Keep which of the %d proposed indexes? (%s)", len(res.Proposals), indexes.FormatBytes(res.Workload.IndexBytes))}
	for i, p := range res.Proposals {
		desc := p.Table + " (" + strings.Join(p.Columns, ", ") + ")"
		if len(p.Include) > 0 {
			desc += " INCLUDE (" + strings.Join(p.Include, ", ") + ")"
		}
		if p.Where != "" {
			desc += " WHERE " + p.Where
		}
		label := fmt.Sprintf("%2d  %s  %s", i+1, desc, indexes.FormatBytes(p.SizeBytes))
		if len(p.Statements) > 0 {
			label += fmt.Sprintf("  best %.1f%%", p.Statements[0].ImprovementPct)
		}
		cl.Items = append(cl.Items, render.ChecklistItem{Label: label, Detail: p.Reason, On: true})
	}
	return cl
}
