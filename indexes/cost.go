package indexes

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/hishamos/hishamos-perf/analyze"
	"github.com/hishamos/hishamos-perf/internal/pg"
)

// costed is a workload statement ready to be planned.
type costed struct {
	st  *Statement
	idx int
	r   *resolved
	// tables are the oids of the tables it reads: only indexes on them can
	// change its plan.
	tables map[uint32]bool
	args   []any
	sql    string
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
// indexes as the sets change and caching every plan by statement and the
// set of indexes on the tables it reads.
type engine struct {
	q     Querier
	w     whatIf
	cache map[string]*planCost
	live  map[string]*live
	// names maps a what-if index's name in plans to its id.
	names map[string]string
	// sizes are the estimated bytes of every index made so far, by id.
	sizes map[string]int64
	// failed holds, by id, why the method could not make an index (HypoPG
	// refusing a definition): the index is left out of every plan.
	failed map[string]string
	// explains and hits count plans made and plans served from the cache.
	explains, hits int
	// user is the session's role, once privilege needed it.
	user string
}

func newEngine(q Querier, w whatIf) *engine {
	return &engine{q: q, w: w, cache: map[string]*planCost{}, live: map[string]*live{},
		names: map[string]string{}, sizes: map[string]int64{}, failed: map[string]string{}}
}

// cacheKey is the statement and the ids of the set's indexes on its tables.
func cacheKey(s *costed, set []*indexDef) string {
	var ids []string
	for _, d := range set {
		if s.tables[d.table.oid] {
			ids = append(ids, d.id())
		}
	}
	sort.Strings(ids)
	return strconv.Itoa(s.idx) + "\x00" + strings.Join(ids, "\x00")
}

// plan returns the statement's plan under the set (existing indexes plus
// the set's), from the cache when it can.
func (e *engine) plan(ctx context.Context, s *costed, set []*indexDef) (*planCost, error) {
	key := cacheKey(s, set)
	if p, ok := e.cache[key]; ok {
		e.hits++
		return p, nil
	}
	if err := e.materialize(ctx, set); err != nil {
		return nil, err
	}
	p, err := e.explain(ctx, s)
	if err != nil {
		return nil, err
	}
	e.cache[key] = p
	return p, nil
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
			delete(e.names, l.made.name)
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
		e.names[m.name] = d.id()
		e.sizes[d.id()] = m.bytes
	}
}

// explain plans the statement as things stand.
func (e *engine) explain(ctx context.Context, s *costed) (*planCost, error) {
	e.explains++
	var raw []byte
	err := e.w.guard(ctx, func() error { return e.q.QueryRow(ctx, s.sql, s.args...).Scan(&raw) })
	if err != nil {
		return nil, err
	}
	plan, err := analyze.ParsePlan(raw)
	if err != nil {
		return nil, err
	}
	p := &planCost{cost: plan.Root.TotalCost}
	for _, name := range plan.IndexesUsed() {
		if id, ok := e.names[name]; ok {
			p.used = append(p.used, id)
		} else {
			p.used = append(p.used, existingPrefix+name)
		}
	}
	return p, nil
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
