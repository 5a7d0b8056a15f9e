package indexes

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
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
	sig  string
}

// selector runs the greedy selection.
type selector struct {
	e          *engine
	stmts      []*costed
	byTable    map[uint32][]*costed
	pool       []*cand
	chosen     []*cand
	current    map[int]float64
	limit      int64
	usedBytes  int64
	maxIndexes int
	minImp     float64
	version    map[uint32]int
	memo       map[string]moveResult
	rounds     int
	progress   func(done, total int)
	// floor is the least benefit per byte a move must bring.
	floor float64
	// extra holds the INCLUDE widenings made up during selection.
	extra map[string]*cand
}

func newSelector(e *engine, stmts []*costed, pool []*cand, limit int64, maxIndexes int, minImp float64) *selector {
	s := &selector{e: e, stmts: stmts, pool: pool, limit: limit, maxIndexes: maxIndexes, minImp: minImp,
		byTable: map[uint32][]*costed{}, current: map[int]float64{}, version: map[uint32]int{}, memo: map[string]moveResult{},
		extra: map[string]*cand{}}
	for _, st := range stmts {
		s.current[st.idx] = st.before
		for oid := range st.tables {
			s.byTable[oid] = append(s.byTable[oid], st)
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

// signature names the state a move's result depends on: the versions of
// every table the statements it touches read.
func (s *selector) signature(oid uint32) string {
	tables := map[uint32]bool{oid: true}
	for _, st := range s.byTable[oid] {
		for t := range st.tables {
			tables[t] = true
		}
	}
	ids := make([]int, 0, len(tables))
	for t := range tables {
		ids = append(ids, int(t))
	}
	sort.Ints(ids)
	var b strings.Builder
	for _, t := range ids {
		b.WriteString(strconv.Itoa(t) + ":" + strconv.Itoa(s.version[uint32(t)]) + ",")
	}
	return b.String()
}

// evaluate plans the statements a move can change.
func (s *selector) evaluate(ctx context.Context, m move) (moveResult, error) {
	oid := m.add.def.table.oid
	sig := s.signature(oid)
	if r, ok := s.memo[m.key()]; ok && r.sig == sig {
		return r, nil
	}
	set := s.set(&m)
	r := moveResult{sig: sig}
	for _, st := range s.byTable[oid] {
		if !mayUse(&m.add.def, st) && (m.replace == nil || !mayUse(&m.replace.def, st)) {
			continue
		}
		p, err := s.e.plan(ctx, st, set)
		if err != nil {
			return r, fmt.Errorf("plan %s: %w", st.st.Label(), err)
		}
		cur := s.current[st.idx]
		saved := cur - p.cost
		r.benefit += st.weight * saved
		if cur > 0 && saved/cur > r.maxImp {
			r.maxImp, r.best = saved/cur, st
		}
	}
	if r.benefit > 0 {
		size, err := s.e.size(ctx, &m.add.def)
		if err != nil {
			return r, err
		}
		m.add.bytes = size
		r.bytes = size
		if m.replace != nil {
			r.bytes -= m.replace.bytes
		}
	}
	s.memo[m.key()] = r
	return r, nil
}

// candFor returns the candidate of a definition made up during selection,
// the same one each time.
func (s *selector) candFor(def indexDef, roles []string, stmt int) *cand {
	id := def.id()
	for _, c := range s.pool {
		if c.id == id {
			return c
		}
	}
	c, ok := s.extra[id]
	if !ok {
		c = &cand{def: def, id: id, roles: roles, stmts: map[int]bool{stmt: true}}
		s.extra[id] = c
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
// (it saves no statement --min-improvement, or saves less per byte than
// the floor). It makes at most one merge and reports whether it did.
func (s *selector) merge(ctx context.Context) (bool, error) {
	for _, a := range s.chosen {
		for _, b := range s.chosen {
			if a == b || a.def.table != b.def.table || a.def.where != b.def.where || !keyPrefix(a.def.keys, b.def.keys) {
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
			m := s.candFor(indexDef{table: b.def.table, keys: b.def.keys, include: inc, where: b.def.where}, b.roles, -1)
			set := []*indexDef{&m.def}
			for _, c := range s.chosen {
				if c != a && c != b && c != m {
					set = append(set, &c.def)
				}
			}
			var worse, maxDeg float64
			for _, st := range s.byTable[b.def.table.oid] {
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
			s.version[b.def.table.oid]++
			for _, st := range s.byTable[b.def.table.oid] {
				if p, err := s.e.plan(ctx, st, s.set(nil)); err == nil {
					s.current[st.idx] = p.cost
				}
			}
			return true, nil
		}
	}
	return false, nil
}

// mayUse reports whether the planner could use an index for a statement:
// the statement reads the index's first key column (to filter, join, sort
// or group on it), or the index holds every column the statement reads
// from the table (a full index-only scan). Otherwise the index cannot
// change the statement's plan and planning it would only repeat its cost.
func mayUse(d *indexDef, st *costed) bool {
	for _, a := range st.r.accesses {
		if a.t != d.table {
			continue
		}
		lead := d.keys[0]
		if lead.Column == "" {
			return true
		}
		if a.refs[lead.Column] {
			return true
		}
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
	return false
}

// moves lists what the next round may do.
func (s *selector) moves() []move {
	var out []move
	isChosen := map[*cand]bool{}
	for _, c := range s.chosen {
		isChosen[c] = true
	}
	for _, c := range s.pool {
		if isChosen[c] || s.coveredByChosen(c) {
			continue
		}
		out = append(out, move{add: c})
	}
	for _, ch := range s.chosen {
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
	}
	return out
}

// includeWidenings are a chosen index with the INCLUDE columns each
// statement on its table would need for an index-only scan: the covering
// version of an index another statement asked for.
func (s *selector) includeWidenings(ch *cand) []*cand {
	var out []*cand
	for _, st := range s.byTable[ch.def.table.oid] {
		if st.st.q.command != "SELECT" {
			continue
		}
		for _, a := range st.r.accesses {
			if a.t != ch.def.table {
				continue
			}
			more := includeFor(a, ch.def.keys, true)
			inc := unionColumns(ch.def.include, more)
			if len(more) == 0 || len(inc) == len(ch.def.include) || len(inc) > maxIncludeColumns {
				continue
			}
			out = append(out, s.candFor(indexDef{table: ch.def.table, keys: ch.def.keys, include: inc, where: ch.def.where}, ch.roles, st.idx))
		}
	}
	return out
}

// coveredByChosen reports whether a chosen index already has c's keys as
// its leading keys (and c's INCLUDE), so adding c could not help.
func (s *selector) coveredByChosen(c *cand) bool {
	for _, ch := range s.chosen {
		if ch.def.table != c.def.table || ch.def.where != c.def.where || !keyPrefix(c.def.keys, ch.def.keys) {
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
		return keyPrefix(ch.def.keys, c.def.keys)
	}
	return len(c.def.keys) == len(ch.def.keys) && len(c.def.include) > 0 && sameKeys(ch.def.keys, c.def.keys)
}

// run chooses indexes until no move is worth making.
func (s *selector) run(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.rounds++
		moves := s.moves()
		var best *move
		var bestRes moveResult
		bestRatio := 0.0
		for i := range moves {
			m := moves[i]
			if s.progress != nil {
				s.progress(i, len(moves))
			}
			r, err := s.evaluate(ctx, m)
			if err != nil {
				return err
			}
			if why := s.ineligible(m, r); why != "" {
				if m.replace == nil || m.add.reject == "" {
					m.add.reject = why
				}
				continue
			}
			ratio := r.benefit / float64(max(r.bytes, minMoveBytes))
			if s.maxIndexes > 0 && s.limit < 0 {
				// Only the number of indexes is capped: bytes are free and
				// index slots are what is scarce, so the benefit itself
				// ranks the moves.
				ratio = r.benefit
			}
			if best == nil || ratio > bestRatio || (ratio == bestRatio && m.key() < best.key()) {
				best, bestRes, bestRatio = &m, r, ratio
			}
		}
		if best == nil {
			return nil
		}
		s.apply(ctx, *best, bestRes)
	}
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
		return fmt.Sprintf("saves at most %.1f%% of any statement's cost, below the %.0f%% --min-improvement", r.maxImp*100, s.minImp*100)
	}
	if r.benefit/float64(max(r.bytes, minMoveBytes)) < s.floor {
		return fmt.Sprintf("saves %.0f cost units for %s: less than a thousandth of what the workload costs per byte of its tables", r.benefit, FormatBytes(max(r.bytes, 0)))
	}
	if s.limit >= 0 && s.usedBytes+r.bytes > s.limit {
		return fmt.Sprintf("its %s would go over the budget (%s of %s used)", FormatBytes(r.bytes), FormatBytes(s.usedBytes), FormatBytes(s.limit))
	}
	if m.replace == nil && s.maxIndexes > 0 && len(s.chosen) >= s.maxIndexes {
		return fmt.Sprintf("--max-indexes %d reached", s.maxIndexes)
	}
	return ""
}

// apply makes a move and updates the statements' current costs.
func (s *selector) apply(ctx context.Context, m move, r moveResult) {
	if m.replace != nil {
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
	oid := m.add.def.table.oid
	s.version[oid]++
	set := s.set(nil)
	for _, st := range s.byTable[oid] {
		if p, err := s.e.plan(ctx, st, set); err == nil {
			s.current[st.idx] = p.cost
		}
	}
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
