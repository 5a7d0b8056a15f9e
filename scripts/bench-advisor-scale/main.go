// Command bench-advisor-scale is `make bench-advisor-scale`: does the index
// advisor's cost stay near-linear in the statements and bounded in memory
// (issue 14, item 5)?
//
// On a sandbox of its own it loads the wide table of internal/widetable (100
// columns, -rows rows) and, for each size of -sizes, writes that many
// distinct statements over it (an ORM filter screen's: equality on one to
// four columns, IN lists, ranges, ORDER BY with a LIMIT, different select
// lists) to a .sql file and runs `hishamos-perf indexes propose --workload
// FILE --format json` on it as a child process, one size at a time. Per size
// it prints the wall time, the child's peak resident set (the kernel's
// rusage ru_maxrss of that process alone, so one size cannot hide another),
// the candidates generated, the EXPLAINs run, the proposals, and the
// workload's estimated cost before and after them; then whether each target
// was met: 200 statements in under 30 s and 500 MB, 2,000 in under 5
// minutes. A size still running after -timeout is stopped and reported as
// longer than it, with the memory it had reached.
//
// The verdict is printed, not enforced: timings on a shared machine belong
// in a benchmark, not in a pass/fail test.
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
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/indexes"
	"github.com/hishamos/hishamos-perf/internal/sandbox"
	"github.com/hishamos/hishamos-perf/internal/widetable"
)

// target is the bar for one workload size.
type target struct {
	statements int
	wall       time.Duration
	// rssBytes is the peak resident set allowed; 0 sets none.
	rssBytes int64
}

// targets are issue 14's: 200 statements over a 100-column table in under
// 30 s and 500 MB; 2,000 in under 5 minutes.
var targets = []target{
	{statements: 200, wall: 30 * time.Second, rssBytes: 500 << 20},
	{statements: 2000, wall: 5 * time.Minute},
}

// database is the sandbox database the wide table is loaded into.
const database = "advisor_scale"

func main() { os.Exit(run()) }

func run() int {
	bin := flag.String("bin", "bin/hishamos-perf", "the hishamos-perf binary")
	sizesFlag := flag.String("sizes", "200,2000,5000", "workload sizes (distinct statements), comma-separated")
	rows := flag.Int("rows", 200000, "rows of the wide table")
	seed := flag.Uint64("seed", 1, "seed of the table's rows and of the statements")
	timeout := flag.Duration("timeout", 10*time.Minute, "stop a size's run after this long")
	dir := flag.String("dir", "", "sandbox folder to use and keep (default: a temporary one, destroyed at the end); the table is reloaded only when its row count differs")
	flag.Parse()
	var sizes []int
	for _, f := range strings.Split(*sizesFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fail(fmt.Errorf("-sizes: %q is not a positive number", f))
		}
		sizes = append(sizes, n)
	}
	if *rows < 1000 {
		return fail(errors.New("-rows must be at least 1000: fewer rows make every plan a sequential scan"))
	}
	ctx := context.Background()

	work, err := os.MkdirTemp("/var/tmp", "hishamos-perf-bench-advisor-scale-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(work)
	os.Chmod(work, 0o755) // the server's account must reach a sandbox inside
	box := &sandbox.Sandbox{Dir: *dir}
	if *dir == "" {
		box.Dir = filepath.Join(work, "box")
		defer box.Destroy(context.Background())
	}
	if _, err := box.Up(ctx); err != nil {
		return fail(err)
	}
	st, err := box.LoadState()
	if err != nil {
		return fail(err)
	}
	dsn := box.DSN(st, database)
	if err := load(ctx, box.DSN(st, sandbox.Database), dsn, *rows, *seed); err != nil {
		return fail(err)
	}

	fmt.Printf("bench-advisor-scale: indexes propose over %s (%d columns, %d rows), statements of an ORM filter screen, seed %d\n\n",
		widetable.Table, widetable.Columns, *rows, *seed)
	fmt.Printf("%-10s %10s %10s %11s %9s %10s %14s %14s %8s\n",
		"statements", "wall", "peak RSS", "candidates", "EXPLAINs", "proposals", "cost before", "cost after", "better")
	type measured struct {
		n        int
		wall     time.Duration
		rss      int64
		finished bool
	}
	var runs []measured
	for _, n := range sizes {
		file := filepath.Join(work, fmt.Sprintf("workload-%d.sql", n))
		if err := os.WriteFile(file, []byte(widetable.Workload(n, *seed)), 0o644); err != nil {
			return fail(err)
		}
		m := measured{n: n}
		res, wall, rss, err := propose(*bin, dsn, file, *timeout)
		m.wall, m.rss = wall, rss
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			fmt.Printf("%-10d %10s %10s %11s %9s %10s %14s %14s %8s\n", n, "> "+timeout.String(), mb(rss)+"+", "-", "-", "-", "-", "-", "-")
		case err != nil:
			return fail(fmt.Errorf("%d statements: %w", n, err))
		default:
			m.finished = true
			w := res.Workload
			fmt.Printf("%-10d %10s %10s %11d %9d %10d %14.0f %14.0f %7.1f%%\n", n, wall.Round(100*time.Millisecond), mb(rss),
				res.Stats.Candidates, res.Stats.Explains, len(res.Proposals), w.CostBefore, w.CostAfter, w.ImprovementPct)
			if w.Statements != n {
				fmt.Printf("%-10s (%d statements costed, %d skipped)\n", "", w.Statements, w.Skipped)
			}
		}
		runs = append(runs, m)
	}

	fmt.Println()
	for _, t := range targets {
		var got *measured
		for i := range runs {
			if runs[i].n == t.statements {
				got = &runs[i]
			}
		}
		bar := fmt.Sprintf("%d statements in under %s", t.statements, t.wall)
		if t.rssBytes > 0 {
			bar += " and " + mb(t.rssBytes)
		}
		switch {
		case got == nil:
			fmt.Printf("target: %s: not run\n", bar)
		case got.finished && got.wall < t.wall && (t.rssBytes == 0 || got.rss < t.rssBytes):
			fmt.Printf("target: %s: met (%s, %s)\n", bar, got.wall.Round(100*time.Millisecond), mb(got.rss))
		default:
			fmt.Printf("target: %s: NOT met\n", bar)
		}
	}
	return 0
}

