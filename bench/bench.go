package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/analyze"
)

// Migrator applies a directory's pending migrations and takes them down
// again, for Config.Migrator. The command wires it to the migrate package.
type Migrator interface {
	// Dir names the migration directory.
	Dir() string
	// Pending checks the directory against the database without changing
	// anything and lists the files Apply would apply. An error here stops
	// the invocation before anything is measured or applied.
	Pending(ctx context.Context) ([]string, error)
	// Apply applies every pending migration and returns the files applied
	// and the indexes they built, in order; on failure, those applied
	// before it, with the error.
	Apply(ctx context.Context) (files, indexes []string, err error)
	// Revert takes the n most recently applied migrations down.
	Revert(ctx context.Context, n int) error
}

// ApplyError is returned when --apply's migrations failed: the run after
// them did not start. Migrations says what was applied (and reverted).
type ApplyError struct {
	Migrations Migrations
	Err        error
}

func (e *ApplyError) Error() string {
	applied := "nothing was applied"
	if n := len(e.Migrations.Applied); n > 0 {
		applied = fmt.Sprintf("%d applied before it (%s)", n, strings.Join(e.Migrations.Applied, ", "))
		if e.Migrations.Reverted {
			applied += ", then reverted"
		} else {
			applied += " and left in place"
		}
	}
	return fmt.Sprintf("bench: apply %s: %v; %s; the run after the migrations did not start", e.Migrations.Dir, e.Err, applied)
}

func (e *ApplyError) Unwrap() error { return e.Err }

// Config is everything one bench invocation does.
type Config struct {
	Workload *Workload
	Options  Options
	Compare  CompareOptions
	Gate     GateOptions
	// Baseline, when set, is compared against the run.
	Baseline *Run
	// Migrator, when set, makes the invocation measure, apply, ANALYZE and
	// measure again, then compare the two runs.
	Migrator Migrator
	// Revert takes the applied migrations down again at the end.
	Revert bool
	// Target is where the runs go, as the report shows it (no password).
	Target string
	// Say, when set, is told what happens between the runs.
	Say func(format string, args ...any)
	// Prepare, when set, runs before every measured run: the demo warms
	// the caches with it, so each run starts from the same state.
	Prepare func(ctx context.Context)
	// Writer, when set, is where the invocation writes (the ANALYZE after
	// the migrations) while the runs read from a standby, which takes no
	// writes; CatchUp then waits until the standby has replayed them, so
	// the run after measures the indexes and the statistics it will serve
	// reads with.
	Writer  Connector
	CatchUp func(ctx context.Context) error
}

// Bench measures the workload and, given a baseline or a migrator, compares
// and gates. On a stopped or failed run it returns the report so far (the
// partial run included) with the error; on a failed gate it returns the
// report with Gate.Passed false and no error: deciding the exit code is the
// caller's.
func Bench(ctx context.Context, connect Connector, cfg Config) (*Report, error) {
	if err := cfg.Compare.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.Gate.Validate(); err != nil {
		return nil, err
	}
	if err := CheckBeforeRun(cfg.Baseline != nil, cfg.Migrator != nil, cfg.Revert, cfg.Gate.ExpectPct != nil || cfg.Gate.ExpectStated); err != nil {
		return nil, err
	}
	say := cfg.sayer()
	if cfg.Migrator == nil {
		run, err := cfg.measure(ctx, connect)
		if run == nil {
			return nil, err
		}
		rep := &Report{Run: *run}
		if err != nil {
			return rep, err
		}
		rep.RequestComparison = CompareRequests(run, run, cfg.Compare)
		if cfg.Baseline == nil {
			return rep, nil
		}
		rep.Baseline = cfg.Baseline
		compare(rep, cfg)
		return rep, nil
	}

	pending, err := cfg.Migrator.Pending(ctx)
	if err != nil {
		return nil, &ApplyError{Migrations: Migrations{Dir: cfg.Migrator.Dir(), Applied: []string{}, Error: err.Error()}, Err: err}
	}
	if len(pending) == 0 {
		say("bench: %s has no pending migration: the two runs will measure the same thing", cfg.Migrator.Dir())
	}
	say("bench: measuring before the %d pending migrations of %s", len(pending), cfg.Migrator.Dir())
	before, err := cfg.measure(ctx, connect)
	if before == nil {
		return nil, err
	}
	if err != nil {
		return &Report{Run: *before}, err
	}
	return AfterMigrations(ctx, connect, cfg, before)
}

