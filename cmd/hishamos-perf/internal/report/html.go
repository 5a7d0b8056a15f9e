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
	// Verdict is one line at the top; VerdictLines, when set, are
	// several in its place (the demo at several scales: one a scale).
	Verdict      string
	VerdictLines []string
	// Sets name the runs, in order (before, seed, advisor; or before, after).
	Sets       []string
	Statements []PageStatement
	Indexes    []PageIndex
	// Environment is the server and settings of the last run.
	Environment [][2]string
	Tables      []bench.TableInfo
	Notes       []string
	// Claims are every database claim the demo judged, one line each;
	// Requests the before/after pairs measured as requests. Empty for
	// bench.
	Claims   []PageClaim
	Requests []PageRequest
	// Charts are the claims drawn: each claim against its band and,
	// across scales, each improvement against the rows loaded.
	Charts []PageChart
	// Intro, when set, says what the page holds, under its title.
	Intro string
}

// PageChart is one drawn chart with its heading and a line under it.
type PageChart struct {
	Title, Note string
	SVG         template.HTML
}

// PageClaim is one claim of the seed report and its verdict, in words.
type PageClaim struct {
	Claim, Measured, Placement, Verdict, Line string
}

// PageRequest is one before/after pair measured as requests, in words.
type PageRequest struct {
	Name, Queries, P50, Bytes, Change, Verdict string
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
	ServerMs    *float64
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
			line := fmt.Sprintf("%s: %+.1f%% latency", c.set, -c.c.ImprovementPct)
			if c.c.ServerImprovementPct != nil {
				line += fmt.Sprintf(", %+.1f%% server time", -*c.c.ServerImprovementPct)
			}
			line += ", " + string(c.c.Verdict)
			if rep.Expect != nil {
				line += fmt.Sprintf(", %s %g–%g%% on %s", c.c.Placement, rep.Expect.MinPct, rep.Expect.MaxPct, rep.Verdict.Metric)
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
	d.Claims, d.Requests = pageClaims(rep)
	if svg := claimsChart(claimBars(rep)); svg != "" {
		d.Charts = append(d.Charts, PageChart{Title: "Each claim against its promise, at scale " + rep.Scale, SVG: svg,
			Note: "Bars: the seed's indexes' improvement per targeted statement (* ) in the verdict's metric and their net typical improvement (the verdict's figure), and the rewrite's drop in queries, time and bytes received per request; shaded: the promised band (green bars reach it, orange fall short)."})
	}
	return d
}

// DemoScalesPage lays the demo at several scales out: the trend across
// them drawn first, each scale's claims chart, then the largest scale's
// page.
func DemoScalesPage(rep *demo.ScalesReport) *Page {
	if len(rep.Reports) == 0 {
		return &Page{Title: "hishamos-perf demo: no scale ran", Generated: time.Now().UTC()}
	}
	last := rep.Reports[len(rep.Reports)-1]
	d := DemoPage(last)
	var names []string
	for _, r := range rep.Reports {
		names = append(names, r.Scale)
		d.VerdictLines = append(d.VerdictLines, scaleVerdict(r))
	}
	d.Title = "hishamos-perf demo: HishamOS at scales " + strings.Join(names, ", ")
	d.Intro = fmt.Sprintf("The demo ran at each scale in turn on one sandbox. The verdicts, the trend charts and the claims charts cover every scale; the claims table, the statements, plans and indexes below are the last scale's (%s).", last.Scale)
	stmts, reqs := trendGroups(rep.Trend)
	var charts []PageChart
	if svg := trendChart("each targeted statement's improvement against the rows loaded", stmts); svg != "" {
		charts = append(charts, PageChart{Title: "How the indexes' gain changes with the data's size", SVG: svg,
			Note: "One line per targeted statement (*): its improvement with the seed's indexes in the verdict's metric at each scale; the thick line is the net typical improvement the verdict judges; shaded: the promised 40–60%; the legend gives each line's change from the first scale to the last, in points."})
	}
	if svg := trendChart("the request's improvements against the rows loaded", reqs); svg != "" {
		charts = append(charts, PageChart{Title: "How the query optimization's gain changes with the data's size", SVG: svg,
			Note: "The command list's rewrite measured as requests: its drop in median time, queries and bytes received per request at each scale; shaded: the promised 30–40% less memory (bytes)."})
	}
	for _, r := range rep.Reports {
		if svg := claimsChart(claimBars(r)); svg != "" {
			charts = append(charts, PageChart{Title: "Each claim against its promise, at scale " + r.Scale, SVG: svg})
		}
	}
	d.Charts = charts
	return d
}

// scaleVerdict sums one scale's claims up in a line: each measured
// claim's figure, where it falls and whether it holds.
func scaleVerdict(r *demo.Report) string {
	var parts []string
	for _, c := range r.Claims {
		if c.MeasuredPct == nil {
			continue
		}
		part := fmt.Sprintf("%s: %.1f%%", claimShort[c.Kind], *c.MeasuredPct)
		if c.Placement != "" {
			part += " " + c.Placement
		}
		parts = append(parts, part+", "+strings.TrimPrefix(holdsText(c.Holds), "the "))
	}
	return fmt.Sprintf("scale %s (%s rows) — %s", r.Scale, rowsWords(r.Load.TotalRows), strings.Join(parts, "; "))
}

// trendGroups splits the trend into the statements' lines (the targeted
// ones and the verdict) and the requests'.
func trendGroups(lines []demo.TrendLine) (stmts, reqs []demo.TrendLine) {
	for _, l := range lines {
		switch l.Kind {
		case demo.TrendVerdict:
			stmts = append(stmts, l)
		case demo.TrendStatement:
			if l.Targeted {
				stmts = append(stmts, l)
			}
		default:
			reqs = append(reqs, l)
		}
	}
	return stmts, reqs
}

// pageClaims words the demo's claims and requests for the page, from the
// same cells the text tables show.
func pageClaims(rep *demo.Report) ([]PageClaim, []PageRequest) {
	var reqs []PageRequest
	if rq := rep.Requests; rq != nil {
		for _, p := range rq.Pairs {
			byts := "-"
			if p.BeforeBytes != nil && p.AfterBytes != nil {
				byts = byteCount(*p.BeforeBytes) + " → " + byteCount(*p.AfterBytes)
			}
			reqs = append(reqs, PageRequest{Name: p.Name, Queries: perRequest(p.BeforeQueries) + " → " + perRequest(p.AfterQueries),
				P50: ms(p.BeforeP50Ms) + " → " + ms(p.AfterP50Ms), Bytes: byts, Change: signedPct(p.MedianChangePct), Verdict: string(p.Verdict)})
		}
	}
	var claims []PageClaim
	for _, c := range rep.Claims {
		pc := PageClaim{Claim: claimShort[c.Kind], Measured: "-", Placement: "-", Verdict: holdsText(c.Holds), Line: c.Line}
		if c.MeasuredPct != nil {
			pc.Measured = fmt.Sprintf("%.1f%%", *c.MeasuredPct)
		}
		if c.Placement != "" {
			pc.Placement = c.Placement
		}
		claims = append(claims, pc)
	}
	return claims, reqs
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
			line := fmt.Sprintf("after: %+.1f%% median", c.MedianChangePct)
			if c.ServerChangePct != nil {
				line += fmt.Sprintf(", %+.1f%% server time", *c.ServerChangePct)
			}
			line += fmt.Sprintf(" (%s", c.Verdict)
			if c.DecidedBy != "" {
				line += " by " + c.DecidedBy
			}
			line += ")"
			if c.Expectation != "" {
				line += ", " + c.Expectation + " the promise"
			}
			st.Changes = append(st.Changes, line)
			if c.Verdict == bench.Regressed || c.Verdict == bench.Mixed || c.Verdict == bench.Inconclusive {
				st.Changes = append(st.Changes, c.Reason)
			}
			if c.TargetCheck != "" {
				st.Changes = append(st.Changes, c.TargetCheck)
			}
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
	added := map[string]bool{}
	if rep.Baseline != nil {
		for _, ix := range bench.AddedIndexes(&rep.Baseline.Environment, &rep.Environment) {
			added[ix.Name] = true
		}
	}
	for _, ix := range rep.Environment.Indexes {
		set := "existing"
		if added[ix.Name] {
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
		if s.Server != nil {
			v := s.Server.MeanMs
			sr.ServerMs = &v
		}
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
	"optms": optMs,
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
.verdict{font-size:1.05em;padding:.6em .8em;background:#f4f4f4;border-left:4px solid #2b7bd9}div.verdict p{margin:.3em 0}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
td.num{text-align:right}.plans{display:grid;grid-template-columns:repeat({{len .Sets}},1fr);gap:.5em}
.plans div{background:#fafafa;border:1px solid #eee;padding:.4em;font-family:monospace;font-size:.8em;overflow-wrap:anywhere}
.legend span{display:inline-block;width:.8em;height:.8em;margin:0 .3em 0 1em}
section.statement{margin-bottom:1.5em}code{font-size:.85em}
</style></head><body>
<h1>{{.Title}}</h1>
<p>Generated {{when .Generated}}. Every number was measured on this run.{{if .Intro}} {{.Intro}}{{end}}</p>
{{if .VerdictLines}}<div class="verdict" id="verdict">{{range .VerdictLines}}<p>{{.}}</p>{{end}}</div>{{else if .Verdict}}<p class="verdict" id="verdict">{{.Verdict}}</p>{{end}}
{{range .Charts}}<h2>{{.Title}}</h2>
{{.SVG}}{{if .Note}}<p>{{.Note}}</p>{{end}}
{{end}}
{{if .Claims}}<h2>The seed report's database claims</h2>
<table id="claims"><tr><th>claim</th><th>measured</th><th>vs promise</th><th>verdict</th><th>what was measured</th></tr>
{{range .Claims}}<tr><td>{{.Claim}}</td><td class="num">{{.Measured}}</td><td>{{.Placement}}</td><td>{{.Verdict}}</td><td>{{.Line}}</td></tr>
{{end}}</table>{{end}}
{{if .Requests}}<h2>Requests: the query optimization, before → after</h2>
<table id="requests"><tr><th>request</th><th>queries/request</th><th>p50 ms</th><th>change</th><th>bytes/request</th><th>verdict</th></tr>
{{range .Requests}}<tr><td>{{.Name}}</td><td>{{.Queries}}</td><td>{{.P50}}</td><td class="num">{{.Change}}</td><td>{{.Bytes}}</td><td>{{.Verdict}}</td></tr>
{{end}}</table>
<p>Measured on the tables without new indexes, the two halves' requests interleaved in one run; bytes received from the server stand for the application's memory.</p>{{end}}
<p class="legend">{{range $i, $s := .Sets}}<span style="background:{{color $i}}"></span>{{$s}}{{end}}</p>
<h2>Statements</h2>
<table id="summary"><tr><th>statement</th>{{range .Sets}}<th>{{.}} p50 ms</th>{{end}}{{range .Sets}}<th>{{.}} server ms</th>{{end}}{{range .Sets}}<th>{{.}} buffers/call</th>{{end}}<th>change</th></tr>
{{range .Statements}}<tr><td>{{.Name}}{{if .Targeted}} *{{end}}</td>{{range .Runs}}<td class="num">{{ms .P50Ms}}</td>{{end}}{{range .Runs}}<td class="num">{{optms .ServerMs}}</td>{{end}}{{range .Runs}}<td class="num">{{buffers .Buffers}}</td>{{end}}<td>{{range .Changes}}{{.}}<br>{{end}}</td></tr>
{{end}}</table>
<p>* targeted by the indexes added. p50: the client's median latency; server ms: the server's mean time per call (pg_stat_statements).</p>
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
