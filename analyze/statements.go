package analyze

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// Querier is the part of a pgx connection analyze uses. Pass a connection,
// not a transaction: EXPLAIN runs each statement in a transaction of its
// own that it rolls back.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Tag starts every statement the tool sends (see Tagged), so that its own
// statements are left out of pg_stat_statements rankings (this run's and
// the next's). It is internal/pg's, where every package that talks to a
// server finds it.
const Tag = pg.Tag

// tagEnd ends every statement the tool sends (pg.TagEnd).
const tagEnd = pg.TagEnd

// ownStatement is the pg_stat_statements filter that leaves the tool's
// statements out: tagged at the start (up to 17) or at the end (18).
const ownStatement = `s.query LIKE '/* hishamos-perf */%' OR s.query LIKE '%/* hishamos-perf */'`

// Tagged marks sql as the tool's own (pg.Tagged).
func Tagged(sql string) string { return pg.Tagged(sql) }

// Errors callers branch on.
var (
	// ErrNoPgStatStatements: the extension is not created in the database.
	ErrNoPgStatStatements = errors.New("pg_stat_statements is not installed")
	// ErrNotPreloaded: the library is not in shared_preload_libraries.
	ErrNotPreloaded = errors.New("pg_stat_statements is not loaded by the server")
	// ErrStatsPrivilege: the role cannot see other roles' statements.
	ErrStatsPrivilege = errors.New("cannot read other roles' statements")
	// ErrOldExtension: the extension is older than 1.8 (PostgreSQL 13).
	ErrOldExtension = errors.New("pg_stat_statements extension too old")
)

// insufficientPrivilege is the query text pg_stat_statements shows for
// other roles' statements to a role without pg_read_all_stats.
const insufficientPrivilege = "<insufficient privilege>"

// Server describes the server and its pg_stat_statements.
type Server struct {
	Version    string `json:"version"`
	VersionNum int    `json:"version_num"`
	Database   string `json:"database"`
	User       string `json:"user"`
	// Extension is the installed pg_stat_statements version ("1.10"),
	// which decides the column names.
	Extension string `json:"pg_stat_statements_version,omitempty"`
	// StatsReset is when pg_stat_statements' counters were last reset (or
	// the server started): the start of the cumulative window.
	StatsReset *time.Time `json:"stats_reset,omitempty"`
	// Dealloc counts statements evicted for lack of room
	// (pg_stat_statements.max): rankings miss them.
	Dealloc int64 `json:"dealloc"`
	// Track is pg_stat_statements.track (top, all or none).
	Track string `json:"track,omitempty"`
	// ComputeQueryID is compute_query_id; EXPLAIN VERBOSE shows a query
	// identifier only when it is on (or auto with the library loaded).
	ComputeQueryID string `json:"compute_query_id,omitempty"`

	schema string
	cols   columnMap
	now    time.Time
}

// Now is the server's clock when Inspect ran.
func (s *Server) Now() time.Time { return s.now }

// columnMap names the pg_stat_statements columns of one extension version.
type columnMap struct {
	totalTime, meanTime, stddevTime string
	readTime, writeTime             string
	jitTime                         string
	toplevel, info, statsSince      bool
	// pg18 is 1.12 (PostgreSQL 18): parallel worker counts and
	// wal_buffers_full.
	pg18 bool
}

// extVersion splits "1.10" into 1 and 10.
func extVersion(v string) (int, int, bool) {
	maj, min, ok := strings.Cut(v, ".")
	a, err1 := strconv.Atoi(maj)
	b, err2 := strconv.Atoi(min)
	return a, b, ok && err1 == nil && err2 == nil
}

