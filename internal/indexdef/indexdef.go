// Package indexdef is the one typed index definition of hishamos-perf: a
// table, key elements (a column or an expression, with its direction,
// NULLS order, operator class and collation), INCLUDE columns, a partial
// index's predicate and an access method. It travels from the advisor
// (indexes propose) through the proposals file to plan, apply, lint, status
// and bench without being re-parsed from text: the one reader of index text
// is internal/sqlscan, which builds a Def from PostgreSQL's own parse tree
// (see docs/architecture.md).
//
// The package is pure Go: it writes SQL and compares definitions, it never
// parses. Its SQL writers quote every identifier; Expr, Where, Opclass and
// Collate are SQL text, written as they are, so a Def from outside the
// process (a proposals file) must be checked by sqlscan.VerifyIndex before
// its SQL is run.
package indexdef

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// DefaultMethod is the access method of an index that names none.
const DefaultMethod = "btree"

// MaxIdentifierLength is the longest name PostgreSQL keeps (NAMEDATALEN-1);
// a longer one is silently truncated, so two long names could collide.
const MaxIdentifierLength = 63

// nameHashLength is how many hex digits of a name's SHA-256 stand in for the
// part ShortenName cuts off: 8 digits keep collisions between cut names
// negligible.
const nameHashLength = 8

// Name is a schema-qualified name of a table or an index, as the catalog
// spells it (no quotes). Schema is empty for a name a statement leaves to
// the search_path.
type Name struct {
	Schema string `json:"schema,omitempty"`
	Name   string `json:"name"`
}

// String is the name as SQL: every part quoted, qualified when Schema is
// set.
func (n Name) String() string { return Qualify(n.Schema, n.Name) }

// QuoteIdent quotes an identifier for SQL, always: between double quotes,
// a double quote inside doubled.
func QuoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// Qualify is schema.name as SQL, every part quoted; name alone when schema
// is empty.
func Qualify(schema, name string) string {
	if schema == "" {
		return QuoteIdent(name)
	}
	return QuoteIdent(schema) + "." + QuoteIdent(name)
}

// Key is one key element of an index: a column or an expression, with its
// ordering.
type Key struct {
	// Column is the column's name as the catalog spells it; empty for an
	// expression.
	Column string `json:"column,omitempty"`
	// Expr is the expression as SQL (PostgreSQL's deparse of it), for an
	// expression key.
	Expr string `json:"expr,omitempty"`
	// Collate and Opclass are the element's collation and operator class
	// as SQL names (a part quoted where it must be); empty for the
	// defaults.
	Collate string `json:"collate,omitempty"`
	Opclass string `json:"opclass,omitempty"`
	// Desc orders the key descending.
	Desc bool `json:"desc,omitempty"`
	// NullsFirst puts NULLs first. PostgreSQL's default is NULLS FIRST for
	// DESC and NULLS LAST otherwise: a key that does not say is Desc.
	NullsFirst bool `json:"nulls_first,omitempty"`
}

// Asc is a column key in PostgreSQL's default order.
func Asc(column string) Key { return Key{Column: column} }

// Descending is a column key ordered DESC with PostgreSQL's default NULLS
// FIRST.
func Descending(column string) Key { return Key{Column: column, Desc: true, NullsFirst: true} }

// SQL is the key as an index element, written as Atlas writes one: the
// column quoted or the expression in parentheses, then COLLATE, the
// operator class, DESC and the NULLS order where it is not the default.
func (k Key) SQL() string {
	var b strings.Builder
	b.WriteString(k.Target())
	if k.Collate != "" {
		b.WriteString(" COLLATE " + k.Collate)
	}
	if k.Opclass != "" {
		b.WriteString(" " + k.Opclass)
	}
	if k.Desc {
		b.WriteString(" DESC")
	}
	switch {
	case k.Desc && !k.NullsFirst:
		b.WriteString(" NULLS LAST")
	case !k.Desc && k.NullsFirst:
		b.WriteString(" NULLS FIRST")
	}
	return b.String()
}

