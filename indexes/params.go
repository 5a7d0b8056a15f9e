package indexes

import (
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hishamos/hishamos-perf/analyze"
	"github.com/hishamos/hishamos-perf/internal/indexdef"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// Where in a column's histogram a range parameter is drawn: a lower bound
// (col > $1) near the top keeps the newest tenth of the rows, the way
// "since last week" queries do; an upper bound near the bottom keeps the
// oldest tenth. A planner given a value from the middle would see half the
// table and never pick an index for it.
//
// A column bounded on both sides (BETWEEN $1 AND $2) gets bounds around
// the middle that keep a tenth of the rows between them.
const (
	lowerBoundQuantile   = 0.9
	upperBoundQuantile   = 0.1
	betweenLowerQuantile = 0.45
	betweenUpperQuantile = 0.55
)

// Values planned for LIMIT and OFFSET parameters: a page of 20 from the
// start, DRF's default page.
const (
	defaultLimit  = "20"
	defaultOffset = "0"
)

// inListValues is how many values an = ANY($1) array parameter gets.
const inListValues = 3

// rngFor is the statement's own random source, so its values do not depend
// on which other statements the workload holds.
func rngFor(seed uint64, fingerprint string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(fingerprint))
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// preparer is the part of *pgx.Conn that tells a statement's parameter
// types, for parameters nothing else says anything about.
type preparer interface {
	Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error)
	Deallocate(ctx context.Context, name string) error
}

// sampleArgs draws a value for every $n of the statement: one of the
// constants pg_qualstats saw it run with, by how often (qs, when the
// workload is pg_stat_statements and the extension is installed), else
// from the statistics of the column it is compared with: a most common
// value drawn by its frequency for an equality, a histogram bound for a
// range. A
// parameter compared with nothing known gets a value of its type. Values
// are text; the server reads them as the parameter's type.
func sampleArgs(ctx context.Context, q Querier, s *costed, seed uint64, qs *qualStats) ([]any, error) {
	n := s.st.q.maxParam
	if n == 0 {
		return nil, nil
	}
	rng := rngFor(seed, s.st.Fingerprint)
	args := make([]any, n)
	// Columns with both a lower and an upper bound parameter.
	bounds := map[string]int{}
	for _, pu := range s.r.params {
		if pu.t == nil {
			continue
		}
		switch pu.op {
		case ">", ">=":
			bounds[pu.t.name+"."+pu.col] |= 1
		case "<", "<=":
			bounds[pu.t.name+"."+pu.col] |= 2
		}
	}
	var types []uint32
	for i := 1; i <= n; i++ {
		pu, ok := s.r.params[i]
		if ok && pu.limit == "" {
			// What the statement really ran with, by how often.
			if v := qualValue(qs, s.st.QueryID, pu, rng); v != "" {
				args[i-1] = v
				continue
			}
		}
		switch {
		case ok && pu.limit == "limit":
			args[i-1] = defaultLimit
			continue
		case ok && pu.limit == "offset":
			args[i-1] = defaultOffset
			continue
		case ok:
			v, err := columnValue(ctx, q, pu, bounds[pu.t.name+"."+pu.col] == 3, rng)
			if err != nil {
				return nil, err
			}
			if v != nil {
				args[i-1] = *v
				continue
			}
		}
		if types == nil {
			var err error
			if types, err = typeParams(ctx, q, s); err != nil {
				return nil, err
			}
		}
		if i > len(types) {
			return nil, fmt.Errorf("cannot choose a value for $%d: the server does not say its type", i)
		}
		v, ok := sqlscan.TypeDefault(types[i-1])
		if !ok {
			return nil, fmt.Errorf("cannot choose a value for $%d (type oid %d): it is compared with no column", i, types[i-1])
		}
		args[i-1] = v
	}
	return args, nil
}

// columnValue draws a value for a parameter compared with a column; nil
// when the column has no statistics and no rows.
func columnValue(ctx context.Context, q Querier, pu paramUse, between bool, rng *rand.Rand) (*string, error) {
	c := pu.t.columns[pu.col]
	if c == nil {
		return nil, nil
	}
	lower, upper := lowerBoundQuantile, upperBoundQuantile
	if between {
		lower, upper = betweenLowerQuantile, betweenUpperQuantile
	}
	pick := func() (string, bool) {
		st := c.stats
		if st == nil {
			return "", false
		}
		return sqlscan.PickValue(st.mcv, st.mcf, st.hist, pu.op, lower, upper, rng)
	}
	if pu.array {
		var elems []string
		for range inListValues {
			v, ok := pick()
			if !ok {
				break
			}
			elems = append(elems, `"`+strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v)+`"`)
		}
		if len(elems) == 0 {
			return nil, nil
		}
		v := "{" + strings.Join(elems, ",") + "}"
		return &v, nil
	}
	if v, ok := pick(); ok {
		return &v, nil
	}
	// No statistics (never analysed): any value the column holds.
	var v *string
	err := q.QueryRow(ctx, analyze.Tagged("SELECT "+indexdef.QuoteIdent(pu.col)+"::text FROM "+pu.t.qualified()+
		" WHERE "+indexdef.QuoteIdent(pu.col)+" IS NOT NULL LIMIT 1")).Scan(&v)
	if err != nil && err != pgx.ErrNoRows {
		return nil, fmt.Errorf("read a value of %s.%s: %w", pu.t.name, pu.col, err)
	}
	return v, nil
}

