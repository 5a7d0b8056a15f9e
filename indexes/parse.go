package indexes

import (
	"sort"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// colRef is a column as a statement names it: an optional qualifier (an
// alias, a table, or schema and table) and the column's name.
type colRef struct {
	qual []string
	name string
}

// relRef is a table as a statement's FROM names it.
type relRef struct {
	schema, name, alias string
}

// predKind is what an index can do with a predicate.
type predKind int

const (
	// predEq: col = value, col IS NULL: an equality an index key matches.
	predEq predKind = iota
	// predIn: col IN (...), col = ANY(...): equality with several values.
	predIn
	// predRange: col < value, col >= value, BETWEEN.
	predRange
	// predJoin: a.col = b.col: an equality for a nested-loop inner side.
	predJoin
)

// pred is one indexable conjunct of a WHERE or JOIN ... ON.
type pred struct {
	kind predKind
	col  colRef
	// expr is, for a predicate on an expression of the column
	// (UPPER("t"."email"::text) = x, date_trunc('day', at) >= x), the
	// expression as an index key writes it: deparsed, the column
	// unqualified, so the planner matches the index with the statement.
	// relabel marks a mere cast to a string type (Django's "t"."c"::text),
	// which is the column itself when the column is of a string type.
	expr    string
	relabel bool
	// pattern marks col LIKE 'prefix%': a range an index serves in the
	// collation's byte order only (the C collation, else a
	// text_pattern_ops key).
	pattern bool
	// cond is, for a predicate on an expression, the whole condition as
	// the statement writes it: the real selectivity of the expression,
	// which the planner cannot know without the index's statistics, is
	// measured with it (see exprs.go).
	cond *pg_query.Node
	// op is the comparison (=, <, <=, >, >=), as if the column were on the
	// left.
	op string
	// params are the $n the predicate compares with; array reports a single
	// array parameter (= ANY($1)).
	params []int
	array  bool
	// konst is the constant predicate's SQL when the predicate compares with
	// a literal (or is a bare boolean column): a partial index's WHERE.
	// lit is the literal as text and litKind what it is ("string",
	// "bool", "number"): only a rare string or boolean value written in a
	// file's statement is taken for a constant of the application.
	konst, lit, litKind string
	// other is the other column of a join predicate.
	other colRef
}

// sortKey is an ORDER BY element on a column.
type sortKey struct {
	col  colRef
	desc bool
}

// block is one query level: a SELECT (or the body of an UPDATE or DELETE)
// with its own FROM.
type block struct {
	rels  []relRef
	preds []pred
	order []sortKey
	// orderOK is false when ORDER BY holds something an index cannot give
	// (an expression, an aggregate, a position beyond the target list).
	orderOK bool
	group   []colRef
	// refs are every column the block reads, for INCLUDE.
	refs []colRef
	// conds are the columns of the conditions not kept as predicates (an
	// OR, LIKE, IS NOT NULL, <>, a function of a column): an index on one
	// of them may still serve the condition.
	conds []colRef
	// star holds the qualifiers of t.* and "" for a bare * in the target
	// list: all columns of those tables are read.
	star  []string
	limit bool
}

// query is what the advisor learns from one statement's parse tree.
type query struct {
	// command is SELECT, UPDATE or DELETE.
	command string
	// text is the statement's text: an EXPLAIN's is the statement it
	// explains, which explained says it was. plan is the text the server
	// plans (sqlscan's PlanText: normalized typed literals as casts).
	text, plan string
	explained  bool
	blocks     []*block
	// target is the table an UPDATE or DELETE writes; set are the columns
	// an UPDATE assigns.
	target *relRef
	set    []string
	// limitParams are the $n of LIMIT and OFFSET.
	limitParams map[int]string
	// maxParam is the highest $n.
	maxParam int
	// ctes are the names WITH defines: FROM entries with these names are
	// not tables.
	ctes map[string]bool
}

// skipReason says why a statement is not worth costing; empty when it is.
func (q *query) skipReason() string {
	switch q.command {
	case "SELECT":
		for _, b := range q.blocks {
			if len(b.rels) > 0 && (len(b.preds) > 0 || len(b.order) > 0 || len(b.group) > 0) {
				return ""
			}
		}
		return "a SELECT with nothing an index serves (no WHERE, join, ORDER BY or GROUP BY on a table)"
	case "UPDATE", "DELETE":
		if len(q.blocks) == 0 || len(q.blocks[0].preds) == 0 {
			return q.command + " without a WHERE clause an index can serve"
		}
		return ""
	}
	return ""
}

// relationNames lists the tables the statement names, sorted, once each.
func (q *query) relationNames() string {
	seen := map[string]bool{}
	var names []string
	for _, b := range q.blocks {
		for _, r := range b.rels {
			n := r.schema + "." + r.name
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

// parseQuery takes one statement apart for the advisor, reading the tree
// internal/sqlscan parsed and classified it into (the statement is never
// parsed twice). Text the lexer or parser refuses is sqlscan's error; more
// or fewer than one statement is a *sqlscan.CountError.
//
// An EXPLAIN (developers run them, and pg_stat_statements keeps them) is
// the statement it explains: the advisor reads, plans and counts that.
func parseQuery(sql string) (*query, error) {
	p, err := sqlscan.ParseOne(sql)
	if err != nil {
		return nil, err
	}
	q := &query{limitParams: map[int]string{}, ctes: map[string]bool{}}
	if p.Kind == sqlscan.KindExplain && p.Inner != nil {
		p, q.explained = *p.Inner, true
	}
	q.text, q.plan = p.Text, p.PlanText
	node := p.Tree.Stmt
	switch {
	case node.GetSelectStmt() != nil:
		q.command = "SELECT"
		q.selectStmt(node.GetSelectStmt())
	case node.GetUpdateStmt() != nil:
		u := node.GetUpdateStmt()
		q.command = "UPDATE"
		q.with(u.WithClause)
		b := &block{orderOK: true}
		rel := rangeVar(u.Relation)
		q.target = &rel
		b.rels = append(b.rels, rel)
		for _, f := range u.FromClause {
			q.from(b, f)
		}
		for _, t := range u.TargetList {
			if rt := t.GetResTarget(); rt != nil && rt.Name != "" {
				q.set = append(q.set, rt.Name)
				q.refsOf(b, rt.Val)
			}
		}
		q.where(b, u.WhereClause)
		q.blocks = append([]*block{b}, q.blocks...)
	case node.GetDeleteStmt() != nil:
		d := node.GetDeleteStmt()
		q.command = "DELETE"
		q.with(d.WithClause)
		b := &block{orderOK: true}
		rel := rangeVar(d.Relation)
		q.target = &rel
		b.rels = append(b.rels, rel)
		for _, f := range d.UsingClause {
			q.from(b, f)
		}
		q.where(b, d.WhereClause)
		q.blocks = append([]*block{b}, q.blocks...)
	default:
		q.command = string(p.Kind)
	}
	if n := len(p.Params); n > 0 {
		q.maxParam = p.Params[n-1]
	}
	return q, nil
}

func rangeVar(rv *pg_query.RangeVar) relRef {
	r := relRef{schema: rv.Schemaname, name: rv.Relname}
	if rv.Alias != nil {
		r.alias = rv.Alias.Aliasname
	}
	return r
}

func (q *query) with(w *pg_query.WithClause) {
	if w == nil {
		return
	}
	for _, c := range w.Ctes {
		cte := c.GetCommonTableExpr()
		if cte == nil {
			continue
		}
		q.ctes[cte.Ctename] = true
		q.subquery(cte.Ctequery)
	}
}

// subquery analyses a nested statement as blocks of its own.
func (q *query) subquery(n *pg_query.Node) {
	if n == nil {
		return
	}
	if s := n.GetSelectStmt(); s != nil {
		q.selectStmt(s)
	}
}

func (q *query) selectStmt(s *pg_query.SelectStmt) {
	q.with(s.WithClause)
	if s.Op != pg_query.SetOperation_SETOP_NONE && s.Op != pg_query.SetOperation_SET_OPERATION_UNDEFINED {
		if s.Larg != nil {
			q.selectStmt(s.Larg)
		}
		if s.Rarg != nil {
			q.selectStmt(s.Rarg)
		}
		return
	}
	if len(s.ValuesLists) > 0 {
		return
	}
	b := &block{orderOK: true}
	q.blocks = append(q.blocks, b)
	for _, f := range s.FromClause {
		q.from(b, f)
	}
	var targets []*pg_query.Node
	for _, t := range s.TargetList {
		rt := t.GetResTarget()
		if rt == nil {
			continue
		}
		targets = append(targets, rt.Val)
		if cr := rt.Val.GetColumnRef(); cr != nil {
			if ref, star := columnRef(cr); star {
				b.star = append(b.star, strings.Join(ref.qual, "."))
				continue
			}
		}
		q.refsOf(b, rt.Val)
	}
	q.where(b, s.WhereClause)
	for _, g := range s.GroupClause {
		if cr := g.GetColumnRef(); cr != nil {
			if ref, star := columnRef(cr); !star {
				b.group = append(b.group, ref)
				b.refs = append(b.refs, ref)
				continue
			}
		}
		q.refsOf(b, g)
	}
	q.refsOf(b, s.HavingClause)
	for _, o := range s.SortClause {
		sb := o.GetSortBy()
		if sb == nil {
			b.orderOK = false
			continue
		}
		node := sb.Node
		if c := node.GetAConst(); c != nil && c.GetIval() != nil {
			// ORDER BY 2: the target list's second entry.
			pos := int(c.GetIval().Ival)
			if pos >= 1 && pos <= len(targets) {
				node = targets[pos-1]
			}
		}
		cr := node.GetColumnRef()
		ref, star := columnRef(cr)
		if cr == nil || star || sb.SortbyDir == pg_query.SortByDir_SORTBY_USING ||
			!defaultNulls(sb.SortbyDir, sb.SortbyNulls) {
			b.orderOK = false
			q.refsOf(b, sb.Node)
			continue
		}
		b.order = append(b.order, sortKey{col: ref, desc: sb.SortbyDir == pg_query.SortByDir_SORTBY_DESC})
		b.refs = append(b.refs, ref)
	}
	if s.LimitCount != nil {
		b.limit = true
		if p := paramOf(s.LimitCount); p > 0 {
			q.limitParams[p] = "limit"
		}
	}
	if s.LimitOffset != nil {
		if p := paramOf(s.LimitOffset); p > 0 {
			q.limitParams[p] = "offset"
		}
	}
}

// defaultNulls reports whether NULLS FIRST/LAST is what a btree gives for
// the direction anyway (NULLS LAST ascending, NULLS FIRST descending).
func defaultNulls(dir pg_query.SortByDir, nulls pg_query.SortByNulls) bool {
	switch nulls {
	case pg_query.SortByNulls_SORTBY_NULLS_FIRST:
		return dir == pg_query.SortByDir_SORTBY_DESC
	case pg_query.SortByNulls_SORTBY_NULLS_LAST:
		return dir != pg_query.SortByDir_SORTBY_DESC
	}
	return true
}

func (q *query) from(b *block, n *pg_query.Node) {
	switch {
	case n.GetRangeVar() != nil:
		r := rangeVar(n.GetRangeVar())
		if r.schema == "" && q.ctes[r.name] {
			return
		}
		b.rels = append(b.rels, r)
	case n.GetJoinExpr() != nil:
		j := n.GetJoinExpr()
		q.from(b, j.Larg)
		q.from(b, j.Rarg)
		q.where(b, j.Quals)
	case n.GetRangeSubselect() != nil:
		q.subquery(n.GetRangeSubselect().Subquery)
	}
}

// where splits a condition into conjuncts and keeps the indexable ones.
func (q *query) where(b *block, n *pg_query.Node) {
	if n == nil {
		return
	}
	switch {
	case n.GetBoolExpr() != nil:
		be := n.GetBoolExpr()
		switch be.Boolop {
		case pg_query.BoolExprType_AND_EXPR:
			for _, a := range be.Args {
				q.where(b, a)
			}
			return
		case pg_query.BoolExprType_NOT_EXPR:
			if len(be.Args) == 1 {
				if ref, ok := plainColumn(be.Args[0]); ok {
					b.preds = append(b.preds, pred{kind: predEq, col: ref, op: "=", konst: "NOT " + indexdef.QuoteIdent(ref.name), lit: "false", litKind: litBool})
					b.refs = append(b.refs, ref)
					return
				}
			}
		}
	case n.GetColumnRef() != nil:
		if ref, ok := plainColumn(n); ok {
			// A bare boolean column: WHERE "is_active".
			b.preds = append(b.preds, pred{kind: predEq, col: ref, op: "=", konst: indexdef.QuoteIdent(ref.name), lit: "true", litKind: litBool})
			b.refs = append(b.refs, ref)
			return
		}
	case n.GetBooleanTest() != nil:
		bt := n.GetBooleanTest()
		if ref, ok := plainColumn(bt.Arg); ok {
			switch bt.Booltesttype {
			case pg_query.BoolTestType_IS_TRUE:
				b.preds = append(b.preds, pred{kind: predEq, col: ref, op: "=", konst: indexdef.QuoteIdent(ref.name), lit: "true", litKind: litBool})
				b.refs = append(b.refs, ref)
				return
			case pg_query.BoolTestType_IS_FALSE:
				b.preds = append(b.preds, pred{kind: predEq, col: ref, op: "=", konst: "NOT " + indexdef.QuoteIdent(ref.name), lit: "false", litKind: litBool})
				b.refs = append(b.refs, ref)
				return
			}
		}
	case n.GetNullTest() != nil:
		nt := n.GetNullTest()
		if ref, ok := plainColumn(nt.Arg); ok && nt.Nulltesttype == pg_query.NullTestType_IS_NULL {
			b.preds = append(b.preds, pred{kind: predEq, col: ref, op: "=", konst: indexdef.QuoteIdent(ref.name) + " IS NULL"})
			b.refs = append(b.refs, ref)
			return
		}
	case n.GetAExpr() != nil:
		if q.aExpr(b, n.GetAExpr()) {
			return
		}
	case n.GetSubLink() != nil:
		sl := n.GetSubLink()
		if op := operName(sl.OperName); sl.SubLinkType == pg_query.SubLinkType_ANY_SUBLINK && (op == "=" || op == "") {
			if ref, ok := plainColumn(sl.Testexpr); ok {
				b.preds = append(b.preds, pred{kind: predIn, col: ref, op: "="})
				b.refs = append(b.refs, ref)
				q.subquery(sl.Subselect)
				return
			}
		}
	}
	before := len(b.refs)
	q.refsOf(b, n)
	b.conds = append(b.conds, b.refs[before:]...)
}

// aExpr keeps an operator predicate; it reports whether it did.
func (q *query) aExpr(b *block, e *pg_query.A_Expr) bool {
	op := operName(e.Name)
	switch e.Kind {
	case pg_query.A_Expr_Kind_AEXPR_OP:
		if !indexableOp(op) {
			return false
		}
		lc, lfn, lok := columnSide(e.Lexpr)
		rc, rfn, rok := columnSide(e.Rexpr)
		switch {
		case lok && rok:
			if op != "=" || lfn.expr != "" || rfn.expr != "" {
				return false
			}
			b.preds = append(b.preds, pred{kind: predJoin, col: lc, other: rc, op: "="},
				pred{kind: predJoin, col: rc, other: lc, op: "="})
			b.refs = append(b.refs, lc, rc)
			return true
		case lok:
			return q.compare(b, lc, lfn, op, e.Rexpr, e)
		case rok:
			return q.compare(b, rc, rfn, flipOp(op), e.Lexpr, e)
		}
	case pg_query.A_Expr_Kind_AEXPR_IN:
		if op != "=" {
			return false
		}
		ref, fn, ok := columnSide(e.Lexpr)
		list := e.Rexpr.GetList()
		if !ok || list == nil {
			return false
		}
		p := pred{kind: predIn, col: ref, expr: fn.expr, relabel: fn.relabel, op: "=", cond: condOf(fn, e)}
		for _, item := range list.Items {
			if !isValue(item) {
				return false
			}
			if n := paramOf(item); n > 0 {
				p.params = append(p.params, n)
			}
		}
		b.preds = append(b.preds, p)
		b.refs = append(b.refs, ref)
		return true
	case pg_query.A_Expr_Kind_AEXPR_OP_ANY:
		ref, fn, ok := columnSide(e.Lexpr)
		if !ok || op != "=" || !isValue(e.Rexpr) {
			return false
		}
		p := pred{kind: predIn, col: ref, expr: fn.expr, relabel: fn.relabel, op: "=", array: true, cond: condOf(fn, e)}
		if n := paramOf(e.Rexpr); n > 0 {
			p.params = []int{n}
		}
		b.preds = append(b.preds, p)
		b.refs = append(b.refs, ref)
		return true
	case pg_query.A_Expr_Kind_AEXPR_BETWEEN:
		ref, fn, ok := columnSide(e.Lexpr)
		list := e.Rexpr.GetList()
		if !ok || list == nil || len(list.Items) != 2 || !isValue(list.Items[0]) || !isValue(list.Items[1]) {
			return false
		}
		lo := pred{kind: predRange, col: ref, expr: fn.expr, relabel: fn.relabel, op: ">=", cond: condOf(fn, e)}
		hi := lo
		hi.op = "<="
		if n := paramOf(list.Items[0]); n > 0 {
			lo.params = []int{n}
		}
		if n := paramOf(list.Items[1]); n > 0 {
			hi.params = []int{n}
		}
		b.preds = append(b.preds, lo, hi)
		b.refs = append(b.refs, ref)
		return true
	case pg_query.A_Expr_Kind_AEXPR_LIKE:
		// col LIKE 'abc%': a range of the prefix, in byte order.
		ref, fn, ok := columnSide(e.Lexpr)
		if !ok || op != "~~" || likePrefix(e.Rexpr) == "" {
			return false
		}
		b.preds = append(b.preds, pred{kind: predRange, col: ref, expr: fn.expr, relabel: fn.relabel, op: ">=", pattern: true, cond: condOf(fn, e)})
		b.refs = append(b.refs, ref)
		return true
	}
	return false
}

// condOf is the condition of a predicate on an expression, nil for a
// column's.
func condOf(fn side, e *pg_query.A_Expr) *pg_query.Node {
	if fn.expr == "" {
		return nil
	}
	return &pg_query.Node{Node: &pg_query.Node_AExpr{AExpr: e}}
}

// likePrefix is the fixed start of a LIKE pattern written as a literal
// (or a function of one, UPPER('abc%')): what comes before its first
// wildcard; empty when it starts with one or is not a literal.
func likePrefix(n *pg_query.Node) string {
	if fc := n.GetFuncCall(); fc != nil && len(fc.Args) == 1 {
		n = fc.Args[0]
	}
	if tc := n.GetTypeCast(); tc != nil {
		n = tc.Arg
	}
	c := n.GetAConst()
	if c == nil || c.GetSval() == nil {
		return ""
	}
	pat := c.GetSval().Sval
	var b strings.Builder
	for i := 0; i < len(pat); i++ {
		switch pat[i] {
		case '%', '_':
			return b.String()
		case '\\':
			if i+1 < len(pat) {
				i++
			}
		}
		b.WriteByte(pat[i])
	}
	return b.String()
}

// compare keeps col op value.
func (q *query) compare(b *block, ref colRef, fn side, op string, value *pg_query.Node, e *pg_query.A_Expr) bool {
	if !isValue(value) {
		return false
	}
	p := pred{col: ref, expr: fn.expr, relabel: fn.relabel, op: op, kind: predRange, cond: condOf(fn, e)}
	if op == "=" {
		p.kind = predEq
	}
	if n := paramOf(value); n > 0 {
		p.params = []int{n}
	} else if lit, ok := literalSQL(value); ok && op == "=" && (fn.expr == "" || fn.relabel) {
		p.konst = indexdef.QuoteIdent(ref.name) + " = " + lit
		p.lit, p.litKind = literalValue(value)
	}
	b.preds = append(b.preds, p)
	b.refs = append(b.refs, ref)
	return true
}

func indexableOp(op string) bool {
	switch op {
	case "=", "<", "<=", ">", ">=":
		return true
	}
	return false
}

func flipOp(op string) string {
	switch op {
	case "<":
		return ">"
	case "<=":
		return ">="
	case ">":
		return "<"
	case ">=":
		return "<="
	}
	return op
}

func operName(names []*pg_query.Node) string {
	if len(names) == 0 {
		return ""
	}
	return names[len(names)-1].GetString_().GetSval()
}

// side is what a comparison side is besides its column: nothing for the
// column itself, else the expression an index key must be (see pred).
type side struct {
	expr    string
	relabel bool
}

// stringTypes are the types a cast to which Django and others write on a
// string column ("t"."c"::text): binary-compatible, the planner reads the
// column through it.
var stringTypes = map[string]bool{"text": true, "varchar": true}

// columnSide reads a comparison side that an index key can match: a
// column, or an expression of one column (a cast, lower()/upper(), any
// function or operator of it and of constants: UPPER("t"."email"::text),
// date_trunc('day', at), (data->>'k')), whose key is the expression as
// written, so that the planner matches an index on it with the statement.
// Whether the server can index the expression (its functions must be
// IMMUTABLE) is the server's to say.
func columnSide(n *pg_query.Node) (colRef, side, bool) {
	if n == nil {
		return colRef{}, side{}, false
	}
	if ref, ok := plainColumn(n); ok {
		return ref, side{}, true
	}
	ref, ok := oneColumn(n)
	if !ok {
		return colRef{}, side{}, false
	}
	expr := keyExpr(n)
	if expr == "" {
		return colRef{}, side{}, false
	}
	sd := side{expr: expr}
	if tc := n.GetTypeCast(); tc != nil && tc.TypeName != nil && len(tc.TypeName.Names) > 0 && len(tc.TypeName.Typmods) == 0 {
		if _, plain := plainColumn(tc.Arg); plain && stringTypes[tc.TypeName.Names[len(tc.TypeName.Names)-1].GetString_().GetSval()] {
			sd.relabel = true
		}
	}
	return ref, sd, true
}

// oneColumn reports whether an expression reads exactly one column (once
// or more) and nothing that varies while an index is scanned or that an
// index cannot hold: no parameter, subquery, aggregate, window or *.
func oneColumn(n *pg_query.Node) (colRef, bool) {
	var ref colRef
	found, ok := false, true
	sqlscan.Walk(n, func(m proto.Message) bool {
		if !ok {
			return false
		}
		switch v := m.(type) {
		case *pg_query.ColumnRef:
			r, star := columnRef(v)
			switch {
			case star:
				ok = false
			case found && (r.name != ref.name || strings.Join(r.qual, ".") != strings.Join(ref.qual, ".")):
				ok = false
			}
			ref, found = r, true
			return false
		case *pg_query.ParamRef, *pg_query.SubLink:
			ok = false
		case *pg_query.FuncCall:
			if v.AggStar || v.AggFilter != nil || v.Over != nil || v.AggDistinct || len(v.AggOrder) > 0 {
				ok = false
			}
		}
		return ok
	})
	return ref, ok && found
}

// keyExpr is an expression of one column as an index key writes it: the
// column unqualified, deparsed as PostgreSQL's deparser writes it.
func keyExpr(n *pg_query.Node) string {
	c := proto.Clone(n).(*pg_query.Node)
	sqlscan.Walk(c, func(m proto.Message) bool {
		if cr, ok := m.(*pg_query.ColumnRef); ok && len(cr.Fields) > 1 {
			cr.Fields = cr.Fields[len(cr.Fields)-1:]
		}
		return true
	})
	return sqlscan.DeparseExpr(c)
}

// plainColumn reads a column reference (not t.*).
func plainColumn(n *pg_query.Node) (colRef, bool) {
	if n == nil {
		return colRef{}, false
	}
	cr := n.GetColumnRef()
	if cr == nil {
		return colRef{}, false
	}
	ref, star := columnRef(cr)
	return ref, !star
}

func columnRef(cr *pg_query.ColumnRef) (ref colRef, star bool) {
	if cr == nil {
		return colRef{}, false
	}
	var parts []string
	for _, f := range cr.Fields {
		if f.GetAStar() != nil {
			return colRef{qual: parts}, true
		}
		parts = append(parts, f.GetString_().GetSval())
	}
	if len(parts) == 0 {
		return colRef{}, false
	}
	return colRef{qual: parts[:len(parts)-1], name: parts[len(parts)-1]}, false
}

// isValue reports whether a comparison side is a constant or parameter
// (possibly cast): something fixed while the index is scanned.
func isValue(n *pg_query.Node) bool {
	if n == nil {
		return false
	}
	if tc := n.GetTypeCast(); tc != nil {
		return isValue(tc.Arg)
	}
	if n.GetAConst() != nil || n.GetParamRef() != nil {
		return true
	}
	if fc := n.GetFuncCall(); fc != nil {
		// now(), current_date and friends are stable: fine for an index scan.
		for _, a := range fc.Args {
			if !isValue(a) {
				return false
			}
		}
		return !fc.AggStar && fc.Over == nil
	}
	if n.GetSqlvalueFunction() != nil {
		return true
	}
	if ae := n.GetAExpr(); ae != nil && ae.Kind == pg_query.A_Expr_Kind_AEXPR_OP {
		return (ae.Lexpr == nil || isValue(ae.Lexpr)) && isValue(ae.Rexpr)
	}
	if ar := n.GetAArrayExpr(); ar != nil {
		for _, e := range ar.Elements {
			if !isValue(e) {
				return false
			}
		}
		return true
	}
	return false
}

// paramOf returns n for $n (possibly cast), else 0.
func paramOf(n *pg_query.Node) int {
	if n == nil {
		return 0
	}
	if tc := n.GetTypeCast(); tc != nil {
		return paramOf(tc.Arg)
	}
	if p := n.GetParamRef(); p != nil {
		return int(p.Number)
	}
	return 0
}

// Kinds of literal (pred.litKind).
const (
	litString = "string"
	litBool   = "bool"
	litNumber = "number"
)

// literalValue is a literal's value as text and what kind it is.
func literalValue(n *pg_query.Node) (string, string) {
	if tc := n.GetTypeCast(); tc != nil {
		n = tc.Arg
	}
	c := n.GetAConst()
	switch {
	case c == nil:
		return "", ""
	case c.GetSval() != nil:
		return c.GetSval().Sval, litString
	case c.GetBoolval() != nil:
		return strconv.FormatBool(c.GetBoolval().Boolval), litBool
	case c.GetIval() != nil:
		return strconv.FormatInt(int64(c.GetIval().Ival), 10), litNumber
	case c.GetFval() != nil:
		return c.GetFval().Fval, litNumber
	}
	return "", ""
}

// literalSQL writes a plain literal (a number, a string, true or false)
// back as SQL, for a partial index's predicate.
func literalSQL(n *pg_query.Node) (string, bool) {
	c := n.GetAConst()
	if c == nil || c.Isnull {
		return "", false
	}
	switch {
	case c.GetIval() != nil:
		return strconv.FormatInt(int64(c.GetIval().Ival), 10), true
	case c.GetFval() != nil:
		if _, err := strconv.ParseFloat(c.GetFval().Fval, 64); err == nil {
			return c.GetFval().Fval, true
		}
	case c.GetSval() != nil:
		return quoteLiteral(c.GetSval().Sval), true
	case c.GetBoolval() != nil:
		if c.GetBoolval().Boolval {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

// refsOf records every column a node reads and analyses the subqueries in
// it.
func (q *query) refsOf(b *block, n *pg_query.Node) {
	if n == nil {
		return
	}
	sqlscan.Walk(n, func(m proto.Message) bool {
		switch v := m.(type) {
		case *pg_query.ColumnRef:
			ref, star := columnRef(v)
			if star {
				b.star = append(b.star, strings.Join(ref.qual, "."))
			} else {
				b.refs = append(b.refs, ref)
			}
			return false
		case *pg_query.SubLink:
			q.refsOf(b, v.Testexpr)
			q.subquery(v.Subselect)
			return false
		}
		return true
	})
}
