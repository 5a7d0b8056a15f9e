package analyze

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// SchemaAnalyze and SchemaExplain version the JSON documents: a change that
// removes or renames a field needs a new version.
const (
	SchemaAnalyze = "hishamos-perf/analyze/v1"
	SchemaExplain = "hishamos-perf/explain/v1"
)

// Defaults of Options.
const (
	// DefaultTop is how many statements a report ranks.
	DefaultTop = 20
	// DefaultExplain is how many of the top statements get a plan: EXPLAIN
	// of ten statements takes well under a second on a healthy server.
	DefaultExplain = 10
	// DefaultMinStatsAge is how long the statistics must have been
	// counting before index usage is judged (unused-index): a week covers
	// the weekly jobs and reports that use an index rarely. One second
	// after pg_stat_reset() every index has had no scans.
	DefaultMinStatsAge = 7 * 24 * time.Hour
)

// Options configures Analyze.
type Options struct {
	// Sort ranks the statements (default total time).
	Sort SortKey
	// Top is how many statements to report (default DefaultTop; -1: all).
	Top int
	// Interval, when positive, ranks what ran between two snapshots this
	// far apart instead of the cumulative counters.
	Interval time.Duration
	// Explain is how many of the top statements to plan; 0 plans none.
	Explain int
	// Analyze runs EXPLAIN ANALYZE where values are known: statements
	// without parameters, and the Samples.
	Analyze bool
	// Samples are statements with real values (a .sql file; a profile's
	// statements with Args drawn from its generators). Each is explained
	// (analyzed with Analyze) and, when its query identifier matches a
	// ranked statement, gives that statement its plan; the others are
	// reported after the ranked statements with Source set to their file.
	// This is the hook for `analyze --profile`: a profile's Bound.Args
	// fill Source.Args.
	Samples []Source
	// SkipIndexes leaves out index health.
	SkipIndexes bool
	// MinStatsAge is how long the statistics must have been counting
	// (since the youngest of the resets Statistics names) before
	// unused-index judges an index by its scans: 0 means
	// DefaultMinStatsAge, a negative value judges them at any age.
	MinStatsAge time.Duration
	// StatementTimeout names the session's statement_timeout in messages.
	StatementTimeout time.Duration
	// Progress, when set, hears what Analyze is doing.
	Progress func(msg string)
	// Replicas are the other nodes of the fleet (its standbys) read
	// beside the Querier's: their pg_stat_statements add up with its own,
	// an index is unused only when no node scanned it, and a statement is
	// explained on the node where it took most time. Empty: one server.
	Replicas []Replica
	// NodeName names the Querier's node in a fleet (PrimaryNode when
	// empty), and NodeRole its role.
	NodeName, NodeRole string
	// OptionName words an option in the report's notes (an Interval to
	// rank what runs while it runs): the command passes the names of its
	// flags; nil names it in words.
	OptionName func(Option) string
}

// optionName is o.OptionName, or the option in words.
func (o *Options) optionName() func(Option) string {
	if o.OptionName != nil {
		return o.OptionName
	}
	return optionWords
}

// Window is the time the ranked counters cover.
type Window struct {
	// Mode is "cumulative" (since the last reset) or "interval".
	Mode  string     `json:"mode"`
	Since *time.Time `json:"since,omitempty"`
	Until time.Time  `json:"until"`
	// Seconds is the window's length; 0 when unknown.
	Seconds float64 `json:"seconds"`
	// Restarted counts statements whose counters started again during an
	// interval (evicted, or reset by someone else).
	Restarted int `json:"restarted,omitempty"`
}

