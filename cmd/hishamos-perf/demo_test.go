package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hishamos/hishamos-perf/bench"
	"github.com/hishamos/hishamos-perf/cmd/hishamos-perf/internal/report"
	"github.com/hishamos/hishamos-perf/demo"
	"github.com/hishamos/hishamos-perf/profiles"
)

// improvementFromSamples is the drop in median latency from before to
// after, in percent, computed here from the raw samples.
func improvementFromSamples(before, after []float64) float64 {
	return (1 - bench.Median(after)/bench.Median(before)) * 100
}

// claimImprovement is the drop in the verdict's metric from before to
// after, in percent, computed here from the runs: the samples' medians,
// or the server's means per call.
func claimImprovement(m bench.Metric, before, after *bench.StatementRun) float64 {
	if m == bench.MetricServer {
		return (1 - after.Server.MeanMs/before.Server.MeanMs) * 100
	}
	return improvementFromSamples(before.Samples, after.Samples)
}

// TestDemoSmallJSON runs the whole demo at scale small and checks its JSON:
// every statement of the profile measured three times, each improvement
// computed from the samples (latency) and the server's means (server time,
// the verdict's metric on the sandbox), and the verdict consistent with
// them.
func TestDemoSmallJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo creates a sandbox and loads data: not in -short")
	}
	html := filepath.Join(t.TempDir(), "report.html")
	r := cli(t, "--format", "json", "demo", "--scale", "small", "--iterations", "40", "--html", html)
	if r.code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", r.code, r.stderr)
	}
	for _, step := range []string{"loading HishamOS data", "analyzing", "proposing indexes", "measuring the workload before",
		"building the seed's", "taking the seed's indexes down", "building the advisor's", "destroying the sandbox"} {
		if !strings.Contains(r.stderr, step) {
			t.Errorf("stderr does not say %q:\n%s", step, r.stderr)
		}
	}
	var rep demo.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("stdout is not the demo's JSON: %v\n%s", err, r.stdout)
	}
	if rep.Schema != demo.Schema || rep.Scale != "small" {
		t.Errorf("schema %q scale %q", rep.Schema, rep.Scale)
	}

	p, err := profiles.Load("hishamos")
	if err != nil {
		t.Fatal(err)
	}
	w, err := bench.FromProfile(p, profiles.After)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Expect == nil {
		t.Fatal("no promised range in the report")
	}
	// Each set's run sits between two halves of its before: the seed's
	// before is 20 calls and 20, the advisor's likewise.
	runs := map[string]*bench.Run{demo.SetBefore: rep.Runs.Before, demo.SetSeed: rep.Runs.Seed, demo.SetAdvisor: rep.Runs.Advisor,
		"advisor's before": rep.Runs.AdvisorBefore}
	for _, r := range []*bench.Run{rep.Runs.Before, rep.Runs.AdvisorBefore} {
		if r != nil && r.Settings.Iterations != 40 {
			t.Errorf("a before run of %d calls a statement; want two halves of 20", r.Settings.Iterations)
		}
	}
	for set, run := range runs {
		if run == nil {
			t.Fatalf("no %s run", set)
		}
		for _, s := range w.Statements {
			sr := run.Statement(s.Name)
			if sr == nil || sr.Calls == 0 || len(sr.Samples) != sr.Calls {
				t.Errorf("%s run: statement %s not measured (or its samples are missing)", set, s.Name)
			}
		}
	}
	if got, want := len(rep.Statements), len(w.Statements); got != want {
		t.Fatalf("%d statements in the table, want every one of the profile's %d", got, want)
	}

	// The sandbox gives every statement its server time: the claim is
	// judged on it, and the verdict says so.
	if rep.Verdict.Metric != bench.MetricServer || !strings.Contains(rep.Verdict.MetricWhy, "round trip") || rep.Verdict.RoundTripPct == nil {
		t.Errorf("verdict metric %q (%s); want server time, saying the round trip's share", rep.Verdict.Metric, rep.Verdict.MetricWhy)
	}
	m := rep.Verdict.Metric
	var seedImp, advImp []float64
	targeted := 0
	for _, s := range rep.Statements {
		b, sd, ad := rep.Runs.Before.Statement(s.Name), rep.Runs.Seed.Statement(s.Name), rep.Runs.Advisor.Statement(s.Name)
		ab := rep.Runs.AdvisorBefore.Statement(s.Name)
		for _, c := range []struct {
			set           string
			got           demo.Change
			before, after *bench.StatementRun
		}{{demo.SetSeed, s.Seed, b, sd}, {demo.SetAdvisor, s.Advisor, ab, ad}} {
			if want := improvementFromSamples(c.before.Samples, c.after.Samples); math.Abs(c.got.ImprovementPct-want) > 1e-6 {
				t.Errorf("%s %s: improvement %.4f%%, the samples say %.4f%%", s.Name, c.set, c.got.ImprovementPct, want)
			}
			want := claimImprovement(m, c.before, c.after)
			if math.Abs(c.got.ClaimPct-want) > 1e-6 {
				t.Errorf("%s %s: improvement in %s %.4f%%, the runs say %.4f%%", s.Name, c.set, m, c.got.ClaimPct, want)
			}
			if place := rep.Expect.Place(want); c.got.Placement != place {
				t.Errorf("%s %s: placed %q, %.1f%% is %q the promise", s.Name, c.set, c.got.Placement, want, place)
			}
		}
		if s.Targeted {
			targeted++
			seedImp = append(seedImp, claimImprovement(m, b, sd))
			advImp = append(advImp, claimImprovement(m, ab, ad))
		}
	}
	v := rep.Verdict
	if v.Targeted != targeted || targeted == 0 {
		t.Errorf("verdict counts %d targeted statements, the table %d", v.Targeted, targeted)
	}
	for _, c := range []struct {
		set                  string
		got, median, net     float64
		placement            string
		fromSamples, median2 float64
		drift                *bench.Drift
	}{{demo.SetSeed, v.SeedTypicalPct, v.SeedMedianPct, v.SeedNetPct, v.SeedPlacement, demo.HodgesLehmann(seedImp), bench.Median(seedImp), v.SeedDrift},
		{demo.SetAdvisor, v.AdvisorTypicalPct, v.AdvisorMedianPct, v.AdvisorNetPct, v.AdvisorPlacement, demo.HodgesLehmann(advImp), bench.Median(advImp), v.AdvisorDrift}} {
		if math.Abs(c.got-c.fromSamples) > 0.05 {
			t.Errorf("verdict: %s typical improvement %.2f%%, the runs say %.2f%%", c.set, c.got, c.fromSamples)
		}
		if math.Abs(c.median-c.median2) > 0.05 {
			t.Errorf("verdict: %s median improvement %.2f%%, the runs say %.2f%%", c.set, c.median, c.median2)
		}
		if want := demo.NetOfDrift(c.got, c.drift); math.Abs(c.net-want) > 0.05 {
			t.Errorf("verdict: %s net improvement %.2f%%, %.2f%% net of drift %+v is %.2f%%", c.set, c.net, c.got, c.drift, want)
		}
		if place := rep.Expect.Place(c.net); c.placement != place {
			t.Errorf("verdict: %s placed %q, %.1f%% net is %q", c.set, c.placement, c.net, place)
		}
	}
	if holds := v.Targeted > 0 && v.SeedNetPct >= rep.Expect.MinPct; v.ClaimHolds != holds {
		t.Errorf("verdict: claim_holds %v with a net typical improvement of %.1f%% against a minimum of %g%%", v.ClaimHolds, v.SeedNetPct, rep.Expect.MinPct)
	}
	if want := map[bool]string{true: "the claim holds", false: "the claim does not hold"}[v.ClaimHolds]; !strings.HasPrefix(v.Line, want) {
		t.Errorf("verdict line %q does not start with %q", v.Line, want)
	}

	seedIx := 0
	for _, ix := range rep.Indexes {
		if ix.SizeBytes <= 0 {
			t.Errorf("index %s (%s) has no size", ix.Name, ix.Set)
		}
		if ix.Set == demo.SetSeed {
			seedIx++
		}
	}
	if seedIx != len(p.Indexes) {
		t.Errorf("%d of the seed's indexes built, want %d", seedIx, len(p.Indexes))
	}
	// The run's own document, as the demo prints it in text: every line
	// fits 80 and 120 columns.
	for _, width := range []int{80, 120} {
		var out bytes.Buffer
		if err := (&report.Writer{Out: &out, Format: report.Text, Width: width}).Write(report.Demo(&rep)); err != nil {
			t.Fatal(err)
		}
		checkFits(t, "demo", out.String(), width)
		for _, want := range []string{"The seed report's database claims", "measured as requests", "bytes received", "not measured: the cache claims", "The claims at a glance", "█"} {
			if !strings.Contains(strings.Join(strings.Fields(out.String()), " "), want) {
				t.Errorf("the demo's text at %d columns does not say %q", width, want)
			}
		}
	}
	checkClaims(t, &rep)
	checkHTML(t, html, len(rep.Statements), "claims-chart")
	// The claims drawn: a bar per targeted statement and the net typical improvement,
	// then the request's queries, time and bytes.
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Count(string(page), `class="bar"`), targeted+1+3; got != want {
		t.Errorf("the claims chart draws %d bars, want %d (each targeted statement, the net typical improvement, the request's queries, time and bytes)", got, want)
	}
}

