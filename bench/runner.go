package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hishamos/hishamos-perf/bench/internal/wire"
	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/profiles"
)

// Conn is the part of a pgx connection a run uses; *pgx.Conn has it.
type Conn interface {
	Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error)
	PgConn() *pgconn.PgConn
	TypeMap() *pgtype.Map
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
	IsClosed() bool
	Close(ctx context.Context) error
}

// Connector opens one connection to the server under test. A run opens one
// per client; the caller decides the session (timeouts), and the run makes
// every session read-only whatever it is given.
type Connector func(ctx context.Context) (Conn, error)

// StoppedError is returned with the partial run when a run stopped before
// its end: the server went away (a restart, a crash, a terminated backend)
// or the context was cancelled. The run holds every call measured so far.
type StoppedError struct {
	// Calls is how many measured calls had completed.
	Calls int
	// Err is the cause.
	Err error
}

func (e *StoppedError) Error() string {
	return fmt.Sprintf("bench: the run stopped after %d measured calls: %v", e.Calls, e.Err)
}

func (e *StoppedError) Unwrap() error { return e.Err }

// Phases of a run, as Progress names them. Each draws arguments from a
// stream of its own, so that changing the warm-up does not change what is
// measured.
const (
	PhaseExplain = "explain"
	PhaseWarmup  = "warmup"
	PhaseMeasure = "measure"
)

const (
	explainStream uint64 = 1 << 62
	warmupStream  uint64 = 1 << 61
	measureStream uint64 = 0
)

// progressEvery is how often Options.Progress hears from a run.
const progressEvery = 100 * time.Millisecond

// preparedName is the server-side name of statement i.
func preparedName(i int) string { return "hishamos_perf_bench_" + strconv.Itoa(i) }

// The statements that open and close the transaction every call runs in
// (see client.call), prepared on every connection under these names and
// given to its session (wire.TxStatements).
const (
	beginReadOnlyName  = "hishamos_perf_bench_begin_ro"
	beginReadWriteName = "hishamos_perf_bench_begin_rw"
	rollbackName       = "hishamos_perf_bench_rollback"
)

// txStatements are the statements prepared under those names.
var txStatements = [...]struct{ name, sql string }{
	{beginReadOnlyName, "BEGIN READ ONLY"},
	{beginReadWriteName, "BEGIN READ WRITE"},
	{rollbackName, "ROLLBACK"},
}

// sample is one timed call.
type sample struct {
	at time.Duration // start, from the phase's start
	d  time.Duration
}

// runner holds what the clients of one run share.
type runner struct {
	w     *Workload
	o     Options
	bound *profiles.Bound
	seeds []uint64
	// rowArgs, per statement and per follow-up of it (Then), maps each
	// of the follow-up's parameters to the leader's result column whose
	// value it takes, row by row, or -1 for a generator's draw; nil for
	// a follow-up that does not run per row. keepRows marks the leaders
	// whose rows are kept for that (wire.Session.CallRows).
	rowArgs  [][][]int
	keepRows []bool
}

// requestSample is one request: its latency and what it received.
type requestSample struct {
	at, d              time.Duration
	queries            int
	rows, leader, recv int64
}

// client is one connection and what it measured.
type client struct {
	r    *runner
	conn Conn
	pcg  *rand.PCG
	rng  *rand.Rand
	// paramOIDs are each statement's parameter types, as Prepare found
	// them; params and bufs are reused to encode arguments.
	paramOIDs [][]uint32
	params    [][]byte
	bufs      [][]byte
	// session runs the calls of the phases once the connection is taken
	// over (takeOver); nil before.
	session wire.Session
	names   []string

	// Per statement, during the measured phase; reqs and reqErrs per
	// leading statement of a request, runs per statement of its
	// follow-ups across its requests.
	reqs     [][]requestSample
	reqErrs  []int
	reqRuns  [][]int64
	samples  [][]sample
	rows     []int64
	errs     []int
	firstErr []error
	record   bool
	start    time.Time
}

