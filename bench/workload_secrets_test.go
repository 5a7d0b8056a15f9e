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
// from creating its table. It counts as a write now, refused without
// --allow-writes.
func TestProfileSelectIntoIsAWrite(t *testing.T) {
	p, err := profiles.Parse("p.yaml", []byte("name: p\nstatements:\n  - name: copy\n    sql: SELECT * INTO t_copy FROM t\n"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := bench.FromProfile(p, profiles.After)
	if err != nil {
		t.Fatal(err)
	}
	if writes := w.Writes(); len(writes) != 1 || writes[0] != "copy" {
		t.Errorf("writes = %v, want [copy]", writes)
	}
}
