package sqlscan

import (
	"errors"
	"strings"
	"testing"
)

// maxFuzzInput bounds each fuzz input so one input cannot stand for a hang.
const maxFuzzInput = 64 << 10

func FuzzScan(f *testing.F) {
	for _, s := range []string{
		"SELECT 1; SELECT 2",
		"SELECT ';' AS a, \"x;y\" FROM t -- c;\n; SELECT $$;$$, $tag$ $$ ; $tag$",
		"SELECT E'it\\'s;' ; /* nested /* ; */ ; */ SELECT $3",
		"SELECT U&\"d\\0061t\\+000061\" FROM x;",
		"select$1;select a$b$c from t",
		"SELECT 'open",
		"SELECT $1abc",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		if len(sql) > maxFuzzInput {
			t.Skip()
		}
		toks, err := Scan(sql)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Msg == "" || strings.ContainsAny(e.Msg, "\n\r") || e.Offset > len(sql) {
				t.Fatalf("error %#v", err)
			}
			return
		}
		at, line := 0, 1
		for _, k := range toks {
			if k.Start < at || k.End <= k.Start || sql[k.Start:k.End] != k.Text {
				t.Fatalf("token %+v after offset %d", k, at)
			}
			line += strings.Count(sql[at:k.Start], "\n")
			if k.Line != line {
				t.Fatalf("token %+v on line %d", k, line)
			}
			line += strings.Count(k.Text, "\n")
			at = k.End
		}
		stmts, err := Split(sql)
		if err != nil {
			t.Fatalf("Scan passes, Split fails: %v", err)
		}
		for _, s := range stmts {
			if s.Text == "" || sql[s.Start:s.Start+len(s.Text)] != s.Text {
				t.Fatalf("statement %+v", s)
			}
			again, err := Split(s.Text)
			if err != nil || len(again) != 1 || again[0].Text != s.Text || len(again[0].Tokens) != len(s.Tokens) {
				t.Fatalf("statement %q splits again into %d (%v)", s.Text, len(again), err)
			}
		}
	})
}
