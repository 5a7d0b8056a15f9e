package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// readEnvironment reads the server's version and plan settings, whether
// pg_stat_statements is usable, and the given tables with their indexes. It
// also returns each given table name's canonical one (as regclass prints
// it: schema-qualified only off the search_path). It reads in a READ ONLY
// transaction that is rolled back: the tables are named by the workload's
// plans and profile.
func readEnvironment(ctx context.Context, conn Conn, tables []string) (env Environment, canonical map[string]string, err error) {
	err = inReadOnlyTx(ctx, conn, func(tx pgx.Tx) error {
		var err error
		env, canonical, err = readEnvironmentIn(ctx, tx, tables)
		return err
	})
	return env, canonical, err
}

// readEnvironmentIn is readEnvironment inside its transaction.
func readEnvironmentIn(ctx context.Context, q pgx.Tx, tables []string) (Environment, map[string]string, error) {
	env := Environment{Settings: map[string]string{}}
	canonical := map[string]string{}
	err := q.QueryRow(ctx, `SELECT current_setting('server_version'), current_setting('server_version_num')::int, current_database()`).
		Scan(&env.ServerVersion, &env.ServerVersionNum, &env.Database)
	if err != nil {
		return env, nil, fmt.Errorf("bench: read the server version: %w", err)
	}
	rows, err := q.Query(ctx, `SELECT name, current_setting(name) FROM unnest($1::text[]) AS s(name)`, PlanSettings)
	if err != nil {
		return env, nil, fmt.Errorf("bench: read settings: %w", err)
	}
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			rows.Close()
			return env, nil, fmt.Errorf("bench: read settings: %w", err)
		}
		env.Settings[name] = value
	}
	if err := rows.Err(); err != nil {
		return env, nil, fmt.Errorf("bench: read settings: %w", err)
	}
	env.PgStatStatements = pgssVersion(ctx, q)
	if env.PgStatStatements != "" {
		var track *string
		if err := q.QueryRow(ctx, `SELECT current_setting('pg_stat_statements.track_planning', true)`).Scan(&track); err != nil {
			return env, nil, fmt.Errorf("bench: read pg_stat_statements.track_planning: %w", err)
		}
		env.TrackPlanning = track != nil && *track == "on"
	}

	// n_live_tup follows every write, but reads 0 until the backend that
	// loaded a table has flushed its counts, and after pg_stat_reset()
	// counts only the rows written since (300 of a table of 480,000):
	// while the table has been neither analyzed nor vacuumed since its
	// statistics began (no last_* time), reltuples, from the last ANALYZE,
	// stands in for it when larger.
	rows, err = q.Query(ctx, `SELECT r.name, c.oid::regclass::text,
	CASE WHEN coalesce(s.last_analyze, s.last_autoanalyze, s.last_vacuum, s.last_autovacuum) IS NULL
		THEN greatest(c.reltuples::bigint, coalesce(s.n_live_tup, 0))
		WHEN coalesce(s.n_live_tup, 0) = 0 AND c.reltuples > 0 THEN c.reltuples::bigint ELSE coalesce(s.n_live_tup, 0) END,
	pg_total_relation_size(c.oid), greatest(s.last_analyze, s.last_autoanalyze)
FROM unnest($1::text[], $2::text[]) AS r(name, qname)
JOIN pg_class c ON c.oid = to_regclass(r.qname)
LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
WHERE c.relkind IN ('r', 'p', 'm')
ORDER BY 2, 1`, tables, regclassNames(tables))
	if err != nil {
		return env, nil, fmt.Errorf("bench: read tables: %w", err)
	}
	for rows.Next() {
		var t TableInfo
		var given string
		var analyzed *time.Time
		if err := rows.Scan(&given, &t.Name, &t.Rows, &t.SizeBytes, &analyzed); err != nil {
			rows.Close()
			return env, nil, fmt.Errorf("bench: read tables: %w", err)
		}
		canonical[given] = t.Name
		if env.Table(t.Name) != nil {
			continue
		}
		if analyzed != nil {
			u := analyzed.UTC()
			t.LastAnalyzed = &u
		}
		env.Tables = append(env.Tables, t)
	}
	if err := rows.Err(); err != nil {
		return env, nil, fmt.Errorf("bench: read tables: %w", err)
	}
	names := make([]string, len(env.Tables))
	for i, t := range env.Tables {
		names[i] = t.Name
	}
	// The indexes of the partitioned tables above the partitions a plan
	// read are read too: an index built on a partitioned table is one
	// index with its partitions' (Difference.Partitions), not one per
	// partition.
	rows, err = q.Query(ctx, `SELECT i.indexrelid::regclass::text, i.indrelid::regclass::text,
	array(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
	      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
	      WHERE k.ord <= i.indnkeyatts ORDER BY k.ord),
	i.indisvalid, pg_get_indexdef(i.indexrelid), pg_relation_size(i.indexrelid),
	coalesce((SELECT h.inhparent::regclass::text FROM pg_inherits h WHERE h.inhrelid = i.indexrelid), '')
FROM pg_index i
WHERE i.indrelid IN (SELECT a.relid FROM unnest($1::text[]) AS t(n), pg_partition_ancestors(to_regclass(t.n)) AS a)
   OR i.indrelid IN (SELECT to_regclass(n) FROM unnest($1::text[]) AS t(n))
ORDER BY 1`, names)
	if err != nil {
		return env, nil, fmt.Errorf("bench: read indexes: %w", err)
	}
	for rows.Next() {
		var ix IndexInfo
		if err := rows.Scan(&ix.Name, &ix.Table, &ix.Columns, &ix.Valid, &ix.Definition, &ix.SizeBytes, &ix.Parent); err != nil {
			rows.Close()
			return env, nil, fmt.Errorf("bench: read indexes: %w", err)
		}
		env.Indexes = append(env.Indexes, ix)
	}
	if err := rows.Err(); err != nil {
		return env, nil, fmt.Errorf("bench: read indexes: %w", err)
	}
	return env, canonical, nil
}

