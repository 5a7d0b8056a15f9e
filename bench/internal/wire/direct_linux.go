//go:build linux

package wire

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"golang.org/x/sys/unix"
)

// HasDirect says whether this system has the direct path: Open takes a
// TCP or Unix socket over for it.
const HasDirect = true

// executeAll is an Execute message of the unnamed portal, for every row;
// syncMessage a Sync.
var (
	executeAll  = [...]byte{'E', 0, 0, 0, 9, 0, 0, 0, 0, 0}
	syncMessage = [...]byte{'S', 0, 0, 0, 4}
)

// yieldEvery is how often a client on the direct path (or a group of
// them, see runGroup) passes through the Go scheduler. Its system calls
// keep its P (sys_linux.go), so the rest of the program (timers, the
// cancellation of a phase, signals, the garbage collector) runs when it
// yields; and once a goroutine has gone 10 ms (the runtime's
// forcePreemptNS) without, the runtime's monitor preempts it with a
// signal. With no idle P (runDirect runs one P per group) a yield wakes
// no other thread and the goroutine goes on where it was.
const yieldEvery = 5 * time.Millisecond

// wireReadBuf is the read buffer's starting size: a reply of a few rows
// comes in one read; a larger message grows it.
const wireReadBuf = 16 << 10

// direct is a client's connection taken over from pgconn for the phases:
// each call writes its BEGIN, the statement's Bind and Execute, its
// ROLLBACK and Sync in one write(2) (execInTx), waits in poll(2) and reads
// the reply up to ReadyForQuery, so that it waits for the server in the
// kernel, as pgbench does.
//
// It owns a duplicate of the socket's descriptor and closes pgconn's,
// which takes the socket out of the Go runtime's network poller. While the
// poller watched it, every reply also woke the thread the runtime keeps in
// epoll_wait, and a call through pgconn parked its goroutine and woke it
// on another thread: on a two-core machine those extra context switches,
// taken from the server's cores, were what made bench slower than pgbench
// (see make bench-harness).
type direct struct {
	// mu guards fd against Close while Shutdown uses it from another
	// goroutine; the calls themselves run on one goroutine.
	mu     sync.Mutex
	fd     int
	closed bool

	out  []byte
	in   []byte
	r, w int // in[r:w] is read and not yet parsed
	bind pgproto3.Bind
	pfd  [1]unix.PollFd
	lost error
	// park, while the session's client runs in a group (runGroup), waits
	// for the socket in the group's poll instead of a poll of its own.
	park func(events int16) error
	// kept collects the rows of a reply, as text (nil for NULL), while
	// keep is on (queryRows, CallRows); a measured call only counts them.
	keep bool
	kept [][][]byte
	// received counts the bytes read from the socket (Received): one
	// addition per read(2).
	received int64
	// status is the transaction status of the last ReadyForQuery: 'I'
	// idle, 'T' in a transaction block, 'E' in a failed one.
	status byte
	// begin holds Bind and Execute of the prepared BEGIN READ ONLY
	// (begin[0]) and BEGIN READ WRITE (begin[1]), end those of the
	// prepared ROLLBACK and a Sync: what execInTx writes around a call.
	begin [2][]byte
	end   []byte
	// yielded is when the client last passed through the scheduler
	// (yieldEvery), while it runs alone rather than in a group.
	yielded time.Time
}

// lostBy is Lost for an error of the connection itself (not the server's
// word, not a session left in a transaction): its text says the
// connection was lost.
func lostBy(err error) error {
	if errors.Is(err, ErrLost) {
		return err
	}
	return &lostError{fmt.Errorf("%w: %w", ErrLost, err)}
}

// openDirect takes pc's socket over from pgconn and readies the calls'
// transaction statements, or returns nil when the socket cannot be used
// directly (TLS) and the calls should stay on pgconn.
func openDirect(ctx context.Context, pc *pgconn.PgConn, tx TxStatements) (Session, error) {
	w, err := hijack(ctx, pc)
	if err != nil || w == nil {
		return nil, err
	}
	if err := w.useTransactions(tx); err != nil {
		w.Close(ctx)
		return nil, err
	}
	return w, nil
}

// IsDirect reports whether s runs its calls on the direct path.
func IsDirect(s Session) bool {
	_, ok := s.(*direct)
	return ok
}

