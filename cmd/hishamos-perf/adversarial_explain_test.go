package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hishamos/hishamos-perf/analyze"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// unreachableDSN is a server no one listens on: a command that reports bad
// input with it has checked the input before connecting.
const unreachableDSN = "postgres://app@127.0.0.1:1/app?connect_timeout=2"

// TestAdversarialNULByteInSQL: a NUL byte in SQL text is bad input (exit 2)
// named with its file and line, for every command that reads SQL: a .sql
// file (explain, analyze, bench, indexes propose, and standard input), and
// a profile's statement. It used to reach the server, which refused the
// whole message with a protocol error (08P01, exit 3).
func TestAdversarialNULByteInSQL(t *testing.T) {
	dir := t.TempDir()
	sqlFile := filepath.Join(dir, "nul.sql")
	os.WriteFile(sqlFile, []byte("SELECT 1;\nSELECT id FROM agents_agent\x00 WHERE id = 1;\n"), 0o644)
	profile := filepath.Join(dir, "nul.yaml")
	os.WriteFile(profile, []byte("name: nul\nstatements:\n  - name: a\n    sql: \"SELECT 1\\0\"\n"), 0o644)
	const fileLine, profileLine = "nul.sql: bad SQL: a NUL byte on line 2", "nul.yaml:4:"
	for _, c := range []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"explain --file", []string{"explain", "--file", sqlFile}, "", fileLine},
		{"explain --file -", []string{"explain", "--file", "-"}, "SELECT 1;\n\nSELECT \x00 2", "-: bad SQL: a NUL byte on line 3"},
		{"analyze --workload", []string{"analyze", "--workload", sqlFile}, "", fileLine},
		{"bench --workload", []string{"bench", "--workload", sqlFile}, "", fileLine},
		{"indexes propose --workload file.sql", []string{"indexes", "propose", "--workload", sqlFile}, "", fileLine},
		{"indexes propose --workload profile", []string{"indexes", "propose", "--workload", profile}, "", profileLine},
		{"bench --workload profile", []string{"bench", "--workload", profile}, "", profileLine},
		{"profiles validate", []string{"profiles", "validate", profile}, "", profileLine},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(append([]string{"--dsn", unreachableDSN}, c.args...), strings.NewReader(c.stdin), &out, &errOut)
			first, _, _ := strings.Cut(errOut.String(), "\n")
			if code != exitUsage || !strings.Contains(first, c.want) || !strings.Contains(first, "NUL byte") {
				t.Errorf("exit %d, stderr %q; want exit 2 saying %q", code, errOut.String(), c.want)
			}
			if strings.Contains(errOut.String(), "08P01") || strings.Contains(errOut.String(), "cannot connect") {
				t.Errorf("the text reached for the server: %s", errOut.String())
			}
		})
	}
}

// TestAdversarialExplainAnalyzeInsert: explain --analyze of an INSERT runs
// it in a transaction that is rolled back: no row changes. nextval() is not
// transactional, so the table's sequence moves; the help and the plan's
// note say so, and nothing but the sequence differs.
func TestAdversarialExplainAnalyzeInsert(t *testing.T) {
	dsn := testdb.NewDatabase(t)
	ctx := t.Context()
	if _, err := testdb.Conn(t, dsn).Exec(ctx, `CREATE TABLE tickets (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, title text NOT NULL);
		INSERT INTO tickets (title) SELECT 'ticket ' || i FROM generate_series(1, 10) i`); err != nil {
		t.Fatal(err)
	}
	before := testdb.TakeFingerprint(t, dsn)
	r := cli(t, "--dsn", dsn, "--no-color", "explain", "--analyze", "INSERT INTO tickets (title) VALUES ('a'), ('b'), ('c')")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	// Notes fold to the terminal's width: read the words.
	if words := strings.Join(strings.Fields(r.stdout), " "); !strings.Contains(words, "read write, rolled back") || !strings.Contains(words, analyze.SequenceNote+": public.tickets_id_seq") {
		t.Errorf("the plan does not say it was rolled back and that the sequence stays advanced:\n%s", r.stdout)
	}
	// An UPDATE draws from no sequence: the note does not say one moved.
	up := cli(t, "--dsn", dsn, "--no-color", "explain", "--analyze", "UPDATE tickets SET title = 'x' WHERE id = 1")
	if up.code != 0 {
		t.Fatalf("exit %d: %s", up.code, up.stderr)
	}
	if words := strings.Join(strings.Fields(up.stdout), " "); !strings.Contains(words, "rolled back: no row changed") || strings.Contains(words, "stays advanced") {
		t.Errorf("explain --analyze of an UPDATE: want it rolled back and no sequence said to move:\n%s", up.stdout)
	}
	diff := before.Diff(testdb.TakeFingerprint(t, dsn))
	if len(diff) != 1 || !strings.Contains(diff[0], `sequence "public"."tickets_id_seq" moved from 10 (called true) to 13`) {
		t.Errorf("after explain --analyze of an INSERT, want only the sequence moved; changes:\n%s", strings.Join(diff, "\n"))
	}
	help := cli(t, "explain", "--help")
	if !strings.Contains(help.stdout, "the sequence may move") || !strings.Contains(help.stdout, "nextval") {
		t.Errorf("explain --help does not say the sequence may move:\n%s", help.stdout)
	}
}

