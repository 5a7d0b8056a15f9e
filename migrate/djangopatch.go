package migrate

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// patchContext is how many unchanged lines a hunk shows around a change,
// as diff -u and git diff do.
const patchContext = 3

// lineEdit replaces the old lines [start, end) (0-based) with lines, each
// ending in the file's line ending but for a last line of a file that had
// none.
type lineEdit struct {
	start, end int
	lines      []string
}

// djangoPatch is a unified diff of the project's models files adding each
// index's Meta line to its model's Meta.indexes, with the imports the lines
// need. A model whose Meta the patch cannot change safely (a Meta, or a
// class, that extends another's: an indexes list of its own would drop
// the base's; indexes that are not a list literal) is left out, and its
// entries' Why says to add the line by hand. The files are not changed.
func djangoPatch(p *DjangoProject, entries []*djangoEntry) (string, error) {
	type classAdd struct {
		m       *DjangoProjectModel
		entries []*djangoEntry
	}
	byFile := map[string][]*classAdd{}
	byClass := map[*DjangoProjectModel]*classAdd{}
	for _, e := range entries {
		if e.out.Meta == "" {
			continue
		}
		if e.model == nil {
			e.out.Why = joinWhy(e.out.Why, fmt.Sprintf("the project has no model class for %s.%s: add the Meta line by hand", e.out.App, e.out.Model))
			continue
		}
		ca := byClass[e.model]
		if ca == nil {
			ca = &classAdd{m: e.model}
			byClass[e.model] = ca
			byFile[e.model.File] = append(byFile[e.model.File], ca)
		}
		ca.entries = append(ca.entries, e)
	}
	files := make([]string, 0, len(byFile))
	for f := range byFile {
		files = append(files, f)
	}
	sort.Strings(files)
	var out strings.Builder
	for _, file := range files {
		src, err := os.ReadFile(filepath.Join(p.Dir, file))
		if err != nil {
			return "", fmt.Errorf("migrate: read %s: %w", file, err)
		}
		lines := splitLines(string(src))
		eol := "\n"
		if len(lines) > 0 && strings.HasSuffix(lines[0], "\r\n") {
			eol = "\r\n"
		}
		var edits []lineEdit
		needs := map[pyImport]bool{}
		for _, ca := range byFile[file] {
			var items []string
			var adding []*djangoEntry
			for _, e := range ca.entries {
				if metaHas(ca.m.cls, e.out.Name) {
					e.out.InMeta = true
					continue
				}
				items = append(items, e.out.Meta)
				adding = append(adding, e)
			}
			if len(items) == 0 {
				continue
			}
			ca.entries = adding
			es, why := metaEdits(lines, ca.m.cls, items, eol)
			if why != "" {
				for _, e := range ca.entries {
					e.out.Why = joinWhy(e.out.Why, why+": add the Meta line by hand")
				}
				continue
			}
			edits = append(edits, es...)
			for _, e := range ca.entries {
				e.out.ModelsFile = file
				for i := range e.form.imports {
					needs[i] = true
				}
			}
		}
		if len(edits) == 0 {
			continue
		}
		needs[pyImport{"django.db", "models"}] = true
		if ed, ok := importEdit(lines, p.Files[file], needs, eol); ok {
			edits = append(edits, ed)
		}
		hunks, err := unifiedDiff(filepath.ToSlash(file), lines, edits)
		if err != nil {
			return "", err
		}
		out.WriteString(hunks)
	}
	return out.String(), nil
}

// metaHas reports whether a class's Meta.indexes already names an index
// (a line added before, by the patch or by hand).
func metaHas(c *djangoClass, name string) bool {
	if c.Meta == nil || c.Meta.Indexes == nil {
		return false
	}
	for _, it := range c.Meta.Indexes.Items {
		if strings.Contains(it.Text, pyLiteral(name)) || strings.Contains(it.Text, "'"+name+"'") {
			return true
		}
	}
	return false
}

// joinWhy adds a reason to those already said.
func joinWhy(have, more string) string {
	if have == "" {
		return more
	}
	return have + "; " + more
}

// splitLines cuts text into lines that keep their endings.
func splitLines(text string) []string {
	var lines []string
	for text != "" {
		i := strings.IndexByte(text, '\n')
		if i < 0 {
			lines = append(lines, text)
			break
		}
		lines = append(lines, text[:i+1])
		text = text[i+1:]
	}
	return lines
}

// indentOf is a line's leading whitespace.
func indentOf(line string) string {
	return line[:len(line)-len(strings.TrimLeft(line, " \t"))]
}

// lineAt is line n (1-based), "" past the end.
func lineAt(lines []string, n int) string {
	if n < 1 || n > len(lines) {
		return ""
	}
	return lines[n-1]
}

