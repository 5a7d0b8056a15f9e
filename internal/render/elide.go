package render

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text output shortens what no one reads in a terminal: the array literal
// EXPLAIN prints for an IN list of a hundred thousand values, a chain of
// thousands of ORs. JSON output keeps every character.
const (
	// LiteralElideAt is the length in characters, quotes included, past
	// which a quoted literal ('…') is shown as its start and end: a
	// timestamp, a UUID or a short list stay whole.
	LiteralElideAt = 120
	// literalHead and literalTail are how many characters of an elided
	// literal stay: enough to see its type and first values, and where
	// it ends.
	literalHead, literalTail = 60, 20
	// LineElideAt is the length in characters past which a whole line
	// (a node's condition, after its literals were shortened) is shown as
	// its start and end: an IN list of expressions or an OR chain has no
	// literal to shorten.
	LineElideAt = 1000
	// lineHead and lineTail are how many characters of an elided line stay.
	lineHead, lineTail = 600, 200
)

// Elide shortens s for text output: every quoted literal longer than
// LiteralElideAt characters becomes its first and last characters around
// "…[N characters elided]…", and then, if s is still longer than
// LineElideAt characters, s itself is cut the same way. It is linear in the
// length of s.
func Elide(s string) string {
	s = elideLiterals(s)
	if n := utf8.RuneCountInString(s); n > LineElideAt {
		return cutMiddle(s, n, lineHead, lineTail)
	}
	return s
}

// elideLiterals shortens the long quoted literals of s. A literal opens at a
// single quote that does not follow a letter or digit (so the apostrophe of
// "table's" opens nothing) and closes at the next single quote not doubled.
func elideLiterals(s string) string {
	if !strings.Contains(s, "'") {
		return s
	}
	var b strings.Builder
	last := 0 // bytes of s written to b
	prev := rune(0)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r != '\'' || unicode.IsLetter(prev) || unicode.IsDigit(prev) {
			prev = r
			i += size
			continue
		}
		// A literal from i: find its closing quote, counting characters.
		j, runes := i+1, 1
		closed := false
		for j < len(s) {
			c, sz := utf8.DecodeRuneInString(s[j:])
			j += sz
			runes++
			if c == '\'' {
				if j < len(s) && s[j] == '\'' {
					j++
					runes++
					continue
				}
				closed = true
				break
			}
		}
		if !closed {
			break
		}
		if runes > LiteralElideAt {
			b.WriteString(s[last:i])
			b.WriteString(cutMiddle(s[i:j], runes, literalHead, literalTail))
			last = j
		}
		prev = '\''
		i = j
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// cutMiddle is s, n characters long, as its first head and last tail
// characters around a mark saying how many were left out.
func cutMiddle(s string, n, head, tail int) string {
	if n <= head+tail {
		return s
	}
	h := byteOffset(s, head)
	t := byteOffset(s, n-tail)
	return s[:h] + "…[" + thousands(n-head-tail) + " characters elided]…" + s[t:]
}

// byteOffset is the byte index of s's k-th character (from 0).
func byteOffset(s string, k int) int {
	i := 0
	for ; k > 0 && i < len(s); k-- {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return i
}

// thousands writes n with a comma between groups of three digits: the
// exact count an elision mark gives is read at a glance.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
