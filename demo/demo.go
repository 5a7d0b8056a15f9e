// Package demo checks the seed report's claim end to end on a database of
// its own: it loads HishamOS data, runs the profile's workload once so that
// pg_stat_statements has something real to show, analyzes it, proposes
// indexes beside the seed's eleven, writes both sets as migrations, and
// measures the workload three times: with neither set, with the seed's, and
// with the advisor's. Every number in the report is measured on the run.
//
// The package never prints: it says what it does through Config.Say and
// returns a Report; the demo command renders it.
package demo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/analyze"
	"github.com/hishamos/hishamos-perf/bench"
	"github.com/hishamos/hishamos-perf/indexes"
	"github.com/hishamos/hishamos-perf/internal/dataset"
	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/migrate"
	"github.com/hishamos/hishamos-perf/profiles"
)

// Schema names the JSON layout of `demo --format json`.
const Schema = "hishamos-perf/demo/v1"

// The three index sets every statement is measured with.
const (
	SetBefore  = "before"
	SetSeed    = "seed"
	SetAdvisor = "advisor"
)

// Where an improvement falls against the promised range, as bench places it.
const (
	Below  = bench.Below
	Within = bench.Within
	Above  = bench.Above
)

// DefaultTopFindings is how many of analyze's findings the report keeps:
// the demo shows the worst, the analyze command shows all.
const DefaultTopFindings = 5

// Connector opens a session on the demo's database.
type Connector func(ctx context.Context, s pg.Session) (*pgx.Conn, error)

// Config is what one demo does.
type Config struct {
	Connect Connector
	// Profile is the workload and the hand-picked index set (hishamos).
	Profile *profiles.Profile
	// Scale and DataSeed pick the data loaded.
	Scale    dataset.Scale
	DataSeed int64
	// Bench configures each of the three measured runs.
	Bench bench.Options
	// Compare judges the runs against the one before.
	Compare bench.CompareOptions
	// MigrationsDir receives the seed/ and advisor/ migration directories.
	MigrationsDir string
	// TopFindings is how many findings to keep; 0 means DefaultTopFindings.
	TopFindings int
	// Tool names the program in the migration files' headers.
	Tool string
	// Target is where the demo runs, as the report shows it.
	Target string
	// Say, when set, hears each step in plain words.
	Say func(format string, args ...any)
	// LoadProgress, when set, hears how the data load goes.
	LoadProgress func(dataset.Progress)
	// ProposeProgress, when set, hears how the advisor goes.
	ProposeProgress func(indexes.Progress)
	// AnalyzeOptionName words an option in analyze's findings
	// (analyze.Options.OptionName): the command passes its flags' names.
	AnalyzeOptionName func(analyze.Option) string
}

// Report is the whole demo: the `demo --format json` document.
type Report struct {
	Schema  string `json:"schema"`
	Target  string `json:"target,omitempty"`
	Scale   string `json:"scale"`
	Profile string `json:"profile"`
	// Expect is the improvement the seed report promises.
	Expect *bench.ExpectRange `json:"expect,omitempty"`
	// Load is the data load.
	Load dataset.Result `json:"load"`
	// Findings are analyze's worst findings after the workload ran once;
	// FindingsTotal counts them all.
	Findings      []analyze.Finding `json:"findings"`
	FindingsTotal int               `json:"findings_total"`
	// Advisor is the advisor's proposal against the seed's set.
	Advisor AdvisorSummary `json:"advisor"`
	// Migrations are the two directories written.
	Migrations MigrationDirs `json:"migrations"`
	// Indexes are the indexes of each set, as built, with their sizes.
	Indexes []BuiltIndex `json:"indexes"`
	// Runs are the three measured runs, with their samples.
	Runs Runs `json:"runs"`
	// Statements put each statement's three runs side by side.
	Statements []StatementResult `json:"statements"`
	// Verdict sums the claim up.
	Verdict Verdict `json:"verdict"`
	// Steps are how long each step took.
	Steps     []Step  `json:"steps"`
	ElapsedMs float64 `json:"elapsed_ms"`
}

// AdvisorSummary is what indexes propose --compare-seed said.
type AdvisorSummary struct {
	Costing   string                  `json:"costing"`
	Proposals []indexes.Proposal      `json:"proposals"`
	Seed      *indexes.SeedComparison `json:"seed_comparison,omitempty"`
	Summary   indexes.Summary         `json:"workload"`
	Notes     []string                `json:"notes,omitempty"`
}