// Target is what the key indexes, without its ordering: the quoted column
// or the expression in parentheses.
func (k Key) Target() string {
	if k.Expr != "" {
		return "(" + k.Expr + ")"
	}
	return QuoteIdent(k.Column)
}

// Def is an index definition.
type Def struct {
	// Schema and Table are the indexed table; Schema is empty for a table
	// left to the search_path (apply refuses such a statement).
	Schema string `json:"schema"`
	Table  string `json:"table"`
	// Name is the index's name, in the table's schema; empty lets
	// PostgreSQL (or HypoPG) choose.
	Name string `json:"name,omitempty"`
	// Unique makes a unique index; NullsNotDistinct makes its NULLs equal.
	Unique           bool `json:"unique,omitempty"`
	NullsNotDistinct bool `json:"nulls_not_distinct,omitempty"`
	// Method is the access method, lower case; empty means btree.
	Method string `json:"method,omitempty"`
	// Keys are the key elements, in order.
	Keys []Key `json:"keys"`
	// Include lists the covering columns (INCLUDE), as the catalog spells
	// them.
	Include []string `json:"include,omitempty"`
	// Where is a partial index's predicate as SQL; empty for a full index.
	Where string `json:"where,omitempty"`
	// Only builds the index ON ONLY a partitioned table: the parent's
	// index, INVALID until an index of every partition is attached to it.
	Only bool `json:"only,omitempty"`
	// Comment says why the index is there; it heads a migration file.
	Comment string `json:"comment,omitempty"`
}

// AccessMethod is the index's access method, btree when none is set.
func (d *Def) AccessMethod() string {
	if d.Method == "" {
		return DefaultMethod
	}
	return strings.ToLower(d.Method)
}

// TableName is the indexed table as a Name.
func (d *Def) TableName() Name { return Name{Schema: d.Schema, Name: d.Table} }

// IndexName is the index as a Name: in the table's schema.
func (d *Def) IndexName() Name { return Name{Schema: d.Schema, Name: d.Name} }

// QualifiedTable is the table as SQL, schema-qualified when a schema is set.
func (d *Def) QualifiedTable() string { return Qualify(d.Schema, d.Table) }

// QualifiedName is the index as SQL, in the table's schema when one is set.
func (d *Def) QualifiedName() string { return Qualify(d.Schema, d.Name) }

// HasExpr reports whether a key is an expression.
func (d *Def) HasExpr() bool {
	for _, k := range d.Keys {
		if k.Expr != "" {
			return true
		}
	}
	return false
}

// Columns lists the key columns, an expression's text for an expression
// key.
func (d *Def) Columns() []string {
	cols := make([]string, len(d.Keys))
	for i, k := range d.Keys {
		cols[i] = k.Column
		if k.Column == "" {
			cols[i] = k.Expr
		}
	}
	return cols
}

// CreateSQL is the CREATE INDEX statement, written as Atlas's PostgreSQL
// driver writes it (so plan's files read as they always have): every
// identifier quoted, the table schema-qualified when a schema is set, the
// method (upper case) only when it is not btree. An empty Name leaves the
// name to PostgreSQL.
func (d *Def) CreateSQL(concurrently, ifNotExists bool) string {
	var b strings.Builder
	b.WriteString("CREATE ")
	if d.Unique {
		b.WriteString("UNIQUE ")
	}
	b.WriteString("INDEX ")
	if concurrently {
		b.WriteString("CONCURRENTLY ")
	}
	if ifNotExists && d.Name != "" {
		b.WriteString("IF NOT EXISTS ")
	}
	if d.Name != "" {
		b.WriteString(QuoteIdent(d.Name) + " ")
	}
	b.WriteString("ON ")
	if d.Only {
		b.WriteString("ONLY ")
	}
	b.WriteString(d.QualifiedTable())
	if m := d.AccessMethod(); m != DefaultMethod {
		b.WriteString(" USING " + methodSQL(m))
	}
	b.WriteString(" (")
	for i, k := range d.Keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k.SQL())
	}
	b.WriteByte(')')
	if len(d.Include) > 0 {
		b.WriteString(" INCLUDE (")
		for i, c := range d.Include {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(QuoteIdent(c))
		}
		b.WriteByte(')')
	}
	if d.NullsNotDistinct {
		b.WriteString(" NULLS NOT DISTINCT")
	}
	if d.Where != "" {
		b.WriteString(" WHERE " + d.Where)
	}
	return b.String()
}

