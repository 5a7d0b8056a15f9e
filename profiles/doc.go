// Package profiles holds workload profiles: the statements an application
// issues, how to draw their parameters from the data, the hand-picked index
// set meant to serve them and the improvement their authors expect.
//
// Profiles are YAML files. The built-in ones are embedded from profiles/*.yaml
// (hishamos.yaml: the HishamOS API as the seed report's Django viewsets query
// it); a user's profile is any file in the same format. Load and Parse
// validate a profile fully and report the first problem in the file as an
// *Error naming the file, line and column. Bind reads from a database what
// the parameter generators need, after which Bound.Args draws the arguments
// of a statement deterministically from a seeded random source.
//
// # Format
//
//	name: shop                      # required; letters, digits, - and _
//	description: ...
//	dataset: shop                   # the data it is written for
//	scales: [small, medium]         # dataset scales it is meant for
//	tables: [orders, users]         # optional; when given, generators and
//	                                # indexes may only name these tables
//	statements:                     # required, at least one
//	  - name: orders_of_user        # required, unique
//	    description: ...
//	    source: OrderViewSet.list   # where the application issues it
//	    sql: >-                     # required; one statement, $n placeholders
//	      SELECT "orders"."id" FROM "orders"
//	      WHERE ("orders"."user_id" = $1 AND "orders"."created_at" >= $2)
//	      ORDER BY "orders"."created_at" DESC LIMIT 20
//	    params:                     # params[0] draws $1, params[1] $2, ...
//	      - {name: user_id, kind: sample, from: orders.user_id, skew: zipf}
//	      - {kind: recent, from: orders.created_at, window: 7d}
//	    weight: 5                   # relative frequency, >= 0; default 1;
//	                                # 0 = only run as a follow-up
//	    write: false                # true for INSERT/UPDATE/DELETE/...
//	    indexes: [orders_user_created_idx]  # hand-picked indexes meant to serve it
//	    pair: orders_of_user_before # the other half of a before/after pair
//	    variant: after              # before | after (both halves name each other)
//	    then:                       # issued in the same request
//	      - {statement: user_by_id, per_row: true}  # N+1: once per row returned
//	      - {statement: orders_count}               # once
//	indexes:                        # the hand-picked set
//	  - name: orders_user_created_idx   # required, unique, <= 63 bytes
//	    table: orders                   # required
//	    columns: [user_id, created_at]  # required, at least one
//	    description: ...
//	expect:                         # the promised improvement of the targeted
//	  min_percent: 40               # statements, in percent less time
//	  max_percent: 60               # 0 <= min <= max <= 100
//	  source: where it was promised
//
// Generators (kind:, and only the fields of that kind):
//
//	sample     from: table.column (or schema.table.column); skew: frequency
//	           (default: as often as in the data) | uniform | zipf (rank k
//	           drawn ∝ 1/k, favouring hot values)
//	choice     values: [literals]; weights: [one per value] (optional)
//	int_range  min, max (inclusive integers); step (default 1)
//	recent     from: a timestamp column; window: 7d, 12h, 1d12h, 2w (the
//	           column's largest value minus the window)
//	const      value: a literal
//
// Unknown fields are errors, as are: a $n without a generator, a generator
// for a $n the SQL does not use (placeholders inside literals, quoted
// identifiers, comments and dollar quotes do not count), SQL PostgreSQL's
// parser refuses, an index column that is not one key, a statement that
// is not a read-only query but is not marked write: true (internal/sqlscan
// decides, as it does for bench: INSERT, UPDATE, DELETE, MERGE, SELECT …
// INTO, FOR UPDATE/NO KEY UPDATE/SHARE/KEY SHARE, a data-modifying WITH,
// EXPLAIN ANALYZE of a write, DDL, SET), and references (indexes, pair,
// then) to names the profile does not define.
package profiles
