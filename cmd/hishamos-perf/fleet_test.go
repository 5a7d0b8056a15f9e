package main

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/analyze"
	"github.com/hishamos/hishamos-perf/internal/fleet"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// TestSandboxReplicasCLI: sandbox up --replicas 1 starts a streaming
// standby that status lists beside the primary (role, port, replay lag),
// url --node prints its connection string, down stops both, and a number
// of replicas out of range is refused before anything starts.
func TestSandboxReplicasCLI(t *testing.T) {
	dir := sandboxDir(t)
	if r := cli(t, "sandbox", "up", "--dir", dir, "--replicas", "7"); r.code != 2 || !strings.Contains(r.stderr, "--replicas 7") {
		t.Fatalf("--replicas 7: exit %d, %q; want 2 naming it", r.code, r.stderr)
	}
	r := cli(t, "--format", "json", "sandbox", "up", "--dir", dir, "--replicas", "1")
	if r.code != 0 {
		t.Fatalf("sandbox up --replicas 1: exit %d\n%s", r.code, r.stderr)
	}
	var rep sandboxReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if len(rep.Nodes) != 2 || rep.Nodes[0].Role != fleet.Primary || rep.Nodes[1].Name != "replica1" || rep.Nodes[1].Role != fleet.Standby || rep.Nodes[1].ReplayLagBytes == nil {
		t.Fatalf("nodes %+v; want the primary and replica1, a standby with its replay lag", rep.Nodes)
	}
	if len(rep.Sandbox.Replicas) != 1 || rep.Sandbox.Replicas[0].Port == rep.Sandbox.Port || !rep.Sandbox.Replicas[0].Running {
		t.Errorf("replicas %+v; want replica1 running on a port of its own", rep.Sandbox.Replicas)
	}
	text := cli(t, "sandbox", "status", "--dir", dir)
	if !strings.Contains(text.stdout, "replica1  standby") {
		t.Errorf("status does not list replica1 as a standby:\n%s", text.stdout)
	}
	url := cli(t, "sandbox", "url", "--dir", dir, "--node", "replica1")
	if url.code != 0 || !strings.Contains(url.stdout, "/replica1/run") {
		t.Errorf("url --node replica1: exit %d, %q", url.code, url.stdout)
	}
	if bad := cli(t, "sandbox", "url", "--dir", dir, "--node", "replica2"); bad.code != 2 || !strings.Contains(bad.stderr, "primary, replica1") {
		t.Errorf("url --node replica2: exit %d, %q; want 2 listing the nodes", bad.code, bad.stderr)
	}
	if r := cli(t, "sandbox", "down", "--dir", dir); r.code != 0 {
		t.Fatalf("down: exit %d, %s", r.code, r.stderr)
	}
	st := cli(t, "--format", "json", "sandbox", "status", "--dir", dir)
	var stopped sandboxReport
	if err := json.Unmarshal([]byte(st.stdout), &stopped); err != nil || stopped.Sandbox.Running || len(stopped.Sandbox.Replicas) != 1 || stopped.Sandbox.Replicas[0].Running {
		t.Errorf("status after down: %v, %+v; want the primary and replica1 stopped", err, stopped.Sandbox)
	}
}

// fleetTable makes, in a fresh database of the package's server, a table
// of 20,000 rows with an index on k, and returns the DSN.
func fleetTable(t *testing.T) string {
	t.Helper()
	dsn := testdb.NewDatabase(t)
	conn := testdb.Conn(t, dsn)
	if _, err := conn.Exec(t.Context(), `CREATE TABLE items (id int PRIMARY KEY, k int NOT NULL, note text NOT NULL);
INSERT INTO items SELECT i, i % 1000, md5(i::text) FROM generate_series(1, 20000) i;
CREATE INDEX items_k_idx ON items (k);
CREATE INDEX items_note_idx ON items (note);
ANALYZE items`); err != nil {
		t.Fatal(err)
	}
	return dsn
}

