package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/internal/dataset"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// privDB is a fresh database and a superuser connection to it; the tests
// need the package's sandbox to log in as other roles over loopback.
func privDB(t *testing.T) (dbName string, admin *pgx.Conn) {
	t.Helper()
	if testdb.Box == nil {
		t.Skip("least-privilege tests need the package sandbox (roles log in with their own password)")
	}
	dsn := testdb.NewDatabase(t)
	admin = testdb.Conn(t, dsn)
	if err := admin.QueryRow(context.Background(), "SELECT current_database()").Scan(&dbName); err != nil {
		t.Fatal(err)
	}
	// Before 15 every role may CREATE in the public schema (make
	// test-versions found it on 14); 15 revoked that by default. The tests
	// grant what each role needs, so take it back everywhere.
	if _, err := admin.Exec(context.Background(), "REVOKE CREATE ON SCHEMA public FROM PUBLIC"); err != nil {
		t.Fatal(err)
	}
	return dbName, admin
}

// privRole creates a LOGIN role with a password, allowed to connect to db,
// and returns its name and a loopback DSN. The role is dropped at cleanup,
// after everything it owns or was granted in db.
func privRole(t *testing.T, admin *pgx.Conn, db, prefix string, grants ...string) (string, string) {
	t.Helper()
	ctx := context.Background()
	role := fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano()%1_000_000_000)
	password := "pw-" + role
	stmts := []string{
		fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", role, password),
		fmt.Sprintf("GRANT CONNECT ON DATABASE %s TO %s", pgx.Identifier{db}.Sanitize(), role),
	}
	for _, g := range grants {
		stmts = append(stmts, fmt.Sprintf(g, role))
	}
	for _, s := range stmts {
		if _, err := admin.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	st, err := testdb.Box.LoadState()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Registered after NewDatabase's cleanup, so it runs first: the
		// database still exists and REASSIGN/DROP OWNED can clean it.
		c, err := pgx.Connect(ctx, testdb.Box.TCPDSN(st, db))
		if err != nil {
			t.Errorf("drop role %s: %v", role, err)
			return
		}
		defer c.Close(ctx)
		for _, s := range []string{
			"REASSIGN OWNED BY " + role + " TO CURRENT_USER",
			"DROP OWNED BY " + role,
			"REVOKE CONNECT ON DATABASE " + pgx.Identifier{db}.Sanitize() + " FROM " + role,
			"DROP ROLE IF EXISTS " + role,
		} {
			if _, err := c.Exec(ctx, s); err != nil {
				t.Errorf("%s: %v", s, err)
			}
		}
	})
	u := url.URL{Scheme: "postgres", User: url.UserPassword(role, password),
		Host: fmt.Sprintf("127.0.0.1:%d", st.Port), Path: "/" + db, RawQuery: "sslmode=disable"}
	return role, u.String()
}

func loadHishamOS(t *testing.T, admin *pgx.Conn) {
	t.Helper()
	scale, err := dataset.ParseScale("small")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dataset.Load(context.Background(), admin, dataset.Options{Scale: scale, Seed: 1}); err != nil {
		t.Fatal(err)
	}
}

