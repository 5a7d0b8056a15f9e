package profiles

import (
	"errors"
	"os"
	"testing"

	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// maxFuzzInput bounds each fuzz input so one input cannot stand for a hang.
const maxFuzzInput = 64 << 10

func FuzzParse(f *testing.F) {
	for _, p := range []string{"hishamos.yaml", "testdata/example.yaml"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"name: x\nstatements:\n  - name: a\n    sql: SELECT $1\n    params:\n      - {kind: const, value: 1}\n",
		"name: x\nstatements:\n  - name: a\n    sql: [unclosed\n",
		"name: x\n---\nname: y\n",
		"- a\n- b\n",
		"name: x\nstatements:\n  - name: a\n    sql: SELECT * FROM \"we\"\"ird;tbl\" WHERE \"Mixed Col\" = $1\n    params:\n      - kind: choice\n        values: [1, \"two\", 3.5]\n",
		"a: &a [*a]\n",
		"name: x\nstatements: {}\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			t.Skip()
		}
		p, err := Parse("fuzz.yaml", data)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error is not an *Error: %T %v", err, err)
			}
			if pe.Line < 1 || pe.Column < 1 || pe.Msg == "" {
				t.Fatalf("error without a position or message: %+v", pe)
			}
			return
		}
		if p.Name == "" || len(p.Statements) == 0 {
			t.Fatalf("valid profile without a name or statements: %+v", p)
		}
		for _, s := range p.Statements {
			if _, err := sqlscan.ParseOne(s.SQL); err != nil {
				t.Fatalf("valid profile's statement %q: %v", s.Name, err)
			}
		}
	})
}
