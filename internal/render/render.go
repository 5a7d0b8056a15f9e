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
	// Wrap lists columns of free text (reasons, messages) that the text
	// format wraps at WrapWidth, so a table stays readable in a terminal.
	// Markdown and JSON never wrap.
	Wrap []int
}

// WrapWidth is the width (padding included) free-text columns wrap at:
// with a few narrow columns beside it, a table stays inside a 100-column
// terminal.
const WrapWidth = 48

// DefaultWidth is the width text tables are fitted to when the output is not
// a terminal (a file, a pipe, a CI log) and COLUMNS does not say otherwise.
const DefaultWidth = 100

// minWrap is the narrowest a wrapped column's text gets.
const minWrap = 20

// width is how wide text tables may be: Width when set, else COLUMNS, else
// the terminal's width, else DefaultWidth.
func (r *Renderer) width() int {
	if r.Width > 0 {
		return r.Width
	}
	return DefaultWidth
}

// fit chooses where the cells of t wrap, as widths of text per column (0:
// no wrapping). Wrap columns (free text) wrap at WrapWidth. Then, while the
// table is wider than limit, the widest column shrinks, free text first and
// never below its longest word or minWrap: identifiers stay whole, and a
// table of them may stay wider than limit. Columns aligned right (numbers)
// keep their width.
func fit(t Table, cols, limit int) []int {
	width := make([]int, cols) // text width per column, padding excluded
	floor := make([]int, cols) // the longest word
	measure := func(row []string) {
		for i, c := range row {
			for _, line := range strings.Split(c, "\n") {
				width[i] = max(width[i], twwidth.Width(line))
				for _, w := range strings.Fields(line) {
					floor[i] = max(floor[i], twwidth.Width(w))
				}
			}
		}
	}
	for _, row := range t.Rows {
		measure(row)
	}
	cellWidth := append([]int(nil), width...)
	measure(t.Header)
	caps := make([]int, cols)
	for _, c := range t.Wrap {
		if c < cols && width[c] > WrapWidth-2 {
			caps[c], width[c] = WrapWidth-2, WrapWidth-2
		}
	}
	total := cols + 1 // borders
	for _, w := range width {
		total += w + 2
	}
	fixed := map[int]bool{}
	for _, c := range t.Right {
		fixed[c] = true
	}
	wrapped := map[int]bool{}
	for _, c := range t.Wrap {
		wrapped[c] = true
	}
	shrink := func(only map[int]bool, least int) {
		for total > limit {
			widest := -1
			for i, w := range width {
				if fixed[i] || (only != nil && !only[i]) || w <= max(least, floor[i]) {
					continue
				}
				if widest < 0 || w > width[widest] {
					widest = i
				}
			}
			if widest < 0 {
				return
			}
			width[widest]--
			caps[widest] = width[widest]
			total--
		}
	}
	shrink(wrapped, minWrap)
	shrink(nil, minWrap)
	// Last, numbers' headers wrap at their spaces: "index writes/s" over
	// two lines, above cells as wide as "0.00".
	for c := range fixed {
		if c < cols {
			floor[c] = max(cellWidth[c], floor[c])
			delete(fixed, c)
		}
	}
	shrink(nil, 1)
	return caps
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
	md := r.Format == FormatMarkdown
	if t.Title != "" && !r.Quiet {
		if md {
			fmt.Fprintf(r.Out, "### %s\n\n", t.Title)
		} else {
			fmt.Fprintln(r.Out, r.Style(Bold, fold(t.Title, r.width())))
		}
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
	opts := []tablewriter.Option{
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: align}),
	}
	if md {
		opts = append(opts, tablewriter.WithRenderer(renderer.NewMarkdown()))
	} else {
		opts = append(opts, tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleLight)})))
	}
	tbl := tablewriter.NewTable(r.Out, opts...)
	var caps []int
	if !md {
		caps = fit(t, cols, r.width())
	}
	if len(t.Header) > 0 {
		header := append([]string(nil), t.Header...)
		for j := range header {
			if j < len(caps) && caps[j] > 0 {
				header[j] = strings.Join(wrap(header[j], caps[j]), "\n")
			}
		}
		tbl.Header(anySlice(header)...)
	} else if md {
		// Markdown tables need a header row: name the columns by number.
		h := make([]any, cols)
		for i := range h {
			h[i] = " "
		}
		tbl.Header(h...)
	}
	for i, row := range t.Rows {
		cells := make([]string, len(row))
		for j, c := range row {
			if md {
				c = strings.ReplaceAll(c, "|", `\|`)
			}
			if j < len(caps) && caps[j] > 0 {
				c = strings.Join(wrap(c, caps[j]), "\n")
			}
			if i < len(t.Tones) {
				c = r.Style(t.Tones[i], c)
			}
			cells[j] = c
		}
		if err := tbl.Append(cells); err != nil {
			return fmt.Errorf("render: %w", err)
		}
	}
	if err := tbl.Render(); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	if t.Note != "" && !r.Quiet {
		if md {
			fmt.Fprintln(r.Out)
		}
		note := t.Note
		if !md {
			note = fold(note, r.width())
		}
		fmt.Fprintln(r.Out, r.Style(Dim, note))
	}
	return nil
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
