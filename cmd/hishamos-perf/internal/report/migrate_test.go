package report

import (
	"bytes"
	"strings"
	"testing"

	"ariga.io/atlas-go-sdk/atlasexec"

	"github.com/hishamos/hishamos-perf/migrate"
)

// TestApplyDryRunQuiet: a dry run's statements are its result, so -q,
// which drops the note listing them, prints them right above the table.
func TestApplyDryRunQuiet(t *testing.T) {
	res := &migrate.ApplyResult{Dir: "m", DryRun: true, Files: []migrate.FileResult{
		{File: "1_a.sql", Version: "1", Status: "would-apply", Steps: []string{"CREATE INDEX CONCURRENTLY a"}}}}
	var quiet, loud bytes.Buffer
	if err := (&Writer{Out: &quiet, Format: Text, Quiet: true}).Write(Apply(res, "sandbox", "Applied", true)); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(quiet.String(), "1: CREATE INDEX CONCURRENTLY a\nversion ") {
		t.Errorf("-q dry run:\n%s", quiet.String())
	}
	if err := (&Writer{Out: &loud, Format: Text}).Write(Apply(res, "sandbox", "Applied", false)); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(loud.String(), "Dry run: would run, in m\n") || !strings.HasSuffix(loud.String(), "statements:\n1: CREATE INDEX CONCURRENTLY a\n") {
		t.Errorf("dry run:\n%s", loud.String())
	}
}

// TestAtlasLintIsJSON: atlas's lint report is written as JSON whatever the
// format: it is atlas's document, with no table of ours.
func TestAtlasLintIsJSON(t *testing.T) {
	for _, f := range []Format{Text, Markdown, CSV} {
		var buf bytes.Buffer
		if err := (&Writer{Out: &buf, Format: f}).Write(AtlasLint(&atlasexec.SummaryReport{URL: "file://m"})); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(buf.String(), "{\n") || !strings.Contains(buf.String(), `"URL": "file://m"`) {
			t.Errorf("%s: %s", f, buf.String())
		}
	}
}

// TestDjangoMetaLinesAreCode: the Meta.indexes lines are Python to copy
// into models.py: at any width each models.Index(...) stays one line with
// its indent (folded as prose, a long one broke in two and lost it).
func TestDjangoMetaLinesAreCode(t *testing.T) {
	meta := `models.Index(fields=["tenant", "-updated_at"], include=["id", "name", "status"], name="projects_pr_tenant__49adbd_idx")`
	res := &migrate.DjangoResult{Indexes: []migrate.DjangoIndex{{App: "projects", Model: "project", Class: "Project", Table: "projects_project",
		Name: "projects_pr_tenant__49adbd_idx", Meta: meta, ModelsFile: "projects/models.py"}}}
	for _, width := range []int{60, 80, 120} {
		var buf bytes.Buffer
		if err := (&Writer{Out: &buf, Format: Text, Width: width}).Write(Django(res, "django", "", "tracker", "")); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), "\n        "+meta+",\n") {
			t.Errorf("at %d columns the Meta line is not whole on its line:\n%s", width, buf.String())
		}
	}
}
