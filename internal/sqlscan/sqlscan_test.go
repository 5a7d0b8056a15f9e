package sqlscan

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// tok is a token without its offsets, for compact tables.
type tok struct {
	Kind  Kind
	Value string
}

func kinds(t *testing.T, sql string) []tok {
	t.Helper()
	toks, err := Scan(sql)
	if err != nil {
		t.Fatalf("Scan(%q): %v", sql, err)
	}
	var out []tok
	for _, k := range toks {
		if sql[k.Start:k.End] != k.Text {
			t.Errorf("Scan(%q): token %q at %d-%d, text there is %q", sql, k.Text, k.Start, k.End, sql[k.Start:k.End])
		}
		out = append(out, tok{k.Kind, k.Value})
	}
	return out
}

func TestScan(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		want []tok
	}{
		{"SELECT a FROM T", []tok{{Keyword, "select"}, {Ident, "a"}, {Keyword, "from"}, {Ident, "t"}}},
		{"Ärger ÄB", []tok{{Ident, "Ärger"}, {Ident, "Äb"}}}, // PostgreSQL folds ASCII only in UTF-8
		{`SELECT 'it''s', E'it\'s', 'a\'`, []tok{{Keyword, "select"}, {String, `'it''s'`}, {Punct, ","}, {String, `E'it\'s'`}, {Punct, ","}, {String, `'a\'`}}},
		{"SELECT $$ a ' b $$, $fn$ $$ ; $fn$", []tok{{Keyword, "select"}, {String, "$$ a ' b $$"}, {Punct, ","}, {String, "$fn$ $$ ; $fn$"}}},
		{"SELECT /* a /* b */ c */ 1 -- d\n", []tok{{Keyword, "select"}, {Number, "1"}}},
		{`SELECT "we""ird", "Mixed Case", U&"d\0061t"`, []tok{{Keyword, "select"}, {QuotedIdent, `we"ird`}, {Punct, ","}, {QuotedIdent, "Mixed Case"}, {Punct, ","}, {QuotedIdent, `d\0061t`}}},
		{"SELECT $1, $12, a$1, $tag$x$tag$", []tok{{Keyword, "select"}, {Param, "1"}, {Punct, ","}, {Param, "12"}, {Punct, ","}, {Ident, "a$1"}, {Punct, ","}, {String, "$tag$x$tag$"}}},
		{"x::int <= 1.5e3 AND a->>'k' [1]", []tok{{Ident, "x"}, {Op, "::"}, {Keyword, "int"}, {Op, "<="}, {Number, "1.5e3"}, {Keyword, "and"}, {Ident, "a"}, {Op, "->>"}, {String, "'k'"}, {Punct, "["}, {Number, "1"}, {Punct, "]"}}},
		{"", nil},
		{"-- only a comment", nil},
	} {
		if diff := cmp.Diff(tc.want, kinds(t, tc.sql)); diff != "" {
			t.Errorf("Scan(%q) (-want +got):\n%s", tc.sql, diff)
		}
	}
}

func TestScanParamNumber(t *testing.T) {
	toks, err := Scan("$7 + $99999999999")
	if err != nil {
		t.Fatal(err)
	}
	if got := toks[0].ParamNumber(); got != 7 {
		t.Errorf("$7: ParamNumber = %d", got)
	}
	if toks[2].Kind != Param || toks[2].Value != "99999999999" {
		t.Errorf("$99999999999: %+v", toks[2])
	}
	if got := toks[1].ParamNumber(); got != 0 {
		t.Errorf("+: ParamNumber = %d", got)
	}
}

func TestScanLines(t *testing.T) {
	sql := "SELECT 'one\ntwo\nthree',\n  \"a\nb\", $x$\n$x$ /* c\n */ z"
	toks, err := Scan(sql)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, k := range toks {
		got = append(got, k.Line)
	}
	if diff := cmp.Diff([]int{1, 1, 3, 4, 5, 5, 7}, got); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
}

