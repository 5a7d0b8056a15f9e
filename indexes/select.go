package indexes

import (
	"container/heap"
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
)

// minDensityShare sets the least a move must save per byte: a thousandth
// of what the workload costs per byte of the tables it reads. Below that
// an index buys a saving within the planner's estimation error with bytes
// and write work that are real (an index of tens of megabytes to shave a
// few cost units off a statement that is already an index lookup).
const minDensityShare = 0.001

// minMoveBytes is the smallest size a move is charged: one 8 kB page, so a
// move that adds (almost) nothing, such as widening an index whose size
// barely changes, does not get an infinite benefit per byte.
const minMoveBytes = 8192

// maxIncludeWidenings caps the INCLUDE widenings tried for one chosen
// index: each is the index with the columns one statement whose plan reads
// it would need for an index-only scan, so an index many statements share
// would otherwise bring one move per statement. The costliest statements'
// come first.
const maxIncludeWidenings = 8

// move adds an index, or replaces a chosen one with a wider one.
type move struct {
	add     *cand
	replace *cand
}

func (m move) key() string {
	if m.replace == nil {
		return m.add.id
	}
	return m.replace.id + "\x00" + m.add.id
}

// moveResult is what a move would do.
type moveResult struct {
	benefit float64
	maxImp  float64
	bytes   int64
	// best is the statement it helps most.
	best *costed
}

// evaluated is a move and what it would do, as of one point of the
// selection.
type evaluated struct {
	m     move
	r     moveResult
	ratio float64
	// at is the selector's clock when it was evaluated: each statement's
	// part holds until the statement's plan with the chosen indexes
	// changes (selector.changed).
	at int64
	// rel are the statements the move could change, costs their costs
	// with the move made, and cur their costs then without it.
	rel   []*costed
	costs []float64
	cur   []float64
}

// selector runs the greedy selection.
//
// A move's result is the sum of its parts, one per statement its index (or
// the index it replaces) could serve (mayServe); no other statement can
// plan differently with it. Each result keeps its parts and the clock at
// which they were planned, and each statement the clock at which its plan
// with the chosen indexes last changed. A part holds while its statement's
// plan has not changed: a chosen index that the statement's plan does not
// read leaves the statement's plans with other indexes as they were (the
// planner could combine the two in a bitmap scan, which this leaves out).
// So bringing a result up to date re-plans only the statements whose plans
// changed, and moves wait in a queue by their last ratio: only the one at
// the head is brought up to date, and it is made when it is still at the
// head (lazy greedy: choosing an index only lowers statements' costs, so a
// move's benefit only falls). When a statement's cost rises (a widening
// made the index it reads bigger, a merge took one away), every move is
// queued again by a bound on what the rise can add to it.
type selector struct {
	e     *engine
	stmts []*costed
	// byTable, byTarget, byQual and byRef index the statements by table,
	// by what an index's first key can serve on the table
	// (access.servable), by what its other keys can (access.qualified),
	// and by the columns they read of it.
	byTable  map[uint32][]*costed
	byTarget map[uint32]map[string][]*costed
	byQual   map[uint32]map[string][]*costed
	byRef    map[uint32]map[string][]*costed
	// rel holds relevant's answers by index id.
	rel  map[string][]*costed
	pool []*cand
	// known are the candidates by id: the pool's, those left out before
	// selection, and those made up during it.
	known  map[string]*cand
	chosen []*cand
	// current and plans are each statement's cost and plan with the
	// chosen indexes, by statement index.
	current []float64
	plans   []*planCost
	// changed is, by statement index, the clock when the statement's plan
	// with the chosen indexes last changed.
	changed    []int64
	clock      int64
	limit      int64
	usedBytes  int64
	maxIndexes int
	minImp     float64
	// name words the options the reasons refer to (Options.OptionName).
	name func(Option) string
	memo map[string]*evaluated
	// costed counts the moves evaluated, re-evaluations included.
	costed   int
	rounds   int
	progress func(done, total int)
	// floor is the least benefit per byte a move must bring.
	floor float64
	// before is the workload's cost with the existing indexes alone.
	before float64
}

