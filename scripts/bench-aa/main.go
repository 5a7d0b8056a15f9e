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
//     and the gate fails (exit 1);
//   - measures the workload of testdata/workloads/cpu-regression, builds
//     its index (a covering index the planner reads whole into a hash
//     anti-join instead of probing another index per row: fewer buffers,
//     more CPU), measures again against the first run and drops the
//     index: the regression is caught when that statement is regressed
//     and --max-regression fails on its time (latency, or server time
//     where the machine's noise hides latency), not on its buffers, which
//     fell.
//
// It prints the three counts and exits 1 when there was a false positive
// or a regression went uncaught. It drives the built CLI (-bin), so what
// it measures is what CI gets.
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
	rounds := flag.Int("rounds", 20, "A/A comparisons, and as many dropped indexes and CPU regressions")
	cpuDir := flag.String("cpu", "testdata/workloads/cpu-regression", "the CPU regression's workload.sql and index.sql")
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
	cpu, err := readCPURegression(*cpuDir)
	if err != nil {
		return fail(err)
	}
	fmt.Printf("bench-aa: %d rounds on the HishamOS profile at scale small, default settings (%d iterations, alpha %g, noise %g%%, --max-regression 10%%)\n",
		*rounds, first.Settings.Iterations, bench.DefaultAlpha, bench.DefaultNoisePct)
	fmt.Printf("indexes dropped in turn: %s\n", strings.Join(cands, ", "))
	fmt.Printf("CPU regression: %s of %s under %s\n\n", cpuStatement, filepath.Join(*cpuDir, "workload.sql"), strings.TrimSpace(cpu.index))

	var falsePos, regressedStmts, failedGates, inconclusive, compared, caught, cpuCaught, cpuControls int
	for i := 1; i <= *rounds; i++ {
		cur := filepath.Join(work, fmt.Sprintf("run-%d.json", i))
		code, rep, err := benchRun("--baseline", prev, "--save", cur)
		if err != nil {
			return fail(err)
		}
		reg, inc := count(rep, bench.Regressed)+count(rep, bench.Mixed), count(rep, bench.Inconclusive)
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

		cpuBase := filepath.Join(work, fmt.Sprintf("cpu-%d.json", i))
		if _, _, err := benchRun("--workload", cpu.workload, "--save", cpuBase); err != nil {
			return fail(err)
		}
		if _, err := conn.Exec(ctx, cpu.index); err != nil {
			return fail(fmt.Errorf("build the CPU regression's index: %w", err))
		}
		if _, err := conn.Exec(ctx, "ANALYZE "+cpuTable); err != nil {
			return fail(err)
		}
		ccode, crep, cerr := benchRun("--workload", cpu.workload, "--baseline", cpuBase)
		if _, err := conn.Exec(ctx, cpu.drop); err != nil {
			return fail(fmt.Errorf("drop the CPU regression's index: %w", err))
		}
		if cerr != nil {
			return fail(cerr)
		}
		cok, line := cpuCaughtIn(crep, ccode)
		if cok {
			cpuCaught++
		}
		others := count(crep, bench.Regressed) + count(crep, bench.Mixed)
		if cok {
			others--
		}
		cpuControls += others
		fmt.Printf("          CPU regression: exit %d, %s: %s%s\n", ccode, line, mark(cok, "caught", "MISSED"), mark(others > 0, fmt.Sprintf(" (%d control statements regressed or mixed: FALSE POSITIVE)", others), ""))
	}
	fmt.Printf("\nA/A false positives: %d of %d comparisons (%d regressed statements, %d failed --max-regression gates; %d of %d statement comparisons inconclusive)\n",
		falsePos, *rounds, regressedStmts, failedGates, inconclusive, compared)
	fmt.Printf("dropped index caught: %d of %d\n", caught, *rounds)
	fmt.Printf("CPU regression (fewer buffers, more time) caught: %d of %d; its control statements called regressed or mixed: %d\n", cpuCaught, *rounds, cpuControls)
	fmt.Printf("took %s\n", time.Since(start).Round(time.Second))
	if falsePos > 0 || caught < *rounds || cpuCaught < *rounds || cpuControls > 0 {
		return 1
	}
	return 0
}

// The CPU regression's statement and table (testdata/workloads/cpu-regression).
const (
	cpuStatement = "idle_users_of_long_executions"
	cpuTable     = "agents_agentexecution"
)

// cpuRegression is the CPU regression's workload file and its index's
// CREATE and DROP.
type cpuRegression struct {
	workload, index, drop string
}

func readCPURegression(dir string) (cpuRegression, error) {
	c := cpuRegression{workload: filepath.Join(dir, "workload.sql")}
	if _, err := os.Stat(c.workload); err != nil {
		return c, err
	}
	b, err := os.ReadFile(filepath.Join(dir, "index.sql"))
	if err != nil {
		return c, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "CREATE INDEX") {
			c.index = l
			name := strings.Fields(l)[2]
			c.drop = "DROP INDEX " + pgx.Identifier{name}.Sanitize()
		}
	}
	if c.index == "" {
		return c, fmt.Errorf("%s/index.sql holds no CREATE INDEX line", dir)
	}
	return c, nil
}

// cpuCaughtIn reports whether a comparison caught the CPU regression: its
// statement regressed with fewer buffers, and the gate failed (exit 1) on
// its time, not its buffers; line says what was measured.
func cpuCaughtIn(rep *bench.Report, code int) (bool, string) {
	var c *bench.Comparison
	for i := range rep.Comparison {
		if rep.Comparison[i].Name == cpuStatement {
			c = &rep.Comparison[i]
		}
	}
	if c == nil {
		return false, "not compared"
	}
	line := fmt.Sprintf("%s by %s, latency %+.0f%% (%s)", c.Verdict, c.DecidedBy, c.MedianChangePct, c.Latency)
	if c.ServerChangePct != nil {
		line += fmt.Sprintf(", server %+.0f%% (%s)", *c.ServerChangePct, c.Server)
	}
	if c.BuffersChangePct != nil {
		line += fmt.Sprintf(", buffers %+.0f%%", *c.BuffersChangePct)
	}
	gateOnTime := false
	if rep.Gate != nil {
		for _, f := range rep.Gate.Failures {
			if f.Statement == cpuStatement && f.Gate == bench.GateMaxRegression &&
				(strings.Contains(f.Message, "median latency") || strings.Contains(f.Message, "server time")) {
				gateOnTime = true
			}
		}
	}
	return code == 1 && c.Verdict == bench.Regressed && c.Buffers == bench.Down && gateOnTime, line
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
