package migrate

import (
	"errors"
	"testing"
)

// TestCheckFragment: comments are found by PostgreSQL's lexer, so "--" in
// a string or a quoted name is not one and "--" ending at a carriage return
// is.
func TestCheckFragment(t *testing.T) {
	for x, want := range map[string]string{
		"a = 1":                 "",
		"a = '--x' AND b = 2":   "",
		`"we--ird" IS NOT NULL`: "",
		"a = $$ /* $$":          "",
		"a = 1 -- why":          "contains a comment",
		"a /* why */ = 1":       "contains a comment",
		"a = 1 --\r":            "contains a comment",
		"a = 1; DROP TABLE t":   "contains ';'",
		"(a = 1":                "unbalanced parentheses",
		"a = 'open":             "unterminated string literal starting at offset 4",
	} {
		got := ""
		if err := checkFragment(x); err != nil {
			got = err.Error()
		}
		if got != want {
			t.Errorf("checkFragment(%q) = %q, want %q", x, got, want)
		}
	}
	if _, err := lex("a = 'open"); !errors.Is(err, errUnterminated) {
		t.Errorf("lex of an open string: %v, want errUnterminated", err)
	}
	if _, err := lex(`""`); err == nil || errors.Is(err, errUnterminated) {
		t.Errorf(`lex of "": %v, want an error other than errUnterminated`, err)
	}
}
