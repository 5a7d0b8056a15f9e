package migrate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
)

// ErrNoDjangoApp is returned when EmitDjango cannot find the Django app
// (its migrations folder) a table belongs to.
var ErrNoDjangoApp = errors.New("django app not found")

// ErrNoDjangoModel is returned for a table no source says is a Django
// model's (see NoDjangoModelError).
var ErrNoDjangoModel = errors.New("no Django model")

// ErrDjangoMigrations is returned for an app whose migrations a new one
// cannot follow: none yet, or more than one leaf.
var ErrDjangoMigrations = errors.New("cannot add a Django migration")

// ErrDjangoPartitioned is returned for an index on a table the database
// says is partitioned when its partition tree is not given
// (DjangoOptions.Partitions): Django's AddIndexConcurrently cannot build
// it, and a plain CREATE INDEX on the parent would block writes while it
// builds.
var ErrDjangoPartitioned = errors.New("an index on a partitioned table needs the partitioned sequence")

// Where a table's app and model came from (DjangoIndex.Source), in the
// order they are asked.
const (
	// SourceContentType: django_content_type has a model whose default
	// table (<app label>_<model>) is the table.
	SourceContentType = "django_content_type"
	// SourceProject: a model of the project's source has the table (its
	// Meta.db_table, or Django's default name).
	SourceProject = "project models"
	// SourceMigrations: the table starts with an app django_migrations
	// knows, then '_'; the model is the rest.
	SourceMigrations = "django_migrations app"
	// SourcePrefix: the table's name up to its first '_' is the app, the
	// rest the model: a guess, made only when nothing else is known.
	SourcePrefix = "name prefix"
)

// Where a migration's dependency came from (DjangoFile.DependencySource).
const (
	// DependencyProject: the app's one leaf in the project's migrations.
	DependencyProject = "project migrations"
	// DependencyDatabase: the app's latest migration django_migrations
	// says is applied.
	DependencyDatabase = "django_migrations"
	// DependencyFolder: the highest-numbered file of the app's
	// migrations folder.
	DependencyFolder = "migrations folder"
)

// How a Django migration builds an index (DjangoIndex.Operation).
const (
	// OpAddIndexConcurrently is django.contrib.postgres's operation:
	// Django's state and the database both get the index.
	OpAddIndexConcurrently = "AddIndexConcurrently"
	// OpSeparate is SeparateDatabaseAndState: the state gets the index
	// (AddIndex), the database the statements Django cannot write (a
	// partitioned table's sequence, RunSQL with its reverse).
	OpSeparate = "SeparateDatabaseAndState"
	// OpRunSQL is RunSQL alone: the database gets the index, Django's
	// state never knows it (it cannot say it, or the model is not the
	// project's).
	OpRunSQL = "RunSQL"
	// OpPlanned is an index a migration of the project creates already:
	// no new migration builds it again (DjangoIndex.Migration names the
	// one that does).
	OpPlanned = "planned already"
)

// DjangoOptions are what EmitDjango needs besides the indexes.
type DjangoOptions struct {
	// Project is the Django project as ReadDjangoProject read it; nil
	// without one. With it, apps are found in the project, models by
	// their db_table, dependencies from the migrations folders, fields by
	// name, and a patch adds the Meta.indexes lines.
	Project *DjangoProject
	// AppsDir holds the Django apps, AppsDir/<app>/migrations/, when
	// there is no Project.
	AppsDir string
	// Database is what the database says (ReadDjangoDatabase); nil
	// without a database.
	Database *DjangoDatabase
	// HostApp is the project app whose migration builds the indexes of
	// models the project does not hold (Django's auth.User, a third
	// party's): empty takes the first of the apps the other indexes go
	// to, else the project's first app.
	HostApp string
	// Name is the migrations' name (0002_<name>.py).
	Name string
	// Tool names the program in the files' headers.
	Tool string
	// Now is written into the header; zero means now.
	Now time.Time
	// Partitions are the partition trees of the partitioned tables among
	// the indexes' (PlanPartitions reads them): an index on one of them is
	// built by RunSQL running PartitionedSteps' sequence, with its DROP as
	// reverse SQL, inside SeparateDatabaseAndState when Django can say the
	// index (its state gets it with AddIndex).
	Partitions map[indexdef.Name]*Partition
}