// Measure runs the workload and returns what it measured. Every call runs
// in a transaction of its own that is rolled back (see client.call): a run
// commits nothing. A run that stops early (the server restarting, ctx
// cancelled, a session that a call left in a transaction) returns the
// partial run with a *StoppedError; a statement that failed every call
// returns the run with ErrStatementFailed, or with the server's error when
// the server's state failed it (pg.ServerCondition). A workload with
// writes on a hot standby is refused with pg.ErrStandby.
func Measure(ctx context.Context, connect Connector, w *Workload, o Options) (*Run, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if err := CheckWrites(w, o.AllowWrites); err != nil {
		return nil, err
	}
	r := &runner{w: w, o: o, seeds: make([]uint64, len(w.Statements))}
	for i, s := range w.Statements {
		h := fnv.New64a()
		h.Write([]byte(s.Name))
		r.seeds[i] = o.Seed ^ h.Sum64()
	}

	var clients []*client
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		for _, c := range clients {
			if c.session != nil {
				c.session.Close(cctx)
			}
			c.conn.Close(cctx)
		}
	}()
	first, err := r.open(ctx, connect, true)
	if err != nil {
		return nil, err
	}
	clients = append(clients, first)

	run := &Run{Schema: Schema, Workload: w.Info, Settings: o.settings(), Complete: true}
	run.Statements = make([]StatementRun, len(w.Statements))
	for i, s := range w.Statements {
		run.Statements[i] = StatementRun{Name: s.Name, SQLHash: sqlHash(s.SQL), Weight: s.Weight, Write: s.Write, FollowUp: !s.Leader, Indexes: s.Indexes, Expect: s.Expect}
	}

	// The server going away before the measured calls is a stopped run
	// too, with nothing measured.
	lost := func(err error) error {
		if isConnectionError(err, first.conn) {
			return stopped(err, 0)
		}
		return err
	}
	explained, err := r.explainAll(ctx, first)
	if err != nil {
		return nil, lost(err)
	}
	env, canonical, err := readEnvironment(ctx, first.conn, relationsOf(w, explained))
	if err != nil {
		return nil, lost(err)
	}
	run.Environment = env
	for i := range explained {
		for j, rel := range explained[i].relations {
			if c, ok := canonical[rel]; ok {
				explained[i].relations[j] = c
			}
		}
	}
	for len(clients) < o.Clients {
		c, err := r.open(ctx, connect, false)
		if err != nil {
			return nil, err
		}
		clients = append(clients, c)
	}

	leaders := w.leaders()
	if err := r.warmup(ctx, clients, leaders); err != nil {
		return nil, stopped(err, 0)
	}
	ids := queryIDs(explained)
	var before map[int64]pgssCounts
	pgssErr := errors.New("pg_stat_statements is not installed in this database")
	// On the first client's connection, through its session once the
	// warm-up has taken it over: no connection of the run's own.
	counts := func() (map[int64]pgssCounts, error) {
		if first.session != nil {
			return readStatementCountsOnSession(ctx, first.session, ids)
		}
		return readStatementCounts(ctx, first.conn, ids)
	}
	if run.Environment.PgStatStatements != "" && len(ids) > 0 {
		before, pgssErr = counts()
	}

	firstErrs, phaseErr := r.measure(ctx, clients, leaders, run)

	if phaseErr == nil && before != nil {
		after, err := counts()
		if err != nil {
			pgssErr = err
		}
		fillFromStatements(run, explained, before, after, run.Environment.TrackPlanning)
	} else if phaseErr != nil {
		pgssErr = errors.New("the run stopped before pg_stat_statements could be read again")
	}
	fillFromExplain(run, explained, pgssErr)
	requestServer(run)
	for i := range run.Statements {
		e := explained[i]
		sr := &run.Statements[i]
		sr.PlanHash, sr.Plans = e.planHash, e.shapes
		sr.IndexesUsed, sr.Relations = e.indexes, e.relations
		if e.queryID != 0 {
			sr.QueryID = fmt.Sprintf("%016x", uint64(e.queryID))
		}
	}

	if phaseErr != nil {
		run.Complete = false
		run.Stopped = stopReason(phaseErr)
		return run, stopped(phaseErr, run.calls())
	}
	for i, sr := range run.Statements {
		if sr.Calls == 0 && sr.Errors > 0 {
			if pg.ServerCondition(firstErrs[i]) {
				// The server's state failed it (a lock, a timeout, the
				// role's rights), not the statement.
				return run, newServerError(fmt.Sprintf("%s failed all %d calls", sr.Name, sr.Errors), firstErrs[i], "")
			}
			return run, fmt.Errorf("bench: %w: %s failed all %d calls; the first error: %s", ErrStatementFailed, sr.Name, sr.Errors, sr.FirstError)
		}
	}
	return run, nil
}

