package bench_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/hishamos/hishamos-perf/bench"
)

// samples draws n latencies around center ms with a few percent of noise and
// a long tail, as a quiet machine gives them; the same seed gives the same
// ones.
func samples(seed uint64, n int, center float64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 99))
	out := make([]float64, n)
	for i := range out {
		out[i] = center * (1 + 0.03*rng.NormFloat64())
		if rng.IntN(20) == 0 {
			out[i] *= 1.5 + rng.Float64()
		}
	}
	return out
}

func ptr(v float64) *float64 { return &v }

// stmt is a statement run with samples around center, buffers and a plan.
func stmt(name string, seed uint64, center float64, buffers float64, plan string) bench.StatementRun {
	s := bench.StatementRun{Name: name, SQLHash: "h-" + name, PlanHash: plan, Calls: 100,
		Samples: samples(seed, 100, center), BuffersPerCall: ptr(buffers), BuffersSource: bench.BuffersFromStatements,
		Relations: []string{"t_" + name}}
	s.P50Ms = center
	return s
}

// withServer gives a statement run a server time of mean ms per call with
// a standard deviation of sd over its calls, from pg_stat_statements.
func withServer(s bench.StatementRun, mean, sd float64) bench.StatementRun {
	s.Server = &bench.ServerTime{MeanMs: mean, StddevMs: sd, ExecMeanMs: mean, ExecStddevMs: sd, Calls: s.Calls,
		Source: bench.BuffersFromStatements}
	return s
}

func env() bench.Environment {
	return bench.Environment{ServerVersion: "15.1", Settings: map[string]string{"work_mem": "4MB", "jit": "on"},
		Tables: []bench.TableInfo{{Name: "t_a", Rows: 1000}, {Name: "t_b", Rows: 1000}}}
}

func runOf(e bench.Environment, stmts ...bench.StatementRun) *bench.Run {
	return &bench.Run{Schema: bench.Schema, Complete: true, Environment: e, Statements: stmts,
		Settings: bench.Settings{Transaction: bench.TransactionPerCall}}
}

var defaults = bench.CompareOptions{Alpha: bench.DefaultAlpha, NoisePct: bench.DefaultNoisePct}

