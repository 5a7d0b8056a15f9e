package report

import (
	"fmt"
	"strings"

	"github.com/hishamos/hishamos-perf/migrate"
)

// schemaPlan is `indexes plan --format json`'s schema id.
const schemaPlan = "hishamos-perf/plan/v1"

// PlanReport is the document `indexes plan --format json` writes.
type PlanReport struct {
	Schema string               `json:"schema"`
	Emit   string               `json:"emit"`
	Plan   *migrate.PlanResult  `json:"plan,omitempty"`
	Django []migrate.DjangoFile `json:"django,omitempty"`
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

// Django lays out the Django migrations indexes plan --emit django wrote.
func Django(files []migrate.DjangoFile, emit, schemaNote string) *Doc {
	t := &Table{Title: "Django migrations", Columns: []Column{{Name: "app"}, {Name: "file"}, {Name: "depends on"}, {Name: "indexes"}}}
	for _, f := range files {
		t.Rows = append(t.Rows, Row{Cells: []Cell{Str(f.App), Str(f.Path), Str(f.Dependency), Str(strings.Join(f.Indexes, ", "))}})
	}
	t.Note = "each runs with atomic = False: AddIndexConcurrently cannot run in a transaction"
	if schemaNote != "" {
		t.Note += "\n" + schemaNote
	}
	return &Doc{JSON: PlanReport{Schema: schemaPlan, Emit: emit, Django: files}, Blocks: []Block{t}}
}
