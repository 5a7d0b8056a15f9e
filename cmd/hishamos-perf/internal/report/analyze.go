package report

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hishamos/hishamos-perf/analyze"
	"github.com/hishamos/hishamos-perf/internal/render"
)

// Widths, in characters, that statement texts and names are cut to in text
// and in Markdown (CSV keeps them whole): a tree line or a table cell stays
// readable in a 100-column terminal, and a comment has room for more.
const (
	queryWidthText, queryWidthMarkdown   = 90, 300
	indexWidthText, indexWidthMarkdown   = 36, 80
	tableWidthText, tableWidthMarkdown   = 24, 60
	findingQueryWidth                    = 200
	findingMessageWidth, findingFixWidth = 600, 400
	explainQueryWidth                    = 300
)

// maxIndexRows caps the indexes listed in text and Markdown; CSV and JSON
// have them all.
const maxIndexRows = 15

// Analyze lays analyze's report out for format: the ranked statements,
// each one's text and plan (a tree), the findings (a tree in text, a
// table in Markdown and CSV) and the indexes. In Markdown, a report over
// the limit shows fewer findings and statements, two thirds at a time,
// with a note saying how many were left out (all are in JSON).
func Analyze(rep *analyze.Report, f Format) *Doc {
	return analyzeDoc(rep, rep, f, len(rep.Findings))
}

// analyzeDoc is the document of cut (rep with fewer statements) and at
// most maxFindings findings.
func analyzeDoc(rep, cut *analyze.Report, f Format, maxFindings int) *Doc {
	doc := &Doc{JSON: rep}
	md := f == Markdown
	doc.Blocks = append(doc.Blocks, statementsTable(cut), &Tree{Title: "Queries", Root: queriesTree(cut, md)})
	findings := cut.Findings
	more := 0
	if len(findings) > maxFindings {
		more = len(findings) - maxFindings
		findings = findings[:maxFindings]
	}
	doc.Blocks = append(doc.Blocks, findingsBlock(findings, more, rankOf(cut), f))
	if len(cut.Indexes) > 0 {
		doc.Blocks = append(doc.Blocks, indexesTable(cut, f))
	}
	if more := len(rep.Statements) - len(cut.Statements); more > 0 {
		doc.Blocks = append(doc.Blocks, &Para{Text: fmt.Sprintf("…and %d more statements, left out to keep this under %d KB: see --format json.", more, MarkdownLimitKB)})
	}
	if md && (maxFindings > 0 || len(cut.Statements) > 0) {
		// Both shrink: the findings explain the statements ranked.
		doc.Shorter = func() (*Doc, bool) {
			next := *cut
			next.Statements = cut.Statements[:len(cut.Statements)*2/3]
			return analyzeDoc(rep, &next, f, maxFindings*2/3), true
		}
	}
	return doc
}

// fmtMs writes milliseconds short: 0.12ms, 45.1ms, 1.23s, 2.1min.
func fmtMs(v float64) string {
	switch {
	case v >= 120_000:
		return fmt.Sprintf("%.1fmin", v/60_000)
	case v >= 1000:
		return fmt.Sprintf("%.2fs", v/1000)
	case v >= 100:
		return fmt.Sprintf("%.0fms", v)
	case v >= 10:
		return fmt.Sprintf("%.1fms", v)
	}
	return fmt.Sprintf("%.2fms", v)
}

// perCall writes a per-call figure short.
func perCall(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v < 10:
		return fmt.Sprintf("%.1f", v)
	}
	return render.Count(int64(v + 0.5))
}

// count is a whole number written short (12.3k), in full in CSV.
func count(n int64) Cell { return Num(n, render.Count(n)) }

