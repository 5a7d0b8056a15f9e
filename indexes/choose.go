package indexes

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
)

// ErrBadChoice is returned for a choice of proposals that names none of
// them (a number out of range, a name no proposal has) or keeps none.
var ErrBadChoice = errors.New("bad choice of proposals")

// Choice picks some of a list of indexes: Only keeps those it names,
// Exclude drops those it names. Each item is a number as propose prints
// it (1 is the first), a range of them ("2-4"), or an index's name.
type Choice struct {
	Only    []string
	Exclude []string
}

// Empty reports whether the choice keeps everything.
func (c Choice) Empty() bool { return len(c.Only) == 0 && len(c.Exclude) == 0 }

// Choose is the indexes the choice keeps, in their order, and the
// numbers (from 1) they had. An item that names nothing, or a choice that
// keeps nothing, is ErrBadChoice saying which: a typo must not plan a
// different set.
func Choose(defs []indexdef.Def, c Choice) ([]indexdef.Def, []int, error) {
	pick := func(items []string, what string) (map[int]bool, error) {
		if len(items) == 0 {
			return nil, nil
		}
		set := map[int]bool{}
		for _, raw := range items {
			for _, item := range strings.Split(raw, ",") {
				item = strings.TrimSpace(item)
				if item == "" {
					continue
				}
				nums, err := chosen(defs, item)
				if err != nil {
					return nil, fmt.Errorf("%w: %s %s: %v", ErrBadChoice, what, item, err)
				}
				for _, n := range nums {
					set[n] = true
				}
			}
		}
		return set, nil
	}
	only, err := pick(c.Only, "only")
	if err != nil {
		return nil, nil, err
	}
	exclude, err := pick(c.Exclude, "exclude")
	if err != nil {
		return nil, nil, err
	}
	var out []indexdef.Def
	var nums []int
	for i, d := range defs {
		n := i + 1
		if only != nil && !only[n] || exclude[n] {
			continue
		}
		out = append(out, d)
		nums = append(nums, n)
	}
	if len(out) == 0 {
		return nil, nil, fmt.Errorf("%w: it keeps none of the %d", ErrBadChoice, len(defs))
	}
	return out, nums, nil
}

// chosen is the numbers one item names: a number, a range, or a name.
func chosen(defs []indexdef.Def, item string) ([]int, error) {
	inRange := func(n int) error {
		if n < 1 || n > len(defs) {
			return fmt.Errorf("there are %d (1 to %d)", len(defs), len(defs))
		}
		return nil
	}
	if n, err := strconv.Atoi(item); err == nil {
		if err := inRange(n); err != nil {
			return nil, err
		}
		return []int{n}, nil
	}
	if a, b, ok := strings.Cut(item, "-"); ok {
		lo, err1 := strconv.Atoi(a)
		hi, err2 := strconv.Atoi(b)
		if err1 == nil && err2 == nil {
			if lo > hi {
				return nil, errors.New("the range runs backwards")
			}
			if err := inRange(lo); err != nil {
				return nil, err
			}
			if err := inRange(hi); err != nil {
				return nil, err
			}
			var out []int
			for n := lo; n <= hi; n++ {
				out = append(out, n)
			}
			return out, nil
		}
	}
	var out []int
	for i, d := range defs {
		if d.Name == item {
			out = append(out, i+1)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no index has that number or name")
	}
	return out, nil
}

// Keep is the result with only the proposals numbered in nums (from 1),
// in their order, their size as the index size, and a note saying which
// were kept: the workload's costs stay those of the whole set, which was
// costed together.
func (r *Result) Keep(nums []int) *Result {
	out := *r
	out.Proposals = nil
	var kept []string
	out.Workload.IndexBytes = 0
	for _, n := range nums {
		if n >= 1 && n <= len(r.Proposals) {
			out.Proposals = append(out.Proposals, r.Proposals[n-1])
			out.Workload.IndexBytes += r.Proposals[n-1].SizeBytes
			kept = append(kept, strconv.Itoa(n))
		}
	}
	if len(out.Proposals) < len(r.Proposals) {
		out.Notes = append(append([]string(nil), r.Notes...), fmt.Sprintf("kept %d of the %d proposals (%s); the workload's costs above are the whole set's, costed together",
			len(out.Proposals), len(r.Proposals), strings.Join(kept, ", ")))
	}
	return &out
}
