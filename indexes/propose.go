package indexes

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hishamos/hishamos-perf/analyze"
	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
	"github.com/hishamos/hishamos-perf/profiles"
)

// Schema is the schema id of Result's JSON, the proposals file `indexes
// plan --from` reads (ReadProposals): one id, spelled here only. A proposal
// carries its index as an indexdef.Def (index) since issue 15; files
// written before it are read through their definition, or columns.
const Schema = "hishamos-perf/indexes/v1"

// Defaults of Options, as `indexes propose` documents them.
const (
	// DefaultMaxColumns caps an index's key columns: past four, the
	// leading columns have already narrowed a scan to a few rows and each
	// extra key mostly adds bytes.
	DefaultMaxColumns = 4
	// DefaultMinImprovement is the share of some statement's cost (in
	// percent) a chosen index must save: below 20% the saving is within
	// what the planner's estimates can be off by.
	DefaultMinImprovement = 20
	// DefaultMinStatsAge is how long the statistics must have been
	// counting before an existing index is listed as unused: analyze's
	// rule (analyze.DefaultMinStatsAge), so that the two commands judge an
	// index alike on the same database.
	DefaultMinStatsAge = analyze.DefaultMinStatsAge
)

// Options configure Propose.
type Options struct {
	// Budget caps the bytes of the indexes proposed; zero is no limit.
	Budget Budget
	// MaxIndexes caps the number of indexes proposed; 0 is no limit.
	MaxIndexes int
	// MaxColumns caps an index's key columns; 0 means DefaultMaxColumns.
	MaxColumns int
	// MinImprovement is the percentage of some statement's cost a chosen
	// index (or widening) must save; the command's default is
	// DefaultMinImprovement.
	MinImprovement float64
	// AllowBuild lets Propose cost with real indexes, built one at a time
	// in a transaction it rolls back, when HypoPG is missing.
	AllowBuild bool
	// Seed makes the parameter values drawn from pg_stats and from a
	// profile's generators reproducible.
	Seed uint64
	// MinStatsAge is how long the statistics must have been counting
	// (since the youngest of the resets analyze.Statistics names) before
	// an existing index with no scans is listed as an unused drop: 0 means
	// DefaultMinStatsAge, a negative value judges them at any age. Drops
	// of duplicates and of indexes another one starts with do not rest on
	// scans and do not wait.
	MinStatsAge time.Duration
	// Compare, when set, is a hand-picked index set (a profile's indexes)
	// to cost on the same workload and statistics as the advisor's.
	Compare *profiles.Profile
	// Progress, when set, hears what Propose is doing.
	Progress func(Progress)
	// OptionName words an option in the reasons the result gives (a
	// candidate rejected for MinImprovement or MaxIndexes): the command
	// passes the names of its flags; nil names the field.
	OptionName func(Option) string
}

// optionName is o.OptionName, or the field's name.
func (o *Options) optionName() func(Option) string {
	if o.OptionName != nil {
		return o.OptionName
	}
	return optionField
}

// Progress is a step of Propose.
type Progress struct {
	Phase string
	Done  int
	Total int
}

// Result is what Propose found. Its JSON is the proposals file.
type Result struct {
	Schema    string     `json:"schema"`
	Costing   string     `json:"costing"`
	Workload  Summary    `json:"workload"`
	Proposals []Proposal `json:"proposals"`
	Drops     []Drop     `json:"drops"`
	// Statements are every costed statement with its cost before and after
	// the proposals.
	Statements []StatementCost `json:"statements_costed"`
	Rejected   []Rejected      `json:"rejected,omitempty"`
	Skipped    []Skipped       `json:"skipped,omitempty"`
	Seed       *SeedComparison `json:"seed,omitempty"`
	// Statistics is how old the server's counters are, which decides
	// whether unused drops are listed (Options.MinStatsAge).
	Statistics *analyze.Statistics `json:"statistics,omitempty"`
	Notes      []string            `json:"notes,omitempty"`
	Stats      Stats               `json:"stats"`
}

// Summary is the workload as a whole.
type Summary struct {
	Source     string `json:"source"`
	Name       string `json:"name"`
	WeightedBy string `json:"weighted_by"`
	Statements int    `json:"statements"`
	Skipped    int    `json:"skipped"`
	// CostBefore and CostAfter are Σ weight × estimated cost with the
	// existing indexes, and with the proposals added.
	CostBefore     float64 `json:"cost_before"`
	CostAfter      float64 `json:"cost_after"`
	ImprovementPct float64 `json:"improvement_pct"`
	// IndexBytes is the proposals' estimated size; TableBytes the size of
	// the workload's tables.
	IndexBytes  int64  `json:"index_bytes"`
	TableBytes  int64  `json:"table_bytes"`
	Budget      string `json:"budget"`
	BudgetBytes int64  `json:"budget_bytes,omitempty"`
}

// Proposal is one proposed index. Index is the index itself, the one
// typed definition plan, apply and bench take; the other fields say it for
// people (Columns, Include and Where as text, Definition the statement).
type Proposal struct {
	// Schema is the table's schema, always set, so that a plan of the
	// proposal names the table it was costed on whatever the search_path.
	Schema string `json:"schema"`
	// Table is the table's name, schema-qualified outside public, quoted
	// where it must be.
	Table string `json:"table"`
	// Columns are the key elements: a column (quoted where it must be),
	// possibly followed by " DESC", or an expression.
	Columns []string `json:"columns"`
	Include []string `json:"include"`
	// Where is a partial index's predicate; empty for a full index.
	Where string `json:"where"`
	// Definition is the exact CREATE INDEX statement.
	Definition string `json:"definition"`
	// Name is the index name the definition uses.
	Name string `json:"name"`
	// Index is the proposed index; its Comment is left empty (Reason says
	// why) and filled by ReadProposals.
	Index     indexdef.Def `json:"index"`
	SizeBytes int64        `json:"size_bytes"`
	// Marginal is the index's own saving, added last to the other
	// proposals.
	Marginal      Marginal        `json:"marginal"`
	WriteOverhead WriteOverhead   `json:"write_overhead"`
	Statements    []StatementCost `json:"statements"`
	Reason        string          `json:"reason"`
	// Partitions names the partitions an index on a partitioned table is
	// built on (its size and write overhead are theirs summed); empty for
	// a plain table.
	Partitions []string `json:"partitions,omitempty"`
}

