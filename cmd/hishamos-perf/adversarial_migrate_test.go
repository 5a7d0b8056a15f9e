package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// These tests reproduce, through the CLI, the cases of issue 14 that
// migrate's commands own.

// victimDB is a database with a table t to index and a table victim that
// no index migration may touch, both with rows, and a superuser session.
func victimDB(t *testing.T) (string, *pgx.Conn) {
	t.Helper()
	dsn := testdb.NewDatabase(t)
	conn := testdb.Conn(t, dsn)
	for _, s := range []string{
		`CREATE TABLE t (id int PRIMARY KEY, a int, b int)`,
		`INSERT INTO t SELECT g, g % 7, g % 11 FROM generate_series(1, 2000) g`,
		`CREATE TABLE victim (id serial PRIMARY KEY, note text)`,
		`INSERT INTO victim (note) SELECT 'row ' || g FROM generate_series(1, 50) g`,
	} {
		if _, err := conn.Exec(context.Background(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return dsn, conn
}

// planT plans one index on public.t from a proposals file as indexes
// propose writes it, and returns the directory.
func planT(t *testing.T, column string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "migrations")
	props := writeFile(t, "proposals.json", fmt.Sprintf(`{"schema":"hishamos-perf/indexes/v1","proposals":[{"schema":"public","table":"t","columns":[%q]}]}`, column))
	if r := cli(t, "-q", "indexes", "plan", "--from", props, "--dir", dir); r.code != 0 {
		t.Fatalf("plan: exit %d\n%s", r.code, r.stderr)
	}
	return dir
}

// addMigration writes a hand-made file into dir and rehashes it, as
// someone slipping a file past review would.
func addMigration(t *testing.T, dir, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := cli(t, "-q", "migrate", "hash", "--dir", dir); r.code != 0 {
		t.Fatalf("hash: exit %d\n%s", r.code, r.stderr)
	}
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// oneLineError fails the test unless stderr is one line (and at most a
// usage hint) holding every want.
func oneLineError(t *testing.T, what string, r result, code int, want ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("%s: exit %d, want %d\n%s", what, r.code, code, r.stderr)
	}
	if strings.Contains(r.stderr, "goroutine ") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
		t.Errorf("%s: want one line, got:\n%s", what, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("%s: stderr does not say %q:\n%s", what, w, r.stderr)
		}
	}
}

// TestAdversarialApplyRunsIndexStatementsOnly: a rehashed migration that
// drops a table, and a plain CREATE INDEX, fail lint, and indexes apply,
// migrate apply --dry-run and bench --apply refuse them with exit 2 before
// anything runs; --allow-other-ddl lets them run.
func TestAdversarialApplyRunsIndexStatementsOnly(t *testing.T) {
	cases := []struct {
		name, file, sql, refusal string
		after                    string // a query true once the file ran
	}{
		{"drop table", "20300101000000_cleanup.sql", "-- atlas:txmode none\n\nDROP TABLE public.victim;\n", "not an index statement",
			`SELECT to_regclass('public.victim') IS NULL`},
		{"plain create index", "20300101000000_plain.sql", "CREATE INDEX t_b_idx ON public.t (b);\n", "without CONCURRENTLY",
			`SELECT EXISTS (SELECT FROM pg_index WHERE indexrelid = to_regclass('public.t_b_idx') AND indisvalid)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dsn, conn := victimDB(t)
			dir := planT(t, "a")
			addMigration(t, dir, c.file, c.sql)
			before := testdb.TakeFingerprint(t, dsn)

			r := cli(t, "--dsn", dsn, "migrate", "lint", "--dir", dir, "--format", "github")
			if r.code != 1 || !strings.Contains(r.stdout, "::error file="+filepath.Join(dir, c.file)) {
				t.Errorf("lint: exit %d, want 1 with an error on %s:\n%s%s", r.code, c.file, r.stdout, r.stderr)
			}
			sqlFile := writeFile(t, "q.sql", "-- name: lookup\nSELECT a FROM t WHERE id = 7;\n")
			for _, args := range [][]string{
				{"indexes", "apply", "--dir", dir},
				{"migrate", "apply", "--dir", dir, "--dry-run"},
				{"bench", "--workload", sqlFile, "--iterations", "3", "--warmup", "0", "--apply", dir},
			} {
				r := cli(t, append([]string{"--dsn", dsn}, args...)...)
				want := []string{c.file, c.refusal}
				if args[0] != "bench" {
					want = append(want, "--allow-other-ddl")
				}
				oneLineError(t, strings.Join(args[:2], " "), r, 2, want...)
			}
			var built bool
			conn.QueryRow(context.Background(), `SELECT EXISTS (SELECT FROM pg_class WHERE relname = 't_a_idx')`).Scan(&built)
			if built {
				t.Errorf("the planned file before the refused one was applied")
			}
			if diff := before.Diff(testdb.TakeFingerprint(t, dsn)); len(diff) > 0 {
				t.Errorf("a refused apply changed the database:\n%s", strings.Join(diff, "\n"))
			}

			if r := cli(t, "--dsn", dsn, "-q", "indexes", "apply", "--dir", dir, "--allow-other-ddl"); r.code != 0 {
				t.Fatalf("apply --allow-other-ddl: exit %d\n%s", r.code, r.stderr)
			}
			var ran bool
			if err := conn.QueryRow(context.Background(), c.after).Scan(&ran); err != nil || !ran {
				t.Errorf("with --allow-other-ddl the file did not run (%v)", err)
			}
		})
	}
}

// TestAdversarialDuplicateVersionsCLI: two pending files with one version:
// validate, lint, apply and status exit 2 naming both, nothing is built
// and no revision written.
func TestAdversarialDuplicateVersionsCLI(t *testing.T) {
	dsn, conn := victimDB(t)
	dir := planT(t, "a")
	addMigration(t, dir, "20300101000000_one.sql", "-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_b_idx ON public.t (b);\n")
	addMigration(t, dir, "20300101000000_two.sql", "-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_ab_idx ON public.t (a, b);\n")
	before := testdb.TakeFingerprint(t, dsn)
	for _, args := range [][]string{
		{"migrate", "validate", "--dir", dir},
		{"migrate", "lint", "--offline", "--dir", dir},
		{"--dsn", dsn, "migrate", "lint", "--dir", dir},
		{"--dsn", dsn, "indexes", "apply", "--dir", dir},
		{"--dsn", dsn, "migrate", "status", "--dir", dir},
	} {
		oneLineError(t, strings.Join(args, " "), cli(t, args...), 2, "20300101000000_one.sql", "20300101000000_two.sql", "same version")
	}
	var n int
	conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_index WHERE indrelid = 'public.t'::regclass AND NOT indisprimary`).Scan(&n)
	if n != 0 {
		t.Errorf("%d indexes built", n)
	}
	if diff := before.Diff(testdb.TakeFingerprint(t, dsn)); len(diff) > 0 {
		t.Errorf("refused commands changed the database (a revisions table counts):\n%s", strings.Join(diff, "\n"))
	}
}

// withSearchPath returns dsn with a search_path for its sessions.
func withSearchPath(dsn, path string) string {
	if strings.Contains(dsn, "://") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		return dsn + sep + "search_path=" + strings.ReplaceAll(path, " ", "%20")
	}
	return dsn + " search_path='" + path + "'"
}

// TestAdversarialSearchPathCLI: a proposal on "public"."Order" applied
// through a DSN whose search_path finds other."Order" first is built on
// public."Order", and migrate status, through the same DSN, agrees. Plan
// resolves a table given without a schema in the database when it has a
// DSN, and says which schema it wrote when it has not.
func TestAdversarialSearchPathCLI(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	admin := testdb.Conn(t, dsn)
	for _, s := range []string{`CREATE SCHEMA other`,
		`CREATE TABLE public."Order" (id int PRIMARY KEY, status text)`, `INSERT INTO public."Order" SELECT g, 'open' FROM generate_series(1, 300) g`,
		`CREATE TABLE other."Order" (id int PRIMARY KEY, status text)`, `INSERT INTO other."Order" SELECT g, 'open' FROM generate_series(1, 300) g`,
		`CREATE TABLE other.only_here (id int PRIMARY KEY, k int)`,
	} {
		if _, err := admin.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	otherDSN := withSearchPath(dsn, "other, public")
	dir := filepath.Join(t.TempDir(), "migrations")
	props := writeFile(t, "proposals.json", `{"schema":"hishamos-perf/indexes/v1","proposals":[{"schema":"public","table":"\"Order\"","columns":["status"],"name":"order_status_idx"}]}`)
	if r := cli(t, "-q", "indexes", "plan", "--from", props, "--dir", dir); r.code != 0 {
		t.Fatalf("plan: exit %d\n%s", r.code, r.stderr)
	}
	if r := cli(t, "--dsn", otherDSN, "-q", "indexes", "apply", "--dir", dir); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s", r.code, r.stderr)
	}
	var onPublic, onOther int
	admin.QueryRow(ctx, `SELECT count(*) FILTER (WHERE indrelid = 'public."Order"'::regclass), count(*) FILTER (WHERE indrelid = 'other."Order"'::regclass)
		FROM pg_index WHERE NOT indisprimary AND indisvalid`).Scan(&onPublic, &onOther)
	if onPublic != 1 || onOther != 0 {
		t.Errorf("indexes on public.\"Order\" %d, on other.\"Order\" %d: want 1 and 0", onPublic, onOther)
	}
	r := cli(t, "--dsn", otherDSN, "--format", "json", "migrate", "status", "--dir", dir)
	var st struct {
		Status struct {
			Applied int
			Drift   []any
			Files   []struct {
				Indexes []struct{ Schema, State string }
			}
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || r.code != 0 || st.Status.Applied != 1 || len(st.Status.Drift) != 0 ||
		st.Status.Files[0].Indexes[0].State != "ok" || st.Status.Files[0].Indexes[0].Schema != "public" {
		t.Errorf("status: exit %d, %+v (%v)\n%s", r.code, st.Status, err, r.stderr)
	}

	// A table given without a schema: looked up through the DSN, else
	// public, said either way; --schema decides when given.
	bare := writeFile(t, "bare.json", `{"proposals":[{"table":"only_here","columns":["k"]}]}`)
	plan := func(args ...string) (result, string) {
		t.Helper()
		d := filepath.Join(t.TempDir(), "m")
		r := cli(t, append(args, "indexes", "plan", "--from", bare, "--dir", d)...)
		files, _ := filepath.Glob(filepath.Join(d, "*.sql"))
		if len(files) != 1 {
			return r, ""
		}
		b, _ := os.ReadFile(files[0])
		return r, string(b)
	}
	words := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	if r, file := plan("--dsn", otherDSN); r.code != 0 || !strings.Contains(file, `ON "other"."only_here"`) || !strings.Contains(words(r.stdout), "schema the database finds them in") {
		t.Errorf("plan with a DSN: exit %d, file:\n%s\n%s%s", r.code, file, r.stdout, r.stderr)
	}
	if r, file := plan(); r.code != 0 || !strings.Contains(file, `ON "public"."only_here"`) || !strings.Contains(words(r.stdout), "written in schema public: no DSN") {
		t.Errorf("plan without a DSN: exit %d, file:\n%s\n%s%s", r.code, file, r.stdout, r.stderr)
	}
	if r, file := plan("--dsn", otherDSN, "--schema", "app"); r.code != 0 || !strings.Contains(file, `ON "app"."only_here"`) {
		t.Errorf("plan --schema app: exit %d, file:\n%s\n%s", r.code, file, r.stderr)
	}
	r, _ = plan("--dsn", dsn)
	oneLineError(t, "plan of a table the search_path does not reach", r, 2, `"only_here" is in no schema of the database's search_path`)
}

// TestAdversarialDetachedDirectiveCLI: `-- atlas:txmode none` right above
// the statement: apply's error asks for the blank line that is missing, not
// for the directive that is there.
func TestAdversarialDetachedDirectiveCLI(t *testing.T) {
	dsn, _ := victimDB(t)
	dir := planT(t, "a")
	addMigration(t, dir, "20300101000000_tight.sql", "-- atlas:txmode none\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_b_idx ON public.t (b);\n")
	r := cli(t, "--dsn", dsn, "indexes", "apply", "--dir", dir)
	oneLineError(t, "apply", r, 2, "20300101000000_tight.sql line 1", "add an empty line after it")
	if strings.Contains(r.stderr, "head the file") {
		t.Errorf("the message asks for the directive that is there: %s", r.stderr)
	}
}

// TestAdversarialOwnerHintOnceCLI: apply as a role that does not own the
// table prints the ALTER TABLE … OWNER TO that fixes it once, with one
// semicolon, and exits 3.
func TestAdversarialOwnerHintOnceCLI(t *testing.T) {
	db, admin := privDB(t)
	for _, s := range []string{`CREATE TABLE t (id int PRIMARY KEY, a int)`, `INSERT INTO t SELECT g, g FROM generate_series(1, 100) g`} {
		mustRun(t, admin, s)
	}
	role, dsn := privRole(t, admin, db, "notowner", "GRANT CREATE ON DATABASE "+pgx.Identifier{db}.Sanitize()+" TO %s", "GRANT CREATE ON SCHEMA public TO %s")
	dir := planT(t, "a")
	r := cli(t, "--dsn", dsn, "-q", "indexes", "apply", "--dir", dir)
	oneLineError(t, "apply as notowner", r, 3, "run ALTER TABLE t OWNER TO "+role+";")
	if n := strings.Count(r.stderr, "OWNER TO"); n != 1 || strings.Contains(r.stderr, ";;") {
		t.Errorf("the hint is printed %d times:\n%s", n, r.stderr)
	}
}

// TestAdversarialRoundTwoOnPartitionedTable is the pagila trial end to
// end: round one's payment (customer_id, paid_at DESC) planned and
// applied on a table partitioned by month; round two proposes the same
// keys with INCLUDE, which must come under a name of its own, so that its
// plan (ON ONLY the parent, then each partition) lints clean against the
// database and apply builds it rather than skipping it for round one's.
func TestAdversarialRoundTwoOnPartitionedTable(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	conn := testdb.Conn(t, dsn)
	for _, s := range []string{
		`CREATE TABLE payment (payment_id bigint NOT NULL, customer_id int NOT NULL, rental_id int NOT NULL, amount numeric(5,2) NOT NULL,
			paid_at timestamptz NOT NULL, note text NOT NULL) PARTITION BY RANGE (paid_at)`,
		`CREATE TABLE payment_p2022_01 PARTITION OF payment FOR VALUES FROM ('2022-01-01') TO ('2022-02-01')`,
		`CREATE TABLE payment_p2022_02 PARTITION OF payment FOR VALUES FROM ('2022-02-01') TO ('2022-03-01')`,
		`CREATE TABLE payment_p2022_03 PARTITION OF payment FOR VALUES FROM ('2022-03-01') TO ('2022-04-01')`,
		`INSERT INTO payment SELECT i, 1 + i % 600, i, (i % 1000) / 100.0, timestamptz '2022-01-01' + (i % 7776) * interval '15 minutes',
			repeat(md5(i::text), 8) FROM generate_series(1, 200000) i`,
		// Every row sampled: the same statistics, and so the same costs,
		// on every run.
		`SET default_statistics_target = 10000`,
		`VACUUM ANALYZE payment`,
	} {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	// An INCLUDE pays through index-only scans, which need all-visible
	// pages.
	testdb.VacuumAllVisible(t, conn, "payment", "payment_p2022_%")
	round1 := filepath.Join(t.TempDir(), "round1")
	props := writeFile(t, "round1.json", `{"schema":"hishamos-perf/indexes/v1","proposals":[{"schema":"public","table":"payment","columns":["customer_id","paid_at DESC"]}]}`)
	for _, args := range [][]string{{"indexes", "plan", "--from", props, "--dir", round1}, {"indexes", "apply", "--dir", round1}} {
		if r := cli(t, append([]string{"--dsn", dsn, "-q"}, args...)...); r.code != 0 {
			t.Fatalf("round one %s: exit %d\n%s", args[1], r.code, r.stderr)
		}
	}

	workload := writeFile(t, "w.sql", "SELECT payment_id, rental_id, amount FROM payment WHERE customer_id = $1 ORDER BY paid_at DESC;\n")
	saved := filepath.Join(t.TempDir(), "round2.json")
	r := cli(t, append([]string{"--dsn", dsn, "-q", "indexes", "propose", "--workload", workload, "--save", saved}, withoutHypoPG()...)...)
	if r.code != 0 {
		t.Fatalf("round two propose: exit %d\n%s", r.code, r.stderr)
	}
	b, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Proposals []struct {
			Name    string   `json:"name"`
			Include []string `json:"include"`
		} `json:"proposals"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Proposals) != 1 || len(doc.Proposals[0].Include) == 0 || doc.Proposals[0].Name != "payment_customer_id_paid_at_idx_2" {
		t.Fatalf("round two proposals %+v, want the keys with INCLUDE as payment_customer_id_paid_at_idx_2:\n%s", doc.Proposals, r.stdout)
	}
	// Planned into the same directory, as the next round is.
	round2 := round1
	if r := cli(t, "--dsn", dsn, "-q", "indexes", "plan", "--from", saved, "--dir", round2); r.code != 0 {
		t.Fatalf("round two plan: exit %d\n%s", r.code, r.stderr)
	}
	r = cli(t, "--dsn", dsn, "migrate", "lint", "--dir", round2, "--format", "github")
	if strings.Contains(r.stdout, "HP115") || strings.Contains(r.stdout, "::error") {
		t.Errorf("lint of round two: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := cli(t, "--dsn", dsn, "-q", "indexes", "apply", "--dir", round2); r.code != 0 {
		t.Fatalf("round two apply: exit %d\n%s", r.code, r.stderr)
	}
	var def string
	var valid bool
	if err := conn.QueryRow(ctx, `SELECT pg_get_indexdef(x.indexrelid), x.indisvalid FROM pg_index x
		WHERE x.indexrelid = to_regclass('public.payment_customer_id_paid_at_idx_2')`).Scan(&def, &valid); err != nil {
		t.Fatalf("round two's index was not built: %v", err)
	}
	if !valid || !strings.Contains(def, "INCLUDE") {
		t.Errorf("round two's index: %s (valid %t)", def, valid)
	}
	var parts int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_inherits WHERE inhparent = to_regclass('public.payment_customer_id_paid_at_idx_2')`).Scan(&parts); err != nil || parts != 3 {
		t.Errorf("round two's index has %d partitions' indexes attached (%v), want 3", parts, err)
	}

	// What the old naming planned: the INCLUDE index under round one's
	// name. lint says so, and apply refuses it in one line, building
	// nothing and recording nothing.
	old := writeFile(t, "old.json", `{"schema":"hishamos-perf/indexes/v1","proposals":[{"schema":"public","table":"payment","name":"payment_customer_id_paid_at_idx",
		"columns":["customer_id","paid_at DESC"],"include":["amount"]}]}`)
	// Planned elsewhere (plan skips a name its directory already plans),
	// then added to the directory under a later version.
	elsewhere := filepath.Join(t.TempDir(), "elsewhere")
	if r := cli(t, "--dsn", dsn, "-q", "indexes", "plan", "--from", old, "--dir", elsewhere); r.code != 0 {
		t.Fatalf("plan of the old name: exit %d\n%s", r.code, r.stderr)
	}
	files, err := filepath.Glob(filepath.Join(elsewhere, "*.sql"))
	if err != nil || len(files) != 1 {
		t.Fatalf("plan of the old name wrote %v (%v)", files, err)
	}
	text, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(text), `CREATE INDEX IF NOT EXISTS "payment_customer_id_paid_at_idx" ON ONLY "public"."payment"`) {
		t.Fatalf("the old name's file makes no index ON ONLY the parent:\n%s", text)
	}
	addMigration(t, round1, "29990101000000_old_name.sql", string(text))
	r = cli(t, "--dsn", dsn, "migrate", "lint", "--dir", round1, "--format", "github")
	if r.code != 1 || !strings.Contains(r.stdout, "HP115") || !strings.Contains(r.stdout, "payment_customer_id_paid_at_idx already exists with another definition") {
		t.Errorf("lint of the old name: exit %d, want 1 with HP115\n%s%s", r.code, r.stdout, r.stderr)
	}
	before := testdb.TakeFingerprint(t, dsn)
	var indexesBefore int
	conn.QueryRow(ctx, `SELECT count(*) FROM pg_index`).Scan(&indexesBefore)
	r = cli(t, "--dsn", dsn, "indexes", "apply", "--dir", round1)
	oneLineError(t, "apply of the old name", r, exitUsage, "payment_customer_id_paid_at_idx already exists with another definition")
	var indexesAfter int
	conn.QueryRow(ctx, `SELECT count(*) FROM pg_index`).Scan(&indexesAfter)
	if indexesAfter != indexesBefore {
		t.Errorf("the refused apply built %d indexes", indexesAfter-indexesBefore)
	}
	for _, d := range before.Diff(testdb.TakeFingerprint(t, dsn)) {
		t.Errorf("the refused apply changed the database: %s", d)
	}
}
