package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// writeCSV writes every table of doc (a tree's Data, a key/value list as
// two columns) as CSV: a header row, then a row per row, each field the
// cell's value (a number in the column's unit, never "12.3 ms"). Tables
// follow one another a blank line apart, each under a "# title" comment
// line when the document has more than one (csv.Reader's Comment, pandas'
// comment="#"), unless quiet; a document of one table is a plain CSV file.
// Paragraphs, notes and trees without Data are left out: CSV is the data.
func writeCSV(w io.Writer, doc *Doc, quiet bool) error {
	var tables []*Table
	for _, b := range doc.Blocks {
		switch b := b.(type) {
		case *Table:
			tables = append(tables, b)
		case *KV:
			tables = append(tables, b.table())
		case *Tree:
			if b.Data != nil {
				tables = append(tables, b.Data)
			}
		}
	}
	cw := &csvWriter{w: w}
	for i, t := range tables {
		if i > 0 {
			cw.line("")
		}
		if len(tables) > 1 && !quiet && t.Title != "" {
			cw.line("# " + oneLine(t.Title))
		}
		var keep []int
		var header []string
		for j, c := range t.Columns {
			if c.TextOnly {
				continue
			}
			keep = append(keep, j)
			name := c.Name
			if c.CSV != "" {
				name = c.CSV
			}
			header = append(header, name)
		}
		cw.write(header)
		for _, row := range t.Rows {
			fields := make([]string, len(keep))
			for k, j := range keep {
				if j < len(row.Cells) {
					fields[k] = csvField(row.Cells[j])
				}
			}
			cw.write(fields)
		}
	}
	if cw.err != nil {
		return fmt.Errorf("report: csv: %w", cw.err)
	}
	return nil
}

// csvWriter writes RFC 4180 records as encoding/csv does, but also quotes
// a field that starts with "#", so that no record reads as the comment
// line that titles a table ("#" heads a column of ranks).
type csvWriter struct {
	w   io.Writer
	err error
}

// line writes s and a newline.
func (c *csvWriter) line(s string) {
	if c.err == nil {
		_, c.err = io.WriteString(c.w, s+"\n")
	}
}

// write writes one record.
func (c *csvWriter) write(fields []string) {
	quoted := make([]string, len(fields))
	for i, f := range fields {
		if f == "" || !(strings.ContainsAny(f, ",\"\r\n") || strings.HasPrefix(f, "#") || f[0] == ' ' || f[0] == '\t') {
			quoted[i] = f
			continue
		}
		quoted[i] = `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
	}
	c.line(strings.Join(quoted, ","))
}

// csvField is the value a cell stands for, as CSV writes it.
func csvField(c Cell) string {
	switch v := c.Value.(type) {
	case nil:
		return c.Text
	case none:
		return ""
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return fmt.Sprint(c.Value)
}

// table is kv as a table of two columns, "field" and "value", with each
// item's Data as rows of their own.
func (kv *KV) table() *Table {
	t := &Table{Title: kv.Title, Columns: []Column{{Name: "field"}, {Name: "value"}}}
	for _, it := range kv.Items {
		if len(it.Data) == 0 {
			t.Rows = append(t.Rows, Row{Cells: []Cell{Str(it.Key), it.Value}})
			continue
		}
		for _, f := range it.Data {
			t.Rows = append(t.Rows, Row{Cells: []Cell{Str(f.Key), {Value: f.Value}}})
		}
	}
	return t
}

// oneLine folds a title onto one line for a CSV comment.
func oneLine(s string) string {
	out := []rune{}
	for _, r := range s {
		if r == '\n' || r == '\r' {
			r = ' '
		}
		out = append(out, r)
	}
	return string(out)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
