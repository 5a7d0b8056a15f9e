package widetable

import (
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// TestStatementsDistinctAndStable checks what the advisor's scale
// benchmark relies on: n statements that parse, no two with the same
// fingerprint (the advisor would group them), the same for the same seed,
// and a larger workload starting with a smaller one.
func TestStatementsDistinctAndStable(t *testing.T) {
	const n = 5000
	all := Statements(n, 1)
	if len(all) != n {
		t.Fatalf("%d statements, want %d", len(all), n)
	}
	seen := map[string]string{}
	for _, s := range all {
		fp, err := sqlscan.Fingerprint(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if other, ok := seen[fp]; ok {
			t.Fatalf("same fingerprint:\n%s\n%s", other, s)
		}
		seen[fp] = s
	}
	again := Statements(200, 1)
	for i := range again {
		if again[i] != all[i] {
			t.Fatalf("statement %d differs between runs or sizes:\n%s\n%s", i, again[i], all[i])
		}
	}
	if other := Statements(200, 2); other[0] == again[0] && other[1] == again[1] {
		t.Errorf("seeds 1 and 2 start alike: %s", other[0])
	}
}

// TestSchemaHasEveryColumn checks the table has Columns columns, each
// filled by the INSERT.
func TestSchemaHasEveryColumn(t *testing.T) {
	sql := Schema(1000, 1)
	tree, err := sqlscan.ParseTree(sql)
	if err != nil {
		t.Fatal(err)
	}
	var create *pg_query.CreateStmt
	var insert *pg_query.InsertStmt
	for _, st := range tree.Stmts {
		if c := st.Stmt.GetCreateStmt(); c != nil {
			create = c
		}
		if i := st.Stmt.GetInsertStmt(); i != nil {
			insert = i
		}
	}
	if create == nil || insert == nil {
		t.Fatalf("no CREATE TABLE or INSERT in:\n%s", sql)
	}
	if len(create.TableElts) != Columns {
		t.Errorf("%d columns, want %d", len(create.TableElts), Columns)
	}
	if got := len(insert.SelectStmt.GetSelectStmt().TargetList); got != Columns {
		t.Errorf("the INSERT fills %d columns, want %d", got, Columns)
	}
	if !strings.Contains(sql, "generate_series(1::bigint, 1000)") {
		t.Errorf("the INSERT does not make 1000 rows:\n%s", sql)
	}
}
