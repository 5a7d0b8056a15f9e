package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/spf13/cobra"

	"github.com/hishamos/hishamos-perf/cmd/hishamos-perf/internal/report"
	"github.com/hishamos/hishamos-perf/internal/dataset"
	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/render"
	"github.com/hishamos/hishamos-perf/internal/sandbox"
	"github.com/hishamos/hishamos-perf/migrate"
)

// Exit codes, as docs/architecture.md and the README list them. A run a
// signal stopped exits 128 + the signal's number, as a shell reports a
// process the signal killed: 130 for SIGINT (Ctrl-C), 143 for SIGTERM
// (kill, systemd, Kubernetes).
const (
	exitOK          = 0
	exitGate        = 1
	exitUsage       = 2
	exitDatabase    = 3
	exitInterrupted = 130
	exitTerminated  = 143
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
	flagReplicas   = "replicas"
	flagNode       = "node"
	flagReplica    = "replica"
	// flagReplicaTimeout bounds apply's wait for its --replica standbys.
	flagReplicaTimeout = "replica-timeout"
)

// Environment variables the tool reads, besides the DSN ones in internal/pg.
const (
	envSandboxDir = "HISHAMOS_PERF_SANDBOX_DIR"
	envPgBinDir   = "HISHAMOS_PERF_PG_BINDIR"
	// envDebug, set to anything but "" or "0", makes an internal error
	// print its Go stack: for a developer, never by default.
	envDebug = "HISHAMOS_PERF_DEBUG"
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
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	return a.guard(func() int { return a.run(args) })
}

// guard runs the CLI and turns a panic on its goroutine into one line on
// stderr and exit code 3, as a database failure would: a bug must not
// reach the user as a Go stack trace (nor as exit code 2, "your input").
// The stack is printed only when envDebug asks for it.
func (a *app) guard(f func() int) (code int) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		msg := pg.RedactText(fmt.Sprint(r), a.secrets()...)
		msg = strings.Join(strings.Fields(msg), " ")
		if d := a.getenv(envDebug); d != "" && d != "0" {
			fmt.Fprintf(a.stderr, "hishamos-perf: internal error: %s\n%s", msg, pg.RedactText(string(debug.Stack()), a.secrets()...))
		} else {
			fmt.Fprintf(a.stderr, "hishamos-perf: internal error: %s: this is a bug, please report it with the command that ran (%s=1 prints the stack)\n", msg, envDebug)
		}
		code = exitDatabase
	}()
	return f()
}

// run is the CLI on args, once guard is in place.
func (a *app) run(args []string) int {
	stdin, stdout, stderr := a.stdin, a.stdout, a.stderr
	ctx, stop := signalContext(context.Background())
	defer stop()
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if ctx.Err() != nil && err != nil {
		// Whatever the command made of the cancelled context, the signal
		// is what stopped it.
		ie, ok := context.Cause(ctx).(*interruptedError)
		if !ok {
			ie = &interruptedError{sig: os.Interrupt}
		}
		if le := (*migrate.LeftoverError)(nil); errors.As(err, &le) {
			// What could not be cleaned up is said, not hidden.
			fmt.Fprintln(stderr, "hishamos-perf: "+ie.what()+": "+oneLine(le.Error()))
			return exitCode(ie)
		}
		fmt.Fprintln(stderr, "hishamos-perf: "+ie.Error())
		return exitCode(ie)
	}
	if err == nil {
		return exitOK
	}
	err = a.privilegeFix(err)
	code := exitCode(err)
	msg := pg.RedactText(a.words(cmd, err), a.secrets()...)
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

// signalContext is parent, cancelled by the first SIGINT or SIGTERM with an
// *interruptedError naming it as the cause. The first signal also gives both
// signals back their default action, so a second one ends the process at
// once, whatever the command is doing: a user can always stop it. stop
// releases the signals.
func signalContext(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			signal.Stop(ch)
			cancel(&interruptedError{sig: sig})
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// interruptedError is a run a signal stopped: the signal decides the exit
// code.
type interruptedError struct{ sig os.Signal }

func (e *interruptedError) Error() string { return e.what() + "; nothing was left half-made" }

// what says which signal stopped the run.
func (e *interruptedError) what() string {
	if e.sig == syscall.SIGTERM {
		return "terminated (SIGTERM)"
	}
	return "interrupted"
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
		ie *interruptedError
	)
	switch {
	case errors.As(err, &ie):
		if ie.sig == syscall.SIGTERM {
			return exitTerminated
		}
		return exitInterrupted
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
	case errors.Is(err, pg.ErrBadDSN), errors.Is(err, report.ErrFormat),
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
			f, err := report.ParseFormat(format)
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
	pf.StringVar(&format, flagFormat, string(report.Text), "output format: table, json, markdown or csv (every table, numbers raw); bench also benchstat")
	pf.BoolVar(&a.noColor, flagNoColor, false, "no colours (also when NO_COLOR is set or output is not a terminal)")
	pf.BoolVarP(&a.quiet, flagQuiet, "q", false, "print only the results: no progress, titles or notes")
	pf.StringVar(&a.sandboxDir, flagSandboxDir, "", "folder of the embedded sandbox (default: $HISHAMOS_PERF_SANDBOX_DIR, else under the user cache folder)")

	root.AddCommand(newSandboxCmd(a), newSeedCmd(a), newProfilesCmd(a), newIndexesCmd(a), newMigrateCmd(a), newAnalyzeCmd(a), newExplainCmd(a), newVersionCmd(a), newBenchCmd(a), newDemoCmd(a))
	// --help's flags wrap their descriptions to the terminal's width, as
	// the rest of the output does (cobra writes each on one line).
	width := report.New(a.stdout, report.Text, true, false, a.getenv).Width
	if width <= 0 {
		width = render.DefaultWidth
	}
	usage := root.UsageTemplate()
	for _, set := range []string{".LocalFlags", ".InheritedFlags"} {
		usage = strings.ReplaceAll(usage, set+".FlagUsages", fmt.Sprintf("%s.FlagUsagesWrapped %d", set, width))
	}
	root.SetUsageTemplate(usage)
	help := root.HelpFunc()
	root.SetHelpFunc(func(c *cobra.Command, args []string) {
		var buf strings.Builder
		c.SetOut(&buf)
		help(c, args)
		c.SetOut(a.stdout)
		fmt.Fprint(a.stdout, foldHelp(buf.String(), width))
	})
	return root
}

// foldHelp wraps the lines of --help wider than width at spaces, each
// continuation under the text it continues: past a line's indent, or past
// the last gap of two spaces or more that starts its description (a
// command's or a rule's list). A line of an example (an indented
// "hishamos-perf …" command) stays whole, to be copied as it is.
func foldHelp(s string, width int) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		trimmed := strings.TrimLeft(line, " ")
		if len(line) <= width || strings.HasPrefix(trimmed, "hishamos-perf ") {
			out = append(out, line)
			continue
		}
		indent := len(line) - len(trimmed)
		if i := strings.LastIndex(line[:width], "  "); i >= indent {
			indent = i + 2
			for indent < len(line) && line[indent] == ' ' {
				indent++
			}
		}
		if indent > width*2/3 {
			indent = len(line) - len(trimmed)
		}
		rest := line
		for len(rest) > width {
			cut := strings.LastIndex(rest[:width+1], " ")
			if cut <= indent {
				break
			}
			out = append(out, strings.TrimRight(rest[:cut], " "))
			rest = strings.Repeat(" ", indent) + strings.TrimLeft(rest[cut:], " ")
		}
		out = append(out, rest)
	}
	return strings.Join(out, "\n")
}