// hijack takes conn's socket over from pgconn, or returns nil when it
// cannot be used directly (TLS) and the calls should stay on pgconn. After
// it, conn is closed to pgx and only the direct session talks to the
// server.
func hijack(ctx context.Context, pc *pgconn.PgConn) (*direct, error) {
	switch socket(pc.Conn()).(type) {
	case *net.TCPConn, *net.UnixConn:
	default:
		return nil, nil
	}
	// Nothing may be left in pgconn's buffers.
	if err := pc.SyncConn(ctx); err != nil {
		return nil, err
	}
	hc, err := pc.Hijack()
	if err != nil {
		return nil, err
	}
	rc, err := socket(hc.Conn).(syscall.Conn).SyscallConn()
	if err != nil {
		hc.Conn.Close()
		return nil, &lostError{err}
	}
	fd, derr := -1, error(nil)
	err = rc.Control(func(s uintptr) {
		syscall.ForkLock.RLock()
		defer syscall.ForkLock.RUnlock()
		if fd, derr = syscall.Dup(int(s)); derr == nil {
			syscall.CloseOnExec(fd)
		}
	})
	// Closing pgconn's descriptor takes the socket out of the poller; the
	// duplicate keeps it open.
	hc.Conn.Close()
	if err = cmp.Or(err, derr); err != nil {
		return nil, &lostError{fmt.Errorf("take the socket over: %w", err)}
	}
	// The descriptor stays in non-blocking mode: calls wait in poll(2).
	return &direct{fd: fd, in: make([]byte, wireReadBuf), status: pc.TxStatus(), yielded: time.Now()}, nil
}

// Call is execInTx, timed, then settle; a client that runs alone (not in
// a group, see runGroup) then passes through the scheduler every
// yieldEvery. ctx is not used: Shutdown interrupts a call.
func (w *direct) Call(_ context.Context, readWrite bool, name string, params [][]byte) (rows int64, start time.Time, d time.Duration, err error) {
	start = time.Now()
	rows, err = w.execInTx(readWrite, name, params)
	end := time.Now()
	d = end.Sub(start)
	if serr := w.settle(); serr != nil {
		return 0, start, d, serr
	}
	if w.park == nil && end.Sub(w.yielded) >= yieldEvery {
		runtime.Gosched()
		w.yielded = end
	}
	return rows, start, d, err
}

// CallRows is Call keeping the statement's rows.
func (w *direct) CallRows(ctx context.Context, readWrite bool, name string, params [][]byte) (rows [][][]byte, start time.Time, d time.Duration, err error) {
	w.keep, w.kept = true, nil
	defer func() { w.keep, w.kept = false, nil }()
	_, start, d, err = w.Call(ctx, readWrite, name, params)
	if err != nil {
		return nil, start, d, err
	}
	return w.kept, start, d, nil
}

// Received is the bytes read from the socket so far.
func (w *direct) Received() int64 { return w.received }

// Query is queryRows, then settle.
func (w *direct) Query(_ context.Context, sql string) ([][]string, error) {
	rows, err := w.queryRows(sql)
	if serr := w.settle(); serr != nil {
		return nil, serr
	}
	return rows, err
}

// TxStatus is the status of the last ReadyForQuery.
func (w *direct) TxStatus() byte { return w.status }

// Shutdown ends the connection at once from any goroutine, waking a call
// blocked on it: closing the descriptor would not wake a poll(2) in
// progress.
func (w *direct) Shutdown() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		syscall.Shutdown(w.fd, syscall.SHUT_RDWR)
	}
}

// Close says goodbye to the server (Terminate) and closes the socket.
func (w *direct) Close(context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.closed = true
	if w.lost == nil {
		syscall.Write(w.fd, []byte{'X', 0, 0, 0, 4})
	}
	syscall.Close(w.fd)
}

// useTransactions gives execInTx the statements, prepared on the
// connection before it was taken over, that open a READ ONLY and a READ
// WRITE transaction and that roll one back. Their Bind and Execute are
// encoded once, here.
func (w *direct) useTransactions(tx TxStatements) error {
	for i, name := range []string{tx.BeginReadOnly, tx.BeginReadWrite} {
		b, err := (&pgproto3.Bind{PreparedStatement: name}).Encode(nil)
		if err != nil {
			return err
		}
		w.begin[i] = append(b, executeAll[:]...)
	}
	b, err := (&pgproto3.Bind{PreparedStatement: tx.Rollback}).Encode(nil)
	if err != nil {
		return err
	}
	w.end = append(append(b, executeAll[:]...), syncMessage[:]...)
	return nil
}

