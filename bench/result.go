package bench

import (
	"time"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// Schema names the JSON layout of a saved run and of `bench --format json`.
// v2 added server time (StatementRun.Server, the comparison's server_*
// fields), the mixed verdict, each metric's movement and decided_by as the
// metrics that decided; a v1 run is still read as a baseline (SchemaV1), its
// statements without server time. A file with another schema is refused.
const Schema = "hishamos-perf/bench/v2"

// SchemaV1 is the layout before server time. Its runs mean what a v2 run
// means, less the server's time per call; its comparisons are not read.
const SchemaV1 = "hishamos-perf/bench/v1"

// Run is one measurement of a workload: what ran, where, and what each
// statement cost.
type Run struct {
	// Schema is always the package's Schema.
	Schema string `json:"schema"`
	// Workload names what ran.
	Workload WorkloadInfo `json:"workload"`
	// Target is where it ran, with any password removed.
	Target string `json:"target,omitempty"`
	// StartedAt is when the measured phase began.
	StartedAt time.Time `json:"started_at"`
	// ElapsedMs is the measured phase's wall-clock time.
	ElapsedMs float64 `json:"elapsed_ms"`
	// CallsPerSecond is every client's successful calls over ElapsedMs.
	CallsPerSecond float64 `json:"calls_per_second"`
	// Complete is false for a run that stopped early; Stopped says why.
	Complete bool   `json:"complete"`
	Stopped  string `json:"stopped,omitempty"`
	// Settings are the options the run was made with.
	Settings Settings `json:"settings"`
	// Environment is the server and the data the run saw.
	Environment Environment `json:"environment"`
	// Statements holds one entry per statement, in workload order.
	Statements []StatementRun `json:"runs"`
	// Requests are the run's requests measured whole: each leading
	// statement with follow-ups or a before/after pair, with the calls
	// it led (Statement.Request). Absent before bench/v2 added it.
	Requests []RequestRun `json:"requests,omitempty"`
}

// Statement returns the run of the statement called name, or nil.
func (r *Run) Statement(name string) *StatementRun {
	for i := range r.Statements {
		if r.Statements[i].Name == name {
			return &r.Statements[i]
		}
	}
	return nil
}

// WorkloadInfo identifies a workload in a run.
type WorkloadInfo struct {
	// Name is the profile's name, or the .sql file's base name.
	Name string `json:"name"`
	// Kind is "profile" or "sql".
	Kind string `json:"kind"`
	// File is where the workload was read from.
	File string `json:"file,omitempty"`
	// Variant is the half of before/after pairs that ran.
	Variant string `json:"variant,omitempty"`
	// Expect is the improvement the profile promises, in percent.
	Expect *ExpectRange `json:"expect,omitempty"`
}

// ExpectRange is a promised improvement, in percent less time: a profile's
// expect:, or a .sql file's `-- expect:` comment (for the whole file, or
// for the statement under it).
type ExpectRange struct {
	MinPct float64 `json:"min_pct"`
	MaxPct float64 `json:"max_pct"`
	Source string  `json:"source,omitempty"`
}

// Settings are the options a run was made with.
type Settings struct {
	Clients     int     `json:"clients"`
	Threads     int     `json:"threads,omitempty"` // OS threads the clients shared (Options.Threads); on TLS, one each
	Warmup      int     `json:"warmup"`
	Iterations  int     `json:"iterations,omitempty"`
	DurationMs  float64 `json:"duration_ms,omitempty"`
	Seed        uint64  `json:"seed"`
	AllowWrites bool    `json:"allow_writes,omitempty"`
	// Transaction says how each call ran: TransactionPerCall, or empty
	// for a run of a hishamos-perf before it, whose calls ran outside a
	// transaction and whose latencies therefore do not compare.
	Transaction string `json:"transaction,omitempty"`
}

// TransactionPerCall is Settings.Transaction of a run whose every call
// ran inside a transaction of its own, rolled back, its BEGIN and
// ROLLBACK sent with it and timed with it (see Measure).
const TransactionPerCall = "begin, call, rollback"

// StatementRun is what one statement cost in a run.
type StatementRun struct {
	Name string `json:"name"`
	// SQLHash identifies the statement's text, so a comparison can tell
	// when two runs ran different SQL under one name.
	SQLHash string `json:"sql_hash"`
	// Write marks a statement run in rolled-back transactions.
	Write bool `json:"write,omitempty"`
	// FollowUp marks a statement that only runs after another one.
	FollowUp bool `json:"follow_up,omitempty"`
	// Weight is how often the application sends it against the others
	// (a .sql file's `-- weight:`); 0 when the workload does not say.
	Weight float64 `json:"weight,omitempty"`
	// Indexes are the profile's hand-picked indexes meant to serve it.
	Indexes []string `json:"indexes,omitempty"`
	// Expect is the statement's own promise (a .sql file's `-- expect:`
	// comment above it); nil when it has none.
	Expect *ExpectRange `json:"expect,omitempty"`

	// Calls counts the measured calls that succeeded; Errors those that
	// failed, and FirstError says how the first one failed.
	Calls      int    `json:"calls"`
	Errors     int    `json:"errors,omitempty"`
	FirstError string `json:"first_error,omitempty"`

	// Latency quantiles, mean and standard deviation of the successful
	// calls, in milliseconds.
	P50Ms    float64 `json:"p50_ms"`
	P90Ms    float64 `json:"p90_ms"`
	P95Ms    float64 `json:"p95_ms"`
	P99Ms    float64 `json:"p99_ms"`
	MeanMs   float64 `json:"mean_ms"`
	StddevMs float64 `json:"stddev_ms"`
	MinMs    float64 `json:"min_ms"`
	MaxMs    float64 `json:"max_ms"`
	// RowsPerCall is the mean number of rows a call returned.
	RowsPerCall float64 `json:"rows_per_call"`

	// BuffersPerCall is shared buffers hit + read per call; nil when
	// neither source could give it. BuffersSource says where it comes from
	// (BuffersFromStatements or BuffersFromExplain), BuffersNote why the
	// first source was not used.
	BuffersPerCall *float64 `json:"buffers_per_call"`
	BuffersSource  string   `json:"buffers_source,omitempty"`
	BuffersNote    string   `json:"buffers_note,omitempty"`
	// QueryID is the statement's pg_stat_statements queryid, in hex.
	QueryID string `json:"queryid,omitempty"`

	// Server is the time the server spent on each call, from the same
	// source as buffers; nil when neither source could give it (and in a
	// v1 run). ServerNote says why pg_stat_statements did not give it.
	Server     *ServerTime `json:"server,omitempty"`
	ServerNote string      `json:"server_note,omitempty"`

	// PlanHash identifies the shape of the plans EXPLAIN gave for the
	// sampled parameters; Plans lists those shapes once each.
	PlanHash    string   `json:"plan_hash"`
	Plans       []string `json:"plans,omitempty"`
	IndexesUsed []string `json:"indexes_used,omitempty"`
	Relations   []string `json:"relations,omitempty"`

	// Samples are the latencies of the successful calls in the order they
	// started, in milliseconds. Always in a saved file; in JSON output
	// only when asked for.
	Samples []float64 `json:"samples_ms,omitempty"`
}

// RequestRun is what one request cost in a run: its leading statement
// and the follow-ups it issued, as the application sends them one after
// the other on one connection. Every figure is a mean over the samples
// it keeps, one per request, in the order they started.
type RequestRun struct {
	// Name is the leading statement's.
	Name string `json:"name"`
	// Pair and Variant place it in its profile's before/after pair.
	Pair    string `json:"pair,omitempty"`
	Variant string `json:"variant,omitempty"`
	// Statements are the leader and its follow-ups, with how many times
	// each ran per request (a per-row follow-up: once per row the leader
	// returned with a non-NULL argument).
	Statements []RequestStatement `json:"statements"`
	// Calls counts the requests that completed; Errors those in which a
	// statement failed (not sampled).
	Calls  int `json:"calls"`
	Errors int `json:"errors,omitempty"`
	// Latency quantiles, mean and spread of a whole request, in
	// milliseconds: from sending the leader to the end of the last
	// follow-up's reply, the client's work between them included.
	P50Ms    float64 `json:"p50_ms"`
	P90Ms    float64 `json:"p90_ms"`
	P99Ms    float64 `json:"p99_ms"`
	MeanMs   float64 `json:"mean_ms"`
	StddevMs float64 `json:"stddev_ms"`
	// QueriesPerRequest, RowsPerRequest and BytesPerRequest are the
	// means of Queries, Rows and Bytes. BytesPerRequest is nil when the
	// connection does not count what it reads (see Bytes).
	QueriesPerRequest float64  `json:"queries_per_request"`
	RowsPerRequest    float64  `json:"rows_per_request"`
	BytesPerRequest   *float64 `json:"bytes_per_request"`
	// ServerMs is the server's time per request: each statement's mean
	// server time (StatementRun.Server) times its runs per request,
	// summed. pg_stat_statements keeps sums per statement, not per call,
	// so it is a mean, with no samples and no test of its own; nil when
	// a statement of the request has no server time.
	ServerMs *float64 `json:"server_ms,omitempty"`

	// Samples are each request's latency, in milliseconds; Queries,
	// Rows and Bytes its statements run, rows received and bytes read
	// from the server, counted on the socket (below TLS): every reply's
	// bytes, those of the BEGIN and ROLLBACK each call runs in included
	// (about 60 a call). LeaderRows are the leader's rows alone.
	Samples    []float64 `json:"samples_ms,omitempty"`
	Queries    []int     `json:"queries,omitempty"`
	Rows       []int64   `json:"rows,omitempty"`
	LeaderRows []int64   `json:"leader_rows,omitempty"`
	Bytes      []int64   `json:"bytes,omitempty"`
}

// RequestStatement is a statement of a request and how often it ran in
// one.
type RequestStatement struct {
	Name       string  `json:"name"`
	PerRow     bool    `json:"per_row,omitempty"`
	PerRequest float64 `json:"per_request"`
}

// Request returns the run's request led by name, or nil.
func (r *Run) Request(name string) *RequestRun {
	for i := range r.Requests {
		if r.Requests[i].Name == name {
			return &r.Requests[i]
		}
	}
	return nil
}

// ServerTime is what the server spent on a statement per call: executing
// it and, where the server counts planning, planning it. It comes as a
// mean with a standard deviation, not as samples: pg_stat_statements keeps
// sums (total, and the sum of squared deviations behind its stddev), and
// their differences over the measured calls give the calls' mean and
// variance, but not each call's time. See Compare for how two are judged.
type ServerTime struct {
	// MeanMs is execution plus planning per call, in milliseconds.
	MeanMs float64 `json:"mean_ms"`
	// StddevMs bounds the standard deviation of a call's server time from
	// above: execution's and planning's added, as the two's covariance is
	// not kept (with planning not counted, execution's own).
	StddevMs float64 `json:"stddev_ms"`
	// ExecMeanMs and ExecStddevMs are execution alone; PlanMeanMs and
	// PlanStddevMs planning alone, over every call (a call that reused a
	// cached plan planned for 0 ms).
	ExecMeanMs   float64 `json:"exec_mean_ms"`
	ExecStddevMs float64 `json:"exec_stddev_ms"`
	PlanMeanMs   float64 `json:"plan_mean_ms"`
	PlanStddevMs float64 `json:"plan_stddev_ms"`
	// Calls is how many calls the figures are over: the run's measured
	// calls, or the EXPLAIN samples'.
	Calls int `json:"calls"`
	// Planning reports that planning time is counted: always from
	// EXPLAIN, and from pg_stat_statements with track_planning on.
	Planning bool `json:"planning"`
	// Source is BuffersFromStatements or BuffersFromExplain: server times
	// from different sources are not compared (EXPLAIN ANALYZE's timing
	// of every node slows what it times).
	Source string `json:"source"`
}

// Where buffers per call and server time come from.
const (
	BuffersFromStatements = "pg_stat_statements"
	BuffersFromExplain    = "explain"
)

// Environment is the server and the data a run saw: what can make two runs
// differ besides the statements themselves.
type Environment struct {
	ServerVersion    string `json:"server_version"`
	ServerVersionNum int    `json:"server_version_num"`
	Database         string `json:"database"`
	// PgStatStatements is the extension's version, empty when it is not
	// usable.
	PgStatStatements string `json:"pg_stat_statements,omitempty"`
	// TrackPlanning is pg_stat_statements.track_planning: whether the
	// server time it gives counts planning as well as execution.
	TrackPlanning bool `json:"track_planning,omitempty"`
	// Settings are the planner-relevant settings (PlanSettings), as SHOW
	// prints them.
	Settings map[string]string `json:"settings"`
	// Tables are the tables the statements read, sorted by name.
	Tables []TableInfo `json:"tables"`
	// Indexes are the indexes on those tables, sorted by name.
	Indexes []IndexInfo `json:"indexes"`
}

// PlanSettings are the settings that move plans, recorded with every run;
// a comparison between runs where one differs is inconclusive.
// plan_cache_mode decides whether the prepared statements bench runs get
// custom or generic plans.
var PlanSettings = []string{"shared_buffers", "work_mem", "effective_cache_size", "random_page_cost", "jit", "plan_cache_mode"}

// TableInfo describes one table.
type TableInfo struct {
	Name string `json:"name"`
	// Rows is the live row count the statistics collector keeps
	// (n_live_tup), or the last ANALYZE's estimate (reltuples) while the
	// collector has counted none: no count(*), which a large table would
	// make slow.
	Rows      int64 `json:"rows"`
	SizeBytes int64 `json:"size_bytes"`
	// LastAnalyzed is when statistics were last gathered, by ANALYZE or
	// autovacuum; nil for never.
	LastAnalyzed *time.Time `json:"last_analyzed,omitempty"`
}

// IndexInfo describes one index.
type IndexInfo struct {
	Name    string   `json:"name"`
	Table   string   `json:"table"`
	Columns []string `json:"columns"`
	Valid   bool     `json:"valid"`
	// Definition is pg_get_indexdef's text.
	Definition string `json:"definition"`
	// SizeBytes is the index's size on disk when the run read it.
	SizeBytes int64 `json:"size_bytes,omitempty"`
	// Parent is, for a partition's index attached to an index on its
	// partitioned table, that index (as regclass prints it).
	Parent string `json:"parent,omitempty"`
}

// Def is the index's definition, read from Definition by internal/sqlscan;
// nil when it does not read as a CREATE INDEX.
func (ix IndexInfo) Def() *indexdef.Def {
	p, err := sqlscan.ParseOne(ix.Definition)
	if err != nil || p.Index == nil {
		return nil
	}
	return p.Index
}

// Verdict is what a comparison concludes about one statement.
type Verdict string

// The verdicts. See Compare for how each is reached.
const (
	// Improved: time or buffers went down, and nothing went up.
	Improved Verdict = "improved"
	// Regressed: time went up (whatever buffers did), or buffers went up
	// with time unmoved.
	Regressed Verdict = "regressed"
	// Mixed: time went down while buffers went up, or client latency
	// and server time went opposite ways.
	Mixed Verdict = "mixed"
	// Unchanged: nothing moved beyond the noise.
	Unchanged Verdict = "unchanged"
	// Inconclusive: the runs cannot tell (the environment differs, too
	// few samples, a change the machine explains).
	Inconclusive Verdict = "inconclusive"
)

// Metric is one piece of evidence a comparison weighs, and what a gate
// holds statements to.
type Metric string

// The metrics.
const (
	// MetricLatency is the client's median latency per call: what the
	// application waits, round trip included.
	MetricLatency Metric = "latency"
	// MetricServer is the server's mean time per call (ServerTime): what
	// an index changes, without the round trip.
	MetricServer Metric = "server"
	// MetricBuffers is shared buffers per call: the pages a call touches,
	// whatever the machine's load.
	MetricBuffers Metric = "buffers"
)

// Metrics are the metrics in the order reports name them.
var Metrics = []Metric{MetricLatency, MetricServer, MetricBuffers}

// Movement is how one metric moved between two runs.
type Movement string

// The movements.
const (
	// Down and Up: significantly (p < alpha; buffers need none) and by
	// more than the noise.
	Down Movement = "down"
	Up   Movement = "up"
	// Steady: no significant change beyond the noise.
	Steady Movement = "steady"
	// Machine: a significant change the machine explains: the plan and
	// buffers did not change, or the change stays within the drift of the
	// statements whose plan and buffers did not change.
	Machine Movement = "machine"
	// Unknown: not in both runs alike (a source missing or different), or
	// too few samples for the test to ever be significant.
	Unknown Movement = "unknown"
)

// Comparison is one statement measured twice: in the baseline (before) and
// now (after).
type Comparison struct {
	Name string `json:"name"`
	// BeforeP50Ms and AfterP50Ms are the medians compared.
	BeforeP50Ms float64 `json:"before_p50_ms"`
	AfterP50Ms  float64 `json:"after_p50_ms"`
	// MedianChangePct is after's median over before's, minus one, in
	// percent: negative is faster. CILowPct and CIHighPct bound it at 95%
	// confidence; nil when the samples are too few for a finite bound.
	MedianChangePct float64  `json:"median_change_pct"`
	CILowPct        *float64 `json:"ci_low_pct"`
	CIHighPct       *float64 `json:"ci_high_pct"`
	// PValue is the Mann–Whitney U test's: how likely samples this
	// different are if the statement's latency did not change.
	PValue float64 `json:"p_value"`
	// BeforeBuffers, AfterBuffers and BuffersChangePct are buffers per
	// call; nil when either run lacks them or they come from different
	// sources.
	BeforeBuffers    *float64 `json:"before_buffers_per_call"`
	AfterBuffers     *float64 `json:"after_buffers_per_call"`
	BuffersChangePct *float64 `json:"buffers_change_pct"`
	// BeforeServerMs and AfterServerMs are the server's mean time per
	// call; ServerChangePct is after's over before's, minus one, in
	// percent, ServerCILowPct and ServerCIHighPct bound it at 95%
	// confidence (Fieller's interval for a ratio of means) and
	// ServerPValue is Welch's t-test's. All nil when either run lacks
	// server time, or the two come from different sources or one counts
	// planning and the other not.
	BeforeServerMs  *float64 `json:"before_server_ms"`
	AfterServerMs   *float64 `json:"after_server_ms"`
	ServerChangePct *float64 `json:"server_change_pct"`
	ServerCILowPct  *float64 `json:"server_ci_low_pct"`
	ServerCIHighPct *float64 `json:"server_ci_high_pct"`
	ServerPValue    *float64 `json:"server_p_value"`
	// PlanChanged reports a different plan hash.
	PlanChanged bool `json:"plan_changed"`
	// Latency, Server and Buffers say how each metric moved.
	Latency Movement `json:"latency"`
	Server  Movement `json:"server"`
	Buffers Movement `json:"buffers"`
	// Verdict is the conclusion; DecidedBy the metrics that moved, in
	// Metrics' order joined by "+" ("latency+server", "buffers"), or what
	// else decided it ("environment", "sql", "errors"); Reason says it in
	// words, naming which metric moved which way.
	Verdict   Verdict `json:"verdict"`
	DecidedBy string  `json:"decided_by,omitempty"`
	Reason    string  `json:"reason,omitempty"`
	// Targeted marks a statement meant to be served by indexes added
	// between the runs: its after plan uses one (TargetedBy names them),
	// or the caller listed it (a profile's indexes, when the migrations
	// built one of them).
	Targeted   bool     `json:"targeted,omitempty"`
	TargetedBy []string `json:"targeted_by,omitempty"`
	// TargetCheck says where the after plan and the profile's list
	// disagree: the profile expects an index that was built to serve the
	// statement, and the plan uses another (or none).
	TargetCheck string `json:"target_check,omitempty"`
	// Promise is what the statement is placed against: its own promise,
	// else, when targeted, the workload's; nil for neither.
	Promise *ExpectRange `json:"promise,omitempty"`
	// Expectation places the statement's improvement (in the comparison's
	// Metric) against Promise: below, within or above.
	Expectation string `json:"expectation,omitempty"`
	// Metric is what Expectation and the gate measure the improvement in.
	Metric Metric `json:"metric,omitempty"`
	// Warnings are benchmath's remarks on the samples (too few for a
	// confidence interval, and so on).
	Warnings []string `json:"warnings,omitempty"`
}

// ImprovementPct is the drop in median latency, in percent: the negated
// change, so 40 means 40% faster.
func (c *Comparison) ImprovementPct() float64 { return -c.MedianChangePct }

// Improvement is the drop in metric m, in percent (40 is 40% less), and
// the least it can be at the 95% confidence interval's bound (buffers,
// which have no interval, give the drop itself); ok is false when the
// metric is not comparable, worst is nil when its interval is unbounded.
func (c *Comparison) Improvement(m Metric) (pct float64, worst *float64, ok bool) {
	neg := func(v *float64) *float64 {
		if v == nil {
			return nil
		}
		x := -*v
		return &x
	}
	switch m {
	case MetricServer:
		if c.ServerChangePct == nil {
			return 0, nil, false
		}
		return -*c.ServerChangePct, neg(c.ServerCIHighPct), true
	case MetricBuffers:
		if c.BuffersChangePct == nil {
			return 0, nil, false
		}
		return -*c.BuffersChangePct, neg(c.BuffersChangePct), true
	}
	if c.BeforeP50Ms <= 0 || c.AfterP50Ms <= 0 {
		return 0, nil, false
	}
	return -c.MedianChangePct, neg(c.CIHighPct), true
}

// Difference is one way two runs' environments differ.
type Difference struct {
	// Kind is "server_version", "setting", "rows", "table" or "index".
	Kind string `json:"kind"`
	// Name is the setting, table or index.
	Name   string `json:"name,omitempty"`
	Before string `json:"before"`
	After  string `json:"after"`
	// Matters is set for a difference that makes latency comparisons
	// inconclusive (a version or setting, or rows off by more than
	// RowsTolerancePct); index changes are what --apply is for.
	Matters bool `json:"matters"`
	// Partitions counts, for an index on a partitioned table, its
	// partitions' indexes that changed the same way: folded into this
	// difference rather than listed one by one.
	Partitions int `json:"partitions,omitempty"`
}

// Migrations is what --apply did.
type Migrations struct {
	Dir string `json:"dir"`
	// Applied lists the files applied, in order; Indexes the indexes they
	// built.
	Applied []string `json:"applied"`
	Indexes []string `json:"indexes,omitempty"`
	// Reverted reports that --revert took them down again.
	Reverted bool `json:"reverted,omitempty"`
	// Error says how applying or reverting failed.
	Error string `json:"error,omitempty"`
}

// Gate is the verdict for CI.
type Gate struct {
	Passed bool `json:"passed"`
	// Metric is what the gate holds statements to (GateOptions.Metric).
	Metric Metric `json:"metric"`
	// ExpectPct and MaxRegressionPct are the limits checked; nil when off.
	// ExpectStated is set when --expect took each statement's promise
	// (the workload's) instead of one figure.
	ExpectPct        *float64 `json:"expect_pct,omitempty"`
	ExpectStated     bool     `json:"expect_stated,omitempty"`
	MaxRegressionPct *float64 `json:"max_regression_pct,omitempty"`
	// Checked counts the statements each gate looked at.
	ExpectChecked     int `json:"expect_checked"`
	RegressionChecked int `json:"regression_checked"`
	// Failures lists every failed check.
	Failures []GateFailure `json:"failures"`
}

// The gates.
const (
	GateExpect        = "expect"
	GateMaxRegression = "max-regression"
)

// GateFailure is one failed check.
type GateFailure struct {
	Gate      string `json:"gate"`
	Statement string `json:"statement,omitempty"`
	// Message says what failed and by how much.
	Message string `json:"message"`
}

// Report is a run with, when it was compared, the baseline, the comparison
// and the gate. It is what `bench --format json` prints and --save writes.
type Report struct {
	Run
	// Baseline is the run compared against: the saved --baseline, or the
	// run before the migrations of --apply.
	Baseline *Run `json:"baseline,omitempty"`
	// Migrations is what --apply did.
	Migrations *Migrations `json:"migrations,omitempty"`
	// EnvironmentDiff lists how the two runs' environments differ.
	EnvironmentDiff []Difference `json:"environment_diff,omitempty"`
	// Comparison holds one entry per statement both runs have.
	Comparison []Comparison `json:"comparison,omitempty"`
	// Drift is how the statements whose plan and buffers did not change
	// moved: the machine's part in every latency change; ServerDrift the
	// same for server time.
	Drift       *Drift `json:"drift,omitempty"`
	ServerDrift *Drift `json:"server_drift,omitempty"`
	// Weighted is the weighted statements' medians summed by weight, when
	// the workload gives weights.
	Weighted *WeightedChange `json:"weighted,omitempty"`
	// RequestComparison compares the halves of each before/after pair measured as
	// requests (CompareRequests): the run's own with Both, else the
	// baseline's before half with the run's after half.
	RequestComparison []RequestComparison `json:"request_comparison,omitempty"`
	// Gate is set when a comparison was made.
	Gate *Gate `json:"gate,omitempty"`
}
