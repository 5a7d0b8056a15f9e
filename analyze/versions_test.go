package analyze

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// The tests in this file pin what differs between the PostgreSQL versions
// the tool supports. make test-versions runs them on 14, 15, 16, 17 and
// 18; on one server they check that server's side of each difference.

// serverMajor is the test server's major version.
func serverMajor(t *testing.T, dsn string) int {
	t.Helper()
	var v int
	if err := testdb.Conn(t, dsn).QueryRow(context.Background(), "SELECT current_setting('server_version_num')::int").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v / 10000
}

// TestGenericPlanUntypedParameters: a parameter whose type the server
// cannot choose (generate_series($1, $2) is not unique; $4 IS NULL has no
// type) fails EXPLAIN (GENERIC_PLAN) on 16+ and PREPARE before; the
// explainer then gives such parameters types, says which, and plans it.
func TestGenericPlanUntypedParameters(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	admin := testdb.Conn(t, dsn)
	mustExec(t, admin, "CREATE TABLE t (id bigint PRIMARY KEY, v text)", "INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, 1000) i", "ANALYZE t")
	conn := safeConn(t, dsn, 5*time.Second)
	for _, tc := range []struct {
		name, sql, note string
	}{
		{"generate_series of two parameters", "SELECT * FROM generate_series($1, $2)", "every parameter taken as bigint"},
		{"one ambiguous call among typed parameters", "SELECT id FROM t WHERE v = $1 AND id IN (SELECT generate_series($2, $3)) AND $4 IS NULL", "$2 as bigint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := ExplainAll(ctx, conn, []Source{{SQL: tc.sql, Index: 1}}, ExplainOptions{})
			if err != nil {
				t.Fatal(err)
			}
			x := rep.Statements[0]
			if !x.Generic || x.Plan == nil {
				t.Fatalf("generic=%v plan=%v; want a generic plan", x.Generic, x.Plan != nil)
			}
			if !strings.Contains(x.Note, tc.note) || !strings.Contains(x.Note, "could not choose") {
				t.Errorf("note %q; want it to say %q and why", x.Note, tc.note)
			}
		})
	}
	// Every failed attempt was rolled back and deallocated.
	var prepared int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'hishamos_perf_%'").Scan(&prepared); err != nil || prepared != 0 || conn.PgConn().TxStatus() != 'I' {
		t.Errorf("after the attempts: %d prepared statements (%v), transaction status %c", prepared, err, conn.PgConn().TxStatus())
	}
	// What no type fixes still says what the server said.
	_, err := ExplainAll(ctx, conn, []Source{{SQL: "SELECT * FROM generate_series($1, $2) WHERE $1 = 'x'::bytea", Index: 1}}, ExplainOptions{})
	var se *SQLError
	if err == nil || !strings.Contains(err.Error(), "generate_series") || !errors.As(err, &se) {
		t.Errorf("unfixable statement: err = %v; want the server's error about generate_series", err)
	}
}

// TestStatStatementsColumnsPerVersion reads pg_stat_statements through the
// column map of the server's extension version (1.9 on 14, 1.10 on 15 and
// 16, 1.11 on 17, 1.12 on 18), and on 18 the parallel worker counts of a
// statement that ran in parallel; before 18 they are absent.
func TestStatStatementsColumnsPerVersion(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	admin := testdb.Conn(t, dsn)
	major := serverMajor(t, dsn)
	mustExec(t, admin, "CREATE TABLE big (id bigint, v int)", "INSERT INTO big SELECT i, i % 7 FROM generate_series(1, 200000) i", "ANALYZE big")
	conn := testdb.Conn(t, dsn)
	mustExec(t, conn, "SET parallel_setup_cost = 0", "SET parallel_tuple_cost = 0", "SET min_parallel_table_scan_size = 0",
		"SET max_parallel_workers_per_gather = 2", "SET track_io_timing = on")
	for range 3 {
		mustExec(t, conn, "SELECT count(*), sum(v) FROM big WHERE v = 3")
	}
	srv, err := Inspect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]string{14: "1.9", 15: "1.10", 16: "1.10", 17: "1.11", 18: "1.12"}[major]
	if srv.Extension != want {
		t.Errorf("PostgreSQL %d has pg_stat_statements %s; the column map expects %s", major, srv.Extension, want)
	}
	snap, err := ReadStatements(ctx, admin, srv)
	if err != nil {
		t.Fatal(err)
	}
	var st *Statement
	for i := range snap.Statements {
		if strings.Contains(snap.Statements[i].Query, "FROM big WHERE") {
			st = &snap.Statements[i]
		}
	}
	if st == nil {
		t.Fatalf("the parallel statement is not in pg_stat_statements")
	}
	if st.Calls != 3 || st.SharedBlksHit+st.SharedBlksRead == 0 {
		t.Errorf("calls %d, shared blocks %d; want 3 calls that read blocks", st.Calls, st.SharedBlksHit+st.SharedBlksRead)
	}
	if major >= 18 {
		if st.ParallelWorkersToLaunch == nil || *st.ParallelWorkersToLaunch <= 0 || st.ParallelWorkersLaunched == nil || st.WALBuffersFull == nil {
			t.Errorf("PostgreSQL 18: workers to launch %v, launched %v, wal_buffers_full %v; want counts", st.ParallelWorkersToLaunch, st.ParallelWorkersLaunched, st.WALBuffersFull)
		}
	} else if st.ParallelWorkersToLaunch != nil || st.ParallelWorkersLaunched != nil || st.WALBuffersFull != nil {
		t.Errorf("PostgreSQL %d has no parallel worker counts, yet they read %v, %v, %v", major, st.ParallelWorkersToLaunch, st.ParallelWorkersLaunched, st.WALBuffersFull)
	}
}

