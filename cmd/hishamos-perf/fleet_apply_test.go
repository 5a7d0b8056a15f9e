package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hishamos/hishamos-perf/internal/testdb"
	"github.com/hishamos/hishamos-perf/migrate"
)

// indexes apply and migrate status with a real standby (issue 23 item 3):
// the standby given as the apply target is refused in one line, exit 2,
// saying it is a read-only standby and naming its primary, with nothing
// changed; apply with --replica returns once the standby has the index
// valid; migrate status --replica shows each index on each node.
func TestFleetApplyCLI(t *testing.T) {
	standby := testdb.StartStandby(t)
	dsn := fleetTable(t)
	standby.CatchUp(t)
	onStandby := standby.DSN(t, dsn)
	dir := filepath.Join(t.TempDir(), "migrations")
	props := writeFile(t, "proposals.json", `{"schema":"hishamos-perf/indexes/v1","proposals":[{"schema":"public","table":"items","columns":["k","note"],"name":"items_k_note_idx"}]}`)
	if r := cli(t, "-q", "indexes", "plan", "--from", props, "--dir", dir); r.code != 0 {
		t.Fatalf("plan: exit %d\n%s", r.code, r.stderr)
	}

	before := testdb.TakeFingerprint(t, dsn)
	r := cli(t, "--dsn", onStandby, "indexes", "apply", "--dir", dir)
	if r.code != 2 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 ||
		!strings.Contains(r.stderr, "read-only standby") || !strings.Contains(r.stderr, "its primary, host=") {
		t.Fatalf("apply on the standby: exit %d, %q; want 2, one line naming it read-only and its primary", r.code, r.stderr)
	}
	if diff := before.Diff(testdb.TakeFingerprint(t, dsn)); len(diff) > 0 {
		t.Errorf("the refused apply changed the primary: %v", diff)
	}

	r = cli(t, "--dsn", dsn, "-q", "indexes", "apply", "--dir", dir, "--replica", "standby="+onStandby)
	if r.code != 0 {
		t.Fatalf("apply with the standby: exit %d\n%s", r.code, r.stderr)
	}
	var valid bool
	if err := testdb.Conn(t, onStandby).QueryRow(t.Context(), `SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.items_k_note_idx'::regclass`).Scan(&valid); err != nil || !valid {
		t.Fatalf("items_k_note_idx on the standby when apply returned: valid %t, %v", valid, err)
	}

	r = cli(t, "--dsn", dsn, "--format", "json", "migrate", "status", "--dir", dir, "--replica", "standby="+onStandby)
	if r.code != 0 {
		t.Fatalf("status: exit %d\n%s", r.code, r.stderr)
	}
	var st struct{ Status migrate.StatusReport }
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Status.Files) != 1 || len(st.Status.Files[0].Indexes) != 1 {
		t.Fatalf("status files %+v", st.Status.Files)
	}
	ix := st.Status.Files[0].Indexes[0]
	if ix.State != migrate.IndexOK || len(ix.Nodes) != 1 || ix.Nodes[0].Node != "standby" || ix.Nodes[0].State != migrate.IndexOK {
		t.Errorf("status of items_k_note_idx %+v; want ok on the primary and on standby", ix)
	}
	// A standby that has not the index yet says so.
	if _, err := testdb.Conn(t, dsn).Exec(t.Context(), `DROP INDEX public.items_k_note_idx`); err != nil {
		t.Fatal(err)
	}
	standby.CatchUp(t)
	r = cli(t, "--dsn", dsn, "migrate", "status", "--dir", dir, "--replica", "standby="+onStandby)
	if !strings.Contains(r.stdout, "on standby") || !strings.Contains(r.stdout, "absent") {
		t.Errorf("status text with the index dropped: exit %d\n%s", r.code, r.stdout)
	}
}

// TestFleetApplyBadReplica: a --replica apply cannot wait for (a bad
// DSN, two of one name, the atlas engine, which records each version
// without waiting) is refused before anything runs, exit 2, saying so.
func TestFleetApplyBadReplica(t *testing.T) {
	dsn := testdb.NewDatabase(t)
	dir := filepath.Join(t.TempDir(), "migrations")
	props := writeFile(t, "proposals.json", `{"schema":"hishamos-perf/indexes/v1","proposals":[{"schema":"public","table":"items","columns":["k"],"name":"items_k2_idx"}]}`)
	if r := cli(t, "-q", "indexes", "plan", "--from", props, "--dir", dir); r.code != 0 {
		t.Fatalf("plan: exit %d\n%s", r.code, r.stderr)
	}
	before := testdb.TakeFingerprint(t, dsn)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--replica", "r1=postgres://a@b:notaport/x"}, "--replica r1"},
		{[]string{"--replica", "r1=" + dsn, "--replica", "r1=" + dsn}, "two nodes are named r1"},
		{[]string{"--replica", dsn, "--engine", "atlas"}, "native engine only"},
	} {
		r := cli(t, append([]string{"--dsn", dsn, "indexes", "apply", "--dir", dir}, c.args...)...)
		// The line, then the pointer to --help every usage error has.
		first := strings.SplitN(r.stderr, "\n", 2)[0]
		if r.code != 2 || !strings.Contains(first, c.want) || strings.Contains(r.stderr, "goroutine") {
			t.Errorf("apply %v: exit %d, %q; want 2, a line saying %q", c.args, r.code, r.stderr, c.want)
		}
	}
	if diff := before.Diff(testdb.TakeFingerprint(t, dsn)); len(diff) > 0 {
		t.Errorf("a refused apply changed the database: %v", diff)
	}
}
