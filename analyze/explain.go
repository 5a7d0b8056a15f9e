package analyze

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// Errors of the EXPLAIN runner.
var (
	// ErrNotExplainable: a utility statement (SET, COPY, VACUUM …).
	ErrNotExplainable = errors.New("not explainable (a utility statement)")
	// ErrStatementTimeout: the statement ran past statement_timeout.
	ErrStatementTimeout = errors.New("statement_timeout hit")
)

// SQLError is a statement the server rejected as written: a syntax error,
// an unknown table or column, a type mismatch. It carries the server's
// message and where in the statement the error is.
type SQLError struct {
	Source  Source
	Code    string
	Message string
	Detail  string
	Hint    string
	// Line and Column locate the error in the statement's file (or in
	// the statement, for one given on the command line), from 1; zero
	// when the server gave no position.
	Line, Column int
}

// Error is one line: where, the server's message, detail and hint, and the
// SQLSTATE.
func (e *SQLError) Error() string {
	var b strings.Builder
	switch {
	case e.Source.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d:%d: ", e.Source.File, e.Line, e.Column)
	case e.Source.File != "":
		fmt.Fprintf(&b, "%s: statement %d: ", e.Source.File, e.Source.Index)
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d, column %d: ", e.Line, e.Column)
	}
	b.WriteString(e.Message)
	if e.Detail != "" {
		b.WriteString("; detail: " + e.Detail)
	}
	if e.Hint != "" {
		b.WriteString("; hint: " + e.Hint)
	}
	b.WriteString(" (SQLSTATE " + e.Code + ")")
	return strings.ReplaceAll(b.String(), "\n", " ")
}

// badSQLCode reports whether a SQLSTATE means the statement itself is
// wrong: syntax errors and unknown names (class 42, but not 42501, a
// missing privilege), data exceptions (22) and unsupported features (0A).
func badSQLCode(code string) bool {
	return (strings.HasPrefix(code, "42") && code != "42501") || strings.HasPrefix(code, "22") || strings.HasPrefix(code, "0A")
}

// Explained is one statement's plan and how it was made.
type Explained struct {
	Query string `json:"query"`
	// Fingerprint is the plan's query identifier as 16 hex digits, when
	// the server computes one (compute_query_id).
	Fingerprint string  `json:"fingerprint,omitempty"`
	Source      *Source `json:"source,omitempty"`
	// Generic marks a plan made without parameter values.
	Generic bool `json:"generic"`
	// Analyzed marks EXPLAIN ANALYZE: the statement ran.
	Analyzed bool `json:"analyzed"`
	// Transaction says how it ran: "read only" or "read write"; either
	// way it was rolled back.
	Transaction string   `json:"transaction"`
	Shape       string   `json:"shape"`
	ShapeHash   string   `json:"shape_hash"`
	TotalCost   float64  `json:"total_cost"`
	PlanRows    float64  `json:"plan_rows"`
	ActualRows  *float64 `json:"actual_rows,omitempty"`
	// PlanningTime and ExecutionTime are in milliseconds (ANALYZE).
	PlanningTime  float64   `json:"planning_time_ms,omitempty"`
	ExecutionTime float64   `json:"execution_time_ms,omitempty"`
	IndexesUsed   []string  `json:"indexes_used"`
	Hot           []HotNode `json:"hot_nodes,omitempty"`
	// Note says what limited the plan, such as ANALYZE skipped for want
	// of parameter values.
	Note string `json:"note,omitempty"`
	// Explain is the EXPLAIN (FORMAT JSON) output as the server returned
	// it, ready to paste into explain.dalibo.com.
	Explain json.RawMessage `json:"explain"`
	// Plan is the parsed tree.
	Plan *Plan `json:"-"`
	// genericRun is a generic plan run with a custom plan's values
	// (customPlans), for judging the two on the same input.
	genericRun *Plan
}

// HotNode is a node that takes a large share of a plan's time (or cost,
// without ANALYZE).
type HotNode struct {
	ID       int     `json:"id"`
	Label    string  `json:"label"`
	SelfTime float64 `json:"self_time_ms,omitempty"`
	SelfCost float64 `json:"self_cost"`
	// SharePct is the node's share of the plan's time (or cost).
	SharePct float64 `json:"share_pct"`
}

// HotShare is the share of a plan's time (or cost) from which a node counts
// as hot: a fifth of the whole in one node is where tuning pays first.
const HotShare = 0.2

