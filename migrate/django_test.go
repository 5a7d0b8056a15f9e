package migrate

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
)

// pyLineTerminators are the characters Python's str.splitlines ends a line
// at (Python's tokenizer itself ends one only at \n, \r and \r\n), plus
// \r\n.
var pyLineTerminators = []string{"\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\u0085", "\u2028", "\u2029"}

// marker is what every payload tries to make in the folder the migration
// is imported from: a folder of that name is proof that code ran.
const marker = "pwned"

// payload is Python that makes the marker, short enough to fit in an index
// name.
const payload = "__import__('os').mkdir('" + marker + "')"

// djangoStub is a django package with the names a generated migration
// imports, each recording what it was given so the test can read back
// every string the file holds: any name of django.db.models (beside Index,
// Q and F) and of django.db.models.functions is a recorder of its call.
var djangoStub = map[string]string{
	"django/__init__.py":                    "",
	"django/db/__init__.py":                 "",
	"django/db/models/__init__.py":          stubRecorder + "\n\nclass Index:\n    def __init__(self, *expressions, fields=(), name=None, include=None, condition=None, opclasses=()):\n        self.kw = dict(expressions=list(expressions), fields=list(fields), name=name, include=list(include or []), condition=condition, opclasses=list(opclasses))\n",
	"django/db/models/functions.py":         stubRecorder,
	"django/db/migrations/__init__.py":      "class Migration:\n    pass\n\n\nclass RunSQL:\n    def __init__(self, sql, reverse_sql=None):\n        self.kw = dict(kind='RunSQL', sql=sql, reverse_sql=reverse_sql)\n\n\nclass AddIndex:\n    def __init__(self, model_name, index):\n        self.kw = dict(kind='AddIndex', model_name=model_name, index=index.kw)\n\n\nclass SeparateDatabaseAndState:\n    def __init__(self, state_operations=(), database_operations=()):\n        self.kw = dict(kind='SeparateDatabaseAndState', state=[o.kw for o in state_operations], database=[o.kw for o in database_operations])\n",
	"django/contrib/__init__.py":            "",
	"django/contrib/postgres/__init__.py":   "",
	"django/contrib/postgres/operations.py": "class AddIndexConcurrently:\n    def __init__(self, model_name, index):\n        self.kw = dict(kind='AddIndexConcurrently', model_name=model_name, index=index.kw)\n",
	"django/contrib/postgres/indexes.py":    stubRecorder,
	"load_migration.py":                     loadMigration,
}

// stubRecorder is a module whose every name is a recorder: calling it (or
// a method of what it returns, or &, | and ~ on it) records the call.
const stubRecorder = `class Call:
    def __init__(self, kind, *args, **kw):
        self.kw = dict(kind=kind, args=list(args), kw=kw)

    def __and__(self, other):
        return Call("&", self, other)

    def __or__(self, other):
        return Call("|", self, other)

    def __invert__(self):
        return Call("~", self)

    def desc(self, **kw):
        return Call("desc", self, **kw)

    def asc(self, **kw):
        return Call("asc", self, **kw)


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    return lambda *args, **kw: Call(name, *args, **kw)`

// loadMigration imports each migration named on its command line, as
// ` + "`manage.py migrate`" + ` would, from a working folder of its own (the next
// argument), and prints what their Migration classes hold as a JSON list.
const loadMigration = `import importlib.util, json, os, sys
out = []
args = sys.argv[1:]
for i in range(0, len(args), 2):
    os.chdir(args[i + 1])
    spec = importlib.util.spec_from_file_location("generated%d" % i, args[i])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    m = mod.Migration
    out.append({"atomic": m.atomic, "dependencies": [list(d) for d in m.dependencies],
                "operations": [op.kw for op in m.operations]})
print(json.dumps(out, default=lambda o: o.kw))
`

// call is a recorded call of the stub: its kind (the name called), its
// arguments and keyword arguments.
type call struct {
	Kind string                     `json:"kind"`
	Args []json.RawMessage          `json:"args"`
	Kw   map[string]json.RawMessage `json:"kw"`
}

// loaded is what load_migration.py prints.
type loaded struct {
	Atomic       bool       `json:"atomic"`
	Dependencies [][]string `json:"dependencies"`
	Operations   []loadedOp `json:"operations"`
}

// loadedOp is one operation of a loaded migration; a
// SeparateDatabaseAndState holds its state and database operations.
type loadedOp struct {
	Kind       string  `json:"kind"`
	ModelName  string  `json:"model_name"`
	SQL        sqlList `json:"sql"`
	ReverseSQL sqlList `json:"reverse_sql"`
	Index      struct {
		Expressions []call   `json:"expressions"`
		Fields      []string `json:"fields"`
		Name        string   `json:"name"`
		Include     []string `json:"include"`
		Condition   *call    `json:"condition"`
	} `json:"index"`
	State    []loadedOp `json:"state"`
	Database []loadedOp `json:"database"`
}

