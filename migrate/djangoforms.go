package migrate

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// djangoIndexSuffix is what Django ends the names it makes in (Index.suffix).
const djangoIndexSuffix = "idx"

// Django's own shape for an index name (Index.set_name_with_model): the
// table's first djangoNameTable characters, the first column's first
// djangoNameColumn, djangoNameHash hex digits of an MD5 of the parts, and
// the suffix; 11 + 1 + 7 + 1 + 6 + 1 + 3 = 30, DjangoMaxIndexName.
const (
	djangoNameTable  = 11
	djangoNameColumn = 7
	djangoNameHash   = 6
)

// pyImport is a name a generated line needs imported: from Module import
// Name.
type pyImport struct{ Module, Name string }

// The modules the Django forms import from.
const (
	pyModFunctions = "django.db.models.functions"
	pyModPGIndexes = "django.contrib.postgres.indexes"
)

// djangoIndex is an index as Django says it: models.Index (or one of
// django.contrib.postgres's index classes) with its fields or expressions,
// operator classes, INCLUDE, condition and name, written as Python source.
// The same text goes into the migration and into the model's
// Meta.indexes: Django compares the two by what they construct, so the
// same text is what keeps makemigrations --check clean.
type djangoIndex struct {
	class     string
	exprs     []string
	fields    []string
	opclasses []string
	include   []string
	condition string
	name      string
	imports   map[pyImport]bool
}

// Python is the index as a Python expression.
func (x *djangoIndex) Python() string {
	var args []string
	args = append(args, x.exprs...)
	list := func(items []string) string { return "[" + strings.Join(items, ", ") + "]" }
	if len(x.fields) > 0 {
		args = append(args, "fields="+list(x.fields))
	}
	if len(x.opclasses) > 0 {
		args = append(args, "opclasses="+list(x.opclasses))
	}
	if len(x.include) > 0 {
		args = append(args, "include="+list(x.include))
	}
	if x.condition != "" {
		args = append(args, "condition="+x.condition)
	}
	args = append(args, "name="+pyLiteral(x.name))
	return x.class + "(" + strings.Join(args, ", ") + ")"
}