// warmup runs the unrecorded rounds. Every client warms up on its own, with
// the same draws, so that every connection has run every statement (its
// caches filled, its prepared statements past the five custom plans after
// which PostgreSQL may settle on a generic one) with the same history.
func (r *runner) warmup(ctx context.Context, clients []*client, leaders []int) error {
	if r.o.Warmup == 0 {
		return nil
	}
	scheds := make([]*schedule, len(clients))
	for i := range scheds {
		scheds[i] = newSchedule(leaders, r.o.Seed^warmupStream, r.o.Warmup, time.Time{})
	}
	return r.phase(ctx, clients, scheds, PhaseWarmup, warmupStream, int64(r.o.Warmup*len(leaders)*len(clients)))
}

// measure runs the recorded rounds, all clients taking calls from one
// schedule, and puts what they measured into run. It returns each
// statement's first error with the phase's.
func (r *runner) measure(ctx context.Context, clients []*client, leaders []int, run *Run) ([]error, error) {
	start := time.Now()
	var sched *schedule
	var total int64
	if r.o.Duration > 0 {
		sched, total = newSchedule(leaders, r.o.Seed, 0, start.Add(r.o.Duration)), r.o.Duration.Milliseconds()
	} else {
		sched, total = newSchedule(leaders, r.o.Seed, r.o.Iterations, time.Time{}), int64(r.o.Iterations*len(leaders))
	}
	shared := make([]*schedule, len(clients))
	for i, c := range clients {
		c.startRecording(len(r.w.Statements), start)
		shared[i] = sched
	}
	run.StartedAt = start.UTC()
	err := r.phase(ctx, clients, shared, PhaseMeasure, measureStream, total)
	elapsed := time.Since(start)
	run.ElapsedMs = float64(elapsed) / float64(time.Millisecond)
	first := r.collect(run, clients)
	if elapsed > 0 {
		run.CallsPerSecond = float64(run.calls()) / elapsed.Seconds()
	}
	return first, err
}

// calls counts the run's successful calls.
func (run *Run) calls() int {
	n := 0
	for _, s := range run.Statements {
		n += s.Calls
	}
	return n
}

// stopped wraps a phase's error for the caller.
func stopped(err error, calls int) error {
	var se *StoppedError
	if errors.As(err, &se) {
		return err
	}
	return &StoppedError{Calls: calls, Err: err}
}

// stopReason says in a line why a run stopped.
func stopReason(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case errors.Is(err, context.DeadlineExceeded):
		return "out of time"
	case errors.Is(err, wire.ErrLeftInTransaction):
		return err.Error()
	}
	return "the connection to the server was lost: " + err.Error()
}

