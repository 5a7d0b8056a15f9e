package sqlscan

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/hishamos/hishamos-perf/internal/indexdef"
)

// StmtKind is what a statement is, named as its SQL starts it: "SELECT",
// "INSERT", "EXPLAIN", "CREATE INDEX", "DROP TABLE", "BEGIN". A WITH query
// is the kind of its main statement.
type StmtKind string

// The kinds callers branch on. Every other statement is named by its
// words too ("VACUUM", "CREATE FUNCTION", "ALTER TABLE").
const (
	KindSelect          StmtKind = "SELECT"
	KindValues          StmtKind = "VALUES"
	KindTable           StmtKind = "TABLE"
	KindInsert          StmtKind = "INSERT"
	KindUpdate          StmtKind = "UPDATE"
	KindDelete          StmtKind = "DELETE"
	KindMerge           StmtKind = "MERGE"
	KindExplain         StmtKind = "EXPLAIN"
	KindShow            StmtKind = "SHOW"
	KindSet             StmtKind = "SET"
	KindReset           StmtKind = "RESET"
	KindCall            StmtKind = "CALL"
	KindDo              StmtKind = "DO"
	KindCopy            StmtKind = "COPY"
	KindCreateIndex     StmtKind = "CREATE INDEX"
	KindDropIndex       StmtKind = "DROP INDEX"
	KindAlterIndex      StmtKind = "ALTER INDEX"
	KindAttachPartition StmtKind = "ALTER INDEX ATTACH PARTITION"
	KindCommentOnIndex  StmtKind = "COMMENT ON INDEX"
	KindCreateTable     StmtKind = "CREATE TABLE"
	KindCreateTableAs   StmtKind = "CREATE TABLE AS"
	KindAlterTable      StmtKind = "ALTER TABLE"
	KindBegin           StmtKind = "BEGIN"
	KindStart           StmtKind = "START TRANSACTION"
	KindCommit          StmtKind = "COMMIT"
	KindRollback        StmtKind = "ROLLBACK"
	KindVacuum          StmtKind = "VACUUM"
	KindAnalyze         StmtKind = "ANALYZE"
)

// Parsed is one statement of a text as PostgreSQL's parser reads it, with
// what every package of the tool asks of a statement. It is decided here
// only, from the parse tree, never from tokens: no spelling, comment or
// quoting can pass one statement off as another.
type Parsed struct {
	// Text is the statement without its semicolon, trimmed of white space
	// and of the comments before its first token; Start is its byte
	// offset in the whole text and Line the 1-based line it starts on.
	Text  string
	Start int
	Line  int
	// Kind is what the statement is.
	Kind StmtKind
	// Writes says why the statement may change what a READ ONLY
	// transaction refuses to change or a rollback must undo: "INSERT",
	// "SELECT ... INTO", "FOR UPDATE", "FOR KEY SHARE", "DELETE in a
	// WITH", "COPY ... TO PROGRAM", "EXPLAIN ANALYZE of a DELETE", the
	// kind of DDL or of a session command ("SET"). Empty for a statement
	// that only reads. A function it calls (Calls) may write too; only the
	// server knows, which is why analyze and bench run everything in READ
	// ONLY or rolled-back transactions whatever this says.
	Writes []string
	// ModifiesData is set for an INSERT, UPDATE, DELETE or MERGE, at the
	// top or in a WITH (not in EXPLAIN's statement).
	ModifiesData bool
	// ReadOnly is set for a query that writes nothing: a SELECT, VALUES,
	// TABLE, SHOW or EXPLAIN with no Writes.
	ReadOnly bool
	// Params are the distinct $n placeholders it uses, ascending.
	Params []int
	// Explainable is set for what EXPLAIN takes: SELECT, INSERT, UPDATE,
	// DELETE, MERGE, VALUES, TABLE, EXECUTE, DECLARE and CREATE TABLE AS
	// (or MATERIALIZED VIEW); not utility statements.
	Explainable bool
	// NoTransaction is set for a statement that cannot run in a
	// transaction block: CREATE or DROP INDEX CONCURRENTLY, REINDEX
	// CONCURRENTLY, VACUUM, CREATE or DROP DATABASE or TABLESPACE, ALTER
	// SYSTEM, DETACH PARTITION CONCURRENTLY.
	NoTransaction bool
	// OutsideTx is the first function it calls whose effect neither a READ
	// ONLY transaction nor a rollback contains (pg_terminate_backend,
	// dblink_exec, pg_advisory_lock...), empty for none. A function
	// reached through a view or another function is not seen.
	OutsideTx string
	// Calls are the functions it calls, in order of appearance, once
	// each, schema-qualified when written so ("pg_catalog.now").
	Calls []string
	// Relations are the tables, views and indexes it names (CTE names
	// left out), in order of appearance, once each; for DROP and COMMENT
	// ON, the objects dropped or commented.
	Relations []indexdef.Name
	// Limit is set when a LIMIT or FETCH FIRST appears anywhere in it (in
	// a subquery too).
	Limit bool
	// PlanText is Text as the server can plan it. pg_stat_statements
	// keeps a typed literal's type and replaces its string
	// (`timestamptz '2026-06-01'` is stored as `timestamptz $3`,
	// `interval '7 days'` as `interval $2`, `date '2026-11-24'` as
	// `date $1`): pg_query's grammar reads that, PostgreSQL's refuses a
	// placeholder where it wants a string constant. PlanText writes each
	// such literal as the cast both read alike (`$3::timestamptz`,
	// `$2::interval day`), every form the grammar has (any type name,
	// qualified or quoted, with modifiers, WITH TIME ZONE, INTERVAL and its
	// fields) and nothing else. It is Text when there is none.
	PlanText string
	// Inner is EXPLAIN's statement (its own Text, Start and Line: the
	// statement after EXPLAIN's options), and ExplainAnalyze says whether
	// EXPLAIN runs it.
	Inner          *Parsed
	ExplainAnalyze bool
	// Index is a CREATE INDEX taken apart.
	Index *indexdef.Def
	// DropIndexes are DROP INDEX's indexes.
	DropIndexes []indexdef.Name
	// Concurrently is set for CREATE and DROP INDEX CONCURRENTLY, IfExists
	// for DROP … IF EXISTS and CREATE INDEX IF NOT EXISTS.
	Concurrently bool
	IfExists     bool
	// AddsUnique is set for ALTER TABLE … ADD UNIQUE without USING INDEX,
	// which builds its index under a SHARE lock.
	AddsUnique bool
	// Tree is the statement's parse tree, for a package that reads further
	// (the index advisor walks it): never parse the text again.
	Tree *pg_query.RawStmt
}

