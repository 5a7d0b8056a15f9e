package indexes

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"github.com/hishamos/hishamos-perf/analyze"
	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// When a predicate's constant is the application's own, fixed in its
// code, so that a partial index on it (WHERE status = 'pending') serves
// every execution of the statement. A partial index fitted to one
// example value (an id, a date, another status the application also
// sends) serves almost none of them.
const (
	// rareValueShare: a .sql file gives one example of each statement, so
	// its literal is taken for a constant of the code only when it is a
	// string or boolean value that at most this share of the rows hold (by
	// pg_stats' most common values) on a column of a few values
	// (lowCardinality): a status the code names (1% of orders are
	// 'pending'), not an id, a number or a timestamp, which are the
	// request's. At 5% the partial index is at most a twentieth of the
	// full one, and a value that rare is one the code looks for on
	// purpose; a value of 10% or more ('shipped') is as likely one of
	// several the application sends, and the full index serves them all.
	rareValueShare = 0.05
	// fixedConstantShare: pg_qualstats samples the constants a
	// normalized statement really ran with; one value in this share of
	// the sampled executions is the code's constant (the rest is noise:
	// a console session, a one-off script).
	fixedConstantShare = 0.95
	// minQualSamples is the fewest sampled executions of a predicate
	// that can show its constant is fixed.
	minQualSamples = 3
)

// qualConst is one constant pg_qualstats saw a statement's predicate run
// with, and how often.
type qualConst struct {
	// value is the constant as text (without its cast), kind what it is
	// (litString, litNumber, litBool), count its sampled executions.
	value, kind string
	count       int64
}

// qualKey is a statement's predicate as pg_qualstats keys it: the
// statement's queryid, the table, the column and the operator.
type qualKey struct {
	queryID int64
	table   uint32
	column  string
	op      string
}

// qualStats is what pg_qualstats holds for a workload's statements.
type qualStats struct {
	consts map[qualKey][]qualConst
	// filters are the rows each predicate's filter read and removed.
	filters map[qualKey]*qualFilter
	// predicates counts the predicates read, statements the statements
	// they belong to.
	predicates, statements int
}

