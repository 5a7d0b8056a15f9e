package indexes

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"

	"github.com/hishamos/hishamos-perf/analyze"
	"github.com/hishamos/hishamos-perf/internal/pg"
)

// costed is a workload statement ready to be planned.
type costed struct {
	st   *Statement
	idx  int
	r    *resolved
	args []any
	sql  string
	// weight is the statement's weight in this run (for a workload
	// weighted by total time, its time per unit of cost).
	weight float64
	// before is its cost with the existing indexes only.
	before float64
	// usedBefore are the existing indexes its plan uses then.
	usedBefore []string
}

// planCost is one statement planned under one index set.
type planCost struct {
	cost float64
	// used are the ids of the what-if indexes the plan reads and, prefixed
	// with existingPrefix, the names of existing ones.
	used []string
	// rows are, by what-if index id, the most rows one scan of it is
	// estimated to return.
	rows map[string]float64
}

// existingPrefix marks an existing index's name in planCost.used.
const existingPrefix = "existing:"

// uses reports whether the plan reads the index with the given id.
func (p *planCost) uses(id string) bool {
	for _, u := range p.used {
		if u == id {
			return true
		}
	}
	return false
}

// live is a what-if index that exists right now.
type live struct {
	def  *indexDef
	made made
}

// engine plans statements under index sets, creating and dropping what-if
// indexes as the sets change, and caches every plan by statement and the
// set's indexes that could serve it (mayServe): an index no predicate,
// order or grouping of the statement can use, and that does not cover it,
// cannot change its plan, so sets that differ only in such indexes share
// one plan, and the cache grows with the moves that concern a statement,
// not with every set tried.
type engine struct {
	q     Querier
	w     whatIf
	cache map[*costed]map[string]*planCost
	live  map[string]*live
	// names maps a what-if index's name in plans to its id.
	names map[string]string
	// nums are short numbers for index ids, so a cache key is a few bytes
	// per index rather than each index's whole definition.
	nums map[string]int
	// sizes are the estimated bytes of every index made so far, by id.
	sizes map[string]int64
	// failed holds, by id, why the method could not make an index (HypoPG
	// refusing a definition): the index is left out of every plan.
	failed map[string]string
	// explains and hits count plans made and plans served from the cache;
	// cachedPlans is the plans the cache holds, peak the most it held.
	explains, hits, cachedPlans, peak int
	// user is the session's role, once privilege needed it.
	user string
	// factors are, by statement and expression, the real over the
	// planner's selectivity of the statement's predicate on an expression
	// (exprFactor).
	factors map[*costed]map[string]float64
	// partIndex names the partitioned index a partition's existing index
	// is part of: a plan reading it uses the partitioned index.
	partIndex map[string]string
}

func newEngine(q Querier, w whatIf) *engine {
	return &engine{q: q, w: w, cache: map[*costed]map[string]*planCost{}, live: map[string]*live{},
		names: map[string]string{}, nums: map[string]int{}, sizes: map[string]int64{}, failed: map[string]string{},
		factors: map[*costed]map[string]float64{}}
}

// cacheKey names the set's indexes that could serve the statement, in a
// fixed order: the part of the set the statement's plan depends on.
func (e *engine) cacheKey(s *costed, set []*indexDef) string {
	var nums []int
	for _, d := range set {
		if mayServe(d, s) {
			n, ok := e.nums[d.id()]
			if !ok {
				n = len(e.nums)
				e.nums[d.id()] = n
			}
			nums = append(nums, n)
		}
	}
	if len(nums) == 0 {
		return ""
	}
	sort.Ints(nums)
	b := make([]byte, 0, 3*len(nums))
	for _, n := range nums {
		b = binary.AppendUvarint(b, uint64(n))
	}
	return string(b)
}

// plan returns the statement's plan under the set (existing indexes plus
// the set's), from the cache when it can.
func (e *engine) plan(ctx context.Context, s *costed, set []*indexDef) (*planCost, error) {
	key := e.cacheKey(s, set)
	if p, ok := e.cache[s][key]; ok {
		e.hits++
		return p, nil
	}
	if err := e.materialize(ctx, e.present(s, set)); err != nil {
		return nil, err
	}
	p, plan, err := e.explain(ctx, s)
	if err != nil {
		return nil, err
	}
	if err := e.correct(ctx, s, set, p, plan); err != nil {
		return nil, err
	}
	e.remember(s, key, p)
	return p, nil
}

// present is the part of the set that exists while the statement is
// planned: all of it, except, under HypoPG, the partial indexes that
// cannot serve the statement. Those exist for the planner as their
// surrogates (indexDef.surrogate), which serve any value of their leading
// columns: present, one would be read by a statement with another value
// there, whose plan no partial index changes (mayServe) and whose cache
// key leaves it out.
func (e *engine) present(s *costed, set []*indexDef) []*indexDef {
	if e.w.method() != CostingHypoPG {
		return set
	}
	// d.fixed is what gives a partial index its stand-in; the plan cache
	// calls this on each miss, so the stand-in itself is not built here.
	keep := func(d *indexDef) bool { return len(d.fixed) == 0 || mayServe(d, s) }
	if !slices.ContainsFunc(set, func(d *indexDef) bool { return !keep(d) }) {
		return set
	}
	var out []*indexDef
	for _, d := range set {
		if keep(d) {
			out = append(out, d)
		}
	}
	return out
}

// remember caches the statement's plan under a key.
func (e *engine) remember(s *costed, key string, p *planCost) {
	m := e.cache[s]
	if m == nil {
		m = map[string]*planCost{}
		e.cache[s] = m
	}
	if _, ok := m[key]; !ok {
		e.cachedPlans++
		e.peak = max(e.peak, e.cachedPlans)
	}
	m[key] = p
}

