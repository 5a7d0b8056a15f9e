package main

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hishamos/hishamos-perf/bench"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// bench where the reads go (issue 23 item 4), on a real standby: bench
// --replica runs the workload on the standby (its target, its index
// scans, none on the primary); with --apply the index is built on the
// primary and the run after, on the standby, has it (the standby scans
// it): apply waited for the replay, and for the ANALYZE's. Writes with
// --replica are refused before anything runs.
func TestFleetBenchOnStandby(t *testing.T) {
	standby := testdb.StartStandby(t)
	dsn := testdb.NewDatabase(t)
	conn := testdb.Conn(t, dsn)
	if _, err := conn.Exec(t.Context(), `CREATE TABLE events (id int PRIMARY KEY, tenant int NOT NULL, v int NOT NULL);
INSERT INTO events SELECT i, i % 500, i FROM generate_series(1, 60000) i;
ANALYZE events`); err != nil {
		t.Fatal(err)
	}
	standby.CatchUp(t)
	onStandby := standby.DSN(t, dsn)
	dir := filepath.Join(t.TempDir(), "migrations")
	props := writeFile(t, "proposals.json", `{"schema":"hishamos-perf/indexes/v1","proposals":[{"schema":"public","table":"events","columns":["tenant"],"name":"events_tenant_idx"}]}`)
	if r := cli(t, "-q", "indexes", "plan", "--from", props, "--dir", dir); r.code != 0 {
		t.Fatalf("plan: exit %d\n%s", r.code, r.stderr)
	}
	w := benchFile(t, "tenant.sql", "-- name: tenant\nSELECT sum(v) FROM events WHERE tenant = 42;")

	if r := cli(t, "--dsn", dsn, "bench", "--workload", w, "--replica", onStandby, "--allow-writes"); r.code != 2 || !strings.Contains(r.stderr, "a standby takes no writes") {
		t.Errorf("bench --replica --allow-writes: exit %d, %q; want 2, refused", r.code, r.stderr)
	}

	r := cli(t, "--dsn", dsn, "--format", "json", "bench", "--workload", w, "--iterations", "20", "--replica", "standby="+onStandby, "--apply", dir)
	if r.code != 0 && r.code != 1 {
		t.Fatalf("bench --replica --apply: exit %d\n%s", r.code, r.stderr)
	}
	var rep bench.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if rep.Migrations == nil || len(rep.Migrations.Applied) != 1 || rep.Baseline == nil {
		t.Fatalf("migrations %+v, baseline %v", rep.Migrations, rep.Baseline != nil)
	}
	scfg, err := pgconn.ParseConfig(onStandby)
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(int(scfg.Port))
	if !strings.Contains(rep.Run.Target, port) || !strings.Contains(rep.Baseline.Target, port) {
		t.Errorf("runs on %q and %q; want the standby (port %s)", rep.Baseline.Target, rep.Run.Target, port)
	}
	added := bench.AddedIndexes(&rep.Baseline.Environment, &rep.Run.Environment)
	if len(added) != 1 || added[0].Name != "events_tenant_idx" || !added[0].Valid {
		t.Errorf("indexes the run after saw added: %+v; want events_tenant_idx, valid", added)
	}
	waitIndexScans(t, onStandby, "events_tenant_idx")
	var onPrimary int64
	if err := conn.QueryRow(t.Context(), `SELECT coalesce(sum(idx_scan), 0)::bigint FROM pg_stat_user_indexes WHERE indexrelname = 'events_tenant_idx'`).Scan(&onPrimary); err != nil || onPrimary != 0 {
		t.Errorf("events_tenant_idx scanned %d times on the primary (%v); want the reads on the standby only", onPrimary, err)
	}
}