func mustRun(t *testing.T, admin *pgx.Conn, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := admin.Exec(context.Background(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// TestLeastPrivilegeAnalyze: pg_monitor is enough for analyze, other roles'
// statements included; without pg_read_all_stats analyze names the GRANT.
func TestLeastPrivilegeAnalyze(t *testing.T) {
	db, admin := privDB(t)
	mustRun(t, admin, "CREATE TABLE priv_marker (id int)", "SELECT count(*) FROM priv_marker")

	_, monitorDSN := privRole(t, admin, db, "monitor", "GRANT pg_monitor TO %s")
	r := cli(t, "--dsn", monitorDSN, "--format", "json", "analyze")
	if r.code != 0 {
		t.Fatalf("analyze as pg_monitor: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "priv_marker") {
		t.Errorf("analyze as pg_monitor does not see the superuser's statement on priv_marker:\n%.2000s", r.stdout)
	}
	if strings.Contains(r.stderr, "pg_read_all_stats") {
		t.Errorf("pg_monitor holds pg_read_all_stats, yet analyze warns:\n%s", r.stderr)
	}

	role, bareDSN := privRole(t, admin, db, "nostats")
	r = cli(t, "--dsn", bareDSN, "--format", "json", "analyze")
	want := "GRANT pg_read_all_stats TO " + role + ";"
	if !strings.Contains(r.stderr, want) {
		t.Errorf("analyze without pg_read_all_stats: exit %d, stderr does not say %q:\n%s", r.code, want, r.stderr)
	}
	t.Logf("exit %d: %s", r.code, strings.TrimSpace(r.stderr))
	if strings.Contains(r.stdout+r.stderr, "pw-") {
		t.Errorf("a password was printed")
	}
}

// TestLeastPrivilegePropose: SELECT on the tables is enough to cost a .sql
// workload with HypoPG; without it propose names the GRANT. (Without
// HypoPG a reader cannot cost at all: building indexes needs the tables'
// owner.)
func TestLeastPrivilegePropose(t *testing.T) {
	testdb.NeedExtension(t, "hypopg")
	db, admin := privDB(t)
	loadHishamOS(t, admin)
	wl := filepath.Join(t.TempDir(), "workload.sql")
	sql := "SELECT id, cost FROM agents_agentexecution WHERE platform_used = 'openai' AND status = 'failed';\n" +
		"SELECT id FROM agents_agentexecution WHERE status = 'running' ORDER BY id LIMIT 10;\n"
	if err := os.WriteFile(wl, []byte(sql), 0o644); err != nil {
		t.Fatal(err)
	}

	var grants []string
	for _, table := range dataset.Tables() {
		grants = append(grants, "GRANT SELECT ON "+table+" TO %s")
	}
	_, readerDSN := privRole(t, admin, db, "reader", grants...)
	r := cli(t, "--dsn", readerDSN, "--format", "json", "indexes", "propose", "--workload", wl)
	if r.code != 0 {
		t.Fatalf("propose as a reader: exit %d\n%s", r.code, r.stderr)
	}

	role, bareDSN := privRole(t, admin, db, "noselect")
	r = cli(t, "--dsn", bareDSN, "--format", "json", "indexes", "propose", "--workload", wl)
	want := "GRANT SELECT ON agents_agentexecution TO " + role + ";"
	if r.code == 0 || !strings.Contains(r.stderr, want) {
		t.Errorf("propose without SELECT: exit %d, stderr does not say %q:\n%s", r.code, want, r.stderr)
	}
	if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n > 1 {
		t.Errorf("want a one-line error, got:\n%s", r.stderr)
	}
	t.Logf("exit %d: %s", r.code, strings.TrimSpace(r.stderr))
}

// TestLeastPrivilegeApply: a role that is no superuser, owns the tables
// (CREATE INDEX needs the table's owner in PostgreSQL) and holds CREATE on
// the revisions schema applies the plan; roles short of that are told the
// statement that fixes it.
func TestLeastPrivilegeApply(t *testing.T) {
	db, admin := privDB(t)
	loadHishamOS(t, admin)
	dir := filepath.Join(t.TempDir(), "migrations")
	if r := cli(t, "indexes", "plan", "--from-profile", "hishamos", "--dir", dir); r.code != 0 {
		t.Fatalf("indexes plan: exit %d\n%s", r.code, r.stderr)
	}
	applyFails := func(dsn, want string) {
		t.Helper()
		r := cli(t, "--dsn", dsn, "-q", "indexes", "apply", "--dir", dir)
		if r.code == 0 || !strings.Contains(r.stderr, want) {
			t.Errorf("apply: exit %d, stderr does not say %q:\n%s", r.code, want, r.stderr)
		}
		if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n > 1 {
			t.Errorf("want a one-line error, got:\n%s", r.stderr)
		}
		t.Logf("exit %d: %s", r.code, strings.TrimSpace(r.stderr))
		if strings.Contains(r.stdout+r.stderr, "pw-") {
			t.Errorf("a password was printed")
		}
	}

	// No revisions schema yet, and no CREATE on the database to make it.
	role, bareDSN := privRole(t, admin, db, "nocreate")
	applyFails(bareDSN, "GRANT CREATE ON DATABASE "+db+" TO "+role+";")

	// The administrator makes the revisions schema; the role has no CREATE
	// on it.
	mustRun(t, admin, "CREATE SCHEMA atlas_schema_revisions")
	applyFails(bareDSN, "GRANT USAGE, CREATE ON SCHEMA atlas_schema_revisions TO "+role+";")

	// CREATE on the schemas but not the tables' owner.
	notOwner, notOwnerDSN := privRole(t, admin, db, "notowner",
		"GRANT USAGE, CREATE ON SCHEMA atlas_schema_revisions TO %s", "GRANT CREATE ON SCHEMA public TO %s")
	applyFails(notOwnerDSN, " OWNER TO "+notOwner+";")
	// That run made the revisions table, owned by notowner: start afresh.
	mustRun(t, admin, "DROP TABLE atlas_schema_revisions.atlas_schema_revisions")

	// The tables' owner, without CREATE on their schema (CREATE INDEX
	// checks it too).
	grants := []string{"GRANT USAGE, CREATE ON SCHEMA atlas_schema_revisions TO %s"}
	for _, table := range dataset.Tables() {
		grants = append(grants, "ALTER TABLE "+table+" OWNER TO %s")
	}
	owner, ownerDSN := privRole(t, admin, db, "owner", grants...)
	applyFails(ownerDSN, "GRANT CREATE ON SCHEMA public TO "+owner+";")

	// Owner with CREATE on the schema, no superuser: works.
	mustRun(t, admin, "GRANT CREATE ON SCHEMA public TO "+owner)
	var super bool
	if err := admin.QueryRow(context.Background(), "SELECT rolsuper FROM pg_roles WHERE rolname = $1", owner).Scan(&super); err != nil || super {
		t.Fatalf("owner role is superuser=%v (%v)", super, err)
	}
	r := cli(t, "--dsn", ownerDSN, "indexes", "apply", "--dir", dir)
	if r.code != 0 {
		t.Fatalf("apply as owner with CREATE: exit %d\n%s", r.code, r.stderr)
	}
	var invalid int
	if err := admin.QueryRow(context.Background(), "SELECT count(*) FROM pg_index WHERE NOT indisvalid").Scan(&invalid); err != nil || invalid != 0 {
		t.Errorf("INVALID indexes left: %d (%v)", invalid, err)
	}
}

// TestTooLittlePrivilegeNamesTheGrant: seed and bench, run as a role that
// can connect and nothing else, stop with exit 3 and the statement that
// gives the role what they needed next, and change nothing.
func TestTooLittlePrivilegeNamesTheGrant(t *testing.T) {
	db, admin := privDB(t)
	loadHishamOS(t, admin)
	role, dsn := privRole(t, admin, db, "bare")
	count := func() int64 {
		var n int64
		if err := admin.QueryRow(context.Background(), "SELECT count(*) FROM agents_agentexecution").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	cases := []struct {
		args  []string
		grant string
	}{
		{[]string{"seed", "--scale", "small", "--replace", "--yes"}, "GRANT SELECT ON auth_user TO " + role + ";"},
		{[]string{"bench", "--iterations", "3", "--warmup", "0"}, "TO " + role + ";"},
	}
	for _, c := range cases {
		r := cli(t, append([]string{"--dsn", dsn}, c.args...)...)
		if r.code != 3 || !strings.Contains(r.stderr, "run GRANT") || !strings.Contains(r.stderr, c.grant) {
			t.Errorf("%s as a bare role: exit %d, want 3 and %q in:\n%s", c.args[0], r.code, c.grant, r.stderr)
		}
		if strings.Contains(r.stdout+r.stderr, "pw-") {
			t.Errorf("%s printed a password", c.args[0])
		}
	}

	// With SELECT on the tables, seed gets as far as its staging schema and
	// asks for CREATE on the database, not CONNECT.
	mustRun(t, admin, fmt.Sprintf("GRANT SELECT ON ALL TABLES IN SCHEMA public TO %s", role))
	r := cli(t, "--dsn", dsn, "seed", "--scale", "small", "--replace", "--yes")
	want := fmt.Sprintf("GRANT CREATE ON DATABASE %s TO %s;", db, role) // test databases have plain names
	if r.code != 3 || !strings.Contains(r.stderr, want) {
		t.Errorf("seed with SELECT only: exit %d, want 3 and %q in:\n%s", r.code, want, r.stderr)
	}
	if after := count(); after != before {
		t.Errorf("a refused seed changed agents_agentexecution: %d rows, was %d", after, before)
	}
}
