// Command bench-harness is `make bench-harness`: is bench measuring the
// server, or itself?
//
// On a sandbox of its own it runs one primary-key lookup with `pgbench -M
// prepared` and with `hishamos-perf bench` (the statement prepared once per
// connection, as pgbench's prepared mode does) at 1 and at -clients-max
// clients, both tools with the same threads (pgbench -j, bench --threads:
// one per CPU, at most one per client, bench's default), for -duration
// each, in the order pgbench, bench, bench, pgbench so that drift on the
// machine falls on both alike, -rounds times. It prints both throughputs
// and their ratio for each round, and checks the target (at least 0.9)
// on the ratio of the two tools' medians over all their runs. Not the
// median of the rounds' ratios: where the server shares the machine's
// CPUs, the kernel places each client thread beside its backends or
// apart from them early in a run, and that moves a run's throughput by a
// fifth or more, for pgbench as for bench (measured on a two-core VM:
// about 15 reschedule interrupts in a fast 4-second pgbench run, 16,000
// in a slow one); a round whose pgbench run drew the fast placement and
// whose bench runs the slow one, or the other way round, says nothing
// about either tool, while each tool's median over many runs is its
// typical throughput.
// Every call bench makes runs in a transaction of its own that is rolled
// back, BEGIN READ ONLY and ROLLBACK pipelined with the statement in one
// round trip: by default pgbench runs the lookup the same way (the three
// between \startpipeline and \endpipeline), so that both tools give the
// server the same work per call and the ratio is the clients' own;
// -same-transaction=false gives pgbench the bare lookup, to see what the
// transaction costs.
// Beside them, the CPU time each tool's process used per call (user +
// system, from the kernel's accounting of the child): another job on the
// machine moves throughputs a lot and a client's cost per call much less,
// so the two say together whether bench or the machine was slow.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hishamos/hishamos-perf/bench"
)

// target is the issue's: bench at least 0.9 of pgbench's throughput.
const target = 0.9

// lookup is the statement both tools run: one execution by primary key,
// a few narrow columns, ids spread over the whole table.
const lookup = `SELECT id, agent_id, user_id, status, created_at FROM agents_agentexecution WHERE id = `

func main() { os.Exit(run()) }

