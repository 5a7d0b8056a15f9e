package migrate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ariga.io/atlas/sql/migrate"
	"github.com/google/go-cmp/cmp"

	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// TestPlannedStatements: the statements plan writes for an index, read
// back by internal/sqlscan, are the index it was given; a definition plan
// could not write safely is refused with ErrBadSpec.
func TestPlannedStatements(t *testing.T) {
	for _, tc := range []struct {
		spec     spec
		up, down string
	}{
		{spec{Table: "agents_agentexecution", Columns: []string{"user_id", "status", "created_at DESC"}},
			`CREATE INDEX CONCURRENTLY IF NOT EXISTS "agents_agentexecution_user_id_status_created_at_idx" ON "agents_agentexecution" ("user_id", "status", "created_at" DESC)`,
			`DROP INDEX CONCURRENTLY IF EXISTS "agents_agentexecution_user_id_status_created_at_idx"`},
		{spec{Name: "x_idx", Schema: "app", Table: "t", Columns: []string{"lower(email)", `"Order" DESC NULLS LAST`}, Include: []string{"id"}, Where: "status = 'open'"},
			`CREATE INDEX CONCURRENTLY IF NOT EXISTS "x_idx" ON "app"."t" ((lower(email)), "Order" DESC NULLS LAST) INCLUDE ("id") WHERE status = 'open'`,
			`DROP INDEX CONCURRENTLY IF EXISTS "app"."x_idx"`},
		{spec{Table: "t; DROP TABLE x", Columns: []string{"a"}},
			`CREATE INDEX CONCURRENTLY IF NOT EXISTS "t_drop_table_x_a_idx" ON "t; DROP TABLE x" ("a")`,
			`DROP INDEX CONCURRENTLY IF EXISTS "t_drop_table_x_a_idx"`},
	} {
		def, err := canonical(tc.spec.def())
		if err != nil {
			t.Fatal(err)
		}
		up, down := def.CreateSQL(true, true), def.DropSQL(true, true)
		if up != tc.up || down != tc.down {
			t.Errorf("%+v\n got %s\n     %s\nwant %s\n     %s", tc.spec, up, down, tc.up, tc.down)
		}
		back, err := sqlscan.ParseOne(up)
		if err != nil || back.Index == nil {
			t.Fatalf("the planned statement does not parse back: %v", err)
		}
		if diff := cmp.Diff(&def, back.Index); diff != "" {
			t.Errorf("planned statement parses back differently (-planned +parsed):\n%s", diff)
		}
	}
	for _, bad := range []spec{
		{Table: "t"},
		{Columns: []string{"a"}},
		{Table: "t", Columns: []string{"a"}, Where: "true); DROP TABLE t; --"},
		{Table: "t", Columns: []string{"(a"}},
		{Table: "t", Columns: []string{"a"}, Method: "btree; x"},
		{Table: "t", Name: strings.Repeat("x", 64), Columns: []string{"a"}},
	} {
		if err := CheckIndex(bad.def()); !errors.Is(err, ErrBadSpec) {
			t.Errorf("CheckIndex(%+v) = %v, want ErrBadSpec", bad, err)
		}
	}
}

