package render

import (
	"slices"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
)

// The text layout of a table: columns two spaces apart under a header and
// a rule, one line per row, fitted to the terminal's width (psql's aligned
// format without its borders, as gh, kubectl and cargo print lists). What
// does not fit is made narrower, in this order, the widest column first: a
// header wraps at its spaces, an identifier is elided in the middle
// (agents_agen…status_idx: the start and the end of a name say most), the
// columns a builder marked optional are left out (a note says which), and
// identifiers go narrower still. Numbers (Table.Right) and values
// (Table.Whole: "-1.2% to +3.4%", "improved") are never cut, and free
// text (Table.Wrap) is never wrapped into a narrow cell: a table that
// still does not fit, or whose free text does not fit on its line, is
// drawn as records instead, one block per row of "column  value" lines
// wrapped to the width, as psql's expanded display (\x auto) does.
const (
	// colGap is the space between two columns.
	colGap = 2
	// minWrap is the narrowest text is wrapped to beside guides or labels,
	// minWrapHard the narrowest it ever gets.
	minWrap, minWrapHard = 20, 10
	// minElide is the narrowest an identifier is elided to before
	// optional columns are left out, and minElideHard the narrowest it
	// ever gets: four characters either side of "…" still tell names
	// apart.
	minElide, minElideHard = 16, 9
	// recordIndent is how far a record's lines are indented under the
	// row's first cell.
	recordIndent = 2
)

// cut is how a column's cells are made to fit.
type cut int

const (
	cutElide cut = iota // identifiers and other text: elided in the middle
	cutWrap             // free text: whole on its line, or the table becomes records
	cutNone             // numbers and values: never cut
)

// layout is a table laid out for a width: the text width of each column,
// how its cells are cut, the header's lines per column, the columns left
// out, and whether the table is drawn as records.
type layout struct {
	widths  []int
	cuts    []cut
	header  [][]string
	dropped []int
	records bool
	limit   int
	// wrapInCell is set for a list of keys and values (no header), whose
	// free text wraps beside its key.
	wrapInCell bool
}

// textWidth is the display width of the widest line of s.
func textWidth(s string) int {
	w := 0
	for line := range strings.SplitSeq(s, "\n") {
		w = max(w, twwidth.Width(line))
	}
	return w
}

// longestWord is the display width of the longest word of s.
func longestWord(s string) int {
	w := 0
	for _, f := range strings.Fields(s) {
		w = max(w, twwidth.Width(f))
	}
	return w
}

// planLayout fits t into limit columns.
func planLayout(t Table, cols, limit int) layout {
	l := layout{widths: make([]int, cols), cuts: make([]cut, cols), header: make([][]string, cols), limit: limit, wrapInCell: len(t.Header) == 0}
	cells := make([]int, cols)   // the widest cell
	headMin := make([]int, cols) // the header's longest word
	for _, row := range t.Rows {
		for c, cell := range row {
			if c < cols {
				cells[c] = max(cells[c], textWidth(cell))
			}
		}
	}
	for _, c := range t.Wrap {
		if c < cols {
			l.cuts[c] = cutWrap
		}
	}
	for _, c := range append(slices.Clone(t.Right), t.Whole...) {
		if c < cols {
			l.cuts[c] = cutNone
		}
	}
	for c := range cols {
		head := ""
		if c < len(t.Header) {
			head = t.Header[c]
		}
		headMin[c] = longestWord(head)
		l.widths[c] = max(cells[c], textWidth(head), 1)
	}
	total := func() int {
		n := 0
		shown := 0
		for c, w := range l.widths {
			if !slices.Contains(l.dropped, c) {
				n += w
				shown++
			}
		}
		return n + colGap*max(shown-1, 0)
	}
	// shrink narrows the widest column that floor allows (floor < 0:
	// not this one) until the table fits or none can go narrower.
	shrink := func(floor func(c int) int) {
		for total() > limit {
			widest := -1
			for c, w := range l.widths {
				if slices.Contains(l.dropped, c) {
					continue
				}
				if f := floor(c); f >= 0 && w > f && (widest < 0 || w > l.widths[widest]) {
					widest = c
				}
			}
			if widest < 0 {
				return
			}
			l.widths[widest]--
		}
	}
	elide := func(least int) func(int) int {
		return func(c int) int {
			if l.cuts[c] != cutElide {
				return -1
			}
			return max(least, min(headMin[c], least*2))
		}
	}
	if l.wrapInCell {
		shrink(func(c int) int {
			if l.cuts[c] != cutWrap {
				return -1
			}
			return minWrap
		})
	}
	// Headers wider than their cells wrap at their spaces.
	shrink(func(c int) int { return max(cells[c], headMin[c], 1) })
	shrink(elide(minElide))
	for i := len(t.Optional) - 1; i >= 0 && total() > limit; i-- {
		if c := t.Optional[i]; c < cols && !slices.Contains(l.dropped, c) {
			l.dropped = append(l.dropped, c)
		}
	}
	shrink(elide(minElideHard))
	if total() > limit {
		l.records, l.dropped = true, nil
		return l
	}
	for c := range cols {
		if l.cuts[c] == cutWrap && l.widths[c] < cells[c] && !l.wrapInCell {
			// Free text that does not fit on its line: records.
			l.records, l.dropped = true, nil
			return l
		}
		if c < len(t.Header) {
			l.header[c] = wrap(t.Header[c], l.widths[c])
		}
	}
	return l
}

