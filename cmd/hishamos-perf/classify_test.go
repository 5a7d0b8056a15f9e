package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hishamos/hishamos-perf/analyze"
	"github.com/hishamos/hishamos-perf/bench"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
	"github.com/hishamos/hishamos-perf/internal/testdb"
	"github.com/hishamos/hishamos-perf/migrate"
	"github.com/hishamos/hishamos-perf/profiles"
)

// TestOneAnswerEverywhere is issue 15's check that a statement means one
// thing wherever it is asked: profile validation, bench's workloads (a
// .sql file and a profile), analyze's explain path and migrate's apply
// check each give internal/sqlscan's answer, on the real server. Before,
// validation took SELECT … INTO, FOR SHARE, FOR KEY SHARE, SHOW and EXPLAIN
// for reads and bench for writes.
//
// The answers: a read-only statement is accepted unmarked by validation,
// measured as a read by bench and explained in a READ ONLY transaction;
// anything else must be marked write: true, is measured as a write (only
// with --allow-writes) and explained in a READ WRITE one, both rolled
// back. What EXPLAIN does not take, bench refuses and analyze does not
// explain. migrate's apply runs index statements only.
func TestOneAnswerEverywhere(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	conn := testdb.Conn(t, dsn)
	for _, s := range []string{
		"CREATE TABLE t (id int PRIMARY KEY, a int)",
		"INSERT INTO t SELECT g, g % 7 FROM generate_series(1, 100) g",
		"CREATE SEQUENCE s",
		"CREATE PROCEDURE p() LANGUAGE sql AS $$ SELECT 1 $$",
	} {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	before := testdb.TakeFingerprint(t, dsn)
	for _, sql := range []string{
		"SELECT a FROM t WHERE id = 1",
		"WITH x AS (SELECT 1 AS one) SELECT one FROM x",
		"VALUES (1), (2)",
		"SELECT * INTO t_copy FROM t",
		"SELECT * FROM t WHERE id = 1 FOR UPDATE",
		"SELECT * FROM t WHERE id = 1 FOR NO KEY UPDATE",
		"SELECT * FROM t WHERE id = 1 FOR SHARE",
		"SELECT * FROM t WHERE id = 1 FOR KEY SHARE",
		"SHOW work_mem",
		"EXPLAIN SELECT * FROM t",
		"EXPLAIN ANALYZE DELETE FROM t WHERE id = 1",
		"WITH d AS (DELETE FROM t WHERE id = 1 RETURNING *) SELECT * FROM d",
		"UPDATE t SET a = 0 WHERE id = 2",
		"CALL p()",
		"DO $$ BEGIN PERFORM 1; END $$",
		"COPY t TO PROGRAM 'true'",
		// A VOLATILE function: read-only to the classifier, refused by
		// the READ ONLY transaction the server runs it in.
		"SELECT nextval('s')",
		"SET work_mem = '1GB'",
		"CREATE INDEX CONCURRENTLY IF NOT EXISTS t_a_idx ON public.t (a)",
	} {
		st, err := sqlscan.ParseOne(sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		t.Run(sql, func(t *testing.T) {
			// Profile validation: a statement not marked write.
			yaml := "name: p\nstatements:\n  - name: s\n    sql: '" + strings.ReplaceAll(sql, "'", "''") + "'\n"
			if _, err := profiles.Parse("p.yaml", []byte(yaml)); (err == nil) != st.ReadOnly {
				t.Errorf("profile validation: %v; the classifier says read-only %v", err, st.ReadOnly)
			}

			// bench: a .sql file, and a profile not validated.
			measured := func(w *bench.Workload, err error) {
				t.Helper()
				switch {
				case !st.Explainable:
					if !errors.Is(err, bench.ErrWorkload) || !strings.Contains(err.Error(), "only queries and DML") {
						t.Errorf("bench took a statement EXPLAIN does not: %v", err)
					}
				case err != nil:
					t.Errorf("bench: %v", err)
				case w.Statements[0].Write == st.ReadOnly:
					t.Errorf("bench: write %v; the classifier says read-only %v", w.Statements[0].Write, st.ReadOnly)
				}
			}
			measured(bench.FromSQL("w.sql", []byte(sql+";\n")))
			measured(bench.FromProfile(&profiles.Profile{Name: "p", Statements: []profiles.Statement{{Name: "s", SQL: sql, Weight: 1}}}, profiles.After))

			// analyze: explain --analyze.
			rep, err := analyze.ExplainAll(ctx, conn, []analyze.Source{{SQL: sql}}, analyze.ExplainOptions{Analyze: true})
			switch {
			case !st.Explainable:
				if !errors.Is(err, analyze.ErrNotExplainable) {
					t.Errorf("explain of a statement EXPLAIN does not take: %v", err)
				}
			case err != nil && strings.Contains(err.Error(), "in a read-only transaction"):
				if !st.ReadOnly {
					t.Errorf("explain ran a write in a READ ONLY transaction: %v", err)
				}
			case err != nil:
				t.Errorf("explain: %v", err)
			case (rep.Statements[0].Transaction == "read only") != st.ReadOnly:
				t.Errorf("explain ran it in a %s transaction; the classifier says read-only %v", rep.Statements[0].Transaction, st.ReadOnly)
			}

			// migrate: apply's check of a pending file.
			path := filepath.Join(t.TempDir(), "m")
			d, err := migrate.CreateDir(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(path, "20250101000000_x.sql"), []byte("-- atlas:txmode none\n\n"+sql+";\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Hash(); err != nil {
				t.Fatal(err)
			}
			err = migrate.CheckPending(ctx, conn, d, "", false)
			if index := st.Kind == sqlscan.KindCreateIndex; index != (err == nil) || !index && !errors.Is(err, migrate.ErrOtherDDL) {
				t.Errorf("apply's check: %v; the classifier says %s", err, st.Kind)
			}
		})
	}
	if diff := before.Diff(testdb.TakeFingerprint(t, dsn)); len(diff) > 0 {
		// The rollbacks undo every write but the sequence a nextval in a
		// write would take, and none of these takes one.
		t.Errorf("asking changed the database: %v", diff)
	}
}
