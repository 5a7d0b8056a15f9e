package sqlscan

import (
	"sort"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// typedLiteral is a typed literal whose string a normalizer replaced
// with a placeholder: `timestamptz $3` where the application sent
// `timestamptz '2026-06-01'`.
type typedLiteral struct {
	// typeAt and paramAt are the byte offsets of the type name and of the
	// placeholder in the whole text parsed.
	typeAt, paramAt int
	// interval is set for an INTERVAL, whose fields (DAY, HOUR TO MINUTE,
	// SECOND(3)) follow the placeholder.
	interval bool
}

// typedLiteral records a cast written as a typed literal of a placeholder:
// the type name comes before the placeholder (`date $1`), where a cast
// written `$1::date` or `CAST($1 AS date)` has it after.
func (w *walker) typedLiteral(tc *pg_query.TypeCast) {
	pr := tc.Arg.GetParamRef()
	if pr == nil || tc.TypeName == nil || tc.TypeName.Location < 0 || tc.TypeName.Location >= pr.Location {
		return
	}
	names := tc.TypeName.Names
	interval := len(names) > 0 && names[len(names)-1].GetString_().GetSval() == "interval"
	w.typed = append(w.typed, typedLiteral{typeAt: int(tc.TypeName.Location), paramAt: int(pr.Location), interval: interval})
}

// intervalFields are the words of INTERVAL's fields (opt_interval in
// PostgreSQL's grammar), which come after a typed literal's string.
var intervalFields = map[string]bool{"year": true, "month": true, "day": true, "hour": true, "minute": true, "second": true, "to": true}

// planText writes p's text with each normalized typed literal as a cast
// (see Parsed.PlanText): the type name as written, moved after the
// placeholder with "::", INTERVAL's fields with it.
func planText(p *Parsed, typed []typedLiteral) string {
	if len(typed) == 0 {
		return p.Text
	}
	toks, err := Scan(p.Text)
	if err != nil {
		// The parser read the text, so the lexer does too.
		return p.Text
	}
	sort.Slice(typed, func(i, j int) bool { return typed[i].typeAt < typed[j].typeAt })
	var b strings.Builder
	done := 0
	for _, t := range typed {
		typeAt, paramAt := t.typeAt-p.Start, t.paramAt-p.Start
		if typeAt < done || paramAt >= len(p.Text) {
			continue
		}
		// The placeholder's token, and the fields after it.
		i := sort.Search(len(toks), func(i int) bool { return toks[i].Start >= paramAt })
		if i == len(toks) || toks[i].Kind != Param {
			continue
		}
		param := toks[i].Text
		end, fields := toks[i].End, ""
		if t.interval {
			j := i + 1
			for j < len(toks) && toks[j].Kind == Keyword && intervalFields[toks[j].Value] {
				j++
				// SECOND(3): the fractional digits.
				if toks[j-1].Value == "second" && j+2 < len(toks) && toks[j].Text == "(" && toks[j+1].Kind == Number && toks[j+2].Text == ")" {
					j += 3
				}
			}
			if j > i+1 {
				fields = " " + p.Text[toks[i+1].Start:toks[j-1].End]
				end = toks[j-1].End
			}
		}
		typeName := strings.TrimRight(p.Text[typeAt:toks[i].Start], space)
		b.WriteString(p.Text[done:typeAt])
		b.WriteString(param + "::" + typeName + fields)
		done = end
	}
	b.WriteString(p.Text[done:])
	return b.String()
}

// explainedAt is the byte offset in an EXPLAIN's text of the statement it
// explains: after EXPLAIN and its options, written `(ANALYZE, BUFFERS)`
// or as the words ANALYZE (ANALYSE) and VERBOSE. 0 when it cannot tell.
func explainedAt(text string) int {
	toks, err := Scan(text)
	if err != nil || len(toks) < 2 || !toks[0].Is("explain") {
		return 0
	}
	i := 1
	if toks[i].Text == "(" {
		depth := 0
	options:
		for ; i < len(toks); i++ {
			switch toks[i].Text {
			case "(":
				depth++
			case ")":
				if depth--; depth == 0 {
					i++
					break options
				}
			}
		}
	} else {
		for i < len(toks) && (toks[i].Is("analyze") || toks[i].Is("analyse") || toks[i].Is("verbose")) {
			i++
		}
	}
	if i >= len(toks) {
		return 0
	}
	return toks[i].Start
}

// CastParams writes each placeholder $n of sql that types names as a cast
// to that type ($2 becomes $2::bigint), where the server cannot tell a
// parameter's type from its context (a CASE's results, $1 IS NULL,
// generate_series($1, $2), $1 * $2): a caller that knows it from
// elsewhere (the column it is compared with, LIMIT) says so. A
// placeholder already cast (followed by ::) is left as it is, and so is
// every other byte of the text.
func CastParams(sql string, types map[int]string) (string, error) {
	if len(types) == 0 {
		return sql, nil
	}
	toks, err := Scan(sql)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	done := 0
	for i, t := range toks {
		typ, ok := types[t.ParamNumber()]
		if t.Kind != Param || !ok || typ == "" || (i+1 < len(toks) && toks[i+1].Text == "::") {
			continue
		}
		b.WriteString(sql[done:t.End])
		b.WriteString("::" + typ)
		done = t.End
	}
	b.WriteString(sql[done:])
	return b.String(), nil
}
