package pg

import "context"

// NameTaken is the relkind of the relation called name in the schema that
// holds table (as to_regclass reads it), or "" when no relation has the
// name there. An index's name shares the schema's namespace with its
// tables, sequences and views: a name taken by any of them cannot be the
// name of a new index.
func NameTaken(ctx context.Context, q Querier, name, table string) (string, error) {
	var kind string
	err := q.QueryRow(ctx, Tagged(`SELECT coalesce((SELECT c.relkind::text FROM pg_class c
	WHERE c.relname = $1 AND c.relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = to_regclass($2))), '')`),
		name, table).Scan(&kind)
	return kind, err
}

// QualStats is pg_qualstats.enabled as the session has it, nil where the
// library is not loaded: what the tool turns off while it plans
// statements of its own (analyze's EXPLAINs, propose's what-if plans).
func QualStats(ctx context.Context, q Querier) (*string, error) {
	var setting *string
	err := q.QueryRow(ctx, Tagged("SELECT current_setting('pg_qualstats.enabled', true)")).Scan(&setting)
	return setting, err
}
