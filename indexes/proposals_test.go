package indexes_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hishamos/hishamos-perf/indexes"
	"github.com/hishamos/hishamos-perf/internal/indexdef"
)

// TestReadProposals: the proposals contract. A file written since issue 15
// carries each index as an indexdef.Def, which is what plan gets whatever
// the text fields say; a file written before it is read once by
// internal/sqlscan, from its columns (a table with or without its schema,
// the schema found in the definition when the table leaves it out), or
// from its definition alone. The reason (or a hand-written file's
// rationale) becomes the comment that heads the migration file.
func TestReadProposals(t *testing.T) {
	doc := `{"schema":"hishamos-perf/indexes/v1","generated_by":"indexes propose","proposals":[
	  {"table":"agents_agentexecution","columns":["user_id","status","created_at DESC"],"reason":"filter + sort","improvement_percent":52.5,"statements":[]},
	  {"table":"public.agents_agent","columns":["status"],"include":["name"],"where":"status <> 'retired'"},
	  {"definition":"CREATE INDEX ON commands_commandtemplate USING btree (is_active, usage_count DESC)","rationale":"popular"},
	  {"table":"\"Order\"","columns":["status"],"name":"order_status_idx","definition":"CREATE INDEX CONCURRENTLY \"order_status_idx\" ON \"public\".\"Order\" USING btree (\"status\")"},
	  {"schema":"app","table":"t","columns":["ignored"],"name":"t_a_idx","reason":"typed",
	   "index":{"schema":"app","table":"t","name":"t_a_idx","keys":[{"column":"a","desc":true,"nulls_first":true}],"where":"a > 0"}}
	]}`
	res, err := indexes.ReadProposals(strings.NewReader(doc), "proposals.json")
	if err != nil {
		t.Fatal(err)
	}
	want := []indexdef.Def{
		{Table: "agents_agentexecution", Keys: []indexdef.Key{indexdef.Asc("user_id"), indexdef.Asc("status"), indexdef.Descending("created_at")}, Comment: "filter + sort"},
		{Schema: "public", Table: "agents_agent", Keys: []indexdef.Key{indexdef.Asc("status")}, Include: []string{"name"}, Where: "status <> 'retired'"},
		{Table: "commands_commandtemplate", Method: "btree", Keys: []indexdef.Key{indexdef.Asc("is_active"), indexdef.Descending("usage_count")}, Comment: "popular"},
		{Name: "order_status_idx", Schema: "public", Table: "Order", Keys: []indexdef.Key{indexdef.Asc("status")}},
		{Name: "t_a_idx", Schema: "app", Table: "t", Keys: []indexdef.Key{indexdef.Descending("a")}, Where: "a > 0", Comment: "typed"},
	}
	if diff := cmp.Diff(want, res.Defs()); diff != "" {
		t.Errorf("ReadProposals (-want +got):\n%s", diff)
	}
	if res.Schema != indexes.Schema || len(res.Proposals) != len(want) || res.Proposals[3].Name != "order_status_idx" {
		t.Errorf("result %+v", res)
	}
	for _, bad := range []string{
		`{"schema":"hishamos-perf/bench/v1","proposals":[{"table":"t","columns":["a"]}]}`,
		`{"schema":"hishamos-perf/indexes/v1","proposals":[]}`,
		`{"proposals":[{"table":"t"}]}`,
		`{"proposals":[{"table":"a b","columns":["x"]}]}`,
		`{"proposals":[{"table":"t","columns":["a) WHERE (true"]}]}`,
		`{"proposals":[{"definition":"DROP TABLE t"}]}`,
		`{"proposals":[{"schema":"other","definition":"CREATE INDEX ON public.t (a)"}]}`,
		`not json`,
	} {
		if _, err := indexes.ReadProposals(strings.NewReader(bad), "p.json"); !errors.Is(err, indexes.ErrBadProposals) {
			t.Errorf("ReadProposals(%s) = %v, want ErrBadProposals", bad, err)
		}
	}
}