// Report is the result of Analyze, the `analyze --format json` document.
type Report struct {
	Schema string  `json:"schema"`
	Server *Server `json:"server"`
	Window Window  `json:"window"`
	Sort   SortKey `json:"sort"`
	// ShareOf names what each statement's share_pct is a share of.
	ShareOf string `json:"share_of"`
	Totals  Totals `json:"totals"`
	// Statistics says how old the counters the report rests on are.
	Statistics *Statistics `json:"statistics"`
	// Nodes are the fleet's nodes with their own figures and statistics
	// when the report reads several (Options.Replicas): Statistics above
	// is the first node's.
	Nodes      []NodeSummary `json:"nodes,omitempty"`
	Statements []Statement   `json:"statements"`
	Findings   []Finding     `json:"findings"`
	Indexes    []Index       `json:"indexes"`
	Tables     []Table       `json:"tables"`
	// Notes say what limited the report (an empty pg_stat_statements,
	// evicted statements, plans that failed).
	Notes []string `json:"notes,omitempty"`
	// Grants are the statements that would let the session's role explain
	// the statements it may not read a table of, each table named once
	// (GRANT SELECT ON a, b TO role;); those statements' plan_error says
	// "permission denied".
	Grants []string `json:"grants,omitempty"`
}

// Analyze reads pg_stat_statements, ranks the statements, explains the top
// ones, runs the rules and checks index health. q must be a connection in a
// read-only session with statement_timeout set; nothing is written (each
// EXPLAIN runs in a transaction that is rolled back) and
// pg_stat_statements_reset is never called.
func Analyze(ctx context.Context, q Querier, opts Options) (*Report, error) {
	if opts.Sort == "" {
		opts.Sort = SortTotal
	}
	if opts.Top == 0 {
		opts.Top = DefaultTop
	}
	a := &analysis{q: q, opts: opts, windows: map[stmtKey]time.Duration{}}
	srv, err := Inspect(ctx, q)
	if err != nil {
		return nil, err
	}
	a.srv = srv
	a.r = &Report{Schema: SchemaAnalyze, Server: srv, Sort: opts.Sort, ShareOf: opts.Sort.ShareOf(),
		Statements: []Statement{}, Findings: []Finding{}, Indexes: []Index{}, Tables: []Table{}}
	a.ex = &Explainer{Q: q, VersionNum: srv.VersionNum, StatementTimeout: opts.StatementTimeout}
	a.nodes = []node{{name: opts.NodeName, role: opts.NodeRole, q: q, srv: srv, ex: a.ex}}
	if a.nodes[0].name == "" {
		a.nodes[0].name = PrimaryNode
	}
	for _, rep := range opts.Replicas {
		rsrv, err := Inspect(ctx, rep.Q)
		if err != nil {
			return nil, fmt.Errorf("analyze: node %s: %w", rep.Name, err)
		}
		a.nodes = append(a.nodes, node{name: rep.Name, role: rep.Role, q: rep.Q, srv: rsrv, lag: rep.ReplayLagBytes, paused: rep.ReplayPaused,
			ex: &Explainer{Q: rep.Q, VersionNum: rsrv.VersionNum, StatementTimeout: opts.StatementTimeout}})
	}
	for _, step := range []func(context.Context) error{a.rank, a.statistics, a.explainRanked, a.explainSamples, a.customPlans, a.evaluate, a.nPlusOne, a.indexHealth} {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	a.replicaOnly()
	a.nameStatementFindings()
	a.noteDenied()
	SortFindings(a.r.Findings)
	return a.r, nil
}

// analysis is one Analyze as it goes: what each step hands the next.
type analysis struct {
	q    Querier
	opts Options
	srv  *Server
	r    *Report
	ex   *Explainer
	// stmts are every statement of pg_stat_statements (the ranked ones
	// are in r.Statements), windows the time each one's figures cover.
	stmts   []Statement
	windows map[stmtKey]time.Duration
	// deniedErrs are the reads the role may not read a table of: said
	// once, with the GRANT, not once per statement. deniedWrites counts
	// the writes refused: EXPLAIN of an INSERT, UPDATE or DELETE needs
	// that very privilege on its table, which is no GRANT to suggest to a
	// role that only watches.
	deniedErrs   []error
	deniedWrites int
	// nodes are the fleet's nodes, the Querier's first; one without
	// Options.Replicas. perNode are, in a fleet, each node's statements.
	nodes   []node
	perNode map[string][]Statement
}

func (a *analysis) say(format string, args ...any) {
	if a.opts.Progress != nil {
		a.opts.Progress(fmt.Sprintf(format, args...))
	}
}

// rank reads pg_stat_statements (twice, an interval apart, with Interval)
// and ranks its statements.
func (a *analysis) rank(ctx context.Context) error {
	r, srv, opts := a.r, a.srv, a.opts
	firsts := make([]*Snapshot, len(a.nodes))
	for i, n := range a.nodes {
		first, err := ReadStatements(ctx, n.q, n.srv)
		if err != nil {
			return a.nodeErr(i, err)
		}
		firsts[i] = first
	}
	first := firsts[0]
	perNode := map[string][]Statement{}
	window := func(s *Statement, d time.Duration) {
		a.windows[s.key()] = max(a.windows[s.key()], d)
	}
	if opts.Interval > 0 {
		a.say("analyze: waiting %s for the second snapshot of pg_stat_statements", opts.Interval)
		t := time.NewTimer(opts.Interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		var second *Snapshot
		for i, n := range a.nodes {
			snd, err := ReadStatements(ctx, n.q, n.srv)
			if err != nil {
				return a.nodeErr(i, err)
			}
			if i == 0 {
				second = snd
			}
			stmts, restarted := Delta(firsts[i], snd)
			r.Window.Restarted += restarted
			for j := range stmts {
				stmts[j].node = n.name
				window(&stmts[j], snd.At.Sub(firsts[i].At))
			}
			perNode[n.name] = stmts
		}
		since := first.At
		r.Window = Window{Mode: "interval", Since: &since, Until: second.At, Seconds: second.At.Sub(first.At).Seconds(), Restarted: r.Window.Restarted}
		if r.Window.Restarted > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("%d statements restarted their counters during the interval (evicted or reset): their figures cover only part of it", r.Window.Restarted))
		}
	} else {
		r.Window = Window{Mode: "cumulative", Since: srv.StatsReset, Until: first.At}
		if srv.StatsReset != nil {
			r.Window.Seconds = first.At.Sub(*srv.StatsReset).Seconds()
		}
		for i, n := range a.nodes {
			stmts := firsts[i].Statements
			for j := range stmts {
				stmts[j].node = n.name
				window(&stmts[j], n.srv.window(&stmts[j], firsts[i].At))
			}
			perNode[n.name] = stmts
		}
	}
	a.stmts = perNode[a.nodes[0].name]
	if a.fleet() {
		// Each node's rows grouped as below, for its own figures; then
		// every node's rows at once, which adds them up.
		a.stmts = nil
		var order []string
		for _, n := range a.nodes {
			perNode[n.name] = Group(slices.Clone(perNode[n.name]), nil)
			a.stmts = append(a.stmts, perNode[n.name]...)
			order = append(order, n.name)
		}
		a.stmts = Group(a.stmts, a.windows)
		figuresByNode(a.stmts, perNode, order)
		a.perNode = perNode
	} else {
		// One row per statement as users think of it: the same text from
		// several roles or clients is one statement.
		a.stmts = Group(a.stmts, a.windows)
	}
	r.Statements, r.Totals = Rank(a.stmts, opts.Sort, max(opts.Top, 0))
	if len(a.stmts) == 0 {
		since := "since its counters were last reset"
		if opts.Interval > 0 {
			since = fmt.Sprintf("during the %s interval", opts.Interval)
		}
		name := opts.optionName()
		r.Notes = append(r.Notes, fmt.Sprintf("pg_stat_statements holds no statements for database %s %s: run the workload, then analyze again (or use %s while it runs)", srv.Database, since, name(OptInterval)))
	}
	if srv.Dealloc > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("pg_stat_statements evicted statements %d times for lack of room: raise pg_stat_statements.max so rankings miss nothing", srv.Dealloc))
	}
	return nil
}

