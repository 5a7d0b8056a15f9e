package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/hishamos/hishamos-perf/migrate"
)

// GitHubAnnotations writes lint's findings as GitHub Actions workflow
// commands (::error file=...,line=...,title=...::message), which the
// Actions runner shows on the pull request's lines.
func GitHubAnnotations(w io.Writer, rep *migrate.LintReport) error {
	data := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	prop := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
	for _, f := range rep.Findings {
		level := "warning"
		if f.Level == migrate.LevelError {
			level = "error"
		}
		props := "file=" + prop.Replace(f.File)
		if f.Line > 0 {
			props += fmt.Sprintf(",line=%d", f.Line)
		}
		props += ",title=" + prop.Replace(f.Rule+" "+f.Name)
		if _, err := fmt.Fprintf(w, "::%s %s::%s\n", level, props, data.Replace(f.Message)); err != nil {
			return err
		}
	}
	return nil
}