// DjangoFile is one Django migration EmitDjango wrote.
type DjangoFile struct {
	App  string `json:"app"`
	Path string `json:"path"`
	// Dependency is the app's own latest migration, DependencySource
	// where it was read; Dependencies every (app, migration) pair the
	// file depends on (the others' for indexes it builds for them).
	Dependency       string      `json:"dependency"`
	DependencySource string      `json:"dependency_source"`
	Dependencies     [][2]string `json:"dependencies"`
	Indexes          []string    `json:"indexes"`
}

// DjangoIndex is what EmitDjango made of one index.
type DjangoIndex struct {
	Schema string `json:"schema"`
	Table  string `json:"table"`
	// App and Model are the model's app label and name (lower case, as
	// migrations name it); Class its class where the project says.
	App   string `json:"app"`
	Model string `json:"model"`
	Class string `json:"class,omitempty"`
	// Source is where App and Model came from (Source… constants).
	Source string `json:"source"`
	Name   string `json:"name"`
	// Operation is how the migration builds it (Op… constants), in the
	// migration Migration names (a file written, or app.migration for
	// OpPlanned).
	Operation string `json:"operation"`
	Migration string `json:"migration"`
	// Meta is the line to add to the model's Meta.indexes, empty when
	// Django's state does not hold the index; Imports what the line
	// needs imported besides models.
	Meta    string   `json:"meta,omitempty"`
	Imports []string `json:"imports,omitempty"`
	// InMeta is true when the model's Meta.indexes names the index
	// already: nothing is left to add.
	InMeta bool `json:"in_meta,omitempty"`
	// ModelsFile is the models file the patch changes for it; empty
	// when the patch does not (no project, or Why says).
	ModelsFile string `json:"models_file,omitempty"`
	// Why says why the index is not an AddIndexConcurrently, or why the
	// patch leaves its line to the developer.
	Why string `json:"why,omitempty"`
}

// DjangoResult is what EmitDjango wrote and what is left to do.
type DjangoResult struct {
	Files   []DjangoFile  `json:"files"`
	Indexes []DjangoIndex `json:"indexes"`
	// Patch is a unified diff of the project's models files adding the
	// Meta.indexes lines (for git apply or patch -p1 in the project's
	// folder); empty without a project. It is never applied here.
	Patch string `json:"patch,omitempty"`
	// Notes say what the developer should know: where a dependency was
	// read, what was a guess.
	Notes []string `json:"notes,omitempty"`
}

// DjangoLeavesError is ErrDjangoMigrations for an app whose migrations
// have more than one leaf: a new migration could follow only one, and
// Django refuses to migrate until they are merged.
type DjangoLeavesError struct {
	App    string
	Leaves []string
}

func (e *DjangoLeavesError) Error() string {
	return e.Message("makemigrations, merging")
}

func (e *DjangoLeavesError) Unwrap() error { return ErrDjangoMigrations }

// Message says which leaves the app has and to merge them with merge,
// the command that does (Django's makemigrations with its merge option).
func (e *DjangoLeavesError) Message(merge string) string {
	return fmt.Sprintf("%v %s: its migrations have %d leaves (%s): run %s first", ErrDjangoMigrations, e.App, len(e.Leaves), strings.Join(e.Leaves, ", "), merge)
}

// NoDjangoModelError is ErrNoDjangoModel for Table: Why says what the
// sources said.
type NoDjangoModelError struct {
	Table, Why string
}

func (e *NoDjangoModelError) Error() string { return e.Message(optionField) }

func (e *NoDjangoModelError) Unwrap() error { return ErrNoDjangoModel }

// Message says which table has no model, naming the option that reads a
// project's models with name.
func (e *NoDjangoModelError) Message(name func(Option) string) string {
	return fmt.Sprintf("%v for table %s: %s (%s reads the project's models and their db_table)", ErrNoDjangoModel, e.Table, e.Why, name(OptProject))
}

