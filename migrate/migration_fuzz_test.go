package migrate

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	atlasmigrate "ariga.io/atlas/sql/migrate"
)

// maxFuzzInput bounds each fuzz input so one input cannot stand for a hang.
const maxFuzzInput = 64 << 10

// migrationSeeds are migration files as `indexes plan` writes them and as
// people write them by hand.
var migrationSeeds = []string{
	"-- atlas:txmode none\n\n-- index for the commands list\nCREATE INDEX CONCURRENTLY IF NOT EXISTS \"ix_cmd_status\" ON \"public\".\"commands\" (\"status\", \"created_at\" DESC);\n",
	"CREATE UNIQUE INDEX ix ON ONLY s.t USING btree (lower(email) COLLATE \"C\" text_pattern_ops DESC NULLS LAST) INCLUDE (id) WITH (fillfactor = 90) TABLESPACE fast WHERE deleted_at IS NULL;\nDROP INDEX CONCURRENTLY IF EXISTS a, s.b;",
	"-- atlas:txmode all\nCREATE TABLE \"Order Items\" (\"Id\" int);\nALTER TABLE t ADD CONSTRAINT u UNIQUE (a);\nCREATE INDEX ON \"we\"\"ird;tbl\" (\"Mixed Case;Col\");",
	"-- atlas:txmode none\n-- atlas:txmode file\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\nCREATE INDEX i ON t USING gin ((data->'a'), (a + b));",
	"CREATE INDEX i ON t (a) WHERE b = 'it''s; fine' AND c = E'\\'';",
	"/* unterminated",
}

// renderIndex writes def back as a CREATE INDEX statement.
func renderIndex(def *IndexDef) string {
	var b strings.Builder
	b.WriteString("CREATE ")
	if def.Unique {
		b.WriteString("UNIQUE ")
	}
	b.WriteString("INDEX ")
	if def.Concurrently {
		b.WriteString("CONCURRENTLY ")
	}
	if def.IfNotExists {
		b.WriteString("IF NOT EXISTS ")
	}
	if def.Name != "" {
		b.WriteString(quoteIdent(def.Name) + " ")
	}
	b.WriteString("ON " + def.QualifiedTable() + " USING " + quoteIdent(def.Method) + " (")
	for i, k := range def.Keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k.String())
	}
	b.WriteString(")")
	if len(def.Include) > 0 {
		quoted := make([]string, len(def.Include))
		for i, c := range def.Include {
			quoted[i] = quoteIdent(c)
		}
		b.WriteString(" INCLUDE (" + strings.Join(quoted, ", ") + ")")
	}
	if def.Where != "" {
		b.WriteString(" WHERE " + def.Where)
	}
	return b.String()
}

func FuzzParseCreateIndex(f *testing.F) {
	for _, s := range migrationSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, stmt string) {
		if len(stmt) > maxFuzzInput {
			t.Skip()
		}
		def, err := ParseCreateIndex(stmt)
		if err != nil {
			return
		}
		if def.Table == "" || def.Method == "" {
			t.Fatalf("parsed index without table or method: %+v", def)
		}
		def.QualifiedName()
		def.Columns()
		// Written back with every name quoted, the index parses to itself.
		again := renderIndex(def)
		def2, err := ParseCreateIndex(again)
		if err != nil {
			t.Fatalf("rendered index does not parse: %v\n%s", err, again)
		}
		if !reflect.DeepEqual(def, def2) {
			t.Fatalf("round trip changed the index:\n%+v\n%+v\n%s", def, def2, again)
		}
	})
}

func FuzzReadMigration(f *testing.F) {
	for _, s := range migrationSeeds {
		f.Add(s)
	}
	if paths, _ := filepath.Glob("testdata/*/*.sql"); len(paths) > 0 {
		for _, p := range paths {
			if data, err := os.ReadFile(p); err == nil && len(data) <= maxFuzzInput {
				f.Add(string(data))
			}
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > maxFuzzInput {
			t.Skip()
		}
		m, err := readMigration(atlasmigrate.NewLocalFile("20260101000000_fuzz.sql", []byte(src)))
		if err != nil {
			return
		}
		if m.TxMode != strings.TrimSpace(m.TxMode) || (m.TxMode == "" && !strings.Contains(src, "atlas:txmode")) {
			t.Fatalf("txmode %q from:\n%s", m.TxMode, src)
		}
		prev := 0
		for _, s := range m.Statements {
			if s.Line < 1 || s.Line < prev {
				t.Fatalf("statement at line %d after line %d", s.Line, prev)
			}
			prev = s.Line
			Classify(s.SQL)
		}
		for _, ix := range m.Indexes {
			if ix.Table == "" {
				t.Fatalf("index without a table: %+v", ix)
			}
		}
	})
}
