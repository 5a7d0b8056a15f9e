// Command bench-aa is `make bench-aa`: how often bench flakes, measured.
//
// On a sandbox of its own it saves one run of the default workload at the
// default settings, then for each of -rounds rounds:
//
//   - compares a fresh run of the unchanged sandbox against the previous one
//     (an A/A comparison): any regressed statement or a failed
//     --max-regression 10% gate is a false positive;
//   - drops one index a statement's plan uses (a different one each round,
//     in turn), compares a run against the round's A/A run, and puts the
//     index back: the regression is caught when a statement is regressed
//     and the gate fails (exit 1).
//
// It prints both counts and exits 1 when there was a false positive or a
// regression went uncaught. It drives the built CLI (-bin), so what it
// measures is what CI gets.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/bench"
)

func main() { os.Exit(run()) }

func run() int {
	bin := flag.String("bin", "bin/hishamos-perf", "the hishamos-perf binary")
	rounds := flag.Int("rounds", 20, "A/A comparisons, and as many dropped indexes")
	flag.Parse()
	ctx := context.Background()
	start := time.Now()

	work, err := os.MkdirTemp("/var/tmp", "hishamos-perf-bench-aa-")
	if err != nil {
		return fail(err)
	}
	os.Chmod(work, 0o755) // the server's account must reach the sandbox inside
	box := filepath.Join(work, "box")
	cli := func(args ...string) (int, []byte, error) {
		cmd := exec.Command(*bin, append([]string{"--sandbox-dir", box, "-q"}, args...)...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), out.Bytes(), fmt.Errorf("%s: exit %d: %s", strings.Join(args, " "), ee.ExitCode(), strings.TrimSpace(errOut.String()))
		}
		return 0, out.Bytes(), err
	}
	defer func() {
		cli("sandbox", "destroy")
		os.RemoveAll(work)
	}()
	if _, _, err := cli("sandbox", "up"); err != nil {
		return fail(err)
	}
	_, url, err := cli("sandbox", "url")
	if err != nil {
		return fail(err)
	}
	conn, err := pgx.Connect(ctx, strings.TrimSpace(string(url)))
	if err != nil {
		return fail(err)
	}
	defer conn.Close(ctx)

	benchRun := func(args ...string) (int, *bench.Report, error) {
		code, out, err := cli(append([]string{"--format", "json", "bench"}, args...)...)
		if code != 0 && code != 1 {
			return code, nil, err
		}
		var rep bench.Report
		if err := json.Unmarshal(out, &rep); err != nil {
			return code, nil, fmt.Errorf("bench printed no report: %w", err)
		}
		return code, &rep, nil
	}
	prev := filepath.Join(work, "run-0.json")
	_, first, err := benchRun("--save", prev)
	if err != nil {
		return fail(err)
	}
	cands := droppable(first)
	if len(cands) == 0 {
		return fail(errors.New("no plan uses an index that can be dropped"))
	}
	fmt.Printf("bench-aa: %d rounds on the HishamOS profile at scale small, default settings (%d iterations, alpha %g, noise %g%%, --max-regression 10%%)\n",
		*rounds, first.Settings.Iterations, bench.DefaultAlpha, bench.DefaultNoisePct)
	fmt.Printf("indexes dropped in turn: %s\n\n", strings.Join(cands, ", "))

	var falsePos, regressedStmts, failedGates, inconclusive, compared, caught int
	for i := 1; i <= *rounds; i++ {
		cur := filepath.Join(work, fmt.Sprintf("run-%d.json", i))
		code, rep, err := benchRun("--baseline", prev, "--save", cur)
		if err != nil {
			return fail(err)
		}
		reg, inc := count(rep, bench.Regressed), count(rep, bench.Inconclusive)
		compared += len(rep.Comparison)
		regressedStmts += reg
		inconclusive += inc
		if code == 1 {
			failedGates++
		}
		fp := reg > 0 || code == 1
		if fp {
			falsePos++
		}
		prev = cur

		ix := cands[(i-1)%len(cands)]
		var def string
		if err := conn.QueryRow(ctx, "SELECT pg_get_indexdef(to_regclass($1))", ix).Scan(&def); err != nil {
			return fail(err)
		}
		if _, err := conn.Exec(ctx, "DROP INDEX "+pgx.Identifier{ix}.Sanitize()); err != nil {
			return fail(err)
		}
		dcode, drep, derr := benchRun("--baseline", cur)
		if _, err := conn.Exec(ctx, def); err != nil {
			return fail(fmt.Errorf("put %s back: %w", ix, err))
		}
		if derr != nil {
			return fail(derr)
		}
		dreg := count(drep, bench.Regressed)
		ok := dcode == 1 && dreg > 0
		if ok {
			caught++
		}
		fmt.Printf("round %2d: A/A exit %d, %d regressed, %2d inconclusive%s | without %-48s exit %d, %d regressed: %s\n",
			i, code, reg, inc, mark(fp, " FALSE POSITIVE", ""), ix, dcode, dreg, mark(ok, "caught", "MISSED"))
	}
	fmt.Printf("\nA/A false positives: %d of %d comparisons (%d regressed statements, %d failed --max-regression gates; %d of %d statement comparisons inconclusive)\n",
		falsePos, *rounds, regressedStmts, failedGates, inconclusive, compared)
	fmt.Printf("dropped index caught: %d of %d\n", caught, *rounds)
	fmt.Printf("took %s\n", time.Since(start).Round(time.Second))
	if falsePos > 0 || caught < *rounds {
		return 1
	}
	return 0
}

// droppable lists, sorted, the indexes the run's plans use that are neither
// unique nor primary keys: dropping one changes no data and no constraint.
func droppable(rep *bench.Report) []string {
	var out []string
	for _, s := range rep.Statements {
		for _, name := range s.IndexesUsed {
			ix := rep.Environment.Index(name)
			if ix == nil || strings.HasPrefix(ix.Definition, "CREATE UNIQUE") || slices.Contains(out, name) {
				continue
			}
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func count(rep *bench.Report, v bench.Verdict) int {
	n := 0
	for _, c := range rep.Comparison {
		if c.Verdict == v {
			n++
		}
	}
	return n
}

func mark(ok bool, yes, no string) string {
	if ok {
		return yes
	}
	return no
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "bench-aa:", err)
	return 3
}
