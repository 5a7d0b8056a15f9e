package migrate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hishamos/hishamos-perf/internal/fleet"
	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/pg"
)

// EventReplicaWait reports apply waiting for a standby to replay a file's
// builds (see ApplyOptions.Replicas).
const EventReplicaWait EventKind = "replica-wait"

// Replica is a streaming standby of the server apply writes to: after each
// file, apply waits until it has replayed the file's builds and shows
// their indexes valid before recording the revision.
type Replica struct {
	// Name names the node in events and errors.
	Name string
	// Q is a session on the standby (read-only is enough).
	Q pg.Querier
}

// Replay waiting, and where its figures come from.
const (
	// DefaultReplicaTimeout bounds the wait for every standby to replay a
	// file's builds: a standby streaming on a healthy network replays an
	// index build (a few WAL records per megabyte of index) in seconds; one
	// still behind after a minute is stuck or far behind, which the DBA
	// must hear about rather than wait on.
	DefaultReplicaTimeout = time.Minute
	// replicaPoll is how often the standbys' replay positions are read.
	replicaPoll = 100 * time.Millisecond
	// replicaReportEvery is how often a standby still behind is reported.
	replicaReportEvery = 2 * time.Second
)

// ErrReplicaBehind is wrapped by ReplicaLagError.
var ErrReplicaBehind = errors.New("a standby has not replayed the build")

// ReplicaLagError is a standby that had not replayed a file's builds (or
// did not show its indexes valid) when ApplyOptions.ReplicaTimeout ran
// out. The file's revision is not recorded: its indexes stay built on the
// primary, and the next apply finds them valid there (marked-applied),
// waits for the standbys again and records the revision then.
type ReplicaLagError struct {
	File, Node string
	// Target is the primary's WAL position after the file's builds, Replayed
	// the standby's replay position when the wait ended.
	Target, Replayed string
	// BehindBytes is how much WAL the standby had still to replay (0 when it
	// had replayed past Target but an index was not valid there).
	BehindBytes int64
	// Paused is set when the standby's replay is paused
	// (pg_wal_replay_pause()).
	Paused bool
	// Index is the index not valid on the standby, when it had replayed.
	Index   string
	Timeout time.Duration
}

func (e *ReplicaLagError) Error() string {
	why := fmt.Sprintf("it has replayed to %s, %s of WAL behind the primary's %s", e.Replayed, pg.Size(e.BehindBytes), e.Target)
	if e.Index != "" {
		why = fmt.Sprintf("it has replayed past %s but %s is not valid there", e.Target, e.Index)
	}
	if e.Paused {
		why += " (its replay is paused: pg_wal_replay_resume() on it goes on)"
	}
	if e.File == "" {
		return fmt.Sprintf("migrate: node %s: has not replayed the primary's writes after %s: %s", e.Node, e.Timeout, why)
	}
	return fmt.Sprintf("migrate: %s: node %s: %s after %s: %s; the revision is not recorded", e.File, e.Node, ErrReplicaBehind, e.Timeout, why)
}

// Unwrap lets callers branch on ErrReplicaBehind.
func (e *ReplicaLagError) Unwrap() error { return ErrReplicaBehind }

// replicaState is one standby's position as the wait last read it.
type replicaState struct {
	replayed string
	lsn      uint64
	paused   bool
	invalid  string // an index not valid (or not there) once replayed
}

