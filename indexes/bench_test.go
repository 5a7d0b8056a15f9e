package indexes_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hishamos/hishamos-perf/indexes"
	"github.com/hishamos/hishamos-perf/internal/dataset"
	"github.com/hishamos/hishamos-perf/internal/testdb"
	"github.com/hishamos/hishamos-perf/internal/widetable"
	"github.com/hishamos/hishamos-perf/profiles"
)

// The speed bar: propose on 200 distinct statements over 50 tables
// finishes in under 30 s on the sandbox. make bench-advisor runs this.
const (
	benchTables        = 50
	benchStmtsPerTable = 4
	benchRows          = 20000
)

// benchSchema creates benchTables tables of benchRows rows each.
func benchSchema() string {
	var b strings.Builder
	for i := range benchTables {
		fmt.Fprintf(&b, `CREATE TABLE t%02d (id bigint PRIMARY KEY, a int NOT NULL, b int NOT NULL, c int NOT NULL, d timestamptz NOT NULL, f numeric(10,2) NOT NULL, e text NOT NULL);
INSERT INTO t%02d SELECT i, (i * 7919) %% 200, (i * 31) %% 10, (i * 104729) %% 2000, timestamptz '2024-01-01' + i * interval '1 minute', (i * 48271 %% 100000) / 100.0, md5(i::text)
FROM generate_series(1::bigint, %d) i;
ANALYZE t%02d;
`, i, i, benchRows, i)
	}
	return b.String()
}

// benchWorkload is benchStmtsPerTable statement shapes on every table.
func benchWorkload() string {
	var b strings.Builder
	for i := range benchTables {
		fmt.Fprintf(&b, "SELECT id, d FROM t%02d WHERE a = $1 AND b = $2 ORDER BY d DESC LIMIT 20;\n", i)
		fmt.Fprintf(&b, "SELECT id, f FROM t%02d WHERE c = $1 AND d >= $2;\n", i)
		fmt.Fprintf(&b, "SELECT id, a FROM t%02d WHERE b = $1 ORDER BY f DESC LIMIT 10;\n", i)
		fmt.Fprintf(&b, "SELECT b, count(*) FROM t%02d WHERE a = $1 GROUP BY b;\n", i)
	}
	return b.String()
}

// BenchmarkPropose200 proposes indexes for 200 distinct statements over 50
// tables.
func BenchmarkPropose200(b *testing.B) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(b)
	conn := testdb.Conn(b, dsn)
	if _, err := conn.Exec(ctx, benchSchema()); err != nil {
		b.Fatal(err)
	}
	w, err := indexes.ParseSQL("bench.sql", benchWorkload())
	if err != nil {
		b.Fatal(err)
	}
	if len(w.Statements) != benchTables*benchStmtsPerTable {
		b.Fatalf("%d distinct statements, want %d (skipped %+v)", len(w.Statements), benchTables*benchStmtsPerTable, w.Skipped)
	}
	opts := indexes.Options{MinImprovement: indexes.DefaultMinImprovement, Seed: 1}
	var res *indexes.Result
	var took time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if res, err = indexes.Propose(ctx, conn, w, opts); err != nil {
			b.Fatal(err)
		}
		took = time.Since(start)
	}
	b.ReportMetric(float64(res.Workload.Statements), "statements")
	b.ReportMetric(float64(len(res.Proposals)), "proposals")
	b.ReportMetric(float64(res.Stats.Explains), "plans")
	b.ReportMetric(float64(res.Stats.CacheHits), "cache-hits")
	b.Logf("%d statements, %d tables: %d proposals, %d candidates, %d plans, %d from the cache, %d rounds, cost %.0f -> %.0f, in %s",
		res.Workload.Statements, benchTables, len(res.Proposals), res.Stats.Candidates, res.Stats.Explains, res.Stats.CacheHits,
		res.Stats.Rounds, res.Workload.CostBefore, res.Workload.CostAfter, took.Round(time.Millisecond))
}

