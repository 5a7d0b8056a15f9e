package main

import (
	"context"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/hishamos/hishamos-perf/cmd/hishamos-perf/internal/report"
	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/render"
	"github.com/hishamos/hishamos-perf/migrate"
)

// Flag names of the migrate commands and indexes apply.
const (
	flagWait            = "wait"
	flagLockTimeout     = "lock-timeout"
	flagDryRun          = "dry-run"
	flagEngine          = "engine"
	flagRevisionsSchema = "revisions-schema"
	flagRetries         = "retries"
	flagMaxBuild        = "max-build"
	flagBuildRate       = "build-rate"
	flagAll             = "all"
	flagOffline         = "offline"
	flagDevURL          = "dev-url"
	flagAllowOtherDDL   = "allow-other-ddl"
)

// allowOtherDDLHelp names what --allow-other-ddl lets through.
const allowOtherDDLHelp = "also run statements that are not index builds or drops (CREATE TABLE, UPDATE, DROP TABLE: anything), and CREATE INDEX without CONCURRENTLY, which blocks every write to its table while it builds"

// formatGitHub is lint's extra --format: GitHub Actions annotation lines.
const formatGitHub = "github"

// toolVersion is the module version, for migration headers and revisions.
func toolVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
}

func newMigrateCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply, inspect, validate and revert a versioned index migration directory",
		Long: `migrate works on a migration directory in Atlas's format (see 'indexes plan'):
apply builds the pending indexes safely, status compares the directory with a
database (applied, pending, drift), validate checks the files against
atlas.sum, down reverts versions, hash rewrites the sums, repair drops the
INVALID leftovers of failed builds, and lint checks pending files for what
would hurt a live database.

The applied versions are kept in atlas_schema_revisions, laid out as the atlas
CLI keeps them, and applying takes the advisory lock the atlas CLI takes, so
the two tools can share a directory and a database.`,
		Example: `  hishamos-perf migrate status
  hishamos-perf migrate apply --dry-run
  hishamos-perf migrate lint --format github`,
	}
	cmd.AddCommand(newApplyCmd(a, "migrate apply"), newStatusCmd(a), newValidateCmd(a), newDownCmd(a),
		newHashCmd(a), newRepairCmd(a), newLintCmd(a))
	return cmd
}

// applyOptions are the flags of apply, down and repair.
type applyOptions struct {
	dir             string
	n               int
	dryRun          bool
	wait            time.Duration
	lockTimeout     time.Duration
	retries         int
	engine          string
	revisionsSchema string
	allowOtherDDL   bool
	// replicas and replicaTimeout are apply's --replica and
	// --replica-timeout: the standbys it waits for after each file.
	replicas       []string
	replicaTimeout time.Duration
}

func addApplyFlags(cmd *cobra.Command, o *applyOptions, engine bool) {
	f := cmd.Flags()
	f.StringVar(&o.dir, flagDir, defaultMigrationsDir, "migration directory")
	f.BoolVar(&o.dryRun, flagDryRun, false, "print what would run, and run nothing")
	f.DurationVar(&o.wait, flagWait, migrate.DefaultWait, "how long to wait for another applier to finish")
	f.DurationVar(&o.lockTimeout, flagLockTimeout, migrate.DefaultLockTimeout, "lock_timeout of every statement; a timed-out lock is retried")
	f.IntVar(&o.retries, flagRetries, migrate.DefaultRetries, "retries after a lock timeout or deadlock (0: none)")
	f.StringVar(&o.revisionsSchema, flagRevisionsSchema, migrate.DefaultRevisionsSchema, "schema of the atlas_schema_revisions table")
	if engine {
		f.StringVar(&o.engine, flagEngine, migrate.EngineNative, "native, or atlas to run the atlas CLI (needs the atlas binary on PATH)")
	}
}

// addAllowOtherDDL adds --allow-other-ddl to the commands that run the
// statements of migration files (apply, down).
func addAllowOtherDDL(cmd *cobra.Command, o *applyOptions) {
	cmd.Flags().BoolVar(&o.allowOtherDDL, flagAllowOtherDDL, false, allowOtherDDLHelp)
}

