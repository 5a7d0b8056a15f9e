package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hishamos/hishamos-perf/analyze"
	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/render"
)

// Flag names of analyze and explain; bench and indexes take the same
// --statement-timeout and --file.
const (
	flagSort             = "sort"
	flagTop              = "top"
	flagInterval         = "interval"
	flagExplain          = "explain"
	flagAnalyze          = "analyze"
	flagFile             = "file"
	flagStatementTimeout = "statement-timeout"
	flagFailOn           = "fail-on"
	flagNoIndexes        = "no-indexes"
)

// markdownLimit keeps `--format markdown` under GitHub's 65,536-character
// limit for a pull-request comment, with room for a heading around it.
const markdownLimit = 60_000

// analyzeOptions are the analyze command's flags.
type analyzeOptions struct {
	sort             string
	top              int
	interval         time.Duration
	explain          int
	analyze          bool
	file             string
	statementTimeout time.Duration
	failOn           string
	noIndexes        bool
}

func newAnalyzeCmd(a *app) *cobra.Command {
	var o analyzeOptions
	cmd := &cobra.Command{
		Use:   "analyze",
		Short: "Rank what costs most in pg_stat_statements, explain it, and check every index",
		Long: `analyze reads pg_stat_statements for the current database and ranks its
statements by total time (--sort total|mean|calls|io|stddev), with calls,
mean time, rows and blocks per call, cache hit ratio, temporary blocks and
each one's share of the whole. --interval 60s ranks only what ran during the
next 60 seconds, from two snapshots: pg_stat_statements_reset is never
called, so other people's monitoring keeps its counters.

The top statements are explained (EXPLAIN (FORMAT JSON, VERBOSE, SETTINGS,
BUFFERS)); statements holding $n parameters get generic plans. --analyze
runs EXPLAIN ANALYZE where values are known: statements without parameters
and those in --file. Every session is read-only with statement_timeout set;
EXPLAIN ANALYZE of anything but a plain SELECT runs in a transaction that is
rolled back: no row changes, but a rollback does not undo nextval(), so the
sequence an INSERT draws from may move.

Rules then look at the plans and statistics (seq-scan-large,
rows-removed-by-filter, row-misestimate, sort-spill, hash-spill,
lossy-bitmap, heap-fetches, nested-loop-many, no-limit-large-result,
wide-rows, n-plus-one, jit-heavy) and at every index (unused-index,
duplicate-index, prefix-index, invalid-index, fk-without-index,
seq-scan-table). Each finding has a severity, the numbers behind it and a
fix. --fail-on warning|critical exits 1 when a finding reaches that severity.

--format json writes the hishamos-perf/analyze/v1 document: statements[],
findings[] (rule, severity, table, fingerprint, query, evidence, fix) and
indexes[]; markdown stays under 60 KB for a pull-request comment.`,
		Example: `  hishamos-perf analyze
  hishamos-perf analyze --sort mean --top 10
  hishamos-perf analyze --interval 60s --format json > window.json
  hishamos-perf analyze --analyze --file slow-queries.sql
  hishamos-perf --dsn "$DATABASE_URL" analyze --format markdown --fail-on critical`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runAnalyze(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.sort, flagSort, string(analyze.SortTotal), "rank by: total, mean, calls, io or stddev")
	f.IntVar(&o.top, flagTop, analyze.DefaultTop, "how many statements to show (0: all)")
	f.DurationVar(&o.interval, flagInterval, 0, "rank what runs during this interval (two snapshots, no reset) instead of the cumulative counters")
	f.IntVar(&o.explain, flagExplain, analyze.DefaultExplain, "how many of the top statements to explain (0: none)")
	f.BoolVar(&o.analyze, flagAnalyze, false, "EXPLAIN ANALYZE where values are known (statements without $n, and --file); writes run in a transaction that is rolled back")
	f.StringVar(&o.file, flagFile, "", "a .sql file of statements with real values, explained and matched to the ranked statements by query id")
	f.DurationVar(&o.statementTimeout, flagStatementTimeout, pg.DefaultSession.StatementTimeout, "statement_timeout of every statement the tool runs")
	f.StringVar(&o.failOn, flagFailOn, "", "exit 1 when a finding reaches this severity: warning or critical")
	f.BoolVar(&o.noIndexes, flagNoIndexes, false, "skip the index health checks")
	// --profile NAME is meant to join --file here: a profile's statements
	// with arguments from profiles.Bound.Args become analyze.Options.Samples.
	return cmd
}

// parseFailOn checks --fail-on; empty means no gate.
func parseFailOn(cmdPath, s string) (analyze.Severity, error) {
	if s == "" {
		return 0, nil
	}
	sev, err := analyze.ParseSeverity(s)
	if err != nil || sev == analyze.Info {
		return 0, &usageError{err: fmt.Errorf("--%s %q: use warning or critical", flagFailOn, s), cmd: cmdPath}
	}
	return sev, nil
}

// readSQLFile reads and splits a .sql file ("-" reads standard input).
func (a *app) readSQLFile(cmdPath, path string) ([]analyze.Source, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(a.stdin)
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, &usageError{err: fmt.Errorf("--%s: %w", flagFile, err), cmd: cmdPath}
	}
	stmts, err := analyze.SplitSQL(path, string(b))
	if err != nil {
		return nil, &usageError{err: fmt.Errorf("--%s: %w", flagFile, err), cmd: cmdPath}
	}
	if len(stmts) == 0 {
		return nil, &usageError{err: fmt.Errorf("--%s %s: no SQL statements in it", flagFile, path), cmd: cmdPath}
	}
	return stmts, nil
}

