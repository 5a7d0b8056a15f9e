package faults

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hishamos/hishamos-perf/internal/sandbox"
)

// Exit codes of a run a signal stopped: 128 + the signal's number.
const (
	exitInterrupted = 130
	exitTerminated  = 143
)

// stopWithin bounds how long the tool may take to exit after a signal
// before the test calls it hung: the server needs up to pg.CancelGrace to
// confirm a cancel, and a pass of the lexer over a 12 MB statement takes a
// few seconds that cannot be interrupted.
const stopWithin = 30 * time.Second

// hugeINValues is how many values the IN list of the signal tests holds:
// 12 MB of SQL, the size of the list in issue 14 (10.9 MB), whose plan
// takes the server seconds to make.
const hugeINValues = 1_500_000

// finishINValues is the IN list explain must finish: 2.2 MB, planned in
// about a second, that took the old quadratic wrapper minutes.
const finishINValues = 300_000

// inListFile writes a .sql file of one SELECT with an IN list of n values
// under the work folder and returns its path.
func inListFile(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("SELECT * FROM workflows_workflowstep WHERE id IN (")
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(i))
	}
	b.WriteString(");\n")
	return writeFile(t, "in-"+strconv.Itoa(n)+".sql", b.String())
}

// process is a run of the binary the test can send signals to.
type process struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
	err            error
}

// startProcess starts the binary against the suite's sandbox, as runTool
// does, but hands back the process.
func startProcess(t *testing.T, args ...string) *process {
	t.Helper()
	st := state(t)
	p := &process{done: make(chan struct{})}
	p.cmd = exec.Command(env.bin, append([]string{"--dsn", env.box.TCPDSN(st, sandbox.Database), "--no-color"}, args...)...)
	p.cmd.Dir = env.work
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + env.work, "NO_COLOR=1",
		"HISHAMOS_PERF_SANDBOX_DIR=" + filepath.Join(env.work, "no-sandbox")}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// started adapts the process to waitFor, which stops waiting once the run
// has ended.
func (p *process) started() *started {
	s := &started{done: make(chan toolResult, 1)}
	go func() {
		<-p.done
		s.done <- toolResult{}
	}()
	return s
}

// wait waits for the process to end, at most limit, and returns what it did.
func (p *process) wait(limit time.Duration) toolResult {
	start := time.Now()
	select {
	case <-p.done:
	case <-time.After(limit):
		p.cmd.Process.Kill()
		<-p.done
		return toolResult{code: -1, hung: true, stdout: p.stdout.String(), stderr: p.stderr.String(), took: time.Since(start)}
	}
	res := toolResult{stdout: p.stdout.String(), stderr: p.stderr.String(), took: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case p.err == nil:
	case errors.As(p.err, &ee):
		res.code = ee.ExitCode()
	default:
		res.code, res.stderr = -1, res.stderr+p.err.Error()
	}
	return res
}

// explainActive is true while the tool's EXPLAIN of the IN list runs on
// the server.
const explainActive = `SELECT EXISTS (SELECT FROM pg_stat_activity
	WHERE application_name = 'hishamos-perf' AND state = 'active' AND query LIKE '%EXPLAIN%workflows_workflowstep%' AND pid <> pg_backend_pid())`

// toolIdle is true while the tool holds a session that runs nothing: after
// it read the file, while it lexes the statement before sending it.
const toolIdle = `SELECT EXISTS (SELECT FROM pg_stat_activity
	WHERE application_name = 'hishamos-perf' AND state = 'idle' AND pid <> pg_backend_pid())`