// insertAfter is an edit putting add after line n (1-based; 0 is the
// top), giving a last line without an ending one first.
func insertAfter(lines []string, n int, add []string, eol string) lineEdit {
	if n > 0 && n == len(lines) && !strings.HasSuffix(lines[n-1], "\n") {
		return lineEdit{start: n - 1, end: n, lines: append([]string{lines[n-1] + eol}, add...)}
	}
	return lineEdit{start: n, end: n, lines: add}
}

// metaEdits are the edits adding items to a model class's Meta.indexes,
// or why the class is left to the developer.
func metaEdits(lines []string, c *djangoClass, items []string, eol string) ([]lineEdit, string) {
	classIndent := indentOf(lineAt(lines, c.Pos.Line))
	line := lineAt(lines, c.BodyLine)
	if c.BodyCol > len(line) {
		return nil, fmt.Sprintf("%s's body could not be read", c.Class)
	}
	bodyIndent := line[:c.BodyCol]
	unit := strings.TrimPrefix(bodyIndent, classIndent)
	if strings.TrimSpace(bodyIndent) != "" || unit == "" {
		return nil, fmt.Sprintf("%s's body does not start on a line of its own", c.Class)
	}
	list := func(indent string) []string {
		out := make([]string, len(items))
		for i, it := range items {
			out[i] = indent + it + "," + eol
		}
		return out
	}
	if c.Meta == nil {
		for _, b := range c.Bases {
			if b != "Model" && !strings.HasSuffix(b, "models.Model") {
				return nil, fmt.Sprintf("%s extends %s, whose Meta a Meta of its own would have to extend", c.Class, b)
			}
		}
		add := []string{eol, bodyIndent + "class Meta:" + eol, bodyIndent + unit + "indexes = [" + eol}
		add = append(add, list(bodyIndent+unit+unit)...)
		add = append(add, bodyIndent+unit+"]"+eol)
		return []lineEdit{insertAfter(lines, c.Pos.EndLine, add, eol)}, ""
	}
	m := c.Meta
	metaLine := lineAt(lines, m.BodyLine)
	if m.BodyCol > len(metaLine) || strings.TrimSpace(metaLine[:m.BodyCol]) != "" {
		return nil, fmt.Sprintf("%s's Meta body does not start on a line of its own", c.Class)
	}
	metaIndent := metaLine[:m.BodyCol]
	ix := m.Indexes
	if ix == nil {
		if len(m.Bases) > 0 {
			return nil, fmt.Sprintf("%s's Meta extends %s, whose indexes a list of its own would drop", c.Class, strings.Join(m.Bases, ", "))
		}
		add := []string{metaIndent + "indexes = [" + eol}
		add = append(add, list(metaIndent+unit)...)
		add = append(add, metaIndent+"]"+eol)
		return []lineEdit{insertAfter(lines, m.Pos.EndLine, add, eol)}, ""
	}
	closeLine := lineAt(lines, ix.Pos.EndLine)
	want := map[string]byte{"List": ']', "Tuple": ')'}[ix.Kind]
	if want == 0 || ix.Pos.EndCol < 1 || ix.Pos.EndCol > len(closeLine) || closeLine[ix.Pos.EndCol-1] != want {
		return nil, fmt.Sprintf("%s's Meta.indexes is not a list written out", c.Class)
	}
	stmtIndent := indentOf(lineAt(lines, ix.Stmt.Line))
	itemIndent := stmtIndent + unit
	needComma := false
	if n := len(ix.Items); n > 0 {
		first := ix.Items[0]
		if pre := lineAt(lines, first.Line); first.Col <= len(pre) && strings.TrimSpace(pre[:first.Col]) == "" {
			itemIndent = pre[:first.Col]
		}
		last := ix.Items[n-1]
		// What lies between the last item and the bracket, comments
		// left out: a comma there, or one is needed.
		between := ""
		for l := last.EndLine; l <= ix.Pos.EndLine; l++ {
			text := lineAt(lines, l)
			from, to := 0, len(text)
			if l == last.EndLine {
				from = last.EndCol
			}
			if l == ix.Pos.EndLine {
				to = ix.Pos.EndCol - 1
			}
			if from > to || to > len(text) {
				return nil, fmt.Sprintf("%s's Meta.indexes could not be read", c.Class)
			}
			seg := text[from:to]
			if i := strings.IndexByte(seg, '#'); i >= 0 {
				seg = seg[:i]
			}
			between += seg
		}
		needComma = !strings.Contains(between, ",")
		if needComma && last.EndLine != ix.Pos.EndLine {
			text := lineAt(lines, last.EndLine)
			edits := []lineEdit{{start: last.EndLine - 1, end: last.EndLine, lines: []string{text[:last.EndCol] + "," + text[last.EndCol:]}}}
			if strings.TrimSpace(closeLine[:ix.Pos.EndCol-1]) != "" {
				return nil, fmt.Sprintf("%s's Meta.indexes could not be read", c.Class)
			}
			edits = append(edits, lineEdit{start: ix.Pos.EndLine - 1, end: ix.Pos.EndLine - 1, lines: list(itemIndent)})
			return edits, ""
		}
	}
	if strings.TrimSpace(closeLine[:ix.Pos.EndCol-1]) == "" {
		// The bracket on a line of its own: the items go before it.
		return []lineEdit{{start: ix.Pos.EndLine - 1, end: ix.Pos.EndLine - 1, lines: list(itemIndent)}}, ""
	}
	// The bracket after other text (indexes = [] or [a]): the items go
	// on lines of their own before it, and it on its own.
	before, after := closeLine[:ix.Pos.EndCol-1], closeLine[ix.Pos.EndCol-1:]
	if needComma {
		before += ","
	}
	repl := []string{strings.TrimRight(before, " \t") + eol}
	repl = append(repl, list(itemIndent)...)
	if !strings.HasSuffix(after, "\n") {
		after += eol
	}
	repl = append(repl, stmtIndent+after)
	return []lineEdit{{start: ix.Pos.EndLine - 1, end: ix.Pos.EndLine, lines: repl}}, ""
}

