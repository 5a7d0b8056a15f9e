package sqlscan

import (
	"testing"
)

// normalizedForms are statements as pg_stat_statements stores them, one
// for each typed-literal form PostgreSQL's grammar has (the typed literal's
// string replaced by a placeholder, the type kept), with the text
// PlanText must give: each literal as a cast, nothing else touched.
var normalizedForms = []struct{ Name, SQL, Plan string }{
	{"timestamptz", "SELECT 1 FROM o WHERE c >= timestamptz $3", "SELECT 1 FROM o WHERE c >= $3::timestamptz"},
	{"date", "SELECT 1 FROM o WHERE d < date $1 AND c > $2", "SELECT 1 FROM o WHERE d < $1::date AND c > $2"},
	{"timestamp with time zone", "SELECT timestamp with time zone $1", "SELECT $1::timestamp with time zone"},
	{"timestamp(3) without time zone", "SELECT timestamp(3) without time zone $1", "SELECT $1::timestamp(3) without time zone"},
	{"timestamp", "SELECT TIMESTAMP $1", "SELECT $1::TIMESTAMP"},
	{"time", "SELECT time $1, time with time zone $2", "SELECT $1::time, $2::time with time zone"},
	{"interval", "SELECT now() - interval $1", "SELECT now() - $1::interval"},
	{"interval field", "SELECT interval $1 day", "SELECT $1::interval day"},
	{"interval fields", "SELECT interval $1 hour to minute, $2", "SELECT $1::interval hour to minute, $2"},
	{"interval second(3)", "SELECT interval $1 second(3)", "SELECT $1::interval second(3)"},
	{"interval(3)", "SELECT interval(3) $1", "SELECT $1::interval(3)"},
	{"numeric", "SELECT numeric $1, numeric(10, 2) $2", "SELECT $1::numeric, $2::numeric(10, 2)"},
	{"bool", "SELECT bool $1, boolean $2", "SELECT $1::bool, $2::boolean"},
	{"integer", "SELECT int $1, bigint $2, smallint $3, real $4, double precision $5", "SELECT $1::int, $2::bigint, $3::smallint, $4::real, $5::double precision"},
	{"character", "SELECT character varying $1, varchar(20) $2, char(3) $3, text $4", "SELECT $1::character varying, $2::varchar(20), $3::char(3), $4::text"},
	{"bit", "SELECT bit varying $1", "SELECT $1::bit varying"},
	{"json", "SELECT json $1, jsonb $2, uuid $3", "SELECT $1::json, $2::jsonb, $3::uuid"},
	{"user type", `SELECT public.mood $1, "Mood" $2`, `SELECT $1::public.mood, $2::"Mood"`},
	{"in a join", "SELECT 1 FROM o JOIN i ON i.o = o.id AND i.at > date $1 WHERE o.c < timestamptz $2", "SELECT 1 FROM o JOIN i ON i.o = o.id AND i.at > $1::date WHERE o.c < $2::timestamptz"},
	{"casts left alone", "SELECT $1::date, CAST($2 AS int), date '2026-01-01'", "SELECT $1::date, CAST($2 AS int), date '2026-01-01'"},
	{"AT TIME ZONE", "SELECT c AT TIME ZONE $1 FROM o WHERE d LIKE $2 ESCAPE $3", "SELECT c AT TIME ZONE $1 FROM o WHERE d LIKE $2 ESCAPE $3"},
	{"IN, ANY, LIMIT, OFFSET, CASE", "SELECT CASE WHEN a = $1 THEN $2 ELSE $3 END FROM o WHERE b IN ($4, $5) AND c = ANY($6) LIMIT $7 OFFSET $8",
		"SELECT CASE WHEN a = $1 THEN $2 ELSE $3 END FROM o WHERE b IN ($4, $5) AND c = ANY($6) LIMIT $7 OFFSET $8"},
	{"comment kept", "SELECT 1 FROM o WHERE c >= timestamptz $1 -- since\n AND d < date /* day */ $2", "SELECT 1 FROM o WHERE c >= $1::timestamptz -- since\n AND d < $2::date /* day */"},
}

