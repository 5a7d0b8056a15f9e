package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hishamos/hishamos-perf/cmd/hishamos-perf/internal/report"
	"github.com/hishamos/hishamos-perf/internal/dataset"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// The JSON documents the tests read, as the report package writes them.
type (
	sandboxReport = report.SandboxReport
	seedReport    = report.SeedReport
)

// result is one run of the CLI.
type result struct {
	code           int
	stdout, stderr string
}

// cli runs the whole CLI in process, with no DSN from the environment unless
// the test sets one.
func cli(t *testing.T, args ...string) result {
	t.Helper()
	for _, v := range []string{"HISHAMOS_PERF_DSN", "DATABASE_URL", "PGHOST", "PGDATABASE", "PGPASSWORD"} {
		if _, ok := os.LookupEnv(v); ok {
			t.Setenv(v, "")
		}
	}
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

// sandboxDir returns a fresh sandbox folder for one test, destroyed after it.
func sandboxDir(t *testing.T) string {
	t.Helper()
	parent, err := os.MkdirTemp("", "hishamos-perf-cli-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(parent, 0o755)
	dir := filepath.Join(parent, "box")
	t.Cleanup(func() {
		cli(t, "sandbox", "destroy", "--dir", dir)
		os.RemoveAll(parent)
	})
	return dir
}

func TestBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown format", []string{"--format", "yaml", "profiles", "list"}, 2, `unknown format "yaml": use one of table, json, markdown`},
		{"unknown scale", []string{"--dsn", "postgres://x@127.0.0.1:1/db", "seed", "--scale", "huge", "--yes"}, 2, "unknown scale"},
		{"unparsable DSN", []string{"--dsn", "postgres://app:hunter2@db:notaport/app", "seed", "--yes"}, 2, "invalid connection string"},
		{"unreachable host", []string{"--dsn", "postgres://app:hunter2@127.0.0.1:1/app?connect_timeout=3", "seed", "--yes"}, 3, "cannot connect"},
		{"seed elsewhere without --yes", []string{"--dsn", "postgres://app:hunter2@127.0.0.1:1/app", "seed"}, 2, "add --yes"},
		{"sandbox folder not usable", []string{"sandbox", "up", "--dir", "/dev/null/box"}, 2, "folder not usable: /dev/null/box"},
		{"unknown profile", []string{"profiles", "show", "nope"}, 2, "no such profile"},
		{"unknown flag", []string{"seed", "--bogus"}, 2, "unknown flag: --bogus"},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", r.code, tt.code, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr does not say %q:\n%s", tt.want, r.stderr)
			}
			if strings.Contains(r.stderr, "hunter2") || strings.Contains(r.stdout, "hunter2") {
				t.Errorf("the password was printed:\n%s%s", r.stdout, r.stderr)
			}
			if strings.Contains(r.stderr, "goroutine ") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
				t.Errorf("want one line (and at most a usage hint), got:\n%s", r.stderr)
			}
		})
	}
}

func TestProfileErrorsNameFileAndLine(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]struct{ yaml, want string }{
		"syntax.yaml": {"name: x\nstatements:\n  - name: a\n    sql: [unclosed\n", "syntax.yaml:4:"},
		"kind.yaml":   {"name: x\nstatements:\n  - name: a\n    sql: SELECT $1\n    params:\n      - kind: telepathy\n", "kind.yaml:6:"},
		"param.yaml":  {"name: x\nstatements:\n  - name: a\n    sql: SELECT $1, $2\n    params:\n      - {kind: const, value: 1}\n", "param.yaml:"},
	}
	for file, c := range cases {
		path := filepath.Join(dir, file)
		if err := os.WriteFile(path, []byte(c.yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		r := cli(t, "profiles", "validate", path)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 naming %q", file, r.code, r.stderr, c.want)
		}
	}
	if r := cli(t, "profiles", "validate", "hishamos"); r.code != 0 {
		t.Errorf("built-in profile does not validate: %s", r.stderr)
	}
}