// waitReplicas waits until every standby has replayed the primary's WAL
// up to its insert position now and shows each of indexes valid and
// ready, telling o.Observer about the ones behind every
// replicaReportEvery; after o.ReplicaTimeout it returns a
// *ReplicaLagError naming the first standby still behind. The insert
// position, not pg_current_wal_lsn(): with synchronous_commit off a
// commit record can sit past the written position for a WAL writer round.
func waitReplicas(ctx context.Context, primary pg.Querier, file string, indexes []*indexdef.Def, o ApplyOptions) error {
	var target string
	if err := primary.QueryRow(ctx, pg.Tagged(`SELECT pg_current_wal_insert_lsn()::text`)).Scan(&target); err != nil {
		return fmt.Errorf("migrate: read the primary's WAL position: %w", err)
	}
	want, err := fleet.ParseLSN(target)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	start := time.Now()
	// The first report after replicaReportEvery: a standby streaming
	// normally has replayed by then, and is told once, at the end.
	deadline, lastReport := start.Add(o.ReplicaTimeout), start
	done := make([]bool, len(o.Replicas))
	for {
		var behind []int
		states := make([]replicaState, len(o.Replicas))
		for i, r := range o.Replicas {
			if done[i] {
				continue
			}
			st, err := readReplica(ctx, r, want, indexes)
			if err != nil {
				return err
			}
			states[i] = st
			if st.lsn >= want && st.invalid == "" {
				done[i] = true
				continue
			}
			behind = append(behind, i)
		}
		if len(behind) == 0 {
			if o.Observer != nil {
				msg := fmt.Sprintf("every standby has replayed to %s in %s", target, time.Since(start).Round(time.Millisecond))
				if len(indexes) > 0 {
					msg = fmt.Sprintf("every standby has replayed to %s, its indexes valid there, in %s", target, time.Since(start).Round(time.Millisecond))
				}
				o.Observer(Event{Kind: EventReplicaWait, File: file, Took: time.Since(start), Message: msg})
			}
			return nil
		}
		now := time.Now()
		if now.After(deadline) {
			i := behind[0]
			st := states[i]
			e := &ReplicaLagError{File: file, Node: o.Replicas[i].Name, Target: target, Replayed: st.replayed, Paused: st.paused, Timeout: o.ReplicaTimeout}
			if st.lsn >= want {
				e.Index = st.invalid
			} else {
				e.BehindBytes = int64(want - st.lsn)
			}
			return e
		}
		if o.Observer != nil && now.Sub(lastReport) >= replicaReportEvery {
			lastReport = now
			for _, i := range behind {
				st := states[i]
				msg := fmt.Sprintf("waiting for %s to replay to %s: at %s, %s of WAL behind", o.Replicas[i].Name, target, st.replayed, pg.Size(int64(want-st.lsn)))
				if st.lsn >= want {
					msg = fmt.Sprintf("waiting for %s to show %s valid", o.Replicas[i].Name, st.invalid)
				}
				if st.paused {
					msg += " (replay paused)"
				}
				o.Observer(Event{Kind: EventReplicaWait, File: file, Wait: time.Since(start),
					Message: fmt.Sprintf("%s; %s left", msg, time.Until(deadline).Round(time.Second))})
			}
		}
		if err := sleep(ctx, replicaPoll); err != nil {
			return err
		}
	}
}

// WaitReplicas waits, as Apply does after each file, until every one of
// o.Replicas has replayed primary's WAL up to its insert position now,
// bounded by o.ReplicaTimeout (a *ReplicaLagError past it, its File
// empty): for a reader of the standbys that needs what was just written
// on the primary (bench's ANALYZE before its run after the migrations).
func WaitReplicas(ctx context.Context, primary pg.Querier, o ApplyOptions) error {
	return waitReplicas(ctx, primary, "", nil, o.withDefaults())
}

// readReplica reads one standby's replay position and, once it has
// replayed to want, whether each index is there, valid and ready.
func readReplica(ctx context.Context, r Replica, want uint64, indexes []*indexdef.Def) (replicaState, error) {
	var st replicaState
	var replayed *string
	if err := r.Q.QueryRow(ctx, pg.Tagged(`SELECT pg_last_wal_replay_lsn()::text, pg_is_wal_replay_paused()`)).Scan(&replayed, &st.paused); err != nil {
		return st, fmt.Errorf("migrate: node %s: read its replay position: %w", r.Name, err)
	}
	if replayed != nil {
		st.replayed = *replayed
	}
	var err error
	if st.lsn, err = fleet.ParseLSN(st.replayed); err != nil {
		return st, fmt.Errorf("migrate: node %s: %w", r.Name, err)
	}
	if st.lsn < want {
		return st, nil
	}
	for _, def := range indexes {
		ix, err := findIndex(ctx, r.Q, def)
		if err != nil {
			return st, fmt.Errorf("migrate: node %s: %w", r.Name, err)
		}
		if ix == nil || !ix.Valid || !ix.Ready {
			st.invalid = def.Name
			break
		}
	}
	return st, nil
}

