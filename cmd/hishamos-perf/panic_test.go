package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestAdversarialPanicIsOneLine: a panic anywhere on the command's
// goroutine reaches the user as one line and exit code 3, its stack only
// when HISHAMOS_PERF_DEBUG asks for it.
func TestAdversarialPanicIsOneLine(t *testing.T) {
	for _, debug := range []string{"", "1"} {
		var out, errOut bytes.Buffer
		a := &app{stdout: &out, stderr: &errOut, getenv: func(k string) string {
			if k == envDebug {
				return debug
			}
			return ""
		}, dsn: "postgres://app:hunter2@db/app"}
		code := a.guard(func() int {
			var m map[string][]int
			return m["x"][3] // index out of range
		})
		if code != exitDatabase {
			t.Errorf("debug %q: exit %d, want %d", debug, code, exitDatabase)
		}
		msg := errOut.String()
		if !strings.HasPrefix(msg, "hishamos-perf: internal error: runtime error: index out of range") {
			t.Errorf("debug %q: %q", debug, msg)
		}
		stack := strings.Contains(msg, "goroutine ")
		if lines := strings.Count(strings.TrimSpace(msg), "\n"); debug == "" && (stack || lines != 0 || !strings.Contains(msg, "please report it")) {
			t.Errorf("without %s: want one line asking for a report, got:\n%s", envDebug, msg)
		}
		if debug == "1" && !stack {
			t.Errorf("with %s=1: no stack:\n%s", envDebug, msg)
		}
		if strings.Contains(msg, "hunter2") {
			t.Errorf("the password was printed")
		}
	}
}
