package migrate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	proposals "github.com/hishamos/hishamos-perf/indexes"
	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// These tests reproduce the cases of issue 14 the migrate package owns:
// each one fails on the code before the fix.

// victimDB is a database with a table t to index and a table victim that
// no index migration may touch, both with rows.
func victimDB(t *testing.T) (dsn string, conn *pgx.Conn) {
	t.Helper()
	dsn = testdb.NewDatabase(t)
	conn = applier(t, dsn)
	mustExec(t, conn, `CREATE TABLE t (id int PRIMARY KEY, a int, b int)`)
	mustExec(t, conn, `INSERT INTO t SELECT g, g % 7, g % 11 FROM generate_series(1, 2000) g`)
	mustExec(t, conn, `CREATE TABLE victim (id serial PRIMARY KEY, note text)`)
	mustExec(t, conn, `INSERT INTO victim (note) SELECT 'row ' || g FROM generate_series(1, 50) g`)
	return dsn, conn
}

// unchanged fails the test when the database differs from before.
func unchanged(t *testing.T, dsn string, before testdb.Fingerprint, what string) {
	t.Helper()
	if diff := before.Diff(testdb.TakeFingerprint(t, dsn)); len(diff) > 0 {
		t.Errorf("%s changed the database:\n%s", what, strings.Join(diff, "\n"))
	}
}

// TestAdversarialDropTableMigration: a hand-added, rehashed migration
// holding DROP TABLE is a lint error and apply refuses it before anything
// runs (not even the planned file before it); with other DDL allowed it
// runs.
func TestAdversarialDropTableMigration(t *testing.T) {
	ctx := context.Background()
	for _, drop := range []string{"DROP TABLE victim;", "DROP TABLE public.victim;", "drop /* an index? */ table \"public\".victim cascade;"} {
		t.Run(drop, func(t *testing.T) {
			dsn, conn := victimDB(t)
			d := planDir(t, spec{Table: "t", Columns: []string{"a"}})
			addFile(t, d, "20250401000000_cleanup.sql", "-- atlas:txmode none\n\n"+drop+"\n")
			before := testdb.TakeFingerprint(t, dsn)

			for _, c := range []*pgx.Conn{nil, conn} {
				rep, err := Lint(ctx, c, d, LintOptions{BuildRate: 1e9})
				if err != nil {
					t.Fatal(err)
				}
				if f := findingsByRule(rep)[RuleOtherDDL.ID]; len(f) != 1 || f[0].Level != LevelError || f[0].Line != 3 || rep.Errors == 0 {
					t.Errorf("lint (connected %v): %s findings %+v, %d errors; want one error on line 3", c != nil, RuleOtherDDL.ID, f, rep.Errors)
				}
			}
			for _, dry := range []bool{true, false} {
				_, err := Apply(ctx, conn, d, ApplyOptions{DryRun: dry})
				var re *RefusedError
				if !errors.As(err, &re) || !errors.Is(err, ErrOtherDDL) || re.Line != 3 || !strings.HasSuffix(re.File, "_cleanup.sql") {
					t.Fatalf("Apply (dry run %v) = %v, want ErrOtherDDL on line 3 of the cleanup file", dry, err)
				}
				if !strings.Contains(err.Error(), "not an index statement") || strings.Contains(err.Error(), "\n") {
					t.Errorf("message: %q", err)
				}
			}
			if ix := indexes(t, conn, "t"); len(ix) != 0 {
				t.Errorf("the planned file before it ran: %v", ix)
			}
			unchanged(t, dsn, before, "a refused apply")
		})
	}
	t.Run("allowed", func(t *testing.T) {
		dsn, conn := victimDB(t)
		d := planDir(t, spec{Table: "t", Columns: []string{"a"}})
		addFile(t, d, "20250401000000_cleanup.sql", "-- atlas:txmode none\n\nDROP TABLE public.victim;\n")
		res, err := Apply(ctx, conn, d, ApplyOptions{AllowOtherDDL: true})
		if err != nil || len(res.Files) != 2 {
			t.Fatalf("Apply with other DDL allowed = %+v, %v", res, err)
		}
		var gone bool
		if err := conn.QueryRow(ctx, `SELECT to_regclass('public.victim') IS NULL`).Scan(&gone); err != nil || !gone {
			t.Errorf("victim still there (%v): the allowed statement did not run", err)
		}
		_ = dsn
	})
}