// pgssVersion is pg_stat_statements' version when it is installed in the
// database and its view answers (the library is preloaded), else "". It
// asks under a savepoint: the view's error, where the library is not
// loaded, must not abort tx.
func pgssVersion(ctx context.Context, tx pgx.Tx) string {
	var version string
	if err := tx.QueryRow(ctx, `SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements'`).Scan(&version); err != nil {
		return ""
	}
	sp, err := tx.Begin(ctx)
	if err != nil {
		return ""
	}
	defer sp.Rollback(ctx)
	var one int
	err = sp.QueryRow(ctx, `SELECT 1 FROM pg_stat_statements(false) LIMIT 1`).Scan(&one)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return ""
	}
	return version
}

// Table returns the table called name, or nil.
func (e *Environment) Table(name string) *TableInfo {
	for i := range e.Tables {
		if e.Tables[i].Name == name {
			return &e.Tables[i]
		}
	}
	return nil
}

// Index returns the index called name, or nil.
func (e *Environment) Index(name string) *IndexInfo {
	for i := range e.Indexes {
		if e.Indexes[i].Name == name {
			return &e.Indexes[i]
		}
	}
	return nil
}

// regclassNames quotes each table name for to_regclass. A name comes as a
// plan gives it (schema.name, unquoted) or as a profile lists it; pasted
// unquoted, a name with a space or a semicolon is a syntax error and one
// with capitals is folded to another table. A name already holding a
// double quote is taken to be quoted SQL and passed as it is.
func regclassNames(tables []string) []string {
	out := make([]string, len(tables))
	for i, t := range tables {
		if strings.Contains(t, `"`) {
			out[i] = t
			continue
		}
		schema, name, ok := strings.Cut(t, ".")
		if !ok {
			out[i] = pgx.Identifier{t}.Sanitize()
			continue
		}
		out[i] = pgx.Identifier{schema, name}.Sanitize()
	}
	return out
}
