package dataset

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Loading into bare tables and building indexes and foreign keys once at the
// end is several times faster than maintaining them row by row. The
// definitions are read back from the catalog rather than from schema.sql,
// so whatever the tables carry (the schema's indexes, or ones a user added
// to existing tables) is dropped and rebuilt as it was.

// definition is one index or constraint of a HishamOS table.
type definition struct {
	kind   byte   // 'p' primary key, 'u' unique, 'f' foreign key, 'i' plain index
	table  string // unquoted table name
	name   string // unquoted name, for messages
	drop   string // DDL that removes it
	create string // DDL that puts it back

	// For a primary key or unique constraint that is not deferrable:
	// index builds its index alone (CREATE UNIQUE INDEX, which unlike
	// ALTER TABLE ... ADD CONSTRAINT lets other index builds on the table
	// run at once) and attach turns that index into the constraint.
	index, attach string
	// For a foreign key: the table it references (unquoted), and the
	// DDL that adds it without checking the rows and then checks them,
	// which lets foreign keys to one parent be checked at once.
	parent              string
	addNotValid, verify string
}

type definitions []definition

// drops returns what to drop, in an order the server accepts: foreign keys
// before the keys they reference.
func (ds definitions) drops() []definition {
	var out []definition
	for _, kind := range []byte{'f', 'i', 'p', 'u'} {
		for _, d := range ds {
			if d.kind == kind {
				out = append(out, d)
			}
		}
	}
	return out
}

// indexes returns the keys and indexes to build, keys first.
func (ds definitions) indexes() []definition {
	var out []definition
	for _, kind := range []byte{'p', 'u', 'i'} {
		for _, d := range ds {
			if d.kind == kind {
				out = append(out, d)
			}
		}
	}
	return out
}

// foreignKeys returns the foreign keys to add back.
func (ds definitions) foreignKeys() []definition {
	var out []definition
	for _, d := range ds {
		if d.kind == 'f' {
			out = append(out, d)
		}
	}
	return out
}

// readDefinitions reads the primary keys, unique constraints, foreign keys
// and plain indexes of the tables called names (quoted, qualified). A key or
// index that a table outside the set references through a foreign key
// stays in place: it cannot be dropped without dropping that foreign key
// too.
//
// The definitions are read with pg_catalog alone on the search_path, so
// that the server qualifies every name in them and they mean the same
// whatever the search_path is when they run.
func readDefinitions(ctx context.Context, tx pgx.Tx, names []string) (_ definitions, err error) {
	var path string
	if err := tx.QueryRow(ctx, "SELECT current_setting('search_path')").Scan(&path); err != nil {
		return nil, fmt.Errorf("dataset: read search_path: %w", err)
	}
	if _, err := tx.Exec(ctx, "SELECT set_config('search_path', 'pg_catalog', true)"); err != nil {
		return nil, fmt.Errorf("dataset: set search_path: %w", err)
	}
	defer func() {
		if _, rerr := tx.Exec(ctx, "SELECT set_config('search_path', $1, true)", path); rerr != nil && err == nil {
			err = fmt.Errorf("dataset: restore search_path: %w", rerr)
		}
	}()
	const keptIndexes = `SELECT conindid FROM pg_constraint
		WHERE contype = 'f' AND confrelid = ANY($1::text[]::regclass[]) AND NOT conrelid = ANY($1::text[]::regclass[])`

	rows, err := tx.Query(ctx, `SELECT n.nspname, t.relname, c.conname, c.contype::text, pg_get_constraintdef(c.oid),
		  CASE WHEN c.contype IN ('p', 'u') AND NOT c.condeferrable THEN pg_get_indexdef(c.conindid) ELSE '' END,
		  coalesce(f.relname, '')
		FROM pg_constraint c
		JOIN pg_class t ON t.oid = c.conrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		LEFT JOIN pg_class f ON f.oid = c.confrelid
		WHERE c.conrelid = ANY($1::text[]::regclass[])
		  AND (c.contype = 'f' OR (c.contype IN ('p', 'u') AND c.conindid NOT IN (`+keptIndexes+`)))
		ORDER BY array_position($1::text[]::regclass[], c.conrelid), c.conname`, names)
	if err != nil {
		return nil, fmt.Errorf("dataset: read constraints: %w", err)
	}
	var ds definitions
	var schema, table, name, kind, def, index, parent string
	_, err = pgx.ForEachRow(rows, []any{&schema, &table, &name, &kind, &def, &index, &parent}, func() error {
		t := pgx.Identifier{schema, table}.Sanitize()
		c := pgx.Identifier{name}.Sanitize()
		d := definition{
			kind: kind[0], table: table, name: name,
			drop:   "ALTER TABLE " + t + " DROP CONSTRAINT " + c,
			create: "ALTER TABLE " + t + " ADD CONSTRAINT " + c + " " + def,
		}
		switch {
		case index != "":
			// The constraint's index has the constraint's name, so
			// attaching it renames nothing.
			word := "UNIQUE"
			if d.kind == 'p' {
				word = "PRIMARY KEY"
			}
			d.index = index
			d.attach = "ALTER TABLE " + t + " ADD CONSTRAINT " + c + " " + word + " USING INDEX " + c
		case d.kind == 'f' && strings.HasSuffix(def, " NOT VALID"):
			// Not validated where it came from: it stays so.
			d.parent, d.addNotValid = parent, d.create
		case d.kind == 'f':
			d.parent = parent
			d.addNotValid = d.create + " NOT VALID"
			d.verify = "ALTER TABLE " + t + " VALIDATE CONSTRAINT " + c
		}
		ds = append(ds, d)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dataset: read constraints: %w", err)
	}

	// pg_get_indexdef gives a complete CREATE INDEX statement with every
	// name qualified and quoted by the server.
	rows, err = tx.Query(ctx, `SELECT n.nspname, t.relname, i.relname, pg_get_indexdef(i.oid)
		FROM pg_index x
		JOIN pg_class i ON i.oid = x.indexrelid
		JOIN pg_class t ON t.oid = x.indrelid
		JOIN pg_namespace n ON n.oid = i.relnamespace
		WHERE x.indrelid = ANY($1::text[]::regclass[])
		  AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = x.indexrelid AND c.contype IN ('p', 'u', 'x'))
		  AND x.indexrelid NOT IN (`+keptIndexes+`)
		ORDER BY array_position($1::text[]::regclass[], x.indrelid), i.relname`, names)
	if err != nil {
		return nil, fmt.Errorf("dataset: read indexes: %w", err)
	}
	_, err = pgx.ForEachRow(rows, []any{&schema, &table, &name, &def}, func() error {
		ds = append(ds, definition{
			kind: 'i', table: table, name: name,
			drop:   "DROP INDEX " + pgx.Identifier{schema, name}.Sanitize(),
			create: def,
		})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dataset: read indexes: %w", err)
	}
	return ds, nil
}