func newSelector(e *engine, stmts []*costed, pool []*cand, known map[string]*cand, limit int64, maxIndexes int, minImp float64) *selector {
	s := &selector{e: e, stmts: stmts, pool: pool, known: map[string]*cand{}, limit: limit, maxIndexes: maxIndexes, minImp: minImp, name: optionField,
		byTable: map[uint32][]*costed{}, byTarget: map[uint32]map[string][]*costed{}, byQual: map[uint32]map[string][]*costed{},
		byRef: map[uint32]map[string][]*costed{}, rel: map[string][]*costed{},
		current: make([]float64, len(stmts)), plans: make([]*planCost, len(stmts)), changed: make([]int64, len(stmts)),
		memo: map[string]*evaluated{}}
	for id, c := range known {
		s.known[id] = c
	}
	for _, c := range pool {
		s.known[c.id] = c
	}
	for _, st := range stmts {
		s.current[st.idx] = st.before
		s.plans[st.idx] = &planCost{cost: st.before, used: st.usedBefore}
		for _, a := range st.r.accesses {
			oid := a.t.oid
			s.byTable[oid] = append(s.byTable[oid], st)
			if s.byTarget[oid] == nil {
				s.byTarget[oid], s.byQual[oid], s.byRef[oid] = map[string][]*costed{}, map[string][]*costed{}, map[string][]*costed{}
			}
			for t := range a.servable() {
				s.byTarget[oid][t] = append(s.byTarget[oid][t], st)
			}
			for t := range a.qualified() {
				s.byQual[oid][t] = append(s.byQual[oid][t], st)
			}
			for col := range a.refs {
				s.byRef[oid][col] = append(s.byRef[oid][col], st)
			}
		}
	}
	return s
}

// set is the chosen indexes' definitions, with m applied.
func (s *selector) set(m *move) []*indexDef {
	out := make([]*indexDef, 0, len(s.chosen)+1)
	for _, c := range s.chosen {
		if m != nil && m.replace == c {
			continue
		}
		out = append(out, &c.def)
	}
	if m != nil {
		out = append(out, &m.add.def)
	}
	return out
}

// relevant are the statements an index could change the plan of
// (mayServe), in the workload's order: found through the statements'
// indexes, so the cost of finding them grows with them, not with the
// workload.
func (s *selector) relevant(d *indexDef) []*costed {
	if r, ok := s.rel[d.id()]; ok {
		return r
	}
	oid := d.table.oid
	var out []*costed
	if d.keys[0].Column == "" {
		out = s.byTable[oid]
	} else {
		seen := map[int]bool{}
		add := func(st *costed) {
			if !seen[st.idx] {
				seen[st.idx] = true
				out = append(out, st)
			}
		}
		for _, st := range s.byTarget[oid][target(d.keys[0])] {
			add(st)
		}
		for _, k := range d.keys[1:] {
			for _, st := range s.byQual[oid][target(k)] {
				add(st)
			}
		}
		// Covering scans: a statement all of whose columns the index holds
		// reads at least one of them.
		cols := append(d.keyColumns(), d.include...)
		for _, col := range cols {
			for _, st := range s.byRef[oid][col] {
				if !seen[st.idx] && mayServe(d, st) {
					add(st)
				}
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].idx < out[j].idx })
	}
	s.rel[d.id()] = out
	return out
}

// union merges statement lists in the workload's order, once each.
func union(lists ...[]*costed) []*costed {
	if len(lists) == 1 {
		return lists[0]
	}
	seen := map[int]bool{}
	var out []*costed
	for _, l := range lists {
		for _, st := range l {
			if !seen[st.idx] {
				seen[st.idx] = true
				out = append(out, st)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].idx < out[j].idx })
	return out
}

