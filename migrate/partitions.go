package migrate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/pg"
)

// Partition is a table of a partition tree: a partitioned table, or one of
// its partitions with its own partitions when it is partitioned in turn
// (a multi-level tree). Plan reads it from the catalog to write the
// sequence that indexes a partitioned table without blocking writes.
type Partition struct {
	// Table is the table, schema-qualified.
	Table indexdef.Name `json:"table"`
	// Bound is the partition's bound as pg_get_expr writes it (FOR VALUES
	// FROM (…) TO (…), DEFAULT); empty at the root.
	Bound string `json:"bound,omitempty"`
	// Key is a partitioned table's partition key as pg_get_partkeydef
	// writes it (RANGE (created_at)); empty for a table that holds rows.
	Key string `json:"key,omitempty"`
	// KeyColumns are the columns of the partition key, in order; an
	// expression element is "".
	KeyColumns []string `json:"key_columns,omitempty"`
	// Foreign is set for a foreign table: it holds no index.
	Foreign bool `json:"foreign,omitempty"`
	// Partitions are a partitioned table's partitions, the DEFAULT one
	// last, the others by name.
	Partitions []*Partition `json:"partitions,omitempty"`
}

// Partitioned reports whether the table is partitioned (it has a
// partition key), and so holds no rows of its own.
func (p *Partition) Partitioned() bool { return p.Key != "" }

// Default reports whether the table is its parent's DEFAULT partition.
func (p *Partition) Default() bool { return p.Bound == "DEFAULT" }

// Leaves lists the tables of the tree that hold rows (plain and foreign
// tables), depth first, in the order of Partitions.
func (p *Partition) Leaves() []*Partition {
	if !p.Partitioned() {
		return []*Partition{p}
	}
	var out []*Partition
	for _, c := range p.Partitions {
		out = append(out, c.Leaves()...)
	}
	return out
}

// ErrForeignPartition is a partitioned table with a foreign table among its
// partitions: a foreign table holds no index, so an index made ON ONLY the
// parent could never become valid.
var ErrForeignPartition = errors.New("a foreign table cannot be indexed")

// ForeignPartitionError names the index and its foreign partition.
type ForeignPartitionError struct {
	Index     string
	Table     indexdef.Name
	Partition indexdef.Name
}

// Error says why the index cannot be planned as a partitioned sequence.
func (e *ForeignPartitionError) Error() string {
	return fmt.Sprintf("migrate: index %s on %s: partition %s is a foreign table, which holds no index, so an index on the partitioned table would never become valid: index the other partitions one by one",
		e.Index, e.Table, e.Partition)
}

// Unwrap lets errors.Is find ErrForeignPartition.
func (e *ForeignPartitionError) Unwrap() error { return ErrForeignPartition }

// partitionTree is a FROM item that lists the partition trees of the
// relations pg_class c matches in where (a partitioned table or index, or
// a partition): its columns root, relid, parentrelid and level are those
// of pg_partition_tree, which it replaces because pg_partition_tree takes
// an ACCESS SHARE lock on every partition. A session holding ACCESS
// EXCLUSIVE on one partition would make apply's look-ups wait on it and
// fail with a bare lock timeout before the statement that builds on that
// partition could name it and its holder; pg_inherits is read without
// locking any table.
func partitionTree(where string) string {
	return `(WITH RECURSIVE tree(root, relid, parentrelid, level) AS (
		SELECT c.oid, c.oid, (SELECT i.inhparent FROM pg_inherits i WHERE i.inhrelid = c.oid AND c.relispartition), 0
		FROM pg_class c WHERE (` + where + `) AND (c.relkind IN ('p', 'I') OR c.relispartition)
		UNION ALL
		SELECT tree.root, i.inhrelid, i.inhparent, tree.level + 1 FROM pg_inherits i JOIN tree ON i.inhparent = tree.relid)
	SELECT root, relid, parentrelid, level FROM tree)`
}

