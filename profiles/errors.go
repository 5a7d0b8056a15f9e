package profiles

import (
	"errors"
	"fmt"
)

// ErrNotFound is returned by Load for a name that is neither a built-in
// profile nor an existing file.
var ErrNotFound = errors.New("no such profile")

// Error is a problem with a profile's text: bad YAML, an unknown field, or a
// value that does not validate. Line and Column are 1-based and point at the
// offending node; a problem with the whole file points at 1:1.
type Error struct {
	// File is the file name given to Parse (profiles/NAME.yaml for a
	// built-in profile).
	File string `json:"file"`
	// Line and Column locate the problem.
	Line   int `json:"line"`
	Column int `json:"column"`
	// Msg says what is wrong, on one line.
	Msg string `json:"message"`
}

// Error returns "file:line:column: message".
func (e *Error) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
}
