package bench_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hishamos/hishamos-perf/bench"
	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/testdb"
	"github.com/hishamos/hishamos-perf/profiles"
)

// hostileDB is what the adversarial trial of issue 14 wrote against.
const hostileDB = "../testdata/adversarial/hostile.sql"

// loadHostile loads hostileDB into the database dsn names.
func loadHostile(t *testing.T, dsn string) {
	t.Helper()
	b, err := os.ReadFile(hostileDB)
	if err != nil {
		t.Fatal(err)
	}
	exec(t, dsn, string(b))
}

// dblinkTarget is a dblink connection string to the database dsn names.
func dblinkTarget(t *testing.T, dsn string) string {
	t.Helper()
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s", cfg.Host, cfg.Port, cfg.User, cfg.Database)
}

// outcome is what a hostile workload must come to.
type outcome int

const (
	// refused: the workload is refused before anything runs.
	refused outcome = iota
	// failsEveryCall: the statement named fails every call (the run
	// fails with ErrStatementFailed), the others run.
	failsEveryCall
	// runs: every call runs, and is rolled back.
	runs
)

// hostileCase is a workload the trial used, and what must come of it.
type hostileCase struct {
	name string
	// sql is a .sql workload; profile, when set, a profile instead (to
	// mark a statement as a write).
	sql, profile string
	allowWrites  bool
	want         outcome
	// failing is the statement that fails every call, for failsEveryCall.
	failing string
	// sequences are the sequences a case may move (non-transactional
	// nextval and setval under AllowWrites), with the position they end at
	// (0: anywhere past where they were).
	sequences map[string]int64
}

// hostileCases are the trial's workloads: the hostile set_config before an
// innocent-looking writing function (the original trial), set_config
// through a function, SET inside a function, setval, nextval, lo_create,
// a VOLATILE function that INSERTs and DELETEs, dblink_exec and
// pg_notify; without AllowWrites and, where it makes sense, with it.
// versionNum is the server's server_version_num: lo_create in a read-only
// transaction runs (and is rolled back) before 16 and is refused from 16 on.
func hostileCases(dblink string, versionNum int) []hostileCase {
	loCreate := hostileCase{name: "lo_create", want: runs, sql: "SELECT lo_create(0);"}
	if versionNum >= loCreateReadOnlyFrom {
		loCreate.name, loCreate.want, loCreate.failing = "lo_create refused in a read-only transaction (16+)", failsEveryCall, "q1"
	}
	return []hostileCase{
		{name: "the trial: set_config, then a writing function, setval and lo_create", want: failsEveryCall, failing: "churn", sql: `-- name: flip
SELECT set_config('default_transaction_read_only', 'off', false);
-- name: churn
SELECT churn();
-- name: setval
SELECT setval('victim_seq', 424242);
-- name: lo
SELECT lo_create(0);`},
		{name: "set_config through a function, then a writing function", want: failsEveryCall, failing: "churn",
			sql: "-- name: flip\nSELECT flip_read_only();\n-- name: churn\nSELECT churn();"},
		{name: "SET inside a function, then a writing function", want: failsEveryCall, failing: "churn",
			sql: "-- name: flip\nSELECT set_read_write();\n-- name: churn\nSELECT churn();"},
		{name: "set_config alone", want: runs, sql: "SELECT set_config('default_transaction_read_only', 'off', false);"},
		{name: "setval", want: failsEveryCall, failing: "q1", sql: "SELECT setval('victim_seq', 424242);"},
		{name: "nextval", want: failsEveryCall, failing: "q1", sql: "SELECT nextval('victim_seq');"},
		loCreate,
		{name: "a VOLATILE function that inserts and deletes", want: failsEveryCall, failing: "q1", sql: "SELECT churn();"},
		{name: "dblink_exec", want: refused, sql: fmt.Sprintf("SELECT * FROM dblink_exec('%s', 'DELETE FROM victim');", dblink)},
		{name: "pg_notify", want: runs, sql: "SELECT pg_notify('bench_adversarial', 'from bench');"},

		{name: "with --allow-writes: set_config, then a DELETE", allowWrites: true, want: runs,
			sql: "-- name: flip\nSELECT set_config('default_transaction_read_only', 'off', false);\n-- name: wipe\nDELETE FROM victim;"},
		{name: "with --allow-writes: a writing function marked as a write", allowWrites: true, want: runs, profile: `name: hostile
statements:
  - name: flip
    sql: SELECT flip_read_only()
  - name: churn
    sql: SELECT churn()
    write: true
`},
		{name: "with --allow-writes: lo_create marked as a write", allowWrites: true, want: runs,
			profile: "name: hostile\nstatements:\n  - name: lo\n    sql: SELECT lo_create(0)\n    write: true\n"},
		{name: "with --allow-writes: an INSERT takes serial values", allowWrites: true, want: runs,
			sql:       "INSERT INTO serial_victim (note) VALUES ('x');",
			sequences: map[string]int64{`"public"."serial_victim_id_seq"`: 0}},
		{name: "with --allow-writes: setval marked as a write", allowWrites: true, want: runs,
			profile:   "name: hostile\nstatements:\n  - name: setval\n    sql: SELECT setval('victim_seq', 424242)\n    write: true\n",
			sequences: map[string]int64{`"public"."victim_seq"`: 424242}},
		{name: "with --allow-writes: dblink_exec", allowWrites: true, want: refused,
			sql: fmt.Sprintf("DELETE FROM victim WHERE id IN (SELECT 1 FROM dblink_exec('%s', 'DELETE FROM victim') AS d(x));", dblink)},
	}
}

