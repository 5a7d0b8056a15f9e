package report

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sampleDoc is a document of two tables, a key/value list, a tree with and
// one without Data, and a paragraph.
func sampleDoc() *Doc {
	t := &Table{Title: "Latency", Note: "a note",
		Columns: []Column{{Name: "statement"}, {Name: "p50", Right: true, CSV: "p50 ms"}, {Name: "CI", TextOnly: true},
			{Name: "ci low %", DataOnly: true}, {Name: "buffers", Right: true}},
		Rows: []Row{
			{Cells: []Cell{Full("a *", "a"), Num(1234.5678, "1.23s"), Str("-1.0% to +2.0%"), {Value: -1.0}, Num(int64(12), "12")}},
			{Tone: Bad, Cells: []Cell{Str("b, with a comma"), Num(0.5, "0.50ms"), Str("∞"), {Value: None}, Dash()}},
		}}
	kv := &KV{Title: "Workload", Items: []Item{
		{Key: "source", Value: Str("profile hishamos")},
		{Key: "total cost", Value: Str("10.00 → 5.00 (50.0% lower)"), Data: []Field{{"cost before", 10.0}, {"cost after", 5.0}}},
	}}
	tree := &Tree{Title: "Plan", Root: &Node{Text: "Seq Scan"}, Data: &Table{Title: "Plan", Columns: []Column{{Name: "node"}, {Name: "cost"}},
		Rows: []Row{{Cells: []Cell{Str("Seq Scan"), {Value: 42.25}}}}}}
	return &Doc{JSON: map[string]int{"n": 1}, Blocks: []Block{t, kv, tree, &Tree{Title: "Queries", Root: &Node{Text: "q"}}, &Para{Text: "…and more"}}}
}

// readCSV splits CSV output into its tables (a blank line apart), each
// read with csv.Reader, "#" lines as comments, and returns them with the
// titles the comments gave.
func readCSV(t *testing.T, out string) (titles []string, tables [][][]string) {
	t.Helper()
	for _, part := range strings.Split(strings.TrimSuffix(out, "\n"), "\n\n") {
		if strings.HasPrefix(part, "# ") {
			title, _, _ := strings.Cut(part, "\n")
			titles = append(titles, strings.TrimPrefix(title, "# "))
		}
		r := csv.NewReader(strings.NewReader(part))
		r.Comment = '#'
		rows, err := r.ReadAll()
		if err != nil {
			t.Fatalf("%v\n%s", err, part)
		}
		tables = append(tables, rows)
	}
	return titles, tables
}

// TestCSVWritesValuesNotText: CSV writes every table a header and rows of
// the cells' values (numbers raw in the column's unit, "-" as empty),
// leaves out text-only columns, trees without Data, notes and paragraphs,
// splits a key/value item into its fields, and titles each table.
func TestCSVWritesValuesNotText(t *testing.T) {
	var buf bytes.Buffer
	if err := (&Writer{Out: &buf, Format: CSV}).Write(sampleDoc()); err != nil {
		t.Fatal(err)
	}
	titles, tables := readCSV(t, buf.String())
	want := [][][]string{
		{{"statement", "p50 ms", "ci low %", "buffers"}, {"a", "1234.5678", "-1", "12"}, {"b, with a comma", "0.5", "", ""}},
		{{"field", "value"}, {"source", "profile hishamos"}, {"cost before", "10"}, {"cost after", "5"}},
		{{"node", "cost"}, {"Seq Scan", "42.25"}},
	}
	if diff := cmp.Diff(want, tables); diff != "" {
		t.Errorf("tables (-want +got):\n%s\n%s", diff, buf.String())
	}
	if diff := cmp.Diff([]string{"Latency", "Workload", "Plan"}, titles); diff != "" {
		t.Errorf("titles (-want +got):\n%s", diff)
	}
	for _, text := range []string{"a note", "…and more", "Queries", "1.23s", "∞"} {
		if strings.Contains(buf.String(), text) {
			t.Errorf("CSV holds %q, which is for reading, not data:\n%s", text, buf.String())
		}
	}

	buf.Reset()
	if err := (&Writer{Out: &buf, Format: CSV, Quiet: true}).Write(sampleDoc()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "#") {
		t.Errorf("-q kept the titles:\n%s", buf.String())
	}
	one := &Doc{Blocks: []Block{sampleDoc().Blocks[0]}}
	buf.Reset()
	if err := (&Writer{Out: &buf, Format: CSV}).Write(one); err != nil {
		t.Fatal(err)
	}
	if rows, err := csv.NewReader(strings.NewReader(buf.String())).ReadAll(); err != nil || len(rows) != 3 || rows[0][0] != "statement" {
		t.Errorf("a document of one table is not a plain CSV file (%v):\n%s", err, buf.String())
	}
}

