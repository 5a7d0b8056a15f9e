package profiles

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/internal/pg"
)

// MaxSampleValues caps the distinct values a Sample generator reads: the
// most frequent ones, which are the values a skewed workload hits anyway,
// while keeping Bind to one cheap aggregate per column.
const MaxSampleValues = 1000

// Querier is the part of a pgx connection, pool or transaction Bind uses.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Bound is a profile whose generators have read what they need from a
// database. It is safe for concurrent use as long as each goroutine passes
// its own random source to Args.
type Bound struct {
	profile *Profile
	gens    map[string][]generator
}

// generator draws one parameter value.
type generator interface {
	next(rng *rand.Rand) any
}

// Profile returns the bound profile.
func (b *Bound) Profile() *Profile { return b.profile }

// Args draws the arguments of the statement called stmt: one per
// placeholder, $1 first. The same random source state gives the same
// arguments. It returns nil for a statement the profile does not have.
func (b *Bound) Args(stmt string, rng *rand.Rand) []any {
	gens, ok := b.gens[stmt]
	if !ok {
		return nil
	}
	args := make([]any, len(gens))
	for i, g := range gens {
		args[i] = g.next(rng)
	}
	return args
}

// column is what Bind read about one column: its most frequent distinct
// values with their counts, most frequent first.
type column struct {
	values []any
	counts []int64
}

// Bind reads from q what p's generators need: for each column a Sample
// generator draws from, up to MaxSampleValues distinct values with their
// frequencies (one query per column); for each Recent generator's column,
// its largest value. It only reads. p must be a profile Parse or Load
// returned. q may be nil for a profile whose generators are all literal
// (choice, int_range, const).
func Bind(ctx context.Context, q Querier, p *Profile) (*Bound, error) {
	b := &Bound{profile: p, gens: make(map[string][]generator, len(p.Statements))}
	columns := map[string]*column{}
	latest := map[string]time.Time{}
	for _, s := range p.Statements {
		gens := make([]generator, len(s.Params))
		for i, prm := range s.Params {
			g, err := bindParam(ctx, q, prm, columns, latest)
			if err != nil {
				return nil, fmt.Errorf("profiles: bind %s: statement %s $%d: %w", p.Name, s.Name, i+1, err)
			}
			gens[i] = g
		}
		b.gens[s.Name] = gens
	}
	return b, nil
}

func bindParam(ctx context.Context, q Querier, prm Param, columns map[string]*column, latest map[string]time.Time) (generator, error) {
	if q == nil && (prm.Kind == Sample || prm.Kind == Recent) {
		return nil, fmt.Errorf("%s %s: no database to read from", prm.Kind, prm.From)
	}
	switch prm.Kind {
	case Sample:
		col, ok := columns[prm.From]
		if !ok {
			var err error
			if col, err = readColumn(ctx, q, prm.From); err != nil {
				return nil, fmt.Errorf("sample %s: %w", prm.From, err)
			}
			columns[prm.From] = col
		}
		return newSampler(col, prm.Skew), nil
	case Recent:
		window, err := parseWindow(prm.Window)
		if err != nil {
			return nil, err
		}
		last, ok := latest[prm.From]
		if !ok {
			if last, err = readLatest(ctx, q, prm.From); err != nil {
				return nil, fmt.Errorf("recent %s: %w", prm.From, err)
			}
			latest[prm.From] = last
		}
		return constant{last.Add(-window)}, nil
	case Choice:
		return newChoice(prm.Values, prm.Weights), nil
	case IntRange:
		if prm.Min == nil || prm.Max == nil || *prm.Min > *prm.Max {
			return nil, errors.New("int_range needs min <= max")
		}
		step := uint64(max(prm.Step, 1))
		return intRange{min: *prm.Min, step: step, n: uint64(*prm.Max-*prm.Min)/step + 1}, nil
	case Const:
		return constant{prm.Value}, nil
	}
	return nil, fmt.Errorf("unknown generator kind %q (known: %s)", prm.Kind, knownKinds())
}

