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

	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
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
	// Parent is set when Table is a partition of a partitioned index's
	// sequence: the partitioned table, and Done how far its index is (the
	// partitions built before keep their index).
	Parent string
	Done   *PartitionProgress
	Err    error
}

// Error names the first holder and says whether anything is left.
func (e *LockTimeoutError) Error() string {
	what := e.Table
	if e.Parent != "" {
		what = "partition " + e.Table + " of " + e.Parent
	}
	msg := fmt.Sprintf("migrate: %s: gave up on %s after %d attempts: %v", e.File, what, e.Attempts, errText(e.Err))
	if len(e.Holders) > 0 {
		msg += "; blocked by " + e.Holders[0].String()
		if len(e.Holders) > 1 {
			msg += fmt.Sprintf(" (and %d more)", len(e.Holders)-1)
		}
	}
	switch {
	case e.Leftover != "":
		msg += fmt.Sprintf("; INVALID index %s is left, its drop waits for the same sessions: run apply again once they are done (it drops the leftover first), or `migrate repair`", e.Leftover)
	case e.Done != nil:
		msg += fmt.Sprintf("; nothing was left half-built, and %s of %s have their index, kept: run apply again once that session is done, it goes on from there", e.Done, e.Parent)
	default:
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
	// stmts are the file's statements, classified when it was read.
	stmts []Statement
	// statements is the log of what ran, for the result.
	built   []string
	skipped []string
	dropped []string
	// parts is the file's partitioned sequence (root nil for a file that
	// has none); skipParts the partition steps not run, with why, and
	// partsDone is set when the partitioned index was there, valid, before
	// the file ran.
	parts     *fileParts
	skipParts map[indexdef.Name]string
	partsDone bool
	// progress is the partitions done last reported.
	progress PartitionProgress
}

// startFile points the driver at the next file.
func (d *driver) startFile(file string, stmts []Statement) {
	d.file, d.stmts, d.built, d.skipped = file, stmts, nil, nil
	d.parts, d.skipParts, d.partsDone, d.progress = partsOf(stmts), map[indexdef.Name]string{}, false, PartitionProgress{}
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
	p, err := d.parsed(query)
	if err != nil {
		return nil, fmt.Errorf("migrate: %s: %w", d.file, err)
	}
	switch {
	case p.Index != nil && p.Index.Only && !d.inTx:
		return result{}, d.createOnly(ctx, p.Index, query)
	case p.Index != nil && p.Concurrently && !d.inTx && d.parts.step(p.Index):
		return result{}, d.buildPartition(ctx, p.Index, query)
	case p.Index != nil && p.Concurrently && !d.inTx:
		return result{}, d.build(ctx, p.Index, query)
	case p.Kind == sqlscan.KindAttachPartition && len(p.Relations) == 2 && !d.inTx:
		return result{}, d.attach(ctx, p.Relations[0], p.Relations[1], query)
	case p.Kind == sqlscan.KindDropIndex && p.Concurrently && !d.inTx:
		names := make([]string, len(p.DropIndexes))
		for i, n := range p.DropIndexes {
			names[i] = n.String()
		}
		return result{}, d.drop(ctx, query, names)
	case p.Kind == sqlscan.KindDropIndex && !d.inTx:
		return result{}, d.dropBlocking(ctx, query, p.DropIndexes)
	}
	tag, err := d.execRetry(ctx, query, "")
	return result{n: tag.RowsAffected()}, err
}

// parsed is the classification of a statement Atlas's executor runs: the
// one made when the file was read (Atlas's scanner split it the same way),
// else asked again.
func (d *driver) parsed(query string) (*sqlscan.Parsed, error) {
	for _, s := range d.stmts {
		if s.SQL == query {
			return s.Parsed()
		}
	}
	return classify(query)
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
// Each attempt waits first for the transactions writing to the table (see
// waitForWriters), then drops an INVALID leftover of the index's name
// (an earlier build's, or its own last attempt's), then builds. A lock
// timeout or a deadlock at any of the three is retried under the retry
// policy; on every way out (giving up, an interruption, another error) the
// attempt's INVALID index is dropped when it can be, and named with the
// sessions in its way when it cannot.
func (d *driver) build(ctx context.Context, def *indexdef.Def, stmt string) error {
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
	// left names an INVALID index of this name that is still there.
	left := ""
	if existing != nil {
		if !existing.Valid || !existing.Ready {
			d.observe(Event{Kind: EventDropInvalid, Index: def.Name, Message: "dropping the INVALID leftover of an earlier build: " + existing.Definition})
			left = def.Name
		} else {
			same, why, err := sameDefinition(ctx, d.conn, existing, def)
			if err != nil {
				return err
			}
			if !same {
				return &ConflictError{File: d.file, Index: def.Name, Existing: existing.Definition, Why: why}
			}
			msg := "a valid index with this definition exists: marking the file applied"
			if d.parts.step(def) {
				msg = "built already, valid and as the file says: kept"
			}
			d.observe(Event{Kind: EventSkip, Index: def.Name, Message: msg})
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
		err := d.attempt(ctx, def, stmt, &left)
		if err == nil {
			break
		}
		var we *writersError
		if !errors.As(err, &we) && !retryable(err) {
			return err
		}
		if attempt > d.opts.Retries {
			if left != "" {
				left = d.cleanup(def)
			}
			hs := []Holder(nil)
			if we != nil {
				hs = we.holders
			} else {
				hs, _ = tableHolders(context.WithoutCancel(ctx), d.conn, table)
			}
			return &LockTimeoutError{File: d.file, Index: def.Name, Table: table, Attempts: attempt, Holders: hs, Leftover: left, Err: err}
		}
		wait := backoff(attempt, d.opts.Backoff, d.opts.MaxBackoff)
		d.observe(Event{Kind: EventRetry, Index: def.Name, Attempt: attempt, Wait: wait,
			Message: fmt.Sprintf("%s; retry %d of %d in %s", errText(err), attempt, d.opts.Retries, wait.Round(time.Millisecond))})
		if err := sleep(ctx, wait); err != nil {
			return d.interrupted(def, left, err)
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

// attempt is one try at a build: the wait for writers, the drop of the
// leftover *left names (cleared once it is gone), the build. It returns
// nil when the index is built; a *writersError or a lock timeout or
// deadlock for build to retry, with *left naming what the try left; any
// other error final, with the leftover dropped when it can be.
func (d *driver) attempt(ctx context.Context, def *indexdef.Def, stmt string, left *string) error {
	if err := d.waitForWriters(ctx, def); err != nil {
		if ctx.Err() != nil {
			return d.interrupted(def, *left, err)
		}
		return err
	}
	if *left != "" {
		if _, err := d.exec(ctx, "DROP INDEX CONCURRENTLY IF EXISTS "+def.QualifiedName()); err != nil {
			if ctx.Err() != nil {
				return d.interrupted(def, *left, err)
			}
			if retryable(err) {
				return err
			}
			return fmt.Errorf("migrate: %s: drop INVALID leftover %s: %w", d.file, def.Name, err)
		}
		d.dropped = append(d.dropped, def.Name)
		*left = ""
	}
	stop := d.watch(ctx, def)
	_, err := d.exec(ctx, stmt)
	stop()
	switch {
	case err == nil:
		return nil
	case d.conn.IsClosed():
		// The session is gone (killed, or the server restarted). A new
		// one drops the INVALID index the build left when the server is
		// back soon enough; else the next apply drops it before building
		// again.
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
	case ctx.Err() != nil:
		return d.interrupted(def, def.Name, err)
	case retryable(err):
		// A lock timeout after the index entered the catalog (waiting for
		// older transactions) leaves it INVALID: drop it now when the
		// sessions in the way allow, else at the next attempt's start.
		*left = d.cleanup(def)
		return err
	}
	text := strings.TrimSuffix(errText(err), ".")
	left2 := "nothing was left behind"
	if name := d.cleanup(def); name != "" {
		left2 = "INVALID index " + name + " is left: run `migrate repair`"
	}
	msg := fmt.Sprintf("migrate: %s: build %s (%s): %s", d.file, def.Name, left2, text)
	// A missing privilege is told with the statement that grants it, once:
	// pg.PrivilegeError marks the error so that nothing adds it again.
	return pg.PrivilegeError(&causeError{err: err, msg: msg}, d.conn.Config().User, "CREATE")
}

// interrupted is what a build stopped by its context returns: err, after
// the attempt's INVALID index (when left names one) is dropped, or a
// *LeftoverError naming it and the sessions its drop waits for when it
// cannot be.
func (d *driver) interrupted(def *indexdef.Def, left string, err error) error {
	if left == "" {
		return err
	}
	if left = d.cleanup(def); left == "" {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	hs, _ := tableHolders(ctx, d.conn, def.QualifiedTable())
	return &LeftoverError{File: d.file, Index: left, Holders: hs, Err: err}
}

// LeftoverError is a build stopped (interrupted) whose INVALID index could
// not be dropped on the way out: its DROP INDEX CONCURRENTLY waits for the
// same sessions the build waited for.
type LeftoverError struct {
	File, Index string
	Holders     []Holder
	Err         error
}

// Error names the index left and who is in the way of its drop.
func (e *LeftoverError) Error() string {
	msg := fmt.Sprintf("migrate: %s: %v; INVALID index %s is left", e.File, e.Err, e.Index)
	if len(e.Holders) > 0 {
		msg += ", its drop waits for " + e.Holders[0].String()
	}
	return msg + ": run apply again once that is done (it drops the leftover first), or `migrate repair`"
}

// Unwrap returns why the build stopped (a context error).
func (e *LeftoverError) Unwrap() error { return e.Err }

// writersError is an attempt that gave up waiting for the transactions
// writing to the table: nothing was built, nothing is left.
type writersError struct {
	table   string
	waited  time.Duration
	holders []Holder
}

func (e *writersError) Error() string {
	return fmt.Sprintf("%d transaction(s) writing to %s still open after %s", len(e.holders), e.table, e.waited.Round(time.Millisecond))
}

// writerPollMin and writerPollMax bound the interval at which
// waitForWriters looks for the writers it waits for.
const (
	writerPollMin = 10 * time.Millisecond
	writerPollMax = 250 * time.Millisecond
)

// waitForWriters waits, for at most the session's lock_timeout, until the
// transactions that hold a write lock (ROW EXCLUSIVE) on the table when it
// starts have ended. CREATE INDEX CONCURRENTLY waits for them too, but
// only once its INVALID index is in the catalog, where a lock timeout
// leaves it behind and its DROP waits for the same writers; waiting here
// first leaves nothing. Writers that start meanwhile are not waited for,
// as the build does not wait for them: a busy table's short transactions
// do not hold the build back. It names the writers in an event whatever
// their age, and returns a *writersError with those still open when it
// gives up.
func (d *driver) waitForWriters(ctx context.Context, def *indexdef.Def) error {
	table := def.QualifiedTable()
	const writers = `FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
	WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_backend_pid()
	  AND l.relation = to_regclass($1) AND l.mode = 'RowExclusiveLock'`
	var vxids []string
	if err := d.conn.QueryRow(ctx, `SELECT coalesce(array_agg(DISTINCT l.virtualtransaction), '{}') `+writers, table).Scan(&vxids); err != nil {
		return fmt.Errorf("migrate: %s: look up the transactions writing to %s: %w", d.file, table, err)
	}
	if len(vxids) == 0 {
		return nil
	}
	named := func() []Holder {
		rows, err := d.conn.Query(ctx, `SELECT `+holderColumns+`, l.mode `+writers+` AND l.virtualtransaction = ANY($2) ORDER BY a.xact_start`, table, vxids)
		if err != nil {
			return nil
		}
		hs, _ := scanHolders(rows, true)
		return hs
	}
	for _, h := range named() {
		h := h
		d.observe(Event{Kind: EventLongTransaction, Index: def.Name, Holder: &h,
			Message: "waiting, before the build starts, for this transaction writing to " + table + " to end: " + h.String()})
	}
	start := time.Now()
	interval := writerPollMin
	for {
		if err := sleep(ctx, jitter(interval)); err != nil {
			return err
		}
		var open int
		if err := d.conn.QueryRow(ctx, `SELECT count(DISTINCT l.virtualtransaction) `+writers+` AND l.virtualtransaction = ANY($2)`, table, vxids).Scan(&open); err != nil {
			return fmt.Errorf("migrate: %s: look up the transactions writing to %s: %w", d.file, table, err)
		}
		if open == 0 {
			return nil
		}
		if waited := time.Since(start); waited >= d.opts.LockTimeout {
			return &writersError{table: table, waited: waited, holders: named()}
		}
		interval = min(interval*2, writerPollMax)
	}
}

// dropLeftover drops an INVALID index of the def's name, concurrently.
func (d *driver) dropLeftover(ctx context.Context, def *indexdef.Def) error {
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
func (d *driver) cleanup(def *indexdef.Def) string {
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
func (d *driver) cleanupLost(def *indexdef.Def) (left string, found bool) {
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
	if _, err := pinSearchPath(ctx, conn); err != nil {
		return def.Name, true
	}
	// The lost session held the migration lock, and a killed backend
	// gives it up only as it exits, which may take a moment after the
	// connection is gone: try again until then. Still held after that,
	// another applier took over, and it drops leftovers before building.
	for deadline := time.Now().Add(lostCleanupWait); ; {
		var locked bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, LockKey).Scan(&locked); err != nil {
			return def.Name, true
		}
		if locked {
			break
		}
		if time.Now().After(deadline) || sleep(ctx, 100*time.Millisecond) != nil {
			return def.Name, true
		}
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
func (d *driver) watch(ctx context.Context, def *indexdef.Def) func() {
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
