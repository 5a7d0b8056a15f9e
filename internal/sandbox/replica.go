package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	conninfo := fmt.Sprintf("host=%s port=%d user=%s application_name=standby", s.socketDir(), st.Port, Superuser)
	if err := sb.writeOwned(filepath.Join(sb.dataDir(), "standby.signal"), "", 0o600); err != nil {
		return nil, err
	}
	auto := filepath.Join(sb.dataDir(), "postgresql.auto.conf")
	b, err := os.ReadFile(auto)
	if err != nil {
		return nil, fmt.Errorf("sandbox: standby: %w", err)
	}
	if err := sb.writeOwned(auto, string(b)+"primary_conninfo = '"+conninfo+"'\n", 0o600); err != nil {
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
