package indexes

import (
	"context"
	"fmt"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// IndexSpec is an index given by hand (a test's set, as JSON) to cost with
// CostSets: a thin input whose columns internal/sqlscan reads, as it reads
// a profile's.
type IndexSpec struct {
	// Table is "table" or "schema.table", as the catalog spells it.
	Table string `json:"table"`
	// Columns are key elements as a profile writes them: a column,
	// optionally followed by DESC or ASC, or an expression.
	Columns []string `json:"columns"`
	// Include are INCLUDE columns.
	Include []string `json:"include,omitempty"`
}

// def turns the spec into a definition on t.
func (sp IndexSpec) def(t *table) (*indexDef, error) {
	if len(sp.Columns) == 0 {
		return nil, fmt.Errorf("index on %s has no columns", sp.Table)
	}
	keys := make([]indexdef.Key, 0, len(sp.Columns))
	for _, c := range sp.Columns {
		k, err := sqlscan.ParseKey(c)
		if err != nil {
			return nil, fmt.Errorf("index on %s: column %q: %w", sp.Table, c, err)
		}
		keys = append(keys, k)
	}
	return defOn(t, keys, sp.Include)
}

// defOn is an index of the given keys and INCLUDE columns on t, each
// column checked to be one of t's.
func defOn(t *table, keys []indexdef.Key, include []string) (*indexDef, error) {
	d := &indexDef{table: t}
	for _, k := range keys {
		if _, ok := t.columns[k.Column]; k.Expr == "" && !ok {
			return nil, fmt.Errorf("table %s has no column %q", t.display(), k.Column)
		}
		d.keys = append(d.keys, k)
	}
	for _, c := range include {
		if _, ok := t.columns[c]; !ok {
			return nil, fmt.Errorf("table %s has no column %q", t.display(), c)
		}
		d.include = append(d.include, c)
	}
	return d, nil
}

// CostSets plans the workload under each index set in turn, each on top of
// the existing indexes, with the same parameter values and statistics, and
// returns each set's total estimated cost (Σ weight × cost) and size. It
// needs what Propose needs (HypoPG, or AllowBuild) and leaves nothing
// behind.
func CostSets(ctx context.Context, q Querier, w *Workload, sets [][]IndexSpec, opts Options) (before float64, costs []SetCost, err error) {
	res := &Result{}
	s, err := openSession(ctx, q, w, opts, res)
	defer func() {
		if cerr := s.close(); cerr != nil && err == nil {
			err = fmt.Errorf("indexes: clean up what-if indexes: %w", cerr)
		}
	}()
	if err != nil {
		return 0, nil, err
	}
	for i, specs := range sets {
		var set []*indexDef
		sc := SetCost{}
		for _, sp := range specs {
			t := s.cat.find(sp.Table)
			if t == nil {
				return 0, nil, fmt.Errorf("indexes: set %d: no statement of the workload reads table %s", i+1, sp.Table)
			}
			d, err := sp.def(t)
			if err != nil {
				return 0, nil, fmt.Errorf("indexes: set %d: %w", i+1, err)
			}
			set = append(set, d)
		}
		total, _, _, err := s.costSet(ctx, set)
		if err != nil {
			return 0, nil, fmt.Errorf("indexes: set %d: %w", i+1, err)
		}
		for _, d := range set {
			b, err := s.e.size(ctx, d)
			if err != nil {
				return 0, nil, fmt.Errorf("indexes: set %d: %w", i+1, err)
			}
			sc.Bytes += b
		}
		sc.Indexes, sc.Cost = len(set), round2(total)
		sc.ImprovementPct = improvement(res.Workload.CostBefore, total)
		costs = append(costs, sc)
	}
	return res.Workload.CostBefore, costs, nil
}
