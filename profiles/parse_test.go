package profiles

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// valid is the smallest profile that validates; the error cases below each
// break one thing in a copy of it.
const valid = `name: tiny
statements:
  - name: one
    sql: SELECT 1
`

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string // file:line:col: message
	}{
		{
			name: "syntax error",
			yaml: "name: tiny\nstatements:\n  - name: 'one\n",
			want: "p.yaml:3:11: could not find end character of single-quoted text",
		},
		{
			name: "YAML tag (crashed the YAML library's decoder under fuzzing)",
			yaml: "name: tiny\nstatements:\n  ! 000000\n00008:\n",
			want: `p.yaml:3:3: YAML tags such as "!" are not used in profiles: write the value plainly`,
		},
		{
			name: "bad indentation",
			yaml: "name: tiny\nstatements:\n  - name: one\n   sql: SELECT 1\n",
			want: "p.yaml:4:4: value is not allowed in this context",
		},
		{
			name: "duplicate key",
			yaml: "name: tiny\nstatements:\n  - name: one\n    name: two\n    sql: SELECT 1\n",
			want: `p.yaml:4:5: mapping key "name" already defined at [3:5]`,
		},
		{
			name: "unknown field",
			yaml: "name: tiny\nstatements:\n  - name: one\n    sql: SELECT 1\n    wieght: 2\n",
			want: `p.yaml:5:5: unknown field "wieght"`,
		},
		{
			name: "unknown top-level field",
			yaml: "name: tiny\nstatement:\n  - name: one\n",
			want: `p.yaml:2:1: unknown field "statement"`,
		},
		{
			name: "wrong type",
			yaml: "name: tiny\nstatements:\n  - name: one\n    sql: SELECT 1\n    weight: heavy\n",
			want: `p.yaml:5:13: weight: cannot use a string "heavy" as a number`,
		},
		{
			name: "statements not a list",
			yaml: "name: tiny\nstatements: 5\n",
			want: "p.yaml:2:13: statements: expected a sequence (list) here, not an integer",
		},
		{
			name: "empty file",
			yaml: "# nothing\n",
			want: "p.yaml:1:1: profile is empty",
		},
		{
			name: "not a mapping",
			yaml: "- a\n- b\n",
			want: "p.yaml:1:1: a profile is a mapping (name:, statements:, ...), not a sequence (list)",
		},
		{
			name: "two documents",
			yaml: valid + "---\nname: other\n",
			want: "p.yaml:6:1: a profile file holds one YAML document; this is a second one",
		},
		{
			name: "missing profile name",
			yaml: "description: x\nstatements:\n  - name: one\n    sql: SELECT 1\n",
			want: "p.yaml:1:1: profile has no name",
		},
		{
			name: "bad profile name",
			yaml: "name: my profile\nstatements:\n  - name: one\n    sql: SELECT 1\n",
			want: `p.yaml:1:7: profile name "my profile": use letters, digits, '-' and '_'`,
		},
		{
			name: "no statements",
			yaml: "name: tiny\n",
			want: "p.yaml:1:1: profile has no statements",
		},
		{
			name: "missing statement name",
			yaml: "name: tiny\nstatements:\n  - sql: SELECT 1\n",
			want: "p.yaml:3:5: statement has no name",
		},
		{
			name: "missing sql",
			yaml: "name: tiny\nstatements:\n  - name: one\n    weight: 2\n",
			want: `p.yaml:3:5: statement "one" has no sql`,
		},
		{
			name: "blank sql",
			yaml: "name: tiny\nstatements:\n  - name: one\n    sql: '  '\n",
			want: `p.yaml:4:10: statement "one" has no sql`,
		},
		{
			name: "duplicate statement name",
			yaml: valid + "  - name: one\n    sql: SELECT 2\n",
			want: `p.yaml:5:11: duplicate statement name "one" (first used on line 3)`,
		},
		{
			name: "unknown generator kind",
			yaml: valid + "  - name: two\n    sql: SELECT $1\n    params:\n      - kind: random\n",
			want: `p.yaml:8:15: statement "two" $1: unknown generator kind "random" (known: sample, choice, int_range, recent, const)`,
		},
		{
			name: "generator without kind",
			yaml: valid + "  - name: two\n    sql: SELECT $1\n    params:\n      - value: 3\n",
			want: `p.yaml:8:9: statement "two" $1: generator has no kind (known: sample, choice, int_range, recent, const)`,
		},
		{
			name: "placeholder without generator",
			yaml: valid + "  - name: two\n    sql: SELECT $1, $2\n    params:\n      - {kind: const, value: 1}\n",
			want: `p.yaml:8:7: statement "two" uses $2 but has no generator for it (params has 1)`,
		},
		{
			name: "placeholder without any params",
			yaml: valid + "  - name: two\n    sql: SELECT $1\n",
			want: `p.yaml:6:10: statement "two" uses $1 but has no generator for it (params has 0)`,
		},
		{
			name: "generator the sql does not use",
			yaml: valid + "  - name: two\n    sql: SELECT $1\n    params:\n      - {kind: const, value: 1}\n      - {kind: const, value: 2}\n",
			want: `p.yaml:9:9: statement "two": params[1] is the generator for $2, which the sql does not use`,
		},
		{
			name: "placeholder only in a string literal",
			yaml: valid + "  - name: two\n    sql: SELECT '$1'\n    params:\n      - {kind: const, value: 1}\n",
			want: `p.yaml:8:9: statement "two": params[0] is the generator for $1, which the sql does not use`,
		},
		{
			name: "negative weight",
			yaml: valid + "  - name: two\n    sql: SELECT 2\n    weight: -1\n",
			want: `p.yaml:7:13: statement "two": weight must be a number of at least 0, got -1`,
		},
		{
			name: "no positive weight",
			yaml: "name: tiny\nstatements:\n  - name: one\n    sql: SELECT 1\n    weight: 0\n",
			want: "p.yaml:3:3: no statement has a positive weight, so a run would have nothing to draw",
		},
		{
			name: "write not marked",
			yaml: valid + "  - name: two\n    sql: UPDATE t SET x = 1\n",
			want: `p.yaml:6:10: statement "two" changes data or locks rows (UPDATE); mark it write: true`,
		},
		{
			name: "select for update not marked",
			yaml: valid + "  - name: two\n    sql: SELECT 1 FROM t FOR UPDATE\n",
			want: `p.yaml:6:10: statement "two" changes data or locks rows (FOR UPDATE); mark it write: true`,
		},
		{
			// Issue 15: validation took these for reads, bench for writes.
			name: "select for share not marked",
			yaml: valid + "  - name: two\n    sql: SELECT 1 FROM t FOR SHARE\n",
			want: `p.yaml:6:10: statement "two" changes data or locks rows (FOR SHARE); mark it write: true`,
		},
		{
			name: "select for key share not marked",
			yaml: valid + "  - name: two\n    sql: SELECT 1 FROM t FOR KEY SHARE\n",
			want: `p.yaml:6:10: statement "two" changes data or locks rows (FOR KEY SHARE); mark it write: true`,
		},
		{
			name: "select into not marked",
			yaml: valid + "  - name: two\n    sql: SELECT * INTO t_copy FROM t\n",
			want: `p.yaml:6:10: statement "two" changes data or locks rows (SELECT ... INTO); mark it write: true`,
		},
		{
			name: "explain analyze of a delete not marked",
			yaml: valid + "  - name: two\n    sql: EXPLAIN ANALYZE DELETE FROM t\n",
			want: `p.yaml:6:10: statement "two" changes data or locks rows (EXPLAIN ANALYZE of a DELETE); mark it write: true`,
		},
		{
			name: "data-modifying WITH not marked",
			yaml: valid + "  - name: two\n    sql: WITH d AS (DELETE FROM t RETURNING id) SELECT id FROM d\n",
			want: `p.yaml:6:10: statement "two" changes data or locks rows (DELETE in a WITH); mark it write: true`,
		},
		{
			name: "ddl not marked",
			yaml: valid + "  - name: two\n    sql: VACUUM t\n",
			want: `p.yaml:6:10: statement "two" starts with VACUUM, which is not read-only; mark it write: true`,
		},
		{
			name: "two statements in one",
			yaml: valid + "  - name: two\n    sql: SELECT 1; SELECT 2\n",
			want: `p.yaml:6:10: statement "two": sql holds 2 statements; give each its own entry`,
		},
		{
			name: "unterminated literal",
			yaml: valid + "  - name: two\n    sql: SELECT 'abc\n",
			want: `p.yaml:6:10: statement "two": sql: unterminated string literal starting at offset 7`,
		},
		{
			name: "expectation min above max",
			yaml: valid + "expect:\n  min_percent: 60\n  max_percent: 40\n",
			want: "p.yaml:6:16: expect: min_percent 60 is above max_percent 40",
		},
		{
			name: "expectation above 100",
			yaml: valid + "expect:\n  min_percent: 40\n  max_percent: 160\n",
			want: "p.yaml:7:16: expect: max_percent must be between 0 and 100 (percent faster), got 160",
		},
		{
			name: "expectation missing max",
			yaml: valid + "expect:\n  min_percent: 40\n",
			want: "p.yaml:6:3: expect has no max_percent",
		},
		{
			name: "index column that is not one key",
			yaml: valid + "indexes:\n  - name: t_x_idx\n    table: t\n    columns: ['a) WHERE (b']\n",
			want: `p.yaml:8:15: index t_x_idx: column "a) WHERE (b": not one whole key or expression`,
		},
		{
			name: "index without columns",
			yaml: valid + "indexes:\n  - name: t_x_idx\n    table: t\n",
			want: "p.yaml:6:5: index t_x_idx has no columns",
		},
		{
			name: "index with empty columns",
			yaml: valid + "indexes:\n  - name: t_x_idx\n    table: t\n    columns: []\n",
			want: "p.yaml:8:14: index t_x_idx has no columns",
		},
		{
			name: "index with duplicate column",
			yaml: valid + "indexes:\n  - name: t_x_idx\n    table: t\n    columns: [a, a]\n",
			want: `p.yaml:8:18: index t_x_idx: column "a" is listed twice`,
		},
		{
			name: "index name too long",
			yaml: valid + "indexes:\n  - name: " + strings.Repeat("x", 64) + "\n    table: t\n    columns: [a]\n",
			want: `p.yaml:6:11: index name "` + strings.Repeat("x", 64) + `" is longer than 63 bytes; PostgreSQL would truncate it`,
		},
		{
			name: "duplicate index name",
			yaml: valid + "indexes:\n  - {name: i, table: t, columns: [a]}\n  - {name: i, table: t, columns: [b]}\n",
			want: `p.yaml:7:12: duplicate index name "i" (first used on line 6)`,
		},
		{
			name: "index table not among tables",
			yaml: "name: tiny\ntables: [t]\nstatements:\n  - name: one\n    sql: SELECT 1\nindexes:\n  - {name: i, table: u, columns: [a]}\n",
			want: `p.yaml:7:22: index i: table "u" is not among the profile's tables`,
		},
		{
			name: "statement names unknown index",
			yaml: valid + "    indexes: [nope]\nindexes:\n  - {name: i, table: t, columns: [a]}\n",
			want: `p.yaml:5:15: statement "one" names unknown index "nope" (the profile's indexes: i)`,
		},
		{
			name: "pair names unknown statement",
			yaml: valid + "    pair: missing\n    variant: before\n",
			want: `p.yaml:5:11: statement "one": pair names unknown statement "missing"`,
		},
		{
			name: "pair without variant",
			yaml: valid + "    pair: two\n  - name: two\n    sql: SELECT 2\n    pair: one\n    variant: after\n",
			want: `p.yaml:5:11: statement "one" has a pair but no variant (before or after)`,
		},
		{
			name: "pair does not point back",
			yaml: valid + "    pair: two\n    variant: before\n  - name: two\n    sql: SELECT 2\n",
			want: `p.yaml:5:11: statement "one" pairs with "two", but "two" does not pair back (pair: "")`,
		},
		{
			name: "pair with the same variant",
			yaml: valid + "    pair: two\n    variant: before\n  - name: two\n    sql: SELECT 2\n    pair: one\n    variant: before\n",
			want: `p.yaml:6:14: statement "one" and its pair "two" are both variant before`,
		},
		{
			name: "bad variant",
			yaml: valid + "    pair: two\n    variant: later\n  - name: two\n    sql: SELECT 2\n    pair: one\n    variant: after\n",
			want: `p.yaml:6:14: statement "one": variant must be before or after, got "later"`,
		},
		{
			name: "variant without pair",
			yaml: valid + "    variant: after\n",
			want: `p.yaml:5:14: statement "one" has a variant but no pair naming its other half`,
		},
		{
			name: "follow-up names unknown statement",
			yaml: valid + "    then:\n      - statement: lookup\n        per_row: true\n",
			want: `p.yaml:6:20: statement "one": then names unknown statement "lookup"`,
		},
		{
			name: "sample without from",
			yaml: valid + "  - name: two\n    sql: SELECT $1\n    params:\n      - kind: sample\n",
			want: `p.yaml:8:9: statement "two" $1: sample generator needs from: table.column`,
		},
		{
			name: "sample with malformed from",
			yaml: valid + "  - name: two\n    sql: SELECT $1\n    params:\n      - kind: sample\n        from: users\n",
			want: `p.yaml:9:15: statement "two" $1: from must be table.column or schema.table.column, got "users"`,
		},
		{
			name: "sample from a table not listed",
			yaml: "name: tiny\ntables: [t]\nstatements:\n  - name: one\n    sql: SELECT $1\n    params:\n      - {kind: sample, from: u.id}\n",
			want: `p.yaml:7:30: statement "one" $1: table "u" is not among the profile's tables`,
		},
		{
			name: "bad skew",
			yaml: valid + "  - name: two\n    sql: SELECT $1\n    params:\n      - {kind: sample, from: t.c, skew: pareto}\n",
			want: `p.yaml:8:41: statement "two" $1: skew must be frequency, uniform or zipf, got "pareto"`,
		},
		{
			name: "field of another kind",
			yaml: valid + "  - name: two\n    sql: SELECT $1\n    params:\n      - kind: choice\n        values: [a, b]\n        window: 7d\n",
			want: `p.yaml:10:17: statement "two" $1: field window does not apply to a choice generator (it takes values, weights)`,
		},
		{
			name: "choice weights of the wrong length",
			yaml: valid + "  - name: two\n    sql: SELECT $1\n    params:\n      - kind: choice\n        values: [a, b]\n        weights: [1]\n",
			want: `p.yaml:10:18: statement "two" $1: weights has 1 entries for 2 values`,
		},
		{
			name: "choice negative weight",
			yaml: valid + "  - name: two\n    sql: SELECT $1\n    params:\n      - kind: choice\n        values: [a, b]\n        weights: [1, -1]\n",
			want: `p.yaml:10:22: statement "two" $1: a weight must be a number of at least 0, got -1`,
		},
		{
			name: "choice without values",
			yaml: valid + "  - name: two\n    sql: SELECT $1\n    params:\n      - kind: choice\n",
			want: `p.yaml:8:9: statement "two" $1: choice generator needs values`,
		},
		{
			name: "int_range min above max",
			yaml: valid + "  - name: two\n    sql: SELECT $1\n    params:\n      - {kind: int_range, min: 5, max: 1}\n",
			want: `p.yaml:8:32: statement "two" $1: min 5 is above max 1`,
		},
		{
			name: "int_range with a fraction",
			yaml: valid + "  - name: two\n    sql: SELECT $1\n    params:\n      - {kind: int_range, min: 1.5, max: 3}\n",
			want: `p.yaml:8:32: statement "two" $1: min must be an integer, got 1.5`,
		},
		{
			name: "list where a number goes",
			yaml: valid + "    weight: [1]\n",
			want: `p.yaml:5:13: weight: cannot use a list as a number`,
		},
		{
			name: "int_range without max",
			yaml: valid + "  - name: two\n    sql: SELECT $1\n    params:\n      - {kind: int_range, min: 5}\n",
			want: `p.yaml:8:9: statement "two" $1: int_range generator needs min and max`,
		},
		{
			name: "recent with a bad window",
			yaml: valid + "  - name: two\n    sql: SELECT $1\n    params:\n      - kind: recent\n        from: t.created_at\n        window: a week\n",
			want: `p.yaml:10:17: statement "two" $1: window "a week": use a number and a unit (w, d, h, m, s), as in 7d or 1d12h`,
		},
		{
			name: "recent without a window",
			yaml: valid + "  - name: two\n    sql: SELECT $1\n    params:\n      - kind: recent\n        from: t.created_at\n",
			want: `p.yaml:8:9: statement "two" $1: recent generator needs a window (e.g. 7d)`,
		},
		{
			name: "const without value",
			yaml: valid + "  - name: two\n    sql: SELECT $1\n    params:\n      - kind: const\n",
			want: `p.yaml:8:9: statement "two" $1: const generator needs a value`,
		},
		{
			name: "earliest problem wins",
			yaml: "name: tiny\nstatements:\n  - name: one\n    sql: SELECT $1\n  - name: one\n    sql: SELECT 2\n",
			want: `p.yaml:4:10: statement "one" uses $1 but has no generator for it (params has 0)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(tt.yaml))
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("Parse() error = %v (%T), want *Error", err, err)
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("Parse() error (-want +got):\n%s", diff)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("Parse() error spans lines: %q", err)
			}
		})
	}
}
