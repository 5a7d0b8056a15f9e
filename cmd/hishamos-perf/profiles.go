package main

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hishamos/hishamos-perf/internal/render"
	"github.com/hishamos/hishamos-perf/profiles"
)

func newProfilesCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "profiles",
		Short: "List, show and validate workload profiles",
		Long: `A workload profile is a YAML file naming an application's statements (SQL
with $n parameters and a generator for each parameter, drawn from the data),
their weights, the hand-picked index set meant to serve them and the
improvement its authors expect. Built-in profiles are embedded in the binary;
a path to your own YAML works wherever a profile name does.`,
		Example: `  hishamos-perf profiles list
  hishamos-perf profiles show hishamos
  hishamos-perf profiles validate ./my-app.yaml`,
	}
	cmd.AddCommand(
		&cobra.Command{
			Use:     "list",
			Short:   "List the built-in profiles",
			Long:    "list shows each built-in profile with its data set, statement and index counts.",
			Example: "  hishamos-perf profiles list",
			Args:    cobra.NoArgs,
			RunE: func(*cobra.Command, []string) error {
				list, err := profiles.List()
				if err != nil {
					return err
				}
				t := render.Table{Title: "Built-in profiles", Header: []string{"name", "dataset", "statements", "indexes", "description"}, Right: []int{2, 3}}
				for _, s := range list {
					t.Rows = append(t.Rows, []string{s.Name, s.Dataset, fmt.Sprint(s.Statements), fmt.Sprint(s.Indexes), firstSentence(s.Description)})
				}
				return a.renderer().Render(struct {
					Schema   string             `json:"schema"`
					Profiles []profiles.Summary `json:"profiles"`
				}{"hishamos-perf/profiles/v1", list}, t)
			},
		},
		&cobra.Command{
			Use:     "show NAME|PATH",
			Short:   "Show a profile's statements, indexes and expectation",
			Long:    "show prints a profile's statements with their weights and parameter generators, its hand-picked indexes and the improvement it expects; --format json gives the whole profile.",
			Example: "  hishamos-perf profiles show hishamos\n  hishamos-perf profiles show hishamos --format json",
			Args:    cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				p, err := loadProfile(cmd, args[0])
				if err != nil {
					return err
				}
				return a.renderer().Render(p, profileTables(p)...)
			},
		},
		&cobra.Command{
			Use:     "validate NAME|PATH...",
			Short:   "Check profiles for errors, with file and line",
			Long:    "validate loads each profile and reports the first problem in each as file:line:column: message. It exits 2 when any profile is invalid.",
			Example: "  hishamos-perf profiles validate ./my-app.yaml\n  hishamos-perf profiles validate hishamos",
			Args:    cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				var failed []error
				for _, arg := range args {
					p, err := loadProfile(cmd, arg)
					if err != nil {
						failed = append(failed, err)
						continue
					}
					a.say("%s: ok (%d statements, %d indexes)", displayFile(p), len(p.Statements), len(p.Indexes))
				}
				switch len(failed) {
				case 0:
					return nil
				case 1:
					return failed[0]
				}
				for _, err := range failed[:len(failed)-1] {
					fmt.Fprintln(a.stderr, "hishamos-perf: "+err.Error())
				}
				return failed[len(failed)-1]
			},
		},
	)
	return cmd
}

// loadProfile loads a profile, marking every failure as bad input (exit 2).
func loadProfile(cmd *cobra.Command, nameOrPath string) (*profiles.Profile, error) {
	p, err := profiles.Load(nameOrPath)
	if err != nil {
		var pe *profiles.Error
		if errors.As(err, &pe) || errors.Is(err, profiles.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
			return nil, &usageError{err: err}
		}
		return nil, &usageError{err: fmt.Errorf("profile %s: %w", nameOrPath, err)}
	}
	return p, nil
}

func displayFile(p *profiles.Profile) string {
	if p.File != "" {
		return p.File
	}
	return p.Name
}

// profileTables shows a profile as three tables: statements, indexes and
// what the profile expects.
func profileTables(p *profiles.Profile) []render.Table {
	stmts := render.Table{
		Title:  fmt.Sprintf("Profile %s: %s", p.Name, firstSentence(p.Description)),
		Header: []string{"statement", "weight", "parameters", "indexes", "pair"},
		Right:  []int{1},
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
		stmts.Rows = append(stmts.Rows, []string{s.Name, fmt.Sprint(s.Weight), strings.Join(params, "; "), strings.Join(s.Indexes, ", "), pair})
	}
	idx := render.Table{Title: "Hand-picked indexes", Header: []string{"name", "table", "columns", "targets"}}
	for _, i := range p.Indexes {
		idx.Rows = append(idx.Rows, []string{i.Name, i.Table, strings.Join(i.Columns, ", "), strings.Join(p.Targets(i.Name), ", ")})
	}
	tables := []render.Table{stmts, idx}
	if p.Expect != nil {
		tables[1].Note = fmt.Sprintf("expected: %g–%g%% faster on the targeted statements (%s)", p.Expect.MinPercent, p.Expect.MaxPercent, p.Expect.Source)
	}
	return tables
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

// maxDescription keeps a description cell inside a 100-column terminal next
// to the other columns of `profiles list`.
const maxDescription = 60
