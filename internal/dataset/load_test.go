package dataset_test

import (
	"context"
	"errors"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	hishamosperf "github.com/hishamos/hishamos-perf"
	"github.com/hishamos/hishamos-perf/internal/dataset"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

func small(t testing.TB) dataset.Scale {
	t.Helper()
	s, err := dataset.ParseScale("small")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// load loads scale into the database at dsn and fails the test on error.
func load(t testing.TB, dsn string, opts dataset.Options) dataset.Result {
	t.Helper()
	res, err := dataset.Load(context.Background(), testdb.Conn(t, dsn), opts)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return res
}

func wantCounts(s dataset.Scale) []dataset.TableCount {
	var out []dataset.TableCount
	for _, table := range dataset.Tables() {
		out = append(out, dataset.TableCount{Table: table, Rows: s.Rows(table)})
	}
	return out
}

func rowCounts(t testing.TB, conn *pgx.Conn) []dataset.TableCount {
	t.Helper()
	got, err := dataset.RowCounts(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// schemaObjects lists the indexes and constraints of the HishamOS tables,
// each with its definition as the server prints it.
func schemaObjects(t testing.TB, conn *pgx.Conn) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), `
		SELECT 'index ' || indexname || ': ' || indexdef FROM pg_indexes
		WHERE schemaname = current_schema() AND tablename = ANY($1)
		UNION ALL
		SELECT 'constraint ' || conname || ' ' || contype::text || ' validated=' || convalidated || ': ' || pg_get_constraintdef(oid)
		FROM pg_constraint WHERE conrelid::regclass::text = ANY($1) AND contype IN ('p', 'u', 'f', 'c')
		ORDER BY 1`, dataset.Tables())
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// tableDigests returns an md5 of every table's rows in id order.
func tableDigests(t testing.TB, conn *pgx.Conn) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, table := range dataset.Tables() {
		q := pgx.Identifier{table}.Sanitize()
		var sum string
		err := conn.QueryRow(context.Background(),
			"SELECT coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t.id)), '') FROM "+q+" t").Scan(&sum)
		if err != nil {
			t.Fatal(err)
		}
		out[table] = sum
	}
	return out
}

// existingTables returns the HishamOS tables that exist.
func existingTables(t testing.TB, conn *pgx.Conn) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(),
		"SELECT n FROM unnest($1::text[]) n WHERE to_regclass(quote_ident(n)) IS NOT NULL", dataset.Tables())
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// stagingSchemas lists the schemas a load builds its tables in; none may
// outlive a load.
func stagingSchemas(t testing.TB, conn *pgx.Conn) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'hishamos\\_perf\\_load\\_%'")
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// connectionModes runs f with loads on one connection, then on two.
func connectionModes(t *testing.T, f func(t *testing.T, conns int)) {
	t.Run("one connection", func(t *testing.T) { f(t, 1) })
	t.Run("two connections", func(t *testing.T) {
		dataset.LoadOnConnections(t, 2)
		f(t, 2)
	})
	t.Run("three connections", func(t *testing.T) {
		dataset.LoadOnConnections(t, 3)
		f(t, 3)
	})
}

func TestLoadSmall(t *testing.T) {
	connectionModes(t, testLoadSmall)
}