// readDir opens a migration directory and reads its files, so that a
// directory no command can use (two files with one version, a directive
// Atlas would not read) is refused before a connection is made or a
// sandbox started.
func readDir(path string) (*migrate.Dir, error) {
	dir, err := migrate.OpenDir(path)
	if err != nil {
		return nil, err
	}
	if _, err := dir.Migrations(); err != nil {
		return nil, err
	}
	return dir, nil
}

// countArg reads the optional [N] argument.
func countArg(args []string, cmdPath string) (int, error) {
	if len(args) == 0 {
		return 0, nil
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 {
		//lint:ignore ST1005 N is the argument as the usage line names it
		return 0, &usageError{err: fmt.Errorf("N must be a positive number, not %q", args[0]), cmd: cmdPath}
	}
	return n, nil
}

func newApplyCmd(a *app, path string) *cobra.Command {
	var o applyOptions
	cmd := &cobra.Command{
		Use:   "apply [N]",
		Short: "Build the pending indexes of a migration directory, safely, on a live database",
		Long: `apply runs the pending files of the migration directory (at most N of them)
with Atlas's executor, on one connection:

  - one applier at a time: an advisory lock, polled until --wait, and when it
    is not granted, the session holding it is named;
  - every statement under --lock-timeout, builds without statement_timeout
    (a build stopped halfway leaves an INVALID index);
  - before each build, a warning about open transactions it has to wait for,
    an INVALID leftover of the same name dropped, and a valid identical index
    taken as done;
  - lock timeouts and deadlocks retried with capped, jittered backoff, any
    other error stops at once;
  - a version is recorded only when pg_index says the index is valid and ready.

It runs index statements only: CREATE [UNIQUE] INDEX [CONCURRENTLY] (ON ONLY a
partitioned table too), DROP INDEX, ALTER INDEX ... ATTACH PARTITION and
COMMENT ON INDEX, each naming its tables and indexes with their schema (the
session's search_path is pinned to pg_catalog, so that no search_path decides
which table an index is built on). A pending file holding anything else (a
DROP TABLE, an UPDATE, a SET), a CREATE INDEX without CONCURRENTLY, or a name
without its schema is refused before anything runs (exit code 2); --allow-other-ddl
lets the first two through. Two files with the same version are refused too.

Interrupted (Ctrl-C, a lost connection, a restarted server), it is finished by
running it again: there is no dirty state to force. On a terminal the build's
progress is shown from pg_stat_progress_create_index.

An index on a partitioned table (the sequence indexes plan writes: ON ONLY the
table, then each partition's index CONCURRENTLY and ATTACH PARTITION) is built
one partition at a time, partitions done/total as it goes, and its version is
recorded only once the table's index is valid: killed part way, the file stays
pending (status says partly applied) and the next apply keeps the partitions
built, drops the INVALID leftover of the one interrupted and goes on. A
partition detached or dropped since the plan is skipped, one added since gets
its index too, and a lock on one partition stops apply with that partition
named. A CREATE INDEX CONCURRENTLY on a partitioned table, which PostgreSQL
refuses, is refused before anything runs.

With --replica [NAME=]DSN (a streaming standby of the --dsn server; repeat for
each), a file's version is recorded only once every standby has replayed its
builds (the primary's WAL insert position after them) and shows its indexes
valid, the wait told on stderr. A standby still behind after --replica-timeout
stops apply (exit code 3) naming it and how far behind it is: the index stays
on the primary, the version is not recorded, and apply again takes the index
as built, waits again and records it. --dsn pointing at a standby is refused
(exit code 2), naming its primary when the standby shows it.`,
		Example: strings.ReplaceAll(`  hishamos-perf CMD --dir migrations
  hishamos-perf CMD --dry-run
  hishamos-perf --dsn "$DB" CMD 1 --lock-timeout 2s --wait 2m`, "CMD", path),
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := countArg(args, cmd.CommandPath())
			if err != nil {
				return err
			}
			o.n = n
			return a.runApply(cmd.Context(), cmd.CommandPath(), o)
		},
	}
	addApplyFlags(cmd, &o, true)
	addAllowOtherDDL(cmd, &o)
	cmd.Flags().StringArrayVar(&o.replicas, flagReplica, nil, "a streaming standby of the --dsn server, as [NAME=]DSN (repeat for each): after each file, wait until it has replayed the builds and shows the indexes valid, then record the version")
	cmd.Flags().DurationVar(&o.replicaTimeout, flagReplicaTimeout, migrate.DefaultReplicaTimeout, "how long each file waits for the --replica standbys; past it apply stops (exit code 3) and the version is not recorded")
	return cmd
}

