package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// The end-to-end check through the CLI: plan the seed's eleven
// indexes from the hishamos profile, apply them to the HishamOS schema and
// data, find them all valid, then take them down again.
func TestIndexesPlanApplyStatusDown(t *testing.T) {
	dsn := testdb.NewDatabase(t)
	if r := cli(t, "--dsn", dsn, "seed", "--yes"); r.code != 0 {
		t.Fatalf("seed: %d\n%s", r.code, r.stderr)
	}
	dir := filepath.Join(t.TempDir(), "migrations")

	r := cli(t, "--format", "json", "indexes", "plan", "--from-profile", "hishamos", "--dir", dir)
	if r.code != 0 {
		t.Fatalf("plan: %d\n%s", r.code, r.stderr)
	}
	var plan struct {
		Plan struct {
			Files []struct{ Index, File string }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil || len(plan.Plan.Files) != 11 {
		t.Fatalf("plan wrote %d files (%v):\n%s", len(plan.Plan.Files), err, r.stdout)
	}

	r = cli(t, "--dsn", dsn, "migrate", "lint", "--dir", dir, "--format", "github")
	if r.code != 1 || !strings.Contains(r.stdout, "::error file="+filepath.Join(dir, plan.Plan.Files[2].File)+",line=6,title=HP106 duplicate-index::cmd_tpl_rec_agent_idx duplicates") {
		t.Errorf("lint: exit %d, want 1 with the duplicate of Django's FK index:\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	r = cli(t, "--dsn", dsn, "indexes", "apply", "--dir", dir, "--dry-run", "-q")
	if r.code != 0 || strings.Count(r.stdout, "CREATE INDEX CONCURRENTLY IF NOT EXISTS") != 11 {
		t.Fatalf("dry run: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	r = cli(t, "--dsn", dsn, "--format", "json", "indexes", "apply", "--dir", dir)
	if r.code != 0 {
		t.Fatalf("apply: %d\n%s", r.code, r.stderr)
	}
	conn := testdb.Conn(t, dsn)
	var valid int
	names := make([]string, len(plan.Plan.Files))
	for i, f := range plan.Plan.Files {
		names[i] = f.Index
	}
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
		WHERE i.relname = ANY($1) AND x.indisvalid AND x.indisready`, names).Scan(&valid); err != nil || valid != 11 {
		t.Fatalf("%d of the 11 indexes valid in pg_index (%v)", valid, err)
	}

	r = cli(t, "--dsn", dsn, "--format", "json", "migrate", "status", "--dir", dir)
	var st struct {
		Status struct {
			Applied, Pending int
			Drift            []any
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || r.code != 0 || st.Status.Applied != 11 || len(st.Status.Drift) != 0 {
		t.Fatalf("status: %d %+v %v\n%s", r.code, st, err, r.stderr)
	}

	if r = cli(t, "--dsn", dsn, "migrate", "down", "12", "--dir", dir); r.code != 2 || !strings.Contains(r.stderr, "past the first version") {
		t.Errorf("down 12: exit %d\n%s", r.code, r.stderr)
	}
	if r = cli(t, "--dsn", dsn, "migrate", "down", "11", "--dir", dir); r.code != 0 {
		t.Fatalf("down 11: %d\n%s", r.code, r.stderr)
	}
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_class WHERE relname = ANY($1)`, names).Scan(&valid); err != nil || valid != 0 {
		t.Errorf("%d indexes left after down (%v)", valid, err)
	}
}

func TestMigrateBadInput(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "migrations")
	if r := cli(t, "indexes", "plan", "--from-profile", "hishamos", "--dir", dir, "-q"); r.code != 0 {
		t.Fatalf("plan: %d\n%s", r.code, r.stderr)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.sql"))
	tampered := files[3]
	b, _ := os.ReadFile(tampered)
	os.WriteFile(tampered, append(b, []byte("DROP TABLE auth_user;\n")...), 0o644)
	notMig := filepath.Join(root, "src")
	os.MkdirAll(notMig, 0o755)
	os.WriteFile(filepath.Join(notMig, "main.go"), []byte("package main\n"), 0o644)
	badJSON := filepath.Join(root, "p.json")
	os.WriteFile(badJSON, []byte(`{"schema":"hishamos-perf/indexes/v1","proposals":[{"table":"t"}]}`), 0o644)
	down := filepath.Join(root, "django")
	// A Django project whose app has two leaf migrations, and one with no
	// model of the profile's tables.
	leaves := filepath.Join(root, "leaves")
	for name, text := range map[string]string{
		"agents/__init__.py": "", "agents/models.py": "from django.db import models\n\n\nclass Agent(models.Model):\n    status = models.CharField(max_length=9)\n",
		"agents/migrations/__init__.py": "", "agents/migrations/0001_initial.py": "class Migration:\n    dependencies = []\n",
		"agents/migrations/0002_a.py": "class Migration:\n    dependencies = [('agents', '0001_initial')]\n",
		"agents/migrations/0002_b.py": "class Migration:\n    dependencies = [('agents', '0001_initial')]\n",
	} {
		os.MkdirAll(filepath.Dir(filepath.Join(leaves, name)), 0o755)
		os.WriteFile(filepath.Join(leaves, name), []byte(text), 0o644)
	}
	// A project plan could write into, were its patch's folder there.
	good := filepath.Join(root, "good")
	for name, text := range map[string]string{
		"agents/__init__.py": "", "agents/models.py": "from django.db import models\n\n\nclass Agent(models.Model):\n    status = models.CharField(max_length=9)\n",
		"agents/migrations/__init__.py": "", "agents/migrations/0001_initial.py": "class Migration:\n    dependencies = []\n",
	} {
		os.MkdirAll(filepath.Dir(filepath.Join(good, name)), 0o755)
		os.WriteFile(filepath.Join(good, name), []byte(text), 0o644)
	}
	agentOnly := filepath.Join(root, "agent.json")
	os.WriteFile(agentOnly, []byte(`{"schema":"hishamos-perf/indexes/v1","proposals":[{"index":{"schema":"public","table":"agents_agent","keys":[{"column":"status"}]}}]}`), 0o644)

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"tampered file", []string{"migrate", "validate", "--dir", dir}, 2, filepath.Base(tampered) + " was edited by hand"},
		{"not a migration directory", []string{"migrate", "hash", "--dir", notMig}, 2, "not a migration directory"},
		{"plan into a source folder", []string{"indexes", "plan", "--from-profile", "hishamos", "--dir", notMig}, 2, "not a migration directory"},
		{"no source", []string{"indexes", "plan", "--dir", dir}, 2, "exactly one of --from or --from-profile"},
		{"bad proposals", []string{"indexes", "plan", "--from", badJSON, "--dir", dir}, 2, "bad proposals file"},
		{"unknown profile", []string{"indexes", "plan", "--from-profile", "nope", "--dir", dir}, 2, "nope"},
		{"django without apps", []string{"indexes", "plan", "--from-profile", "hishamos", "--emit", "django", "--django-apps", down}, 2, "django app not found"},
		{"choice out of range", []string{"indexes", "plan", "--from-profile", "hishamos", "--dir", dir, "--only", "12"}, 2, "only 12: there are 11 (1 to 11)"},
		{"django project not a folder", []string{"indexes", "plan", "--from-profile", "hishamos", "--emit", "django", "--django-project", filepath.Join(root, "nope")}, 2, "--django-project: cannot read the Django project"},
		{"django project without --emit django", []string{"indexes", "plan", "--from-profile", "hishamos", "--dir", dir, "--django-project", leaves}, 2, "--django-project goes with --emit django"},
		{"django project and apps", []string{"indexes", "plan", "--from-profile", "hishamos", "--emit", "django", "--django-project", leaves, "--django-apps", down}, 2, "one of --django-project or --django-apps"},
		{"django patch without a project", []string{"indexes", "plan", "--from-profile", "hishamos", "--emit", "django", "--django-patch", filepath.Join(root, "p.patch")}, 2, "go with --django-project"},
		{"django app with two leaves", []string{"indexes", "plan", "--from", agentOnly, "--emit", "django", "--django-project", leaves}, 2, "its migrations have 2 leaves (0002_a, 0002_b): run manage.py makemigrations --merge agents first"},
		{"django table no model has", []string{"indexes", "plan", "--from-profile", "hishamos", "--emit", "django", "--django-project", leaves}, 2, "no Django model for table"},
		{"django patch nowhere", []string{"indexes", "plan", "--from", agentOnly, "--emit", "django", "--django-project", good, "--django-patch", filepath.Join(root, "none", "p.patch")}, 2, "--django-patch: open " + filepath.Join(root, "none", "p.patch")},
		{"no atlas binary", []string{"migrate", "status", "--engine", "atlas", "--dir", dir}, 2, "needs the atlas binary on PATH"},
		{"github format elsewhere", []string{"--format", "github", "migrate", "validate", "--dir", dir}, 2, `unknown format "github"`},
		{"bad N", []string{"migrate", "down", "zero", "--dir", dir}, 2, "N must be a positive number"},
		// The sum no longer matches (HP100), and DROP TABLE is no index
		// statement (HP111).
		{"offline lint of a tampered dir", []string{"migrate", "lint", "--offline", "--dir", dir}, 1, "lint: 2 error-level finding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, want %d; stderr does not say %q?\n%s", r.code, tt.code, tt.want, r.stderr)
			}
		})
	}
	if entries, _ := os.ReadDir(filepath.Join(good, "agents", "migrations")); len(entries) != 2 {
		t.Errorf("a refused plan wrote into the Django project: %d files in its migrations", len(entries))
	}
	os.WriteFile(tampered, b, 0o644)
	if r := cli(t, "migrate", "validate", "--dir", dir, "-q"); r.code != 0 {
		t.Errorf("validate after restoring the file: %d\n%s", r.code, r.stderr)
	}
}

func TestIndexesPlanEmitDjango(t *testing.T) {
	apps := t.TempDir()
	for _, app := range []string{"commands", "workflows", "agents"} {
		os.MkdirAll(filepath.Join(apps, app, "migrations"), 0o755)
		os.WriteFile(filepath.Join(apps, app, "migrations", "0001_initial.py"), nil, 0o644)
	}
	r := cli(t, "indexes", "plan", "--from-profile", "hishamos", "--emit", "django", "--django-apps", apps)
	if r.code != 0 {
		t.Fatalf("plan --emit django: %d\n%s", r.code, r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(apps, "workflows", "migrations", "0002_add_performance_indexes.py"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"atomic = False", `("workflows", "0001_initial")`, `model_name="workflowstep"`,
		`index=models.Index(fields=["execution_id", "step_order"], name="wf_step_exec_order_idx")`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("workflows migration lacks %q:\n%s", want, b)
		}
	}
}