// MigrationDirs are the migration directories the demo wrote.
type MigrationDirs struct {
	Seed         string   `json:"seed"`
	SeedFiles    []string `json:"seed_files"`
	Advisor      string   `json:"advisor"`
	AdvisorFiles []string `json:"advisor_files"`
}

// BuiltIndex is one index of a set, measured once built.
type BuiltIndex struct {
	Set        string `json:"set"`
	Name       string `json:"name"`
	Table      string `json:"table"`
	Definition string `json:"definition"`
	SizeBytes  int64  `json:"size_bytes"`
}

// Runs are the three measurements.
type Runs struct {
	Before  *bench.Run `json:"before"`
	Seed    *bench.Run `json:"seed"`
	Advisor *bench.Run `json:"advisor"`
}

// StatementResult is one statement measured with each index set.
type StatementResult struct {
	Name string `json:"name"`
	// Targeted marks a statement the seed's indexes are meant to serve.
	Targeted bool `json:"targeted"`
	// P50Ms and BuffersPerCall are per set: before, seed, advisor.
	BeforeP50Ms    float64  `json:"before_p50_ms"`
	SeedP50Ms      float64  `json:"seed_p50_ms"`
	AdvisorP50Ms   float64  `json:"advisor_p50_ms"`
	BeforeBuffers  *float64 `json:"before_buffers_per_call"`
	SeedBuffers    *float64 `json:"seed_buffers_per_call"`
	AdvisorBuffers *float64 `json:"advisor_buffers_per_call"`
	// Seed and Advisor compare each set's run with the run before.
	Seed    Change `json:"seed"`
	Advisor Change `json:"advisor"`
}

// Change is one set's effect on one statement, from the samples.
type Change struct {
	// ImprovementPct is the drop in median latency, in percent (40 is 40%
	// faster; negative is slower).
	ImprovementPct float64       `json:"improvement_pct"`
	CILowPct       *float64      `json:"ci_low_pct"`
	CIHighPct      *float64      `json:"ci_high_pct"`
	PValue         float64       `json:"p_value"`
	Verdict        bench.Verdict `json:"verdict"`
	Reason         string        `json:"reason,omitempty"`
	PlanChanged    bool          `json:"plan_changed"`
	// Placement is below, within or above the promised range.
	Placement string `json:"placement"`
}

// Verdict is the claim's outcome.
type Verdict struct {
	// Targeted counts the statements the seed's indexes are meant to serve.
	Targeted int `json:"targeted"`
	// SeedMedianPct and AdvisorMedianPct are the median, over the targeted
	// statements, of each set's improvement.
	SeedMedianPct    float64 `json:"seed_median_improvement_pct"`
	AdvisorMedianPct float64 `json:"advisor_median_improvement_pct"`
	// SeedNetPct and AdvisorNetPct are those medians net of the machine's
	// drift (NetOfDrift); the placements and the claim are judged on them.
	SeedNetPct       float64 `json:"seed_net_improvement_pct"`
	AdvisorNetPct    float64 `json:"advisor_net_improvement_pct"`
	SeedPlacement    string  `json:"seed_placement"`
	AdvisorPlacement string  `json:"advisor_placement"`
	// SeedImproved and AdvisorImproved count targeted statements judged
	// improved.
	SeedImproved    int `json:"seed_improved"`
	AdvisorImproved int `json:"advisor_improved"`
	// SeedDrift and AdvisorDrift are how the statements whose plan and
	// buffers did not change moved between the runs: the machine's share of
	// every change (nil with too few of them).
	SeedDrift    *bench.Drift `json:"seed_drift,omitempty"`
	AdvisorDrift *bench.Drift `json:"advisor_drift,omitempty"`
	// ClaimHolds is set when the seed's median improvement, net of the
	// drift, reaches the promised minimum.
	ClaimHolds bool   `json:"claim_holds"`
	Line       string `json:"line"`
}

// Step is one step's wall time.
type Step struct {
	Name string  `json:"name"`
	Ms   float64 `json:"ms"`
}

