package indexes

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

func itoa(n int) string { return strconv.Itoa(n) }

// describeQuery flattens what parseQuery learned, for comparing.
func describeQuery(q *query) []string {
	var out []string
	name := func(c colRef) string { return strings.Join(append(append([]string(nil), c.qual...), c.name), ".") }
	kinds := map[predKind]string{predEq: "eq", predIn: "in", predRange: "range", predJoin: "join"}
	for i, b := range q.blocks {
		p := "block" + itoa(i) + " "
		for _, r := range b.rels {
			out = append(out, p+"rel "+r.schema+"."+r.name+" as "+r.alias)
		}
		for _, pr := range b.preds {
			s := p + kinds[pr.kind] + " " + name(pr.col) + " " + pr.op
			if pr.expr != "" {
				s += " expr=" + pr.expr
			}
			if pr.relabel {
				s += " relabel"
			}
			if pr.pattern {
				s += " pattern"
			}
			for _, n := range pr.params {
				s += " $" + itoa(n)
			}
			if pr.konst != "" {
				s += " const=" + pr.konst
			}
			if pr.kind == predJoin {
				s += " other=" + name(pr.other)
			}
			out = append(out, s)
		}
		for _, o := range b.order {
			s := p + "order " + name(o.col)
			if o.desc {
				s += " desc"
			}
			out = append(out, s)
		}
		if !b.orderOK {
			out = append(out, p+"order unusable")
		}
		for _, g := range b.group {
			out = append(out, p+"group "+name(g))
		}
	}
	for n, what := range q.limitParams {
		out = append(out, what+" $"+itoa(n))
	}
	return out
}

