package migrate

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// djangoProjectReader is the Python program that reads a Django project's
// source with Python's own ast module: the apps (their folders, labels and
// migrations), the model classes (db_table, fields and their columns, Meta
// and where its indexes list sits) and each models file's imports.
//
// Why ast, and not Django itself: importing the project's settings runs
// the project (its settings module, every app's code, whatever reads the
// environment or opens a connection at import), needs its dependencies
// installed in the Python that runs it, and would still not say where in
// models.py a Meta sits, which the patch needs. The ast reads any project
// with any python3 (3.8 or newer), runs none of it, and knows every
// position. What it cannot know it does not guess: a db_table or a label
// that is not a string literal, a models module set by MIGRATION_MODULES
// (see DjangoModel.Source and the errors it reports).
//
//go:embed djangoproject.py
var djangoProjectReader string

// ErrNoPython is returned when no Python is there to read a Django project
// with.
var ErrNoPython = errors.New("no python3 to read the Django project's models with")

// ErrDjangoProject is returned for a Django project that cannot be read.
var ErrDjangoProject = errors.New("cannot read the Django project")

// DjangoProject is a Django project as its source says: its apps and the
// models they hold.
type DjangoProject struct {
	// Dir is the project's folder, as given.
	Dir string `json:"dir"`
	// Apps are the project's apps by label.
	Apps map[string]*DjangoProjectApp `json:"apps"`
	// Models are the models that have a table, by table name.
	Models map[string]*DjangoProjectModel `json:"models"`
	// Files are the models files, by path relative to Dir.
	Files map[string]*djangoModelsFile `json:"-"`
	// Problems are files the reader could not read (file:line: why), for
	// the report: a model in one of them is not known.
	Problems []string `json:"problems,omitempty"`
}

// DjangoProjectApp is one app of the project.
type DjangoProjectApp struct {
	Label string `json:"label"`
	// Dir is the app's folder, relative to the project.
	Dir string `json:"dir"`
	// Migrations is its migrations folder, relative to the project;
	// empty when it has none.
	Migrations string `json:"migrations,omitempty"`
	// Names are its migrations; Leaves those no other of its
	// migrations depends on (one, unless it needs makemigrations --merge).
	Names  []string `json:"names,omitempty"`
	Leaves []string `json:"leaves,omitempty"`
	// Indexes are the indexes its migrations create, by name, each with
	// the migration that does.
	Indexes map[string]string `json:"indexes,omitempty"`
}

// DjangoProjectModel is one model class with a table of its own.
type DjangoProjectModel struct {
	App   string `json:"app"`
	Class string `json:"class"`
	Table string `json:"table"`
	// TableGiven is true when Meta.db_table names the table; else it is
	// Django's default, <app label>_<class, lower case>.
	TableGiven bool `json:"table_given"`
	// File is the models file, relative to the project.
	File string `json:"file"`
	// Columns maps each column to its field's name (a ForeignKey's
	// project_id column is field project).
	Columns map[string]string `json:"columns"`
	// Unmanaged is Meta.managed = False: Django's migrate builds nothing
	// on it.
	Unmanaged bool `json:"unmanaged,omitempty"`

	cls *djangoClass
}

// djangoModelsFile is what the reader says of a models file: its imports
// and the line after which new ones go.
type djangoModelsFile struct {
	File    string `json:"file"`
	Imports []struct {
		Module string `json:"module"`
		Level  int    `json:"level"`
		From   bool   `json:"from"`
		Names  []struct {
			Name string `json:"name"`
			As   string `json:"as"`
		} `json:"names"`
	} `json:"imports"`
	LastImport int `json:"last_import"`
}

// pyPos is a node's place in its file: lines from 1, columns as Python's
// ast gives them (UTF-8 byte offsets).
type pyPos struct {
	Line    int `json:"line"`
	Col     int `json:"col"`
	EndLine int `json:"end_line"`
	EndCol  int `json:"end_col"`
}

