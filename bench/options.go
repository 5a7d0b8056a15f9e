package bench

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"
)

// Defaults of Options and CompareOptions, and where they come from.
const (
	// DefaultIterations is how many measured calls each statement gets: a
	// hundred gives a median confidence interval a few percent wide on a
	// quiet machine and keeps a run of the HishamOS profile to seconds.
	DefaultIterations = 100
	// DefaultWarmup is how many rounds run before measuring: enough for
	// every prepared statement to settle on its plan (PostgreSQL tries a
	// generic plan after five custom ones) and the caches to warm.
	DefaultWarmup = 10
	// DefaultClients is one connection: latencies are then the server's,
	// not queueing behind other clients.
	DefaultClients = 1
	// DefaultAlpha is the significance level: benchstat uses 0.05 for one
	// comparison; a bench compares every statement at once, and 0.01 keeps
	// false alarms rare across a dozen or two.
	DefaultAlpha = 0.01
	// DefaultNoisePct is the smallest change that counts, in percent.
	DefaultNoisePct = 5.0
	// ExplainSamples is how many parameter draws EXPLAIN (ANALYZE,
	// BUFFERS) runs each statement with, for its plan and, when
	// pg_stat_statements cannot give them, its buffers.
	ExplainSamples = 3
	// MaxClients caps --clients far above what a benchmark of latencies
	// needs, and below max_connections' default of 100.
	MaxClients = 64
)

// Errors callers branch on. Every one of them is bad input: exit code 2.
var (
	// ErrOptions is returned for options that do not make sense.
	ErrOptions = errors.New("bad options")
	// ErrWorkload is returned for a workload that cannot run.
	ErrWorkload = errors.New("bad workload")
	// ErrWrites is returned for a workload with writes without AllowWrites.
	ErrWrites = errors.New("the workload changes data")
	// ErrBaseline is returned for a baseline that cannot be compared.
	ErrBaseline = errors.New("unusable baseline")
	// ErrStatementFailed is returned when a statement failed every call.
	ErrStatementFailed = errors.New("a statement failed on every call")
)

// Options configure a run.
type Options struct {
	// Clients is the number of connections running statements at once.
	Clients int
	// Threads is how many OS threads the clients are spread over, each
	// waiting for its clients' replies at once, as pgbench's -j threads
	// do; 0 is one per CPU, at most one per client.
	Threads int
	// Warmup is the number of unrecorded rounds before measuring.
	Warmup int
	// Iterations is the measured calls per statement; ignored when
	// Duration is set.
	Iterations int
	// Duration, when set, measures for that long instead.
	Duration time.Duration
	// Seed picks the arguments: the same seed draws the same ones.
	Seed uint64
	// AllowWrites lets write statements run, each in a transaction that
	// is rolled back.
	AllowWrites bool
	// Progress, when set, is told how far the run has got, about ten times
	// a second, from one goroutine at a time.
	Progress func(Progress)
}

// Progress is how far a run has got.
type Progress struct {
	// Phase is "explain", "warmup" or "measure".
	Phase string
	// Done and Total count calls, or milliseconds with a Duration.
	Done, Total int64
}

// Validate checks the options. Nothing is defaulted: the command's flags
// carry the defaults. Iterations must be positive unless a Duration is given.
// A refusal is an *OptionError.
func (o *Options) Validate() error {
	switch {
	case o.Clients < 1 || o.Clients > MaxClients:
		return &OptionError{Option: OptClients, Value: o.Clients, Min: 1, Max: MaxClients}
	case o.Threads < 0 || o.Threads > o.Clients:
		return &OptionError{Option: OptThreads, Value: o.Threads, Min: 1, Max: o.Clients, With: []Option{OptClients}}
	case o.Warmup < 0:
		return &OptionError{Option: OptWarmup, Value: o.Warmup, Min: 0}
	case o.Duration < 0:
		return &OptionError{Option: OptDuration, Value: o.Duration, Min: time.Duration(0)}
	case o.Duration == 0 && o.Iterations < 1:
		return &OptionError{Option: OptIterations, Value: o.Iterations, Min: 1}
	}
	return nil
}