func testLoadSmall(t *testing.T, conns int) {
	dsn := testdb.NewDatabase(t)
	s := small(t)

	// The same schema, created but not loaded: what the load must leave.
	bare := testdb.Conn(t, testdb.NewDatabase(t))
	if _, err := bare.Exec(context.Background(), hishamosperf.HishamOSSchema); err != nil {
		t.Fatal(err)
	}
	wantObjects := schemaObjects(t, bare)

	var calls []dataset.Progress
	var mu sync.Mutex
	res := load(t, dsn, dataset.Options{Scale: s, Seed: 1, Progress: func(p dataset.Progress) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, p)
	}})
	conn := testdb.Conn(t, dsn)
	ctx := context.Background()

	if diff := cmp.Diff(wantCounts(s), res.Tables); diff != "" {
		t.Errorf("Result.Tables (-want +got):\n%s", diff)
	}
	if res.TotalRows != s.Total() || res.Scale != "small" || res.Seed != 1 {
		t.Errorf("Result = %d rows, scale %q, seed %d; want %d, small, 1", res.TotalRows, res.Scale, res.Seed, s.Total())
	}
	if res.Duration <= 0 || res.RowsPerSecond <= 0 {
		t.Errorf("Result.Duration = %v, RowsPerSecond = %v", res.Duration, res.RowsPerSecond)
	}
	if res.Connections != conns {
		t.Errorf("Result.Connections = %d, want %d", res.Connections, conns)
	}
	if left := stagingSchemas(t, conn); len(left) > 0 {
		t.Errorf("staging schemas left: %v", left)
	}
	if diff := cmp.Diff(wantCounts(s), rowCounts(t, conn)); diff != "" {
		t.Errorf("RowCounts (-want +got):\n%s", diff)
	}

	// Keys, Django's indexes and the foreign keys are back, as they were
	// defined, and the foreign keys are validated.
	got := schemaObjects(t, conn)
	if diff := cmp.Diff(wantObjects, got); diff != "" {
		t.Errorf("indexes and constraints (-schema.sql +after load):\n%s", diff)
	}
	var fks, django int
	for _, o := range got {
		if strings.Contains(o, " f validated=true:") {
			fks++
		}
		if strings.HasPrefix(o, "index ") && regexp.MustCompile(`_[0-9a-f]{8}(_like)?: `).MatchString(o) {
			django++
		}
	}
	if fks != 11 || django != 16 {
		t.Errorf("after load: %d validated foreign keys and %d Django indexes, want 11 and 16:\n%s", fks, django, strings.Join(got, "\n"))
	}

	// Progress: the rows all arrive, counts never go back, and the phases
	// come in order.
	if len(calls) == 0 {
		t.Fatal("Progress was never called")
	}
	var last dataset.Progress
	var phases []string
	for _, p := range calls {
		if p.RowsDone < last.RowsDone || p.RowsTotal != s.Total() {
			t.Errorf("progress went from %+v to %+v", last, p)
		}
		if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
			phases = append(phases, p.Phase)
		}
		last = p
	}
	if last.RowsDone != s.Total() {
		t.Errorf("last progress %+v, want all %d rows done", last, s.Total())
	}
	wantPhases := []string{dataset.PhaseCopy, dataset.PhaseIndexes, dataset.PhaseAnalyze, dataset.PhaseConstraints}
	if diff := cmp.Diff(wantPhases, phases); diff != "" {
		t.Errorf("progress phases (-want +got):\n%s", diff)
	}

	// Identity sequences are past the loaded ids: the application's own
	// inserts work.
	var id int64
	err := conn.QueryRow(ctx, `INSERT INTO commands_commandcategory (name, slug, description, icon, "order", created_at, updated_at)
		VALUES ('New', 'new', '', 'x', 99, now(), now()) RETURNING id`).Scan(&id)
	if err != nil {
		t.Fatalf("insert after load: %v", err)
	}
	if id != s.Categories+1 {
		t.Errorf("next category id = %d, want %d", id, s.Categories+1)
	}

	// Rows were written frozen, so their pages are all-visible and
	// index-only scans need no heap fetches.
	var pages, visible int64
	err = conn.QueryRow(ctx, "SELECT relpages, relallvisible FROM pg_class WHERE oid = 'agents_agentexecution'::regclass").Scan(&pages, &visible)
	if err != nil {
		t.Fatal(err)
	}
	if pages == 0 || visible != pages {
		t.Errorf("agents_agentexecution: %d of %d pages all-visible, want all", visible, pages)
	}
	// ANALYZE ran.
	var analyzed int
	err = conn.QueryRow(ctx, "SELECT count(*) FROM pg_stats WHERE schemaname = current_schema() AND tablename = ANY($1)", dataset.Tables()).Scan(&analyzed)
	if err != nil {
		t.Fatal(err)
	}
	if analyzed == 0 {
		t.Error("no statistics after load")
	}
	// Autovacuum, kept off the staging tables, is back on.
	var withOptions []string
	err = conn.QueryRow(ctx, "SELECT coalesce(array_agg(relname::text), '{}') FROM pg_class WHERE relname = ANY($1) AND reloptions IS NOT NULL",
		dataset.Tables()).Scan(&withOptions)
	if err != nil {
		t.Fatal(err)
	}
	if len(withOptions) > 0 {
		t.Errorf("tables with storage parameters after load: %v", withOptions)
	}
	checkNothingForAutovacuum(t, conn)
	if conns == 1 {
		checkDataShape(t, conn, 1)
	}
}

