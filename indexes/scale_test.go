package indexes_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hishamos/hishamos-perf/indexes"
	"github.com/hishamos/hishamos-perf/internal/testdb"
	"github.com/hishamos/hishamos-perf/internal/widetable"
)

// Bounds of the advisor's work on a wide table's filter-screen workload
// (issue 14, item 5), per statement so that they hold at any size: work
// that grows with the square of the statements breaks them as the workload
// grows. Measured: 12 to 18 EXPLAINs and about 5 cached plans per
// statement from 200 to 5,000 statements (make bench-advisor-scale); before,
// 50 statements took 74,126 EXPLAINs (1,482 each) and the cache kept every
// plan.
const (
	maxExplainsPerStatement    = 30
	maxCachedPlansPerStatement = 10
	// minWideImprovement is the least share (%) of the workload's
	// estimated cost the proposals must save: every statement reads the
	// whole table without them.
	minWideImprovement = 50
	// wideTestRows keeps the table quick to load while its 100 columns
	// make a row wide enough that the planner prefers indexes.
	wideTestRows = 20000
)

// TestAdversarialAdvisorScale proposes indexes for two sizes of an ORM
// filter screen's distinct statements over one 100-column table: the
// candidates it weighs stay at MaxCandidatesPerTable, the EXPLAINs it runs
// and the plans it keeps grow with the statements, not faster, the
// proposals still save most of the cost, and the database is left as it
// was.
func TestAdversarialAdvisorScale(t *testing.T) {
	if !testdb.Available("hypopg") {
		t.Skip("HypoPG is not installed on this server: the scale bounds are about what-if costing (with real indexes built instead, 750 statements take minutes); PostgreSQL 15's sandbox checks them")
	}
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	conn := testdb.Conn(t, dsn)
	if _, err := conn.Exec(ctx, widetable.Schema(wideTestRows, 1)); err != nil {
		t.Fatal(err)
	}
	before := testdb.TakeFingerprint(t, dsn)
	for _, n := range []int{250, 750} {
		w, err := indexes.ParseSQL("wide.sql", widetable.Workload(n, 1))
		if err != nil {
			t.Fatal(err)
		}
		res, err := indexes.Propose(ctx, conn, w, defaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		st := res.Stats
		t.Logf("%d statements: %d candidates, %d weighed, %d EXPLAINs, %d plans cached at most, %d proposals, cost %.0f -> %.0f (%.1f%%)",
			n, st.Candidates, st.Weighed, st.Explains, st.PlansCachedPeak, len(res.Proposals),
			res.Workload.CostBefore, res.Workload.CostAfter, res.Workload.ImprovementPct)
		if res.Workload.Statements != n {
			t.Fatalf("%d statements costed of %d (skipped %+v)", res.Workload.Statements, n, res.Skipped)
		}
		if st.Candidates <= indexes.MaxCandidatesPerTable {
			t.Fatalf("only %d candidates: the workload does not reach the cap of %d", st.Candidates, indexes.MaxCandidatesPerTable)
		}
		if st.Weighed > indexes.MaxCandidatesPerTable {
			t.Errorf("selection weighed %d candidates on one table, more than %d", st.Weighed, indexes.MaxCandidatesPerTable)
		}
		left := 0
		for _, r := range res.Rejected {
			if strings.HasPrefix(r.Reason, "left out before selection") {
				left++
			}
		}
		if left == 0 || !strings.Contains(strings.Join(res.Notes, "\n"), "selection weighed") {
			t.Errorf("the cap left %d candidates out and the notes do not say so: %q", left, res.Notes)
		}
		if per := float64(st.Explains) / float64(n); per > maxExplainsPerStatement {
			t.Errorf("%.1f EXPLAINs per statement, more than %d", per, maxExplainsPerStatement)
		}
		if per := float64(st.PlansCachedPeak) / float64(n); per > maxCachedPlansPerStatement {
			t.Errorf("%.1f cached plans per statement at most, more than %d", per, maxCachedPlansPerStatement)
		}
		if len(res.Proposals) == 0 || res.Workload.ImprovementPct < minWideImprovement {
			t.Errorf("%d proposals save %.1f%% of the cost, less than %d%%", len(res.Proposals), res.Workload.ImprovementPct, minWideImprovement)
		}
		var hypo int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM hypopg_list_indexes").Scan(&hypo); err != nil || hypo != 0 {
			t.Errorf("%d what-if indexes left behind (%v)", hypo, err)
		}
	}
	if diff := before.Diff(testdb.TakeFingerprint(t, dsn)); len(diff) > 0 {
		t.Errorf("propose changed the database:\n%s", strings.Join(diff, "\n"))
	}
}