func TestVerdicts(t *testing.T) {
	tests := []struct {
		name       string
		before     bench.StatementRun
		after      bench.StatementRun
		afterEnv   func(*bench.Environment)
		verdict    bench.Verdict
		decidedBy  string
		reasonHint string
	}{
		{"same samples, same work", stmt("a", 1, 1, 10, "p1"), stmt("a", 2, 1, 10, "p1"), nil, bench.Unchanged, "latency", "no significant change"},
		{"buffers fall beyond the noise", stmt("a", 1, 1, 100, "p1"), stmt("a", 2, 1, 40, "p2"), nil, bench.Improved, "buffers", "100.0 → 40.0"},
		{"buffers rise beyond the noise, latency flat", stmt("a", 1, 1, 100, "p1"), stmt("a", 2, 1, 130, "p1"), nil, bench.Regressed, "buffers", "+30%"},
		{"buffers within the noise, latency flat", stmt("a", 1, 1, 100, "p1"), stmt("a", 2, 1, 103, "p2"), nil, bench.Unchanged, "latency", ""},
		{"slower with the same plan and buffers: the machine", stmt("a", 1, 1, 10, "p1"), stmt("a", 2, 1.5, 10, "p1"), nil, bench.Inconclusive, "latency", "same plan and buffers within the noise"},
		{"slower with a new plan, same buffers", stmt("a", 1, 1, 10, "p1"), stmt("a", 2, 1.5, 10, "p2"), nil, bench.Regressed, "latency", "the plan changed"},
		{"faster with a new plan", stmt("a", 1, 1, 10, "p1"), stmt("a", 2, 0.5, 10, "p2"), nil, bench.Improved, "latency", ""},
		{"a 3% shift is noise", stmt("a", 1, 1, 10, "p1"), stmt("a", 2, 1.03, 10, "p2"), nil, bench.Unchanged, "latency", ""},
		{"a setting changed", stmt("a", 1, 1, 100, "p1"), stmt("a", 2, 1, 40, "p2"),
			func(e *bench.Environment) { e.Settings["work_mem"] = "64MB" }, bench.Inconclusive, "environment", "work_mem 4MB → 64MB"},
		{"its table grew 20%", stmt("a", 1, 1, 100, "p1"), stmt("a", 2, 1, 40, "p2"),
			func(e *bench.Environment) { e.Tables[0].Rows = 1200 }, bench.Inconclusive, "environment", "t_a rows 1000 → 1200"},
		{"another table grew 20%", stmt("a", 1, 1, 100, "p1"), stmt("a", 2, 1, 40, "p2"),
			func(e *bench.Environment) { e.Tables[1].Rows = 1200 }, bench.Improved, "buffers", ""},
		{"its table grew 5%", stmt("a", 1, 1, 100, "p1"), stmt("a", 2, 1, 40, "p2"),
			func(e *bench.Environment) { e.Tables[0].Rows = 1050 }, bench.Improved, "buffers", ""},
		{"server upgraded", stmt("a", 1, 1, 10, "p1"), stmt("a", 2, 1, 10, "p1"),
			func(e *bench.Environment) { e.ServerVersion = "16.2" }, bench.Inconclusive, "environment", "server version"},
		{"buffers from different sources are not compared", stmt("a", 1, 1, 100, "p1"),
			func() bench.StatementRun {
				s := stmt("a", 2, 1, 40, "p1")
				s.BuffersSource = bench.BuffersFromExplain
				return s
			}(),
			nil, bench.Unchanged, "latency", ""},
		{"no successful call after", stmt("a", 1, 1, 10, "p1"),
			func() bench.StatementRun { s := stmt("a", 2, 1, 10, "p1"); s.Calls, s.Samples = 0, nil; return s }(),
			nil, bench.Inconclusive, "errors", "after run"},
		{"different SQL under one name", stmt("a", 1, 1, 10, "p1"),
			func() bench.StatementRun { s := stmt("a", 2, 1, 10, "p1"); s.SQLHash = "other"; return s }(),
			nil, bench.Inconclusive, "sql", ""},
		// The case: after an index, 60 index probes became a hash
		// anti-join over 10,197 rows; buffers fell from 361 to 47 and
		// latency doubled. Users feel the latency.
		{"slower over fewer buffers: regressed", stmt("a", 1, 0.466, 361, "p1"), stmt("a", 2, 0.957, 47, "p2"), nil,
			bench.Regressed, "latency", "although buffers per call 361.0 → 47.0"},
		{"faster over more buffers: mixed", stmt("a", 1, 1, 100, "p1"), stmt("a", 2, 0.5, 150, "p2"), nil,
			bench.Mixed, "latency+buffers", "a colder cache or a busier server pays for"},
		{"server time doubles under a flat round trip: regressed", withServer(stmt("a", 1, 1, 10, "p1"), 0.05, 0.01),
			withServer(stmt("a", 2, 1, 10, "p2"), 0.1, 0.01), nil, bench.Regressed, "server", "server time +100.0%"},
		{"server time and latency fall together", withServer(stmt("a", 1, 1, 100, "p1"), 0.5, 0.1),
			withServer(stmt("a", 2, 0.6, 40, "p2"), 0.1, 0.02), nil, bench.Improved, "latency+server+buffers", "server time -80.0%"},
		{"server faster, client slower: mixed", withServer(stmt("a", 1, 1, 10, "p1"), 0.5, 0.1),
			withServer(stmt("a", 2, 1.5, 10, "p2"), 0.2, 0.05), nil, bench.Mixed, "latency+server", "opposite ways"},
		{"server time with the same plan and buffers: the machine", withServer(stmt("a", 1, 1, 10, "p1"), 0.05, 0.01),
			withServer(stmt("a", 2, 1, 10, "p1"), 0.1, 0.01), nil, bench.Inconclusive, "server", "the machine's load moved"},
		{"server times from different sources are not compared", withServer(stmt("a", 1, 1, 10, "p1"), 0.05, 0.01),
			func() bench.StatementRun {
				s := withServer(stmt("a", 2, 1, 10, "p2"), 0.1, 0.01)
				s.Server.Source = bench.BuffersFromExplain
				return s
			}(), nil, bench.Unchanged, "latency", ""},
		{"too few samples to tell",
			func() bench.StatementRun { s := stmt("a", 1, 1, 10, "p1"); s.Samples = s.Samples[:3]; return s }(),
			func() bench.StatementRun { s := stmt("a", 2, 2, 10, "p2"); s.Samples = s.Samples[:3]; return s }(),
			nil, bench.Inconclusive, "latency", "too few samples"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ae := env()
			if tt.afterEnv != nil {
				tt.afterEnv(&ae)
			}
			out := bench.Compare(runOf(env(), tt.before), runOf(ae, tt.after), defaults, nil, nil)
			if len(out.Comparison) != 1 {
				t.Fatalf("%d comparisons", len(out.Comparison))
			}
			c := out.Comparison[0]
			if c.Verdict != tt.verdict || c.DecidedBy != tt.decidedBy || !strings.Contains(c.Reason, tt.reasonHint) {
				t.Logf("latency %s, server %s, buffers %s", c.Latency, c.Server, c.Buffers)
				t.Errorf("verdict %s by %s (%s); want %s by %s, saying %q", c.Verdict, c.DecidedBy, c.Reason, tt.verdict, tt.decidedBy, tt.reasonHint)
			}
		})
	}
}

