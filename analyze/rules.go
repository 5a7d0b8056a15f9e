package analyze

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/sqlscan"
)

// Thresholds of the plan and statement rules. Each says where it comes from;
// they are constants, not flags, so that two runs of the tool judge alike.
const (
	// SeqScanLargeRows is the least number of rows a sequential scan must
	// read to count as a scan of a large table. Ten thousand rows of a
	// 100-byte row fill about 130 8 kB pages; under that, PostgreSQL's cost
	// model (seq_page_cost 1, random_page_cost 4) rightly prefers reading
	// the whole table to walking an index.
	SeqScanLargeRows = 10_000
	// SeqScanCriticalRows makes seq-scan-large critical: a million rows
	// read per execution is seconds of CPU on a busy server.
	SeqScanCriticalRows = 1_000_000
	// SeqScanFilteredFraction is the share of the rows read that a scan's
	// filter must throw away for seq-scan-large. Keeping under 10% of the
	// rows is where a b-tree index wins over a sequential scan in the
	// default cost model (random_page_cost 4 against seq_page_cost 1).
	SeqScanFilteredFraction = 0.9

	// RowsRemovedMin is the least number of rows an index scan or join must
	// discard for rows-removed-by-filter: below a thousand rows the waste is
	// well under a millisecond.
	RowsRemovedMin = 1_000
	// RowsRemovedFraction is the share of rows read and thrown away for
	// rows-removed-by-filter: an index that returns twice the rows the
	// query keeps is missing a column.
	RowsRemovedFraction = 0.5

	// MisestimateFactor is the ratio between actual and estimated rows
	// that row-misestimate reports, as the issue fixes it: an order of
	// magnitude is where the planner starts picking the wrong join method.
	MisestimateFactor = 10
	// MisestimateCriticalFactor makes row-misestimate critical: three
	// orders of magnitude turn nested loops quadratic.
	MisestimateCriticalFactor = 1_000
	// MisestimateMinRows ignores nodes where both the actual and the
	// estimated rows are under a hundred: 1 against 10 rows changes no plan.
	MisestimateMinRows = 100
	// MisestimateWarnRows is the larger of the actual and estimated rows
	// from which a misestimate is a warning rather than an info: under a
	// thousand rows every join method and plan costs about the same.
	// MisestimateWarnMs is the plan's execution time it also needs: a plan
	// that runs in under 10 ms has little to gain from a better estimate.
	MisestimateWarnRows = 1_000
	MisestimateWarnMs   = 10.0
	// MisestimateCriticalRows and MisestimateCriticalMs are what a
	// misestimate of MisestimateCriticalFactor needs on top to be
	// critical (to fail --fail-on critical): a hundred thousand rows in a
	// plan of a tenth of a second, where a wrong join method shows.
	MisestimateCriticalRows = 100_000
	MisestimateCriticalMs   = 100.0

	// HeapFetchesMin is the least number of heap fetches heap-fetches
	// reports, and HeapFetchesFraction the share of the rows returned they
	// must reach: past 10% an index-only scan costs about as much as a plain
	// index scan.
	HeapFetchesMin      = 100
	HeapFetchesFraction = 0.1

	// NestedLoopManyLoops is how many times a nested loop may run its
	// inner side before nested-loop-many reports it: a thousand index
	// probes already cost more than one hash of a small table.
	NestedLoopManyLoops = 1_000

	// NoLimitRows is the rows per call from which a SELECT without LIMIT
	// counts as an unpaginated list: ten times the largest page size in
	// common use (Django REST framework pages are 10–100 rows).
	NoLimitRows = 1_000
	// NoLimitWarnMs is the time per call under which a large result is an
	// info rather than a warning: a thousand rows sent in under a
	// millisecond cost the server nothing worth paging for.
	NoLimitWarnMs = 1.0
	// NoLimitCriticalRows and NoLimitCriticalMs make
	// no-limit-large-result critical: a hundred thousand rows per call
	// that take a tenth of a second or more.
	NoLimitCriticalRows = 100_000
	NoLimitCriticalMs   = 100.0

	// WideRowsMinColumns is the table width (in columns) from which
	// fetching every column is reported: the seed report's only() fixes
	// were on Django models of 12 to 21 columns.
	WideRowsMinColumns = 12
	// WideRowsMinWidth is the average row width in bytes from which a
	// result counts as wide when EXPLAIN gives no column list: a kilobyte
	// a row is a JSON or text column coming along.
	WideRowsMinWidth = 1_024
	// WideRowsMinRows is the rows per call from which wide rows matter.
	WideRowsMinRows = 100
	// WideRowsWarnBytes raises wide-rows to a warning: a megabyte per call
	// sent to the application for columns it does not read.
	WideRowsWarnBytes = 1 << 20

	// NPlusOneCallsPerMinute and NPlusOneMaxRowsPerCall define n-plus-one:
	// a statement run over a thousand times a minute returning at most one
	// row each is a lookup issued once per row of another query.
	NPlusOneCallsPerMinute = 1_000
	NPlusOneMaxRowsPerCall = 1.0

	// JITHeavyFraction is the share of execution time spent compiling that
	// jit-heavy reports, and JITHeavyMinMs the least compile time: JIT pays
	// off on long analytic queries, and at 10% of an OLTP statement's time
	// it is pure overhead.
	JITHeavyFraction = 0.1
	JITHeavyMinMs    = 10.0
)

