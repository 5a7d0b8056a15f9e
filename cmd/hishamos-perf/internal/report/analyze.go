package report

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hishamos/hishamos-perf/analyze"
	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/render"
)

// Widths, in characters, that statement texts are cut to in Markdown
// (CSV and JSON keep them whole; text elides them to the terminal's width
// in tables and wraps them whole in the details).
const (
	queryWidthMarkdown = 300
	findingQueryWidth  = 200
	explainQueryWidth  = 300
)

// Caps of what the text details repeat of a statement: a statement's text
// past queryMaxLines lines (an IN list of thousands of values written one
// per line) is in the JSON and CSV.
const queryMaxLines = 8

// maxIndexRows caps the indexes listed in text and Markdown; CSV and JSON
// have them all.
const maxIndexRows = 15

// Analyze lays analyze's report out for format: a header saying what the
// figures rest on (how old the statistics are, how many calls they
// cover), the ranked statements (a table of numbers, one line each, then
// each one's whole text and plan below it), the findings (a table, one
// line each, then each one's message and fix) and the indexes. In
// Markdown, a report over the limit shows fewer findings and statements,
// two thirds at a time, with a note saying how many were left out (all
// are in JSON).
func Analyze(rep *analyze.Report, f Format) *Doc {
	return analyzeDoc(rep, rep, f, len(rep.Findings))
}