// sqlList is RunSQL's sql or reverse_sql: one statement, or a list of
// them (a partitioned index's sequence).
type sqlList []string

// UnmarshalJSON reads a string or a list of strings.
func (l *sqlList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = sqlList{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(l))
}

// String is the statements one per line.
func (l sqlList) String() string { return strings.Join(l, "\n") }

// python finds python3, skipping the test where there is none (make setup
// installs it).
func python(t *testing.T) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found: `make setup` installs it; the generated migrations cannot be compiled here")
	}
	// The interpreter itself, past any launcher script (pyenv's shims
	// take a third of a second per run).
	out, err := exec.Command(py, "-c", "import sys; print(sys.executable)").Output()
	if exe := strings.TrimSpace(string(out)); err == nil && exe != "" {
		return exe
	}
	return py
}

// importMigrations compiles the files with py_compile, then imports each
// with the stub django on sys.path, in a fresh working folder it then
// checks for the payload's marker. It returns what each migration holds.
func importMigrations(t *testing.T, py string, files []string) []loaded {
	t.Helper()
	if out, err := exec.Command(py, append([]string{"-m", "py_compile"}, files...)...).CombinedOutput(); err != nil {
		t.Fatalf("py_compile: %v\n%s", err, out)
	}
	stub := t.TempDir()
	for name, src := range djangoStub {
		p := filepath.Join(stub, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"-s", filepath.Join(stub, "load_migration.py")}
	work := make([]string, len(files))
	for i, f := range files {
		work[i] = t.TempDir()
		args = append(args, f, work[i])
	}
	cmd := exec.Command(py, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "PYTHONPATH=" + stub, "PYTHONDONTWRITEBYTECODE=1"}
	out, err := cmd.Output()
	for i, f := range files {
		if _, serr := os.Stat(filepath.Join(work[i], marker)); serr == nil {
			src, _ := os.ReadFile(f)
			t.Fatalf("importing %s ran the injected code:\n%s", f, src)
		}
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("import: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("import: %v", err)
	}
	var l []loaded
	if err := json.Unmarshal(out, &l); err != nil || len(l) != len(files) {
		t.Fatalf("read what the migrations hold (%d of %d): %v\n%s", len(l), len(files), err, out)
	}
	return l
}

// djangoApps makes a folder of Django apps, each with a first migration.
func djangoApps(t *testing.T, apps ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, app := range apps {
		m := filepath.Join(dir, app, "migrations")
		os.MkdirAll(m, 0o755)
		os.WriteFile(filepath.Join(m, "__init__.py"), nil, 0o644)
		os.WriteFile(filepath.Join(m, "0001_initial.py"), nil, 0o644)
	}
	return dir
}

// TestAdversarialDjangoHarnessCatchesInjection: the import the adversarial
// test relies on does see code a migration runs.
func TestAdversarialDjangoHarnessCatchesInjection(t *testing.T) {
	py := python(t)
	file := filepath.Join(t.TempDir(), "0002_hostile.py")
	src := "# a reason\r" + payload + "\nclass Migration:\n    atomic = False\n    dependencies = []\n    operations = []\n"
	os.WriteFile(file, []byte(src), 0o644)
	stub, work := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(stub, "load_migration.py"), []byte(loadMigration), 0o644)
	if out, err := exec.Command(py, "-s", filepath.Join(stub, "load_migration.py"), file, work).CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(work, marker)); err != nil {
		t.Errorf("a carriage return ending a comment did not run the line after it: the harness would miss an injection")
	}
}

