//go:build !cgo

package sqlscan

import (
	"errors"
	"testing"
)

// TestWithoutCgoEveryParserCallSaysErrNoParser: in a build without cgo,
// every call that needs pg_query returns ErrNoParser, Scan and Split
// included, rather than a lexer error that would blame the SQL. make vet
// runs it with CGO_ENABLED=0.
func TestWithoutCgoEveryParserCallSaysErrNoParser(t *testing.T) {
	for name, call := range map[string]func() error{
		"RawScan":     func() error { _, err := RawScan("SELECT 1"); return err },
		"ParseTree":   func() error { _, err := ParseTree("SELECT 1"); return err },
		"Fingerprint": func() error { _, err := Fingerprint("SELECT 1"); return err },
		"Scan":        func() error { _, err := Scan("SELECT 1"); return err },
		"Split":       func() error { _, err := Split("SELECT 1; SELECT 2"); return err },
	} {
		if err := call(); !errors.Is(err, ErrNoParser) {
			t.Errorf("%s: %v; want ErrNoParser", name, err)
		}
	}
}
