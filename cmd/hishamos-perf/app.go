package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/cmd/hishamos-perf/internal/report"
	"github.com/hishamos/hishamos-perf/internal/dataset"
	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/render"
	"github.com/hishamos/hishamos-perf/internal/sandbox"
)

// defaultScale is what the sandbox is loaded with on first use: small enough
// to load in a second or two.
const defaultScale = "small"

// defaultDataSeed makes the sandbox's data the same on every machine.
const defaultDataSeed = 1

// app holds the global flags and the process's streams.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string

	dsn string
	// replicas are the --replica values of a command that takes a
	// fleet: secrets like dsn, whose passwords no message may show.
	replicas   []string
	format     report.Format
	noColor    bool
	quiet      bool
	sandboxDir string
	// pgMajor is --pg: the PostgreSQL major version of a sandbox being
	// created (sandbox up, demo), empty for $HISHAMOS_PERF_PG or any.
	pgMajor string

	// role is the user the last session connected as, and need what the
	// running command needs of it; together they name the GRANT that fixes a
	// permission error no inner layer explained (see privilegeFix).
	role string
	need pg.Need
}

// privilegeFix ends a permission error (42501) that reached the top without
// its fix with the GRANT or ALTER that gives the session's role what the
// command needs. Other errors come back unchanged.
func (a *app) privilegeFix(err error) error {
	role := a.role
	if role == "" {
		if cfg, perr := pg.ParseConfig(pg.Resolve(a.dsn, a.getenv), pg.DefaultSession); perr == nil {
			role = cfg.User
		}
	}
	if role == "" {
		return err
	}
	return pg.PrivilegeErrorNeed(err, role, a.need)
}

// secrets are what RedactText removes from every message: the DSNs'
// passwords (--dsn, each --replica, the environment's) and PGPASSWORD.
func (a *app) secrets() []string {
	return append([]string{a.dsn, a.getenv("PGPASSWORD"), a.getenv(pg.SourceEnv), a.getenv(pg.SourceDatabase)}, a.replicas...)
}

// write writes a command's output to stdout in the chosen format.
func (a *app) write(doc *report.Doc) error {
	return a.writeContext(context.Background(), doc)
}

// writeContext is write, stopping between blocks once ctx is done: a long
// output (the plans of a large file) ends at a signal like the rest of the
// command.
func (a *app) writeContext(ctx context.Context, doc *report.Doc) error {
	return report.New(a.stdout, a.format, a.noColor, a.quiet, a.getenv).WriteContext(ctx, doc)
}

// progress draws bars on stderr when it is a terminal.
func (a *app) progress() *render.Progress {
	return render.NewProgress(a.stderr, a.quiet)
}

// say prints a line of what the tool is doing on stderr, unless -q,
// wrapped to the terminal's width (COLUMNS) with its continuations
// indented; to a file or a pipe, whole.
func (a *app) say(format string, args ...any) {
	if !a.quiet {
		width := render.New(a.stderr, render.FormatTable, true, a.getenv).Width
		fmt.Fprintln(a.stderr, render.Hang(fmt.Sprintf(format, args...), width))
	}
}