// statistics reads how old the counters are, for the report's header and
// for index health, which judges usage only from Options.MinStatsAge.
func (a *analysis) statistics(ctx context.Context) error {
	minAge := a.opts.MinStatsAge
	if minAge == 0 {
		minAge = DefaultMinStatsAge
	}
	for i := range a.nodes {
		n := &a.nodes[i]
		st, err := readStatistics(ctx, n.q, n.srv.StatsReset, minAge)
		if err != nil {
			return a.nodeErr(i, err)
		}
		n.stats = st
	}
	st := a.nodes[0].stats
	st.Calls = a.r.Totals.Calls
	a.r.Statistics = st
	if a.fleet() {
		a.summarize(a.perNode)
	}
	return nil
}

// nodeErr names the node an error came from, in a fleet.
func (a *analysis) nodeErr(i int, err error) error {
	if !a.fleet() {
		return err
	}
	return fmt.Errorf("analyze: node %s: %w", a.nodes[i].name, err)
}

// refused records a statement the role may not explain.
func (a *analysis) refused(query string, err error) {
	if p, perr := sqlscan.ParseOne(query); perr == nil && !p.ReadOnly {
		a.deniedWrites++
		return
	}
	a.deniedErrs = append(a.deniedErrs, err)
}

// explainRanked explains the top Explain statements of the ranking
// (generic plans for $n statements).
func (a *analysis) explainRanked(ctx context.Context) error {
	r := a.r
	failed, explained, want := 0, 0, 0
	for i := range r.Statements {
		if r.Statements[i].explainable() {
			want++
		}
	}
	want = min(want, a.opts.Explain)
	for i := range r.Statements {
		if err := ctx.Err(); err != nil {
			return err
		}
		s := &r.Statements[i]
		// Utility statements (COPY, VACUUM, DDL) cannot be explained and
		// take no EXPLAIN slot.
		if !s.explainable() {
			s.PlanError = ErrNotExplainable.Error()
			continue
		}
		if explained >= a.opts.Explain {
			continue
		}
		explained++
		a.say("analyze: explaining statement %d of %d", explained, want)
		st, err := s.classified()
		var x *Explained
		// In a fleet, on the node where the statement took most time:
		// its plan there is the one its callers get.
		on := a.nodeOf(s.node)
		if err == nil {
			x, err = on.ex.explain(ctx, Source{SQL: trimSQL(s.Query)}, st, a.opts.Analyze)
		}
		switch {
		case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			return err
		case err != nil && connLost(on.q):
			return lostError(fmt.Sprintf("statement %d", explained), err)
		case denied(err):
			s.PlanError = pgMessage(err)
			a.refused(s.Query, err)
		case err != nil:
			s.PlanError = err.Error()
			failed++
		default:
			// The plan's own query identifier is that of the text as
			// explained ($n parameters); the statement's is the one its
			// findings and rows carry.
			x.Fingerprint = s.Fingerprint
			s.Plan = x
		}
	}
	if failed > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d statements could not be planned: see plan_error on their rows", failed))
	}
	return nil
}

