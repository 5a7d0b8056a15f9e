package migrate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// The events of a partitioned index's sequence.
const (
	// EventPartitions reports how many partitions have their index
	// attached: Partitions is set.
	EventPartitions EventKind = "partitions"
	// EventPartitionSkipped reports a partition step not run: its table
	// was detached or dropped since the file was planned.
	EventPartitionSkipped EventKind = "partition-skipped"
	// EventPartitionAdded reports a partition the file does not name
	// (added since it was planned), indexed and attached too.
	EventPartitionAdded EventKind = "partition-added"
	// EventLocks says which locks a statement that cannot run
	// CONCURRENTLY takes (a partitioned index's DROP).
	EventLocks EventKind = "locks"
)

// PartitionProgress is how far a partitioned index is: of the partitions
// holding rows, how many have a valid index attached to it.
type PartitionProgress struct {
	Done  int `json:"done"`
	Total int `json:"total"`
}

// String is "3/8 partitions".
func (p PartitionProgress) String() string {
	return fmt.Sprintf("%d/%d partitions", p.Done, p.Total)
}

// Sentinels of partitioned-table statements apply refuses before anything
// runs.
var (
	// ErrConcurrentPartitioned marks a CREATE INDEX CONCURRENTLY on a
	// partitioned table, which PostgreSQL refuses.
	ErrConcurrentPartitioned = errors.New("PostgreSQL cannot build an index on a partitioned table CONCURRENTLY")
	// ErrOnlyNotPartitioned marks a CREATE INDEX ON ONLY a table that is
	// not partitioned: it builds the whole index at once, blocking writes.
	ErrOnlyNotPartitioned = errors.New("CREATE INDEX ON ONLY a table that is not partitioned builds the index without CONCURRENTLY, blocking every write while it builds")
)

// PartitionError is a statement of a file that does not fit how its table
// is partitioned, found before anything runs.
type PartitionError struct {
	File  string
	Line  int
	Index string
	Table string
	// Err is ErrConcurrentPartitioned or ErrOnlyNotPartitioned.
	Err error
}

// Error names the file, the index and the table, and what to write
// instead.
func (e *PartitionError) Error() string {
	what := "write CREATE INDEX CONCURRENTLY"
	if errors.Is(e.Err, ErrConcurrentPartitioned) {
		what = "plan it again with indexes plan against this database, which writes the sequence that can: CREATE INDEX … ON ONLY the table, CREATE INDEX CONCURRENTLY on each partition, ALTER INDEX … ATTACH PARTITION"
	}
	return fmt.Sprintf("migrate: %s line %d: index %s on %s: %v: %s", e.File, e.Line, e.Index, e.Table, e.Err, what)
}

// Unwrap returns the sentinel.
func (e *PartitionError) Unwrap() error { return e.Err }

// IncompleteError is a partitioned index still INVALID once its file ran:
// some partitions have no valid index attached, and the revision is not
// written.
type IncompleteError struct {
	File, Index string
	// Missing names the partitions without a valid index, with why.
	Missing []string
}

// Error names the partitions left.
func (e *IncompleteError) Error() string {
	return fmt.Sprintf("migrate: %s: index %s is not valid yet, the revision is not written: %s", e.File, e.Index, strings.Join(e.Missing, "; "))
}

// fileParts is what a file's statements say of a partitioned index's
// sequence.
type fileParts struct {
	// root is the index made ON ONLY the partitioned table that the file
	// attaches to nothing: the index the file is about.
	root *indexdef.Def
	// only are the file's ON ONLY indexes, by index name.
	only map[indexdef.Name]*indexdef.Def
	// parentOf is the index each ATTACH PARTITION attaches to, by the
	// attached index's name.
	parentOf map[indexdef.Name]indexdef.Name
}

