// Package sqlscan splits SQL text into tokens and statements with
// PostgreSQL's own lexer (pg_query's scanner, the server's scan.l), so
// strings, dollar quotes, quoted identifiers, nested comments, $n
// placeholders and keywords are told apart exactly as the server tells
// them apart. It assumes standard_conforming_strings is on, as it has been
// by default since PostgreSQL 9.1.
package sqlscan

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// Kind is the kind of a token.
type Kind int

// Token kinds. Comments and white space are not tokens.
const (
	// Keyword is an unquoted word the lexer knows as a keyword (SELECT,
	// index, nulls), reserved or not.
	Keyword Kind = iota
	// Ident is an unquoted identifier that is not a keyword.
	Ident
	// QuotedIdent is a "quoted identifier" or U&"..." identifier.
	QuotedIdent
	// String is a string constant: '...', E'...', $tag$...$tag$, B'...',
	// X'...' or U&'...'.
	String
	// Number is an integer or numeric constant.
	Number
	// Param is a $n placeholder.
	Param
	// Op is an operator, including ::, <=, => and single-character ones.
	Op
	// Punct is one of ( ) , ; . [ ].
	Punct
)

var kindNames = [...]string{"keyword", "identifier", "quoted identifier", "string", "number", "parameter", "operator", "punctuation"}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Token is one lexical token of SQL text.
type Token struct {
	Kind Kind
	// Text is the token as written.
	Text string
	// Value is the lower-cased word for a Keyword or Ident (ASCII letters
	// only, as PostgreSQL folds names in UTF-8), the name between the quotes
	// with "" undoubled for a QuotedIdent (Unicode escapes of U&"..." are
	// left as written), the number after '$' for a Param, and Text for the
	// others.
	Value string
	// Start and End are the byte offsets of the token in the text; End is
	// just past it.
	Start, End int
	// Line is the 1-based line the token starts on.
	Line int
}

// Word reports whether the token is an unquoted word: a keyword or an
// identifier.
func (t Token) Word() bool { return t.Kind == Keyword || t.Kind == Ident }

// Is reports whether the token is the unquoted word w (lower case).
func (t Token) Is(w string) bool { return t.Word() && t.Value == w }

// Name reports whether the token can name something: a word or a quoted
// identifier.
func (t Token) Name() bool { return t.Word() || t.Kind == QuotedIdent }

// ParamNumber is the n of a $n placeholder, 0 for another token or for a
// number too large for an int.
func (t Token) ParamNumber() int {
	if t.Kind != Param {
		return 0
	}
	n, err := strconv.Atoi(t.Value)
	if err != nil {
		return 0
	}
	return n
}

// ErrorKind says what made text unscannable.
type ErrorKind int

// Error kinds: the four unterminated constructs, and anything else the
// lexer refuses.
const (
	UnterminatedString ErrorKind = iota + 1
	UnterminatedQuotedIdent
	UnterminatedComment
	UnterminatedDollarQuote
	// Invalid is text PostgreSQL refuses to lex: a zero-length quoted
	// identifier, trailing junk after a number or parameter, a bad escape.
	Invalid
	// NulByte is text holding a NUL byte anywhere, even in a comment: the
	// protocol sends SQL as C strings, so the server refuses the whole
	// message (08P01), and a NUL in a .sql file means it is binary or
	// UTF-16, not SQL.
	NulByte
)

// Error is text the lexer refuses.
type Error struct {
	Kind ErrorKind
	// Msg says what is wrong in one line, without a position:
	// "unterminated string literal", "unterminated dollar-quoted string
	// $fn$", "zero-length quoted identifier".
	Msg string
	// Offset is the byte offset of the offending construct's start, -1 when
	// the lexer does not say (an invalid byte sequence).
	Offset int
	// Line is the 1-based line of Offset, 0 when Offset is -1.
	Line int
}

