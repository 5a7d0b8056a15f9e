package profiles

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

//go:embed *.yaml
var builtin embed.FS

// builtinDir is the folder built-in profiles live in, as their File names it.
const builtinDir = "profiles"

// Builtins returns the names of the built-in profiles, sorted.
func Builtins() []string {
	entries, err := fs.Glob(builtin, "*.yaml")
	if err != nil { // only for a malformed pattern
		panic(err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e, ".yaml"))
	}
	slices.Sort(names)
	return names
}

// Load returns the built-in profile called nameOrPath or, when there is
// none, the profile in the file at that path. A name with a path separator or
// a .yaml/.yml extension is always a path. A name that is neither gives an
// error wrapping ErrNotFound; a file that does not validate gives an *Error.
func Load(nameOrPath string) (*Profile, error) {
	if isBuiltinName(nameOrPath) && slices.Contains(Builtins(), nameOrPath) {
		return loadBuiltin(nameOrPath)
	}
	data, err := os.ReadFile(nameOrPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("profiles: %w: %q is neither a built-in profile (%s) nor a file (%w); give a built-in name or a path to a YAML file",
				ErrNotFound, nameOrPath, strings.Join(Builtins(), ", "), err)
		}
		return nil, fmt.Errorf("profiles: %w", err)
	}
	return Parse(nameOrPath, data)
}

func isBuiltinName(name string) bool {
	ext := filepath.Ext(name)
	return name != "" && !strings.ContainsAny(name, `/\`) && ext != ".yaml" && ext != ".yml"
}

func loadBuiltin(name string) (*Profile, error) {
	data, err := builtin.ReadFile(name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("profiles: built-in %s: %w", name, err)
	}
	p, err := Parse(path.Join(builtinDir, name+".yaml"), data)
	if err != nil {
		return nil, err
	}
	p.Builtin = true
	return p, nil
}

// List describes the built-in profiles, sorted by name.
func List() ([]Summary, error) {
	var out []Summary
	for _, name := range Builtins() {
		p, err := loadBuiltin(name)
		if err != nil {
			return nil, err
		}
		out = append(out, Summary{
			Name:        p.Name,
			Description: p.Description,
			Dataset:     p.Dataset,
			Scales:      p.Scales,
			Statements:  len(p.Statements),
			Indexes:     len(p.Indexes),
		})
	}
	return out, nil
}

// Parse decodes and validates the profile in data; filename is only used in
// errors and as the profile's File. Any problem is an *Error with the
// position of the offending node. Fields the YAML leaves out get their
// defaults (a statement's Weight is 1), and integers in Choice values and
// Const values are int64.
func Parse(filename string, data []byte) (*Profile, error) {
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, yamlError(filename, err)
	}
	var body ast.Node
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if body != nil {
			line, col := nodePos(doc.Body)
			return nil, &Error{File: filename, Line: line, Column: col, Msg: "a profile file holds one YAML document; this is a second one"}
		}
		body = doc.Body
	}
	if body == nil {
		return nil, &Error{File: filename, Line: 1, Column: 1, Msg: "profile is empty"}
	}
	if _, ok := body.(*ast.MappingNode); !ok {
		line, col := nodePos(body)
		return nil, &Error{File: filename, Line: line, Column: col, Msg: fmt.Sprintf("a profile is a mapping (name:, statements:, ...), not %s", nodeTypeName(body.Type()))}
	}
	// A profile has no use for YAML tags (!!str, !custom), and the YAML
	// library's decoder can crash on odd ones: refuse them where they are.
	if tag := firstTag(body); tag != nil {
		line, col := nodePos(tag)
		return nil, &Error{File: filename, Line: line, Column: col, Msg: fmt.Sprintf("YAML tags such as %q are not used in profiles: write the value plainly", tag.Start.Value)}
	}
	p := &Profile{}
	if err := decode(body, p); err != nil {
		return nil, yamlError(filename, err)
	}
	v := &validator{file: filename, root: body}
	v.profile(p)
	if err := v.first(); err != nil {
		return nil, err
	}
	p.File = filename
	return p, nil
}

// decode fills p from the document, turning a crash of the YAML library
// into an error: a profile file is input, and input never panics the tool.
func decode(body ast.Node, p *Profile) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the YAML library could not decode this file (%v): check its nesting", r)
		}
	}()
	return yaml.NodeToValue(body, p, yaml.Strict())
}

// tagFinder stops at the first tagged node.
type tagFinder struct{ tag *ast.TagNode }

func (f *tagFinder) Visit(n ast.Node) ast.Visitor {
	if f.tag != nil {
		return nil
	}
	if t, ok := n.(*ast.TagNode); ok {
		f.tag = t
		return nil
	}
	return f
}

// firstTag returns the first tagged node under n, or nil.
func firstTag(n ast.Node) *ast.TagNode {
	f := &tagFinder{}
	ast.Walk(f, n)
	return f.tag
}

// yamlError turns an error of the YAML library into an *Error.
func yamlError(file string, err error) *Error {
	var ye yaml.Error
	if !errors.As(err, &ye) {
		return &Error{File: file, Line: 1, Column: 1, Msg: strings.ReplaceAll(err.Error(), "\n", " ")}
	}
	e := &Error{File: file, Line: 1, Column: 1, Msg: ye.GetMessage()}
	tk := ye.GetToken()
	if tk != nil && tk.Position != nil {
		e.Line, e.Column = tk.Position.Line, tk.Position.Column
	}
	var te *yaml.TypeError
	if errors.As(err, &te) && tk != nil && te.SrcType != nil && te.DstType != nil {
		src := kindName(te.SrcType.Kind().String())
		switch te.SrcType.Kind() {
		case reflect.Slice, reflect.Map, reflect.Struct, reflect.Array, reflect.Pointer, reflect.Interface:
		default:
			src = fmt.Sprintf("%s %q", src, tk.Value)
		}
		e.Msg = fmt.Sprintf("cannot use %s as %s", src, kindName(te.DstType.Kind().String()))
	}
	var ue *yaml.UnexpectedNodeTypeError
	if errors.As(err, &ue) {
		e.Msg = fmt.Sprintf("expected %s here, not %s", nodeTypeName(ue.Expected), nodeTypeName(ue.Actual))
	}
	if key := keyOf(tk); key != "" && (te != nil || ue != nil) {
		e.Msg = key + ": " + e.Msg
	}
	if e.Msg == "" {
		e.Msg = "invalid YAML"
	}
	return e
}

// nodeTypeName names a YAML node type with its article.
func nodeTypeName(t ast.NodeType) string {
	switch t {
	case ast.IntegerType:
		return "an integer"
	case ast.FloatType, ast.InfinityType, ast.NanType:
		return "a number"
	case ast.NullType:
		return "null"
	case ast.SequenceType:
		return "a sequence (list)"
	case ast.AnchorType, ast.AliasType:
		return "an " + t.YAMLName()
	}
	return "a " + t.YAMLName()
}

// kindName says a reflect.Kind's name the way a YAML author thinks of it.
func kindName(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"):
		return "an integer"
	case strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "string":
		return "a string"
	case kind == "bool":
		return "a boolean"
	case kind == "slice", kind == "array":
		return "a list"
	case kind == "struct", kind == "map", kind == "ptr":
		return "a mapping"
	}
	return kind
}

// keyOf returns the mapping key whose value starts at tk, if any.
func keyOf(tk *token.Token) string {
	if tk == nil || tk.Prev == nil || tk.Prev.Type != token.MappingValueType || tk.Prev.Prev == nil {
		return ""
	}
	return tk.Prev.Prev.Value
}
