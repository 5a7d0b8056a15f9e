package bench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/aclements/go-moremath/stats"
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
	exec      []float64 // Execution Time of each sampled call, ms
	plan      []float64 // Planning Time of each sampled call, ms
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
	e.exec = append(e.exec, p.ExecutionTimeMs)
	e.plan = append(e.plan, p.PlanningTimeMs)
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

// pgssCounts are one queryid's cumulative counters: calls, shared
// buffers, and the sums behind the execution and planning times (total,
// and total of squares, from which the calls between two readings get
// their mean and variance).
type pgssCounts struct {
	calls  int64
	blocks int64
	// execSum and execSq are Σ execution time and Σ its square, in ms
	// and ms²; plans counts the plannings, planSum and planSq as for
	// execution.
	execSum, execSq float64
	plans           int64
	planSum, planSq float64
}

// statementCountsSQL reads the counters of the queryids $1. The sum of
// squares is calls × (stddev² + mean²): pg_stat_statements keeps the sum
// of squared deviations (its stddev is √(that / calls)), so this is exact
// up to rounding.
const statementCountsSQL = `SELECT queryid, sum(calls)::bigint, sum(shared_blks_hit + shared_blks_read)::bigint,
  sum(total_exec_time), sum(calls * (stddev_exec_time ^ 2 + mean_exec_time ^ 2)),
  sum(plans)::bigint, sum(total_plan_time), sum(plans * (stddev_plan_time ^ 2 + mean_plan_time ^ 2))
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
		if len(r) != 8 {
			return nil, fmt.Errorf("read pg_stat_statements: a row of %d columns", len(r))
		}
		var id int64
		var c pgssCounts
		ints := []*int64{&id, &c.calls, &c.blocks, nil, nil, &c.plans}
		floats := []*float64{nil, nil, nil, &c.execSum, &c.execSq, nil, &c.planSum, &c.planSq}
		for j, v := range r {
			switch {
			case j < len(ints) && ints[j] != nil:
				*ints[j], err = strconv.ParseInt(v, 10, 64)
			default:
				*floats[j], err = strconv.ParseFloat(v, 64)
			}
			if err != nil {
				return nil, fmt.Errorf("read pg_stat_statements: %w", err)
			}
		}
		out[id] = c
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
			if err := rows.Scan(&id, &c.calls, &c.blocks, &c.execSum, &c.execSq, &c.plans, &c.planSum, &c.planSq); err != nil {
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

// fillFromStatements sets buffers per call and server time from the
// counters' difference where it can be trusted: its calls are exactly the
// run's. planning says whether the server counts planning
// (pg_stat_statements.track_planning).
func fillFromStatements(run *Run, ex []explained, before, after map[int64]pgssCounts, planning bool) {
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
		b, a := before[id], after[id]
		d := pgssCounts{calls: a.calls - b.calls, blocks: a.blocks - b.blocks,
			execSum: a.execSum - b.execSum, execSq: a.execSq - b.execSq,
			plans: a.plans - b.plans, planSum: a.planSum - b.planSum, planSq: a.planSq - b.planSq}
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
				sr.Server = serverFromSums(d, planning)
			}
		}
	}
}

// serverFromSums is the server time of the calls between two readings of
// pg_stat_statements (d is their difference): each call's mean and the
// sample variance from the sums, n − 1 in the denominator. A call that
// was not planned (a cached plan) planned for 0 ms, so planning's sums
// are over every call too.
func serverFromSums(d pgssCounts, planning bool) *ServerTime {
	n := float64(d.calls)
	meanVar := func(sum, sq float64) (float64, float64) {
		m := sum / n
		if n < 2 {
			return m, 0
		}
		// Rounding in the sums can leave a hair below zero.
		return m, math.Sqrt(max(0, (sq-sum*sum/n)/(n-1)))
	}
	st := &ServerTime{Calls: int(d.calls), Planning: planning, Source: BuffersFromStatements}
	st.ExecMeanMs, st.ExecStddevMs = meanVar(d.execSum, d.execSq)
	if planning {
		st.PlanMeanMs, st.PlanStddevMs = meanVar(d.planSum, d.planSq)
	}
	st.MeanMs, st.StddevMs = st.ExecMeanMs+st.PlanMeanMs, st.ExecStddevMs+st.PlanStddevMs
	return st
}

// serverFromExplain is the server time of EXPLAIN (ANALYZE)'s sampled
// calls: Execution Time and Planning Time, their means and sample
// deviations; nil without a sample.
func serverFromExplain(e *explained) *ServerTime {
	n := len(e.exec)
	if n == 0 {
		return nil
	}
	meanSd := func(xs []float64) (float64, float64) {
		s := stats.Sample{Xs: xs}
		if n < 2 {
			return s.Mean(), 0
		}
		return s.Mean(), s.StdDev()
	}
	st := &ServerTime{Calls: n, Planning: true, Source: BuffersFromExplain}
	st.ExecMeanMs, st.ExecStddevMs = meanSd(e.exec)
	st.PlanMeanMs, st.PlanStddevMs = meanSd(e.plan)
	st.MeanMs, st.StddevMs = st.ExecMeanMs+st.PlanMeanMs, st.ExecStddevMs+st.PlanStddevMs
	return st
}

// fillFromExplain gives the statements pg_stat_statements could not
// serve the mean buffers and server time of their EXPLAIN samples, saying
// why in each note.
func fillFromExplain(run *Run, ex []explained, why error) {
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
			sr.ServerNote = sr.BuffersNote
			continue
		}
		var sum float64
		for _, b := range ex[i].buffers {
			sum += b
		}
		v := sum / float64(len(ex[i].buffers))
		sr.BuffersPerCall, sr.BuffersSource = &v, BuffersFromExplain
		sr.Server, sr.ServerNote = serverFromExplain(&ex[i]), sr.BuffersNote
	}
}