// stale reports whether the plan of one of the move's statements changed
// since the move was evaluated.
func (s *selector) stale(ev *evaluated) bool {
	for _, st := range ev.rel {
		if s.changed[st.idx] > ev.at {
			return true
		}
	}
	return false
}

// costOf returns the statement's cost in the result and whether the
// result has it and still holds for it.
func (s *selector) costOf(ev *evaluated, st *costed) (float64, bool) {
	if ev == nil {
		return 0, false
	}
	i := sort.Search(len(ev.rel), func(i int) bool { return ev.rel[i].idx >= st.idx })
	if i == len(ev.rel) || ev.rel[i] != st || s.changed[st.idx] > ev.at {
		return 0, false
	}
	return ev.costs[i], true
}

// bound is at least what the move's ratio is now: its last benefit plus,
// for every statement whose cost rose since (a widening made an index it
// reads bigger, a merge took one away), the rise. Moves are queued by it
// after a rise, so a move is only planned again if it could lead.
func (s *selector) bound(ev *evaluated) float64 {
	b := ev.r.benefit
	for i, st := range ev.rel {
		if rise := s.current[st.idx] - ev.cur[i]; rise > 0 {
			b += st.weight * rise
		}
	}
	if b == ev.r.benefit {
		return ev.ratio
	}
	return s.ratio(moveResult{benefit: b, bytes: ev.r.bytes})
}

// ratio is what moves are ranked by: benefit per byte, or the benefit
// itself when only the number of indexes is capped (index slots, not
// bytes, are then what is scarce).
func (s *selector) ratio(r moveResult) float64 {
	if s.maxIndexes > 0 && s.limit < 0 {
		return r.benefit
	}
	return r.benefit / float64(max(r.bytes, minMoveBytes))
}

// evaluate plans the statements a move can change, unless its last result
// still holds; of a result that no longer holds, it re-plans only the
// statements whose plans changed since. A widening takes, for a statement
// whose plan does not read the index it replaces, the statement's cost
// from the wider index's own evaluation as an addition when that holds:
// without the narrower index the statement plans as it did with it.
func (s *selector) evaluate(ctx context.Context, m move) (*evaluated, error) {
	old, had := s.memo[m.key()]
	if had && !s.stale(old) {
		return old, nil
	}
	s.costed++
	rel := s.relevant(&m.add.def)
	if m.replace != nil {
		rel = union(rel, s.relevant(&m.replace.def))
	}
	set := s.set(&m)
	ev := &evaluated{m: m, at: s.clock, rel: rel, costs: make([]float64, len(rel)), cur: make([]float64, len(rel))}
	r := &ev.r
	var alone *evaluated
	// payload: the move only adds INCLUDE columns to a chosen index. The
	// columns serve only the statements the wider index covers (an
	// index-only scan); any other reads the wider index as it reads the
	// narrower one, a few more pages apart, or not at all, so it is taken
	// at its cost now (making the move plans it exactly).
	payload := false
	if m.replace != nil {
		alone = s.memo[m.add.id]
		payload = indexdef.SameKeys(m.add.def.keys, m.replace.def.keys)
	}
	for i, st := range rel {
		if had && s.changed[st.idx] <= old.at {
			ev.costs[i] = old.costs[i]
		} else if c, ok := s.costOf(alone, st); ok && !s.plans[st.idx].uses(m.replace.id) {
			ev.costs[i] = c
		} else if payload && !coversStatement(&m.add.def, st) {
			ev.costs[i] = s.current[st.idx]
		} else {
			p, err := s.e.plan(ctx, st, set)
			if err != nil {
				return nil, fmt.Errorf("plan %s: %w", st.st.Label(), err)
			}
			ev.costs[i] = p.cost
		}
		cur := s.current[st.idx]
		ev.cur[i] = cur
		saved := cur - ev.costs[i]
		r.benefit += st.weight * saved
		if cur > 0 && saved/cur > r.maxImp {
			r.maxImp, r.best = saved/cur, st
		}
	}
	if r.benefit > 0 {
		size, err := s.e.size(ctx, &m.add.def)
		if err != nil {
			return nil, err
		}
		m.add.bytes = size
		r.bytes = size
		if m.replace != nil {
			r.bytes -= m.replace.bytes
		}
	}
	ev.ratio = s.ratio(*r)
	s.memo[m.key()] = ev
	return ev, nil
}