// partitionTreeQuery lists a partitioned table's tree with what Plan needs
// of each table.
var partitionTreeQuery = `SELECT n.nspname::text, c.relname::text, coalesce(pn.nspname::text, ''), coalesce(p.relname::text, ''),
	c.relkind::text, coalesce(pg_get_expr(c.relpartbound, c.oid), ''),
	CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) ELSE '' END,
	CASE WHEN c.relkind = 'p' THEN array(SELECT coalesce(a.attname::text, '')
		FROM unnest(pt.partattrs::int2[]) WITH ORDINALITY k(attnum, i)
		LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum AND k.attnum <> 0 ORDER BY k.i)
	ELSE '{}'::text[] END
FROM ` + partitionTree("c.oid = to_regclass($1)") + ` t
JOIN pg_class c ON c.oid = t.relid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class p ON p.oid = t.parentrelid
LEFT JOIN pg_namespace pn ON pn.oid = p.relnamespace
LEFT JOIN pg_partitioned_table pt ON pt.partrelid = c.oid
ORDER BY t.level, c.relname`

// ReadPartitions returns the partition tree of table, or nil when the
// table is not partitioned (or does not exist: Plan and apply say so in
// their own words).
func ReadPartitions(ctx context.Context, q pg.Querier, table indexdef.Name) (*Partition, error) {
	var kind string
	err := q.QueryRow(ctx, `SELECT coalesce((SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)), '')`, table.String()).Scan(&kind)
	if err != nil {
		return nil, fmt.Errorf("migrate: look up table %s: %w", table, err)
	}
	if kind != "p" {
		return nil, nil
	}
	rows, err := q.Query(ctx, partitionTreeQuery, table.String())
	if err != nil {
		return nil, fmt.Errorf("migrate: read the partitions of %s: %w", table, err)
	}
	defer rows.Close()
	byName := map[indexdef.Name]*Partition{}
	var root *Partition
	for rows.Next() {
		var (
			p            Partition
			parent       indexdef.Name
			relkind, key string
			cols         []string
		)
		if err := rows.Scan(&p.Table.Schema, &p.Table.Name, &parent.Schema, &parent.Name, &relkind, &p.Bound, &key, &cols); err != nil {
			return nil, fmt.Errorf("migrate: read the partitions of %s: %w", table, err)
		}
		p.Key, p.KeyColumns, p.Foreign = key, cols, relkind == "f"
		if relkind == "p" && p.Key == "" {
			p.Key = "?"
		}
		node := &p
		byName[p.Table] = node
		if parent.Name == "" {
			root = node
			continue
		}
		if up, ok := byName[parent]; ok {
			up.Partitions = append(up.Partitions, node)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("migrate: read the partitions of %s: %w", table, err)
	}
	if root == nil {
		return nil, nil
	}
	root.sortPartitions()
	return root, nil
}

// sortPartitions orders every level: the DEFAULT partition last, the
// others by name (monthly partitions named by month read in time order).
func (p *Partition) sortPartitions() {
	sort.SliceStable(p.Partitions, func(i, j int) bool {
		a, b := p.Partitions[i], p.Partitions[j]
		if a.Default() != b.Default() {
			return b.Default()
		}
		return a.Table.Name < b.Table.Name
	})
	for _, c := range p.Partitions {
		c.sortPartitions()
	}
}

// PlanPartitions reads the partition tree of every table the indexes are
// on that is partitioned, for PlanOptions.Partitions and
// DjangoOptions.Partitions. Tables that are not partitioned are left out.
// Every index must carry its schema (see QualifyDefs).
func PlanPartitions(ctx context.Context, q pg.Querier, defs []indexdef.Def) (map[indexdef.Name]*Partition, error) {
	out := map[indexdef.Name]*Partition{}
	seen := map[indexdef.Name]bool{}
	for _, d := range defs {
		t := d.TableName()
		if seen[t] || t.Schema == "" {
			continue
		}
		seen[t] = true
		tree, err := ReadPartitions(ctx, q, t)
		if err != nil {
			return nil, err
		}
		if tree != nil {
			out[t] = tree
		}
	}
	return out, nil
}

// partitionIndexName is the stable name of the index a partitioned
// index's sequence builds on one of its partitions: the name the index
// would have on that table (IndexName), so the same plan names it the same
// way every time and a reader sees which table it is on. A parent index
// whose name carries a suffix after its stable name (a proposal kept apart
// from an index of the same keys with another INCLUDE or definition:
// _2, or a hash) passes it on, so that its partitions' indexes are not
// named as that other index's are.
func partitionIndexName(def *indexdef.Def, table indexdef.Name) string {
	name := indexdef.IndexName(table.Name, def.Keys, def.Where)
	if suffix, ok := strings.CutPrefix(def.Name, indexdef.IndexName(def.Table, def.Keys, def.Where)); ok && suffix != "" {
		name = indexdef.ShortenName(name+suffix, indexdef.MaxIdentifierLength)
	}
	return name
}

// onPartition is def on one table of its tree: the same keys, named for
// that table.
func onPartition(def *indexdef.Def, p *Partition) indexdef.Def {
	c := *def
	c.Schema, c.Table, c.Name, c.Only, c.Comment = p.Table.Schema, p.Table.Name, partitionIndexName(def, p.Table), false, ""
	if p.Partitioned() {
		c.Only = true
	}
	return c
}

// Step is one statement of a partitioned index's sequence, with what it
// does, for a migration file's comments.
type Step struct {
	SQL string `json:"sql"`
	// Note says what the step is for; empty for the steps of a partition
	// that need none.
	Note string `json:"note,omitempty"`
}

// PartitionedSteps is the documented sequence that indexes a partitioned
// table without blocking writes: the index made ON ONLY the parent
// (INVALID, and taken under a brief SHARE lock on the parent alone), then
// for each partition an index built CONCURRENTLY under its stable name and
// attached to the parent's with ALTER INDEX … ATTACH PARTITION; a
// partition that is partitioned in turn gets its own ON ONLY index, its
// partitions', and is attached once they are. The parent's index becomes
// valid when the last partition's is attached. Every statement is
// idempotent (IF NOT EXISTS; attaching an attached index does nothing), so
// the sequence can be run again after an interruption, once an INVALID
// leftover of the interrupted build is dropped (apply does that). A unique
// index without the partition key, which PostgreSQL refuses, is ErrBadSpec.
func PartitionedSteps(def *indexdef.Def, tree *Partition) ([]Step, error) {
	if missing := missingKeyColumns(def, tree); def.Unique && len(missing) > 0 {
		return nil, fmt.Errorf("%w %s: a UNIQUE index on the partitioned table %s must hold its partition key %s, and lacks %s (PostgreSQL enforces uniqueness partition by partition)",
			ErrBadSpec, def.Name, def.QualifiedTable(), tree.Key, strings.Join(missing, ", "))
	}
	root := *def
	root.Only = true
	var steps []Step
	var walk func(parent *indexdef.Def, p *Partition) error
	walk = func(parent *indexdef.Def, p *Partition) error {
		for _, c := range p.Partitions {
			child := onPartition(def, c)
			what := "partition " + c.Table.String()
			if c.Default() {
				what = "DEFAULT partition " + c.Table.String()
			}
			switch {
			case c.Foreign:
				return &ForeignPartitionError{Index: def.Name, Table: def.TableName(), Partition: c.Table}
			case c.Partitioned():
				steps = append(steps, Step{SQL: child.CreateSQL(false, true),
					Note: fmt.Sprintf("%s, partitioned by %s: its own index ON ONLY, then its %d partition(s)", what, c.Key, len(c.Partitions))})
				if err := walk(&child, c); err != nil {
					return err
				}
			default:
				steps = append(steps, Step{SQL: child.CreateSQL(true, true), Note: what})
			}
			steps = append(steps, Step{SQL: indexdef.AttachPartitionSQL(parent.IndexName(), child.IndexName())})
		}
		return nil
	}
	steps = append(steps, Step{SQL: root.CreateSQL(false, true),
		Note: fmt.Sprintf("on %s only: INVALID until every partition's index is attached; a brief SHARE lock on %s alone", def.QualifiedTable(), def.QualifiedTable())})
	if err := walk(&root, tree); err != nil {
		return nil, err
	}
	return steps, nil
}

// partitionedWhy heads a partitioned index's migration file.
func partitionedWhy(def *indexdef.Def, tree *Partition) string {
	leaves := tree.Leaves()
	return fmt.Sprintf("%s is partitioned by %s, %d partition(s) holding rows: PostgreSQL cannot build an index on a partitioned table CONCURRENTLY, so the index is made ON ONLY %s, built CONCURRENTLY on each partition and attached; it is valid once the last one is.",
		oneLine(def.QualifiedTable()), oneLine(tree.Key), len(leaves), oneLine(def.QualifiedTable()))
}

// describeLocks lists tables for a message: the first few, then how many
// more.
func describeLocks(tables []string) string {
	const shown = 4
	if len(tables) <= shown {
		return strings.Join(tables, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(tables[:shown], ", "), len(tables)-shown)
}
