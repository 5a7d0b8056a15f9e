package indexes_test

import (
	"errors"
	"testing"

	"github.com/hishamos/hishamos-perf/indexes"
)

func TestParseBudget(t *testing.T) {
	good := []struct {
		in   string
		want indexes.Budget
	}{
		{"1048576", indexes.Budget{Bytes: 1 << 20}},
		{"500MB", indexes.Budget{Bytes: 500 << 20}},
		{"500 mb", indexes.Budget{Bytes: 500 << 20}},
		{"1.5GB", indexes.Budget{Bytes: 3 << 29}},
		{"2GiB", indexes.Budget{Bytes: 2 << 30}},
		{"64kB", indexes.Budget{Bytes: 64 << 10}},
		{"10%", indexes.Budget{Percent: 10}},
		{" 2.5 % ", indexes.Budget{Percent: 2.5}},
		{"0", indexes.Budget{}},
	}
	for _, tc := range good {
		got, err := indexes.ParseBudget(tc.in)
		if err != nil {
			t.Errorf("ParseBudget(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseBudget(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
	for _, in := range []string{"", "lots", "10 parsecs", "MB", "-5MB", "1e3MB", "%", "0%", "-3%", "2000%", "1.2.3GB", "99999999999TB"} {
		_, err := indexes.ParseBudget(in)
		if !errors.Is(err, indexes.ErrBadBudget) {
			t.Errorf("ParseBudget(%q) = %v, want ErrBadBudget", in, err)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	for in, want := range map[int64]string{0: "0 bytes", 8192: "8192 bytes", 10 << 10: "10 kB", 83140608: "79 MB", 3 << 30: "3072 MB", 11 << 30: "11 GB"} {
		if got := indexes.FormatBytes(in); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", in, got, want)
		}
	}
}