// StatementCost is a statement's estimated cost before and after.
type StatementCost struct {
	Fingerprint    string  `json:"fingerprint"`
	Name           string  `json:"name,omitempty"`
	Query          string  `json:"query"`
	Weight         float64 `json:"weight"`
	CostBefore     float64 `json:"cost_before"`
	CostAfter      float64 `json:"cost_after"`
	ImprovementPct float64 `json:"improvement_pct"`
	// CostWithout and MarginalPct, in a proposal's statements, are the
	// statement's cost with every other proposal but not this one, and
	// the share of it this one saves: the proposal's own credit, not the
	// set's.
	CostWithout float64 `json:"cost_without,omitempty"`
	MarginalPct float64 `json:"marginal_pct,omitempty"`
}

// Marginal is what a proposal saves added last to the others: the
// workload's weighted cost without it, every other proposal in place,
// minus its cost with all of them.
type Marginal struct {
	// Cost is in the workload's weighted cost units, WorkloadPct the share
	// of the workload's cost with the existing indexes alone.
	Cost        float64 `json:"cost"`
	WorkloadPct float64 `json:"workload_pct"`
}

// WriteOverhead is what an index costs the table's writes, from
// pg_stat_user_tables' counters since the statistics were reset.
type WriteOverhead struct {
	InsertsPerSec    float64 `json:"inserts_per_sec"`
	UpdatesPerSec    float64 `json:"updates_per_sec"`
	HOTUpdatesPerSec float64 `json:"hot_updates_per_sec"`
	DeletesPerSec    float64 `json:"deletes_per_sec"`
	// IndexWritesPerSec is the index entries the index would add per
	// second: one per insert and per update that is not HOT, and one per
	// HOT update too when the index ends them.
	IndexWritesPerSec float64 `json:"index_writes_per_sec"`
	// EndsHOT flags an index on a column the workload updates: updates of
	// that column can no longer be HOT (heap-only), so every one of them
	// writes every index of the table.
	EndsHOT bool `json:"ends_hot_updates"`
	// UpdatedColumns are the index's columns the workload's UPDATEs assign.
	UpdatedColumns []string `json:"updated_columns,omitempty"`
	// Known is false when the server keeps no write counters for the table.
	Known bool `json:"known"`
}

// Drop is an existing index the advisor would remove. It is never dropped
// by Propose.
type Drop struct {
	Table string `json:"table"`
	Index string `json:"index"`
	// Kind is "duplicate", "redundant" or "unused".
	Kind       string `json:"kind"`
	Definition string `json:"definition"`
	SizeBytes  int64  `json:"size_bytes"`
	Scans      int64  `json:"scans"`
	Reason     string `json:"reason"`
	// Statement is the DROP INDEX that would remove it.
	Statement string `json:"statement"`
}

// Rejected is a candidate that was not proposed, with why.
type Rejected struct {
	Table      string `json:"table"`
	Index      string `json:"index"`
	Definition string `json:"definition"`
	Reason     string `json:"reason"`
}

// SeedComparison sets a hand-picked index set beside the advisor's.
type SeedComparison struct {
	Profile    string          `json:"profile"`
	Before     float64         `json:"cost_before"`
	Seed       SetCost         `json:"seed"`
	Advisor    SetCost         `json:"advisor"`
	Indexes    []SeedIndex     `json:"indexes"`
	Statements []SeedStatement `json:"statements"`
}

// SetCost is an index set's total estimated workload cost and size.
type SetCost struct {
	Indexes        int     `json:"indexes"`
	Cost           float64 `json:"cost"`
	Bytes          int64   `json:"bytes"`
	ImprovementPct float64 `json:"improvement_pct"`
	// Statements are each statement's cost under the set (CostSets).
	Statements []StatementCost `json:"statements,omitempty"`
}

// SeedIndex is one index of the hand-picked set.
type SeedIndex struct {
	Name      string   `json:"name"`
	Table     string   `json:"table"`
	Columns   []string `json:"columns"`
	SizeBytes int64    `json:"size_bytes"`
	// UsedBy are the statements whose plans read it with the whole set in
	// place.
	UsedBy []string `json:"used_by"`
	// Redundant is set when another index already does its job; Unused
	// when no statement's plan reads it.
	Redundant bool   `json:"redundant"`
	Unused    bool   `json:"unused"`
	Reason    string `json:"reason,omitempty"`
}

// SeedStatement is one statement's cost under each set.
type SeedStatement struct {
	Fingerprint string  `json:"fingerprint"`
	Name        string  `json:"name"`
	Weight      float64 `json:"weight"`
	Before      float64 `json:"cost_before"`
	Seed        float64 `json:"cost_seed"`
	Advisor     float64 `json:"cost_advisor"`
}

// Stats count the work done.
type Stats struct {
	// Candidates are the candidates generated, rejected ones included.
	Candidates int `json:"candidates"`
	// Weighed are the candidates selection weighed: those not rejected
	// before costing, at most MaxCandidatesPerTable per table.
	Weighed int `json:"candidates_weighed"`
	// Moves counts the moves evaluated, a move brought up to date after a
	// choice counting again.
	Moves     int `json:"moves_costed"`
	Rounds    int `json:"rounds"`
	Explains  int `json:"explains"`
	CacheHits int `json:"cache_hits"`
	// PlansCachedPeak is the most plans the cache held at once.
	PlansCachedPeak int `json:"plans_cached_peak"`
}

// SQLSTATEs Propose tells apart.
const (
	pgUndefinedTable  = "42P01"
	pgUndefinedColumn = "42703"
)

// session is a workload ready to be costed: its tables read, its
// statements resolved, given values and planned with the existing indexes.
type session struct {
	q     Querier
	opts  Options
	cat   *catalog
	e     *engine
	stmts []*costed
	// qs is pg_qualstats' constants of the statements, nil without it.
	qs *qualStats
	// qualstats is pg_qualstats.enabled as the session had it, to give
	// back on close; empty where pg_qualstats is not loaded.
	qualstats string
}

