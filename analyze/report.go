package analyze

import (
	"context"
	"errors"
	"fmt"
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
	// StatementTimeout names the session's statement_timeout in messages.
	StatementTimeout time.Duration
	// Progress, when set, hears what Analyze is doing.
	Progress func(msg string)
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
	ShareOf    string      `json:"share_of"`
	Totals     Totals      `json:"totals"`
	Statements []Statement `json:"statements"`
	Findings   []Finding   `json:"findings"`
	Indexes    []Index     `json:"indexes"`
	Tables     []Table     `json:"tables"`
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
	for _, step := range []func(context.Context) error{a.rank, a.explainRanked, a.explainSamples, a.evaluate, a.nPlusOne, a.indexHealth} {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
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
	first, err := ReadStatements(ctx, a.q, srv)
	if err != nil {
		return err
	}
	a.stmts = first.Statements
	if opts.Interval > 0 {
		a.say("analyze: waiting %s for the second snapshot of pg_stat_statements", opts.Interval)
		t := time.NewTimer(opts.Interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		second, err := ReadStatements(ctx, a.q, srv)
		if err != nil {
			return err
		}
		a.stmts, r.Window.Restarted = Delta(first, second)
		since := first.At
		r.Window = Window{Mode: "interval", Since: &since, Until: second.At, Seconds: second.At.Sub(first.At).Seconds(), Restarted: r.Window.Restarted}
		for _, s := range a.stmts {
			a.windows[s.key()] = second.At.Sub(first.At)
		}
		if r.Window.Restarted > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("%d statements restarted their counters during the interval (evicted or reset): their figures cover only part of it", r.Window.Restarted))
		}
	} else {
		r.Window = Window{Mode: "cumulative", Since: srv.StatsReset, Until: first.At}
		if srv.StatsReset != nil {
			r.Window.Seconds = first.At.Sub(*srv.StatsReset).Seconds()
		}
		for _, s := range a.stmts {
			a.windows[s.key()] = srv.window(&s, first.At)
		}
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
		if err == nil {
			x, err = a.ex.explain(ctx, Source{SQL: trimSQL(s.Query)}, st, a.opts.Analyze)
		}
		switch {
		case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			return err
		case err != nil && connLost(a.q):
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
				if s.QueryID == x.Plan.QueryID && (s.Plan == nil || !s.Plan.Analyzed || s.Plan.Generic) {
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
		ih, err := indexHealth(ctx, a.q, a.opts.optionName())
		if err != nil {
			return err
		}
		r.Indexes, r.Tables = ih.Indexes, ih.Tables
		r.Findings = append(r.Findings, ih.Findings...)
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