// TestMarkdownCut: Markdown over the limit takes the builder's shorter
// versions until one fits, and writes the last one when none does.
func TestMarkdownCut(t *testing.T) {
	doc := func(rows int) *Doc {
		tb := &Table{Title: fmt.Sprintf("%d rows", rows), Columns: []Column{{Name: "n"}}}
		for i := range rows {
			tb.Rows = append(tb.Rows, Row{Cells: []Cell{Int(i)}})
		}
		return &Doc{Blocks: []Block{tb}}
	}
	var chain func(rows int) *Doc
	chain = func(rows int) *Doc {
		d := doc(rows)
		if rows > 1 {
			d.Shorter = func() (*Doc, bool) { return chain(rows / 2), true }
		}
		return d
	}
	var buf bytes.Buffer
	if err := (&Writer{Out: &buf, Format: Markdown, MarkdownLimit: 500}).Write(chain(1000)); err != nil {
		t.Fatal(err)
	}
	if buf.Len() > 500 || !strings.HasPrefix(buf.String(), "### 62 rows\n") {
		t.Errorf("%d bytes, starting %.20q; want the first version under 500 bytes (62 rows)", buf.Len(), buf.String())
	}
	buf.Reset()
	if err := (&Writer{Out: &buf, Format: Markdown, MarkdownLimit: 10}).Write(chain(1000)); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "### 1 rows\n") {
		t.Errorf("nothing fits in 10 bytes: want the shortest version, got %.20q", buf.String())
	}
	// Text is never cut.
	buf.Reset()
	if err := (&Writer{Out: &buf, Format: Text}).Write(chain(1000)); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "1000 rows\n") {
		t.Errorf("text was cut: %.20q", buf.String())
	}
}

// TestTextAndMarkdownLayBlocksOut: text and Markdown write the blocks a
// blank line apart, trees without their Data, a key/value list without a
// header, and -q drops titles and notes.
func TestTextAndMarkdownLayBlocksOut(t *testing.T) {
	var text, md, quiet bytes.Buffer
	for _, c := range []struct {
		w *bytes.Buffer
		f Format
		q bool
	}{{&text, Text, false}, {&md, Markdown, false}, {&quiet, Text, true}} {
		if err := (&Writer{Out: c.w, Format: c.f, Quiet: c.q}).Write(sampleDoc()); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []string{"Latency\n┌", "│ a *             │  1.23s │ -1.0% to +2.0% │      12 │", "│ b, with a comma │ 0.50ms │ ∞              │       - │", "\na note\n"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("text lacks %q:\n%s", s, text.String())
		}
	}
	if strings.Contains(text.String(), "ci low") {
		t.Errorf("text shows a data-only column:\n%s", text.String())
	}
	for _, s := range []string{"\n\nWorkload\n", "│ source     │ profile hishamos", "\n\nPlan\nSeq Scan\n", "\n\nQueries\nq\n", "\n\n…and more\n"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("text lacks %q:\n%s", s, text.String())
		}
	}
	for _, s := range []string{"### Latency\n", "| a \\* ", "### Plan\n\n```\nSeq Scan\n```\n", "…and more"} {
		if !strings.Contains(md.String(), s) && !strings.Contains(md.String(), strings.ReplaceAll(s, `\*`, "*")) {
			t.Errorf("markdown lacks %q:\n%s", s, md.String())
		}
	}
	if strings.Contains(quiet.String(), "Latency") || strings.Contains(quiet.String(), "a note") {
		t.Errorf("-q kept a title or note:\n%s", quiet.String())
	}
}

// TestParseFormat: every format --format takes, and a refusal that lists
// them.
func TestParseFormat(t *testing.T) {
	for _, f := range Formats {
		if got, err := ParseFormat(string(f)); err != nil || got != f {
			t.Errorf("ParseFormat(%s) = %q, %v", f, got, err)
		}
	}
	_, err := ParseFormat("yaml")
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), `unknown format "yaml": use one of table, json, markdown, csv, benchstat`) {
		t.Errorf("ParseFormat(yaml) err = %v; want ErrFormat listing the formats", err)
	}
}
