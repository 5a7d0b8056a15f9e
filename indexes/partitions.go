package indexes

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/analyze"
)

// Partitioned tables.
//
// A partitioned table holds no rows: its partitions do, and the planner
// reads each partition's own indexes, after pruning the partitions a
// statement cannot touch. HypoPG makes a hypothetical index on a
// partitioned table without complaint, but the planner never uses it, so
// the advisor costs an index on a partitioned table as the index on each
// of its partitions holding rows: one hypothetical index per partition,
// made and dropped together, reported as one index on the table, its size
// the partitions' summed. A statement pruned to one partition is planned
// with that partition's index only, so it costs only that. Building for
// real (Options.AllowBuild), the index is made on the partitioned table in
// the rolled-back transaction, and PostgreSQL builds it on every partition.
// The table's size, rows and write counters are its partitions' summed
// (what an index on it costs writes is what its partitions' indexes cost),
// and its column statistics are the ones ANALYZE gathers over the whole
// tree (pg_stats' inherited rows).

// partition is one partition holding rows of a partitioned table.
type partition struct {
	oid          uint32
	schema, name string
	rows         float64
	bytes        int64
}

// partitioned reports whether the table is a partitioned table.
func (t *table) partitioned() bool { return t.kind == "p" }

// names lists every name plans may give what a what-if method made for one
// definition: the index, and each partition's index.
func (m made) names() []string {
	out := []string{m.name}
	for _, p := range m.parts {
		out = append(out, p.name)
	}
	return out
}

// partitionDDLs is the definition as one CREATE INDEX per partition
// holding rows, for HypoPG.
func (d *indexDef) partitionDDLs() []string {
	out := make([]string, len(d.table.partitions))
	for i, p := range d.table.partitions {
		def := d.toDef("")
		def.Schema, def.Table = p.schema, p.name
		out[i] = def.CreateSQL(false, false)
	}
	return out
}

// hypoParts gathers d's hypothetical indexes, one per partition of its
// table, as one made: the parts, their sizes summed. next reads the
// batch's results in order.
func hypoParts(d *indexDef, next func() (made, error)) (made, error) {
	var m made
	var firstErr error
	for range d.table.partitions {
		p, err := next()
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		m.parts = append(m.parts, p)
		m.bytes += p.bytes
	}
	if len(m.parts) > 0 && firstErr == nil {
		// The made index is named by its first partition's: one name a
		// plan may give it, the others in parts.
		m.name, m.oid = m.parts[0].name, m.parts[0].oid
		m.parts = m.parts[1:]
	}
	// On an error, m has no name (nothing is recorded) and parts holds the
	// partitions' indexes made, for the caller to drop.
	return m, firstErr
}

// builtParts reads the partitions' indexes PostgreSQL built for the index
// made on a partitioned table (name, in schema), with their sizes summed.
func builtParts(ctx context.Context, q Querier, schema, name string) (made, error) {
	m := made{name: name}
	rows, err := q.Query(ctx, analyze.Tagged(`SELECT c.relname::text, c.oid, pg_relation_size(c.oid)
FROM pg_partition_tree($1::regclass) t JOIN pg_class c ON c.oid = t.relid WHERE t.level > 0 AND c.relkind = 'i'
ORDER BY c.relname`), pgx.Identifier{schema, name}.Sanitize())
	if err != nil {
		return m, err
	}
	defer rows.Close()
	for rows.Next() {
		var p made
		if err := rows.Scan(&p.name, &p.oid, &p.bytes); err != nil {
			return m, err
		}
		m.parts = append(m.parts, p)
		m.bytes += p.bytes
	}
	return m, rows.Err()
}

