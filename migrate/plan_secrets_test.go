package migrate

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// TestPlanQuotesOddNames is the regression test for names Atlas's builder
// quoted without doubling their double quotes (an index named
// `a"; DROP TABLE t; --` ended its identifier early), for names with a line
// break written into the file's "--" header, and for names with a '/' put
// in the file name. Planned, each file parses back to the index asked for,
// and stays in the directory.
func TestPlanQuotesOddNames(t *testing.T) {
	specs := []spec{
		{Name: `ix"; DROP TABLE canary; --`, Schema: `Odd "Schema"`, Table: `we"ird;tbl`, Columns: []string{`"Mixed ""Case"""`, `"sp ace;col" DESC`}, Include: []string{`"In""cl"`}},
		{Name: "two\nDROP TABLE canary; --", Schema: "public", Table: "t", Columns: []string{"a"}},
		{Name: "../../escape/ix", Schema: "public", Table: "t", Columns: []string{"b"}},
	}
	want := []*indexdef.Def{
		{Name: `ix"; DROP TABLE canary; --`, Schema: `Odd "Schema"`, Table: `we"ird;tbl`, Method: "btree", Keys: []indexdef.Key{{Column: `Mixed "Case"`}, {Column: "sp ace;col", Desc: true, NullsFirst: true}}, Include: []string{`In"cl`}},
		{Name: "two\nDROP TABLE canary; --", Schema: "public", Table: "t", Method: "btree", Keys: []indexdef.Key{{Column: "a"}}},
		{Name: "../../escape/ix", Schema: "public", Table: "t", Method: "btree", Keys: []indexdef.Key{{Column: "b"}}},
	}
	dir := filepath.Join(t.TempDir(), "migrations")
	res, err := Plan(t.Context(), dir, defs(specs...), PlanOptions{Name: "odd"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != len(specs) {
		t.Fatalf("planned %d files, want %d", len(res.Files), len(specs))
	}
	for i, f := range res.Files {
		if strings.ContainsAny(f.File, "/\\\n\"; ") {
			t.Errorf("file name %q holds a character that is not safe in a path", f.File)
		}
		path := filepath.Join(dir, f.File)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("file %d not in the directory: %v", i, err)
		}
		stmts, err := scanStmts(string(data))
		if err != nil || len(stmts) != 1 {
			t.Fatalf("%s: %d statements (%v), want 1:\n%s", f.File, len(stmts), err, data)
		}
		got, err := stmts[0].Parsed()
		if err != nil || got.Index == nil || !got.Concurrently || !got.IfExists {
			t.Fatalf("%s is no CREATE INDEX CONCURRENTLY IF NOT EXISTS: %+v, %v\n%s", f.File, got, err, data)
		}
		if !reflect.DeepEqual(got.Index, want[i]) {
			t.Errorf("%s:\n got %+v\nwant %+v\n%s", f.File, got.Index, want[i], data)
		}
		down, err := os.ReadFile(filepath.Join(dir, DownDir, f.File))
		if err != nil {
			t.Fatal(err)
		}
		dstmts, err := scanStmts(string(down))
		if err != nil || len(dstmts) != 1 {
			t.Fatalf("down %s: %d statements (%v), want 1:\n%s", f.File, len(dstmts), err, down)
		}
		c, err := dstmts[0].Parsed()
		if err != nil || c.Kind != sqlscan.KindDropIndex || len(c.DropIndexes) != 1 || c.DropIndexes[0] != want[i].IndexName() {
			t.Errorf("down %s drops %+v (%v), want %q:\n%s", f.File, c, err, want[i].Name, down)
		}
	}
}
