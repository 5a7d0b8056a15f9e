package render

import (
	"strings"
	"testing"
)

// TestHangKeepsTheLinesIndentation: a wrapped progress line keeps its own
// indentation on its first line, its continuations two spaces further in,
// none wider than the width; a width of 0 leaves it whole.
func TestHangKeepsTheLinesIndentation(t *testing.T) {
	line := "  events_idx: dropping partitioned index (on 10 tables) takes an ACCESS EXCLUSIVE lock on public.events and 6 more, each for a moment"
	got := strings.Split(Hang(line, 40), "\n")
	if len(got) < 3 {
		t.Fatalf("not wrapped at 40: %q", got)
	}
	for i, l := range got {
		want := "  "
		if i > 0 {
			want = "    "
		}
		if !strings.HasPrefix(l, want) || l[len(want)] == ' ' {
			t.Errorf("line %d %q: want it indented by %d spaces", i, l, len(want))
		}
		if len(l) > 40 {
			t.Errorf("line %d %q wider than 40", i, l)
		}
	}
	if joined := strings.Join(strings.Fields(strings.Join(got, " ")), " "); joined != strings.Join(strings.Fields(line), " ") {
		t.Errorf("words changed: %q", joined)
	}
	if Hang(line, 0) != line {
		t.Errorf("width 0 changed the line")
	}
}
