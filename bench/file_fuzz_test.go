package bench_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hishamos/hishamos-perf/bench"
	"github.com/hishamos/hishamos-perf/profiles"
)

// maxFuzzInput bounds each fuzz input so one input cannot stand for a hang.
const maxFuzzInput = 64 << 10

func FuzzLoadBaseline(f *testing.F) {
	for _, r := range []*bench.Report{report("hishamos"), report("shop"), report("hishamos").WithoutSamples()} {
		var buf bytes.Buffer
		if err := r.Encode(&buf); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	for _, s := range []string{
		`{"schema": "hishamos-perf/bench/v1", "runs": [`,
		`{"schema": "hishamos-perf/bench/v2"}`,
		`{"schema": null}`,
		`{"schema": "hishamos-perf/bench/v1", "statements": [{"name": "a", "calls": 1e400}]}`,
		`[]`,
	} {
		f.Add([]byte(s))
	}
	p, err := profiles.Load("hishamos")
	if err != nil {
		f.Fatal(err)
	}
	w, err := bench.FromProfile(p, profiles.After)
	if err != nil {
		f.Fatal(err)
	}
	path := filepath.Join(f.TempDir(), "base.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			t.Skip()
		}
		r, err := bench.Decode(data, "base.json")
		if err != nil {
			if !errors.Is(err, bench.ErrBaseline) {
				t.Fatalf("error does not wrap ErrBaseline: %v", err)
			}
			return
		}
		// What Decode accepts, Encode writes and Decode reads back the same.
		var buf bytes.Buffer
		if err := r.Encode(&buf); err != nil {
			t.Fatalf("decoded report does not encode: %v", err)
		}
		r2, err := bench.Decode(buf.Bytes(), "again.json")
		if err != nil {
			t.Fatalf("encoded report does not decode: %v\n%s", err, buf.Bytes())
		}
		if diff := cmp.Diff(r, r2, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := bench.LoadBaseline(path, w); err != nil && !errors.Is(err, bench.ErrBaseline) {
			t.Fatalf("LoadBaseline error does not wrap ErrBaseline: %v", err)
		}
	})
}
