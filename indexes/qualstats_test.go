package indexes_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/hishamos/hishamos-perf/indexes"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// TestQualStatsSelectivityOrdersKeys: on skewed data pg_stats and the
// application disagree about which equality is selective. kind has a
// thousand values, one of them (0) on a tenth of the rows: averaged over
// its values, an equality on it keeps about 1% of the rows, fewer than
// one on grp (64 even values, 1.6%), so pg_stats puts kind first. But the
// application always asks for kind = 0, which keeps 10%. pg_qualstats
// counted it (kind is the filter of the scan of grp's index): with its
// count the proposed index leads with grp and says why; once pg_qualstats
// is reset, the same statements from pg_stat_statements lead with kind,
// as pg_stats has it.
func TestQualStatsSelectivityOrdersKeys(t *testing.T) {
	testdb.NeedExtension(t, "pg_qualstats")
	ctx := context.Background()
	conn, _ := newDB(t)
	for _, sql := range []string{
		`CREATE TABLE skew (id int PRIMARY KEY, kind int NOT NULL, grp int NOT NULL, note text NOT NULL)`,
		// kind = 0 on every tenth row, else spread over 1..999; grp one of
		// 64 even groups, scattered over the table.
		`INSERT INTO skew SELECT i, CASE WHEN i % 10 = 0 THEN 0 ELSE 1 + (i * 7919) % 999 END, (i * 37 + i / 640) % 64, repeat('x', 40) FROM generate_series(0, 59999) i`,
		`CREATE INDEX skew_grp ON skew (grp)`,
		`ANALYZE skew`,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Exec(ctx, "SELECT pg_stat_statements_reset(), pg_qualstats_reset()"); err != nil {
		t.Fatal(err)
	}
	// Every execution sampled, each planned with its values (pg_qualstats
	// sees the constants of custom plans only), and the scan of grp's
	// index, whose filter is kind: the plan the application's statement
	// has before it gets its index.
	for _, set := range []string{"SET pg_qualstats.sample_rate = 1", "SET plan_cache_mode = force_custom_plan", "SET enable_seqscan = off"} {
		if _, err := conn.Exec(ctx, set); err != nil {
			t.Fatal(err)
		}
	}
	const app = `SELECT id, note FROM skew WHERE kind = $1 AND grp = $2`
	rng := rand.New(rand.NewPCG(1, 2))
	for range 30 {
		rows, err := conn.Query(ctx, app, 0, rng.IntN(64))
		if err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	for _, set := range []string{"RESET pg_qualstats.sample_rate", "RESET plan_cache_mode", "RESET enable_seqscan"} {
		if _, err := conn.Exec(ctx, set); err != nil {
			t.Fatal(err)
		}
	}
	propose := func() (*indexes.Result, *indexes.Proposal) {
		t.Helper()
		w, err := indexes.FromStatStatements(ctx, conn, 0)
		if err != nil {
			t.Fatal(err)
		}
		res, err := indexes.Propose(ctx, conn, w, defaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range res.Proposals {
			if p.Table == "skew" {
				return res, &res.Proposals[i]
			}
		}
		t.Fatalf("no index proposed on skew:%s", describe(res))
		return nil, nil
	}

	res, p := propose()
	if len(p.Columns) < 2 || p.Columns[0] != "grp" || p.Columns[1] != "kind" {
		t.Errorf("with pg_qualstats' count of kind = 0 (10%% of the rows), want (grp, kind), got %s:%s", p.Definition, describe(res))
	}
	if !strings.Contains(p.Reason, "pg_qualstats: kind = … keeps 10% of rows") {
		t.Errorf("the reason does not say what pg_qualstats measured: %s", p.Reason)
	}
	measured := false
	for _, n := range res.Notes {
		measured = measured || (strings.HasPrefix(n, "pg_qualstats:") && strings.Contains(n, "really kept"))
	}
	if !measured {
		t.Errorf("no note of the filter ratios read: %q", res.Notes)
	}
	t.Log(p.Definition, " — ", p.Reason)

	if _, err := conn.Exec(ctx, "SELECT pg_qualstats_reset()"); err != nil {
		t.Fatal(err)
	}
	res, p = propose()
	if len(p.Columns) == 0 || p.Columns[0] != "kind" {
		t.Errorf("without pg_qualstats' counts, pg_stats' averages put kind first; got %s:%s", p.Definition, describe(res))
	}
	if strings.Contains(p.Reason, "pg_qualstats:") {
		t.Errorf("the reason cites pg_qualstats, which measured nothing: %s", p.Reason)
	}
	t.Log(p.Definition, " — ", p.Reason)
}

// TestQualStatsSelectivityBroadPredicateLeadsNoIndex: state = 1 holds 70%
// of the rows and is what the application always sends with a range on
// ts. pg_stats alone leads with state (an equality before the range);
// pg_qualstats counted state = 1 keeping 70% of the rows it filtered, so
// no candidate leads with it: ts leads, state follows inside the index.
func TestQualStatsSelectivityBroadPredicateLeadsNoIndex(t *testing.T) {
	testdb.NeedExtension(t, "pg_qualstats")
	ctx := context.Background()
	conn, _ := newDB(t)
	for _, sql := range []string{
		`CREATE TABLE events (id int PRIMARY KEY, state int NOT NULL, ts int NOT NULL, note text NOT NULL)`,
		`INSERT INTO events SELECT i, CASE WHEN i % 10 < 7 THEN 1 ELSE 2 + i % 5 END, (i * 7919) % 60000, repeat('x', 40) FROM generate_series(0, 59999) i`,
		`CREATE INDEX events_ts ON events (ts)`,
		`ANALYZE events`,
		`SELECT pg_stat_statements_reset(), pg_qualstats_reset()`,
		"SET pg_qualstats.sample_rate = 1",
		"SET plan_cache_mode = force_custom_plan",
		"SET enable_seqscan = off",
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	const app = `SELECT id, note FROM events WHERE state = $1 AND ts > $2`
	for i := range 30 {
		rows, err := conn.Query(ctx, app, 1, 57000+i*10)
		if err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	for _, set := range []string{"RESET pg_qualstats.sample_rate", "RESET plan_cache_mode", "RESET enable_seqscan"} {
		if _, err := conn.Exec(ctx, set); err != nil {
			t.Fatal(err)
		}
	}
	leads := func() (string, *indexes.Result) {
		t.Helper()
		w, err := indexes.FromStatStatements(ctx, conn, 0)
		if err != nil {
			t.Fatal(err)
		}
		res, err := indexes.Propose(ctx, conn, w, defaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		var led []string
		for _, p := range res.Proposals {
			if p.Table == "events" {
				led = append(led, p.Columns[0])
			}
		}
		for _, r := range res.Rejected {
			if r.Table == "events" {
				first := strings.TrimPrefix(r.Index, "events (")
				if i := strings.IndexAny(first, ",)"); i >= 0 {
					first = first[:i]
				}
				led = append(led, first)
			}
		}
		return strings.Join(led, " "), res
	}
	got, res := leads()
	if strings.Contains(" "+got+" ", " state ") || !strings.Contains(got, "ts") {
		t.Errorf("state = 1 kept 70%% of the rows: want ts and never state leading the candidates, got %q:%s", got, describe(res))
	}
	for _, p := range res.Proposals {
		if p.Table == "events" && !strings.Contains(p.Reason, "pg_qualstats: state = … keeps 70% of rows") {
			t.Errorf("the reason does not say what pg_qualstats measured: %s", p.Reason)
		}
	}
	t.Log("with pg_qualstats, leading keys:", got, describe(res))
	if _, err := conn.Exec(ctx, "SELECT pg_qualstats_reset()"); err != nil {
		t.Fatal(err)
	}
	if got, res = leads(); !strings.Contains(" "+got+" ", " state ") {
		t.Errorf("without pg_qualstats' counts, pg_stats' order leads with the equality; got %q:%s", got, describe(res))
	}
	t.Log("without, leading keys:", got, describe(res))
}

// TestProposeLeavesQualStatsAlone: propose's own EXPLAINs, planned with
// values it drew, are not the application's: with pg_qualstats sampling
// every statement, none of them reaches pg_qualstats (they would count
// as constants the application ran with, read back by the next
// propose), and the session's pg_qualstats.enabled is given back.
func TestProposeLeavesQualStatsAlone(t *testing.T) {
	testdb.NeedExtension(t, "pg_qualstats")
	ctx := context.Background()
	conn, _ := newDB(t)
	for _, sql := range []string{
		`CREATE TABLE tickets (id int PRIMARY KEY, state text NOT NULL, owner int NOT NULL)`,
		`INSERT INTO tickets SELECT i, CASE WHEN i % 40 = 0 THEN 'open' ELSE 'closed' END, i % 500 FROM generate_series(1, 40000) i`,
		`ANALYZE tickets`,
		"SELECT pg_qualstats_reset()",
		"SET pg_qualstats.sample_rate = 1",
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	w, err := indexes.ParseSQL("tickets.sql", `SELECT id FROM tickets WHERE owner = 7 AND state = 'open';
SELECT id FROM tickets WHERE owner = 9 ORDER BY id DESC LIMIT 10;`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := indexes.Propose(ctx, conn, w, defaultOptions()); err != nil {
		t.Fatal(err)
	}
	var sampled int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_qualstats() WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())").Scan(&sampled); err != nil {
		t.Fatal(err)
	}
	if sampled != 0 {
		t.Errorf("propose's own statements left %d entries in pg_qualstats", sampled)
	}
	var enabled string
	if err := conn.QueryRow(ctx, "SHOW pg_qualstats.enabled").Scan(&enabled); err != nil {
		t.Fatal(err)
	}
	if enabled != "on" {
		t.Errorf("pg_qualstats.enabled left %q", enabled)
	}
	if _, err := conn.Exec(ctx, "RESET pg_qualstats.sample_rate"); err != nil {
		t.Fatal(err)
	}
}
