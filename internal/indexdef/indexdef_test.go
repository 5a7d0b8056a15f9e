package indexdef

import (
	"strings"
	"testing"
)

// TestCreateSQLAsAtlasWritesIt: the statements plan writes read as Atlas's
// PostgreSQL driver wrote them before the one Def (README's example file
// among them): every name quoted, expressions in parentheses, the method
// upper case and only when it is not btree, NULLS only when not the
// default. The statement is schema-qualified when the Def has a schema.
func TestCreateSQLAsAtlasWritesIt(t *testing.T) {
	for _, tc := range []struct {
		d        Def
		up, down string
	}{
		{Def{Name: "agents_agentexecution_user_id_status_created_at_idx", Schema: "public", Table: "agents_agentexecution",
			Keys: []Key{Asc("user_id"), Asc("status"), Descending("created_at")}, Include: []string{"id"}},
			`CREATE INDEX CONCURRENTLY IF NOT EXISTS "agents_agentexecution_user_id_status_created_at_idx" ON "public"."agents_agentexecution" ("user_id", "status", "created_at" DESC) INCLUDE ("id")`,
			`DROP INDEX CONCURRENTLY IF EXISTS "public"."agents_agentexecution_user_id_status_created_at_idx"`},
		{Def{Name: "x_idx", Schema: "app", Table: "t", Keys: []Key{{Expr: "lower(email)"}, {Column: "Order", Desc: true}}, Where: "status = 'open'"},
			`CREATE INDEX CONCURRENTLY IF NOT EXISTS "x_idx" ON "app"."t" ((lower(email)), "Order" DESC NULLS LAST) WHERE status = 'open'`,
			`DROP INDEX CONCURRENTLY IF EXISTS "app"."x_idx"`},
		{Def{Name: `ix"; DROP TABLE canary; --`, Schema: `Odd "Schema"`, Table: `we"ird;tbl`, Method: "gin", Unique: true,
			Keys: []Key{{Column: "data", Opclass: "jsonb_path_ops", NullsFirst: true}, {Column: "c", Collate: `"C"`}}},
			`CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "ix""; DROP TABLE canary; --" ON "Odd ""Schema"""."we""ird;tbl" USING GIN ("data" jsonb_path_ops NULLS FIRST, "c" COLLATE "C")`,
			`DROP INDEX CONCURRENTLY IF EXISTS "Odd ""Schema"""."ix""; DROP TABLE canary; --"`},
		{Def{Name: "p_idx", Schema: "s", Table: "p", Only: true, Method: "my method", Keys: []Key{Asc("a")}, Unique: true, NullsNotDistinct: true},
			`CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "p_idx" ON ONLY "s"."p" USING "my method" ("a") NULLS NOT DISTINCT`,
			`DROP INDEX CONCURRENTLY IF EXISTS "s"."p_idx"`},
	} {
		if got := tc.d.CreateSQL(true, true); got != tc.up {
			t.Errorf("CreateSQL:\n got %s\nwant %s", got, tc.up)
		}
		if got := tc.d.DropSQL(true, true); got != tc.down {
			t.Errorf("DropSQL:\n got %s\nwant %s", got, tc.down)
		}
	}
	unnamed := Def{Schema: "s", Table: "t", Keys: []Key{Asc("a")}}
	if got, want := unnamed.CreateSQL(false, true), `CREATE INDEX ON "s"."t" ("a")`; got != want {
		t.Errorf("an unnamed index: %s, want %s (IF NOT EXISTS needs a name)", got, want)
	}
	if got, want := AttachPartitionSQL(Name{"s", "p_idx"}, Name{"s", "p1_idx"}), `ALTER INDEX "s"."p_idx" ATTACH PARTITION "s"."p1_idx"`; got != want {
		t.Errorf("AttachPartitionSQL = %s, want %s", got, want)
	}
}

// TestIndexName: the stable name plan and propose give an index, from its
// keys (directions and operator classes left out) and a partial index's
// predicate, cut to 63 bytes with a hash that keeps cut names apart.
func TestIndexName(t *testing.T) {
	for _, tc := range []struct {
		table string
		keys  []Key
		where string
		want  string
	}{
		{"agents_agentexecution", []Key{Asc("user_id"), Asc("status"), Descending("created_at")}, "", "agents_agentexecution_user_id_status_created_at_idx"},
		{"t", []Key{{Expr: "lower(email)"}}, "", "t_lower_email_idx"},
		{"t", []Key{{Column: "Order", Desc: true}}, "", "t_order_idx"},
		{"t", []Key{Asc("a")}, "deleted_at IS NULL", "t_a_where_deleted_at_is_null_idx"},
	} {
		if got := IndexName(tc.table, tc.keys, tc.where); got != tc.want {
			t.Errorf("IndexName(%s, %v, %q) = %q, want %q", tc.table, tc.keys, tc.where, got, tc.want)
		}
	}
	cols := func(names ...string) []Key {
		var ks []Key
		for _, n := range names {
			ks = append(ks, Asc(n))
		}
		return ks
	}
	long := IndexName("workflows_workflowexecution", cols("workflow_id", "status", "started_at", "completed_at"), "")
	if len(long) != MaxIdentifierLength || !strings.HasSuffix(long, "_idx") || !strings.HasPrefix(long, "workflows_workflowexecution_workflow_id_status_") {
		t.Errorf("long name %q (%d bytes): want 63 bytes, the table and first columns kept, _idx at the end", long, len(long))
	}
	if other := IndexName("workflows_workflowexecution", cols("workflow_id", "status", "started_at", "created_at"), ""); other == long {
		t.Errorf("two long names that differ only in the part cut off are both %q", long)
	}
	if again := IndexName("workflows_workflowexecution", cols("workflow_id", "status", "started_at", "completed_at"), ""); again != long {
		t.Errorf("IndexName is not stable: %q then %q", long, again)
	}
	if got := ShortenName("commands_commandtemplate_is_active_usage_count_idx", 30); len(got) != 30 {
		t.Errorf("ShortenName to 30 = %q (%d bytes)", got, len(got))
	}
}

