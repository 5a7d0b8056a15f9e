package sqlscan

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
)

// TestIndexDef: a CREATE INDEX taken apart by PostgreSQL's parser into the
// one Def: the name, the table and its schema, ON ONLY, the method, each
// key's column or deparsed expression with its collation, operator class
// and NULLS order (the default filled in), INCLUDE and the predicate.
func TestIndexDef(t *testing.T) {
	for _, tc := range []struct {
		sql          string
		want         indexdef.Def
		conc, ifNone bool
	}{
		{`CREATE INDEX CONCURRENTLY IF NOT EXISTS "a_b_idx" ON "public"."a" ("b", "c" DESC)`,
			indexdef.Def{Name: "a_b_idx", Schema: "public", Table: "a", Method: "btree",
				Keys: []indexdef.Key{{Column: "b"}, {Column: "c", Desc: true, NullsFirst: true}}}, true, true},
		{`create unique index x on t using GIN ((lower(email)), name varchar_pattern_ops nulls first) include (id) where status = 'a;b'`,
			indexdef.Def{Name: "x", Table: "t", Method: "gin", Unique: true,
				Keys:    []indexdef.Key{{Expr: "lower(email)"}, {Column: "name", Opclass: "varchar_pattern_ops", NullsFirst: true}},
				Include: []string{"id"}, Where: "status = 'a;b'"}, false, false},
		{`CREATE INDEX ON t (coalesce(a, b) DESC NULLS LAST, (c), "Odd" COLLATE "C")`,
			indexdef.Def{Table: "t", Method: "btree", Keys: []indexdef.Key{{Expr: "COALESCE(a, b)", Desc: true}, {Column: "c"}, {Column: "Odd", Collate: `"C"`}}}, false, false},
		{`CREATE UNIQUE INDEX p_idx ON ONLY s.p (a) NULLS NOT DISTINCT WITH (fillfactor = 90) TABLESPACE fast`,
			indexdef.Def{Name: "p_idx", Schema: "s", Table: "p", Only: true, Method: "btree", Unique: true, NullsNotDistinct: true, Keys: []indexdef.Key{{Column: "a"}}}, false, false},
	} {
		p, err := ParseOne(tc.sql)
		if err != nil {
			t.Fatalf("ParseOne(%q): %v", tc.sql, err)
		}
		if diff := cmp.Diff(&tc.want, p.Index); diff != "" {
			t.Errorf("ParseOne(%q).Index (-want +got):\n%s", tc.sql, diff)
		}
		if p.Kind != KindCreateIndex || p.Concurrently != tc.conc || p.IfExists != tc.ifNone {
			t.Errorf("ParseOne(%q): kind %s, concurrently %v, if not exists %v", tc.sql, p.Kind, p.Concurrently, p.IfExists)
		}
	}
}

// TestCreateIndexRefused is the regression test for the hand-written
// parser's fuzz crashers (testdata/fuzz/FuzzParseCreateIndex in migrate,
// kept in FuzzIndexRoundTrip's corpus): NULLS with neither FIRST nor LAST
// sliced the statement backwards and panicked, and `CREATE INDEX "" ON ""
// ()` parsed into an index with no name, table or columns. PostgreSQL's
// parser refuses them, but for a NULLS right after a key, which it reads
// as the name of an operator class (the server then finds none).
func TestCreateIndexRefused(t *testing.T) {
	for _, sql := range []string{"CREATE INDEX ix ON t (a NULLS)", "CREATE INDEX ix ON t ((a + 1) NULLS, b)"} {
		if p, err := ParseOne(sql); err != nil || p.Index == nil || p.Index.Keys[0].Opclass != "nulls" {
			t.Errorf("ParseOne(%q) = %+v, %v; want NULLS read as an operator class", sql, p.Index, err)
		}
	}
	for _, sql := range []string{
		"CREATE INDEX ON A(A NULLS )0",
		"CREATE INDEX ix ON t (lower(a) DESC NULLS)",
		`CREATE INDEX""ON""()`,
		`CREATE INDEX ix ON "" (a)`,
		`CREATE INDEX ix ON t ("")`,
		`CREATE INDEX ix ON t ()`,
		`CREATE INDEX ix ON t () WHERE`,
		"CREATE INDEX x ON",
		"CREATE INDEX x ON t (a",
	} {
		var (
			le *Error
			se *SyntaxError
		)
		if _, err := Parse(sql); !errors.As(err, &le) && !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, want the lexer's or the parser's refusal", sql, err)
		}
	}
}