// open connects one client: a read-only session with every statement
// prepared, and the statements that open and close each call's
// transaction. The first client also checks that a workload with writes
// is not about to run on a standby, and binds the profile's generators.
func (r *runner) open(ctx context.Context, connect Connector, first bool) (*client, error) {
	conn, err := connect(ctx)
	if err != nil {
		return nil, err
	}
	c := &client{r: r, conn: conn, pcg: rand.NewPCG(0, 0)}
	c.rng = rand.New(c.pcg)
	fail := func(err error) (*client, error) {
		conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	// The caller's session should be read-only already; this makes sure.
	// It is a second line: every call runs in a transaction of its own
	// that is rolled back (see call).
	if _, err := conn.Exec(ctx, "SET SESSION default_transaction_read_only = on"); err != nil {
		return fail(fmt.Errorf("bench: make the session read-only: %w", err))
	}
	for _, ts := range txStatements {
		if _, err := conn.Prepare(ctx, ts.name, ts.sql); err != nil {
			return fail(fmt.Errorf("bench: prepare %s: %w", ts.sql, err))
		}
	}
	if first {
		if writes := r.w.Writes(); len(writes) > 0 {
			var standby bool
			if err := conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&standby); err != nil {
				return fail(fmt.Errorf("bench: ask whether the server is a standby: %w", err))
			}
			if standby {
				return fail(fmt.Errorf("bench: %w: the write statements (%s) need a READ WRITE transaction, which a standby refuses; measure them on the primary", pg.ErrStandby, strings.Join(writes, ", ")))
			}
		}
	}
	if first && r.w.Profile != nil {
		var b *profiles.Bound
		err := inReadOnlyTx(ctx, conn, func(tx pgx.Tx) error {
			var err error
			b, err = profiles.Bind(ctx, tx, r.w.Profile)
			return err
		})
		switch {
		case err == nil:
			r.bound = b
		case isConnectionError(err, conn):
			return fail(err)
		case pg.ServerCondition(err):
			return fail(fmt.Errorf("bench: %w%s", err, lockContext(ctx, conn, err)))
		default:
			return fail(fmt.Errorf("bench: %w: %w", ErrWorkload, err))
		}
	}
	c.paramOIDs = make([][]uint32, len(r.w.Statements))
	var fields [][]pgconn.FieldDescription
	for i, s := range r.w.Statements {
		sd, err := conn.Prepare(ctx, preparedName(i), s.SQL)
		if err != nil {
			switch {
			case isConnectionError(err, conn):
				return fail(fmt.Errorf("bench: prepare %s: %w", s.Name, err))
			case pg.ServerCondition(err):
				// The server's state (a lock held elsewhere, a timeout,
				// the role's rights), not the statement.
				return fail(newServerError("prepare "+s.Name, err, lockContext(ctx, conn, err)))
			}
			return fail(fmt.Errorf("bench: %w: statement %s does not prepare: %w", ErrWorkload, s.Name, err))
		}
		c.paramOIDs[i] = sd.ParamOIDs
		c.names = append(c.names, preparedName(i))
		fields = append(fields, sd.Fields)
	}
	if first {
		if err := r.mapRowArgs(ctx, conn, fields); err != nil {
			return fail(err)
		}
	}
	return c, nil
}

// inReadOnlyTx runs fn in a READ ONLY transaction on conn and rolls it
// back, whatever fn did: the tool's own queries that read user-named
// objects (a profile's generators, the tables' statistics) can commit
// nothing either. A session that is not idle after the rollback is an
// error (wire.ErrLeftInTransaction).
func inReadOnlyTx(ctx context.Context, conn Conn, fn func(pgx.Tx) error) error {
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	ferr := fn(tx)
	rerr := tx.Rollback(context.WithoutCancel(ctx))
	switch {
	case ferr != nil:
		return ferr
	case rerr != nil:
		return fmt.Errorf("roll back: %w", rerr)
	}
	return idle(ctx, conn)
}

// idle checks that conn's session is out of any transaction block, and
// closes it when it is not: nothing more may run on it.
func idle(ctx context.Context, conn Conn) error {
	if st := conn.PgConn().TxStatus(); st != 'I' && !conn.IsClosed() {
		conn.Close(context.WithoutCancel(ctx))
		return wire.Lost(fmt.Errorf("%w (transaction status %q after ROLLBACK)", wire.ErrLeftInTransaction, st))
	}
	return nil
}

// isConnectionError reports whether err means the session is gone: the
// connection closed, the server shutting down or refusing, or ctx done. A
// statement's own error (a bad value, a timeout) leaves the session usable.
func isConnectionError(err error, conn Conn) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || conn.IsClosed() {
		return true
	}
	if serverGone(err) {
		return true
	}
	var connErr *pgconn.ConnectError
	return errors.As(err, &connErr) || pgconn.SafeToRetry(err)
}

// serverGone reports whether err is the server saying the session is over.
func serverGone(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			pgErr.Code == "57P01", // admin_shutdown
			pgErr.Code == "57P02", // crash_shutdown
			pgErr.Code == "57P03": // cannot_connect_now
			return true
		}
	}
	return false
}

// args draws the arguments of statement i from the client's source.
func (c *client) args(i int) []any {
	if c.r.bound == nil {
		return nil
	}
	return c.r.bound.Args(c.r.w.Statements[i].Name, c.rng)
}

// seed points the client's source at call k of statement i in a stream.
func (c *client) seed(i int, stream uint64, k int) {
	c.pcg.Seed(c.r.seeds[i], stream|uint64(k))
}

func (c *client) startRecording(n int, start time.Time) {
	c.record, c.start = true, start
	c.samples = make([][]sample, n)
	c.reqs = make([][]requestSample, n)
	c.reqErrs = make([]int, n)
	c.reqRuns = make([][]int64, n)
	c.rows = make([]int64, n)
	c.errs = make([]int, n)
	c.firstErr = make([]error, n)
}