// loCreateReadOnlyFrom is the first server_version_num whose lo_create
// refuses to run in a read-only transaction (SQLSTATE 25006), found by
// make test-versions: 14 and 15 run it there.
const loCreateReadOnlyFrom = 160000

// serverVersionNum is the server's server_version_num.
func serverVersionNum(t *testing.T, dsn string) int {
	t.Helper()
	var v int
	if err := testdb.Conn(t, dsn).QueryRow(t.Context(), "SELECT current_setting('server_version_num')::int").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// workloadOf builds a case's workload, or returns the error that refused
// it.
func workloadOf(t *testing.T, c hostileCase) (*bench.Workload, error) {
	t.Helper()
	if c.profile == "" {
		return bench.FromSQL("hostile.sql", []byte(c.sql+"\n"))
	}
	path := filepath.Join(t.TempDir(), "hostile.yaml")
	if err := os.WriteFile(path, []byte(c.profile), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := profiles.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return bench.FromProfile(p, profiles.After)
}

// checkSequences checks that only the sequences the case names moved, as
// far as it says.
func checkSequences(t *testing.T, c hostileCase, before, after testdb.Fingerprint) {
	t.Helper()
	for _, line := range before.Diff(after) {
		moved := false
		for seq := range c.sequences {
			moved = moved || strings.HasPrefix(line, "sequence "+seq+" moved")
		}
		if !moved {
			t.Errorf("changed: %s", line)
		}
	}
	for seq, at := range c.sequences {
		b, a := before.Sequences[seq], after.Sequences[seq]
		switch {
		case at == 0 && a.LastValue <= b.LastValue && a.IsCalled == b.IsCalled:
			t.Errorf("%s did not move (%+v): a write's nextval is not rolled back, and the docs say so", seq, a)
		case at != 0 && a.LastValue != at:
			t.Errorf("%s is at %d, want %d: setval is not rolled back, and the docs say so", seq, a.LastValue, at)
		}
	}
}

// TestAdversarialBenchCommitsNothing runs each of the trial's workloads
// through Measure, on the wire and on pgconn (TLS), and checks that it
// comes to what the case says and that every table, sequence and large
// object is as it was (but the sequences of nextval and setval under
// AllowWrites, which no transaction undoes), and that a LISTENing session
// heard nothing.
func TestAdversarialBenchCommitsNothing(t *testing.T) {
	ctx := t.Context()
	dsn := testdb.NewDatabase(t)
	loadHostile(t, dsn)
	listener := testdb.Conn(t, dsn)
	if _, err := listener.Exec(ctx, "LISTEN bench_adversarial"); err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{"wire": dsn, "pgconn (TLS)": testdb.TLSDSN(t, dsn)}
	for _, c := range hostileCases(dblinkTarget(t, dsn), serverVersionNum(t, dsn)) {
		for path, pathDSN := range paths {
			t.Run(path+": "+c.name, func(t *testing.T) {
				before := testdb.TakeFingerprint(t, dsn)
				w, err := workloadOf(t, c)
				if c.want == refused {
					if !errors.Is(err, bench.ErrWorkload) || !strings.Contains(err.Error(), "cannot be measured") {
						t.Fatalf("err = %v; want the workload refused before anything runs", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				tlsSeen := false
				connect := func(ctx context.Context) (bench.Conn, error) {
					conn, err := connector(pathDSN)(ctx)
					if err == nil {
						_, tlsSeen = conn.PgConn().Conn().(*tls.Conn)
					}
					return conn, err
				}
				o := quick()
				o.Iterations, o.AllowWrites = 21, c.allowWrites
				run, err := bench.Measure(ctx, connect, w, o)
				if tlsSeen != (path != "wire") {
					t.Fatalf("TLS %v on the %s path", tlsSeen, path)
				}
				switch c.want {
				case runs:
					if err != nil {
						t.Fatalf("err = %v; want every call to run, rolled back", err)
					}
					for _, s := range run.Statements {
						if s.Calls != o.Iterations {
							t.Errorf("%s: %d calls, %d failed (%s); want %d", s.Name, s.Calls, s.Errors, s.FirstError, o.Iterations)
						}
					}
				case failsEveryCall:
					if !errors.Is(err, bench.ErrStatementFailed) || run == nil {
						t.Fatalf("err = %v; want ErrStatementFailed with the run", err)
					}
					s := run.Statement(c.failing)
					if s.Calls != 0 || s.Errors != o.Iterations || !strings.Contains(s.FirstError, "read-only transaction") {
						t.Errorf("%s: %d calls, %d errors, first %q; want every call refused in a read-only transaction", s.Name, s.Calls, s.Errors, s.FirstError)
					}
				}
				checkSequences(t, c, before, testdb.TakeFingerprint(t, dsn))
			})
		}
	}
	// pg_notify's notifications were rolled back: the first one the
	// listener hears is the one sent now.
	admin := testdb.Conn(t, dsn)
	if _, err := admin.Exec(ctx, "NOTIFY bench_adversarial, 'sentinel'"); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	n, err := listener.WaitForNotification(wctx)
	if err != nil || n.Payload != "sentinel" {
		t.Errorf("the listener heard %+v (%v) first; want only the sentinel sent after the runs", n, err)
	}
}

// TestAdversarialServerConditionIsNotABadWorkload: a statement that fails
// every call for a reason of the server's (here a lock not granted within
// lock_timeout, 55P03) fails the run with the server's error, not with
// ErrStatementFailed (bad input); one that fails for what it says (a
// division by zero) is still ErrStatementFailed.
func TestAdversarialServerConditionIsNotABadWorkload(t *testing.T) {
	dsn := testdb.NewDatabase(t)
	loadHostile(t, dsn)
	run, err := bench.Measure(t.Context(), connector(dsn), sqlWorkload(t, "-- name: locked\nSELECT lock_timeout_now();\n-- name: fine\nSELECT 1;"), quick())
	var pgErr *pgconn.PgError
	if errors.Is(err, bench.ErrStatementFailed) || errors.Is(err, bench.ErrWorkload) || !errors.As(err, &pgErr) || pgErr.Code != "55P03" || run == nil {
		t.Fatalf("err = %v; want the server's 55P03 with the run, not bad input", err)
	}
	if !strings.Contains(err.Error(), "locked failed all 8 calls") {
		t.Errorf("the error does not say which statement failed: %v", err)
	}
	if !pg.ServerCondition(err) {
		t.Errorf("pg.ServerCondition(%v) = false", err)
	}
	if _, err := bench.Measure(t.Context(), connector(dsn), sqlWorkload(t, "-- name: boom\nSELECT 1/0;"), quick()); !errors.Is(err, bench.ErrStatementFailed) || pg.ServerCondition(err) {
		t.Errorf("division by zero on every call: err = %v; want ErrStatementFailed", err)
	}
}
