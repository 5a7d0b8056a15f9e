package profiles

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// maxIdentifier is the longest identifier PostgreSQL keeps (NAMEDATALEN-1);
// a longer index name would be silently truncated.
const maxIdentifier = 63

var (
	profileNameRE   = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	statementNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	windowRE        = regexp.MustCompile(`^(?:[0-9]+[wdhms])+$`)
	windowPartRE    = regexp.MustCompile(`([0-9]+)([wdhms])`)
)

// fieldsOf lists the fields each generator kind takes, besides kind and name.
var fieldsOf = map[GeneratorKind][]string{
	Sample:   {"from", "skew"},
	Choice:   {"values", "weights"},
	IntRange: {"min", "max", "step"},
	Recent:   {"from", "window"},
	Const:    {"value"},
}

// knownKinds is the list of generator kinds error messages show.
func knownKinds() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// validator checks a decoded profile against the YAML it came from, so every
// problem is reported at the node that holds it.
type validator struct {
	file string
	root ast.Node
	errs []*Error
}

// first returns the problem that comes first in the file, or nil.
func (v *validator) first() error {
	if len(v.errs) == 0 {
		return nil
	}
	return slices.MinFunc(v.errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}

// node returns the node at the YAML path p ($.statements[0].sql), or nil.
func (v *validator) node(p string) ast.Node {
	path, err := yaml.PathString(p)
	if err != nil {
		return nil
	}
	n, err := path.FilterNode(v.root)
	if err != nil {
		return nil
	}
	return n
}

// has reports whether the YAML sets the field at path p.
func (v *validator) has(p string) bool { return v.node(p) != nil }

// pos returns the position of the node at path p or, when the YAML leaves it
// out, of its nearest ancestor.
func (v *validator) pos(p string) (int, int) {
	for {
		if n := v.node(p); n != nil {
			return nodePos(n)
		}
		i := strings.LastIndexAny(p, ".[")
		if i <= 1 {
			return nodePos(v.root)
		}
		p = p[:i]
	}
}

// errorf records a problem at the node at path p.
func (v *validator) errorf(p, format string, args ...any) {
	line, col := v.pos(p)
	v.errs = append(v.errs, &Error{File: v.file, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)})
}

// keys returns the keys of the mapping at path p.
func (v *validator) keys(p string) []string {
	m, ok := v.node(p).(*ast.MappingNode)
	if !ok {
		return nil
	}
	var keys []string
	for _, mv := range m.Values {
		if k, ok := mv.Key.(ast.ScalarNode); ok {
			keys = append(keys, fmt.Sprint(k.GetValue()))
		}
	}
	return keys
}

// nodePos returns where a node starts: a block mapping at its first key, a
// key-value pair at its key.
func nodePos(n ast.Node) (int, int) {
	switch m := n.(type) {
	case *ast.MappingNode:
		if !m.IsFlowStyle && len(m.Values) > 0 {
			return nodePos(m.Values[0])
		}
	case *ast.MappingValueNode:
		return nodePos(m.Key)
	}
	if n == nil {
		return 1, 1
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return 1, 1
	}
	return tk.Position.Line, tk.Position.Column
}

