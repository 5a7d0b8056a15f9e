package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// hostileDB is what the adversarial trial of issue 14 wrote against: a
// table, sequences, functions that turn the session read-write or write.
const hostileDB = "../../testdata/adversarial/hostile.sql"

// hostileDatabase is a database of the test's own holding hostileDB.
func hostileDatabase(t *testing.T) string {
	t.Helper()
	dsn := testdb.NewDatabase(t)
	b, err := os.ReadFile(hostileDB)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := testdb.Conn(t, dsn).Exec(t.Context(), string(b)); err != nil {
		t.Fatal(err)
	}
	return dsn
}

// oneLine fails the test unless stderr is one line saying want.
func saysInOneLine(t *testing.T, r result, want string) {
	t.Helper()
	if !strings.Contains(r.stderr, want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Errorf("stderr %q; want one line saying %q", r.stderr, want)
	}
}

// TestAdversarialBenchCLICommitsNothing runs the trial's workloads through
// the whole CLI, on the wire (a Unix socket) and on pgconn (TLS): the exit
// code is the one designed (2 for a workload refused before anything runs
// or one whose statement failed every call, writing in a read-only
// transaction; 0 for one whose every call ran and was rolled back), and
// every table, sequence and large object is as it was, but for the
// sequence a write takes values from under --allow-writes, which the help
// says; a LISTENing session hears no notification.
func TestAdversarialBenchCLICommitsNothing(t *testing.T) {
	ctx := t.Context()
	dsn := hostileDatabase(t)
	listener := testdb.Conn(t, dsn)
	if _, err := listener.Exec(ctx, "LISTEN bench_adversarial"); err != nil {
		t.Fatal(err)
	}
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	dblink := fmt.Sprintf("host=%s port=%d user=%s dbname=%s", cfg.Host, cfg.Port, cfg.User, cfg.Database)
	tlsDSN := testdb.TLSDSN(t, dsn)
	if c, err := pgx.Connect(ctx, tlsDSN); err != nil {
		t.Fatal(err)
	} else if _, ok := c.PgConn().Conn().(*tls.Conn); !ok {
		t.Fatalf("%s connects without TLS", cfg.Database)
	} else {
		c.Close(ctx)
	}
	dir := t.TempDir()
	// lo_create in a read-only transaction runs (and is rolled back)
	// before 16, and is refused from 16 on: either way nothing changes.
	loCode, loSay, loName := exitOK, "", "lo_create"
	var versionNum int
	if err := testdb.Conn(t, dsn).QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&versionNum); err != nil {
		t.Fatal(err)
	}
	if versionNum >= 160000 {
		loCode, loSay, loName = exitUsage, "read-only transaction", "lo_create refused in a read-only transaction (16+)"
	}
	for _, tc := range []struct {
		name        string
		sql         string
		allowWrites bool
		code        int
		say         string // in stderr, for a failure
		moves       string // the one sequence allowed to move
	}{
		{"the trial: set_config, then a writing function, setval, lo_create", `-- name: flip
SELECT set_config('default_transaction_read_only', 'off', false);
-- name: churn
SELECT churn();
-- name: setval
SELECT setval('victim_seq', 424242);
-- name: lo
SELECT lo_create(0);`, false, exitUsage, "churn failed all", ""},
		{"set_config through a function, then a writing function", "-- name: flip\nSELECT flip_read_only();\n-- name: churn\nSELECT churn();", false, exitUsage, "churn failed all", ""},
		{"SET inside a function, then a writing function", "-- name: flip\nSELECT set_read_write();\n-- name: churn\nSELECT churn();", false, exitUsage, "churn failed all", ""},
		{"set_config alone", "SELECT set_config('default_transaction_read_only', 'off', false);", false, exitOK, "", ""},
		{"setval", "SELECT setval('victim_seq', 424242);", false, exitUsage, "read-only transaction", ""},
		{"nextval", "SELECT nextval('victim_seq');", false, exitUsage, "read-only transaction", ""},
		{loName, "SELECT lo_create(0);", false, loCode, loSay, ""},
		{"a VOLATILE function that inserts and deletes", "SELECT churn();", false, exitUsage, "read-only transaction", ""},
		{"dblink_exec", fmt.Sprintf("SELECT * FROM dblink_exec('%s', 'DELETE FROM victim');", dblink), false, exitUsage, "calls dblink_exec", ""},
		{"pg_notify", "SELECT pg_notify('bench_adversarial', 'from bench');", false, exitOK, "", ""},
		{"--allow-writes: set_config, then DELETE", "-- name: flip\nSELECT set_config('default_transaction_read_only', 'off', false);\n-- name: wipe\nDELETE FROM victim;", true, exitOK, "", ""},
		{"--allow-writes: an INSERT takes serial values", "INSERT INTO serial_victim (note) VALUES ('x');", true, exitOK, "", `"public"."serial_victim_id_seq"`},
		{"--allow-writes: dblink_exec", fmt.Sprintf("DELETE FROM victim WHERE note IN (SELECT dblink_exec('%s', 'DELETE FROM victim'));", dblink), true, exitUsage, "calls dblink_exec", ""},
	} {
		for _, path := range []struct{ name, dsn string }{{"wire", dsn}, {"pgconn (TLS)", tlsDSN}} {
			t.Run(path.name+": "+tc.name, func(t *testing.T) {
				file := filepath.Join(dir, strings.NewReplacer(" ", "_", ":", "", ",", "", "-", "").Replace(tc.name)+".sql")
				if err := os.WriteFile(file, []byte(tc.sql+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				args := []string{"--dsn", path.dsn, "-q", "bench", "--workload", file, "--iterations", "21"}
				if tc.allowWrites {
					args = append(args, "--allow-writes")
				}
				before := testdb.TakeFingerprint(t, dsn)
				r := cli(t, args...)
				if r.code != tc.code {
					t.Errorf("exit %d, want %d; stderr %q", r.code, tc.code, r.stderr)
				}
				if tc.say != "" {
					saysInOneLine(t, r, tc.say)
				}
				after := testdb.TakeFingerprint(t, dsn)
				for _, line := range before.Diff(after) {
					if tc.moves == "" || !strings.HasPrefix(line, "sequence "+tc.moves+" moved") {
						t.Errorf("changed: %s", line)
					}
				}
				if tc.moves != "" && before.Sequences[tc.moves] == after.Sequences[tc.moves] {
					t.Errorf("%s did not move: the help says a write's sequence values stay taken", tc.moves)
				}
			})
		}
	}
	if _, err := testdb.Conn(t, dsn).Exec(ctx, "NOTIFY bench_adversarial, 'sentinel'"); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if n, err := listener.WaitForNotification(wctx); err != nil || n.Payload != "sentinel" {
		t.Errorf("the listener heard %+v (%v) first; want only the sentinel sent after the runs", n, err)
	}
	r := cli(t, "bench", "--help")
	for _, want := range []string{"Nothing bench runs can commit", "stays taken", "inside a user function"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("bench --help does not say %q", want)
		}
	}
}