// checkClaims checks the demo's requests and claims against the samples
// of the request run it kept: the command list before its rewrite runs
// the list and up to two lookups per template listed (N+1), after it 2
// queries (the page and DRF's COUNT); queries, bytes and latency
// reductions are the samples' own; each claim's figure and verdict follow
// from them; the cache's is not measured.
func checkClaims(t *testing.T, rep *demo.Report) {
	t.Helper()
	rq := rep.Requests
	if rq == nil || rq.Run == nil || len(rq.Pairs) != 1 {
		t.Fatalf("requests %+v: want the command list's pair measured", rq)
	}
	p := rq.Pairs[0]
	before, after := rq.Run.Request(p.Before), rq.Run.Request(p.After)
	if p.Name != "command_templates_list" || before == nil || after == nil || before.Calls == 0 || after.Calls == 0 {
		t.Fatalf("pair %q: before %v, after %v: want both halves of the command list measured", p.Name, before, after)
	}
	for k, q := range before.Queries {
		if rows := before.LeaderRows[k]; rows == 0 || int64(q) < 1+rows || int64(q) > 1+2*rows {
			t.Errorf("before, request %d: %d queries for %d templates listed; want the list and one or two lookups a template (N+1)", k, q, rows)
		}
	}
	for k, q := range after.Queries {
		if q != 2 {
			t.Errorf("after, request %d: %d queries; want 2 (the page and its COUNT)", k, q)
		}
	}
	mean := func(xs []int64) float64 {
		s := 0.0
		for _, x := range xs {
			s += float64(x)
		}
		return s / float64(len(xs))
	}
	queries := func(r *bench.RequestRun) []int64 {
		out := make([]int64, len(r.Queries))
		for i, q := range r.Queries {
			out[i] = int64(q)
		}
		return out
	}
	bq, aq := mean(queries(before)), mean(queries(after))
	if math.Abs(p.BeforeQueries-bq) > 1e-9 || math.Abs(p.AfterQueries-aq) > 1e-9 || math.Abs(p.QueriesReductionPct-(1-aq/bq)*100) > 1e-9 {
		t.Errorf("queries %v → %v (%.3f%% fewer); the samples say %v → %v", p.BeforeQueries, p.AfterQueries, p.QueriesReductionPct, bq, aq)
	}
	bb, ab := mean(before.Bytes), mean(after.Bytes)
	if p.BytesReductionPct == nil || ab >= bb || math.Abs(*p.BytesReductionPct-(1-ab/bb)*100) > 1e-6 {
		t.Errorf("bytes reduction %v; the samples say %v → %v bytes a request, fewer after", p.BytesReductionPct, bb, ab)
	}
	if want := improvementFromSamples(before.Samples, after.Samples); math.Abs(p.LatencyImprovementPct-want) > 1e-6 {
		t.Errorf("request latency improvement %.4f%%, the samples say %.4f%%", p.LatencyImprovementPct, want)
	}
	kinds := map[string]demo.Claim{}
	for _, c := range rep.Claims {
		kinds[c.Kind] = c
	}
	if len(rep.Claims) != 4 {
		t.Fatalf("%d claims, want indexes, queries, memory and cache", len(rep.Claims))
	}
	ix, q, m, c := kinds[demo.ClaimIndexes], kinds[demo.ClaimQueries], kinds[demo.ClaimMemory], kinds[demo.ClaimCache]
	if ix.MeasuredPct == nil || *ix.MeasuredPct != rep.Verdict.SeedNetPct || ix.Holds == nil || *ix.Holds != rep.Verdict.ClaimHolds {
		t.Errorf("indexes claim %+v; want the verdict's %.1f%% net, holds %v", ix, rep.Verdict.SeedNetPct, rep.Verdict.ClaimHolds)
	}
	if q.MeasuredPct == nil || *q.MeasuredPct != p.QueriesReductionPct || q.Holds == nil || *q.Holds != (aq < bq) {
		t.Errorf("queries claim %+v; want %.1f%% fewer, holding when fewer", q, p.QueriesReductionPct)
	}
	if m.MeasuredPct == nil || *m.MeasuredPct != *p.BytesReductionPct || m.Holds == nil || *m.Holds != (*p.BytesReductionPct >= demo.MemoryPromise.MinPct) ||
		m.Placement != demo.MemoryPromise.Place(*p.BytesReductionPct) || !strings.Contains(m.Line, "bytes received") {
		t.Errorf("memory claim %+v; want the bytes' %.1f%% against %g–%g%%, saying bytes stand for memory", m, *p.BytesReductionPct, demo.MemoryPromise.MinPct, demo.MemoryPromise.MaxPct)
	}
	if c.Holds != nil || c.MeasuredPct != nil || !strings.Contains(c.Line, "not measured") {
		t.Errorf("cache claim %+v; want it not measured, saying why", c)
	}
}

