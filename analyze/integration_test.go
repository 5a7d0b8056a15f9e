package analyze

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/internal/dataset"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// hishamosDB is a fresh database loaded with the HishamOS data at scale
// small, as the sandbox holds it.
func hishamosDB(t *testing.T) string {
	t.Helper()
	dsn := testdb.NewDatabase(t)
	conn := testdb.Conn(t, dsn)
	scale, err := dataset.ParseScale("small")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dataset.Load(context.Background(), conn, dataset.Options{Scale: scale, Seed: 1}); err != nil {
		t.Fatalf("load HishamOS data: %v", err)
	}
	return dsn
}

// runWorkload runs a statement n times with the arguments args(i) on its
// own connection, closed at the end so its table statistics are flushed.
func runWorkload(t *testing.T, dsn, sql string, n int, args func(i int) []any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	b := &pgx.Batch{}
	for i := 0; i < n; i++ {
		b.Queue(sql, args(i)...)
	}
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		t.Fatalf("workload %s: %v", sql, err)
	}
}

// waitFor polls a boolean query until it is true, for up to thirty seconds.
func waitFor(t *testing.T, conn *pgx.Conn, query string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var ok bool
		if err := conn.QueryRow(context.Background(), query).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still false after 30s: %s", query)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// findingsBy indexes findings by rule.
func findingsBy(fs []Finding) map[string][]Finding {
	m := map[string][]Finding{}
	for _, f := range fs {
		m[f.Rule] = append(m[f.Rule], f)
	}
	return m
}

// TestAnalyzeHishamOS produces each finding for real on the HishamOS data
// and reads it back through Analyze: a sequential scan on the executions
// table, an N+1 lookup, a duplicate, a prefix-covered and an invalid index,
// an unindexed foreign key, and a table scanned mostly sequentially.
func TestAnalyzeHishamOS(t *testing.T) {
	ctx := context.Background()
	dsn := hishamosDB(t)
	admin := testdb.Conn(t, dsn)
	mustExec(t, admin,
		`CREATE INDEX dup_agent ON agents_agentexecution (agent_id)`,
		`CREATE INDEX exec_user_status ON agents_agentexecution (user_id, status)`,
		`DROP INDEX workflows_workflowstep_execution_id_7d3a1f6b`,
	)
	// A UNIQUE index built concurrently over duplicate values fails and
	// leaves an INVALID index behind.
	if _, err := admin.Exec(ctx, `CREATE UNIQUE INDEX CONCURRENTLY exec_status_unique ON agents_agentexecution (status)`); err == nil {
		t.Fatal("CREATE UNIQUE INDEX CONCURRENTLY on duplicate values succeeded")
	}

	scan := `SELECT id, cost, created_at FROM agents_agentexecution WHERE platform_used = $1 AND status = $2`
	runWorkload(t, dsn, scan, 60, func(i int) []any { return []any{"anthropic", "failed"} })
	lookup := `SELECT "agents_agent"."id", "agents_agent"."name", "agents_agent"."status" FROM "agents_agent" WHERE "agents_agent"."id" = $1`
	runWorkload(t, dsn, lookup, 6000, func(i int) []any { return []any{int64(i%50 + 1)} })

	// Table statistics reach pg_stat_user_tables when the workload's
	// backend exits, a moment after the client closed it.
	waitFor(t, admin, "SELECT seq_scan >= 60 FROM pg_stat_user_tables WHERE schemaname = 'public' AND relname = 'agents_agentexecution'")

	var resetBefore time.Time
	if err := admin.QueryRow(ctx, "SELECT stats_reset FROM pg_stat_statements_info").Scan(&resetBefore); err != nil {
		t.Fatal(err)
	}
	conn := safeConn(t, dsn, 30*time.Second)
	// The database is minutes old: judge index usage at any age here
	// (TestUnusedIndexWaitsForStatistics tests the wait).
	rep, err := Analyze(ctx, conn, Options{Top: 20, Explain: 20, MinStatsAge: -1})
	if err != nil {
		t.Fatal(err)
	}

	by := findingsBy(rep.Findings)
	has := func(rule, table, index string) *Finding {
		for i, f := range by[rule] {
			if (table == "" || f.Table == table) && (index == "" || f.Index == index) {
				return &by[rule][i]
			}
		}
		var got []string
		for _, f := range rep.Findings {
			got = append(got, f.Rule+" "+f.Table+" "+f.Index)
		}
		t.Errorf("no %s finding on %s %s; findings:\n  %s", rule, table, index, strings.Join(got, "\n  "))
		return nil
	}
	if f := has(RuleSeqScanLarge, "public.agents_agentexecution", ""); f != nil {
		if !strings.Contains(f.Query, "platform_used") || f.Fingerprint == "" || f.Node == nil || f.Node.Type != "Seq Scan" {
			t.Errorf("seq-scan-large finding lacks its statement or node: %+v", f)
		}
	}
	nPlusOne := false
	for _, f := range by[RuleNPlusOne] {
		nPlusOne = nPlusOne || strings.Contains(f.Query, `"agents_agent"."id" = $1`)
	}
	if !nPlusOne {
		t.Errorf("no n-plus-one finding on the per-row lookup: %+v", by[RuleNPlusOne])
	}
	if f := has(RuleDuplicateIndex, "public.agents_agentexecution", "public.dup_agent"); f != nil && !strings.Contains(f.Fix, "DROP INDEX CONCURRENTLY public.dup_agent") {
		t.Errorf("duplicate fix: %s", f.Fix)
	}
	has(RulePrefixIndex, "public.agents_agentexecution", "public.agents_agentexecution_user_id_6a2d4e8f")
	if f := has(RuleInvalidIndex, "public.agents_agentexecution", "public.exec_status_unique"); f != nil && f.Severity != Critical {
		t.Errorf("invalid index severity %s", f.Severity)
	}
	if f := has(RuleFKWithoutIndex, "public.workflows_workflowstep", ""); f != nil && f.Fix != "CREATE INDEX CONCURRENTLY ON public.workflows_workflowstep (execution_id);" {
		t.Errorf("fk fix: %s", f.Fix)
	}
	has(RuleSeqScanTable, "public.agents_agentexecution", "")
	// Django's varchar_pattern_ops "_like" indexes serve LIKE 'x%' only,
	// which nothing here runs.
	has(RuleUnusedIndex, "public.agents_agent", "public.agents_agent_agent_id_5d1b8f0a_like")
	for _, f := range by[RuleFKWithoutIndex] {
		if f.Table != "public.workflows_workflowstep" {
			t.Errorf("Django indexes every foreign key; reported %s", f.Message)
		}
	}

	// The statement that scans is ranked and planned as a generic plan.
	var scanned *Statement
	for i, s := range rep.Statements {
		if s.Query == scan {
			scanned = &rep.Statements[i]
		}
	}
	if scanned == nil || scanned.Plan == nil || !scanned.Plan.Generic || scanned.Calls != 60 {
		t.Fatalf("scan statement: %+v", scanned)
	}
	if scanned.Plan.Plan.Root.Table() != "public.agents_agentexecution" && !slices.Contains(scanned.Plan.Plan.Relations(), "public.agents_agentexecution") {
		t.Errorf("plan relations %v", scanned.Plan.Plan.Relations())
	}
	for _, s := range rep.Statements {
		if strings.HasPrefix(s.Query, Tag) {
			t.Errorf("the tool's own statement is ranked: %s", s.Query)
		}
	}
	if rep.Schema != SchemaAnalyze || rep.Window.Mode != "cumulative" || rep.Totals.Statements == 0 || len(rep.Indexes) == 0 {
		t.Errorf("report header: %s %+v %+v, %d indexes", rep.Schema, rep.Window, rep.Totals, len(rep.Indexes))
	}
	var dup *Index
	for i := range rep.Indexes {
		if rep.Indexes[i].Name == "dup_agent" {
			dup = &rep.Indexes[i]
		}
	}
	if dup == nil || dup.SizeBytes == 0 || !slices.Equal(dup.Columns, []string{"agent_id"}) || !slices.Contains(dup.Findings, RuleDuplicateIndex) {
		t.Errorf("dup_agent in indexes[]: %+v", dup)
	}

	// The JSON document has the fields the schema promises.
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	_ = json.Unmarshal(b, &doc)
	for _, k := range []string{"schema", "statements", "findings", "indexes"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	f0 := doc["findings"].([]any)[0].(map[string]any)
	for _, k := range []string{"rule", "severity", "evidence", "fix"} {
		if _, ok := f0[k]; !ok {
			t.Errorf("finding JSON lacks %q: %v", k, f0)
		}
	}

	// Nothing changed: no reset, no prepared statement or transaction left.
	var resetAfter time.Time
	var prepared int
	if err := admin.QueryRow(ctx, "SELECT stats_reset FROM pg_stat_statements_info").Scan(&resetAfter); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'hishamos_perf_%'").Scan(&prepared); err != nil {
		t.Fatal(err)
	}
	if !resetAfter.Equal(resetBefore) || prepared != 0 || conn.PgConn().TxStatus() != 'I' {
		t.Errorf("reset %v -> %v, prepared statements %d, tx status %c", resetBefore, resetAfter, prepared, conn.PgConn().TxStatus())
	}
}

// TestAnalyzeInterval ranks only what ran between the two snapshots.
func TestAnalyzeInterval(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	admin := testdb.Conn(t, dsn)
	mustExec(t, admin, "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, 100) i")
	q := "SELECT v FROM t WHERE id = $1"
	runWorkload(t, dsn, q, 10, func(i int) []any { return []any{i + 1} })
	conn := safeConn(t, dsn, 30*time.Second)
	rep, err := Analyze(ctx, conn, Options{Interval: 300 * time.Millisecond, Explain: 5, SkipIndexes: true,
		// The progress line comes between the snapshots: run the
		// workload there.
		Progress: func(msg string) {
			if strings.Contains(msg, "waiting") {
				runWorkload(t, dsn, q, 37, func(i int) []any { return []any{i + 1} })
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Window.Mode != "interval" || rep.Window.Seconds <= 0 {
		t.Errorf("window %+v", rep.Window)
	}
	found := false
	for _, s := range rep.Statements {
		if s.Query == q {
			found = true
			if s.Calls != 37 || s.Rows != 37 {
				t.Errorf("interval calls %d rows %d, want 37 and 37 (10 ran before)", s.Calls, s.Rows)
			}
		}
	}
	if !found {
		t.Errorf("statement not ranked: %+v", rep.Statements)
	}

	// Nothing ran in the interval: an empty ranking with a note, no error.
	rep, err = Analyze(ctx, conn, Options{Interval: 100 * time.Millisecond, SkipIndexes: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Statements) != 0 || len(rep.Notes) == 0 || !strings.Contains(rep.Notes[0], "holds no statements") {
		t.Errorf("empty interval: %d statements, notes %v", len(rep.Statements), rep.Notes)
	}
}

// TestExplainer covers generic plans, ANALYZE of a write rolled back, and
// the errors of a statement that does not parse, runs too long or is not
// explainable.
func TestExplainer(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	admin := testdb.Conn(t, dsn)
	mustExec(t, admin, "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, 1000) i", "ANALYZE t")
	conn := safeConn(t, dsn, 500*time.Millisecond)
	rep, err := ExplainAll(ctx, conn, []Source{{SQL: "SELECT v FROM t WHERE id = $1 AND v <> $2", Index: 1}}, ExplainOptions{Analyze: true})
	if err != nil {
		t.Fatal(err)
	}
	x := rep.Statements[0]
	if !x.Generic || x.Analyzed || x.Note == "" || x.Plan.Root.IndexName != "t_pkey" || x.Fingerprint == "" {
		t.Errorf("generic plan: generic=%v analyzed=%v note=%q index=%q fp=%q", x.Generic, x.Analyzed, x.Note, x.Plan.Root.IndexName, x.Fingerprint)
	}
	if !strings.Contains(string(x.Explain), `"Index Cond": "(t.id = $1)"`) {
		t.Errorf("generic plan does not keep $1: %s", x.Explain)
	}

	// EXPLAIN ANALYZE of a write runs and is rolled back.
	rep, err = ExplainAll(ctx, conn, []Source{{SQL: "DELETE FROM t WHERE id <= 10;", Index: 1}}, ExplainOptions{Analyze: true})
	if err != nil {
		t.Fatal(err)
	}
	if x := rep.Statements[0]; !x.Analyzed || x.Transaction != "read write" || x.ActualRows == nil {
		t.Errorf("delete: analyzed=%v transaction=%q", x.Analyzed, x.Transaction)
	}
	var n int
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 1000 {
		t.Errorf("rows after EXPLAIN ANALYZE DELETE: %d (%v), want 1000", n, err)
	}

	// A syntax error points at its line and column in the file.
	_, err = ExplainAll(ctx, conn, []Source{{SQL: "SELECT *\n  FORM t", File: "w.sql", Line: 3, Index: 2}}, ExplainOptions{})
	var se *SQLError
	if !errors.As(err, &se) || se.Code != "42601" || se.Line != 4 || se.Column != 3 {
		t.Fatalf("syntax error = %#v", err)
	}
	if got := se.Error(); !strings.HasPrefix(got, `w.sql:4:3: syntax error at or near "FORM"`) {
		t.Errorf("message %q", got)
	}
	_, err = ExplainAll(ctx, conn, []Source{{SQL: "SELECT nope FROM t"}}, ExplainOptions{})
	if !errors.As(err, &se) || se.Code != "42703" || se.Column != 8 {
		t.Errorf("unknown column = %v", err)
	}

	// statement_timeout ends an ANALYZE that runs too long.
	_, err = ExplainAll(ctx, conn, []Source{{SQL: "SELECT pg_sleep(2)"}}, ExplainOptions{Analyze: true, StatementTimeout: 500 * time.Millisecond})
	if !errors.Is(err, ErrStatementTimeout) || !strings.Contains(err.Error(), "500ms") {
		t.Errorf("timeout = %v", err)
	}
	_, err = ExplainAll(ctx, conn, []Source{{SQL: "VACUUM t"}}, ExplainOptions{})
	if !errors.Is(err, ErrNotExplainable) {
		t.Errorf("VACUUM = %v", err)
	}
	// The session is usable and clean after each failure.
	var prepared int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'hishamos_perf_%'").Scan(&prepared); err != nil || prepared != 0 || conn.PgConn().TxStatus() != 'I' {
		t.Errorf("after errors: prepared %d, err %v, tx %c", prepared, err, conn.PgConn().TxStatus())
	}
}

// TestAnalyzePlanErrorsStayOnTheirRow: a statement that runs past
// statement_timeout under --analyze gets its error on its row; the others
// still get plans.
func TestAnalyzePlanErrorsStayOnTheirRow(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	admin := testdb.Conn(t, dsn)
	mustExec(t, admin,
		"CREATE TABLE t (id int PRIMARY KEY, v text)",
		"INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, 1000) i",
		"CREATE FUNCTION slow() RETURNS int LANGUAGE sql AS 'SELECT 1 FROM pg_sleep(0.6)'",
		"SELECT slow()",
		"SELECT count(*) FROM t",
	)
	conn := safeConn(t, dsn, 300*time.Millisecond)
	rep, err := Analyze(ctx, conn, Options{Explain: 50, Analyze: true, SkipIndexes: true, StatementTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var slow, count *Statement
	for i, s := range rep.Statements {
		switch s.Query {
		case "SELECT slow()":
			slow = &rep.Statements[i]
		case "SELECT count(*) FROM t":
			count = &rep.Statements[i]
		}
	}
	if slow == nil || slow.Plan != nil || !strings.Contains(slow.PlanError, "statement_timeout") {
		t.Errorf("slow statement: %+v", slow)
	}
	if count == nil || count.Plan == nil || !count.Plan.Analyzed {
		t.Errorf("count statement: %+v", count)
	}
}

// TestNoExtension: a database without the extension gets the statement to
// create it.
func TestNoExtension(t *testing.T) {
	dsn := testdb.NewDatabase(t)
	mustExec(t, testdb.Conn(t, dsn), "DROP EXTENSION pg_stat_statements")
	_, err := Analyze(context.Background(), safeConn(t, dsn, 30*time.Second), Options{})
	if !errors.Is(err, ErrNoPgStatStatements) || !strings.Contains(err.Error(), "CREATE EXTENSION pg_stat_statements;") {
		t.Errorf("err = %v", err)
	}
	if strings.Contains(err.Error(), "shared_preload_libraries") {
		t.Errorf("the sandbox preloads the library, yet: %v", err)
	}
}

// TestStatsPrivilege: a role without pg_read_all_stats is told which role
// to grant.
func TestStatsPrivilege(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	admin := testdb.Conn(t, dsn)
	role := fmt.Sprintf("limited_%d", time.Now().UnixNano()%1_000_000)
	mustExec(t, admin, "CREATE ROLE "+role+" LOGIN", "SELECT 1 AS seen_by_admin_only")
	t.Cleanup(func() {
		c := testdb.Conn(t, testdb.DSN())
		_, _ = c.Exec(context.Background(), "DROP ROLE IF EXISTS "+role)
	})
	if !strings.Contains(dsn, "://") {
		dsn += " user=" + role
	} else {
		t.Skip("role switch needs a keyword DSN")
	}
	_, err := Analyze(ctx, safeConn(t, dsn, 30*time.Second), Options{})
	if !errors.Is(err, ErrStatsPrivilege) || !strings.Contains(err.Error(), "GRANT pg_read_all_stats TO "+role+";") {
		t.Errorf("err = %v", err)
	}
}

// TestAnalyzeSamples: statements from a file (real values) are explained
// with ANALYZE and matched to the ranked statement by query identifier;
// one that matches nothing is listed after the ranking.
func TestAnalyzeSamples(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	admin := testdb.Conn(t, dsn)
	mustExec(t, admin, "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, 1000) i")
	// Literals, as Django sends them: pg_stat_statements shows $1.
	for i := range 5 {
		mustExec(t, admin, fmt.Sprintf("SELECT v FROM t WHERE id = %d", i+1))
	}
	samples, err := SplitSQL("slow.sql", "SELECT v FROM t WHERE id = 42;\nSELECT count(*) FROM t WHERE v LIKE 'v1%';")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Analyze(ctx, safeConn(t, dsn, 30*time.Second), Options{Explain: 10, Analyze: true, Samples: samples, SkipIndexes: true})
	if err != nil {
		t.Fatal(err)
	}
	var matched, extra *Statement
	for i, s := range rep.Statements {
		switch {
		case s.Query == "SELECT v FROM t WHERE id = $1":
			matched = &rep.Statements[i]
		case s.Source == "slow.sql:2":
			extra = &rep.Statements[i]
		}
	}
	if matched == nil || matched.Plan == nil || !matched.Plan.Analyzed || matched.Plan.Generic || matched.Calls != 5 {
		t.Errorf("ranked statement did not get the file's analyzed plan: %+v", matched)
	}
	if extra == nil || extra.Plan == nil || !extra.Plan.Analyzed || extra.Fingerprint == "" || extra.Rank != 0 {
		t.Errorf("unmatched file statement: %+v", extra)
	}
}
