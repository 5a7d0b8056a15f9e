package indexes

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/hishamos/hishamos-perf/internal/sqlscan"
	"github.com/hishamos/hishamos-perf/migrate"
)

// Key is one key element of an index: a column or an expression, ascending
// or descending.
type Key struct {
	// Column is the column's name as the catalog spells it; empty for an
	// expression.
	Column string `json:"column,omitempty"`
	// Expr is an expression over quoted column names (lower("email")).
	Expr string `json:"expr,omitempty"`
	// Desc sorts the key descending.
	Desc bool `json:"desc,omitempty"`
}

// sql is the key as CREATE INDEX takes it, every identifier quoted.
func (k Key) sql() string {
	s := k.Expr
	if s == "" {
		s = quoteIdent(k.Column)
	} else {
		s = "(" + s + ")"
	}
	if k.Desc {
		s += " DESC"
	}
	return s
}

// text is the key as proposals show it: a name quoted only when it must be
// (the form `indexes plan` reads), then DESC when descending.
func (k Key) text() string {
	s := k.Expr
	if s == "" {
		s = quoteIfNeeded(k.Column)
	}
	if k.Desc {
		s += " DESC"
	}
	return s
}

// target is what the key indexes, without its direction.
func (k Key) target() string {
	if k.Expr != "" {
		return "(" + k.Expr + ")"
	}
	return k.Column
}

// indexDef is an index: a table, key elements, INCLUDE columns and a
// partial index's predicate. Candidates, proposals, seed indexes and
// existing indexes all take this form so they compare.
type indexDef struct {
	table   *table
	keys    []Key
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
		b.WriteString(k.sql())
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

// ddl is the CREATE INDEX statement; name may be empty (HypoPG names its
// own indexes).
func (d *indexDef) ddl(name string, concurrently bool) string {
	var b strings.Builder
	b.WriteString("CREATE INDEX ")
	if concurrently {
		b.WriteString("CONCURRENTLY ")
	}
	if name != "" {
		b.WriteString(quoteIdent(name) + " ")
	}
	b.WriteString("ON " + d.table.qualified() + " USING btree (")
	for i, k := range d.keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k.sql())
	}
	b.WriteByte(')')
	if len(d.include) > 0 {
		b.WriteString(" INCLUDE (")
		for i, c := range d.include {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quoteIdent(c))
		}
		b.WriteByte(')')
	}
	if d.where != "" {
		b.WriteString(" WHERE " + d.where)
	}
	return b.String()
}

// columns are the keys as proposals show them.
func (d *indexDef) columns() []string {
	out := make([]string, len(d.keys))
	for i, k := range d.keys {
		out[i] = k.text()
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
		out[i] = quoteIfNeeded(c)
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

// name is the index's stable name, made as `indexes plan` makes it
// (migrate.IndexName): <table>_<key>_..._idx, lowercased, anything but
// letters and digits turned into '_', cut to 63 bytes with a hash of the
// whole name when longer.
func (d *indexDef) name() string {
	parts := []string{migrate.NamePart(d.table.name)}
	for _, k := range d.keys {
		if k.Expr != "" {
			parts = append(parts, migrate.NamePart(k.Expr))
		} else {
			parts = append(parts, migrate.NamePart(k.Column))
		}
	}
	if d.where != "" {
		// A partial index is named for its predicate too, so it does not
		// take the name of the full index on the same keys.
		parts = append(parts, "where", migrate.NamePart(d.where))
	}
	return migrate.ShortenName(strings.Join(parts, "_")+"_idx", migrate.MaxIdentifierLength)
}

// sameKeys reports whether two key lists index the same things in an order
// one index can scan as the other: equal, or every direction reversed (a
// backward scan).
func sameKeys(a, b []Key) bool {
	if len(a) != len(b) {
		return false
	}
	same, reversed := true, true
	for i := range a {
		if a[i].target() != b[i].target() {
			return false
		}
		if a[i].Desc != b[i].Desc {
			same = false
		} else {
			reversed = false
		}
	}
	return same || reversed
}

// keyPrefix reports whether a's keys are a prefix of b's (directions as
// sameKeys compares them).
func keyPrefix(a, b []Key) bool {
	return len(a) <= len(b) && sameKeys(a, b[:len(a)])
}

// shortHashLength is how many hex digits of SHA-256 tell two candidates
// with the same columns apart in their names, as many as migrate's long-name
// hash uses.
const shortHashLength = 8

// shortHash is a few hex digits of a string's SHA-256.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:shortHashLength]
}

// quoteIdent quotes an identifier for SQL, always.
func quoteIdent(name string) string { return pgx.Identifier{name}.Sanitize() }

var (
	plainName   = regexp.MustCompile(`^[a-z_][a-z0-9_$]*$`)
	keywordMu   sync.Mutex
	keywordMemo = map[string]bool{}
)

// quoteIfNeeded leaves a name bare when PostgreSQL reads it back as itself
// (lower case, no special characters, not a reserved word) and quotes it
// otherwise.
func quoteIfNeeded(name string) string {
	if !plainName.MatchString(name) || isKeyword(name) {
		return quoteIdent(name)
	}
	return name
}

// isKeyword reports whether the PostgreSQL scanner reads name as a keyword
// that cannot stand as a bare column name (reserved, type or function name
// keywords; unreserved ones can).
func isKeyword(name string) bool {
	keywordMu.Lock()
	defer keywordMu.Unlock()
	if v, ok := keywordMemo[name]; ok {
		return v
	}
	kw := true
	if res, err := sqlscan.RawScan(name); err == nil && len(res.Tokens) == 1 {
		switch res.Tokens[0].KeywordKind {
		case pg_query.KeywordKind_NO_KEYWORD, pg_query.KeywordKind_UNRESERVED_KEYWORD:
			kw = false
		}
	}
	keywordMemo[name] = kw
	return kw
}

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
