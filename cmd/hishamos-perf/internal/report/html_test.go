package report

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hishamos/hishamos-perf/bench"
)

func samplePage() *Page {
	buf := 42.0
	return &Page{
		Title: "t <script>", Generated: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Verdict: "the claim holds",
		Sets: []string{"before", "after"},
		Statements: []PageStatement{{
			Name: "popular_commands", Targeted: true,
			Runs: []PageSeries{
				{Set: "before", Samples: []float64{1, 1.2, 0.9, 1.1, 5}, P50Ms: 1.1, Buffers: &buf, Plans: []string{"Seq Scan"}},
				{Set: "after", Samples: []float64{0.3, 0.4, 0.35}, P50Ms: 0.35, Plans: []string{"Index Scan"}, IndexesUsed: []string{"ix"}},
			},
			Changes: []string{"after: -68.2% median (improved)"},
		}, {Name: "empty", Runs: []PageSeries{{Set: "before"}, {Set: "after"}}}},
		Indexes:     []PageIndex{{Set: "added", Name: "ix", Table: "t", Definition: "CREATE INDEX ix ON t (a)", SizeBytes: 8192}},
		Environment: [][2]string{{"PostgreSQL", "15.18"}},
	}
}

func TestHTMLIsSelfContained(t *testing.T) {
	var b bytes.Buffer
	if err := HTML(&b, samplePage()); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if strings.Contains(page, "<script") {
		t.Error("a title was not escaped, or the page has a script")
	}
	for _, want := range []string{`<svg class="chart"`, `class="median"`, "Seq Scan", "Index Scan", "8192 bytes", "15.18", "no samples"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page has no %q", want)
		}
	}
	if n := strings.Count(page, `<svg class="chart"`); n != 2 {
		t.Errorf("%d charts, want 2", n)
	}
}

// TestHTMLRendersInChromium opens the page in a real headless Chromium and
// checks the charts are in the rendered DOM and nothing failed to load.
func TestHTMLRendersInChromium(t *testing.T) {
	const browser = "/usr/bin/chromium"
	if _, err := os.Stat(browser); err != nil {
		t.Skipf("%s is not installed (make setup installs it)", browser)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	var b bytes.Buffer
	if err := HTML(&b, samplePage()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--enable-logging=stderr", "--v=0", "--dump-dom", "file://"+path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	dom := string(out)
	if n := strings.Count(dom, `<svg class="chart"`); n != 2 {
		t.Errorf("the rendered DOM holds %d charts, want 2", n)
	}
	if !strings.Contains(dom, "<circle") || !strings.Contains(dom, `class="box"`) {
		t.Error("the rendered charts lack their samples or boxes")
	}
	for _, failure := range []string{"net::ERR_", "Failed to load", "Refused to", "Uncaught"} {
		if strings.Contains(stderr.String(), failure) {
			t.Errorf("chromium reported %q:\n%s", failure, stderr.String())
		}
	}
}

// TestTextBar: a bar fills a cell per 5%, half a cell from 2.5%, marks the
// promised band it does not reach, and shows a drop below 0 as ◂.
func TestTextBar(t *testing.T) {
	band := &bench.ExpectRange{MinPct: 40, MaxPct: 60}
	for _, tt := range []struct {
		pct  float64
		band *bench.ExpectRange
		want string
	}{
		{0, band, "········░░░░········"},
		{100, band, "████████████████████"},
		{47.5, band, "█████████▌░░········"},
		{-30, band, "◂·······░░░░········"},
		{13, nil, "██▌·················"},
	} {
		if got := textBar(tt.pct, tt.band); got != tt.want {
			t.Errorf("textBar(%v) = %q, want %q", tt.pct, got, tt.want)
		}
	}
}
