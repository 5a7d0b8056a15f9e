package migrate

import (
	"strings"
	"testing"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// TestDjangoFormOfEachKindOfIndex: each kind of index as Django 3.2 says
// it (the text that goes both into the migration and into Meta.indexes),
// or why Django cannot say it. The real Django test
// (cmd/hishamos-perf TestDjangoProjectEndToEnd) runs the main forms
// through makemigrations --check and migrate; this one covers each
// translation.
func TestDjangoFormOfEachKindOfIndex(t *testing.T) {
	// The columns of the table as the database types them: email is a
	// varchar, so upper(email::text) is Upper("email").
	types := map[string]string{"email": "character varying(254)", "status": "character varying(20)", "n": "integer", "title": "text"}
	fields := map[string]string{"project_id": "project", "tenant_id": "tenant"}
	field := func(c string) string {
		if f, ok := fields[c]; ok {
			return f
		}
		return c
	}
	for _, c := range []struct {
		name  string
		sql   string
		types map[string]string
		want  string // the Python, or the start of why there is none
		none  bool
	}{
		{"columns by field name", `CREATE INDEX ON t (project_id, due_date)`, types,
			`models.Index(fields=["project", "due_date"], name="x")`, false},
		{"descending", `CREATE INDEX ON t (tenant_id, created_at DESC)`, types,
			`models.Index(fields=["tenant", "-created_at"], name="x")`, false},
		{"INCLUDE", `CREATE INDEX ON t (target_content_type_id, target_object_id) INCLUDE (verb, tenant_id)`, types,
			`models.Index(fields=["target_content_type_id", "target_object_id"], include=["verb", "tenant"], name="x")`, false},
		{"operator class", `CREATE INDEX ON t (name varchar_pattern_ops, id)`, types,
			`models.Index(fields=["name", "id"], opclasses=["varchar_pattern_ops", ""], name="x")`, false},
		{"expression, the cast PostgreSQL adds itself", `CREATE INDEX ON t (upper(email::text))`, types,
			`models.Index(Upper("email"), name="x")`, false},
		{"expression, column type unknown", `CREATE INDEX ON t (upper(email::text))`, nil,
			`models.Index(Upper(Cast("email", output_field=models.TextField())), name="x")`, false},
		{"expression of an integer cast", `CREATE INDEX ON t (lower(n::text))`, types,
			`models.Index(Lower(Cast("n", output_field=models.TextField())), name="x")`, false},
		{"expression with a column, descending", `CREATE INDEX ON t (lower(title), created_at DESC NULLS LAST)`, types,
			`models.Index(Lower("title"), models.F("created_at").desc(nulls_last=True), name="x")`, false},
		{"column in NULLS FIRST order", `CREATE INDEX ON t (a NULLS FIRST)`, types,
			`models.Index(models.F("a").asc(nulls_first=True), name="x")`, false},
		{"coalesce with a constant", `CREATE INDEX ON t (coalesce(title, 'x'))`, types,
			`models.Index(Coalesce("title", models.Value("x")), name="x")`, false},
		{"collation", `CREATE INDEX ON t (title COLLATE "C")`, types,
			`models.Index(Collate(models.F("title"), "C"), name="x")`, false},
		{"partial, equality", `CREATE INDEX ON t (project_id) WHERE status = 'open'`, types,
			`models.Index(fields=["project"], condition=models.Q(status="open"), name="x")`, false},
		{"partial, the cast PostgreSQL adds itself", `CREATE INDEX ON t (project_id) WHERE status::text = 'open'::text`, types,
			`models.Index(fields=["project"], condition=models.Q(status="open"), name="x")`, false},
		{"partial, boolean, NULL, AND", `CREATE INDEX ON t (a) WHERE is_active AND deleted_at IS NULL AND n > 5`, types,
			`models.Index(fields=["a"], condition=models.Q(is_active=True) & models.Q(deleted_at__isnull=True) & models.Q(n__gt=5), name="x")`, false},
		{"partial, OR, NOT, IN, <>", `CREATE INDEX ON t (a) WHERE (status IN ('a', 'b') OR NOT is_active) AND tenant_id <> 3 AND 10 <= n`, types,
			`models.Index(fields=["a"], condition=(models.Q(status__in=["a", "b"]) | ~models.Q(is_active=True)) & ~models.Q(tenant=3) & models.Q(n__gte=10), name="x")`, false},
		{"partial on a column named as a Python keyword", `CREATE INDEX ON t (a) WHERE "class" = 1`, types,
			`models.Index(fields=["a"], condition=models.Q(**{"class": 1}), name="x")`, false},
		{"hash", `CREATE INDEX ON t USING hash (token)`, types,
			`HashIndex(fields=["token"], name="x")`, false},
		{"gin", `CREATE INDEX ON t USING gin (data jsonb_path_ops)`, types,
			`GinIndex(fields=["data"], opclasses=["jsonb_path_ops"], name="x")`, false},
		{"unique", `CREATE UNIQUE INDEX ON t (a)`, types, "a unique index", true},
		{"operator class on an expression", `CREATE INDEX ON t (lower(title) text_pattern_ops)`, types, "operator class text_pattern_ops on an expression", true},
		{"unknown function", `CREATE INDEX ON t (date_trunc('day', created_at))`, types, "expression date_trunc('day', created_at): Django has no function", true},
		{"cast of a column to text, type unknown, in a predicate", `CREATE INDEX ON t (a) WHERE status::text = 'x'`, nil, "predicate", true},
		{"predicate on an expression", `CREATE INDEX ON t (a) WHERE lower(title) = 'x'`, types, "predicate", true},
		{"method Django has no class for", `CREATE INDEX ON t USING bloom (a)`, types, "access method bloom", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := sqlscan.ParseOne(c.sql)
			if err != nil || p.Index == nil {
				t.Fatalf("parse %s: %v", c.sql, err)
			}
			def := *p.Index
			form, err := djangoForm(&def, field, c.types)
			why, none := isNoForm(err)
			switch {
			case err != nil && !none:
				t.Fatalf("djangoForm: %v", err)
			case none != c.none:
				t.Fatalf("no form: %t (%s), want %t", none, why, c.none)
			case none:
				if !strings.HasPrefix(why, c.want) {
					t.Errorf("why = %q, want it to start %q", why, c.want)
				}
				return
			}
			form.name = "x"
			if got := form.Python(); got != c.want {
				t.Errorf("form:\n got %s\nwant %s", got, c.want)
			}
		})
	}
}

