// Package demo checks the seed report's claim end to end on a database of
// its own: it loads HishamOS data, runs the profile's workload once so that
// pg_stat_statements has something real to show, analyzes it, proposes
// indexes beside the seed's eleven, writes both sets as migrations, and
// measures the workload with neither set, with the seed's, and with the
// advisor's, each set's run between two halves of its run without (so
// that the machine's load falls on both sides alike), and judges the
// seed's claim on the server's time per call. Every number in the report
// is measured on the run.
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

// Schema names the JSON layout of `demo --format json`. v2 states the
// verdict in its metric (Verdict.Metric: server time where the sandbox
// gives it) and adds server time beside latency; requests and claims were
// added to it later, leaving every other field's meaning as it was.
const Schema = "hishamos-perf/demo/v2"

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
	// KeepIndexes builds the advisor's set again once it has been measured
	// (each set is taken down after its run): the command's --keep.
	KeepIndexes bool
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
	// Verdict sums the indexes' claim up.
	Verdict Verdict `json:"verdict"`
	// Requests are the profile's before/after pairs measured as requests
	// (the N+1 and field-limiting rewrite); nil for a profile without one.
	Requests *Requests `json:"requests,omitempty"`
	// Claims are every database claim of the seed report, each with what
	// the run measured and its verdict: the indexes' (Verdict), the
	// rewrite's fewer queries and less memory (Requests), and the cache's,
	// which a database tool cannot measure.
	Claims []Claim `json:"claims,omitempty"`
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

// Runs are the measurements: the tables as they are, with the seed's set
// and with the advisor's. Before is the seed's before (its two halves
// around the seed's run, merged: see demoRun.measure), AdvisorBefore the
// advisor's (around the advisor's run); nil AdvisorBefore means Before.
type Runs struct {
	Before        *bench.Run `json:"before"`
	Seed          *bench.Run `json:"seed"`
	Advisor       *bench.Run `json:"advisor"`
	AdvisorBefore *bench.Run `json:"advisor_before,omitempty"`
}

// advisorBefore is the run the advisor's is compared with.
func (r Runs) advisorBefore() *bench.Run {
	if r.AdvisorBefore != nil {
		return r.AdvisorBefore
	}
	return r.Before
}

// StatementResult is one statement measured with each index set.
type StatementResult struct {
	Name string `json:"name"`
	// Targeted marks a statement the seed's indexes are meant to serve.
	Targeted bool `json:"targeted"`
	// P50Ms, ServerMs (the server's mean time per call) and
	// BuffersPerCall are per set: before, seed, advisor.
	BeforeP50Ms     float64  `json:"before_p50_ms"`
	SeedP50Ms       float64  `json:"seed_p50_ms"`
	AdvisorP50Ms    float64  `json:"advisor_p50_ms"`
	BeforeServerMs  *float64 `json:"before_server_ms"`
	SeedServerMs    *float64 `json:"seed_server_ms"`
	AdvisorServerMs *float64 `json:"advisor_server_ms"`
	BeforeBuffers   *float64 `json:"before_buffers_per_call"`
	SeedBuffers     *float64 `json:"seed_buffers_per_call"`
	AdvisorBuffers  *float64 `json:"advisor_buffers_per_call"`
	// Seed and Advisor compare each set's run with the run before.
	Seed    Change `json:"seed"`
	Advisor Change `json:"advisor"`
}

// Change is one set's effect on one statement.
type Change struct {
	// ImprovementPct is the drop in median latency, in percent (40 is 40%
	// faster; negative is slower), from the samples; CILowPct and
	// CIHighPct bound it.
	ImprovementPct float64  `json:"improvement_pct"`
	CILowPct       *float64 `json:"ci_low_pct"`
	CIHighPct      *float64 `json:"ci_high_pct"`
	PValue         float64  `json:"p_value"`
	// ServerImprovementPct is the drop in the server's mean time per call,
	// ServerCILowPct and ServerCIHighPct its bounds; nil when the two runs
	// do not both have it.
	ServerImprovementPct *float64      `json:"server_improvement_pct"`
	ServerCILowPct       *float64      `json:"server_ci_low_pct"`
	ServerCIHighPct      *float64      `json:"server_ci_high_pct"`
	Verdict              bench.Verdict `json:"verdict"`
	Reason               string        `json:"reason,omitempty"`
	PlanChanged          bool          `json:"plan_changed"`
	// ClaimPct is the improvement in the verdict's metric (Verdict.Metric),
	// and Placement where it falls: below, within or above the promised
	// range.
	ClaimPct  float64 `json:"claim_pct"`
	Placement string  `json:"placement"`
}