// session opens the pinned connection apply, down and repair run on.
func (a *app) session(ctx context.Context, lockTimeout time.Duration) (*pgx.Conn, pg.Target, error) {
	t, err := a.target(ctx, true)
	if err != nil {
		return nil, t, err
	}
	conn, err := a.connect(ctx, t, pg.Session{LockTimeout: lockTimeout})
	return conn, t, err
}

// applyOpts turns flags into the package's options, with events told on
// stderr and, on a terminal, a progress bar fed from a second connection.
func (a *app) applyOpts(ctx context.Context, t pg.Target, o applyOptions) (migrate.ApplyOptions, func()) {
	retries := o.retries
	if retries <= 0 {
		retries = migrate.NoRetries
	}
	opts := migrate.ApplyOptions{N: o.n, DryRun: o.dryRun, Wait: o.wait, LockTimeout: o.lockTimeout, Retries: retries,
		RevisionsSchema: o.revisionsSchema, Operator: "hishamos-perf " + toolVersion(), AllowOtherDDL: o.allowOtherDDL}
	bar, phase := a.progress(), ""
	opts.Observer = func(e migrate.Event) {
		switch e.Kind {
		case migrate.EventProgress:
			if e.Progress.Phase != phase {
				// A new phase counts other things (blocks, tuples): a new
				// bar, so its rate is its own.
				bar.Done()
				bar, phase = a.progress(), e.Progress.Phase
			}
			done, total := e.Progress.Done()
			bar.Update(e.Index+": "+e.Progress.Phase, done, total)
		case migrate.EventBuild:
			a.say("  building %s", e.Index)
		case migrate.EventFile, migrate.EventLockWait:
			bar.Done()
			a.say("%s", e.Message)
		default:
			bar.Done()
			if e.Index != "" {
				a.say("  %s: %s", e.Index, e.Message)
			} else {
				a.say("  %s", e.Message)
			}
		}
	}
	// The closures read bar when called: Done reaches the current phase's.
	closeMonitor := func() { bar.Done() }
	if !a.quiet && render.IsTerminal(a.stderr) && !o.dryRun {
		if mon, err := a.connect(ctx, t, pg.DefaultSession); err == nil {
			opts.Monitor = mon
			closeMonitor = func() { bar.Done(); mon.Close(context.Background()) }
		}
	}
	return opts, closeMonitor
}

func (a *app) runApply(ctx context.Context, cmdPath string, o applyOptions) error {
	dir, err := readDir(o.dir)
	if err != nil {
		return a.migrateError(err, cmdPath)
	}
	if err := dir.Validate(); err != nil {
		return a.migrateError(err, cmdPath)
	}
	// --replica is read before any connection: a bad one changes nothing.
	if _, err := parseReplicas(o.replicas); err != nil {
		return &usageError{err: err, cmd: cmdPath}
	}
	switch o.engine {
	case migrate.EngineNative, "":
	case migrate.EngineAtlas:
		if len(o.replicas) > 0 {
			// The atlas CLI would record each version without waiting.
			return &usageError{err: fmt.Errorf("--%s is waited for by the native engine only: drop --%s %s", flagReplica, flagEngine, migrate.EngineAtlas), cmd: cmdPath}
		}
		return a.runAtlasApply(ctx, cmdPath, dir, o)
	default:
		return &usageError{err: fmt.Errorf("--%s %q: use %s or %s", flagEngine, o.engine, migrate.EngineNative, migrate.EngineAtlas), cmd: cmdPath}
	}
	return a.runMigrations(ctx, cmdPath, dir, o, migrate.Apply, "Applied")
}

