// Command archcheck is the architecture check `make vet` runs (anyone can:
// `go run ./scripts/archcheck`). It reads the module's package graph with
// `go list` and the sources with go/parser, and holds these rules:
//
//   - deps: the domain packages (analyze, indexes, migrate, bench,
//     profiles, demo) depend, directly or not, on none of cobra, lipgloss,
//     tablewriter, internal/render or cmd/...: presentation and the CLI
//     live above them;
//   - format: the domain packages import no writer of a report format
//     (html/template, text/template, text/tabwriter, encoding/xml,
//     encoding/csv, golang.org/x/perf/benchfmt): JSON is their documents'
//     own form, every other output is presentation;
//   - print: the domain packages' code names no os.Stdout or os.Stderr
//     and calls no fmt.Print, fmt.Println, fmt.Printf, print or println;
//   - layer: no package under an internal/ directory outside cmd/ (the
//     module's internal/, bench/internal/...) imports a domain package or
//     cmd/...: nothing low imports what is above it;
//   - flag: no string of a domain package or of a package in an
//     internal/ directory outside cmd/ names a command-line flag in its
//     text ("raise --wait"): which flag sets an option is the command's
//     to say, through the typed error or the option name the package
//     gives it (cmd/hishamos-perf/words.go); a string that is a flag
//     itself ("--no-sync", an argument to initdb) is not text;
//   - cgo: no package but internal/sqlscan calls a function of pg_query
//     that exists only with cgo (its Parse, Scan, Fingerprint, Normalize,
//     Deparse … as its own build constraints say) or imports a pg_query
//     package made of cgo (its parser): the tree's types are free to use.
//     make vet's darwin build without cgo proves the calls compile only
//     there; this rule names each one.
//
// A violation prints as one line, its rule first. Violations that a part
// of issue 15 still to land removes are listed in allowlist.txt beside
// this file, each with the item that removes it; archcheck fails on a
// violation not listed there and on a listed one that no longer occurs,
// so the list can only shrink.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// pgQuery is pg_query_go's module: its root package's cgo-only functions
// and its packages made of cgo may be used by sqlscanPkg alone.
const pgQuery = "github.com/pganalyze/pg_query_go/v6"

// sqlscanPkg is the one package that may call pg_query's cgo functions,
// relative to the module.
const sqlscanPkg = "internal/sqlscan"

// domain are the domain packages, relative to the module.
var domain = []string{"analyze", "indexes", "migrate", "bench", "profiles", "demo"}

// forbiddenDeps are what a domain package may not depend on: the CLI and
// terminal presentation libraries (third-party paths as they are, module
// paths relative to the module; a trailing / forbids everything below).
var forbiddenDeps = []string{
	"github.com/spf13/cobra",
	"github.com/charmbracelet/lipgloss",
	"github.com/olekukonko/tablewriter",
	"internal/render",
	"cmd/",
}

// formatImports are the packages that write a report format, which a
// domain package may not import.
var formatImports = []string{
	"html/template", "text/template", "text/tabwriter", "encoding/xml", "encoding/csv",
	"golang.org/x/perf/benchfmt",
}

// flagInText finds a command-line flag inside a string's text: "--" and a
// letter after a space, a parenthesis, a quote or a backtick.
var flagInText = regexp.MustCompile("[\\s(`'\"](--[a-z][a-z0-9-]*)")

// printCalls are the selectors and builtins that print.
var printCalls = []string{"os.Stdout", "os.Stderr", "fmt.Print", "fmt.Printf", "fmt.Println", "print", "println"}

// Package is what archcheck reads of a package, as `go list -json` gives
// it.
type Package struct {
	ImportPath string
	Dir        string
	Imports    []string
	Deps       []string
	CgoFiles   []string
}

// Violation is one broken rule.
type Violation struct {
	// Key is the violation as the allowlist names it: the rule, then
	// what breaks it, without positions.
	Key string
	// Where is the file and line, when the rule is on the source.
	Where string
}

func (v Violation) String() string {
	if v.Where != "" {
		return v.Key + " (" + v.Where + ")"
	}
	return v.Key
}

