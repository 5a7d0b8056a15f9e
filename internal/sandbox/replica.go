package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// replicationSenders is max_wal_senders with State.Replication: a
// standby's receiver takes one, and the rest leave room for more standbys
// and for a pg_basebackup -X stream (two) run by hand.
const replicationSenders = 4

// Standby makes a streaming hot standby of the running sandbox s in dir,
// starts it on a free port and returns it: a read-only server that
// replays what s commits, to try the tool against one. Its base is a copy
// of s's data directory taken while s is stopped (no pg_basebackup, which
// the npm builds lack, and the same on every version): each call restarts
// s, closing every session open on it, the first twice, to give it the
// WAL a standby needs (State.Replication). The standby is a Sandbox of its own (DSN,
// Down and Destroy work on it); it does not take over s's TLS.
func (s *Sandbox) Standby(ctx context.Context, dir string) (*Sandbox, error) {
	st, err := s.LoadState()
	if err != nil {
		return nil, err
	}
	if s.pid() == 0 {
		return nil, ErrNotRunning
	}
	sb := &Sandbox{Dir: dir, BinDir: s.BinDir}
	if _, err := sb.prepareDir(); err != nil {
		return nil, err
	}
	if _, err := sb.LoadState(); !errors.Is(err, ErrNotCreated) {
		return nil, fmt.Errorf("%w: %s already holds a sandbox", ErrDir, sb.Dir)
	}
	unlock, err := sb.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := sb.mkdirOwned(sb.socketDir()); err != nil {
		return nil, err
	}
	if !st.Replication {
		// A standby can only start from files a server with replica WAL
		// wrote at its shutdown.
		if _, err := s.restartWith(ctx, func(st *State) { st.Replication = true }, nil); err != nil {
			return nil, fmt.Errorf("sandbox: standby: %w", err)
		}
	}
	st, err = s.restartWith(ctx, func(*State) {}, func() error {
		// A cleanly stopped cluster's files are a consistent base backup.
		return s.run(ctx, "cp", "-a", s.dataDir(), sb.dataDir())
	})
	if err != nil {
		return nil, fmt.Errorf("sandbox: standby: %w", err)
	}
	if err := sb.writeOwned(filepath.Join(sb.dataDir(), "standby.signal"), "", 0o600); err != nil {
		return nil, err
	}
	if err := sb.follow(s, st); err != nil {
		return nil, err
	}
	sst := st
	sst.Port, sst.TLS, sst.Created = 0, false, time.Now().UTC().Truncate(time.Second)
	if err := sb.SaveState(sst); err != nil {
		return nil, err
	}
	if err := sb.start(ctx, &sst); err != nil {
		return nil, fmt.Errorf("sandbox: standby: %w", err)
	}
	return sb, nil
}

// restartWith changes the state, then stops the server, runs whileStopped
// (when not nil) and starts the server with the configuration it now
// writes.
func (s *Sandbox) restartWith(ctx context.Context, change func(*State), whileStopped func() error) (State, error) {
	unlock, err := s.lock()
	if err != nil {
		return State{}, err
	}
	defer unlock()
	st, err := s.LoadState()
	if err != nil {
		return st, err
	}
	change(&st)
	if err := s.SaveState(st); err != nil {
		return st, err
	}
	if _, err := s.stop(ctx); err != nil {
		return st, err
	}
	if whileStopped != nil {
		if err := whileStopped(); err != nil {
			// Leave the server as it was found: running.
			if serr := s.start(ctx, &st); serr != nil {
				return st, fmt.Errorf("%w (and the restart failed: %v)", err, serr)
			}
			return st, err
		}
	}
	if err := s.start(ctx, &st); err != nil {
		return st, err
	}
	return st, nil
}

// follow points the standby sb at the primary s as st describes it (its
// socket and port): primary_conninfo in postgresql.auto.conf, any earlier
// one replaced. The standby names itself after its folder
// (application_name), which is how the primary's pg_stat_replication
// shows it.
func (sb *Sandbox) follow(s *Sandbox, st State) error {
	conninfo := fmt.Sprintf("host=%s port=%d user=%s application_name=%s", s.socketDir(), st.Port, Superuser, filepath.Base(sb.Dir))
	auto := filepath.Join(sb.dataDir(), "postgresql.auto.conf")
	b, err := os.ReadFile(auto)
	if err != nil {
		return fmt.Errorf("sandbox: standby: %w", err)
	}
	var kept []string
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "primary_conninfo") {
			kept = append(kept, line)
		}
	}
	kept = append(kept, "primary_conninfo = '"+conninfo+"'")
	return sb.writeOwned(auto, strings.Join(kept, "\n")+"\n", 0o600)
}

