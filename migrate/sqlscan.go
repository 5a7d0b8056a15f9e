package migrate

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// tokKind is the kind of a lexical token of PostgreSQL SQL.
type tokKind int

const (
	tokWord   tokKind = iota // an unquoted identifier or keyword (val lowercased)
	tokQuoted                // a "quoted identifier" (val unescaped)
	tokString                // a string constant: '...', E'...', $tag$...$tag$
	tokNumber                // a numeric constant
	tokPunct                 // ( ) , ; . [ ], operators and $n
)

// token is one lexical token with its place in the source.
type token struct {
	kind  tokKind
	val   string // lowercased for words, unescaped for quoted identifiers
	start int    // byte offset of the token in the source
	end   int    // byte offset just past the token
}

// is reports whether the token is the keyword w (lowercase).
func (t token) is(w string) bool { return t.kind == tokWord && t.val == w }

// punct reports whether the token is the punctuation p.
func (t token) punct(p string) bool { return t.kind == tokPunct && t.val == p }

// ident reports whether the token can name something.
func (t token) ident() bool { return t.kind == tokWord || t.kind == tokQuoted }

// errUnterminated is returned for a quote or comment left open.
var errUnterminated = errors.New("unterminated quote or comment")

// lexError is text PostgreSQL's lexer refuses; it is errUnterminated when
// the text ends inside a quote or comment.
type lexError struct{ err *sqlscan.Error }

func (e lexError) Error() string        { return e.err.Error() }
func (e lexError) Unwrap() error        { return e.err }
func (e lexError) Is(target error) bool { return target == errUnterminated && e.err.Unterminated() }

// lex splits SQL into tokens with PostgreSQL's lexer, dropping comments and
// white space.
func lex(src string) ([]token, error) {
	toks, err := sqlscan.Scan(src)
	if err != nil {
		var se *sqlscan.Error
		if errors.As(err, &se) {
			return nil, lexError{se}
		}
		return nil, err
	}
	out := make([]token, len(toks))
	for i, t := range toks {
		k := tokPunct // punctuation, operators and $n
		switch t.Kind {
		case sqlscan.Keyword, sqlscan.Ident:
			k = tokWord
		case sqlscan.QuotedIdent:
			k = tokQuoted
		case sqlscan.String:
			k = tokString
		case sqlscan.Number:
			k = tokNumber
		case sqlscan.Param:
			t.Value = t.Text
		}
		out[i] = token{kind: k, val: t.Value, start: t.Start, end: t.End}
	}
	return out, nil
}

// IndexKey is one key element of an index: a column or an expression with
// its ordering.
type IndexKey struct {
	// Column is the column name, for a plain column.
	Column string `json:"column,omitempty"`
	// Expr is the expression text, for an expression key.
	Expr string `json:"expr,omitempty"`
	// Collate and Opclass are the element's collation and operator class.
	Collate string `json:"collate,omitempty"`
	Opclass string `json:"opclass,omitempty"`
	// Desc orders the key descending.
	Desc bool `json:"desc,omitempty"`
	// NullsFirst puts NULLs first; PostgreSQL's default is NULLS FIRST for
	// DESC and NULLS LAST otherwise, and the parser fills the default in.
	NullsFirst bool `json:"nulls_first,omitempty"`
}