// partsOf reads the partitioned sequence out of a file's statements; root
// is nil for a file that makes no index ON ONLY.
func partsOf(stmts []Statement) *fileParts {
	fp := &fileParts{only: map[indexdef.Name]*indexdef.Def{}, parentOf: map[indexdef.Name]indexdef.Name{}}
	var order []*indexdef.Def
	for _, s := range stmts {
		p, err := s.Parsed()
		if err != nil {
			continue
		}
		switch {
		case p.Index != nil && p.Index.Only:
			fp.only[p.Index.IndexName()] = p.Index
			order = append(order, p.Index)
		case p.Kind == sqlscan.KindAttachPartition && len(p.Relations) == 2:
			fp.parentOf[p.Relations[1]] = p.Relations[0]
		}
	}
	for _, d := range order {
		if _, attached := fp.parentOf[d.IndexName()]; !attached {
			fp.root = d
			break
		}
	}
	return fp
}

// step reports whether an index the file builds is a partition's step of
// its partitioned sequence.
func (fp *fileParts) step(def *indexdef.Def) bool {
	if fp == nil || fp.root == nil {
		return false
	}
	_, ok := fp.parentOf[def.IndexName()]
	return ok
}

// relKind is the table's pg_class.relkind, "" when it does not exist.
func relKind(ctx context.Context, q pg.Querier, table string) (string, error) {
	var kind string
	if err := q.QueryRow(ctx, `SELECT coalesce((SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)), '')`, table).Scan(&kind); err != nil {
		return "", fmt.Errorf("migrate: look up table %s: %w", table, err)
	}
	return kind, nil
}

// checkPartitioned refuses, before anything runs, an index statement that
// does not fit how its table is partitioned: CONCURRENTLY on a partitioned
// table (PostgreSQL refuses it) and ON ONLY a table that is not
// partitioned (it blocks writes). It returns a *PartitionError.
func checkPartitioned(ctx context.Context, q pg.Querier, m *Migration, s Statement, p *sqlscan.Parsed, allowOther bool) error {
	if p.Index == nil || p.Index.Schema == "" {
		return nil
	}
	kind, err := relKind(ctx, q, p.Index.QualifiedTable())
	if err != nil {
		return err
	}
	fail := func(e error) error {
		return &PartitionError{File: m.File, Line: s.Line, Index: p.Index.Name, Table: p.Index.QualifiedTable(), Err: e}
	}
	switch {
	case kind == "p" && p.Concurrently:
		return fail(ErrConcurrentPartitioned)
	case kind != "" && kind != "p" && p.Index.Only && !allowOther:
		return fail(ErrOnlyNotPartitioned)
	}
	return nil
}

// inTree reports whether table is root or one of its partitions, at any
// level, and whether it exists at all.
func inTree(ctx context.Context, q pg.Querier, root, table string) (in, exists bool, err error) {
	err = q.QueryRow(ctx, `SELECT EXISTS (SELECT FROM `+partitionTree("c.oid = to_regclass($1)")+` t WHERE t.relid = to_regclass($2)),
		to_regclass($2) IS NOT NULL`, root, table).Scan(&in, &exists)
	if err != nil {
		return false, false, fmt.Errorf("migrate: look up partition %s of %s: %w", table, root, err)
	}
	return in, exists, nil
}

// partitionGone reports why a partition step of the file cannot run any
// more: its table was dropped, or detached from the partitioned table;
// "" when it is still a partition.
func (d *driver) partitionGone(ctx context.Context, def *indexdef.Def) (string, error) {
	root := d.parts.root.QualifiedTable()
	in, exists, err := inTree(ctx, d.conn, root, def.QualifiedTable())
	switch {
	case err != nil:
		return "", err
	case !exists:
		return fmt.Sprintf("partition %s was dropped since the file was planned: skipped", def.QualifiedTable()), nil
	case !in:
		return fmt.Sprintf("%s is no longer a partition of %s (detached since the file was planned): skipped", def.QualifiedTable(), root), nil
	}
	return "", nil
}

// skipPartition records a partition step that is not run, and says so.
func (d *driver) skipPartition(def *indexdef.Def, why string) {
	d.skipParts[def.IndexName()] = why
	d.observe(Event{Kind: EventPartitionSkipped, Index: def.Name, Message: why})
}

