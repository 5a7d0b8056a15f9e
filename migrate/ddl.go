package migrate

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// indexKinds are the statements an index migration needs, the only ones
// apply runs unless other DDL is allowed. What a statement is, is read by
// internal/sqlscan from PostgreSQL's own parse tree, never from tokens, so
// no spelling, comment or quoting can pass one statement off as another.
var indexKinds = map[sqlscan.StmtKind]bool{
	sqlscan.KindCreateIndex:     true,
	sqlscan.KindDropIndex:       true,
	sqlscan.KindAttachPartition: true,
	sqlscan.KindCommentOnIndex:  true,
}

// classify asks internal/sqlscan what one statement of a migration file is:
// Atlas's scanner split the file, and a piece of it holding comments only
// is an empty statement (Kind ""), which runs nothing.
func classify(sql string) (*sqlscan.Parsed, error) {
	p, err := sqlscan.ParseOne(sql)
	var ce *sqlscan.CountError
	switch {
	case errors.As(err, &ce) && ce.N == 0:
		return &sqlscan.Parsed{Text: sql}, nil
	case err != nil:
		return nil, err
	}
	// Nothing in this package reads the tree further.
	p.Tree = nil
	return &p, nil
}

// blocking reports whether the statement is a CREATE INDEX that builds
// without CONCURRENTLY: it holds every write to the table until the build
// ends. ON ONLY a partitioned table builds nothing.
func blocking(p *sqlscan.Parsed) bool {
	return p.Kind == sqlscan.KindCreateIndex && !p.Concurrently && (p.Index == nil || !p.Index.Only)
}

// unqualifiedName returns the first name the statement leaves to the
// search_path, and false when every name carries its schema.
func unqualifiedName(p *sqlscan.Parsed) (indexdef.Name, bool) {
	for _, n := range p.Relations {
		if n.Schema == "" {
			return n, true
		}
	}
	return indexdef.Name{}, false
}

// Sentinels of the statements apply refuses before anything runs.
var (
	// ErrOtherDDL marks a statement that is not an index statement.
	ErrOtherDDL = errors.New("not an index statement")
	// ErrBlockingIndex marks a CREATE INDEX without CONCURRENTLY.
	ErrBlockingIndex = errors.New("CREATE INDEX without CONCURRENTLY blocks every write to the table while it builds")
	// ErrUnqualified marks a table or index named without its schema.
	ErrUnqualified = errors.New("name without its schema")
	// ErrUnparsable marks a statement PostgreSQL's parser refuses.
	ErrUnparsable = errors.New("statement does not parse")
)

// RefusedError is a statement apply or down will not run, found before
// anything runs.
type RefusedError struct {
	// File is the file, Line the statement's first line.
	File string
	Line int
	// Stmt is the statement, on one line and cut short.
	Stmt string
	// Kind is what the statement is, as internal/sqlscan names it.
	Kind sqlscan.StmtKind
	// Name is the unqualified name, for ErrUnqualified.
	Name indexdef.Name
	// Err is one of ErrOtherDDL, ErrBlockingIndex, ErrUnqualified and
	// ErrUnparsable, wrapping the parser's error for the last.
	Err error
}

// Error names the file, the line and the statement, and says what to do
// with an unqualified name; what allows other DDL is the caller's to word.
func (e *RefusedError) Error() string {
	where := fmt.Sprintf("migrate: %s line %d", e.File, e.Line)
	switch {
	case errors.Is(e.Err, ErrUnqualified):
		return fmt.Sprintf("%s: %s names %s without its schema: write it as <schema>.%s (apply pins search_path to pg_catalog, so that no session's search_path decides which table an index is built on)",
			where, e.Kind, e.Name, e.Name)
	case errors.Is(e.Err, ErrOtherDDL):
		return fmt.Sprintf("%s: %s: %v: apply builds and drops indexes only (CREATE INDEX, DROP INDEX, ALTER INDEX … ATTACH PARTITION, COMMENT ON INDEX)",
			where, e.Stmt, ErrOtherDDL)
	case errors.Is(e.Err, ErrBlockingIndex):
		return fmt.Sprintf("%s: %s: %v: write CREATE INDEX CONCURRENTLY in a file headed by `-- atlas:txmode none`", where, e.Stmt, ErrBlockingIndex)
	}
	return fmt.Sprintf("%s: %s: %v", where, e.Stmt, e.Err)
}

// Unwrap returns the sentinel.
func (e *RefusedError) Unwrap() error { return e.Err }

// stmtLineMax is how much of a refused statement a message shows: enough
// to recognise it, short enough for one line.
const stmtLineMax = 80

// shortStmt is a statement on one line, cut at stmtLineMax runes.
func shortStmt(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > stmtLineMax {
		s = string(r[:stmtLineMax-1]) + "…"
	}
	return s
}

// checkStatement decides whether apply (or down) may run one statement of
// file: an index statement with every name schema-qualified, and, unless
// allowOther, no blocking build and nothing else. It returns a
// *RefusedError when it may not run.
func checkStatement(file string, s Statement, allowOther bool) error {
	refuse := func(kind sqlscan.StmtKind, err error) error {
		return &RefusedError{File: file, Line: s.Line, Stmt: shortStmt(s.SQL), Kind: kind, Err: err}
	}
	p, err := s.Parsed()
	if err != nil {
		return refuse("", fmt.Errorf("%w: %w", ErrUnparsable, err))
	}
	if p.Kind == "" {
		return nil
	}
	if n, ok := unqualifiedName(p); ok && indexKinds[p.Kind] {
		err := refuse(p.Kind, ErrUnqualified)
		err.(*RefusedError).Name = n
		return err
	}
	switch {
	case allowOther:
	case !indexKinds[p.Kind]:
		return refuse(p.Kind, ErrOtherDDL)
	case blocking(p):
		return refuse(p.Kind, ErrBlockingIndex)
	}
	return nil
}