func TestSandboxLifecycleCLI(t *testing.T) {
	dir := sandboxDir(t)
	r := cli(t, "--format", "json", "sandbox", "up", "--dir", dir)
	if r.code != 0 {
		t.Fatalf("sandbox up: exit %d\n%s", r.code, r.stderr)
	}
	var report sandboxReport
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
		t.Fatalf("sandbox up --format json: %v\n%s", err, r.stdout)
	}
	if !report.Sandbox.Running || report.Sandbox.Seeded != "small" {
		t.Fatalf("after up: %+v; want running with the small data", report.Sandbox)
	}
	scale, _ := dataset.ParseScale("small")
	var total int64
	for _, c := range report.Tables {
		total += c.Rows
	}
	if want := scale.Total(); total != want {
		t.Errorf("sandbox holds %d rows, want %d (scale small)", total, want)
	}

	// A second up reports the running server and starts nothing.
	again := cli(t, "--format", "json", "sandbox", "up", "--dir", dir)
	var second sandboxReport
	if err := json.Unmarshal([]byte(again.stdout), &second); err != nil || again.code != 0 {
		t.Fatalf("second up: exit %d, %v\n%s", again.code, err, again.stderr)
	}
	if second.Sandbox.PID != report.Sandbox.PID || second.Sandbox.Started {
		t.Errorf("second up started a server (pid %d, was %d)", second.Sandbox.PID, report.Sandbox.PID)
	}

	// Seeding tables that hold rows is refused, and nothing changes.
	t.Setenv("HISHAMOS_PERF_SANDBOX_DIR", dir)
	refused := cli(t, "seed")
	if refused.code != 2 || !strings.Contains(refused.stderr, "--replace") {
		t.Errorf("seed over data: exit %d, %q; want 2 asking for --replace", refused.code, refused.stderr)
	}
	url := cli(t, "sandbox", "url")
	if url.code != 0 || !strings.Contains(url.stdout, "dbname=hishamos") {
		t.Errorf("sandbox url: exit %d, %q", url.code, url.stdout)
	}
	if r := cli(t, "sandbox", "down"); r.code != 0 {
		t.Errorf("sandbox down: exit %d, %s", r.code, r.stderr)
	}
	status := cli(t, "--format", "json", "sandbox", "status")
	var stopped sandboxReport
	if err := json.Unmarshal([]byte(status.stdout), &stopped); err != nil || stopped.Sandbox.Running {
		t.Errorf("status after down: %v, %+v", err, stopped.Sandbox)
	}
}

func TestMissingBinaries(t *testing.T) {
	dir := sandboxDir(t)
	t.Setenv(envPgBinDir, t.TempDir())
	r := cli(t, "sandbox", "up", "--dir", dir)
	if r.code != 3 || !strings.Contains(r.stderr, "make setup") {
		t.Errorf("exit %d, stderr %q; want 3 saying to run make setup", r.code, r.stderr)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("a failed up left %s behind", dir)
	}
}

func TestSeedDSN(t *testing.T) {
	dsn := testdb.NewDatabase(t)
	r := cli(t, "--dsn", dsn, "--format", "json", "seed", "--scale", "small", "--yes")
	if r.code != 0 {
		t.Fatalf("seed: exit %d\n%s", r.code, r.stderr)
	}
	var rep seedReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	scale, _ := dataset.ParseScale("small")
	if rep.Result.TotalRows != scale.Total() || rep.Result.RowsPerSecond <= 0 {
		t.Errorf("seed result = %+v; want %d rows and a rate", rep.Result, scale.Total())
	}
	conn := testdb.Conn(t, dsn)
	counts, err := dataset.RowCounts(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, c := range counts {
		total += c.Rows
	}
	if total != scale.Total() {
		t.Errorf("database holds %d rows, want %d", total, scale.Total())
	}
	// --replace with another seed reloads; without it, refused.
	if r := cli(t, "--dsn", dsn, "seed", "--yes", "--replace", "--seed", "7", "-q"); r.code != 0 {
		t.Errorf("seed --replace: exit %d\n%s", r.code, r.stderr)
	}
}
