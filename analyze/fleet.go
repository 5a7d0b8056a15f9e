package analyze

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Analyze across a fleet: a primary and its streaming replicas read as one
// database. Each node keeps statistics of its own (pg_stat_statements,
// index scans, their resets), so each is read, and the figures are added
// up only where they mean the same: a statement's calls and time, an
// index's scans. The catalogs are the same on every node (physical
// replication), so indexes and tables are read once, on the first node.

// PrimaryNode is the name of the node Analyze's Querier is on when
// Options.NodeName is empty.
const PrimaryNode = "primary"

// RuleReplicaOnly is the rule for a ranked statement that ran on one
// standby only: its plan (explained there), its findings and the indexes
// it needs concern that node's reads.
const RuleReplicaOnly = "replica-only"

// rolePrimary is Replica.Role of a node that takes writes (internal/fleet's
// Primary): a statement it alone ran is no replica's.
const rolePrimary = "primary"

// Replica is one more node of the fleet Analyze reads beside its Querier:
// a name the report shows, the role the caller found (primary or
// standby, for the report), and a read-only session on it.
type Replica struct {
	Name string
	Role string
	Q    Querier
	// ReplayLagBytes and ReplayPaused are how far behind the caller
	// found the node (internal/fleet), for the report: a node behind
	// shows the catalogs, and so the indexes, of a moment ago.
	ReplayLagBytes *int64
	ReplayPaused   bool
}

// NodeSummary is one node of the fleet in the report: what its
// pg_stat_statements counted and how old its statistics are.
type NodeSummary struct {
	Name string `json:"name"`
	Role string `json:"role,omitempty"`
	// Statements, Calls and TotalTime are the node's own figures over
	// the report's window.
	Statements int     `json:"statements"`
	Calls      int64   `json:"calls"`
	TotalTime  float64 `json:"total_time_ms"`
	// Statistics is how old the node's counters are: index usage is
	// judged only when every node's are old enough.
	Statistics *Statistics `json:"statistics"`
	// ReplayLagBytes and ReplayPaused are Replica's, on a standby.
	ReplayLagBytes *int64 `json:"replay_lag_bytes,omitempty"`
	ReplayPaused   bool   `json:"replay_paused,omitempty"`
}

// NodeFigures are a statement's figures on one node of the fleet.
type NodeFigures struct {
	Node      string  `json:"node"`
	Calls     int64   `json:"calls"`
	TotalTime float64 `json:"total_time_ms"`
	MeanTime  float64 `json:"mean_time_ms"`
	Rows      int64   `json:"rows"`
}

// NodeScans is an index's scans on one node of the fleet.
type NodeScans struct {
	Node  string `json:"node"`
	Scans int64  `json:"scans"`
}

// node is one node as the analysis holds it.
type node struct {
	name, role string
	lag        *int64
	paused     bool
	q          Querier
	srv        *Server
	ex         *Explainer
	stats      *Statistics
}

// fleet reports whether the analysis reads more than one node.
func (a *analysis) fleet() bool { return len(a.nodes) > 1 }

// nodeOf is the node named name (the first when none is).
func (a *analysis) nodeOf(name string) *node {
	for i := range a.nodes {
		if a.nodes[i].name == name {
			return &a.nodes[i]
		}
	}
	return &a.nodes[0]
}

// figuresByNode attaches to each of merged the figures of each node (by
// the same grouping as Group: normalized text) and names the node where
// it took most time, where it is explained.
func figuresByNode(merged []Statement, perNode map[string][]Statement, order []string) {
	byText := map[string][]NodeFigures{}
	for _, name := range order {
		for _, s := range perNode[name] {
			k := normalizedText(s.Query)
			byText[k] = append(byText[k], NodeFigures{Node: name, Calls: s.Calls, TotalTime: s.TotalTime, MeanTime: s.MeanTime, Rows: s.Rows})
		}
	}
	for i := range merged {
		s := &merged[i]
		s.Nodes = byText[normalizedText(s.Query)]
		best := -1.0
		for _, f := range s.Nodes {
			if f.TotalTime > best {
				best, s.node = f.TotalTime, f.Node
			}
		}
		s.Explained = s.node
	}
}

