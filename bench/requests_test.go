package bench_test

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/hishamos/hishamos-perf/bench"
	"github.com/hishamos/hishamos-perf/internal/testdb"
	"github.com/hishamos/hishamos-perf/profiles"
)

// listPair is the HishamOS profile cut down to the command list's pair
// (every other statement's weight set to 0), measured with both halves.
func listPair(t *testing.T) *bench.Workload {
	t.Helper()
	p, err := profiles.Load("hishamos")
	if err != nil {
		t.Fatal(err)
	}
	cut := *p
	cut.Statements = slices.Clone(p.Statements)
	for i := range cut.Statements {
		if s := &cut.Statements[i]; s.Name != "command_templates_list_before" && s.Name != "command_templates_list_after" {
			s.Weight = 0
		}
	}
	w, err := bench.FromProfile(&cut, bench.Both)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestRequestCommandListBeforeAfter is issue 19's request comparison on the
// sandbox at scale small, on both of bench's paths (the direct one on the
// socket, pgconn over TLS): the command list before its rewrite runs
// 1 + 2×rows queries per request (the list, then a category and an agent
// per template listed, N+1) and after it 2 (the joined page and DRF's
// COUNT); bytes received per request are lower after. Every figure is
// checked against the samples the run keeps: each request's queries
// against its leader's rows, the means against the samples, the
// follow-ups' own calls against the requests', and the comparison's
// figures against the two requests'.
func TestRequestCommandListBeforeAfter(t *testing.T) {
	dsn := sharedDB(t)
	var active, nullAgents int64
	if err := testdb.Conn(t, dsn).QueryRow(context.Background(),
		`SELECT count(*), count(*) FILTER (WHERE recommended_agent_id IS NULL) FROM commands_commandtemplate WHERE is_active`).Scan(&active, &nullAgents); err != nil {
		t.Fatal(err)
	}
	// A template without an agent costs no lookup: Django's descriptor
	// returns None for a NULL foreign key without a query. The sandbox has
	// such templates, so 1 + 2×rows holds for the rows that have one of
	// each: 1 + rows + rows with an agent.
	if nullAgents == 0 || nullAgents == active {
		t.Fatalf("%d of %d active templates have no agent: the test wants some of each", nullAgents, active)
	}
	withAgent := active - nullAgents
	for _, path := range []struct{ name, dsn string }{{"direct", dsn}, {"pgconn-TLS", testdb.TLSDSN(t, dsn)}} {
		t.Run(path.name, func(t *testing.T) {
			o := quick()
			o.Iterations = 12
			run, err := bench.Measure(t.Context(), connector(path.dsn), listPair(t), o)
			if err != nil {
				t.Fatal(err)
			}
			before, after := run.Request("command_templates_list_before"), run.Request("command_templates_list_after")
			if before == nil || after == nil || len(run.Requests) != 2 {
				t.Fatalf("requests %+v: want the two halves of the command list", run.Requests)
			}
			for _, rr := range []*bench.RequestRun{before, after} {
				if rr.Calls != o.Iterations || rr.Errors != 0 || len(rr.Samples) != rr.Calls ||
					len(rr.Queries) != rr.Calls || len(rr.Rows) != rr.Calls || len(rr.LeaderRows) != rr.Calls || len(rr.Bytes) != rr.Calls {
					t.Fatalf("%s: %d requests, %d errors, samples %d/%d/%d/%d/%d; want %d of each",
						rr.Name, rr.Calls, rr.Errors, len(rr.Samples), len(rr.Queries), len(rr.Rows), len(rr.LeaderRows), len(rr.Bytes), o.Iterations)
				}
				if rr.BytesPerRequest == nil || !near(*rr.BytesPerRequest, meanOf(rr.Bytes)) {
					t.Errorf("%s: bytes per request %v, the samples' mean %v", rr.Name, rr.BytesPerRequest, meanOf(rr.Bytes))
				}
				if !near(rr.QueriesPerRequest, meanOf(rr.Queries)) || !near(rr.RowsPerRequest, meanOf(rr.Rows)) {
					t.Errorf("%s: %v queries and %v rows per request, the samples' means %v and %v",
						rr.Name, rr.QueriesPerRequest, rr.RowsPerRequest, meanOf(rr.Queries), meanOf(rr.Rows))
				}
				if rr.P50Ms != bench.Median(rr.Samples) {
					t.Errorf("%s: p50 %v, the samples' median %v", rr.Name, rr.P50Ms, bench.Median(rr.Samples))
				}
				for k, b := range rr.Bytes {
					if b <= 0 {
						t.Errorf("%s: request %d received %d bytes", rr.Name, k, b)
					}
				}
			}
			var categories, agents int64
			for k := range before.Calls {
				rows := before.LeaderRows[k]
				if rows != active {
					t.Errorf("before, request %d: the list sent %d rows, the table has %d active templates", k, rows, active)
				}
				if want := 1 + int(rows) + int(withAgent); before.Queries[k] != want {
					t.Errorf("before, request %d: %d queries for %d templates listed (%d with an agent), want 1 + %d + %d = %d",
						k, before.Queries[k], rows, withAgent, rows, withAgent, want)
				}
				// Each lookup by primary key returns its one row.
				if want := rows + rows + withAgent; before.Rows[k] != want {
					t.Errorf("before, request %d: %d rows received, want %d listed and one per lookup", k, before.Rows[k], want)
				}
				categories += rows
				agents += withAgent
			}
			for name, want := range map[string]int64{"command_category_by_id": categories, "agent_by_id": agents} {
				if sr := run.Statement(name); sr == nil || int64(sr.Calls) != want || sr.Errors != 0 || sr.RowsPerCall != 1 {
					t.Errorf("%s: %+v; want %d calls (one per template listed with one), one row each", name, sr, want)
				}
			}
			for k := range after.Calls {
				if after.Queries[k] != 2 || after.LeaderRows[k] != min(active, 20) {
					t.Errorf("after, request %d: %d queries, a page of %d rows; want 2, a page of %d", k, after.Queries[k], after.LeaderRows[k], min(active, 20))
				}
			}
			if *after.BytesPerRequest >= *before.BytesPerRequest {
				t.Errorf("bytes per request: %v before, %v after; want fewer after", *before.BytesPerRequest, *after.BytesPerRequest)
			}
			if after.ServerMs == nil || before.ServerMs == nil {
				t.Errorf("server time per request: before %v, after %v", before.ServerMs, after.ServerMs)
			}

			cs := bench.CompareRequests(run, run, bench.CompareOptions{Alpha: bench.DefaultAlpha, NoisePct: bench.DefaultNoisePct})
			if len(cs) != 1 {
				t.Fatalf("%d request comparisons, want the command list's", len(cs))
			}
			c := cs[0]
			if c.Name != "command_templates_list" || c.Before != before.Name || c.After != after.Name {
				t.Errorf("comparison %q of %s and %s", c.Name, c.Before, c.After)
			}
			if c.BeforeQueries != before.QueriesPerRequest || c.AfterQueries != 2 ||
				*c.BeforeBytes != *before.BytesPerRequest || *c.AfterBytes != *after.BytesPerRequest ||
				c.BytesChangePct == nil || *c.BytesChangePct >= 0 {
				t.Errorf("comparison figures %+v; want the requests' own", c)
			}
			if c.BeforeP50Ms != before.P50Ms || c.AfterP50Ms != after.P50Ms ||
				!near(c.MedianChangePct, (after.P50Ms/before.P50Ms-1)*100) || c.Verdict == "" || c.Reason == "" {
				t.Errorf("comparison %+v: want the requests' medians judged", c.Comparison)
			}
		})
	}
}

// TestRequestPerRowArgumentsComeFromTheRow: a per-row follow-up takes its
// arguments from the row the leader returned, not from its generator. The
// leader lists three templates; the follow-up's generator samples every
// template, and the follow-up only finds a row for those three: drawn,
// most lookups would find none, taken from the rows, every one finds its
// template.
func TestRequestPerRowArgumentsComeFromTheRow(t *testing.T) {
	dsn := sharedDB(t)
	w := profileWorkload(t, `name: perrow
statements:
  - name: three
    sql: SELECT "id", "name" FROM "commands_commandtemplate" ORDER BY "id" LIMIT 3
    then:
      - {statement: one, per_row: true}
  - name: one
    weight: 0
    sql: >-
      SELECT "id" FROM "commands_commandtemplate" WHERE "id" = $1
      AND "id" IN (SELECT "id" FROM "commands_commandtemplate" ORDER BY "id" LIMIT 3)
    params:
      - {kind: sample, from: commands_commandtemplate.id, skew: uniform}
`)
	run, err := bench.Measure(t.Context(), connector(dsn), w, quick())
	if err != nil {
		t.Fatal(err)
	}
	one, rr := run.Statement("one"), run.Request("three")
	if one == nil || rr == nil || one.Calls != 3*quick().Iterations || one.RowsPerCall != 1 {
		t.Fatalf("follow-up %+v, request %+v: want 3 calls a request, each finding its row", one, rr)
	}
	for k, q := range rr.Queries {
		if q != 4 || rr.Rows[k] != 6 {
			t.Errorf("request %d: %d queries, %d rows; want 4 and 6", k, q, rr.Rows[k])
		}
	}
}

func meanOf[T int | int64](xs []T) float64 {
	s := 0.0
	for _, x := range xs {
		s += float64(x)
	}
	return s / float64(len(xs))
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