// analyzeError maps the analyze package's errors to exit codes: a server
// that is not set up for pg_stat_statements, or refuses, is 3.
func analyzeError(err error) error {
	var se *analyze.SQLError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled):
		return err
	case errors.As(err, &se), errors.Is(err, analyze.ErrNotExplainable), errors.Is(err, analyze.ErrSQLText):
		return &usageError{err: err}
	}
	return &dbError{err}
}

func (a *app) runAnalyze(ctx context.Context, o analyzeOptions) error {
	const cmdPath = "hishamos-perf analyze"
	key, err := analyze.ParseSortKey(o.sort)
	if err != nil {
		return &usageError{err: fmt.Errorf("--%s: %w", flagSort, err), cmd: cmdPath}
	}
	gate, err := parseFailOn(cmdPath, o.failOn)
	if err != nil {
		return err
	}
	switch {
	case o.top < 0:
		return &usageError{err: fmt.Errorf("--%s %d: must be 0 (all) or more", flagTop, o.top), cmd: cmdPath}
	case o.explain < 0:
		return &usageError{err: fmt.Errorf("--%s %d: must be 0 (none) or more", flagExplain, o.explain), cmd: cmdPath}
	case o.interval < 0:
		return &usageError{err: fmt.Errorf("--%s %s: must be positive", flagInterval, o.interval), cmd: cmdPath}
	case o.statementTimeout <= 0:
		return &usageError{err: fmt.Errorf("--%s %s: must be positive", flagStatementTimeout, o.statementTimeout), cmd: cmdPath}
	}
	opts := analyze.Options{Sort: key, Top: o.top, Interval: o.interval, Explain: o.explain, Analyze: o.analyze,
		SkipIndexes: o.noIndexes, StatementTimeout: o.statementTimeout, Progress: func(msg string) { a.say("%s", msg) }}
	if o.top == 0 {
		opts.Top = -1
	}
	if o.file != "" {
		if opts.Samples, err = a.readSQLFile(cmdPath, o.file); err != nil {
			return err
		}
	}
	t, err := a.target(ctx, true)
	if err != nil {
		return err
	}
	conn, err := a.connect(ctx, t, pg.Session{StatementTimeout: o.statementTimeout, LockTimeout: pg.DefaultSession.LockTimeout, ReadOnly: true})
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	a.say("analyze: reading pg_stat_statements on %s", t)
	rep, err := analyze.Analyze(ctx, conn, opts)
	if err != nil {
		return analyzeError(err)
	}
	if err := a.renderAnalyze(rep); err != nil {
		return err
	}
	return failOn(cmdPath, gate, rep.Findings)
}

// failOn is the --fail-on gate.
func failOn(cmdPath string, gate analyze.Severity, findings []analyze.Finding) error {
	if gate == 0 {
		return nil
	}
	if n := analyze.CountAtLeast(findings, gate); n > 0 {
		return &gateError{fmt.Errorf("%s: %d findings at %s or above (--%s %s)", strings.TrimPrefix(cmdPath, "hishamos-perf "), n, gate, flagFailOn, gate)}
	}
	return nil
}