// Verdict is the claim's outcome.
type Verdict struct {
	// Targeted counts the statements the seed's indexes are meant to serve.
	Targeted int `json:"targeted"`
	// SeedIndexes and AdvisorIndexes count each set's indexes.
	SeedIndexes    int `json:"seed_indexes"`
	AdvisorIndexes int `json:"advisor_indexes"`
	// Metric is what the claim is judged on (see ClaimMetric), and
	// MetricWhy says why in words.
	Metric    bench.Metric `json:"metric"`
	MetricWhy string       `json:"metric_why"`
	// RoundTripPct is the median, over the targeted statements, of the
	// share of their mean latency before that was not the server's time:
	// the client's round trip, which no index changes.
	RoundTripPct *float64 `json:"round_trip_pct,omitempty"`
	// SeedTypicalPct and AdvisorTypicalPct are the typical improvement,
	// in Metric, of a statement the seed's indexes target: the
	// Hodges–Lehmann estimate over the targeted statements (HodgesLehmann).
	// The claim is judged on it.
	SeedTypicalPct    float64 `json:"seed_typical_improvement_pct"`
	AdvisorTypicalPct float64 `json:"advisor_typical_improvement_pct"`
	// SeedMedianPct and AdvisorMedianPct are the median, over the targeted
	// statements, of each set's improvement in Metric, for reference: with
	// a dozen statements, some transformed and some barely touched, it
	// jumps across the gap between the two groups from run to run.
	SeedMedianPct    float64 `json:"seed_median_improvement_pct"`
	AdvisorMedianPct float64 `json:"advisor_median_improvement_pct"`
	// SeedLatencyMedianPct and AdvisorLatencyMedianPct are the same in
	// median latency, whatever Metric is, for reference.
	SeedLatencyMedianPct    float64 `json:"seed_latency_median_improvement_pct"`
	AdvisorLatencyMedianPct float64 `json:"advisor_latency_median_improvement_pct"`
	// SeedNetPct and AdvisorNetPct are the typical improvements net of
	// the machine's drift (NetOfDrift); the placements and the claim are
	// judged on them.
	SeedNetPct    float64 `json:"seed_net_improvement_pct"`
	AdvisorNetPct float64 `json:"advisor_net_improvement_pct"`
	SeedPlacement string  `json:"seed_placement"`
	// SeedAtEdge is set when the seed's net improvement lies within
	// EdgePoints of a bound of the promise: repeated runs on one machine
	// spread that far, so a repeat may place it on the other side.
	SeedAtEdge       bool   `json:"seed_at_edge,omitempty"`
	AdvisorPlacement string `json:"advisor_placement"`
	// SeedImproved and AdvisorImproved count targeted statements judged
	// improved.
	SeedImproved    int `json:"seed_improved"`
	AdvisorImproved int `json:"advisor_improved"`
	// SeedDrift and AdvisorDrift are how the statements whose plan and
	// buffers did not change moved between the runs, in Metric: the
	// machine's share of every change (nil with too few of them).
	SeedDrift    *bench.Drift `json:"seed_drift,omitempty"`
	AdvisorDrift *bench.Drift `json:"advisor_drift,omitempty"`
	// ClaimHolds is set when the seed's typical improvement, net of the
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
	d := newRun(cfg)
	defer func() { d.rep.ElapsedMs = ms(time.Since(d.start)) }()
	w, err := bench.FromProfile(cfg.Profile, profiles.After)
	if err != nil {
		return d.rep, fmt.Errorf("demo: %w", err)
	}
	d.w, d.rep.Expect = w, w.Info.Expect
	for _, step := range []func(context.Context) error{d.load, d.analyze, d.propose, d.plan, d.measure, d.requests, d.keep} {
		if err := step(ctx); err != nil {
			return d.rep, err
		}
	}
	metric, why, roundTrip := ClaimMetric(w, d.rep.Runs)
	o := cfg.Compare
	o.Metric = metric
	var seedDrift, advDrift *bench.Drift
	d.rep.Statements, seedDrift, advDrift = Table(w, d.rep.Runs, o, d.rep.Expect)
	d.rep.Verdict = Judge(d.rep.Statements, d.rep.Expect, len(d.seedDefs), len(d.advDefs), seedDrift, advDrift, metric)
	d.rep.Verdict.MetricWhy, d.rep.Verdict.RoundTripPct = why, roundTrip
	d.rep.Claims = Claims(d.rep)
	return d.rep, nil
}