// checkNothingForAutovacuum checks that a load leaves no inserted rows
// uncounted by ANALYZE and VACUUM, which would send autovacuum over the
// tables right after the load. Before PostgreSQL 15 the counters lag.
func checkNothingForAutovacuum(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	var version int
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version < 150000 {
		return
	}
	rows, err := conn.Query(ctx, `SELECT relname || ': ' || n_mod_since_analyze || ' changed, ' || n_ins_since_vacuum || ' inserted'
		FROM pg_stat_user_tables WHERE relname = ANY($1) AND (n_mod_since_analyze > 0 OR n_ins_since_vacuum > 0)`, dataset.Tables())
	if err != nil {
		t.Fatal(err)
	}
	left, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("rows since the last ANALYZE or VACUUM:\n%s", strings.Join(left, "\n"))
	}
}

// checkDataShape checks the skews the plans depend on, in data loaded with
// the given seed.
func checkDataShape(t *testing.T, conn *pgx.Conn, seed int64) {
	ctx := context.Background()

	checks := []struct {
		name   string
		sql    string
		lo, hi float64
	}{
		{"share of completed agent executions", `SELECT avg((status = 'completed')::int) FROM agents_agentexecution`, 0.80, 0.90},
		{"share of failed workflow executions", `SELECT avg((status = 'failed')::int) FROM workflows_workflowexecution`, 0.05, 0.13},
		{"share of agent executions of the top 1% of users",
			`SELECT sum(n)::float / (SELECT count(*) FROM agents_agentexecution) FROM (
				SELECT count(*) n FROM agents_agentexecution GROUP BY user_id ORDER BY n DESC LIMIT (SELECT count(*) / 100 FROM auth_user)) t`, 0.30, 0.80},
		{"share of workflow executions by the workflow's owner",
			`SELECT avg((e.user_id = w.user_id)::int) FROM workflows_workflowexecution e JOIN workflows_workflow w ON w.id = e.workflow_id`, 0.65, 0.80},
		{"share of active agents", `SELECT avg((status = 'active')::int) FROM agents_agent`, 0.70, 0.95},
		{"share of active templates", `SELECT avg(is_active::int) FROM commands_commandtemplate`, 0.85, 0.95},
		{"usage_count of the top template over the median",
			`SELECT max(usage_count)::float / percentile_cont(0.5) WITHIN GROUP (ORDER BY usage_count) FROM commands_commandtemplate`, 50, 1e6},
		{"share of agent executions on the agent's preferred platform",
			`SELECT avg((e.platform_used = a.preferred_platform)::int) FROM agents_agentexecution e JOIN agents_agent a ON a.id = e.agent_id`, 0.80, 0.90},
		{"share of agent executions in the last 30 of 365 days",
			`SELECT avg((created_at > (SELECT max(created_at) FROM agents_agentexecution) - interval '30 days')::int) FROM agents_agentexecution`, 0.15, 0.30},
		{"correlation of id and created_at",
			`SELECT corr(id, extract(epoch FROM created_at)) FROM agents_agentexecution`, 0.9, 1},
		{"mean bytes of agent execution input_data",
			`SELECT avg(octet_length(input_data::text)) FROM agents_agentexecution`, 150, 400},
		{"mean bytes of an agent execution row, all columns",
			`SELECT avg(octet_length(t::text)) FROM agents_agentexecution t`, 300, 800},
		{"mean bytes of agent system_prompt",
			`SELECT avg(octet_length(system_prompt)) FROM agents_agent`, 400, 1500},
		{"workflow executions whose steps are not 1..N",
			`SELECT count(*) FROM (SELECT execution_id FROM workflows_workflowstep GROUP BY execution_id
				HAVING min(step_order) <> 1 OR max(step_order) <> count(*) OR count(DISTINCT step_order) <> count(*)) t`, 0, 0},
		{"completed executions with a step not completed",
			`SELECT count(*) FROM workflows_workflowstep s JOIN workflows_workflowexecution e ON e.id = s.execution_id
				WHERE e.status = 'completed' AND s.status <> 'completed'`, 0, 0},
		{"rows later than the reference time",
			`SELECT (SELECT count(*) FROM agents_agentexecution WHERE greatest(created_at, started_at, completed_at) > $1)
				+ (SELECT count(*) FROM workflows_workflowstep WHERE greatest(created_at, started_at, completed_at) > $1)`, 0, 0},
		{"executions before their workflow was created",
			`SELECT count(*) FROM workflows_workflowexecution e JOIN workflows_workflow w ON w.id = e.workflow_id WHERE e.created_at < w.created_at`, 0, 0},
	}
	for _, c := range checks {
		var args []any
		if strings.Contains(c.sql, "$1") {
			args = append(args, dataset.ReferenceTime(seed))
		}
		var got float64
		if err := conn.QueryRow(ctx, c.sql, args...).Scan(&got); err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got < c.lo || got > c.hi {
			t.Errorf("%s = %.3f, want between %g and %g", c.name, got, c.lo, c.hi)
		}
	}
}

