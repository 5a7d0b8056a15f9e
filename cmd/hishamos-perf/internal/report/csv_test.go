package report

import (
	"bytes"
	"fmt"
	"strconv"
	"testing"

	"github.com/hishamos/hishamos-perf/analyze"
	"github.com/hishamos/hishamos-perf/bench"
	"github.com/hishamos/hishamos-perf/demo"
	"github.com/hishamos/hishamos-perf/indexes"
)

// numericColumns checks that every value of the named columns of a CSV
// table parses as a number (or is empty), and returns how many did.
func numericColumns(t *testing.T, table [][]string, names ...string) int {
	t.Helper()
	n := 0
	for _, name := range names {
		col := -1
		for i, h := range table[0] {
			if h == name {
				col = i
			}
		}
		if col < 0 {
			t.Errorf("no column %q in %q", name, table[0])
			continue
		}
		for _, row := range table[1:] {
			if row[col] == "" {
				continue
			}
			if _, err := strconv.ParseFloat(row[col], 64); err != nil {
				t.Errorf("column %q holds %q, not a number", name, row[col])
			}
			n++
		}
	}
	return n
}

// TestCSVOfSandboxResults writes the analyze, bench and propose documents
// captured from sandbox runs (testdata/golden) as CSV: every number column
// holds numbers, in the unit its header says, and equal to the document's.
func TestCSVOfSandboxResults(t *testing.T) {
	write := func(doc *Doc) [][][]string {
		var buf bytes.Buffer
		if err := (&Writer{Out: &buf, Format: CSV}).Write(doc); err != nil {
			t.Fatal(err)
		}
		_, tables := readCSV(t, buf.String())
		return tables
	}

	var ar analyze.Report
	load(t, "analyze.json", &ar)
	at := write(Analyze(&ar, CSV))
	if len(at) != 3 {
		t.Fatalf("analyze: %d tables, want statements, findings, indexes", len(at))
	}
	if n := numericColumns(t, at[0], "rank", "calls", "total ms", "mean ms", "share %", "rows/c", "hit%", "temp blocks", "queryid"); n == 0 {
		t.Error("analyze: no numbers in the statements table")
	}
	if got, want := at[0][1][3], strconv.FormatFloat(ar.Statements[0].TotalTime, 'f', -1, 64); got != want {
		t.Errorf("analyze: total ms of #1 is %s, the document says %s", got, want)
	}
	if got := at[0][1][len(at[0][1])-1]; got != ar.Statements[0].Query {
		t.Errorf("analyze: the query column holds %q, not the whole statement", got)
	}
	if len(at[2])-1 != len(ar.Indexes) {
		t.Errorf("analyze: %d index rows, want all %d (text shows %d)", len(at[2])-1, len(ar.Indexes), maxIndexRows)
	}
	numericColumns(t, at[2], "size bytes", "scans")

	var br bench.Report
	load(t, "bench-base.json", &br)
	bt := write(Bench(&br, BenchOptions{}))
	numericColumns(t, bt[0], "calls", "p50 ms", "p95 ms", "p99 ms", "mean ms", "rows/call", "buffers/call")
	var cmpTable [][]string
	for _, tb := range bt {
		if tb[0][0] == "statement" && tb[0][1] == "targeted" {
			cmpTable = tb
		}
	}
	if cmpTable == nil {
		t.Fatal("bench: no comparison table")
	}
	numericColumns(t, cmpTable, "before p50 ms", "after p50 ms", "change %", "ci low %", "ci high %", "p", "before buffers/call", "after buffers/call", "buffers change %")
	if got, want := cmpTable[1][4], strconv.FormatFloat(br.Comparison[0].MedianChangePct, 'f', -1, 64); got != want {
		t.Errorf("bench: change %% of %s is %s, the document says %s", br.Comparison[0].Name, got, want)
	}

	var pr indexes.Result
	load(t, "propose.json", &pr)
	pt := write(Propose(&pr, true))
	numericColumns(t, pt[1], "size bytes", "index writes/s", "statements", "best %")
	if got, want := pt[1][1][len(pt[1][1])-1], pr.Proposals[0].Definition; got != want {
		t.Errorf("propose: definition %q, want %q", got, want)
	}
	fields := map[string]string{}
	for _, row := range pt[0][1:] {
		fields[row[0]] = row[1]
	}
	if fields["cost before"] != strconv.FormatFloat(pr.Workload.CostBefore, 'f', -1, 64) || fields["index bytes"] != fmt.Sprint(pr.Workload.IndexBytes) {
		t.Errorf("propose: the workload's fields are %v", fields)
	}
}

// TestCSVOfDemo: the demo's tables carry the measured milliseconds and
// percentages as numbers, and the statement's name without the mark that
// says it is targeted (a column of its own).
func TestCSVOfDemo(t *testing.T) {
	var dr demo.Report
	load(t, "demo.json", &dr)
	var buf bytes.Buffer
	if err := (&Writer{Out: &buf, Format: CSV}).Write(Demo(&dr)); err != nil {
		t.Fatal(err)
	}
	_, tables := readCSV(t, buf.String())
	latency, verdicts := tables[len(tables)-2], tables[len(tables)-1]
	numericColumns(t, latency, "before p50 ms", "seed p50 ms", "advisor p50 ms", "buffers before", "buffers seed", "buffers advisor")
	numericColumns(t, verdicts, "seed better %", "advisor better %")
	for i, s := range dr.Statements {
		row := latency[i+1]
		if row[0] != s.Name || row[1] != strconv.FormatBool(s.Targeted) || row[2] != strconv.FormatFloat(s.BeforeP50Ms, 'f', -1, 64) {
			t.Errorf("row %d = %q; want %s, %v, %v", i, row[:3], s.Name, s.Targeted, s.BeforeP50Ms)
		}
	}
}