func (e *Error) Error() string {
	switch {
	case e.Offset < 0:
		return e.Msg
	case e.Unterminated():
		return fmt.Sprintf("%s starting at offset %d", e.Msg, e.Offset)
	}
	return fmt.Sprintf("%s at offset %d", e.Msg, e.Offset)
}

// Unterminated reports whether the text ends inside a string, quoted
// identifier, comment or dollar quote.
func (e *Error) Unterminated() bool {
	return e.Kind >= UnterminatedString && e.Kind <= UnterminatedDollarQuote
}

// Scan lexes sql into tokens, dropping comments and white space. Text
// holding a NUL byte is refused with an *Error of Kind NulByte and its line.
// Without cgo it returns ErrNoParser.
func Scan(sql string) ([]Token, error) {
	if i := strings.IndexByte(sql, 0); i >= 0 {
		return nil, &Error{Kind: NulByte, Msg: `NUL byte (\0) in the SQL text`, Offset: i, Line: 1 + strings.Count(sql[:i], "\n")}
	}
	res, err := RawScan(sql)
	if errors.Is(err, ErrNoParser) {
		return nil, err
	}
	if err != nil {
		return nil, scanError(sql, err)
	}
	toks := make([]Token, 0, len(res.Tokens))
	line, lineAt := 1, 0
	for _, st := range res.Tokens {
		start, end := int(st.Start), int(st.End)
		if start < 0 || end > len(sql) || start > end {
			return nil, &Error{Kind: Invalid, Msg: fmt.Sprintf("lexer returned a token outside the text (%d-%d)", start, end), Offset: -1}
		}
		line += strings.Count(sql[lineAt:start], "\n")
		lineAt = start
		t := Token{Text: sql[start:end], Start: start, End: end, Line: line}
		t.Value = t.Text
		switch tok := st.Token; {
		case tok == pg_query.Token_SQL_COMMENT || tok == pg_query.Token_C_COMMENT:
			continue
		case st.KeywordKind != pg_query.KeywordKind_NO_KEYWORD:
			t.Kind, t.Value = Keyword, foldName(t.Text)
		case tok == pg_query.Token_IDENT && strings.HasPrefix(t.Text, `"`):
			t.Kind, t.Value = QuotedIdent, unquote(t.Text[1:])
		case tok == pg_query.Token_IDENT:
			t.Kind, t.Value = Ident, foldName(t.Text)
		case tok == pg_query.Token_UIDENT:
			// U&"...": the name starts after U&".
			t.Kind, t.Value = QuotedIdent, unquote(t.Text[min(3, len(t.Text)):])
		case tok == pg_query.Token_SCONST || tok == pg_query.Token_USCONST || tok == pg_query.Token_BCONST || tok == pg_query.Token_XCONST:
			t.Kind = String
		case tok == pg_query.Token_ICONST || tok == pg_query.Token_FCONST:
			t.Kind = Number
		case tok == pg_query.Token_PARAM:
			t.Kind, t.Value = Param, t.Text[1:]
		case len(t.Text) == 1 && strings.Contains("(),;.[]", t.Text):
			t.Kind = Punct
		default:
			t.Kind = Op
		}
		if n := len(toks); n > 0 && toks[n-1].Kind == Param && toks[n-1].End == t.Start && t.Word() {
			// PostgreSQL 15 and later refuse $1abc; this lexer reads
			// $1 and abc.
			p := toks[n-1]
			return nil, &Error{Kind: Invalid, Msg: "trailing junk after parameter " + p.Text, Offset: p.Start, Line: p.Line}
		}
		toks = append(toks, t)
	}
	return toks, nil
}

