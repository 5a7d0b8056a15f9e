package migrate

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// shopProject is a Django project's source, as a folder's files: an app
// with a label of its own (apps.py), an abstract model, a custom db_table
// and db_column, Meta classes of each shape the patch meets, and an app
// whose migrations have two leaves.
var shopProject = map[string]string{
	"manage.py":        "import sys\n",
	"shop/__init__.py": "",
	"shop/settings.py": "INSTALLED_APPS = ['shop.catalog', 'blog']\n",
	"shop/catalog/apps.py": `from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "shop.catalog"
    label = "catalog_app"
`,
	"shop/catalog/__init__.py": "",
	"shop/catalog/models.py": `from django.db import models


class Stamped(models.Model):
    created_at = models.DateTimeField()

    class Meta:
        abstract = True


class Film(Stamped):
    title = models.CharField(max_length=100)
    studio = models.ForeignKey("Studio", on_delete=models.CASCADE, db_column="studio_ref")


class Studio(models.Model):
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]


class FilmCategory(models.Model):
    film = models.ForeignKey(Film, on_delete=models.CASCADE)
    category = models.CharField(max_length=20)

    class Meta:
        db_table = "film_category"
        indexes = [
            models.Index(fields=["category"], name="film_cat_idx")  # by category
        ]


class Plain(models.Model):
    body = models.TextField()


class Review(models.Model):
    body = models.TextField()

    class Meta:
        db_table = "reviews"
        indexes = [models.Index(fields=["body"], name="review_body_idx")]`, // no newline at the end
	"shop/catalog/migrations/__init__.py":     "",
	"shop/catalog/migrations/0001_initial.py": "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    dependencies = []\n",
	"shop/catalog/migrations/0002_more.py":    "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    dependencies = [('catalog_app', '0001_initial')]\n",
	"blog/__init__.py":                        "",
	"blog/models.py":                          "from django.db import models\n\n\nclass Post(models.Model):\n    title = models.CharField(max_length=10)\n",
	"blog/migrations/__init__.py":             "",
	"blog/migrations/0001_initial.py":         "class Migration:\n    dependencies = []\n",
	"blog/migrations/0002_a.py":               "class Migration:\n    dependencies = [('blog', '0001_initial')]\n",
	"blog/migrations/0002_b.py":               "class Migration:\n    dependencies = [('blog', '0001_initial')]\n",
	".venv/lib/models.py":                     "this is not Python the reader should ever see (",
}

// writeTree writes files under a new folder and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, ".venv", "pyvenv.cfg"), nil, 0o644)
	return dir
}

// TestReadDjangoProjectFindsAppsModelsAndLeaves: the project's apps by
// label (an AppConfig's label where it has one), its models by table (an
// abstract one has none but gives its fields, a db_table and a db_column
// are read), and each app's leaf migrations.
func TestReadDjangoProjectFindsAppsModelsAndLeaves(t *testing.T) {
	py := python(t)
	p, err := ReadDjangoProject(context.Background(), writeTree(t, shopProject), py)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.AppLabels(), ","); got != "blog,catalog_app" {
		t.Errorf("apps %s, want blog,catalog_app", got)
	}
	want := map[string]string{"catalog_app_film": "Film", "catalog_app_studio": "Studio", "film_category": "FilmCategory", "catalog_app_plain": "Plain", "reviews": "Review", "blog_post": "Post"}
	for table, class := range want {
		if m := p.Models[table]; m == nil || m.Class != class {
			t.Errorf("table %s: model %+v, want class %s", table, m, class)
		}
	}
	if len(p.Models) != len(want) {
		t.Errorf("%d models, want %d (the abstract one has no table)", len(p.Models), len(want))
	}
	film := p.Models["catalog_app_film"]
	if film.Columns["studio_ref"] != "studio" || film.Columns["created_at"] != "created_at" || film.Columns["title"] != "title" {
		t.Errorf("Film's columns %v: want studio_ref from its db_column, created_at from the abstract base", film.Columns)
	}
	if !p.Models["film_category"].TableGiven || p.Models["catalog_app_film"].TableGiven {
		t.Error("TableGiven is not what Meta.db_table says")
	}
	if got := p.Apps["catalog_app"].Leaves; len(got) != 1 || got[0] != "0002_more" {
		t.Errorf("catalog_app's leaves %v, want [0002_more]", got)
	}
	if got := p.Apps["blog"].Leaves; len(got) != 2 {
		t.Errorf("blog's leaves %v, want two", got)
	}
	if len(p.Problems) != 0 {
		t.Errorf("problems %v: the virtualenv's files were read", p.Problems)
	}
}

