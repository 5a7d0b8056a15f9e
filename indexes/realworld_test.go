package indexes_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/indexes"
	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// shopSchema is a small shop, skewed as a real one: 1% of orders pending,
// 80% delivered; customers' emails in mixed case; products by category.
const shopSchema = `
CREATE TABLE customers (id bigint PRIMARY KEY, email varchar(254) NOT NULL UNIQUE, name text NOT NULL);
INSERT INTO customers SELECT i, 'User' || i || '@Shop.test', 'name ' || i FROM generate_series(1, 20000) i;
CREATE TABLE products (id bigint PRIMARY KEY, category_id int NOT NULL, name text NOT NULL, price numeric(10,2) NOT NULL);
INSERT INTO products SELECT i, 1 + i % 100, 'product ' || i, (i * 7 % 1000) / 10.0 FROM generate_series(1, 5000) i;
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, status text NOT NULL, total numeric(10,2) NOT NULL,
	created_at timestamptz NOT NULL);
INSERT INTO orders SELECT i, 1 + (i * 7919) % 20000,
	CASE WHEN i % 100 = 0 THEN 'pending' WHEN i % 10 = 1 THEN 'shipped' WHEN i % 20 = 2 THEN 'cancelled' ELSE 'delivered' END,
	(i % 500) + 0.5, timestamptz '2025-01-01' + i * interval '5 minutes' FROM generate_series(1, 100000) i;
CREATE TABLE order_items (id bigint PRIMARY KEY, order_id bigint NOT NULL, product_id bigint NOT NULL, quantity int NOT NULL);
INSERT INTO order_items SELECT i, 1 + i / 3, 1 + (i * 31) % 5000, 1 + i % 3 FROM generate_series(1, 300000) i;
ANALYZE;
`

// shopDB is a database holding shopSchema.
func shopDB(t *testing.T) (*pgx.Conn, string) {
	t.Helper()
	dsn := testdb.NewDatabase(t)
	conn := testdb.Conn(t, dsn)
	if _, err := conn.Exec(context.Background(), shopSchema); err != nil {
		t.Fatal(err)
	}
	return conn, dsn
}

// proposalOn returns the proposal on table whose columns are cols, nil
// when there is none.
func proposalOn(res *indexes.Result, table string, cols ...string) *indexes.Proposal {
	for i, p := range res.Proposals {
		if p.Table == table && strings.Join(p.Columns, ", ") == strings.Join(cols, ", ") {
			return &res.Proposals[i]
		}
	}
	return nil
}

// describe lists the proposals, the skipped statements and the rejected
// candidates for a failure message.
func describe(res *indexes.Result) string {
	var b strings.Builder
	for _, p := range res.Proposals {
		b.WriteString("\n  proposed " + p.Definition)
	}
	for _, s := range res.Skipped {
		b.WriteString("\n  skipped " + s.Text + ": " + s.Reason)
	}
	for _, r := range res.Rejected {
		b.WriteString("\n  rejected " + r.Index + ": " + r.Reason)
	}
	return b.String()
}