// untypedParameter reports whether err is the server failing to choose a
// parameter's type: ambiguous_function (42725: "operator is not unique:
// unknown * unknown", generate_series($1, $2)) or indeterminate_datatype
// (42P18: $1 IS NULL).
func untypedParameter(err error) bool {
	pe, ok := isPgError(err)
	return ok && (pe.Code == "42725" || pe.Code == "42P18")
}

// fallbackTypes are what typeParams gives the parameters nothing types,
// all of them at once, in turn: analyze's order (integers first, then
// numeric, a timestamp, text).
var fallbackTypes = []string{"bigint", "numeric", "timestamptz", "text"}

// typeParams asks the server for the statement's parameter types. Where it
// cannot choose them, each parameter is given a type from its context (the
// column it is compared with, an array of it for = ANY, bigint for LIMIT
// and OFFSET), then the others one of fallbackTypes, until the server
// takes the statement: that text, with its casts (sqlscan.CastParams), is
// then the statement's EXPLAIN. The server's first refusal comes back when
// nothing fits.
func typeParams(ctx context.Context, q Querier, s *costed) ([]uint32, error) {
	types, first := paramTypes(ctx, q, s.st.q.plan)
	if first == nil || !untypedParameter(first) {
		return types, first
	}
	known := map[int]string{}
	for n, pu := range s.r.params {
		switch {
		case pu.limit != "":
			known[n] = "bigint"
		case pu.t != nil && pu.t.columns[pu.col] != nil:
			known[n] = pu.t.columns[pu.col].typ
			if pu.array {
				known[n] += "[]"
			}
		}
	}
	try := func(given map[int]string) ([]uint32, string, error) {
		text, err := sqlscan.CastParams(s.st.q.plan, given)
		if err != nil {
			return nil, "", err
		}
		types, err := paramTypes(ctx, q, text)
		return types, text, err
	}
	done := func(types []uint32, text string) ([]uint32, error) {
		s.sql = explainSQL(text)
		return types, nil
	}
	// The context's types, then every other parameter as one type.
	for _, fill := range append([]string{""}, fallbackTypes...) {
		given := maps.Clone(known)
		for n := 1; n <= s.st.q.maxParam && fill != ""; n++ {
			if _, ok := given[n]; !ok {
				given[n] = fill
			}
		}
		types, text, err := try(given)
		if err == nil {
			return done(types, text)
		}
		if _, ok := isPgError(err); !ok {
			return nil, err
		}
	}
	// One parameter at a time, keeping a type that moves the failure on to
	// another parameter the server cannot type.
	given := maps.Clone(known)
	_, _, cur := try(given)
	for n := 1; n <= s.st.q.maxParam; n++ {
		if _, ok := known[n]; ok {
			continue
		}
		for _, typ := range fallbackTypes {
			given[n] = typ
			types, text, err := try(given)
			if err == nil {
				return done(types, text)
			}
			pe, ok := isPgError(err)
			if !ok {
				return nil, err
			}
			if ce, _ := isPgError(cur); untypedParameter(err) && (ce == nil || pe.Message != ce.Message || pe.Position != ce.Position) {
				// Typing $n got past that failure to the next one.
				cur = err
				break
			}
			delete(given, n)
		}
	}
	return nil, first
}

// paramTypes asks the server for a statement's parameter types.
func paramTypes(ctx context.Context, q Querier, sql string) ([]uint32, error) {
	p, ok := q.(preparer)
	if !ok {
		return nil, fmt.Errorf("cannot tell the types of the statement's parameters on this connection")
	}
	const name = "hishamos_perf_param_types"
	desc, err := p.Prepare(ctx, name, sql)
	if err != nil {
		return nil, err
	}
	defer p.Deallocate(ctx, name) //nolint:errcheck // best effort; the session ends soon
	return desc.ParamOIDs, nil
}

// explainSQL is the EXPLAIN the advisor plans a statement with.
func explainSQL(query string) string {
	return analyze.Tagged("EXPLAIN (FORMAT JSON) " + query)
}