// TableFacts are catalog facts about a table that rules need beyond the
// plan: its estimated rows (pg_class.reltuples) and number of columns.
type TableFacts struct {
	Rows    float64 `json:"rows"`
	Columns int     `json:"columns"`
	// Root is, for a partition, the partitioned table at the top of its
	// tree (schema.name); for that partitioned table, itself; empty for a
	// table that is not partitioned.
	Root string `json:"root,omitempty"`
	// Partitions is, for a table of a partition tree, how many partitions
	// of its root hold rows (at every level).
	Partitions int `json:"partitions,omitempty"`
	// PartitionKey lists the partition key columns of every level of the
	// tree, the root's first.
	PartitionKey []string `json:"partition_key,omitempty"`
}

// Subject is what the rules look at: a plan, a statement's statistics, or
// both.
type Subject struct {
	// Plan is the statement's plan; nil when it has none.
	Plan *Plan
	// Statement holds the statement's pg_stat_statements figures; nil for
	// a statement given on the command line.
	Statement *Statement
	// Window is the time the statement's counters cover, for rates.
	Window time.Duration
	// Tables holds facts about the tables the plan scans, keyed by
	// schema.name and by bare name.
	Tables map[string]TableFacts
}

// stmt is what internal/sqlscan says of the subject's statement; nil for
// no statement, or one the parser refuses.
func (s *Subject) stmt() *sqlscan.Parsed {
	if s.Statement == nil {
		return nil
	}
	st, err := s.Statement.classified()
	if err != nil {
		return nil
	}
	return st
}

// query reports whether the subject's statement is a query (SELECT, WITH
// … SELECT, VALUES, TABLE) rather than a write or a utility statement.
func (s *Subject) query() bool {
	st := s.stmt()
	if st == nil {
		return false
	}
	switch st.Kind {
	case sqlscan.KindSelect, sqlscan.KindValues, sqlscan.KindTable:
		return !st.ModifiesData
	}
	return false
}

func (s *Subject) facts(n *Node) (TableFacts, bool) {
	if s.Tables == nil || n.RelationName == "" {
		return TableFacts{}, false
	}
	if f, ok := s.Tables[n.Table()]; ok {
		return f, true
	}
	f, ok := s.Tables[n.RelationName]
	return f, ok
}

// Evaluate runs every plan and statement rule on the subject and returns
// its findings, sorted, each stamped with the statement's fingerprint and
// query.
func Evaluate(s Subject) []Finding {
	var out []Finding
	if s.Plan != nil && s.Plan.Root != nil {
		misestimated := map[*Node]bool{}
		out = append(out, s.partitionScans()...)
		out = append(out, s.pruning()...)
		for _, n := range s.Plan.Nodes() {
			out = append(out, s.seqScanLarge(n)...)
			out = append(out, s.rowsRemoved(n)...)
			out = append(out, s.spills(n)...)
			out = append(out, s.lossyBitmap(n)...)
			out = append(out, s.heapFetches(n)...)
			out = append(out, s.nestedLoop(n)...)
		}
		out = append(out, s.misestimates(s.Plan.Root, misestimated)...)
		out = append(out, s.wideRows()...)
	}
	out = append(out, s.noLimit()...)
	out = append(out, s.nPlusOne()...)
	out = append(out, s.jitHeavy()...)
	if !s.readsUserTables() {
		// A health check (SELECT 1), a monitoring tool's read of the
		// catalogs or of pg_stat_statements: nothing a DBA indexes or
		// pages.
		return nil
	}
	out = slices.DeleteFunc(out, func(f Finding) bool { return systemRelation(f.Table) })
	if st := s.Statement; st != nil {
		for i := range out {
			out[i].Fingerprint, out[i].Query = st.Fingerprint, st.Query
		}
	}
	SortFindings(out)
	return out
}

// systemSchemas are the schemas of the server's own catalogs: no finding
// names what a DBA cannot index or change.
var systemSchemas = []string{"pg_catalog", "information_schema", "pg_toast"}

