package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/analyze"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// oddSchema has a schema, tables, columns and indexes whose names need
// quoting: spaces, capitals, double quotes and semicolons. A name pasted
// into SQL unquoted either fails or, worse, runs the text after the
// semicolon.
const oddSchema = `CREATE SCHEMA "Odd Schema";
CREATE TABLE "Odd Schema"."Order Items" ("Item Id" int PRIMARY KEY, "Customer;Id" int NOT NULL, "Placed At" timestamptz NOT NULL, "State" text NOT NULL);
INSERT INTO "Odd Schema"."Order Items" SELECT i, i % 400, timestamptz '2024-01-01' + i * interval '1 minute', (ARRAY['new', 'paid', 'sent'])[1 + i % 3] FROM generate_series(1, 40000) i;
CREATE TABLE public."we""ird;tbl" (id int PRIMARY KEY, "Mixed Case" int NOT NULL, "sp ace;col" text NOT NULL, "Ref;Item" int REFERENCES "Odd Schema"."Order Items" ("Item Id"));
INSERT INTO public."we""ird;tbl" SELECT i, i % 50, 'v' || (i % 700), 1 + i % 40000 FROM generate_series(1, 40000) i;
CREATE INDEX "dup;ix ""one""" ON public."we""ird;tbl" ("Mixed Case");
CREATE INDEX "Dup Ix Two" ON public."we""ird;tbl" ("Mixed Case");
CREATE TABLE public.canary (n int);
INSERT INTO public.canary VALUES (1);
ANALYZE;`

// oddCounts returns the row counts of the odd tables and the canary, and a
// checksum of each.
func oddCounts(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	var s string
	err := conn.QueryRow(t.Context(), `SELECT concat_ws(' ',
		(SELECT count(*) || ':' || md5(string_agg(t::text, ',' ORDER BY "Item Id")) FROM "Odd Schema"."Order Items" t),
		(SELECT count(*) || ':' || md5(string_agg(t::text, ',' ORDER BY id)) FROM public."we""ird;tbl" t),
		(SELECT count(*) FROM public.canary))`).Scan(&s)
	if err != nil {
		t.Fatalf("tables after the run: %v", err)
	}
	return s
}

// firstStatement is the SQL of a fix text, up to its first semicolon
// outside quotes.
func firstStatement(t *testing.T, fix string) string {
	t.Helper()
	srcs, err := analyze.SplitSQL("", fix)
	if err != nil || len(srcs) == 0 {
		t.Fatalf("fix %q does not split: %v", fix, err)
	}
	return srcs[0].SQL
}

