package analyze

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Statistics is how old the server's counters are, and so what a report
// rests on: a ranking over a minute of traffic, or an index with no scans
// one second after pg_stat_reset(), says little.
type Statistics struct {
	// Since is the start of the period every counter the report reads has
	// been counting: the youngest of DatabaseReset (ServerStarted when the
	// database's statistics were never reset) and StatementsReset.
	Since time.Time `json:"since"`
	// SinceWhat names the event at Since: "database statistics reset",
	// "pg_stat_statements reset" or "server start".
	SinceWhat string `json:"since_what"`
	// Until is the server's clock when they were read, and AgeSeconds the
	// time from Since to Until.
	Until      time.Time `json:"until"`
	AgeSeconds float64   `json:"age_seconds"`
	// DatabaseReset is pg_stat_database.stats_reset of the database (the
	// table and index counters: scans, rows read); nil when they were
	// never reset.
	DatabaseReset *time.Time `json:"database_reset,omitempty"`
	// StatementsReset is pg_stat_statements_info.stats_reset
	// (pg_stat_statements 1.9, PostgreSQL 14, and later).
	StatementsReset *time.Time `json:"statements_reset,omitempty"`
	// ServerStarted is pg_postmaster_start_time().
	ServerStarted time.Time `json:"server_started"`
	// Calls is how many calls pg_stat_statements counts over every
	// statement of the ranking's window (Totals.Calls).
	Calls int64 `json:"calls"`
	// MinAgeSeconds is the age index usage is judged from
	// (Options.MinStatsAge); IndexUsageJudged is set when the statistics
	// reach it, and JudgedFrom says when they will otherwise.
	MinAgeSeconds    float64    `json:"min_age_seconds"`
	IndexUsageJudged bool       `json:"index_usage_judged"`
	JudgedFrom       *time.Time `json:"judged_from,omitempty"`
}

// Age is the time the statistics cover.
func (s *Statistics) Age() time.Duration {
	return time.Duration(s.AgeSeconds * float64(time.Second))
}

// What the statistics' start can be.
const (
	sinceDatabaseReset   = "database statistics reset"
	sinceStatementsReset = "pg_stat_statements reset"
	sinceServerStart     = "server start"
)

// readStatistics reads when the database's statistics and
// pg_stat_statements were last reset and when the server started.
// statementsReset is pg_stat_statements_info.stats_reset, nil where the
// extension does not keep it. minAge is Options.MinStatsAge resolved: a
// negative value judges index usage at any age.
func readStatistics(ctx context.Context, q Querier, statementsReset *time.Time, minAge time.Duration) (*Statistics, error) {
	s := &Statistics{StatementsReset: statementsReset}
	err := q.QueryRow(ctx, Tagged(`SELECT (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()),
	now(), pg_postmaster_start_time()`)).Scan(&s.DatabaseReset, &s.Until, &s.ServerStarted)
	if err != nil {
		return nil, fmt.Errorf("analyze: read statistics age: %w", err)
	}
	// The cumulative statistics survive a clean restart (PostgreSQL 15),
	// so when they were never reset the server's start is only a lower
	// bound of their age: judging from it errs on the side of waiting.
	s.Since, s.SinceWhat = s.ServerStarted, sinceServerStart
	if s.DatabaseReset != nil {
		s.Since, s.SinceWhat = *s.DatabaseReset, sinceDatabaseReset
	}
	if r := statementsReset; r != nil && r.After(s.Since) {
		s.Since, s.SinceWhat = *r, sinceStatementsReset
	}
	s.AgeSeconds = max(s.Until.Sub(s.Since).Seconds(), 0)
	s.MinAgeSeconds = max(minAge.Seconds(), 0)
	s.IndexUsageJudged = s.Age() >= max(minAge, 0)
	if !s.IndexUsageJudged {
		from := s.Since.Add(minAge)
		s.JudgedFrom = &from
	}
	return s, nil
}