// candFor returns the candidate of a definition made up during selection,
// the same one each time.
func (s *selector) candFor(def indexDef, roles []string, stmt int) *cand {
	id := def.id()
	c, ok := s.known[id]
	if !ok {
		c = &cand{def: def, id: id, roles: roles, stmts: map[int]bool{stmt: true}}
		s.known[id] = c
	}
	return c
}

// unionColumns is a's columns then b's that a lacks, sorted.
func unionColumns(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range append(append([]string(nil), a...), b...) {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

// merge looks for two chosen indexes on the same table where one's keys
// lead the other's, and folds them into the longer one (with the shorter
// one's other columns as INCLUDE) when keeping both is not worth it: the
// shorter one would not pass as an addition on top of the merged index
// (it saves no statement MinImprovement, or saves less per byte than
// the floor). It makes at most one merge and reports whether it did.
func (s *selector) merge(ctx context.Context) (bool, error) {
	for _, a := range s.chosen {
		for _, b := range s.chosen {
			if a == b || a.def.table != b.def.table || a.def.where != b.def.where || !indexdef.KeyPrefix(a.def.keys, b.def.keys) {
				continue
			}
			if len(a.def.keys) == len(b.def.keys) && a.id > b.id {
				continue
			}
			inKeys := map[string]bool{}
			for _, k := range b.def.keys {
				inKeys[k.Column] = true
			}
			var extra []string
			plain := true
			for _, k := range a.def.keys {
				if k.Column == "" {
					plain = false
				} else if !inKeys[k.Column] {
					extra = append(extra, k.Column)
				}
			}
			for _, c := range unionColumns(a.def.include, b.def.include) {
				if !inKeys[c] {
					extra = append(extra, c)
				}
			}
			inc := unionColumns(nil, extra)
			if !plain || len(inc) > maxIncludeColumns {
				continue
			}
			m := s.candFor(b.def.variant(b.def.keys, inc), b.roles, -1)
			set := []*indexDef{&m.def}
			for _, c := range s.chosen {
				if c != a && c != b && c != m {
					set = append(set, &c.def)
				}
			}
			// Only the statements a, b or the merged index could serve can
			// plan differently.
			rel := union(s.relevant(&a.def), s.relevant(&b.def), s.relevant(&m.def))
			var worse, maxDeg float64
			for _, st := range rel {
				p, err := s.e.plan(ctx, st, set)
				if err != nil {
					return false, err
				}
				cur := s.current[st.idx]
				worse += st.weight * (p.cost - cur)
				if p.cost > 0 && (p.cost-cur)/p.cost > maxDeg {
					maxDeg = (p.cost - cur) / p.cost
				}
			}
			size, err := s.e.size(ctx, &m.def)
			if err != nil {
				return false, err
			}
			saved := a.bytes + b.bytes - size
			if m == b {
				saved = a.bytes
			}
			if saved <= 0 || (maxDeg >= s.minImp && worse/float64(saved) >= s.floor) {
				continue
			}
			kept := s.chosen[:0:0]
			for _, c := range s.chosen {
				if c != a && c != b {
					kept = append(kept, c)
				}
			}
			a.reject = "merged into " + m.def.describe()
			if b != m {
				b.reject = "merged into " + m.def.describe()
			}
			m.reject, m.bytes = "", size
			s.chosen = append(kept, m)
			s.usedBytes -= saved
			if _, err := s.replan(ctx, rel); err != nil {
				return false, err
			}
			return true, nil
		}
	}
	return false, nil
}

// mayServe reports whether the planner could use an index for a statement:
// the index's first key is what one of the statement's predicates, joins,
// ORDER BY or GROUP BY on the table compares, sorts or groups
// (access.servable), or another of its keys is what a predicate compares
// (access.qualified: a scan of the whole index filters on it), or the
// index holds every column the statement reads from the table (a full
// index-only scan); an expression index may serve any statement on its
// table. Otherwise the index cannot change the statement's plan: planning
// it would only repeat its cost, and the plan cache leaves it out of the
// statement's key.
func mayServe(d *indexDef, st *costed) bool {
	for _, a := range st.r.accesses {
		if a.t != d.table {
			continue
		}
		if !impliesFixed(d, a) {
			return false
		}
		lead := d.keys[0]
		if lead.Column == "" || a.servable()[target(lead)] {
			return true
		}
		for _, k := range d.keys[1:] {
			if a.qualified()[target(k)] {
				return true
			}
		}
		return covers(d, a)
	}
	return false
}

// impliesFixed reports whether the access compares each column of the
// advisor's partial index's predicate (d.fixed) with its constant, as
// the planner needs to prove the predicate: a partial index serves no
// other statement. Always true for an index that is not partial or
// whose predicate is not the advisor's.
func impliesFixed(d *indexDef, a *access) bool {
	for _, f := range d.fixed {
		found := false
		for _, u := range a.eq {
			if u.konst == f {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// coversStatement reports whether the index holds every column the
// statement reads from its table.
func coversStatement(d *indexDef, st *costed) bool {
	for _, a := range st.r.accesses {
		if a.t == d.table {
			return covers(d, a)
		}
	}
	return false
}

// covers reports whether the index holds every column the access reads.
func covers(d *indexDef, a *access) bool {
	if a.star {
		return false
	}
	have := map[string]bool{}
	for _, k := range d.keys {
		have[k.Column] = true
	}
	for _, c := range d.include {
		have[c] = true
	}
	for col := range a.refs {
		if !have[col] {
			return false
		}
	}
	return true
}

// moves lists what selection may do from the chosen set as it stands.
func (s *selector) moves() []move {
	var out []move
	isChosen := s.isChosen()
	for _, c := range s.pool {
		if isChosen[c] || s.coveredByChosen(c) {
			continue
		}
		out = append(out, move{add: c})
	}
	for _, ch := range s.chosen {
		out = append(out, s.widenings(ch, isChosen)...)
	}
	return out
}

// isChosen is the chosen set as a lookup.
func (s *selector) isChosen() map[*cand]bool {
	out := make(map[*cand]bool, len(s.chosen))
	for _, c := range s.chosen {
		out[c] = true
	}
	return out
}

// widenings are the moves that replace a chosen index with a wider one: a
// candidate of the pool with one more key column, or the same keys with
// INCLUDE columns.
func (s *selector) widenings(ch *cand, isChosen map[*cand]bool) []move {
	var out []move
	seen := map[string]bool{}
	for _, c := range s.pool {
		if !isChosen[c] && widens(ch, c) {
			out = append(out, move{add: c, replace: ch})
			seen[c.id] = true
		}
	}
	for _, c := range s.includeWidenings(ch) {
		if !isChosen[c] && !seen[c.id] {
			out = append(out, move{add: c, replace: ch})
			seen[c.id] = true
		}
	}
	return out
}

// includeWidenings are a chosen index with the INCLUDE columns a statement
// whose plan reads it would need for an index-only scan: the covering
// version of an index another statement asked for. At most
// maxIncludeWidenings, from the costliest statements.
func (s *selector) includeWidenings(ch *cand) []*cand {
	var sts []*costed
	for _, st := range s.relevant(&ch.def) {
		if st.st.q.command == "SELECT" && s.plans[st.idx].uses(ch.id) {
			sts = append(sts, st)
		}
	}
	sort.SliceStable(sts, func(i, j int) bool {
		return sts[i].weight*s.current[sts[i].idx] > sts[j].weight*s.current[sts[j].idx]
	})
	var out []*cand
	seen := map[string]bool{}
	for _, st := range sts {
		for _, a := range st.r.accesses {
			if a.t != ch.def.table {
				continue
			}
			more := includeFor(a, ch.def.keys, ch.def.where, true)
			inc := unionColumns(ch.def.include, more)
			if len(more) == 0 || len(inc) == len(ch.def.include) || len(inc) > maxIncludeColumns {
				continue
			}
			c := s.candFor(ch.def.variant(ch.def.keys, inc), ch.roles, st.idx)
			if !seen[c.id] {
				seen[c.id] = true
				out = append(out, c)
			}
		}
		if len(out) >= maxIncludeWidenings {
			break
		}
	}
	return out
}

// coveredByChosen reports whether a chosen index already has c's keys as
// its leading keys (and c's INCLUDE), so adding c could not help.
func (s *selector) coveredByChosen(c *cand) bool {
	for _, ch := range s.chosen {
		if ch.def.table != c.def.table || ch.def.where != c.def.where || !indexdef.KeyPrefix(c.def.keys, ch.def.keys) {
			continue
		}
		have := map[string]bool{}
		for _, k := range ch.def.keys {
			have[k.Column] = true
		}
		for _, col := range ch.def.include {
			have[col] = true
		}
		ok := true
		for _, col := range c.def.include {
			if !have[col] {
				ok = false
			}
		}
		if ok {
			if c.reject == "" {
				c.reject = "chosen index " + ch.def.describe() + " already has its columns first"
			}
			return true
		}
	}
	return false
}

// widens reports whether c is ch made one step wider: one more key column,
// or the same keys with INCLUDE columns added.
func widens(ch, c *cand) bool {
	if ch.def.table != c.def.table || ch.def.where != c.def.where || len(ch.def.include) > 0 {
		return false
	}
	if len(c.def.keys) == len(ch.def.keys)+1 && len(c.def.include) == 0 {
		return indexdef.KeyPrefix(ch.def.keys, c.def.keys)
	}
	return len(c.def.keys) == len(ch.def.keys) && len(c.def.include) > 0 && indexdef.SameKeys(ch.def.keys, c.def.keys)
}

// queue holds evaluated moves, the best first: the highest ratio, then
// the smallest key, so that equal moves are taken in a fixed order.
type queue []*evaluated

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if q[i].ratio != q[j].ratio {
		return q[i].ratio > q[j].ratio
	}
	return q[i].m.key() < q[j].m.key()
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(*evaluated)) }
func (q *queue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// valid reports whether a move can still be made: its index is not
// chosen, and a widening's chosen index is still there to widen.
func (s *selector) valid(m move, isChosen map[*cand]bool) bool {
	if isChosen[m.add] {
		return false
	}
	if m.replace != nil {
		return isChosen[m.replace]
	}
	return !s.coveredByChosen(m.add)
}

// run chooses indexes until no move is worth making.
func (s *selector) run(ctx context.Context) error {
	var q queue
	queued := map[string]bool{}
	push := func(m move) error {
		if queued[m.key()] {
			return nil
		}
		ev, err := s.evaluate(ctx, m)
		if err != nil {
			return err
		}
		queued[m.key()] = true
		heap.Push(&q, ev)
		return nil
	}
	// fill queues every move: a new one evaluated, one evaluated before
	// by what it could be worth now.
	fill := func() error {
		q, queued = q[:0], map[string]bool{}
		moves := s.moves()
		for i, m := range moves {
			if err := ctx.Err(); err != nil {
				return err
			}
			if s.progress != nil {
				s.progress(i, len(moves))
			}
			if ev, ok := s.memo[m.key()]; ok && !queued[m.key()] {
				e := *ev
				e.ratio = s.bound(ev)
				queued[m.key()] = true
				heap.Push(&q, &e)
				continue
			}
			if err := push(m); err != nil {
				return err
			}
		}
		return nil
	}
	s.rounds++
	if err := fill(); err != nil {
		return err
	}
	isChosen := s.isChosen()
	for q.Len() > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		ev := heap.Pop(&q).(*evaluated)
		delete(queued, ev.m.key())
		m := ev.m
		if !s.valid(m, isChosen) {
			delete(s.memo, m.key())
			continue
		}
		if s.stale(ev) {
			if err := push(m); err != nil {
				return err
			}
			continue
		}
		// An extension of an index is judged as one first: that is the
		// reason it does not pay, whatever else it falls short of.
		var why string
		if ev.r.benefit > 0 && s.e.failed[m.add.id] == "" {
			var err error
			if why, err = s.extensionMove(ctx, m, ev.r); err != nil {
				return err
			}
		}
		if why == "" {
			why = s.ineligible(m, ev.r)
		}
		if why != "" {
			if m.replace == nil || m.add.reject == "" {
				m.add.reject = why
			}
			continue
		}
		s.rounds++
		rose, err := s.apply(ctx, m, ev.r)
		if err != nil {
			return err
		}
		isChosen = s.isChosen()
		if rose {
			// Some statement costs more than before (a widening made its
			// index bigger): moves on it may be worth more than the queue
			// says, so queue every move again by what it could be worth.
			if err := fill(); err != nil {
				return err
			}
			continue
		}
		for _, w := range s.widenings(m.add, isChosen) {
			if err := push(w); err != nil {
				return err
			}
		}
		if s.progress != nil {
			s.progress(len(s.chosen), len(s.chosen)+q.Len())
		}
	}
	return nil
}

// extensionMove says why a move that only extends an index does not pay
// (minExtensionShare), empty when it does or extends none: a candidate
// whose keys an existing index's lead saves all its benefit over it; a
// widening by INCLUDE saves its benefit; a candidate with INCLUDE, its
// benefit over its keys-only twin's.
func (s *selector) extensionMove(ctx context.Context, m move, r moveResult) (string, error) {
	if e := extends(m.add); e != nil {
		return s.extensionShort(r.benefit, e), nil
	}
	if len(m.add.def.include) == 0 {
		return "", nil
	}
	// Only lookups of a few rows: an index-only scan of many rows (an
	// aggregate, a range read whole) pays by the general rules.
	set := s.set(&m)
	var plans []*planCost
	for _, st := range s.relevant(&m.add.def) {
		p, err := s.e.plan(ctx, st, set)
		if err != nil {
			return "", fmt.Errorf("plan %s: %w", st.st.Label(), err)
		}
		plans = append(plans, p)
	}
	if !fewRowScans(m.add.id, plans) {
		return "", nil
	}
	part := r.benefit
	switch {
	case m.replace != nil && indexdef.SameKeys(m.add.def.keys, m.replace.def.keys):
		if len(m.add.def.include) == len(m.replace.def.include) {
			return "", nil
		}
	case m.replace != nil:
		return "", nil
	default:
		if base := s.keysOnly(m.add); base != nil && !s.isChosen()[base] && !s.coveredByChosen(base) {
			ev, err := s.evaluate(ctx, move{add: base})
			if err != nil {
				return "", err
			}
			part -= max(ev.r.benefit, 0)
		}
	}
	return s.extensionShort(part, nil), nil
}

// ineligible says why a move may not be made; empty when it may.
func (s *selector) ineligible(m move, r moveResult) string {
	if why := s.e.failed[m.add.id]; why != "" {
		return "the server cannot make it: " + why
	}
	if r.benefit <= 0 || r.maxImp <= 0 {
		if len(s.chosen) > 0 {
			return "the planner would not use it with the chosen indexes in place"
		}
		return "the planner would not use it"
	}
	if r.maxImp < s.minImp {
		return fmt.Sprintf("saves at most %.1f%% of any statement's cost, below the %.0f%% %s", r.maxImp*100, s.minImp*100, s.name(OptMinImprovement))
	}
	if total := s.total(); r.benefit < minMaterialShare*total {
		how := "added to the chosen indexes"
		if m.replace != nil {
			how = "over the index it widens"
		}
		return s.immaterial(r.benefit, r.maxImp, total, how)
	}

	if r.benefit/float64(max(r.bytes, minMoveBytes)) < s.floor {
		return fmt.Sprintf("saves %.0f cost units for %s: less than a thousandth of what the workload costs per byte of its tables", r.benefit, FormatBytes(max(r.bytes, 0)))
	}
	if s.limit >= 0 && s.usedBytes+r.bytes > s.limit {
		return fmt.Sprintf("its %s would go over the budget (%s of %s used)", FormatBytes(r.bytes), FormatBytes(s.usedBytes), FormatBytes(s.limit))
	}
	if m.replace == nil && s.maxIndexes > 0 && len(s.chosen) >= s.maxIndexes {
		return fmt.Sprintf("%s %d reached", s.name(OptMaxIndexes), s.maxIndexes)
	}
	return ""
}

// apply makes a move, re-plans the statements it can change and reports
// whether one of them now costs more than before.
func (s *selector) apply(ctx context.Context, m move, r moveResult) (bool, error) {
	rel := s.relevant(&m.add.def)
	if m.replace != nil {
		rel = union(rel, s.relevant(&m.replace.def))
		for i, c := range s.chosen {
			if c == m.replace {
				s.chosen = append(s.chosen[:i], s.chosen[i+1:]...)
				break
			}
		}
		m.replace.reject = "widened into " + m.add.def.describe()
	}
	m.add.reject = ""
	s.chosen = append(s.chosen, m.add)
	s.usedBytes += r.bytes
	return s.replan(ctx, rel)
}

// replan plans statements with the chosen set after it changed in an
// index that could serve them: their costs now, the clock of the change
// for those whose plans changed, and a cache emptied of the plans no later
// set can ask for. It reports whether one of them costs more than before.
func (s *selector) replan(ctx context.Context, rel []*costed) (bool, error) {
	s.clock++
	set := s.set(nil)
	rose := false
	for _, st := range rel {
		p, err := s.e.plan(ctx, st, set)
		if err != nil {
			return false, fmt.Errorf("plan %s: %w", st.st.Label(), err)
		}
		if p.cost > s.current[st.idx] {
			rose = true
		}
		if p.cost != s.current[st.idx] || !sameUse(p, s.plans[st.idx]) {
			s.changed[st.idx] = s.clock
		}
		s.current[st.idx], s.plans[st.idx] = p.cost, p
		s.e.keep(st, set)
	}
	return rose, nil
}

// sameUse reports whether two plans read the same indexes.
func sameUse(a, b *planCost) bool {
	if len(a.used) != len(b.used) {
		return false
	}
	for _, u := range a.used {
		if !b.uses(u) {
			return false
		}
	}
	return true
}

// prune drops chosen indexes that no final plan reads (a later, wider
// choice took their statements), and returns the final plans.
func (s *selector) prune(ctx context.Context) (map[int]*planCost, error) {
	for {
		final := map[int]*planCost{}
		set := s.set(nil)
		used := map[string]bool{}
		for _, st := range s.stmts {
			p, err := s.e.plan(ctx, st, set)
			if err != nil {
				return nil, err
			}
			final[st.idx] = p
			for _, u := range p.used {
				used[u] = true
			}
		}
		kept := s.chosen[:0:0]
		for _, c := range s.chosen {
			if used[c.id] {
				kept = append(kept, c)
			} else {
				c.reject = "no plan uses it once the other chosen indexes exist"
				s.usedBytes -= c.bytes
			}
		}
		if len(kept) == len(s.chosen) {
			return final, nil
		}
		s.chosen = kept
	}
}

// improvement is the percentage by which after is below before.
func improvement(before, after float64) float64 {
	if before <= 0 {
		return 0
	}
	return math.Round((before-after)/before*1000) / 10
}
