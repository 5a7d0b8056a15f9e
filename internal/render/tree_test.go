package render

import (
	"bytes"
	"fmt"
	"strconv"
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

// hugeText is the size of the texts the wrapping tests and benchmarks
// wrap: the 10.9 MB IN list of issue 14 took 17 minutes in the quadratic
// wrapper.
const hugeText = 10 << 20

// inList is an array literal of n bytes or a little more, as EXPLAIN
// prints an IN list: one token with no space in it.
func inList(n int) string {
	var b strings.Builder
	b.WriteString("'{")
	for i := 1; b.Len() < n; i++ {
		if i > 1 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(i))
	}
	b.WriteString("}'::integer[]")
	return b.String()
}

// shortWords is n bytes or a little more of short words, some of them
// wider than one byte, separated by single spaces.
func shortWords(n int) string {
	words := []string{"id", "=", "ANY", "(é)", "statut", "déjà", "x"}
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[i%len(words)])
	}
	return b.String()
}

func TestAdversarialWrapHugeToken(t *testing.T) {
	const width = 80
	s := inList(hugeText)
	lines := wrap(s, width)
	for i, l := range lines {
		if n := utf8.RuneCountInString(l); n > width || n == 0 {
			t.Fatalf("line %d of %d runes", i, n)
		}
		if i < len(lines)-1 && utf8.RuneCountInString(l) != width {
			t.Fatalf("line %d of %d runes: a cut token fills every line but its last", i, utf8.RuneCountInString(l))
		}
	}
	if got := strings.Join(lines, ""); got != s {
		t.Errorf("the token's pieces do not add up to it: %d bytes of %d", len(got), len(s))
	}
	// A token of wide characters is cut at characters, not bytes.
	wide := strings.Repeat("é", 1000)
	for _, l := range wrap(wide, width) {
		if !utf8.ValidString(l) || utf8.RuneCountInString(l) > width {
			t.Fatalf("cut inside a character or too wide: %q", l)
		}
	}
}

func TestAdversarialWrapHugeText(t *testing.T) {
	const width = 80
	s := shortWords(hugeText)
	lines := wrap(s, width)
	for i, l := range lines {
		if n := utf8.RuneCountInString(l); n > width {
			t.Fatalf("line %d of %d runes", i, n)
		}
		if i < len(lines)-1 && utf8.RuneCountInString(l)+1+utf8.RuneCountInString(strings.Fields(lines[i+1])[0]) <= width {
			t.Fatalf("line %d breaks before a word that fits: %q / %q", i, l, lines[i+1])
		}
	}
	if got := strings.Join(lines, " "); got != s {
		t.Errorf("wrapping lost or moved words: %d bytes of %d", len(got), len(s))
	}
}

func TestWrapParagraphs(t *testing.T) {
	got := wrap("a  b\n\nccccccc dd", 3)
	want := []string{"a b", "", "ccc", "ccc", "c", "dd"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("wrap (-want +got):\n%s", diff)
	}
}

// BenchmarkWrap wraps one token and a text of short words of 1, 2, 4 and 8
// MB: the MB/s column stays flat because wrapping is linear (it fell with
// the size when it was quadratic).
func BenchmarkWrap(b *testing.B) {
	for _, kind := range []struct {
		name string
		make func(int) string
	}{{"token", inList}, {"words", shortWords}} {
		for _, mb := range []int{1, 2, 4, 8} {
			s := kind.make(mb << 20)
			b.Run(fmt.Sprintf("%s/%dMB", kind.name, mb), func(b *testing.B) {
				b.SetBytes(int64(len(s)))
				for b.Loop() {
					wrap(s, TreeWidth)
				}
			})
		}
	}
}

func TestElide(t *testing.T) {
	long := "'{" + strings.Repeat("7,", 100) + "8}'"
	for _, c := range []struct {
		name, in, want string
	}{
		{"short literal stays", "Filter: (status = 'failed'::text)", "Filter: (status = 'failed'::text)"},
		{"apostrophes open nothing", "the table's rows don't " + strings.Repeat("fit ", 40) + "it's", "the table's rows don't " + strings.Repeat("fit ", 40) + "it's"},
		{"long literal", "Index Cond: (id = ANY (" + long + "::integer[]))",
			"Index Cond: (id = ANY (" + long[:60] + "…[125 characters elided]…" + long[len(long)-20:] + "::integer[]))"},
		{"doubled quote inside", "x = '" + strings.Repeat("a''b", 40) + "'", "x = '" + strings.Repeat("a''b", 40)[:59] + "…[82 characters elided]…" + strings.Repeat("a''b", 40)[160-19:] + "'"},
		{"unclosed quote", "x = '" + strings.Repeat("a", 200), "x = '" + strings.Repeat("a", 200)},
	} {
		if got := Elide(c.in); got != c.want {
			t.Errorf("%s: Elide =\n%q\nwant\n%q", c.name, got, c.want)
		}
	}
	// A line with no literal to shorten is cut as a whole.
	or := strings.TrimSuffix(strings.Repeat("(a = $1) OR ", 500), " OR ")
	got := Elide(or)
	if n := utf8.RuneCountInString(got); n > LineElideAt {
		t.Errorf("a %d-character OR chain elided to %d characters", len(or), n)
	}
	if !strings.HasPrefix(got, or[:lineHead]) || !strings.HasSuffix(got, or[len(or)-lineTail:]) ||
		!strings.Contains(got, "…["+thousands(len(or)-lineHead-lineTail)+" characters elided]…") {
		t.Errorf("OR chain elided to %q", got)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 288817: "288,817", 10888819: "10,888,819"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestAdversarialTreeElidesHugeINList(t *testing.T) {
	cond := "Index Cond: (id = ANY (" + inList(hugeText) + "))"
	var buf bytes.Buffer
	r := &Renderer{Out: &buf, Format: FormatTable}
	root := &TreeNode{Text: "Index Scan using workflows_workflowstep_pkey on workflows_workflowstep", Detail: []string{cond}}
	if err := r.Tree("Plan", root, ""); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if len(out) > 1000 {
		t.Errorf("a %d-byte condition printed as %d bytes", len(cond), len(out))
	}
	literal := strings.TrimSuffix(inList(hugeText), "::integer[]")
	elided := utf8.RuneCountInString(literal) - literalHead - literalTail
	if want := thousands(elided) + " characters elided"; !strings.Contains(strings.ReplaceAll(out, "\n  ", " "), want) {
		t.Errorf("the tree does not say %q:\n%s", want, out)
	}
	if !strings.Contains(out, "'{1,2,3,4,5,") || !strings.Contains(out, "}'::integer[]))") {
		t.Errorf("the tree lost the literal's start or end:\n%s", out)
	}
}
