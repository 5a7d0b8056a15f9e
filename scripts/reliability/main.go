// Command reliability is `make reliability`: the reliability and security
// work of the toolkit, counted in one table.
//
// It runs every fuzz target for -fuzztime and reads how many inputs each
// executed; it runs the fault suite (faults/), the bad-input tests, the
// least-privilege tests and the secrets and quoting tests with `go test
// -json` and counts the cases that ran and passed; and it adds up the rows
// the fault suite found lost (each fault checks every HishamOS table's row
// count and checksum after it). It exits 1 when a fuzz target found a
// crasher, a case failed, a fault was not injected or rows were lost.
//
// The fuzz targets come as arguments, package:Target, the Makefile's
// FUZZTARGETS list, so `make fuzz` and this report run the same ones.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hishamos/hishamos-perf/internal/render"
)

// category is a set of tests counted together: top-level tests matched by
// name in some packages; each leaf case (a subtest, or the test itself when
// it has none) counts once.
type category struct {
	name  string
	tests map[string]string // package path -> top-level test name regexp
}

var categories = []category{
	{"faults injected", map[string]string{
		"./faults": `^TestFaults$`,
		// Issue 17's faults of a partitioned index's apply, each on the
		// real server with the database's fingerprint compared.
		"./migrate": `^(TestPartitionedApplyKilledMidwayThenFinished|TestPartitionedApplyPartitionDetachedMeanwhile|TestPartitionedApplyLockHeldOnOnePartition|TestPartitionedParentWithNoPartitions)$`,
	}},
	{"bad inputs", map[string]string{
		"./cmd/hishamos-perf": `^(TestBadInput|TestBenchBadInput|TestMigrateBadInput|TestIndexesProposeBadInput|TestProfileErrorsNameFileAndLine|TestWorkloadFlagRefusesWhatACommandCannotUse|TestWorkloadFlagReadsTheSameEverywhere)$`,
		"./profiles":          `^(TestParseErrors|TestBindErrors)$`,
		"./indexes":           `^(TestEmptyWorkload|TestMissingTable|TestNoHypoPG|TestReadOnlySession|TestCandidateTheServerRefuses|TestParseSQLBadStatementOthersGoOn|TestChooseByNumberRangeAndName)$`,
		"./analyze":           `^(TestParsePlanErrors|TestAnalyzePlanErrorsStayOnTheirRow|TestSplitSQLAnnotations)$`,
		"./bench":             `^(TestBadStatementIsBadInput|TestMeasureRefusesBadOptionsFirst)$`,
		"./internal/pg":       `^TestParseConfigBadDSN$`,
		"./internal/dataset":  `^TestLoadRejectsBadScale$`,
	}},
	{"privilege cases", map[string]string{
		"./cmd/hishamos-perf": `^(TestLeastPrivilege.*|TestTooLittlePrivilegeNamesTheGrant)$`,
		"./analyze":           `^TestStatsPrivilege$`,
		"./indexes":           `^TestStatStatementsSkipsWhatTheRoleCannotRead$`,
		"./internal/pg":       `^TestFixFor.*$`,
	}},
	{"adversarial cases", map[string]string{
		// Issue 14's hostile and careless trial, each case on the real
		// server with every table, sequence and large object compared
		// before and after (testdb.Fingerprint).
		"./bench":             `^TestAdversarial.*$`,
		"./cmd/hishamos-perf": `^TestAdversarial.*$`,
		"./faults":            `^TestAdversarial.*$`,
		"./indexes":           `^TestAdversarial.*$`,
		"./internal/render":   `^TestAdversarial.*$`,
		"./internal/sqlscan":  `^TestAdversarial.*$`,
		"./migrate":           `^TestAdversarial.*$`,
	}},
	{"secrets and injection", map[string]string{
		"./cmd/hishamos-perf": `^(TestPasswordsNeverPrinted|TestIdentifiersQuoted|TestWorkloadCannotWrite)$`,
		"./internal/pg":       `^TestRedactTextSecrets$`,
		"./bench":             `^(TestWorkloadRefusesOutsideTransaction|TestProfileSelectIntoIsAWrite)$`,
		"./migrate":           `^TestPlanQuotesOddNames$`,
		"./indexes":           `^(TestQuotedNames|TestQuoting)$`,
		"./analyze":           `^TestQuoteIdent$`,
		"./internal/sqlscan":  `^(TestOutsideTransaction|TestCanonicalIndex|TestParseKey|TestParsePredicate)$`,
	}},
}

