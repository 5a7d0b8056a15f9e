package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	hishamosperf "github.com/hishamos/hishamos-perf"
)

// ErrNotEmpty is returned by Load when a HishamOS table already holds rows
// and Options.Replace is false.
var ErrNotEmpty = errors.New("HishamOS tables already hold data")

// loadLockKey is the advisory lock a load holds for its whole run, so that
// two loads into one database (two test processes, a CLI and a sandbox
// seeding) wait for each other instead of colliding, and so that a load
// may drop the staging schemas that only a killed load leaves behind. The
// value is arbitrary: "hishamos" read as an integer.
const loadLockKey int64 = 0x6869_7368_616d_6f73

// stagingPrefix starts the name of the schema a load builds its tables in
// before moving them into place in one transaction.
const stagingPrefix = "hishamos_perf_load_"

// parallelMinRows is the smallest load worth more connections: below it,
// connecting and the extra transactions cost about what loading on several
// server processes saves. A variable so that tests can run small loads on
// several connections.
var parallelMinRows int64 = 200_000

// loadConnections is how many connections a load above parallelMinRows
// uses. Generating rows costs the client a twelfth of the server's time
// (0.7 s of CPU against 8.5 s at scale medium), so the server's cores set
// the pace. On two cores at scale medium, three connections loaded 6 to
// 56% faster than two in three alternated runs: two leave a core idle
// whenever one of them is at a short step (a small table, a catalog
// change) or has no step ready.
var loadConnections = 3

// Session settings raised for the load's transactions only (never lowered
// below what the server already has): more sort memory lets each index
// build sort in one pass, and more work_mem lets the foreign-key checks hash
// their parent tables in memory. 256MB and 64MB cover the large scale and
// are small next to the memory of any server that holds it.
const (
	loadMaintenanceWorkMem = 256 << 20
	loadWorkMem            = 64 << 20
)

// progressEvery is the least time between two progress calls (but for the
// few that mark a new phase).
const progressEvery = 100 * time.Millisecond

// copyChunk is how many bytes of rows are generated between two checks of
// the context and the progress clock; it matches pgconn's copy buffer.
const copyChunk = 64 << 10

// cleanupTimeout bounds the clean-up after a failed or cancelled load, which
// runs even though the caller's context is done.
const cleanupTimeout = 30 * time.Second

// Load creates the HishamOS tables in the connection's current schema, fills
// them with opts.Scale's rows generated from opts.Seed, builds their keys,
// indexes and foreign keys, and analyzes them.
//
// When the tables exist and any holds rows, Load returns an error wrapping
// ErrNotEmpty, unless opts.Replace is set: then the new tables take the old
// ones' place. When they all exist and are empty, Load fills them in place,
// keeping whatever indexes and constraints they carry.
//
// A failure or a cancelled ctx leaves the database as it was. New tables
// are built in a staging schema, on loadConnections connections when the
// load is big enough, and moved into place in one transaction at the end;
// a load into existing tables runs in one transaction. Rows go in with
// binary COPY FREEZE into bare tables whose indexes and foreign keys are
// rebuilt afterwards from their definitions in the catalog, so the schema
// stays the single source of truth.
//
// Load runs long statements: the session must not have a statement_timeout
// shorter than the load.
func Load(ctx context.Context, conn *pgx.Conn, opts Options) (Result, error) {
	if err := opts.Scale.validate(); err != nil {
		return Result{}, err
	}
	start := time.Now()
	l := &loader{
		conn: conn, opts: opts, world: newWorld(opts.Seed, opts.Scale),
		prog: &progress{fn: opts.Progress, total: opts.Scale.Total()},
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", loadLockKey); err != nil {
		return Result{}, withCause(ctx, fmt.Errorf("dataset: wait for other loads: %w", err))
	}
	defer func() {
		// A closed connection has released the lock already.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		_, _ = conn.Exec(uctx, "SELECT pg_advisory_unlock($1)", loadLockKey)
	}()

	res, err := l.load(ctx)
	if err != nil {
		return Result{}, withCause(ctx, err)
	}
	res.Scale, res.Seed, res.ReferenceTime = opts.Scale.Name, opts.Seed, ReferenceTime(opts.Seed)
	for _, t := range res.Tables {
		res.TotalRows += t.Rows
	}
	res.Duration = time.Since(start)
	if s := res.Duration.Seconds(); s > 0 {
		res.RowsPerSecond = float64(res.TotalRows) / s
	}
	return res, nil
}

