package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hishamos/hishamos-perf/internal/pg"
)

// errUnsupported is what the Driver answers to what Atlas's Executor never
// asks of it (diffing, inspecting, planning).
var errUnsupported = errors.New("migrate: not supported by the hishamos-perf driver")

// MissingTableError is returned when a migration builds an index on a table
// that does not exist.
type MissingTableError struct {
	File, Index, Table string
}

// Error names the file, the index and the missing table.
func (e *MissingTableError) Error() string {
	return fmt.Sprintf("migrate: %s: index %s is on table %s, which does not exist in this database (wrong database, or its own migration has not run yet)",
		e.File, e.Index, e.Table)
}

// ConflictError is returned when an index of the same name exists, valid,
// with another definition: apply will not drop what it did not build.
type ConflictError struct {
	File, Index, Existing, Why string
}

// Error shows both definitions.
func (e *ConflictError) Error() string {
	return fmt.Sprintf("migrate: %s: index %s already exists with another definition (%s): %s; rename one of them or drop the existing index",
		e.File, e.Index, e.Why, e.Existing)
}

// LockTimeoutError is returned when a statement still timed out on a lock
// (or deadlocked) after every retry.
type LockTimeoutError struct {
	File, Index, Table string
	Attempts           int
	Holders            []Holder
	// Leftover names an INVALID index the failed build left and that could
	// not be dropped (its DROP waits for the same holders); empty when
	// nothing is left.
	Leftover string
	Err      error
}

// Error names the first holder and says whether anything is left.
func (e *LockTimeoutError) Error() string {
	msg := fmt.Sprintf("migrate: %s: gave up on %s after %d attempts: %v", e.File, e.Table, e.Attempts, errText(e.Err))
	if len(e.Holders) > 0 {
		msg += "; blocked by " + e.Holders[0].String()
		if len(e.Holders) > 1 {
			msg += fmt.Sprintf(" (and %d more)", len(e.Holders)-1)
		}
	}
	if e.Leftover != "" {
		msg += fmt.Sprintf("; INVALID index %s is left: run `migrate repair` once the holder is done", e.Leftover)
	} else {
		msg += "; nothing was changed"
	}
	return msg
}

// Unwrap returns the last lock timeout or deadlock.
func (e *LockTimeoutError) Unwrap() error { return e.Err }

// causeError is a message written for the user (a PostgreSQL error's text
// with what was done about it) that still unwraps to the error underneath,
// so the CLI can tell a database failure (exit code 3) from bad input.
type causeError struct {
	msg string
	err error
}

// Error is the message for the user.
func (e *causeError) Error() string { return e.msg }

// Unwrap returns the server's or the connection's error.
func (e *causeError) Unwrap() error { return e.err }

// errText is a PostgreSQL error's message with its code, hint and detail.
func errText(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		s := pgErr.Message + " (SQLSTATE " + pgErr.Code + ")"
		if pgErr.Detail != "" {
			s += "; detail: " + pgErr.Detail
		}
		if pgErr.Hint != "" {
			s += "; hint: " + pgErr.Hint
		}
		return s
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

// driver is the migrate.Driver Atlas's Executor runs files through. It
// executes on the one pinned connection and turns each CREATE INDEX
// CONCURRENTLY into a careful build; Atlas's Executor itself needs only
// ExecContext (and CheckClean on a first run) from it.
type driver struct {
	conn *pgx.Conn
	opts *ApplyOptions
	file string // the file being executed, for events and errors
	inTx bool   // the file runs in a transaction: no retries, no cleanup
	// statements is the log of what ran, for the result.
	built   []string
	skipped []string
	dropped []string
}

var _ migrate.Driver = (*driver)(nil)

func (d *driver) observe(e Event) {
	if d.opts.Observer != nil {
		e.File = d.file
		d.opts.Observer(e)
	}
}

// result is the sql.Result of ExecContext.
type result struct{ n int64 }

func (r result) LastInsertId() (int64, error) { return 0, errUnsupported }
func (r result) RowsAffected() (int64, error) { return r.n, nil }

// ExecContext implements schema.ExecQuerier: the one method that runs the
// migration's statements.
func (d *driver) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if len(args) > 0 {
		return nil, errUnsupported
	}
	c, err := Classify(query)
	if err != nil {
		return nil, fmt.Errorf("migrate: %s: %w", d.file, err)
	}
	switch {
	case c.Kind == StmtCreateIndex && c.Index != nil && c.Index.Concurrently && !d.inTx:
		return result{}, d.build(ctx, c.Index, query)
	case c.Kind == StmtDropIndex && c.DropConcurrently && !d.inTx:
		return result{}, d.drop(ctx, query, c.DropNames)
	}
	tag, err := d.execRetry(ctx, query, "")
	return result{n: tag.RowsAffected()}, err
}