// foldName lower-cases an unquoted name the way PostgreSQL does in UTF-8:
// ASCII letters only.
func foldName(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// unquote returns the name of a quoted identifier from just after its
// opening quote: up to the closing quote, doubled quotes undoubled.
func unquote(s string) string {
	s = strings.TrimSuffix(s, `"`)
	return strings.ReplaceAll(s, `""`, `"`)
}

// scanError turns the lexer's error into an *Error.
func scanError(sql string, err error) error {
	var pe *SyntaxError
	if !errors.As(err, &pe) {
		return &Error{Kind: Invalid, Msg: err.Error(), Offset: -1}
	}
	msg := pe.Msg
	// scan.l appends the rest of the text: `at or near "'abc..."`.
	if i := strings.Index(msg, " at or near "); i >= 0 {
		msg = msg[:i]
	}
	msg = strings.TrimSuffix(msg, " at end of input")
	if i := strings.IndexAny(msg, "\r\n"); i >= 0 {
		msg = msg[:i]
	}
	e := &Error{Kind: Invalid, Msg: msg, Offset: pe.Offset, Line: pe.Line}
	switch msg {
	case "unterminated quoted string":
		e.Kind, e.Msg = UnterminatedString, "unterminated string literal"
	case "unterminated quoted identifier":
		e.Kind = UnterminatedQuotedIdent
	case "unterminated /* comment":
		e.Kind, e.Msg = UnterminatedComment, "unterminated comment"
	case "unterminated dollar-quoted string":
		e.Kind = UnterminatedDollarQuote
		if e.Offset >= 0 {
			if tag := dollarTag(sql[e.Offset:]); tag != "" {
				e.Msg += " " + tag
			}
		}
	case "unterminated bit string literal", "unterminated hexadecimal string literal":
		e.Kind = UnterminatedString
	case "zero-length delimited identifier":
		e.Msg = "zero-length quoted identifier"
	}
	return e
}

// charToByte converts the character position PostgreSQL reports (counted
// with pg_mblen in UTF-8) to a byte offset.
func charToByte(sql string, chars int) int {
	off := 0
	for ; chars > 0 && off < len(sql); chars-- {
		switch c := sql[off]; {
		case c&0xe0 == 0xc0:
			off += 2
		case c&0xf0 == 0xe0:
			off += 3
		case c&0xf8 == 0xf0:
			off += 4
		default:
			off++
		}
	}
	return min(off, len(sql))
}

// dollarTag returns the $tag$ opening s, or "": a tag is empty or an
// identifier without $ (letters, digits but not first, _, bytes above
// 0x7f), as scan.l's dolq_start and dolq_cont say.
func dollarTag(s string) string {
	if !strings.HasPrefix(s, "$") {
		return ""
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '$':
			return s[:i+1]
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c >= 0x80, i > 1 && '0' <= c && c <= '9':
		default:
			return ""
		}
	}
	return ""
}

// space is what PostgreSQL's lexer takes for white space.
const space = " \t\n\r\f\v"

// Statement is one statement of a text split at its semicolons.
type Statement struct {
	// Text is the statement without its semicolon, trimmed of white space;
	// comments before its first token are left out, comments after it kept.
	Text string
	// Start is the byte offset of Text in the whole text.
	Start int
	// Line is the 1-based line the statement starts on.
	Line int
	// Tokens are the statement's tokens, offsets in the whole text.
	Tokens []Token
}

// Split splits sql into statements at its semicolons (those outside
// strings, quoted identifiers, dollar quotes and comments), dropping
// statements of nothing but comments and white space. A semicolon inside
// a BEGIN ATOMIC function body splits it too.
func Split(sql string) ([]Statement, error) {
	toks, err := Scan(sql)
	if err != nil {
		return nil, err
	}
	var out []Statement
	from := 0
	flush := func(i, end int) {
		if i > from {
			first := toks[from]
			// The text starts at a token; only PostgreSQL's white space
			// can end it.
			text := strings.TrimRight(sql[first.Start:end], space)
			out = append(out, Statement{Text: text, Start: first.Start, Line: first.Line, Tokens: toks[from:i:i]})
		}
		from = i + 1
	}
	for i, t := range toks {
		if t.Kind == Punct && t.Text == ";" {
			flush(i, t.Start)
		}
	}
	flush(len(toks), len(sql))
	return out, nil
}