func run() int {
	bin := flag.String("bin", "bin/hishamos-perf", "the hishamos-perf binary")
	duration := flag.Duration("duration", 5*time.Second, "how long each tool runs at each client count")
	maxClients := flag.Int("clients-max", 4, "the larger client count (the smaller is 1)")
	rounds := flag.Int("rounds", 5, "pgbench, bench, bench, pgbench rounds at each client count; the verdict is on the ratio of the tools' medians")
	sameTx := flag.Bool("same-transaction", true, "pgbench runs the lookup in the pipelined BEGIN READ ONLY … ROLLBACK bench runs every call in; false: the bare lookup")
	flag.Parse()
	if *rounds < 1 {
		return fail(errors.New("-rounds must be at least 1"))
	}

	pgbench, err := findPgbench()
	if err != nil {
		return fail(err)
	}
	work, err := os.MkdirTemp("/var/tmp", "hishamos-perf-bench-harness-")
	if err != nil {
		return fail(err)
	}
	os.Chmod(work, 0o755) // the server's account must reach the sandbox inside
	box := filepath.Join(work, "box")
	cli := func(args ...string) ([]byte, *os.ProcessState, error) {
		cmd := exec.Command(*bin, append([]string{"--sandbox-dir", box, "-q"}, args...)...)
		var errOut bytes.Buffer
		cmd.Stderr = &errOut
		out, err := cmd.Output()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
		}
		return out, cmd.ProcessState, nil
	}
	defer func() {
		cli("sandbox", "destroy")
		os.RemoveAll(work)
	}()
	if _, _, err := cli("sandbox", "up"); err != nil {
		return fail(err)
	}
	out, _, err := cli("sandbox", "url")
	if err != nil {
		return fail(err)
	}
	url := strings.TrimSpace(string(out))
	out, err = exec.Command("psql", url, "-Atc", "SELECT max(id) FROM agents_agentexecution").Output()
	if err != nil {
		return fail(fmt.Errorf("psql: %w", err))
	}
	maxID, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		return fail(err)
	}

	script := filepath.Join(work, "lookup.sql")
	pgbenchScript := fmt.Sprintf("\\set id random(1, %d)\n%s:id;\n", maxID, lookup)
	pgbenchRuns := "the bare lookup"
	if *sameTx {
		pgbenchScript = fmt.Sprintf("\\set id random(1, %d)\n\\startpipeline\nBEGIN READ ONLY;\n%s:id;\nROLLBACK;\n\\endpipeline\n", maxID, lookup)
		pgbenchRuns = "the lookup in BEGIN READ ONLY … ROLLBACK, pipelined as bench runs every call"
	}
	if err := os.WriteFile(script, []byte(pgbenchScript), 0o644); err != nil {
		return fail(err)
	}
	profile := filepath.Join(work, "lookup.yaml")
	yaml := fmt.Sprintf(`name: harness
description: One primary-key lookup, as make bench-harness runs it beside pgbench.
statements:
  - name: pk_lookup
    sql: %s$1
    params:
      - {name: id, kind: int_range, min: 1, max: %d}
`, lookup, maxID)
	if err := os.WriteFile(profile, []byte(yaml), 0o644); err != nil {
		return fail(err)
	}

	tps := regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)
	txns := regexp.MustCompile(`number of transactions actually processed: ([0-9]+)`)
	// measured is one tool's run at one client count: its throughput and
	// the CPU time its process used per call.
	type measured struct{ rate, cpuPerCall float64 }
	cpuPerCall := func(ps *os.ProcessState, calls float64) float64 {
		if calls == 0 {
			return 0
		}
		return float64(ps.UserTime()+ps.SystemTime()) / float64(time.Microsecond) / calls
	}
	runPgbench := func(clients int) (measured, error) {
		c := strconv.Itoa(clients)
		cmd := exec.Command(pgbench, "-n", "-M", "prepared", "-c", c, "-j", strconv.Itoa(bench.DefaultThreads(clients)),
			"-T", strconv.Itoa(int(duration.Seconds())), "-f", script, url)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return measured{}, fmt.Errorf("pgbench: %w: %s", err, out)
		}
		m, n := tps.FindSubmatch(out), txns.FindSubmatch(out)
		if m == nil || n == nil {
			return measured{}, fmt.Errorf("pgbench printed no tps:\n%s", out)
		}
		rate, err := strconv.ParseFloat(string(m[1]), 64)
		if err != nil {
			return measured{}, err
		}
		calls, err := strconv.ParseFloat(string(n[1]), 64)
		return measured{rate, cpuPerCall(cmd.ProcessState, calls)}, err
	}
	runBench := func(clients int) (measured, error) {
		out, ps, err := cli("--format", "json", "bench", "--workload", profile, "--clients", strconv.Itoa(clients), "--threads", strconv.Itoa(bench.DefaultThreads(clients)),
			"--duration", duration.String(), "--max-regression", "off")
		if err != nil {
			return measured{}, err
		}
		var rep bench.Report
		if err := json.Unmarshal(out, &rep); err != nil {
			return measured{}, err
		}
		s := rep.Statement("pk_lookup")
		if s == nil || s.Errors > 0 {
			return measured{}, errors.New("bench: pk_lookup failed")
		}
		// The process's CPU includes its setup (EXPLAIN, the environment,
		// the warm-up): a few µs a call at most over a run of seconds.
		return measured{rep.CallsPerSecond, cpuPerCall(ps, float64(s.Calls))}, nil
	}

	fmt.Printf("bench-harness: %s$1 over %d rows, %s per tool and client count, pgbench -M prepared -j = bench --threads; pgbench runs %s\n\n", lookup, maxID, *duration, pgbenchRuns)
	fmt.Printf("%-8s %-8s %-6s %16s %16s %8s %17s %16s\n", "clients", "threads", "round", "pgbench tps", "bench calls/s", "ratio", "pgbench µs/call", "bench µs/call")
	ok := true
	var summary []string
	for _, clients := range []int{1, *maxClients} {
		var ratios, pRates, bRates, pCPU, bCPU []float64
		for round := 1; round <= *rounds; round++ {
			var p, b []measured
			for _, tool := range []string{"pgbench", "bench", "bench", "pgbench"} {
				var m measured
				if tool == "pgbench" {
					m, err = runPgbench(clients)
					p = append(p, m)
					pRates, pCPU = append(pRates, m.rate), append(pCPU, m.cpuPerCall)
				} else {
					m, err = runBench(clients)
					b = append(b, m)
					bRates, bCPU = append(bRates, m.rate), append(bCPU, m.cpuPerCall)
				}
				if err != nil {
					return fail(err)
				}
			}
			pm, bm := (p[0].rate+p[1].rate)/2, (b[0].rate+b[1].rate)/2
			ratios = append(ratios, bm/pm)
			fmt.Printf("%-8d %-8d %-6d %16.0f %16.0f %8.2f %16.1f %15.1f\n", clients, bench.DefaultThreads(clients), round, pm, bm, bm/pm,
				(p[0].cpuPerCall+p[1].cpuPerCall)/2, (b[0].cpuPerCall+b[1].cpuPerCall)/2)
		}
		sort.Float64s(ratios)
		ratio := median(bRates) / median(pRates)
		ok = ok && ratio >= target
		summary = append(summary, fmt.Sprintf("%d client(s): median of %d runs each: bench %.0f calls/s (%.1f µs/call), pgbench %.0f tps (%.1f µs/call): ratio %.2f (rounds' ratios %.2f–%.2f)",
			clients, len(bRates), median(bRates), median(bCPU), median(pRates), median(pCPU), ratio, ratios[0], ratios[len(ratios)-1]))
	}
	fmt.Printf("\n%s\n", strings.Join(summary, "\n"))
	fmt.Printf("\n(µs/call: CPU time, user + system, of each tool's process per call)\n")
	verdict := "met"
	if !ok {
		verdict = "NOT met"
	}
	fmt.Printf("\ntarget: bench's median throughput >= %.2f of pgbench's at every client count: %s\n", target, verdict)
	if !ok {
		return 1
	}
	return 0
}

// median is the median of xs (sorted in place).
func median(xs []float64) float64 {
	sort.Float64s(xs)
	if n := len(xs); n%2 == 0 {
		return (xs[n/2-1] + xs[n/2]) / 2
	}
	return xs[len(xs)/2]
}

func findPgbench() (string, error) {
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench"); len(m) > 0 {
		return m[len(m)-1], nil
	}
	if p, err := exec.LookPath("pgbench"); err == nil {
		return p, nil
	}
	return "", errors.New("pgbench not found: run make setup")
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "bench-harness:", err)
	return 3
}
