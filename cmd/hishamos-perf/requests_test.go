package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestRequestVariantBothCLI: bench --variant both measures the HishamOS
// profile's two halves in one run and compares the command list's pair as
// requests, in JSON (every figure the mean of the samples --samples keeps)
// and in the text layout's two requests tables.
func TestRequestVariantBothCLI(t *testing.T) {
	dsn := seededDB(t)
	r := cli(t, "--dsn", dsn, "-q", "--format", "json", "bench", "--variant", "both", "--iterations", "4", "--warmup", "1", "--samples")
	if r.code != 0 {
		t.Fatalf("bench --variant both: exit %d\n%s", r.code, r.stderr)
	}
	type request struct {
		Name              string
		Variant           string
		Calls             int
		QueriesPerRequest float64  `json:"queries_per_request"`
		BytesPerRequest   *float64 `json:"bytes_per_request"`
		Queries           []int
		Bytes             []int64
		LeaderRows        []int64 `json:"leader_rows"`
	}
	var doc struct {
		Workload struct{ Variant string }
		Requests []request
		Compared []struct {
			Name          string
			Before, After string
			BeforeQueries float64 `json:"before_queries_per_request"`
			AfterQueries  float64 `json:"after_queries_per_request"`
			BeforeBytes   float64 `json:"before_bytes_per_request"`
			AfterBytes    float64 `json:"after_bytes_per_request"`
			Verdict       string
		} `json:"request_comparison"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if doc.Workload.Variant != "both" || len(doc.Requests) != 2 || len(doc.Compared) != 1 {
		t.Fatalf("variant %q, %d requests, %d compared", doc.Workload.Variant, len(doc.Requests), len(doc.Compared))
	}
	byName := map[string]request{}
	for _, rq := range doc.Requests {
		byName[rq.Name] = rq
		if rq.Calls != 4 || len(rq.Queries) != 4 || len(rq.Bytes) != 4 || rq.BytesPerRequest == nil {
			t.Fatalf("%s: %d requests, samples %v %v", rq.Name, rq.Calls, rq.Queries, rq.Bytes)
		}
		q, b := 0, int64(0)
		for k := range rq.Queries {
			q += rq.Queries[k]
			b += rq.Bytes[k]
		}
		if rq.QueriesPerRequest != float64(q)/4 || *rq.BytesPerRequest != float64(b)/4 {
			t.Errorf("%s: %v queries and %v bytes per request; the samples' means are %v and %v", rq.Name, rq.QueriesPerRequest, *rq.BytesPerRequest, float64(q)/4, float64(b)/4)
		}
	}
	c := doc.Compared[0]
	before, after := byName[c.Before], byName[c.After]
	if c.Name != "command_templates_list" || before.Variant != "before" || after.Variant != "after" {
		t.Fatalf("compared %q: %s (%s) against %s (%s)", c.Name, c.Before, before.Variant, c.After, after.Variant)
	}
	if c.BeforeQueries != before.QueriesPerRequest || c.BeforeQueries <= float64(before.LeaderRows[0]) || c.AfterQueries != 2 ||
		c.BeforeBytes != *before.BytesPerRequest || c.AfterBytes != *after.BytesPerRequest || c.AfterBytes >= c.BeforeBytes || c.Verdict == "" {
		t.Errorf("comparison %+v; want the requests' own figures, more than a query per row before, 2 after, fewer bytes after", c)
	}

	r = cli(t, "--dsn", dsn, "bench", "--variant", "both", "--iterations", "4", "--warmup", "1")
	if r.code != 0 {
		t.Fatalf("bench --variant both: exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"Requests (a leading statement", "Requests compared (before → after)", "queries/req", "bytes/req"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the text output lacks %q:\n%s", want, r.stdout)
		}
	}
}
