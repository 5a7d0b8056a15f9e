package analyze

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// planCase is a statement made to show one rule (or none: healthy), on the
// fixture tables below. Its plan is captured with -update from the test
// server into testdata/plans/pgMAJOR/NAME.json, with the catalog facts the
// rules read into NAME.facts.json and the findings into NAME.findings.json:
// one folder per PostgreSQL version, since plans differ between them (18
// shows buffers with ANALYZE and "Index Searches", JIT and parallel
// details move). Capture one with
// HISHAMOS_PERF_TEST_PG=17 go test ./analyze -run TestGoldenPlans -update.
type planCase struct {
	name string
	// settings are SET before the EXPLAIN and RESET after it.
	settings []string
	query    string
	// generic explains the query without ANALYZE as a generic plan.
	generic bool
	// fires lists rules that must fire; a case with none must stay silent.
	fires []string
	// jit needs a server built with LLVM (pg_jit_available()): the npm
	// builds of 14, 16, 17 and 18 have none, so the case is not captured
	// there.
	jit bool
}

// planFixtures builds the tables the plan cases run on. events has 200,000
// rows: 20 accounts of 10,000 rows, 1% failed, kind and kind2 equal (the
// planner multiplies their selectivities, which is 100x off).
var planFixtures = []string{
	`CREATE TABLE events (id bigint PRIMARY KEY, account_id int NOT NULL, status text NOT NULL,
		kind int NOT NULL, kind2 int NOT NULL, payload text NOT NULL, created_at timestamptz NOT NULL)`,
	`INSERT INTO events SELECT i, i % 20, CASE WHEN i % 100 = 0 THEN 'failed' ELSE 'completed' END,
		i % 100, i % 100, md5(i::text), timestamptz '2024-01-01' + i * interval '1 minute'
		FROM generate_series(1, 200000) i`,
	`CREATE INDEX events_account_id ON events (account_id)`,
	`CREATE INDEX events_kind ON events (kind)`,
	`CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL)`,
	`INSERT INTO accounts SELECT i, 'account ' || i FROM generate_series(1, 2000) i`,
	`CREATE TABLE wide (id bigint PRIMARY KEY, c1 text, c2 text, c3 text, c4 text, c5 text, c6 text, c7 text,
		c8 text, c9 text, c10 text, c11 text, c12 text, c13 int, c14 int, c15 jsonb, c16 timestamptz,
		c17 boolean, c18 numeric, c19 text)`,
	`INSERT INTO wide SELECT i, md5(i::text), md5(i::text), md5(i::text), md5(i::text), md5(i::text),
		md5(i::text), md5(i::text), md5(i::text), md5(i::text), md5(i::text), md5(i::text), repeat(md5(i::text), 8),
		i, i, jsonb_build_object('k', i, 'v', md5(i::text)), now(), true, i, repeat('x', 200)
		FROM generate_series(1, 5000) i`,
	// vm is never vacuumed, so its visibility map stays empty and an
	// index-only scan must visit the table for every row.
	`CREATE TABLE vm (id bigint, k int) WITH (autovacuum_enabled = false)`,
	`INSERT INTO vm SELECT i, i FROM generate_series(1, 50000) i`,
	`CREATE INDEX vm_k ON vm (k)`,
	// pevents is events RANGE-partitioned by month, for the partition
	// rules.
	`CREATE TABLE pevents (id bigint NOT NULL, account_id int NOT NULL, created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at)`,
	`CREATE TABLE pevents_2024_01 PARTITION OF pevents FOR VALUES FROM ('2024-01-01') TO ('2024-02-01')`,
	`CREATE TABLE pevents_2024_02 PARTITION OF pevents FOR VALUES FROM ('2024-02-01') TO ('2024-03-01')`,
	`CREATE TABLE pevents_2024_03 PARTITION OF pevents FOR VALUES FROM ('2024-03-01') TO ('2024-04-01')`,
	`CREATE TABLE pevents_2024_04 PARTITION OF pevents FOR VALUES FROM ('2024-04-01') TO ('2024-05-01')`,
	`CREATE TABLE pevents_default PARTITION OF pevents DEFAULT`,
	`INSERT INTO pevents SELECT id, account_id, created_at FROM events`,
	`ANALYZE events, accounts, wide, vm, pevents`,
}