// Run does the demo. On failure it returns the report so far with the error.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Connect == nil || cfg.Profile == nil {
		return nil, errors.New("demo: a connector and a profile are required")
	}
	say := cfg.Say
	if say == nil {
		say = func(string, ...any) {}
	}
	top := cfg.TopFindings
	if top <= 0 {
		top = DefaultTopFindings
	}
	p := cfg.Profile
	start := time.Now()
	rep := &Report{Schema: Schema, Target: cfg.Target, Scale: cfg.Scale.Name, Profile: p.Name}
	step := func(name string, t0 time.Time) {
		rep.Steps = append(rep.Steps, Step{Name: name, Ms: ms(time.Since(t0))})
	}
	defer func() { rep.ElapsedMs = ms(time.Since(start)) }()

	w, err := bench.FromProfile(p, profiles.After)
	if err != nil {
		return rep, fmt.Errorf("demo: %w", err)
	}
	rep.Expect = w.Info.Expect
	connector := func(ctx context.Context) (bench.Conn, error) {
		return cfg.Connect(ctx, pg.DefaultSession)
	}
	rw := func(ctx context.Context) (*pgx.Conn, error) {
		return cfg.Connect(ctx, pg.Session{LockTimeout: migrate.DefaultLockTimeout})
	}

	// 1. Data.
	t0 := time.Now()
	say("demo: loading HishamOS data at scale %s", cfg.Scale.Name)
	conn, err := rw(ctx)
	if err != nil {
		return rep, err
	}
	rep.Load, err = dataset.Load(ctx, conn, dataset.Options{Scale: cfg.Scale, Seed: cfg.DataSeed, Replace: true, Progress: cfg.LoadProgress})
	if err == nil {
		// A table fresh from COPY has no visibility map and no hint bits:
		// the first run to read it would pay for setting them, and the
		// before run would look slower than it is.
		_, err = conn.Exec(ctx, "VACUUM (ANALYZE)")
	}
	if err == nil {
		// The loader's COPY and DDL are not the workload.
		_, err = conn.Exec(ctx, "SELECT pg_stat_statements_reset(), pg_stat_reset()")
	}
	conn.Close(context.WithoutCancel(ctx))
	if err != nil {
		return rep, fmt.Errorf("demo: load: %w", err)
	}
	say("demo: loaded %d rows in %s", rep.Load.TotalRows, rep.Load.Duration.Round(time.Millisecond))
	step("load", t0)

	// 2. The workload once, then analyze.
	t0 = time.Now()
	say("demo: running the %s workload once so pg_stat_statements sees the application", p.Name)
	once := bench.Options{Clients: 1, Warmup: 0, Iterations: 1, Seed: cfg.Bench.Seed}
	if _, err := bench.Measure(ctx, connector, w, once); err != nil {
		return rep, fmt.Errorf("demo: workload: %w", err)
	}
	say("demo: analyzing what it cost")
	conn, err = cfg.Connect(ctx, pg.DefaultSession)
	if err != nil {
		return rep, err
	}
	ar, err := analyze.Analyze(ctx, conn, analyze.Options{Top: 10, Explain: 10, StatementTimeout: pg.DefaultSession.StatementTimeout,
		OptionName: cfg.AnalyzeOptionName})
	conn.Close(context.WithoutCancel(ctx))
	if err != nil {
		return rep, fmt.Errorf("demo: analyze: %w", err)
	}
	analyze.SortFindings(ar.Findings)
	rep.FindingsTotal = len(ar.Findings)
	rep.Findings = ar.Findings[:min(top, len(ar.Findings))]
	say("demo: analyze found %d findings", rep.FindingsTotal)
	step("analyze", t0)

	// 3. The advisor beside the seed's set.
	t0 = time.Now()
	say("demo: proposing indexes for the workload and costing the seed's %d beside them", len(p.Indexes))
	conn, err = cfg.Connect(ctx, pg.Session{StatementTimeout: pg.DefaultSession.StatementTimeout, LockTimeout: 5 * time.Second})
	if err != nil {
		return rep, err
	}
	res, err := indexes.Propose(ctx, conn, indexes.FromProfile(p), indexes.Options{
		MaxColumns: indexes.DefaultMaxColumns, MinImprovement: indexes.DefaultMinImprovement,
		AllowBuild: true, Seed: 1, Compare: p, Progress: cfg.ProposeProgress,
	})
	if err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return rep, fmt.Errorf("demo: propose: %w", err)
	}
	// The profile names its tables without a schema: the migrations name
	// the schema the database finds them in.
	seedSpecs := make([]indexdef.Def, len(p.Indexes))
	for i, ix := range p.Indexes {
		if seedSpecs[i], err = ix.Def(); err != nil {
			conn.Close(context.WithoutCancel(ctx))
			return rep, fmt.Errorf("demo: profile %s: %w", p.Name, err)
		}
	}
	seedSpecs, err = migrate.QualifyDefs(ctx, conn, seedSpecs)
	conn.Close(context.WithoutCancel(ctx))
	if err != nil {
		return rep, fmt.Errorf("demo: %w", err)
	}
	rep.Advisor = AdvisorSummary{Costing: res.Costing, Proposals: res.Proposals, Seed: res.Seed, Summary: res.Workload, Notes: res.Notes}
	say("demo: the advisor proposes %d indexes (estimated workload cost %.1f%% lower)", len(res.Proposals), res.Workload.ImprovementPct)
	step("propose", t0)

	// 4. Both sets as migrations.
	t0 = time.Now()
	var advSpecs []indexdef.Def
	for _, pr := range res.Proposals {
		// The proposal's index, typed as propose made it; its reason
		// heads the file.
		d := pr.Index
		d.Comment = pr.Reason
		advSpecs = append(advSpecs, d)
	}
	rep.Migrations.Seed = filepath.Join(cfg.MigrationsDir, "seed")
	rep.Migrations.Advisor = filepath.Join(cfg.MigrationsDir, "advisor")
	seedDir, files, err := plan(ctx, rep.Migrations.Seed, seedSpecs, "seed_indexes", cfg.Tool, "profile "+p.Name)
	if err != nil {
		return rep, err
	}
	rep.Migrations.SeedFiles = files
	var advDir *migrate.Dir
	if len(advSpecs) > 0 {
		if advDir, files, err = plan(ctx, rep.Migrations.Advisor, advSpecs, "advisor_indexes", cfg.Tool, "indexes propose"); err != nil {
			return rep, err
		}
		rep.Migrations.AdvisorFiles = files
	}
	say("demo: wrote %d seed and %d advisor migrations under %s", len(rep.Migrations.SeedFiles), len(rep.Migrations.AdvisorFiles), cfg.MigrationsDir)
	step("plan", t0)

	measure := func(set string) (*bench.Run, error) {
		t0 := time.Now()
		how := fmt.Sprintf("%d calls per statement", cfg.Bench.Iterations)
		if cfg.Bench.Duration > 0 {
			how = fmt.Sprintf("for %s, every statement in turn", cfg.Bench.Duration)
		}
		say("demo: measuring the workload %s (%s)", map[string]string{
			SetBefore: "before any new index", SetSeed: "with the seed's indexes", SetAdvisor: "with the advisor's indexes"}[set], how)
		if err := prewarm(ctx, rw); err != nil {
			say("demo: %v; the run starts with whatever the caches hold", err)
		}
		run, err := bench.Measure(ctx, connector, w, cfg.Bench)
		if err == nil && run != nil {
			run.Target = cfg.Target
		}
		step("bench "+set, t0)
		if err != nil {
			return run, fmt.Errorf("demo: bench %s: %w", set, err)
		}
		return run, nil
	}

	// 5. Before.
	if rep.Runs.Before, err = measure(SetBefore); err != nil {
		return rep, err
	}

	// 6. The seed's set.
	t0 = time.Now()
	say("demo: building the seed's %d indexes", len(seedSpecs))
	built, err := applyDir(ctx, rw, seedDir, SetSeed)
	rep.Indexes = append(rep.Indexes, built...)
	if err != nil {
		return rep, err
	}
	step("apply seed", t0)
	if rep.Runs.Seed, err = measure(SetSeed); err != nil {
		return rep, err
	}
	t0 = time.Now()
	say("demo: taking the seed's indexes down")
	if err := downDir(ctx, rw, seedDir, len(rep.Migrations.SeedFiles)); err != nil {
		return rep, err
	}
	step("revert seed", t0)

	// 7. The advisor's set.
	if advDir != nil {
		t0 = time.Now()
		say("demo: building the advisor's %d indexes", len(advSpecs))
		built, err := applyDir(ctx, rw, advDir, SetAdvisor)
		rep.Indexes = append(rep.Indexes, built...)
		if err != nil {
			return rep, err
		}
		step("apply advisor", t0)
	} else {
		say("demo: the advisor proposes nothing: its run measures the tables as they are")
	}
	if rep.Runs.Advisor, err = measure(SetAdvisor); err != nil {
		return rep, err
	}

	var seedDrift, advDrift *bench.Drift
	rep.Statements, seedDrift, advDrift = Table(w, rep.Runs, cfg.Compare, rep.Expect)
	rep.Verdict = Judge(rep.Statements, rep.Expect, len(seedSpecs), len(advSpecs), seedDrift, advDrift)
	return rep, nil
}

