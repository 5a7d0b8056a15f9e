package main

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hishamos/hishamos-perf/internal/testdb"
	"github.com/hishamos/hishamos-perf/migrate"
)

// djangoProjectDir is the django workload's Django project: models that
// match testdata/workloads/django/schema.sql, their first migrations, and
// settings that take the database from libpq's PG* variables.
const djangoProjectDir = "../../testdata/workloads/django/project"

// djangoPython is a Python that imports Django and psycopg2 (Debian's
// python3-django and python3-psycopg2, which make setup installs): the
// one HISHAMOS_PERF_PYTHON names, python3 on PATH, or the system's.
func djangoPython(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv(envPython), "python3", "/usr/bin/python3"}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			if exec.Command(p, "-c", "import django, psycopg2").Run() == nil {
				return p
			}
		}
	}
	t.Skip("no python3 with Django and psycopg2: make setup installs Debian's python3-django and python3-psycopg2")
	return ""
}

// copyTree copies a folder's files (not its __pycache__) into a new one.
func copyTree(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "__pycache__" {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return to
}

// djangoProposals are indexes of each form Django has (columns by field
// name, an expression, a partial index, DESC, INCLUDE, an operator class),
// one it lacks (an operator class on an expression) and one on Django's
// own auth.User; the last, a unique index, is left out with --exclude.
const djangoProposals = `{"schema": "hishamos-perf/indexes/v1", "proposals": [
 {"index": {"schema": "public", "table": "projects_task", "name": "projects_task_project_id_due_date_idx", "keys": [{"column": "project_id"}, {"column": "due_date"}]}, "reason": "overdue tasks of a tenant's projects"},
 {"index": {"schema": "public", "table": "projects_project", "name": "project_upper_name_idx", "keys": [{"expr": "upper((name)::text)"}]}, "reason": "name__iexact"},
 {"index": {"schema": "public", "table": "projects_task", "name": "projects_task_open_idx", "keys": [{"column": "project_id"}], "where": "status = 'open'"}, "reason": "a project's open tasks"},
 {"index": {"schema": "public", "table": "activity_activitylog", "name": "activity_activitylog_tenant_id_created_at_idx", "keys": [{"column": "tenant_id"}, {"column": "created_at", "desc": true, "nulls_first": true}]}, "reason": "a tenant's feed"},
 {"index": {"schema": "public", "table": "activity_activitylog", "name": "activity_target_idx", "keys": [{"column": "target_content_type_id"}, {"column": "target_object_id"}], "include": ["verb"]}, "reason": "the generic relation's prefetch"},
 {"index": {"schema": "public", "table": "core_tenant", "name": "core_tenant_name_pattern_idx", "keys": [{"column": "name", "opclass": "varchar_pattern_ops"}]}, "reason": "name__startswith"},
 {"index": {"schema": "public", "table": "projects_task", "name": "task_title_pattern_idx", "keys": [{"expr": "lower((title)::text)", "opclass": "text_pattern_ops"}]}, "reason": "title__istartswith"},
 {"index": {"schema": "public", "table": "auth_user", "name": "auth_user_upper_email_idx", "keys": [{"expr": "upper((email)::text)"}]}, "reason": "login by email__iexact"},
 {"index": {"schema": "public", "table": "core_tenant", "name": "core_tenant_slug_unique", "unique": true, "keys": [{"column": "slug"}]}, "reason": "left out"}
]}`

// TestDjangoProjectEndToEnd is issue 21 with a real Django (3.2, Debian's)
// on the package's server: the project's own migrations make its tables,
// indexes plan --emit django --django-project writes the migrations and
// the models' patch, manage.py migrate builds the indexes (CREATE INDEX
// CONCURRENTLY, atomic = False), makemigrations --check fails without the
// Meta lines and is clean with them, sqlmigrate shows what runs, and
// migrating back drops every index again.
func TestDjangoProjectEndToEnd(t *testing.T) {
	py := djangoPython(t)
	dsn := testdb.NewDatabase(t)
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	dir := copyTree(t, djangoProjectDir)
	env := append(os.Environ(), "PGHOST="+cfg.Host, "PGPORT="+strconv.Itoa(int(cfg.Port)), "PGUSER="+cfg.User,
		"PGPASSWORD="+cfg.Password, "PGDATABASE="+cfg.Database, "PYTHONDONTWRITEBYTECODE=1")
	manage := func(args ...string) (string, error) {
		cmd := exec.Command(py, append([]string{"manage.py"}, args...)...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	mustManage := func(args ...string) string {
		t.Helper()
		out, err := manage(args...)
		if err != nil {
			t.Fatalf("manage.py %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	mustManage("migrate")

	props := filepath.Join(t.TempDir(), "proposals.json")
	os.WriteFile(props, []byte(djangoProposals), 0o644)
	patchFile := filepath.Join(t.TempDir(), "models.patch")
	r := cli(t, "--dsn", dsn, "--format", "json", "indexes", "plan", "--from", props, "--exclude", "9",
		"--emit", "django", "--django-project", dir, "--django-patch", patchFile)
	if r.code != exitOK {
		t.Fatalf("indexes plan --emit django: exit %d\n%s", r.code, r.stderr)
	}
	var doc struct {
		Django        []migrate.DjangoFile  `json:"django"`
		DjangoIndexes []migrate.DjangoIndex `json:"django_indexes"`
		DjangoPatch   string                `json:"django_patch"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("plan's JSON: %v\n%s", err, r.stdout)
	}
	if len(doc.DjangoIndexes) != 8 {
		t.Fatalf("%d indexes planned, want the 8 --exclude 9 keeps", len(doc.DjangoIndexes))
	}
	// Where each table's model came from, and how each index is built.
	want := map[string]struct{ model, source, op string }{
		"projects_ta_project_6695a1_idx": {"projects.Task", migrate.SourceContentType, migrate.OpAddIndexConcurrently},
		"project_upper_name_idx":         {"projects.Project", migrate.SourceContentType, migrate.OpAddIndexConcurrently},
		"projects_task_open_idx":         {"projects.Task", migrate.SourceContentType, migrate.OpAddIndexConcurrently},
		"activity_ac_tenant__0c4418_idx": {"activity.Log", migrate.SourceProject, migrate.OpAddIndexConcurrently},
		"activity_target_idx":            {"activity.Log", migrate.SourceProject, migrate.OpAddIndexConcurrently},
		"core_tenant_name_pattern_idx":   {"core.Tenant", migrate.SourceContentType, migrate.OpAddIndexConcurrently},
		"task_title_pattern_idx":         {"projects.Task", migrate.SourceContentType, migrate.OpRunSQL},
		"auth_user_upper_email_idx":      {"auth.user", migrate.SourceContentType, migrate.OpRunSQL},
	}
	var names []string
	for _, ix := range doc.DjangoIndexes {
		names = append(names, ix.Name)
		w, ok := want[ix.Name]
		model := ix.App + "." + ix.Model
		if ix.Class != "" {
			model = ix.App + "." + ix.Class
		}
		if !ok || model != w.model || ix.Source != w.source || ix.Operation != w.op {
			t.Errorf("%s: %s from %s by %s; want %+v", ix.Name, model, ix.Source, ix.Operation, w)
		}
		if len(ix.Name) > migrate.DjangoMaxIndexName {
			t.Errorf("%s is longer than Django's %d characters", ix.Name, migrate.DjangoMaxIndexName)
		}
	}
	for _, f := range doc.Django {
		if f.DependencySource != migrate.DependencyProject || f.Dependency != "0001_initial" {
			t.Errorf("%s depends on %s (%s), want the project's 0001_initial", f.Path, f.Dependency, f.DependencySource)
		}
	}
	if b, _ := os.ReadFile(patchFile); string(b) != doc.DjangoPatch || len(b) == 0 {
		t.Errorf("--django-patch wrote %d bytes, the document holds %d", len(b), len(doc.DjangoPatch))
	}

	// The migrations build the indexes; without the Meta lines Django
	// wants them removed again.
	mustManage("migrate")
	if out, err := manage("makemigrations", "--check", "--dry-run"); err == nil || !strings.Contains(out, "Remove index") {
		t.Errorf("makemigrations --check before the Meta lines: %v\n%s\nwant it to fail wanting the indexes removed", err, out)
	}
	// The patch adds the printed lines; then Django agrees.
	cmd := exec.Command("git", "apply", patchFile)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git apply the models' patch: %v\n%s", err, out)
	}
	var models strings.Builder
	for _, f := range []string{"core/models.py", "projects/models.py", "activity/models.py"} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		models.Write(b)
	}
	for _, ix := range doc.DjangoIndexes {
		if ix.Meta != "" && !strings.Contains(models.String(), ix.Meta+",") {
			t.Errorf("the patched models lack the printed line %s", ix.Meta)
		}
	}
	mustManage("check")
	if out, err := manage("makemigrations", "--check", "--dry-run"); err != nil {
		t.Errorf("makemigrations --check with the Meta lines: %v\n%s", err, out)
	}
	// Planning again writes nothing new: the project's migrations create
	// every index, its models name each that Django can.
	r = cli(t, "--dsn", dsn, "--format", "json", "indexes", "plan", "--from", props, "--exclude", "9", "--emit", "django", "--django-project", dir)
	var again struct {
		Django        []migrate.DjangoFile  `json:"django"`
		DjangoIndexes []migrate.DjangoIndex `json:"django_indexes"`
		DjangoPatch   string                `json:"django_patch"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &again); r.code != exitOK || err != nil {
		t.Fatalf("plan again: exit %d, %v\n%s", r.code, err, r.stderr)
	}
	if len(again.Django) != 0 || again.DjangoPatch != "" {
		t.Errorf("plan again wrote %d migrations and a patch of %d bytes, want none", len(again.Django), len(again.DjangoPatch))
	}
	for _, ix := range again.DjangoIndexes {
		if ix.Operation != migrate.OpPlanned || ix.Meta != "" && !ix.InMeta {
			t.Errorf("plan again: %s is %s (in Meta: %t), want planned already and in Meta", ix.Name, ix.Operation, ix.InMeta)
		}
	}
	sql := mustManage("sqlmigrate", "projects", "0002_add_performance_indexes")
	if n := strings.Count(sql, "CREATE INDEX CONCURRENTLY"); n != 4 {
		t.Errorf("sqlmigrate projects 0002 shows %d CREATE INDEX CONCURRENTLY, want 4:\n%s", n, sql)
	}

	// What the server built: the forms as proposed, each valid.
	ctx := context.Background()
	conn := testdb.Conn(t, dsn)
	defs := map[string]string{}
	rows, err := conn.Query(ctx, `SELECT c.relname::text, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE i.indisvalid AND c.relname = ANY($1)`, names)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n, d string
		rows.Scan(&n, &d)
		defs[n] = d
	}
	for name, frag := range map[string]string{
		"projects_ta_project_6695a1_idx": "(project_id, due_date)",
		"project_upper_name_idx":         "(upper((name)::text))",
		"projects_task_open_idx":         "(project_id) WHERE ((status)::text = 'open'::text)",
		"activity_ac_tenant__0c4418_idx": "(tenant_id, created_at DESC)",
		"activity_target_idx":            "(target_content_type_id, target_object_id) INCLUDE (verb)",
		"core_tenant_name_pattern_idx":   "(name varchar_pattern_ops)",
		"task_title_pattern_idx":         "(lower((title)::text) text_pattern_ops)",
		"auth_user_upper_email_idx":      "(upper((email)::text))",
	} {
		if !strings.Contains(defs[name], frag) {
			t.Errorf("%s is %q, want %q in it (and valid)", name, defs[name], frag)
		}
	}

	// Back: each app to its first migration drops what it built.
	for _, app := range []string{"projects", "core", "activity"} {
		mustManage("migrate", app, "0001_initial")
	}
	var left int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_class WHERE relname = ANY($1)`, names).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d of the indexes left after migrating back (%v)", left, err)
	}
}

// djangoEventModel is a model on a partitioned table, added to the django
// workload's activity app: Django 3.2 cannot create one, so its migration
// gives the state the model and the database the table's SQL, as a project
// with a partitioned table does.
const djangoEventModel = `


class Event(models.Model):
    tenant_id = models.BigIntegerField()
    kind = models.CharField(max_length=20)
    at = models.DateTimeField()

    class Meta:
        db_table = "activity_event"
`

// djangoEventMigration creates activity_event RANGE-partitioned by at:
// two partitions and a DEFAULT, some rows in each.
const djangoEventMigration = `from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('activity', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Event',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('tenant_id', models.BigIntegerField()),
                        ('kind', models.CharField(max_length=20)),
                        ('at', models.DateTimeField()),
                    ],
                    options={
                        'db_table': 'activity_event',
                    },
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    sql=[
                        "CREATE TABLE activity_event (id bigserial, tenant_id bigint NOT NULL, kind varchar(20) NOT NULL, at timestamptz NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)",
                        "CREATE TABLE activity_event_2026a PARTITION OF activity_event FOR VALUES FROM ('2026-01-01') TO ('2026-07-01')",
                        "CREATE TABLE activity_event_2026b PARTITION OF activity_event FOR VALUES FROM ('2026-07-01') TO ('2027-01-01')",
                        "CREATE TABLE activity_event_default PARTITION OF activity_event DEFAULT",
                        "INSERT INTO activity_event (tenant_id, kind, at) SELECT g % 7, 'k' || g % 3, timestamptz '2025-12-01' + g * interval '1 hour' FROM generate_series(1, 9000) g",
                    ],
                    reverse_sql=["DROP TABLE activity_event"],
                ),
            ],
        ),
    ]
`

// TestDjangoPartitionedTableEndToEnd: with a real Django (3.2, Debian's),
// an index on a model whose table is partitioned. plan --emit django
// writes SeparateDatabaseAndState (AddIndex for Django's state, RunSQL of
// the partitioned sequence for the database, its DROP as reverse SQL);
// manage.py migrate builds the index on every partition and attaches
// them (valid), makemigrations --check wants it removed until the patch's
// Meta line is in the model and is clean after, and migrating back drops
// the table's index with its partitions'.
func TestDjangoPartitionedTableEndToEnd(t *testing.T) {
	py := djangoPython(t)
	dsn := testdb.NewDatabase(t)
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	dir := copyTree(t, djangoProjectDir)
	models, err := os.ReadFile(filepath.Join(dir, "activity", "models.py"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "activity", "models.py"), append(models, djangoEventModel...), 0o644)
	os.WriteFile(filepath.Join(dir, "activity", "migrations", "0002_event.py"), []byte(djangoEventMigration), 0o644)
	env := append(os.Environ(), "PGHOST="+cfg.Host, "PGPORT="+strconv.Itoa(int(cfg.Port)), "PGUSER="+cfg.User,
		"PGPASSWORD="+cfg.Password, "PGDATABASE="+cfg.Database, "PYTHONDONTWRITEBYTECODE=1")
	manage := func(args ...string) (string, error) {
		cmd := exec.Command(py, append([]string{"manage.py"}, args...)...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	mustManage := func(args ...string) string {
		t.Helper()
		out, err := manage(args...)
		if err != nil {
			t.Fatalf("manage.py %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	mustManage("migrate")
	if out, err := manage("makemigrations", "--check", "--dry-run"); err != nil {
		t.Fatalf("the project with its partitioned model is not clean to begin with: %v\n%s", err, out)
	}

	props := filepath.Join(t.TempDir(), "proposals.json")
	os.WriteFile(props, []byte(`{"schema": "hishamos-perf/indexes/v1", "proposals": [
 {"index": {"schema": "public", "table": "activity_event", "name": "activity_event_tenant_at_idx", "keys": [{"column": "tenant_id"}, {"column": "at", "desc": true, "nulls_first": true}]}, "reason": "a tenant's recent events"}]}`), 0o644)
	patchFile := filepath.Join(t.TempDir(), "models.patch")
	r := cli(t, "--dsn", dsn, "--format", "json", "indexes", "plan", "--from", props, "--emit", "django", "--django-project", dir, "--django-patch", patchFile)
	if r.code != exitOK {
		t.Fatalf("indexes plan --emit django: exit %d\n%s", r.code, r.stderr)
	}
	var doc struct {
		Django        []migrate.DjangoFile  `json:"django"`
		DjangoIndexes []migrate.DjangoIndex `json:"django_indexes"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("plan's JSON: %v\n%s", err, r.stdout)
	}
	if len(doc.Django) != 1 || len(doc.DjangoIndexes) != 1 {
		t.Fatalf("plan wrote %+v", doc)
	}
	ix, f := doc.DjangoIndexes[0], doc.Django[0]
	if ix.Operation != migrate.OpSeparate || ix.App != "activity" || ix.Class != "Event" || ix.Meta != `models.Index(fields=["tenant_id", "-at"], name="activity_event_tenant_at_idx")` {
		t.Errorf("index %+v: want SeparateDatabaseAndState on activity.Event with its Meta line", ix)
	}
	if f.Dependency != "0002_event" || f.DependencySource != migrate.DependencyProject {
		t.Errorf("%s depends on %s (%s), want the project's 0002_event", f.Path, f.Dependency, f.DependencySource)
	}
	migration := strings.TrimSuffix(filepath.Base(f.Path), ".py")

	// Django runs the sequence, each statement on its own (atomic =
	// False): ON ONLY the table, each partition CONCURRENTLY, attached.
	sql := mustManage("sqlmigrate", "activity", migration)
	if n := strings.Count(sql, "CREATE INDEX CONCURRENTLY"); n != 3 || !strings.Contains(sql, `ON ONLY "public"."activity_event"`) || strings.Count(sql, "ATTACH PARTITION") != 3 {
		t.Errorf("sqlmigrate activity %s: %d CREATE INDEX CONCURRENTLY, want 3, the ON ONLY index and 3 ATTACH PARTITION:\n%s", migration, n, sql)
	}
	mustManage("migrate")
	ctx := context.Background()
	conn := testdb.Conn(t, dsn)
	var valid bool
	var attached int
	if err := conn.QueryRow(ctx, `SELECT i.indisvalid, (SELECT count(*) FROM pg_inherits h JOIN pg_index p ON p.indexrelid = h.inhrelid WHERE h.inhparent = i.indexrelid AND p.indisvalid)
		FROM pg_index i WHERE i.indexrelid = 'public.activity_event_tenant_at_idx'::regclass`).Scan(&valid, &attached); err != nil || !valid || attached != 3 {
		t.Errorf("after migrate: the table's index valid %t, %d valid partitions' indexes attached (want 3), %v", valid, attached, err)
	}
	if out, err := manage("makemigrations", "--check", "--dry-run"); err == nil || !strings.Contains(out, "Remove index") {
		t.Errorf("makemigrations --check before the Meta line: %v\n%s\nwant it to fail wanting the index removed", err, out)
	}
	cmd := exec.Command("git", "apply", patchFile)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git apply the models' patch: %v\n%s", err, out)
	}
	if out, err := manage("makemigrations", "--check", "--dry-run"); err != nil {
		t.Errorf("makemigrations --check with the Meta line: %v\n%s", err, out)
	}

	// Back: the reverse SQL drops the table's index and its partitions'.
	mustManage("migrate", "activity", "0002_event")
	var left int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE tablename LIKE 'activity_event%' AND indexname <> ALL (SELECT conname FROM pg_constraint)`).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d indexes beside the primary keys left on activity_event after migrating back (%v)", left, err)
	}
}