// columnsFor maps an extension version to its column names: 1.8
// (PostgreSQL 13) split total_time into plan and exec times, 1.9 (14) added
// toplevel and pg_stat_statements_info, 1.10 (15) the JIT columns, 1.11
// (17) renamed blk_read_time and blk_write_time to shared_blk_read_time and
// shared_blk_write_time (they always timed shared blocks only) and added
// jit_deform_time, local block timings and stats_since (minmax_stats_since
// too, for the min and max times analyze does not read), 1.12 (18)
// parallel_workers_to_launch, parallel_workers_launched and
// wal_buffers_full.
func columnsFor(version string) (columnMap, error) {
	maj, min, ok := extVersion(version)
	if !ok || maj != 1 || min < 8 {
		return columnMap{}, fmt.Errorf("%w: version %s (1.8 or later is needed): run ALTER EXTENSION pg_stat_statements UPDATE;", ErrOldExtension, version)
	}
	c := columnMap{
		totalTime: "total_exec_time", meanTime: "mean_exec_time", stddevTime: "stddev_exec_time",
		readTime: "blk_read_time", writeTime: "blk_write_time", jitTime: "0",
	}
	if min >= 9 {
		c.toplevel, c.info = true, true
	}
	if min >= 10 {
		c.jitTime = "jit_generation_time + jit_inlining_time + jit_optimization_time + jit_emission_time"
	}
	if min >= 11 {
		c.readTime, c.writeTime = "shared_blk_read_time", "shared_blk_write_time"
		c.jitTime += " + jit_deform_time"
		c.statsSince = true
	}
	if min >= 12 {
		c.pg18 = true
	}
	return c, nil
}

// Inspect reads the server's version and checks that pg_stat_statements is
// created, loaded and readable. Its errors wrap ErrNoPgStatStatements,
// ErrNotPreloaded or ErrOldExtension with what to do.
func Inspect(ctx context.Context, q Querier) (*Server, error) {
	s := &Server{}
	err := q.QueryRow(ctx, Tagged(`SELECT current_setting('server_version'), current_setting('server_version_num')::int,
	current_database(), current_user, now(),
	coalesce((SELECT setting FROM pg_settings WHERE name = 'pg_stat_statements.track'), ''),
	coalesce((SELECT setting FROM pg_settings WHERE name = 'compute_query_id'), '')`)).
		Scan(&s.Version, &s.VersionNum, &s.Database, &s.User, &s.now, &s.Track, &s.ComputeQueryID)
	if err != nil {
		return nil, fmt.Errorf("analyze: read server version: %w", err)
	}
	err = q.QueryRow(ctx, Tagged(`SELECT e.extversion, n.nspname FROM pg_extension e
	JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'`)).Scan(&s.Extension, &s.schema)
	if errors.Is(err, pgx.ErrNoRows) {
		also := ""
		if line, listed, visible := preloadLine(ctx, q); visible && !listed {
			also = " (the server does not load it either: add " + line + " to postgresql.conf and restart)"
		}
		return s, fmt.Errorf("%w in database %s: run CREATE EXTENSION pg_stat_statements; in it%s", ErrNoPgStatStatements, quoteIdent(s.Database), also)
	}
	if err != nil {
		return nil, fmt.Errorf("analyze: look up pg_stat_statements: %w", err)
	}
	if s.cols, err = columnsFor(s.Extension); err != nil {
		return s, err
	}
	// Reading pg_stat_statements_info (or the function, before 1.9) fails
	// when the library is not preloaded.
	probe := Tagged("SELECT 0::bigint, NULL::timestamptz FROM " + quoteIdent(s.schema) + ".pg_stat_statements(false) LIMIT 1")
	if s.cols.info {
		probe = Tagged("SELECT dealloc, stats_reset FROM " + quoteIdent(s.schema) + ".pg_stat_statements_info")
	}
	var reset *time.Time
	err = q.QueryRow(ctx, probe).Scan(&s.Dealloc, &reset)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return s, preloadError(ctx, q, err)
	}
	s.StatsReset = reset
	return s, nil
}

// preloadError turns the server's "must be loaded via
// shared_preload_libraries" into the line to add to postgresql.conf.
func preloadError(ctx context.Context, q Querier, err error) error {
	if !IsNotPreloaded(err) {
		return fmt.Errorf("analyze: read pg_stat_statements: %w", err)
	}
	line, _, visible := preloadLine(ctx, q)
	keep := ""
	if !visible {
		keep = ", keeping any libraries already listed,"
	}
	return fmt.Errorf("%w: add %s to postgresql.conf%s and restart the server (the server said: %s)", ErrNotPreloaded, line, keep, pgMessage(err))
}