// ReadStatistics reads how old the statistics of q's database are and
// whether they are old enough (minAge, resolved as in readStatistics) to
// judge an index by its scans: the one rule analyze's unused-index
// follows, for the other commands that judge index usage (indexes
// propose's unused drops), so that they never disagree on the same
// database. pg_stat_statements' reset counts where the extension can be
// read; without it the database's reset and the server's start decide.
func ReadStatistics(ctx context.Context, q Querier, minAge time.Duration) (*Statistics, error) {
	reset, err := statementsReset(ctx, q)
	if err != nil {
		return nil, err
	}
	return readStatistics(ctx, q, reset, minAge)
}

// statementsReset is pg_stat_statements_info.stats_reset where reading it
// cannot fail: the extension created with its info view (1.9 and later),
// which the role may read, and its library listed in
// shared_preload_libraries. Elsewhere it is nil,
// and no statement that could fail (and so end the caller's transaction)
// is sent.
func statementsReset(ctx context.Context, q Querier) (*time.Time, error) {
	var schema string
	err := q.QueryRow(ctx, Tagged(`SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
	WHERE e.extname = 'pg_stat_statements' AND has_schema_privilege(n.oid, 'USAGE')
	AND EXISTS (SELECT FROM pg_class c WHERE c.relnamespace = n.oid AND c.relname = 'pg_stat_statements_info'
		AND has_table_privilege(c.oid, 'SELECT'))`)).Scan(&schema)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("analyze: look up pg_stat_statements: %w", err)
	}
	if _, listed, visible := preloadLine(ctx, q); !visible || !listed {
		return nil, nil
	}
	var reset *time.Time
	if err := q.QueryRow(ctx, Tagged("SELECT stats_reset FROM "+quoteIdent(schema)+".pg_stat_statements_info")).Scan(&reset); err != nil {
		return nil, fmt.Errorf("analyze: read pg_stat_statements_info: %w", err)
	}
	return reset, nil
}

// unjudgedNote says, in one line, that index usage was not judged, how old
// the statistics are and when the check becomes meaningful.
func (s *Statistics) unjudgedNote(name func(Option) string) string {
	return s.NotJudged("index usage not judged", "unused-index", "analyze", name(OptMinStatsAge))
}

// NotJudged says, in one line, that what was left undone because the
// statistics are younger than MinAgeSeconds: how old they are, how much of
// them check needs, and when running command again will judge (or that
// lowering option, named by the caller, judges sooner). Every command that
// judges index usage words it the same way.
func (s *Statistics) NotJudged(what, check, command, option string) string {
	from := s.Since.Add(time.Duration(s.MinAgeSeconds * float64(time.Second)))
	if s.JudgedFrom != nil {
		from = *s.JudgedFrom
	}
	return fmt.Sprintf("%s: the statistics are %s old (since the %s at %s) and %s needs %s of them; %s again after %s, or lower %s",
		what, ageText(s.Age()), s.SinceWhat, s.Since.UTC().Format(timeLayout), check, ageText(time.Duration(s.MinAgeSeconds*float64(time.Second))),
		command, from.UTC().Format(timeLayout), option)
}

// timeLayout is how notes write a moment: to the minute, in UTC.
const timeLayout = "2006-01-02 15:04 UTC"

// ageText writes a duration the way people say an age: 3 seconds,
// 12 minutes, 5 hours, 9 days.
func ageText(d time.Duration) string {
	plural := func(n float64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%.0f %ss", n, unit)
	}
	switch {
	case d >= 48*time.Hour:
		return plural(float64(int(d.Hours()/24)), "day")
	case d >= 2*time.Hour:
		return plural(float64(int(d.Hours())), "hour")
	case d >= 2*time.Minute:
		return plural(float64(int(d.Minutes())), "minute")
	}
	return plural(float64(int(d.Seconds())), "second")
}
