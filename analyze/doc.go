// Package analyze finds what a PostgreSQL workload costs and why: it reads
// pg_stat_statements (with a column map for the extension's versions on
// PostgreSQL 14 to 17), ranks statements, explains the top ones (as generic
// plans when their text holds $n parameters), parses the plans into a typed
// tree with exclusive times, runs rules over plans and statements, and checks
// the health of every index from the catalogs.
//
// Nothing here writes to the database: catalog reads run in the caller's
// read-only session, and every EXPLAIN runs in a transaction that is rolled
// back (READ ONLY for plain SELECTs, READ WRITE only for EXPLAIN ANALYZE of a
// statement that is not one). pg_stat_statements_reset is never called; the
// delta mode subtracts two snapshots instead.
//
// The plan tree (ParsePlan, Plan, Node) is shared with the indexes and bench
// packages: Plan.Shape and Plan.ShapeHash name a plan's structure in a form
// that is stable across runs, and Plan.IndexesUsed lists its indexes.
package analyze