// SyntaxError is text PostgreSQL's parser refuses, though its lexer reads
// it.
type SyntaxError struct {
	// Msg is the parser's message: `syntax error at or near "FORM"`.
	Msg string
	// Offset is the byte offset the parser points at, -1 when it does not
	// say; Line is its 1-based line, 0 when Offset is -1.
	Offset int
	Line   int
}

func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s (line %d)", e.Msg, e.Line)
	}
	return e.Msg
}

// CountError is ParseOne's text holding no statement or more than one.
type CountError struct{ N int }

func (e *CountError) Error() string {
	if e.N == 0 {
		return "no SQL statement"
	}
	return fmt.Sprintf("%d SQL statements where one was expected", e.N)
}

// Parse parses sql and classifies every statement in it. Text the lexer
// refuses (an unterminated string, a NUL byte) is an *Error; text the
// parser refuses is a *SyntaxError.
func Parse(sql string) ([]Parsed, error) {
	if i := strings.IndexByte(sql, 0); i >= 0 {
		return nil, &Error{Kind: NulByte, Msg: `NUL byte (\0) in the SQL text`, Offset: i, Line: 1 + strings.Count(sql[:i], "\n")}
	}
	tree, err := ParseTree(sql)
	if err != nil {
		if _, lexErr := Scan(sql); lexErr != nil {
			return nil, lexErr
		}
		return nil, err
	}
	out := make([]Parsed, 0, len(tree.Stmts))
	for _, raw := range tree.Stmts {
		p := Parsed{Tree: raw}
		p.Start, p.Text = stmtText(sql, raw)
		p.Line = 1 + strings.Count(sql[:p.Start], "\n")
		if err := classify(&p, raw.Stmt, sql); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// ParseOne parses text holding exactly one statement; no statement or more
// than one is a *CountError.
func ParseOne(sql string) (Parsed, error) {
	stmts, err := Parse(sql)
	if err != nil {
		return Parsed{}, err
	}
	if len(stmts) != 1 {
		return Parsed{}, &CountError{N: len(stmts)}
	}
	return stmts[0], nil
}

// stmtText is a statement's text as Split gives it: from its first token
// to its semicolon (or the end), trailing white space trimmed.
func stmtText(sql string, raw *pg_query.RawStmt) (int, string) {
	start := min(max(int(raw.StmtLocation), 0), len(sql))
	end := len(sql)
	if raw.StmtLen > 0 {
		end = min(start+int(raw.StmtLen), len(sql))
	}
	start = skipComments(sql, start, end)
	return start, strings.TrimRight(sql[start:end], space)
}

// skipComments returns the offset of the first byte from i on that is
// neither white space nor inside a comment. The parser has read the text,
// so every comment in it is closed.
func skipComments(sql string, i, end int) int {
	for i < end {
		switch {
		case strings.IndexByte(space, sql[i]) >= 0:
			i++
		case strings.HasPrefix(sql[i:end], "--"):
			j := strings.IndexAny(sql[i:end], "\r\n")
			if j < 0 {
				return end
			}
			i += j
		case strings.HasPrefix(sql[i:end], "/*"):
			depth := 0
			for i < end {
				if strings.HasPrefix(sql[i:end], "/*") {
					depth++
					i += 2
				} else if strings.HasPrefix(sql[i:end], "*/") {
					depth--
					i += 2
					if depth == 0 {
						break
					}
				} else {
					i++
				}
			}
		default:
			return i
		}
	}
	return i
}

// readKinds are the kinds that read and may run in a READ ONLY
// transaction when nothing in them writes.
var readKinds = map[StmtKind]bool{KindSelect: true, KindValues: true, KindTable: true, KindShow: true, KindExplain: true}

// quietKinds change nothing a rollback has to undo and take no lock a
// READ ONLY transaction refuses: transaction control, cursors, prepared
// statements' bookkeeping. (They are not read-only queries either.)
var quietKinds = map[StmtKind]bool{
	KindBegin: true, KindStart: true, KindCommit: true, KindRollback: true,
	"SAVEPOINT": true, "RELEASE": true, "ROLLBACK TO": true,
	"FETCH": true, "MOVE": true, "CLOSE": true, "PREPARE": true, "DEALLOCATE": true,
	"LISTEN": true, "UNLISTEN": true, "DISCARD": true, "DECLARE": true,
}

// classify fills in what the tree says of the statement; sql is the whole
// text the tree was parsed from. The one error is a placeholder with
// trailing junk ($1abc), which PostgreSQL 15 and later refuse and the
// parser reads as $1 AS abc.
func classify(p *Parsed, n *pg_query.Node, sql string) error {
	p.Kind = kindOf(n, p.Text)
	w := walker{p: p, sql: sql}
	switch {
	case n.GetSelectStmt() != nil:
		if s := n.GetSelectStmt(); s.IntoClause != nil {
			p.Writes = append(p.Writes, "SELECT ... INTO")
		}
		p.Explainable = true
	case n.GetInsertStmt() != nil, n.GetUpdateStmt() != nil, n.GetDeleteStmt() != nil, n.GetMergeStmt() != nil:
		p.Writes = append(p.Writes, string(p.Kind))
		p.Explainable, p.ModifiesData = true, true
	case n.GetExecuteStmt() != nil:
		// A prepared statement may be a write: nothing here says.
		p.Writes = append(p.Writes, string(p.Kind))
		p.Explainable = true
	case n.GetDeclareCursorStmt() != nil:
		p.Explainable = true
	case n.GetCreateTableAsStmt() != nil:
		p.Writes = append(p.Writes, string(p.Kind))
		p.Explainable = true
	case n.GetExplainStmt() != nil:
		x := n.GetExplainStmt()
		p.ExplainAnalyze = explainAnalyze(x.Options)
		if x.Query != nil {
			inner := &Parsed{Text: p.Text, Start: p.Start, Line: p.Line, Tree: &pg_query.RawStmt{Stmt: x.Query}}
			if at := explainedAt(p.Text); at > 0 {
				inner.Start, inner.Text = p.Start+at, p.Text[at:]
				inner.Line = p.Line + strings.Count(p.Text[:at], "\n")
			}
			if err := classify(inner, x.Query, sql); err != nil {
				return err
			}
			p.Inner = inner
			if p.ExplainAnalyze {
				for _, iw := range inner.Writes {
					p.Writes = append(p.Writes, "EXPLAIN ANALYZE of "+article(iw))
				}
			}
		}
	case n.GetCopyStmt() != nil:
		c := n.GetCopyStmt()
		switch {
		case c.IsFrom && c.IsProgram:
			p.Writes = append(p.Writes, "COPY ... FROM PROGRAM")
		case c.IsFrom:
			p.Writes = append(p.Writes, "COPY ... FROM")
		case c.IsProgram:
			p.Writes = append(p.Writes, "COPY ... TO PROGRAM")
		case c.Filename != "":
			p.Writes = append(p.Writes, "COPY ... TO a file")
		}
	case n.GetIndexStmt() != nil:
		s := n.GetIndexStmt()
		p.Index = indexDef(s)
		p.Concurrently, p.IfExists = s.Concurrent, s.IfNotExists
		p.Writes = append(p.Writes, string(p.Kind))
	case n.GetDropStmt() != nil:
		s := n.GetDropStmt()
		p.Concurrently, p.IfExists = s.Concurrent, s.MissingOk
		for _, o := range s.Objects {
			if name, ok := listName(o); ok {
				w.relation(name, -1)
				if s.RemoveType == pg_query.ObjectType_OBJECT_INDEX {
					p.DropIndexes = append(p.DropIndexes, name)
				}
			}
		}
		p.Writes = append(p.Writes, string(p.Kind))
	case n.GetCommentStmt() != nil:
		if name, ok := listName(n.GetCommentStmt().Object); ok {
			w.relation(name, -1)
		}
		p.Writes = append(p.Writes, string(p.Kind))
	case n.GetAlterTableStmt() != nil:
		for _, c := range n.GetAlterTableStmt().Cmds {
			cmd := c.GetAlterTableCmd()
			if cmd == nil {
				continue
			}
			if con := cmd.Def.GetConstraint(); cmd.Subtype == pg_query.AlterTableType_AT_AddConstraint && con != nil &&
				con.Contype == pg_query.ConstrType_CONSTR_UNIQUE && con.Indexname == "" {
				p.AddsUnique = true
			}
			if pc := cmd.Def.GetPartitionCmd(); cmd.Subtype == pg_query.AlterTableType_AT_DetachPartition && pc != nil && pc.Concurrent {
				p.NoTransaction = true
			}
		}
		p.Writes = append(p.Writes, string(p.Kind))
	case readKinds[p.Kind], quietKinds[p.Kind]:
	default:
		// DDL, CALL, DO, SET, VACUUM, a GRANT: all change something.
		p.Writes = append(p.Writes, string(p.Kind))
	}
	p.NoTransaction = p.NoTransaction || noTransaction(n)
	// What EXPLAIN's statement calls and names is the EXPLAIN's too, but
	// its writes are the EXPLAIN's only with ANALYZE (above).
	w.nestedWrites = p.Kind != KindExplain
	w.walk(n)
	p.ReadOnly = readKinds[p.Kind] && len(p.Writes) == 0
	p.PlanText = planText(p, w.typed)
	if w.junk != nil {
		return w.junk
	}
	return nil
}

// article puts "a" before a bare statement word: "EXPLAIN ANALYZE of a
// DELETE", but "of SELECT ... INTO".
func article(w string) string {
	for _, r := range w {
		if !unicode.IsUpper(r) {
			return w
		}
	}
	return "a " + w
}

// explainAnalyze reads EXPLAIN's options for ANALYZE: ANALYZE alone, or
// ANALYZE true, on, 1.
func explainAnalyze(opts []*pg_query.Node) bool {
	on := false
	for _, o := range opts {
		d := o.GetDefElem()
		if d == nil || d.Defname != "analyze" {
			continue
		}
		switch {
		case d.Arg == nil:
			on = true
		case d.Arg.GetBoolean() != nil:
			on = d.Arg.GetBoolean().Boolval
		case d.Arg.GetString_() != nil:
			switch strings.ToLower(d.Arg.GetString_().Sval) {
			case "false", "off", "0", "no":
				on = false
			default:
				on = true
			}
		case d.Arg.GetInteger() != nil:
			on = d.Arg.GetInteger().Ival != 0
		default:
			on = true
		}
	}
	return on
}

// noTransaction reports whether PostgreSQL refuses the statement inside a
// transaction block (PreventInTransactionBlock).
func noTransaction(n *pg_query.Node) bool {
	switch {
	case n.GetIndexStmt() != nil:
		return n.GetIndexStmt().Concurrent
	case n.GetDropStmt() != nil:
		return n.GetDropStmt().Concurrent
	case n.GetReindexStmt() != nil:
		r := n.GetReindexStmt()
		if r.Kind == pg_query.ReindexObjectType_REINDEX_OBJECT_SYSTEM || r.Kind == pg_query.ReindexObjectType_REINDEX_OBJECT_DATABASE {
			return true
		}
		for _, o := range r.Params {
			if d := o.GetDefElem(); d != nil && d.Defname == "concurrently" {
				return true
			}
		}
	case n.GetVacuumStmt() != nil:
		return n.GetVacuumStmt().IsVacuumcmd
	case n.GetCreatedbStmt() != nil, n.GetDropdbStmt() != nil, n.GetAlterSystemStmt() != nil,
		n.GetCreateTableSpaceStmt() != nil, n.GetDropTableSpaceStmt() != nil,
		n.GetCreateSubscriptionStmt() != nil, n.GetDropSubscriptionStmt() != nil:
		return true
	}
	return false
}

// kindOf names the statement.
func kindOf(n *pg_query.Node, text string) StmtKind {
	switch {
	case n.GetSelectStmt() != nil:
		s := n.GetSelectStmt()
		switch {
		case len(s.ValuesLists) > 0 && s.Op == pg_query.SetOperation_SETOP_NONE:
			return KindValues
		case len(text) >= 5 && strings.EqualFold(text[:5], "table") && (len(text) == 5 || strings.IndexByte(space+"(", text[5]) >= 0):
			return KindTable
		}
		return KindSelect
	case n.GetInsertStmt() != nil:
		return KindInsert
	case n.GetUpdateStmt() != nil:
		return KindUpdate
	case n.GetDeleteStmt() != nil:
		return KindDelete
	case n.GetMergeStmt() != nil:
		return KindMerge
	case n.GetExplainStmt() != nil:
		return KindExplain
	case n.GetVariableShowStmt() != nil:
		return KindShow
	case n.GetVariableSetStmt() != nil:
		switch n.GetVariableSetStmt().Kind {
		case pg_query.VariableSetKind_VAR_RESET, pg_query.VariableSetKind_VAR_RESET_ALL:
			return KindReset
		}
		return KindSet
	case n.GetCallStmt() != nil:
		return KindCall
	case n.GetDoStmt() != nil:
		return KindDo
	case n.GetCopyStmt() != nil:
		return KindCopy
	case n.GetIndexStmt() != nil:
		return KindCreateIndex
	case n.GetDropStmt() != nil:
		return StmtKind("DROP " + objectWords(n.GetDropStmt().RemoveType))
	case n.GetCommentStmt() != nil:
		return StmtKind("COMMENT ON " + objectWords(n.GetCommentStmt().Objtype))
	case n.GetAlterTableStmt() != nil:
		s := n.GetAlterTableStmt()
		if s.Objtype == pg_query.ObjectType_OBJECT_INDEX && len(s.Cmds) > 0 {
			attach := true
			for _, c := range s.Cmds {
				if cmd := c.GetAlterTableCmd(); cmd == nil || cmd.Subtype != pg_query.AlterTableType_AT_AttachPartition {
					attach = false
				}
			}
			if attach {
				return KindAttachPartition
			}
		}
		return StmtKind("ALTER " + objectWords(s.Objtype))
	case n.GetRenameStmt() != nil:
		return StmtKind("ALTER " + objectWords(n.GetRenameStmt().RenameType))
	case n.GetTransactionStmt() != nil:
		switch n.GetTransactionStmt().Kind {
		case pg_query.TransactionStmtKind_TRANS_STMT_BEGIN:
			return KindBegin
		case pg_query.TransactionStmtKind_TRANS_STMT_START:
			return KindStart
		case pg_query.TransactionStmtKind_TRANS_STMT_COMMIT:
			return KindCommit
		case pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK:
			return KindRollback
		case pg_query.TransactionStmtKind_TRANS_STMT_SAVEPOINT:
			return "SAVEPOINT"
		case pg_query.TransactionStmtKind_TRANS_STMT_RELEASE:
			return "RELEASE"
		case pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO:
			return "ROLLBACK TO"
		case pg_query.TransactionStmtKind_TRANS_STMT_PREPARE:
			return "PREPARE TRANSACTION"
		case pg_query.TransactionStmtKind_TRANS_STMT_COMMIT_PREPARED:
			return "COMMIT PREPARED"
		case pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK_PREPARED:
			return "ROLLBACK PREPARED"
		}
	case n.GetCreateStmt() != nil:
		return KindCreateTable
	case n.GetCreateTableAsStmt() != nil:
		if n.GetCreateTableAsStmt().Objtype == pg_query.ObjectType_OBJECT_MATVIEW {
			return "CREATE MATERIALIZED VIEW"
		}
		return KindCreateTableAs
	case n.GetViewStmt() != nil:
		return "CREATE VIEW"
	case n.GetDeclareCursorStmt() != nil:
		return "DECLARE"
	case n.GetExecuteStmt() != nil:
		return "EXECUTE"
	case n.GetPrepareStmt() != nil:
		return "PREPARE"
	case n.GetFetchStmt() != nil:
		if n.GetFetchStmt().Ismove {
			return "MOVE"
		}
		return "FETCH"
	case n.GetClosePortalStmt() != nil:
		return "CLOSE"
	case n.GetVacuumStmt() != nil:
		if n.GetVacuumStmt().IsVacuumcmd {
			return KindVacuum
		}
		return KindAnalyze
	case n.GetGrantStmt() != nil:
		if n.GetGrantStmt().IsGrant {
			return "GRANT"
		}
		return "REVOKE"
	case n.GetGrantRoleStmt() != nil:
		if n.GetGrantRoleStmt().IsGrant {
			return "GRANT"
		}
		return "REVOKE"
	case n.GetCreateFunctionStmt() != nil:
		if n.GetCreateFunctionStmt().IsProcedure {
			return "CREATE PROCEDURE"
		}
		return "CREATE FUNCTION"
	case n.GetCreatedbStmt() != nil:
		return "CREATE DATABASE"
	case n.GetDropdbStmt() != nil:
		return "DROP DATABASE"
	case n.GetCreateSeqStmt() != nil:
		return "CREATE SEQUENCE"
	case n.GetCheckPointStmt() != nil:
		return "CHECKPOINT"
	case n.GetRefreshMatViewStmt() != nil:
		return "REFRESH MATERIALIZED VIEW"
	case n.GetCreateTrigStmt() != nil:
		return "CREATE TRIGGER"
	}
	return fallbackKind(n)
}

// fallbackKind names a statement by its node's type: AlterDomainStmt is
// "ALTER DOMAIN".
func fallbackKind(n *pg_query.Node) StmtKind {
	m := nodeMessage(n)
	if m == nil {
		return "UNKNOWN"
	}
	name := strings.TrimSuffix(string(m.ProtoReflect().Descriptor().Name()), "Stmt")
	var words []string
	start := 0
	for i := 1; i <= len(name); i++ {
		if i == len(name) || name[i] >= 'A' && name[i] <= 'Z' {
			words = append(words, strings.ToUpper(name[start:i]))
			start = i
		}
	}
	return StmtKind(strings.Join(words, " "))
}

// nodeMessage is the message a Node holds.
func nodeMessage(n *pg_query.Node) proto.Message {
	if n == nil {
		return nil
	}
	r := n.ProtoReflect()
	od := r.Descriptor().Oneofs().ByName("node")
	if od == nil {
		return nil
	}
	fd := r.WhichOneof(od)
	if fd == nil {
		return nil
	}
	return r.Get(fd).Message().Interface()
}

// objectWords names an object type as SQL does: OBJECT_MATVIEW is
// "MATERIALIZED VIEW".
func objectWords(t pg_query.ObjectType) string {
	switch t {
	case pg_query.ObjectType_OBJECT_MATVIEW:
		return "MATERIALIZED VIEW"
	case pg_query.ObjectType_OBJECT_FDW:
		return "FOREIGN DATA WRAPPER"
	case pg_query.ObjectType_OBJECT_FOREIGN_SERVER:
		return "SERVER"
	case pg_query.ObjectType_OBJECT_TABCONSTRAINT, pg_query.ObjectType_OBJECT_DOMCONSTRAINT:
		return "CONSTRAINT"
	case pg_query.ObjectType_OBJECT_LARGEOBJECT:
		return "LARGE OBJECT"
	case pg_query.ObjectType_OBJECT_STATISTIC_EXT:
		return "STATISTICS"
	case pg_query.ObjectType_OBJECT_TSCONFIGURATION:
		return "TEXT SEARCH CONFIGURATION"
	case pg_query.ObjectType_OBJECT_TSDICTIONARY:
		return "TEXT SEARCH DICTIONARY"
	case pg_query.ObjectType_OBJECT_TSPARSER:
		return "TEXT SEARCH PARSER"
	case pg_query.ObjectType_OBJECT_TSTEMPLATE:
		return "TEXT SEARCH TEMPLATE"
	}
	return strings.ReplaceAll(strings.TrimPrefix(t.String(), "OBJECT_"), "_", " ")
}

// listName reads a name given as a list of strings (DROP's and COMMENT
// ON's objects): [name], [schema, name] or [db, schema, name].
func listName(n *pg_query.Node) (indexdef.Name, bool) {
	l := n.GetList()
	if l == nil || len(l.Items) == 0 {
		return indexdef.Name{}, false
	}
	var parts []string
	for _, item := range l.Items {
		s := item.GetString_()
		if s == nil {
			return indexdef.Name{}, false
		}
		parts = append(parts, s.Sval)
	}
	if len(parts) == 1 {
		return indexdef.Name{Name: parts[0]}, true
	}
	return indexdef.Name{Schema: parts[len(parts)-2], Name: parts[len(parts)-1]}, true
}

// walker gathers what the whole tree holds: placeholders, calls,
// relations, writes nested in WITH, row locks, LIMIT.
type walker struct {
	p      *Parsed
	ctes   map[string]bool
	rels   []located
	params map[int]bool
	calls  []located
	writes map[string]bool
	// nestedWrites adds the row locks and data-modifying WITHs found
	// below the top statement to Writes.
	nestedWrites bool
	// top is the statement's own message.
	top proto.Message
	// sql is the whole text parsed; junk is a placeholder with trailing
	// junk found in it.
	sql  string
	junk *Error
	// typed are the normalized typed literals (`date $1`) found.
	typed []typedLiteral
}

// identByte reports whether b continues an identifier: a letter, a digit,
// '_', '$' or a byte of a multi-byte character.
func identByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '$' || b >= 0x80
}

// located is a name (a relation's, a function's) with where the
// statement writes it.
type located struct {
	at   int32
	name indexdef.Name
}

// relation adds a name to Relations; at is its offset in the text, -1 for
// a name without one (DROP's objects), which comes first.
func (w *walker) relation(n indexdef.Name, at int32) {
	w.rels = append(w.rels, located{at, n})
}

// write adds a reason to Writes, once.
func (w *walker) write(why string) {
	if w.writes == nil {
		w.writes = map[string]bool{}
		for _, x := range w.p.Writes {
			w.writes[x] = true
		}
	}
	if !w.writes[why] {
		w.writes[why] = true
		w.p.Writes = append(w.p.Writes, why)
	}
}

// lockWords are the row-locking clauses, as SQL writes them.
var lockWords = map[pg_query.LockClauseStrength]string{
	pg_query.LockClauseStrength_LCS_FORUPDATE:      "FOR UPDATE",
	pg_query.LockClauseStrength_LCS_FORNOKEYUPDATE: "FOR NO KEY UPDATE",
	pg_query.LockClauseStrength_LCS_FORSHARE:       "FOR SHARE",
	pg_query.LockClauseStrength_LCS_FORKEYSHARE:    "FOR KEY SHARE",
}

// walk visits the statement's tree once. The nodes that make up most of
// a long statement (constants, column references, lists, operators: an IN
// list of a million values) are taken without reflection.
func (w *walker) walk(n *pg_query.Node) {
	w.top = nodeMessage(n)
	w.visit(n)
	slices.Sort(w.p.Params)
	slices.SortStableFunc(w.rels, func(a, b located) int { return int(a.at) - int(b.at) })
	seen := map[indexdef.Name]bool{}
	for _, r := range w.rels {
		if r.at >= 0 && r.name.Schema == "" && w.ctes[r.name.Name] || seen[r.name] {
			// A FROM naming a WITH query reads no table.
			continue
		}
		seen[r.name] = true
		w.p.Relations = append(w.p.Relations, r.name)
	}
	slices.SortStableFunc(w.calls, func(a, b located) int { return int(a.at) - int(b.at) })
	called := map[string]bool{}
	for _, c := range w.calls {
		name := c.name.Name
		if called[name] {
			continue
		}
		called[name] = true
		w.p.Calls = append(w.p.Calls, name)
		if last := name[strings.LastIndexByte(name, '.')+1:]; w.p.OutsideTx == "" && outsideTx[last] {
			w.p.OutsideTx = last
		}
	}
}

// visit walks a node.
func (w *walker) visit(n *pg_query.Node) {
	switch v := n.GetNode().(type) {
	case nil, *pg_query.Node_AConst, *pg_query.Node_String_, *pg_query.Node_Integer, *pg_query.Node_Float,
		*pg_query.Node_Boolean, *pg_query.Node_BitString, *pg_query.Node_ColumnRef, *pg_query.Node_AStar,
		*pg_query.Node_TypeName, *pg_query.Node_SqlvalueFunction:
		// Leaves: nothing under them calls, names or writes anything.
	case *pg_query.Node_ParamRef:
		w.param(v.ParamRef)
	case *pg_query.Node_List:
		for _, item := range v.List.Items {
			w.visit(item)
		}
	case *pg_query.Node_AExpr:
		w.visit(v.AExpr.Lexpr)
		w.visit(v.AExpr.Rexpr)
	case *pg_query.Node_BoolExpr:
		for _, a := range v.BoolExpr.Args {
			w.visit(a)
		}
	case *pg_query.Node_TypeCast:
		w.typedLiteral(v.TypeCast)
		w.visit(v.TypeCast.Arg)
	case *pg_query.Node_ResTarget:
		w.visit(v.ResTarget.Val)
		for _, i := range v.ResTarget.Indirection {
			w.visit(i)
		}
	default:
		w.message(nodeMessage(n))
	}
}

// message walks a message other than a Node, by reflection.
func (w *walker) message(m proto.Message) {
	if m == nil || !m.ProtoReflect().IsValid() {
		return
	}
	w.see(m)
	m.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				w.child(l.Get(i).Message().Interface())
			}
		case fd.Message() != nil && !fd.IsMap():
			w.child(v.Message().Interface())
		}
		return true
	})
}

