package main

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/hishamos/hishamos-perf/analyze"
	"github.com/hishamos/hishamos-perf/bench"
	"github.com/hishamos/hishamos-perf/indexes"
	"github.com/hishamos/hishamos-perf/internal/dataset"
	"github.com/hishamos/hishamos-perf/internal/sandbox"
	"github.com/hishamos/hishamos-perf/migrate"
)

// TestLibraryErrorsWordedWithFlags: the library packages' typed errors
// name their options by field or in words, and the command words them with
// its flags, keeping the context the layers above added: users read the
// lines they read when the libraries spelled the flags themselves.
func TestLibraryErrorsWordedWithFlags(t *testing.T) {
	a := &app{getenv: func(string) string { return "" }}
	root := newRootCmd(a)
	find := func(args ...string) string {
		c, _, err := root.Find(args)
		if err != nil {
			t.Fatal(err)
		}
		return c.CommandPath()
	}
	for _, tt := range []struct {
		name string
		cmd  []string
		err  error
		want string
	}{
		{"statement timeout", []string{"explain"}, fmt.Errorf("explain: %w", &analyze.TimeoutError{Limit: 500 * time.Millisecond}),
			"explain: statement_timeout hit (500ms): the statement was cancelled; raise --statement-timeout or explain it without ANALYZE"},
		{"hypopg available", []string{"indexes", "propose"}, &indexes.NoHypoPGError{Database: "app", Available: true},
			"hypopg is not installed in database app: it is available on the server; run CREATE EXTENSION hypopg; (or pass --allow-build to cost with real indexes built in a rolled-back transaction)"},
		{"hypopg missing", []string{"indexes", "propose"}, &indexes.NoHypoPGError{Database: "app", Major: 17},
			"hypopg is not installed on the server: install it on the server's machine (Debian and Ubuntu: apt-get install postgresql-17-hypopg; elsewhere your system's HypoPG package for PostgreSQL 17, or HypoPG built from source with this server's pg_config), then run CREATE EXTENSION hypopg; in database app (or pass --allow-build to cost with real indexes built in a rolled-back transaction)"},
		{"locked", []string{"migrate", "apply"}, &migrate.LockedError{Waited: 1500 * time.Millisecond},
			"migrate: another applier holds the migration lock after waiting 1.5s: held by a session that ended meanwhile (wait for it to finish, or raise --wait)"},
		{"no django app", []string{"indexes", "plan"}, fmt.Errorf("plan: %w", &migrate.NoDjangoAppError{App: "agents", Dir: "apps/agents/migrations"}),
			"plan: django app not found: agents: no apps/agents/migrations (point --django-apps at the folder holding the apps)"},
		{"no django model", []string{"indexes", "plan"}, &migrate.NoDjangoModelError{Table: "film_category", Why: "django_content_type has no model whose table it is (apps there: film)"},
			"no Django model for table film_category: django_content_type has no model whose table it is (apps there: film) (--django-project reads the project's models and their db_table)"},
		{"django leaves", []string{"indexes", "plan"}, &migrate.DjangoLeavesError{App: "blog", Leaves: []string{"0002_a", "0002_b"}},
			"cannot add a Django migration blog: its migrations have 2 leaves (0002_a, 0002_b): run manage.py makemigrations --merge blog first"},
		{"no atlas", []string{"migrate", "status"}, fmt.Errorf("%w (%v)", migrate.ErrNoAtlas, fs.ErrNotExist),
			"--engine atlas needs the atlas binary on PATH, and there is none (install it from https://atlasgo.io/getting-started, or leave --engine at native, which needs no binary) (file does not exist)"},
		{"baseline not a run", []string{"bench"}, &bench.BaselineError{File: "b.json", Problem: "is not JSON (line 1: x)", Remedy: bench.RemedySave},
			"bench: unusable baseline: b.json is not JSON (line 1: x): give a file written by `bench --save`"},
		{"baseline without samples", []string{"bench"}, &bench.BaselineError{File: "b.json", Problem: "has no latency samples", Remedy: bench.RemedySamples},
			"bench: unusable baseline: b.json has no latency samples (printed without --samples?): save the baseline with --save"},
		{"parameters in a .sql file", []string{"bench"}, &bench.ParamsError{Where: "w.sql:3", Param: 2},
			"bench: bad workload: w.sql:3: the statement uses $2, but a .sql file has no generators for parameters: write the values in, or use a profile (see `hishamos-perf bench --help`)"},
		{"tables hold rows", []string{"seed"}, &dataset.NotEmptyError{Table: "auth_user"},
			"dataset: table auth_user already holds rows; use --replace to drop the HishamOS tables and load them again: HishamOS tables already hold data"},
		{"schema incomplete", []string{"seed"}, &dataset.IncompleteError{Missing: []string{"a", "b"}},
			"dataset: the HishamOS schema is incomplete (missing a, b); use --replace to recreate it"},
		{"sandbox folder on sandbox up", []string{"sandbox", "up"}, &sandbox.DirError{Problem: "cannot create /x: permission denied", Fix: sandbox.FixAnother},
			"sandbox: folder not usable: cannot create /x: permission denied (choose another --dir)"},
		{"sandbox folder on migrate apply", []string{"migrate", "apply"}, &sandbox.DirError{Problem: "/x is too long for a Unix socket path", Fix: sandbox.FixShorter},
			"sandbox: folder not usable: /x is too long for a Unix socket path: choose a shorter --sandbox-dir"},
		{"sandbox folder on demo", []string{"demo"}, &sandbox.DirError{Problem: "the postgres account that runs the server as root cannot enter /root", Fix: sandbox.FixOutside},
			"sandbox: folder not usable: the postgres account that runs the server as root cannot enter /root: choose a TMPDIR outside it, such as /var/tmp/hishamos-perf/sandbox"},
		{"no cache folder", []string{"sandbox", "status"}, &sandbox.NoCacheDirError{Err: errors.New("$HOME is not defined")},
			"sandbox: no cache folder ($HOME is not defined): pass --dir"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := root.Find(tt.cmd)
			if err != nil {
				t.Fatal(err)
			}
			if got := a.words(c, tt.err); got != tt.want {
				t.Errorf("%s: %q\nwant %q", find(tt.cmd...), got, tt.want)
			}
			if strings.Contains(tt.err.Error(), "--") {
				t.Errorf("the library's own message names a flag: %q", tt.err.Error())
			}
		})
	}

	// The variable that chose the sandbox's folder is the one to change.
	a.getenv = func(k string) string {
		if k == envSandboxDir {
			return "/x"
		}
		return ""
	}
	c, _, _ := root.Find([]string{"analyze"})
	if got := a.words(c, &sandbox.DirError{Problem: "p", Fix: sandbox.FixAnother}); !strings.HasSuffix(got, "(choose another "+envSandboxDir+")") {
		t.Errorf("folder from the environment: %q", got)
	}
}

