package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// sideEffectDB holds a table, a sequence and a function that writes, for
// statements that try to change them.
const sideEffectDB = `CREATE TABLE ledger (id int PRIMARY KEY, amount numeric NOT NULL);
INSERT INTO ledger SELECT i, i * 1.5 FROM generate_series(1, 5000) i;
CREATE SEQUENCE ledger_seq;
SELECT nextval('ledger_seq');
CREATE FUNCTION ledger_bump() RETURNS int LANGUAGE plpgsql AS $$
BEGIN INSERT INTO ledger VALUES (100000 + (random() * 1000000)::int, 1); RETURN 1; END $$;
ANALYZE ledger;`

// ledgerState is the table's row count and checksum and the sequence's
// last value.
func ledgerState(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	var s string
	if err := conn.QueryRow(t.Context(), `SELECT (SELECT count(*) || ':' || md5(string_agg(l::text, ',' ORDER BY id)) FROM ledger l) || ' seq ' || (SELECT last_value FROM ledger_seq)`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestWorkloadCannotWrite: a statement that writes (a plain write, a CTE
// with INSERT, a SELECT of a writing function or of nextval) or that acts
// on other sessions (pg_terminate_backend, pg_cancel_backend), in a
// profile or in a .sql workload, is refused by bench and analyze or fails
// in their read-only session: the table, the sequence and the other
// session are as they were.
func TestWorkloadCannotWrite(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	conn := testdb.Conn(t, dsn)
	if _, err := conn.Exec(ctx, sideEffectDB); err != nil {
		t.Fatal(err)
	}
	victimCfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	victimCfg.RuntimeParams["application_name"] = "hishamos-perf-victim"
	victim, err := pgx.ConnectConfig(ctx, victimCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close(ctx)
	var victimPID int
	if err := victim.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&victimPID); err != nil {
		t.Fatal(err)
	}
	before := ledgerState(t, conn)

	statements := map[string]string{
		"insert":              "INSERT INTO ledger VALUES (999999, 1)",
		"update":              "UPDATE ledger SET amount = 0 WHERE id < 10",
		"delete":              "DELETE FROM ledger WHERE id = 1",
		"cte with insert":     "WITH x AS (INSERT INTO ledger VALUES (999998, 1) RETURNING id) SELECT id FROM x",
		"writing function":    "SELECT ledger_bump()",
		"nextval":             "SELECT nextval('ledger_seq')",
		"setval":              "SELECT setval('ledger_seq', 1000)",
		"select into":         "SELECT * INTO ledger_copy FROM ledger",
		"terminate a backend": fmt.Sprintf("SELECT pg_terminate_backend(%d)", victimPID),
		"terminate by name":   "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'hishamos-perf-victim'",
		"terminate, quoted":   `SELECT "pg_terminate_backend"(pid) FROM pg_stat_activity WHERE application_name = 'hishamos-perf-victim'`,
		"cancel a backend":    "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'hishamos-perf-victim'",
		"truncate":            "TRUNCATE ledger",
	}
	dir := t.TempDir()
	alive := func(t *testing.T) {
		t.Helper()
		if err := victim.Ping(ctx); err != nil {
			t.Fatalf("the other session was terminated: %v", err)
		}
	}
	unchanged := func(t *testing.T) {
		t.Helper()
		if after := ledgerState(t, conn); after != before {
			t.Errorf("the ledger changed:\nbefore %s\nafter  %s", before, after)
		}
		var copies bool
		if err := conn.QueryRow(ctx, "SELECT to_regclass('ledger_copy') IS NOT NULL").Scan(&copies); err != nil || copies {
			t.Errorf("SELECT INTO made a table (%v)", err)
		}
		alive(t)
	}
	for name, stmt := range statements {
		t.Run(name, func(t *testing.T) {
			slug := strings.ReplaceAll(name, " ", "_")
			sqlFile := filepath.Join(dir, slug+".sql")
			if err := os.WriteFile(sqlFile, []byte(stmt+";\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			profile := filepath.Join(dir, slug+".yaml")
			yaml := fmt.Sprintf("name: %s\nstatements:\n  - name: s\n    sql: %q\n", slug, stmt)
			if err := os.WriteFile(profile, []byte(yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			runs := [][]string{
				{"bench", "--workload", sqlFile, "--iterations", "2"},
				{"bench", "--workload", profile, "--iterations", "2"},
				{"analyze", "--top", "0", "--no-indexes", "--analyze", "--workload", sqlFile},
				{"explain", "--analyze", stmt},
			}
			for _, args := range runs {
				r := cli(t, append([]string{"--dsn", dsn, "-q"}, args...)...)
				t.Logf("%s: exit %d %s", strings.Join(args[:2], " "), r.code, strings.TrimSpace(r.stderr))
				if args[0] == "bench" && r.code == exitOK {
					t.Errorf("%s measured %q", strings.Join(args[:2], " "), stmt)
				}
				unchanged(t)
			}
		})
	}
}
