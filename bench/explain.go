package bench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/analyze"
	"github.com/hishamos/hishamos-perf/bench/internal/wire"
)

// explainPrefix runs a statement and returns its plan with actual rows,
// buffers, the output columns and the Query Identifier.
const explainPrefix = "EXPLAIN (ANALYZE, BUFFERS, VERBOSE, FORMAT JSON) "

// explained is what EXPLAIN said about one statement over its samples.
type explained struct {
	shapes    []string // distinct plan shapes, sorted
	hashes    []string // distinct shape hashes, sorted
	planHash  string
	indexes   []string
	relations []string
	queryID   int64
	buffers   []float64 // shared hit + read of each sampled call
	errs      []string
}

// add records one plan.
func (e *explained) add(p *analyze.Plan) {
	if shape := p.Shape(); !slices.Contains(e.shapes, shape) {
		e.shapes = append(e.shapes, shape)
	}
	if h := p.ShapeHash(); !slices.Contains(e.hashes, h) {
		e.hashes = append(e.hashes, h)
	}
	e.indexes = union(e.indexes, p.IndexesUsed())
	e.relations = union(e.relations, p.Relations())
	if p.QueryID != 0 {
		e.queryID = p.QueryID
	}
	if p.Root != nil {
		e.buffers = append(e.buffers, float64(p.Root.Buffers.SharedHit+p.Root.Buffers.SharedRead))
	}
}

// finish sorts what add gathered and computes the plan hash.
func (e *explained) finish() {
	slices.Sort(e.shapes)
	slices.Sort(e.hashes)
	e.planHash = planHash(e.hashes)
}

// planHash names the plans of a statement: the analyze package's
// Plan.ShapeHash when every sampled draw got the same plan, else a hash of
// the distinct hashes (a statement whose plan depends on its parameters).
func planHash(hashes []string) string {
	switch len(hashes) {
	case 0:
		return ""
	case 1:
		return hashes[0]
	}
	sum := sha256.Sum256([]byte(strings.Join(hashes, ",")))
	return hex.EncodeToString(sum[:8])
}

func union(a, b []string) []string {
	for _, s := range b {
		if !slices.Contains(a, s) {
			a = append(a, s)
		}
	}
	slices.Sort(a)
	return a
}

// explainAll explains every statement with ExplainSamples draws of its
// arguments on the client's connection.
func (r *runner) explainAll(ctx context.Context, c *client) ([]explained, error) {
	out := make([]explained, len(r.w.Statements))
	total := int64(len(r.w.Statements) * ExplainSamples)
	var done int64
	for i, s := range r.w.Statements {
		for j := range ExplainSamples {
			c.seed(i, explainStream, j)
			raw, err := c.explain(ctx, i, c.args(i))
			done++
			if err != nil {
				if isConnectionError(err, c.conn) {
					return nil, fmt.Errorf("bench: EXPLAIN %s: %w", s.Name, err)
				}
				out[i].errs = append(out[i].errs, errorLine(err))
				continue
			}
			p, err := analyze.ParsePlan(raw)
			if err != nil {
				return nil, fmt.Errorf("bench: EXPLAIN %s: %w", s.Name, err)
			}
			out[i].add(p)
		}
		out[i].finish()
		if r.o.Progress != nil {
			r.o.Progress(Progress{Phase: PhaseExplain, Done: done, Total: total})
		}
	}
	return out, nil
}

// explain runs EXPLAIN ANALYZE of statement i with args, always in a
// transaction that is rolled back, as the measured calls run (see call):
// READ WRITE for a write, READ ONLY otherwise. A read-only session alone
// is not enough: EXPLAIN ANALYZE of SELECT … INTO creates its table in
// one, and set_config can turn the session's default off. The session
// must be idle after the rollback, or the run stops.
func (c *client) explain(ctx context.Context, i int, args []any) ([]byte, error) {
	s := &c.r.w.Statements[i]
	mode := pgx.ReadOnly
	if s.Write {
		mode = pgx.ReadWrite
	}
	tx, err := c.conn.BeginTx(ctx, pgx.TxOptions{AccessMode: mode})
	if err != nil {
		return nil, err
	}
	var raw []byte
	// An unnamed statement, bound with the arguments as the measured calls
	// are: nothing is left prepared on the server.
	// Tagged as the tool's own: analyze and propose leave it out of the
	// workload they rank, as they leave out their own EXPLAINs.
	err = tx.QueryRow(ctx, analyze.Tagged(explainPrefix+s.SQL), append([]any{pgx.QueryExecModeDescribeExec}, args...)...).Scan(&raw)
	if rerr := tx.Rollback(context.WithoutCancel(ctx)); rerr != nil {
		// pgx closes a connection whose rollback failed.
		return nil, fmt.Errorf("roll back: %w", rerr)
	}
	if ierr := idle(ctx, c.conn); ierr != nil {
		return nil, ierr
	}
	return raw, err
}

// queryIDs lists the statements' distinct queryids.
func queryIDs(ex []explained) []int64 {
	var ids []int64
	for _, e := range ex {
		if e.queryID != 0 && !slices.Contains(ids, e.queryID) {
			ids = append(ids, e.queryID)
		}
	}
	return ids
}

// relationsOf lists the tables a workload reads: those its plans scan and
// those its profile names.
func relationsOf(w *Workload, ex []explained) []string {
	var rels []string
	for _, e := range ex {
		rels = union(rels, e.relations)
	}
	if w.Profile != nil {
		rels = union(rels, w.Profile.Tables)
	}
	return rels
}