// withCause makes sure an error caused by a cancelled or expired context
// says so, and matches it with errors.Is.
func withCause(ctx context.Context, err error) error {
	if cause := ctx.Err(); cause != nil && !errors.Is(err, cause) {
		return fmt.Errorf("%w (%w)", err, cause)
	}
	return err
}

type loader struct {
	conn   *pgx.Conn
	opts   Options
	world  *world
	prog   *progress
	target string // the schema the tables live in

	serverVersion int // server_version_num
}

// qualified returns the quoted name of table in schema.
func qualified(schema, table string) string {
	return pgx.Identifier{schema, table}.Sanitize()
}

func (l *loader) qualifiedAll(schema string, tables []tableSpec) []string {
	out := make([]string, len(tables))
	for i, t := range tables {
		out[i] = qualified(schema, t.name)
	}
	return out
}

func (l *loader) load(ctx context.Context) (Result, error) {
	var target *string
	err := l.conn.QueryRow(ctx, "SELECT current_schema(), current_setting('server_version_num')::int").Scan(&target, &l.serverVersion)
	if err != nil {
		return Result{}, fmt.Errorf("dataset: read current schema: %w", err)
	}
	if target == nil {
		return Result{}, errors.New("dataset: no current schema: the search_path names no schema that exists")
	}
	l.target = *target

	present, full, err := l.inspect(ctx, l.conn)
	if err != nil {
		return Result{}, err
	}
	switch {
	case len(present) == 0:
		return l.loadStaged(ctx, false)
	case full != "" && !l.opts.Replace:
		return Result{}, notEmpty(full)
	case l.opts.Replace:
		return l.loadStaged(ctx, true)
	case len(present) < len(tableSpecs):
		var missing []string
		for _, t := range tableSpecs {
			if !slices.Contains(present, t.name) {
				missing = append(missing, t.name)
			}
		}
		return Result{}, &IncompleteError{Missing: missing}
	}
	return l.loadInPlace(ctx)
}

func notEmpty(table string) error {
	return &NotEmptyError{Table: table}
}

// Option names an option of Options that a message of the package refers
// to. Its value is the field's name; a command words the message with the
// flag that sets the option instead (NotEmptyError.Message,
// IncompleteError.Message), so that no message here names a flag.
type Option string

// OptReplace is Options.Replace.
const OptReplace Option = "Replace"

// optionField names an option by its field: the default wording.
func optionField(o Option) string { return string(o) }

// NotEmptyError is ErrNotEmpty: Table already holds rows, and only a load
// that replaces the tables (OptReplace) may go on.
type NotEmptyError struct {
	Table string
}

func (e *NotEmptyError) Error() string { return e.Message(optionField) }

func (e *NotEmptyError) Unwrap() error { return ErrNotEmpty }

// Message says which table holds rows, naming the option that replaces
// the tables with name.
func (e *NotEmptyError) Message(name func(Option) string) string {
	return fmt.Sprintf("dataset: table %s already holds rows; use %s to drop the HishamOS tables and load them again: %v", e.Table, name(OptReplace), ErrNotEmpty)
}

// IncompleteError is a HishamOS schema some of whose tables (Missing) are
// not there: only a load that replaces them (OptReplace) may go on.
type IncompleteError struct {
	Missing []string
}

func (e *IncompleteError) Error() string { return e.Message(optionField) }

// Message names the missing tables and, with name, the option that
// recreates the schema.
func (e *IncompleteError) Message(name func(Option) string) string {
	return fmt.Sprintf("dataset: the HishamOS schema is incomplete (missing %s); use %s to recreate it", strings.Join(e.Missing, ", "), name(OptReplace))
}

// inspect returns the HishamOS tables that exist in the target schema, and
// the first of them that holds rows.
func (l *loader) inspect(ctx context.Context, q Querier) (present []string, full string, err error) {
	rows, err := q.Query(ctx, "SELECT to_regclass(n) IS NOT NULL FROM unnest($1::text[]) WITH ORDINALITY AS u(n, i) ORDER BY i",
		l.qualifiedAll(l.target, tableSpecs))
	if err != nil {
		return nil, "", fmt.Errorf("dataset: look for tables: %w", err)
	}
	exists, err := pgx.CollectRows(rows, pgx.RowTo[bool])
	if err != nil {
		return nil, "", fmt.Errorf("dataset: look for tables: %w", err)
	}
	for i, t := range tableSpecs {
		if !exists[i] {
			continue
		}
		present = append(present, t.name)
		var hasRows bool
		if err := q.QueryRow(ctx, "SELECT EXISTS (SELECT FROM "+qualified(l.target, t.name)+")").Scan(&hasRows); err != nil {
			return nil, "", fmt.Errorf("dataset: check %s: %w", t.name, err)
		}
		if hasRows && full == "" {
			full = t.name
		}
	}
	return present, full, nil
}