// TestDjangoProjectPatchAddsMetaLines: with the project, each index's
// Meta line goes into its model as a patch (never applied by the tool):
// into an indexes list written over lines (a comma added after the last
// item), one written on one line, a Meta without indexes, a class without
// Meta; a class extending an abstract model is left to the developer and
// says why. Applied with patch -p1, the files compile and hold the lines.
func TestDjangoProjectPatchAddsMetaLines(t *testing.T) {
	py := python(t)
	dir := writeTree(t, shopProject)
	models := filepath.Join(dir, "shop", "catalog", "models.py")
	before, _ := os.ReadFile(models)
	p, err := ReadDjangoProject(context.Background(), dir, py)
	if err != nil {
		t.Fatal(err)
	}
	defs := []indexdef.Def{
		{Schema: "public", Table: "film_category", Keys: []indexdef.Key{indexdef.Asc("film_id"), indexdef.Descending("category")}},
		{Schema: "public", Table: "reviews", Keys: []indexdef.Key{{Expr: "lower(body)"}}, Name: "review_lower_idx"},
		{Schema: "public", Table: "catalog_app_studio", Keys: []indexdef.Key{indexdef.Asc("name")}, Where: "name IS NOT NULL", Name: "studio_name_idx"},
		{Schema: "public", Table: "catalog_app_plain", Keys: []indexdef.Key{indexdef.Asc("body")}, Name: "plain_body_idx"},
		{Schema: "public", Table: "catalog_app_film", Keys: []indexdef.Key{indexdef.Asc("studio_ref"), indexdef.Asc("title")}, Name: "film_studio_idx"},
	}
	res, err := EmitDjango(defs, DjangoOptions{Project: p, Name: "hot"})
	if err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(models); string(after) != string(before) {
		t.Fatal("EmitDjango changed models.py: the patch is only offered")
	}
	byName := map[string]DjangoIndex{}
	for _, ix := range res.Indexes {
		byName[ix.Name] = ix
		if ix.Source != SourceProject {
			t.Errorf("%s: source %s, want %s", ix.Name, ix.Source, SourceProject)
		}
	}
	if f := byName["film_studio_idx"]; f.Meta != `models.Index(fields=["studio", "title"], name="film_studio_idx")` || f.ModelsFile != "" || !strings.Contains(f.Why, "Film extends Stamped") {
		t.Errorf("Film's index: %+v; want the field name studio, no patch, and why", f)
	}
	if len(res.Files) != 1 || res.Files[0].Dependency != "0002_more" || res.Files[0].DependencySource != DependencyProject ||
		filepath.Base(res.Files[0].Path) != "0003_hot.py" {
		t.Errorf("files %+v: want catalog_app's 0003_hot.py after its leaf 0002_more", res.Files)
	}
	patch := filepath.Join(t.TempDir(), "models.patch")
	os.WriteFile(patch, []byte(res.Patch), 0o644)
	if out, err := exec.Command("patch", "-p1", "-d", dir, "-i", patch).CombinedOutput(); err != nil {
		t.Fatalf("patch -p1: %v\n%s\n%s", err, out, res.Patch)
	}
	if out, err := exec.Command(py, "-m", "py_compile", models).CombinedOutput(); err != nil {
		t.Fatalf("the patched models.py does not compile: %v\n%s", err, out)
	}
	again, err := ReadDjangoProject(context.Background(), dir, py)
	if err != nil {
		t.Fatal(err)
	}
	for table, wantItems := range map[string][]string{
		"film_category":      {`models.Index(fields=["category"], name="film_cat_idx")`, byName[res.Indexes[0].Name].Meta},
		"reviews":            {`models.Index(fields=["body"], name="review_body_idx")`, `models.Index(Lower("body"), name="review_lower_idx")`},
		"catalog_app_studio": {`models.Index(fields=["name"], condition=models.Q(name__isnull=False), name="studio_name_idx")`},
		"catalog_app_plain":  {`models.Index(fields=["body"], name="plain_body_idx")`},
		"catalog_app_film":   nil,
	} {
		m := again.Models[table]
		var items []string
		if m.cls.Meta != nil && m.cls.Meta.Indexes != nil {
			for _, it := range m.cls.Meta.Indexes.Items {
				items = append(items, it.Text)
			}
		}
		if strings.Join(items, "\n") != strings.Join(wantItems, "\n") {
			t.Errorf("%s's Meta.indexes after the patch:\n%s\nwant\n%s", table, strings.Join(items, "\n"), strings.Join(wantItems, "\n"))
		}
	}
	if m := again.Models["catalog_app_studio"]; m.cls.Meta == nil || m.cls.Meta.Attrs["ordering"] != nil || !strings.Contains(readFile(t, models), "ordering = [\"name\"]\n        indexes = [") {
		t.Errorf("Studio's Meta lost its ordering or the indexes are not in it:\n%s", readFile(t, models))
	}
	if !strings.Contains(readFile(t, models), "from django.db.models.functions import Lower\n") {
		t.Errorf("the import of Lower was not added:\n%s", readFile(t, models))
	}
}