// takeOver gives the client's connection to a session for the phases,
// once.
func (c *client) takeOver(ctx context.Context) error {
	if c.session != nil {
		return nil
	}
	s, err := wire.Open(ctx, c.conn.PgConn(), wire.TxStatements{
		BeginReadOnly: beginReadOnlyName, BeginReadWrite: beginReadWriteName, Rollback: rollbackName,
	})
	if err != nil {
		return err
	}
	c.session = s
	return nil
}

// lost reports whether err from a call means the connection is gone: the
// session says so, or the server does.
func (c *client) lost(err error) bool {
	return errors.Is(err, wire.ErrLost) || serverGone(err)
}

// encode turns arguments into the text the server parses for each
// parameter's type, reusing the client's buffers.
func (c *client) encode(i int, args []any) ([][]byte, error) {
	oids := c.paramOIDs[i]
	if len(args) != len(oids) {
		return nil, fmt.Errorf("statement takes %d parameters, the generators drew %d", len(oids), len(args))
	}
	c.params = c.params[:0]
	for j, a := range args {
		for len(c.bufs) <= j {
			c.bufs = append(c.bufs, nil)
		}
		b, err := c.conn.TypeMap().Encode(oids[j], pgtype.TextFormatCode, a, c.bufs[j][:0])
		if err != nil {
			return nil, fmt.Errorf("encode $%d (%v): %w", j+1, a, err)
		}
		if b != nil {
			c.bufs[j] = b
		}
		c.params = append(c.params, b)
	}
	return c.params, nil
}

// result is what one call gave: its rows (kept, or counted), when it
// started and how long it took; failed marks a statement's error, which
// one has recorded and which does not stop the run.
type result struct {
	rows   int64
	kept   [][][]byte
	start  time.Time
	d      time.Duration
	failed bool
}

// A call runs a statement once and times it: from sending it to having read
// the end of its reply. It runs on the client's session (wire.Session.Call)
// inside a transaction of its own that is always rolled back, READ ONLY
// for a read and READ WRITE for a write (one that Options.AllowWrites let
// through): BEGIN, the statement and ROLLBACK go in one round trip, and
// the time is that round trip's, BEGIN and ROLLBACK included (the server
// sends one reply for the three; on PostgreSQL 15 they add a few
// microseconds). So no call can commit, whatever it contains: a write, a
// writing function, a set_config or SET of the session's settings, a
// large object, a notification. A sequence's nextval and setval are not
// transactional: READ ONLY refuses them, and under AllowWrites what a
// write takes or sets stays. After the call the session must be idle
// again: a failed statement leaves its transaction block failed, and one
// more ROLLBACK (not timed) ends it; a session that cannot be brought back
// stops the run (wire.ErrLeftInTransaction).
//
// The arguments are encoded beforehand, as text, outside the timing. ctx
// carries no cancellation (a cancellable one costs a watcher per call);
// phase shuts the sessions down instead.
//
// call is that call, unrecorded, for statement i with args.
func (c *client) call(ctx context.Context, i int, args []any) (rows int64, start time.Time, d time.Duration, err error) {
	params, err := c.encode(i, args)
	if err != nil {
		return 0, time.Now(), 0, err
	}
	return c.session.Call(ctx, c.r.w.Statements[i].Write, c.names[i], params)
}

// one runs statement i with args, records it, and returns what it gave,
// or an error that stops the run. With keep the rows come back too; with
// row, the parameters row names (rowArgs) take that row's values.
func (c *client) one(ctx context.Context, i int, args []any, keep bool, row [][]byte, cols []int) (result, error) {
	var res result
	params, err := c.encode(i, args)
	if err == nil {
		for j, col := range cols {
			if col >= 0 {
				params[j] = row[col]
			}
		}
		write := c.r.w.Statements[i].Write
		if keep {
			res.kept, res.start, res.d, err = c.session.CallRows(ctx, write, c.names[i], params)
			res.rows = int64(len(res.kept))
		} else {
			res.rows, res.start, res.d, err = c.session.Call(ctx, write, c.names[i], params)
		}
	} else {
		res.start = time.Now()
	}
	if err != nil {
		if ctx.Err() != nil || c.lost(err) {
			return res, err
		}
		if c.record {
			if c.errs[i] == 0 {
				c.firstErr[i] = err
			}
			c.errs[i]++
		}
		res.failed, res.rows = true, 0
		return res, nil
	}
	if c.record {
		c.samples[i] = append(c.samples[i], sample{at: res.start.Sub(c.start), d: res.d})
		c.rows[i] += res.rows
	}
	return res, nil
}

