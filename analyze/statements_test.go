package analyze

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestColumnsFor(t *testing.T) {
	for _, c := range []struct {
		version            string
		total, read, write string
		toplevel, jit      bool
	}{
		{"1.8", "total_exec_time", "blk_read_time", "blk_write_time", false, false},
		{"1.9", "total_exec_time", "blk_read_time", "blk_write_time", true, false},               // PostgreSQL 14
		{"1.10", "total_exec_time", "blk_read_time", "blk_write_time", true, true},               // 15, 16
		{"1.11", "total_exec_time", "shared_blk_read_time", "shared_blk_write_time", true, true}, // 17
		{"1.12", "total_exec_time", "shared_blk_read_time", "shared_blk_write_time", true, true}, // 18
	} {
		m, err := columnsFor(c.version)
		if err != nil {
			t.Fatalf("%s: %v", c.version, err)
		}
		if m.totalTime != c.total || m.readTime != c.read || m.writeTime != c.write || m.toplevel != c.toplevel || (m.jitTime != "0") != c.jit {
			t.Errorf("%s: got %+v", c.version, m)
		}
	}
	if m, _ := columnsFor("1.11"); !strings.Contains(m.jitTime, "jit_deform_time") || !m.statsSince {
		t.Errorf("1.11 lacks jit_deform_time or stats_since: %+v", m)
	}
	for _, v := range []string{"1.7", "1.4", "2.0", "x"} {
		if _, err := columnsFor(v); !errors.Is(err, ErrOldExtension) {
			t.Errorf("columnsFor(%q) = %v, want ErrOldExtension", v, err)
		}
	}
}

// stats builds a statement the way ReadStatements does.
func stats(id int64, query string, calls int64, mean, stddev float64, rows int64) Statement {
	s := Statement{QueryID: id, Fingerprint: Fingerprint(id), Query: query, Source: "pg_stat_statements",
		Calls: calls, MeanTime: mean, StddevTime: stddev, TotalTime: mean * float64(calls), Rows: rows, toplevel: true}
	s.sumSq = float64(calls) * (stddev*stddev + mean*mean)
	return s
}

func TestDelta(t *testing.T) {
	// 10 calls of 1 ms, then 10 more of 3 ms: the interval's mean is 3 ms
	// and its standard deviation 0.
	before := &Snapshot{Statements: []Statement{stats(1, "q1", 10, 1, 0, 10), stats(2, "q2", 5, 2, 0, 5), stats(3, "q3", 100, 1, 0, 1)}}
	after := &Snapshot{Statements: []Statement{stats(1, "q1", 20, 2, 1, 20), stats(2, "q2", 5, 2, 0, 5), stats(3, "q3", 4, 1, 0, 1), stats(4, "q4", 2, 7, 0, 2)}}
	got, restarted := Delta(before, after)
	if restarted != 1 {
		t.Errorf("restarted = %d, want 1 (q3's counters went down)", restarted)
	}
	byQuery := map[string]Statement{}
	for _, s := range got {
		byQuery[s.Query] = s
	}
	if _, ok := byQuery["q2"]; ok {
		t.Error("q2 did not run in the interval but is listed")
	}
	q1 := byQuery["q1"]
	if q1.Calls != 10 || math.Abs(q1.TotalTime-30) > 1e-9 || math.Abs(q1.MeanTime-3) > 1e-9 || q1.StddevTime > 1e-6 || q1.Rows != 10 {
		t.Errorf("q1 delta = calls %d total %v mean %v stddev %v rows %d; want 10, 30, 3, 0, 10", q1.Calls, q1.TotalTime, q1.MeanTime, q1.StddevTime, q1.Rows)
	}
	if q3 := byQuery["q3"]; q3.Calls != 4 {
		t.Errorf("restarted q3 calls = %d, want its new 4", q3.Calls)
	}
	if q4 := byQuery["q4"]; q4.Calls != 2 || q4.MeanTime != 7 {
		t.Errorf("new q4 = %+v", q4)
	}
}