// explainSamples explains the statements of Samples (real values), each
// taking the place of its ranked statement's plan when their query ids
// match, else a row of its own.
func (a *analysis) explainSamples(ctx context.Context) error {
	r := a.r
	for _, smp := range a.opts.Samples {
		if err := ctx.Err(); err != nil {
			return err
		}
		a.say("analyze: explaining %s", sampleName(smp))
		x, err := a.ex.Explain(ctx, smp, a.opts.Analyze)
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		if err != nil && connLost(a.q) {
			return lostError(sampleName(smp), err)
		}
		matched := false
		if err == nil && x.Plan.QueryID != 0 {
			for i := range r.Statements {
				s := &r.Statements[i]
				if s.HasQueryID(x.Plan.QueryID) && (s.Plan == nil || !s.Plan.Analyzed || s.Plan.Generic) {
					s.Plan, s.PlanError, matched = x, "", true
					break
				}
			}
		}
		if matched {
			continue
		}
		st := Statement{Query: smp.SQL, Source: sampleName(smp), Plan: x}
		if denied(err) {
			st.PlanError = pgMessage(err)
			st.Plan = nil
			a.refused(smp.SQL, err)
		} else if err != nil {
			st.PlanError = err.Error()
			st.Plan = nil
		} else if x.Plan.QueryID != 0 {
			st.QueryID, st.Fingerprint = x.Plan.QueryID, Fingerprint(x.Plan.QueryID)
		}
		r.Statements = append(r.Statements, st)
	}
	return nil
}