func TestLoadNotEmpty(t *testing.T) {
	dsn := testdb.NewDatabase(t)
	s := small(t)
	load(t, dsn, dataset.Options{Scale: s, Seed: 1})
	conn := testdb.Conn(t, dsn)
	before, objects := tableDigests(t, conn), schemaObjects(t, conn)

	_, err := dataset.Load(context.Background(), conn, dataset.Options{Scale: s, Seed: 2})
	if !errors.Is(err, dataset.ErrNotEmpty) {
		t.Fatalf("second Load = %v, want ErrNotEmpty", err)
	}
	// The error names the table and the option that replaces the tables;
	// seed words it with its flag (TestSandboxLifecycleCLI).
	var ne *dataset.NotEmptyError
	if !errors.As(err, &ne) || ne.Table != "auth_user" || !strings.Contains(err.Error(), "use Replace to drop") || strings.Contains(err.Error(), "--") {
		t.Errorf("error %q: want a *NotEmptyError on auth_user naming the Replace option, and no flag", err)
	}
	if diff := cmp.Diff(before, tableDigests(t, conn)); diff != "" {
		t.Errorf("rows changed (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(objects, schemaObjects(t, conn)); diff != "" {
		t.Errorf("indexes and constraints changed (-before +after):\n%s", diff)
	}
}

func TestLoadReplaceIsDeterministic(t *testing.T) {
	s := small(t)
	dsn := testdb.NewDatabase(t)
	load(t, dsn, dataset.Options{Scale: s, Seed: 1})
	conn := testdb.Conn(t, dsn)
	seed1 := tableDigests(t, conn)

	res, err := dataset.Load(context.Background(), conn, dataset.Options{Scale: s, Seed: 2, Replace: true})
	if err != nil {
		t.Fatalf("Load with Replace: %v", err)
	}
	if res.TotalRows != s.Total() {
		t.Errorf("Replace loaded %d rows, want %d", res.TotalRows, s.Total())
	}
	if diff := cmp.Diff(wantCounts(s), rowCounts(t, conn)); diff != "" {
		t.Errorf("RowCounts after Replace (-want +got):\n%s", diff)
	}
	replaced := tableDigests(t, conn)
	for table, sum := range replaced {
		if sum == seed1[table] {
			t.Errorf("%s: seed 2 loaded the same rows as seed 1", table)
		}
	}

	// A fresh database loaded with seed 2 holds the very same rows, loaded
	// on three connections as on one.
	dataset.LoadOnConnections(t, 3)
	fresh := testdb.NewDatabase(t)
	load(t, fresh, dataset.Options{Scale: s, Seed: 2})
	if diff := cmp.Diff(replaced, tableDigests(t, testdb.Conn(t, fresh))); diff != "" {
		t.Errorf("seed 2 loaded different rows into two databases (-replaced +fresh):\n%s", diff)
	}
}

func TestLoadCancelLeavesNothing(t *testing.T) {
	connectionModes(t, testLoadCancelLeavesNothing)
}

func testLoadCancelLeavesNothing(t *testing.T, _ int) {
	s := small(t)
	tests := []struct {
		name string
		// cancelAt says when to cancel, from the progress reports; nil
		// cancels before Load starts.
		cancelAt func(p dataset.Progress) bool
	}{
		{"before start", nil},
		{"while copying", func(p dataset.Progress) bool {
			return p.Phase == dataset.PhaseCopy && p.RowsDone > 0 && p.RowsDone < p.RowsTotal
		}},
		{"while indexing", func(p dataset.Progress) bool { return p.Phase == dataset.PhaseIndexes }},
		{"while adding foreign keys", func(p dataset.Progress) bool { return p.Phase == dataset.PhaseConstraints }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn := testdb.NewDatabase(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			opts := dataset.Options{Scale: s, Seed: 1}
			if tt.cancelAt == nil {
				cancel()
			} else {
				opts.Progress = func(p dataset.Progress) {
					if tt.cancelAt(p) {
						cancel()
					}
				}

			}
			_, err := dataset.Load(ctx, testdb.Conn(t, dsn), opts)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Load = %v, want context.Canceled", err)
			}
			conn := testdb.Conn(t, dsn)
			if got := existingTables(t, conn); len(got) != 0 {
				t.Errorf("tables left after cancel: %v", got)
			}
			if left := stagingSchemas(t, conn); len(left) > 0 {
				t.Errorf("staging schemas left after cancel: %v", left)
			}
		})
	}
}