// prewarm reads every table and index of the public schema into shared
// buffers, so that each of the three runs starts with the same warm cache:
// without it the first run reads from the operating system's cache what
// the later runs find in shared buffers, and looks slower for no fault of
// its indexes.
func prewarm(ctx context.Context, rw func(context.Context) (*pgx.Conn, error)) error {
	conn, err := rw(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_prewarm"); err != nil {
		return fmt.Errorf("demo: pg_prewarm: %w", err)
	}
	_, err = conn.Exec(ctx, `SELECT pg_prewarm(c.oid) FROM pg_class c
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'i', 'm') AND c.relpersistence = 'p'`)
	if err != nil {
		return fmt.Errorf("demo: pg_prewarm: %w", err)
	}
	return nil
}

// plan writes indexes as a fresh migration directory; source heads its
// files.
func plan(ctx context.Context, path string, indexes []indexdef.Def, name, tool, source string) (*migrate.Dir, []string, error) {
	res, err := migrate.Plan(ctx, path, indexes, migrate.PlanOptions{Name: name, Tool: tool, Source: source})
	if err != nil {
		return nil, nil, fmt.Errorf("demo: plan %s: %w", path, err)
	}
	files := make([]string, 0, len(res.Files))
	for _, f := range res.Files {
		files = append(files, f.File)
	}
	dir, err := migrate.OpenDir(path)
	if err != nil {
		return nil, nil, fmt.Errorf("demo: %w", err)
	}
	return dir, files, nil
}