// systemRelation reports whether a relation (schema.name or a bare name)
// is the server's own: in a system schema, or named pg_… without a schema,
// which the search path finds in pg_catalog first (pg_class), or an
// extension's view (pg_stat_statements).
func systemRelation(rel string) bool {
	if rel == "" {
		return false
	}
	schema, name, qualified := strings.Cut(rel, ".")
	if !qualified {
		schema, name = "", rel
	}
	return slices.Contains(systemSchemas, schema) || strings.HasPrefix(schema, "pg_temp") || strings.HasPrefix(name, "pg_")
}

// readsUserTables reports whether the subject reads or writes a relation
// of the application's: its statement names one (as the parser reads it;
// a statement that names none, such as a pool's SELECT 1, is no
// application query), or, without a statement, its plan scans one or
// scans no relation at all (generate_series).
func (s *Subject) readsUserTables() bool {
	if st := s.stmt(); st != nil {
		for _, r := range st.Relations {
			if !systemRelation(qualifiedName(r.Schema, r.Name)) {
				return true
			}
		}
		return false
	}
	if s.Plan == nil {
		return true
	}
	rels := s.Plan.Relations()
	for _, r := range rels {
		if !systemRelation(r) {
			return true
		}
	}
	return len(rels) == 0
}

// qualifiedName is schema.name, or name without a schema.
func qualifiedName(schema, name string) string {
	if schema == "" {
		return name
	}
	return schema + "." + name
}

func isSeqScan(n *Node) bool { return n.NodeType == "Seq Scan" }

// gatherProcs is the number of processes a node's rows are split over when
// it sits under a Gather: the planned workers plus the leader.
func gatherProcs(n *Node) float64 {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.NodeType == "Gather" || p.NodeType == "Gather Merge" {
			return float64(p.WorkersPlanned + 1)
		}
	}
	return 1
}

// launchedProcs is the number of processes that ran a parallel-aware node:
// the workers its Gather launched plus the leader; 1 for other nodes.
func launchedProcs(n *Node) float64 {
	if !n.ParallelAware {
		return 1
	}
	for p := n.Parent; p != nil; p = p.Parent {
		if p.NodeType == "Gather" || p.NodeType == "Gather Merge" {
			return float64(p.WorkersLaunched + 1)
		}
	}
	return 1
}

func (s *Subject) seqScanLarge(n *Node) []Finding {
	if !isSeqScan(n) || n.Filter == "" {
		return nil
	}
	if f, ok := s.facts(n); ok && f.Root != "" {
		// A partition's scan is judged with its siblings' (partitionScans).
		return nil
	}
	sc, ok := s.seqScanned(n)
	if !ok || sc.scanned < SeqScanLargeRows || sc.removed/sc.scanned < SeqScanFilteredFraction {
		return nil
	}
	scanned, returned, removed, estimated := sc.scanned, sc.returned, sc.removed, sc.estimated
	sev := Warning
	if scanned >= SeqScanCriticalRows {
		sev = Critical
	}
	verb := "reads"
	if estimated {
		verb = "is estimated to read"
	}
	ev := map[string]float64{
		"rows_scanned": scanned, "rows_returned": returned, "rows_removed": removed,
		"removed_pct": round1(removed / scanned * 100), "estimated": b2f(estimated),
	}
	if n.Executed {
		ev["loops"] = n.ActualLoops
		ev["self_time_ms"] = round3(n.SelfTime)
	} else {
		ev["table_rows"] = sc.tableRows
	}
	return []Finding{{
		Rule: RuleSeqScanLarge, Severity: sev, Table: n.Table(), Node: refOf(n),
		Message: fmt.Sprintf("%s %s %s rows to return %s (%s removed by the filter %s)",
			n.Label(), verb, num(scanned), num(returned), pct(removed/scanned), n.Filter),
		Evidence: ev,
		Fix: fmt.Sprintf("Index %s on the columns of its filter %s (`hishamos-perf indexes propose` picks the column order).",
			n.RelationName, n.Filter),
	}}
}

// seqScan is what one sequential scan with a filter reads, returns and
// throws away: measured with ANALYZE, estimated from the table's rows
// without.
type seqScan struct {
	scanned, returned, removed, tableRows float64
	estimated                             bool
}

