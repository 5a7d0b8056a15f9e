package main

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/spf13/cobra"

	"github.com/hishamos/hishamos-perf/cmd/hishamos-perf/internal/report"
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
				return a.write(report.Profiles(list))
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
				return a.write(report.Profile(p))
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
