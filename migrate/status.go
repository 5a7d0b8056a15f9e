package migrate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"ariga.io/atlas/sql/migrate"
	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/pg"
)

// BuildProgress is one reading of pg_stat_progress_create_index.
type BuildProgress struct {
	Phase        string `json:"phase"`
	BlocksDone   int64  `json:"blocks_done"`
	BlocksTotal  int64  `json:"blocks_total"`
	TuplesDone   int64  `json:"tuples_done"`
	TuplesTotal  int64  `json:"tuples_total"`
	LockersDone  int64  `json:"lockers_done"`
	LockersTotal int64  `json:"lockers_total"`
	// CurrentLocker is the session the build waits for, when it waits.
	CurrentLocker int32 `json:"current_locker_pid,omitempty"`
}

// Done and Total are the counts that move in the current phase: blocks
// while scanning, tuples while sorting and loading, lockers while waiting.
func (p *BuildProgress) Done() (done, total int64) {
	switch {
	case p.BlocksTotal > 0 && p.BlocksDone < p.BlocksTotal:
		return p.BlocksDone, p.BlocksTotal
	case p.TuplesTotal > 0:
		return p.TuplesDone, p.TuplesTotal
	case p.LockersTotal > 0:
		return p.LockersDone, p.LockersTotal
	}
	return p.BlocksDone, p.BlocksTotal
}

// String is the reading in one line.
func (p *BuildProgress) String() string {
	s := fmt.Sprintf("%s: blocks %d/%d, tuples %d/%d", p.Phase, p.BlocksDone, p.BlocksTotal, p.TuplesDone, p.TuplesTotal)
	if p.CurrentLocker != 0 {
		s += fmt.Sprintf(", waiting for pid %d", p.CurrentLocker)
	}
	return s
}