// openSession prepares w for costing on q, filling res's workload summary
// and skipped statements. The caller must close it, whatever happens.
//
// It runs in steps, each a method of one opening: choose how indexes are
// costed, read the tables, bind the profile's parameters, resolve the
// statements and give them values, plan them with the existing indexes,
// and sum up the workload.
func openSession(ctx context.Context, q Querier, w *Workload, opts Options, res *Result) (*session, error) {
	if opts.MaxColumns <= 0 {
		opts.MaxColumns = DefaultMaxColumns
	}
	o := &opening{s: &session{q: q, opts: opts}, w: w, res: res}
	res.Schema, res.Proposals, res.Drops = Schema, []Proposal{}, []Drop{}
	res.Skipped = append([]Skipped(nil), w.Skipped...)
	res.Workload = Summary{Source: w.Source, Name: w.Name, WeightedBy: w.WeightedBy, Budget: opts.Budget.String()}
	if len(w.Statements) == 0 {
		return o.s, emptyWorkload(w)
	}
	for _, step := range []func(context.Context) error{o.readStatistics, o.quiet, o.chooseCosting, o.loadTables, o.bindProfile, o.resolveStatements, o.planStatements} {
		if err := step(ctx); err != nil {
			return o.s, err
		}
	}
	return o.s, o.summarize()
}

// opening is one openSession as it goes: what each step hands the next.
type opening struct {
	s   *session
	w   *Workload
	res *Result
	// bound is the profile's parameter generators, nil without a profile
	// or when they cannot read this database.
	bound *profiles.Bound
	// stmts are the statements resolved and given values, before they are
	// planned; the ones that plan go on to s.stmts.
	stmts []*costed
	// fixed describes the predicates pg_qualstats saw with one constant.
	fixed []string
	// denied is the first statement the role may not read a table of.
	denied error
}

// quiet turns pg_qualstats off for the session, where it is loaded, until
// close: the statements planned here, with values drawn for their
// parameters, are not the application's, and sampled they would count
// among the constants the application ran with, which the next propose
// reads back (and pg_qualstats 2.0.4 crashes the server on some EXPLAINs:
// analyze.Explainer.quiet).
func (o *opening) quiet(ctx context.Context) error {
	was, err := pg.QualStats(ctx, o.s.q)
	if err != nil {
		return fmt.Errorf("indexes: read pg_qualstats.enabled: %w", err)
	}
	if was == nil {
		return nil
	}
	if _, err := o.s.q.Exec(ctx, pg.Tagged("SELECT set_config('pg_qualstats.enabled', 'off', false)")); err != nil {
		return fmt.Errorf("indexes: turn pg_qualstats off for the session: %w", err)
	}
	o.s.qualstats = *was
	return nil
}

// readStatistics reads how old the server's counters are, before anything
// else is sent, so that whether unused drops are judged follows analyze's
// rule (analyze.ReadStatistics) on the same database.
func (o *opening) readStatistics(ctx context.Context) error {
	minAge := o.s.opts.MinStatsAge
	if minAge == 0 {
		minAge = DefaultMinStatsAge
	}
	st, err := analyze.ReadStatistics(ctx, o.s.q, minAge)
	if err != nil {
		return fmt.Errorf("indexes: %w", err)
	}
	o.res.Statistics = st
	return nil
}

// chooseCosting picks how what-if indexes are made: HypoPG's hypothetical
// indexes, or real ones in a rolled-back transaction when allowed.
func (o *opening) chooseCosting(ctx context.Context) error {
	s, q, opts, res := o.s, o.s.q, o.s.opts, o.res
	srv, err := inspectServer(ctx, q)
	if err != nil {
		return err
	}
	var wi whatIf
	switch {
	case srv.hypopg:
		wi = &hypoPG{q: q}
	case !opts.AllowBuild:
		return noHypoPG(srv)
	case srv.readOnly || srv.inRecovery:
		return fmt.Errorf("%w: HypoPG is missing and building real indexes needs a writable primary (transaction_read_only=%v, in recovery=%v)",
			ErrReadOnly, srv.readOnly, srv.inRecovery)
	default:
		wi = &builder{q: q}
		res.Notes = append(res.Notes, "HypoPG is not installed: costs come from real indexes built one at a time in a transaction that is rolled back")
	}
	res.Costing = wi.method()
	s.e = newEngine(q, wi)
	return nil
}

// loadTables reads the tables the statements name, their partitions, and
// for pg_stat_statements the constants pg_qualstats saw them run with.
func (o *opening) loadTables(ctx context.Context) error {
	s, w, res := o.s, o.w, o.res
	var refs []relRef
	for i := range w.Statements {
		for _, b := range w.Statements[i].q.blocks {
			refs = append(refs, b.rels...)
		}
	}
	var err error
	if s.cat, err = loadCatalog(ctx, s.q, refs); err != nil {
		return err
	}
	if w.Source == SourceStatStatements {
		// The constants the statements ran with: pg_stat_statements
		// keeps none.
		if s.qs, err = readQualStats(ctx, s.q, w); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			res.Notes = append(res.Notes, "pg_qualstats could not be read ("+err.Error()+"): parameters are drawn from pg_stats and no partial index is proposed")
			s.qs = nil
		}
	}
	s.e.partIndex = s.cat.partIndex
	res.Notes = append(res.Notes, s.cat.partitionNotes()...)
	return nil
}

// bindProfile readies a profile's parameter generators on this database;
// a profile written for another schema leaves them out with a note.
func (o *opening) bindProfile(ctx context.Context) error {
	p := o.w.Profile()
	if p == nil {
		return nil
	}
	bound, err := profiles.Bind(ctx, o.s.q, p)
	if err != nil {
		pe, ok := isPgError(err)
		if !ok || (pe.Code != pgUndefinedTable && pe.Code != pgUndefinedColumn) {
			return fmt.Errorf("indexes: %w", err)
		}
		// The profile is for another schema: its statements on missing
		// tables are skipped later, the others drawn from pg_stats.
		o.res.Notes = append(o.res.Notes, "the profile's parameter generators cannot read this database ("+pe.Message+"): parameters are drawn from pg_stats instead")
		return nil
	}
	o.bound = bound
	return nil
}