// seqScanned measures a sequential scan's rows; false when there is
// nothing to judge (never run, or no row estimate for its table).
func (s *Subject) seqScanned(n *Node) (seqScan, bool) {
	var sc seqScan
	sc.estimated = !n.Executed
	if n.Executed {
		if n.ActualLoops == 0 {
			return sc, false
		}
		sc.returned, sc.removed = n.TotalRows(), n.RowsRemoved()
		sc.scanned = sc.returned + sc.removed
		// A small table scanned once per outer row is nested-loop-many's
		// business: judge the rows one execution of the scan reads.
		if execs := n.ActualLoops / launchedProcs(n); execs > 1 && sc.scanned/execs < SeqScanLargeRows {
			return sc, false
		}
	} else {
		f, ok := s.facts(n)
		if !ok || f.Rows <= 0 {
			return sc, false
		}
		sc.tableRows = f.Rows
		sc.scanned = f.Rows
		sc.returned = math.Min(n.PlanRows*gatherProcs(n), sc.scanned)
		sc.removed = sc.scanned - sc.returned
	}
	return sc, sc.scanned > 0
}

func (s *Subject) rowsRemoved(n *Node) []Finding {
	if !n.Executed || n.ActualLoops == 0 || isSeqScan(n) {
		return nil
	}
	returned := n.TotalRows()
	var out []Finding
	check := func(removedPerLoop float64, cond, what, fix string) {
		removed := removedPerLoop * n.ActualLoops
		if removed < RowsRemovedMin || removed/(removed+returned) < RowsRemovedFraction {
			return
		}
		out = append(out, Finding{
			Rule: RuleRowsRemovedByFilter, Severity: Warning, Table: n.Table(), Node: refOf(n),
			Message: fmt.Sprintf("%s throws away %s of the %s rows it reads (%s) with its %s %s",
				n.Label(), num(removed), num(removed+returned), pct(removed/(removed+returned)), what, cond),
			Evidence: map[string]float64{
				"rows_removed": removed, "rows_returned": returned, "loops": n.ActualLoops,
				"removed_pct": round1(removed / (removed + returned) * 100),
			},
			Fix: fix,
		})
	}
	if n.Filter != "" {
		fix := fmt.Sprintf("Add the columns of the filter %s to the index condition (a composite index on %s) so the rows are never read.", n.Filter, orWord(n.RelationName, "the table"))
		if n.IndexName != "" {
			fix = fmt.Sprintf("Extend %s with the columns of the filter %s (a composite index) so the scan reads only matching rows.", n.IndexName, n.Filter)
		}
		check(n.RowsRemovedByFilter, n.Filter, "filter", fix)
	}
	if n.JoinFilter != "" {
		check(n.RowsRemovedByJoinFilter, n.JoinFilter, "join filter",
			fmt.Sprintf("Make the join filter %s part of the join condition or of an index so rows are not joined only to be dropped.", n.JoinFilter))
	}
	return out
}

// misestimates reports the nodes where a row misestimate starts: a node
// off by MisestimateFactor whose children are all estimated well, since
// an error below carries on up the tree.
func (s *Subject) misestimates(n *Node, bad map[*Node]bool) []Finding {
	var out []Finding
	childBad := false
	for _, c := range n.Children {
		out = append(out, s.misestimates(c, bad)...)
		childBad = childBad || bad[c]
	}
	if !n.Executed || n.ActualLoops == 0 || n.NodeType == "BitmapAnd" || n.NodeType == "BitmapOr" {
		return out
	}
	act, est := n.ActualRows, n.PlanRows
	if math.Max(act, est) < MisestimateMinRows {
		return out
	}
	factor := math.Max(act, 1) / math.Max(est, 1)
	under := factor >= 1
	if !under {
		factor = 1 / factor
		if stopsEarly(n) {
			return out
		}
	}
	if factor < MisestimateFactor {
		return out
	}
	bad[n] = true
	if childBad {
		return out
	}
	sev := s.misestimateSeverity(n, factor, math.Max(act, est))
	dir := "more"
	if !under {
		dir = "fewer"
	}
	table := n.Table()
	if table == "" {
		table = firstTable(n)
	}
	fix := "Run ANALYZE on the tables involved; if the estimate stays off, the filtered columns are correlated: add CREATE STATISTICS (dependencies, mcv) on them or raise their statistics target."
	if table != "" {
		fix = fmt.Sprintf("Run ANALYZE %s; if the estimate stays off, the filtered columns are correlated: add CREATE STATISTICS (dependencies, mcv) on them or raise their statistics target.", table)
	}
	return append(out, Finding{
		Rule: RuleRowMisestimate, Severity: sev, Table: table, Node: refOf(n),
		Message: fmt.Sprintf("%s returned %s rows per loop where the planner expected %s (%sx %s)",
			n.Label(), num(act), num(est), num(math.Round(factor)), dir),
		Evidence: map[string]float64{"actual_rows": act, "estimated_rows": est, "factor": round1(factor), "loops": n.ActualLoops},
		Fix:      fix,
	})
}