// demoRun is one demo as it goes: its configuration, the report it fills
// and what one step hands the next.
type demoRun struct {
	cfg   Config
	rep   *Report
	say   func(format string, args ...any)
	start time.Time
	w     *bench.Workload
	// seedDefs and advDefs are the two index sets, schema-qualified;
	// seedDir and advDir their migration directories (advDir nil when the
	// advisor proposes nothing).
	seedDefs, advDefs []indexdef.Def
	seedDir, advDir   *migrate.Dir
}

func newRun(cfg Config) *demoRun {
	d := &demoRun{cfg: cfg, say: cfg.Say, start: time.Now()}
	if d.say == nil {
		d.say = func(string, ...any) {}
	}
	if d.cfg.TopFindings <= 0 {
		d.cfg.TopFindings = DefaultTopFindings
	}
	d.rep = &Report{Schema: Schema, Target: cfg.Target, Scale: cfg.Scale.Name, Profile: cfg.Profile.Name}
	return d
}

// step records how long the step named name took since t0.
func (d *demoRun) step(name string, t0 time.Time) {
	d.rep.Steps = append(d.rep.Steps, Step{Name: name, Ms: ms(time.Since(t0))})
}

// connector opens the read-only sessions bench measures on.
func (d *demoRun) connector(ctx context.Context) (bench.Conn, error) {
	return d.cfg.Connect(ctx, pg.DefaultSession)
}

// rw opens a session that may write, under lock_timeout.
func (d *demoRun) rw(ctx context.Context) (*pgx.Conn, error) {
	return d.cfg.Connect(ctx, pg.Session{LockTimeout: migrate.DefaultLockTimeout})
}