// deny handles a statement the role may not read a table of. Not the
// statement's fault: where the user named the statements, costing the
// rest would leave that table out unseen, so it is the error. But
// pg_stat_statements holds every role's statements, other applications'
// among them: those are left out with the GRANT that would let the role
// cost them.
func (o *opening) deny(ctx context.Context, c *costed, pe *pgconn.PgError, err error) error {
	s := o.s
	err = fmt.Errorf("indexes: %s: %w", c.st.Label(), s.e.privilege(ctx, err, "SELECT"))
	if o.w.Source != SourceStatStatements {
		return err
	}
	if o.denied == nil {
		o.denied = err
	}
	fix := "grant the role SELECT on the table"
	if role, rerr := s.e.role(ctx); rerr == nil {
		if f, ok := pg.FixFor(pe, role, "SELECT"); ok {
			fix = "run " + strings.TrimSuffix(f, ";")
		}
	}
	o.res.Skipped = append(o.res.Skipped, c.st.skipped("this role may not read it: "+pe.Message+" ("+fix+")"))
	return nil
}

// resolveStatements resolves each statement's tables and gives it
// parameter values (its own, the profile's, or drawn from pg_stats and
// pg_qualstats), skipping, with the reason, those that cannot be.
func (o *opening) resolveStatements(ctx context.Context) error {
	s, w, opts := o.s, o.w, o.s.opts
	for i := range w.Statements {
		st := &w.Statements[i]
		skip := func(why string) {
			o.res.Skipped = append(o.res.Skipped, st.skipped(why))
		}
		r := resolve(st.q, s.cat)
		if r.missing != "" {
			skip(fmt.Sprintf("table %s does not exist", sqlscan.QuoteName(r.missing)))
			continue
		}
		if why := systemOnly(r); why != "" {
			skip(why)
			continue
		}
		c := &costed{st: st, idx: len(o.stmts), r: r, sql: explainSQL(st.q.plan), weight: st.Weight}
		o.fixed = append(o.fixed, markFixed(c, w.Source, s.qs)...)
		markKept(c, s.qs)
		switch {
		case st.Args != nil:
			c.args = st.Args
		case o.bound != nil && st.Name != "":
			c.args = o.bound.Args(st.Name, rngFor(opts.Seed, st.Fingerprint))
		case st.q.hasParams():
			args, err := sampleArgs(ctx, s.q, c, opts.Seed, s.qs)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if pe, ok := isPgError(err); ok && pe.Code == "42501" {
					if err := o.deny(ctx, c, pe, err); err != nil {
						return err
					}
					continue
				}
				skip(err.Error())
				continue
			}
			c.args = args
		}
		o.stmts = append(o.stmts, c)
	}
	return nil
}

// planStatements plans each statement with the existing indexes: its
// cost before, the indexes it uses, and with pg_stat_statements' total
// time its weight. A statement that does not plan is skipped with the
// server's reason.
func (o *opening) planStatements(ctx context.Context) error {
	s, opts := o.s, o.s.opts
	for i, c := range o.stmts {
		if opts.Progress != nil {
			opts.Progress(Progress{Phase: "plan statements", Done: i, Total: len(o.stmts)})
		}
		p, perr := s.e.plan(ctx, c, nil)
		if perr != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			pe, ok := isPgError(perr)
			if !ok {
				return fmt.Errorf("indexes: plan %s: %w", c.st.Label(), perr)
			}
			if pe.Code == "42501" {
				if err := o.deny(ctx, c, pe, perr); err != nil {
					return err
				}
				continue
			}
			msg := pe.Message
			if pe.Hint != "" {
				msg += " (hint: " + pe.Hint + ")"
			}
			o.res.Skipped = append(o.res.Skipped, c.st.skipped("does not plan: "+msg+" (SQLSTATE "+pe.Code+")"))
			continue
		}
		c.before, c.usedBefore = p.cost, p.used
		if o.w.WeightedBy == WeightTotalTime && c.st.TotalTimeMs > 0 && p.cost > 0 {
			c.weight = c.st.TotalTimeMs / p.cost
		}
		c.idx = len(s.stmts)
		s.stmts = append(s.stmts, c)
	}
	return nil
}

// summarize starts the plan cache afresh with the statements that stay,
// sums the workload's cost, table bytes and updated columns, and notes
// what pg_qualstats gave. A workload left with no statement is the error:
// the role's privileges when they left it so.
func (o *opening) summarize() error {
	s, res := o.s, o.res
	s.e.cache, s.e.cachedPlans = map[*costed]map[string]*planCost{}, 0
	tableSeen := map[uint32]bool{}
	for _, c := range s.stmts {
		s.e.remember(c, "", &planCost{cost: c.before, used: c.usedBefore})
		res.Workload.CostBefore += c.weight * c.before
		for _, t := range c.r.tables {
			if !tableSeen[t.oid] {
				tableSeen[t.oid] = true
				res.Workload.TableBytes += t.bytes
			}
		}
		if c.r.target != nil {
			for _, col := range c.r.set {
				c.r.target.updated[col] += c.weight
			}
		}
	}
	res.Workload.Statements = len(s.stmts)
	res.Workload.Skipped = len(res.Skipped)
	if s.qs != nil {
		note := fmt.Sprintf("pg_qualstats: the constants of %d predicates of %d statements, drawn for their parameters by how often each ran", s.qs.predicates, s.qs.statements)
		if n := s.qs.measuredFilters(); n > 0 {
			note += fmt.Sprintf("; the share of rows %d predicates really kept (their filter ratio), which orders index keys before pg_stats' average and keeps one that kept over %.0f%% from leading", n, broadShare*100)
		}
		if len(o.fixed) > 0 {
			note += "; fixed in the application (one value in " + strconv.Itoa(int(fixedConstantShare*100)) + "% of the executions), so a partial index may be on them: " + describeFixed(o.fixed)
		}
		res.Notes = append(res.Notes, note)
	}
	if len(s.stmts) == 0 {
		if o.denied != nil {
			// Nothing left because of privileges: that is the error.
			return o.denied
		}
		return emptyWorkload(&Workload{Skipped: res.Skipped})
	}
	return nil
}

