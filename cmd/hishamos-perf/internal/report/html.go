package report

// The HTML report (bench --html, demo --html) is one self-contained file:
// latency charts drawn here as inline SVG, the plans of each run side by
// side, the indexes with their sizes and the environment. Nothing is loaded
// from anywhere: no scripts, fonts, styles or images outside the file.

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/hishamos/hishamos-perf/bench"
	"github.com/hishamos/hishamos-perf/demo"
	"github.com/hishamos/hishamos-perf/indexes"
)

// Page is what the HTML report shows.
type Page struct {
	Title     string
	Generated time.Time
	// Verdict is one line at the top.
	Verdict string
	// Sets name the runs, in order (before, seed, advisor; or before, after).
	Sets       []string
	Statements []PageStatement
	Indexes    []PageIndex
	// Environment is the server and settings of the last run.
	Environment [][2]string
	Tables      []bench.TableInfo
	Notes       []string
}

// PageStatement is one statement across the runs.
type PageStatement struct {
	Name     string
	Targeted bool
	// Runs are per set, in Page.Sets order; a missing run has no calls.
	Runs []PageSeries
	// Changes describe each later run against the first, one line each.
	Changes []string
}

// PageSeries is one statement in one run.
type PageSeries struct {
	Set         string
	Samples     []float64
	P50Ms       float64
	Buffers     *float64
	Plans       []string
	IndexesUsed []string
}

// PageIndex is one index and its size; SizeBytes < 0 is unknown.
type PageIndex struct {
	Set, Name, Table, Definition string
	SizeBytes                    int64
}

// DemoPage lays a demo report out for the HTML page.
func DemoPage(rep *demo.Report) *Page {
	d := &Page{Title: "hishamos-perf demo: HishamOS at scale " + rep.Scale, Generated: time.Now().UTC(),
		Verdict: rep.Verdict.Line, Sets: []string{demo.SetBefore, demo.SetSeed, demo.SetAdvisor}}
	runs := []*bench.Run{rep.Runs.Before, rep.Runs.Seed, rep.Runs.Advisor}
	for _, s := range rep.Statements {
		st := PageStatement{Name: s.Name, Targeted: s.Targeted}
		for i, r := range runs {
			st.Runs = append(st.Runs, series(d.Sets[i], r, s.Name))
		}
		for _, c := range []struct {
			set string
			c   demo.Change
		}{{demo.SetSeed, s.Seed}, {demo.SetAdvisor, s.Advisor}} {
			line := fmt.Sprintf("%s: %+.1f%% latency, %s", c.set, -c.c.ImprovementPct, c.c.Verdict)
			if rep.Expect != nil {
				line += fmt.Sprintf(", %s %g–%g%%", c.c.Placement, rep.Expect.MinPct, rep.Expect.MaxPct)
			}
			st.Changes = append(st.Changes, line)
		}
		d.Statements = append(d.Statements, st)
	}
	for _, ix := range rep.Indexes {
		d.Indexes = append(d.Indexes, PageIndex{Set: ix.Set, Name: ix.Name, Table: ix.Table, Definition: ix.Definition, SizeBytes: ix.SizeBytes})
	}
	if r := rep.Runs.Advisor; r != nil {
		d.Environment, d.Tables = environment(r)
	}
	for _, st := range rep.Steps {
		d.Notes = append(d.Notes, fmt.Sprintf("%s: %s", st.Name, (time.Duration(st.Ms*float64(time.Millisecond))).Round(10*time.Millisecond)))
	}
	return d
}

// BenchPage lays a bench report out for the HTML page: one run, or a
// baseline and a run.
func BenchPage(rep *bench.Report) *Page {
	d := &Page{Title: "hishamos-perf bench: " + rep.Workload.Name, Generated: time.Now().UTC()}
	runs := []*bench.Run{&rep.Run}
	d.Sets = []string{"run"}
	if rep.Baseline != nil {
		runs = []*bench.Run{rep.Baseline, &rep.Run}
		d.Sets = []string{"before", "after"}
	}
	cmp := map[string]bench.Comparison{}
	for _, c := range rep.Comparison {
		cmp[c.Name] = c
	}
	for _, s := range rep.Statements {
		st := PageStatement{Name: s.Name, Targeted: cmp[s.Name].Targeted}
		for i, r := range runs {
			st.Runs = append(st.Runs, series(d.Sets[i], r, s.Name))
		}
		if c, ok := cmp[s.Name]; ok {
			line := fmt.Sprintf("after: %+.1f%% median (%s)", c.MedianChangePct, c.Verdict)
			if c.Expectation != "" {
				line += ", " + c.Expectation + " the promise"
			}
			st.Changes = append(st.Changes, line)
		}
		d.Statements = append(d.Statements, st)
	}
	d.Verdict = fmt.Sprintf("one run of %d statements: nothing compared (bench --baseline or --apply compares two)", len(rep.Statements))
	if g := rep.Gate; g != nil {
		d.Verdict = "gate passed"
		if !g.Passed {
			var f []string
			for _, x := range g.Failures {
				f = append(f, x.Message)
			}
			d.Verdict = "gate FAILED: " + strings.Join(f, "; ")
		}
	}
	before := map[string]bool{}
	if rep.Baseline != nil {
		for _, ix := range rep.Baseline.Environment.Indexes {
			before[ix.Name] = true
		}
	}
	for _, ix := range rep.Environment.Indexes {
		set := "existing"
		if rep.Baseline != nil && !before[ix.Name] {
			set = "added"
		}
		d.Indexes = append(d.Indexes, PageIndex{Set: set, Name: ix.Name, Table: ix.Table, Definition: ix.Definition, SizeBytes: -1})
	}
	d.Environment, d.Tables = environment(&rep.Run)
	return d
}

