package migrate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// DownDir is the folder, inside a migration directory, holding the down
// files.
const DownDir = "down"

// Transaction modes of a file, from its `-- atlas:txmode` directive.
const (
	TxModeNone = "none"
	TxModeFile = "file"
	TxModeAll  = "all"
)

var (
	// ErrNotMigrationDir is returned for a path that is not a migration
	// directory: missing, a file, or a folder of other things.
	ErrNotMigrationDir = errors.New("not a migration directory")
	// ErrNoSum is returned when a directory with migration files has no
	// atlas.sum.
	ErrNoSum = errors.New("atlas.sum is missing")
)

// SumError reports a migration directory that does not match its
// atlas.sum: a file edited, added or removed by hand.
type SumError struct {
	// Dir is the directory, File the first file that does not match.
	Dir, File string
	// Reason is edited, added or removed.
	Reason string
}

// Error names the file and says what to do about it.
func (e *SumError) Error() string {
	if e.File == "" {
		return fmt.Sprintf("migrate: %s does not match its atlas.sum (the sum file is malformed)", filepath.Join(e.Dir, migrate.HashFileName))
	}
	return fmt.Sprintf("migrate: %s was %s by hand after atlas.sum was written: restore it, or run `migrate hash` if the change is meant",
		filepath.Join(e.Dir, e.File), e.Reason)
}

// Unwrap lets errors.Is find Atlas's ErrChecksumMismatch.
func (e *SumError) Unwrap() error { return migrate.ErrChecksumMismatch }

// ErrDuplicateVersion is returned for a directory where two files have the
// same version: Atlas keeps one revision per version, so the second file
// would be marked applied without ever running.
var ErrDuplicateVersion = errors.New("two migration files have the same version")

// DuplicateVersionError names the files that share a version.
type DuplicateVersionError struct {
	Dir, Version string
	// Files are the file names, in the directory's order.
	Files []string
}

// Error names both files and says what to do.
func (e *DuplicateVersionError) Error() string {
	return fmt.Sprintf("migrate: %s and %s in %s have the same version %s: give one of them the next free version (rename it), then run `migrate hash`",
		e.Files[0], strings.Join(e.Files[1:], " and "), e.Dir, e.Version)
}

// Unwrap lets errors.Is find ErrDuplicateVersion.
func (e *DuplicateVersionError) Unwrap() error { return ErrDuplicateVersion }

// ErrDetachedDirective is returned for a file whose `-- atlas:` directive
// Atlas does not read because no blank line separates it from the
// statements.
var ErrDetachedDirective = errors.New("directive not read")

// DirectiveError is an `-- atlas:` directive at the head of a file that
// Atlas (and so apply) does not read: Atlas takes file directives only from
// a header of comments that a blank line separates from the statements, so
// a `-- atlas:txmode none` right above a statement leaves the file in a
// transaction.
type DirectiveError struct {
	File      string
	Line      int
	Directive string
}

// Error names the directive and the one thing missing: the blank line.
func (e *DirectiveError) Error() string {
	return fmt.Sprintf("migrate: %s line %d: %q is not read as a directive: Atlas reads directives only from the file's header, which a blank line must separate from the first statement: add an empty line after it",
		e.File, e.Line, e.Directive)
}

// Unwrap lets errors.Is find ErrDetachedDirective.
func (e *DirectiveError) Unwrap() error { return ErrDetachedDirective }

// directiveLine is an Atlas directive comment, as Atlas's own reDirective
// reads one.
var directiveLine = regexp.MustCompile(`^(--|#)[ -~]*atlas:(\w+)[ -~]*$`)

// fileName is what a migration file is called: <version>_<name>.sql, the
// name without control characters (a line break in it would break the
// line of atlas.sum that names the file).
var fileName = regexp.MustCompile(`^[0-9]+(_[^/\\\x00-\x1f\x7f]*)?\.sql$`)

// Dir is a migration directory: Atlas's up files and atlas.sum at the top,
// the down files and their own sum in down/.
type Dir struct {
	Path string
	up   *migrate.LocalDir
	down *migrate.LocalDir // nil when there is no down/ folder
}

