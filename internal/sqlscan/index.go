package sqlscan

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
)

// indexDef takes a CREATE INDEX apart: expressions and the predicate as
// PostgreSQL's deparser writes them, so the same index written two ways is
// one Def.
func indexDef(s *pg_query.IndexStmt) *indexdef.Def {
	d := &indexdef.Def{Name: s.Idxname, Unique: s.Unique, NullsNotDistinct: s.NullsNotDistinct, Method: strings.ToLower(s.AccessMethod)}
	if d.Method == "" {
		d.Method = indexdef.DefaultMethod
	}
	if s.Relation != nil {
		d.Schema, d.Table, d.Only = s.Relation.Schemaname, s.Relation.Relname, !s.Relation.Inh
	}
	for _, p := range s.IndexParams {
		if e := p.GetIndexElem(); e != nil {
			d.Keys = append(d.Keys, indexKey(e))
		}
	}
	for _, p := range s.IndexIncludingParams {
		if e := p.GetIndexElem(); e != nil {
			d.Include = append(d.Include, e.Name)
		}
	}
	if s.WhereClause != nil {
		d.Where = deparseExpr(s.WhereClause)
	}
	return d
}

// indexKey is one index element.
func indexKey(e *pg_query.IndexElem) indexdef.Key {
	k := indexdef.Key{Column: e.Name}
	if e.Expr != nil {
		// An expression over a column alone, "(a)", is the column.
		if ref := e.Expr.GetColumnRef(); ref != nil && len(ref.Fields) == 1 && ref.Fields[0].GetString_() != nil {
			k.Column = ref.Fields[0].GetString_().Sval
		} else {
			k.Expr = deparseExpr(e.Expr)
		}
	}
	k.Collate = nameList(e.Collation)
	k.Opclass = nameList(e.Opclass)
	k.Desc = e.Ordering == pg_query.SortByDir_SORTBY_DESC
	switch e.NullsOrdering {
	case pg_query.SortByNulls_SORTBY_NULLS_FIRST:
		k.NullsFirst = true
	case pg_query.SortByNulls_SORTBY_NULLS_LAST:
		k.NullsFirst = false
	default:
		k.NullsFirst = k.Desc
	}
	return k
}

// nameList writes a qualified name (a collation, an operator class) as
// SQL, each part quoted where it must be.
func nameList(parts []*pg_query.Node) string {
	names := make([]string, 0, len(parts))
	for _, p := range parts {
		if s := p.GetString_(); s != nil {
			names = append(names, QuoteName(s.Sval))
		}
	}
	return strings.Join(names, ".")
}

// DeparseExpr writes an expression node of a tree ParseTree gave as
// PostgreSQL's deparser does; "" when the deparser refuses it.
func DeparseExpr(n *pg_query.Node) string { return deparseExpr(n) }

// deparseExpr writes an expression as PostgreSQL's deparser does, as the
// one target of a SELECT with the SELECT taken off.
func deparseExpr(n *pg_query.Node) string {
	sel := &pg_query.SelectStmt{TargetList: []*pg_query.Node{pg_query.MakeResTargetNodeWithVal(n, 0)},
		LimitOption: pg_query.LimitOption_LIMIT_OPTION_DEFAULT, Op: pg_query.SetOperation_SETOP_NONE}
	out, err := deparse(&pg_query.ParseResult{Version: parserVersion(), Stmts: []*pg_query.RawStmt{{Stmt: &pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: sel}}}}})
	if err != nil {
		// The tree came from the parser: the deparser takes it.
		return ""
	}
	return strings.TrimPrefix(out, "SELECT ")
}

// parserVersion is the PostgreSQL version of pg_query's parser, which its
// deparser wants on the trees it is given.
var parserVersion = sync.OnceValue(func() int32 {
	tree, err := ParseTree("SELECT")
	if err != nil {
		return 0
	}
	return tree.Version
})

var (
	keywordMu   sync.Mutex
	keywordMemo = map[string]bool{}
)

// QuoteName writes a name as SQL, bare when PostgreSQL reads it back as
// itself (lower case letters, digits, '_' and '$', not a keyword that
// cannot name a column) and quoted otherwise.
func QuoteName(name string) string {
	if !plainName(name) || reservedWord(name) {
		return indexdef.QuoteIdent(name)
	}
	return name
}