// IsNotPreloaded reports whether err is the server's refusal to read
// pg_stat_statements because the library is not in
// shared_preload_libraries (SQLSTATE 55000).
func IsNotPreloaded(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "55000" && strings.Contains(pgErr.Message, "shared_preload_libraries")
}

// preloadLine is the shared_preload_libraries line to write: the current
// list with pg_stat_statements added when the role may read the setting
// (visible), else pg_stat_statements alone. listed reports that the setting already names
// pg_stat_statements.
func preloadLine(ctx context.Context, q Querier) (line string, listed, visible bool) {
	var current *string
	_ = q.QueryRow(ctx, Tagged("SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries'")).Scan(&current)
	if current == nil {
		return "shared_preload_libraries = 'pg_stat_statements'", false, false
	}
	libs := []string{}
	for _, l := range strings.Split(*current, ",") {
		l = strings.Trim(strings.TrimSpace(l), `"`)
		if l == "pg_stat_statements" {
			listed = true
		}
		if l != "" && l != "pg_stat_statements" {
			libs = append(libs, l)
		}
	}
	libs = append(libs, "pg_stat_statements")
	return "shared_preload_libraries = '" + strings.Join(libs, ",") + "'", listed, true
}

// Statement is one pg_stat_statements entry (or the difference between two
// snapshots of it), with figures per call and its share of the whole.
type Statement struct {
	// Rank is the statement's place in the ranking, from 1.
	Rank int `json:"rank"`
	// QueryID is pg_stat_statements' queryid; Fingerprint is the same
	// number as 16 hex digits, the form findings carry.
	QueryID     int64  `json:"queryid"`
	Fingerprint string `json:"fingerprint"`
	Query       string `json:"query"`
	Role        string `json:"role,omitempty"`
	// Source is pg_stat_statements, or the file a statement came from.
	Source string `json:"source"`

	Calls       int64   `json:"calls"`
	TotalTime   float64 `json:"total_time_ms"`
	MeanTime    float64 `json:"mean_time_ms"`
	StddevTime  float64 `json:"stddev_time_ms"`
	Rows        int64   `json:"rows"`
	RowsPerCall float64 `json:"rows_per_call"`

	SharedBlksHit     int64   `json:"shared_blks_hit"`
	SharedBlksRead    int64   `json:"shared_blks_read"`
	SharedHitPerCall  float64 `json:"shared_blks_hit_per_call"`
	SharedReadPerCall float64 `json:"shared_blks_read_per_call"`
	// CacheHitPct is hits over hits and reads of shared blocks; nil when
	// the statement touched no shared blocks.
	CacheHitPct     *float64 `json:"cache_hit_pct"`
	LocalBlksRead   int64    `json:"local_blks_read"`
	TempBlksRead    int64    `json:"temp_blks_read"`
	TempBlksWritten int64    `json:"temp_blks_written"`
	// IOReadTime and IOWriteTime need track_io_timing.
	IOReadTime  float64 `json:"io_read_time_ms"`
	IOWriteTime float64 `json:"io_write_time_ms"`
	JITTime     float64 `json:"jit_time_ms,omitempty"`
	// ParallelWorkersToLaunch and ParallelWorkersLaunched are the workers
	// the statement's plans asked for and got (fewer when
	// max_parallel_workers ran out); WALBuffersFull counts the times its
	// WAL filled wal_buffers. pg_stat_statements 1.12 (PostgreSQL 18) has
	// them; nil before.
	ParallelWorkersToLaunch *int64 `json:"parallel_workers_to_launch,omitempty"`
	ParallelWorkersLaunched *int64 `json:"parallel_workers_launched,omitempty"`
	WALBuffersFull          *int64 `json:"wal_buffers_full,omitempty"`

	// SharePct is the statement's share of the sorted measure over all
	// statements (see Report.ShareOf).
	SharePct float64 `json:"share_pct"`

	// Parts are the pg_stat_statements entries the statement sums when
	// there are several: the same normalized text sent by other roles,
	// by a client that binds parameters and one that writes literals, or
	// with other parameter types, has a queryid of its own, and a user
	// thinks of one statement. QueryID, Fingerprint and Role are then
	// those of the part with the most time (Role lists every role).
	Parts []StatementPart `json:"parts,omitempty"`

	// Plan is the statement's plan, for the statements explained.
	Plan *Explained `json:"plan,omitempty"`
	// CustomPlan is, for a statement whose Plan is generic, a custom plan
	// for values drawn from the statistics when it reaches its rows
	// another way than the generic one (its scans, indexes or joins,
	// custom.go): the plan the application's calls with literals run. Its
	// Note says the values.
	CustomPlan *Explained `json:"custom_plan,omitempty"`
	// PlanError says why the statement has no plan (it did not plan, it
	// hit statement_timeout, it is a utility statement).
	PlanError string `json:"plan_error,omitempty"`

	// Nodes are the statement's figures on each node of a fleet that ran
	// it (Options.Replicas); the figures above are their sum. Explained
	// is the node its plan comes from: where it took most time.
	Nodes     []NodeFigures `json:"nodes,omitempty"`
	Explained string        `json:"explained_on,omitempty"`

	// node is, in a fleet, the node the row was read on, and once the
	// nodes' rows are added up, the one where it took most time.
	node     string
	userID   uint32
	toplevel bool
	since    *time.Time
	sumSq    float64
	// parsed and parseErr are Query classified, once (see classified).
	parsed   *sqlscan.Parsed
	parseErr error
	parseRan bool
}