// maxHotNodes caps the hot nodes listed per plan.
const maxHotNodes = 3

// HotNodes lists the nodes taking at least HotShare of the plan's time (or
// cost), most first, at most three.
func HotNodes(p *Plan) []HotNode {
	var out []HotNode
	for _, n := range p.Nodes() {
		if share := p.Hot(n); share >= HotShare {
			out = append(out, HotNode{ID: n.ID, Label: n.Label(), SelfTime: round3(n.SelfTime), SelfCost: round1(n.SelfCost), SharePct: round1(share * 100)})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].SharePct > out[j].SharePct })
	if len(out) > maxHotNodes {
		out = out[:maxHotNodes]
	}
	return out
}

// SequenceNote is the note of a statement analyzed in a READ WRITE
// transaction: the rollback restores its rows, but nextval() is not
// transactional, and putting a sequence back (setval) would race with the
// application's own sessions drawing from it.
const SequenceNote = "rolled back: no row changed, but a sequence the statement drew from (serial, identity, nextval) stays advanced"

// rolledBackNote is the note of a statement analyzed in a READ WRITE
// transaction that drew from no sequence the role may read.
const rolledBackNote = "rolled back: no row changed"

// Explainer runs EXPLAIN on one connection. Each statement runs in a
// transaction of its own that is rolled back.
type Explainer struct {
	Q Querier
	// VersionNum is server_version_num: 160000 and later take
	// EXPLAIN (GENERIC_PLAN); earlier versions get a prepared statement
	// forced to a generic plan.
	VersionNum int
	// StatementTimeout names the session's statement_timeout in errors.
	StatementTimeout time.Duration
	seq              int
	// qualstats is whether pg_qualstats is loaded (0: not asked yet, 1
	// loaded, -1 not): inTx then turns it off for the transaction.
	qualstats int
}

// explainOptions are the EXPLAIN options every plan is made with: JSON for
// the parser, VERBOSE for output columns and the query identifier,
// SETTINGS for changed planner settings, BUFFERS for block counts.
const explainOptions = "FORMAT JSON, VERBOSE, SETTINGS, BUFFERS"

// Explain plans one statement. With analyze it runs it (EXPLAIN ANALYZE),
// provided it has values for its parameters: a statement with $n and no
// Args gets a generic plan instead, with a note saying so. A plain query
// runs in a READ ONLY transaction, anything else (with analyze) in a READ
// WRITE one; both are rolled back.
func (e *Explainer) Explain(ctx context.Context, src Source, analyze bool) (*Explained, error) {
	src.SQL = trimSQL(src.SQL)
	// One parse answers every question below: on a statement of megabytes
	// (an IN list of a million values) it takes seconds, and it cannot be
	// interrupted.
	st, err := classify(src)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	return e.explain(ctx, src, st, analyze)
}

