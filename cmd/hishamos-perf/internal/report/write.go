package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/hishamos/hishamos-perf/internal/render"
)

// MarkdownLimit keeps Markdown output under GitHub's 65,536-character limit
// for a pull-request comment, with room for a heading around it.
const MarkdownLimit = 60_000

// MarkdownLimitKB is MarkdownLimit as the notes of a cut document say it.
const MarkdownLimitKB = MarkdownLimit / 1000

// Writer writes documents in one format.
type Writer struct {
	Out    io.Writer
	Format Format
	// Color enables ANSI colours in text (a terminal, without NO_COLOR
	// or --no-color).
	Color bool
	// Quiet drops titles and notes, leaving the data.
	Quiet bool
	// Width is how wide text tables may be; 0 means render.DefaultWidth.
	Width int
	// MarkdownLimit is the most bytes Markdown output may take while the
	// document can be cut (Doc.Shorter); 0 means MarkdownLimit.
	MarkdownLimit int
}

// New makes a writer on out; colour is on only for text on a terminal when
// neither noColor nor the NO_COLOR variable asks otherwise, and the width
// is COLUMNS's or the terminal's.
func New(out io.Writer, format Format, noColor, quiet bool, getenv func(string) string) *Writer {
	r := render.New(out, render.FormatTable, noColor, getenv)
	return &Writer{Out: out, Format: format, Color: format == Text && r.Color, Quiet: quiet, Width: r.Width}
}

// Write writes doc in the writer's format.
func (w *Writer) Write(doc *Doc) error { return w.WriteContext(context.Background(), doc) }

// WriteContext is Write, stopping with ctx's error between the blocks of
// text and Markdown once ctx is done.
func (w *Writer) WriteContext(ctx context.Context, doc *Doc) error {
	if doc.jsonOnly {
		return writeJSON(w.Out, doc.JSON)
	}
	switch w.Format {
	case JSON:
		return writeJSON(w.Out, doc.JSON)
	case Benchstat:
		if doc.benchmarks == nil {
			return &unsupportedError{format: Benchstat}
		}
		return writeBenchmarks(w.Out, doc.benchmarks())
	case CSV:
		return writeCSV(w.Out, doc, w.Quiet)
	case Markdown:
		return w.markdown(ctx, doc)
	}
	return w.blocks(ctx, w.renderer(render.FormatTable, w.Out), doc)
}

// renderer is internal/render's writer for text or Markdown on out.
func (w *Writer) renderer(f render.Format, out io.Writer) *render.Renderer {
	return &render.Renderer{Out: out, Format: f, Color: w.Color && f == render.FormatTable, Quiet: w.Quiet, Width: w.Width}
}

// markdown writes doc as Markdown; while it is longer than the limit and
// the builder can cut it (Doc.Shorter), the shorter version is tried.
func (w *Writer) markdown(ctx context.Context, doc *Doc) error {
	limit := w.MarkdownLimit
	if limit <= 0 {
		limit = MarkdownLimit
	}
	var buf bytes.Buffer
	for {
		buf.Reset()
		if err := w.blocks(ctx, w.renderer(render.FormatMarkdown, &buf), doc); err != nil {
			return err
		}
		if buf.Len() <= limit || doc.Shorter == nil {
			break
		}
		next, ok := doc.Shorter()
		if !ok {
			break
		}
		doc = next
	}
	_, err := w.Out.Write(buf.Bytes())
	return err
}

// blocks writes doc's blocks as text or Markdown, a blank line apart.
func (w *Writer) blocks(ctx context.Context, r *render.Renderer, doc *Doc) error {
	for i, b := range doc.Blocks {
		if err := ctx.Err(); err != nil {
			return err
		}
		if p, tight := doc.Blocks[max(i-1, 0)].(*Para); i > 0 && !(tight && p.Tight) {
			fmt.Fprintln(r.Out)
		}
		var err error
		switch b := b.(type) {
		case *Table:
			err = r.Render(nil, b.render())
		case *KV:
			err = r.Render(nil, b.render())
		case *Tree:
			err = r.Tree(b.Title, b.Root, b.Note)
		case *Para:
			if b.Code != "" && w.Format == Markdown {
				_, err = fmt.Fprintf(r.Out, "```%s\n%s\n```\n", b.Code, b.Text)
				break
			}
			_, err = fmt.Fprintln(r.Out, b.Text)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// render is t as internal/render lays it out; data-only columns are left
// out.
func (t *Table) render() render.Table {
	out := render.Table{Title: t.Title, Note: t.Note}
	var keep []int
	for i, c := range t.Columns {
		if c.DataOnly {
			continue
		}
		if c.Right {
			out.Right = append(out.Right, len(keep))
		}
		if c.Wrap {
			out.Wrap = append(out.Wrap, len(keep))
		}
		out.Header = append(out.Header, c.Name)
		keep = append(keep, i)
	}
	for _, row := range t.Rows {
		cells := make([]string, 0, len(keep))
		for _, i := range keep {
			if i < len(row.Cells) {
				cells = append(cells, row.Cells[i].Text)
			}
		}
		out.Rows = append(out.Rows, cells)
		out.Tones = append(out.Tones, row.Tone)
	}
	return out
}

// render is kv as a table without a header.
func (kv *KV) render() render.Table {
	out := render.Table{Title: kv.Title, Note: kv.Note}
	for _, it := range kv.Items {
		out.Rows = append(out.Rows, []string{it.Key, it.Value.Text})
	}
	return out
}

// writeJSON writes v indented, with a trailing newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