// OpenDir opens an existing migration directory. An empty folder is one;
// a folder holding other files and no migrations is not.
func OpenDir(path string) (*Dir, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%w: %s does not exist (create it with `indexes plan`)", ErrNotMigrationDir, path)
	case err != nil:
		return nil, fmt.Errorf("migrate: %w", err)
	case !fi.IsDir():
		return nil, fmt.Errorf("%w: %s is a file", ErrNotMigrationDir, path)
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	var (
		sqls, bad, others int
		badNames          []string
		hasSum            bool
	)
	for _, e := range entries {
		n := e.Name()
		switch {
		case n == migrate.HashFileName:
			hasSum = true
		case e.IsDir() || strings.HasPrefix(n, "."):
		case strings.HasSuffix(n, ".sql"):
			if fileName.MatchString(n) {
				sqls++
			} else {
				bad++
				badNames = append(badNames, n)
			}
		default:
			others++
		}
	}
	if bad > 0 {
		return nil, fmt.Errorf("%w: %s holds %s, not named <version>_<name>.sql", ErrNotMigrationDir, path, strings.Join(badNames, ", "))
	}
	if sqls == 0 && !hasSum && others > 0 {
		return nil, fmt.Errorf("%w: %s holds no migration files (<version>_<name>.sql) and no atlas.sum", ErrNotMigrationDir, path)
	}
	d := &Dir{Path: path}
	if d.up, err = migrate.NewLocalDir(path); err != nil {
		return nil, err
	}
	if fi, err := os.Stat(filepath.Join(path, DownDir)); err == nil && fi.IsDir() {
		if d.down, err = migrate.NewLocalDir(filepath.Join(path, DownDir)); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// CreateDir opens the migration directory at path, creating it and its
// down/ folder when missing.
func CreateDir(path string) (*Dir, error) {
	if err := os.MkdirAll(filepath.Join(path, DownDir), 0o755); err != nil {
		return nil, fmt.Errorf("migrate: create %s: %w", path, err)
	}
	return OpenDir(path)
}

// Atlas is the directory as Atlas sees it: the up files and atlas.sum.
func (d *Dir) Atlas() migrate.Dir { return d.up }

// Validate checks the up files against atlas.sum and the down files
// against down/atlas.sum with Atlas's Validate. A file changed by hand is
// a *SumError naming it; a missing sum is ErrNoSum.
func (d *Dir) Validate() error {
	if err := d.uniqueVersions(); err != nil {
		return err
	}
	if err := validate(d.up, d.Path); err != nil {
		return err
	}
	if d.down != nil {
		return validate(d.down, filepath.Join(d.Path, DownDir))
	}
	return nil
}

// uniqueVersions refuses two up files with one version, naming both.
func (d *Dir) uniqueVersions() error {
	files, err := d.up.Files()
	if err != nil {
		return fmt.Errorf("migrate: read %s: %w", d.Path, err)
	}
	byVersion := map[string][]string{}
	var order []string
	for _, f := range files {
		v := f.Version()
		if len(byVersion[v]) == 0 {
			order = append(order, v)
		}
		byVersion[v] = append(byVersion[v], f.Name())
	}
	for _, v := range order {
		if names := byVersion[v]; len(names) > 1 {
			return &DuplicateVersionError{Dir: d.Path, Version: v, Files: names}
		}
	}
	return nil
}

func validate(dir migrate.Dir, path string) error {
	err := migrate.Validate(dir)
	var ce *migrate.ChecksumError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, migrate.ErrChecksumNotFound):
		return fmt.Errorf("migrate: %w in %s: run `migrate hash` to write it once the files are as they should be", ErrNoSum, path)
	case errors.As(err, &ce):
		return &SumError{Dir: path, File: ce.File, Reason: ce.Reason.String()}
	case errors.Is(err, migrate.ErrChecksumFormat), errors.Is(err, migrate.ErrChecksumMismatch):
		return &SumError{Dir: path}
	}
	return fmt.Errorf("migrate: validate %s: %w", path, err)
}

// HashResult is what Hash wrote.
type HashResult struct {
	Files     int `json:"files"`
	DownFiles int `json:"down_files"`
}

// Hash rewrites atlas.sum (and down/atlas.sum) from the files as they are,
// with Atlas's NewHashFile and WriteSumFile.
func (d *Dir) Hash() (HashResult, error) {
	var res HashResult
	n, err := writeSum(d.up)
	if err != nil {
		return res, err
	}
	res.Files = n
	if d.down != nil {
		if res.DownFiles, err = writeSum(d.down); err != nil {
			return res, err
		}
	}
	return res, nil
}

func writeSum(dir *migrate.LocalDir) (int, error) {
	files, err := dir.Files()
	if err != nil {
		return 0, fmt.Errorf("migrate: read %s: %w", dir.Path(), err)
	}
	sum, err := migrate.NewHashFile(files)
	if err != nil {
		return 0, fmt.Errorf("migrate: hash %s: %w", dir.Path(), err)
	}
	if err := migrate.WriteSumFile(dir, sum); err != nil {
		return 0, fmt.Errorf("migrate: write %s: %w", filepath.Join(dir.Path(), migrate.HashFileName), err)
	}
	return len(files), nil
}