// checkHTML checks the report is self-contained and, where Chromium is
// installed, that a real browser renders it with every chart and nothing
// that failed to load.
func checkHTML(t *testing.T, path string, statements int, drawings ...string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, external := range []string{"<script", "<link", "src=\"http", "href=\"http", "@import", "url("} {
		if strings.Contains(page, external) {
			t.Errorf("the report is not self-contained: it holds %q", external)
		}
	}
	if n := strings.Count(page, `<svg class="chart"`); n != statements {
		t.Errorf("%d charts in the report, want one per statement (%d)", n, statements)
	}
	for _, id := range []string{`id="verdict"`, `id="summary"`, `id="indexes"`, `id="environment"`} {
		if !strings.Contains(page, id) {
			t.Errorf("the report has no %s", id)
		}
	}
	for _, class := range drawings {
		if !strings.Contains(page, `<svg class="`+class+`"`) {
			t.Errorf("the report draws no %s", class)
		}
	}
	browser := "/usr/bin/chromium"
	if _, err := os.Stat(browser); err != nil {
		t.Skipf("%s is not installed (make setup installs it): the report was checked as text, not rendered", browser)
	}
	dir := t.TempDir()
	cmd := exec.Command(browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir="+dir,
		"--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", "--dump-dom", "file://"+path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	dom := string(out)
	if n := strings.Count(dom, `<svg class="chart"`); n != statements {
		t.Errorf("chromium's DOM holds %d charts, want %d", n, statements)
	}
	if !strings.Contains(dom, `class="median"`) || !strings.Contains(dom, "<circle") {
		t.Error("chromium's DOM has charts without their medians or samples")
	}
	for _, class := range drawings {
		if !strings.Contains(dom, `<svg class="`+class+`"`) {
			t.Errorf("chromium's DOM holds no %s", class)
		}
	}
	for _, failure := range []string{"net::ERR_", "Failed to load", "Refused to", "Uncaught"} {
		if strings.Contains(stderr.String(), failure) {
			t.Errorf("chromium reported %q while rendering the report:\n%s", failure, stderr.String())
		}
	}
	shot := filepath.Join(dir, "report.png")
	shotCmd := exec.Command(browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir="+filepath.Join(dir, "p2"),
		"--window-size=1200,2000", "--screenshot="+shot, "file://"+path)
	if out, err := shotCmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium screenshot: %v\n%s", err, out)
	}
	if st, err := os.Stat(shot); err != nil || st.Size() < 10_000 {
		t.Errorf("chromium's screenshot of the report is missing or blank (%v)", err)
	}
	if dst := os.Getenv("HISHAMOS_PERF_SCREENSHOT"); dst != "" {
		if b, err := os.ReadFile(shot); err == nil {
			os.WriteFile(dst, b, 0o644)
		}
	}
}

