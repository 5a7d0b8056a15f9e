package bench_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/bench"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// sqlMigrator stands in for the migrate package: each migration is one
// statement, and the down of each another.
type sqlMigrator struct {
	dsn        string
	files      []string
	up, down   []string
	pendingErr error
	applied    int
	reverted   int
}

func (m *sqlMigrator) Dir() string { return "testdata/migrations" }

func (m *sqlMigrator) Pending(context.Context) ([]string, error) {
	return m.files[m.applied:], m.pendingErr
}

func (m *sqlMigrator) Apply(ctx context.Context) (files, indexes []string, err error) {
	conn, err := pgx.Connect(ctx, m.dsn)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close(ctx)
	for i, sql := range m.up {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return files, indexes, fmt.Errorf("%s: %w", m.files[i], err)
		}
		m.applied++
		files = append(files, m.files[i])
	}
	return files, indexes, nil
}

func (m *sqlMigrator) Revert(ctx context.Context, n int) error {
	conn, err := pgx.Connect(ctx, m.dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for i := m.applied - 1; i >= m.applied-n; i-- {
		if _, err := conn.Exec(ctx, m.down[i]); err != nil {
			return err
		}
		m.reverted++
	}
	return nil
}

// counting counts the connections a connector opens.
func counting(c bench.Connector, n *atomic.Int32) bench.Connector {
	return func(ctx context.Context) (bench.Conn, error) {
		n.Add(1)
		return c(ctx)
	}
}

func indexExists(t *testing.T, dsn, name string) bool {
	t.Helper()
	var ok bool
	if err := testdb.Conn(t, dsn).QueryRow(t.Context(), "SELECT to_regclass($1) IS NOT NULL", name).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

// TestApplyMeasuresBeforeAndAfter applies one of the seed's indexes the way
// --apply does: the statements it targets are found, improve on buffers,
// are held to --expect, and --revert leaves the database as it was.
func TestApplyMeasuresBeforeAndAfter(t *testing.T) {
	dsn := ownDB(t)
	m := &sqlMigrator{
		dsn:   dsn,
		files: []string{"20250101000000_agent_exec_user_status_cr_idx.sql"},
		up:    []string{"CREATE INDEX agent_exec_user_status_cr_idx ON agents_agentexecution (user_id, status, created_at)"},
		down:  []string{"DROP INDEX agent_exec_user_status_cr_idx"},
	}
	expect, maxReg := 99.0, 10.0
	rep, err := bench.Bench(t.Context(), connector(dsn), bench.Config{
		Workload: hishamos(t), Options: quick(), Migrator: m, Revert: true,
		Compare: bench.CompareOptions{Alpha: bench.DefaultAlpha, NoisePct: bench.DefaultNoisePct},
		Gate:    bench.GateOptions{ExpectPct: &expect, MaxRegressionPct: &maxReg},
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Baseline == nil || rep.Migrations == nil || !slices.Equal(rep.Migrations.Applied, m.files) || !rep.Migrations.Reverted {
		t.Fatalf("baseline %v, migrations %+v", rep.Baseline != nil, rep.Migrations)
	}
	if indexExists(t, dsn, "agent_exec_user_status_cr_idx") {
		t.Error("--revert left the index in place")
	}
	if added := bench.AddedIndexes(&rep.Baseline.Environment, &rep.Environment); len(added) != 1 || added[0].Name != "agent_exec_user_status_cr_idx" {
		t.Errorf("added indexes = %+v", added)
	}
	var targeted []string
	for _, c := range rep.Comparison {
		if c.Targeted {
			targeted = append(targeted, c.Name)
		}
	}
	if want := []string{"agent_executions_of_user", "dashboard_agent_execution_stats"}; !slices.Equal(targeted, want) {
		t.Errorf("targeted = %v, want %v", targeted, want)
	}
	c := comparison(t, rep, "agent_executions_of_user")
	if !c.PlanChanged || c.BuffersChangePct == nil || *c.BuffersChangePct >= -bench.DefaultNoisePct || c.Buffers != bench.Down || c.Verdict != bench.Improved || !strings.Contains(c.DecidedBy, "buffers") {
		t.Errorf("agent_executions_of_user: plan changed %v, buffers %v, verdict %s by %s (%s); want fewer buffers, improved by buffers",
			c.PlanChanged, c.BuffersChangePct, c.Verdict, c.DecidedBy, c.Reason)
	}
	if c.Expectation == "" || c.Promise == nil || c.Promise.MinPct != 40 {
		t.Error("no place against the profile's 40-60% for a targeted statement")
	}
	if !slices.Equal(c.TargetedBy, []string{"agent_exec_user_status_cr_idx"}) || c.TargetCheck != "" {
		t.Errorf("agent_executions_of_user targeted by %v (%s); want its plan's new agent_exec_user_status_cr_idx", c.TargetedBy, c.TargetCheck)
	}
	if rep.Gate == nil || rep.Gate.Passed || rep.Gate.ExpectChecked != 2 {
		t.Fatalf("gate = %+v; want a failed --expect 99%% over the 2 targeted statements", rep.Gate)
	}
	for _, f := range rep.Gate.Failures {
		if f.Gate == bench.GateExpect && f.Statement == "agent_executions_of_user" && strings.Contains(f.Message, "median") && strings.Contains(f.Message, "expected at least 99% faster") {
			return
		}
	}
	t.Errorf("no --expect failure saying by how much agent_executions_of_user fell short: %+v", rep.Gate.Failures)
}

// TestCPURegressionIsReal checks the construction `make bench-aa` counts
// detections of (testdata/workloads/cpu-regression), and that a .sql
// workload's statements are targeted by their plans: with its covering
// index applied, idle_users_of_long_executions changes plan to a hash
// anti-join over the new index and reads fewer buffers (while it takes
// longer, which bench-aa measures: no timing is asserted here); its plan
// uses the new index, so it is targeted without a profile and --expect
// holds it, and the controls are neither targeted nor changed.
func TestCPURegressionIsReal(t *testing.T) {
	dsn := ownDB(t)
	text, err := os.ReadFile("../testdata/workloads/cpu-regression/workload.sql")
	if err != nil {
		t.Fatal(err)
	}
	w, err := bench.FromSQL("workload.sql", text)
	if err != nil {
		t.Fatal(err)
	}
	m := &sqlMigrator{
		dsn:   dsn,
		files: []string{"20250101000000_agent_exec_status_user_cover_idx.sql"},
		up:    []string{"CREATE INDEX agent_exec_status_user_cover_idx ON public.agents_agentexecution (status) INCLUDE (user_id)"},
		down:  []string{"DROP INDEX agent_exec_status_user_cover_idx"},
	}
	expect := 1.0
	rep, err := bench.Bench(t.Context(), connector(dsn), bench.Config{
		Workload: w, Options: quick(), Migrator: m, Revert: true,
		Compare: bench.CompareOptions{Alpha: bench.DefaultAlpha, NoisePct: bench.DefaultNoisePct},
		Gate:    bench.GateOptions{ExpectPct: &expect},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := comparison(t, rep, "idle_users_of_long_executions")
	after := rep.Statement(c.Name)
	if !c.PlanChanged || c.Buffers != bench.Down || !slices.ContainsFunc(after.Plans, func(p string) bool { return strings.Contains(p, "Hash Join[") && strings.Contains(p, "Anti]") }) {
		t.Errorf("plan changed %v to %v, buffers %v → %v (%s); want a hash anti-join over fewer buffers", c.PlanChanged, after.Plans, *c.BeforeBuffers, *c.AfterBuffers, c.Buffers)
	}
	if !c.Targeted || !slices.Equal(c.TargetedBy, []string{"agent_exec_status_user_cover_idx"}) {
		t.Errorf("targeted %v by %v; want its plan's new index", c.Targeted, c.TargetedBy)
	}
	if rep.Gate.ExpectChecked != 1 {
		t.Errorf("--expect held %d statements; want the targeted one (failures: %+v)", rep.Gate.ExpectChecked, rep.Gate.Failures)
	}
	for _, o := range rep.Comparison {
		if o.Name != c.Name && (o.Targeted || o.PlanChanged || o.Buffers != bench.Steady) {
			t.Errorf("control %s: targeted %v, plan changed %v, buffers %s", o.Name, o.Targeted, o.PlanChanged, o.Buffers)
		}
	}
}

// TestApplyFailureStopsBeforeTheAfterRun: a migration that fails leaves the
// after-run unstarted, and the report says what was applied (and, with
// --revert, reverted).
func TestApplyFailureStopsBeforeTheAfterRun(t *testing.T) {
	dsn := ownDB(t)
	m := &sqlMigrator{
		dsn:   dsn,
		files: []string{"1_good.sql", "2_bad.sql", "3_never.sql"},
		up: []string{
			"CREATE INDEX wf_user_status_created_idx ON workflows_workflow (user_id, status, created_at)",
			"CREATE INDEX bad_idx ON no_such_table (x)",
			"CREATE INDEX never_idx ON agents_agent (name)",
		},
		down: []string{"DROP INDEX wf_user_status_created_idx", "", ""},
	}
	var opened atomic.Int32
	rep, err := bench.Bench(t.Context(), counting(connector(dsn), &opened), bench.Config{
		Workload: hishamos(t), Options: quick(), Migrator: m, Revert: true,
		Compare: bench.CompareOptions{Alpha: bench.DefaultAlpha, NoisePct: bench.DefaultNoisePct},
	})
	var ae *bench.ApplyError
	if !errors.As(err, &ae) || rep == nil {
		t.Fatalf("err = %v; want an *ApplyError with the report", err)
	}
	if got := opened.Load(); got != 1 {
		t.Errorf("%d connections opened; want 1, the before run's: the after run must not start", got)
	}
	if rep.Baseline != nil || rep.Comparison != nil || rep.Gate != nil {
		t.Error("a report with a failed apply holds a comparison")
	}
	if !slices.Equal(rep.Migrations.Applied, []string{"1_good.sql"}) || !rep.Migrations.Reverted || !strings.Contains(rep.Migrations.Error, "no_such_table") {
		t.Errorf("migrations = %+v; want 1_good.sql applied then reverted, and the error", rep.Migrations)
	}
	for _, want := range []string{"1 applied before it (1_good.sql)", "then reverted", "did not start"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if indexExists(t, dsn, "wf_user_status_created_idx") || indexExists(t, dsn, "never_idx") {
		t.Error("indexes left behind")
	}
}

func TestApplyCheckedBeforeAnythingRuns(t *testing.T) {
	dsn := sharedDB(t)
	m := &sqlMigrator{dsn: dsn, pendingErr: errors.New("atlas.sum does not match")}
	var opened atomic.Int32
	_, err := bench.Bench(t.Context(), counting(connector(dsn), &opened), bench.Config{
		Workload: hishamos(t), Options: quick(), Migrator: m,
		Compare: bench.CompareOptions{Alpha: bench.DefaultAlpha, NoisePct: bench.DefaultNoisePct},
	})
	var ae *bench.ApplyError
	if !errors.As(err, &ae) || opened.Load() != 0 {
		t.Fatalf("err = %v, %d connections; want an *ApplyError and nothing measured", err, opened.Load())
	}
}

// TestDroppedIndexIsCaught is one round of `make bench-aa`'s detection
// half: dropping an index a statement uses makes it regressed on buffers
// and fails --max-regression, while a run against an unchanged database
// keeps the gate.
func TestDroppedIndexIsCaught(t *testing.T) {
	dsn := ownDB(t)
	w := hishamos(t)
	maxReg := 10.0
	cfg := bench.Config{
		Workload: w, Options: quick(),
		Compare: bench.CompareOptions{Alpha: bench.DefaultAlpha, NoisePct: bench.DefaultNoisePct},
		Gate:    bench.GateOptions{MaxRegressionPct: &maxReg},
	}
	base, err := bench.Measure(t.Context(), connector(dsn), w, quick())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Baseline = base
	same, err := bench.Bench(t.Context(), connector(dsn), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range same.Comparison {
		if c.Verdict == bench.Regressed || c.Verdict == bench.Improved {
			t.Errorf("unchanged database: %s %s (%s)", c.Name, c.Verdict, c.Reason)
		}
	}
	if !same.Gate.Passed {
		t.Errorf("unchanged database failed the gate: %+v", same.Gate.Failures)
	}

	exec(t, dsn, "DROP INDEX agents_agentexecution_user_id_6a2d4e8f")
	dropped, err := bench.Bench(t.Context(), connector(dsn), cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := comparison(t, dropped, "agent_executions_of_user")
	if c.Verdict != bench.Regressed || c.Buffers != bench.Up || !strings.Contains(c.DecidedBy, "buffers") || !c.PlanChanged {
		t.Errorf("after dropping its index: %s by %s, plan changed %v (%s)", c.Verdict, c.DecidedBy, c.PlanChanged, c.Reason)
	}
	if dropped.Gate.Passed {
		t.Error("--max-regression 10% passed with an index dropped")
	}
	diff := false
	for _, d := range dropped.EnvironmentDiff {
		diff = diff || d.Kind == "index" && d.Name == "agents_agentexecution_user_id_6a2d4e8f" && d.After == "dropped" && !d.Matters
	}
	if !diff {
		t.Errorf("environment diff does not show the dropped index: %+v", dropped.EnvironmentDiff)
	}
}

func comparison(t *testing.T, rep *bench.Report, name string) *bench.Comparison {
	t.Helper()
	for i := range rep.Comparison {
		if rep.Comparison[i].Name == name {
			return &rep.Comparison[i]
		}
	}
	t.Fatalf("no comparison for %s", name)
	return nil
}