// replicaPrefix names the folders of the sandbox's replicas inside its
// own: replica1, replica2, …, which are also their node names.
const replicaPrefix = "replica"

// MaxReplicas bounds SetReplicas: each replica is a whole copy of the
// sandbox's data and a server of its own, and the primary keeps
// replicationSenders WAL senders, one per replica and room for a
// pg_basebackup run by hand.
const MaxReplicas = replicationSenders - 2

// ErrReplicas is returned for a number of replicas SetReplicas cannot
// make.
var ErrReplicas = errors.New("sandbox: unsupported number of replicas")

// Replica is the sandbox's i-th replica (from 1), made or not.
func (s *Sandbox) Replica(i int) *Sandbox {
	return &Sandbox{Dir: filepath.Join(s.Dir, fmt.Sprintf("%s%d", replicaPrefix, i)), BinDir: s.BinDir}
}

// ReplicaName is the name of the sandbox's i-th replica: its folder's,
// and its application_name on the primary.
func ReplicaName(i int) string { return fmt.Sprintf("%s%d", replicaPrefix, i) }

// Replicas are the replicas SetReplicas made that still exist, in order.
func (s *Sandbox) Replicas() []*Sandbox {
	var out []*Sandbox
	for i := 1; ; i++ {
		r := s.Replica(i)
		if _, err := r.LoadState(); err != nil {
			return out
		}
		out = append(out, r)
	}
}

// SetReplicas makes the running sandbox have exactly n streaming hot
// standbys, each in a folder of its own inside the sandbox's (replica1,
// …) on a port of its own: the missing ones are made (Standby, which
// restarts the primary), the stopped ones started following the
// primary's current port, and those past n destroyed. Replicas are
// copies: destroying one loses nothing of the primary's.
func (s *Sandbox) SetReplicas(ctx context.Context, n int) ([]*Sandbox, error) {
	if n < 0 || n > MaxReplicas {
		return nil, fmt.Errorf("%w: %d (0 to %d)", ErrReplicas, n, MaxReplicas)
	}
	if _, err := s.LoadState(); err != nil {
		return nil, err
	}
	if s.pid() == 0 {
		return nil, ErrNotRunning
	}
	have := s.Replicas()
	for i := len(have); i > n; i-- {
		if err := have[i-1].Destroy(ctx); err != nil {
			return nil, fmt.Errorf("sandbox: remove %s: %w", ReplicaName(i), err)
		}
	}
	var out []*Sandbox
	for i := 1; i <= n; i++ {
		r := s.Replica(i)
		if i > len(have) {
			var err error
			if r, err = s.Standby(ctx, r.Dir); err != nil {
				return nil, fmt.Errorf("sandbox: make %s: %w", ReplicaName(i), err)
			}
			out = append(out, r)
			continue
		}
		if r.pid() == 0 {
			st, err := s.LoadState()
			if err != nil {
				return nil, err
			}
			if err := r.startFollowing(ctx, s, st); err != nil {
				return nil, fmt.Errorf("sandbox: start %s: %w", ReplicaName(i), err)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// startFollowing starts a stopped replica pointed at the primary where it
// now listens.
func (sb *Sandbox) startFollowing(ctx context.Context, s *Sandbox, pst State) error {
	unlock, err := sb.lock()
	if err != nil {
		return err
	}
	defer unlock()
	st, err := sb.LoadState()
	if err != nil {
		return err
	}
	if err := sb.follow(s, pst); err != nil {
		return err
	}
	return sb.start(ctx, &st)
}

// ReplicaStatus is one replica in the sandbox's status: where it is and
// whether it runs (its role and lag are the fleet's to read).
type ReplicaStatus struct {
	Name    string `json:"name"`
	Dir     string `json:"dir"`
	Running bool   `json:"running"`
	PID     int    `json:"pid,omitempty"`
	Port    int    `json:"port,omitempty"`
}

// replicaStatus lists the replicas SetReplicas made.
func (s *Sandbox) replicaStatus() []ReplicaStatus {
	var out []ReplicaStatus
	for i, r := range s.Replicas() {
		st, _ := r.LoadState()
		rs := ReplicaStatus{Name: ReplicaName(i + 1), Dir: r.Dir, Port: st.Port, PID: r.pid()}
		rs.Running = rs.PID != 0
		out = append(out, rs)
	}
	return out
}

// stopReplicas stops the replicas before their primary, which would
// otherwise wait for them to receive its shutdown checkpoint.
func (s *Sandbox) stopReplicas(ctx context.Context) error {
	for i, r := range s.Replicas() {
		if _, err := r.Down(ctx); err != nil {
			return fmt.Errorf("sandbox: stop %s: %w", ReplicaName(i+1), err)
		}
	}
	return nil
}