// readQualStats reads pg_qualstats' constants for the statements' queryids
// (nil when the extension is not installed in the database): the
// predicates that really ran, column op constant, each distinct constant
// with the executions sampled with it. Join quals (column op column) and
// expressions are not there: pg_qualstats keeps columns only.
func readQualStats(ctx context.Context, q Querier, w *Workload) (*qualStats, error) {
	var ids []int64
	for _, s := range w.Statements {
		if s.QueryID != 0 {
			ids = append(ids, s.QueryID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var schema *string
	if err := q.QueryRow(ctx, analyze.Tagged(`SELECT (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_qualstats')`)).Scan(&schema); err != nil {
		return nil, fmt.Errorf("indexes: read pg_qualstats: %w", err)
	}
	if schema == nil {
		return nil, nil
	}
	// A filter's counts are its plan node's (pg_qualstats gives each qual
	// of a node the rows the node read and the rows its whole filter
	// removed): they measure one predicate alone only when it is the
	// node's one filter qual pg_qualstats saw, the other quals of the node
	// being index conditions, which remove nothing there.
	rows, err := q.Query(ctx, analyze.Tagged(`WITH q AS (
  SELECT * FROM `+indexdef.QuoteIdent(*schema)+`.pg_qualstats WHERE queryid = ANY($1)
), node AS (
  SELECT queryid, qualid, count(DISTINCT qualnodeid) AS quals FROM q WHERE eval_type = 'f' AND qualid IS NOT NULL GROUP BY 1, 2
)
SELECT q.queryid, q.lrelid, a.attname::text, o.oprname::text, q.constvalue::text, sum(q.occurences)::bigint,
  coalesce(sum(q.execution_count) FILTER (WHERE q.eval_type = 'f' AND (q.qualid IS NULL OR node.quals = 1)), 0)::float8,
  coalesce(sum(q.nbfiltered) FILTER (WHERE q.eval_type = 'f' AND (q.qualid IS NULL OR node.quals = 1)), 0)::float8,
  coalesce(sum(q.execution_count) FILTER (WHERE q.eval_type = 'f'), 0)::float8,
  coalesce(sum(q.nbfiltered) FILTER (WHERE q.eval_type = 'f'), 0)::float8
FROM q
JOIN pg_attribute a ON a.attrelid = q.lrelid AND a.attnum = q.lattnum
JOIN pg_operator o ON o.oid = q.opno
LEFT JOIN node ON node.queryid = q.queryid AND node.qualid = q.qualid
WHERE q.rrelid IS NULL
GROUP BY 1, 2, 3, 4, 5`), ids)
	if err != nil {
		return nil, fmt.Errorf("indexes: read pg_qualstats: %w", err)
	}
	defer rows.Close()
	qs := &qualStats{consts: map[qualKey][]qualConst{}, filters: map[qualKey]*qualFilter{}}
	seen := map[int64]bool{}
	for rows.Next() {
		var (
			k     qualKey
			value *string
			n     int64
			f     qualFilter
		)
		if err := rows.Scan(&k.queryID, &k.table, &k.column, &k.op, &value, &n, &f.aloneRows, &f.aloneFiltered, &f.rows, &f.filtered); err != nil {
			return nil, fmt.Errorf("indexes: read pg_qualstats: %w", err)
		}
		if f.rows > 0 {
			acc := qs.filters[k]
			if acc == nil {
				acc = &qualFilter{}
				qs.filters[k] = acc
			}
			acc.add(f)
		}
		if value == nil {
			continue
		}
		v, kind := constantOf(*value)
		if kind == "" {
			continue
		}
		if len(qs.consts[k]) == 0 {
			qs.predicates++
		}
		if !seen[k.queryID] {
			seen[k.queryID] = true
			qs.statements++
		}
		qs.consts[k] = append(qs.consts[k], qualConst{value: v, kind: kind, count: n})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("indexes: read pg_qualstats: %w", err)
	}
	for k, cs := range qs.consts {
		sort.Slice(cs, func(i, j int) bool {
			if cs[i].count != cs[j].count {
				return cs[i].count > cs[j].count
			}
			return cs[i].value < cs[j].value
		})
		qs.consts[k] = cs
	}
	return qs, nil
}

// constantOf reads a constant as pg_qualstats writes it ('pending'::text,
// 57408::integer, true) through the parser: its value as text and its kind,
// empty kind for anything else.
func constantOf(text string) (string, string) {
	p, err := sqlscan.ParseOne("SELECT " + text)
	if err != nil {
		return "", ""
	}
	sel := p.Tree.Stmt.GetSelectStmt()
	if sel == nil || len(sel.TargetList) != 1 || sel.TargetList[0].GetResTarget() == nil {
		return "", ""
	}
	v := sel.TargetList[0].GetResTarget().Val
	if tc := v.GetTypeCast(); tc != nil && tc.TypeName != nil && len(tc.TypeName.ArrayBounds) > 0 {
		// An IN list's array ('{1,2,3}'::integer[]): no one value of it.
		return "", ""
	}
	return literalValue(v)
}

// fixedOf returns the constant of a predicate's samples when one value
// makes up fixedConstantShare of at least minQualSamples of them.
func fixedOf(cs []qualConst) (qualConst, bool) {
	var total int64
	for _, c := range cs {
		total += c.count
	}
	if len(cs) == 0 || total < minQualSamples || float64(cs[0].count) < fixedConstantShare*float64(total) {
		return qualConst{}, false
	}
	return cs[0], true
}

// draw picks a sampled constant by how often it ran.
func draw(cs []qualConst, rng *rand.Rand) string {
	var total int64
	for _, c := range cs {
		total += c.count
	}
	x := rng.Int64N(max(total, 1))
	for _, c := range cs {
		if x < c.count {
			return c.value
		}
		x -= c.count
	}
	return cs[0].value
}

// valueShare is the share of a table's rows holding value in a column, by
// pg_stats: its frequency among the most common values, else the rows the
// common values leave spread over the other distinct values; -1 when the
// column has no statistics.
func valueShare(c *column, rows float64, value string) float64 {
	if c == nil || c.stats == nil {
		return -1
	}
	if c.typ == "boolean" {
		switch value {
		case "true":
			value = "t"
		case "false":
			value = "f"
		}
	}
	var sum float64
	for i, v := range c.stats.mcv {
		if i < len(c.stats.mcf) {
			if v == value {
				return c.stats.mcf[i]
			}
			sum += c.stats.mcf[i]
		}
	}
	others := c.distinct(rows) - float64(len(c.stats.mcv))
	if others < 1 {
		// Every value is a common one, and this one is not among them.
		return 0
	}
	return math.Max(1-sum-c.stats.nullFrac, 0) / others
}

// fewValues reports whether a column holds a few values (a status, a kind,
// a flag), whose constants a partial index can be on.
func fewValues(t *table, c *column) bool {
	if c == nil {
		return false
	}
	if c.typ == "boolean" {
		return true
	}
	d := c.distinct(t.rows)
	return d > 0 && d <= lowCardinality
}

// isNullTest reports whether a predicate's SQL (use.konst) is col IS NULL.
func isNullTest(konst string) bool { return strings.HasSuffix(konst, " IS NULL") }

// markFixed decides, for each equality of the statement with a constant,
// whether the constant is the application's (use.fixed): a partial index
// may then be on it. From a profile, a literal the statement's SQL writes
// (its parameters are the generated values) on a column of few values;
// from a .sql file, a rare value (rareValueShare) of a string or boolean
// literal on such a column; from pg_stat_statements, whose statements are
// normalized, the constant pg_qualstats saw in fixedConstantShare of the
// predicate's executions. It returns the fixed constants found through
// pg_qualstats, for a note.
func markFixed(c *costed, source string, qs *qualStats) []string {
	var found []string
	for _, a := range c.r.accesses {
		for i := range a.eq {
			u := &a.eq[i]
			col := a.t.columns[u.col]
			if u.expr == "" && isNullTest(u.konst) {
				// IS NULL is written in the statement whatever its source (no
				// parameter stands for it): the application's constant. A
				// partial index on it pays when few rows are NULL (open
				// rentals: return_date IS NULL), on any column.
				u.fixed = col != nil && col.stats != nil && col.stats.nullFrac > 0 && col.stats.nullFrac <= rareValueShare
				continue
			}
			if u.expr != "" || u.op != "=" || !fewValues(a.t, col) {
				continue
			}
			switch {
			case u.konst != "" && source == SourceProfile:
				u.fixed = true
			case u.konst != "" && source == SourceFile:
				share := valueShare(col, a.t.rows, u.lit)
				u.fixed = (u.litKind == litString || u.litKind == litBool) && share >= 0 && share <= rareValueShare
			case u.konst == "" && len(u.params) == 1 && qs != nil:
				k, ok := fixedOf(qs.consts[qualKey{queryID: c.st.QueryID, table: a.t.oid, column: u.col, op: "="}])
				if !ok || (k.kind != litString && k.kind != litBool) {
					continue
				}
				u.fixed, u.lit, u.litKind = true, k.value, k.kind
				u.konst = indexdef.QuoteIdent(u.col) + " = " + quoteLiteral(k.value)
				if k.kind == litBool {
					u.konst = indexdef.QuoteIdent(u.col)
					if k.value == "false" {
						u.konst = "NOT " + u.konst
					}
				}
				found = append(found, fmt.Sprintf("%s.%s = %s", a.t.display(), sqlscan.QuoteName(u.col), quoteLiteral(k.value)))
			}
		}
	}
	return found
}

// qualValue draws a value for a parameter compared with a column from the
// constants pg_qualstats saw the statement run with, by how often each
// ran; "" when it saw none.
func qualValue(qs *qualStats, queryID int64, pu paramUse, rng *rand.Rand) string {
	if qs == nil || pu.t == nil || queryID == 0 {
		return ""
	}
	cs := qs.consts[qualKey{queryID: queryID, table: pu.t.oid, column: pu.col, op: pu.op}]
	if len(cs) == 0 || pu.array {
		return ""
	}
	if k, ok := fixedOf(cs); ok {
		return k.value
	}
	return draw(cs, rng)
}

// describeFixed says, for a note, which constants pg_qualstats showed
// fixed.
func describeFixed(fixed []string) string {
	sort.Strings(fixed)
	return strings.Join(slices.Compact(fixed), ", ")
}
