// Package wire runs the calls of a bench run's phases on a client's
// connection, behind one interface, Session, so that bench's runner asks
// for a session (Open), makes its calls and never learns how they travel.
//
// There are two ways. The direct path (Linux only, direct_linux.go) takes
// the connection's socket over from pgconn and speaks the protocol itself:
// one write(2) per call, raw system calls, clients grouped on threads that
// wait for all their sockets in one poll(2), so that bench costs a call no
// more than pgbench does (make bench-harness). The portable path (pgconn.go)
// sends the same call as one pgconn batch; it is what a TLS connection
// takes (its socket is encrypted, so it cannot be written directly) and
// what every system but Linux takes. Both run a call the same way: inside
// a transaction of its own that is always rolled back, and leave the
// session idle after it or lost.
package wire

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Session is one client's connection for the phases of a run, once Open
// has taken it over. Its calls run on one goroutine at a time; Shutdown
// may come from any.
type Session interface {
	// Call runs the prepared statement name with params (text format,
	// nil for NULL; text results) inside a transaction of its own that
	// is always rolled back, READ WRITE when readWrite and READ ONLY
	// otherwise: BEGIN, the statement and ROLLBACK in one round trip.
	// It returns the rows the statement sent (0 with an error), when the round trip
	// started and how long it took: from sending it to having read the
	// end of its reply, BEGIN and ROLLBACK included. After it the
	// session is idle (a failed statement's transaction is ended by one
	// more ROLLBACK, not timed), or the error wraps ErrLost. An error
	// that does not wrap ErrLost is the statement's, and the session is
	// usable. ctx carries no cancellation that matters: Shutdown
	// interrupts a call.
	Call(ctx context.Context, readWrite bool, name string, params [][]byte) (rows int64, start time.Time, d time.Duration, err error)
	// CallRows is Call keeping the rows the statement sent, each value as
	// the server's text (nil for NULL): a request's leading statement,
	// whose rows give its per-row follow-ups their arguments. Keeping
	// them costs a copy of every value, which Call does not pay.
	CallRows(ctx context.Context, readWrite bool, name string, params [][]byte) (rows [][][]byte, start time.Time, d time.Duration, err error)
	// Received is how many bytes the session has read from the server so
	// far, counted on the socket (on the wire, below TLS): the difference
	// across calls is what they received. It is -1 when the connection
	// does not count them (one not opened by internal/pg).
	Received() int64
	// Query runs sql with the simple protocol (it may hold several
	// statements) and returns the rows every statement sent, each value
	// as text (NULL as ""); the session is idle after it, or the error
	// wraps ErrLost.
	Query(ctx context.Context, sql string) ([][]string, error)
	// TxStatus is the transaction status the server gave with its last
	// reply: 'I' idle, 'T' in a transaction block, 'E' in a failed one.
	TxStatus() byte
	// Shutdown ends the connection at once, waking a call that waits on
	// it, from any goroutine.
	Shutdown()
	// Close says goodbye to the server and closes the connection.
	Close(ctx context.Context)
}

// TxStatements names the statements, prepared on the connection before
// Open, that open a READ ONLY and a READ WRITE transaction and that roll
// one back: what Call sends around a statement.
type TxStatements struct {
	BeginReadOnly, BeginReadWrite, Rollback string
}

// ErrLost marks an error after which a session is unusable: the socket
// failed or closed, the server ended the session (a FATAL error) or sent
// what the protocol does not allow there, or a call left it in a
// transaction block (ErrLeftInTransaction).
var ErrLost = errors.New("the connection to the server was lost")

// ErrLeftInTransaction marks a session that a call left inside a
// transaction block and a ROLLBACK could not bring back out: a call after
// it would run in a transaction the run does not control, so the run
// stops.
var ErrLeftInTransaction = errors.New("the session could not be brought back out of a call's transaction")

// lostError is an error that leaves a session unusable.
type lostError struct{ err error }

func (e *lostError) Error() string   { return e.err.Error() }
func (e *lostError) Unwrap() []error { return []error{e.err, ErrLost} }

// Lost marks err as one after which the session is unusable: errors.Is
// finds ErrLost in it, and its text and cause are err's.
func Lost(err error) error {
	if errors.Is(err, ErrLost) {
		return err
	}
	return &lostError{err}
}

// Open takes pc over for the phases of a run: on the direct path where
// the system and the connection allow it (Linux, a TCP or Unix socket),
// else on pgconn. tx must be prepared on pc already. After it, pc belongs
// to the session: on the direct path it is closed to pgx, on pgconn it is
// used as it is, and nothing else may use it while the session does.
func Open(ctx context.Context, pc *pgconn.PgConn, tx TxStatements) (Session, error) {
	s, err := openDirect(ctx, pc, tx)
	if err != nil || s != nil {
		return s, err
	}
	return &pgSession{pc: pc, tx: tx}, nil
}

// Run calls loop(i) for every session i and returns when every loop has
// returned. Sessions on the direct path are spread over threads goroutines,
// each running its share of them as one pgbench -j thread does, with one P
// per goroutine for the duration (see runDirect); any other session runs
// loop on a goroutine of its own.
func Run(sessions []Session, threads int, loop func(i int)) {
	if runDirect(sessions, threads, loop) {
		return
	}
	var wg sync.WaitGroup
	for i := range sessions {
		wg.Go(func() { loop(i) })
	}
	wg.Wait()
}

// counter is a socket that counts the bytes read from it: internal/pg's
// connections' (it cannot be named here without importing it).
type counter interface {
	Received() int64
}

// netConner is a connection wrapping another, as tls.Conn and
// internal/pg's counting socket do.
type netConner interface {
	NetConn() net.Conn
}

// counting finds the counting socket under c, through TLS; nil when
// there is none.
func counting(c net.Conn) counter {
	for c != nil {
		if n, ok := c.(counter); ok {
			return n
		}
		u, ok := c.(netConner)
		if !ok {
			return nil
		}
		c = u.NetConn()
	}
	return nil
}

// socket is the connection under any wrapper but TLS: what the direct
// path takes over.
func socket(c net.Conn) net.Conn {
	for {
		if _, ok := c.(counter); !ok {
			return c
		}
		u, ok := c.(netConner)
		if !ok {
			return c
		}
		c = u.NetConn()
	}
}
