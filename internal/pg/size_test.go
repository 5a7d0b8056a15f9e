package pg

import "testing"

// TestSize checks each unit's boundary: pg_size_pretty's units, kB
// whole and MB/GB to a tenth.
func TestSize(t *testing.T) {
	for v, want := range map[int64]string{
		0:          "0 B",
		1023:       "1023 B",
		1024:       "1 kB",
		13 * 1024:  "13 kB",
		1<<20 - 1:  "1024 kB",
		1 << 20:    "1.0 MB",
		12_400_000: "11.8 MB",
		3 << 30:    "3.0 GB",
		1536 << 20: "1.5 GB",
	} {
		if got := Size(v); got != want {
			t.Errorf("Size(%d) = %q, want %q", v, got, want)
		}
	}
}
