package migrate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	hishamosperf "github.com/hishamos/hishamos-perf"
	"github.com/hishamos/hishamos-perf/internal/dataset"
	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// applier opens a session as the CLI does: the tool's application_name.
func applier(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pg.Connect(context.Background(), pg.Target{DSN: dsn, Source: pg.SourceFlag}, pg.Session{LockTimeout: DefaultLockTimeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// named opens a session under another application_name.
func named(t *testing.T, dsn, app string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["application_name"] = app
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func mustExec(t *testing.T, q pg.Querier, sql string, args ...any) {
	t.Helper()
	if _, err := q.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// fingerprint is a table's rows, summed up: what must not change.
func fingerprint(t *testing.T, q pg.Querier, table string) string {
	t.Helper()
	var n int64
	var sum string
	err := q.QueryRow(context.Background(), fmt.Sprintf(`SELECT count(*), coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') FROM %s x`,
		pgx.Identifier{table}.Sanitize())).Scan(&n, &sum)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d rows %s", n, sum)
}

type indexRow struct {
	valid, ready bool
}

// indexes returns the indexes of a table that are not Django's or primary
// keys: name → valid/ready.
func indexes(t *testing.T, q pg.Querier, table string) map[string]indexRow {
	t.Helper()
	rows, err := q.Query(context.Background(), `SELECT i.relname, x.indisvalid, x.indisready FROM pg_index x
		JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = to_regclass($1) AND NOT x.indisprimary`, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]indexRow{}
	for rows.Next() {
		var n string
		var r indexRow
		if err := rows.Scan(&n, &r.valid, &r.ready); err != nil {
			t.Fatal(err)
		}
		out[n] = r
	}
	return out
}

func revisionCount(t *testing.T, q pg.Querier) int {
	t.Helper()
	var ok bool
	q.QueryRow(context.Background(), `SELECT to_regclass('atlas_schema_revisions.atlas_schema_revisions') IS NOT NULL`).Scan(&ok)
	if !ok {
		return 0
	}
	var n int
	if err := q.QueryRow(context.Background(), `SELECT count(*) FROM atlas_schema_revisions.atlas_schema_revisions`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// planDir plans specs as a fresh directory; a spec without a schema is in
// public, as the test tables are.
func planDir(t *testing.T, specs ...spec) *Dir {
	t.Helper()
	specs = append([]spec(nil), specs...)
	for i := range specs {
		if specs[i].Schema == "" {
			specs[i].Schema = "public"
		}
	}
	path := filepath.Join(t.TempDir(), "migrations")
	if _, err := Plan(context.Background(), path, defs(specs...), PlanOptions{Now: planTime}); err != nil {
		t.Fatal(err)
	}
	d, err := OpenDir(path)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// events collects what an apply reports.
type events struct {
	mu  sync.Mutex
	all []Event
}

func (e *events) observe(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
}

func (e *events) kinds() map[EventKind]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := map[EventKind]int{}
	for _, ev := range e.all {
		m[ev.Kind]++
	}
	return m
}

// The end-to-end check of the issue: the seed's eleven indexes planned,
// applied to the HishamOS schema with its data, valid in pg_index, then
// taken down again.
func TestSeedIndexesApplyAndDown(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	conn := applier(t, dsn)
	scale, _ := dataset.ParseScale("small")
	if _, err := dataset.Load(ctx, conn, dataset.Options{Scale: scale, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	tables := map[string]string{}
	for _, s := range seedSpecs {
		tables[s.Table] = fingerprint(t, conn, s.Table)
	}
	d := planDir(t, seedSpecs...)
	ev := &events{}
	res, err := Apply(ctx, conn, d, ApplyOptions{Observer: ev.observe, Operator: "hishamos-perf test"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 11 {
		t.Fatalf("applied %d files, want 11", len(res.Files))
	}
	for _, s := range seedSpecs {
		ix := indexes(t, conn, s.Table)[s.Name]
		if !ix.valid || !ix.ready {
			t.Errorf("%s: valid %v ready %v in pg_index", s.Name, ix.valid, ix.ready)
		}
	}
	if n := revisionCount(t, conn); n != 11 {
		t.Errorf("%d revisions, want 11", n)
	}
	if ev.kinds()[EventBuilt] != 11 {
		t.Errorf("events %v: want 11 built", ev.kinds())
	}
	st, err := Status(ctx, conn, d, "")
	if err != nil {
		t.Fatal(err)
	}
	if st.Applied != 11 || st.Pending != 0 || len(st.Drift) != 0 || len(st.Problems) != 0 {
		t.Errorf("status after apply: applied %d pending %d drift %+v problems %v", st.Applied, st.Pending, st.Drift, st.Problems)
	}
	// Applying again has nothing to do.
	again, err := Apply(ctx, conn, d, ApplyOptions{})
	if err != nil || len(again.Files) != 0 {
		t.Errorf("second apply: %+v, %v", again, err)
	}
	// Drift: an index dropped behind the tool's back.
	mustExec(t, conn, `DROP INDEX agent_platform_status_idx`)
	st, _ = Status(ctx, conn, d, "")
	if len(st.Drift) != 1 || st.Drift[0].Name != "agent_platform_status_idx" || st.Drift[0].State != IndexMissing {
		t.Errorf("drift = %+v, want agent_platform_status_idx missing", st.Drift)
	}
	down, err := Down(ctx, conn, d, ApplyOptions{N: 11})
	if err != nil {
		t.Fatal(err)
	}
	if len(down.Files) != 11 || down.Files[0].Version != res.Files[10].Version {
		t.Errorf("down reverted %d files, first %s", len(down.Files), down.Files[0].Version)
	}
	for _, s := range seedSpecs {
		if _, ok := indexes(t, conn, s.Table)[s.Name]; ok {
			t.Errorf("%s still exists after down", s.Name)
		}
		if got := fingerprint(t, conn, s.Table); got != tables[s.Table] {
			t.Errorf("%s rows changed: %s, were %s", s.Table, got, tables[s.Table])
		}
	}
	if n := revisionCount(t, conn); n != 0 {
		t.Errorf("%d revisions left after down", n)
	}
}

// The revisions table is laid out as the atlas CLI lays it out.
func TestRevisionsTableIsAtlas(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	conn := applier(t, dsn)
	mustExec(t, conn, `CREATE TABLE t (id int PRIMARY KEY, a int)`)
	d := planDir(t, spec{Table: "t", Columns: []string{"a"}})
	if _, err := Apply(ctx, conn, d, ApplyOptions{Operator: "hishamos-perf v0"}); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, `SELECT column_name, data_type, is_nullable FROM information_schema.columns
		WHERE table_schema = 'atlas_schema_revisions' AND table_name = 'atlas_schema_revisions' ORDER BY ordinal_position`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var c, ty, null string
		rows.Scan(&c, &ty, &null)
		got = append(got, c+" "+ty+" "+null)
	}
	want := "version character varying NO,description character varying NO,type bigint NO,applied bigint NO,total bigint NO," +
		"executed_at timestamp with time zone NO,execution_time bigint NO,error text YES,error_stmt text YES,hash character varying NO," +
		"partial_hashes jsonb YES,operator_version character varying NO"
	if strings.Join(got, ",") != want {
		t.Errorf("columns\n got %s\nwant %s", strings.Join(got, ","), want)
	}
	var version, desc, hash, op string
	var typ, applied, total int64
	if err := conn.QueryRow(ctx, `SELECT version, description, type, applied, total, hash, operator_version FROM atlas_schema_revisions.atlas_schema_revisions`).
		Scan(&version, &desc, &typ, &applied, &total, &hash, &op); err != nil {
		t.Fatal(err)
	}
	if version != "20250325101103" || desc != "add_performance_indexes_t_a_idx" || typ != 2 || applied != 1 || total != 1 || hash == "" || op != "hishamos-perf v0" {
		t.Errorf("revision %s %s type %d %d/%d hash %q operator %q", version, desc, typ, applied, total, hash, op)
	}
}

func TestTamperedFileAndMissingSum(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	conn := applier(t, dsn)
	mustExec(t, conn, `CREATE TABLE t (id int PRIMARY KEY, a int, b int)`)
	mustExec(t, conn, `INSERT INTO t SELECT g, g % 7, g % 11 FROM generate_series(1, 1000) g`)
	before := fingerprint(t, conn, "t")
	d := planDir(t, spec{Table: "t", Columns: []string{"a"}}, spec{Table: "t", Columns: []string{"b"}})
	files, _ := d.Migrations()
	p := filepath.Join(d.Path, files[1].File)
	b, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(b), `("b")`, `("b", "a")`, 1)), 0o644)
	_, err := Apply(ctx, conn, d, ApplyOptions{})
	var se *SumError
	if !errors.As(err, &se) || se.File != files[1].File {
		t.Fatalf("Apply of a tampered directory = %v, want a SumError naming %s", err, files[1].File)
	}
	if !strings.Contains(err.Error(), files[1].File) {
		t.Errorf("the message does not name the file: %v", err)
	}
	os.WriteFile(p, b, 0o644)
	os.Remove(filepath.Join(d.Path, "atlas.sum"))
	if _, err := Apply(ctx, conn, d, ApplyOptions{}); !errors.Is(err, ErrNoSum) {
		t.Fatalf("Apply without atlas.sum = %v, want ErrNoSum", err)
	}
	if ix := indexes(t, conn, "t"); len(ix) != 0 || revisionCount(t, conn) != 0 || fingerprint(t, conn, "t") != before {
		t.Errorf("a refused apply changed something: indexes %v, %d revisions", ix, revisionCount(t, conn))
	}
}

func TestMissingTableAppliesNothing(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	conn := applier(t, dsn)
	mustExec(t, conn, `CREATE TABLE t (id int PRIMARY KEY, a int)`)
	mustExec(t, conn, `INSERT INTO t SELECT g, g FROM generate_series(1, 100) g`)
	before := fingerprint(t, conn, "t")
	d := planDir(t, spec{Table: "t", Columns: []string{"a"}}, spec{Table: "no_such_table", Columns: []string{"a"}})
	_, err := Apply(ctx, conn, d, ApplyOptions{})
	var me *MissingTableError
	if !errors.As(err, &me) || me.Table != `"public"."no_such_table"` {
		t.Fatalf("Apply = %v, want a MissingTableError for no_such_table", err)
	}
	if ix := indexes(t, conn, "t"); len(ix) != 0 || revisionCount(t, conn) != 0 || fingerprint(t, conn, "t") != before {
		t.Errorf("a refused apply changed something: indexes %v, %d revisions", ix, revisionCount(t, conn))
	}
}

func TestNotMigrationDirectory(t *testing.T) {
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "go.mod"), []byte("module x\n"), 0o644)
	if _, err := OpenDir(src); !errors.Is(err, ErrNotMigrationDir) {
		t.Fatalf("OpenDir = %v", err)
	}
}

func TestDownPastFirstVersion(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	conn := applier(t, dsn)
	mustExec(t, conn, `CREATE TABLE t (id int PRIMARY KEY, a int, b int)`)
	mustExec(t, conn, `INSERT INTO t SELECT g, g, g FROM generate_series(1, 100) g`)
	before := fingerprint(t, conn, "t")
	d := planDir(t, spec{Table: "t", Columns: []string{"a"}}, spec{Table: "t", Columns: []string{"b"}})
	if _, err := Apply(ctx, conn, d, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Down(ctx, conn, d, ApplyOptions{N: 3}); !errors.Is(err, ErrDownPastFirst) {
		t.Fatalf("down 3 of 2 = %v, want ErrDownPastFirst", err)
	}
	if len(indexes(t, conn, "t")) != 2 || revisionCount(t, conn) != 2 {
		t.Fatalf("a refused down changed something")
	}
	res, err := Down(ctx, conn, d, ApplyOptions{})
	if err != nil || len(res.Files) != 1 || res.Files[0].Indexes[0] != "t_b_idx" {
		t.Fatalf("down 1 = %+v, %v; want t_b_idx reverted", res, err)
	}
	if _, err := Down(ctx, conn, d, ApplyOptions{N: 1, DryRun: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := Down(ctx, conn, d, ApplyOptions{N: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := Down(ctx, conn, d, ApplyOptions{N: 1}); !errors.Is(err, ErrDownPastFirst) {
		t.Fatalf("down past the first version = %v, want ErrDownPastFirst", err)
	}
	if len(indexes(t, conn, "t")) != 0 || fingerprint(t, conn, "t") != before {
		t.Errorf("after down: indexes %v", indexes(t, conn, "t"))
	}
}

func TestExistingIndexMarksAppliedAndConflictStops(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	conn := applier(t, dsn)
	mustExec(t, conn, `CREATE TABLE t (id int PRIMARY KEY, a int, b int, s text)`)
	d := planDir(t,
		spec{Table: "t", Columns: []string{"a", "b DESC"}},
		spec{Name: "t_open_idx", Table: "t", Columns: []string{"lower(s)"}, Where: "s IN ('a', 'b')"},
		spec{Table: "t", Columns: []string{"b"}})
	mustExec(t, conn, `CREATE INDEX t_a_b_idx ON t (a, b DESC)`)
	mustExec(t, conn, `CREATE INDEX t_open_idx ON t (lower(s)) WHERE s = ANY (ARRAY['a', 'b'])`)
	mustExec(t, conn, `CREATE INDEX t_b_idx ON t (b, a)`)
	st, err := Status(ctx, conn, d, "")
	if err != nil {
		t.Fatal(err)
	}
	got := []string{st.Files[0].Indexes[0].State, st.Files[1].Indexes[0].State, st.Files[2].Indexes[0].State}
	if strings.Join(got, ",") != "present,present,different" {
		t.Errorf("status of pending indexes = %v, want present,present,different", got)
	}
	dry, err := Apply(ctx, conn, d, ApplyOptions{DryRun: true})
	if err != nil || len(dry.Files) != 3 || !strings.Contains(dry.Files[0].Steps[0], "marked applied") {
		t.Fatalf("dry run = %+v, %v", dry, err)
	}
	if revisionCount(t, conn) != 0 {
		t.Fatal("the dry run wrote revisions")
	}
	res, err := Apply(ctx, conn, d, ApplyOptions{})
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Index != "t_b_idx" {
		t.Fatalf("Apply = %v, want a ConflictError on t_b_idx", err)
	}
	if len(res.Files) != 2 || res.Files[0].Status != "marked-applied" || res.Files[1].Status != "marked-applied" {
		t.Errorf("files = %+v, want the two identical ones marked applied", res.Files)
	}
	if revisionCount(t, conn) != 2 {
		t.Errorf("%d revisions, want 2", revisionCount(t, conn))
	}
}

// gate makes builds of an index on gated(gate(v)) wait, deterministically,
// while the returned connection holds advisory lock 424242: the index
// function takes it (shared) for every row.
func gate(t *testing.T, dsn string) (hold func(), release func()) {
	t.Helper()
	c := testdb.Conn(t, dsn)
	mustExec(t, c, `CREATE TABLE gated (id int PRIMARY KEY, v int NOT NULL)`)
	mustExec(t, c, `INSERT INTO gated SELECT g, g * 7 FROM generate_series(1, 5000) g`)
	mustExec(t, c, `CREATE FUNCTION gate(i int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
		BEGIN PERFORM pg_advisory_lock_shared(424242); PERFORM pg_advisory_unlock_shared(424242); RETURN i; END $$`)
	holder := testdb.Conn(t, dsn)
	return func() { mustExec(t, holder, `SELECT pg_advisory_lock(424242)`) },
		func() { mustExec(t, holder, `SELECT pg_advisory_unlock(424242)`) }
}

// waitGated returns the pid of the build waiting at the gate.
func waitGated(t *testing.T, q pg.Querier) int32 {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var pid int32
		err := q.QueryRow(context.Background(), `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = 424242 AND NOT granted`).Scan(&pid)
		if err == nil {
			return pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no build reached the gate")
	return 0
}

// applyInBackground runs Apply on another goroutine and returns where its
// error will be sent.
func applyInBackground(ctx context.Context, conn *pgx.Conn, d *Dir, o ApplyOptions) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := Apply(ctx, conn, d, o)
		done <- err
	}()
	return done
}

// gatedSpec is the index that waits at the gate. Its function is named
// with its schema: apply's search_path is pg_catalog alone.
var gatedSpec = spec{Name: "gated_gate_v_idx", Table: "gated", Columns: []string{"(public.gate(v))"}}

func TestTwoAppliersAtOnce(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	hold, release := gate(t, dsn)
	d := planDir(t, gatedSpec)
	first := applier(t, dsn)
	hold()
	done := applyInBackground(ctx, first, d, ApplyOptions{LockTimeout: time.Minute})
	watcher := testdb.Conn(t, dsn)
	pid := waitGated(t, watcher)
	second := applier(t, dsn)
	_, err := Apply(ctx, second, d, ApplyOptions{Wait: 300 * time.Millisecond})
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) {
		t.Fatalf("second applier: %v, want a LockedError", err)
	}
	if len(le.Holders) != 1 || le.Holders[0].PID != pid || le.Holders[0].ApplicationName != pg.ApplicationName {
		t.Errorf("holder %+v, want pid %d application %s", le.Holders, pid, pg.ApplicationName)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("pid %d (hishamos-perf)", pid)) {
		t.Errorf("message does not name the holder: %v", err)
	}
	release()
	if err := <-done; err != nil {
		t.Fatalf("first applier: %v", err)
	}
	if ix := indexes(t, watcher, "gated")["gated_gate_v_idx"]; !ix.valid {
		t.Errorf("index not valid after the first applier finished")
	}
	if n := revisionCount(t, watcher); n != 1 {
		t.Errorf("%d revisions, want 1", n)
	}
}

// A build whose session is killed halfway leaves an INVALID index; apply
// drops it on a new session when the server still answers, and writes no
// revision.
func TestBuildKilledHalfwayDropsItsLeftover(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	hold, release := gate(t, dsn)
	d := planDir(t, gatedSpec)
	watcher := testdb.Conn(t, dsn)
	before := fingerprint(t, watcher, "gated")
	first := applier(t, dsn)
	hold()
	done := applyInBackground(ctx, first, d, ApplyOptions{LockTimeout: time.Minute})
	pid := waitGated(t, watcher)
	mustExec(t, watcher, `SELECT pg_terminate_backend($1)`, pid)
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "apply again") || !strings.Contains(err.Error(), "dropped on a new connection") {
		t.Fatalf("killed apply returned %v", err)
	}
	release()
	if ix, ok := indexes(t, watcher, "gated")["gated_gate_v_idx"]; ok {
		t.Fatalf("after the kill: index %+v left behind", ix)
	}
	if n := revisionCount(t, watcher); n != 0 {
		t.Fatalf("the killed build wrote %d revisions", n)
	}
	st, err := Status(ctx, watcher, d, "")
	if err != nil || len(st.Leftovers) != 0 || st.Files[0].State != StatePending {
		t.Fatalf("status after the kill: %+v, %v", st, err)
	}
	if got := fingerprint(t, watcher, "gated"); got != before {
		t.Errorf("rows changed: %s, were %s", got, before)
	}
}

// An INVALID index that a killed build left (its server gone before anyone
// could drop it) is dropped by the next apply before it builds again.
func TestBuildKilledHalfwayThenApplyAgain(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	hold, release := gate(t, dsn)
	d := planDir(t, gatedSpec)
	watcher := testdb.Conn(t, dsn)
	before := fingerprint(t, watcher, "gated")
	// A build of the same index by a session that nobody cleans up after.
	other := testdb.Conn(t, dsn)
	hold()
	done := make(chan error, 1)
	go func() {
		_, err := other.Exec(ctx, `CREATE INDEX CONCURRENTLY gated_gate_v_idx ON public.gated (public.gate(v))`)
		done <- err
	}()
	pid := waitGated(t, watcher)
	mustExec(t, watcher, `SELECT pg_terminate_backend($1)`, pid)
	if err := <-done; err == nil {
		t.Fatal("the killed build succeeded")
	}
	release()
	if ix, ok := indexes(t, watcher, "gated")["gated_gate_v_idx"]; !ok || ix.valid {
		t.Fatalf("after the kill: index %+v present %v, want an INVALID leftover", ix, ok)
	}
	st, err := Status(ctx, watcher, d, "")
	if err != nil || len(st.Leftovers) != 1 || st.Files[0].State != StatePending {
		t.Fatalf("status after the kill: %+v, %v", st, err)
	}
	ev := &events{}
	res, err := Apply(ctx, applier(t, dsn), d, ApplyOptions{Observer: ev.observe})
	if err != nil {
		t.Fatalf("apply again: %v", err)
	}
	if len(res.Files) != 1 || res.Files[0].Status != "applied" || ev.kinds()[EventDropInvalid] != 1 {
		t.Errorf("second apply: %+v, events %v", res.Files, ev.kinds())
	}
	if ix := indexes(t, watcher, "gated")["gated_gate_v_idx"]; !ix.valid || !ix.ready {
		t.Errorf("index not valid after apply again")
	}
	if got := fingerprint(t, watcher, "gated"); got != before {
		t.Errorf("rows changed: %s, were %s", got, before)
	}
}

func TestCancelledBuildLeavesNothing(t *testing.T) {
	dsn := testdb.NewDatabase(t)
	hold, release := gate(t, dsn)
	defer release()
	d := planDir(t, gatedSpec)
	watcher := testdb.Conn(t, dsn)
	conn := applier(t, dsn)
	hold()
	ctx, cancel := context.WithCancel(context.Background())
	done := applyInBackground(ctx, conn, d, ApplyOptions{LockTimeout: time.Minute})
	waitGated(t, watcher)
	cancel()
	// The clean-up DROP INDEX CONCURRENTLY must not wait for the gate: the
	// cancelled build is gone, nothing else uses the table.
	err := <-done
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled apply = %v, want context.Canceled", err)
	}
	if ix := indexes(t, watcher, "gated"); len(ix) != 0 {
		t.Errorf("a cancelled build left %v", ix)
	}
	if n := revisionCount(t, watcher); n != 0 {
		t.Errorf("a cancelled build wrote %d revisions", n)
	}
	if conn.IsClosed() {
		t.Errorf("cancelling closed the session instead of cancelling the statement")
	}
}

func TestTableLockHeldByAnotherTransaction(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	conn := applier(t, dsn)
	mustExec(t, conn, `CREATE TABLE t (id int PRIMARY KEY, a int)`)
	mustExec(t, conn, `INSERT INTO t SELECT g, g % 13 FROM generate_series(1, 10000) g`)
	before := fingerprint(t, conn, "t")
	d := planDir(t, spec{Table: "t", Columns: []string{"a"}})
	holder := named(t, dsn, "report-job")
	tx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, tx, `LOCK TABLE t IN SHARE MODE`)
	ev := &events{}
	_, err = Apply(ctx, conn, d, ApplyOptions{LockTimeout: 200 * time.Millisecond, Retries: 2, Backoff: 20 * time.Millisecond, Observer: ev.observe})
	var lte *LockTimeoutError
	if !errors.As(err, &lte) {
		t.Fatalf("Apply under a held lock = %v, want a LockTimeoutError", err)
	}
	if lte.Attempts != 3 || ev.kinds()[EventRetry] != 2 {
		t.Errorf("attempts %d, retries reported %d: want 3 and 2", lte.Attempts, ev.kinds()[EventRetry])
	}
	if len(lte.Holders) == 0 || lte.Holders[0].ApplicationName != "report-job" || lte.Holders[0].Mode != "ShareLock" {
		t.Errorf("holders %+v, want report-job holding ShareLock", lte.Holders)
	}
	if !strings.Contains(err.Error(), "report-job") || !strings.Contains(err.Error(), "nothing was changed") {
		t.Errorf("message: %v", err)
	}
	if ix := indexes(t, conn, "t"); len(ix) != 0 || revisionCount(t, conn) != 0 {
		t.Errorf("partial state after giving up: indexes %v, %d revisions", ix, revisionCount(t, conn))
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(ctx, conn, d, ApplyOptions{}); err != nil {
		t.Fatalf("apply once the lock is gone: %v", err)
	}
	if fingerprint(t, conn, "t") != before {
		t.Error("rows changed")
	}
}

func TestRepairDropsLeftovers(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	conn := applier(t, dsn)
	mustExec(t, conn, `CREATE TABLE t (id int PRIMARY KEY, a int)`)
	mustExec(t, conn, `INSERT INTO t VALUES (1, 1), (2, 1)`)
	d := planDir(t, spec{Table: "t", Columns: []string{"a"}, Unique: true}, spec{Name: "t_id_a_idx", Table: "t", Columns: []string{"id", "a"}})
	// A failed unique build leaves an INVALID index, as a killed one does.
	if _, err := conn.Exec(ctx, `CREATE UNIQUE INDEX CONCURRENTLY t_a_idx ON t (a)`); err == nil {
		t.Fatal("the duplicate did not fail the build")
	}
	mustExec(t, conn, `CREATE INDEX t_id_a_idx ON t (id, a)`)
	res, err := Repair(ctx, conn, d, ApplyOptions{DryRun: true})
	if err != nil || len(res.Dropped) != 1 || res.Dropped[0] != "t_a_idx" {
		t.Fatalf("repair dry run = %+v, %v", res, err)
	}
	if _, ok := indexes(t, conn, "t")["t_a_idx"]; !ok {
		t.Fatal("the dry run dropped it")
	}
	if res, err = Repair(ctx, conn, d, ApplyOptions{}); err != nil || len(res.Dropped) != 1 {
		t.Fatalf("repair = %+v, %v", res, err)
	}
	ix := indexes(t, conn, "t")
	if _, ok := ix["t_a_idx"]; ok || !ix["t_id_a_idx"].valid {
		t.Errorf("after repair: %v", ix)
	}
}

// A file's error that is not about locks stops at once, without retries,
// and leaves no INVALID index (a failed unique build).
func TestBuildErrorStopsAndCleansUp(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	conn := applier(t, dsn)
	mustExec(t, conn, `CREATE TABLE t (id int PRIMARY KEY, a int)`)
	mustExec(t, conn, `INSERT INTO t VALUES (1, 1), (2, 1)`)
	d := planDir(t, spec{Table: "t", Columns: []string{"a"}, Unique: true})
	ev := &events{}
	_, err := Apply(ctx, conn, d, ApplyOptions{Observer: ev.observe})
	if err == nil || !strings.Contains(err.Error(), "23505") {
		t.Fatalf("Apply = %v, want the unique violation", err)
	}
	if ev.kinds()[EventRetry] != 0 {
		t.Errorf("a unique violation was retried")
	}
	if ix := indexes(t, conn, "t"); len(ix) != 0 || revisionCount(t, conn) != 0 {
		t.Errorf("left behind: %v, %d revisions", ix, revisionCount(t, conn))
	}
}

// The schema the root package embeds loads as the tests expect.
func TestHishamOSSchemaHasTheSeedTables(t *testing.T) {
	for _, s := range seedSpecs {
		if !strings.Contains(hishamosperf.HishamOSSchema, "CREATE TABLE "+s.Table+" ") {
			t.Errorf("schema.sql has no table %s", s.Table)
		}
	}
}

func TestProgressAndLongTransactionWarning(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	hold, release := gate(t, dsn)
	d := planDir(t, gatedSpec)
	idle := named(t, dsn, "forgotten-psql")
	mustExec(t, idle, `BEGIN`)
	mustExec(t, idle, `SELECT 1`)
	time.Sleep(20 * time.Millisecond)
	conn := applier(t, dsn)
	monitor := testdb.Conn(t, dsn)
	progress := make(chan *BuildProgress, 100)
	ev := &events{}
	hold()
	done := applyInBackground(ctx, conn, d, ApplyOptions{LockTimeout: time.Minute, LongTransaction: 10 * time.Millisecond,
		Monitor: monitor, ProgressInterval: 20 * time.Millisecond,
		Observer: func(e Event) {
			ev.observe(e)
			if e.Kind == EventProgress {
				select {
				case progress <- e.Progress:
				default:
				}
			}
		}})
	p := <-progress
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Phase, "building index") || p.BlocksTotal == 0 {
		t.Errorf("progress while gated: %+v, want the building phase with the table's blocks", p)
	}
	var warned bool
	for _, e := range ev.all {
		if e.Kind == EventLongTransaction && e.Holder != nil && e.Holder.ApplicationName == "forgotten-psql" {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no warning about the open transaction of forgotten-psql: %v", ev.kinds())
	}
}

// Files without `-- atlas:txmode none` run in one transaction each, as
// Atlas runs them: a failing statement rolls the whole file back and
// records nothing. (Tables and an INSERT are other DDL: allowed here.)
func TestTxModeFileRunsInATransaction(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	conn := applier(t, dsn)
	d := planDir(t)
	addFile(t, d, "1_tables.sql", "CREATE TABLE public.a (id int PRIMARY KEY, v int);\nCREATE INDEX a_v_idx ON public.a (v);\n")
	addFile(t, d, "2_broken.sql", "CREATE TABLE public.b (id int);\nINSERT INTO public.b VALUES ('not a number');\n")
	_, err := Apply(ctx, conn, d, ApplyOptions{AllowOtherDDL: true})
	var se *StmtError
	if !errors.As(err, &se) || se.Version != "2" || !strings.Contains(err.Error(), "22P02") {
		t.Fatalf("Apply = %v, want version 2's invalid input error", err)
	}
	var a, b bool
	conn.QueryRow(ctx, `SELECT to_regclass('a') IS NOT NULL, to_regclass('b') IS NOT NULL`).Scan(&a, &b)
	if !a || b {
		t.Errorf("table a exists %v (want true), table b exists %v (want false: rolled back)", a, b)
	}
	if n := revisionCount(t, conn); n != 1 {
		t.Errorf("%d revisions, want 1", n)
	}
	// A CONCURRENTLY statement in such a file is refused before anything runs.
	addFile(t, d, "3_conc.sql", "CREATE INDEX CONCURRENTLY a_id_v_idx ON public.a (id, v);\n")
	os.Remove(filepath.Join(d.Path, "2_broken.sql"))
	d.Hash()
	if _, err := Apply(ctx, conn, d, ApplyOptions{}); !errors.Is(err, ErrTxMode) {
		t.Errorf("Apply = %v, want ErrTxMode", err)
	}
}