// slot runs call k of leading statement i and its follow-ups: a request.
// A per-row follow-up runs once per row the leader returned, with that
// row's values as the arguments rowArgs maps, and not at all for a row
// whose mapped value is NULL (Django does not look a NULL foreign key
// up). While recording, a request (Statement.Request) is sampled whole.
func (c *client) slot(ctx context.Context, i, k int, stream uint64) error {
	c.seed(i, stream, k)
	s := &c.r.w.Statements[i]
	req := c.record && s.Request()
	var from int64
	if req {
		from = c.session.Received()
	}
	lead, err := c.one(ctx, i, c.args(i), c.r.keepRows[i], nil, nil)
	if err != nil {
		return err
	}
	failed := lead.failed
	queries, rows := 1, lead.rows
	end := lead.start.Add(lead.d)
	var runs []int64
	if req {
		runs = c.reqRuns[i]
		if runs == nil {
			runs = make([]int64, len(s.Then))
			c.reqRuns[i] = runs
		}
	}
	for fi, f := range s.Then {
		cols := c.r.rowArgs[i][fi]
		var n int64 = 1
		if f.PerRow {
			n = lead.rows
		}
		for r := range n {
			var row [][]byte
			if cols != nil {
				row = lead.kept[r]
				if nullIn(row, cols) {
					continue
				}
			}
			res, err := c.one(ctx, f.Statement, c.args(f.Statement), false, row, cols)
			if err != nil {
				return err
			}
			failed = failed || res.failed
			queries++
			rows += res.rows
			end = res.start.Add(res.d)
			if req {
				runs[fi]++
			}
		}
	}
	if !req {
		return nil
	}
	if failed {
		c.reqErrs[i]++
		return nil
	}
	recv := int64(-1)
	if from >= 0 {
		recv = c.session.Received() - from
	}
	c.reqs[i] = append(c.reqs[i], requestSample{at: lead.start.Sub(c.start), d: end.Sub(lead.start), queries: queries, rows: rows, leader: lead.rows, recv: recv})
	return nil
}

// nullIn reports whether a value row gives a follow-up's parameters is
// NULL.
func nullIn(row [][]byte, cols []int) bool {
	for _, col := range cols {
		if col >= 0 && row[col] == nil {
			return true
		}
	}
	return false
}

// mapRowArgs maps the parameters of every per-row follow-up to the
// leader's result columns (rowArgs): a parameter whose generator reads
// table.column (Param.From) takes the value of the leader's column of that
// name from that table, as a lazy foreign key takes the row's id. fields
// are each statement's result columns, as Prepare described them. A
// parameter no column of the leader matches keeps its generator.
func (r *runner) mapRowArgs(ctx context.Context, conn Conn, fields [][]pgconn.FieldDescription) error {
	r.rowArgs = make([][][]int, len(r.w.Statements))
	r.keepRows = make([]bool, len(r.w.Statements))
	if r.w.Profile == nil {
		return nil
	}
	oids := map[string]uint32{}
	for i, s := range r.w.Statements {
		r.rowArgs[i] = make([][]int, len(s.Then))
		for fi, f := range s.Then {
			if !f.PerRow {
				continue
			}
			ps := r.w.Profile.Statement(r.w.Statements[f.Statement].Name)
			if ps == nil {
				continue
			}
			cols := make([]int, len(ps.Params))
			mapped := false
			for j, prm := range ps.Params {
				cols[j] = -1
				dot := strings.LastIndexByte(prm.From, '.')
				if dot < 0 {
					continue
				}
				table, column := prm.From[:dot], prm.From[dot+1:]
				oid, ok := oids[table]
				if !ok {
					err := inReadOnlyTx(ctx, conn, func(tx pgx.Tx) error {
						return tx.QueryRow(ctx, "SELECT coalesce(to_regclass($1)::oid, 0)", pgx.Identifier(strings.Split(table, ".")).Sanitize()).Scan(&oid)
					})
					if err != nil {
						return fmt.Errorf("bench: look up %s, which %s's $%d reads: %w", table, ps.Name, j+1, err)
					}
					oids[table] = oid
				}
				for fc, fd := range fields[i] {
					if fd.Name == column && fd.TableOID == oid && oid != 0 {
						cols[j], mapped = fc, true
						break
					}
				}
			}
			if mapped {
				r.rowArgs[i][fi] = cols
				r.keepRows[i] = true
			}
		}
	}
	return nil
}

