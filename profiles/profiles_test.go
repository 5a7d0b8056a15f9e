package profiles

import (
	"context"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBuiltinsLoad(t *testing.T) {
	names := Builtins()
	if len(names) == 0 {
		t.Fatal("Builtins() is empty")
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			p, err := Load(name)
			if err != nil {
				t.Fatalf("Load(%q): %v", name, err)
			}
			if p.Name != name {
				t.Errorf("Load(%q).Name = %q, want the file's name", name, p.Name)
			}
			if !p.Builtin || p.File != "profiles/"+name+".yaml" {
				t.Errorf("Load(%q): Builtin = %v, File = %q", name, p.Builtin, p.File)
			}
			// Every index of the hand-picked set serves some statement, or
			// there is nothing to measure it on.
			for _, ix := range p.Indexes {
				if len(p.Targets(ix.Name)) == 0 {
					t.Errorf("index %s targets no statement", ix.Name)
				}
			}
			for _, v := range []Variant{Before, After} {
				if len(p.Mix(v)) == 0 {
					t.Errorf("Mix(%s) is empty", v)
				}
			}
		})
	}
}

func TestHishamOSProfile(t *testing.T) {
	p, err := Load("hishamos")
	if err != nil {
		t.Fatal(err)
	}
	type index struct {
		Name    string
		Table   string
		Columns string
		Targets string
	}
	var got []index
	for _, ix := range p.Indexes {
		got = append(got, index{ix.Name, ix.Table, strings.Join(ix.Columns, ","), strings.Join(p.Targets(ix.Name), ",")})
	}
	// The seed report's eleven indexes, each with what it is meant to serve.
	want := []index{
		{"cmd_tpl_active_usage_idx", "commands_commandtemplate", "is_active,usage_count", "popular_commands"},
		{"cmd_tpl_cat_active_rate_idx", "commands_commandtemplate", "category_id,is_active,success_rate", "command_templates_by_category"},
		{"cmd_tpl_rec_agent_idx", "commands_commandtemplate", "recommended_agent_id", "command_templates_for_agent"},
		{"wf_user_status_created_idx", "workflows_workflow", "user_id,status,created_at", "workflows_of_user"},
		{"wf_exec_wf_status_started_idx", "workflows_workflowexecution", "workflow_id,status,started_at", "workflow_executions_by_status"},
		{"wf_step_exec_status_idx", "workflows_workflowstep", "execution_id,status", "workflow_step_count_by_status"},
		{"wf_step_exec_order_idx", "workflows_workflowstep", "execution_id,step_order", "workflow_steps_of_execution"},
		{"agent_status_invocations_idx", "agents_agent", "status,total_invocations", "agents_by_status,dashboard_active_agents"},
		{"agent_platform_status_idx", "agents_agent", "preferred_platform,status", "agents_by_platform"},
		{"agent_exec_user_status_cr_idx", "agents_agentexecution", "user_id,status,created_at", "agent_executions_of_user,dashboard_agent_execution_stats"},
		{"agent_exec_platform_cr_idx", "agents_agentexecution", "platform_used,created_at", "agent_executions_by_platform"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hand-picked indexes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&Expectation{MinPercent: 40, MaxPercent: 60}, p.Expect, cmpIgnoreSource); diff != "" {
		t.Errorf("Expect (-want +got):\n%s", diff)
	}

	pairs := p.Pairs()
	if len(pairs) != 1 || pairs[0].Before.Name != "command_templates_list_before" || pairs[0].After.Name != "command_templates_list_after" {
		t.Fatalf("Pairs() = %+v, want the command list before/after", pairs)
	}
	before, after := pairs[0].Before, pairs[0].After
	if strings.Contains(before.SQL, "LIMIT") || !strings.Contains(after.SQL, "LIMIT 20") {
		t.Errorf("the list before must be unpaginated and the list after paginated")
	}
	if !strings.Contains(after.SQL, "INNER JOIN \"commands_commandcategory\"") || !strings.Contains(after.SQL, "LEFT OUTER JOIN \"agents_agent\"") {
		t.Errorf("the list after must join category and agent (select_related)")
	}
	wantThen := []Followup{{Statement: "command_category_by_id", PerRow: true}, {Statement: "agent_by_id", PerRow: true}}
	if diff := cmp.Diff(wantThen, before.Then); diff != "" {
		t.Errorf("before's N+1 follow-ups (-want +got):\n%s", diff)
	}
	for _, s := range p.Statements {
		if s.Write {
			t.Errorf("statement %s is a write; the HishamOS profile is read-only", s.Name)
		}
		if strings.Contains(s.SQL, "\n") {
			t.Errorf("statement %s spans lines; Django sends one line", s.Name)
		}
	}
}

var cmpIgnoreSource = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Source" }, cmp.Ignore())

func TestList(t *testing.T) {
	list, err := List()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range list {
		got = append(got, s.Name)
		if s.Statements == 0 {
			t.Errorf("%s: no statements", s.Name)
		}
	}
	if diff := cmp.Diff(Builtins(), got); diff != "" {
		t.Errorf("List() names (-want +got):\n%s", diff)
	}
}

func TestLoadPath(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mine.yaml")
	if err := os.WriteFile(path, []byte(valid), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "tiny" || p.File != path || p.Builtin {
		t.Errorf("Load(path) = name %q, file %q, builtin %v", p.Name, p.File, p.Builtin)
	}
	if got := p.Statements[0].Weight; got != 1 {
		t.Errorf("default weight = %v, want 1", got)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("name: x\nstatements: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(bad)
	var perr *Error
	if !errors.As(err, &perr) || perr.File != bad || perr.Line != 2 {
		t.Errorf("Load(bad) = %v, want an *Error at %s:2", err, bad)
	}
}

func TestLoadNotFound(t *testing.T) {
	for _, name := range []string{"nosuch", "nosuch.yaml", "dir/nosuch"} {
		_, err := Load(name)
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("Load(%q) = %v, want ErrNotFound", name, err)
			continue
		}
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Load(%q) = %v, want it to wrap fs.ErrNotExist too", name, err)
		}
		for _, want := range []string{"hishamos", "path"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Load(%q) error %q does not mention %q", name, err, want)
			}
		}
	}
}

// TestStatementSQLRefused: what internal/sqlscan refuses in a statement's
// text, and placeholders PostgreSQL would refuse, are errors of the
// profile that say what is wrong, at the statement's sql. (Which $n a text
// uses is internal/sqlscan's table test, TestParsedParams.)
func TestStatementSQLRefused(t *testing.T) {
	for sql, want := range map[string]string{
		"SELECT 'abc":     "unterminated string literal starting at offset 7",
		`SELECT "abc`:     "unterminated quoted identifier starting at offset 7",
		"SELECT /* open":  "unterminated comment starting at offset 7",
		"SELECT $x$ open": "unterminated dollar-quoted string $x$ starting at offset 7",
		"SELECT $1abc":    "trailing junk after parameter $1",
		"SELECT $0":       "parameter $0: placeholders are numbered from $1",
		"SELECT $99999":   "parameter $99999 is out of range (1 to 65535)",
		"SELECT * FORM t": `syntax error at or near "FORM"`,
	} {
		_, err := Parse("p.yaml", []byte("name: p\nstatements:\n  - name: s\n    sql: '"+strings.ReplaceAll(sql, "'", "''")+"'\n"))
		if want := `p.yaml:4:10: statement "s": sql: ` + want; err == nil || err.Error() != want {
			t.Errorf("sql %q: error %v, want %q", sql, err, want)
		}
	}
}

func TestParseWindow(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"7d", 7 * 24 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{"2w", 14 * 24 * time.Hour, true},
		{"90m", 90 * time.Minute, true},
		{"30s", 30 * time.Second, true},
		{"0d", 0, false},
		{"7", 0, false},
		{"7 d", 0, false},
		{"-7d", 0, false},
		{"1y", 0, false},
		{"99999999999999w", 0, false},
	}
	for _, tt := range tests {
		got, err := parseWindow(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseWindow(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// literalProfile uses only the generators that need no database.
const literalProfile = `name: literal
statements:
  - name: pick
    sql: SELECT $1, $2, $3, $4
    params:
      - {kind: choice, values: [a, b, c], weights: [8, 2, 0]}
      - {kind: int_range, min: 10, max: 20, step: 5}
      - {kind: const, value: 42}
      - {kind: choice, values: [true, 2.5, -3]}
`

func TestArgsLiteralGenerators(t *testing.T) {
	p, err := Parse("literal.yaml", []byte(literalProfile))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Bind(context.Background(), nil, p) // no generator reads the database
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Args("missing", rand.New(rand.NewPCG(1, 1))); got != nil {
		t.Errorf("Args(missing) = %v, want nil", got)
	}
	draw := func(seed uint64) [][]any {
		rng := rand.New(rand.NewPCG(seed, seed))
		var out [][]any
		for range 2000 {
			out = append(out, b.Args("pick", rng))
		}
		return out
	}
	first := draw(7)
	if diff := cmp.Diff(first, draw(7)); diff != "" {
		t.Fatalf("Args with the same seed differ (-first +second):\n%s", diff)
	}
	if cmp.Equal(first, draw(8)) {
		t.Errorf("Args with different seeds are identical")
	}
	counts := map[any]int{}
	for _, args := range first {
		counts[args[0]]++
		counts[args[1]]++
		if args[2] != int64(42) {
			t.Fatalf("const = %#v, want int64(42)", args[2])
		}
		switch args[3] {
		case true, 2.5, int64(-3):
		default:
			t.Fatalf("choice without weights drew %#v", args[3])
		}
	}
	if counts["c"] != 0 {
		t.Errorf("drew weight-0 value c %d times", counts["c"])
	}
	// Weights 8:2 over 2000 draws: a is near 1600; 1400 is many standard
	// deviations (about 18) away.
	if counts["a"] < 1400 || counts["b"] < 200 {
		t.Errorf("choice counts a=%d b=%d, want about 1600 and 400", counts["a"], counts["b"])
	}
	for _, v := range []int64{10, 15, 20} {
		if counts[v] < 500 {
			t.Errorf("int_range drew %d %d times, want about 667", v, counts[v])
		}
	}
	if len(counts) != 2+3 {
		t.Errorf("drew values outside the generators' sets: %v", counts)
	}
}

func TestSamplerSkews(t *testing.T) {
	col := &column{values: []any{"hot", "warm", "cold"}, counts: []int64{90, 9, 1}}
	tests := []struct {
		skew Skew
		want map[any]float64 // expected share of draws
	}{
		{Frequency, map[any]float64{"hot": 0.90, "warm": 0.09, "cold": 0.01}},
		{Uniform, map[any]float64{"hot": 1.0 / 3, "warm": 1.0 / 3, "cold": 1.0 / 3}},
		{Zipf, map[any]float64{"hot": 6.0 / 11, "warm": 3.0 / 11, "cold": 2.0 / 11}}, // 1 : 1/2 : 1/3
	}
	const n = 20000
	for _, tt := range tests {
		s := newSampler(col, tt.skew)
		rng := rand.New(rand.NewPCG(3, 3))
		got := map[any]int{}
		for range n {
			got[s.next(rng)]++
		}
		for v, share := range tt.want {
			if d := float64(got[v])/n - share; d > 0.02 || d < -0.02 {
				t.Errorf("skew %s: %v drawn %d of %d, want a share near %.3f", tt.skew, v, got[v], n, share)
			}
		}
	}
}

func TestDocExample(t *testing.T) {
	p, err := Load("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range p.Mix(After) {
		names = append(names, s.Name)
	}
	if diff := cmp.Diff([]string{"orders_of_user", "mark_shipped"}, names); diff != "" {
		t.Errorf("Mix(After) (-want +got):\n%s", diff)
	}
	if got := p.Statement("mark_shipped").Params[0].Value; got != "shipped" {
		t.Errorf("const value = %#v", got)
	}
	if got := p.Statement("orders_count").Params[0].Values; !cmp.Equal(got, []any{int64(1), int64(2), int64(3)}) {
		t.Errorf("choice values = %#v, want int64s", got)
	}
}