func (v *validator) profile(p *Profile) {
	switch {
	case strings.TrimSpace(p.Name) == "":
		v.errorf("$.name", "profile has no name")
	case !profileNameRE.MatchString(p.Name):
		v.errorf("$.name", "profile name %q: use letters, digits, '-' and '_'", p.Name)
	}
	v.uniqueStrings("$.scales", "scale", p.Scales)
	v.uniqueStrings("$.tables", "table", p.Tables)

	indexes := map[string]bool{}
	for _, ix := range p.Indexes {
		indexes[ix.Name] = true
	}
	statements := map[string]*Statement{}
	for i := range p.Statements {
		s := &p.Statements[i]
		if _, dup := statements[s.Name]; !dup && s.Name != "" {
			statements[s.Name] = s
		}
	}

	if len(p.Statements) == 0 {
		v.errorf("$.statements", "profile has no statements")
	}
	firstAt := map[string]int{}
	positive := false
	for i := range p.Statements {
		s := &p.Statements[i]
		sp := fmt.Sprintf("$.statements[%d]", i)
		if !v.has(sp + ".weight") {
			s.Weight = 1
		}
		if s.Weight > 0 {
			positive = true
		}
		switch {
		case s.Name == "":
			v.errorf(sp+".name", "statement has no name")
		case !statementNameRE.MatchString(s.Name):
			v.errorf(sp+".name", "statement name %q: use letters, digits, '.', '-' and '_'", s.Name)
		default:
			if j, dup := firstAt[s.Name]; dup {
				line, _ := v.pos(fmt.Sprintf("$.statements[%d].name", j))
				v.errorf(sp+".name", "duplicate statement name %q (first used on line %d)", s.Name, line)
			} else {
				firstAt[s.Name] = i
			}
		}
		v.statement(p, sp, s, statements, indexes)
	}
	if len(p.Statements) > 0 && !positive {
		v.errorf("$.statements", "no statement has a positive weight, so a run would have nothing to draw")
	}

	seen := map[string]int{}
	for i, ix := range p.Indexes {
		ip := fmt.Sprintf("$.indexes[%d]", i)
		v.index(p, ip, ix)
		if ix.Name == "" {
			continue
		}
		if j, dup := seen[ix.Name]; dup {
			line, _ := v.pos(fmt.Sprintf("$.indexes[%d].name", j))
			v.errorf(ip+".name", "duplicate index name %q (first used on line %d)", ix.Name, line)
		} else {
			seen[ix.Name] = i
		}
	}

	if e := p.Expect; e != nil {
		for _, f := range []string{"min_percent", "max_percent"} {
			if !v.has("$.expect." + f) {
				v.errorf("$.expect", "expect has no %s", f)
			}
		}
		for _, b := range []struct {
			field string
			value float64
		}{{"min_percent", e.MinPercent}, {"max_percent", e.MaxPercent}} {
			if math.IsNaN(b.value) || b.value < 0 || b.value > 100 {
				v.errorf("$.expect."+b.field, "expect: %s must be between 0 and 100 (percent faster), got %v", b.field, b.value)
			}
		}
		if e.MinPercent > e.MaxPercent {
			v.errorf("$.expect.min_percent", "expect: min_percent %v is above max_percent %v", e.MinPercent, e.MaxPercent)
		}
	}
}

func (v *validator) uniqueStrings(p, what string, list []string) {
	seen := map[string]bool{}
	for i, s := range list {
		ep := fmt.Sprintf("%s[%d]", p, i)
		switch {
		case strings.TrimSpace(s) == "":
			v.errorf(ep, "empty %s name", what)
		case seen[s]:
			v.errorf(ep, "%s %q is listed twice", what, s)
		}
		seen[s] = true
	}
}

