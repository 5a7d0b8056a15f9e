package profiles_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/internal/testdb"
	"github.com/hishamos/hishamos-perf/profiles"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// hishamosDB returns a connection to a new database holding the HishamOS
// schema and the small fixture in testdata/fixture.sql.
func hishamosDB(t *testing.T) *pgx.Conn {
	t.Helper()
	conn := testdb.Conn(t, testdb.NewDatabase(t))
	for _, file := range []string{"../testdata/hishamos/schema.sql", "testdata/fixture.sql"} {
		sql, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(context.Background(), string(sql)); err != nil {
			t.Fatalf("load %s: %v", file, err)
		}
	}
	return conn
}

// TestHishamOSStatementsRun prepares every statement of the built-in
// profile against the real schema and runs it, read-only, with arguments
// drawn from the data: the SQL, the placeholder count and the types the
// generators produce all have to agree with PostgreSQL.
func TestHishamOSStatementsRun(t *testing.T) {
	ctx := context.Background()
	conn := hishamosDB(t)
	p, err := profiles.Load("hishamos")
	if err != nil {
		t.Fatal(err)
	}
	bound, err := profiles.Bind(ctx, conn, p)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)

	rng := rand.New(rand.NewPCG(1, 2))
	const draws = 20
	for _, s := range p.Statements {
		t.Run(s.Name, func(t *testing.T) {
			sd, err := tx.Prepare(ctx, s.Name, s.SQL)
			if err != nil {
				t.Fatalf("prepare: %v", err)
			}
			if len(sd.ParamOIDs) != len(s.Params) {
				t.Fatalf("server sees %d parameters, profile has %d generators", len(sd.ParamOIDs), len(s.Params))
			}
			rows := 0
			for range draws {
				args := bound.Args(s.Name, rng)
				n, err := countRows(ctx, tx, s.Name, args)
				if err != nil {
					t.Fatalf("run with %v: %v", args, err)
				}
				rows += n
			}
			// The fixture has data for every statement: a statement that
			// never returns a row draws from the wrong column.
			if rows == 0 {
				t.Errorf("no rows in %d runs", draws)
			}
		})
	}
}

func countRows(ctx context.Context, tx pgx.Tx, sql string, args []any) (int, error) {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	return n, rows.Err()
}

const skewProfile = `name: skews
statements:
  - name: frequency
    sql: SELECT $1::int
    params: [{kind: sample, from: agents_agentexecution.user_id}]
  - name: uniform
    sql: SELECT $1::int
    params: [{kind: sample, from: agents_agentexecution.user_id, skew: uniform}]
  - name: zipf
    sql: SELECT $1::int
    params: [{kind: sample, from: agents_agentexecution.user_id, skew: zipf}]
  - name: since
    sql: SELECT $1::timestamptz
    params: [{kind: recent, from: agents_agentexecution.created_at, window: 7d}]
`

// TestBindSample checks that sampled values come from the column and follow
// the skew: user 1 owns half of the fixture's agent executions, the ten
// even-numbered users the other half.
func TestBindSample(t *testing.T) {
	ctx := context.Background()
	conn := hishamosDB(t)
	p, err := profiles.Parse("skews.yaml", []byte(skewProfile))
	if err != nil {
		t.Fatal(err)
	}
	bound, err := profiles.Bind(ctx, conn, p)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := conn.Query(ctx, "SELECT DISTINCT user_id FROM agents_agentexecution")
	users, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}

	const n = 4000
	share := map[string]float64{}
	for _, name := range []string{"frequency", "uniform", "zipf"} {
		rng := rand.New(rand.NewPCG(9, 9))
		hot := 0
		for range n {
			args := bound.Args(name, rng)
			v, ok := args[0].(int32)
			if !ok || !slices.Contains(users, v) {
				t.Fatalf("%s drew %#v, not a user_id of the column", name, args[0])
			}
			if v == 1 {
				hot++
			}
		}
		share[name] = float64(hot) / n
	}
	if len(users) != 11 {
		t.Fatalf("fixture has %d users with executions, want 11", len(users))
	}
	// Expected shares of user 1: frequency 150/300 = 0.5; uniform 1/11;
	// zipf, user 1 ranking first of 11: 1/H(11) ≈ 0.331.
	for name, want := range map[string]float64{"frequency": 0.5, "uniform": 1.0 / 11, "zipf": 0.331} {
		if d := share[name] - want; d > 0.03 || d < -0.03 {
			t.Errorf("%s: user 1 drawn %.3f of the time, want about %.3f", name, share[name], want)
		}
	}

	var latest time.Time
	if err := conn.QueryRow(ctx, "SELECT max(created_at) FROM agents_agentexecution").Scan(&latest); err != nil {
		t.Fatal(err)
	}
	got := bound.Args("since", rand.New(rand.NewPCG(1, 1)))[0].(time.Time)
	if want := latest.Add(-7 * 24 * time.Hour); !got.Equal(want) {
		t.Errorf("recent = %v, want max(created_at) - 7d = %v", got, want)
	}
}

