package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandDocumented checks that every command a user can reach has
// a Use, Short, Long and Example, so --help always shows how to call it.
func TestEveryCommandDocumented(t *testing.T) {
	root := newRootCmd(&app{getenv: func(string) string { return "" }})
	root.InitDefaultCompletionCmd()
	var walk func(c *cobra.Command)
	count := 0
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" {
			return
		}
		// cobra's own completion commands document themselves without an Example.
		if c.Name() != "completion" && (c.Parent() == nil || c.Parent().Name() != "completion") {
			count++
			for field, v := range map[string]string{"Use": c.Use, "Short": c.Short, "Long": c.Long, "Example": c.Example} {
				if strings.TrimSpace(v) == "" {
					t.Errorf("%s has no %s", c.CommandPath(), field)
				}
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	if count < 20 {
		t.Errorf("walked %d commands, want the whole tree (at least 20)", count)
	}
}

func TestCompletionScripts(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		r := cli(t, "completion", shell)
		if r.code != 0 || !strings.Contains(r.stdout, "hishamos-perf") {
			t.Errorf("completion %s: exit %d, %d bytes", shell, r.code, len(r.stdout))
		}
	}
}