func (v *validator) statement(p *Profile, sp string, s *Statement, statements map[string]*Statement, indexes map[string]bool) {
	name := s.Name
	if math.IsNaN(s.Weight) || math.IsInf(s.Weight, 0) || s.Weight < 0 {
		v.errorf(sp+".weight", "statement %q: weight must be a number of at least 0, got %v", name, s.Weight)
	}

	if strings.TrimSpace(s.SQL) == "" {
		v.errorf(sp+".sql", "statement %q has no sql", name)
	} else {
		v.sql(p, sp, s)
	}

	for j, ix := range s.Indexes {
		if !indexes[ix] {
			v.errorf(fmt.Sprintf("%s.indexes[%d]", sp, j), "statement %q names unknown index %q (the profile's indexes: %s)", name, ix, indexNames(p))
		}
	}

	switch s.Variant {
	case "", Before, After:
	default:
		v.errorf(sp+".variant", "statement %q: variant must be before or after, got %q", name, s.Variant)
	}
	switch {
	case s.Pair == "" && s.Variant != "":
		v.errorf(sp+".variant", "statement %q has a variant but no pair naming its other half", name)
	case s.Pair == "":
	case s.Pair == name:
		v.errorf(sp+".pair", "statement %q pairs with itself", name)
	case statements[s.Pair] == nil:
		v.errorf(sp+".pair", "statement %q: pair names unknown statement %q", name, s.Pair)
	case s.Variant == "":
		v.errorf(sp+".pair", "statement %q has a pair but no variant (before or after)", name)
	default:
		other := statements[s.Pair]
		switch {
		case other.Pair != name:
			v.errorf(sp+".pair", "statement %q pairs with %q, but %q does not pair back (pair: %q)", name, s.Pair, s.Pair, other.Pair)
		case other.Variant == s.Variant:
			v.errorf(sp+".variant", "statement %q and its pair %q are both variant %s", name, s.Pair, s.Variant)
		}
	}

	for j, f := range s.Then {
		fp := fmt.Sprintf("%s.then[%d].statement", sp, j)
		target := statements[f.Statement]
		switch {
		case f.Statement == "":
			v.errorf(fp, "statement %q: a follow-up names no statement", name)
		case f.Statement == name:
			v.errorf(fp, "statement %q follows itself", name)
		case target == nil:
			v.errorf(fp, "statement %q: then names unknown statement %q", name, f.Statement)
		case len(target.Then) > 0:
			v.errorf(fp, "statement %q: follow-up %q has follow-ups of its own; list them all on %q", name, f.Statement, name)
		}
	}
}

func indexNames(p *Profile) string {
	if len(p.Indexes) == 0 {
		return "none"
	}
	names := make([]string, len(p.Indexes))
	for i, ix := range p.Indexes {
		names[i] = ix.Name
	}
	return strings.Join(names, ", ")
}

// maxParam is the largest placeholder number PostgreSQL accepts: the wire
// protocol counts parameters in an int16 (src/backend/tcop/postgres.c).
const maxParam = 65535

// sql checks a statement's text against its parameters and its write flag,
// with what internal/sqlscan says of it: the answer bench, analyze and
// migrate get for the same text.
func (v *validator) sql(p *Profile, sp string, s *Statement) {
	name := s.Name
	stmts, err := sqlscan.Parse(s.SQL)
	if err != nil {
		v.errorf(sp+".sql", "statement %q: sql: %v", name, sqlError(err))
		return
	}
	switch len(stmts) {
	case 0:
		v.errorf(sp+".sql", "statement %q: sql holds no statement, only comments", name)
		return
	case 1:
	default:
		v.errorf(sp+".sql", "statement %q: sql holds %d statements; give each its own entry", name, len(stmts))
	}
	var params []int
	for _, st := range stmts {
		for _, n := range st.Params {
			switch {
			case n == 0:
				v.errorf(sp+".sql", "statement %q: sql: parameter $0: placeholders are numbered from $1", name)
				return
			case n > maxParam:
				v.errorf(sp+".sql", "statement %q: sql: parameter $%d is out of range (1 to %d)", name, n, maxParam)
				return
			}
			if !slices.Contains(params, n) {
				params = append(params, n)
			}
		}
	}
	slices.Sort(params)
	if !s.Write {
		for _, st := range stmts {
			switch {
			case st.ReadOnly:
			case len(st.Writes) > 0 && (st.Explainable || st.Kind == sqlscan.KindExplain):
				v.errorf(sp+".sql", "statement %q changes data or locks rows (%s); mark it write: true", name, strings.Join(st.Writes, ", "))
			default:
				v.errorf(sp+".sql", "statement %q starts with %s, which is not read-only; mark it write: true", name, st.Kind)
			}
		}
	}
	used := map[int]bool{}
	for _, n := range params {
		used[n] = true
		if n > len(s.Params) {
			at := sp + ".params"
			if !v.has(at) {
				at = sp + ".sql"
			}
			v.errorf(at, "statement %q uses $%d but has no generator for it (params has %d)", name, n, len(s.Params))
		}
	}
	for i := range s.Params {
		pp := fmt.Sprintf("%s.params[%d]", sp, i)
		if !used[i+1] {
			v.errorf(pp, "statement %q: params[%d] is the generator for $%d, which the sql does not use", name, i, i+1)
		}
		v.param(p, pp, fmt.Sprintf("statement %q $%d", name, i+1), &s.Params[i])
	}
}

