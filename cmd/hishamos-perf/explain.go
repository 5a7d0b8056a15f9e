package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hishamos/hishamos-perf/analyze"
	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/render"
)

// explainOptions are the explain command's flags.
type explainOptions struct {
	file             string
	analyze          bool
	statementTimeout time.Duration
	failOn           string
}

func newExplainCmd(a *app) *cobra.Command {
	var o explainOptions
	cmd := &cobra.Command{
		Use:   "explain [SQL]",
		Short: "Show a statement's plan as a tree with its hot nodes and what is wrong with it",
		Long: `explain plans one statement (or each statement of --file) and shows the plan
as a tree: every node with its rows, cost or time, the nodes that take a
fifth or more of the plan highlighted, and below it the findings of the plan
rules (the ones analyze runs) with their evidence and fix.

A statement with $1, $2 … parameters gets a generic plan. --analyze runs it
(EXPLAIN ANALYZE): a plain SELECT in a READ ONLY transaction, anything else in
a READ WRITE one; both are rolled back, so no row changes. A rollback does not
undo nextval(), though: the sequence may move. An INSERT into a table with a
serial or identity column (or any statement that calls nextval) leaves that
sequence advanced by the rows it drew, a gap in the ids like the one a failed
INSERT of the application leaves.

The text output shortens long literals (an IN list's array) and long lines
to their start and end; --format json keeps every character.

--format json writes the hishamos-perf/explain/v1 document: each statement's
raw EXPLAIN output under "explain" (paste it into explain.dalibo.com) and its
findings. SQL the server rejects exits 2 with its message and position.`,
		Example: `  hishamos-perf explain "SELECT * FROM agents_agentexecution WHERE status = 'failed'"
  hishamos-perf explain --analyze "SELECT * FROM agents_agent WHERE id = 7"
  hishamos-perf explain --file slow.sql --format json > plans.json
  hishamos-perf explain "SELECT * FROM workflows_workflow WHERE user_id = \$1"`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runExplain(cmd.Context(), o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.file, flagFile, "", "a .sql file of statements to explain (- for standard input)")
	f.BoolVar(&o.analyze, flagAnalyze, false, "run the statement (EXPLAIN ANALYZE) in a transaction that is rolled back (rows are restored; a sequence an INSERT draws from may move)")
	f.DurationVar(&o.statementTimeout, flagStatementTimeout, pg.DefaultSession.StatementTimeout, "statement_timeout of the statement")
	f.StringVar(&o.failOn, flagFailOn, "", "exit 1 when a finding reaches this severity: warning or critical")
	return cmd
}

func (a *app) runExplain(ctx context.Context, o explainOptions, args []string) error {
	const cmdPath = "hishamos-perf explain"
	gate, err := parseFailOn(cmdPath, o.failOn)
	if err != nil {
		return err
	}
	if o.statementTimeout <= 0 {
		return &usageError{err: fmt.Errorf("--%s %s: must be positive", flagStatementTimeout, o.statementTimeout), cmd: cmdPath}
	}
	var stmts []analyze.Source
	switch {
	case len(args) == 1 && o.file != "":
		return &usageError{err: fmt.Errorf("give the SQL or --%s, not both", flagFile), cmd: cmdPath}
	case len(args) == 1:
		if stmts, err = analyze.SplitSQL("", args[0]); err != nil {
			return &usageError{err: err, cmd: cmdPath}
		}
		if len(stmts) == 0 {
			return &usageError{err: fmt.Errorf("no SQL statement given"), cmd: cmdPath}
		}
	case o.file != "":
		if stmts, err = a.readSQLFile(cmdPath, o.file); err != nil {
			return err
		}
	default:
		return &usageError{err: fmt.Errorf("give the SQL to explain, or --%s", flagFile), cmd: cmdPath}
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
	rep, err := analyze.ExplainAll(ctx, conn, stmts, analyze.ExplainOptions{Analyze: o.analyze, StatementTimeout: o.statementTimeout})
	if err != nil {
		return analyzeError(fmt.Errorf("explain: %w", err))
	}
	r := a.renderer()
	if r.Format == render.FormatJSON {
		if err := r.JSON(rep); err != nil {
			return err
		}
	} else {
		for i, s := range rep.Statements {
			if err := ctx.Err(); err != nil {
				return err
			}
			if i > 0 {
				fmt.Fprintln(r.Out)
			}
			if err := writeExplained(r, s, len(rep.Statements) > 1); err != nil {
				return err
			}
		}
	}
	return failOn(cmdPath, gate, rep.Findings)
}

// writeExplained writes one plan as a tree with its findings under it.
func writeExplained(r *render.Renderer, s analyze.ExplainedStatement, numbered bool) error {
	p := s.Plan
	onNode := map[int]analyze.Severity{}
	for _, f := range s.Findings {
		if f.Node != nil {
			onNode[f.Node.ID] = max(onNode[f.Node.ID], f.Severity)
		}
	}
	var build func(n *analyze.Node) *render.TreeNode
	build = func(n *analyze.Node) *render.TreeNode {
		tn := &render.TreeNode{Text: nodeLine(p, n), Detail: nodeDetails(p, n)}
		share := p.Hot(n)
		switch {
		case share >= 0.5 || onNode[n.ID] == analyze.Critical:
			tn.Tone = render.Bad
		case share >= analyze.HotShare || onNode[n.ID] == analyze.Warning:
			tn.Tone = render.Warn
		}
		for _, c := range n.Children {
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
	if numbered || r.Format == render.FormatMarkdown {
		notes = append(notes, render.Truncate(s.Query, 300))
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
	if err := r.Tree(title, build(p.Root), strings.Join(notes, "\n")); err != nil {
		return err
	}
	fmt.Fprintln(r.Out)
	return writeFindings(r, s.Findings, 0, nil)
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
