package indexes

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/analyze"
	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// table is what the advisor knows of one table of the workload.
type table struct {
	oid    uint32
	schema string
	name   string
	// kind is pg_class.relkind: 'r' (a plain table), 'm' (a materialized
	// view) and 'p' (a partitioned table) get candidates.
	kind string
	// system says why the table is not the user's to index, empty when it
	// is: a system catalog (pg_catalog, information_schema, TOAST) or an
	// extension's table. It gets no candidate and no drop.
	system string
	// partitions are a partitioned table's partitions holding rows
	// (partitions.go).
	partitions []partition
	// rows is pg_class.reltuples (-1 before the first ANALYZE on PG 14+).
	rows float64
	// bytes is pg_table_size: heap and TOAST.
	bytes   int64
	columns map[string]*column
	indexes []*existing
	writes  writeStats
	// updated holds the columns the workload's UPDATE statements assign,
	// with the weight of the statements assigning them.
	updated map[string]float64
}

// qualified is the table's name for SQL, schema included, quoted.
func (t *table) qualified() string { return pgx.Identifier{t.schema, t.name}.Sanitize() }

// display is the table as proposals show it: the name alone in public,
// schema.name elsewhere, each quoted only when it must be.
func (t *table) display() string {
	if t.schema == "public" || t.schema == "" {
		return sqlscan.QuoteName(t.name)
	}
	return sqlscan.QuoteName(t.schema) + "." + sqlscan.QuoteName(t.name)
}

// column is one column with its planner statistics.
type column struct {
	name string
	typ  string
	// stats are nil when pg_stats has no row (never analysed, or no
	// privilege).
	stats *colStats
	// collateC is set when the column's collation orders strings by their
	// bytes (C, POSIX, the builtin provider), in which a plain B-tree
	// serves LIKE 'prefix%'.
	collateC bool
}

// colStats is a column's pg_stats row.
type colStats struct {
	nullFrac    float64
	avgWidth    int
	nDistinct   float64 // as pg_stats gives it: negative is a fraction of rows
	mcv         []string
	mcf         []float64
	hist        []string
	correlation float64
}

// distinct is the number of distinct values, resolved against the table's
// row count.
func (c *column) distinct(rows float64) float64 {
	if c.stats == nil {
		return 0
	}
	d := c.stats.nDistinct
	if d < 0 {
		d = -d * math.Max(rows, 1)
	}
	return d
}

// eqSelectivity is the fraction of rows an equality on the column keeps,
// averaged over values as the planner averages for an unknown value:
// the rows outside the most common values spread evenly over the other
// distinct values, the common ones by their frequency.
func (c *column) eqSelectivity(rows float64) float64 {
	if c.typ == "boolean" {
		if c.stats != nil && len(c.stats.mcf) > 0 {
			return c.stats.mcf[0]
		}
		return 0.5
	}
	d := c.distinct(rows)
	if c.stats == nil || d <= 0 {
		return defaultEqSelectivity
	}
	// Σ f² over the common values is the chance a drawn row's value is
	// a common one times its frequency: the expected selectivity of the
	// value of a random row.
	var sum, sq float64
	for _, f := range c.stats.mcf {
		sum += f
		sq += f * f
	}
	rest := math.Max(1-sum-c.stats.nullFrac, 0)
	others := d - float64(len(c.stats.mcf))
	if others >= 1 {
		sq += rest * rest / others
	}
	return math.Max(sq/math.Max(1-c.stats.nullFrac, 1e-9), 1/math.Max(rows, 1))
}

// defaultEqSelectivity is the planner's DEFAULT_EQ_SEL (selfuncs.h): what it
// assumes for an equality it has no statistics for.
const defaultEqSelectivity = 0.005

// existing is an index the table already has.
type existing struct {
	oid  uint32
	name string
	def  indexDef
	// method is the access method (btree, hash, gin, ...).
	method     string
	unique     bool
	primary    bool
	valid      bool
	constraint bool
	// opclasses are the operator classes' oids, comma-separated; special
	// is set when one of them is not its type's default (varchar_pattern_ops
	// for LIKE): such an index does not serve plain comparisons and ORDER BY.
	opclasses string
	special   bool
	// fk names a foreign key whose columns lead the index.
	fk         string
	bytes      int64
	scans      int64
	definition string
}

// writeStats are the table's pg_stat_user_tables write counters per second
// since the statistics were reset.
type writeStats struct {
	insertsPerSec    float64
	updatesPerSec    float64
	hotUpdatesPerSec float64
	deletesPerSec    float64
	known            bool
}

// catalog is the tables a workload reads.
type catalog struct {
	tables map[string]*table // by relRef key
	byOID  map[uint32]*table
	// partIndex names, for each index of a partition of a partitioned
	// table, the partitioned table's index it is part of.
	partIndex map[string]string
}

// relKey is how a statement's table reference is looked up.
func relKey(r relRef) string { return r.schema + "\x1f" + r.name }