var planCases = []planCase{
	{name: "healthy", query: "SELECT id, status FROM events WHERE id = 4242"},
	{name: "seq-scan-large", fires: []string{RuleSeqScanLarge},
		query: "SELECT id, created_at FROM events WHERE payload LIKE 'abc%'"},
	{name: "seq-scan-large-generic", generic: true, fires: []string{RuleSeqScanLarge},
		query: "SELECT id, created_at FROM events WHERE payload = $1"},
	{name: "rows-removed-by-filter", fires: []string{RuleRowsRemovedByFilter},
		settings: []string{"enable_seqscan = off"},
		query:    "SELECT id FROM events WHERE account_id = 0 AND status = 'failed'"},
	{name: "row-misestimate", fires: []string{RuleRowMisestimate},
		query: "SELECT count(*) FROM events WHERE kind = 1 AND kind2 = 1"},
	{name: "sort-spill", fires: []string{RuleSortSpill},
		settings: []string{"work_mem = '64kB'", "max_parallel_workers_per_gather = 0"},
		query:    "SELECT max(r) FROM (SELECT row_number() OVER (ORDER BY payload) AS r FROM events) s"},
	{name: "hash-spill", fires: []string{RuleHashSpill},
		settings: []string{"work_mem = '64kB'", "max_parallel_workers_per_gather = 0", "enable_mergejoin = off"},
		query:    "SELECT count(*) FROM events a JOIN events b ON a.payload = b.payload"},
	{name: "lossy-bitmap", fires: []string{RuleLossyBitmap},
		settings: []string{"work_mem = '64kB'", "enable_seqscan = off", "enable_indexscan = off", "max_parallel_workers_per_gather = 0"},
		query:    "SELECT count(*) FROM events WHERE account_id = 3"},
	{name: "heap-fetches", fires: []string{RuleHeapFetches},
		settings: []string{"enable_seqscan = off", "enable_bitmapscan = off"},
		query:    "SELECT k FROM vm WHERE k < 5000"},
	{name: "nested-loop-many", fires: []string{RuleNestedLoopMany},
		settings: []string{"enable_hashjoin = off", "enable_mergejoin = off"},
		query:    "SELECT count(*) FROM accounts a JOIN events e ON e.id = a.id"},
	{name: "no-limit-large-result", fires: []string{RuleNoLimitLargeResult},
		query: "SELECT id FROM events WHERE id > 100"},
	{name: "wide-rows", fires: []string{RuleWideRows},
		query: "SELECT * FROM wide WHERE id <= 500"},
	{name: "seq-scan-large-partitions", fires: []string{RuleSeqScanLarge},
		settings: []string{"max_parallel_workers_per_gather = 0"},
		query:    "SELECT id, created_at FROM pevents WHERE account_id = 3"},
	{name: "partition-pruning", fires: []string{RulePartitionPruning},
		settings: []string{"max_parallel_workers_per_gather = 0"},
		query:    "SELECT count(*) FROM pevents WHERE created_at::date = date '2024-02-01'"},
	{name: "jit-heavy", fires: []string{RuleJITHeavy}, jit: true,
		settings: []string{"jit = on", "jit_above_cost = 0", "jit_optimize_above_cost = 0", "jit_inline_above_cost = 0", "max_parallel_workers_per_gather = 0"},
		query:    "SELECT sum(id), avg(length(name)) FROM accounts"},
}

// goldenBase is the version whose plans the other unit tests read:
// Debian's 15, the sandbox's server here.
const goldenBase = "pg15"

func planPath(name, suffix string) string {
	return planPathFor(goldenBase, name, suffix)
}

// planPathFor is a captured file of one version's folder (pg14 … pg18).
func planPathFor(version, name, suffix string) string {
	return filepath.Join("testdata", "plans", version, name+suffix)
}

// goldenVersions lists the versions with captured plans.
func goldenVersions(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join("testdata", "plans", "pg*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no captured plans in testdata/plans (%v)", err)
	}
	var out []string
	for _, d := range dirs {
		out = append(out, filepath.Base(d))
	}
	return out
}