// child walks a field's message: a Node the fast way.
func (w *walker) child(m proto.Message) {
	if n, ok := m.(*pg_query.Node); ok {
		w.visit(n)
		return
	}
	w.message(m)
}

// param records a $n placeholder, or the junk after one.
func (w *walker) param(ref *pg_query.ParamRef) {
	if at := int(ref.Location); w.junk == nil && at >= 0 && at < len(w.sql) && w.sql[at] == '$' {
		end := at + 1
		for end < len(w.sql) && w.sql[end] >= '0' && w.sql[end] <= '9' {
			end++
		}
		if end < len(w.sql) && identByte(w.sql[end]) {
			w.junk = &Error{Kind: Invalid, Msg: "trailing junk after parameter " + w.sql[at:end], Offset: at, Line: 1 + strings.Count(w.sql[:at], "\n")}
		}
	}
	n := int(ref.Number)
	if w.params == nil {
		w.params = map[int]bool{}
	}
	if !w.params[n] {
		w.params[n] = true
		w.p.Params = append(w.p.Params, n)
	}
}

// see records what one message says.
func (w *walker) see(m proto.Message) {
	switch v := m.(type) {
	case *pg_query.CommonTableExpr:
		if w.ctes == nil {
			w.ctes = map[string]bool{}
		}
		w.ctes[v.Ctename] = true
	case *pg_query.ParamRef:
		w.param(v)
	case *pg_query.FuncCall:
		if name := funcName(v.Funcname); name != "" {
			w.calls = append(w.calls, located{v.Location, indexdef.Name{Name: name}})
		}
	case *pg_query.RangeVar:
		w.relation(indexdef.Name{Schema: v.Schemaname, Name: v.Relname}, v.Location)
	case *pg_query.SelectStmt:
		if v.LimitCount != nil || v.LimitOption == pg_query.LimitOption_LIMIT_OPTION_WITH_TIES {
			w.p.Limit = true
		}
		if !w.nestedWrites {
			break
		}
		for _, l := range v.LockingClause {
			if lc := l.GetLockingClause(); lc != nil && lockWords[lc.Strength] != "" {
				w.write(lockWords[lc.Strength])
			}
		}
		if v.IntoClause != nil && m != w.top {
			w.write("SELECT ... INTO")
		}
	case *pg_query.InsertStmt, *pg_query.UpdateStmt, *pg_query.DeleteStmt, *pg_query.MergeStmt:
		if m != w.top && w.nestedWrites {
			w.p.ModifiesData = true
			w.write(strings.ToUpper(strings.TrimSuffix(string(m.ProtoReflect().Descriptor().Name()), "Stmt")) + " in a WITH")
		}
	}
}

