package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/spf13/cobra"

	"github.com/hishamos/hishamos-perf/cmd/hishamos-perf/internal/report"
	"github.com/hishamos/hishamos-perf/internal/dataset"
	"github.com/hishamos/hishamos-perf/internal/pg"
)

// seedOptions are the seed command's flags.
type seedOptions struct {
	scale   string
	seed    int64
	replace bool
	yes     bool
}

func newSeedCmd(a *app) *cobra.Command {
	var o seedOptions
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Create the HishamOS schema and load deterministic synthetic data",
		Long: `seed creates the HishamOS tables (as Django makes them for the commands,
agents and workflows apps, with Django's own indexes and none of the seed
report's) and loads synthetic data with COPY. The same --seed gives the same
rows. Distributions are skewed as real ones are: a few hot users, most
executions completed, zipf-like usage counts.

Scales: small (about 80 thousand rows), medium (over 1 million), large (over
10 million). seed refuses tables that already hold rows unless --replace, and
on a database that is not the sandbox it also asks for --yes.`,
		Example: `  hishamos-perf seed --scale medium --replace
  hishamos-perf --dsn postgres://me@localhost/scratch seed --scale small --yes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// seed builds its tables in a schema of its own, then moves
			// them into the one that holds HishamOS's.
			a.need = pg.Need{Schema: "CREATE", Database: "CREATE"}
			return a.runSeed(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.scale, flagScale, defaultScale, "data scale: small, medium or large")
	f.Int64Var(&o.seed, flagSeed, defaultDataSeed, "random seed: the same seed loads the same rows")
	f.BoolVar(&o.replace, flagReplace, false, "drop and reload HishamOS tables that already hold rows")
	f.BoolVar(&o.yes, flagYes, false, "confirm loading into a database that is not the sandbox")
	return cmd
}

func (a *app) runSeed(ctx context.Context, o seedOptions) error {
	scale, err := dataset.ParseScale(o.scale)
	if err != nil {
		return &usageError{err: fmt.Errorf("--%s: %w", flagScale, err), cmd: "hishamos-perf seed"}
	}
	t := pg.Resolve(a.dsn, a.getenv)
	if !t.Sandbox() && !o.yes {
		return &usageError{err: fmt.Errorf("seed writes tables into %s, which is not the sandbox: add --yes to confirm", t), cmd: "hishamos-perf seed"}
	}
	if t, err = a.target(ctx, false); err != nil {
		return err
	}
	conn, err := a.connect(ctx, t, pg.Session{LockTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	a.say("seed: loading HishamOS data at scale %s into %s", scale.Name, t)
	bar := a.progress()
	res, err := dataset.Load(ctx, conn, dataset.Options{Scale: scale, Seed: o.seed, Replace: o.replace,
		Progress: func(p dataset.Progress) { bar.Update(progressLabel(p), p.RowsDone, p.RowsTotal) }})
	bar.Done()
	if err != nil && conn.IsClosed() {
		// A restart or a killed backend: nothing could be cleaned up on
		// this session, so say what state the tables are in and who
		// finishes the clean-up.
		return &dbError{fmt.Errorf("seed: the connection to the server was lost, so the load stopped; no table is half-loaded (a load swaps its tables in whole, in one transaction), and what it built aside is dropped, at the latest by the next seed: %w", err)}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// The server refused part of the load (disk full, a lock, a
		// privilege): the load's transactions are rolled back and what it
		// built aside is dropped.
		return &dbError{fmt.Errorf("seed: the load failed and was rolled back, the HishamOS tables are as they were: %w", err)}
	}
	if err != nil {
		return err
	}
	if t.Sandbox() {
		box, err := a.box()
		if err != nil {
			return err
		}
		if err := resetSandboxStats(ctx, conn); err != nil {
			return err
		}
		if err := box.MarkSeeded(scale.Name); err != nil {
			return err
		}
	}
	return a.write(report.Seed(res, t.String()))
}

// progressLabel says what a load is doing: the table being copied, or the
// phase after the rows are in.
func progressLabel(p dataset.Progress) string {
	if p.Table == "" {
		return p.Phase
	}
	return p.Phase + " " + p.Table
}