// String writes the key as an index element, quoting the column.
func (k IndexKey) String() string {
	var b strings.Builder
	if k.Column != "" {
		b.WriteString(quoteIdent(k.Column))
	} else {
		b.WriteString(wrapExpr(k.Expr))
	}
	if k.Collate != "" {
		b.WriteString(" COLLATE " + quoteIdent(k.Collate))
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

// IndexDef is a CREATE INDEX statement taken apart.
type IndexDef struct {
	Name         string     `json:"name"`
	Schema       string     `json:"schema,omitempty"`
	Table        string     `json:"table"`
	Unique       bool       `json:"unique,omitempty"`
	Method       string     `json:"method"`
	Keys         []IndexKey `json:"keys"`
	Include      []string   `json:"include,omitempty"`
	Where        string     `json:"where,omitempty"`
	Concurrently bool       `json:"concurrently"`
	IfNotExists  bool       `json:"if_not_exists,omitempty"`
}

// QualifiedTable is the table as SQL, schema-qualified when a schema is set.
func (d *IndexDef) QualifiedTable() string { return qualify(d.Schema, d.Table) }

// QualifiedName is the index as SQL, in the table's schema when one is set.
func (d *IndexDef) QualifiedName() string { return qualify(d.Schema, d.Name) }

// Columns lists the key columns (expressions as written).
func (d *IndexDef) Columns() []string {
	cols := make([]string, len(d.Keys))
	for i, k := range d.Keys {
		cols[i] = k.Column
		if k.Column == "" {
			cols[i] = k.Expr
		}
	}
	return cols
}

// parser walks the tokens of one statement.
type parser struct {
	src  string
	toks []token
	i    int
}

func (p *parser) peek() token {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return token{kind: tokPunct, val: "", start: len(p.src), end: len(p.src)}
}

func (p *parser) next() token {
	t := p.peek()
	if p.i < len(p.toks) {
		p.i++
	}
	return t
}

func (p *parser) done() bool { return p.i >= len(p.toks) || p.peek().punct(";") }

// accept consumes the keywords ws in order when they are next.
func (p *parser) accept(ws ...string) bool {
	for k, w := range ws {
		if p.i+k >= len(p.toks) || !p.toks[p.i+k].is(w) {
			return false
		}
	}
	p.i += len(ws)
	return true
}

func (p *parser) expect(w string) error {
	if !p.accept(w) {
		return fmt.Errorf("expected %s, found %q", strings.ToUpper(w), p.peek().val)
	}
	return nil
}

// name reads a possibly schema-qualified name.
func (p *parser) name() (schema, name string, err error) {
	t := p.next()
	if !t.ident() {
		return "", "", fmt.Errorf("expected a name, found %q", t.val)
	}
	name = t.val
	if p.peek().punct(".") {
		p.next()
		t2 := p.next()
		if !t2.ident() {
			return "", "", fmt.Errorf("expected a name after %q., found %q", name, t2.val)
		}
		schema, name = name, t2.val
	}
	return schema, name, nil
}

// group returns the tokens inside the parenthesis that opens at the current
// token, consuming it and its closing parenthesis.
func (p *parser) group() (start, end int, inner []token, err error) {
	open := p.next()
	if !open.punct("(") {
		return 0, 0, nil, fmt.Errorf("expected (, found %q", open.val)
	}
	depth, from := 1, p.i
	for p.i < len(p.toks) {
		t := p.next()
		switch {
		case t.punct("(") || t.punct("["):
			depth++
		case t.punct(")") || t.punct("]"):
			depth--
			if depth == 0 {
				return open.end, t.start, p.toks[from : p.i-1], nil
			}
		}
	}
	return 0, 0, nil, errors.New("unbalanced parentheses")
}

// splitTop splits tokens at commas outside parentheses.
func splitTop(toks []token) [][]token {
	var (
		parts [][]token
		depth int
		from  int
	)
	for i, t := range toks {
		switch {
		case t.punct("(") || t.punct("["):
			depth++
		case t.punct(")") || t.punct("]"):
			depth--
		case t.punct(",") && depth == 0:
			parts = append(parts, toks[from:i])
			from = i + 1
		}
	}
	if from < len(toks) {
		parts = append(parts, toks[from:])
	}
	return parts
}

// ParseCreateIndex takes a CREATE INDEX statement apart.
func ParseCreateIndex(stmt string) (*IndexDef, error) {
	toks, err := lex(stmt)
	if err != nil {
		return nil, err
	}
	p := &parser{src: stmt, toks: toks}
	if err := p.expect("create"); err != nil {
		return nil, err
	}
	def := &IndexDef{Method: "btree"}
	def.Unique = p.accept("unique")
	if err := p.expect("index"); err != nil {
		return nil, err
	}
	def.Concurrently = p.accept("concurrently")
	def.IfNotExists = p.accept("if", "not", "exists")
	if !p.peek().is("on") {
		t := p.next()
		if !t.ident() {
			return nil, fmt.Errorf("expected the index name, found %q", t.val)
		}
		def.Name = t.val
	}
	if err := p.expect("on"); err != nil {
		return nil, err
	}
	p.accept("only")
	if def.Schema, def.Table, err = p.name(); err != nil {
		return nil, err
	}
	if p.accept("using") {
		t := p.next()
		if !t.ident() {
			return nil, fmt.Errorf("expected an index method, found %q", t.val)
		}
		def.Method = strings.ToLower(t.val)
	}
	_, _, inner, err := p.group()
	if err != nil {
		return nil, err
	}
	for _, part := range splitTop(inner) {
		k, err := parseKey(stmt, part)
		if err != nil {
			return nil, err
		}
		def.Keys = append(def.Keys, k)
	}
	if len(def.Keys) == 0 {
		return nil, errors.New("an index needs at least one column or expression")
	}
	for !p.done() {
		switch {
		case p.accept("include"):
			_, _, inner, err := p.group()
			if err != nil {
				return nil, err
			}
			for _, part := range splitTop(inner) {
				if len(part) != 1 || !part[0].ident() {
					return nil, errors.New("INCLUDE takes column names only")
				}
				def.Include = append(def.Include, part[0].val)
			}
		case p.accept("nulls", "not", "distinct"), p.accept("nulls", "distinct"):
		case p.accept("with"):
			if _, _, _, err := p.group(); err != nil {
				return nil, err
			}
		case p.accept("tablespace"):
			p.next()
		case p.accept("where"):
			start := p.peek().start
			end := start
			for !p.done() {
				end = p.next().end
			}
			def.Where = strings.TrimSpace(stmt[start:end])
		default:
			return nil, fmt.Errorf("unexpected %q after the index columns", p.peek().val)
		}
	}
	return def, nil
}

// parseKey reads one index element.
func parseKey(src string, toks []token) (IndexKey, error) {
	var k IndexKey
	if len(toks) == 0 {
		return k, errors.New("empty index element")
	}
	i := 0
	switch {
	case toks[0].punct("("):
		depth := 0
		for ; i < len(toks); i++ {
			if toks[i].punct("(") {
				depth++
			} else if toks[i].punct(")") {
				depth--
				if depth == 0 {
					break
				}
			}
		}
		if i == len(toks) {
			return k, errors.New("unbalanced parentheses in an index expression")
		}
		k.Expr = strings.TrimSpace(src[toks[0].end:toks[i].start])
		i++
	case toks[0].ident() && len(toks) > 1 && toks[1].punct("("):
		depth := 0
		j := 1
		for ; j < len(toks); j++ {
			if toks[j].punct("(") {
				depth++
			} else if toks[j].punct(")") {
				depth--
				if depth == 0 {
					break
				}
			}
		}
		if j == len(toks) {
			return k, errors.New("unbalanced parentheses in an index expression")
		}
		k.Expr = strings.TrimSpace(src[toks[0].start:toks[j].end])
		i = j + 1
	case toks[0].ident():
		k.Column = toks[0].val
		i = 1
	default:
		return k, fmt.Errorf("unexpected %q in an index element", toks[0].val)
	}
	nullsSet := false
	for i < len(toks) {
		t := toks[i]
		switch {
		case t.is("collate") && i+1 < len(toks):
			k.Collate = toks[i+1].val
			i += 2
		case t.is("asc"):
			i++
		case t.is("desc"):
			k.Desc = true
			i++
		case t.is("nulls") && i+1 < len(toks) && toks[i+1].is("first"):
			k.NullsFirst, nullsSet = true, true
			i += 2
		case t.is("nulls") && i+1 < len(toks) && toks[i+1].is("last"):
			k.NullsFirst, nullsSet = false, true
			i += 2
		case t.ident():
			// The opclass runs until an ordering keyword.
			j := i
			for j < len(toks) && !toks[j].is("asc") && !toks[j].is("desc") && !toks[j].is("nulls") {
				j++
			}
			if j == i {
				// NULLS without FIRST or LAST.
				return k, fmt.Errorf("unexpected %q in an index element", t.val)
			}
			k.Opclass = strings.TrimSpace(src[t.start:toks[j-1].end])
			i = j
		default:
			return k, fmt.Errorf("unexpected %q in an index element", t.val)
		}
	}
	if !nullsSet {
		k.NullsFirst = k.Desc
	}
	return k, nil
}

// StmtKind classifies a statement for apply and lint.
type StmtKind int

// Statement kinds the package treats specially.
const (
	StmtOther StmtKind = iota
	StmtCreateIndex
	StmtDropIndex
	StmtBegin
	StmtCommit
	StmtAddUnique
	StmtCreateTable
)

// Classified is a statement with what the package needs to know of it.
type Classified struct {
	Kind StmtKind
	// Index is set for StmtCreateIndex.
	Index *IndexDef
	// DropConcurrently and DropNames are set for StmtDropIndex.
	DropConcurrently bool
	DropIfExists     bool
	DropNames        []string
	// Table is the table of StmtAddUnique and StmtCreateTable.
	Table string
}

// Classify tells what a statement does, as far as the package cares.
func Classify(stmt string) (Classified, error) {
	toks, err := lex(stmt)
	if err != nil {
		return Classified{}, err
	}
	p := &parser{src: stmt, toks: toks}
	switch {
	case p.accept("create", "index"), p.accept("create", "unique", "index"):
		def, err := ParseCreateIndex(stmt)
		if err != nil {
			return Classified{Kind: StmtCreateIndex}, err
		}
		return Classified{Kind: StmtCreateIndex, Index: def}, nil
	case p.accept("drop", "index"):
		c := Classified{Kind: StmtDropIndex}
		c.DropConcurrently = p.accept("concurrently")
		c.DropIfExists = p.accept("if", "exists")
		for !p.done() {
			s, n, err := p.name()
			if err != nil {
				return c, err
			}
			c.DropNames = append(c.DropNames, qualify(s, n))
			if !p.peek().punct(",") {
				break
			}
			p.next()
		}
		return c, nil
	case p.accept("begin"), p.accept("start", "transaction"):
		return Classified{Kind: StmtBegin}, nil
	case p.accept("commit"), p.accept("end"), p.accept("rollback"):
		return Classified{Kind: StmtCommit}, nil
	case p.accept("create", "table"), p.accept("create", "unlogged", "table"):
		p.accept("if", "not", "exists")
		s, n, err := p.name()
		if err != nil {
			return Classified{Kind: StmtCreateTable}, nil
		}
		return Classified{Kind: StmtCreateTable, Table: qualify(s, n)}, nil
	case p.accept("alter", "table"):
		p.accept("if", "exists")
		p.accept("only")
		s, n, err := p.name()
		if err != nil {
			return Classified{}, nil
		}
		for p.i < len(p.toks) {
			if p.accept("unique") {
				if !p.peek().is("using") {
					return Classified{Kind: StmtAddUnique, Table: qualify(s, n)}, nil
				}
				continue
			}
			p.next()
		}
		return Classified{}, nil
	}
	return Classified{}, nil
}

// quoteIdent quotes an identifier for SQL.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// qualify quotes a name, prefixed with its schema when there is one.
func qualify(schema, name string) string {
	if schema == "" {
		return quoteIdent(name)
	}
	return quoteIdent(schema) + "." + quoteIdent(name)
}

// wrapExpr puts an index expression in parentheses unless it is a single
// function call, as PostgreSQL prints it.
func wrapExpr(x string) string {
	toks, err := lex(x)
	if err == nil && len(toks) >= 3 && toks[0].ident() && toks[1].punct("(") {
		depth := 0
		for i := 1; i < len(toks); i++ {
			if toks[i].punct("(") {
				depth++
			} else if toks[i].punct(")") {
				depth--
				if depth == 0 {
					if i == len(toks)-1 {
						return x
					}
					break
				}
			}
		}
	}
	return "(" + x + ")"
}

// checkFragment refuses SQL text (an expression or a predicate) that could
// end the statement it is put into or hide another one.
func checkFragment(x string) error {
	toks, err := lex(x)
	if err != nil {
		return err
	}
	depth := 0
	for _, t := range toks {
		switch {
		case t.punct(";"):
			return errors.New("contains ';'")
		case t.punct("("):
			depth++
		case t.punct(")"):
			depth--
			if depth < 0 {
				return errors.New("unbalanced parentheses")
			}
		}
	}
	if depth != 0 {
		return errors.New("unbalanced parentheses")
	}
	// Between tokens lie white space and comments. PostgreSQL allows
	// comments in a fragment, but they make the generated file hard to
	// read and there is no need for them.
	at := 0
	for _, t := range append(toks, token{start: len(x)}) {
		if gap := x[at:t.start]; strings.Contains(gap, "--") || strings.Contains(gap, "/*") {
			return errors.New("contains a comment")
		}
		at = t.end
	}
	return nil
}