// param checks one generator; what names it in messages.
func (v *validator) param(p *Profile, pp, what string, g *Param) {
	if g.Kind == "" {
		v.errorf(pp, "%s: generator has no kind (known: %s)", what, knownKinds())
		return
	}
	allowed, ok := fieldsOf[g.Kind]
	if !ok {
		v.errorf(pp+".kind", "%s: unknown generator kind %q (known: %s)", what, g.Kind, knownKinds())
		return
	}
	for _, k := range v.keys(pp) {
		if k != "kind" && k != "name" && !slices.Contains(allowed, k) {
			v.errorf(pp+"."+k, "%s: field %s does not apply to a %s generator (it takes %s)", what, k, g.Kind, strings.Join(allowed, ", "))
		}
	}
	switch g.Kind {
	case Sample, Recent:
		if g.From == "" {
			v.errorf(pp, "%s: %s generator needs from: table.column", what, g.Kind)
		} else if table, _, ok := splitFrom(g.From); !ok {
			v.errorf(pp+".from", "%s: from must be table.column or schema.table.column, got %q", what, g.From)
		} else if len(p.Tables) > 0 && !slices.Contains(p.Tables, table) {
			v.errorf(pp+".from", "%s: table %q is not among the profile's tables", what, table)
		}
		if g.Kind == Sample {
			switch g.Skew {
			case "", Frequency, Uniform, Zipf:
			default:
				v.errorf(pp+".skew", "%s: skew must be frequency, uniform or zipf, got %q", what, g.Skew)
			}
			break
		}
		if g.Window == "" {
			v.errorf(pp, "%s: recent generator needs a window (e.g. 7d)", what)
		} else if _, err := parseWindow(g.Window); err != nil {
			v.errorf(pp+".window", "%s: %v", what, err)
		}
	case Choice:
		if len(g.Values) == 0 {
			v.errorf(pp, "%s: choice generator needs values", what)
		}
		for i := range g.Values {
			x, err := normalize(g.Values[i])
			if err != nil {
				v.errorf(fmt.Sprintf("%s.values[%d]", pp, i), "%s: %v", what, err)
			}
			g.Values[i] = x
		}
		if len(g.Weights) == 0 {
			break
		}
		if len(g.Weights) != len(g.Values) {
			v.errorf(pp+".weights", "%s: weights has %d entries for %d values", what, len(g.Weights), len(g.Values))
		}
		var sum float64
		for i, w := range g.Weights {
			if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
				v.errorf(fmt.Sprintf("%s.weights[%d]", pp, i), "%s: a weight must be a number of at least 0, got %v", what, w)
				continue
			}
			sum += w
		}
		if sum == 0 {
			v.errorf(pp+".weights", "%s: weights add up to zero", what)
		}
	case IntRange:
		// The YAML library truncates 1.5 to 1 for an integer field.
		for _, f := range []string{"min", "max", "step"} {
			n := v.node(pp + "." + f)
			if n != nil && n.Type() != ast.IntegerType {
				v.errorf(pp+"."+f, "%s: %s must be an integer, got %s", what, f, n.String())
			}
		}
		if g.Min == nil || g.Max == nil {
			v.errorf(pp, "%s: int_range generator needs min and max", what)
		} else if *g.Min > *g.Max {
			v.errorf(pp+".min", "%s: min %d is above max %d", what, *g.Min, *g.Max)
		}
		if g.Step < 0 {
			v.errorf(pp+".step", "%s: step must be positive, got %d", what, g.Step)
		}
	case Const:
		if g.Value == nil {
			v.errorf(pp, "%s: const generator needs a value", what)
		}
		x, err := normalize(g.Value)
		if err != nil {
			v.errorf(pp+".value", "%s: %v", what, err)
		}
		g.Value = x
	}
}