// AfterMigrations is the second half of an invocation with a Migrator:
// it applies the pending migrations, gathers fresh statistics on the
// workload's tables (ANALYZE), measures the workload again and compares
// the run with before; cfg.Revert takes the migrations down at the end,
// whatever happened. Bench calls it once it has measured before; the demo
// calls it once per index set against one before run. Errors and the
// report so far come back as Bench returns them.
func AfterMigrations(ctx context.Context, connect Connector, cfg Config, before *Run) (*Report, error) {
	if cfg.Migrator == nil || before == nil {
		return nil, errors.New("bench: AfterMigrations needs a migrator and a before run")
	}
	say := cfg.sayer()
	mig := &Migrations{Dir: cfg.Migrator.Dir()}
	say("bench: applying the pending migrations of %s", mig.Dir)
	files, indexes, applyErr := cfg.Migrator.Apply(ctx)
	mig.Applied, mig.Indexes = nonNil(files), indexes
	revert := func() error {
		if !cfg.Revert || len(mig.Applied) == 0 {
			return nil
		}
		say("bench: reverting the %d migrations applied", len(mig.Applied))
		rctx := context.WithoutCancel(ctx)
		if err := cfg.Migrator.Revert(rctx, len(mig.Applied)); err != nil {
			mig.Error = strings.TrimPrefix(mig.Error+"; ", "; ") + "revert: " + err.Error()
			return err
		}
		mig.Reverted = true
		return nil
	}
	if applyErr != nil {
		mig.Error = applyErr.Error()
		revErr := revert()
		rep := &Report{Run: *before, Migrations: mig}
		return rep, errors.Join(&ApplyError{Migrations: *mig, Err: applyErr}, revErr)
	}
	writer := connect
	if cfg.Writer != nil {
		writer = cfg.Writer
	}
	err := analyzeTables(ctx, writer, before.Environment.Tables)
	if err == nil && cfg.CatchUp != nil {
		say("bench: waiting for the standby to replay the migrations and the statistics")
		err = cfg.CatchUp(ctx)
	}
	if err != nil {
		revErr := revert()
		return &Report{Run: *before, Migrations: mig}, errors.Join(err, revErr)
	}
	say("bench: measuring after the migrations")
	after, err := cfg.measure(ctx, connect)
	revErr := revert()
	if after == nil {
		return &Report{Run: *before, Migrations: mig}, errors.Join(err, revErr)
	}
	rep := &Report{Run: *after, Baseline: before, Migrations: mig}
	if err != nil || revErr != nil {
		return rep, errors.Join(err, revErr)
	}
	compare(rep, cfg)
	return rep, nil
}

// sayer is cfg.Say, or a function that says nothing.
func (cfg *Config) sayer() func(string, ...any) {
	if cfg.Say == nil {
		return func(string, ...any) {}
	}
	return cfg.Say
}

// measure runs cfg.Prepare, then measures the workload, the run marked
// with cfg.Target.
func (cfg *Config) measure(ctx context.Context, connect Connector) (*Run, error) {
	if cfg.Prepare != nil {
		cfg.Prepare(ctx)
	}
	run, err := Measure(ctx, connect, cfg.Workload, cfg.Options)
	if run != nil {
		run.Target = cfg.Target
	}
	return run, err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// compare fills the report's comparison and gate.
func compare(rep *Report, cfg Config) {
	targeted := Targeted(cfg.Workload, AddedIndexes(&rep.Baseline.Environment, &rep.Environment))
	out := Compare(rep.Baseline, &rep.Run, cfg.Compare, targeted, rep.Workload.Expect)
	// A run of both halves compares its own pairs; else the baseline's
	// before halves meet the run's after halves.
	if rep.RequestComparison = CompareRequests(&rep.Run, &rep.Run, cfg.Compare); rep.RequestComparison == nil {
		rep.RequestComparison = CompareRequests(rep.Baseline, &rep.Run, cfg.Compare)
	}
	rep.Comparison, rep.EnvironmentDiff, rep.Drift, rep.ServerDrift, rep.Weighted = out.Comparison, out.EnvironmentDiff, out.Drift, out.ServerDrift, out.Weighted
	rep.Gate = Evaluate(rep.Comparison, cfg.Gate, cfg.Compare.Alpha)
}

// analyzeTables gathers fresh statistics on the workload's tables, so the
// run after new indexes plans with them. It is the one write bench makes
// outside a rolled-back transaction, and it changes statistics, not data.
func analyzeTables(ctx context.Context, connect Connector, tables []TableInfo) error {
	if len(tables) == 0 {
		return nil
	}
	conn, err := connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// The names are regclass output: quoted by the server where needed.
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = t.Name
	}
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadWrite})
	if err != nil {
		return fmt.Errorf("bench: ANALYZE: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, analyze.Tagged("ANALYZE "+strings.Join(names, ", "))); err != nil {
		return fmt.Errorf("bench: ANALYZE %s: %w", strings.Join(names, ", "), err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("bench: ANALYZE: %w", err)
	}
	return nil
}
