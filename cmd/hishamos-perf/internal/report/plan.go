package report

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hishamos/hishamos-perf/migrate"
)

// schemaPlan is `indexes plan --format json`'s schema id.
const schemaPlan = "hishamos-perf/plan/v1"

// PlanReport is the document `indexes plan --format json` writes. Django
// (the files) is as it was; the rest of what --emit django made is in
// DjangoIndexes (each index: its app, model, where they came from, how it
// is built, its Meta line), DjangoPatch (the models files' patch) and
// DjangoNotes.
type PlanReport struct {
	Schema        string                `json:"schema"`
	Emit          string                `json:"emit"`
	Plan          *migrate.PlanResult   `json:"plan,omitempty"`
	Django        []migrate.DjangoFile  `json:"django,omitempty"`
	DjangoIndexes []migrate.DjangoIndex `json:"django_indexes,omitempty"`
	DjangoPatch   string                `json:"django_patch,omitempty"`
	DjangoNotes   []string              `json:"django_notes,omitempty"`
}

// Plan lays out the migrations indexes plan wrote, with what it decided
// about schemas (schemaNote) and what it skipped.
func Plan(res *migrate.PlanResult, emit, schemaNote string) *Doc {
	t := &Table{Title: "Planned migrations in " + res.Dir,
		Columns: []Column{{Name: "version"}, {Name: "index"}, {Name: "table"}, {Name: "file"}, {Name: "down file", DataOnly: true}}}
	for _, f := range res.Files {
		t.Rows = append(t.Rows, Row{Cells: []Cell{Str(f.Version), Str(f.Index), Str(f.Table), Str(f.File), Str(f.DownFile)}})
	}
	var notes []string
	if schemaNote != "" {
		notes = append(notes, schemaNote)
	}
	for _, f := range res.Files {
		if f.Partitions > 0 {
			notes = append(notes, fmt.Sprintf("%s: %s is partitioned: made ON ONLY it, built CONCURRENTLY on each of its %d partitions and attached", f.Index, f.Table, f.Partitions))
		}
	}
	for _, s := range res.Skipped {
		notes = append(notes, fmt.Sprintf("skipped %s: %s", s.Index, s.Reason))
	}
	if len(res.Files) > 0 {
		notes = append(notes, fmt.Sprintf("%d file(s) and their down files written, atlas.sum updated; next: hishamos-perf indexes apply --dir %s", len(res.Files), res.Dir))
	} else {
		notes = append(notes, "nothing new to plan")
	}
	t.Note = strings.Join(notes, "\n")
	return &Doc{JSON: PlanReport{Schema: schemaPlan, Emit: emit, Plan: res}, Blocks: []Block{t}}
}

// Django lays out what indexes plan --emit django wrote: the migrations,
// each index with where its model came from and how it is built, the
// lines each model's Meta.indexes needs, and the patch that adds them
// (printed, or where it was written: patchFile) for a project (project,
// its folder).
func Django(res *migrate.DjangoResult, emit, schemaNote, project, patchFile string) *Doc {
	files := &Table{Title: "Django migrations", Columns: []Column{{Name: "app"}, {Name: "file"}, {Name: "depends on", Wrap: true}, {Name: "from", CSV: "dependency source"}, {Name: "indexes", Wrap: true}}}
	for _, f := range res.Files {
		deps := make([]string, len(f.Dependencies))
		for i, d := range f.Dependencies {
			deps[i] = d[0] + "." + d[1]
		}
		files.Rows = append(files.Rows, Row{Cells: []Cell{Str(f.App), Str(f.Path), Str(strings.Join(deps, ", ")), Str(f.DependencySource), Str(strings.Join(f.Indexes, ", "))}})
	}
	files.Note = "each runs with atomic = False: CREATE INDEX CONCURRENTLY cannot run in a transaction"
	if len(res.Files) == 0 {
		files.Note = "nothing new to plan: a migration of the project creates every index already"
	}
	if schemaNote != "" {
		files.Note += "\n" + schemaNote
	}
	ixs := &Table{Title: "Indexes", Columns: []Column{{Name: "table"}, {Name: "model"}, {Name: "model from", CSV: "model source"}, {Name: "built by"}, {Name: "name"}, {Name: "why", DataOnly: true}}}
	var whys []string
	for _, ix := range res.Indexes {
		model := ix.App + "." + ix.Model
		if ix.Class != "" {
			model = ix.App + "." + ix.Class
		}
		ixs.Rows = append(ixs.Rows, Row{Cells: []Cell{Str(ix.Table), Str(model), Str(ix.Source), Str(ix.Operation), Str(ix.Name), Str(ix.Why)}})
		if ix.Why != "" {
			whys = append(whys, ix.Name+": "+ix.Why)
		}
	}
	ixs.Note = strings.Join(whys, "\n")
	doc := &Doc{JSON: PlanReport{Schema: schemaPlan, Emit: emit, Django: res.Files, DjangoIndexes: res.Indexes, DjangoPatch: res.Patch, DjangoNotes: res.Notes},
		Blocks: []Block{files, ixs}}
	// The Meta lines, model by model, in the order the indexes came.
	var lines []string
	var order []string
	byModel := map[string][]migrate.DjangoIndex{}
	for _, ix := range res.Indexes {
		if ix.Meta == "" || ix.InMeta {
			continue
		}
		key := ix.App + "." + ix.Model
		if ix.Class != "" {
			key = ix.App + "." + ix.Class
		}
		if _, ok := byModel[key]; !ok {
			order = append(order, key)
		}
		byModel[key] = append(byModel[key], ix)
	}
	for _, key := range order {
		ixs := byModel[key]
		where := ""
		if f := ixs[0].ModelsFile; f != "" {
			where = " (" + f + ")"
		}
		lines = append(lines, key+where+", class Meta:", "    indexes = [")
		imports := map[string]bool{}
		for _, ix := range ixs {
			lines = append(lines, "        "+ix.Meta+",")
			for _, imp := range ix.Imports {
				imports[imp] = true
			}
		}
		lines = append(lines, "    ]")
		for _, imp := range sortedKeys(imports) {
			lines = append(lines, "  with "+imp)
		}
	}
	if len(lines) > 0 {
		// The lines are Python to copy: a code block, never wrapped to the
		// width, so a long models.Index(...) keeps its one line and indent.
		doc.Blocks = append(doc.Blocks, &Para{Text: "Add to each model's Meta.indexes (makemigrations --check stays clean only with them):"},
			&Para{Text: strings.Join(lines, "\n"), Code: "python"})
	}
	switch {
	case res.Patch != "" && patchFile != "":
		doc.Blocks = append(doc.Blocks, &Para{Text: fmt.Sprintf("The patch adding them is in %s, not applied: in %s, git apply %s (or patch -p1 < %s)", patchFile, project, patchFile, patchFile)})
	case res.Patch != "":
		doc.Blocks = append(doc.Blocks, &Para{Text: fmt.Sprintf("The patch adding them to the models (not applied; in %s, git apply or patch -p1):", project), Tight: true},
			&Para{Text: strings.TrimRight(res.Patch, "\n"), Code: "diff"})
	}
	if len(res.Notes) > 0 {
		doc.Blocks = append(doc.Blocks, &Para{Text: strings.Join(res.Notes, "\n")})
	}
	return doc
}

// sortedKeys are a set's members in order.
func sortedKeys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
