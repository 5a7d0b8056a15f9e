package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/spf13/cobra"

	"github.com/hishamos/hishamos-perf/cmd/hishamos-perf/internal/report"
	"github.com/hishamos/hishamos-perf/indexes"
	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/sandbox"
	"github.com/hishamos/hishamos-perf/migrate"
	"github.com/hishamos/hishamos-perf/profiles"
)

// Flag names of indexes plan.
const (
	flagFrom        = "from"
	flagFromProfile = "from-profile"
	flagName        = "name"
	flagEmit        = "emit"
	flagDjangoApps  = "django-apps"
	flagSchema      = "schema"
	flagOnly        = "only"
	flagExclude     = "exclude"
	// Django's flags: the project to read, the app that builds other
	// apps' indexes, and the file the models.py patch goes to.
	flagDjangoProject = "django-project"
	flagDjangoHostApp = "django-host-app"
	flagDjangoPatch   = "django-patch"
)

// defaultPlanSchema is the schema plan writes for a table given without one
// when it has no database to look the table up in: PostgreSQL's default
// schema, where the HishamOS tables (and a Django project's) live.
const defaultPlanSchema = "public"

// What indexes plan --emit writes.
const (
	emitAtlas  = "atlas"
	emitDjango = "django"
)

// defaultMigrationsDir is where migrations go when --dir is not given.
const defaultMigrationsDir = "migrations"

// newIndexesCmd is the indexes command: plan and apply live here; indexes
// propose (its own file) is added to this parent too.
func newIndexesCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "indexes",
		Short: "Propose indexes, plan them as versioned migrations and build them safely",
		Long: `indexes turns what a workload needs into indexes on a live database:
plan writes the indexes as versioned migrations (Atlas's directory format, one
CREATE INDEX CONCURRENTLY per file), and apply builds them without blocking
writes, one applier at a time, finishing what an interrupted apply left.`,
		Example: `  hishamos-perf indexes plan --from-profile hishamos
  hishamos-perf indexes apply --dir migrations`,
	}
	// indexes propose is added here as well, by the command's own file.
	cmd.AddCommand(newIndexesPlanCmd(a), newApplyCmd(a, "indexes apply"))
	cmd.AddCommand(newIndexesProposeCmd(a))
	return cmd
}

// planOptions are indexes plan's flags.
type planOptions struct {
	from, fromProfile string
	dir, name         string
	emit, djangoApps  string
	schema            string
	choice            indexes.Choice
	djangoProject     string
	djangoHostApp     string
	djangoPatch       string
	// djangoAppsGiven is whether --django-apps was given.
	djangoAppsGiven bool
}