// capturePlans runs every plan case on the test server and writes its
// plan and facts into the folder of the server's version, which it
// returns.
func capturePlans(t *testing.T) string {
	ctx := context.Background()
	dsn := testdb.NewDatabase(t)
	admin := testdb.Conn(t, dsn)
	mustExec(t, admin, planFixtures...)
	conn := safeConn(t, dsn, time.Minute)
	ex := &Explainer{Q: conn}
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&ex.VersionNum); err != nil {
		t.Fatal(err)
	}
	version := fmt.Sprintf("pg%d", ex.VersionNum/10000)
	var jit bool
	if err := conn.QueryRow(ctx, "SELECT pg_jit_available()").Scan(&jit); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join("testdata", "plans", version), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range planCases {
		if c.jit && !jit {
			for _, suffix := range []string{".json", ".facts.json", ".findings.json"} {
				os.Remove(planPathFor(version, c.name, suffix))
			}
			continue
		}
		for _, s := range c.settings {
			mustExec(t, conn, "SET "+s)
		}
		x, err := ex.Explain(ctx, Source{SQL: c.query}, !c.generic)
		mustExec(t, conn, "RESET ALL")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if err := os.WriteFile(planPathFor(version, c.name, ".json"), append(x.Explain, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		facts, err := tableFacts(ctx, conn, x.Plan.Relations())
		if err != nil {
			t.Fatal(err)
		}
		writeJSON(t, planPathFor(version, c.name, ".facts.json"), facts)
	}
	return version
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./analyze -run TestGoldenPlans -update)", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// loadCase reads a captured plan and its facts.
func loadCase(t *testing.T, c planCase) (*Plan, map[string]TableFacts) {
	return loadCaseFor(t, goldenBase, c)
}

// loadCaseFor reads one version's captured plan and its facts.
func loadCaseFor(t *testing.T, version string, c planCase) (*Plan, map[string]TableFacts) {
	t.Helper()
	b, err := os.ReadFile(planPathFor(version, c.name, ".json"))
	if err != nil {
		t.Fatalf("%v (run go test ./analyze -run TestGoldenPlans -update)", err)
	}
	p, err := ParsePlan(b)
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	p.Generic = c.generic
	var facts map[string]TableFacts
	readJSON(t, planPathFor(version, c.name, ".facts.json"), &facts)
	return p, facts
}

// updateFindings rewrites every version's golden findings from its plans
// as they were captured, when a rule's wording or severity changes.
var updateFindings = flag.Bool("update-findings", false, "rewrite the golden findings of every version from the captured plans")

// TestGoldenPlans runs the rules on plans captured from each real server
// (testdata/plans/pg14 … pg18): on every version each case fires its rule,
// the healthy plan fires none, and the findings match the golden files.
// With -update it captures the test server's version first;
// -update-findings rewrites the findings of every version.
func TestGoldenPlans(t *testing.T) {
	captured := ""
	if *update {
		captured = capturePlans(t)
	}
	for _, version := range goldenVersions(t) {
		for _, c := range planCases {
			t.Run(version+"/"+c.name, func(t *testing.T) {
				if _, err := os.Stat(planPathFor(version, c.name, ".json")); c.jit && err != nil {
					t.Skipf("not captured on %s: its server had no JIT (the npm builds have no LLVM)", version)
				}
				p, facts := loadCaseFor(t, version, c)
				got := Evaluate(Subject{Plan: p, Tables: facts})
				var rules []string
				for _, f := range got {
					rules = append(rules, f.Rule)
				}
				if len(c.fires) == 0 && len(got) > 0 {
					t.Errorf("healthy plan fired %v", rules)
				}
				for _, want := range c.fires {
					if !slices.Contains(rules, want) {
						t.Errorf("rule %s did not fire; fired %v\nshape: %s", want, rules, p.Shape())
					}
				}
				if got == nil {
					got = []Finding{}
				}
				golden := planPathFor(version, c.name, ".findings.json")
				if version == captured || *updateFindings {
					writeJSON(t, golden, got)
				}
				var want []Finding
				readJSON(t, golden, &want)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("findings differ from %s (-want +got):\n%s", golden, diff)
				}
			})
		}
	}
}

// TestRulesSilentOnHealthy checks every rule against the healthy plan one
// by one, so a rule that fires everywhere cannot hide behind another.
func TestRulesSilentOnHealthy(t *testing.T) {
	p, facts := loadCase(t, planCases[0])
	s := Subject{Plan: p, Tables: facts}
	for _, n := range p.Nodes() {
		for name, f := range map[string]func(*Node) []Finding{
			"seq-scan-large": s.seqScanLarge, "rows-removed": s.rowsRemoved, "spills": s.spills,
			"lossy-bitmap": s.lossyBitmap, "heap-fetches": s.heapFetches, "nested-loop": s.nestedLoop,
		} {
			if got := f(n); len(got) > 0 {
				t.Errorf("%s fired on node %s: %+v", name, n.Label(), got)
			}
		}
	}
	if got := s.misestimates(p.Root, map[*Node]bool{}); len(got) > 0 {
		t.Errorf("row-misestimate fired: %+v", got)
	}
	for name, got := range map[string][]Finding{"wide-rows": s.wideRows(), "no-limit": s.noLimit(), "n-plus-one": s.nPlusOne(), "jit": s.jitHeavy(),
		"seq-scan-large (partitions)": s.partitionScans(), "partition-pruning": s.pruning()} {
		if len(got) > 0 {
			t.Errorf("%s fired: %+v", name, got)
		}
	}
}

// TestEachRuleHasACase keeps the plan cases in step with the rule list.
func TestEachRuleHasACase(t *testing.T) {
	// statement-level: TestStatementRules; two plans of one statement:
	// TestGenericPlanDiffersJudgedBoth; a fleet's statement that ran on
	// one standby only: TestFleetAnalyze (cmd/hishamos-perf), on a real
	// standby.
	covered := map[string]bool{RuleNPlusOne: true, RuleGenericPlanDiffers: true, RuleReplicaOnly: true}
	for _, c := range planCases {
		for _, r := range c.fires {
			covered[r] = true
		}
	}
	var missing []string
	for _, r := range Rules {
		if r.Scope != "index" && !covered[r.ID] {
			missing = append(missing, r.ID)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("plan rules without a golden plan: %v", missing)
	}
}
