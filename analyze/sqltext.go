package analyze

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

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
	// Name and Weight are what `-- name: x` and `-- weight: n` comment
	// lines right above the statement in its file say: its name, and how
	// many times the application sends it (per 1,000 requests, or any
	// other unit: weights only count against one another). Weight is nil
	// when no comment gives it.
	Name   string   `json:"name,omitempty"`
	Weight *float64 `json:"weight,omitempty"`
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

// ErrAnnotation is a `-- weight:` comment that does not give a weight.
var ErrAnnotation = errors.New("bad annotation")

// annotation is a `-- key: value` comment line.
var annotation = regexp.MustCompile(`^\s*--\s*([a-z_]+):\s*(.*?)\s*$`)

// annotationsAbove reads the `-- key: value` comment lines right above a
// statement starting on line (1-based): up through the comment and blank
// lines before it, the nearest line of a key counting.
func annotationsAbove(lines []string, line int) map[string]string {
	out := map[string]string{}
	for i := line - 2; i >= 0 && i < len(lines); i-- {
		l := strings.TrimSpace(lines[i])
		if l != "" && !strings.HasPrefix(l, "--") {
			break
		}
		if m := annotation.FindStringSubmatch(l); m != nil {
			if _, ok := out[m[1]]; !ok {
				out[m[1]] = m[2]
			}
		}
	}
	return out
}

// SplitSQL splits text into statements at semicolons outside strings,
// quoted names, dollar quotes and comments. Statements holding nothing but
// comments are dropped. file names the source in errors and in each Source.
// The `-- name:` and `-- weight:` comments above a statement give its Name
// and Weight; a weight that is not a number of 0 or more is an
// ErrAnnotation.
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
	lines := strings.Split(text, "\n")
	for _, s := range stmts {
		src := Source{SQL: s.Text, File: file, Line: s.Line, Index: len(out) + 1}
		notes := annotationsAbove(lines, s.Line)
		src.Name = notes["name"]
		if v, ok := notes["weight"]; ok {
			w, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
				where := fmt.Sprintf("line %d", s.Line)
				if file != "" {
					where = file + ":" + strconv.Itoa(s.Line)
				}
				return nil, fmt.Errorf("%w: %s: -- weight: %q is not a number of 0 or more (how many times the application sends the statement, against the others' weights)", ErrAnnotation, where, v)
			}
			src.Weight = &w
		}
		out = append(out, src)
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

// trimSQL is a statement's text as it is explained and classified: no
// surrounding white space, no terminating semicolon.
func trimSQL(sql string) string {
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(sql), ";"))
}

// syntaxErrorCode is PostgreSQL's SQLSTATE for a syntax error, which the
// parser's refusal of a statement is, as the server would say it.
const syntaxErrorCode = "42601"

// classify asks internal/sqlscan what the statement of src is, for
// EXPLAIN. A statement the parser refuses is the *SQLError the server
// would give for it (message, line and column); an empty one is
// ErrNotExplainable; text holding several statements is an *SQLError too.
// The tree is dropped: analyze reads no further.
func classify(src Source) (*sqlscan.Parsed, error) {
	st, err := sqlscan.ParseOne(src.SQL)
	var (
		se *sqlscan.SyntaxError
		ce *sqlscan.CountError
	)
	switch {
	case err == nil:
		st.Tree = nil
		return &st, nil
	case errors.As(err, &se):
		x := &SQLError{Source: src, Code: syntaxErrorCode, Message: se.Msg}
		if se.Offset >= 0 {
			x.Line, x.Column = lineCol(src.SQL, utf8.RuneCountInString(src.SQL[:se.Offset]))
			if src.Line > 0 {
				x.Line += src.Line - 1
			}
		}
		return nil, x
	case errors.As(err, &ce) && ce.N == 0:
		return nil, ErrNotExplainable
	case errors.As(err, &ce):
		return nil, &SQLError{Source: src, Code: syntaxErrorCode, Message: fmt.Sprintf("%d statements in one: explain them one at a time", ce.N)}
	}
	return nil, sqlTextError(err)
}