func newIndexesPlanCmd(a *app) *cobra.Command {
	var o planOptions
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Write proposed indexes as the next versioned migrations",
		Long: `plan writes each index as its own migration file in Atlas's directory format,
so both this tool and the atlas CLI can apply it:

  <dir>/<version>_<name>_<index>.sql       -- atlas:txmode none
                                           CREATE INDEX CONCURRENTLY IF NOT EXISTS ...
  <dir>/down/<version>_<name>_<index>.sql  DROP INDEX CONCURRENTLY IF EXISTS ...
  <dir>/atlas.sum, <dir>/down/atlas.sum    computed with Atlas's hash

Index names are explicit and stable: the proposal's or profile's name, else
<table>_<columns>_idx, cut to PostgreSQL's 63 bytes with a short hash. An index
the directory already creates is skipped, and a directory edited by hand
(atlas.sum no longer matching) is refused.

The indexes come from --from, the JSON that 'indexes propose' writes
(schema ` + indexes.Schema + `), or from --from-profile, a profile's
hand-picked index set.

Every statement names its table with its schema, so that no search_path can
send an index to another schema's table of the same name. A table given
without one (a profile's, an old proposals file's) takes --schema; without
it, plan looks the table up in the database when a DSN is given (--dsn or the
environment), else writes public and says so.

--only 1,3 and --exclude 2 keep some of the indexes: numbers as 'indexes
propose' printed them (ranges such as 2-4 too), or index names.

--emit django writes instead, per Django app, a migration using
AddIndexConcurrently with atomic = False, and prints the models.Index line
each model's Meta.indexes needs (without it, makemigrations --check wants to
remove the index again). A table's app and model come from
django_content_type in the database (with a DSN), else from the project's
models and their db_table (--django-project DIR, read with Python's ast:
nothing of the project runs), else from an app django_migrations knows,
and only last from the table's name prefix; the output says which decided.
The dependency is the app's one leaf migration in the project, else its
latest applied in django_migrations, else its folder's highest number.
With --django-project the Meta lines come as a patch to the models files
(printed, or written to --django-patch FILE for git apply): never applied
for you. Expressions (Upper("email")), partial indexes (condition=Q(...)),
INCLUDE, DESC and operator classes take their Django forms; what Django
cannot say is RunSQL with its reverse, outside Django's state, as are
indexes on models of apps outside the project (auth.User), built from the
migration of --django-host-app (default: the first app the others go to).
Index names fit Django's 30 characters: the index's own when it fits, else
Django's own shape (the name Django gives an unnamed index of the same
columns).

An index on a partitioned table cannot be built CONCURRENTLY. plan reads the
table's partitions from the database apply will run on (the DSN's, else the
sandbox when it runs) and writes, in the index's one file, the sequence that
builds it without blocking writes: CREATE INDEX IF NOT EXISTS … ON ONLY the
table, then for each partition CREATE INDEX CONCURRENTLY under a stable name
(<partition>_<columns>_idx) and ALTER INDEX … ATTACH PARTITION, a partitioned
partition's own ON ONLY index first; the down file is one DROP INDEX. With
--emit django it is a RunSQL of the same statements, the DROP as reverse SQL,
inside a SeparateDatabaseAndState whose AddIndex gives Django's state the
index its Meta line names (RunSQL alone when Django cannot say the index).`,
		Example: `  hishamos-perf indexes plan --from-profile hishamos
  hishamos-perf indexes plan --from proposals.json --dir db/migrations \
    --name add_hot_path_indexes
  hishamos-perf indexes plan --from proposals.json --only 1,3 \
    --exclude wf_step_exec_order_idx
  hishamos-perf --dsn "$DATABASE_URL" indexes plan --from proposals.json \
    --emit django --django-project .`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.djangoAppsGiven = cmd.Flags().Changed(flagDjangoApps)
			return a.runPlan(cmd.Context(), cmd.CommandPath(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.from, flagFrom, "", "proposals JSON written by 'indexes propose' (- for stdin)")
	f.StringVar(&o.fromProfile, flagFromProfile, "", "a profile's hand-picked indexes: a built-in name or a YAML file")
	f.StringVar(&o.dir, flagDir, defaultMigrationsDir, "migration directory (created when missing)")
	f.StringVar(&o.name, flagName, migrate.DefaultName, "migration name, part of every file name")
	f.StringVar(&o.emit, flagEmit, emitAtlas, "what to write: atlas (a versioned migration directory) or django (Django migrations)")
	f.StringVar(&o.djangoApps, flagDjangoApps, ".", "with --emit django and no --django-project: the folder holding the Django apps (<app>/migrations/)")
	f.StringVar(&o.djangoProject, flagDjangoProject, "", "with --emit django: the Django project's folder, whose models, apps and migrations are read (with python3's ast; nothing of it runs)")
	f.StringVar(&o.djangoHostApp, flagDjangoHostApp, "", "with --django-project: the app whose migration builds the indexes of models outside the project (default: the first app the others go to)")
	f.StringVar(&o.djangoPatch, flagDjangoPatch, "", "with --django-project: write the models files' patch (the Meta.indexes lines) to this file instead of printing it")
	f.StringSliceVar(&o.choice.Only, flagOnly, nil, "plan only these indexes: numbers as propose printed them (1,3 or 2-4) or index names")
	f.StringSliceVar(&o.choice.Exclude, flagExclude, nil, "leave these indexes out: numbers as propose printed them or index names")
	f.StringVar(&o.schema, flagSchema, "", "schema of the tables given without one (default: looked up in the database when a DSN is given, else public)")
	return cmd
}

func (a *app) runPlan(ctx context.Context, cmdPath string, o planOptions) error {
	usage := func(err error) error { return &usageError{err: err, cmd: cmdPath} }
	if (o.from == "") == (o.fromProfile == "") {
		return usage(fmt.Errorf("give the indexes with exactly one of --%s or --%s", flagFrom, flagFromProfile))
	}
	if o.emit != emitAtlas && o.emit != emitDjango {
		return usage(fmt.Errorf("--%s %q: use %s or %s", flagEmit, o.emit, emitAtlas, emitDjango))
	}
	if o.emit != emitDjango {
		for flag, v := range map[string]string{flagDjangoProject: o.djangoProject, flagDjangoHostApp: o.djangoHostApp, flagDjangoPatch: o.djangoPatch} {
			if v != "" {
				return usage(fmt.Errorf("--%s goes with --%s %s", flag, flagEmit, emitDjango))
			}
		}
	}
	if o.djangoProject == "" && (o.djangoHostApp != "" || o.djangoPatch != "") {
		return usage(fmt.Errorf("--%s and --%s go with --%s", flagDjangoHostApp, flagDjangoPatch, flagDjangoProject))
	}
	if o.djangoProject != "" && o.djangoAppsGiven {
		return usage(fmt.Errorf("give the Django apps with one of --%s or --%s", flagDjangoProject, flagDjangoApps))
	}
	specs, source, err := a.planIndexes(o)
	if err != nil {
		return usage(err)
	}
	if !o.choice.Empty() {
		chosen, nums, err := indexes.Choose(specs, o.choice)
		if err != nil {
			return usage(fmt.Errorf("--%s/--%s: %w", flagOnly, flagExclude, err))
		}
		a.say("indexes plan: %d of the %d indexes of %s (%s)", len(chosen), len(specs), source, joinInts(nums))
		specs = chosen
	}
	for _, d := range specs {
		// An index that cannot be planned is refused before a database
		// is asked where its table is.
		if err := migrate.CheckIndex(d); err != nil {
			return a.migrateError(err, cmdPath)
		}
	}
	specs, schemaNote, err := a.qualifyIndexes(ctx, specs, o.schema)
	if err != nil {
		return a.migrateError(err, cmdPath)
	}
	trees, err := a.planPartitions(ctx, specs)
	if err != nil {
		return a.migrateError(err, cmdPath)
	}
	tool := "hishamos-perf " + toolVersion()
	if o.emit == emitDjango {
		return a.planDjango(ctx, cmdPath, specs, o, tool, schemaNote, trees)
	}
	res, err := migrate.Plan(ctx, o.dir, specs, migrate.PlanOptions{Name: o.name, Tool: tool, Source: source, Partitions: trees})
	if err != nil {
		return a.migrateError(err, cmdPath)
	}
	return a.write(report.Plan(res, o.emit, schemaNote))
}

// planIndexes reads the indexes to plan from --from or --from-profile, and
// says where they come from.
func (a *app) planIndexes(o planOptions) ([]indexdef.Def, string, error) {
	if o.from != "" {
		in, name := a.stdin, "stdin"
		if o.from != "-" {
			f, err := os.Open(o.from)
			if err != nil {
				return nil, "", fmt.Errorf("--%s: %w", flagFrom, err)
			}
			defer f.Close()
			in, name = f, o.from
		}
		res, err := indexes.ReadProposals(in, name)
		if err != nil {
			return nil, "", err
		}
		return res.Defs(), name, nil
	}
	p, err := profiles.Load(o.fromProfile)
	if err != nil {
		return nil, "", err
	}
	if len(p.Indexes) == 0 {
		return nil, "", fmt.Errorf("profile %s has no indexes to plan", p.Name)
	}
	defs := make([]indexdef.Def, len(p.Indexes))
	for i, ix := range p.Indexes {
		if defs[i], err = ix.Def(); err != nil {
			return nil, "", fmt.Errorf("profile %s: %w", p.Name, err)
		}
	}
	return defs, "profile " + p.Name, nil
}

// qualifyIndexes gives every index without a schema one: --schema's, else
// the one the database finds the table in when a DSN is given, else public.
// The note says what was decided for those indexes, empty when every one
// had its schema.
func (a *app) qualifyIndexes(ctx context.Context, specs []indexdef.Def, schema string) ([]indexdef.Def, string, error) {
	var bare []string
	for _, s := range specs {
		if s.Schema == "" {
			bare = append(bare, s.Table)
		}
	}
	if len(bare) == 0 {
		return specs, "", nil
	}
	tables := strings.Join(slices.Compact(slices.Sorted(slices.Values(bare))), ", ")
	fill := func(schema string) []indexdef.Def {
		out := append([]indexdef.Def(nil), specs...)
		for i := range out {
			if out[i].Schema == "" {
				out[i].Schema = schema
			}
		}
		return out
	}
	if schema != "" {
		return fill(schema), fmt.Sprintf("tables given without a schema (%s) are written in schema %s (--%s)", tables, schema, flagSchema), nil
	}
	t := pg.Resolve(a.dsn, a.getenv)
	if t.Sandbox() {
		return fill(defaultPlanSchema), fmt.Sprintf("tables given without a schema (%s) are written in schema %s: no DSN to look them up in (give --%s, or --%s to look them up)",
			tables, defaultPlanSchema, flagSchema, flagDSN), nil
	}
	conn, err := a.connect(ctx, t, pg.DefaultSession)
	if err != nil {
		return nil, "", err
	}
	defer conn.Close(context.Background())
	out, err := migrate.QualifyDefs(ctx, conn, specs)
	if err != nil {
		return nil, "", err
	}
	return out, fmt.Sprintf("tables given without a schema (%s) are written in the schema the database finds them in", tables), nil
}

// planPartitions reads the partition trees of the partitioned tables among
// the indexes' from the database apply will build them on: the DSN's, else
// the sandbox when it runs (plan starts none). Without one, an index is
// planned as on a plain table, which apply refuses for a partitioned one.
func (a *app) planPartitions(ctx context.Context, specs []indexdef.Def) (map[indexdef.Name]*migrate.Partition, error) {
	t := pg.Resolve(a.dsn, a.getenv)
	if t.Sandbox() {
		box, err := a.box()
		if err != nil {
			return nil, nil
		}
		if st, err := box.Status(ctx); err != nil || !st.Running {
			return nil, nil
		}
		st, err := box.LoadState()
		if err != nil {
			return nil, nil
		}
		t.DSN = box.DSN(st, sandbox.Database)
	}
	conn, err := a.connect(ctx, t, pg.DefaultSession)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	return migrate.PlanPartitions(ctx, conn, specs)
}

// migrateError sorts the migrate package's errors into exit codes: bad
// input (a directory, a file, a proposal) is 2, a lock the database would
// not give is 3.
func (a *app) migrateError(err error, _ string) error {
	var (
		se  *migrate.SumError
		me  *migrate.MissingTableError
		ce  *migrate.ConflictError
		le  *migrate.LockedError
		lte *migrate.LockTimeoutError
		re  *migrate.RefusedError
	)
	var (
		rle *migrate.ReplicaLagError
		ste *migrate.StandbyTargetError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &rle):
		return &dbError{replicaLagError(rle)}
	case errors.As(err, &ste):
		return &usageError{err: fmt.Errorf("--%s: %w: point --%s at the primary (the --%s flag takes its standbys)", flagDSN, err, flagDSN, flagReplica)}
	case errors.As(err, &le), errors.As(err, &lte), errors.As(err, new(*migrate.IncompleteError)):
		return &dbError{err}
	case errors.As(err, &re) && (errors.Is(err, migrate.ErrOtherDDL) || errors.Is(err, migrate.ErrBlockingIndex)):
		// The package does not name flags; the command does.
		return &usageError{err: fmt.Errorf("%w (if the file is meant to run it, pass --%s)", err, flagAllowOtherDDL)}
	case errors.As(err, &re), errors.Is(err, migrate.ErrDuplicateVersion), errors.Is(err, migrate.ErrDetachedDirective),
		errors.Is(err, migrate.ErrNoSchema),
		errors.As(err, &se), errors.As(err, &me), errors.As(err, &ce),
		errors.Is(err, migrate.ErrNotMigrationDir), errors.Is(err, migrate.ErrNoSum),
		errors.Is(err, indexes.ErrBadProposals), errors.Is(err, migrate.ErrBadSpec),
		errors.Is(err, migrate.ErrDownPastFirst), errors.Is(err, migrate.ErrNoDownFile),
		errors.Is(err, migrate.ErrTxMode), errors.Is(err, migrate.ErrNoDjangoApp),
		errors.Is(err, migrate.ErrConcurrentPartitioned), errors.Is(err, migrate.ErrOnlyNotPartitioned),
		errors.Is(err, migrate.ErrForeignPartition), errors.Is(err, migrate.ErrPartitionLeftover),
		errors.Is(err, migrate.ErrNoAtlas):
		// Bad input, not bad usage: no pointer to --help.
		return &usageError{err: err}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && fileAtFault(pgErr.Code) {
		// The server ran the file and found it does not fit the database
		// (a UNIQUE index over duplicates, a column that does not exist):
		// bad input, as the README counts SQL. A full disk, a lost or
		// killed session, a lock or a missing privilege is the
		// database's (exit code 3).
		return &usageError{err: err}
	}
	return err
}

// fileAtFault reports whether a SQLSTATE blames the statement rather than
// the server: data exceptions (22), integrity violations (23), syntax and
// undefined objects (42, but for 42501, a missing privilege) and features
// not supported (0A).
func fileAtFault(code string) bool {
	switch {
	case code == "42501":
		return false
	case strings.HasPrefix(code, "22"), strings.HasPrefix(code, "23"), strings.HasPrefix(code, "42"), strings.HasPrefix(code, "0A"):
		return true
	}
	return false
}

// replicaLagError words a standby that had not replayed a file in time:
// which node, how far behind, what was (not) recorded and how to go on.
func replicaLagError(e *migrate.ReplicaLagError) error {
	why := fmt.Sprintf("it is %s of WAL behind the primary (replayed to %s of %s)", pg.Size(e.BehindBytes), e.Replayed, e.Target)
	if e.Index != "" {
		why = fmt.Sprintf("it has replayed the build but %s is not valid there", e.Index)
	}
	if e.Paused {
		why += ", its replay paused (pg_wal_replay_resume() on it goes on)"
	}
	if e.File == "" {
		return fmt.Errorf("node %s has not replayed the primary's writes after --%s %s: %s", e.Node, flagReplicaTimeout, e.Timeout, why)
	}
	return fmt.Errorf("%s: node %s has not replayed the file after --%s %s: %s; the index is kept on the primary and the version is not recorded: run apply again once %s has caught up",
		e.File, e.Node, flagReplicaTimeout, e.Timeout, why, e.Node)
}