// customPlans compares each ranked statement's generic plan with a custom
// plan for values drawn from the statistics of what its parameters are
// compared with (custom.go), and keeps the custom plan where the shapes
// differ, for evaluate to judge both. With Analyze, a read-only
// statement's generic plan is also run with those values, to measure the
// two on the same input.
func (a *analysis) customPlans(ctx context.Context) error {
	for i := range a.r.Statements {
		s := &a.r.Statements[i]
		if s.Plan == nil || !s.Plan.Generic || s.Source != "pg_stat_statements" {
			continue
		}
		st, err := s.classified()
		if err != nil || len(st.Params) == 0 || st.Params[len(st.Params)-1] > customMaxParams {
			continue
		}
		a.say("analyze: a custom plan for statement #%d", s.Rank)
		// classified keeps no parse tree (a statement of megabytes holds
		// one of hundreds); the few compared here are parsed again.
		tree, err := sqlscan.ParseOne(trimSQL(s.Query))
		if err != nil {
			continue
		}
		on := a.nodeOf(s.node)
		args, said, err := sampleValues(ctx, on.q, s, &tree)
		if err == nil {
			var x *Explained
			x, err = on.ex.Explain(ctx, Source{SQL: trimSQL(s.Query), Args: args}, a.opts.Analyze)
			if err == nil {
				s.CustomPlan = x
				x.Fingerprint = s.Fingerprint
				if len(said) > customNoteValues {
					said = append(said[:customNoteValues], fmt.Sprintf("and %d more", len(said)-customNoteValues))
				}
				x.Note = strings.TrimPrefix(x.Note+"; custom plan for values drawn from the statistics: "+strings.Join(said, ", "), "; ")
				if a.opts.Analyze && st.ReadOnly && x.Analyzed {
					values := make([]string, len(args))
					for i, v := range args {
						values[i] = fmt.Sprint(v)
					}
					if g, gerr := on.ex.GenericWith(ctx, s.Query, values, true); gerr == nil {
						s.Plan.genericRun = g
					} else if ctx.Err() != nil {
						return ctx.Err()
					}
				}
			}
		}
		switch {
		case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			return err
		case err != nil && connLost(on.q):
			return lostError(fmt.Sprintf("statement #%d with sampled values", s.Rank), err)
		case err != nil:
			// Not a failure of the run: the generic plan stands alone.
			s.Plan.Note = strings.TrimPrefix(s.Plan.Note+"; no custom plan to compare: "+pgMessage(err), "; ")
		case slices.Equal(accessPaths(s.CustomPlan.Plan), accessPaths(s.Plan.Plan)):
			// The same access to the rows either way: nothing more to
			// judge.
			s.CustomPlan = nil
			s.Plan.genericRun = nil
		}
	}
	return nil
}

// noteDenied says, once, what the role may not explain and what would
// let it.
func (a *analysis) noteDenied() {
	r, srv := a.r, a.srv
	if len(a.deniedErrs) > 0 {
		// Not a failure of the run: the ranking, the other plans and the
		// index health stand; these statements are rows without a plan.
		r.Grants = pg.FixForAll(a.deniedErrs, srv.User, pg.Need{Relation: "SELECT"})
		what := fmt.Sprintf("%d statements were", len(a.deniedErrs))
		if len(a.deniedErrs) == 1 {
			what = "1 statement was"
		}
		r.Notes = append(r.Notes, fmt.Sprintf("%s not explained: role %s may read the statistics but not the tables used; run %s to explain them",
			what, srv.User, strings.Join(r.Grants, " ")))
	}
	if a.deniedWrites > 0 {
		what := fmt.Sprintf("%d writes were", a.deniedWrites)
		if a.deniedWrites == 1 {
			what = "1 write was"
		}
		r.Notes = append(r.Notes, fmt.Sprintf("%s not explained: EXPLAIN of a write needs the write privilege on its table, which role %s has not; explain them as a role that may write them (the table's owner)",
			what, srv.User))
	}
}

