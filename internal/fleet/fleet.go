// Package fleet is a primary and its streaming replicas seen as one
// database: which node is which (pg_is_in_recovery()), how far each
// standby's replay is behind, and the refusal of servers that are not one
// cluster (pg_control_system()'s system identifier differs). It never
// prints and names no flag: the command words its errors.
//
// Commands that fan out over the nodes (analyze today; apply waiting for
// replay and bench on a standby next) take a []Member, call Inspect once
// and then talk to each member's Querier.
package fleet

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hishamos/hishamos-perf/internal/pg"
)

// Role is what a node is in its cluster.
type Role string

// The roles Inspect finds.
const (
	// Primary accepts writes (pg_is_in_recovery() is false).
	Primary Role = "primary"
	// Standby replays the WAL of another server (a hot standby).
	Standby Role = "standby"
)

// PrimaryName is the name of the node a command connects to first (its
// one DSN) when no name is given, and ReplicaName the prefix of the
// others' (replica1, replica2, …), as the sandbox names its replicas.
const (
	PrimaryName = "primary"
	ReplicaName = "replica"
)

// ErrUnrelated is wrapped by UnrelatedError: the nodes given are not one
// cluster, so their figures must not be added up.
var ErrUnrelated = errors.New("not a replica of the same cluster")

// ErrOtherDatabase is wrapped by DatabaseError: the nodes are one cluster
// but the sessions are in different databases, whose statistics must not
// be added up either.
var ErrOtherDatabase = errors.New("connected to another database")

// DatabaseError names the node connected to another database than the
// first node.
type DatabaseError struct {
	Node, First       string
	Database, FirstDB string
}

func (e *DatabaseError) Error() string {
	return fmt.Sprintf("node %s is %s: %s, where %s is in %s", e.Node, ErrOtherDatabase, e.Database, e.First, e.FirstDB)
}

// Unwrap lets callers branch on ErrOtherDatabase.
func (e *DatabaseError) Unwrap() error { return ErrOtherDatabase }

// ErrDuplicateName is returned for two nodes of one fleet under one name.
var ErrDuplicateName = errors.New("two nodes have the same name")

// UnrelatedError names the node whose system identifier differs from the
// first node's.
type UnrelatedError struct {
	// Node is the odd node's name, First the first node's.
	Node, First string
	// NodeID and FirstID are their system identifiers.
	NodeID, FirstID string
}

func (e *UnrelatedError) Error() string {
	return fmt.Sprintf("node %s is %s as %s: its system identifier is %s, %s's is %s", e.Node, ErrUnrelated, e.First, e.NodeID, e.First, e.FirstID)
}

// Unwrap lets callers branch on ErrUnrelated.
func (e *UnrelatedError) Unwrap() error { return ErrUnrelated }

// ErrRole is wrapped by RoleError: a node is not what the command was
// told it is.
var ErrRole = errors.New("not the role it was given as")

// RoleError names a node whose role differs from the one its member asked
// for (a primary given as a replica).
type RoleError struct {
	Node      string
	Want, Got Role
}

func (e *RoleError) Error() string {
	return fmt.Sprintf("node %s is a %s (pg_is_in_recovery() is %t), given as a %s", e.Node, e.Got, e.Got == Standby, e.Want)
}

// Unwrap lets callers branch on ErrRole.
func (e *RoleError) Unwrap() error { return ErrRole }

// Member is one node as a command holds it: a name, a session on it and,
// when the command was told, the role it must have.
type Member struct {
	Name string
	Q    pg.Querier
	// Want is the role the node must have; empty takes either.
	Want Role
}

// Node is what Inspect found on one member.
type Node struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
	// SystemIdentifier is pg_control_system().system_identifier: the same
	// on a primary and every standby made from it.
	SystemIdentifier string `json:"system_identifier"`
	// Database is the session's database (current_database()).
	Database string `json:"database"`
	// LSN is the primary's flushed WAL position (what a standby can have
	// received), or a standby's replay position.
	LSN string `json:"lsn,omitempty"`
	// ReplayLagBytes is how much WAL the primary has flushed that this
	// standby has not replayed; nil on the primary, or when the fleet
	// has no primary to compare with.
	ReplayLagBytes *int64 `json:"replay_lag_bytes,omitempty"`
	// LastReplayed is pg_last_xact_replay_timestamp(): the commit time of
	// the last transaction the standby replayed (nil before any).
	LastReplayed *time.Time `json:"last_replayed,omitempty"`
	// ReplayPaused is set while pg_wal_replay_pause() holds the replay.
	ReplayPaused bool `json:"replay_paused,omitempty"`
	// Senders are the primary's pg_stat_replication rows: the standbys
	// it streams to, as the primary sees them.
	Senders []Sender `json:"senders,omitempty"`

	lsn uint64
}

// Sender is one row of the primary's pg_stat_replication.
type Sender struct {
	ApplicationName string `json:"application_name"`
	State           string `json:"state"`
	// ReplayLagBytes is the distance between the primary's WAL and the
	// standby's reported replay position.
	ReplayLagBytes *int64 `json:"replay_lag_bytes,omitempty"`
	// ReplayLagSeconds is pg_stat_replication.replay_lag (nil once the
	// standby has caught up and the primary is idle).
	ReplayLagSeconds *float64 `json:"replay_lag_seconds,omitempty"`
}

