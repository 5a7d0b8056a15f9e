package render

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/perf/benchfmt"
)

type benchDoc struct{}

func (benchDoc) GoBenchmarks() []benchfmt.Record {
	cfg := []benchfmt.Config{{Key: "workload", Value: []byte("w"), File: true}}
	return []benchfmt.Record{
		&benchfmt.UnitMetadata{UnitMetadataKey: benchfmt.UnitMetadataKey{Unit: "buffers/op", Key: "assume"}, OrigUnit: "buffers/op", Value: "exact"},
		&benchfmt.Result{Config: cfg, Name: benchfmt.Name("Query/a"), Iters: 1, Values: []benchfmt.Value{{Value: 1500, Unit: "ns/op"}, {Value: 3, Unit: "buffers/op"}}},
		&benchfmt.Result{Config: cfg, Name: benchfmt.Name("Query/a"), Iters: 1, Values: []benchfmt.Value{{Value: 1700, Unit: "ns/op"}, {Value: 3, Unit: "buffers/op"}}},
	}
}

func TestRenderBenchstat(t *testing.T) {
	var buf bytes.Buffer
	r := &Renderer{Out: &buf, Format: FormatBenchstat}
	if err := r.Render(benchDoc{}, sample()); err != nil {
		t.Fatal(err)
	}
	want := "Unit buffers/op assume=exact\nworkload: w\n\nBenchmarkQuery/a 1 1500 ns/op 3 buffers/op\nBenchmarkQuery/a 1 1700 ns/op 3 buffers/op\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// What was written reads back as the same results.
	rd := benchfmt.NewReader(strings.NewReader(buf.String()), "out")
	n := 0
	for rd.Scan() {
		if res, ok := rd.Result().(*benchfmt.Result); ok {
			n++
			if v, _ := res.Value("sec/op"); v <= 0 {
				t.Errorf("result %d: no sec/op", n)
			}
		}
	}
	if n != 2 {
		t.Errorf("read back %d results, want 2", n)
	}
}

func TestRenderBenchstatUnsupported(t *testing.T) {
	var buf bytes.Buffer
	r := &Renderer{Out: &buf, Format: FormatBenchstat}
	err := r.Render(map[string]any{"schema": "x"}, sample())
	if !errors.Is(err, ErrUnsupported) || !errors.Is(err, ErrFormat) {
		t.Fatalf("err = %v, want ErrUnsupported and ErrFormat", err)
	}
	if buf.Len() != 0 {
		t.Errorf("wrote %q before failing", buf.String())
	}
}