// TestAdversarialDjangoHostileText is issue 14's code injection: a reason,
// a table, column, INCLUDE or index name, a predicate, a schema or the
// tool's name holding a line terminator, a quote, a backslash (or ending in
// one), """, a NUL, a bidirectional override or a BOM, followed by Python.
// Each generated migration must compile, import without running the
// payload, and hold every name and statement exactly.
func TestAdversarialDjangoHostileText(t *testing.T) {
	py := python(t)
	var breakers []string
	breakers = append(breakers, pyLineTerminators...)
	breakers = append(breakers, `"`, `\"`, `"""`, `'''`, `\`, "\x00", "\t", "\u202e", "\ufeff", "é\u00a0", "\\\n")
	// Every file is generated first, then all are compiled in one run of
	// py_compile and imported in one run of Python.
	type generated struct {
		i       int
		brk     string
		hostile string
		value   string
		where   spec
		file    DjangoFile
	}
	var gens []generated
	var paths []string
	for i, brk := range breakers {
		// Names and SQL cannot hold a NUL (PostgreSQL's cannot): there
		// the NUL breaker is left out; reasons and the tool's name keep it.
		hostile := "x" + brk + payload + brk + "#"
		if brk == `\` {
			// A name ending in a backslash: its closing quote must not
			// be escaped by it.
			hostile = "x" + payload + `\`
		}
		hostile = strings.ReplaceAll(hostile, "\x00", "")
		literal := strings.ReplaceAll(strings.ReplaceAll(hostile, `"`, ""), "'", "''")
		value := "a" + strings.ReplaceAll(hostile, `"`, "")
		specs := []spec{
			// A reason, and a column and INCLUDE name: AddIndexConcurrently.
			{Table: "commands_commandtemplate", Columns: []string{indexdef.QuoteIdent(hostile), "created_at DESC"}, Include: []string{indexdef.QuoteIdent(hostile + "i")},
				// In the operations list the injected line is one more
				// element, evaluated when the file is imported.
				Comment: "helps 2 statements" + brk + payload + "," + brk + "#\nsecond line" + brk},
			// An index name (short enough for Django to keep) and a
			// model (the table after its app).
			{Table: "commands_" + hostile, Name: strings.ReplaceAll("i"+brk+`"#`, "\x00", ""), Columns: []string{"status"}},
			// A predicate and a schema in SQL: RunSQL (an operator
			// class on an expression, which Django 3.2 cannot say).
			{Schema: strings.ReplaceAll("s"+brk+"x", "\x00", ""), Table: "agents_agent", Columns: []string{"lower(name) text_pattern_ops"},
				Where: "status = 'a" + literal + "'"},
			// The predicate as a Q, a constant as a Value.
			{Table: "agents_agent", Columns: []string{"coalesce(name, 'a" + literal + "')"}, Where: "status = 'a" + literal + "'"},
		}
		apps := djangoApps(t, "commands", "agents")
		res, err := EmitDjango(defs(specs...), DjangoOptions{AppsDir: apps, Tool: "hishamos-perf" + brk + payload, Name: "hostile"})
		if err != nil {
			t.Fatalf("breaker %d %q: %v", i, brk, err)
		}
		for _, f := range res.Files {
			gens = append(gens, generated{i: i, brk: brk, hostile: hostile, value: value, where: specs[2], file: f})
			paths = append(paths, f.Path)
			src, _ := os.ReadFile(f.Path)
			for _, term := range pyLineTerminators[3:] {
				if strings.Contains(string(src), term) {
					t.Errorf("breaker %d %q: %s holds the line terminator %q", i, brk, f.Path, term)
				}
			}
			if strings.ContainsRune(string(src), 0) || strings.Contains(string(src), "\r") || !utf8.Valid(src) {
				t.Errorf("breaker %d %q: %s holds a NUL, a carriage return or bytes that are not UTF-8", i, brk, f.Path)
			}
		}
	}
	str := func(raw json.RawMessage) string {
		var s string
		json.Unmarshal(raw, &s)
		return s
	}
	for k, l := range importMigrations(t, py, paths) {
		i, brk, hostile, value, f := gens[k].i, gens[k].brk, gens[k].hostile, gens[k].value, gens[k].file
		if l.Atomic || len(l.Dependencies) != 1 || l.Dependencies[0][0] != f.App || l.Dependencies[0][1] != "0001_initial" {
			t.Errorf("breaker %d %q: %s: atomic %t, dependencies %v", i, brk, f.Path, l.Atomic, l.Dependencies)
		}
		for j, op := range l.Operations {
			switch op.Kind {
			case "AddIndexConcurrently":
				switch op.ModelName {
				case "commandtemplate":
					want := []string{hostile, "-created_at"}
					if diff := cmp.Diff(want, op.Index.Fields); diff != "" || len(op.Index.Include) != 1 || op.Index.Include[0] != hostile+"i" {
						t.Errorf("breaker %d %q: fields or INCLUDE changed on the way (-want +got):\n%s include %q", i, brk, diff, op.Index.Include)
					}
				case "agent":
					c, x := op.Index.Condition, op.Index.Expressions
					if c == nil || c.Kind != "Q" || str(c.Kw["status"]) != value {
						t.Errorf("breaker %d %q: condition changed on the way: %+v, want Q(status=%q)", i, brk, c, value)
					}
					var v call
					if len(x) != 1 || x[0].Kind != "Coalesce" || len(x[0].Args) != 2 || str(x[0].Args[0]) != "name" ||
						json.Unmarshal(x[0].Args[1], &v) != nil || v.Kind != "Value" || len(v.Args) != 1 || str(v.Args[0]) != value {
						t.Errorf("breaker %d %q: expression changed on the way: %+v", i, brk, x)
					}
				default:
					if op.ModelName != hostile {
						t.Errorf("breaker %d %q: model_name %q, want %q", i, brk, op.ModelName, hostile)
					}
				}
				if op.Index.Name != f.Indexes[j] {
					t.Errorf("breaker %d %q: index name %q, want %q", i, brk, op.Index.Name, f.Indexes[j])
				}
			case "RunSQL":
				def, err := canonical(gens[k].where.def())
				if err != nil {
					t.Fatal(err)
				}
				def.Name = f.Indexes[j]
				if op.SQL.String() != def.CreateSQL(true, true) || op.ReverseSQL.String() != def.DropSQL(true, true) {
					t.Errorf("breaker %d %q: RunSQL changed on the way:\n%q\n%q", i, brk, op.SQL, op.ReverseSQL)
				}
			default:
				t.Errorf("breaker %d %q: operation %q", i, brk, op.Kind)
			}
		}
	}
}

