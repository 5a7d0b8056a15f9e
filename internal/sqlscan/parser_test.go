//go:build cgo

package sqlscan

import (
	"errors"
	"testing"
)

// TestParserErrorsAreSyntaxErrors: what pg_query's lexer and parser
// refuse comes back as a *SyntaxError with the server's message and the
// character position it points at, from each of the calls other packages
// make, so that they need not import pg_query's cgo-only parser package.
func TestParserErrorsAreSyntaxErrors(t *testing.T) {
	for name, call := range map[string]func() error{
		"ParseTree":   func() error { _, err := ParseTree("SELECT * FRM t"); return err },
		"Fingerprint": func() error { _, err := Fingerprint("SELECT * FRM t"); return err },
	} {
		var se *SyntaxError
		if err := call(); !errors.As(err, &se) || se.Message != `syntax error at or near "FRM"` || se.Cursorpos != 10 {
			t.Errorf("%s: %#v; want a *SyntaxError at or near \"FRM\", position 10", name, err)
		}
	}
	var se *SyntaxError
	if _, err := RawScan("SELECT 'abc"); !errors.As(err, &se) || se.Cursorpos != 8 {
		t.Errorf("RawScan: %#v; want a *SyntaxError at position 8", err)
	}
	if tree, err := ParseTree("SELECT 1; SELECT 2"); err != nil || len(tree.Stmts) != 2 {
		t.Errorf("ParseTree of two statements: %v, %v", tree, err)
	}
}
