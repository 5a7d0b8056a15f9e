package indexes

import (
	"errors"
	"fmt"
	"strconv"
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

// Option names an option of Options that a message of the package refers
// to. Its value is the field's name; a command words the message with the
// flag that sets the option instead (NoHypoPGError.Message,
// Options.OptionName), so that no message here names a flag.
type Option string

// The options messages refer to.
const (
	OptAllowBuild     Option = "AllowBuild"
	OptMinImprovement Option = "MinImprovement"
	OptMaxIndexes     Option = "MaxIndexes"
	OptMinStatsAge    Option = "MinStatsAge"
)

// optionField names an option by its field: the default wording.
func optionField(o Option) string { return string(o) }

// NoHypoPGError is ErrNoHypoPG with what to do: create the extension in
// Database when the server has it (Available), else install it, or cost
// with real indexes (OptAllowBuild).
type NoHypoPGError struct {
	Database  string
	Available bool
	// Major is the server's major version, which names its package.
	Major int
}

func (e *NoHypoPGError) Error() string { return e.Message(optionField) }

func (e *NoHypoPGError) Unwrap() error { return ErrNoHypoPG }

// Message says what is missing and what to do, naming the option that
// costs with real indexes with name.
func (e *NoHypoPGError) Message(name func(Option) string) string {
	orBuild := fmt.Sprintf("(or pass %s to cost with real indexes built in a rolled-back transaction)", name(OptAllowBuild))
	if e.Available {
		return fmt.Sprintf("%v in database %s: it is available on the server; run CREATE EXTENSION hypopg; %s", ErrNoHypoPG, e.Database, orBuild)
	}
	major := "<version>"
	if e.Major > 0 {
		major = strconv.Itoa(e.Major)
	}
	return fmt.Sprintf("%v on the server: install it on the server's machine (Debian and Ubuntu: apt-get install postgresql-%s-hypopg; elsewhere your system's HypoPG package for PostgreSQL %s, or HypoPG built from source with this server's pg_config), then run CREATE EXTENSION hypopg; in database %s %s", ErrNoHypoPG, major, major, e.Database, orBuild)
}

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
