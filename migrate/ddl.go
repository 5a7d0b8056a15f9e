package migrate

import (
	"errors"
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// DDLKind is what a migration statement does, as apply decides whether to
// run it. It is read from PostgreSQL's own parse tree (pg_query), never
// from tokens, so no spelling, comment or quoting can pass one statement
// off as another.
type DDLKind int

// The kinds of statement apply knows. Every kind but DDLOther is an index
// statement: the only ones an index migration needs.
const (
	// DDLOther is anything else: DROP TABLE, UPDATE, SET, BEGIN, a
	// function call. apply refuses it unless other DDL is allowed.
	DDLOther DDLKind = iota
	// DDLEmpty is a statement with nothing in it (comments only).
	DDLEmpty
	// DDLCreateIndex is CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT
	// EXISTS] … ON [ONLY] table.
	DDLCreateIndex
	// DDLDropIndex is DROP INDEX [CONCURRENTLY] [IF EXISTS].
	DDLDropIndex
	// DDLAttachPartition is ALTER INDEX parent ATTACH PARTITION child, the
	// last step of indexing a partitioned table.
	DDLAttachPartition
	// DDLCommentOnIndex is COMMENT ON INDEX.
	DDLCommentOnIndex
)

// String names the kind for messages.
func (k DDLKind) String() string {
	switch k {
	case DDLEmpty:
		return "empty statement"
	case DDLCreateIndex:
		return "CREATE INDEX"
	case DDLDropIndex:
		return "DROP INDEX"
	case DDLAttachPartition:
		return "ALTER INDEX … ATTACH PARTITION"
	case DDLCommentOnIndex:
		return "COMMENT ON INDEX"
	}
	return "other statement"
}

// DDL is one statement as the parse tree shows it.
type DDL struct {
	Kind DDLKind
	// Concurrently is set for CREATE and DROP INDEX CONCURRENTLY.
	Concurrently bool
	// OnOnly is set for CREATE INDEX … ON ONLY parent, which builds
	// nothing: it makes the partitioned table's index, INVALID until its
	// partitions' indexes are attached.
	OnOnly bool
	// Names are the tables and indexes the statement names, as written:
	// Schema is empty for a name left to the search_path.
	Names []RelName
}

// RelName is a table or index name as a statement writes it.
type RelName struct {
	Schema, Name string
}

// String is the name as SQL.
func (n RelName) String() string { return qualify(n.Schema, n.Name) }

// Blocking reports whether the statement is a CREATE INDEX that builds
// without CONCURRENTLY: it holds every write to the table until the build
// ends.
func (d DDL) Blocking() bool { return d.Kind == DDLCreateIndex && !d.Concurrently && !d.OnOnly }

// Unqualified returns the first name the statement leaves to the
// search_path, and false when every name carries its schema.
func (d DDL) Unqualified() (RelName, bool) {
	for _, n := range d.Names {
		if n.Schema == "" {
			return n, true
		}
	}
	return RelName{}, false
}

// ErrNotOneStatement is returned by KindOf for text holding more than one
// statement.
var ErrNotOneStatement = errors.New("more than one statement")

// KindOf tells what one statement is from PostgreSQL's parse tree. Text
// that does not parse is an error (pg_query's, with its position); so is
// text holding two statements.
func KindOf(stmt string) (DDL, error) {
	tree, err := sqlscan.ParseTree(stmt)
	if err != nil {
		return DDL{}, err
	}
	switch len(tree.Stmts) {
	case 0:
		return DDL{Kind: DDLEmpty}, nil
	case 1:
	default:
		return DDL{}, ErrNotOneStatement
	}
	n := tree.Stmts[0].Stmt
	switch {
	case n.GetIndexStmt() != nil:
		s := n.GetIndexStmt()
		d := DDL{Kind: DDLCreateIndex, Concurrently: s.Concurrent}
		if s.Relation != nil {
			d.OnOnly = !s.Relation.Inh
			d.Names = append(d.Names, rangeVarName(s.Relation))
		}
		return d, nil
	case n.GetDropStmt() != nil && n.GetDropStmt().RemoveType == pg_query.ObjectType_OBJECT_INDEX:
		s := n.GetDropStmt()
		d := DDL{Kind: DDLDropIndex, Concurrently: s.Concurrent}
		for _, o := range s.Objects {
			d.Names = append(d.Names, listName(o))
		}
		return d, nil
	case n.GetAlterTableStmt() != nil && n.GetAlterTableStmt().Objtype == pg_query.ObjectType_OBJECT_INDEX:
		s := n.GetAlterTableStmt()
		if len(s.Cmds) == 0 {
			return DDL{Kind: DDLOther}, nil
		}
		d := DDL{Kind: DDLAttachPartition}
		if s.Relation != nil {
			d.Names = append(d.Names, rangeVarName(s.Relation))
		}
		for _, c := range s.Cmds {
			cmd := c.GetAlterTableCmd()
			if cmd == nil || cmd.Subtype != pg_query.AlterTableType_AT_AttachPartition {
				return DDL{Kind: DDLOther}, nil
			}
			if pc := cmd.Def.GetPartitionCmd(); pc != nil && pc.Name != nil {
				d.Names = append(d.Names, rangeVarName(pc.Name))
			}
		}
		return d, nil
	case n.GetCommentStmt() != nil && n.GetCommentStmt().Objtype == pg_query.ObjectType_OBJECT_INDEX:
		return DDL{Kind: DDLCommentOnIndex, Names: []RelName{listName(n.GetCommentStmt().Object)}}, nil
	}
	return DDL{Kind: DDLOther}, nil
}

func rangeVarName(rv *pg_query.RangeVar) RelName {
	return RelName{Schema: rv.Schemaname, Name: rv.Relname}
}

// listName reads a name given as a list of strings (DROP INDEX's and
// COMMENT ON INDEX's objects): [name], [schema, name] or [db, schema, name].
func listName(n *pg_query.Node) RelName {
	var parts []string
	for _, item := range n.GetList().GetItems() {
		parts = append(parts, item.GetString_().GetSval())
	}
	switch len(parts) {
	case 0:
		return RelName{}
	case 1:
		return RelName{Name: parts[0]}
	}
	return RelName{Schema: parts[len(parts)-2], Name: parts[len(parts)-1]}
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
	// Kind is what the statement is.
	Kind DDLKind
	// Name is the unqualified name, for ErrUnqualified.
	Name RelName
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
// allowOther, no blocking build and nothing else. It returns the
// statement's kind, and a *RefusedError when it may not run.
func checkStatement(file string, s Statement, allowOther bool) (DDL, error) {
	refuse := func(d DDL, err error) (DDL, error) {
		return d, &RefusedError{File: file, Line: s.Line, Stmt: shortStmt(s.SQL), Kind: d.Kind, Err: err}
	}
	d, err := KindOf(s.SQL)
	if err != nil {
		return refuse(DDL{}, fmt.Errorf("%w: %w", ErrUnparsable, err))
	}
	if n, ok := d.Unqualified(); ok && d.Kind != DDLOther {
		d, err := refuse(d, ErrUnqualified)
		err.(*RefusedError).Name = n
		return d, err
	}
	switch {
	case allowOther:
	case d.Kind == DDLOther:
		return refuse(d, ErrOtherDDL)
	case d.Blocking():
		return refuse(d, ErrBlockingIndex)
	}
	return d, nil
}
