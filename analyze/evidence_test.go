package analyze

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/internal/testdb"
	"github.com/hishamos/hishamos-perf/profiles"
)

// dropAdvised lists the indexes (schema.name) whose findings advise
// dropping them.
func dropAdvised(fs []Finding) map[string][]string {
	m := map[string][]string{}
	for _, f := range fs {
		if f.Index != "" && (strings.Contains(f.Fix, "DROP INDEX") || strings.Contains(f.Fix, "DROP CONSTRAINT")) {
			m[f.Index] = append(m[f.Index], f.Rule)
		}
	}
	return m
}

// checkConsistent fails the test on findings of one report that contradict
// each other or the report: an index advised for dropping twice, or while
// a plan of the report reads it, or while it backs a constraint or is the
// only index of a foreign key (whose fk-without-index the drop would
// cause); a finding on a system catalog.
func checkConsistent(t *testing.T, dsn string, rep *Report) {
	t.Helper()
	drops := dropAdvised(rep.Findings)
	for ix, rules := range drops {
		if len(rules) > 1 {
			t.Errorf("index %s is advised for dropping by %d findings: %v", ix, len(rules), rules)
		}
	}
	for _, s := range rep.Statements {
		if s.Plan == nil || s.Plan.Plan == nil {
			continue
		}
		s.Plan.Plan.Walk(func(n *Node) bool {
			if rules, ok := drops[n.Schema+"."+n.IndexName]; ok && n.IndexName != "" && slices.Contains(rules, RuleUnusedIndex) {
				t.Errorf("index %s is unused by %v, yet the plan of statement #%d reads it", n.IndexName, rules, s.Rank)
			}
			return true
		})
	}
	for _, ix := range rep.Indexes {
		if _, ok := drops[ix.Schema+"."+ix.Name]; ok && ix.Constraint != "" {
			t.Errorf("index %s backs constraint %s, yet a finding advises dropping it", ix.Name, ix.Constraint)
		}
	}
	// Each foreign key keeps an index leading with its columns once every
	// advised drop is done, unless fk-without-index already says it has
	// none.
	rows, err := testdb.Conn(t, dsn).Query(context.Background(), `SELECT c.conname, n.nspname || '.' || t.relname,
		ARRAY(SELECT n.nspname || '.' || i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
			WHERE x.indrelid = c.conrelid AND x.indisvalid AND x.indpred IS NULL
			AND (x.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey AND c.conkey @> (x.indkey::int2[])[0:cardinality(c.conkey) - 1])
		FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE c.contype = 'f' AND n.nspname NOT IN ('pg_catalog', 'information_schema')`)
	if err != nil {
		t.Fatal(err)
	}
	type fk struct {
		name, table string
		indexes     []string
	}
	fks, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (fk, error) {
		var f fk
		return f, r.Scan(&f.name, &f.table, &f.indexes)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fks {
		left := slices.DeleteFunc(slices.Clone(f.indexes), func(ix string) bool { _, ok := drops[ix]; return ok })
		if len(f.indexes) > 0 && len(left) == 0 {
			t.Errorf("foreign key %s on %s loses its every index %v to the drops advised", f.name, f.table, f.indexes)
		}
	}
	for _, f := range rep.Findings {
		if systemRelation(f.Table) || strings.Contains(f.Message, "pg_catalog.") || strings.HasPrefix(f.Index, "pg_catalog.") {
			t.Errorf("a finding names a system catalog: %s %s: %s", f.Rule, f.Table, f.Message)
		}
	}
}

// statsReset holds once the server has taken pg_stat_reset() for the
// database: at once from 15, when the statistics collector has read the
// message before.
const statsReset = `SELECT stats_reset IS NOT NULL AND stats_reset > now() - interval '1 minute' FROM pg_stat_database WHERE datname = current_database()`

// TestUnusedIndexWaitsForStatistics resets the statistics and analyzes: no
// index is judged unused until they are a week old (a note says when they
// will be), and then never one that backs a constraint, one a plan of the
// report reads, or both of a duplicate pair; the only index of a foreign
// key is "rarely used", kept, never dropped.
func TestUnusedIndexWaitsForStatistics(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	admin := testdb.Conn(t, dsn)
	mustExec(t, admin,
		`CREATE TABLE parent (id int PRIMARY KEY, name text)`,
		`INSERT INTO parent SELECT i, 'p' || i FROM generate_series(1, 100) i`,
		`CREATE TABLE child (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES parent, kind int NOT NULL,
			email text NOT NULL UNIQUE, created_at timestamptz NOT NULL DEFAULT now())`,
		`INSERT INTO child SELECT i, 1 + i % 100, i % 7, 'u' || i || '@example.com', now() - i * interval '1 minute'
			FROM generate_series(1, 20000) i`,
		`CREATE INDEX child_parent ON child (parent_id)`,
		`CREATE INDEX child_kind_a ON child (kind)`,
		`CREATE INDEX child_kind_b ON child (kind)`,
		`CREATE INDEX child_email_lower ON child (lower(email))`,
		`CREATE INDEX child_created ON child (created_at)`,
		`ANALYZE parent, child`,
	)
	lookup := `SELECT id, kind FROM child WHERE lower(email) = $1`
	runWorkload(t, dsn, lookup, 50, func(i int) []any { return []any{fmt.Sprintf("u%d@example.com", i+1)} })
	// The statistics start again now: every index has had no scans.
	// Before 15 the statistics collector takes the reset in its own time.
	mustExec(t, admin, `SELECT pg_stat_reset()`)
	waitFor(t, admin, statsReset)

	conn := safeConn(t, dsn, 30*time.Second)
	rep, err := Analyze(ctx, conn, Options{Explain: 10})
	if err != nil {
		t.Fatal(err)
	}
	st := rep.Statistics
	if st == nil || st.IndexUsageJudged || st.SinceWhat != sinceDatabaseReset || st.AgeSeconds > 600 || st.JudgedFrom == nil ||
		!st.JudgedFrom.Equal(st.Since.Add(DefaultMinStatsAge)) || st.Calls != rep.Totals.Calls {
		t.Fatalf("statistics after a reset: %+v", st)
	}
	for _, f := range rep.Findings {
		if f.Rule == RuleUnusedIndex {
			t.Errorf("unused-index on statistics %.0f seconds old: %s", st.AgeSeconds, f.Message)
		}
	}
	if !slices.ContainsFunc(rep.Notes, func(n string) bool {
		return strings.HasPrefix(n, "index usage not judged: the statistics are ") && strings.Contains(n, "needs 7 days of them") &&
			strings.Contains(n, st.JudgedFrom.UTC().Format(timeLayout))
	}) {
		t.Errorf("no note says when index usage is judged: %q", rep.Notes)
	}
	checkConsistent(t, dsn, rep)

	// Judged at any age: the rules that remain.
	rep, err = Analyze(ctx, conn, Options{Explain: 10, MinStatsAge: -1})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Statistics.IndexUsageJudged || slices.ContainsFunc(rep.Notes, func(n string) bool { return strings.HasPrefix(n, "index usage not judged") }) {
		t.Errorf("judged at any age, yet: %+v %q", rep.Statistics, rep.Notes)
	}
	by := map[string][]Finding{}
	for _, f := range rep.Findings {
		by[f.Index] = append(by[f.Index], f)
	}
	one := func(ix, rule string, sev Severity) *Finding {
		t.Helper()
		fs := by["public."+ix]
		if len(fs) != 1 || fs[0].Rule != rule || fs[0].Severity != sev {
			t.Errorf("%s: findings %+v, want one %s %s", ix, fs, sev, rule)
			return nil
		}
		return &fs[0]
	}
	if f := one("child_parent", RuleUnusedIndex, Info); f != nil &&
		(strings.Contains(f.Fix, "DROP") || !strings.Contains(f.Message, "rarely used") || !strings.Contains(f.Message, "keeps deletes and key updates on public.parent fast")) {
		t.Errorf("the foreign key's only index: %s / %s", f.Message, f.Fix)
	}
	one("child_created", RuleUnusedIndex, Warning)
	// One of the pair goes (the newer: neither has scans); the other
	// stays, and is not unused on top.
	one("child_kind_b", RuleDuplicateIndex, Warning)
	for _, ix := range []string{"child_kind_a", "child_email_lower", "child_pkey", "child_email_key", "parent_pkey"} {
		if fs := by["public."+ix]; len(fs) > 0 {
			t.Errorf("%s: %s %s", ix, fs[0].Rule, fs[0].Message)
		}
	}
	checkConsistent(t, dsn, rep)
}

// TestNoFindingOnTheServersOwnStatements: a pool's SELECT 1 thousands of
// times a minute, a monitoring tool's reads of the catalogs and of
// pg_stat_statements, rank like any statement but draw no finding: nothing
// there is the application's to index, page or batch.
func TestNoFindingOnTheServersOwnStatements(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	runWorkload(t, dsn, "SELECT 1", 3000, func(int) []any { return nil })
	runWorkload(t, dsn, "SELECT c.relname, a.attname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid WHERE c.relkind = $1", 20,
		func(int) []any { return []any{"r"} })
	runWorkload(t, dsn, "SELECT * FROM pg_stat_statements", 20, func(int) []any { return nil })
	runWorkload(t, dsn, "SELECT table_name FROM information_schema.columns WHERE table_schema = $1", 20, func(int) []any { return []any{"pg_catalog"} })
	rep, err := Analyze(ctx, safeConn(t, dsn, 30*time.Second), Options{Explain: 10, Analyze: true, MinStatsAge: -1})
	if err != nil {
		t.Fatal(err)
	}
	ranked := 0
	for _, s := range rep.Statements {
		if s.Query == "SELECT 1" || strings.Contains(s.Query, "pg_class") || strings.Contains(s.Query, "pg_stat_statements") {
			ranked++
		}
	}
	if ranked < 3 {
		t.Errorf("the statements are not ranked: %d", ranked)
	}
	for _, f := range rep.Findings {
		t.Errorf("finding on the server's own objects: %s %s: %s (%s)", f.Rule, f.Table, f.Message, f.Query)
	}
	checkConsistent(t, dsn, rep)
}

// TestSmallReportIsNoAlarm is a report of three rows a day, GROUP BY
// date_trunc('day', …), whose groups the planner estimates in thousands:
// no no-limit-large-result (three rows are never large, and an estimate of
// groups is no evidence), and a row misestimate on a few rows in
// milliseconds is an info that --fail-on critical passes.
func TestSmallReportIsNoAlarm(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	admin := testdb.Conn(t, dsn)
	mustExec(t, admin,
		`CREATE TABLE payment (id int PRIMARY KEY, amount numeric NOT NULL, payment_date timestamptz NOT NULL)`,
		`INSERT INTO payment SELECT i, i % 10, timestamptz '2024-05-01' + (i % 3) * interval '1 day' + (i % 1000) * interval '1 second'
			FROM generate_series(1, 16000) i`,
		`ANALYZE payment`,
	)
	report := `SELECT date_trunc('day', payment_date) AS day, sum(amount) FROM payment GROUP BY 1 ORDER BY 1`
	for range 5 {
		mustExec(t, admin, report)
	}
	samples, err := SplitSQL("report.sql", report+";")
	if err != nil {
		t.Fatal(err)
	}
	conn := safeConn(t, dsn, 30*time.Second)
	for _, o := range []Options{{Explain: 10, SkipIndexes: true}, {Explain: 10, Analyze: true, Samples: samples, SkipIndexes: true}} {
		rep, err := Analyze(ctx, conn, o)
		if err != nil {
			t.Fatal(err)
		}
		var stmt *Statement
		for i, s := range rep.Statements {
			if strings.Contains(s.Query, "date_trunc") {
				stmt = &rep.Statements[i]
			}
		}
		if stmt == nil || stmt.Plan == nil || stmt.RowsPerCall != 3 {
			t.Fatalf("analyze %v: the report is not ranked with a plan and 3 rows: %+v", o.Analyze, stmt)
		}
		if est := stmt.Plan.PlanRows; est < 100 {
			t.Logf("the planner estimates %.0f groups: the case no longer shows the misestimate", est)
		}
		for _, f := range rep.Findings {
			if f.Rule == RuleNoLimitLargeResult || f.Severity >= Warning {
				t.Errorf("analyze %v: %s %s on a 3-row report: %s", o.Analyze, f.Severity, f.Rule, f.Message)
			}
		}
	}
	// The same plan, with no statistics behind it (explain): the estimate
	// of groups is still no large result.
	x, err := ExplainAll(ctx, conn, samples, ExplainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range x.Findings {
		if f.Rule == RuleNoLimitLargeResult {
			t.Errorf("explain: %s on an estimate of %.0f groups", f.Message, x.Statements[0].PlanRows)
		}
	}
	xa, err := ExplainAll(ctx, conn, samples, ExplainOptions{Analyze: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := CountAtLeast(xa.Findings, Critical); n > 0 {
		t.Errorf("explain --analyze: %d critical findings on a 3-row report in %.1f ms: %+v", n, xa.Statements[0].ExecutionTime, xa.Findings)
	}
}

// TestSameStatementIsOneRow: one statement sent by two roles, and by a
// client that binds $1 beside one that writes literals (pg_stat_statements
// keeps a queryid for each), is one row of the ranking, its calls and time
// summed, with its parts in JSON.
func TestSameStatementIsOneRow(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	if strings.Contains(dsn, "://") {
		t.Skip("the role switch needs a keyword DSN")
	}
	admin := testdb.Conn(t, dsn)
	role := fmt.Sprintf("reporting_%d", time.Now().UnixNano()%1_000_000)
	mustExec(t, admin, "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, 100) i",
		"CREATE ROLE "+role+" LOGIN", "GRANT SELECT ON t TO "+role)
	t.Cleanup(func() {
		c := testdb.Conn(t, testdb.DSN())
		_, _ = c.Exec(context.Background(), "DROP OWNED BY "+role)
		_, _ = c.Exec(context.Background(), "DROP ROLE IF EXISTS "+role)
	})
	q := "SELECT v FROM t WHERE id = $1"
	runWorkload(t, dsn, q, 30, func(i int) []any { return []any{i + 1} })
	runWorkload(t, dsn+" user="+role, q, 20, func(i int) []any { return []any{i + 1} })
	for i := range 10 {
		mustExec(t, admin, fmt.Sprintf("SELECT v FROM t WHERE id = %d", i+1))
	}
	rep, err := Analyze(ctx, safeConn(t, dsn, 30*time.Second), Options{Top: -1, Explain: 5, SkipIndexes: true})
	if err != nil {
		t.Fatal(err)
	}
	var rows []Statement
	for _, s := range rep.Statements {
		if normalizedText(s.Query) == q {
			rows = append(rows, s)
		}
	}
	if len(rows) != 1 {
		t.Fatalf("%d rows for one statement", len(rows))
	}
	s := rows[0]
	if s.Calls != 60 || len(s.Parts) != 3 || s.Role != strings.Join(slices.Sorted(slices.Values([]string{"postgres", role})), ", ") || s.Plan == nil {
		t.Errorf("the statement: calls %d, parts %+v, role %q, plan %v", s.Calls, s.Parts, s.Role, s.Plan != nil)
	}
	var calls int64
	var total float64
	for _, p := range s.Parts {
		calls += p.Calls
		total += p.TotalTime
		if !s.HasQueryID(p.QueryID) {
			t.Errorf("part %d is not the statement's", p.QueryID)
		}
	}
	if calls != s.Calls || total < s.TotalTime*0.999 || total > s.TotalTime*1.001 || s.MeanTime*60 < s.TotalTime*0.999 {
		t.Errorf("parts sum %d calls %.3f ms; the statement %d calls %.3f ms, mean %.3f", calls, total, s.Calls, s.TotalTime, s.MeanTime)
	}
	if s.Parts[0].TotalTime < s.Parts[1].TotalTime || s.QueryID != s.Parts[0].QueryID {
		t.Errorf("parts not most time first, or the statement is not its main part's: %+v", s.Parts)
	}
	b, err := json.Marshal(s)
	if err != nil || !strings.Contains(string(b), `"parts":[{"queryid":`) {
		t.Errorf("JSON lacks the parts: %s", b)
	}
}

// TestGenericPlanDiffersJudgedBoth: an account that holds 99% of the rows
// and a thousand that hold one each. The generic plan assumes an average
// account (a few hundred rows: the account's index, then a sort); the
// application's calls for the big account get a custom plan that walks
// the date index backwards and stops at 20. Analyze draws the big account
// from pg_stats, plans both, says they differ and, with ANALYZE, that the
// generic plan runs many times slower on those values; a lookup by primary
// key plans the same either way and draws nothing.
func TestGenericPlanDiffersJudgedBoth(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	admin := testdb.Conn(t, dsn)
	mustExec(t, admin,
		`CREATE TABLE ev (id bigint PRIMARY KEY, account_id int NOT NULL, payload text NOT NULL, created_at timestamptz NOT NULL)`,
		`INSERT INTO ev SELECT i, CASE WHEN i % 100 = 0 THEN 1 + i % 997 ELSE 0 END, md5(i::text),
			timestamptz '2024-01-01' + (i * 7919 % 200000) * interval '1 minute' FROM generate_series(1, 200000) i`,
		`CREATE INDEX ev_created ON ev (created_at)`,
		`CREATE INDEX ev_account ON ev (account_id)`,
		`ANALYZE ev`,
	)
	feed := `SELECT id, payload FROM ev WHERE account_id = $1 ORDER BY created_at DESC LIMIT $2`
	byID := `SELECT payload FROM ev WHERE id = $1`
	runWorkload(t, dsn, feed, 20, func(i int) []any { return []any{0, 20} })
	runWorkload(t, dsn, byID, 20, func(i int) []any { return []any{i + 1} })
	before := testdb.TakeFingerprint(t, dsn)
	conn := safeConn(t, dsn, 30*time.Second)
	for _, analyzed := range []bool{false, true} {
		rep, err := Analyze(ctx, conn, Options{Explain: 10, Analyze: analyzed, SkipIndexes: true})
		if err != nil {
			t.Fatal(err)
		}
		var fs, ids *Statement
		for i, s := range rep.Statements {
			switch s.Query {
			case feed:
				fs = &rep.Statements[i]
			case byID:
				ids = &rep.Statements[i]
			}
		}
		if fs == nil || fs.Plan == nil || !fs.Plan.Generic || fs.CustomPlan == nil || fs.CustomPlan.ShapeHash == fs.Plan.ShapeHash {
			t.Fatalf("analyze %v: the feed has no custom plan beside its generic one: %+v\nnote %q", analyzed, fs, fs.Plan.Note)
		}
		if !strings.Contains(fs.CustomPlan.Note, "$1 = '0'") || !strings.Contains(fs.CustomPlan.Note, "$2 = '20'") ||
			!strings.Contains(fs.CustomPlan.Shape, "Backward") || fs.CustomPlan.Analyzed != analyzed {
			t.Errorf("analyze %v: custom plan %s, note %q", analyzed, fs.CustomPlan.Shape, fs.CustomPlan.Note)
		}
		if ids == nil || ids.Plan == nil || ids.CustomPlan != nil {
			t.Errorf("analyze %v: the lookup by key has a custom plan that differs: %+v", analyzed, ids)
		}
		var differs []Finding
		for _, f := range rep.Findings {
			if f.Rule == RuleGenericPlanDiffers {
				differs = append(differs, f)
			}
		}
		if len(differs) != 1 || differs[0].Fingerprint != fs.Fingerprint {
			t.Fatalf("analyze %v: generic-plan-differs findings %+v", analyzed, differs)
		}
		f := differs[0]
		switch {
		case !analyzed && f.Severity != Info:
			t.Errorf("estimates only: %s, want info", f.Severity)
		case analyzed && (f.Severity != Warning || f.Evidence["generic_ms"] < GenericSlowerFactor*f.Evidence["custom_ms"] || !strings.Contains(f.Fix, "force_custom_plan")):
			t.Errorf("measured: %s %v: %s / %s", f.Severity, f.Evidence, f.Message, f.Fix)
		}
	}
	if diff := before.Diff(testdb.TakeFingerprint(t, dsn)); len(diff) > 0 {
		t.Errorf("analyze changed the database: %v", diff)
	}
	var prepared int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'hishamos_perf_%'").Scan(&prepared); err != nil || prepared != 0 || conn.PgConn().TxStatus() != 'I' {
		t.Errorf("left behind: %d prepared statements (%v), tx status %c", prepared, err, conn.PgConn().TxStatus())
	}
}

// TestMakeRunWorkloadFreshStatistics is make run's case: the HishamOS data
// (Django's ForeignKey and _like indexes), its profile's statements run as
// the application runs them, and statistics reset a moment ago. analyze
// advises no DROP of an unused index (a note says when it will judge
// them), names no catalog and contradicts itself nowhere; judged at any
// age, the foreign keys' only indexes are kept and the rest still agree.
func TestMakeRunWorkloadFreshStatistics(t *testing.T) {
	ctx := context.Background()
	dsn := hishamosDB(t)
	admin := testdb.Conn(t, dsn)
	p, err := profiles.Load("hishamos")
	if err != nil {
		t.Fatal(err)
	}
	bound, err := profiles.Bind(ctx, admin, p)
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, admin, "SELECT pg_stat_reset()")
	waitFor(t, admin, statsReset)
	ran := 0
	for _, s := range p.Mix(profiles.After) {
		rng := rand.New(rand.NewPCG(1, uint64(ran)))
		runWorkload(t, dsn, s.SQL, 10, func(int) []any { return bound.Args(s.Name, rng) })
		ran++
	}
	if ran < 10 {
		t.Fatalf("the profile ran %d statements", ran)
	}
	conn := safeConn(t, dsn, 30*time.Second)
	rep, err := Analyze(ctx, conn, Options{Explain: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		if f.Rule == RuleUnusedIndex {
			t.Errorf("unused-index on statistics %.0f s old: %s", rep.Statistics.AgeSeconds, f.Message)
		}
	}
	if !slices.ContainsFunc(rep.Notes, func(n string) bool { return strings.HasPrefix(n, "index usage not judged") }) {
		t.Errorf("no note on index usage: %q", rep.Notes)
	}
	checkConsistent(t, dsn, rep)

	rep, err = Analyze(ctx, conn, Options{Explain: 10, MinStatsAge: -1})
	if err != nil {
		t.Fatal(err)
	}
	kept := 0
	for _, f := range rep.Findings {
		if f.Rule == RuleUnusedIndex && strings.Contains(f.Message, "rarely used") {
			kept++
		}
	}
	if kept == 0 {
		t.Error("no foreign key's index is kept as rarely used: Django indexes every ForeignKey, and the workload reads few of them")
	}
	checkConsistent(t, dsn, rep)
}

// TestForeignKeyChecksAreNoNPlusOne: PostgreSQL checks a foreign key once
// per row written (SELECT 1 FROM ONLY parent x WHERE id
// OPERATOR(pg_catalog.=) $1 FOR KEY SHARE OF x), and pg_stat_statements
// counts the checks of a deferred key (Django's) as top-level statements,
// thousands of calls of one row each: no application sends them, so they
// are no n-plus-one, while the application's own lookup, as often, is.
func TestForeignKeyChecksAreNoNPlusOne(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	admin := testdb.Conn(t, dsn)
	mustExec(t, admin,
		`CREATE TABLE parent (id int PRIMARY KEY, name text NOT NULL)`,
		`INSERT INTO parent SELECT g, 'p' || g FROM generate_series(1, 50) g`,
		// Django's foreign keys: checked at commit, outside any
		// statement, which pg_stat_statements counts as top level.
		`CREATE TABLE child (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)`,
		`CREATE INDEX child_parent_id_idx ON child (parent_id)`,
		`INSERT INTO child SELECT g, 1 + g % 50 FROM generate_series(1, 6000) g`,
		`ANALYZE`)
	runWorkload(t, dsn, `SELECT name FROM parent WHERE id = $1`, 6000, func(i int) []any { return []any{i%50 + 1} })
	rep, err := Analyze(ctx, safeConn(t, dsn, 30*time.Second), Options{Sort: SortCalls, Explain: 5, MinStatsAge: -1})
	if err != nil {
		t.Fatal(err)
	}
	var check, lookup bool
	for _, s := range rep.Statements {
		check = check || strings.HasSuffix(s.Query, "FOR KEY SHARE OF x") && s.Calls >= 6000
		lookup = lookup || strings.HasPrefix(s.Query, "SELECT name FROM parent") && s.Calls >= 6000
	}
	if !check || !lookup {
		t.Fatalf("the foreign key's check ranked: %v, the application's lookup: %v: the case does not hold", check, lookup)
	}
	var flagged []string
	for _, f := range rep.Findings {
		if f.Rule == RuleNPlusOne {
			flagged = append(flagged, f.Query)
		}
	}
	if len(flagged) != 1 || !strings.HasPrefix(flagged[0], "SELECT name FROM parent") {
		t.Errorf("n-plus-one on %q; want the application's lookup alone", flagged)
	}
	checkConsistent(t, dsn, rep)
}

// TestReadStatisticsIsAnalyzesRule: ReadStatistics, which the other
// commands that judge index usage call, reads the same start as Analyze
// (the youngest of the database's reset, pg_stat_statements' reset and the
// server's start) and judges it against the age it is given.
func TestReadStatisticsIsAnalyzesRule(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	admin := testdb.Conn(t, dsn)
	mustExec(t, admin, `SELECT pg_stat_reset()`)
	waitFor(t, admin, statsReset)
	mustExec(t, admin, `SELECT pg_stat_statements_reset()`)
	conn := safeConn(t, dsn, 30*time.Second)
	rep, err := Analyze(ctx, conn, Options{Explain: 0, SkipIndexes: true})
	if err != nil {
		t.Fatal(err)
	}
	st, err := ReadStatistics(ctx, conn, DefaultMinStatsAge)
	if err != nil {
		t.Fatal(err)
	}
	if st.SinceWhat != sinceStatementsReset || !st.Since.Equal(rep.Statistics.Since) || st.IndexUsageJudged ||
		!st.JudgedFrom.Equal(st.Since.Add(DefaultMinStatsAge)) {
		t.Errorf("ReadStatistics %+v, want analyze's start %s (%s) not judged", st, rep.Statistics.Since, rep.Statistics.SinceWhat)
	}
	if anyAge, err := ReadStatistics(ctx, conn, -1); err != nil || !anyAge.IndexUsageJudged {
		t.Errorf("at any age: %+v, %v, want judged", anyAge, err)
	}
	note := st.NotJudged("unused indexes not listed", "judging an index unused", "propose", "--min-stats-age")
	if !strings.HasPrefix(note, "unused indexes not listed: the statistics are ") || !strings.Contains(note, "since the pg_stat_statements reset") ||
		!strings.HasSuffix(note, "propose again after "+st.JudgedFrom.UTC().Format(timeLayout)+", or lower --min-stats-age") {
		t.Errorf("note %q", note)
	}
}