// evaluate runs the rules on every ranked statement and its plan.
func (a *analysis) evaluate(ctx context.Context) error {
	r := a.r
	var relations []string
	for _, s := range r.Statements {
		if s.Plan != nil {
			relations = append(relations, s.Plan.Plan.Relations()...)
		}
		if s.CustomPlan != nil {
			relations = append(relations, s.CustomPlan.Plan.Relations()...)
		}
	}
	facts, err := tableFacts(ctx, a.q, relations)
	if err != nil {
		return err
	}
	for i := range r.Statements {
		if err := ctx.Err(); err != nil {
			return err
		}
		s := &r.Statements[i]
		sub := Subject{Statement: s, Tables: facts, Window: a.windows[s.key()]}
		if s.Source != "pg_stat_statements" {
			sub.Statement = nil
		}
		if s.Plan != nil {
			sub.Plan = s.Plan.Plan
		}
		fs := Evaluate(sub)
		if s.CustomPlan != nil {
			fs = append(fs, judgeBoth(s, sub, fs, a.opts.optionName())...)
		}
		for j := range fs {
			if fs[j].Fingerprint == "" {
				fs[j].Fingerprint, fs[j].Query = s.Fingerprint, s.Query
			}
		}
		r.Findings = append(r.Findings, fs...)
	}
	return nil
}

// nPlusOne looks for N+1 lookups among every statement, not only the
// ranked ones: they are cheap one by one and rarely rank by time.
func (a *analysis) nPlusOne(ctx context.Context) error {
	ranked := map[stmtKey]bool{}
	for _, s := range a.r.Statements {
		if s.Source == "pg_stat_statements" {
			ranked[s.key()] = true
		}
	}
	for i := range a.stmts {
		if err := ctx.Err(); err != nil {
			return err
		}
		s := &a.stmts[i]
		if ranked[s.key()] {
			continue
		}
		sub := Subject{Statement: s, Window: a.windows[s.key()]}
		for _, f := range sub.nPlusOne() {
			f.Fingerprint, f.Query = s.Fingerprint, s.Query
			a.r.Findings = append(a.r.Findings, f)
		}
	}
	return nil
}

// indexHealth checks every index of the database, unless SkipIndexes.
func (a *analysis) indexHealth(ctx context.Context) error {
	r := a.r
	if !a.opts.SkipIndexes {
		a.say("analyze: checking index health")
		// An index a plan of the report reads (its generic plan or its
		// custom one) is used, whatever its scan count since a reset says.
		used := map[string]bool{}
		for _, s := range r.Statements {
			for _, x := range []*Explained{s.Plan, s.CustomPlan} {
				if x == nil || x.Plan == nil {
					continue
				}
				x.Plan.Walk(func(n *Node) bool {
					if schema := n.indexSchema(); n.IndexName != "" && schema != "" {
						used[schema+"."+n.IndexName] = true
					}
					return true
				})
			}
		}
		cfg := healthConfig{name: a.opts.optionName(), stats: r.Statistics, used: used}
		if a.fleet() {
			var err error
			if cfg.nodeScans, err = a.nodeScans(ctx); err != nil {
				return err
			}
			cfg.stats, cfg.statsNode = a.youngest()
			cfg.nodes = a.nodeNames()
		}
		ih, err := indexHealth(ctx, a.q, cfg)
		if err != nil {
			return err
		}
		r.Indexes, r.Tables = ih.Indexes, ih.Tables
		r.Findings = append(r.Findings, ih.Findings...)
		r.Notes = append(r.Notes, ih.Notes...)
	}
	if r.Indexes == nil {
		r.Indexes = []Index{}
	}
	if r.Tables == nil {
		r.Tables = []Table{}
	}
	return nil
}