func TestLatencyStatistics(t *testing.T) {
	before := stmt("a", 1, 2, 10, "p1")
	after := stmt("a", 2, 1, 10, "p2")
	c := bench.Compare(runOf(env(), before), runOf(env(), after), defaults, nil, nil).Comparison[0]
	if c.MedianChangePct > -45 || c.MedianChangePct < -55 {
		t.Errorf("median change %.1f%%, want about -50%%", c.MedianChangePct)
	}
	if c.CILowPct == nil || c.CIHighPct == nil || !(*c.CILowPct < c.MedianChangePct && c.MedianChangePct < *c.CIHighPct) {
		t.Errorf("95%% CI [%v, %v] does not hold the change %.1f%%", c.CILowPct, c.CIHighPct, c.MedianChangePct)
	}
	if c.PValue >= 1e-6 {
		t.Errorf("p = %g for samples that do not overlap", c.PValue)
	}
	same := bench.Compare(runOf(env(), before), runOf(env(), stmt("a", 1, 2, 10, "p1")), defaults, nil, nil).Comparison[0]
	if same.PValue < 0.99 || same.MedianChangePct != 0 {
		t.Errorf("identical samples: p=%g change=%v", same.PValue, same.MedianChangePct)
	}
}

// TestDriftGuard: when every statement whose plan and buffers stayed the
// same got 40% slower, a statement with a new plan (and the same buffers)
// 40% slower is the machine too; one 200% slower is not.
func TestDriftGuard(t *testing.T) {
	var before, after []bench.StatementRun
	for i, name := range []string{"c1", "c2", "c3", "c4"} {
		before = append(before, stmt(name, uint64(i), 1, 10, "p"))
		after = append(after, stmt(name, uint64(i+10), 1.4, 10, "p"))
	}
	before = append(before, stmt("moved", 20, 1, 10, "p1"), stmt("worse", 21, 1, 10, "p1"))
	after = append(after, stmt("moved", 22, 1.4, 10, "p2"), stmt("worse", 23, 3, 10, "p2"))
	out := bench.Compare(runOf(env(), before...), runOf(env(), after...), defaults, nil, nil)
	if out.Drift == nil || out.Drift.Controls != 4 || out.Drift.MedianPct < 30 || out.Drift.MedianPct > 50 {
		t.Fatalf("drift = %+v; want 4 controls about +40%%", out.Drift)
	}
	verdicts := map[string]bench.Verdict{}
	for _, c := range out.Comparison {
		verdicts[c.Name] = c.Verdict
	}
	if verdicts["moved"] != bench.Inconclusive || verdicts["worse"] != bench.Regressed {
		t.Errorf("verdicts = %v; want moved inconclusive (within the drift), worse regressed", verdicts)
	}
}

