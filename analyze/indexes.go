package analyze

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hishamos/hishamos-perf/internal/pg"
)

// Thresholds of the index health rules.
const (
	// SeqScanTableMinScans is the least number of sequential scans of a
	// table for seq-scan-table: fewer are maintenance and ad hoc queries
	// (pg_dump, a psql session), not the workload.
	SeqScanTableMinScans = 50
	// SeqScanTableShare is the share of a table's scans that must be
	// sequential for seq-scan-table.
	SeqScanTableShare = 0.5
)

// Index is one index with its definition, size and use, as the catalogs
// and pg_stat_user_indexes give them.
type Index struct {
	Schema string `json:"schema"`
	Table  string `json:"table"`
	Name   string `json:"name"`
	// Method is the access method: btree, hash, gin, gist, brin …
	Method string `json:"method"`
	// Columns are the key columns (or expressions) in order; Include the
	// INCLUDE columns.
	Columns []string `json:"columns"`
	Include []string `json:"include,omitempty"`
	// Predicate is the WHERE of a partial index.
	Predicate  string `json:"predicate,omitempty"`
	Definition string `json:"definition"`
	Unique     bool   `json:"unique"`
	Primary    bool   `json:"primary"`
	Valid      bool   `json:"valid"`
	// Constraint names the primary key, unique or exclusion constraint
	// the index backs.
	Constraint string `json:"constraint,omitempty"`
	SizeBytes  int64  `json:"size_bytes"`
	// TableSizeBytes is the table's size without its indexes.
	TableSizeBytes int64 `json:"table_size_bytes"`
	// Scans counts index scans since the statistics were reset.
	Scans      int64 `json:"scans"`
	TuplesRead int64 `json:"tuples_read"`
	// Findings lists the ids of the index health rules that fired on it.
	Findings []string `json:"findings,omitempty"`
	// Partitioned is set for an index on a partitioned table. Its size,
	// scans and tuples read are its partitions' indexes' summed (the
	// partitioned index itself holds nothing and is never scanned), and
	// TableSizeBytes its partitions'.
	Partitioned bool `json:"partitioned,omitempty"`
	// Partitions is how many partitions' indexes a partitioned index has,
	// PartitionsUsed how many of them were scanned.
	Partitions     int `json:"partitions,omitempty"`
	PartitionsUsed int `json:"partitions_used,omitempty"`
	// NodeScans are, in a fleet, the other nodes that scanned the index
	// and how often (Scans is the first node's own): an index read on a
	// replica is used, whatever the primary's counters say.
	NodeScans []NodeScans `json:"node_scans,omitempty"`
	// PartitionOf names the partitioned index this index is a partition
	// of (schema.name): its health is told there, once for all partitions.
	PartitionOf string `json:"partition_of,omitempty"`

	oid        uint32
	keys       []int16
	classes    []uint32
	collations []uint32
	options    []int16
	exprs      string
	pred       string
	nkey       int
	building   bool
	exclusion  bool
	// missing lists, for an INVALID partitioned index, the partitions
	// holding rows without a valid index attached to it.
	missing []string
}

// QualifiedTable is schema.table.
func (ix *Index) QualifiedTable() string { return ix.Schema + "." + ix.Table }

// qname is the index's name qualified and quoted for SQL.
func (ix *Index) qname() string { return quoteIdent(ix.Schema) + "." + quoteIdent(ix.Name) }

// Table is one table's size and how it is scanned.
type Table struct {
	Schema    string  `json:"schema"`
	Name      string  `json:"name"`
	Rows      float64 `json:"rows"`
	SizeBytes int64   `json:"size_bytes"`
	// IndexesSizeBytes is the size of all the table's indexes.
	IndexesSizeBytes int64 `json:"indexes_size_bytes"`
	SeqScans         int64 `json:"seq_scans"`
	SeqRowsRead      int64 `json:"seq_rows_read"`
	IndexScans       int64 `json:"index_scans"`

	oid uint32
}

// IndexReport is the health of every index and table in the database.
type IndexReport struct {
	Indexes  []Index   `json:"indexes"`
	Tables   []Table   `json:"tables"`
	Findings []Finding `json:"findings"`
	// Statistics says how old the counters are that unused-index and
	// seq-scan-table judge by.
	Statistics *Statistics `json:"statistics"`
	// Notes say what was not judged, and why.
	Notes []string `json:"notes,omitempty"`

	// keep holds why an index must stay whatever its scans say (it backs
	// a constraint or a foreign key's lookups, a plan reads it, a
	// duplicate's finding keeps it), and advised the indexes a finding
	// already advises dropping: every rule that would advise a DROP asks
	// mayDrop first, so no two findings of a report contradict.
	keep    map[uint32]string
	advised map[uint32]bool
}

