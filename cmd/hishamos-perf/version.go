package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version of hishamos-perf",
		Long:    "version prints the module version and the Go version hishamos-perf was built with.",
		Example: "  hishamos-perf version",
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			v, goVersion := "(devel)", ""
			if info, ok := debug.ReadBuildInfo(); ok {
				v, goVersion = info.Main.Version, info.GoVersion
			}
			fmt.Fprintf(a.stdout, "hishamos-perf %s %s\n", v, goVersion)
			return nil
		},
	}
}