// systemOnly says why a statement that reads only system objects (the
// catalogs an administration query or a psql \d reads, an extension's
// tables) is not the workload's: they are never indexed here. Empty when
// it reads a table of the user's.
func systemOnly(r *resolved) string {
	var names []string
	for _, t := range r.tables {
		if t.system == "" {
			return ""
		}
		names = append(names, t.display()+" ("+t.system+")")
	}
	if len(names) == 0 {
		return ""
	}
	return "it reads only system objects, which are never indexed here: " + strings.Join(names, ", ")
}

// close removes every what-if index.
func (s *session) close() error {
	var err error
	if s.e != nil {
		err = s.e.cleanup()
	}
	if s.qualstats != "" {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		if _, rerr := s.q.Exec(ctx, pg.Tagged("SELECT set_config('pg_qualstats.enabled', $1, false)"), s.qualstats); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}

// costSet plans every statement under an index set (on top of the existing
// indexes): the total weighted cost, each statement's plan, and the
// statements each of the set's indexes serves.
func (s *session) costSet(ctx context.Context, set []*indexDef) (float64, map[int]*planCost, map[string][]string, error) {
	var total float64
	plans := map[int]*planCost{}
	usedBy := map[string][]string{}
	for _, c := range s.stmts {
		p, err := s.e.plan(ctx, c, set)
		if err != nil {
			return 0, nil, nil, err
		}
		total += c.weight * p.cost
		plans[c.idx] = p
		for _, u := range p.used {
			usedBy[u] = append(usedBy[u], c.st.Label())
		}
	}
	return total, plans, usedBy, nil
}

// Propose finds the indexes the workload needs on the database q is
// connected to. q must be one connection that nothing else uses meanwhile.
// Propose only reads, except that with HypoPG missing and AllowBuild set it
// builds indexes in a transaction it rolls back. What-if indexes are gone
// when it returns, whatever happened.
func Propose(ctx context.Context, q Querier, w *Workload, opts Options) (res *Result, err error) {
	progress := func(phase string, done, total int) {
		if opts.Progress != nil {
			opts.Progress(Progress{Phase: phase, Done: done, Total: total})
		}
	}
	res = &Result{}
	s, err := openSession(ctx, q, w, opts, res)
	defer func() {
		if cerr := s.close(); cerr != nil && err == nil {
			err = fmt.Errorf("indexes: clean up what-if indexes: %w", cerr)
		}
	}()
	if err != nil {
		return res, err
	}
	opts = s.opts
	e, stmts, cat := s.e, s.stmts, s.cat

	// Candidates.
	gen := newGenerator(opts.MaxColumns)
	for _, c := range stmts {
		for _, a := range c.r.accesses {
			gen.forAccess(c.idx, a, c.st.q.command == "SELECT")
		}
	}
	var pool []*cand
	for _, c := range gen.order {
		if c.reject == "" {
			pool = append(pool, c)
		}
	}
	res.Stats.Candidates = len(gen.order)

	// Selection.
	limit := opts.Budget.limit(res.Workload.TableBytes)
	if limit >= 0 {
		res.Workload.BudgetBytes = limit
	}
	slots := opts.MaxIndexes > 0 && limit < 0
	pool, notes, err := triage(ctx, e, stmts, pool, slots, func(done, total int) { progress("first costing of the candidates", done, total) })
	if err != nil {
		return res, fmt.Errorf("indexes: cost candidates: %w", err)
	}
	res.Notes = append(res.Notes, notes...)
	res.Stats.Weighed = len(pool)
	sel := newSelector(e, stmts, pool, gen.pool, limit, opts.MaxIndexes, opts.MinImprovement/100)
	sel.name = opts.optionName()
	if res.Workload.TableBytes > 0 {
		sel.floor = minDensityShare * res.Workload.CostBefore / float64(res.Workload.TableBytes)
	}
	sel.before = res.Workload.CostBefore
	sel.progress = func(done, total int) { progress(fmt.Sprintf("cost candidates (round %d)", sel.rounds), done, total) }
	for {
		if err := sel.run(ctx); err != nil {
			return res, fmt.Errorf("indexes: cost candidates: %w", err)
		}
		merged, err := sel.merge(ctx)
		if err != nil {
			return res, fmt.Errorf("indexes: merge indexes: %w", err)
		}
		if !merged {
			break
		}
	}
	final, margs, err := sel.material(ctx)
	if err != nil {
		return res, fmt.Errorf("indexes: cost candidates: %w", err)
	}
	res.Stats.Rounds = sel.rounds
	res.Stats.Moves = sel.costed

	// Proposals.
	for _, c := range stmts {
		p := final[c.idx]
		res.Workload.CostAfter += c.weight * p.cost
		res.Statements = append(res.Statements, statementCost(c, p.cost))
	}
	res.Workload.ImprovementPct = improvement(res.Workload.CostBefore, res.Workload.CostAfter)
	sort.SliceStable(sel.chosen, func(i, j int) bool {
		a, b := sel.chosen[i].def.table, sel.chosen[j].def.table
		if a.name != b.name {
			return a.name < b.name
		}
		return sel.chosen[i].id < sel.chosen[j].id
	})
	names := map[string]bool{}
	for _, ch := range sel.chosen {
		p := proposal(ch, stmts, final, margs[ch], res.Workload.CostBefore)
		name := p.Name
		if names[relKey(relRef{schema: ch.def.table.schema, name: name})] {
			// Same keys, different INCLUDE: keep names apart with a hash of
			// the whole definition.
			name = indexdef.ShortenName(name+"_"+indexdef.ShortHash(ch.id), indexdef.MaxIdentifierLength)
		}
		if name, err = freeName(ctx, q, ch.def.table, name, names); err != nil {
			return res, err
		}
		if name != p.Name {
			p.Name = name
			p.Definition = ch.def.ddl(name, true)
			p.Index.Name = name
		}
		names[relKey(relRef{schema: ch.def.table.schema, name: name})] = true
		res.Proposals = append(res.Proposals, p)
		res.Workload.IndexBytes += ch.bytes
	}
	for _, c := range gen.order {
		if c.reject == "" {
			continue
		}
		res.Rejected = append(res.Rejected, Rejected{Table: c.def.table.display(), Index: c.def.describe(),
			Definition: c.def.ddl("", false), Reason: c.reject})
	}
	var keptNote string
	judged := res.Statistics == nil || res.Statistics.IndexUsageJudged
	res.Drops, keptNote = drops(cat, stmts, final, sel.chosen, judged)
	if keptNote != "" {
		res.Notes = append(res.Notes, keptNote)
	}
	if !judged {
		res.Notes = append(res.Notes, res.Statistics.NotJudged("unused indexes not listed as drops", "judging an index unused", "propose",
			opts.optionName()(OptMinStatsAge)))
	}

	if opts.Compare != nil {
		progress("cost the hand-picked set", 0, 1)
		sc, notes, err := compareSeed(ctx, s, opts.Compare, final, res)
		if err != nil {
			return res, fmt.Errorf("indexes: compare with %s: %w", opts.Compare.Name, err)
		}
		res.Seed = sc
		res.Notes = append(res.Notes, notes...)
	}
	res.Stats.Explains, res.Stats.CacheHits, res.Stats.PlansCachedPeak = e.explains, e.hits, e.peak
	return res, nil
}

// freeName is name, or the first of name_2, name_3, … (cut to
// MaxIdentifierLength bytes as every generated name is) that no relation
// of schema holds in the database and no earlier proposal took (taken, by
// relKey). An index's name shares the schema's namespace with its tables,
// sequences and views; a proposal named as an existing index with another
// definition (IndexName leaves INCLUDE out) would be skipped by the plan's
// CREATE INDEX IF NOT EXISTS and its migration recorded as applied. The
// numbers are tried in order, so the same database gives the same name.
func freeName(ctx context.Context, q Querier, t *table, name string, taken map[string]bool) (string, error) {
	base := name
	for n := 2; ; n++ {
		if !taken[relKey(relRef{schema: t.schema, name: name})] {
			kind, err := pg.NameTaken(ctx, q, name, t.qualified())
			if err != nil {
				return "", fmt.Errorf("indexes: look up name %s: %w", indexdef.Qualify(t.schema, name), err)
			}
			if kind == "" {
				return name, nil
			}
		}
		name = indexdef.ShortenName(base+"_"+strconv.Itoa(n), indexdef.MaxIdentifierLength)
	}
}

// emptyWorkload explains an empty workload by what was skipped.
func emptyWorkload(w *Workload) error {
	if len(w.Skipped) == 0 {
		return fmt.Errorf("%w: it holds no statements", ErrEmptyWorkload)
	}
	reasons := map[string]int{}
	var order []string
	for _, s := range w.Skipped {
		r := s.Reason
		if i := strings.Index(r, ":"); i > 0 && strings.HasPrefix(r, "does not") {
			r = r[:i]
		}
		if reasons[r] == 0 {
			order = append(order, r)
		}
		reasons[r]++
	}
	var parts []string
	for _, r := range order {
		parts = append(parts, fmt.Sprintf("%d %s", reasons[r], r))
	}
	return fmt.Errorf("%w: all %d statements were skipped (%s)", ErrEmptyWorkload, len(w.Skipped), strings.Join(parts, "; "))
}

func statementCost(c *costed, after float64) StatementCost {
	return StatementCost{Fingerprint: c.st.Fingerprint, Name: c.st.Label(), Query: c.st.Query, Weight: c.weight,
		CostBefore: round2(c.before), CostAfter: round2(after), ImprovementPct: improvement(c.before, after)}
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// proposal describes a chosen index, with its own marginal saving: what
// the workload and each statement it serves cost without it, every other
// proposal in place.
func proposal(ch *cand, stmts []*costed, final map[int]*planCost, m *marginal, before float64) Proposal {
	p := Proposal{
		Schema: ch.def.table.schema, Table: ch.def.table.display(), Columns: ch.def.columns(), Include: ch.def.includes(), Where: ch.def.where,
		Name: ch.def.name(), SizeBytes: ch.bytes, Statements: []StatementCost{},
	}
	p.Definition = ch.def.ddl(p.Name, true)
	p.Index = ch.def.toDef(p.Name)
	var best *StatementCost
	if m != nil {
		p.Marginal = Marginal{Cost: round2(m.saved)}
		if before > 0 {
			p.Marginal.WorkloadPct = math.Round(m.saved/before*10000) / 100
		}
	}
	for _, c := range stmts {
		if !final[c.idx].uses(ch.id) {
			continue
		}
		sc := statementCost(c, final[c.idx].cost)
		sc.CostWithout = sc.CostBefore
		if m != nil {
			if w, ok := m.without[c.idx]; ok {
				sc.CostWithout = round2(w)
			}
		}
		sc.MarginalPct = improvement(sc.CostWithout, sc.CostAfter)
		p.Statements = append(p.Statements, sc)
	}
	sort.SliceStable(p.Statements, func(i, j int) bool {
		a, b := p.Statements[i], p.Statements[j]
		return a.Weight*(a.CostWithout-a.CostAfter) > b.Weight*(b.CostWithout-b.CostAfter)
	})
	if len(p.Statements) > 0 {
		best = &p.Statements[0]
	}
	p.WriteOverhead = writeOverhead(&ch.def)
	p.Reason = reason(ch, best, len(p.Statements), p.WriteOverhead)
	if len(ch.measured) > 0 {
		p.Reason += "; " + strings.Join(ch.measured, "; ")
	}
	p.onPartitions(&ch.def)
	return p
}

// reason says in one line why the index is proposed.
func reason(ch *cand, best *StatementCost, helped int, wo WriteOverhead) string {
	var eq, in, rng, order, group, join []string
	for i, k := range ch.def.keys {
		role := "="
		if i < len(ch.roles) {
			role = ch.roles[i]
		}
		switch role {
		case "IN":
			in = append(in, keyText(k))
		case "range":
			rng = append(rng, keyText(k))
		case "ORDER BY":
			order = append(order, keyText(k))
		case "GROUP BY":
			group = append(group, keyText(k))
		case "join":
			join = append(join, keyText(k))
		default:
			eq = append(eq, keyText(k))
		}
	}
	var parts []string
	if len(eq) > 0 {
		parts = append(parts, "equality on "+strings.Join(eq, ", "))
	}
	if len(in) > 0 {
		parts = append(parts, "IN on "+strings.Join(in, ", "))
	}
	if len(join) > 0 {
		parts = append(parts, "join on "+strings.Join(join, ", "))
	}
	if len(rng) > 0 {
		parts = append(parts, "range on "+strings.Join(rng, ", "))
	}
	if len(order) > 0 {
		parts = append(parts, "then ORDER BY "+strings.Join(order, ", ")+" read in index order (no sort)")
	}
	if len(group) > 0 {
		parts = append(parts, "then GROUP BY "+strings.Join(group, ", ")+" in index order")
	}
	if len(ch.def.include) > 0 {
		parts = append(parts, "INCLUDE for an index-only scan")
	}
	if ch.def.where != "" {
		parts = append(parts, "partial: WHERE "+ch.def.where+", a constant of the application's")
	}
	s := strings.Join(parts, "; ")
	if best != nil {
		s += fmt.Sprintf(" — helps %d statement(s), most %s (%.1f%% cheaper than with the other proposals alone)", helped, best.Name, best.MarginalPct)
	}
	if wo.EndsHOT {
		s += "; WARNING: indexes updated column(s) " + strings.Join(wo.UpdatedColumns, ", ") + ", ending HOT updates"
	}
	return s
}

// writeOverhead estimates what the index costs the table's writes.
func writeOverhead(d *indexDef) WriteOverhead {
	t := d.table
	w := WriteOverhead{
		InsertsPerSec: round2(t.writes.insertsPerSec), UpdatesPerSec: round2(t.writes.updatesPerSec),
		HOTUpdatesPerSec: round2(t.writes.hotUpdatesPerSec), DeletesPerSec: round2(t.writes.deletesPerSec), Known: t.writes.known,
	}
	cols := map[string]bool{}
	for _, k := range d.keys {
		if k.Column != "" {
			cols[k.Column] = true
		} else {
			for name := range t.columns {
				if strings.Contains(k.Expr, indexdef.QuoteIdent(name)) {
					cols[name] = true
				}
			}
		}
	}
	for _, c := range d.include {
		cols[c] = true
	}
	if d.where != "" {
		for name := range t.columns {
			if strings.Contains(d.where, indexdef.QuoteIdent(name)) {
				cols[name] = true
			}
		}
	}
	for col := range t.updated {
		if cols[col] {
			w.UpdatedColumns = append(w.UpdatedColumns, col)
		}
	}
	sort.Strings(w.UpdatedColumns)
	w.EndsHOT = len(w.UpdatedColumns) > 0
	writes := t.writes.insertsPerSec + t.writes.updatesPerSec - t.writes.hotUpdatesPerSec
	if w.EndsHOT {
		writes += t.writes.hotUpdatesPerSec
	}
	w.IndexWritesPerSec = round2(writes)
	return w
}

// partitionedDropNote ends the reason of a drop on a partitioned table,
// whose DROP INDEX cannot be CONCURRENTLY.
const partitionedDropNote = "; a partitioned index: its DROP INDEX cannot be CONCURRENTLY and holds ACCESS EXCLUSIVE on the table and every partition while it runs, so run it in a quiet window"

// drops lists the existing indexes the workload does not need.
//
// Never a system catalog's or an extension's index, an index that backs a
// constraint (primary key, unique, exclusion), or one a foreign key's
// lookups read: those of the foreign keys the workload does not use are
// named in the note instead, so that nobody drops them by hand thinking
// them forgotten. An index is listed as unused only when judged: the
// statistics have counted long enough (Options.MinStatsAge) for no scan
// to mean something.
func drops(cat *catalog, stmts []*costed, final map[int]*planCost, chosen []*cand, judged bool) (out []Drop, note string) {
	var kept []string
	used := map[string]bool{}
	for _, c := range stmts {
		for _, u := range c.usedBefore {
			used[u] = true
		}
		for _, u := range final[c.idx].used {
			used[u] = true
		}
	}
	var oids []uint32
	for oid := range cat.byOID {
		oids = append(oids, oid)
	}
	sort.Slice(oids, func(i, j int) bool { return cat.byOID[oids[i]].name < cat.byOID[oids[j]].name })
	out = []Drop{}
	for _, oid := range oids {
		t := cat.byOID[oid]
		if t.system != "" {
			// Not the user's: its indexes are the server's or the
			// extension's business.
			continue
		}
		listed := map[*existing]bool{}
		add := func(e *existing, kind, why string) {
			if listed[e] {
				return
			}
			listed[e] = true
			stmt := "DROP INDEX CONCURRENTLY " + indexdef.QuoteIdent(t.schema) + "." + indexdef.QuoteIdent(e.name)
			if t.kind == "p" {
				// PostgreSQL cannot drop a partitioned index concurrently:
				// the plain DROP removes every partition's index with it,
				// under ACCESS EXCLUSIVE on the table and its partitions.
				stmt = "DROP INDEX " + indexdef.QuoteIdent(t.schema) + "." + indexdef.QuoteIdent(e.name)
				why += partitionedDropNote
			}
			out = append(out, Drop{Table: t.display(), Index: e.name, Kind: kind, Definition: e.definition, SizeBytes: e.bytes,
				Scans: e.scans, Reason: why, Statement: stmt})
		}
		droppable := func(e *existing) bool { return e.valid && !e.unique && !e.primary && !e.constraint }
		for i, a := range t.indexes {
			for _, b := range t.indexes[i+1:] {
				if a.method != b.method || a.opclasses != b.opclasses || a.def.where != b.def.where || !indexdef.SameKeys(a.def.keys, b.def.keys) ||
					strings.Join(a.def.include, ",") != strings.Join(b.def.include, ",") {
					continue
				}
				switch {
				case droppable(b):
					add(b, "duplicate", "same definition as "+a.name)
				case droppable(a):
					add(a, "duplicate", "same definition as "+b.name)
				}
			}
		}
		for _, a := range t.indexes {
			if !droppable(a) || a.special || len(a.def.include) > 0 {
				continue
			}
			for _, b := range t.indexes {
				if b != a && b.valid && !b.special && b.def.where == a.def.where &&
					len(b.def.keys) > len(a.def.keys) && indexdef.KeyPrefix(a.def.keys, b.def.keys) {
					add(a, "redundant", b.name+" starts with the same key columns and serves the same scans")
					break
				}
			}
			for _, ch := range chosen {
				if ch.def.table == t && ch.def.where == a.def.where && len(ch.def.keys) > len(a.def.keys) && indexdef.KeyPrefix(a.def.keys, ch.def.keys) {
					add(a, "redundant", "proposed index "+ch.def.name()+" starts with the same key columns and serves the same scans")
					break
				}
			}
		}
		for _, a := range t.indexes {
			if !judged || !a.valid || a.scans > 0 || used[existingPrefix+a.name] || listed[a] {
				continue
			}
			switch {
			case a.primary || a.unique || a.constraint:
				// Backs a constraint: never a drop, plainly.
			case a.fk != "":
				kept = append(kept, a.name+" (the lookups of foreign key "+a.fk+" read it on each delete or key update of the rows it references)")
			default:
				add(a, "unused", "no statement of the workload uses it, before or after the proposals, and the server counts no scan of it since its statistics were reset")
			}
		}
	}
	if len(kept) > 0 {
		note = "not listed as unused though no statement of the workload reads them: " + strings.Join(kept, "; ")
	}
	return out, note
}

// compareSeed costs a profile's hand-picked index set on the same
// statements and statistics.
func compareSeed(ctx context.Context, s *session, p *profiles.Profile, final map[int]*planCost, res *Result) (*SeedComparison, []string, error) {
	e, cat := s.e, s.cat
	sc := &SeedComparison{Profile: p.Name, Before: round2(res.Workload.CostBefore)}
	var notes []string
	type seedDef struct {
		ix  profiles.Index
		def *indexDef
	}
	var defs []seedDef
	var set []*indexDef
	for _, ix := range p.Indexes {
		t := cat.find(ix.Table)
		if t == nil {
			notes = append(notes, fmt.Sprintf("hand-picked index %s is on %s, which no costed statement reads: left out of the comparison", ix.Name, ix.Table))
			continue
		}
		pd, err := ix.Def()
		var d *indexDef
		if err == nil {
			d, err = defOn(t, pd.Keys, pd.Include)
		}
		if err != nil {
			notes = append(notes, fmt.Sprintf("hand-picked index %s: %v: left out of the comparison", ix.Name, err))
			continue
		}
		defs = append(defs, seedDef{ix: ix, def: d})
		set = append(set, d)
	}
	total, plans, usedBy, err := s.costSet(ctx, set)
	if err != nil {
		return nil, nil, err
	}
	sc.Seed.Cost = total
	for _, c := range s.stmts {
		sc.Statements = append(sc.Statements, SeedStatement{Fingerprint: c.st.Fingerprint, Name: c.st.Label(), Weight: c.weight,
			Before: round2(c.before), Seed: round2(plans[c.idx].cost), Advisor: round2(final[c.idx].cost)})
	}
	sc.Seed.Indexes = len(defs)
	for i, sd := range defs {
		size, err := e.size(ctx, sd.def)
		if err != nil {
			return nil, nil, err
		}
		sc.Seed.Bytes += size
		si := SeedIndex{Name: sd.ix.Name, Table: sd.def.table.display(), Columns: sd.def.columns(), SizeBytes: size,
			UsedBy: usedBy[sd.def.id()]}
		if si.UsedBy == nil {
			si.UsedBy = []string{}
		}
		var why []string
		for _, ex := range sd.def.table.indexes {
			if !ex.valid || ex.special || ex.def.where != "" {
				continue
			}
			switch {
			case indexdef.SameKeys(sd.def.keys, ex.def.keys):
				w := "repeats existing index " + ex.name
				if ex.fk != "" {
					w += " (the index on foreign key " + ex.fk + ")"
				}
				why = append(why, w)
			case indexdef.KeyPrefix(sd.def.keys, ex.def.keys):
				why = append(why, "existing index "+ex.name+" starts with its columns")
			}
		}
		for j, other := range defs {
			if j != i && other.def.table == sd.def.table && len(other.def.keys) > len(sd.def.keys) && indexdef.KeyPrefix(sd.def.keys, other.def.keys) {
				why = append(why, "hand-picked index "+other.ix.Name+" starts with its columns")
			}
		}
		si.Redundant = len(why) > 0
		if len(si.UsedBy) == 0 {
			si.Unused = true
			why = append(why, "no statement's plan uses it with the whole set in place")
		}
		si.Reason = strings.Join(why, "; ")
		sc.Indexes = append(sc.Indexes, si)
	}
	sc.Seed.Cost = round2(sc.Seed.Cost)
	sc.Seed.ImprovementPct = improvement(res.Workload.CostBefore, sc.Seed.Cost)
	sc.Advisor = SetCost{Indexes: len(res.Proposals), Cost: round2(res.Workload.CostAfter), Bytes: res.Workload.IndexBytes,
		ImprovementPct: res.Workload.ImprovementPct}
	return sc, notes, nil
}

// IsInput reports whether err is the caller's input being wrong (a budget,
// a workload) rather than the database failing.
func IsInput(err error) bool {
	return errors.Is(err, ErrBadBudget) || errors.Is(err, ErrEmptyWorkload) || errors.Is(err, ErrBadWorkload)
}
