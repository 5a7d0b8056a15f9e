package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/hishamos/hishamos-perf/cmd/hishamos-perf/internal/report"
	"github.com/hishamos/hishamos-perf/indexes"
	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/profiles"
)

// Flag names of indexes propose.
const (
	flagBudget         = "budget"
	flagMaxIndexes     = "max-indexes"
	flagMaxColumns     = "max-columns"
	flagMinImprovement = "min-improvement"
	flagAllowBuild     = "allow-build"
	flagCompareSeed    = "compare-seed"
	flagVerbose        = "verbose"
	flagParamSeed      = "param-seed"
	flagInteractive    = "interactive"
)

// defaultInteractiveSave is where --interactive writes the chosen set
// when --save does not say.
const defaultInteractiveSave = "proposals.json"

// defaultWorkloadProfile is the workload on the sandbox, where
// pg_stat_statements has seen nothing of an application.
const defaultWorkloadProfile = "hishamos"

// defaultProposeTop is how many pg_stat_statements entries, by total time,
// make the workload.
const defaultProposeTop = 200

// proposeOptions are indexes propose's flags.
type proposeOptions struct {
	workload         workloadFlag
	budget           string
	maxIndexes       int
	maxColumns       int
	minImprovement   float64
	allowBuild       bool
	compareSeed      bool
	save             string
	verbose          bool
	top              int
	paramSeed        uint64
	statementTimeout time.Duration
	interactive      bool
	minStatsAge      time.Duration
}