// cellLines cuts a cell to its column's width.
func (l layout) cellLines(c int, s string) []string {
	w := l.widths[c]
	switch l.cuts[c] {
	case cutWrap:
		if l.wrapInCell {
			return wrap(s, w)
		}
	case cutElide:
		var out []string
		for line := range strings.SplitSeq(s, "\n") {
			out = append(out, ElideMiddle(line, w))
		}
		return out
	}
	return strings.Split(s, "\n")
}

// pad writes s in a column of width w, aligned right for numbers.
func pad(s string, w int, right bool) string {
	gap := max(w-twwidth.Width(s), 0)
	if right {
		return strings.Repeat(" ", gap) + s
	}
	return s + strings.Repeat(" ", gap)
}

// textTable writes t laid out for the renderer's width, and returns a
// note to print under it: the columns it left out, if any.
func (r *Renderer) textTable(b *strings.Builder, t Table) string {
	cols := len(t.Header)
	for _, row := range t.Rows {
		cols = max(cols, len(row))
	}
	if cols == 0 || len(t.Rows) == 0 {
		// A table of nothing is its title and note: a header over no
		// rows says nothing more.
		return ""
	}
	l := planLayout(t, cols, r.width())
	if l.records {
		r.textRecords(b, t, cols)
		return ""
	}
	note := ""
	if len(l.dropped) > 0 {
		t, cols = l.without(t, cols)
		note = t.Note
	}
	right := make([]bool, cols)
	for _, c := range t.Right {
		if c < cols {
			right[c] = true
		}
	}
	line := func(tone Tone, cells []string) {
		b.WriteString(r.Style(tone, strings.TrimRight(strings.Join(cells, strings.Repeat(" ", colGap)), " ")) + "\n")
	}
	if len(t.Header) > 0 {
		height := 0
		for _, h := range l.header {
			height = max(height, len(h))
		}
		for i := range height {
			cells := make([]string, cols)
			for c := range cols {
				// Bottom-aligned: a header of two lines sits on the rule.
				k := i - (height - len(l.header[c]))
				s := ""
				if k >= 0 {
					s = l.header[c][k]
				}
				cells[c] = pad(s, l.widths[c], right[c])
			}
			line(Bold, cells)
		}
		rule := make([]string, cols)
		for c := range cols {
			rule[c] = strings.Repeat("─", l.widths[c])
		}
		line(Dim, rule)
	}
	rows := make([][][]string, len(t.Rows))
	tall := false
	for i, row := range t.Rows {
		rows[i] = make([][]string, cols)
		for c := range cols {
			s := ""
			if c < len(row) {
				s = row[c]
			}
			rows[i][c] = l.cellLines(c, s)
			tall = tall || len(rows[i][c]) > 1
		}
	}
	for i, cellLines := range rows {
		if tall && i > 0 && len(t.Header) > 0 {
			// Rows of several lines each read apart (a list of keys and
			// values reads as it is).
			b.WriteString("\n")
		}
		height := 1
		for _, cl := range cellLines {
			height = max(height, len(cl))
		}
		tone := Plain
		if i < len(t.Tones) {
			tone = t.Tones[i]
		}
		for k := range height {
			cells := make([]string, cols)
			for c := range cols {
				s := ""
				if k < len(cellLines[c]) {
					s = cellLines[c][k]
				}
				cells[c] = pad(s, l.widths[c], right[c])
			}
			line(tone, cells)
		}
	}
	return note
}