// Tree is the module as archcheck checks it.
type Tree struct {
	// Module is the module's path.
	Module string
	// Packages are the module's packages.
	Packages []Package
	// CgoFuncs are the functions of pg_query's root package that exist
	// only with cgo; CgoPackages its packages made of cgo.
	CgoFuncs    map[string]bool
	CgoPackages map[string]bool
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("archcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	allowPath := fs.String("allow", filepath.Join("scripts", "archcheck", "allowlist.txt"), "the allowlist")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	tree, err := load()
	if err != nil {
		fmt.Fprintln(stderr, "archcheck:", err)
		return 2
	}
	allow, err := readAllowlist(*allowPath)
	if err != nil {
		fmt.Fprintln(stderr, "archcheck:", err)
		return 2
	}
	vs, err := Check(tree)
	if err != nil {
		fmt.Fprintln(stderr, "archcheck:", err)
		return 2
	}
	return report(vs, allow, *allowPath, stdout)
}

// report prints every violation, allowed or not, and every allowlist line
// that matches none, and says whether the tree passes: 0, or 1.
func report(vs []Violation, allow map[string]string, allowPath string, w io.Writer) int {
	failed := 0
	seen := map[string]bool{}
	for _, v := range vs {
		seen[v.Key] = true
		if item, ok := allow[v.Key]; ok {
			fmt.Fprintf(w, "allowed: %s [issue 15: %s]\n", v, item)
			continue
		}
		fmt.Fprintf(w, "VIOLATION: %s\n", v)
		failed++
	}
	keys := make([]string, 0, len(allow))
	for k := range allow {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !seen[k] {
			fmt.Fprintf(w, "STALE: %s: %s lists it, and the tree no longer breaks the rule: remove the line\n", k, allowPath)
			failed++
		}
	}
	if failed > 0 {
		fmt.Fprintf(w, "archcheck: %d problem(s): keep to the layers (scripts/archcheck/main.go says which) or, for one that a part of issue 15 still to land removes, list it in %s with that part\n", failed, allowPath)
		return 1
	}
	fmt.Fprintf(w, "archcheck: the rules hold (%d violation(s) allowed until the issue-15 item named beside each lands)\n", len(vs))
	return 0
}

// readAllowlist reads lines of a violation's key, then "# issue 15: " and
// the item that removes it. Blank lines and lines starting with # are
// comments.
func readAllowlist(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, item, ok := strings.Cut(line, "# issue 15:")
		key, item = strings.TrimSpace(key), strings.TrimSpace(item)
		if !ok || item == "" || key == "" {
			return nil, fmt.Errorf("%s:%d: want a violation, then \"# issue 15: \" and the item that removes it", path, n)
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("%s:%d: %s is listed twice", path, n, key)
		}
		out[key] = item
	}
	return out, sc.Err()
}

// load reads the module's packages and pg_query's cgo-only parts with
// `go list`, with cgo on.
func load() (*Tree, error) {
	mod, err := goList("-m", "-f", "{{.Path}}")
	if err != nil {
		return nil, err
	}
	t := &Tree{Module: strings.TrimSpace(string(mod)), CgoFuncs: map[string]bool{}, CgoPackages: map[string]bool{}}
	pkgs, err := listPackages("./...")
	if err != nil {
		return nil, err
	}
	t.Packages = pkgs
	pq, err := listPackages(pgQuery + "/...")
	if err != nil {
		return nil, err
	}
	for _, p := range pq {
		if len(p.CgoFiles) > 0 {
			t.CgoPackages[p.ImportPath] = true
		}
		if p.ImportPath == pgQuery {
			if t.CgoFuncs, err = cgoOnlyFuncs(p.Dir); err != nil {
				return nil, err
			}
		}
	}
	if len(t.CgoFuncs) == 0 {
		return nil, fmt.Errorf("found no cgo-only function in %s: has its layout changed?", pgQuery)
	}
	return t, nil
}

func goList(args ...string) ([]byte, error) {
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

func listPackages(pattern string) ([]Package, error) {
	out, err := goList("-json=ImportPath,Dir,Imports,Deps,CgoFiles", pattern)
	if err != nil {
		return nil, err
	}
	var pkgs []Package
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p Package
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			return pkgs, nil
		} else if err != nil {
			return nil, fmt.Errorf("read go list's output: %w", err)
		}
		pkgs = append(pkgs, p)
	}
}

// cgoOnlyFuncs lists the exported functions declared in dir's non-test
// files whose build constraint holds with cgo and fails without it.
func cgoOnlyFuncs(dir string) (map[string]bool, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		if !cgoOnly(f) {
			continue
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.IsExported() {
				out[fd.Name.Name] = true
			}
		}
	}
	return out, nil
}

// cgoOnly reports whether f's //go:build line (before its package clause)
// holds with cgo and not without it, on this system.
func cgoOnly(f *ast.File) bool {
	for _, cg := range f.Comments {
		if cg.Pos() > f.Package {
			break
		}
		for _, c := range cg.List {
			if !constraint.IsGoBuild(c.Text) {
				continue
			}
			expr, err := constraint.Parse(c.Text)
			if err != nil {
				return false
			}
			with := func(cgo bool) bool {
				return expr.Eval(func(tag string) bool {
					switch {
					case tag == "cgo":
						return cgo
					case tag == runtime.GOOS || tag == runtime.GOARCH || tag == "unix" && runtime.GOOS != "windows":
						return true
					}
					return strings.HasPrefix(tag, "go1.")
				})
			}
			return with(true) && !with(false)
		}
	}
	return false
}

// rel is path relative to the module, or path itself when outside it.
func (t *Tree) rel(path string) string {
	if path == t.Module {
		return "."
	}
	if r, ok := strings.CutPrefix(path, t.Module+"/"); ok {
		return r
	}
	return path
}

func (t *Tree) isDomain(path string) bool { return slices.Contains(domain, t.rel(path)) }