// TestAdversarialPlainCreateIndex: CREATE INDEX without CONCURRENTLY on an
// existing table is a lint error, apply (and a dry run, which bench --apply
// makes first) refuses it, and with other DDL allowed it builds.
func TestAdversarialPlainCreateIndex(t *testing.T) {
	ctx := context.Background()
	dsn, conn := victimDB(t)
	d := planDir(t)
	addFile(t, d, "20250401000000_plain.sql", "CREATE INDEX t_b_idx ON public.t (b);\n")
	before := testdb.TakeFingerprint(t, dsn)
	rep, err := Lint(ctx, nil, d, LintOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f := findingsByRule(rep)[RuleNotConcurrent.ID]; len(f) != 1 || f[0].Level != LevelError {
		t.Errorf("lint: %+v, want an HP101 error", rep.Findings)
	}
	for _, dry := range []bool{true, false} {
		_, err := Apply(ctx, conn, d, ApplyOptions{DryRun: dry})
		var re *RefusedError
		if !errors.As(err, &re) || !errors.Is(err, ErrBlockingIndex) || re.Line != 1 {
			t.Fatalf("Apply (dry run %v) = %v, want ErrBlockingIndex on line 1", dry, err)
		}
	}
	if ix := indexes(t, conn, "t"); len(ix) != 0 || revisionCount(t, conn) != 0 {
		t.Errorf("a refused apply built %v, wrote %d revisions", ix, revisionCount(t, conn))
	}
	unchanged(t, dsn, before, "a refused apply")
	if _, err := Apply(ctx, conn, d, ApplyOptions{AllowOtherDDL: true}); err != nil {
		t.Fatalf("Apply with other DDL allowed: %v", err)
	}
	if ix := indexes(t, conn, "t")["t_b_idx"]; !ix.valid {
		t.Errorf("t_b_idx not built with other DDL allowed")
	}
}

// TestAdversarialIndexStatementsPass: what an index migration needs passes
// without --allow-other-ddl: the partitioned-index sequence, COMMENT ON
// INDEX and DROP INDEX, all with schema-qualified names.
func TestAdversarialIndexStatementsPass(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	conn := applier(t, dsn)
	mustExec(t, conn, `CREATE TABLE m (id int, at date NOT NULL) PARTITION BY RANGE (at)`)
	mustExec(t, conn, `CREATE TABLE m_2025 PARTITION OF m FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')`)
	mustExec(t, conn, `INSERT INTO m SELECT g, date '2025-01-01' + g % 300 FROM generate_series(1, 500) g`)
	d := planDir(t)
	addFile(t, d, "1_parent.sql", "CREATE INDEX IF NOT EXISTS m_at_idx ON ONLY public.m (at);\nCOMMENT ON INDEX public.m_at_idx IS 'by day';\n")
	addFile(t, d, "2_child.sql", "-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY IF NOT EXISTS m_2025_at_idx ON public.m_2025 (at);\n")
	addFile(t, d, "3_attach.sql", "ALTER INDEX public.m_at_idx ATTACH PARTITION public.m_2025_at_idx;\n")
	addFile(t, d, "4_drop.sql", "-- atlas:txmode none\n\nDROP INDEX IF EXISTS public.no_such_idx;\n")
	if _, err := Apply(ctx, conn, d, ApplyOptions{}); err != nil {
		t.Fatalf("Apply of the partitioned-index sequence: %v", err)
	}
	var valid bool
	if err := conn.QueryRow(ctx, `SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.m_at_idx'::regclass`).Scan(&valid); err != nil || !valid {
		t.Errorf("the parent's index is not valid after the attach (%v)", err)
	}
	// What apply runs is decided by internal/sqlscan's Kind (its own
	// table test holds every kind): index statements only.
	for _, tc := range []struct {
		sql   string
		index bool
	}{
		{"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS x ON s.t (a)", true},
		{"DROP INDEX CONCURRENTLY IF EXISTS s.x", true},
		{"ALTER INDEX s.p ATTACH PARTITION s.c", true},
		{"COMMENT ON INDEX s.x IS 'y'", true},
		{"-- only a comment", true},
		{"ALTER INDEX s.x RENAME TO y", false},
		{"ALTER INDEX s.x SET TABLESPACE fast", false},
		{"DROP TABLE s.x", false},
		{"COMMENT ON TABLE s.x IS 'y'", false},
		{"SET search_path = other", false},
		{"SELECT pg_catalog.set_config('search_path', 'other', false)", false},
		{"DO $$ BEGIN EXECUTE 'DROP TABLE victim'; END $$", false},
		{"/* CREATE INDEX x ON t (a) */ TRUNCATE s.t", false},
	} {
		err := checkStatement("f.sql", Statement{SQL: tc.sql, Line: 1}, false)
		if tc.index && err != nil || !tc.index && !errors.Is(err, ErrOtherDDL) {
			t.Errorf("checkStatement(%q) = %v; want an index statement %v", tc.sql, err, tc.index)
		}
	}
	if err := checkStatement("f.sql", Statement{SQL: "CREATE INDEX x ON s.t (a); DROP TABLE s.t", Line: 1}, true); !errors.Is(err, ErrUnparsable) {
		t.Errorf("checkStatement of two statements = %v, want ErrUnparsable", err)
	}
}

// TestAdversarialDuplicateVersions: two pending files with one version are
// refused by Validate, Migrations, Lint, Apply and Status alike, naming
// both files, before anything runs; nothing panics.
func TestAdversarialDuplicateVersions(t *testing.T) {
	ctx := context.Background()
	dsn, conn := victimDB(t)
	d := planDir(t)
	addFile(t, d, "20250401000000_a.sql", "-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_a_idx ON public.t (a);\n")
	addFile(t, d, "20250401000000_b.sql", "-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_b_idx ON public.t (b);\n")
	before := testdb.TakeFingerprint(t, dsn)
	check := func(what string, err error) {
		t.Helper()
		var de *DuplicateVersionError
		if !errors.As(err, &de) || !errors.Is(err, ErrDuplicateVersion) {
			t.Errorf("%s = %v, want a DuplicateVersionError", what, err)
			return
		}
		if msg := err.Error(); !strings.Contains(msg, "20250401000000_a.sql") || !strings.Contains(msg, "20250401000000_b.sql") || strings.Contains(msg, "\n") {
			t.Errorf("%s: %q does not name both files on one line", what, msg)
		}
	}
	check("Validate", d.Validate())
	_, err := d.Migrations()
	check("Migrations", err)
	_, err = Lint(ctx, nil, d, LintOptions{})
	check("Lint offline", err)
	_, err = Lint(ctx, conn, d, LintOptions{BuildRate: 1e9})
	check("Lint", err)
	_, err = Apply(ctx, conn, d, ApplyOptions{})
	check("Apply", err)
	_, err = Status(ctx, conn, d, "")
	check("Status", err)
	if ix := indexes(t, conn, "t"); len(ix) != 0 || revisionCount(t, conn) != 0 {
		t.Errorf("built %v, wrote %d revisions", ix, revisionCount(t, conn))
	}
	unchanged(t, dsn, before, "a refused apply")
}

// TestAdversarialSearchPath: a proposal on "public"."Order", as indexes
// propose writes it and as an older proposals file wrote it, is planned
// schema-qualified and built on public."Order" by a session whose
// search_path finds another schema's "Order" first; status, on such a
// session too, agrees. A hand-written file with an unqualified table is
// refused, naming its file and line.
func TestAdversarialSearchPath(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	admin := applier(t, dsn)
	mustExec(t, admin, `CREATE SCHEMA other`)
	for _, s := range []string{"public", "other"} {
		mustExec(t, admin, fmt.Sprintf(`CREATE TABLE %s."Order" (id int PRIMARY KEY, status text, placed date)`, s))
		mustExec(t, admin, fmt.Sprintf(`INSERT INTO %s."Order" SELECT g, 'open', date '2025-01-01' + g %% 90 FROM generate_series(1, 500) g`, s))
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["search_path"] = "other, public"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	docs := map[string]string{
		"current": `{"schema":"hishamos-perf/indexes/v1","proposals":[{"schema":"public","table":"\"Order\"","columns":["status","placed"],"name":"order_status_placed_idx",
			"definition":"CREATE INDEX CONCURRENTLY \"order_status_placed_idx\" ON \"public\".\"Order\" USING btree (\"status\", \"placed\")"}]}`,
		"older": `{"schema":"hishamos-perf/indexes/v1","proposals":[{"table":"\"Order\"","columns":["status","placed"],"name":"order_status_placed_idx",
			"definition":"CREATE INDEX CONCURRENTLY \"order_status_placed_idx\" ON \"public\".\"Order\" USING btree (\"status\", \"placed\")"}]}`,
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			read, err := proposals.ReadProposals(strings.NewReader(doc), name+".json")
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "migrations")
			res, err := Plan(ctx, path, read.Defs(), PlanOptions{Now: planTime})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(res.Files[0].Up, `ON "public"."Order"`) || res.Files[0].Down != `DROP INDEX CONCURRENTLY IF EXISTS "public"."order_status_placed_idx"` {
				t.Fatalf("planned\n%s\n%s", res.Files[0].Up, res.Files[0].Down)
			}
			d, err := OpenDir(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Apply(ctx, conn, d, ApplyOptions{}); err != nil {
				t.Fatal(err)
			}
			if ix := indexes(t, admin, `public."Order"`); !ix["order_status_placed_idx"].valid {
				t.Errorf("public.\"Order\" has %v, want order_status_placed_idx valid", ix)
			}
			if ix := indexes(t, admin, `other."Order"`); len(ix) != 0 {
				t.Errorf("other.\"Order\" got an index: %v", ix)
			}
			st, err := Status(ctx, conn, d, "")
			if err != nil {
				t.Fatal(err)
			}
			if st.Applied != 1 || len(st.Drift) != 0 || st.Files[0].Indexes[0].State != IndexOK || st.Files[0].Indexes[0].Schema != "public" {
				t.Errorf("status: %+v", st.Files)
			}
			var path2 string
			conn.QueryRow(ctx, `SHOW search_path`).Scan(&path2)
			if path2 != "other, public" {
				t.Errorf("Apply and Status left the session's search_path at %q", path2)
			}
			if _, err := Down(ctx, conn, d, ApplyOptions{}); err != nil {
				t.Fatal(err)
			}
			if ix := indexes(t, admin, `public."Order"`); len(ix) != 0 {
				t.Errorf("down left %v", ix)
			}
		})
	}

	t.Run("hand-written unqualified", func(t *testing.T) {
		d := planDir(t)
		addFile(t, d, "20250401000000_by_hand.sql", "-- atlas:txmode none\n\n-- fast order lookups\nCREATE INDEX CONCURRENTLY IF NOT EXISTS order_status_idx ON \"Order\" (status);\n")
		before := testdb.TakeFingerprint(t, dsn)
		_, err := Apply(ctx, conn, d, ApplyOptions{})
		var re *RefusedError
		if !errors.As(err, &re) || !errors.Is(err, ErrUnqualified) || re.Line != 4 || re.Name.Name != "Order" {
			t.Fatalf("Apply = %v, want ErrUnqualified for \"Order\" on line 4", err)
		}
		if msg := err.Error(); !strings.Contains(msg, "20250401000000_by_hand.sql line 4") || !strings.Contains(msg, `<schema>."Order"`) {
			t.Errorf("message does not say where and how: %s", msg)
		}
		rep, err := Lint(ctx, nil, d, LintOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if f := findingsByRule(rep)[RuleUnqualified.ID]; len(f) != 1 || f[0].Line != 4 || f[0].Level != LevelError {
			t.Errorf("lint: %+v, want an HP112 error on line 4", rep.Findings)
		}
		st, err := Status(ctx, conn, d, "")
		if err != nil || st.Files[0].Indexes[0].State != IndexUnqualified {
			t.Errorf("status of the unqualified file: %+v, %v", st, err)
		}
		unchanged(t, dsn, before, "a refused apply")
	})

	t.Run("QualifyDefs", func(t *testing.T) {
		specs, err := QualifyDefs(ctx, conn, defs(spec{Table: "Order", Columns: []string{"status"}}, spec{Schema: "public", Table: "Order", Columns: []string{"placed"}}))
		if err != nil || specs[0].Schema != "other" || specs[1].Schema != "public" {
			t.Errorf("QualifyDefs = %+v, %v; want the search_path's other, and public kept", specs, err)
		}
		_, err = QualifyDefs(ctx, conn, defs(spec{Table: "no_such", Columns: []string{"a"}}))
		var ue *UnknownTableError
		if !errors.As(err, &ue) || !errors.Is(err, ErrNoSchema) || !strings.Contains(err.Error(), "other, public") {
			t.Errorf("QualifyDefs of a missing table = %v", err)
		}
		if _, err := Plan(ctx, filepath.Join(t.TempDir(), "m"), defs(spec{Table: "Order", Columns: []string{"status"}}), PlanOptions{}); !errors.Is(err, ErrNoSchema) || !errors.Is(err, ErrBadSpec) {
			t.Errorf("Plan of an unqualified spec = %v, want ErrNoSchema", err)
		}
	})
}

// TestAdversarialDetachedDirective: `-- atlas:txmode none` directly above a
// statement is not read by Atlas; the error says so and asks for the blank
// line, instead of asking for the line that is already there.
func TestAdversarialDetachedDirective(t *testing.T) {
	ctx := context.Background()
	dsn, conn := victimDB(t)
	d := planDir(t)
	addFile(t, d, "20250401000000_no_blank.sql", "-- atlas:txmode none\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_a_idx ON public.t (a);\n")
	before := testdb.TakeFingerprint(t, dsn)
	check := func(what string, err error) {
		t.Helper()
		var de *DirectiveError
		if !errors.As(err, &de) || de.Line != 1 {
			t.Errorf("%s = %v, want a DirectiveError on line 1", what, err)
			return
		}
		msg := err.Error()
		if !strings.Contains(msg, "20250401000000_no_blank.sql line 1") || !strings.Contains(msg, "add an empty line after it") || strings.Contains(msg, "head the file") {
			t.Errorf("%s: %s", what, msg)
		}
	}
	_, err := d.Migrations()
	check("Migrations", err)
	_, err = Apply(ctx, conn, d, ApplyOptions{})
	check("Apply", err)
	_, err = Lint(ctx, nil, d, LintOptions{})
	check("Lint", err)
	unchanged(t, dsn, before, "a refused apply")
	// With the blank line the same file applies.
	addFile(t, d, "20250401000000_no_blank.sql", "-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_a_idx ON public.t (a);\n")
	if _, err := Apply(ctx, conn, d, ApplyOptions{}); err != nil {
		t.Fatalf("Apply with the blank line: %v", err)
	}
}

// writer opens a transaction that has written to table and stays open,
// idle, as a forgotten psql session or a stuck worker would: a concurrent
// build has to wait for it.
func writer(t *testing.T, dsn, app, table string) pgx.Tx {
	t.Helper()
	tx, err := named(t, dsn, app).Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, tx, `UPDATE `+table+` SET b = b WHERE id = 1`)
	t.Cleanup(func() { tx.Rollback(context.Background()) })
	return tx
}