// TestGoldenPlansIndexSearchesPG18: PostgreSQL 18's EXPLAIN ANALYZE shows
// "Index Searches" on index scans; the parser keeps it on the node. The
// plans captured from the other versions have none.
func TestGoldenPlansIndexSearchesPG18(t *testing.T) {
	for _, version := range goldenVersions(t) {
		p, _ := loadCaseFor(t, version, planCases[0]) // healthy: an index scan by primary key, analyzed
		var searches float64
		for _, n := range p.Nodes() {
			searches += n.IndexSearches
		}
		switch {
		case version == "pg18" && searches != 1:
			t.Errorf("%s: %v index searches in the primary-key lookup, want 1", version, searches)
		case version != "pg18" && searches != 0:
			t.Errorf("%s: %v index searches; only 18 shows them", version, searches)
		}
	}
	if _, err := os.Stat(planPathFor("pg18", planCases[0].name, ".json")); err != nil {
		t.Errorf("no plans captured from PostgreSQL 18: %v", err)
	}
}

// TestOwnStatementsLeftOut: the tool's own statements (its reads of the
// catalogs and of pg_stat_statements, its EXPLAINs) never show in the
// ranking. PostgreSQL 18 stores a statement's text without the comment
// before it, so Tagged marks it after too; the test reads what the server
// stored for a tagged statement and checks the ranking on every version.
func TestOwnStatementsLeftOut(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	admin := testdb.Conn(t, dsn)
	major := serverMajor(t, dsn)
	mustExec(t, admin, "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, 100) i")
	conn := safeConn(t, dsn, 5*time.Second)
	for range 2 {
		if _, err := Analyze(ctx, conn, Options{Explain: 5}); err != nil {
			t.Fatal(err)
		}
		if _, err := ExplainAll(ctx, conn, []Source{{SQL: "SELECT v FROM t WHERE id = $1", Index: 1}}, ExplainOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Exec(ctx, Tagged("SELECT 424242 AS own_probe")); err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := admin.QueryRow(ctx, "SELECT query FROM pg_stat_statements WHERE query LIKE '%own_probe%' AND query NOT LIKE '%pg_stat_statements%'").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	startsTagged, endsTagged := strings.HasPrefix(stored, Tag), strings.HasSuffix(stored, tagEnd)
	if major >= 18 && (startsTagged || !endsTagged) || major < 18 && !startsTagged {
		t.Errorf("PostgreSQL %d stored %q for a tagged statement", major, stored)
	}
	rep, err := Analyze(ctx, conn, Options{Explain: 0})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rep.Statements {
		if strings.Contains(s.Query, "hishamos-perf") || strings.Contains(s.Query, "pg_roles r ON r.oid = s.userid") || strings.Contains(s.Query, "own_probe") || strings.HasPrefix(s.Query, "EXPLAIN") {
			t.Errorf("PostgreSQL %d: the tool's own statement is ranked: %q", major, s.Query)
		}
	}
}