// load creates the advisor_scale database with the sandbox's extensions
// and the wide table in it, unless it already holds the table with rows
// rows.
func load(ctx context.Context, adminDSN, dsn string, rows int, seed uint64) error {
	admin, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return err
	}
	defer admin.Close(ctx)
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", database).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+database); err != nil {
			return err
		}
	}
	if err := sandbox.CreateExtensions(ctx, dsn); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var have int64 = -1
	_ = conn.QueryRow(ctx, "SELECT count(*) FROM "+widetable.Table).Scan(&have)
	if have == int64(rows) {
		return nil
	}
	fmt.Printf("loading %s: %d rows ...\n", widetable.Table, rows)
	start := time.Now()
	if _, err := conn.Exec(ctx, widetable.Schema(rows, seed)); err != nil {
		return fmt.Errorf("load %s: %w", widetable.Table, err)
	}
	var size string
	if err := conn.QueryRow(ctx, "SELECT pg_size_pretty(pg_table_size($1::regclass))", widetable.Table).Scan(&size); err != nil {
		return err
	}
	fmt.Printf("loaded in %s (%s)\n", time.Since(start).Round(time.Second), size)
	return nil
}

// propose runs indexes propose on one workload file in a child process
// and returns its result, wall time and peak resident set in bytes. A run
// past timeout is killed and returns context.DeadlineExceeded with the
// memory it had reached.
func propose(bin, dsn, file string, timeout time.Duration) (*indexes.Result, time.Duration, int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--dsn", dsn, "-q", "--format", "json", "indexes", "propose", "--workload", file)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var rss int64
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = ru.Maxrss * 1024 // kilobytes on Linux
		}
	}
	if ctx.Err() != nil {
		return nil, wall, rss, context.DeadlineExceeded
	}
	if err != nil {
		return nil, wall, rss, fmt.Errorf("%w: %s", err, strings.TrimSpace(errOut.String()))
	}
	var res indexes.Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return nil, wall, rss, fmt.Errorf("read the proposals: %w", err)
	}
	return &res, wall, rss, nil
}

// mb shows bytes in MB.
func mb(b int64) string { return fmt.Sprintf("%d MB", (b+(1<<19))>>20) }

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "bench-advisor-scale:", err)
	return 3
}