// box is the embedded sandbox in the folder the flags or environment name,
// with the server binaries and version they ask for.
func (a *app) box() (*sandbox.Sandbox, error) {
	dir := a.sandboxDir
	if dir == "" {
		dir = a.getenv(envSandboxDir)
	}
	if dir == "" {
		d, err := sandbox.DefaultDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	return a.boxIn(dir)
}

// boxIn is a sandbox in dir with the binaries and version the flags and
// environment ask for.
func (a *app) boxIn(dir string) (*sandbox.Sandbox, error) {
	box := &sandbox.Sandbox{Dir: dir, BinDir: a.getenv(envPgBinDir)}
	if alias := a.getenv(envPgBin); alias != "" {
		if box.BinDir != "" && filepath.Clean(box.BinDir) != filepath.Clean(alias) {
			return nil, &usageError{err: fmt.Errorf("%s=%s and %s=%s name different server binaries: set one of them", envPgBinDir, box.BinDir, envPgBin, alias)}
		}
		box.BinDir = alias
	}
	version, from := a.pgMajor, "--"+flagPG
	if version == "" {
		version, from = a.getenv(envPG), envPG
	}
	if version != "" {
		major, err := sandbox.ParseMajor(version)
		if err != nil {
			return nil, &usageError{err: fmt.Errorf("%s: %w", from, err)}
		}
		box.Major = major
	}
	return box, nil
}

// target resolves where to connect. With no DSN it brings the sandbox up and,
// when loadData is set, loads the HishamOS data on first use.
func (a *app) target(ctx context.Context, loadData bool) (pg.Target, error) {
	t := pg.Resolve(a.dsn, a.getenv)
	if !t.Sandbox() {
		return t, nil
	}
	box, err := a.box()
	if err != nil {
		return t, err
	}
	st, err := a.sandboxUp(ctx, box)
	if err != nil {
		return t, err
	}
	t.DSN = box.DSN(st, sandbox.Database)
	if loadData && st.Seeded == "" {
		if err := a.loadSandbox(ctx, box, t); err != nil {
			return t, err
		}
	}
	return t, nil
}

// sandboxUp starts the sandbox and returns its state.
func (a *app) sandboxUp(ctx context.Context, box *sandbox.Sandbox) (sandbox.State, error) {
	status, err := box.Up(ctx)
	if err != nil {
		if errors.Is(err, sandbox.ErrDir) || errors.Is(err, sandbox.ErrVersion) {
			return sandbox.State{}, err
		}
		return sandbox.State{}, &dbError{err}
	}
	if status.Initialized {
		a.say("sandbox: created PostgreSQL %s (%s) in %s", status.Version, status.Binaries.Origin(), status.Dir)
	}
	if status.Started {
		a.say("sandbox: started on port %d", status.Port)
	}
	return box.LoadState()
}

// loadSandbox loads the HishamOS data at the default scale into a sandbox
// that has none yet.
func (a *app) loadSandbox(ctx context.Context, box *sandbox.Sandbox, t pg.Target) error {
	scale, err := dataset.ParseScale(defaultScale)
	if err != nil {
		return err
	}
	a.say("sandbox: loading HishamOS data at scale %s (first use)", scale.Name)
	conn, err := a.connect(ctx, t, pg.Session{LockTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	bar := a.progress()
	_, err = dataset.Load(ctx, conn, dataset.Options{Scale: scale, Seed: defaultDataSeed, Replace: true,
		Progress: func(p dataset.Progress) { bar.Update(progressLabel(p), p.RowsDone, p.RowsTotal) }})
	bar.Done()
	if err != nil {
		return err
	}
	if err := resetSandboxStats(ctx, conn); err != nil {
		return err
	}
	return box.MarkSeeded(scale.Name)
}

// resetSandboxStats clears the statistics the data load left on the sandbox
// (its COPY and DDL statements in pg_stat_statements, its scans in the table
// statistics), so analyze and propose see the workload, not the loader. Only
// ever on the sandbox: on anyone else's server the counters are theirs.
func resetSandboxStats(ctx context.Context, conn *pgx.Conn) error {
	if _, err := conn.Exec(ctx, "SELECT pg_stat_statements_reset(), pg_stat_reset()"); err != nil {
		return &dbError{fmt.Errorf("sandbox: reset statistics after the load: %w", err)}
	}
	return nil
}

// connect opens a session on the target, turning failures into exit code 3
// (or 2 for a DSN that does not parse).
func (a *app) connect(ctx context.Context, t pg.Target, s pg.Session) (*pgx.Conn, error) {
	conn, err := pg.Connect(ctx, t, s)
	if err != nil {
		if errors.Is(err, pg.ErrBadDSN) || errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, &dbError{err}
	}
	a.role = conn.Config().User
	return conn, nil
}
