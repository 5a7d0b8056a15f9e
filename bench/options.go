package bench

import (
	"errors"
	"fmt"
	"runtime"
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
func (o *Options) Validate() error {
	switch {
	case o.Clients < 1 || o.Clients > MaxClients:
		return fmt.Errorf("bench: %w: --clients must be between 1 and %d, not %d", ErrOptions, MaxClients, o.Clients)
	case o.Threads < 0 || o.Threads > o.Clients:
		return fmt.Errorf("bench: %w: --threads must be between 1 and --clients (%d), not %d", ErrOptions, o.Clients, o.Threads)
	case o.Warmup < 0:
		return fmt.Errorf("bench: %w: --warmup must be 0 or more, not %d", ErrOptions, o.Warmup)
	case o.Duration < 0:
		return fmt.Errorf("bench: %w: --duration must be positive, not %s", ErrOptions, o.Duration)
	case o.Duration == 0 && o.Iterations < 1:
		return fmt.Errorf("bench: %w: --iterations must be at least 1, not %d (a statement needs samples to be measured)", ErrOptions, o.Iterations)
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
}

// Validate checks the options.
func (o *CompareOptions) Validate() error {
	if !(o.Alpha > 0 && o.Alpha < 1) {
		return fmt.Errorf("bench: %w: --alpha must be between 0 and 1, not %v", ErrOptions, o.Alpha)
	}
	if !(o.NoisePct >= 0 && o.NoisePct < 100) {
		return fmt.Errorf("bench: %w: --noise must be from 0%% to below 100%%, not %v%%", ErrOptions, o.NoisePct)
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
}

// Validate checks the limits.
func (o *GateOptions) Validate() error {
	if o.ExpectPct != nil && !(*o.ExpectPct > 0 && *o.ExpectPct < 100) {
		return fmt.Errorf("bench: %w: --expect must be above 0%% and below 100%%, not %v%%", ErrOptions, *o.ExpectPct)
	}
	if o.MaxRegressionPct != nil && !(*o.MaxRegressionPct >= 0) {
		return fmt.Errorf("bench: %w: --max-regression must be 0%% or more, not %v%%", ErrOptions, *o.MaxRegressionPct)
	}
	return nil
}