func statementsTable(rep *analyze.Report) *Table {
	title := "Top statements by " + map[analyze.SortKey]string{
		analyze.SortTotal: "total time", analyze.SortMean: "mean time", analyze.SortCalls: "calls",
		analyze.SortIO: "blocks read or spilled", analyze.SortStddev: "time variation"}[rep.Sort]
	if rep.Window.Mode == "interval" {
		title += fmt.Sprintf(" during %s", (time.Duration(rep.Window.Seconds * float64(time.Second))).Round(time.Second))
	} else if rep.Window.Since != nil {
		title += " since " + rep.Window.Since.UTC().Format("2006-01-02 15:04 UTC")
	}
	t := &Table{
		Title: title,
		Columns: []Column{{Name: "#", Right: true, CSV: "rank"}, {Name: "source", DataOnly: true},
			{Name: "calls", Right: true}, {Name: "total", Right: true, CSV: "total ms"}, {Name: "mean", Right: true, CSV: "mean ms"},
			{Name: "share", Right: true, CSV: "share %"}, {Name: "rows/c", Right: true}, {Name: "hit/c", Right: true}, {Name: "read/c", Right: true},
			{Name: "hit%", Right: true}, {Name: "temp", Right: true, CSV: "temp blocks"}, {Name: "plan"},
			{Name: "queryid", DataOnly: true}, {Name: "fingerprint", DataOnly: true}, {Name: "query", DataOnly: true}},
	}
	for _, s := range rep.Statements {
		hit := Dash()
		if s.CacheHitPct != nil {
			hit = Num(*s.CacheHitPct, fmt.Sprintf("%.1f", *s.CacheHitPct))
		}
		rank := Int(s.Rank)
		if s.Source != "pg_stat_statements" {
			rank = Cell{Text: "f", Value: None}
		}
		tone := Plain
		if s.PlanError != "" && s.PlanError != analyze.ErrNotExplainable.Error() {
			tone = Warn
		}
		queryID := Cell{Value: None}
		if s.QueryID != 0 {
			queryID = Int(s.QueryID)
		}
		t.Rows = append(t.Rows, Row{Tone: tone, Cells: []Cell{rank, Str(s.Source),
			count(s.Calls), Num(s.TotalTime, fmtMs(s.TotalTime)), Num(s.MeanTime, fmtMs(s.MeanTime)),
			Num(s.SharePct, fmt.Sprintf("%.1f%%", s.SharePct)), Num(s.RowsPerCall, perCall(s.RowsPerCall)),
			Num(s.SharedHitPerCall, perCall(s.SharedHitPerCall)), Num(s.SharedReadPerCall, perCall(s.SharedReadPerCall)),
			hit, count(s.TempBlksRead + s.TempBlksWritten), Str(planWord(s)),
			queryID, Str(s.Fingerprint), Str(s.Query)}})
	}
	t.Note = fmt.Sprintf("%d statements, %s calls, %s in all; share is of %s.", rep.Totals.Statements, render.Count(rep.Totals.Calls),
		fmtMs(rep.Totals.TotalTime), strings.ReplaceAll(rep.ShareOf, "_", " "))
	for _, n := range rep.Notes {
		t.Note += "\n" + n
	}
	return t
}

func planWord(s analyze.Statement) string {
	switch {
	case s.Plan == nil && s.PlanError == analyze.ErrNotExplainable.Error():
		return "utility"
	case s.Plan == nil && s.PlanError != "":
		return "error"
	case s.Plan == nil:
		return "-"
	case s.Plan.Analyzed:
		return "analyzed"
	case s.Plan.Generic:
		return "generic"
	}
	return "estimated"
}

// queriesTree lists each ranked statement's text with its plan's hot
// nodes, or why it has no plan.
func queriesTree(rep *analyze.Report, md bool) *Node {
	root := &Node{}
	width := queryWidthText
	if md {
		width = queryWidthMarkdown
	}
	for _, s := range rep.Statements {
		rank := fmt.Sprintf("#%d", s.Rank)
		if s.Source != "pg_stat_statements" {
			rank = s.Source
		}
		n := &Node{Text: rank + " " + render.Truncate(s.Query, width), Tone: Bold}
		switch {
		case s.Plan != nil:
			line := fmt.Sprintf("%s plan %s, cost %.0f", planWord(s), s.Plan.ShapeHash[:8], s.Plan.TotalCost)
			if s.Plan.Analyzed {
				line += fmt.Sprintf(", %s", fmtMs(s.Plan.ExecutionTime))
			}
			if len(s.Plan.Hot) > 0 {
				var hot []string
				for _, h := range s.Plan.Hot {
					hot = append(hot, fmt.Sprintf("%s %.0f%%", h.Label, h.SharePct))
				}
				line += "; hot: " + strings.Join(hot, ", ")
			}
			n.Detail = append(n.Detail, line)
		case s.PlanError != "":
			n.Detail = append(n.Detail, "no plan: "+s.PlanError)
		}
		root.Children = append(root.Children, n)
	}
	return root
}

var severityTone = map[analyze.Severity]Tone{analyze.Critical: Bad, analyze.Warning: Warn, analyze.Info: Plain}

// rankOf maps the ranked statements' fingerprints to their ranks, so a
// finding can point at its row.
func rankOf(rep *analyze.Report) map[string]int {
	m := map[string]int{}
	for _, s := range rep.Statements {
		if s.Fingerprint != "" && s.Source == "pg_stat_statements" {
			m[s.Fingerprint] = s.Rank
		}
	}
	return m
}

