package report

import (
	"fmt"
	"strings"
	"time"

	"ariga.io/atlas-go-sdk/atlasexec"

	"github.com/hishamos/hishamos-perf/migrate"
)

// The schema ids of the migration commands' JSON documents.
const (
	schemaApply    = "hishamos-perf/migrate-apply/v1"
	schemaStatus   = "hishamos-perf/migrate-status/v1"
	schemaValidate = "hishamos-perf/migrate-validate/v1"
	schemaHash     = "hishamos-perf/migrate-hash/v1"
	schemaRepair   = "hishamos-perf/migrate-repair/v1"
	schemaLint     = "hishamos-perf/migrate-lint/v1"
)

// ApplyReport is the document `apply --format json` and `down --format json` write.
type ApplyReport struct {
	Schema string               `json:"schema"`
	Target string               `json:"target"`
	Result *migrate.ApplyResult `json:"result"`
}

// Apply lays out what apply or down did (verb: "Applied", "Reverted"), or
// would do on a dry run, whose statements are its result: under quiet,
// which drops the note that lists them, they are printed before the table.
func Apply(res *migrate.ApplyResult, target, verb string, quiet bool) *Doc {
	title := verb + " in " + res.Dir
	if res.DryRun {
		title = "Dry run: would run, in " + res.Dir
	}
	// The file's name is its version and what it builds: text has the
	// version, and its room goes to the indexes' names; CSV has both.
	t := &Table{Title: title, Columns: []Column{{Name: "version"}, {Name: "file", DataOnly: true}, {Name: "status"}, {Name: "indexes"},
		{Name: "took", CSV: "took ms"}}}
	var steps []string
	for _, f := range res.Files {
		took := Dash()
		if f.Took > 0 {
			took = Num(float64(f.Took)/float64(time.Millisecond), f.Took.Round(time.Millisecond).String())
		}
		t.Rows = append(t.Rows, Row{Cells: []Cell{Str(f.Version), Str(f.File), Str(f.Status), nameList(f.Indexes), took}})
		for _, s := range f.Steps {
			steps = append(steps, fmt.Sprintf("%s: %s", f.Version, s))
		}
	}
	switch {
	case len(res.Files) == 0:
		t.Note = "nothing to do: no pending files"
	case res.DryRun:
		t.Note = "statements:\n" + strings.Join(steps, "\n")
	}
	doc := &Doc{JSON: ApplyReport{Schema: schemaApply, Target: target, Result: res}}
	if res.DryRun && len(steps) > 0 && quiet {
		doc.Blocks = append(doc.Blocks, &Para{Text: strings.Join(steps, "\n"), Tight: true})
	}
	doc.Blocks = append(doc.Blocks, t)
	return doc
}

// AtlasApply lays out what the atlas CLI (binary) applied.
func AtlasApply(res *atlasexec.MigrateApply, binary string) *Doc {
	t := &Table{Title: "Applied by atlas (" + binary + ")", Columns: []Column{{Name: "file"}, {Name: "version"}}}
	for _, f := range res.Applied {
		t.Rows = append(t.Rows, Row{Cells: []Cell{Str(f.Name), Str(f.Version)}})
	}
	t.Note = fmt.Sprintf("current %s, target %s", dashed(res.Current), dashed(res.Target))
	return &Doc{JSON: res, Blocks: []Block{t}}
}

// StatusReport is the document `migrate status --format json` writes.
type StatusReport struct {
	Schema string                `json:"schema"`
	Target string                `json:"target"`
	Status *migrate.StatusReport `json:"status"`
}