// methodSQL writes an access method as Atlas does, upper case, when that
// reads back as the same name; quoted otherwise.
func methodSQL(m string) string {
	for _, r := range m {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return QuoteIdent(m)
		}
	}
	if m == "" || m[0] >= '0' && m[0] <= '9' {
		return QuoteIdent(m)
	}
	return strings.ToUpper(m)
}

// DropSQL is the DROP INDEX statement of the index.
func (d *Def) DropSQL(concurrently, ifExists bool) string {
	var b strings.Builder
	b.WriteString("DROP INDEX ")
	if concurrently {
		b.WriteString("CONCURRENTLY ")
	}
	if ifExists {
		b.WriteString("IF EXISTS ")
	}
	b.WriteString(d.QualifiedName())
	return b.String()
}

// AttachPartitionSQL attaches a partition's index to its partitioned
// table's index (made ON ONLY the parent), the last step of indexing a
// partitioned table without blocking writes.
func AttachPartitionSQL(parent, child Name) string {
	return "ALTER INDEX " + parent.String() + " ATTACH PARTITION " + child.String()
}

// Describe is the index in one short line, for messages: table (keys)
// INCLUDE (…) WHERE ….
func (d *Def) Describe() string {
	keys := make([]string, len(d.Keys))
	for i, k := range d.Keys {
		keys[i] = k.SQL()
	}
	s := d.QualifiedTable() + " (" + strings.Join(keys, ", ") + ")"
	if len(d.Include) > 0 {
		inc := make([]string, len(d.Include))
		for i, c := range d.Include {
			inc[i] = QuoteIdent(c)
		}
		s += " INCLUDE (" + strings.Join(inc, ", ") + ")"
	}
	if d.Where != "" {
		s += " WHERE " + d.Where
	}
	return s
}

// IndexName is the stable name of an index: <table>_<key>_..._idx, each
// part lower-cased with anything but letters and digits turned into '_'; a
// partial index adds where_<predicate>, so it does not take the name of
// the full index on the same keys. A name longer than PostgreSQL keeps is
// cut to MaxIdentifierLength bytes, ending in a short hash of the whole
// name so it stays unique.
func IndexName(table string, keys []Key, where string) string {
	parts := []string{NamePart(table)}
	for _, k := range keys {
		if k.Expr != "" {
			parts = append(parts, NamePart(k.Expr))
		} else {
			parts = append(parts, NamePart(k.Column))
		}
	}
	if where != "" {
		parts = append(parts, "where", NamePart(where))
	}
	return ShortenName(strings.Join(parts, "_")+"_idx", MaxIdentifierLength)
}

// ShortenName cuts name to max bytes, replacing what it cuts with a short
// hash of the whole name and keeping the _idx suffix. A name that fits is
// returned as it is.
func ShortenName(name string, max int) string {
	if len(name) <= max {
		return name
	}
	h := ShortHash(name)
	suffix := "_" + h + "_idx"
	keep := max - len(suffix)
	if keep < 1 {
		return h[:max]
	}
	prefix := strings.TrimSuffix(name, "_idx")
	if len(prefix) > keep {
		prefix = prefix[:keep]
	}
	return strings.TrimRight(prefix, "_") + suffix
}

// ShortHash is the first hex digits of s's SHA-256, as many as a cut
// name ends in: enough to tell two names apart.
func ShortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:nameHashLength]
}

// NamePart is s as a part of an index name: lowercased, with each run of
// anything but ASCII letters and digits turned into a single '_'.
func NamePart(s string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			under = false
			continue
		}
		if !under && b.Len() > 0 {
			b.WriteByte('_')
			under = true
		}
	}
	return strings.TrimRight(b.String(), "_")
}