// createOnly runs a CREATE INDEX … ON ONLY a partitioned table: the root of
// the file's sequence, or a partitioned partition's index. It takes a
// brief SHARE lock on that table alone (no rows to read), under
// lock_timeout with retries. A valid root index with the same definition
// means the whole sequence is done; an INVALID one is the sequence
// interrupted, which goes on from where it stopped.
func (d *driver) createOnly(ctx context.Context, def *indexdef.Def, stmt string) error {
	isRoot := d.parts.root != nil && def.IndexName() == d.parts.root.IndexName()
	if d.partsDone {
		return nil
	}
	if !isRoot && d.parts.step(def) {
		why, err := d.partitionGone(ctx, def)
		if err != nil {
			return err
		}
		if why != "" {
			d.skipPartition(def, why)
			return nil
		}
	}
	table := def.QualifiedTable()
	kind, err := relKind(ctx, d.conn, table)
	switch {
	case err != nil:
		return err
	case kind == "":
		return &MissingTableError{File: d.file, Index: def.Name, Table: table}
	}
	existing, err := findIndex(ctx, d.conn, def)
	if err != nil {
		return err
	}
	if existing != nil {
		same, why, err := sameDefinition(ctx, d.conn, existing, def)
		if err != nil {
			return err
		}
		if !same {
			return &ConflictError{File: d.file, Index: def.Name, Existing: existing.Definition, Why: why}
		}
		if isRoot && existing.Valid {
			d.partsDone = true
			d.skipped = append(d.skipped, def.Name)
			d.observe(Event{Kind: EventSkip, Index: def.Name, Message: "a valid index with this definition exists on the partitioned table: marking the file applied"})
			return nil
		}
		if isRoot {
			if p, err := d.partitionProgress(ctx); err == nil {
				d.progress = p
				d.observe(Event{Kind: EventPartitions, Index: def.Name, Partitions: &p,
					Message: fmt.Sprintf("resuming: %s already have their index", p)})
			}
		}
		return nil
	}
	if isRoot {
		d.observe(Event{Kind: EventBuild, Index: def.Name, Message: stmt})
	}
	if _, err := d.execRetry(ctx, stmt, table); err != nil {
		if errors.As(err, new(*LockTimeoutError)) {
			return d.partitionError(ctx, err)
		}
		return fmt.Errorf("migrate: %s: %w", d.file, err)
	}
	if isRoot {
		if p, err := d.partitionProgress(ctx); err == nil {
			d.progress = p
			d.observe(Event{Kind: EventPartitions, Index: def.Name, Partitions: &p, Message: p.String()})
		}
	}
	return nil
}

// buildPartition builds one partition's index of the sequence, unless its
// table left the partitioned table since the file was planned.
func (d *driver) buildPartition(ctx context.Context, def *indexdef.Def, stmt string) error {
	if d.partsDone {
		return nil
	}
	why, err := d.partitionGone(ctx, def)
	if err != nil {
		return err
	}
	if why != "" {
		d.skipPartition(def, why)
		return nil
	}
	return d.partitionError(ctx, d.build(ctx, def, stmt))
}

// partitionError adds to a lock timeout on a partition which partitioned
// table it is a partition of and how far its index is.
func (d *driver) partitionError(ctx context.Context, err error) error {
	var lte *LockTimeoutError
	if errors.As(err, &lte) && d.parts.root != nil && lte.Parent == "" && lte.Table != d.parts.root.QualifiedTable() {
		lte.Parent = d.parts.root.QualifiedTable()
		if p, perr := d.partitionProgress(context.WithoutCancel(ctx)); perr == nil {
			lte.Done = &p
		}
	}
	return err
}