// readFile is a file's text.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDjangoModelSourcesInOrder: django_content_type decides first (an
// app label holding '_' split where it ends, not at the first '_'), then
// the project's db_table, then an app django_migrations knows, and the
// name's prefix only when nothing is known; a table the database's
// content types do not have is refused rather than guessed.
func TestDjangoModelSourcesInOrder(t *testing.T) {
	py := python(t)
	p, err := ReadDjangoProject(context.Background(), writeTree(t, shopProject), py)
	if err != nil {
		t.Fatal(err)
	}
	db := &DjangoDatabase{HasContentTypes: true, HasMigrations: true,
		ContentTypes: []DjangoContentType{{"catalog_app", "film"}, {"catalog_app", "filmcategory"}, {"django_celery_beat", "periodictask"}},
		Applied:      map[string][]string{"catalog_app": {"0001_initial", "0002_more"}, "django_celery_beat": {"0001_initial"}, "legacy_app": {"0001_initial"}}}
	for _, c := range []struct {
		table            string
		db               *DjangoDatabase
		proj             *DjangoProject
		app, model, from string
		err              error
	}{
		{"catalog_app_film", db, p, "catalog_app", "film", SourceContentType, nil},
		{"django_celery_beat_periodictask", db, nil, "django_celery_beat", "periodictask", SourceContentType, nil},
		{"film_category", db, p, "catalog_app", "filmcategory", SourceProject, nil},
		{"film_category", db, nil, "", "", "", ErrNoDjangoModel},
		{"legacy_app_thing", &DjangoDatabase{HasMigrations: true, Applied: db.Applied}, nil, "legacy_app", "thing", SourceMigrations, nil},
		{"film_category", nil, nil, "film", "category", SourcePrefix, nil},
		{"nounderscore", nil, nil, "", "", "", ErrNoDjangoModel},
		{"not_a_model", nil, p, "", "", "", ErrNoDjangoModel},
	} {
		o := DjangoOptions{Database: c.db, Project: c.proj}
		app, model, from, _, err := o.locate(c.table)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("%s: err %v, want %v", c.table, err, c.err)
			}
			continue
		}
		if err != nil || app != c.app || model != c.model || from != c.from {
			t.Errorf("%s: %s.%s from %s (%v), want %s.%s from %s", c.table, app, model, from, err, c.app, c.model, c.from)
		}
	}
}

// TestDjangoDependencyAndHostApp: an app with two leaf migrations is
// refused with what to run; without a project the database's latest
// applied migration is the dependency, and said to be; an index on a model
// of an app outside the project (auth.User) is RunSQL in the host app's
// migration, depending on that app's latest applied migration.
func TestDjangoDependencyAndHostApp(t *testing.T) {
	py := python(t)
	dir := writeTree(t, shopProject)
	p, err := ReadDjangoProject(context.Background(), dir, py)
	if err != nil {
		t.Fatal(err)
	}
	post := indexdef.Def{Schema: "public", Table: "blog_post", Keys: []indexdef.Key{indexdef.Asc("title")}}
	var le *DjangoLeavesError
	if _, err := EmitDjango([]indexdef.Def{post}, DjangoOptions{Project: p}); !errors.As(err, &le) || !errors.Is(err, ErrDjangoMigrations) || le.App != "blog" || len(le.Leaves) != 2 {
		t.Errorf("two leaves: %v, want a DjangoLeavesError for blog", err)
	}

	db := &DjangoDatabase{HasContentTypes: true, HasMigrations: true,
		ContentTypes: []DjangoContentType{{"auth", "user"}, {"catalog_app", "studio"}},
		Applied:      map[string][]string{"auth": {"0001_initial", "0012_alter_user_first_name_max_length"}, "catalog_app": {"0001_initial"}}}
	user := indexdef.Def{Schema: "public", Table: "auth_user", Keys: []indexdef.Key{{Expr: "upper((email)::text)"}}, Name: "auth_user_upper_email_idx"}
	studio := indexdef.Def{Schema: "public", Table: "catalog_app_studio", Keys: []indexdef.Key{indexdef.Asc("name")}, Name: "studio_name_idx"}
	res, err := EmitDjango([]indexdef.Def{user, studio}, DjangoOptions{Project: p, Database: db})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 1 || res.Files[0].App != "catalog_app" {
		t.Fatalf("files %+v: want one, catalog_app's", res.Files)
	}
	deps := res.Files[0].Dependencies
	if len(deps) != 2 || deps[0] != [2]string{"catalog_app", "0002_more"} || deps[1] != [2]string{"auth", "0012_alter_user_first_name_max_length"} {
		t.Errorf("dependencies %v: want the app's leaf, then auth's latest applied", deps)
	}
	for _, ix := range res.Indexes {
		if ix.Table == "auth_user" && (ix.Operation != OpRunSQL || ix.Meta != "" || ix.App != "auth" || !strings.Contains(ix.Why, "not the project's")) {
			t.Errorf("auth_user's index: %+v; want RunSQL in the host app, no Meta line", ix)
		}
	}
	importMigrations(t, py, []string{res.Files[0].Path})

	// Without a project: the database's latest applied migration.
	apps := djangoApps(t, "catalog_app")
	res, err = EmitDjango([]indexdef.Def{studio}, DjangoOptions{AppsDir: apps, Database: db})
	if err != nil {
		t.Fatal(err)
	}
	if f := res.Files[0]; f.Dependency != "0001_initial" || f.DependencySource != DependencyDatabase || len(res.Notes) == 0 || !strings.Contains(res.Notes[0], "want them merged") {
		t.Errorf("file %+v, notes %v: want the database's latest, said to be", f, res.Notes)
	}
}

