package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/cmd/hishamos-perf/internal/report"
	"github.com/hishamos/hishamos-perf/indexes"
	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// make bench-advisor-real's settings (go test ... -args -advisor-real.scale=10).
var (
	advisorRealScale     = flag.Int("advisor-real.scale", 1, "make bench-advisor-real: scale of the workloads' data (1: 300,000 order items, 200,000 activity rows)")
	advisorRealRequests  = flag.Int("advisor-real.requests", 1000, "make bench-advisor-real: application requests traffic.sql sends")
	advisorRealWorkloads = flag.String("advisor-real.workloads", "shop,django", "make bench-advisor-real: the folders of testdata/workloads to run")
)

// The bars (16): the advisor's set costs at most 10% more than the
// hand-written ideal set and takes at most a quarter more bytes, on both
// paths, with no application statement skipped.
var advisorRealTargets = report.AdvisorRealTargets{CostRatio: 1.10, SizeRatio: 1.25}

// BenchmarkAdvisorReal is make bench-advisor-real: for each workload of
// testdata/workloads (shop, django: databases nobody tuned the advisor
// for), it loads schema.sql with psql at -advisor-real.scale, then reads
// the workload twice: from workload.sql, weighted by its `-- weight:`
// comments, and from pg_stat_statements after traffic.sql sent the same
// statements through psql with other values in those proportions
// (pg_qualstats sampling every execution, as days of traffic at its
// default rate would). Each time it runs indexes propose with the
// command's defaults and costs, with indexes.CostSets on the same
// statistics, parameter values and weights, no new index, ideal.sql's
// set, the advisor's set and the advisor's held to one column per index;
// it counts the application's statements skipped (those whose fingerprint
// is one of workload.sql's: the traffic generator's own SELECT format(...)
// statements and psql's are told apart by theirs). The table is written
// to standard output through the report package; the bars are printed,
// not enforced.
func BenchmarkAdvisorReal(b *testing.B) {
	if _, err := exec.LookPath("psql"); err != nil {
		b.Skip("psql is not installed: make bench-advisor-real loads and sends the workloads with it")
	}
	ctx := context.Background()
	var runs []report.AdvisorRealRun
	for _, name := range strings.Split(*advisorRealWorkloads, ",") {
		dir := filepath.Join("..", "..", "testdata", "workloads", strings.TrimSpace(name))
		dsn := testdb.NewDatabase(b)
		psql(b, dsn, nil, "-v", "scale="+strconv.Itoa(*advisorRealScale), "-f", filepath.Join(dir, "schema.sql"))
		conn := testdb.Conn(b, dsn)
		text, err := os.ReadFile(filepath.Join(dir, "workload.sql"))
		if err != nil {
			b.Fatal(err)
		}
		app := appFingerprints(b, string(text))
		ideal := idealSet(b, filepath.Join(dir, "ideal.sql"))

		w, err := indexes.ParseSQL(filepath.Join(dir, "workload.sql"), string(text))
		if err != nil {
			b.Fatal(err)
		}
		runs = append(runs, advisorRealRun(ctx, b, conn, name, "file (weights)", w, app, ideal))

		for _, reset := range []string{"SELECT pg_stat_statements_reset()", "SELECT pg_qualstats_reset()"} {
			if _, err := conn.Exec(ctx, reset); err != nil && !strings.Contains(reset, "qualstats") {
				b.Fatal(err)
			}
		}
		psql(b, dsn, []string{"PGOPTIONS=-c pg_qualstats.sample_rate=1"}, "-v", "scale="+strconv.Itoa(*advisorRealScale),
			"-v", "requests="+strconv.Itoa(*advisorRealRequests), "-f", filepath.Join(dir, "traffic.sql"))
		w, err = indexes.FromStatStatements(ctx, conn, 0)
		if err != nil {
			b.Fatal(err)
		}
		runs = append(runs, advisorRealRun(ctx, b, conn, name, "pg_stat_statements", w, app, ideal))
	}
	title := fmt.Sprintf("indexes propose on workloads nobody tuned it for: scale %d, %d requests of traffic", *advisorRealScale, *advisorRealRequests)
	if err := report.New(os.Stdout, report.Text, true, false, os.Getenv).Write(report.AdvisorReal(title, runs, advisorRealTargets)); err != nil {
		b.Fatal(err)
	}
	for _, r := range runs {
		tag := r.Workload + "-" + strings.Fields(r.Path)[0]
		b.ReportMetric(r.CostAdvisor/r.CostIdeal, tag+"-cost-ratio")
		b.ReportMetric(float64(r.BytesAdvisor)/float64(r.BytesIdeal), tag+"-size-ratio")
		b.ReportMetric(float64(len(r.AppSkipped)), tag+"-app-skipped")
	}
}