// TestAdversarialStandby: against a streaming hot standby, `bench
// --allow-writes` of a workload with a write and `explain --analyze` of a
// DELETE are the server's condition (exit 3) saying the server is a
// read-only standby, in one line; reads still run there.
func TestAdversarialStandby(t *testing.T) {
	standby := testdb.StartStandby(t)
	dsn := hostileDatabase(t)
	standby.CatchUp(t)
	onStandby := standby.DSN(t, dsn)
	writes := benchFile(t, "writes.sql", "-- name: wipe\nDELETE FROM victim WHERE id < 50;\n-- name: read\nSELECT note FROM victim WHERE id = 7;")
	reads := benchFile(t, "reads.sql", "-- name: read\nSELECT note FROM victim WHERE id = 7;")
	before := testdb.TakeFingerprint(t, dsn)

	r := cli(t, "--dsn", onStandby, "-q", "bench", "--allow-writes", "--workload", writes, "--iterations", "3")
	if r.code != exitDatabase {
		t.Errorf("bench --allow-writes on a standby: exit %d, want %d; stderr %q", r.code, exitDatabase, r.stderr)
	}
	saysInOneLine(t, r, "the server is a read-only hot standby")

	r = cli(t, "--dsn", onStandby, "-q", "explain", "--analyze", "DELETE FROM victim WHERE id = 1")
	if r.code != exitDatabase {
		t.Errorf("explain --analyze DELETE on a standby: exit %d, want %d; stderr %q", r.code, exitDatabase, r.stderr)
	}
	saysInOneLine(t, r, "the server is a read-only hot standby")

	r = cli(t, "--dsn", onStandby, "-q", "bench", "--allow-writes", "--workload", reads, "--iterations", "3")
	if r.code != exitOK {
		t.Errorf("bench of reads on a standby: exit %d; stderr %q", r.code, r.stderr)
	}
	if diff := before.Diff(testdb.TakeFingerprint(t, dsn)); len(diff) > 0 {
		t.Errorf("the primary changed: %v", diff)
	}
}

// TestAdversarialLockedTable: a table locked by another session while
// bench prepares its statements is the server's condition (exit 3), not a
// bad workload; the one line names the table and the session holding it.
// A statement failing every call for such a reason (lock_not_available)
// exits 3 too.
func TestAdversarialLockedTable(t *testing.T) {
	ctx := t.Context()
	dsn := hostileDatabase(t)
	holder := testdb.Conn(t, dsn)
	var pid int
	if err := holder.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	tx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE victim IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	reads := benchFile(t, "reads.sql", "-- name: read\nSELECT note FROM victim WHERE id = 7;")
	r := cli(t, "--dsn", dsn, "-q", "bench", "--workload", reads, "--iterations", "3")
	tx.Rollback(ctx)
	if r.code != exitDatabase {
		t.Errorf("bench on a locked table: exit %d, want %d; stderr %q", r.code, exitDatabase, r.stderr)
	}
	saysInOneLine(t, r, "lock timeout")
	for _, want := range []string{"ACCESS EXCLUSIVE on victim", fmt.Sprintf("pid %d", pid), "LOCK TABLE victim"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr does not name %q: %s", want, r.stderr)
		}
	}

	every := benchFile(t, "every.sql", "-- name: locked\nSELECT lock_timeout_now();\n-- name: fine\nSELECT 1;")
	r = cli(t, "--dsn", dsn, "-q", "bench", "--workload", every, "--iterations", "3")
	if r.code != exitDatabase {
		t.Errorf("every call failing on lock_not_available: exit %d, want %d; stderr %q", r.code, exitDatabase, r.stderr)
	}
	saysInOneLine(t, r, "locked failed all 3 calls")
}