func TestScanErrors(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		kind ErrorKind
		msg  string
		line int
	}{
		{"SELECT\n'abc", UnterminatedString, "unterminated string literal starting at offset 7", 2},
		{`SELECT E'abc\'`, UnterminatedString, "unterminated string literal starting at offset 7", 1},
		{"SELECT ö 'abc", UnterminatedString, "unterminated string literal starting at offset 10", 1},
		{`SELECT "ab""c`, UnterminatedQuotedIdent, "unterminated quoted identifier starting at offset 7", 1},
		{"SELECT /* a /* b */ c", UnterminatedComment, "unterminated comment starting at offset 7", 1},
		{"SELECT\n\n$fn$ a $f$", UnterminatedDollarQuote, "unterminated dollar-quoted string $fn$ starting at offset 8", 3},
		{`SELECT ""`, Invalid, "zero-length quoted identifier at offset 7", 1},
		{"SELECT $1abc", Invalid, "trailing junk after parameter $1 at offset 7", 1},
		{"SELECT 1abc", Invalid, "trailing junk after numeric literal at offset 7", 1},
	} {
		_, err := Scan(tc.sql)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Scan(%q) = %v, want an *Error", tc.sql, err)
			continue
		}
		if e.Kind != tc.kind || e.Error() != tc.msg || e.Line != tc.line {
			t.Errorf("Scan(%q) = kind %d %q line %d, want kind %d %q line %d", tc.sql, e.Kind, e.Error(), e.Line, tc.kind, tc.msg, tc.line)
		}
		if e.Unterminated() != (tc.kind != Invalid) {
			t.Errorf("Scan(%q): Unterminated() = %v", tc.sql, e.Unterminated())
		}
	}
}

func TestSplit(t *testing.T) {
	in := `-- the list view
SELECT * FROM t WHERE a = 'x;y';
/* a block; with /* nested */ comment */ SELECT $$ ; $$, $tag$ ; $tag$;

SELECT "semi;colon" FROM t WHERE b = E'it\'s; fine'
  AND c = 'it''s
;'  ;
   ;
-- only a comment;
INSERT INTO t VALUES ($1) -- trailing`
	got, err := Split(in)
	if err != nil {
		t.Fatal(err)
	}
	type stmt struct {
		Text       string
		Line       int
		FirstToken string
	}
	var short []stmt
	for _, s := range got {
		if in[s.Start:s.Start+len(s.Text)] != s.Text {
			t.Errorf("statement %q: Start %d points at %q", s.Text, s.Start, in[s.Start:])
		}
		short = append(short, stmt{s.Text, s.Line, s.Tokens[0].Text})
	}
	want := []stmt{
		{"SELECT * FROM t WHERE a = 'x;y'", 2, "SELECT"},
		{"SELECT $$ ; $$, $tag$ ; $tag$", 3, "SELECT"},
		{"SELECT \"semi;colon\" FROM t WHERE b = E'it\\'s; fine'\n  AND c = 'it''s\n;'", 5, "SELECT"},
		{"INSERT INTO t VALUES ($1) -- trailing", 10, "INSERT"},
	}
	if diff := cmp.Diff(want, short); diff != "" {
		t.Errorf("Split (-want +got):\n%s", diff)
	}
	if n := len(got[3].Tokens); n != 7 {
		t.Errorf("INSERT has %d tokens, want 7", n)
	}
	for _, empty := range []string{"", " ; ;", "-- x;\n/* y; */;"} {
		if got, err := Split(empty); err != nil || len(got) != 0 {
			t.Errorf("Split(%q) = %v, %v; want nothing", empty, got, err)
		}
	}
	if _, err := Split("SELECT 1; SELECT 'open"); err == nil {
		t.Error("Split of an unterminated string: no error")
	}
}

// TestAdversarialNULByte: a NUL byte anywhere in SQL text, a comment
// included, is refused with its line, before anything reaches the server
// (which refuses the whole message with a protocol error, 08P01).
func TestAdversarialNULByte(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		line int
	}{
		{"SELECT 1;\nSELECT 2;\nSELECT \x00 3", 3},
		{"SELECT 'a\x00b'", 1},
		{"SELECT 1; -- a comment\x00\nSELECT 2", 1},
		{"\x00", 1},
	} {
		for name, scan := range map[string]func(string) error{
			"Scan":  func(s string) error { _, err := Scan(s); return err },
			"Split": func(s string) error { _, err := Split(s); return err },
		} {
			var e *Error
			if err := scan(tc.sql); !errors.As(err, &e) || e.Kind != NulByte || e.Line != tc.line || tc.sql[e.Offset] != 0 {
				t.Errorf("%s(%q) = %v, want a NUL byte error on line %d", name, tc.sql, err, tc.line)
			}
		}
	}
}
