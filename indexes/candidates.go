package indexes

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
)

// Thresholds of candidate generation.
const (
	// maxUsefulFraction: an index whose leading predicates keep more than
	// this share of a table's rows, and that gives no order and covers
	// nothing, loses to a sequential scan: each row found costs a random
	// heap read (random_page_cost 4) where the scan reads pages in order
	// (seq_page_cost 1), so past roughly a quarter to a third of the rows
	// the planner will not use it.
	maxUsefulFraction = 0.3
	// rangeSelectivity is what a range predicate on one side is taken to
	// keep: the tenth of the rows the values drawn for a range keep
	// (lowerBoundQuantile), as "since last week" keeps the newest rows;
	// the planner, given the values, decides. (Its DEFAULT_INEQ_SEL, a
	// third, would leave out every one-sided range before costing.)
	rangeSelectivity = 1 - lowerBoundQuantile
	// boundedRangeSelectivity is the planner's DEFAULT_RANGE_INEQ_SEL
	// (0.005), for a column bounded on both sides (a week of orders).
	boundedRangeSelectivity = 0.005
	// defaultMatchSelectivity is the planner's DEFAULT_MATCH_SEL (0.005),
	// for a LIKE whose prefix's share is not known here: a prefix is a
	// narrow range.
	defaultMatchSelectivity = 0.005
	// maxIncludeColumns caps INCLUDE: a covering index of more columns is
	// close to a second copy of the table.
	maxIncludeColumns = 3
	// maxIncludeWidth is the widest column (pg_stats avg_width, bytes)
	// worth copying into an index for an index-only scan.
	maxIncludeWidth = 64
	// lowCardinality is the most distinct values a column may have for a
	// constant predicate on it to become a partial index's WHERE: a
	// status, a kind, a flag, whose values the application's code names
	// (an id or an email is the request's).
	lowCardinality = 10
)

// cand is a candidate index.
type cand struct {
	def indexDef
	id  string
	// roles say what each key does for the statement that asked first:
	// "=", "IN", "range", "ORDER BY", "GROUP BY", "join".
	roles []string
	// stmts are the statements (indexes into the advisor's list) that
	// asked for it.
	stmts map[int]bool
	// reject says why it was not chosen.
	reject string
	// bytes is its estimated size, known once it has been created.
	bytes int64
	// measured says what pg_qualstats' real selectivities decided of its
	// keys (keptNote).
	measured []string
}

// generator builds the candidate pool.
type generator struct {
	maxCols int
	pool    map[string]*cand
	order   []*cand
	// notes are what pg_qualstats measured of the access being added's
	// predicates, by key target, when it decided their order.
	notes map[string]string
}

func newGenerator(maxCols int) *generator {
	return &generator{maxCols: maxCols, pool: map[string]*cand{}}
}

// keyed is a key list with what each key does.
type keyed struct {
	keys  []indexdef.Key
	roles []string
}

func (k keyed) with(key indexdef.Key, role string) keyed {
	for _, old := range k.keys {
		if target(old) == target(key) {
			return k
		}
	}
	return keyed{keys: append(append([]indexdef.Key(nil), k.keys...), key), roles: append(append([]string(nil), k.roles...), role)}
}

// forAccess adds the candidates one statement's use of one table asks for.
func (g *generator) forAccess(si int, a *access, isSelect bool) {
	if a.t.kind != "r" && a.t.kind != "m" && a.t.kind != "p" || a.t.system != "" {
		return
	}
	eq := uniqueUses(a.eq)
	reordered := sortBySelectivity(a.t, eq, true)
	in := uniqueUses(a.in)
	ranges := uniqueUses(a.ranges)
	joins := uniqueUses(a.joins)
	// Predicates pg_qualstats saw keep most rows lead no index; when that
	// or their measured shares decided the order, the candidates say so.
	broad := map[string]bool{}
	for _, us := range [][]use{eq, ranges} {
		for _, u := range us {
			if u.broad() && !u.fixed {
				broad[target(u.key())] = true
			}
		}
	}
	g.notes = nil
	if reordered || len(broad) > 0 {
		g.notes = map[string]string{}
		for _, us := range [][]use{eq, ranges} {
			for _, u := range us {
				if u.kept != nil {
					g.notes[target(u.key())] = keptNote(u)
				}
			}
		}
	}
	defer func() { g.notes = nil }()

	type family struct {
		eq               []use
		where, whereCols []string
	}
	families := []family{{eq: eq}}
	var rest []use
	var where, whereCols []string
	for _, u := range eq {
		if u.fixed {
			where = append(where, u.konst)
			whereCols = append(whereCols, u.col)
			continue
		}
		rest = append(rest, u)
	}
	if len(where) > 0 {
		families = append(families, family{eq: rest, where: where, whereCols: whereCols})
	}
	for _, f := range families {
		var base keyed
		for _, u := range f.eq {
			base = base.with(u.key(), "=")
		}
		fixed := map[string]bool{}
		for _, u := range f.eq {
			fixed[u.col] = true
		}
		if len(f.where) > 0 {
			for _, u := range eq {
				fixed[u.col] = true
			}
		}
		var lists []keyed
		if len(a.order) > 0 && len(in) == 0 {
			l := base
			for _, o := range a.order {
				if !fixed[o.Column] {
					l = l.with(o, "ORDER BY")
				}
			}
			lists = append(lists, l)
		}
		withIn := base
		for _, u := range in {
			withIn = withIn.with(u.key(), "IN")
		}
		for _, r := range ranges {
			lists = append(lists, withIn.with(r.key(), "range"))
		}
		if len(a.group) > 0 {
			l := base
			for _, col := range a.group {
				if !fixed[col] {
					l = l.with(indexdef.Key{Column: col}, "GROUP BY")
				}
			}
			lists = append(lists, l)
		}
		for _, j := range joins {
			lists = append(lists, base.with(j.key(), "join"))
		}
		lists = append(lists, withIn)
		w := partialPred{sql: strings.Join(f.where, " AND "), fixed: f.where, cols: f.whereCols}
		for _, l := range lists {
			if l = demoteBroad(l, broad); len(l.keys) == 0 {
				continue
			}
			if len(l.keys) > g.maxCols {
				l.keys, l.roles = l.keys[:g.maxCols], l.roles[:g.maxCols]
			}
			for n := 1; n <= len(l.keys); n++ {
				g.add(si, a, keyed{keys: l.keys[:n], roles: l.roles[:n]}, nil, w)
			}
			if inc := includeFor(a, l.keys, w.sql, isSelect); len(inc) > 0 {
				g.add(si, a, l, inc, w)
			}
		}
	}
}

