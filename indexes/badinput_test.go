package indexes_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/indexes"
	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// smallWorkload has one statement the advisor can serve on items.
const smallWorkload = `SELECT id, created_at FROM items WHERE account_id = $1 AND state = 'open' ORDER BY created_at DESC LIMIT 10;`

func mustParse(t *testing.T, sql string) *indexes.Workload {
	t.Helper()
	w, err := indexes.ParseSQL("test.sql", sql)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// indexCount counts the real indexes in the database's public schema.
func indexCount(t *testing.T, conn *pgx.Conn) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEmptyWorkload(t *testing.T) {
	conn, _ := newDB(t, "small.sql")
	_, err := indexes.Propose(context.Background(), conn, mustParse(t, "-- nothing here\n"), defaultOptions())
	if !errors.Is(err, indexes.ErrEmptyWorkload) || !strings.Contains(err.Error(), "holds no statements") {
		t.Fatalf("err = %v, want ErrEmptyWorkload", err)
	}
	_, err = indexes.Propose(context.Background(), conn, mustParse(t, "INSERT INTO items VALUES (1);\nSELECT FROM;"), defaultOptions())
	if !errors.Is(err, indexes.ErrEmptyWorkload) || !strings.Contains(err.Error(), "1 does not parse") {
		t.Fatalf("err = %v, want ErrEmptyWorkload naming what was skipped", err)
	}
}

func TestMissingTable(t *testing.T) {
	conn, _ := newDB(t, "small.sql")
	ctx := context.Background()
	w := mustParse(t, "SELECT * FROM nowhere WHERE a = 1;\nSELECT id FROM items WHERE no_such_column = 1;\n"+smallWorkload)
	res, err := indexes.Propose(ctx, conn, w, defaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if res.Workload.Statements != 1 || len(res.Skipped) != 2 {
		t.Fatalf("costed %d, skipped %+v", res.Workload.Statements, res.Skipped)
	}
	if got := res.Skipped[0]; got.Origin != "test.sql:1" || got.Reason != "table nowhere does not exist" {
		t.Errorf("skipped[0] = %+v", got)
	}
	if got := res.Skipped[1]; got.Origin != "test.sql:2" || !strings.Contains(got.Reason, `column "no_such_column" does not exist`) {
		t.Errorf("skipped[1] = %+v", got)
	}
	if len(res.Proposals) == 0 {
		t.Error("the good statement got no proposal")
	}
	_, err = indexes.Propose(ctx, conn, mustParse(t, "SELECT * FROM nowhere WHERE a = 1;"), defaultOptions())
	if !errors.Is(err, indexes.ErrEmptyWorkload) || !strings.Contains(err.Error(), "table nowhere does not exist") {
		t.Errorf("err = %v, want ErrEmptyWorkload saying the table does not exist", err)
	}
}

func TestNoHypoPG(t *testing.T) {
	conn, _ := newDB(t, "small.sql")
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "DROP EXTENSION IF EXISTS hypopg"); err != nil {
		t.Fatal(err)
	}
	before := indexCount(t, conn)
	strict := defaultOptions()
	strict.AllowBuild = false
	_, err := indexes.Propose(ctx, conn, mustParse(t, smallWorkload), strict)
	if !errors.Is(err, indexes.ErrNoHypoPG) || !strings.Contains(err.Error(), "CREATE EXTENSION hypopg") {
		t.Fatalf("err = %v, want ErrNoHypoPG saying what to do", err)
	}
	if !testdb.Available("hypopg") {
		// Not installed at all (the npm builds): the message names the
		// package of this server's major version.
		var major int
		if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int / 10000").Scan(&major); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("apt-get install postgresql-%d-hypopg", major); !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v; want it to say %q", err, want)
		}
	}

	opts := defaultOptions()
	opts.AllowBuild = true
	res, err := indexes.Propose(ctx, conn, mustParse(t, smallWorkload), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Costing != indexes.CostingBuild || len(res.Proposals) == 0 {
		t.Fatalf("costing %s, %d proposals", res.Costing, len(res.Proposals))
	}
	if res.Proposals[0].SizeBytes <= 0 {
		t.Errorf("a built index's size is %d", res.Proposals[0].SizeBytes)
	}
	if after := indexCount(t, conn); after != before {
		t.Errorf("%d indexes after costing with real ones, %d before: something was left behind", after, before)
	}
	if st := conn.PgConn().TxStatus(); st != 'I' {
		t.Errorf("the session is left in transaction status %c, want idle", st)
	}
}