func (v *validator) index(p *Profile, ip string, ix Index) {
	label := ix.Name
	switch {
	case ix.Name == "":
		v.errorf(ip+".name", "index has no name")
		label = "(unnamed)"
	case len(ix.Name) > maxIdentifier:
		v.errorf(ip+".name", "index name %q is longer than %d bytes; PostgreSQL would truncate it", ix.Name, maxIdentifier)
	}
	if ix.Table == "" {
		v.errorf(ip+".table", "index %s has no table", label)
	} else if len(p.Tables) > 0 && !slices.Contains(p.Tables, ix.Table) {
		v.errorf(ip+".table", "index %s: table %q is not among the profile's tables", label, ix.Table)
	}
	if len(ix.Columns) == 0 {
		v.errorf(ip+".columns", "index %s has no columns", label)
	}
	seen := map[string]bool{}
	for i, c := range ix.Columns {
		cp := fmt.Sprintf("%s.columns[%d]", ip, i)
		switch {
		case strings.TrimSpace(c) == "":
			v.errorf(cp, "index %s: empty column name", label)
		case seen[c]:
			v.errorf(cp, "index %s: column %q is listed twice", label, c)
		default:
			if _, err := sqlscan.ParseKey(c); err != nil {
				v.errorf(cp, "index %s: column %q: %s", label, c, sqlError(err))
			}
		}
		seen[c] = true
	}
}

// splitFrom splits a generator's from (table.column or
// schema.table.column) into the table as the profile lists it and the
// column.
func splitFrom(from string) (table, column string, ok bool) {
	parts := strings.Split(from, ".")
	if len(parts) < 2 || len(parts) > 3 || slices.Contains(parts, "") {
		return "", "", false
	}
	for _, part := range parts {
		if strings.TrimSpace(part) != part {
			return "", "", false
		}
	}
	return strings.Join(parts[:len(parts)-1], "."), parts[len(parts)-1], true
}

// parseWindow reads a Recent window: numbers with units w, d, h, m and s.
func parseWindow(s string) (time.Duration, error) {
	if !windowRE.MatchString(s) {
		return 0, fmt.Errorf("window %q: use a number and a unit (w, d, h, m, s), as in 7d or 1d12h", s)
	}
	unit := map[string]time.Duration{"w": 7 * 24 * time.Hour, "d": 24 * time.Hour, "h": time.Hour, "m": time.Minute, "s": time.Second}
	var total time.Duration
	for _, m := range windowPartRE.FindAllStringSubmatch(s, -1) {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || n > int64(math.MaxInt64/unit[m[2]]) {
			return 0, fmt.Errorf("window %q is too long", s)
		}
		d := time.Duration(n) * unit[m[2]]
		if total > math.MaxInt64-d {
			return 0, fmt.Errorf("window %q is too long", s)
		}
		total += d
	}
	if total <= 0 {
		return 0, fmt.Errorf("window %q must be longer than zero", s)
	}
	return total, nil
}

// normalize turns the YAML library's unsigned integers into int64, which
// pgx encodes for every integer column type.
func normalize(x any) (any, error) {
	switch x := x.(type) {
	case uint64:
		if x > math.MaxInt64 {
			return nil, fmt.Errorf("integer %d is out of range", x)
		}
		return int64(x), nil
	case int:
		return int64(x), nil
	case []any:
		for i := range x {
			y, err := normalize(x[i])
			if err != nil {
				return nil, err
			}
			x[i] = y
		}
	case map[string]any:
		for k := range x {
			y, err := normalize(x[k])
			if err != nil {
				return nil, err
			}
			x[k] = y
		}
	}
	return x, nil
}

// sqlError words what internal/sqlscan refused in a statement's text: the
// construct the lexer names, where it starts when the text ends inside
// it, or the parser's message.
func sqlError(err error) string {
	var (
		le *sqlscan.Error
		se *sqlscan.SyntaxError
	)
	switch {
	case errors.As(err, &le) && !le.Unterminated():
		// The message names the construct; the offset adds nothing.
		return le.Msg
	case errors.As(err, &se):
		return se.Msg
	}
	return err.Error()
}