// runMigrations runs Apply or Down on one session under the apply flags and
// shows what was done, also when it stopped part way.
func (a *app) runMigrations(ctx context.Context, cmdPath string, dir *migrate.Dir, o applyOptions,
	run func(context.Context, *pgx.Conn, *migrate.Dir, migrate.ApplyOptions) (*migrate.ApplyResult, error), verb string) error {
	conn, t, err := a.session(ctx, o.lockTimeout)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	opts, done := a.applyOpts(ctx, t, o)
	if len(o.replicas) > 0 && !o.dryRun {
		specs, err := parseReplicas(o.replicas)
		if err != nil {
			done()
			return &usageError{err: err, cmd: cmdPath}
		}
		f, conns, closeFleet, err := a.openFleet(ctx, conn, specs, pg.DefaultSession)
		if err != nil {
			done()
			return err
		}
		defer closeFleet()
		for i, c := range conns {
			opts.Replicas = append(opts.Replicas, migrate.Replica{Name: f.Nodes[i+1].Name, Q: c})
		}
		opts.ReplicaTimeout = o.replicaTimeout
	}
	res, err := run(ctx, conn, dir, opts)
	done()
	if res != nil && (err == nil || len(res.Files) > 0) {
		if rerr := a.renderApply(t, res, verb); rerr != nil && err == nil {
			return rerr
		}
	}
	return a.migrateError(err, cmdPath)
}

func (a *app) renderApply(t pg.Target, res *migrate.ApplyResult, verb string) error {
	return a.write(report.Apply(res, t.String(), verb, a.quiet))
}

func (a *app) runAtlasApply(ctx context.Context, cmdPath string, dir *migrate.Dir, o applyOptions) error {
	e, err := migrate.NewAtlasEngine("")
	if err != nil {
		return a.migrateError(err, cmdPath)
	}
	t, err := a.target(ctx, true)
	if err != nil {
		return err
	}
	// The atlas CLI runs whatever a file holds: the files are checked as
	// the native engine checks them, before atlas starts.
	conn, err := a.connect(ctx, t, pg.Session{StatementTimeout: 30 * time.Second, LockTimeout: migrate.DefaultLockTimeout})
	if err != nil {
		return err
	}
	err = migrate.CheckPending(ctx, conn, dir, o.revisionsSchema, o.allowOtherDDL)
	conn.Close(context.Background())
	if err != nil {
		return a.migrateError(err, cmdPath)
	}
	res, err := e.Apply(ctx, t.DSN, dir, migrate.ApplyOptions{N: o.n, DryRun: o.dryRun, RevisionsSchema: o.revisionsSchema})
	if err != nil {
		return &dbError{err}
	}
	return a.write(report.AtlasApply(res, e.Binary))
}

