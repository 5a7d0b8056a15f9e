package main

import (
	"context"
	"encoding/csv"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// csvTables reads --format csv output: tables a blank line apart, each
// under a "# title" comment when there are several. It fails the test on
// output a CSV reader refuses, or a table whose rows differ in length from
// its header.
func csvTables(t *testing.T, out string) map[string][][]string {
	t.Helper()
	tables := map[string][][]string{}
	for i, part := range strings.Split(strings.TrimSuffix(out, "\n"), "\n\n") {
		title := strconv.Itoa(i)
		if strings.HasPrefix(part, "# ") {
			first, _, _ := strings.Cut(part, "\n")
			title = strings.TrimPrefix(first, "# ")
		}
		r := csv.NewReader(strings.NewReader(part))
		r.Comment = '#'
		rows, err := r.ReadAll()
		if err != nil || len(rows) == 0 {
			t.Fatalf("table %q is not CSV (%v):\n%s", title, err, part)
		}
		tables[title] = rows
	}
	return tables
}

// column is the values of the column named name.
func column(t *testing.T, table [][]string, name string) []string {
	t.Helper()
	i := slices.Index(table[0], name)
	if i < 0 {
		t.Fatalf("no column %q in %q", name, table[0])
	}
	var out []string
	for _, row := range table[1:] {
		out = append(out, row[i])
	}
	return out
}

// numbers checks that a column holds numbers (or nothing) and at least one.
func numbers(t *testing.T, what string, table [][]string, names ...string) {
	t.Helper()
	for _, name := range names {
		seen := false
		for _, v := range column(t, table, name) {
			if v == "" {
				continue
			}
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				t.Errorf("%s: column %q holds %q, not a number", what, name, v)
			}
			seen = true
		}
		if !seen {
			t.Errorf("%s: column %q holds no number", what, name)
		}
	}
}