// Status lays out the directory against the database: each file's state
// and each index's, and under them what is applied, pending, drifted or
// left over.
func Status(st *migrate.StatusReport, target string) *Doc {
	// With standbys (migrate status --replica), a column per node after
	// the primary's.
	var nodes []string
	for _, f := range st.Files {
		for _, ix := range f.Indexes {
			if len(ix.Nodes) > 0 && nodes == nil {
				for _, n := range ix.Nodes {
					nodes = append(nodes, n.Node)
				}
			}
		}
	}
	cols := []Column{{Name: "version"}, {Name: "state"}, {Name: "index"}, {Name: "in the database"}}
	if len(nodes) > 0 {
		cols[3].Name = "on the primary"
		for _, n := range nodes {
			cols = append(cols, Column{Name: "on " + n})
		}
	}
	cols = append(cols, Column{Name: "applied"}, Column{Name: "detail", DataOnly: true})
	files := &Table{Title: "Migrations in " + st.Dir, Columns: cols}
	onNodes := func(ix *migrate.IndexStatus) []Cell {
		var cells []Cell
		for i := range nodes {
			if i < len(ix.Nodes) {
				cells = append(cells, Str(ix.Nodes[i].State))
			} else {
				cells = append(cells, Dash())
			}
		}
		return cells
	}
	details := &Details{}
	for _, f := range st.Files {
		at := Dash()
		if f.AppliedAt != nil {
			at = Full(f.AppliedAt.Local().Format("2006-01-02 15:04:05"), f.AppliedAt.UTC().Format(time.RFC3339))
		}
		tone := Plain
		switch f.State {
		case migrate.StatePending:
			tone = Warn
		case migrate.StatePartial:
			tone = Bad
		}
		if len(f.Indexes) == 0 {
			cells := append([]Cell{Str(f.Version), Str(f.State), Dash(), Dash()}, onNodes(&migrate.IndexStatus{})...)
			files.Rows = append(files.Rows, Row{Tone: tone, Cells: append(cells, at, Dash())})
		}
		for _, ix := range f.Indexes {
			t := tone
			if ix.State == migrate.IndexInvalid || ix.State == migrate.IndexMissing || ix.State == migrate.IndexDifferent {
				t = Bad
			}
			for _, n := range ix.Nodes {
				if n.State != migrate.IndexOK && (ix.State == migrate.IndexOK || ix.State == migrate.IndexPresent) && t != Bad {
					// Valid on the primary, not yet on a standby.
					t = Warn
				}
			}
			cells := append([]Cell{Str(f.Version), Str(f.State), Str(ix.Name), Str(ix.State)}, onNodes(&ix)...)
			files.Rows = append(files.Rows, Row{Tone: t, Cells: append(cells, at, Str(ix.Detail))})
			if ix.Detail != "" {
				// Said under the table, whole: a sentence cut to a
				// column's width says nothing.
				details.Entries = append(details.Entries, Entry{Head: ix.Name + ": " + ix.State, Tone: t,
					Lines: []Line{{Text: ix.Detail}}})
			}
		}
	}
	var notes []string
	notes = append(notes, fmt.Sprintf("%d applied, %d pending, current %s, next %s", st.Applied, st.Pending, dashed(st.Current), dashed(st.Next)))
	if len(st.Drift) > 0 {
		var d []string
		for _, ix := range st.Drift {
			d = append(d, ix.Name+" "+ix.State)
		}
		notes = append(notes, "drift: "+strings.Join(d, ", "))
	} else {
		notes = append(notes, "no drift")
	}
	if len(st.Leftovers) > 0 {
		notes = append(notes, "INVALID leftovers (apply again, or migrate repair): "+strings.Join(st.Leftovers, ", "))
	}
	if len(st.Unknown) > 0 {
		notes = append(notes, "applied versions with no file here: "+strings.Join(st.Unknown, ", "))
	}
	notes = append(notes, st.Problems...)
	files.Note = strings.Join(notes, "\n")
	doc := &Doc{JSON: StatusReport{Schema: schemaStatus, Target: target, Status: st}, Blocks: []Block{files}}
	if len(details.Entries) > 0 {
		doc.Blocks = append(doc.Blocks, details)
	}
	return doc
}

// nameList is a cell naming the indexes a file builds: the first and how
// many more in text (a partitioned index, then each partition's: a list
// elided in its middle names none of them), every one in CSV and JSON.
func nameList(names []string) Cell {
	all := strings.Join(names, ", ")
	if len(names) < 2 {
		return Str(all)
	}
	return Full(fmt.Sprintf("%s and %d more", names[0], len(names)-1), all)
}

// AtlasStatus lays out what `atlas migrate status` said.
func AtlasStatus(res *atlasexec.MigrateStatus) *Doc {
	return &Doc{JSON: res, Blocks: []Block{&Table{Title: "atlas migrate status",
		Columns: []Column{{Name: "status"}, {Name: "current"}, {Name: "next"}, {Name: "pending"}},
		Rows:    []Row{{Cells: []Cell{Str(res.Status), orDash(res.Current), orDash(res.Next), Int(len(res.Pending))}}}}}}
}

