package analyze

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// partitionsShown is how many partition names a finding lists before it
// says how many more: enough to recognise the range scanned.
const partitionsShown = 4

// appendOf is the Append or Merge Append a scan is one branch of (a
// partitioned table's scan, or a UNION's), nil when there is none.
func appendOf(n *Node) *Node {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.NodeType == "Append" || p.NodeType == "Merge Append" {
			return p
		}
	}
	return nil
}

// nameList writes names for a message: the first few, then how many more.
func nameList(names []string) string {
	if len(names) <= partitionsShown {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:partitionsShown], ", "), len(names)-partitionsShown)
}

// partitionScans is seq-scan-large for partitioned tables: the sequential
// scans of one statement on partitions of the same table (one Append's
// branches) are judged together, since each may be small while together
// they read the whole table, and the finding names the table and the
// partitions scanned. The fix is an index on the partitioned table, which
// PostgreSQL builds on every partition.
func (s *Subject) partitionScans() []Finding {
	type group struct {
		root       string
		at         *Node
		first      *Node
		sc         seqScan
		partitions []string
		total      int
		key        []string
	}
	groups := map[string]*group{}
	var order []*group
	for _, n := range s.Plan.Nodes() {
		if !isSeqScan(n) || n.Filter == "" {
			continue
		}
		f, ok := s.facts(n)
		if !ok || f.Root == "" {
			continue
		}
		sc, ok := s.seqScanned(n)
		if !ok {
			continue
		}
		// One group per partitioned table and Append; a scan under no
		// Append (pruned to one partition) is a group of its own.
		at := appendOf(n)
		key := fmt.Sprintf("%s@-%d", f.Root, n.ID)
		if at != nil {
			key = fmt.Sprintf("%s@%d", f.Root, at.ID)
		}
		g := groups[key]
		if g == nil {
			g = &group{root: f.Root, at: at, first: n, total: f.Partitions, key: f.PartitionKey}
			groups[key] = g
			order = append(order, g)
		}
		g.sc.scanned += sc.scanned
		g.sc.returned += sc.returned
		g.sc.removed += sc.removed
		g.sc.tableRows += sc.tableRows
		g.sc.estimated = g.sc.estimated || sc.estimated
		g.partitions = append(g.partitions, n.RelationName)
	}
	var out []Finding
	for _, g := range order {
		sc := g.sc
		if sc.scanned < SeqScanLargeRows || sc.removed/sc.scanned < SeqScanFilteredFraction {
			continue
		}
		sev := Warning
		if sc.scanned >= SeqScanCriticalRows {
			sev = Critical
		}
		scans, verb, of := "Seq Scans", "read", fmt.Sprintf("%d of the %d partitions", len(g.partitions), g.total)
		switch {
		case len(g.partitions) == 1:
			scans, verb = "A Seq Scan", "reads"
		case len(g.partitions) == g.total:
			of = fmt.Sprintf("all %d partitions", g.total)
		}
		if sc.estimated {
			verb = map[bool]string{true: "is estimated to read", false: "are estimated to read"}[len(g.partitions) == 1]
		}
		ev := map[string]float64{
			"rows_scanned": sc.scanned, "rows_returned": sc.returned, "rows_removed": sc.removed,
			"removed_pct": round1(sc.removed / sc.scanned * 100), "estimated": b2f(sc.estimated),
			"partitions_scanned": float64(len(g.partitions)), "partitions_total": float64(g.total),
		}
		if sc.estimated {
			ev["table_rows"] = sc.tableRows
		}
		node := g.at
		if node == nil {
			node = g.first
		}
		// By name: monthly partitions read in time order, whatever order
		// a parallel plan lists them in.
		sort.Strings(g.partitions)
		filter := unaliased(g.first.Filter, g.first.Alias)
		fix := fmt.Sprintf("Index %s on the columns of its filter %s: an index on the partitioned table is built on every partition (`hishamos-perf indexes propose` picks the column order, `indexes plan` writes it partition by partition).",
			g.root, filter)
		for _, col := range g.key {
			if _, through := keyThrough(filter, col); through && len(g.partitions) == g.total {
				// The filter is on the partition key, which no index
				// serves through a cast: partition-pruning's fix first.
				fix = fmt.Sprintf("Write the filter on the partition key %s itself (see partition-pruning): the planner then reads only the partitions that can hold the rows, and an index on %s serves what is left.",
					col, col)
				break
			}
		}
		out = append(out, Finding{
			Rule: RuleSeqScanLarge, Severity: sev, Table: g.root, Node: refOf(node),
			Message: fmt.Sprintf("%s of %s of %s (%s) %s %s rows to return %s (%s removed by the filter %s)",
				scans, of, g.root, nameList(g.partitions), verb, num(sc.scanned), num(sc.returned), pct(sc.removed/sc.scanned), filter),
			Evidence: ev,
			Fix:      fix,
		})
	}
	return out
}

