package migrate

import (
	"strings"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// spec is an index to plan in a test, its key columns written as a
// profile or an older proposals file writes them ("created_at DESC",
// "lower(email)").
type spec struct {
	Name, Schema, Table string
	Columns, Include    []string
	Where               string
	Unique              bool
	Method, Comment     string
}

// def is the spec as an index definition, each column and INCLUDE name
// read by internal/sqlscan; a column it refuses is kept as a raw
// expression, so that the planner's own check meets it.
func (s spec) def() indexdef.Def {
	d := indexdef.Def{Name: s.Name, Schema: s.Schema, Table: s.Table, Where: s.Where,
		Unique: s.Unique, Method: strings.ToLower(s.Method), Comment: s.Comment}
	for _, c := range s.Include {
		// A name as SQL writes it: "In""cl" is In"cl.
		if n, err := sqlscan.ParseName(c); err == nil && n.Schema == "" {
			c = n.Name
		}
		d.Include = append(d.Include, c)
	}
	for _, c := range s.Columns {
		k, err := sqlscan.ParseKey(c)
		if err != nil {
			k = indexdef.Key{Expr: c}
		}
		d.Keys = append(d.Keys, k)
	}
	return d
}

// defs is specs as index definitions.
func defs(specs ...spec) []indexdef.Def {
	out := make([]indexdef.Def, len(specs))
	for i, s := range specs {
		out[i] = s.def()
	}
	return out
}