// TestAdversarialBlockedByWriter: a build blocked by an open writer
// transaction retries under its policy, leaves no INVALID index whether it
// gives up or is interrupted, names the writer whatever its age, and
// builds once the writer is gone.
func TestAdversarialBlockedByWriter(t *testing.T) {
	ctx := context.Background()
	fast := ApplyOptions{LockTimeout: 300 * time.Millisecond, Retries: 2, Backoff: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}

	t.Run("gives up", func(t *testing.T) {
		dsn, conn := victimDB(t)
		d := planDir(t, spec{Table: "t", Columns: []string{"a"}})
		w := writer(t, dsn, "stuck-worker", "public.t")
		// The revisions table is apply's to make; what must not change is
		// everything else.
		if err := NewRevisions(conn, "").Ensure(ctx); err != nil {
			t.Fatal(err)
		}
		before := testdb.TakeFingerprint(t, dsn)
		ev := &events{}
		o := fast
		o.Observer = ev.observe
		_, err := Apply(ctx, conn, d, o)
		var lte *LockTimeoutError
		if !errors.As(err, &lte) {
			t.Fatalf("Apply = %v, want a LockTimeoutError", err)
		}
		if lte.Attempts != 3 || ev.kinds()[EventRetry] != 2 {
			t.Errorf("attempts %d, retries reported %d: want 3 and 2", lte.Attempts, ev.kinds()[EventRetry])
		}
		if len(lte.Holders) == 0 || lte.Holders[0].ApplicationName != "stuck-worker" || lte.Holders[0].Mode != "RowExclusiveLock" ||
			lte.Holders[0].State != "idle in transaction" || lte.Holders[0].QueryStart == nil {
			t.Fatalf("holders %+v, want stuck-worker, idle in transaction, holding RowExclusiveLock, with its query start", lte.Holders)
		}
		msg := err.Error()
		for _, want := range []string{fmt.Sprintf("blocked by pid %d (stuck-worker)", lte.Holders[0].PID), "idle in transaction", "its query started", "nothing was changed"} {
			if !strings.Contains(msg, want) {
				t.Errorf("message does not say %q: %s", want, msg)
			}
		}
		var named bool
		for _, e := range ev.all {
			named = named || e.Kind == EventLongTransaction && e.Holder != nil && e.Holder.ApplicationName == "stuck-worker"
		}
		if !named {
			t.Errorf("the writer (seconds old, under the long-transaction age) was not named while apply waited: %v", ev.kinds())
		}
		if ix := indexes(t, conn, "public.t"); len(ix) != 0 || revisionCount(t, conn) != 0 {
			t.Errorf("left behind: %v, %d revisions", ix, revisionCount(t, conn))
		}
		unchanged(t, dsn, before, "a blocked apply")
		w.Rollback(ctx)
		if _, err := Apply(ctx, conn, d, fast); err != nil {
			t.Fatalf("apply once the writer is gone: %v", err)
		}
	})

	t.Run("retries until the writer ends", func(t *testing.T) {
		dsn, conn := victimDB(t)
		d := planDir(t, spec{Table: "t", Columns: []string{"a"}})
		w := writer(t, dsn, "slow-batch", "public.t")
		ended := make(chan struct{})
		o := fast
		o.Retries = 10
		o.Observer = func(e Event) {
			if e.Kind == EventRetry && e.Attempt == 1 {
				go func() { w.Commit(ctx); close(ended) }()
			}
		}
		res, err := Apply(ctx, conn, d, o)
		if err != nil || len(res.Files) != 1 || res.Files[0].Status != "applied" {
			t.Fatalf("Apply = %+v, %v; want it applied once the writer committed", res, err)
		}
		<-ended
		if ix := indexes(t, conn, "public.t")["t_a_idx"]; !ix.valid || !ix.ready {
			t.Errorf("t_a_idx not valid after the retries")
		}
	})

	t.Run("interrupted", func(t *testing.T) {
		dsn, conn := victimDB(t)
		d := planDir(t, spec{Table: "t", Columns: []string{"a"}})
		writer(t, dsn, "stuck-worker", "public.t")
		actx, cancel := context.WithCancel(ctx)
		o := fast
		o.LockTimeout, o.Retries = time.Minute, NoRetries
		o.Observer = func(e Event) {
			if e.Kind == EventLongTransaction {
				cancel()
			}
		}
		_, err := Apply(actx, conn, d, o)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Apply = %v, want context.Canceled", err)
		}
		var le *LeftoverError
		if errors.As(err, &le) {
			t.Errorf("an interrupted wait says it left %s", le.Index)
		}
		if ix := indexes(t, conn, "public.t"); len(ix) != 0 {
			t.Errorf("left behind: %v", ix)
		}
	})

	// A reader's snapshot, older than the build, holds the build in its
	// last phase, once its INVALID index is in the catalog, and its lock
	// on the table holds that index's DROP too: apply retries, then names
	// the index it could not drop and who is in the way; once the reader is
	// gone, apply drops it and builds.
	t.Run("leftover that cannot be dropped", func(t *testing.T) {
		dsn, conn := victimDB(t)
		d := planDir(t, spec{Table: "t", Columns: []string{"a"}})
		reader, err := named(t, dsn, "monthly-report").Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		mustExec(t, reader, `SET TRANSACTION ISOLATION LEVEL REPEATABLE READ`)
		mustExec(t, reader, `SELECT count(*) FROM public.t`)
		_, err = Apply(ctx, conn, d, fast)
		var lte *LockTimeoutError
		if !errors.As(err, &lte) || lte.Leftover != "t_a_idx" {
			t.Fatalf("Apply = %v, want a LockTimeoutError with t_a_idx left", err)
		}
		if msg := err.Error(); !strings.Contains(msg, "monthly-report") || !strings.Contains(msg, "INVALID index t_a_idx is left") || !strings.Contains(msg, "run apply again") {
			t.Errorf("message: %s", msg)
		}
		if ix, ok := indexes(t, conn, "public.t")["t_a_idx"]; !ok || ix.valid {
			t.Fatalf("t_a_idx %+v (present %v), want INVALID", ix, ok)
		}
		reader.Rollback(ctx)
		ev := &events{}
		o := fast
		o.Observer = ev.observe
		if _, err := Apply(ctx, conn, d, o); err != nil {
			t.Fatalf("apply once the reader is gone: %v", err)
		}
		if ix := indexes(t, conn, "public.t")["t_a_idx"]; !ix.valid || ev.kinds()[EventDropInvalid] != 1 {
			t.Errorf("t_a_idx valid %v, drop-invalid events %d", ix.valid, ev.kinds()[EventDropInvalid])
		}
	})
}