// misestimateSeverity scales a misestimate by the rows and the time at
// stake: an estimate off on a few rows in a plan of a millisecond is an
// info, and so is one no planning decision above the node rests on.
func (s *Subject) misestimateSeverity(n *Node, factor, rows float64) Severity {
	ms := s.Plan.ExecutionTimeMs
	switch {
	case !decides(n) || rows < MisestimateWarnRows || ms < MisestimateWarnMs:
		return Info
	case factor >= MisestimateCriticalFactor && rows >= MisestimateCriticalRows && ms >= MisestimateCriticalMs:
		return Critical
	}
	return Warning
}

// decides reports whether a planning decision rests on the node's row
// estimate: it feeds a join, a hash, an aggregate, a memoize or material
// node, or a subplan. The rows of a node under nothing but Sort, Limit,
// Unique, Result, Gather or the statement's top choose nothing more.
func decides(n *Node) bool {
	for c, p := n, n.Parent; p != nil; c, p = p, p.Parent {
		if c.ParentRelationship == "SubPlan" || c.ParentRelationship == "InitPlan" {
			return true
		}
		switch p.NodeType {
		case "Nested Loop", "Hash Join", "Merge Join", "Hash", "Aggregate", "Memoize", "Materialize", "WindowAgg", "SetOp", "Append", "Merge Append":
			return true
		}
	}
	return false
}

// stopsEarly reports whether a node may legitimately return fewer rows than
// estimated because a node above stops reading it: a Limit, the inner side
// of a semi or anti join, or a merge join input.
func stopsEarly(n *Node) bool {
	for c, p := n, n.Parent; p != nil; c, p = p, p.Parent {
		switch {
		case p.NodeType == "Limit":
			return true
		case p.NodeType == "Merge Join":
			return true
		case (p.JoinType == "Semi" || p.JoinType == "Anti") && c.ParentRelationship == "Inner":
			return true
		case p.NodeType == "Nested Loop" && c.ParentRelationship == "Inner":
			// per-loop rows of an inner side are judged on their own
			return false
		}
	}
	return false
}

func firstTable(n *Node) string {
	t := ""
	n.Walk(func(c *Node) bool {
		if t == "" && c.RelationName != "" {
			t = c.Table()
		}
		return t == ""
	})
	return t
}

func (s *Subject) spills(n *Node) []Finding {
	switch {
	case (n.NodeType == "Sort" || n.NodeType == "Incremental Sort") &&
		(n.SortSpaceType == "Disk" || strings.HasPrefix(n.SortMethod, "external")):
		return []Finding{{
			Rule: RuleSortSpill, Severity: Warning, Table: firstTable(n), Node: refOf(n),
			Message: fmt.Sprintf("%s by %s spilled %s to disk (%s)", n.Label(), strings.Join(n.SortKey, ", "), kb(n.SortSpaceUsed), n.SortMethod),
			Evidence: map[string]float64{
				"disk_kb": float64(n.SortSpaceUsed), "temp_blocks_written": float64(n.Buffers.TempWritten),
				"rows": n.TotalRows(),
			},
			Fix: fmt.Sprintf("Raise work_mem for this query to about %s (SET LOCAL work_mem; an in-memory sort needs 2–3x the disk size), or serve the order %s from an index so no sort is needed.",
				kb(roundMB(n.SortSpaceUsed*3)), strings.Join(n.SortKey, ", ")),
		}}
	case n.NodeType == "Hash" && (n.HashBatches > 1 || n.OriginalHashBatches > 1):
		return []Finding{{
			Rule: RuleHashSpill, Severity: Warning, Table: firstTable(n), Node: refOf(n),
			Message: fmt.Sprintf("%s needed %d batches (planned %d), spilling to temporary files; peak memory %s", n.Label(), n.HashBatches, n.OriginalHashBatches, kb(n.PeakMemoryUsage)),
			Evidence: map[string]float64{
				"batches": float64(n.HashBatches), "original_batches": float64(n.OriginalHashBatches),
				"peak_memory_kb": float64(n.PeakMemoryUsage), "temp_blocks_written": float64(n.Buffers.TempWritten),
			},
			Fix: fmt.Sprintf("Raise work_mem (or hash_mem_multiplier) for this query to about %s so the hash table fits in one batch.",
				kb(roundMB(n.PeakMemoryUsage*max(n.HashBatches, 1)))),
		}}
	case n.NodeType == "Aggregate" && (n.HashAggBatches > 1 || n.DiskUsage > 0):
		return []Finding{{
			Rule: RuleHashSpill, Severity: Warning, Table: firstTable(n), Node: refOf(n),
			Message: fmt.Sprintf("%s needed %d batches and wrote %s to disk; peak memory %s", n.Label(), n.HashAggBatches, kb(n.DiskUsage), kb(n.PeakMemoryUsage)),
			Evidence: map[string]float64{
				"batches": float64(n.HashAggBatches), "disk_kb": float64(n.DiskUsage),
				"peak_memory_kb": float64(n.PeakMemoryUsage),
			},
			Fix: fmt.Sprintf("Raise work_mem (or hash_mem_multiplier) for this query to about %s so the aggregate's hash table fits in memory.",
				kb(roundMB(n.PeakMemoryUsage+n.DiskUsage))),
		}}
	}
	return nil
}

