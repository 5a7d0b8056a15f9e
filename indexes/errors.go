package indexes

import (
	"errors"
	"fmt"
)

// Errors callers branch on.
var (
	// ErrEmptyWorkload: no statement of the workload can be costed (the
	// source held none, or every one was skipped).
	ErrEmptyWorkload = errors.New("empty workload")
	// ErrNoHypoPG: the hypopg extension is not created in the database and
	// building real indexes was not allowed.
	ErrNoHypoPG = errors.New("hypopg is not installed")
	// ErrReadOnly: real indexes were to be built on a read-only session or
	// a standby.
	ErrReadOnly = errors.New("cannot build indexes on a read-only session")
	// ErrBadBudget: a budget that is neither a size nor a percentage.
	ErrBadBudget = errors.New("budget is not a size")
	// ErrBadWorkload: a workload source that cannot be read (a file that
	// does not open, SQL that does not split into statements).
	ErrBadWorkload = errors.New("bad workload")
)

// ParseError is a statement of a workload file that the PostgreSQL parser
// rejects. The other statements of the file go on without it.
type ParseError struct {
	// File is the workload file; empty for SQL given some other way.
	File string `json:"file,omitempty"`
	// Number counts the file's statements from 1.
	Number int `json:"number"`
	// Line is where the statement starts, from 1.
	Line int `json:"line,omitempty"`
	// Message is the parser's message ("syntax error at or near ...").
	Message string `json:"message"`
	// Position is the byte offset in the statement the parser points at,
	// from 1; 0 when it points nowhere.
	Position int `json:"position,omitempty"`
}

// Error reads "file: statement N (line L): message".
func (e *ParseError) Error() string {
	where := fmt.Sprintf("statement %d", e.Number)
	if e.Line > 0 {
		where += fmt.Sprintf(" (line %d)", e.Line)
	}
	if e.File != "" {
		where = e.File + ": " + where
	}
	return where + ": " + e.Message
}