// textRecords writes t as records: each row's cells up to its first
// column of free text (or its first cell) as a head line, and its other
// cells as "column  value" lines under it, wrapped to the width.
func (r *Renderer) textRecords(b *strings.Builder, t Table, cols int) {
	limit := r.width()
	lead := 1
	if len(t.Wrap) > 0 {
		lead = max(slices.Min(t.Wrap), 1)
	}
	labelW := 0
	for c := 0; c < cols && c < len(t.Header); c++ {
		if c >= lead || slices.Contains(t.Right, c) {
			labelW = max(labelW, textWidth(t.Header[c]))
		}
	}
	// A label wider than a third of the width wraps at its spaces.
	labelW = min(labelW, max(limit/3, minElideHard))
	valueW := max(limit-recordIndent-labelW-colGap, minWrapHard)
	for i, row := range t.Rows {
		if i > 0 {
			b.WriteString("\n")
		}
		tone := Plain
		if i < len(t.Tones) {
			tone = t.Tones[i]
		}
		// The head: the row's names before its free text; its numbers
		// there go under it with their column's name, but a row that has
		// no name is headed by its first number ("# 3").
		var heads []string
		var under []int
		for c := 0; c < lead && c < len(row); c++ {
			if slices.Contains(t.Right, c) && (c > 0 || lead > 1) {
				under = append(under, c)
				continue
			}
			if slices.Contains(t.Right, c) && len(t.Header) > 0 {
				heads = append(heads, t.Header[c]+" "+row[c])
				continue
			}
			if strings.TrimSpace(row[c]) != "" && row[c] != "-" {
				heads = append(heads, row[c])
			}
		}
		if len(heads) == 0 && len(under) > 0 {
			c := under[0]
			under = under[1:]
			heads = append(heads, t.Header[c]+" "+row[c])
		}
		for _, line := range wrap(strings.Join(heads, " · "), limit) {
			b.WriteString(r.Style(tone, line) + "\n")
		}
		rest := under
		for c := lead; c < cols; c++ {
			rest = append(rest, c)
		}
		for _, c := range rest {
			var labels, values []string
			if c < len(t.Header) {
				labels = wrap(t.Header[c], labelW)
			}
			if c < len(row) {
				values = wrap(row[c], valueW)
			}
			for k := range max(len(labels), len(values)) {
				label, value := "", ""
				if k < len(labels) {
					label = labels[k]
				}
				if k < len(values) {
					value = values[k]
				}
				b.WriteString(strings.TrimRight(strings.Repeat(" ", recordIndent)+pad(label, labelW, false)+strings.Repeat(" ", colGap)+value, " ") + "\n")
			}
		}
	}
}

// without is t and its layout without the columns left out, and a note
// naming them.
func (l *layout) without(t Table, cols int) (Table, int) {
	keep := make([]int, 0, cols)
	var names []string
	for c := range cols {
		if slices.Contains(l.dropped, c) {
			if c < len(t.Header) {
				names = append(names, strings.Join(strings.Fields(t.Header[c]), " "))
			}
			continue
		}
		keep = append(keep, c)
	}
	pick := func(row []string) []string {
		out := make([]string, 0, len(keep))
		for _, c := range keep {
			if c < len(row) {
				out = append(out, row[c])
			} else {
				out = append(out, "")
			}
		}
		return out
	}
	index := func(cs []int) []int {
		var out []int
		for _, c := range cs {
			if k := slices.Index(keep, c); k >= 0 {
				out = append(out, k)
			}
		}
		return out
	}
	n := t
	if len(t.Header) > 0 {
		n.Header = pick(t.Header)
	}
	n.Rows = make([][]string, len(t.Rows))
	for i, row := range t.Rows {
		n.Rows[i] = pick(row)
	}
	n.Right, n.Whole, n.Wrap, n.Optional = index(t.Right), index(t.Whole), index(t.Wrap), nil
	pickInts := func(v []int) []int {
		out := make([]int, 0, len(keep))
		for _, c := range keep {
			out = append(out, v[c])
		}
		return out
	}
	hs := make([][]string, 0, len(keep))
	for _, c := range keep {
		hs = append(hs, l.header[c])
	}
	l.widths, l.header = pickInts(l.widths), hs
	cs := make([]cut, 0, len(keep))
	for _, c := range keep {
		cs = append(cs, l.cuts[c])
	}
	l.cuts, l.dropped = cs, nil
	n.Note = "left out to fit " + strconv.Itoa(l.limit) + " columns: " + strings.Join(names, ", ")
	return n, len(keep)
}

// ElideMiddle shortens s to at most width columns by putting "…" in
// place of its middle: an identifier's start and end say most
// (agents_agentexecution_user_id_status_created_at_idx becomes
// agents_agentex…created_at_idx). Text that fits comes back unchanged.
func ElideMiddle(s string, width int) string {
	if twwidth.Width(s) <= width {
		return s
	}
	if width <= 1 {
		return "…"
	}
	runes := []rune(s)
	keep := width - 1
	headW := (keep + 1) / 2
	tailW := keep - headW
	var head, tail []rune
	w := 0
	for _, r := range runes {
		rw := twwidth.Width(string(r))
		if w+rw > headW {
			break
		}
		head = append(head, r)
		w += rw
	}
	w = 0
	for i := len(runes) - 1; i >= len(head); i-- {
		rw := twwidth.Width(string(runes[i]))
		if w+rw > tailW {
			break
		}
		tail = append([]rune{runes[i]}, tail...)
		w += rw
	}
	return string(head) + "…" + string(tail)
}