var djangoMigration = regexp.MustCompile(`^([0-9]{4})_[A-Za-z0-9_]+\.py$`)

// djangoApp is what an app label can be: a Python identifier (ASCII, as
// Django's own apps are). The label names a folder the migration is
// written in, so nothing else may pass: a table named ../../x_y is no app's.
var djangoApp = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// djangoEntry is one index on its way into a migration.
type djangoEntry struct {
	def   *indexdef.Def
	out   *DjangoIndex
	model *DjangoProjectModel
	form  *djangoIndex
	// forward and reverse are a partitioned table's statements, notes
	// the comment lines that say them.
	forward, reverse, notes []string
}

// djangoAppPlan is one app's migration on its way to a file.
type djangoAppPlan struct {
	app     string
	dir     string
	latest  string
	source  string
	number  int
	entries []*djangoEntry
	deps    map[[2]string]bool
}

// EmitDjango writes, per Django app, a migration adding the indexes with
// django.contrib.postgres's AddIndexConcurrently, atomic = False, and the
// app's latest migration as its dependency, and says for each index the
// models.Index line its model's Meta.indexes needs (Django compares the
// two: without the line, makemigrations wants to remove the index again),
// with a patch adding the lines when the project is known.
//
// A table's app and model come from, in order: django_content_type (the
// model whose default table it is, unless the project's models give the
// table to another), the project's models (their db_table), an app
// django_migrations knows that the name starts with, and only last the
// name's prefix; DjangoIndex.Source says which. The
// dependency comes from the project's migrations folder (its one leaf),
// else from django_migrations, else from the folder's highest number;
// DjangoFile.DependencySource says which.
//
// Indexes Django can say (columns, "-col" for DESC, expressions such as
// Upper("email"), a condition=Q(...), include=[...], opclasses, the
// postgres index classes) are AddIndexConcurrently; on a partitioned table
// (Partitions), SeparateDatabaseAndState: AddIndex for the state, RunSQL of
// PartitionedSteps' sequence with the DROP as reverse SQL for the database.
// What Django cannot say is RunSQL with the same CREATE INDEX CONCURRENTLY
// (on a partitioned table the sequence) and its DROP, Django's state never
// holding it, and so
// is an index on a model of an app outside the project (auth.User), built
// from the host app's migration (HostApp).
//
// Every piece of text in the files (names and reasons that may come from
// the database or a hand-edited proposals file, the SQL, the tool's name)
// is written by pyEscape: as a Python string literal, or as a comment whose
// text holds no line terminator. A spec whose SQL or names are not UTF-8 is
// refused: a Python migration could not name its table or index. Nothing
// is written unless every file can be.
func EmitDjango(indexes []indexdef.Def, opts DjangoOptions) (*DjangoResult, error) {
	name := indexdef.NamePart(opts.Name)
	if name == "" {
		name = DefaultName
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	res := &DjangoResult{}
	plans := map[string]*djangoAppPlan{}
	var foreign, planned []*djangoEntry
	names := map[string]string{}
	for _, d := range indexes {
		if err := djangoText(&d); err != nil {
			return nil, err
		}
		c, err := canonical(d)
		if err != nil {
			return nil, err
		}
		def := &c
		app, model, source, pm, err := opts.locate(def.Table)
		if err != nil {
			return nil, err
		}
		e := &djangoEntry{def: def, model: pm, out: &DjangoIndex{Schema: def.Schema, Table: def.Table, App: app, Model: model, Source: source}}
		if pm != nil {
			e.out.Class = pm.Class
		}
		e.out.Name = djangoIndexName(def)
		if other, dup := names[e.out.Name]; dup {
			return nil, fmt.Errorf("%w: %s and %s would both be named %s in Django", ErrBadSpec, other, def.Describe(), e.out.Name)
		}
		names[e.out.Name] = def.Describe()
		capp, mig, done := opts.Project.Created(e.out.Name)
		dir, own, err := opts.appDir(app)
		if err != nil {
			return nil, err
		}
		if !own {
			// Another's app: its models and migrations are not the
			// project's to change.
			e.out.Operation = OpRunSQL
			e.out.Why = fmt.Sprintf("app %s is not the project's: its models and migrations are not yours to change, so the host app's migration builds the index with RunSQL and Django's state does not hold it", app)
		} else if err := opts.form(e, done); err != nil {
			return nil, err
		}
		switch {
		case done:
			// Planned before: a second migration would build it twice.
			// Its Meta line may still be missing: the patch offers it
			// again where the model lacks it.
			e.out.Operation, e.out.Migration = OpPlanned, capp+"."+mig
			e.out.Why = fmt.Sprintf("migration %s.%s creates it already", capp, mig)
			planned = append(planned, e)
			continue
		case !own:
			foreign = append(foreign, e)
			continue
		}
		p := plans[app]
		if p == nil {
			p = &djangoAppPlan{app: app, dir: dir, deps: map[[2]string]bool{}}
			plans[app] = p
		}
		p.entries = append(p.entries, e)
	}
	if len(foreign) > 0 {
		host, err := opts.hostApp(plans)
		if err != nil {
			return nil, err
		}
		p := plans[host]
		if p == nil {
			dir, _, err := opts.appDir(host)
			if err != nil {
				return nil, err
			}
			p = &djangoAppPlan{app: host, dir: dir, deps: map[[2]string]bool{}}
			plans[host] = p
		}
		for _, e := range foreign {
			// The other app's latest applied migration, so that its table
			// is there first; none when the database does not say (a
			// dependency on an app that is not installed would stop
			// every migrate).
			if latest, ok := opts.Database.latestOf(e.out.App); ok {
				p.deps[[2]string{e.out.App, latest}] = true
			} else {
				res.Notes = append(res.Notes, fmt.Sprintf("%s: django_migrations does not say which migration of %s made it, so %s's migration does not depend on one", e.def.Table, e.out.App, host))
			}
			p.entries = append(p.entries, e)
		}
	}
	apps := make([]string, 0, len(plans))
	for app := range plans {
		apps = append(apps, app)
	}
	sort.Strings(apps)
	type output struct{ path, text string }
	var outs []output
	for _, app := range apps {
		p := plans[app]
		if err := opts.dependency(p); err != nil {
			return nil, err
		}
		file := filepath.Join(p.dir, fmt.Sprintf("%04d_%s.py", p.number+1, name))
		if _, err := os.Lstat(file); err == nil {
			return nil, fmt.Errorf("%w %s: %s exists already", ErrDjangoMigrations, app, file)
		}
		df := DjangoFile{App: app, Path: file, Dependency: p.latest, DependencySource: p.source}
		df.Dependencies = append(df.Dependencies, [2]string{app, p.latest})
		var others [][2]string
		for d := range p.deps {
			others = append(others, d)
		}
		sort.Slice(others, func(i, j int) bool { return others[i][0] < others[j][0] })
		df.Dependencies = append(df.Dependencies, others...)
		for _, e := range p.entries {
			e.out.Migration = file
			df.Indexes = append(df.Indexes, e.out.Name)
		}
		outs = append(outs, output{file, djangoMigrationText(p, df.Dependencies, opts.Tool, now)})
		res.Files = append(res.Files, df)
		if p.source == DependencyDatabase {
			res.Notes = append(res.Notes, fmt.Sprintf("%s depends on %s, the latest migration of %s applied in the database: if the app has migrations that are not applied there, Django will find two leaves and want them merged (makemigrations merges them)", file, p.latest, app))
		}
	}
	var entries []*djangoEntry
	for _, app := range apps {
		entries = append(entries, plans[app].entries...)
	}
	for _, e := range entries {
		if e.out.Source == SourcePrefix {
			res.Notes = append(res.Notes, fmt.Sprintf("%s: app %s and model %s are a guess from the table's name: nothing else knew the table", e.def.Table, e.out.App, e.out.Model))
		}
	}
	entries = append(entries, planned...)
	if opts.Project != nil {
		patch, err := djangoPatch(opts.Project, entries)
		if err != nil {
			return nil, err
		}
		res.Patch = patch
	}
	// Every file is known to be writable only once all are made: write
	// them now, and take back what was written if one fails.
	var written []string
	for _, o := range outs {
		f, err := os.OpenFile(o.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			_, err = f.WriteString(o.text)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			for _, p := range written {
				os.Remove(p)
			}
			return nil, fmt.Errorf("migrate: write %s: %w", o.path, err)
		}
		written = append(written, o.path)
	}
	for _, e := range entries {
		res.Indexes = append(res.Indexes, *e.out)
	}
	return res, nil
}

// locate finds a table's app and model, asking the sources in order, and
// says which decided.
func (o *DjangoOptions) locate(table string) (app, model, source string, pm *DjangoProjectModel, err error) {
	db, proj := o.Database, o.Project
	fromProject := func(app, model string) *DjangoProjectModel {
		if proj == nil {
			return nil
		}
		return proj.ModelOf(app, model)
	}
	if db != nil && db.HasContentTypes {
		if ct, ok := db.contentTypeOf(table); ok {
			app, model, source = ct.App, ct.Model, SourceContentType
			pm = fromProject(app, model)
			if _, ok := proj.table(table); pm == nil && ok {
				// The content type matched by Django's default table
				// name; the project's model says which model has it
				// (a stale content type, or a db_table).
				source = ""
			}
		}
	}
	if source == "" {
		if m, ok := proj.table(table); ok {
			app, model, source, pm = m.App, strings.ToLower(m.Class), SourceProject, m
		}
	}
	if source == "" && db != nil && db.HasMigrations {
		if a, ok := db.appOf(table); ok {
			app, model, source = a, table[len(a)+1:], SourceMigrations
			pm = fromProject(app, model)
		}
	}
	if source == "" {
		a, m, ok := strings.Cut(table, "_")
		switch {
		case !ok || m == "":
			return "", "", "", nil, &NoDjangoModelError{Table: table, Why: "its name is not <app>_<model>, and no other source knows it"}
		case db != nil && db.HasContentTypes:
			return "", "", "", nil, &NoDjangoModelError{Table: table, Why: fmt.Sprintf("django_content_type has no model whose table it is (apps there: %s)", strings.Join(db.apps(), ", "))}
		case proj != nil:
			return "", "", "", nil, &NoDjangoModelError{Table: table, Why: "no model of the project has it as its table"}
		}
		app, model, source = a, m, SourcePrefix
	}
	if !djangoApp.MatchString(app) || model == "" {
		return "", "", "", nil, fmt.Errorf("%w for table %q: app %q is not a Python identifier", ErrNoDjangoApp, table, app)
	}
	return app, model, source, pm, nil
}

// appDir is the migrations folder of an app and whether the project holds
// it: the project's folder, else AppsDir/<app>/migrations. An app the
// project does not hold is not its own (own false, no error); with no
// project, a missing folder is a NoDjangoAppError.
func (o *DjangoOptions) appDir(app string) (dir string, own bool, err error) {
	if o.Project != nil {
		a, ok := o.Project.Apps[app]
		if !ok {
			return "", false, nil
		}
		if a.Migrations == "" {
			return "", false, fmt.Errorf("%w %s: it has no migrations folder yet (run manage.py makemigrations %s first)", ErrDjangoMigrations, app, app)
		}
		return o.Project.MigrationsDir(app), true, nil
	}
	dir = filepath.Join(o.AppsDir, app, "migrations")
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return "", false, &NoDjangoAppError{App: app, Dir: dir}
	}
	return dir, true, nil
}

