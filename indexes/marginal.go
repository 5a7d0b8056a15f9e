package indexes

import (
	"context"
	"fmt"
	"sort"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
)

// minMaterialShare is the least share of what the workload costs that an
// index must save to be proposed: added last to the rest of the
// proposals, the workload must cost at least 1% more without it (and a
// move of the selection must cut the workload's cost as it stands by as
// much). An index is written on every insert and on every update that is
// not HOT, takes space and memory, and is weighed in every plan of its
// table; a saving below a hundredth of the workload is within what the
// planner's estimates can be off by and well below what bench can tell
// from noise on a whole workload (its default noise is 5% of one
// statement), so it does not pay for them: a primary-key lookup made
// index-only on a small table, the fourth INCLUDE column of a lookup of
// three rows. The share is of the cost that remains, not of the cost with
// the existing indexes alone: once the large savings are made, an index
// that takes a tenth off what is left is worth having, however small that
// is beside the first ones.
const minMaterialShare = 0.01

// minExtensionShare is the least share of the workload's cost with the
// existing indexes alone that an index must save when it only extends
// what an index does already: INCLUDE columns over the same keys (a
// widening, a candidate beside its keys-only twin, a primary key copied
// with INCLUDE), or key columns after those of an existing index (a
// foreign key's index with a status after it). The index it extends
// already finds the rows; what the extension saves is the heap pages of
// the few rows a lookup reads (an index-only scan) or of the few it then
// filters out, which the planner costs as random reads and which, on a
// working set in memory, are microseconds, for an index that can be twice
// the size. Where the extension matters (an aggregate over many rows, a
// range read whole, a foreign key's index whose rows are thousands) it
// saves that much of the whole workload.
const minExtensionShare = 0.005

// marginal is what one chosen index saves added last to the others: each
// statement it could serve costed with the whole set and without it.
type marginal struct {
	// saved is Σ weight × (cost without − cost with), maxImp the largest
	// share of one statement's cost without it that it saves.
	saved, maxImp float64
	// without is each statement's cost without it, by statement index.
	without map[int]float64
}

// marginals costs each chosen index's marginal saving: the statements it
// could serve planned with the rest of the chosen set.
func (s *selector) marginals(ctx context.Context, final map[int]*planCost) (map[*cand]*marginal, error) {
	out := map[*cand]*marginal{}
	for _, ch := range s.chosen {
		var set []*indexDef
		for _, o := range s.chosen {
			if o != ch {
				set = append(set, &o.def)
			}
		}
		m := &marginal{without: map[int]float64{}}
		for _, st := range s.relevant(&ch.def) {
			p, err := s.e.plan(ctx, st, set)
			if err != nil {
				return nil, fmt.Errorf("plan %s: %w", st.st.Label(), err)
			}
			with := final[st.idx].cost
			m.without[st.idx] = p.cost
			saved := p.cost - with
			m.saved += st.weight * saved
			if p.cost > 0 && saved/p.cost > m.maxImp {
				m.maxImp = saved / p.cost
			}
		}
		out[ch] = m
	}
	return out, nil
}

// material drops, one at a time, the chosen index whose marginal saving
// fails the rules a proposal must pass (some statement's cost cut by
// MinImprovement, the workload's by minMaterialShare): the one that saves
// least first, then the others are costed again without it, since an
// index that was redundant beside it may now carry its statements. It
// returns the final plans and each kept index's marginal saving.
func (s *selector) material(ctx context.Context) (map[int]*planCost, map[*cand]*marginal, error) {
	for {
		final, err := s.prune(ctx)
		if err != nil {
			return nil, nil, err
		}
		ms, err := s.marginals(ctx, final)
		if err != nil {
			return nil, nil, err
		}
		var total float64
		for _, st := range s.stmts {
			total += st.weight * final[st.idx].cost
		}
		var worst *cand
		why := map[*cand]string{}
		for _, ch := range s.chosen {
			m := ms[ch]
			if m.maxImp >= s.minImp && m.saved >= minMaterialShare*(total+m.saved) {
				w, err := s.extensionWhy(ctx, ch, m.saved, final)
				if err != nil {
					return nil, nil, err
				}
				if w == "" {
					continue
				}
				why[ch] = w
			}
			if worst == nil || m.saved < ms[worst].saved || (m.saved == ms[worst].saved && ch.id < worst.id) {
				worst = ch
			}
		}
		if worst == nil {
			return final, ms, nil
		}
		m := ms[worst]
		worst.reject = why[worst]
		if worst.reject == "" {
			worst.reject = s.immaterial(m.saved, m.maxImp, total+m.saved, "added last to the other chosen indexes")
		}
		kept := s.chosen[:0:0]
		for _, c := range s.chosen {
			if c != worst {
				kept = append(kept, c)
			}
		}
		s.chosen = kept
		s.usedBytes -= worst.bytes
		rel := s.relevant(&worst.def)
		sort.Slice(rel, func(i, j int) bool { return rel[i].idx < rel[j].idx })
		if _, err := s.replan(ctx, rel); err != nil {
			return nil, nil, err
		}
	}
}

