package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/hishamos/hishamos-perf/internal/sandbox"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// TestSandboxPGVersion: `sandbox up --pg N` makes a sandbox of that major
// version (the test server's here, so make test-versions tries each), and
// status says which and where its binaries came from; asked for another
// version the same sandbox is refused, in one line, exit 2.
func TestSandboxPGVersion(t *testing.T) {
	var versionNum int
	if err := testdb.Conn(t, testdb.DSN()).QueryRow(context.Background(), "SELECT current_setting('server_version_num')::int").Scan(&versionNum); err != nil {
		t.Fatal(err)
	}
	major := versionNum / 10000
	dir := sandboxDir(t)
	r := cli(t, "--format", "json", "sandbox", "up", "--pg", strconv.Itoa(major), "--dir", dir)
	if r.code != 0 {
		t.Fatalf("sandbox up --pg %d: exit %d\n%s", major, r.code, r.stderr)
	}
	var report sandboxReport
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
		t.Fatal(err)
	}
	b := report.Sandbox.Binaries
	if b == nil || b.Major != major || b.Source == "" || b.BinDir == "" {
		t.Fatalf("sandbox up --pg %d: binaries %+v; want PostgreSQL %d and where it came from", major, b, major)
	}
	if want := fmt.Sprintf("sandbox: created PostgreSQL %s (%s)", report.Sandbox.Version, b.Origin()); !strings.Contains(r.stderr, want) {
		t.Errorf("stderr does not say %q:\n%s", want, r.stderr)
	}
	status := cli(t, "sandbox", "status", "--dir", dir)
	if status.code != 0 || !strings.Contains(status.stdout, "binaries") || !strings.Contains(status.stdout, b.Origin()) {
		t.Errorf("sandbox status: exit %d; want a binaries row saying %q:\n%s", status.code, b.Origin(), status.stdout)
	}

	other := major + 1
	if other > sandbox.MaxMajor {
		other = sandbox.MinMajor
	}
	r = cli(t, "sandbox", "up", "--pg", strconv.Itoa(other), "--dir", dir)
	if r.code != exitUsage || !strings.Contains(r.stderr, "holds PostgreSQL "+report.Sandbox.Version+", not the "+strconv.Itoa(other)) {
		t.Errorf("sandbox up --pg %d on a %d sandbox: exit %d, stderr %q; want 2 naming both", other, major, r.code, r.stderr)
	}
	if strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Errorf("want one line, got:\n%s", r.stderr)
	}
}

// TestSandboxPGBadInput: an unsupported --pg or HISHAMOS_PERF_PG, and the
// two names of the binaries folder set to different folders, are bad
// input: one line, exit 2, nothing made.
func TestSandboxPGBadInput(t *testing.T) {
	dir := sandboxDir(t)
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"--pg 13", nil, []string{"sandbox", "up", "--pg", "13", "--dir", dir}, `--pg: PostgreSQL "13" is not supported: give a major version from 14 to 18`},
		{"demo --pg 19", nil, []string{"demo", "--pg", "19", "--scale", "small"}, `--pg: PostgreSQL "19" is not supported`},
		{"HISHAMOS_PERF_PG=seventeen", map[string]string{envPG: "seventeen"}, []string{"sandbox", "up", "--dir", dir}, envPG + `: PostgreSQL "seventeen" is not supported`},
		{"both binaries names, different folders", map[string]string{envPgBinDir: "/usr/lib/postgresql/15/bin", envPgBin: "/opt/pg/bin"}, []string{"sandbox", "up", "--dir", dir}, "name different server binaries: set one of them"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			r := cli(t, tc.args...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
				t.Errorf("exit %d, stderr %q; want 2 and one line saying %q", r.code, r.stderr, tc.want)
			}
			if st := cli(t, "--format", "json", "sandbox", "status", "--dir", dir); strings.Contains(st.stdout, `"created": true`) {
				t.Errorf("a refused up made a sandbox in %s", dir)
			}
		})
	}
}

// TestResetSandboxStatsEveryVersion: the sandbox's reset after its data
// load works with pg_stat_statements_reset's signature on every version
// (no arguments and void up to 16; userid, dbid, queryid, minmax_only and
// a timestamptz from 17 on) and empties it.
func TestResetSandboxStatsEveryVersion(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	conn := testdb.Conn(t, dsn)
	if _, err := conn.Exec(ctx, "SELECT 4242 AS before_reset"); err != nil {
		t.Fatal(err)
	}
	if err := resetSandboxStats(ctx, conn); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_statements WHERE query LIKE '%before_reset%'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d statements left after the reset", n)
	}
}
