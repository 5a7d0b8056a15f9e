package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/hishamos/hishamos-perf/analyze"
	"github.com/hishamos/hishamos-perf/cmd/hishamos-perf/internal/report"
	"github.com/hishamos/hishamos-perf/internal/pg"
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
	if err := a.writeContext(ctx, report.Explain(rep, a.format)); err != nil {
		return err
	}
	return failOn(cmdPath, gate, rep.Findings)
}
