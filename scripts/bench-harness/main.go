// Command bench-harness is `make bench-harness`: is bench measuring the
// server, or itself?
//
// On a sandbox of its own it runs one primary-key lookup with `pgbench -M
// prepared` and with `hishamos-perf bench` (the statement prepared once per
// connection, as pgbench's prepared mode does) at 1 and at -clients-max
// clients, for -duration each, in the order pgbench, bench, bench, pgbench
// so that drift on the machine falls on both alike. It prints both
// throughputs and bench's over pgbench's; the target is at least 0.9.
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
	flag.Parse()

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
	cli := func(args ...string) ([]byte, error) {
		cmd := exec.Command(*bin, append([]string{"--sandbox-dir", box, "-q"}, args...)...)
		var errOut bytes.Buffer
		cmd.Stderr = &errOut
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
		}
		return out, nil
	}
	defer func() {
		cli("sandbox", "destroy")
		os.RemoveAll(work)
	}()
	if _, err := cli("sandbox", "up"); err != nil {
		return fail(err)
	}
	out, err := cli("sandbox", "url")
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
	if err := os.WriteFile(script, []byte(fmt.Sprintf("\\set id random(1, %d)\n%s:id;\n", maxID, lookup)), 0o644); err != nil {
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
	runPgbench := func(clients int) (float64, error) {
		c := strconv.Itoa(clients)
		out, err := exec.Command(pgbench, "-n", "-M", "prepared", "-c", c, "-j", c,
			"-T", strconv.Itoa(int(duration.Seconds())), "-f", script, url).CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("pgbench: %w: %s", err, out)
		}
		m := tps.FindSubmatch(out)
		if m == nil {
			return 0, fmt.Errorf("pgbench printed no tps:\n%s", out)
		}
		return strconv.ParseFloat(string(m[1]), 64)
	}
	runBench := func(clients int) (float64, error) {
		out, err := cli("--format", "json", "bench", "--profile", profile, "--clients", strconv.Itoa(clients),
			"--duration", duration.String(), "--max-regression", "off")
		if err != nil {
			return 0, err
		}
		var rep bench.Report
		if err := json.Unmarshal(out, &rep); err != nil {
			return 0, err
		}
		if s := rep.Statement("pk_lookup"); s == nil || s.Errors > 0 {
			return 0, errors.New("bench: pk_lookup failed")
		}
		return rep.CallsPerSecond, nil
	}

	fmt.Printf("bench-harness: %s$1 over %d rows, %s per tool and client count, pgbench -M prepared -j = -c\n\n", lookup, maxID, *duration)
	fmt.Printf("%-8s %16s %16s %8s\n", "clients", "pgbench tps", "bench calls/s", "ratio")
	ok := true
	for _, clients := range []int{1, *maxClients} {
		var p, b []float64
		for _, tool := range []string{"pgbench", "bench", "bench", "pgbench"} {
			var v float64
			if tool == "pgbench" {
				v, err = runPgbench(clients)
				p = append(p, v)
			} else {
				v, err = runBench(clients)
				b = append(b, v)
			}
			if err != nil {
				return fail(err)
			}
		}
		pm, bm := (p[0]+p[1])/2, (b[0]+b[1])/2
		ratio := bm / pm
		ok = ok && ratio >= target
		fmt.Printf("%-8d %16.0f %16.0f %8.2f   (pgbench %.0f, %.0f; bench %.0f, %.0f)\n", clients, pm, bm, ratio, p[0], p[1], b[0], b[1])
	}
	verdict := "met"
	if !ok {
		verdict = "NOT met"
	}
	fmt.Printf("\ntarget: bench >= %.2f of pgbench at every client count: %s\n", target, verdict)
	if !ok {
		return 1
	}
	return 0
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