// immaterial says why a saving does not make a proposal: what it saves of
// some statement and of the workload (which costs without it), against
// the two rules. how says how it was costed.
func (s *selector) immaterial(saved, maxImp, without float64, how string) string {
	if maxImp < s.minImp {
		return fmt.Sprintf("%s, it saves at most %.1f%% of any statement's cost, below the %.0f%% %s", how, maxImp*100, s.minImp*100, s.name(OptMinImprovement))
	}
	return fmt.Sprintf("%s, it saves %s of the workload's cost of %s (%.2f%%), below the %.0f%% an index must save to pay for its writes and space",
		how, formatCost(saved), formatCost(without), saved/max(without, 1e-9)*100, minMaterialShare*100)
}

// total is what the workload costs with the chosen indexes.
func (s *selector) total() float64 {
	var t float64
	for _, st := range s.stmts {
		t += st.weight * s.current[st.idx]
	}
	return t
}

// formatCost writes a cost in the planner's units, rounded.
func formatCost(v float64) string {
	if v >= 100 || v <= -100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// fewRows is how many rows a lookup of an existing index may keep for an
// index extending it to be judged as an extension (minExtensionShare):
// a page of a list (DRF's and the admin's page sizes are 20 to 100; 20 is
// Django's paginator's least), whose heap pages are all the extension can
// save. An existing index whose lookup keeps more (a workflow's hundreds
// of executions) leaves a real scan for its extension to save.
const fewRows = 20

// extends returns the existing index whose keys lead c's (with the same
// predicate) and whose lookup keeps at most fewRows rows, by pg_stats;
// nil when there is none.
func extends(c *cand) *existing {
	t := c.def.table
	for _, e := range t.indexes {
		if !e.valid || e.special || e.def.where != c.def.where || !indexdef.KeyPrefix(e.def.keys, c.def.keys) {
			continue
		}
		rows := max(t.rows, 1)
		if e.unique || e.primary {
			rows = 1
		}
		for _, k := range e.def.keys {
			sel := defaultEqSelectivity
			if col := t.columns[k.Column]; col != nil && k.Expr == "" {
				sel = col.eqSelectivity(t.rows)
			}
			rows *= sel
		}
		if e.unique || e.primary || rows <= fewRows {
			return e
		}
	}
	return nil
}

// keysOnly is the candidate with c's keys and predicate and no INCLUDE,
// nil when c has no INCLUDE.
func (s *selector) keysOnly(c *cand) *cand {
	if len(c.def.include) == 0 {
		return nil
	}
	return s.candFor(c.def.variant(c.def.keys, nil), c.roles, -1)
}

// fewRowScans reports whether every plan of plans that reads the index
// id reads at most fewRows rows in a scan of it: lookups, whose heap pages
// are all an index-only scan saves.
func fewRowScans(id string, plans []*planCost) bool {
	for _, p := range plans {
		if r, ok := p.rows[id]; ok && r > fewRows {
			return false
		}
	}
	return true
}

// extensionWhy says why a chosen index that only extends another
// (minExtensionShare) does not pay: what it saves over an existing index
// it extends (all of its marginal saving, saved), or, when its scans are
// lookups of a few rows, what its INCLUDE columns save over its keys-only
// twin in the final set; empty when it pays or extends nothing.
func (s *selector) extensionWhy(ctx context.Context, ch *cand, saved float64, final map[int]*planCost) (string, error) {
	if e := extends(ch); e != nil {
		return s.extensionShort(saved, e), nil
	}
	base := s.keysOnly(ch)
	if base == nil {
		return "", nil
	}
	var plans []*planCost
	for _, p := range final {
		plans = append(plans, p)
	}
	if !fewRowScans(ch.id, plans) {
		return "", nil
	}
	set := []*indexDef{&base.def}
	for _, o := range s.chosen {
		if o != ch {
			set = append(set, &o.def)
		}
	}
	var part float64
	for _, st := range union(s.relevant(&ch.def), s.relevant(&base.def)) {
		p, err := s.e.plan(ctx, st, set)
		if err != nil {
			return "", fmt.Errorf("plan %s: %w", st.st.Label(), err)
		}
		part += st.weight * (p.cost - final[st.idx].cost)
	}
	return s.extensionShort(part, nil), nil
}

// extensionShort says why what an extension saves does not pay; empty
// when it does. e is the existing index extended, nil for INCLUDE columns
// over the same keys.
func (s *selector) extensionShort(part float64, e *existing) string {
	if part >= minExtensionShare*s.before {
		return ""
	}
	what := "its scans are lookups of a few rows, and its INCLUDE columns save"
	if e != nil {
		what = "it extends existing index " + e.name + ", whose lookup already keeps a few rows, and saves over it"
	}
	return fmt.Sprintf("%s %s of the workload's cost of %s with the existing indexes (%.2f%%), below the %.1f%% an extension of an index must save",
		what, formatCost(part), formatCost(s.before), part/max(s.before, 1e-9)*100, minExtensionShare*100)
}