// sanitizeFrom quotes a generator's table and column for SQL.
func sanitizeFrom(from string) (table, col string, err error) {
	parts := strings.Split(from, ".")
	if _, _, ok := splitFrom(from); !ok {
		return "", "", fmt.Errorf("from must be table.column or schema.table.column, got %q", from)
	}
	n := len(parts)
	return pgx.Identifier(parts[:n-1]).Sanitize(), pgx.Identifier{parts[n-1]}.Sanitize(), nil
}

// readColumn reads a column's most frequent non-null values. Ties are
// broken by value so the order, and with it every draw, is reproducible.
func readColumn(ctx context.Context, q Querier, from string) (*column, error) {
	table, col, err := sanitizeFrom(from)
	if err != nil {
		return nil, err
	}
	sql := "SELECT " + col + ", count(*) FROM " + table + " WHERE " + col + " IS NOT NULL" +
		" GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT " + strconv.Itoa(MaxSampleValues)
	rows, err := q.Query(ctx, pg.Tagged(sql))
	if err != nil {
		return nil, err
	}
	c := &column{}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			rows.Close()
			return nil, err
		}
		n, ok := vals[1].(int64)
		if !ok {
			rows.Close()
			return nil, fmt.Errorf("count is %T, not int64", vals[1])
		}
		c.values = append(c.values, vals[0])
		c.counts = append(c.counts, n)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(c.values) == 0 {
		return nil, errors.New("the column has no non-null values to draw from")
	}
	return c, nil
}

// readLatest reads the largest value of a timestamp or date column.
func readLatest(ctx context.Context, q Querier, from string) (time.Time, error) {
	table, col, err := sanitizeFrom(from)
	if err != nil {
		return time.Time{}, err
	}
	var t *time.Time
	if err := q.QueryRow(ctx, pg.Tagged("SELECT max("+col+") FROM "+table)).Scan(&t); err != nil {
		return time.Time{}, fmt.Errorf("read the largest value (is it a timestamp column?): %w", err)
	}
	if t == nil {
		return time.Time{}, errors.New("the column has no non-null values")
	}
	return *t, nil
}

// sampler draws from a column's values: uniformly, or by cumulative weights.
type sampler struct {
	values []any
	// cum holds cumulative weights; nil means uniform.
	cum []float64
}

func newSampler(c *column, skew Skew) sampler {
	s := sampler{values: c.values}
	switch skew {
	case Uniform:
		return s
	case Zipf:
		s.cum = cumulative(len(c.values), func(k int) float64 { return 1 / float64(k+1) })
	default:
		s.cum = cumulative(len(c.values), func(k int) float64 { return float64(c.counts[k]) })
	}
	return s
}

func cumulative(n int, weight func(int) float64) []float64 {
	cum := make([]float64, n)
	var total float64
	for k := range n {
		total += weight(k)
		cum[k] = total
	}
	return cum
}

// pick returns an index drawn by cumulative weights, or uniformly for nil.
func pick(n int, cum []float64, rng *rand.Rand) int {
	if cum == nil {
		return rng.IntN(n)
	}
	u := rng.Float64() * cum[len(cum)-1]
	i := sort.Search(len(cum), func(i int) bool { return cum[i] > u })
	return min(i, len(cum)-1)
}

func (s sampler) next(rng *rand.Rand) any { return s.values[pick(len(s.values), s.cum, rng)] }

func newChoice(values []any, weights []float64) sampler {
	s := sampler{values: values}
	if len(weights) == len(values) {
		s.cum = cumulative(len(values), func(k int) float64 { return weights[k] })
	}
	return s
}

// intRange draws min + k*step for k in [0, n).
type intRange struct {
	min  int64
	step uint64
	n    uint64
}

func (r intRange) next(rng *rand.Rand) any {
	var k uint64
	if r.n > 0 { // n wraps to 0 only for the full int64 range with step 1
		k = rng.Uint64N(r.n)
	} else {
		k = rng.Uint64()
	}
	return r.min + int64(k*r.step)
}

type constant struct{ value any }

func (c constant) next(*rand.Rand) any { return c.value }
