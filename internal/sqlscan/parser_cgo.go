//go:build cgo

package sqlscan

import (
	"errors"

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
	return res, syntaxError(err)
}

// ParseTree is pg_query.Parse: the raw parse tree of sql. An error the
// parser gives is a *SyntaxError.
func ParseTree(sql string) (*pg_query.ParseResult, error) {
	tree, err := pg_query.Parse(sql)
	return tree, syntaxError(err)
}

// Fingerprint is pg_query.Fingerprint: the same for statements that differ
// only in constants. An error the parser gives is a *SyntaxError.
func Fingerprint(sql string) (string, error) {
	fp, err := pg_query.Fingerprint(sql)
	return fp, syntaxError(err)
}

// syntaxError turns pg_query's error into a *SyntaxError, so callers need
// not import its parser package (which exists only with cgo).
func syntaxError(err error) error {
	var pe *parser.Error
	if errors.As(err, &pe) {
		return &SyntaxError{Message: pe.Message, Cursorpos: pe.Cursorpos}
	}
	return err
}