// execInTx runs the prepared statement name with params (text format, nil
// for NULL; text results, as pgconn and pgbench -M prepared ask for) and
// returns the rows it sent back. No Describe: the rows are counted, not
// read. A statement's error (a *pgconn.PgError) leaves the wire usable;
// an error wrapping ErrLost does not.
//
// It runs inside a transaction that is always rolled back: Bind and
// Execute of the prepared BEGIN (READ WRITE when readWrite, else READ
// ONLY), of the statement and of the prepared ROLLBACK, then Sync, in one
// write(2), and one reply read up to its one ReadyForQuery. Nothing the statement does can be
// committed, whatever it contains: not its writes, not a set_config or SET
// of the session's settings (the rollback undoes them). When the
// statement fails, the server skips the ROLLBACK and the session is left
// in a failed transaction block (status 'E'): settle ends it. It needs
// useTransactions first.
func (w *direct) execInTx(readWrite bool, name string, params [][]byte) (rows int64, err error) {
	if w.lost != nil {
		return 0, w.lost
	}
	if w.end == nil {
		return 0, errors.New("wire: no transaction statements on the session (useTransactions)")
	}
	begin := w.begin[0]
	if readWrite {
		begin = w.begin[1]
	}
	out := append(w.out[:0], begin...)
	w.bind.PreparedStatement = name
	w.bind.Parameters = params
	out, err = w.bind.Encode(out)
	if err != nil {
		w.out = out[:0]
		return 0, err // too many parameters: the statement's own fault
	}
	out = append(out, executeAll[:]...)
	out = append(out, w.end...)
	w.out = out
	return w.reply(out)
}

// settle brings the session back out of a transaction block that a call
// left it in (a failed statement skips the ROLLBACK; a statement could end
// the block itself): a ROLLBACK, after which the session must be idle. A
// session that is not makes the wire lost, with ErrLeftInTransaction.
func (w *direct) settle() error {
	if w.lost != nil {
		return w.lost
	}
	if w.status == 'I' {
		return nil
	}
	before := w.status
	if err := w.query("ROLLBACK"); err != nil && w.lost != nil {
		return w.lost
	}
	if w.status != 'I' {
		return w.fail(fmt.Errorf("%w (transaction status %q after a call, %q after ROLLBACK)", ErrLeftInTransaction, before, w.status))
	}
	return nil
}

// query runs sql with the simple protocol (BEGIN, ROLLBACK) and returns
// its error.
func (w *direct) query(sql string) error {
	if w.lost != nil {
		return w.lost
	}
	out := append(w.out[:0], 'Q', 0, 0, 0, 0)
	out = append(out, sql...)
	out = append(out, 0)
	binary.BigEndian.PutUint32(out[1:], uint32(len(out)-1))
	w.out = out
	_, err := w.reply(out)
	return err
}

// queryRows runs sql with the simple protocol and returns its rows, each
// value as text (NULL as "").
func (w *direct) queryRows(sql string) ([][]string, error) {
	w.keep, w.kept = true, nil
	defer func() { w.keep, w.kept = false, nil }()
	if err := w.query(sql); err != nil {
		return nil, err
	}
	rows := make([][]string, len(w.kept))
	for i, r := range w.kept {
		rows[i] = make([]string, len(r))
		for j, v := range r {
			rows[i][j] = string(v)
		}
	}
	return rows, nil
}

// reply writes out and reads the reply up to ReadyForQuery.
func (w *direct) reply(out []byte) (rows int64, err error) {
	if err := w.write(out); err != nil {
		return 0, w.fail(err)
	}
	var stmtErr error
	for {
		typ, body, err := w.next()
		if err != nil {
			return 0, w.fail(err)
		}
		switch typ {
		case 'D': // DataRow
			rows++
			if w.keep {
				var row pgproto3.DataRow
				if err := row.Decode(body); err != nil {
					return 0, w.fail(fmt.Errorf("decode a row: %w", err))
				}
				vals := make([][]byte, len(row.Values))
				for i, v := range row.Values {
					if v != nil {
						vals[i] = append([]byte{}, v...)
					}
				}
				w.kept = append(w.kept, vals)
			}
		case 'Z': // ReadyForQuery
			if len(body) > 0 {
				w.status = body[0]
			}
			if stmtErr != nil {
				return 0, stmtErr
			}
			return rows, nil
		case 'E': // ErrorResponse
			var msg pgproto3.ErrorResponse
			if err := msg.Decode(body); err != nil {
				return 0, w.fail(fmt.Errorf("decode an error response: %w", err))
			}
			pgErr := pgconn.ErrorResponseToPgError(&msg)
			switch pgErr.SeverityUnlocalized {
			case "FATAL", "PANIC": // the server ends the session after it
				return 0, w.fail(pgErr)
			}
			if stmtErr == nil {
				stmtErr = pgErr
			}
		case '2', 'C', 'I', 'n', 's', 'N', 'S', 'A', 'T', 'H', 'd', 'c':
			// BindComplete, CommandComplete, EmptyQueryResponse, NoData,
			// PortalSuspended, NoticeResponse, ParameterStatus,
			// NotificationResponse, RowDescription (simple protocol),
			// CopyOutResponse, CopyData, CopyDone (COPY … TO STDOUT):
			// nothing a call keeps.
		default:
			return 0, w.fail(fmt.Errorf("unexpected message %q from the server", typ))
		}
	}
}

