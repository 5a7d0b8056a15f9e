package sqlscan

import "errors"

// ErrNoParser is returned by every function that needs PostgreSQL's own
// lexer and parser (pg_query, which is C) in a binary built without cgo:
// the rest of the tool builds and vets on any system, but SQL text cannot
// be read there.
var ErrNoParser = errors.New("built without cgo: the SQL parser is not available; build with CGO_ENABLED=1")

// SyntaxError is text PostgreSQL's lexer or parser refuses, as pg_query
// reports it.
type SyntaxError struct {
	// Message is the server's message ("syntax error at or near ...").
	Message string
	// Cursorpos is the 1-based character (not byte) position the error
	// points at, 0 when there is none.
	Cursorpos int
}

func (e *SyntaxError) Error() string { return e.Message }
