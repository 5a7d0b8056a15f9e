// Package bench measures a workload's statements against a live PostgreSQL
// and compares two measurements with benchstat's statistics, for people
// (a table, Markdown) and for CI (a gate, an exit code, JUnit).
//
// # A run
//
// Measure takes a Workload (the statements of a profile, or of a .sql
// file), opens Options.Clients connections, prepares every statement once
// per connection and runs it with arguments drawn from the profile's
// generators. The draws are deterministic: the k-th call of a statement gets
// the same arguments with the same seed whatever the client count, so two
// runs of one seed ask the server the very same questions. Statements are
// interleaved: every round runs each statement once, in an order shuffled
// anew each round, so that drift on the machine (another job starting, a
// cache warming) touches all statements alike rather than the ones that
// happened to run last. Warm-up rounds run first on every connection, with
// the same draws, and are not recorded: each connection's caches are warm
// and its prepared statements past the five custom plans after which
// PostgreSQL may settle on a generic plan, with the same history on all.
//
// A measured call is timed from sending it to reading the end of its
// reply. The client's own cost per call should be close to pgbench's, which
// `make bench-harness` checks, so the calls of the warm-up and measured
// phases bypass pgx: each client's connection is taken over by a session
// of the bench/internal/wire package (wire.Open), whose one call
// (wire.Session.Call) sends Bind and Execute of the prepared BEGIN, of the
// statement and of the prepared ROLLBACK, and Sync, in one round trip
// (arguments encoded as text beforehand, text results, no Describe), and
// counts the rows of the reply without decoding them. On Linux, over a
// TCP or Unix socket, the session takes the socket over from pgconn (the
// direct path): one write(2) per call, reads of the reply up to its one
// ReadyForQuery, a wait in poll(2) only when a read finds nothing yet,
// and, as pgbench's -j threads do, the clients spread over Options.Threads
// OS threads (one per CPU, at most one per client, by default), each
// waiting for all of its clients' sockets at once (wire.Run): the Go
// runtime's network poller, which would park a goroutine and wake it on
// another thread, is not involved, GOMAXPROCS is one P per thread while
// the phases run, and the threads' system calls keep their P, so that the
// runtime's monitor does not take a waiting client's P away and wake
// another thread for it. A TLS connection, and every connection on
// another system, stays on pgconn (the portable path), one goroutine per
// client, and sends the same three statements as one batch. The runner
// asks for a session and never learns which path it took.
//
// # Requests
//
// A leading statement with follow-ups (a profile's then:), or one half of
// a before/after pair, is also sampled whole as a request (RequestRun):
// the leader, then its follow-ups on the same connection, a per-row one
// once per row the leader returned with the row's values as the
// arguments its generators' columns name (the leader keeps its rows for
// that, wire.Session.CallRows; no lookup for a NULL key), as a Django
// lazy foreign key issues them. Per request: the queries, the latency from
// the leader's start to the last reply, the rows, and the bytes read from
// the server, counted on the socket (the direct path adds them up as it
// reads; on pgconn, internal/pg's connections count them below TLS).
// Variant Both runs both halves of every pair in one run, interleaved, and
// CompareRequests judges each pair through Compare itself.
//
// # What a run can change: nothing
//
// Every call a run makes of a workload's statement (warm-up and measured
// calls, the EXPLAIN (ANALYZE, BUFFERS) samples) runs inside a transaction
// of its own that ends in ROLLBACK, whatever the statement contains: READ
// ONLY for a read, READ WRITE for a statement marked as a write, which
// runs only with Options.AllowWrites. A write, a function that writes, a
// large object, a NOTIFY, a set_config or SET of the session's settings
// (default_transaction_read_only included) are all undone with the
// transaction, so no call can change what the next one runs under, and
// after each call the session must be idle again or the run stops. The
// time of a call is the round trip of the three, BEGIN and ROLLBACK
// included (a few microseconds on the server: they add the same to every
// statement of both runs of a comparison; Settings.Transaction records it,
// and a baseline timed otherwise is refused). The tool's own queries that
// read what a workload names (a profile's generators, the tables and
// indexes, pg_stat_statements) run in READ ONLY transactions that are
// rolled back too, and the sessions keep default_transaction_read_only on.
//
// Two effects no transaction contains. A sequence's nextval and setval are
// not transactional: READ ONLY refuses them, so a read cannot move a
// sequence, but a write run with AllowWrites that takes a value (an INSERT
// into a serial column) leaves it taken. And a statement that reaches
// another session commits there: dblink and the other functions of
// internal/sqlscan's Parsed.OutsideTx (pg_terminate_backend, advisory locks …) are
// refused before anything runs, but a user function that calls them is
// not seen. Run bench with a role that cannot do what a workload must not.
//
// A workload with writes is refused on a hot standby before anything runs
// (pg.ErrStandby); a statement that cannot be prepared because of the
// server's state (a lock held by another session, which the error names,
// a timeout, the role's rights) is the server's condition, not a bad
// workload (pg.ServerCondition), and so is a statement that failed every
// call for such a reason.
//
// # What is recorded
//
// Per statement: every latency sample (in the saved file), its quantiles,
// mean and standard deviation, rows per call, shared buffers (hit + read)
// per call and the shape of its plan. Per run: the server's version, the
// settings that move plans, and the row counts, sizes, indexes and last
// ANALYZE of the tables the statements read.
//
// Buffers per call come from pg_stat_statements: the difference, over the
// measured phase only, of shared_blks_hit + shared_blks_read for the
// statement's queryid, filtered by this database, this role and top-level
// calls. It counts every measured call with exactly the parameters that were
// timed, costs nothing while measuring, and is the number the server itself
// keeps. The queryid is read from EXPLAIN VERBOSE's Query Identifier (the
// extended protocol gives one queryid per prepared statement). The delta is
// only trusted when its call count equals the calls the run made: another
// session running the same statement, a reset or an evicted entry makes it
// fall back to EXPLAIN (ANALYZE, BUFFERS) on a sample of ExplainSamples
// parameter draws, which is also the source when pg_stat_statements is not
// installed. The run says which source each statement's figure comes from,
// and buffers from different sources are not compared.
//
// The same EXPLAIN sample gives the plan: its shape (node types, join
// types, index and relation names; no numbers) hashed with the analyze
// package's Plan.ShapeHash, so a plan change shows as another hash.
//
// # Comparing
//
// Compare puts each statement of a run beside the same statement of a
// baseline: the change in median latency with a 95% confidence interval and
// a Mann–Whitney U p-value (golang.org/x/perf/benchmath, AssumeNothing), the
// change in buffers per call and whether the plan changed. See Compare for
// how a verdict is reached and Evaluate for the gate.
package bench
