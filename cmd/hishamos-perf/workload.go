package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

// flagWorkload names the workload of every command that takes one (indexes
// propose, bench, analyze): one flag for one thing. Its value is read the
// same way everywhere (workloadKindOf); each command says which kinds it
// can use.
const flagWorkload = "workload"

// The old spellings of --workload, kept as hidden aliases for a release:
// bench's --profile and --sql, analyze's --file (explain's --file, the
// statements to explain, is not a workload and keeps its name).
const (
	flagProfile = "profile"
	flagSQL     = "sql"
)

// workloadStatStatements is the --workload value that reads
// pg_stat_statements.
const workloadStatStatements = "pg_stat_statements"

// workloadKind is what a --workload value names.
type workloadKind int

const (
	// workloadStats is pg_stat_statements.
	workloadStats workloadKind = iota
	// workloadSQL is a .sql file of statements ('-' is standard input).
	workloadSQL
	// workloadProfile is a built-in profile's name or a profile YAML file.
	workloadProfile
)

// String names the kind as the commands' messages do.
func (k workloadKind) String() string {
	switch k {
	case workloadStats:
		return workloadStatStatements
	case workloadSQL:
		return "a .sql file"
	}
	return "a profile"
}

// workloadKindOf is what a --workload value names, the same for every
// command: pg_stat_statements, a .sql file (or '-', standard input), else
// a profile's name or YAML file.
func workloadKindOf(v string) workloadKind {
	switch {
	case v == workloadStatStatements:
		return workloadStats
	case v == "-" || strings.HasSuffix(strings.ToLower(v), ".sql"):
		return workloadSQL
	}
	return workloadProfile
}

// workloadFlag is the value behind --workload and its old spellings: one
// variable however it is spelled, given at most once.
type workloadFlag struct {
	value string
	// spelling is the flag that set it ("" while it holds its default),
	// kind what that spelling fixes: an old --sql FILE is a .sql file
	// whatever the file is called.
	spelling string
	kind     *workloadKind
	// aliases are the old spellings, each with the kind it fixes.
	aliases map[string]workloadKind
}

// workloadValue is one spelling of a workloadFlag.
type workloadValue struct {
	w    *workloadFlag
	name string
}

func (v *workloadValue) String() string { return v.w.value }
func (v *workloadValue) Type() string   { return "string" }

// Set takes the value, refusing a second workload: --workload a.sql
// --sql b.sql would otherwise keep the last and drop the first unsaid.
func (v *workloadValue) Set(s string) error {
	if v.w.spelling != "" {
		return fmt.Errorf("a workload is given twice (--%s %s, --%s %s): give one", v.w.spelling, v.w.value, v.name, s)
	}
	v.w.value, v.w.spelling = s, v.name
	if k, ok := v.w.aliases[v.name]; ok {
		v.w.kind = &k
	}
	return nil
}

// addWorkloadFlag adds --workload to f with its default and the kinds the
// command takes (usage says them), and each old spelling as a hidden alias
// fixing the kind its value is read as.
func addWorkloadFlag(f *pflag.FlagSet, w *workloadFlag, def, usage string, aliases map[string]workloadKind) {
	w.value, w.aliases = def, aliases
	f.Var(&workloadValue{w: w, name: flagWorkload}, flagWorkload, usage)
	for name := range aliases {
		f.Var(&workloadValue{w: w, name: name}, name, "old spelling of --"+flagWorkload)
		f.Lookup(name).DefValue = def
		if err := f.MarkHidden(name); err != nil {
			panic(err)
		}
	}
}

// Kind is what the flag names: what its old spelling fixes, else what its
// value says.
func (w *workloadFlag) Kind() workloadKind {
	if w.kind != nil {
		return *w.kind
	}
	return workloadKindOf(w.value)
}

// Given reports whether the workload was given on the command line.
func (w *workloadFlag) Given() bool { return w.spelling != "" }

// OldSpelling is the old flag that gave the workload, "" for --workload
// or none: the command says that the spelling is going.
func (w *workloadFlag) OldSpelling() string {
	if w.spelling == flagWorkload {
		return ""
	}
	return w.spelling
}

// noteOldSpelling says, unless -q, that an old spelling of --workload was
// used and is going.
func (a *app) noteOldSpelling(cmd string, w *workloadFlag) {
	if old := w.OldSpelling(); old != "" {
		a.say("%s: --%s is the old spelling of --%s, kept for one release", cmd, old, flagWorkload)
	}
}

// workloadKindError refuses a workload of a kind the command cannot use,
// saying which it takes.
func workloadKindError(w *workloadFlag, takes string) error {
	return fmt.Errorf("--%s %s: this is %s; this command takes %s", flagWorkload, w.value, w.Kind(), takes)
}

// readWorkload reads a .sql workload file, '-' being standard input.
func (a *app) readWorkload(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(a.stdin)
	}
	return os.ReadFile(path)
}
