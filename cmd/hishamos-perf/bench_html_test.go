package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/hishamos/hishamos-perf/bench"
)

// TestBenchHTML: bench --html writes a self-contained report with one
// chart per statement measured, which a real browser renders.
func TestBenchHTML(t *testing.T) {
	dsn := seededDB(t)
	path := filepath.Join(t.TempDir(), "bench.html")
	r := cli(t, "--dsn", dsn, "--format", "json", "bench", "--iterations", "5", "--warmup", "1", "--html", path)
	if r.code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", r.code, r.stderr)
	}
	var rep bench.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("stdout is not bench's JSON: %v", err)
	}
	if len(rep.Statements) == 0 {
		t.Fatal("bench measured nothing")
	}
	checkHTML(t, path, len(rep.Statements))
}
