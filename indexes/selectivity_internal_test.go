package indexes

import (
	"strings"
	"testing"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
)

// TestDemoteBroad: a key of a predicate that kept most rows moves from
// the head of a list to after its first other key, with its role; a list
// of such keys only is no candidate.
func TestDemoteBroad(t *testing.T) {
	list := func(spec string) keyed {
		var k keyed
		if spec == "" {
			return k
		}
		for _, f := range strings.Fields(spec) {
			col, role, _ := strings.Cut(f, ":")
			k.keys = append(k.keys, indexdef.Key{Column: col})
			k.roles = append(k.roles, role)
		}
		return k
	}
	text := func(k keyed) string {
		var out []string
		for i, key := range k.keys {
			out = append(out, key.Column+":"+k.roles[i])
		}
		return strings.Join(out, " ")
	}
	broad := map[string]bool{"status": true, "flag": true}
	for _, c := range []struct{ in, want string }{
		{"status:= created_at:range", "created_at:range status:="},
		{"status:= flag:= created_at:ORDER_BY id:=", "created_at:ORDER_BY status:= flag:= id:="},
		{"tenant:= status:= created_at:range", "tenant:= status:= created_at:range"},
		{"status:= flag:=", ""},
		{"", ""},
	} {
		if got := text(demoteBroad(list(c.in), broad)); got != c.want {
			t.Errorf("demoteBroad(%s) = %q, want %q", c.in, got, c.want)
		}
	}
}