// TestAdversarialAtlasPasswordNotInArgv: the atlas child gets the
// password in its environment (PGPASSWORD, which lib/pq, atlas's driver,
// reads), never on its command line, which every user of the machine can
// read in ps or /proc/<pid>/cmdline.
func TestAdversarialAtlasPasswordNotInArgv(t *testing.T) {
	const password = "s3cret-pw-Zq9"
	bin := t.TempDir()
	out := t.TempDir()
	script := "#!/bin/sh\n" +
		"echo $$ > " + out + "/pid.tmp && mv " + out + "/pid.tmp " + out + "/pid\n" +
		"printf '%s\\n' \"$@\" > " + out + "/argv\n" +
		"printf '%s' \"${PGPASSWORD-unset}\" > " + out + "/pgpassword\n" +
		"while [ ! -e " + out + "/go ]; do sleep 0.05; done\n" +
		`echo '{"Pending":[],"Current":"1","Target":"1"}'` + "\n"
	if err := os.WriteFile(filepath.Join(bin, "atlas"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	e, err := NewAtlasEngine("")
	if err != nil {
		t.Fatal(err)
	}
	d := planDir(t, seedSpecs[0])
	for _, dsn := range []string{
		"postgres://app:" + password + "@db.internal:6543/app",
		"host=/tmp/sock port=5433 user=app password=" + password + " dbname=app",
	} {
		for _, f := range []string{"pid", "argv", "pgpassword", "go"} {
			os.Remove(filepath.Join(out, f))
		}
		done := make(chan error, 1)
		go func() {
			_, err := e.Apply(context.Background(), dsn, d, ApplyOptions{})
			done <- err
		}()
		var pid []byte
		for deadline := time.Now().Add(30 * time.Second); len(pid) == 0; {
			if time.Now().After(deadline) {
				t.Fatal("the stand-in atlas did not start")
			}
			time.Sleep(10 * time.Millisecond)
			pid, _ = os.ReadFile(filepath.Join(out, "pid"))
		}
		proc := "/proc/" + strings.TrimSpace(string(pid))
		cmdline, err := os.ReadFile(proc + "/cmdline")
		if err != nil {
			t.Fatalf("read the running child's cmdline: %v", err)
		}
		environ, err := os.ReadFile(proc + "/environ")
		if err != nil {
			t.Fatalf("read the running child's environment: %v", err)
		}
		os.WriteFile(filepath.Join(out, "go"), nil, 0o644)
		if err := <-done; err != nil {
			t.Fatalf("Apply through the stand-in: %v", err)
		}
		argv, _ := os.ReadFile(filepath.Join(out, "argv"))
		got, _ := os.ReadFile(filepath.Join(out, "pgpassword"))
		if strings.Contains(string(cmdline), password) || strings.Contains(string(argv), password) {
			t.Errorf("the password is on the child's command line:\n%s", strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
		if !strings.Contains(string(argv), "--url\npostgres://app@") {
			t.Errorf("the child's --url is not the password-less URL:\n%s", argv)
		}
		if string(got) != password || !strings.Contains("\x00"+string(environ), "\x00PGPASSWORD="+password+"\x00") {
			t.Errorf("the child's PGPASSWORD is %q, want the DSN's password", got)
		}
	}
	// No password anywhere: none is made up, and none leaks from ours.
	t.Setenv("PGPASSWORD", "")
	os.Remove(filepath.Join(out, "go"))
	go func() {
		for os.WriteFile(filepath.Join(out, "go"), nil, 0o644) != nil {
			time.Sleep(10 * time.Millisecond)
		}
	}()
	if _, err := e.Status(context.Background(), "postgres://app@db.internal:6543/app", d, ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(out, "pgpassword")); string(got) != "unset" {
		t.Errorf("PGPASSWORD in the child without a password: %q", got)
	}
}

// TestAdversarialOwnerHintOnce: a build refused because the role does not
// own the table says the ALTER TABLE … OWNER TO that fixes it once, ending
// in one semicolon, and marks the error so nothing adds it again.
func TestAdversarialOwnerHintOnce(t *testing.T) {
	ctx := context.Background()
	dsn, admin := victimDB(t)
	role := fmt.Sprintf("notowner_%d", time.Now().UnixNano()%1e9)
	mustExec(t, admin, `CREATE ROLE `+role+` LOGIN PASSWORD 'pw-notowner'`)
	t.Cleanup(func() {
		c := testdb.Conn(t, dsn)
		c.Exec(ctx, `DROP OWNED BY `+role)
		c.Exec(ctx, `DROP ROLE `+role)
	})
	var db string
	admin.QueryRow(ctx, `SELECT current_database()`).Scan(&db)
	mustExec(t, admin, `GRANT CREATE ON DATABASE `+pgx.Identifier{db}.Sanitize()+` TO `+role)
	mustExec(t, admin, `GRANT CREATE ON SCHEMA public TO `+role)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.User, cfg.Password = role, "pw-notowner"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	d := planDir(t, spec{Table: "t", Columns: []string{"a"}})
	_, err = Apply(ctx, conn, d, ApplyOptions{})
	if err == nil {
		t.Fatal("a role that does not own the table built an index on it")
	}
	msg := err.Error()
	fix := "ALTER TABLE t OWNER TO " + role + ";"
	if strings.Count(msg, "OWNER TO") != 1 || !strings.HasSuffix(msg, ": run "+fix) || strings.Contains(msg, ";;") {
		t.Errorf("message: %s\nwant the fix once, at the end: run %s", msg, fix)
	}
	if !errors.Is(err, pg.ErrPrivilege) {
		t.Errorf("the error is not marked as a privilege error: a caller would add the fix again")
	}
	if again := pg.PrivilegeError(err, role, "CREATE"); again.Error() != msg {
		t.Errorf("the fix was added again: %s", again)
	}
}
