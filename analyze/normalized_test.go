package analyze

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// TestGenericPlansOfNormalizedStatements runs, for real, a statement of
// each typed-literal form (timestamptz, timestamp WITH TIME ZONE and with
// a precision, date, time, interval with and without fields, numeric,
// bool, varchar(n), jsonb, a user's enum type) and the placeholders
// normalization leaves in IN lists, ANY, LIMIT, OFFSET and CASE;
// pg_stat_statements stores them normalized (`timestamptz $1`, which the
// server's grammar refuses), and Analyze gives each a generic plan from
// internal/sqlscan's PlanText instead of a syntax error.
func TestGenericPlansOfNormalizedStatements(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	admin := testdb.Conn(t, dsn)
	mustExec(t, admin,
		"CREATE TYPE mood AS ENUM ('sad', 'happy')",
		`CREATE TABLE tl (id int PRIMARY KEY, c timestamptz, ts timestamp, d date, tm time, iv interval, n numeric(10, 2),
			b bool, v varchar(20), j jsonb, m mood)`,
		`INSERT INTO tl SELECT i, timestamptz '2026-01-01' + i * interval '1 hour', timestamp '2026-01-01' + i * interval '1 hour',
			date '2026-01-01' + i % 300, time '00:00' + i * interval '1 minute', i * interval '1 minute', i / 10.0, i % 2 = 0,
			'v' || i, jsonb_build_object('k', i), (ARRAY['sad', 'happy'])[1 + i % 2]::mood FROM generate_series(1, 2000) i`,
		"ANALYZE tl",
		"SELECT pg_stat_statements_reset()",
	)
	// Each statement, and what its normalized text holds. From 18 the IN
	// list is squashed to "IN ($1 /*, ... */)", so LIMIT's number differs.
	forms := map[string]string{
		"SELECT id FROM tl WHERE c >= timestamptz '2026-01-05' AND d < date '2026-02-01'":                 "c >= timestamptz $1 AND d < date $2",
		"SELECT id FROM tl WHERE c >= timestamp with time zone '2026-01-05'":                              "c >= timestamp with time zone $1",
		"SELECT id FROM tl WHERE ts > timestamp(3) without time zone '2026-01-05 00:00'":                  "ts > timestamp(3) without time zone $1",
		"SELECT id FROM tl WHERE tm = time '12:00'":                                                       "tm = time $1",
		"SELECT id FROM tl WHERE c > now() - interval '7 days'":                                           "now() - interval $1",
		"SELECT id FROM tl WHERE iv > interval '3' day":                                                   "iv > interval $1 day",
		"SELECT id FROM tl WHERE iv < interval '1:30' hour to minute":                                     "iv < interval $1 hour to minute",
		"SELECT id FROM tl WHERE n = numeric '1.5' AND b = bool 'true'":                                   "n = numeric $1 AND b = bool $2",
		"SELECT id FROM tl WHERE v = varchar(20) 'v7' AND j @> jsonb '{\"k\": 7}' AND m = mood 'sad'":     "m = mood $3",
		"SELECT id FROM tl WHERE id IN (1, 2, 3) AND d = ANY('{2026-01-02}') ORDER BY c LIMIT 5 OFFSET 2": "ORDER BY c LIMIT $",
		"SELECT CASE WHEN id = 1 THEN 'a' ELSE 'b' END FROM tl WHERE id < 10":                             "CASE WHEN id = $1 THEN $2 ELSE $3 END",
	}
	for sql := range forms {
		mustExec(t, admin, sql)
	}
	conn := safeConn(t, dsn, 30*time.Second)
	rep, err := Analyze(ctx, conn, Options{Top: 50, Explain: 50, SkipIndexes: true})
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, s := range rep.Statements {
		if !strings.Contains(s.Query, "FROM tl") || strings.Contains(s.Query, "INSERT") {
			continue
		}
		for sql, form := range forms {
			if strings.Contains(s.Query, form) {
				found[sql] = true
			}
		}
		if !strings.Contains(s.Query, "$") {
			t.Errorf("pg_stat_statements kept %q unnormalized", s.Query)
		}
		if s.Plan == nil || s.PlanError != "" {
			t.Errorf("%q: no plan (%s)", s.Query, s.PlanError)
			continue
		}
		if !s.Plan.Generic {
			t.Errorf("%q: plan is not generic", s.Query)
		}
		if s.Plan.Query != s.Query {
			t.Errorf("the plan's query %q is not the statement's %q", s.Plan.Query, s.Query)
		}
	}
	for sql := range forms {
		if !found[sql] {
			t.Errorf("no normalized statement for %q among %d", sql, len(rep.Statements))
		}
	}
}