// runTopLevel sends each statement as a simple-protocol query, as psql
// does, so that pg_stat_statements normalizes its literals.
func runTopLevel(t *testing.T, conn *pgx.Conn, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := conn.Exec(context.Background(), s, pgx.QueryExecModeSimpleProtocol); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// TestTypedLiteralsFromStatStatementsPlan: statements with typed literals
// (timestamptz, date, interval), sent as an application sends them, are
// stored by pg_stat_statements as `timestamptz $1`, which the server's
// grammar refuses; the advisor plans every one of them (none skipped) and
// proposes for the date range they filter on.
func TestTypedLiteralsFromStatStatementsPlan(t *testing.T) {
	ctx := context.Background()
	conn, _ := shopDB(t)
	runTopLevel(t, conn, "SELECT pg_stat_statements_reset()")
	for day := 1; day <= 5; day++ {
		d := "2025-03-0" + string(rune('0'+day))
		runTopLevel(t, conn,
			"SELECT id, total FROM orders WHERE created_at >= timestamptz '"+d+"' AND created_at < timestamptz '"+d+"' + interval '1 day'",
			"SELECT count(*) FROM orders WHERE created_at::date = date '"+d+"'",
			"SELECT id FROM orders WHERE created_at > timestamp with time zone '"+d+" 10:00' ORDER BY created_at LIMIT 10",
		)
	}
	w, err := indexes.FromStatStatements(ctx, conn, 0)
	if err != nil {
		t.Fatal(err)
	}
	normalized := 0
	for _, s := range w.Statements {
		if strings.Contains(s.Query, "timestamptz $") || strings.Contains(s.Query, "date $") || strings.Contains(s.Query, "time zone $") {
			normalized++
		}
	}
	if normalized < 3 {
		t.Fatalf("%d statements of the workload hold normalized typed literals, want 3: %+v", normalized, w.Statements)
	}
	res, err := indexes.Propose(ctx, conn, w, defaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Skipped {
		if strings.Contains(s.Query, "FROM orders") {
			t.Errorf("skipped %s: %s", s.Text, s.Reason)
		}
	}
	if p := proposalOn(res, "orders", "created_at"); p == nil {
		t.Errorf("no orders (created_at) for the day ranges:%s", describe(res))
	}
}

// TestExplainWrappedStatementsCountAsTheirStatement: an EXPLAIN, with or
// without options, is the statement it explains: the same statement
// written plainly and explained is one statement of the workload, weighed
// as both, with the plain text; an EXPLAIN alone is costed as its inner
// statement, from a file and from pg_stat_statements (where developers'
// EXPLAINs land beside the application's statements).
func TestExplainWrappedStatementsCountAsTheirStatement(t *testing.T) {
	w, err := indexes.ParseSQL("w.sql", `
SELECT id, total FROM orders WHERE customer_id = 42 ORDER BY created_at DESC LIMIT 20;
EXPLAIN (ANALYZE, BUFFERS) SELECT id, total FROM orders WHERE customer_id = 43 ORDER BY created_at DESC LIMIT 20;
EXPLAIN SELECT oi.product_id FROM order_items oi WHERE oi.order_id = 7;`)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Statements) != 2 || len(w.Skipped) != 0 {
		t.Fatalf("%d statements (%d skipped), want 2: %+v", len(w.Statements), len(w.Skipped), w.Statements)
	}
	if s := w.Statements[0]; s.Weight != 2 || s.Explained || strings.HasPrefix(s.Query, "EXPLAIN") {
		t.Errorf("the plain and the explained statement: weight %v, explained %v, query %q; want one of weight 2 with the plain text", s.Weight, s.Explained, s.Query)
	}
	if s := w.Statements[1]; !s.Explained || s.Query != "SELECT oi.product_id FROM order_items oi WHERE oi.order_id = 7" {
		t.Errorf("the explained statement: explained %v, query %q", s.Explained, s.Query)
	}

	ctx := context.Background()
	conn, _ := shopDB(t)
	runTopLevel(t, conn, "SELECT pg_stat_statements_reset()",
		"EXPLAIN SELECT oi.product_id FROM order_items oi WHERE oi.order_id = 7",
		"EXPLAIN (COSTS off) SELECT oi.product_id FROM order_items oi WHERE oi.order_id = 8")
	w, err = indexes.FromStatStatements(ctx, conn, 0)
	if err != nil {
		t.Fatal(err)
	}
	res, err := indexes.Propose(ctx, conn, w, defaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Skipped {
		if strings.Contains(s.Query, "order_items") {
			t.Errorf("skipped %s: %s", s.Text, s.Reason)
		}
	}
	if proposalOn(res, "order_items", "order_id") == nil {
		t.Errorf("no order_items (order_id) for the explained lookups:%s", describe(res))
	}
}

// TestSystemCatalogsAreNeverIndexed: administration queries in the
// workload (pg_class, pg_constraint, information_schema) get no
// candidate and no drop: they are skipped with why, and a user table
// beside them is served as ever.
func TestSystemCatalogsAreNeverIndexed(t *testing.T) {
	ctx := context.Background()
	conn, _ := shopDB(t)
	w, err := indexes.ParseSQL("admin.sql", `
SELECT relname FROM pg_class WHERE relname = 'orders' AND relkind = 'r';
SELECT conname FROM pg_constraint WHERE conrelid = 'orders'::regclass ORDER BY conname;
SELECT c.relname, n.nspname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relpages > 100;
SELECT table_name FROM information_schema.tables WHERE table_schema = 'public';
SELECT id FROM orders WHERE customer_id = 7 ORDER BY created_at DESC LIMIT 20;`)
	if err != nil {
		t.Fatal(err)
	}
	res, err := indexes.Propose(ctx, conn, w, defaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	system := func(s string) bool {
		return strings.Contains(s, "pg_catalog") || strings.Contains(s, "pg_class") || strings.Contains(s, "pg_constraint") ||
			strings.Contains(s, "pg_namespace") || strings.Contains(s, "information_schema")
	}
	for _, p := range res.Proposals {
		if system(p.Table) || system(p.Definition) {
			t.Errorf("proposed on a system catalog: %s", p.Definition)
		}
	}
	for _, r := range res.Rejected {
		if system(r.Table) {
			t.Errorf("candidate on a system catalog: %s", r.Index)
		}
	}
	for _, d := range res.Drops {
		if system(d.Table) || system(d.Statement) {
			t.Errorf("drop on a system catalog: %s", d.Statement)
		}
	}
	skipped := 0
	for _, s := range res.Skipped {
		if strings.Contains(s.Reason, "reads only system objects") {
			skipped++
		}
	}
	if skipped < 3 {
		t.Errorf("%d statements skipped as reading only system objects, want the 3 on pg_catalog:%s", skipped, describe(res))
	}
	if proposalOn(res, "orders", "customer_id") == nil && proposalOn(res, "orders", "customer_id", "created_at DESC") == nil {
		t.Errorf("the user table's statement lost its index:%s", describe(res))
	}
}

// TestDjangoCaseInsensitiveLookups: Django's iexact is
// UPPER("t"."email"::text) = UPPER(...); the advisor proposes the index on
// exactly that expression (cast included), costed with the expression's
// real selectivity (one row, where a what-if index without statistics
// looks like a hundred), and the planner uses it once built;
// icontains (LIKE '%x%') gets no B-tree index.
func TestDjangoCaseInsensitiveLookups(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	conn := testdb.Conn(t, dsn)
	if _, err := conn.Exec(ctx, `
CREATE TABLE auth_user (id int PRIMARY KEY, username varchar(150) NOT NULL UNIQUE, email varchar(254) NOT NULL,
	first_name varchar(150) NOT NULL, password varchar(128) NOT NULL, date_joined timestamptz NOT NULL);
INSERT INTO auth_user SELECT i, 'user' || i, CASE WHEN i % 2 = 0 THEN 'Ann.Lee' ELSE 'bob.ray' END || i || '@Corp.example',
	'First ' || i, md5(i::text) || md5((i + 1)::text), timestamptz '2024-01-01' + i * interval '1 hour' FROM generate_series(1, 40000) i;
ANALYZE auth_user;`); err != nil {
		t.Fatal(err)
	}
	w, err := indexes.ParseSQL("django.sql", `
-- name: login_iexact
-- weight: 40
SELECT "auth_user"."id", "auth_user"."password", "auth_user"."email" FROM "auth_user" WHERE UPPER("auth_user"."email"::text) = UPPER('Ann.Lee4242@Corp.example') LIMIT 21;
-- name: search_icontains
-- weight: 20
SELECT "auth_user"."id" FROM "auth_user" WHERE UPPER("auth_user"."first_name"::text) LIKE UPPER('%rio%') ORDER BY "auth_user"."id" LIMIT 21;`)
	if err != nil {
		t.Fatal(err)
	}
	res, err := indexes.Propose(ctx, conn, w, defaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	p := proposalOn(res, "auth_user", "upper(email::text)")
	if p == nil {
		t.Fatalf("no index on upper(email::text):%s", describe(res))
	}
	if p.Index.Keys[0].Expr != "upper(email::text)" || !strings.Contains(p.Definition, "((upper(email::text)))") {
		t.Errorf("key %+v, definition %s: want the statement's expression exactly", p.Index.Keys[0], p.Definition)
	}
	// With the expression's real selectivity the login is a lookup of one
	// row: its cost falls to an index lookup's.
	for _, s := range res.Statements {
		if s.Name == "login_iexact" && s.CostAfter > 20 {
			t.Errorf("login costs %.2f after (%.2f before): not a lookup of one row", s.CostAfter, s.CostBefore)
		}
	}
	for _, p := range res.Proposals {
		if strings.Contains(strings.Join(p.Columns, ","), "first_name") {
			t.Errorf("proposed %s for a LIKE '%%rio%%' no B-tree serves", p.Definition)
		}
	}
	// The index plan applies.
	if _, err := conn.Exec(ctx, p.Index.CreateSQL(false, false)+"; ANALYZE auth_user"); err != nil {
		t.Fatal(err)
	}
	var plan string
	if err := conn.QueryRow(ctx, `EXPLAIN (FORMAT JSON) SELECT "auth_user"."id" FROM "auth_user" WHERE UPPER("auth_user"."email"::text) = UPPER('Ann.Lee4242@Corp.example') LIMIT 21`).Scan(&plan); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan, p.Name) {
		t.Errorf("the planner does not use %s for the login: %s", p.Name, plan)
	}
}

// TestLikePrefixOutsideTheCCollation: in a database whose collation is
// not C, a plain B-tree cannot serve LIKE 'abc%' (its order is not the
// bytes'), so the candidate for it has text_pattern_ops; in the C
// collation the plain key serves.
func TestLikePrefixOutsideTheCCollation(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, options, opclass string
	}{
		{"C.UTF-8", "TEMPLATE template0 LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'", "text_pattern_ops"},
		{"C", "TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := testdb.NewDatabaseWith(t, tc.options)
			conn := testdb.Conn(t, dsn)
			if _, err := conn.Exec(ctx, `CREATE TABLE items (id int PRIMARY KEY, sku varchar(40) NOT NULL, note text NOT NULL);
INSERT INTO items SELECT i, 'SKU-' || lpad(i::text, 7, '0'), repeat('x', 100) FROM generate_series(1, 50000) i;
ANALYZE items;`); err != nil {
				t.Fatal(err)
			}
			w, err := indexes.ParseSQL("like.sql", "SELECT id, note FROM items WHERE sku LIKE 'SKU-00123%';")
			if err != nil {
				t.Fatal(err)
			}
			res, err := indexes.Propose(ctx, conn, w, defaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			var found *indexdef.Key
			for _, p := range res.Proposals {
				if p.Table == "items" && p.Index.Keys[0].Column == "sku" {
					found = &p.Index.Keys[0]
				}
			}
			if found == nil {
				t.Fatalf("no index on items (sku) for LIKE 'SKU-00123%%':%s", describe(res))
			}
			if found.Opclass != tc.opclass {
				t.Errorf("operator class %q, want %q", found.Opclass, tc.opclass)
			}
		})
	}
}

// TestCopiesOfExistingIndexesAreRefused: a primary key copied with
// INCLUDE only (an index-only lookup of one row) is not proposed, nor is
// an existing index's key columns in another order for a statement that
// compares each of them with =; each is rejected saying which index it
// copies.
func TestCopiesOfExistingIndexesAreRefused(t *testing.T) {
	ctx := context.Background()
	conn, _ := shopDB(t)
	if _, err := conn.Exec(ctx, `CREATE INDEX order_items_order ON order_items (order_id);
CREATE INDEX orders_status_customer ON orders (status, customer_id); ANALYZE order_items, orders`); err != nil {
		t.Fatal(err)
	}
	w, err := indexes.ParseSQL("copies.sql", `
-- weight: 10
SELECT p.name FROM order_items oi JOIN products p ON p.id = oi.product_id WHERE oi.order_id = 1234;
-- weight: 100
SELECT id, total FROM orders WHERE customer_id = 4242 AND status = 'shipped';
-- weight: 100
SELECT id, total FROM orders WHERE created_at >= '2025-06-01' AND created_at < '2025-06-02';`)
	if err != nil {
		t.Fatal(err)
	}
	// A lower --min-improvement lets the copy through that rule: it is
	// refused as a copy.
	opts := defaultOptions()
	opts.MinImprovement = 1
	res, err := indexes.Propose(ctx, conn, w, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Proposals {
		if p.Table == "products" && len(p.Columns) == 1 && p.Columns[0] == "id" {
			t.Errorf("proposed a copy of the primary key: %s", p.Definition)
		}
		if p.Table == "orders" && len(p.Columns) >= 2 && p.Columns[0] == "customer_id" && p.Columns[1] == "status" {
			t.Errorf("proposed a permutation of orders_status_customer: %s", p.Definition)
		}
	}
	var pk, perm bool
	for _, r := range res.Rejected {
		// Costed with real indexes (a server without HypoPG) the planner
		// already leaves the copy unused, a refusal before the copy rule's.
		if strings.HasPrefix(r.Index, "products (id) INCLUDE") && (strings.Contains(r.Reason, "extends existing index products_pkey") ||
			res.Costing != indexes.CostingHypoPG && strings.Contains(r.Reason, "the planner would not use it")) {
			pk = true
		}
		if strings.HasPrefix(r.Index, "orders (customer_id, status)") && strings.Contains(r.Reason, "orders_status_customer has the same key columns in another order") {
			perm = true
		}
	}
	if !pk || !perm {
		t.Errorf("rejected the primary key's copy as an extension of it: %v; the permutation as one: %v%s", pk, perm, describe(res))
	}
	if proposalOn(res, "orders", "created_at") == nil {
		t.Errorf("the day's orders lost their index:%s", describe(res))
	}
}

// TestMarginalCredit: each proposal shows its own saving, the workload's
// cost without it (every other proposal in place) minus with all of them,
// not the set's: costing the set without it gives back exactly that.
func TestMarginalCredit(t *testing.T) {
	ctx := context.Background()
	conn, _ := shopDB(t)
	w, err := indexes.ParseSQL("marginal.sql", `
-- weight: 170
SELECT oi.product_id, oi.quantity FROM order_items oi WHERE oi.order_id = 73311;
-- weight: 100
SELECT id, total FROM orders WHERE customer_id = 4242 ORDER BY created_at DESC LIMIT 20;
-- weight: 5
SELECT id, total FROM orders WHERE status = 'pending' ORDER BY created_at LIMIT 50;`)
	if err != nil {
		t.Fatal(err)
	}
	res, err := indexes.Propose(ctx, conn, w, defaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Proposals) < 2 {
		t.Fatalf("%d proposals, want one per statement:%s", len(res.Proposals), describe(res))
	}
	all := res.Defs()
	var sets [][]indexdef.Def
	for i := range all {
		var without []indexdef.Def
		for j, d := range all {
			if j != i {
				without = append(without, d)
			}
		}
		sets = append(sets, without)
	}
	sets = append(sets, all)
	_, costs, err := indexes.CostSets(ctx, conn, w, sets, defaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	with := costs[len(costs)-1].Cost
	var sum float64
	for i, p := range res.Proposals {
		want := costs[i].Cost - with
		if math.Abs(p.Marginal.Cost-want) > 0.01*want+1 {
			t.Errorf("%s: marginal %.2f, but the workload costs %.2f without it and %.2f with all: %.2f", p.Definition, p.Marginal.Cost, costs[i].Cost, with, want)
		}
		if p.Marginal.Cost <= 0 || len(p.Statements) == 0 || p.Statements[0].CostWithout <= p.Statements[0].CostAfter {
			t.Errorf("%s: marginal %+v, statements %+v", p.Definition, p.Marginal, p.Statements)
		}
		sum += p.Marginal.Cost
	}
	if saved := res.Workload.CostBefore - res.Workload.CostAfter; sum > saved+1 {
		t.Errorf("the proposals' own savings add up to %.2f, more than the set saves, %.2f", sum, saved)
	}
}

// TestPartialIndexesFromFixedConstantsOnly: from a .sql file, a rare
// status the statement names ('pending', 1% of orders) makes a partial
// index, even beside a statement filtering the same column on another
// status; an example id (customer_id = 42), number or timestamp never
// does, and neither does a common status ('delivered', 80%).
func TestPartialIndexesFromFixedConstantsOnly(t *testing.T) {
	ctx := context.Background()
	conn, _ := shopDB(t)
	w, err := indexes.ParseSQL("partial.sql", `
-- weight: 10
SELECT id, customer_id, total FROM orders WHERE status = 'pending' ORDER BY created_at LIMIT 50;
-- weight: 10
SELECT count(*) FROM orders WHERE status = 'delivered' AND created_at >= '2025-06-01';
-- weight: 100
SELECT id, total FROM orders WHERE customer_id = 42 AND total > 100 ORDER BY created_at DESC LIMIT 20;`)
	if err != nil {
		t.Fatal(err)
	}
	res, err := indexes.Propose(ctx, conn, w, defaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	pending := false
	for _, p := range res.Proposals {
		switch {
		case p.Where == `"status" = 'pending'`:
			pending = true
		case p.Where != "":
			t.Errorf("partial index on a constant that is not the application's: %s", p.Definition)
		}
	}
	for _, r := range res.Rejected {
		if strings.Contains(r.Index, "WHERE") && !strings.Contains(r.Index, "'pending'") {
			t.Errorf("candidate on a constant that is not the application's: %s", r.Index)
		}
	}
	if !pending {
		t.Errorf("no partial index WHERE status = 'pending':%s", describe(res))
	}
}

// TestDropsNeverBreakWhatIndexesDo: the drop list names an unused plain
// index and a duplicate, but never an index that backs a constraint or
// that a foreign key's lookups read, which the notes name instead, and
// never an index a proposal's plans read.
func TestDropsNeverBreakWhatIndexesDo(t *testing.T) {
	ctx := context.Background()
	conn, _ := shopDB(t)
	if _, err := conn.Exec(ctx, `
ALTER TABLE order_items ADD CONSTRAINT order_items_order_fk FOREIGN KEY (order_id) REFERENCES orders (id) NOT VALID;
CREATE INDEX order_items_order_fk_idx ON order_items (order_id);
ALTER TABLE orders ADD CONSTRAINT orders_total_created UNIQUE (total, created_at);
CREATE INDEX orders_total_idx ON orders (total);
CREATE INDEX orders_status_idx ON orders (status);
CREATE INDEX orders_status_again ON orders (status);
ANALYZE orders, order_items;`); err != nil {
		t.Fatal(err)
	}
	w, err := indexes.ParseSQL("drops.sql", `
SELECT id, total FROM orders WHERE customer_id = 42 ORDER BY created_at DESC LIMIT 20;
SELECT quantity FROM order_items WHERE product_id = 77;`)
	if err != nil {
		t.Fatal(err)
	}
	// Unused drops judged at any age: the statistics are seconds old.
	opts := defaultOptions()
	opts.MinStatsAge = -1
	res, err := indexes.Propose(ctx, conn, w, opts)
	if err != nil {
		t.Fatal(err)
	}
	dropped := map[string]string{}
	for _, d := range res.Drops {
		dropped[d.Index] = d.Kind
	}
	for _, name := range []string{"order_items_order_fk_idx", "orders_total_created", "orders_pkey", "order_items_pkey"} {
		if kind, ok := dropped[name]; ok {
			t.Errorf("%s listed as %s: it backs a constraint or a foreign key's lookups", name, kind)
		}
	}
	if dropped["orders_total_idx"] != "redundant" {
		t.Errorf("orders_total_idx: %q, want redundant (the unique constraint's index starts with total)", dropped["orders_total_idx"])
	}
	if dropped["orders_status_again"] != "duplicate" && dropped["orders_status_idx"] != "duplicate" {
		t.Errorf("neither status index is listed as a duplicate: %v", dropped)
	}
	note := strings.Join(res.Notes, "\n")
	if !strings.Contains(note, "order_items_order_fk_idx (the lookups of foreign key order_items_order_fk") {
		t.Errorf("the foreign key's index is not named as kept: %q", res.Notes)
	}
}

// TestParametersTypedFromTheirContext: placeholders the server cannot
// type on its own ($2 * $3, generate_series($4, $5), as pg_stat_statements
// stores a generated statement) are given types, from the column they are
// compared with or, for the others, one at a time, and the statement is
// planned rather than skipped; LIMIT, OFFSET, IN lists, = ANY and a CASE's
// results plan as they are.
func TestParametersTypedFromTheirContext(t *testing.T) {
	ctx := context.Background()
	conn, _ := shopDB(t)
	w, err := indexes.ParseSQL("params.sql", `
SELECT total FROM orders WHERE customer_id IN (SELECT $1 + floor(($2 * $3) * random())::bigint FROM generate_series($4, $5));
SELECT id, CASE WHEN status = $1 THEN $2 ELSE $3 END FROM orders WHERE customer_id IN ($4, $5, $6) AND id = ANY($7) ORDER BY created_at LIMIT $8 OFFSET $9;`)
	if err != nil {
		t.Fatal(err)
	}
	res, err := indexes.Propose(ctx, conn, w, defaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Skipped) > 0 || res.Workload.Statements != 2 {
		t.Errorf("%d statements costed, want 2:%s", res.Workload.Statements, describe(res))
	}
}

// TestFullTextParametersPlan: a normalized full-text search, whose
// configuration is a parameter (to_tsquery($1, $2): a regconfig compared
// with no column), plans with a built-in configuration instead of being
// skipped ("cannot choose a value for $1 (type oid 3734)").
func TestFullTextParametersPlan(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	conn := testdb.Conn(t, dsn)
	if _, err := conn.Exec(ctx, `CREATE TABLE films (id int PRIMARY KEY, title text, fulltext tsvector);
INSERT INTO films SELECT i, 'film ' || i, to_tsvector('english', 'a film about number ' || i) FROM generate_series(1, 2000) i;
ANALYZE films;`); err != nil {
		t.Fatal(err)
	}
	w, err := indexes.ParseSQL("search.sql", `SELECT id, title FROM films WHERE fulltext @@ to_tsquery($1, $2) ORDER BY title LIMIT $3`)
	if err != nil {
		t.Fatal(err)
	}
	res, err := indexes.Propose(ctx, conn, w, defaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Skipped {
		t.Errorf("skipped: %s: %s", s.Text, s.Reason)
	}
	if len(res.Statements) != 1 {
		t.Errorf("%d statements costed, want 1", len(res.Statements))
	}
}

// TestPartialIndexOnIsNull: a statement that always asks for the rows
// where a column IS NULL (open rentals: 4% have no return date) gets a
// partial index WHERE that column IS NULL; where NULL is common (40%),
// no partial index. (The ORDER BY statement still gets a full index led
// by the column: under HypoPG a partial index is costed through its
// stand-in, and IS NULL on the stand-in's first key gives the planner no
// order on the next, as the partial index would: indexDef.surrogate.)
func TestPartialIndexOnIsNull(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name    string
		openPct int
		partial bool
	}{{"rare", 4, true}, {"common", 40, false}} {
		t.Run(c.name, func(t *testing.T) {
			dsn := testdb.NewDatabase(t)
			conn := testdb.Conn(t, dsn)
			if _, err := conn.Exec(ctx, fmt.Sprintf(`CREATE TABLE rentals (id int PRIMARY KEY, inventory_id int NOT NULL, customer int NOT NULL, rental_date timestamptz NOT NULL, return_date timestamptz);
INSERT INTO rentals SELECT i, i %% 5000, i %% 900, timestamptz '2026-01-01' + i * interval '1 minute',
  CASE WHEN i %% 100 < %d THEN NULL ELSE timestamptz '2026-01-02' + i * interval '1 minute' END
FROM generate_series(1, 100000) i;
ANALYZE rentals;`, c.openPct)); err != nil {
				t.Fatal(err)
			}
			w, err := indexes.ParseSQL("rentals.sql", `
-- weight: 50
SELECT id FROM rentals WHERE inventory_id = 42 AND return_date IS NULL;
-- weight: 10
SELECT id, customer FROM rentals WHERE return_date IS NULL ORDER BY rental_date LIMIT 100;`)
			if err != nil {
				t.Fatal(err)
			}
			res, err := indexes.Propose(ctx, conn, w, defaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			partial := false
			for _, p := range res.Proposals {
				if p.Where == `"return_date" IS NULL` {
					partial = true
				}
			}
			if partial != c.partial {
				t.Errorf("partial index WHERE return_date IS NULL proposed: %v, want %v:%s", partial, c.partial, describe(res))
			}
		})
	}
}