// Fleet is the nodes of one cluster, in the order given.
type Fleet struct {
	Nodes []Node `json:"nodes"`
}

// Primary is the fleet's primary, nil when every node is a standby.
func (f *Fleet) Primary() *Node {
	for i := range f.Nodes {
		if f.Nodes[i].Role == Primary {
			return &f.Nodes[i]
		}
	}
	return nil
}

// Inspect reads each member's role, system identifier and WAL position,
// refuses members of different clusters (an *UnrelatedError naming the
// first that differs from the first member) and works out each standby's
// replay lag from the primary's flushed position. Sessions may be
// read-only: Inspect only reads.
func Inspect(ctx context.Context, members []Member) (*Fleet, error) {
	seen := map[string]bool{}
	f := &Fleet{}
	for _, m := range members {
		if seen[m.Name] {
			return nil, fmt.Errorf("fleet: %w: %s", ErrDuplicateName, m.Name)
		}
		seen[m.Name] = true
		n, err := inspect(ctx, m)
		if err != nil {
			return nil, err
		}
		// Another cluster first: its role says nothing of this one.
		if len(f.Nodes) > 0 && n.SystemIdentifier != f.Nodes[0].SystemIdentifier {
			return nil, &UnrelatedError{Node: n.Name, First: f.Nodes[0].Name, NodeID: n.SystemIdentifier, FirstID: f.Nodes[0].SystemIdentifier}
		}
		if len(f.Nodes) > 0 && n.Database != f.Nodes[0].Database {
			return nil, &DatabaseError{Node: n.Name, First: f.Nodes[0].Name, Database: n.Database, FirstDB: f.Nodes[0].Database}
		}
		if m.Want != "" && n.Role != m.Want {
			return nil, &RoleError{Node: n.Name, Want: m.Want, Got: n.Role}
		}
		f.Nodes = append(f.Nodes, n)
	}
	if p := f.Primary(); p != nil {
		for i := range f.Nodes {
			if n := &f.Nodes[i]; n.Role == Standby && n.lsn != 0 {
				lag := int64(p.lsn) - int64(n.lsn)
				n.ReplayLagBytes = &lag
			}
		}
	}
	return f, nil
}

// inspect reads one node.
func inspect(ctx context.Context, m Member) (Node, error) {
	n := Node{Name: m.Name}
	var recovery bool
	var sysid int64
	err := m.Q.QueryRow(ctx, pg.Tagged(`SELECT pg_is_in_recovery(), (SELECT system_identifier FROM pg_control_system()), current_database()`)).Scan(&recovery, &sysid, &n.Database)
	if err != nil {
		return n, fmt.Errorf("fleet: node %s: read its role: %w", m.Name, err)
	}
	n.SystemIdentifier = strconv.FormatUint(uint64(sysid), 10)
	if !recovery {
		n.Role = Primary
		if err := m.Q.QueryRow(ctx, pg.Tagged(`SELECT pg_current_wal_flush_lsn()::text`)).Scan(&n.LSN); err != nil {
			return n, fmt.Errorf("fleet: node %s: read its WAL position: %w", m.Name, err)
		}
		if n.Senders, err = senders(ctx, m.Q); err != nil {
			return n, fmt.Errorf("fleet: node %s: read pg_stat_replication: %w", m.Name, err)
		}
	} else {
		n.Role = Standby
		var lsn *string
		if err := m.Q.QueryRow(ctx, pg.Tagged(`SELECT pg_last_wal_replay_lsn()::text, pg_last_xact_replay_timestamp(), pg_is_wal_replay_paused()`)).Scan(&lsn, &n.LastReplayed, &n.ReplayPaused); err != nil {
			return n, fmt.Errorf("fleet: node %s: read its replay position: %w", m.Name, err)
		}
		if lsn != nil {
			n.LSN = *lsn
		}
	}
	if n.lsn, err = ParseLSN(n.LSN); err != nil {
		return n, fmt.Errorf("fleet: node %s: %w", m.Name, err)
	}
	return n, nil
}

// senders reads the primary's pg_stat_replication. Without pg_monitor
// (or superuser) the positions read as NULL: the lag is left out.
func senders(ctx context.Context, q pg.Querier) ([]Sender, error) {
	rows, err := q.Query(ctx, pg.Tagged(`SELECT coalesce(application_name, ''), coalesce(state, ''),
	pg_wal_lsn_diff(pg_current_wal_flush_lsn(), replay_lsn)::bigint, extract(epoch FROM replay_lag)::float8
	FROM pg_stat_replication ORDER BY application_name, pid`))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Sender
	for rows.Next() {
		var s Sender
		if err := rows.Scan(&s.ApplicationName, &s.State, &s.ReplayLagBytes, &s.ReplayLagSeconds); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// ParseLSN reads a pg_lsn's text (X/Y, two hexadecimal halves); "" is 0.
func ParseLSN(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	hi, lo, ok := strings.Cut(s, "/")
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if !ok || err1 != nil || err2 != nil {
		return 0, fmt.Errorf("not a WAL position: %q", s)
	}
	return h<<32 | l, nil
}