// Imports are the names the index's text needs imported, beside models
// (from django.db), sorted.
func (x *djangoIndex) Imports() []pyImport {
	out := make([]pyImport, 0, len(x.imports))
	for i := range x.imports {
		out = append(out, i)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Module != out[j].Module {
			return out[i].Module < out[j].Module
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// errNoDjangoForm is why an index has no Django form; its text says why.
type errNoDjangoForm struct{ why string }

func (e *errNoDjangoForm) Error() string { return e.why }

func noForm(format string, args ...any) error {
	return &errNoDjangoForm{fmt.Sprintf(format, args...)}
}

// djangoMethods are the access methods Django has an index class for:
// models.Index for btree, django.contrib.postgres.indexes' for the others.
var djangoMethods = map[string]string{
	"btree":  "models.Index",
	"hash":   "HashIndex",
	"gin":    "GinIndex",
	"gist":   "GistIndex",
	"brin":   "BrinIndex",
	"spgist": "SpGistIndex",
}

// djangoFunctions are the SQL functions whose Django function class
// writes the same SQL (django.db.models.functions).
var djangoFunctions = map[string]string{
	"upper":  "Upper",
	"lower":  "Lower",
	"length": "Length",
	"abs":    "Abs",
	"md5":    "MD5",
}

// djangoCastFields are the types a cast names and the Django field that
// Cast writes as that type on PostgreSQL.
var djangoCastFields = map[string]string{
	"text":    "models.TextField()",
	"date":    "models.DateField()",
	"int4":    "models.IntegerField()",
	"integer": "models.IntegerField()",
	"int8":    "models.BigIntegerField()",
	"bigint":  "models.BigIntegerField()",
	"bool":    "models.BooleanField()",
	"boolean": "models.BooleanField()",
}

// djangoForm is def as Django 3.2 (and later) says it, field names from
// field (a column's field; the column itself where the project is not
// known, which Django takes as a ForeignKey's attname too) and the
// column types of the table from types (nil when unknown). What Django
// cannot say is an *errNoDjangoForm saying why: a unique index (Django's
// UniqueConstraint cannot be built concurrently), NULLS NOT DISTINCT, ON
// ONLY, an access method Django has no class for, an operator class on an
// expression (OpClass is Django 4.1's), and expressions or predicates
// outside what the translation below knows.
func djangoForm(def *indexdef.Def, field func(string) string, types map[string]string) (*djangoIndex, error) {
	switch {
	case def.Unique:
		return nil, noForm("a unique index: Django says it as a UniqueConstraint, which it cannot build concurrently")
	case def.NullsNotDistinct:
		return nil, noForm("NULLS NOT DISTINCT, which Django cannot say")
	case def.Only:
		return nil, noForm("an index ON ONLY a partitioned table, which Django cannot say")
	}
	class, ok := djangoMethods[def.AccessMethod()]
	if !ok {
		return nil, noForm("access method %s, for which Django has no index class", def.AccessMethod())
	}
	x := &djangoIndex{class: class, imports: map[pyImport]bool{}}
	if class != "models.Index" {
		x.imports[pyImport{pyModPGIndexes, class}] = true
	}
	tree, err := sqlscan.ParseTree(def.CreateSQL(false, false))
	if err != nil {
		return nil, fmt.Errorf("migrate: read back %s: %w", def.Describe(), err)
	}
	stmt := tree.Stmts[0].Stmt.GetIndexStmt()
	if stmt == nil {
		return nil, fmt.Errorf("migrate: read back %s: not CREATE INDEX", def.Describe())
	}
	tr := &djangoTranslator{field: field, types: types, imports: x.imports}
	// Fields when every key is a plain column in the default NULLS order
	// with no collation; expressions otherwise (Django takes one or the
	// other, not both).
	fieldsForm := true
	for _, k := range def.Keys {
		if k.Column == "" || k.Collate != "" || k.NullsFirst != k.Desc {
			fieldsForm = false
		}
	}
	for i, p := range stmt.IndexParams {
		e := p.GetIndexElem()
		k := def.Keys[i]
		if fieldsForm {
			f := field(k.Column)
			if k.Desc {
				f = "-" + f
			}
			x.fields = append(x.fields, pyLiteral(f))
			if k.Opclass != "" {
				if len(e.Opclass) == 0 || len(e.Opclassopts) > 0 {
					return nil, noForm("operator class %s with options, which Django cannot say", k.Opclass)
				}
				x.opclasses = append(x.opclasses, pyLiteral(k.Opclass))
			} else {
				x.opclasses = append(x.opclasses, pyLiteral(""))
			}
			continue
		}
		if k.Opclass != "" {
			return nil, noForm("operator class %s on an expression or a non-default ordering: Django 4.1's OpClass says it, 3.2 cannot", k.Opclass)
		}
		var py string
		if e.Expr == nil {
			py = "models.F(" + pyLiteral(field(e.Name)) + ")"
		} else if py, err = tr.expr(e.Expr, false); err != nil {
			return nil, err
		}
		if len(e.Collation) > 0 {
			coll, ok := simpleName(e.Collation)
			if !ok {
				return nil, noForm("collation %s, which Django's Collate cannot name", k.Collate)
			}
			x.imports[pyImport{pyModFunctions, "Collate"}] = true
			py = "Collate(" + py + ", " + pyLiteral(coll) + ")"
		}
		switch {
		case k.Desc && !k.NullsFirst:
			py += ".desc(nulls_last=True)"
		case k.Desc:
			py += ".desc()"
		case k.NullsFirst:
			py += ".asc(nulls_first=True)"
		}
		x.exprs = append(x.exprs, py)
	}
	if allEmpty(x.opclasses) {
		x.opclasses = nil
	}
	for _, c := range def.Include {
		x.include = append(x.include, pyLiteral(field(c)))
	}
	if stmt.WhereClause != nil {
		if x.condition, err = tr.q(stmt.WhereClause); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// allEmpty reports whether every literal is "" (no operator class given).
func allEmpty(lits []string) bool {
	for _, l := range lits {
		if l != `""` {
			return false
		}
	}
	return true
}

// simpleName is a one-part name (a collation) as its text, false for a
// qualified one.
func simpleName(parts []*pg_query.Node) (string, bool) {
	if len(parts) != 1 || parts[0].GetString_() == nil {
		return "", false
	}
	return parts[0].GetString_().Sval, true
}

// djangoTranslator writes SQL expressions and predicates as Django's
// expressions and Q objects.
type djangoTranslator struct {
	field   func(string) string
	types   map[string]string
	imports map[pyImport]bool
}

// column is a column reference's name, false for anything else.
func column(n *pg_query.Node) (string, bool) {
	ref := n.GetColumnRef()
	if ref == nil || len(ref.Fields) != 1 || ref.Fields[0].GetString_() == nil {
		return "", false
	}
	return ref.Fields[0].GetString_().Sval, true
}

// typeName is a type's last name part (pg_catalog.text is text), false
// for an array or a type with modifiers.
func typeName(t *pg_query.TypeName) (string, bool) {
	if t == nil || len(t.Names) == 0 || len(t.ArrayBounds) > 0 || len(t.Typmods) > 0 {
		return "", false
	}
	s := t.Names[len(t.Names)-1].GetString_()
	if s == nil {
		return "", false
	}
	return s.Sval, true
}

// textLike reports whether a column type reaches text by the implicit
// cast PostgreSQL adds itself: upper(email) over a varchar column is
// upper(email::text), one index for the planner.
func textLike(typ string) bool {
	return typ == "text" || strings.HasPrefix(typ, "character varying") || strings.HasPrefix(typ, "character(") || typ == "character"
}

// expr writes an expression; inFunc says it is a function's argument,
// where Django reads a bare string as a field.
func (t *djangoTranslator) expr(n *pg_query.Node, inFunc bool) (string, error) {
	if col, ok := column(n); ok {
		if inFunc {
			return pyLiteral(t.field(col)), nil
		}
		return "models.F(" + pyLiteral(t.field(col)) + ")", nil
	}
	switch {
	case n.GetFuncCall() != nil:
		f := n.GetFuncCall()
		name, ok := funcName(f.Funcname)
		class := djangoFunctions[name]
		if !ok || class == "" || f.AggStar || f.AggDistinct || f.FuncVariadic || f.Over != nil || len(f.AggOrder) > 0 || f.AggFilter != nil {
			return "", noForm("expression %s: Django has no function that writes it", deparse(n))
		}
		args, err := t.args(f.Args)
		if err != nil {
			return "", err
		}
		t.imports[pyImport{pyModFunctions, class}] = true
		return class + "(" + strings.Join(args, ", ") + ")", nil
	case n.GetCoalesceExpr() != nil:
		args, err := t.args(n.GetCoalesceExpr().Args)
		if err != nil {
			return "", err
		}
		t.imports[pyImport{pyModFunctions, "Coalesce"}] = true
		return "Coalesce(" + strings.Join(args, ", ") + ")", nil
	case n.GetTypeCast() != nil:
		c := n.GetTypeCast()
		typ, ok := typeName(c.TypeName)
		if !ok {
			return "", noForm("expression %s: a cast Django's Cast cannot write", deparse(n))
		}
		if arg := t.uncast(n); arg != n {
			// The cast PostgreSQL would add itself: Upper("email") is
			// the same index as upper(email::text) on a varchar.
			return t.expr(arg, inFunc)
		}
		out, ok := djangoCastFields[typ]
		if !ok {
			return "", noForm("expression %s: a cast to %s, which Django's Cast does not write", deparse(n), typ)
		}
		arg, err := t.expr(c.Arg, true)
		if err != nil {
			return "", err
		}
		t.imports[pyImport{pyModFunctions, "Cast"}] = true
		return "Cast(" + arg + ", output_field=" + out + ")", nil
	case n.GetAConst() != nil:
		v, err := constant(n)
		if err != nil {
			return "", err
		}
		return "models.Value(" + v + ")", nil
	}
	return "", noForm("expression %s: Django has no form this tool knows for it", deparse(n))
}

// uncast is n without a cast to text of a column whose type reaches text
// by itself (status::text on a varchar is status to the planner), n as it
// is otherwise, and when the column's type is not known.
func (t *djangoTranslator) uncast(n *pg_query.Node) *pg_query.Node {
	c := n.GetTypeCast()
	if c == nil {
		return n
	}
	typ, ok := typeName(c.TypeName)
	if col, isCol := column(c.Arg); ok && isCol && typ == "text" && textLike(t.types[col]) {
		return c.Arg
	}
	return n
}

// args writes a function's arguments.
func (t *djangoTranslator) args(nodes []*pg_query.Node) ([]string, error) {
	out := make([]string, len(nodes))
	for i, a := range nodes {
		s, err := t.expr(a, true)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// funcName is a function's name when it is a plain or pg_catalog name.
func funcName(parts []*pg_query.Node) (string, bool) {
	names := make([]string, 0, len(parts))
	for _, p := range parts {
		if p.GetString_() == nil {
			return "", false
		}
		names = append(names, p.GetString_().Sval)
	}
	switch {
	case len(names) == 1:
		return names[0], true
	case len(names) == 2 && names[0] == "pg_catalog":
		return names[1], true
	}
	return "", false
}

// constant writes a constant as a Python value: a string, a number, a
// boolean or None; a cast of a string to a text type is the string.
func constant(n *pg_query.Node) (string, error) {
	if c := n.GetTypeCast(); c != nil {
		typ, ok := typeName(c.TypeName)
		if ok && (typ == "text" || typ == "varchar" || typ == "bpchar") && c.Arg.GetAConst() != nil && c.Arg.GetAConst().GetSval() != nil {
			return constant(c.Arg)
		}
		return "", noForm("constant %s: a cast Django would not write", deparse(n))
	}
	a := n.GetAConst()
	if a == nil {
		return "", noForm("%s is not a constant", deparse(n))
	}
	switch {
	case a.Isnull:
		return "None", nil
	case a.GetSval() != nil:
		return pyLiteral(a.GetSval().Sval), nil
	case a.GetIval() != nil:
		return strconv.FormatInt(int64(a.GetIval().Ival), 10), nil
	case a.GetFval() != nil:
		f := a.GetFval().Fval
		if _, err := strconv.ParseFloat(f, 64); err != nil {
			return "", noForm("number %s", f)
		}
		return f, nil
	case a.GetBoolval() != nil:
		if a.GetBoolval().Boolval {
			return "True", nil
		}
		return "False", nil
	}
	return "", noForm("constant %s: Django has no form for it", deparse(n))
}

// djangoLookups are the comparison operators and the Django lookup each
// is; <> is the negation of exact.
var djangoLookups = map[string]string{
	"=": "", "<": "__lt", "<=": "__lte", ">": "__gt", ">=": "__gte",
}

// flipped is the operator with its sides swapped (5 < a is a > 5).
var flipped = map[string]string{"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<=", "<>": "<>", "!=": "!="}

// q writes a predicate as a Q object: comparisons of a column with a
// constant, IN lists, IS [NOT] NULL, a boolean column, joined by AND, OR
// and NOT.
func (t *djangoTranslator) q(n *pg_query.Node) (string, error) {
	if col, ok := column(n); ok {
		return t.lookup(col, "", "True", false), nil
	}
	switch {
	case n.GetBoolExpr() != nil:
		b := n.GetBoolExpr()
		parts := make([]string, len(b.Args))
		for i, a := range b.Args {
			s, err := t.q(a)
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		switch b.Boolop {
		case pg_query.BoolExprType_AND_EXPR:
			return strings.Join(parts, " & "), nil
		case pg_query.BoolExprType_OR_EXPR:
			return "(" + strings.Join(parts, " | ") + ")", nil
		case pg_query.BoolExprType_NOT_EXPR:
			return "~" + parts[0], nil
		}
	case n.GetNullTest() != nil:
		nt := n.GetNullTest()
		col, ok := column(nt.Arg)
		if !ok {
			break
		}
		isNull := "False"
		if nt.Nulltesttype == pg_query.NullTestType_IS_NULL {
			isNull = "True"
		}
		return t.lookup(col, "__isnull", isNull, false), nil
	case n.GetAExpr() != nil:
		e := n.GetAExpr()
		op, ok := funcName(e.Name)
		if !ok {
			break
		}
		lhs, rhs := t.uncast(e.Lexpr), t.uncast(e.Rexpr)
		col, isCol := column(lhs)
		if !isCol && e.Kind == pg_query.A_Expr_Kind_AEXPR_OP {
			if c, ok := column(rhs); ok {
				col, isCol, lhs, rhs, op = c, true, rhs, lhs, flipped[op]
			}
		}
		if !isCol {
			break
		}
		switch e.Kind {
		case pg_query.A_Expr_Kind_AEXPR_OP:
			v, err := constant(rhs)
			if err != nil {
				return "", err
			}
			if op == "<>" || op == "!=" {
				return t.lookup(col, "", v, true), nil
			}
			if suffix, ok := djangoLookups[op]; ok {
				return t.lookup(col, suffix, v, false), nil
			}
		case pg_query.A_Expr_Kind_AEXPR_IN:
			list := rhs.GetList()
			if list == nil || op != "=" && op != "<>" {
				break
			}
			vals := make([]string, len(list.Items))
			for i, it := range list.Items {
				v, err := constant(it)
				if err != nil {
					return "", err
				}
				vals[i] = v
			}
			return t.lookup(col, "__in", "["+strings.Join(vals, ", ")+"]", op == "<>"), nil
		}
	}
	return "", noForm("predicate %s: Django's Q has no form this tool knows for it", deparse(n))
}

// lookup is one Q: models.Q(field<suffix>=value), negated with ~.
func (t *djangoTranslator) lookup(col, suffix, value string, negate bool) string {
	s := "models.Q(" + pyKeyword(t.field(col)+suffix, value) + ")"
	if negate {
		return "~" + s
	}
	return s
}

// pyKeyword is a keyword argument, name=value when name is a Python
// identifier, **{"name": value} otherwise (a column named class, or with a
// space, is still a field Django can look up).
func pyKeyword(name, value string) string {
	if pyIdentifier(name) {
		return name + "=" + value
	}
	return "**{" + pyLiteral(name) + ": " + value + "}"
}

// pyIdentifier reports whether s can be a keyword argument's name: an
// ASCII identifier that is no Python keyword.
func pyIdentifier(s string) bool {
	if s == "" || pyKeywords[s] {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// pyKeywords are Python 3's reserved words.
var pyKeywords = map[string]bool{
	"False": true, "None": true, "True": true, "and": true, "as": true, "assert": true, "async": true, "await": true,
	"break": true, "class": true, "continue": true, "def": true, "del": true, "elif": true, "else": true, "except": true,
	"finally": true, "for": true, "from": true, "global": true, "if": true, "import": true, "in": true, "is": true,
	"lambda": true, "nonlocal": true, "not": true, "or": true, "pass": true, "raise": true, "return": true, "try": true,
	"while": true, "with": true, "yield": true,
}

// deparse is an expression node as SQL, for messages.
func deparse(n *pg_query.Node) string {
	if s := sqlscan.DeparseExpr(n); s != "" {
		return s
	}
	return "(an expression)"
}

// djangoIndexName is the name the index takes in Django: its own when it
// is a name Django accepts (at most DjangoMaxIndexName characters, not
// starting with '_' or a digit, models.E033 and E034), else the name in
// Django's own shape (Index.set_name_with_model): for a plain index of
// columns, exactly the name Django would give it unnamed; for an index
// Django makes the author name (expressions, a condition, INCLUDE), the
// same shape with the expression, predicate and INCLUDE in the hash, so
// two such indexes on the same first column differ.
func djangoIndexName(def *indexdef.Def) string {
	if n := def.Name; n != "" && utf8.RuneCountInString(n) <= DjangoMaxIndexName && n[0] != '_' && !(n[0] >= '0' && n[0] <= '9') {
		return n
	}
	cols := make([]string, len(def.Keys))
	hash := []string{def.Table}
	for i, k := range def.Keys {
		cols[i] = k.Column
		if k.Column == "" {
			cols[i] = indexdef.NamePart(k.Expr)
		}
		switch {
		case k.Column == "" || k.Opclass != "" || k.Collate != "" || k.NullsFirst != k.Desc:
			hash = append(hash, k.SQL())
		case k.Desc:
			hash = append(hash, "-"+k.Column)
		default:
			hash = append(hash, k.Column)
		}
	}
	if len(def.Include) > 0 {
		hash = append(hash, "INCLUDE "+strings.Join(def.Include, ","))
	}
	if def.Where != "" {
		hash = append(hash, "WHERE "+def.Where)
	}
	hash = append(hash, djangoIndexSuffix)
	h := md5.New()
	for _, s := range hash {
		h.Write([]byte(s))
	}
	digest := hex.EncodeToString(h.Sum(nil))[:djangoNameHash]
	name := firstRunes(def.Table, djangoNameTable) + "_" + firstRunes(cols[0], djangoNameColumn) + "_" + digest + "_" + djangoIndexSuffix
	if name[0] == '_' || name[0] >= '0' && name[0] <= '9' {
		name = "D" + name[1:]
	}
	return name
}

// firstRunes is s's first n characters, as Python's s[:n].
func firstRunes(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

// isNoForm reports whether err says Django has no form for an index.
func isNoForm(err error) (string, bool) {
	var nf *errNoDjangoForm
	if errors.As(err, &nf) {
		return nf.why, true
	}
	return "", false
}
