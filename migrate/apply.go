package migrate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"ariga.io/atlas/sql/migrate"
	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// EventKind says what an Event reports.
type EventKind string

// The events Apply, Down and Repair report while they work.
const (
	EventLockWait        EventKind = "lock-wait"
	EventFile            EventKind = "file"
	EventBuild           EventKind = "build"
	EventBuilt           EventKind = "built"
	EventSkip            EventKind = "skip"
	EventDropInvalid     EventKind = "drop-invalid"
	EventDrop            EventKind = "drop"
	EventLongTransaction EventKind = "long-transaction"
	EventRetry           EventKind = "retry"
	EventProgress        EventKind = "progress"
)

// Event is something worth telling while a migration runs.
type Event struct {
	Kind    EventKind `json:"kind"`
	File    string    `json:"file,omitempty"`
	Index   string    `json:"index,omitempty"`
	Message string    `json:"message"`
	// Attempt and Wait are set for retries and lock waits.
	Attempt int           `json:"attempt,omitempty"`
	Wait    time.Duration `json:"wait,omitempty"`
	// Took is set when a build is done.
	Took time.Duration `json:"took,omitempty"`
	// Holder is set for a long transaction.
	Holder *Holder `json:"holder,omitempty"`
	// Progress is set for progress events.
	Progress *BuildProgress `json:"progress,omitempty"`
	// Partitions is set for a partitioned index's progress: partitions
	// with their index attached, of all.
	Partitions *PartitionProgress `json:"partitions,omitempty"`
}

// ApplyOptions configure Apply, Down and Repair. Zero values take the
// defaults.
type ApplyOptions struct {
	// N caps the files applied (0: all pending) or the versions taken
	// down (0: one).
	N int
	// DryRun reports what would run and runs nothing.
	DryRun bool
	// Wait is how long to poll for the migration lock.
	Wait time.Duration
	// LockTimeout is the session's lock_timeout.
	LockTimeout time.Duration
	// Retries is how many times a lock timeout or deadlock is retried.
	Retries int
	// Backoff and MaxBackoff bound the jittered wait between retries.
	Backoff, MaxBackoff time.Duration
	// LongTransaction is the age from which open transactions are reported
	// before a build.
	LongTransaction time.Duration
	// RevisionsSchema holds atlas_schema_revisions.
	RevisionsSchema string
	// Operator is written into each revision (tool and version).
	Operator string
	// Observer is told what happens; nil tells no one.
	Observer func(Event)
	// Monitor is a second connection used only to read build progress
	// from pg_stat_progress_create_index; nil reports no progress.
	Monitor pg.Querier
	// ProgressInterval is how often progress is read.
	ProgressInterval time.Duration
	// AllowOtherDDL lets files hold statements other than index ones (a
	// CREATE TABLE, an UPDATE, a DROP TABLE) and CREATE INDEX without
	// CONCURRENTLY, which blocks writes while it builds. Without it such a
	// file is refused, before anything runs, with a *RefusedError.
	AllowOtherDDL bool
	// Replicas are streaming standbys of the server: after each file
	// Apply waits until every one has replayed the file's builds (the
	// primary's WAL insert position once they are done) and shows its
	// indexes valid, and records the revision only then; nil waits for
	// none. Down and Repair do not wait.
	Replicas []Replica
	// ReplicaTimeout bounds each file's wait for the Replicas; past it
	// Apply stops with a *ReplicaLagError and the file's revision is not
	// recorded.
	ReplicaTimeout time.Duration
}