// execRetry runs a statement, retrying lock timeouts and deadlocks outside
// a transaction.
func (d *driver) execRetry(ctx context.Context, query, table string) (pgconn.CommandTag, error) {
	for attempt := 1; ; attempt++ {
		tag, err := d.exec(ctx, query)
		if err == nil || d.inTx || !retryable(err) || ctx.Err() != nil {
			return tag, err
		}
		if attempt > d.opts.Retries {
			var hs []Holder
			if table != "" {
				hs, _ = tableHolders(ctx, d.conn, table)
			}
			return tag, &LockTimeoutError{File: d.file, Table: table, Attempts: attempt, Holders: hs, Err: err}
		}
		wait := backoff(attempt, d.opts.Backoff, d.opts.MaxBackoff)
		d.observe(Event{Kind: EventRetry, Message: fmt.Sprintf("%s; retry %d of %d in %s", errText(err), attempt, d.opts.Retries, wait.Round(time.Millisecond)), Attempt: attempt, Wait: wait})
		if err := sleep(ctx, wait); err != nil {
			return tag, err
		}
	}
}

// exec runs one statement so that cancelling ctx cancels the statement on
// the server (a cancel request) instead of dropping the connection: the
// session survives to clean up after itself.
func (d *driver) exec(ctx context.Context, query string) (pgconn.CommandTag, error) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		select {
		case <-ctx.Done():
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			d.conn.PgConn().CancelRequest(cctx)
		case <-done:
		}
	}()
	tag, err := d.conn.Exec(context.WithoutCancel(ctx), query)
	close(done)
	<-stopped
	if err != nil && ctx.Err() != nil {
		return tag, fmt.Errorf("%w (%v)", ctx.Err(), errText(err))
	}
	return tag, err
}

