package indexes

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hishamos/hishamos-perf/analyze"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
	"github.com/hishamos/hishamos-perf/profiles"
)

// The workload sources.
const (
	SourceFile           = "file"
	SourceProfile        = "profile"
	SourceStatStatements = "pg_stat_statements"
)

// How a workload's statements are weighted.
const (
	// WeightGiven: the weight the source gives (1 per statement of a file,
	// the profile's weight).
	WeightGiven = "given"
	// WeightTotalTime: pg_stat_statements' total execution time. Propose
	// turns it into a weight per unit of estimated cost (total time over the
	// statement's cost before), so that Σ weight × cost before is the
	// measured time and Σ weight × cost after predicts it.
	WeightTotalTime = "total_time"
)

// perRowFollowups is how many times a profile's per-row follow-up statement
// runs for each run of the statement it follows: DRF's page size, the rows a
// list endpoint returns.
const perRowFollowups = 20

// Statement is one statement of a workload: statements that differ only in
// their constants share one, with their weights added up.
type Statement struct {
	// Fingerprint is pg_query's fingerprint of the statement: the same for
	// statements that differ only in constants.
	Fingerprint string `json:"fingerprint"`
	// Query is the statement's text (the first one seen of its
	// fingerprint).
	Query string `json:"query"`
	// Name is the profile's name for the statement, if any.
	Name string `json:"name,omitempty"`
	// Origin says where the statement came from: file:line, a profile, a
	// pg_stat_statements queryid.
	Origin string `json:"origin"`
	// Weight is how much the statement counts: its cost is multiplied by
	// it. Statements of a file weigh 1 each (more when repeated).
	Weight float64 `json:"weight"`
	// Calls and TotalTimeMs are pg_stat_statements' figures, and QueryID
	// its queryid (pg_qualstats keys its predicates by it).
	Calls       int64   `json:"calls,omitempty"`
	TotalTimeMs float64 `json:"total_time_ms,omitempty"`
	QueryID     int64   `json:"queryid,omitempty"`
	// Explained is set for a statement that came wrapped in an EXPLAIN:
	// Query is the statement it explained, which is what counts.
	Explained bool `json:"explained,omitempty"`
	// Args are values for the statement's $n parameters, $1 first; nil
	// means Propose draws them from pg_stats.
	Args []any `json:"-"`

	q *query
}

// Label names the statement in one short line: its profile name, else
// the start of its text for a pg_stat_statements entry, else its origin
// (file:line).
func (s *Statement) Label() string {
	switch {
	case s.Name != "":
		return s.Name
	case s.Calls > 0:
		return snippet(s.Query, labelLength)
	}
	return s.Origin
}

// labelLength is how much of a statement's text Label shows.
const labelLength = 60