// plainName reports whether name needs no quotes as far as its characters
// go.
func plainName(name string) bool {
	if name == "" || name[0] >= '0' && name[0] <= '9' || name[0] == '$' {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '$') {
			return false
		}
	}
	return true
}

// reservedWord reports whether the lexer reads name as a keyword that
// cannot stand as a bare column name (reserved, type or function name
// keywords; unreserved ones can).
func reservedWord(name string) bool {
	keywordMu.Lock()
	defer keywordMu.Unlock()
	if v, ok := keywordMemo[name]; ok {
		return v
	}
	kw := true
	if res, err := RawScan(name); err == nil && len(res.Tokens) == 1 {
		switch res.Tokens[0].KeywordKind {
		case pg_query.KeywordKind_NO_KEYWORD, pg_query.KeywordKind_UNRESERVED_KEYWORD:
			kw = false
		}
	}
	keywordMemo[name] = kw
	return kw
}

// probeTable stands for the table when a key or predicate is read inside a
// CREATE INDEX of its own.
const probeTable = "hishamos_perf_probe"

// ErrFragment is a key, predicate or name that is not one whole piece of
// SQL of its kind: it ends early, holds more, or is not SQL.
var ErrFragment = errors.New("not one whole key or expression")

// probeIndex parses sql, which must be one plain CREATE INDEX on the
// probe table, and returns it taken apart.
func probeIndex(sql string) (*pg_query.IndexStmt, error) {
	tree, err := ParseTree(sql)
	if err != nil {
		return nil, err
	}
	if len(tree.Stmts) != 1 || tree.Stmts[0].Stmt.GetIndexStmt() == nil {
		return nil, ErrFragment
	}
	s := tree.Stmts[0].Stmt.GetIndexStmt()
	if s.Relation == nil || s.Relation.Relname != probeTable || s.Relation.Schemaname != "" || s.Idxname != "" ||
		len(s.Options) > 0 || s.TableSpace != "" || s.Unique || s.NullsNotDistinct || s.Concurrent || s.IfNotExists {
		return nil, ErrFragment
	}
	return s, nil
}

// fragmentError words what is wrong with a fragment: the lexer's complaint
// (an open string), else ErrFragment with the parser's.
func fragmentError(fragment string, err error) error {
	if _, lexErr := Scan(fragment); lexErr != nil {
		var se *Error
		if errors.As(lexErr, &se) && !se.Unterminated() {
			// The message names the construct; the offset (in the
			// fragment) adds little.
			return errors.New(se.Msg)
		}
		return lexErr
	}
	if errors.Is(err, ErrFragment) {
		return err
	}
	if se := (*SyntaxError)(nil); errors.As(err, &se) {
		return fmt.Errorf("%w: %v", ErrFragment, se.Msg)
	}
	return fmt.Errorf("%w: %v", ErrFragment, err)
}

// ParseKey reads one key element as a profile or an older proposals file
// writes it, "created_at DESC", `"Order" DESC NULLS LAST`, "lower(email)",
// "(a + b)" or "name varchar_pattern_ops", with PostgreSQL's parser: the
// text must be exactly one index element.
func ParseKey(spec string) (indexdef.Key, error) {
	if strings.TrimSpace(spec) == "" {
		return indexdef.Key{}, errors.New("empty key")
	}
	s, err := probeIndex("CREATE INDEX ON " + probeTable + " (" + spec + "\n)")
	if err != nil {
		return indexdef.Key{}, fragmentError(spec, err)
	}
	if len(s.IndexParams) != 1 || len(s.IndexIncludingParams) > 0 || s.WhereClause != nil {
		return indexdef.Key{}, ErrFragment
	}
	e := s.IndexParams[0].GetIndexElem()
	if e == nil || len(e.Opclassopts) > 0 {
		return indexdef.Key{}, ErrFragment
	}
	return indexKey(e), nil
}