// indexOn reports the valid indexes on a table, by name, with their
// definitions.
func indexesOn(t *testing.T, conn *pgx.Conn, table string) map[string]string {
	t.Helper()
	rows, err := conn.Query(t.Context(), `SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE i.indrelid = $1::regclass AND i.indisvalid ORDER BY 1`, table)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			t.Fatal(err)
		}
		out[name] = def
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestIdentifiersQuoted: on tables, columns and indexes named with spaces,
// capitals, quotes and semicolons, analyze's index health and fixes,
// indexes propose's definitions, indexes plan's migrations (from proposals
// and from a profile) and bench of a profile all work, and every statement
// the tool wrote runs as written, touching nothing else.
func TestIdentifiersQuoted(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	conn := testdb.Conn(t, dsn)
	if _, err := conn.Exec(ctx, oddSchema); err != nil {
		t.Fatal(err)
	}
	before := oddCounts(t, conn)
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	workload := write("odd.sql", `SELECT "Item Id" FROM "Odd Schema"."Order Items" WHERE "Customer;Id" = 42 ORDER BY "Placed At" DESC LIMIT 10;
SELECT id FROM "we""ird;tbl" WHERE "sp ace;col" = 'v7' AND "Ref;Item" > 5;
`)

	// analyze: index health names the odd indexes, and its fixes run.
	r := cli(t, "--dsn", dsn, "--format", "json", "analyze", "--top", "5", "--explain", "2", "--analyze", "--workload", workload)
	if r.code != exitOK {
		t.Fatalf("analyze: exit %d: %s", r.code, r.stderr)
	}
	var doc struct {
		Findings []struct{ Rule, Table, Fix string }
		Indexes  []struct{ Name string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("analyze JSON: %v\n%s", err, r.stdout)
	}
	names := map[string]bool{}
	for _, ix := range doc.Indexes {
		names[ix.Name] = true
	}
	if !names[`dup;ix "one"`] || !names["Dup Ix Two"] {
		t.Errorf("analyze's indexes lack the odd ones: %v", names)
	}
	ran := map[string]bool{}
	for _, f := range doc.Findings {
		if f.Rule != "duplicate-index" && f.Rule != "fk-without-index" {
			continue
		}
		if ran[f.Rule] {
			continue // one duplicate is enough to drop
		}
		stmt := firstStatement(t, f.Fix)
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Errorf("%s fix %q does not run as written: %v", f.Rule, stmt, err)
		}
		ran[f.Rule] = true
	}
	if !ran["duplicate-index"] || !ran["fk-without-index"] {
		t.Errorf("findings on the odd tables: ran fixes %v of %+v", ran, doc.Findings)
	}
	if ix := indexesOn(t, conn, `public."we""ird;tbl"`); len(ix) != 3 { // the key, one of the duplicates and the foreign key's
		t.Errorf("after the fixes the odd table has indexes %v, want 3", ix)
	}

	// A profile naming the odd tables: bench measures it, indexes plan
	// writes its index set, migrate apply builds it.
	profile := write("odd.yaml", `name: odd
statements:
  - name: items_of_customer
    sql: SELECT "Item Id" FROM "Odd Schema"."Order Items" WHERE "Customer;Id" = $1 ORDER BY "Placed At" DESC LIMIT 10
    params:
      - {kind: sample, from: 'Odd Schema.Order Items.Customer;Id'}
  - name: odd_rows
    sql: SELECT id FROM "we""ird;tbl" WHERE "sp ace;col" = $1 AND "Mixed Case" = $2
    params:
      - {kind: sample, from: 'we"ird;tbl.sp ace;col'}
      - {kind: int_range, min: 1, max: 49}
indexes:
  - name: "Odd \"Ix\"; DROP TABLE canary;\n DROP TABLE canary; --"
    table: 'we"ird;tbl'
    columns: ['"sp ace;col"', '"Mixed Case" DESC']
`)
	if r := cli(t, "--dsn", dsn, "-q", "bench", "--workload", profile, "--iterations", "3"); r.code != exitOK {
		t.Errorf("bench --profile: exit %d: %s", r.code, r.stderr)
	}
	// An index column is an index element: a name needing quotes has to
	// come quoted, and unquoted it is refused, not pasted.
	unquoted := write("unquoted.yaml", `name: unquoted
statements:
  - name: one
    sql: SELECT 1
indexes:
  - name: ix
    table: 'Odd Schema.Order Items'
    columns: ['Customer;Id']
`)
	if r := cli(t, "--dsn", dsn, "indexes", "plan", "--from-profile", unquoted, "--dir", filepath.Join(dir, "refused")); r.code != exitUsage || !strings.Contains(r.stderr, `syntax error at or near ";"`) {
		t.Errorf("an unquoted column with a semicolon: exit %d, stderr %q; want %d", r.code, r.stderr, exitUsage)
	}
	migs := filepath.Join(dir, "profile-migrations")
	if r := cli(t, "--dsn", dsn, "indexes", "plan", "--from-profile", profile, "--dir", migs); r.code != exitOK {
		t.Fatalf("indexes plan --from-profile: exit %d: %s", r.code, r.stderr)
	}
	if r := cli(t, "--dsn", dsn, "migrate", "apply", "--dir", migs); r.code != exitOK {
		t.Fatalf("migrate apply of the profile's index: exit %d: %s", r.code, r.stderr)
	}
	if ix := indexesOn(t, conn, `public."we""ird;tbl"`); !strings.Contains(ix["Odd \"Ix\"; DROP TABLE canary;\n DROP TABLE canary; --"], `("sp ace;col", "Mixed Case" DESC)`) {
		t.Errorf("the profile's index is not on the odd table as written: %v", ix)
	}

	// indexes propose: each definition runs as written and makes the index
	// it names; indexes plan writes migrations migrate apply builds.
	var hypopg bool
	_ = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'hypopg')").Scan(&hypopg)
	if !hypopg {
		t.Log("hypopg is not installed: indexes propose not run")
	} else {
		save := filepath.Join(dir, "proposals.json")
		r = cli(t, "--dsn", dsn, "--format", "json", "indexes", "propose", "--workload", workload, "--save", save)
		if r.code != exitOK {
			t.Fatalf("indexes propose: exit %d: %s", r.code, r.stderr)
		}
		var props struct {
			Proposals []struct{ Name, Table, Definition string }
		}
		if err := json.Unmarshal([]byte(r.stdout), &props); err != nil {
			t.Fatal(err)
		}
		if len(props.Proposals) == 0 {
			t.Fatalf("no proposals for the odd workload:\n%s", r.stdout)
		}
		for _, p := range props.Proposals {
			if _, err := conn.Exec(ctx, p.Definition); err != nil {
				t.Errorf("definition %q does not run as written: %v", p.Definition, err)
				continue
			}
			if _, err := conn.Exec(ctx, "DROP INDEX "+pgx.Identifier{schemaOf(t, conn, p.Name), p.Name}.Sanitize()); err != nil {
				t.Errorf("definition %q did not make index %q: %v", p.Definition, p.Name, err)
			}
		}
		// The same directory as the profile's index: one directory per
		// database, so versions and the revisions table agree.
		if r := cli(t, "--dsn", dsn, "indexes", "plan", "--from", save, "--dir", migs); r.code != exitOK {
			t.Fatalf("indexes plan --from: exit %d: %s", r.code, r.stderr)
		}
		r = cli(t, "--dsn", dsn, "migrate", "apply", "--dir", migs)
		if r.code != exitOK {
			t.Fatalf("migrate apply of the proposals: exit %d: %s", r.code, r.stderr)
		}
		for _, p := range props.Proposals {
			var valid bool
			if err := conn.QueryRow(ctx, "SELECT indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1", p.Name).Scan(&valid); err != nil || !valid {
				t.Errorf("index %q after migrate apply: valid %v, %v\n%s", p.Name, valid, err, r.stdout)
			}
		}
	}

	if after := oddCounts(t, conn); after != before {
		t.Errorf("rows changed:\nbefore %s\nafter  %s", before, after)
	}
}

// schemaOf is the schema holding the index name.
func schemaOf(t *testing.T, conn *pgx.Conn, index string) string {
	t.Helper()
	var s string
	if err := conn.QueryRow(t.Context(), "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = $1 AND c.relkind = 'i'", index).Scan(&s); err != nil {
		t.Fatalf("index %q: %v", index, err)
	}
	return s
}
