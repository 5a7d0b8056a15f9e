//go:build cgo

package sqlscan

import (
	"errors"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"github.com/pganalyze/pg_query_go/v6/parser"
)

// This file and parser_nocgo.go hold every call of pg_query's C functions
// in the module: other packages call these, so a build without cgo needs
// only that file's stand-ins (make vet cross-builds for darwin without
// cgo, and scripts/archcheck refuses a call of pg_query's functions
// outside this package).

// RawScan is pg_query.Scan: the lexer's tokens of sql, keyword kinds
// included. An error the lexer gives is a *SyntaxError.
func RawScan(sql string) (*pg_query.ScanResult, error) {
	res, err := pg_query.Scan(sql)
	return res, syntaxError(sql, err)
}

// ParseTree is pg_query.Parse: the raw parse tree of sql. An error the
// parser gives is a *SyntaxError.
func ParseTree(sql string) (*pg_query.ParseResult, error) {
	tree, err := pg_query.Parse(sql)
	return tree, syntaxError(sql, err)
}

// Fingerprint is pg_query.Fingerprint: the same for statements that differ
// only in constants. An error the parser gives is a *SyntaxError.
func Fingerprint(sql string) (string, error) {
	fp, err := pg_query.Fingerprint(sql)
	return fp, syntaxError(sql, err)
}

// deparse is pg_query.Deparse: SQL text for a parse tree.
func deparse(tree *pg_query.ParseResult) (string, error) {
	return pg_query.Deparse(tree)
}

// syntaxError turns pg_query's error about sql into a *SyntaxError, with
// the byte offset and line it points at, so callers need not import its
// parser package (which exists only with cgo).
func syntaxError(sql string, err error) error {
	if err == nil {
		return nil
	}
	var pe *parser.Error
	if !errors.As(err, &pe) {
		return &SyntaxError{Msg: err.Error(), Offset: -1}
	}
	msg := pe.Message
	if i := strings.IndexAny(msg, "\r\n"); i >= 0 {
		msg = msg[:i]
	}
	e := &SyntaxError{Msg: msg, Offset: -1}
	if pe.Cursorpos > 0 {
		e.Offset = charToByte(sql, pe.Cursorpos-1)
		e.Line = 1 + strings.Count(sql[:e.Offset], "\n")
	}
	return e
}