func (o ApplyOptions) withDefaults() ApplyOptions {
	if o.Wait <= 0 {
		o.Wait = DefaultWait
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	if o.Retries < 0 {
		o.Retries = 0
	} else if o.Retries == 0 {
		o.Retries = DefaultRetries
	}
	if o.Backoff <= 0 {
		o.Backoff = DefaultBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.LongTransaction <= 0 {
		o.LongTransaction = DefaultLongTransaction
	}
	if o.RevisionsSchema == "" {
		o.RevisionsSchema = DefaultRevisionsSchema
	}
	if o.Operator == "" {
		o.Operator = "hishamos-perf"
	}
	if o.ReplicaTimeout <= 0 {
		o.ReplicaTimeout = DefaultReplicaTimeout
	}
	if o.ProgressInterval <= 0 {
		o.ProgressInterval = 500 * time.Millisecond
	}
	return o
}

// NoRetries is the Retries value that turns retries off (0 means the
// default).
const NoRetries = -1

// ErrTxMode is returned for a file whose CONCURRENTLY statements would run
// inside a transaction.
var ErrTxMode = errors.New("CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction")

// FileResult is what happened to one file.
type FileResult struct {
	File    string `json:"file"`
	Version string `json:"version"`
	// Status is applied, marked-applied (its indexes were already there),
	// reverted, or would-apply / would-revert on a dry run.
	Status  string        `json:"status"`
	Indexes []string      `json:"indexes,omitempty"`
	Steps   []string      `json:"steps,omitempty"`
	Took    time.Duration `json:"took_ns"`
}

// ApplyResult is what Apply or Down did.
type ApplyResult struct {
	Dir     string       `json:"dir"`
	DryRun  bool         `json:"dry_run"`
	Current string       `json:"current,omitempty"`
	Files   []FileResult `json:"files"`
}

// prepare validates the directory, sets the session up, runs check (when
// set) on the files and, unless dry, takes the migration lock and makes
// sure the revisions table exists. A directory or file refused here has
// changed nothing in the database.
func prepare(ctx context.Context, conn *pgx.Conn, dir *Dir, o ApplyOptions, check func(*Revisions, []*Migration) error) (release func(), rrw *Revisions, migs []*Migration, err error) {
	if err := dir.Validate(); err != nil {
		return nil, nil, nil, err
	}
	if migs, err = dir.Migrations(); err != nil {
		return nil, nil, nil, err
	}
	if !o.DryRun {
		// Before the lock and the revisions table, which a standby
		// refuses as it would every build.
		if err := refuseStandby(ctx, conn); err != nil {
			return nil, nil, nil, err
		}
	}
	if err := setSession(ctx, conn, o.LockTimeout); err != nil {
		return nil, nil, nil, err
	}
	restore, err := pinSearchPath(ctx, conn)
	if err != nil {
		return nil, nil, nil, err
	}
	rrw = NewRevisions(conn, o.RevisionsSchema)
	if check != nil {
		if err := check(rrw, migs); err != nil {
			restore()
			return nil, nil, nil, err
		}
	}
	if o.DryRun {
		return restore, rrw, migs, nil
	}
	unlock, err := acquireLock(ctx, conn, o.Wait, o.Observer)
	if err != nil {
		restore()
		return nil, nil, nil, err
	}
	release = func() { unlock(); restore() }
	if err := rrw.Ensure(ctx); err != nil {
		release()
		return nil, nil, nil, err
	}
	return release, rrw, migs, nil
}

// Apply runs the directory's pending files on conn with Atlas's Executor.
// See the package documentation for what makes it safe.
func Apply(ctx context.Context, conn *pgx.Conn, dir *Dir, opts ApplyOptions) (*ApplyResult, error) {
	o := opts.withDefaults()
	// Reading the revisions asks for the privilege applying needs, so that
	// a role short of it is told the whole GRANT at once.
	need := "USAGE, CREATE"
	if o.DryRun {
		need = "USAGE"
	}
	check := func(rrw *Revisions, migs []*Migration) error {
		if _, err := rrw.exists(ctx, need); err != nil {
			return err
		}
		return checkUnapplied(ctx, rrw, migs, o.AllowOtherDDL)
	}
	release, rrw, migs, err := prepare(ctx, conn, dir, o, check)
	if err != nil {
		return nil, err
	}
	defer release()
	byName := map[string]*Migration{}
	for _, m := range migs {
		byName[m.File] = m
	}
	drv := &driver{conn: conn, opts: &o}
	ex, err := migrate.NewExecutor(drv, dir.Atlas(), rrw,
		migrate.WithAllowDirty(true), migrate.WithOperatorVersion(o.Operator))
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	res := &ApplyResult{Dir: dir.Path, DryRun: o.DryRun}
	if revs, err := rrw.ReadRevisions(ctx); err == nil && len(revs) > 0 {
		res.Current = revs[len(revs)-1].Version
	}
	pending, err := ex.Pending(ctx)
	switch {
	case errors.Is(err, migrate.ErrNoPendingFiles):
		return res, nil
	case err != nil:
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if o.N > 0 && o.N < len(pending) {
		pending = pending[:o.N]
	}
	if err := preflight(ctx, conn, pending, byName); err != nil {
		return nil, err
	}
	for _, f := range pending {
		m := byName[f.Name()]
		fr := FileResult{File: f.Name(), Version: f.Version()}
		for _, ix := range m.Indexes {
			fr.Indexes = append(fr.Indexes, ix.Name)
		}
		if o.DryRun {
			fr.Status = "would-apply"
			if fr.Steps, err = dryRunSteps(ctx, conn, m); err != nil {
				return nil, err
			}
			res.Files = append(res.Files, fr)
			continue
		}
		drv.startFile(f.Name(), m.Statements)
		if o.Observer != nil {
			o.Observer(Event{Kind: EventFile, File: f.Name(), Message: "applying " + f.Name()})
		}
		start := time.Now()
		partitioned := drv.parts.root != nil && m.TxMode == TxModeNone
		if partitioned || len(o.Replicas) > 0 {
			// The revision is written once the partitioned index is
			// valid, and every standby has it, not statement by
			// statement: an interrupted file (or one a standby has not
			// replayed in time) is pending, and runs again from its first
			// statement, each of which skips what is done.
			rrw.hold(m.Version)
		}
		err := executeFile(ctx, conn, ex, drv, f, m.TxMode)
		if err == nil && partitioned {
			err = drv.finish(ctx)
		}
		if err == nil && len(o.Replicas) > 0 {
			err = waitReplicas(ctx, conn, f.Name(), m.Indexes, o)
		}
		if err == nil && (partitioned || len(o.Replicas) > 0) {
			err = rrw.release(ctx)
		}
		rrw.hold("")
		fr.Took = time.Since(start)
		if err != nil {
			return res, err
		}
		fr.Status = "applied"
		if len(drv.built) == 0 && len(drv.skipped) > 0 {
			fr.Status = "marked-applied"
		}
		res.Files = append(res.Files, fr)
	}
	return res, nil
}

// CheckPending refuses, as Apply would and before anything runs, a
// directory whose files not yet applied hold statements Apply does not run
// (see ApplyOptions.AllowOtherDDL and ErrUnqualified), two files with one
// version, or a directive Atlas would not read. It reads the revisions and
// changes nothing: it is what stands
// before the atlas CLI, which runs whatever a file holds.
func CheckPending(ctx context.Context, conn *pgx.Conn, dir *Dir, revisionsSchema string, allowOther bool) error {
	if err := dir.Validate(); err != nil {
		return err
	}
	migs, err := dir.Migrations()
	if err != nil {
		return err
	}
	restore, err := pinSearchPath(ctx, conn)
	if err != nil {
		return err
	}
	defer restore()
	rrw := NewRevisions(conn, revisionsSchema)
	if err := checkUnapplied(ctx, rrw, migs, allowOther); err != nil {
		return err
	}
	return checkPartitionLeftovers(ctx, conn, rrw, migs)
}

// checkUnapplied checks every statement of the files not yet applied with
// checkStatement and checkPartitioned, before the migration lock is taken or the revisions
// table made: a refused file leaves the database as it was. It checks
// every file without a complete revision, a superset of what the executor
// will find pending.
func checkUnapplied(ctx context.Context, rrw *Revisions, migs []*Migration, allowOther bool) error {
	revs, err := rrw.ReadRevisions(ctx)
	if err != nil {
		return err
	}
	done := map[string]bool{}
	for _, r := range revs {
		done[r.Version] = applied(r)
	}
	for _, m := range migs {
		if done[m.Version] {
			continue
		}
		for _, s := range m.Statements {
			if err := checkStatement(m.File, s, allowOther); err != nil {
				return err
			}
			if p, err := s.Parsed(); err == nil {
				if err := checkPartitioned(ctx, rrw.q, m, s, p, allowOther); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// executeFile runs one file: as it is for txmode none, inside one
// transaction otherwise (Atlas's default, txmode file).
func executeFile(ctx context.Context, conn *pgx.Conn, ex *migrate.Executor, drv *driver, f migrate.File, txmode string) error {
	if txmode == TxModeNone {
		drv.inTx = false
		return unwrapExec(ex.Execute(ctx, f))
	}
	drv.inTx = true
	defer func() { drv.inTx = false }()
	if _, err := conn.Exec(ctx, "BEGIN"); err != nil {
		return fmt.Errorf("migrate: %s: begin: %w", f.Name(), err)
	}
	if err := ex.Execute(ctx, f); err != nil {
		conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		return unwrapExec(err)
	}
	if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("migrate: %s: commit: %w", f.Name(), err)
	}
	return nil
}

// unwrapExec drops Atlas's wrapper around the driver's own errors, which
// already say which file and statement failed.
func unwrapExec(err error) error {
	var se *migrate.StmtExecError
	if errors.As(err, &se) {
		if strings.HasPrefix(se.Err.Error(), "migrate: ") {
			return se.Err
		}
		return &StmtError{Version: se.Version, Stmt: strings.TrimSpace(se.Stmt.Text), Err: se.Err}
	}
	return err
}

// StmtError is a statement of a migration that failed.
type StmtError struct {
	Version, Stmt string
	Err           error
}

// Error names the version and statement with the server's message.
func (e *StmtError) Error() string {
	return fmt.Sprintf("migrate: version %s: %s: %s", e.Version, e.Stmt, errText(e.Err))
}

// Unwrap returns the statement's error (a *pgconn.PgError, a context error).
func (e *StmtError) Unwrap() error { return e.Err }

// preflight checks the pending files before anything runs: no
// CONCURRENTLY inside a transaction, and every indexed table present
// (unless a pending file creates it first).
func preflight(ctx context.Context, q pg.Querier, pending []migrate.File, byName map[string]*Migration) error {
	created := map[string]bool{}
	for _, f := range pending {
		m := byName[f.Name()]
		parts := partsOf(m.Statements)
		for _, s := range m.Statements {
			p, err := s.Parsed()
			if err != nil {
				continue
			}
			switch {
			case p.Kind == sqlscan.KindCreateTable && len(p.Relations) > 0:
				created[p.Relations[0].String()] = true
			case p.Index != nil:
				if p.Concurrently && m.TxMode != TxModeNone {
					return fmt.Errorf("migrate: %s line %d: %w: head the file with `-- atlas:txmode none`", m.File, s.Line, ErrTxMode)
				}
				t := p.Index.QualifiedTable()
				if created[t] || parts.step(p.Index) {
					// A partition dropped since the file was planned is
					// skipped when its step comes.
					continue
				}
				ok, err := tableExists(ctx, q, t)
				if err != nil {
					return err
				}
				if !ok {
					return &MissingTableError{File: m.File, Index: p.Index.Name, Table: t}
				}

			case p.Kind == sqlscan.KindDropIndex && p.Concurrently && m.TxMode != TxModeNone:
				return fmt.Errorf("migrate: %s line %d: %w: head the file with `-- atlas:txmode none`", m.File, s.Line, ErrTxMode)
			}
		}
	}
	return nil
}

// dryRunSteps says what each statement of a file would do.
func dryRunSteps(ctx context.Context, conn *pgx.Conn, m *Migration) ([]string, error) {
	var steps []string
	parts := partsOf(m.Statements)
	for _, s := range m.Statements {
		if p, err := s.Parsed(); err == nil && p.Index != nil && parts.step(p.Index) {
			in, exists, err := inTree(ctx, conn, parts.root.QualifiedTable(), p.Index.QualifiedTable())
			if err != nil {
				return nil, err
			}
			if !in {
				why := "detached"
				if !exists {
					why = "dropped"
				}
				steps = append(steps, fmt.Sprintf("-- skipped: %s is no longer a partition of %s (%s since the file was planned), with its ATTACH",
					p.Index.QualifiedTable(), parts.root.QualifiedTable(), why))
				continue
			}
		}
		if p, err := s.Parsed(); err == nil && p.Index != nil && (p.Concurrently || p.Index.Only) {
			// ON ONLY a partitioned table goes through the same check as a
			// build: apply's createOnly refuses a name that exists with
			// another definition as build does.
			def := p.Index
			ix, err := findIndex(ctx, conn, def)
			if err != nil {
				return nil, err
			}
			switch {
			case ix != nil && def.Only:
				// An INVALID one is the sequence part way, which apply
				// goes on with: only its definition matters.
				same, why, err := sameDefinition(ctx, conn, ix, def)
				if err != nil {
					return nil, err
				}
				if !same {
					steps = append(steps, "-- stops: "+def.Name+" exists with another definition ("+why+")")
					continue
				}
			case ix != nil && (!ix.Valid || !ix.Ready):
				steps = append(steps, def.DropSQL(true, true)+" -- its INVALID leftover")
			case ix != nil:
				same, why, err := sameDefinition(ctx, conn, ix, def)
				if err != nil {
					return nil, err
				}
				if same {
					steps = append(steps, "-- "+def.Name+" exists, valid, same definition: marked applied without a build")
					continue
				}
				steps = append(steps, "-- stops: "+def.Name+" exists with another definition ("+why+")")
				continue
			}
		}
		steps = append(steps, s.SQL)
	}
	if parts.root != nil {
		added, err := partitionsNotInFile(ctx, conn, m, parts)
		if err != nil {
			return nil, err
		}
		for _, t := range added {
			steps = append(steps, "-- partition "+t+" is not in the file (added since it was planned): its index would be built and attached too")
		}
	}
	return steps, nil
}

// ErrDownPastFirst is returned when down is asked to revert more versions
// than are applied.
var ErrDownPastFirst = errors.New("down would go past the first version")

// ErrNoDownFile is returned when an applied version has no down file.
var ErrNoDownFile = errors.New("no down file")

// Down reverts the last N applied versions (one when N is 0), newest
// first, by running their down files; each revision is deleted once its
// indexes are gone. Asking for more versions than are applied changes
// nothing and returns ErrDownPastFirst.
func Down(ctx context.Context, conn *pgx.Conn, dir *Dir, opts ApplyOptions) (*ApplyResult, error) {
	o := opts.withDefaults()
	n := o.N
	if n <= 0 {
		n = 1
	}
	release, rrw, migs, err := prepare(ctx, conn, dir, o, nil)
	if err != nil {
		return nil, err
	}
	defer release()
	revs, err := rrw.ReadRevisions(ctx)
	if err != nil {
		return nil, err
	}
	res := &ApplyResult{Dir: dir.Path, DryRun: o.DryRun}
	if len(revs) > 0 {
		res.Current = revs[len(revs)-1].Version
	}
	if n > len(revs) {
		return nil, fmt.Errorf("migrate: %w: %d version(s) applied, down %d asked for", ErrDownPastFirst, len(revs), n)
	}
	byVersion := map[string]*Migration{}
	for _, m := range migs {
		byVersion[m.Version] = m
	}
	var todo []*Migration
	for i := len(revs) - 1; i >= len(revs)-n; i-- {
		m, ok := byVersion[revs[i].Version]
		switch {
		case !ok:
			return nil, fmt.Errorf("migrate: %w: version %s is applied but its file is not in %s", ErrNoDownFile, revs[i].Version, dir.Path)
		case m.DownFile == "":
			return nil, fmt.Errorf("migrate: %w for %s in %s/%s", ErrNoDownFile, m.File, dir.Path, DownDir)
		}
		todo = append(todo, m)
	}
	for _, m := range todo {
		for _, s := range m.Down {
			if err := checkStatement(DownDir+"/"+m.File, s, o.AllowOtherDDL); err != nil {
				return nil, err
			}
		}
	}
	drv := &driver{conn: conn, opts: &o}
	for i, m := range todo {
		fr := FileResult{File: m.File, Version: m.Version}
		for _, ix := range m.Indexes {
			fr.Indexes = append(fr.Indexes, ix.Name)
		}
		if o.DryRun {
			fr.Status = "would-revert"
			for _, s := range m.Down {
				if p, err := s.Parsed(); err == nil && p.Kind == sqlscan.KindDropIndex && !p.Concurrently {
					for _, n := range p.DropIndexes {
						tables, _, err := dropLocks(ctx, conn, n.String())
						if err != nil {
							return nil, err
						}
						if len(tables) > 0 {
							fr.Steps = append(fr.Steps, fmt.Sprintf("-- takes an ACCESS EXCLUSIVE lock on %s, each for a moment, every wait capped by lock_timeout %s",
								describeLocks(tables), o.LockTimeout))
						}
					}
				}
				fr.Steps = append(fr.Steps, s.SQL)
			}
			res.Files = append(res.Files, fr)
			continue
		}
		drv.startFile(DownDir+"/"+m.File, m.Down)
		if o.Observer != nil {
			o.Observer(Event{Kind: EventFile, File: drv.file, Message: "reverting " + m.File})
		}
		start := time.Now()
		for _, s := range m.Down {
			if p, err := s.Parsed(); err == nil && p.Kind == sqlscan.KindDropIndex && p.Concurrently && o.Observer != nil {
				o.Observer(Event{Kind: EventDrop, File: drv.file, Message: s.SQL})
			}
			if _, err := drv.ExecContext(ctx, s.SQL); err != nil {
				return res, err
			}
		}
		if err := rrw.DeleteRevision(ctx, revs[len(revs)-1-i].Version); err != nil {
			return res, err
		}
		fr.Status, fr.Took = "reverted", time.Since(start)
		res.Files = append(res.Files, fr)
	}
	return res, nil
}

// RepairResult is what Repair found and dropped.
type RepairResult struct {
	Dir     string   `json:"dir"`
	DryRun  bool     `json:"dry_run"`
	Checked int      `json:"checked"`
	Dropped []string `json:"dropped"`
}

// Repair drops the INVALID leftovers of the directory's indexes (what a
// build killed halfway leaves), concurrently, under the migration lock.
// Valid indexes and indexes of other origins are not touched.
func Repair(ctx context.Context, conn *pgx.Conn, dir *Dir, opts ApplyOptions) (*RepairResult, error) {
	o := opts.withDefaults()
	release, _, migs, err := prepare(ctx, conn, dir, o, nil)
	if err != nil {
		return nil, err
	}
	defer release()
	res := &RepairResult{Dir: dir.Path, DryRun: o.DryRun, Dropped: []string{}}
	drv := &driver{conn: conn, opts: &o}
	for _, m := range migs {
		for _, def := range m.Indexes {
			if def.Only {
				// An INVALID index ON ONLY a partitioned table is a
				// sequence part way, which apply finishes; dropping it
				// would drop every partition's index attached to it.
				continue
			}
			res.Checked++
			if ok, err := tableExists(ctx, conn, def.QualifiedTable()); err != nil || !ok {
				if err != nil {
					return nil, err
				}
				continue
			}
			ix, err := findIndex(ctx, conn, def)
			if err != nil {
				return nil, err
			}
			if ix == nil || (ix.Valid && ix.Ready) {
				continue
			}
			if !o.DryRun {
				drv.file = m.File
				o := o
				if o.Observer != nil {
					o.Observer(Event{Kind: EventDropInvalid, File: m.File, Index: def.Name, Message: "dropping INVALID " + ix.Definition})
				}
				if err := drv.dropLeftover(ctx, def); err != nil {
					return res, err
				}
			}
			res.Dropped = append(res.Dropped, def.Name)
		}
	}
	return res, nil
}
