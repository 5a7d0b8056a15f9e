package migrate

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"
	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/internal/pg"
)

// IndexSpec is an index to plan: what a proposal or a profile asks for.
type IndexSpec struct {
	// Name is the index name; empty means IndexName(Table, Columns).
	Name string `json:"name"`
	// Schema qualifies Table. Plan refuses a spec without one; QualifySpecs
	// fills it in from the database.
	Schema string `json:"schema,omitempty"`
	// Table is the indexed table.
	Table string `json:"table"`
	// Columns are the key elements: a column name, optionally followed by an
	// operator class, ASC or DESC and NULLS FIRST or LAST ("created_at DESC"),
	// or an expression ("lower(email)", "(a + b)").
	Columns []string `json:"columns"`
	// Include lists covering columns (INCLUDE).
	Include []string `json:"include,omitempty"`
	// Where is a partial index's predicate, as SQL.
	Where string `json:"where,omitempty"`
	// Unique makes a unique index.
	Unique bool `json:"unique,omitempty"`
	// Method is the access method; empty means btree.
	Method string `json:"method,omitempty"`
	// Comment says why the index is there; it heads the migration file.
	Comment string `json:"comment,omitempty"`
	// Source says where the spec came from (a proposals file, a profile).
	Source string `json:"source,omitempty"`
}

// ErrBadSpec is returned for an index spec that cannot be planned.
var ErrBadSpec = errors.New("bad index spec")

// ErrNoSchema is returned by Plan for a spec whose table has no schema,
// and by QualifySpecs for a table the database does not know.
var ErrNoSchema = errors.New("no schema for the table")

// UnknownTableError is a spec's unqualified table that QualifySpecs finds
// in no schema of the session's search_path.
type UnknownTableError struct {
	Table, SearchPath string
}

// Error names the table and the search_path it was looked up on.
func (e *UnknownTableError) Error() string {
	return fmt.Sprintf("migrate: table %s is in no schema of the database's search_path (%s): write it with its schema, <schema>.%s",
		quoteIdent(e.Table), e.SearchPath, quoteIdent(e.Table))
}

// Unwrap lets errors.Is find ErrNoSchema.
func (e *UnknownTableError) Unwrap() error { return ErrNoSchema }

// QualifySpecs gives every spec without a schema the schema its table is
// found in on q's search_path, once, at plan time, so that the file says
// which table it means and no later session's search_path decides it. A
// table found nowhere is an *UnknownTableError. Specs with a schema are
// left alone; the specs are not changed in place.
func QualifySpecs(ctx context.Context, q pg.Querier, specs []IndexSpec) ([]IndexSpec, error) {
	out := append([]IndexSpec(nil), specs...)
	found := map[string]string{}
	for i, s := range out {
		if s.Schema != "" {
			continue
		}
		schema, ok := found[s.Table]
		if !ok {
			err := q.QueryRow(ctx, `SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
				WHERE c.oid = to_regclass($1)`, quoteIdent(s.Table)).Scan(&schema)
			if errors.Is(err, pgx.ErrNoRows) {
				var path string
				if err := q.QueryRow(ctx, `SELECT current_setting('search_path')`).Scan(&path); err != nil {
					return nil, fmt.Errorf("migrate: look up table %s: %w", quoteIdent(s.Table), err)
				}
				return nil, &UnknownTableError{Table: s.Table, SearchPath: path}
			}
			if err != nil {
				return nil, fmt.Errorf("migrate: look up table %s: %w", quoteIdent(s.Table), err)
			}
			found[s.Table] = schema
		}
		out[i].Schema = schema
	}
	return out, nil
}

var (
	opclassName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)
	methodName  = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
)

// parseColumnSpec reads one of IndexSpec.Columns.
func parseColumnSpec(c string) (IndexKey, error) {
	toks, err := lex(c)
	if err != nil {
		return IndexKey{}, err
	}
	return parseKey(c, toks)
}

// Def checks the spec and takes it apart the way ParseCreateIndex takes a
// statement apart, naming the index when the spec does not.
func (s IndexSpec) Def() (*IndexDef, error) {
	fail := func(format string, args ...any) (*IndexDef, error) {
		what := s.Table
		if s.Name != "" {
			what = s.Name
		}
		return nil, fmt.Errorf("%w %s: %s", ErrBadSpec, what, fmt.Sprintf(format, args...))
	}
	if s.Table == "" {
		return fail("no table")
	}
	if len(s.Columns) == 0 {
		return fail("no columns")
	}
	def := &IndexDef{Schema: s.Schema, Table: s.Table, Unique: s.Unique, Method: "btree", Where: strings.TrimSpace(s.Where), Concurrently: true, IfNotExists: true}
	if s.Method != "" {
		def.Method = strings.ToLower(s.Method)
		if !methodName.MatchString(def.Method) {
			return fail("access method %q is not a name", s.Method)
		}
	}
	for _, c := range s.Columns {
		k, err := parseColumnSpec(c)
		if err != nil {
			return fail("column %q: %v", c, err)
		}
		if k.Expr != "" {
			if err := checkFragment(k.Expr); err != nil {
				return fail("expression %q: %v", k.Expr, err)
			}
		}
		if k.Opclass != "" && !opclassName.MatchString(k.Opclass) {
			return fail("operator class %q is not a name", k.Opclass)
		}
		def.Keys = append(def.Keys, k)
	}
	for _, c := range s.Include {
		c = strings.TrimSpace(c)
		if c == "" {
			return fail("empty INCLUDE column")
		}
		def.Include = append(def.Include, unquoteIdent(c))
	}
	if def.Where != "" {
		if err := checkFragment(def.Where); err != nil {
			return fail("where %q: %v", def.Where, err)
		}
	}
	def.Name = s.Name
	if def.Name == "" {
		def.Name = IndexName(s.Table, s.Columns)
	}
	if len(def.Name) > MaxIdentifierLength {
		return fail("name %q is longer than PostgreSQL's %d bytes", def.Name, MaxIdentifierLength)
	}
	return def, nil
}

