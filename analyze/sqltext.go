package analyze

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// Source is one SQL statement from a file or the command line.
type Source struct {
	// SQL is the statement's text without its terminating semicolon.
	SQL string `json:"sql"`
	// File and Line say where the statement starts; File is empty for a
	// statement given on the command line.
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	// Index numbers the statements of a file from 1.
	Index int `json:"index"`
	// Args are values for the statement's $n parameters, when a profile
	// supplies them; a statement from a file carries its values as
	// literals.
	Args []any `json:"-"`
}

// ErrSQLText is returned for SQL that ends inside a string, quoted name or
// comment, or that PostgreSQL's lexer refuses otherwise (a zero-length
// quoted name, trailing junk after a number).
var ErrSQLText = errors.New("unterminated SQL")

// badSQLText is an ErrSQLText for text that is complete but unlexable,
// whose message must not say "unterminated".
type badSQLText struct{ msg string }

func (e *badSQLText) Error() string        { return e.msg }
func (e *badSQLText) Is(target error) bool { return target == ErrSQLText }

// lexed is what the scanner learns about one statement.
type lexed struct {
	words    []string // keywords and identifiers outside quotes, lower case
	quoted   []string // quoted identifiers, as written between the quotes
	maxParam int      // highest $n used, 0 for none
}