// TestLoadFailureLeavesNothing makes the copy of the last table fail and
// checks that the tables loaded before it are left as they were: empty,
// with their indexes.
func TestLoadFailureLeavesNothing(t *testing.T) {
	dsn := testdb.NewDatabase(t)
	conn := testdb.Conn(t, dsn)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, hishamosperf.HishamOSSchema); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "ALTER TABLE workflows_workflowstep ADD CONSTRAINT short_workflows CHECK (step_order < 3)"); err != nil {
		t.Fatal(err)
	}
	objects := schemaObjects(t, conn)

	_, err := dataset.Load(ctx, conn, dataset.Options{Scale: small(t), Seed: 1})
	if err == nil || !strings.Contains(err.Error(), "short_workflows") {
		t.Fatalf("Load = %v, want the check constraint to fail it", err)
	}
	for _, c := range rowCounts(t, conn) {
		if c.Rows != 0 {
			t.Errorf("%s holds %d rows after a failed load", c.Table, c.Rows)
		}
	}
	if diff := cmp.Diff(objects, schemaObjects(t, conn)); diff != "" {
		t.Errorf("indexes and constraints changed by a failed load (-before +after):\n%s", diff)
	}
}

// TestLoadReplaceFailureKeepsOldData makes the swap at the end of a load
// fail (a view holds on to an old table) and checks that the old tables and
// rows are untouched and nothing of the new load is left.
func TestLoadReplaceFailureKeepsOldData(t *testing.T) {
	dataset.LoadOnConnections(t, 3)
	dsn := testdb.NewDatabase(t)
	s := small(t)
	load(t, dsn, dataset.Options{Scale: s, Seed: 1})
	conn := testdb.Conn(t, dsn)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "CREATE VIEW staff AS SELECT id, username FROM auth_user WHERE is_staff"); err != nil {
		t.Fatal(err)
	}
	before, objects := tableDigests(t, conn), schemaObjects(t, conn)

	_, err := dataset.Load(ctx, conn, dataset.Options{Scale: s, Seed: 2, Replace: true})
	if err == nil || !strings.Contains(err.Error(), "depend") {
		t.Fatalf("Load with Replace = %v, want it to fail on the view", err)
	}
	if diff := cmp.Diff(before, tableDigests(t, conn)); diff != "" {
		t.Errorf("rows changed by a failed replace (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(objects, schemaObjects(t, conn)); diff != "" {
		t.Errorf("indexes and constraints changed by a failed replace (-before +after):\n%s", diff)
	}
	if left := stagingSchemas(t, conn); len(left) > 0 {
		t.Errorf("staging schemas left after a failed replace: %v", left)
	}
}

