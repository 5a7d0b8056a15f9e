package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIndexesPlanOnlyAndExclude: plan keeps the indexes --only names and
// drops those --exclude names, by the numbers propose printed (the
// profile's order here) or by name; a number or name that is not there
// is refused in one line, exit 2, and nothing is written.
func TestIndexesPlanOnlyAndExclude(t *testing.T) {
	planned := func(dir string) []string {
		entries, _ := os.ReadDir(dir)
		var files []string
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".sql") {
				files = append(files, e.Name())
			}
		}
		return files
	}
	dir := filepath.Join(t.TempDir(), "m")
	r := cli(t, "indexes", "plan", "--from-profile", "hishamos", "--dir", dir, "--only", "1,3")
	if r.code != exitOK || len(planned(dir)) != 2 || !strings.Contains(r.stderr, "2 of the 11 indexes of profile hishamos (1, 3)") {
		t.Errorf("--only 1,3: exit %d, files %v\n%s", r.code, planned(dir), r.stderr)
	}
	dir = filepath.Join(t.TempDir(), "m")
	r = cli(t, "indexes", "plan", "--from-profile", "hishamos", "--dir", dir, "--exclude", "wf_step_exec_order_idx", "--exclude", "9-11")
	files := strings.Join(planned(dir), " ")
	if r.code != exitOK || len(planned(dir)) != 7 || strings.Contains(files, "wf_step_exec_order_idx") {
		t.Errorf("--exclude a name and 9-11: exit %d, files %s\n%s", r.code, files, r.stderr)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--only", "12"}, "--only/--exclude: bad choice of proposals: only 12: there are 11 (1 to 11)"},
		{[]string{"--exclude", "nosuch_idx"}, "exclude nosuch_idx: no index has that number or name"},
		{[]string{"--exclude", "1-11"}, "it keeps none of the 11"},
	} {
		dir := filepath.Join(t.TempDir(), "m")
		r := cli(t, append([]string{"indexes", "plan", "--from-profile", "hishamos", "--dir", dir}, c.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, c.want) || len(planned(dir)) != 0 {
			t.Errorf("%v: exit %d, stderr %q, %d files; want exit 2 saying %q and nothing written", c.args, r.code, r.stderr, len(planned(dir)), c.want)
		}
	}
}
