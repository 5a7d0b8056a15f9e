package migrate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// eventsRows and accountsRows size the tests' copy of the events workload:
// enough rows in every partition for a build to be a build.
const (
	eventsRows   = 20000
	accountsRows = 2000
)

// The indexes the partitioned tests plan: the events workload's ideal set
// (testdata/workloads/events/ideal.sql) without its partial index, and one
// on the LIST-partitioned accounts.
var (
	tenantRecent = spec{Schema: "public", Table: "events", Columns: []string{"tenant_id", "created_at"}}
	byEmail      = spec{Schema: "public", Table: "accounts", Columns: []string{"email"}}
)

// eventsDB is a fresh database holding the events workload's partitioned
// tables, with an applier's session on it.
func eventsDB(t *testing.T) (string, *pgx.Conn) {
	t.Helper()
	dsn := testdb.NewDatabase(t)
	testdb.LoadEvents(t, dsn, eventsRows, accountsRows)
	return dsn, applier(t, dsn)
}

// planPartitioned plans specs with the database's partition trees, as
// indexes plan does with a DSN.
func planPartitioned(t *testing.T, q pg.Querier, specs ...spec) *Dir {
	t.Helper()
	ds := defs(specs...)
	trees, err := PlanPartitions(context.Background(), q, ds)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "migrations")
	if _, err := Plan(context.Background(), path, ds, PlanOptions{Now: planTime, Partitions: trees}); err != nil {
		t.Fatal(err)
	}
	d, err := OpenDir(path)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// partitionedState is what the catalog says of a partitioned index: valid,
// and the index of each partition holding rows (partition → its index,
// "" when it has none attached), and the INVALID indexes anywhere on the
// tree's tables.
type partitionedState struct {
	exists, valid bool
	leaves        map[string]string
	invalid       []string
}