// healthConfig is what index health takes from the analysis around it.
type healthConfig struct {
	name  func(Option) string
	stats *Statistics
	// used are the indexes (schema.name) the report's plans read: no scan
	// counted since a reset makes them unused.
	used map[string]bool
	// In a fleet: nodes names every node, nodeScans are the other nodes'
	// index scans (an index one of them reads stays), and stats are the
	// youngest node's statistics, statsNode its name.
	nodes     []string
	nodeScans []nodeScanMap
	statsNode string
}

// foreignKey is one foreign key constraint.
type foreignKey struct {
	name, schema, table, refTable string
	tableOID                      uint32
	keys                          []int16
	columns                       []string
	rows                          float64
}

// IndexHealth reads every index, table and foreign key outside the system
// schemas and reports unused, duplicate, prefix-covered and invalid
// indexes, foreign keys without an index and tables read mostly by
// sequential scans. Indexes are compared on pg_index's fields (key columns,
// expression and predicate trees, operator classes, collations, options,
// INCLUDE columns), never on their definitions' text. Index usage is
// judged once the database's statistics are DefaultMinStatsAge old.
func IndexHealth(ctx context.Context, q Querier) (*IndexReport, error) {
	stats, err := readStatistics(ctx, q, nil, DefaultMinStatsAge)
	if err != nil {
		return nil, err
	}
	return indexHealth(ctx, q, healthConfig{name: optionWords, stats: stats})
}

// indexHealth is IndexHealth with what the analysis knows: how old the
// statistics are, the indexes its plans read, and the names of options.
func indexHealth(ctx context.Context, q Querier, cfg healthConfig) (*IndexReport, error) {
	r := &IndexReport{Statistics: cfg.stats, keep: map[uint32]string{}, advised: map[uint32]bool{}}
	var err error
	if r.Indexes, err = readIndexes(ctx, q); err != nil {
		return nil, err
	}
	for i := range r.Indexes {
		if ix := &r.Indexes[i]; ix.Partitioned && !ix.Valid {
			if ix.missing, err = missingPartitions(ctx, q, ix.oid); err != nil {
				return nil, err
			}
		}
	}
	if r.Tables, err = readTables(ctx, q); err != nil {
		return nil, err
	}
	fks, err := readForeignKeys(ctx, q)
	if err != nil {
		return nil, err
	}
	r.keepers(fks, cfg.used)
	r.keepReadElsewhere(cfg)
	r.Findings = append(r.Findings, r.invalid()...)
	r.Findings = append(r.Findings, r.duplicates()...)
	r.Findings = append(r.Findings, r.unused(fks, cfg)...)
	r.Findings = append(r.Findings, r.foreignKeys(fks)...)
	r.Findings = append(r.Findings, r.seqScanned(cfg.name)...)
	if !cfg.stats.IndexUsageJudged {
		note := cfg.stats.unjudgedNote(cfg.name)
		if cfg.statsNode != "" {
			note = fmt.Sprintf("on %s, whose statistics are the youngest of the %d nodes: %s", cfg.statsNode, len(cfg.nodes), note)
		}
		r.Notes = append(r.Notes, note)
	}
	byName := map[string]*Index{}
	for i := range r.Indexes {
		byName[r.Indexes[i].Schema+"."+r.Indexes[i].Name] = &r.Indexes[i]
	}
	for _, f := range r.Findings {
		if ix := byName[f.Index]; ix != nil && !slices.Contains(ix.Findings, f.Rule) {
			ix.Findings = append(ix.Findings, f.Rule)
		}
	}
	SortFindings(r.Findings)
	return r, nil
}

// Why an index must stay, whatever its scans say.
const (
	keepConstraint = "it backs a constraint"
	keepUsed       = "a plan of this report reads it"
	keepPartition  = "it is a partition's index, dropped only with its partitioned index"
	// keepReadOn starts the reason of an index another node of a fleet
	// reads; the node and its scans follow.
	keepReadOn = "read on "
)

