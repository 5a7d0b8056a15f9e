package indexes

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hishamos/hishamos-perf/analyze"
)

// Querier is the part of a pgx connection Propose uses. It must be one
// connection, not a pool: hypothetical indexes live in the session that
// made them, and every statement is planned on that session.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// The costing methods.
const (
	// CostingHypoPG: hypothetical indexes, nothing built.
	CostingHypoPG = "hypopg"
	// CostingBuild: real indexes built one at a time in a transaction that
	// is rolled back.
	CostingBuild = "build"
)

// cleanupTimeout bounds the deferred cleanup, which runs even when the
// caller's context is cancelled.
const cleanupTimeout = 10 * time.Second

// made is an index a what-if method created.
type made struct {
	// name is how plans name it.
	name  string
	oid   uint32
	bytes int64
	// parts are, for an index on a partitioned table, the other
	// partitions' indexes made with it (partitions.go); bytes counts them.
	parts []made
}

// whatIf makes indexes exist for the planner and unmakes them.
type whatIf interface {
	method() string
	create(ctx context.Context, defs []*indexDef) ([]made, error)
	drop(ctx context.Context, ms []made) error
	// cleanup removes everything; it runs deferred, whatever happened.
	cleanup() error
	// guard runs one step that may fail on the server (planning a
	// statement) so that its failure leaves the session usable for the
	// next.
	guard(ctx context.Context, step func() error) error
}

// hypoPG makes hypothetical indexes.
type hypoPG struct{ q Querier }

func (h *hypoPG) method() string { return CostingHypoPG }

