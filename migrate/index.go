package migrate

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// ErrBadSpec is returned for an index definition that cannot be planned.
var ErrBadSpec = errors.New("bad index spec")

// ErrNoSchema is returned by Plan for an index whose table has no schema,
// and by QualifyDefs for a table the database does not know.
var ErrNoSchema = errors.New("no schema for the table")

// UnknownTableError is an index's unqualified table that QualifyDefs finds
// in no schema of the session's search_path.
type UnknownTableError struct {
	Table, SearchPath string
}

// Error names the table and the search_path it was looked up on.
func (e *UnknownTableError) Error() string {
	return fmt.Sprintf("migrate: table %s is in no schema of the database's search_path (%s): write it with its schema, <schema>.%s",
		indexdef.QuoteIdent(e.Table), e.SearchPath, indexdef.QuoteIdent(e.Table))
}

// Unwrap lets errors.Is find ErrNoSchema.
func (e *UnknownTableError) Unwrap() error { return ErrNoSchema }

// QualifyDefs gives every index without a schema the schema its table is
// found in on q's search_path, once, at plan time, so that the file says
// which table it means and no later session's search_path decides it. A
// table found nowhere is an *UnknownTableError. Indexes with a schema are
// left alone; defs is not changed in place.
func QualifyDefs(ctx context.Context, q pg.Querier, defs []indexdef.Def) ([]indexdef.Def, error) {
	out := append([]indexdef.Def(nil), defs...)
	found := map[string]string{}
	for i, d := range out {
		if d.Schema != "" {
			continue
		}
		schema, ok := found[d.Table]
		if !ok {
			table := indexdef.QuoteIdent(d.Table)
			err := q.QueryRow(ctx, `SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
				WHERE c.oid = to_regclass($1)`, table).Scan(&schema)
			if errors.Is(err, pgx.ErrNoRows) {
				var path string
				if err := q.QueryRow(ctx, `SELECT current_setting('search_path')`).Scan(&path); err != nil {
					return nil, fmt.Errorf("migrate: look up table %s: %w", table, err)
				}
				return nil, &UnknownTableError{Table: d.Table, SearchPath: path}
			}
			if err != nil {
				return nil, fmt.Errorf("migrate: look up table %s: %w", table, err)
			}
			found[d.Table] = schema
		}
		out[i].Schema = schema
	}
	return out, nil
}

// methodName is an access method as plan writes one: a plain lower-case
// name.
var methodName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// CheckIndex refuses an index definition plan could not write: no table,
// no keys, a method that is not a name, a name PostgreSQL would cut, or SQL
// text (an expression, the predicate, an operator class) that does not
// read back as the same index (see sqlscan.CanonicalIndex). The error is
// ErrBadSpec naming the index.
func CheckIndex(d indexdef.Def) error {
	_, err := canonical(d)
	return err
}

// canonical is the index as plan writes it: checked as CheckIndex says,
// its expressions and predicate as PostgreSQL's deparser writes them, the
// method lower case, and named IndexName(table, keys, where) when it has
// no name.
func canonical(d indexdef.Def) (indexdef.Def, error) {
	fail := func(format string, args ...any) (indexdef.Def, error) {
		what := d.Table
		if d.Name != "" {
			what = d.Name
		}
		return indexdef.Def{}, fmt.Errorf("%w %s: %s", ErrBadSpec, what, fmt.Sprintf(format, args...))
	}
	switch {
	case d.Table == "":
		return fail("no table")
	case len(d.Keys) == 0:
		return fail("no columns")
	case !methodName.MatchString(d.AccessMethod()):
		return fail("access method %q is not a name", d.Method)
	}
	c, err := sqlscan.CanonicalIndex(&d)
	if err != nil {
		return fail("%v", err)
	}
	if c.Name == "" {
		c.Name = indexdef.IndexName(c.Table, c.Keys, c.Where)
	}
	if len(c.Name) > indexdef.MaxIdentifierLength {
		return fail("name %q is longer than PostgreSQL's %d bytes", c.Name, indexdef.MaxIdentifierLength)
	}
	return c, nil
}
