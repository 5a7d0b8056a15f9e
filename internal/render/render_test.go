package render

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/olekukonko/tablewriter/pkg/twwidth"
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

// checkWidth fails the test on a line of out wider than width.
func checkWidth(t *testing.T, out string, width int) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if n := twwidth.Width(line); n > width {
			t.Errorf("width %d: a line is %d wide:\n%s\nin:\n%s", width, n, line, out)
			return
		}
	}
}

func TestWrapOnlyWhatDoesNotFit(t *testing.T) {
	long := strings.Repeat("because the planner reads the index in order ", 4)
	tbl := Table{Header: []string{"index", "reason"}, Rows: [][]string{{"t (a, b)", long}}, Wrap: []int{1}}
	var wide, narrow, md bytes.Buffer
	if err := (&Renderer{Out: &wide, Format: FormatTable, Width: 300}).Render(nil, tbl); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(wide.String(), strings.TrimSpace(long)) {
		t.Errorf("text that fits was wrapped:\n%s", wide.String())
	}
	if err := (&Renderer{Out: &narrow, Format: FormatTable, Width: 60}).Render(nil, tbl); err != nil {
		t.Fatal(err)
	}
	checkWidth(t, narrow.String(), 60)
	if got := strings.Join(strings.Fields(narrow.String()), " "); !strings.Contains(got, strings.TrimSpace(long)) {
		t.Errorf("wrapping lost words:\n%s", narrow.String())
	}
	if err := (&Renderer{Out: &md, Format: FormatMarkdown}).Render(nil, tbl); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), strings.TrimSpace(long)) {
		t.Errorf("markdown wrapped a cell:\n%s", md.String())
	}
}

// TestTablesFitTheWidth: at every width a table's lines fit; identifiers
// keep their start and end around "…", numbers stay whole, and where
// nothing more can be cut the rows become records.
func TestTablesFitTheWidth(t *testing.T) {
	text := strings.Repeat("the planner reads the index in order and skips the sort ", 3)
	long := "agents_agentexecution (user_id, status, created_at DESC) INCLUDE (id)"
	tbl := Table{
		Header: []string{"#", "index", "index writes/s", "reason", "note"},
		Rows: [][]string{
			{"1", long, "0.00", text, "short"},
			{"2", "workflows_workflowexecution (started_at)", "12345678.50", "short", "short"},
		},
		Right: []int{0, 2},
		Wrap:  []int{3},
	}
	for _, width := range []int{40, 60, 80, 100, 160, 300} {
		var out bytes.Buffer
		if err := (&Renderer{Out: &out, Format: FormatTable, Width: width}).Render(nil, tbl); err != nil {
			t.Fatal(err)
		}
		s := out.String()
		checkWidth(t, s, width)
		if !strings.Contains(s, "12345678.50") {
			t.Errorf("width %d: a number was cut:\n%s", width, s)
		}
		switch {
		case width >= 300:
			if !strings.Contains(s, long) || !strings.Contains(s, strings.TrimSpace(text)) {
				t.Errorf("width %d: the table fits, yet was cut:\n%s", width, s)
			}
		case strings.Contains(s, "─"):
			if !strings.Contains(s, long) && (!strings.Contains(s, "agents_") || !strings.Contains(s, "(id)") || !strings.Contains(s, "…")) {
				t.Errorf("width %d: the identifier is not elided in its middle:\n%s", width, s)
			}
		default:
			// Records: every value whole, under its row's first cell.
			if all := strings.Join(strings.Fields(s), " "); !strings.Contains(all, long) || !strings.Contains(all, strings.TrimSpace(text)) {
				t.Errorf("width %d: records lost a value:\n%s", width, s)
			}
		}
	}
	// Markdown never cuts.
	var md bytes.Buffer
	if err := (&Renderer{Out: &md, Format: FormatMarkdown, Width: 40}).Render(nil, tbl); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), strings.TrimSpace(text)) || !strings.Contains(md.String(), long) {
		t.Errorf("markdown cut a cell:\n%s", md.String())
	}
}

func TestElideMiddle(t *testing.T) {
	for _, c := range []struct {
		in    string
		width int
		want  string
	}{
		{"orders", 10, "orders"},
		{"agents_agentexecution_user_id_status_idx", 20, "agents_age…tatus_idx"},
		{"agents_agentexecution_user_id_status_idx", 9, "agen…_idx"},
		{"日本語のテーブル名", 9, "日本…ル名"},
		{"abc", 1, "…"},
	} {
		if got := ElideMiddle(c.in, c.width); got != c.want || twwidth.Width(got) > max(c.width, 1) {
			t.Errorf("ElideMiddle(%q, %d) = %q, want %q", c.in, c.width, got, c.want)
		}
	}
}
