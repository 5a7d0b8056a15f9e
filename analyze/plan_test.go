package analyze

import (
	"errors"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
)

func mustPlan(t testing.TB, name string) *Plan {
	t.Helper()
	b, err := os.ReadFile(planPath(name, ".json"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParsePlan(b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParsePlanFields(t *testing.T) {
	p := mustPlan(t, "healthy")
	if !p.Analyzed || p.Generic {
		t.Errorf("analyzed=%v generic=%v, want analyzed, not generic", p.Analyzed, p.Generic)
	}
	n := p.Root
	if n.NodeType != "Index Scan" || n.IndexName != "events_pkey" || n.RelationName != "events" || n.Schema != "public" {
		t.Errorf("root = %q using %q on %q.%q", n.NodeType, n.IndexName, n.Schema, n.RelationName)
	}
	if n.Table() != "public.events" || n.Label() != "Index Scan using events_pkey on events" {
		t.Errorf("table %q label %q", n.Table(), n.Label())
	}
	if n.ActualLoops != 1 || n.ActualRows != 1 || n.PlanRows != 1 || !slices.Equal(n.Output, []string{"id", "status"}) {
		t.Errorf("loops %v rows %v est %v output %v", n.ActualLoops, n.ActualRows, n.PlanRows, n.Output)
	}
	if n.Buffers.SharedHit+n.Buffers.SharedRead == 0 {
		t.Error("no buffers parsed")
	}
	if p.QueryID == 0 || p.ExecutionTimeMs <= 0 || p.Planning == nil {
		t.Errorf("query id %d, execution %v, planning buffers %v", p.QueryID, p.ExecutionTimeMs, p.Planning)
	}
	if got := p.IndexesUsed(); !slices.Equal(got, []string{"events_pkey"}) {
		t.Errorf("IndexesUsed = %v", got)
	}

	g := mustPlan(t, "seq-scan-large-generic")
	if g.Analyzed || g.Root.Executed || g.Root.SelfTime != 0 {
		t.Errorf("generic plan: analyzed=%v executed=%v self=%v", g.Analyzed, g.Root.Executed, g.Root.SelfTime)
	}

	j := mustPlan(t, "jit-heavy")
	if j.JIT == nil || j.JIT.Functions == 0 || j.JIT.TotalTime <= 0 {
		t.Errorf("JIT = %+v", j.JIT)
	}
	h := mustPlan(t, "hash-spill")
	var hash *Node
	h.Walk(func(n *Node) bool {
		if n.NodeType == "Hash" {
			hash = n
		}
		return true
	})
	if hash == nil || hash.HashBatches <= 1 || hash.PeakMemoryUsage == 0 {
		t.Errorf("hash node = %+v", hash)
	}
}

// TestExclusiveTimes checks that self times add up to the root's time and
// never go negative, on every captured plan.
func TestExclusiveTimes(t *testing.T) {
	for _, c := range planCases {
		if c.generic {
			continue
		}
		p := mustPlan(t, c.name)
		var sum float64
		for _, n := range p.Nodes() {
			if n.SelfTime < 0 || n.SelfCost < 0 {
				t.Errorf("%s: node %d %s self time %v cost %v", c.name, n.ID, n.Label(), n.SelfTime, n.SelfCost)
			}
			sum += n.SelfTime
		}
		// Self times are clamped at zero, so they can only add up to more.
		if sum+1e-6 < p.Root.InclusiveTime || (p.Root.InclusiveTime > 0 && sum > p.Root.InclusiveTime*1.5) {
			t.Errorf("%s: self times add up to %.3f ms, root inclusive %.3f ms", c.name, sum, p.Root.InclusiveTime)
		}
		if math.Abs(p.Root.InclusiveTime-p.Root.ActualTotalTime*p.Root.ActualLoops) > 1e-9 {
			t.Errorf("%s: root inclusive %v != actual %v", c.name, p.Root.InclusiveTime, p.Root.ActualTotalTime)
		}
	}
}

func TestExclusiveTimeParallel(t *testing.T) {
	// A Gather over a parallel scan: the scan's loops count the leader and
	// the workers, and its time is per process.
	raw := `[{"Plan": {"Node Type": "Gather", "Total Cost": 100, "Plan Rows": 10, "Workers Planned": 2, "Workers Launched": 2,
		"Actual Startup Time": 0.5, "Actual Total Time": 30, "Actual Rows": 10, "Actual Loops": 1,
		"Plans": [{"Node Type": "Seq Scan", "Parent Relationship": "Outer", "Parallel Aware": true, "Relation Name": "t",
			"Total Cost": 90, "Plan Rows": 4, "Actual Startup Time": 0.1, "Actual Total Time": 25, "Actual Rows": 3, "Actual Loops": 3,
			"Filter": "(a = 1)", "Rows Removed by Filter": 1000}]}, "Execution Time": 31}]`
	p, err := ParsePlan([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	scan := p.Root.Children[0]
	if scan.InclusiveTime != 25 || p.Root.SelfTime != 5 {
		t.Errorf("scan inclusive %v (want 25), gather self %v (want 5)", scan.InclusiveTime, p.Root.SelfTime)
	}
	if scan.TotalRows() != 9 || scan.RowsRemoved() != 3000 {
		t.Errorf("rows %v removed %v, want 9 and 3000", scan.TotalRows(), scan.RowsRemoved())
	}
	if scan.Label() != "Parallel Seq Scan on t" {
		t.Errorf("label %q", scan.Label())
	}
}

func TestShape(t *testing.T) {
	a, b := mustPlan(t, "nested-loop-many"), mustPlan(t, "nested-loop-many")
	if a.Shape() != b.Shape() || a.ShapeHash() != b.ShapeHash() || len(a.ShapeHash()) != 16 {
		t.Fatalf("shape not stable: %q %q", a.ShapeHash(), b.ShapeHash())
	}
	if strings.ContainsAny(a.Shape(), "0123456789") && !strings.Contains(a.Shape(), "events_pkey") {
		t.Errorf("shape holds numbers: %s", a.Shape())
	}
	for _, want := range []string{"Outer:Nested Loop[Inner](", "Inner:Index Only Scan using events_pkey on events", "Outer:Seq Scan on accounts"} {
		if !strings.Contains(a.Shape(), want) {
			t.Errorf("shape %q lacks %q", a.Shape(), want)
		}
	}
	// Another index, join method or order is another shape.
	raw, _ := os.ReadFile(planPath("nested-loop-many", ".json"))
	for _, swap := range [][2]string{{"events_pkey", "events_other"}, {`"Nested Loop"`, `"Hash Join"`}, {`"Parent Relationship": "Inner"`, `"Parent Relationship": "Outer"`}} {
		other, err := ParsePlan([]byte(strings.ReplaceAll(string(raw), swap[0], swap[1])))
		if err != nil {
			t.Fatal(err)
		}
		if other.ShapeHash() == a.ShapeHash() {
			t.Errorf("replacing %s by %s kept the shape hash", swap[0], swap[1])
		}
	}
	// Numbers change between runs; the shape must not.
	changed := strings.ReplaceAll(string(raw), `"Actual Loops": 2000`, `"Actual Loops": 1999`)
	changed = strings.ReplaceAll(changed, `"Total Cost": `, `"Total Cost": 1`)
	c, err := ParsePlan([]byte(changed))
	if err != nil {
		t.Fatal(err)
	}
	if c.ShapeHash() != a.ShapeHash() {
		t.Errorf("shape changed with the numbers: %s", c.Shape())
	}
}

func TestWalkSkipsChildren(t *testing.T) {
	p := mustPlan(t, "nested-loop-many")
	all, top := 0, 0
	p.Walk(func(*Node) bool { all++; return true })
	p.Walk(func(n *Node) bool { top++; return n.Depth < 1 })
	if all != len(p.Nodes()) || top >= all || top < 2 {
		t.Errorf("walk visited %d of %d nodes; with skip %d", all, len(p.Nodes()), top)
	}
	for i, n := range p.Nodes() {
		if n.ID != i || (n.Parent == nil) != (i == 0) {
			t.Errorf("node %d: id %d parent %v", i, n.ID, n.Parent)
		}
	}
}

func TestParsePlanErrors(t *testing.T) {
	for _, in := range []string{"", "null", "[]", `[{"Plan": {}}]`, `{"x": 1}`, "EXPLAIN", `[{"Plan": {"Node Type": "Result"}}, {"Plan": {"Node Type": "Result"}}]`} {
		if _, err := ParsePlan([]byte(in)); !errors.Is(err, ErrPlanFormat) {
			t.Errorf("ParsePlan(%q) = %v, want ErrPlanFormat", in, err)
		}
	}
	// The object inside the array is accepted too.
	if _, err := ParsePlan([]byte(`{"Plan": {"Node Type": "Result", "Total Cost": 0.01}}`)); err != nil {
		t.Errorf("object form: %v", err)
	}
}

func TestLabels(t *testing.T) {
	for _, c := range []struct {
		n    Node
		want string
	}{
		{Node{NodeType: "Hash Join", JoinType: "Left"}, "Hash Left Join"},
		{Node{NodeType: "Hash Join", JoinType: "Inner"}, "Hash Join"},
		{Node{NodeType: "Nested Loop", JoinType: "Anti"}, "Nested Loop Anti Join"},
		{Node{NodeType: "Aggregate", Strategy: "Hashed"}, "HashAggregate"},
		{Node{NodeType: "Aggregate", Strategy: "Plain"}, "Aggregate"},
		{Node{NodeType: "Index Scan", ScanDirection: "Backward", IndexName: "ix", RelationName: "t", Alias: "x"}, "Index Scan Backward using ix on t x"},
		{Node{NodeType: "CTE Scan", CTEName: "w"}, "CTE Scan on w"},
	} {
		if got := c.n.Label(); got != c.want {
			t.Errorf("Label() = %q, want %q", got, c.want)
		}
	}
}

// TestSmallTableInLoop: a small table scanned once per outer row is a
// nested loop problem, not a large-table scan.
func TestSmallTableInLoop(t *testing.T) {
	raw := `[{"Plan": {"Node Type": "Nested Loop", "Join Type": "Inner", "Total Cost": 5000, "Plan Rows": 10,
		"Actual Startup Time": 0.1, "Actual Total Time": 900, "Actual Rows": 10, "Actual Loops": 1,
		"Plans": [
			{"Node Type": "Seq Scan", "Parent Relationship": "Outer", "Relation Name": "big", "Total Cost": 100, "Plan Rows": 2000,
			 "Actual Startup Time": 0.01, "Actual Total Time": 2, "Actual Rows": 2000, "Actual Loops": 1},
			{"Node Type": "Seq Scan", "Parent Relationship": "Inner", "Relation Name": "small", "Total Cost": 2, "Plan Rows": 1,
			 "Actual Startup Time": 0.01, "Actual Total Time": 0.4, "Actual Rows": 0, "Actual Loops": 2000,
			 "Filter": "(small.id = big.small_id)", "Rows Removed by Filter": 100}]}, "Execution Time": 901}]`
	p, err := ParsePlan([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	got := Evaluate(Subject{Plan: p})
	if len(got) != 1 || got[0].Rule != RuleNestedLoopMany || got[0].Severity != Critical {
		t.Errorf("findings %+v, want one critical nested-loop-many", got)
	}
	if p.Hot(p.Root.Children[1]) < 0.8 {
		t.Errorf("inner scan's share %.2f: it takes 800 of 900 ms", p.Hot(p.Root.Children[1]))
	}
}