// readPartitions completes the partitioned tables among oids: their
// partitions holding rows; their size, rows (when ANALYZE never counted
// them) and write counters summed over those; their existing indexes'
// size and scans summed over the partitions' indexes, each of which is
// named in partIndex so that a plan reading it counts as a use of the
// partitioned index.
func (c *catalog) readPartitions(ctx context.Context, q Querier, oids []uint32) error {
	var parted []uint32
	for _, oid := range oids {
		if c.byOID[oid].partitioned() {
			parted = append(parted, oid)
		}
	}
	if len(parted) == 0 {
		return nil
	}
	rows, err := q.Query(ctx, analyze.Tagged(`SELECT r.oid, c.oid, n.nspname, c.relname, greatest(c.reltuples, 0)::float8, pg_table_size(c.oid),
  coalesce(s.n_tup_ins, 0), coalesce(s.n_tup_upd, 0), coalesce(s.n_tup_hot_upd, 0), coalesce(s.n_tup_del, 0),
  extract(epoch FROM now() - coalesce(d.stats_reset, pg_postmaster_start_time()))::float8
FROM unnest($1::oid[]) r(oid)
CROSS JOIN LATERAL pg_partition_tree(r.oid) t
JOIN pg_class c ON c.oid = t.relid AND c.relkind = 'r'
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
CROSS JOIN (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()) d
ORDER BY r.oid, c.relname`), parted)
	if err != nil {
		return fmt.Errorf("indexes: read partitions: %w", err)
	}
	sums := map[uint32]*table{}
	for rows.Next() {
		var (
			root               uint32
			p                  partition
			ins, upd, hot, del int64
			secs               float64
		)
		if err := rows.Scan(&root, &p.oid, &p.schema, &p.name, &p.rows, &p.bytes, &ins, &upd, &hot, &del, &secs); err != nil {
			rows.Close()
			return fmt.Errorf("indexes: read partitions: %w", err)
		}
		t := c.byOID[root]
		if sums[root] == nil {
			sums[root] = &table{}
			t.bytes, t.writes = 0, writeStats{known: true}
		}
		secs = max(secs, 1)
		t.partitions = append(t.partitions, p)
		t.bytes += p.bytes
		sums[root].rows += p.rows
		t.writes.insertsPerSec += float64(ins) / secs
		t.writes.updatesPerSec += float64(upd) / secs
		t.writes.hotUpdatesPerSec += float64(hot) / secs
		t.writes.deletesPerSec += float64(del) / secs
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("indexes: read partitions: %w", err)
	}
	for oid, s := range sums {
		if t := c.byOID[oid]; t.rows <= 0 {
			t.rows = s.rows
		}
	}
	// The partitions' indexes of the partitioned tables' indexes.
	var parents []uint32
	byParent := map[uint32]*existing{}
	for _, oid := range parted {
		for _, e := range c.byOID[oid].indexes {
			parents = append(parents, e.oid)
			byParent[e.oid] = e
		}
	}
	if len(parents) == 0 {
		return nil
	}
	rows, err = q.Query(ctx, analyze.Tagged(`SELECT p.oid, c.relname::text, pg_relation_size(c.oid), coalesce(s.idx_scan, 0)
FROM unnest($1::oid[]) p(oid)
CROSS JOIN LATERAL pg_partition_tree(p.oid) t
JOIN pg_class c ON c.oid = t.relid AND t.level > 0
LEFT JOIN pg_stat_all_indexes s ON s.indexrelid = c.oid`), parents)
	if err != nil {
		return fmt.Errorf("indexes: read the partitions' indexes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			parent       uint32
			name         string
			bytes, scans int64
		)
		if err := rows.Scan(&parent, &name, &bytes, &scans); err != nil {
			return fmt.Errorf("indexes: read the partitions' indexes: %w", err)
		}
		e := byParent[parent]
		e.bytes += bytes
		e.scans += scans
		c.partIndex[name] = e.name
	}
	return rows.Err()
}

// partitionNotes says what the advisor could not know of a partitioned
// table: statistics ANALYZE never gathered over it (autovacuum analyzes
// partitions, never the partitioned table), without which its columns'
// selectivities are the planner's defaults.
func (c *catalog) partitionNotes() []string {
	var out []string
	for _, t := range c.byOID {
		if !t.partitioned() {
			continue
		}
		stats := false
		for _, col := range t.columns {
			if col.stats != nil {
				stats = true
				break
			}
		}
		if !stats && len(t.partitions) > 0 {
			out = append(out, fmt.Sprintf("%s is partitioned and has no statistics of its own (autovacuum analyzes its partitions, never the table): run ANALYZE %s for better candidates",
				t.display(), t.qualified()))
		}
	}
	return out
}

// onPartitions completes a proposal of an index on a partitioned table:
// the partitions it is built on, a definition PostgreSQL runs (CREATE
// INDEX on a partitioned table cannot be CONCURRENTLY; indexes plan writes
// the sequence that builds it partition by partition) and why in the
// reason.
func (p *Proposal) onPartitions(d *indexDef) {
	if !d.table.partitioned() {
		return
	}
	p.Partitions = make([]string, 0, len(d.table.partitions))
	for _, part := range d.table.partitions {
		name := part.name
		if part.schema != d.table.schema {
			name = part.schema + "." + part.name
		}
		p.Partitions = append(p.Partitions, name)
	}
	p.Definition = d.ddl(p.Name, false)
	p.Reason += fmt.Sprintf("; partitioned: costed on each of its %d partitions, sizes and writes summed", len(p.Partitions))
}
