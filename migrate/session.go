package migrate

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hishamos/hishamos-perf/internal/pg"
)

// lockName is what the atlas CLI locks while it applies migrations; taking
// the same advisory lock keeps this tool and the atlas CLI from applying at
// the same time.
const lockName = "atlas_migrate_execute"

// LockKey is the advisory lock key appliers hold: FNV-32 of lockName, as
// Atlas's PostgreSQL driver computes it.
var LockKey = func() int64 {
	h := fnv.New32()
	h.Write([]byte(lockName))
	return int64(h.Sum32())
}()

// Defaults of ApplyOptions, and where they come from.
const (
	// DefaultWait is how long apply polls for the migration lock.
	DefaultWait = 30 * time.Second
	// DefaultLockTimeout caps each wait for a table lock: long enough for
	// a busy table's short transactions, short enough not to hold a queue
	// of writers behind the build's lock request for long.
	DefaultLockTimeout = 5 * time.Second
	// DefaultRetries is how many times a lock timeout or deadlock is
	// retried before apply stops.
	DefaultRetries = 4
	// DefaultBackoff and DefaultMaxBackoff bound the wait between retries:
	// it doubles from DefaultBackoff up to DefaultMaxBackoff, jittered.
	DefaultBackoff    = 500 * time.Millisecond
	DefaultMaxBackoff = 15 * time.Second
	// DefaultLongTransaction is the age past which an open transaction is
	// reported before a build: CREATE INDEX CONCURRENTLY waits for every
	// transaction older than its snapshot.
	DefaultLongTransaction = 10 * time.Second
	// lockPollMin and lockPollMax bound the interval between two
	// pg_try_advisory_lock calls.
	lockPollMin = 50 * time.Millisecond
	lockPollMax = time.Second
)

// ErrLocked is returned when another applier holds the migration lock.
var ErrLocked = errors.New("another applier holds the migration lock")

// Holder is a session that holds a lock apply needs.
type Holder struct {
	PID             int32      `json:"pid"`
	ApplicationName string     `json:"application_name"`
	User            string     `json:"user"`
	State           string     `json:"state"`
	Query           string     `json:"query"`
	Mode            string     `json:"mode,omitempty"`
	XactStart       *time.Time `json:"xact_start,omitempty"`
	// Age is how long its transaction (else its session) has been open.
	Age time.Duration `json:"age"`
	// QueryStart is when its current (or, idle, its last) query started,
	// and QueryAge how long ago: a session idle in transaction since its
	// last query is the one to look at.
	QueryStart *time.Time    `json:"query_start,omitempty"`
	QueryAge   time.Duration `json:"query_age,omitempty"`
}

// String describes the session in one line: pid, application, lock,
// state, age and query.
func (h Holder) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pid %d", h.PID)
	if h.ApplicationName != "" {
		fmt.Fprintf(&b, " (%s)", h.ApplicationName)
	}
	if h.User != "" {
		fmt.Fprintf(&b, " user %s", h.User)
	}
	if h.Mode != "" {
		fmt.Fprintf(&b, " holding %s", h.Mode)
	}
	if h.State != "" {
		fmt.Fprintf(&b, ", %s", h.State)
	}
	if h.Age > 0 {
		fmt.Fprintf(&b, " for %s", roundAge(h.Age))
	}
	if h.QueryStart != nil {
		fmt.Fprintf(&b, ", its query started %s ago", roundAge(h.QueryAge))
	}
	if q := strings.Join(strings.Fields(h.Query), " "); q != "" {
		if len(q) > 120 {
			q = q[:117] + "..."
		}
		fmt.Fprintf(&b, ": %s", q)
	}
	return b.String()
}

// roundAge rounds an age for a message: to the second from a second up,
// to the millisecond below, so that a transaction opened a moment ago
// does not read as "0s".
func roundAge(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}

// LockedError is ErrLocked with who holds the lock.
type LockedError struct {
	Waited  time.Duration
	Holders []Holder
}

// Error names who holds the lock.
func (e *LockedError) Error() string { return e.Message(optionField) }

// Message names who holds the lock and, with name, the option that waits
// longer for it.
func (e *LockedError) Message(name func(Option) string) string {
	who := "a session that ended meanwhile"
	if len(e.Holders) > 0 {
		hs := make([]string, len(e.Holders))
		for i, h := range e.Holders {
			hs[i] = h.String()
		}
		who = strings.Join(hs, "; ")
	}
	return fmt.Sprintf("migrate: %v after waiting %s: held by %s (wait for it to finish, or raise %s)", ErrLocked, e.Waited.Round(time.Millisecond), who, name(OptWait))
}

// Unwrap lets errors.Is find ErrLocked.
func (e *LockedError) Unwrap() error { return ErrLocked }

const holderColumns = `a.pid, coalesce(a.application_name, ''), coalesce(a.usename::text, ''), coalesce(a.state, ''),
	coalesce(left(a.query, 500), ''), a.xact_start, extract(epoch FROM now() - coalesce(a.xact_start, a.backend_start)),
	a.query_start, coalesce(extract(epoch FROM now() - a.query_start), 0)`

