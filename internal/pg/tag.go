package pg

// Tag starts every statement the tool sends of its own (see Tagged), so
// that analyze leaves them out of pg_stat_statements rankings, this run's
// and the next's: the catalog reads, the profile binder's samples of a
// table, the advisor's plans.
const Tag = "/* hishamos-perf */ "

// TagEnd ends every statement the tool sends of its own. PostgreSQL 18
// stores a statement's text in pg_stat_statements from its first token,
// without the comments before it (make test-versions found analyze
// ranking its own statements there), and keeps a comment after it. On a
// line of its own, so that a statement ending in a -- comment does not
// swallow it.
const TagEnd = "\n/* hishamos-perf */"

// Tagged marks sql as the tool's own: Tag before it, which PostgreSQL up
// to 17 keeps in pg_stat_statements, and the same comment after it, which
// 18 keeps. Error positions count from the start, past Tag.
func Tagged(sql string) string { return Tag + sql + TagEnd }