// SameKeys reports whether two key lists index the same things in an order
// one index can scan as the other: the same targets with the same
// orderings, or every ordering reversed (a backward scan).
func SameKeys(a, b []Key) bool {
	if len(a) != len(b) {
		return false
	}
	same, reversed := true, true
	for i := range a {
		if a[i].Target() != b[i].Target() || a[i].Collate != b[i].Collate || a[i].Opclass != b[i].Opclass {
			return false
		}
		if a[i].Desc == b[i].Desc && a[i].NullsFirst == b[i].NullsFirst {
			reversed = false
		} else if a[i].Desc != b[i].Desc && a[i].NullsFirst != b[i].NullsFirst {
			same = false
		} else {
			return false
		}
	}
	return same || reversed
}

// KeyPrefix reports whether a's keys are a leading part of b's, compared
// as SameKeys compares them.
func KeyPrefix(a, b []Key) bool {
	return len(a) <= len(b) && SameKeys(a, b[:len(a)])
}

// Match reports whether the existing index have is the index want
// describes, as far as that can be told without the server: uniqueness,
// method, key columns with their orderings and operator classes, INCLUDE,
// and whether there is a predicate. askServer reports that expressions, a
// predicate or an operator class the catalog calls the default are
// involved, which only the server can compare; why says what differs.
func Match(have, want *Def) (same, askServer bool, why string) {
	if have.Unique != want.Unique {
		return false, false, "uniqueness differs"
	}
	if have.AccessMethod() != want.AccessMethod() {
		return false, false, fmt.Sprintf("method %s, want %s", have.AccessMethod(), want.AccessMethod())
	}
	if len(have.Keys) != len(want.Keys) {
		return false, false, fmt.Sprintf("%d key columns, want %d", len(have.Keys), len(want.Keys))
	}
	for i, hk := range have.Keys {
		wk := want.Keys[i]
		switch {
		case (hk.Column == "") != (wk.Column == ""):
			return false, false, fmt.Sprintf("key %d: column against expression", i+1)
		case hk.Column != "" && hk.Column != wk.Column:
			return false, false, fmt.Sprintf("key %d is %s, want %s", i+1, hk.Column, wk.Column)
		case hk.Expr != "":
			askServer = true
		}
		if hk.Desc != wk.Desc || hk.NullsFirst != wk.NullsFirst {
			return false, false, fmt.Sprintf("key %d ordering differs", i+1)
		}
		switch {
		case hk.Opclass == "" && wk.Opclass != "":
			// The catalog says "default"; whether want's named class is
			// the default only the server knows.
			askServer = true
		case hk.Opclass != wk.Opclass:
			return false, false, fmt.Sprintf("key %d operator class %q, want %q", i+1, hk.Opclass, wk.Opclass)
		}
	}
	if strings.Join(have.Include, ",") != strings.Join(want.Include, ",") {
		return false, false, fmt.Sprintf("INCLUDE (%s), want (%s)", strings.Join(have.Include, ", "), strings.Join(want.Include, ", "))
	}
	if (have.Where == "") != (want.Where == "") {
		return false, false, "predicate differs"
	}
	return true, askServer || have.Where != "", ""
}

// Covers reports whether the btree index have can serve what want would:
// want's keys are plain columns and a leading part of have's, in the same
// order and orderings, and want is neither unique, covering nor partial.
func Covers(have, want *Def) bool {
	if have.AccessMethod() != DefaultMethod || want.AccessMethod() != DefaultMethod ||
		have.Where != "" || want.Where != "" || want.Unique || len(want.Include) > 0 {
		return false
	}
	if len(want.Keys) >= len(have.Keys) {
		return false
	}
	for i, k := range want.Keys {
		hk := have.Keys[i]
		if k.Column == "" || hk.Column != k.Column || hk.Desc != k.Desc || hk.NullsFirst != k.NullsFirst || hk.Opclass != k.Opclass {
			return false
		}
	}
	return true
}