func TestParseQuery(t *testing.T) {
	tests := []struct {
		name, sql string
		want      []string
	}{
		{
			name: "django filter, order and limit",
			sql: `SELECT "a"."id" FROM "agents_agentexecution" "a" WHERE ("a"."user_id" = $1 AND "a"."status" = $2)
				ORDER BY "a"."created_at" DESC LIMIT $3`,
			want: []string{
				"block0 rel .agents_agentexecution as a",
				"block0 eq a.user_id = $1",
				"block0 eq a.status = $2",
				"block0 order a.created_at desc",
				"limit $3",
			},
		},
		{
			name: "booleans, constants, ranges, IN, ANY, BETWEEN, lower()",
			sql: `SELECT id FROM t WHERE is_active AND NOT deleted AND kind = 'x''y' AND 5 < n AND m BETWEEN $1 AND $2
				AND c IN (1, 2) AND d = ANY($3) AND lower(email) = $4 AND e IS NULL AND f <> 3 AND (g = 1 OR g = 2)`,
			want: []string{
				"block0 rel .t as ",
				`block0 eq is_active = const="is_active"`,
				`block0 eq deleted = const=NOT "deleted"`,
				`block0 eq kind = const="kind" = 'x''y'`,
				"block0 range n >",
				"block0 range m >= $1",
				"block0 range m <= $2",
				"block0 in c =",
				"block0 in d = $3",
				"block0 eq email = expr=lower(email) $4",
				`block0 eq e = const="e" IS NULL`,
			},
		},
		{
			name: "expressions users write: Django's iexact and istartswith, casts, date_trunc, icontains",
			sql: `SELECT "u"."id" FROM "auth_user" "u" WHERE UPPER("u"."email"::text) = UPPER('Ann@X.example')
				AND "u"."username"::text = 'ann' AND "u"."joined"::date = $1 AND date_trunc('day', "u"."joined") >= $2
				AND UPPER("u"."username"::text) LIKE UPPER('ann%') AND "u"."name" LIKE 'Le\_e%' AND "u"."bio" LIKE '%x%'
				AND UPPER("u"."city"::text) LIKE UPPER('%rio%') AND lower(u.a || u.b) = 'x' AND abs(u.n - $3) < 1`,
			want: []string{
				"block0 rel .auth_user as u",
				"block0 eq u.email = expr=upper(email::text)",
				`block0 eq u.username = expr=username::text relabel const="username" = 'ann'`,
				"block0 eq u.joined = expr=joined::date $1",
				"block0 range u.joined >= expr=date_trunc('day', joined) $2",
				"block0 range u.username >= expr=upper(username::text) pattern",
				"block0 range u.name >= pattern",
			},
		},
		{
			name: "joins, aliases, group by and ORDER BY position",
			sql: `SELECT s.status, count(*) FROM public.steps s JOIN executions e ON e.id = s.execution_id
				WHERE e.workflow_id = $1 GROUP BY s.status ORDER BY 1`,
			want: []string{
				"block0 rel public.steps as s",
				"block0 rel .executions as e",
				"block0 join e.id = other=s.execution_id",
				"block0 join s.execution_id = other=e.id",
				"block0 eq e.workflow_id = $1",
				"block0 order s.status",
				"block0 group s.status",
			},
		},
		{
			name: "ORDER BY an expression is not an index order",
			sql:  `SELECT id FROM t WHERE a = 1 ORDER BY a + b`,
			want: []string{"block0 rel .t as ", "block0 eq a = const=\"a\" = 1", "block0 order unusable"},
		},
		{
			name: "subqueries and CTEs are blocks of their own",
			sql:  `WITH recent AS (SELECT id FROM ev WHERE ts > now()) SELECT * FROM recent r WHERE r.id IN (SELECT ev_id FROM marks WHERE kind = $1)`,
			want: []string{
				"block0 rel .ev as ",
				"block0 range ts >",
				"block1 in r.id =",
				"block2 rel .marks as ",
				"block2 eq kind = $1",
			},
		},
		{
			name: "update",
			sql:  `UPDATE "Order Items" SET "Status" = $1 WHERE "OrderID" = $2`,
			want: []string{"block0 rel .Order Items as ", "block0 eq OrderID = $2"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := parseQuery(tc.sql)
			if err != nil {
				t.Fatal(err)
			}
			got := describeQuery(q)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestQuoting(t *testing.T) {
	for in, want := range map[string]string{
		"created_at":  "created_at",
		"order":       `"order"`,
		"user":        `"user"`,
		"name":        "name",
		"OrderID":     `"OrderID"`,
		"Order Items": `"Order Items"`,
		`we"ird`:      `"we""ird"`,
		"2fast":       `"2fast"`,
	} {
		if got := sqlscan.QuoteName(in); got != want {
			t.Errorf("sqlscan.QuoteName(%q) = %s, want %s", in, got, want)
		}
	}
	tbl := &table{schema: "public", name: "Order Items"}
	d := &indexDef{table: tbl, keys: []indexdef.Key{{Column: "CustomerID"}, indexdef.Descending("createdAt"), {Expr: `lower("Email")`}},
		include: []string{"Total"}, where: `"Status" = 'open'`}
	want := `CREATE INDEX CONCURRENTLY "order_items_customerid_createdat_lower_email_where_ee550469_idx" ON "public"."Order Items" ("CustomerID", "createdAt" DESC, (lower("Email"))) INCLUDE ("Total") WHERE "Status" = 'open'`
	if got := d.ddl(d.name(), true); got != want {
		t.Errorf("ddl =\n%s\nwant\n%s", got, want)
	}
	if got, want := tbl.display(), `"Order Items"`; got != want {
		t.Errorf("display = %s, want %s", got, want)
	}
	if got, want := strings.Join(d.columns(), ", "), `"CustomerID", "createdAt" DESC, lower("Email")`; got != want {
		t.Errorf("columns = %s, want %s", got, want)
	}
	if got, want := quoteLiteral(`it's a \ test`), `E'it''s a \\ test'`; got != want {
		t.Errorf("quoteLiteral = %s, want %s", got, want)
	}
}

func TestSameKeys(t *testing.T) {
	a := []indexdef.Key{{Column: "a"}, indexdef.Descending("b")}
	if !indexdef.SameKeys(a, []indexdef.Key{indexdef.Descending("a"), {Column: "b"}}) {
		t.Error("a reversed index should scan backward as the other")
	}
	if indexdef.SameKeys(a, []indexdef.Key{{Column: "a"}, {Column: "b"}}) {
		t.Error("mixed directions are not the same order")
	}
	if !indexdef.KeyPrefix([]indexdef.Key{{Column: "a"}}, a) || indexdef.KeyPrefix([]indexdef.Key{{Column: "b"}}, a) {
		t.Error("keyPrefix")
	}
}