// pgssCounts are one queryid's cumulative counters.
type pgssCounts struct {
	calls  int64
	blocks int64
}

// statementCountsSQL reads the counters of the queryids $1.
const statementCountsSQL = `SELECT queryid, sum(calls)::bigint, sum(shared_blks_hit + shared_blks_read)::bigint
FROM pg_stat_statements(false)
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND userid = (SELECT oid FROM pg_roles WHERE rolname = current_user)
  AND toplevel AND queryid = ANY($1)
GROUP BY queryid`

// readStatementCountsOnSession is readStatementCounts on a client's
// session, once the session has its connection: the same query, with the
// queryids (numbers, written by strconv) in it as an array literal, in a
// READ ONLY transaction that is rolled back.
func readStatementCountsOnSession(ctx context.Context, s wire.Session, ids []int64) (map[int64]pgssCounts, error) {
	lit := make([]string, len(ids))
	for i, id := range ids {
		lit[i] = strconv.FormatInt(id, 10)
	}
	rows, err := s.Query(ctx, "BEGIN READ ONLY; "+strings.Replace(statementCountsSQL, "$1", "'{"+strings.Join(lit, ",")+"}'::bigint[]", 1)+"; ROLLBACK")
	if errors.Is(err, wire.ErrLost) {
		return nil, err // the session's, not the query's
	}
	if err != nil {
		return nil, fmt.Errorf("read pg_stat_statements: %s", errorLine(err))
	}
	out := map[int64]pgssCounts{}
	for _, r := range rows {
		var n [3]int64
		for j := range n {
			if j >= len(r) {
				return nil, fmt.Errorf("read pg_stat_statements: a row of %d columns", len(r))
			}
			if n[j], err = strconv.ParseInt(r[j], 10, 64); err != nil {
				return nil, fmt.Errorf("read pg_stat_statements: %w", err)
			}
		}
		out[n[0]] = pgssCounts{calls: n[1], blocks: n[2]}
	}
	return out, nil
}

// readStatementCounts reads the counters of the given queryids for this
// database, this role and top-level calls (EXPLAIN ANALYZE's nested
// execution of a statement is not top-level), in a READ ONLY transaction
// that is rolled back.
func readStatementCounts(ctx context.Context, conn Conn, ids []int64) (map[int64]pgssCounts, error) {
	out := map[int64]pgssCounts{}
	err := inReadOnlyTx(ctx, conn, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, statementCountsSQL, ids)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			var c pgssCounts
			if err := rows.Scan(&id, &c.calls, &c.blocks); err != nil {
				rows.Close()
				return err
			}
			out[id] = c
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read pg_stat_statements: %s", errorLine(err))
	}
	return out, nil
}

// fillBuffersFromStatements sets buffers per call from the counters'
// difference where it can be trusted: its calls are exactly the run's.
func fillBuffersFromStatements(run *Run, ex []explained, before, after map[int64]pgssCounts) {
	if after == nil {
		return
	}
	byID := map[int64][]int{}
	for i, e := range ex {
		if e.queryID != 0 {
			byID[e.queryID] = append(byID[e.queryID], i)
		}
	}
	for id, idx := range byID {
		var calls int64
		names := make([]string, len(idx))
		for j, i := range idx {
			calls += int64(run.Statements[i].Calls)
			names[j] = run.Statements[i].Name
		}
		d := pgssCounts{calls: after[id].calls - before[id].calls, blocks: after[id].blocks - before[id].blocks}
		for _, i := range idx {
			sr := &run.Statements[i]
			switch {
			case len(idx) > 1:
				sr.BuffersNote = "pg_stat_statements cannot tell apart " + strings.Join(names, ", ") + " (one queryid)"
			case calls == 0:
				sr.BuffersNote = "no successful call to count"
			case d.calls != calls:
				sr.BuffersNote = fmt.Sprintf("pg_stat_statements counted %d calls where the run made %d: another session ran the statement, or its entry was reset or evicted", d.calls, calls)
			default:
				v := float64(d.blocks) / float64(d.calls)
				sr.BuffersPerCall, sr.BuffersSource, sr.BuffersNote = &v, BuffersFromStatements, ""
			}
		}
	}
}

// fillBuffersFromExplain gives the statements pg_stat_statements could not
// serve the mean buffers of their EXPLAIN samples, saying why.
func fillBuffersFromExplain(run *Run, ex []explained, why error) {
	for i := range run.Statements {
		sr := &run.Statements[i]
		if sr.BuffersPerCall != nil {
			continue
		}
		if sr.BuffersNote == "" {
			switch {
			case ex[i].queryID == 0:
				sr.BuffersNote = "EXPLAIN shows no query identifier (compute_query_id is off)"
			case why != nil:
				sr.BuffersNote = why.Error()
			}
		}
		if len(ex[i].buffers) == 0 {
			if len(ex[i].errs) > 0 {
				sr.BuffersNote = strings.TrimPrefix(sr.BuffersNote+"; ", "; ") + "EXPLAIN failed: " + ex[i].errs[0]
			}
			continue
		}
		var sum float64
		for _, b := range ex[i].buffers {
			sum += b
		}
		v := sum / float64(len(ex[i].buffers))
		sr.BuffersPerCall, sr.BuffersSource = &v, BuffersFromExplain
	}
}