// TestDemoScalesCLI runs the demo at two scales, small and medium, and
// checks the trend against the two reports: each line's points are the
// reports' own figures, ordered by the rows loaded, its change the last
// minus the first; the HTML draws the trends and each scale's claims.
func TestDemoScalesCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo at two scales loads a million rows: not in -short")
	}
	html := filepath.Join(t.TempDir(), "scales.html")
	r := cli(t, "--format", "json", "demo", "--scale", "small,medium", "--iterations", "10", "--html", html)
	if r.code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", r.code, r.stderr)
	}
	var rep demo.ScalesReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("stdout is not the demo's scales JSON: %v\n%.500s", err, r.stdout)
	}
	if rep.Schema != demo.ScalesSchema || len(rep.Reports) != 2 || rep.Reports[0].Scale != "small" || rep.Reports[1].Scale != "medium" {
		t.Fatalf("schema %q, %d reports; want small and medium", rep.Schema, len(rep.Reports))
	}
	small, medium := rep.Reports[0], rep.Reports[1]
	if small.Load.TotalRows <= 0 || medium.Load.TotalRows <= small.Load.TotalRows {
		t.Errorf("rows loaded: small %d, medium %d", small.Load.TotalRows, medium.Load.TotalRows)
	}
	kinds := map[string]int{}
	for _, l := range rep.Trend {
		kinds[l.Kind]++
		if len(l.Points) != 2 || l.Points[0].Scale != "small" || l.Points[1].Scale != "medium" ||
			l.Points[0].Rows != small.Load.TotalRows || l.Points[1].Rows != medium.Load.TotalRows {
			t.Fatalf("trend %s %s: points %+v; want small then medium with their rows", l.Kind, l.Name, l.Points)
		}
		var want [2]float64
		for i, sr := range []*demo.Report{small, medium} {
			switch l.Kind {
			case demo.TrendVerdict:
				want[i] = sr.Verdict.SeedNetPct
			case demo.TrendStatement:
				for _, s := range sr.Statements {
					if s.Name == l.Name {
						want[i] = s.Seed.ClaimPct
					}
				}
			case demo.TrendRequestTime:
				want[i] = sr.Requests.Pairs[0].LatencyImprovementPct
			case demo.TrendRequestQueries:
				want[i] = sr.Requests.Pairs[0].QueriesReductionPct
			case demo.TrendRequestBytes:
				want[i] = *sr.Requests.Pairs[0].BytesReductionPct
			}
			if math.Abs(l.Points[i].ImprovementPct-want[i]) > 0.05 {
				t.Errorf("trend %s %s at %s: %.1f%%, the report says %.2f%%", l.Kind, l.Name, l.Points[i].Scale, l.Points[i].ImprovementPct, want[i])
			}
		}
		if math.Abs(l.ChangePts-(l.Points[1].ImprovementPct-l.Points[0].ImprovementPct)) > 0.05 {
			t.Errorf("trend %s %s: change %+.1f points from %.1f%% to %.1f%%", l.Kind, l.Name, l.ChangePts, l.Points[0].ImprovementPct, l.Points[1].ImprovementPct)
		}
	}
	if kinds[demo.TrendVerdict] != 1 || kinds[demo.TrendStatement] != len(small.Statements) ||
		kinds[demo.TrendRequestTime] != 1 || kinds[demo.TrendRequestQueries] != 1 || kinds[demo.TrendRequestBytes] != 1 {
		t.Errorf("trend lines by kind %v; want the verdict, every statement and the request's three", kinds)
	}
	checkHTML(t, html, len(medium.Statements), "trend-chart", "claims-chart")
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(page), `<svg class="claims-chart"`); n != 2 {
		t.Errorf("%d claims charts, want one per scale", n)
	}
}

// TestDemoScaleListBadInput: a scale that does not exist, or one listed
// twice, is refused before anything starts: exit 2, one line saying what.
func TestDemoScaleListBadInput(t *testing.T) {
	for _, tt := range []struct{ scale, want string }{
		{"small,huge", "unknown scale"},
		{"small,medium,small", "listed twice"},
		{"small,", "unknown scale"},
	} {
		r := cli(t, "demo", "--scale", tt.scale)
		if r.code != 2 || !strings.Contains(r.stderr, tt.want) || strings.Contains(r.stderr, "sandbox:") {
			t.Errorf("--scale %s: exit %d, stderr %q; want exit 2 saying %q before any sandbox", tt.scale, r.code, r.stderr, tt.want)
		}
	}
}