// seedSpecs is the seed report's eleven indexes, as profiles/hishamos.yaml
// names them.
var seedSpecs = []spec{
	{Name: "cmd_tpl_active_usage_idx", Schema: "public", Table: "commands_commandtemplate", Columns: []string{"is_active", "usage_count"}},
	{Name: "cmd_tpl_cat_active_rate_idx", Schema: "public", Table: "commands_commandtemplate", Columns: []string{"category_id", "is_active", "success_rate"}},
	{Name: "cmd_tpl_rec_agent_idx", Schema: "public", Table: "commands_commandtemplate", Columns: []string{"recommended_agent_id"}},
	{Name: "wf_user_status_created_idx", Schema: "public", Table: "workflows_workflow", Columns: []string{"user_id", "status", "created_at"}},
	{Name: "wf_exec_wf_status_started_idx", Schema: "public", Table: "workflows_workflowexecution", Columns: []string{"workflow_id", "status", "started_at"}},
	{Name: "wf_step_exec_status_idx", Schema: "public", Table: "workflows_workflowstep", Columns: []string{"execution_id", "status"}},
	{Name: "wf_step_exec_order_idx", Schema: "public", Table: "workflows_workflowstep", Columns: []string{"execution_id", "step_order"}},
	{Name: "agent_status_invocations_idx", Schema: "public", Table: "agents_agent", Columns: []string{"status", "total_invocations"}},
	{Name: "agent_platform_status_idx", Schema: "public", Table: "agents_agent", Columns: []string{"preferred_platform", "status"}},
	{Name: "agent_exec_user_status_cr_idx", Schema: "public", Table: "agents_agentexecution", Columns: []string{"user_id", "status", "created_at"}},
	{Name: "agent_exec_platform_cr_idx", Schema: "public", Table: "agents_agentexecution", Columns: []string{"platform_used", "created_at"}},
}

var planTime = time.Date(2025, 3, 25, 10, 11, 3, 0, time.UTC)

func TestPlanWritesAtlasDirectory(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "migrations")
	res, err := Plan(ctx, path, defs(seedSpecs[:2]...), PlanOptions{Now: planTime})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 2 || res.Files[0].Version != "20250325101103" || res.Files[1].Version != "20250325101104" {
		t.Fatalf("Plan wrote %+v", res.Files)
	}
	up, _ := os.ReadFile(filepath.Join(path, res.Files[0].File))
	want := "-- atlas:txmode none\n\n-- Index cmd_tpl_active_usage_idx on commands_commandtemplate, built without blocking writes.\n" +
		`CREATE INDEX CONCURRENTLY IF NOT EXISTS "cmd_tpl_active_usage_idx" ON "public"."commands_commandtemplate" ("is_active", "usage_count");` + "\n"
	if diff := cmp.Diff(want, string(up)); diff != "" {
		t.Errorf("up file (-want +got):\n%s", diff)
	}
	down, _ := os.ReadFile(filepath.Join(path, DownDir, res.Files[0].File))
	if !strings.Contains(string(down), `DROP INDEX CONCURRENTLY IF EXISTS "public"."cmd_tpl_active_usage_idx";`) || !strings.HasPrefix(string(down), "-- atlas:txmode none\n\n") {
		t.Errorf("down file:\n%s", down)
	}
	// Atlas reads it: its own Validate, txmode directive, only the up files.
	ld, err := migrate.NewLocalDir(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate.Validate(ld); err != nil {
		t.Errorf("atlas Validate: %v", err)
	}
	files, _ := ld.Files()
	if len(files) != 2 {
		t.Errorf("atlas sees %d files, want the 2 up files", len(files))
	}
	if ds := files[0].(*migrate.LocalFile).Directive("txmode"); len(ds) != 1 || ds[0] != "none" {
		t.Errorf("atlas reads txmode %v, want [none]", ds)
	}
	dd, _ := migrate.NewLocalDir(filepath.Join(path, DownDir))
	if err := migrate.Validate(dd); err != nil {
		t.Errorf("atlas Validate of down/: %v", err)
	}

	// Planning again adds only what is new; versions keep going up even
	// when the clock is behind the last one.
	res2, err := Plan(ctx, path, defs(seedSpecs[:3]...), PlanOptions{Now: planTime.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res2.Files) != 1 || res2.Files[0].Version != "20250325101105" || len(res2.Skipped) != 2 {
		t.Errorf("second plan: files %+v skipped %+v", res2.Files, res2.Skipped)
	}
	d, err := OpenDir(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Errorf("Validate after two plans: %v", err)
	}
}

func TestValidateNamesTamperedFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m")
	res, err := Plan(ctx, path, defs(seedSpecs[:2]...), PlanOptions{Now: planTime})
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(path, res.Files[1].File)
	b, _ := os.ReadFile(f)
	os.WriteFile(f, []byte(strings.Replace(string(b), `"success_rate"`, `"success_rate", "name"`, 1)), 0o644)
	d, err := OpenDir(path)
	if err != nil {
		t.Fatal(err)
	}
	err = d.Validate()
	var se *SumError
	if !errors.As(err, &se) || se.File != res.Files[1].File || se.Reason != "edited" || !errors.Is(err, migrate.ErrChecksumMismatch) {
		t.Fatalf("Validate = %v, want a SumError naming %s as edited", err, res.Files[1].File)
	}
	if _, err := Plan(ctx, path, defs(seedSpecs[2:3]...), PlanOptions{Now: planTime}); !errors.As(err, &se) {
		t.Errorf("Plan on a tampered directory = %v, want the SumError", err)
	}
	// A tampered down file is caught too.
	os.WriteFile(f, b, 0o644)
	df := filepath.Join(path, DownDir, res.Files[0].File)
	os.WriteFile(df, []byte("-- atlas:txmode none\n\nDROP TABLE commands_commandtemplate;\n"), 0o644)
	if err := d.Validate(); !errors.As(err, &se) || se.Dir != filepath.Join(path, DownDir) {
		t.Errorf("Validate with a tampered down file = %v", err)
	}
	if _, err := d.Hash(); err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Errorf("Validate after Hash: %v", err)
	}
	os.Remove(filepath.Join(path, migrate.HashFileName))
	if err := d.Validate(); !errors.Is(err, ErrNoSum) {
		t.Errorf("Validate without atlas.sum = %v, want ErrNoSum", err)
	}
}