// keepers records the indexes no finding may advise dropping: those that
// back a primary key, unique or exclusion constraint, a partition's index
// (told about, and dropped, with its partitioned index), those a plan of
// the report reads (a partitioned index when a plan reads one of its
// partitions' indexes), and the only index leading with a foreign key's
// columns (without it each delete on the parent scans the table).
func (r *IndexReport) keepers(fks []foreignKey, used map[string]bool) {
	byTable := r.byTable()
	// A plan reads a partition's index, never the partitioned one: that
	// keeps the partitioned indexes it belongs to, up to the top one.
	parent := map[string]string{}
	for _, ix := range r.Indexes {
		parent[ix.Schema+"."+ix.Name] = ix.PartitionOf
	}
	partitionsRead := map[string]bool{}
	for _, ix := range r.Indexes {
		if !used[ix.Schema+"."+ix.Name] {
			continue
		}
		for p := ix.PartitionOf; p != "" && !partitionsRead[p]; p = parent[p] {
			partitionsRead[p] = true
		}
	}
	for i := range r.Indexes {
		ix := &r.Indexes[i]
		switch {
		case ix.Primary || ix.Unique || ix.exclusion || ix.Constraint != "":
			r.keep[ix.oid] = keepConstraint
		case ix.PartitionOf != "":
			r.keep[ix.oid] = keepPartition
		case used[ix.Schema+"."+ix.Name] || partitionsRead[ix.Schema+"."+ix.Name]:
			r.keep[ix.oid] = keepUsed
		}
	}
	for _, fk := range fks {
		if covers := fkCovers(fk, byTable[fk.schema+"."+fk.table]); len(covers) == 1 {
			if _, ok := r.keep[covers[0].oid]; !ok {
				r.keep[covers[0].oid] = fkKeep(fk)
			}
		}
	}
}

// keepReadElsewhere keeps, in a fleet, each index another node scanned
// (recorded in its NodeScans) and says which in one note: its scans on the
// first node alone would call it unused, and dropping it on the primary
// drops it on every replica.
func (r *IndexReport) keepReadElsewhere(cfg healthConfig) {
	var kept []string
	for i := range r.Indexes {
		ix := &r.Indexes[i]
		ix.NodeScans = usedOn(ix, cfg.nodeScans)
		if len(ix.NodeScans) == 0 || ix.PartitionOf != "" {
			continue
		}
		if _, ok := r.keep[ix.oid]; !ok {
			r.keep[ix.oid] = keepReadOn + usedOnText(ix.NodeScans)
		}
		if ix.Scans == 0 {
			kept = append(kept, fmt.Sprintf("%s.%s (read on %s)", ix.Schema, ix.Name, usedOnText(ix.NodeScans)))
		}
	}
	if len(kept) > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("kept though %s never scanned them: %s; a replica's reads are its own, and dropping an index on the primary drops it there", cfg.nodes[0], strings.Join(kept, ", ")))
	}
}

// fkKeep is why the one index of a foreign key stays.
func fkKeep(fk foreignKey) string {
	return fmt.Sprintf("it is the only index for foreign key %s (%s) → %s", fk.name, strings.Join(fk.columns, ", "), fk.refTable)
}

// mayDrop reports whether a finding may advise dropping ix: it is no
// keeper and no other finding advises it already. redundant is set for a
// finding that names another index serving the same lookups (duplicate,
// prefix): a plan reading ix then reads the other, so that alone keeps
// nothing. A duplicate pair keeps one, and a prefix its covering index:
// the rule marks the one it keeps before it advises the other.
func (r *IndexReport) mayDrop(ix *Index, redundant bool) bool {
	why, kept := r.keep[ix.oid]
	if redundant && (why == keepUsed || strings.HasPrefix(why, keepReadOn)) {
		kept = false
	}
	return ix.Valid && !kept && !r.advised[ix.oid]
}

// keepTwin marks the index a redundant finding keeps in the dropped one's
// place: its own scans are judged once the other is gone.
func (r *IndexReport) keepTwin(ix *Index) {
	if _, ok := r.keep[ix.oid]; !ok {
		r.keep[ix.oid] = "it serves the lookups of an index advised for dropping"
	}
}

// byTable groups the indexes by schema.table.
func (r *IndexReport) byTable() map[string][]*Index {
	m := map[string][]*Index{}
	for i := range r.Indexes {
		ix := &r.Indexes[i]
		m[ix.QualifiedTable()] = append(m[ix.QualifiedTable()], ix)
	}
	return m
}

const userSchemas = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'`