// TestParseKey: a key element as a profile or an older proposals file
// writes it is read by the parser, and only one whole element is: text
// that would close the parenthesis and add to the statement is refused.
func TestParseKey(t *testing.T) {
	for spec, want := range map[string]indexdef.Key{
		"created_at DESC":          {Column: "created_at", Desc: true, NullsFirst: true},
		`"Order" DESC NULLS LAST`:  {Column: "Order", Desc: true},
		"lower(email)":             {Expr: "lower(email)"},
		"(a + b)":                  {Expr: "a + b"},
		"(public.gate(v))":         {Expr: "public.gate(v)"},
		"name varchar_pattern_ops": {Column: "name", Opclass: "varchar_pattern_ops"},
		"a -- a comment":           {Column: "a"},
	} {
		got, err := ParseKey(spec)
		if err != nil || got != want {
			t.Errorf("ParseKey(%q) = %+v, %v; want %+v", spec, got, err, want)
		}
	}
	for spec, want := range map[string]string{
		"a) WHERE (b":             "not one whole key",
		"a), (b":                  "not one whole key",
		"a) INCLUDE (b":           "not one whole key",
		"a) WITH (fillfactor = 1": "not one whole key",
		"(a":                      "not one whole key",
		"'open":                   "unterminated string literal",
		"":                        "empty key",
	} {
		if _, err := ParseKey(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseKey(%q) = %v, want an error saying %q", spec, err, want)
		}
	}
}

// TestParsePredicate replaces migrate's checkFragment: a predicate is one
// expression as the parser reads it, written back as the deparser writes
// it, so "--" in a string or a quoted name is kept, a comment is dropped,
// and nothing can end the statement or hide another one.
func TestParsePredicate(t *testing.T) {
	for x, want := range map[string]string{
		"a = 1":                 "a = 1",
		"a = '--x' AND b = 2":   "a = '--x' AND b = 2",
		`"we--ird" IS NOT NULL`: `"we--ird" IS NOT NULL`,
		"a = $$ /* $$":          "a = ' /* '",
		"a = 1 -- why":          "a = 1",
		"a /* why */ = 1":       "a = 1",
		"a = 1 --\r":            "a = 1",
	} {
		got, err := ParsePredicate(x)
		if err != nil || got != want {
			t.Errorf("ParsePredicate(%q) = %q, %v; want %q", x, got, err, want)
		}
	}
	for x, want := range map[string]string{
		"a = 1; DROP TABLE t": "not one whole key or expression",
		"(a = 1":              "not one whole key or expression",
		"a = 1) OR (true":     "not one whole key or expression",
		"a = 'open":           "unterminated string literal starting at offset 4",
	} {
		got, err := ParsePredicate(x)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePredicate(%q) = %q, %v; want an error saying %q", x, got, err, want)
		}
	}
}

// TestParseName: a table name as SQL writes it.
func TestParseName(t *testing.T) {
	for s, want := range map[string]indexdef.Name{
		"orders":          {Name: "orders"},
		"Public.Orders":   {Schema: "public", Name: "orders"},
		`"Odd"."T x"`:     {Schema: "Odd", Name: "T x"},
		`app."we""ird"`:   {Schema: "app", Name: `we"ird`},
		"  spaced . out ": {Schema: "spaced", Name: "out"},
	} {
		if got, err := ParseName(s); err != nil || got != want {
			t.Errorf("ParseName(%q) = %+v, %v; want %+v", s, got, err, want)
		}
	}
	for _, bad := range []string{"", "a.b.c", "t; DROP TABLE x", "'t'", `""`} {
		if got, err := ParseName(bad); err == nil {
			t.Errorf("ParseName(%q) = %+v, want an error", bad, got)
		}
	}
}