// demoteBroad moves the keys of predicates that keep most rows (broad)
// from the head of a key list to after its first other key: the index
// then narrows on that key first and filters on theirs inside the index.
// A list of such keys only is no candidate (nothing left).
func demoteBroad(l keyed, broad map[string]bool) keyed {
	if len(l.keys) == 0 || !broad[target(l.keys[0])] {
		return l
	}
	j := 0
	for j < len(l.keys) && broad[target(l.keys[j])] {
		j++
	}
	if j == len(l.keys) {
		return keyed{}
	}
	var out keyed
	out.keys = append(append(append(out.keys, l.keys[j]), l.keys[:j]...), l.keys[j+1:]...)
	out.roles = append(append(append(out.roles, l.roles[j]), l.roles[:j]...), l.roles[j+1:]...)
	return out
}

// includeFor returns the columns that, added as INCLUDE, let the
// statement read the table from the index alone; nil when there are none,
// too many, or too wide ones. A column a partial index's predicate (where)
// fixes by one of the access's constants needs no copy: an index-only scan
// of a partial index does not read the columns its predicate settles.
func includeFor(a *access, keys []indexdef.Key, where string, isSelect bool) []string {
	if !isSelect || a.star {
		return nil
	}
	inKeys := map[string]bool{}
	if where != "" {
		for _, u := range a.eq {
			if u.fixed && strings.Contains(where, u.konst) {
				inKeys[u.col] = true
			}
		}
	}
	for _, k := range keys {
		if k.Column == "" {
			return nil
		}
		inKeys[k.Column] = true
	}
	var inc []string
	for col := range a.refs {
		if inKeys[col] {
			continue
		}
		c := a.t.columns[col]
		if c == nil || c.stats == nil || c.stats.avgWidth > maxIncludeWidth {
			return nil
		}
		inc = append(inc, col)
	}
	if len(inc) == 0 || len(inc) > maxIncludeColumns {
		return nil
	}
	sort.Strings(inc)
	return inc
}

// partialPred is a partial candidate's predicate: its SQL, and its conjuncts and
// their columns (indexDef.fixed); the zero partialPred is none.
type partialPred struct {
	sql         string
	fixed, cols []string
}

// add puts a candidate in the pool, unless it is already there (then it
// only notes the statement) or an existing index serves it.
func (g *generator) add(si int, a *access, l keyed, include []string, where partialPred) {
	def := indexDef{table: a.t, keys: append([]indexdef.Key(nil), l.keys...), include: include, where: where.sql, fixed: where.fixed, fixedCols: where.cols}
	id := def.id()
	if c, ok := g.pool[id]; ok {
		c.stmts[si] = true
		return
	}
	c := &cand{def: def, id: id, roles: append([]string(nil), l.roles...), stmts: map[int]bool{si: true}}
	for _, k := range def.keys {
		if n, ok := g.notes[target(k)]; ok {
			c.measured = append(c.measured, n)
		}
	}
	g.pool[id] = c
	g.order = append(g.order, c)
	if e := servedBy(&def, a.t.indexes); e != nil {
		c.reject = "existing index " + e.name + " already serves it"
		return
	}
	if e := permutationOf(&def, l.roles, a.t.indexes); e != nil {
		c.reject = "existing index " + e.name + " has the same key columns in another order, and the statement compares each of them with =: it serves the same lookups"
		return
	}
	if frac, ok := g.selective(a, c); !ok {
		c.reject = fmt.Sprintf("not selective: its predicates keep about %.0f%% of the rows and it gives no order the statement needs", frac*100)
	}
}

