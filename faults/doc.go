// Package faults is the fault suite: it runs the real hishamos-perf binary
// against a sandbox of its own and breaks things while the commands work.
// The server is stopped and restarted in the middle of analyze, bench,
// indexes apply and seed; the tool's backend is killed with
// pg_terminate_backend mid-statement; a table is locked by another
// transaction during apply; a statement_timeout cancels an EXPLAIN ANALYZE;
// and, where the machine lets the suite mount a tmpfs, a tablespace on a
// tiny one fills up under an index build.
//
// After each fault the suite checks what the README promises: the documented
// exit code, one clear line on stderr (no Go stack trace, no password), the
// HishamOS tables' row counts and checksums as they were, no INVALID or
// unready index, no session of the tool left on the server, no half-made
// load schema, and a migration revisions table that agrees with the indexes
// that exist.
//
// Each fault logs one machine-readable line for `make reliability`:
//
//	reliability: fault=<name> injected=<bool> survived=<bool> rows_lost=<n>
//
// Apart from this comment the package is all tests; `make faults` runs it
// alone, `make test` with the rest.
package faults