func main() { os.Exit(run()) }

func run() int {
	fuzztime := flag.String("fuzztime", "60s", "how long each fuzz target runs (0 skips fuzzing)")
	parallel := flag.Int("parallel", 1, "fuzzing workers per target")
	format := flag.String("format", "table", "table, json or markdown")
	flag.Parse()
	f := render.Format(*format)
	if f != render.FormatTable && f != render.FormatJSON && f != render.FormatMarkdown {
		fmt.Fprintf(os.Stderr, "reliability: unknown format %q: use table, json or markdown\n", *format)
		return 2
	}
	start := time.Now()
	rep := report{Schema: "hishamos-perf/reliability/v1"}

	if *fuzztime != "0" && *fuzztime != "0s" {
		for _, t := range flag.Args() {
			pkg, name, ok := strings.Cut(t, ":")
			if !ok {
				fmt.Fprintf(os.Stderr, "reliability: fuzz target %q is not package:Target\n", t)
				return 2
			}
			fmt.Fprintf(os.Stderr, "fuzz %s (%s, %s)\n", name, pkg, *fuzztime)
			rep.Fuzz = append(rep.Fuzz, fuzz(pkg, name, *fuzztime, *parallel))
		}
	}

	fmt.Fprintln(os.Stderr, "tests: faults, bad inputs, privilege, secrets and injection")
	leaves, faults, testErr := tests()
	if testErr != nil {
		fmt.Fprintln(os.Stderr, "reliability:", testErr)
		return 2
	}
	for _, c := range categories {
		rep.Cases = append(rep.Cases, count(c, leaves))
	}
	rep.Faults = faults
	for _, fl := range faults {
		rep.RowsLost += fl.RowsLost
	}
	rep.Seconds = time.Since(start).Seconds()

	r := render.New(os.Stdout, f, false, os.Getenv)
	if err := r.Render(rep, rep.tables()...); err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		return 2
	}
	if !rep.ok() {
		return 1
	}
	return 0
}

type report struct {
	Schema   string       `json:"schema"`
	Fuzz     []fuzzResult `json:"fuzz"`
	Cases    []caseCount  `json:"cases"`
	Faults   []faultLine  `json:"faults"`
	RowsLost int64        `json:"rows_lost"`
	Seconds  float64      `json:"seconds"`
}

type fuzzResult struct {
	Package string `json:"package"`
	Target  string `json:"target"`
	Execs   int64  `json:"execs"`
	Seconds int    `json:"seconds"`
	Passed  bool   `json:"passed"`
	Detail  string `json:"detail,omitempty"`
}

type caseCount struct {
	Category string   `json:"category"`
	Run      int      `json:"run"`
	Passed   int      `json:"passed"`
	Skipped  int      `json:"skipped"`
	Failed   []string `json:"failed,omitempty"`
	Skips    []string `json:"skips,omitempty"`
}

type faultLine struct {
	Test     string `json:"test"`
	Fault    string `json:"fault"`
	Injected bool   `json:"injected"`
	Survived bool   `json:"survived"`
	RowsLost int64  `json:"rows_lost"`
}

func (r report) ok() bool {
	for _, f := range r.Fuzz {
		if !f.Passed {
			return false
		}
	}
	for _, c := range r.Cases {
		if len(c.Failed) > 0 || c.Run == 0 {
			return false
		}
	}
	for _, f := range r.Faults {
		if !f.Survived {
			return false
		}
	}
	return r.RowsLost == 0
}

