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

// Def is the spec as the one typed definition, its columns read by
// internal/sqlscan.
func (sp IndexSpec) Def() (indexdef.Def, error) {
	d := indexdef.Def{Include: sp.Include}
	name, err := sqlscan.ParseName(sp.Table)
	if err != nil {
		return d, fmt.Errorf("table %q: %w", sp.Table, err)
	}
	d.Schema, d.Table = name.Schema, name.Name
	if len(sp.Columns) == 0 {
		return d, fmt.Errorf("index on %s has no columns", sp.Table)
	}
	for _, c := range sp.Columns {
		k, err := sqlscan.ParseKey(c)
		if err != nil {
			return d, fmt.Errorf("index on %s: column %q: %w", sp.Table, c, err)
		}
		d.Keys = append(d.Keys, k)
	}
	return d, nil
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
// the existing indexes, with the same parameter values, statistics and
// weights as Propose given the same options, and returns the workload's
// cost with the existing indexes alone and each set's total estimated cost
// (Σ weight × cost), size and statements' costs: a hand-written set beside
// the advisor's. An index is a Def (a proposal's Index, a CREATE INDEX read
// by internal/sqlscan, IndexSpec.Def) on a table of the workload, a btree
// (its key columns, expressions, operator classes, INCLUDE and predicate
// are costed; its name is not). It needs what Propose needs (HypoPG, or
// AllowBuild) and leaves nothing behind.
func CostSets(ctx context.Context, q Querier, w *Workload, sets [][]indexdef.Def, opts Options) (before float64, costs []SetCost, err error) {
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
	for i, defs := range sets {
		var set []*indexDef
		sc := SetCost{}
		for _, def := range defs {
			table := def.Table
			if def.Schema != "" {
				table = def.Schema + "." + def.Table
			}
			t := s.cat.find(table)
			if t == nil {
				return 0, nil, fmt.Errorf("indexes: set %d: no statement of the workload reads table %s", i+1, table)
			}
			if m := def.AccessMethod(); m != indexdef.DefaultMethod {
				return 0, nil, fmt.Errorf("indexes: set %d: index on %s is %s; only btree indexes are costed", i+1, table, m)
			}
			d, err := defOn(t, def.Keys, def.Include)
			if err != nil {
				return 0, nil, fmt.Errorf("indexes: set %d: %w", i+1, err)
			}
			d.where = def.Where
			set = append(set, d)
		}
		total, plans, _, err := s.costSet(ctx, set)
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
		for _, c := range s.stmts {
			sc.Statements = append(sc.Statements, statementCost(c, plans[c.idx].cost))
		}
		sc.Indexes, sc.Cost = len(set), round2(total)
		sc.ImprovementPct = improvement(res.Workload.CostBefore, total)
		costs = append(costs, sc)
	}
	return res.Workload.CostBefore, costs, nil
}
