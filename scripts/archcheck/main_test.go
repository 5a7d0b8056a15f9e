package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writePkg writes a package's files under root/rel and returns its Package.
func writePkg(t *testing.T, root, rel string, p Package, files map[string]string) Package {
	t.Helper()
	dir := filepath.Join(root, rel)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p.ImportPath, p.Dir = "example.com/m/"+rel, dir
	return p
}

// TestCheckFindsEveryRule: a made-up module breaking each rule once (and
// keeping each where it may: sqlscan calling pg_query, indexes using its
// types, cmd importing a domain package, a test printing, a flag passed to
// another program and a SQL comment) gives exactly those violations.
func TestCheckFindsEveryRule(t *testing.T) {
	root := t.TempDir()
	const m = "example.com/m/"
	tree := &Tree{
		Module:      "example.com/m",
		CgoFuncs:    map[string]bool{"Parse": true, "Fingerprint": true},
		CgoPackages: map[string]bool{pgQuery + "/parser": true},
	}
	tree.Packages = []Package{
		writePkg(t, root, "bench", Package{
			Imports: []string{"encoding/xml", "fmt", "os"},
			Deps:    []string{"encoding/xml", "github.com/charmbracelet/lipgloss", m + "internal/render", m + "internal/pg"},
		}, map[string]string{
			"junit.go":      "package bench\n\nimport (\n\t\"fmt\"\n\t\"os\"\n)\n\nfunc f() { fmt.Println(); _ = os.Stdout }\n",
			"errors.go":     "package bench\n\nvar msg = \"too few samples: raise --iterations\"\nvar args = []string{\"--no-sync\", \"-- a SQL comment\"}\n",
			"bench_test.go": "package bench\n\nimport \"fmt\"\n\nfunc g() { fmt.Println() }\n",
		}),
		writePkg(t, root, "bench/internal/w", Package{Imports: []string{m + "cmd/tool"}}, map[string]string{"w.go": "package w\n"}),
		writePkg(t, root, "internal/x", Package{Imports: []string{m + "analyze", m + "internal/pg"}}, map[string]string{"x.go": "package x\n"}),
		writePkg(t, root, "cmd/tool", Package{Imports: []string{m + "bench", "github.com/spf13/cobra"}, Deps: []string{"github.com/spf13/cobra"}}, map[string]string{"main.go": "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println() }\n"}),
		writePkg(t, root, "indexes", Package{}, map[string]string{
			"parse.go":       "package indexes\n\nimport pq \"" + pgQuery + "\"\n\nvar _ = pq.Node{}\nvar _, _ = pq.Parse(\"\")\n",
			"other_nocgo.go": "//go:build !cgo\n\npackage indexes\n\nimport \"" + pgQuery + "/parser\"\n\nvar _ *parser.Error\n",
		}),
		writePkg(t, root, "internal/sqlscan", Package{}, map[string]string{
			"p.go": "package sqlscan\n\nimport pg_query \"" + pgQuery + "\"\n\nvar _, _ = pg_query.Parse(\"\")\nvar _, _ = pg_query.Fingerprint(\"\")\n",
		}),
	}
	vs, err := Check(tree)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vs {
		got = append(got, v.Key)
	}
	want := []string{
		"cgo: indexes/other_nocgo.go imports " + pgQuery + "/parser, which exists only with cgo",
		"cgo: indexes/parse.go calls pg_query.Parse: call it through internal/sqlscan",
		"deps: bench depends on github.com/charmbracelet/lipgloss",
		"deps: bench depends on internal/render",
		"flag: bench/errors.go names --iterations in a message: return a typed error or take an option's name, and let the command word it",
		"format: bench imports encoding/xml",
		"layer: bench/internal/w imports cmd/tool",
		"layer: internal/x imports analyze",
		"print: bench/junit.go uses fmt.Println: return what to say instead",
		"print: bench/junit.go uses os.Stdout: return what to say instead",
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestAllowlistOnlyShrinks: a violation the allowlist names passes; one it
// does not name fails, and so does a line whose violation is gone.
func TestAllowlistOnlyShrinks(t *testing.T) {
	vs := []Violation{{Key: "layer: internal/x imports bench"}}
	for _, tt := range []struct {
		name  string
		allow map[string]string
		code  int
		say   string
	}{
		{"listed", map[string]string{"layer: internal/x imports bench": "a part"}, 0, "allowed: layer: internal/x imports bench [issue 15: a part]"},
		{"not listed", map[string]string{}, 1, "VIOLATION: layer: internal/x imports bench"},
		{"stale line", map[string]string{"layer: internal/x imports bench": "a part", "layer: internal/y imports demo": "a part"}, 1, "STALE: layer: internal/y imports demo"},
	} {
		var out bytes.Buffer
		if code := report(vs, tt.allow, "allowlist.txt", &out); code != tt.code || !strings.Contains(out.String(), tt.say) {
			t.Errorf("%s: exit %d, said:\n%s\nwant exit %d saying %q", tt.name, code, out.String(), tt.code, tt.say)
		}
	}
}

// TestAllowlistLinesNameTheirItem: every allowlist line names the issue-15
// item that removes its violation.
func TestAllowlistLinesNameTheirItem(t *testing.T) {
	path := filepath.Join(t.TempDir(), "allow.txt")
	if err := os.WriteFile(path, []byte("# a comment\n\nlayer: internal/x imports bench\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readAllowlist(path); err == nil || !strings.Contains(err.Error(), "allow.txt:3") {
		t.Errorf("a line without its item: %v; want refused with its line", err)
	}
	if _, err := readAllowlist("allowlist.txt"); err != nil {
		t.Errorf("the repository's allowlist: %v", err)
	}
}

// TestPgQueryCgoFunctions: read from pg_query's own build constraints,
// the cgo-only functions are its parser entry points and not its node
// helpers, and its parser package is made of cgo.
func TestPgQueryCgoFunctions(t *testing.T) {
	tree, err := load()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"Parse", "Scan", "Fingerprint", "Normalize", "Deparse"} {
		if !tree.CgoFuncs[f] {
			t.Errorf("pg_query.%s is not among the cgo-only functions", f)
		}
	}
	if tree.CgoFuncs["MakeStrNode"] {
		t.Error("pg_query.MakeStrNode (pure Go) is taken for a cgo-only function")
	}
	if !tree.CgoPackages[pgQuery+"/parser"] || tree.CgoPackages[pgQuery] {
		t.Errorf("packages made of cgo: %v; want its parser only", tree.CgoPackages)
	}
}