// TestBindDeterministic binds twice and checks that a seed gives the same
// arguments: the values Bind reads come in a fixed order.
func TestBindDeterministic(t *testing.T) {
	ctx := context.Background()
	conn := hishamosDB(t)
	p, err := profiles.Load("hishamos")
	if err != nil {
		t.Fatal(err)
	}
	draw := func() [][]any {
		bound, err := profiles.Bind(ctx, conn, p)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(42, 42))
		var out [][]any
		for range 10 {
			for _, s := range p.Statements {
				out = append(out, bound.Args(s.Name, rng))
			}
		}
		return out
	}
	first := draw()
	// Rows written after the first bind in another order must not change the
	// draws: ties in frequency are broken by value, not by physical order.
	if _, err := conn.Exec(ctx, "CLUSTER agents_agentexecution USING agents_agentexecution_user_id_6a2d4e8f"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, draw()); diff != "" {
		t.Errorf("Args differ between two binds (-first +second):\n%s", diff)
	}
}

func TestBindErrors(t *testing.T) {
	ctx := context.Background()
	conn := hishamosDB(t)
	if _, err := conn.Exec(ctx, `CREATE TABLE "Odd Table" ("Col" text); INSERT INTO "Odd Table" VALUES ('x')`); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		param string
		want  string // "" for success
	}{
		{"quoted identifiers", `{kind: sample, from: Odd Table.Col}`, ""},
		{"schema-qualified", `{kind: sample, from: public.agents_agent.status}`, ""},
		{"missing table", `{kind: sample, from: nosuch.col}`, `relation "nosuch" does not exist`},
		{"injection stays an identifier", `{kind: sample, from: "agents_agent; DROP TABLE auth_user.x"}`, `relation "agents_agent; DROP TABLE auth_user" does not exist`},
		{"only nulls", `{kind: sample, from: agents_agent.last_invoked_at}`, "the column has no non-null values to draw from"},
		{"recent on text", `{kind: recent, from: agents_agent.status, window: 1d}`, "is it a timestamp column?"},
		{"recent on only nulls", `{kind: recent, from: agents_agent.last_invoked_at, window: 1d}`, "the column has no non-null values"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml := fmt.Sprintf("name: e\nstatements:\n  - name: s\n    sql: SELECT $1\n    params: [%s]\n", tt.param)
			p, err := profiles.Parse("e.yaml", []byte(yaml))
			if err != nil {
				t.Fatal(err)
			}
			_, err = profiles.Bind(ctx, conn, p)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Bind: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "profiles: bind e: statement s $1: ") {
				t.Fatalf("Bind error = %v, want one about statement s $1 containing %q", err, tt.want)
			}
		})
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM auth_user").Scan(&n); err != nil || n != 20 {
		t.Errorf("auth_user has %d rows (%v) after the injection attempt, want 20", n, err)
	}
}

// TestBindSendsOnlyTaggedStatements: the samples Bind reads from the
// application's tables are the tool's own statements, tagged, so that
// analyze after a bench run does not rank them (nor find an N+1 in them)
// among the application's.
func TestBindSendsOnlyTaggedStatements(t *testing.T) {
	ctx := context.Background()
	conn := hishamosDB(t)
	if _, err := conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_stat_statements_reset()"); err != nil {
		t.Fatal(err)
	}
	p, err := profiles.Parse("skews.yaml", []byte(skewProfile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := profiles.Bind(ctx, conn, p); err != nil {
		t.Fatal(err)
	}
	var tagged, untagged int
	if err := conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE query LIKE '%/* hishamos-perf */%'),
  count(*) FILTER (WHERE query NOT LIKE '%/* hishamos-perf */%')
FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND query LIKE '%agents_agentexecution%'`).Scan(&tagged, &untagged); err != nil {
		t.Fatal(err)
	}
	if tagged == 0 || untagged != 0 {
		t.Errorf("Bind's reads of agents_agentexecution in pg_stat_statements: %d tagged, %d untagged; want some, all tagged", tagged, untagged)
	}
}
