package migrate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	hishamosperf "github.com/hishamos/hishamos-perf"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// addFile puts a hand-written file in the directory and rehashes it.
func addFile(t *testing.T, d *Dir, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(d.Path, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Hash(); err != nil {
		t.Fatal(err)
	}
}

func findingsByRule(rep *LintReport) map[string][]Finding {
	m := map[string][]Finding{}
	for _, f := range rep.Findings {
		m[f.Rule] = append(m[f.Rule], f)
	}
	return m
}

func TestLintStaticRules(t *testing.T) {
	d := planDir(t, seedSpecs[0])
	addFile(t, d, "20250401000000_bad.sql", `CREATE INDEX t_a_idx ON public.t (a);
DROP INDEX public.t_b_idx;
ALTER TABLE public.t ADD CONSTRAINT t_c_key UNIQUE (c);
ALTER TABLE public.t ADD CONSTRAINT t_d_key UNIQUE USING INDEX t_d_idx;
CREATE TABLE public.n (a int);
CREATE INDEX n_a_idx ON public.n (a);
`)
	addFile(t, d, "20250401000001_tx.sql", `BEGIN;
CREATE INDEX CONCURRENTLY IF NOT EXISTS t_e_idx ON public.t (e);
COMMIT;
`)
	addFile(t, d, "20250401000002_none.sql", "-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY t_f_idx ON public.t (f);\nDROP INDEX CONCURRENTLY IF EXISTS public.t_g_idx;\n")
	rep, err := Lint(context.Background(), nil, d, LintOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	lines := map[string][]int{}
	for _, f := range rep.Findings {
		got[f.Rule]++
		lines[f.Rule] = append(lines[f.Rule], f.Line)
	}
	// HP111: the two ALTER TABLEs, CREATE TABLE, BEGIN and COMMIT: apply
	// runs none of them.
	want := map[string]int{"HP101": 1, "HP102": 1, "HP103": 1, "HP104": 1, "HP109": 2, "HP110": 3, "HP111": 5}
	for rule, n := range want {
		if got[rule] != n {
			t.Errorf("%s: %d findings, want %d (all: %+v)", rule, got[rule], n, rep.Findings)
		}
	}
	if len(got) != len(want) {
		t.Errorf("rules found %v, want %v", got, want)
	}
	if lines["HP101"][0] != 1 || lines["HP103"][0] != 2 || lines["HP104"][0] != 3 || lines["HP102"][0] != 2 {
		t.Errorf("lines: %v", lines)
	}
	if lines["HP111"][0] != 3 || lines["HP111"][2] != 5 {
		t.Errorf("HP111 lines: %v, want 3, 4, 5, then the tx file's", lines["HP111"])
	}
	if rep.Errors != 9 || rep.Warnings != 5 {
		t.Errorf("errors %d warnings %d", rep.Errors, rep.Warnings)
	}
	// A tampered file is a finding too.
	os.WriteFile(filepath.Join(d.Path, "20250401000002_none.sql"), []byte("SELECT 1;\n"), 0o644)
	rep, err = Lint(context.Background(), nil, d, LintOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f := findingsByRule(rep)["HP100"]; len(f) != 1 || !strings.HasSuffix(f[0].File, "20250401000002_none.sql") {
		t.Errorf("HP100 findings %+v", f)
	}
}

func TestLintAgainstDatabase(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	conn := applier(t, dsn)
	mustExec(t, conn, hishamosperf.HishamOSSchema)
	mustExec(t, conn, `CREATE INDEX agents_agent_status_name_idx ON agents_agent (status, name)`)
	specs := append([]spec{}, seedSpecs...)
	specs = append(specs,
		spec{Table: "agents_agent", Columns: []string{"status"}},
		spec{Table: "no_such_table", Columns: []string{"a"}},
		spec{Name: "again_idx", Table: "agents_agent", Columns: []string{"preferred_platform", "status"}})
	d := planDir(t, specs...)
	// Applied files are not linted again.
	if _, err := Apply(ctx, conn, d, ApplyOptions{N: 1}); err != nil {
		t.Fatal(err)
	}
	rep, err := Lint(ctx, conn, d, LintOptions{BuildRate: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Files) != len(specs)-1 {
		t.Errorf("linted %d files, want the %d pending", len(rep.Files), len(specs)-1)
	}
	by := findingsByRule(rep)
	var dups []string
	for _, f := range by["HP106"] {
		dups = append(dups, f.Message)
	}
	sort.Strings(dups)
	if len(dups) != 2 || !strings.Contains(strings.Join(dups, "\n"), "cmd_tpl_rec_agent_idx duplicates the existing index commands_commandtemplate_recommended_agent_id_4c9b7d12") {
		t.Errorf("duplicates:\n%s", strings.Join(dups, "\n"))
	}
	if f := by["HP107"]; len(f) != 1 || !strings.Contains(f[0].Message, "agents_agent_status_idx is covered by the existing index agents_agent_status_name_idx") {
		t.Errorf("covered: %+v", f)
	}
	if f := by["HP108"]; len(f) != 1 || !strings.Contains(f[0].Message, "no_such_table") {
		t.Errorf("missing table: %+v", f)
	}
	// At one byte a second, any table with a page of data is too long to
	// build; at the rate measured on the server, none of these is.
	if len(by["HP105"]) == 0 {
		t.Errorf("no build-too-long finding at 1 byte/s: %+v", rep.Findings)
	}
	mustExec(t, conn, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`)
	mustExec(t, conn, `SELECT pg_stat_statements_reset()`)
	measured, err := Lint(ctx, conn, d, LintOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if measured.BuildRate <= 0 || len(findingsByRule(measured)["HP105"]) != 0 {
		t.Errorf("measured rate %.0f B/s, build-too-long %+v", measured.BuildRate, findingsByRule(measured)["HP105"])
	}
	// Measuring the rate builds a table and an index on the server: as
	// the tool's own, tagged, so that analyze does not rank them among
	// the application's statements.
	var tagged, untagged int
	if err := conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE query LIKE '%/* hishamos-perf */%'),
  count(*) FILTER (WHERE query NOT LIKE '%/* hishamos-perf */%')
FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND query LIKE '%hishamos_perf_%'`).Scan(&tagged, &untagged); err != nil {
		t.Fatal(err)
	}
	if tagged == 0 || untagged != 0 {
		t.Errorf("lint's statements in pg_stat_statements: %d tagged, %d untagged; want some, all tagged", tagged, untagged)
	}
}

func TestAtlasEngine(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if _, err := NewAtlasEngine(""); !errors.Is(err, ErrNoAtlas) {
		t.Fatalf("NewAtlasEngine without a binary = %v, want ErrNoAtlas", err)
	}
	// A stand-in atlas binary that records its arguments and answers as
	// `atlas migrate apply --format '{{ json . }}'` does.
	bin := t.TempDir()
	args := filepath.Join(bin, "args")
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + args + "\n" +
		`echo '{"Pending":[{"Name":"20250325101103_x.sql","Version":"20250325101103"}],"Current":"","Target":"20250325101103"}'` + "\n"
	if err := os.WriteFile(filepath.Join(bin, "atlas"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	e, err := NewAtlasEngine("")
	if err != nil {
		t.Fatal(err)
	}
	d := planDir(t, seedSpecs[0])
	res, err := e.Apply(context.Background(), "host=/tmp/sock port=5433 user=me password=pw dbname=app", d, ApplyOptions{N: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Target != "20250325101103" || len(res.Pending) != 1 {
		t.Errorf("result %+v", res)
	}
	b, _ := os.ReadFile(args)
	got := strings.Fields(string(b))
	abs, _ := filepath.Abs(d.Path)
	want := []string{"migrate", "apply", "--format", "{{", "json", ".", "}}", "--url", "postgres://me@localhost:5433/app?host=%2Ftmp%2Fsock&sslmode=disable",
		"--dir", "file://" + abs, "--allow-dirty", "2"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("atlas ran with\n %v\nwant\n %v", got, want)
	}
}

func TestAtlasURL(t *testing.T) {
	for dsn, want := range map[string]string{
		"postgres://u:p%40ss@db.internal:6543/app?sslmode=require":   "postgres://u@db.internal:6543/app",
		"host=127.0.0.1 port=5432 user=app dbname=x sslmode=disable": "postgres://app@127.0.0.1:5432/x?sslmode=disable",
	} {
		got, err := AtlasURL(dsn)
		if err != nil || got != want {
			t.Errorf("AtlasURL(%q) = %q, %v; want %q", dsn, got, err, want)
		}
	}
}