// CheckWrites refuses a workload with write statements unless allowed
// (Options.AllowWrites): a *WritesError. Measure checks it first; the
// command too, before it connects.
func CheckWrites(w *Workload, allowed bool) error {
	if writes := w.Writes(); len(writes) > 0 && !allowed {
		return &WritesError{Statements: writes}
	}
	return nil
}

// DefaultThreads is how many OS threads clients are spread over when
// Options.Threads is 0: one per CPU, at most one per client.
func DefaultThreads(clients int) int { return max(1, min(clients, runtime.NumCPU())) }

// threads is how many OS threads a run's clients are spread over:
// Options.Threads, or DefaultThreads.
func (o *Options) threads() int {
	if o.Threads > 0 {
		return min(o.Threads, o.Clients)
	}
	return DefaultThreads(o.Clients)
}

// settings records the options in a run.
func (o *Options) settings() Settings {
	s := Settings{Clients: o.Clients, Threads: o.threads(), Warmup: o.Warmup, Seed: o.Seed, AllowWrites: o.AllowWrites, Transaction: TransactionPerCall}
	if o.Duration > 0 {
		s.DurationMs = float64(o.Duration) / float64(time.Millisecond)
	} else {
		s.Iterations = o.Iterations
	}
	return s
}

// CompareOptions configure how two runs are judged.
type CompareOptions struct {
	// Alpha is the significance level of the Mann–Whitney U test.
	Alpha float64
	// NoisePct is the smallest change in percent that counts as one.
	NoisePct float64
	// OptionName words an option in the reasons a comparison gives (too
	// few samples: more Iterations): the command passes the names of its
	// flags; nil names it in words.
	OptionName func(Option) string
}

// Validate checks the options. A refusal is an *OptionError.
func (o *CompareOptions) Validate() error {
	if !(o.Alpha > 0 && o.Alpha < 1) {
		return &OptionError{Option: OptAlpha, Value: o.Alpha, Min: 0.0, Max: 1.0}
	}
	if !(o.NoisePct >= 0 && o.NoisePct < 100) {
		return &OptionError{Option: OptNoise, Value: o.NoisePct, Min: 0.0, Max: 100.0}
	}
	return nil
}

// GateOptions are the limits a comparison must keep.
type GateOptions struct {
	// ExpectPct, when set, is the improvement every targeted statement
	// must reach, in percent.
	ExpectPct *float64
	// MaxRegressionPct, when set, is how much slower (or more buffers) a
	// statement may get, in percent, before the gate fails.
	MaxRegressionPct *float64
	// OptionName words an option in the gate's failures (an Expect that
	// no statement can be held to): the command passes the names of its
	// flags; nil names it in words.
	OptionName func(Option) string
}

// optionName is name, or the option in words when nil.
func optionName(name func(Option) string) func(Option) string {
	if name != nil {
		return name
	}
	return func(o Option) string { return string(o) }
}

// Validate checks the limits. A refusal is an *OptionError.
func (o *GateOptions) Validate() error {
	if o.ExpectPct != nil && !(*o.ExpectPct > 0 && *o.ExpectPct < 100) {
		return &OptionError{Option: OptExpect, Value: *o.ExpectPct, Min: 0.0, Max: 100.0}
	}
	if o.MaxRegressionPct != nil && !(*o.MaxRegressionPct >= 0) {
		return &OptionError{Option: OptMaxRegression, Value: *o.MaxRegressionPct, Min: 0.0}
	}
	return nil
}

// CheckBeforeRun checks how a comparison's before run is asked for: from a
// baseline or by measuring before migrations, not both; reverting needs
// migrations; an expected improvement needs a before run. Bench checks it
// on its Config; the command checks it on its flags, before it reads a
// file. A refusal is an *OptionError naming the options involved.
func CheckBeforeRun(baseline, migrations, revert, expect bool) error {
	switch {
	case baseline && migrations:
		return &OptionError{Option: OptBaseline, With: []Option{OptMigrator}}
	case revert && !migrations:
		return &OptionError{Option: OptRevert, With: []Option{OptMigrator}}
	case expect && !baseline && !migrations:
		return &OptionError{Option: OptExpect, With: []Option{OptBaseline, OptMigrator}}
	}
	return nil
}

// Option names an option a check refused: a field of Options,
// CompareOptions, GateOptions or Config. Its value is the field's name in
// words; the command names the flag instead (OptionError.Message).
type Option string