// TestLibraryMessagesWordedWithFlags: the messages a result carries (a
// comparison's reason, a gate's failure, a lint rule's text) name options
// through the naming function the command passes, and by field or in words
// without it.
func TestLibraryMessagesWordedWithFlags(t *testing.T) {
	// Two samples each: too few for the U test at alpha 0.01.
	run := func(ms ...float64) *bench.Run {
		return &bench.Run{Schema: bench.Schema, Complete: true, Settings: bench.Settings{Transaction: bench.TransactionPerCall},
			Statements: []bench.StatementRun{{Name: "a", SQLHash: "h", PlanHash: "p", Calls: len(ms), Samples: ms, P50Ms: ms[0]}}}
	}
	for _, c := range []struct {
		name func(bench.Option) string
		want string
	}{{benchFlag, "raise --iterations"}, {nil, "raise iterations"}} {
		o := bench.CompareOptions{Alpha: 0.01, NoisePct: 5, OptionName: c.name}
		out := bench.Compare(run(1, 1.1), run(2, 2.2), o, nil, nil)
		if r := out.Comparison[0].Reason; !strings.HasSuffix(r, c.want) {
			t.Errorf("reason %q; want it to end %q", r, c.want)
		}
	}
	e := 40.0
	g := bench.Evaluate(nil, bench.GateOptions{ExpectPct: &e, OptionName: benchFlag}, 0.01)
	if len(g.Failures) != 1 || !strings.Contains(g.Failures[0].Message, "nothing can be held to --expect") {
		t.Errorf("gate: %+v", g.Failures)
	}
	if got := analyzeFlag(analyze.OptSortIO); got != "analyze --sort io" {
		t.Errorf("analyze's ranking by blocks read: %q", got)
	}
	if got := migrate.RuleBuildTooLong.Text(migrateFlag); !strings.HasSuffix(got, "exceeds --max-build") {
		t.Errorf("lint rule: %q", got)
	}
	if !strings.Contains(lintRulesText(), "exceeds --max-build\n") {
		t.Errorf("lint --help lists the rule without its flag:\n%s", lintRulesText())
	}
}
