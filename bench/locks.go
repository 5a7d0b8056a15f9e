package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// lockNotAvailable is the SQLSTATE of a lock not granted within
// lock_timeout.
const lockNotAvailable = "55P03"

// lockHoldersShown caps the sessions a lock timeout names.
const lockHoldersShown = 3

// lockHoldersSQL lists the relations of this database that other sessions
// hold an ACCESS EXCLUSIVE lock on, the one lock mode that blocks a
// statement being prepared or read (its ACCESS SHARE lock), with who
// holds each: what a lock timeout while preparing a workload waited for.
const lockHoldersSQL = `SELECT l.relation::regclass::text, a.pid, coalesce(a.application_name, ''), coalesce(a.state, ''),
	coalesce(extract(epoch FROM now() - coalesce(a.xact_start, a.backend_start)), 0)::float8,
	coalesce(left(a.query, 200), ''), current_setting('lock_timeout')
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'relation' AND l.granted AND l.mode = 'AccessExclusiveLock'
  AND l.pid <> pg_backend_pid()
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY 1, 2
LIMIT $1`

// lockContext says, for a lock timeout, which tables other sessions hold
// locked and who holds them, read on conn right after the error; "" for
// another error or when the lookup fails. The waiting is over by then: a
// lock released in between is not named.
func lockContext(ctx context.Context, conn Conn, err error) string {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != lockNotAvailable {
		return ""
	}
	rows, qerr := conn.Query(ctx, lockHoldersSQL, lockHoldersShown+1)
	if qerr != nil {
		return ""
	}
	defer rows.Close()
	var held []string
	timeout := ""
	for rows.Next() {
		var (
			rel, app, state, query string
			pid                    int32
			age                    float64
		)
		if rows.Scan(&rel, &pid, &app, &state, &age, &query, &timeout) != nil {
			return ""
		}
		h := fmt.Sprintf("%s by pid %d", rel, pid)
		if app != "" {
			h += " (" + app + ")"
		}
		if state != "" {
			h += ", " + state
		}
		h += fmt.Sprintf(" for %s", (time.Duration(age * float64(time.Second))).Round(time.Second))
		if q := strings.TrimRight(strings.Join(strings.Fields(query), " "), "; "); q != "" {
			h += ": " + q
		}
		held = append(held, h)
	}
	if rows.Err() != nil {
		return ""
	}
	if len(held) == 0 {
		return "; the session that held the lock has let it go since: run again"
	}
	more := ""
	if len(held) > lockHoldersShown {
		held, more = held[:lockHoldersShown], " and more"
	}
	return fmt.Sprintf("; waited lock_timeout (%s) for a lock another session holds: ACCESS EXCLUSIVE on %s%s; run again once it is released",
		timeout, strings.Join(held, "; on "), more)
}

// serverError is the server refusing for a reason of its own state (see
// pg.ServerCondition), said in one line: what bench was doing, the
// server's message and SQLSTATE, and what it found out. It unwraps to
// the server's error.
type serverError struct {
	msg string
	err error
}

// newServerError says err happened while doing what, with more after it.
func newServerError(what string, err error, more string) *serverError {
	return &serverError{msg: "bench: " + what + ": " + errorLine(err) + more, err: err}
}

func (e *serverError) Error() string { return e.msg }
func (e *serverError) Unwrap() error { return e.err }