// hostApp is the project app whose migration builds the indexes of models
// outside the project.
func (o *DjangoOptions) hostApp(plans map[string]*djangoAppPlan) (string, error) {
	if o.HostApp != "" {
		if _, ok := o.Project.Apps[o.HostApp]; !ok {
			return "", fmt.Errorf("%w %s: the project has no such app to build the other apps' indexes in (its apps: %s)", ErrNoDjangoApp, o.HostApp, strings.Join(o.Project.AppLabels(), ", "))
		}
		return o.HostApp, nil
	}
	var have []string
	for app := range plans {
		have = append(have, app)
	}
	sort.Strings(have)
	if len(have) > 0 {
		return have[0], nil
	}
	for _, l := range o.Project.AppLabels() {
		if o.Project.Apps[l].Migrations != "" {
			return l, nil
		}
	}
	return "", fmt.Errorf("%w: the project has no app with a migrations folder to build the other apps' indexes in", ErrNoDjangoApp)
}

// form decides how the migration builds an index and the Meta line; for
// an index planned already only the Meta line counts.
func (o *DjangoOptions) form(e *djangoEntry, planned bool) error {
	field := func(col string) string { return col }
	if e.model != nil {
		field = func(col string) string {
			if f, ok := e.model.Columns[col]; ok {
				return f
			}
			return col
		}
	}
	var types map[string]string
	if o.Database != nil {
		types = o.Database.Types[e.def.TableName()]
	}
	tree := o.Partitions[e.def.TableName()]
	if !planned && tree == nil && o.Database != nil && o.Database.Partitioned[e.def.TableName()] {
		return fmt.Errorf("%w: %s is partitioned, and its partitions were not read", ErrDjangoPartitioned, e.def.QualifiedTable())
	}
	partitioned := tree != nil && !planned
	if partitioned {
		def := *e.def
		def.Name = e.out.Name
		fwd, rev, notes, err := djangoPartitioned(&def, tree)
		if err != nil {
			return err
		}
		e.forward, e.reverse, e.notes = fwd, rev, notes
	}
	form, err := djangoForm(e.def, field, types)
	why, noForm := isNoForm(err)
	if err != nil && !noForm {
		return err
	}
	switch {
	case noForm:
		e.out.Operation = OpRunSQL
		e.out.Why = why + ": built with RunSQL, which Django's state does not hold (makemigrations will not touch it)"
		return nil
	case partitioned:
		e.out.Operation = OpSeparate
		e.out.Why = "a partitioned table: the database gets the partitioned sequence (RunSQL), Django's state the index (AddIndex)"
		e.notes = append(e.notes, "SeparateDatabaseAndState: Django's state still gets the index (AddIndex), as the model's Meta.indexes line says it.")
	default:
		e.out.Operation = OpAddIndexConcurrently
	}
	form.name = e.out.Name
	e.form = form
	e.out.Meta = form.Python()
	for _, imp := range form.Imports() {
		e.out.Imports = append(e.out.Imports, "from "+imp.Module+" import "+imp.Name)
	}
	return nil
}