// find looks a table up by name, "table" or "schema.table" as the catalog
// spells them; an unqualified name prefers public.
func (c *catalog) find(name string) *table {
	schema, rel, qualified := strings.Cut(name, ".")
	if !qualified {
		schema, rel = "", name
	}
	var found *table
	for _, t := range c.byOID {
		if t.name != rel || (qualified && t.schema != schema) {
			continue
		}
		if found == nil || t.schema == "public" {
			found = t
		}
	}
	return found
}

// tableByRef finds the table a reference names.
func (c *catalog) tableByRef(r relRef) *table { return c.tables[relKey(r)] }

// loadCatalog reads every table the statements name, their columns and
// statistics, their indexes and their write counters. A name that resolves
// to nothing is simply absent from the result.
func loadCatalog(ctx context.Context, q Querier, refs []relRef) (*catalog, error) {
	c := &catalog{tables: map[string]*table{}, byOID: map[uint32]*table{}, partIndex: map[string]string{}}
	seen := map[string]bool{}
	var names, keys []string
	for _, r := range refs {
		k := relKey(r)
		if seen[k] {
			continue
		}
		seen[k] = true
		id := pgx.Identifier{r.name}
		if r.schema != "" {
			id = pgx.Identifier{r.schema, r.name}
		}
		names = append(names, id.Sanitize())
		keys = append(keys, k)
	}
	if len(names) == 0 {
		return c, nil
	}
	rows, err := q.Query(ctx, analyze.Tagged(`SELECT n.k, c.oid, ns.nspname, c.relname, c.relkind::text, c.reltuples::float8, pg_table_size(c.oid),
  CASE WHEN ns.nspname IN ('pg_catalog', 'information_schema') OR ns.nspname LIKE 'pg\_toast%' THEN 'a system catalog'
    ELSE coalesce((SELECT 'owned by extension ' || e.extname FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' LIMIT 1), '') END
FROM unnest($1::text[], $2::text[]) AS n(name, k)
JOIN pg_class c ON c.oid = to_regclass(n.name)
JOIN pg_namespace ns ON ns.oid = c.relnamespace`), names, keys)
	if err != nil {
		return nil, fmt.Errorf("indexes: read tables: %w", err)
	}
	for rows.Next() {
		var k string
		t := &table{columns: map[string]*column{}, updated: map[string]float64{}}
		if err := rows.Scan(&k, &t.oid, &t.schema, &t.name, &t.kind, &t.rows, &t.bytes, &t.system); err != nil {
			rows.Close()
			return nil, fmt.Errorf("indexes: read tables: %w", err)
		}
		if old, ok := c.byOID[t.oid]; ok {
			t = old
		}
		c.tables[k] = t
		c.byOID[t.oid] = t
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("indexes: read tables: %w", err)
	}
	if len(c.byOID) == 0 {
		return c, nil
	}
	oids := make([]uint32, 0, len(c.byOID))
	for oid := range c.byOID {
		oids = append(oids, oid)
	}
	sort.Slice(oids, func(i, j int) bool { return oids[i] < oids[j] })
	if err := c.readColumns(ctx, q, oids); err != nil {
		return nil, err
	}
	if err := c.readIndexes(ctx, q, oids); err != nil {
		return nil, err
	}
	if err := c.readWrites(ctx, q, oids); err != nil {
		return nil, err
	}
	if err := c.readPartitions(ctx, q, oids); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *catalog) readColumns(ctx context.Context, q Querier, oids []uint32) error {
	rows, err := q.Query(ctx, analyze.Tagged(`SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod),
  coalesce(CASE WHEN a.attcollation = 0 THEN false
    WHEN a.attcollation = 100 THEN (SELECT (coalesce(to_jsonb(d) ->> 'datlocprovider', 'c') = 'c' AND d.datcollate IN ('C', 'POSIX'))
        OR to_jsonb(d) ->> 'datlocprovider' = 'b' FROM pg_database d WHERE d.datname = current_database())
    ELSE (SELECT (co.collprovider = 'c' AND co.collcollate IN ('C', 'POSIX')) OR co.collprovider = 'b' OR co.oid = 950
      FROM pg_collation co WHERE co.oid = a.attcollation) END, false),
  s.null_frac::float8, s.avg_width, s.n_distinct::float8,
  s.most_common_vals::text::text[], s.most_common_freqs::float8[], s.histogram_bounds::text::text[], s.correlation::float8
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = a.attname
  AND s.inherited = (c.relkind = 'p')
WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum`), oids)
	if err != nil {
		return fmt.Errorf("indexes: read columns: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			oid                uint32
			col                column
			nullFrac, nd, corr *float64
			width              *int32
			mcv, hist          []string
			mcf                []float64
		)
		if err := rows.Scan(&oid, &col.name, &col.typ, &col.collateC, &nullFrac, &width, &nd, &mcv, &mcf, &hist, &corr); err != nil {
			return fmt.Errorf("indexes: read columns: %w", err)
		}
		if nd != nil {
			col.stats = &colStats{nDistinct: *nd, mcv: mcv, mcf: mcf, hist: hist}
			if nullFrac != nil {
				col.stats.nullFrac = *nullFrac
			}
			if width != nil {
				col.stats.avgWidth = int(*width)
			}
			if corr != nil {
				col.stats.correlation = *corr
			}
		}
		c.byOID[oid].columns[col.name] = &col
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("indexes: read columns: %w", err)
	}
	return nil
}

