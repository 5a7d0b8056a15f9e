package faults

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/internal/sandbox"
)

// Exit codes as root.go decides them (docs/architecture.md, the README).
const (
	exitOK       = 0
	exitDatabase = 3
)

// runLimit is the longest any faulted command may take before the suite
// calls it hung and kills it.
const runLimit = 90 * time.Second

// injectWithin bounds the wait for the moment to inject a fault.
const injectWithin = 30 * time.Second

// slowSQL is a statement that runs long enough to be hit mid-statement and
// that changes nothing.
const slowSQL = "SELECT pg_sleep(20);\n"

// heavySQL joins the biggest table with itself on a column of five values:
// billions of rows, so it runs until a statement_timeout stops it.
const heavySQL = "SELECT count(*) FROM workflows_workflowstep a JOIN workflows_workflowstep b ON a.status = b.status;\n"

// analyzeLost is what analyze says when its session dies under an EXPLAIN
// ANALYZE of slow.sql: that the connection was lost, and where.
var analyzeLost = []string{"connection to the server was lost", "slow.sql:1"}

// benchLost is what bench says when its sessions die mid-run.
var benchLost = []string{"the run stopped after", "SQLSTATE 57P01"}

// seedLost is what seed says when its session dies mid-load.
var seedLost = []string{"connection to the server was lost", "no table is half-loaded"}

func TestFaults(t *testing.T) {
	if env.skip != "" {
		t.Skip(env.skip)
	}
	before := takeSnapshot(t)
	if len(before) < 9 {
		t.Fatalf("the seed made %d tables, want the 9 HishamOS ones", len(before))
	}
	faults := []struct {
		name string
		run  func(t *testing.T, o *outcome, before snapshot)
	}{
		{"server-restart-analyze", serverRestartAnalyze},
		{"server-restart-bench", serverRestartBench},
		{"server-restart-apply", serverRestartApply},
		{"server-restart-seed", serverRestartSeed},
		{"terminate-backend-analyze", terminateBackendAnalyze},
		{"terminate-backend-bench", terminateBackendBench},
		{"terminate-backend-apply", terminateBackendApply},
		{"terminate-backend-seed", terminateBackendSeed},
		{"lock-during-apply", lockDuringApply},
		{"server-restart-between-partitions", serverRestartBetweenPartitions},
		{"statement-timeout-explain-analyze", statementTimeoutExplain},
		{"statement-timeout-analyze", statementTimeoutAnalyze},
		{"disk-full-tablespace", diskFullApply},
		{"disk-full-seed", diskFullSeed},
		// Last: making the standby restarts the sandbox.
		{"standby-stops-replaying-apply", standbyStopsReplaying},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			o := &outcome{t: t, name: f.name}
			defer func() {
				if !t.Skipped() {
					o.log()
				}
			}()
			f.run(t, o, before)
			if !o.injected && !t.Skipped() {
				t.Errorf("the fault was not injected while the command ran: this run proves nothing")
			}
		})
	}
}

