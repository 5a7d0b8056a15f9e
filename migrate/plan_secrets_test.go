package migrate

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestPlanQuotesOddNames is the regression test for names Atlas's builder
// quoted without doubling their double quotes (an index named
// `a"; DROP TABLE t; --` ended its identifier early), for names with a line
// break written into the file's "--" header, and for names with a '/' put
// in the file name. Planned, each file parses back to the index asked for,
// and stays in the directory.
func TestPlanQuotesOddNames(t *testing.T) {
	specs := []IndexSpec{
		{Name: `ix"; DROP TABLE canary; --`, Schema: `Odd "Schema"`, Table: `we"ird;tbl`, Columns: []string{`"Mixed ""Case"""`, `"sp ace;col" DESC`}, Include: []string{`"In""cl"`}},
		{Name: "two\nDROP TABLE canary; --", Schema: "public", Table: "t", Columns: []string{"a"}},
		{Name: "../../escape/ix", Schema: "public", Table: "t", Columns: []string{"b"}},
	}
	want := []*IndexDef{
		{Name: `ix"; DROP TABLE canary; --`, Schema: `Odd "Schema"`, Table: `we"ird;tbl`, Method: "btree", Keys: []IndexKey{{Column: `Mixed "Case"`}, {Column: "sp ace;col", Desc: true, NullsFirst: true}}, Include: []string{`In"cl`}, Concurrently: true, IfNotExists: true},
		{Name: "two\nDROP TABLE canary; --", Schema: "public", Table: "t", Method: "btree", Keys: []IndexKey{{Column: "a"}}, Concurrently: true, IfNotExists: true},
		{Name: "../../escape/ix", Schema: "public", Table: "t", Method: "btree", Keys: []IndexKey{{Column: "b"}}, Concurrently: true, IfNotExists: true},
	}
	dir := filepath.Join(t.TempDir(), "migrations")
	res, err := Plan(t.Context(), dir, specs, PlanOptions{Name: "odd"})
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
		got, err := ParseCreateIndex(stmts[0].SQL)
		if err != nil {
			t.Fatalf("%s does not parse: %v\n%s", f.File, err, data)
		}
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("%s:\n got %+v\nwant %+v\n%s", f.File, got, want[i], data)
		}
		down, err := os.ReadFile(filepath.Join(dir, DownDir, f.File))
		if err != nil {
			t.Fatal(err)
		}
		dstmts, err := scanStmts(string(down))
		if err != nil || len(dstmts) != 1 {
			t.Fatalf("down %s: %d statements (%v), want 1:\n%s", f.File, len(dstmts), err, down)
		}
		c, err := Classify(dstmts[0].SQL)
		if err != nil || c.Kind != StmtDropIndex || len(c.DropNames) != 1 || c.DropNames[0] != want[i].QualifiedName() {
			t.Errorf("down %s drops %+v (%v), want %q:\n%s", f.File, c.DropNames, err, want[i].Name, down)
		}
	}
}

// TestParseCreateIndexNullsAlone is the regression test for the fuzzer's
// crasher testdata/fuzz/FuzzParseCreateIndex/193b5c9b4f87f5bb: NULLS with
// neither FIRST nor LAST after a key sliced the statement backwards and
// panicked. It is an error now.
func TestParseCreateIndexNullsAlone(t *testing.T) {
	for _, stmt := range []string{
		"CREATE INDEX ON A(A NULLS )0",
		"CREATE INDEX ix ON t (a NULLS)",
		"CREATE INDEX ix ON t ((a + 1) NULLS, b)",
		"CREATE INDEX ix ON t (lower(a) DESC NULLS)",
	} {
		if _, err := ParseCreateIndex(stmt); err == nil || !strings.Contains(err.Error(), `unexpected "NULLS"`) && !strings.Contains(err.Error(), `unexpected "nulls"`) {
			t.Errorf("%q: err = %v, want unexpected NULLS", stmt, err)
		}
	}
}

// TestParseCreateIndexEmptyNames is the regression test for the fuzzer's
// testdata/fuzz/FuzzParseCreateIndex/331fa6c90acfb1a1: `CREATE INDEX ""
// ON "" ()` parsed into an index with no name, no table and no columns,
// which PostgreSQL refuses. Both are errors now.
func TestParseCreateIndexEmptyNames(t *testing.T) {
	for stmt, want := range map[string]string{
		`CREATE INDEX""ON""()`:          "zero-length quoted identifier",
		`CREATE INDEX ix ON "" (a)`:     "zero-length quoted identifier",
		`CREATE INDEX ix ON t ("")`:     "zero-length quoted identifier",
		`CREATE INDEX ix ON t ()`:       "at least one column",
		`CREATE INDEX ix ON t () WHERE`: "at least one column",
	} {
		if _, err := ParseCreateIndex(stmt); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", stmt, err, want)
		}
	}
}
