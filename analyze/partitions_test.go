package analyze

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// eventsDB is a fresh database holding the events workload's partitioned
// tables (testdata/workloads/events): events RANGE-partitioned by month
// with November LIST-partitioned by kind and a DEFAULT, accounts
// LIST-partitioned by region.
func eventsDB(t *testing.T) string {
	t.Helper()
	dsn := testdb.NewDatabase(t)
	testdb.LoadEvents(t, dsn, 60000, 2000)
	return dsn
}

// explainOne explains one statement, analyzed or not, and returns its
// findings.
func explainOne(t *testing.T, dsn, sql string, analyzed bool) []Finding {
	t.Helper()
	rep, err := ExplainAll(context.Background(), testdb.Conn(t, dsn), []Source{{SQL: sql, Index: 1}}, ExplainOptions{Analyze: analyzed})
	if err != nil {
		t.Fatal(err)
	}
	return rep.Findings
}

// On a partitioned table the sequential scans of one statement are judged
// together: each partition holds few rows, all of them together many. The
// finding names the partitioned table and the partitions scanned, and asks
// for an index on the table.
func TestSeqScanLargeNamesThePartitions(t *testing.T) {
	dsn := eventsDB(t)
	for _, analyzed := range []bool{false, true} {
		fs := findingsBy(explainOne(t, dsn, `SELECT id, kind, created_at FROM events WHERE account_id = 4242 ORDER BY created_at DESC LIMIT 50`, analyzed))
		large := fs[RuleSeqScanLarge]
		if len(large) != 1 {
			t.Fatalf("analyze %v: %d seq-scan-large findings, want one for the table: %+v", analyzed, len(large), large)
		}
		f := large[0]
		if f.Table != "public.events" || f.Evidence["partitions_scanned"] != 8 || f.Evidence["partitions_total"] != 8 || f.Evidence["rows_scanned"] < 50000 {
			t.Errorf("analyze %v: %s %v", analyzed, f.Table, f.Evidence)
		}
		for _, want := range []string{"all 8 partitions of public.events", "events_2026_06, events_2026_07, events_2026_08, events_2026_09 and 4 more", "(account_id = 4242)"} {
			if !strings.Contains(f.Message, want) {
				t.Errorf("analyze %v: the message does not say %q: %s", analyzed, want, f.Message)
			}
		}
		if !strings.Contains(f.Fix, "Index public.events") || !strings.Contains(f.Fix, "built on every partition") {
			t.Errorf("fix: %s", f.Fix)
		}
		if len(fs[RulePartitionPruning]) > 0 {
			t.Errorf("a statement without the partition key is no pruning failure: %+v", fs[RulePartitionPruning])
		}
	}
	// A statement pruned to November's two partitions names those.
	fs := findingsBy(explainOne(t, dsn, `SELECT id FROM events WHERE status = 'failed' AND created_at >= timestamptz '2026-11-01' AND created_at < timestamptz '2026-12-01'`, true))
	if l := fs[RuleSeqScanLarge]; len(l) == 1 {
		if !strings.Contains(l[0].Message, "2 of the 8 partitions of public.events (events_2026_11_click, events_2026_11_other)") {
			t.Errorf("pruned to November: %s", l[0].Message)
		}
	}
}

// A filter on the partition key through a cast or a function prunes no
// partition: partition-pruning says so, names the key and the condition;
// the same statement written as a range on the key prunes and is not
// reported.
func TestPartitionPruningFailure(t *testing.T) {
	dsn := eventsDB(t)
	cases := []struct {
		sql, how string
		fires    bool
	}{
		{`SELECT count(*) FROM events WHERE created_at::date = date '2026-11-15'`, "a cast", true},
		{`SELECT count(*) FROM events WHERE date_trunc('day', created_at) = timestamptz '2026-11-15'`, "the function date_trunc", true},
		{`SELECT count(*) FROM accounts WHERE lower(region) = 'eu'`, "the function lower", true},
		{`SELECT count(*) FROM events WHERE created_at >= timestamptz '2026-11-15' AND created_at < timestamptz '2026-11-16'`, "", false},
		{`SELECT count(*) FROM accounts WHERE region = 'eu'`, "", false},
	}
	for _, c := range cases {
		for _, analyzed := range []bool{false, true} {
			fs := findingsBy(explainOne(t, dsn, c.sql, analyzed))[RulePartitionPruning]
			if !c.fires {
				if len(fs) > 0 {
					t.Errorf("%s: %+v", c.sql, fs)
				}
				continue
			}
			if len(fs) != 1 {
				t.Errorf("%s (analyze %v): %d partition-pruning findings, want 1", c.sql, analyzed, len(fs))
				continue
			}
			f := fs[0]
			if !strings.Contains(f.Message, "puts the key through "+c.how) || f.Evidence["partitions_scanned"] != f.Evidence["partitions_total"] {
				t.Errorf("%s: %s %v", c.sql, f.Message, f.Evidence)
			}
		}
	}
}

