package profiles

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// maxParam is the largest placeholder number PostgreSQL accepts: the wire
// protocol counts parameters in an int16 (src/backend/tcop/postgres.c).
const maxParam = 65535

// sqlInfo is what the scanner learns about one SQL text.
type sqlInfo struct {
	// params are the distinct placeholder numbers, ascending.
	params []int
	// first is the first keyword, upper-cased; empty for no keyword.
	first string
	// writes lists the data-changing keywords found outside literals.
	writes []string
	// statements counts the statements in the text (a text of only
	// comments has none).
	statements int
}

// ParamNumbers returns the distinct $n placeholders sql uses, ascending. It
// skips string literals (standard, E'...' and dollar-quoted), quoted
// identifiers and comments, so a '$1' inside them is not a placeholder; it
// assumes standard_conforming_strings is on, as it has been by default since
// PostgreSQL 9.1. It fails on an unterminated literal, identifier or comment
// and on a malformed placeholder.
func ParamNumbers(sql string) ([]int, error) {
	info, err := scanSQL(sql)
	if err != nil {
		return nil, err
	}
	return info.params, nil
}

// readOnlyFirst are the keywords a read-only statement may start with.
var readOnlyFirst = map[string]bool{
	"SELECT": true, "WITH": true, "VALUES": true, "TABLE": true, "SHOW": true, "EXPLAIN": true,
}

// writeWords are the keywords that make any statement change data or take
// row locks a read-only transaction refuses (SELECT ... FOR UPDATE).
var writeWords = map[string]bool{
	"INSERT": true, "UPDATE": true, "DELETE": true, "MERGE": true,
}

// scanSQL finds placeholders, the leading keyword, data-changing keywords
// and statement boundaries with PostgreSQL's lexer.
func scanSQL(sql string) (sqlInfo, error) {
	var info sqlInfo
	stmts, err := sqlscan.Split(sql)
	if err != nil {
		var se *sqlscan.Error
		if errors.As(err, &se) && !se.Unterminated() {
			// The message names the construct; the offset adds nothing.
			return info, errors.New(se.Msg)
		}
		return info, err
	}
	info.statements = len(stmts)
	seen := map[int]bool{}
	for _, s := range stmts {
		for _, t := range s.Tokens {
			switch {
			case t.Kind == sqlscan.Param:
				n, err := strconv.Atoi(t.Value)
				if err != nil || n > maxParam {
					return info, fmt.Errorf("parameter %s is out of range (1 to %d)", t.Text, maxParam)
				}
				if n == 0 {
					return info, errors.New("parameter $0: placeholders are numbered from $1")
				}
				if !seen[n] {
					seen[n] = true
					info.params = append(info.params, n)
				}
			case t.Word():
				word := strings.ToUpper(t.Value)
				if info.first == "" {
					info.first = word
				}
				if writeWords[word] && !slices.Contains(info.writes, word) {
					info.writes = append(info.writes, word)
				}
			}
		}
	}
	slices.Sort(info.params)
	return info, nil
}