// build runs one CREATE INDEX CONCURRENTLY with everything around it.
func (d *driver) build(ctx context.Context, def *IndexDef, stmt string) error {
	table := def.QualifiedTable()
	if ok, err := tableExists(ctx, d.conn, table); err != nil {
		return err
	} else if !ok {
		return &MissingTableError{File: d.file, Index: def.Name, Table: table}
	}
	existing, err := findIndex(ctx, d.conn, def)
	if err != nil {
		return err
	}
	if existing != nil {
		if !existing.Valid || !existing.Ready {
			d.observe(Event{Kind: EventDropInvalid, Index: def.Name, Message: "dropping the INVALID leftover of an earlier build: " + existing.Definition})
			if err := d.dropLeftover(ctx, def); err != nil {
				return err
			}
		} else {
			same, why, err := sameDefinition(ctx, d.conn, existing, def)
			if err != nil {
				return err
			}
			if !same {
				return &ConflictError{File: d.file, Index: def.Name, Existing: existing.Definition, Why: why}
			}
			d.observe(Event{Kind: EventSkip, Index: def.Name, Message: "a valid index with this definition exists: marking the file applied"})
			d.skipped = append(d.skipped, def.Name)
			return nil
		}
	}
	if hs, err := longTransactions(ctx, d.conn, d.opts.LongTransaction); err == nil {
		for _, h := range hs {
			h := h
			d.observe(Event{Kind: EventLongTransaction, Index: def.Name, Holder: &h,
				Message: "the build waits for this open transaction to end: " + h.String()})
		}
	}
	d.observe(Event{Kind: EventBuild, Index: def.Name, Message: stmt})
	start := time.Now()
	for attempt := 1; ; attempt++ {
		stop := d.watch(ctx, def)
		_, err := d.exec(ctx, stmt)
		stop()
		if err == nil {
			break
		}
		if d.conn.IsClosed() {
			// The session is gone (killed, or the server restarted). A new
			// one drops the INVALID index the build left when the server
			// is back soon enough; else the next apply drops it before
			// building again.
			msg := fmt.Sprintf("migrate: %s: build of %s interrupted, the connection is lost: %v", d.file, def.Name, errText(err))
			switch left, found := d.cleanupLost(def); {
			case left != "":
				msg += "; an INVALID index " + left + " may be left (run apply again: it drops it and finishes)"
			case found:
				msg += "; the INVALID index it left was dropped on a new connection (run apply again to finish)"
			default:
				msg += "; nothing was left behind (run apply again to finish)"
			}
			return &causeError{err: err, msg: msg}
		}
		if ctx.Err() != nil {
			d.cleanup(def)
			return err
		}
		if !retryable(err) {
			left := "nothing was left behind"
			if name := d.cleanup(def); name != "" {
				left = "INVALID index " + name + " is left: run `migrate repair`"
			}
			text := strings.TrimSuffix(errText(err), ".")
			if fix, ok := pg.FixFor(err, d.conn.Config().User, "CREATE"); ok {
				return &causeError{err: err, msg: fmt.Sprintf("migrate: %s: build %s: %s: run %s; %s", d.file, def.Name, text, fix, left)}
			}
			return &causeError{err: err, msg: fmt.Sprintf("migrate: %s: build %s: %s; %s", d.file, def.Name, text, left)}
		}
		if attempt > d.opts.Retries {
			hs, _ := tableHolders(ctx, d.conn, table)
			left := d.cleanup(def)
			return &LockTimeoutError{File: d.file, Index: def.Name, Table: table, Attempts: attempt, Holders: hs, Leftover: left, Err: err}
		}
		if left := d.cleanup(def); left != "" {
			return &causeError{err: err, msg: fmt.Sprintf("migrate: %s: build %s: %s; its INVALID leftover could not be dropped: run `migrate repair`", d.file, def.Name, errText(err))}
		}
		wait := backoff(attempt, d.opts.Backoff, d.opts.MaxBackoff)
		d.observe(Event{Kind: EventRetry, Index: def.Name, Attempt: attempt, Wait: wait,
			Message: fmt.Sprintf("%s; retry %d of %d in %s", errText(err), attempt, d.opts.Retries, wait.Round(time.Millisecond))})
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
	built, err := findIndex(ctx, d.conn, def)
	if err != nil {
		return err
	}
	if built == nil || !built.Valid || !built.Ready {
		// IF NOT EXISTS skipped, or the build did not finish: either way
		// the revision must not be written.
		d.cleanup(def)
		return fmt.Errorf("migrate: %s: %s is not valid and ready in pg_index after its build", d.file, def.Name)
	}
	d.built = append(d.built, def.Name)
	d.observe(Event{Kind: EventBuilt, Index: def.Name, Message: fmt.Sprintf("valid and ready in %s", time.Since(start).Round(time.Millisecond)), Took: time.Since(start)})
	return nil
}

// dropLeftover drops an INVALID index of the def's name, concurrently.
func (d *driver) dropLeftover(ctx context.Context, def *IndexDef) error {
	_, err := d.execRetry(ctx, "DROP INDEX CONCURRENTLY IF EXISTS "+def.QualifiedName(), def.QualifiedTable())
	if err != nil {
		return fmt.Errorf("migrate: %s: drop INVALID leftover %s: %w", d.file, def.Name, err)
	}
	d.dropped = append(d.dropped, def.Name)
	return nil
}

// cleanup drops what a failed build left (an INVALID index of its name),
// with a context of its own since the apply's may be cancelled. It returns
// the leftover's name when one is still there.
func (d *driver) cleanup(def *IndexDef) string {
	if d.conn.IsClosed() {
		return def.Name
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	ix, err := findIndex(ctx, d.conn, def)
	if err != nil {
		return def.Name
	}
	if ix == nil {
		return ""
	}
	if ix.Valid && ix.Ready {
		return ""
	}
	if _, err := d.exec(ctx, "DROP INDEX CONCURRENTLY IF EXISTS "+def.QualifiedName()); err != nil {
		return def.Name
	}
	d.observe(Event{Kind: EventDropInvalid, Index: def.Name, Message: "dropped the INVALID index the failed build left"})
	return ""
}

// cleanupLost drops what a build left when its session was lost, on a new
// session of the same configuration, under the migration lock (which the
// lost session released). It tries for lostCleanupWait, long enough for a
// fast restart of the server, and returns the leftover's name when it is
// still there, and whether there was one.
func (d *driver) cleanupLost(def *IndexDef) (left string, found bool) {
	ctx, cancel := context.WithTimeout(context.Background(), lostCleanupWait+cleanupTimeout)
	defer cancel()
	var conn *pgx.Conn
	for deadline := time.Now().Add(lostCleanupWait); ; {
		var err error
		cctx, ccancel := context.WithTimeout(ctx, time.Until(deadline))
		conn, err = pgx.ConnectConfig(cctx, d.conn.Config())
		ccancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) || sleep(ctx, 250*time.Millisecond) != nil {
			return def.Name, true
		}
	}
	defer conn.Close(context.Background())
	if err := setSession(ctx, conn, d.opts.LockTimeout); err != nil {
		return def.Name, true
	}
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, LockKey).Scan(&locked); err != nil || !locked {
		// Another applier took over: it drops leftovers before building.
		return def.Name, true
	}
	defer conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, LockKey)
	ix, err := findIndex(ctx, conn, def)
	switch {
	case err != nil:
		return def.Name, true
	case ix == nil:
		return "", false
	case ix.Valid && ix.Ready:
		// The build had finished when the session was lost.
		return "", false
	}
	other := &driver{conn: conn, opts: d.opts, file: d.file}
	if left = other.cleanup(def); left == "" {
		d.dropped = append(d.dropped, def.Name)
	}
	return left, true
}

