package bench

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/hishamos/hishamos-perf/analyze"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
	"github.com/hishamos/hishamos-perf/profiles"
)

// Workload is what a run measures: statements, and for a profile the
// generators that draw their arguments.
type Workload struct {
	Info WorkloadInfo
	// Profile is the profile the statements come from; nil for a .sql
	// file, whose statements take no parameters.
	Profile *profiles.Profile
	// Statements are the statements in profile (or file) order: those that
	// lead a request, then the follow-ups they need.
	Statements []Statement
}

// Statement is one statement of a workload.
type Statement struct {
	Name string
	SQL  string
	// Write marks a statement that changes data.
	Write bool
	// Indexes are the profile's hand-picked indexes meant to serve it.
	Indexes []string
	// Expect is the statement's own promise: a .sql file's `-- expect:`
	// comment above it.
	Expect *ExpectRange
	// Weight is how many times the application sends the statement
	// against the others (a .sql file's `-- weight:` comment; a profile's
	// mix weight); 0 when nothing says.
	Weight float64
	// Leader is set for a statement that runs on its own in every round;
	// a follow-up only runs after its leader.
	Leader bool
	// Then lists the follow-ups that run right after it, on the same
	// connection, as the application issues them.
	Then []Followup
	// Pair names the other half of the statement's before/after pair in
	// its profile, and Variant says which half it is; empty for none.
	Pair    string
	Variant string
	// params are the $n placeholders the statement uses.
	params []int
}

// Followup is a follow-up of a leading statement.
type Followup struct {
	// Statement indexes Workload.Statements.
	Statement int
	// PerRow runs it once per row the leader returned (N+1).
	PerRow bool
}

// Request reports whether the statement leads a request bench measures
// as a whole: a leader with follow-ups, or one half of a before/after
// pair (whose other half may have them).
func (s *Statement) Request() bool { return s.Leader && (len(s.Then) > 0 || s.Pair != "") }

// sqlHash identifies a statement's text.
func sqlHash(sql string) string {
	sum := sha256.Sum256([]byte(sql))
	return hex.EncodeToString(sum[:8])
}

// Both is the variant that runs both halves of every before/after pair in
// one run, their rounds interleaved, so that each pair's requests are
// compared on the same machine at the same time (CompareRequests).
const Both profiles.Variant = "both"

