package analyze

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// bigPlanNodes is the size of the synthetic plan the benchmarks use.
const bigPlanNodes = 2000

// bigPlan composes a plan of n nodes from the nodes of the captured plans:
// each node is a real node's JSON, with its children replaced, so the
// parser and the rules see what a server writes.
func bigPlan(tb testing.TB, n int) []byte {
	tb.Helper()
	var templates []map[string]any
	for _, name := range []string{"seq-scan-large", "hash-spill", "nested-loop-many", "sort-spill", "lossy-bitmap", "rows-removed-by-filter", "row-misestimate", "heap-fetches"} {
		b, err := os.ReadFile(planPath(name, ".json"))
		if err != nil {
			tb.Fatal(err)
		}
		var doc []map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			tb.Fatal(err)
		}
		var collect func(m map[string]any)
		collect = func(m map[string]any) {
			for _, c := range asMaps(m["Plans"]) {
				collect(c)
			}
			delete(m, "Plans")
			templates = append(templates, m)
		}
		collect(doc[0]["Plan"].(map[string]any))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	made := 0
	var build func(depth int) map[string]any
	build = func(depth int) map[string]any {
		node := map[string]any{}
		for k, v := range templates[rng.IntN(len(templates))] {
			node[k] = v
		}
		made++
		var kids []any
		for i := 0; i < 2 && made < n-1 && depth < 40; i++ {
			c := build(depth + 1)
			c["Parent Relationship"] = []string{"Outer", "Inner"}[i]
			kids = append(kids, c)
		}
		if kids != nil {
			node["Plans"] = kids
		}
		return node
	}
	root := map[string]any{"Node Type": "Append", "Total Cost": 1e6, "Plan Rows": 1, "Actual Total Time": 5000.0, "Actual Loops": 1.0, "Actual Rows": 1.0}
	var kids []any
	for made < n-1 {
		kids = append(kids, build(1))
	}
	root["Plans"] = kids
	b, err := json.Marshal([]any{map[string]any{"Plan": root, "Execution Time": 5000.0}})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func asMaps(v any) []map[string]any {
	arr, _ := v.([]any)
	out := make([]map[string]any, 0, len(arr))
	for _, a := range arr {
		if m, ok := a.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// syntheticStatements makes n pg_stat_statements entries with spread-out
// figures and HishamOS-like texts.
func syntheticStatements(n int) []Statement {
	rng := rand.New(rand.NewPCG(3, 4))
	texts := []string{
		`SELECT "agents_agent"."id", "agents_agent"."name" FROM "agents_agent" WHERE "agents_agent"."id" = $1`,
		`SELECT * FROM "agents_agentexecution" WHERE "agents_agentexecution"."user_id" = $1 AND "status" = $2 ORDER BY "created_at" DESC`,
		`SELECT COUNT(*) AS "__count" FROM "workflows_workflowexecution" WHERE "workflow_id" = $1`,
		`UPDATE "agents_agent" SET "total_invocations" = "total_invocations" + $1 WHERE "id" = $2`,
		`SELECT * FROM "commands_commandtemplate" WHERE "is_active" AND "category_id" = $1 LIMIT $2`,
	}
	out := make([]Statement, n)
	for i := range out {
		calls := int64(rng.ExpFloat64()*5000) + 1
		mean := rng.ExpFloat64() * 3
		s := stats(int64(i+1), fmt.Sprintf("%s /* %d */", texts[i%len(texts)], i), calls, mean, mean/3, calls*int64(rng.IntN(3000)))
		s.SharedBlksHit = calls * int64(rng.IntN(100))
		s.SharedBlksRead = calls * int64(rng.IntN(10))
		s.JITTime = s.TotalTime * rng.Float64() * 0.2
		out[i] = s
	}
	return out
}

// BenchmarkRank ranks 10,000 statements and keeps the top 20.
func BenchmarkRank(b *testing.B) {
	base := syntheticStatements(10_000)
	work := make([]Statement, len(base))
	b.ReportAllocs()
	for b.Loop() {
		copy(work, base)
		Rank(work, SortTotal, 20)
	}
}

// BenchmarkStatementRules runs the statement rules over 10,000 statements.
func BenchmarkStatementRules(b *testing.B) {
	stmts, _ := Rank(syntheticStatements(10_000), SortTotal, 0)
	b.ReportAllocs()
	for b.Loop() {
		for i := range stmts {
			Evaluate(Subject{Statement: &stmts[i], Window: time.Hour})
		}
	}
}

// BenchmarkParsePlan parses a 2,000-node plan.
func BenchmarkParsePlan(b *testing.B) {
	raw := bigPlan(b, bigPlanNodes)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParsePlan(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlanRules runs every plan rule over a 2,000-node plan.
func BenchmarkPlanRules(b *testing.B) {
	p, err := ParsePlan(bigPlan(b, bigPlanNodes))
	if err != nil {
		b.Fatal(err)
	}
	if len(p.Nodes()) != bigPlanNodes {
		b.Fatalf("plan has %d nodes", len(p.Nodes()))
	}
	facts := map[string]TableFacts{"public.events": {Rows: 200_000, Columns: 7}}
	b.ReportAllocs()
	var found int
	for b.Loop() {
		found = len(Evaluate(Subject{Plan: p, Tables: facts}))
	}
	b.ReportMetric(float64(found), "findings")
}

// BenchmarkAnalyzeSandbox runs Analyze, without EXPLAIN, on a database of
// 500 tables and 5,000 distinct statements (the target: under 2 s
// plus the EXPLAIN time of the top statements).
func BenchmarkAnalyzeSandbox(b *testing.B) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(b)
	admin := testdb.Conn(b, dsn)
	var ddl strings.Builder
	for i := range 500 {
		fmt.Fprintf(&ddl, "CREATE TABLE t%d (id int PRIMARY KEY, a int, b int, c text, d int REFERENCES t%d (id));\n", i, max(i-1, 0))
		fmt.Fprintf(&ddl, "CREATE INDEX t%d_a ON t%d (a); CREATE INDEX t%d_ab ON t%d (a, b);\n", i, i, i, i)
	}
	mustExec(b, admin, ddl.String())
	// Ten shapes per table make 5,000 distinct query identifiers.
	shapes := []string{
		"SELECT id FROM t%d WHERE a = 1", "SELECT id, a FROM t%d WHERE b = 1", "SELECT count(*) FROM t%d",
		"SELECT c FROM t%d WHERE id = 1", "SELECT * FROM t%d WHERE a = 1 AND b = 2", "SELECT max(a) FROM t%d",
		"SELECT id FROM t%d ORDER BY a LIMIT 5", "SELECT a, count(*) FROM t%d GROUP BY a", "SELECT d FROM t%d WHERE c = 'x'",
		"SELECT id, b FROM t%d WHERE a > 3",
	}
	batch := &pgx.Batch{}
	for i := range 500 {
		for _, s := range shapes {
			batch.Queue(fmt.Sprintf(s, i))
		}
	}
	if err := admin.SendBatch(ctx, batch).Close(); err != nil {
		b.Fatal(err)
	}
	conn := safeConn(b, dsn, time.Minute)
	b.ResetTimer()
	var stmts int
	for b.Loop() {
		rep, err := Analyze(ctx, conn, Options{Top: 50})
		if err != nil {
			b.Fatal(err)
		}
		stmts = rep.Totals.Statements
	}
	b.ReportMetric(float64(stmts), "statements")
}
