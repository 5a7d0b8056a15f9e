// Package report is the one home of hishamos-perf's presentation. Builders
// (Bench, Analyze, Explain, Propose, …) turn a command's domain result into
// a Doc: typed tables, trees, key/value lists and paragraphs. Writers then
// lay a Doc out in the format --format chose: text (through internal/render's
// tables and trees), Markdown (cut to stay under a pull-request comment's
// limit), CSV (raw numbers, one table after another), JSON (the domain's own
// document), and, for bench, Go benchmark lines; beside them the HTML page,
// the JUnit file and GitHub's annotation lines.
//
// The model is benchstat's cmd/benchstat/internal/benchtab: a table is built
// once from results, with cells that keep the value they show, and each
// writer takes from a cell what its format needs: text and Markdown the
// formatted figure ("1.23s", "12.3%"), CSV the number in the column's unit.
//
// Only cmd/hishamos-perf imports this package; it imports the domain
// packages (analyze, indexes, migrate, bench, demo, profiles) and never the
// other way round (docs/architecture.md).
package report

import (
	"github.com/hishamos/hishamos-perf/internal/render"
)

// Doc is one command's output.
type Doc struct {
	// JSON is what --format json writes: the domain's document, as it is.
	JSON any
	// Blocks are laid out one after another, a blank line apart, by the
	// text, Markdown and CSV writers.
	Blocks []Block
	// Shorter, when set, gives a shorter version of the document when its
	// Markdown is over the limit (see Writer.MarkdownLimit), or false when
	// there is nothing left to cut: each builder decides what goes first.
	Shorter func() (*Doc, bool)
	// benchmarks, when set, gives the Go benchmark lines of
	// --format benchstat; only bench has them.
	benchmarks func() []benchRecord
	// jsonOnly documents are written as JSON whatever the format: another
	// tool's report (atlas migrate lint's).
	jsonOnly bool
}

// Block is one part of a Doc: a *Table, a *KV, a *Tree or a *Para.
type Block interface{ block() }

// Tone colours a row or a tree node on a terminal.
type Tone = render.Tone

// The tones, from plain to alarming.
const (
	Plain = render.Plain
	Good  = render.Good
	Bad   = render.Bad
	Warn  = render.Warn
	Dim   = render.Dim
	Bold  = render.Bold
)

// Table is a titled table of typed cells.
type Table struct {
	Title   string
	Columns []Column
	Rows    []Row
	// Note is printed under the table in text and Markdown.
	Note string
}

// Column is one column of a Table.
type Column struct {
	// Name heads the column.
	Name string
	// Right aligns the column right (numbers).
	Right bool
	// Wrap marks free text (reasons, messages) that the text format
	// wraps, so a table stays inside a terminal.
	Wrap bool
	// CSV heads the column in CSV when its values are in a unit the name
	// does not say ("total ms" for a column that shows "1.23s"); Name when
	// empty.
	CSV string
	// DataOnly columns are written in CSV only: what a terminal has no
	// room for (a statement's whole text, its query id), or the raw
	// fields a TextOnly column joins.
	DataOnly bool
	// TextOnly columns are left out of CSV: a cell that joins several
	// values for reading ("+1.2% to +3.4%"), given to CSV as DataOnly
	// columns of their own.
	TextOnly bool
}

// Row is one row of a Table.
type Row struct {
	Cells []Cell
	Tone  Tone
}

// Cell is one cell: the text that text and Markdown show, and the value it
// stands for, which CSV writes.
type Cell struct {
	Text string
	// Value is what CSV writes: an int, an int64 or a float64 in the
	// column's unit, a string, a bool, or None for no value. Nil means
	// Text.
	Value any
}

// none is the Value of a cell with no value.
type none struct{}

// None is a cell Value meaning "no value": CSV writes an empty field.
var None any = none{}

// Str is a cell of text.
func Str(s string) Cell { return Cell{Text: s} }

// Int is a cell of a whole number, written in full.
func Int[T ~int | ~int64](n T) Cell { return Cell{Text: itoa(int64(n)), Value: int64(n)} }

// Num is a cell showing text for the number v.
func Num[T ~int | ~int64 | ~float64](v T, text string) Cell { return Cell{Text: text, Value: v} }

// Dash is a cell with no value: "-" in text, an empty field in CSV.
func Dash() Cell { return Cell{Text: "-", Value: None} }

// Blank is an empty cell: nothing in text, an empty field in CSV.
func Blank() Cell { return Cell{Value: None} }

// Full is a cell showing text (cut or decorated) for the string full,
// which CSV writes whole.
func Full(text, full string) Cell { return Cell{Text: text, Value: full} }

func (*Table) block() {}

// KV is a titled list of keys and values, printed as a table without a
// header.
type KV struct {
	Title string
	Items []Item
	Note  string
}

// Item is one key and its value. Data, when set, splits the value into
// the raw fields CSV writes instead, one row each ("cost before",
// "cost after" for "1.00 → 0.50 (50.0% lower)").
type Item struct {
	Key   string
	Value Cell
	Data  []Field
}

// Field is one named raw value of an Item.
type Field struct {
	Key   string
	Value any
}

func (*KV) block() {}

// Node is one entry of a Tree: a line, detail lines under it, children.
type Node = render.TreeNode

// Tree is a titled tree, drawn with guides in text and in a fenced block in
// Markdown. CSV writes Data, the tree's content as a table, when the
// builder gives one, and nothing otherwise.
type Tree struct {
	Title string
	Root  *Node
	Note  string
	Data  *Table
}

func (*Tree) block() {}

// Para is a paragraph of text, printed as it is in text and Markdown and
// left out of CSV.
type Para struct {
	Text string
	// Tight leaves out the blank line between the paragraph and the
	// block after it.
	Tight bool
	// Code, when set, is the language of text that Markdown fences as
	// code ("diff"); text prints it as it is.
	Code string
}

func (*Para) block() {}
