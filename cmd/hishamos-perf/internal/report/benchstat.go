package report

import (
	"fmt"
	"io"
	"math"

	"golang.org/x/perf/benchfmt"

	"github.com/hishamos/hishamos-perf/bench"
)

// benchRecord is one line (or configuration) of Go benchmark output.
type benchRecord = benchfmt.Record

// Units of the Go benchmark lines.
const (
	unitNsPerOp      = "ns/op"
	unitBuffersPerOp = "buffers/op"
)

// Benchmarks returns a bench report in the Go benchmark format that
// golang.org/x/perf's benchstat reads: a line per measured call,
//
//	BenchmarkQuery/<statement> 1 <ns/op> <buffers/op>
//
// under configuration lines naming the workload, the server and the run.
// Every call is its own line (one iteration), so benchstat sees the very
// samples bench compared and computes the same medians and U tests.
// buffers/op is the statement's buffers per call, the same on every line,
// declared assume=exact. A report with a baseline writes it first under
// `run: before`, then the run under `run: after`: `benchstat -col run`
// puts them side by side.
func Benchmarks(rep *bench.Report) []benchfmt.Record {
	recs := []benchfmt.Record{&benchfmt.UnitMetadata{
		UnitMetadataKey: benchfmt.UnitMetadataKey{Unit: unitBuffersPerOp, Key: "assume"},
		OrigUnit:        unitBuffersPerOp, Value: "exact",
	}}
	if rep.Baseline != nil {
		recs = append(recs, runBenchmarks(rep.Baseline, "before")...)
		return append(recs, runBenchmarks(&rep.Run, "after")...)
	}
	return append(recs, runBenchmarks(&rep.Run, "")...)
}

func runBenchmarks(run *bench.Run, label string) []benchfmt.Record {
	cfg := []benchfmt.Config{
		{Key: "workload", Value: []byte(run.Workload.Name), File: true},
		{Key: "pg-version", Value: []byte(run.Environment.ServerVersion), File: true},
		{Key: "clients", Value: []byte(fmt.Sprint(run.Settings.Clients)), File: true},
		{Key: "seed", Value: []byte(fmt.Sprint(run.Settings.Seed)), File: true},
	}
	if label != "" {
		cfg = append(cfg, benchfmt.Config{Key: "run", Value: []byte(label), File: true})
	}
	var recs []benchfmt.Record
	for _, s := range run.Statements {
		for _, ms := range s.Samples {
			res := &benchfmt.Result{
				Config: cfg,
				Name:   benchfmt.Name("Query/" + s.Name),
				Iters:  1,
				Values: []benchfmt.Value{{Value: math.Round(ms * 1e6), Unit: unitNsPerOp}},
			}
			if s.BuffersPerCall != nil {
				res.Values = append(res.Values, benchfmt.Value{Value: math.Round(*s.BuffersPerCall*100) / 100, Unit: unitBuffersPerOp})
			}
			recs = append(recs, res)
		}
	}
	return recs
}

// writeBenchmarks writes records with benchfmt's writer, so the output is
// exactly what benchstat parses.
func writeBenchmarks(w io.Writer, recs []benchfmt.Record) error {
	bw := benchfmt.NewWriter(w)
	for _, rec := range recs {
		if err := bw.Write(rec); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	return nil
}