// findingsBlock lists findings: a tree with the message and fix under each
// in text, a table in Markdown and CSV. ranks maps fingerprints to ranked
// statements (nil for explain, which ranks none); a finding on a statement
// outside the ranking shows its text. more counts the findings left out.
func findingsBlock(fs []analyze.Finding, more int, ranks map[string]int, f Format) Block {
	counts := map[analyze.Severity]int{}
	for _, x := range fs {
		counts[x.Severity]++
	}
	title := fmt.Sprintf("Findings: %d critical, %d warning, %d info", counts[analyze.Critical], counts[analyze.Warning], counts[analyze.Info])
	note := ""
	if more > 0 {
		note = fmt.Sprintf("…and %d more findings, left out to keep this under %d KB: see --format json.", more, MarkdownLimitKB)
	}
	if len(fs) == 0 {
		return &Tree{Title: "Findings: none", Note: note, Data: &Table{Title: "Findings: none", Columns: findingColumns}}
	}
	unranked := func(x analyze.Finding) bool {
		_, ranked := ranks[x.Fingerprint]
		return x.Query != "" && !ranked && ranks != nil
	}
	t := &Table{Title: title, Columns: findingColumns, Note: note}
	for _, x := range fs {
		msg := x.Message
		if unranked(x) {
			msg = "`" + render.Truncate(x.Query, findingQueryWidth) + "`: " + msg
		}
		t.Rows = append(t.Rows, Row{Cells: []Cell{Str(x.Severity.String()), Str(x.Rule), Str(findingWhere(x, ranks)),
			Full(render.Truncate(msg, findingMessageWidth), x.Message), Full(render.Truncate(x.Fix, findingFixWidth), x.Fix),
			Str(x.Table), Str(x.Index), Str(x.Fingerprint), Str(x.Query)}})
	}
	if f == Markdown {
		return t
	}
	root := &Node{}
	for _, x := range fs {
		detail := []string{x.Message, "fix: " + x.Fix}
		if unranked(x) {
			detail = append([]string{"query: " + render.Truncate(x.Query, findingQueryWidth)}, detail...)
		}
		root.Children = append(root.Children, &Node{
			Text:   fmt.Sprintf("%s %s on %s", strings.ToUpper(x.Severity.String()), x.Rule, findingWhere(x, ranks)),
			Tone:   severityTone[x.Severity],
			Detail: detail,
		})
	}
	return &Tree{Title: title, Root: root, Note: note, Data: t}
}

// findingColumns are the findings table's columns.
var findingColumns = []Column{{Name: "severity"}, {Name: "rule"}, {Name: "where"}, {Name: "finding"}, {Name: "fix"},
	{Name: "table", DataOnly: true}, {Name: "index", DataOnly: true}, {Name: "fingerprint", DataOnly: true}, {Name: "query", DataOnly: true}}

// findingWhere names what a finding is on: the table or index, the
// statement (by rank when ranked) and the plan node.
func findingWhere(f analyze.Finding, ranks map[string]int) string {
	var parts []string
	if f.Index != "" {
		parts = append(parts, "index "+f.Index)
	} else if f.Table != "" {
		parts = append(parts, f.Table)
	}
	if rank, ok := ranks[f.Fingerprint]; ok {
		parts = append(parts, fmt.Sprintf("statement #%d", rank))
	} else if f.Fingerprint != "" {
		parts = append(parts, "query "+f.Fingerprint[:min(8, len(f.Fingerprint))])
	}
	if f.Node != nil {
		parts = append(parts, fmt.Sprintf("node %d", f.Node.ID))
	}
	if len(parts) == 0 {
		return "the statement"
	}
	return strings.Join(parts, ", ")
}

// indexesTable lists the indexes with findings, then the largest others;
// text and Markdown show the first maxIndexRows.
func indexesTable(rep *analyze.Report, f Format) *Table {
	ix := append([]analyze.Index(nil), rep.Indexes...)
	sort.SliceStable(ix, func(i, j int) bool {
		if (len(ix[i].Findings) > 0) != (len(ix[j].Findings) > 0) {
			return len(ix[i].Findings) > 0
		}
		return ix[i].SizeBytes > ix[j].SizeBytes
	})
	var total int64
	for _, x := range rep.Indexes {
		total += x.SizeBytes
	}
	t := &Table{Title: "Indexes (with findings first, then the largest)",
		Columns: []Column{{Name: "index"}, {Name: "table"}, {Name: "size", Right: true, CSV: "size bytes"}, {Name: "scans", Right: true}, {Name: "findings"}}}
	width, twidth := indexWidthText, tableWidthText
	if f == Markdown {
		width, twidth = indexWidthMarkdown, tableWidthMarkdown
	}
	for i, x := range ix {
		if i >= maxIndexRows && f != CSV {
			break
		}
		tone := Plain
		if len(x.Findings) > 0 {
			tone = Warn
		}
		t.Rows = append(t.Rows, Row{Tone: tone, Cells: []Cell{Full(render.Truncate(x.Name, width), x.Name), Full(render.Truncate(x.Table, twidth), x.Table),
			Num(x.SizeBytes, analyze.Bytes(x.SizeBytes)), count(x.Scans), Str(strings.Join(x.Findings, ", "))}})
	}
	t.Note = fmt.Sprintf("%d indexes, %s in all, on %d tables.", len(rep.Indexes), analyze.Bytes(total), len(rep.Tables))
	return t
}