func (c *catalog) readIndexes(ctx context.Context, q Querier, oids []uint32) error {
	rows, err := q.Query(ctx, analyze.Tagged(`SELECT i.indrelid, i.indexrelid, ic.relname, am.amname, i.indisunique, i.indisprimary, i.indisvalid,
  EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x')),
  i.indnkeyatts::int, i.indkey::int2[], i.indoption::int2[],
  ARRAY(SELECT CASE WHEN i.indkey[k] > 0
      THEN (SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = i.indkey[k])
      ELSE pg_get_indexdef(i.indexrelid, k + 1, true) END
    FROM generate_series(0, i.indnatts - 1) k),
  coalesce(pg_get_expr(i.indpred, i.indrelid, true), ''),
  pg_relation_size(i.indexrelid), coalesce(s.idx_scan, 0), pg_get_indexdef(i.indexrelid),
  array_to_string(i.indclass::oid[], ','),
  EXISTS (SELECT 1 FROM unnest(i.indclass::oid[]) c JOIN pg_opclass o ON o.oid = c WHERE NOT o.opcdefault),
  coalesce((SELECT min(f.conname) FROM pg_constraint f WHERE f.contype = 'f' AND f.conrelid = i.indrelid
    AND (i.indkey::int2[])[0:cardinality(f.conkey) - 1] @> f.conkey
    AND (i.indkey::int2[])[0:cardinality(f.conkey) - 1] <@ f.conkey), '')
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_am am ON am.oid = ic.relam
LEFT JOIN pg_stat_all_indexes s ON s.indexrelid = i.indexrelid
WHERE i.indrelid = ANY($1::oid[])
ORDER BY i.indrelid, ic.relname`), oids)
	if err != nil {
		return fmt.Errorf("indexes: read indexes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			rel    uint32
			e      existing
			nkey   int
			indkey []int16
			indopt []int16
			elems  []string
			where  string
		)
		if err := rows.Scan(&rel, &e.oid, &e.name, &e.method, &e.unique, &e.primary, &e.valid, &e.constraint,
			&nkey, &indkey, &indopt, &elems, &where, &e.bytes, &e.scans, &e.definition, &e.opclasses, &e.special, &e.fk); err != nil {
			return fmt.Errorf("indexes: read indexes: %w", err)
		}
		t := c.byOID[rel]
		e.def = indexDef{table: t, where: where}
		if e.method != "btree" {
			e.special = true
		}
		for k := 0; k < len(elems); k++ {
			var name string
			if k < len(indkey) && indkey[k] > 0 {
				name = elems[k]
			}
			if k >= nkey {
				e.def.include = append(e.def.include, name)
				continue
			}
			key := indexdef.Key{Column: name}
			if name == "" {
				// As the advisor's own keys write it (sqlscan's deparse),
				// so that a candidate repeating it is seen to.
				if pk, err := sqlscan.ParseKey(elems[k]); err == nil && pk.Expr != "" {
					key.Expr = pk.Expr
				} else {
					key.Expr = strings.TrimSuffix(strings.TrimPrefix(elems[k], "("), ")")
				}
			}
			// indoption bit 0 is INDOPTION_DESC, bit 1
			// INDOPTION_NULLS_FIRST.
			if k < len(indopt) {
				key.Desc, key.NullsFirst = indopt[k]&1 != 0, indopt[k]&2 != 0
			}
			e.def.keys = append(e.def.keys, key)
		}
		t.indexes = append(t.indexes, &e)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("indexes: read indexes: %w", err)
	}
	return nil
}

func (c *catalog) readWrites(ctx context.Context, q Querier, oids []uint32) error {
	rows, err := q.Query(ctx, analyze.Tagged(`SELECT s.relid, s.n_tup_ins, s.n_tup_upd, s.n_tup_hot_upd, s.n_tup_del,
  extract(epoch FROM now() - coalesce(d.stats_reset, pg_postmaster_start_time()))::float8
FROM pg_stat_all_tables s
CROSS JOIN (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()) d
WHERE s.relid = ANY($1::oid[])`), oids)
	if err != nil {
		return fmt.Errorf("indexes: read write counters: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			oid                uint32
			ins, upd, hot, del int64
			secs               float64
		)
		if err := rows.Scan(&oid, &ins, &upd, &hot, &del, &secs); err != nil {
			return fmt.Errorf("indexes: read write counters: %w", err)
		}
		if secs < 1 {
			secs = 1
		}
		c.byOID[oid].writes = writeStats{
			insertsPerSec: float64(ins) / secs, updatesPerSec: float64(upd) / secs,
			hotUpdatesPerSec: float64(hot) / secs, deletesPerSec: float64(del) / secs, known: true,
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("indexes: read write counters: %w", err)
	}
	return nil
}
