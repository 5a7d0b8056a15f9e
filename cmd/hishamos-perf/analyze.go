package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hishamos/hishamos-perf/analyze"
	"github.com/hishamos/hishamos-perf/cmd/hishamos-perf/internal/report"
	"github.com/hishamos/hishamos-perf/internal/pg"
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
	flagMinStatsAge      = "min-stats-age"
)

// analyzeOptions are the analyze command's flags.
type analyzeOptions struct {
	sort             string
	top              int
	interval         time.Duration
	explain          int
	analyze          bool
	workload         workloadFlag
	statementTimeout time.Duration
	failOn           string
	noIndexes        bool
	minStatsAge      time.Duration
}

func newAnalyzeCmd(a *app) *cobra.Command {
	var o analyzeOptions
	cmd := &cobra.Command{
		Use:   "analyze",
		Short: "Rank what costs most in pg_stat_statements, explain it, and check every index",
		Long: `analyze reads pg_stat_statements for the current database and ranks its
statements by total time (--sort total|mean|calls|io|stddev; each is a
column), with calls, rows and blocks per call, cache hit ratio, temporary
blocks and each one's share of the whole. The same text sent by several
roles or clients is one statement. --interval 60s ranks only what ran during
the next 60 seconds, from two snapshots: pg_stat_statements_reset is never
called, so other people's monitoring keeps its counters. The header says how
old the statistics are and how many calls they cover.

The top statements are explained (EXPLAIN (FORMAT JSON, VERBOSE, SETTINGS,
BUFFERS)); statements holding $n parameters get generic plans, compared with
a custom plan for values drawn from the columns' statistics: where they
differ, both are judged. --analyze runs EXPLAIN ANALYZE where values are
known: statements without parameters, those of a --workload .sql file, and
those drawn values. Every session is read-only with statement_timeout set;
EXPLAIN ANALYZE of anything but a plain SELECT runs in a transaction that is
rolled back: no row changes, but a rollback does not undo nextval(), so the
sequence an INSERT draws from may move.

Rules then look at the plans and statistics (seq-scan-large,
partition-pruning, rows-removed-by-filter, row-misestimate, sort-spill,
hash-spill, lossy-bitmap, heap-fetches, nested-loop-many,
no-limit-large-result, wide-rows, n-plus-one, jit-heavy,
generic-plan-differs, replica-only) and at every index (unused-index,
duplicate-index, prefix-index, invalid-index, fk-without-index,
seq-scan-table). On a
partitioned table the scans of its partitions are judged together and
named, and an index on it is judged once, over all its partitions' indexes.
Each finding has a severity, the numbers behind it and a fix. Index usage
is judged only once the statistics are --min-stats-age old (a week), never
for an index that backs a constraint, and an index that serves a foreign
key is kept. --fail-on warning|critical exits 1 when a finding reaches that
severity.

--replica [NAME=]DSN (repeat it) adds a streaming standby of the --dsn
server: a primary and its replicas are read as one fleet. Each node's
pg_stat_statements is read and added up (each statement shows its figures
per node, and is explained on the node where it took most time: a standby
explains read-only statements); an index is unused only when no node
scanned it, and the one a replica reads is kept with that node named;
a statement that ran only on a standby is a replica-only finding for that
node; index usage waits for the youngest node's statistics. A --replica
that is not a standby of the same cluster (pg_control_system's system
identifier) is refused, exit 2. Nodes are named primary, replica1, … unless
named (NAME=DSN); the header gives each one's role, replay lag and
statistics' age.

--format json writes the hishamos-perf/analyze/v1 document: statements[],
findings[] (rule, severity, table, fingerprint, query, evidence, fix) and
indexes[]; markdown stays under 60 KB for a pull-request comment; csv writes
the header's figures, the statements (times in ms, with their query id and
whole text), the findings and every index. Text follows the terminal's width
(COLUMNS): a table of numbers per statement and per finding, then each one's
whole text, plan, message and fix below it.`,
		Example: `  hishamos-perf analyze
  hishamos-perf analyze --sort mean --top 10
  hishamos-perf analyze --interval 60s --format json > window.json
  hishamos-perf analyze --analyze --workload slow-queries.sql
  hishamos-perf --dsn "$PRIMARY_URL" analyze --replica "east=$REPLICA_URL"
  hishamos-perf --dsn "$DATABASE_URL" analyze --format markdown \
    --fail-on critical`,
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
	f.BoolVar(&o.analyze, flagAnalyze, false, "EXPLAIN ANALYZE where values are known (statements without $n, and a --workload .sql file's); writes run in a transaction that is rolled back")
	addWorkloadFlag(f, &o.workload, workloadStatStatements, "the workload: pg_stat_statements (always ranked), or a .sql file of statements with real values ('-' for standard input), explained and matched to the ranked statements by query id",
		map[string]workloadKind{flagFile: workloadSQL})
	f.DurationVar(&o.statementTimeout, flagStatementTimeout, pg.DefaultSession.StatementTimeout, "statement_timeout of every statement the tool runs")
	f.StringVar(&o.failOn, flagFailOn, "", "exit 1 when a finding reaches this severity: warning or critical")
	f.BoolVar(&o.noIndexes, flagNoIndexes, false, "skip the index health checks")
	f.DurationVar(&o.minStatsAge, flagMinStatsAge, analyze.DefaultMinStatsAge, "judge index usage (unused-index) only once the statistics are this old (0: at any age)")
	f.StringArrayVar(&a.replicas, flagReplica, nil, "a streaming standby of the --dsn server, as [NAME=]DSN (repeat for each; named replica1, … by default): its statistics are read and added up")
	// A profile is meant to join the .sql file here: its statements with
	// arguments from profiles.Bound.Args become analyze.Options.Samples.
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
	return a.readSQLStatements(cmdPath, flagFile, path)
}

// readSQLStatements reads and splits a .sql file ("-" reads standard
// input) that flag names.
func (a *app) readSQLStatements(cmdPath, flag, path string) ([]analyze.Source, error) {
	b, err := a.readWorkload(path)
	if err != nil {
		return nil, &usageError{err: fmt.Errorf("--%s: %w", flag, err), cmd: cmdPath}
	}
	stmts, err := analyze.SplitSQL(path, string(b))
	if err != nil {
		return nil, &usageError{err: fmt.Errorf("--%s: %w", flag, err), cmd: cmdPath}
	}
	if len(stmts) == 0 {
		return nil, &usageError{err: fmt.Errorf("--%s %s: no SQL statements in it", flag, path), cmd: cmdPath}
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
	case o.minStatsAge < 0:
		return &usageError{err: fmt.Errorf("--%s %s: must be 0 (judge at any age) or more, such as 168h for a week", flagMinStatsAge, o.minStatsAge), cmd: cmdPath}
	}
	opts := analyze.Options{Sort: key, Top: o.top, Interval: o.interval, Explain: o.explain, Analyze: o.analyze,
		SkipIndexes: o.noIndexes, StatementTimeout: o.statementTimeout, Progress: func(msg string) { a.say("%s", msg) },
		OptionName: analyzeFlag, MinStatsAge: o.minStatsAge}
	if o.minStatsAge == 0 {
		opts.MinStatsAge = -1
	}
	if o.top == 0 {
		opts.Top = -1
	}
	a.noteOldSpelling("analyze", &o.workload)
	switch o.workload.Kind() {
	case workloadStats:
	case workloadSQL:
		if opts.Samples, err = a.readSQLStatements(cmdPath, flagWorkload, o.workload.value); err != nil {
			return err
		}
	default:
		return &usageError{err: workloadKindError(&o.workload, "pg_stat_statements, which it always ranks, and a .sql file of statements with values to explain beside it"), cmd: cmdPath}
	}
	specs, err := parseReplicas(a.replicas)
	if err != nil {
		return &usageError{err: err, cmd: cmdPath}
	}
	t, err := a.target(ctx, true)
	if err != nil {
		return err
	}
	session := pg.Session{StatementTimeout: o.statementTimeout, LockTimeout: pg.DefaultSession.LockTimeout, ReadOnly: true}
	conn, err := a.connect(ctx, t, session)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if len(specs) > 0 {
		f, conns, closeFleet, err := a.openFleet(ctx, conn, specs, session)
		if err != nil {
			return err
		}
		defer closeFleet()
		opts.NodeName, opts.NodeRole = f.Nodes[0].Name, string(f.Nodes[0].Role)
		var names []string
		for i, c := range conns {
			n := f.Nodes[i+1]
			opts.Replicas = append(opts.Replicas, analyze.Replica{Name: n.Name, Role: string(n.Role), Q: c, ReplayLagBytes: n.ReplayLagBytes, ReplayPaused: n.ReplayPaused})
			names = append(names, n.Name)
		}
		a.say("analyze: reading pg_stat_statements on %s (%s) and %s", t, f.Nodes[0].Name, strings.Join(names, ", "))
	} else {
		a.say("analyze: reading pg_stat_statements on %s", t)
	}
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

// renderAnalyze writes the report in the chosen format.
func (a *app) renderAnalyze(rep *analyze.Report) error {
	return a.write(report.Analyze(rep, a.format))
}
