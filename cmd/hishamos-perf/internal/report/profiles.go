package report

import (
	"fmt"
	"strings"

	"github.com/hishamos/hishamos-perf/profiles"
)

// schemaProfiles is `profiles list --format json`'s schema id.
const schemaProfiles = "hishamos-perf/profiles/v1"

// maxDescription keeps a description cell inside a 100-column terminal next
// to the other columns of `profiles list`.
const maxDescription = 60

// ProfilesReport is the document `profiles list --format json` writes.
type ProfilesReport struct {
	Schema   string             `json:"schema"`
	Profiles []profiles.Summary `json:"profiles"`
}

// Profiles lays out the built-in profiles, one row each.
func Profiles(list []profiles.Summary) *Doc {
	t := &Table{Title: "Built-in profiles", Columns: []Column{{Name: "name"}, {Name: "dataset"}, {Name: "statements", Right: true},
		{Name: "indexes", Right: true}, {Name: "description"}}}
	for _, s := range list {
		t.Rows = append(t.Rows, Row{Cells: []Cell{Str(s.Name), Str(s.Dataset), Int(s.Statements), Int(s.Indexes),
			Full(firstSentence(s.Description), s.Description)}})
	}
	return &Doc{JSON: ProfilesReport{schemaProfiles, list}, Blocks: []Block{t}}
}

// Profile lays a profile out as its statements (with their weights and
// parameter generators) and its hand-picked indexes, with the improvement
// it expects under them; JSON is the whole profile.
func Profile(p *profiles.Profile) *Doc {
	stmts := &Table{
		Title:   fmt.Sprintf("Profile %s: %s", p.Name, firstSentence(p.Description)),
		Columns: []Column{{Name: "statement"}, {Name: "weight", Right: true}, {Name: "parameters"}, {Name: "indexes"}, {Name: "pair"}, {Name: "sql", DataOnly: true}},
	}
	for _, s := range p.Statements {
		var params []string
		for i, prm := range s.Params {
			params = append(params, fmt.Sprintf("$%d %s", i+1, describeParam(prm)))
		}
		pair := ""
		if s.Pair != "" {
			pair = fmt.Sprintf("%s of %s", s.Variant, s.Pair)
		}
		stmts.Rows = append(stmts.Rows, Row{Cells: []Cell{Str(s.Name), Num(s.Weight, fmt.Sprint(s.Weight)), Str(strings.Join(params, "; ")),
			Str(strings.Join(s.Indexes, ", ")), Str(pair), Str(s.SQL)}})
	}
	idx := &Table{Title: "Hand-picked indexes", Columns: []Column{{Name: "name"}, {Name: "table"}, {Name: "columns"}, {Name: "targets"}}}
	for _, i := range p.Indexes {
		idx.Rows = append(idx.Rows, Row{Cells: []Cell{Str(i.Name), Str(i.Table), Str(strings.Join(i.Columns, ", ")), Str(strings.Join(p.Targets(i.Name), ", "))}})
	}
	if p.Expect != nil {
		idx.Note = fmt.Sprintf("expected: %g–%g%% faster on the targeted statements (%s)", p.Expect.MinPercent, p.Expect.MaxPercent, p.Expect.Source)
	}
	return &Doc{JSON: p, Blocks: []Block{stmts, idx}}
}

func describeParam(p profiles.Param) string {
	switch p.Kind {
	case profiles.Sample:
		if p.Skew != "" {
			return fmt.Sprintf("sample %s (%s)", p.From, p.Skew)
		}
		return "sample " + p.From
	case profiles.Recent:
		return fmt.Sprintf("recent %s - %s", p.From, p.Window)
	case profiles.Choice:
		vals := make([]string, len(p.Values))
		for i, v := range p.Values {
			vals[i] = fmt.Sprint(v)
		}
		return "choice " + strings.Join(vals, "|")
	case profiles.IntRange:
		if p.Min != nil && p.Max != nil {
			return fmt.Sprintf("int_range %d..%d", *p.Min, *p.Max)
		}
	case profiles.Const:
		return fmt.Sprintf("const %v", p.Value)
	}
	return string(p.Kind)
}

// firstSentence keeps a description to its first sentence, for one table row.
func firstSentence(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i+1]
	}
	if r := []rune(s); len(r) > maxDescription {
		s = string(r[:maxDescription-1]) + "…"
	}
	return s
}
