package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// proposeDB makes a database with a table the advisor can index.
func proposeDB(t *testing.T) string {
	t.Helper()
	dsn := testdb.NewDatabase(t)
	conn := testdb.Conn(t, dsn)
	if _, err := conn.Exec(context.Background(), `CREATE TABLE items (id bigint PRIMARY KEY, account_id int NOT NULL, state text NOT NULL, created_at timestamptz NOT NULL);
INSERT INTO items SELECT i, 1 + (i * 7919) % 500, (ARRAY['new', 'open', 'closed'])[1 + i % 3], timestamptz '2024-01-01' + i * interval '1 minute'
FROM generate_series(1::bigint, 30000) i;
ANALYZE items;`); err != nil {
		t.Fatal(err)
	}
	return dsn
}

func proposeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestIndexesProposeFile(t *testing.T) {
	dsn := proposeDB(t)
	workload := proposeFile(t, "slow.sql", `SELECT id FROM items WHERE account_id = $1 ORDER BY created_at DESC LIMIT 10;
SELECT id FROM items WHERE;
SELECT id FROM missing WHERE a = 1;
`)
	save := filepath.Join(t.TempDir(), "proposals.json")
	r := cli(t, append([]string{"--dsn", dsn, "--format", "json", "indexes", "propose", "--workload", workload, "--save", save}, withoutHypoPG()...)...)
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "slow.sql: statement 2 (line 2): syntax error at end of input") {
		t.Errorf("stderr does not name the statement that does not parse:\n%s", r.stderr)
	}
	var doc struct {
		Schema    string `json:"schema"`
		Proposals []struct {
			Table      string   `json:"table"`
			Columns    []string `json:"columns"`
			Definition string   `json:"definition"`
		} `json:"proposals"`
		Skipped []struct{ Reason string } `json:"skipped"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("%v:\n%s", err, r.stdout)
	}
	if doc.Schema != "hishamos-perf/indexes/v1" || len(doc.Proposals) == 0 || doc.Proposals[0].Table != "items" {
		t.Errorf("document %+v", doc)
	}
	if len(doc.Skipped) != 2 || doc.Skipped[1].Reason != "table missing does not exist" {
		t.Errorf("skipped %+v", doc.Skipped)
	}
	saved, err := os.ReadFile(save)
	if err != nil {
		t.Fatal(err)
	}
	if string(saved) != r.stdout {
		t.Error("--save wrote something else than --format json printed")
	}
}

func TestIndexesProposeBadInput(t *testing.T) {
	dsn := proposeDB(t)
	good := proposeFile(t, "good.sql", "SELECT id FROM items WHERE account_id = 1;\n")
	empty := proposeFile(t, "empty.sql", "-- nothing\n")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"budget not a size", []string{"--workload", good, "--budget", "lots"}, exitUsage, `budget is not a size: "lots" does not start with a number`},
		{"budget unit", []string{"--workload", good, "--budget", "5 parsecs"}, exitUsage, `has an unknown unit "parsecs"`},
		{"empty workload", []string{"--workload", empty}, exitUsage, "empty workload: it holds no statements"},
		{"no such file", []string{"--workload", filepath.Join(t.TempDir(), "nope.sql")}, exitUsage, "no such file"},
		{"unterminated", []string{"--workload", proposeFile(t, "open.sql", "SELECT 'x FROM items;")}, exitUsage, "bad workload"},
		{"no such profile", []string{"--workload", "no-such-profile"}, exitUsage, "no-such-profile"},
		{"max columns", []string{"--workload", good, "--max-columns", "0"}, exitUsage, "--max-columns 0"},
		{"negative statistics age", []string{"--workload", good, "--min-stats-age", "-1s"}, exitUsage, "--min-stats-age -1s: must be 0 (judge at any age) or more"},
		{"weight not a number", []string{"--workload", proposeFile(t, "often.sql", "-- weight: often\nSELECT id FROM items WHERE account_id = 1;\n")},
			exitUsage, `often.sql:2: -- weight: "often" is not a number of 0 or more`},
		{"negative weight", []string{"--workload", proposeFile(t, "minus.sql", "SELECT 1;\n-- weight: -3\nSELECT id FROM items WHERE account_id = 1;\n")},
			exitUsage, `minus.sql:3: -- weight: "-3" is not a number of 0 or more`},
		{"every weight 0", []string{"--workload", proposeFile(t, "never.sql", "-- weight: 0\nSELECT id FROM items WHERE account_id = 1;\n")},
			exitUsage, "empty workload: all 1 statements were skipped (1 its -- weight: is 0: the application does not send it)"},
		{"interactive without a terminal", []string{"--workload", good, "--interactive"}, exitUsage, "--interactive needs a terminal on standard input and standard error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(t, append([]string{"--dsn", dsn, "indexes", "propose"}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, want %d; stderr:\n%s\nwant it to contain %q", r.code, tc.code, r.stderr, tc.want)
			}
			if strings.Contains(r.stderr, "goroutine ") || r.stdout != "" {
				t.Errorf("a stack trace or output for bad input:\nstdout %q\nstderr %q", r.stdout, r.stderr)
			}
		})
	}
}

// withoutHypoPG is --allow-build where the test server has no HypoPG (the
// npm builds of 14, 16, 17 and 18): propose costs with real indexes built
// in a rolled-back transaction there, as it does on the sandbox.
func withoutHypoPG() []string {
	if testdb.Available("hypopg") {
		return nil
	}
	return []string{"--" + flagAllowBuild}
}

func TestIndexesProposeNoHypoPG(t *testing.T) {
	dsn := proposeDB(t)
	conn := testdb.Conn(t, dsn)
	if _, err := conn.Exec(context.Background(), "DROP EXTENSION IF EXISTS hypopg"); err != nil {
		t.Fatal(err)
	}
	good := proposeFile(t, "good.sql", "SELECT id FROM items WHERE account_id = 1;\n")
	r := cli(t, "--dsn", dsn, "indexes", "propose", "--workload", good)
	if r.code != exitDatabase || !strings.Contains(r.stderr, "hypopg is not installed") || !strings.Contains(r.stderr, "--allow-build") {
		t.Errorf("exit %d; stderr:\n%s", r.code, r.stderr)
	}
	if strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
		t.Errorf("want one line (and the progress line), got:\n%s", r.stderr)
	}
	if testdb.Available("hypopg") {
		if !strings.Contains(r.stderr, "run CREATE EXTENSION hypopg;") {
			t.Errorf("HypoPG is available: stderr does not say to create it:\n%s", r.stderr)
		}
	} else {
		// Not installed at all: it says exactly which package installs it.
		var major int
		if err := conn.QueryRow(context.Background(), "SELECT current_setting('server_version_num')::int / 10000").Scan(&major); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("apt-get install postgresql-%d-hypopg", major); !strings.Contains(r.stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, r.stderr)
		}
	}
	with := cli(t, "--dsn", dsn, "--format", "json", "indexes", "propose", "--workload", good, "--"+flagAllowBuild)
	if with.code != exitOK || !strings.Contains(with.stdout, `"costing": "build"`) {
		t.Errorf("with --allow-build: exit %d; stderr:\n%s\nstdout:\n%s", with.code, with.stderr, with.stdout)
	}
}

// TestAdversarialProposeUnusedOnFreshStatistics: on statistics reset a
// moment ago propose lists no unused drop and says, naming the flag, how
// old they are; --min-stats-age 0s judges at any age and lists it.
func TestAdversarialProposeUnusedOnFreshStatistics(t *testing.T) {
	dsn := proposeDB(t)
	conn := testdb.Conn(t, dsn)
	if _, err := conn.Exec(context.Background(), `CREATE INDEX items_state_idx ON items (state); SELECT pg_stat_reset();`); err != nil {
		t.Fatal(err)
	}
	workload := proposeFile(t, "slow.sql", "SELECT id FROM items WHERE account_id = $1 ORDER BY created_at DESC LIMIT 10;\n")
	type doc struct {
		Drops []struct {
			Index string `json:"index"`
			Kind  string `json:"kind"`
		} `json:"drops"`
		Notes []string `json:"notes"`
	}
	run := func(extra ...string) doc {
		t.Helper()
		args := append([]string{"--dsn", dsn, "--format", "json", "indexes", "propose", "--workload", workload}, withoutHypoPG()...)
		r := cli(t, append(args, extra...)...)
		if r.code != exitOK {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		var d doc
		if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
			t.Fatalf("%v:\n%s", err, r.stdout)
		}
		return d
	}
	fresh := run()
	if len(fresh.Drops) != 0 {
		t.Errorf("drops on fresh statistics: %+v", fresh.Drops)
	}
	if note := strings.Join(fresh.Notes, "\n"); !strings.Contains(note, "unused indexes not listed as drops: the statistics are ") ||
		!strings.Contains(note, "or lower --min-stats-age") {
		t.Errorf("notes %q: want one saying how old the statistics are, naming --min-stats-age", fresh.Notes)
	}
	judged := run("--min-stats-age", "0s")
	if len(judged.Drops) != 1 || judged.Drops[0].Index != "items_state_idx" || judged.Drops[0].Kind != "unused" {
		t.Errorf("drops with --min-stats-age 0s: %+v, want items_state_idx unused", judged.Drops)
	}
}
