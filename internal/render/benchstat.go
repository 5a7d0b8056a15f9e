package render

import (
	"errors"
	"fmt"

	"golang.org/x/perf/benchfmt"
)

// ErrUnsupported is returned by Render for a format the document cannot be
// written in (benchstat lines of anything but a benchmark). It also matches
// ErrFormat, so it counts as bad usage.
var ErrUnsupported = errors.New("format not available for this output")

// Benchmarks is a document that can be written as Go benchmark results:
// the lines golang.org/x/perf's benchstat reads.
type Benchmarks interface {
	GoBenchmarks() []benchfmt.Record
}

// unsupportedError is ErrUnsupported for one format.
type unsupportedError struct {
	format Format
}

func (e *unsupportedError) Error() string {
	return fmt.Sprintf("format %s is only for bench, which measures benchmarks: use table, json or markdown here", e.format)
}

func (e *unsupportedError) Is(target error) bool {
	return target == ErrUnsupported || target == ErrFormat
}

// benchstat writes doc's benchmark results with benchfmt's writer, so the
// output is exactly what benchstat parses.
func (r *Renderer) benchstat(doc any) error {
	b, ok := doc.(Benchmarks)
	if !ok {
		return &unsupportedError{format: FormatBenchstat}
	}
	w := benchfmt.NewWriter(r.Out)
	for _, rec := range b.GoBenchmarks() {
		if err := w.Write(rec); err != nil {
			return fmt.Errorf("render: %w", err)
		}
	}
	return nil
}
