package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/olekukonko/tablewriter/pkg/twwidth"

	"github.com/hishamos/hishamos-perf/analyze"
	"github.com/hishamos/hishamos-perf/bench"
	"github.com/hishamos/hishamos-perf/demo"
	"github.com/hishamos/hishamos-perf/indexes"
	"github.com/hishamos/hishamos-perf/internal/render"
)

// The golden files under testdata/golden: each <name>.json is a command's
// --format json document from a sandbox run (latency samples left out), and
// <case>.table (at the default width), <case>.80 and <case>.120 (text at 80
// and 120 columns) and <case>.markdown (.q with -q) what hishamos-perf
// prints for that document. TestLayoutGolden lays the documents out with
// the builders and writers of this package and compares; -update rewrites
// the outputs after a change to the layout, to be read in the diff.

// update rewrites the golden outputs.
var update = flag.Bool("update", false, "rewrite the golden outputs under testdata/golden")

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

func TestLayoutGolden(t *testing.T) {
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
	var sr StatusReport
	load(t, "status-partitions.json", &sr)
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
		// migrate status on the events workload, an apply stopped by a
		// lock on its fourth partition: each index's state in the
		// table, what it means whole under it.
		{"status-partitions", func(f Format) *Doc { return Status(sr.Status, sr.Target) }, nil, false},
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
		type variant struct {
			f     Format
			width int
			ext   string
		}
		var variants []variant
		for _, f := range formats {
			variants = append(variants, variant{f, 0, string(f)})
			if f == Text && c.formats == nil {
				variants = append(variants, variant{f, 80, "80"}, variant{f, 120, "120"})
			}
		}
		for _, v := range variants {
			for _, q := range quiet {
				if q && v.width > 0 {
					continue
				}
				name := c.name + "." + v.ext
				if q {
					name += ".q"
				}
				t.Run(name, func(t *testing.T) {
					path := filepath.Join("testdata", "golden", name)
					var got bytes.Buffer
					w := &Writer{Out: &got, Format: v.f, Quiet: q, Width: v.width}
					if err := w.Write(c.doc(v.f)); err != nil {
						t.Fatal(err)
					}
					if *update {
						if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
							t.Fatal(err)
						}
					}
					want, err := os.ReadFile(path)
					if err != nil {
						t.Fatalf("%v (go test -update writes it)", err)
					}
					if diff := cmp.Diff(string(want), got.String()); diff != "" {
						t.Errorf("%s differs from its golden file (-golden +now; go test -update rewrites it):\n%s", name, diff)
					}
					if v.f == Text {
						width := v.width
						if width == 0 {
							width = render.DefaultWidth
						}
						for _, line := range strings.Split(got.String(), "\n") {
							if n := twwidth.Width(line); n > width {
								t.Errorf("a line is %d columns wide, over %d:\n%s", n, width, line)
							}
						}
					}
				})
			}
		}
	}
}