// TestDjangoIndexNameIsDjangosOwn: a name that fits is kept; a longer one
// takes Django's own shape, for a plain index of columns exactly the name
// Django gives it unnamed (Index.set_name_with_model: these were printed
// by Django 3.2), and two indexes Django makes the author name that share
// a first column differ.
func TestDjangoIndexNameIsDjangosOwn(t *testing.T) {
	for _, c := range []struct {
		def  indexdef.Def
		want string
	}{
		{indexdef.Def{Table: "projects_task", Name: "task_due_idx", Keys: []indexdef.Key{indexdef.Asc("due_date")}}, "task_due_idx"},
		{indexdef.Def{Table: "projects_task", Name: "projects_task_project_id_due_date_idx", Keys: []indexdef.Key{indexdef.Asc("project_id"), indexdef.Asc("due_date")}}, "projects_ta_project_6695a1_idx"},
		{indexdef.Def{Table: "activity_activitylog", Keys: []indexdef.Key{indexdef.Asc("tenant_id"), indexdef.Descending("created_at")}}, "activity_ac_tenant__0c4418_idx"},
		{indexdef.Def{Table: "agents_agentexecution", Name: "_starts_badly", Keys: []indexdef.Key{indexdef.Asc("user_id"), indexdef.Descending("created_at")}}, "agents_agen_user_id_f7e09d_idx"},
		{indexdef.Def{Table: "2fa_device", Keys: []indexdef.Key{indexdef.Asc("user_id")}}, "Dfa_device_user_id_"},
	} {
		got := djangoIndexName(&c.def)
		if !strings.HasPrefix(got, c.want) || len(got) > DjangoMaxIndexName {
			t.Errorf("djangoIndexName(%s %q) = %q, want %q", c.def.Describe(), c.def.Name, got, c.want)
		}
	}
	full := indexdef.Def{Table: "projects_task", Keys: []indexdef.Key{indexdef.Asc("project_id")}}
	partial := full
	partial.Where = "status = 'open'"
	covering := full
	covering.Include = []string{"due_date"}
	names := map[string]bool{djangoIndexName(&full): true, djangoIndexName(&partial): true, djangoIndexName(&covering): true}
	if len(names) != 3 {
		t.Errorf("a full, a partial and a covering index on the same column share a name: %v", names)
	}
}
