// Package migrate keeps versioned index migrations: a directory in Atlas's
// format (one CREATE INDEX CONCURRENTLY per file, headed by
// `-- atlas:txmode none`, an atlas.sum computed by ariga.io/atlas), and the
// operations on it: Plan writes the next versions from index proposals,
// Apply builds them on a live database through Atlas's migrate.Executor,
// Status, Validate, Down, Hash, Repair and Lint do what their names say.
//
// # Layout of a directory
//
//	migrations/
//	  atlas.sum                                  sum of the up files (Atlas's)
//	  20250325101103_add_performance_indexes_<index>.sql
//	  down/
//	    atlas.sum                                sum of the down files
//	    20250325101103_add_performance_indexes_<index>.sql
//
// Down files live in their own down/ folder, under the same name as their
// up file, with a sum of their own. Atlas reads only the *.sql files at the
// top of a directory (LocalDir.Files globs "*.sql"), so the atlas CLI runs
// the directory unchanged and never mistakes a down file for a migration;
// `.down.sql` files beside the up files would be, and `-- atlas:sum ignore`
// would only hide them from the sum, not from execution. down/ is itself a
// valid Atlas directory, so the same Validate guards it against edits.
//
// # Applying safely
//
// Apply runs everything on one pinned connection: a PostgreSQL advisory
// lock (the key the atlas CLI takes, so the two never run at once) polled
// with pg_try_advisory_lock, lock_timeout for every statement and
// statement_timeout 0 for builds. The Executor is Atlas's; the Driver under
// it is this package's, and turns each CREATE INDEX CONCURRENTLY into a
// careful build: an INVALID leftover of the same name is dropped first, a
// valid index with the same definition marks the file applied, long
// transactions are reported, lock timeouts and deadlocks are retried with
// capped jittered backoff, and the statement counts as done only when
// pg_index says the index is valid and ready. The revisions table is
// atlas_schema_revisions, laid out as the atlas CLI lays it out; a revision
// is written only once a statement is done, so an interrupted apply leaves
// no dirty state and the next apply finishes the job.
//
// # What apply runs
//
// An index migration directory is no place for anything but indexes:
// before anything runs, every statement of every file not yet applied is
// read with PostgreSQL's own parser (internal/sqlscan), and a file holding anything
// but CREATE INDEX, DROP INDEX, ALTER INDEX … ATTACH PARTITION or COMMENT ON
// INDEX, or a CREATE INDEX without CONCURRENTLY (but ON ONLY a partitioned
// table, which builds nothing), is refused unless ApplyOptions.AllowOtherDDL
// says otherwise. Every table and index name must
// carry its schema: the session's search_path is pinned to pg_catalog
// (PinnedSearchPath), so that the search_path of a DSN, a role or a database
// never decides which table an index is built on. Plan writes only such
// statements, and refuses an index whose table has no schema.
//
// # Partitioned tables
//
// PostgreSQL cannot build an index on a partitioned table CONCURRENTLY.
// Given the table's partition tree (PlanPartitions), Plan writes the index's
// file as the sequence that can (PartitionedSteps): the index made ON ONLY
// the table, INVALID and taken under a brief SHARE lock on it alone; then
// for each partition its index built CONCURRENTLY under a stable name and
// attached with ALTER INDEX … ATTACH PARTITION; a partitioned partition
// gets its own ON ONLY index first and is attached once its partitions
// are. The down file is one DROP INDEX, which drops every partition's
// index with it and cannot run CONCURRENTLY: down says which ACCESS
// EXCLUSIVE locks it takes and waits for each under lock_timeout with
// retries. Apply runs the sequence a step at a time (partitioned_apply.go):
// partitions done/total as it goes, a partition detached or dropped since
// the plan skipped, one added since built and attached too, an INVALID
// index never attached, and the file's revision written only once the
// table's index is valid, so that an interrupted file is pending and the
// next apply keeps what is built, drops the leftover of the interrupted
// build and goes on. Status calls such a file partly applied; lint flags
// CONCURRENTLY on a partitioned table and a unique index without the
// partition key.
package migrate