// djangoClass is a class of a models file as the reader says it.
type djangoClass struct {
	Class    string   `json:"class"`
	File     string   `json:"file"`
	App      string   `json:"app"`
	Bases    []string `json:"bases"`
	Pos      pyPos    `json:"pos"`
	BodyLine int      `json:"body_line"`
	BodyCol  int      `json:"body_col"`
	Fields   []struct {
		Name   string `json:"name"`
		Column string `json:"column"`
	} `json:"fields"`
	Meta *struct {
		Pos      pyPos          `json:"pos"`
		BodyLine int            `json:"body_line"`
		BodyCol  int            `json:"body_col"`
		Bases    []string       `json:"bases"`
		Attrs    map[string]any `json:"attrs"`
		Indexes  *struct {
			Pos   pyPos  `json:"pos"`
			Kind  string `json:"kind"`
			Stmt  pyPos  `json:"stmt"`
			Items []struct {
				pyPos
				Text string `json:"text"`
			} `json:"items"`
		} `json:"indexes"`
	} `json:"meta"`
}

// metaString is a Meta attribute that is a string literal.
func (c *djangoClass) metaString(key string) (string, bool) {
	if c.Meta == nil {
		return "", false
	}
	s, ok := c.Meta.Attrs[key].(string)
	return s, ok
}

// metaTrue reports whether a Meta attribute is the literal True.
func (c *djangoClass) metaTrue(key string) bool {
	if c.Meta == nil {
		return false
	}
	b, ok := c.Meta.Attrs[key].(bool)
	return ok && b
}

// metaFalse reports whether a Meta attribute is the literal False.
func (c *djangoClass) metaFalse(key string) bool {
	if c.Meta == nil {
		return false
	}
	b, ok := c.Meta.Attrs[key].(bool)
	return ok && !b
}

// djangoProjectDoc is what the reader prints.
type djangoProjectDoc struct {
	Root string `json:"root"`
	Apps []struct {
		Label      string `json:"label"`
		Dir        string `json:"dir"`
		Migrations *struct {
			Dir     string            `json:"dir"`
			Names   []string          `json:"names"`
			Leaves  []string          `json:"leaves"`
			Indexes map[string]string `json:"indexes"`
		} `json:"migrations"`
	} `json:"apps"`
	Classes []*djangoClass      `json:"classes"`
	Files   []*djangoModelsFile `json:"files"`
	Errors  []string            `json:"errors"`
}

// ReadDjangoProject reads the Django project in dir with python (a path to
// python3, 3.8 or newer; see djangoProjectReader for why its ast and not
// Django): its apps, their migrations, and every model with a table of its
// own, by table.
func ReadDjangoProject(ctx context.Context, dir, python string) (*DjangoProject, error) {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		if err == nil {
			err = errors.New("not a folder")
		}
		return nil, fmt.Errorf("%w %s: %v", ErrDjangoProject, dir, err)
	}
	if python == "" {
		return nil, ErrNoPython
	}
	// -I: isolated (no PYTHON* variables, no user site, not the current
	// folder on the path), -S: no site module, -B: no bytecode written.
	cmd := exec.CommandContext(ctx, python, "-I", "-S", "-B", "-c", djangoProjectReader, dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return nil, fmt.Errorf("%w (%s): %v", ErrNoPython, python, err)
		}
		return nil, fmt.Errorf("%w %s: %s", ErrDjangoProject, dir, msg)
	}
	var doc djangoProjectDoc
	if err := json.Unmarshal(out, &doc); err != nil {
		return nil, fmt.Errorf("%w %s: the reader's output: %v", ErrDjangoProject, dir, err)
	}
	return projectFromDoc(dir, &doc)
}