// TestPlanText: every typed-literal form a normalizer leaves becomes a
// cast, and nothing else in the text changes.
func TestPlanText(t *testing.T) {
	for _, tc := range normalizedForms {
		t.Run(tc.Name, func(t *testing.T) {
			p, err := ParseOne(tc.SQL)
			if err != nil {
				t.Fatal(err)
			}
			if p.PlanText != tc.Plan {
				t.Errorf("PlanText of %q\n got %q\nwant %q", tc.SQL, p.PlanText, tc.Plan)
			}
			if _, err := ParseOne(p.PlanText); err != nil {
				t.Errorf("PlanText %q does not parse: %v", p.PlanText, err)
			}
		})
	}
}

// TestExplainInner: an EXPLAIN's Inner is the statement it explains, with
// its own text, offset and line, whatever options come first, and its
// PlanText rewritten too.
func TestExplainInner(t *testing.T) {
	for _, tc := range []struct{ sql, inner, plan string }{
		{"EXPLAIN SELECT * FROM t WHERE a = $1", "SELECT * FROM t WHERE a = $1", "SELECT * FROM t WHERE a = $1"},
		{"explain analyze verbose SELECT 1", "SELECT 1", "SELECT 1"},
		{"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)\n  SELECT * FROM t WHERE c > date $1", "SELECT * FROM t WHERE c > date $1", "SELECT * FROM t WHERE c > $1::date"},
		{"EXPLAIN (COSTS off, SETTINGS true) DELETE FROM t WHERE id = 4", "DELETE FROM t WHERE id = 4", "DELETE FROM t WHERE id = 4"},
	} {
		p, err := ParseOne("-- a comment\n" + tc.sql)
		if err != nil {
			t.Fatal(err)
		}
		if p.Inner == nil {
			t.Fatalf("%q: no Inner", tc.sql)
		}
		if p.Inner.Text != tc.inner || p.Inner.PlanText != tc.plan {
			t.Errorf("%q: Inner %q (plan %q), want %q (plan %q)", tc.sql, p.Inner.Text, p.Inner.PlanText, tc.inner, tc.plan)
		}
		whole := "-- a comment\n" + tc.sql
		if got := whole[p.Inner.Start:]; got != tc.inner {
			t.Errorf("%q: Inner.Start %d points at %q", tc.sql, p.Inner.Start, got)
		}
		if want := 2 + countNL(tc.sql[:len(tc.sql)-len(tc.inner)]); p.Inner.Line != want {
			t.Errorf("%q: Inner.Line %d, want %d", tc.sql, p.Inner.Line, want)
		}
	}
}

func countNL(s string) int {
	n := 0
	for _, c := range s {
		if c == '\n' {
			n++
		}
	}
	return n
}

// TestCastParams: the placeholders given a type are cast, those already
// cast and those not given one are left, and nothing else changes.
func TestCastParams(t *testing.T) {
	got, err := CastParams("SELECT $1 * $2, $3::date, '$1', $10 -- $2\n FROM t LIMIT $4", map[int]string{1: "bigint", 2: "numeric", 3: "text", 4: "bigint"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "SELECT $1::bigint * $2::numeric, $3::date, '$1', $10 -- $2\n FROM t LIMIT $4::bigint"; got != want {
		t.Errorf("CastParams\n got %q\nwant %q", got, want)
	}
}

// TestTypeDefault: every built-in type it knows gets a literal its type
// accepts (checked by the server where it runs: analyze's and indexes'
// tests bind them), and a type it does not know gets none.
func TestTypeDefault(t *testing.T) {
	for oid, want := range map[uint32]string{23: "1", 16: "true", 25: "a", 1184: "now", 1186: "1 day", 3802: "{}", 3734: "english"} {
		if got, ok := TypeDefault(oid); !ok || got != want {
			t.Errorf("TypeDefault(%d) = %q, %v; want %q", oid, got, ok, want)
		}
	}
	if got, ok := TypeDefault(600); ok { // point
		t.Errorf("TypeDefault(600) = %q: want none for a type it does not know", got)
	}
}