// unaliased is a condition of one partition's scan without its alias's
// qualifier (VERBOSE writes events_1.account_id): the same text for every
// partition, and the column as the statement names it.
func unaliased(cond, alias string) string {
	if alias == "" {
		return cond
	}
	re := regexp.MustCompile(`(^|[^A-Za-z0-9_."])` + regexp.QuoteMeta(alias) + `\.`)
	return re.ReplaceAllString(cond, "$1")
}

// keyThrough reports whether cond, a condition as EXPLAIN writes it, puts
// the column col through a cast ((col)::date) or a function
// (date_trunc('day', col), lower(col)): a condition the planner cannot
// prune partitions with, since it compares a value computed from the key,
// not the key.
func keyThrough(cond, col string) (string, bool) {
	c := `(?:[A-Za-z_][A-Za-z0-9_]*\.)?"?` + regexp.QuoteMeta(col) + `"?`
	cast := regexp.MustCompile(`\(\s*` + c + `\s*\)::|(?:^|[^A-Za-z0-9_."])` + c + `::`)
	if cast.MatchString(cond) {
		return "a cast", true
	}
	fn := regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_.]*)\((?:[^()]*?[\s,(])?` + c + `\s*[,)]`)
	if m := fn.FindStringSubmatch(cond); m != nil {
		return "the function " + m[1], true
	}
	return "", false
}

// pruning is partition-pruning: an Append that scans every partition of a
// partitioned table, none pruned at plan or run time, although its
// branches filter on a column of the partition key, through a cast or a
// function. Such a statement reads the whole table whatever the value; the
// same condition written on the key itself would read one partition.
func (s *Subject) pruning() []Finding {
	var out []Finding
	for _, a := range s.Plan.Nodes() {
		if (a.NodeType != "Append" && a.NodeType != "Merge Append") || a.SubplansRemoved > 0 {
			continue
		}
		type tree struct {
			facts   TableFacts
			scanned map[string]bool
			conds   []string
			rows    float64
		}
		roots := map[string]*tree{}
		var order []string
		a.Walk(func(n *Node) bool {
			if n != a && (n.NodeType == "Append" || n.NodeType == "Merge Append") {
				return false
			}
			f, ok := s.facts(n)
			if !ok || f.Root == "" || n.RelationName == "" {
				return true
			}
			t := roots[f.Root]
			if t == nil {
				t = &tree{facts: f, scanned: map[string]bool{}}
				roots[f.Root] = t
				order = append(order, f.Root)
			}
			t.scanned[n.Table()] = true
			for _, c := range []string{n.Filter, n.IndexCond, n.RecheckCond} {
				if c != "" {
					t.conds = append(t.conds, unaliased(c, n.Alias))
				}
			}
			if n.Executed {
				t.rows += n.TotalRows() + n.RowsRemoved()
			}
			return true
		})
		for _, root := range order {
			t := roots[root]
			if t.facts.Partitions < 2 || len(t.scanned) < t.facts.Partitions || len(t.conds) == 0 {
				continue
			}
			for _, col := range t.facts.PartitionKey {
				how, ok := keyThrough(t.conds[0], col)
				if !ok {
					continue
				}
				ev := map[string]float64{"partitions_scanned": float64(len(t.scanned)), "partitions_total": float64(t.facts.Partitions)}
				if t.rows > 0 {
					ev["rows_scanned"] = t.rows
				}
				out = append(out, Finding{
					Rule: RulePartitionPruning, Severity: Warning, Table: root, Node: refOf(a),
					Message: fmt.Sprintf("%s scans all %d partitions of %s although it filters on the partition key %s: the condition %s puts the key through %s, so the planner can prune none",
						a.Label(), t.facts.Partitions, root, col, t.conds[0], how),
					Evidence: ev,
					Fix: fmt.Sprintf("Compare %s itself with the values the condition means, as a range where it is a cast to a coarser type (a day d: %s >= d AND %s < d + 1): the planner then reads only the partitions that can hold them.",
						col, col, col),
				})
				break
			}
		}
	}
	return out
}