// TestAdversarialExplainSignals is issue 14's explain that ignored Ctrl-C:
// a 12 MB IN list, and SIGTERM or SIGINT while the server plans it or while
// the tool lexes it. The tool must exit 143 or 130 with one line on stderr,
// change nothing, and leave no session on the server.
func TestAdversarialExplainSignals(t *testing.T) {
	if env.skip != "" {
		t.Skip(env.skip)
	}
	file := inListFile(t, hugeINValues)
	before := takeSnapshot(t)
	for _, c := range []struct {
		name string
		when string // a waitFor query: the moment to send the signal
		sig  syscall.Signal
		code int
		says string
	}{
		{"SIGTERM while the server plans", explainActive, syscall.SIGTERM, exitTerminated, "terminated (SIGTERM)"},
		{"SIGINT while the server plans", explainActive, syscall.SIGINT, exitInterrupted, "interrupted"},
		{"SIGTERM while the tool lexes", toolIdle, syscall.SIGTERM, exitTerminated, "terminated (SIGTERM)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := &outcome{t: t, name: c.name}
			p := startProcess(t, "explain", "--file", file)
			if !waitFor(t, p.started(), 2*time.Minute, c.when) {
				res := p.wait(time.Second)
				t.Fatalf("the moment to send %s never came (exit %d, stderr %s)", c.sig, res.code, res.stderr)
			}
			if err := p.cmd.Process.Signal(c.sig); err != nil {
				t.Fatal(err)
			}
			res := p.wait(stopWithin)
			o.expectExit(res, c.code, c.says, "nothing was left half-made")
			if res.stdout != "" {
				o.fail("a run stopped before its plan wrote to stdout:\n%.300s", res.stdout)
			}
			o.checkInvariants(before, nil, false)
		})
	}
}

// TestAdversarialSecondSignalEndsTheProcess: the first SIGTERM asks the
// tool to stop; a second one, sent while the tool is still in a pass of the
// lexer that cannot be interrupted, ends the process at once by the
// signal's default action. The session it held goes with it.
func TestAdversarialSecondSignalEndsTheProcess(t *testing.T) {
	if env.skip != "" {
		t.Skip(env.skip)
	}
	file := inListFile(t, hugeINValues)
	before := takeSnapshot(t)
	o := &outcome{t: t, name: t.Name()}
	p := startProcess(t, "explain", "--file", file)
	if !waitFor(t, p.started(), 2*time.Minute, toolIdle) {
		res := p.wait(time.Second)
		t.Fatalf("the tool never connected (exit %d, stderr %s)", res.code, res.stderr)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(100 * time.Millisecond)
	p.cmd.Process.Signal(syscall.SIGTERM)
	res := p.wait(stopWithin)
	if res.hung {
		t.Fatalf("the tool did not stop after two SIGTERMs")
	}
	var ee *exec.ExitError
	if !errors.As(p.err, &ee) || !ee.Sys().(syscall.WaitStatus).Signaled() || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
		t.Errorf("the second SIGTERM did not end the process by its default action: %v (stderr %q)", p.err, res.stderr)
	}
	o.checkInvariants(before, nil, false)
}

// TestAdversarialExplainHugeINList: explain of an IN list of 300,000 values
// finishes; the text output elides the array literal, saying how many
// characters it left out, and the JSON output keeps it whole.
func TestAdversarialExplainHugeINList(t *testing.T) {
	if env.skip != "" {
		t.Skip(env.skip)
	}
	file := inListFile(t, finishINValues)
	res := runTool(t.Context(), 5*time.Minute, "explain", "--file", file)
	if res.code != 0 || res.hung {
		t.Fatalf("explain: exit %d (hung %t): %s", res.code, res.hung, res.stderr)
	}
	if len(res.stdout) > 20_000 {
		t.Errorf("the text output is %d bytes: the IN list was not elided", len(res.stdout))
	}
	if !strings.Contains(res.stdout, "characters") || !strings.Contains(res.stdout, "elided]…") ||
		!strings.Contains(res.stdout, "'{1,2,3,") || !strings.Contains(res.stdout, ",299999,300000}'") {
		t.Errorf("the plan does not show the list's start, end and what was elided:\n%s", res.stdout)
	}
	js := runTool(t.Context(), 5*time.Minute, "--format", "json", "explain", "--file", file)
	if js.code != 0 || js.hung {
		t.Fatalf("explain --format json: exit %d (hung %t): %s", js.code, js.hung, js.stderr)
	}
	// The plan's condition holds every value; the query holds them too.
	if strings.Contains(js.stdout, "elided") || !strings.Contains(js.stdout, ",149999,150000,150001,") {
		t.Errorf("the JSON output lost values of the IN list")
	}
}
