package faults

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/internal/sandbox"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// env is what TestMain prepares: the tool built once, and a sandbox of the
// suite's own (the restart faults need to stop and start its server, which a
// server named by HISHAMOS_PERF_TEST_DSN cannot offer).
var env struct {
	// skip, when set, is why the suite cannot run here.
	skip string
	// bin is the hishamos-perf binary under test.
	bin string
	// work holds the binary, migration directories and SQL files.
	work string
	box  *sandbox.Sandbox
}

// setupTimeout bounds building the binary, starting the sandbox and loading
// the data at scale small (about 10 s on a 2-core machine).
const setupTimeout = 3 * time.Minute

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	major, err := testdb.Major()
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 2
	}
	// A version asked for is installed when missing; without one, the
	// suite needs what is installed.
	if _, err := sandbox.FindBinaries(os.Getenv("HISHAMOS_PERF_PG_BINDIR")); err != nil && major == 0 {
		env.skip = "no PostgreSQL server binaries for a sandbox of the suite's own: " + err.Error()
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	work, err := os.MkdirTemp("", "hpf-faults-work-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 3
	}
	defer os.RemoveAll(work)
	env.work = work
	env.bin = filepath.Join(work, "hishamos-perf")
	build := exec.CommandContext(ctx, "go", "build", "-o", env.bin, "./cmd/hishamos-perf")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "faults: build the binary: %v\n%s", err, out)
		return 3
	}
	// The sandbox folder sits right under the temporary folder: the socket
	// path must stay short, and as root the postgres account must reach it.
	dir, err := os.MkdirTemp("", "hpf-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 3
	}
	if env.box, err = testdb.NewSandbox(dir); err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 2
	}
	defer func() {
		if err := env.box.Destroy(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "faults: destroy sandbox:", err)
		}
	}()
	if _, err := env.box.Up(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "faults: start sandbox:", err)
		return 3
	}
	res := runTool(ctx, 2*time.Minute, "seed", "--scale", "small", "--yes")
	if res.code != 0 {
		fmt.Fprintf(os.Stderr, "faults: seed: exit %d\n%s", res.code, res.stderr)
		return 3
	}
	return m.Run()
}

// state is the sandbox's current state (its port can change at a restart
// when another process took it meanwhile).
func state(t testing.TB) sandbox.State {
	t.Helper()
	st, err := env.box.LoadState()
	if err != nil {
		t.Fatalf("sandbox state: %v", err)
	}
	return st
}

// adminDSN is the checker's connection string: the superuser over the
// sandbox's Unix socket.
func adminDSN(t testing.TB) string {
	return env.box.DSN(state(t), sandbox.Database)
}

// checkerApp is the application_name of the suite's own sessions, so the
// stray-session check can tell them from the tool's.
const checkerApp = "hishamos-perf-faults"

// connect opens a session of the suite's own on the sandbox's database.
func connect(ctx context.Context, dsn string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.RuntimeParams["application_name"] = checkerApp
	cfg.ConnectTimeout = 5 * time.Second
	return pgx.ConnectConfig(ctx, cfg)
}

// admin opens a checker session, closed when the test ends.
func admin(t testing.TB) *pgx.Conn {
	t.Helper()
	conn, err := connect(context.Background(), adminDSN(t))
	if err != nil {
		t.Fatalf("checker: connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// toolResult is what one run of the binary did.
type toolResult struct {
	code           int
	stdout, stderr string
	took           time.Duration
	// hung is set when the run had to be killed at its deadline.
	hung bool
}

// runTool runs the binary with --dsn set to the sandbox's TCP DSN, which
// carries the password the output must never show.
func runTool(ctx context.Context, limit time.Duration, args ...string) toolResult {
	st, err := env.box.LoadState()
	if err != nil {
		return toolResult{code: -1, stderr: err.Error()}
	}
	return runToolDSN(ctx, limit, env.box.TCPDSN(st, sandbox.Database), args...)
}

func runToolDSN(ctx context.Context, limit time.Duration, dsn string, args ...string) toolResult {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, env.bin, append([]string{"--dsn", dsn, "--no-color"}, args...)...)
	cmd.Dir = env.work
	// A clean environment: no DSN from the caller's shell, no sandbox of
	// the user's.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + env.work, "NO_COLOR=1",
		"HISHAMOS_PERF_SANDBOX_DIR=" + filepath.Join(env.work, "no-sandbox")}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	res := toolResult{stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		res.code, res.hung = -1, true
	case err == nil:
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	default:
		res.code = -1
		res.stderr += err.Error()
	}
	return res
}

// started is a run of the binary in the background.
type started struct {
	done chan toolResult
}

// startTool runs the binary in the background; wait for it with wait.
func startTool(limit time.Duration, args ...string) *started {
	s := &started{done: make(chan toolResult, 1)}
	go func() { s.done <- runTool(context.Background(), limit, args...) }()
	return s
}

func (s *started) wait() toolResult { return <-s.done }

// finished reports whether the run has ended already (without waiting),
// putting its result back for wait.
func (s *started) finished() (toolResult, bool) {
	select {
	case r := <-s.done:
		s.done <- r
		return r, true
	default:
		return toolResult{}, false
	}
}

// restart stops the server (fast shutdown: every session is terminated)
// and starts it again, waiting until it accepts connections.
func restart(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := env.box.Down(ctx); err != nil {
		t.Fatalf("stop the server: %v", err)
	}
	// Leave the server down a moment, as a real restart does.
	time.Sleep(300 * time.Millisecond)
	if _, err := env.box.Up(ctx); err != nil {
		t.Fatalf("start the server again: %v", err)
	}
	waitUp(t)
}

// waitUp waits until the server answers a query.
func waitUp(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, err := connect(ctx, adminDSN(t))
		if err == nil {
			err = conn.QueryRow(ctx, "SELECT 1").Scan(new(int))
			conn.Close(ctx)
		}
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server is not up a minute after its restart: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitFor polls query (one boolean, or one row for "found") on a fresh
// checker session until it is true, the run ends, or limit passes. It
// reports whether the condition was seen while the run was still going.
func waitFor(t testing.TB, run *started, limit time.Duration, query string, args ...any) bool {
	t.Helper()
	deadline := time.Now().Add(limit)
	conn, err := connect(context.Background(), adminDSN(t))
	if err != nil {
		t.Fatalf("checker: connect: %v", err)
	}
	defer conn.Close(context.Background())
	for time.Now().Before(deadline) {
		if _, done := run.finished(); done {
			return false
		}
		var ok bool
		err := conn.QueryRow(context.Background(), query, args...).Scan(&ok)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			t.Fatalf("checker: %v", err)
		}
		if ok {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// toolBusy is true while a session of the tool runs a statement matching
// the LIKE pattern $1.
const toolBusy = `SELECT EXISTS (SELECT FROM pg_stat_activity
	WHERE application_name = 'hishamos-perf' AND state = 'active' AND query ILIKE $1 AND pid <> pg_backend_pid())`

// writeFile writes a file under the work folder and returns its path.
func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(env.work, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// lines is s without its empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}
