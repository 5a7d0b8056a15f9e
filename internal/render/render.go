// Package render is the low-level writer under hishamos-perf's presentation
// home (cmd/hishamos-perf/internal/report): tables for a terminal
// (tablewriter, lipgloss colours) and for Markdown, trees, progress bars,
// wrapping and eliding. It imports nothing of the project; report decides
// what is shown, render how it is drawn.
package render

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/mattn/go-isatty"
	"github.com/muesli/termenv"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// Format is how a Renderer draws: text tables and trees, Markdown, or
// JSON. The formats --format accepts are report's (report.Formats).
type Format string

// The formats a Renderer draws.
const (
	FormatTable    Format = "table"
	FormatJSON     Format = "json"
	FormatMarkdown Format = "markdown"
)

// Tone colours a cell or a line on a terminal.
type Tone int

// Tones, from plain to alarming.
const (
	Plain Tone = iota
	Good
	Bad
	Warn
	Dim
	Bold
)

// Table is one titled table of rows.
type Table struct {
	Title string
	// Header names the columns; nil for a key/value listing without one.
	Header []string
	Rows   [][]string
	// Tones colours whole rows (same length as Rows, or nil).
	Tones []Tone
	// Right lists the columns aligned right (numbers).
	Right []int
	// Note is printed under the table.
	Note string
	// Wrap lists columns of free text (reasons, messages): the text
	// format never wraps them into a narrow cell, but draws the table as
	// records when they do not fit. Whole lists columns of values that are
	// no numbers ("-1.2% to +3.4%", "improved"), never cut. Other text
	// columns (names, identifiers) are elided in the middle when the
	// table is wider than the terminal (see layout.go). Markdown and JSON
	// never cut.
	Wrap  []int
	Whole []int
	// Optional lists columns the text format may leave out, last first,
	// when the table does not fit otherwise; a note under it names them.
	Optional []int
}

// DefaultWidth is the width text tables are fitted to when the output is not
// a terminal (a file, a pipe, a CI log) and COLUMNS does not say otherwise.
const DefaultWidth = 100

// width is how wide text may be: Width when set, else COLUMNS, else
// the terminal's width, else DefaultWidth.
func (r *Renderer) width() int {
	if r.Width > 0 {
		return r.Width
	}
	return DefaultWidth
}

