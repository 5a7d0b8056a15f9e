package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hishamos/hishamos-perf/analyze"
	"github.com/hishamos/hishamos-perf/bench"
	"github.com/hishamos/hishamos-perf/demo"
	"github.com/hishamos/hishamos-perf/indexes"
)

// The golden files under testdata/golden were written by the command files
// before their tables moved here: each <name>.json is a command's
// --format json document from a sandbox run (latency samples left out), and
// <case>.table and <case>.markdown (.q with -q) what hishamos-perf printed
// for that document. TestLayoutAsBeforeTheMove lays the same documents out
// with the builders and writers of this package: the output users see must
// not change (issue 20 redesigns it), but where a change means to: bench
// shows server time beside latency since issue 18 (-update rewrites the
// files; the bench documents are bench/v1, which still lay out), and
// propose's were captured again from a sandbox run when issue 16 gave each
// proposal its own saving (the workload without it, the others in place)
// and each statement its cost without the proposal.

// update rewrites the golden files with what the builders print now, for
// a change that means to change the output (bench's server time column).
var update = flag.Bool("update", false, "rewrite the golden files")

// load decodes testdata/golden/name into v.
func load(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// explainReport is an explain document with its plans parsed again from
// the EXPLAIN output it carries (the tree itself is not in the JSON).
func explainReport(t *testing.T, name string) *analyze.ExplainReport {
	t.Helper()
	var rep analyze.ExplainReport
	load(t, name, &rep)
	for _, s := range rep.Statements {
		p, err := analyze.ParsePlan(s.Explain)
		if err != nil {
			t.Fatal(err)
		}
		s.Plan = p
	}
	return &rep
}

// twice is rep with every statement twice, numbered as a file's are.
func twice(rep *analyze.ExplainReport) *analyze.ExplainReport {
	two := *rep
	two.Statements = append(append([]analyze.ExplainedStatement(nil), rep.Statements...), rep.Statements...)
	for i := range two.Statements {
		e := *two.Statements[i].Explained
		e.Source = &analyze.Source{Index: i + 1, SQL: e.Query}
		two.Statements[i].Explained = &e
	}
	return &two
}

// manyFindings is rep with 3,000 more findings: its Markdown must be cut.
func manyFindings(rep analyze.Report) *analyze.Report {
	for i := range 3000 {
		rep.Findings = append(rep.Findings, analyze.Finding{Rule: analyze.RuleUnusedIndex, Severity: analyze.Warning, Table: "public.t",
			Index: fmt.Sprintf("public.index_%d", i), Message: "an index nobody reads an index nobody reads", Fix: fmt.Sprintf("DROP INDEX CONCURRENTLY public.index_%d;", i)})
	}
	return &rep
}

// manyComparisons is rep with 400 more compared statements, a third of
// them regressed, each with a long reason: its Markdown must be cut.
func manyComparisons(rep bench.Report) *bench.Report {
	base := rep.Comparison
	rep.Comparison = append([]bench.Comparison(nil), base...)
	for i := range 400 {
		c := base[i%len(base)]
		c.Name = fmt.Sprintf("%s_%d", c.Name, i)
		c.Reason += " and a long reason to fill the comment up quickly, quickly, quickly"
		if i%3 == 0 {
			c.Verdict = bench.Regressed
		}
		rep.Comparison = append(rep.Comparison, c)
	}
	return &rep
}

func TestLayoutAsBeforeTheMove(t *testing.T) {
	var ar analyze.Report
	load(t, "analyze.json", &ar)
	var pr indexes.Result
	load(t, "propose.json", &pr)
	var dr demo.Report
	load(t, "demo.json", &dr)
	benches := map[string]*bench.Report{}
	for _, name := range []string{"bench-save", "bench-base", "bench-apply"} {
		var br bench.Report
		load(t, name+".json", &br)
		benches[name] = &br
	}
	explained := explainReport(t, "explain.json")
	analyzed := explainReport(t, "explain-analyze.json")

	cases := []struct {
		name    string
		doc     func(Format) *Doc
		formats []Format
		quiet   bool
	}{
		{"analyze", func(f Format) *Doc { return Analyze(&ar, f) }, nil, true},
		{"analyze-big", func(f Format) *Doc { return Analyze(manyFindings(ar), f) }, []Format{Markdown}, false},
		{"explain", func(f Format) *Doc { return Explain(explained, f) }, nil, false},
		{"explain-two", func(f Format) *Doc { return Explain(twice(explained), f) }, nil, true},
		{"explain-analyze", func(f Format) *Doc { return Explain(analyzed, f) }, nil, false},
		{"explain-analyze-two", func(f Format) *Doc { return Explain(twice(analyzed), f) }, nil, false},
		{"bench-save", func(f Format) *Doc { return Bench(benches["bench-save"], BenchOptions{}) }, nil, false},
		{"bench-base", func(f Format) *Doc { return Bench(benches["bench-base"], BenchOptions{}) }, nil, false},
		{"bench-apply", func(f Format) *Doc { return Bench(benches["bench-apply"], BenchOptions{}) }, nil, true},
		{"bench-base-big", func(f Format) *Doc { return Bench(manyComparisons(*benches["bench-base"]), BenchOptions{}) }, []Format{Markdown}, false},
		{"bench-apply-big", func(f Format) *Doc { return Bench(manyComparisons(*benches["bench-apply"]), BenchOptions{}) }, []Format{Markdown}, false},
		{"propose", func(f Format) *Doc { return Propose(&pr, false) }, nil, false},
		{"propose-v", func(f Format) *Doc { return Propose(&pr, true) }, nil, false},
		{"demo", func(f Format) *Doc { return Demo(&dr) }, nil, false},
	}
	for _, c := range cases {
		formats := c.formats
		if formats == nil {
			formats = []Format{Text, Markdown}
		}
		quiet := []bool{false}
		if c.quiet {
			quiet = append(quiet, true)
		}
		for _, f := range formats {
			for _, q := range quiet {
				name := c.name + "." + string(f)
				if q {
					name += ".q"
				}
				t.Run(name, func(t *testing.T) {
					want, err := os.ReadFile(filepath.Join("testdata", "golden", name))
					if err != nil {
						t.Fatal(err)
					}
					var got bytes.Buffer
					w := &Writer{Out: &got, Format: f, Quiet: q}
					if err := w.Write(c.doc(f)); err != nil {
						t.Fatal(err)
					}
					if *update {
						if err := os.WriteFile(filepath.Join("testdata", "golden", name), got.Bytes(), 0o644); err != nil {
							t.Fatal(err)
						}
						return
					}
					if diff := cmp.Diff(string(want), got.String()); diff != "" {
						t.Errorf("%s differs from what the command printed before (-before +now):\n%s", name, diff)
					}
				})
			}
		}
	}
}