// ValidateReport is the document `migrate validate --format json` writes.
type ValidateReport struct {
	Schema    string `json:"schema"`
	Dir       string `json:"dir"`
	Valid     bool   `json:"valid"`
	Files     int    `json:"files"`
	DownFiles int    `json:"down_files"`
}

// Validate lays out a directory whose files match atlas.sum.
func Validate(dir string, files, downs int) *Doc {
	return &Doc{JSON: ValidateReport{schemaValidate, dir, true, files, downs}, Blocks: []Block{&Table{Title: "Validate " + dir,
		Columns: []Column{{Name: "files"}, {Name: "down files"}, {Name: "atlas.sum"}},
		Rows:    []Row{{Cells: []Cell{Int(files), Int(downs), Str("matches")}}}}}}
}

// HashReport is the document `migrate hash --format json` writes.
type HashReport struct {
	Schema string             `json:"schema"`
	Dir    string             `json:"dir"`
	Hash   migrate.HashResult `json:"hash"`
}

// Hash lays out the sums hash rewrote.
func Hash(dir string, res migrate.HashResult) *Doc {
	return &Doc{JSON: HashReport{schemaHash, dir, res}, Blocks: []Block{&Table{Title: "atlas.sum rewritten in " + dir,
		Columns: []Column{{Name: "files"}, {Name: "down files"}},
		Rows:    []Row{{Cells: []Cell{Int(res.Files), Int(res.DownFiles)}}}}}}
}

// RepairReport is the document `migrate repair --format json` writes.
type RepairReport struct {
	Schema string                `json:"schema"`
	Target string                `json:"target"`
	Result *migrate.RepairResult `json:"result"`
}

// Repair lays out the INVALID leftovers repair dropped, or would drop.
func Repair(res *migrate.RepairResult, target string) *Doc {
	verb := "dropped"
	if res.DryRun {
		verb = "would drop"
	}
	t := &Table{Title: "Repair " + res.Dir, Columns: []Column{{Name: "INVALID index"}, {Name: "action"}}}
	for _, n := range res.Dropped {
		t.Rows = append(t.Rows, Row{Cells: []Cell{Str(n), Str(verb)}})
	}
	t.Note = fmt.Sprintf("%d index(es) checked, %d INVALID", res.Checked, len(res.Dropped))
	return &Doc{JSON: RepairReport{schemaRepair, target, res}, Blocks: []Block{t}}
}

// LintReport is the document `migrate lint --format json` writes.
type LintReport struct {
	Schema string              `json:"schema"`
	Lint   *migrate.LintReport `json:"lint"`
}

// Lint lays out lint's findings (GitHubAnnotations writes them for
// GitHub Actions instead).
func Lint(rep *migrate.LintReport) *Doc {
	t := &Table{Title: "Lint " + rep.Dir, Columns: []Column{{Name: "rule"}, {Name: "level"}, {Name: "file"}, {Name: "line", Right: true},
		{Name: "finding"}}}
	for _, f := range rep.Findings {
		line := Dash()
		if f.Line > 0 {
			line = Int(f.Line)
		}
		tone := Warn
		if f.Level == migrate.LevelError {
			tone = Bad
		}
		t.Rows = append(t.Rows, Row{Tone: tone, Cells: []Cell{Str(f.Rule + " " + f.Name), Str(string(f.Level)), Str(f.File), line, Str(f.Message)}})
	}
	t.Note = fmt.Sprintf("%d file(s) linted: %d error(s), %d warning(s)", len(rep.Files), rep.Errors, rep.Warnings)
	if rep.BuildRate > 0 {
		t.Note += fmt.Sprintf("; build rate %.1f MB/s", rep.BuildRate/1e6)
	}
	return &Doc{JSON: LintReport{Schema: schemaLint, Lint: rep}, Blocks: []Block{t}}
}

// AtlasLint is what `atlas migrate lint` said, as JSON whatever the format:
// its report is atlas's own.
func AtlasLint(res *atlasexec.SummaryReport) *Doc {
	return &Doc{JSON: res, jsonOnly: true}
}

// dashed is s, or "-" when empty.
func dashed(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
