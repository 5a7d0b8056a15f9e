package indexes_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/hishamos/hishamos-perf/indexes"
	"github.com/hishamos/hishamos-perf/internal/dataset"
	"github.com/hishamos/hishamos-perf/internal/testdb"
	"github.com/hishamos/hishamos-perf/profiles"
)

// TestHishamOSCompareSeed runs the advisor on the HishamOS profile at the
// small scale beside the seed report's eleven indexes.
func TestHishamOSCompareSeed(t *testing.T) {
	ctx := context.Background()
	conn, _ := newDB(t)
	scale, err := dataset.ParseScale("small")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dataset.Load(ctx, conn, dataset.Options{Scale: scale, Seed: 1, Replace: true}); err != nil {
		t.Fatal(err)
	}
	p, err := profiles.Load("hishamos")
	if err != nil {
		t.Fatal(err)
	}
	opts := defaultOptions()
	opts.Compare = p
	res, err := indexes.Propose(ctx, conn, indexes.FromProfile(p), opts)
	if err != nil {
		t.Fatal(err)
	}
	sc := res.Seed
	if sc == nil || sc.Seed.Indexes != 11 {
		t.Fatalf("seed comparison %+v", sc)
	}
	t.Logf("existing %.0f; seed %.0f in %d bytes; advisor %.0f in %d bytes (%d indexes)",
		sc.Before, sc.Seed.Cost, sc.Seed.Bytes, sc.Advisor.Cost, sc.Advisor.Bytes, sc.Advisor.Indexes)
	if sc.Advisor.Cost >= sc.Seed.Cost {
		t.Errorf("advisor's total cost %.0f is not below the seed set's %.0f", sc.Advisor.Cost, sc.Seed.Cost)
	}
	var recAgent *indexes.SeedIndex
	for i := range sc.Indexes {
		if sc.Indexes[i].Name == "cmd_tpl_rec_agent_idx" {
			recAgent = &sc.Indexes[i]
		}
	}
	if recAgent == nil || !recAgent.Redundant ||
		!strings.Contains(recAgent.Reason, "repeats existing index commands_commandtemplate_recommended_agent_id_4c9b7d12") {
		t.Errorf("the recommended_agent index is not reported as repeating Django's foreign-key index: %+v", recAgent)
	}
	for _, ix := range sc.Indexes {
		if ix.Name != "cmd_tpl_rec_agent_idx" && strings.Contains(ix.Reason, "repeats") {
			t.Errorf("%s reported as repeating an index: %s", ix.Name, ix.Reason)
		}
	}
	for _, pr := range res.Proposals {
		if len(pr.Statements) == 0 || pr.Reason == "" || pr.SizeBytes <= 0 {
			t.Errorf("proposal %s: %d statements, reason %q, %d bytes", pr.Name, len(pr.Statements), pr.Reason, pr.SizeBytes)
		}
	}
}

// TestStatStatementsWorkload reads the workload from pg_stat_statements.
func TestStatStatementsWorkload(t *testing.T) {
	ctx := context.Background()
	conn, _ := newDB(t, "small.sql")
	for i := 1; i <= 20; i++ {
		rows, err := conn.Query(ctx, "SELECT id, created_at FROM items WHERE account_id = $1 AND state = 'open' ORDER BY created_at DESC LIMIT 10", i)
		if err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	w, err := indexes.FromStatStatements(ctx, conn, 50)
	if err != nil {
		t.Fatal(err)
	}
	if w.WeightedBy != indexes.WeightTotalTime {
		t.Errorf("weighted by %s", w.WeightedBy)
	}
	res, err := indexes.Propose(ctx, conn, w, defaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range res.Proposals {
		if p.Table == "items" && len(p.Columns) > 0 && p.Columns[0] == "account_id" {
			found = true
		}
	}
	if !found {
		t.Errorf("no index on items(account_id, ...) proposed from pg_stat_statements: %+v (skipped %+v)", res.Proposals, res.Skipped)
	}
}

// TestQualStatsOnTheHishamOSRun: with pg_qualstats installed (the sandbox
// preloads it), the advisor reads the constants each statement of
// pg_stat_statements really ran with: the HishamOS profile's statements,
// run with their generators' values, give their predicates' constants,
// drawn for the parameters by how often each ran; a statement the
// application always sends with one status (a constant passed as a
// parameter, as an ORM does) shows it fixed, and gets a partial index on
// it, which pg_stat_statements' normalized text alone could never tell.
func TestQualStatsOnTheHishamOSRun(t *testing.T) {
	testdb.NeedExtension(t, "pg_qualstats")
	ctx := context.Background()
	conn, _ := newDB(t)
	scale, err := dataset.ParseScale("small")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dataset.Load(ctx, conn, dataset.Options{Scale: scale, Seed: 1, Replace: true}); err != nil {
		t.Fatal(err)
	}
	p, err := profiles.Load("hishamos")
	if err != nil {
		t.Fatal(err)
	}
	bound, err := profiles.Bind(ctx, conn, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_stat_statements_reset(), pg_qualstats_reset()"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "SET pg_qualstats.sample_rate = 1"); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range p.Mix(profiles.After) {
		for range 10 {
			rows, err := conn.Query(ctx, s.SQL, bound.Args(s.Name, rng)...)
			if err != nil {
				t.Fatalf("%s: %v", s.Name, err)
			}
			rows.Close()
		}
	}
	failed := `SELECT id, cost, created_at FROM agents_agentexecution WHERE status = $1 ORDER BY created_at DESC LIMIT 20`
	for range 20 {
		rows, err := conn.Query(ctx, failed, "failed")
		if err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	if _, err := conn.Exec(ctx, "RESET pg_qualstats.sample_rate"); err != nil {
		t.Fatal(err)
	}
	w, err := indexes.FromStatStatements(ctx, conn, 0)
	if err != nil {
		t.Fatal(err)
	}
	res, err := indexes.Propose(ctx, conn, w, defaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var note string
	for _, n := range res.Notes {
		if strings.HasPrefix(n, "pg_qualstats:") {
			note = n
		}
	}
	if note == "" || strings.Contains(note, "the constants of 0 predicates") {
		t.Fatalf("no pg_qualstats constants read: notes %q", res.Notes)
	}
	if !strings.Contains(note, `agents_agentexecution.status = 'failed'`) {
		t.Errorf("the status the application always sends is not seen fixed: %s", note)
	}
	partial := false
	for _, p := range res.Proposals {
		partial = partial || (p.Table == "agents_agentexecution" && p.Where == `"status" = 'failed'`)
	}
	for _, r := range res.Rejected {
		partial = partial || (r.Table == "agents_agentexecution" && strings.HasSuffix(r.Index, `WHERE "status" = 'failed'`))
	}
	if !partial {
		t.Errorf("no candidate WHERE status = 'failed' from pg_qualstats' fixed constant:%s", describe(res))
	}
	t.Log(note)
}