// TestDjangoPartitionedTableWithoutItsTreeRefused: an index on a table
// the database says is partitioned, its partitions not read, is refused,
// not built with a CREATE INDEX that PostgreSQL refuses CONCURRENTLY (or,
// without it, one that blocks writes). TestEmitDjangoPartitioned writes
// it with the tree.
func TestDjangoPartitionedTableWithoutItsTreeRefused(t *testing.T) {
	apps := djangoApps(t, "events")
	ev := indexdef.Def{Schema: "public", Table: "events_event", Keys: []indexdef.Key{indexdef.Asc("tenant_id"), indexdef.Descending("at")}, Name: "event_tenant_at_idx"}
	db := &DjangoDatabase{Partitioned: map[indexdef.Name]bool{ev.TableName(): true}}
	if _, err := EmitDjango([]indexdef.Def{ev}, DjangoOptions{AppsDir: apps, Database: db}); !errors.Is(err, ErrDjangoPartitioned) {
		t.Fatalf("no partition tree: %v, want ErrDjangoPartitioned", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(apps, "events", "migrations")); len(entries) != 2 {
		t.Errorf("the refused emit left %d files in the migrations folder", len(entries))
	}
}

// TestReadDjangoDatabase reads a database Django migrates: its content
// types, its applied migrations in order, which tables are partitioned
// and the columns' types; a database without Django's tables is no error.
func TestReadDjangoDatabase(t *testing.T) {
	ctx := context.Background()
	conn := testdb.Conn(t, testdb.NewDatabase(t))
	tables := []indexdef.Name{{Schema: "public", Name: "projects_task"}, {Schema: "public", Name: "events_event"}, {Schema: "public", Name: "missing"}}
	db, err := ReadDjangoDatabase(ctx, conn, tables)
	if err != nil || db.HasContentTypes || db.HasMigrations {
		t.Fatalf("a database without Django's tables: %+v, %v", db, err)
	}
	for _, sql := range []string{
		`CREATE TABLE django_content_type (id serial PRIMARY KEY, app_label varchar(100), model varchar(100))`,
		`INSERT INTO django_content_type (app_label, model) VALUES ('projects', 'task'), ('auth', 'user')`,
		`CREATE TABLE django_migrations (id bigserial PRIMARY KEY, app varchar(255), name varchar(255), applied timestamptz)`,
		`INSERT INTO django_migrations (app, name, applied) VALUES ('projects', '0001_initial', '2024-01-01'), ('projects', '0002_b', '2024-01-03'), ('projects', '0002_a', '2024-01-02')`,
		`CREATE TABLE projects_task (id bigint, status varchar(20), title text)`,
		`CREATE TABLE events_event (id bigint, at timestamptz) PARTITION BY RANGE (at)`,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	db, err = ReadDjangoDatabase(ctx, conn, tables)
	if err != nil {
		t.Fatal(err)
	}
	if !db.HasContentTypes || len(db.ContentTypes) != 2 || !db.hasModel("projects", "task") {
		t.Errorf("content types %+v", db.ContentTypes)
	}
	if latest, _ := db.Latest("projects"); latest != "0002_b" {
		t.Errorf("latest of projects %q, want 0002_b (the last applied of the highest number)", latest)
	}
	if !db.Partitioned[tables[1]] || db.Partitioned[tables[0]] {
		t.Errorf("partitioned %v", db.Partitioned)
	}
	if typ := db.Types[tables[0]]["status"]; typ != "character varying(20)" {
		t.Errorf("status is %q", typ)
	}
}
