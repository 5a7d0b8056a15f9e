package wire

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// pgSession is the portable path: a call is one pgconn batch of Bind and
// Execute of the prepared BEGIN, of the statement and of the prepared
// ROLLBACK, and one Sync, straight on pgconn (pgx's Query would add its
// own bookkeeping to every call). It waits for the server in the Go
// runtime's network poller, one goroutine per client. A TLS connection
// takes it, and every connection on a system other than Linux.
type pgSession struct {
	pc *pgconn.PgConn
	tx TxStatements
	// lost is the error that made the session unusable; every later
	// call returns it without touching the connection.
	lost error
}

func (s *pgSession) Call(ctx context.Context, readWrite bool, name string, params [][]byte) (rows int64, start time.Time, d time.Duration, err error) {
	return s.call(ctx, readWrite, name, params, nil)
}

func (s *pgSession) CallRows(ctx context.Context, readWrite bool, name string, params [][]byte) (rows [][][]byte, start time.Time, d time.Duration, err error) {
	_, start, d, err = s.call(ctx, readWrite, name, params, func(vals [][]byte) {
		row := make([][]byte, len(vals))
		for i, v := range vals {
			if v != nil {
				row[i] = append([]byte{}, v...)
			}
		}
		rows = append(rows, row)
	})
	if err != nil {
		return nil, start, d, err
	}
	return rows, start, d, nil
}

func (s *pgSession) Received() int64 {
	if c := counting(s.pc.Conn()); c != nil {
		return c.Received()
	}
	return -1
}

// call is Call, handing every row's values to keep when it is set.
func (s *pgSession) call(ctx context.Context, readWrite bool, name string, params [][]byte, keep func([][]byte)) (rows int64, start time.Time, d time.Duration, err error) {
	if s.lost != nil {
		return 0, time.Now(), 0, s.lost
	}
	begin := s.tx.BeginReadOnly
	if readWrite {
		begin = s.tx.BeginReadWrite
	}
	var b pgconn.Batch
	b.ExecPrepared(begin, nil, nil, nil)
	b.ExecPrepared(name, params, nil, nil)
	b.ExecPrepared(s.tx.Rollback, nil, nil, nil)
	start = time.Now()
	mrr := s.pc.ExecBatch(ctx, &b)
	for n := 0; mrr.NextResult(); n++ {
		rr := mrr.ResultReader()
		if n == 1 { // the statement's; BEGIN's and ROLLBACK's have no rows
			for rr.NextRow() {
				rows++
				if keep != nil {
					keep(rr.Values())
				}
			}
		}
		rr.Close()
	}
	err = mrr.Close()
	d = time.Since(start)
	if serr := s.settle(ctx); serr != nil {
		return 0, start, d, serr
	}
	if err != nil {
		return 0, start, d, s.check(ctx, err)
	}
	return rows, start, d, nil
}

func (s *pgSession) Query(ctx context.Context, sql string) ([][]string, error) {
	if s.lost != nil {
		return nil, s.lost
	}
	results, err := s.pc.Exec(ctx, sql).ReadAll()
	if serr := s.settle(ctx); serr != nil {
		return nil, serr
	}
	if err = s.check(ctx, err); err != nil {
		return nil, err
	}
	var rows [][]string
	for _, r := range results {
		for _, row := range r.Rows {
			vals := make([]string, len(row))
			for i, v := range row {
				vals[i] = string(v)
			}
			rows = append(rows, vals)
		}
	}
	return rows, nil
}

func (s *pgSession) TxStatus() byte { return s.pc.TxStatus() }

func (s *pgSession) Shutdown() {
	if nc := s.pc.Conn(); nc != nil {
		nc.Close()
	}
}

func (s *pgSession) Close(ctx context.Context) { s.pc.Close(ctx) }

// settle brings the session back out of a transaction block a call left
// it in: a ROLLBACK, after which it must be idle. One that is not is
// closed, and the session lost with ErrLeftInTransaction.
func (s *pgSession) settle(ctx context.Context) error {
	if s.pc.IsClosed() || s.pc.TxStatus() == 'I' {
		return nil
	}
	s.pc.Exec(ctx, "ROLLBACK").ReadAll()
	if st := s.pc.TxStatus(); st != 'I' && !s.pc.IsClosed() {
		s.pc.Close(context.WithoutCancel(ctx))
		s.lost = Lost(fmt.Errorf("%w (transaction status %q after ROLLBACK)", ErrLeftInTransaction, st))
		return s.lost
	}
	return nil
}

// check marks the session lost when err means the connection is gone:
// pgconn closed it (a network error, a FATAL error from the server), it
// could not be reached, or ctx ended the wait. Any other error is the
// statement's, and comes back as it is.
func (s *pgSession) check(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var connErr *pgconn.ConnectError
	if s.pc.IsClosed() || errors.As(err, &connErr) || pgconn.SafeToRetry(err) || ctx.Err() != nil ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		s.lost = Lost(err)
		return s.lost
	}
	return err
}