// Renderer writes documents in one format.
type Renderer struct {
	Out    io.Writer
	Format Format
	// Color enables ANSI colours (a terminal, without NO_COLOR or --no-color).
	Color bool
	// Quiet drops titles and notes, leaving the data.
	Quiet bool
	// Width is how wide text tables may be; 0 means DefaultWidth. New sets
	// it from COLUMNS or the terminal.
	Width int
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// New makes a renderer; colour is on only for a terminal when neither
// noColor nor the NO_COLOR variable asks otherwise.
func New(out io.Writer, format Format, noColor bool, getenv func(string) string) *Renderer {
	color := format == FormatTable && !noColor && getenv("NO_COLOR") == "" && IsTerminal(out)
	return &Renderer{Out: out, Format: format, Color: color, Width: terminalWidth(out, getenv)}
}

// Render writes doc as JSON, or the tables as text or Markdown.
func (r *Renderer) Render(doc any, tables ...Table) error {
	if r.Format == FormatJSON {
		return r.JSON(doc)
	}
	for i, t := range tables {
		if i > 0 {
			fmt.Fprintln(r.Out)
		}
		if err := r.table(t); err != nil {
			return err
		}
	}
	return nil
}

// JSON writes v indented, with a trailing newline.
func (r *Renderer) JSON(v any) error {
	enc := json.NewEncoder(r.Out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func (r *Renderer) table(t Table) error {
	if r.Format != FormatMarkdown {
		var b strings.Builder
		if t.Title != "" && !r.Quiet {
			b.WriteString(r.Style(Bold, fold(t.Title, r.width())) + "\n")
		}
		note := t.Note
		if left := r.textTable(&b, t); left != "" {
			note = strings.TrimPrefix(note+"\n"+left, "\n")
		}
		if note != "" && !r.Quiet {
			b.WriteString(r.Style(Dim, fold(note, r.width())) + "\n")
		}
		_, err := io.WriteString(r.Out, b.String())
		return err
	}
	if t.Title != "" && !r.Quiet {
		fmt.Fprintf(r.Out, "### %s\n\n", t.Title)
	}
	cols := len(t.Header)
	for _, row := range t.Rows {
		cols = max(cols, len(row))
	}
	align := make(tw.Alignment, cols)
	for i := range align {
		align[i] = tw.AlignLeft
	}
	for _, c := range t.Right {
		if c < len(align) {
			align[c] = tw.AlignRight
		}
	}
	tbl := tablewriter.NewTable(r.Out,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: align}),
		tablewriter.WithRenderer(renderer.NewMarkdown()))
	if len(t.Header) > 0 {
		tbl.Header(anySlice(t.Header)...)
	} else {
		// Markdown tables need a header row: name the columns by number.
		h := make([]any, cols)
		for i := range h {
			h[i] = " "
		}
		tbl.Header(h...)
	}
	for _, row := range t.Rows {
		cells := make([]string, len(row))
		for j, c := range row {
			cells[j] = strings.ReplaceAll(c, "|", `\|`)
		}
		if err := tbl.Append(cells); err != nil {
			return fmt.Errorf("render: %w", err)
		}
	}
	if err := tbl.Render(); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	if t.Note != "" && !r.Quiet {
		fmt.Fprintln(r.Out)
		fmt.Fprintln(r.Out, r.Style(Dim, t.Note))
	}
	return nil
}

// Fold wraps the lines of s wider than the text's width at spaces, the
// others keeping their spacing; in Markdown s comes back as it is.
func (r *Renderer) Fold(s string) string {
	if r.Format == FormatMarkdown {
		return s
	}
	return fold(s, r.width())
}

// fold wraps the lines of s wider than width at spaces; the others keep
// their spacing.
func fold(s string, width int) string {
	lines := strings.Split(s, "\n")
	var out []string
	for _, line := range lines {
		if twwidth.Width(line) <= width {
			out = append(out, line)
			continue
		}
		out = append(out, wrap(line, width)...)
	}
	return strings.Join(out, "\n")
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

var styles = map[Tone]lipgloss.Style{
	Good: lipgloss.NewStyle().Foreground(lipgloss.Color("2")),
	Bad:  lipgloss.NewStyle().Foreground(lipgloss.Color("1")).Bold(true),
	Warn: lipgloss.NewStyle().Foreground(lipgloss.Color("3")),
	Dim:  lipgloss.NewStyle().Faint(true),
	Bold: lipgloss.NewStyle().Bold(true),
}

// Style colours s when colour is on; otherwise s comes back unchanged.
func (r *Renderer) Style(t Tone, s string) string {
	st, ok := styles[t]
	if !r.Color || !ok {
		return s
	}
	st = st.Renderer(colorRenderer)
	return st.Render(s)
}

// colorRenderer forces ANSI output once the Renderer decided colour is on,
// whatever lipgloss would guess from the environment.
var colorRenderer = func() *lipgloss.Renderer {
	lr := lipgloss.NewRenderer(io.Discard)
	lr.SetColorProfile(termenv.ANSI)
	return lr
}()

// Hang wraps a line of progress (one the tool says on stderr) at width
// when it is wider, each continuation indented by two spaces under it, so
// that a wrapped message reads as one and the next message stands out.
// A line's own indentation (a step under the file it belongs to) is kept
// on its first line and under its continuations. A width of 0 (not a
// terminal, no COLUMNS: a CI log, a pipe) leaves the line whole, for grep.
func Hang(line string, width int) string {
	const indent = "  "
	if twwidth.Width(line) <= width {
		return line
	}
	body := strings.TrimLeft(line, " ")
	lead := line[:len(line)-len(body)]
	if width <= len(lead)+len(indent) {
		return line
	}
	lines := wrap(body, width-len(lead)-len(indent))
	for i := range lines {
		if i > 0 {
			lines[i] = indent + lines[i]
		}
		lines[i] = lead + lines[i]
	}
	return strings.Join(lines, "\n")
}