// unquoteIdent turns "Name" into Name and name into itself.
func unquoteIdent(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
	}
	return s
}

// Statements returns the up and down statements of the index: CREATE INDEX
// CONCURRENTLY IF NOT EXISTS and DROP INDEX CONCURRENTLY IF EXISTS, planned
// by Atlas's PostgreSQL driver with its Concurrently clause. Every
// identifier is quoted; expressions and the predicate are checked not to end
// the statement.
func (d *IndexDef) Statements(ctx context.Context) (up, down string, err error) {
	// Atlas's builder writes an identifier between double quotes without
	// doubling the ones inside it, so each name is handed to it escaped: a
	// name holding a quote would otherwise end the identifier early and
	// the rest of the name would be read as SQL.
	esc := func(s string) string { return strings.ReplaceAll(s, `"`, `""`) }
	t := schema.NewTable(esc(d.Table))
	if d.Schema != "" {
		t.SetSchema(schema.New(esc(d.Schema)))
	}
	idx := schema.NewIndex(esc(d.Name)).SetUnique(d.Unique)
	for i, k := range d.Keys {
		part := &schema.IndexPart{SeqNo: i + 1, Desc: k.Desc}
		if k.Column != "" {
			part.C = schema.NewColumn(esc(k.Column)).SetType(&postgres.UserDefinedType{T: "unknown"})
		} else {
			part.X = &schema.RawExpr{X: k.Expr}
		}
		if k.Collate != "" {
			part.Attrs = append(part.Attrs, &schema.Collation{V: esc(k.Collate)})
		}
		if k.Opclass != "" {
			part.Attrs = append(part.Attrs, &postgres.IndexOpClass{Name: k.Opclass})
		}
		if k.NullsFirst != k.Desc {
			part.Attrs = append(part.Attrs, &postgres.IndexColumnProperty{NullsFirst: k.NullsFirst, NullsLast: !k.NullsFirst})
		}
		idx.AddParts(part)
	}
	if d.Method != "" && d.Method != "btree" {
		idx.AddAttrs(&postgres.IndexType{T: strings.ToUpper(d.Method)})
	}
	if len(d.Include) > 0 {
		inc := &postgres.IndexInclude{}
		for _, c := range d.Include {
			inc.Columns = append(inc.Columns, schema.NewColumn(esc(c)))
		}
		idx.AddAttrs(inc)
	}
	if d.Where != "" {
		idx.AddAttrs(&postgres.IndexPredicate{P: d.Where})
	}
	t.AddIndexes(idx)
	change := &schema.ModifyTable{T: t, Changes: []schema.Change{
		&schema.AddIndex{I: idx, Extra: []schema.Clause{&postgres.Concurrently{}}},
	}}
	plan, err := postgres.DefaultPlan.PlanChanges(ctx, d.Name, []schema.Change{change})
	if err != nil {
		return "", "", fmt.Errorf("migrate: plan %s: %w", d.Name, err)
	}
	if len(plan.Changes) != 1 {
		return "", "", fmt.Errorf("migrate: plan %s: atlas planned %d statements, want 1", d.Name, len(plan.Changes))
	}
	c := plan.Changes[0]
	up, ok := insertAfter(c.Cmd, "INDEX CONCURRENTLY ", "IF NOT EXISTS ")
	if !ok {
		return "", "", fmt.Errorf("migrate: plan %s: unexpected statement %q", d.Name, c.Cmd)
	}
	// The down statement is written here rather than taken from Atlas's
	// reverse, which quotes a schema Go-style ("a\"b"), not SQL-style.
	down = "DROP INDEX CONCURRENTLY IF EXISTS " + d.QualifiedName()
	return up, down, nil
}

// insertAfter puts ins after the first occurrence of marker in s.
func insertAfter(s, marker, ins string) (string, bool) {
	i := strings.Index(s, marker)
	if i < 0 {
		return s, false
	}
	i += len(marker)
	return s[:i] + ins + s[i:], true
}