// TestFewerBuffersDoNotHideTheDrift: a statement that reads fewer buffers
// but got slower by about what the machine moved every unchanged statement
// is not called improved: it may be slower over fewer pages, and the
// machine's noise hides whether it is. Faster within the drift with fewer
// buffers is improved, by buffers.
func TestFewerBuffersDoNotHideTheDrift(t *testing.T) {
	judge := func(machine, stmtAfter float64) bench.Comparison {
		var before, after []bench.StatementRun
		for i, name := range []string{"c1", "c2", "c3", "c4"} {
			before = append(before, stmt(name, uint64(i), 1, 10, "p"))
			after = append(after, stmt(name, uint64(i+10), machine, 10, "p"))
		}
		before = append(before, stmt("a", 20, 1, 100, "p1"))
		after = append(after, stmt("a", 22, stmtAfter, 60, "p2"))
		return bench.Compare(runOf(env(), before...), runOf(env(), after...), defaults, nil, nil).Comparison[4]
	}
	if c := judge(1.6, 1.5); c.Verdict != bench.Inconclusive || c.Latency != bench.Machine || !strings.Contains(c.Reason, "may be slower over fewer pages") {
		t.Errorf("slower over fewer buffers within the drift: %s (latency %s): %s", c.Verdict, c.Latency, c.Reason)
	}
	if c := judge(0.6, 0.62); c.Verdict != bench.Improved || c.DecidedBy != "buffers" || c.Latency != bench.Machine {
		t.Errorf("faster over fewer buffers within the drift: %s by %s (latency %s): %s", c.Verdict, c.DecidedBy, c.Latency, c.Reason)
	}
}

func TestTargetedAndExpectation(t *testing.T) {
	w := hishamos(t)
	added := []bench.IndexInfo{
		// Named as the profile names it.
		{Name: "agent_status_invocations_idx", Table: "agents_agent", Columns: []string{"status", "total_invocations"}, Valid: true,
			Definition: "CREATE INDEX agent_status_invocations_idx ON public.agents_agent USING btree (status, total_invocations)"},
		// Named otherwise, defined as the profile defines wf_step_exec_order_idx.
		{Name: "workflows_workflowstep_execution_id_step_order_idx", Table: "public.workflows_workflowstep", Columns: []string{"execution_id", "step_order"}, Valid: true,
			Definition: "CREATE INDEX workflows_workflowstep_execution_id_step_order_idx ON public.workflows_workflowstep USING btree (execution_id, step_order)"},
		// Same table, other columns: targets nothing.
		{Name: "x", Table: "agents_agentexecution", Columns: []string{"cost"}, Valid: true,
			Definition: "CREATE INDEX x ON public.agents_agentexecution USING btree (cost)"},
		// Same table and columns in another order: targets nothing.
		{Name: "y", Table: "workflows_workflowstep", Columns: []string{"step_order", "execution_id"}, Valid: true,
			Definition: "CREATE INDEX y ON public.workflows_workflowstep USING btree (step_order, execution_id)"},
	}
	got := bench.Targeted(w, added)
	want := map[string]bool{"agents_by_status": true, "dashboard_active_agents": true, "workflow_steps_of_execution": true}
	if len(got) != len(want) {
		t.Errorf("targeted = %v, want %v", got, want)
	}
	for k := range want {
		if len(got[k]) == 0 {
			t.Errorf("%s not targeted (got %v)", k, got)
		}
	}
	expect := &bench.ExpectRange{MinPct: 40, MaxPct: 60}
	for _, tc := range []struct {
		after float64
		want  string
	}{{0.7, "below"}, {0.5, "within"}, {0.2, "above"}} {
		out := bench.Compare(runOf(env(), stmt("a", 1, 1, 100, "p1")), runOf(env(), stmt("a", 2, tc.after, 100*tc.after, "p2")),
			defaults, map[string][]string{"a": {"a_idx"}}, expect)
		if c := out.Comparison[0]; c.Expectation != tc.want || !c.Targeted {
			t.Errorf("%.0f%% faster: %q, want %q", 100*(1-tc.after), c.Expectation, tc.want)
		}
	}
}

