package report

import (
	"errors"
	"fmt"
	"strings"
)

// Format is an output format, as --format names it.
type Format string

// The output formats.
const (
	// Text is tables and trees for a terminal, in colour on one.
	Text Format = "table"
	// JSON is the domain's document.
	JSON Format = "json"
	// Markdown is for a pull-request comment or $GITHUB_STEP_SUMMARY.
	Markdown Format = "markdown"
	// CSV is every table, numbers raw, for a spreadsheet or a script.
	CSV Format = "csv"
	// Benchstat is Go benchmark lines, for bench only (see benchstat.go).
	Benchstat Format = "benchstat"
)

// Formats lists the formats --format accepts, in the order --help says them.
var Formats = []Format{Text, JSON, Markdown, CSV, Benchstat}

// ErrFormat is returned for an unknown --format, or one the output cannot
// be written in.
var ErrFormat = errors.New("unknown format")

// ErrUnsupported is returned by Write for a format a document cannot be
// written in (benchstat lines of anything but a bench run). It also
// matches ErrFormat, so it counts as bad usage.
var ErrUnsupported = errors.New("format not available for this output")

// ParseFormat checks a --format value.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return "", fmt.Errorf("%w %q: use one of %s", ErrFormat, s, strings.Join(names, ", "))
}

// unsupportedError is ErrUnsupported for one format.
type unsupportedError struct {
	format Format
}

func (e *unsupportedError) Error() string {
	return fmt.Sprintf("format %s is only for bench, which measures benchmarks: use table, json, markdown or csv here", e.format)
}

func (e *unsupportedError) Is(target error) bool {
	return target == ErrUnsupported || target == ErrFormat
}
