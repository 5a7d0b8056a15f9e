package faults

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/internal/sandbox"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// The size of the events workload's tables in the partitioned tests:
// enough rows in each partition for its build to take a moment.
const (
	partitionedEvents   = 60000
	partitionedAccounts = 2000
)

// eventsDB is a database of the suite's sandbox holding the events
// workload's partitioned tables (testdata/workloads/events): admin is the
// checker's DSN, tool the tool's (TCP, with the password the output must
// never show).
type eventsDB struct {
	t    *testing.T
	name string
}

// admin is the checker's DSN, read afresh: a restart may move the server to
// another port. Its sessions carry the checker's application_name, which
// the stray session check leaves alone.
func (db eventsDB) admin() string {
	return env.box.DSN(state(db.t), db.name) + " application_name=" + checkerApp
}

// tool is the tool's DSN: TCP, with the password the output must never
// show.
func (db eventsDB) tool() string { return env.box.TCPDSN(state(db.t), db.name) }

// newEventsDB creates the database, with the sandbox's extensions and the
// events tables loaded, and drops it when the test ends.
func newEventsDB(t *testing.T, name string) eventsDB {
	t.Helper()
	ctx := context.Background()
	conn := admin(t)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := connect(ctx, adminDSN(t))
		if err != nil {
			t.Errorf("drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	db := eventsDB{t: t, name: name}
	if err := sandbox.CreateExtensions(ctx, db.admin()); err != nil {
		t.Fatal(err)
	}
	testdb.LoadEvents(t, db.admin(), partitionedEvents, partitionedAccounts)
	return db
}

// run runs the tool on the database.
func (db eventsDB) run(args ...string) toolResult {
	return runToolDSN(context.Background(), runLimit, db.tool(), args...)
}

// start runs the tool on the database in the background.
func (db eventsDB) start(args ...string) *started {
	s := &started{done: make(chan toolResult, 1)}
	go func() { s.done <- runToolDSN(context.Background(), runLimit, db.tool(), args...) }()
	return s
}

// waitingFor is true while a session of the tool on database $1 waits for
// a lock, running a statement that names $2.
const waitingFor = `SELECT EXISTS (SELECT FROM pg_stat_activity WHERE application_name = 'hishamos-perf' AND datname = $1
	AND wait_event_type = 'Lock' AND query LIKE '%' || $2 || '%')`

// lockPartition holds a lock on one partition that CREATE INDEX
// CONCURRENTLY waits for (SHARE ROW EXCLUSIVE conflicts with its SHARE
// UPDATE EXCLUSIVE), in a transaction of a session of the checker's; the
// returned func releases it (harmless once the session is gone).
func lockPartition(t *testing.T, db eventsDB, partition string) func() {
	t.Helper()
	ctx := context.Background()
	holder, err := connect(ctx, db.admin())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Exec(ctx, "LOCK TABLE "+pgx.Identifier{"public", partition}.Sanitize()+" IN SHARE ROW EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	return func() {
		holder.Exec(ctx, "ROLLBACK")
		holder.Close(ctx)
	}
}

// partStatus is `migrate status --format json` as the partitioned tests
// read it.
type partStatus struct {
	Status struct {
		Applied int `json:"applied"`
		Pending int `json:"pending"`
		Files   []struct {
			File    string `json:"file"`
			State   string `json:"state"`
			Note    string `json:"note"`
			Indexes []struct {
				Name       string `json:"name"`
				Table      string `json:"table"`
				State      string `json:"state"`
				Partitions *struct {
					Done  int `json:"done"`
					Total int `json:"total"`
				} `json:"partitions"`
			} `json:"indexes"`
		} `json:"files"`
		Drift     []json.RawMessage `json:"drift"`
		Leftovers []string          `json:"leftovers"`
	} `json:"status"`
}

// status runs migrate status on dir.
func (db eventsDB) status(t *testing.T, dir string) partStatus {
	t.Helper()
	res := db.run("-q", "--format", "json", "migrate", "status", "--dir", dir)
	if res.code != 0 {
		t.Fatalf("migrate status: exit %d: %s", res.code, res.stderr)
	}
	var st partStatus
	if err := json.Unmarshal([]byte(res.stdout), &st); err != nil {
		t.Fatalf("migrate status: %v\n%s", err, res.stdout)
	}
	return st
}

// partitionedIndex is what the catalog says of an index on a partitioned
// table: valid, how many partitions holding rows its table has and how many
// of them have a valid index attached to it.
type partitionedIndex struct {
	valid           bool
	leaves, indexed int
}

func (db eventsDB) index(t *testing.T, table, index string) partitionedIndex {
	t.Helper()
	var p partitionedIndex
	err := testdb.Conn(t, db.admin()).QueryRow(context.Background(), `SELECT
		coalesce((SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($2)), false),
		(SELECT count(*) FROM pg_partition_tree(to_regclass($1)) t JOIN pg_class c ON c.oid = t.relid WHERE c.relkind = 'r'),
		coalesce((SELECT count(*) FROM pg_partition_tree(to_regclass($2)) t JOIN pg_index x ON x.indexrelid = t.relid
			JOIN pg_class c ON c.oid = t.relid WHERE c.relkind = 'i' AND x.indisvalid), 0)`,
		"public."+table, "public."+index).Scan(&p.valid, &p.leaves, &p.indexed)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// invalid lists the database's INVALID or unready indexes.
func (db eventsDB) invalid(t *testing.T) []string {
	t.Helper()
	rows, err := testdb.Conn(t, db.admin()).Query(context.Background(),
		`SELECT indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid OR NOT indisready ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// revisions counts the database's revisions.
func (db eventsDB) revisions(t *testing.T) int {
	t.Helper()
	var n int
	err := testdb.Conn(t, db.admin()).QueryRow(context.Background(), `SELECT CASE WHEN to_regclass('atlas_schema_revisions.atlas_schema_revisions') IS NULL THEN 0
		ELSE (SELECT count(*) FROM atlas_schema_revisions.atlas_schema_revisions) END`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// unchanged fails the test when a table's rows, a sequence or the large
// objects of the database changed since before (the revisions table apply
// makes is not the user's).
func (db eventsDB) unchanged(t *testing.T, before testdb.Fingerprint, what string) {
	t.Helper()
	for _, d := range before.Diff(testdb.TakeFingerprint(t, db.admin())) {
		if !strings.Contains(d, `"atlas_schema_revisions"`) {
			t.Errorf("%s changed the database: %s", what, d)
		}
	}
}

// planned is `indexes plan --format json` as the tests read it.
type planned struct {
	Plan struct {
		Files []struct {
			File       string `json:"file"`
			Index      string `json:"index"`
			Table      string `json:"table"`
			Partitions int    `json:"partitions"`
		} `json:"files"`
	} `json:"plan"`
}

// checkComplete checks every planned index: valid, one valid index on each
// partition holding rows of its table.
func (db eventsDB) checkComplete(t *testing.T, p planned) {
	t.Helper()
	for _, f := range p.Plan.Files {
		ix := db.index(t, f.Table, f.Index)
		if !ix.valid || ix.leaves != f.Partitions || ix.indexed != ix.leaves {
			t.Errorf("%s on %s: valid %v, %d of %d partitions indexed (plan: %d)", f.Index, f.Table, ix.valid, ix.indexed, ix.leaves, f.Partitions)
		}
	}
}

// TestPartitionedEndToEnd is issue 17's end-to-end check on the events
// workload, a RANGE-partitioned table of eight partitions on two levels
// (November LIST-partitioned) with a DEFAULT, and a LIST-partitioned table
// of four with a DEFAULT: propose indexes on both from the application's
// statements, plan them, apply them and kill the apply in the middle of a
// partitioned index (the process, then its session), apply again, check
// status and the catalog (each index valid, one per partition, every
// revision written, nothing INVALID), take them down, then bench --apply
// builds them once more and measures, and down again. No row changes.
func TestPartitionedEndToEnd(t *testing.T) {
	if env.skip != "" {
		t.Skip(env.skip)
	}
	db := newEventsDB(t, "events_e2e")
	before := testdb.TakeFingerprint(t, db.admin())
	workload, err := filepath.Abs(filepath.Join("..", "testdata", "workloads", "events", "workload.sql"))
	if err != nil {
		t.Fatal(err)
	}
	props := filepath.Join(t.TempDir(), "proposals.json")
	dir := filepath.Join(t.TempDir(), "migrations")

	res := db.run("-q", "indexes", "propose", "--workload", workload, "--allow-build", "--save", props)
	if res.code != 0 {
		t.Fatalf("indexes propose: exit %d: %s", res.code, res.stderr)
	}
	var proposals struct {
		Proposals []struct {
			Table      string   `json:"table"`
			Definition string   `json:"definition"`
			Partitions []string `json:"partitions"`
		} `json:"proposals"`
	}
	b, err := os.ReadFile(props)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &proposals); err != nil {
		t.Fatal(err)
	}
	onTable := map[string]int{}
	for _, p := range proposals.Proposals {
		t.Logf("proposed: %s on %d partitions", p.Definition, len(p.Partitions))
		onTable[p.Table] = len(p.Partitions)
	}
	if onTable["events"] != 8 || onTable["accounts"] != 4 {
		t.Fatalf("proposals %v: want indexes on events (8 partitions) and accounts (4)", onTable)
	}

	res = db.run("-q", "--format", "json", "indexes", "plan", "--from", props, "--dir", dir)
	if res.code != 0 {
		t.Fatalf("indexes plan: exit %d: %s", res.code, res.stderr)
	}
	var plan planned
	if err := json.Unmarshal([]byte(res.stdout), &plan); err != nil {
		t.Fatalf("indexes plan: %v\n%s", err, res.stdout)
	}
	files := len(plan.Plan.Files)
	firstEvents := ""
	for _, f := range plan.Plan.Files {
		if want := map[string]int{"events": 8, "accounts": 4}[f.Table]; f.Partitions != want {
			t.Errorf("planned %s on %s for %d partitions, want %d", f.Index, f.Table, f.Partitions, want)
		}
		if f.Table == "events" && firstEvents == "" {
			firstEvents = f.Index
		}
	}

	// The kill: the apply held at the fourth partition of the first index
	// on events, killed, its session terminated.
	release := lockPartition(t, db, "events_2026_09")
	p := startProcessDSN(t, db.tool(), "indexes", "apply", "--dir", dir, "--lock-timeout", "60s")
	if !waitFor(t, p.started(), injectWithin, waitingFor, db.name, "events_2026_09") {
		t.Fatalf("apply never reached events_2026_09: %s", p.stderr.String())
	}
	p.cmd.Process.Kill()
	killed := p.wait(time.Minute)
	terminateTool(t)
	release()
	t.Logf("killed apply's output:\n%s", killed.stderr)
	st := db.status(t, dir).Status
	partial := false
	for _, f := range st.Files {
		if f.State == "partial" {
			partial = true
			if ix := f.Indexes[0]; ix.Name != firstEvents || ix.Partitions == nil || ix.Partitions.Done != 3 || ix.Partitions.Total != 8 {
				t.Errorf("partly applied: %s %+v", ix.Name, ix.Partitions)
			}
		}
	}
	if !partial || st.Applied >= files || db.revisions(t) != st.Applied || len(st.Leftovers) > 0 {
		t.Errorf("after the kill: %d of %d applied, %d revisions, leftovers %v, a file partly applied %v", st.Applied, files, db.revisions(t), st.Leftovers, partial)
	}
	if ix := db.index(t, "events", firstEvents); ix.valid || ix.indexed != 3 {
		t.Errorf("%s after the kill: valid %v, %d partitions indexed; want INVALID with 3", firstEvents, ix.valid, ix.indexed)
	}

	res = db.run("indexes", "apply", "--dir", dir)
	if res.code != 0 {
		t.Fatalf("apply again: exit %d: %s", res.code, res.stderr)
	}
	if !strings.Contains(res.stderr, "resuming: 3/8 partitions already have their index") || !strings.Contains(res.stderr, "8/8 partitions") {
		t.Errorf("apply again does not say it resumes and finishes:\n%s", res.stderr)
	}
	check := func(when string) {
		t.Helper()
		st := db.status(t, dir).Status
		if st.Applied != files || st.Pending != 0 || len(st.Drift) > 0 || len(st.Leftovers) > 0 || db.revisions(t) != files {
			t.Errorf("%s: %d of %d applied, %d pending, drift %s, leftovers %v, %d revisions", when, st.Applied, files, st.Pending, st.Drift, st.Leftovers, db.revisions(t))
		}
		for _, f := range st.Files {
			if ix := f.Indexes[0]; ix.State != "ok" || ix.Partitions == nil || ix.Partitions.Done != ix.Partitions.Total {
				t.Errorf("%s: %s is %s, partitions %+v", when, ix.Name, ix.State, ix.Partitions)
			}
		}
		db.checkComplete(t, plan)
		if inv := db.invalid(t); len(inv) > 0 {
			t.Errorf("%s: INVALID indexes %v", when, inv)
		}
	}
	check("after apply")

	down := func(when string) {
		t.Helper()
		res := db.run("migrate", "down", "--dir", dir, strconv.Itoa(files))
		if res.code != 0 {
			t.Fatalf("%s: migrate down: exit %d: %s", when, res.code, res.stderr)
		}
		if !strings.Contains(res.stderr, "ACCESS EXCLUSIVE lock on public.events, public.events_2026_06") {
			t.Errorf("%s: down does not say which locks it takes:\n%s", when, res.stderr)
		}
		for _, f := range plan.Plan.Files {
			if ix := db.index(t, f.Table, f.Index); ix.indexed != 0 {
				t.Errorf("%s: %d partitions of %s still have %s's index", when, ix.indexed, f.Table, f.Index)
			}
		}
		if n := db.revisions(t); n != 0 {
			t.Errorf("%s: %d revisions left", when, n)
		}
	}
	down("after apply")

	res = db.run("-q", "--format", "json", "bench", "--sql", workload, "--apply", dir, "--iterations", "20", "--warmup", "1",
		"--clients", "1", "--max-regression", "off")
	if res.code != 0 {
		t.Fatalf("bench --apply: exit %d: %s", res.code, res.stderr)
	}
	var rep struct {
		Migrations struct {
			Applied []string `json:"applied"`
			Indexes []string `json:"indexes"`
		} `json:"migrations"`
		Comparison []struct {
			Name            string  `json:"name"`
			MedianChangePct float64 `json:"median_change_pct"`
			PlanChanged     bool    `json:"plan_changed"`
		} `json:"comparison"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatalf("bench --apply: %v\n%s", err, res.stdout)
	}
	if len(rep.Migrations.Applied) != files || !slices.Contains(rep.Migrations.Indexes, "events_2026_11_click_"+strings.TrimPrefix(firstEvents, "events_")) {
		t.Errorf("bench applied %d files (want %d), indexes %v", len(rep.Migrations.Applied), files, rep.Migrations.Indexes)
	}
	changed := 0
	for _, c := range rep.Comparison {
		if c.PlanChanged {
			changed++
		}
		t.Logf("bench: %s %+.1f%% (plan changed %v)", c.Name, c.MedianChangePct, c.PlanChanged)
	}
	if changed == 0 {
		t.Errorf("no statement's plan changed with the partitioned indexes: %+v", rep.Comparison)
	}
	check("after bench --apply")
	down("after bench --apply")
	db.unchanged(t, before, "propose, plan, apply, kill, apply, down, bench --apply, down")
}

// execTool is the binary run on dsn as runToolDSN runs it: a clean
// environment, no sandbox of the user's.
func execTool(dsn string, args ...string) *exec.Cmd {
	cmd := exec.Command(env.bin, append([]string{"--dsn", dsn, "--no-color"}, args...)...)
	cmd.Dir = env.work
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + env.work, "NO_COLOR=1",
		"HISHAMOS_PERF_SANDBOX_DIR=" + filepath.Join(env.work, "no-sandbox")}
	return cmd
}

// startProcessDSN is startProcess on another database of the sandbox.
func startProcessDSN(t *testing.T, dsn string, args ...string) *process {
	t.Helper()
	p := &process{done: make(chan struct{})}
	p.cmd = execTool(dsn, args...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// serverRestartBetweenPartitions restarts the server while apply is between
// two partitions of a partitioned index: three built and attached, the
// fourth's build waiting for a lock. The apply stops with exit code 3
// saying the connection is lost; no revision is written, status says
// partly applied (3/8), nothing is INVALID but the partitioned index
// itself; apply again finishes it.
func serverRestartBetweenPartitions(t *testing.T, o *outcome, before snapshot) {
	db := newEventsDB(t, "events_restart")
	fp := testdb.TakeFingerprint(t, db.admin())
	props := writeFile(t, "events-proposals.json", `{"schema": "hishamos-perf/indexes/v1", "proposals": [
		{"schema": "public", "table": "events", "columns": ["tenant_id", "created_at"]}]}`)
	dir := filepath.Join(t.TempDir(), "migrations")
	if res := db.run("-q", "indexes", "plan", "--from", props, "--dir", dir); res.code != 0 {
		t.Fatalf("indexes plan: exit %d: %s", res.code, res.stderr)
	}
	release := lockPartition(t, db, "events_2026_09")
	defer release()
	run := db.start("-q", "indexes", "apply", "--dir", dir, "--lock-timeout", "60s")
	if waitFor(t, run, injectWithin, waitingFor, db.name, "events_2026_09") {
		restart(t)
		o.injected = true
	}
	o.expectExit(run.wait(), exitDatabase, "connection is lost", "run apply again")
	st := db.status(t, dir).Status
	if len(st.Files) != 1 || st.Files[0].State != "partial" || !strings.Contains(st.Files[0].Note, "3/8 partitions") || len(st.Leftovers) > 0 {
		o.fail("status after the restart: %+v", st)
	}
	if n := db.revisions(t); n != 0 {
		o.fail("%d revisions written for a partitioned index part way", n)
	}
	if inv := db.invalid(t); !slices.Equal(inv, []string{"events_tenant_id_created_at_idx"}) {
		o.fail("INVALID after the restart: %v, want the partitioned index part way alone", inv)
	}
	o.checkInvariants(before, nil, false)
	if res := db.run("-q", "indexes", "apply", "--dir", dir); res.code != 0 {
		o.fail("apply again: exit %d: %s", res.code, res.stderr)
	}
	if ix := db.index(t, "events", "events_tenant_id_created_at_idx"); !ix.valid || ix.indexed != 8 {
		o.fail("after apply again: valid %v, %d of 8 partitions indexed", ix.valid, ix.indexed)
	}
	if inv := db.invalid(t); len(inv) > 0 || db.revisions(t) != 1 {
		o.fail("after apply again: INVALID %v, %d revisions", inv, db.revisions(t))
	}
	for _, d := range fp.Diff(testdb.TakeFingerprint(t, db.admin())) {
		if !strings.Contains(d, `"atlas_schema_revisions"`) {
			o.fail("the events tables changed: %s", d)
			o.rowsLost++
		}
	}
}