// attachedTo reports whether the index child is attached to parent, and
// the table child is on ("" when child does not exist) and whether it is
// valid.
func attachedTo(ctx context.Context, q pg.Querier, parent, child string) (attached bool, table string, valid bool, err error) {
	var t indexdef.Name
	err = q.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_inherits WHERE inhrelid = to_regclass($2) AND inhparent = to_regclass($1)),
		coalesce((SELECT n.nspname::text FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE x.indexrelid = to_regclass($2)), ''),
		coalesce((SELECT c.relname::text FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid WHERE x.indexrelid = to_regclass($2)), ''),
		coalesce((SELECT x.indisvalid AND x.indisready FROM pg_index x WHERE x.indexrelid = to_regclass($2)), false)`,
		parent, child).Scan(&attached, &t.Schema, &t.Name, &valid)
	if err != nil {
		return false, "", false, fmt.Errorf("migrate: look up index %s: %w", child, err)
	}
	if t.Name != "" {
		table = t.String()
	}
	return attached, table, valid, nil
}

// attach runs one ALTER INDEX … ATTACH PARTITION of the sequence. An
// index never is attached INVALID: the parent's index would stay INVALID
// for good, since an attached index cannot be dropped. Attaching takes
// brief locks (SHARE UPDATE EXCLUSIVE on the parent's index, ACCESS
// EXCLUSIVE on the new partition index) under lock_timeout with retries.
// A partition detached between its build and its attach gets its index
// dropped again: the table is left as it was.
func (d *driver) attach(ctx context.Context, parent, child indexdef.Name, stmt string) error {
	if d.partsDone {
		return nil
	}
	if _, skipped := d.skipParts[child]; skipped {
		return nil
	}
	attached, table, valid, err := attachedTo(ctx, d.conn, parent.String(), child.String())
	switch {
	case err != nil:
		return err
	case table == "":
		return fmt.Errorf("migrate: %s: index %s, to attach to %s, does not exist", d.file, child, parent)
	case attached:
	case !valid:
		return fmt.Errorf("migrate: %s: index %s is not valid: it is not attached to %s, which would stay INVALID for good; drop it (apply drops an INVALID leftover before building it again)",
			d.file, child, parent)
	default:
		if _, err := d.execRetry(ctx, stmt, table); err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "55000" && d.parts.root != nil {
				if gone, _ := d.partitionGoneTable(ctx, table); gone != "" {
					return d.dropDetached(ctx, child, gone)
				}
			}
			if errors.As(err, new(*LockTimeoutError)) {
				return d.partitionError(ctx, err)
			}
			return fmt.Errorf("migrate: %s: %w", d.file, err)
		}
	}
	if p, err := d.partitionProgress(ctx); err == nil && d.parts.root != nil && p != d.progress {
		// A partitioned partition's index attached moves nothing.
		d.progress = p
		d.observe(Event{Kind: EventPartitions, Index: d.parts.root.Name, Partitions: &p, Message: p.String()})
	}
	return nil
}

// partitionGoneTable is partitionGone for a table named as regclass
// writes it.
func (d *driver) partitionGoneTable(ctx context.Context, table string) (string, error) {
	root := d.parts.root.QualifiedTable()
	in, exists, err := inTree(ctx, d.conn, root, table)
	if err != nil || in {
		return "", err
	}
	if !exists {
		return fmt.Sprintf("partition %s was dropped meanwhile", table), nil
	}
	return fmt.Sprintf("%s was detached from %s while its index was built", table, root), nil
}

// dropDetached drops the index built on a partition that was detached
// before it could be attached, concurrently, and goes on.
func (d *driver) dropDetached(ctx context.Context, child indexdef.Name, why string) error {
	d.skipParts[child] = why
	if _, err := d.execRetry(ctx, "DROP INDEX CONCURRENTLY IF EXISTS "+child.String(), ""); err != nil {
		return fmt.Errorf("migrate: %s: %s; drop the index built on it, %s: %w", d.file, why, child, err)
	}
	d.dropped = append(d.dropped, child.Name)
	d.observe(Event{Kind: EventPartitionSkipped, Index: child.Name, Message: why + ": the index built on it is dropped again, the table is left as it was"})
	return nil
}

// partitionProgress counts the root's partitions holding rows and those
// with a valid index attached (at any level) to the root index.
func (d *driver) partitionProgress(ctx context.Context) (PartitionProgress, error) {
	return readPartitionProgress(ctx, d.conn, d.parts)
}

// readPartitionProgress is partitionProgress for any session: status
// reads it too. A partition counts as done once its index is valid and
// attached to the root's index or to a partitioned partition's index of
// the file (attached to the root's last).
func readPartitionProgress(ctx context.Context, q pg.Querier, parts *fileParts) (PartitionProgress, error) {
	var p PartitionProgress
	root := parts.root
	var only []string
	for n := range parts.only {
		only = append(only, n.String())
	}
	err := q.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM `+partitionTree("c.oid = to_regclass($1)")+` t JOIN pg_class c ON c.oid = t.relid WHERE c.relkind IN ('r', 'f')),
		(SELECT count(DISTINCT t.relid) FROM `+partitionTree("c.oid IN (SELECT to_regclass(o.name) FROM unnest($2::text[]) o(name))")+` t
			JOIN pg_index x ON x.indexrelid = t.relid JOIN pg_class c ON c.oid = t.relid
			WHERE c.relkind = 'i' AND x.indisvalid AND t.level > 0)`,
		root.QualifiedTable(), only).Scan(&p.Total, &p.Done)
	if err != nil {
		return p, fmt.Errorf("migrate: count the partitions of %s: %w", root.QualifiedTable(), err)
	}
	return p, nil
}

