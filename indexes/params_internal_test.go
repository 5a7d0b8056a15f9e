package indexes

import (
	"context"
	"testing"

	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// TestSampledParametersAreNeverNull plans statements whose $n are compared
// with columns, LIMIT, a BETWEEN and nothing at all, and checks every value
// drawn is a real one.
func TestSampledParametersAreNeverNull(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	conn := testdb.Conn(t, dsn)
	if _, err := conn.Exec(ctx, `CREATE TABLE p (id bigint PRIMARY KEY, k text NOT NULL, n int NOT NULL, at timestamptz NOT NULL, unstats int);
INSERT INTO p SELECT i, 'k' || (i % 7), i % 100, timestamptz '2024-01-01' + i * interval '1 hour', i FROM generate_series(1, 5000) i;
ANALYZE p (id, k, n, at);`); err != nil {
		t.Fatal(err)
	}
	w, err := ParseSQL("p.sql", `SELECT id FROM p WHERE k = $1 AND n > $2 ORDER BY at LIMIT $3;
SELECT count(*) FROM p WHERE at BETWEEN $1 AND $2 AND n = ANY($3);
SELECT id FROM p WHERE unstats = $1 AND $2::int > 0;`)
	if err != nil {
		t.Fatal(err)
	}
	res := &Result{}
	s, err := openSession(ctx, conn, w, Options{Seed: 7, AllowBuild: !testdb.Available("hypopg")}, res)
	defer s.close()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.stmts) != 3 {
		t.Fatalf("%d statements costed, skipped %+v", len(s.stmts), res.Skipped)
	}
	for _, c := range s.stmts {
		if len(c.args) != c.st.q.maxParam {
			t.Errorf("%s: %d args for %d parameters", c.st.Origin, len(c.args), c.st.q.maxParam)
		}
		for i, a := range c.args {
			if a == nil {
				t.Errorf("%s: $%d is NULL", c.st.Origin, i+1)
			}
		}
		t.Logf("%s: %v (cost %.2f)", c.st.Origin, c.args, c.before)
	}
	if got := s.stmts[0].args[2]; got != defaultLimit {
		t.Errorf("LIMIT $3 = %v, want %s", got, defaultLimit)
	}
	// BETWEEN bounds come out in order, a tenth of the rows apart.
	var lo, hi string
	lo, hi = s.stmts[1].args[0].(string), s.stmts[1].args[1].(string)
	var ordered bool
	if err := conn.QueryRow(ctx, "SELECT $1::timestamptz < $2::timestamptz", lo, hi).Scan(&ordered); err != nil || !ordered {
		t.Errorf("BETWEEN %s AND %s is empty (%v)", lo, hi, err)
	}
	// Two runs with the same seed draw the same values.
	res2 := &Result{}
	s2, err := openSession(ctx, conn, w, Options{Seed: 7, AllowBuild: !testdb.Available("hypopg")}, res2)
	defer s2.close()
	if err != nil {
		t.Fatal(err)
	}
	for i := range s.stmts {
		for j := range s.stmts[i].args {
			if s.stmts[i].args[j] != s2.stmts[i].args[j] {
				t.Errorf("statement %d $%d: %v then %v", i+1, j+1, s.stmts[i].args[j], s2.stmts[i].args[j])
			}
		}
	}
}