// columns are the columns an existing index holds, keys and INCLUDE.
func (e *existing) columns() map[string]bool {
	covered := map[string]bool{}
	for _, k := range e.def.keys {
		covered[k.Column] = true
	}
	for _, c := range e.def.include {
		covered[c] = true
	}
	return covered
}

// servedBy returns an existing valid btree index that already does what
// def would: def's keys are a prefix of its keys, its other columns cover
// def's INCLUDE, and both have the same predicate.
func servedBy(def *indexDef, existing []*existing) *existing {
	for _, e := range existing {
		if !e.valid || e.special || e.def.where != def.where || !indexdef.KeyPrefix(def.keys, e.def.keys) {
			continue
		}
		covered := e.columns()
		ok := true
		for _, c := range def.include {
			if !covered[c] {
				ok = false
			}
		}
		if ok {
			return e
		}
	}
	return nil
}

// permutationOf returns an existing valid btree index whose leading keys
// are def's keys in another order, when every key of def is compared with
// = (roles): an index on (store_id, film_id) finds the rows of
// film_id = 1 AND store_id = 2 as (film_id, store_id) would. INCLUDE must
// be covered and the predicate the same.
func permutationOf(def *indexDef, roles []string, existing []*existing) *existing {
	if len(def.keys) < 2 {
		return nil
	}
	want := map[string]bool{}
	for i, k := range def.keys {
		if i >= len(roles) || roles[i] != "=" || k.Opclass != "" {
			return nil
		}
		want[target(k)] = true
	}
	for _, e := range existing {
		if !e.valid || e.special || e.def.where != def.where || len(e.def.keys) < len(def.keys) {
			continue
		}
		have := map[string]bool{}
		for _, k := range e.def.keys[:len(def.keys)] {
			have[target(k)] = true
		}
		same := len(have) == len(want)
		for t := range want {
			same = same && have[t]
		}
		if !same {
			continue
		}
		covered := e.columns()
		for _, c := range def.include {
			same = same && covered[c]
		}
		if same {
			return e
		}
	}
	return nil
}

// selective reports whether a candidate can pay for itself on the access
// that asked for it: its leading equality and range keys keep few enough
// rows, or it gives the ORDER BY a LIMIT needs, or it covers every column
// the statement reads. frac is the share of rows it keeps.
func (g *generator) selective(a *access, c *cand) (frac float64, ok bool) {
	frac = 1
	eqs := map[string]use{}
	for _, u := range append(append([]use(nil), a.eq...), a.in...) {
		eqs[target(u.key())] = u
	}
	for _, u := range a.in {
		eqs[target(u.key())] = use{col: u.col, expr: u.expr, op: "IN"}
	}
	ranges := map[string]float64{}
	sides := map[string]int{}
	for _, u := range a.ranges {
		t := target(u.key())
		switch u.op {
		case ">", ">=":
			sides[t] |= 1
		case "<", "<=":
			sides[t] |= 2
		}
		ranges[t] = rangeSelectivity
		if sides[t] == 3 {
			ranges[t] = boundedRangeSelectivity
		}
		if u.pattern {
			ranges[t] = defaultMatchSelectivity
		}
		if u.kept != nil && (u.kept.exact || u.kept.share > ranges[t]) {
			// What the range really kept, as pg_qualstats counted it.
			ranges[t] = u.kept.share
		}
	}
	joins := map[string]bool{}
	for _, u := range a.joins {
		joins[target(u.key())] = true
	}
	lead := 0
	for _, k := range c.def.keys {
		t := target(k)
		if u, isEq := eqs[t]; isEq {
			s, _ := realSelectivity(a.t, u)
			if u.op == "IN" {
				s = math.Min(1, 3*s)
			}
			frac *= s
			lead++
			continue
		}
		if joins[t] {
			// A join key: one outer row at a time, as selective as the
			// column is distinct.
			if col := a.t.columns[k.Column]; col != nil {
				frac *= col.eqSelectivity(a.t.rows)
			}
			lead++
			continue
		}
		if sel, ok := ranges[t]; ok {
			frac *= sel
		}
		break
	}
	if c.def.where != "" {
		for _, u := range a.eq {
			if u.fixed && strings.Contains(c.def.where, u.konst) {
				if share := valueShare(a.t.columns[u.col], a.t.rows, u.lit); share >= 0 {
					frac *= share
				}
			}
		}
	}
	if frac <= maxUsefulFraction {
		return frac, true
	}
	// It gives the order a LIMIT stops early in: the key after the
	// equalities is an ORDER BY column (the ones before it being fixed by
	// equalities).
	for _, o := range a.order {
		if a.limit && lead < len(c.def.keys) && c.def.keys[lead].Column == o.Column {
			return frac, true
		}
	}
	// It covers the statement: an index-only scan reads less than the heap.
	if !a.star {
		covered := map[string]bool{}
		for _, k := range c.def.keys {
			covered[k.Column] = true
		}
		for _, col := range c.def.include {
			covered[col] = true
		}
		all := true
		for col := range a.refs {
			if !covered[col] {
				all = false
			}
		}
		if all {
			return frac, true
		}
	}
	return frac, false
}
