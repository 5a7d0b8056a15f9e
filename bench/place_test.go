package bench

import "testing"

var promise = &ExpectRange{MinPct: 40, MaxPct: 60}

func TestPlace(t *testing.T) {
	tests := []struct {
		pct  float64
		r    *ExpectRange
		want string
	}{
		{39.9, promise, Below},
		{40, promise, Within},
		{60, promise, Within},
		{60.1, promise, Above},
		{-12, promise, Below},
		{50, nil, ""},
	}
	for _, tt := range tests {
		if got := tt.r.Place(tt.pct); got != tt.want {
			t.Errorf("Place(%v) = %q, want %q", tt.pct, got, tt.want)
		}
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}}
	for _, tt := range tests {
		if got := Median(tt.in); got != tt.want {
			t.Errorf("Median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
