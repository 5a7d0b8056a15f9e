package indexes

import (
	"sort"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
)

// use is one column (or an expression of one) a predicate compares.
type use struct {
	col string
	// expr is the key's expression, empty for the column itself.
	expr string
	// opclass is the key's operator class: text_pattern_ops for a LIKE
	// prefix on a column whose collation is not C.
	opclass string
	// konst is the predicate's SQL when it compares with a constant: a
	// candidate for a partial index's WHERE; lit and litKind are the
	// constant (pred.lit). fixed says the constant is the application's:
	// a profile's literal, a rare string or boolean value of a file's
	// statement, or pg_qualstats' one constant of a normalized statement.
	konst, lit, litKind string
	fixed               bool
	op                  string
	// params are the $n the predicate compares with.
	params []int
	// cond is a predicate on an expression as the statement writes it
	// (pred.cond); pattern marks a LIKE prefix.
	cond    *pg_query.Node
	pattern bool
	// kept is the share of rows pg_qualstats saw the predicate keep (a
	// normalized statement's equality or range on a column), nil unknown.
	kept *measured
}

// key is the use as an index key.
func (u use) key() indexdef.Key {
	if u.expr != "" {
		return indexdef.Key{Expr: u.expr, Opclass: u.opclass}
	}
	return indexdef.Key{Column: u.col, Opclass: u.opclass}
}

// patternOpclass is the operator class a LIKE prefix needs in a collation
// other than C, where a plain B-tree's order is not the bytes' order: it
// serves text and varchar alike (varchar is binary-compatible with text).
const patternOpclass = "text_pattern_ops"

// stringColumn reports whether a column's type is one a cast to text or
// varchar reads as it is.
func stringColumn(c *column) bool {
	return c != nil && (c.typ == "text" || strings.HasPrefix(c.typ, "character varying"))
}

// access is what one statement asks of one table.
type access struct {
	t      *table
	eq     []use
	in     []use
	ranges []use
	joins  []use
	// order are the ORDER BY keys when every one is a column of this table
	// and nothing else is ordered on.
	order []indexdef.Key
	// group are the GROUP BY columns when every one is of this table.
	group []string
	// refs are the columns the statement reads from the table.
	refs map[string]bool
	// star: the statement reads every column (SELECT *).
	star bool
	// limit: the statement's ORDER BY has a LIMIT.
	limit bool
	// conds are the columns of its conditions that are not eq, in, ranges
	// or joins (block.conds).
	conds map[string]bool
	// serves and quals memoize servable and qualified.
	serves, quals map[string]bool
}

// qualified are the targets (a column, or an expression as Key.target
// gives it) of the access's equality, IN, range and join predicates, and
// the columns of its other conditions (conds): an index with any of them
// among its keys can filter on it, even past its first key by reading the
// whole index, which on a wide table is far less than reading the table.
func (a *access) qualified() map[string]bool {
	if a.quals == nil {
		a.quals = map[string]bool{}
		for _, us := range [][]use{a.eq, a.in, a.ranges, a.joins} {
			for _, u := range us {
				a.quals[target(u.key())] = true
			}
		}
		for col := range a.conds {
			a.quals[col] = true
		}
	}
	return a.quals
}

// servable is what an index's first key can be for the planner to scan
// the index in an order the access uses: a qualified target, an ORDER BY
// key or a GROUP BY column.
func (a *access) servable() map[string]bool {
	if a.serves != nil {
		return a.serves
	}
	a.serves = map[string]bool{}
	for t := range a.qualified() {
		a.serves[t] = true
	}
	for _, k := range a.order {
		a.serves[target(k)] = true
	}
	for _, col := range a.group {
		a.serves[col] = true
	}
	return a.serves
}

// paramUse is what a $n is compared with.
type paramUse struct {
	t     *table
	col   string
	op    string
	array bool
	// limit is "limit" or "offset" for a LIMIT/OFFSET parameter.
	limit string
}

// resolved is a statement with its table references looked up.
type resolved struct {
	accesses []*access
	tables   []*table
	params   map[int]paramUse
	// target is the table an UPDATE or DELETE writes; set are the columns
	// an UPDATE assigns.
	target *table
	set    []string
	// missing is the first table the statement names that does not exist.
	missing string
}

