package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// tableSum is one table's row count and a checksum of its rows.
type tableSum struct {
	Rows int64
	Sum  string
}

// snapshot is every HishamOS table (the public schema's) with its sum.
type snapshot map[string]tableSum

// takeSnapshot reads every table of the public schema: its row count and an
// md5 of its rows in a fixed order. Cheap at scale small (80 thousand rows).
func takeSnapshot(t testing.TB) snapshot {
	t.Helper()
	ctx := context.Background()
	conn := admin(t)
	rows, err := conn.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)
	if err != nil {
		t.Fatalf("list tables: %v", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("list tables: %v", err)
	}
	s := snapshot{}
	for _, n := range names {
		var ts tableSum
		q := "SELECT count(*), coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') FROM " + pgx.Identifier{"public", n}.Sanitize() + " t"
		if err := conn.QueryRow(ctx, q).Scan(&ts.Rows, &ts.Sum); err != nil {
			t.Fatalf("checksum %s: %v", n, err)
		}
		s[n] = ts
	}
	return s
}

// outcome gathers what one fault did, for its reliability line.
type outcome struct {
	t          *testing.T
	name       string
	injected   bool
	violations []string
	rowsLost   int64
}

// fail records a violation of what the tool promises, and fails the test.
func (o *outcome) fail(format string, args ...any) {
	o.t.Helper()
	msg := fmt.Sprintf(format, args...)
	o.violations = append(o.violations, msg)
	o.t.Error(msg)
}

// log writes the line `make reliability` parses.
func (o *outcome) log() {
	survived := len(o.violations) == 0 && o.rowsLost == 0 && !o.t.Failed()
	o.t.Logf("reliability: fault=%s injected=%t survived=%t rows_lost=%d", o.name, o.injected, survived, o.rowsLost)
}

// expectExit checks a run's exit code and its message: one line on stderr
// starting "hishamos-perf: " holding every want, no Go stack trace, no
// password anywhere in the output.
func (o *outcome) expectExit(res toolResult, code int, want ...string) {
	o.t.Helper()
	o.t.Logf("exit %d after %s; stderr: %s", res.code, res.took.Round(time.Millisecond), strings.TrimSpace(res.stderr))
	if res.hung {
		o.fail("the command hung: killed after %s", res.took.Round(time.Second))
		return
	}
	if res.code != code {
		o.fail("exit code %d, want %d (stderr: %s)", res.code, code, strings.TrimSpace(res.stderr))
	}
	all := res.stdout + res.stderr
	for _, bad := range []string{"goroutine ", "panic:", "runtime error"} {
		if strings.Contains(all, bad) {
			o.fail("output holds %q (a Go crash, not a message):\n%s", bad, all)
		}
	}
	if pw := state(o.t).Password; strings.Contains(all, pw) {
		o.fail("output shows the sandbox password")
	}
	if code == 0 {
		return
	}
	ls := lines(res.stderr)
	if len(ls) != 1 || !strings.HasPrefix(ls[0], "hishamos-perf: ") {
		o.fail("stderr is not one line starting %q:\n%s", "hishamos-perf: ", res.stderr)
		return
	}
	for _, w := range want {
		if !strings.Contains(strings.ToLower(ls[0]), strings.ToLower(w)) {
			o.fail("message does not say %q: %s", w, ls[0])
		}
	}
}

// checkInvariants compares the tables with before and checks that nothing
// is left half-made: no INVALID or unready index (but those in allowInvalid,
// which a server restart mid-build leaves for the next apply to drop), no
// session of the tool, no staging schema of a load (unless allowStaging).
func (o *outcome) checkInvariants(before snapshot, allowInvalid []string, allowStaging bool) {
	o.t.Helper()
	after := takeSnapshot(o.t)
	for name, b := range before {
		a, ok := after[name]
		if !ok {
			o.fail("table %s is gone", name)
			o.rowsLost += b.Rows
			continue
		}
		if a.Rows != b.Rows {
			o.fail("table %s holds %d rows, %d before", name, a.Rows, b.Rows)
			o.rowsLost += abs(a.Rows - b.Rows)
		} else if a.Sum != b.Sum {
			o.fail("table %s: same %d rows but different contents (checksum %s, %s before)", name, a.Rows, a.Sum, b.Sum)
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			o.fail("table %s appeared in the public schema", name)
		}
	}
	ctx := context.Background()
	conn := admin(o.t)
	rows, err := conn.Query(ctx, `SELECT indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid OR NOT indisready ORDER BY 1`)
	if err != nil {
		o.t.Fatalf("list invalid indexes: %v", err)
	}
	invalid, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		o.t.Fatalf("list invalid indexes: %v", err)
	}
	for _, ix := range invalid {
		if !slices.Contains(allowInvalid, ix) {
			o.fail("INVALID or unready index left behind: %s", ix)
		}
	}
	if staging := stagingSchemas(o.t); len(staging) > 0 && !allowStaging {
		o.fail("half-made load left behind: staging schema(s) %s", strings.Join(staging, ", "))
	}
	if stray := straySessions(o.t, conn); len(stray) > 0 {
		o.fail("session(s) left on the server after the command ended: %s", strings.Join(stray, "; "))
	}
}