// FromProfile makes the workload of a profile: the statements of its mix for
// the given half of its before/after pairs (empty means profiles.After; Both
// runs the two), and the follow-ups they issue.
func FromProfile(p *profiles.Profile, variant profiles.Variant) (*Workload, error) {
	if variant == "" {
		variant = profiles.After
	}
	if variant != profiles.Before && variant != profiles.After && variant != Both {
		return nil, fmt.Errorf("bench: %w: variant %q: use %s, %s or %s", ErrWorkload, variant, profiles.Before, profiles.After, Both)
	}
	w := &Workload{
		Info:    WorkloadInfo{Name: p.Name, Kind: "profile", File: p.File, Variant: string(variant)},
		Profile: p,
	}
	if p.Expect != nil {
		w.Info.Expect = &ExpectRange{MinPct: p.Expect.MinPercent, MaxPct: p.Expect.MaxPercent, Source: p.Expect.Source}
	}
	mix := p.Mix(variant)
	if variant == Both {
		// Every statement either half runs, in the profile's order.
		mix = nil
		for i := range p.Statements {
			if s := &p.Statements[i]; s.Weight > 0 {
				mix = append(mix, s)
			}
		}
	}
	if len(mix) == 0 {
		return nil, fmt.Errorf("bench: %w: profile %s has no statement with a positive weight for the %s variant", ErrWorkload, p.Name, variant)
	}
	index := map[string]int{}
	add := func(s *profiles.Statement, leader bool) int {
		if i, ok := index[s.Name]; ok {
			if leader {
				w.Statements[i].Leader = true
			}
			return i
		}
		index[s.Name] = len(w.Statements)
		w.Statements = append(w.Statements, Statement{Name: s.Name, SQL: s.SQL, Write: s.Write, Indexes: s.Indexes, Leader: leader, Pair: s.Pair, Variant: string(s.Variant)})
		return len(w.Statements) - 1
	}
	for _, s := range mix {
		add(s, true)
	}
	for _, s := range mix {
		i := index[s.Name]
		for _, f := range s.Then {
			fs := p.Statement(f.Statement)
			if fs == nil {
				return nil, fmt.Errorf("bench: %w: %s follows up with %s, which profile %s does not define", ErrWorkload, s.Name, f.Statement, p.Name)
			}
			j := add(fs, false)
			w.Statements[i].Then = append(w.Statements[i].Then, Followup{Statement: j, PerRow: f.PerRow})
		}
	}
	for i := range w.Statements {
		s := &w.Statements[i]
		if err := check(s, "profile "+p.Name+", statement "+s.Name); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// PairsFromProfile makes the workload of a profile's before/after pairs
// alone: both halves of every pair, with the follow-ups they issue, and
// none of the profile's other statements. The demo measures it as
// requests to judge what a rewrite (select_related, only(), pagination)
// changed, apart from what an index changes.
func PairsFromProfile(p *profiles.Profile) (*Workload, error) {
	cut := *p
	cut.Statements = slices.Clone(p.Statements)
	pairs := 0
	for i := range cut.Statements {
		if s := &cut.Statements[i]; s.Pair == "" {
			s.Weight = 0
		} else if s.Weight > 0 {
			pairs++
		}
	}
	if pairs == 0 {
		return nil, fmt.Errorf("bench: %w: profile %s has no before/after pair with a positive weight", ErrWorkload, p.Name)
	}
	return FromProfile(&cut, Both)
}

// check asks internal/sqlscan what a statement is (the answer profile
// validation, analyze and migrate get too) and refuses what bench cannot
// measure: text that does not parse, more or less than one statement, a
// statement EXPLAIN does not take (SHOW, SET, COPY, EXPLAIN itself), and
// one calling a function whose effect neither a read-only session nor a
// rollback contains. A statement that is not a read-only query is a write
// whatever its profile says: SELECT … INTO, FOR UPDATE, FOR SHARE, FOR
// KEY SHARE and a data-modifying WITH run in a READ WRITE transaction
// (rolled back), and only with AllowWrites. where names the statement in
// errors.
func check(s *Statement, where string) error {
	st, err := sqlscan.ParseOne(s.SQL)
	var le *sqlscan.Error
	switch {
	case errors.As(err, &le) && !le.Unterminated():
		return fmt.Errorf("bench: %w: %s: %s", ErrWorkload, where, le.Msg)
	case err != nil:
		return fmt.Errorf("bench: %w: %s: %w", ErrWorkload, where, err)
	case !st.Explainable:
		return fmt.Errorf("bench: %w: %s: only queries and DML can be measured, not %q", ErrWorkload, where, firstLine(s.SQL))
	case st.OutsideTx != "":
		return fmt.Errorf("bench: %w: %s: the statement calls %s, whose effect neither a read-only session nor a rollback contains: it cannot be measured", ErrWorkload, where, st.OutsideTx)
	}
	s.Write = s.Write || !st.ReadOnly
	s.params = st.Params
	return nil
}

// badNameChars are replaced in statement names: names become benchmark
// names (BenchmarkQuery/<name>), where spaces and slashes would split them.
var badNameChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// FromSQL makes the workload of a .sql file: every statement in it, run
// as it is. A `-- name: x` comment line above a statement names it; the
// others are named q1, q2, ... by position. An `-- expect: 40%` (or
// `40-60%`) comment line promises an improvement: in the comment lines
// that open the file, ended by a blank line, for every statement an index
// added between two runs targets (as a profile's expect: does); in the
// comment lines above a statement, for that statement. A .sql file has no
// parameter generators, so a statement with $n placeholders is refused.
func FromSQL(file string, text []byte) (*Workload, error) {
	srcs, err := analyze.SplitSQL(file, string(text))
	if err != nil {
		return nil, fmt.Errorf("bench: %w: %w", ErrWorkload, err)
	}
	if len(srcs) == 0 {
		return nil, fmt.Errorf("bench: %w: %s holds no SQL statement", ErrWorkload, file)
	}
	name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	w := &Workload{Info: WorkloadInfo{Name: name, Kind: "sql", File: file}}
	lines := strings.Split(string(text), "\n")
	header := headerLines(lines)
	if w.Info.Expect, err = expectIn(lines[:header], 0, file); err != nil {
		return nil, err
	}
	seen := map[string]int{}
	for _, s := range srcs {
		where := fmt.Sprintf("%s:%d", file, s.Line)
		st := Statement{SQL: s.SQL, Leader: true}
		if err := check(&st, where); err != nil {
			return nil, err
		}
		if n := len(st.params); n > 0 {
			return nil, &ParamsError{Where: where, Param: st.params[n-1]}
		}
		stmtName := fmt.Sprintf("q%d", s.Index)
		if s.Name != "" {
			stmtName = badNameChars.ReplaceAllString(s.Name, "_")
		}
		if s.Weight != nil {
			st.Weight = *s.Weight
		}
		if st.Expect, err = expectAbove(lines, s.Line, header, file); err != nil {
			return nil, err
		}
		if prev, dup := seen[stmtName]; dup {
			return nil, fmt.Errorf("bench: %w: %s: a statement is already called %s (statement %d)", ErrWorkload, where, stmtName, prev)
		}
		seen[stmtName] = s.Index
		st.Name = stmtName
		w.Statements = append(w.Statements, st)
	}
	return w, nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

// Writes lists the workload's write statements.
func (w *Workload) Writes() []string {
	var out []string
	for _, s := range w.Statements {
		if s.Write {
			out = append(out, s.Name)
		}
	}
	return out
}

// ParamsError is a statement of a .sql file that uses a parameter ($Param)
// at Where (file:line): a file has no generators to draw values from
// (ErrWorkload).
type ParamsError struct {
	Where string
	Param int
}

func (e *ParamsError) Error() string { return e.Message("") }

func (e *ParamsError) Unwrap() error { return ErrWorkload }

// Message says which statement uses a parameter and what to do; see, when
// set, is where the command documents profiles, in parentheses after it.
func (e *ParamsError) Message(see string) string {
	msg := fmt.Sprintf("bench: %v: %s: the statement uses $%d, but a .sql file has no generators for parameters: write the values in, or use a profile", ErrWorkload, e.Where, e.Param)
	if see != "" {
		msg += " (see " + see + ")"
	}
	return msg
}

// expectComment is an `-- expect: …` comment line.
var expectComment = regexp.MustCompile(`^\s*--\s*expect:\s*(.*?)\s*$`)

// expectValue is what an `-- expect:` comment may say: a percentage, or
// a range of two (40-60%, 40–60%, 40% - 60%).
var expectValue = regexp.MustCompile(`^(\d+(?:\.\d+)?)\s*%?(?:\s*[-–]\s*(\d+(?:\.\d+)?)\s*%?)?$`)

// headerLines counts the comment lines that open a file when a blank line
// ends them: its header, whose `-- expect:` holds for the whole file. A
// comment block that runs into the first statement is that statement's.
func headerLines(lines []string) int {
	n := 0
	for n < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[n]), "--") {
		n++
	}
	if n == 0 || n == len(lines) || strings.TrimSpace(lines[n]) != "" {
		return 0
	}
	return n
}

// expectAbove reads the `-- expect:` of the statement starting on line
// (1-based): in the comment and blank lines right above it, back to the
// previous statement or the file's header (header lines, not searched).
func expectAbove(lines []string, line, header int, file string) (*ExpectRange, error) {
	top := line - 1
	for top > header && top-1 < len(lines) {
		l := strings.TrimSpace(lines[top-1])
		if l != "" && !strings.HasPrefix(l, "--") {
			break
		}
		top--
	}
	if top >= line-1 {
		return nil, nil
	}
	return expectIn(lines[top:line-1], top, file)
}

// expectIn reads the last `-- expect:` comment among lines, which start at
// offset (0-based) in the file; nil when there is none, ErrWorkload when
// its value is not a percentage or a range of two.
func expectIn(lines []string, offset int, file string) (*ExpectRange, error) {
	for i := len(lines) - 1; i >= 0; i-- {
		m := expectComment.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		where := fmt.Sprintf("%s:%d", file, offset+i+1)
		v := expectValue.FindStringSubmatch(m[1])
		if v == nil {
			return nil, fmt.Errorf("bench: %w: %s: -- expect: %q is not a percentage such as 40%% or a range such as 40-60%%", ErrWorkload, where, m[1])
		}
		lo, _ := strconv.ParseFloat(v[1], 64)
		hi := MaxExpectPct
		if v[2] != "" {
			hi, _ = strconv.ParseFloat(v[2], 64)
		}
		if !(lo > 0 && lo <= hi && hi <= MaxExpectPct) {
			return nil, fmt.Errorf("bench: %w: %s: -- expect: %q must be above 0%% and at most 100%%, the smaller first", ErrWorkload, where, m[1])
		}
		return &ExpectRange{MinPct: lo, MaxPct: hi, Source: where}, nil
	}
	return nil, nil
}

// MaxExpectPct is the top of a promise stated as one figure (40% means
// "at least 40%"): nothing is ever above it.
const MaxExpectPct = 100.0