// resolve looks a statement's tables and columns up in the catalog.
func resolve(q *query, c *catalog) *resolved {
	r := &resolved{params: map[int]paramUse{}}
	byTable := map[uint32]*access{}
	get := func(t *table) *access {
		a, ok := byTable[t.oid]
		if !ok {
			a = &access{t: t, refs: map[string]bool{}, conds: map[string]bool{}}
			byTable[t.oid] = a
			r.accesses = append(r.accesses, a)
			r.tables = append(r.tables, t)
		}
		return a
	}
	for _, b := range q.blocks {
		var rels []*table
		var refs []relRef
		for _, rel := range b.rels {
			t := c.tableByRef(rel)
			if t == nil {
				if r.missing == "" {
					r.missing = rel.name
					if rel.schema != "" {
						r.missing = rel.schema + "." + rel.name
					}
				}
				continue
			}
			rels = append(rels, t)
			refs = append(refs, rel)
			get(t)
		}
		if r.missing != "" {
			return r
		}
		find := func(ref colRef) (*table, bool) {
			if len(ref.qual) > 0 {
				qual := ref.qual[len(ref.qual)-1]
				for i, rel := range refs {
					if rel.alias == qual || (rel.alias == "" && rel.name == qual) {
						if len(ref.qual) > 1 && rels[i].schema != ref.qual[len(ref.qual)-2] {
							continue
						}
						if _, ok := rels[i].columns[ref.name]; ok {
							return rels[i], true
						}
					}
				}
				return nil, false
			}
			var found *table
			for _, t := range rels {
				if _, ok := t.columns[ref.name]; ok {
					if found != nil && found != t {
						return nil, false
					}
					found = t
				}
			}
			return found, found != nil
		}
		for _, ref := range b.refs {
			if t, ok := find(ref); ok {
				get(t).refs[ref.name] = true
			}
		}
		for _, ref := range b.conds {
			if t, ok := find(ref); ok {
				get(t).conds[ref.name] = true
			}
		}
		for _, s := range b.star {
			for i, t := range rels {
				if s == "" || s == refs[i].alias || (refs[i].alias == "" && s == refs[i].name) {
					get(t).star = true
				}
			}
		}
		for _, p := range b.preds {
			t, ok := find(p.col)
			if !ok {
				continue
			}
			a := get(t)
			u := use{col: p.col.name, expr: p.expr, konst: p.konst, lit: p.lit, litKind: p.litKind, op: p.op, params: p.params, cond: p.cond, pattern: p.pattern}
			col := t.columns[p.col.name]
			if p.relabel && stringColumn(col) {
				u.expr, u.cond = "", nil
			}
			if p.pattern && (col == nil || !col.collateC) {
				u.opclass = patternOpclass
			}
			switch p.kind {
			case predEq:
				a.eq = append(a.eq, u)
			case predIn:
				a.in = append(a.in, u)
			case predRange:
				a.ranges = append(a.ranges, u)
			case predJoin:
				if ot, ok := find(p.other); ok && ot != t {
					a.joins = append(a.joins, u)
				}
			}
			for _, n := range p.params {
				r.params[n] = paramUse{t: t, col: p.col.name, op: p.op, array: p.array}
			}
		}
		if len(b.order) > 0 && b.orderOK {
			var owner *table
			var keys []indexdef.Key
			for _, o := range b.order {
				t, ok := find(o.col)
				if !ok || (owner != nil && owner != t) {
					owner = nil
					break
				}
				owner = t
				keys = append(keys, indexdef.Key{Column: o.col.name, Desc: o.desc, NullsFirst: o.desc})
			}
			if owner != nil {
				a := get(owner)
				a.order = keys
				a.limit = b.limit
			}
		}
		if len(b.group) > 0 {
			var owner *table
			var cols []string
			for _, g := range b.group {
				t, ok := find(g)
				if !ok || (owner != nil && owner != t) {
					owner = nil
					break
				}
				owner = t
				cols = append(cols, g.name)
			}
			if owner != nil {
				get(owner).group = cols
			}
		}
	}
	if q.target != nil {
		if t := c.tableByRef(*q.target); t != nil {
			get(t)
			r.target = t
			r.set = q.set
		}
	}
	for n, what := range q.limitParams {
		r.params[n] = paramUse{limit: what}
	}
	return r
}

// hasParams reports whether the statement holds $n parameters.
func (q *query) hasParams() bool { return q.maxParam > 0 }

// uniqueUses drops repeated columns, keeping the first.
func uniqueUses(us []use) []use {
	seen := map[string]bool{}
	var out []use
	for _, u := range us {
		k := u.expr + "(" + u.col + ")" + u.opclass
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, u)
	}
	return out
}

// sortBySelectivity orders equality uses most selective first, by the
// share of rows pg_qualstats saw each keep where it counted the
// predicate alone (real, a normalized statement's), else by pg_stats'
// average; ties go to the column the table is more nearly sorted by
// (|correlation|), then by name, so the order is stable. It reports
// whether pg_qualstats' shares gave another order than pg_stats' alone.
func sortBySelectivity(t *table, us []use, real bool) bool {
	sel := func(u use) float64 {
		if real {
			s, _ := realSelectivity(t, u)
			return s
		}
		if c := t.columns[u.col]; c != nil {
			return c.eqSelectivity(t.rows)
		}
		return defaultEqSelectivity
	}
	corr := func(u use) float64 {
		if c := t.columns[u.col]; c != nil && c.stats != nil {
			if c.stats.correlation < 0 {
				return -c.stats.correlation
			}
			return c.stats.correlation
		}
		return 0
	}
	sort.SliceStable(us, func(i, j int) bool {
		si, sj := sel(us[i]), sel(us[j])
		if si != sj {
			return si < sj
		}
		ci, cj := corr(us[i]), corr(us[j])
		if ci != cj {
			return ci > cj
		}
		return strings.Compare(us[i].expr+us[i].col, us[j].expr+us[j].col) < 0
	})
	if !real {
		return false
	}
	byStats := append([]use(nil), us...)
	sortBySelectivity(t, byStats, false)
	for i := range us {
		if us[i].col != byStats[i].col || us[i].expr != byStats[i].expr {
			return true
		}
	}
	return false
}