// summarize fills the report's nodes: each one's totals and statistics.
func (a *analysis) summarize(perNode map[string][]Statement) {
	for _, n := range a.nodes {
		sum := NodeSummary{Name: n.name, Role: n.role, Statistics: n.stats, Statements: len(perNode[n.name]), ReplayLagBytes: n.lag, ReplayPaused: n.paused}
		for _, s := range perNode[n.name] {
			sum.Calls += s.Calls
			sum.TotalTime += s.TotalTime
		}
		a.r.Nodes = append(a.r.Nodes, sum)
	}
}

// replicaOnly reports each ranked statement that ran on one standby and
// nowhere else: a finding for that node.
func (a *analysis) replicaOnly() {
	if !a.fleet() {
		return
	}
	for _, s := range a.r.Statements {
		if s.Source != "pg_stat_statements" || len(s.Nodes) != 1 {
			continue
		}
		n := a.nodeOf(s.Nodes[0].Node)
		if n.role == rolePrimary || n == &a.nodes[0] {
			continue
		}
		f := s.Nodes[0]
		a.r.Findings = append(a.r.Findings, Finding{
			Rule: RuleReplicaOnly, Severity: Info, Fingerprint: s.Fingerprint, Query: s.Query, NodeName: n.name,
			Message:  fmt.Sprintf("statement #%d ran only on %s (%s calls, %s): none of the other nodes ran it", s.Rank, n.name, num(float64(f.Calls)), ms(f.TotalTime)),
			Evidence: map[string]float64{"calls": float64(f.Calls), "total_time_ms": round1(f.TotalTime)},
			Fix:      fmt.Sprintf("Judge it by %s: its plan was explained there, and an index it needs is built on the primary and reaches %s by replay.", n.name, n.name),
		})
	}
}

// nameStatementFindings names, on each finding about a statement, the
// node where the statement took most time: its plan was explained there.
func (a *analysis) nameStatementFindings() {
	if !a.fleet() {
		return
	}
	where := map[string]string{}
	for _, s := range a.stmts {
		if s.node != "" {
			where[s.Fingerprint] = s.node
		}
	}
	for i := range a.r.Findings {
		f := &a.r.Findings[i]
		if f.NodeName == "" && f.Fingerprint != "" {
			f.NodeName = where[f.Fingerprint]
		}
	}
}

// nodeScans reads each other node's index scans, by index oid (the same
// on every node of a physical replica).
func (a *analysis) nodeScans(ctx context.Context) ([]nodeScanMap, error) {
	var out []nodeScanMap
	for _, n := range a.nodes[1:] {
		ixs, err := readIndexes(ctx, n.q)
		if err != nil {
			return nil, fmt.Errorf("analyze: node %s: %w", n.name, err)
		}
		m := nodeScanMap{node: n.name, scans: map[uint32]int64{}}
		for _, ix := range ixs {
			m.scans[ix.oid] = ix.Scans
		}
		out = append(out, m)
	}
	return out, nil
}

// nodeScanMap is one other node's index scans by oid.
type nodeScanMap struct {
	node  string
	scans map[uint32]int64
}

// youngest is the statistics of the node whose counters are the
// youngest, and its name: index usage is judged from them, so an index is
// called unused only when every node has been counting long enough.
func (a *analysis) youngest() (*Statistics, string) {
	best := &a.nodes[0]
	for i := range a.nodes {
		if a.nodes[i].stats.AgeSeconds < best.stats.AgeSeconds {
			best = &a.nodes[i]
		}
	}
	return best.stats, best.name
}

// nodeNames lists the fleet's nodes for messages.
func (a *analysis) nodeNames() []string {
	var out []string
	for _, n := range a.nodes {
		out = append(out, n.name)
	}
	return out
}

// usedOn lists the other nodes where ix was scanned, most scans first.
func usedOn(ix *Index, scans []nodeScanMap) []NodeScans {
	var out []NodeScans
	for _, m := range scans {
		if n := m.scans[ix.oid]; n > 0 {
			out = append(out, NodeScans{Node: m.node, Scans: n})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Scans > out[j].Scans })
	return out
}

// usedOnText words where an index is read: "replica1 (12 scans)".
func usedOnText(uses []NodeScans) string {
	var parts []string
	for _, u := range uses {
		parts = append(parts, fmt.Sprintf("%s (%s scans)", u.Node, num(float64(u.Scans))))
	}
	return strings.Join(parts, ", ")
}