// explain is Explain of a statement already classified.
func (e *Explainer) explain(ctx context.Context, src Source, st *sqlscan.Parsed, analyze bool) (*Explained, error) {
	sql := src.SQL
	if !st.Explainable {
		return nil, ErrNotExplainable
	}
	if st.PlanText != st.Text {
		// A statement as pg_stat_statements normalized it: its typed
		// literals (`date $1`) as casts the server plans.
		sql = st.PlanText
	}
	params := 0
	if len(st.Params) > 0 {
		params = st.Params[len(st.Params)-1]
	}
	x := &Explained{Query: src.SQL, Transaction: "read only"}
	if src.File != "" || src.Index > 0 {
		s := src
		x.Source = &s
	}
	var raw string
	var err error
	switch {
	case params > 0 && len(src.Args) == 0:
		if analyze {
			x.Note = fmt.Sprintf("generic plan without ANALYZE: the statement has %d parameters and no values for them", params)
		}
		x.Generic = true
		var typed string
		raw, typed, err = e.generic(ctx, sql, params)
		if typed != "" {
			x.Note = strings.TrimPrefix(x.Note+"; "+typed, "; ")
		}
	default:
		if fn := st.OutsideTx; analyze && fn != "" {
			// A rollback would not undo what it does: plan it, do not run it.
			analyze = false
			x.Note = fmt.Sprintf("plan without ANALYZE: the statement calls %s, whose effect a read-only transaction and a rollback do not contain", fn)
		}
		readWrite := analyze && !st.ReadOnly
		if readWrite {
			x.Transaction = "read write"
			x.Note = rolledBackNote
		}
		opts := explainOptions
		if analyze {
			opts = "ANALYZE, " + opts
			x.Analyzed = true
		}
		prefix := Tag + "EXPLAIN (" + opts + ") "
		err = e.inTx(ctx, readWrite, func() error {
			var before map[string]int64
			if readWrite {
				before = e.sequences(ctx)
			}
			var err error
			if len(src.Args) > 0 {
				args := append([]any{pgx.QueryExecModeDescribeExec}, src.Args...)
				err = e.Q.QueryRow(ctx, prefix+sql+tagEnd, args...).Scan(&raw)
			} else {
				raw, err = e.simpleQuery(ctx, prefix+sql+tagEnd)
			}
			if err == nil && readWrite {
				x.Note = sequenceNote(before, e.sequences(ctx))
			}
			return e.explainError(ctx, err, src, len(prefix))
		})
	}
	if err != nil {
		return nil, err
	}
	p, err := ParsePlan([]byte(raw))
	if err != nil {
		return nil, fmt.Errorf("analyze: %w", err)
	}
	p.Generic = x.Generic
	x.Plan = p
	x.Explain = p.Raw
	x.Shape, x.ShapeHash = p.Shape(), p.ShapeHash()
	x.TotalCost, x.PlanRows = p.Root.TotalCost, p.Root.PlanRows
	if p.Analyzed {
		r := p.Root.TotalRows()
		x.ActualRows = &r
	}
	x.PlanningTime, x.ExecutionTime = p.PlanningTimeMs, p.ExecutionTimeMs
	x.IndexesUsed = p.IndexesUsed()
	if x.IndexesUsed == nil {
		x.IndexesUsed = []string{}
	}
	x.Hot = HotNodes(p)
	if p.QueryID != 0 {
		x.Fingerprint = Fingerprint(p.QueryID)
	}
	return x, nil
}

// generic makes a generic plan: EXPLAIN (GENERIC_PLAN) on PostgreSQL 16 and
// later; before, PREPARE with the parameter types left to the server,
// plan_cache_mode forced to a generic plan for the transaction, and EXPLAIN
// EXECUTE with NULLs, which a generic plan never looks at. When the server
// cannot choose a parameter's type (generate_series($1, $2) is not unique,
// $1 IS NULL has no type) it tries again with types given (see
// typedGeneric) and says so in note.
func (e *Explainer) generic(ctx context.Context, sql string, params int) (raw, note string, err error) {
	src := Source{SQL: sql}
	if _, ok := e.Q.(pgConner); ok && e.VersionNum >= 160000 {
		prefix := Tag + "EXPLAIN (GENERIC_PLAN, " + explainOptions + ") "
		err = e.inTx(ctx, false, func() error {
			var err error
			raw, err = e.simpleQuery(ctx, prefix+sql+tagEnd)
			return e.explainError(ctx, err, src, len(prefix))
		})
	} else {
		raw, err = e.prepared(ctx, sql, params, nil)
	}
	if !untypedParameter(err) {
		return raw, "", err
	}
	return e.typedGeneric(ctx, sql, params, err)
}

// untypedParameter reports whether err is the server failing to choose a
// parameter's type: ambiguous_function (42725: "function
// generate_series(unknown, unknown) is not unique", also for operators) or
// indeterminate_datatype (42P18: "could not determine data type of
// parameter $1").
func untypedParameter(err error) bool {
	var se *SQLError
	return errors.As(err, &se) && (se.Code == "42725" || se.Code == "42P18")
}

// parameterTypes are the types typedGeneric gives untyped parameters, in
// the order tried: the integer overloads first (generate_series, ranges of
// ids), then numeric, a timestamp and text.
var parameterTypes = []string{"bigint", "numeric", "timestamptz", "text"}

