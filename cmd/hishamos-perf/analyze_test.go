package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/analyze"
	"github.com/hishamos/hishamos-perf/cmd/hishamos-perf/internal/report"
	"github.com/hishamos/hishamos-perf/internal/dataset"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// analyzeDB is a database with the HishamOS data, a duplicate index, an
// invalid one, and a workload that scans the executions table.
func analyzeDB(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	conn := testdb.Conn(t, dsn)
	scale, err := dataset.ParseScale("small")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dataset.Load(ctx, conn, dataset.Options{Scale: scale, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"CREATE INDEX dup_agent ON agents_agentexecution (agent_id)",
		"CREATE UNIQUE INDEX CONCURRENTLY exec_status_unique ON agents_agentexecution (status)",
	} {
		_, _ = conn.Exec(ctx, s) // the second fails and leaves an INVALID index
	}
	b := &pgx.Batch{}
	for range 20 {
		b.Queue("SELECT id, cost FROM agents_agentexecution WHERE platform_used = $1 AND status = $2", "openai", "failed")
	}
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		t.Fatal(err)
	}
	return dsn
}

func TestAnalyzeCLI(t *testing.T) {
	dsn := analyzeDB(t)
	r := cli(t, "--dsn", dsn, "--format", "json", "analyze", "--top", "10", "--explain", "5")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var doc struct {
		Schema     string `json:"schema"`
		Statements []struct {
			Query string `json:"query"`
			Plan  *struct {
				Generic bool            `json:"generic"`
				Explain json.RawMessage `json:"explain"`
			} `json:"plan"`
		} `json:"statements"`
		Findings []struct {
			Rule, Severity, Table, Index, Fingerprint, Query, Fix string
			Evidence                                              map[string]float64
		} `json:"findings"`
		Indexes []struct {
			Name      string `json:"name"`
			SizeBytes int64  `json:"size_bytes"`
		} `json:"indexes"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	if doc.Schema != "hishamos-perf/analyze/v1" || len(doc.Indexes) == 0 {
		t.Errorf("schema %q, %d indexes", doc.Schema, len(doc.Indexes))
	}
	rules := map[string]bool{}
	for _, f := range doc.Findings {
		rules[f.Rule] = true
		if f.Fix == "" || f.Severity == "" || f.Evidence == nil {
			t.Errorf("finding lacks fix, severity or evidence: %+v", f)
		}
		if f.Rule == "seq-scan-large" && (f.Fingerprint == "" || !strings.Contains(f.Query, "platform_used") || f.Table != "public.agents_agentexecution") {
			t.Errorf("seq-scan-large finding: %+v", f)
		}
	}
	for _, want := range []string{"seq-scan-large", "duplicate-index", "invalid-index"} {
		if !rules[want] {
			t.Errorf("no %s finding in %v", want, rules)
		}
	}
	planned := false
	for _, s := range doc.Statements {
		if strings.Contains(s.Query, "platform_used") && s.Plan != nil && s.Plan.Generic && len(s.Plan.Explain) > 0 {
			planned = true
		}
	}
	if !planned {
		t.Error("the scanning statement has no generic plan in the JSON")
	}

	// The gate: an INVALID index is critical.
	r = cli(t, "--dsn", dsn, "-q", "analyze", "--top", "3", "--explain", "0", "--fail-on", "critical")
	if r.code != 1 || !strings.Contains(r.stderr, "findings at critical or above") {
		t.Errorf("--fail-on critical: exit %d, stderr %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "CRITICAL invalid-index") {
		t.Errorf("table output lacks the finding:\n%s", r.stdout)
	}

	// Markdown stays under the limit.
	r = cli(t, "--dsn", dsn, "--format", "markdown", "analyze", "--top", "0")
	if r.code != 0 || len(r.stdout) > report.MarkdownLimit || !strings.Contains(r.stdout, "### Findings") {
		t.Errorf("markdown: exit %d, %d bytes", r.code, len(r.stdout))
	}
}

func TestExplainCLI(t *testing.T) {
	dsn := analyzeDB(t)
	r := cli(t, "--dsn", dsn, "explain", "--analyze", "SELECT id FROM agents_agentexecution WHERE platform_used = 'openai' AND status = 'failed'")
	if r.code != 0 || !strings.Contains(r.stdout, "Seq Scan on agents_agentexecution") || !strings.Contains(r.stdout, "WARNING seq-scan-large") {
		t.Errorf("explain: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	r = cli(t, "--dsn", dsn, "--format", "json", "explain", "SELECT * FROM agents_agent WHERE id = $1")
	var doc struct {
		Schema     string `json:"schema"`
		Statements []struct {
			Generic bool              `json:"generic"`
			Explain []json.RawMessage `json:"explain"`
		} `json:"statements"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != 0 {
		t.Fatalf("exit %d, %v\n%s", r.code, err, r.stdout)
	}
	if doc.Schema != "hishamos-perf/explain/v1" || len(doc.Statements) != 1 || !doc.Statements[0].Generic || len(doc.Statements[0].Explain) != 1 {
		t.Errorf("explain JSON: %+v", doc)
	}

	file := filepath.Join(t.TempDir(), "bad.sql")
	if err := os.WriteFile(file, []byte("SELECT 1;\n\nSELECT *\n  FORM agents_agent;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"syntax error", []string{"explain", "--file", file}, 2, file + `:4:3: syntax error at or near "FORM"`},
		{"unknown table", []string{"explain", "SELECT * FROM nope"}, 2, `relation "nope" does not exist`},
		{"utility", []string{"explain", "VACUUM agents_agent"}, 2, "not explainable"},
		{"timeout", []string{"explain", "--analyze", "--statement-timeout", "200ms", "SELECT pg_sleep(2)"}, 3, "statement_timeout hit (200ms)"},
		{"no SQL", []string{"explain"}, 2, "give the SQL to explain"},
		{"bad sort", []string{"analyze", "--sort", "bogus"}, 2, `unknown sort key "bogus"`},
		{"bad gate", []string{"analyze", "--fail-on", "info"}, 2, "use warning or critical"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := cli(t, append([]string{"--dsn", dsn}, c.args...)...)
			if r.code != c.code || !strings.Contains(r.stderr, c.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
				t.Errorf("exit %d (want %d), stderr:\n%s\nwant it to say %q on one line", r.code, c.code, r.stderr, c.want)
			}
		})
	}
}

func TestAnalyzeCLINoExtension(t *testing.T) {
	dsn := testdb.NewDatabase(t)
	if _, err := testdb.Conn(t, dsn).Exec(context.Background(), "DROP EXTENSION pg_stat_statements"); err != nil {
		t.Fatal(err)
	}
	r := cli(t, "--dsn", dsn, "analyze")
	if r.code != 3 || !strings.Contains(r.stderr, "CREATE EXTENSION pg_stat_statements;") {
		t.Errorf("exit %d, stderr %s", r.code, r.stderr)
	}
}

// TestAnalyzeMarkdownLimit: a report with thousands of findings is cut to
// stay under the pull-request comment limit, with a note saying so.
func TestAnalyzeMarkdownLimit(t *testing.T) {
	rep := &analyze.Report{Schema: analyze.SchemaAnalyze, Sort: analyze.SortTotal, ShareOf: "total_time"}
	for i := range 3000 {
		rep.Findings = append(rep.Findings, analyze.Finding{
			Rule: analyze.RuleUnusedIndex, Severity: analyze.Warning, Table: "public.t", Index: fmt.Sprintf("public.index_%d", i),
			Message: strings.Repeat("an index nobody reads ", 5), Fix: fmt.Sprintf("DROP INDEX CONCURRENTLY public.index_%d;", i),
		})
	}
	var out bytes.Buffer
	a := &app{stdout: &out, stderr: &bytes.Buffer{}, getenv: func(string) string { return "" }, format: report.Markdown}
	if err := a.renderAnalyze(rep); err != nil {
		t.Fatal(err)
	}
	if out.Len() > report.MarkdownLimit || !strings.Contains(out.String(), "more findings, left out") || !strings.Contains(out.String(), "public.index_0 ") {
		t.Errorf("%d bytes; tail:\n%s", out.Len(), out.String()[max(0, out.Len()-300):])
	}
}
