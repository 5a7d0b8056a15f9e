package analyze

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"

	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// A statement with $n parameters gets a generic plan: one made without
// values, from average selectivities. The application's calls get custom
// plans, made for their values, whenever it sends literals (Django, most
// ORMs: pg_stat_statements shows them as $n) and for a prepared
// statement's first five executions; the plan cache keeps the generic one
// only while its estimate is close. When the two differ, judging the
// generic plan alone judges a plan that may never run: a backward index
// scan that looks cheap while every call runs a sequential scan. So each
// generic plan is compared with a custom plan made for values drawn from
// the table statistics (pg_stats) of the columns the parameters are
// compared with, and both are judged.

// Where in a column's histogram a range parameter is drawn, as the index
// advisor draws them (indexes/params.go): a lower bound near the top keeps
// the newest tenth of the rows, as "since last week" queries do, an upper
// bound near the bottom the oldest tenth, and a column bounded on both
// sides gets bounds around the middle a tenth apart. A value from the
// middle of one side would select half the table, which no application
// query asks for.
const (
	customLowerQuantile = 0.9
	customUpperQuantile = 0.1
	customBetweenLower  = 0.45
	customBetweenUpper  = 0.55
	customLimitValue    = "20" // a page of Django REST framework's default size
	customOffsetValue   = "0"
	customArrayValues   = 3 // values an = ANY($n) parameter gets
	customPlanStatement = "hishamos_perf_param_types"
	// customMaxParams is the most parameters a statement may have for a
	// custom plan: more is an IN list of values, whose plan does not
	// hinge on them one by one.
	customMaxParams = 100
	// customNoteValues is how many drawn values a custom plan's note
	// names.
	customNoteValues = 8
	// GenericSlowerFactor is how many times slower than the custom plan
	// the generic plan must run, for the same values, for
	// generic-plan-differs to be a warning: twice the time is where a
	// prepared statement's switch to the generic plan shows in its
	// latency. GenericSlowerMinMs ignores plans that both run in under a
	// millisecond.
	GenericSlowerFactor = 2.0
	GenericSlowerMinMs  = 1.0
)

// paramUse is what a $n is compared with: a column of a relation, with an
// operator, or a row count (LIMIT, OFFSET).
type paramUse struct {
	// rel is the column's relation as the statement names it (alias
	// resolved), empty when the column is not qualified and the
	// statement reads several relations; rels are then its candidates.
	rel   string
	rels  []string
	col   string
	op    string
	array bool
	count string // "limit" or "offset"
}