// advisorRealRun proposes indexes for w and costs the four sets.
func advisorRealRun(ctx context.Context, b *testing.B, conn *pgx.Conn, workload, path string, w *indexes.Workload, app map[string]string, ideal []indexdef.Def) report.AdvisorRealRun {
	b.Helper()
	opts := indexes.Options{MinImprovement: indexes.DefaultMinImprovement, Seed: 1, AllowBuild: !testdb.Available("hypopg")}
	res, err := indexes.Propose(ctx, conn, w, opts)
	if err != nil {
		b.Fatalf("%s from %s: %v", workload, path, err)
	}
	single := opts
	single.MaxColumns = 1
	one, err := indexes.Propose(ctx, conn, w, single)
	if err != nil {
		b.Fatalf("%s from %s, one column: %v", workload, path, err)
	}
	none, costs, err := indexes.CostSets(ctx, conn, w, [][]indexdef.Def{ideal, res.Defs(), one.Defs()}, opts)
	if err != nil {
		b.Fatalf("%s from %s: cost the sets: %v", workload, path, err)
	}
	r := report.AdvisorRealRun{Workload: workload, Path: path, Statements: res.Workload.Statements,
		CostNone: none, CostIdeal: costs[0].Cost, CostAdvisor: costs[1].Cost, CostSingle: costs[2].Cost,
		IndexesIdeal: costs[0].Indexes, IndexesAdvisor: costs[1].Indexes, BytesIdeal: costs[0].Bytes, BytesAdvisor: costs[1].Bytes,
		Proposals: res.Proposals, Notes: res.Notes}
	seen := map[string]bool{}
	for _, s := range res.Statements {
		seen[s.Fingerprint] = true
	}
	for _, s := range res.Skipped {
		if name, ok := app[s.Fingerprint]; ok {
			r.AppSkipped = append(r.AppSkipped, name+": "+s.Reason)
			seen[s.Fingerprint] = true
		} else {
			r.OtherSkipped++
		}
	}
	for fp, name := range app {
		if !seen[fp] {
			r.AppSkipped = append(r.AppSkipped, name+": not in the workload read")
		}
	}
	return r
}

// appFingerprints are the fingerprints of workload.sql's statements, by
// which a statement of pg_stat_statements is told to be the application's,
// with their names.
func appFingerprints(b *testing.B, text string) map[string]string {
	b.Helper()
	w, err := indexes.ParseSQL("workload.sql", text)
	if err != nil {
		b.Fatal(err)
	}
	out := map[string]string{}
	for _, s := range w.Statements {
		out[s.Fingerprint] = s.Name
	}
	for _, s := range w.Skipped {
		out[s.Fingerprint] = s.Origin
	}
	return out
}

// idealSet reads ideal.sql's CREATE INDEX statements.
func idealSet(b *testing.B, path string) []indexdef.Def {
	b.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	stmts, err := sqlscan.Parse(string(text))
	if err != nil {
		b.Fatalf("%s: %v", path, err)
	}
	var out []indexdef.Def
	for _, st := range stmts {
		if st.Index == nil {
			b.Fatalf("%s: %s is not CREATE INDEX", path, st.Kind)
		}
		out = append(out, *st.Index)
	}
	return out
}

// psql runs psql on the database with ON_ERROR_STOP, env added to its
// environment.
func psql(b *testing.B, dsn string, env []string, args ...string) {
	b.Helper()
	cmd := exec.Command("psql", append([]string{"-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("psql %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
