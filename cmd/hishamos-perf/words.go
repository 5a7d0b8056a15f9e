package main

import (
	"errors"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hishamos/hishamos-perf/analyze"
	"github.com/hishamos/hishamos-perf/bench"
	"github.com/hishamos/hishamos-perf/indexes"
	"github.com/hishamos/hishamos-perf/internal/dataset"
	"github.com/hishamos/hishamos-perf/internal/sandbox"
	"github.com/hishamos/hishamos-perf/migrate"
)

// The library packages name their options by their fields or in words,
// never by a flag: only the command knows which flag sets an option. These
// are the flags, by the option each package's typed errors and messages
// name; words is the one place an error's text gets them.

// analyzeFlags are the flags of analyze's and explain's options.
var analyzeFlags = map[analyze.Option]string{
	analyze.OptStatementTimeout: flagStatementTimeout,
	analyze.OptInterval:         flagInterval,
	analyze.OptMinStatsAge:      flagMinStatsAge,
	analyze.OptAnalyze:          flagAnalyze,
}

// indexesFlags are the flags of indexes propose's options.
var indexesFlags = map[indexes.Option]string{
	indexes.OptAllowBuild:     flagAllowBuild,
	indexes.OptMinImprovement: flagMinImprovement,
	indexes.OptMaxIndexes:     flagMaxIndexes,
	indexes.OptMinStatsAge:    flagMinStatsAge,
}

// migrateFlags are the flags of the migrate commands' options.
var migrateFlags = map[migrate.Option]string{
	migrate.OptWait:     flagWait,
	migrate.OptMaxBuild: flagMaxBuild,
	migrate.OptAppsDir:  flagDjangoApps,
	migrate.OptProject:  flagDjangoProject,
}

// datasetFlags are the flags of seed's options.
var datasetFlags = map[dataset.Option]string{
	dataset.OptReplace: flagReplace,
}

// flagOf names an option by its flag ("--wait"), or as the package does
// when no flag sets it.
func flagOf[O ~string](flags map[O]string) func(O) string {
	return func(o O) string {
		if f, ok := flags[o]; ok {
			return "--" + f
		}
		return string(o)
	}
}

// Namers of each package's options, for the messages their results carry
// (Options.OptionName) and for their typed errors.
var (
	indexesFlag = flagOf(indexesFlags)
	migrateFlag = flagOf(migrateFlags)
	datasetFlag = flagOf(datasetFlags)
)

// analyzeFlag names analyze's options by their flags; a ranking by blocks
// read is analyze's own command line.
func analyzeFlag(o analyze.Option) string {
	if o == analyze.OptSortIO {
		return "analyze --" + flagSort + " " + string(analyze.SortIO)
	}
	return flagOf(analyzeFlags)(o)
}

// noAtlasWords is migrate.ErrNoAtlas as the commands that take --engine
// say it.
var noAtlasWords = "--" + flagEngine + " atlas needs the atlas binary on PATH, and there is none (install it from https://atlasgo.io/getting-started, or leave --" + flagEngine + " at native, which needs no binary)"

// baselineRemedy is a bench baseline's remedy, with the flags that give
// one.
func baselineRemedy(r bench.Remedy) string {
	switch r {
	case bench.RemedySave:
		return ": give a file written by `bench --" + flagSave + "`"
	case bench.RemedySamples:
		return " (printed without --" + flagSamples + "?): save the baseline with --" + flagSave
	}
	return ": " + string(r)
}

// sandboxSetting names what chooses the sandbox's folder for the command
// that ran: sandbox's own --dir, the other commands' --sandbox-dir, the
// environment variable when that is what gave it, or, for demo, which
// makes its sandbox in a folder of its own, the temporary folder.
func (a *app) sandboxSetting(cmd *cobra.Command) string {
	path := ""
	if cmd != nil {
		path = cmd.CommandPath()
	}
	switch {
	case path == "hishamos-perf demo":
		return "TMPDIR"
	case a.sandboxDir == "" && a.getenv(envSandboxDir) != "":
		return envSandboxDir
	case strings.HasPrefix(path, "hishamos-perf sandbox"):
		return "--" + flagDir
	}
	return "--" + flagSandboxDir
}

// words is err's message as the command that ran says it: every library
// error in its chain that names an option is worded with the flag (or the
// variable) that sets it; the context the layers above added stays.
func (a *app) words(cmd *cobra.Command, err error) string {
	text := err.Error()
	reword := func(inner error, msg string) {
		text = strings.Replace(text, inner.Error(), msg, 1)
	}
	var (
		te  *analyze.TimeoutError
		he  *indexes.NoHypoPGError
		le  *migrate.LockedError
		de  *migrate.NoDjangoAppError
		dme *migrate.NoDjangoModelError
		dle *migrate.DjangoLeavesError
		be  *bench.BaselineError
		pe  *bench.ParamsError
		ne  *dataset.NotEmptyError
		ie  *dataset.IncompleteError
		sde *sandbox.DirError
		sce *sandbox.NoCacheDirError
	)
	if errors.As(err, &te) {
		reword(te, te.Message(analyzeFlag))
	}
	if errors.As(err, &he) {
		reword(he, he.Message(indexesFlag))
	}
	if errors.As(err, &le) {
		reword(le, le.Message(migrateFlag))
	}
	if errors.As(err, &de) {
		reword(de, de.Message(migrateFlag))
	}
	if errors.As(err, &dme) {
		reword(dme, dme.Message(migrateFlag))
	}
	if errors.As(err, &dle) {
		reword(dle, dle.Message("manage.py makemigrations --merge "+dle.App))
	}
	if errors.Is(err, migrate.ErrNoAtlas) {
		reword(migrate.ErrNoAtlas, noAtlasWords)
	}
	if errors.As(err, &be) {
		reword(be, be.Message(baselineRemedy))
	}
	if errors.As(err, &pe) {
		reword(pe, pe.Message("`hishamos-perf bench --help`"))
	}
	if errors.As(err, &ne) {
		reword(ne, ne.Message(datasetFlag))
	}
	if errors.As(err, &ie) {
		reword(ie, ie.Message(datasetFlag))
	}
	if errors.As(err, &sde) {
		reword(sde, sde.Message(a.sandboxSetting(cmd)))
	}
	if errors.As(err, &sce) {
		reword(sce, sce.Message(a.sandboxSetting(cmd)))
	}
	return text
}