// readOnlyConn connects to dsn with every transaction read-only, as on a
// replica.
func readOnlyConn(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["default_transaction_read_only"] = "on"
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestReadOnlySession(t *testing.T) {
	admin, dsn := newDB(t, "small.sql")
	ctx := context.Background()
	ro := readOnlyConn(t, dsn)
	t.Run("with HypoPG", func(t *testing.T) {
		testdb.NeedExtension(t, "hypopg")
		w := mustParse(t, smallWorkload+"\nUPDATE items SET body = $1 WHERE account_id = $2 AND created_at < $3;")
		res, err := indexes.Propose(ctx, ro, w, defaultOptions())
		if err != nil {
			t.Fatalf("costing on a read-only session: %v", err)
		}
		if res.Workload.Statements != 2 || len(res.Proposals) == 0 {
			t.Fatalf("costed %d statements, %d proposals, skipped %+v", res.Workload.Statements, len(res.Proposals), res.Skipped)
		}
	})
	t.Run("without HypoPG", func(t *testing.T) {
		if _, err := admin.Exec(ctx, "DROP EXTENSION IF EXISTS hypopg"); err != nil {
			t.Fatal(err)
		}
		opts := defaultOptions()
		opts.AllowBuild = true
		_, err := indexes.Propose(ctx, ro, mustParse(t, smallWorkload), opts)
		if !errors.Is(err, indexes.ErrReadOnly) {
			t.Fatalf("err = %v, want ErrReadOnly", err)
		}
	})
}

func TestQuotedNames(t *testing.T) {
	conn, _ := newDB(t, "small.sql")
	ctx := context.Background()
	w := mustParse(t, `SELECT "OrderID", "Total" FROM "Order Items" WHERE "CustomerID" = $1 ORDER BY "createdAt" DESC LIMIT 10;`)
	res, err := indexes.Propose(ctx, conn, w, defaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Proposals) == 0 {
		t.Fatal("no proposal")
	}
	p := res.Proposals[0]
	if p.Table != `"Order Items"` || p.Columns[0] != `"CustomerID"` || p.Columns[1] != `"createdAt" DESC` {
		t.Errorf("proposal table %s columns %q", p.Table, p.Columns)
	}
	if !strings.Contains(p.Definition, `ON "public"."Order Items" ("CustomerID", "createdAt" DESC)`) {
		t.Errorf("definition %s", p.Definition)
	}
	// The definition runs as it is.
	if _, err := conn.Exec(ctx, p.Definition); err != nil {
		t.Fatalf("%s: %v", p.Definition, err)
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE tablename = 'Order Items' AND indexname = $1`, p.Name).Scan(&n); err != nil || n != 1 {
		t.Errorf("index %s not found after running its definition (%v)", p.Name, err)
	}
	// indexes plan --from reads the JSON.
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	back, err := indexes.ReadProposals(bytes.NewReader(b), "proposals.json")
	if err != nil {
		t.Fatal(err)
	}
	specs := back.Defs()
	if len(specs) != len(res.Proposals) || specs[0].Table != "Order Items" || specs[0].Schema != "public" || specs[0].Name != p.Name ||
		specs[0].Comment != p.Reason || specs[0].CreateSQL(true, false) != p.Definition {
		t.Errorf("plan reads %+v", specs)
	}
}

func TestCleanupWhenCancelled(t *testing.T) {
	conn, _ := newDB(t, "small.sql")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := defaultOptions()
	opts.Progress = func(p indexes.Progress) {
		if strings.HasPrefix(p.Phase, "cost candidates") && p.Done > 0 {
			cancel()
		}
	}
	_, err := indexes.Propose(ctx, conn, mustParse(t, smallWorkload+"\nSELECT id FROM items WHERE state = 'new' AND created_at > $1;"), opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM pg_class WHERE relkind = 'i' AND relname LIKE 'hishamos\\_perf\\_whatif\\_%'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d built what-if indexes left after a cancelled run", n)
	}
	if !testdb.Available("hypopg") {
		return
	}
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM hypopg_list_indexes").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d hypothetical indexes left after a cancelled run", n)
	}
}

func TestWriteOverheadEndsHOT(t *testing.T) {
	conn, _ := newDB(t, "small.sql")
	w := mustParse(t, smallWorkload+"\nUPDATE items SET state = $1 WHERE id = $2;")
	res, err := indexes.Propose(context.Background(), conn, w, defaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range res.Proposals {
		hasState := false
		for _, c := range p.Columns {
			hasState = hasState || strings.HasPrefix(c, "state")
		}
		if p.Where != "" && strings.Contains(p.Where, "state") {
			hasState = true
		}
		if hasState != p.WriteOverhead.EndsHOT {
			t.Errorf("%s: ends HOT %v, but indexes state: %v", p.Definition, p.WriteOverhead.EndsHOT, hasState)
		}
		if hasState {
			found = true
			if !strings.Contains(p.Reason, "ending HOT updates") || len(p.WriteOverhead.UpdatedColumns) != 1 {
				t.Errorf("%s: reason %q, updated columns %v", p.Name, p.Reason, p.WriteOverhead.UpdatedColumns)
			}
		}
		if !p.WriteOverhead.Known {
			t.Errorf("%s: no write counters for the table", p.Name)
		}
	}
	if !found {
		t.Errorf("no proposal indexes the updated column state: %+v", res.Proposals)
	}
}

// TestCandidateTheServerRefuses has a candidate on a type without a btree
// operator class (box): HypoPG refuses it, the others go on.
func TestCandidateTheServerRefuses(t *testing.T) {
	conn, _ := newDB(t)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, `CREATE TABLE shapes (id bigint PRIMARY KEY, n int NOT NULL, b box NOT NULL);
INSERT INTO shapes SELECT i, i % 1000, box(point(i % 7, i % 7), point(0, 0)) FROM generate_series(1, 20000) i;
ANALYZE shapes;`); err != nil {
		t.Fatal(err)
	}
	res, err := indexes.Propose(ctx, conn, mustParse(t, "SELECT id FROM shapes WHERE b = box '((1,1),(0,0))' AND n = $1;"), defaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	refused := false
	for _, r := range res.Rejected {
		if strings.Contains(r.Reason, "the server cannot make it") && strings.Contains(r.Reason, "operator class") {
			refused = true
		}
	}
	if !refused {
		t.Errorf("no candidate on the box column was refused: %+v", res.Rejected)
	}
	if len(res.Proposals) != 1 || res.Proposals[0].Columns[0] != "n" {
		t.Errorf("proposals %+v, want one on n", res.Proposals)
	}
}

// TestStatStatementsSkipsWhatTheRoleCannotRead: pg_stat_statements holds
// every role's statements; a role that cannot read one of their tables gets
// the rest costed, and the others listed as skipped with the GRANT. With no
// readable statement at all, the privilege error is the error.
func TestStatStatementsSkipsWhatTheRoleCannotRead(t *testing.T) {
	ctx := context.Background()
	conn, _ := newDB(t, "small.sql")
	role := fmt.Sprintf("partial_%d", time.Now().UnixNano()%1_000_000_000)
	for _, s := range []string{
		"CREATE ROLE " + role,
		"GRANT pg_read_all_stats TO " + role,
		"GRANT SELECT ON items TO " + role,
	} {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, s := range []string{"RESET ROLE", "DROP OWNED BY " + role, "DROP ROLE " + role} {
			if _, err := conn.Exec(context.Background(), s); err != nil {
				t.Errorf("%s: %v", s, err)
			}
		}
	})
	for i := 1; i <= 20; i++ {
		for _, q := range []string{
			"SELECT id FROM items WHERE account_id = $1 AND state = 'open' ORDER BY created_at DESC LIMIT 10",
			`SELECT "OrderID" FROM "Order Items" WHERE "CustomerID" = $1 AND "Status" = 'paid'`,
		} {
			rows, err := conn.Query(ctx, q, i)
			if err != nil {
				t.Fatal(err)
			}
			rows.Close()
		}
	}
	if _, err := conn.Exec(ctx, "SET ROLE "+role); err != nil {
		t.Fatal(err)
	}
	w, err := indexes.FromStatStatements(ctx, conn, 50)
	if err != nil {
		t.Fatal(err)
	}
	res, err := indexes.Propose(ctx, conn, w, defaultOptions())
	if err != nil {
		t.Fatalf("propose stopped at the unreadable table: %v", err)
	}
	want := `GRANT SELECT ON "Order Items" TO ` + role
	var skipped bool
	for _, s := range res.Skipped {
		if strings.Contains(s.Query, "Order Items") && strings.Contains(s.Reason, want) {
			skipped = true
		}
	}
	if !skipped || res.Workload.Statements == 0 {
		t.Errorf("costed %d, skipped %+v; want items costed and \"Order Items\" skipped with %q", res.Workload.Statements, res.Skipped, want)
	}

	// Without SELECT on items either, nothing of the application's can be
	// costed: the error names the GRANT and is a privilege error.
	if _, err := conn.Exec(ctx, "RESET ROLE; REVOKE SELECT ON items FROM "+role+"; SET ROLE "+role); err != nil {
		t.Fatal(err)
	}
	var app []indexes.Statement
	for _, st := range w.Statements {
		if strings.Contains(st.Query, "items") || strings.Contains(st.Query, "Order Items") {
			app = append(app, st)
		}
	}
	w.Statements = app
	_, err = indexes.Propose(ctx, conn, w, defaultOptions())
	if !errors.Is(err, pg.ErrPrivilege) || !strings.Contains(fmt.Sprint(err), "GRANT SELECT ON") {
		t.Errorf("propose with no readable table: %v, want a privilege error with its GRANT", err)
	}
}
