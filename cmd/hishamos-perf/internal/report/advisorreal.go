package report

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hishamos/hishamos-perf/indexes"
)

// AdvisorRealRun is one workload read one way by make bench-advisor-real:
// the total planner cost of the workload with no new index, with the
// hand-written ideal set, with the advisor's set and with the advisor held
// to one column per index (a single-column advisor's answer), all on the
// same statistics, parameter values and weights (indexes.CostSets), and
// the application's statements the advisor skipped.
type AdvisorRealRun struct {
	// Workload is testdata/workloads' folder, Path how the workload was
	// read ("file" with its weights, "pg_stat_statements" after the
	// traffic).
	Workload, Path string
	// Statements is how many the advisor costed; AppSkipped the
	// application's statements (those of workload.sql) it skipped or never
	// saw, with their text; OtherSkipped the others it skipped (the traffic
	// generator's, psql's).
	Statements   int
	AppSkipped   []string
	OtherSkipped int
	// Cost* are Σ weight × planner cost.
	CostNone, CostIdeal, CostAdvisor, CostSingle float64
	// Indexes and Bytes of the ideal set and the advisor's.
	IndexesIdeal, IndexesAdvisor int
	BytesIdeal, BytesAdvisor     int64
	// Proposals are the advisor's.
	Proposals []indexes.Proposal
	// Notes are the advisor's notes.
	Notes []string
}

// AdvisorRealTargets are the bars a run is held to.
type AdvisorRealTargets struct {
	// CostRatio and SizeRatio are the most the advisor's cost and size may
	// be over the ideal set's.
	CostRatio, SizeRatio float64
}

// AdvisorReal lays make bench-advisor-real's runs out: one row per
// workload and path with the costs, their ratio to the ideal set's, the
// sizes and theirs, the application's statements skipped and whether each
// bar was met; then, per run, the advisor's indexes with their size and
// their own marginal saving.
func AdvisorReal(title string, runs []AdvisorRealRun, t AdvisorRealTargets) *Doc {
	cost := func(v float64) Cell { return Num(v, strconv.FormatFloat(v, 'f', 0, 64)) }
	ratio := func(v float64) Cell { return Num(v, strconv.FormatFloat(v, 'f', 2, 64)) }
	size := func(b int64) Cell { return Num(b, indexes.FormatBytes(b)) }
	sum := &Table{Title: title, Columns: []Column{{Name: "workload"}, {Name: "read from"}, {Name: "statements", Right: true},
		{Name: "app skipped", Right: true}, {Name: "cost: no index", Right: true}, {Name: "ideal", Right: true}, {Name: "advisor", Right: true},
		{Name: "single-column", Right: true}, {Name: "cost ratio", Right: true}, {Name: "size: ideal", Right: true, CSV: "ideal bytes"},
		{Name: "size: advisor", Right: true, CSV: "advisor bytes"}, {Name: "size ratio", Right: true}, {Name: "verdict", Wrap: true}}}
	doc := &Doc{JSON: runs, Blocks: []Block{sum}}
	var notes []string
	for _, r := range runs {
		cr, sr := r.CostAdvisor/r.CostIdeal, float64(r.BytesAdvisor)/float64(r.BytesIdeal)
		var miss []string
		if cr > t.CostRatio {
			miss = append(miss, fmt.Sprintf("cost %.2f× the ideal's (bar %.2f)", cr, t.CostRatio))
		}
		if sr > t.SizeRatio {
			miss = append(miss, fmt.Sprintf("size %.2f× the ideal's (bar %.2f)", sr, t.SizeRatio))
		}
		if len(r.AppSkipped) > 0 {
			miss = append(miss, fmt.Sprintf("%d application statements skipped", len(r.AppSkipped)))
		}
		verdict, tone := "met", Good
		if len(miss) > 0 {
			verdict, tone = "missed: "+strings.Join(miss, "; "), Bad
		}
		sum.Rows = append(sum.Rows, Row{Tone: tone, Cells: []Cell{Str(r.Workload), Str(r.Path), Int(r.Statements), Int(len(r.AppSkipped)),
			cost(r.CostNone), cost(r.CostIdeal), cost(r.CostAdvisor), cost(r.CostSingle), ratio(cr),
			size(r.BytesIdeal), size(r.BytesAdvisor), ratio(sr), Str(verdict)}})
		if r.OtherSkipped > 0 {
			notes = append(notes, fmt.Sprintf("%s from %s: %d other statements skipped (the traffic generator's and psql's own: their fingerprints are none of workload.sql's)",
				r.Workload, r.Path, r.OtherSkipped))
		}
		for _, s := range r.AppSkipped {
			notes = append(notes, fmt.Sprintf("%s from %s: skipped %s", r.Workload, r.Path, s))
		}
	}
	notes = append(notes, fmt.Sprintf("cost: Σ weight × planner cost, on the same statistics, parameter values and weights for every set; ratios: the advisor's over the ideal's; bars: ≤ %.2f in cost and ≤ %.2f in size, no application statement skipped",
		t.CostRatio, t.SizeRatio))
	sum.Note = strings.Join(notes, "\n")
	for _, r := range runs {
		ix := &Table{Title: fmt.Sprintf("Advisor's indexes, %s from %s (%d, %s)", r.Workload, r.Path, r.IndexesAdvisor, indexes.FormatBytes(r.BytesAdvisor)),
			Columns: []Column{{Name: "index", Wrap: true}, {Name: "size", Right: true, CSV: "size bytes"},
				{Name: "own saving", Right: true, CSV: "marginal cost"}, {Name: "of the workload", Right: true, CSV: "marginal %"}}}
		for _, p := range r.Proposals {
			desc := p.Table + " (" + strings.Join(p.Columns, ", ") + ")"
			if len(p.Include) > 0 {
				desc += " INCLUDE (" + strings.Join(p.Include, ", ") + ")"
			}
			if p.Where != "" {
				desc += " WHERE " + p.Where
			}
			ix.Rows = append(ix.Rows, Row{Cells: []Cell{Str(desc), size(p.SizeBytes), cost(p.Marginal.Cost),
				Num(p.Marginal.WorkloadPct, strconv.FormatFloat(p.Marginal.WorkloadPct, 'f', 2, 64)+"%")}})
		}
		ix.Note = strings.Join(r.Notes, "\n")
		doc.Blocks = append(doc.Blocks, ix)
	}
	return doc
}