// typedGeneric plans sql generically with PREPARE and given parameter
// types, after first failed because the server could not choose them:
// every parameter as one type (parameterTypes in turn), else one parameter
// at a time, keeping a type that moves the failure on (to another call or
// parameter) and leaving the others to the server ("unknown" in a
// PREPARE's type list means inferred from the context). A generic plan
// does not depend on the values; the types given are said in the note.
// When nothing fits, first comes back, to be fixed with casts.
func (e *Explainer) typedGeneric(ctx context.Context, sql string, params int, first error) (string, string, error) {
	var cur *SQLError
	if !errors.As(first, &cur) {
		return "", "", first
	}
	reason := cur.Message
	// try plans with types: the plan, or the statement's error (nil err
	// and nil se for success), or another error that ends the search.
	try := func(types []string) (string, *SQLError, error) {
		raw, err := e.prepared(ctx, sql, params, types)
		if err == nil {
			return raw, nil, nil
		}
		var se *SQLError
		if ctx.Err() != nil || !errors.As(err, &se) {
			return "", nil, err
		}
		return "", se, nil
	}
	for _, t := range parameterTypes {
		types := make([]string, params)
		for i := range types {
			types[i] = t
		}
		raw, se, err := try(types)
		if err != nil {
			return "", "", err
		}
		if se == nil {
			return raw, fmt.Sprintf("generic plan with every parameter taken as %s: the server could not choose their types (%s)", t, reason), nil
		}
	}
	types := make([]string, params)
	for i := range types {
		types[i] = "unknown"
	}
	var given []string
	for i := range params {
		for _, t := range parameterTypes {
			types[i] = t
			raw, se, err := try(types)
			if err != nil {
				return "", "", err
			}
			if se == nil {
				given = append(given, fmt.Sprintf("$%d as %s", i+1, t))
				return raw, fmt.Sprintf("generic plan with %s: the server could not choose their types (%s)", strings.Join(given, ", "), reason), nil
			}
			if untypedParameter(se) && (se.Message != cur.Message || se.Line != cur.Line || se.Column != cur.Column) {
				// Typing $i got past that failure to the next one.
				given, cur = append(given, fmt.Sprintf("$%d as %s", i+1, t)), se
				break
			}
			types[i] = "unknown"
		}
	}
	return "", "", first
}

// prepared makes a generic plan the way every version allows: PREPARE
// (with the parameter types given, or left to the server when types is
// nil), plan_cache_mode forced to a generic plan for the transaction, and
// EXPLAIN EXECUTE with NULLs, which a generic plan never looks at.
func (e *Explainer) prepared(ctx context.Context, sql string, params int, types []string) (string, error) {
	return e.preparedWith(ctx, sql, params, types, nil, false)
}

// preparedWith is prepared, executing the generic plan with values (text,
// read as each parameter's type) when given, and with EXPLAIN ANALYZE when
// analyze is set: what a prepared statement's generic plan does for them.
// Only a read-only statement is analyzed here, in a READ ONLY transaction
// that is rolled back.
func (e *Explainer) preparedWith(ctx context.Context, sql string, params int, types []string, values []string, analyze bool) (string, error) {
	var raw string
	src := Source{SQL: sql}
	e.seq++
	name := fmt.Sprintf("hishamos_perf_%d", e.seq)
	prepared := false
	err := e.inTx(ctx, false, func() error {
		if _, err := e.Q.Exec(ctx, Tagged("SET LOCAL plan_cache_mode = force_generic_plan")); err != nil {
			return fmt.Errorf("analyze: force a generic plan: %w", err)
		}
		if values == nil {
			// EXECUTE with NULLs would prune every partition a parameter
			// selects at executor start, leaving an Append of nothing to
			// judge. With no values the plan is the one EXPLAIN
			// (GENERIC_PLAN) shows on 16 and later: every partition a
			// parameter could select. (GENERIC_PLAN still prunes on the
			// statement's constants at planning; a statement from
			// pg_stat_statements has none left, they are its parameters.)
			if _, err := e.Q.Exec(ctx, Tagged("SET LOCAL enable_partition_pruning = off")); err != nil {
				return fmt.Errorf("analyze: plan every partition: %w", err)
			}
		}
		prefix := Tag + "PREPARE " + name
		if len(types) > 0 {
			prefix += " (" + strings.Join(types, ", ") + ")"
		}
		prefix += " AS "
		if _, err := e.Q.Exec(ctx, prefix+sql+tagEnd, pgx.QueryExecModeSimpleProtocol); err != nil {
			return e.explainError(ctx, err, src, len(prefix))
		}
		prepared = true
		n := params
		if err := e.Q.QueryRow(ctx, Tagged("SELECT cardinality(parameter_types) FROM pg_prepared_statements WHERE name = $1"), name).Scan(&n); err != nil {
			return fmt.Errorf("analyze: read prepared statement: %w", err)
		}
		args := make([]string, n)
		for i := range args {
			args[i] = "NULL"
			if i < len(values) {
				args[i] = "'" + strings.ReplaceAll(values[i], "'", "''") + "'"
			}
		}
		opts := explainOptions
		if analyze {
			opts = "ANALYZE, " + opts
		}
		q := Tag + "EXPLAIN (" + opts + ") EXECUTE " + name
		if n > 0 {
			q += "(" + strings.Join(args, ", ") + ")"
		}
		var err error
		raw, err = e.simpleQuery(ctx, q+tagEnd)
		return e.explainError(ctx, err, src, 0)
	})
	if prepared {
		// A prepared statement outlives the transaction's rollback.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, derr := e.Q.Exec(cctx, Tagged("DEALLOCATE "+name)); derr != nil && err == nil {
			err = fmt.Errorf("analyze: deallocate %s: %w", name, derr)
		}
	}
	return raw, err
}