// paramUses reads, from a statement's parse tree, what each of its $n is
// compared with. A parameter compared with an expression (lower(col) =
// lower($1)) or passed to a function has no use: its value comes from its
// type.
func paramUses(st *sqlscan.Parsed) map[int]paramUse {
	uses := map[int]paramUse{}
	if st == nil || st.Tree == nil {
		return uses
	}
	aliases := map[string]string{}
	var rels []string
	sqlscan.Walk(st.Tree, func(m proto.Message) bool {
		if rv, ok := m.(*pg_query.RangeVar); ok {
			name := rv.Relname
			if rv.Schemaname != "" {
				name = rv.Schemaname + "." + rv.Relname
			}
			if !slices.Contains(rels, name) {
				rels = append(rels, name)
			}
			aliases[rv.Relname] = name
			if rv.Alias != nil && rv.Alias.Aliasname != "" {
				aliases[rv.Alias.Aliasname] = name
			}
		}
		return true
	})
	column := func(n *pg_query.Node) (paramUse, bool) {
		for n.GetTypeCast() != nil {
			n = n.GetTypeCast().Arg
		}
		cr := n.GetColumnRef()
		if cr == nil || len(cr.Fields) == 0 {
			return paramUse{}, false
		}
		var parts []string
		for _, f := range cr.Fields {
			s := f.GetString_()
			if s == nil {
				return paramUse{}, false
			}
			parts = append(parts, s.Sval)
		}
		u := paramUse{col: parts[len(parts)-1]}
		switch len(parts) {
		case 1:
			if len(rels) == 1 {
				u.rel = rels[0]
			} else {
				u.rels = rels
			}
		case 2:
			u.rel = aliases[parts[0]]
			if u.rel == "" {
				u.rel = parts[0]
			}
		default:
			u.rel = strings.Join(parts[len(parts)-3:len(parts)-1], ".")
		}
		return u, true
	}
	flip := map[string]string{"<": ">", ">": "<", "<=": ">=", ">=": "<="}
	sqlscan.Walk(st.Tree, func(m proto.Message) bool {
		switch v := m.(type) {
		case *pg_query.SelectStmt:
			if n := paramRef(v.LimitCount); n > 0 {
				uses[n] = paramUse{count: "limit"}
			}
			if n := paramRef(v.LimitOffset); n > 0 {
				uses[n] = paramUse{count: "offset"}
			}
		case *pg_query.A_Expr:
			op := ""
			if len(v.Name) > 0 && v.Name[0].GetString_() != nil {
				op = v.Name[0].GetString_().Sval
			}
			switch v.Kind {
			case pg_query.A_Expr_Kind_AEXPR_OP, pg_query.A_Expr_Kind_AEXPR_LIKE, pg_query.A_Expr_Kind_AEXPR_ILIKE:
				if u, ok := column(v.Lexpr); ok {
					if n := paramRef(v.Rexpr); n > 0 {
						u.op = op
						uses[n] = u
					}
				} else if u, ok := column(v.Rexpr); ok {
					if n := paramRef(v.Lexpr); n > 0 {
						u.op = op
						if f, ok := flip[op]; ok {
							u.op = f
						}
						uses[n] = u
					}
				}
			case pg_query.A_Expr_Kind_AEXPR_OP_ANY:
				if u, ok := column(v.Lexpr); ok {
					if n := paramRef(v.Rexpr); n > 0 {
						u.op, u.array = op, true
						uses[n] = u
					}
				}
			case pg_query.A_Expr_Kind_AEXPR_IN:
				if u, ok := column(v.Lexpr); ok {
					for _, item := range v.Rexpr.GetList().GetItems() {
						if n := paramRef(item); n > 0 {
							u.op = "="
							uses[n] = u
						}
					}
				}
			case pg_query.A_Expr_Kind_AEXPR_BETWEEN:
				if u, ok := column(v.Lexpr); ok {
					items := v.Rexpr.GetList().GetItems()
					for i, op := range []string{">=", "<="} {
						if i < len(items) {
							if n := paramRef(items[i]); n > 0 {
								u.op = op
								uses[n] = u
							}
						}
					}
				}
			}
		}
		return true
	})
	return uses
}

// paramRef is the number of the $n a node is (through casts), 0 when it
// is none.
func paramRef(n *pg_query.Node) int {
	for n != nil && n.GetTypeCast() != nil {
		n = n.GetTypeCast().Arg
	}
	if p := n.GetParamRef(); p != nil {
		return int(p.Number)
	}
	return 0
}

// columnStats are a column's most common values with their frequencies
// and its histogram bounds, from pg_stats.
type columnStats struct {
	mcv  []string
	mcf  []float64
	hist []string
}

// errNoValue is a parameter the sampler finds no value for.
var errNoValue = errors.New("no value to draw")

// sampleValues draws a value for every $n of a statement from the
// statistics of what it is compared with, in text (the server reads it as
// the parameter's type): a most common value drawn by its frequency for
// an equality, a histogram bound for a range, 20 and 0 for LIMIT and
// OFFSET, and for a parameter compared with nothing a value of its type.
// The draw is seeded by the statement's queryid, so a run draws the same
// values as the last.
func sampleValues(ctx context.Context, q Querier, s *Statement, st *sqlscan.Parsed) ([]any, []string, error) {
	n := 0
	if len(st.Params) > 0 {
		n = st.Params[len(st.Params)-1]
	}
	h := fnv.New64a()
	fmt.Fprint(h, s.QueryID)
	rng := rand.New(rand.NewPCG(h.Sum64(), 0x5eed))
	uses := paramUses(st)
	bounded := map[string]int{}
	for _, u := range uses {
		switch u.op {
		case ">", ">=":
			bounded[u.rel+"."+u.col] |= 1
		case "<", "<=":
			bounded[u.rel+"."+u.col] |= 2
		}
	}
	args := make([]any, n)
	said := make([]string, n)
	var types []uint32
	for i := 1; i <= n; i++ {
		u, ok := uses[i]
		var v string
		switch {
		case ok && u.count == "limit":
			v, ok = customLimitValue, true
		case ok && u.count == "offset":
			v, ok = customOffsetValue, true
		case ok:
			var err error
			v, ok, err = columnValue(ctx, q, u, bounded[u.rel+"."+u.col] == 3, rng)
			if err != nil {
				return nil, nil, err
			}
		}
		if !ok {
			if types == nil {
				var err error
				if types, err = paramTypes(ctx, q, s.planText()); err != nil {
					return nil, nil, err
				}
			}
			if i > len(types) {
				return nil, nil, fmt.Errorf("$%d: %w", i, errNoValue)
			}
			if v, ok = sqlscan.TypeDefault(types[i-1]); !ok {
				return nil, nil, fmt.Errorf("$%d (type oid %d, compared with no column): %w", i, types[i-1], errNoValue)
			}
		}
		args[i-1] = v
		said[i-1] = fmt.Sprintf("$%d = %s", i, quoteValue(v))
	}
	return args, said, nil
}