// lostCleanupWait is how long cleanupLost tries to reach the server again.
const lostCleanupWait = 5 * time.Second

// cleanupTimeout bounds the clean-up after a failed or cancelled build:
// a DROP INDEX CONCURRENTLY waits for the same transactions the build did.
const cleanupTimeout = 30 * time.Second

// drop runs a DROP INDEX CONCURRENTLY and checks the indexes are gone.
func (d *driver) drop(ctx context.Context, stmt string, names []string) error {
	if _, err := d.execRetry(ctx, stmt, ""); err != nil {
		return fmt.Errorf("migrate: %s: %w", d.file, err)
	}
	for _, n := range names {
		var still bool
		if err := d.conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, n).Scan(&still); err != nil {
			return err
		}
		if still {
			return fmt.Errorf("migrate: %s: %s still exists after DROP INDEX", d.file, n)
		}
		d.dropped = append(d.dropped, n)
	}
	return nil
}

// watch reports the build's progress from pg_stat_progress_create_index
// on the monitor connection, until the returned func is called.
func (d *driver) watch(ctx context.Context, def *IndexDef) func() {
	if d.opts.Monitor == nil || d.opts.Observer == nil {
		return func() {}
	}
	pid := d.conn.PgConn().PID()
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(d.opts.ProgressInterval)
		defer t.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case <-t.C:
			}
			p, err := readProgress(wctx, d.opts.Monitor, pid)
			if err != nil || p == nil {
				continue
			}
			d.observe(Event{Kind: EventProgress, Index: def.Name, Progress: p, Message: p.String()})
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// The rest of migrate.Driver, which Atlas's Executor does not use.

func (d *driver) QueryContext(context.Context, string, ...any) (*sql.Rows, error) {
	return nil, errUnsupported
}
func (d *driver) RealmDiff(_, _ *schema.Realm, _ ...schema.DiffOption) ([]schema.Change, error) {
	return nil, errUnsupported
}
func (d *driver) SchemaDiff(_, _ *schema.Schema, _ ...schema.DiffOption) ([]schema.Change, error) {
	return nil, errUnsupported
}
func (d *driver) TableDiff(_, _ *schema.Table, _ ...schema.DiffOption) ([]schema.Change, error) {
	return nil, errUnsupported
}
func (d *driver) InspectSchema(context.Context, string, *schema.InspectOptions) (*schema.Schema, error) {
	return nil, errUnsupported
}
func (d *driver) InspectRealm(context.Context, *schema.InspectRealmOption) (*schema.Realm, error) {
	return nil, errUnsupported
}
func (d *driver) Lock(context.Context, string, time.Duration) (schema.UnlockFunc, error) {
	return nil, errUnsupported
}
func (d *driver) PlanChanges(context.Context, string, []schema.Change, ...migrate.PlanOption) (*migrate.Plan, error) {
	return nil, errUnsupported
}
func (d *driver) ApplyChanges(context.Context, []schema.Change, ...migrate.PlanOption) error {
	return errUnsupported
}
func (d *driver) Snapshot(context.Context) (migrate.RestoreFunc, error) { return nil, errUnsupported }

// CheckClean implements migrate.CleanChecker: index migrations run on
// databases full of tables, so there is nothing to check.
func (d *driver) CheckClean(context.Context, *migrate.TableIdent) error { return nil }

// ScanStmts implements migrate.StmtScanner with Atlas's PostgreSQL scanner
// (dollar quotes, E” strings, BEGIN ATOMIC bodies).
func (d *driver) ScanStmts(input string) ([]*migrate.Stmt, error) {
	return (&postgres.Driver{}).ScanStmts(input)
}