// readProgress reads the progress of the build running in session pid;
// nil when it runs none.
func readProgress(ctx context.Context, q pg.Querier, pid uint32) (*BuildProgress, error) {
	var p BuildProgress
	err := q.QueryRow(ctx, `SELECT phase, blocks_done, blocks_total, tuples_done, tuples_total,
		lockers_done, lockers_total, coalesce(current_locker_pid, 0)
	FROM pg_stat_progress_create_index WHERE pid = $1`, int32(pid)).Scan(&p.Phase, &p.BlocksDone, &p.BlocksTotal,
		&p.TuplesDone, &p.TuplesTotal, &p.LockersDone, &p.LockersTotal, &p.CurrentLocker)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// File states in a status report.
const (
	StateApplied = "applied"
	StatePending = "pending"
	StatePartial = "partial"
)

// Index states in a status report.
const (
	IndexOK        = "ok"        // applied, present, valid, as the file says
	IndexMissing   = "missing"   // applied, but the index is gone
	IndexInvalid   = "invalid"   // present but INVALID (a failed build's leftover)
	IndexDifferent = "different" // applied, present, but not as the file says
	IndexAbsent    = "absent"    // pending, not built yet
	IndexPresent   = "present"   // pending, already there and as the file says
	IndexNoTable   = "no-table"  // its table does not exist
	// IndexUnqualified is an index whose file names its table without a
	// schema: apply refuses such a file (see PinnedSearchPath), and which
	// table it means is not knowable.
	IndexUnqualified = "unqualified"
	// IndexPartial is an index on a partitioned table that is there but
	// not valid yet: some partitions have no index attached (an apply
	// interrupted part way, which the next apply finishes).
	IndexPartial = "partial"
	// IndexNotPartition is a partition's index of a partitioned sequence
	// whose table is no longer a partition of the partitioned table
	// (detached or dropped since): no longer part of the index.
	IndexNotPartition = "not-a-partition"
)

// IndexStatus is one index of a file, compared with the database.
type IndexStatus struct {
	Name   string `json:"name"`
	Schema string `json:"schema,omitempty"`
	Table  string `json:"table"`
	State  string `json:"state"`
	Detail string `json:"detail,omitempty"`
	Bytes  int64  `json:"bytes,omitempty"`
	// Partitions is set for an index on a partitioned table that is
	// there: of its partitions holding rows, how many have their index.
	Partitions *PartitionProgress `json:"partitions,omitempty"`
	// PartitionIndexes are its partitions' indexes that the file builds,
	// each compared with the database.
	PartitionIndexes []IndexStatus `json:"partition_indexes,omitempty"`
	// Nodes is the index on each standby, when the status was asked
	// across them (see StatusOnReplicas).
	Nodes []NodeIndex `json:"nodes,omitempty"`
}

// FileStatus is one file of the directory against the revisions table.
type FileStatus struct {
	File      string        `json:"file"`
	Version   string        `json:"version"`
	State     string        `json:"state"`
	AppliedAt *time.Time    `json:"applied_at,omitempty"`
	Took      time.Duration `json:"took_ns,omitempty"`
	Note      string        `json:"note,omitempty"`
	Indexes   []IndexStatus `json:"indexes"`
}

// StatusReport is the directory against a database.
type StatusReport struct {
	Dir string `json:"dir"`
	// Current is the last applied version; Next the first pending one.
	Current string       `json:"current,omitempty"`
	Next    string       `json:"next,omitempty"`
	Applied int          `json:"applied"`
	Pending int          `json:"pending"`
	Files   []FileStatus `json:"files"`
	// Drift lists the applied indexes that are missing, invalid or
	// different now.
	Drift []IndexStatus `json:"drift"`
	// Leftovers are INVALID indexes of this directory, applied or not.
	Leftovers []string `json:"leftovers"`
	// Unknown lists applied versions that have no file.
	Unknown []string `json:"unknown,omitempty"`
	// Problems are what Validate says is wrong with the directory.
	Problems []string `json:"problems,omitempty"`
}

// Status compares the directory with the database: which files are
// applied, which pending, and whether what they built is still there as
// they built it. It changes nothing (expression and predicate indexes are
// compared on a temporary table in a transaction rolled back at once).
//
// Status reads the database with search_path pinned to pg_catalog, as
// apply runs.
func Status(ctx context.Context, conn *pgx.Conn, dir *Dir, revisionsSchema string) (*StatusReport, error) {
	rep, migs, err := statusDir(dir)
	if err != nil {
		return nil, err
	}
	restore, err := pinSearchPath(ctx, conn)
	if err != nil {
		return nil, err
	}
	defer restore()
	revs, err := NewRevisions(conn, revisionsSchema).ReadRevisions(ctx)
	if err != nil {
		return nil, err
	}
	byVersion := map[string]*migrate.Revision{}
	for _, r := range revs {
		byVersion[r.Version] = r
	}
	seen := map[string]bool{}
	for _, m := range migs {
		seen[m.Version] = true
		fs := FileStatus{File: m.File, Version: m.Version, State: StatePending, Indexes: []IndexStatus{}}
		if r, ok := byVersion[m.Version]; ok {
			fs.State = StateApplied
			if !applied(r) {
				fs.State = StatePartial
			}
			at := r.ExecutedAt
			fs.AppliedAt, fs.Took, fs.Note = &at, r.ExecutionTime, revisionNote(r)
		}
		parts := partsOf(m.Statements)
		root := -1
		for _, def := range m.Indexes {
			is, err := indexStatus(ctx, conn, def, fs.State == StateApplied)
			if err != nil {
				return nil, err
			}
			if err := partitionStatus(ctx, conn, parts, def, &is, fs.State == StateApplied); err != nil {
				return nil, err
			}
			switch {
			case parts.root != nil && def.IndexName() == parts.root.IndexName():
				root = len(fs.Indexes)
				fs.Indexes = append(fs.Indexes, is)
			case root >= 0:
				// A partition's index is told under the partitioned one.
				fs.Indexes[root].PartitionIndexes = append(fs.Indexes[root].PartitionIndexes, is)
			default:
				fs.Indexes = append(fs.Indexes, is)
			}
			if is.State == IndexInvalid {
				rep.Leftovers = append(rep.Leftovers, is.Name)
			}
			if is.State == IndexPartial && fs.State == StatePending {
				fs.State, fs.Note = StatePartial, "partly applied: "+is.Detail
			}
			if fs.State == StateApplied && is.State != IndexOK && is.State != IndexNotPartition {
				rep.Drift = append(rep.Drift, is)
			}
		}
		if fs.State == StateApplied {
			rep.Applied++
			rep.Current = m.Version
		} else {
			rep.Pending++
			if rep.Next == "" {
				rep.Next = m.Version
			}
		}
		rep.Files = append(rep.Files, fs)
	}
	for _, r := range revs {
		if !seen[r.Version] {
			rep.Unknown = append(rep.Unknown, r.Version)
		}
	}
	return rep, nil
}

// statusDir is the part of Status that needs no database: the report
// with what Validate says is wrong, and the files. A directory Status
// cannot read at all (two files with one version, a directive Atlas does
// not read) is an error.
func statusDir(dir *Dir) (*StatusReport, []*Migration, error) {
	rep := &StatusReport{Dir: dir.Path, Files: []FileStatus{}, Drift: []IndexStatus{}, Leftovers: []string{}}
	if err := dir.Validate(); err != nil {
		if errors.Is(err, ErrDuplicateVersion) {
			return nil, nil, err
		}
		rep.Problems = append(rep.Problems, err.Error())
	}
	migs, err := dir.Migrations()
	if err != nil {
		return nil, nil, err
	}
	return rep, migs, nil
}

func indexStatus(ctx context.Context, conn *pgx.Conn, def *indexdef.Def, wasApplied bool) (IndexStatus, error) {
	is := IndexStatus{Name: def.Name, Schema: def.Schema, Table: def.Table}
	if def.Schema == "" {
		is.State, is.Detail = IndexUnqualified, "its file names table "+def.QualifiedTable()+" without a schema: apply refuses it; write it as <schema>."+def.QualifiedTable()
		return is, nil
	}
	ok, err := tableExists(ctx, conn, def.QualifiedTable())
	if err != nil {
		return is, err
	}
	if !ok {
		is.State, is.Detail = IndexNoTable, "table "+def.QualifiedTable()+" does not exist"
		return is, nil
	}
	ix, err := findIndex(ctx, conn, def)
	if err != nil {
		return is, err
	}
	switch {
	case ix == nil && wasApplied:
		is.State, is.Detail = IndexMissing, "dropped since it was applied"
	case ix == nil:
		is.State = IndexAbsent
	case !ix.Valid || !ix.Ready:
		is.State, is.Detail, is.Bytes = IndexInvalid, "left INVALID by a failed build: apply again, or run repair", ix.Bytes
	default:
		same, why, err := sameDefinition(ctx, conn, ix, def)
		if err != nil {
			return is, err
		}
		is.Bytes = ix.Bytes
		switch {
		case !same:
			is.State, is.Detail = IndexDifferent, why
		case wasApplied:
			is.State = IndexOK
		default:
			is.State, is.Detail = IndexPresent, "already there: apply marks it applied without a build"
		}
	}
	return is, nil
}

// partitionStatus corrects an index's status for its part in a
// partitioned sequence: the partitioned index INVALID is partly applied
// (how many partitions have theirs), not a failed build's leftover; a
// partition's index whose table left the partitioned table is no longer
// part of it.
func partitionStatus(ctx context.Context, conn *pgx.Conn, parts *fileParts, def *indexdef.Def, is *IndexStatus, wasApplied bool) error {
	if parts.root == nil || def.Schema == "" || is.State == IndexNoTable && !parts.step(def) {
		return nil
	}
	if def.IndexName() == parts.root.IndexName() {
		if is.State != IndexInvalid && is.State != IndexOK && is.State != IndexPresent {
			return nil
		}
		p, err := readPartitionProgress(ctx, conn, parts)
		if err != nil {
			return err
		}
		is.Partitions = &p
		if is.State != IndexInvalid {
			if is.Detail == "" {
				is.Detail = fmt.Sprintf("on %s", p)
			}
			return nil
		}
		is.State, is.Detail = IndexPartial, fmt.Sprintf("%s have their index; apply again to build the rest", p)
		if wasApplied {
			is.Detail = fmt.Sprintf("%s have their index: not valid although applied", p)
		}
		return nil
	}
	if !parts.step(def) {
		return nil
	}
	in, exists, err := inTree(ctx, conn, parts.root.QualifiedTable(), def.QualifiedTable())
	if err != nil {
		return err
	}
	if !in {
		why := "detached from"
		if !exists {
			why = "dropped from"
		}
		is.State, is.Detail = IndexNotPartition, fmt.Sprintf("its table was %s %s since", why, parts.root.QualifiedTable())
		return nil
	}
	if is.State == IndexPresent {
		is.Detail = "built already: apply keeps it and attaches it"
	}
	if def.Only && is.State == IndexInvalid {
		// A partitioned partition's index, part way like the root's.
		is.State, is.Detail = IndexPartial, "some of its partitions have no index attached yet"
	}
	return nil
}