func TestOpenDirRefusesOtherFolders(t *testing.T) {
	root := t.TempDir()
	src := filepath.Join(root, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "main.go"), []byte("package main\n"), 0o644)
	os.WriteFile(filepath.Join(src, "README.md"), []byte("# hi\n"), 0o644)
	badNames := filepath.Join(root, "bad")
	os.MkdirAll(badNames, 0o755)
	os.WriteFile(filepath.Join(badNames, "schema.sql"), []byte("SELECT 1;\n"), 0o644)
	file := filepath.Join(root, "file.sql")
	os.WriteFile(file, []byte("SELECT 1;\n"), 0o644)
	for _, p := range []string{src, badNames, file, filepath.Join(root, "missing")} {
		if _, err := OpenDir(p); !errors.Is(err, ErrNotMigrationDir) {
			t.Errorf("OpenDir(%s) = %v, want ErrNotMigrationDir", p, err)
		}
	}
	if _, err := Plan(context.Background(), src, defs(seedSpecs[:1]...), PlanOptions{}); !errors.Is(err, ErrNotMigrationDir) {
		t.Errorf("Plan into a source folder = %v, want ErrNotMigrationDir", err)
	}
	empty := filepath.Join(root, "empty")
	os.MkdirAll(empty, 0o755)
	if _, err := OpenDir(empty); err != nil {
		t.Errorf("OpenDir(empty folder) = %v", err)
	}
}