// quoteValue writes a drawn value as a literal for a note.
func quoteValue(v string) string { return "'" + strings.ReplaceAll(v, "'", "''") + "'" }

// columnValue draws a value of a column from its statistics (ok false
// when it has none), or reads one value of the column when it was never
// analysed.
func columnValue(ctx context.Context, q Querier, u paramUse, between bool, rng *rand.Rand) (string, bool, error) {
	rels := u.rels
	if u.rel != "" {
		rels = []string{u.rel}
	}
	for _, rel := range rels {
		cs, found, err := readColumnStats(ctx, q, rel, u.col)
		if err != nil {
			return "", false, err
		}
		if !found {
			continue
		}
		pick := func() (string, bool) { return cs.pick(u.op, between, rng) }
		if u.array {
			var elems []string
			for range customArrayValues {
				if v, ok := pick(); ok {
					elems = append(elems, `"`+strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v)+`"`)
				}
			}
			if len(elems) == 0 {
				return "", false, nil
			}
			return "{" + strings.Join(elems, ",") + "}", true, nil
		}
		if v, ok := pick(); ok {
			return v, true, nil
		}
	}
	return "", false, nil
}

// pick draws one value for an operator.
func (cs *columnStats) pick(op string, between bool, rng *rand.Rand) (string, bool) {
	lower, upper := customLowerQuantile, customUpperQuantile
	if between {
		lower, upper = customBetweenLower, customBetweenUpper
	}
	return sqlscan.PickValue(cs.mcv, cs.mcf, cs.hist, op, lower, upper, rng)
}

// readColumnStats reads a column's statistics; found is false when the
// relation or the column is unknown. A column never analysed gets one of
// its values as its only common value.
func readColumnStats(ctx context.Context, q Querier, rel, col string) (*columnStats, bool, error) {
	cs := &columnStats{}
	var exists bool
	err := q.QueryRow(ctx, Tagged(`SELECT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND NOT a.attisdropped),
	coalesce((SELECT s.most_common_vals::text::text[] FROM pg_stats s JOIN pg_class c ON c.relname = s.tablename
		JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = s.schemaname
		WHERE c.oid = to_regclass($1) AND s.attname = $2 ORDER BY s.inherited DESC LIMIT 1), '{}'),
	coalesce((SELECT s.most_common_freqs::float8[] FROM pg_stats s JOIN pg_class c ON c.relname = s.tablename
		JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = s.schemaname
		WHERE c.oid = to_regclass($1) AND s.attname = $2 ORDER BY s.inherited DESC LIMIT 1), '{}'),
	coalesce((SELECT s.histogram_bounds::text::text[] FROM pg_stats s JOIN pg_class c ON c.relname = s.tablename
		JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = s.schemaname
		WHERE c.oid = to_regclass($1) AND s.attname = $2 ORDER BY s.inherited DESC LIMIT 1), '{}')`),
		quotedRelation(rel), col).Scan(&exists, &cs.mcv, &cs.mcf, &cs.hist)
	if err != nil {
		return nil, false, fmt.Errorf("analyze: read the statistics of %s.%s: %w", rel, col, err)
	}
	if !exists {
		return nil, false, nil
	}
	if len(cs.mcv) == 0 && len(cs.hist) == 0 {
		var v *string
		err := q.QueryRow(ctx, Tagged("SELECT "+quoteIdent(col)+"::text FROM "+quotedRelation(rel)+" WHERE "+quoteIdent(col)+" IS NOT NULL LIMIT 1")).Scan(&v)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return nil, false, fmt.Errorf("analyze: read a value of %s.%s: %w", rel, col, err)
		}
		if v != nil {
			cs.mcv, cs.mcf = []string{*v}, []float64{1}
		}
	}
	return cs, true, nil
}

// quotedRelation quotes schema.name (or name) for SQL and to_regclass.
func quotedRelation(rel string) string {
	if schema, name, ok := strings.Cut(rel, "."); ok {
		return quoteIdent(schema) + "." + quoteIdent(name)
	}
	return quoteIdent(rel)
}

