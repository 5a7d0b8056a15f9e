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
	// fixed are where's conjuncts when the advisor made it from a
	// statement's equalities with the application's constants (each
	// `"col" = 'value'`, `"col"` or `NOT "col"`), and fixedCols their
	// columns, in the same order: what surrogate needs. Nil for a
	// predicate read from SQL (an existing index, a profile's).
	fixed     []string
	fixedCols []string
	// memo keeps id once computed: a definition does not change after it
	// is first identified.
	memo string
}

// variant is the index on the same table with the same predicate and
// other keys and INCLUDE columns.
func (d *indexDef) variant(keys []indexdef.Key, include []string) indexDef {
	return indexDef{table: d.table, keys: keys, include: include, where: d.where, fixed: d.fixed, fixedCols: d.fixedCols}
}

// surrogate is what HypoPG is asked to make so that the planner sees a
// partial index of the advisor's: the same index without its WHERE, the
// predicate's columns leading its keys, nil when d is not partial or its
// predicate is not the advisor's equalities (d.fixed).
//
// HypoPG (1.3.1 here, and the 1.4 releases) stores a hypothetical index's
// predicate and expressions with the table as the statement's first
// range-table entry, and does not move them to where the planner sees the
// table: a hypothetical partial index is ignored on a partition read
// through its parent, on a table joined after another and on a table
// read through a view (the planner cannot prove its predicate), and with
// HypoPG 1.4 on PostgreSQL 18 planning a statement through a view with
// one present crashed the server (HypoPG issue 116). So no statement is
// ever planned with a hypothetical partial index present: the surrogate
// stands in for it. For a statement that compares each predicate column
// with the predicate's constant (the only statements mayServe lets a
// partial index serve), the surrogate's scan reads the same entries in the
// same order: a leading equality, then d's keys. Not quite for IS NULL:
// the planner takes no order from the keys after a column compared IS
// NULL, so a partial index WHERE col IS NULL that would serve an ORDER BY
// in its order is costed as if it sorted. Its size is the partial
// index's, estimated by HypoPG on the table alone (hypoPG.create), which
// is sound.
func (d *indexDef) surrogate() *indexDef {
	if len(d.fixedCols) == 0 {
		return nil
	}
	lead := map[string]bool{}
	var keys []indexdef.Key
	for _, c := range d.fixedCols {
		if !lead[c] {
			lead[c] = true
			keys = append(keys, indexdef.Key{Column: c})
		}
	}
	for _, k := range d.keys {
		if k.Expr != "" || !lead[k.Column] {
			keys = append(keys, k)
		}
	}
	var include []string
	for _, c := range d.include {
		if !lead[c] {
			include = append(include, c)
		}
	}
	return &indexDef{table: d.table, keys: keys, include: include}
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