// renderAnalyze writes the report: the JSON document, or the ranking,
// findings and indexes as text; Markdown is cut to stay under
// markdownLimit.
func (a *app) renderAnalyze(rep *analyze.Report) error {
	r := a.renderer()
	if r.Format == render.FormatJSON {
		return r.JSON(rep)
	}
	if r.Format != render.FormatMarkdown {
		return writeAnalyze(r, rep, -1)
	}
	// Markdown: render, and while it is too long show fewer findings and
	// fewer statements (all are in --format json).
	limit := len(rep.Findings)
	cut := *rep
	for {
		var buf bytes.Buffer
		mr := *r
		mr.Out = &buf
		if err := writeAnalyze(&mr, &cut, limit); err != nil {
			return err
		}
		if more := len(rep.Statements) - len(cut.Statements); more > 0 {
			fmt.Fprintf(&buf, "\n…and %d more statements, left out to keep this under %d KB: see --format json.\n", more, markdownLimit/1000)
		}
		if buf.Len() <= markdownLimit || (limit == 0 && len(cut.Statements) == 0) {
			_, err := a.stdout.Write(buf.Bytes())
			return err
		}
		// Both shrink: the findings explain the statements ranked.
		limit = limit * 2 / 3
		cut.Statements = cut.Statements[:len(cut.Statements)*2/3]
	}
}

// writeAnalyze writes the text report; maxFindings < 0 shows every
// finding, else at most that many with a note on the rest.
func writeAnalyze(r *render.Renderer, rep *analyze.Report, maxFindings int) error {
	md := r.Format == render.FormatMarkdown
	if err := r.Render(nil, statementsTable(rep)); err != nil {
		return err
	}
	fmt.Fprintln(r.Out)
	if err := r.Tree("Queries", queriesTree(rep, md), ""); err != nil {
		return err
	}
	fmt.Fprintln(r.Out)
	findings := rep.Findings
	more := 0
	if maxFindings >= 0 && len(findings) > maxFindings {
		more = len(findings) - maxFindings
		findings = findings[:maxFindings]
	}
	if err := writeFindings(r, findings, more, rankOf(rep)); err != nil {
		return err
	}
	if len(rep.Indexes) > 0 {
		fmt.Fprintln(r.Out)
		return r.Render(nil, indexesTable(rep, md))
	}
	return nil
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

// fmtPerCall writes a per-call figure short.
func fmtPerCall(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v < 10:
		return fmt.Sprintf("%.1f", v)
	}
	return render.Count(int64(v + 0.5))
}

