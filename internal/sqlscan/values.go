package sqlscan

import "math/rand/v2"

// Values to bind for a statement's parameters when it is planned or run
// without the application's own: analyze's custom plans and the advisor's
// costing choose them the same way.

// TypeDefault is a value of a built-in type, by its oid, for a parameter
// compared with no column (a function's argument, an expression's
// operand): what analyze's custom plans and the advisor's costing bind
// there when pg_stats offers no value.
func TypeDefault(oid uint32) (string, bool) {
	switch oid {
	case 20, 21, 23, 26, 700, 701, 1700: // int8, int2, int4, oid, float4, float8, numeric
		return "1", true
	case 16: // bool
		return "true", true
	case 25, 1042, 1043, 19: // text, bpchar, varchar, name
		return "a", true
	case 1082, 1114, 1184: // date, timestamp, timestamptz
		return "now", true
	case 1083, 1266: // time, timetz
		return "12:00", true
	case 1186: // interval
		return "1 day", true
	case 2950: // uuid
		return "00000000-0000-0000-0000-000000000000", true
	case 114, 3802: // json, jsonb
		return "{}", true
	case 3734: // regconfig: to_tsquery($1, $2), a built-in configuration
		return "english", true
	case 3615, 3614: // tsquery, tsvector
		return "a", true
	}
	return "", false
}

// PickValue draws a value for a parameter compared with a column by op,
// from the column's statistics as pg_stats gives them (most common values
// mcv with their frequencies mcf, histogram bounds hist): for a range
// operator the histogram's bound at the lower (>, >=) or upper (<, <=)
// quantile, so the range keeps a realistic share of rows; else a common
// value drawn by its frequency, else a histogram bound inside it. ok is
// false when the statistics hold nothing.
func PickValue(mcv []string, mcf []float64, hist []string, op string, lower, upper float64, rng *rand.Rand) (string, bool) {
	at := func(q float64) string { return hist[int(q*float64(len(hist)-1))] }
	switch op {
	case ">", ">=":
		if len(hist) > 0 {
			return at(lower), true
		}
	case "<", "<=":
		if len(hist) > 0 {
			return at(upper), true
		}
	}
	if len(mcv) > 0 && len(mcv) == len(mcf) {
		var total float64
		for _, f := range mcf {
			total += f
		}
		x := rng.Float64() * total
		for i, f := range mcf {
			if x < f {
				return mcv[i], true
			}
			x -= f
		}
		return mcv[len(mcv)-1], true
	}
	if len(hist) > 2 {
		return hist[1+rng.IntN(len(hist)-2)], true
	}
	if len(hist) > 0 {
		return hist[0], true
	}
	return "", false
}