// ErrStandbyTarget is wrapped by StandbyTargetError.
var ErrStandbyTarget = errors.New("the server is a read-only standby (pg_is_in_recovery() is true)")

// StandbyTargetError refuses a standby as the server to apply to: every
// write would fail there, after the lock and the revisions table. Primary
// is the primary's host and port as the standby's WAL receiver connects
// to it (pg_stat_wal_receiver), empty when the session may not read them.
type StandbyTargetError struct {
	Primary string
}

func (e *StandbyTargetError) Error() string {
	if e.Primary != "" {
		return fmt.Sprintf("%s: indexes are built on its primary, %s (its WAL receiver's sender)", ErrStandbyTarget, e.Primary)
	}
	return fmt.Sprintf("%s: indexes are built on its primary; SELECT sender_host, sender_port FROM pg_stat_wal_receiver on it (as a member of pg_read_all_stats) names it", ErrStandbyTarget)
}

// Unwrap lets callers branch on ErrStandbyTarget.
func (e *StandbyTargetError) Unwrap() error { return ErrStandbyTarget }

// refuseStandby returns a *StandbyTargetError when q is a session on a
// standby.
func refuseStandby(ctx context.Context, q pg.Querier) error {
	var recovery bool
	if err := q.QueryRow(ctx, pg.Tagged(`SELECT pg_is_in_recovery()`)).Scan(&recovery); err != nil {
		return fmt.Errorf("migrate: read whether the server is a standby: %w", err)
	}
	if !recovery {
		return nil
	}
	e := &StandbyTargetError{}
	var host *string
	var port *int32
	err := q.QueryRow(ctx, pg.Tagged(`SELECT sender_host, sender_port FROM pg_stat_wal_receiver`)).Scan(&host, &port)
	if err == nil && host != nil && *host != "" {
		e.Primary = *host
		if port != nil {
			e.Primary = fmt.Sprintf("host=%s port=%d", *host, *port)
		}
	}
	return e
}

// NodeIndex is one index as a standby has it (migrate status --replica).
type NodeIndex struct {
	Node string `json:"node"`
	// State is IndexOK (there, valid and ready), IndexInvalid (there, not
	// valid or not ready: a build the standby has not finished replaying)
	// or IndexAbsent.
	State string `json:"state"`
}

// StatusOnReplicas adds to rep, a Status of dir, each index's state on
// every standby (IndexStatus.Nodes), so that a file applied on the
// primary shows which standbys have its indexes valid yet. It only reads.
func StatusOnReplicas(ctx context.Context, rep *StatusReport, dir *Dir, replicas []Replica) error {
	migs, err := dir.Migrations()
	if err != nil {
		return err
	}
	defs := map[string]*indexdef.Def{}
	for _, m := range migs {
		for _, def := range m.Indexes {
			defs[def.Schema+"."+def.Name] = def
		}
	}
	var mark func(is *IndexStatus) error
	mark = func(is *IndexStatus) error {
		if def := defs[is.Schema+"."+is.Name]; def != nil && def.Schema != "" {
			for _, r := range replicas {
				st := NodeIndex{Node: r.Name, State: IndexAbsent}
				ok, err := tableExists(ctx, r.Q, def.QualifiedTable())
				if err != nil {
					return fmt.Errorf("migrate: node %s: %w", r.Name, err)
				}
				if ok {
					ix, err := findIndex(ctx, r.Q, def)
					if err != nil {
						return fmt.Errorf("migrate: node %s: %w", r.Name, err)
					}
					switch {
					case ix == nil:
					case ix.Valid && ix.Ready:
						st.State = IndexOK
					default:
						st.State = IndexInvalid
					}
				}
				is.Nodes = append(is.Nodes, st)
			}
		}
		for i := range is.PartitionIndexes {
			if err := mark(&is.PartitionIndexes[i]); err != nil {
				return err
			}
		}
		return nil
	}
	for i := range rep.Files {
		for j := range rep.Files[i].Indexes {
			if err := mark(&rep.Files[i].Indexes[j]); err != nil {
				return err
			}
		}
	}
	return nil
}
