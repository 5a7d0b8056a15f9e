package indexes

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Budget caps the bytes of the indexes a selection adds: a number of bytes,
// or a percentage of the size of the workload's tables. The zero Budget is
// no limit.
type Budget struct {
	// Bytes is the cap in bytes; 0 with Percent 0 means no limit.
	Bytes int64 `json:"bytes,omitempty"`
	// Percent is the cap as a percentage of the tables' size (heap and
	// TOAST), used when Bytes is 0.
	Percent float64 `json:"percent,omitempty"`
}

// Unlimited reports whether the budget sets no limit.
func (b Budget) Unlimited() bool { return b.Bytes <= 0 && b.Percent <= 0 }

// String shows the budget as ParseBudget reads it.
func (b Budget) String() string {
	switch {
	case b.Bytes > 0:
		return FormatBytes(b.Bytes)
	case b.Percent > 0:
		return strconv.FormatFloat(b.Percent, 'f', -1, 64) + "%"
	}
	return "none"
}

// limit is the cap in bytes given the tables' size; -1 for none.
func (b Budget) limit(tableBytes int64) int64 {
	switch {
	case b.Bytes > 0:
		return b.Bytes
	case b.Percent > 0:
		return int64(math.Round(float64(tableBytes) * b.Percent / 100))
	}
	return -1
}

// sizeUnits are the units ParseBudget takes, as PostgreSQL's size settings
// and pg_size_pretty use them: powers of 1024, case-insensitive, with the
// IEC spellings accepted too.
var sizeUnits = map[string]int64{
	"": 1, "b": 1, "bytes": 1,
	"k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
	"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
	"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
	"t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40,
}

// ParseBudget reads a budget: a size ("500MB", "1.5 GB", "1048576", "0"
// for none) or a percentage of the tables' size ("10%"). Anything else is
// an ErrBadBudget.
func ParseBudget(s string) (Budget, error) {
	in := strings.TrimSpace(s)
	bad := func(why string) (Budget, error) {
		return Budget{}, fmt.Errorf("%w: %q %s: use bytes with an optional unit (500MB, 2GB) or a percentage of the tables' size (10%%)", ErrBadBudget, s, why)
	}
	if in == "" {
		return bad("is empty")
	}
	if pct, ok := strings.CutSuffix(in, "%"); ok {
		v, err := strconv.ParseFloat(strings.TrimSpace(pct), 64)
		if err != nil || math.IsNaN(v) || v <= 0 || v > 1000 {
			return bad("is not a percentage between 0 and 1000")
		}
		return Budget{Percent: v}, nil
	}
	i := 0
	for i < len(in) && (in[i] >= '0' && in[i] <= '9' || in[i] == '.') {
		i++
	}
	num, unit := in[:i], strings.ToLower(strings.TrimSpace(in[i:]))
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return bad("does not start with a number")
	}
	mult, ok := sizeUnits[unit]
	if !ok {
		return bad(fmt.Sprintf("has an unknown unit %q", strings.TrimSpace(in[i:])))
	}
	bytes := v * float64(mult)
	if bytes >= math.MaxInt64/2 {
		return bad("is too large")
	}
	return Budget{Bytes: int64(math.Round(bytes))}, nil
}

// FormatBytes shows a size as pg_size_pretty does: bytes below 10 kB, then
// kB, MB, GB and TB with no more than four digits before the unit.
func FormatBytes(n int64) string {
	units := []string{"bytes", "kB", "MB", "GB", "TB"}
	v := float64(n)
	u := 0
	for u < len(units)-1 && math.Abs(v) >= 10*1024 {
		v /= 1024
		u++
	}
	if u == 0 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%.0f %s", math.Round(v), units[u])
}