// TestSameKeysAndPrefix: two key lists one index can scan as the other
// (equal, or every ordering reversed) are the same; a mix is not, nor are
// other targets.
func TestSameKeysAndPrefix(t *testing.T) {
	ab := []Key{Asc("a"), Asc("b")}
	for _, tc := range []struct {
		a, b []Key
		same bool
	}{
		{ab, []Key{Asc("a"), Asc("b")}, true},
		{ab, []Key{Descending("a"), Descending("b")}, true},
		{ab, []Key{Asc("a"), Descending("b")}, false},
		{ab, []Key{Asc("a"), {Column: "b", Desc: true}}, false}, // DESC NULLS LAST: no scan gives it
		{ab, []Key{Asc("b"), Asc("a")}, false},
		{[]Key{{Expr: `lower("e")`}}, []Key{{Expr: `lower("e")`}}, true},
		{[]Key{{Column: "e"}}, []Key{{Expr: "e"}}, false},
		{ab, []Key{Asc("a")}, false},
	} {
		if got := SameKeys(tc.a, tc.b); got != tc.same {
			t.Errorf("SameKeys(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.same)
		}
	}
	if !KeyPrefix([]Key{Asc("a")}, ab) || KeyPrefix([]Key{Asc("b")}, ab) || KeyPrefix(append(ab, Asc("c")), ab) {
		t.Error("KeyPrefix: (a) is a prefix of (a, b); (b) and (a, b, c) are not")
	}
}

// TestMatchAndCovers: an existing index is the one wanted when uniqueness,
// method, key columns with their orderings, INCLUDE and the presence of a
// predicate agree; expressions, a predicate or an operator class the
// catalog calls the default are left to the server. A btree index covers
// one whose plain keys lead its own.
func TestMatchAndCovers(t *testing.T) {
	want := &Def{Table: "t", Keys: []Key{Asc("a"), Descending("b")}, Include: []string{"c"}}
	for _, tc := range []struct {
		have      Def
		same, ask bool
		why       string
	}{
		{Def{Table: "t", Method: "btree", Keys: []Key{Asc("a"), Descending("b")}, Include: []string{"c"}}, true, false, ""},
		{Def{Table: "t", Unique: true, Keys: []Key{Asc("a"), Descending("b")}, Include: []string{"c"}}, false, false, "uniqueness differs"},
		{Def{Table: "t", Method: "hash", Keys: []Key{Asc("a"), Descending("b")}, Include: []string{"c"}}, false, false, "method hash, want btree"},
		{Def{Table: "t", Keys: []Key{Asc("a"), Asc("b")}, Include: []string{"c"}}, false, false, "key 2 ordering differs"},
		{Def{Table: "t", Keys: []Key{Asc("a"), Descending("x")}, Include: []string{"c"}}, false, false, "key 2 is x, want b"},
		{Def{Table: "t", Keys: []Key{Asc("a"), Descending("b")}}, false, false, "INCLUDE (), want (c)"},
		{Def{Table: "t", Keys: []Key{Asc("a"), Descending("b")}, Include: []string{"c"}, Where: "a > 0"}, false, false, "predicate differs"},
		{Def{Table: "t", Keys: []Key{{Expr: "a + 1"}, Descending("b")}, Include: []string{"c"}}, false, false, "key 1: column against expression"},
	} {
		same, ask, why := Match(&tc.have, want)
		if same != tc.same || ask != tc.ask || why != tc.why {
			t.Errorf("Match(%+v) = %v, %v, %q; want %v, %v, %q", tc.have, same, ask, why, tc.same, tc.ask, tc.why)
		}
	}
	expr := &Def{Table: "t", Keys: []Key{{Expr: "lower(e)"}}}
	if same, ask, _ := Match(expr, expr); !same || !ask {
		t.Errorf("two expression indexes: same %v, ask the server %v; want true, true", same, ask)
	}
	named := &Def{Table: "t", Keys: []Key{{Column: "a", Opclass: "int4_ops"}}}
	if same, ask, _ := Match(&Def{Table: "t", Keys: []Key{Asc("a")}}, named); !same || !ask {
		t.Errorf("the catalog's default class against a named one: same %v, ask %v; want true, true", same, ask)
	}
	wide := &Def{Table: "t", Keys: []Key{Asc("a"), Asc("b"), Asc("c")}}
	for _, tc := range []struct {
		want   Def
		covers bool
	}{
		{Def{Table: "t", Keys: []Key{Asc("a"), Asc("b")}}, true},
		{Def{Table: "t", Keys: []Key{Asc("b")}}, false},
		{Def{Table: "t", Keys: []Key{Descending("a")}}, false},
		{Def{Table: "t", Keys: []Key{Asc("a")}, Unique: true}, false},
		{Def{Table: "t", Keys: []Key{Asc("a")}, Where: "a > 0"}, false},
		{Def{Table: "t", Keys: []Key{Asc("a"), Asc("b"), Asc("c")}}, false},
	} {
		if got := Covers(wide, &tc.want); got != tc.covers {
			t.Errorf("Covers((a, b, c), %s) = %v, want %v", tc.want.Describe(), got, tc.covers)
		}
	}
}