func TestEmitDjango(t *testing.T) {
	apps := t.TempDir()
	for _, app := range []string{"commands", "agents"} {
		os.MkdirAll(filepath.Join(apps, app, "migrations"), 0o755)
		os.WriteFile(filepath.Join(apps, app, "migrations", "__init__.py"), nil, 0o644)
		os.WriteFile(filepath.Join(apps, app, "migrations", "0001_initial.py"), nil, 0o644)
	}
	os.WriteFile(filepath.Join(apps, "commands", "migrations", "0002_auto_20250101_1200.py"), nil, 0o644)
	specs := []spec{
		seedSpecs[0],
		{Table: "agents_agentexecution", Columns: []string{"user_id", "created_at DESC"}, Comment: "a user's recent executions"},
		{Table: "agents_agent", Columns: []string{"lower(name)"}},
		{Table: "agents_agent", Columns: []string{"lower(name) text_pattern_ops"}, Name: "agent_name_pattern_idx"},
	}
	res, err := EmitDjango(defs(specs...), DjangoOptions{AppsDir: apps, Now: planTime})
	if err != nil {
		t.Fatal(err)
	}
	files := res.Files
	if len(files) != 2 || files[0].App != "agents" || files[0].Dependency != "0001_initial" || files[1].Dependency != "0002_auto_20250101_1200" ||
		files[0].DependencySource != DependencyFolder {
		t.Fatalf("EmitDjango = %+v", files)
	}
	if !strings.HasSuffix(files[1].Path, filepath.Join("commands", "migrations", "0003_add_performance_indexes.py")) {
		t.Errorf("commands migration at %s", files[1].Path)
	}
	b, _ := os.ReadFile(files[0].Path)
	got := string(b)
	for _, want := range []string{
		"from django.contrib.postgres.operations import AddIndexConcurrently",
		"from django.db.models.functions import Lower",
		"    atomic = False",
		`("agents", "0001_initial"),`,
		`model_name="agentexecution",`,
		// Django's own name for an unnamed index of these columns.
		`index=models.Index(fields=["user_id", "-created_at"], name="agents_agen_user_id_f7e09d_idx")`,
		"# a user's recent executions",
		`index=models.Index(Lower("name"), name="agents_agent_lower_name_idx")`,
		`migrations.RunSQL(`,
		// An operator class on an expression: Django 3.2 cannot say it.
		`sql="CREATE INDEX CONCURRENTLY IF NOT EXISTS \"agent_name_pattern_idx\" ON \"agents_agent\" ((lower(name)) text_pattern_ops)"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("agents migration lacks %q:\n%s", want, got)
		}
	}
	for _, ix := range res.Indexes {
		if len(ix.Name) > DjangoMaxIndexName {
			t.Errorf("Django index name %q is longer than %d", ix.Name, DjangoMaxIndexName)
		}
		if ix.Source != SourcePrefix {
			t.Errorf("%s: source %q, want %q (nothing else was given)", ix.Table, ix.Source, SourcePrefix)
		}
	}
	if _, err := EmitDjango(defs(spec{Table: "workflows_workflow", Columns: []string{"a"}}), DjangoOptions{AppsDir: apps}); !errors.Is(err, ErrNoDjangoApp) {
		t.Errorf("EmitDjango for an app with no migrations folder = %v", err)
	}
}

func TestNextVersions(t *testing.T) {
	now := planTime
	for _, tc := range []struct {
		existing []string
		want     []string
	}{
		{nil, []string{"20250325101103", "20250325101104"}},
		{[]string{"20260101000000"}, []string{"20260101000001", "20260101000002"}},
		{[]string{"1", "2"}, []string{"3", "4"}},
	} {
		if diff := cmp.Diff(tc.want, nextVersions(tc.existing, 2, now)); diff != "" {
			t.Errorf("nextVersions(%v) (-want +got):\n%s", tc.existing, diff)
		}
	}
}

func TestBackoffIsCappedAndJittered(t *testing.T) {
	for n := 1; n < 20; n++ {
		d := backoff(n, 100*time.Millisecond, time.Second)
		if d > time.Second || d < 50*time.Millisecond {
			t.Errorf("backoff(%d) = %s, want within [50ms, 1s]", n, d)
		}
	}
	seen := map[time.Duration]bool{}
	for i := 0; i < 20; i++ {
		seen[backoff(3, 100*time.Millisecond, time.Second)] = true
	}
	if len(seen) < 2 {
		t.Errorf("backoff(3) gave the same wait 20 times: no jitter")
	}
}