// runOn runs each statement n times on dsn in a session it then closes,
// which flushes the session's statistics.
func runOn(t *testing.T, dsn string, n int, stmts ...string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	for i := range n {
		for _, s := range stmts {
			var args []any
			if strings.Contains(s, "$1") {
				args = append(args, i%1000)
			}
			if _, err := conn.Exec(t.Context(), s, args...); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
	}
}

// waitIndexScans waits until the server of dsn counts index scans of idx
// (the statistics of a closed session reach the shared counters within a
// second or so), and fails the test after a while.
func waitIndexScans(t *testing.T, dsn, idx string) {
	t.Helper()
	conn := testdb.Conn(t, dsn)
	deadline := time.Now().Add(20 * time.Second)
	for {
		var scans int64
		if err := conn.QueryRow(t.Context(), "SELECT coalesce(sum(idx_scan), 0)::bigint FROM pg_stat_user_indexes WHERE indexrelname = $1", idx).Scan(&scans); err != nil {
			t.Fatal(err)
		}
		if scans > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has no scans after 20s", idx)
		}
		time.Sleep(100 * time.Millisecond)
		conn.Exec(t.Context(), "SELECT pg_stat_clear_snapshot()")
	}
}

// analyzeJSON runs analyze with args and reads its JSON report.
func analyzeJSON(t *testing.T, args ...string) analyze.Report {
	t.Helper()
	r := cli(t, append([]string{"-q", "--format", "json"}, append([]string{"analyze"}, args...)...)...)
	if r.code != 0 {
		t.Fatalf("analyze %v: exit %d\n%s", args, r.code, r.stderr)
	}
	var rep analyze.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	return rep
}

// unusedFinding is the unused-index finding on index, if any.
func unusedFinding(rep analyze.Report, index string) *analyze.Finding {
	for i, f := range rep.Findings {
		if f.Rule == analyze.RuleUnusedIndex && f.Index == index {
			return &rep.Findings[i]
		}
	}
	return nil
}

