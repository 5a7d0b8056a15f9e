package indexes_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hishamos/hishamos-perf/indexes"
	"github.com/hishamos/hishamos-perf/profiles"
)

func TestParseSQLBadStatementOthersGoOn(t *testing.T) {
	sql := `SELECT id FROM orders WHERE org_id = 1;
-- the second one is broken
SELECT id FORM orders WHERE org_id = 2;
SELECT id FROM orders WHERE org_id = 3 ORDER BY created_at DESC LIMIT 5;
`
	w, err := indexes.ParseSQL("slow.sql", sql)
	if err != nil {
		t.Fatal(err)
	}
	errs := w.ParseErrors()
	if len(errs) != 1 {
		t.Fatalf("parse errors = %v, want one", errs)
	}
	pe := errs[0]
	if pe.File != "slow.sql" || pe.Number != 2 || pe.Line != 3 || !strings.Contains(pe.Message, `syntax error at or near "orders"`) {
		t.Errorf("parse error = %+v", pe)
	}
	if got, want := pe.Error(), `slow.sql: statement 2 (line 3): syntax error at or near "orders"`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if len(w.Statements) != 2 {
		t.Errorf("statements = %d, want the two good ones", len(w.Statements))
	}
}

func TestParseSQLGroupsAndSkips(t *testing.T) {
	sql := `SELECT * FROM t WHERE a = 1;
SELECT * FROM t WHERE a = 2;
select * from t where a = $1;
INSERT INTO t (a) VALUES (1);
UPDATE t SET b = 1;
DELETE FROM t WHERE a = 5;
SELECT count(*) FROM t;
CREATE INDEX ON t (a);
`
	w, err := indexes.ParseSQL("w.sql", sql)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range w.Statements {
		got = append(got, s.Origin+" weight "+strconv.FormatFloat(s.Weight, 'g', -1, 64))
	}
	want := []string{"w.sql:1 weight 3", "w.sql:6 weight 1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statements (-want +got):\n%s", diff)
	}
	var reasons []string
	for _, s := range w.Skipped {
		reasons = append(reasons, s.Origin+": "+s.Reason)
	}
	wantReasons := []string{
		"w.sql:4: INSERT: only SELECT, UPDATE and DELETE with a WHERE clause are indexed for",
		"w.sql:5: UPDATE without a WHERE clause an index can serve",
		"w.sql:7: a SELECT with nothing an index serves (no WHERE, join, ORDER BY or GROUP BY on a table)",
		"w.sql:8: CREATE INDEX: only SELECT, UPDATE and DELETE with a WHERE clause are indexed for",
	}
	if diff := cmp.Diff(wantReasons, reasons); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
}

func TestParseSQLUnterminated(t *testing.T) {
	_, err := indexes.ParseSQL("bad.sql", "SELECT 'oops FROM t WHERE a = 1;")
	if !errors.Is(err, indexes.ErrBadWorkload) {
		t.Fatalf("err = %v, want ErrBadWorkload", err)
	}
}

func TestFromProfileHishamOS(t *testing.T) {
	p, err := profiles.Load("hishamos")
	if err != nil {
		t.Fatal(err)
	}
	w := indexes.FromProfile(p)
	if len(w.Skipped) != 0 {
		t.Errorf("skipped: %+v", w.Skipped)
	}
	byName := map[string]float64{}
	for _, s := range w.Statements {
		byName[s.Name] = s.Weight
	}
	// The after half of the list pair is in, the before half is not, and
	// the pagination count follows the list once per request.
	if _, ok := byName["command_templates_list_before"]; ok {
		t.Error("the before half of a pair is in the workload")
	}
	if byName["command_templates_count"] != byName["command_templates_list_after"] || byName["command_templates_count"] == 0 {
		t.Errorf("command_templates_count weight %v, list_after %v", byName["command_templates_count"], byName["command_templates_list_after"])
	}
	if len(w.Statements) != 17 {
		t.Errorf("%d statements, want 17", len(w.Statements))
	}
}
