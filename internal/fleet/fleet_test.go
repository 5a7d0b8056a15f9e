package fleet

import "testing"

// TestParseLSN: a pg_lsn's two hexadecimal halves make one position, so
// that a lag is their difference; anything else is refused.
func TestParseLSN(t *testing.T) {
	for in, want := range map[string]uint64{"": 0, "0/0": 0, "0/16B3748": 0x16B3748, "1/0": 1 << 32, "A/FF": 0xA<<32 | 0xFF} {
		got, err := ParseLSN(in)
		if err != nil || got != want {
			t.Errorf("ParseLSN(%q) = %#x, %v; want %#x", in, got, err, want)
		}
	}
	for _, bad := range []string{"16B3748", "x/1", "1/", "1/100000000"} {
		if _, err := ParseLSN(bad); err == nil {
			t.Errorf("ParseLSN(%q) took it", bad)
		}
	}
}