// TestAdversarialAnalyzeMonitorRole: analyze as a role with pg_monitor only,
// on a workload over tables it may not SELECT. pg_monitor is enough to rank
// the statements, not to explain them: the report says once which GRANT
// would let it (not a bare "permission denied" per statement) and the run
// exits 0, since the ranking, the other plans and the index health stand.
// The GRANT it names is the right one: after it, the statements explain.
func TestAdversarialAnalyzeMonitorRole(t *testing.T) {
	db, admin := privDB(t)
	mustRun(t, admin,
		"CREATE TABLE tickets (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, status text NOT NULL, title text NOT NULL)",
		"CREATE TABLE \"Ticket Notes\" (id bigint PRIMARY KEY, ticket_id bigint NOT NULL, body text NOT NULL)",
		"INSERT INTO tickets (status, title) SELECT CASE WHEN i % 10 = 0 THEN 'open' ELSE 'closed' END, 'ticket ' || i FROM generate_series(1, 2000) i",
		"ANALYZE tickets")
	for range 3 {
		mustRun(t, admin, "SELECT * FROM tickets WHERE status = 'open'", "SELECT count(*) FROM tickets WHERE title LIKE 'ticket 1%'",
			`SELECT * FROM "Ticket Notes" WHERE ticket_id = 7`)
	}
	role, monitorDSN := privRole(t, admin, db, "monitor", "GRANT pg_monitor TO %s")
	grant := `GRANT SELECT ON tickets, "Ticket Notes" TO ` + role + ";"

	r := cli(t, "--dsn", monitorDSN, "--format", "json", "analyze", "--top", "0", "--no-indexes")
	if r.code != 0 {
		t.Fatalf("analyze as pg_monitor: exit %d: %s", r.code, r.stderr)
	}
	var rep analyze.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Grants) != 1 || rep.Grants[0] != grant {
		t.Errorf("grants = %q, want [%q]", rep.Grants, grant)
	}
	denied := 0
	for _, s := range rep.Statements {
		if strings.HasPrefix(s.Query, "SELECT") && (strings.Contains(s.Query, "tickets") || strings.Contains(s.Query, "Ticket Notes")) {
			if s.Plan != nil || !strings.HasPrefix(s.PlanError, "permission denied for table") {
				t.Errorf("statement %q: plan %v, plan_error %q", s.Query, s.Plan != nil, s.PlanError)
			}
			denied++
		}
	}
	if denied < 3 {
		t.Errorf("%d statements on the denied tables ranked, want at least 3", denied)
	}

	text := cli(t, "--dsn", monitorDSN, "--no-color", "analyze", "--top", "0", "--no-indexes")
	flat := strings.Join(strings.Fields(text.stdout), " ")
	if text.code != 0 || strings.Count(flat, grant) != 1 || strings.Count(flat, "may read the statistics but not the tables") != 1 {
		t.Errorf("analyze as pg_monitor, text: exit %d; want the GRANT said once:\n%s\n%s", text.code, text.stdout, text.stderr)
	}

	mustRun(t, admin, grant)
	r = cli(t, "--dsn", monitorDSN, "--format", "json", "analyze", "--top", "0", "--no-indexes")
	rep = analyze.Report{}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Grants) != 0 {
		t.Errorf("after the GRANT it named, analyze still asks for %q", rep.Grants)
	}
	// The INSERT that loaded tickets needs INSERT to be explained: no
	// GRANT a watching role should get, so a note says so instead.
	writes := 0
	for _, n := range rep.Notes {
		if strings.Contains(n, "write was not explained") && strings.Contains(n, role) {
			writes++
		}
	}
	if writes != 1 {
		t.Errorf("after the GRANT, notes %q; want one saying the INSERT was not explained and why", rep.Notes)
	}
	for _, s := range rep.Statements {
		if strings.Contains(s.Query, "FROM tickets WHERE status") && s.Plan == nil {
			t.Errorf("after the GRANT, %q has no plan: %s", s.Query, s.PlanError)
		}
	}
}