func (r report) tables() []render.Table {
	t := render.Table{Title: "Reliability", Header: []string{"check", "count", "result"}, Right: []int{1}}
	add := func(check, count, result string, good bool) {
		t.Rows = append(t.Rows, []string{check, count, result})
		if good {
			t.Tones = append(t.Tones, render.Good)
		} else {
			t.Tones = append(t.Tones, render.Bad)
		}
	}
	var execs int64
	crashed := 0
	for _, f := range r.Fuzz {
		execs += f.Execs
		if !f.Passed {
			crashed++
		}
	}
	if len(r.Fuzz) > 0 {
		add("fuzz targets", strconv.Itoa(len(r.Fuzz)), fmt.Sprintf("%d without a crash", len(r.Fuzz)-crashed), crashed == 0)
		add("fuzz executions", thousands(execs), "inputs tried in all", crashed == 0)
	}
	injected, survived := 0, 0
	for _, f := range r.Faults {
		if f.Injected {
			injected++
		}
		if f.Survived {
			survived++
		}
	}
	for _, c := range r.Cases {
		if c.Category == "faults injected" {
			add("faults injected", strconv.Itoa(injected), fmt.Sprintf("%d survived, %d skipped", survived, c.Skipped),
				survived == injected && len(c.Failed) == 0 && injected > 0)
			continue
		}
		add(c.Category+" tried", strconv.Itoa(c.Run), fmt.Sprintf("%d handled, %d skipped", c.Passed, c.Skipped),
			len(c.Failed) == 0 && c.Run > 0)
	}
	add("rows lost", strconv.FormatInt(r.RowsLost, 10), "every HishamOS table's count and checksum compared after each fault", r.RowsLost == 0)

	tables := []render.Table{t}
	if len(r.Fuzz) > 0 {
		ft := render.Table{Title: "Fuzz targets", Header: []string{"target", "package", "executions", "seconds", "result"}, Right: []int{2, 3}}
		for _, f := range r.Fuzz {
			res := "ok"
			switch {
			case !f.Passed:
				res = "FAILED: " + f.Detail
			case f.Detail != "":
				res = f.Detail
			}
			ft.Rows = append(ft.Rows, []string{f.Target, f.Package, thousands(f.Execs), strconv.Itoa(f.Seconds), res})
		}
		tables = append(tables, ft)
	}
	if len(r.Faults) > 0 {
		flt := render.Table{Title: "Faults", Header: []string{"fault", "injected", "survived", "rows lost"}, Right: []int{3}}
		for _, f := range r.Faults {
			flt.Rows = append(flt.Rows, []string{f.Fault, yes(f.Injected), yes(f.Survived), strconv.FormatInt(f.RowsLost, 10)})
		}
		tables = append(tables, flt)
	}
	var notes []string
	for _, c := range r.Cases {
		for _, f := range c.Failed {
			notes = append(notes, "FAILED "+f)
		}
		for _, s := range c.Skips {
			notes = append(notes, "skipped "+s)
		}
	}
	tables[len(tables)-1].Note = strings.Join(notes, "\n")
	return tables
}

// thousands writes n with commas between groups of three digits.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

var execsRe = regexp.MustCompile(`execs: (\d+)`)

// fuzz runs one target and reads the last execution count it printed.
func fuzz(pkg, name, fuzztime string, parallel int) fuzzResult {
	res := fuzzResult{Package: pkg, Target: name}
	corpus := filepath.Join(pkg, "testdata", "fuzz", name)
	before := entries(corpus)
	start := time.Now()
	cmd := exec.Command("go", "test", "-run", "^$", "-fuzz", "^"+name+"$", "-fuzztime", fuzztime,
		"-fuzzminimizetime", "2s", "-parallel", strconv.Itoa(parallel), pkg)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	res.Seconds = int(time.Since(start).Seconds())
	for _, m := range execsRe.FindAllStringSubmatch(out.String(), -1) {
		res.Execs, _ = strconv.ParseInt(m[1], 10, 64)
	}
	res.Passed = err == nil
	if err != nil {
		res.Detail = failure(out.String())
		if deadlineRace(out.String(), before, entries(corpus)) {
			res.Passed = true
			res.Detail = "ok; Go's coordinator then reported its fuzztime deadline (go.dev/issue/75804), no crasher written"
		}
	}
	return res
}

// deadlineRace reports whether a failed fuzz run is Go's own race at the
// end of -fuzztime (go.dev/issue/75804, fixed in Go 1.27): the coordinator
// reports "context deadline exceeded" though no input failed, and so no
// failing input was written to the corpus.
func deadlineRace(out string, before, after map[string]bool) bool {
	if !strings.Contains(out, "\n    context deadline exceeded\n") || strings.Contains(out, "Failing input written") {
		return false
	}
	for f := range after {
		if !before[f] {
			return false
		}
	}
	return true
}

// entries lists the files of a corpus folder.
func entries(dir string) map[string]bool {
	m := map[string]bool{}
	des, _ := os.ReadDir(dir)
	for _, d := range des {
		m[d.Name()] = true
	}
	return m
}

