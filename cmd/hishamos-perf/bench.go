package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/spf13/cobra"

	"github.com/hishamos/hishamos-perf/bench"
	"github.com/hishamos/hishamos-perf/cmd/hishamos-perf/internal/report"
	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/migrate"
	"github.com/hishamos/hishamos-perf/profiles"
)

// Flag names of bench (flagSeed is shared with seed).
const (
	flagVariant       = "variant"
	flagClients       = "clients"
	flagThreads       = "threads"
	flagWarmup        = "warmup"
	flagIterations    = "iterations"
	flagDuration      = "duration"
	flagAllowWrites   = "allow-writes"
	flagSave          = "save"
	flagBaseline      = "baseline"
	flagApply         = "apply"
	flagRevert        = "revert"
	flagAlpha         = "alpha"
	flagNoise         = "noise"
	flagExpect        = "expect"
	flagMaxRegression = "max-regression"
	flagMetric        = "metric"
	flagSamples       = "samples"
	flagJUnit         = "junit"
)

// Defaults of bench's flags that are not the bench package's own.
const (
	defaultProfile       = "hishamos"
	defaultMaxRegression = "10%"
)

// benchOptions are the bench command's flags.
type benchOptions struct {
	workload      workloadFlag
	variant       string
	clients       int
	threads       int
	warmup        int
	iterations    int
	duration      time.Duration
	seed          uint64
	allowWrites   bool
	save          string
	baseline      string
	apply         string
	revert        bool
	alpha         float64
	noise         string
	expect        string
	maxRegression string
	metric        string
	samples       bool
	junit         string
	html          string
	// replicas is --replica: the standby the runs read from.
	replicas       []string
	replicaTimeout time.Duration
}

