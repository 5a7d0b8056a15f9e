package migrate

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/pg"
)

// DjangoDatabase is what a database Django migrates says of its project:
// the models it has content types for, the migrations applied, and of the
// tables to be indexed, which are partitioned and the types of their
// columns.
type DjangoDatabase struct {
	// ContentTypes are django_content_type's (app label, model) pairs;
	// HasContentTypes says whether the table is there at all.
	ContentTypes    []DjangoContentType `json:"content_types,omitempty"`
	HasContentTypes bool                `json:"has_content_types"`
	// Applied are django_migrations' names per app, in the order they
	// were applied; HasMigrations says whether the table is there.
	Applied       map[string][]string `json:"applied,omitempty"`
	HasMigrations bool                `json:"has_migrations"`
	// Partitioned are the tables that are partitioned: Django's
	// AddIndexConcurrently cannot build an index on one.
	Partitioned map[indexdef.Name]bool `json:"-"`
	// Types are the tables' columns' types (format_type), by table.
	Types map[indexdef.Name]map[string]string `json:"-"`
}

// DjangoContentType is one row of django_content_type.
type DjangoContentType struct {
	App   string `json:"app_label"`
	Model string `json:"model"`
}

// ReadDjangoDatabase reads django_content_type and django_migrations where
// they are (in the schema of the first table given that has them, else on
// the search_path), and the given tables' kinds and column types.
// Missing Django tables are no error: the database may not be Django's.
func ReadDjangoDatabase(ctx context.Context, q pg.Querier, tables []indexdef.Name) (*DjangoDatabase, error) {
	db := &DjangoDatabase{Applied: map[string][]string{}, Partitioned: map[indexdef.Name]bool{}, Types: map[indexdef.Name]map[string]string{}}
	find := func(name string) (string, error) {
		var candidates []string
		seen := map[string]bool{}
		for _, t := range tables {
			if t.Schema != "" && !seen[t.Schema] {
				seen[t.Schema] = true
				candidates = append(candidates, indexdef.Qualify(t.Schema, name))
			}
		}
		candidates = append(candidates, indexdef.QuoteIdent(name))
		for _, c := range candidates {
			var found *string
			if err := q.QueryRow(ctx, `SELECT to_regclass($1)::text`, c).Scan(&found); err != nil {
				return "", fmt.Errorf("migrate: look up %s: %w", name, err)
			}
			if found != nil {
				return c, nil
			}
		}
		return "", nil
	}
	ct, err := find("django_content_type")
	if err != nil {
		return nil, err
	}
	if ct != "" {
		db.HasContentTypes = true
		rows, err := q.Query(ctx, `SELECT app_label::text, model::text FROM `+ct+` ORDER BY 1, 2`)
		if err != nil {
			return nil, fmt.Errorf("migrate: read django_content_type: %w", err)
		}
		ctypes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (DjangoContentType, error) {
			var c DjangoContentType
			err := r.Scan(&c.App, &c.Model)
			return c, err
		})
		if err != nil {
			return nil, fmt.Errorf("migrate: read django_content_type: %w", err)
		}
		db.ContentTypes = ctypes
	}
	mig, err := find("django_migrations")
	if err != nil {
		return nil, err
	}
	if mig != "" {
		db.HasMigrations = true
		rows, err := q.Query(ctx, `SELECT app::text, name::text FROM `+mig+` ORDER BY applied, id`)
		if err != nil {
			return nil, fmt.Errorf("migrate: read django_migrations: %w", err)
		}
		var app, name string
		_, err = pgx.ForEachRow(rows, []any{&app, &name}, func() error {
			db.Applied[app] = append(db.Applied[app], name)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("migrate: read django_migrations: %w", err)
		}
	}
	for _, t := range tables {
		if _, done := db.Types[t]; done {
			continue
		}
		var kind string
		err := q.QueryRow(ctx, `SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)`, t.String()).Scan(&kind)
		if err == pgx.ErrNoRows {
			db.Types[t] = map[string]string{}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("migrate: look up table %s: %w", t, err)
		}
		db.Partitioned[t] = kind == "p"
		rows, err := q.Query(ctx, `SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute
			WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`, t.String())
		if err != nil {
			return nil, fmt.Errorf("migrate: read the columns of %s: %w", t, err)
		}
		types := map[string]string{}
		var col, typ string
		if _, err := pgx.ForEachRow(rows, []any{&col, &typ}, func() error { types[col] = typ; return nil }); err != nil {
			return nil, fmt.Errorf("migrate: read the columns of %s: %w", t, err)
		}
		db.Types[t] = types
	}
	return db, nil
}

// hasModel reports whether a content type names app.model.
func (db *DjangoDatabase) hasModel(app, model string) bool {
	for _, c := range db.ContentTypes {
		if c.App == app && c.Model == model {
			return true
		}
	}
	return false
}

// contentTypeOf is the content type whose model's default table is table
// (<app label>_<model>): the exact app and model the name is made of,
// where guessing at its first '_' would not be (an app label may hold
// '_'). A custom db_table is not found here.
func (db *DjangoDatabase) contentTypeOf(table string) (DjangoContentType, bool) {
	for _, c := range db.ContentTypes {
		if c.App+"_"+c.Model == table {
			return c, true
		}
	}
	return DjangoContentType{}, false
}

// appOf is the longest app label in django_migrations that the table's name
// starts with, then '_': the app, where content types are missing.
func (db *DjangoDatabase) appOf(table string) (string, bool) {
	best := ""
	for app := range db.Applied {
		if strings.HasPrefix(table, app+"_") && len(app) > len(best) && len(table) > len(app)+1 {
			best = app
		}
	}
	return best, best != ""
}

// Latest is the app's latest applied migration: the highest number, the
// last applied among equals; false when none is.
func (db *DjangoDatabase) Latest(app string) (string, bool) {
	names := db.Applied[app]
	if len(names) == 0 {
		return "", false
	}
	best, bestN := "", -1
	for _, n := range names {
		k := migrationNumber(n)
		if k >= bestN {
			best, bestN = n, k
		}
	}
	return best, true
}

// latestOf is Latest, false without a database.
func (db *DjangoDatabase) latestOf(app string) (string, bool) {
	if db == nil {
		return "", false
	}
	return db.Latest(app)
}

// migrationNumber is the number a migration's name starts with (0002_x is
// 2), -1 when it starts with none.
func migrationNumber(name string) int {
	digits := 0
	for digits < len(name) && name[digits] >= '0' && name[digits] <= '9' {
		digits++
	}
	if digits == 0 {
		return -1
	}
	n, err := strconv.Atoi(name[:digits])
	if err != nil {
		return -1
	}
	return n
}

// apps are the app labels the database knows, sorted.
func (db *DjangoDatabase) apps() []string {
	seen := map[string]bool{}
	for _, c := range db.ContentTypes {
		seen[c.App] = true
	}
	for a := range db.Applied {
		seen[a] = true
	}
	out := make([]string, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}