// setup prepares a load transaction, in one round trip: memory for sorts
// and hashes (raised, never lowered); no parallel workers for index builds,
// which on a small server would fight the load's own connections for the
// cores; and no wait for the WAL flush at commit (the data is regenerated
// from the seed at will, so a crash right after a commit loses nothing of
// value).
func setup(ctx context.Context, tx pgx.Tx) error {
	// The comments are analyze.Tagged's (before for up to 17, after for
	// 18): analyze leaves the tool's own statements out of its ranking,
	// and this one runs once a step.
	_, err := tx.Exec(ctx, `/* hishamos-perf */ SELECT set_config('synchronous_commit', 'off', true),
		set_config('max_parallel_maintenance_workers', '0', true),
		(SELECT count(set_config(s.name, w.kb || 'kB', true))
		 FROM (VALUES ('maintenance_work_mem', $1::int8), ('work_mem', $2::int8)) AS w(name, kb)
		 JOIN pg_settings s ON s.name = w.name
		 WHERE s.setting::int8 * CASE s.unit WHEN '8kB' THEN 8 WHEN 'MB' THEN 1024 ELSE 1 END < w.kb)
/* hishamos-perf */`,
		loadMaintenanceWorkMem>>10, loadWorkMem>>10)
	if err != nil {
		return fmt.Errorf("dataset: set up transaction: %w", err)
	}
	return nil
}

// inTx runs fn in a READ COMMITTED transaction (COPY FREEZE refuses to run
// under a snapshot older than the statement) and commits it.
func inTx(ctx context.Context, conn *pgx.Conn, fn func(tx pgx.Tx) error) error {
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("dataset: begin: %w", err)
	}
	defer func() {
		// After a cancel the connection may be gone already; the server
		// then rolls back on its own.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		_ = tx.Rollback(rctx)
	}()
	if err := setup(ctx, tx); err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("dataset: commit: %w", err)
	}
	return nil
}

func exec(ctx context.Context, tx pgx.Tx, what, sql string, args ...any) error {
	if _, err := tx.Exec(ctx, sql, args...); err != nil {
		return fmt.Errorf("dataset: %s: %w", what, err)
	}
	return nil
}

