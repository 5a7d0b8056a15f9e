package migrate

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// CatalogIndex is an index as pg_index describes it.
type CatalogIndex struct {
	OID    uint32 `json:"-"`
	Name   string `json:"name"`
	Schema string `json:"schema"`
	Table  string `json:"table"`
	// Valid and Ready are pg_index's indisvalid and indisready: an index
	// that is not both is the leftover of a failed concurrent build.
	Valid   bool           `json:"valid"`
	Ready   bool           `json:"ready"`
	Unique  bool           `json:"unique"`
	Primary bool           `json:"primary"`
	Method  string         `json:"method"`
	Keys    []indexdef.Key `json:"keys"`
	Include []string       `json:"include,omitempty"`
	Where   string         `json:"where,omitempty"`
	// Definition is pg_get_indexdef.
	Definition string `json:"definition"`
	// Bytes is the index's size.
	Bytes int64 `json:"bytes"`
}

const catalogQuery = `SELECT i.oid, i.relname, n.nspname, t.relname, x.indisvalid, x.indisready, x.indisunique,
	x.indisprimary, am.amname, x.indnkeyatts, x.indkey::int2[], x.indoption::int2[],
	array(SELECT pg_get_indexdef(i.oid, k, true) FROM generate_series(1, x.indnatts) k ORDER BY k),
	array(SELECT CASE WHEN oc.opcdefault THEN '' ELSE oc.opcname END
	      FROM unnest(x.indclass::oid[]) WITH ORDINALITY u(o, k) JOIN pg_opclass oc ON oc.oid = u.o ORDER BY u.k),
	coalesce(pg_get_expr(x.indpred, x.indrelid, true), ''), pg_get_indexdef(i.oid), pg_relation_size(i.oid)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = i.relnamespace
JOIN pg_am am ON am.oid = i.relam
`

func scanCatalog(rows pgx.Rows) ([]*CatalogIndex, error) {
	defer rows.Close()
	var out []*CatalogIndex
	for rows.Next() {
		var (
			c        CatalogIndex
			nkey     int16
			indkey   []int16
			options  []int16
			cols     []string
			opclasss []string
		)
		if err := rows.Scan(&c.OID, &c.Name, &c.Schema, &c.Table, &c.Valid, &c.Ready, &c.Unique, &c.Primary,
			&c.Method, &nkey, &indkey, &options, &cols, &opclasss, &c.Where, &c.Definition, &c.Bytes); err != nil {
			return nil, fmt.Errorf("migrate: read pg_index: %w", err)
		}
		for k := 0; k < len(cols); k++ {
			if k >= int(nkey) {
				c.Include = append(c.Include, unquoteIdent(cols[k]))
				continue
			}
			key := indexdef.Key{}
			if k < len(indkey) && indkey[k] != 0 {
				key.Column = unquoteIdent(cols[k])
			} else {
				key.Expr = cols[k]
			}
			if k < len(options) {
				key.Desc = options[k]&1 != 0
				key.NullsFirst = options[k]&2 != 0
			}
			if k < len(opclasss) && opclasss[k] != "" {
				// As internal/sqlscan writes a class a statement names.
				key.Opclass = sqlscan.QuoteName(opclasss[k])
			}
			c.Keys = append(c.Keys, key)
		}
		out = append(out, &c)
	}
	return out, rows.Err()
}