func (s *Subject) lossyBitmap(n *Node) []Finding {
	if n.NodeType != "Bitmap Heap Scan" || n.LossyHeapBlocks <= 0 {
		return nil
	}
	return []Finding{{
		Rule: RuleLossyBitmap, Severity: Warning, Table: n.Table(), Node: refOf(n),
		Message: fmt.Sprintf("%s went lossy on %s of %s heap blocks and rechecked %s rows",
			n.Label(), num(n.LossyHeapBlocks), num(n.LossyHeapBlocks+n.ExactHeapBlocks), num(n.RowsRemovedByIndexRecheck*n.ActualLoops)),
		Evidence: map[string]float64{
			"lossy_blocks": n.LossyHeapBlocks, "exact_blocks": n.ExactHeapBlocks,
			"rows_removed_by_recheck": n.RowsRemovedByIndexRecheck * n.ActualLoops,
		},
		Fix: "Raise work_mem so the bitmap stays exact (one bit per row, not per page), or make the index condition more selective.",
	}}
}

func (s *Subject) heapFetches(n *Node) []Finding {
	if n.NodeType != "Index Only Scan" || !n.Executed || n.HeapFetches < HeapFetchesMin {
		return nil
	}
	rows := n.TotalRows()
	if rows > 0 && n.HeapFetches < HeapFetchesFraction*rows {
		return nil
	}
	share := 1.0
	if rows > 0 {
		share = n.HeapFetches / rows
	}
	return []Finding{{
		Rule: RuleHeapFetches, Severity: Warning, Table: n.Table(), Node: refOf(n),
		Message: fmt.Sprintf("%s went to the table for %s of its %s rows (%s): the visibility map is not current",
			n.Label(), num(n.HeapFetches), num(rows), pct(share)),
		Evidence: map[string]float64{"heap_fetches": n.HeapFetches, "rows": rows, "fetch_pct": round1(share * 100)},
		Fix:      fmt.Sprintf("VACUUM %s so its visibility map is current (and make autovacuum visit it more often); until then the index-only scan reads the table.", orWord(n.RelationName, "the table")),
	}}
}

func (s *Subject) nestedLoop(n *Node) []Finding {
	if n.NodeType != "Nested Loop" || len(n.Children) < 2 {
		return nil
	}
	outer, inner := n.Children[0], n.Children[1]
	for _, c := range n.Children {
		if c.ParentRelationship == "Inner" {
			inner = c
		} else if c.ParentRelationship == "Outer" {
			outer = c
		}
	}
	loops, estimated := inner.ActualLoops, false
	if !n.Executed {
		loops, estimated = outer.PlanRows, true
	}
	if loops < NestedLoopManyLoops {
		return nil
	}
	indexed := false
	inner.Walk(func(c *Node) bool {
		if c.IndexName != "" {
			indexed = true
		}
		return !indexed
	})
	sev := Warning
	if !indexed && !estimated {
		sev = Critical
	}
	verb := "ran"
	if estimated {
		verb = "is expected to run"
	}
	ev := map[string]float64{"inner_loops": loops, "estimated": b2f(estimated), "inner_indexed": b2f(indexed)}
	if !estimated {
		ev["inner_time_ms"] = round3(inner.InclusiveTime)
		ev["outer_rows"] = outer.TotalRows()
		ev["outer_estimated_rows"] = outer.PlanRows
	}
	fix := "The planner chose a nested loop expecting few outer rows: fix the outer side's estimate (ANALYZE), or index the join key so each inner probe is cheap."
	if indexed {
		fix = "Check the outer side's row estimate (ANALYZE): with that many outer rows a hash join over one pass of the inner table is usually cheaper than one index probe per row."
	}
	return []Finding{{
		Rule: RuleNestedLoopMany, Severity: sev, Table: firstTable(inner), Node: refOf(n),
		Message:  fmt.Sprintf("%s %s its inner side (%s) %s times", n.Label(), verb, inner.Label(), num(loops)),
		Evidence: ev,
		Fix:      fix,
	}}
}