// Migration is one up file with what the package reads from it.
type Migration struct {
	// File is the file name, Version and Description its two parts.
	File        string `json:"file"`
	Version     string `json:"version"`
	Description string `json:"description"`
	// TxMode is the file's transaction mode: none, file (the default) or all.
	TxMode string `json:"txmode"`
	// Statements are the file's statements, in order.
	Statements []Statement `json:"statements"`
	// DownFile is the down file's name in down/, empty when there is none.
	DownFile string `json:"down_file,omitempty"`
	// Down are the down file's statements.
	Down []Statement `json:"-"`
	// Indexes are the indexes the file creates.
	Indexes []*indexdef.Def `json:"indexes,omitempty"`
}

// Statement is one statement of a file with where it starts.
type Statement struct {
	SQL  string `json:"sql"`
	Line int    `json:"line"`
	// parsed is what internal/sqlscan says of the statement, asked once
	// when the file is read; parseErr is its refusal.
	parsed   *sqlscan.Parsed
	parseErr error
}

// Parsed is what internal/sqlscan says of the statement (Kind "" for one
// of comments only), or the parser's refusal of it. Every step of apply,
// down and lint reads this, never the text again.
func (s Statement) Parsed() (*sqlscan.Parsed, error) {
	if s.parsed == nil && s.parseErr == nil {
		return classify(s.SQL)
	}
	return s.parsed, s.parseErr
}

// scanStmts splits a file into statements with Atlas's PostgreSQL scanner
// (the statements Atlas's executor runs) and classifies each.
func scanStmts(src string) ([]Statement, error) {
	stmts, err := (&postgres.Driver{}).ScanStmts(src)
	if err != nil {
		return nil, err
	}
	out := make([]Statement, len(stmts))
	for i, s := range stmts {
		out[i] = Statement{SQL: s.Text, Line: 1 + strings.Count(src[:min(s.Pos, len(src))], "\n")}
		out[i].parsed, out[i].parseErr = classify(s.Text)
	}
	return out, nil
}

// Migrations reads the up files in version order, with their down files.
// Two files with one version are a *DuplicateVersionError, a directive
// Atlas would not read a *DirectiveError.
func (d *Dir) Migrations() ([]*Migration, error) {
	if err := d.uniqueVersions(); err != nil {
		return nil, err
	}
	files, err := d.up.Files()
	if err != nil {
		return nil, fmt.Errorf("migrate: read %s: %w", d.Path, err)
	}
	downs := map[string]migrate.File{}
	if d.down != nil {
		dfs, err := d.down.Files()
		if err != nil {
			return nil, fmt.Errorf("migrate: read %s: %w", filepath.Join(d.Path, DownDir), err)
		}
		for _, f := range dfs {
			downs[f.Name()] = f
		}
	}
	var out []*Migration
	for _, f := range files {
		m, err := readMigration(f)
		if de := (*DirectiveError)(nil); errors.As(err, &de) {
			de.File = filepath.Join(d.Path, f.Name())
			return nil, de
		}
		if err != nil {
			return nil, fmt.Errorf("migrate: %s: %w", filepath.Join(d.Path, f.Name()), err)
		}
		if df, ok := downs[f.Name()]; ok {
			m.DownFile = f.Name()
			if m.Down, err = scanStmts(string(df.Bytes())); err != nil {
				return nil, fmt.Errorf("migrate: %s: %w", filepath.Join(d.Path, DownDir, f.Name()), err)
			}
		}
		out = append(out, m)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

func readMigration(f migrate.File) (*Migration, error) {
	m := &Migration{File: f.Name(), Version: f.Version(), Description: f.Desc(), TxMode: TxModeFile}
	if lf, ok := f.(*migrate.LocalFile); ok {
		if ds := lf.Directive("txmode"); len(ds) > 0 {
			m.TxMode = strings.TrimSpace(ds[0])
		}
		if err := detachedDirective(lf); err != nil {
			return nil, err
		}
	}
	stmts, err := scanStmts(string(f.Bytes()))
	if err != nil {
		return nil, err
	}
	m.Statements = stmts
	for _, s := range stmts {
		if p, err := s.Parsed(); err == nil && p.Index != nil {
			m.Indexes = append(m.Indexes, p.Index)
		}
	}
	return m, nil
}

// detachedDirective finds an `-- atlas:` directive in the comments that
// head a file which Atlas does not read (no blank line before the first
// statement), and returns a *DirectiveError naming it (File is the bare
// file name; Migrations puts the directory in front).
func detachedDirective(f *migrate.LocalFile) error {
	lines := strings.Split(string(f.Bytes()), "\n")
	for i, line := range lines {
		line = strings.TrimRight(line, " \t\r")
		if !strings.HasPrefix(line, "--") && !strings.HasPrefix(line, "#") {
			// The header ends at the first line that is not a comment: a
			// blank line (Atlas reads the header) or a statement.
			return nil
		}
		m := directiveLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if len(f.Directive(m[2])) == 0 {
			return &DirectiveError{File: f.Name(), Line: i + 1, Directive: line}
		}
	}
	return nil
}