// TestCanonicalIndex: a Def from outside the process whose SQL text (an
// expression, the predicate, an operator class or a collation) would
// change the statement it is written into is refused; a plain one, or one
// with odd names (always quoted), reads back as itself, expressions and
// the predicate as the deparser writes them.
func TestCanonicalIndex(t *testing.T) {
	for _, tc := range []struct{ in, want indexdef.Def }{
		{indexdef.Def{Name: "t_a_idx", Schema: "public", Table: "t", Keys: []indexdef.Key{{Column: "a"}}, Comment: "why"},
			indexdef.Def{Name: "t_a_idx", Schema: "public", Table: "t", Method: "btree", Keys: []indexdef.Key{{Column: "a"}}, Comment: "why"}},
		{indexdef.Def{Name: `ix"; DROP TABLE x; --`, Schema: `Odd "S"`, Table: "we;ird", Method: "GIN", Keys: []indexdef.Key{{Expr: "LOWER( e )"}, {Column: "b", Desc: true, NullsFirst: true}}, Include: []string{"c"}, Where: "s in ('a','b')"},
			indexdef.Def{Name: `ix"; DROP TABLE x; --`, Schema: `Odd "S"`, Table: "we;ird", Method: "gin", Keys: []indexdef.Key{{Expr: "lower(e)"}, {Column: "b", Desc: true, NullsFirst: true}}, Include: []string{"c"}, Where: "s IN ('a', 'b')"}},
		{indexdef.Def{Name: "x", Table: "t", Keys: []indexdef.Key{{Expr: "(c)"}}, Where: "a > 0 -- a comment"},
			indexdef.Def{Name: "x", Table: "t", Method: "btree", Keys: []indexdef.Key{{Column: "c"}}, Where: "a > 0"}},
	} {
		got, err := CanonicalIndex(&tc.in)
		if err != nil {
			t.Errorf("CanonicalIndex(%+v) = %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("CanonicalIndex(%+v) (-want +got):\n%s", tc.in, diff)
		}
	}
	for _, d := range []indexdef.Def{
		{Name: "x", Table: "t", Keys: []indexdef.Key{{Column: "a"}}, Where: "true; DROP TABLE t"},
		{Name: "x", Table: "t", Keys: []indexdef.Key{{Column: "a"}}, Where: "true) --"},
		{Name: "x", Table: "t", Keys: []indexdef.Key{{Expr: "a)); DROP TABLE t; --"}}},
		{Name: "x", Table: "t", Keys: []indexdef.Key{{Expr: "a) WHERE (false"}}},
		{Name: "x", Table: "t", Keys: []indexdef.Key{{Column: "a", Opclass: "int4_ops) WHERE (false"}}},
		{Name: "x", Table: "t", Keys: []indexdef.Key{{Column: "a", Opclass: "int4_ops), (b"}}},
		{Name: "x", Table: "t", Keys: []indexdef.Key{{Column: "a", Collate: `"C" /*`}}},
		{Name: "x", Table: "t"},
		{Name: "x", Keys: []indexdef.Key{{Column: "a"}}},
		{Name: "x", Table: "t", Keys: []indexdef.Key{{Column: "a", Expr: "b"}}},
		{Name: "x", Table: "t", Keys: []indexdef.Key{{}}},
	} {
		if got, err := CanonicalIndex(&d); err == nil {
			t.Errorf("CanonicalIndex(%+v) took it: %s", d, got.CreateSQL(false, false))
		}
	}
}

// FuzzIndexRoundTrip (FuzzParseCreateIndex in migrate before issue 15): a
// CREATE INDEX the parser takes apart, written back by indexdef with every
// name quoted, takes apart into the same Def.
func FuzzIndexRoundTrip(f *testing.F) {
	for _, s := range []string{
		"CREATE INDEX CONCURRENTLY IF NOT EXISTS \"ix_cmd_status\" ON \"public\".\"commands\" (\"status\", \"created_at\" DESC)",
		"CREATE UNIQUE INDEX ix ON ONLY s.t USING btree (lower(email) COLLATE \"C\" text_pattern_ops DESC NULLS LAST) INCLUDE (id) WITH (fillfactor = 90) TABLESPACE fast WHERE deleted_at IS NULL",
		"CREATE INDEX ON \"we\"\"ird;tbl\" (\"Mixed Case;Col\")",
		"CREATE INDEX i ON t USING gin ((data->'a'), (a + b))",
		"CREATE INDEX i ON t (a) WHERE b = 'it''s; fine' AND c = E'\\''",
		"CREATE INDEX i ON t ((a::text || $$x$$), (CASE WHEN a THEN 1 ELSE 2 END)) NULLS NOT DISTINCT",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		if len(sql) > maxFuzzInput {
			t.Skip()
		}
		p, err := ParseOne(sql)
		if err != nil || p.Index == nil {
			return
		}
		d := p.Index
		if d.Table == "" || d.Method == "" || len(d.Keys) == 0 {
			t.Fatalf("an index without a table, method or keys: %+v", d)
		}
		again := d.CreateSQL(p.Concurrently, p.IfExists)
		p2, err := ParseOne(again)
		if err != nil {
			t.Fatalf("written back, the index does not parse: %v\n%s\n%s", err, sql, again)
		}
		if !reflect.DeepEqual(d, p2.Index) {
			t.Fatalf("the round trip changed the index:\n%+v\n%+v\n%s\n%s", d, p2.Index, sql, again)
		}
		if c, err := CanonicalIndex(d); err != nil || !reflect.DeepEqual(&c, d) {
			t.Fatalf("CanonicalIndex of a parsed index: %+v, %v\n%s", c, err, sql)
		}
	})
}