var failureRe = regexp.MustCompile(`\S+_test\.go:\d+: .*|Failing input written to \S+|panic: .*`)

// failure is what a failed fuzz run says went wrong: the test's message
// and where the failing input was written, else its last lines.
func failure(out string) string {
	if m := failureRe.FindAllString(out, 3); len(m) > 0 {
		return strings.Join(m, " | ")
	}
	return lastLines(out, 3)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// event is one line of `go test -json`.
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

type leaf struct {
	pkg, test string
	action    string // pass, fail or skip
	why       string // a skip's reason
}

var faultRe = regexp.MustCompile(`reliability: fault=(\S+) injected=(true|false) survived=(true|false) rows_lost=(\d+)`)

// tests runs every category's tests in one `go test -json` and returns
// their leaf cases and the fault suite's lines.
func tests() ([]leaf, []faultLine, error) {
	pkgs := map[string]bool{}
	var names []string
	for _, c := range categories {
		for p, re := range c.tests {
			pkgs[p] = true
			names = append(names, strings.TrimSuffix(strings.TrimPrefix(re, "^"), "$"))
		}
	}
	args := []string{"test", "-count=1", "-json", "-v", "-timeout", "30m", "-run", "^(" + strings.Join(names, "|") + ")$"}
	var list []string
	for p := range pkgs {
		list = append(list, p)
	}
	sort.Strings(list)
	cmd := exec.Command("go", append(args, list...)...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	final := map[string]*leaf{}
	var order []string
	var faults []faultLine
	var failedPkgs []string
	output := map[string]string{} // a test's output, for skip reasons
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		if e.Test == "" {
			if e.Action == "fail" {
				failedPkgs = append(failedPkgs, e.Package)
			}
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "output":
			if m := faultRe.FindStringSubmatch(e.Output); m != nil {
				lost, _ := strconv.ParseInt(m[4], 10, 64)
				faults = append(faults, faultLine{Test: e.Test, Fault: m[1], Injected: m[2] == "true", Survived: m[3] == "true", RowsLost: lost})
			}
			if len(output[key]) < 4096 {
				output[key] += e.Output
			}
		case "pass", "fail", "skip":
			if _, ok := final[key]; !ok {
				order = append(order, key)
			}
			final[key] = &leaf{pkg: e.Package, test: e.Test, action: e.Action, why: skipReason(output[key])}
		}
	}
	// A failing package prints a fail event for itself too; the cases say
	// which. Its exit status is not an error here.
	if err := cmd.Wait(); err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			return nil, nil, err
		}
	}
	var leaves []leaf
	for _, p := range failedPkgs {
		// A package that failed with no failed case did not build or
		// crashed: one failed leaf stands for all it did not run.
		failedCase := false
		for _, l := range final {
			failedCase = failedCase || (l.pkg == p && l.action == "fail")
		}
		if !failedCase {
			leaves = append(leaves, leaf{pkg: p, test: "(package did not build or run)", action: "fail"})
		}
	}
	for _, k := range order {
		l := final[k]
		parent := false
		for _, o := range order {
			if strings.HasPrefix(o, k+"/") {
				parent = true
				break
			}
		}
		if !parent {
			leaves = append(leaves, *l)
		}
	}
	return leaves, faults, nil
}

func skipReason(out string) string {
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "=== ") || strings.HasPrefix(line, "--- ") {
			continue
		}
		return line
	}
	return ""
}

// count tallies the leaves of c's tests.
func count(c category, leaves []leaf) caseCount {
	cc := caseCount{Category: c.name}
	for p, re := range c.tests {
		rx := regexp.MustCompile(re)
		pkg := strings.TrimPrefix(p, ".")
		for _, l := range leaves {
			top, _, _ := strings.Cut(l.test, "/")
			if !strings.HasSuffix(l.pkg, pkg) || (!rx.MatchString(top) && !strings.HasPrefix(top, "(")) {
				continue
			}
			cc.Run++
			switch l.action {
			case "pass":
				cc.Passed++
			case "skip":
				cc.Skipped++
				cc.Skips = append(cc.Skips, l.test+": "+l.why)
			default:
				cc.Failed = append(cc.Failed, l.pkg+" "+l.test)
			}
		}
	}
	sort.Strings(cc.Failed)
	sort.Strings(cc.Skips)
	return cc
}
