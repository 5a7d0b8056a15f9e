package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// schemaPrefix is what every version of the bench schema starts with.
const schemaPrefix = "hishamos-perf/bench/v"

// Encode writes the report as indented JSON, samples included.
func (r *Report) Encode(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// WithoutSamples returns a copy of the report whose statements carry no
// samples, for output where they would only be noise.
func (r *Report) WithoutSamples() *Report {
	c := *r
	c.Statements = stripSamples(r.Statements)
	c.Requests = stripRequestSamples(r.Requests)
	if r.Baseline != nil {
		b := *r.Baseline
		b.Statements = stripSamples(b.Statements)
		b.Requests = stripRequestSamples(b.Requests)
		c.Baseline = &b
	}
	return &c
}

// stripRequestSamples drops each request's samples: its latencies and
// its per-request counts, whose means the request keeps.
func stripRequestSamples(in []RequestRun) []RequestRun {
	if in == nil {
		return nil
	}
	out := make([]RequestRun, len(in))
	for i, r := range in {
		r.Samples, r.Queries, r.Rows, r.LeaderRows, r.Bytes = nil, nil, nil, nil, nil
		out[i] = r
	}
	return out
}

func stripSamples(in []StatementRun) []StatementRun {
	out := make([]StatementRun, len(in))
	for i, s := range in {
		s.Samples = nil
		out[i] = s
	}
	return out
}

// Save writes the report to path, whole or not at all: it goes to a
// temporary file in the same folder first and is renamed into place.
func Save(path string, r *Report) error {
	var buf bytes.Buffer
	if err := r.Encode(&buf); err != nil {
		return fmt.Errorf("bench: save %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("bench: save %s: %w", path, err)
	}
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("bench: save %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("bench: save %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("bench: save %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("bench: save %s: %w", path, err)
	}
	return nil
}

// Decode reads a report written by Save or by `bench --format json`. name
// is used in errors. It refuses anything that is not JSON or not this
// schema version or SchemaV1 (whose runs read as runs without server
// time); every such error wraps ErrBaseline.
func Decode(data []byte, name string) (*Report, error) {
	var head struct {
		Schema *string `json:"schema"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, &BaselineError{File: name, Problem: "is not JSON (" + jsonProblem(data, err) + ")", Remedy: RemedySave}
	}
	switch {
	case head.Schema == nil:
		return nil, &BaselineError{File: name, Problem: `has no "schema" field, so it is not a bench run`, Remedy: RemedySave}
	case *head.Schema == Schema, *head.Schema == SchemaV1:
	case strings.HasPrefix(*head.Schema, schemaPrefix):
		return nil, fmt.Errorf("bench: %w: %s is schema %s, and this hishamos-perf reads %s: compare it with the version that wrote it, or measure the baseline again", ErrBaseline, name, *head.Schema, Schema)
	default:
		return nil, fmt.Errorf("bench: %w: %s is a %s file, not a bench run (%s)", ErrBaseline, name, *head.Schema, Schema)
	}
	var r Report
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("bench: %w: %s: %s", ErrBaseline, name, jsonProblem(data, err))
	}
	return &r, nil
}

// jsonProblem says where JSON went wrong, by line.
func jsonProblem(data []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var off int64
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
		return fmt.Sprintf("line %d: field %s holds a JSON %s where %s is expected", 1+bytes.Count(data[:min(int(off), len(data))], []byte("\n")), te.Field, te.Value, te.Type)
	default:
		return err.Error()
	}
	return fmt.Sprintf("line %d: %v", 1+bytes.Count(data[:min(int(off), len(data))], []byte("\n")), err)
}

// LoadBaseline reads the run saved at path and checks it can stand beside a
// run of w: the same workload, complete, with its samples. A report that
// holds a comparison gives its latest run (the after run).
func LoadBaseline(path string, w *Workload) (*Run, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bench: %w: %w", ErrBaseline, err)
	}
	r, err := Decode(data, path)
	if err != nil {
		return nil, err
	}
	base := &r.Run
	switch {
	case base.Workload.Name != w.Info.Name || base.Workload.Kind != w.Info.Kind:
		return nil, fmt.Errorf("bench: %w: %s measured %s %s, and this run measures %s %s: compare runs of one workload", ErrBaseline, path, base.Workload.Kind, base.Workload.Name, w.Info.Kind, w.Info.Name)
	case !base.Complete:
		return nil, fmt.Errorf("bench: %w: %s is a partial run (%s): measure the baseline again", ErrBaseline, path, base.Stopped)
	case len(base.Statements) == 0:
		return nil, fmt.Errorf("bench: %w: %s holds no statements", ErrBaseline, path)
	case base.Settings.Transaction == "":
		return nil, fmt.Errorf("bench: %w: %s was measured by an earlier hishamos-perf, which timed calls outside a transaction; each call now runs in a transaction of its own that is rolled back, timed with it, so the two runs' latencies do not compare: measure the baseline again", ErrBaseline, path)
	case base.Settings.Transaction != TransactionPerCall:
		return nil, fmt.Errorf("bench: %w: %s timed each call as %q, and this hishamos-perf as %q: the latencies do not compare; measure the baseline again", ErrBaseline, path, base.Settings.Transaction, TransactionPerCall)
	}
	for _, s := range base.Statements {
		if s.Calls > 0 && len(s.Samples) == 0 {
			return nil, &BaselineError{File: path, Problem: "has no latency samples", Remedy: RemedySamples}
		}
	}
	return base, nil
}

// Remedy is how to get a file that can be a baseline, as a BaselineError
// says it; the command words it with its flags.
type Remedy string

// The remedies a BaselineError names.
const (
	// RemedySave: a file written by Save.
	RemedySave Remedy = "give a file written by Save"
	// RemedySamples: a run saved with its samples, as Save keeps them
	// (JSON printed without them has none).
	RemedySamples Remedy = "save the baseline with Save, which keeps every sample"
)

// BaselineError is a file that cannot be a baseline (ErrBaseline): File,
// what is wrong with it (Problem) and how to get one that can (Remedy).
type BaselineError struct {
	File    string
	Problem string
	Remedy  Remedy
}

func (e *BaselineError) Error() string {
	return e.Message(func(r Remedy) string { return ": " + string(r) })
}

func (e *BaselineError) Unwrap() error { return ErrBaseline }

// Message says what is wrong with the file, ending with the remedy as
// tail words it (with its separator).
func (e *BaselineError) Message(tail func(Remedy) string) string {
	return fmt.Sprintf("bench: %v: %s %s%s", ErrBaseline, e.File, e.Problem, tail(e.Remedy))
}