func newStatusCmd(a *app) *cobra.Command {
	var (
		dir, schema, engine string
		replicas            []string
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show applied and pending migrations, and drift in what they built",
		Long: `status compares the migration directory with the database: each file applied,
partly applied or pending, and for each index it creates whether it is there,
valid and as the file says. Drift is an applied index that is now missing,
INVALID or different; INVALID leftovers of failed builds are listed (apply
again, or run repair). status changes nothing.

With --replica (a streaming standby of the --dsn server, repeatable), each
index is also shown on every standby: ok (there, valid), invalid (its build
not replayed to the end yet) or absent.`,
		Example: `  hishamos-perf migrate status
  hishamos-perf --dsn "$DB" migrate status --dir db/migrations --format json
  hishamos-perf --dsn "$PRIMARY" migrate status --replica r1="$STANDBY"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runStatus(cmd.Context(), cmd.CommandPath(), dir, schema, engine, replicas)
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, flagDir, defaultMigrationsDir, "migration directory")
	f.StringVar(&schema, flagRevisionsSchema, migrate.DefaultRevisionsSchema, "schema of the atlas_schema_revisions table")
	f.StringVar(&engine, flagEngine, migrate.EngineNative, "native, or atlas to run the atlas CLI (needs the atlas binary on PATH)")
	f.StringArrayVar(&replicas, flagReplica, nil, "a streaming standby of the --dsn server, as [NAME=]DSN (repeat for each): each index is shown on it too")
	return cmd
}

func (a *app) runStatus(ctx context.Context, cmdPath, dirPath, schema, engine string, replicas []string) error {
	dir, err := readDir(dirPath)
	if err != nil {
		return a.migrateError(err, cmdPath)
	}
	specs, err := parseReplicas(replicas)
	if err != nil {
		return &usageError{err: err, cmd: cmdPath}
	}
	if len(specs) > 0 && engine == migrate.EngineAtlas {
		return &usageError{err: fmt.Errorf("--%s is read by the native engine: drop --%s %s", flagReplica, flagEngine, migrate.EngineAtlas), cmd: cmdPath}
	}
	if engine == migrate.EngineAtlas {
		e, err := migrate.NewAtlasEngine("")
		if err != nil {
			return a.migrateError(err, cmdPath)
		}
		t, err := a.target(ctx, true)
		if err != nil {
			return err
		}
		res, err := e.Status(ctx, t.DSN, dir, schema)
		if err != nil {
			return &dbError{err}
		}
		return a.write(report.AtlasStatus(res))
	} else if engine != migrate.EngineNative && engine != "" {
		return &usageError{err: fmt.Errorf("--%s %q: use %s or %s", flagEngine, engine, migrate.EngineNative, migrate.EngineAtlas), cmd: cmdPath}
	}
	t, err := a.target(ctx, true)
	if err != nil {
		return err
	}
	conn, err := a.connect(ctx, t, pg.Session{StatementTimeout: 30 * time.Second, LockTimeout: migrate.DefaultLockTimeout})
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	st, err := migrate.Status(ctx, conn, dir, schema)
	if err != nil {
		return a.migrateError(err, cmdPath)
	}
	if len(specs) > 0 {
		f, conns, closeFleet, err := a.openFleet(ctx, conn, specs, pg.DefaultSession)
		if err != nil {
			return err
		}
		defer closeFleet()
		var rs []migrate.Replica
		for i, c := range conns {
			rs = append(rs, migrate.Replica{Name: f.Nodes[i+1].Name, Q: c})
		}
		if err := migrate.StatusOnReplicas(ctx, st, dir, rs); err != nil {
			return a.migrateError(err, cmdPath)
		}
	}
	return a.write(report.Status(st, t.String()))
}

func newValidateCmd(a *app) *cobra.Command {
	var dirPath string
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the migration files against atlas.sum",
		Long: `validate checks every migration file against atlas.sum, and the down files
against down/atlas.sum, with Atlas's own check: a file edited, added or removed
by hand is named and refused (exit code 2). It needs no database.`,
		Example: "  hishamos-perf migrate validate --dir migrations",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := readDir(dirPath)
			if err != nil {
				return a.migrateError(err, cmd.CommandPath())
			}
			if err := dir.Validate(); err != nil {
				return a.migrateError(err, cmd.CommandPath())
			}
			migs, err := dir.Migrations()
			if err != nil {
				return a.migrateError(err, cmd.CommandPath())
			}
			downs := 0
			for _, m := range migs {
				if m.DownFile != "" {
					downs++
				}
			}
			return a.write(report.Validate(dir.Path, len(migs), downs))
		},
	}
	cmd.Flags().StringVar(&dirPath, flagDir, defaultMigrationsDir, "migration directory")
	return cmd
}

func newDownCmd(a *app) *cobra.Command {
	var o applyOptions
	cmd := &cobra.Command{
		Use:   "down [N]",
		Short: "Revert the last N applied versions (default 1) with their down files",
		Long: `down runs the down files (down/<file>: DROP INDEX CONCURRENTLY IF EXISTS) of the
last N applied versions, newest first, under the same lock, timeouts and
retries as apply, and deletes each revision once its index is gone. Asking for
more versions than are applied is refused before anything runs, and so is a
down file holding what apply would refuse (anything but index statements, or a
name without its schema).

An index on a partitioned table cannot be dropped CONCURRENTLY: its down file
is one DROP INDEX, which drops every partition's index with it under an ACCESS
EXCLUSIVE lock on the table and each partition, each for a moment. down says
which locks it takes (--dry-run too), waits for each at most --lock-timeout
and retries, so that it never queues readers and writers behind a long
transaction for longer.`,
		Example: `  hishamos-perf migrate down
  hishamos-perf migrate down 3 --dry-run`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := countArg(args, cmd.CommandPath())
			if err != nil {
				return err
			}
			o.n = n
			return a.runDown(cmd.Context(), cmd.CommandPath(), o)
		},
	}
	addApplyFlags(cmd, &o, false)
	addAllowOtherDDL(cmd, &o)
	return cmd
}

func (a *app) runDown(ctx context.Context, cmdPath string, o applyOptions) error {
	dir, err := readDir(o.dir)
	if err == nil {
		err = dir.Validate()
	}
	if err != nil {
		return a.migrateError(err, cmdPath)
	}
	return a.runMigrations(ctx, cmdPath, dir, o, migrate.Down, "Reverted")
}

func newHashCmd(a *app) *cobra.Command {
	var dirPath string
	cmd := &cobra.Command{
		Use:   "hash",
		Short: "Rewrite atlas.sum from the migration files as they are",
		Long: `hash recomputes atlas.sum (and down/atlas.sum) with Atlas's hash, accepting
the files as they are now. Run it after a deliberate edit; validate and apply
refuse a directory whose files no longer match.`,
		Example: "  hishamos-perf migrate hash --dir migrations",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := migrate.OpenDir(dirPath)
			if err != nil {
				return a.migrateError(err, cmd.CommandPath())
			}
			res, err := dir.Hash()
			if err != nil {
				return err
			}
			return a.write(report.Hash(dir.Path, res))
		},
	}
	cmd.Flags().StringVar(&dirPath, flagDir, defaultMigrationsDir, "migration directory")
	return cmd
}

func newRepairCmd(a *app) *cobra.Command {
	var o applyOptions
	cmd := &cobra.Command{
		Use:   "repair",
		Short: "Drop the INVALID leftovers of this directory's failed index builds",
		Long: `repair looks up every index the directory's files create and drops, with DROP
INDEX CONCURRENTLY under the migration lock, those pg_index marks INVALID: what
a build killed halfway leaves. Valid indexes, and indexes the directory does
not create, are never touched. apply does the same for each file before
building it; repair is for cleaning up without applying.`,
		Example: `  hishamos-perf migrate repair --dry-run
  hishamos-perf migrate repair`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := readDir(o.dir)
			if err != nil {
				return a.migrateError(err, cmd.CommandPath())
			}
			conn, t, err := a.session(cmd.Context(), o.lockTimeout)
			if err != nil {
				return err
			}
			defer conn.Close(context.Background())
			opts, done := a.applyOpts(cmd.Context(), t, o)
			res, err := migrate.Repair(cmd.Context(), conn, dir, opts)
			done()
			if err != nil {
				return a.migrateError(err, cmd.CommandPath())
			}
			return a.write(report.Repair(res, t.String()))
		},
	}
	addApplyFlags(cmd, &o, false)
	return cmd
}

// lintOptions are migrate lint's flags.
type lintOptions struct {
	dir, schema, engine, devURL string
	maxBuild                    time.Duration
	buildRate                   float64
	all, offline                bool
	github                      bool
}

func newLintCmd(a *app) *cobra.Command {
	var o lintOptions
	cmd := &cobra.Command{
		Use:   "lint",
		Short: "Check pending migrations for what would hurt a live database (for CI)",
		Long: `lint checks the pending files (all of them with --all or --offline) and exits
with code 1 when a finding is at error level. Rules:

` + lintRulesText() + `
With --offline it checks the files alone; otherwise it also reads the database
(tables, their sizes, existing indexes, and the build rate, measured on a
temporary table). --format github prints GitHub Actions annotations.`,
		Example: `  hishamos-perf migrate lint
  hishamos-perf --dsn "$DB" migrate lint --format github --max-build 5m
  hishamos-perf migrate lint --offline --format json`,
		Args: cobra.NoArgs,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			format, _ := cmd.Flags().GetString(flagFormat)
			if format == formatGitHub {
				o.github, a.format = true, report.Text
				return nil
			}
			f, err := report.ParseFormat(format)
			if err != nil {
				return &usageError{err: fmt.Errorf("--%s: %w (or %s for lint)", flagFormat, err, formatGitHub), cmd: cmd.CommandPath()}
			}
			a.format = f
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runLint(cmd.Context(), cmd.CommandPath(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dir, flagDir, defaultMigrationsDir, "migration directory")
	f.DurationVar(&o.maxBuild, flagMaxBuild, migrate.DefaultMaxBuild, "longest estimated index build allowed")
	f.Float64Var(&o.buildRate, flagBuildRate, 0, "build rate in MB of table per second (default: measured on the server)")
	f.BoolVar(&o.all, flagAll, false, "lint every file, not only the pending ones")
	f.BoolVar(&o.offline, flagOffline, false, "check the files alone, without a database")
	f.StringVar(&o.schema, flagRevisionsSchema, migrate.DefaultRevisionsSchema, "schema of the atlas_schema_revisions table")
	f.StringVar(&o.engine, flagEngine, migrate.EngineNative, "native, or atlas to run 'atlas migrate lint' (needs the atlas binary and --dev-url)")
	f.StringVar(&o.devURL, flagDevURL, "", "with --engine atlas: an empty database atlas may use to replay the files")
	return cmd
}

func lintRulesText() string {
	var b strings.Builder
	for _, r := range migrate.Rules {
		fmt.Fprintf(&b, "  %s %-27s %-7s %s\n", r.ID, r.Name, r.Level, r.Text(migrateFlag))
	}
	return b.String()
}

func (a *app) runLint(ctx context.Context, cmdPath string, o lintOptions) error {
	dir, err := readDir(o.dir)
	if err != nil {
		return a.migrateError(err, cmdPath)
	}
	switch o.engine {
	case migrate.EngineNative, "":
	case migrate.EngineAtlas:
		e, err := migrate.NewAtlasEngine("")
		if err != nil {
			return a.migrateError(err, cmdPath)
		}
		if o.devURL == "" {
			return &usageError{err: fmt.Errorf("--engine atlas lint needs --%s, an empty database for atlas to replay the files on", flagDevURL), cmd: cmdPath}
		}
		res, err := e.Lint(ctx, o.devURL, dir, 0)
		if err != nil {
			return &dbError{err}
		}
		return a.write(report.AtlasLint(res))
	default:
		return &usageError{err: fmt.Errorf("--%s %q: use %s or %s", flagEngine, o.engine, migrate.EngineNative, migrate.EngineAtlas), cmd: cmdPath}
	}
	var conn *pgx.Conn
	if !o.offline {
		t, err := a.target(ctx, true)
		if err != nil {
			return err
		}
		if conn, err = a.connect(ctx, t, pg.Session{StatementTimeout: time.Minute, LockTimeout: migrate.DefaultLockTimeout}); err != nil {
			return err
		}
		defer conn.Close(context.Background())
	}
	rep, err := migrate.Lint(ctx, conn, dir, migrate.LintOptions{MaxBuild: o.maxBuild, BuildRate: o.buildRate * 1e6, All: o.all || o.offline, RevisionsSchema: o.schema,
		OptionName: migrateFlag})
	if err != nil {
		return a.migrateError(err, cmdPath)
	}
	if o.github {
		if err := report.GitHubAnnotations(a.stdout, rep); err != nil {
			return err
		}
	} else {
		if err := a.write(report.Lint(rep)); err != nil {
			return err
		}
	}
	if rep.Errors > 0 {
		return &gateError{fmt.Errorf("lint: %d error-level finding(s) in %s", rep.Errors, rep.Dir)}
	}
	return nil
}
