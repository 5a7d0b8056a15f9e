package analyze

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// maxFuzzInput bounds each fuzz input so one input cannot stand for a hang.
const maxFuzzInput = 64 << 10

// sqlSeeds are .sql workloads from the repository, for the splitter's corpus.
var sqlSeeds = []string{
	"../testdata/hishamos/schema.sql",
	"../indexes/testdata/small.sql",
	"../profiles/testdata/fixture.sql",
}

func addFileSeeds(f *testing.F, paths ...string) {
	f.Helper()
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatalf("seed %s: %v", p, err)
		}
		if len(data) > maxFuzzInput {
			data = data[:maxFuzzInput]
		}
		f.Add(string(data))
	}
}

func FuzzSplitSQL(f *testing.F) {
	addFileSeeds(f, sqlSeeds...)
	for _, s := range []string{
		"SELECT 1; SELECT 2",
		"SELECT ';' AS a, \"x;y\" FROM t -- c;\n; SELECT $$;$$, $tag$ $$ ; $tag$",
		"SELECT E'it\\'s;' ; /* nested /* ; */ ; */ SELECT 3",
		"-- only a comment;\n/* and another */;",
		"SELECT * FROM t WHERE a = $1 AND b = $2",
		"SELECT 'unterminated",
		"SELECT U&\"d\\0061t\\+000061\" FROM x;",
		"select$1;select a$b$c from t",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > maxFuzzInput {
			t.Skip()
		}
		srcs, err := SplitSQL("w.sql", text)
		if err != nil {
			if !errors.Is(err, ErrSQLText) {
				t.Fatalf("error does not wrap ErrSQLText: %v", err)
			}
			return
		}
		prevLine := 0
		for i, s := range srcs {
			if s.Index != i+1 {
				t.Fatalf("statement %d has Index %d", i+1, s.Index)
			}
			// PostgreSQL's white space is ASCII: U+3000 is a name to it.
			if s.SQL == "" || s.SQL != strings.Trim(s.SQL, " \t\n\r\f\v") {
				t.Fatalf("statement %d is empty or untrimmed: %q", i+1, s.SQL)
			}
			if s.Line < 1 || s.Line < prevLine || s.Line > 1+strings.Count(text, "\n") {
				t.Fatalf("statement %d starts on line %d (previous %d)", i+1, s.Line, prevLine)
			}
			prevLine = s.Line
			classify(s)
		}
		// Splitting the statements again, each on its own, gives them back.
		for i, s := range srcs {
			again, err := SplitSQL("", s.SQL)
			if err != nil {
				t.Fatalf("statement %d no longer splits: %v\n%q", i+1, err, s.SQL)
			}
			if len(again) != 1 || again[0].SQL != s.SQL {
				t.Fatalf("statement %d splits into %d: %q", i+1, len(again), s.SQL)
			}
		}
	})
}

func FuzzParsePlan(f *testing.F) {
	paths, err := filepath.Glob("testdata/plans/*/*.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range paths {
		if strings.HasSuffix(p, ".facts.json") || strings.HasSuffix(p, ".findings.json") {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"Plan":{"Node Type":"Result"}}`))
	f.Add([]byte(`[{"Plan":{"Node Type":"Gather","Workers Launched":-1,"Actual Loops":0,"Plans":[{"Node Type":"Seq Scan","Actual Loops":1e308,"Actual Total Time":1e308}]}}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			t.Skip()
		}
		p, err := ParsePlan(data)
		if err != nil {
			if !errors.Is(err, ErrPlanFormat) {
				t.Fatalf("error does not wrap ErrPlanFormat: %v", err)
			}
			return
		}
		walked := 0
		p.Walk(func(n *Node) bool {
			if n.ID != walked {
				t.Fatalf("node %d walked in position %d", n.ID, walked)
			}
			if n.Parent != nil && n.Depth != n.Parent.Depth+1 {
				t.Fatalf("node %d at depth %d under depth %d", n.ID, n.Depth, n.Parent.Depth)
			}
			walked++
			return true
		})
		if walked != len(p.Nodes()) {
			t.Fatalf("walked %d nodes, parsed %d", walked, len(p.Nodes()))
		}
		// What the rules and the renderers call on every plan.
		p.Shape()
		p.ShapeHash()
		p.IndexesUsed()
		p.Relations()
		for _, n := range p.Nodes() {
			n.Label()
			n.Table()
			p.Hot(n)
		}
		Evaluate(Subject{Plan: p, Statement: &Statement{Query: "SELECT 1", Calls: 1}})
	})
}