// paramTypes asks the server for a statement's parameter types, with a
// prepared statement it deallocates at once.
func paramTypes(ctx context.Context, q Querier, sql string) ([]uint32, error) {
	pc, ok := q.(pgConner)
	if !ok {
		return nil, fmt.Errorf("cannot tell the parameters' types on this connection: %w", errNoValue)
	}
	desc, err := pc.PgConn().Prepare(ctx, customPlanStatement, Tagged(sql), nil)
	if err != nil {
		return nil, err
	}
	defer pc.PgConn().Deallocate(context.WithoutCancel(ctx), customPlanStatement) //nolint:errcheck // best effort; a failed deallocate leaves a name the next Prepare replaces
	return desc.ParamOIDs, nil
}

// judgeBoth runs the plan rules on a statement's custom plan as well,
// keeping the findings on its nodes that the generic plan did not have
// (Plan "custom"), and says how the two plans differ
// (generic-plan-differs): a warning when the generic plan, run with the
// custom plan's values, is GenericSlowerFactor times slower.
func judgeBoth(s *Statement, sub Subject, generic []Finding, name func(Option) string) []Finding {
	if !sub.readsUserTables() {
		// The server's own statements draw no finding (Evaluate's rule),
		// whichever plan is judged.
		return nil
	}
	c := s.CustomPlan
	seen := map[string]bool{}
	for _, f := range generic {
		seen[f.Rule+" "+f.Table] = true
	}
	var out []Finding
	for _, f := range Evaluate(Subject{Plan: c.Plan, Tables: sub.Tables}) {
		if f.Node == nil || seen[f.Rule+" "+f.Table] {
			continue
		}
		f.Plan = "custom"
		out = append(out, f)
	}
	ev := map[string]float64{"generic_cost": round1(s.Plan.TotalCost), "custom_cost": round1(c.TotalCost)}
	msg := fmt.Sprintf("the generic plan (%s) is not what a custom plan for sampled values does (%s)", planScans(s.Plan.Plan, c.Plan), planScans(c.Plan, s.Plan.Plan))
	sev := Info
	fix := fmt.Sprintf("Both plans are judged here: the custom one runs whenever the application sends literals (as Django does) and for a prepared statement's first five executions, the generic one once the plan cache prefers it; measure the generic plan on the same values with %s.", name(OptAnalyze))
	if g := s.Plan.genericRun; g != nil && c.Analyzed && g.ExecutionTimeMs > 0 {
		gm, cm := g.ExecutionTimeMs, c.ExecutionTime
		ev["generic_ms"], ev["custom_ms"] = round3(gm), round3(cm)
		msg += fmt.Sprintf("; for those values the generic plan took %s, the custom one %s", ms(gm), ms(cm))
		switch {
		case gm >= GenericSlowerFactor*cm && gm >= GenericSlowerMinMs:
			sev = Warning
			fix = fmt.Sprintf("A prepared statement that switches to the generic plan runs %.0fx slower on these values: set plan_cache_mode = force_custom_plan for the role or session that prepares it (ALTER ROLE … SET plan_cache_mode), or make the planner's estimates right (ANALYZE, CREATE STATISTICS) so the generic plan is the right one.", gm/cm)
		default:
			fix = "The generic plan is no slower on these values: nothing to change for prepared statements; the custom plan's findings, if any, are what the application's literal calls run."
		}
	}
	out = append(out, Finding{Rule: RuleGenericPlanDiffers, Severity: sev, Table: firstTableOf(s.Plan.Plan),
		Message: msg, Evidence: ev, Fix: fix})
	return slices.DeleteFunc(out, func(f Finding) bool { return systemRelation(f.Table) })
}

// accessPaths are how a plan reaches its rows, in depth-first order: each
// scan of a relation (its method, index and direction) and each join
// method. Two plans with the same access paths differ only in what they
// do with the rows (an aggregate's strategy, a sort, a Gather): not a
// difference worth a finding.
func accessPaths(p *Plan) []string {
	var out []string
	p.Walk(func(n *Node) bool {
		if n.RelationName != "" || strings.HasSuffix(n.NodeType, " Join") || n.NodeType == "Nested Loop" {
			out = append(out, n.Label())
		}
		return true
	})
	return out
}

// planScans names where two plans' access paths part: the first three of
// each from the first that differs.
func planScans(p, other *Plan) string {
	mine, theirs := accessPaths(p), accessPaths(other)
	i := 0
	for i < len(mine) && i < len(theirs) && mine[i] == theirs[i] {
		i++
	}
	mine = mine[min(i, len(mine)):]
	if len(mine) > 3 {
		mine = mine[:3]
	}
	if len(mine) == 0 && p.Root != nil {
		return p.Root.Label()
	}
	return strings.Join(mine, ", ")
}