// finish completes the file's partitioned index once its statements ran:
// a partition the file does not name (added since it was planned, and
// before the index ON ONLY the parent was made: one made after gets its
// index from PostgreSQL) gets its index built and attached the same way,
// a partitioned one its own ON ONLY index first. The revision is written
// only when the root index is valid; an *IncompleteError names what is
// missing when it is not.
func (d *driver) finish(ctx context.Context) error {
	if d.parts == nil || d.parts.root == nil || d.partsDone {
		return nil
	}
	root := d.parts.root
	valid, err := indexValid(ctx, d.conn, root.QualifiedName())
	if err != nil || valid {
		return err
	}
	var missing []string
	if err := d.complete(ctx, root, root.TableName(), &missing); err != nil {
		return err
	}
	if valid, err = indexValid(ctx, d.conn, root.QualifiedName()); err != nil || valid {
		return err
	}
	if len(missing) == 0 {
		missing = []string{"PostgreSQL does not mark it valid"}
	}
	return &IncompleteError{File: d.file, Index: root.Name, Missing: missing}
}

// indexValid reports pg_index.indisvalid of an index (false when it does
// not exist).
func indexValid(ctx context.Context, q pg.Querier, index string) (bool, error) {
	var valid bool
	err := q.QueryRow(ctx, `SELECT coalesce((SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)), false)`, index).Scan(&valid)
	if err != nil {
		return false, fmt.Errorf("migrate: look up index %s: %w", index, err)
	}
	return valid, nil
}

// partitionIndex is one partition of a table with the index attached on
// it to the table's index, if any.
type partitionIndex struct {
	table   indexdef.Name
	kind    string
	index   indexdef.Name
	valid   bool
	present bool
}

