package sqlscan

import "errors"

// ErrNoParser is returned by every function that needs PostgreSQL's own
// lexer and parser (pg_query, which is C) in a binary built without cgo:
// the rest of the tool builds and vets on any system, but SQL text cannot
// be read there.
var ErrNoParser = errors.New("built without cgo: the SQL parser is not available; build with CGO_ENABLED=1")