// SplitSQL splits text into statements at semicolons outside strings,
// quoted names, dollar quotes and comments. Statements holding nothing but
// comments are dropped. file names the source in errors and in each Source.
func SplitSQL(file, text string) ([]Source, error) {
	stmts, err := sqlscan.Split(text)
	if err != nil {
		err = sqlTextError(err)
		if file != "" {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		return nil, err
	}
	out := make([]Source, 0, len(stmts))
	for _, s := range stmts {
		out = append(out, Source{SQL: s.Text, File: file, Line: s.Line, Index: len(out) + 1})
	}
	return out, nil
}

// sqlTextError words a lexer error for a person reading a .sql file.
func sqlTextError(err error) error {
	var se *sqlscan.Error
	if !errors.As(err, &se) {
		return &badSQLText{msg: "bad SQL: " + err.Error()}
	}
	switch se.Kind {
	case sqlscan.UnterminatedComment:
		return fmt.Errorf("%w: a /* comment is not closed (line %d)", ErrSQLText, se.Line)
	case sqlscan.UnterminatedString:
		return fmt.Errorf("%w: a string starting on line %d is not closed", ErrSQLText, se.Line)
	case sqlscan.UnterminatedQuotedIdent:
		return fmt.Errorf("%w: a quoted name starting on line %d is not closed", ErrSQLText, se.Line)
	case sqlscan.NulByte:
		return &badSQLText{msg: fmt.Sprintf("bad SQL: a NUL byte on line %d: SQL text cannot hold one (is the file binary, or UTF-16?)", se.Line)}
	case sqlscan.UnterminatedDollarQuote:
		tag, ok := strings.CutPrefix(se.Msg, "unterminated dollar-quoted string ")
		if !ok {
			tag = "dollar"
		}
		return fmt.Errorf("%w: a %s quote starting on line %d is not closed", ErrSQLText, tag, se.Line)
	}
	if se.Line > 0 {
		return &badSQLText{msg: fmt.Sprintf("bad SQL: %s (line %d)", se.Msg, se.Line)}
	}
	return &badSQLText{msg: "bad SQL: " + se.Msg}
}

// lex scans one statement (or several, taken together); errors leave an
// empty result.
func lex(query string) lexed {
	toks, err := sqlscan.Scan(query)
	if err != nil {
		return lexed{}
	}
	var l lexed
	for _, t := range toks {
		switch {
		case t.Word():
			l.words = append(l.words, t.Value)
		case t.Kind == sqlscan.QuotedIdent:
			l.quoted = append(l.quoted, t.Value)
		case t.Kind == sqlscan.Param:
			l.maxParam = max(l.maxParam, t.ParamNumber())
		}
	}
	return l
}

// first is the statement's first word, lower case, or "".
func (l lexed) first() string {
	if len(l.words) == 0 {
		return ""
	}
	return l.words[0]
}

// ParamCount is the highest $n parameter the statement uses outside
// strings and comments: a statement with any needs values or a generic
// plan.
func ParamCount(query string) int { return lex(query).maxParam }

// has reports whether the word appears outside strings and comments.
func (l lexed) has(word string) bool {
	for _, w := range l.words {
		if w == word {
			return true
		}
	}
	return false
}

// hasWrite reports whether a write keyword (INSERT, UPDATE, DELETE, MERGE)
// appears outside strings and comments.
func (l lexed) hasWrite() bool {
	for _, w := range l.words {
		switch w {
		case "insert", "update", "delete", "merge":
			return true
		}
	}
	return false
}

// Explainable reports whether EXPLAIN accepts the statement: SELECT,
// INSERT, UPDATE, DELETE, MERGE, VALUES, TABLE, WITH, EXECUTE, DECLARE and
// CREATE TABLE AS; utility statements (SET, COPY, VACUUM, BEGIN) are not.
func Explainable(query string) bool { return lex(query).explainable() }

// explainable is Explainable of the lexed statement.
func (l lexed) explainable() bool {
	if len(l.words) == 0 {
		return false
	}
	switch l.words[0] {
	case "select", "insert", "update", "delete", "merge", "values", "table", "with", "execute", "declare":
		return true
	case "create":
		return createAs(l.words[1:])
	}
	return false
}

// createAs reports whether the words after CREATE make CREATE TABLE … AS
// or CREATE MATERIALIZED VIEW … AS a query, the CREATE statements EXPLAIN
// takes (not "AS IDENTITY" in a column definition).
func createAs(words []string) bool {
	i := 0
	for i < len(words) {
		switch words[i] {
		case "global", "local", "temp", "temporary", "unlogged":
			i++
			continue
		}
		break
	}
	switch {
	case i < len(words) && words[i] == "table":
	case i+1 < len(words) && words[i] == "materialized" && words[i+1] == "view":
	default:
		return false
	}
	for j := i; j+1 < len(words); j++ {
		if words[j] == "as" {
			switch words[j+1] {
			case "select", "with", "values", "table", "execute":
				return true
			}
		}
	}
	return false
}

// ReadOnlyQuery reports whether the statement is a plain query that can run
// in a READ ONLY transaction: SELECT, VALUES, TABLE or WITH without a write,
// with no row locks (FOR UPDATE/SHARE) and no INTO. EXPLAIN ANALYZE of
// anything else runs in a READ WRITE transaction that is rolled back. A
// wrong answer is never unsafe: a write classed as read-only fails in the
// READ ONLY transaction, and a read classed as a write is rolled back.
func ReadOnlyQuery(query string) bool { return lex(query).readOnly() }

// readOnly is ReadOnlyQuery of the lexed statement.
func (l lexed) readOnly() bool {
	if len(l.words) == 0 {
		return false
	}
	switch l.words[0] {
	case "select", "values", "table", "with":
	default:
		return false
	}
	for i, w := range l.words {
		switch w {
		case "insert", "update", "delete", "merge", "into":
			return false
		case "for":
			if i+1 < len(l.words) {
				switch l.words[i+1] {
				case "share", "no", "key":
					return false
				}
			}
		}
	}
	return true
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

// OutsideTransaction returns the first function the statement names whose
// effect neither a READ ONLY transaction nor a rollback contains
// (pg_terminate_backend, pg_stat_statements_reset, dblink_exec, ...), or ""
// for none. Such a statement must not be executed by analyze or bench: it
// is explained without ANALYZE, or refused. A function reached through a
// view or another function is not seen; a role without the privileges
// (analyze needs only pg_monitor) is the guard for those.
func OutsideTransaction(query string) string { return lex(query).outsideTransaction() }

// outsideTransaction is OutsideTransaction of the lexed statement.
func (l lexed) outsideTransaction() string {
	for _, w := range l.words {
		if outsideTx[w] {
			return w
		}
	}
	for _, w := range l.quoted {
		if outsideTx[w] {
			return w
		}
	}
	return ""
}