// TestFleetAnalyze: a primary and a real streaming standby read as one
// fleet. An index the primary never scanned but the standby reads is not
// unused (it is without the standby: the same run on the primary alone
// calls it so), and the report names the node that reads it; the
// statement that ran only on the standby is a replica-only finding for
// that node, explained there, with per-node figures beside the total; the
// statistics' age is each node's, and index usage waits for the youngest.
// A paused standby shows how far behind it is.
func TestFleetAnalyze(t *testing.T) {
	standby := testdb.StartStandby(t)
	dsn := fleetTable(t)
	standby.CatchUp(t)
	onStandby := standby.DSN(t, dsn)
	reset := "SELECT pg_stat_statements_reset(), pg_stat_reset()"
	runOn(t, dsn, 1, reset)
	runOn(t, onStandby, 1, reset)
	runOn(t, dsn, 200, "SELECT note FROM items WHERE id = $1")
	runOn(t, onStandby, 200, "SELECT id FROM items WHERE k = $1")
	waitIndexScans(t, onStandby, "items_k_idx")
	waitIndexScans(t, dsn, "items_pkey")

	before := testdb.TakeFingerprint(t, dsn)
	alone := analyzeJSON(t, "--dsn", dsn, "--min-stats-age", "0")
	if unusedFinding(alone, "public.items_k_idx") == nil {
		t.Fatalf("on the primary alone items_k_idx is not called unused: the fleet test below proves nothing; findings %+v", alone.Findings)
	}

	rep := analyzeJSON(t, "--dsn", dsn, "--replica", onStandby, "--min-stats-age", "0")
	if f := unusedFinding(rep, "public.items_k_idx"); f != nil {
		t.Errorf("items_k_idx, read on the standby, is called unused: %s", f.Message)
	}
	var idx *analyze.Index
	for i := range rep.Indexes {
		if rep.Indexes[i].Name == "items_k_idx" {
			idx = &rep.Indexes[i]
		}
	}
	if idx == nil || idx.Scans != 0 || len(idx.NodeScans) != 1 || idx.NodeScans[0].Node != "replica1" || idx.NodeScans[0].Scans == 0 {
		t.Errorf("items_k_idx %+v; want no scans on the primary and replica1's", idx)
	}
	if !slices.ContainsFunc(rep.Notes, func(n string) bool {
		return strings.Contains(n, "public.items_k_idx (read on replica1")
	}) {
		t.Errorf("no note names replica1 as the node reading items_k_idx: %q", rep.Notes)
	}
	if len(rep.Nodes) != 2 || rep.Nodes[0].Name != "primary" || rep.Nodes[0].Role != "primary" || rep.Nodes[1].Name != "replica1" || rep.Nodes[1].Role != "standby" ||
		rep.Nodes[0].Statistics == nil || rep.Nodes[1].Statistics == nil || rep.Nodes[1].Calls < 200 {
		t.Errorf("nodes %+v; want the primary and replica1, each with its statistics and calls", rep.Nodes)
	}
	byK := findStatement(rep, "WHERE k = $1")
	if byK == nil || len(byK.Nodes) != 1 || byK.Nodes[0].Node != "replica1" || byK.Explained != "replica1" || byK.Plan == nil {
		t.Fatalf("the standby's statement %+v; want its figures on replica1 only, explained there", byK)
	}
	if !slices.ContainsFunc(rep.Findings, func(f analyze.Finding) bool {
		return f.Rule == analyze.RuleReplicaOnly && f.NodeName == "replica1" && f.Fingerprint == byK.Fingerprint
	}) {
		t.Errorf("no replica-only finding on replica1 for the standby's statement: %+v", rep.Findings)
	}
	byID := findStatement(rep, "WHERE id = $1")
	if byID == nil || len(byID.Nodes) != 1 || byID.Nodes[0].Node != "primary" || byID.Calls != byID.Nodes[0].Calls {
		t.Errorf("the primary's statement %+v; want its figures on the primary", byID)
	}

	// An index no node reads is still unused, across the nodes.
	if f := unusedFinding(rep, "public.items_note_idx"); f == nil || !strings.Contains(f.Message, "on any of the 2 nodes (primary, replica1)") {
		t.Errorf("items_note_idx, read nowhere: finding %+v; want unused-index across the 2 nodes", f)
	}

	// Statistics seconds old on every node: with a minimum age of an
	// hour index usage is not judged, and the note says which node's
	// statistics decided it.
	young := analyzeJSON(t, "--dsn", dsn, "--replica", onStandby, "--min-stats-age", "1h")
	if !slices.ContainsFunc(young.Notes, func(n string) bool {
		return strings.Contains(n, "whose statistics are the youngest of the 2 nodes: index usage not judged")
	}) {
		t.Errorf("index usage judged on statistics seconds old, or the note names no node: %q", young.Notes)
	}
	if unusedFinding(young, "public.items_note_idx") != nil {
		t.Error("unused-index judged on statistics seconds old")
	}
	if diff := before.Diff(testdb.TakeFingerprint(t, dsn)); len(diff) > 0 {
		t.Errorf("analyze across the fleet changed the primary: %v", diff)
	}

	// A paused standby falls behind, and says so.
	sconn := testdb.Conn(t, standby.DSN(t, testdb.DSN()))
	if _, err := sconn.Exec(t.Context(), "SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sconn.Exec(context.Background(), "SELECT pg_wal_replay_resume()") })
	runOn(t, dsn, 1, "INSERT INTO items SELECT i, i % 1000, md5(i::text) FROM generate_series(20001, 40000 + $1 * 0) i", "SELECT pg_switch_wal()")
	paused := analyzeJSON(t, "--dsn", dsn, "--replica", "standby="+onStandby, "--min-stats-age", "0", "--no-indexes", "--explain", "0")
	if len(paused.Nodes) != 2 || paused.Nodes[1].Name != "standby" || !paused.Nodes[1].ReplayPaused || paused.Nodes[1].ReplayLagBytes == nil || *paused.Nodes[1].ReplayLagBytes <= 0 {
		t.Fatalf("paused standby %+v; want replay paused and bytes behind", paused.Nodes)
	}
	text := cli(t, "-q", "analyze", "--dsn", dsn, "--replica", "standby="+onStandby, "--no-indexes", "--explain", "0")
	if !strings.Contains(text.stdout, "(replay paused)") || !strings.Contains(text.stdout, "behind") {
		t.Errorf("the text report does not say the standby is paused and behind:\n%s", text.stdout)
	}
}

// findStatement is the report's statement whose text holds part.
func findStatement(rep analyze.Report, part string) *analyze.Statement {
	for i := range rep.Statements {
		if strings.Contains(rep.Statements[i].Query, part) {
			return &rep.Statements[i]
		}
	}
	return nil
}

// TestFleetRefusesMixes: a --replica that is another cluster (a sandbox
// of its own), or the primary itself, is bad input: exit 2, one line
// naming the odd node, nothing analyzed; a --replica that cannot be
// reached is exit 3 and its password is never printed.
func TestFleetRefusesMixes(t *testing.T) {
	dsn := testdb.NewDatabase(t)
	dir := sandboxDir(t)
	if r := cli(t, "sandbox", "up", "--dir", dir); r.code != 0 {
		t.Fatalf("sandbox up: exit %d\n%s", r.code, r.stderr)
	}
	other := strings.TrimSpace(cli(t, "sandbox", "url", "--dir", dir).stdout)

	r := cli(t, "-q", "analyze", "--dsn", dsn, "--replica", "elsewhere="+other)
	if r.code != exitUsage {
		t.Errorf("an unrelated server as --replica: exit %d, want %d; stderr %q", r.code, exitUsage, r.stderr)
	}
	saysInOneLine(t, r, "node elsewhere is not a replica of the same cluster as primary")
	if r.stdout != "" {
		t.Errorf("refused, yet wrote a report:\n%s", r.stdout)
	}

	r = cli(t, "-q", "analyze", "--dsn", dsn, "--replica", testdb.DSN())
	if r.code != exitUsage {
		t.Errorf("another database of the same server as --replica: exit %d, want %d; stderr %q", r.code, exitUsage, r.stderr)
	}
	saysInOneLine(t, r, "node replica1 is connected to another database")

	r = cli(t, "-q", "analyze", "--dsn", dsn, "--replica", dsn)
	if r.code != exitUsage {
		t.Errorf("the primary as --replica: exit %d, want %d; stderr %q", r.code, exitUsage, r.stderr)
	}
	saysInOneLine(t, r, "node replica1 is a primary")

	r = cli(t, "-q", "analyze", "--dsn", dsn, "--replica", "primary="+dsn)
	if r.code != exitUsage {
		t.Errorf("a replica named primary: exit %d, want %d; stderr %q", r.code, exitUsage, r.stderr)
	}
	if !strings.Contains(r.stderr, "two nodes are named primary") {
		t.Errorf("stderr %q; want it to say two nodes are named primary", r.stderr)
	}

	const secret = "s3cr3t-fleet-pw"
	r = cli(t, "-q", "analyze", "--dsn", dsn, "--replica", "postgres://app:"+secret+"@127.0.0.1:1/app?connect_timeout=2")
	if r.code != exitDatabase || strings.Contains(r.stderr, secret) || !strings.Contains(r.stderr, "node replica1") {
		t.Errorf("an unreachable --replica: exit %d, stderr %q; want %d naming replica1 without its password", r.code, r.stderr, exitDatabase)
	}
}

// TestParseReplicas: NAME=DSN names a node; a keyword=value DSN alone is
// not taken for a name; a node without a name is named by its place.
func TestParseReplicas(t *testing.T) {
	got, err := parseReplicas([]string{"host=/tmp port=5433 dbname=app", "east=postgres://u@db2/app?sslmode=disable", "west=host=db3 dbname=app", "postgres://u@db4/app?sslmode=require"})
	if err != nil {
		t.Fatal(err)
	}
	want := []replicaSpec{{"replica1", "host=/tmp port=5433 dbname=app"}, {"east", "postgres://u@db2/app?sslmode=disable"}, {"west", "host=db3 dbname=app"}, {"replica4", "postgres://u@db4/app?sslmode=require"}}
	if !slices.Equal(got, want) {
		t.Errorf("parseReplicas = %+v, want %+v", got, want)
	}
	for _, bad := range []string{"east=", "west=postgres://[::1"} {
		if _, err := parseReplicas([]string{bad}); err == nil {
			t.Errorf("parseReplicas(%q) took it", bad)
		}
	}
}
