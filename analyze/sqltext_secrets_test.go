package analyze

import "testing"

// TestOutsideTransaction: functions whose effect a read-only transaction
// and a rollback do not contain are found however they are spelled, and
// names in strings, comments or of other functions are not.
func TestOutsideTransaction(t *testing.T) {
	tests := []struct{ query, want string }{
		{"SELECT pg_terminate_backend(123)", "pg_terminate_backend"},
		{"SELECT pg_catalog.PG_CANCEL_BACKEND(pid) FROM pg_stat_activity", "pg_cancel_backend"},
		{`SELECT "pg_terminate_backend"(pid) FROM pg_stat_activity WHERE usename = 'x'`, "pg_terminate_backend"},
		{"WITH r AS (SELECT pg_stat_statements_reset()) SELECT * FROM r", "pg_stat_statements_reset"},
		{"SELECT dblink_exec('host=x', 'DELETE FROM t')", "dblink_exec"},
		{"SELECT 'pg_terminate_backend(1)' AS s -- pg_cancel_backend\n", ""},
		{"SELECT $$ pg_reload_conf() $$", ""},
		{`SELECT "PG_TERMINATE_BACKEND"(1)`, ""}, // another function: quoted names keep their case
		{"SELECT id FROM agents_agent WHERE id = 3", ""},
		{"SELECT pg_terminate_backend_log FROM t", ""},
	}
	for _, tt := range tests {
		if got := OutsideTransaction(tt.query); got != tt.want {
			t.Errorf("OutsideTransaction(%q) = %q, want %q", tt.query, got, tt.want)
		}
	}
}