// projectFromDoc makes the project of what the reader found: a class is a
// model when one of its bases is Django's Model or (by name) another model
// class of the project; an abstract one gives its fields to the models
// that extend it and has no table, nor has a proxy.
func projectFromDoc(dir string, doc *djangoProjectDoc) (*DjangoProject, error) {
	p := &DjangoProject{Dir: dir, Apps: map[string]*DjangoProjectApp{}, Models: map[string]*DjangoProjectModel{},
		Files: map[string]*djangoModelsFile{}, Problems: doc.Errors}
	for _, a := range doc.Apps {
		if prev, ok := p.Apps[a.Label]; ok {
			return nil, fmt.Errorf("%w %s: two apps are labelled %s (%s and %s): Django would refuse them too", ErrDjangoProject, dir, a.Label, prev.Dir, a.Dir)
		}
		app := &DjangoProjectApp{Label: a.Label, Dir: a.Dir}
		if m := a.Migrations; m != nil {
			app.Migrations, app.Names, app.Leaves, app.Indexes = m.Dir, m.Names, m.Leaves, m.Indexes
		}
		p.Apps[a.Label] = app
	}
	for _, f := range doc.Files {
		p.Files[f.File] = f
	}
	byName := map[string][]*djangoClass{}
	for _, c := range doc.Classes {
		byName[c.Class] = append(byName[c.Class], c)
	}
	// A class is a model when a base is, to a fixed point.
	isModel := map[*djangoClass]bool{}
	for changed := true; changed; {
		changed = false
		for _, c := range doc.Classes {
			if isModel[c] {
				continue
			}
			for _, b := range c.Bases {
				short := b[strings.LastIndexByte(b, '.')+1:]
				if short == "Model" && (b == "Model" || strings.HasSuffix(b, "models.Model")) {
					isModel[c], changed = true, true
					break
				}
				for _, o := range byName[short] {
					if isModel[o] {
						isModel[c], changed = true, true
					}
				}
			}
		}
	}
	var fields func(c *djangoClass, seen map[*djangoClass]bool) map[string]string
	fields = func(c *djangoClass, seen map[*djangoClass]bool) map[string]string {
		cols := map[string]string{}
		if seen[c] {
			return cols
		}
		seen[c] = true
		for _, b := range c.Bases {
			for _, o := range byName[b[strings.LastIndexByte(b, '.')+1:]] {
				if isModel[o] && o.metaTrue("abstract") {
					for col, f := range fields(o, seen) {
						cols[col] = f
					}
				}
			}
		}
		for _, f := range c.Fields {
			cols[f.Column] = f.Name
		}
		return cols
	}
	for _, c := range doc.Classes {
		if !isModel[c] || c.metaTrue("abstract") || c.metaTrue("proxy") {
			continue
		}
		app := c.App
		if l, ok := c.metaString("app_label"); ok {
			app = l
		}
		table, given := c.metaString("db_table")
		if !given {
			table = app + "_" + strings.ToLower(c.Class)
		}
		m := &DjangoProjectModel{App: app, Class: c.Class, Table: table, TableGiven: given, File: c.File,
			Columns: fields(c, map[*djangoClass]bool{}), Unmanaged: c.metaFalse("managed"), cls: c}
		if prev, ok := p.Models[table]; ok {
			return nil, fmt.Errorf("%w %s: two models have table %s (%s.%s in %s, %s.%s in %s)", ErrDjangoProject, dir, table,
				prev.App, prev.Class, prev.File, m.App, m.Class, m.File)
		}
		p.Models[table] = m
	}
	return p, nil
}

// table is the project's model with the table, false without a project.
func (p *DjangoProject) table(name string) (*DjangoProjectModel, bool) {
	if p == nil {
		return nil, false
	}
	m, ok := p.Models[name]
	return m, ok
}

// Created is the app and migration that create an index of that name
// already, false when none does.
func (p *DjangoProject) Created(index string) (app, migration string, ok bool) {
	if p == nil {
		return "", "", false
	}
	for _, l := range p.AppLabels() {
		if m, found := p.Apps[l].Indexes[index]; found {
			return l, m, true
		}
	}
	return "", "", false
}

// ModelOf is the project's model of an app and model name (any case).
func (p *DjangoProject) ModelOf(app, model string) *DjangoProjectModel {
	for _, m := range p.Models {
		if m.App == app && strings.EqualFold(m.Class, model) {
			return m
		}
	}
	return nil
}

// MigrationsDir is an app's migrations folder, absolute or relative to
// the working folder as Dir is; empty when the project does not hold the
// app or the app has no migrations folder.
func (p *DjangoProject) MigrationsDir(app string) string {
	a, ok := p.Apps[app]
	if !ok || a.Migrations == "" {
		return ""
	}
	return filepath.Join(p.Dir, a.Migrations)
}

// AppLabels are the project's app labels, sorted.
func (p *DjangoProject) AppLabels() []string {
	labels := make([]string, 0, len(p.Apps))
	for l := range p.Apps {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	return labels
}
