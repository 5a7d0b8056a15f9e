package migrate

import (
	"os"
	"path/filepath"
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
			p, err := s.Parsed()
			if err == nil && p.Index != nil && p.Index.Table == "" {
				t.Fatalf("an index without a table: %+v", p.Index)
			}
		}
		for _, ix := range m.Indexes {
			if ix.Table == "" {
				t.Fatalf("index without a table: %+v", ix)
			}
		}
	})
}
