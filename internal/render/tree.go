package render

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// TreeWidth is the width trees are wrapped to in Markdown's fenced code
// blocks, which a browser does not wrap: readable in a pull-request
// comment. In text they follow the terminal's width.
const TreeWidth = 100

// TreeNode is one entry of a tree: a line of text, detail lines under it,
// and children.
type TreeNode struct {
	Text string
	// Detail lines are printed under Text, indented past the guides.
	Detail []string
	// Tone colours Text on a terminal.
	Tone Tone
	// DetailTone colours the detail lines (Dim when zero).
	DetailTone Tone
	Children   []*TreeNode
}

// Tree writes a titled tree: drawn with box-drawing guides and wrapped to
// the terminal's width in table format, to TreeWidth inside a fenced code block in
// Markdown (without colour), and nothing in JSON, where the document says
// it all. In both text formats long literals and lines are shortened
// (Elide): a node's text is for reading, the JSON keeps every character.
// An empty root prints only the title and note.
func (r *Renderer) Tree(title string, root *TreeNode, note string) error {
	if r.Format == FormatJSON {
		return nil
	}
	md := r.Format == FormatMarkdown
	var b strings.Builder
	if title != "" && !r.Quiet {
		if md {
			fmt.Fprintf(&b, "### %s\n\n", title)
		} else {
			b.WriteString(r.Style(Bold, fold(title, r.width())) + "\n")
		}
	}
	if root != nil && (root.Text != "" || len(root.Children) > 0) {
		if md {
			b.WriteString("```\n")
		}
		width := r.width()
		if md {
			width = TreeWidth
		}
		r.treeLines(&b, root, "", "", true, md, width)
		if md {
			b.WriteString("```\n")
		}
	}
	if note != "" && !r.Quiet {
		if md {
			b.WriteString("\n")
		}
		if !md {
			note = fold(note, r.width())
		}
		b.WriteString(r.Style(Dim, note) + "\n")
	}
	_, err := fmt.Fprint(r.Out, b.String())
	return err
}

// treeLines writes n with first as the guide before its text and rest as
// the guide before its detail lines and children.
func (r *Renderer) treeLines(b *strings.Builder, n *TreeNode, first, rest string, root, md bool, width int) {
	style := func(t Tone, s string) string {
		if md {
			return s
		}
		return r.Style(t, s)
	}
	if n.Text != "" || !root {
		for i, line := range wrap(Elide(n.Text), max(minWrap, width-utf8.RuneCountInString(first))) {
			guide := first
			if i > 0 {
				guide = rest + "  "
			}
			b.WriteString(guide + style(n.Tone, line) + "\n")
		}
	}
	under := rest
	if len(n.Children) > 0 {
		under = rest + "│ "
	}
	dt := n.DetailTone
	if dt == Plain {
		dt = Dim
	}
	for _, d := range n.Detail {
		for _, line := range wrap(Elide(d), max(minWrap, width-utf8.RuneCountInString(under)-2)) {
			b.WriteString(under + "  " + style(dt, line) + "\n")
		}
	}
	for i, c := range n.Children {
		if i == len(n.Children)-1 {
			r.treeLines(b, c, rest+"└─ ", rest+"   ", false, md, width)
		} else {
			r.treeLines(b, c, rest+"├─ ", rest+"│  ", false, md, width)
		}
	}
}

// wrap breaks s into lines of at most width runes at spaces; a word longer
// than the width is cut. It is linear in the length of s: a multi-megabyte
// token (an IN list EXPLAIN prints as one array literal) is cut in one pass
// over its bytes, never copied once per cut.
func wrap(s string, width int) []string {
	width = max(width, 1)
	var lines []string
	for para := range strings.SplitSeq(s, "\n") {
		var line strings.Builder
		n := 0 // runes in line
		flush := func() {
			lines = append(lines, line.String())
			line.Reset()
			n = 0
		}
		for word := range strings.FieldsSeq(para) {
			runes := utf8.RuneCountInString(word)
			if runes > width {
				if n > 0 {
					flush()
				}
				// Cut whole lines of width runes off the front; the rest
				// is a word like any other.
				for runes > width {
					i, k := 0, 0
					for k < width {
						_, size := utf8.DecodeRuneInString(word[i:])
						i += size
						k++
					}
					lines = append(lines, word[:i])
					word, runes = word[i:], runes-width
				}
			}
			switch {
			case n == 0:
				line.WriteString(word)
				n = runes
			case n+1+runes <= width:
				line.WriteByte(' ')
				line.WriteString(word)
				n += 1 + runes
			default:
				flush()
				line.WriteString(word)
				n = runes
			}
		}
		flush()
	}
	return lines
}

// Truncate shortens s to at most n runes, ending it with "…" when cut, and
// folds it onto one line.
func Truncate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:max(n-1, 0)]) + "…"
}