// ParsePredicate reads a partial index's predicate with PostgreSQL's
// parser and returns it as the deparser writes it: the text must be
// exactly one expression, so nothing in it can end the statement it is
// written into or hide another one.
func ParsePredicate(where string) (string, error) {
	if strings.TrimSpace(where) == "" {
		return "", errors.New("empty predicate")
	}
	s, err := probeIndex("CREATE INDEX ON " + probeTable + " (x) WHERE " + where + "\n")
	if err != nil {
		return "", fragmentError(where, err)
	}
	if len(s.IndexParams) != 1 || s.WhereClause == nil {
		return "", ErrFragment
	}
	return deparseExpr(s.WhereClause), nil
}

// ParseName reads a table name as SQL writes it, "orders",
// "public.orders" or `"Odd"."T"`, with PostgreSQL's lexer.
func ParseName(s string) (indexdef.Name, error) {
	toks, err := Scan(s)
	if err != nil {
		return indexdef.Name{}, err
	}
	name := func(t Token) (string, bool) {
		switch t.Kind {
		case Keyword, Ident, QuotedIdent:
			return t.Value, t.Value != ""
		}
		return "", false
	}
	switch {
	case len(toks) == 1:
		if n, ok := name(toks[0]); ok {
			return indexdef.Name{Name: n}, nil
		}
	case len(toks) == 3 && toks[1].Kind == Punct && toks[1].Text == ".":
		sch, ok1 := name(toks[0])
		n, ok2 := name(toks[2])
		if ok1 && ok2 {
			return indexdef.Name{Schema: sch, Name: n}, nil
		}
	}
	return indexdef.Name{}, fmt.Errorf("%q is not a table name", s)
}

// CanonicalIndex reads d's CREATE INDEX back with the parser and returns
// the Def it takes apart into: the same index with its expressions and
// predicate as the deparser writes them. A Def from outside the process (a
// proposals file, a profile) goes through it before its SQL is written
// anywhere: Expr, Where, Opclass and Collate are SQL text, and one that
// closes a parenthesis, starts a comment or ends the statement would
// change what the statement does. Such a Def does not read back as one
// CREATE INDEX of the same shape (name, table, key count, each key's
// column, ordering, class and collation, INCLUDE, a predicate or none),
// and is refused.
func CanonicalIndex(d *indexdef.Def) (indexdef.Def, error) {
	switch {
	case d.Table == "":
		return indexdef.Def{}, errors.New("no table")
	case len(d.Keys) == 0:
		return indexdef.Def{}, errors.New("no key columns")
	}
	for i, k := range d.Keys {
		switch {
		case k.Column == "" && k.Expr == "":
			return indexdef.Def{}, fmt.Errorf("key %d has neither a column nor an expression", i+1)
		case k.Column != "" && k.Expr != "":
			return indexdef.Def{}, fmt.Errorf("key %d has both a column and an expression", i+1)
		}
	}
	sql := d.CreateSQL(false, false)
	p, err := ParseOne(sql)
	if err != nil {
		return indexdef.Def{}, fmt.Errorf("its CREATE INDEX does not read back: %v", err)
	}
	if p.Index == nil {
		return indexdef.Def{}, fmt.Errorf("its CREATE INDEX reads back as %s", p.Kind)
	}
	got := *p.Index
	if !sameShape(&got, d) {
		return indexdef.Def{}, fmt.Errorf("its CREATE INDEX reads back as another index: %s", got.CreateSQL(false, false))
	}
	got.Comment = d.Comment
	return got, nil
}

// sameShape compares got, read back, with the Def it was written from,
// expressions and predicates by presence only (the deparser rewrites
// them); an expression that reads back as a bare column, "(c)", is that
// column.
func sameShape(got, want *indexdef.Def) bool {
	if got.Name != want.Name || got.Schema != want.Schema || got.Table != want.Table || got.Unique != want.Unique ||
		got.NullsNotDistinct != want.NullsNotDistinct || got.AccessMethod() != want.AccessMethod() || got.Only != want.Only ||
		(got.Where == "") != (want.Where == "") || len(got.Keys) != len(want.Keys) ||
		strings.Join(got.Include, "\x00") != strings.Join(want.Include, "\x00") || len(got.Include) != len(want.Include) {
		return false
	}
	for i, g := range got.Keys {
		w := want.Keys[i]
		if w.Column != "" && g.Column != w.Column || g.Opclass != w.Opclass || g.Collate != w.Collate ||
			g.Desc != w.Desc || g.NullsFirst != w.NullsFirst {
			return false
		}
	}
	return true
}
