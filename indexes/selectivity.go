package indexes

import (
	"fmt"

	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// What pg_qualstats' filter counts may decide. pg_stats gives a column's
// selectivity averaged over its values (eqSelectivity); the share of rows
// a predicate really kept, as the statement ran with the values the
// application sends, beats it when the data is skewed: a column of a
// thousand values looks selective, but if the application always asks for
// the one that a fifth of the rows hold, it is not.
const (
	// broadShare: a predicate that really kept more than this share of
	// the rows it was tested on narrows a scan by less than half, so it is
	// no index's leading key (it still follows the selective keys, where
	// it filters inside the index). Half is where an equality stops
	// halving the rows a key range holds; the planner would rather scan
	// past that in most cases (maxUsefulFraction is lower still).
	broadShare = 0.5
	// minFilterRows is the fewest rows a predicate's filter must have
	// been tested on for its kept share to stand for the statement's: a
	// handful of rows (a LIMIT 1 stopping at the first) says nothing.
	minFilterRows = 100
)

// qualFilter is what pg_qualstats counted of a predicate evaluated as a
// filter: the rows its plan nodes read and removed, in all (rows,
// filtered) and in the nodes where it was the one filter qual (aloneRows,
// aloneFiltered), where the counts are its own.
type qualFilter struct {
	rows, filtered           float64
	aloneRows, aloneFiltered float64
}

func (f *qualFilter) add(o qualFilter) {
	f.rows += o.rows
	f.filtered += o.filtered
	f.aloneRows += o.aloneRows
	f.aloneFiltered += o.aloneFiltered
}

// measured is the share of rows a predicate kept as pg_qualstats
// counted it. exact: counted on the predicate alone; otherwise share is
// that of the whole filter it was part of, which keeps no more rows than
// each of its predicates: a floor of the predicate's own share.
type measured struct {
	share float64
	exact bool
}

// keptShare returns the share of rows a statement's predicate kept by
// pg_qualstats' filter counts, nil when it was not seen filtering rows
// enough (minFilterRows).
func (qs *qualStats) keptShare(k qualKey) *measured {
	if qs == nil {
		return nil
	}
	f := qs.filters[k]
	switch {
	case f == nil:
		return nil
	case f.aloneRows >= minFilterRows:
		return &measured{share: 1 - f.aloneFiltered/f.aloneRows, exact: true}
	case f.rows >= minFilterRows:
		return &measured{share: 1 - f.filtered/f.rows}
	}
	return nil
}

// measuredFilters counts the predicates keptShare knows, for a note.
func (qs *qualStats) measuredFilters() int {
	n := 0
	for k := range qs.filters {
		if qs.keptShare(k) != nil {
			n++
		}
	}
	return n
}

// markKept gives each equality and range of a pg_stat_statements
// statement on a column the share of rows pg_qualstats saw it keep. An
// access that also filters on expressions, which pg_qualstats does not
// track, has its filters' counts taken as floors only: such a filter
// removed rows the predicate may not have.
func markKept(c *costed, qs *qualStats) {
	if qs == nil || c.st.QueryID == 0 {
		return
	}
	for _, a := range c.r.accesses {
		untracked := len(a.conds) > 0
		for _, us := range [][]use{a.eq, a.in, a.ranges} {
			for _, u := range us {
				untracked = untracked || u.expr != ""
			}
		}
		for _, us := range [][]use{a.eq, a.ranges} {
			for i := range us {
				u := &us[i]
				if u.expr != "" || u.konst != "" {
					continue
				}
				m := qs.keptShare(qualKey{queryID: c.st.QueryID, table: a.t.oid, column: u.col, op: u.op})
				if m != nil && untracked {
					m.exact = false
				}
				u.kept = m
			}
		}
	}
}

// broad reports whether pg_qualstats saw the predicate keep more than
// broadShare of the rows (its own share, or the floor its filter gives).
func (u use) broad() bool {
	return u.kept != nil && u.kept.share > broadShare
}

// realSelectivity is the share of rows an equality keeps: pg_qualstats'
// count of the predicate alone when it has one, else pg_stats' average
// raised to the floor pg_qualstats' count of its whole filter gives. It
// reports whether pg_qualstats' count went into it.
func realSelectivity(t *table, u use) (float64, bool) {
	if u.kept != nil && u.kept.exact {
		return u.kept.share, true
	}
	s := defaultEqSelectivity
	if c := t.columns[u.col]; c != nil {
		s = c.eqSelectivity(t.rows)
	}
	if u.kept != nil && u.kept.share > s {
		return u.kept.share, true
	}
	return s, false
}

// keptNote says, for a proposal's reason, what pg_qualstats measured of a
// predicate.
func keptNote(u use) string {
	what := "keeps"
	if !u.kept.exact {
		what = "with the rest of its filter keeps"
	}
	return fmt.Sprintf("pg_qualstats: %s %s … %s %s of rows", sqlscan.QuoteName(u.col), u.op, what, sharePct(u.kept.share))
}

// sharePct writes a share as a percentage with the digits it needs.
func sharePct(s float64) string {
	switch {
	case s >= 0.1:
		return fmt.Sprintf("%.0f%%", s*100)
	case s >= 0.001:
		return fmt.Sprintf("%.1f%%", s*100)
	}
	return fmt.Sprintf("%.2g%%", s*100)
}