// titled is the title of the one table whose title starts with prefix.
func titled(t *testing.T, tables map[string][][]string, prefix string) string {
	t.Helper()
	var found []string
	for title := range tables {
		if strings.HasPrefix(title, prefix) {
			found = append(found, title)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d tables titled %q… in %q", len(found), prefix, slices.Sorted(maps.Keys(tables)))
	}
	return found[0]
}

// csvRun runs the CLI with --format csv and returns its tables.
func csvRun(t *testing.T, args ...string) map[string][][]string {
	t.Helper()
	r := cli(t, append([]string{"--format", "csv"}, args...)...)
	if r.code != 0 {
		t.Fatalf("%s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return csvTables(t, r.stdout)
}

// TestFormatCSVEveryCommand runs every command that prints tables with
// --format csv on a real server: each writes CSV a reader takes, its
// tables under their titles, with numbers where the text shows "1.23s",
// "12.3%" or "8192 kB".
func TestFormatCSVEveryCommand(t *testing.T) {
	t.Run("profiles", func(t *testing.T) {
		list := csvRun(t, "profiles", "list")
		numbers(t, "profiles list", list["0"], "statements", "indexes")
		show := csvRun(t, "profiles", "show", "hishamos")
		stmts := show[titled(t, show, "Profile hishamos: ")]
		numbers(t, "profiles show", stmts, "weight")
		if sql := column(t, stmts, "sql"); !strings.HasPrefix(sql[0], "SELECT") {
			t.Errorf("profiles show: the sql column holds %q", sql[0])
		}
	})

	t.Run("sandbox status", func(t *testing.T) {
		kv := csvRun(t, "sandbox", "status", "--dir", filepath.Join(t.TempDir(), "none"))["0"]
		if kv[0][0] != "field" || kv[1][0] != "state" || kv[1][1] != "not created" {
			t.Errorf("sandbox status: %q", kv)
		}
	})

	dsn := proposeDB(t)
	t.Run("seed", func(t *testing.T) {
		seeded := testdb.NewDatabase(t)
		counts := csvRun(t, "--dsn", seeded, "seed", "--yes")["0"]
		numbers(t, "seed", counts, "rows")
		if counts[len(counts)-1][0] != "total" {
			t.Errorf("seed: the last row is %q, want the total", counts[len(counts)-1])
		}
	})

	t.Run("explain", func(t *testing.T) {
		out := csvRun(t, "--dsn", dsn, "explain", "--analyze", "SELECT id FROM items WHERE state = 'open' ORDER BY created_at LIMIT 5")
		plan := out[titled(t, out, "Plan (EXPLAIN ANALYZE")]
		numbers(t, "explain", plan, "node", "total cost", "self %", "plan rows", "actual rows", "self ms")
		if f := out[titled(t, out, "Findings")]; f[0][0] != "severity" {
			t.Errorf("explain: findings %q", f)
		}
	})

	t.Run("analyze", func(t *testing.T) {
		// The loader's COPY and VACUUM statements are in pg_stat_statements
		// too; enough calls of the workload's statement keep it in the top 5
		// by total time however slow the machine made either of them.
		adsn := analyzeDB(t)
		conn := testdb.Conn(t, adsn)
		b := &pgx.Batch{}
		for range 300 {
			b.Queue("SELECT id, cost FROM agents_agentexecution WHERE platform_used = $1 AND status = $2", "openai", "failed")
		}
		if err := conn.SendBatch(context.Background(), b).Close(); err != nil {
			t.Fatal(err)
		}
		out := csvRun(t, "--dsn", adsn, "analyze", "--top", "5")
		stmts := out[titled(t, out, "Top statements by total time")]
		numbers(t, "analyze", stmts, "rank", "calls", "total ms", "mean ms", "share %", "rows/c")
		if q := column(t, stmts, "query"); !slices.ContainsFunc(q, func(s string) bool { return strings.Contains(s, "platform_used = $1") }) {
			t.Errorf("analyze: the query column lacks the workload's statement: %q", q)
		}
		numbers(t, "analyze", out[titled(t, out, "Indexes")], "size bytes", "scans")
		if f := out[titled(t, out, "Findings")]; len(f) < 2 || !slices.Contains(column(t, f, "rule"), "invalid-index") {
			t.Errorf("analyze: findings %q", f)
		}
	})

	t.Run("bench", func(t *testing.T) {
		bdsn := seededDB(t)
		base := filepath.Join(t.TempDir(), "base.json")
		first := csvRun(t, "--dsn", bdsn, "bench", "--iterations", "5", "--warmup", "1", "--save", base)
		run := first[titled(t, first, "bench hishamos")]
		numbers(t, "bench", run, "calls", "p50 ms", "p95 ms", "mean ms", "rows/call", "buffers/call")
		// The command list's after half, measured whole as a request.
		reqs := first[titled(t, first, "Requests (")]
		numbers(t, "bench requests", reqs, "requests", "queries/req", "p50 ms", "server ms", "rows/req", "bytes/req")
		if q := column(t, reqs, "queries/req"); !slices.Equal(column(t, reqs, "request"), []string{"command_templates_list_after"}) || q[0] != "2" {
			t.Errorf("bench: requests %q", reqs)
		}
		out := csvRun(t, "--dsn", bdsn, "bench", "--iterations", "5", "--warmup", "1", "--baseline", base, "--max-regression", "off")
		cmp := out["Comparison (before → after)"]
		numbers(t, "bench comparison", cmp, "before p50 ms", "after p50 ms", "change %", "p")
		if slices.Contains(cmp[0], "95% CI") || !slices.Contains(cmp[0], "ci low %") {
			t.Errorf("bench: the CI is not split into numbers: %q", cmp[0])
		}
	})

	dir := filepath.Join(t.TempDir(), "migrations")
	t.Run("indexes propose, plan and the migrate commands", func(t *testing.T) {
		workload := proposeFile(t, "w.sql", "SELECT id FROM items WHERE account_id = $1 ORDER BY created_at DESC LIMIT 10;\n")
		save := filepath.Join(t.TempDir(), "proposals.json")
		out := csvRun(t, append([]string{"--dsn", dsn, "indexes", "propose", "--workload", workload, "--save", save}, withoutHypoPG()...)...)
		numbers(t, "propose", out["Proposed indexes"], "proposal", "size bytes", "statements", "best %")
		fields := map[string]string{}
		for _, row := range out["Workload"][1:] {
			fields[row[0]] = row[1]
		}
		if _, err := strconv.ParseFloat(fields["cost before"], 64); err != nil {
			t.Errorf("propose: the workload's cost before is %q", fields["cost before"])
		}

		plan := csvRun(t, "--dsn", dsn, "indexes", "plan", "--from", save, "--dir", dir)["0"]
		if len(plan) != 2 || plan[0][0] != "version" {
			t.Fatalf("plan: %q", plan)
		}
		validate := csvRun(t, "migrate", "validate", "--dir", dir)["0"]
		numbers(t, "validate", validate, "files", "down files")
		numbers(t, "hash", csvRun(t, "migrate", "hash", "--dir", dir)["0"], "files")
		if lint := csvRun(t, "migrate", "lint", "--offline", "--dir", dir)["0"]; lint[0][0] != "rule" {
			t.Errorf("lint: %q", lint)
		}
		if dry := csvRun(t, "--dsn", dsn, "indexes", "apply", "--dry-run", "--dir", dir)["0"]; len(dry) != 2 || dry[1][2] != "would-apply" {
			t.Errorf("apply --dry-run: %q", dry)
		}
		applied := csvRun(t, "--dsn", dsn, "indexes", "apply", "--dir", dir)["0"]
		numbers(t, "apply", applied, "took ms")
		status := csvRun(t, "--dsn", dsn, "migrate", "status", "--dir", dir)["0"]
		if status[1][1] != "applied" {
			t.Errorf("status: %q", status)
		}
		if repair := csvRun(t, "--dsn", dsn, "migrate", "repair", "--dry-run", "--dir", dir)["0"]; len(repair) != 1 {
			t.Errorf("repair: %q; want a header and no INVALID index", repair)
		}
		if down := csvRun(t, "--dsn", dsn, "migrate", "down", "--dir", dir)["0"]; down[1][2] != "reverted" {
			t.Errorf("down: %q", down)
		}
	})
}