func series(set string, r *bench.Run, name string) PageSeries {
	sr := PageSeries{Set: set}
	if r == nil {
		return sr
	}
	if s := r.Statement(name); s != nil {
		sr.Samples, sr.P50Ms, sr.Buffers, sr.Plans, sr.IndexesUsed = s.Samples, s.P50Ms, s.BuffersPerCall, s.Plans, s.IndexesUsed
	}
	return sr
}

func environment(r *bench.Run) ([][2]string, []bench.TableInfo) {
	e := r.Environment
	kv := [][2]string{{"PostgreSQL", e.ServerVersion}, {"database", e.Database}, {"pg_stat_statements", e.PgStatStatements},
		{"target", r.Target}, {"clients", fmt.Sprint(r.Settings.Clients)}, {"warmup rounds", fmt.Sprint(r.Settings.Warmup)},
		{"calls per statement", fmt.Sprint(r.Settings.Iterations)}, {"seed", fmt.Sprint(r.Settings.Seed)}}
	for _, k := range bench.PlanSettings {
		if v, ok := e.Settings[k]; ok {
			kv = append(kv, [2]string{k, v})
		}
	}
	return kv, e.Tables
}

// Chart geometry, in SVG user units.
const (
	chartWidth = 640
	rowHeight  = 34
	leftPad    = 70
	rightPad   = 20
	topPad     = 8
	axisHeight = 28
)

// setColors are the runs' colours, in order.
var setColors = []string{"#8c8c8c", "#d9822b", "#2b7bd9", "#3a9d5d"}