// dependency finds an app's latest migration and the number after which
// the new one goes.
func (o *DjangoOptions) dependency(p *djangoAppPlan) error {
	entries, err := os.ReadDir(p.dir)
	if err != nil {
		return fmt.Errorf("migrate: read %s: %w", p.dir, err)
	}
	latest := ""
	for _, e := range entries {
		m := djangoMigration.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		k, _ := strconv.Atoi(m[1])
		if k > p.number || k == p.number && strings.TrimSuffix(e.Name(), ".py") > latest {
			p.number, latest = k, strings.TrimSuffix(e.Name(), ".py")
		}
	}
	switch {
	case o.Project != nil:
		a := o.Project.Apps[p.app]
		switch len(a.Leaves) {
		case 0:
			return fmt.Errorf("%w %s: it has no migrations yet (run manage.py makemigrations %s first)", ErrDjangoMigrations, p.app, p.app)
		case 1:
			p.latest, p.source = a.Leaves[0], DependencyProject
		default:
			return &DjangoLeavesError{App: p.app, Leaves: a.Leaves}
		}
	case o.Database != nil && len(o.Database.Applied[p.app]) > 0:
		p.latest, _ = o.Database.Latest(p.app)
		p.source = DependencyDatabase
	case latest != "":
		p.latest, p.source = latest, DependencyFolder
	default:
		return fmt.Errorf("%w %s: %s has no migrations yet (run manage.py makemigrations %s first)", ErrDjangoMigrations, p.app, p.dir, p.app)
	}
	if n := migrationNumber(p.latest); n > p.number {
		p.number = n
	}
	return nil
}

