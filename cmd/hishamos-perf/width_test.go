package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/spf13/cobra"

	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// The longest names PostgreSQL takes (63 bytes): tables and columns an ORM
// or a partitioning scheme names this way break a table's width unless
// they are elided.
const (
	longTable  = "customer_subscription_invoice_line_item_adjustments_by_region_x"
	longColumn = "adjusted_amount_in_the_customers_billing_currency_after_the_tax"
	longIndex  = "customer_subscription_invoice_line_item_adjustments_region_idx1"
)

// longNamesDB is analyzeDB's HishamOS data with a table of the longest
// names PostgreSQL allows, an index on it, and a workload that reads it.
func longNamesDB(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	dsn := analyzeDB(t)
	conn := testdb.Conn(t, dsn)
	for _, s := range []string{
		fmt.Sprintf(`CREATE TABLE %q (id bigint PRIMARY KEY, region_identifier_of_the_invoice_line int NOT NULL, %q numeric NOT NULL, created_at timestamptz NOT NULL)`, longTable, longColumn),
		fmt.Sprintf(`INSERT INTO %q SELECT i, i %% 40, i %% 1000, timestamptz '2024-01-01' + i * interval '1 minute' FROM generate_series(1, 30000) i`, longTable),
		fmt.Sprintf(`CREATE INDEX %q ON %q (created_at)`, longIndex, longTable),
		fmt.Sprintf(`ANALYZE %q`, longTable),
	} {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	b := &pgx.Batch{}
	for i := range 30 {
		b.Queue(fmt.Sprintf(`SELECT id, %q FROM %q WHERE region_identifier_of_the_invoice_line = $1 AND %q > $2`, longColumn, longTable, longColumn), i%40, 500)
	}
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		t.Fatal(err)
	}
	return dsn
}

// checkFits fails the test on a line of out wider than width columns.
func checkFits(t *testing.T, what, out string, width int) {
	t.Helper()
	for i, line := range strings.Split(out, "\n") {
		if n := twwidth.Width(line); n > width {
			t.Errorf("%s at %d columns: line %d is %d wide:\n%s", what, width, i+1, n, line)
			return
		}
	}
}