// analyzeDoc is the document of cut (rep with fewer statements) and at
// most maxFindings findings.
func analyzeDoc(rep, cut *analyze.Report, f Format, maxFindings int) *Doc {
	doc := &Doc{JSON: rep}
	md := f == Markdown
	doc.Blocks = append(doc.Blocks, analyzeHeader(cut), statementsTable(cut, md))
	if d := statementDetails(cut, md); len(d.Entries) > 0 {
		doc.Blocks = append(doc.Blocks, d)
	}
	findings := cut.Findings
	more := 0
	if len(findings) > maxFindings {
		more = len(findings) - maxFindings
		findings = findings[:maxFindings]
	}
	doc.Blocks = append(doc.Blocks, findingsBlocks(findings, more, rankOf(cut), f)...)
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

// analyzeHeader says what the report rests on: the server, how old its
// statistics are and how many calls they cover, and the notes on what
// limited it.
func analyzeHeader(rep *analyze.Report) *KV {
	title := "analyze"
	if srv := rep.Server; srv != nil {
		title = fmt.Sprintf("analyze: database %s on PostgreSQL %s", srv.Database, srv.Version)
	}
	kv := &KV{Title: title}
	if st := rep.Statistics; st != nil {
		age := fmt.Sprintf("%s old: since the %s at %s", ageWords(st.Age()), st.SinceWhat, st.Since.UTC().Format(timeLayout))
		kv.Items = append(kv.Items, Item{Key: "statistics", Value: Cell{Text: age, Value: st.AgeSeconds},
			Data: []Field{{"statistics age s", st.AgeSeconds}, {"statistics since", st.Since.UTC().Format(time.RFC3339)}, {"statistics since what", st.SinceWhat}}})
	}
	covers := fmt.Sprintf("%s calls of %s statements, %s in all", thousands(rep.Totals.Calls), thousands(int64(rep.Totals.Statements)), fmtMs(rep.Totals.TotalTime))
	if rep.Window.Mode == "interval" {
		covers += fmt.Sprintf(", during %s", (time.Duration(rep.Window.Seconds * float64(time.Second))).Round(time.Second))
	}
	kv.Items = append(kv.Items, Item{Key: "ranking", Value: Str(covers),
		Data: []Field{{"calls", rep.Totals.Calls}, {"statements", rep.Totals.Statements}, {"total ms", rep.Totals.TotalTime}}})
	// A fleet: each node's own share and statistics, the sums above.
	for _, n := range rep.Nodes {
		text := fmt.Sprintf("%s, %s calls of %s statements, %s", orWord(n.Role, "node"), thousands(n.Calls), thousands(int64(n.Statements)), fmtMs(n.TotalTime))
		data := []Field{{"node " + n.Name + " role", n.Role}, {"node " + n.Name + " calls", n.Calls}, {"node " + n.Name + " total ms", n.TotalTime}}
		if n.ReplayLagBytes != nil {
			text += fmt.Sprintf("; replay %s behind", pg.Size(*n.ReplayLagBytes))
			data = append(data, Field{"node " + n.Name + " replay lag bytes", *n.ReplayLagBytes})
		}
		if n.ReplayPaused {
			text += " (replay paused)"
		}
		if st := n.Statistics; st != nil {
			text += fmt.Sprintf("; statistics %s old (since the %s)", ageWords(st.Age()), st.SinceWhat)
			data = append(data, Field{"node " + n.Name + " statistics age s", st.AgeSeconds})
		}
		kv.Items = append(kv.Items, Item{Key: n.Name, Value: Str(text), Data: data})
	}
	kv.Note = strings.Join(rep.Notes, "\n")
	return kv
}

// orWord is s, or word when s is empty.
func orWord(s, word string) string {
	if s == "" {
		return word
	}
	return s
}

// thousands writes n in full with a comma between groups of three digits.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	start := 0
	if n < 0 {
		start = 1
	}
	for i := len(s) - 3; i > start; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// timeLayout is how a moment is written: to the minute, in UTC.
const timeLayout = "2006-01-02 15:04 UTC"

// ageWords writes an age the way people say it: 3 seconds, 12 minutes,
// 5 hours, 9 days.
func ageWords(d time.Duration) string {
	unit := func(n int, name string) string {
		if n == 1 {
			return "1 " + name
		}
		return fmt.Sprintf("%d %ss", n, name)
	}
	switch {
	case d >= 48*time.Hour:
		return unit(int(d.Hours()/24), "day")
	case d >= 2*time.Hour:
		return unit(int(d.Hours()), "hour")
	case d >= 2*time.Minute:
		return unit(int(d.Minutes()), "minute")
	}
	return unit(int(d.Seconds()), "second")
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

// sortTitles say what a ranking is by.
var sortTitles = map[analyze.SortKey]string{
	analyze.SortTotal: "total time", analyze.SortMean: "mean time", analyze.SortCalls: "calls",
	analyze.SortIO: "blocks read or spilled", analyze.SortStddev: "time variation"}

// statementsTable is the ranking: one line of numbers per statement, with
// a column for every sort key (total, mean, calls, stddev, io), and the
// statement's text elided to what the line has room for.
func statementsTable(rep *analyze.Report, md bool) *Table {
	title := "Top statements by " + sortTitles[rep.Sort]
	if rep.Window.Mode == "interval" {
		title += fmt.Sprintf(" during %s", (time.Duration(rep.Window.Seconds * float64(time.Second))).Round(time.Second))
	} else if rep.Window.Since != nil {
		title += " since " + rep.Window.Since.UTC().Format(timeLayout)
	}
	t := &Table{
		Title: title,
		Columns: []Column{{Name: "#", Right: true, CSV: "rank"}, {Name: "source", DataOnly: true},
			{Name: "calls", Right: true}, {Name: "total", Right: true, CSV: "total ms"}, {Name: "mean", Right: true, CSV: "mean ms"},
			{Name: "stddev", Right: true, CSV: "stddev ms"}, {Name: "io", Right: true, CSV: "io blocks"},
			{Name: "share", Right: true, CSV: "share %"}, {Name: "rows/c", Right: true},
			{Name: "hit/c", Right: true, DataOnly: true}, {Name: "read/c", Right: true, DataOnly: true},
			{Name: "hit%", Right: true, DataOnly: true}, {Name: "temp", Right: true, CSV: "temp blocks", DataOnly: true}, {Name: "plan", DataOnly: true},
			{Name: "query"},
			{Name: "queryid", DataOnly: true}, {Name: "fingerprint", DataOnly: true}, {Name: "role", DataOnly: true}, {Name: "queryids", DataOnly: true}},
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
		parts := max(len(s.Parts), 1)
		t.Rows = append(t.Rows, Row{Tone: tone, Cells: []Cell{rank, Str(s.Source),
			count(s.Calls), Num(s.TotalTime, fmtMs(s.TotalTime)), Num(s.MeanTime, fmtMs(s.MeanTime)),
			Num(s.StddevTime, fmtMs(s.StddevTime)), count(s.IOBlocks()),
			Num(s.SharePct, fmt.Sprintf("%.1f%%", s.SharePct)), Num(s.RowsPerCall, perCall(s.RowsPerCall)),
			Num(s.SharedHitPerCall, perCall(s.SharedHitPerCall)), Num(s.SharedReadPerCall, perCall(s.SharedReadPerCall)),
			hit, count(s.TempBlksRead + s.TempBlksWritten), Str(planWord(s)),
			Full(queryCell(s.Query, md), s.Query),
			queryID, Str(s.Fingerprint), Str(s.Role), Int(parts)}})
	}
	t.Note = fmt.Sprintf("share is of %s; io: blocks read from disk or spilled to temporary files.", strings.ReplaceAll(rep.ShareOf, "_", " "))
	return t
}

// folded is s with its white space folded into single spaces: a
// statement's text on a table's line.
func folded(s string) string { return strings.Join(strings.Fields(s), " ") }

// queryCellMarkdown is how much of a statement the statements table shows
// in Markdown, where nothing cuts a cell: its details show more.
const queryCellMarkdown = 120

// queryCell is a statement's text on one line of the statements table: in
// text its long literals and lines already shortened (the layout elides it
// to the column), in Markdown its start.
func queryCell(q string, md bool) string {
	if md {
		return render.Truncate(q, queryCellMarkdown)
	}
	return render.Elide(folded(q))
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

// statementDetails gives each ranked statement its whole text and what
// the table has no room for: its plan (kind, shape hash, cost, the nodes
// that take most of it) or why it has none, its figures per call, and the
// roles and queryids it sums.
func statementDetails(rep *analyze.Report, md bool) *Details {
	d := &Details{}
	for _, s := range rep.Statements {
		head := fmt.Sprintf("#%d", s.Rank)
		if s.Source != "pg_stat_statements" {
			head = s.Source
		}
		e := Entry{Head: head, Tone: Bold}
		var hot []string
		switch {
		case s.Plan != nil:
			e.Head += fmt.Sprintf(" · %s plan %s, cost %s", planWord(s), s.Plan.ShapeHash[:8], render.Count(int64(s.Plan.TotalCost+0.5)))
			if s.Plan.Analyzed {
				e.Head += ", " + fmtMs(s.Plan.ExecutionTime)
			}
			for _, h := range s.Plan.Hot {
				hot = append(hot, fmt.Sprintf("%s %.0f%%", h.Label, h.SharePct))
			}
		case s.PlanError != "":
			e.Head += " · no plan"
			e.Tone = Warn
		}
		query := s.Query
		if md {
			query = render.Truncate(query, queryWidthMarkdown)
		} else if lines := strings.Split(strings.TrimSpace(query), "\n"); len(lines) > queryMaxLines {
			query = strings.Join(lines[:queryMaxLines], "\n") + fmt.Sprintf("\n… %d more lines (--format json has the whole text)", len(lines)-queryMaxLines)
		}
		e.Lines = append(e.Lines, Line{Text: query})
		if len(hot) > 0 {
			e.Lines = append(e.Lines, Line{Label: "hot", Text: strings.Join(hot, ", "), Tone: Dim})
		}
		if s.Plan == nil && s.PlanError != "" {
			e.Lines = append(e.Lines, Line{Label: "no plan", Text: s.PlanError, Tone: Warn})
		}
		if c := s.CustomPlan; c != nil {
			line := fmt.Sprintf("%s, cost %s", c.ShapeHash[:8], render.Count(int64(c.TotalCost+0.5)))
			if c.Analyzed {
				line += ", " + fmtMs(c.ExecutionTime)
			}
			var hot []string
			for _, h := range c.Hot {
				hot = append(hot, fmt.Sprintf("%s %.0f%%", h.Label, h.SharePct))
			}
			if len(hot) > 0 {
				line += "; hot: " + strings.Join(hot, ", ")
			}
			if c.Note != "" {
				line += "; " + c.Note
			}
			e.Lines = append(e.Lines, Line{Label: "custom plan", Text: line, Tone: Dim})
		}
		if s.Calls > 0 {
			fig := fmt.Sprintf("%s rows, %s blocks hit and %s read", perCall(s.RowsPerCall), perCall(s.SharedHitPerCall), perCall(s.SharedReadPerCall))
			if s.CacheHitPct != nil {
				fig += fmt.Sprintf(" (%.1f%% hit)", *s.CacheHitPct)
			}
			if temp := s.TempBlksRead + s.TempBlksWritten; temp > 0 {
				fig += fmt.Sprintf(", %s temporary blocks", perCall(float64(temp)/float64(s.Calls)))
			}
			e.Lines = append(e.Lines, Line{Label: "per call", Text: fig, Tone: Dim})
		}
		if len(s.Nodes) > 0 {
			var nodes []string
			for _, n := range s.Nodes {
				nodes = append(nodes, fmt.Sprintf("%s %s calls, %s", n.Node, render.Count(n.Calls), fmtMs(n.TotalTime)))
			}
			text := strings.Join(nodes, "; ")
			if s.Plan != nil && s.Explained != "" {
				text += "; explained on " + s.Explained
			}
			e.Lines = append(e.Lines, Line{Label: "nodes", Text: text, Tone: Dim})
		}
		// Parts that differ only by the node that counted them are the
		// nodes line's.
		distinct := map[string]bool{}
		for _, p := range s.Parts {
			distinct[p.Fingerprint+" "+p.Role] = true
		}
		if len(s.Parts) > 1 && len(distinct) > 1 {
			var parts []string
			for _, p := range s.Parts {
				on := ""
				if p.Node != "" {
					on = " on " + p.Node
				}
				parts = append(parts, fmt.Sprintf("%s by %s%s (%s calls, %s)", p.Fingerprint, p.Role, on, render.Count(p.Calls), fmtMs(p.TotalTime)))
			}
			e.Lines = append(e.Lines, Line{Label: fmt.Sprintf("%d queryids", len(s.Parts)), Text: strings.Join(parts, "; "), Tone: Dim})
		}
		if s.Plan != nil && s.Plan.Note != "" {
			e.Lines = append(e.Lines, Line{Label: "note", Text: s.Plan.Note, Tone: Dim})
		}
		d.Entries = append(d.Entries, e)
	}
	return d
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

// findingsBlocks lists findings: in text, a table of one line each
// (severity, rule, where) and then each one's message and fix, wrapped; in
// Markdown and CSV, one table with every field. ranks maps fingerprints to
// ranked statements (nil for explain, which ranks none); a finding on a
// statement outside the ranking shows its text. more counts the findings
// left out.
func findingsBlocks(fs []analyze.Finding, more int, ranks map[string]int, f Format) []Block {
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
		t := &Table{Title: "Findings: none", Columns: findingColumns, Note: note}
		if f == Text {
			// A title alone (left out with -q).
			return []Block{&KV{Title: "Findings: none", Note: note}}
		}
		return []Block{t}
	}
	unranked := func(x analyze.Finding) bool {
		_, ranked := ranks[x.Fingerprint]
		return x.Query != "" && !ranked && ranks != nil
	}
	data := &Table{Title: title, Columns: findingColumns, Note: note}
	for _, x := range fs {
		msg := x.Message
		if unranked(x) {
			msg = "`" + render.Truncate(x.Query, findingQueryWidth) + "`: " + msg
		}
		data.Rows = append(data.Rows, Row{Tone: severityTone[x.Severity], Cells: []Cell{Str(x.Severity.String()), Str(x.Rule), Str(findingWhere(x, ranks)),
			Full(msg, x.Message), Str(x.Fix), Str(x.Table), Str(x.Index), Str(x.Fingerprint), Str(x.Query)}})
	}
	if f != Text {
		return []Block{data}
	}
	// The table a terminal shows: the columns up to where, and the
	// entries below it carry the rest.
	table := &Table{Title: title, Columns: findingColumns[:3], Note: note}
	details := &Details{}
	for i, x := range fs {
		table.Rows = append(table.Rows, Row{Tone: data.Rows[i].Tone, Cells: data.Rows[i].Cells[:3]})
		e := Entry{Head: fmt.Sprintf("%s %s on %s", strings.ToUpper(x.Severity.String()), x.Rule, findingWhere(x, ranks)), Tone: severityTone[x.Severity]}
		if unranked(x) {
			e.Lines = append(e.Lines, Line{Label: "query", Text: folded(x.Query), Tone: Dim})
		}
		e.Lines = append(e.Lines, Line{Text: x.Message}, Line{Label: "fix", Text: x.Fix})
		details.Entries = append(details.Entries, e)
	}
	return []Block{table, details}
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
	switch {
	case f.Node != nil && f.Plan != "":
		parts = append(parts, fmt.Sprintf("%s plan node %d", f.Plan, f.Node.ID))
	case f.Node != nil:
		parts = append(parts, fmt.Sprintf("node %d", f.Node.ID))
	}
	if f.NodeName != "" {
		parts = append(parts, "on "+f.NodeName)
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
	for i, x := range ix {
		if i >= maxIndexRows && f != CSV {
			break
		}
		tone := Plain
		if len(x.Findings) > 0 {
			tone = Warn
		}
		// In a fleet, every node's scans: the index serves them all.
		scans := x.Scans
		for _, n := range x.NodeScans {
			scans += n.Scans
		}
		t.Rows = append(t.Rows, Row{Tone: tone, Cells: []Cell{Str(x.Name), Str(x.Table),
			Num(x.SizeBytes, pg.Size(x.SizeBytes)), count(scans), Str(strings.Join(x.Findings, ", "))}})
	}
	t.Note = fmt.Sprintf("%d indexes, %s in all, on %d tables.", len(rep.Indexes), pg.Size(total), len(rep.Tables))
	if len(rep.Nodes) > 1 {
		t.Note += fmt.Sprintf(" Scans are summed over the %d nodes.", len(rep.Nodes))
	}
	return t
}
