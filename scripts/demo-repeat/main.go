// Command demo-repeat is `make demo-repeat`: does the demo's headline hold
// still?
//
// It runs `hishamos-perf demo` (-bin, at the demo's defaults: scale
// medium) -runs times, one after another, each on a sandbox of its own,
// and prints for each run the seed's net improvement over the targeted
// statements (demo.Verdict.SeedNetPct), where it falls against the
// promised 40–60%, the metric the verdict used, how long the run took and
// the machine's load average before and after it (this machine is shared:
// the load says what the figures were measured under). Then the figures'
// median and range, and the check issue 18 sets: every run within
// -tolerance percentage points of the median, and one placement for all;
// or, where the placements differ, every run at the edge of the promise
// (demo.Verdict.SeedAtEdge: within demo.EdgePoints of a bound), which
// each run's verdict says: a figure on the bound falls either side of it
// from run to run whatever the estimator. It exits 1 when the check
// fails.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hishamos/hishamos-perf/bench"
	"github.com/hishamos/hishamos-perf/demo"
)

// defaultTolerance is the issue's: each run within ±5 percentage points of
// the median.
const defaultTolerance = 5.0

func main() { os.Exit(run()) }

func run() int {
	bin := flag.String("bin", "bin/hishamos-perf", "the hishamos-perf binary")
	runs := flag.Int("runs", 5, "demo runs, one after another")
	tolerance := flag.Float64("tolerance", defaultTolerance, "how far, in percentage points, each run may be from the median")
	scale := flag.String("scale", "", "the demo's --scale (default: the demo's own, medium)")
	keep := flag.String("keep", "", "a folder to keep each run's report in (run-N.json), to see which statements moved the figure")
	flag.Parse()
	if *runs < 2 {
		fmt.Fprintln(os.Stderr, "demo-repeat: -runs must be 2 or more")
		return 2
	}
	var figs []float64
	var places []string
	edges := 0 // runs whose verdict is at the edge of the promise
	fmt.Printf("demo-repeat: %d runs of %s demo%s, one after another\n\n", *runs, *bin, scaleArg(*scale))
	for i := 1; i <= *runs; i++ {
		args := []string{"-q", "--format", "json", "demo"}
		if *scale != "" {
			args = append(args, "--scale", *scale)
		}
		load := loadAvg()
		start := time.Now()
		cmd := exec.Command(*bin, args...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		took := time.Since(start)
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			fmt.Fprintln(os.Stderr, "demo-repeat:", err)
			return 3
		}
		var rep demo.Report
		if jerr := json.Unmarshal(out.Bytes(), &rep); jerr != nil || rep.Verdict.Line == "" {
			fmt.Fprintf(os.Stderr, "demo-repeat: run %d printed no verdict (%v): %s\n", i, err, strings.TrimSpace(errOut.String()))
			return 3
		}
		if *keep != "" {
			if err := os.MkdirAll(*keep, 0o755); err != nil {
				fmt.Fprintln(os.Stderr, "demo-repeat:", err)
				return 2
			}
			if err := os.WriteFile(filepath.Join(*keep, fmt.Sprintf("run-%d.json", i)), out.Bytes(), 0o644); err != nil {
				fmt.Fprintln(os.Stderr, "demo-repeat:", err)
				return 2
			}
		}
		v := rep.Verdict
		figs, places = append(figs, v.SeedNetPct), append(places, v.SeedPlacement)
		if v.SeedAtEdge {
			edges++
		}
		fmt.Printf("run %d: the seed's %d indexes %5.1f%% net (typical %5.1f%% before netting the drift, median %5.1f%%) on %s: %-6s  took %s, load %s → %s\n",
			i, v.SeedIndexes, v.SeedNetPct, v.SeedTypicalPct, v.SeedMedianPct, metricName(v.Metric), v.SeedPlacement, took.Round(time.Second), load, loadAvg())
	}
	med := bench.Median(figs)
	lo, hi := slices.Min(figs), slices.Max(figs)
	worst := math.Max(med-lo, hi-med)
	same := len(slices.Compact(slices.Sorted(slices.Values(places)))) == 1
	fmt.Printf("\nthe seed's net improvement: %s\n", strings.Join(pcts(figs), ", "))
	fmt.Printf("median %.1f%%, range %.1f%% to %.1f%% (%.1f points), furthest from the median by %.1f points (allowed %.1f)\n", med, lo, hi, hi-lo, worst, *tolerance)
	placed := map[bool]string{true: "the same every run", false: "NOT the same every run"}[same]
	if !same && edges == len(places) {
		placed = fmt.Sprintf("not the same, and every run at the edge of the promise, as its verdict says: within %g points of a bound", demo.EdgePoints)
	}
	fmt.Printf("placement: %s (%s)\n", strings.Join(places, ", "), placed)
	if worst > *tolerance || !same && edges < len(places) {
		fmt.Println("the headline does not hold still")
		return 1
	}
	fmt.Println("the headline holds still")
	return 0
}

func scaleArg(s string) string {
	if s == "" {
		return ""
	}
	return " --scale " + s
}

func metricName(m bench.Metric) string {
	if m == "" {
		return string(bench.MetricLatency)
	}
	return string(m)
}

func pcts(v []float64) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = fmt.Sprintf("%.1f%%", x)
	}
	return out
}

// loadAvg is the machine's 1, 5 and 15-minute load averages, "?" where
// /proc does not say.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