// TestServerTimeStatistics: two server times known only by their count,
// mean and deviation are compared with Welch's t-test, and the interval on
// their ratio (Fieller's) holds no change exactly when the test at 5%
// finds none; it is unbounded when the before mean is not itself clear of
// zero.
func TestServerTimeStatistics(t *testing.T) {
	cmp := func(bm, bsd, am, asd float64, n int) bench.Comparison {
		b := withServer(stmt("a", 1, 1, 10, "p1"), bm, bsd)
		a := withServer(stmt("a", 2, 1, 10, "p2"), am, asd)
		b.Server.Calls, a.Server.Calls = n, n
		return bench.Compare(runOf(env(), b), runOf(env(), a), defaults, nil, nil).Comparison[0]
	}
	c := cmp(1, 0.5, 0.6, 0.3, 200)
	if c.ServerChangePct == nil || *c.ServerChangePct > -39.9 || *c.ServerChangePct < -40.1 || *c.ServerPValue > 1e-6 {
		t.Fatalf("server change %v p %v; want -40%%, p < 1e-6", c.ServerChangePct, c.ServerPValue)
	}
	if lo, hi := c.ServerCILowPct, c.ServerCIHighPct; lo == nil || hi == nil || !(*lo < -40 && -40 < *hi && *hi < 0) {
		t.Errorf("interval [%v, %v] does not hold -40%% below 0", lo, hi)
	}
	// Around the 5% boundary the interval and the test agree.
	for _, am := range []float64{0.85, 0.88, 0.9, 0.92, 0.95} {
		c := cmp(1, 0.5, am, 0.5, 100)
		excludes := *c.ServerCIHighPct < 0 || *c.ServerCILowPct > 0
		if excludes != (*c.ServerPValue < 1-bench.Confidence) {
			t.Errorf("mean %.2f: p=%.4f but interval [%.2f, %.2f]", am, *c.ServerPValue, *c.ServerCILowPct, *c.ServerCIHighPct)
		}
	}
	if c := cmp(0.01, 1, 0.02, 1, 10); c.ServerCILowPct != nil || c.ServerCIHighPct != nil {
		t.Errorf("a before mean lost in its noise has a bounded interval [%v, %v]", *c.ServerCILowPct, *c.ServerCIHighPct)
	}
	if c := cmp(1, 0, 1, 0, 100); c.ServerPValue == nil || *c.ServerPValue != 1 || *c.ServerChangePct != 0 {
		t.Errorf("identical calls: p %v, change %v", c.ServerPValue, c.ServerChangePct)
	}
}

// TestTargetsFromPlans: a statement is targeted when its after plan uses
// an index that was not defined before, with or without a profile; an
// index built again under a new name with its old definition is not new;
// a profile's list of an index that was built but that the plan does not
// use is checked in words.
func TestTargetsFromPlans(t *testing.T) {
	ix := func(name, def string) bench.IndexInfo {
		return bench.IndexInfo{Name: name, Table: "t_a", Valid: true, Definition: "CREATE INDEX " + name + " ON public.t_a USING btree " + def}
	}
	before, after := env(), env()
	before.Indexes = []bench.IndexInfo{ix("old_idx", "(x)")}
	after.Indexes = []bench.IndexInfo{ix("renamed_idx", "(x)"), ix("new_idx", "(x, y)"), ix("spare_idx", "(z)")}
	b := []bench.StatementRun{stmt("uses_new", 1, 1, 10, "p1"), stmt("uses_renamed", 2, 1, 10, "p1"), stmt("listed", 3, 1, 10, "p1")}
	a := []bench.StatementRun{stmt("uses_new", 4, 1, 10, "p2"), stmt("uses_renamed", 5, 1, 10, "p2"), stmt("listed", 6, 1, 10, "p2")}
	a[0].IndexesUsed = []string{"new_idx"}
	a[1].IndexesUsed = []string{"renamed_idx"}
	a[2].IndexesUsed = []string{"renamed_idx"}
	added := bench.AddedIndexes(&before, &after)
	if len(added) != 2 || added[0].Name != "new_idx" || added[1].Name != "spare_idx" {
		t.Errorf("added = %+v; want new_idx and spare_idx (renamed_idx has old_idx's definition)", added)
	}
	out := bench.Compare(runOf(before, b...), runOf(after, a...), defaults, map[string][]string{"listed": {"spare_idx"}}, nil)
	got := map[string]bench.Comparison{}
	for _, c := range out.Comparison {
		got[c.Name] = c
	}
	if c := got["uses_new"]; !c.Targeted || len(c.TargetedBy) != 1 || c.TargetedBy[0] != "new_idx" || c.TargetCheck != "" {
		t.Errorf("uses_new: targeted %v by %v (%s)", c.Targeted, c.TargetedBy, c.TargetCheck)
	}
	if c := got["uses_renamed"]; c.Targeted {
		t.Errorf("uses_renamed is targeted by %v: an index built again under another name is not new", c.TargetedBy)
	}
	if c := got["listed"]; !c.Targeted || c.TargetCheck != "the profile expects spare_idx to serve this statement; the plan uses renamed_idx" {
		t.Errorf("listed: targeted %v, check %q", c.Targeted, c.TargetCheck)
	}
}

