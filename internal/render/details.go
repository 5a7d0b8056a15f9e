package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
)

// Details are entries read one after another, as cargo prints its
// diagnostics and gh pr view a pull request: a head line, then lines
// indented under it, wrapped to the terminal's width. They carry what a
// table has no room for (a finding's message and fix, a statement's whole
// text, a proposal's reason) so that the table above them stays one line
// per row.
type Details struct {
	Title   string
	Entries []Entry
	Note    string
}

// Entry is one head line and the lines under it.
type Entry struct {
	Head string
	// Tone colours the head on a terminal.
	Tone  Tone
	Lines []Line
}

// Line is one line of an entry: text under a label ("fix: …"), its
// continuation aligned past the label, or text alone when Label is empty.
type Line struct {
	Label string
	Text  string
	// Tone colours the line; Plain leaves it as it is.
	Tone Tone
}

// detailIndent is how far an entry's lines sit under its head.
const detailIndent = 2

// Details writes d: in text, each entry's head and its lines indented and
// wrapped to the width, a blank line between entries; in Markdown, a list
// of entries. Long literals and lines are shortened (Elide) in both: the
// JSON keeps every character.
func (r *Renderer) Details(d Details) error {
	if r.Format == FormatJSON {
		return nil
	}
	var b strings.Builder
	md := r.Format == FormatMarkdown
	if d.Title != "" && !r.Quiet {
		if md {
			fmt.Fprintf(&b, "### %s\n\n", d.Title)
		} else {
			b.WriteString(r.Style(Bold, fold(d.Title, r.width())) + "\n")
		}
	}
	for i, e := range d.Entries {
		if md {
			r.markdownEntry(&b, e)
			continue
		}
		if i > 0 {
			b.WriteString("\n")
		}
		r.textEntry(&b, e)
	}
	if d.Note != "" && !r.Quiet {
		if md {
			b.WriteString("\n" + d.Note + "\n")
		} else {
			b.WriteString(r.Style(Dim, fold(d.Note, r.width())) + "\n")
		}
	}
	_, err := io.WriteString(r.Out, b.String())
	return err
}

// textEntry writes one entry for a terminal.
func (r *Renderer) textEntry(b *strings.Builder, e Entry) {
	width := r.width()
	for k, line := range wrap(Elide(e.Head), width-detailIndent) {
		if k > 0 {
			line = strings.Repeat(" ", detailIndent) + line
		}
		b.WriteString(r.Style(e.Tone, line) + "\n")
	}
	indent := strings.Repeat(" ", detailIndent)
	for _, l := range e.Lines {
		label := ""
		if l.Label != "" {
			label = l.Label + ": "
		}
		lw := twwidth.Width(label)
		for k, line := range wrap(Elide(l.Text), max(width-detailIndent-lw, minWrapHard)) {
			if k == 0 {
				line = indent + label + line
			} else {
				line = indent + strings.Repeat(" ", lw) + line
			}
			b.WriteString(r.Style(l.Tone, strings.TrimRight(line, " ")) + "\n")
		}
	}
}

// markdownEntry writes one entry as a list item.
func (r *Renderer) markdownEntry(b *strings.Builder, e Entry) {
	b.WriteString("- **" + strings.Join(strings.Fields(Elide(e.Head)), " ") + "**")
	for _, l := range e.Lines {
		text := strings.Join(strings.Fields(Elide(l.Text)), " ")
		if l.Label != "" {
			text = "*" + l.Label + ":* " + text
		}
		b.WriteString("  \n  " + text)
	}
	b.WriteString("\n")
}
