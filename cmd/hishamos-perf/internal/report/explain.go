package report

import (
	"fmt"
	"strings"

	"github.com/hishamos/hishamos-perf/analyze"
	"github.com/hishamos/hishamos-perf/internal/render"
)

// Explain lays explain's report out for format: each statement's plan as a
// tree (in CSV, a table of its nodes), its hot nodes coloured, with the
// findings of the plan rules under it.
func Explain(rep *analyze.ExplainReport, f Format) *Doc {
	doc := &Doc{JSON: rep}
	numbered := len(rep.Statements) > 1
	for i, s := range rep.Statements {
		doc.Blocks = append(doc.Blocks, planTree(s, i+1, numbered, f), findingsBlock(s.Findings, 0, nil, f))
	}
	return doc
}

// planTree is one statement's plan as a tree, with its nodes as Data.
func planTree(s analyze.ExplainedStatement, n int, numbered bool, f Format) *Tree {
	p := s.Plan
	onNode := map[int]analyze.Severity{}
	for _, x := range s.Findings {
		if x.Node != nil {
			onNode[x.Node.ID] = max(onNode[x.Node.ID], x.Severity)
		}
	}
	if s.Source != nil {
		n = s.Source.Index
	}
	data := &Table{Columns: []Column{{Name: "statement"}, {Name: "node"}, {Name: "parent"}, {Name: "depth"}, {Name: "label"},
		{Name: "total cost"}, {Name: "self %"}, {Name: "plan rows"}, {Name: "actual rows"}, {Name: "loops"}, {Name: "self ms"}}}
	var build func(nd *analyze.Node) *Node
	build = func(nd *analyze.Node) *Node {
		tn := &Node{Text: nodeLine(p, nd), Detail: nodeDetails(p, nd)}
		share := p.Hot(nd)
		switch {
		case share >= 0.5 || onNode[nd.ID] == analyze.Critical:
			tn.Tone = Bad
		case share >= analyze.HotShare || onNode[nd.ID] == analyze.Warning:
			tn.Tone = Warn
		}
		parent := Cell{Value: None}
		if nd.Parent != nil {
			parent = Int(nd.Parent.ID)
		}
		actual, loops, self := Cell{Value: None}, Cell{Value: None}, Cell{Value: None}
		if p.Analyzed && nd.Executed {
			actual, loops, self = Cell{Value: nd.ActualRows}, Cell{Value: nd.ActualLoops}, Cell{Value: nd.SelfTime}
		}
		data.Rows = append(data.Rows, Row{Cells: []Cell{Int(n), Int(nd.ID), parent, Int(nd.Depth), Str(nd.Label()),
			{Value: nd.TotalCost}, {Value: share * 100}, {Value: nd.PlanRows}, actual, loops, self}})
		for _, c := range nd.Children {
			tn.Children = append(tn.Children, build(c))
		}
		return tn
	}
	kind := "Plan"
	switch {
	case s.Analyzed:
		kind = "Plan (EXPLAIN ANALYZE, " + s.Transaction + ", rolled back)"
	case s.Generic:
		kind = "Generic plan (no parameter values)"
	}
	title := kind
	if numbered && s.Source != nil {
		title = fmt.Sprintf("Statement %d: %s", s.Source.Index, kind)
	}
	var notes []string
	if numbered || f == Markdown {
		notes = append(notes, render.Truncate(s.Query, explainQueryWidth))
	}
	summary := fmt.Sprintf("cost %.2f, %s rows estimated", s.TotalCost, render.Count(int64(s.PlanRows)))
	if s.Analyzed {
		summary = fmt.Sprintf("%s, %s rows, planning %s, execution %s", summary, render.Count(int64(*s.ActualRows)), fmtMs(s.PlanningTime), fmtMs(s.ExecutionTime))
	}
	summary += "; plan " + s.ShapeHash
	if s.Fingerprint != "" {
		summary += ", query " + s.Fingerprint
	}
	notes = append(notes, summary)
	if s.Note != "" {
		notes = append(notes, s.Note)
	}
	root := build(p.Root)
	data.Title = title
	return &Tree{Title: title, Root: root, Note: strings.Join(notes, "\n"), Data: data}
}

// nodeLine is a plan node in one line: its label, its share of the time
// (or cost), rows against the estimate and loops.
func nodeLine(p *analyze.Plan, n *analyze.Node) string {
	var b strings.Builder
	b.WriteString(n.Label())
	share := p.Hot(n) * 100
	if p.Analyzed {
		if !n.Executed || n.ActualLoops == 0 {
			b.WriteString(" · never executed")
			return b.String()
		}
		fmt.Fprintf(&b, " · self %s (%.0f%%) · rows %s of %s est", fmtMs(n.SelfTime), share,
			render.Count(int64(n.ActualRows+0.5)), render.Count(int64(n.PlanRows+0.5)))
		if n.ActualLoops > 1 {
			fmt.Fprintf(&b, " · loops %s", render.Count(int64(n.ActualLoops)))
		}
		return b.String()
	}
	fmt.Fprintf(&b, " · cost %.0f, %.0f%% self · rows %s est", n.TotalCost, share, render.Count(int64(n.PlanRows+0.5)))
	return b.String()
}

// nodeDetails are the conditions and figures EXPLAIN prints under a node.
func nodeDetails(p *analyze.Plan, n *analyze.Node) []string {
	var d []string
	add := func(name, v string) {
		if v != "" {
			d = append(d, name+": "+v)
		}
	}
	add("Index Cond", n.IndexCond)
	add("Recheck Cond", n.RecheckCond)
	add("Hash Cond", n.HashCond)
	add("Merge Cond", n.MergeCond)
	add("Join Filter", n.JoinFilter)
	add("Filter", n.Filter)
	if n.RowsRemovedByFilter > 0 {
		d = append(d, fmt.Sprintf("Rows Removed by Filter: %s", render.Count(int64(n.RowsRemoved()+0.5))))
	}
	if len(n.SortKey) > 0 {
		add("Sort Key", strings.Join(n.SortKey, ", "))
	}
	if n.SortMethod != "" {
		d = append(d, fmt.Sprintf("Sort Method: %s, %s kB (%s)", n.SortMethod, render.Count(n.SortSpaceUsed), strings.ToLower(n.SortSpaceType)))
	}
	if n.HashBatches > 0 {
		d = append(d, fmt.Sprintf("Buckets: %s, Batches: %d, Memory: %s kB", render.Count(n.HashBuckets), n.HashBatches, render.Count(n.PeakMemoryUsage)))
	}
	if n.HeapFetches > 0 {
		d = append(d, fmt.Sprintf("Heap Fetches: %s", render.Count(int64(n.HeapFetches))))
	}
	if n.LossyHeapBlocks > 0 {
		d = append(d, fmt.Sprintf("Heap Blocks: exact=%s lossy=%s", render.Count(int64(n.ExactHeapBlocks)), render.Count(int64(n.LossyHeapBlocks))))
	}
	if p.Analyzed && (n.Buffers.SharedHit+n.Buffers.SharedRead+n.Buffers.TempRead+n.Buffers.TempWritten) > 0 {
		line := fmt.Sprintf("Buffers: shared hit=%s read=%s", render.Count(n.Buffers.SharedHit), render.Count(n.Buffers.SharedRead))
		if n.Buffers.TempRead+n.Buffers.TempWritten > 0 {
			line += fmt.Sprintf(", temp read=%s written=%s", render.Count(n.Buffers.TempRead), render.Count(n.Buffers.TempWritten))
		}
		d = append(d, line)
	}
	return d
}
