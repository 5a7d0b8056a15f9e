package indexes

import (
	"context"
	"testing"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/testdb"
	"github.com/hishamos/hishamos-perf/internal/widetable"
)

// TestCacheKeyLeavesOutOnlyWhatCannotServe checks, on the real planner,
// what the plan cache rests on: a statement plans the same with a whole
// index set as with only the set's indexes that could serve it
// (mayServe), and one that none of them could serve plans as with the
// existing indexes alone. The set is every candidate of a wide table's filter-screen
// workload, so every kind of index meets every kind of statement.
func TestCacheKeyLeavesOutOnlyWhatCannotServe(t *testing.T) {
	if !testdb.Available("hypopg") {
		t.Skip("HypoPG is not installed on this server: the check compares what-if plans; PostgreSQL 15's sandbox runs it")
	}
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	conn := testdb.Conn(t, dsn)
	if _, err := conn.Exec(ctx, widetable.Schema(20000, 1)); err != nil {
		t.Fatal(err)
	}
	// Beside the filter screen's statements, conditions the advisor does
	// not take apart (OR, LIKE, IS NOT NULL, <>), which an index can still
	// serve.
	w, err := ParseSQL("wide.sql", widetable.Workload(80, 1)+`
SELECT id FROM wide_orders WHERE (account_id = $1 OR customer_id = $2) AND status = $3;
SELECT id FROM wide_orders WHERE status = $1 AND email LIKE 'ab%';
SELECT count(*) FROM wide_orders WHERE tier = $1 AND assignee_id IS NOT NULL AND owner_id = $2;
SELECT id FROM wide_orders WHERE state = $1 AND priority <> $2 AND region_id = $3;`)
	if err != nil {
		t.Fatal(err)
	}
	res := &Result{}
	s, err := openSession(ctx, conn, w, Options{Seed: 1, MaxColumns: DefaultMaxColumns}, res)
	defer s.close()
	if err != nil {
		t.Fatal(err)
	}
	gen := newGenerator(DefaultMaxColumns)
	for _, c := range s.stmts {
		for _, a := range c.r.accesses {
			gen.forAccess(c.idx, a, true)
		}
	}
	var set []*indexDef
	for _, c := range gen.order {
		if c.reject == "" {
			set = append(set, &c.def)
		}
	}
	t.Logf("%d statements, %d indexes", len(s.stmts), len(set))
	// Selection finds the statements an index could serve through its
	// indexes of the statements: the same ones.
	sel := newSelector(s.e, s.stmts, nil, nil, -1, 0, 0)
	for _, d := range set {
		got := map[int]bool{}
		for _, st := range sel.relevant(d) {
			got[st.idx] = true
		}
		for _, st := range s.stmts {
			if got[st.idx] != mayServe(d, st) {
				t.Errorf("%s: relevant says %v for %s, mayServe %v", d.describe(), got[st.idx], st.st.Query, mayServe(d, st))
			}
		}
	}
	e := s.e
	whole := map[int]float64{}
	if err := e.materialize(ctx, set); err != nil {
		t.Fatal(err)
	}
	for _, st := range s.stmts {
		p, _, err := e.explain(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		whole[st.idx] = p.cost
	}
	differ := 0
	for _, st := range s.stmts {
		var mine, others []*indexDef
		for _, d := range set {
			if mayServe(d, st) {
				mine = append(mine, d)
			} else {
				others = append(others, d)
			}
		}
		// The indexes that cannot serve it, alone, leave its plan as it is
		// with the existing indexes.
		if err := e.materialize(ctx, others); err != nil {
			t.Fatal(err)
		}
		p, _, err := e.explain(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		if p.cost != st.before {
			differ++
			if differ <= 5 {
				t.Errorf("%s: cost %.2f with the existing indexes, %.2f with the %d indexes that cannot serve it (plan reads %v)",
					st.st.Query, st.before, p.cost, len(others), p.used)
			}
		}
		if err := e.materialize(ctx, mine); err != nil {
			t.Fatal(err)
		}
		p, _, err = e.explain(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		if p.cost != whole[st.idx] {
			differ++
			if differ <= 5 {
				t.Errorf("%s: cost %.2f with all %d indexes, %.2f with the %d that could serve it (plan reads %v)",
					st.st.Query, whole[st.idx], len(set), p.cost, len(mine), p.used)
			}
		}
	}
	if differ > 0 {
		t.Errorf("%d plans of %d statements differ", differ, len(s.stmts))
	}
}

// TestPickCoversTheWorkload checks the cap keeps what covers the workload,
// not the largest savings alone: once a candidate that three statements
// share is kept, each statement's own slightly better one saves little
// over it, and a candidate for a statement nothing else serves goes first.
func TestPickCoversTheWorkload(t *testing.T) {
	tb := &table{name: "t"}
	st := make([]*costed, 4)
	for i := range st {
		st[i] = &costed{idx: i, weight: 1, before: 100}
	}
	mk := func(name string) *cand {
		c := &cand{def: indexDef{table: tb, keys: []indexdef.Key{{Column: name}}}}
		c.id = c.def.id()
		return c
	}
	shared, own0, own1, own2, other := mk("shared"), mk("own0"), mk("own1"), mk("own2"), mk("other")
	cs := []*cand{own0, own1, own2, shared, other}
	costs := [][]saving{
		{{st[0], 40}}, {{st[1], 40}}, {{st[2], 40}},
		{{st[0], 50}, {st[1], 50}, {st[2], 50}},
		{{st[3], 70}},
	}
	sizes := map[string]int64{}
	for _, c := range cs {
		sizes[c.id] = 1 << 20
	}
	keep := pick(cs, costs, sizes, false, 2)
	var got []string
	for i, c := range cs {
		if keep[i] {
			got = append(got, c.def.keys[0].Column)
		}
	}
	if len(got) != 2 || got[0] != "shared" || got[1] != "other" {
		t.Errorf("kept %v, want [shared other]: each own index saves 10 over the shared one, the other index 30", got)
	}
	// Room for three: the third saves 10 over the shared one, like its
	// two equals; the smallest id goes first.
	keep = pick(cs, costs, sizes, false, 3)
	if !keep[0] || keep[1] || keep[2] {
		t.Errorf("with room for three, kept %v, want own0 beside shared and other", keep)
	}
}