// partitionIndexes lists a table's partitions with the index attached,
// on each, to the table's index parent.
func partitionIndexes(ctx context.Context, q pg.Querier, table, parent string) ([]partitionIndex, error) {
	rows, err := q.Query(ctx, `SELECT cn.nspname::text, c.relname::text, c.relkind::text,
		coalesce(xn.nspname::text, ''), coalesce(xi.relname::text, ''), coalesce(x.indisvalid AND x.indisready, false)
	FROM pg_inherits i
	JOIN pg_class c ON c.oid = i.inhrelid
	JOIN pg_namespace cn ON cn.oid = c.relnamespace
	LEFT JOIN LATERAL (SELECT ii.inhrelid AS idx FROM pg_inherits ii JOIN pg_index xx ON xx.indexrelid = ii.inhrelid
		WHERE ii.inhparent = to_regclass($2) AND xx.indrelid = c.oid) a ON true
	LEFT JOIN pg_class xi ON xi.oid = a.idx
	LEFT JOIN pg_namespace xn ON xn.oid = xi.relnamespace
	LEFT JOIN pg_index x ON x.indexrelid = a.idx
	WHERE i.inhparent = to_regclass($1)
	ORDER BY c.relname`, table, parent)
	if err != nil {
		return nil, fmt.Errorf("migrate: list the partitions of %s: %w", table, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (partitionIndex, error) {
		var p partitionIndex
		err := r.Scan(&p.table.Schema, &p.table.Name, &p.kind, &p.index.Schema, &p.index.Name, &p.valid)
		p.present = p.index.Name != ""
		return p, err
	})
}

// complete gives every partition of table without a valid index attached
// to parent's index one, recursively, and notes in missing what it cannot
// index.
func (d *driver) complete(ctx context.Context, parent *indexdef.Def, table indexdef.Name, missing *[]string) error {
	parts, err := partitionIndexes(ctx, d.conn, table.String(), parent.QualifiedName())
	if err != nil {
		return err
	}
	for _, p := range parts {
		if err := ctx.Err(); err != nil {
			return err
		}
		switch {
		case p.present && p.kind == "p" && !p.valid:
			sub := *parent
			sub.Schema, sub.Table, sub.Name, sub.Only = p.table.Schema, p.table.Name, p.index.Name, true
			if err := d.complete(ctx, &sub, p.table, missing); err != nil {
				return err
			}
			continue
		case p.present && p.valid:
			continue
		case p.present:
			*missing = append(*missing, fmt.Sprintf("the index %s of partition %s is attached INVALID", p.index, p.table))
			continue
		case p.kind == "f":
			*missing = append(*missing, fmt.Sprintf("partition %s is a foreign table, which holds no index", p.table))
			continue
		}
		node := &Partition{Table: p.table}
		if p.kind == "p" {
			// Only whether it is partitioned matters here.
			node.Key = "?"
		}
		child := onPartition(d.parts.root, node)
		d.observe(Event{Kind: EventPartitionAdded, Index: child.Name,
			Message: fmt.Sprintf("partition %s is not in the file (added since it was planned): its index %s is built and attached too", p.table, child.Name)})
		if p.kind == "p" {
			if _, err := d.execRetry(ctx, child.CreateSQL(false, true), p.table.String()); err != nil {
				return fmt.Errorf("migrate: %s: %w", d.file, err)
			}
			if err := d.complete(ctx, &child, p.table, missing); err != nil {
				return err
			}
		} else if err := d.build(ctx, &child, child.CreateSQL(true, true)); err != nil {
			return err
		}
		if err := d.attach(ctx, parent.IndexName(), child.IndexName(), indexdef.AttachPartitionSQL(parent.IndexName(), child.IndexName())); err != nil {
			return err
		}
	}
	return nil
}

// dropLocks lists the tables a DROP INDEX of a partitioned index locks
// ACCESS EXCLUSIVE: the table and every partition with an index attached,
// at every level; for a plain index, its table. It is empty when the
// index does not exist.
func dropLocks(ctx context.Context, q pg.Querier, index string) (tables []string, partitioned bool, err error) {
	err = q.QueryRow(ctx, `SELECT coalesce((SELECT relkind = 'I' FROM pg_class WHERE oid = to_regclass($1)), false),
		coalesce(array(SELECT x.indrelid::regclass::text FROM `+partitionTree("c.oid = to_regclass($1)")+` t
			JOIN pg_index x ON x.indexrelid = t.relid ORDER BY t.level, x.indrelid::regclass::text), '{}')`, index).Scan(&partitioned, &tables)
	if err != nil {
		return nil, false, fmt.Errorf("migrate: look up index %s: %w", index, err)
	}
	return tables, partitioned, nil
}

// dropBlocking runs a DROP INDEX without CONCURRENTLY (a partitioned
// index's down file: PostgreSQL cannot drop one concurrently), saying
// first which ACCESS EXCLUSIVE locks it takes; each is waited for at most
// lock_timeout, and a timeout is retried under the retry policy, so the
// drop never queues readers and writers behind a long transaction for
// longer.
func (d *driver) dropBlocking(ctx context.Context, stmt string, names []indexdef.Name) error {
	table := ""
	for _, n := range names {
		tables, partitioned, err := dropLocks(ctx, d.conn, n.String())
		if err != nil {
			return err
		}
		if len(tables) == 0 {
			continue
		}
		if table == "" {
			table = tables[0]
		}
		what := "index"
		if partitioned {
			what = fmt.Sprintf("partitioned index (on %d tables)", len(tables))
		}
		d.observe(Event{Kind: EventLocks, Index: n.Name, Message: fmt.Sprintf("dropping %s %s takes an ACCESS EXCLUSIVE lock on %s, each for a moment; every wait is capped by lock_timeout %s and retried up to %d times",
			what, n, describeLocks(tables), d.opts.LockTimeout, d.opts.Retries)})
	}
	start := time.Now()
	if _, err := d.execRetry(ctx, stmt, table); err != nil {
		return fmt.Errorf("migrate: %s: %w", d.file, err)
	}
	for _, n := range names {
		var still bool
		if err := d.conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, n.String()).Scan(&still); err != nil {
			return err
		}
		if still {
			return fmt.Errorf("migrate: %s: %s still exists after DROP INDEX", d.file, n)
		}
		d.dropped = append(d.dropped, n.Name)
		d.observe(Event{Kind: EventDrop, Index: n.Name, Message: fmt.Sprintf("dropped in %s", time.Since(start).Round(time.Millisecond)), Took: time.Since(start)})
	}
	return nil
}