// applyDir applies a directory, ANALYZEs the tables so the planner sees the
// new indexes with fresh statistics, and returns the indexes with sizes.
func applyDir(ctx context.Context, rw func(context.Context) (*pgx.Conn, error), dir *migrate.Dir, set string) ([]BuiltIndex, error) {
	conn, err := rw(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	res, err := migrate.Apply(ctx, conn, dir, migrate.ApplyOptions{})
	if err != nil {
		return nil, fmt.Errorf("demo: apply %s: %w", dir.Path, err)
	}
	var names []string
	for _, f := range res.Files {
		names = append(names, f.Indexes...)
	}
	if _, err := conn.Exec(ctx, "ANALYZE"); err != nil {
		return nil, fmt.Errorf("demo: ANALYZE: %w", err)
	}
	rows, err := conn.Query(ctx, `SELECT c.relname, t.relname, pg_get_indexdef(c.oid), pg_relation_size(c.oid)
		FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid JOIN pg_class t ON t.oid = i.indrelid
		WHERE c.relname = ANY($1) ORDER BY c.relname`, names)
	if err != nil {
		return nil, fmt.Errorf("demo: index sizes: %w", err)
	}
	var out []BuiltIndex
	for rows.Next() {
		b := BuiltIndex{Set: set}
		if err := rows.Scan(&b.Name, &b.Table, &b.Definition, &b.SizeBytes); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// downDir takes n migrations of a directory down.
func downDir(ctx context.Context, rw func(context.Context) (*pgx.Conn, error), dir *migrate.Dir, n int) error {
	conn, err := rw(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := migrate.Down(ctx, conn, dir, migrate.ApplyOptions{N: n}); err != nil {
		return fmt.Errorf("demo: down %s: %w", dir.Path, err)
	}
	return nil
}

// Table puts every statement's three runs side by side, comparing the seed's
// and the advisor's runs with the one before.
func Table(w *bench.Workload, runs Runs, o bench.CompareOptions, expect *bench.ExpectRange) (out []StatementResult, seedDrift, advisorDrift *bench.Drift) {
	targeted := map[string]bool{}
	for _, s := range w.Statements {
		targeted[s.Name] = len(s.Indexes) > 0
	}
	seed := bench.Compare(runs.Before, runs.Seed, o, targeted, expect)
	adv := bench.Compare(runs.Before, runs.Advisor, o, targeted, expect)
	find := func(cs []bench.Comparison, name string) *bench.Comparison {
		for i := range cs {
			if cs[i].Name == name {
				return &cs[i]
			}
		}
		return nil
	}
	for _, b := range runs.Before.Statements {
		s, a := runs.Seed.Statement(b.Name), runs.Advisor.Statement(b.Name)
		cs, ca := find(seed.Comparison, b.Name), find(adv.Comparison, b.Name)
		if s == nil || a == nil || cs == nil || ca == nil {
			continue
		}
		out = append(out, StatementResult{
			Name: b.Name, Targeted: targeted[b.Name],
			BeforeP50Ms: b.P50Ms, SeedP50Ms: s.P50Ms, AdvisorP50Ms: a.P50Ms,
			BeforeBuffers: b.BuffersPerCall, SeedBuffers: s.BuffersPerCall, AdvisorBuffers: a.BuffersPerCall,
			Seed: change(cs, expect), Advisor: change(ca, expect),
		})
	}
	return out, seed.Drift, adv.Drift
}

func change(c *bench.Comparison, expect *bench.ExpectRange) Change {
	return Change{ImprovementPct: c.ImprovementPct(), CILowPct: neg(c.CIHighPct), CIHighPct: neg(c.CILowPct),
		PValue: c.PValue, Verdict: c.Verdict, Reason: c.Reason, PlanChanged: c.PlanChanged,
		Placement: expect.Place(c.ImprovementPct())}
}

// neg turns a bound on the change into one on the improvement.
func neg(v *float64) *float64 {
	if v == nil {
		return nil
	}
	x := -*v
	return &x
}

// Judge sums the statements up: the median improvement of each set over the
// statements the seed's indexes target, and where it falls.
func Judge(stmts []StatementResult, expect *bench.ExpectRange, seedCount, advisorCount int, seedDrift, advisorDrift *bench.Drift) Verdict {
	var v Verdict
	var seed, adv []float64
	for _, s := range stmts {
		if !s.Targeted {
			continue
		}
		v.Targeted++
		seed = append(seed, s.Seed.ImprovementPct)
		adv = append(adv, s.Advisor.ImprovementPct)
		if s.Seed.Verdict == bench.Improved {
			v.SeedImproved++
		}
		if s.Advisor.Verdict == bench.Improved {
			v.AdvisorImproved++
		}
	}
	v.SeedMedianPct, v.AdvisorMedianPct = round1(bench.Median(seed)), round1(bench.Median(adv))
	v.SeedNetPct, v.AdvisorNetPct = round1(NetOfDrift(v.SeedMedianPct, seedDrift)), round1(NetOfDrift(v.AdvisorMedianPct, advisorDrift))
	v.SeedPlacement, v.AdvisorPlacement = expect.Place(v.SeedNetPct), expect.Place(v.AdvisorNetPct)
	promise := "no promised range"
	if expect != nil {
		promise = fmt.Sprintf("the promised %g–%g%%", expect.MinPct, expect.MaxPct)
		v.ClaimHolds = v.Targeted > 0 && v.SeedNetPct >= expect.MinPct
	}
	claim := "the claim does not hold"
	if v.ClaimHolds {
		claim = "the claim holds"
	}
	v.SeedDrift, v.AdvisorDrift = seedDrift, advisorDrift
	v.Line = fmt.Sprintf("%s: over the %d targeted statements the seed's %d indexes cut median latency by %s: %s %s (%d improved); the advisor's %d by %s: %s (%d improved)",
		claim, v.Targeted, seedCount, netWords(v.SeedMedianPct, v.SeedNetPct, seedDrift), v.SeedPlacement, promise, v.SeedImproved,
		advisorCount, netWords(v.AdvisorMedianPct, v.AdvisorNetPct, advisorDrift), v.AdvisorPlacement, v.AdvisorImproved)
	return v
}

// NetOfDrift takes the machine's drift out of an improvement: the ratio of
// the medians after and before, over the ratio the statements whose plans
// and buffers did not change moved by. Without a drift it is pct itself.
func NetOfDrift(pct float64, d *bench.Drift) float64 {
	if d == nil || d.MedianPct <= -100 {
		return pct
	}
	return (1 - (1-pct/100)/(1+d.MedianPct/100)) * 100
}

// netWords says an improvement with, when there is a drift, its net value.
func netWords(pct, net float64, d *bench.Drift) string {
	if d == nil {
		return fmt.Sprintf("%.1f%% (no drift measured)", pct)
	}
	return fmt.Sprintf("%.1f%%, %.1f%% net of the machine's drift (%+.1f%% over %d statements whose plans and buffers did not change)", pct, net, d.MedianPct, d.Controls)
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