// The options the checks name.
const (
	OptClients       Option = "clients"
	OptThreads       Option = "threads"
	OptWarmup        Option = "warmup"
	OptDuration      Option = "duration"
	OptIterations    Option = "iterations"
	OptAlpha         Option = "alpha"
	OptNoise         Option = "noise"
	OptExpect        Option = "expect"
	OptMaxRegression Option = "max regression"
	OptBaseline      Option = "baseline"
	OptMigrator      Option = "migrator"
	OptRevert        Option = "revert"
)

// OptionError is an option a check refused (ErrOptions): which, the value
// given and the limits it must keep, or the options it goes with.
type OptionError struct {
	Option Option
	// Value is what was given: an int, a float64 (in percent for Noise,
	// Expect and MaxRegression) or a time.Duration; nil when the option
	// is refused for the company it keeps (With), not for its value.
	Value any
	// Min and Max are the limits the value must keep, of Value's type,
	// nil where the check has none: Clients from 1 to MaxClients,
	// Threads from 1 to Clients' value (0 being the default), Warmup
	// from 0, Duration from 0 (0 meaning none), Iterations from 1, Alpha
	// strictly between 0 and 1, Noise from 0 to below 100, Expect
	// strictly between 0 and 100, MaxRegression from 0.
	Min, Max any
	// With are the other options the check ties this one to: Threads'
	// Max is Clients'; a Baseline and a Migrator are two ways to a before
	// run; Revert needs a Migrator; Expect needs a Baseline or a
	// Migrator.
	With []Option
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("bench: %v: %s", ErrOptions, e.Message(func(o Option) string { return string(o) }))
}

func (e *OptionError) Unwrap() error { return ErrOptions }

// Message says what is wrong in one line, naming each option with name:
// the fields' names in Error, the flags' in the command.
func (e *OptionError) Message(name func(Option) string) string {
	n := name(e.Option)
	with := func(i int) string { return name(e.With[i]) }
	switch {
	case e.Option == OptClients:
		return fmt.Sprintf("%s must be between %v and %v, not %v", n, e.Min, e.Max, e.Value)
	case e.Option == OptThreads:
		return fmt.Sprintf("%s must be between %v and %s (%v), not %v", n, e.Min, with(0), e.Max, e.Value)
	case e.Option == OptWarmup:
		return fmt.Sprintf("%s must be %v or more, not %v", n, e.Min, e.Value)
	case e.Option == OptDuration:
		return fmt.Sprintf("%s must be positive, not %v", n, e.Value)
	case e.Option == OptIterations:
		return fmt.Sprintf("%s must be at least %v, not %v (a statement needs samples to be measured)", n, e.Min, e.Value)
	case e.Option == OptAlpha:
		return fmt.Sprintf("%s must be between %v and %v, not %v", n, e.Min, e.Max, e.Value)
	case e.Option == OptNoise:
		return fmt.Sprintf("%s must be from %v%% to below %v%%, not %v%%", n, e.Min, e.Max, e.Value)
	case e.Option == OptMaxRegression:
		return fmt.Sprintf("%s must be %v%% or more, not %v%%", n, e.Min, e.Value)
	case e.Option == OptExpect && e.Value != nil:
		return fmt.Sprintf("%s must be above %v%% and below %v%%, not %v%%", n, e.Min, e.Max, e.Value)
	case e.Option == OptExpect:
		return fmt.Sprintf("%s needs a before run to compare with: add %s or %s", n, with(0), with(1))
	case e.Option == OptBaseline:
		return fmt.Sprintf("%s and %s are two ways to get a before run: give one", n, with(0))
	case e.Option == OptRevert:
		return fmt.Sprintf("%s only goes with %s", n, with(0))
	}
	return fmt.Sprintf("%s may not be %v", n, e.Value)
}

// WritesError is a workload with write statements run without
// Options.AllowWrites (ErrWrites).
type WritesError struct {
	// Statements are the names of the statements that write.
	Statements []string
}

func (e *WritesError) Error() string {
	return fmt.Sprintf("bench: %v: %s: they run only with AllowWrites, each in a transaction that is rolled back", ErrWrites, strings.Join(e.Statements, ", "))
}

func (e *WritesError) Unwrap() error { return ErrWrites }