func newIndexesProposeCmd(a *app) *cobra.Command {
	var o proposeOptions
	cmd := &cobra.Command{
		Use:   "propose",
		Short: "Propose the indexes a whole workload needs, costed with what-if indexes",
		Long: `propose finds the composite indexes a workload needs and proves each with the
planner's own cost estimates, without building anything.

The workload (--workload) is pg_stat_statements (the default with a DSN;
statements weighted by total time), a profile name or YAML path (the default
on the sandbox: hishamos), or a .sql file of statements separated by ';' with
literals or $n parameters ('-' reads standard input). In a .sql file a
"-- weight: n" line above a statement says how many times the application
sends it against the others (per 1,000 requests, say; 1 without one, 0 leaves
it out) and "-- name: x" names it. Statements are parsed with PostgreSQL's own
parser and grouped by fingerprint; an EXPLAIN counts as the statement it
explains; the typed literals pg_stat_statements normalizes (timestamptz $1,
interval $2) are planned as casts. What an index cannot serve is skipped with
its reason and its text, as is a statement that does not parse (file,
statement number and the parser's message), names a missing table or reads
only system catalogs.

Candidates come from each statement's parse tree: equality columns first (most
selective first, from pg_stats), then IN, range, ORDER BY (with directions) or
GROUP BY columns, up to --max-columns; INCLUDE columns where they make an
index-only scan; expression indexes on exactly the expression a statement
writes (UPPER("t"."email"::text), date_trunc('day', at)), costed with its real
selectivity (a sampled count), with text_pattern_ops for LIKE 'abc%' where the
collation is not C; partial indexes only on a constant of the application's: a
profile's literal, a .sql file's string or boolean value that at most 5% of the
rows hold on a column of a few values, or, from pg_stat_statements, the one
constant pg_qualstats saw a predicate run with (its constants are also the
parameter values drawn). Where pg_qualstats counted the rows a predicate really
kept (its filter ratio), that share orders the equality keys instead of
pg_stats' average, and a predicate that kept over half the rows leads no index.
No candidate on a system catalog or an extension's
table, nor one an existing index already serves (its keys in another order
included, for equalities).

Every candidate is costed with HypoPG hypothetical indexes on one connection
(reset whatever happens), each statement planned with EXPLAIN (FORMAT JSON) and
parameter values drawn from pg_stats, pg_qualstats or the profile's generators.
Selection is greedy over the whole workload by cost saved × weight per byte of
index, adding an index or widening a chosen one a column at a time, under
--budget and --max-indexes. A proposal, added last to the others, must cut some
statement's cost by --min-improvement and the workload's by 1%; one that only
extends an index (INCLUDE on lookups of a few rows, key columns after an
existing index that finds a page of rows, a primary key copied with INCLUDE)
must save 0.5% of the workload's cost before. Each proposal shows its own
saving: the workload without it, every other proposal in place.
Without HypoPG, propose says so; on the sandbox or with --allow-build it costs
with real indexes built one at a time in a transaction that is rolled back.
Existing indexes that duplicate others, that a proposal makes redundant or that
nothing uses are listed as drops, never dropped; never one that backs a
constraint or a foreign key's lookups. An index is listed as unused (no scan
counted) only once the statistics are --min-stats-age old (a week), analyze's
rule; until then a note says how old they are and when the check means
something. A proposal never takes the name of a relation that exists in its
schema, nor another proposal's: such a name gets a numbered suffix.

--format json (and --save FILE, whatever the format) writes the
` + indexes.Schema + ` document that 'indexes plan --from' reads.
--interactive, on a terminal, shows the proposals as a checklist once they
are costed (space ticks, enter keeps the ticked, q leaves with nothing
written) and saves the chosen set to --save (default proposals.json); in a
script, 'indexes plan --only/--exclude' chooses by number or name instead.
--compare-seed costs the profile's hand-picked index set (the seed report's
eleven for hishamos) on the same workload and statistics, beside the
advisor's, and says which of its indexes are redundant.`,
		Example: `  hishamos-perf indexes propose --compare-seed
  hishamos-perf indexes propose --workload slow.sql --budget 200MB -v
  hishamos-perf indexes propose --interactive --save proposals.json
  hishamos-perf --dsn "$DATABASE_URL" indexes propose --budget 10% \
    --save proposals.json
  hishamos-perf indexes plan --from proposals.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runPropose(cmd.Context(), cmd.CommandPath(), o)
		},
	}
	f := cmd.Flags()
	addWorkloadFlag(f, &o.workload, "", "the workload: pg_stat_statements, a profile's name or YAML file, or a .sql file ('-' for standard input) (default: pg_stat_statements with a DSN, the hishamos profile on the sandbox)", nil)
	f.StringVar(&o.budget, flagBudget, "", "cap on the proposed indexes' size: bytes (500MB, 2GB) or a percentage of the tables' size (10%); default no limit")
	f.IntVar(&o.maxIndexes, flagMaxIndexes, 0, "propose at most this many indexes (0: no limit)")
	f.IntVar(&o.maxColumns, flagMaxColumns, indexes.DefaultMaxColumns, "key columns per index at most")
	f.Float64Var(&o.minImprovement, flagMinImprovement, indexes.DefaultMinImprovement, "percent of some statement's cost an index must save")
	f.BoolVar(&o.allowBuild, flagAllowBuild, false, "without HypoPG, cost with real indexes built in a rolled-back transaction (holds SHARE locks: writes wait)")
	f.BoolVar(&o.compareSeed, flagCompareSeed, false, "cost the profile's hand-picked index set beside the advisor's")
	f.StringVar(&o.save, flagSave, "", "also write the JSON proposals to this file (for 'indexes plan --from')")
	f.BoolVarP(&o.verbose, flagVerbose, "v", false, "also list the rejected candidates with why")
	f.IntVar(&o.top, flagTop, defaultProposeTop, "with pg_stat_statements: the top statements by total time to use (0: all)")
	f.Uint64Var(&o.paramSeed, flagParamSeed, 1, "random seed of the parameter values drawn for planning")
	f.DurationVar(&o.statementTimeout, flagStatementTimeout, pg.DefaultSession.StatementTimeout, "statement_timeout of every statement the tool runs")
	f.DurationVar(&o.minStatsAge, flagMinStatsAge, indexes.DefaultMinStatsAge, "list an index with no scans as unused only once the statistics are this old (0: at any age)")
	f.BoolVar(&o.interactive, flagInteractive, false, "on a terminal: choose the proposals to keep from a checklist, and save them (--save, default "+defaultInteractiveSave+")")
	return cmd
}

func (a *app) runPropose(ctx context.Context, cmdPath string, o proposeOptions) error {
	usage := func(err error) error { return &usageError{err: err, cmd: cmdPath} }
	var budget indexes.Budget
	if o.budget != "" {
		b, err := indexes.ParseBudget(o.budget)
		if err != nil {
			return usage(fmt.Errorf("--%s: %w", flagBudget, err))
		}
		budget = b
	}
	switch {
	case o.maxColumns < 1:
		return usage(fmt.Errorf("--%s %d: must be at least 1", flagMaxColumns, o.maxColumns))
	case o.maxIndexes < 0:
		return usage(fmt.Errorf("--%s %d: must be 0 (no limit) or more", flagMaxIndexes, o.maxIndexes))
	case o.minImprovement < 0 || o.minImprovement >= 100:
		return usage(fmt.Errorf("--%s %g: must be a percentage from 0 to below 100", flagMinImprovement, o.minImprovement))
	case o.statementTimeout <= 0:
		return usage(fmt.Errorf("--%s %s: must be positive", flagStatementTimeout, o.statementTimeout))
	case o.minStatsAge < 0:
		return usage(fmt.Errorf("--%s %s: must be 0 (judge at any age) or more, such as 168h for a week", flagMinStatsAge, o.minStatsAge))
	}
	minStatsAge := o.minStatsAge
	if minStatsAge == 0 {
		// 0 on the command line judges at any age; the option's zero is
		// the default.
		minStatsAge = -1
	}
	// The terminal is checked before the workload is costed: a choice that
	// cannot be shown must not cost minutes first.
	tty, err := a.checklistTerminal(o.interactive)
	if err != nil {
		return usage(err)
	}

	t := pg.Resolve(a.dsn, a.getenv)
	if !o.workload.Given() {
		o.workload.value = workloadStatStatements
		if t.Sandbox() {
			o.workload.value = defaultWorkloadProfile
		}
	}
	source := o.workload.value
	var w *indexes.Workload
	switch o.workload.Kind() {
	case workloadStats:
	case workloadSQL:
		var err error
		if w, err = a.readWorkloadFile(source); err != nil {
			return usage(fmt.Errorf("--%s: %w", flagWorkload, err))
		}
	default:
		p, err := profiles.Load(source)
		if err != nil {
			return usage(fmt.Errorf("--%s: %w", flagWorkload, err))
		}
		w = indexes.FromProfile(p)
	}
	if w != nil {
		for _, pe := range w.ParseErrors() {
			a.say("indexes propose: skipped %s", pe)
		}
	}

	var compare *profiles.Profile
	if o.compareSeed {
		switch {
		case w != nil && w.Profile() != nil && len(w.Profile().Indexes) > 0:
			compare = w.Profile()
		default:
			p, err := profiles.Load(defaultWorkloadProfile)
			if err != nil {
				return err
			}
			compare = p
		}
	}

	t, err = a.target(ctx, true)
	if err != nil {
		return err
	}
	// Writes are possible only where real indexes may be built; everywhere
	// else the session is read-only, so nothing can change.
	allowBuild := o.allowBuild || t.Sandbox()
	conn, err := a.connect(ctx, t, pg.Session{StatementTimeout: o.statementTimeout, LockTimeout: 5 * time.Second, ReadOnly: !allowBuild})
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if w == nil {
		if w, err = indexes.FromStatStatements(ctx, conn, o.top); err != nil {
			return &dbError{err}
		}
	}

	a.say("indexes propose: %d statements from %s %s on %s", len(w.Statements), w.Source, w.Name, t)
	bar := a.progress()
	res, err := indexes.Propose(ctx, conn, w, indexes.Options{
		Budget: budget, MaxIndexes: o.maxIndexes, MaxColumns: o.maxColumns, MinImprovement: o.minImprovement,
		AllowBuild: allowBuild, Seed: o.paramSeed, Compare: compare, OptionName: indexesFlag, MinStatsAge: minStatsAge,
		Progress: func(p indexes.Progress) { bar.Update(p.Phase, int64(p.Done), int64(p.Total)) },
	})
	bar.Done()
	if err != nil {
		switch {
		case indexes.IsInput(err):
			return usage(err)
		case errors.Is(err, indexes.ErrNoHypoPG), errors.Is(err, indexes.ErrReadOnly):
			return &dbError{err}
		}
		return err
	}
	if tty != nil {
		if res, err = a.chooseProposals(ctx, tty, res); err != nil {
			return err
		}
		if o.save == "" {
			o.save = defaultInteractiveSave
		}
	}
	if o.save != "" {
		if err := saveProposals(o.save, res); err != nil {
			return usage(fmt.Errorf("--%s: %w", flagSave, err))
		}
		a.say("indexes propose: wrote %d proposals to %s (for indexes plan --from %s)", len(res.Proposals), o.save, o.save)
	}
	return a.write(report.Propose(res, o.verbose))
}

// readWorkloadFile reads a .sql workload ('-' is standard input).
func (a *app) readWorkloadFile(path string) (*indexes.Workload, error) {
	b, err := a.readWorkload(path)
	if err != nil {
		return nil, err
	}
	return indexes.ParseSQL(path, string(b))
}

// saveProposals writes the proposals document.
func saveProposals(path string, res *indexes.Result) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