func scanHolders(rows pgx.Rows, withMode bool) ([]Holder, error) {
	defer rows.Close()
	var hs []Holder
	for rows.Next() {
		var (
			h             Holder
			age, queryAge float64
		)
		dest := []any{&h.PID, &h.ApplicationName, &h.User, &h.State, &h.Query, &h.XactStart, &age, &h.QueryStart, &queryAge}
		if withMode {
			dest = append(dest, &h.Mode)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		h.Age = time.Duration(age * float64(time.Second))
		h.QueryAge = time.Duration(queryAge * float64(time.Second))
		hs = append(hs, h)
	}
	return hs, rows.Err()
}

// lockHolders names the sessions holding the migration lock.
func lockHolders(ctx context.Context, q pg.Querier) ([]Holder, error) {
	rows, err := q.Query(ctx, `SELECT `+holderColumns+`
	FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
	WHERE l.locktype = 'advisory' AND l.granted AND l.pid <> pg_backend_pid()
	  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
	  AND l.classid = ($1::bigint >> 32)::oid AND l.objid = ($1::bigint & 4294967295)::oid AND l.objsubid = 1`, LockKey)
	if err != nil {
		return nil, err
	}
	return scanHolders(rows, false)
}

// acquireLock polls pg_try_advisory_lock until it is granted or wait has
// passed. It never blocks in pg_advisory_lock: a session waiting there
// holds a transaction open, and a concurrent CREATE INDEX CONCURRENTLY
// would wait for it forever (while it waits for the build's lock).
func acquireLock(ctx context.Context, conn *pgx.Conn, wait time.Duration, observe func(Event)) (func(), error) {
	start := time.Now()
	interval := lockPollMin
	told := false
	for {
		var ok bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, LockKey).Scan(&ok); err != nil {
			return nil, fmt.Errorf("migrate: take the migration lock: %w", err)
		}
		if ok {
			return func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if !conn.IsClosed() {
					conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, LockKey)
				}
			}, nil
		}
		waited := time.Since(start)
		if waited >= wait {
			hs, _ := lockHolders(ctx, conn)
			return nil, &LockedError{Waited: waited, Holders: hs}
		}
		if !told && observe != nil {
			hs, _ := lockHolders(ctx, conn)
			msg := "waiting for the migration lock"
			if len(hs) > 0 {
				msg += ", held by " + hs[0].String()
			}
			observe(Event{Kind: EventLockWait, Message: msg, Wait: wait})
			told = true
		}
		d := min(jitter(interval), wait-waited)
		if err := sleep(ctx, d); err != nil {
			return nil, err
		}
		interval = min(interval*2, lockPollMax)
	}
}

// jitter returns a duration between d/2 and d, so appliers that start
// together do not poll or retry in step.
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// backoff is the wait before retry attempt n (1-based): base doubled n-1
// times, capped, jittered.
func backoff(n int, base, max time.Duration) time.Duration {
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	return jitter(min(d, max))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retryable reports whether err is a lock timeout (55P03) or a deadlock
// (40P01), the two failures that a retry can get past.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "55P03" || pgErr.Code == "40P01")
}

// setSession puts the session's timeouts in place: lock_timeout for every
// statement, and no statement_timeout, since a build stopped by one leaves
// an INVALID index behind.
func setSession(ctx context.Context, conn *pgx.Conn, lockTimeout time.Duration) error {
	_, err := conn.Exec(ctx, `SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', '0', false)`,
		fmt.Sprintf("%dms", lockTimeout.Milliseconds()))
	if err != nil {
		return fmt.Errorf("migrate: set lock_timeout: %w", err)
	}
	return nil
}

// PinnedSearchPath is the search_path apply, down, repair, status and lint
// run under: pg_catalog alone, as pg_dump's scripts do. A table name
// without its schema then finds no user table at all, instead of the
// first one of that name on whatever search_path the DSN, the role or the
// database sets; every name a migration uses must carry its schema, and
// apply refuses a file where one does not (ErrUnqualified).
const PinnedSearchPath = "pg_catalog"

// pinSearchPath sets the session's search_path to PinnedSearchPath, and
// returns what sets it back as it was: the session is the caller's.
func pinSearchPath(ctx context.Context, q pg.Querier) (restore func(), err error) {
	var was string
	if err := q.QueryRow(ctx, `SELECT current_setting('search_path'), set_config('search_path', $1, false)`, PinnedSearchPath).Scan(&was, nil); err != nil {
		return nil, fmt.Errorf("migrate: pin search_path: %w", err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if c, ok := q.(*pgx.Conn); ok && (c.IsClosed() || c.PgConn().TxStatus() != 'I') {
			return
		}
		q.Exec(ctx, `SELECT set_config('search_path', $1, false)`, was)
	}, nil
}

// longTransactions lists this database's transactions open longer than
// age, which a concurrent build has to wait for.
func longTransactions(ctx context.Context, q pg.Querier, age time.Duration) ([]Holder, error) {
	rows, err := q.Query(ctx, `SELECT `+holderColumns+`
	FROM pg_stat_activity a
	WHERE a.pid <> pg_backend_pid() AND a.datname = current_database() AND a.xact_start IS NOT NULL
	  AND a.backend_type = 'client backend' AND a.xact_start < now() - make_interval(secs => $1)
	ORDER BY a.xact_start LIMIT 10`, age.Seconds())
	if err != nil {
		return nil, err
	}
	return scanHolders(rows, false)
}

// tableHolders names the sessions holding a lock on the table that a
// concurrent build waits for: one that conflicts with the SHARE UPDATE
// EXCLUSIVE lock it takes, or a write lock (ROW EXCLUSIVE), whose
// transaction it waits to end once its index is in the catalog; with
// none, the open transactions it waits for.
func tableHolders(ctx context.Context, q pg.Querier, table string) ([]Holder, error) {
	rows, err := q.Query(ctx, `SELECT `+holderColumns+`, l.mode
	FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
	WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_backend_pid()
	  AND l.relation = to_regclass($1)
	  AND l.mode IN ('RowExclusiveLock', 'ShareUpdateExclusiveLock', 'ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')
	ORDER BY l.mode = 'RowExclusiveLock', a.xact_start NULLS LAST`, table)
	if err != nil {
		return nil, err
	}
	hs, err := scanHolders(rows, true)
	if err != nil || len(hs) > 0 {
		return hs, err
	}
	return longTransactions(ctx, q, 0)
}