// StatementPart is one pg_stat_statements entry of a statement that sums
// several (Statement.Parts).
type StatementPart struct {
	QueryID     int64  `json:"queryid"`
	Fingerprint string `json:"fingerprint"`
	Role        string `json:"role"`
	// Node is, in a fleet, the node that counted this part.
	Node      string  `json:"node,omitempty"`
	Calls     int64   `json:"calls"`
	TotalTime float64 `json:"total_time_ms"`
	MeanTime  float64 `json:"mean_time_ms"`
	Rows      int64   `json:"rows"`
}

// HasQueryID reports whether id is the statement's queryid or one of its
// parts'.
func (s *Statement) HasQueryID(id int64) bool {
	if s.QueryID == id {
		return true
	}
	for _, p := range s.Parts {
		if p.QueryID == id {
			return true
		}
	}
	return false
}

// normalizedText is the key statements are grouped by: their text with
// its white space folded, as pg_stat_statements normalized it.
func normalizedText(q string) string { return strings.Join(strings.Fields(q), " ") }

// Group sums the statements that share a normalized text into one, with
// their entries as Parts, most time first; windows (each entry's counting
// time, by key) gets the widest of a group's under the group's key. The
// order of first appearance is kept.
func Group(stmts []Statement, windows map[stmtKey]time.Duration) []Statement {
	byText := make(map[string]int, len(stmts))
	groups := make([][]int, 0, len(stmts))
	for i := range stmts {
		k := normalizedText(stmts[i].Query)
		g, ok := byText[k]
		if !ok {
			g = len(groups)
			byText[k] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	if len(groups) == len(stmts) {
		return stmts
	}
	out := make([]Statement, 0, len(groups))
	for _, g := range groups {
		if len(g) == 1 {
			out = append(out, stmts[g[0]])
			continue
		}
		parts := make([]*Statement, len(g))
		for i, j := range g {
			parts[i] = &stmts[j]
		}
		sort.SliceStable(parts, func(i, j int) bool { return parts[i].TotalTime > parts[j].TotalTime })
		out = append(out, merge(parts, windows))
	}
	return out
}

// merge is one statement summing parts (the first has the most time).
func merge(parts []*Statement, windows map[stmtKey]time.Duration) Statement {
	m := *parts[0]
	m.Parts = nil
	var roles []string
	var window time.Duration
	for i, p := range parts {
		m.Parts = append(m.Parts, StatementPart{QueryID: p.QueryID, Fingerprint: p.Fingerprint, Role: p.Role, Node: p.node,
			Calls: p.Calls, TotalTime: p.TotalTime, MeanTime: p.MeanTime, Rows: p.Rows})
		if !slices.Contains(roles, p.Role) {
			roles = append(roles, p.Role)
		}
		if windows != nil {
			window = max(window, windows[p.key()])
		}
		if p.since != nil && (m.since == nil || p.since.Before(*m.since)) {
			m.since = p.since
		}
		if i == 0 {
			continue
		}
		m.Calls += p.Calls
		m.TotalTime += p.TotalTime
		m.Rows += p.Rows
		m.SharedBlksHit += p.SharedBlksHit
		m.SharedBlksRead += p.SharedBlksRead
		m.LocalBlksRead += p.LocalBlksRead
		m.TempBlksRead += p.TempBlksRead
		m.TempBlksWritten += p.TempBlksWritten
		m.IOReadTime += p.IOReadTime
		m.IOWriteTime += p.IOWriteTime
		m.JITTime += p.JITTime
		m.ParallelWorkersToLaunch = plus(m.ParallelWorkersToLaunch, p.ParallelWorkersToLaunch)
		m.ParallelWorkersLaunched = plus(m.ParallelWorkersLaunched, p.ParallelWorkersLaunched)
		m.WALBuffersFull = plus(m.WALBuffersFull, p.WALBuffersFull)
		m.sumSq += p.sumSq
	}
	sort.Strings(roles)
	m.Role = strings.Join(roles, ", ")
	if m.Calls > 0 {
		m.MeanTime = m.TotalTime / float64(m.Calls)
		m.StddevTime = math.Sqrt(math.Max(m.sumSq/float64(m.Calls)-m.MeanTime*m.MeanTime, 0))
	}
	if windows != nil {
		windows[m.key()] = window
	}
	return m
}

// plus is the sum of two counters the extension may not have.
func plus(a, b *int64) *int64 {
	if a == nil || b == nil {
		return a
	}
	s := *a + *b
	return &s
}

// classified is what internal/sqlscan says of the statement's text, asked
// once: the ranking's loops and the rules all need it, and a statement of
// megabytes takes seconds to parse.
func (s *Statement) classified() (*sqlscan.Parsed, error) {
	if !s.parseRan {
		s.parseRan = true
		s.parsed, s.parseErr = classify(Source{SQL: trimSQL(s.Query)})
	}
	return s.parsed, s.parseErr
}

// planText is the statement's text as the server plans it: its typed
// literals (timestamptz $1, which pg_stat_statements writes and the server
// refuses) as casts (sqlscan's PlanText).
func (s *Statement) planText() string {
	if st, err := s.classified(); err == nil && st.PlanText != "" {
		return st.PlanText
	}
	return trimSQL(s.Query)
}

// explainable reports whether EXPLAIN is worth asking for the statement:
// it is a statement EXPLAIN takes, or one the parser refuses (the refusal
// is its plan error).
func (s *Statement) explainable() bool {
	st, err := s.classified()
	if err != nil {
		return !errors.Is(err, ErrNotExplainable)
	}
	return st.Explainable
}

// IOBlocks is the blocks the statement read from outside shared buffers or
// spilled: shared and local reads plus temporary reads and writes.
func (s *Statement) IOBlocks() int64 {
	return s.SharedBlksRead + s.LocalBlksRead + s.TempBlksRead + s.TempBlksWritten
}

// minus is a counter's growth between two snapshots, nil when the
// extension does not have it.
func minus(a, b *int64) *int64 {
	if a == nil || b == nil {
		return a
	}
	d := *a - *b
	return &d
}

// Fingerprint formats a queryid as 16 hex digits.
func Fingerprint(queryID int64) string { return fmt.Sprintf("%016x", uint64(queryID)) }

// Snapshot is one reading of pg_stat_statements for the current database.
type Snapshot struct {
	At         time.Time   `json:"at"`
	Statements []Statement `json:"-"`
	// Hidden counts statements whose text the role may not read.
	Hidden int `json:"hidden,omitempty"`
}

// ReadStatements reads pg_stat_statements for the current database,
// top-level statements only when the extension tells them apart (nested
// statements are already counted in the statement that ran them), leaving
// out the tool's own statements. Statements of other roles whose text the
// role may not read make it fail with ErrStatsPrivilege.
func ReadStatements(ctx context.Context, q Querier, srv *Server) (*Snapshot, error) {
	c := srv.cols
	toplevel, since := "true", "NULL::timestamptz"
	pg18 := "NULL::bigint, NULL::bigint, NULL::bigint"
	if c.pg18 {
		pg18 = "s.parallel_workers_to_launch, s.parallel_workers_launched, s.wal_buffers_full"
	}
	if c.toplevel {
		toplevel = "s.toplevel"
	}
	if c.statsSince {
		since = "s.stats_since"
	}
	sql := Tag + `SELECT s.userid, coalesce(r.rolname, s.userid::text), s.queryid, s.query, ` + toplevel + `,
	s.calls, s.` + c.totalTime + `, s.` + c.meanTime + `, s.` + c.stddevTime + `, s.rows,
	s.shared_blks_hit, s.shared_blks_read, s.local_blks_read, s.temp_blks_read, s.temp_blks_written,
	s.` + c.readTime + `, s.` + c.writeTime + `, ` + prefixed(c.jitTime) + `, ` + since + `, ` + pg18 + `, clock_timestamp()
FROM ` + quoteIdent(srv.schema) + `.pg_stat_statements s LEFT JOIN pg_roles r ON r.oid = s.userid
WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND s.calls > 0 AND NOT (` + ownStatement + `)`
	if c.toplevel {
		sql += " AND s.toplevel"
	}
	rows, err := q.Query(ctx, sql+tagEnd)
	if err != nil {
		return nil, preloadError(ctx, q, err)
	}
	defer rows.Close()
	snap := &Snapshot{}
	for rows.Next() {
		var st Statement
		var qid *int64
		var query *string
		var jit *float64
		if err := rows.Scan(&st.userID, &st.Role, &qid, &query, &st.toplevel, &st.Calls, &st.TotalTime, &st.MeanTime,
			&st.StddevTime, &st.Rows, &st.SharedBlksHit, &st.SharedBlksRead, &st.LocalBlksRead, &st.TempBlksRead,
			&st.TempBlksWritten, &st.IOReadTime, &st.IOWriteTime, &jit, &st.since,
			&st.ParallelWorkersToLaunch, &st.ParallelWorkersLaunched, &st.WALBuffersFull, &snap.At); err != nil {
			return nil, fmt.Errorf("analyze: read pg_stat_statements: %w", err)
		}
		if query == nil || *query == insufficientPrivilege || qid == nil {
			snap.Hidden++
			continue
		}
		st.QueryID, st.Query, st.Source = *qid, *query, "pg_stat_statements"
		st.Fingerprint = Fingerprint(st.QueryID)
		if jit != nil {
			st.JITTime = *jit
		}
		st.sumSq = float64(st.Calls) * (st.StddevTime*st.StddevTime + st.MeanTime*st.MeanTime)
		snap.Statements = append(snap.Statements, st)
	}
	if err := rows.Err(); err != nil {
		return nil, preloadError(ctx, q, err)
	}
	if snap.Hidden > 0 {
		return snap, fmt.Errorf("%w: %d statements of other roles are hidden from %s: run GRANT pg_read_all_stats TO %s;",
			ErrStatsPrivilege, snap.Hidden, srv.User, quoteIdent(srv.User))
	}
	return snap, nil
}

func prefixed(expr string) string {
	if expr == "0" {
		return "NULL::float8"
	}
	parts := strings.Split(expr, " + ")
	for i, p := range parts {
		parts[i] = "s." + p
	}
	return strings.Join(parts, " + ")
}

type stmtKey struct {
	user     uint32
	queryID  int64
	toplevel bool
}

func (s *Statement) key() stmtKey { return stmtKey{s.userID, s.QueryID, s.toplevel} }

// Delta returns what happened between two snapshots: each statement's
// counters in after minus those in before, keeping statements that ran in
// between. A statement whose counters went down was evicted or reset in
// between; its counters in after are all it did since. restarted counts
// those.
func Delta(before, after *Snapshot) (stmts []Statement, restarted int) {
	prev := make(map[stmtKey]*Statement, len(before.Statements))
	for i := range before.Statements {
		prev[before.Statements[i].key()] = &before.Statements[i]
	}
	for _, a := range after.Statements {
		b, ok := prev[a.key()]
		if ok && a.Calls < b.Calls {
			restarted++
			ok = false
		}
		d := a
		if ok {
			d.Calls -= b.Calls
			d.TotalTime -= b.TotalTime
			d.Rows -= b.Rows
			d.SharedBlksHit -= b.SharedBlksHit
			d.SharedBlksRead -= b.SharedBlksRead
			d.LocalBlksRead -= b.LocalBlksRead
			d.TempBlksRead -= b.TempBlksRead
			d.TempBlksWritten -= b.TempBlksWritten
			d.IOReadTime -= b.IOReadTime
			d.IOWriteTime -= b.IOWriteTime
			d.JITTime -= b.JITTime
			d.ParallelWorkersToLaunch = minus(a.ParallelWorkersToLaunch, b.ParallelWorkersToLaunch)
			d.ParallelWorkersLaunched = minus(a.ParallelWorkersLaunched, b.ParallelWorkersLaunched)
			d.WALBuffersFull = minus(a.WALBuffersFull, b.WALBuffersFull)
			d.sumSq -= b.sumSq
		}
		if d.Calls <= 0 {
			continue
		}
		d.MeanTime = d.TotalTime / float64(d.Calls)
		d.StddevTime = math.Sqrt(math.Max(d.sumSq/float64(d.Calls)-d.MeanTime*d.MeanTime, 0))
		stmts = append(stmts, d)
	}
	return stmts, restarted
}

// SortKey is what statements are ranked by.
type SortKey string

// The sort keys --sort takes.
const (
	SortTotal  SortKey = "total"
	SortMean   SortKey = "mean"
	SortCalls  SortKey = "calls"
	SortIO     SortKey = "io"
	SortStddev SortKey = "stddev"
)

// SortKeys lists the sort keys in the order --help shows them.
var SortKeys = []SortKey{SortTotal, SortMean, SortCalls, SortIO, SortStddev}

// ErrSortKey is returned for an unknown sort key.
var ErrSortKey = errors.New("unknown sort key")

// ParseSortKey checks a --sort value.
func ParseSortKey(s string) (SortKey, error) {
	for _, k := range SortKeys {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("%w %q: use total, mean, calls, io or stddev", ErrSortKey, s)
}

// measure is the figure a sort key ranks by.
func (k SortKey) measure(s *Statement) float64 {
	switch k {
	case SortMean:
		return s.MeanTime
	case SortCalls:
		return float64(s.Calls)
	case SortIO:
		// blocks first; I/O time (with track_io_timing) breaks ties
		return float64(s.IOBlocks()) + (s.IOReadTime+s.IOWriteTime)/1e9
	case SortStddev:
		return s.StddevTime
	}
	return s.TotalTime
}

// ShareOf names what SharePct is a share of under a sort key: total time
// for the time keys, calls, or I/O blocks.
func (k SortKey) ShareOf() string {
	switch k {
	case SortCalls:
		return "calls"
	case SortIO:
		return "io_blocks"
	}
	return "total_time"
}

func (k SortKey) share(s *Statement) float64 {
	switch k {
	case SortCalls:
		return float64(s.Calls)
	case SortIO:
		return float64(s.IOBlocks())
	}
	return s.TotalTime
}

// Totals sums the statements a ranking was drawn from.
type Totals struct {
	Statements int     `json:"statements"`
	Calls      int64   `json:"calls"`
	TotalTime  float64 `json:"total_time_ms"`
	Rows       int64   `json:"rows"`
	IOBlocks   int64   `json:"io_blocks"`
}

// Rank fills the per-call figures and shares of every statement, sorts them
// by the key (ties by queryid, so the order is stable) and returns the
// first top (all when top <= 0) with the totals over all.
func Rank(stmts []Statement, key SortKey, top int) ([]Statement, Totals) {
	var t Totals
	var whole float64
	for i := range stmts {
		s := &stmts[i]
		t.Statements++
		t.Calls += s.Calls
		t.TotalTime += s.TotalTime
		t.Rows += s.Rows
		t.IOBlocks += s.IOBlocks()
		whole += key.share(s)
	}
	for i := range stmts {
		s := &stmts[i]
		if s.Calls > 0 {
			c := float64(s.Calls)
			s.RowsPerCall = float64(s.Rows) / c
			s.SharedHitPerCall = float64(s.SharedBlksHit) / c
			s.SharedReadPerCall = float64(s.SharedBlksRead) / c
		}
		if blocks := s.SharedBlksHit + s.SharedBlksRead; blocks > 0 {
			h := round1(float64(s.SharedBlksHit) / float64(blocks) * 100)
			s.CacheHitPct = &h
		}
		if whole > 0 {
			s.SharePct = round1(key.share(s) / whole * 100)
		}
	}
	// Sort measures and indexes rather than the statements themselves:
	// a Statement is hundreds of bytes to swap.
	type entry struct {
		m  float64
		id int64
		i  int
	}
	order := make([]entry, len(stmts))
	for i := range stmts {
		order[i] = entry{key.measure(&stmts[i]), stmts[i].QueryID, i}
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i].m != order[j].m {
			return order[i].m > order[j].m
		}
		return order[i].id < order[j].id
	})
	n := len(order)
	if top > 0 && n > top {
		n = top
	}
	ranked := make([]Statement, n)
	for i := range ranked {
		ranked[i] = stmts[order[i].i]
	}
	stmts = ranked
	for i := range stmts {
		stmts[i].Rank = i + 1
	}
	return stmts, t
}

// Window is how long a statement's counters have been collecting: since
// its own stats_since (1.11) or the last reset of pg_stat_statements.
func (srv *Server) window(s *Statement, at time.Time) time.Duration {
	switch {
	case s.since != nil:
		return at.Sub(*s.since)
	case srv.StatsReset != nil:
		return at.Sub(*srv.StatsReset)
	}
	return 0
}

// quoteIdent quotes a name for SQL when it needs it.
func quoteIdent(s string) string {
	simple := s != ""
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || ('a' <= c && c <= 'z') || (i > 0 && '0' <= c && c <= '9')) {
			simple = false
			break
		}
	}
	if simple && !reservedWords[s] {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// reservedWords are the reserved SQL key words a bare name cannot be.
var reservedWords = map[string]bool{
	"all": true, "analyse": true, "analyze": true, "and": true, "any": true, "array": true, "as": true, "asc": true,
	"asymmetric": true, "both": true, "case": true, "cast": true, "check": true, "collate": true, "column": true,
	"constraint": true, "create": true, "current_catalog": true, "current_date": true, "current_role": true,
	"current_time": true, "current_timestamp": true, "current_user": true, "default": true, "deferrable": true,
	"desc": true, "distinct": true, "do": true, "else": true, "end": true, "except": true, "false": true,
	"fetch": true, "for": true, "foreign": true, "from": true, "grant": true, "group": true, "having": true,
	"in": true, "initially": true, "intersect": true, "into": true, "lateral": true, "leading": true, "limit": true,
	"localtime": true, "localtimestamp": true, "not": true, "null": true, "offset": true, "on": true, "only": true,
	"or": true, "order": true, "placing": true, "primary": true, "references": true, "returning": true,
	"select": true, "session_user": true, "some": true, "symmetric": true, "system_user": true, "table": true,
	"then": true, "to": true, "trailing": true, "true": true, "union": true, "unique": true, "user": true,
	"using": true, "variadic": true, "when": true, "where": true, "window": true, "with": true,
}

// pgMessage is a server error as one line: message, detail, hint and
// SQLSTATE.
func pgMessage(err error) string {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err.Error()
	}
	msg := pgErr.Message
	if pgErr.Detail != "" {
		msg += "; detail: " + pgErr.Detail
	}
	if pgErr.Hint != "" {
		msg += "; hint: " + pgErr.Hint
	}
	return strings.ReplaceAll(msg+" (SQLSTATE "+pgErr.Code+")", "\n", " ")
}
