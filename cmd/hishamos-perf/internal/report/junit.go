package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/hishamos/hishamos-perf/bench"
)

// junitSuites is the JUnit XML layout CI systems read (the Ant schema
// GitHub, GitLab and Jenkins take).
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// JUnit writes a bench report as JUnit XML: a test case per statement
// (failed when it failed every call or a gate failed on it; its verdict in
// system-out) and one per gate (failed with every failure it found).
func JUnit(w io.Writer, r *bench.Report) error {
	suite := junitSuite{Name: "hishamos-perf bench " + r.Workload.Name, Time: fmt.Sprintf("%.3f", r.ElapsedMs/1000)}
	failed := map[string][]string{}
	if r.Gate != nil {
		for _, f := range r.Gate.Failures {
			if f.Statement != "" {
				failed[f.Statement] = append(failed[f.Statement], f.Message)
			}
		}
	}
	cmps := map[string]*bench.Comparison{}
	for i := range r.Comparison {
		cmps[r.Comparison[i].Name] = &r.Comparison[i]
	}
	for _, s := range r.Statements {
		var total float64
		for _, ms := range s.Samples {
			total += ms
		}
		tc := junitCase{Name: s.Name, Classname: "bench.statement", Time: fmt.Sprintf("%.3f", total/1000)}
		out := fmt.Sprintf("%d calls, %d errors, p50 %.3f ms, p95 %.3f ms", s.Calls, s.Errors, s.P50Ms, s.P95Ms)
		if c := cmps[s.Name]; c != nil {
			out += fmt.Sprintf("; %s: %s", c.Verdict, c.Reason)
		}
		tc.SystemOut = out
		switch {
		case s.Calls == 0 && s.Errors > 0:
			tc.Failure = &junitFailure{Message: "failed on every call", Type: "error", Text: s.FirstError}
		case len(failed[s.Name]) > 0:
			tc.Failure = &junitFailure{Message: failed[s.Name][0], Type: "gate", Text: strings.Join(failed[s.Name], "\n")}
		}
		suite.Cases = append(suite.Cases, tc)
	}
	if g := r.Gate; g != nil {
		gates := []struct {
			name  string
			limit *float64
		}{{bench.GateExpect, g.ExpectPct}, {bench.GateMaxRegression, g.MaxRegressionPct}}
		for _, gt := range gates {
			if gt.limit == nil {
				continue
			}
			tc := junitCase{Name: fmt.Sprintf("%s %s%%", gt.name, trimFloat(*gt.limit)), Classname: "bench.gate", Time: "0"}
			var msgs []string
			for _, f := range g.Failures {
				if f.Gate == gt.name {
					msgs = append(msgs, f.Message)
				}
			}
			if len(msgs) > 0 {
				tc.Failure = &junitFailure{Message: fmt.Sprintf("%d failures", len(msgs)), Type: "gate", Text: strings.Join(msgs, "\n")}
			}
			suite.Cases = append(suite.Cases, tc)
		}
	}
	suite.Tests = len(suite.Cases)
	for _, c := range suite.Cases {
		if c.Failure != nil {
			suite.Failures++
		}
	}
	doc := junitSuites{Name: "hishamos-perf", Tests: suite.Tests, Failures: suite.Failures, Suites: []junitSuite{suite}}
	b, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("report: junit: %w", err)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// trimFloat writes v with at most four decimals and no trailing zeros:
// 40, 2.5, 0.01.
func trimFloat(v float64) string {
	return strings.TrimRight(strings.TrimRight(strconv.FormatFloat(v, 'f', 4, 64), "0"), ".")
}