// isLow reports whether a package sits in an internal/ directory outside
// cmd/: the module's internal/ and those of the domain packages.
func (t *Tree) isLow(path string) bool {
	r := t.rel(path)
	if r == path || strings.HasPrefix(r, "cmd/") {
		return false
	}
	return strings.HasPrefix(r, "internal/") || strings.Contains(r, "/internal/")
}

// above reports whether a package is one a low package may not import: a
// domain package or one under cmd/.
func (t *Tree) above(path string) bool {
	r := t.rel(path)
	return t.isDomain(path) || (r != path && (r == "cmd" || strings.HasPrefix(r, "cmd/")))
}

// Check applies every rule to the tree and returns the violations, sorted.
func Check(t *Tree) ([]Violation, error) {
	var vs []Violation
	for _, p := range t.Packages {
		name := t.rel(p.ImportPath)
		if t.isDomain(p.ImportPath) {
			for _, d := range p.Deps {
				if forbiddenDep(t.rel(d)) {
					vs = append(vs, Violation{Key: fmt.Sprintf("deps: %s depends on %s", name, t.rel(d))})
				}
			}
			for _, imp := range p.Imports {
				if slices.Contains(formatImports, imp) {
					vs = append(vs, Violation{Key: fmt.Sprintf("format: %s imports %s", name, imp)})
				}
			}
		}
		if t.isLow(p.ImportPath) {
			for _, imp := range p.Imports {
				if t.above(imp) {
					vs = append(vs, Violation{Key: fmt.Sprintf("layer: %s imports %s", name, t.rel(imp))})
				}
			}
		}
		src, err := t.checkSource(p)
		if err != nil {
			return nil, err
		}
		vs = append(vs, src...)
	}
	slices.SortFunc(vs, func(a, b Violation) int { return strings.Compare(a.String(), b.String()) })
	return slices.CompactFunc(vs, func(a, b Violation) bool { return a == b }), nil
}

func forbiddenDep(rel string) bool {
	for _, f := range forbiddenDeps {
		if rel == f || strings.HasSuffix(f, "/") && strings.HasPrefix(rel, f) {
			return true
		}
	}
	return false
}

// checkSource applies the rules on the source to every .go file in p's
// directory, whatever its build constraints: print (non-test files of a
// domain package), flag (non-test files of a domain or low package) and
// cgo (every file of every package but sqlscan).
func (t *Tree) checkSource(p Package) ([]Violation, error) {
	name := t.rel(p.ImportPath)
	domainPkg := t.isDomain(p.ImportPath)
	flags := domainPkg || t.isLow(p.ImportPath)
	if name == sqlscanPkg && !domainPkg {
		return nil, nil
	}
	files, err := filepath.Glob(filepath.Join(p.Dir, "*.go"))
	if err != nil {
		return nil, err
	}
	var vs []Violation
	fset := token.NewFileSet()
	for _, path := range files {
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		file := filepath.Join(name, filepath.Base(path))
		at := func(n ast.Node) string {
			return fmt.Sprintf("%s:%d", file, fset.Position(n.Pos()).Line)
		}
		// pg_query's root package under the name this file gives it.
		pq := ""
		for _, imp := range f.Imports {
			ip := strings.Trim(imp.Path.Value, `"`)
			if t.CgoPackages[ip] {
				vs = append(vs, Violation{Key: fmt.Sprintf("cgo: %s imports %s, which exists only with cgo", file, ip), Where: at(imp)})
			}
			if ip == pgQuery {
				pq = "pg_query"
				if imp.Name != nil {
					pq = imp.Name.Name
				}
			}
		}
		test := strings.HasSuffix(path, "_test.go")
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				x, ok := n.X.(*ast.Ident)
				if !ok {
					return true
				}
				if pq != "" && x.Name == pq && t.CgoFuncs[n.Sel.Name] {
					vs = append(vs, Violation{Key: fmt.Sprintf("cgo: %s calls pg_query.%s: call it through internal/sqlscan", file, n.Sel.Name), Where: at(n)})
				}
				if domainPkg && !test && slices.Contains(printCalls, x.Name+"."+n.Sel.Name) {
					vs = append(vs, Violation{Key: fmt.Sprintf("print: %s uses %s.%s: return what to say instead", file, x.Name, n.Sel.Name), Where: at(n)})
				}
			case *ast.CallExpr:
				if id, ok := n.Fun.(*ast.Ident); ok && domainPkg && !test && slices.Contains(printCalls, id.Name) {
					vs = append(vs, Violation{Key: fmt.Sprintf("print: %s calls %s: return what to say instead", file, id.Name), Where: at(n)})
				}
			case *ast.BasicLit:
				if !flags || test || n.Kind != token.STRING {
					return true
				}
				text, err := strconv.Unquote(n.Value)
				if err != nil {
					return true
				}
				for _, m := range flagInText.FindAllStringSubmatch(text, -1) {
					vs = append(vs, Violation{Key: fmt.Sprintf("flag: %s names %s in a message: return a typed error or take an option's name, and let the command word it", file, m[1]), Where: at(n)})
				}
			}
			return true
		})
	}
	return vs, nil
}