// importEdit adds the imports a file lacks after its last import, one
// line per module; false when it lacks none.
func importEdit(lines []string, f *djangoModelsFile, needs map[pyImport]bool, eol string) (lineEdit, bool) {
	have := func(i pyImport) bool {
		if f == nil {
			return false
		}
		for _, im := range f.Imports {
			if !im.From || im.Level != 0 || im.Module != i.Module {
				continue
			}
			for _, n := range im.Names {
				if n.Name == "*" || n.Name == i.Name && (n.As == "" || n.As == i.Name) {
					return true
				}
			}
		}
		return false
	}
	byModule := map[string][]string{}
	var modules []string
	for i := range needs {
		if have(i) {
			continue
		}
		if _, ok := byModule[i.Module]; !ok {
			modules = append(modules, i.Module)
		}
		byModule[i.Module] = append(byModule[i.Module], i.Name)
	}
	if len(modules) == 0 {
		return lineEdit{}, false
	}
	sort.Strings(modules)
	var add []string
	for _, m := range modules {
		sort.Strings(byModule[m])
		add = append(add, "from "+m+" import "+strings.Join(byModule[m], ", ")+eol)
	}
	at := 0
	if f != nil {
		at = f.LastImport
	}
	return insertAfter(lines, at, add, eol), true
}

// unifiedDiff writes the edits to old as a unified diff of path (a/ and b/
// prefixed, for git apply and patch -p1).
func unifiedDiff(path string, old []string, edits []lineEdit) (string, error) {
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].start < edits[j].start })
	for i := 1; i < len(edits); i++ {
		if edits[i].start < edits[i-1].end {
			return "", fmt.Errorf("migrate: %s: two changes to the same lines", path)
		}
	}
	type dl struct {
		kind byte
		text string
	}
	var seq []dl
	oi := 0
	for _, e := range edits {
		for ; oi < e.start; oi++ {
			seq = append(seq, dl{' ', old[oi]})
		}
		for ; oi < e.end; oi++ {
			seq = append(seq, dl{'-', old[oi]})
		}
		for _, n := range e.lines {
			seq = append(seq, dl{'+', n})
		}
	}
	for ; oi < len(old); oi++ {
		seq = append(seq, dl{' ', old[oi]})
	}
	var b strings.Builder
	b.WriteString("--- a/" + path + "\n+++ b/" + path + "\n")
	oldLine, newLine := 1, 1
	for i := 0; i < len(seq); {
		if seq[i].kind == ' ' {
			i++
			oldLine++
			newLine++
			continue
		}
		// A hunk: from patchContext lines before this change to
		// patchContext after the last change within reach.
		start := max(i-patchContext, 0)
		end := i
		for j := i; j < len(seq); j++ {
			if seq[j].kind != ' ' {
				end = j + 1
			} else if j-end >= 2*patchContext {
				break
			}
		}
		end = min(end+patchContext, len(seq))
		back := i - start
		os0, ns0 := oldLine-back, newLine-back
		var oc, nc int
		for _, l := range seq[start:end] {
			if l.kind != '+' {
				oc++
			}
			if l.kind != '-' {
				nc++
			}
		}
		ostart, nstart := os0, ns0
		if oc == 0 {
			ostart--
		}
		if nc == 0 {
			nstart--
		}
		fmt.Fprintf(&b, "@@ -%d,%d +%d,%d @@\n", ostart, oc, nstart, nc)
		for _, l := range seq[start:end] {
			b.WriteByte(l.kind)
			b.WriteString(l.text)
			if !strings.HasSuffix(l.text, "\n") {
				b.WriteString("\n\\ No newline at end of file\n")
			}
		}
		for _, l := range seq[i:end] {
			if l.kind != '+' {
				oldLine++
			}
			if l.kind != '-' {
				newLine++
			}
		}
		i = end
	}
	return b.String(), nil
}
