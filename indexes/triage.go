package indexes

import (
	"container/heap"
	"context"
	"fmt"
	"sort"
)

// MaxCandidatesPerTable caps the candidates selection weighs on one
// table, and so the indexes it can propose there. Selection costs each
// candidate on every statement it could serve, so without a cap a workload
// of distinct statements on one table (an ORM's filter screen over a wide
// table: thousands of shapes, each asking for indexes of its own) costs
// candidates × statements plans, quadratic in the workload (issue 14: 200
// such statements on a 100-column table ran past 6 minutes and 2.4 GB).
// With the cap it costs at most this many candidates × the statements each
// could serve. A hundred is already far more indexes than a table should
// carry: each is written on every insert and every update that is not
// HOT, and weighed in every plan of the table. On make
// bench-advisor-scale's 2,000 statements, 150 gave a 22% lower estimated
// cost, in 128 indexes on the one table instead of 92, in twice the time.
const MaxCandidatesPerTable = 100

// triage keeps, on each table with more than MaxCandidatesPerTable
// candidates, MaxCandidatesPerTable of them, and rejects the others with
// why. A first costing plans each candidate alone, with the existing
// indexes, on the statements that asked for it only: linear in the
// workload. Then a greedy selection in memory over those costs picks, one
// at a time, the candidate that saves most per byte (most, when slots is
// set: only the number of indexes is capped) over what the candidates
// already picked save the statements that asked for it: a candidate that
// many statements ask for (the same keys from many statements) adds up
// their savings, and a statement that a shared candidate serves well
// stops pulling its own narrower ones in, so the kept set covers the
// workload rather than repeating its largest savings. When that greedy
// runs out of savings before the cap, the rest is filled by each
// candidate's saving alone. The first costing's plans are the ones
// selection's first round asks for; the left-out candidates' are dropped.
// Each table that was cut gets a note.
func triage(ctx context.Context, e *engine, stmts []*costed, pool []*cand, slots bool, progress func(done, total int)) ([]*cand, []string, error) {
	byTable := map[uint32][]*cand{}
	var order []*table
	for _, c := range pool {
		t := c.def.table
		if byTable[t.oid] == nil {
			order = append(order, t)
		}
		byTable[t.oid] = append(byTable[t.oid], c)
	}
	total := 0
	for _, cs := range byTable {
		if len(cs) > MaxCandidatesPerTable {
			total += len(cs)
		}
	}
	if total == 0 {
		return pool, nil, nil
	}
	cut := map[*cand]bool{}
	var notes []string
	done := 0
	for _, t := range order {
		cs := byTable[t.oid]
		if len(cs) <= MaxCandidatesPerTable {
			continue
		}
		costs := make([][]saving, len(cs))
		for i, c := range cs {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
			if progress != nil {
				progress(done, total)
			}
			done++
			set := []*indexDef{&c.def}
			for _, si := range askers(c) {
				st := stmts[si]
				p, err := e.plan(ctx, st, set)
				if err != nil {
					return nil, nil, fmt.Errorf("plan %s: %w", st.st.Label(), err)
				}
				costs[i] = append(costs[i], saving{st: st, cost: p.cost})
			}
		}
		keep := pick(cs, costs, e.sizes, slots, MaxCandidatesPerTable)
		by := "saving per byte"
		if slots {
			by = "saving"
		}
		for i, c := range cs {
			if keep[i] {
				continue
			}
			cut[c] = true
			c.reject = fmt.Sprintf("left out before selection: %s has %d candidates, and costed alone on the statements that asked for them, this one is not among the %d with the most %s over the others",
				t.display(), len(cs), MaxCandidatesPerTable, by)
			for _, si := range askers(c) {
				e.forget(stmts[si], []*indexDef{&c.def})
			}
		}
		notes = append(notes, fmt.Sprintf("%s: %d candidates; selection weighed %d, picked by their %s on the statements that asked for them (each first costed alone)",
			t.display(), len(cs), MaxCandidatesPerTable, by))
	}
	kept := make([]*cand, 0, len(pool)-len(cut))
	for _, c := range pool {
		if !cut[c] {
			kept = append(kept, c)
		}
	}
	return kept, notes, nil
}

// saving is a statement's cost with one candidate alone.
type saving struct {
	st   *costed
	cost float64
}

// pick returns which of cs to keep, n at most: greedily the candidate
// whose costs (costs[i], on the statements that asked for it) save most
// over the statements' cheapest cost among those picked so far, per byte
// unless slots; then, while fewer than n are picked, by their saving
// alone. Ties go to the smaller id.
func pick(cs []*cand, costs [][]saving, sizes map[string]int64, slots bool, n int) []bool {
	cur := map[*costed]float64{}
	for _, ss := range costs {
		for _, s := range ss {
			cur[s.st] = s.st.before
		}
	}
	gain := func(i int) float64 {
		var g float64
		for _, s := range costs[i] {
			g += s.st.weight * max(cur[s.st]-s.cost, 0)
		}
		if slots {
			return g
		}
		return g / float64(max(sizes[cs[i].id], minMoveBytes))
	}
	keep := make([]bool, len(cs))
	alone := make([]float64, len(cs))
	q := make(gains, len(cs))
	for i := range cs {
		alone[i] = gain(i)
		q[i] = gained{i: i, g: alone[i], id: cs[i].id}
	}
	heap.Init(&q)
	picked := 0
	// Lazy: a candidate's gain only falls as others are picked, so one
	// whose gain, brought up to date, still leads is the best.
	for picked < n && q.Len() > 0 {
		top := heap.Pop(&q).(gained)
		g := gain(top.i)
		if g <= 0 {
			continue
		}
		if q.Len() > 0 && (g < q[0].g || (g == q[0].g && top.id > q[0].id)) {
			top.g = g
			heap.Push(&q, top)
			continue
		}
		keep[top.i] = true
		picked++
		for _, s := range costs[top.i] {
			cur[s.st] = min(cur[s.st], s.cost)
		}
	}
	rest := make([]int, 0, len(cs))
	for i := range cs {
		if !keep[i] {
			rest = append(rest, i)
		}
	}
	sort.SliceStable(rest, func(a, b int) bool {
		if alone[rest[a]] != alone[rest[b]] {
			return alone[rest[a]] > alone[rest[b]]
		}
		return cs[rest[a]].id < cs[rest[b]].id
	})
	for _, i := range rest {
		if picked >= n {
			break
		}
		keep[i] = true
		picked++
	}
	return keep
}

// gains order candidates by gain, the largest first, then by id.
type gains []gained

type gained struct {
	i  int
	g  float64
	id string
}

func (q gains) Len() int { return len(q) }
func (q gains) Less(i, j int) bool {
	if q[i].g != q[j].g {
		return q[i].g > q[j].g
	}
	return q[i].id < q[j].id
}
func (q gains) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *gains) Push(x any)   { *q = append(*q, x.(gained)) }
func (q *gains) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// askers are the statements (indexes into the advisor's list) that asked
// for a candidate, in order.
func askers(c *cand) []int {
	out := make([]int, 0, len(c.stmts))
	for si := range c.stmts {
		if si >= 0 {
			out = append(out, si)
		}
	}
	sort.Ints(out)
	return out
}
