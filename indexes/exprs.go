package indexes

import (
	"context"
	"fmt"
	"strconv"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"

	"github.com/hishamos/hishamos-perf/analyze"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// An index on an expression (upper(email::text), date_trunc('day', at))
// has statistics of its own once ANALYZE has read it; a what-if index has
// none, so the planner takes a predicate on the expression to keep a
// default share of the rows (0.5% for an equality) and may find a
// sequential scan under a LIMIT cheaper than a login lookup that keeps one
// row. The advisor measures the expression's real selectivity instead (a
// sampled count over the table, beside the planner's estimate from EXPLAIN
// of the condition alone) and costs a plan that reads the expression index
// with it: the index scan, and the heap scan of its bitmap, read that many
// times fewer rows; a statement on one table whose plan does not take the
// index is planned once more with sequential scans off, and that plan,
// with the real selectivity, is its cost when it is the cheaper.

// sampleRows is how many rows the sampled count reads at most: a block
// sample (TABLESAMPLE SYSTEM) of about this many rows measures a
// selectivity of a thousandth to within a few percent of itself.
const sampleRows = 100000

// exprFactor is, for one statement's predicate on an expression, how many
// times fewer rows it keeps than the planner estimates without the
// expression's statistics (real / estimated selectivity); 1 when it keeps
// as many or more, or when it cannot be measured.
func (e *engine) exprFactor(ctx context.Context, s *costed, t *table, u *use) (float64, error) {
	key := u.expr + "\x00" + u.op
	if f, ok := e.factors[s][key]; ok {
		return f, nil
	}
	f, err := e.measureFactor(ctx, s, t, u)
	if err != nil {
		return 0, err
	}
	if e.factors[s] == nil {
		e.factors[s] = map[string]float64{}
	}
	e.factors[s][key] = f
	return f, nil
}

// measureFactor measures exprFactor on the server: EXPLAIN of the
// condition alone for the planner's estimate, a sampled count for the
// real share, both with the statement's values.
func (e *engine) measureFactor(ctx context.Context, s *costed, t *table, u *use) (float64, error) {
	cond, args := condSQL(u.cond, s.args)
	if cond == "" || t.rows < 1 {
		return 1, nil
	}
	var raw []byte
	err := e.w.guard(ctx, func() error {
		return e.q.QueryRow(ctx, analyze.Tagged("EXPLAIN (FORMAT JSON) SELECT 1 FROM "+t.qualified()+" WHERE "+cond), args...).Scan(&raw)
	})
	if err != nil {
		if _, ok := isPgError(err); ok {
			return 1, nil
		}
		return 0, err
	}
	plan, err := analyze.ParsePlan(raw)
	if err != nil {
		return 1, nil
	}
	est := plan.Root.PlanRows / t.rows
	pct := 100.0
	if t.rows > sampleRows {
		pct = 100 * sampleRows / t.rows
	}
	var matched, sampled float64
	err = e.w.guard(ctx, func() error {
		return e.q.QueryRow(ctx, analyze.Tagged("SELECT count(*) FILTER (WHERE "+cond+")::float8, count(*)::float8 FROM "+t.qualified()+
			" TABLESAMPLE SYSTEM ("+strconv.FormatFloat(pct, 'f', 4, 64)+") REPEATABLE (0)"), args...).Scan(&matched, &sampled)
	})
	if err != nil {
		if _, ok := isPgError(err); ok {
			return 1, nil
		}
		return 0, err
	}
	if sampled < 1 || est <= 0 {
		return 1, nil
	}
	real := matched / sampled
	if matched == 0 {
		// None in the sample: fewer than one row in it.
		real = 0.5 / sampled
	}
	return min(real/est, 1), nil
}

// condSQL writes a statement's condition on an expression for a query of
// its own on the table: the columns unqualified, its placeholders numbered
// from $1 in order, with the statement's values for them.
func condSQL(cond *pg_query.Node, stmtArgs []any) (string, []any) {
	if cond == nil {
		return "", nil
	}
	c := proto.Clone(cond).(*pg_query.Node)
	renumber := map[int32]int32{}
	var args []any
	ok := true
	sqlscan.Walk(c, func(m proto.Message) bool {
		switch v := m.(type) {
		case *pg_query.ColumnRef:
			if len(v.Fields) > 1 {
				v.Fields = v.Fields[len(v.Fields)-1:]
			}
		case *pg_query.ParamRef:
			n, seen := renumber[v.Number]
			if !seen {
				if int(v.Number) > len(stmtArgs) || v.Number < 1 {
					ok = false
					return false
				}
				n = int32(len(args) + 1)
				renumber[v.Number] = n
				args = append(args, stmtArgs[v.Number-1])
			}
			v.Number = n
		}
		return true
	})
	if !ok {
		return "", nil
	}
	return sqlscan.DeparseExpr(c), args
}

// correct costs the statement's plan with the real selectivity of its
// predicates on expressions (see above): every scan of the set's index on
// the expression reads that many times fewer rows, and so does, in a
// statement on one table, its sequential scan that filters on it (which
// under a LIMIT then reads further for its rows). When the plan does not
// take the index, a statement on one table is planned again with
// sequential scans off, and that plan, corrected alike, is its cost if
// cheaper. plan is the plan EXPLAIN gave for p.
func (e *engine) correct(ctx context.Context, s *costed, set []*indexDef, p *planCost, plan *analyze.Plan) error {
	adj := adjustments{index: map[string]float64{}}
	one := len(s.r.accesses) == 1
	for _, a := range s.r.accesses {
		for _, us := range [][]use{a.eq, a.in, a.ranges} {
			for i := range us {
				u := &us[i]
				if u.cond == nil {
					continue
				}
				k, err := e.exprFactor(ctx, s, a.t, u)
				if err != nil {
					return err
				}
				if k >= 1 {
					continue
				}
				if one {
					adj.table, adj.k = a.t.name, min(adj.filter(), k)
				}
				for _, d := range set {
					if l := e.live[d.id()]; l != nil && d.table == a.t && target(d.keys[0]) == target(u.key()) {
						adj.index[l.made.name] = min(adj.indexK(l.made.name), k)
					}
				}
			}
		}
	}
	if adj.table == "" && len(adj.index) == 0 {
		return nil
	}
	p.cost = adj.rescale(plan.Root).total
	if !one || len(adj.index) == 0 || readsAny(plan, adj.index) {
		return nil
	}
	forced, err := e.explainForced(ctx, s)
	if err != nil || forced == nil || !readsAny(forced, adj.index) {
		return err
	}
	if cost := adj.rescale(forced.Root).total; cost < p.cost {
		p.cost = cost
		for _, d := range set {
			if l := e.live[d.id()]; l != nil && reads(forced, l.made.name) && !p.uses(d.id()) {
				p.used = append(p.used, d.id())
			}
		}
	}
	return nil
}

// adjustments are the rows a plan's scans keep by the real selectivity of
// expressions: by index name, the factor of a scan of that index; for the
// statement's one table, the factor of its sequential scan.
type adjustments struct {
	index map[string]float64
	table string
	k     float64
}

func (a *adjustments) indexK(name string) float64 {
	if k, ok := a.index[name]; ok {
		return k
	}
	return 1
}

func (a *adjustments) filter() float64 {
	if a.table == "" {
		return 1
	}
	return a.k
}

// readsAny reports whether the plan reads one of the indexes.
func readsAny(plan *analyze.Plan, names map[string]float64) bool {
	for _, n := range plan.IndexesUsed() {
		if _, ok := names[n]; ok {
			return true
		}
	}
	return false
}

// explainForced plans the statement with sequential scans off: the index
// path the planner would take with the expression's statistics. A plan the
// server refuses is nil.
func (e *engine) explainForced(ctx context.Context, s *costed) (*analyze.Plan, error) {
	var raw []byte
	err := e.w.guard(ctx, func() error {
		if _, err := e.q.Exec(ctx, analyze.Tagged("SET enable_seqscan = off")); err != nil {
			return err
		}
		defer e.q.Exec(context.WithoutCancel(ctx), analyze.Tagged("RESET enable_seqscan")) //nolint:errcheck // a failed RESET fails the next statement, which says so
		e.explains++
		return e.q.QueryRow(ctx, s.sql, s.args...).Scan(&raw)
	})
	if err != nil {
		if _, ok := isPgError(err); ok {
			return nil, nil
		}
		return nil, fmt.Errorf("plan %s with sequential scans off: %w", s.st.Label(), err)
	}
	return analyze.ParsePlan(raw)
}

// reads reports whether the plan reads the index.
func reads(plan *analyze.Plan, name string) bool {
	for _, n := range plan.IndexesUsed() {
		if n == name {
			return true
		}
	}
	return false
}

// randomPageCost is PostgreSQL's default random_page_cost: what reading
// one page out of order costs the planner.
const randomPageCost = 4.0

// floorRun scales a scan's run cost by k, but not below reading the pages
// it must read (one random read each), nor above what it was.
func floorRun(run, k, pages float64) float64 {
	return max(run*k, min(run, randomPageCost*pages))
}

// nodeCost is a plan node's costs and rows, as rescale recomputes them.
type nodeCost struct{ startup, total, rows float64 }

// rescale recomputes a plan's costs with the adjustments: a scan of an
// adjusted index keeps k times the rows the planner estimated, and its run
// cost (what it costs past its start) and the heap part of a bitmap heap
// scan over it scale with them; the sequential scan of the adjusted table
// keeps k times the rows for the same cost; a Limit takes the share of its
// input it took before, out of the input's new rows (all of them when
// they are fewer than it wants); any other node's costs fall by what its
// inputs' fell, and a node that passes its input's rows on (a sort, a
// gather) passes the new count.
func (a *adjustments) rescale(n *analyze.Node) nodeCost {
	if n.IndexName != "" {
		if k, ok := a.index[n.IndexName]; ok {
			run, rows := n.TotalCost-n.StartupCost, n.PlanRows*k
			pages := 1.0
			if n.NodeType != "Bitmap Index Scan" {
				// An index scan also fetches each row's heap page.
				pages += max(rows, 1)
			}
			return nodeCost{startup: n.StartupCost, total: n.StartupCost + floorRun(run, k, pages), rows: rows}
		}
	}
	if a.table != "" && len(n.Children) == 0 && n.NodeType == "Seq Scan" && n.RelationName == a.table {
		return nodeCost{startup: n.StartupCost, total: n.TotalCost, rows: n.PlanRows * a.k}
	}
	var kids []nodeCost
	var dStartup, dTotal float64
	changed := false
	for _, c := range n.Children {
		r := a.rescale(c)
		kids = append(kids, r)
		dStartup += c.StartupCost - r.startup
		dTotal += c.TotalCost - r.total
		if r.total != c.TotalCost || r.rows != c.PlanRows {
			changed = true
		}
	}
	if !changed {
		return nodeCost{startup: n.StartupCost, total: n.TotalCost, rows: n.PlanRows}
	}
	out := nodeCost{startup: max(n.StartupCost-dStartup, 0), total: max(n.TotalCost-dTotal, 0), rows: n.PlanRows}
	if len(n.Children) != 1 {
		return out
	}
	c, r := n.Children[0], kids[0]
	switch n.NodeType {
	case "Bitmap Heap Scan":
		// Its start is its bitmap's cost; the heap pages it then reads
		// follow the rows.
		k := r.rows / max(c.PlanRows, 1e-9)
		out.startup = r.total
		out.rows = n.PlanRows * k
		out.total = r.total + floorRun(n.TotalCost-n.StartupCost, k, max(out.rows, 1))
	case "Limit":
		if run := c.TotalCost - c.StartupCost; run > 0 && c.PlanRows > 0 {
			limit := (n.TotalCost - c.StartupCost) / run * c.PlanRows
			share := 1.0
			if r.rows > 0 {
				share = min(limit/r.rows, 1)
			}
			out.startup = r.startup
			out.total = r.startup + (r.total-r.startup)*share
			out.rows = min(limit, r.rows)
		}
	default:
		if n.PlanRows == c.PlanRows {
			out.rows = r.rows
		}
	}
	return out
}