// loadStaged builds the tables in a staging schema and moves them into the
// target schema, dropping the old ones there when replace is set:
//
//  1. one transaction creates the staging tables and drops their keys,
//     indexes and foreign keys;
//  2. the connections copy the tables, build their indexes and keys,
//     analyze them and add the foreign keys back, in small steps taken in
//     the order of stagedTasks;
//  3. one transaction moves the tables into place.
//
// Nothing is visible outside the staging schema before the last step
// commits, and a failure anywhere drops the staging schema.
func (l *loader) loadStaged(ctx context.Context, replace bool) (res Result, err error) {
	if err := l.dropLeftovers(ctx); err != nil {
		return res, err
	}
	staging := stagingPrefix + strconv.FormatUint(uint64(l.conn.PgConn().PID()), 10)
	defer func() {
		if err != nil {
			l.dropStaging(ctx, staging)
		}
	}()

	// The other connections open while the first creates the tables.
	extra := make(chan []*pgx.Conn, 1)
	go func() { extra <- l.connectMore(ctx) }()
	var more []*pgx.Conn
	received := false
	defer func() {
		if !received {
			more = <-extra
		}
		for _, c := range more {
			c.Close(context.WithoutCancel(ctx))
		}
	}()

	var defs definitions
	err = inTx(ctx, l.conn, func(tx pgx.Tx) error {
		if err := exec(ctx, tx, "create staging schema (the role needs CREATE on the database)",
			"CREATE SCHEMA "+pgx.Identifier{staging}.Sanitize()); err != nil {
			return err
		}
		if err := exec(ctx, tx, "set search_path", "SELECT set_config('search_path', $1, true)", pgx.Identifier{staging}.Sanitize()); err != nil {
			return err
		}
		if err := exec(ctx, tx, "create schema", hishamosperf.HishamOSSchema); err != nil {
			return err
		}
		var err error
		if defs, err = readDefinitions(ctx, tx, l.qualifiedAll(staging, tableSpecs)); err != nil {
			return err
		}
		for _, d := range defs.drops() {
			if err := exec(ctx, tx, "drop "+d.name+" before loading", d.drop); err != nil {
				return err
			}
		}
		// A table's copy commits seconds before its indexes, VACUUM and
		// foreign keys are done, with its inserts flushed to the
		// statistics: autovacuum would pick it up and hold up the next
		// step, until the deadlock check cancels it a second later.
		// schema.sql sets no storage parameters, so the swap resets it.
		for _, t := range tableSpecs {
			if err := exec(ctx, tx, "keep autovacuum off "+t.name,
				"ALTER TABLE "+qualified(staging, t.name)+" SET (autovacuum_enabled = off)"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return res, err
	}

	more, received = <-extra, true
	conns := append([]*pgx.Conn{l.conn}, more...)
	res.Connections = len(conns)
	l.prog.workers(len(conns))
	var mu sync.Mutex // guards res
	sched := newScheduler(l.stagedTasks(staging, defs, func(st stats) {
		mu.Lock()
		defer mu.Unlock()
		res.add(st)
	}))
	if err := sched.run(ctx, conns, func(worker int) { l.prog.phase(worker, phaseDone, "") }); err != nil {
		return res, err
	}
	res.Tables = res.inLoadOrder()

	t0 := time.Now()
	err = inTx(ctx, l.conn, func(tx pgx.Tx) error {
		if replace {
			present, _, err := l.inspect(ctx, tx)
			if err != nil {
				return err
			}
			if len(present) > 0 {
				q := make([]string, len(present))
				for i, t := range present {
					q[i] = qualified(l.target, t)
				}
				if err := exec(ctx, tx, "drop old tables", "DROP TABLE "+strings.Join(q, ", ")); err != nil {
					return err
				}
			}
		}
		for _, t := range tableSpecs {
			err := exec(ctx, tx, "move "+t.name+" into place",
				"ALTER TABLE "+qualified(staging, t.name)+" RESET (autovacuum_enabled); "+
					"ALTER TABLE "+qualified(staging, t.name)+" SET SCHEMA "+pgx.Identifier{l.target}.Sanitize())
			if err != nil {
				return err
			}
		}
		if err := exec(ctx, tx, "drop staging schema", "DROP SCHEMA "+pgx.Identifier{staging}.Sanitize()); err != nil {
			return err
		}
		return l.setSequences(ctx, tx, res.Tables)
	})
	res.ConstraintDuration += time.Since(t0)
	return res, err
}

// parallel runs fn on every connection at once and returns the first
// error; the first failure cancels the others.
func parallel(ctx context.Context, conns []*pgx.Conn, fn func(ctx context.Context, conn *pgx.Conn, worker int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for i, c := range conns {
		wg.Go(func() {
			if err := fn(ctx, c, i); err != nil {
				once.Do(func() {
					first = err
					cancel()
				})
			}
		})
	}
	wg.Wait()
	return first
}

// dropLeftovers drops the staging schemas of loads that were killed before
// they could clean up. It runs under the load lock, so no live load owns
// one.
func (l *loader) dropLeftovers(ctx context.Context) error {
	rows, err := l.conn.Query(ctx, `SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)`, stagingPrefix)
	if err != nil {
		return fmt.Errorf("dataset: look for staging schemas: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("dataset: look for staging schemas: %w", err)
	}
	for _, n := range names {
		if _, err := l.conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{n}.Sanitize()+" CASCADE"); err != nil {
			return fmt.Errorf("dataset: drop staging schema %s left by an earlier load: %w", n, err)
		}
	}
	return nil
}

// dropStaging removes the staging schema after a failure, on a connection of
// its own if the load's was lost to a cancel.
func (l *loader) dropStaging(ctx context.Context, staging string) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	conn := l.conn
	if conn.IsClosed() {
		c, err := pgx.ConnectConfig(cctx, l.conn.Config())
		if err != nil {
			return // the next load drops it
		}
		defer c.Close(cctx)
		conn = c
	}
	_, _ = conn.Exec(cctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{staging}.Sanitize()+" CASCADE")
}

// loadInPlace fills the existing, empty tables in one transaction, keeping
// the indexes and constraints they have. After the commit it vacuums and
// analyzes them again, so that autovacuum finds nothing left to do; that
// last step is best effort: the load is complete without it.
func (l *loader) loadInPlace(ctx context.Context) (Result, error) {
	res := Result{Connections: 1}
	l.prog.workers(1)
	names := l.qualifiedAll(l.target, tableSpecs)
	err := inTx(ctx, l.conn, func(tx pgx.Tx) error {
		// Nobody writes to the tables until the load commits, and rows that
		// arrived since the first look stop it.
		if err := exec(ctx, tx, "lock tables", "LOCK TABLE "+strings.Join(names, ", ")+" IN ACCESS EXCLUSIVE MODE"); err != nil {
			return err
		}
		if _, full, err := l.inspect(ctx, tx); err != nil {
			return err
		} else if full != "" {
			return notEmpty(full)
		}
		// Truncating makes COPY FREEZE possible, unless a table outside the
		// set references these (TRUNCATE would refuse).
		var referenced bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_constraint
			WHERE contype = 'f' AND confrelid = ANY($1::text[]::regclass[]) AND NOT conrelid = ANY($1::text[]::regclass[]))`, names).Scan(&referenced)
		if err != nil {
			return fmt.Errorf("dataset: look for references: %w", err)
		}
		freeze := !referenced
		if freeze {
			if err := exec(ctx, tx, "truncate tables", "TRUNCATE "+strings.Join(names, ", ")); err != nil {
				return err
			}
		}
		defs, err := readDefinitions(ctx, tx, names)
		if err != nil {
			return err
		}
		for _, d := range defs.drops() {
			if err := exec(ctx, tx, "drop "+d.name+" before loading", d.drop); err != nil {
				return err
			}
		}
		for _, t := range tableSpecs {
			st, err := l.fillTable(ctx, tx, 0, l.target, t, defs, freeze)
			if err == nil {
				t0 := time.Now()
				l.prog.phase(0, PhaseAnalyze, t.name)
				err = exec(ctx, tx, "analyze "+t.name, "ANALYZE "+qualified(l.target, t.name))
				st.analyzing = time.Since(t0)
			}
			res.add(st)
			if err != nil {
				return err
			}
		}
		res.Tables = res.inLoadOrder()
		t0 := time.Now()
		for _, d := range defs.foreignKeys() {
			l.prog.phase(0, PhaseConstraints, d.table)
			if err := exec(ctx, tx, "create "+d.name, d.create); err != nil {
				return err
			}
		}
		res.ConstraintDuration = time.Since(t0)
		return l.setSequences(ctx, tx, res.Tables)
	})
	if err != nil {
		return res, err
	}
	_ = l.vacuumAnalyze(ctx, l.conn, strings.Join(names, ", "), true)
	return res, nil
}

// vacuumAnalyze runs VACUUM (ANALYZE) on tables (quoted, comma-separated)
// that a transaction just filled. The statistics it gathers are the ones
// the load leaves; the vacuum, cheap on frozen pages, resets the counters
// of inserted rows that would otherwise send autovacuum over the tables
// right after the load, in the middle of whatever is measured next.
func (l *loader) vacuumAnalyze(ctx context.Context, conn *pgx.Conn, tables string, flush bool) error {
	if flush && l.serverVersion >= 150000 {
		// The committed inserts reach the shared statistics at most once a
		// second; they must land before the vacuum resets them, not after.
		if _, err := conn.Exec(ctx, "SELECT pg_stat_force_next_flush()"); err != nil {
			return fmt.Errorf("dataset: flush statistics: %w", err)
		}
	}
	opts := "ANALYZE"
	if l.serverVersion >= 130000 {
		// With two indexes or more, VACUUM starts parallel workers for
		// their clean-up, and sizes and zeroes shared memory for the dead
		// rows of the whole table: 0.4 s a table at scale medium, to find
		// that frozen pages have none.
		opts += ", PARALLEL 0"
	}
	if _, err := conn.Exec(ctx, "VACUUM ("+opts+") "+tables); err != nil {
		return fmt.Errorf("dataset: vacuum and analyze %s: %w", tables, err)
	}
	return nil
}

// stats is what loading one table took.
type stats struct {
	tables                                    []TableCount
	copying, indexing, analyzing, constraints time.Duration
}

// fillTable copies the rows of t into schema and builds its keys and
// indexes from defs.
func (l *loader) fillTable(ctx context.Context, tx pgx.Tx, worker int, schema string, t tableSpec, defs definitions, freeze bool) (stats, error) {
	var st stats
	t0 := time.Now()
	n, err := l.copyTable(ctx, tx, worker, schema, t, freeze)
	if err != nil {
		return st, err
	}
	st.tables = append(st.tables, TableCount{Table: t.name, Rows: n})
	st.copying = time.Since(t0)

	t0 = time.Now()
	for _, d := range defs.indexes() {
		if d.table == t.name {
			l.prog.phase(worker, PhaseIndexes, d.table)
			if err := exec(ctx, tx, "create "+d.name, d.create); err != nil {
				return st, err
			}
		}
	}
	st.indexing = time.Since(t0)
	return st, nil
}

// setSequences moves each identity sequence past the ids given explicitly,
// so that the application's own inserts do not collide with them.
func (l *loader) setSequences(ctx context.Context, tx pgx.Tx, counts []TableCount) error {
	for _, tc := range counts {
		if tc.Rows == 0 {
			continue
		}
		err := exec(ctx, tx, "set sequence of "+tc.Table,
			"SELECT setval(pg_get_serial_sequence($1, 'id'), $2)", qualified(l.target, tc.Table), tc.Rows)
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *Result) add(st stats) {
	r.Tables = append(r.Tables, st.tables...)
	r.CopyDuration += st.copying
	r.IndexDuration += st.indexing
	r.AnalyzeDuration += st.analyzing
	r.ConstraintDuration += st.constraints
}

func (r *Result) inLoadOrder() []TableCount {
	out := slices.Clone(r.Tables)
	slices.SortFunc(out, func(a, b TableCount) int {
		return slices.Index(Tables(), a.Table) - slices.Index(Tables(), b.Table)
	})
	return out
}

// copyTable streams one table's rows in and returns how many went in.
func (l *loader) copyTable(ctx context.Context, tx pgx.Tx, worker int, schema string, t tableSpec, freeze bool) (int64, error) {
	cols := make([]string, len(t.columns))
	for i, c := range t.columns {
		cols[i] = pgx.Identifier{c}.Sanitize()
	}
	opts := "FORMAT binary"
	if freeze {
		// Rows written frozen need no hint-bit rewrite on first read, and
		// their pages are marked all-visible, so index-only scans work at
		// once, as they would after autovacuum on a production database.
		opts += ", FREEZE"
	}
	sql := "COPY " + qualified(schema, t.name) + " (" + strings.Join(cols, ", ") + ") FROM STDIN (" + opts + ")"
	l.prog.phase(worker, PhaseCopy, t.name)
	src := &copySource{ctx: ctx, gen: t.gen(l.world), prog: l.prog, worker: worker, table: t.name}
	tag, err := tx.Conn().PgConn().CopyFrom(ctx, src, sql)
	if err != nil {
		return 0, fmt.Errorf("dataset: copy %s: %w", t.name, err)
	}
	if n, want := tag.RowsAffected(), t.rows(l.opts.Scale); n != want {
		return n, fmt.Errorf("dataset: copy %s: %d rows went in, want %d", t.name, n, want)
	}
	return tag.RowsAffected(), nil
}

// copySource is the binary COPY stream of one table, generated as pgconn
// reads it: memory stays at one chunk whatever the scale.
type copySource struct {
	ctx    context.Context
	gen    rowGen
	prog   *progress
	worker int
	table  string

	buf     []byte
	off     int
	started bool
	done    bool
}

func (s *copySource) Read(p []byte) (int, error) {
	if s.off == len(s.buf) {
		if s.done {
			return 0, io.EOF
		}
		if err := s.ctx.Err(); err != nil {
			return 0, err
		}
		s.fill(max(len(p), copyChunk))
	}
	n := copy(p, s.buf[s.off:])
	s.off += n
	return n, nil
}

// fill generates about size bytes of rows into buf.
func (s *copySource) fill(size int) {
	if s.buf == nil {
		s.buf = make([]byte, 0, size+size/4)
	}
	s.buf, s.off = s.buf[:0], 0
	if !s.started {
		s.buf = append(s.buf, copyHeader...)
		s.started = true
	}
	var rows int64
	for len(s.buf) < size {
		var ok bool
		if s.buf, ok = s.gen.appendRow(s.buf); !ok {
			s.buf = append(s.buf, copyTrailer...)
			s.done = true
			break
		}
		rows++
	}
	s.prog.rows(s.worker, s.table, rows)
}

// phaseDone marks a connection that has finished its share.
const phaseDone = "done"

// phaseOrder ranks the phases; the load as a whole is in the earliest phase
// any connection is still in.
var phaseOrder = []string{PhaseCopy, PhaseIndexes, PhaseAnalyze, PhaseConstraints, phaseDone}

// progress throttles calls to Options.Progress and merges the reports of
// the connections.
type progress struct {
	fn func(Progress)

	mu          sync.Mutex
	done, total int64
	phases      []int    // per connection, index into phaseOrder
	tables      []string // per connection
	copying     string   // table that last got rows
	reported    int      // phase last reported, -1 before the first
	entered     int      // latest phase a connection entered, -1 before the first
	last        time.Time
}

func (p *progress) workers(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.phases, p.tables, p.reported, p.entered = make([]int, n), make([]string, n), -1, -1
}

func (p *progress) rows(worker int, table string, n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	p.tables[worker], p.copying = table, table
	p.report(n > 0 && p.done == p.total)
}

func (p *progress) phase(worker int, phase, table string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.phases[worker], p.tables[worker] = slices.Index(phaseOrder, phase), table
	if phase != phaseDone {
		p.entered = max(p.entered, p.phases[worker])
	}
	if phase == PhaseCopy {
		p.copying = table
	}
	p.report(false)
}

// report calls fn, at most every progressEvery unless force is set or the
// load's phase moved on. The load is copying until every row is in (the
// connections copy and index by turns); then it is in the earliest phase a
// connection is still in, or the latest it reported. The caller holds mu.
func (p *progress) report(force bool) {
	if p.fn == nil {
		return
	}
	phase, table := 0, p.copying
	if p.done >= p.total {
		w := 0
		for i, ph := range p.phases {
			if ph < p.phases[w] {
				w = i
			}
		}
		phase, table = p.phases[w], p.tables[w]
		if phaseOrder[phase] == phaseDone {
			// All connections are done. A phase one of them went
			// through while another was still behind was never the
			// load's: report the latest once, so that none is skipped
			// (the last, foreign keys, was when its connection finished
			// before the other left VACUUM).
			if p.entered <= p.reported {
				return
			}
			phase, table = p.entered, ""
		}
		// A connection that took an earlier step of another table (an
		// index after another's VACUUM) does not take the load back.
		phase = max(phase, p.reported)
	}
	now := time.Now()
	if !force && phase == p.reported && now.Sub(p.last) < progressEvery {
		return
	}
	p.last, p.reported = now, phase
	p.fn(Progress{Phase: phaseOrder[phase], Table: table, RowsDone: p.done, RowsTotal: p.total})
}

// connectMore opens the connections a staged load uses beside its own:
// none for a small load, loadConnections-1 for a bigger one, fewer if the
// server is out of connection slots (the load then runs on what it has).
func (l *loader) connectMore(ctx context.Context) []*pgx.Conn {
	if l.opts.Scale.Total() < parallelMinRows {
		return nil
	}
	var (
		mu  sync.Mutex
		out []*pgx.Conn
		wg  sync.WaitGroup
	)
	for range loadConnections - 1 {
		wg.Go(func() {
			c, err := pgx.ConnectConfig(ctx, l.conn.Config())
			if err != nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			out = append(out, c)
		})
	}
	wg.Wait()
	return out
}

// Estimated server time per unit of work, in microseconds, measured on
// PostgreSQL 15: they only rank the tasks of a load, so being off by a
// factor changes little.
const (
	copyMicrosPerByte    = 0.02 // COPY of binary rows, jsonb parsing included
	indexMicrosPerRow    = 1.0  // one btree build
	analyzeMicrosPerRow  = 0.8  // VACUUM (ANALYZE) of freshly frozen rows
	validateMicrosPerRow = 0.4  // the anti-join that checks a foreign key
	ddlMicros            = 2000 // a statement that touches only the catalog
)

// stagedTasks returns the steps of a staged load and their order:
//
//   - copy a table: truncate it (which lets COPY FREEZE it and, at
//     wal_level minimal, skip the WAL) and copy its rows, in one
//     transaction;
//   - build each of its indexes, those of keys included, each in a
//     transaction of its own, so that two connections can build two
//     indexes of one table at once; then turn the keys' indexes into the
//     constraints;
//   - VACUUM (ANALYZE) it: statistics, and nothing left for autovacuum;
//   - once it and the table it references are indexed, add each foreign
//     key NOT VALID, then validate it: validating takes weaker locks than
//     adding a checked key, so that keys to one parent are checked at once.
//
// add receives what each step took, for the Result.
func (l *loader) stagedTasks(staging string, defs definitions, add func(stats)) []*task {
	var tasks []*task
	newTask := func(t *task) *task {
		tasks = append(tasks, t)
		return t
	}
	timed := func(phase string, f func(ctx context.Context, conn *pgx.Conn) error) func(ctx context.Context, conn *pgx.Conn, worker int) error {
		return func(ctx context.Context, conn *pgx.Conn, worker int) error {
			t0 := time.Now()
			err := f(ctx, conn)
			d := time.Since(t0)
			switch phase {
			case PhaseIndexes:
				add(stats{indexing: d})
			case PhaseAnalyze:
				add(stats{analyzing: d})
			case PhaseConstraints:
				add(stats{constraints: d})
			}
			return err
		}
	}
	ddl := func(what, sql string) func(ctx context.Context, conn *pgx.Conn) error {
		return func(ctx context.Context, conn *pgx.Conn) error {
			return inTx(ctx, conn, func(tx pgx.Tx) error { return exec(ctx, tx, what, sql) })
		}
	}

	ready := map[string]*task{}   // per table: its indexes and keys are built
	settled := map[string]*task{} // per table: analyzed too
	for _, t := range tableSpecs {
		rows := t.rows(l.opts.Scale)
		excl := []tableLock{{table: t.name}}
		cp := newTask(&task{table: t.name, phase: PhaseCopy, cost: float64(rows*t.rowBytes) * copyMicrosPerByte, locks: excl,
			run: func(ctx context.Context, conn *pgx.Conn, worker int) error {
				t0 := time.Now()
				var n int64
				l.prog.phase(worker, PhaseCopy, t.name)
				err := inTx(ctx, conn, func(tx pgx.Tx) error {
					if err := exec(ctx, tx, "truncate "+t.name, "TRUNCATE "+qualified(staging, t.name)); err != nil {
						return err
					}
					var err error
					n, err = l.copyTable(ctx, tx, worker, staging, t, true)
					return err
				})
				if err == nil && l.serverVersion >= 150000 {
					// The inserts reach the shared statistics at most
					// once a second; they must land before the VACUUM,
					// which may run on another connection, resets them.
					if _, ferr := conn.Exec(ctx, "SELECT pg_stat_force_next_flush()"); ferr != nil {
						err = fmt.Errorf("dataset: flush statistics: %w", ferr)
					}
				}
				add(stats{tables: []TableCount{{Table: t.name, Rows: n}}, copying: time.Since(t0)})
				return err
			}})

		var builds []*task
		var attach []string
		for _, d := range defs.indexes() {
			if d.table != t.name {
				continue
			}
			sql, locks := d.create, excl
			if d.index != "" {
				sql, locks = d.index, []tableLock{{table: t.name, shared: true}}
				attach = append(attach, d.attach)
			} else if d.kind == 'i' {
				locks = []tableLock{{table: t.name, shared: true}}
			}
			builds = append(builds, newTask(&task{table: t.name, phase: PhaseIndexes, cost: float64(rows) * indexMicrosPerRow, locks: locks,
				run: timed(PhaseIndexes, func(ctx context.Context, conn *pgx.Conn) error {
					return ddl("create "+d.name, sql)(ctx, conn)
				})}).after(cp))
		}
		done := newTask(&task{table: t.name, phase: PhaseIndexes, cost: ddlMicros, locks: excl,
			run: timed(PhaseIndexes, func(ctx context.Context, conn *pgx.Conn) error {
				if len(attach) == 0 {
					return nil
				}
				return ddl("add the keys of "+t.name, strings.Join(attach, "; "))(ctx, conn)
			})}).after(builds...).after(cp)
		ready[t.name] = done
		settled[t.name] = newTask(&task{table: t.name, phase: PhaseAnalyze, cost: float64(rows)*analyzeMicrosPerRow + ddlMicros, locks: excl,
			run: timed(PhaseAnalyze, func(ctx context.Context, conn *pgx.Conn) error {
				return l.vacuumAnalyze(ctx, conn, qualified(staging, t.name), false)
			})}).after(done)
	}

	for _, d := range defs.foreignKeys() {
		added := newTask(&task{table: d.table, phase: PhaseConstraints, cost: ddlMicros,
			locks: []tableLock{{table: d.table}, {table: d.parent}},
			run: timed(PhaseConstraints, func(ctx context.Context, conn *pgx.Conn) error {
				return ddl("create "+d.name, d.addNotValid)(ctx, conn)
			})}).after(settled[d.table], ready[d.parent])
		newTask(&task{table: d.table, phase: PhaseConstraints, cost: float64(l.opts.Scale.Rows(d.table)) * validateMicrosPerRow,
			locks: []tableLock{{table: d.table}},
			run: timed(PhaseConstraints, func(ctx context.Context, conn *pgx.Conn) error {
				if d.verify == "" {
					return nil
				}
				return ddl("validate "+d.name, d.verify)(ctx, conn)
			})}).after(added)
	}
	for _, t := range tasks {
		if t.phase != PhaseCopy {
			run := t.run
			t.run = func(ctx context.Context, conn *pgx.Conn, worker int) error {
				l.prog.phase(worker, t.phase, t.table)
				return run(ctx, conn, worker)
			}
		}
	}
	return tasks
}
