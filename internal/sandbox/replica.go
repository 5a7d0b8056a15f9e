package sandbox

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"time"
)

// replicationSenders is max_wal_senders with State.Replication:
// pg_basebackup -X stream takes two, a standby's receiver one, and one is
// left for a second standby.
const replicationSenders = 4

// Standby makes a streaming hot standby of the running sandbox s in dir
// (pg_basebackup -R), starts it on a free port and returns it: a
// read-only server that replays what s commits, to try the tool against
// one. A sandbox runs with minimal WAL, which no standby can follow: the
// first call restarts s with State.Replication, closing every session
// open on it. The standby is a Sandbox of its own (DSN, Down and Destroy
// work on it); it does not take over s's TLS.
func (s *Sandbox) Standby(ctx context.Context, dir string) (*Sandbox, error) {
	st, err := s.LoadState()
	if err != nil {
		return nil, err
	}
	if s.pid() == 0 {
		return nil, ErrNotRunning
	}
	if !st.Replication {
		if st, err = s.restartWith(ctx, func(st *State) { st.Replication = true }); err != nil {
			return nil, err
		}
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
	err = sb.run(ctx, filepath.Join(st.Binaries.BinDir, "pg_basebackup"), "-D", sb.dataDir(), "-R", "-X", "stream",
		"-c", "fast", "--no-sync", "-h", s.socketDir(), "-p", strconv.Itoa(st.Port), "-U", Superuser)
	if err != nil {
		return nil, fmt.Errorf("sandbox: standby: %w", err)
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

// restartWith changes the state, then stops and starts the server with
// the configuration it now writes.
func (s *Sandbox) restartWith(ctx context.Context, change func(*State)) (State, error) {
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
	if err := s.start(ctx, &st); err != nil {
		return st, err
	}
	return st, nil
}
