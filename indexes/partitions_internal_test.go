package indexes

import (
	"context"
	"strings"
	"testing"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// An index on a partitioned table is costed as the index on each of its
// partitions: the planner reads, for a statement pruned to one partition,
// that partition's index alone, so the statement costs what it costs with
// an index on that partition only; a statement that reads every partition
// uses every partition's index. The index's size is its partitions'
// summed. Both with HypoPG and with real indexes built in the rolled-back
// transaction (--allow-build).
func TestPartitionedIndexCostedOnEachPartition(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	testdb.LoadEvents(t, dsn, 60000, 2000)
	conn := testdb.Conn(t, dsn)
	w, err := ParseSQL("pruned.sql", `
SELECT id, kind FROM events WHERE tenant_id = 7 AND created_at >= timestamptz '2026-07-03' AND created_at < timestamptz '2026-07-04';
SELECT id, kind FROM events WHERE tenant_id = 7;`)
	if err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{CostingHypoPG, CostingBuild} {
		t.Run(method, func(t *testing.T) {
			if method == CostingHypoPG {
				testdb.NeedExtension(t, "hypopg")
			}
			res := &Result{}
			s, err := openSession(ctx, conn, w, Options{Seed: 1, AllowBuild: true}, res)
			defer s.close()
			if err != nil {
				t.Fatal(err)
			}
			ev := s.cat.find("events")
			if ev == nil || !ev.partitioned() || len(ev.partitions) != 8 {
				t.Fatalf("events: %+v", ev)
			}
			var leafBytes int64
			for _, p := range ev.partitions {
				leafBytes += p.bytes
			}
			if ev.bytes != leafBytes || ev.rows < 59000 {
				t.Errorf("events: %d bytes (partitions: %d), %.0f rows", ev.bytes, leafBytes, ev.rows)
			}
			newWhatIf := func() whatIf {
				if method == CostingHypoPG {
					return &hypoPG{q: conn}
				}
				return &builder{q: conn}
			}
			cost := func(t *testing.T, tbl *table) (pruned, all *planCost, bytes int64) {
				t.Helper()
				e := newEngine(conn, newWhatIf())
				defer e.cleanup()
				d := &indexDef{table: tbl, keys: []indexdef.Key{indexdef.Asc("tenant_id"), indexdef.Asc("created_at")}}
				if err := e.materialize(ctx, []*indexDef{d}); err != nil {
					t.Fatal(err)
				}
				if e.failed[d.id()] != "" {
					t.Fatalf("%s failed: %s", d.describe(), e.failed[d.id()])
				}
				pruned, _, err := e.explain(ctx, s.stmts[0])
				if err != nil {
					t.Fatal(err)
				}
				all, _, err = e.explain(ctx, s.stmts[1])
				if err != nil {
					t.Fatal(err)
				}
				return pruned, all, e.sizes[d.id()]
			}
			uses := func(p *planCost) int {
				n := 0
				for _, u := range p.used {
					if !strings.HasPrefix(u, existingPrefix) {
						n++
					}
				}
				return n
			}
			pruned, all, bytes := cost(t, ev)
			if n := uses(pruned); n != 1 {
				t.Errorf("the statement pruned to events_2026_07 reads %d partitions' indexes, want 1 (%v)", n, pruned.used)
			}
			if n := uses(all); n < 7 {
				t.Errorf("the statement on every partition reads %d partitions' indexes, want them all (%v)", n, all.used)
			}
			// The same index on events_2026_07 alone: the pruned statement
			// costs the same.
			only := *ev
			only.partitions = nil
			for _, p := range ev.partitions {
				if p.name == "events_2026_07" {
					only.partitions = append(only.partitions, p)
				}
			}
			if method == CostingHypoPG {
				alone, _, _ := cost(t, &only)
				if alone.cost != pruned.cost {
					t.Errorf("pruned statement: cost %.2f with the index on every partition, %.2f with it on its partition alone", pruned.cost, alone.cost)
				}
			}
			if method == CostingBuild {
				// Built on the partitioned table, on every partition:
				// its size is theirs (builtParts).
				if bytes <= 0 {
					t.Errorf("built index size %d", bytes)
				}
				return
			}
			// Its size is what it is on each partition alone, summed.
			var sum int64
			for _, p := range ev.partitions {
				one := *ev
				one.partitions = []partition{p}
				_, _, b := cost(t, &one)
				sum += b
			}
			if bytes != sum {
				t.Errorf("index size %d, its partitions' summed %d", bytes, sum)
			}
		})
	}
}