// snippet is the start of a statement's text on one line.
func snippet(q string, n int) string {
	q = strings.Join(strings.Fields(q), " ")
	if len(q) <= n {
		return q
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(q[cut]) {
		cut--
	}
	return q[:cut] + "…"
}

// Skipped is a statement left out of the workload, with why.
type Skipped struct {
	Origin      string `json:"origin"`
	Fingerprint string `json:"fingerprint,omitempty"`
	Query       string `json:"query,omitempty"`
	// Text is the statement's text on one line, cut to labelLength: how
	// a list of skipped statements names it (a queryid alone says
	// nothing).
	Text   string `json:"text"`
	Reason string `json:"reason"`
	// ParseError is set for a statement that does not parse.
	ParseError *ParseError `json:"parse_error,omitempty"`
}

// Workload is the statements to find indexes for.
type Workload struct {
	// Source is SourceFile, SourceProfile or SourceStatStatements.
	Source string `json:"source"`
	// Name is the file, the profile or the database.
	Name string `json:"name"`
	// WeightedBy is WeightGiven or WeightTotalTime.
	WeightedBy string      `json:"weighted_by"`
	Statements []Statement `json:"statements"`
	Skipped    []Skipped   `json:"skipped,omitempty"`

	profile *profiles.Profile
	byPrint map[string]int
}

func newWorkload(source, name string) *Workload {
	return &Workload{Source: source, Name: name, WeightedBy: WeightGiven, byPrint: map[string]int{}}
}

// Profile is the profile the workload was read from, or nil.
func (w *Workload) Profile() *profiles.Profile { return w.profile }

// ParseErrors returns the statements that did not parse.
func (w *Workload) ParseErrors() []*ParseError {
	var out []*ParseError
	for _, s := range w.Skipped {
		if s.ParseError != nil {
			out = append(out, s.ParseError)
		}
	}
	return out
}

// skipped is the statement left out, with why.
func (s *Statement) skipped(why string) Skipped {
	return Skipped{Origin: s.Origin, Fingerprint: s.Fingerprint, Query: s.Query, Text: snippet(s.Query, labelLength), Reason: why}
}

// skip records a statement left out, with why.
func (w *Workload) skip(sk Skipped) {
	sk.Text = snippet(sk.Query, labelLength)
	w.Skipped = append(w.Skipped, sk)
}

// add parses one statement and adds it, or records why not.
func (w *Workload) add(s Statement, file string, number, line int) {
	s.Query = strings.TrimSpace(s.Query)
	q, err := parseQuery(s.Query)
	if err != nil {
		pe := &ParseError{File: file, Number: number, Line: line, Message: err.Error()}
		var (
			se *sqlscan.SyntaxError
			le *sqlscan.Error
		)
		switch {
		case errors.As(err, &se):
			pe.Message, pe.Position = se.Msg, se.Offset+1
		case errors.As(err, &le):
			pe.Message, pe.Position = le.Msg, le.Offset+1
		}
		w.skip(Skipped{Origin: s.Origin, Query: s.Query, Reason: "does not parse: " + pe.Message, ParseError: pe})
		return
	}
	if q.explained {
		s.Query, s.Explained = q.text, true
	}
	fp, err := sqlscan.Fingerprint(s.Query)
	if err != nil {
		w.skip(Skipped{Origin: s.Origin, Query: s.Query, Reason: "no fingerprint: " + err.Error()})
		return
	}
	s.Fingerprint = fp
	switch q.command {
	case "SELECT", "UPDATE", "DELETE":
	default:
		w.skip(Skipped{Origin: s.Origin, Fingerprint: fp, Query: s.Query,
			Reason: q.command + ": only SELECT, UPDATE and DELETE with a WHERE clause are indexed for"})
		return
	}
	if why := q.skipReason(); why != "" {
		w.skip(Skipped{Origin: s.Origin, Fingerprint: fp, Query: s.Query, Reason: why})
		return
	}
	s.q = q
	// pg_query's fingerprint drops trailing digits from table names (so
	// that partitions events_2024_01 and events_2024_02 group); the
	// advisor keeps statements on different tables apart.
	key := fp + "\x00" + q.relationNames()
	if i, ok := w.byPrint[key]; ok {
		m := &w.Statements[i]
		m.Weight += s.Weight
		m.Calls += s.Calls
		m.TotalTimeMs += s.TotalTimeMs
		if m.Explained && !s.Explained {
			// The application's own text and queryid stand for both.
			m.Query, m.Origin, m.QueryID, m.Explained, m.q = s.Query, s.Origin, s.QueryID, false, q
			if m.Name == "" {
				m.Name = s.Name
			}
		}
		return
	}
	w.byPrint[key] = len(w.Statements)
	w.Statements = append(w.Statements, s)
}

// ParseSQL reads a workload from SQL text: statements separated by
// semicolons, with literals or $n parameters. A `-- weight: n` comment line
// above a statement weighs it (how many times the application sends it,
// against the others: per 1,000 requests, say), 1 without one; weight 0
// leaves it out; a `-- name: x` line names it. file names the text in
// origins and errors. A statement that does not parse is skipped with a
// *ParseError (file, statement number, line, the parser's message) and the
// others go on; only text that cannot be split (an unterminated quote or
// comment) or a weight that is not a number is an error.
func ParseSQL(file, text string) (*Workload, error) {
	srcs, err := analyze.SplitSQL(file, text)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadWorkload, err)
	}
	w := newWorkload(SourceFile, file)
	for _, src := range srcs {
		origin := "statement " + strconv.Itoa(src.Index)
		if file != "" {
			origin = file + ":" + strconv.Itoa(src.Line)
		}
		s := Statement{Query: src.SQL, Name: src.Name, Origin: origin, Weight: 1}
		if src.Weight != nil {
			s.Weight = *src.Weight
		}
		if s.Weight == 0 {
			w.skip(Skipped{Origin: origin, Query: strings.TrimSpace(src.SQL), Reason: "its -- weight: is 0: the application does not send it"})
			continue
		}
		w.add(s, file, src.Index, src.Line)
	}
	return w, nil
}

// FromProfile makes a workload of a profile's statements as the application
// runs them now: the mix of statements with a positive weight, the "after"
// half of each before/after pair, and their follow-ups (once, or
// perRowFollowups times for a per-row follow-up). Parameters come from the
// profile's generators (Propose binds them).
func FromProfile(p *profiles.Profile) *Workload {
	w := newWorkload(SourceProfile, p.Name)
	w.profile = p
	weights := map[string]float64{}
	var order []string
	addWeight := func(name string, v float64) {
		if _, ok := weights[name]; !ok {
			order = append(order, name)
		}
		weights[name] += v
	}
	for _, s := range p.Mix(profiles.After) {
		addWeight(s.Name, s.Weight)
		for _, f := range s.Then {
			n := 1.0
			if f.PerRow {
				n = perRowFollowups
			}
			addWeight(f.Statement, s.Weight*n)
		}
	}
	for i, name := range order {
		s := p.Statement(name)
		if s == nil {
			continue
		}
		w.add(Statement{Query: s.SQL, Name: s.Name, Origin: "profile " + p.Name + ": " + s.Name, Weight: weights[name]}, p.File, i+1, 0)
	}
	return w
}

// FromStatStatements reads the top statements by total execution time
// from pg_stat_statements (all when top <= 0), weighted by total time.
func FromStatStatements(ctx context.Context, q analyze.Querier, top int) (*Workload, error) {
	srv, err := analyze.Inspect(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("indexes: workload: %w", err)
	}
	snap, err := analyze.ReadStatements(ctx, q, srv)
	if err != nil {
		return nil, fmt.Errorf("indexes: workload: %w", err)
	}
	stmts, _ := analyze.Rank(snap.Statements, analyze.SortTotal, top)
	w := newWorkload(SourceStatStatements, srv.Database)
	w.WeightedBy = WeightTotalTime
	for i, s := range stmts {
		w.add(Statement{Query: s.Query, Origin: "pg_stat_statements queryid " + strconv.FormatInt(s.QueryID, 10),
			Weight: float64(s.Calls), Calls: s.Calls, TotalTimeMs: s.TotalTime, QueryID: s.QueryID}, "", i+1, 0)
	}
	return w, nil
}