// partitionsNotInFile lists the partitions of the file's partitioned table
// (at every level, foreign tables left out) that no statement of the file
// indexes: added since the file was planned.
func partitionsNotInFile(ctx context.Context, q pg.Querier, m *Migration, parts *fileParts) ([]string, error) {
	tree, err := ReadPartitions(ctx, q, parts.root.TableName())
	if err != nil || tree == nil {
		return nil, err
	}
	indexed := map[indexdef.Name]bool{}
	for _, ix := range m.Indexes {
		indexed[ix.TableName()] = true
	}
	var out []string
	var walk func(p *Partition)
	walk = func(p *Partition) {
		for _, c := range p.Partitions {
			if !indexed[c.Table] && !c.Foreign {
				out = append(out, c.Table.String())
				continue
			}
			walk(c)
		}
	}
	walk(tree)
	return out, nil
}

// ErrPartitionLeftover marks an INVALID index of a partition that a
// partitioned index's file not yet applied builds: the leftover of an
// interrupted build. The atlas CLI would keep it (IF NOT EXISTS) and
// attach it, and the partitioned index would stay INVALID for good.
var ErrPartitionLeftover = errors.New("an interrupted build left a partition's index INVALID")

// PartitionLeftoverError names the leftover and the index it would spoil.
type PartitionLeftoverError struct {
	File, Index, Partitioned string
}

// Error says what the atlas CLI would do with it and what to do first.
func (e *PartitionLeftoverError) Error() string {
	return fmt.Sprintf("migrate: %s: %v: %s; the atlas CLI would keep it and attach it, leaving %s INVALID for good: run `migrate repair` first (or apply with the native engine, which drops it before building)",
		e.File, ErrPartitionLeftover, e.Index, e.Partitioned)
}

// Unwrap lets errors.Is find ErrPartitionLeftover.
func (e *PartitionLeftoverError) Unwrap() error { return ErrPartitionLeftover }

// checkPartitionLeftovers refuses, before the atlas CLI runs, a pending
// partitioned index's file whose partitions' indexes include an INVALID
// leftover: the native apply drops it before building, the atlas CLI
// would not.
func checkPartitionLeftovers(ctx context.Context, q pg.Querier, rrw *Revisions, migs []*Migration) error {
	revs, err := rrw.ReadRevisions(ctx)
	if err != nil {
		return err
	}
	done := map[string]bool{}
	for _, r := range revs {
		done[r.Version] = applied(r)
	}
	for _, m := range migs {
		parts := partsOf(m.Statements)
		if done[m.Version] || parts.root == nil {
			continue
		}
		for _, def := range m.Indexes {
			if def.Only || !parts.step(def) {
				continue
			}
			ix, err := findIndex(ctx, q, def)
			if err != nil {
				return err
			}
			if ix != nil && (!ix.Valid || !ix.Ready) {
				return &PartitionLeftoverError{File: m.File, Index: def.QualifiedName(), Partitioned: parts.root.QualifiedName()}
			}
		}
	}
	return nil
}
