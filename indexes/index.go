package indexes

import (
	"sort"
	"strings"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// target is what a key indexes, without its ordering, as the advisor's
// maps of a statement's columns key it: the column's name as the catalog
// spells it, or the expression in parentheses.
func target(k indexdef.Key) string {
	if k.Expr != "" {
		return "(" + k.Expr + ")"
	}
	return k.Column
}

// keyText is a key as proposals show it: a name quoted only when it must
// be (the form `indexes plan` reads), then DESC when descending.
func keyText(k indexdef.Key) string {
	s := k.Expr
	if s == "" {
		s = sqlscan.QuoteName(k.Column)
	}
	if k.Desc {
		s += " DESC"
	}
	return s
}

// indexDef is an index: a table, key elements, INCLUDE columns and a
// partial index's predicate. Candidates, proposals, seed indexes and
// existing indexes all take this form so they compare.
type indexDef struct {
	table   *table
	keys    []indexdef.Key
	include []string
	// where is the predicate as SQL, identifiers quoted.
	where string
	// memo keeps id once computed: a definition does not change after it
	// is first identified.
	memo string
}

// id identifies the definition: same id, same index.
func (d *indexDef) id() string {
	if d.memo == "" {
		d.memo = d.makeID()
	}
	return d.memo
}

func (d *indexDef) makeID() string {
	var b strings.Builder
	b.WriteString(d.table.qualified())
	b.WriteByte('(')
	for i, k := range d.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k.SQL())
	}
	b.WriteByte(')')
	if len(d.include) > 0 {
		inc := append([]string(nil), d.include...)
		sort.Strings(inc)
		b.WriteString(" INCLUDE(" + strings.Join(inc, ",") + ")")
	}
	if d.where != "" {
		b.WriteString(" WHERE " + d.where)
	}
	return b.String()
}

// toDef is the index as the one typed definition: the advisor's indexes
// are btree, their keys in PostgreSQL's default NULLS order. name may be
// empty (HypoPG names its own indexes).
func (d *indexDef) toDef(name string) indexdef.Def {
	return indexdef.Def{Schema: d.table.schema, Table: d.table.name, Name: name, Method: indexdef.DefaultMethod,
		Keys: append([]indexdef.Key(nil), d.keys...), Include: append([]string(nil), d.include...), Where: d.where}
}

// ddl is the CREATE INDEX statement, as indexdef writes it; name may be
// empty (HypoPG names its own indexes).
func (d *indexDef) ddl(name string, concurrently bool) string {
	def := d.toDef(name)
	return def.CreateSQL(concurrently, false)
}

// columns are the keys as proposals show them.
func (d *indexDef) columns() []string {
	out := make([]string, len(d.keys))
	for i, k := range d.keys {
		out[i] = keyText(k)
	}
	return out
}

// keyColumns are the names of the key columns (expressions left out).
func (d *indexDef) keyColumns() []string {
	var out []string
	for _, k := range d.keys {
		if k.Column != "" {
			out = append(out, k.Column)
		}
	}
	return out
}

// includes are the INCLUDE columns as proposals show them.
func (d *indexDef) includes() []string {
	out := make([]string, len(d.include))
	for i, c := range d.include {
		out[i] = sqlscan.QuoteName(c)
	}
	return out
}

// describe is the index in one short line: table (a, b DESC) INCLUDE (c)
// WHERE p.
func (d *indexDef) describe() string {
	s := d.table.display() + " (" + strings.Join(d.columns(), ", ") + ")"
	if len(d.include) > 0 {
		s += " INCLUDE (" + strings.Join(d.includes(), ", ") + ")"
	}
	if d.where != "" {
		s += " WHERE " + d.where
	}
	return s
}

// name is the index's stable name, indexdef.IndexName: <table>_<key>_..._idx,
// lowercased, anything but letters and digits turned into '_', a partial
// index named for its predicate too, cut to 63 bytes with a hash of the
// whole name when longer.
func (d *indexDef) name() string { return indexdef.IndexName(d.table.name, d.keys, d.where) }

// quoteLiteral quotes a string constant for SQL: doubled single quotes, and
// the E” form with doubled backslashes when it holds a backslash, so it
// reads the same whatever standard_conforming_strings says.
func quoteLiteral(s string) string {
	q := "'" + strings.ReplaceAll(s, "'", "''") + "'"
	if strings.Contains(s, `\`) {
		q = "E" + strings.ReplaceAll(q, `\`, `\\`)
	}
	return q
}