func (s *Subject) noLimit() []Finding {
	// rows per call, from what ran when the figures say it: the
	// statement's statistics, else an analyzed plan, else the estimate.
	var rows, calls, callMs float64
	estimated := false
	switch {
	case s.Statement != nil && s.Statement.Calls > 0:
		rows, calls, callMs = s.Statement.RowsPerCall, float64(s.Statement.Calls), s.Statement.MeanTime
	case s.Plan != nil && s.Plan.Root != nil:
		rows, estimated = s.Plan.Root.TotalRows(), !s.Plan.Analyzed
		callMs = s.Plan.ExecutionTimeMs
	default:
		return nil
	}
	if rows < NoLimitRows {
		return nil
	}
	if s.Plan != nil && s.Plan.Root != nil {
		if s.Plan.HasNode("Limit") || s.Plan.HasNode("ModifyTable") {
			return nil
		}
		// The number of groups an aggregate returns is the planner's
		// roughest guess (a GROUP BY date_trunc('day', …) of three rows
		// can be estimated at thousands), and a summary is no list to
		// page through: judged only on the rows it returned.
		if estimated && summary(s.Plan.Root) {
			return nil
		}
	} else if !s.query() || s.stmt().Limit {
		return nil
	}
	if s.Statement != nil && !s.query() {
		return nil
	}
	sev := Warning
	switch {
	case estimated || (callMs > 0 && callMs < NoLimitWarnMs):
		sev = Info
	case rows >= NoLimitCriticalRows && callMs >= NoLimitCriticalMs:
		sev = Critical
	}
	verb := "returns"
	if estimated {
		verb = "is estimated to return"
	}
	ev := map[string]float64{"rows_per_call": round1(rows), "estimated": b2f(estimated)}
	if calls > 0 {
		ev["calls"] = calls
	}
	if callMs > 0 {
		ev["time_per_call_ms"] = round3(callMs)
	}
	table := ""
	if s.Plan != nil && s.Plan.Root != nil {
		table = firstTable(s.Plan.Root)
	}
	msg := fmt.Sprintf("the statement %s %s rows per call with no LIMIT", verb, num(rows))
	if callMs > 0 {
		msg += fmt.Sprintf(", in %s", ms(callMs))
	}
	return []Finding{{
		Rule: RuleNoLimitLargeResult, Severity: sev, Table: table,
		Message:  msg,
		Evidence: ev,
		Fix:      "If a caller pages through these rows, paginate: ORDER BY a unique key with LIMIT, and keyset pagination (WHERE key > the last one seen) rather than OFFSET (in Django, a pagination_class).",
	}}
}

// summary reports whether a plan's result is an aggregate's groups: the
// top node, past Sort, Unique, Result and Gather, aggregates or groups.
func summary(n *Node) bool {
	for n != nil {
		switch n.NodeType {
		case "Aggregate", "Group", "WindowAgg":
			return true
		case "Sort", "Incremental Sort", "Unique", "Result", "Gather", "Gather Merge":
			if len(n.Children) == 0 {
				return false
			}
			n = n.Children[0]
		default:
			return false
		}
	}
	return false
}

func (s *Subject) wideRows() []Finding {
	p := s.Plan
	rows := p.Root.TotalRows()
	if s.Statement != nil && s.Statement.Calls > 0 {
		rows = s.Statement.RowsPerCall
	}
	if rows < WideRowsMinRows || p.HasNode("ModifyTable") {
		return nil
	}
	// A scan's own Output is no guide: the planner hands whole rows up
	// (its "physical target list") and projects later. What counts is
	// what the statement returns: as many columns as a wide table has,
	// i.e. all of them (SELECT *, Django without only()).
	var scan *Node
	var cols int
	returned := len(p.Root.Output)
	for _, n := range p.Nodes() {
		if n.RelationName == "" || returned == 0 {
			continue
		}
		f, ok := s.facts(n)
		if ok && f.Columns >= WideRowsMinColumns && returned >= f.Columns && f.Columns > cols {
			scan, cols = n, f.Columns
		}
	}
	width := float64(p.Root.PlanWidth)
	switch {
	case scan != nil:
	case len(p.Root.Output) == 0 && width >= WideRowsMinWidth:
	default:
		return nil
	}
	bytes := rows * width
	sev := Info
	if bytes >= WideRowsWarnBytes {
		sev = Warning
	}
	ev := map[string]float64{"rows_per_call": round1(rows), "row_width_bytes": width, "bytes_per_call": math.Round(bytes)}
	msg := fmt.Sprintf("each call returns %s rows of about %s bytes (%s)", num(rows), num(width), pg.Size(int64(bytes)))
	table := firstTable(p.Root)
	if scan != nil {
		ev["columns_fetched"] = float64(cols)
		table = scan.Table()
		msg = fmt.Sprintf("the statement returns all %d columns of %s: %s rows per call of about %s bytes (%s)",
			cols, scan.RelationName, num(rows), num(width), pg.Size(int64(bytes)))
	}
	return []Finding{{
		Rule: RuleWideRows, Severity: sev, Table: table, Node: refOf(scan),
		Message:  msg,
		Evidence: ev,
		Fix:      "Select only the columns the caller uses (Django: .only() or .values()), leaving large text and JSON columns behind.",
	}}
}