// terminateTool kills every session of the tool and reports how many.
func terminateTool(t *testing.T) int {
	t.Helper()
	var n int
	err := admin(t).QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))
		FROM pg_stat_activity WHERE application_name = 'hishamos-perf' AND pid <> pg_backend_pid()`).Scan(&n)
	if err != nil {
		t.Fatalf("terminate: %v", err)
	}
	return n
}

// toolConnected is true while the tool has a session on the server.
const toolConnected = `SELECT EXISTS (SELECT FROM pg_stat_activity WHERE application_name = 'hishamos-perf' AND pid <> pg_backend_pid())`

func serverRestartAnalyze(t *testing.T, o *outcome, before snapshot) {
	file := writeFile(t, "slow.sql", slowSQL)
	run := startTool(runLimit, "-q", "analyze", "--analyze", "--explain", "0", "--workload", file)
	if waitFor(t, run, injectWithin, toolBusy, "%pg_sleep%") {
		restart(t)
		o.injected = true
	}
	o.expectExit(run.wait(), exitDatabase, analyzeLost...)
	o.checkInvariants(before, nil, false)
}

func terminateBackendAnalyze(t *testing.T, o *outcome, before snapshot) {
	file := writeFile(t, "slow.sql", slowSQL)
	run := startTool(runLimit, "-q", "analyze", "--analyze", "--explain", "0", "--workload", file)
	if waitFor(t, run, injectWithin, toolBusy, "%pg_sleep%") {
		o.injected = terminateTool(t) > 0
	}
	o.expectExit(run.wait(), exitDatabase, analyzeLost...)
	o.checkInvariants(before, nil, false)
}

// benchArgs measure the HishamOS profile for far longer than the fault
// takes to arrive.
var benchArgs = []string{"-q", "bench", "--duration", "60s", "--warmup", "1", "--clients", "2"}

// midBench waits until bench has its sessions open and has measured a
// moment.
func midBench(t *testing.T, run *started) bool {
	if !waitFor(t, run, injectWithin, toolConnected) {
		return false
	}
	time.Sleep(1500 * time.Millisecond)
	return waitFor(t, run, time.Second, toolConnected)
}

func serverRestartBench(t *testing.T, o *outcome, before snapshot) {
	run := startTool(runLimit, benchArgs...)
	if midBench(t, run) {
		restart(t)
		o.injected = true
	}
	o.expectExit(run.wait(), exitDatabase, benchLost...)
	o.checkInvariants(before, nil, false)
}

func terminateBackendBench(t *testing.T, o *outcome, before snapshot) {
	run := startTool(runLimit, benchArgs...)
	if midBench(t, run) {
		o.injected = terminateTool(t) > 0
	}
	o.expectExit(run.wait(), exitDatabase, benchLost...)
	o.checkInvariants(before, nil, false)
}

// planSeedIndexes writes the seed report's eleven indexes as a migration
// directory, and drops what applying it built when the test ends.
func planSeedIndexes(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(env.work, "migrations-"+strings.ReplaceAll(t.Name(), "/", "-"))
	res := runTool(context.Background(), time.Minute, "-q", "indexes", "plan", "--from-profile", "hishamos", "--dir", dir)
	if res.code != 0 {
		t.Fatalf("indexes plan: exit %d: %s", res.code, res.stderr)
	}
	t.Cleanup(func() { resetMigrations(t, dir) })
	return dir
}

// seedIndexes is how many indexes the seed report lists.
const seedIndexes = 11

// buildWaits is true while a build of the tool waits for older
// transactions (after its INVALID index is in the catalog).
const buildWaits = `SELECT EXISTS (SELECT FROM pg_stat_progress_create_index p JOIN pg_stat_activity a USING (pid)
	WHERE a.application_name = 'hishamos-perf' AND p.phase LIKE 'waiting for%')`

// holdSnapshot opens a REPEATABLE READ transaction with a snapshot: a
// concurrent build waits for it once its index is in the catalog, which
// holds the build at the worst moment for a fault.
func holdSnapshot(t *testing.T) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	holder, err := connect(ctx, adminDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Close(ctx) })
	if _, err := holder.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ"); err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Exec(ctx, "SELECT count(*) FROM auth_user"); err != nil {
		t.Fatal(err)
	}
	return holder
}

func terminateBackendApply(t *testing.T, o *outcome, before snapshot) {
	dir := planSeedIndexes(t)
	ctx := context.Background()
	holder := holdSnapshot(t)
	run := startTool(runLimit, "-q", "indexes", "apply", "--dir", dir, "--lock-timeout", "60s")
	if waitFor(t, run, injectWithin, buildWaits) {
		o.injected = terminateTool(t) > 0
	}
	res := run.wait()
	// The server is still up: the tool drops its INVALID index on a new
	// session, so nothing is left for anyone to repair.
	o.expectExit(res, exitDatabase, "connection is lost", "dropped on a new connection", "run apply again")
	holder.Close(ctx)
	o.checkRevisions(dir, false)
	o.checkInvariants(before, nil, false)
	o.applyAgain(dir, before, "after apply again")
}

func serverRestartApply(t *testing.T, o *outcome, before snapshot) {
	dir := planSeedIndexes(t)
	holdSnapshot(t)
	run := startTool(runLimit, "-q", "indexes", "apply", "--dir", dir, "--lock-timeout", "60s")
	if waitFor(t, run, injectWithin, buildWaits) {
		restart(t)
		o.injected = true
	}
	res := run.wait()
	o.expectExit(res, exitDatabase, "connection is lost", "run apply again")
	// The restart cut the build short: its INVALID index is still in the
	// catalog (no session could drop it), no revision claims it, and status
	// names it as a leftover.
	_, leftovers := o.checkRevisions(dir, true)
	t.Logf("INVALID leftovers after the restart, for the next apply to drop: %v", leftovers)
	for _, l := range leftovers {
		if !strings.Contains(res.stderr, "build of "+l+" interrupted") {
			o.fail("INVALID index %s is left, and the message does not name it: %s", l, res.stderr)
		}
	}
	o.checkInvariants(before, leftovers, false)
	// Running apply again finishes the job, dropping the leftover first.
	o.applyAgain(dir, before, "after apply again")
}

func lockDuringApply(t *testing.T, o *outcome, before snapshot) {
	dir := planSeedIndexes(t)
	ctx := context.Background()
	holder, err := connect(ctx, adminDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(ctx)
	if _, err := holder.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	// SHARE blocks writes, and CREATE INDEX CONCURRENTLY's SHARE UPDATE
	// EXCLUSIVE lock with them.
	if _, err := holder.Exec(ctx, "LOCK TABLE agents_agentexecution IN SHARE MODE"); err != nil {
		t.Fatal(err)
	}
	pid := holder.PgConn().PID()
	run := startTool(runLimit, "-q", "indexes", "apply", "--dir", dir, "--lock-timeout", "1s", "--retries", "1")
	o.injected = waitFor(t, run, injectWithin, `SELECT EXISTS (SELECT FROM pg_locks l JOIN pg_stat_activity a USING (pid)
		WHERE a.application_name = 'hishamos-perf' AND NOT l.granted AND l.relation = 'agents_agentexecution'::regclass)`)
	res := run.wait()
	o.expectExit(res, exitDatabase, "agents_agentexecution", fmt.Sprintf("blocked by pid %d", pid), "nothing was changed")
	// The files before the locked table's are applied; none after.
	applied, _ := o.checkRevisions(dir, false)
	if applied >= seedIndexes {
		o.fail("%d files applied with agents_agentexecution locked", applied)
	}
	if _, err := holder.Exec(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	holder.Close(ctx)
	o.checkInvariants(before, nil, false)
	o.applyAgain(dir, before, "after the lock is released")
}

// loadCopying is true while a load of the tool copies rows.
const loadCopying = `SELECT EXISTS (SELECT FROM pg_stat_activity
	WHERE application_name = 'hishamos-perf' AND state = 'active' AND query ILIKE 'copy%')`

func serverRestartSeed(t *testing.T, o *outcome, before snapshot) {
	run := startTool(runLimit, "-q", "seed", "--scale", "small", "--replace", "--yes")
	if waitFor(t, run, injectWithin, loadCopying) {
		restart(t)
		o.injected = true
	}
	o.expectExit(run.wait(), exitDatabase, seedLost...)
	t.Logf("load schemas left for the next seed to drop: %v", stagingSchemas(t))
	// The new tables were being built aside: the old ones must be intact.
	// The staging schema may stay until the next load: the server was down
	// when the load tried to drop it on a new session.
	o.checkInvariants(before, nil, true)
	again := runTool(context.Background(), runLimit, "-q", "seed", "--scale", "small", "--replace", "--yes")
	o.expectExit(again, exitOK)
	// The same seed loads the same rows.
	o.checkInvariants(before, nil, false)
}

func terminateBackendSeed(t *testing.T, o *outcome, before snapshot) {
	run := startTool(runLimit, "-q", "seed", "--scale", "small", "--replace", "--yes")
	if waitFor(t, run, injectWithin, loadCopying) {
		o.injected = terminateTool(t) > 0
	}
	o.expectExit(run.wait(), exitDatabase, seedLost...)
	// The server is still up: the load drops its staging schema on a new
	// session, so nothing is left for the next one.
	o.checkInvariants(before, nil, false)
	again := runTool(context.Background(), runLimit, "-q", "seed", "--scale", "small", "--replace", "--yes")
	o.expectExit(again, exitOK)
	o.checkInvariants(before, nil, false)
}

func statementTimeoutExplain(t *testing.T, o *outcome, before snapshot) {
	run := startTool(runLimit, "-q", "explain", "--analyze", "--statement-timeout", "1s", strings.TrimSuffix(strings.TrimSpace(heavySQL), ";"))
	o.injected = waitFor(t, run, injectWithin, toolBusy, "%workflows_workflowstep%")
	o.expectExit(run.wait(), exitDatabase, "statement_timeout", "1s", "raise --statement-timeout")
	o.checkInvariants(before, nil, false)
}

func statementTimeoutAnalyze(t *testing.T, o *outcome, before snapshot) {
	file := writeFile(t, "heavy.sql", heavySQL)
	run := startTool(runLimit, "-q", "--format", "json", "analyze", "--analyze", "--explain", "0", "--no-indexes",
		"--workload", file, "--statement-timeout", "1s")
	o.injected = waitFor(t, run, injectWithin, toolBusy, "%workflows_workflowstep%")
	res := run.wait()
	// analyze is a report: a statement that timed out is one row of it,
	// with its plan_error, and the run goes on.
	o.expectExit(res, exitOK)
	if !strings.Contains(res.stdout, "statement_timeout hit (1s)") {
		o.fail("the report does not say the statement hit statement_timeout:\n%s", res.stdout)
	}
	o.checkInvariants(before, nil, false)
}

// tinyTablespace mounts a 1 MB tmpfs, makes it a tablespace, and removes
// both when the test ends. It skips the test, saying why, where the machine
// does not allow the mount.
func tinyTablespace(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("disk full needs a tmpfs mount, which needs root (and CAP_SYS_ADMIN): not root here")
	}
	dir, err := os.MkdirTemp("", "hpf-faults-tiny-")
	if err != nil {
		t.Fatal(err)
	}
	// The postgres account that runs the server must reach the mount.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := mountTmpfs(dir, "size=1m,mode=0700"); err != nil {
		os.Remove(dir)
		t.Skipf("disk full: cannot mount a tmpfs here (%v): the container lacks mount permission", err)
	}
	t.Cleanup(func() {
		if err := unmountTmpfs(dir); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
		os.Remove(dir)
	})
	if u, err := user.Lookup("postgres"); err == nil {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	conn := admin(t)
	const name = "faults_tiny"
	if _, err := conn.Exec(ctx, "CREATE TABLESPACE "+name+" LOCATION '"+dir+"'"); err != nil {
		t.Fatalf("create tablespace: %v", err)
	}
	t.Cleanup(func() {
		c, err := connect(ctx, adminDSN(t))
		if err != nil {
			t.Errorf("drop tablespace: %v", err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP TABLESPACE IF EXISTS "+name); err != nil {
			t.Errorf("drop tablespace (something was left in it): %v", err)
		}
	})
	return name
}

// diskFullIndex is an index on the biggest table, a few MB at scale small,
// in the tiny tablespace.
const diskFullIndex = "faults_disk_full_idx"

func diskFullApply(t *testing.T, o *outcome, before snapshot) {
	space := tinyTablespace(t)
	dir := filepath.Join(env.work, "migrations-disk-full")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mig := "-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY IF NOT EXISTS " + pgx.Identifier{diskFullIndex}.Sanitize() +
		` ON "public"."workflows_workflowstep" ("execution_id", "step_name", "error_message") TABLESPACE ` + pgx.Identifier{space}.Sanitize() + ";\n"
	if err := os.WriteFile(filepath.Join(dir, "20260101000000_disk_full.sql"), []byte(mig), 0o644); err != nil {
		t.Fatal(err)
	}
	if res := runTool(context.Background(), time.Minute, "-q", "migrate", "hash", "--dir", dir); res.code != 0 {
		t.Fatalf("migrate hash: exit %d: %s", res.code, res.stderr)
	}
	t.Cleanup(func() { resetMigrations(t, dir) })
	run := startTool(runLimit, "-q", "indexes", "apply", "--dir", dir)
	res := run.wait()
	o.injected = strings.Contains(res.stderr, "53100") || strings.Contains(strings.ToLower(res.stderr), "no space left")
	o.expectExit(res, exitDatabase, diskFullIndex, "no space left on device", "SQLSTATE 53100", "nothing was left behind")
	if applied, _ := o.checkRevisions(dir, false); applied != 0 {
		o.fail("%d files applied with the tablespace full", applied)
	}
	o.checkTablespaceEmpty(space)
	o.checkInvariants(before, nil, false)
}

func diskFullSeed(t *testing.T, o *outcome, before snapshot) {
	space := tinyTablespace(t)
	st := state(t)
	// Every table the load creates goes to the tiny tablespace. The DSN is
	// in keyword form this time, password included.
	dsn := fmt.Sprintf("host=127.0.0.1 port=%d user=postgres password=%s dbname=hishamos sslmode=disable options='-c default_tablespace=%s'",
		st.Port, st.Password, space)
	res := runToolDSN(context.Background(), runLimit, dsn, "-q", "seed", "--scale", "small", "--replace", "--yes")
	o.injected = strings.Contains(res.stderr, "53100") || strings.Contains(strings.ToLower(res.stderr), "no space left")
	o.expectExit(res, exitDatabase, "no space left on device", "rolled back", "tables are as they were")
	o.checkTablespaceEmpty(space)
	o.checkInvariants(before, nil, false)
}

// checkTablespaceEmpty checks that a failed build or load left no relation
// in the tablespace.
func (o *outcome) checkTablespaceEmpty(space string) {
	o.t.Helper()
	rows, err := admin(o.t).Query(context.Background(), `SELECT relname::text FROM pg_class
		WHERE reltablespace = (SELECT oid FROM pg_tablespace WHERE spcname = $1)`, space)
	if err != nil {
		o.t.Fatalf("list the tablespace: %v", err)
	}
	left, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		o.t.Fatalf("list the tablespace: %v", err)
	}
	if len(left) > 0 {
		o.fail("relations left in the full tablespace: %v", left)
	}
}

// applyAgain runs apply once more after a fault and checks that it finishes
// the job: every file applied, the tables as they were, nothing left.
func (o *outcome) applyAgain(dir string, before snapshot, when string) {
	again := runTool(context.Background(), runLimit, "-q", "indexes", "apply", "--dir", dir)
	o.expectExit(again, exitOK)
	if applied, _ := o.checkRevisions(dir, false); applied != seedIndexes {
		o.fail("%s: %d files applied, want %d", when, applied, seedIndexes)
	}
	o.checkInvariants(before, nil, false)
}

// replicaTimeout is how long the apply of standbyStopsReplaying waits for
// its paused standby: long enough to report the wait, short for the suite.
const replicaTimeout = "3s"

// standbyStopsReplaying is issue 23's fault: a streaming standby of the
// sandbox stops replaying (pg_wal_replay_pause()) while indexes apply
// waits for it. Apply builds the first file's index on the primary, waits
// --replica-timeout, then stops with exit 3 and one line naming the node
// behind and by how much; no version is recorded (the file is pending, its
// index kept on the primary). Once the replay resumes, apply again with
// the standby finishes every file, each index valid on the standby too.
func standbyStopsReplaying(t *testing.T, o *outcome, before snapshot) {
	ctx := context.Background()
	// Right under the temporary folder, as the suite's sandbox: the postgres
	// account that runs the server as root must enter it.
	parent, err := os.MkdirTemp("", "hpf-faults-standby-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	sb, err := env.box.Standby(ctx, filepath.Join(parent, "standby"))
	if sb != nil {
		t.Cleanup(func() { sb.Destroy(context.Background()) })
	}
	if err != nil {
		t.Fatalf("start a standby: %v", err)
	}
	sst, err := sb.LoadState()
	if err != nil {
		t.Fatal(err)
	}
	replica := "standby=" + sb.TCPDSN(sst, sandbox.Database)
	dir := planSeedIndexes(t)
	sconn, err := connect(ctx, sb.DSN(sst, sandbox.Database))
	if err != nil {
		t.Fatal(err)
	}
	defer sconn.Close(ctx)
	if _, err := sconn.Exec(ctx, "SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatal(err)
	}
	res := runTool(ctx, runLimit, "-q", "indexes", "apply", "--dir", dir, "--replica", replica, "--replica-timeout", replicaTimeout)
	if err := sconn.QueryRow(ctx, "SELECT pg_is_wal_replay_paused()").Scan(&o.injected); err != nil {
		t.Fatal(err)
	}
	o.expectExit(res, exitDatabase, "node standby has not replayed", "of WAL behind", "replay paused", "version is not recorded", "run apply again")
	st := migrateStatus(t, dir).Status
	if st.Applied != 0 {
		o.fail("%d files recorded as applied while the standby replayed nothing", st.Applied)
	}
	for i, f := range st.Files {
		for _, ix := range f.Indexes {
			want := "absent"
			if i == 0 {
				want = "present" // built on the primary, kept, not recorded
			}
			if f.State != "pending" || ix.State != want {
				o.fail("after the timeout %s is %s, its index %s %s; want pending, %s", f.File, f.State, ix.Name, ix.State, want)
			}
		}
	}
	o.checkInvariants(before, nil, false)
	if _, err := sconn.Exec(ctx, "SELECT pg_wal_replay_resume()"); err != nil {
		t.Fatal(err)
	}
	again := runTool(ctx, runLimit, "-q", "indexes", "apply", "--dir", dir, "--replica", replica)
	o.expectExit(again, exitOK)
	if applied, _ := o.checkRevisions(dir, false); applied != seedIndexes {
		o.fail("after the replay resumed: %d files applied, want %d", applied, seedIndexes)
	}
	var valid int
	if err := sconn.QueryRow(ctx, `SELECT count(*) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
		WHERE i.relnamespace = 'public'::regnamespace AND x.indisvalid AND x.indisready
		AND i.relname = ANY ($1)`, seedIndexNames(t, dir)).Scan(&valid); err != nil {
		t.Fatal(err)
	}
	if valid != seedIndexes {
		o.fail("%d of the %d indexes valid on the standby once apply returned", valid, seedIndexes)
	}
	o.checkInvariants(before, nil, false)
}

// seedIndexNames are the names of the indexes dir's files build.
func seedIndexNames(t *testing.T, dir string) []string {
	var names []string
	for _, f := range migrateStatus(t, dir).Status.Files {
		for _, ix := range f.Indexes {
			names = append(names, ix.Name)
		}
	}
	return names
}