func newBenchCmd(a *app) *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure a workload's statements, compare two runs, and gate CI on the difference",
		Long: `bench runs the statements of a workload (--workload: a profile, default
hishamos, or a .sql file) and measures each: every call's latency, its
quantiles, rows and shared buffers per call, and the shape of its plan. Each
statement is prepared once per connection and called with arguments drawn
from the profile's generators, the same ones for the same --seed; statements
are interleaved in a shuffled order so that a busy machine slows all of them
alike.

Nothing bench runs can commit: every call, and every EXPLAIN sample, runs in
a transaction of its own that ends in ROLLBACK, READ ONLY for a read. Writes
run only with --allow-writes, each in a READ WRITE transaction, rolled back
too. A set_config or SET in a statement is undone with its transaction. A
call's time includes its BEGIN and ROLLBACK, sent with it in one round trip.
Two things no rollback undoes: a sequence value a write takes (nextval, an
INSERT into a serial column) stays taken under --allow-writes; and a
statement that reaches another session or server acts there. bench refuses
dblink, pg_terminate_backend, advisory locks and the like in the workload,
but cannot see them inside a user function: run it as a role that cannot do
what the workload must not.

Buffers per call and the server's time per call (executing and, where
pg_stat_statements.track_planning is on, planning) come from
pg_stat_statements: the difference over the measured calls, for this
database and statement; or from EXPLAIN (ANALYZE, BUFFERS) of a few calls
where it cannot say. Every output shows server time beside client latency.

Two runs are compared on three pieces of evidence, each on its own: latency
(the client's median: a Mann-Whitney U test and a 95% confidence interval,
benchstat's statistics), server time (the mean per call: pg_stat_statements
keeps sums, not each call, so Welch's t-test on the means and Fieller's 95%
interval on their ratio) and buffers per call (they do not depend on how
busy the machine is). A time moves when it changed significantly (p <
--alpha), by more than --noise, and with the plan or buffers changed and
beyond the drift of the statements whose plan and buffers did not: else the
machine moved it. The verdicts:
  improved      time went down, or buffers did with time unmoved
  regressed     time went up, whatever buffers did (a hash, a sort or an
                aggregate can be slower over fewer pages); or buffers went up
                with time unmoved
  mixed         time went down while buffers went up (faster while the pages
                are cached), or latency and server time went opposite ways
  unchanged     nothing moved beyond the noise
  inconclusive  the machine explains the change, too few samples, or the
                server version, a plan setting or a table's row count (over
                10%) changed
A note under the comparison names which metric moved which way.

A profile statement with follow-ups (then:), or one half of a before/after
pair, is also measured as a request: the leader, then its follow-ups on the
same connection, a per-row one once per row returned with that row's values
(none for a NULL key). Per request: queries, latency, rows, server time and
the bytes received from the server. --variant both runs both halves of every
pair, interleaved, and compares each pair as requests with the statements'
statistics and verdicts.

A statement is targeted when its plan after the change uses an index that was
not defined before (compared by definition, not by name): a .sql file's
statements and a profile's alike. A profile's own list of indexes per
statement also targets it, and is checked: the note says when the plan uses
another index than the one the profile expects.

Modes:
  bench --save run.json            measure, and keep the run (samples and all)
  bench --baseline base.json       measure, and compare against a saved run
  bench --apply migrations/        measure, apply the pending migrations,
                                   ANALYZE, measure again, compare (--revert
                                   takes the migrations down afterwards)
  bench --replica [NAME=]DSN       measure on a streaming standby of --dsn, the
                                   server the reads go to; with --apply the
                                   indexes are built on --dsn and the run after
                                   starts once the standby has replayed them and
                                   the ANALYZE (--replica-timeout, exit 3 past it)

The gate holds statements to --metric: latency (the default), server or
buffers. --expect 40% makes every targeted statement, and every statement
with a promise of its own, improved with its metric down by at least 40% at
the confidence interval's worst bound; --expect workload (or profile) holds
each to what the workload promises: a profile's expect:, a .sql file's
"-- expect: 40%" (or 40-60%) comment above a statement, or one in the comment
lines that open the file (a blank line after them) for every targeted
statement. --max-regression 10% (the default; "off" to disable) fails when a
regressed or mixed statement's metric went up by more than that, or its
buffers did (with --metric buffers, buffers alone). A failed gate exits 1 and
names each statement and metric that failed, with its figures.

Output: --format table, json (schema hishamos-perf/bench/v2; samples with
--samples), markdown (for a pull-request comment or $GITHUB_STEP_SUMMARY),
csv (the tables with their numbers raw: milliseconds, percentages, buffers)
or benchstat (Go benchmark lines benchstat reads: one per call, with the
statement's server-ns/op and buffers/op); --junit FILE writes a JUnit report
beside it. A baseline saved as bench/v1 is still read (without server time).

A .sql file's statements take no parameters; a "-- name: x" line above a
statement names it, a "-- expect: 40%" line promises its improvement, and a
"-- weight: n" line says how many times the application sends it against the
others (per 1,000 requests, say): a comparison then also sums the medians by
weight, the workload as the application sends it. --profile and --sql, the old spellings of --workload, still work for one
release.`,
		Example: `  hishamos-perf bench
  hishamos-perf bench --iterations 300 --save before.json
  hishamos-perf bench --baseline before.json --max-regression 10% \
    --junit bench.xml
  hishamos-perf bench --apply migrations/ --revert --expect 40% \
    --format markdown >> "$GITHUB_STEP_SUMMARY"
  hishamos-perf bench --workload queries.sql --apply migrations/ --revert \
    --expect workload --metric server
  hishamos-perf bench --workload queries.sql --clients 4 --duration 30s
  hishamos-perf bench --format benchstat > new.txt && benchstat old.txt new.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runBench(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	addWorkloadFlag(f, &o.workload, defaultProfile, "the workload: a profile's name or YAML file, or a .sql file ('-' for standard input)",
		map[string]workloadKind{flagProfile: workloadProfile, flagSQL: workloadSQL})
	f.StringVar(&o.variant, flagVariant, string(profiles.After), "which half of the profile's before/after pairs runs: before, after, or both (interleaved, each pair compared as requests)")
	f.IntVar(&o.clients, flagClients, bench.DefaultClients, "connections running statements at once")
	f.IntVar(&o.threads, flagThreads, 0, "OS threads the connections are spread over, each waiting on its share at once as pgbench -j does (0: one per CPU, at most one per connection)")
	f.IntVar(&o.warmup, flagWarmup, bench.DefaultWarmup, "unmeasured rounds before measuring, on every connection (each statement once a round)")
	f.IntVar(&o.iterations, flagIterations, bench.DefaultIterations, "measured calls per statement")
	f.DurationVar(&o.duration, flagDuration, 0, "measure for this long instead of --iterations (e.g. 30s)")
	f.Uint64Var(&o.seed, flagSeed, 1, "random seed of the arguments: the same seed draws the same ones")
	f.BoolVar(&o.allowWrites, flagAllowWrites, false, "run write statements too, each in a READ WRITE transaction that is rolled back (a sequence value a write takes stays taken)")
	f.StringVar(&o.save, flagSave, "", "write the run (with every sample) to this JSON file")
	f.StringVar(&o.baseline, flagBaseline, "", "compare against the run saved in this file")
	f.StringVar(&o.apply, flagApply, "", "measure, apply this migration directory's pending migrations, ANALYZE, measure again")
	f.BoolVar(&o.revert, flagRevert, false, "with --apply: take the applied migrations down at the end")
	f.Float64Var(&o.alpha, flagAlpha, bench.DefaultAlpha, "significance level of the Mann-Whitney U test")
	f.StringVar(&o.noise, flagNoise, fmt.Sprintf("%g%%", bench.DefaultNoisePct), "smallest change that counts")
	f.StringVar(&o.expect, flagExpect, "", `improvement every targeted statement must reach (e.g. 40%), or "workload" for what the profile or the file promises`)
	f.StringVar(&o.maxRegression, flagMaxRegression, defaultMaxRegression, `largest regression allowed ("off" to disable)`)
	f.StringVar(&o.metric, flagMetric, string(bench.MetricLatency), "what the gate holds statements to: latency (the client's median), server (the server's time per call) or buffers")
	f.BoolVar(&o.samples, flagSamples, false, "include every latency sample in --format json")
	f.StringVar(&o.junit, flagJUnit, "", "also write a JUnit XML report to this file")
	f.StringArrayVar(&o.replicas, flagReplica, nil, "a streaming standby of the --dsn server, as [NAME=]DSN: the runs read from it (where the reads go); --apply builds on the --dsn primary and waits for the standby to replay the indexes and the statistics before the run after")
	f.DurationVar(&o.replicaTimeout, flagReplicaTimeout, migrate.DefaultReplicaTimeout, "with --replica: how long to wait for the standby to replay what --apply wrote")
	f.StringVar(&o.html, flagHTML, "", "also write a self-contained HTML report (charts, plans, indexes, environment) to this file")
	return cmd
}

// benchUsage marks bad bench flags: exit code 2, with a pointer to --help.
func benchUsage(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...), cmd: "hishamos-perf bench"}
}

// benchFlags are the flags that give bench's options, by the option a
// *bench.OptionError names.
var benchFlags = map[bench.Option]string{
	bench.OptClients: flagClients, bench.OptThreads: flagThreads, bench.OptWarmup: flagWarmup,
	bench.OptDuration: flagDuration, bench.OptIterations: flagIterations,
	bench.OptAlpha: flagAlpha, bench.OptNoise: flagNoise,
	bench.OptExpect: flagExpect, bench.OptMaxRegression: flagMaxRegression,
	bench.OptBaseline: flagBaseline, bench.OptMigrator: flagApply, bench.OptRevert: flagRevert,
	bench.OptMetric: flagMetric,
}

// benchFlag names a bench option by its flag ("--clients").
func benchFlag(o bench.Option) string {
	if f, ok := benchFlags[o]; ok {
		return "--" + f
	}
	return string(o)
}

// flagWorded is a library error as the command words it, with the flags'
// names: its text is what the user reads, and it unwraps to the library's
// typed error.
type flagWorded struct {
	msg string
	err error
}

func (e *flagWorded) Error() string { return e.msg }
func (e *flagWorded) Unwrap() error { return e.err }

// benchOptionUsage words a refusal of bench's option checks with the
// flags' names, as bad usage (exit 2, a pointer to --help): a value out of
// its limits as "bench: bad options: --clients must be …", flags that do
// not go together as "--revert only goes with --apply", writes without
// --allow-writes with the statements that write.
func benchOptionUsage(err error) error {
	var oe *bench.OptionError
	var we *bench.WritesError
	switch {
	case errors.As(err, &oe) && oe.Value != nil:
		return benchUsage("%w", &flagWorded{fmt.Sprintf("bench: %v: %s", bench.ErrOptions, oe.Message(benchFlag)), err})
	case errors.As(err, &oe):
		return benchUsage("%w", &flagWorded{oe.Message(benchFlag), err})
	case errors.As(err, &we):
		return benchUsage("%w", &flagWorded{fmt.Sprintf("%v: %s; pass --%s to run them, each in a transaction that is rolled back", bench.ErrWrites, strings.Join(we.Statements, ", "), flagAllowWrites), err})
	}
	return benchUsage("%w", err)
}

// badInput marks a bad file or workload: exit code 2, without the pointer.
func badInput(err error) error {
	return &usageError{err: err}
}

// parsePercent reads "40%", "40" or "2.5%" as a percentage.
func parsePercent(flag, s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "%"), 64)
	if err != nil {
		return 0, benchUsage("--%s %q: want a percentage such as 10%%", flag, s)
	}
	return v, nil
}

// benchConfig turns the flags into the bench package's configuration,
// reading the workload and the baseline; everything here is checked before
// the database is touched.
func (a *app) benchConfig(o benchOptions) (bench.Config, error) {
	var cfg bench.Config
	var err error
	switch o.workload.Kind() {
	case workloadStats:
		return cfg, benchUsage("%w", workloadKindError(&o.workload, "a profile or a .sql file: pg_stat_statements' statements have no values to call them with"))
	case workloadSQL:
		text, rerr := a.readWorkload(o.workload.value)
		if rerr != nil {
			return cfg, badInput(fmt.Errorf("--%s: %w", flagWorkload, rerr))
		}
		if cfg.Workload, err = bench.FromSQL(o.workload.value, text); err != nil {
			return cfg, badInput(err)
		}
	default:
		p, perr := profiles.Load(strings.TrimSpace(o.workload.value))
		if perr != nil {
			return cfg, badInput(fmt.Errorf("--%s: %w", flagWorkload, perr))
		}
		if cfg.Workload, err = bench.FromProfile(p, profiles.Variant(o.variant)); err != nil {
			return cfg, benchUsage("%w", err)
		}
	}
	cfg.Options = bench.Options{
		Clients: o.clients, Threads: o.threads, Warmup: o.warmup, Iterations: o.iterations, Duration: o.duration,
		Seed: o.seed, AllowWrites: o.allowWrites,
	}
	if err := cfg.Options.Validate(); err != nil {
		return cfg, benchOptionUsage(err)
	}
	if err := bench.CheckWrites(cfg.Workload, o.allowWrites); err != nil {
		return cfg, benchOptionUsage(err)
	}
	noise, err := parsePercent(flagNoise, o.noise)
	if err != nil {
		return cfg, err
	}
	metric := bench.Metric(strings.ToLower(strings.TrimSpace(o.metric)))
	cfg.Compare = bench.CompareOptions{Alpha: o.alpha, NoisePct: noise, Metric: metric, OptionName: benchFlag}
	cfg.Gate.OptionName, cfg.Gate.Metric = benchFlag, metric
	if err := cfg.Compare.Validate(); err != nil {
		return cfg, benchOptionUsage(err)
	}
	switch strings.ToLower(strings.TrimSpace(o.expect)) {
	case "":
	case "workload", "profile":
		if !promises(cfg.Workload) {
			where := "no expect: in the profile"
			if cfg.Workload.Profile == nil {
				where = "no -- expect: comment in the file"
			}
			return cfg, benchUsage("--%s %s: %s promises no improvement (%s); give a percentage", flagExpect, o.expect, cfg.Workload.Info.Name, where)
		}
		cfg.Gate.ExpectStated = true
	default:
		v, err := parsePercent(flagExpect, o.expect)
		if err != nil {
			return cfg, err
		}
		cfg.Gate.ExpectPct = &v
	}
	switch strings.ToLower(strings.TrimSpace(o.maxRegression)) {
	case "off", "none", "":
	default:
		v, err := parsePercent(flagMaxRegression, o.maxRegression)
		if err != nil {
			return cfg, err
		}
		cfg.Gate.MaxRegressionPct = &v
	}
	if err := cfg.Gate.Validate(); err != nil {
		return cfg, benchOptionUsage(err)
	}
	if err := bench.CheckBeforeRun(o.baseline != "", o.apply != "", o.revert, cfg.Gate.ExpectPct != nil || cfg.Gate.ExpectStated); err != nil {
		return cfg, benchOptionUsage(err)
	}
	if o.baseline != "" {
		if cfg.Baseline, err = bench.LoadBaseline(o.baseline, cfg.Workload); err != nil {
			return cfg, badInput(fmt.Errorf("--%s: %w", flagBaseline, err))
		}
	}
	cfg.Revert = o.revert
	return cfg, nil
}

// promises reports whether a workload promises an improvement: a
// profile's expect:, a .sql file's `-- expect:` comments.
func promises(w *bench.Workload) bool {
	if w.Info.Expect != nil {
		return true
	}
	for _, s := range w.Statements {
		if s.Expect != nil {
			return true
		}
	}
	return false
}

func (a *app) runBench(ctx context.Context, o benchOptions) error {
	a.noteOldSpelling("bench", &o.workload)
	cfg, err := a.benchConfig(o)
	if err != nil {
		return err
	}
	if cfg.Workload.Profile == nil && promises(cfg.Workload) && cfg.Gate.ExpectPct == nil && !cfg.Gate.ExpectStated && (o.baseline != "" || o.apply != "") {
		a.say("bench: %s promises improvements in -- expect: comments; --%s workload holds the statements to them", cfg.Workload.Info.File, flagExpect)
	}
	var dir *migrate.Dir
	if o.apply != "" {
		if dir, err = readDir(o.apply); err != nil {
			return badInput(fmt.Errorf("--%s: %w", flagApply, err))
		}
		if err := dir.Validate(); err != nil {
			return badInput(fmt.Errorf("--%s: %w", flagApply, err))
		}
	}
	specs, err := parseReplicas(o.replicas)
	if err != nil {
		return benchUsage("%w", err)
	}
	switch {
	case len(specs) > 1:
		return benchUsage("--%s given %d times: bench measures one node; give the standby the reads go to", flagReplica, len(specs))
	case len(specs) == 1 && o.allowWrites:
		return benchUsage("--%s with --%s: a standby takes no writes; bench the writes on the --%s primary", flagAllowWrites, flagReplica, flagDSN)
	}
	t, err := a.target(ctx, true)
	if err != nil {
		return err
	}
	// reads is where the runs go: the --dsn server, or its standby.
	reads, readsName := t, ""
	var opts migrate.ApplyOptions
	opts.Observer = a.sayMigrateEvent
	if len(specs) == 1 {
		primary, err := a.connect(ctx, t, pg.DefaultSession)
		if err != nil {
			return err
		}
		defer primary.Close(context.Background())
		f, conns, closeFleet, err := a.openFleet(ctx, primary, specs, pg.DefaultSession)
		if err != nil {
			return err
		}
		defer closeFleet()
		reads, readsName = pg.Target{DSN: specs[0].dsn, Source: "--" + flagReplica}, f.Nodes[1].Name
		opts.Replicas = []migrate.Replica{{Name: readsName, Q: conns[0]}}
		opts.ReplicaTimeout = o.replicaTimeout
		cfg.Writer = func(ctx context.Context) (bench.Conn, error) {
			conn, err := a.connect(ctx, t, pg.DefaultSession)
			if err != nil {
				return nil, err
			}
			return conn, nil
		}
		cfg.CatchUp = func(ctx context.Context) error { return migrate.WaitReplicas(ctx, primary, opts) }
	}
	cfg.Target = reads.String()
	if dir != nil {
		cfg.Migrator = &migrate.Migrator{
			Directory: dir,
			Connect: func(ctx context.Context) (*pgx.Conn, error) {
				return a.connect(ctx, t, pg.Session{LockTimeout: migrate.DefaultLockTimeout})
			},
			Options: opts,
		}
	}
	connect := func(ctx context.Context) (bench.Conn, error) {
		conn, err := a.connect(ctx, reads, pg.DefaultSession)
		if err != nil {
			return nil, err
		}
		return conn, nil
	}
	bar := a.progress()
	cfg.Options.Progress = func(p bench.Progress) { bar.Update(p.Phase, p.Done, p.Total) }
	cfg.Say = func(format string, args ...any) {
		bar.Done()
		a.say(format, args...)
	}
	if readsName != "" {
		a.say("bench: %s %s on %s, standby %s of %s", cfg.Workload.Info.Kind, cfg.Workload.Info.Name, readsName, reads, t)
	} else {
		a.say("bench: %s %s on %s", cfg.Workload.Info.Kind, cfg.Workload.Info.Name, t)
	}
	rep, err := bench.Bench(ctx, connect, cfg)
	bar.Done()
	if err != nil {
		return a.benchFailed(ctx, rep, err, o)
	}
	if o.save != "" {
		if err := bench.Save(o.save, rep); err != nil {
			return err
		}
		a.say("bench: saved the run to %s", o.save)
	}
	if err := a.writeJUnit(rep, o); err != nil {
		return err
	}
	if o.html != "" {
		if err := writeHTML(o.html, report.BenchPage(rep)); err != nil {
			return err
		}
		a.say("bench: wrote %s", o.html)
	}
	if err := a.renderBench(rep, o); err != nil {
		return err
	}
	if rep.Gate != nil && !rep.Gate.Passed {
		return &gateError{gateSummary(rep.Gate)}
	}
	return nil
}

// gateSummary is a failed gate in one line; the report has the details.
func gateSummary(g *bench.Gate) error {
	count, why := map[string][]string{}, map[string][]string{}
	for _, f := range g.Failures {
		if f.Statement == "" {
			// A failure of the whole run (nothing targeted): its message.
			why[f.Gate] = append(why[f.Gate], f.Message)
			continue
		}
		count[f.Gate] = append(count[f.Gate], f.Statement)
	}
	var parts []string
	for _, gate := range []string{bench.GateExpect, bench.GateMaxRegression} {
		if who := count[gate]; len(who) > 0 {
			parts = append(parts, fmt.Sprintf("--%s failed for %s", gate, strings.Join(who, ", ")))
		}
		for _, msg := range why[gate] {
			parts = append(parts, fmt.Sprintf("--%s failed: %s", gate, msg))
		}
	}
	return fmt.Errorf("bench: the gate failed: %s", strings.Join(parts, "; "))
}

// benchFailed shows what a failed invocation measured, keeps a stopped
// run on disk, and returns the error with its exit code decided.
func (a *app) benchFailed(ctx context.Context, rep *bench.Report, err error, o benchOptions) error {
	var stopped *bench.StoppedError
	var applyErr *bench.ApplyError
	errors.As(err, &stopped)
	if rep != nil {
		if stopped != nil {
			path := o.save
			if path == "" {
				path = fmt.Sprintf("bench-partial-%s.json", time.Now().UTC().Format("20060102-150405"))
			}
			if serr := bench.Save(path, rep); serr != nil {
				a.say("bench: could not save the partial run: %v", serr)
			} else {
				a.say("bench: the run stopped early; the %d calls measured are saved in %s", stopped.Calls, path)
			}
		}
		if rerr := a.renderBench(rep, o); rerr != nil {
			a.say("bench: %v", rerr)
		}
		if jerr := a.writeJUnit(rep, o); jerr != nil {
			a.say("bench: %v", jerr)
		}
	}
	switch {
	case ctx.Err() != nil:
		return err
	case errors.As(err, &applyErr):
		// As `migrate apply` decides: a directory or file at fault is bad
		// input; the server refusing (a lock, a build that fails on the
		// data) is the database's.
		switch a.migrateError(applyErr.Err, "").(type) {
		case *usageError:
			return badInput(err)
		case *dbError:
			return &dbError{err}
		}
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) || errors.Is(err, pg.ErrConnect) {
			return &dbError{err}
		}
		return badInput(err)
	case stopped != nil:
		return &dbError{err}
	case errors.As(err, new(*migrate.ReplicaLagError)):
		var rle *migrate.ReplicaLagError
		errors.As(err, &rle)
		return &dbError{fmt.Errorf("bench: %w", replicaLagError(rle))}
	case errors.Is(err, bench.ErrOptions), errors.Is(err, bench.ErrWrites):
		return benchOptionUsage(err)
	case errors.Is(err, bench.ErrWorkload),
		errors.Is(err, bench.ErrBaseline), errors.Is(err, bench.ErrStatementFailed):
		return badInput(err)
	}
	return err
}

// writeJUnit writes --junit.
func (a *app) writeJUnit(rep *bench.Report, o benchOptions) error {
	if o.junit == "" {
		return nil
	}
	var b bytes.Buffer
	if err := report.JUnit(&b, rep); err != nil {
		return err
	}
	if err := os.WriteFile(o.junit, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("bench: --%s: %w", flagJUnit, err)
	}
	return nil
}

// renderBench writes the report in the chosen format.
func (a *app) renderBench(rep *bench.Report, o benchOptions) error {
	return a.write(report.Bench(rep, report.BenchOptions{Samples: o.samples}))
}

// sayMigrateEvent tells, on stderr, what a migration run by another
// command (bench --apply) is doing.
func (a *app) sayMigrateEvent(e migrate.Event) {
	switch e.Kind {
	case migrate.EventFile, migrate.EventBuilt, migrate.EventLockWait, migrate.EventRetry, migrate.EventDropInvalid, migrate.EventLongTransaction, migrate.EventReplicaWait:
		a.say("migrate: %s", e.Message)
	}
}