// BenchmarkHishamOSMedium sets the advisor beside the seed report's eleven
// indexes on the HishamOS profile at scale medium: the total estimated
// workload cost and the index bytes of each, on the same statements,
// parameter values and statistics. It fails when the advisor's set does not
// cost less in no more bytes.
func BenchmarkHishamOSMedium(b *testing.B) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(b)
	conn := testdb.Conn(b, dsn)
	scale, err := dataset.ParseScale("medium")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := dataset.Load(ctx, conn, dataset.Options{Scale: scale, Seed: 1, Replace: true}); err != nil {
		b.Fatal(err)
	}
	p, err := profiles.Load("hishamos")
	if err != nil {
		b.Fatal(err)
	}
	opts := indexes.Options{MinImprovement: indexes.DefaultMinImprovement, Seed: 1, Compare: p}
	var res *indexes.Result
	b.ResetTimer()
	for b.Loop() {
		if res, err = indexes.Propose(ctx, conn, indexes.FromProfile(p), opts); err != nil {
			b.Fatal(err)
		}
	}
	sc := res.Seed
	b.ReportMetric(sc.Before, "cost-existing")
	b.ReportMetric(sc.Seed.Cost, "cost-seed")
	b.ReportMetric(sc.Advisor.Cost, "cost-advisor")
	b.ReportMetric(float64(sc.Seed.Bytes), "bytes-seed")
	b.ReportMetric(float64(sc.Advisor.Bytes), "bytes-advisor")
	var lines []string
	lines = append(lines, fmt.Sprintf("HishamOS profile, scale medium, %d statements (weighted)", res.Workload.Statements),
		fmt.Sprintf("  %-22s %8s %14s %14s", "index set", "indexes", "total cost", "index bytes"),
		fmt.Sprintf("  %-22s %8d %14.0f %14s", "existing only", 0, sc.Before, "-"),
		fmt.Sprintf("  %-22s %8d %14.0f %14s", "seed's eleven", sc.Seed.Indexes, sc.Seed.Cost, fmt.Sprintf("%d (%s)", sc.Seed.Bytes, indexes.FormatBytes(sc.Seed.Bytes))),
		fmt.Sprintf("  %-22s %8d %14.0f %14s", "advisor", sc.Advisor.Indexes, sc.Advisor.Cost, fmt.Sprintf("%d (%s)", sc.Advisor.Bytes, indexes.FormatBytes(sc.Advisor.Bytes))))
	for _, ix := range sc.Indexes {
		if ix.Redundant || ix.Unused {
			lines = append(lines, "  seed "+ix.Name+": "+ix.Reason)
		}
	}
	for _, pr := range res.Proposals {
		lines = append(lines, "  advisor: "+pr.Definition)
	}
	b.Log("\n" + strings.Join(lines, "\n"))
	if sc.Advisor.Cost >= sc.Seed.Cost || sc.Advisor.Bytes > sc.Seed.Bytes {
		b.Errorf("the advisor's set (cost %.0f, %d bytes) does not beat the seed's (cost %.0f, %d bytes)",
			sc.Advisor.Cost, sc.Advisor.Bytes, sc.Seed.Cost, sc.Seed.Bytes)
	}
}

// wideRows is the wide table's size in the Go benchmark: enough rows that
// the planner weighs indexes against scans as it would on real data, few
// enough to load in seconds (make bench-advisor-scale loads more).
const wideRows = 50000

// BenchmarkProposeWide proposes indexes for an ORM filter screen's distinct
// statements over widetable's 100-column table, at a few workload sizes;
// for profiling (-cpuprofile, -memprofile). make bench-advisor-scale runs
// the bigger sizes, one process each.
func BenchmarkProposeWide(b *testing.B) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(b)
	conn := testdb.Conn(b, dsn)
	if _, err := conn.Exec(ctx, widetable.Schema(wideRows, 1)); err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{50, 200, 1000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			w, err := indexes.ParseSQL("wide.sql", widetable.Workload(n, 1))
			if err != nil {
				b.Fatal(err)
			}
			var res *indexes.Result
			for b.Loop() {
				if res, err = indexes.Propose(ctx, conn, w, defaultOptions()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(res.Stats.Candidates), "candidates")
			b.ReportMetric(float64(res.Stats.Explains), "explains")
			b.ReportMetric(float64(len(res.Proposals)), "proposals")
			b.Logf("%d statements: %d candidates, %d EXPLAINs, %d from the cache, %d rounds, %d proposals, cost %.0f -> %.0f",
				res.Workload.Statements, res.Stats.Candidates, res.Stats.Explains, res.Stats.CacheHits, res.Stats.Rounds,
				len(res.Proposals), res.Workload.CostBefore, res.Workload.CostAfter)
		})
	}
}