// GenericWith plans a read-only statement generically, as a prepared
// statement's plan cache does after its fifth execution, and executes
// that plan with values when analyze is set (EXPLAIN ANALYZE EXECUTE in a
// READ ONLY transaction that is rolled back): how the generic plan fares
// on the values a custom plan was made for.
func (e *Explainer) GenericWith(ctx context.Context, sql string, values []string, analyze bool) (*Plan, error) {
	raw, err := e.preparedWith(ctx, trimSQL(sql), len(values), nil, values, analyze)
	if err != nil {
		return nil, err
	}
	p, err := ParsePlan([]byte(raw))
	if err != nil {
		return nil, fmt.Errorf("analyze: %w", err)
	}
	p.Generic = true
	return p, nil
}

// pgConner is a connection that exposes its wire-protocol connection, as
// *pgx.Conn does.
type pgConner interface{ PgConn() *pgconn.PgConn }

// simpleQuery runs one statement with the simple query protocol and returns
// the first column of its first row as the server wrote it. EXPLAIN of a
// statement holding $n needs it: pgx's own simple-protocol Query would take
// $n for its placeholders, and the extended protocol would want values.
func (e *Explainer) simpleQuery(ctx context.Context, sql string) (string, error) {
	pc, ok := e.Q.(pgConner)
	if !ok {
		var out string
		err := e.Q.QueryRow(ctx, sql, pgx.QueryExecModeSimpleProtocol).Scan(&out)
		return out, err
	}
	results, err := pc.PgConn().Exec(ctx, sql).ReadAll()
	if err != nil {
		return "", err
	}
	for _, r := range results {
		if r.Err != nil {
			return "", r.Err
		}
		if len(r.Rows) > 0 && len(r.Rows[0]) > 0 {
			return string(r.Rows[0][0]), nil
		}
	}
	return "", fmt.Errorf("analyze: %w: EXPLAIN returned no rows", ErrPlanFormat)
}