// TestAdversarialDjangoRefusesWhatPythonCannotSay: a name that is not UTF-8
// cannot be said in a Python migration, and an app label that is not an
// identifier would put the file outside the apps folder: both are refused
// and nothing is written.
func TestAdversarialDjangoRefusesWhatPythonCannotSay(t *testing.T) {
	apps := djangoApps(t, "commands")
	outside := filepath.Join(apps, "..", "outside")
	os.MkdirAll(filepath.Join(outside, "migrations"), 0o755)
	os.WriteFile(filepath.Join(outside, "migrations", "0001_initial.py"), nil, 0o644)
	for _, c := range []struct {
		name string
		spec spec
		want error
	}{
		{"table not UTF-8", spec{Table: "commands_t\xff\xfe", Columns: []string{"a"}}, ErrBadSpec},
		{"column not UTF-8", spec{Table: "commands_t", Columns: []string{`"a` + "\xc3" + `"`}}, ErrBadSpec},
		{"predicate not UTF-8", spec{Table: "commands_t", Columns: []string{"a"}, Where: "b = '\x80'"}, ErrBadSpec},
		{"app that climbs out", spec{Table: "../outside_x_t", Columns: []string{"a"}}, ErrNoDjangoApp},
		{"app with a separator", spec{Table: "commands/x_t", Columns: []string{"a"}}, ErrNoDjangoApp},
	} {
		specs := []spec{{Table: "commands_ok", Columns: []string{"a"}}, c.spec}
		if _, err := EmitDjango(defs(specs...), DjangoOptions{AppsDir: apps, Name: "refused"}); !errors.Is(err, c.want) {
			t.Errorf("%s: EmitDjango = %v, want %v", c.name, err, c.want)
		}
		for _, dir := range []string{filepath.Join(apps, "commands", "migrations"), filepath.Join(outside, "migrations")} {
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.Contains(e.Name(), "refused") {
					t.Errorf("%s: %s was written", c.name, filepath.Join(dir, e.Name()))
				}
			}
		}
	}
	// Binary junk in a reason is shown escaped, not refused.
	res, err := EmitDjango(defs(spec{Table: "commands_t", Columns: []string{"a"}, Comment: "why\xff\r" + payload}), DjangoOptions{AppsDir: apps, Name: "junk"})
	if err != nil {
		t.Fatal(err)
	}
	files := res.Files
	src, _ := os.ReadFile(files[0].Path)
	if !strings.Contains(string(src), `# why\udcff\r`+payload) {
		t.Errorf("the reason is not shown escaped on its comment line:\n%s", src)
	}
	importMigrations(t, python(t), []string{files[0].Path})
}

func TestPyEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain":            "plain",
		`a"b\c`:            `a\"b\\c`,
		"a\nb\rc\td":       `a\nb\rc\td`,
		"\x00\x0b\x0c\x1c": `\x00\x0b\x0c\x1c`,
		"\x1d\x1e\x7f":     `\x1d\x1e\x7f`,
		"\u0085":           `\x85`,
		"\u2028\u2029":     `\u2028\u2029`,
		"\u202e\ufeff":     `\u202e\ufeff`,
		"déjà — ok":        "déjà — ok",
		"\U000e0001":       `\U000e0001`,
		"a\xffb":           `a\udcffb`,
		`ends\`:            `ends\\`,
	} {
		if got := pyEscape(in); got != want {
			t.Errorf("pyEscape(%q) = %s, want %s", in, got, want)
		}
	}
}