// phase runs the clients, each on its schedule (one schedule shared by all,
// or one each), until the schedules are exhausted, a connection is lost or
// ctx is done.
func (r *runner) phase(ctx context.Context, clients []*client, scheds []*schedule, name string, stream uint64, total int64) error {
	sched := scheds[0] // for progress
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// Calls run under a context that cannot be cancelled (see call); a
	// cancelled phase interrupts them by shutting every connection down.
	calls := context.WithoutCancel(ctx)
	for _, c := range clients {
		if err := c.takeOver(ctx); err != nil {
			return err
		}
	}
	stopClosing := context.AfterFunc(ctx, func() {
		for _, c := range clients {
			c.session.Shutdown()
		}
	})
	defer stopClosing()
	var done atomic.Int64
	// loop runs client ci's calls until its schedule is exhausted or the
	// phase stops.
	loop := func(ci int) {
		c := clients[ci]
		for ctx.Err() == nil {
			i, k, ok := scheds[ci].next()
			if !ok {
				return
			}
			if err := c.slot(calls, i, k, stream); err != nil {
				if ctx.Err() == nil {
					cancel(err)
				}
				return
			}
			done.Add(1)
		}
	}
	stop := make(chan struct{})
	var pwg sync.WaitGroup
	if r.o.Progress != nil {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			t := time.NewTicker(progressEvery)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					r.o.Progress(sched.progress(name, done.Load(), total))
				}
			}
		}()
	}
	// The sessions decide how their clients share threads (wire.Run).
	sessions := make([]wire.Session, len(clients))
	for i, c := range clients {
		sessions[i] = c.session
	}
	wire.Run(sessions, r.o.threads(), loop)
	close(stop)
	pwg.Wait()
	if r.o.Progress != nil {
		r.o.Progress(sched.progress(name, done.Load(), total))
	}
	// Nil unless a client stopped the phase or the caller cancelled.
	return context.Cause(ctx)
}

// collect merges the clients' samples into the run, and returns each
// statement's first error (nil for none).
func (r *runner) collect(run *Run, clients []*client) []error {
	first := make([]error, len(run.Statements))
	for i := range run.Statements {
		var all []sample
		var rows int64
		sr := &run.Statements[i]
		for _, c := range clients {
			if c.samples == nil {
				continue
			}
			all = append(all, c.samples[i]...)
			rows += c.rows[i]
			if c.errs[i] > 0 && first[i] == nil {
				first[i] = c.firstErr[i]
				sr.FirstError = errorLine(first[i])
			}
			sr.Errors += c.errs[i]
		}
		slices.SortFunc(all, func(a, b sample) int { return cmp.Compare(a.at, b.at) })
		ms := make([]float64, len(all))
		for j, s := range all {
			ms[j] = float64(s.d) / float64(time.Millisecond)
		}
		sr.Samples = ms
		sr.Calls = len(ms)
		if sr.Calls > 0 {
			sr.RowsPerCall = float64(rows) / float64(sr.Calls)
		}
		summarize(sr)
	}
	run.Requests = r.collectRequests(clients)
	return first
}