func readIndexes(ctx context.Context, q Querier) ([]Index, error) {
	// Node trees carry the position of each expression in the statement
	// that created them (":location 42"); without it, equal trees are
	// equal text.
	rows, err := q.Query(ctx, Tagged(`SELECT ic.oid, n.nspname, t.relname, ic.relname, am.amname,
	x.indisunique, x.indisprimary, x.indisvalid, x.indisexclusion, x.indnkeyatts,
	x.indkey::int2[], x.indclass::oid[], x.indcollation::oid[], x.indoption::int2[],
	coalesce(regexp_replace(x.indexprs::text, ' :location -?[0-9]+', '', 'g'), ''),
	coalesce(regexp_replace(x.indpred::text, ' :location -?[0-9]+', '', 'g'), ''),
	coalesce(pg_get_expr(x.indpred, x.indrelid, true), ''),
	pg_get_indexdef(x.indexrelid),
	ARRAY(SELECT pg_get_indexdef(x.indexrelid, k, true) FROM generate_series(1, x.indnatts) k),
	pg_relation_size(ic.oid), pg_relation_size(t.oid),
	coalesce(s.idx_scan, 0), coalesce(s.idx_tup_read, 0),
	coalesce((SELECT c.conname FROM pg_constraint c WHERE c.conindid = x.indexrelid AND c.conrelid = x.indrelid
		AND c.contype IN ('p', 'u', 'x') LIMIT 1), ''),
	EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.index_relid = x.indexrelid),
	ic.relkind = 'I',
	coalesce((SELECT pn.nspname || '.' || pc.relname FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent
		JOIN pg_namespace pn ON pn.oid = pc.relnamespace WHERE i.inhrelid = x.indexrelid), ''),
	coalesce(leaf.scans, 0), coalesce(leaf.tuples, 0), coalesce(leaf.bytes, 0), coalesce(leaf.table_bytes, 0),
	coalesce(leaf.n, 0)::int, coalesce(leaf.used, 0)::int
FROM pg_index x
JOIN pg_class ic ON ic.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_am am ON am.oid = ic.relam
LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = x.indexrelid
LEFT JOIN LATERAL (SELECT sum(ls.idx_scan) AS scans, sum(ls.idx_tup_read) AS tuples,
		sum(pg_relation_size(lt.relid)) AS bytes, sum(pg_relation_size(lx.indrelid)) AS table_bytes,
		count(*) AS n, count(*) FILTER (WHERE ls.idx_scan > 0) AS used
	FROM pg_partition_tree(x.indexrelid) lt
	JOIN pg_index lx ON lx.indexrelid = lt.relid
	LEFT JOIN pg_stat_user_indexes ls ON ls.indexrelid = lt.relid
	WHERE lt.isleaf AND ic.relkind = 'I') leaf ON true
WHERE t.relkind IN ('r', 'm', 'p') AND `+userSchemas+`
ORDER BY n.nspname, t.relname, ic.relname`))
	if err != nil {
		return nil, fmt.Errorf("analyze: read indexes: %w", err)
	}
	defer rows.Close()
	var out []Index
	for rows.Next() {
		var ix Index
		var cols []string
		var leafScans, leafTuples, leafBytes, leafTable int64
		if err := rows.Scan(&ix.oid, &ix.Schema, &ix.Table, &ix.Name, &ix.Method,
			&ix.Unique, &ix.Primary, &ix.Valid, &ix.exclusion, &ix.nkey,
			&ix.keys, &ix.classes, &ix.collations, &ix.options, &ix.exprs, &ix.pred, &ix.Predicate,
			&ix.Definition, &cols, &ix.SizeBytes, &ix.TableSizeBytes, &ix.Scans, &ix.TuplesRead,
			&ix.Constraint, &ix.building, &ix.Partitioned, &ix.PartitionOf,
			&leafScans, &leafTuples, &leafBytes, &leafTable, &ix.Partitions, &ix.PartitionsUsed); err != nil {
			return nil, fmt.Errorf("analyze: read indexes: %w", err)
		}
		if ix.Partitioned {
			ix.Scans, ix.TuplesRead, ix.SizeBytes, ix.TableSizeBytes = leafScans, leafTuples, leafBytes, leafTable
		}
		ix.Columns = cols[:min(ix.nkey, len(cols))]
		if len(cols) > ix.nkey {
			ix.Include = cols[ix.nkey:]
		}
		out = append(out, ix)
	}
	return out, rows.Err()
}

// missingPartitions lists the partitions holding rows of a partitioned
// index's table (at every level) that have no valid index attached to it,
// directly or through a partitioned partition's index.
func missingPartitions(ctx context.Context, q Querier, index uint32) ([]string, error) {
	rows, err := q.Query(ctx, Tagged(`SELECT n.nspname || '.' || c.relname
FROM pg_partition_tree((SELECT indrelid FROM pg_index WHERE indexrelid = $1)) t
JOIN pg_class c ON c.oid = t.relid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'f') AND NOT EXISTS (SELECT FROM pg_partition_tree($1::oid::regclass) it
	JOIN pg_index x ON x.indexrelid = it.relid WHERE x.indrelid = c.oid AND x.indisvalid)
ORDER BY 1`), index)
	if err != nil {
		return nil, fmt.Errorf("analyze: read the partitions of an index: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("analyze: read the partitions of an index: %w", err)
		}
		out = append(out, name)
	}
	return out, rows.Err()
}

