package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/spf13/cobra"

	"github.com/hishamos/hishamos-perf/internal/dataset"
	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/render"
	"github.com/hishamos/hishamos-perf/internal/sandbox"
)

// Exit codes, as DESIGN.md fixes them.
const (
	exitOK          = 0
	exitGate        = 1
	exitUsage       = 2
	exitDatabase    = 3
	exitInterrupted = 130
)

// Flag names shared by the commands that take them.
const (
	flagDSN        = "dsn"
	flagFormat     = "format"
	flagNoColor    = "no-color"
	flagQuiet      = "quiet"
	flagSandboxDir = "sandbox-dir"
	flagDir        = "dir"
	flagScale      = "scale"
	flagSeed       = "seed"
	flagReplace    = "replace"
	flagYes        = "yes"
	flagPG         = "pg"
)

// Environment variables the tool reads, besides the DSN ones in internal/pg.
const (
	envSandboxDir = "HISHAMOS_PERF_SANDBOX_DIR"
	envPgBinDir   = "HISHAMOS_PERF_PG_BINDIR"
	// envPgBin is another name for envPgBinDir: the one issue 22 and its
	// users' scripts wrote. Both work; set to different folders they are
	// refused rather than one silently winning.
	envPgBin = "HISHAMOS_PERF_PG_BIN"
	// envPG is the PostgreSQL major version of a sandbox being created
	// when --pg is not given.
	envPG = "HISHAMOS_PERF_PG"
)

// run is the whole CLI; main only exits with its code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if ctx.Err() != nil && err != nil {
		fmt.Fprintln(stderr, "hishamos-perf: interrupted; nothing was left half-made")
		return exitInterrupted
	}
	if err == nil {
		return exitOK
	}
	err = a.privilegeFix(err)
	code := exitCode(err)
	msg := pg.RedactText(err.Error(), a.dsn, a.getenv("PGPASSWORD"), a.getenv(pg.SourceEnv), a.getenv(pg.SourceDatabase))
	fmt.Fprintln(stderr, "hishamos-perf: "+oneLine(msg))
	var ue *usageError
	if errors.As(err, &ue) && ue.cmd != "" {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", ue.cmd)
	}
	return code
}

// oneLine keeps a message to its first lines' worth: errors are one line,
// except a server log tail that explains a failed start.
func oneLine(s string) string {
	return strings.TrimRight(s, "\n")
}

// usageError marks bad usage or bad input: exit code 2.
type usageError struct {
	err error
	cmd string
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// gateError marks a failed gate: exit code 1.
type gateError struct{ err error }

func (e *gateError) Error() string { return e.err.Error() }
func (e *gateError) Unwrap() error { return e.err }

// dbError marks a database that could not be reached or refused: exit code 3.
type dbError struct{ err error }

func (e *dbError) Error() string { return e.err.Error() }
func (e *dbError) Unwrap() error { return e.err }

// exitCode is the one place errors become exit codes.
func exitCode(err error) int {
	var (
		ue *usageError
		ge *gateError
		de *dbError
	)
	switch {
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.Is(err, pg.ErrPrivilege):
		// The role lacks a grant: the database refused, whatever the
		// layer that met it thought of the input.
		return exitDatabase
	case errors.As(err, &ge):
		return exitGate
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &de):
		return exitDatabase
	case errors.Is(err, pg.ErrBadDSN), errors.Is(err, render.ErrFormat),
		errors.Is(err, dataset.ErrUnknownScale), errors.Is(err, dataset.ErrNotEmpty),
		errors.Is(err, sandbox.ErrDir), errors.Is(err, sandbox.ErrVersion):
		return exitUsage
	case errors.Is(err, pg.ErrConnect), errors.Is(err, pg.ErrStandby), errors.Is(err, sandbox.ErrNoBinaries), errors.Is(err, sandbox.ErrNoNpm),
		errors.Is(err, sandbox.ErrNotCreated), errors.Is(err, sandbox.ErrNotRunning):
		return exitDatabase
	}
	var (
		pgErr  *pgconn.PgError
		netErr net.Error
	)
	if errors.As(err, &pgErr) || pgconn.Timeout(err) {
		return exitDatabase
	}
	// A connection the server dropped mid-statement (a crash, a network
	// failure) ends in a network error, not a PgError. (io.EOF is left
	// out on purpose: parsers report an empty input file with it.)
	if errors.As(err, &netErr) {
		return exitDatabase
	}
	// What is left comes from cobra: unknown commands, flags and arguments.
	return exitUsage
}

func newRootCmd(a *app) *cobra.Command {
	var format string
	root := &cobra.Command{
		Use:   "hishamos-perf",
		Short: "Find what a PostgreSQL workload costs, index it, and prove the difference",
		Long: `hishamos-perf closes the loop on PostgreSQL performance work: it finds the
statements that cost most, proposes the composite indexes the workload needs,
builds them safely as versioned migrations and measures before and after.

With no DSN (--dsn, HISHAMOS_PERF_DSN, DATABASE_URL or PG* variables) every
command runs on an embedded sandbox: a real PostgreSQL started from this
machine's binaries and loaded with HishamOS-shaped data.`,
		Example: `  hishamos-perf sandbox up
  hishamos-perf seed --scale medium --replace
  hishamos-perf --dsn postgres://app@db.internal/app sandbox status`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			f, err := render.ParseFormat(format)
			if err != nil {
				return &usageError{err: fmt.Errorf("--%s: %w", flagFormat, err), cmd: cmd.CommandPath()}
			}
			a.format = f
			return nil
		},
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &usageError{err: err, cmd: cmd.CommandPath()}
	})
	pf := root.PersistentFlags()
	pf.StringVar(&a.dsn, flagDSN, "", "PostgreSQL connection string (default: $HISHAMOS_PERF_DSN, $DATABASE_URL, PG* variables, else the embedded sandbox)")
	pf.StringVar(&format, flagFormat, string(render.FormatTable), "output format: table, json or markdown")
	pf.BoolVar(&a.noColor, flagNoColor, false, "no colours (also when NO_COLOR is set or output is not a terminal)")
	pf.BoolVarP(&a.quiet, flagQuiet, "q", false, "print only the results: no progress, titles or notes")
	pf.StringVar(&a.sandboxDir, flagSandboxDir, "", "folder of the embedded sandbox (default: $HISHAMOS_PERF_SANDBOX_DIR, else under the user cache folder)")

	root.AddCommand(newSandboxCmd(a), newSeedCmd(a), newProfilesCmd(a), newIndexesCmd(a), newMigrateCmd(a), newAnalyzeCmd(a), newExplainCmd(a), newVersionCmd(a), newBenchCmd(a), newDemoCmd(a))
	return root
}
