package indexes

import (
	"errors"
	"slices"
	"testing"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
)

// TestChooseByNumberRangeAndName: --only and --exclude items are numbers
// as propose printed them, ranges and index names; what names nothing, or
// keeps nothing, is refused rather than planning another set.
func TestChooseByNumberRangeAndName(t *testing.T) {
	defs := make([]indexdef.Def, 5)
	for i := range defs {
		defs[i] = indexdef.Def{Table: "t", Name: string(rune('a'+i)) + "_idx", Keys: []indexdef.Key{indexdef.Asc("c")}}
	}
	for _, c := range []struct {
		choice Choice
		want   []int
		err    bool
	}{
		{Choice{Only: []string{"1,3"}}, []int{1, 3}, false},
		{Choice{Only: []string{"1", "3"}}, []int{1, 3}, false},
		{Choice{Exclude: []string{"2"}}, []int{1, 3, 4, 5}, false},
		{Choice{Only: []string{"2-4"}, Exclude: []string{"c_idx"}}, []int{2, 4}, false},
		{Choice{Only: []string{"e_idx", "1"}}, []int{1, 5}, false},
		{Choice{Only: []string{"6"}}, nil, true},
		{Choice{Only: []string{"0"}}, nil, true},
		{Choice{Only: []string{"4-2"}}, nil, true},
		{Choice{Exclude: []string{"nosuch_idx"}}, nil, true},
		{Choice{Exclude: []string{"1-5"}}, nil, true},
	} {
		got, nums, err := Choose(defs, c.choice)
		if c.err {
			if !errors.Is(err, ErrBadChoice) {
				t.Errorf("%+v: err %v, want ErrBadChoice", c.choice, err)
			}
			continue
		}
		if err != nil || !slices.Equal(nums, c.want) || len(got) != len(c.want) || got[0].Name != defs[c.want[0]-1].Name {
			t.Errorf("%+v: %v (%v), want %v", c.choice, nums, err, c.want)
		}
	}
	res := &Result{Proposals: []Proposal{{SizeBytes: 10}, {SizeBytes: 20}, {SizeBytes: 40}}}
	kept := res.Keep([]int{1, 3})
	if len(kept.Proposals) != 2 || kept.Workload.IndexBytes != 50 || len(kept.Notes) != 1 || len(res.Proposals) != 3 {
		t.Errorf("Keep(1, 3) = %d proposals, %d bytes, notes %v; the original %d", len(kept.Proposals), kept.Workload.IndexBytes, kept.Notes, len(res.Proposals))
	}
}