// connLost reports whether q is a connection the server has closed (a
// restart, pg_terminate_backend): every statement after would fail with
// "conn closed", so the error that closed it is the one to report.
func connLost(q Querier) bool {
	c, ok := q.(pgConner)
	return ok && c.PgConn().IsClosed()
}

// lostError says which statement was being explained when the connection
// was lost, with the server's reason.
func lostError(what string, err error) error { return &connLostError{what: what, err: err} }

// connLostError is a connection lost in the middle of an EXPLAIN.
type connLostError struct {
	what string
	err  error
}

// Error names the statement and the reason, once.
func (e *connLostError) Error() string {
	return "analyze: the connection to the server was lost while explaining " + e.what + ": " +
		strings.TrimPrefix(e.err.Error(), "analyze: explain: ")
}

// Unwrap returns the EXPLAIN's error.
func (e *connLostError) Unwrap() error { return e.err }

func sampleName(s Source) string {
	switch {
	case s.File != "" && s.Line > 0:
		return fmt.Sprintf("%s:%d", s.File, s.Line)
	case s.File != "":
		return fmt.Sprintf("%s#%d", s.File, s.Index)
	}
	return fmt.Sprintf("statement %d", s.Index)
}

// ExplainReport is the result of ExplainAll, the `explain --format json`
// document.
type ExplainReport struct {
	Schema     string               `json:"schema"`
	Server     string               `json:"server"`
	Statements []ExplainedStatement `json:"statements"`
	// Findings gathers every statement's findings.
	Findings []Finding `json:"findings"`
}

// ExplainedStatement is one statement's plan with its findings.
type ExplainedStatement struct {
	*Explained
	Findings []Finding `json:"findings"`
}

// ExplainOptions configures ExplainAll.
type ExplainOptions struct {
	// Analyze runs EXPLAIN ANALYZE (in a transaction rolled back).
	Analyze bool
	// StatementTimeout names the session's statement_timeout in errors.
	StatementTimeout time.Duration
}

// ExplainAll explains the statements in order and runs the plan rules on
// each. It stops at the first statement that fails: a *SQLError for one the
// server rejects as written, wrapping ErrStatementTimeout for one that ran
// too long, ErrNotExplainable for a utility statement.
func ExplainAll(ctx context.Context, q Querier, stmts []Source, opts ExplainOptions) (*ExplainReport, error) {
	var version string
	var num int
	if err := q.QueryRow(ctx, Tagged("SELECT current_setting('server_version'), current_setting('server_version_num')::int")).Scan(&version, &num); err != nil {
		return nil, fmt.Errorf("analyze: read server version: %w", err)
	}
	rep := &ExplainReport{Schema: SchemaExplain, Server: version, Statements: []ExplainedStatement{}, Findings: []Finding{}}
	ex := &Explainer{Q: q, VersionNum: num, StatementTimeout: opts.StatementTimeout}
	var xs []*Explained
	var relations []string
	for _, s := range stmts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		x, err := ex.Explain(ctx, s, opts.Analyze)
		if err != nil {
			var se *SQLError
			if errors.As(err, &se) || errors.Is(err, context.Canceled) {
				return nil, err
			}
			if s.File == "" && len(stmts) == 1 {
				return nil, err
			}
			return nil, fmt.Errorf("%s: %w", sampleName(s), err)
		}
		xs = append(xs, x)
		relations = append(relations, x.Plan.Relations()...)
	}
	facts, err := tableFacts(ctx, q, relations)
	if err != nil {
		return nil, err
	}
	for _, x := range xs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fs := Evaluate(Subject{Plan: x.Plan, Tables: facts})
		for i := range fs {
			fs[i].Query, fs[i].Fingerprint = x.Query, x.Fingerprint
		}
		if fs == nil {
			fs = []Finding{}
		}
		rep.Statements = append(rep.Statements, ExplainedStatement{Explained: x, Findings: fs})
		rep.Findings = append(rep.Findings, fs...)
	}
	SortFindings(rep.Findings)
	return rep, nil
}