func statementsTable(rep *analyze.Report) render.Table {
	title := "Top statements by " + map[analyze.SortKey]string{
		analyze.SortTotal: "total time", analyze.SortMean: "mean time", analyze.SortCalls: "calls",
		analyze.SortIO: "blocks read or spilled", analyze.SortStddev: "time variation"}[rep.Sort]
	if rep.Window.Mode == "interval" {
		title += fmt.Sprintf(" during %s", (time.Duration(rep.Window.Seconds * float64(time.Second))).Round(time.Second))
	} else if rep.Window.Since != nil {
		title += " since " + rep.Window.Since.UTC().Format("2006-01-02 15:04 UTC")
	}
	t := render.Table{
		Title:  title,
		Header: []string{"#", "calls", "total", "mean", "share", "rows/c", "hit/c", "read/c", "hit%", "temp", "plan"},
		Right:  []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
	}
	for _, s := range rep.Statements {
		hit := "-"
		if s.CacheHitPct != nil {
			hit = fmt.Sprintf("%.1f", *s.CacheHitPct)
		}
		rank := fmt.Sprint(s.Rank)
		if s.Source != "pg_stat_statements" {
			rank = "f"
		}
		t.Rows = append(t.Rows, []string{rank, render.Count(s.Calls), fmtMs(s.TotalTime), fmtMs(s.MeanTime),
			fmt.Sprintf("%.1f%%", s.SharePct), fmtPerCall(s.RowsPerCall), fmtPerCall(s.SharedHitPerCall), fmtPerCall(s.SharedReadPerCall),
			hit, render.Count(s.TempBlksRead + s.TempBlksWritten), planWord(s)})
		tone := render.Plain
		if s.PlanError != "" && s.PlanError != analyze.ErrNotExplainable.Error() {
			tone = render.Warn
		}
		t.Tones = append(t.Tones, tone)
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
func queriesTree(rep *analyze.Report, md bool) *render.TreeNode {
	root := &render.TreeNode{}
	width := 90
	if md {
		width = 300
	}
	for _, s := range rep.Statements {
		rank := fmt.Sprintf("#%d", s.Rank)
		if s.Source != "pg_stat_statements" {
			rank = s.Source
		}
		n := &render.TreeNode{Text: rank + " " + render.Truncate(s.Query, width), Tone: render.Bold}
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

var severityTone = map[analyze.Severity]render.Tone{analyze.Critical: render.Bad, analyze.Warning: render.Warn, analyze.Info: render.Plain}

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

// writeFindings lists findings: a tree with the message and fix under each
// in table format, a table in Markdown. ranks maps fingerprints to ranked
// statements; a finding on a statement outside the ranking shows its text.
func writeFindings(r *render.Renderer, fs []analyze.Finding, more int, ranks map[string]int) error {
	counts := map[analyze.Severity]int{}
	for _, f := range fs {
		counts[f.Severity]++
	}
	title := fmt.Sprintf("Findings: %d critical, %d warning, %d info", counts[analyze.Critical], counts[analyze.Warning], counts[analyze.Info])
	note := ""
	if more > 0 {
		note = fmt.Sprintf("…and %d more findings, left out to keep this under %d KB: see --format json.", more, markdownLimit/1000)
	}
	if len(fs) == 0 {
		return r.Tree("Findings: none", nil, note)
	}
	if r.Format == render.FormatMarkdown {
		t := render.Table{Title: title, Header: []string{"severity", "rule", "where", "finding", "fix"}, Note: note}
		for _, f := range fs {
			msg := f.Message
			if _, ranked := ranks[f.Fingerprint]; f.Query != "" && !ranked && ranks != nil {
				msg = "`" + render.Truncate(f.Query, 200) + "`: " + msg
			}
			t.Rows = append(t.Rows, []string{f.Severity.String(), f.Rule, findingWhere(f, ranks), render.Truncate(msg, 600), render.Truncate(f.Fix, 400)})
		}
		return r.Render(nil, t)
	}
	root := &render.TreeNode{}
	for _, f := range fs {
		detail := []string{f.Message, "fix: " + f.Fix}
		if _, ranked := ranks[f.Fingerprint]; f.Query != "" && !ranked && ranks != nil {
			detail = append([]string{"query: " + render.Truncate(f.Query, 200)}, detail...)
		}
		root.Children = append(root.Children, &render.TreeNode{
			Text:   fmt.Sprintf("%s %s on %s", strings.ToUpper(f.Severity.String()), f.Rule, findingWhere(f, ranks)),
			Tone:   severityTone[f.Severity],
			Detail: detail,
		})
	}
	return r.Tree(title, root, note)
}

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

// maxIndexRows caps the indexes listed in text formats; JSON has them all.
const maxIndexRows = 15

// indexesTable lists the indexes with findings, then the largest others.
func indexesTable(rep *analyze.Report, md bool) render.Table {
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
	t := render.Table{Title: "Indexes (with findings first, then the largest)", Header: []string{"index", "table", "size", "scans", "findings"}, Right: []int{2, 3}}
	width, twidth := 36, 24
	if md {
		width, twidth = 80, 60
	}
	for i, x := range ix {
		if i >= maxIndexRows {
			break
		}
		t.Rows = append(t.Rows, []string{render.Truncate(x.Name, width), render.Truncate(x.Table, twidth), analyze.Bytes(x.SizeBytes),
			render.Count(x.Scans), strings.Join(x.Findings, ", ")})
		tone := render.Plain
		if len(x.Findings) > 0 {
			tone = render.Warn
		}
		t.Tones = append(t.Tones, tone)
	}
	t.Note = fmt.Sprintf("%d indexes, %s in all, on %d tables.", len(rep.Indexes), analyze.Bytes(total), len(rep.Tables))
	return t
}