// create makes each definition a hypothetical index, one per partition
// on a partitioned table. A partial index of the advisor's is made as its
// surrogate (indexDef.surrogate), and made once more as itself only to
// read its size, then dropped before anything is planned: no statement
// is ever planned with a hypothetical partial index present.
func (h *hypoPG) create(ctx context.Context, defs []*indexDef) ([]made, error) {
	if len(defs) == 0 {
		return nil, nil
	}
	// job is one definition: plan is what the planner gets, sized (a
	// partial index's own definition, or nil) what is made for its size.
	type job struct {
		plan, sized       *indexDef
		planDDL, sizedDDL []string
	}
	b := &pgx.Batch{}
	jobs := make([]job, len(defs))
	for i, d := range defs {
		j := job{plan: d}
		if sur := d.surrogate(); sur != nil {
			j.plan, j.sized = sur, d
			j.sizedDDL = hypoDDLs(d)
		}
		j.planDDL = hypoDDLs(j.plan)
		for _, ddl := range append(append([]string(nil), j.planDDL...), j.sizedDDL...) {
			b.Queue(analyze.Tagged("SELECT h.indexrelid, h.indexname, hypopg_relation_size(h.indexrelid) FROM hypopg_create_index($1) h"), ddl)
		}
		jobs[i] = j
	}
	res := h.q.SendBatch(ctx, b)
	read := func(d *indexDef, ddls []string) (made, error) {
		i := 0
		next := func() (made, error) {
			var m made
			err := res.QueryRow().Scan(&m.oid, &m.name, &m.bytes)
			if err != nil {
				err = fmt.Errorf("hypopg_create_index(%s): %w", ddls[i], err)
			}
			i++
			return m, err
		}
		if d.table.partitioned() {
			return hypoParts(d, next)
		}
		return next()
	}
	out := make([]made, 0, len(defs))
	// sizeOnly are the hypothetical partial indexes made for their size,
	// and the surrogates of those whose size could not be read.
	var sizeOnly []made
	var firstErr error
	for _, j := range jobs {
		m, err := read(j.plan, j.planDDL)
		if j.sized != nil {
			sm, serr := read(j.sized, j.sizedDDL)
			sizeOnly = append(sizeOnly, sm)
			switch {
			case err != nil:
			case serr != nil:
				sizeOnly = append(sizeOnly, m)
				m, err = made{}, serr
			default:
				m.bytes = sm.bytes
				for k := range m.parts {
					m.parts[k].bytes = sm.parts[k].bytes
				}
			}
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
		out = append(out, m)
	}
	if err := res.Close(); err != nil && firstErr == nil {
		firstErr = err
	}
	if err := h.drop(ctx, sizeOnly); err != nil && firstErr == nil {
		firstErr = err
	}
	for i := range out {
		if out[i].name == "" && len(out[i].parts) > 0 {
			// A partitioned index not made on every partition: none of
			// it may stay for the planner to use.
			if err := h.drop(ctx, out[i].parts); err != nil && firstErr == nil {
				firstErr = err
			}
			out[i].parts = nil
		}
	}
	return out, firstErr
}

// hypoDDLs is the definition as HypoPG is asked to make it: one CREATE
// INDEX, or one per partition on a partitioned table.
func hypoDDLs(d *indexDef) []string {
	if d.table.partitioned() {
		return d.partitionDDLs()
	}
	return []string{d.ddl("", false)}
}

func (h *hypoPG) drop(ctx context.Context, ms []made) error {
	if len(ms) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, m := range ms {
		if m.name != "" {
			b.Queue(analyze.Tagged("SELECT hypopg_drop_index($1)"), m.oid)
		}
		for _, p := range m.parts {
			b.Queue(analyze.Tagged("SELECT hypopg_drop_index($1)"), p.oid)
		}
	}
	if b.Len() == 0 {
		return nil
	}
	return h.q.SendBatch(ctx, b).Close()
}

// guard runs step as it is: outside a transaction a failed statement
// takes nothing else with it.
func (h *hypoPG) guard(_ context.Context, step func() error) error { return step() }

func (h *hypoPG) cleanup() error {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	_, err := h.q.Exec(ctx, analyze.Tagged("SELECT hypopg_reset()"))
	return err
}

// builder builds real indexes inside one transaction that cleanup rolls
// back: nothing it builds outlives it, even if the process dies. The
// transaction holds SHARE locks on the tables it indexed (writes wait)
// until it ends, which is why it runs only on the sandbox or when allowed.
type builder struct {
	q     Querier
	inTx  bool
	count int
}

func (b *builder) method() string { return CostingBuild }

func (b *builder) create(ctx context.Context, defs []*indexDef) ([]made, error) {
	if !b.inTx && len(defs) > 0 {
		if _, err := b.q.Exec(ctx, "BEGIN"); err != nil {
			return nil, err
		}
		b.inTx = true
	}
	out := make([]made, 0, len(defs))
	for _, d := range defs {
		b.count++
		name := "hishamos_perf_whatif_" + strconv.Itoa(b.count)
		m := made{name: name}
		err := b.guard(ctx, func() error {
			if _, err := b.q.Exec(ctx, analyze.Tagged(d.ddl(name, false))); err != nil {
				return fmt.Errorf("%s: %w", d.ddl(name, false), err)
			}
			qualified := pgx.Identifier{d.table.schema, name}.Sanitize()
			if d.table.partitioned() {
				// PostgreSQL built it on every partition: those are
				// what plans read.
				parts, err := builtParts(ctx, b.q, d.table.schema, name)
				m.parts, m.bytes = parts.parts, parts.bytes
				if err != nil {
					return err
				}
			}
			var bytes int64
			if err := b.q.QueryRow(ctx, analyze.Tagged("SELECT oid, pg_relation_size(oid) FROM pg_class WHERE oid = $1::regclass"), qualified).Scan(&m.oid, &bytes); err != nil {
				return err
			}
			m.bytes += bytes
			return nil
		})
		if err != nil {
			return out, err
		}
		out = append(out, m)
	}
	return out, nil
}

// stepSavepoint is the savepoint the builder's guard takes around a step.
const stepSavepoint = "hishamos_perf_step"

// guard runs step in a savepoint of the builder's transaction and rolls
// back to it when step fails: an index the server refuses to build, or a
// statement the role may not plan, then fails alone instead of aborting
// the transaction and every statement costed after it.
func (b *builder) guard(ctx context.Context, step func() error) error {
	if !b.inTx {
		return step()
	}
	if _, err := b.q.Exec(ctx, "SAVEPOINT "+stepSavepoint); err != nil {
		return err
	}
	if err := step(); err != nil {
		if _, rerr := b.q.Exec(ctx, "ROLLBACK TO SAVEPOINT "+stepSavepoint); rerr != nil {
			return fmt.Errorf("%w (and rolling back to the savepoint failed: %v)", err, rerr)
		}
		return err
	}
	_, err := b.q.Exec(ctx, "RELEASE SAVEPOINT "+stepSavepoint)
	return err
}

func (b *builder) drop(ctx context.Context, ms []made) error {
	for _, m := range ms {
		if _, err := b.q.Exec(ctx, analyze.Tagged("DROP INDEX "+pgx.Identifier{m.name}.Sanitize())); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) cleanup() error {
	if !b.inTx {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	_, err := b.q.Exec(ctx, "ROLLBACK")
	b.inTx = false
	return err
}

// server is what Propose checks about the session before costing.
type server struct {
	hypopg          bool
	hypopgAvailable bool
	readOnly        bool
	inRecovery      bool
	database        string
	// major is the server's major version, to name HypoPG's package.
	major int
}

func inspectServer(ctx context.Context, q Querier) (server, error) {
	var s server
	err := q.QueryRow(ctx, analyze.Tagged(`SELECT
  EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'hypopg'),
  EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'hypopg'),
  current_setting('transaction_read_only') = 'on', pg_is_in_recovery(), current_database(),
  current_setting('server_version_num')::int / 10000`)).
		Scan(&s.hypopg, &s.hypopgAvailable, &s.readOnly, &s.inRecovery, &s.database, &s.major)
	if err != nil {
		return s, fmt.Errorf("indexes: inspect server: %w", err)
	}
	return s, nil
}

// noHypoPG says HypoPG is missing and what to do.
func noHypoPG(s server) error {
	return &NoHypoPGError{Database: s.database, Available: s.hypopgAvailable, Major: s.major}
}

// isPgError reports whether err carries a server error.
func isPgError(err error) (*pgconn.PgError, bool) {
	var pe *pgconn.PgError
	ok := errors.As(err, &pe)
	return pe, ok
}
