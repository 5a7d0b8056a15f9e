package indexes_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/hishamos/hishamos-perf/indexes"
	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// Quality bars of the issue: on a workload of single-table statements
// (equality, range, ORDER BY ... LIMIT), the advisor's set costs at most
// bestSlack times what the best hand-written composite set costs, and at
// least singleColumnFactor times less than one index per predicate column.
const (
	bestSlack          = 1.10
	singleColumnFactor = 5
)

// TestQualitySingleTable costs, on the real server with the same parameter
// values and statistics, the advisor's choice, the hand-written best set of
// testdata/single_table/sets.json and the single-column set. Its bounds
// hold for HypoPG's estimates, the advisor's costing: without HypoPG (the
// npm builds) costing with real indexes takes minutes here and is tested
// by TestNoHypoPG, so it skips.
func TestQualitySingleTable(t *testing.T) {
	testdb.NeedExtension(t, "hypopg")
	ctx := context.Background()
	conn, _ := newDB(t, "single_table/schema.sql")
	var sets struct {
		Best         []indexes.IndexSpec `json:"best"`
		SingleColumn []indexes.IndexSpec `json:"single_column"`
	}
	b, err := os.ReadFile(filepath.Join("testdata", "single_table", "sets.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sets); err != nil {
		t.Fatal(err)
	}

	res, err := indexes.Propose(ctx, conn, readWorkload(t, "single_table/workload.sql"), defaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Skipped) > 0 {
		t.Fatalf("skipped statements: %+v", res.Skipped)
	}
	defs := func(specs []indexes.IndexSpec) []indexdef.Def {
		var out []indexdef.Def
		for _, sp := range specs {
			d, err := sp.Def()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, d)
		}
		return out
	}
	before, costs, err := indexes.CostSets(ctx, conn, readWorkload(t, "single_table/workload.sql"),
		[][]indexdef.Def{defs(sets.Best), defs(sets.SingleColumn)}, defaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	best, single := costs[0], costs[1]
	advisor := res.Workload.CostAfter
	for _, p := range res.Proposals {
		t.Logf("proposed %s (%d bytes)", p.Definition, p.SizeBytes)
	}
	for _, s := range res.Statements {
		t.Logf("%s: %.2f -> %.2f", s.Name, s.CostBefore, s.CostAfter)
	}
	if testing.Verbose() {
		for _, r := range res.Rejected {
			t.Logf("rejected %s: %s", r.Index, r.Reason)
		}
	}
	t.Logf("total estimated cost: existing %.0f (advisor's run %.0f), advisor %.0f in %d indexes (%d bytes), best by hand %.0f in %d (%d bytes), single-column %.0f in %d (%d bytes)",
		before, res.Workload.CostBefore, advisor, len(res.Proposals), res.Workload.IndexBytes,
		best.Cost, best.Indexes, best.Bytes, single.Cost, single.Indexes, single.Bytes)
	if before != res.Workload.CostBefore {
		t.Errorf("the two runs planned the workload differently: cost before %.2f and %.2f", res.Workload.CostBefore, before)
	}
	if advisor > bestSlack*best.Cost {
		t.Errorf("advisor's total cost %.0f is more than %.0f%% above the hand-written best %.0f", advisor, (bestSlack-1)*100, best.Cost)
	}
	if advisor*singleColumnFactor > single.Cost {
		t.Errorf("advisor's total cost %.0f is not %d times below the single-column set's %.0f", advisor, singleColumnFactor, single.Cost)
	}
}