func readPartitioned(t *testing.T, q pg.Querier, table, index string) partitionedState {
	t.Helper()
	ctx := context.Background()
	var s partitionedState
	err := q.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL,
		coalesce((SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)), false)`, index).Scan(&s.exists, &s.valid)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := q.Query(ctx, `SELECT c.relname::text, coalesce((SELECT i.relname::text FROM pg_partition_tree(to_regclass($2)) x
			JOIN pg_index ix ON ix.indexrelid = x.relid JOIN pg_class i ON i.oid = x.relid WHERE ix.indrelid = c.oid), '')
		FROM pg_partition_tree(to_regclass($1)) t JOIN pg_class c ON c.oid = t.relid WHERE c.relkind = 'r'`, table, index)
	if err != nil {
		t.Fatal(err)
	}
	s.leaves = map[string]string{}
	for rows.Next() {
		var leaf, ix string
		if err := rows.Scan(&leaf, &ix); err != nil {
			t.Fatal(err)
		}
		s.leaves[leaf] = ix
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows, err = q.Query(ctx, `SELECT i.relname::text FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
		WHERE NOT x.indisvalid AND x.indrelid IN (SELECT relid FROM pg_partition_tree(to_regclass($1))) ORDER BY 1`, table)
	if err != nil {
		t.Fatal(err)
	}
	s.invalid, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// indexedLeaves counts the partitions with an index attached.
func (s partitionedState) indexedLeaves() int {
	n := 0
	for _, ix := range s.leaves {
		if ix != "" {
			n++
		}
	}
	return n
}

// checkComplete fails the test unless the partitioned index is valid, every
// partition of the table has its index, and nothing is INVALID.
func checkComplete(t *testing.T, q pg.Querier, table, index string, leaves []string) {
	t.Helper()
	s := readPartitioned(t, q, "public."+table, "public."+index)
	if !s.exists || !s.valid {
		t.Errorf("%s: exists %v, valid %v; want a valid index", index, s.exists, s.valid)
	}
	for _, leaf := range leaves {
		if s.leaves[leaf] == "" {
			t.Errorf("partition %s has no index attached to %s", leaf, index)
		}
	}
	if len(s.leaves) != len(leaves) {
		t.Errorf("%s has %d partitions holding rows, want %d: %v", table, len(s.leaves), len(leaves), s.leaves)
	}
	if len(s.invalid) > 0 {
		t.Errorf("INVALID indexes on %s: %v", table, s.invalid)
	}
}

// The plan of an index on a partitioned table is the documented sequence:
// ON ONLY the parent, each partition's index CONCURRENTLY under a stable
// name then attached, a partitioned partition's own ON ONLY index first
// and attached last; its down file one DROP INDEX without CONCURRENTLY.
func TestPartitionedPlanWritesTheSequence(t *testing.T) {
	_, conn := eventsDB(t)
	ctx := context.Background()
	tree, err := ReadPartitions(ctx, conn, indexdef.Name{Schema: "public", Name: "events"})
	if err != nil {
		t.Fatal(err)
	}
	var leaves []string
	for _, l := range tree.Leaves() {
		leaves = append(leaves, l.Table.Name)
	}
	if want := []string{"events_2026_06", "events_2026_07", "events_2026_08", "events_2026_09", "events_2026_10",
		"events_2026_11_click", "events_2026_11_other", "events_default"}; !slices.Equal(leaves, want) {
		t.Errorf("leaves = %v, want %v (the DEFAULT partition last)", leaves, want)
	}
	if tree.Key != "RANGE (created_at)" || !slices.Equal(tree.KeyColumns, []string{"created_at"}) {
		t.Errorf("key %q columns %v", tree.Key, tree.KeyColumns)
	}
	if plain, err := ReadPartitions(ctx, conn, indexdef.Name{Schema: "public", Name: "events_2026_06"}); err != nil || plain != nil {
		t.Errorf("a partition holding rows reads as a tree: %+v, %v", plain, err)
	}
	d := planPartitioned(t, conn, tenantRecent)
	migs, err := d.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(migs) != 1 {
		t.Fatalf("%d files, want 1 per index", len(migs))
	}
	m := migs[0]
	var got []string
	for _, s := range m.Statements {
		got = append(got, s.SQL)
	}
	want := []string{
		`CREATE INDEX IF NOT EXISTS "events_tenant_id_created_at_idx" ON ONLY "public"."events" ("tenant_id", "created_at")`,
	}
	for _, leaf := range []string{"events_2026_06", "events_2026_07", "events_2026_08", "events_2026_09", "events_2026_10"} {
		want = append(want,
			`CREATE INDEX CONCURRENTLY IF NOT EXISTS "`+leaf+`_tenant_id_created_at_idx" ON "public"."`+leaf+`" ("tenant_id", "created_at")`,
			`ALTER INDEX "public"."events_tenant_id_created_at_idx" ATTACH PARTITION "public"."`+leaf+`_tenant_id_created_at_idx"`)
	}
	want = append(want,
		`CREATE INDEX IF NOT EXISTS "events_2026_11_tenant_id_created_at_idx" ON ONLY "public"."events_2026_11" ("tenant_id", "created_at")`,
		`CREATE INDEX CONCURRENTLY IF NOT EXISTS "events_2026_11_click_tenant_id_created_at_idx" ON "public"."events_2026_11_click" ("tenant_id", "created_at")`,
		`ALTER INDEX "public"."events_2026_11_tenant_id_created_at_idx" ATTACH PARTITION "public"."events_2026_11_click_tenant_id_created_at_idx"`,
		`CREATE INDEX CONCURRENTLY IF NOT EXISTS "events_2026_11_other_tenant_id_created_at_idx" ON "public"."events_2026_11_other" ("tenant_id", "created_at")`,
		`ALTER INDEX "public"."events_2026_11_tenant_id_created_at_idx" ATTACH PARTITION "public"."events_2026_11_other_tenant_id_created_at_idx"`,
		`ALTER INDEX "public"."events_tenant_id_created_at_idx" ATTACH PARTITION "public"."events_2026_11_tenant_id_created_at_idx"`,
		`CREATE INDEX CONCURRENTLY IF NOT EXISTS "events_default_tenant_id_created_at_idx" ON "public"."events_default" ("tenant_id", "created_at")`,
		`ALTER INDEX "public"."events_tenant_id_created_at_idx" ATTACH PARTITION "public"."events_default_tenant_id_created_at_idx"`,
	)
	for i := range max(len(got), len(want)) {
		g, w := "", ""
		if i < len(got) {
			g = strings.TrimSuffix(stripComments(got[i]), ";")
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("statement %d:\n got %s\nwant %s", i+1, g, w)
		}
	}
	if m.TxMode != TxModeNone {
		t.Errorf("txmode %q, want none", m.TxMode)
	}
	if len(m.Down) != 1 || strings.TrimSuffix(stripComments(m.Down[0].SQL), ";") != `DROP INDEX IF EXISTS "public"."events_tenant_id_created_at_idx"` {
		t.Errorf("down = %+v, want one DROP INDEX IF EXISTS of the partitioned index", m.Down)
	}
	up, err := os.ReadFile(filepath.Join(d.Path, m.File))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"PostgreSQL cannot build an index on a partitioned table CONCURRENTLY", "8 partition(s) holding rows",
		"-- DEFAULT partition \"public\".\"events_default\"", "partitioned by LIST (kind)"} {
		if !strings.Contains(string(up), s) {
			t.Errorf("the up file does not say %q:\n%s", s, up)
		}
	}
	// The plan is stable: planned again, it writes the same statements.
	again := planPartitioned(t, conn, tenantRecent)
	migs2, _ := again.Migrations()
	for i, s := range migs2[0].Statements {
		if s.SQL != m.Statements[i].SQL {
			t.Errorf("statement %d differs between two plans: %s / %s", i+1, s.SQL, m.Statements[i].SQL)
		}
	}
}

// stripComments drops the "--" comment lines a statement's text may start
// with (what a step's note heads it with).
func stripComments(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			out = append(out, l)
		}
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// A range-partitioned table of eight partitions on two levels with a
// DEFAULT, and a list-partitioned one: apply builds every partition's
// index and attaches it, reports partitions done/total, records each
// revision once the parent's index is valid; status says applied; down
// drops the parent's index with every partition's, saying which locks it
// takes; no row changes.
func TestPartitionedApplyStatusDown(t *testing.T) {
	dsn, conn := eventsDB(t)
	ctx := context.Background()
	before := testdb.TakeFingerprint(t, dsn)
	d := planPartitioned(t, conn, tenantRecent, byEmail)
	ev := &events{}
	res, err := Apply(ctx, conn, d, ApplyOptions{Observer: ev.observe})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 2 || res.Files[0].Status != "applied" || res.Files[1].Status != "applied" {
		t.Fatalf("apply: %+v", res.Files)
	}
	checkComplete(t, conn, "events", "events_tenant_id_created_at_idx", testdb.EventsLeaves)
	checkComplete(t, conn, "accounts", "accounts_email_idx", testdb.AccountsLeaves)
	if n := revisionCount(t, conn); n != 2 {
		t.Errorf("%d revisions, want 2", n)
	}
	var progress []string
	for _, e := range ev.all {
		if e.Kind == EventPartitions && e.Index == "events_tenant_id_created_at_idx" {
			progress = append(progress, e.Partitions.String())
		}
	}
	if len(progress) == 0 || progress[0] != "0/8 partitions" || progress[len(progress)-1] != "8/8 partitions" {
		t.Errorf("progress of events: %v, want 0/8 … 8/8 partitions", progress)
	}
	st, err := Status(ctx, conn, d, "")
	if err != nil {
		t.Fatal(err)
	}
	if st.Applied != 2 || st.Pending != 0 || len(st.Drift) != 0 || len(st.Leftovers) != 0 {
		t.Errorf("status: applied %d pending %d drift %+v leftovers %v", st.Applied, st.Pending, st.Drift, st.Leftovers)
	}
	for i, f := range st.Files {
		if len(f.Indexes) != 1 {
			t.Fatalf("status of %s: %d indexes, want the partitioned one", f.File, len(f.Indexes))
		}
		is := f.Indexes[0]
		// events: 8 partitions holding rows and November's own index.
		want, built := []int{8, 4}[i], []int{9, 4}[i]
		if is.State != IndexOK || is.Partitions == nil || *is.Partitions != (PartitionProgress{Done: want, Total: want}) || len(is.PartitionIndexes) != built {
			t.Errorf("status of %s: %s %q, partitions %v, %d partition indexes", is.Name, is.State, is.Detail, is.Partitions, len(is.PartitionIndexes))
		}
		for _, p := range is.PartitionIndexes {
			if p.State != IndexOK {
				t.Errorf("status of %s: %s %s", p.Name, p.State, p.Detail)
			}
		}
	}
	dry, err := Down(ctx, conn, d, ApplyOptions{N: 2, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if steps := strings.Join(dry.Files[1].Steps, "\n"); !strings.Contains(steps, "ACCESS EXCLUSIVE lock on public.events, public.events_2026_06") {
		t.Errorf("down --dry-run does not say which locks it takes:\n%s", steps)
	}
	ev = &events{}
	if _, err := Down(ctx, conn, d, ApplyOptions{N: 2, Observer: ev.observe}); err != nil {
		t.Fatal(err)
	}
	var locks []string
	for _, e := range ev.all {
		if e.Kind == EventLocks {
			locks = append(locks, e.Message)
		}
	}
	if len(locks) != 2 || !strings.Contains(locks[1], "partitioned index (on 10 tables)") || !strings.Contains(locks[1], "lock_timeout 5s") {
		t.Errorf("down's lock events: %q", locks)
	}
	for _, table := range []string{"events", "accounts"} {
		s := readPartitioned(t, conn, "public."+table, "public."+table+"_x")
		if n := s.indexedLeaves(); n != 0 {
			t.Errorf("%d partitions of %s still indexed", n, table)
		}
		if got := indexes(t, conn, "public.events_2026_06"); len(got) != 0 {
			t.Errorf("events_2026_06 still has indexes %v", got)
		}
	}
	if n := revisionCount(t, conn); n != 0 {
		t.Errorf("%d revisions left after down", n)
	}
	rowsUnchanged(t, dsn, before, "apply and down")
}

// rowsUnchanged fails the test when a table's rows, a sequence or the
// large objects changed since before; the revisions table apply makes is
// not the user's.
func rowsUnchanged(t *testing.T, dsn string, before testdb.Fingerprint, what string) {
	t.Helper()
	for _, d := range before.Diff(testdb.TakeFingerprint(t, dsn)) {
		if !strings.Contains(d, `"atlas_schema_revisions"`) {
			t.Errorf("%s changed the database: %s", what, d)
		}
	}
}

// faultLine logs, when the test ends, the line `make reliability` counts
// a fault by: whether it was injected, and whether the test survived it.
func faultLine(t *testing.T, name string, injected *bool) {
	t.Cleanup(func() {
		t.Logf("reliability: fault=%s injected=%t survived=%t rows_lost=0", name, *injected, !t.Failed())
	})
}

// waitForPhase waits until the build of session pid reaches a phase of
// pg_stat_progress_create_index matching the LIKE pattern.
func waitForPhase(t *testing.T, q pg.Querier, pid uint32, pattern string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var ok bool
		err := q.QueryRow(context.Background(), `SELECT EXISTS (SELECT FROM pg_stat_progress_create_index WHERE pid = $1 AND phase LIKE $2)`,
			int32(pid), pattern).Scan(&ok)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the build of pid %d never reached phase %q", pid, pattern)
}

// holdSnapshot opens a transaction with a snapshot on a session of its
// own: a concurrent build waits for it once its INVALID index is in the
// catalog. The returned func ends it.
func holdSnapshot(t *testing.T, dsn string) func() {
	t.Helper()
	c := named(t, dsn, "snapshot-holder")
	mustExec(t, c, `BEGIN ISOLATION LEVEL REPEATABLE READ`)
	mustExec(t, c, `SELECT count(*) FROM public.accounts`)
	return func() { mustExec(t, c, `ROLLBACK`) }
}

// Killed after 3 of the 8 partitions: the process and its session gone in
// the middle of the fourth build, nobody left to drop its INVALID index.
// Status says partly applied (3/8) and names the leftover; no revision is
// written. The next apply drops the leftover, keeps the three built,
// builds the rest, attaches them and records the revision once the
// parent's index is valid. No row changes.
func TestPartitionedApplyKilledMidwayThenFinished(t *testing.T) {
	injected := false
	faultLine(t, "apply-killed-between-partitions", &injected)
	dsn, conn := eventsDB(t)
	ctx := context.Background()
	d := planPartitioned(t, conn, tenantRecent)
	watcher := testdb.Conn(t, dsn)
	before := testdb.TakeFingerprint(t, dsn)
	var release func()
	pid := conn.PgConn().PID()
	killed := make(chan struct{})
	// The kill: once the fourth partition's build waits for the snapshot
	// (its INVALID index in the catalog), a session of the test queues for
	// the migration lock, so that the apply cannot drop its leftover on a
	// new session, and the applier's backend is terminated.
	lockTaker := testdb.Conn(t, dsn)
	locked := make(chan error, 1)
	observe := func(e Event) {
		if e.Kind != EventBuild || !strings.HasPrefix(e.Index, "events_2026_09") {
			return
		}
		// A snapshot taken before the build starts holds it at the end,
		// its INVALID index in the catalog.
		release = holdSnapshot(t, dsn)
		go func() {
			defer close(killed)
			waitForPhase(t, watcher, pid, "waiting for%")
			go func() {
				_, err := lockTaker.Exec(ctx, `SELECT pg_advisory_lock($1)`, LockKey)
				locked <- err
			}()
			time.Sleep(100 * time.Millisecond)
			mustExec(t, watcher, `SELECT pg_terminate_backend($1)`, int32(pid))
			injected = true
		}()
	}
	_, err := Apply(ctx, conn, d, ApplyOptions{Observer: observe, LockTimeout: time.Minute})
	if release == nil {
		t.Fatalf("apply ended (%v) before the fourth partition's build", err)
	}
	<-killed
	if err == nil || !strings.Contains(err.Error(), "connection is lost") {
		t.Fatalf("killed apply returned %v", err)
	}
	if err := <-locked; err != nil {
		t.Fatal(err)
	}
	release()
	s := readPartitioned(t, watcher, "public.events", "public.events_tenant_id_created_at_idx")
	if !s.exists || s.valid || s.indexedLeaves() != 3 {
		t.Errorf("after the kill: exists %v valid %v, %d partitions indexed; want the INVALID parent index with 3", s.exists, s.valid, s.indexedLeaves())
	}
	if !slices.Equal(s.invalid, []string{"events_2026_09_tenant_id_created_at_idx", "events_tenant_id_created_at_idx"}) {
		t.Errorf("INVALID after the kill: %v, want the fourth partition's leftover and the parent's", s.invalid)
	}
	if n := revisionCount(t, watcher); n != 0 {
		t.Errorf("%d revisions after the kill, want none", n)
	}
	st, err := Status(ctx, watcher, d, "")
	if err != nil {
		t.Fatal(err)
	}
	if f := st.Files[0]; f.State != StatePartial || !strings.Contains(f.Note, "3/8 partitions") {
		t.Errorf("status after the kill: %s %q, want partial, 3/8 partitions", f.State, f.Note)
	}
	if !slices.Equal(st.Leftovers, []string{"events_2026_09_tenant_id_created_at_idx"}) {
		t.Errorf("leftovers %v, want the fourth partition's index", st.Leftovers)
	}
	mustExec(t, lockTaker, `SELECT pg_advisory_unlock($1)`, LockKey)
	again := applier(t, dsn)
	// The atlas CLI would attach the leftover as it is: the check that
	// stands before it refuses the directory, naming it.
	if err := CheckPending(ctx, again, d, "", false); !errors.Is(err, ErrPartitionLeftover) ||
		!strings.Contains(err.Error(), `"public"."events_2026_09_tenant_id_created_at_idx"`) {
		t.Errorf("CheckPending with a partition's leftover: %v", err)
	}
	// repair would drop the interrupted build's leftover, never the
	// partitioned index part way (that would drop the three built).
	if rep, err := Repair(ctx, again, d, ApplyOptions{DryRun: true}); err != nil ||
		!slices.Equal(rep.Dropped, []string{"events_2026_09_tenant_id_created_at_idx"}) {
		t.Errorf("repair --dry-run: %+v, %v", rep, err)
	}
	ev := &events{}
	if _, err := Apply(ctx, again, d, ApplyOptions{Observer: ev.observe}); err != nil {
		t.Fatalf("apply again: %v", err)
	}
	var saw []string
	for _, e := range ev.all {
		switch e.Kind {
		case EventDropInvalid, EventBuilt:
			saw = append(saw, string(e.Kind)+" "+e.Index)
		case EventPartitions:
			if strings.HasPrefix(e.Message, "resuming") {
				saw = append(saw, e.Message)
			}
		}
	}
	want := []string{"resuming: 3/8 partitions already have their index", "drop-invalid events_2026_09_tenant_id_created_at_idx",
		"built events_2026_09_tenant_id_created_at_idx", "built events_2026_10_tenant_id_created_at_idx",
		"built events_2026_11_click_tenant_id_created_at_idx", "built events_2026_11_other_tenant_id_created_at_idx",
		"built events_default_tenant_id_created_at_idx"}
	if !slices.Equal(saw, want) {
		t.Errorf("apply again:\n got %q\nwant %q", saw, want)
	}
	checkComplete(t, again, "events", "events_tenant_id_created_at_idx", testdb.EventsLeaves)
	if n := revisionCount(t, again); n != 1 {
		t.Errorf("%d revisions, want 1", n)
	}
	rowsUnchanged(t, dsn, before, "the killed apply and the next")
}

// A partition detached while apply runs: one detached after its index was
// built and before it was attached gets that index dropped again, one
// detached before its turn is skipped; the parent's index is valid over
// the partitions it has, the revision is written, and status does not
// count the two as drift.
func TestPartitionedApplyPartitionDetachedMeanwhile(t *testing.T) {
	injected := false
	faultLine(t, "partition-detached-during-apply", &injected)
	dsn, conn := eventsDB(t)
	ctx := context.Background()
	d := planPartitioned(t, conn, tenantRecent)
	other := testdb.Conn(t, dsn)
	before := testdb.TakeFingerprint(t, dsn)
	ev := &events{}
	observe := func(e Event) {
		ev.observe(e)
		if e.Kind == EventBuilt && e.Index == "events_2026_07_tenant_id_created_at_idx" {
			mustExec(t, other, `ALTER TABLE public.events DETACH PARTITION public.events_2026_07`)
			mustExec(t, other, `ALTER TABLE public.events DETACH PARTITION public.events_2026_09`)
			injected = true
		}
	}
	if _, err := Apply(ctx, conn, d, ApplyOptions{Observer: observe}); err != nil {
		t.Fatal(err)
	}
	var skipped []string
	for _, e := range ev.all {
		if e.Kind == EventPartitionSkipped {
			skipped = append(skipped, e.Message)
		}
	}
	if len(skipped) != 2 || !strings.Contains(skipped[0], `"public"."events_2026_07" was detached from "public"."events" while its index was built`) ||
		!strings.Contains(skipped[1], `"public"."events_2026_09" is no longer a partition of "public"."events"`) {
		t.Errorf("skipped partitions: %q", skipped)
	}
	leaves := slices.DeleteFunc(slices.Clone(testdb.EventsLeaves), func(s string) bool { return s == "events_2026_07" || s == "events_2026_09" })
	checkComplete(t, conn, "events", "events_tenant_id_created_at_idx", leaves)
	for _, table := range []string{"public.events_2026_07", "public.events_2026_09"} {
		if got := indexes(t, conn, table); len(got) != 0 {
			t.Errorf("%s, detached, was left with indexes %v", table, got)
		}
	}
	if n := revisionCount(t, conn); n != 1 {
		t.Errorf("%d revisions, want 1", n)
	}
	st, err := Status(ctx, conn, d, "")
	if err != nil {
		t.Fatal(err)
	}
	if st.Applied != 1 || len(st.Drift) != 0 {
		t.Errorf("status: applied %d, drift %+v", st.Applied, st.Drift)
	}
	rowsUnchanged(t, dsn, before, "apply with partitions detached")
}

// A lock held on one partition: apply waits at most lock_timeout, retries,
// then stops with an error naming the partition, its partitioned table,
// the session in the way and how far the index is; the partitions before
// keep their index, nothing is INVALID but the parent's, no revision is
// written. Once the lock is released, apply finishes. ACCESS EXCLUSIVE is
// the case a catalog look-up that locks every partition (pg_partition_tree)
// would turn into a bare lock timeout before the build could say who holds
// it.
func TestPartitionedApplyLockHeldOnOnePartition(t *testing.T) {
	for _, c := range []struct{ fault, mode string }{
		{"lock-held-on-one-partition", "SHARE ROW EXCLUSIVE"},
		{"access-exclusive-lock-on-one-partition", "ACCESS EXCLUSIVE"},
	} {
		t.Run(c.mode, func(t *testing.T) {
			injected := false
			faultLine(t, c.fault, &injected)
			dsn, conn := eventsDB(t)
			ctx := context.Background()
			d := planPartitioned(t, conn, tenantRecent)
			before := testdb.TakeFingerprint(t, dsn)
			holder := named(t, dsn, "partition-locker")
			mustExec(t, holder, `BEGIN`)
			mustExec(t, holder, `LOCK TABLE public.events_2026_09 IN `+c.mode+` MODE`)
			injected = true
			_, err := Apply(ctx, conn, d, ApplyOptions{LockTimeout: 200 * time.Millisecond, Retries: 1, Backoff: 10 * time.Millisecond})
			var lte *LockTimeoutError
			if !errors.As(err, &lte) {
				t.Fatalf("apply with a partition locked: %v, want a LockTimeoutError", err)
			}
			msg := err.Error()
			for _, want := range []string{`partition "public"."events_2026_09" of "public"."events"`, "after 2 attempts",
				fmt.Sprintf("blocked by pid %d (partition-locker)", holder.PgConn().PID()), "3/8 partitions of \"public\".\"events\" have their index, kept"} {
				if !strings.Contains(msg, want) {
					t.Errorf("the error does not say %q: %s", want, msg)
				}
			}
			// The test's own look-ups lock the partitions: read once the
			// holder let go.
			mustExec(t, holder, `ROLLBACK`)
			s := readPartitioned(t, conn, "public.events", "public.events_tenant_id_created_at_idx")
			if s.indexedLeaves() != 3 || !slices.Equal(s.invalid, []string{"events_tenant_id_created_at_idx"}) {
				t.Errorf("after the lock timeout: %d partitions indexed, INVALID %v", s.indexedLeaves(), s.invalid)
			}
			if n := revisionCount(t, conn); n != 0 {
				t.Errorf("%d revisions, want none", n)
			}
			if _, err := Apply(ctx, conn, d, ApplyOptions{}); err != nil {
				t.Fatal(err)
			}
			checkComplete(t, conn, "events", "events_tenant_id_created_at_idx", testdb.EventsLeaves)
			rowsUnchanged(t, dsn, before, "apply under a lock, then again")
		})
	}
}

// Partitions added between plan and apply (before the parent's index
// exists: PostgreSQL indexes one added after by itself) get their index
// too, a partitioned one its own index first; the dry run says so.
func TestPartitionedApplyPartitionAddedSincePlan(t *testing.T) {
	dsn, conn := eventsDB(t)
	ctx := context.Background()
	d := planPartitioned(t, conn, tenantRecent)
	mustExec(t, conn, `CREATE TABLE public.events_2027_01 PARTITION OF public.events FOR VALUES FROM ('2027-01-01') TO ('2027-02-01')`)
	mustExec(t, conn, `CREATE TABLE public.events_2027_02 PARTITION OF public.events FOR VALUES FROM ('2027-02-01') TO ('2027-03-01') PARTITION BY LIST (kind)`)
	mustExec(t, conn, `CREATE TABLE public.events_2027_02_all PARTITION OF public.events_2027_02 DEFAULT`)
	before := testdb.TakeFingerprint(t, dsn)
	dry, err := Apply(ctx, conn, d, ApplyOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	steps := strings.Join(dry.Files[0].Steps, "\n")
	for _, p := range []string{`"public"."events_2027_01"`, `"public"."events_2027_02"`} {
		if !strings.Contains(steps, "-- partition "+p+" is not in the file") {
			t.Errorf("the dry run does not name %s:\n%s", p, steps)
		}
	}
	ev := &events{}
	if _, err := Apply(ctx, conn, d, ApplyOptions{Observer: ev.observe}); err != nil {
		t.Fatal(err)
	}
	var added []string
	for _, e := range ev.all {
		if e.Kind == EventPartitionAdded {
			added = append(added, e.Index)
		}
	}
	if !slices.Equal(added, []string{"events_2027_01_tenant_id_created_at_idx", "events_2027_02_tenant_id_created_at_idx", "events_2027_02_all_tenant_id_created_at_idx"}) {
		t.Errorf("partitions added: %v", added)
	}
	checkComplete(t, conn, "events", "events_tenant_id_created_at_idx", append(slices.Clone(testdb.EventsLeaves), "events_2027_01", "events_2027_02_all"))
	if n := revisionCount(t, conn); n != 1 {
		t.Errorf("%d revisions, want 1", n)
	}
	rowsUnchanged(t, dsn, before, "apply with partitions added")
}

// A partitioned table with no partitions: the plan is its ON ONLY index
// alone, valid at once; apply records it and down drops it.
func TestPartitionedParentWithNoPartitions(t *testing.T) {
	injected := true
	faultLine(t, "parent-with-no-partitions", &injected)
	dsn := testdb.NewDatabase(t)
	conn := applier(t, dsn)
	ctx := context.Background()
	mustExec(t, conn, `CREATE TABLE public.audit (id bigint NOT NULL, at timestamptz NOT NULL, who text) PARTITION BY RANGE (at)`)
	before := testdb.TakeFingerprint(t, dsn)
	d := planPartitioned(t, conn, spec{Schema: "public", Table: "audit", Columns: []string{"who", "at"}})
	migs, _ := d.Migrations()
	if len(migs[0].Statements) != 1 || !strings.Contains(migs[0].Statements[0].SQL, `ON ONLY "public"."audit"`) {
		t.Fatalf("plan of a parent with no partitions: %+v", migs[0].Statements)
	}
	if _, err := Apply(ctx, conn, d, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	s := readPartitioned(t, conn, "public.audit", "public.audit_who_at_idx")
	if !s.valid || len(s.invalid) > 0 {
		t.Errorf("audit_who_at_idx valid %v, INVALID %v", s.valid, s.invalid)
	}
	if n := revisionCount(t, conn); n != 1 {
		t.Errorf("%d revisions, want 1", n)
	}
	if _, err := Down(ctx, conn, d, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if s := readPartitioned(t, conn, "public.audit", "public.audit_who_at_idx"); s.exists {
		t.Errorf("audit_who_at_idx still there after down")
	}
	rowsUnchanged(t, dsn, before, "apply and down on a parent with no partitions")
}

// A hand-written CREATE INDEX CONCURRENTLY on a partitioned table, which
// PostgreSQL refuses, and a CREATE INDEX ON ONLY a plain table, which
// builds without CONCURRENTLY, are refused before anything runs, saying
// what to write instead.
func TestAdversarialPartitionedStatementsRefused(t *testing.T) {
	dsn, conn := eventsDB(t)
	ctx := context.Background()
	mustExec(t, conn, `CREATE TABLE public.plain (id int PRIMARY KEY, a int)`)
	cases := []struct {
		name, sql string
		want      error
		says      string
	}{
		{"concurrently on a partitioned table", `CREATE INDEX CONCURRENTLY IF NOT EXISTS "events_kind_idx" ON "public"."events" ("kind");`,
			ErrConcurrentPartitioned, "ON ONLY the table, CREATE INDEX CONCURRENTLY on each partition, ALTER INDEX … ATTACH PARTITION"},
		{"ON ONLY a plain table", `CREATE INDEX IF NOT EXISTS "plain_a_idx" ON ONLY "public"."plain" ("a");`,
			ErrOnlyNotPartitioned, "write CREATE INDEX CONCURRENTLY"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := testdb.TakeFingerprint(t, dsn)
			d := planDir(t)
			addFile(t, d, "20250101000000_hand.sql", "-- atlas:txmode none\n\n"+c.sql+"\n")
			_, err := Apply(ctx, conn, d, ApplyOptions{})
			var pe *PartitionError
			if !errors.As(err, &pe) || !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) || !strings.Contains(err.Error(), "line 3") {
				t.Fatalf("apply = %v, want a PartitionError %v saying %q", err, c.want, c.says)
			}
			unchanged(t, dsn, before, "the refused apply")
			rep, err := Lint(ctx, conn, d, LintOptions{BuildRate: 1e9})
			if err != nil {
				t.Fatal(err)
			}
			rule := RuleConcurrentPartitioned.ID
			if c.want == ErrOnlyNotPartitioned {
				rule = RuleNotConcurrent.ID
			}
			if len(findingsByRule(rep)[rule]) != 1 {
				t.Errorf("lint findings %+v, want one %s", rep.Findings, rule)
			}
		})
	}
}

// Lint with a database: the planned sequence is clean (its ON ONLY index
// builds nothing), a unique index on a partitioned table without the
// partition key is an error, one with it is not.
func TestLintPartitioned(t *testing.T) {
	_, conn := eventsDB(t)
	ctx := context.Background()
	d := planPartitioned(t, conn, tenantRecent, byEmail)
	addFile(t, d, "20300101000000_unique.sql", "-- atlas:txmode none\n\n"+
		`CREATE UNIQUE INDEX IF NOT EXISTS "events_uniq_idx" ON ONLY "public"."events" ("id");`+"\n"+
		`CREATE UNIQUE INDEX IF NOT EXISTS "events_uniq2_idx" ON ONLY "public"."events" ("id", "created_at");`+"\n"+
		`CREATE UNIQUE INDEX IF NOT EXISTS "accounts_uniq_idx" ON ONLY "public"."accounts" ("email");`+"\n")
	rep, err := Lint(ctx, conn, d, LintOptions{BuildRate: 1e9})
	if err != nil {
		t.Fatal(err)
	}
	by := findingsByRule(rep)
	var unique []string
	for _, f := range by[RulePartitionKeyUnique.ID] {
		unique = append(unique, f.Message)
	}
	if len(unique) != 2 || !strings.Contains(unique[0], `events_uniq_idx on "public"."events" lacks "created_at" of its partition key RANGE (created_at)`) ||
		!strings.Contains(unique[1], `lacks "region"`) {
		t.Errorf("HP114 findings: %q", unique)
	}
	// plan refuses to write such an index.
	ds := defs(spec{Schema: "public", Table: "events", Columns: []string{"id"}, Unique: true})
	trees, err := PlanPartitions(ctx, conn, ds)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Plan(ctx, filepath.Join(t.TempDir(), "m"), ds, PlanOptions{Partitions: trees}); !errors.Is(err, ErrBadSpec) || !strings.Contains(err.Error(), `lacks "created_at"`) {
		t.Errorf("plan of a unique index without the partition key: %v", err)
	}
	for _, r := range []Rule{RuleNotConcurrent, RuleConcurrentPartitioned, RuleDuplicate, RuleMissingTable} {
		if len(by[r.ID]) > 0 {
			t.Errorf("the planned sequence raises %s: %+v", r.ID, by[r.ID])
		}
	}
}

// --emit django for an index on a partitioned table: Django's state still
// gets the index (SeparateDatabaseAndState: AddIndex, and the model's Meta
// line), the database the sequence (AddIndexConcurrently cannot) as
// RunSQL, with the DROP of the partitioned index as reverse SQL under a
// lock_timeout; an index Django cannot say is the same RunSQL alone.
// Python reads back the very statements plan writes, and they build and
// drop the index on the server as Django would run them.
func TestEmitDjangoPartitioned(t *testing.T) {
	dsn := testdb.NewDatabase(t)
	conn := applier(t, dsn)
	ctx := context.Background()
	mustExec(t, conn, `CREATE TABLE public.analytics_event (id bigint, at timestamptz NOT NULL, user_id int, kind text) PARTITION BY RANGE (at)`)
	mustExec(t, conn, `CREATE TABLE public.analytics_event_2026 PARTITION OF public.analytics_event FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')`)
	mustExec(t, conn, `CREATE TABLE public.analytics_event_default PARTITION OF public.analytics_event DEFAULT`)
	ds := defs(spec{Schema: "public", Table: "analytics_event", Columns: []string{"user_id", "at DESC"}, Comment: "a user's recent events"},
		// An operator class on an expression: Django 3.2 cannot say it.
		spec{Schema: "public", Table: "analytics_event", Columns: []string{"lower(kind) text_pattern_ops"}})
	trees, err := PlanPartitions(ctx, conn, ds)
	if err != nil {
		t.Fatal(err)
	}
	apps := djangoApps(t, "analytics")
	res, err := EmitDjango(ds, DjangoOptions{AppsDir: apps, Now: planTime, Partitions: trees})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 1 || len(res.Indexes) != 2 {
		t.Fatalf("EmitDjango = %+v", res)
	}
	if ix := res.Indexes[0]; ix.Operation != OpSeparate || !strings.HasPrefix(ix.Meta, `models.Index(fields=["user_id", "-at"], name=`) {
		t.Errorf("index %+v: want SeparateDatabaseAndState with its Meta line", ix)
	}
	if ix := res.Indexes[1]; ix.Operation != OpRunSQL || ix.Meta != "" {
		t.Errorf("index %+v: want RunSQL alone, no Meta line", ix)
	}
	type built struct {
		def      indexdef.Def
		sql, rev []string
	}
	var want []built
	for i, d := range ds {
		def, _ := canonical(d)
		def.Name = res.Indexes[i].Name
		steps, err := PartitionedSteps(&def, trees[def.TableName()])
		if err != nil {
			t.Fatal(err)
		}
		b := built{def: def, rev: []string{"SET lock_timeout = '5000ms'", def.DropSQL(false, true), "RESET lock_timeout"}}
		for _, s := range steps {
			b.sql = append(b.sql, s.SQL)
		}
		want = append(want, b)
	}
	src, _ := os.ReadFile(res.Files[0].Path)
	if strings.Contains(string(src), "AddIndexConcurrently(") || !strings.Contains(string(src), "# a user's recent events") {
		t.Errorf("the migration:\n%s", src)
	}
	py := python(t)
	l := importMigrations(t, py, []string{res.Files[0].Path})
	if len(l) != 1 || len(l[0].Operations) != 2 || l[0].Atomic {
		t.Fatalf("the migration holds %+v", l)
	}
	sep, alone := l[0].Operations[0], l[0].Operations[1]
	if sep.Kind != "SeparateDatabaseAndState" || len(sep.State) != 1 || len(sep.Database) != 1 {
		t.Fatalf("first operation %+v: want SeparateDatabaseAndState of one state and one database operation", sep)
	}
	if st := sep.State[0]; st.Kind != "AddIndex" || st.ModelName != "event" || st.Index.Name != want[0].def.Name || !slices.Equal(st.Index.Fields, []string{"user_id", "-at"}) {
		t.Errorf("state operation %+v: want AddIndex of event (user_id, -at) named %s", st, want[0].def.Name)
	}
	for i, op := range []loadedOp{sep.Database[0], alone} {
		if op.Kind != "RunSQL" || !slices.Equal(op.SQL, want[i].sql) {
			t.Errorf("index %d: %s sql:\n got %q\nwant %q", i, op.Kind, op.SQL, want[i].sql)
		}
		if !slices.Equal(op.ReverseSQL, want[i].rev) {
			t.Errorf("index %d: reverse_sql = %q, want %q", i, op.ReverseSQL, want[i].rev)
		}
		// The statements run, in order, as Django would run them (each on
		// its own, atomic = False), build the index; the reverse SQL
		// drops it.
		for _, s := range op.SQL {
			mustExec(t, conn, s)
		}
		checkComplete(t, conn, "analytics_event", want[i].def.Name, []string{"analytics_event_2026", "analytics_event_default"})
		for _, s := range op.ReverseSQL {
			mustExec(t, conn, s)
		}
		if s := readPartitioned(t, conn, "public.analytics_event", "public."+want[i].def.Name); s.exists || s.indexedLeaves() != 0 {
			t.Errorf("index %d after the reverse SQL: %+v", i, s)
		}
	}
}