func readTables(ctx context.Context, q Querier) ([]Table, error) {
	rows, err := q.Query(ctx, Tagged(`SELECT t.oid, n.nspname, t.relname, greatest(t.reltuples, 0)::float8,
	pg_relation_size(t.oid), pg_indexes_size(t.oid),
	coalesce(s.seq_scan, 0), coalesce(s.seq_tup_read, 0), coalesce(s.idx_scan, 0),
	coalesce(s.n_live_tup, 0)
FROM pg_class t
JOIN pg_namespace n ON n.oid = t.relnamespace
LEFT JOIN pg_stat_user_tables s ON s.relid = t.oid
WHERE t.relkind IN ('r', 'm', 'p') AND `+userSchemas+`
ORDER BY n.nspname, t.relname`))
	if err != nil {
		return nil, fmt.Errorf("analyze: read tables: %w", err)
	}
	defer rows.Close()
	var out []Table
	for rows.Next() {
		var t Table
		var live int64
		if err := rows.Scan(&t.oid, &t.Schema, &t.Name, &t.Rows, &t.SizeBytes, &t.IndexesSizeBytes,
			&t.SeqScans, &t.SeqRowsRead, &t.IndexScans, &live); err != nil {
			return nil, fmt.Errorf("analyze: read tables: %w", err)
		}
		// reltuples is -1 (PostgreSQL 14+) on a table never vacuumed or
		// analyzed: the live-row count is the better guess then.
		if t.Rows == 0 && live > 0 {
			t.Rows = float64(live)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func readForeignKeys(ctx context.Context, q Querier) ([]foreignKey, error) {
	rows, err := q.Query(ctx, Tagged(`SELECT c.conname, n.nspname, t.relname, t.oid, pn.nspname || '.' || pt.relname,
	c.conkey::int2[],
	ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
		JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.ord),
	greatest(t.reltuples, 0)::float8
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_class pt ON pt.oid = c.confrelid
JOIN pg_namespace pn ON pn.oid = pt.relnamespace
WHERE c.contype = 'f' AND c.conparentid = 0 AND `+userSchemas+`
ORDER BY n.nspname, t.relname, c.conname`))
	if err != nil {
		return nil, fmt.Errorf("analyze: read foreign keys: %w", err)
	}
	defer rows.Close()
	var out []foreignKey
	for rows.Next() {
		var fk foreignKey
		if err := rows.Scan(&fk.name, &fk.schema, &fk.table, &fk.tableOID, &fk.refTable, &fk.keys, &fk.columns, &fk.rows); err != nil {
			return nil, fmt.Errorf("analyze: read foreign keys: %w", err)
		}
		out = append(out, fk)
	}
	return out, rows.Err()
}

func (r *IndexReport) invalid() []Finding {
	var out []Finding
	for _, ix := range r.Indexes {
		if ix.Valid || ix.PartitionOf != "" {
			// A partition's index INVALID leaves its partitioned index
			// INVALID: told there.
			continue
		}
		if ix.Partitioned {
			out = append(out, Finding{
				Rule: RuleInvalidIndex, Severity: Critical, Table: ix.QualifiedTable(), Index: ix.Schema + "." + ix.Name,
				Message: fmt.Sprintf("index %s on the partitioned table %s is INVALID: %d of its table's partitions have no valid index attached (%s); the others' indexes serve their own partitions, but the index is not complete",
					ix.Name, ix.Table, len(ix.missing), nameList(ix.missing)),
				Evidence: map[string]float64{"partitions_missing": float64(len(ix.missing)), "partitions_indexed": float64(ix.Partitions), "size_bytes": float64(ix.SizeBytes)},
				Fix: fmt.Sprintf("Finish it: build each missing partition's index CONCURRENTLY and ALTER INDEX %s ATTACH PARTITION it (`hishamos-perf indexes apply` does, and resumes a planned migration left part way); or DROP INDEX %s, which cannot run CONCURRENTLY (brief ACCESS EXCLUSIVE locks on the table and its partitions).",
					ix.qname(), ix.qname()),
			})
			continue
		}
		if ix.building {
			out = append(out, Finding{
				Rule: RuleInvalidIndex, Severity: Info, Table: ix.QualifiedTable(), Index: ix.Schema + "." + ix.Name,
				Message:  fmt.Sprintf("index %s is being built (CREATE INDEX CONCURRENTLY in progress) and not yet valid", ix.Name),
				Evidence: map[string]float64{"size_bytes": float64(ix.SizeBytes), "building": 1},
				Fix:      "Wait for the build to finish; if it fails, drop the INVALID index it leaves behind.",
			})
			continue
		}
		out = append(out, Finding{
			Rule: RuleInvalidIndex, Severity: Critical, Table: ix.QualifiedTable(), Index: ix.Schema + "." + ix.Name,
			Message:  fmt.Sprintf("index %s is INVALID (a failed CREATE INDEX CONCURRENTLY): writes still maintain its %s but no query can use it", ix.Name, pg.Size(ix.SizeBytes)),
			Evidence: map[string]float64{"size_bytes": float64(ix.SizeBytes)},
			Fix:      fmt.Sprintf("DROP INDEX CONCURRENTLY %s; then fix what failed the build (duplicate values for a UNIQUE index, a timeout, a deadlock) and create it again.", ix.qname()),
		})
	}
	return out
}

// sameKeyParts reports whether the first n key columns of a and b are the
// same columns with the same operator classes, collations and options.
func sameKeyParts(a, b *Index, n int) bool {
	if n > a.nkey || n > b.nkey || n > len(a.keys) || n > len(b.keys) {
		return false
	}
	return slices.Equal(a.keys[:n], b.keys[:n]) &&
		slices.Equal(a.classes[:n], b.classes[:n]) &&
		slices.Equal(a.collations[:n], b.collations[:n]) &&
		slices.Equal(a.options[:n], b.options[:n])
}

func includeSet(ix *Index) []int16 {
	inc := slices.Clone(ix.keys[min(ix.nkey, len(ix.keys)):])
	slices.Sort(inc)
	return inc
}

// comparable reports whether two indexes can stand in for each other at
// all: same table and method, same predicate, both valid.
func comparable(a, b *Index) bool {
	// Two partitions' indexes of two partitioned indexes are told about on
	// those.
	return a.oid != b.oid && a.Schema == b.Schema && a.Table == b.Table && a.Method == b.Method &&
		a.pred == b.pred && a.Valid && b.Valid && (a.PartitionOf == "" || b.PartitionOf == "")
}

// keeper says which of two equal indexes to keep: the primary key, else the
// one backing a constraint, else the unique one, else the one a plan of the
// report reads, else the more used, else the older.
func (r *IndexReport) keeper(a, b *Index) bool {
	switch {
	case (a.PartitionOf != "") != (b.PartitionOf != ""):
		// A partition's index cannot be dropped alone.
		return a.PartitionOf != ""
	case a.Primary != b.Primary:
		return a.Primary
	case (a.Constraint != "") != (b.Constraint != ""):
		return a.Constraint != ""
	case a.Unique != b.Unique:
		return a.Unique
	case (r.keep[a.oid] == keepUsed) != (r.keep[b.oid] == keepUsed):
		return r.keep[a.oid] == keepUsed
	case a.Scans != b.Scans:
		return a.Scans > b.Scans
	}
	return a.oid < b.oid
}

// dropFix is the statement that removes a redundant index, through its
// constraint when it backs one.
func dropFix(ix *Index) string {
	if ix.Constraint != "" {
		return fmt.Sprintf("ALTER TABLE %s.%s DROP CONSTRAINT %s;", quoteIdent(ix.Schema), quoteIdent(ix.Table), quoteIdent(ix.Constraint))
	}
	return dropIndex(ix)
}

// dropIndex is the statement that drops an index: CONCURRENTLY, but for a
// partitioned index, which PostgreSQL cannot drop so; its drop takes brief
// ACCESS EXCLUSIVE locks on the table and every partition, to be run under
// a lock_timeout.
func dropIndex(ix *Index) string {
	if ix.Partitioned {
		return fmt.Sprintf("SET lock_timeout = '5s'; DROP INDEX %s; (a partitioned index cannot be dropped CONCURRENTLY: the drop locks %s and its partitions for a moment)", ix.qname(), ix.Table)
	}
	return fmt.Sprintf("DROP INDEX CONCURRENTLY %s;", ix.qname())
}

func (r *IndexReport) duplicates() []Finding {
	var out []Finding
	dropped := r.advised
	for i := range r.Indexes {
		for j := range r.Indexes {
			a, b := &r.Indexes[i], &r.Indexes[j]
			if i >= j || !comparable(a, b) || dropped[a.oid] || dropped[b.oid] {
				continue
			}
			if a.nkey == b.nkey && sameKeyParts(a, b, a.nkey) && a.exprs == b.exprs &&
				slices.Equal(includeSet(a), includeSet(b)) {
				keep, drop := a, b
				if !r.keeper(a, b) {
					keep, drop = b, a
				}
				if !r.mayDrop(drop, true) {
					// Both must stay (two constraints): nothing to advise.
					continue
				}
				dropped[drop.oid] = true
				r.keepTwin(keep)
				out = append(out, Finding{
					Rule: RuleDuplicateIndex, Severity: Warning, Table: drop.QualifiedTable(), Index: drop.Schema + "." + drop.Name,
					Message: fmt.Sprintf("index %s duplicates %s on (%s): same columns, opclasses, collations and predicate; %s wasted",
						drop.Name, keep.Name, strings.Join(keep.Columns, ", "), pg.Size(drop.SizeBytes)),
					Evidence: map[string]float64{"size_bytes": float64(drop.SizeBytes), "scans": float64(drop.Scans), "kept_scans": float64(keep.Scans)},
					Fix:      fmt.Sprintf("%s it repeats %s, which stays.", dropFix(drop), keep.Name),
				})
			}
		}
	}
	// Prefix-covered: a plain b-tree whose key columns lead another's.
	for i := range r.Indexes {
		a := &r.Indexes[i]
		if !r.mayDrop(a, true) || a.Method != "btree" || a.Unique || a.Constraint != "" || a.exprs != "" {
			continue
		}
		for j := range r.Indexes {
			b := &r.Indexes[j]
			if dropped[b.oid] || !comparable(a, b) || b.nkey < a.nkey || !sameKeyParts(a, b, a.nkey) {
				continue
			}
			if b.nkey == a.nkey && len(includeSet(b)) <= len(includeSet(a)) {
				continue // equal keys: a duplicate, or b is the smaller
			}
			if !covers(b, includeSet(a)) {
				continue
			}
			dropped[a.oid] = true
			r.keepTwin(b)
			out = append(out, Finding{
				Rule: RulePrefixIndex, Severity: Warning, Table: a.QualifiedTable(), Index: a.Schema + "." + a.Name,
				Message: fmt.Sprintf("index %s on (%s) is a prefix of %s on (%s), which serves the same lookups; %s could go",
					a.Name, strings.Join(a.Columns, ", "), b.Name, strings.Join(b.Columns, ", "), pg.Size(a.SizeBytes)),
				Evidence: map[string]float64{"size_bytes": float64(a.SizeBytes), "scans": float64(a.Scans), "covering_scans": float64(b.Scans)},
				Fix:      fmt.Sprintf("%s once a check of its queries shows %s serves them as well.", dropIndex(a), b.Name),
			})
			break
		}
	}
	return out
}

// covers reports whether every column in cols is a column of ix (key or
// INCLUDE).
func covers(ix *Index, cols []int16) bool {
	for _, c := range cols {
		if c == 0 || !slices.Contains(ix.keys, c) {
			return false
		}
	}
	return true
}

// unused reports the indexes with no scans once the statistics cover
// Statistics.MinAgeSeconds, and nothing before (a note says when). The
// indexes that must stay whatever their scans (keepers) are left out, but
// for the only index of a foreign key: that one is "rarely used", an info
// that says why it stays, never a DROP.
func (r *IndexReport) unused(fks []foreignKey, cfg healthConfig) []Finding {
	st, used := r.Statistics, cfg.used
	if !st.IndexUsageJudged {
		return nil
	}
	var out []Finding
	days := st.AgeSeconds / 86400
	since := fmt.Sprintf("since the %s %s ago", st.SinceWhat, ageText(st.Age()))
	if st.SinceWhat == sinceServerStart {
		since = fmt.Sprintf("in at least %s (the statistics were never reset; the server has been up that long)", ageText(st.Age()))
	}
	check := "no replica reads it (their statistics are their own)"
	if len(cfg.nodes) > 1 {
		since = fmt.Sprintf("on any of the %d nodes (%s) %s", len(cfg.nodes), strings.Join(cfg.nodes, ", "), since)
		if cfg.statsNode != "" {
			since += " on " + cfg.statsNode + ", the youngest statistics"
		}
		check = "no replica left out of this report reads it"
	}
	byTable := r.byTable()
	for i := range r.Indexes {
		ix := &r.Indexes[i]
		// A partition's index is judged with its partitioned index: one
		// used on some partitions only is used.
		if ix.Scans > 0 || !ix.Valid || ix.building || ix.PartitionOf != "" || used[ix.Schema+"."+ix.Name] || r.advised[ix.oid] || r.keep[ix.oid] == keepConstraint || len(ix.NodeScans) > 0 {
			continue
		}
		ev := map[string]float64{"scans": 0, "size_bytes": float64(ix.SizeBytes), "stats_age_days": round1(days)}
		if fk, ok := onlyIndexOf(ix, fks, byTable); ok {
			out = append(out, Finding{
				Rule: RuleUnusedIndex, Severity: Info, Table: ix.QualifiedTable(), Index: ix.Schema + "." + ix.Name,
				Message: fmt.Sprintf("index %s (%s) is rarely used (no scans %s) but keeps deletes and key updates on %s fast: it is the only index for foreign key %s (%s)",
					ix.Name, pg.Size(ix.SizeBytes), since, fk.refTable, fk.name, strings.Join(fk.columns, ", ")),
				Evidence: ev,
				Fix:      fmt.Sprintf("Keep it: without it each delete on %s scans %s (%s rows).", fk.refTable, fk.table, num(fk.rows)),
			})
			continue
		}
		if !r.mayDrop(ix, false) {
			continue
		}
		r.advised[ix.oid] = true
		msg := fmt.Sprintf("index %s (%s) has had no scans %s", ix.Name, pg.Size(ix.SizeBytes), since)
		if ix.Partitioned {
			msg = fmt.Sprintf("index %s on the partitioned table %s (%s over its %d partitions) has had no scans on any of them %s", ix.Name, ix.Table, pg.Size(ix.SizeBytes), ix.Partitions, since)
			ev["partitions"] = float64(ix.Partitions)
		}
		out = append(out, Finding{
			Rule: RuleUnusedIndex, Severity: Warning, Table: ix.QualifiedTable(), Index: ix.Schema + "." + ix.Name,
			Message:  msg,
			Evidence: ev,
			Fix:      fmt.Sprintf("%s after checking that %s and no rare job needs it.", dropIndex(ix), check),
		})
	}
	return out
}

// onlyIndexOf is the foreign key ix is the only index of, if any.
func onlyIndexOf(ix *Index, fks []foreignKey, byTable map[string][]*Index) (foreignKey, bool) {
	for _, fk := range fks {
		if fk.schema != ix.Schema || fk.table != ix.Table {
			continue
		}
		if c := fkCovers(fk, byTable[fk.schema+"."+fk.table]); len(c) == 1 && c[0].oid == ix.oid {
			return fk, true
		}
	}
	return foreignKey{}, false
}

func (r *IndexReport) foreignKeys(fks []foreignKey) []Finding {
	byTable := r.byTable()
	var out []Finding
	for _, fk := range fks {
		if len(fkCovers(fk, byTable[fk.schema+"."+fk.table])) > 0 {
			continue
		}
		sev := Warning
		if fk.rows < SeqScanLargeRows {
			sev = Info
		}
		cols := make([]string, len(fk.columns))
		for i, c := range fk.columns {
			cols[i] = quoteIdent(c)
		}
		out = append(out, Finding{
			Rule: RuleFKWithoutIndex, Severity: sev, Table: fk.schema + "." + fk.table,
			Message: fmt.Sprintf("foreign key %s (%s) → %s has no index leading with its columns: each delete or key update in %s scans %s (%s rows), and joins on it cannot use an index",
				fk.name, strings.Join(fk.columns, ", "), fk.refTable, fk.refTable, fk.table, num(fk.rows)),
			Evidence: map[string]float64{"table_rows": fk.rows, "columns": float64(len(fk.columns))},
			Fix:      fmt.Sprintf("CREATE INDEX CONCURRENTLY ON %s.%s (%s);", quoteIdent(fk.schema), quoteIdent(fk.table), strings.Join(cols, ", ")),
		})
	}
	return out
}

// fkCovers lists the valid, non-partial indexes whose leading key columns
// are the foreign key's columns, in any order: those that serve its
// lookups.
func fkCovers(fk foreignKey, indexes []*Index) []*Index {
	want := slices.Clone(fk.keys)
	slices.Sort(want)
	var out []*Index
	for _, ix := range indexes {
		if !ix.Valid || ix.pred != "" || ix.nkey < len(want) || len(ix.keys) < len(want) {
			continue
		}
		lead := slices.Clone(ix.keys[:len(want)])
		slices.Sort(lead)
		if slices.Equal(lead, want) {
			out = append(out, ix)
		}
	}
	return out
}

func (r *IndexReport) seqScanned(name func(Option) string) []Finding {
	var out []Finding
	for _, t := range r.Tables {
		scans := t.SeqScans + t.IndexScans
		if t.Rows < SeqScanLargeRows || t.SeqScans < SeqScanTableMinScans || scans == 0 {
			continue
		}
		share := float64(t.SeqScans) / float64(scans)
		perScan := float64(t.SeqRowsRead) / float64(t.SeqScans)
		if share < SeqScanTableShare || perScan < SeqScanLargeRows {
			continue
		}
		out = append(out, Finding{
			Rule: RuleSeqScanTable, Severity: Warning, Table: t.Schema + "." + t.Name,
			Message: fmt.Sprintf("%s (%s rows, %s) is read by sequential scans %s of the time: %s scans reading %s rows each on average",
				t.Name, num(t.Rows), pg.Size(t.SizeBytes), pct(share), num(float64(t.SeqScans)), num(perScan)),
			Evidence: map[string]float64{
				"seq_scans": float64(t.SeqScans), "index_scans": float64(t.IndexScans), "seq_share_pct": round1(share * 100),
				"rows_per_seq_scan": round1(perScan), "table_rows": t.Rows, "size_bytes": float64(t.SizeBytes),
			},
			Fix: fmt.Sprintf("Find the statements that scan %s (%s, or pg_qualstats) and index the columns they filter on.", t.Name, name(OptSortIO)),
		})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Evidence["seq_scans"] > out[j].Evidence["seq_scans"] })
	return out
}
