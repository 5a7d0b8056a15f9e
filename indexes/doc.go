// Package indexes is the workload-wide index advisor behind `hishamos-perf
// indexes propose`: workload → candidates → what-if costing → selection →
// proposals.
//
// # Workload
//
// A Workload is a list of statements with weights, from a .sql file
// (ParseSQL: a `-- weight: n` comment above a statement weighs it, as the
// application sends it, and `-- name: x` names it), a profile
// (FromProfile) or pg_stat_statements (FromStatStatements). Every
// statement goes through the real PostgreSQL parser (pg_query) and
// statements that differ only in constants are grouped by fingerprint (and
// the tables they name: pg_query's fingerprint ignores trailing digits of
// table names). An EXPLAIN counts as the statement it explains, merged with
// it when the application sends it too. A statement is planned from
// internal/sqlscan's PlanText, which writes the typed literals
// pg_stat_statements normalized (timestamptz $3) as casts the server
// plans. What an index cannot serve (not a SELECT, UPDATE or DELETE; an
// UPDATE or DELETE without WHERE; a SELECT with nothing to filter, join,
// sort or group on) is skipped with its reason and its text on a line, as
// is a statement that does not parse (with its file, number and the
// parser's message), that names a table the database does not have, or
// that reads only system catalogs or an extension's tables. The others go
// on.
//
// # Candidates
//
// For each statement and each table it reads, candidates are built from the
// parse tree: equality columns first (the most selective first, by pg_stats,
// or, for a normalized statement, by the share of rows pg_qualstats counted
// each predicate really keep: selectivity.go), then IN lists, then one range
// column, or the ORDER BY keys with their directions, or the GROUP BY keys;
// every prefix of each is a candidate too, so that selection can grow an
// index a column at a time. A predicate pg_qualstats saw keep over
// broadShare of the rows leads no candidate. INCLUDE variants
// cover the statement's other columns where that makes an index-only scan.
// A predicate on an expression of one column (UPPER("t"."email"::text),
// date_trunc('day', at), a cast) makes an expression index on exactly that
// expression, so that the planner matches it; LIKE 'prefix%' gets a
// text_pattern_ops key where the column's collation is not C. A partial
// index's WHERE is a constant of the application's only (constants.go): a
// profile's literal, a file's string or boolean value at most
// rareValueShare of the rows hold on a column of a few values, or the one
// constant pg_qualstats saw a normalized statement's predicate run with;
// another statement's other constant on the column does not matter. A
// definition is one candidate however many statements ask for it. No
// candidate is built on a system catalog or an extension's table.
// Candidates an existing index already serves (its keys in another order,
// for a statement comparing each with =, included) and candidates whose
// predicates keep too many rows are rejected before any costing. On a
// table with more than MaxCandidatesPerTable candidates (thousands of
// distinct statements on one table), a first costing plans each candidate
// alone on the statements that asked for it, and a greedy pass in memory
// over those costs keeps the MaxCandidatesPerTable that save most per
// byte over one another; the others are rejected with why, and a note
// says the table was cut.
//
// # Costing
//
// Costs are the planner's total cost from EXPLAIN (FORMAT JSON), never
// ANALYZE. Hypothetical indexes (HypoPG) live on the one connection Propose
// is given; they are created in batches, reset by a deferred hypopg_reset()
// whatever happens, and work on read-only sessions and standbys. No
// statement is planned with a hypothetical partial index present: HypoPG
// keeps its predicate as if its table were the statement's first, so the
// planner ignores it on a partition, a table joined after another or one
// read through a view (and one HypoPG release crashed the server there).
// The planner gets a stand-in instead (indexDef.surrogate), present only
// while a statement that compares the predicate's columns with its
// constants is planned, and the partial index's size is HypoPG's estimate
// of the partial index itself. Without
// HypoPG, Propose fails with ErrNoHypoPG unless Options.AllowBuild is set, in
// which case it builds real indexes one at a time inside a transaction that it
// always rolls back. A statement with $n parameters is planned with values
// drawn from pg_qualstats (the constants it really ran with, by how often,
// where the extension is installed), from pg_stats (most common values
// weighted by frequency, histogram bounds for ranges) or from its profile's
// generators, never with NULLs. A what-if index on an expression has no
// statistics, so a plan is costed with the expression's real selectivity
// (exprs.go: a sampled count beside EXPLAIN of the condition alone).
// An index can change a statement's plan only if its first key is what one
// of the statement's predicates, joins, ORDER BY or GROUP BY uses, another
// of its keys is what a predicate compares (a scan of the whole index), or
// it holds every column the statement reads. Plans are cached per
// statement and the set's indexes that can change its plan, so the cache
// grows with the moves that concern each statement, not with the sets
// tried; a statement's cached plans are dropped when a chosen index
// changes the set it sees.
//
// # Selection
//
// Greedy over the whole workload: each round takes the move with the largest
// benefit (cost saved × statement weight) per byte of estimated index size,
// where a move adds a candidate or widens a chosen index by one column (or by
// its INCLUDE columns), under Options.Budget and Options.MaxIndexes. A move
// must cut some statement's cost by at least Options.MinImprovement, the
// workload's cost as it stands by minMaterialShare, and save at least a
// thousandth of what the workload costs per byte of its tables for each
// byte it adds; a move that only extends an index (INCLUDE on lookups of a
// few rows, key columns after an existing index that finds a page of rows)
// must save minExtensionShare of the workload's cost before (marginal.go).
// Once selection ends, each chosen index is costed added last to the others
// (the set without it): one that no longer passes those rules is dropped,
// the one saving least first, and each proposal carries that marginal
// saving as its own (Proposal.Marginal). With only MaxIndexes set (no budget), index slots
// are what is scarce and moves rank by benefit alone. When two chosen
// indexes share leading keys and keeping both is not worth it by those same
// rules, they are merged into the longer one (the shorter one's other
// columns as INCLUDE) and selection goes on. A move is costed on the
// statements its index can serve only, and kept with its cost for each;
// after a choice, only the statements whose plans changed are planned
// again, and only for the moves that reach the head of the queue (lazy
// greedy). Chosen indexes that no final plan uses are dropped from the
// set. Existing indexes
// that duplicate one another, that a proposal or another index makes
// redundant, or that nothing uses are listed as Drops and never dropped.
//
// Nothing here prints, reads flags or the environment; Propose returns a
// Result whose JSON form (Schema) is the proposals file, each proposal
// carrying its index as an indexdef.Def, and ReadProposals reads it back
// for `indexes plan --from`.
package indexes
