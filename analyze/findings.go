package analyze

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/hishamos/hishamos-perf/internal/pg"
)

// Severity ranks findings. The zero value is not a severity.
type Severity int

// Severities from least to most urgent.
const (
	Info Severity = iota + 1
	Warning
	Critical
)

var severityNames = map[Severity]string{Info: "info", Warning: "warning", Critical: "critical"}

// String is the severity's name: info, warning or critical.
func (s Severity) String() string {
	if n, ok := severityNames[s]; ok {
		return n
	}
	return "severity(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText writes the severity's name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity's name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseSeverity reads info, warning or critical.
func ParseSeverity(name string) (Severity, error) {
	for s, n := range severityNames {
		if n == strings.ToLower(strings.TrimSpace(name)) {
			return s, nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q: use info, warning or critical", name)
}

// Finding is one problem found in a plan, a statement's statistics or the
// indexes: which rule, how bad, where, the numbers behind it and the fix.
type Finding struct {
	// Rule is the rule's stable id, such as seq-scan-large.
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	// Table is the table concerned, as schema.name when known.
	Table string `json:"table,omitempty"`
	// Index is the index concerned (index health rules).
	Index string `json:"index,omitempty"`
	// Fingerprint and Query identify the statement the finding concerns.
	Fingerprint string `json:"fingerprint,omitempty"`
	Query       string `json:"query,omitempty"`
	// Node is the plan node the finding is on.
	Node *NodeRef `json:"node,omitempty"`
	// NodeName is, in a fleet, the server the finding is about: where a
	// statement took most time (its plan was explained there), where it
	// alone ran (replica-only).
	NodeName string `json:"node_name,omitempty"`
	// Plan says which of a statement's plans the finding is on when it
	// has two: "custom" for its custom plan for sampled values (the
	// generic plan's findings leave it empty).
	Plan string `json:"plan,omitempty"`
	// Message says what was found, with the numbers, in one line.
	Message string `json:"message"`
	// Evidence holds the numbers the rule decided on, by name.
	Evidence map[string]float64 `json:"evidence"`
	// Fix says what to do, in one sentence.
	Fix string `json:"fix"`
}

// NodeRef points at a plan node.
type NodeRef struct {
	// ID is the node's depth-first number (Node.ID).
	ID int `json:"id"`
	// Type is the node type ("Seq Scan").
	Type string `json:"type"`
	// Label is the node as EXPLAIN's text format names it.
	Label string `json:"label"`
}

func refOf(n *Node) *NodeRef {
	if n == nil {
		return nil
	}
	return &NodeRef{ID: n.ID, Type: n.NodeType, Label: n.Label()}
}

// Rule describes one rule for documentation and `--help`.
type Rule struct {
	ID string `json:"id"`
	// Severity is the rule's usual severity; some rules raise it when the
	// numbers are far past the threshold, or lower it when they are small.
	Severity Severity `json:"severity"`
	// Scope says what the rule looks at: plan, statement or index.
	Scope   string `json:"scope"`
	Summary string `json:"summary"`
}

// Rules lists every rule analyze runs, in the order they run.
var Rules = []Rule{
	{RuleSeqScanLarge, Warning, "plan", "a sequential scan on a large table (or on partitions of one, named) that filters out most of its rows"},
	{RulePartitionPruning, Warning, "plan", "a statement that scans every partition although it filters on the partition key, through a function or a cast"},
	{RuleRowsRemovedByFilter, Warning, "plan", "an index or join reads many rows that its filter then throws away"},
	{RuleRowMisestimate, Warning, "plan", "actual rows differ from the planner's estimate by 10x or more"},
	{RuleSortSpill, Warning, "plan", "a sort that did not fit in work_mem and spilled to disk"},
	{RuleHashSpill, Warning, "plan", "a hash (join or aggregate) that needed more than one batch"},
	{RuleLossyBitmap, Warning, "plan", "a bitmap heap scan whose bitmap went lossy and rechecks whole pages"},
	{RuleHeapFetches, Warning, "plan", "an index-only scan that still visits the table for many rows"},
	{RuleNestedLoopMany, Warning, "plan", "a nested loop that runs its inner side thousands of times"},
	{RuleNoLimitLargeResult, Warning, "plan/statement", "a SELECT returning thousands of rows per call with no LIMIT (pagination missing)"},
	{RuleWideRows, Info, "plan", "many rows with every column fetched, where callers use few (Django's only())"},
	{RuleNPlusOne, Warning, "statement", "one statement run thousands of times a minute returning one row each (Django's select_related)"},
	{RuleJITHeavy, Warning, "plan/statement", "JIT compilation takes a large share of the statement's time"},
	{RuleGenericPlanDiffers, Info, "plan", "the generic plan of a $n statement differs from a custom plan for sampled values (a warning when it runs slower for them)"},
	{RuleReplicaOnly, Info, "statement", "in a fleet (a primary and its replicas), a ranked statement that ran on one standby only: judged by that node"},
	{RuleUnusedIndex, Warning, "index", "an index with no scans since the statistics were reset (in a fleet, on any node)"},
	{RuleDuplicateIndex, Warning, "index", "two indexes with the same columns, expressions, predicate, opclasses and collations"},
	{RulePrefixIndex, Warning, "index", "an index whose columns lead another index on the same table"},
	{RuleInvalidIndex, Critical, "index", "an INVALID index left by a failed CREATE INDEX CONCURRENTLY"},
	{RuleFKWithoutIndex, Warning, "index", "a foreign key with no index leading with its columns"},
	{RuleSeqScanTable, Warning, "index", "a large table read mostly by sequential scans"},
}

// Rule ids. They are part of the JSON schema: never rename one.
const (
	RuleSeqScanLarge        = "seq-scan-large"
	RulePartitionPruning    = "partition-pruning"
	RuleRowsRemovedByFilter = "rows-removed-by-filter"
	RuleRowMisestimate      = "row-misestimate"
	RuleSortSpill           = "sort-spill"
	RuleHashSpill           = "hash-spill"
	RuleLossyBitmap         = "lossy-bitmap"
	RuleHeapFetches         = "heap-fetches"
	RuleNestedLoopMany      = "nested-loop-many"
	RuleNoLimitLargeResult  = "no-limit-large-result"
	RuleWideRows            = "wide-rows"
	RuleNPlusOne            = "n-plus-one"
	RuleJITHeavy            = "jit-heavy"
	RuleGenericPlanDiffers  = "generic-plan-differs"
	RuleUnusedIndex         = "unused-index"
	RuleDuplicateIndex      = "duplicate-index"
	RulePrefixIndex         = "prefix-index"
	RuleInvalidIndex        = "invalid-index"
	RuleFKWithoutIndex      = "fk-without-index"
	RuleSeqScanTable        = "seq-scan-table"
)

// ruleOrder gives each rule its place in Rules, for sorting.
var ruleOrder = func() map[string]int {
	m := map[string]int{}
	for i, r := range Rules {
		m[r.ID] = i
	}
	return m
}()

// SortFindings orders findings most severe first, then by rule, table and
// message, so output is stable.
func SortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if ruleOrder[a.Rule] != ruleOrder[b.Rule] {
			return ruleOrder[a.Rule] < ruleOrder[b.Rule]
		}
		if a.Table != b.Table {
			return a.Table < b.Table
		}
		return a.Message < b.Message
	})
}

// MaxSeverity is the highest severity among the findings, 0 for none.
func MaxSeverity(fs []Finding) Severity {
	var m Severity
	for _, f := range fs {
		m = max(m, f.Severity)
	}
	return m
}

// CountAtLeast counts the findings at or above a severity.
func CountAtLeast(fs []Finding, s Severity) int {
	n := 0
	for _, f := range fs {
		if f.Severity >= s {
			n++
		}
	}
	return n
}

// num writes a count with thousands separators, or a small number with up
// to one decimal: 28,000 / 3.5 / 0.
func num(v float64) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return "-"
	}
	if v != math.Trunc(v) && math.Abs(v) < 100 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// ms writes a duration in milliseconds short: 0.04 ms, 12.3 ms, 1,204 ms.
func ms(v float64) string {
	switch {
	case v < 1:
		return strconv.FormatFloat(v, 'f', 2, 64) + " ms"
	case v < 100:
		return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
	}
	return num(v) + " ms"
}

// kb writes a size given in kilobytes: 820 kB, 12.4 MB, 1.2 GB.
func kb(v int64) string { return pg.Size(v * 1024) }

// pct writes a fraction as a percentage: 99.6%.
func pct(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" }
