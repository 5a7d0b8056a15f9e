package dataset

import (
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
)

func TestParseScale(t *testing.T) {
	tests := []struct {
		in       string
		want     string
		minTotal int64
		maxTotal int64
	}{
		{in: "small", want: "small", minTotal: 60_000, maxTotal: 100_000},
		{in: "Medium", want: "medium", minTotal: 1_000_000, maxTotal: 2_000_000},
		{in: " large ", want: "large", minTotal: 10_000_000, maxTotal: 20_000_000},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			s, err := ParseScale(tt.in)
			if err != nil {
				t.Fatalf("ParseScale(%q): %v", tt.in, err)
			}
			if s.Name != tt.want {
				t.Errorf("Name = %q, want %q", s.Name, tt.want)
			}
			if got := s.Total(); got < tt.minTotal || got > tt.maxTotal {
				t.Errorf("Total() = %d, want between %d and %d", got, tt.minTotal, tt.maxTotal)
			}
			if err := s.validate(); err != nil {
				t.Errorf("validate: %v", err)
			}
			// Most rows belong to the three execution tables.
			exec := s.AgentExecutions + s.WorkflowExecutions + s.WorkflowSteps
			if exec*10 < s.Total()*9 {
				t.Errorf("execution tables hold %d of %d rows, want at least 90%%", exec, s.Total())
			}
		})
	}
	for _, in := range []string{"", "huge", "smal", "10"} {
		t.Run("bad/"+in, func(t *testing.T) {
			_, err := ParseScale(in)
			if !errors.Is(err, ErrUnknownScale) {
				t.Fatalf("ParseScale(%q) = %v, want ErrUnknownScale", in, err)
			}
			for _, name := range ScaleNames() {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("error %q does not list %q", err, name)
				}
			}
		})
	}
}

func TestScaleRows(t *testing.T) {
	s, _ := ParseScale("small")
	var sum int64
	for _, table := range Tables() {
		if s.Rows(table) <= 0 {
			t.Errorf("Rows(%s) = %d", table, s.Rows(table))
		}
		sum += s.Rows(table)
	}
	if sum != s.Total() {
		t.Errorf("sum of Rows = %d, Total = %d", sum, s.Total())
	}
	if s.Rows("pg_class") != 0 {
		t.Errorf("Rows of an unknown table = %d, want 0", s.Rows("pg_class"))
	}
}

// hashRows hashes the first n rows of every table, in binary COPY form.
func hashRows(t *testing.T, seed int64, s Scale, n int) map[string][32]byte {
	t.Helper()
	w := newWorld(seed, s)
	out := map[string][32]byte{}
	for _, spec := range tableSpecs {
		h := sha256.New()
		g := spec.gen(w)
		var buf []byte
		for k := 0; k < n; k++ {
			var ok bool
			buf, ok = g.appendRow(buf[:0])
			if !ok {
				break
			}
			h.Write(buf)
		}
		out[spec.name] = [32]byte(h.Sum(nil))
	}
	return out
}

func TestGeneratorDeterministic(t *testing.T) {
	s, _ := ParseScale("small")
	const n = 3000
	a, b, c := hashRows(t, 1, s, n), hashRows(t, 1, s, n), hashRows(t, 2, s, n)
	for _, table := range Tables() {
		if a[table] != b[table] {
			t.Errorf("%s: seed 1 gave different rows on two runs", table)
		}
		if a[table] == c[table] {
			t.Errorf("%s: seeds 1 and 2 gave the same rows", table)
		}
	}
}

func TestRowCountsOfGenerators(t *testing.T) {
	s, _ := ParseScale("small")
	w := newWorld(7, s)
	for _, spec := range tableSpecs {
		g := spec.gen(w)
		var buf []byte
		var n int64
		for {
			var ok bool
			if buf, ok = g.appendRow(buf[:0]); !ok {
				break
			}
			n++
		}
		if want := spec.rows(s); n != want {
			t.Errorf("%s: generated %d rows, want %d", spec.name, n, want)
		}
	}
}

func TestStepCounts(t *testing.T) {
	for _, execs := range []int64{1, 2, 7, 1000} {
		s := Scale{Users: 1, Categories: 1, Agents: 1, Workflows: 1, WorkflowExecutions: execs}
		w := newWorld(3, s)
		counts := newRowRand(3, saltStepCounts)
		var total int64
		seen := map[int]bool{}
		for i := range execs {
			k := w.stepCount(counts, i)
			if k < 1 || k > maxWorkflowSteps {
				t.Fatalf("execution %d of %d has %d steps", i, execs, k)
			}
			seen[k] = true
			total += int64(k)
		}
		if total != execs*StepsPerExecution {
			t.Errorf("%d executions have %d steps, want %d", execs, total, execs*StepsPerExecution)
		}
		if execs >= 1000 && len(seen) != maxWorkflowSteps {
			t.Errorf("step counts seen: %v, want 1..%d", seen, maxWorkflowSteps)
		}
	}
}

func TestAppendNumeric(t *testing.T) {
	tests := []struct {
		v      int64
		dscale int
		want   []uint16 // ndigits, weight, sign, dscale, base-10000 digits
	}{
		{0, 4, []uint16{0, 0, 0, 4}},
		{1, 4, []uint16{1, 0xffff, 0, 4, 1}},                      // 0.0001
		{12345678, 4, []uint16{2, 0, 0, 4, 1234, 5678}},           // 1234.5678
		{100000000, 4, []uint16{1, 1, 0, 4, 1}},                   // 10000.0000
		{9999, 2, []uint16{2, 0, 0, 2, 99, 9900}},                 // 99.99
		{-250, 2, []uint16{2, 0, 0x4000, 2, 2, 5000}},             // -2.50
		{123456789012, 4, []uint16{3, 1, 0, 4, 1234, 5678, 9012}}, // 12345678.9012
	}
	for _, tt := range tests {
		b := appendNumeric(nil, tt.v, tt.dscale)
		if got, want := len(b), 4+2*len(tt.want); got != want {
			t.Errorf("appendNumeric(%d, %d): %d bytes, want %d", tt.v, tt.dscale, got, want)
			continue
		}
		for k, w := range tt.want {
			if got := uint16(b[4+2*k])<<8 | uint16(b[5+2*k]); got != w {
				t.Errorf("appendNumeric(%d, %d): word %d = %#x, want %#x", tt.v, tt.dscale, k, got, w)
			}
		}
	}
}

func BenchmarkGenerate(b *testing.B) {
	s, _ := ParseScale("medium")
	w := newWorld(1, s)
	for _, spec := range tableSpecs {
		b.Run(spec.name, func(b *testing.B) {
			g := spec.gen(w)
			buf := make([]byte, 0, 1<<16)
			var bytes int64
			for b.Loop() {
				var ok bool
				if buf, ok = g.appendRow(buf[:0]); !ok {
					g = spec.gen(w)
				}
				bytes += int64(len(buf))
			}
			b.ReportMetric(float64(bytes)/float64(b.N), "B/row")
		})
	}
}