// inTx runs fn in a transaction that is always rolled back.
func (e *Explainer) inTx(ctx context.Context, readWrite bool, fn func() error) error {
	mode := "READ ONLY"
	if readWrite {
		mode = "READ WRITE"
	}
	if _, err := e.Q.Exec(ctx, Tagged("BEGIN "+mode)); err != nil {
		return e.beginError(ctx, err, mode)
	}
	err := e.quiet(ctx)
	if err == nil {
		err = fn()
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, rerr := e.Q.Exec(cctx, Tagged("ROLLBACK")); rerr != nil && err == nil {
		err = fmt.Errorf("analyze: roll back: %w", rerr)
	}
	return err
}

// sequences are the positions of the sequences the role may read, by
// name, or nil when they cannot be read: a rollback does not undo
// nextval, so explain says which of them a write it ran moved.
func (e *Explainer) sequences(ctx context.Context) map[string]int64 {
	rows, err := e.Q.Query(ctx, Tagged(`SELECT format('%I.%I', schemaname, sequencename), last_value FROM pg_sequences WHERE last_value IS NOT NULL`))
	if err != nil {
		return nil
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var v int64
		if rows.Scan(&name, &v) != nil {
			return nil
		}
		out[name] = v
	}
	if rows.Err() != nil {
		return nil
	}
	return out
}

// sequenceNote is the note of a write analyzed and rolled back: which
// sequences moved while it ran (this or another session drew from them),
// SequenceNote when they could not be read, else that nothing changed.
func sequenceNote(before, after map[string]int64) string {
	if before == nil || after == nil {
		return SequenceNote
	}
	var moved []string
	for name, v := range after {
		if was, ok := before[name]; !ok || v != was {
			moved = append(moved, name)
		}
	}
	if len(moved) == 0 {
		return rolledBackNote
	}
	sort.Strings(moved)
	return fmt.Sprintf("%s: %s", SequenceNote, strings.Join(moved, ", "))
}

// quiet turns pg_qualstats off for the transaction, where it is loaded.
// The tool's EXPLAINs are not the application's: sampled, their made-up
// values would count among the constants the application ran with, which
// indexes propose reads back. And pg_qualstats 2.0.4 crashes the backend,
// and with it every session of the server, when it samples an EXPLAIN
// EXECUTE whose partitions were all pruned at executor start
// (TestExplainWithQualStatsSampled).
func (e *Explainer) quiet(ctx context.Context) error {
	if e.qualstats == 0 {
		setting, err := pg.QualStats(ctx, e.Q)
		if err != nil {
			return fmt.Errorf("analyze: read pg_qualstats.enabled: %w", err)
		}
		e.qualstats = -1
		if setting != nil {
			e.qualstats = 1
		}
	}
	if e.qualstats < 0 {
		return nil
	}
	if _, err := e.Q.Exec(ctx, Tagged("SET LOCAL pg_qualstats.enabled = off")); err != nil {
		return fmt.Errorf("analyze: turn pg_qualstats off for the tool's own statements: %w", err)
	}
	return nil
}

// beginError says why BEGIN failed: the server's state, never the
// statement's text (a standby refuses READ WRITE with SQLSTATE 0A000, the
// class of unsupported SQL), so never a *SQLError.
func (e *Explainer) beginError(ctx context.Context, err error, mode string) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var standby bool
	if mode == "READ WRITE" && e.Q.QueryRow(ctx, Tagged("SELECT pg_is_in_recovery()")).Scan(&standby) == nil && standby {
		return fmt.Errorf("analyze: %w: EXPLAIN ANALYZE of a statement that is not a plain query runs in a READ WRITE transaction, which a standby refuses; explain it without ANALYZE, or on the primary (the server said: %s)", pg.ErrStandby, pgMessage(err))
	}
	return fmt.Errorf("analyze: begin a %s transaction: %w", strings.ToLower(mode), err)
}

// Option names an option that a message of the package refers to. Its
// value is the option in words; a command words the message with the flag
// that sets the option instead (TimeoutError.Message, Options.OptionName),
// so that no message here names a flag.
type Option string

// The options messages refer to.
const (
	// OptStatementTimeout is the session's statement_timeout
	// (Options.StatementTimeout, ExplainOptions.StatementTimeout).
	OptStatementTimeout Option = "the statement timeout"
	// OptInterval is Options.Interval.
	OptInterval Option = "an interval"
	// OptSortIO is a ranking by blocks read or spilled (Options.Sort
	// SortIO), which finds the statements that scan a table.
	OptSortIO Option = "a ranking by blocks read"
	// OptAnalyze is Options.Analyze (and ExplainOptions.Analyze): EXPLAIN
	// ANALYZE where values are known.
	OptAnalyze Option = "EXPLAIN ANALYZE"
	// OptMinStatsAge is Options.MinStatsAge, the age of the statistics
	// from which index usage is judged.
	OptMinStatsAge Option = "the statistics age index usage is judged from"
)

// optionWords names an option in words: the default wording.
func optionWords(o Option) string { return string(o) }

// TimeoutError is ErrStatementTimeout: EXPLAIN ran past the session's
// statement_timeout, Limit when known.
type TimeoutError struct {
	Limit time.Duration
}

func (e *TimeoutError) Error() string { return e.Message(optionWords) }

func (e *TimeoutError) Unwrap() error { return ErrStatementTimeout }

// Message says the statement was cancelled and what to do, naming the
// option that raises the limit with name.
func (e *TimeoutError) Message(name func(Option) string) string {
	limit := ""
	if e.Limit > 0 {
		limit = " (" + e.Limit.String() + ")"
	}
	return fmt.Sprintf("%v%s: the statement was cancelled; raise %s or explain it without ANALYZE", ErrStatementTimeout, limit, name(OptStatementTimeout))
}