// collectRequests merges the clients' request samples, one RequestRun per
// leading statement of a request, in workload order.
func (r *runner) collectRequests(clients []*client) []RequestRun {
	var out []RequestRun
	for i, s := range r.w.Statements {
		if !s.Request() {
			continue
		}
		rr := RequestRun{Name: s.Name, Pair: s.Pair, Variant: s.Variant}
		var all []requestSample
		runs := make([]int64, len(s.Then))
		for _, c := range clients {
			if c.reqs == nil {
				continue
			}
			all = append(all, c.reqs[i]...)
			rr.Errors += c.reqErrs[i]
			for fi, n := range c.reqRuns[i] {
				runs[fi] += n
			}
		}
		slices.SortFunc(all, func(a, b requestSample) int { return cmp.Compare(a.at, b.at) })
		rr.Calls = len(all)
		counted := true
		var queries, rows, bytes float64
		for _, q := range all {
			rr.Samples = append(rr.Samples, float64(q.d)/float64(time.Millisecond))
			rr.Queries = append(rr.Queries, q.queries)
			rr.Rows = append(rr.Rows, q.rows)
			rr.LeaderRows = append(rr.LeaderRows, q.leader)
			rr.Bytes = append(rr.Bytes, q.recv)
			queries += float64(q.queries)
			rows += float64(q.rows)
			bytes += float64(q.recv)
			counted = counted && q.recv >= 0
		}
		if !counted {
			rr.Bytes = nil
		}
		// Requests that failed ran their statements too: the per-request
		// counts are over every request led, as the statements' calls are.
		led := float64(rr.Calls + rr.Errors)
		rr.Statements = append(rr.Statements, RequestStatement{Name: s.Name, PerRequest: 1})
		for fi, f := range s.Then {
			per := 0.0
			if led > 0 {
				per = float64(runs[fi]) / led
			}
			rr.Statements = append(rr.Statements, RequestStatement{Name: r.w.Statements[f.Statement].Name, PerRow: f.PerRow, PerRequest: per})
		}
		if n := float64(rr.Calls); n > 0 {
			rr.QueriesPerRequest, rr.RowsPerRequest = queries/n, rows/n
			if counted {
				b := bytes / n
				rr.BytesPerRequest = &b
			}
			st := StatementRun{Samples: rr.Samples}
			summarize(&st)
			rr.P50Ms, rr.P90Ms, rr.P99Ms, rr.MeanMs, rr.StddevMs = st.P50Ms, st.P90Ms, st.P99Ms, st.MeanMs, st.StddevMs
		}
		out = append(out, rr)
	}
	return out
}

// requestServer sets each request's server time from its statements'.
func requestServer(run *Run) {
	for i := range run.Requests {
		rr := &run.Requests[i]
		total := 0.0
		for _, st := range rr.Statements {
			sr := run.Statement(st.Name)
			if sr == nil || sr.Server == nil {
				total = math.NaN()
				break
			}
			total += sr.Server.MeanMs * st.PerRequest
		}
		if rr.Calls > 0 && !math.IsNaN(total) {
			rr.ServerMs = &total
		}
	}
}

// errorLine is an error on one line, with a server error's code.
func errorLine(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return fmt.Sprintf("%s (SQLSTATE %s)", pgErr.Message, pgErr.Code)
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}

// leaders returns the indexes of the statements that run on their own.
func (w *Workload) leaders() []int {
	var out []int
	for i, s := range w.Statements {
		if s.Leader {
			out = append(out, i)
		}
	}
	return out
}

// schedule hands out calls: rounds in which every leading statement runs
// once, each round in a freshly shuffled order, until the rounds are done
// or the deadline has passed.
type schedule struct {
	mu       sync.Mutex
	order    []int
	rng      *rand.Rand
	round    int
	pos      int
	rounds   int // 0: until the deadline
	deadline time.Time
	start    time.Time
}

func newSchedule(leaders []int, seed uint64, rounds int, deadline time.Time) *schedule {
	s := &schedule{
		order: slices.Clone(leaders), rng: rand.New(rand.NewPCG(seed, 0x5eed)),
		rounds: rounds, deadline: deadline, start: time.Now(),
	}
	s.shuffle()
	return s
}

func (s *schedule) shuffle() {
	s.rng.Shuffle(len(s.order), func(i, j int) { s.order[i], s.order[j] = s.order[j], s.order[i] })
}

// next returns the statement and round of the next call.
func (s *schedule) next() (stmt, round int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pos == len(s.order) {
		s.round++
		s.pos = 0
		s.shuffle()
	}
	if s.rounds > 0 && s.round >= s.rounds {
		return 0, 0, false
	}
	if !s.deadline.IsZero() && !time.Now().Before(s.deadline) {
		return 0, 0, false
	}
	stmt = s.order[s.pos]
	s.pos++
	return stmt, s.round, true
}

func (s *schedule) progress(phase string, done, total int64) Progress {
	if !s.deadline.IsZero() {
		return Progress{Phase: phase, Done: min(time.Since(s.start).Milliseconds(), total), Total: total}
	}
	return Progress{Phase: phase, Done: done, Total: total}
}