// djangoMigrationText is the migration file of one app.
func djangoMigrationText(p *djangoAppPlan, deps [][2]string, tool string, now time.Time) string {
	if tool == "" {
		tool = "hishamos-perf"
	}
	imports := map[pyImport]bool{}
	ops := map[string]bool{}
	for _, e := range p.entries {
		if e.form != nil {
			for i := range e.form.imports {
				imports[i] = true
			}
		}
		ops[e.out.Operation] = true
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Generated by %s on %s\n", pyEscape(tool), now.UTC().Format("2006-01-02 15:04"))
	b.WriteString("#\n# Builds the indexes with CREATE INDEX CONCURRENTLY, so writes go on while\n")
	b.WriteString("# they build. PostgreSQL refuses that inside a transaction: atomic = False.\n")
	if ops[OpAddIndexConcurrently] || ops[OpSeparate] {
		b.WriteString("# Add each models.Index below to its model's Meta.indexes as well: Django\n")
		b.WriteString("# compares the two, and without it makemigrations would remove the index.\n")
	}
	if ops[OpAddIndexConcurrently] {
		b.WriteString("from django.contrib.postgres.operations import AddIndexConcurrently\n")
	}
	b.WriteString("from django.db import migrations, models\n")
	byModule := map[string][]string{}
	var modules []string
	for i := range imports {
		if _, ok := byModule[i.Module]; !ok {
			modules = append(modules, i.Module)
		}
		byModule[i.Module] = append(byModule[i.Module], i.Name)
	}
	sort.Strings(modules)
	for _, m := range modules {
		sort.Strings(byModule[m])
		fmt.Fprintf(&b, "from %s import %s\n", m, strings.Join(byModule[m], ", "))
	}
	b.WriteString("\n\nclass Migration(migrations.Migration):\n    atomic = False\n\n    dependencies = [\n")
	for _, d := range deps {
		fmt.Fprintf(&b, "        (%s, %s),\n", pyLiteral(d[0]), pyLiteral(d[1]))
	}
	b.WriteString("    ]\n\n    operations = [\n")
	for _, e := range p.entries {
		if why := strings.TrimSpace(e.def.Comment); why != "" {
			for _, line := range strings.Split(why, "\n") {
				b.WriteString("        # " + pyEscape(strings.TrimSpace(line)) + "\n")
			}
		}
		def := *e.def
		def.Name = e.out.Name
		for _, line := range e.notes {
			b.WriteString("        # " + pyEscape(line) + "\n")
		}
		switch e.out.Operation {
		case OpAddIndexConcurrently:
			fmt.Fprintf(&b, "        AddIndexConcurrently(\n            model_name=%s,\n            index=%s,\n        ),\n", pyLiteral(e.out.Model), e.form.Python())
		case OpSeparate:
			fmt.Fprintf(&b, "        migrations.SeparateDatabaseAndState(\n            state_operations=[\n                migrations.AddIndex(\n                    model_name=%s,\n                    index=%s,\n                ),\n            ],\n",
				pyLiteral(e.out.Model), e.form.Python())
			b.WriteString("            database_operations=[\n                migrations.RunSQL(\n                    sql=[\n")
			for _, s := range e.forward {
				fmt.Fprintf(&b, "                        %s,\n", pyLiteral(s))
			}
			b.WriteString("                    ],\n                    reverse_sql=[\n")
			for _, s := range e.reverse {
				fmt.Fprintf(&b, "                        %s,\n", pyLiteral(s))
			}
			b.WriteString("                    ],\n                ),\n            ],\n        ),\n")
		default:
			fmt.Fprintf(&b, "        # %s\n", pyEscape(e.out.Why))
			if e.forward == nil {
				fmt.Fprintf(&b, "        migrations.RunSQL(\n            sql=%s,\n            reverse_sql=%s,\n        ),\n",
					pyLiteral(def.CreateSQL(true, true)), pyLiteral(def.DropSQL(true, true)))
				break
			}
			b.WriteString("        migrations.RunSQL(\n            sql=[\n")
			for _, s := range e.forward {
				fmt.Fprintf(&b, "                %s,\n", pyLiteral(s))
			}
			b.WriteString("            ],\n            reverse_sql=[\n")
			for _, s := range e.reverse {
				fmt.Fprintf(&b, "                %s,\n", pyLiteral(s))
			}
			b.WriteString("            ],\n        ),\n")
		}
	}
	b.WriteString("    ]\n")
	return b.String()
}

// djangoLockTimeout caps each lock wait of a partitioned index's reverse
// SQL (its DROP cannot run CONCURRENTLY), as apply's lock_timeout does: a
// DROP queued behind a long transaction would queue every reader of the
// table behind itself.
const djangoLockTimeout = DefaultLockTimeout

// djangoPartitioned returns what builds an index on a partitioned table:
// the sequence of PartitionedSteps (AddIndexConcurrently cannot build it:
// on a partitioned table PostgreSQL refuses CONCURRENTLY), the DROP of the
// partitioned index under a lock_timeout as its reverse, and the comment
// lines the migration says it with.
func djangoPartitioned(def *indexdef.Def, tree *Partition) (forward, reverse, notes []string, err error) {
	steps, err := PartitionedSteps(def, tree)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, s := range steps {
		forward = append(forward, s.SQL)
	}
	reverse = []string{fmt.Sprintf("SET lock_timeout = '%dms'", djangoLockTimeout.Milliseconds()), def.DropSQL(false, true), "RESET lock_timeout"}
	notes = []string{
		partitionedWhy(def, tree),
		"AddIndexConcurrently cannot do this, so it runs as SQL. Stopped part way, a partition's index may be left",
		"INVALID: drop it (DROP INDEX CONCURRENTLY) before running the migration again, since IF NOT EXISTS would",
		"keep it and an INVALID index attached keeps the table's index INVALID. The reverse SQL drops the table's",
		"index with its partitions', under ACCESS EXCLUSIVE locks that lock_timeout keeps brief.",
	}
	return forward, reverse, notes, nil
}

// djangoText refuses an index whose names or SQL are not UTF-8: the
// migration could not say them (Python's text is Unicode, and Django sends
// it to the server as UTF-8), and a name it changed would index another
// table.
func djangoText(d *indexdef.Def) error {
	texts := append([]string{d.Name, d.Schema, d.Table, d.Where, d.Method}, d.Include...)
	for _, k := range d.Keys {
		texts = append(texts, k.Column, k.Expr, k.Opclass, k.Collate)
	}
	for _, t := range texts {
		if !utf8.ValidString(t) {
			return fmt.Errorf("%w %s: %q is not UTF-8 text, which a Django migration needs", ErrBadSpec, strings.ToValidUTF8(d.Table, "?"), t)
		}
	}
	return nil
}

// pyLiteral is s as a Python 3 string literal: pyEscape between double
// quotes. Python reads it back as s exactly.
func pyLiteral(s string) string { return `"` + pyEscape(s) + `"` }

// pyEscape is s as the inside of a double-quoted Python 3 string literal,
// and the one way text reaches a generated Python file: as a literal (with
// pyLiteral) or as the text of a # comment. It escapes the backslash and
// the double quote, and writes every character that is not printable as an
// escape (\n, \r, \t, \xNN, \uNNNN, \UNNNNNNNN): the controls, among them
// every line terminator Python's str.splitlines knows (\n, \r, \x0b, \x0c,
// \x1c, \x1d, \x1e, \x85), the separators U+2028 and U+2029, and format
// characters such as the bidirectional overrides, which would show a
// reader other code than Python runs. Python's tokenizer ends a line only
// at \n and \r, but the result holds none of them, so a comment made of it
// cannot end early whatever reads the file. A byte that is not UTF-8
// becomes \udcNN, as Python's surrogateescape writes such a byte.
// Printable characters, letters of any script included, stay as they are.
func pyEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\udc%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case r == '"':
			b.WriteString(`\"`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r >= 0x20 && r < 0x7f, r > 0x7f && unicode.IsPrint(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x10000:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
		i += size
	}
	return b.String()
}