func TestRank(t *testing.T) {
	mk := func() []Statement {
		a := stats(1, "a", 1000, 0.1, 0.01, 1000) // total 100
		b := stats(2, "b", 2, 40, 30, 4)          // total 80
		c := stats(3, "c", 10, 2, 0.5, 10)        // total 20
		a.SharedBlksHit, a.SharedBlksRead = 900, 100
		b.SharedBlksRead, b.TempBlksWritten = 50, 500
		return []Statement{c, b, a}
	}
	for _, k := range []struct {
		key   SortKey
		order string
	}{{SortTotal, "abc"}, {SortMean, "bca"}, {SortCalls, "acb"}, {SortIO, "bac"}, {SortStddev, "bca"}} {
		got, totals := Rank(mk(), k.key, 0)
		order := ""
		for i, s := range got {
			order += s.Query
			if s.Rank != i+1 {
				t.Errorf("%s: rank %d at %d", k.key, s.Rank, i)
			}
		}
		if order != k.order {
			t.Errorf("sort %s: order %s, want %s", k.key, order, k.order)
		}
		if totals.Statements != 3 || totals.Calls != 1012 || math.Abs(totals.TotalTime-200) > 1e-9 {
			t.Errorf("totals %+v", totals)
		}
	}
	got, _ := Rank(mk(), SortTotal, 2)
	if len(got) != 2 || got[0].SharePct != 50 || got[1].SharePct != 40 {
		t.Errorf("top 2 shares: %+v", got)
	}
	if a := got[0]; a.CacheHitPct == nil || *a.CacheHitPct != 90 || a.RowsPerCall != 1 || a.SharedHitPerCall != 0.9 {
		t.Errorf("per-call figures of a: hit %v rows/call %v hit/call %v", a.CacheHitPct, a.RowsPerCall, a.SharedHitPerCall)
	}
	if got[1].CacheHitPct == nil || *got[1].CacheHitPct != 0 {
		t.Errorf("b reads 50 blocks and hits none: cache hit %v", got[1].CacheHitPct)
	}
	if _, err := ParseSortKey("bogus"); !errors.Is(err, ErrSortKey) {
		t.Errorf("ParseSortKey(bogus) = %v", err)
	}
}

func TestStatementRules(t *testing.T) {
	lookup := stats(7, `SELECT "agents_agent"."id", "agents_agent"."name" FROM "agents_agent" WHERE "agents_agent"."id" = $1`, 120_000, 0.05, 0.01, 120_000)
	list := stats(8, `SELECT * FROM agents_agentexecution WHERE status = $1`, 100, 80, 10, 500_000)
	paged := stats(9, `SELECT * FROM agents_agentexecution WHERE status = $1 LIMIT $2`, 100, 8, 1, 5_000)
	write := stats(10, `UPDATE agents_agent SET total_invocations = total_invocations + $1 WHERE id = $2`, 120_000, 0.05, 0.01, 120_000)
	jit := stats(11, `SELECT sum(cost) FROM agents_agentexecution`, 100, 60, 5, 100)
	jit.JITTime = 100 * 25

	for _, c := range []struct {
		name   string
		stmt   Statement
		window time.Duration
		want   map[string]Severity
	}{
		{"n+1 at 2,000 a minute", lookup, time.Hour, map[string]Severity{RuleNPlusOne: Warning}},
		{"n+1 too slow a rate", lookup, 200 * time.Hour, nil},
		{"n+1 unknown window", lookup, 0, nil},
		{"writes are not n+1", write, time.Hour, nil},
		{"list without limit", list, time.Hour, map[string]Severity{RuleNoLimitLargeResult: Warning}},
		{"paginated", paged, time.Hour, nil},
		{"jit from statistics", jit, time.Hour, map[string]Severity{RuleJITHeavy: Warning}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := c.stmt
			ranked, _ := Rank([]Statement{s}, SortTotal, 0)
			got := Evaluate(Subject{Statement: &ranked[0], Window: c.window})
			if len(got) != len(c.want) {
				t.Fatalf("got %d findings %+v, want %v", len(got), got, c.want)
			}
			for _, f := range got {
				if sev, ok := c.want[f.Rule]; !ok || sev != f.Severity {
					t.Errorf("unexpected %s/%s: %s", f.Rule, f.Severity, f.Message)
				}
				if f.Fingerprint != s.Fingerprint || f.Query != s.Query || f.Fix == "" || len(f.Evidence) == 0 {
					t.Errorf("finding lacks statement, fix or evidence: %+v", f)
				}
			}
		})
	}
}

func TestSeverity(t *testing.T) {
	for _, s := range []Severity{Info, Warning, Critical} {
		b, _ := s.MarshalText()
		var back Severity
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("%v round trip: %v %v", s, back, err)
		}
	}
	if _, err := ParseSeverity("urgent"); err == nil {
		t.Error("ParseSeverity(urgent) succeeded")
	}
	fs := []Finding{{Rule: RuleWideRows, Severity: Info}, {Rule: RuleSortSpill, Severity: Critical}, {Rule: RuleSeqScanLarge, Severity: Warning}}
	SortFindings(fs)
	if fs[0].Severity != Critical || fs[2].Severity != Info || MaxSeverity(fs) != Critical || CountAtLeast(fs, Warning) != 2 {
		t.Errorf("sorted %+v", fs)
	}
}

func TestQuoteIdent(t *testing.T) {
	for in, want := range map[string]string{"app": "app", "App": `"App"`, "user": `"user"`, `we"ird`: `"we""ird"`, "order items": `"order items"`, "t1": "t1"} {
		if got := quoteIdent(in); got != want {
			t.Errorf("quoteIdent(%q) = %s, want %s", in, got, want)
		}
	}
}
