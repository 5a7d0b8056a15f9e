package analyze

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplitSQL(t *testing.T) {
	in := `-- the list view
SELECT * FROM t WHERE a = 'x;y';
/* a block; with /* nested */ comment */ SELECT $$ ; $$, $tag$ ; $tag$;

SELECT "semi;colon" FROM t WHERE b = E'it\'s; fine'
  AND c = 'it''s';
   ;
-- only a comment;
INSERT INTO t VALUES (1)`
	got, err := SplitSQL("w.sql", in)
	if err != nil {
		t.Fatal(err)
	}
	want := []Source{
		{SQL: "SELECT * FROM t WHERE a = 'x;y'", File: "w.sql", Line: 2, Index: 1},
		{SQL: "SELECT $$ ; $$, $tag$ ; $tag$", File: "w.sql", Line: 3, Index: 2},
		{SQL: "SELECT \"semi;colon\" FROM t WHERE b = E'it\\'s; fine'\n  AND c = 'it''s'", File: "w.sql", Line: 5, Index: 3},
		{SQL: "INSERT INTO t VALUES (1)", File: "w.sql", Line: 9, Index: 4},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SplitSQL (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"SELECT 'open", `SELECT "open`, "SELECT /* open", "SELECT $x$ open"} {
		if _, err := SplitSQL("", bad); !errors.Is(err, ErrSQLText) {
			t.Errorf("SplitSQL(%q) = %v, want ErrSQLText", bad, err)
		}
	}
}

func TestLineCol(t *testing.T) {
	s := "SELECT *\n  FORM t"
	for _, c := range []struct{ pos, line, col int }{{0, 1, 1}, {7, 1, 8}, {11, 2, 3}} {
		if l, col := lineCol(s, c.pos); l != c.line || col != c.col {
			t.Errorf("lineCol(%d) = %d:%d, want %d:%d", c.pos, l, col, c.line, c.col)
		}
	}
}

// TestSplitSQLRefused: text PostgreSQL's lexer refuses though nothing is
// left open is an ErrSQLText too, without the word "unterminated".
func TestSplitSQLRefused(t *testing.T) {
	for in, want := range map[string]string{
		"SELECT 1;\nSELECT \"\" FROM t": `bad SQL: zero-length quoted identifier (line 2)`,
		"SELECT 1abc":                   `bad SQL: trailing junk after numeric literal (line 1)`,
		"SELECT $1x":                    `bad SQL: trailing junk after parameter $1 (line 1)`,
		"SELECT 1;\n\nSELECT $fn$ open": `unterminated SQL: a $fn$ quote starting on line 3 is not closed`,
		"SELECT 1 --\r/* not a comment": `unterminated SQL: a /* comment is not closed (line 1)`,
	} {
		_, err := SplitSQL("", in)
		if !errors.Is(err, ErrSQLText) || err.Error() != want {
			t.Errorf("SplitSQL(%q) = %v, want %q", in, err, want)
		}
	}
}

// TestSplitSQLAnnotations: the `-- name:` and `-- weight:` comments right
// above a statement name and weigh it (the nearest line of each counting,
// through blank and comment lines, never past another statement); a
// weight that is not a number of 0 or more is refused with its line.
func TestSplitSQLAnnotations(t *testing.T) {
	in := `-- name: login
-- weight: 250
SELECT 1;

-- weight: 8
-- a note between

-- name: pending
SELECT 2; -- name: not_this_one
SELECT 3;
-- weight: 0.5
-- name: rare
SELECT 4`
	got, err := SplitSQL("w.sql", in)
	if err != nil {
		t.Fatal(err)
	}
	w := func(v float64) *float64 { return &v }
	want := []Source{
		{SQL: "SELECT 1", File: "w.sql", Line: 3, Index: 1, Name: "login", Weight: w(250)},
		{SQL: "SELECT 2", File: "w.sql", Line: 9, Index: 2, Name: "pending", Weight: w(8)},
		{SQL: "SELECT 3", File: "w.sql", Line: 10, Index: 3},
		{SQL: "SELECT 4", File: "w.sql", Line: 13, Index: 4, Name: "rare", Weight: w(0.5)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SplitSQL (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"-1", "often", "NaN", "Inf", ""} {
		_, err := SplitSQL("w.sql", "SELECT 1;\n-- weight: "+bad+"\nSELECT 2")
		if !errors.Is(err, ErrAnnotation) || !strings.Contains(err.Error(), "w.sql:3: -- weight: ") {
			t.Errorf("weight %q: %v, want ErrAnnotation at w.sql:3", bad, err)
		}
	}
}