// Index health reads a partitioned index as one: its size and scans are
// its partitions' indexes' summed, an index unused on every partition is
// unused (one scanned on some partition is not), and a partitioned index
// missing a partition's index is INVALID, naming the partition. No
// partition's index is reported on its own.
func TestIndexHealthPerPartitionedIndex(t *testing.T) {
	dsn := eventsDB(t)
	ctx := context.Background()
	conn := testdb.Conn(t, dsn)
	for _, sql := range []string{
		`CREATE INDEX events_account_idx ON public.events (account_id)`,
		`CREATE INDEX events_kind_status_idx ON public.events (kind, status)`,
		`CREATE INDEX accounts_email_idx ON ONLY public.accounts (email)`,
		`CREATE INDEX accounts_eu_email_idx ON public.accounts_eu (email)`,
		`ALTER INDEX public.accounts_email_idx ATTACH PARTITION public.accounts_eu_email_idx`,
		`CREATE INDEX accounts_us_email_idx ON public.accounts_us (email)`,
		`ALTER INDEX public.accounts_email_idx ATTACH PARTITION public.accounts_us_email_idx`,
		`ANALYZE`,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	// events_account_idx is scanned on one partition only.
	runWorkload(t, dsn, `SELECT /*+ one partition */ count(*) FROM events WHERE account_id = $1 AND created_at >= '2026-07-01' AND created_at < '2026-07-02'`, 20,
		func(i int) []any { return []any{i + 1} })
	waitFor(t, conn, `SELECT coalesce(sum(idx_scan), 0) > 0 FROM pg_stat_user_indexes WHERE indexrelname LIKE 'events_2026_07_account_id_idx'`)
	// The events database was made a moment ago: its index usage is
	// judged at any age here (IndexHealth waits for DefaultMinStatsAge).
	stats, err := readStatistics(ctx, conn, nil, -1)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := indexHealth(ctx, conn, healthConfig{name: optionWords, stats: stats})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Index{}
	for _, ix := range rep.Indexes {
		byName[ix.Name] = ix
	}
	acc := byName["events_account_idx"]
	if !acc.Partitioned || acc.Partitions != 8 || acc.PartitionsUsed != 1 || acc.Scans == 0 || acc.SizeBytes == 0 {
		t.Errorf("events_account_idx: %+v", acc)
	}
	if leaf := byName["events_2026_07_account_id_idx"]; leaf.PartitionOf != "public.events_account_idx" {
		t.Errorf("events_2026_07_account_id_idx partition of %q", leaf.PartitionOf)
	}
	fs := findingsBy(rep.Findings)
	var unused []string
	for _, f := range fs[RuleUnusedIndex] {
		unused = append(unused, f.Index)
		if strings.HasPrefix(f.Index, "public.events_2026") || strings.HasPrefix(f.Index, "public.accounts_") && f.Index != "public.accounts_email_idx" {
			t.Errorf("a partition's index reported on its own: %s", f.Message)
		}
	}
	if !slices.Contains(unused, "public.events_kind_status_idx") || slices.Contains(unused, "public.events_account_idx") {
		t.Errorf("unused: %v; want events_kind_status_idx (no scan on any partition), not events_account_idx (scanned on one)", unused)
	}
	for _, f := range fs[RuleUnusedIndex] {
		if f.Index == "public.events_kind_status_idx" && !strings.Contains(f.Message, "no scans on any of them") {
			t.Errorf("unused partitioned index: %s", f.Message)
		}
	}
	inv := fs[RuleInvalidIndex]
	if len(inv) != 1 || inv[0].Index != "public.accounts_email_idx" || inv[0].Evidence["partitions_missing"] != 2 ||
		!strings.Contains(inv[0].Message, "public.accounts_apac, public.accounts_other") {
		t.Errorf("invalid-index findings: %+v", inv)
	}
}

// A plan reads a partition's index, never the partitioned index: with the
// scan counters reset a moment ago and index usage judged at any age, a
// partitioned index that a ranked statement's plan reads through its
// partitions (by Bitmap Index Scans, which EXPLAIN gives no schema) is
// kept like any index a plan reads, and none of its partitions' indexes is
// told about on its own.
func TestPartitionedIndexReadByAPlanIsKept(t *testing.T) {
	ctx := context.Background()
	dsn := eventsDB(t)
	admin := testdb.Conn(t, dsn)
	mustExec(t, admin, `CREATE INDEX events_account_idx ON public.events (account_id)`, `ANALYZE`)
	runWorkload(t, dsn, `SELECT /*+ every partition */ count(*) FROM events WHERE account_id = $1`, 20,
		func(i int) []any { return []any{i + 1} })
	// The workload's backend sends its counters as it exits: reset them
	// after they have come.
	// Before 15 a statistics collector receives them, and the reset, in its
	// own time: wait until the sum holds still, reset, and see it at 0.
	const scans = `SELECT coalesce(sum(idx_scan), 0) FROM pg_stat_user_indexes WHERE indexrelname LIKE 'events_%_account_id_idx'`
	waitFor(t, admin, `SELECT (`+scans+`) > 0`)
	for last, still := int64(-1), 0; still < 3; time.Sleep(300 * time.Millisecond) {
		var n int64
		if err := admin.QueryRow(ctx, scans).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == last {
			still++
		} else {
			last, still = n, 0
		}
	}
	mustExec(t, admin, "SELECT pg_stat_reset()")
	waitFor(t, admin, `SELECT (`+scans+`) = 0`)
	// Ranked by calls: the statement ran 20 times, the database's making
	// once each.
	rep, err := Analyze(ctx, safeConn(t, dsn, 30*time.Second), Options{Sort: SortCalls, Explain: 3, MinStatsAge: -1})
	if err != nil {
		t.Fatal(err)
	}
	var read []string
	for _, s := range rep.Statements {
		if s.Plan != nil && s.Plan.Plan != nil && strings.Contains(s.Query, "every partition") {
			read = s.Plan.Plan.IndexesUsed()
		}
	}
	if !slices.ContainsFunc(read, func(name string) bool { return strings.HasSuffix(name, "_account_id_idx") }) {
		t.Fatalf("the statement's plan reads %v, no partition's index of events_account_idx: the case does not hold", read)
	}
	for _, ix := range rep.Indexes {
		if ix.Name == "events_account_idx" && ix.Scans != 0 {
			t.Fatalf("events_account_idx has %d scans since the reset: the plan is not what keeps it", ix.Scans)
		}
	}
	for _, f := range rep.Findings {
		if f.Rule == RuleUnusedIndex && strings.Contains(f.Index, "account") {
			t.Errorf("an index a plan reads is called unused: %s", f.Message)
		}
	}
}

// A plan that reads only November's leaves, two levels under events,
// keeps November's partitioned index and the one on events above it; an
// index on events no plan reads is still unused. (The plans' indexes are
// given as the analysis gathers them: a statement's partition-key
// constants are parameters in pg_stat_statements, so no ranked plan of
// analyze's can be made to prune to November.)
func TestPartitionedIndexKeptUpItsTree(t *testing.T) {
	ctx := context.Background()
	dsn := eventsDB(t)
	admin := testdb.Conn(t, dsn)
	mustExec(t, admin, `CREATE INDEX events_tenant_idx ON public.events (tenant_id)`,
		`CREATE INDEX events_status_idx ON public.events (status)`, `SELECT pg_stat_reset()`)
	rep, err := ExplainAll(ctx, admin, []Source{{Index: 1,
		SQL: `SELECT count(*) FROM events WHERE tenant_id = 7 AND created_at >= '2026-11-01' AND created_at < '2026-12-01'`}}, ExplainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, name := range rep.Statements[0].Plan.IndexesUsed() {
		if !strings.HasPrefix(name, "events_2026_11_") {
			t.Fatalf("the plan reads %s, not November's leaves alone: the case does not hold", name)
		}
		used["public."+name] = true
	}
	if len(used) == 0 {
		t.Fatal("the plan reads no index: the case does not hold")
	}
	stats, err := readStatistics(ctx, admin, nil, -1)
	if err != nil {
		t.Fatal(err)
	}
	ih, err := indexHealth(ctx, admin, healthConfig{name: optionWords, stats: stats, used: used})
	if err != nil {
		t.Fatal(err)
	}
	var unused []string
	for _, f := range ih.Findings {
		if f.Rule == RuleUnusedIndex {
			unused = append(unused, f.Index)
		}
	}
	if slices.Contains(unused, "public.events_tenant_idx") || slices.Contains(unused, "public.events_2026_11_tenant_id_idx") || !slices.Contains(unused, "public.events_status_idx") {
		t.Errorf("unused: %v; want events_status_idx, not events_tenant_idx nor November's", unused)
	}
}