// TestAdversarialOnOnlyNameTaken: the index a partitioned sequence makes
// ON ONLY the parent, under a name an index of another definition already
// holds there (a proposal of the same keys with INCLUDE, named as round
// one's index). lint with a database reports it (HP115), apply --dry-run
// says it stops, and apply refuses it with the ConflictError a plain
// table's build gets, before anything runs and without recording the
// file as applied. A name a table or sequence holds is HP115 too.
func TestAdversarialOnOnlyNameTaken(t *testing.T) {
	dsn, conn := eventsDB(t)
	ctx := context.Background()
	// Round one, by hand: the same name on other keys; PostgreSQL names
	// the partitions' indexes itself, so only the parent's name is taken.
	mustExec(t, conn, `CREATE INDEX events_tenant_id_created_at_idx ON public.events (tenant_id)`)
	d := planPartitioned(t, conn, tenantRecent)
	before := testdb.TakeFingerprint(t, dsn)
	partIndexes := indexes(t, conn, "public.events_2026_06")

	rep, err := Lint(ctx, conn, d, LintOptions{BuildRate: 1e9})
	if err != nil {
		t.Fatal(err)
	}
	taken := findingsByRule(rep)[RuleNameTaken.ID]
	if len(taken) != 1 || !strings.Contains(taken[0].Message, "index events_tenant_id_created_at_idx already exists with another definition") {
		t.Errorf("HP115 findings %+v, want one on the ON ONLY index (all: %+v)", taken, rep.Findings)
	}

	dry, err := Apply(ctx, conn, d, ApplyOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if steps := strings.Join(dry.Files[0].Steps, "\n"); !strings.Contains(steps, "-- stops: events_tenant_id_created_at_idx exists with another definition") {
		t.Errorf("apply --dry-run does not say it stops on the parent:\n%s", steps)
	}

	_, err = Apply(ctx, conn, d, ApplyOptions{})
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Index != "events_tenant_id_created_at_idx" {
		t.Fatalf("apply = %v, want a ConflictError on events_tenant_id_created_at_idx", err)
	}
	rowsUnchanged(t, dsn, before, "the refused apply")
	if n := revisionCount(t, conn); n != 0 {
		t.Errorf("%d revisions recorded, want none: the file was not applied", n)
	}
	if got := indexes(t, conn, "public.events_2026_06"); len(got) != len(partIndexes) {
		t.Errorf("a partition's indexes went from %v to %v: the refused apply built on it", partIndexes, got)
	}

	// A sequence holding a planned index's name, on a plain table.
	mustExec(t, conn, `CREATE TABLE public.plain (id int PRIMARY KEY, a int); CREATE SEQUENCE public.plain_a_idx`)
	p := planDir(t, spec{Schema: "public", Table: "plain", Columns: []string{"a"}})
	rep, err = Lint(ctx, conn, p, LintOptions{BuildRate: 1e9})
	if err != nil {
		t.Fatal(err)
	}
	if taken := findingsByRule(rep)[RuleNameTaken.ID]; len(taken) != 1 || !strings.Contains(taken[0].Message, "not an index (relkind S)") {
		t.Errorf("HP115 findings %+v, want one naming the sequence", taken)
	}
}

// TestPartitionIndexNamesKeepTheParentsSuffix: a parent index named apart
// from its stable name (a proposal's _2) names its partitions' indexes
// with the same suffix, so they are not named as the older index's.
func TestPartitionIndexNamesKeepTheParentsSuffix(t *testing.T) {
	_, conn := eventsDB(t)
	s := tenantRecent
	s.Name = "events_tenant_id_created_at_idx_2"
	d := planPartitioned(t, conn, s)
	ms, err := d.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for _, m := range ms {
		for _, st := range m.Statements {
			text.WriteString(st.SQL + "\n")
		}
	}
	for _, leaf := range testdb.EventsLeaves {
		if want := `"` + leaf + `_tenant_id_created_at_idx_2"`; !strings.Contains(text.String(), want) {
			t.Errorf("no index %s in the plan:\n%s", want, text.String())
		}
	}
}

// TestAdversarialPlanNameAlreadyPlannedOtherwise: a directory that plans
// an index under a name, asked to plan another definition under the same
// name (round two's INCLUDE, named as round one's index not yet applied),
// refuses it instead of skipping it as "already planned", which would lose
// it for good; the same definition again is skipped as before, and so is
// a partitioned parent's, planned ON ONLY.
func TestAdversarialPlanNameAlreadyPlannedOtherwise(t *testing.T) {
	_, conn := eventsDB(t)
	ctx := context.Background()
	round1 := spec{Schema: "public", Table: "events", Name: "events_tenant_id_created_at_idx", Columns: []string{"tenant_id", "created_at"}}
	d := planPartitioned(t, conn, round1)
	plan := func(s spec) (*PlanResult, error) {
		ds := defs(s)
		trees, err := PlanPartitions(ctx, conn, ds)
		if err != nil {
			t.Fatal(err)
		}
		return Plan(ctx, d.Path, ds, PlanOptions{Partitions: trees})
	}
	res, err := plan(round1)
	if err != nil || len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0].Reason, "already planned in") {
		t.Fatalf("the same index again: %+v, %v; want it skipped as already planned", res, err)
	}
	before, err := d.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	round2 := round1
	round2.Include = []string{"kind"}
	_, err = plan(round2)
	if !errors.Is(err, ErrBadSpec) || !strings.Contains(err.Error(), "events_tenant_id_created_at_idx: already planned in") ||
		!strings.Contains(err.Error(), "with another definition (INCLUDE (), want (kind))") {
		t.Errorf("another definition under the planned name: %v, want ErrBadSpec saying so", err)
	}
	after, err := d.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("the refused plan wrote %d files", len(after)-len(before))
	}
}