// fail marks the wire lost by err.
func (w *direct) fail(err error) error {
	if errors.Is(err, ErrLost) {
		return err
	}
	if err == io.EOF {
		err = errors.New("the server closed the connection")
	}
	if _, ok := errors.AsType[*pgconn.PgError](err); ok || errors.Is(err, ErrLeftInTransaction) {
		w.lost = Lost(err)
	} else {
		w.lost = lostBy(err)
	}
	return w.lost
}

// write writes b whole.
func (w *direct) write(b []byte) error {
	for len(b) > 0 {
		n, err := sysWrite(w.fd, b)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			if err := w.wait(unix.POLLOUT); err != nil {
				return err
			}
			continue
		case err != nil:
			return err
		}
		b = b[n:]
	}
	return nil
}

// next reads the next message. A DataRow's body is skipped, not kept,
// whatever its size, unless the rows are kept.
func (w *direct) next() (typ byte, body []byte, err error) {
	if err := w.fill(5); err != nil {
		return 0, nil, err
	}
	typ = w.in[w.r]
	n := int(binary.BigEndian.Uint32(w.in[w.r+1:])) - 4
	if n < 0 {
		return 0, nil, fmt.Errorf("message %q of length %d", typ, n+4)
	}
	w.r += 5
	if typ == 'D' && !w.keep {
		return typ, nil, w.skip(n)
	}
	if err := w.fill(n); err != nil {
		return 0, nil, err
	}
	body = w.in[w.r : w.r+n]
	w.r += n
	return typ, body, nil
}

// skip discards the next n bytes of the stream.
func (w *direct) skip(n int) error {
	for {
		have := w.w - w.r
		if have >= n {
			w.r += n
			return nil
		}
		n -= have
		w.r, w.w = 0, 0
		if err := w.read(); err != nil {
			return err
		}
	}
}

// fill makes in[r:w] hold at least n bytes.
func (w *direct) fill(n int) error {
	if w.w-w.r >= n {
		return nil
	}
	if w.r > 0 {
		w.w = copy(w.in, w.in[w.r:w.w])
		w.r = 0
	}
	if n > len(w.in) {
		bigger := make([]byte, max(n, 2*len(w.in)))
		copy(bigger, w.in[:w.w])
		w.in = bigger
	}
	for w.w < n {
		if err := w.read(); err != nil {
			return err
		}
	}
	return nil
}

// read appends what the socket has to in[:w], waiting for it if it has
// nothing yet. It reads before it waits, as pgbench does: on a machine
// where the server runs too, the backend woken by a request often runs
// (and answers) before the client gets its CPU back, and the reply is
// there without a wait.
func (w *direct) read() error {
	for {
		n, err := sysRead(w.fd, w.in[w.w:])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			if err := w.wait(unix.POLLIN); err != nil {
				return err
			}
			continue
		case err != nil:
			return err
		case n == 0:
			return io.EOF
		}
		w.w += n
		w.received += int64(n)
		return nil
	}
}

// wait blocks in poll(2) until the socket is ready for events (or closed).
// A read(2) blocked on a Unix socket would also be woken, for nothing,
// each time the server reads a request (the socket's single wait queue
// hears "writable" too); poll listens for the events asked only, as
// pgbench's wait does.
func (w *direct) wait(events int16) error {
	if w.park != nil {
		return w.park(events)
	}
	w.pfd[0] = unix.PollFd{Fd: int32(w.fd), Events: events}
	for {
		if _, err := sysPoll(w.pfd[:]); err != unix.EINTR {
			return err
		}
	}
}