// chart draws one statement's latency distributions, one row per run: a
// box from the 25th to the 75th percentile, whiskers to the 5th and 95th,
// the median as a bar, and every sample as a faint dot.
func chart(st PageStatement) template.HTML {
	var all []float64
	for _, r := range st.Runs {
		all = append(all, r.Samples...)
	}
	h := topPad + len(st.Runs)*rowHeight + axisHeight
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="latency of %s">`,
		chartWidth, h, chartWidth, h, template.HTMLEscapeString(st.Name))
	if len(all) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="20">no samples</text></svg>`, leftPad)
		return template.HTML(b.String())
	}
	hi := quantile(sorted(all), 0.99) * 1.05
	if hi <= 0 {
		hi = 1
	}
	x := func(v float64) float64 {
		return leftPad + math.Min(v/hi, 1)*float64(chartWidth-leftPad-rightPad)
	}
	for i, r := range st.Runs {
		y := float64(topPad + i*rowHeight)
		mid := y + rowHeight/2
		color := setColors[i%len(setColors)]
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="12" text-anchor="end" dominant-baseline="middle">%s</text>`, leftPad-6, mid, template.HTMLEscapeString(r.Set))
		if len(r.Samples) == 0 {
			continue
		}
		s := sorted(r.Samples)
		step := max(1, len(s)/300)
		for j := 0; j < len(r.Samples); j += step {
			jitter := float64((j*7919)%17-8) * 0.9
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="1.6" fill="%s" fill-opacity="0.35"/>`, x(r.Samples[j]), mid+jitter, color)
		}
		p5, p25, p50, p75, p95 := quantile(s, .05), quantile(s, .25), quantile(s, .5), quantile(s, .75), quantile(s, .95)
		fmt.Fprintf(&b, `<line class="whisker" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s"/>`, x(p5), x(p95), mid, mid, color)
		fmt.Fprintf(&b, `<rect class="box" x="%.1f" y="%.1f" width="%.1f" height="%d" fill="%s" fill-opacity="0.25" stroke="%s"/>`,
			x(p25), mid-9, math.Max(x(p75)-x(p25), 1), 18, color, color)
		fmt.Fprintf(&b, `<line class="median" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="3"><title>%s median %.3f ms</title></line>`,
			x(p50), x(p50), mid-11, mid+11, color, template.HTMLEscapeString(r.Set), p50)
	}
	ay := float64(topPad + len(st.Runs)*rowHeight)
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#444"/>`, leftPad, chartWidth-rightPad, ay, ay)
	for k := 0; k <= 4; k++ {
		v := hi * float64(k) / 4
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#444"/><text x="%.1f" y="%.1f" font-size="11" text-anchor="middle">%s</text>`,
			x(v), x(v), ay, ay+4, x(v), ay+16, axisMs(v))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="11" text-anchor="end">ms</text>`, leftPad-6, ay+16)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func axisMs(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 1:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.3f", v)
}

func sorted(v []float64) []float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s
}

// quantile of sorted values, by linear interpolation.
func quantile(s []float64, q float64) float64 {
	if len(s) == 0 {
		return 0
	}
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

var pageTemplateSet = template.Must(template.New("report").Funcs(template.FuncMap{
	"chart": chart,
	"ms":    func(v float64) string { return fmt.Sprintf("%.3f", v) },
	"buffers": func(v *float64) string {
		if v == nil {
			return "-"
		}
		return fmt.Sprintf("%.1f", *v)
	},
	"size": func(v int64) string {
		if v < 0 {
			return "-"
		}
		return indexes.FormatBytes(v)
	},
	"color": func(i int) string { return setColors[i%len(setColors)] },
	"when":  func(t time.Time) string { return t.Format("2006-01-02 15:04:05 UTC") },
}).Parse(pageTemplate))

// HTML writes the page as one HTML file.
func HTML(w io.Writer, d *Page) error {
	if err := pageTemplateSet.Execute(w, d); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	return nil
}

const pageTemplate = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
.verdict{font-size:1.05em;padding:.6em .8em;background:#f4f4f4;border-left:4px solid #2b7bd9}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
td.num{text-align:right}.plans{display:grid;grid-template-columns:repeat({{len .Sets}},1fr);gap:.5em}
.plans div{background:#fafafa;border:1px solid #eee;padding:.4em;font-family:monospace;font-size:.8em;overflow-wrap:anywhere}
.legend span{display:inline-block;width:.8em;height:.8em;margin:0 .3em 0 1em}
section.statement{margin-bottom:1.5em}code{font-size:.85em}
</style></head><body>
<h1>{{.Title}}</h1>
<p>Generated {{when .Generated}}. Every number was measured on this run.</p>
{{if .Verdict}}<p class="verdict" id="verdict">{{.Verdict}}</p>{{end}}
<p class="legend">{{range $i, $s := .Sets}}<span style="background:{{color $i}}"></span>{{$s}}{{end}}</p>
<h2>Statements</h2>
<table id="summary"><tr><th>statement</th>{{range .Sets}}<th>{{.}} p50 ms</th>{{end}}{{range .Sets}}<th>{{.}} buffers/call</th>{{end}}<th>change</th></tr>
{{range .Statements}}<tr><td>{{.Name}}{{if .Targeted}} *{{end}}</td>{{range .Runs}}<td class="num">{{ms .P50Ms}}</td>{{end}}{{range .Runs}}<td class="num">{{buffers .Buffers}}</td>{{end}}<td>{{range .Changes}}{{.}}<br>{{end}}</td></tr>
{{end}}</table>
<p>* targeted by the indexes added.</p>
{{range .Statements}}<section class="statement">
<h2>{{.Name}}{{if .Targeted}} *{{end}}</h2>
{{chart .}}
<div class="plans">{{range .Runs}}<div><b>{{.Set}}</b><br>{{range .Plans}}{{.}}<br>{{else}}no plan<br>{{end}}{{if .IndexesUsed}}indexes used: {{range .IndexesUsed}}{{.}} {{end}}{{end}}</div>{{end}}</div>
</section>
{{end}}
<h2>Indexes</h2>
<table id="indexes"><tr><th>set</th><th>index</th><th>table</th><th>size</th><th>definition</th></tr>
{{range .Indexes}}<tr><td>{{.Set}}</td><td>{{.Name}}</td><td>{{.Table}}</td><td class="num">{{size .SizeBytes}}</td><td><code>{{.Definition}}</code></td></tr>
{{else}}<tr><td colspan="5">none</td></tr>{{end}}</table>
<h2>Environment</h2>
<table id="environment">{{range .Environment}}<tr><th>{{index . 0}}</th><td>{{index . 1}}</td></tr>{{end}}</table>
{{if .Tables}}<table><tr><th>table</th><th>rows</th><th>size</th></tr>{{range .Tables}}<tr><td>{{.Name}}</td><td class="num">{{.Rows}}</td><td class="num">{{size .SizeBytes}}</td></tr>{{end}}</table>{{end}}
{{if .Notes}}<h2>Steps</h2><ul>{{range .Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
</body></html>
`