// keep drops every cached plan of the statement except the one under
// set: once a chosen index that could serve the statement has changed,
// every set tried from then on holds the change, and no plan cached
// before it can be asked for again (a later removal only costs a plan).
func (e *engine) keep(s *costed, set []*indexDef) {
	key := e.cacheKey(s, set)
	p, ok := e.cache[s][key]
	e.cachedPlans -= len(e.cache[s])
	delete(e.cache, s)
	if ok {
		e.remember(s, key, p)
	}
}

// forget drops the statement's plan under set from the cache, unless no
// index of set could serve it (that plan is its plan with the existing
// indexes alone).
func (e *engine) forget(s *costed, set []*indexDef) {
	if key := e.cacheKey(s, set); key != "" {
		if _, ok := e.cache[s][key]; ok {
			e.cachedPlans--
			delete(e.cache[s], key)
		}
	}
}

// size returns the estimated bytes of an index, making it once if it was
// never made.
func (e *engine) size(ctx context.Context, d *indexDef) (int64, error) {
	if b, ok := e.sizes[d.id()]; ok || e.failed[d.id()] != "" {
		return b, nil
	}
	ms, err := e.w.create(ctx, []*indexDef{d})
	if err != nil {
		if pe, ok := isPgError(err); ok {
			e.failed[d.id()] = pe.Message
			return 0, nil
		}
		return 0, err
	}
	e.sizes[d.id()] = ms[0].bytes
	return ms[0].bytes, e.w.drop(ctx, ms)
}

// materialize makes exactly the set's indexes exist: drops the others in
// one batch, creates the missing ones in another.
func (e *engine) materialize(ctx context.Context, set []*indexDef) error {
	want := make(map[string]*indexDef, len(set))
	for _, d := range set {
		want[d.id()] = d
	}
	var gone []made
	for id, l := range e.live {
		if _, ok := want[id]; !ok {
			gone = append(gone, l.made)
			delete(e.live, id)
			for _, n := range l.made.names() {
				delete(e.names, n)
			}
		}
	}
	if err := e.w.drop(ctx, gone); err != nil {
		return fmt.Errorf("indexes: drop what-if indexes: %w", err)
	}
	var missing []*indexDef
	for _, d := range set {
		if _, ok := e.live[d.id()]; !ok && e.failed[d.id()] == "" {
			missing = append(missing, d)
		}
	}
	sort.Slice(missing, func(i, j int) bool { return missing[i].id() < missing[j].id() })
	ms, err := e.w.create(ctx, missing)
	e.record(missing, ms)
	if err == nil {
		return nil
	}
	if _, ok := isPgError(err); !ok {
		return fmt.Errorf("indexes: create what-if indexes: %w", err)
	}
	// The server refused one definition, and the rest of the batch with
	// it: make them one at a time and leave out the ones it refuses.
	for _, d := range missing {
		if _, ok := e.live[d.id()]; ok {
			continue
		}
		ms, err := e.w.create(ctx, []*indexDef{d})
		if pe, ok := isPgError(err); ok {
			e.failed[d.id()] = pe.Message
			continue
		}
		if err != nil {
			return fmt.Errorf("indexes: create what-if indexes: %w", err)
		}
		e.record([]*indexDef{d}, ms)
	}
	return nil
}

// record notes the indexes a create made.
func (e *engine) record(defs []*indexDef, ms []made) {
	for i, m := range ms {
		if m.name == "" || i >= len(defs) {
			continue
		}
		d := defs[i]
		e.live[d.id()] = &live{def: d, made: m}
		for _, n := range m.names() {
			e.names[n] = d.id()
		}
		e.sizes[d.id()] = m.bytes
	}
}

// explain plans the statement as things stand.
func (e *engine) explain(ctx context.Context, s *costed) (*planCost, *analyze.Plan, error) {
	e.explains++
	var raw []byte
	err := e.w.guard(ctx, func() error { return e.q.QueryRow(ctx, s.sql, s.args...).Scan(&raw) })
	if err != nil {
		return nil, nil, err
	}
	plan, err := analyze.ParsePlan(raw)
	if err != nil {
		return nil, nil, err
	}
	p := &planCost{cost: plan.Root.TotalCost}
	for _, name := range plan.IndexesUsed() {
		if id, ok := e.names[name]; ok {
			p.used = append(p.used, id)
		} else if parent, ok := e.partIndex[name]; ok {
			p.used = append(p.used, existingPrefix+parent)
		} else {
			p.used = append(p.used, existingPrefix+name)
		}
	}
	plan.Walk(func(n *analyze.Node) bool {
		if id, ok := e.names[n.IndexName]; ok && n.IndexName != "" {
			if p.rows == nil {
				p.rows = map[string]float64{}
			}
			p.rows[id] = max(p.rows[id], n.PlanRows)
		}
		return true
	})
	return p, plan, nil
}

// cleanup removes every what-if index.
func (e *engine) cleanup() error {
	e.live = map[string]*live{}
	e.names = map[string]string{}
	return e.w.cleanup()
}

// privilege adds the GRANT that fixes a permission error (SQLSTATE 42501)
// to err; other errors come back unchanged.
func (e *engine) privilege(ctx context.Context, err error, privilege string) error {
	if _, ok := pg.FixFor(err, "", privilege); !ok {
		return err
	}
	role, rerr := e.role(ctx)
	if rerr != nil {
		return err
	}
	return pg.PrivilegeError(err, role, privilege)
}

// role is the session's user, asked once.
func (e *engine) role(ctx context.Context) (string, error) {
	if e.user == "" {
		if err := e.q.QueryRow(ctx, `SELECT current_user`).Scan(&e.user); err != nil {
			return "", err
		}
	}
	return e.user, nil
}
