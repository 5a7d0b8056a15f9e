package render

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func sampleTree() *TreeNode {
	return &TreeNode{Text: "Hash Join", Detail: []string{"Hash Cond: (a.id = b.a_id)"}, Children: []*TreeNode{
		{Text: "Seq Scan on a", Tone: Bad, Detail: []string{"Filter: (x = 1)"}},
		{Text: "Hash", Children: []*TreeNode{{Text: "Index Scan using b_pkey on b"}}},
	}}
}

func TestTree(t *testing.T) {
	var buf bytes.Buffer
	r := &Renderer{Out: &buf, Format: FormatTable}
	if err := r.Tree("Plan", sampleTree(), "cost 12.5"); err != nil {
		t.Fatal(err)
	}
	want := `Plan
Hash Join
│   Hash Cond: (a.id = b.a_id)
├─ Seq Scan on a
│    Filter: (x = 1)
└─ Hash
   └─ Index Scan using b_pkey on b
cost 12.5
`
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("table tree (-want +got):\n%s", diff)
	}

	buf.Reset()
	r.Format = FormatMarkdown
	if err := r.Tree("Plan", sampleTree(), ""); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "### Plan\n\n```\nHash Join\n") || !strings.HasSuffix(buf.String(), "```\n") {
		t.Errorf("markdown tree:\n%s", buf.String())
	}

	buf.Reset()
	r.Format = FormatJSON
	if err := r.Tree("Plan", sampleTree(), "note"); err != nil || buf.Len() != 0 {
		t.Errorf("JSON format wrote a tree: %q", buf.String())
	}
}

func TestTreeWraps(t *testing.T) {
	var buf bytes.Buffer
	r := &Renderer{Out: &buf, Format: FormatTable}
	long := strings.Repeat("word ", 60)
	root := &TreeNode{Children: []*TreeNode{{Text: long, Detail: []string{long + strings.Repeat("x", 150)}}}}
	if err := r.Tree("", root, ""); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		if n := utf8.RuneCountInString(line); n > TreeWidth {
			t.Errorf("line of %d runes: %q", n, line)
		}
	}
	if got := strings.Count(buf.String(), "word"); got != 120 {
		t.Errorf("wrapping lost words: %d of 120", got)
	}
}

func TestTruncate(t *testing.T) {
	for in, want := range map[string]string{"short": "short", "a  b\n c": "a b c", "abcdefghij": "abcd…"} {
		if got := Truncate(in, 5); got != want {
			t.Errorf("Truncate(%q) = %q, want %q", in, got, want)
		}
	}
}
