package profiles

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
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

func isIdentStart(c byte) bool {
	return c == '_' || c >= 0x80 || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isIdentChar(c byte) bool {
	return isIdentStart(c) || c == '$' || ('0' <= c && c <= '9')
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// errUnterminated wraps the messages of unterminated constructs.
var errUnterminated = errors.New("unterminated")

// scanSQL lexes sql just enough to find placeholders, the leading keyword,
// data-changing keywords and statement boundaries.
func scanSQL(sql string) (sqlInfo, error) {
	var info sqlInfo
	seen := map[int]bool{}
	inStatement := false // a token of the current statement was seen
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case isSpace(c):
			i++
			continue
		case c == '-' && strings.HasPrefix(sql[i:], "--"):
			if j := strings.IndexByte(sql[i:], '\n'); j >= 0 {
				i += j + 1
			} else {
				i = len(sql)
			}
			continue
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			// Block comments nest in PostgreSQL.
			depth, j := 1, i+2
			for depth > 0 {
				switch {
				case j >= len(sql):
					return info, fmt.Errorf("%w comment starting at offset %d", errUnterminated, i)
				case strings.HasPrefix(sql[j:], "/*"):
					depth++
					j += 2
				case strings.HasPrefix(sql[j:], "*/"):
					depth--
					j += 2
				default:
					j++
				}
			}
			i = j
			continue
		case c == ';':
			inStatement = false
			i++
			continue
		}
		if !inStatement {
			inStatement = true
			info.statements++
		}
		switch {
		case c == '\'':
			j, err := skipQuoted(sql, i, '\'', false)
			if err != nil {
				return info, err
			}
			i = j
		case c == '"':
			j, err := skipQuoted(sql, i, '"', false)
			if err != nil {
				return info, err
			}
			i = j
		case isIdentStart(c):
			j := i + 1
			for j < len(sql) && isIdentChar(sql[j]) {
				j++
			}
			word := strings.ToUpper(sql[i:j])
			if j < len(sql) && sql[j] == '\'' && word == "E" {
				// E'...': backslash escapes.
				k, err := skipQuoted(sql, j, '\'', true)
				if err != nil {
					return info, err
				}
				i = k
				continue
			}
			if info.first == "" {
				info.first = word
			}
			if writeWords[word] && !slices.Contains(info.writes, word) {
				info.writes = append(info.writes, word)
			}
			i = j
		case isDigit(c):
			// A number (1, 1.5, 1e-3): its letters must not start a word.
			j := i + 1
			for j < len(sql) && (isIdentChar(sql[j]) || sql[j] == '.') {
				j++
			}
			i = j
		case c == '$':
			j, n, err := scanDollar(sql, i)
			if err != nil {
				return info, err
			}
			if n > 0 && !seen[n] {
				seen[n] = true
				info.params = append(info.params, n)
			}
			i = j
		default:
			i++
		}
	}
	slices.Sort(info.params)
	return info, nil
}

// skipQuoted returns the offset just past the literal or identifier opening
// at sql[start] == quote; a doubled quote stands for itself, and with
// backslash a backslash escapes the next character.
func skipQuoted(sql string, start int, quote byte, backslash bool) (int, error) {
	for j := start + 1; j < len(sql); j++ {
		switch sql[j] {
		case '\\':
			if backslash {
				j++
			}
		case quote:
			if j+1 < len(sql) && sql[j+1] == quote {
				j++
				continue
			}
			return j + 1, nil
		}
	}
	what := "string literal"
	if quote == '"' {
		what = "quoted identifier"
	}
	return 0, fmt.Errorf("%w %s starting at offset %d", errUnterminated, what, start)
}

// scanDollar reads what starts at sql[start] == '$': a placeholder (n > 0),
// a dollar-quoted string (skipped whole) or a lone '$'. It returns the
// offset past it.
func scanDollar(sql string, start int) (end, n int, err error) {
	j := start + 1
	if j < len(sql) && isDigit(sql[j]) {
		for j < len(sql) && isDigit(sql[j]) {
			j++
		}
		if j < len(sql) && isIdentChar(sql[j]) {
			return 0, 0, fmt.Errorf("trailing junk after parameter %s", sql[start:j])
		}
		n, err := strconv.Atoi(sql[start+1 : j])
		if err != nil || n > maxParam {
			return 0, 0, fmt.Errorf("parameter %s is out of range (1 to %d)", sql[start:j], maxParam)
		}
		if n == 0 {
			return 0, 0, errors.New("parameter $0: placeholders are numbered from $1")
		}
		return j, n, nil
	}
	// A dollar quote's tag is empty or an identifier without '$'.
	for j < len(sql) && isIdentChar(sql[j]) && sql[j] != '$' {
		j++
	}
	if j >= len(sql) || sql[j] != '$' {
		return start + 1, 0, nil
	}
	tag := sql[start : j+1]
	k := strings.Index(sql[j+1:], tag)
	if k < 0 {
		return 0, 0, fmt.Errorf("%w dollar-quoted string %s starting at offset %d", errUnterminated, tag, start)
	}
	return j + 1 + k + len(tag), 0, nil
}