// TestLoadDropsLeftovers checks that a load clears the staging schema of a
// load that was killed before it could.
func TestLoadDropsLeftovers(t *testing.T) {
	dsn := testdb.NewDatabase(t)
	conn := testdb.Conn(t, dsn)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "CREATE SCHEMA hishamos_perf_load_1; CREATE TABLE hishamos_perf_load_1.auth_user (id int)"); err != nil {
		t.Fatal(err)
	}
	load(t, dsn, dataset.Options{Scale: small(t), Seed: 1})
	if left := stagingSchemas(t, conn); len(left) > 0 {
		t.Errorf("staging schemas left: %v", left)
	}
}

// TestLoadIntoEmptyTables loads into an existing, empty schema that carries
// an index of its own, which must survive.
func TestLoadIntoEmptyTables(t *testing.T) {
	dsn := testdb.NewDatabase(t)
	conn := testdb.Conn(t, dsn)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, hishamosperf.HishamOSSchema); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE INDEX extra_user_status_created ON agents_agentexecution (user_id, status, created_at)"); err != nil {
		t.Fatal(err)
	}
	objects := schemaObjects(t, conn)
	s := small(t)
	load(t, dsn, dataset.Options{Scale: s, Seed: 1})
	if diff := cmp.Diff(wantCounts(s), rowCounts(t, conn)); diff != "" {
		t.Errorf("RowCounts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(objects, schemaObjects(t, conn)); diff != "" {
		t.Errorf("indexes and constraints (-before +after):\n%s", diff)
	}
	checkNothingForAutovacuum(t, conn)
}

func TestLoadIncompleteSchema(t *testing.T) {
	dsn := testdb.NewDatabase(t)
	conn := testdb.Conn(t, dsn)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, hishamosperf.HishamOSSchema+"; DROP TABLE workflows_workflowstep"); err != nil {
		t.Fatal(err)
	}
	s := small(t)
	_, err := dataset.Load(ctx, conn, dataset.Options{Scale: s, Seed: 1})
	if err == nil || !strings.Contains(err.Error(), "workflows_workflowstep") {
		t.Fatalf("Load into an incomplete schema = %v, want an error naming the missing table", err)
	}
	load(t, dsn, dataset.Options{Scale: s, Seed: 1, Replace: true})
	if diff := cmp.Diff(wantCounts(s), rowCounts(t, conn)); diff != "" {
		t.Errorf("RowCounts after Replace (-want +got):\n%s", diff)
	}
}

func TestLoadRejectsBadScale(t *testing.T) {
	conn := testdb.Conn(t, testdb.NewDatabase(t))
	s := small(t)
	s.WorkflowSteps++
	for _, bad := range []dataset.Scale{{}, s} {
		if _, err := dataset.Load(context.Background(), conn, dataset.Options{Scale: bad}); err == nil {
			t.Errorf("Load with scale %+v succeeded", bad)
		}
	}
	if got := existingTables(t, conn); len(got) != 0 {
		t.Errorf("tables created by a rejected load: %v", got)
	}
}