// TestTextFitsTheWidth runs every command that prints on a real server, at
// 80 and at 120 columns (COLUMNS), and checks that no line of its output is
// wider: analyze (every sort key, with and without ANALYZE), explain,
// indexes propose (-v, --compare-seed), plan, apply and the migrate
// commands, bench (a run, a comparison with its gate, a .sql file),
// profiles, seed, sandbox, version, and every command's --help; the names
// in them are the longest PostgreSQL takes. What they say on stderr fits
// too. The demo's output is checked by TestDemoSmallJSON, from its own
// run.
func TestTextFitsTheWidth(t *testing.T) {
	dsn := longNamesDB(t)
	bdsn := seededDB(t)
	tmp := t.TempDir()
	workload := proposeFile(t, "w.sql", fmt.Sprintf(`SELECT id, %q FROM %q WHERE region_identifier_of_the_invoice_line = 3 AND %q > 500;
SELECT id, cost, created_at FROM agents_agentexecution WHERE platform_used = 'openai' AND status = 'failed' ORDER BY created_at DESC LIMIT 20;
`, longColumn, longTable, longColumn))
	samples := proposeFile(t, "s.sql", "SELECT id, cost FROM agents_agentexecution WHERE platform_used = 'openai' AND status = 'failed';\n")
	bsql := proposeFile(t, "b.sql", "SELECT id FROM agents_agent WHERE status = 'active';\nSELECT count(*) FROM agents_agentexecution WHERE platform_used = 'openai';\n")
	seededTo := testdb.NewDatabase(t)
	box := sandboxDir(t)

	for _, width := range []int{80, 120} {
		t.Run(strconv.Itoa(width), func(t *testing.T) {
			t.Setenv("COLUMNS", strconv.Itoa(width))
			dir := filepath.Join(tmp, fmt.Sprintf("migrations-%d", width))
			base := filepath.Join(tmp, fmt.Sprintf("base-%d.json", width))
			save := filepath.Join(tmp, fmt.Sprintf("proposals-%d.json", width))
			steps := [][]string{
				{"version"},
				{"profiles", "list"},
				{"profiles", "show", "hishamos"},
				{"profiles", "validate", "hishamos"},
				{"sandbox", "status", "--dir", filepath.Join(tmp, "none")},
				{"sandbox", "up", "--dir", box},
				{"sandbox", "status", "--dir", box},
				{"--dsn", seededTo, "seed", "--yes", "--replace"},
				{"--dsn", dsn, "analyze"},
				{"--dsn", dsn, "analyze", "--sort", "io", "--analyze", "--min-stats-age", "0"},
				{"--dsn", dsn, "analyze", "--sort", "stddev", "--workload", samples, "--analyze"},
				{"--dsn", dsn, "analyze", "--sort", "mean", "--top", "0"},
				{"--dsn", dsn, "analyze", "--sort", "calls", "--interval", "100ms", "--no-indexes"},
				{"--dsn", dsn, "explain", "--analyze", "--file", workload},
				{"--dsn", dsn, "explain", fmt.Sprintf("SELECT * FROM %q WHERE %q = $1", longTable, longColumn)},
				append([]string{"--dsn", dsn, "indexes", "propose", "--workload", workload, "--save", save, "-v"}, withoutHypoPG()...),
				append([]string{"--dsn", bdsn, "indexes", "propose", "--workload", "hishamos", "--compare-seed"}, withoutHypoPG()...),
				{"--dsn", dsn, "indexes", "plan", "--from", save, "--dir", dir},
				{"--dsn", dsn, "indexes", "apply", "--dry-run", "--dir", dir},
				{"--dsn", dsn, "indexes", "apply", "--dir", dir},
				{"--dsn", dsn, "migrate", "status", "--dir", dir},
				{"migrate", "validate", "--dir", dir},
				{"migrate", "hash", "--dir", dir},
				{"migrate", "lint", "--offline", "--dir", dir},
				{"--dsn", dsn, "migrate", "repair", "--dry-run", "--dir", dir},
				{"--dsn", dsn, "migrate", "down", "2", "--dir", dir},
				{"--dsn", bdsn, "bench", "--iterations", "5", "--warmup", "1", "--save", base},
				{"--dsn", bdsn, "bench", "--iterations", "5", "--warmup", "1", "--baseline", base, "--expect", "40%"},
				{"--dsn", bdsn, "bench", "--sql", bsql, "--iterations", "5", "--warmup", "1"},
			}
			// Every command's --help too.
			var walk func(c *cobra.Command)
			walk = func(c *cobra.Command) {
				if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
					return
				}
				steps = append(steps, append(strings.Fields(strings.TrimPrefix(c.CommandPath(), "hishamos-perf")), "--help"))
				for _, sub := range c.Commands() {
					walk(sub)
				}
			}
			walk(newRootCmd(&app{getenv: func(string) string { return "" }}))
			for _, args := range steps {
				r := cli(t, args...)
				what := strings.Join(args, " ")
				if r.code != 0 && !(r.code == exitGate && strings.Contains(what, "--expect")) {
					t.Errorf("%s: exit %d\n%s", what, r.code, r.stderr)
					continue
				}
				checkFits(t, what, r.stdout, width)
				// An error is one line, whole (the rule for bad input):
				// the rest of stderr is progress, fitted.
				var said []string
				for _, line := range strings.Split(r.stderr, "\n") {
					if !strings.HasPrefix(line, "hishamos-perf: ") {
						said = append(said, line)
					}
				}
				checkFits(t, what+" (stderr)", strings.Join(said, "\n"), width)
			}
		})
	}
}

// TestLongNamesElideInTablesAndStayWhole: in analyze's text the longest
// names are elided in the middle in the tables, whole in the details below
// them; the JSON has them whole.
func TestLongNamesElideInTablesAndStayWhole(t *testing.T) {
	dsn := longNamesDB(t)
	t.Setenv("COLUMNS", "80")
	r := cli(t, "--dsn", dsn, "analyze", "--min-stats-age", "0")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	checkFits(t, "analyze", r.stdout, 80)
	tables, details := 0, 0
	for _, line := range strings.Split(r.stdout, "\n") {
		switch {
		case strings.Contains(line, "…") && strings.Contains(line, longIndex[:10]):
			tables++
		case strings.Contains(line, longTable) || strings.Contains(line, longIndex):
			details++
		}
	}
	if tables == 0 || details == 0 {
		t.Errorf("want the long names elided in a table (%d lines) and whole in the details (%d lines):\n%s", tables, details, r.stdout)
	}
	j := cli(t, "--dsn", dsn, "--format", "json", "analyze", "--min-stats-age", "0")
	if j.code != 0 || !strings.Contains(j.stdout, `"name": "`+longIndex+`"`) || !strings.Contains(j.stdout, longTable) {
		t.Errorf("the JSON lacks the whole names: exit %d", j.code)
	}
}
