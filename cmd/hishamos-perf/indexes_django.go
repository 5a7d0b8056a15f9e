package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/hishamos/hishamos-perf/cmd/hishamos-perf/internal/report"
	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/migrate"
)

// envPython names the Python that reads a Django project's models
// (--django-project); unset, python3 on PATH, else python.
const envPython = "HISHAMOS_PERF_PYTHON"

// python is the interpreter that reads a Django project, "" when there is
// none.
func (a *app) python() string {
	if p := a.getenv(envPython); p != "" {
		return p
	}
	for _, name := range []string{"python3", "python"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// planDjango writes the indexes as Django migrations: the project read
// when --django-project is given, the database's django_content_type and
// django_migrations when a DSN is, then migrate.EmitDjango, and the
// report with the Meta lines and the patch (to --django-patch, or printed).
func (a *app) planDjango(ctx context.Context, cmdPath string, specs []indexdef.Def, o planOptions, tool, schemaNote string, trees map[indexdef.Name]*migrate.Partition) error {
	usage := func(err error) error { return &usageError{err: err, cmd: cmdPath} }
	opts := migrate.DjangoOptions{AppsDir: o.djangoApps, Name: o.name, Tool: tool, HostApp: o.djangoHostApp, Partitions: trees}
	if o.djangoProject != "" {
		py := a.python()
		if py == "" {
			return usage(fmt.Errorf("--%s: %w: install python3 (3.8 or newer), or name one in %s", flagDjangoProject, migrate.ErrNoPython, envPython))
		}
		proj, err := migrate.ReadDjangoProject(ctx, o.djangoProject, py)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return err
			}
			return &usageError{err: fmt.Errorf("--%s: %w", flagDjangoProject, err)}
		}
		for _, p := range proj.Problems {
			a.say("indexes plan: --%s: could not read %s", flagDjangoProject, p)
		}
		opts.Project = proj
	}
	if t := pg.Resolve(a.dsn, a.getenv); !t.Sandbox() {
		conn, err := a.connect(ctx, t, pg.Session{StatementTimeout: pg.DefaultSession.StatementTimeout, LockTimeout: pg.DefaultSession.LockTimeout, ReadOnly: true})
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		tables := make([]indexdef.Name, len(specs))
		for i, d := range specs {
			tables[i] = d.TableName()
		}
		if opts.Database, err = migrate.ReadDjangoDatabase(ctx, conn, tables); err != nil {
			return &dbError{err}
		}
	}
	// The patch's file is opened (not yet emptied) before any migration
	// is written: one that cannot be written must not leave the migrations
	// without their patch; on a failure a file made here goes again.
	var patch *os.File
	made := false
	if o.djangoPatch != "" {
		_, statErr := os.Stat(o.djangoPatch)
		made = statErr != nil
		f, err := os.OpenFile(o.djangoPatch, os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			return &usageError{err: fmt.Errorf("--%s: %w", flagDjangoPatch, err)}
		}
		patch = f
		defer patch.Close()
	}
	res, err := migrate.EmitDjango(specs, opts)
	if err != nil {
		if patch != nil && made {
			patch.Close()
			os.Remove(o.djangoPatch)
		}
		return a.djangoError(err)
	}
	patchFile := ""
	if patch != nil {
		err := patch.Truncate(0)
		if err == nil {
			_, err = patch.WriteString(res.Patch)
		}
		if err == nil {
			err = patch.Close()
		}
		if err != nil {
			return &usageError{err: fmt.Errorf("--%s: %w", flagDjangoPatch, err)}
		}
		patchFile = o.djangoPatch
	}
	return a.write(report.Django(res, o.emit, schemaNote, o.djangoProject, patchFile))
}

// djangoError sorts EmitDjango's errors: what the project, the folders
// or the indexes say is bad input (exit 2).
func (a *app) djangoError(err error) error {
	switch {
	case errors.Is(err, migrate.ErrNoDjangoApp), errors.Is(err, migrate.ErrNoDjangoModel), errors.Is(err, migrate.ErrDjangoMigrations),
		errors.Is(err, migrate.ErrDjangoPartitioned), errors.Is(err, migrate.ErrBadSpec), errors.Is(err, migrate.ErrForeignPartition):
		return &usageError{err: err}
	}
	return err
}

// joinInts writes numbers as 1, 3, 4.
func joinInts(nums []int) string {
	s := make([]string, len(nums))
	for i, n := range nums {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}
