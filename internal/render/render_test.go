package render

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}

func sample() Table {
	return Table{
		Title:  "HishamOS tables",
		Header: []string{"table", "rows"},
		Rows:   [][]string{{"auth_user", "200"}, {"a|b", "12345"}, {"total", "12545"}},
		Tones:  []Tone{Plain, Bad, Bold},
		Right:  []int{1},
		Note:   "3 tables",
	}
}

func TestRenderFormats(t *testing.T) {
	for _, f := range []Format{FormatTable, FormatJSON, FormatMarkdown} {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			r := &Renderer{Out: &buf, Format: f}
			doc := map[string]any{"schema": "test/v1", "rows": 3}
			if err := r.Render(doc, sample()); err != nil {
				t.Fatal(err)
			}
			golden(t, "sample."+string(f), buf.Bytes())
		})
	}
}

func TestColorOnlyWhenAsked(t *testing.T) {
	var plain, color bytes.Buffer
	if err := (&Renderer{Out: &plain, Format: FormatTable}).Render(nil, sample()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "\x1b[") {
		t.Errorf("plain output has ANSI escapes:\n%q", plain.String())
	}
	if err := (&Renderer{Out: &color, Format: FormatTable, Color: true}).Render(nil, sample()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(color.String(), "\x1b[") {
		t.Errorf("coloured output has no ANSI escapes:\n%q", color.String())
	}
}

func TestNewNoColor(t *testing.T) {
	// A buffer is not a terminal: never colour, whatever the flags.
	r := New(&bytes.Buffer{}, FormatTable, false, func(string) string { return "" })
	if r.Color {
		t.Error("colour on for a non-terminal")
	}
}

func TestQuietDropsTitleAndNote(t *testing.T) {
	var buf bytes.Buffer
	if err := (&Renderer{Out: &buf, Format: FormatTable, Quiet: true}).Render(nil, sample()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "HishamOS tables") || strings.Contains(buf.String(), "3 tables") {
		t.Errorf("quiet output kept the title or note:\n%s", buf.String())
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 9999: "9999", 12345: "12.3k", 4_560_000: "4.56M", 2_000_000_000: "2.00G"} {
		if got := Count(n); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestWrapKeepsFreeTextNarrow(t *testing.T) {
	long := strings.Repeat("because the planner reads the index in order ", 4)
	tbl := Table{Header: []string{"index", "reason"}, Rows: [][]string{{"t (a, b)", long}}, Wrap: []int{1}}
	var text, md bytes.Buffer
	if err := (&Renderer{Out: &text, Format: FormatTable}).Render(nil, tbl); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(text.String()), "\n") {
		if n := len([]rune(line)); n > WrapWidth+20 {
			t.Errorf("line is %d wide, want at most %d:\n%s", n, WrapWidth+20, line)
		}
	}
	if err := (&Renderer{Out: &md, Format: FormatMarkdown}).Render(nil, tbl); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), strings.TrimSpace(long)) {
		t.Errorf("markdown wrapped a cell:\n%s", md.String())
	}
}

func TestTablesFitTheWidth(t *testing.T) {
	text := strings.Repeat("the planner reads the index in order and skips the sort ", 3)
	tbl := Table{
		Header: []string{"#", "index", "index writes/s", "reason", "note"},
		Rows: [][]string{
			{"1", "agents_agentexecution (user_id, status, created_at DESC) INCLUDE (id)", "0.00", text, text},
			{"2", "workflows_workflowexecution (started_at)", "12.50", "short", "short"},
		},
		Right: []int{0, 2},
		Wrap:  []int{3},
	}
	for _, width := range []int{80, 100, 160} {
		var out bytes.Buffer
		if err := (&Renderer{Out: &out, Format: FormatTable, Width: width}).Render(nil, tbl); err != nil {
			t.Fatal(err)
		}
		s := out.String()
		for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
			if n := len([]rune(line)); n > width {
				t.Errorf("width %d: line is %d wide:\n%s", width, n, s)
				break
			}
		}
		if !strings.Contains(s, "agents_agentexecution") || !strings.Contains(s, "workflows_workflowexecution") {
			t.Errorf("width %d: an identifier was broken:\n%s", width, s)
		}
		if width == 80 && !strings.Contains(s, "writes/s") {
			t.Errorf("width %d: header lost:\n%s", width, s)
		}
	}
	// Markdown never wraps.
	var md bytes.Buffer
	if err := (&Renderer{Out: &md, Format: FormatMarkdown, Width: 40}).Render(nil, tbl); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), strings.TrimSpace(text)) {
		t.Errorf("markdown wrapped a cell:\n%s", md.String())
	}
}
