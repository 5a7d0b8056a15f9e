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
	}
	checkHTML(t, html, len(rep.Statements))
}

// checkHTML checks the report is self-contained and, where Chromium is
// installed, that a real browser renders it with every chart and nothing
// that failed to load.
func checkHTML(t *testing.T, path string, statements int) {
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