// explainError classifies a failure: cancellation, statement_timeout, a
// statement the server rejects (*SQLError, with its position mapped back
// into the statement past the prefix the tool added), or anything else.
func (e *Explainer) explainError(ctx context.Context, err error, src Source, prefixLen int) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return fmt.Errorf("analyze: explain: %w", err)
	}
	if pgErr.Code == "57014" {
		return &TimeoutError{Limit: e.StatementTimeout}
	}
	if !badSQLCode(pgErr.Code) {
		return &serverRefusal{err: err}
	}
	se := &SQLError{Source: src, Code: pgErr.Code, Message: pgErr.Message, Detail: pgErr.Detail, Hint: pgErr.Hint}
	if pgErr.Position > 0 {
		// Position counts characters from 1 in the text sent; the prefix
		// is ASCII, so its length in bytes is its length in characters.
		pos := int(pgErr.Position) - 1 - prefixLen
		if pos >= 0 && pos <= utf8.RuneCountInString(src.SQL) {
			se.Line, se.Column = lineCol(src.SQL, pos)
			if src.Line > 0 {
				se.Line += src.Line - 1
			}
		}
	}
	return se
}

// serverRefusal is a statement the server would not explain for a reason
// other than its text: a missing privilege, a resource. It reads as the
// server's message in one line and keeps the server's error for callers
// that branch on its code.
type serverRefusal struct{ err error }

func (e *serverRefusal) Error() string { return "analyze: explain: " + pgMessage(e.err) }
func (e *serverRefusal) Unwrap() error { return e.err }

// denied reports whether err is the server refusing a privilege (42501):
// the role may not read a table the statement uses.
func denied(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42501"
}

// lineCol turns a character offset from 0 into a line and column from 1.
func lineCol(s string, pos int) (int, int) {
	line, col := 1, 1
	i := 0
	for _, r := range s {
		if i == pos {
			break
		}
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
		i++
	}
	return line, col
}

// tableFacts reads row estimates and column counts for the given
// relations (schema.name or bare names), keyed both ways.
func tableFacts(ctx context.Context, q Querier, relations []string) (map[string]TableFacts, error) {
	if len(relations) == 0 {
		return map[string]TableFacts{}, nil
	}
	names := make([]string, 0, len(relations))
	for _, r := range relations {
		if _, name, ok := strings.Cut(r, "."); ok {
			names = append(names, name)
		} else {
			names = append(names, r)
		}
	}
	// A table of a partition tree carries its root, the root's partitions
	// holding rows and the partition key columns of every level, for the
	// partition rules.
	rows, err := q.Query(ctx, Tagged(`SELECT n.nspname, c.relname, greatest(c.reltuples, 0)::float8,
	(SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)::int,
	coalesce((SELECT rn.nspname || '.' || r.relname FROM pg_class r JOIN pg_namespace rn ON rn.oid = r.relnamespace
		WHERE r.oid = pg_partition_root(c.oid)), ''),
	coalesce((SELECT count(*) FROM pg_partition_tree(pg_partition_root(c.oid)) t JOIN pg_class l ON l.oid = t.relid
		WHERE l.relkind IN ('r', 'f')), 0)::int,
	coalesce(array(SELECT a.attname::text FROM pg_partition_tree(pg_partition_root(c.oid)) t
		JOIN pg_partitioned_table pt ON pt.partrelid = t.relid CROSS JOIN LATERAL unnest(pt.partattrs::int2[]) WITH ORDINALITY k(attnum, i)
		JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = k.attnum
		ORDER BY t.level, t.relid, k.i), '{}')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname = ANY($1) AND c.relkind IN ('r', 'p', 'm', 'f')`), names)
	if err != nil {
		return nil, fmt.Errorf("analyze: read table facts: %w", err)
	}
	defer rows.Close()
	out := map[string]TableFacts{}
	bare := map[string]int{}
	for rows.Next() {
		var schema, name string
		var f TableFacts
		if err := rows.Scan(&schema, &name, &f.Rows, &f.Columns, &f.Root, &f.Partitions, &f.PartitionKey); err != nil {
			return nil, fmt.Errorf("analyze: read table facts: %w", err)
		}
		f.PartitionKey = slices.Compact(f.PartitionKey)
		out[schema+"."+name] = f
		bare[name]++
		if bare[name] == 1 {
			out[name] = f
		} else {
			delete(out, name) // the same name in two schemas: ambiguous
		}
	}
	return out, rows.Err()
}
