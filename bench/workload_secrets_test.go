package bench_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/hishamos/hishamos-perf/bench"
	"github.com/hishamos/hishamos-perf/profiles"
)

// TestWorkloadRefusesOutsideTransaction is the regression test for
// statements bench ran although neither its read-only session nor a
// rollback contains them: pg_terminate_backend ended another session from
// a .sql workload or a profile. They are refused before anything runs.
func TestWorkloadRefusesOutsideTransaction(t *testing.T) {
	for _, sql := range []string{
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'x'",
		`SELECT "pg_cancel_backend"(42)`,
		"SELECT pg_stat_statements_reset()",
	} {
		if _, err := bench.FromSQL("w.sql", []byte(sql+";\n")); !errors.Is(err, bench.ErrWorkload) || !strings.Contains(err.Error(), "cannot be measured") {
			t.Errorf("FromSQL(%q): err = %v, want ErrWorkload", sql, err)
		}
		p, err := profiles.Parse("p.yaml", []byte("name: p\nstatements:\n  - name: s\n    sql: '"+strings.ReplaceAll(sql, "'", "''")+"'\n"))
		if err != nil {
			t.Fatalf("profile for %q: %v", sql, err)
		}
		if _, err := bench.FromProfile(p, profiles.After); !errors.Is(err, bench.ErrWorkload) || !strings.Contains(err.Error(), "cannot be measured") {
			t.Errorf("FromProfile(%q): err = %v, want ErrWorkload", sql, err)
		}
	}
}

// TestProfileSelectIntoIsAWrite is the regression test for SELECT … INTO in
// a profile statement not marked write: bench explained it with EXPLAIN
// ANALYZE outside a transaction, and the read-only session did not stop it
// from creating its table. Issue 15: profile validation took it (and FOR
// SHARE, FOR KEY SHARE) for a read while bench took it for a write; both
// ask internal/sqlscan now, so validation refuses it unmarked, and a
// profile made without validation still runs it as a write, refused
// without --allow-writes. SHOW and EXPLAIN read, but EXPLAIN does not take
// them: bench refuses them as it refuses them in a .sql file.
func TestProfileSelectIntoIsAWrite(t *testing.T) {
	for _, tc := range []struct{ sql, refusal string }{
		{"SELECT * INTO t_copy FROM t", ""},
		{"SELECT * FROM t FOR SHARE", ""},
		{"SELECT * FROM t FOR KEY SHARE", ""},
		{"SELECT * FROM t FOR NO KEY UPDATE", ""},
		{"WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", ""},
		{"SHOW work_mem", "only queries and DML can be measured"},
		{"EXPLAIN SELECT 1", "only queries and DML can be measured"},
	} {
		yaml := "name: p\nstatements:\n  - name: copy\n    sql: '" + strings.ReplaceAll(tc.sql, "'", "''") + "'\n"
		_, err := profiles.Parse("p.yaml", []byte(yaml))
		if tc.refusal == "" && (err == nil || !strings.Contains(err.Error(), "mark it write: true")) {
			t.Errorf("%s: profile validation = %v, want it refused unless marked write", tc.sql, err)
		}
		if tc.refusal != "" && err != nil {
			t.Errorf("%s: profile validation = %v, want it accepted as a read", tc.sql, err)
		}
		p := &profiles.Profile{Name: "p", Statements: []profiles.Statement{{Name: "copy", SQL: tc.sql, Weight: 1}}}
		w, err := bench.FromProfile(p, profiles.After)
		if tc.refusal != "" {
			if !errors.Is(err, bench.ErrWorkload) || !strings.Contains(err.Error(), tc.refusal) {
				t.Errorf("%s: FromProfile = %v, want ErrWorkload saying %q", tc.sql, err, tc.refusal)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if writes := w.Writes(); len(writes) != 1 || writes[0] != "copy" {
			t.Errorf("%s: writes = %v, want [copy]", tc.sql, writes)
		}
	}
}