// funcName is a function's name as written, schema-qualified when it is.
func funcName(parts []*pg_query.Node) string {
	names := make([]string, 0, len(parts))
	for _, p := range parts {
		if s := p.GetString_(); s != nil {
			names = append(names, s.Sval)
		}
	}
	return strings.Join(names, ".")
}

// Walk visits every message under m depth first; fn returns false to skip
// a message's children. It is how a package reads a Parsed's Tree further.
func Walk(m proto.Message, fn func(proto.Message) bool) {
	if m == nil {
		return
	}
	var visit func(protoreflect.Message)
	visit = func(r protoreflect.Message) {
		if !r.IsValid() {
			return
		}
		if !fn(r.Interface()) {
			return
		}
		r.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			switch {
			case fd.IsList() && fd.Message() != nil:
				l := v.List()
				for i := 0; i < l.Len(); i++ {
					visit(l.Get(i).Message())
				}
			case fd.Message() != nil && !fd.IsMap():
				visit(v.Message())
			}
			return true
		})
	}
	visit(m.ProtoReflect())
}

// outsideTx are built-in and extension functions whose effect a READ ONLY
// transaction does not stop and a rollback does not undo: they act on other
// sessions, the server, its statistics or files. From the PostgreSQL
// documentation's "System Administration Functions" and "Statistics
// Functions", plus pg_stat_statements, pg_qualstats, dblink and adminpack.
var outsideTx = map[string]bool{
	"pg_terminate_backend": true, "pg_cancel_backend": true, "pg_reload_conf": true,
	"pg_rotate_logfile": true, "pg_switch_wal": true, "pg_create_restore_point": true,
	"pg_promote": true, "pg_log_backend_memory_contexts": true,
	"pg_stat_reset": true, "pg_stat_reset_shared": true, "pg_stat_reset_slru": true,
	"pg_stat_reset_single_table_counters": true, "pg_stat_reset_single_function_counters": true,
	"pg_stat_reset_replication_slot": true, "pg_stat_reset_subscription_stats": true,
	"pg_stat_statements_reset": true, "pg_qualstats_reset": true,
	"pg_create_physical_replication_slot": true, "pg_create_logical_replication_slot": true,
	"pg_drop_replication_slot": true, "pg_copy_physical_replication_slot": true,
	"pg_copy_logical_replication_slot": true, "pg_replication_slot_advance": true,
	"pg_logical_emit_message": true, "pg_replication_origin_create": true,
	"pg_replication_origin_drop": true, "pg_replication_origin_advance": true,
	"pg_advisory_lock": true, "pg_advisory_lock_shared": true,
	"pg_try_advisory_lock": true, "pg_try_advisory_lock_shared": true,
	"dblink": true, "dblink_exec": true, "dblink_send_query": true, "dblink_connect": true,
	"dblink_connect_u": true, "lo_import": true, "lo_export": true,
	"pg_file_write": true, "pg_file_unlink": true, "pg_file_rename": true, "pg_file_sync": true,
}