// load loads the HishamOS data and leaves it vacuumed, analyzed and with
// statistics reset.
func (d *demoRun) load(ctx context.Context) error {
	t0 := time.Now()
	d.say("demo: loading HishamOS data at scale %s", d.cfg.Scale.Name)
	conn, err := d.rw(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	d.rep.Load, err = dataset.Load(ctx, conn, dataset.Options{Scale: d.cfg.Scale, Seed: d.cfg.DataSeed, Replace: true, Progress: d.cfg.LoadProgress})
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
	if err != nil {
		return fmt.Errorf("demo: load: %w", err)
	}
	d.say("demo: loaded %d rows in %s", d.rep.Load.TotalRows, d.rep.Load.Duration.Round(time.Millisecond))
	d.step("load", t0)
	return nil
}

// analyze runs the workload once, so that pg_stat_statements sees the
// application, and keeps analyze's worst findings.
func (d *demoRun) analyze(ctx context.Context) error {
	t0 := time.Now()
	d.say("demo: running the %s workload once so pg_stat_statements sees the application", d.cfg.Profile.Name)
	once := bench.Options{Clients: 1, Warmup: 0, Iterations: 1, Seed: d.cfg.Bench.Seed}
	if _, err := bench.Measure(ctx, d.connector, d.w, once); err != nil {
		return fmt.Errorf("demo: workload: %w", err)
	}
	d.say("demo: analyzing what it cost")
	conn, err := d.cfg.Connect(ctx, pg.DefaultSession)
	if err != nil {
		return err
	}
	ar, err := analyze.Analyze(ctx, conn, analyze.Options{Top: 10, Explain: 10, StatementTimeout: pg.DefaultSession.StatementTimeout,
		OptionName: d.cfg.AnalyzeOptionName})
	conn.Close(context.WithoutCancel(ctx))
	if err != nil {
		return fmt.Errorf("demo: analyze: %w", err)
	}
	analyze.SortFindings(ar.Findings)
	d.rep.FindingsTotal = len(ar.Findings)
	d.rep.Findings = ar.Findings[:min(d.cfg.TopFindings, len(ar.Findings))]
	d.say("demo: analyze found %d findings", d.rep.FindingsTotal)
	d.step("analyze", t0)
	return nil
}

// propose runs the advisor beside the profile's hand-picked set, and
// qualifies that set's tables with the schema the database finds them in.
func (d *demoRun) propose(ctx context.Context) error {
	t0 := time.Now()
	p := d.cfg.Profile
	d.say("demo: proposing indexes for the workload and costing the seed's %d beside them", len(p.Indexes))
	conn, err := d.cfg.Connect(ctx, pg.Session{StatementTimeout: pg.DefaultSession.StatementTimeout, LockTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	res, err := indexes.Propose(ctx, conn, indexes.FromProfile(p), indexes.Options{
		MaxColumns: indexes.DefaultMaxColumns, MinImprovement: indexes.DefaultMinImprovement,
		AllowBuild: true, Seed: 1, Compare: p, Progress: d.cfg.ProposeProgress,
	})
	if err != nil {
		return fmt.Errorf("demo: propose: %w", err)
	}
	// The profile names its tables without a schema: the migrations name
	// the schema the database finds them in.
	seed := make([]indexdef.Def, len(p.Indexes))
	for i, ix := range p.Indexes {
		if seed[i], err = ix.Def(); err != nil {
			return fmt.Errorf("demo: profile %s: %w", p.Name, err)
		}
	}
	if d.seedDefs, err = migrate.QualifyDefs(ctx, conn, seed); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	for _, pr := range res.Proposals {
		// The proposal's index, typed as propose made it; its reason
		// heads the file.
		def := pr.Index
		def.Comment = pr.Reason
		d.advDefs = append(d.advDefs, def)
	}
	d.rep.Advisor = AdvisorSummary{Costing: res.Costing, Proposals: res.Proposals, Seed: res.Seed, Summary: res.Workload, Notes: res.Notes}
	d.say("demo: the advisor proposes %d indexes (estimated workload cost %.1f%% lower)", len(res.Proposals), res.Workload.ImprovementPct)
	d.step("propose", t0)
	return nil
}

// plan writes both sets as migration directories.
func (d *demoRun) plan(ctx context.Context) error {
	t0 := time.Now()
	m := &d.rep.Migrations
	m.Seed = filepath.Join(d.cfg.MigrationsDir, "seed")
	m.Advisor = filepath.Join(d.cfg.MigrationsDir, "advisor")
	var err error
	if d.seedDir, m.SeedFiles, err = plan(ctx, m.Seed, d.seedDefs, "seed_indexes", d.cfg.Tool, "profile "+d.cfg.Profile.Name); err != nil {
		return err
	}
	if len(d.advDefs) > 0 {
		if d.advDir, m.AdvisorFiles, err = plan(ctx, m.Advisor, d.advDefs, "advisor_indexes", d.cfg.Tool, "indexes propose"); err != nil {
			return err
		}
	}
	d.say("demo: wrote %d seed and %d advisor migrations under %s", len(m.SeedFiles), len(m.AdvisorFiles), d.cfg.MigrationsDir)
	d.step("plan", t0)
	return nil
}

// measure runs the workload on the tables as they are, then, through
// bench's own sequence (apply → ANALYZE → measure, as bench --apply runs
// it), with the seed's set, taken down again, then as they are again, then
// with the advisor's set, taken down, and as they are a third time:
// before₁ seed before₂ advisor before₃, each "before" half as long as a
// set's run. The seed is compared with before₁ and before₂ merged, the
// advisor with before₂ and before₃: each set's run sits between the two
// halves of its before, so a change in the machine's load while they run
// (another job starting, or ending) falls on both sides of the comparison
// alike, and a steady one cancels out. Config.KeepIndexes builds the
// advisor's set again at the end.
func (d *demoRun) measure(ctx context.Context) error {
	how := fmt.Sprintf("%d calls per statement", d.cfg.Bench.Iterations)
	half := d.cfg.Bench
	if d.cfg.Bench.Duration > 0 {
		how = fmt.Sprintf("for %s, every statement in turn", d.cfg.Bench.Duration)
		half.Duration = d.cfg.Bench.Duration / 2
	} else {
		half.Iterations = (d.cfg.Bench.Iterations + 1) / 2
	}
	bc := bench.Config{Workload: d.w, Options: d.cfg.Bench, Compare: d.cfg.Compare, Target: d.cfg.Target, Prepare: d.prewarm}

	d.say("demo: measuring the workload before any new index (half of it: the other half follows the seed's run)")
	b1, err := d.measureAsIs(ctx, d.w, half, SetBefore+" 1")
	if err != nil {
		return err
	}
	d.say("demo: building the seed's %d indexes and measuring the workload with them (%s)", len(d.seedDefs), how)
	if d.rep.Runs.Seed, err = d.measureWith(ctx, bc, d.seedDir, SetSeed, b1); err != nil {
		return err
	}
	d.say("demo: measuring the workload without them again (the other half of the seed's before)")
	b2, err := d.measureAsIs(ctx, d.w, half, SetBefore+" 2")
	if err != nil {
		return err
	}
	d.rep.Runs.Before = bench.Merge(b1, b2)
	if d.advDir == nil {
		d.say("demo: the advisor proposes nothing: its run measures the tables as they are")
		d.rep.Runs.Advisor, err = d.measureAsIs(ctx, d.w, d.cfg.Bench, SetAdvisor)
		d.rep.Runs.AdvisorBefore = d.rep.Runs.Before
		return err
	}
	d.say("demo: building the advisor's %d indexes and measuring the workload with them (%s)", len(d.advDefs), how)
	if d.rep.Runs.Advisor, err = d.measureWith(ctx, bc, d.advDir, SetAdvisor, b2); err != nil {
		return err
	}
	d.say("demo: measuring the workload without them again (the other half of the advisor's before)")
	b3, err := d.measureAsIs(ctx, d.w, half, SetBefore+" 3")
	if err != nil {
		return err
	}
	d.rep.Runs.AdvisorBefore = bench.Merge(b2, b3)
	return nil
}

// keep builds the advisor's set again once everything has been measured
// (Config.KeepIndexes).
func (d *demoRun) keep(ctx context.Context) error {
	if !d.cfg.KeepIndexes || d.advDir == nil {
		return nil
	}
	t0 := time.Now()
	d.say("demo: building the advisor's indexes again, to keep them")
	if _, _, err := (&migrate.Migrator{Directory: d.advDir, Connect: d.rw}).Apply(ctx); err != nil {
		return fmt.Errorf("demo: build the advisor's indexes again: %w", err)
	}
	d.step("apply "+SetAdvisor+" again", t0)
	return nil
}

// measureAsIs measures w on the tables as they are, after
// warming the caches, with o, as the run of set.
func (d *demoRun) measureAsIs(ctx context.Context, w *bench.Workload, o bench.Options, set string) (*bench.Run, error) {
	t0 := time.Now()
	d.prewarm(ctx)
	run, err := bench.Measure(ctx, d.connector, w, o)
	if run != nil {
		run.Target = d.cfg.Target
	}
	d.step("bench "+set, t0)
	if err != nil {
		return run, fmt.Errorf("demo: bench %s: %w", set, err)
	}
	return run, nil
}

// measureWith applies dir's migrations, measures the workload with them
// against before (bench.AfterMigrations) and takes them down again; the
// indexes built, with their sizes, join the report.
func (d *demoRun) measureWith(ctx context.Context, bc bench.Config, dir *migrate.Dir, set string, before *bench.Run) (*bench.Run, error) {
	t0 := time.Now()
	tm := &timedMigrator{Migrator: &migrate.Migrator{Directory: dir, Connect: d.rw},
		reverting: func() { d.say("demo: taking the %s's indexes down", set) }}
	bc.Migrator, bc.Revert = tm, true
	rep, err := bench.AfterMigrations(ctx, d.connector, bc, before)
	if tm.applied > 0 {
		d.rep.Steps = append(d.rep.Steps, Step{Name: "apply " + set, Ms: ms(tm.applied)})
	}
	var run *bench.Run
	if rep != nil && rep.Baseline != nil {
		run = &rep.Run
		d.rep.Indexes = append(d.rep.Indexes, builtIndexes(run, rep.Migrations, set)...)
	}
	d.rep.Steps = append(d.rep.Steps, Step{Name: "bench " + set, Ms: ms(time.Since(t0) - tm.applied - tm.reverted)})
	if tm.reverted > 0 {
		d.rep.Steps = append(d.rep.Steps, Step{Name: "revert " + set, Ms: ms(tm.reverted)})
	}
	if err != nil {
		return run, fmt.Errorf("demo: %s: %w", set, err)
	}
	return run, nil
}

// timedMigrator is a migrator that times its applies and reverts, so the
// report's steps say how long the builds took apart from the measuring.
type timedMigrator struct {
	*migrate.Migrator
	applied, reverted time.Duration
	// reverting says that the set's indexes are being taken down.
	reverting func()
}

func (m *timedMigrator) Apply(ctx context.Context) ([]string, []string, error) {
	t0 := time.Now()
	defer func() { m.applied += time.Since(t0) }()
	return m.Migrator.Apply(ctx)
}

func (m *timedMigrator) Revert(ctx context.Context, n int) error {
	m.reverting()
	t0 := time.Now()
	defer func() { m.reverted += time.Since(t0) }()
	return m.Migrator.Revert(ctx, n)
}

// builtIndexes are the indexes the migrations built, as the run after
// them found them (definition and size on disk).
func builtIndexes(run *bench.Run, mig *bench.Migrations, set string) []BuiltIndex {
	if mig == nil {
		return nil
	}
	built := map[string]bool{}
	for _, name := range mig.Indexes {
		built[name] = true
	}
	var out []BuiltIndex
	for _, ix := range run.Environment.Indexes {
		def := ix.Def()
		if def == nil || !built[def.Name] {
			continue
		}
		out = append(out, BuiltIndex{Set: set, Name: def.Name, Table: def.Table, Definition: ix.Definition, SizeBytes: ix.SizeBytes})
	}
	return out
}

func (d *demoRun) prewarm(ctx context.Context) {
	if err := prewarm(ctx, d.rw); err != nil {
		d.say("demo: %v; the run starts with whatever the caches hold", err)
	}
}

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

// RoundTripDominates is the share of the targeted statements' latency,
// at the median, that is not the server's time, past which the verdict
// says the round trip is most of what the client times (the tool, the
// socket, the transaction around each call): no index changes it, and its
// noise swamps the server's part.
const RoundTripDominates = 50.0

// ClaimMetric chooses what the seed's claim is judged on. The claim is
// about the statements ("40–60% faster queries") and the indexes change
// only the server's part of each call: where every targeted statement has
// the server's time per call in all three runs from one source, the claim
// is judged on server time, else on the client's median latency. It says
// why in words, with roundTrip, the median over the targeted statements of
// the share of their mean latency before that was not the server's (nil
// without server time). The choice is made the same way on every run, not
// from how the figures came out, so repeated runs judge the same metric.
func ClaimMetric(w *bench.Workload, runs Runs) (m bench.Metric, why string, roundTrip *float64) {
	var shares []float64
	all := true
	for _, s := range w.Statements {
		if len(s.Indexes) == 0 {
			continue
		}
		var srv [3]*bench.ServerTime
		for i, r := range []*bench.Run{runs.Before, runs.Seed, runs.Advisor} {
			if r == nil {
				continue
			}
			if sr := r.Statement(s.Name); sr != nil {
				srv[i] = sr.Server
			}
		}
		if srv[0] == nil || srv[1] == nil || srv[2] == nil || srv[0].Source != srv[1].Source || srv[0].Source != srv[2].Source {
			all = false
			continue
		}
		if b := runs.Before.Statement(s.Name); b.MeanMs > 0 {
			shares = append(shares, 100*max(0, 1-srv[0].MeanMs/b.MeanMs))
		}
	}
	if !all || len(shares) == 0 {
		return bench.MetricLatency, "median latency: the server's time per call is not known for every targeted statement in every run", nil
	}
	rt := round1(bench.Median(shares))
	why = fmt.Sprintf("the server's time per call (pg_stat_statements): the indexes change only the server's part, and the client's round trip, which they do not change, was %.0f%% of these statements' latency before", rt)
	if rt > RoundTripDominates {
		why += " (most of it: its noise would swamp the change)"
	}
	return bench.MetricServer, why, &rt
}

// Table puts every statement's three runs side by side, comparing the seed's
// and the advisor's runs with the one before; o.Metric is the claim's
// metric, and the drifts returned are in it.
func Table(w *bench.Workload, runs Runs, o bench.CompareOptions, expect *bench.ExpectRange) (out []StatementResult, seedDrift, advisorDrift *bench.Drift) {
	targeted, listed := map[string]bool{}, map[string][]string{}
	for _, s := range w.Statements {
		targeted[s.Name] = len(s.Indexes) > 0
		if len(s.Indexes) > 0 {
			listed[s.Name] = s.Indexes
		}
	}
	seed := bench.Compare(runs.Before, runs.Seed, o, listed, expect)
	adv := bench.Compare(runs.advisorBefore(), runs.Advisor, o, listed, expect)
	find := func(cs []bench.Comparison, name string) *bench.Comparison {
		for i := range cs {
			if cs[i].Name == name {
				return &cs[i]
			}
		}
		return nil
	}
	serverMs := func(sr *bench.StatementRun) *float64 {
		if sr.Server == nil {
			return nil
		}
		v := sr.Server.MeanMs
		return &v
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
			BeforeServerMs: serverMs(&b), SeedServerMs: serverMs(s), AdvisorServerMs: serverMs(a),
			BeforeBuffers: b.BuffersPerCall, SeedBuffers: s.BuffersPerCall, AdvisorBuffers: a.BuffersPerCall,
			Seed: change(cs, expect, o.Metric), Advisor: change(ca, expect, o.Metric),
		})
	}
	if o.Metric == bench.MetricServer {
		return out, seed.ServerDrift, adv.ServerDrift
	}
	return out, seed.Drift, adv.Drift
}

func change(c *bench.Comparison, expect *bench.ExpectRange, m bench.Metric) Change {
	ch := Change{ImprovementPct: c.ImprovementPct(), CILowPct: neg(c.CIHighPct), CIHighPct: neg(c.CILowPct),
		PValue: c.PValue, Verdict: c.Verdict, Reason: c.Reason, PlanChanged: c.PlanChanged,
		ServerImprovementPct: neg(c.ServerChangePct), ServerCILowPct: neg(c.ServerCIHighPct), ServerCIHighPct: neg(c.ServerCILowPct)}
	ch.ClaimPct, _, _ = c.Improvement(m)
	ch.Placement = expect.Place(ch.ClaimPct)
	return ch
}

// neg turns a bound on the change into one on the improvement.
func neg(v *float64) *float64 {
	if v == nil {
		return nil
	}
	x := -*v
	return &x
}

// Judge sums the statements up: the typical improvement of each set (the
// Hodges–Lehmann estimate), in the claim's metric m, over the statements
// the seed's indexes target, net of the drift of the statements whose
// plans and buffers did not change, and where it falls.
func Judge(stmts []StatementResult, expect *bench.ExpectRange, seedCount, advisorCount int, seedDrift, advisorDrift *bench.Drift, m bench.Metric) Verdict {
	v := Verdict{SeedIndexes: seedCount, AdvisorIndexes: advisorCount, Metric: m}
	var seed, adv, seedLat, advLat []float64
	for _, s := range stmts {
		if !s.Targeted {
			continue
		}
		v.Targeted++
		seed = append(seed, s.Seed.ClaimPct)
		adv = append(adv, s.Advisor.ClaimPct)
		seedLat = append(seedLat, s.Seed.ImprovementPct)
		advLat = append(advLat, s.Advisor.ImprovementPct)
		if s.Seed.Verdict == bench.Improved {
			v.SeedImproved++
		}
		if s.Advisor.Verdict == bench.Improved {
			v.AdvisorImproved++
		}
	}
	v.SeedTypicalPct, v.AdvisorTypicalPct = round1(HodgesLehmann(seed)), round1(HodgesLehmann(adv))
	v.SeedMedianPct, v.AdvisorMedianPct = round1(bench.Median(seed)), round1(bench.Median(adv))
	v.SeedLatencyMedianPct, v.AdvisorLatencyMedianPct = round1(bench.Median(seedLat)), round1(bench.Median(advLat))
	v.SeedNetPct, v.AdvisorNetPct = round1(NetOfDrift(v.SeedTypicalPct, seedDrift)), round1(NetOfDrift(v.AdvisorTypicalPct, advisorDrift))
	v.SeedPlacement, v.AdvisorPlacement = expect.Place(v.SeedNetPct), expect.Place(v.AdvisorNetPct)
	promise := "no promised range"
	if expect != nil {
		promise = fmt.Sprintf("the promised %g–%g%%", expect.MinPct, expect.MaxPct)
		v.ClaimHolds = v.Targeted > 0 && v.SeedNetPct >= expect.MinPct
		for _, bound := range []float64{expect.MinPct, expect.MaxPct} {
			if v.Targeted > 0 && math.Abs(v.SeedNetPct-bound) < EdgePoints {
				v.SeedAtEdge = true
				promise += fmt.Sprintf(", at its edge (within %g points of %g%%, as far as repeated runs spread: a repeat may fall on the other side)", EdgePoints, bound)
				break
			}
		}
	}
	claim := "the claim does not hold"
	if v.ClaimHolds {
		claim = "the claim holds"
	}
	v.SeedDrift, v.AdvisorDrift = seedDrift, advisorDrift
	what := "median latency"
	if m == bench.MetricServer {
		what = "the server's time per call"
	}
	v.Line = fmt.Sprintf("%s: over the %d targeted statements the seed's %d indexes cut %s by a typical %s: %s %s (%d improved); the advisor's %d by %s: %s (%d improved)",
		claim, v.Targeted, seedCount, what, netWords(v.SeedTypicalPct, v.SeedNetPct, seedDrift), v.SeedPlacement, promise, v.SeedImproved,
		advisorCount, netWords(v.AdvisorTypicalPct, v.AdvisorNetPct, advisorDrift), v.AdvisorPlacement, v.AdvisorImproved)
	return v
}

// EdgePoints is how near a bound of the promise, in percentage points, the
// seed's net improvement is called at the edge of it: the spread make
// demo-repeat allows around the median of five runs, and more than five
// runs on an idle machine spread (36.7–42.8%, 3.4 points at most from
// their median).
const EdgePoints = 5.0

// HodgesLehmann is the Hodges–Lehmann estimate of the center of vs: the
// median of the means of every pair of values, each value paired with
// itself included (the Walsh averages). Like the median it ignores how
// far the extremes lie, but it draws on every value, so over a dozen
// statements split between those an index transforms (-95%) and those it
// barely touches (-10%) it does not jump from one group to the other when
// one statement's figure moves, as the median of the dozen does. 0 for no
// values.
func HodgesLehmann(vs []float64) float64 {
	var means []float64
	for i, a := range vs {
		for _, b := range vs[i:] {
			means = append(means, (a+b)/2)
		}
	}
	return bench.Median(means)
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