// stagingSchemas lists the schemas a load builds its tables in before
// swapping them in.
func stagingSchemas(t testing.TB) []string {
	t.Helper()
	rows, err := admin(t).Query(context.Background(), `SELECT nspname::text FROM pg_namespace WHERE starts_with(nspname, 'hishamos_perf_load_')`)
	if err != nil {
		t.Fatalf("list staging schemas: %v", err)
	}
	staging, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("list staging schemas: %v", err)
	}
	return staging
}

// straySessions lists the client sessions other than the suite's own,
// giving the server a few seconds to notice that a client has gone.
func straySessions(t testing.TB, conn *pgx.Conn) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		rows, err := conn.Query(context.Background(), `SELECT format('pid %s (%s, %s): %s', pid, application_name, state, left(query, 80))
			FROM pg_stat_activity
			WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND application_name <> $1`, checkerApp)
		if err != nil {
			t.Fatalf("list sessions: %v", err)
		}
		stray, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("list sessions: %v", err)
		}
		if len(stray) == 0 || time.Now().After(deadline) {
			return stray
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// migStatus is the part of `migrate status --format json` the suite reads.
type migStatus struct {
	Status struct {
		Applied int `json:"applied"`
		Pending int `json:"pending"`
		Files   []struct {
			File    string `json:"file"`
			State   string `json:"state"`
			Indexes []struct {
				Name  string `json:"name"`
				State string `json:"state"`
			} `json:"indexes"`
		} `json:"files"`
		Drift     []json.RawMessage `json:"drift"`
		Leftovers []string          `json:"leftovers"`
		Unknown   []string          `json:"unknown"`
		Problems  []string          `json:"problems"`
	} `json:"status"`
}

// migrateStatus runs `migrate status` on dir.
func migrateStatus(t testing.TB, dir string) migStatus {
	t.Helper()
	res := runTool(context.Background(), time.Minute, "-q", "--format", "json", "migrate", "status", "--dir", dir)
	if res.code != 0 {
		t.Fatalf("migrate status: exit %d: %s", res.code, res.stderr)
	}
	var st migStatus
	if err := json.Unmarshal([]byte(res.stdout), &st); err != nil {
		t.Fatalf("migrate status: %v\n%s", err, res.stdout)
	}
	return st
}

// checkRevisions checks that the revisions table agrees with the indexes:
// every applied file's indexes there and valid, every pending file's
// absent (or an INVALID leftover, when allowed), no partial or unknown
// version. It returns how many files are applied and the leftovers.
func (o *outcome) checkRevisions(dir string, allowLeftover bool) (applied int, leftovers []string) {
	o.t.Helper()
	st := migrateStatus(o.t, dir).Status
	if len(st.Drift) > 0 {
		o.fail("migrate status reports drift (applied revisions whose index is not there as built): %s", st.Drift)
	}
	if len(st.Unknown) > 0 || len(st.Problems) > 0 {
		o.fail("migrate status: unknown versions %v, problems %v", st.Unknown, st.Problems)
	}
	for _, f := range st.Files {
		for _, ix := range f.Indexes {
			switch {
			case f.State == "applied" && ix.State == "ok":
			case f.State == "pending" && ix.State == "absent":
			case f.State == "pending" && ix.State == "invalid" && allowLeftover:
			default:
				o.fail("%s is %s but its index %s is %s", f.File, f.State, ix.Name, ix.State)
			}
		}
	}
	if len(st.Leftovers) > 0 && !allowLeftover {
		o.fail("INVALID leftovers of the directory: %v", st.Leftovers)
	}
	return st.Applied, st.Leftovers
}

// resetMigrations drops what applying dir built and the revisions table,
// so that the next fault starts from the seeded schema.
func resetMigrations(t testing.TB, dir string) {
	t.Helper()
	ctx := context.Background()
	st := migrateStatus(t, dir).Status
	conn := admin(t)
	for _, f := range st.Files {
		for _, ix := range f.Indexes {
			if _, err := conn.Exec(ctx, "DROP INDEX IF EXISTS "+pgx.Identifier{"public", ix.Name}.Sanitize()); err != nil {
				t.Fatalf("reset: drop %s: %v", ix.Name, err)
			}
		}
	}
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS atlas_schema_revisions CASCADE"); err != nil {
		t.Fatalf("reset: drop revisions: %v", err)
	}
}