// findIndex returns the index called name in the schema of table, or nil
// when there is none. A relation of that name that is not an index is an
// error: CREATE INDEX IF NOT EXISTS would skip it without a word.
func findIndex(ctx context.Context, q pg.Querier, def *indexdef.Def) (*CatalogIndex, error) {
	var kind string
	err := q.QueryRow(ctx, `SELECT c.relkind::text FROM pg_class c
	WHERE c.relname = $1 AND c.relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = to_regclass($2))`,
		def.Name, def.QualifiedTable()).Scan(&kind)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("migrate: look up index %s: %w", def.Name, err)
	case kind != "i" && kind != "I":
		return nil, fmt.Errorf("migrate: %s already names a relation that is not an index (relkind %s)", def.Name, kind)
	}
	rows, err := q.Query(ctx, catalogQuery+`WHERE i.relname = $1 AND i.relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = to_regclass($2))`,
		def.Name, def.QualifiedTable())
	if err != nil {
		return nil, fmt.Errorf("migrate: look up index %s: %w", def.Name, err)
	}
	found, err := scanCatalog(rows)
	if err != nil || len(found) == 0 {
		return nil, err
	}
	return found[0], nil
}

// tableIndexes lists the indexes of a table (SQL-quoted name).
func tableIndexes(ctx context.Context, q pg.Querier, table string) ([]*CatalogIndex, error) {
	rows, err := q.Query(ctx, catalogQuery+`WHERE x.indrelid = to_regclass($1) ORDER BY i.relname`, table)
	if err != nil {
		return nil, fmt.Errorf("migrate: list indexes of %s: %w", table, err)
	}
	return scanCatalog(rows)
}

// tableExists reports whether the table (SQL-quoted name) exists.
func tableExists(ctx context.Context, q pg.Querier, table string) (bool, error) {
	var ok bool
	if err := q.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&ok); err != nil {
		return false, fmt.Errorf("migrate: look up table %s: %w", table, err)
	}
	return ok, nil
}

// def is the catalog's index as an index definition, to compare with the
// one a file says (indexdef.Match, indexdef.Covers).
func (c *CatalogIndex) def() *indexdef.Def {
	return &indexdef.Def{Name: c.Name, Schema: c.Schema, Table: c.Table, Unique: c.Unique, Method: c.Method,
		Keys: c.Keys, Include: c.Include, Where: c.Where}
}

// unquoteIdent turns "Name" into Name and name into itself: a column as
// pg_get_indexdef writes it.
func unquoteIdent(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
	}
	return s
}

// sameDefinition reports whether the existing index c is the index d
// describes. Plain column indexes are compared field by field; with
// expressions or a predicate the server decides: it builds d on an empty
// temporary copy of the table's columns, in a transaction rolled back at
// once, and its pg_get_indexdef is compared with c's.
func sameDefinition(ctx context.Context, conn *pgx.Conn, c *CatalogIndex, d *indexdef.Def) (bool, string, error) {
	same, askServer, why := indexdef.Match(c.def(), d)
	if !same || !askServer {
		return same, why, nil
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return false, "", err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, pg.Tagged(`CREATE TEMPORARY TABLE hishamos_perf_cmp (LIKE `+d.QualifiedTable()+`) ON COMMIT DROP`)); err != nil {
		return false, "", fmt.Errorf("migrate: compare %s: %w", d.Name, err)
	}
	probe := *d
	probe.Name, probe.Schema, probe.Table, probe.Only = "hishamos_perf_cmp_idx", "", "hishamos_perf_cmp", false
	if _, err := tx.Exec(ctx, pg.Tagged(probe.CreateSQL(false, false))); err != nil {
		return false, "", fmt.Errorf("migrate: compare %s: %w", d.Name, err)
	}
	var want string
	if err := tx.QueryRow(ctx, pg.Tagged(`SELECT pg_get_indexdef('pg_temp.hishamos_perf_cmp_idx'::regclass)`)).Scan(&want); err != nil {
		return false, "", fmt.Errorf("migrate: compare %s: %w", d.Name, err)
	}
	if defBody(want) == defBody(c.Definition) {
		return true, "", nil
	}
	return false, fmt.Sprintf("%s, want %s", defBody(c.Definition), defBody(want)), nil
}

// defBody is a pg_get_indexdef output from its USING clause on: what the
// index is, without its name and table.
func defBody(def string) string {
	if i := strings.Index(def, " USING "); i >= 0 {
		return def[i+1:]
	}
	return def
}