func TestNumericRoundTrip(t *testing.T) {
	conn := testdb.Conn(t, testdb.NewDatabase(t))
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "CREATE TEMP TABLE n (v4 numeric(14, 4), v2 numeric(7, 2))"); err != nil {
		t.Fatal(err)
	}
	vals := []int64{0, 1, 9, 10, 99, 100, 9999, 10000, 10001, 123456, -1, -10000, -123456789, 99999, 1234567890123}
	if _, err := conn.PgConn().CopyFrom(ctx, strings.NewReader(string(dataset.NumericCopy(vals))), "COPY n FROM STDIN (FORMAT binary)"); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, "SELECT v4::text, v2::text FROM n")
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
		var a [2]string
		return a, r.Scan(&a[0], &a[1])
	})
	if err != nil {
		t.Fatal(err)
	}
	var want [][2]string
	for _, v := range vals {
		want = append(want, [2]string{fixed(v, 4), fixed(v%10_000_000, 2)})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("numerics (-want +got):\n%s", diff)
	}
}

// fixed formats v/10^scale with scale decimals.
func fixed(v int64, scale int) string {
	neg := v < 0
	if neg {
		v = -v
	}
	s := strconv.FormatInt(v, 10)
	for len(s) <= scale {
		s = "0" + s
	}
	s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	if neg {
		s = "-" + s
	}
	return s
}

// BenchmarkLoad loads each scale into a fresh database and reports rows
// per second; compare with BenchmarkPgbenchInit on the same server. Run
// with -benchtime 1x: one load is long enough to measure.
func BenchmarkLoad(b *testing.B) {
	for _, name := range dataset.ScaleNames() {
		b.Run(name, func(b *testing.B) {
			s, _ := dataset.ParseScale(name)
			var rows int64
			var elapsed time.Duration
			for b.Loop() {
				b.StopTimer()
				conn := testdb.Conn(b, testdb.NewDatabase(b))
				b.StartTimer()
				start := time.Now()
				res, err := dataset.Load(context.Background(), conn, dataset.Options{Scale: s, Seed: 1})
				if err != nil {
					b.Fatal(err)
				}
				elapsed += time.Since(start)
				rows += res.TotalRows
				b.Logf("%s: %d rows in %v (copy %v, indexes %v, analyze %v, foreign keys %v)", name, res.TotalRows,
					res.Duration.Round(time.Millisecond), res.CopyDuration.Round(time.Millisecond), res.IndexDuration.Round(time.Millisecond),
					res.AnalyzeDuration.Round(time.Millisecond), res.ConstraintDuration.Round(time.Millisecond))
			}
			b.ReportMetric(float64(rows)/elapsed.Seconds(), "rows/s")
		})
	}
}

// BenchmarkPgbenchInit runs `pgbench -i -s 10` (1,000,110 rows) on the
// same server, as the yardstick for BenchmarkLoad/medium.
func BenchmarkPgbenchInit(b *testing.B) {
	pgbench, err := exec.LookPath("pgbench")
	if err != nil {
		b.Skip("pgbench not installed")
	}
	const rows = 1_000_110 // 10 branches, 100 tellers, 1,000,000 accounts
	var elapsed time.Duration
	for b.Loop() {
		b.StopTimer()
		dsn := testdb.NewDatabase(b)
		b.StartTimer()
		start := time.Now()
		if out, err := exec.Command(pgbench, "-i", "-q", "-s", "10", dsn).CombinedOutput(); err != nil {
			b.Fatalf("pgbench -i: %v\n%s", err, out)
		}
		elapsed += time.Since(start)
	}
	b.ReportMetric(float64(rows*b.N)/elapsed.Seconds(), "rows/s")
}