func (s *Subject) nPlusOne() []Finding {
	st := s.Statement
	if st == nil || st.Calls == 0 || s.Window <= 0 || !s.query() || foreignKeyCheck(st.Query) {
		return nil
	}
	perMinute := float64(st.Calls) / s.Window.Minutes()
	if perMinute < NPlusOneCallsPerMinute || st.RowsPerCall > NPlusOneMaxRowsPerCall {
		return nil
	}
	return []Finding{{
		Rule: RuleNPlusOne, Severity: Warning, Table: firstTableOf(s.Plan),
		Message: fmt.Sprintf("run %s times a minute (%s calls in %s), returning %s row per call: one query per row of another query",
			num(perMinute), num(float64(st.Calls)), s.Window.Round(time.Second), num(st.RowsPerCall)),
		Evidence: map[string]float64{
			"calls": float64(st.Calls), "calls_per_minute": math.Round(perMinute), "rows_per_call": round3(st.RowsPerCall),
			"mean_time_ms": round3(st.MeanTime), "total_time_ms": round3(st.TotalTime), "window_seconds": math.Round(s.Window.Seconds()),
		},
		Fix: "Fetch these rows with the query that lists their parents (a JOIN, or Django's select_related/prefetch_related) instead of one query per row.",
	}}
}

// foreignKeyCheck reports whether a statement is one of the checks
// PostgreSQL runs for a foreign key (ri_triggers.c), once per row an
// INSERT, UPDATE or DELETE writes: SELECT 1 FROM [ONLY] t x WHERE col
// OPERATOR(pg_catalog.=) $1 … FOR KEY SHARE OF x, or a cascade's DELETE or
// UPDATE. pg_stat_statements counts them as top-level statements of their
// own, but no application sends them: they are no N+1 to batch. The
// operator's spelling, which no ORM writes, marks them.
func foreignKeyCheck(query string) bool {
	q := strings.TrimSpace(query)
	if !strings.Contains(q, "OPERATOR(pg_catalog.") {
		return false
	}
	return strings.HasSuffix(q, " FOR KEY SHARE OF x") || strings.HasPrefix(q, "DELETE FROM ") || strings.HasPrefix(q, "UPDATE ")
}

func firstTableOf(p *Plan) string {
	if p == nil || p.Root == nil {
		return ""
	}
	return firstTable(p.Root)
}

func (s *Subject) jitHeavy() []Finding {
	var jit, total float64
	source := ""
	switch {
	case s.Plan != nil && s.Plan.JIT != nil && s.Plan.ExecutionTimeMs > 0:
		jit, total, source = s.Plan.JIT.TotalTime, s.Plan.ExecutionTimeMs, "plan"
	case s.Statement != nil && s.Statement.JITTime > 0:
		jit, total, source = s.Statement.JITTime, s.Statement.TotalTime, "statistics"
		if s.Statement.Calls > 0 {
			// compare per call, so a long history does not hide it
			jit, total = jit/float64(s.Statement.Calls), total/float64(s.Statement.Calls)
		}
	default:
		return nil
	}
	if total <= 0 || jit < JITHeavyMinMs || jit/total < JITHeavyFraction {
		return nil
	}
	ev := map[string]float64{"jit_time_ms": round3(jit), "execution_time_ms": round3(total), "jit_pct": round1(jit / total * 100)}
	fix := "Turn JIT off for this workload (jit = off) or raise jit_above_cost above this statement's cost: compiling costs more than it saves on short queries."
	if s.Plan != nil && s.Plan.Root != nil {
		ev["total_cost"] = math.Round(s.Plan.Root.TotalCost)
		fix = fmt.Sprintf("Turn JIT off for this workload (jit = off) or raise jit_above_cost above this plan's cost of %s: compiling costs more than it saves here.", num(s.Plan.Root.TotalCost))
	}
	return []Finding{{
		Rule: RuleJITHeavy, Severity: Warning, Table: firstTableOf(s.Plan),
		Message:  fmt.Sprintf("JIT compilation takes %s of %s per call (%s, from the %s)", ms(jit), ms(total), pct(jit/total), source),
		Evidence: ev,
		Fix:      fix,
	}}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// roundMB rounds a size in kB up to whole megabytes.
func roundMB(k int64) int64 { return (k + 1023) / 1024 * 1024 }

func orWord(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}