// TestPromisesPlaced: a statement's own promise places it whether or not
// it is targeted; the workload's places the targeted ones; the placement
// is in the comparison's metric.
func TestPromisesPlaced(t *testing.T) {
	own := withServer(stmt("own", 2, 0.9, 100, "p2"), 0.2, 0.02)
	own.Expect = &bench.ExpectRange{MinPct: 60, MaxPct: 75}
	b := []bench.StatementRun{withServer(stmt("own", 1, 1, 100, "p1"), 1, 0.1), stmt("targeted", 3, 1, 100, "p1"), stmt("neither", 5, 1, 100, "p1")}
	a := []bench.StatementRun{own, stmt("targeted", 4, 0.5, 100, "p2"), stmt("neither", 6, 0.5, 100, "p2")}
	workload := &bench.ExpectRange{MinPct: 40, MaxPct: 60}
	o := defaults
	o.Metric = bench.MetricServer
	out := bench.Compare(runOf(env(), b...), runOf(env(), a...), o, map[string][]string{"targeted": {"x"}}, workload)
	got := map[string]bench.Comparison{}
	for _, c := range out.Comparison {
		got[c.Name] = c
	}
	if c := got["own"]; c.Promise != own.Expect || c.Expectation != bench.Above || c.Metric != bench.MetricServer {
		t.Errorf("own: promise %+v, placed %q in %s; want its own 60-75%%, above (server time 80%% less)", c.Promise, c.Expectation, c.Metric)
	}
	if c := got["targeted"]; c.Promise != workload || c.Expectation != "" {
		t.Errorf("targeted without server time: promise %+v, placed %q; want the workload's, unplaced", c.Promise, c.Expectation)
	}
	if c := got["neither"]; c.Promise != nil || c.Expectation != "" {
		t.Errorf("neither: promise %+v, placed %q", c.Promise, c.Expectation)
	}
}

// TestWeightedChange: with weights (a .sql file's `-- weight:`), the
// comparison sums each statement's median by its weight, so a statement
// the application sends 250 times counts 250 times; without them there is
// no weighted figure.
func TestWeightedChange(t *testing.T) {
	heavy, light := stmt("heavy", 1, 2, 10, "p"), stmt("light", 2, 10, 10, "p")
	heavy.Weight, light.Weight = 250, 1
	heavyAfter, lightAfter := stmt("heavy", 3, 1, 5, "p2"), stmt("light", 4, 20, 20, "p2")
	heavyAfter.Weight, lightAfter.Weight = 250, 1
	out := bench.Compare(runOf(env(), heavy, light), runOf(env(), heavyAfter, lightAfter), defaults, nil, nil)
	w := out.Weighted
	if w == nil || w.Statements != 2 || w.BeforeMs != 250*2+10 || w.AfterMs != 250*1+20 || w.ChangePct > -47 || w.ChangePct < -47.1 {
		t.Fatalf("weighted = %+v; want 2 statements, 510 -> 270 ms (-47%%)", w)
	}
	out = bench.Compare(runOf(env(), stmt("a", 1, 1, 1, "p")), runOf(env(), stmt("a", 2, 1, 1, "p")), defaults, nil, nil)
	if out.Weighted != nil {
		t.Errorf("weighted without weights = %+v, want nil", out.Weighted)
	}
}
