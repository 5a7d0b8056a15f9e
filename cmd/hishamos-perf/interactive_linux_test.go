//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// ptyWait bounds how long the test waits for the checklist to appear or
// the command to end: a guard against a hang, not a measurement.
const ptyWait = 3 * time.Minute

// pty is a pseudo-terminal: the test types into master and reads the
// screen from it; the command gets tty as its terminal.
type pty struct {
	master, tty *os.File
	mu          sync.Mutex
	screen      bytes.Buffer
}

// openPTY opens a pseudo-terminal of 120 columns, closed when the test
// ends, and keeps what the command draws on it.
func openPTY(t *testing.T) *pty {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 120})
	p := &pty{master: m, tty: s}
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := m.Read(buf)
			p.mu.Lock()
			p.screen.Write(buf[:k])
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { s.Close(); m.Close() })
	return p
}

// waitFor waits until the screen shows want.
func (p *pty) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(ptyWait)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		seen := strings.Contains(p.screen.String(), want)
		p.mu.Unlock()
		if seen {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the terminal never showed %q:\n%q", want, p.text())
}

func (p *pty) text() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.screen.String()
}

// interactiveWorkload has statements that each want an index of their
// own, so there are proposals to choose among.
const interactiveWorkload = `SELECT id FROM items WHERE account_id = $1 ORDER BY created_at DESC LIMIT 10;
SELECT count(*) FROM items WHERE state = 'open' AND created_at > now() - interval '1 day';
SELECT id FROM items WHERE created_at BETWEEN $1 AND $2 ORDER BY created_at;
`

// TestIndexesProposeInteractiveOnATerminal drives indexes propose
// --interactive through a pseudo-terminal as a person would: the
// checklist appears once the workload is costed, ↓ and space untick the
// second proposal, enter keeps the rest, and the saved file and the output
// hold exactly those; q leaves with nothing saved (exit code 130); without
// a terminal the flag is refused before anything is costed.
func TestIndexesProposeInteractiveOnATerminal(t *testing.T) {
	dsn := proposeDB(t)
	workload := proposeFile(t, "w.sql", interactiveWorkload)
	args := func(save string, more ...string) []string {
		return append(append([]string{"--dsn", dsn, "--format", "json", "indexes", "propose", "--workload", workload, "--interactive", "--save", save}, more...), withoutHypoPG()...)
	}

	// What propose proposes, chosen by nobody.
	all := filepath.Join(t.TempDir(), "all.json")
	if r := cli(t, append([]string{"--dsn", dsn, "-q", "indexes", "propose", "--workload", workload, "--save", all}, withoutHypoPG()...)...); r.code != exitOK {
		t.Fatalf("propose: exit %d\n%s", r.code, r.stderr)
	}
	var whole struct {
		Proposals []struct{ Name string } `json:"proposals"`
	}
	b, _ := os.ReadFile(all)
	if err := json.Unmarshal(b, &whole); err != nil || len(whole.Proposals) < 2 {
		t.Fatalf("the workload gives %d proposals (%v), want two or more to choose among", len(whole.Proposals), err)
	}

	p := openPTY(t)
	save := filepath.Join(t.TempDir(), "chosen.json")
	var stdout bytes.Buffer
	done := make(chan int)
	go func() { done <- run(args(save, "--no-color"), p.tty, &stdout, p.tty) }()
	p.waitFor(t, fmt.Sprintf("Keep which of the %d proposed indexes?", len(whole.Proposals)))
	p.master.WriteString("\x1b[B")
	p.waitFor(t, "> [x]  2")
	p.master.WriteString(" ")
	p.waitFor(t, fmt.Sprintf("%d of %d ticked", len(whole.Proposals)-1, len(whole.Proposals)))
	p.master.WriteString("\r")
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("exit %d\n%s", code, p.text())
		}
	case <-time.After(ptyWait):
		t.Fatalf("propose --interactive did not end after enter:\n%q", p.text())
	}
	var chosen, printed struct {
		Proposals []struct{ Name string } `json:"proposals"`
		Notes     []string                `json:"notes"`
	}
	b, _ = os.ReadFile(save)
	if err := json.Unmarshal(b, &chosen); err != nil {
		t.Fatalf("the saved set: %v\n%s", err, b)
	}
	if err := json.Unmarshal(stdout.Bytes(), &printed); err != nil {
		t.Fatalf("the output: %v\n%s", err, stdout.String())
	}
	var want []string
	for i, pr := range whole.Proposals {
		if i != 1 {
			want = append(want, pr.Name)
		}
	}
	for what, got := range map[string][]struct{ Name string }{"saved": chosen.Proposals, "printed": printed.Proposals} {
		var names []string
		for _, pr := range got {
			names = append(names, pr.Name)
		}
		if strings.Join(names, " ") != strings.Join(want, " ") {
			t.Errorf("%s: %v, want every proposal but the second: %v", what, names, want)
		}
	}
	if !strings.Contains(strings.Join(chosen.Notes, "\n"), fmt.Sprintf("kept %d of the %d proposals", len(want), len(whole.Proposals))) {
		t.Errorf("the saved set does not say it was chosen: %v", chosen.Notes)
	}

	// In colour (lipgloss's styles) when the terminal allows; q leaves
	// with nothing saved, exit code 130.
	p = openPTY(t)
	save = filepath.Join(t.TempDir(), "left.json")
	go func() { done <- run(args(save), p.tty, &stdout, p.tty) }()
	p.waitFor(t, "Keep which of the")
	p.waitFor(t, "\x1b[1;32m[x]\x1b[0m")
	p.master.WriteString("q")
	select {
	case code := <-done:
		if code != exitInterrupted {
			t.Errorf("q: exit %d, want %d\n%s", code, exitInterrupted, p.text())
		}
	case <-time.After(ptyWait):
		t.Fatalf("propose --interactive did not end after q:\n%q", p.text())
	}
	if _, err := os.Stat(save); err == nil {
		t.Error("q saved the proposals")
	}

	// No terminal: refused at once, in one line.
	r := cli(t, args(filepath.Join(t.TempDir(), "x.json"))...)
	if r.code != exitUsage || !strings.Contains(r.stderr, "--interactive needs a terminal") || strings.Contains(r.stderr, "statements from") {
		t.Errorf("without a terminal: exit %d\n%s", r.code, r.stderr)
	}
}
