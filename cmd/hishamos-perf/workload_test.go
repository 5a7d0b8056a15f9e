package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// workloadCommands are the commands that take a workload.
var workloadCommands = []string{"hishamos-perf analyze", "hishamos-perf bench", "hishamos-perf indexes propose"}

// TestWorkloadFlagSameOnEveryCommand walks the whole command tree: every
// flag that takes a workload, on any command, is --workload or a hidden
// old spelling of it, its help starts the same way, and the commands that
// take one are exactly the three that should.
func TestWorkloadFlagSameOnEveryCommand(t *testing.T) {
	root := newRootCmd(&app{getenv: func(string) string { return "" }})
	var found []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			v, ok := f.Value.(*workloadValue)
			if !ok {
				// A visible flag spelled as an old workload flag would
				// be a second name for the same thing.
				if !f.Hidden && (f.Name == flagSQL || f.Name == flagProfile) {
					t.Errorf("%s --%s is not the workload flag", c.CommandPath(), f.Name)
				}
				return
			}
			if v.name != f.Name {
				t.Errorf("%s --%s sets the workload as --%s", c.CommandPath(), f.Name, v.name)
			}
			switch {
			case f.Name == flagWorkload:
				found = append(found, c.CommandPath())
				if f.Hidden {
					t.Errorf("%s --%s is hidden", c.CommandPath(), f.Name)
				}
				if !strings.HasPrefix(f.Usage, "the workload: ") {
					t.Errorf("%s --%s: usage %q does not start as the others do", c.CommandPath(), f.Name, f.Usage)
				}
			case !f.Hidden:
				t.Errorf("%s --%s, an old spelling of --%s, is shown in the help", c.CommandPath(), f.Name, flagWorkload)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	slices.Sort(found)
	if !slices.Equal(found, workloadCommands) {
		t.Errorf("commands taking --%s: %v, want %v", flagWorkload, found, workloadCommands)
	}
}

// TestWorkloadFlagReadsTheSameEverywhere runs each command that takes a
// workload with the same missing .sql file, under --workload and under its
// old spelling: each refuses it with the same words and exit code 2,
// before any database is touched.
func TestWorkloadFlagReadsTheSameEverywhere(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.sql")
	want := "--" + flagWorkload + ": open " + missing + ": no such file or directory"
	runs := [][]string{
		{"analyze", "--workload", missing},
		{"analyze", "--file", missing},
		{"bench", "--workload", missing},
		{"bench", "--sql", missing},
		{"indexes", "propose", "--workload", missing},
	}
	for _, args := range runs {
		r := cli(t, append([]string{"--sandbox-dir", filepath.Join(t.TempDir(), "unused")}, args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d saying %q", strings.Join(args, " "), r.code, r.stderr, exitUsage, want)
		}
	}
	// A profile that does not exist, by the new name and bench's old one.
	for _, flag := range []string{"--workload", "--profile"} {
		r := cli(t, "bench", flag, "no-such-profile")
		if r.code != exitUsage || !strings.Contains(r.stderr, "--"+flagWorkload+": ") || !strings.Contains(r.stderr, "no-such-profile") {
			t.Errorf("bench %s no-such-profile: exit %d, stderr %q", flag, r.code, r.stderr)
		}
	}
}

// TestWorkloadFlagRefusesWhatACommandCannotUse: one grammar, but not every
// command can use every kind; each says what it takes, and a workload
// given twice (under two spellings) is refused rather than one dropped.
func TestWorkloadFlagRefusesWhatACommandCannotUse(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--workload", "pg_stat_statements"}, "--workload pg_stat_statements: this is pg_stat_statements; this command takes a profile or a .sql file"},
		{[]string{"analyze", "--workload", "hishamos"}, "--workload hishamos: this is a profile; this command takes pg_stat_statements"},
		{[]string{"bench", "--workload", "a.sql", "--sql", "b.sql"}, "a workload is given twice (--workload a.sql, --sql b.sql): give one"},
		{[]string{"bench", "--profile", "hishamos", "--sql", "b.sql"}, "a workload is given twice (--profile hishamos, --sql b.sql): give one"},
	}
	for _, c := range cases {
		r := cli(t, c.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d saying %q", strings.Join(c.args, " "), r.code, r.stderr, exitUsage, c.want)
		}
	}
}
